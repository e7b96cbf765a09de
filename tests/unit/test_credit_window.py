"""The credit market's refinancing window: data, counted MLE, simulation, refinancing."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.debt.structure import _refinancing_ok
from gpucredit.factors.credit_window import (
    SHUT_QUANTILE,
    calibrate_credit_window,
    count_switches,
    credit_window_paths,
    credit_window_paths_reference,
    hy_oas_monthly,
    window_states,
)
from gpucredit.factors.defaults import default_factor_params
from gpucredit.factors.params import GLUT, OPEN, SHUT, TIGHT, CreditWindowParams, RegimeParams
from gpucredit.scenarios.shocks import MonteCarloShocks


def test_shipped_series_matches_the_published_extremes() -> None:
    oas = hy_oas_monthly()
    daily_max_month = oas.loc[oas["hy_oas_pct"].idxmax(), "month"]
    # REFERENCES.md: record 21.82% (Dec 2008), low 2.41% (June 2007), daily values; the
    # monthly means peak in the same month and bottom near the same time
    assert daily_max_month == pd.Timestamp("2008-12-01")
    assert 19.0 < oas["hy_oas_pct"].max() < 21.82
    assert 2.41 < oas["hy_oas_pct"].min() < 2.7  # monthly means sit above the daily low
    june_2007 = oas.loc[oas["month"] == pd.Timestamp("2007-06-01"), "hy_oas_pct"].item()
    assert june_2007 < 2.7
    assert oas["month"].is_monotonic_increasing and oas["month"].is_unique
    months = pd.date_range(oas["month"].iloc[0], oas["month"].iloc[-1], freq="MS")
    assert len(months) == len(oas)  # no gap


def test_mle_equals_the_counted_frequencies() -> None:
    """The calibrated probabilities are the switch counts over the months at risk."""
    as_of = dt.date(2026, 7, 31)
    cal = calibrate_credit_window(as_of)
    oas = hy_oas_monthly()
    spreads = oas["hy_oas_pct"].to_numpy()
    threshold = float(np.quantile(spreads, SHUT_QUANTILE))
    assert cal.threshold_pct == threshold
    states = (spreads > threshold).astype(int)
    n_open = int(np.sum(states[:-1] == OPEN))
    k_open = int(np.sum((states[:-1] == OPEN) & (states[1:] == SHUT)))
    n_shut = int(np.sum(states[:-1] == SHUT))
    k_shut = int(np.sum((states[:-1] == SHUT) & (states[1:] == OPEN)))
    assert cal.p_open_to_shut == k_open / n_open
    assert cal.p_shut_to_open == k_shut / n_shut
    assert cal.std_errors["p_open_to_shut"] == math.sqrt(
        cal.p_open_to_shut * (1 - cal.p_open_to_shut) / n_open
    )

    # and they maximise the chain's log-likelihood: a small move either way lowers it
    def loglik(p: float, k: int, n: int) -> float:
        return k * math.log(p) + (n - k) * math.log(1.0 - p)

    for p, k, n in ((cal.p_open_to_shut, k_open, n_open), (cal.p_shut_to_open, k_shut, n_shut)):
        assert loglik(p, k, n) > max(loglik(p * 0.99, k, n), loglik(p * 1.01, k, n))
    assert cal.initial == states[-1] == OPEN  # July 2026: 2.7%


def test_count_switches_small_example() -> None:
    at_risk, switches = count_switches(np.array([0, 0, 1, 1, 1, 0, 0, 1]))
    assert at_risk == {"p_open_to_shut": 4, "p_shut_to_open": 3}
    assert switches == {"p_open_to_shut": 2, "p_shut_to_open": 1}
    assert list(window_states(np.array([5.0, 7.0, 6.0]), 6.0)) == [0, 1, 0]


def test_point_in_time() -> None:
    """A month enters only once it has ended; later spreads change nothing."""
    as_of = dt.date(2008, 12, 15)  # December 2008 has not ended
    cal = calibrate_credit_window(as_of)
    assert cal.last_month == "2008-11-01"
    oas = hy_oas_monthly().copy()
    oas.loc[oas["month"] > pd.Timestamp(as_of), "hy_oas_pct"] = 50.0
    assert calibrate_credit_window(as_of, oas=oas) == cal
    assert cal.initial == SHUT  # November 2008: 18%, far above the threshold then


def test_too_little_history_keeps_the_window_open() -> None:
    cal = calibrate_credit_window(dt.date(1998, 1, 1))
    assert cal.p_open_to_shut == 0.0 and cal.initial == OPEN
    assert "always open" in cal.source


def test_engine_parameters_carry_the_window() -> None:
    params = default_factor_params(("H100",), dt.date(2026, 7, 31))
    w = params.credit_window
    assert 0.0 < w.p_open_to_shut < 0.1 and 0.0 < w.p_shut_to_open < 1.0
    assert "BAMLH0A0HYM2" in params.sources["credit_window"]
    tight, glut = w.p_open_to_shut_by_regime(params.regime)
    assert glut == pytest.approx(w.glut_multiplier * tight, rel=1e-12)
    r = params.regime
    pi_glut = r.p_tight_to_glut / (r.p_tight_to_glut + r.p_glut_to_tight)
    assert (1 - pi_glut) * tight + pi_glut * glut == pytest.approx(w.p_open_to_shut, rel=1e-12)


def test_window_paths_block_independent_and_follow_their_own_stream() -> None:
    window = CreditWindowParams(0.05, 0.2, initial=OPEN, glut_multiplier=2.0)
    regime_params = RegimeParams(1 / 15, 1 / 20)
    source = MonteCarloShocks(seed=11)
    whole = source.draw(0, 300, 60, 3, 0)
    regime = (whole.regime_uniforms < 0.5).astype(np.int8)  # any GPU regime path
    full = credit_window_paths(window, regime_params, regime, whole.credit_uniforms)
    parts = [source.draw(a, b, 60, 3, 0) for a, b in ((0, 100), (100, 300))]
    split = np.concatenate(
        [
            credit_window_paths(window, regime_params, regime[a:b], p.credit_uniforms)
            for (a, b), p in zip(((0, 100), (100, 300)), parts, strict=True)
        ]
    )
    assert np.array_equal(full, split)
    assert whole.credit_uniforms is not None
    assert not np.array_equal(whole.credit_uniforms, whole.regime_uniforms)
    assert set(np.unique(full)) <= {OPEN, SHUT}


@pytest.mark.parametrize("initial", [OPEN, SHUT])
def test_compiled_window_equals_the_numpy_loop(initial: int) -> None:
    window = CreditWindowParams(0.05, 0.25, initial=initial, glut_multiplier=2.0)
    regime_params = RegimeParams(1 / 15, 1 / 20)
    tight, glut = window.p_open_to_shut_by_regime(regime_params)
    rng = np.random.default_rng(8)
    u = rng.random((400, 36))
    u[:, 5] = tight  # on each threshold: the comparisons' sides must agree
    u[:, 6] = glut
    u[:, 7] = window.p_shut_to_open
    regime = (rng.random(u.shape) < 0.4).astype(np.int8)
    expected = credit_window_paths_reference(window, regime_params, regime, u)
    assert np.array_equal(credit_window_paths(window, regime_params, regime, u), expected)
    strided = credit_window_paths(window, regime_params, regime[:, ::2], u[:, ::2])
    assert np.array_equal(
        strided, credit_window_paths_reference(window, regime_params, regime[:, ::2], u[:, ::2])
    )
    absent = credit_window_paths(window, regime_params, regime, None)
    assert np.array_equal(
        absent, credit_window_paths_reference(window, regime_params, regime, None)
    )


def test_window_shuts_more_often_in_a_glut() -> None:
    window = CreditWindowParams(0.03, 0.2, glut_multiplier=3.0)
    regime_params = RegimeParams(1 / 15, 1 / 20)
    u = MonteCarloShocks(seed=3).draw(0, 4000, 24, 3, 0).credit_uniforms
    assert u is not None
    tight = credit_window_paths(window, regime_params, np.full(u.shape, TIGHT, np.int8), u)
    glut = credit_window_paths(window, regime_params, np.full(u.shape, GLUT, np.int8), u)
    # same draws: a glut month shuts whenever a tight one does, and more
    assert np.all(glut[:, 0] >= tight[:, 0])
    assert glut.mean() > tight.mean()


@settings(max_examples=50, deadline=None)
@given(
    claim=st.floats(0.0, 2e8),
    value=st.floats(1.0, 2e8),
    shut=st.booleans(),
    max_ltv=st.floats(0.1, 1.0),
)
def test_refinancing_fails_for_the_market_only_when_the_window_is_shut(
    claim: float, value: float, shut: bool, max_ltv: float
) -> None:
    """With the LTV and DSCR tests passed, a facility that needs an open market refinances
    exactly when the window is open, whatever the GPU regime."""
    from gpucredit.debt.facilities import RefinancingTerms

    terms = RefinancingTerms(max_ltv=max_ltv, needs_open_market=True)
    plain = RefinancingTerms(max_ltv=max_ltv, needs_open_market=False)

    class _F:
        refinancing = terms

    class _P:
        refinancing = plain

    c = np.array([claim])
    v = np.array([value])
    dscr = np.array([2.0])
    open_market = np.array([not shut])
    with_market = _refinancing_ok(_F(), c, v, dscr, open_market)  # type: ignore[arg-type]
    without = _refinancing_ok(_P(), c, v, dscr, open_market)  # type: ignore[arg-type]
    assert bool(with_market[0]) == (bool(without[0]) and not shut)
