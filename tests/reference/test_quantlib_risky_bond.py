"""The actuarial (P) fair spread of a deal whose only risk is one tenant's default, against
QuantLib's risky-bond price at that tenant's hazard (QuantLib is the reference pricer of
DESIGN.md section 7).

The deal: one take-or-pay tenant on the whole fleet, no merchant units, no covenants, no
market risk (zero volatilities, a chain that never leaves the tight regime, flat SOFR), and
zero recovery. Its default idles the fleet for the rest of the loan (a 36-month re-lease
downtime), so the loan misses the payment of the month the tenant defaults in. The tenant's
default time is then exactly ``P(tau > t) = exp(-h t)`` at each month end (``h`` the monthly
hazard of its typed one-year PD), which is QuantLib's ``FlatHazardRate`` at ``12 h`` a year
on a 30/360 schedule (every month exactly 1/12 of a year). Discounting: the engine rolls
one-month deposits at SOFR, ``(1 + r / 12)^-t``, QuantLib's ``FlatForward`` compounded monthly.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import QuantLib as ql

import gpucredit
from gpucredit.credit.recovery import DefaultState, RecoveryResult
from gpucredit.factors.defaults import default_factor_params
from gpucredit.factors.params import FactorParams, RegimeParams
from gpucredit.scenarios.measure import MarketPricesOfRisk
from tests.conftest import hand_deal_data, make_deal

ANNUAL_PD = 0.05
COUPON = 0.08
SOFR = 0.04
TENOR_MONTHS = 36


@dataclasses.dataclass(frozen=True, slots=True)
class NothingRecovered:
    """Zero recovery: the lender gets nothing after default."""

    def recover(self, state: DefaultState) -> RecoveryResult:
        zero = np.zeros(state.month.shape[0])
        return RecoveryResult(zero, zero, zero, zero)


def _no_market_risk(deal: gpucredit.DealSpec) -> FactorParams:
    base = default_factor_params(("H100",), deal.as_of)
    rents = tuple(
        dataclasses.replace(r, sigma_tight=0.0, sigma_glut=0.0, successors=()) for r in base.rents
    )
    return dataclasses.replace(
        base,
        regime=RegimeParams(0.0, 0.0),
        rents=rents,
        utilisation=dataclasses.replace(base.utilisation, sigma=0.0),
        sofr=dataclasses.replace(base.sofr, initial=SOFR, long_run=SOFR, sigma=0.0),
    )


def _quantlib_price(coupon: float, hazard_per_year: float) -> float:
    """Price per unit of par of the monthly bullet under QuantLib's RiskyBondEngine."""
    today = ql.Date(15, 1, 2026)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Thirty360(ql.Thirty360.BondBasis)
    schedule = ql.Schedule(
        today,
        today + ql.Period(TENOR_MONTHS, ql.Months),
        ql.Period(ql.Monthly),
        ql.NullCalendar(),
        ql.Unadjusted,
        ql.Unadjusted,
        ql.DateGeneration.Forward,
        False,
    )
    bond = ql.FixedRateBond(0, 100.0, schedule, [coupon], dc)
    discount = ql.YieldTermStructureHandle(
        ql.FlatForward(today, SOFR, dc, ql.Compounded, ql.Monthly)
    )
    hazard = ql.DefaultProbabilityTermStructureHandle(
        ql.FlatHazardRate(today, ql.QuoteHandle(ql.SimpleQuote(hazard_per_year)), dc)
    )
    bond.setPricingEngine(ql.RiskyBondEngine(hazard, 0.0, discount))
    return float(bond.NPV()) / 100.0


def _par_add_on(hazard_per_year: float) -> float:
    """The add-on to the coupon at which the bond is worth par (decimal a year)."""
    lo, hi = -COUPON, 1.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if _quantlib_price(COUPON + mid, hazard_per_year) < 1.0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@pytest.mark.slow
def test_actuarial_spread_equals_quantlib_risky_bond() -> None:
    data = hand_deal_data()
    data["contracts"][0] = dict(
        data["contracts"][0], annual_pd_pct=ANNUAL_PD * 100.0, end="2031-07-31"
    )
    loan = dict(
        data["loan"],
        tenor_months=TENOR_MONTHS,
        amortisation={"kind": "bullet"},
        rate={"kind": "fixed", "coupon_pct": COUPON * 100.0},
        refinancing={"max_ltv": 1.0},
    )
    deal = make_deal(data, loan=loan, re_lease_downtime_months=TENOR_MONTHS)
    result = gpucredit.simulate(
        deal,
        n_paths=16_384,
        seed=5,
        keep_paths=0,
        params=_no_market_risk(deal),
        recovery=NothingRecovered(),
        pricing=MarketPricesOfRisk(),
    )
    m = result.metrics
    assert m.lgd == pytest.approx(1.0)  # nothing recovered: only the default time matters
    assert m.actuarial_spread_bps is not None and m.actuarial_spread_se_bps is not None
    hazard = -math.log1p(-ANNUAL_PD)  # a year; the monthly hazard is a twelfth of it
    reference_bps = (_par_add_on(hazard) - _par_add_on(0.0)) * 1e4
    # Monte Carlo error only: within 2 standard errors of the engine's own estimate
    assert abs(m.actuarial_spread_bps - reference_bps) < 2.0 * m.actuarial_spread_se_bps, (
        m.actuarial_spread_bps,
        reference_bps,
        m.actuarial_spread_se_bps,
    )
