"""Numeric loan terms: the engine's view of a ``LoanSpec`` (decimals, month counts)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from gpucredit._typing import Float64Array
from gpucredit.config.spec import (
    BulletSpec,
    FixedRateSpec,
    LevelPaymentSpec,
    LoanSpec,
    ScheduleSpec,
    StraightLineSpec,
)

__all__ = ["CovenantTerms", "LoanTerms", "loan_terms"]

AmortKind = Literal["level_payment", "straight_line", "bullet", "schedule"]
Consequence = Literal["event_of_default", "cash_sweep", "lock_up"]


@dataclass(frozen=True, slots=True)
class CovenantTerms:
    kind: Literal["min_dscr", "max_ltv"]
    threshold: float
    window_months: int
    cure_period_months: int
    consequence: Consequence


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
    rate = spec.rate
    amort = spec.amortisation
    kind: AmortKind
    if isinstance(amort, LevelPaymentSpec):
        kind = "level_payment"
    elif isinstance(amort, StraightLineSpec):
        kind = "straight_line"
    elif isinstance(amort, BulletSpec):
        kind = "bullet"
    else:
        assert isinstance(amort, ScheduleSpec)
        kind = "schedule"
    share = (
        np.asarray(amort.principal_pct_by_month, dtype=np.float64) / 100.0
        if isinstance(amort, ScheduleSpec)
        else np.zeros(spec.tenor_months)
    )
    fixed = isinstance(rate, FixedRateSpec)
    return LoanTerms(
        name=spec.name,
        principal_usd=spec.principal_usd,
        tenor_months=spec.tenor_months,
        floating=not fixed,
        fixed_coupon=rate.coupon if isinstance(rate, FixedRateSpec) else 0.0,
        margin=0.0 if isinstance(rate, FixedRateSpec) else rate.margin,
        floor=0.0 if isinstance(rate, FixedRateSpec) else rate.floor,
        amortisation=kind,
        schedule_share=share,
        issue_price=spec.issue_price_pct / 100.0,
        dsra_months=spec.dsra_months,
        covenants=tuple(
            CovenantTerms(c.kind, c.threshold, c.window_months, c.cure_period_months, c.consequence)
            for c in spec.covenants
        ),
        refinancing_max_ltv=spec.refinancing.max_ltv,
    )
