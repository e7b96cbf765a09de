"""Calibrate the GPU-rent, SOFR and regime parameters from the shipped data.

Pure functions: data frames in, frozen results out, no state. See ``docs/calibration.md`` for
the method, the equations, today's estimates and the limits.

* :func:`calibrate_rent` fits the engine's rent model (``factors.processes``) to the monthly
  on-demand rent index by exact Gaussian likelihood (a scalar Kalman filter per generation with
  the exact OU transition over each gap between observed months, regimes known).
* :func:`calibrate_sofr` fits a Vasicek model to monthly-average SOFR by exact AR(1) MLE.
* :func:`calibrate_factors` assembles both with regime switching probabilities read from the
  regime timeline; :meth:`Calibration.to_params` turns the result into the engine's
  :class:`~gpucredit.factors.params.FactorParams`.

Units: time in years (months are 1/12), rents in USD per GPU-hour, log deviations and
volatilities in natural-log units (per square-root year), rates as decimals.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

from gpucredit._typing import Float64Array
from gpucredit.config.presets import generation_presets
from gpucredit.errors import DataError
from gpucredit.factors import defaults
from gpucredit.factors.params import GLUT, TIGHT, FactorParams, RegimeParams
from gpucredit.market.history import _rates  # the cached daily rates file
from gpucredit.market.rent_index import GENERATIONS, monthly_rent_index, rental_observations

__all__ = [
    "LONG_RUN_MAX_STD_ERROR",
    "MAX_INTERPOLATED_SHARE",
    "MIN_REGIME_MONTHS",
    "MIN_RENT_MONTHS",
    "MIN_SOFR_MONTHS",
    "N_OBS_FULL_WEIGHT",
    "Calibration",
    "RegimeCalibration",
    "RentCalibration",
    "SofrCalibration",
    "calibrate_factors",
    "calibrate_regimes",
    "calibrate_rent",
    "calibrate_sofr",
    "centred_levels",
    "default_regime_path",
    "fit_regime_chain",
    "joint_decay",
    "market_rent_index",
    "shipped_rent_index",
]

DAYS_PER_YEAR = 365.25
DT_MONTH = 1.0 / 12.0

#: A month whose index value rests on fewer raw observations than this gets a proportionally
#: larger measurement-error variance: ``tau^2 * N / min(n_obs, N)``. A single list price (Epoch,
#: 2022-2025) counts one fifth of a well-sampled month; the marketplace and scrape months
#: (hundreds of observations) count fully. Nothing is dropped.
N_OBS_FULL_WEIGHT = 5

#: The Vasicek long-run mean estimated from SOFR is used only when its standard error is at most
#: this (decimal, 1 percentage point); otherwise the sourced 3.0% (FOMC longer-run median) is.
LONG_RUN_MAX_STD_ERROR = 0.01

#: Fewest monthly rent index values (all generations) and monthly SOFR averages a fit needs;
#: with fewer on or before the as-of date (before 2022, or SOFR before 2020-04) the model keeps
#: its sourced priors (``factors/defaults.py``) and the calibration says so.
MIN_RENT_MONTHS = 12
MIN_SOFR_MONTHS = 24

# Regime timeline of REFERENCES.md ("GPU rental prices"): tight 2023 launch era, glut from the
# early-2024 price cuts to the Oct 2025 cycle low, tight from the 2026 rebound ("The great GPU
# shortage", SemiAnalysis, March 2026).
_GLUT_START = dt.date(2024, 1, 1)
_GLUT_END = dt.date(2025, 12, 1)

# Parameter vector of the rent fit, in order, with L-BFGS-B bounds; then one trend level per
# generation.
_RENT_NAMES = ("decay_per_year", "kappa_per_year", "level_gap", "sigma_tight", "sigma_glut", "tau")
_RENT_BOUNDS = (
    (-0.5, 1.5),
    (0.05, 30.0),
    (-2.0, 2.0),
    (0.01, 3.0),
    (0.01, 3.0),
    (0.005, 2.0),
)
_TREND_BOUNDS = (-6.0, 6.0)


def _month(value: dt.date | pd.Timestamp) -> dt.date:
    return dt.date(value.year, value.month, 1)


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    out: list[dt.date] = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def default_regime_path(start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """The documented regime timeline, month start -> regime, from ``start`` to ``end``.

    Tight (0) to 2023-12, glut (1) from 2024-01 to 2025-12, tight from 2026-01
    (``/work/shared/REFERENCES.md``, "GPU rental prices": 2023 tight; 2024-25 glut with the
    cycle low in Oct 2025; 2026 rebound).
    """
    return {
        m: (GLUT if _GLUT_START <= m <= _GLUT_END else TIGHT)
        for m in _months(_month(start), _month(end))
    }


def _numerical_hessian(
    f: Callable[[Float64Array], float], x: Float64Array, rel_step: float = 1e-4
) -> Float64Array:
    """Central-difference Hessian of ``f`` at ``x``."""
    n = x.size
    h = rel_step * np.maximum(np.abs(x), 0.1)
    hess = np.empty((n, n))
    f0 = f(x)
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = h[i]
        hess[i, i] = (f(x + ei) - 2.0 * f0 + f(x - ei)) / (h[i] * h[i])
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = h[j]
            value = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4.0 * h[i] * h[j]
            )
            hess[i, j] = hess[j, i] = value
    return hess


def _std_errors(neg_loglik: Callable[[Float64Array], float], x: Float64Array) -> Float64Array:
    """Standard errors from the inverse of the observed information (numerical Hessian).

    NaN for a parameter whose variance is not positive (a flat or ill-conditioned direction).
    """
    hess = _numerical_hessian(neg_loglik, x)
    cov = np.linalg.pinv(0.5 * (hess + hess.T))
    var = np.diag(cov)
    return np.where(var > 0.0, np.sqrt(np.abs(var)), np.nan)


# --- Rent -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RentCalibration:
    """Maximum-likelihood estimates of the engine's rent model (``RentParams``).

    Attributes
    ----------
    as_of : date
        Last month used; trend levels are quoted at this date.
    decay_per_year : float
        Continuous log decline of the trend, per year, pooled across generations.
    kappa_per_year : float
        OU mean-reversion speed of the log deviation, per year.
    level_tight, level_glut : float
        Regime means of the log deviation (symmetric: ``level_tight = -level_glut``; only the
        gap is identified, the rest is absorbed by the trend level).
    sigma_tight, sigma_glut : float
        Regime volatilities of the log deviation, per square-root year.
    obs_noise : float
        Measurement-error sd of a well-sampled month's log index (``tau``).
    std_errors : dict of str to float
        Standard error of every estimate above, and of ``trend.<generation>`` (log trend).
    trend_usd_per_gpu_hour : dict of str to float
        Per-generation anchor: the fitted trend at ``as_of``, USD per GPU-hour (the engine's
        rent in the middle of the two regimes, successor steps so far included).
    n_obs, n_obs_by_generation
        Monthly index values used.
    log_likelihood : float
        Maximised Gaussian log-likelihood of the log index.
    residuals : tuple of float
        Standardised one-step innovations of the Kalman filter (N(0, 1) if the model holds).
    successor_log_step, ramp_months
        Successor-step component of the trend (log decline per ramp, months of a ramp), held
        fixed: the step of the joint trend-regime fit when it identifies one, else sourced.
    regime_path : tuple of (str, int)
        The known regime of each month (ISO month start, 0 tight / 1 glut).
    converged : bool
        Whether L-BFGS-B reported convergence.
    at_bound : tuple of str
        Parameters that ended on an L-BFGS-B bound; their standard errors are not valid
        (the Hessian is taken at a boundary).
    """

    as_of: dt.date
    decay_per_year: float
    kappa_per_year: float
    level_tight: float
    level_glut: float
    sigma_tight: float
    sigma_glut: float
    obs_noise: float
    std_errors: dict[str, float]
    trend_usd_per_gpu_hour: dict[str, float]
    n_obs: int
    n_obs_by_generation: dict[str, int]
    log_likelihood: float
    residuals: tuple[float, ...]
    successor_log_step: float
    ramp_months: int
    regime_path: tuple[tuple[str, int], ...]
    converged: bool
    at_bound: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _GenData:
    name: str
    log_price: Float64Array  # (obs,)
    obs_weight: Float64Array  # (obs,) multiple of tau^2
    years: Float64Array  # (obs,) years since as_of (negative)
    steps: Float64Array  # (obs,) successor-step log decline relative to as_of
    interval: Any  # (months,) intp: which observation each month's step leads to
    lag: Float64Array  # (months,) months from the step to that observation
    glut: Any  # (months,) bool: regime of the step
    first_glut: bool
    first_month: dt.date


def _successor_steps(generation: str, log_step: float) -> list[tuple[dt.date, float, int]]:
    presets = generation_presets()
    out: list[tuple[dt.date, float, int]] = []
    if generation not in presets:
        return out
    nxt = presets[generation].successor
    while nxt is not None and nxt in presets:
        out.append((presets[nxt].volume_date, log_step, defaults.RAMP_MONTHS))
        nxt = presets[nxt].successor
    return out


def _step_decline(
    generation: str,
    dates: list[dt.date],
    as_of: dt.date,
    log_step: float = defaults.SUCCESSOR_LOG_STEP,
) -> Float64Array:
    """Successor-step log decline at each date minus that at ``as_of`` (as log_rent_trend).

    ``log_step`` is the log decline per successor ramp (natural-log units); ``1.0`` gives the
    number of ramps, fractions for ramps under way.
    """

    def total(day: dt.date) -> float:
        s = 0.0
        for volume, step, ramp_months in _successor_steps(generation, log_step):
            years = (day - volume).days / DAYS_PER_YEAR
            s += step * min(max(years * 12.0 / ramp_months, 0.0), 1.0)
        return s

    ref = total(as_of)
    return np.array([total(d) - ref for d in dates], dtype=np.float64)


def _prepare(
    index: pd.DataFrame,
    as_of: dt.date,
    regime_path: Mapping[dt.date, int],
    log_step: float = defaults.SUCCESSOR_LOG_STEP,
) -> list[_GenData]:
    frame = index
    if "rental_type" in frame.columns:
        frame = frame[frame["rental_type"] == "on_demand"]
    month = pd.to_datetime(frame["month"])
    keep = (month <= pd.Timestamp(as_of)) & frame["usd_per_gpu_hour"].notna()
    keep &= frame["n_obs"] > 0
    frame = frame[keep].assign(month=month[keep]).sort_values(["generation", "month"])
    out: list[_GenData] = []
    for gen, rows in frame.groupby("generation", sort=True):
        months = [_month(m) for m in rows["month"]]
        mids = [m + dt.timedelta(days=14) for m in months]  # mid-month
        interval: list[int] = []
        lag: list[float] = []
        glut: list[bool] = []
        for i in range(1, len(months)):
            for m in _months(months[i - 1], months[i])[1:]:
                if m not in regime_path:
                    raise DataError(f"calibrate_rent: regime_path has no regime for {m}")
                interval.append(i)
                lag.append(float((months[i].year - m.year) * 12 + months[i].month - m.month))
                glut.append(regime_path[m] == GLUT)
        if months[0] not in regime_path:
            raise DataError(f"calibrate_rent: regime_path has no regime for {months[0]}")
        n_obs = rows["n_obs"].to_numpy(dtype=np.float64)
        out.append(
            _GenData(
                name=str(gen),
                log_price=np.log(rows["usd_per_gpu_hour"].to_numpy(dtype=np.float64)),
                obs_weight=N_OBS_FULL_WEIGHT / np.minimum(n_obs, N_OBS_FULL_WEIGHT),
                years=np.array([(d - as_of).days / DAYS_PER_YEAR for d in mids]),
                steps=_step_decline(str(gen), mids, as_of, log_step),
                interval=np.array(interval, dtype=np.intp),
                lag=np.array(lag, dtype=np.float64),
                glut=np.array(glut, dtype=bool),
                first_glut=regime_path[months[0]] == GLUT,
                first_month=months[0],
            )
        )
    if not out:
        raise DataError(f"calibrate_rent: no on-demand rent index value on or before {as_of}")
    return out


def _rent_filter(theta: Float64Array, data: list[_GenData]) -> tuple[float, list[Float64Array]]:
    """Log-likelihood and standardised innovations of the rent model at ``theta``."""
    decay, kappa, gap, sig_t, sig_g, tau = (float(v) for v in theta[:6])
    a = math.exp(-kappa * DT_MONTH)
    scale2 = (1.0 - a * a) / (2.0 * kappa)
    loglik = 0.0
    resid: list[Float64Array] = []
    for g, gen in enumerate(data):
        n = gen.log_price.size
        mean_obs = float(theta[6 + g]) - decay * gen.years - gen.steps
        mu = np.where(gen.glut, -0.5 * gap, 0.5 * gap)
        sig2 = np.where(gen.glut, sig_g * sig_g, sig_t * sig_t)
        w = a**gen.lag
        drift = np.bincount(gen.interval, weights=w * (1.0 - a) * mu, minlength=n)
        noise = np.bincount(gen.interval, weights=w * w * scale2 * sig2, minlength=n)
        gaps = np.bincount(gen.interval, minlength=n).astype(np.float64)
        decay_gap = a**gaps
        # Stationary start in the first month's regime.
        m = -0.5 * gap if gen.first_glut else 0.5 * gap
        s0 = sig_g if gen.first_glut else sig_t
        p = s0 * s0 / (2.0 * kappa)
        r = tau * tau * gen.obs_weight
        z = np.empty(n)
        for i in range(n):
            if i > 0:
                m = decay_gap[i] * m + drift[i]
                p = decay_gap[i] ** 2 * p + noise[i]
            f = p + r[i]
            v = gen.log_price[i] - mean_obs[i] - m
            loglik -= 0.5 * (math.log(2.0 * math.pi * f) + v * v / f)
            z[i] = v / math.sqrt(f)
            k = p / f
            m += k * v
            p -= k * p
        resid.append(z)
    return loglik, resid


def calibrate_rent(
    index: pd.DataFrame,
    *,
    as_of: dt.date,
    regime_path: Mapping[dt.date, int] | None = None,
    successor_log_step: float = defaults.SUCCESSOR_LOG_STEP,
) -> RentCalibration:
    """Fit the engine's rent model to the monthly on-demand rent index by maximum likelihood.

    Model (``factors.processes``), generation ``g``, month ``t`` (years ``t``)::

        log R_g(t) = c_g - d (t - as_of) - S_g(t) + y_g(t) + e_g(t)
        dy = kappa (level[s_t] - y) dt + sigma[s_t] dW,    level = (+gap/2, -gap/2)
        e_g(t) ~ N(0, tau^2 * N / min(n_obs, N)),          N = N_OBS_FULL_WEIGHT

    ``S_g`` is the successor-step decline (held at ``successor_log_step`` per ramp over the
    sourced ``RAMP_MONTHS``: the step :func:`fit_regime_chain` fits, or the sourced), ``c_g``
    the log trend at ``as_of``. Between observed months the exact monthly OU transition is
    applied month by month with the known regime of each month; a scalar Kalman filter per
    generation gives the exact Gaussian likelihood. Generations share every parameter but
    ``c_g``; their shocks are treated as independent (a composite likelihood).

    Parameters
    ----------
    index : pandas.DataFrame
        Columns ``month``, ``generation``, ``usd_per_gpu_hour`` (USD per GPU-hour), ``n_obs``
        and optionally ``rental_type`` (rows other than ``on_demand`` are dropped), as from
        :func:`gpucredit.market.rent_index.rent_index_table`. Gaps (NaN) are skipped.
    as_of : date
        Months after it are dropped; trend levels are quoted at it.
    regime_path : mapping of date to int, optional
        Regime of each month start (0 tight, 1 glut) covering the data; default
        :func:`default_regime_path`.
    successor_log_step : float, optional
        Log decline of the trend per successor ramp (natural-log units), held fixed; default
        the sourced ``defaults.SUCCESSOR_LOG_STEP``.

    Returns
    -------
    RentCalibration
        Estimates with numerical-Hessian standard errors.
    """
    if regime_path is None:
        regime_path = default_regime_path(dt.date(2000, 1, 1), as_of)
    data = _prepare(index, as_of, regime_path, successor_log_step)

    def negll(theta: Float64Array) -> float:
        value = -_rent_filter(theta, data)[0]
        return value if math.isfinite(value) else 1e12

    x0 = np.array(
        [
            defaults.CONTINUOUS_DECAY_PER_YEAR,
            defaults.RENT_KAPPA_PER_YEAR,
            defaults.LEVEL_GAP,
            defaults.RENT_SIGMA_TIGHT,
            defaults.RENT_SIGMA_GLUT,
            0.05,
        ]
        + [float(np.mean(g.log_price + defaults.CONTINUOUS_DECAY_PER_YEAR * g.years)) for g in data]
    )
    bounds = list(_RENT_BOUNDS) + [_TREND_BOUNDS] * len(data)
    res = optimize.minimize(
        negll, x0, method="L-BFGS-B", bounds=bounds, options={"maxiter": 2000, "ftol": 1e-12}
    )
    theta = np.asarray(res.x, dtype=np.float64)
    se = _std_errors(negll, theta)
    loglik, resid = _rent_filter(theta, data)
    names = list(_RENT_NAMES) + [f"trend.{g.name}" for g in data]
    std = {name: float(s) for name, s in zip(names, se, strict=True)}
    gap_se = std.pop("level_gap")
    std["level_tight"] = std["level_glut"] = 0.5 * gap_se
    std["obs_noise"] = std.pop("tau")
    first = min(g.first_month for g in data)
    path = tuple(
        (m.isoformat(), int(s)) for m, s in sorted(regime_path.items()) if first <= m <= as_of
    )
    return RentCalibration(
        as_of=as_of,
        decay_per_year=float(theta[0]),
        kappa_per_year=float(theta[1]),
        level_tight=0.5 * float(theta[2]),
        level_glut=-0.5 * float(theta[2]),
        sigma_tight=float(theta[3]),
        sigma_glut=float(theta[4]),
        obs_noise=float(theta[5]),
        std_errors=std,
        trend_usd_per_gpu_hour={g.name: math.exp(float(theta[6 + i])) for i, g in enumerate(data)},
        n_obs=int(sum(g.log_price.size for g in data)),
        n_obs_by_generation={g.name: int(g.log_price.size) for g in data},
        log_likelihood=float(loglik),
        residuals=tuple(float(v) for v in np.concatenate(resid)),
        successor_log_step=successor_log_step,
        ramp_months=defaults.RAMP_MONTHS,
        regime_path=path,
        converged=bool(res.success),
        at_bound=tuple(
            name
            for name, v, (lo, hi) in zip(names, theta, bounds, strict=True)
            if min(v - lo, hi - v) <= 1e-6 * max(1.0, abs(v))
        ),
    )


# --- SOFR -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SofrCalibration:
    """Vasicek parameters of SOFR from monthly averages (exact AR(1) MLE).

    Attributes
    ----------
    long_run_estimate : float
        Estimated long-run mean (decimal).
    long_run : float
        Long-run mean the engine uses: the estimate, or the sourced 3.0% when the estimate's
        standard error exceeds :data:`LONG_RUN_MAX_STD_ERROR`.
    long_run_source : str
        ``"estimate"`` or the sourced value's citation.
    kappa_per_year, sigma : float
        Mean-reversion speed (per year) and normal volatility (decimal per square-root year).
    std_errors : dict of str to float
        Keys ``long_run_estimate``, ``kappa_per_year``, ``sigma``.
    initial, initial_date
        Last daily SOFR on or before ``as_of`` (decimal) and its date.
    n_obs : int
        Monthly averages used (transitions are ``n_obs - 1``).
    first_month, last_month : str
        ISO month starts of the sample.
    log_likelihood : float
        Conditional Gaussian log-likelihood at the estimate.
    residuals : tuple of float
        Standardised AR(1) residuals.
    """

    long_run_estimate: float
    long_run: float
    long_run_source: str
    kappa_per_year: float
    sigma: float
    std_errors: dict[str, float]
    initial: float
    initial_date: dt.date
    n_obs: int
    first_month: str
    last_month: str
    log_likelihood: float
    residuals: tuple[float, ...]


def _vasicek_terms(theta: Float64Array, x: Float64Array) -> tuple[float, Float64Array, float]:
    mu, kappa, sigma = (float(v) for v in theta)
    a = math.exp(-kappa * DT_MONTH)
    sd = sigma * math.sqrt((1.0 - a * a) / (2.0 * kappa))
    eps = x[1:] - (a * x[:-1] + (1.0 - a) * mu)
    loglik = float(-0.5 * np.sum(np.log(2.0 * math.pi * sd * sd) + (eps / sd) ** 2))
    return loglik, eps / sd, sd


def calibrate_sofr(rates: pd.DataFrame, *, as_of: dt.date) -> SofrCalibration:
    """Fit SOFR's Vasicek parameters to monthly averages by exact AR(1) maximum likelihood.

    ``x[t+1] = a x[t] + (1 - a) mu + sd e``, ``a = exp(-kappa / 12)``,
    ``sd = sigma sqrt((1 - a^2) / (2 kappa))``, conditional on the first month. Estimates start
    from the OLS solution and are polished by L-BFGS-B (``kappa`` in [0.001, 20]); standard
    errors from the numerical Hessian. The zero floor is ignored (2020-2021 sat on it).

    Parameters
    ----------
    rates : pandas.DataFrame
        Columns ``date`` and ``SOFR`` (percent), daily, as ``data/rates_daily.csv``.
    as_of : date
        Complete calendar months on or before it are used.

    Returns
    -------
    SofrCalibration
    """
    frame = rates[["date", "SOFR"]].dropna()
    date = pd.to_datetime(frame["date"])
    frame = frame[date <= pd.Timestamp(as_of)].assign(date=date)
    if frame.empty:
        raise DataError(f"calibrate_sofr: no SOFR on or before {as_of}")
    last = frame.iloc[-1]
    monthly = frame.groupby(frame["date"].dt.to_period("M"))["SOFR"].mean() / 100.0
    end_period = pd.Period(as_of, freq="M")
    if (as_of + dt.timedelta(days=1)).month == as_of.month:  # as_of is not a month end
        monthly = monthly[monthly.index < end_period]
    if monthly.size < MIN_SOFR_MONTHS:
        raise DataError(f"calibrate_sofr: only {monthly.size} months of SOFR before {as_of}")
    x = monthly.to_numpy(dtype=np.float64)

    beta, alpha = np.polyfit(x[:-1], x[1:], 1)
    beta = float(min(max(beta, 0.5), 0.9999))
    kappa0 = -math.log(beta) / DT_MONTH
    mu0 = float(alpha) / (1.0 - beta) if abs(alpha / (1.0 - beta)) < 0.2 else float(np.mean(x))
    resid0 = x[1:] - (alpha + beta * x[:-1])
    sigma0 = float(np.std(resid0)) * math.sqrt(2.0 * kappa0 / (1.0 - beta * beta))

    def negll(theta: Float64Array) -> float:
        value = -_vasicek_terms(theta, x)[0]
        return value if math.isfinite(value) else 1e12

    res = optimize.minimize(
        negll,
        np.array([mu0, kappa0, max(sigma0, 1e-4)]),
        method="L-BFGS-B",
        bounds=[(-0.5, 0.5), (0.001, 20.0), (1e-5, 0.5)],
        options={"maxiter": 2000, "ftol": 1e-14},
    )
    theta = np.asarray(res.x, dtype=np.float64)
    se = _std_errors(negll, theta)
    loglik, z, _ = _vasicek_terms(theta, x)
    mu_se = float(se[0])
    use_estimate = math.isfinite(mu_se) and mu_se <= LONG_RUN_MAX_STD_ERROR
    return SofrCalibration(
        long_run_estimate=float(theta[0]),
        long_run=float(theta[0]) if use_estimate else defaults.SOFR_LONG_RUN,
        long_run_source=(
            "estimate"
            if use_estimate
            else (
                f"sourced {defaults.SOFR_LONG_RUN:.3f} (FOMC SEP longer-run median, Sep 2025): "
                f"estimate's standard error {mu_se:.4f} > {LONG_RUN_MAX_STD_ERROR}"
            )
        ),
        kappa_per_year=float(theta[1]),
        sigma=float(theta[2]),
        std_errors={
            "long_run_estimate": mu_se,
            "kappa_per_year": float(se[1]),
            "sigma": float(se[2]),
        },
        initial=float(last["SOFR"]) / 100.0,
        initial_date=pd.Timestamp(last["date"]).date(),
        n_obs=int(x.size),
        first_month=str(monthly.index[0]),
        last_month=str(monthly.index[-1]),
        log_likelihood=loglik,
        residuals=tuple(float(v) for v in z),
    )


# --- Regimes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegimeCalibration:
    """Monthly switching probabilities of the tight/glut chain, and the regime at ``as_of``.

    Two methods, named in ``method``:

    * ``"markov_switching"`` (:func:`fit_regime_chain`): a two-state Markov-switching
      regression fitted by maximum likelihood (statsmodels ``MarkovRegression``) to the pooled
      monthly log rent index; the standard errors are the fit's.
    * ``"timeline"`` (:func:`calibrate_regimes`): ``p = switches / months at risk`` read from a
      known regime path, standard error ``sqrt(p (1 - p) / n)``.
    * ``"prior"``: too few months (or no convergence): the sourced values stand.

    With no switch out of a state (or no fit) the sourced value is used (``source`` says so).

    Attributes
    ----------
    p_tight_to_glut, p_glut_to_tight : float
        Monthly switching probabilities.
    std_errors : dict of str to float
        Standard errors of every estimate (``p_*``, ``level_*``, ``trend_per_year``).
    months_at_risk, switches : dict of str to int
        Months spent in each state (but the last) and switches out of it on the regime path.
    source : dict of str to str
        How each probability was obtained.
    method : str
        ``"markov_switching"``, ``"timeline"`` or ``"prior"``.
    initial : int
        Regime at ``as_of`` (0 tight, 1 glut): glut when the filtered probability
        ``P(glut | index up to as_of)`` exceeds 0.5. Tight with no fit.
    p_glut_at_as_of : float
        That filtered probability (NaN with no fit).
    level_tight, level_glut : float
        Regime means of the detrended log index, centred so that they average to zero over the
        chain's stationary distribution (natural-log units; NaN with no fit).
    trend_per_year : float
        Slope of the log index fitted jointly with the regime means (log units per year; the
        index is the successor-step-adjusted pooled index, so this is ``-decay``, net of
        ``successor_log_step``).
    sigma : float
        Residual sd of the log index around trend + regime mean (log units, one month).
    log_likelihood : float
        Maximised log-likelihood of the fit (NaN with no fit).
    n_months, n_interpolated : int
        Months of the fitted series (first observed month to the last on or before
        ``as_of``), and how many of them had no index value and were interpolated.
    months : tuple of str
        ISO month starts of the fitted series.
    filtered_glut, smoothed_glut : tuple of float
        ``P(glut | data to month t)`` and ``P(glut | data to the last month)``, per month.
    converged : bool
        Whether the optimiser converged without a warning.
    successor_log_step : float
        Log decline of the rent trend per successor ramp (natural-log units) that the fit
        takes out and the engine uses: fitted jointly with the trend and the regime means
        when the index spans at least ``MIN_SUCCESSOR_RAMPS`` ramps and the estimate passes
        the adoption rule (0 when it is significantly negative), else the sourced
        ``defaults.SUCCESSOR_LOG_STEP``; ``source["successor_log_step"]`` says which.
    successor_step_estimate : float
        The joint fit's unconstrained estimate (NaN when not fitted); its standard error is
        ``std_errors["successor_log_step"]``.
    n_successor_ramps : int
        Successor ramps the index spans by ``as_of``.
    """

    p_tight_to_glut: float
    p_glut_to_tight: float
    std_errors: dict[str, float]
    months_at_risk: dict[str, int]
    switches: dict[str, int]
    source: dict[str, str]
    method: str = "timeline"
    initial: int = TIGHT
    p_glut_at_as_of: float = math.nan
    level_tight: float = math.nan
    level_glut: float = math.nan
    trend_per_year: float = math.nan
    sigma: float = math.nan
    log_likelihood: float = math.nan
    n_months: int = 0
    n_interpolated: int = 0
    months: tuple[str, ...] = ()
    filtered_glut: tuple[float, ...] = ()
    smoothed_glut: tuple[float, ...] = ()
    converged: bool = True
    successor_log_step: float = defaults.SUCCESSOR_LOG_STEP
    successor_step_estimate: float = math.nan
    n_successor_ramps: int = 0

    def regime_path(self) -> dict[dt.date, int]:
        """Month start -> regime (glut where the smoothed probability exceeds 0.5).

        Empty with no fit. Smoothing uses the data up to ``as_of`` only (point in time).
        """
        return {
            dt.date.fromisoformat(m): (GLUT if p > 0.5 else TIGHT)
            for m, p in zip(self.months, self.smoothed_glut, strict=True)
        }


def calibrate_regimes(regime_path: Mapping[dt.date, int]) -> RegimeCalibration:
    """Switching probabilities of the two-state chain from a known monthly regime path.

    Parameters
    ----------
    regime_path : mapping of date to int
        Consecutive month starts -> regime (0 tight, 1 glut).

    Returns
    -------
    RegimeCalibration
    """
    states = [int(regime_path[m]) for m in sorted(regime_path)]
    out: dict[str, float] = {}
    se: dict[str, float] = {}
    at_risk: dict[str, int] = {}
    switches: dict[str, int] = {}
    source: dict[str, str] = {}
    sourced = {
        "p_tight_to_glut": defaults.P_TIGHT_TO_GLUT,
        "p_glut_to_tight": defaults.P_GLUT_TO_TIGHT,
    }
    for name, state in (("p_tight_to_glut", TIGHT), ("p_glut_to_tight", GLUT)):
        n = sum(1 for s in states[:-1] if s == state)
        k = sum(1 for s, nxt in itertools.pairwise(states) if s == state != nxt)
        at_risk[name], switches[name] = n, k
        if k > 0:
            p = k / n
            out[name], se[name] = p, math.sqrt(p * (1.0 - p) / n)
            source[name] = f"{k} switch(es) in {n} months of the regime timeline"
        else:
            out[name], se[name] = sourced[name], math.nan
            source[name] = "sourced (factors/defaults.py): no switch in the timeline"
    return RegimeCalibration(
        out["p_tight_to_glut"], out["p_glut_to_tight"], se, at_risk, switches, source
    )


#: Fewest months (first observed month to the last on or before ``as_of``) of the pooled rent
#: index the Markov-switching fit needs; with fewer the sourced switching probabilities stand
#: and the chain starts tight.
MIN_REGIME_MONTHS = 24

#: Largest share of interpolated (unobserved) months the regime fit accepts.
MAX_INTERPOLATED_SHARE = 0.6


def market_rent_index(
    index: pd.DataFrame,
    as_of: dt.date,
    *,
    successor_log_step: float = defaults.SUCCESSOR_LOG_STEP,
    log_rent_weight: float = 1.0,
) -> pd.Series:
    """Pooled monthly log rent index of every generation, successor steps taken out.

    For each generation ``g`` and observed month ``t``, ``z = log R_g(t) + S_g(t)`` (the
    successor-step decline of :func:`calibrate_rent`, ``successor_log_step`` per ramp, added
    back), and
    ``z = a_g + b_t + e`` is fitted by weighted least squares (weight ``min(n_obs, N)``,
    ``N = N_OBS_FULL_WEIGHT``; ``a`` of the first generation is 0): ``b_t`` is the market's
    log rent in month ``t`` net of the generation mix (a chain-linked index).

    Parameters
    ----------
    index : pandas.DataFrame
        As :func:`calibrate_rent` takes it (USD per GPU-hour).
    as_of : date
        Months after it are dropped (point in time).
    successor_log_step : float, optional
        Log decline per successor ramp added back (natural-log units); default the sourced
        ``defaults.SUCCESSOR_LOG_STEP``.
    log_rent_weight : float, optional
        Multiplier of ``log R`` in ``z`` (1). With 0 and a step of 1 the index is the pooled
        number of successor ramps relative to ``as_of`` (the regressor of the step size in
        :func:`fit_regime_chain`); the least squares are linear in ``z``, so the index with
        step ``s`` is the index with step 0 plus ``s`` times that one.

    Returns
    -------
    pandas.Series
        Log index (natural-log units) on every month start from the first observed month to
        the last observed one on or before ``as_of``; NaN where no generation has a value.
    """
    frame = index
    if "rental_type" in frame.columns:
        frame = frame[frame["rental_type"] == "on_demand"]
    month = pd.to_datetime(frame["month"])
    keep = (month <= pd.Timestamp(as_of)) & frame["usd_per_gpu_hour"].notna()
    keep &= frame["n_obs"] > 0
    frame = frame[keep].assign(month=month[keep])
    if frame.empty:
        return pd.Series(dtype=np.float64)
    z = log_rent_weight * np.log(frame["usd_per_gpu_hour"].to_numpy(dtype=np.float64))
    for gen, rows in frame.groupby("generation", sort=True):
        pos = frame.index.get_indexer(rows.index)
        mids = [_month(m) + dt.timedelta(days=14) for m in rows["month"]]
        z[pos] += _step_decline(str(gen), mids, as_of, successor_log_step)
    gens = sorted(frame["generation"].unique())
    months = pd.date_range(frame["month"].min(), frame["month"].max(), freq="MS")
    observed = sorted(set(frame["month"]))
    g_idx = frame["generation"].map({g: i for i, g in enumerate(gens)}).to_numpy()
    m_idx = pd.DatetimeIndex(observed).get_indexer(pd.DatetimeIndex(frame["month"]))
    n_gen = len(gens)
    design = np.zeros((len(frame), n_gen - 1 + len(observed)))
    rows_i = np.arange(len(frame))
    has_a = g_idx > 0
    design[rows_i[has_a], g_idx[has_a] - 1] = 1.0
    design[rows_i, n_gen - 1 + m_idx] = 1.0
    w = np.sqrt(np.minimum(frame["n_obs"].to_numpy(dtype=np.float64), N_OBS_FULL_WEIGHT))
    beta = np.linalg.lstsq(design * w[:, None], z * w, rcond=None)[0]
    out = pd.Series(np.nan, index=months, dtype=np.float64)
    out[pd.DatetimeIndex(observed)] = beta[n_gen - 1 :]
    return out


def _prior_regimes(reason: str, months: list[dt.date]) -> RegimeCalibration:
    note = f"prior (factors/defaults.py): {reason}"
    return RegimeCalibration(
        p_tight_to_glut=defaults.P_TIGHT_TO_GLUT,
        p_glut_to_tight=defaults.P_GLUT_TO_TIGHT,
        std_errors={"p_tight_to_glut": math.nan, "p_glut_to_tight": math.nan},
        months_at_risk={},
        switches={},
        source={
            "p_tight_to_glut": note,
            "p_glut_to_tight": note,
            "initial": f"tight: {reason}",
            "successor_log_step": f"sourced {defaults.SUCCESSOR_LOG_STEP:g}: {reason}",
        },
        method="prior",
        months=tuple(m.isoformat() for m in months),
        smoothed_glut=tuple(0.0 for _ in months),
        filtered_glut=tuple(0.0 for _ in months),
        n_months=len(months),
    )


#: Fewest successor ramps the pooled rent index must span (observed before the volume date and
#: after the ramp ends, on or before ``as_of``) for :func:`fit_regime_chain` to fit the step
#: size; with fewer a ramp cannot be told from a regime switch or the trend, and the sourced
#: ``defaults.SUCCESSOR_LOG_STEP`` stands.
MIN_SUCCESSOR_RAMPS = 2


def _observed_ramps(index: pd.DataFrame, as_of: dt.date) -> int:
    """Successor ramps the on-demand index spans by ``as_of``.

    A successor counts when some generation it steps down has a value before the successor's
    volume date and one on or after the end of its ramp (``RAMP_MONTHS`` later), both on or
    before ``as_of``.
    """
    frame = index
    if "rental_type" in frame.columns:
        frame = frame[frame["rental_type"] == "on_demand"]
    month = pd.to_datetime(frame["month"])
    keep = (month <= pd.Timestamp(as_of)) & frame["usd_per_gpu_hour"].notna()
    keep &= frame["n_obs"] > 0
    presets = generation_presets()
    spanned: set[str] = set()
    for gen, months in month[keep].groupby(frame.loc[keep, "generation"]):
        first, last = _month(months.min()), _month(months.max())
        nxt = presets[str(gen)].successor if str(gen) in presets else None
        while nxt is not None and nxt in presets:
            volume = presets[nxt].volume_date
            end = volume + dt.timedelta(days=round(defaults.RAMP_MONTHS * DAYS_PER_YEAR / 12))
            if first < _month(volume) and _month(end) <= last:
                spanned.add(nxt)
            nxt = presets[nxt].successor
    return len(spanned)


def _nm_fit(model: MarkovRegression, start: Float64Array) -> tuple[Any, bool] | str:
    """One Nelder-Mead fit of ``model`` from ``start``: the fit and whether it converged
    without a warning, or why it failed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = model.fit(start_params=start, em_iter=0, method="nm", maxiter=5000, disp=False)
        except (RuntimeError, np.linalg.LinAlgError, ValueError) as exc:
            return f"Markov-switching fit failed ({exc})"
    ok = bool(fit.mle_retvals.get("converged", False)) and not any(
        issubclass(w.category, ConvergenceWarning) for w in caught
    )
    if not math.isfinite(float(fit.llf)):
        return "no start gave a finite likelihood"
    return fit, ok


