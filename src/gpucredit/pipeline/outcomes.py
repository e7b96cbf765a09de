"""The debt side of a block of paths: waterfall, default and recovery (stages 4 and 5 of
DESIGN.md section 1) for a single loan and for a capital structure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gpucredit._typing import Float64Array, Int64Array
from gpucredit.credit.allocation import evaluate_structure
from gpucredit.credit.contracts import assigned_contract_uplift
from gpucredit.credit.liquidation import MemoisedRecovery
from gpucredit.credit.outcomes import CreditOutcomes, ExtraCollateral, evaluate
from gpucredit.credit.parent_fleet import CoSoldRecovery, parent_fleet_by_pool
from gpucredit.credit.recovery import RecoveryModel, StayedRecovery, stay_inputs
from gpucredit.debt.engine import pool_values, run_loan, run_structure_compiled
from gpucredit.debt.facilities import StructureTerms
from gpucredit.debt.ledger import DebtLedger
from gpucredit.debt.structure import StructureLedger, run_structure
from gpucredit.debt.terms import LoanTerms
from gpucredit.pipeline.construction import pik_end_months
from gpucredit.pipeline.inputs import SpreadInputs
from gpucredit.pipeline.model import Backend, DealModel
from gpucredit.scenarios.scenario import ScenarioSet

#: The facilities' per-month ledger fields ``structure_outcomes`` reads (the lender's cash
#: flows and the DSCR): what a fair-spread pass of a capital structure records, every other
#: field left unwritten (``debt.engine.run_structure_compiled``'s ``fields``).
SPREAD_LEDGER_FIELDS = ("interest_paid", "principal_paid", "prepaid", "extra_received", "dscr")

#: CFADS and collateral value standing in for "never short of cash" in the promised-cash-flow
#: run (USD; finite so that no infinity enters the arithmetic).
UNLIMITED_USD = 1e18


def run_recovery(model: DealModel) -> RecoveryModel:
    """The recovery model of one run: the deal's secondary market remembering each sale it
    has priced (``MemoisedRecovery``: the fair-spread passes meet the same defaults again),
    or the recovery model given instead."""
    return MemoisedRecovery(model.market) if model.recovery is model.market else model.recovery


def loan_waterfall(
    terms: LoanTerms,
    cfads: Float64Array,
    collateral: Float64Array,
    sofr: Float64Array,
    backend: Backend,
    fields: tuple[str, ...] | None = None,
    external_default_month: Int64Array | None = None,
) -> DebtLedger:
    """A single loan's waterfall: the structure engine on one facility (``debt.engine.run_loan``),
    compiled on the "numba" backend (recording only ``fields``), its NumPy oracle on "numpy";
    ``external_default_month``: the borrower's outside default (a book's), none by default."""
    outside = external_default_month
    if backend == "numba":
        return run_loan(
            terms, cfads, collateral, sofr, fields=fields, external_default_month=outside
        )
    return run_loan(terms, cfads, collateral, sofr, compiled=False, external_default_month=outside)


def contracts_uplift(model: DealModel, tenant_default_month: Int64Array) -> ExtraCollateral:
    """The value of surviving contracts over their GPUs', for ``evaluate``."""
    drift = model.monthly_drift

    def extra(
        idx: Int64Array, month: Int64Array, values: Float64Array, rate: Float64Array
    ) -> Float64Array:
        return assigned_contract_uplift(
            model.plan, tenant_default_month[idx], month, values, rate, drift
        )

    return extra


def contracts_uplift_by_lot(model: DealModel, tenant_default_month: Int64Array) -> ExtraCollateral:
    """``contracts_uplift`` contract by contract, summed into the deal's collateral lots:
    (n, lot), USD (``credit.lots``; the deal must have lots)."""
    drift = model.monthly_drift
    lots = model.lots
    assert lots is not None

    def extra(
        idx: Int64Array, month: Int64Array, values: Float64Array, rate: Float64Array
    ) -> Float64Array:
        by_contract = np.zeros((idx.size, model.plan.contract_units.size))
        assigned_contract_uplift(
            model.plan, tenant_default_month[idx], month, values, rate, drift, by_contract
        )
        return lots.by_lot(by_contract)

    return extra


