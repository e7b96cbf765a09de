"""Secondary market and liquidation: contracts, shapes, validation, the recovery interface."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle

import numpy as np
import pytest

from gpucredit.credit.liquidation import (
    DAYS_PER_MONTH,
    CohortCollateral,
    LiquidationCosts,
    MarketDefaultState,
    SecondaryMarket,
    SecondaryMarketRecovery,
    absorption_units_per_month,
    asic_market_params,
    gpu_market_params,
    liquidate,
    named_schedule,
    optimal_schedule,
    price_impact,
    vintage_factor,
)
from gpucredit.credit.recovery import DefaultState, RecoveryModel
from gpucredit.errors import DataError, ModelError
from gpucredit.market.shipments import (
    FALLBACK_POOL,
    asic_installed_base,
    installed_base,
    market_pool,
    network_hashrate_th_s,
    shipments_quarterly,
)

AS_OF = dt.date(2026, 7, 31)


# --- shipments -------------------------------------------------------------------------------


def test_shipments_table_is_tidy() -> None:
    frame = shipments_quarterly()
    assert len(frame) == 48
    assert set(frame["pool"]) == {"A100", "H100", "H20", "B200", "B300"}
    assert (frame["units_p5"] <= frame["units_median"]).all()
    assert (frame["units_median"] <= frame["units_p95"]).all()
    assert frame["incomplete"].sum() == 2  # Epoch: 2026-Q1 rows cover fiscal weeks to 01-25


def test_pools_share_substitutes_and_flag_fallbacks() -> None:
    assert market_pool("H200") == ("H100", False)
    assert market_pool("GB200") == ("B200", False)
    assert market_pool("H800") == ("H100", False)
    assert market_pool("RUBIN") == (FALLBACK_POOL, True)
    assert installed_base("H100", AS_OF).units == installed_base("H200", AS_OF).units
    rubin = installed_base("RUBIN", AS_OF)
    assert rubin.is_fallback and rubin.pool == FALLBACK_POOL


def test_installed_base_counts_the_current_quarter_pro_rata() -> None:
    frame = shipments_quarterly()
    h100 = frame[frame["pool"] == "H100"]
    before = h100[h100["end"] < "2023-07-01"]["units_median"].sum()
    q3 = h100[h100["start"] == "2023-07-01"]["units_median"].sum()
    mid = installed_base("H100", dt.date(2023, 8, 15)).units
    # 2023-07-01 to 08-15 inclusive is 46 of the quarter's 92 days
    assert mid == pytest.approx(before + q3 * 46 / 92)
    assert installed_base("H100", dt.date(2021, 12, 31)).units == 0.0
    base = installed_base("B300", AS_OF)
    assert base.data_end == dt.date(2026, 3, 31)  # no extrapolation past the file
    assert installed_base("B300", dt.date(2027, 1, 1)).units == base.units


def test_installed_base_percentiles_bracket_the_median() -> None:
    lo = installed_base("B200", AS_OF, percentile="p5").units
    mid = installed_base("B200", AS_OF).units
    hi = installed_base("B200", AS_OF, percentile="p95").units
    assert lo < mid < hi


def test_asic_installed_base_from_hash_rate() -> None:
    rate, last = network_hashrate_th_s(dt.date(2026, 6, 1))
    assert last == dt.date(2026, 6, 1)
    base = asic_installed_base(AS_OF, 200.0)
    assert base.data_end == dt.date(2026, 6, 1)  # after the data the window ends on its last day
    assert base.units == pytest.approx(rate / 200.0)
    with pytest.raises(DataError, match="HashRate"):
        network_hashrate_th_s(dt.date(2008, 1, 1))
    with pytest.raises(ValueError, match="rig_hashrate_th_s"):
        asic_installed_base(AS_OF, 0.0)


# --- price impact and parameters ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["isoelastic", "sqrt", "exponential"])
def test_price_impact_contract(kind: str) -> None:
    params = gpu_market_params(kind)  # type: ignore[arg-type]
    units = np.array([[0.0, 1.0, 10.0], [100.0, 1e6, 1e12]])
    m = price_impact(units, 10.0, params)
    assert m.shape == (2, 3)
    assert m[0, 0] == 1.0  # nothing offered, no impact
    assert np.all((m >= params.min_price_fraction) & (m <= 1.0))
    assert price_impact(5.0, 0.0, params) == params.min_price_fraction  # no buyers at all
    assert price_impact(0.0, 0.0, params) == 1.0
    with pytest.raises(ValueError, match=">= 0"):
        price_impact(-1.0, 10.0, params)


def test_isoelastic_has_no_impact_up_to_absorption() -> None:
    params = gpu_market_params()
    assert np.all(price_impact(np.array([0.5, 1.0]), 1.0, params) == 1.0)
    assert price_impact(2.0, 1.0, params) == pytest.approx(2.0**-params.impact_coefficient)


def test_market_params_validate() -> None:
    base = gpu_market_params()
    with pytest.raises(ValueError, match="min_price_fraction"):
        dataclasses.replace(base, min_price_fraction=0.0)
    with pytest.raises(ValueError, match="impact_kind"):
        dataclasses.replace(base, impact_kind="linear")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="monthly_turnover"):
        dataclasses.replace(base, monthly_turnover=0.0)
    with pytest.raises(ValueError, match="transaction_share_of_gross"):
        LiquidationCosts(0.0, 0.0, 0.0, 0.0, 1.0)
    assert dict(base.sources)["monthly_turnover"].startswith("ASSUMPTION")
    assert asic_market_params().asset_class == "asic"


def test_absorption_is_base_times_turnover() -> None:
    params = gpu_market_params()
    a = absorption_units_per_month("H100", AS_OF, params)
    assert a == pytest.approx(installed_base("H100", AS_OF).units * params.monthly_turnover)
    asic = asic_market_params()
    rigs = absorption_units_per_month("ASIC", AS_OF, asic, rig_hashrate_th_s=100.0)
    assert rigs == pytest.approx(asic_installed_base(AS_OF, 100.0).units * asic.monthly_turnover)


def test_vintage_factor_is_log_linear_and_extrapolates() -> None:
    factors = (1.0, 0.8, 0.64)
    assert vintage_factor(0.5, factors) == pytest.approx(0.8**0.5)
    assert vintage_factor(3.0, factors) == pytest.approx(0.512)
    assert vintage_factor(-1.0, factors) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        vintage_factor(1.0, (1.0,))


# --- liquidation -----------------------------------------------------------------------------


def _sale(speed: str, **changes: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "units": np.array([1000.0, 5000.0, 0.0]),
        "reference_price_usd": np.array([20000.0, 15000.0, 10000.0]),
        "monthly_drift": 0.015,
        "carry_usd_per_unit_month": 400.0,
        "monthly_discount": 0.005,
        "absorption_units_per_month": 1000.0,
        "params": gpu_market_params(),
    }
    args.update(changes)
    return liquidate(speed, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize("speed", ["distressed", "auction", "broker", "orderly", "optimal"])
def test_liquidation_shapes_and_accounting(speed: str) -> None:
    sale = _sale(speed)
    h = 12 if speed == "optimal" else named_schedule(speed)[0].size  # type: ignore[arg-type]
    for name in ("units_sold", "window_days", "sale_time_months", "price_multiplier"):
        assert getattr(sale, name).shape == (3, h)
    assert sale.pv_usd.shape == (3,)
    # every unit is sold within the horizon (grid of L / 60)
    np.testing.assert_allclose(sale.units_sold.sum(axis=1), [1000.0, 5000.0, 0.0])
    np.testing.assert_allclose(sale.net_usd, sale.gross_usd - sale.costs_usd)
    np.testing.assert_allclose(
        sale.gross_usd, sale.units_sold * sale.unit_price_usd, rtol=1e-12, atol=1e-9
    )
    assert sale.pv_usd[2] == 0.0 and sale.total_gross_usd[2] == 0.0
    sold = sale.units_sold > 0
    assert np.all(sale.window_days[sold] > 0) and np.all(sale.window_days[~sold] == 0)
    assert np.all(sale.sale_time_months[sold] <= np.arange(1, h + 1)[None, :].repeat(3, 0)[sold])


def test_named_schedules_follow_the_spotwire_sale_times() -> None:
    for speed, days in (("distressed", 7), ("auction", 30), ("broker", 90), ("orderly", 180)):
        shares, windows = named_schedule(speed)  # type: ignore[arg-type]
        assert shares.sum() == pytest.approx(1.0)
        # sale time of the last unit, days: 3 and 6 months of 30.4375 days for broker, orderly
        assert windows.sum() == pytest.approx(days, abs=0.02 * days)


def test_liquidate_validates_inputs() -> None:
    with pytest.raises(ValueError, match="grid_steps"):
        _sale("optimal", grid_steps=10)
    with pytest.raises(ValueError, match="horizon_months"):
        _sale("optimal", horizon_months=0)
    with pytest.raises(ValueError, match="reference_price_usd"):
        _sale("auction", reference_price_usd=np.ones(2))
    with pytest.raises(ValueError, match="units"):
        _sale("auction", units=np.array([-1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="windows_days"):
        _sale("optimal", windows_days=(40.0,))


def test_optimal_schedule_is_liquidate_optimal() -> None:
    a = _sale("optimal", horizon_months=8)
    b = optimal_schedule(
        np.array([1000.0, 5000.0, 0.0]),
        np.array([20000.0, 15000.0, 10000.0]),
        0.015,
        400.0,
        0.005,
        1000.0,
        8,
        gpu_market_params(),
    )
    np.testing.assert_array_equal(a.units_sold, b.units_sold)
    np.testing.assert_array_equal(a.pv_usd, b.pv_usd)


def test_as_is_sale_skips_refurbishment_and_takes_the_condition_discount() -> None:
    base = gpu_market_params()
    # insurance (a share of the price) off, so that the cost gap is refurbishment and fees only
    params = dataclasses.replace(
        base, costs=dataclasses.replace(base.costs, insurance_share_per_year=0.0)
    )
    fixed = {
        "monthly_drift": 0.0,
        "carry_usd_per_unit_month": 0.0,
        "monthly_discount": 0.0,
        "params": params,
    }
    refurb = _sale("auction", **fixed)
    as_is = _sale("auction", condition="as_is", **fixed)
    np.testing.assert_allclose(as_is.gross_usd, refurb.gross_usd * params.as_is_factor)
    per_unit_refurb = params.costs.refurbishment_usd_per_unit
    diff = (refurb.costs_usd - as_is.costs_usd)[:, 0]
    fee = params.costs.transaction_share_of_gross
    expected = refurb.units_sold[:, 0] * per_unit_refurb + fee * (
        refurb.gross_usd[:, 0] - as_is.gross_usd[:, 0]
    )
    np.testing.assert_allclose(diff, expected)


# --- shared market ---------------------------------------------------------------------------


def test_market_clears_the_total_of_all_sellers() -> None:
    market = SecondaryMarket("H100", (1000.0, 2000.0), gpu_market_params())
    offers = np.array([[500.0, 1500.0, 1000.0], [1500.0, 1500.0, 5000.0]])  # (seller, month)
    m = market.clear_offers(offers)
    assert m.shape == (3,)
    np.testing.assert_allclose(m, market.clear(np.array([1, 2, 3]), offers.sum(axis=0)))
    np.testing.assert_allclose(market.absorption(np.array([1, 2, 3, 9])), [1e3, 2e3, 2e3, 2e3])
    assert m[0] == price_impact(2000.0, 1000.0, market.params)[()]
    with pytest.raises(ValueError, match="month"):
        market.absorption(0)
    with pytest.raises(ValueError, match="absorption_by_month"):
        SecondaryMarket("H100", (), gpu_market_params())


def test_market_constructors_size_absorption_from_data() -> None:
    gpu = SecondaryMarket.for_generation("H200", AS_OF)
    assert gpu.pool == "H100"
    assert gpu.absorption(1) == pytest.approx(
        absorption_units_per_month("H100", AS_OF, gpu_market_params())
    )
    asic = SecondaryMarket.for_asic(AS_OF)
    assert asic.pool == "ASIC" and asic.params.asset_class == "asic"


def test_best_response_sees_the_other_sellers() -> None:
    market = SecondaryMarket("H100", (1000.0,), gpu_market_params())
    args = (np.array([3000.0]), np.array([20000.0]), 0.01, 300.0, 0.005)
    alone = market.liquidate("optimal", *args, horizon_months=6, grid_steps=30)
    crowded = market.liquidate(
        "optimal", *args, horizon_months=6, grid_steps=30, other_units=np.full((1, 6), 2000.0)
    )
    assert crowded.pv_usd[0] < alone.pv_usd[0]


# --- recovery model --------------------------------------------------------------------------


def _recovery(**changes: object) -> SecondaryMarketRecovery:
    kwargs: dict[str, object] = {
        "generations": ["H100", "H200", "B200"],
        "units": [1000.0, 500.0, 2000.0],
        "carry_usd_per_unit_month": [250.0, 250.0, 350.0],
        "monthly_drift": [0.0175, 0.0175, 0.0175],
        "as_of": AS_OF,
        "horizon_months": 8,
        "grid_steps": 24,
    }
    kwargs.update(changes)
    return SecondaryMarketRecovery.for_cohorts(**kwargs)  # type: ignore[arg-type]


def _state(n: int = 4) -> DefaultState:
    rng = np.random.default_rng(7)
    value = rng.uniform(0.0, 30000.0, (n, 3)) * np.array([1000.0, 500.0, 2000.0])
    value[0] = 0.0  # a path where the collateral is worth nothing
    return DefaultState(
        month=np.arange(1, n + 1, dtype=np.int64),
        ead_usd=np.full(n, 60e6),
        pledged_cash_usd=np.full(n, 1e6),
        cohort_value_usd=value,
    )


def test_recovery_implements_the_protocol() -> None:
    model: RecoveryModel = _recovery()
    state = _state()
    result = model.recover(state)
    assert result.proceeds_usd.shape == result.lag_months.shape == (4,)
    assert np.all(result.proceeds_usd <= state.ead_usd)
    assert np.all(result.proceeds_usd >= 0.0)
    # path 0: nothing to sell, the lender abandons the hardware and keeps the pledged cash
    assert result.proceeds_usd[0] == pytest.approx(1e6)
    assert result.gross_sale_usd[0] == 0.0 and result.lag_months[0] == 0.0


def test_recovery_pools_substitutes_into_one_lot() -> None:
    model = _recovery()
    assert model.pools == ("H100", "B200")
    liq = model.liquidate(_state())
    assert liq.abandoned.shape == (4, 2) and liq.abandoned[0].all()
    np.testing.assert_allclose(liq.units_offered("H100")[1:].sum(axis=1), 1500.0)
    assert np.all(liq.units_offered("B200")[0] == 0.0)


def test_recovery_lag_reproduces_the_pv_at_the_same_rate() -> None:
    model = _recovery(sale_speed="orderly")
    base = _state()
    rate = np.full(4, 0.0365 / 12.0)  # SOFR 3.65% (FRED, 2026-07-30) / 12
    state = MarketDefaultState(
        month=base.month,
        ead_usd=np.full(4, 1e12),  # no cap
        pledged_cash_usd=base.pledged_cash_usd,
        cohort_value_usd=base.cohort_value_usd,
        monthly_discount=rate,
    )
    result = model.recover(state)
    liq = model.liquidate(state)
    pv = result.proceeds_usd * (1.0 + rate) ** (-result.lag_months)
    np.testing.assert_allclose(pv, liq.pv_usd + state.pledged_cash_usd, rtol=1e-12)


def test_recovery_vintage_cap_and_errors() -> None:
    with pytest.raises(ValueError, match="unit_cost_usd"):
        _recovery(reference="lower_of_income_and_vintage")
    capped = _recovery(
        reference="lower_of_income_and_vintage",
        unit_cost_usd=[25000.0, 30000.0, 40000.0],
        age_years_at_as_of=[3.0, 1.5, 1.0],
    )
    free = _recovery()
    state = _state()
    assert np.all(capped.recover(state).gross_sale_usd <= free.recover(state).gross_sale_usd)
    bad = DefaultState(
        month=state.month,
        ead_usd=state.ead_usd,
        pledged_cash_usd=state.pledged_cash_usd,
        cohort_value_usd=state.cohort_value_usd[:, :2],
    )
    with pytest.raises(ModelError, match="cohorts"):
        free.recover(bad)
    with pytest.raises(ValueError, match="lacks pools"):
        SecondaryMarketRecovery(cohorts=(CohortCollateral("A100", 10.0, 100.0, 0.01),), markets=())


def test_recovery_model_pickles_for_distributed_runs() -> None:
    model = _recovery()
    clone = pickle.loads(pickle.dumps(model))
    state = _state()
    np.testing.assert_array_equal(
        clone.recover(state).proceeds_usd, model.recover(state).proceeds_usd
    )
    assert clone.pools == model.pools and clone.market("B200").pool == "B200"


def test_sale_speed_of_the_recovery_model_is_used() -> None:
    state = _state()
    fast = _recovery(sale_speed="distressed").liquidate(state)
    assert fast.by_pool[0].units_sold.shape[1] == 1
    assert np.all(fast.by_pool[0].window_days[1:, 0] == 7.0)
    assert DAYS_PER_MONTH * 12 == 365.25


def test_mining_rigs_sell_in_their_own_market() -> None:
    from gpucredit.credit.liquidation import (
        ASIC_GENERATION,
        CohortCollateral,
        MarketDefaultState,
        SecondaryMarket,
        SecondaryMarketRecovery,
    )

    assert market_pool(ASIC_GENERATION) == ("ASIC", False)  # not the GPU fallback pool
    model = SecondaryMarketRecovery(
        cohorts=(CohortCollateral(ASIC_GENERATION, 50_000.0, 30.0, 0.03),),
        markets=(SecondaryMarket.for_asic(AS_OF),),
        grid_steps=12,
    )
    state = MarketDefaultState(
        month=np.array([3]),
        ead_usd=np.array([np.inf]),
        pledged_cash_usd=np.zeros(1),
        cohort_value_usd=np.array([[50_000 * 1_500.0]]),
        monthly_discount=np.array([0.003]),
    )
    proceeds = float(model.recover(state).proceeds_usd[0])
    assert 0.0 < proceeds < 50_000 * 1_500.0  # price impact and costs, but a real sale


def test_memoised_recovery_returns_what_pricing_again_would() -> None:
    """Hits, misses, a sale asked twice in one call and a full memo all give the direct result."""
    from gpucredit.credit.liquidation import MarketDefaultState, MemoisedRecovery

    model = SecondaryMarketRecovery.for_cohorts(
        ["H100", "B200"], [1_000.0, 500.0], [250.0, 300.0], [0.02, 0.015], AS_OF, grid_steps=12
    )

    def state(values: list[float]) -> MarketDefaultState:
        v = np.array(values)
        return MarketDefaultState(
            month=np.arange(1, v.size + 1),
            ead_usd=np.full(v.size, 5e7),
            pledged_cash_usd=np.full(v.size, 1e5),
            cohort_value_usd=np.column_stack([v * 1_000.0, v * 400.0]),
            monthly_discount=np.full(v.size, 0.004),
        )

    first, second = state([9e3, 1.5e4, 20.0]), state([9e3, 4e3, 4e3, 1.5e4])
    second = dataclasses.replace(second, month=np.array([1, 2, 2, 2]))  # 9e3 in month 1: a hit
    for memo in (MemoisedRecovery(model), MemoisedRecovery(model, max_entries=0)):
        for s in (first, second, first):
            got, want = memo.recover(s), model.recover(s)
            for name in ("proceeds_usd", "lag_months", "gross_sale_usd", "time_to_recover_months"):
                np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
