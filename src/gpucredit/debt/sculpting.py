"""Project-finance sizing and cover ratios: sculpting, LLCR and PLCR.

Sculpting (REFERENCES.md, project finance; NREL SAM's sculpted debt sizing): the debt service
of each period is the base-case CFADS over the target DSCR, ``DS_t = CFADS_t / DSCR*``, and the
debt is its present value at the loan's rate, ``D = sum_t DS_t DF_t``. With that debt the
loan-life cover ratio at close, ``LLCR = PV(CFADS) / D``, equals ``DSCR*`` exactly. A gearing
cap ``D <= g x cost`` scales every period's service down alike (the DSCR is then constant
above the target).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpucredit._typing import Float64Array

__all__ = ["SculptedDebt", "cover_ratio", "sculpt"]


@dataclass(frozen=True, slots=True)
class SculptedDebt:
    """A sculpted loan on its base case.

    Attributes
    ----------
    principal_usd : the debt raised.
    debt_service_usd : (month,) base-case service (interest + principal).
    principal_share : (month,) principal of each month as a share of ``principal_usd``
        (interest that service does not cover is not capitalised: such a month repays
        nothing and the final month's balloon takes the rest).
    dscr : the base-case DSCR (the target, or above it when the gearing cap binds).
    gearing_capped : whether the gearing cap bound.
    """

    principal_usd: float
    debt_service_usd: Float64Array
    principal_share: Float64Array
    dscr: float
    gearing_capped: bool


def sculpt(
    cfads_usd: Float64Array,
    monthly_rate: Float64Array,
    target_dscr: float,
    max_debt_usd: float = np.inf,
) -> SculptedDebt:
    """Size and shape a loan so that base-case DSCR is ``target_dscr`` every month.

    Parameters
    ----------
    cfads_usd : ndarray, shape (month,)
        Base-case CFADS over the loan's tenor (negative months carry no service).
    monthly_rate : ndarray, shape (month,)
        The loan's all-in rate per month on the base case.
    target_dscr : float
        Above 1.
    max_debt_usd : float
        Gearing cap (maximum gearing x project cost).
    """
    cf = np.maximum(np.asarray(cfads_usd, dtype=np.float64), 0.0)
    rate = np.asarray(monthly_rate, dtype=np.float64)
    if cf.shape != rate.shape or cf.ndim != 1 or cf.size == 0:
        raise ValueError("sculpt: cfads_usd and monthly_rate must be 1-D of the same length")
    if not target_dscr > 0.0:
        raise ValueError(f"sculpt: target_dscr = {target_dscr}: expected > 0")
    df = np.exp(-np.cumsum(np.log1p(rate)))
    service = cf / target_dscr
    debt = float((service * df).sum())
    capped = debt > max_debt_usd
    if capped:
        service = service * (max_debt_usd / debt)
        debt = float(max_debt_usd)
    balance = debt
    principal = np.zeros_like(service)
    for t in range(service.size):
        interest = balance * rate[t]
        principal[t] = min(max(service[t] - interest, 0.0), balance)
        balance -= principal[t]
    principal[-1] += balance  # rounding, or interest service could not cover
    dscr = float((cf * df).sum()) / debt if debt > 0.0 else float("inf")
    return SculptedDebt(
        principal_usd=debt,
        debt_service_usd=service,
        principal_share=principal / debt if debt > 0 else principal,
        dscr=dscr,
        gearing_capped=bool(capped),
    )


def cover_ratio(
    cfads_usd: Float64Array,
    monthly_rate: Float64Array,
    balance_usd: Float64Array,
    last_month: int,
    terminal_value_usd: Float64Array | None = None,
) -> Float64Array:
    """LLCR (or PLCR with a terminal value) at each month's end, (path, month).

    ``ratio_t = (sum_{t<k<=last} CFADS_k DF(t, k) + V DF(t, last)) / balance_t`` with
    ``DF(t, k) = prod_{t<j<=k} 1 / (1 + i_j)``: the cash flows after month ``t`` to
    ``last_month`` (the loan's maturity for the LLCR), plus for the PLCR the value ``V`` at
    ``last_month`` of what the assets earn after it (the income-approach collateral value),
    over the balance outstanding after month ``t``'s payment. NaN where nothing is owed.
    Month 0 (close) is column 0 with the opening balance when ``balance_usd`` starts there.
    """
    cf = np.asarray(cfads_usd, dtype=np.float64)
    rate = np.asarray(monthly_rate, dtype=np.float64)
    n_paths, n = cf.shape
    last = min(last_month, n)
    pv = np.zeros((n_paths, n + 1))
    acc = np.zeros(n_paths) if terminal_value_usd is None else np.array(terminal_value_usd)
    pv[:, last] = acc
    for t in range(last, 0, -1):  # pv[:, t-1] = value at the end of month t-1
        acc = (cf[:, t - 1] + acc) / (1.0 + rate[:, t - 1])
        pv[:, t - 1] = acc
    bal = np.asarray(balance_usd, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(bal > 1e-6, pv[:, : bal.shape[1]] / np.where(bal > 1e-6, bal, 1.0), np.nan)
    return np.asarray(out, dtype=np.float64)