def market_level(model: DealModel, scen: ScenarioSet) -> Float64Array:
    """Each path's mean log rent of the main generation over the loan, relative to the
    anchor (the market scenario a path is in, for wrong-way risk), shape (path,)."""
    gen = model.primary_generation
    anchor = model.params.rent(gen).anchor_usd_per_gpu_hour
    return np.asarray(np.log(scen.rent_of(gen) / anchor).mean(axis=1), dtype=np.float64)


def combined_outcomes(outs: tuple[CreditOutcomes, ...], ledger: StructureLedger) -> CreditOutcomes:
    """The borrower's outcomes: all facilities' exposures and recoveries together."""
    ead = sum((o.ead_usd for o in outs), np.zeros_like(outs[0].ead_usd))
    rec = sum((o.recovery_usd for o in outs), np.zeros_like(ead))
    loss = ead - rec
    with np.errstate(divide="ignore", invalid="ignore"):
        lgd = np.where(ead > 0, loss / np.where(ead > 0, ead, 1.0), 0.0)
    return CreditOutcomes(
        default_month=ledger.default_month,
        ead_usd=ead,
        recovery_usd=rec,
        loss_usd=loss,
        lgd=lgd,
        pv_per_par=outs[0].pv_per_par,
        min_dscr=outs[0].min_dscr,
        breached=outs[0].breached,
        time_to_recover_months=np.max([o.time_to_recover_months for o in outs], axis=0),
        appraised_value_usd=np.max([o.appraised_value_usd for o in outs], axis=0),
    )


def parent_links(model: DealModel, tenant_default_month: Int64Array) -> dict[str, Any]:
    """The structure engine's arguments for the deal's parent (``DealSpec.parent``) on a block:
    its default month as an outside default of every facility (``cross_default``), and as the
    end of its guarantee with the guarantee's cap (``recourse: guarantee``); none without."""
    parent, j = model.deal.parent, model.plan.parent_entity
    if parent is None or j < 0:
        return {}
    t_p = np.ascontiguousarray(np.asarray(tenant_default_month, dtype=np.int64)[:, j])
    links: dict[str, Any] = {}
    if parent.cross_default:
        links["external_default_month"] = t_p
    if parent.recourse == "guarantee":
        links["parent_support_end_month"] = t_p
        links["parent_support_cap_usd"] = parent.guarantee_cap_usd
    return links


def run_structure_block(
    model: DealModel,
    structure: StructureTerms,
    x: SpreadInputs,
    recovery: RecoveryModel,
    regime: np.ndarray,
    riskless: bool = False,
    backend: Backend = "numba",
    borrower_default_month: Int64Array | None = None,
    appraisal_marks: Float64Array | None = None,
    fields: tuple[str, ...] | None = None,
    block_values: BlockValues | None = None,
) -> tuple[StructureLedger, tuple[CreditOutcomes, ...]]:
    """The structure engine and every facility's outcomes on a block. ``borrower_default_month``
    (path,): the borrower's own default time from outside the deal's cash flows (a book's
    company default, ``pipeline.book``), a cross-default like the parent's; the earlier of
    the two applies. ``appraisal_marks`` (path, month, cohort): multipliers on the cohorts'
    values the engine appraises (LTV covenants, borrowing bases, the refinancing test), a
    book's fire-sale marks; the recoveries keep the unmarked values (their sale prices its own
    impact). ``fields``: the facilities' per-month fields the compiled engine records
    (``run_structure_compiled``; default all): ``SPREAD_LEDGER_FIELDS`` are those the outcomes
    read, the same outcomes to the bit (the NumPy backend records every field).
    ``block_values``: ``structure_block_values`` of this block, computed once for the many
    passes over it (used without ``appraisal_marks``; the same numbers)."""
    engine = run_structure_compiled if backend == "numba" else run_structure
    recorded: dict[str, Any] = {} if fields is None or backend != "numba" else {"fields": fields}
    if block_values is not None and backend == "numba" and appraisal_marks is None:
        recorded["pool_values_usd"], recorded["enterprise_value_usd"] = block_values
    links = {} if riskless else parent_links(model, x.tenant_default_month)
    if borrower_default_month is not None and not riskless:
        parent = links.get("external_default_month")
        links["external_default_month"] = np.ascontiguousarray(
            borrower_default_month
            if parent is None
            else np.minimum(parent, borrower_default_month),
            dtype=np.int64,
        )
    appraised = (
        x.cohort_value_usd if appraisal_marks is None else x.cohort_value_usd * appraisal_marks
    )
    ledger = engine(
        structure,
        x.cfads_usd,
        model.collateral_values(appraised),
        x.sofr,
        regime,
        default_free=riskless,
        **links,
        pik_end_month=pik_end_months(model, x.delivery_delay_months, x.cfads_usd.shape[0]),
        share_price_usd=x.share_price_usd,
        **recorded,
    )
    if not riskless:
        recovery = parent_recovery(
            model,
            ledger.default_month,
            x.tenant_default_month,
            x.cfads_usd,
            x.cohort_value_usd,
            recovery,
        )
    return ledger, structure_outcomes(model, structure, ledger, x, recovery)


