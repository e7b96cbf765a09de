"""Calibration recovers known parameters from data simulated by the model itself."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from gpucredit.factors.calibrate import (
    calibrate_rent,
    calibrate_sofr,
    default_regime_path,
)
from gpucredit.factors.processes import ou_coefficients

AS_OF = dt.date(2026, 7, 31)
START = dt.date(2022, 4, 1)
TRUE = {
    "decay_per_year": 0.15,
    "kappa_per_year": 2.0,
    "level_gap": 0.40,
    "sigma_tight": 0.25,
    "sigma_glut": 0.45,
    "tau": 0.03,
}
N_GEN = 16


def _months() -> list[dt.date]:
    return list(default_regime_path(START, AS_OF))


def _simulate_rent(seed: int) -> pd.DataFrame:
    """Rent index of N_GEN synthetic generations (no successor preset) on a real-like grid:
    a handful of sparse, thinly observed months 2022-2025, then every month from 2025-10."""
    rng = np.random.default_rng(seed)
    months = _months()
    path = default_regime_path(START, AS_OF)
    a, one_minus_a, scale = ou_coefficients(TRUE["kappa_per_year"], 1.0 / 12.0)
    rows = []
    for g in range(N_GEN):
        regime = np.array([path[m] for m in months])
        mean = np.where(regime == 1, -TRUE["level_gap"] / 2, TRUE["level_gap"] / 2)
        sigma = np.where(regime == 1, TRUE["sigma_glut"], TRUE["sigma_tight"])
        y = mean[0] + sigma[0] / math.sqrt(2 * TRUE["kappa_per_year"]) * rng.standard_normal()
        log_trend_as_of = math.log(2.0 + g * 0.25)
        for t, m in enumerate(months):
            if t > 0:
                y = a * y + (one_minus_a * mean[t] + scale * sigma[t] * rng.standard_normal())
            dense = m >= dt.date(2025, 10, 1)
            if not dense and rng.uniform() > 0.3:  # ~30% of early months observed
                continue
            n_obs = int(rng.integers(200, 1000)) if dense else int(rng.integers(1, 8))
            sd = TRUE["tau"] * math.sqrt(5 / min(n_obs, 5))
            years = ((m + dt.timedelta(days=14)) - AS_OF).days / 365.25
            log_p = log_trend_as_of - TRUE["decay_per_year"] * years + y
            log_p += sd * rng.standard_normal()
            rows.append(
                {
                    "month": pd.Timestamp(m),
                    "generation": f"SIM{g:02d}",
                    "rental_type": "on_demand",
                    "usd_per_gpu_hour": math.exp(log_p),
                    "n_obs": n_obs,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def rent_fit():  # type: ignore[no-untyped-def]
    data = _simulate_rent(seed=20260731)
    return calibrate_rent(data, as_of=AS_OF, regime_path=default_regime_path(START, AS_OF))


def _within(est: float, true: float, se: float, k: float = 3.0) -> bool:
    return math.isfinite(se) and abs(est - true) <= k * se


def test_rent_fit_converges_off_bounds(rent_fit) -> None:  # type: ignore[no-untyped-def]
    # The truth is well inside the bounds, so the optimum should be too (valid Hessian SEs).
    assert rent_fit.converged
    assert rent_fit.at_bound == ()


@pytest.mark.parametrize(
    ("name", "true", "max_se"),
    [
        # Each within 3 standard errors (a 0.3% two-sided miss under asymptotic normality),
        # and the standard error itself small enough that the check is not vacuous.
        ("decay_per_year", TRUE["decay_per_year"], 0.10),
        ("kappa_per_year", TRUE["kappa_per_year"], 1.5),
        ("sigma_tight", TRUE["sigma_tight"], 0.08),
        ("sigma_glut", TRUE["sigma_glut"], 0.10),
        ("level_tight", TRUE["level_gap"] / 2, 0.10),
        ("level_glut", -TRUE["level_gap"] / 2, 0.10),
        ("obs_noise", TRUE["tau"], 0.02),
    ],
)
def test_rent_parameters_recovered(rent_fit, name: str, true: float, max_se: float) -> None:  # type: ignore[no-untyped-def]
    est, se = getattr(rent_fit, name), rent_fit.std_errors[name]
    assert se < max_se, f"{name}: standard error {se} too large to test"
    assert _within(est, true, se), f"{name}: {est} vs {true} (se {se})"


def test_rent_trend_levels_recovered(rent_fit) -> None:  # type: ignore[no-untyped-def]
    # 16 log trend levels at as_of tested at once: each within 4 standard errors (a family-wise
    # miss rate ~0.1% under normality), and their standardised errors centred on 0.
    errors = []
    for g in range(N_GEN):
        name = f"SIM{g:02d}"
        est = math.log(rent_fit.trend_usd_per_gpu_hour[name])
        se = rent_fit.std_errors[f"trend.{name}"]
        assert _within(est, math.log(2.0 + g * 0.25), se, k=4.0)
        errors.append((est - math.log(2.0 + g * 0.25)) / se)
    assert abs(float(np.mean(errors))) < 3.0 / math.sqrt(N_GEN)


def test_rent_residuals_standard_normal(rent_fit) -> None:  # type: ignore[no-untyped-def]
    # Innovations of the true model are N(0, 1): their sd is 1 within sampling error.
    z = np.asarray(rent_fit.residuals)
    assert abs(float(np.std(z)) - 1.0) < 4.0 / math.sqrt(2 * z.size)


def _simulate_sofr(seed: int, mu: float, kappa: float, sigma: float) -> pd.DataFrame:
    """Daily-constant SOFR (percent) from an exact monthly Vasicek path, 2018-04 to 2026-07."""
    rng = np.random.default_rng(seed)
    a, one_minus_a, scale = ou_coefficients(kappa, 1.0 / 12.0)
    x = 0.02
    rows = []
    for m in default_regime_path(dt.date(2001, 1, 1), AS_OF):
        x = a * x + (one_minus_a * mu + scale * sigma * rng.standard_normal())
        rows.append({"date": pd.Timestamp(m), "SOFR": 100.0 * x})
    return pd.DataFrame(rows)


def test_sofr_kappa_sigma_recovered() -> None:
    # 307 months: kappa and sigma within 3 standard errors; a long, mean-reverting path
    # identifies the long-run mean too, so the estimate is used.
    mu, kappa, sigma = 0.03, 0.5, 0.01
    fit = calibrate_sofr(_simulate_sofr(7, mu, kappa, sigma), as_of=AS_OF)
    assert _within(fit.kappa_per_year, kappa, fit.std_errors["kappa_per_year"])
    assert _within(fit.sigma, sigma, fit.std_errors["sigma"])
    assert fit.std_errors["sigma"] < 0.002
    assert _within(fit.long_run_estimate, mu, fit.std_errors["long_run_estimate"])
    assert fit.long_run_source == "estimate"
