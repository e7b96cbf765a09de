"""Closed forms against brute force, and the zero-risk limit of the whole engine."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpucredit
from gpucredit.assets import gpu_value_usd
from gpucredit.config.spec import DealSpec
from gpucredit.credit import IncomeApproachRecovery
from gpucredit.factors import default_factor_params
from gpucredit.factors.params import FactorParams, RegimeParams
from tests.conftest import hand_deal_data, make_deal


@given(
    rent=st.floats(0.0, 5000.0),
    # physical ranges: zero or at least a thousandth of a dollar / a millionth a month
    cost=st.one_of(st.just(0.0), st.floats(1e-3, 2000.0)),
    remaining=st.floats(0.0, 120.0),
    decay=st.one_of(st.just(0.0), st.floats(1e-6, 0.05)),
    discount=st.floats(1e-4, 0.03),  # the spec requires a positive buyer discount rate
)
@settings(max_examples=200, deadline=None)
def test_income_value_equals_the_explicit_sum(
    rent: float, cost: float, remaining: float, decay: float, discount: float
) -> None:
    value = float(gpu_value_usd(np.array([rent]), cost, remaining, decay, discount)[0])
    brute = 0.0
    for k in range(1, math.floor(remaining) + 1):
        net = rent * math.exp(-decay * k) - cost
        if net <= 0.0 or rent <= cost:
            break  # a buyer switches the GPU off once rent no longer covers cost
        brute += net / (1.0 + discount) ** k
    # geometric-series closed form vs a loop: float rounding only
    assert value == pytest.approx(brute, rel=1e-9, abs=1e-6)


def _zero_risk_params(deal: gpucredit.DealSpec) -> FactorParams:
    base = default_factor_params(("H100",), deal.as_of)
    rents = tuple(
        dataclasses.replace(r, sigma_tight=0.0, sigma_glut=0.0, successors=()) for r in base.rents
    )
    return dataclasses.replace(
        base,
        regime=RegimeParams(0.0, 0.0),
        rents=rents,
        utilisation=dataclasses.replace(base.utilisation, sigma=0.0),
        sofr=dataclasses.replace(base.sofr, sigma=0.0),
    )


def test_zero_volatility_well_covered_deal_has_no_default_and_zero_fair_spread() -> None:
    data = hand_deal_data()
    loan = dict(data["loan"], principal_usd=100_000.0, tenor_months=12)
    deal = make_deal(data, loan=loan)
    result = gpucredit.simulate(deal, n_paths=2_000, seed=3, params=_zero_risk_params(deal))
    m = result.metrics
    assert m.pd == 0.0
    assert m.expected_loss_usd == 0.0
    assert m.fair_spread_bps == 0.0
    # a 12% fixed coupon at par over flat-ish SOFR: the market spread is the coupon less the
    # risk-free rate, and all of it is excess over the (zero) fair spread
    assert m.spread_gap_bps == pytest.approx(m.market_spread_bps)
    assert 700.0 < m.market_spread_bps < 1000.0


def tenant_only_deal() -> DealSpec:
    """A 36-month bullet whose only risk is one tenant at 8% a year: with zero volatility its
    default idles the GPUs for the rest of the loan (downtime 36 months)."""
    data = hand_deal_data()
    data["contracts"][0] = dict(data["contracts"][0], annual_pd_pct=8.0, end="2031-07-31")
    loan = dict(
        data["loan"],
        principal_usd=1_000_000.0,
        tenor_months=36,
        amortisation={"kind": "bullet"},
        rate={"kind": "floating", "margin_bps": 300.0},
        refinancing={"max_ltv": 1.0},
    )
    return make_deal(data, loan=loan, re_lease_downtime_months=36)


def test_fair_spread_is_near_pd_times_lgd_for_a_bullet() -> None:
    """Credit triangle: for a bullet loan the fair spread is close to hazard x LGD."""
    # the tenant is the only risk; a distressed sale recovers part of the exposure
    deal = tenant_only_deal()
    # the first-version fixed-factor recovery, through the recovery interface
    recovery = IncomeApproachRecovery("distressed", liquidation_cost_share=0.5)
    result = gpucredit.simulate(
        deal, n_paths=20_000, seed=1, params=_zero_risk_params(deal), recovery=recovery
    )
    m = result.metrics
    assert m.pd > 0.1
    assert m.lgd is not None and 0.1 < m.lgd < 0.9 and m.actuarial_spread_bps is not None
    hazard = -math.log(1.0 - m.pd) / 3.0
    triangle_bps = hazard * m.lgd * 1e4
    # the triangle is an expected loss under the real-world measure: the actuarial (P) spread.
    # Discrete monthly payments and recovery lags make the match approximate: within 15%
    assert m.actuarial_spread_bps == pytest.approx(triangle_bps, rel=0.15)