#: A block's collateral as the structure engine reads it, for every pass over the block: each
#: facility's pool (facility, path, month) and the fleet's value (path, month), USD.
BlockValues = tuple[Float64Array, Float64Array]


def structure_block_values(
    model: DealModel, structure: StructureTerms, x: SpreadInputs
) -> BlockValues:
    """What ``run_structure_compiled`` derives from a block's cohort values on every call (each
    facility's pool, ``debt.engine.pool_values``, and their sum, the fleet value a share price
    follows), computed once: the same in every fair-spread pass, whatever the coupons."""
    values = model.collateral_values(x.cohort_value_usd)
    basis = np.ascontiguousarray(values.sum(axis=2), dtype=np.float64)
    return pool_values(structure, values), basis


def structure_outcomes(
    model: DealModel,
    structure: StructureTerms,
    ledger: StructureLedger,
    x: SpreadInputs,
    recovery: RecoveryModel,
) -> tuple[CreditOutcomes, ...]:
    """Every facility's outcomes on a block's ledger with ``recovery`` as given."""
    return evaluate_structure(
        structure,
        ledger,
        x.cohort_value_usd,
        recovery,
        x.sofr,
        extra_collateral=contracts_uplift(model, x.tenant_default_month),
        real_estate=model.real_estate,
        lots=model.lots,
        lot_collateral=None
        if model.lots is None
        else contracts_uplift_by_lot(model, x.tenant_default_month),
    )


def parent_fleet_sale(model: DealModel) -> tuple[tuple[tuple[str, float], ...], int] | None:
    """The parent's fleet sold into the deal's pools at its default (``ParentSpec.fleet_*``):
    its units per pool and the months it is sold over; None where nothing is co-sold (no
    parent, the switch off, the fleet unknown or outside the deal's pools, or a recovery model
    other than the deal's secondary market)."""
    parent, j = model.deal.parent, model.plan.parent_entity
    if parent is None or j < 0 or parent.fleet_sold_on_default is False:
        return None
    if model.recovery is not model.market:
        return None
    fleet = parent_fleet_by_pool(parent.name, parent.fleet_units, model.deal.as_of)
    units = tuple((p, u) for p, u in sorted(fleet.items()) if u > 0.0 and p in model.market.pools)
    return (units, parent.fleet_sale_months) if units else None


