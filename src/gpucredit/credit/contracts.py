"""Contracts assigned to the lender with the hardware, valued as a going concern.

When the borrower defaults but a tenant survives, the lender (or the buyer it sells to) can
take over the tenant's contract with its GPUs. The contract is worth more than the hardware
alone when its rent beats what the same GPUs would earn at market; the lender then sells the
GPUs with the contract attached. The uplift over the hardware alone is added to recovery.
"""

from __future__ import annotations

import numpy as np

from gpucredit._typing import Float64Array, Int64Array
from gpucredit.assets.fleet import FleetPlan, lease_failure_months
from gpucredit.units import HOURS_PER_MONTH

__all__ = ["assigned_contract_uplift"]


def assigned_contract_uplift(
    plan: FleetPlan,
    tenant_default_month: Int64Array,
    default_month: Int64Array,
    cohort_value_usd: Float64Array,
    monthly_discount: Float64Array,
    monthly_drift: Float64Array,
    by_contract: Float64Array | None = None,
) -> Float64Array:
    """Going-concern value of the surviving contracts less their hardware's value, per path.

    For each take-or-pay contract active after the default month ``tau`` whose lease has not
    failed by then (its tenant, or for a guaranteed lease its tenant or its guarantor, still
    pays):

    ``GC = sum_{m > tau} S(m) a_m u (rate_m x 730 (1 - SG&A) - opex) v^(m - tau)
    + u P exp(-d M) v^M``

    with ``S(m)`` the lease's survival, ``a_m`` the share of month ``m`` in the contract,
    ``rate_m`` its (escalated) rate that month, ``u`` its units, ``opex`` power and
    colocation per unit, ``v = 1 / (1 + r)`` at the lender's monthly rate ``r``, ``M`` the
    months left in the contract and ``P`` the per-unit income-approach value at default (the
    hardware comes back at the end, decayed at the buyer's trend ``d``). A buyer prices the
    survival at the rating hazards of the tight regime and treats the two companies as
    independent (assumption): ``S_T(m) = exp(-h_T (m - tau))`` for a tenant still paying,
    and for a guaranteed lease ``S(m) = 1 - (1 - s_T S_T(m)) (1 - s_G S_G(m))`` with
    ``s_T``, ``s_G`` 1 for a company still alive at ``tau`` and 0 otherwise. The uplift is
    ``max(GC - u P, 0)``: a lender never assigns a contract worth less than its GPUs.
    Contracts that are not take-or-pay add nothing (their rent follows the market's
    utilisation, so the hardware value covers them). A written backstop (partial, capped or
    time-limited, ``fleet``) is not counted: the lease survives with its tenant only
    (ASSUMPTION, conservative: what is left of the cap is not valued).

    Parameters
    ----------
    tenant_default_month : int (n, entity)
        Month each entity (tenant, then guarantor; ``FleetPlan.entity_names``) defaults on
        each defaulted path (``n_months + 1``: never).
    default_month : int (n,)
        The borrower's default month, 1-based.
    cohort_value_usd : (n, cohort)
        Income-approach value of each cohort in the default month.
    monthly_discount : (n,)
        The lender's monthly rate.
    monthly_drift : (cohort,)
        Buyer's trend decline of the per-unit value, log per month.

    by_contract : (n, contract), optional
        Filled with each contract's uplift (the total is their sum, in contract order).

    Returns
    -------
    ndarray, shape (n,), USD.
    """
    n = default_month.shape[0]
    uplift = np.zeros(n)
    if n == 0 or plan.contract_units.size == 0:
        return uplift
    # the contract's whole term: the grid's months, then those after it (``contract_tail``)
    tail = plan.contract_tail_active.shape[1] if plan.contract_tail_active.size else 0
    months = np.arange(1, plan.n_months + tail + 1)[None, :]
    tau = default_month[:, None]
    v = 1.0 / (1.0 + monthly_discount[:, None])
    fail = lease_failure_months(plan, tenant_default_month)
    written = plan.contract_guarantee_written
    if written.size and written.any():  # a written backstop: the tenant's survival only
        tenant_fail = tenant_default_month[:, plan.contract_tenant]
        fail = np.where(written[None, :], tenant_fail, fail)
    ahead = (months - tau).astype(np.float64)
    for k in range(plan.contract_units.size):
        if not plan.contract_take_or_pay[k]:
            continue
        c = int(plan.contract_cohort[k])
        tenant = int(plan.contract_tenant[k])
        alive = fail[:, k] > default_month
        active = _whole_term(plan.contract_active[k], plan.contract_tail_active, k, tail)
        after = (months > tau) & (active[None, :] > 0.0)
        if not np.any(alive[:, None] & after):
            continue
        units = plan.contract_units[k]
        rate = _whole_term(
            plan.contract_rate_by_month[k], plan.contract_tail_rate_by_month, k, tail
        )[None, :]
        net = rate * HOURS_PER_MONTH * (1.0 - plan.sga_share) - plan.opex_per_gpu_usd[c]
        tenant_alive = (tenant_default_month[:, tenant] > default_month)[:, None]
        survival = np.where(tenant_alive, np.exp(-plan.entity_monthly_hazard[tenant] * ahead), 0.0)
        guarantor = int(plan.contract_guarantor[k])
        if written.size and written[k]:
            guarantor = -1
        if guarantor >= 0:
            backer_alive = (tenant_default_month[:, guarantor] > default_month)[:, None]
            backer = np.where(
                backer_alive, np.exp(-plan.entity_monthly_hazard[guarantor] * ahead), 0.0
            )
            survival = 1.0 - (1.0 - survival) * (1.0 - backer)
        weight = np.where(after, active[None, :], 0.0)
        income = (weight * survival * v**ahead * net).sum(axis=1) * units
        left = (weight).sum(axis=1)
        per_unit = cohort_value_usd[:, c] / plan.cohort_units[c]
        residual = units * per_unit * np.exp(-monthly_drift[c] * left) * v[:, 0] ** left
        going_concern = income + residual
        hardware = units * per_unit
        uplift += np.where(alive, np.maximum(going_concern - hardware, 0.0), 0.0)
        if by_contract is not None:
            by_contract[:, k] = np.where(alive, np.maximum(going_concern - hardware, 0.0), 0.0)
    return uplift


def _whole_term(on_grid: Float64Array, tail: Float64Array, k: int, n_tail: int) -> Float64Array:
    """Contract ``k``'s monthly figure over the grid (``on_grid``, shape (month,)) followed by
    its months after the grid (row ``k`` of ``tail``, shape (K, tail); none when ``n_tail`` is
    0), shape (month + tail,)."""
    if n_tail == 0:
        return on_grid
    return np.concatenate([on_grid, tail[k]])
