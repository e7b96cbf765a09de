"""Bitcoin factor models: a heavy-tailed price, network hash rate and the hashprice they give.

**Price.** Daily log returns follow a Merton jump-diffusion (DESIGN.md section 3):

``r_t = mu + sigma Z_t + sum_{j=1}^{N_t} J_j``, ``Z_t ~ N(0, 1)``, ``N_t ~ Poisson(lambda)``,
``J_j ~ N(m, v^2)``, all independent; one step is one UTC day (bitcoin trades every day).
The density of ``r_t`` is the Poisson mixture
``sum_k Pois(k; lambda) N(r_t; mu + k m, sigma^2 + k v^2)``, truncated at
:data:`MAX_JUMPS_PER_DAY` jumps. :func:`fit_btc_jump_diffusion` maximises its likelihood on
daily ``PriceUSD`` of ``data/btc_daily.csv`` (Coin Metrics Community data) over a window
ending at ``as_of``; standard errors come from the inverse of the numerical Hessian of the
negative log-likelihood (the observed information).

:func:`simulate_btc` gives month-end prices. A month of ``n`` days is the sum of ``n`` daily
steps, and that sum has an exact law that is cheap to draw: the diffusion part is
``N(n mu, n sigma^2)``, the number of jumps is ``Poisson(n lambda)`` and, given ``K`` jumps,
their sum is ``N(K m, K v^2)``. Drawing those three per path and month is the daily process
summed within the month, vectorised over paths and months.

**Hash rate.** The log of the monthly mean network hash rate (Coin Metrics ``HashRate``,
TH/s) is a random walk with drift: ``log H_{m+1} - log H_m ~ N(g, s^2)``, fitted by its
sample mean and standard deviation (:func:`fit_hashrate`).

**Hashprice.** ``price x (subsidy + fees) x blocks per day / hash rate``, in USD per PH/s per
day (:func:`hashprice_usd_per_ph_day_from`). The subsidy follows the protocol rule
(:func:`gpucredit.market.bitcoin.block_subsidy_btc`) at the chain height advanced from the
height on ``as_of`` at the recent block rate of
:func:`gpucredit.market.bitcoin.next_halving_estimate` (about 144 a day), so the next halving
lands on that function's estimated date. Fees enter as a constant share of miner revenue: the
median ``fee_share`` of ``data/btc_hashprice_daily.csv`` over the year to ``as_of``, so
``subsidy + fees = subsidy / (1 - fee_share)``.

The price and the hash rate are simulated independently (see the limits in
``docs/backtests.md``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

from gpucredit._typing import Float64Array
from gpucredit.errors import DataError
from gpucredit.market.bitcoin import (
    block_subsidy_btc,
    next_halving_estimate,
    shipped_hashprice,
)
from gpucredit.market.files import data_path

__all__ = [
    "DAYS_PER_MONTH",
    "MAX_JUMPS_PER_DAY",
    "BtcFit",
    "HashpriceParams",
    "HashpricePaths",
    "HashrateFit",
    "HashrateParams",
    "JumpDiffusionParams",
    "btc_daily_log_returns",
    "btc_daily_prices",
    "btc_monthly_hashrate",
    "fee_share_median",
    "fit_btc_jump_diffusion",
    "fit_hashrate",
    "hashprice_params",
    "hashprice_usd_per_ph_day_from",
    "jump_diffusion_loglik",
    "monthly_log_return_moments",
    "monthly_return_quantile_check",
    "simulate_btc",
    "simulate_hashprice",
    "simulate_hashrate",
]

DAYS_PER_MONTH = 365.25 / 12.0
"""Mean calendar days in a month, 30.4375 days (the simulator's default month length)."""

MAX_JUMPS_PER_DAY = 10
"""Truncation of the Poisson mixture, jumps per day. With ``lambda <= 1`` a day the mass left
out is below ``1e-7``; fitted bitcoin intensities are near 0.1 a day."""

DEFAULT_WINDOW_YEARS = 8
"""Default price window: the last 8 years of daily prices before ``as_of``."""

DEFAULT_HASHRATE_WINDOW_YEARS = 4
"""Default hash-rate window, years. Shorter than the price window: the 2014-2017 ASIC build-out
grew the hash rate several times faster than any later period."""

_QUANTILES = (0.01, 0.05, 0.25, 0.50, 0.75, 0.95, 0.99)
# bounds of the natural parameters: mu, sigma, lambda, m, v (per day; log-return units)
_BOUNDS = ((-0.05, 0.05), (1e-3, 0.5), (1e-4, 1.0), (-0.5, 0.5), (1e-3, 1.0))


@dataclass(frozen=True, slots=True)
class JumpDiffusionParams:
    """Merton jump-diffusion of daily log returns of the BTC price in USD.

    Attributes
    ----------
    mu : float
        Drift of the diffusion part, log return per day.
    sigma : float
        Diffusion volatility, log return per square-root day (> 0).
    jump_intensity : float
        Poisson jump rate ``lambda``, jumps per day (>= 0).
    jump_mean : float
        Mean log size of one jump ``m``, log return.
    jump_vol : float
        Standard deviation of one jump's log size ``v``, log return (>= 0).
    """

    mu: float
    sigma: float
    jump_intensity: float
    jump_mean: float
    jump_vol: float

    def __post_init__(self) -> None:
        if not self.sigma > 0.0:
            raise ValueError(f"JumpDiffusionParams.sigma = {self.sigma}: expected > 0")
        if self.jump_intensity < 0.0 or self.jump_vol < 0.0:
            raise ValueError("JumpDiffusionParams: jump_intensity and jump_vol must be >= 0")

    @property
    def daily_mean(self) -> float:
        """Mean daily log return ``mu + lambda m``, log return per day."""
        return self.mu + self.jump_intensity * self.jump_mean

    @property
    def daily_variance(self) -> float:
        """Variance of the daily log return ``sigma^2 + lambda (v^2 + m^2)``, per day."""
        return self.sigma**2 + self.jump_intensity * (self.jump_vol**2 + self.jump_mean**2)

    @property
    def annual_vol(self) -> float:
        """Total volatility of log returns over 365 days, per square-root year."""
        return math.sqrt(365.0 * self.daily_variance)

    def to_dict(self) -> dict[str, float]:
        """Plain ``{field: value}`` mapping (units as in the attributes)."""
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JumpDiffusionParams:
        """Inverse of :meth:`to_dict`."""
        return cls(
            mu=float(data["mu"]),
            sigma=float(data["sigma"]),
            jump_intensity=float(data["jump_intensity"]),
            jump_mean=float(data["jump_mean"]),
            jump_vol=float(data["jump_vol"]),
        )


@dataclass(frozen=True, slots=True)
class BtcFit:
    """A maximum-likelihood fit of :class:`JumpDiffusionParams`.

    Attributes
    ----------
    params : JumpDiffusionParams
        Estimates.
    std_errors : JumpDiffusionParams
        Standard errors of each estimate, same units (square roots of the diagonal of the
        inverse Hessian of the negative log-likelihood; NaN where it is not positive).
    log_likelihood : float
        Maximised log-likelihood of the daily log returns.
    n_obs : int
        Daily log returns used.
    start, end : datetime.date
        First and last day of the returns.
    s0 : float
        Last price on or before ``end``, USD per BTC (the simulator's start).
    at_bound : tuple of str
        Parameters that ended on an optimiser bound (their standard errors are unreliable).
    """

    params: JumpDiffusionParams
    std_errors: JumpDiffusionParams
    log_likelihood: float
    n_obs: int
    start: dt.date
    end: dt.date
    s0: float
    at_bound: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping; dates as ISO strings."""
        return {
            "params": self.params.to_dict(),
            "std_errors": self.std_errors.to_dict(),
            "log_likelihood": self.log_likelihood,
            "n_obs": self.n_obs,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "s0": self.s0,
            "at_bound": list(self.at_bound),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BtcFit:
        """Inverse of :meth:`to_dict`."""
        return cls(
            params=JumpDiffusionParams.from_dict(data["params"]),
            std_errors=_se_from_dict(data["std_errors"]),
            log_likelihood=float(data["log_likelihood"]),
            n_obs=int(data["n_obs"]),
            start=dt.date.fromisoformat(data["start"]),
            end=dt.date.fromisoformat(data["end"]),
            s0=float(data["s0"]),
            at_bound=tuple(data.get("at_bound", ())),
        )


def _se_from_dict(data: dict[str, Any]) -> JumpDiffusionParams:
    # standard errors may be NaN, which __post_init__ accepts only through object.__new__
    se = object.__new__(JumpDiffusionParams)
    for name in ("mu", "sigma", "jump_intensity", "jump_mean", "jump_vol"):
        object.__setattr__(se, name, float(data[name]))
    return se


@dataclass(frozen=True, slots=True)
class HashrateParams:
    """Random walk with drift of the log monthly mean network hash rate.

    Attributes
    ----------
    drift : float
        Mean monthly log growth ``g``, log per month.
    vol : float
        Standard deviation of the monthly log growth ``s``, log per month (>= 0).
    """

    drift: float
    vol: float

    def __post_init__(self) -> None:
        if self.vol < 0.0:
            raise ValueError(f"HashrateParams.vol = {self.vol}: expected >= 0")

    def to_dict(self) -> dict[str, float]:
        """Plain ``{field: value}`` mapping."""
        return {"drift": float(self.drift), "vol": float(self.vol)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HashrateParams:
        """Inverse of :meth:`to_dict`."""
        return cls(drift=float(data["drift"]), vol=float(data["vol"]))


@dataclass(frozen=True, slots=True)
class HashrateFit:
    """Fit of :class:`HashrateParams` on monthly mean hash rate.

    Attributes
    ----------
    params : HashrateParams
        Sample mean and standard deviation of monthly log growth.
    drift_se, vol_se : float
        Standard errors, log per month (``s / sqrt(n)`` and ``s / sqrt(2 n)``).
    n_obs : int
        Monthly growth rates used.
    h0_th_s : float
        Mean hash rate of the last complete month on or before ``as_of``, TH/s.
    h0_month : datetime.date
        First day of that month.
    """

    params: HashrateParams
    drift_se: float
    vol_se: float
    n_obs: int
    h0_th_s: float
    h0_month: dt.date

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "params": self.params.to_dict(),
            "drift_se": self.drift_se,
            "vol_se": self.vol_se,
            "n_obs": self.n_obs,
            "h0_th_s": self.h0_th_s,
            "h0_month": self.h0_month.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HashrateFit:
        """Inverse of :meth:`to_dict`."""
        return cls(
            params=HashrateParams.from_dict(data["params"]),
            drift_se=float(data["drift_se"]),
            vol_se=float(data["vol_se"]),
            n_obs=int(data["n_obs"]),
            h0_th_s=float(data["h0_th_s"]),
            h0_month=dt.date.fromisoformat(data["h0_month"]),
        )


@dataclass(frozen=True, slots=True)
class HashpriceParams:
    """Protocol and fee inputs of the hashprice on simulated paths, as seen on ``as_of``.

    Attributes
    ----------
    as_of : datetime.date
        Date the paths start from.
    height_as_of : float
        Chain height at the end of ``as_of``, blocks.
    blocks_per_day : float
        Block rate used both to advance the height and as blocks per day in the hashprice,
        blocks per day.
    next_halving_date : datetime.date
        Estimated date of the next halving (from ``next_halving_estimate``).
    fee_share : float
        Fees as a share of miner revenue (subsidy + fees), ratio in [0, 1).
    """

    as_of: dt.date
    height_as_of: float
    blocks_per_day: float
    next_halving_date: dt.date
    fee_share: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.fee_share < 1.0:
            raise ValueError(f"HashpriceParams.fee_share = {self.fee_share}: expected [0, 1)")
        if not self.blocks_per_day > 0.0:
            raise ValueError("HashpriceParams.blocks_per_day must be > 0")

    def subsidy_btc(self, day: dt.date) -> float:
        """Block subsidy at the projected height at the end of ``day``, BTC per block."""
        height = self.height_as_of + self.blocks_per_day * (day - self.as_of).days
        return block_subsidy_btc(max(math.floor(height), 0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping; dates as ISO strings."""
        return {
            "as_of": self.as_of.isoformat(),
            "height_as_of": self.height_as_of,
            "blocks_per_day": self.blocks_per_day,
            "next_halving_date": self.next_halving_date.isoformat(),
            "fee_share": self.fee_share,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HashpriceParams:
        """Inverse of :meth:`to_dict`."""
        return cls(
            as_of=dt.date.fromisoformat(data["as_of"]),
            height_as_of=float(data["height_as_of"]),
            blocks_per_day=float(data["blocks_per_day"]),
            next_halving_date=dt.date.fromisoformat(data["next_halving_date"]),
            fee_share=float(data["fee_share"]),
        )


@dataclass(frozen=True, slots=True, eq=False)
class HashpricePaths:
    """Simulated monthly miner economics, shape (path, month) unless noted.

    Attributes
    ----------
    month_ends : tuple of datetime.date
        End of each simulated month, shape (month,).
    price_usd : ndarray
        Month-end BTC price, USD per BTC.
    hashrate_th_s : ndarray
        Monthly mean network hash rate, TH/s.
    subsidy_btc : ndarray, shape (month,)
        Block subsidy at each month's end, BTC per block.
    hashprice_usd_per_ph_day : ndarray
        Hashprice, USD per PH/s per day.
    """

    month_ends: tuple[dt.date, ...]
    price_usd: Float64Array
    hashrate_th_s: Float64Array
    subsidy_btc: Float64Array
    hashprice_usd_per_ph_day: Float64Array


# --- data ------------------------------------------------------------------------------------


def _btc_daily() -> pd.DataFrame:
    return pd.read_csv(
        data_path("btc_daily.csv"), usecols=["date", "PriceUSD", "HashRate"], parse_dates=["date"]
    )


def btc_daily_prices(as_of: dt.date, window_years: float = DEFAULT_WINDOW_YEARS) -> pd.Series:
    """Daily BTC price in the window ``(as_of - window_years, as_of]``.

    Parameters
    ----------
    as_of : datetime.date
        Last day used (UTC).
    window_years : float
        Window length, years (365.25 days each).

    Returns
    -------
    pandas.Series
        ``PriceUSD``, USD per BTC, indexed by UTC day; days without a price dropped.
    """
    frame = _btc_daily()
    end = pd.Timestamp(as_of)
    start = end - pd.Timedelta(days=round(365.25 * window_years))
    rows = frame[(frame["date"] > start) & (frame["date"] <= end) & frame["PriceUSD"].notna()]
    if len(rows) < 30:
        raise DataError(f"btc_daily.csv: fewer than 30 prices in the window to {as_of}")
    return pd.Series(
        rows["PriceUSD"].to_numpy(dtype=float), index=pd.DatetimeIndex(rows["date"]), name="usd"
    )


def btc_daily_log_returns(
    as_of: dt.date, window_years: float = DEFAULT_WINDOW_YEARS
) -> Float64Array:
    """Daily log returns of the BTC price in the window ending at ``as_of``.

    Returns
    -------
    ndarray, shape (day,)
        ``log(P_t / P_{t-1})`` over consecutive UTC days, log return per day.
    """
    prices = btc_daily_prices(as_of, window_years)
    gaps = np.diff(prices.index.to_numpy()).astype("timedelta64[D]").astype(int)
    if np.any(gaps != 1):
        raise DataError("btc_daily.csv: PriceUSD has gaps in the fitting window")
    return np.diff(np.log(prices.to_numpy(dtype=np.float64)))


def btc_monthly_hashrate() -> pd.Series:
    """Monthly mean network hash rate, TH/s, indexed by month start (complete months only)."""
    frame = _btc_daily()
    frame = frame[frame["HashRate"].notna() & (frame["HashRate"] > 0.0)]
    month = frame["date"].dt.to_period("M")
    grouped = frame.groupby(month)["HashRate"]
    counts = grouped.count()
    means = grouped.mean()
    periods = pd.PeriodIndex(counts.index)
    complete = counts.to_numpy() == periods.days_in_month.to_numpy()
    means = means[complete]
    out = pd.Series(
        means.to_numpy(dtype=float),
        index=pd.PeriodIndex(means.index).to_timestamp(),
        name="th_s",
    )
    out.index.name = "month"
    return out


def fee_share_median(as_of: dt.date, days: int = 365) -> float:
    """Median fee share of miner revenue over the ``days`` to ``as_of``.

    Returns
    -------
    float
        Median of ``fee_share`` (fees / (subsidy + fees), ratio) in
        ``data/btc_hashprice_daily.csv`` over ``(as_of - days, as_of]``.
    """
    frame = shipped_hashprice()
    end = pd.Timestamp(as_of)
    rows = frame.loc[(frame.index > end - pd.Timedelta(days=days)) & (frame.index <= end)]
    values = rows["fee_share"].dropna()
    if values.empty:
        raise DataError(f"btc_hashprice_daily.csv: no fee_share in the {days} days to {as_of}")
    return float(values.median())


# --- price model -----------------------------------------------------------------------------


def jump_diffusion_loglik(params: JumpDiffusionParams, returns: Float64Array) -> float:
    """Log-likelihood of daily log returns under the truncated Poisson mixture.

    Parameters
    ----------
    params : JumpDiffusionParams
        Model (per-day units).
    returns : ndarray, shape (day,)
        Daily log returns.

    Returns
    -------
    float
        ``sum_t log sum_{k <= K} Pois(k; lambda) N(r_t; mu + k m, sigma^2 + k v^2)``,
        ``K = MAX_JUMPS_PER_DAY``.
    """
    theta = np.array(
        [params.mu, params.sigma, params.jump_intensity, params.jump_mean, params.jump_vol]
    )
    return -_nll(theta, np.asarray(returns, dtype=np.float64))


def _nll(theta: Float64Array, r: Float64Array) -> float:
    mu, sigma, lam, m, v = (float(x) for x in theta)
    k = np.arange(MAX_JUMPS_PER_DAY + 1, dtype=np.float64)
    lam = max(lam, 1e-300)
    log_pk = -lam + k * math.log(lam) - special.gammaln(k + 1.0)
    var = sigma**2 + k * v**2
    dev = r[:, None] - (mu + k * m)[None, :]
    log_phi = -0.5 * np.log(2.0 * math.pi * var)[None, :] - dev**2 / (2.0 * var)[None, :]
    ll = special.logsumexp(log_phi + log_pk[None, :], axis=1)
    return -float(np.sum(ll))


def _hessian(f: Any, x: Float64Array) -> Float64Array:
    """Central-difference Hessian of ``f`` at ``x`` (relative steps)."""
    n = x.size
    h = 1e-3 * np.maximum(np.abs(x), 1e-3)
    out = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            ei = np.zeros(n)
            ej = np.zeros(n)
            ei[i] = h[i]
            ej[j] = h[j]
            val = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4.0 * h[i] * h[j]
            )
            out[i, j] = out[j, i] = val
    return out


def _fit_returns(r: Float64Array) -> tuple[Float64Array, float, Float64Array, tuple[str, ...]]:
    sd = float(np.std(r))
    centre = float(np.median(r))
    big = np.abs(r - centre) > 3.0 * sd
    share = max(float(np.mean(big)), 0.005)
    calm = r[~big]
    tails = r[big] if np.sum(big) >= 2 else r
    starts = [
        np.array(
            [float(np.mean(calm)), float(np.std(calm)), share, float(np.mean(tails)) * 0.0, 3 * sd]
        ),
        np.array([float(np.mean(r)), 0.7 * sd, 0.1, 0.0, 1.5 * sd]),
        np.array([float(np.mean(r)), 0.5 * sd, 0.3, 0.0, sd]),
    ]
    best: Any = None
    for x0 in starts:
        x0 = np.array([np.clip(x, lo, hi) for x, (lo, hi) in zip(x0, _BOUNDS, strict=True)])
        res = optimize.minimize(
            _nll, x0, args=(r,), method="L-BFGS-B", bounds=_BOUNDS,
            options={"ftol": 1e-12, "gtol": 1e-8},
        )  # fmt: skip
        if best is None or res.fun < best.fun:
            best = res
    # polish the best start (finite-difference gradients stop L-BFGS-B a little early)
    best = optimize.minimize(
        _nll, best.x, args=(r,), method="Nelder-Mead", bounds=_BOUNDS,
        options={"xatol": 1e-8, "fatol": 1e-8, "maxiter": 2000},
    )  # fmt: skip
    x = np.asarray(best.x, dtype=np.float64)
    names = ("mu", "sigma", "jump_intensity", "jump_mean", "jump_vol")
    at_bound = tuple(
        n
        for n, xi, (lo, hi) in zip(names, x, _BOUNDS, strict=True)
        if xi <= lo * (1 + 1e-6) + 1e-12 or xi >= hi * (1 - 1e-6)
    )
    hess = _hessian(lambda t: _nll(t, r), x)
    try:
        cov = np.linalg.inv(hess)
        diag = np.diag(cov)
        se = np.where(diag > 0.0, np.sqrt(np.abs(diag)), np.nan)
    except np.linalg.LinAlgError:
        se = np.full(x.size, np.nan)
    return x, -float(best.fun), se, at_bound


def fit_btc_jump_diffusion(
    as_of: dt.date,
    window_years: float = DEFAULT_WINDOW_YEARS,
    *,
    returns: Float64Array | None = None,
) -> BtcFit:
    """Fit the jump-diffusion by maximum likelihood on daily prices to ``as_of``.

    Parameters
    ----------
    as_of : datetime.date
        Last day of data used (UTC).
    window_years : float
        Length of the window, years (default 8).
    returns : ndarray, optional
        Daily log returns to fit instead of the shipped data (tests); ``as_of`` then only
        labels the fit and ``s0`` is 1.

    Returns
    -------
    BtcFit
        Estimates with Hessian standard errors, the log-likelihood and the starting price.
    """
    if returns is None:
        prices = btc_daily_prices(as_of, window_years)
        r = btc_daily_log_returns(as_of, window_years)
        start = prices.index[1].date()
        end = prices.index[-1].date()
        s0 = float(prices.iloc[-1])
    else:
        r = np.asarray(returns, dtype=np.float64)
        start = end = as_of
        s0 = 1.0
    x, ll, se, at_bound = _fit_returns(r)
    return BtcFit(
        params=JumpDiffusionParams(*(float(v) for v in x)),
        std_errors=_se_from_dict(
            dict(
                zip(
                    ("mu", "sigma", "jump_intensity", "jump_mean", "jump_vol"),
                    (float(v) for v in se),
                    strict=True,
                )
            )
        ),
        log_likelihood=ll,
        n_obs=int(r.size),
        start=start,
        end=end,
        s0=s0,
        at_bound=at_bound,
    )


def monthly_log_return_moments(
    params: JumpDiffusionParams, days: float = DAYS_PER_MONTH
) -> tuple[float, float]:
    """Closed-form mean and variance of the log return over ``days`` days.

    Returns
    -------
    tuple of float
        ``days (mu + lambda m)`` and ``days (sigma^2 + lambda (v^2 + m^2))``, log return and
        log return squared.
    """
    return days * params.daily_mean, days * params.daily_variance


def simulate_btc(
    params: JumpDiffusionParams,
    n_paths: int,
    n_months: int,
    *,
    rng: np.random.Generator,
    s0: float,
    days_per_month: float | Float64Array = DAYS_PER_MONTH,
) -> Float64Array:
    """Month-end BTC prices from the jump-diffusion.

    Parameters
    ----------
    params : JumpDiffusionParams
        Daily model.
    n_paths, n_months : int
        Paths and months to simulate.
    rng : numpy.random.Generator
        Source of randomness.
    s0 : float
        Price at the start, USD per BTC.
    days_per_month : float or ndarray, shape (month,)
        Days in each month (default 30.4375; pass calendar days for dated months).

    Returns
    -------
    ndarray, shape (path, month)
        Price at each month's end, USD per BTC. Each month's log return is the sum of its
        daily steps, drawn from its exact law (diffusion sum, Poisson jump count, jump sum).
    """
    if n_paths < 1 or n_months < 1:
        raise ValueError("simulate_btc: n_paths and n_months must be >= 1")
    days = np.broadcast_to(np.asarray(days_per_month, dtype=np.float64), (n_months,))
    z = rng.standard_normal((n_paths, n_months))
    n_jumps = rng.poisson(params.jump_intensity * days[None, :], size=(n_paths, n_months))
    zj = rng.standard_normal((n_paths, n_months))
    log_ret = (
        params.mu * days[None, :]
        + params.sigma * np.sqrt(days)[None, :] * z
        + params.jump_mean * n_jumps
        + params.jump_vol * np.sqrt(n_jumps) * zj
    )
    return np.asarray(s0 * np.exp(np.cumsum(log_ret, axis=1)), dtype=np.float64)


def _month_end_prices(as_of: dt.date, window_years: float) -> pd.Series:
    prices = btc_daily_prices(as_of, window_years)
    return prices.groupby(pd.DatetimeIndex(prices.index).to_period("M")).last()


def monthly_return_quantile_check(
    fit: BtcFit,
    *,
    window_years: float = DEFAULT_WINDOW_YEARS,
    n_paths: int = 200_000,
    seed: int = 0,
    quantiles: tuple[float, ...] = _QUANTILES,
) -> pd.DataFrame:
    """Simulated against historical monthly log-return quantiles.

    Parameters
    ----------
    fit : BtcFit
        Fit whose ``end`` date sets the historical window.
    window_years : float
        Historical window, years (use the fit's).
    n_paths : int
        One-month paths simulated.
    seed : int
        Seed of ``numpy.random.default_rng``.
    quantiles : tuple of float
        Probabilities, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        Indexed by quantile; columns ``historical`` (month-end to month-end log returns of
        the window, complete months) and ``simulated`` (one 30.4375-day month), log return.
    """
    month_end = _month_end_prices(fit.end, window_years)
    hist = np.diff(np.log(month_end.to_numpy(dtype=np.float64)))
    sims = simulate_btc(fit.params, n_paths, 1, rng=np.random.default_rng(seed), s0=1.0)
    sim = np.log(sims[:, 0])
    q = np.asarray(quantiles, dtype=np.float64)
    return pd.DataFrame(
        {"historical": np.quantile(hist, q), "simulated": np.quantile(sim, q)},
        index=pd.Index(q, name="quantile"),
    )


# --- hash rate and hashprice -----------------------------------------------------------------


def fit_hashrate(
    as_of: dt.date, window_years: float = DEFAULT_HASHRATE_WINDOW_YEARS
) -> HashrateFit:
    """Fit the monthly log-growth random walk on complete months to ``as_of``.

    Parameters
    ----------
    as_of : datetime.date
        Only months ending on or before ``as_of`` are used.
    window_years : float
        Window of monthly means, years (default 4).

    Returns
    -------
    HashrateFit
        Drift and volatility of monthly log growth (log per month) with standard errors and
        the last complete month's mean hash rate (TH/s).
    """
    monthly = btc_monthly_hashrate()
    month_end = pd.DatetimeIndex(monthly.index) + pd.offsets.MonthEnd(0)
    monthly = monthly[month_end <= pd.Timestamp(as_of)]
    first = pd.Timestamp(as_of) - pd.Timedelta(days=round(365.25 * window_years))
    monthly = monthly[monthly.index >= first]
    if len(monthly) < 13:
        raise DataError(f"btc_daily.csv: fewer than 13 complete hash-rate months to {as_of}")
    growth = np.diff(np.log(monthly.to_numpy(dtype=np.float64)))
    n = growth.size
    vol = float(np.std(growth, ddof=1))
    return HashrateFit(
        params=HashrateParams(drift=float(np.mean(growth)), vol=vol),
        drift_se=vol / math.sqrt(n),
        vol_se=vol / math.sqrt(2.0 * (n - 1)),
        n_obs=n,
        h0_th_s=float(monthly.iloc[-1]),
        h0_month=monthly.index[-1].date(),
    )


def simulate_hashrate(
    params: HashrateParams,
    n_paths: int,
    n_months: int,
    *,
    rng: np.random.Generator,
    h0: float,
    steps_to_first: int = 1,
) -> Float64Array:
    """Monthly mean network hash rate paths.

    Parameters
    ----------
    params : HashrateParams
        Monthly log-growth model.
    n_paths, n_months : int
        Paths and months.
    rng : numpy.random.Generator
        Source of randomness.
    h0 : float
        Mean hash rate of the last observed month, TH/s.
    steps_to_first : int
        Monthly steps from the ``h0`` month to the first simulated month (1 when the
        simulation starts the month after it).

    Returns
    -------
    ndarray, shape (path, month)
        Hash rate, TH/s.
    """
    if steps_to_first < 1:
        raise ValueError("simulate_hashrate: steps_to_first must be >= 1")
    n_steps = n_months + steps_to_first - 1
    growth = params.drift + params.vol * rng.standard_normal((n_paths, n_steps))
    log_h = math.log(h0) + np.cumsum(growth, axis=1)
    return np.asarray(np.exp(log_h[:, steps_to_first - 1 :]), dtype=np.float64)


def hashprice_usd_per_ph_day_from(
    price_usd: float | Float64Array,
    subsidy_btc: float | Float64Array,
    fee_share: float | Float64Array,
    blocks_per_day: float | Float64Array,
    hashrate_th_s: float | Float64Array,
) -> Float64Array:
    """Hashprice identity: ``price x (subsidy + fees) x blocks per day / hash rate``.

    Parameters
    ----------
    price_usd : float or ndarray
        BTC price, USD per BTC.
    subsidy_btc : float or ndarray
        Block subsidy, BTC per block.
    fee_share : float or ndarray
        Fees / (subsidy + fees), ratio in [0, 1); ``subsidy + fees = subsidy / (1 - share)``.
    blocks_per_day : float or ndarray
        Blocks per day.
    hashrate_th_s : float or ndarray
        Network hash rate, TH/s.

    Returns
    -------
    ndarray
        USD per PH/s per day (broadcast shape of the inputs; 1000 TH/s per PH/s).
    """
    revenue_btc_per_day = (
        np.asarray(subsidy_btc, dtype=np.float64)
        / (1.0 - np.asarray(fee_share, dtype=np.float64))
        * np.asarray(blocks_per_day, dtype=np.float64)
    )
    return np.asarray(
        np.asarray(price_usd, dtype=np.float64)
        * revenue_btc_per_day
        / np.asarray(hashrate_th_s, dtype=np.float64)
        * 1000.0,
        dtype=np.float64,
    )


def hashprice_params(as_of: dt.date) -> HashpriceParams:
    """Height, block rate, next halving and fee share as seen on ``as_of``."""
    est = next_halving_estimate(as_of)
    return HashpriceParams(
        as_of=as_of,
        height_as_of=est.height_as_of,
        blocks_per_day=est.blocks_per_day,
        next_halving_date=est.date,
        fee_share=fee_share_median(as_of),
    )


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    nxt = dt.date(year + (month0 + 1) // 12, (month0 + 1) % 12 + 1, 1)
    last = (nxt - dt.timedelta(days=1)).day
    return dt.date(year, month0 + 1, min(day.day, last))


def simulate_hashprice(
    btc: BtcFit,
    hashrate: HashrateFit,
    hp: HashpriceParams,
    n_paths: int,
    n_months: int,
    *,
    rng: np.random.Generator,
) -> HashpricePaths:
    """Month-end price, hash rate and hashprice paths from ``hp.as_of``.

    Parameters
    ----------
    btc : BtcFit
        Price model and starting price (``btc.s0``, USD per BTC).
    hashrate : HashrateFit
        Hash-rate model and last observed monthly mean (TH/s).
    hp : HashpriceParams
        Height, block rate and fee share on ``hp.as_of``.
    n_paths, n_months : int
        Paths and months; month ``m`` ends ``m`` calendar months after ``hp.as_of``.
    rng : numpy.random.Generator
        Source of randomness (price first, then hash rate).

    Returns
    -------
    HashpricePaths
        Price and hash rate are independent; the subsidy follows the projected height.
    """
    ends = tuple(_add_months(hp.as_of, m) for m in range(1, n_months + 1))
    days = np.diff(np.array([(e - hp.as_of).days for e in (hp.as_of, *ends)], dtype=np.float64))
    price = simulate_btc(btc.params, n_paths, n_months, rng=rng, s0=btc.s0, days_per_month=days)
    as_of_month = hp.as_of.year * 12 + hp.as_of.month
    h0_month = hashrate.h0_month.year * 12 + hashrate.h0_month.month
    first_month = _add_months(hp.as_of, 1)
    steps = first_month.year * 12 + first_month.month - h0_month
    if as_of_month < h0_month:
        raise ValueError("simulate_hashprice: hash-rate fit ends after as_of")
    hr = simulate_hashrate(
        hashrate.params, n_paths, n_months, rng=rng, h0=hashrate.h0_th_s, steps_to_first=steps
    )
    subsidy = np.array([hp.subsidy_btc(e) for e in ends], dtype=np.float64)
    hashprice = hashprice_usd_per_ph_day_from(
        price, subsidy[None, :], hp.fee_share, hp.blocks_per_day, hr
    )
    return HashpricePaths(
        month_ends=ends,
        price_usd=price,
        hashrate_th_s=hr,
        subsidy_btc=subsidy,
        hashprice_usd_per_ph_day=hashprice,
    )
