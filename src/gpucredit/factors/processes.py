"""Factor processes as pure kernels over a block of paths: arrays (path, month) in and out.

Every kernel is a step function ``state[t] = f(state[t-1], shock[t])``. The linear ones are run
with ``scipy.signal.lfilter`` along the month axis (one C loop, the same recursion for every
path), the Markov chain with a loop over months vectorised over paths.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from scipy.signal import lfilter

from gpucredit._typing import Float64Array, Int8Array
from gpucredit.factors.params import GLUT, TIGHT, RegimeParams, RentParams

__all__ = ["log_rent_trend", "markov_regimes", "ou_exact"]

DAYS_PER_YEAR = 365.25


def markov_regimes(params: RegimeParams, uniforms: Float64Array) -> Int8Array:
    """Regime of each path in each month.

    Parameters
    ----------
    params : RegimeParams
    uniforms : ndarray, shape (path, month)
        U(0, 1) draws; month ``t`` switches state when ``u[t] < p_switch(state[t-1])``.

    Returns
    -------
    ndarray of int8, shape (path, month): 0 tight, 1 glut.
    """
    n_paths, n_months = uniforms.shape
    out = np.empty((n_paths, n_months), dtype=np.int8)
    state = np.full(n_paths, params.initial, dtype=np.int8)
    p_switch = np.array([params.p_tight_to_glut, params.p_glut_to_tight])
    for t in range(n_months):
        switch = uniforms[:, t] < p_switch[state]
        state = np.where(switch, np.int8(1) - state, state).astype(np.int8)
        out[:, t] = state
    return out


def ou_exact(
    x0: float,
    mean: Float64Array,
    sigma: Float64Array,
    kappa_per_year: float,
    dt_years: float,
    z: Float64Array,
) -> Float64Array:
    """Exact discretisation of an Ornstein-Uhlenbeck process with time-varying mean and vol.

    ``x[t] = mean[t] + (x[t-1] - mean[t]) a + sigma[t] sqrt((1 - a^2) / (2 kappa)) z[t]``,
    ``a = exp(-kappa dt)``. ``mean``, ``sigma``, ``z`` have shape (path, month); returns the
    same shape (month ``t`` is the end of month ``t + 1``).
    """
    a = math.exp(-kappa_per_year * dt_years)
    scale = math.sqrt((1.0 - a * a) / (2.0 * kappa_per_year))
    drive = (1.0 - a) * mean + scale * sigma * z
    n_paths = z.shape[0]
    zi = np.full((n_paths, 1), a * x0)
    out, _ = lfilter([1.0], [1.0, -a], drive, axis=1, zi=zi)
    return np.asarray(out, dtype=np.float64)


def regime_levels(rent: RentParams, regimes: Int8Array) -> tuple[Float64Array, Float64Array]:
    """OU mean and volatility of the log-rent deviation in each path's regime."""
    glut = regimes == GLUT
    mean = np.where(glut, rent.level_glut, rent.level_tight)
    sigma = np.where(glut, rent.sigma_glut, rent.sigma_tight)
    return mean, sigma


def initial_level(rent: RentParams, initial_regime: int) -> float:
    return rent.level_tight if initial_regime == TIGHT else rent.level_glut


def log_rent_trend(
    rent: RentParams, as_of: dt.date, t_years: Float64Array, initial_regime: int
) -> Float64Array:
    """Log of the rent trend at each month, shape (month,).

    Anchored so that ``trend x exp(level of the initial regime)`` equals the anchor price on
    the anchor date; falls at the continuous decay, and by each successor's step as it ramps.
    """
    since_anchor = t_years + (as_of - rent.anchor_date).days / DAYS_PER_YEAR
    out = (
        math.log(rent.anchor_usd_per_gpu_hour)
        - initial_level(rent, initial_regime)
        - rent.decay_per_year * since_anchor
    )
    for step in rent.successors:
        years_after_volume = t_years + (as_of - step.volume_date).days / DAYS_PER_YEAR
        ramp = np.clip(years_after_volume * 12.0 / step.ramp_months, 0.0, 1.0)
        out = out - step.log_step * ramp
    return np.asarray(out, dtype=np.float64)
