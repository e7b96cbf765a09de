"""The bitcoin jump-diffusion fit recovers known parameters; the monthly simulator matches the
closed-form moments of a sum of daily steps."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from gpucredit.factors.bitcoin import (
    JumpDiffusionParams,
    fit_btc_jump_diffusion,
    monthly_log_return_moments,
    simulate_btc,
)

TRUE = JumpDiffusionParams(
    mu=0.001, sigma=0.02, jump_intensity=0.05, jump_mean=-0.03, jump_vol=0.10
)
N_DAYS = 5_000


def _daily_returns(params: JumpDiffusionParams, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = rng.poisson(params.jump_intensity, n)
    return (
        params.mu
        + params.sigma * rng.standard_normal(n)
        + params.jump_mean * k
        + params.jump_vol * np.sqrt(k) * rng.standard_normal(n)
    )


def test_fit_recovers_diffusion_vol_and_jump_intensity() -> None:
    r = _daily_returns(TRUE, N_DAYS, seed=7)
    fit = fit_btc_jump_diffusion(dt.date(2020, 1, 1), returns=r)
    p, se = fit.params, fit.std_errors
    # sigma is pinned by ~4,750 jump-free days: relative SE ~1.5%, so 5% and 4 SE are generous.
    assert abs(p.sigma - TRUE.sigma) < 0.05 * TRUE.sigma
    assert abs(p.sigma - TRUE.sigma) < 4.0 * se.sigma
    # lambda rests on ~250 jumps (Poisson SE ~6%) blurred by the diffusion: 30% and 4 SE.
    assert abs(p.jump_intensity - TRUE.jump_intensity) < 0.30 * TRUE.jump_intensity
    assert abs(p.jump_intensity - TRUE.jump_intensity) < 4.0 * se.jump_intensity
    # jump vol is large against sigma (5x), so it is identified too: 20%.
    assert abs(p.jump_vol - TRUE.jump_vol) < 0.20 * TRUE.jump_vol
    assert fit.at_bound == ()
    assert all(math.isfinite(v) and v > 0 for v in se.to_dict().values())


def _moments_within(x: np.ndarray, mean: float, var: float, k: float = 4.0) -> None:
    n = x.size
    m = float(np.mean(x))
    v = float(np.var(x))
    m4 = float(np.mean((x - m) ** 4))
    assert abs(m - mean) < k * math.sqrt(var / n), (m, mean)
    assert abs(v - var) < k * math.sqrt((m4 - v**2) / n), (v, var)


def test_monthly_aggregation_matches_closed_form() -> None:
    n_paths, days = 200_000, 30.0
    prices = simulate_btc(
        TRUE, n_paths, 3, rng=np.random.default_rng(11), s0=1.0, days_per_month=days
    )
    mean, var = monthly_log_return_moments(TRUE, days)
    # first month from s0, and a later month's increment: each is a sum of 30 daily steps
    _moments_within(np.log(prices[:, 0]), mean, var)
    _moments_within(np.log(prices[:, 2] / prices[:, 1]), mean, var)
    # increments are independent across months
    corr = np.corrcoef(np.log(prices[:, 0]), np.log(prices[:, 1] / prices[:, 0]))[0, 1]
    assert abs(corr) < 4.0 / math.sqrt(n_paths)


def test_simulator_matches_summed_daily_simulation() -> None:
    # the exact monthly law equals summing 30 simulated daily steps (quantiles, 2 SE-ish bands)
    rng = np.random.default_rng(3)
    n = 40_000
    k = rng.poisson(TRUE.jump_intensity, (n, 30))
    daily = (
        TRUE.mu
        + TRUE.sigma * rng.standard_normal((n, 30))
        + TRUE.jump_mean * k
        + TRUE.jump_vol * np.sqrt(k) * rng.standard_normal((n, 30))
    ).sum(axis=1)
    monthly = np.log(
        simulate_btc(TRUE, n, 1, rng=np.random.default_rng(4), s0=1.0, days_per_month=30.0)[:, 0]
    )
    q = [0.01, 0.05, 0.5, 0.95, 0.99]
    assert np.allclose(np.quantile(daily, q), np.quantile(monthly, q), atol=0.01)
