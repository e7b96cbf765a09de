"""Correlation convergence and the copulas against closed forms, within Monte Carlo error.

Every tolerance is k standard errors of the estimate (k = 4 unless said), computed from the
same sample.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from gpucredit._typing import BoolArray, Float64Array
from gpucredit.factors.miner_params import (
    ConvergenceParams,
    MinerMarketParams,
    credit_btc_params,
)
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.scenarios.miner import MinerMarketPaths, simulate_miner_market
from tests.unit.test_miner_market import AS_OF, gpu_block, hand_convergence, hand_params

K_SE = 4.0


def _params_zero_drift() -> MinerMarketParams:
    p = hand_params()
    return dataclasses.replace(p, btc=credit_btc_params(p.btc, "zero"))


def _barrier_loans(
    conv: ConvergenceParams, n: int, n_months: int, regime: int | None, seed: int = 11
) -> tuple[BoolArray, BoolArray, MinerMarketPaths]:
    """Two single-factor loans: A defaults if BTC ever closes a month below half its spot; B
    if the cumulative GPU rent shock ever falls below -sqrt(n_months)."""
    params, grid = _params_zero_drift(), TimeGrid(AS_OF, n_months)
    scen, normals = gpu_block(seed, 0, n, n_months, regime)
    paths = simulate_miner_market(params, conv, grid, scen, normals, seed, 0, n)
    btc_default = np.min(paths.btc_usd, axis=1) < 0.5 * params.btc_spot_usd
    rent_path = np.cumsum(normals[:, :, 0], axis=1)
    rent_default = np.min(rent_path, axis=1) < -math.sqrt(n_months)
    return btc_default, rent_default, paths


def _covariance_and_se(a: BoolArray, b: BoolArray) -> tuple[float, float]:
    """P(A and B) - P(A) P(B) and its standard error (delta method on the sample
    covariance: the mean of (A - pA)(B - pB))."""
    x = (a - a.mean()) * (b - b.mean())
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


def test_issue_oracle_independent_legs_default_independently_with_convergence_off() -> None:
    # convergence off (a high stress level that must not be used) and zero calm BTC-rent
    # correlation, Gaussian copula, regimes switching at random: the legs are independent
    conv = hand_convergence(stress_correlation=0.9, enabled=False)
    a, b, _ = _barrier_loans(conv, 20_000, 24, regime=None)
    assert 0.1 < a.mean() < 0.9 and 0.1 < b.mean() < 0.9  # both events are common
    cov, se = _covariance_and_se(a, b)
    assert abs(cov) <= K_SE * se
    joint = float(np.mean(a & b))
    assert joint == pytest.approx(a.mean() * b.mean(), abs=K_SE * se)


def test_convergence_in_a_forced_stress_regime_raises_the_joint_default() -> None:
    conv = hand_convergence(stress_correlation=0.6)
    a, b, _ = _barrier_loans(conv, 20_000, 24, regime=1)
    cov, se = _covariance_and_se(a, b)
    assert cov > K_SE * se
    off_a, off_b, _ = _barrier_loans(conv.switched_off(), 20_000, 24, regime=1)
    assert np.mean(a & b) > np.mean(off_a & off_b)
    # switching convergence off changes only the BTC leg; the GPU leg is the same path
    np.testing.assert_array_equal(b, off_b)


@pytest.mark.parametrize("copula", ["gaussian", "student_t"])
def test_btc_monthly_log_return_has_the_exact_jump_diffusion_law(copula: str) -> None:
    # The month's log return given K jumps is N(n mu + K m, n sigma^2 + K v^2) and K is
    # Poisson(lambda n): mean n (mu + lambda m), variance n (sigma^2 + lambda (v^2 + m^2)),
    # whatever the copula (the shock is N(0, 1) either way). August 2026 has 31 days.
    conv = hand_convergence(stress_correlation=0.6, copula=copula)
    params, grid = hand_params(), TimeGrid(AS_OF, 1)  # fitted-style drift: mean -0.062
    scen, normals = gpu_block(14, 0, 40_000, 1, regime=1)
    paths = simulate_miner_market(params, conv, grid, scen, normals, 14, 0, 40_000)
    r = np.log(paths.btc_usd[:, 0] / params.btc_spot_usd)
    mean, var = 31 * params.btc.daily_mean, 31 * params.btc.daily_variance
    assert r.mean() == pytest.approx(mean, abs=K_SE * r.std() / math.sqrt(r.size))
    dev2 = (r - r.mean()) ** 2
    assert dev2.mean() == pytest.approx(var, abs=K_SE * dev2.std() / math.sqrt(r.size))


def test_gaussian_shocks_have_the_regime_correlation_matrix() -> None:
    conv = hand_convergence(stress_correlation=0.6)
    params, grid = hand_params(), TimeGrid(AS_OF, 12)
    for regime in (0, 1):
        scen, normals = gpu_block(12, 0, 5_000, 12, regime)
        paths = simulate_miner_market(params, conv, grid, scen, normals, 12, 0, 5_000)
        x = np.stack(
            [
                paths.shocks.btc.ravel(),
                paths.shocks.hashrate.ravel(),
                normals[:, :, 0].ravel(),
                normals[:, :, 2].ravel(),
            ]
        )
        target = conv.matrix(regime)
        se = (1.0 - target**2) / math.sqrt(x.shape[1])  # sd of a sample correlation
        np.testing.assert_array_less(np.abs(np.corrcoef(x) - target), K_SE * se + 1e-12)


def _stress_shocks(copula: str, n: int = 20_000) -> tuple[Float64Array, Float64Array, float]:
    conv = hand_convergence(stress_correlation=0.6, copula=copula, dof=4.0)
    params, grid = hand_params(), TimeGrid(AS_OF, 12)
    scen, normals = gpu_block(13, 0, n, 12, regime=1)
    paths = simulate_miner_market(params, conv, grid, scen, normals, 13, 0, n)
    return paths.shocks.btc.ravel(), normals[:, :, 0].ravel(), conv.stress_correlation


@pytest.mark.parametrize("copula", ["gaussian", "student_t"])
def test_marginals_stay_standard_normal(copula: str) -> None:
    z_btc, _, _ = _stress_shocks(copula)
    # fixed seed: a deterministic check; 1e-3 is a 3.3-sigma two-sided level
    assert stats.kstest(z_btc, "norm").pvalue > 1e-3
    assert z_btc.mean() == pytest.approx(0.0, abs=K_SE / math.sqrt(z_btc.size))


@pytest.mark.parametrize("copula", ["gaussian", "student_t"])
def test_kendall_tau_of_an_elliptical_copula(copula: str) -> None:
    # Kendall's tau of a Gaussian or t copula with correlation rho: (2 / pi) arcsin(rho)
    # (Lindskog, McNeil and Schmock 2003, "Kendall's tau for elliptical distributions").
    z_btc, g_rent, rho = _stress_shocks(copula, n=2_000)
    tau = stats.kendalltau(z_btc, g_rent).statistic
    # 24,000 pairs: the standard error of tau is below 0.005
    assert tau == pytest.approx(2.0 / math.pi * math.asin(rho), abs=0.02)


def test_joint_lower_tail_is_the_t_copula_and_heavier_than_gaussian() -> None:
    q = 0.02
    results = {}
    for copula in ("gaussian", "student_t"):
        z_btc, g_rent, rho = _stress_shocks(copula)
        u = stats.norm.ppf(q)
        hits = (z_btc < u) & (g_rent < u)
        p = float(hits.mean())
        se = math.sqrt(p * (1.0 - p) / hits.size)
        corr = [[1.0, rho], [rho, 1.0]]
        if copula == "gaussian":
            theory = float(stats.multivariate_normal(mean=[0.0, 0.0], cov=corr).cdf([u, u]))
        else:
            x = stats.t.ppf(q, 4.0)
            dist = stats.multivariate_t(loc=[0.0, 0.0], shape=corr, df=4.0)
            theory = float(dist.cdf([x, x], random_state=0))
        assert p == pytest.approx(theory, abs=K_SE * se), copula
        results[copula] = theory
    # the t copula puts markedly more mass in the joint crash corner
    assert results["student_t"] > 1.5 * results["gaussian"]
