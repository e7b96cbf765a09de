"""Numeric loan terms: the engine's view of a ``LoanSpec`` (decimals, month counts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from gpucredit._typing import Float64Array
from gpucredit.config.spec import (
    AmortisationSpec,
    CovenantSpec,
    FixedRateSpec,
    FloatingRateSpec,
    LevelPaymentSpec,
    LoanSpec,
    ScheduleSpec,
    StraightLineSpec,
)

__all__ = ["CovenantTerms", "LoanTerms", "WaiverTerms", "facility_loan_terms", "loan_terms"]

AmortKind = Literal["level_payment", "straight_line", "bullet", "schedule"]
Consequence = Literal["event_of_default", "cash_sweep", "lock_up"]


@dataclass(frozen=True, slots=True)
class WaiverTerms:
    """The lender's waiver rule in engine units (``WaiverSpec``).

    Attributes
    ----------
    max_ltv : float
        Waive only while balance after the month's payments / collateral value <= this.
    fee : float
        Amendment fee, decimal of that balance, capitalised into the balance.
    step_up : float
        Added to the coupon or margin from the next month on, decimal per year per waiver.
    max_waivers : int
        Waivers a loan can be granted over its life.
    """

    max_ltv: float
    fee: float
    step_up: float
    max_waivers: int


@dataclass(frozen=True, slots=True)
class CovenantTerms:
    """A covenant in engine units; ``waiver`` is None for a lender who always accelerates
    (and for a sweep or lock-up, which are never waived)."""

    kind: Literal["min_dscr", "max_ltv", "max_leverage", "min_liquidity"]
    threshold: float
    window_months: int
    cure_period_months: int
    consequence: Consequence
    waiver: WaiverTerms | None = None


@dataclass(frozen=True, slots=True)
class LoanTerms:
    """A term loan in engine units.

    ``add_on`` is added to the coupon (fixed) or the margin (floating): the fair-spread solver
    moves it; it is zero for the loan as written.
    """

    name: str
    principal_usd: float
    tenor_months: int
    floating: bool
    fixed_coupon: float
    margin: float
    floor: float
    amortisation: AmortKind
    schedule_share: Float64Array  # (month,) share of principal due each month, for "schedule"
    issue_price: float  # decimal of par, 0.98
    dsra_months: float
    covenants: tuple[CovenantTerms, ...]
    refinancing_max_ltv: float
    add_on: float = 0.0

    def with_add_on(self, add_on: float) -> LoanTerms:
        return replace(self, add_on=add_on)

    def annual_rate(self, sofr: Float64Array) -> Float64Array:
        """All-in annual coupon given SOFR, shape of ``sofr``."""
        if self.floating:
            return np.maximum(sofr, self.floor) + self.margin + self.add_on
        return np.full_like(sofr, self.fixed_coupon + self.add_on)


def loan_terms(spec: LoanSpec) -> LoanTerms:
    return facility_loan_terms(
        name=spec.name,
        principal_usd=spec.principal_usd,
        tenor_months=spec.tenor_months,
        rate=spec.rate,
        amortisation=spec.amortisation,
        issue_price_pct=spec.issue_price_pct,
        dsra_months=spec.dsra_months,
        covenants=spec.covenants,
        refinancing_max_ltv=spec.refinancing.max_ltv,
    )


def facility_loan_terms(
    *,
    name: str,
    principal_usd: float,
    tenor_months: int,
    rate: FixedRateSpec | FloatingRateSpec,
    amortisation: AmortisationSpec | None,
    issue_price_pct: float,
    dsra_months: float,
    covenants: Sequence[CovenantSpec],
    refinancing_max_ltv: float,
    schedule_share: Float64Array | None = None,
) -> LoanTerms:
    """The common terms of any facility; ``schedule_share`` (month,) replaces the
    amortisation with an explicit schedule (sculpted debt, per-draw schedules)."""
    kind: AmortKind
    if schedule_share is not None or isinstance(amortisation, ScheduleSpec):
        kind = "schedule"
    elif isinstance(amortisation, LevelPaymentSpec):
        kind = "level_payment"
    elif isinstance(amortisation, StraightLineSpec):
        kind = "straight_line"
    else:
        kind = "bullet"
    if schedule_share is not None:
        share = np.asarray(schedule_share, dtype=np.float64)
    elif isinstance(amortisation, ScheduleSpec):
        share = np.asarray(amortisation.principal_pct_by_month, dtype=np.float64) / 100.0
    else:
        share = np.zeros(tenor_months)
    fixed = isinstance(rate, FixedRateSpec)
    return LoanTerms(
        name=name,
        principal_usd=principal_usd,
        tenor_months=tenor_months,
        floating=not fixed,
        fixed_coupon=rate.coupon if isinstance(rate, FixedRateSpec) else 0.0,
        margin=0.0 if isinstance(rate, FixedRateSpec) else rate.margin,
        floor=0.0 if isinstance(rate, FixedRateSpec) else rate.floor,
        amortisation=kind,
        schedule_share=share,
        issue_price=issue_price_pct / 100.0,
        dsra_months=dsra_months,
        covenants=tuple(_covenant_terms(c) for c in covenants),
        refinancing_max_ltv=refinancing_max_ltv,
    )


def _covenant_terms(c: CovenantSpec) -> CovenantTerms:
    w = c.waiver if c.consequence == "event_of_default" else None
    return CovenantTerms(
        c.kind,
        c.level,
        c.window_months,
        c.cure_period_months,
        c.consequence,
        None if w is None else WaiverTerms(w.max_ltv, w.fee, w.step_up, w.max_waivers),
    )
