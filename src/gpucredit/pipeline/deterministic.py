"""Deterministic paths through the same stages as the Monte Carlo ones: the breakeven rent,
the glut stress and the collateral at close.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from gpucredit._progress import ProgressCallback
from gpucredit.assets.fleet import project
from gpucredit.credit.collateral import (
    CollateralAccumulator,
    CollateralReport,
    book_value_usd,
    summarise_collateral,
)
from gpucredit.credit.liquidation import MarketDefaultState
from gpucredit.credit.metrics import FacilityMetrics
from gpucredit.debt.ledger import DEFAULT_KINDS, DebtLedger
from gpucredit.debt.structure import StructureLedger, run_structure
from gpucredit.debt.terms import LoanTerms
from gpucredit.factors.params import GLUT
from gpucredit.pipeline.construction import pik_end_months
from gpucredit.pipeline.inputs import BlockInputs, block_inputs
from gpucredit.pipeline.model import DealModel, RunOutputs
from gpucredit.pipeline.outcomes import UNLIMITED_USD, loan_waterfall
from gpucredit.scenarios.shocks import ShockSource, StressPath


def run_deterministic(
    model: DealModel, source: ShockSource | None = None, *, terms: LoanTerms | None = None
) -> tuple[BlockInputs, DebtLedger]:
    """One deterministic path (default: zero shocks, the initial regime) through every stage."""
    inputs = block_inputs(model, source or StressPath(), 0, 1)
    t = terms or model.terms
    ledger = loan_waterfall(
        t, inputs.cash.cfads_usd, inputs.cash.collateral_value_usd, inputs.scenarios.sofr, "numpy"
    )
    return inputs, ledger


def breakeven_rent(model: DealModel) -> tuple[float | None, str]:
    """Flat market rent (USD/GPU-hour) at which the minimum DSCR over the loan's life is 1.0x.

    Deterministic: zero shocks, the initial regime's utilisation, SOFR on its expected path,
    no tenant default; every generation's rent is held flat in proportion to its anchor, and
    the rent reported is that of the generation with the most units. Returns 0.0 when the
    contracts alone keep the DSCR at or above 1.0x even at zero market rent, and None when no
    rent up to 1,000 USD/h does.
    """
    primary = model.primary_generation
    anchors = {r.generation: r.anchor_usd_per_gpu_hour for r in model.params.rents}
    inputs = block_inputs(model, StressPath(), 0, 1)
    scen = inputs.scenarios
    unlimited = np.full_like(inputs.cash.cfads_usd, UNLIMITED_USD)
    if model.structure is not None:
        values = np.full_like(model.collateral_values(inputs.cash.cohort_value_usd), UNLIMITED_USD)
        ds = run_structure(
            model.structure,
            unlimited,
            values,
            scen.sofr,
            pik_end_month=pik_end_months(model, None, 1),
        ).debt_service[0]
    else:
        promised = loan_waterfall(model.terms, unlimited, unlimited, scen.sofr, "numpy")
        ds = promised.ds_scheduled[0]
    # a month whose debt service is under a cent owes nothing to cover (a 1e-300 USD draw
    # would otherwise overflow the ratio)
    scheduled = ds >= 0.01

    def min_dscr_minus_one(rent: float) -> float:
        flat = scen.with_flat_rent({g: rent * anchors[g] / anchors[primary] for g in anchors})
        cash = project(model.plan, flat, buyer_decay_per_year=model.buyer_decay_per_year)
        dscr = cash.cfads_usd[0][scheduled] / ds[scheduled]
        return float(dscr.min()) - 1.0

    if not scheduled.any() or min_dscr_minus_one(0.0) >= 0.0:
        return 0.0, primary
    top = 1000.0
    if min_dscr_minus_one(top) < 0.0:
        return None, primary
    return float(brentq(min_dscr_minus_one, 0.0, top, xtol=1e-6)), primary


def breakeven_reported(
    model: DealModel, progress: ProgressCallback | None
) -> tuple[float | None, str]:
    """:func:`breakeven_rent`, reported as the phase ``breakeven`` (one search)."""
    if progress is not None:
        progress("breakeven", 0, 1)
    found = breakeven_rent(model)
    if progress is not None:
        progress("breakeven", 1, 1)
    return found


@dataclass(frozen=True, slots=True)
class StressOutcome:
    """The loan on one named deterministic path (zero shocks, a forced regime)."""

    name: str
    min_dscr: float
    default_month: int | None
    default_kind: str


def origination_collateral(model: DealModel, acc: CollateralAccumulator) -> CollateralReport:
    """LTV three ways on the as-of date, with the path statistics in ``acc``.

    Appraised value: the income-approach value at the end of month 1 on the deterministic
    path (today's market, no shocks). Realisable value: the present value, at SOFR, of
    selling the whole fleet then with the deal's sale strategy (``SecondaryMarketRecovery``).
    """
    inputs = block_inputs(model, StressPath(), 0, 1)  # run_deterministic's, without its loan
    values = inputs.cash.cohort_value_usd[:, 0, :]
    appraised = float(values.sum())
    state = MarketDefaultState(
        month=np.array([1], dtype=np.int64),
        ead_usd=np.array([np.inf]),
        pledged_cash_usd=np.zeros(1),
        cohort_value_usd=values,
        monthly_discount=inputs.scenarios.sofr[:, 0] / 12.0,
    )
    realisable = float(model.market.summarise(state).pv_usd[0])
    principal = (
        model.terms.principal_usd
        if model.structure is None
        else sum(f.committed_usd for f in model.structure.facilities)
    )
    return summarise_collateral(
        acc,
        principal_usd=principal,
        sale_speed=model.deal.recovery.sale_speed,
        book_value=book_value_usd(model.deal, model.deal.as_of),
        appraised_value=appraised,
        realisable_value=realisable,
    )


def close_collateral_value(model: DealModel) -> float:
    """Collateral value at close, USD: the appraised value of ``origination_collateral`` (the
    income-approach value at the end of month 1 on the deterministic path)."""
    inputs = block_inputs(model, StressPath(), 0, 1)  # run_deterministic's, without its loan
    return float(inputs.cash.collateral_value_usd[0, 0])


def glut_stress(model: DealModel) -> StressOutcome:
    """The market turns to glut in month 1 and stays there: rents and utilisation revert to the
    glut levels with no shocks; tenants do not default. Same code as the Monte Carlo paths."""
    if model.structure is not None:
        _, deal_ledger = run_structure_deterministic(model, StressPath(regime=(GLUT,)))
        owing = deal_ledger.debt_service[0] > 0.0
        month = int(deal_ledger.default_month[0])
        kinds = [int(fl.default_kind[0]) for fl in deal_ledger.facilities]
        first = next((k for k in kinds if k not in (0, 5)), 0)
        return StressOutcome(
            name="glut from month 1",
            min_dscr=float(deal_ledger.dscr[0][owing].min()) if owing.any() else float("inf"),
            default_month=month or None,
            default_kind=DEFAULT_KINDS[first],
        )
    _, ledger = run_deterministic(model, StressPath(regime=(GLUT,)))
    alive = ledger.alive[0]
    month = int(ledger.default_month[0])
    return StressOutcome(
        name="glut from month 1",
        min_dscr=float(ledger.dscr[0][alive].min()),
        default_month=month or None,
        default_kind=DEFAULT_KINDS[int(ledger.default_kind[0])],
    )


def run_structure_deterministic(
    model: DealModel, source: ShockSource | None = None
) -> tuple[BlockInputs, StructureLedger]:
    assert model.structure is not None
    inputs = block_inputs(model, source or StressPath(), 0, 1)
    ledger = run_structure(
        model.structure,
        inputs.cash.cfads_usd,
        model.collateral_values(inputs.cash.cohort_value_usd),
        inputs.scenarios.sofr,
        inputs.scenarios.credit_window(),
        pik_end_month=pik_end_months(model, None, 1),
        share_price_usd=inputs.share_price_usd,
    )
    return inputs, ledger


#: The note of a figure that a run asked not to compute (``RunOutputs.extras`` false).
NOT_COMPUTED = "not computed in this run (it asked for its PD and spreads only)"


def breakeven_asked(
    model: DealModel, outputs: RunOutputs, progress: ProgressCallback | None
) -> tuple[float | None, str]:
    """:func:`breakeven_reported` when ``outputs`` asks for the extras; else no rent (None,
    USD/GPU-hour) and the generation with the most units, with no search."""
    if not outputs.extras:
        return None, model.primary_generation
    return breakeven_reported(model, progress)


def noted_extras(metrics: FacilityMetrics, outputs: RunOutputs) -> FacilityMetrics:
    """``metrics`` with the breakeven rent noted as not computed when ``outputs`` asks for no
    extras (its None then does not read as "no rent up to 1,000 USD/h covers the debt")."""
    if outputs.extras:
        return metrics
    notes = {**metrics.notes, "breakeven_rent_usd_per_gpu_hour": NOT_COMPUTED}
    return dataclasses.replace(metrics, notes=notes)
