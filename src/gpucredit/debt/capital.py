"""A deal's capital structure in engine units: its facilities' specs become ``StructureTerms``.

Dates become 1-based months of the deal's grid (the month whose end is the first on or after
the date). Project-finance facilities are sized here, by sculpting on the base case the caller
gives (``pipeline`` runs the deterministic path for it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from gpucredit._typing import Float64Array
from gpucredit.config.spec import (
    AblSpec,
    AmortisationSpec,
    BorrowerSpec,
    ConvertibleSpec,
    DdtlSpec,
    DealSpec,
    FacilitySpec,
    NotesSpec,
    ProjectFinanceSpec,
    StepSpec,
    TermLoanSpec,
)
from gpucredit.debt.facilities import (
    EquityTerms,
    FacilityKind,
    FacilityTerms,
    RefinancingTerms,
    StepTerms,
    StructureTerms,
    default_steps,
)
from gpucredit.debt.sculpting import SculptedDebt, sculpt
from gpucredit.debt.terms import LoanTerms, facility_loan_terms
from gpucredit.scenarios.grid import TimeGrid

__all__ = ["BaseCase", "build_structure", "month_of", "sculpted", "structure_terms"]

COUPON_EVERY = {"monthly": 1, "quarterly": 3, "semi_annual": 6}


def month_of(grid: TimeGrid, day: dt.date) -> int:
    """The 1-based month of ``grid`` whose end is the first on or after ``day``."""
    for m in range(1, grid.n_months + 1):
        if grid.end(m) >= day:
            return m
    return grid.n_months + 1


class BaseCase:
    """The deterministic base case a project-finance facility is sculpted on (shape (month,))."""

    def __init__(self, cfads_usd: Float64Array, sofr: Float64Array) -> None:
        self.cfads_usd = np.asarray(cfads_usd, dtype=np.float64)
        self.sofr = np.asarray(sofr, dtype=np.float64)


def _pool(names: Sequence[str], secured_by: list[str] | None) -> tuple[tuple[int, ...], bool]:
    if secured_by is None:
        return tuple(range(len(names))), True
    if not secured_by:
        return (), False
    return tuple(names.index(n) for n in secured_by), True


def _ddtl_schedule(
    f: DdtlSpec, grid: TimeGrid
) -> tuple[np.ndarray, Float64Array, Float64Array, Float64Array]:
    """Draw months and amounts after close, contractual principal by month, undrawn amount."""
    n = f.tenor_months
    months = np.array([month_of(grid, d.date) for d in f.draws], dtype=np.int64)
    amounts = np.array([d.amount_usd for d in f.draws], dtype=np.float64)
    due = np.zeros(n)
    later = zip(months.tolist(), amounts.tolist(), strict=True)
    tranches = [(0, f.drawn_at_close_usd), *later]
    for start, amount in tranches:
        if amount <= 0.0:
            continue
        if f.draw_amortisation == "straight_line":
            lo, hi = start, min(start + f.draw_tenor_months, n)
            due[lo:hi] += amount / f.draw_tenor_months  # months start+1 .. start+tenor
        else:
            due[min(start + f.draw_tenor_months, n) - 1] += amount
    end = month_of(grid, f.availability_end)
    drawn = f.drawn_at_close_usd + np.array(
        [amounts[months <= m].sum() for m in range(1, n + 1)], dtype=np.float64
    )
    undrawn = np.where(np.arange(1, n + 1) <= end, np.maximum(f.commitment_usd - drawn, 0.0), 0.0)
    return months, amounts, due, undrawn


def sculpted(f: ProjectFinanceSpec, project_cost_usd: float, base: BaseCase) -> SculptedDebt:
    """The sculpted size and schedule of a project-finance facility on ``base``."""
    n = f.tenor_months
    probe = facility_loan_terms(
        name=f.name,
        principal_usd=1.0,
        tenor_months=n,
        rate=f.rate,
        amortisation=None,
        issue_price_pct=f.issue_price_pct,
        dsra_months=f.dsra_months,
        covenants=f.covenants,
        refinancing_max_ltv=f.refinancing.max_ltv,
    )
    rate = probe.annual_rate(base.sofr[:n]) / 12.0
    cost = f.project_cost_usd or project_cost_usd
    return sculpt(base.cfads_usd[:n], rate, f.target_dscr, f.max_gearing_pct / 100.0 * cost)


def structure_terms(deal: DealSpec, grid: TimeGrid, base: BaseCase | None = None) -> StructureTerms:
    """The deal's facilities and waterfall in engine units; pools are the fleet's cohorts.

    ``base`` is needed when a facility is project finance (it is sculpted on it).
    """
    return build_structure(
        deal.facilities,
        deal.waterfall,
        deal.borrower,
        pool_names=[c.name for c in deal.fleet],
        grid=grid,
        base=base,
        project_cost_usd=sum(c.units * c.unit_cost_usd for c in deal.fleet),
    )


def build_structure(
    specs: Sequence[FacilitySpec],
    waterfall: Sequence[StepSpec] | None,
    borrower: BorrowerSpec | None,
    *,
    pool_names: Sequence[str],
    grid: TimeGrid,
    base: BaseCase | None = None,
    project_cost_usd: float = 0.0,
) -> StructureTerms:
    """Facilities and waterfall in engine units; ``secured_by`` names ``pool_names`` (the
    collateral axis of the values the engine is given: a GPU deal's cohorts, a miner's
    ``asics`` and ``hosting``)."""
    facilities: list[FacilityTerms] = []
    for f in specs:
        pool, secured = _pool(pool_names, f.secured_by)
        refi = RefinancingTerms(
            max_ltv=f.refinancing.max_ltv,
            min_dscr=f.refinancing.min_dscr,
            needs_open_market=f.refinancing.needs_open_market,
            spread=(f.refinancing.spread_tight_bps / 1e4, f.refinancing.spread_glut_bps / 1e4),
            spread_per_ltv=f.refinancing.spread_per_ltv_bps / 1e4,
            ltv_pivot=f.refinancing.ltv_pivot,
            new_tenor_months=f.refinancing.new_tenor_months,
            new_level_payment=f.refinancing.new_amortisation == "level_payment",
            enterprise=f.refinancing.value == "enterprise",
            window_months=f.refinancing.window_months,
        )

        def loan(
            principal: float, amortisation: AmortisationSpec | None, share: Float64Array | None
        ) -> LoanTerms:
            return facility_loan_terms(
                name=f.name,  # noqa: B023 - called within this iteration only
                principal_usd=principal,
                tenor_months=f.tenor_months,  # noqa: B023
                rate=f.rate,  # noqa: B023
                amortisation=amortisation,
                issue_price_pct=f.issue_price_pct,  # noqa: B023
                dsra_months=f.dsra_months,  # noqa: B023
                covenants=f.covenants,  # noqa: B023
                refinancing_max_ltv=f.refinancing.max_ltv,  # noqa: B023
                schedule_share=share,
            )

        proto = FacilityTerms(
            loan=loan(1.0, None, None),
            seniority=f.seniority,
            pool=pool,
            secured=secured,
            refinancing=refi,
            pari_passu_outside_usd=f.pari_passu_outside_usd,
        )
        if isinstance(f, DdtlSpec):
            months, amounts, due, undrawn = _ddtl_schedule(f, grid)
            facilities.append(
                replace(
                    proto,
                    loan=loan(f.drawn_at_close_usd, None, np.zeros(f.tenor_months)),
                    kind="ddtl",
                    draw_month=months,
                    draw_usd=amounts,
                    draw_due=due,
                    undrawn_usd=undrawn,
                    commitment_fee=f.commitment_fee_bps / 1e4,
                )
            )
        elif isinstance(f, ProjectFinanceSpec):
            if base is None:
                raise ValueError(f"facility {f.name!r} is project finance: a base case is needed")
            debt = sculpted(f, project_cost_usd, base)
            facilities.append(
                replace(
                    proto,
                    loan=loan(debt.principal_usd, None, debt.principal_share),
                    kind="project_finance",
                    sculpted_dscr=debt.dscr,
                )
            )
        elif isinstance(f, AblSpec):
            facilities.append(
                replace(
                    proto,
                    loan=loan(f.principal_usd, f.amortisation, None),
                    kind="abl",
                    advance_rate=f.advance_rate_pct / 100.0,
                    cure_months=f.cure_months,
                )
            )
        elif isinstance(f, NotesSpec):
            facilities.append(
                replace(
                    proto,
                    loan=loan(f.principal_usd, f.amortisation, None),
                    kind="notes",
                    coupon_every_months=COUPON_EVERY[f.coupon_frequency],
                    call_month=np.array(
                        [month_of(grid, c.date) for c in f.call_schedule], dtype=np.int64
                    ),
                    call_price=np.array(
                        [c.price_pct / 100.0 for c in f.call_schedule], dtype=np.float64
                    ),
                )
            )
        elif isinstance(f, ConvertibleSpec):
            facilities.append(
                replace(
                    proto,
                    loan=loan(f.principal_usd, f.amortisation, None),
                    kind="convertible",
                    coupon_every_months=COUPON_EVERY[f.coupon_frequency],
                    conversion_price_usd=f.conversion_price_usd,
                    soft_call_month=0 if f.soft_call is None else month_of(grid, f.soft_call.date),
                    soft_call_trigger=0.0
                    if f.soft_call is None
                    else f.soft_call.trigger_pct / 100.0,
                    put_month=0 if f.put is None else month_of(grid, f.put.date),
                    put_price=0.0 if f.put is None else f.put.price_pct / 100.0,
                )
            )
        else:
            assert isinstance(f, TermLoanSpec)
            kind: FacilityKind = f.kind
            facilities.append(
                replace(proto, loan=loan(f.principal_usd, f.amortisation, None), kind=kind)
            )
    names = [f.name for f in specs]
    steps: tuple[StepTerms, ...]
    if waterfall is None:
        steps = default_steps(tuple(facilities))
    else:
        built: list[StepTerms] = []
        for step in waterfall:
            index = names.index(step.facility) if hasattr(step, "facility") else -1
            if step.step == "sweep":
                built.append(StepTerms("sweep", index, share=step.share_pct / 100.0))
            elif step.step == "maintenance_reserve":
                built.append(
                    StepTerms(
                        "maintenance_reserve",
                        usd_per_month=step.usd_per_month,
                        target_usd=step.target_usd,
                    )
                )
            else:
                built.append(StepTerms(step.step, index))
        steps = tuple(built)
    b = borrower
    equity = (
        EquityTerms(
            b.share_price_usd,
            b.shares_outstanding,
            model=b.equity_model,
            vol=b.equity_vol_pct / 100.0,
            rho_fleet=b.rho_fleet,
        )
        if b is not None and b.share_price_usd is not None and b.shares_outstanding is not None
        else None
    )
    return StructureTerms(tuple(facilities), steps, equity)
