"""The parent's fleet sold into the same market (``credit.parent_fleet``): a hand-computed
co-sale, the CoreWeave fleet from Epoch's file, and the rows the parent's sale does not meet
left to the bit."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from gpucredit.credit.liquidation import (
    CohortCollateral,
    MarketDefaultState,
    SecondaryMarket,
    SecondaryMarketRecovery,
)
from gpucredit.credit.liquidation.impact import gpu_market_params
from gpucredit.credit.parent_fleet import (
    CoSoldRecovery,
    co_sale_units,
    epoch_fleet_by_pool,
    parent_fleet_by_pool,
)

ABSORPTION = 10_000.0  # units a month, a round hand-made market
DAYS_PER_MONTH = 30.4375


def _recovery(speed: str = "auction") -> SecondaryMarketRecovery:
    params = dataclasses.replace(
        gpu_market_params(),
        costs=dataclasses.replace(
            gpu_market_params().costs,
            deracking_usd_per_unit=0.0,
            logistics_usd_per_unit=0.0,
            refurbishment_usd_per_unit=0.0,
            transaction_share_of_gross=0.0,
        ),
    )
    return SecondaryMarketRecovery(
        cohorts=(CohortCollateral("B200", 20_000.0, 0.0, 0.0),),
        markets=(SecondaryMarket("B200", (ABSORPTION,), params),),
        sale_speed=speed,  # type: ignore[arg-type]
        horizon_months=12,
    )


def _state(month: list[int], price: float = 30_000.0) -> MarketDefaultState:
    n = len(month)
    return MarketDefaultState(
        month=np.array(month, dtype=np.int64),
        ead_usd=np.full(n, np.inf),
        pledged_cash_usd=np.zeros(n),
        cohort_value_usd=np.full((n, 1), price * 20_000.0),
        monthly_discount=np.full(n, 0.003),
    )


def test_the_co_sale_clears_at_the_hand_computed_multiplier() -> None:
    market = _recovery()
    gamma = market.markets[0].params.impact_coefficient
    parent_units = 30_000.0
    co = CoSoldRecovery(
        alone=market,
        market=market,
        parent_units_by_pool=(("B200", parent_units),),
        sale_months=1,
        parent_default_month=np.array([7], dtype=np.int64),
    )
    result = co.recover(_state([7]))
    # auction: 20,000 units within 30 days into 10,000 a month, the parent's 30,000 beside
    x = 20_000.0 / (ABSORPTION * 30.0 / DAYS_PER_MONTH) + parent_units / ABSORPTION
    multiplier = x**-gamma
    # no drift: gross = units x price x multiplier; 1e-12: a few roundings of a 6e8 amount
    assert result.gross_sale_usd[0] == pytest.approx(20_000.0 * 30_000.0 * multiplier, rel=1e-12)
    alone = market.recover(_state([7]))
    x_alone = 20_000.0 / (ABSORPTION * 30.0 / DAYS_PER_MONTH)
    assert alone.gross_sale_usd[0] == pytest.approx(
        20_000.0 * 30_000.0 * x_alone**-gamma, rel=1e-12
    )


def test_co_sale_units_follow_the_parents_schedule() -> None:
    units = co_sale_units(
        900.0,
        3,
        np.array([5, 5, 5, 5], dtype=np.int64),
        np.array([4, 5, 6, 8], dtype=np.int64),
        4,
    )
    # before the parent (month 4): none; from month 5: 300 a month in calendar months 5, 6, 7
    expected = np.array(
        [[0, 0, 0, 0], [300, 300, 300, 0], [300, 300, 0, 0], [0, 0, 0, 0]], dtype=np.float64
    )
    np.testing.assert_array_equal(units, expected)


def test_rows_the_parents_sale_does_not_meet_are_unchanged_to_the_bit() -> None:
    market = _recovery("optimal")
    rng = np.random.default_rng(3)
    month = rng.integers(1, 60, size=64)
    t_p = rng.integers(1, 70, size=64)
    t_p[::2] = np.maximum(month[::2] - rng.integers(0, 3, size=32), 1)  # half meet the sale
    state = MarketDefaultState(
        month=month,
        ead_usd=np.full(64, np.inf),
        pledged_cash_usd=rng.uniform(0.0, 1e6, 64),
        cohort_value_usd=rng.uniform(1e7, 9e8, (64, 1)),
        monthly_discount=rng.uniform(0.0, 0.01, 64),
    )
    alone = market.recover(state)
    for units in (0.0, 50_000.0):
        co = CoSoldRecovery(market, market, (("B200", units),), 3, t_p).recover(state)
        untouched = (units == 0.0) | (month < t_p) | (month >= t_p + 3)
        assert untouched.any() and (units == 0.0 or not untouched.all())
        for name in ("proceeds_usd", "lag_months", "gross_sale_usd", "time_to_recover_months"):
            a = getattr(alone, name)[untouched]
            b = getattr(co, name)[untouched]
            assert a.tobytes() == b.tobytes(), name


def test_coreweave_fleet_is_epochs_cumulative_additions() -> None:
    fleet = dict(
        epoch_fleet_by_pool("coreweave_gpu_additions_quarterly_epoch.csv", dt.date(2026, 7, 31))
    )
    # sums of the file's 'Number of Units' by chip type, 2023Q1-2025Q4
    assert fleet == {"H100": 298_145.0, "B200": 103_360.0, "B300": 106_606.0}
    mid = dict(
        epoch_fleet_by_pool("coreweave_gpu_additions_quarterly_epoch.csv", dt.date(2025, 8, 15))
    )
    # 2025Q3 pro rata: 46 of 92 days
    assert mid["B300"] == pytest.approx(18_135.0 * 46 / 92, rel=1e-15)  # one rounding
    typed = parent_fleet_by_pool("CoreWeave", {"H200": 10.0, "H100": 5.0}, dt.date(2026, 7, 31))
    assert typed == {"H100": 15.0}  # typed wins; H200 and H100 share one pool
    assert parent_fleet_by_pool("Meta", None, dt.date(2026, 7, 31)) == {}
