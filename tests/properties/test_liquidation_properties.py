"""Properties of the secondary market: more units or a faster sale never raise the price, the
optimum beats every named speed, sellers in one market share its price."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.credit.liquidation import (
    SecondaryMarket,
    SecondaryMarketRecovery,
    asic_market_params,
    gpu_market_params,
    liquidate,
    price_impact,
    speed_factor,
)
from gpucredit.credit.recovery import DefaultState

KINDS = st.sampled_from(["isoelastic", "sqrt", "exponential"])
SPEEDS = ("distressed", "auction", "broker", "orderly")


@given(
    kind=KINDS,
    units=st.lists(st.floats(0.0, 1e7), min_size=2, max_size=20),
    absorption=st.floats(0.0, 1e6),
)
@settings(max_examples=200, deadline=None)
def test_more_units_never_raise_the_price(kind: str, units: list[float], absorption: float) -> None:
    params = gpu_market_params(kind)  # type: ignore[arg-type]
    q = np.sort(np.array(units))
    m = price_impact(q, absorption, params)
    assert np.all(np.diff(m) <= 0.0)
    assert np.all((m >= params.min_price_fraction) & (m <= 1.0))


@given(kind=KINDS, lot_months=st.floats(1e-3, 500.0), asic=st.booleans())
@settings(max_examples=200, deadline=None)
def test_a_faster_sale_never_raises_the_price(kind: str, lot_months: float, asic: bool) -> None:
    params = (asic_market_params if asic else gpu_market_params)(kind)  # type: ignore[arg-type]
    factors = [
        speed_factor(s, lot_months, params.impact_kind, params.impact_coefficient)  # type: ignore[arg-type]
        for s in SPEEDS
    ]
    assert np.all(np.diff(factors) >= -1e-15)  # distressed <= auction <= broker <= orderly


POSITIVE = st.floats(1.0, 1e4)


@given(
    kind=KINDS,
    units=st.floats(1.0, 2e4),
    price=st.floats(100.0, 5e4),
    drift=st.floats(-0.02, 0.2),
    carry=st.floats(0.0, 2000.0),
    rate=st.floats(0.0, 0.03),
    absorption=st.floats(10.0, 5e4),
    others=st.floats(0.0, 5e4),
    condition=st.sampled_from(["refurbished", "as_is"]),
)
@settings(max_examples=60, deadline=None)
def test_the_optimum_is_never_below_a_named_speed(
    kind: str,
    units: float,
    price: float,
    drift: float,
    carry: float,
    rate: float,
    absorption: float,
    others: float,
    condition: str,
) -> None:
    params = gpu_market_params(kind)  # type: ignore[arg-type]
    args = (np.array([units]), np.array([price]), drift, carry, rate, absorption, params)
    common = {"other_units": others, "condition": condition}
    best = liquidate("optimal", *args, horizon_months=7, grid_steps=12, **common)  # type: ignore[arg-type]
    for speed in SPEEDS:
        named = liquidate(speed, *args, **common)  # type: ignore[arg-type]
        # the named schedules lie on the optimiser's grid: only float rounding separates ties
        assert named.pv_usd[0] <= best.pv_usd[0] + 1e-9 * abs(best.pv_usd[0]) + 1e-6


@given(
    kind=KINDS,
    units=st.floats(1.0, 2e4),
    price=st.floats(100.0, 5e4),
    absorption=st.floats(10.0, 5e4),
)
@settings(max_examples=60, deadline=None)
def test_without_time_costs_forced_proceeds_never_exceed_orderly(
    kind: str, units: float, price: float, absorption: float
) -> None:
    params = gpu_market_params(kind)  # type: ignore[arg-type]
    args = (np.array([units]), np.array([price]), 0.0, 0.0, 0.0, absorption, params)
    gross = [liquidate(s, *args).total_gross_usd[0] for s in SPEEDS]  # type: ignore[arg-type]
    optimal = liquidate("optimal", *args, horizon_months=6, grid_steps=12).total_net_usd[0]
    orderly_net = liquidate("orderly", *args).total_net_usd[0]
    assert np.all(np.diff(gross) >= -1e-9 * gross[-1])
    assert orderly_net <= optimal + 1e-9 * abs(optimal) + 1e-6


@given(
    own=st.floats(1.0, 2e4),
    others_low=st.floats(0.0, 2e4),
    extra=st.floats(0.0, 2e4),
    absorption=st.floats(10.0, 5e4),
    drift=st.floats(0.0, 0.1),
)
@settings(max_examples=60, deadline=None)
def test_more_selling_by_others_never_helps(
    own: float, others_low: float, extra: float, absorption: float, drift: float
) -> None:
    market = SecondaryMarket("H100", (absorption,), gpu_market_params())
    args = (np.array([own]), np.array([20000.0]), drift, 300.0, 0.004)
    low = market.liquidate(
        "optimal", *args, horizon_months=6, grid_steps=12, other_units=others_low
    )
    high = market.liquidate(
        "optimal", *args, horizon_months=6, grid_steps=12, other_units=others_low + extra
    )
    assert high.pv_usd[0] <= low.pv_usd[0] + 1e-9 * abs(low.pv_usd[0]) + 1e-6


@given(
    offers=st.lists(st.lists(st.floats(0.0, 1e5), min_size=4, max_size=4), min_size=1, max_size=5),
    absorption=st.floats(1.0, 1e5),
)
@settings(max_examples=100, deadline=None)
def test_all_sellers_get_the_clearing_price_of_the_total(
    offers: list[list[float]], absorption: float
) -> None:
    market = SecondaryMarket("H100", (absorption,), gpu_market_params())
    book = np.array(offers)
    price = market.clear_offers(book)
    for seller in range(book.shape[0]):
        alone = market.clear(np.arange(1, 5), book[seller])
        assert np.all(price <= alone)  # the others' units only lower everyone's price
    reordered = market.clear_offers(book[::-1])
    # the total does not depend on the sellers' order (up to float summation order)
    np.testing.assert_allclose(price, reordered, rtol=1e-12)


@given(
    values=st.lists(st.floats(0.0, 4e4), min_size=2, max_size=2),
    bump=st.floats(0.0, 1e4),
    ead=st.floats(0.0, 1e8),
    cash=st.floats(0.0, 1e6),
)
@settings(max_examples=40, deadline=None)
def test_recovery_is_bounded_and_rises_with_collateral_value(
    values: list[float], bump: float, ead: float, cash: float
) -> None:
    model = SecondaryMarketRecovery.for_cohorts(
        ["H100", "B200"],
        [800.0, 1200.0],
        [250.0, 350.0],
        [0.0175, 0.0175],
        dt.date(2026, 7, 31),
        horizon_months=6,
        grid_steps=12,
    )
    per_unit = np.array([values, [v + bump for v in values]])
    state = DefaultState(
        month=np.array([3, 3], dtype=np.int64),
        ead_usd=np.full(2, ead),
        pledged_cash_usd=np.full(2, cash),
        cohort_value_usd=per_unit * np.array([800.0, 1200.0]),
    )
    result = model.recover(state)
    assert np.all((result.proceeds_usd >= 0.0) & (result.proceeds_usd <= ead))
    assert np.all(result.proceeds_usd >= min(cash, ead) - 1e-9)  # pledged cash is kept
    pv = model.liquidate(state).pv_usd
    assert pv[1] >= pv[0] - 1e-9 * max(abs(pv[0]), 1.0)


@pytest.mark.parametrize("kind", ["isoelastic", "sqrt", "exponential"])
def test_zero_lot_recovers_nothing_and_costs_nothing(kind: str) -> None:
    params = gpu_market_params(kind)  # type: ignore[arg-type]
    sale = liquidate("optimal", np.zeros(2), np.full(2, 1e4), 0.01, 500.0, 0.01, 100.0, params)
    assert np.all(sale.pv_usd == 0.0) and np.all(sale.costs_usd == 0.0)
