"""The successor-step size is fitted with the trend and the regimes (issue 11 item 4).

The data are simulated by the engine's own rent process (``processes.log_rent_trend`` with
known successor steps and decay, the regime chain ``markov_regimes`` and the OU deviation
``ou_exact``): the joint fit must give back the step and the decay, so one fall is counted
once. It must use nothing dated after ``as_of``, and keep the sourced step when the data span
too few successor ramps.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from gpucredit.factors import default_factor_params, defaults
from gpucredit.factors.calibrate import MIN_SUCCESSOR_RAMPS, fit_regime_chain
from gpucredit.factors.params import TIGHT, RegimeParams, RentParams, SuccessorStep
from gpucredit.factors.processes import (
    DAYS_PER_YEAR,
    log_rent_trend,
    markov_regimes,
    ou_exact,
    regime_levels,
)

START = dt.date(2021, 1, 1)
N_MONTHS = 72  # 2021-01 .. 2026-12: A100's successors H100, H200, B200, GB200, B300 ramp
STEP = 0.25  # log decline per successor ramp
DECAY = 0.05  # continuous log decline a year
GAP = 0.30  # log tight level - glut level
CHAIN = RegimeParams(p_tight_to_glut=0.08, p_glut_to_tight=0.12, initial=TIGHT)


def _months(n: int) -> list[dt.date]:
    return [dt.date(START.year + i // 12, i % 12 + 1, 1) for i in range(n)]


def _simulated_a100(seed: int) -> pd.DataFrame:
    """A monthly A100 on-demand index from the engine's rent process with known steps."""
    months = _months(N_MONTHS)
    successors = tuple(
        SuccessorStep(gen, volume, STEP, defaults.RAMP_MONTHS)
        for gen, volume in (
            ("H100", dt.date(2022, 9, 20)),
            ("H200", dt.date(2024, 5, 15)),
            ("B200", dt.date(2024, 10, 1)),
            ("GB200", dt.date(2024, 10, 1)),
            ("B300", dt.date(2025, 10, 1)),
            ("RUBIN", dt.date(2026, 10, 1)),
        )
    )  # the volume dates of config/presets/generations.yaml, which the fit reads
    rent = RentParams(
        generation="A100",
        anchor_usd_per_gpu_hour=2.0,
        anchor_date=START,
        decay_per_year=DECAY,
        kappa_per_year=12.0,  # deviations halve in about three weeks: near-iid months
        level_tight=GAP / 2.0,
        level_glut=-GAP / 2.0,
        sigma_tight=0.08,
        sigma_glut=0.08,
        successors=successors,
    )
    rng = np.random.default_rng(seed)
    regimes = markov_regimes(CHAIN, rng.random((1, N_MONTHS)))
    mean, sigma = regime_levels(rent, regimes)
    deviation = ou_exact(
        GAP / 2.0, mean, sigma, rent.kappa_per_year, 1.0 / 12.0, rng.standard_normal((1, N_MONTHS))
    )
    # mid-month, as the fit dates an index month
    years = np.array([(m + dt.timedelta(days=14) - START).days / DAYS_PER_YEAR for m in months])
    log_rent = log_rent_trend(rent, START, years, TIGHT) + deviation[0]
    return pd.DataFrame(
        {
            "month": pd.to_datetime(months),
            "generation": "A100",
            "rental_type": "on_demand",
            "usd_per_gpu_hour": np.exp(log_rent),
            "n_obs": 100,
        }
    )


def test_joint_fit_recovers_the_step_and_the_decay() -> None:
    index = _simulated_a100(11)
    fit = fit_regime_chain(index, as_of=_months(N_MONTHS)[-1])
    assert fit.method == "markov_switching" and fit.converged
    assert fit.n_successor_ramps == 5  # H100, H200, B200, GB200, B300 (RUBIN ends after)
    se = fit.std_errors["successor_log_step"]
    assert 0.0 < se < 0.05
    # the estimate is used (t ~ 10) and the decay is net of it: each within 3 s.e. of the truth
    # (72 months, monthly noise ~0.02 around regime means 0.30 apart)
    assert fit.successor_log_step == fit.successor_step_estimate
    assert "calibrated" in fit.source["successor_log_step"]
    assert fit.successor_log_step == pytest.approx(STEP, abs=3.0 * se)
    trend_se = fit.std_errors["trend_per_year"]
    assert -fit.trend_per_year == pytest.approx(DECAY, abs=3.0 * trend_se)
    # the OU moves to a new regime's level over about a month, which the fit's iid noise reads
    # as a smaller gap: attenuated, not absorbed by the step or the trend
    assert 0.5 * GAP < fit.level_tight - fit.level_glut < GAP + 0.05


def test_step_fit_is_point_in_time() -> None:
    """Values appended (or changed) after as_of change nothing in the fit, the step included."""
    index = _simulated_a100(12)
    as_of = dt.date(2025, 6, 30)  # H100, H200, B200 and GB200 ramps spanned
    later = pd.to_datetime(index["month"]) > pd.Timestamp(as_of)
    appended = index.copy()  # the data to as_of with later months appended, changed
    appended.loc[later, "usd_per_gpu_hour"] *= 5.0
    a = fit_regime_chain(index[~later], as_of=as_of)
    assert a.n_successor_ramps >= MIN_SUCCESSOR_RAMPS
    assert np.isfinite(a.successor_step_estimate)
    assert fit_regime_chain(appended, as_of=as_of) == a


def test_too_few_ramps_keep_the_sourced_step() -> None:
    index = _simulated_a100(13)
    as_of = dt.date(2024, 8, 31)  # only H100's ramp is spanned; H200's ends in 2024-11
    fit = fit_regime_chain(index, as_of=as_of)
    assert fit.method == "markov_switching"
    assert fit.n_successor_ramps == 1
    assert fit.successor_log_step == defaults.SUCCESSOR_LOG_STEP
    assert np.isnan(fit.successor_step_estimate)
    assert "fewer than" in fit.source["successor_log_step"]


def test_sourced_parameters_keep_the_sourced_step() -> None:
    """``calibration="sourced"`` runs on ``default_factor_params``: the sourced step."""
    rent = default_factor_params(("H100",), dt.date(2024, 8, 31)).rent("H100")
    assert rent.successors
    assert all(s.log_step == defaults.SUCCESSOR_LOG_STEP for s in rent.successors)
