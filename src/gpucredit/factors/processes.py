"""Factor processes as pure kernels over a block of paths: arrays (path, month) in and out.

Every kernel is a step function ``state[t] = f(state[t-1], shock[t])``. Each comes twice
(STYLE.md 6): a fast version compiled by numba (``nogil``, one loop over paths and months, so
blocks run on every core) and a plain NumPy reference (``*_reference``, a loop over months
vectorised over paths) that ``tests/oracle/test_fast_kernels.py`` holds it to. The scalar
steps are compiled functions of their own (``regime_step``; ``ou_step``, which the fused
scenario kernel of ``scenarios.scenario`` calls too), so every caller runs the same
arithmetic in the same order.
"""

from __future__ import annotations

import datetime as dt
import math

import numba
import numpy as np

from gpucredit._typing import Float64Array, Int8Array
from gpucredit.factors.params import GLUT, TIGHT, RegimeParams, RentParams

__all__ = [
    "OuCoefficients",
    "log_rent_trend",
    "markov_regimes",
    "markov_regimes_reference",
    "ou_coefficients",
    "ou_exact",
    "ou_exact_reference",
    "ou_step",
    "regime_step",
]

DAYS_PER_YEAR = 365.25

#: ``(a, 1 - a, scale)`` of the exact OU step: ``a = exp(-kappa dt)``,
#: ``scale = sqrt((1 - a^2) / (2 kappa))``.
OuCoefficients = tuple[float, float, float]


def ou_coefficients(kappa_per_year: float, dt_years: float) -> OuCoefficients:
    """Coefficients of one exact OU step of ``dt_years`` (shared by every implementation)."""
    a = math.exp(-kappa_per_year * dt_years)
    scale = math.sqrt((1.0 - a * a) / (2.0 * kappa_per_year))
    return a, 1.0 - a, scale


@numba.njit(cache=True, nogil=True)
def ou_step(prev: float, drift: float, vol: float, z: float, a: float) -> float:
    """One exact OU step: ``a prev + (drift + vol z)``.

    ``drift = (1 - a) mean`` and ``vol = scale sigma`` (``ou_coefficients``), each rounded
    once as in ``ou_exact_reference`` (and the ``scipy.signal.lfilter`` formulation it
    replaced): the operations and their order are the same, so the result is bit-identical.
    """
    return a * prev + (drift + vol * z)


@numba.njit(cache=True, nogil=True)
def regime_step(state: int, u: float, p_tight_to_glut: float, p_glut_to_tight: float) -> int:
    """Next regime: switch when ``u < p_switch(state)``."""
    p = p_glut_to_tight if state == GLUT else p_tight_to_glut
    return 1 - state if u < p else state


@numba.njit(cache=True, nogil=True)
def _markov_kernel(
    uniforms: Float64Array,
    p_tight_to_glut: float,
    p_glut_to_tight: float,
    initial: int,
    out: Int8Array,
) -> None:
    n_paths, n_months = uniforms.shape
    for p in range(n_paths):
        state = initial
        for t in range(n_months):
            state = regime_step(state, uniforms[p, t], p_tight_to_glut, p_glut_to_tight)
            out[p, t] = state


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
    u = np.asarray(uniforms, dtype=np.float64)
    out = np.empty(u.shape, dtype=np.int8)
    _markov_kernel(
        u,
        float(params.p_tight_to_glut),
        float(params.p_glut_to_tight),
        int(params.initial),
        out,
    )
    return out


def markov_regimes_reference(params: RegimeParams, uniforms: Float64Array) -> Int8Array:
    """``markov_regimes`` in plain NumPy: a loop over months vectorised over paths."""
    n_paths, n_months = uniforms.shape
    out = np.empty((n_paths, n_months), dtype=np.int8)
    state = np.full(n_paths, params.initial, dtype=np.int8)
    p_switch = np.array([params.p_tight_to_glut, params.p_glut_to_tight])
    for t in range(n_months):
        switch = uniforms[:, t] < p_switch[state]
        state = np.where(switch, np.int8(1) - state, state).astype(np.int8)
        out[:, t] = state
    return out


@numba.njit(cache=True, nogil=True)
def _ou_kernel(
    x0: float,
    mean: Float64Array,
    sigma: Float64Array,
    z: Float64Array,
    a: float,
    one_minus_a: float,
    scale: float,
    out: Float64Array,
) -> None:
    n_paths, n_months = z.shape
    for p in range(n_paths):
        prev = x0
        for t in range(n_months):
            drift = one_minus_a * mean[p, t]
            vol = scale * sigma[p, t]
            prev = ou_step(prev, drift, vol, z[p, t], a)
            out[p, t] = prev


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
    ``a = exp(-kappa dt)``. ``mean``, ``sigma``, ``z`` have shape (path, month) (``mean`` and
    ``sigma`` may be anything that broadcasts to it); returns the shape of ``z`` (month ``t``
    is the end of month ``t + 1``). Compiled; bit-identical to ``ou_exact_reference``.
    """
    zz = np.asarray(z, dtype=np.float64)
    m = np.broadcast_to(np.asarray(mean, dtype=np.float64), zz.shape)
    s = np.broadcast_to(np.asarray(sigma, dtype=np.float64), zz.shape)
    a, one_minus_a, scale = ou_coefficients(kappa_per_year, dt_years)
    out = np.empty(zz.shape)
    _ou_kernel(float(x0), m, s, zz, a, one_minus_a, scale, out)
    return out


def ou_exact_reference(
    x0: float,
    mean: Float64Array,
    sigma: Float64Array,
    kappa_per_year: float,
    dt_years: float,
    z: Float64Array,
) -> Float64Array:
    """``ou_exact`` in plain NumPy: the drive vectorised, a loop over months for the recursion.

    Equal to ``scipy.signal.lfilter([1], [1, -a], drive, zi=a x0)``, the formulation of the
    first version (the oracle test checks both).
    """
    a, one_minus_a, scale = ou_coefficients(kappa_per_year, dt_years)
    drive = one_minus_a * np.asarray(mean) + scale * np.asarray(sigma) * np.asarray(z)
    drive = np.broadcast_to(drive, np.shape(z))
    out = np.empty(drive.shape)
    prev = np.full(drive.shape[0], float(x0))
    for t in range(drive.shape[1]):
        prev = a * prev + drive[:, t]
        out[:, t] = prev
    return out


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
    for step in rent.stress_steps:  # a named stress scenario's steps (none by default)
        years_after_volume = t_years + (as_of - step.volume_date).days / DAYS_PER_YEAR
        ramp = np.clip(years_after_volume * 12.0 / step.ramp_months, 0.0, 1.0)
        out = out - step.log_step * ramp
    return np.asarray(out, dtype=np.float64)