def _markov_fit(
    y: Float64Array,
    years: Float64Array,
    step_x: Float64Array | None = None,
    extra_start: Float64Array | None = None,
) -> tuple[MarkovRegression, Any, bool] | str:
    """Markov-switching fit of ``y = c[s] + beta years (+ step x) + e``: model, fit, converged.

    Deterministic starts (no random search, so the fit is reproducible): a small grid of
    persistences with the means at the detrended quartiles and the OLS slope (the step
    ``x`` column, when given, starts at the sourced step), then ``extra_start`` if given;
    Nelder-Mead from each (statsmodels' EM and BFGS steps can run the slope away on a
    trending series); the highest likelihood among the converged fits wins. A string says
    why no fit came back.
    """
    if step_x is None:
        exog, base, step0 = years, y, []
    else:
        exog = np.column_stack([years, step_x])
        base, step0 = y - defaults.SUCCESSOR_LOG_STEP * step_x, [defaults.SUCCESSOR_LOG_STEP]
    model = MarkovRegression(
        y, k_regimes=2, trend="c", exog=exog, switching_exog=False, switching_variance=False
    )
    ols = np.polyfit(years, base, 1)
    resid = base - np.polyval(ols, years)
    hi, lo = (float(q) + float(ols[1]) for q in np.quantile(resid, (0.75, 0.25)))
    var = max(float(np.var(resid)) / 4.0, 1e-6)
    starts = [
        np.array([stay, back, hi, lo, float(ols[0]), *step0, var])
        for stay, back in ((0.9, 0.1), (0.95, 0.05), (0.8, 0.2))
    ]
    if extra_start is not None:
        starts.append(extra_start)
    best: Any = None
    best_ok = False
    failure = "no start gave a finite likelihood"
    for start in starts:
        fitted = _nm_fit(model, start)
        if isinstance(fitted, str):
            failure = fitted
            continue
        fit, ok = fitted
        if best is None or (ok, float(fit.llf)) > (best_ok, float(best.llf)):
            best, best_ok = fit, ok
    if best is None:
        return failure
    return model, best, best_ok


