"""The Markov-switching regime fit recovers known parameters; the start regime is point in time."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from gpucredit.factors.calibrate import (
    calibrate_factors,
    centred_levels,
    fit_regime_chain,
    shipped_rent_index,
)
from gpucredit.factors.params import GLUT, TIGHT

START = dt.date(2010, 1, 1)
N_MONTHS = 240
TRUE = {
    "p_tight_to_glut": 0.06,
    "p_glut_to_tight": 0.10,
    "gap": 0.40,  # log tight - glut
    "trend_per_year": -0.15,
    "sigma": 0.05,
}


def _months(n: int) -> list[dt.date]:
    return [
        dt.date(START.year + (START.month - 1 + i) // 12, (START.month - 1 + i) % 12 + 1, 1)
        for i in range(n)
    ]


def _simulated_index(
    seed: int, *, end_in: int | None = None, n: int = N_MONTHS
) -> tuple[pd.DataFrame, np.ndarray]:
    """A one-generation on-demand index whose log follows the fitted model exactly."""
    rng = np.random.default_rng(seed)
    states = np.empty(n, dtype=int)
    s = TIGHT
    for t in range(n):
        p = TRUE["p_tight_to_glut"] if s == TIGHT else TRUE["p_glut_to_tight"]
        if rng.random() < p:
            s = 1 - s
        states[t] = s
    if end_in is not None:
        states[-12:] = end_in  # the data end in a long spell of this regime
    level = np.where(states == TIGHT, TRUE["gap"] / 2, -TRUE["gap"] / 2)
    years = np.arange(n) / 12.0
    log_rent = 1.0 + TRUE["trend_per_year"] * years + level
    log_rent += TRUE["sigma"] * rng.standard_normal(n)
    frame = pd.DataFrame(
        {
            "month": pd.to_datetime(_months(n)),
            "generation": "TEST",  # no successor steps: the trend is the fitted slope alone
            "rental_type": "on_demand",
            "usd_per_gpu_hour": np.exp(log_rent),
            "n_obs": 100,
        }
    )
    return frame, states


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fit_recovers_known_parameters(seed: int) -> None:
    index, states = _simulated_index(seed)
    months = _months(N_MONTHS)
    fit = fit_regime_chain(index, as_of=months[-1])
    assert fit.method == "markov_switching" and fit.converged
    # 240 months hold ~20 switches: a probability's sampling s.e. is ~0.02-0.03; 3 s.e.
    # (and the fit's own s.e.) bound the error
    for name in ("p_tight_to_glut", "p_glut_to_tight"):
        se = fit.std_errors[name]
        assert math.isfinite(se) and se > 0
        assert abs(getattr(fit, name) - TRUE[name]) < 3.5 * se + 0.02, (name, fit)
    # well-separated regimes (gap = 8 sigma): the level gap and slope are tight
    assert fit.level_tight - fit.level_glut == pytest.approx(TRUE["gap"], abs=0.03)
    assert fit.trend_per_year == pytest.approx(TRUE["trend_per_year"], abs=0.01)
    assert fit.sigma == pytest.approx(TRUE["sigma"], rel=0.15)  # 240 residuals: s.e. ~5%
    # the smoothed path classifies almost every month right
    path = fit.regime_path()
    agree = np.mean([path[m] == s for m, s in zip(months, states, strict=True)])
    assert agree > 0.95


def test_levels_average_to_zero_over_the_chain() -> None:
    index, _ = _simulated_index(4)
    fit = fit_regime_chain(index, as_of=_months(N_MONTHS)[-1])
    pi_glut = fit.p_tight_to_glut / (fit.p_tight_to_glut + fit.p_glut_to_tight)
    mean = (1.0 - pi_glut) * fit.level_tight + pi_glut * fit.level_glut
    assert abs(mean) < 1e-12  # rounding only
    tight, glut = centred_levels(0.5, 0.1, 0.3)
    assert tight - glut == pytest.approx(0.5, abs=1e-15)
    assert 0.75 * tight + 0.25 * glut == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("end_in", [GLUT, TIGHT])
def test_start_regime_follows_the_data(end_in: int) -> None:
    index, _ = _simulated_index(5, end_in=end_in)
    fit = fit_regime_chain(index, as_of=_months(N_MONTHS)[-1])
    assert fit.initial == end_in
    assert (fit.p_glut_at_as_of > 0.5) == (end_in == GLUT)


def test_start_regime_flips_when_the_data_end_in_a_glut() -> None:
    """The same history, cut where the market has just turned: the regime at as_of flips."""
    index, states = _simulated_index(6)
    months = _months(N_MONTHS)
    turns = [t for t in range(24, N_MONTHS - 6) if states[t - 1] == TIGHT and states[t] == GLUT]
    # the first turn into a glut that lasts six months
    t = next(t for t in turns if all(states[t : t + 6] == GLUT))
    before = fit_regime_chain(index, as_of=months[t - 2])
    after = fit_regime_chain(index, as_of=months[t + 5])
    assert before.initial == TIGHT
    assert after.initial == GLUT


def test_point_in_time_no_data_after_as_of() -> None:
    """Changing every index value after as_of changes nothing in the fit."""
    index, _ = _simulated_index(7)
    months = _months(N_MONTHS)
    as_of = months[150]
    later = pd.to_datetime(index["month"]) > pd.Timestamp(as_of)
    shocked = index.copy()
    shocked.loc[later, "usd_per_gpu_hour"] *= 5.0
    a = fit_regime_chain(index, as_of=as_of)
    b = fit_regime_chain(shocked, as_of=as_of)
    assert a == b
    assert a.months[-1] == as_of.isoformat()


def test_too_short_keeps_the_prior() -> None:
    index, _ = _simulated_index(8, n=12)
    fit = fit_regime_chain(index, as_of=_months(12)[-1])
    assert fit.method == "prior"
    assert fit.initial == TIGHT
    assert "prior" in fit.source["p_tight_to_glut"]


def test_shipped_calibration_uses_the_fit() -> None:
    as_of = dt.date(2026, 3, 31)
    cal = calibrate_factors(as_of, rent_index=shipped_rent_index(as_of))
    assert cal.regime.method == "markov_switching"
    assert cal.regime.months[-1] <= as_of.isoformat()
    params = cal.to_params(("H100",), as_of)
    assert params.regime.initial == cal.regime.initial
    assert "filtered P(glut" in params.sources["calibration.regime.initial"]
    # the rent fit takes the fit's regime path, not the hand-set narrative
    fitted = {m.isoformat(): s for m, s in cal.regime.regime_path().items()}
    assert cal.rent is not None
    assert all(fitted.get(m, TIGHT) == s for m, s in cal.rent.regime_path)
