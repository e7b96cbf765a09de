"""Miner-market parameters, dependence parameters and paths: contracts, shapes, units."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from gpucredit._typing import Float64Array, Int8Array
from gpucredit.errors import DataError
from gpucredit.factors.bitcoin import (
    BtcFit,
    HashpriceParams,
    HashrateFit,
    HashrateParams,
    JumpDiffusionParams,
    fit_hashrate,
)
from gpucredit.factors.miner_params import (
    DEFAULT_STRESS_CORRELATION,
    ConvergenceParams,
    FeeParams,
    MinerMarketParams,
    _fits,
    calm_correlations_from_data,
    convergence_params,
    credit_btc_params,
    fit_fees,
    miner_market_params,
)
from gpucredit.factors.params import CorrelationParams
from gpucredit.market.files import data_path
from gpucredit.market.history import sofr_on
from gpucredit.random import Component, draw_paths
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.scenarios.miner import (
    TH_S_PER_EH_S,
    _fee_kernel,
    _mix_kernel,
    deterministic_miner_market,
    draw_miner_shocks,
    freeze_gpu_normals,
    simulate_miner_market,
)
from gpucredit.scenarios.scenario import ScenarioSet

AS_OF = dt.date(2026, 7, 31)  # last day of the shipped rates file (the engine's "today")


def hand_params(as_of: dt.date = AS_OF) -> MinerMarketParams:
    """Round-number parameters (no data): the next halving 10,000 blocks after ``as_of``."""
    btc = JumpDiffusionParams(
        mu=0.0, sigma=0.03, jump_intensity=0.1, jump_mean=-0.02, jump_vol=0.05
    )
    return MinerMarketParams(
        as_of=as_of,
        btc=btc,
        btc_fitted=btc,
        btc_drift="fitted",
        btc_spot_usd=100_000.0,
        btc_spot_date=as_of,
        hashrate=HashrateParams(drift=0.02, vol=0.05),
        hashrate_h0_th_s=1.0e9,
        hashrate_h0_month=dt.date(as_of.year, as_of.month, 1),
        fees=FeeParams(
            log_level=math.log(0.05),
            phi=0.8,
            sigma=0.3,
            last_btc_per_block=0.02,
            last_month=dt.date(as_of.year, as_of.month, 1),
            n_obs=48,
        ),
        hashprice=HashpriceParams(
            as_of=as_of,
            height_as_of=1_040_000.0,
            blocks_per_day=144.0,
            next_halving_date=as_of + dt.timedelta(days=69),
            fee_share=0.01,
        ),
    )


def hand_convergence(**changes: object) -> ConvergenceParams:
    base = ConvergenceParams(
        btc_hashrate=0.2, btc_rent=0.0, btc_sofr=-0.1, hashrate_rent=0.0, hashrate_sofr=0.0
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def gpu_block(
    seed: int, start: int, stop: int, n_months: int, regime: int | None = None
) -> tuple[ScenarioSet, Float64Array]:
    """A one-generation GPU block: raw normals (rent, utilisation, SOFR) and a regime path
    (forced, or each month stress with probability 1/2)."""
    normals = draw_paths(
        seed,
        Component.FACTOR_NORMALS,
        start,
        stop,
        lambda rng, k: rng.standard_normal((k, n_months, 3)),
    )
    n = stop - start
    if regime is None:
        u = draw_paths(
            seed, Component.REGIME_UNIFORMS, start, stop, lambda rng, k: rng.random((k, n_months))
        )
        reg: Int8Array = (u < 0.5).astype(np.int8)
    else:
        reg = np.full((n, n_months), regime, dtype=np.int8)
    ones = np.ones((n, n_months))
    scen = ScenarioSet(("H100",), reg, ones[:, :, None], ones, 0.03 * ones, np.ones((n, 0)))
    return scen, normals


@pytest.fixture(scope="module")
def shipped() -> MinerMarketParams:
    return miner_market_params(AS_OF)


@pytest.fixture(scope="module")
def fits(shipped: MinerMarketParams) -> tuple[BtcFit, HashrateFit]:
    # the fits behind `shipped` (miner_market_params caches them per date: one 5 s fit); the
    # same public functions a user calls
    return _fits(AS_OF)


# --- parameters from the shipped data --------------------------------------------------------


def test_shipped_params_use_a_zero_log_drift_and_the_fitted_tails(
    shipped: MinerMarketParams, fits: tuple[BtcFit, HashrateFit]
) -> None:
    fit = fits[0]
    assert shipped.btc_drift == "zero"
    assert shipped.btc.daily_mean == pytest.approx(0.0, abs=1e-15)
    assert shipped.btc_fitted == fit.params
    for name in ("sigma", "jump_intensity", "jump_mean", "jump_vol"):
        assert getattr(shipped.btc, name) == getattr(fit.params, name)
    # spot: the last Coin Metrics price on or before as_of (the file ends on 2026-06-01)
    daily = pd.read_csv(data_path("btc_daily.csv"), parse_dates=["date"])
    last = daily[daily["PriceUSD"].notna() & (daily["date"] <= pd.Timestamp(AS_OF))].iloc[-1]
    assert shipped.btc_spot_usd == float(last["PriceUSD"])
    assert shipped.btc_spot_date == last["date"].date()
    assert shipped.hashprice.as_of == AS_OF
    assert shipped.hashprice.next_halving_date.year == 2028  # block 1,050,000
    assert shipped.hashrate == fit_hashrate(AS_OF).params  # cheap: refit independently
    assert fit.end == shipped.btc_spot_date  # the price window ends at the last price
    assert set(shipped.sources) >= {"btc.drift", "btc.spot", "hashrate", "fees", "hashprice"}


def test_risk_neutral_drift_makes_the_discounted_price_a_martingale() -> None:
    fitted = JumpDiffusionParams(0.001, 0.012, 0.75, 0.0001, 0.034)
    rate = sofr_on(AS_OF).value
    p = credit_btc_params(fitted, "risk_neutral", rate=rate)
    # E[exp(r_day)] of the Merton day: exp(mu + sigma^2/2 + lambda (exp(m + v^2/2) - 1))
    log_mgf = (
        p.mu
        + 0.5 * p.sigma**2
        + p.jump_intensity * (math.exp(p.jump_mean + 0.5 * p.jump_vol**2) - 1.0)
    )
    assert log_mgf == pytest.approx(rate / 365.0, abs=1e-15)
    assert credit_btc_params(fitted, "fitted") == fitted
    with pytest.raises(ValueError, match="btc_drift"):
        credit_btc_params(fitted, "bullish")  # type: ignore[arg-type]


def test_params_from_a_stored_calibration(
    shipped: MinerMarketParams, fits: tuple[BtcFit, HashrateFit]
) -> None:
    stored = {"bitcoin": {"price": fits[0].to_dict(), "hashrate": fits[1].to_dict()}}
    from_store = miner_market_params(AS_OF, stored)
    assert from_store.btc == shipped.btc
    assert from_store.hashrate == shipped.hashrate
    assert from_store.hashrate_h0_th_s == shipped.hashrate_h0_th_s
    with pytest.raises(DataError, match="bitcoin"):
        miner_market_params(AS_OF, {"as_of": "2026-07-31"})


def test_fee_fit_starts_from_the_last_complete_month_with_block_counts() -> None:
    fees = fit_fees(AS_OF)
    # BlkCnt ends on 2026-03-22 (data/README.md: copy B has no block counts): February is the
    # last complete month; its fees per block are sum(FeeTotNtv) / sum(BlkCnt).
    assert fees.last_month == dt.date(2026, 2, 1)
    daily = pd.read_csv(data_path("btc_daily.csv"), parse_dates=["date"])
    feb = daily[(daily["date"] >= "2026-02-01") & (daily["date"] <= "2026-02-28")]
    assert fees.last_btc_per_block == pytest.approx(feb["FeeTotNtv"].sum() / feb["BlkCnt"].sum())
    assert 0.0 <= fees.phi <= 0.99
    assert fees.n_obs >= 40  # about four years of months
    with pytest.raises(DataError, match="months of fees"):
        fit_fees(dt.date(2009, 6, 1))


def test_calm_correlations_are_the_sample_correlations_of_monthly_moves() -> None:
    est = calm_correlations_from_data(AS_OF)
    # independent recomputation of BTC vs SOFR (month-end log return, monthly mean change)
    daily = pd.read_csv(data_path("btc_daily.csv"), parse_dates=["date"]).set_index("date")
    rates = pd.read_csv(data_path("rates_daily.csv"), parse_dates=["date"]).set_index("date")
    btc = np.log(daily["PriceUSD"].dropna().resample("ME").last()).diff()
    sofr = rates["SOFR"].dropna().resample("ME").mean().diff()
    # complete months: the price file ends on 2026-06-01, so May 2026 is the last BTC month
    frame = pd.DataFrame({"btc": btc, "sofr": sofr}).loc["2018-08":"2026-05"].dropna()
    value, n = est["btc_sofr"]
    assert n == len(frame)
    assert value == pytest.approx(float(frame.corr().iloc[0, 1]), abs=1e-12)
    assert 0.0 < est["btc_hashrate"][0] < 0.5  # price leads hash rate; same-month link small


# --- dependence parameters -------------------------------------------------------------------


def test_default_convergence_matrices() -> None:
    conv = convergence_params(AS_OF)
    calm, stress = conv.matrix(0), conv.matrix(1)
    assert calm[0, 2] == 0.0
    assert stress[0, 2] == DEFAULT_STRESS_CORRELATION
    np.testing.assert_array_equal(
        np.delete(calm.ravel(), [2, 8]), np.delete(stress.ravel(), [2, 8])
    )
    off = conv.switched_off()
    np.testing.assert_array_equal(off.matrix(1), off.matrix(0))
    assert conv.copula == "gaussian"
    assert "IMF" in conv.sources["stress_correlation"]
    for regime in (0, 1):
        np.testing.assert_allclose(np.diag(conv.matrix(regime)), 1.0)
        np.testing.assert_array_equal(conv.matrix(regime), conv.matrix(regime).T)


def test_convergence_params_are_validated() -> None:
    with pytest.raises(ValueError, match="not positive definite"):
        hand_convergence(btc_hashrate=0.9, hashrate_rent=-0.9, stress_correlation=0.9)
    with pytest.raises(ValueError, match="converge towards one"):
        hand_convergence(btc_rent=0.3, stress_correlation=0.2)
    with pytest.raises(ValueError, match="btc_sofr"):
        hand_convergence(btc_sofr=1.0)
    with pytest.raises(ValueError, match="copula"):
        hand_convergence(copula="clayton")
    with pytest.raises(ValueError, match="dof"):
        hand_convergence(copula="student_t", dof=0.0)
    with pytest.raises(ValueError, match="regime"):
        hand_convergence().matrix(2)


# --- paths -----------------------------------------------------------------------------------


def test_paths_shapes_units_and_the_hashprice_identity() -> None:
    params, grid = hand_params(), TimeGrid(AS_OF, 12)
    scen, normals = gpu_block(1, 0, 50, 12)
    paths = simulate_miner_market(params, hand_convergence(), grid, scen, normals, 1, 0, 50)
    for arr in (paths.btc_usd, paths.hashrate_eh_s, paths.fees_btc_per_block):
        assert arr.shape == (50, 12)
        assert np.all(np.isfinite(arr)) and np.all(arr > 0.0)
    # halving 10,000 blocks (69.4 days at 144 a day) after as_of: in the third month
    np.testing.assert_array_equal(paths.subsidy_btc[:3], [3.125, 3.125, 1.5625])
    assert paths.month_ends[0] == dt.date(2026, 8, 31)
    expected = (
        paths.btc_usd
        * (paths.subsidy_btc[None, :] + paths.fees_btc_per_block)
        * 144.0
        / (paths.hashrate_eh_s * TH_S_PER_EH_S)
        * 1000.0
    )
    np.testing.assert_allclose(paths.hashprice_usd_per_ph_day, expected, rtol=1e-12)
    assert np.all((paths.fee_share > 0.0) & (paths.fee_share < 1.0))


def test_deterministic_path() -> None:
    params, grid = hand_params(), TimeGrid(AS_OF, 6)
    det = deterministic_miner_market(params, grid, n_paths=2)
    # log price moves by days x (mu + lambda m) a month
    days = np.array([31, 30, 31, 30, 31, 31], dtype=float)  # Aug 2026 .. Jan 2027
    expected = 100_000.0 * np.exp(np.cumsum(days * params.btc.daily_mean))
    np.testing.assert_allclose(det.btc_usd[0], expected, rtol=1e-12)
    # hash rate: the fit's last month is July, so August is one step of the drift
    np.testing.assert_allclose(det.hashrate_eh_s[0], 1000.0 * np.exp(0.02 * np.arange(1, 7)))
    # fees revert from 0.02 to 0.05 BTC at phi = 0.8 a month
    x = math.log(0.02 / 0.05) * 0.8 ** np.arange(1, 7)
    np.testing.assert_allclose(det.fees_btc_per_block[1], 0.05 * np.exp(x), rtol=1e-12)
    assert deterministic_miner_market(params, grid).btc_usd.shape == (1, 6)


def test_zero_drift_keeps_the_deterministic_price_flat(shipped: MinerMarketParams) -> None:
    det = deterministic_miner_market(shipped, TimeGrid(AS_OF, 24))
    np.testing.assert_allclose(det.btc_usd, shipped.btc_spot_usd, rtol=1e-12)


def test_freezing_a_group_sets_its_median_path_and_leaves_the_others() -> None:
    params, grid = hand_params(), TimeGrid(AS_OF, 12)
    scen, normals = gpu_block(2, 0, 40, 12, regime=1)
    conv = hand_convergence(stress_correlation=0.8)
    live = simulate_miner_market(params, conv, grid, scen, normals, 2, 0, 40)
    det = deterministic_miner_market(params, grid, n_paths=40)
    btc_frozen = simulate_miner_market(
        params, conv, grid, scen, normals, 2, 0, 40, frozen={"bitcoin"}
    )
    np.testing.assert_array_equal(btc_frozen.btc_usd, det.btc_usd)
    np.testing.assert_array_equal(btc_frozen.hashrate_eh_s, live.hashrate_eh_s)
    net_frozen = simulate_miner_market(
        params, conv, grid, scen, normals, 2, 0, 40, frozen=("network",)
    )
    np.testing.assert_array_equal(net_frozen.btc_usd, live.btc_usd)
    np.testing.assert_array_equal(net_frozen.hashrate_eh_s, det.hashrate_eh_s)
    np.testing.assert_array_equal(net_frozen.fees_btc_per_block, det.fees_btc_per_block)
    # the GPU groups are frozen on the GPU normals, not here: the miner paths do not change
    gpu_frozen = simulate_miner_market(
        params, conv, grid, scen, normals, 2, 0, 40, frozen=("gpu_rent", "rates")
    )
    np.testing.assert_array_equal(gpu_frozen.btc_usd, live.btc_usd)
    with pytest.raises(ValueError, match="unknown factor group"):
        simulate_miner_market(params, conv, grid, scen, normals, 2, 0, 40, frozen=("btc",))


def test_freeze_gpu_normals_zeroes_rent_utilisation_and_rates_columns() -> None:
    normals = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4) + 1.0  # 2 generations
    rent = freeze_gpu_normals(normals, ["gpu_rent"], 2)
    assert np.all(rent[:, :, :3] == 0.0) and np.all(rent[:, :, 3] == normals[:, :, 3])
    rates = freeze_gpu_normals(normals, ["rates", "bitcoin"], 2)
    assert np.all(rates[:, :, 3] == 0.0) and np.all(rates[:, :, :3] == normals[:, :, :3])
    assert np.all(normals > 0.0)  # input untouched
    with pytest.raises(ValueError, match="shape"):
        freeze_gpu_normals(normals, ["rates"], 3)


def test_sofr_shock_needs_the_gpu_correlation_when_rates_correlate_with_rents() -> None:
    params, grid = hand_params(), TimeGrid(AS_OF, 4)
    conv = hand_convergence(rent_sofr=(0.3, 0.3), btc_sofr=0.0)
    scen, normals = gpu_block(3, 0, 4000, 4, regime=0)
    with pytest.raises(ValueError, match="gpu_correlation"):
        draw_miner_shocks(params, conv, grid, scen.regime, normals, 3, 0, 4000)
    wrong = CorrelationParams((0.7, 0.9), (0.3, 0.6), (0.0, 0.0), (0.0, 0.0))
    with pytest.raises(ValueError, match="differs"):
        draw_miner_shocks(
            params, conv, grid, scen.regime, normals, 3, 0, 4000, gpu_correlation=wrong
        )
    gpu = CorrelationParams((0.7, 0.9), (0.3, 0.6), (0.3, 0.3), (0.0, 0.0))
    conv = hand_convergence(rent_sofr=(0.3, 0.3), btc_sofr=-0.4)
    shocks = draw_miner_shocks(
        params, conv, grid, scen.regime, normals, 3, 0, 4000, gpu_correlation=gpu
    )
    sofr = normals @ gpu.cholesky(1, 0)[-1]
    # 16,000 draws: the standard error of a correlation near -0.4 is about 0.007
    assert np.corrcoef(shocks.btc.ravel(), sofr.ravel())[0, 1] == pytest.approx(-0.4, abs=0.03)


def test_shape_errors() -> None:
    params, grid = hand_params(), TimeGrid(AS_OF, 4)
    scen, normals = gpu_block(4, 0, 10, 4)
    with pytest.raises(ValueError, match="paths"):
        simulate_miner_market(params, hand_convergence(), grid, scen, normals, 4, 0, 11)
    with pytest.raises(ValueError, match="gpu_normals"):
        draw_miner_shocks(params, hand_convergence(), grid, scen.regime, normals[:, :3], 4, 0, 10)
    with pytest.raises(ValueError, match="as_of"):
        simulate_miner_market(
            params, hand_convergence(), TimeGrid(dt.date(2026, 6, 30), 4), scen, normals, 4, 0, 10
        )


def test_compiled_regime_mix_and_fee_recursion_equal_numpy() -> None:
    """The kernels against the NumPy expressions they replace, bit for bit."""
    rng = np.random.default_rng(12)
    shape = (50, 30)
    stress = rng.random(shape) < 0.4
    rent, sofr, e_btc, e_hash = (rng.normal(size=shape) for _ in range(4))
    coefficients = rng.normal(size=(2, 7))
    z_btc, z_hash = np.empty(shape), np.empty(shape)
    _mix_kernel(stress, rent, sofr, e_btc, e_hash, coefficients, z_btc, z_hash)
    by_regime = [
        (
            c[0] * rent + c[1] * sofr + c[2] * e_btc,
            c[3] * rent + c[4] * sofr + c[5] * e_btc + c[6] * e_hash,
        )
        for c in coefficients
    ]
    assert np.array_equal(z_btc, np.where(stress, by_regime[1][0], by_regime[0][0]))
    assert np.array_equal(z_hash, np.where(stress, by_regime[1][1], by_regime[0][1]))

    phi, sigma, level, x0 = 0.9, 0.3, -1.2, 0.7
    log_fees = np.empty(shape)
    _fee_kernel(e_btc, x0, phi, sigma, level, log_fees)
    state = np.full(shape[0], x0)
    for t in range(shape[1]):
        state = phi * state + sigma * e_btc[:, t]
        assert np.array_equal(log_fees[:, t], level + state)