@dataclass(frozen=True)
class _StepFit:
    value: float  # the step the fit and the engine use (log decline per ramp)
    estimate: float  # unconstrained joint MLE (NaN when not fitted)
    std_error: float
    note: str
    n_ramps: int
    joint: tuple[MarkovRegression, Any, bool] | None  # the joint fit, when its step is used


def _fit_successor_step(
    index: pd.DataFrame, as_of: dt.date, years: Float64Array, held: Any
) -> _StepFit:
    """Successor-step size fitted jointly with the trend and the regimes, or the sourced one.

    The joint model is :func:`_markov_fit`'s on the pooled index with no step taken out,
    ``y = c[s] + beta years + step x + e``, ``x = -(r - mean r)`` where ``r`` is the pooled
    count of successor ramps (:func:`market_rent_index` with ``log_rent_weight=0``), so
    ``step`` is the log decline per ramp net of the trend. It is fitted from :func:`_markov_fit`'s
    starts plus ``held`` (the fit with the sourced step held: the joint model's conditional
    optimum at that step); with few data the likelihood has several modes. The estimate is
    used as :func:`_adopt` would (``ADOPT_MIN_T``, ``PLAUSIBLE``); one at least
    ``ADOPT_MIN_T`` standard errors below zero gives 0 (its bound: the data reject a fall at
    the ramps beyond the trend); fewer than ``MIN_SUCCESSOR_RAMPS`` ramps spanned, or no fit,
    keep the sourced step.
    """
    sourced = defaults.SUCCESSOR_LOG_STEP
    n_ramps = _observed_ramps(index, as_of)
    if n_ramps < MIN_SUCCESSOR_RAMPS:
        note = (
            f"sourced {sourced:g} kept: {n_ramps} successor ramp(s) spanned by the index to "
            f"{as_of} (fewer than {MIN_SUCCESSOR_RAMPS}): a step cannot be told from the trend "
            "or a regime switch"
        )
        return _StepFit(sourced, math.nan, math.nan, note, n_ramps, None)
    y = market_rent_index(index, as_of, successor_log_step=0.0).interpolate().to_numpy()
    ramps = market_rent_index(index, as_of, successor_log_step=1.0, log_rent_weight=0.0)
    r = ramps.interpolate().to_numpy(dtype=np.float64)
    x = -(r - r.mean())
    # held: (p00, p10, c0, c1, slope, sigma2) fitted on y + sourced r, which is
    # y - sourced x + sourced mean(r): its constants are ours plus that shift
    p = np.asarray(held.params, dtype=np.float64)
    shift = sourced * float(r.mean())
    start = np.array([p[0], p[1], p[2] - shift, p[3] - shift, p[4], sourced, p[5]])
    fitted = _markov_fit(y, years, x, start)
    if isinstance(fitted, str):
        note = f"sourced {sourced:g} kept: {fitted}"
        return _StepFit(sourced, math.nan, math.nan, note, n_ramps, None)
    model, res, converged = fitted
    names = list(model.param_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a flat direction gives NaN, reported as such
        bse = dict(zip(names, np.asarray(res.bse, dtype=np.float64), strict=True))
    par = dict(zip(names, np.asarray(res.params, dtype=np.float64), strict=True))
    name = next(n for n in names if n.startswith("x2"))  # the step's regressor
    estimate, se = float(par[name]), float(bse[name])
    tag = f"joint trend-regime-step fit over {n_ramps} successor ramps"
    if math.isfinite(se) and se > 0.0 and estimate <= -ADOPT_MIN_T * se:
        note = (
            f"calibrated 0 ({tag}: estimate {estimate:.4g}, s.e. {se:.2g}, below 0 by "
            f"{-estimate / se:.1f} s.e.; floored at its bound 0)"
        )
        return _StepFit(0.0, estimate, se, note, n_ramps, None)
    value, note = _adopt("rent.successor_log_step", estimate, se, sourced, not converged)
    joint = (model, res, converged) if value == estimate else None
    return _StepFit(value, estimate, se, f"{tag}: {note}", n_ramps, joint)


def fit_regime_chain(index: pd.DataFrame, *, as_of: dt.date) -> RegimeCalibration:
    """Fit the tight/glut chain to the pooled monthly rent index (point in time).

    Model (statsmodels ``MarkovRegression``, two regimes, exact MLE by the Hamilton filter)::

        b_t = c[s_t] + beta * t_years + e_t,   e_t ~ N(0, sigma^2),
        P(s_t = j | s_{t-1} = i) = p_ij

    on :func:`market_rent_index` (successor steps out; months without a value are linearly
    interpolated in log, at most ``MAX_INTERPOLATED_SHARE`` of them). The step size taken out
    is fitted first (``_fit_successor_step``): the same model on the index with no step out,
    plus ``step * x_t`` with ``x_t`` minus the pooled count of successor ramps, so the trend,
    the regime means and the step are estimated together; the step is used when the index
    spans at least ``MIN_SUCCESSOR_RAMPS`` ramps and the estimate passes the adoption rule
    (then that joint fit is the fit), 0 when it is significantly negative, else the sourced
    ``defaults.SUCCESSOR_LOG_STEP`` (``source["successor_log_step"]`` says which). The trend
    ``beta`` and the regime means ``c`` are fitted jointly, so the trend is not the midpoint
    of hand-set regimes; the reported levels are ``c`` less their stationary mean
    (``pi_tight c_tight + pi_glut c_glut``), so they average to zero over the chain: the
    trend carries the mean decline and the regimes only the cycle around it. Tight is the
    regime with the higher mean. The regime at ``as_of`` is glut when the filtered
    probability ``P(glut | data to as_of)`` exceeds 0.5.

    Parameters
    ----------
    index : pandas.DataFrame
        Monthly rent index (USD per GPU-hour), as :func:`calibrate_rent` takes it.
    as_of : date
        Nothing dated after it is used.

    Returns
    -------
    RegimeCalibration
        ``method="markov_switching"``, or ``"prior"`` (sourced probabilities, tight start)
        with fewer than ``MIN_REGIME_MONTHS`` months, too many gaps, or a failed fit.
    """
    series = market_rent_index(index, as_of)
    months = [_month(m) for m in series.index]
    if len(series) < MIN_REGIME_MONTHS:
        return _prior_regimes(
            f"{len(series)} months of rent index to {as_of} (fewer than {MIN_REGIME_MONTHS})",
            months,
        )
    n_interp = int(series.isna().sum())
    if n_interp > MAX_INTERPOLATED_SHARE * len(series):
        return _prior_regimes(
            f"{n_interp} of {len(series)} index months missing (more than "
            f"{MAX_INTERPOLATED_SHARE:.0%})",
            months,
        )
    years = np.arange(len(series), dtype=np.float64) / 12.0
    years -= years.mean()  # centred: the slope does not trade off against the constants
    y = series.interpolate().to_numpy(dtype=np.float64)
    fitted = _markov_fit(y, years)  # the sourced step held
    if isinstance(fitted, str):
        return _prior_regimes(fitted, months)
    model, res, converged = fitted
    step = _fit_successor_step(index, as_of, years, res)
    if step.joint is not None:  # the joint fit's step is used: that fit is the fit
        model, res, converged = step.joint
    elif step.value != defaults.SUCCESSOR_LOG_STEP:  # floored at 0: refit with it held
        series = market_rent_index(index, as_of, successor_log_step=step.value)
        y = series.interpolate().to_numpy(dtype=np.float64)
        fitted = _markov_fit(y, years)
        if isinstance(fitted, str):
            return _prior_regimes(fitted, months)
        model, res, converged = fitted
    names = list(model.param_names)
    par = dict(zip(names, np.asarray(res.params, dtype=np.float64), strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a flat direction gives NaN, reported as such
        bse = dict(zip(names, np.asarray(res.bse, dtype=np.float64), strict=True))
    slope = next(n for n in names if n.startswith("x1"))  # the trend's (only) exog
    tight = 0 if par["const[0]"] >= par["const[1]"] else 1
    glut = 1 - tight
    # p[i->j] = P(s_t = j | s_{t-1} = i); statsmodels estimates p[0->0] and p[1->0].
    if tight == 0:
        p_tg, se_tg = 1.0 - par["p[0->0]"], bse["p[0->0]"]
        p_gt, se_gt = par["p[1->0]"], bse["p[1->0]"]
    else:
        p_tg, se_tg = par["p[1->0]"], bse["p[1->0]"]
        p_gt, se_gt = 1.0 - par["p[0->0]"], bse["p[0->0]"]
    values = (p_tg, p_gt, par["const[0]"], par["const[1]"], par[slope], par["sigma2"])
    if not all(math.isfinite(v) for v in values) or p_tg + p_gt <= 0.0:
        return _prior_regimes("Markov-switching fit not finite", months)
    pi_glut = p_tg / (p_tg + p_gt)
    c_t, c_g = par[f"const[{tight}]"], par[f"const[{glut}]"]
    centre = (1.0 - pi_glut) * c_t + pi_glut * c_g
    filtered = np.asarray(res.filtered_marginal_probabilities, dtype=np.float64)[:, glut]
    smoothed = np.asarray(res.smoothed_marginal_probabilities, dtype=np.float64)[:, glut]
    states = [GLUT if p > 0.5 else TIGHT for p in smoothed]
    at_risk, switches = _count_switches(states)
    tag = (
        f"Markov-switching MLE (statsmodels MarkovRegression), {len(y)} months of the pooled "
        f"rent index {months[0]:%Y-%m}..{months[-1]:%Y-%m} ({n_interp} interpolated)"
    )
    p_last = float(filtered[-1])
    return RegimeCalibration(
        p_tight_to_glut=float(p_tg),
        p_glut_to_tight=float(p_gt),
        std_errors={
            "p_tight_to_glut": float(se_tg),
            "p_glut_to_tight": float(se_gt),
            "level_tight": float(bse[f"const[{tight}]"]),
            "level_glut": float(bse[f"const[{glut}]"]),
            "trend_per_year": float(bse[slope]),
            "successor_log_step": step.std_error,
        },
        months_at_risk=at_risk,
        switches=switches,
        source={
            "p_tight_to_glut": tag,
            "p_glut_to_tight": tag,
            "initial": f"filtered P(glut | index to {months[-1]:%Y-%m}) = {p_last:.2f}",
            "successor_log_step": step.note,
        },
        method="markov_switching",
        initial=GLUT if p_last > 0.5 else TIGHT,
        p_glut_at_as_of=p_last,
        level_tight=float(c_t - centre),
        level_glut=float(c_g - centre),
        trend_per_year=float(par[slope]),
        sigma=math.sqrt(float(par["sigma2"])),
        log_likelihood=float(res.llf),
        n_months=len(y),
        n_interpolated=n_interp,
        months=tuple(m.isoformat() for m in months),
        filtered_glut=tuple(float(v) for v in filtered),
        smoothed_glut=tuple(float(v) for v in smoothed),
        converged=converged,
        successor_log_step=step.value,
        successor_step_estimate=step.estimate,
        n_successor_ramps=step.n_ramps,
    )


def _count_switches(states: list[int]) -> tuple[dict[str, int], dict[str, int]]:
    at_risk: dict[str, int] = {}
    switches: dict[str, int] = {}
    for name, state in (("p_tight_to_glut", TIGHT), ("p_glut_to_tight", GLUT)):
        at_risk[name] = sum(1 for s in states[:-1] if s == state)
        switches[name] = sum(1 for s, nxt in itertools.pairwise(states) if s == state != nxt)
    return at_risk, switches


# --- Assembly -------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


def _restore(cls: type[Any], raw: Mapping[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in raw and f.default is not dataclasses.MISSING:
            continue  # stored before the field existed: its default
        v = raw[f.name]
        kind = str(f.type)
        if kind == "dt.date":
            v = dt.date.fromisoformat(v)
        elif kind == "float":
            v = math.nan if v is None else float(v)
        elif kind.startswith("dict[str, float]"):
            v = {k: (math.nan if x is None else float(x)) for k, x in v.items()}
        elif kind == "tuple[float, ...]":
            v = tuple(math.nan if x is None else float(x) for x in v)
        elif kind == "int":
            v = int(v)
        elif kind == "tuple[str, ...]":
            v = tuple(str(x) for x in v)
        elif kind == "tuple[tuple[str, int], ...]":
            v = tuple((str(m), int(s)) for m, s in v)
        kwargs[f.name] = v
    return cls(**kwargs)


#: An estimate replaces its sourced prior only at this many standard errors from zero.
ADOPT_MIN_T = 2.0
#: Plausible ranges of the engine's parameters (an estimate outside is not adopted): decay
#: and volatilities of GPU rents a year, the tight-regime level (the glut level is its
#: negative; tight must sit above glut), SOFR speed and normal volatility a year, monthly
#: regime switching probabilities. Set wide around the sourced values of factors/defaults.py.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "rent.decay_per_year": (0.0, 0.5),
    "rent.kappa_per_year": (0.1, 6.0),
    "rent.level_tight": (0.02, 0.5),
    "rent.sigma_tight": (0.05, 0.8),
    "rent.sigma_glut": (0.05, 0.8),
    "sofr.kappa_per_year": (0.02, 2.0),
    "sofr.sigma": (0.001, 0.03),
    "regime.p_tight_to_glut": (0.01, 0.5),
    "regime.p_glut_to_tight": (0.01, 0.5),
    # Log decline of rent per successor ramp: up to 0.6 (a 45% cut; AWS's ~44% P5 cut of
    # June 2025 at Blackwell's volume ramp is the largest sourced one, REFERENCES.md).
    "rent.successor_log_step": (0.0, 0.6),
}


def _adopt(
    name: str, estimate: float, se: float | None, prior: float, at_bound: bool
) -> tuple[float, str]:
    """The estimate when the data identify it, else the prior, with the reason."""
    lo, hi = PLAUSIBLE[name]
    if not math.isfinite(estimate):
        return prior, f"prior {prior:.4g} kept (estimate not finite)"
    if at_bound:
        return prior, f"prior {prior:.4g} kept (estimate {estimate:.4g} on an optimiser bound)"
    if se is None or not math.isfinite(se) or se <= 0.0:
        return prior, f"prior {prior:.4g} kept (estimate {estimate:.4g} has no standard error)"
    t = abs(estimate) / se
    if t < ADOPT_MIN_T:
        return prior, f"prior {prior:.4g} kept (estimate {estimate:.4g}, t = {t:.1f})"
    if not lo <= estimate <= hi:
        return prior, (
            f"prior {prior:.4g} kept (estimate {estimate:.4g} outside plausible [{lo}, {hi}])"
        )
    return estimate, f"calibrated {estimate:.4g} (s.e. {se:.2g}, t = {t:.1f})"


def joint_decay(
    regime: RegimeCalibration, prior: float, sources: dict[str, str], tag: str
) -> float:
    """The continuous rent decay from the joint trend-and-regime fit, or the prior.

    ``decay = -trend_per_year`` of :func:`fit_regime_chain` (log units per year; successor
    steps are out of the fitted index, so this is the decline beyond them). Adopted as
    :func:`_adopt` would (``ADOPT_MIN_T``, ``PLAUSIBLE``), except that a trend that rises
    significantly (``decay`` at least ``ADOPT_MIN_T`` standard errors below zero) gives
    ``decay = 0``: the data reject a continuous decline beyond the successor steps, and a
    rising trend is not extrapolated. Writes the decision to ``sources``.
    """
    estimate = -regime.trend_per_year
    se = regime.std_errors.get("trend_per_year", math.nan)
    name = "rent.decay_per_year"
    if math.isfinite(se) and se > 0.0 and estimate <= -ADOPT_MIN_T * se:
        sources[f"calibration.{name}"] = (
            f"{tag}: calibrated 0 (joint trend-regime fit: the trend net of successor steps "
            f"rises, decay estimate {estimate:.4g}, s.e. {se:.2g}; floored at 0)"
        )
        return 0.0
    value, note = _adopt(name, estimate, se, prior, False)
    sources[f"calibration.{name}"] = f"{tag}: joint trend-regime fit: {note}"
    return value


def centred_levels(
    gap: float, p_tight_to_glut: float, p_glut_to_tight: float
) -> tuple[float, float]:
    """Regime levels ``(tight, glut)`` with ``tight - glut = gap`` that average to zero.

    ``pi_tight * tight + pi_glut * glut = 0`` over the chain's stationary distribution
    ``pi_glut = p_tg / (p_tg + p_gt)``: the mean of the log deviation is then zero in the long
    run, so the trend alone carries the mean decline of rent and the glut level is not a
    second, permanent fall. ``gap`` in natural-log units; with both probabilities zero the
    split is symmetric.
    """
    total = p_tight_to_glut + p_glut_to_tight
    pi_glut = p_tight_to_glut / total if total > 0.0 else 0.5
    return gap * pi_glut, -gap * (1.0 - pi_glut)


@dataclass(frozen=True)
class Calibration:
    """Calibrated rent, SOFR and regime parameters as of a date.

    Utilisation and the shock correlations have no shipped data: :meth:`to_params` keeps the
    sourced defaults of ``factors/defaults.py`` for them and says so in ``sources``. ``rent``
    or ``sofr`` is None when the data before ``as_of`` are too few to fit it (fewer than
    ``MIN_RENT_MONTHS`` index months, ``MIN_SOFR_MONTHS`` SOFR months): the priors stand.
    """

    as_of: dt.date
    rent: RentCalibration | None
    sofr: SofrCalibration | None
    regime: RegimeCalibration

    def to_params(
        self, generations: tuple[str, ...], as_of: dt.date, *, rent_prior: bool = False
    ) -> FactorParams:
        """The engine's factor parameters with the calibrated numbers the data identify.

        Each estimate replaces its sourced prior (``factors/defaults.py``) only when the fit
        identifies it: finite, not on an optimiser bound, at least ``ADOPT_MIN_T`` standard
        errors from zero and inside the plausible range in ``PLAUSIBLE``; otherwise the prior
        is kept. ``sources`` says which, parameter by parameter. Rent anchors (the 60-day
        median before ``as_of``), the successor generations and ramps, utilisation and
        correlations come from :func:`~gpucredit.factors.defaults.default_factor_params`
        (``rent_prior`` as there); the successor-step size is the regime fit's
        (``RegimeCalibration.successor_log_step``: fitted, or the sourced one).
        """
        base = defaults.default_factor_params(generations, as_of, rent_prior=rent_prior)
        r = self.rent
        prior = base.rents[0] if base.rents else None
        sources = dict(base.sources)
        tag = f"calibrate_factors(as_of={self.as_of.isoformat()})"

        def adopt(name: str, estimate: float, se: float | None, fallback: float) -> float:
            bound = r is not None and name in r.at_bound
            value, note = _adopt(name, estimate, se, fallback, bound)
            sources[f"calibration.{name}"] = f"{tag}: {note}"
            return value

        g = self.regime
        gse = g.std_errors
        regime = RegimeParams(
            adopt(
                "regime.p_tight_to_glut",
                g.p_tight_to_glut,
                gse.get("p_tight_to_glut"),
                base.regime.p_tight_to_glut,
            ),
            adopt(
                "regime.p_glut_to_tight",
                g.p_glut_to_tight,
                gse.get("p_glut_to_tight"),
                base.regime.p_glut_to_tight,
            ),
            g.initial,
        )
        sources["calibration.regime.initial"] = (
            f"{tag}: {'glut' if g.initial == GLUT else 'tight'} "
            f"({g.source.get('initial', 'no fit')})"
        )
        if "credit_window" in base.sources:
            sources["calibration.credit_window"] = base.sources["credit_window"]
        if r is not None and prior is not None:
            rse = r.std_errors
            if g.method == "markov_switching" and math.isfinite(g.trend_per_year):
                # The decay fitted jointly with the regime means (the trend is what the
                # regimes average to), not the rent fit's, which takes the regimes as known.
                decay = joint_decay(g, prior.decay_per_year, sources, tag)
            else:
                decay = adopt(
                    "rent.decay_per_year",
                    r.decay_per_year,
                    rse.get("decay_per_year"),
                    prior.decay_per_year,
                )
            kappa = adopt(
                "rent.kappa_per_year",
                r.kappa_per_year,
                rse.get("kappa_per_year"),
                prior.kappa_per_year,
            )
            if g.method == "markov_switching" and math.isfinite(g.level_tight - g.level_glut):
                # The regime levels of the Markov-switching fit (fitted jointly with the
                # trend); half their gap goes through the usual adoption rule.
                half = 0.5 * (g.level_tight - g.level_glut)
                half_se = 0.5 * math.hypot(
                    g.std_errors.get("level_tight", math.nan),
                    g.std_errors.get("level_glut", math.nan),
                )
                value, note = _adopt("rent.level_tight", half, half_se, prior.level_tight, False)
                sources["calibration.rent.level_tight"] = (
                    f"{tag}: half the Markov-switching fit's level gap: {note}"
                )
                gap = value
            else:
                gap = adopt(
                    "rent.level_tight", r.level_tight, rse.get("level_tight"), prior.level_tight
                )
            s_tight = adopt(
                "rent.sigma_tight", r.sigma_tight, rse.get("sigma_tight"), prior.sigma_tight
            )
            s_glut = adopt("rent.sigma_glut", r.sigma_glut, rse.get("sigma_glut"), prior.sigma_glut)
            # Centre the regime levels over the chain's stationary distribution (the gap
            # 2 * gap stays): the trend carries the mean decline, the regimes the cycle.
            level_t, level_g = centred_levels(
                2.0 * gap, regime.p_tight_to_glut, regime.p_glut_to_tight
            )
            sources["rent.levels"] = (
                f"{tag}: regime levels centred on the trend over the chain's stationary "
                f"distribution: tight {level_t:+.4f}, glut {level_g:+.4f} (log)"
            )
            # The step the decay is net of: one fall counted once, by the step or the trend.
            step = g.successor_log_step
            sources["calibration.rent.successor_log_step"] = (
                f"{tag}: {step:g} per successor ramp over {defaults.RAMP_MONTHS} months "
                f"({g.source.get('successor_log_step', 'sourced: no regime fit')})"
            )
            rents = tuple(
                dataclasses.replace(
                    p,
                    decay_per_year=decay,
                    kappa_per_year=kappa,
                    level_tight=level_t,
                    level_glut=level_g,
                    sigma_tight=s_tight,
                    sigma_glut=s_glut,
                    successors=tuple(dataclasses.replace(st, log_step=step) for st in p.successors),
                )
                for p in base.rents
            )
        else:
            rents = base.rents
        s = self.sofr
        if s is not None:
            sse = s.std_errors
            sofr = dataclasses.replace(
                base.sofr,
                long_run=s.long_run,
                kappa_per_year=adopt(
                    "sofr.kappa_per_year",
                    s.kappa_per_year,
                    sse.get("kappa_per_year"),
                    base.sofr.kappa_per_year,
                ),
                sigma=adopt("sofr.sigma", s.sigma, sse.get("sigma"), base.sofr.sigma),
            )
        else:
            sofr = base.sofr
        if r is not None:
            sources["rent.model"] = (
                f"{tag}: on-demand rent index MLE, {r.n_obs} monthly values; successor step "
                f"{r.successor_log_step:g} over {r.ramp_months} months held (the regime fit's)"
            )
        else:
            sources["rent.model"] = (
                f"{tag}: sourced priors (factors/defaults.py): fewer than {MIN_RENT_MONTHS} "
                f"rent index months on or before {self.as_of}"
            )
        if s is not None:
            sources["sofr.dynamics"] = (
                f"{tag}: monthly SOFR AR(1) MLE, {s.first_month}..{s.last_month}"
            )
            sources["sofr.long_run"] = s.long_run_source
        else:
            sources["sofr.dynamics"] = (
                f"{tag}: sourced priors (factors/defaults.py): fewer than {MIN_SOFR_MONTHS} "
                f"months of SOFR on or before {self.as_of} (SOFR starts 2018-04-03)"
            )
        sources["regime"] = "; ".join(f"{k}: {v}" for k, v in self.regime.source.items())
        sources["utilisation"] = "sourced defaults (factors/defaults.py): no shipped data"
        sources["correlation"] = "sourced defaults (factors/defaults.py): no shipped data"
        return dataclasses.replace(base, regime=regime, rents=rents, sofr=sofr, sources=sources)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (dates as ISO strings, non-finite numbers as ``None``)."""
        return {
            "as_of": self.as_of.isoformat(),
            "rent": None if self.rent is None else _jsonable(dataclasses.asdict(self.rent)),
            "sofr": None if self.sofr is None else _jsonable(dataclasses.asdict(self.sofr)),
            "regime": _jsonable(dataclasses.asdict(self.regime)),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Calibration:
        """Inverse of :meth:`to_dict`."""
        return cls(
            as_of=dt.date.fromisoformat(raw["as_of"]),
            rent=None if raw["rent"] is None else _restore(RentCalibration, raw["rent"]),
            sofr=None if raw["sofr"] is None else _restore(SofrCalibration, raw["sofr"]),
            regime=_restore(RegimeCalibration, raw["regime"]),
        )

    def diagnostics(self) -> dict[str, Any]:
        """Fit diagnostics: log-likelihoods, sample sizes, standard errors, residual quantiles."""
        q = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)

        def quantiles(x: tuple[float, ...]) -> dict[str, float]:
            arr = np.asarray(x, dtype=np.float64)
            return {f"q{int(p * 100):02d}": float(np.quantile(arr, p)) for p in q}

        r, s = self.rent, self.sofr
        out: dict[str, Any] = _jsonable(
            {
                "rent": None
                if r is None
                else {
                    "log_likelihood": r.log_likelihood,
                    "n_obs": r.n_obs,
                    "n_obs_by_generation": r.n_obs_by_generation,
                    "converged": r.converged,
                    "at_bound": r.at_bound,
                    "std_errors": r.std_errors,
                    "residual_quantiles": quantiles(r.residuals),
                    "residual_sd": float(np.std(r.residuals)),
                },
                "sofr": None
                if s is None
                else {
                    "log_likelihood": s.log_likelihood,
                    "n_obs": s.n_obs,
                    "std_errors": s.std_errors,
                    "long_run_source": s.long_run_source,
                    "residual_quantiles": quantiles(s.residuals),
                    "residual_sd": float(np.std(s.residuals)),
                },
                "regime": {
                    "method": self.regime.method,
                    "estimates": {
                        "p_tight_to_glut": self.regime.p_tight_to_glut,
                        "p_glut_to_tight": self.regime.p_glut_to_tight,
                        "level_tight": self.regime.level_tight,
                        "level_glut": self.regime.level_glut,
                        "trend_per_year": self.regime.trend_per_year,
                        "sigma": self.regime.sigma,
                        "successor_log_step": self.regime.successor_log_step,
                        "successor_step_estimate": self.regime.successor_step_estimate,
                    },
                    "n_successor_ramps": self.regime.n_successor_ramps,
                    "std_errors": self.regime.std_errors,
                    "initial": "glut" if self.regime.initial == GLUT else "tight",
                    "p_glut_at_as_of": self.regime.p_glut_at_as_of,
                    "log_likelihood": self.regime.log_likelihood,
                    "n_months": self.regime.n_months,
                    "n_interpolated": self.regime.n_interpolated,
                    "converged": self.regime.converged,
                    "months_at_risk": self.regime.months_at_risk,
                    "switches": self.regime.switches,
                    "source": self.regime.source,
                },
            }
        )
        return out


def shipped_rent_index(as_of: dt.date) -> pd.DataFrame:
    """The shipped monthly rent index built from the observations dated on or before ``as_of``
    only (a month that holds ``as_of`` keeps its days up to ``as_of``), as
    :func:`~gpucredit.market.rent_index.monthly_rent_index`."""
    obs = rental_observations()
    keep = obs["generation"].isin(GENERATIONS) & (obs["date"] <= pd.Timestamp(as_of))
    return monthly_rent_index(obs[keep])


def calibrate_factors(
    as_of: dt.date,
    *,
    rent_index: pd.DataFrame | None = None,
    rates: pd.DataFrame | None = None,
) -> Calibration:
    """Calibrate rent, SOFR and regime parameters as of ``as_of`` (point in time).

    Parameters
    ----------
    as_of : date
        Nothing dated after it is used.
    rent_index : pandas.DataFrame, optional
        Monthly index as :func:`~gpucredit.market.rent_index.monthly_rent_index` returns
        (USD per GPU-hour); default :func:`shipped_rent_index`. Months after ``as_of`` dropped.
    rates : pandas.DataFrame, optional
        Columns ``date`` and ``SOFR`` (percent), daily; default ``data/rates_daily.csv``.

    Returns
    -------
    Calibration
        ``rent`` None with fewer than ``MIN_RENT_MONTHS`` index months to ``as_of``, ``sofr``
        None with fewer than ``MIN_SOFR_MONTHS`` SOFR months: the sourced priors stand.

    The regime chain is :func:`fit_regime_chain` on the same index (its switching
    probabilities, the regime at ``as_of``, the successor-step size), and the rent fit takes
    the fit's smoothed regime of each month and its step as known: nothing after ``as_of``
    decides a month's regime or the step.
    """
    table = shipped_rent_index(as_of) if rent_index is None else rent_index
    month = pd.to_datetime(table["month"]) if not table.empty else pd.Series(dtype="M8[ns]")
    od = table[
        (table["rental_type"] == "on_demand")
        & table["usd_per_gpu_hour"].notna()
        & (month <= pd.Timestamp(as_of))
    ]
    start = min(pd.Timestamp(od["month"].min()).date(), as_of) if not od.empty else as_of
    regime = fit_regime_chain(table, as_of=as_of)
    # The fit's (smoothed, data to as_of only) regime of each month; tight where it has none.
    path = {m: regime.regime_path().get(m, TIGHT) for m in _months(start, as_of)}
    rent = (
        calibrate_rent(
            table, as_of=as_of, regime_path=path, successor_log_step=regime.successor_log_step
        )
        if len(od) >= MIN_RENT_MONTHS
        else None
    )
    sofr: SofrCalibration | None
    try:
        sofr = calibrate_sofr(_rates() if rates is None else rates, as_of=as_of)
    except DataError:  # no SOFR, or fewer than MIN_SOFR_MONTHS months, on or before as_of
        sofr = None
    return Calibration(as_of, rent, sofr, regime)