def co_sold_recovery(
    model: DealModel,
    default_month: Int64Array,
    tenant_default_month: Int64Array,
    recovery: RecoveryModel,
) -> RecoveryModel:
    """``recovery`` with the parent's fleet sold into the same markets on the block's defaulted
    paths (``default_month``: the borrower's, 0 for none; ``credit.parent_fleet.CoSoldRecovery``),
    or ``recovery`` itself where nothing is co-sold (then every number is today's to the bit)."""
    sale = parent_fleet_sale(model)
    if sale is None:
        return recovery
    t_p = np.asarray(tenant_default_month, dtype=np.int64)[:, model.plan.parent_entity]
    idx = np.flatnonzero(np.asarray(default_month) > 0)  # the rows evaluate(_structure) recovers
    return CoSoldRecovery(
        alone=recovery,
        market=model.market,
        parent_units_by_pool=sale[0],
        sale_months=sale[1],
        parent_default_month=np.ascontiguousarray(t_p[idx]),
    )


def stayed_recovery(
    model: DealModel,
    default_month: Int64Array,
    tenant_default_month: Int64Array,
    cfads_usd: Float64Array,
    cohort_value_usd: Float64Array,
    recovery: RecoveryModel,
) -> RecoveryModel:
    """``recovery`` through the parent's bankruptcy on the block's defaulted paths
    (``ParentSpec.stay_months`` and ``bankruptcy_cost_pct``; ``credit.recovery.StayedRecovery``),
    or ``recovery`` itself where the deal has neither (then every number is today's to the bit).

    ``default_month``: the borrower's (0 for none), shape (path,); ``cfads_usd``, shape (path,
    month), and ``cohort_value_usd``, shape (path, month, cohort), the block's, USD."""
    parent, j = model.deal.parent, model.plan.parent_entity
    if parent is None or j < 0 or (parent.stay_months == 0 and parent.bankruptcy_cost_pct == 0.0):
        return recovery
    idx = np.flatnonzero(np.asarray(default_month) > 0)  # the rows evaluate(_structure) recovers
    later, later_value, deficits = stay_inputs(
        np.asarray(default_month, dtype=np.int64)[idx],
        cfads_usd[idx],
        cohort_value_usd[idx],
        parent.stay_months,
    )
    t_p = np.asarray(tenant_default_month, dtype=np.int64)[:, j]
    return StayedRecovery(
        inner=recovery,
        stay_months=parent.stay_months,
        cost_share=parent.bankruptcy_cost_pct / 100.0,
        parent_default_month=np.ascontiguousarray(t_p[idx]),
        later_month=later,
        later_value_usd=later_value,
        stay_cash_usd=deficits,
        horizon_months=cfads_usd.shape[1],
    )


def parent_recovery(
    model: DealModel,
    default_month: Int64Array,
    tenant_default_month: Int64Array,
    cfads_usd: Float64Array,
    cohort_value_usd: Float64Array,
    recovery: RecoveryModel,
) -> RecoveryModel:
    """``recovery`` as the parent's default changes it, in one order for every entry point:
    the parent's fleet co-sold into the same market (``co_sold_recovery``), then the stay and
    cost of its bankruptcy around that sale (``stayed_recovery``). Arguments as
    ``stayed_recovery``'s; a deal without a parent gets ``recovery`` itself."""
    co_sold = co_sold_recovery(model, default_month, tenant_default_month, recovery)
    return stayed_recovery(
        model, default_month, tenant_default_month, cfads_usd, cohort_value_usd, co_sold
    )


def block_outcomes(
    model: DealModel, ledger: Any, x: SpreadInputs, recovery: RecoveryModel
) -> tuple[CreditOutcomes, ...]:
    """Every facility's outcomes on a block's ledger (a single loan's ``DebtLedger`` or a
    structure's ``StructureLedger``) with ``recovery`` as the parent's default changes it
    (``parent_recovery``): the one evaluation a book's fire-sale rounds repeat."""
    rec = parent_recovery(
        model,
        ledger.default_month,
        x.tenant_default_month,
        x.cfads_usd,
        x.cohort_value_usd,
        recovery,
    )
    if model.structure is None:
        return (
            evaluate(
                ledger,
                x.cohort_value_usd,
                rec,
                x.sofr,
                model.terms.principal_usd,
                extra_collateral=contracts_uplift(model, x.tenant_default_month),
            ),
        )
    return structure_outcomes(model, model.structure, ledger, x, rec)
