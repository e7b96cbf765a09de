"""Parameters of the miner market (bitcoin price, network, fees) and of its dependence on GPUs.

Two frozen containers (STYLE.md 2: numbers, never fitted state):

* :class:`MinerMarketParams`: the bitcoin jump-diffusion *for credit use*, the network
  hash-rate growth process, a fee process and the protocol inputs of the hashprice, as seen on
  ``as_of``; built by :func:`miner_market_params` from the shipped data or from a stored
  calibration (``gpucredit calibrate`` writes its ``bitcoin`` entry).
* :class:`ConvergenceParams`: correlations of the monthly shocks of
  ``[btc return, hash-rate growth, GPU rent, SOFR]`` in the calm regime and in stress, the
  switch that turns correlation convergence off, and the copula (Gaussian or Student t); built
  by :func:`convergence_params`, which estimates the calm correlations it can from the shipped
  data.

**Drift of the bitcoin price.** The maximum-likelihood drift of the jump-diffusion is the
worst-estimated parameter and strongly positive over any window dominated by bull markets;
``docs/backtests.md`` shows that it made the 2022 backtest under-cover, and that with a zero
log drift the 2022 months fall mostly inside the 5-95% band. Credit paths therefore use
``btc_drift="zero"`` by default: ``mu`` is set so that the mean daily log return
``mu + lambda m`` is zero (the median price is flat; volatility and jumps are the fitted ones).
``"risk_neutral"`` sets ``mu`` so that ``E[S_t] = S_0 exp(r t)`` with ``r`` the SOFR on
``as_of`` (FRED); ``"fitted"`` keeps the estimate.

**Fees.** The log of the monthly fees per block, in BTC (``sum FeeTotNtv / sum BlkCnt`` of the
month, Coin Metrics), is an AR(1) around a constant, fitted by least squares on the complete
months of the ``fee_window_years`` to ``as_of``. Fees are modelled in BTC per block rather than
as a share of revenue so that a halving does not halve them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import numpy as np
import pandas as pd

from gpucredit._typing import Float64Array
from gpucredit.errors import DataError
from gpucredit.factors import defaults
from gpucredit.factors.bitcoin import (
    DEFAULT_HASHRATE_WINDOW_YEARS,
    DEFAULT_WINDOW_YEARS,
    BtcFit,
    HashpriceParams,
    HashrateFit,
    HashrateParams,
    JumpDiffusionParams,
    btc_daily_prices,
    btc_monthly_hashrate,
    fit_btc_jump_diffusion,
    fit_hashrate,
    hashprice_params,
)
from gpucredit.factors.params import CorrelationParams
from gpucredit.market.files import data_path
from gpucredit.market.history import sofr_on

__all__ = [
    "BTC",
    "DEFAULT_COPULA_DOF",
    "DEFAULT_STRESS_CORRELATION",
    "FACTOR_ORDER",
    "GPU_RENT",
    "HASHRATE",
    "SOFR",
    "BtcDrift",
    "ConvergenceParams",
    "CopulaName",
    "FeeParams",
    "MinerMarketParams",
    "calm_correlations_from_data",
    "convergence_params",
    "credit_btc_params",
    "fit_fees",
    "miner_market_params",
]

BtcDrift = Literal["zero", "risk_neutral", "fitted"]
CopulaName = Literal["gaussian", "student_t"]

#: Order of the shocks in :meth:`ConvergenceParams.matrix`.
FACTOR_ORDER = ("btc", "hashrate", "gpu_rent", "sofr")
BTC, HASHRATE, GPU_RENT, SOFR = 0, 1, 2, 3

# Calm correlation of BTC with GPU rent shocks. No shipped series covers both long enough to
# estimate it (the rent index starts in 2022 with gaps and mixed panels). ASSUMPTION: zero, the
# pre-2020 co-movement of bitcoin with a risk asset: IMF (Adrian, Iyer and Qureshi, "Crypto
# prices move more in sync with stocks, posing new risks", IMF Blog, 2022-01-11): correlation of
# daily BTC and S&P 500 moves 0.01 in 2017-2019.
CALM_BTC_RENT = 0.0

# ASSUMPTION: network hash-rate growth is driven by ASIC deliveries and power contracts, not by
# the GPU rental market; no shipped series to estimate it.
CALM_HASHRATE_RENT = 0.0

#: Stress correlation of BTC with GPU rent shocks. ASSUMPTION for GPU rents (an AI-capex risk
#: asset): they co-move with bitcoin in stress as US equities did once bitcoin traded as a risk
#: asset, 0.36 (IMF Blog, 2022-01-11: correlation of daily BTC and S&P 500 moves in 2020-2021,
#: up from 0.01). Longin and Solnik (2001, "Extreme correlation of international equity
#: markets", Journal of Finance 56(2)) find correlation rises in bear markets, so this is a
#: floor rather than a worst case; a user raises it with ``stress_correlation``.
DEFAULT_STRESS_CORRELATION = 0.36

#: Degrees of freedom of the Student-t copula. ASSUMPTION: 4, a heavy-tailed choice; it is only
#: used when ``copula="student_t"`` (the default copula is Gaussian).
DEFAULT_COPULA_DOF = 4.0

DEFAULT_FEE_WINDOW_YEARS = DEFAULT_HASHRATE_WINDOW_YEARS
"""Window of the fee fit, years (the hash-rate window of ``factors.bitcoin``, 4 years)."""

DEFAULT_CORRELATION_WINDOW_YEARS = DEFAULT_WINDOW_YEARS
"""Window of the calm-correlation estimates, years (the bitcoin price window, 8 years)."""

_PHI_MAX = 0.99  # an AR(1) fitted at or beyond a unit root is held just stationary


# --- fees ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeeParams:
    """AR(1) of the log monthly transaction fees per block.

    ``log f_t = log_level + x_t``, ``x_t = phi x_{t-1} + sigma e_t``, ``e_t ~ N(0, 1)``.

    Attributes
    ----------
    log_level : float
        Long-run mean of the log fees, log BTC per block.
    phi : float
        Monthly autoregressive coefficient, in [0, 0.99].
    sigma : float
        Standard deviation of the monthly innovation, log (>= 0).
    last_btc_per_block : float
        Fees per block of the last complete month used, BTC per block (the start of the paths).
    last_month : datetime.date
        First day of that month.
    n_obs : int
        Monthly values used.
    """

    log_level: float
    phi: float
    sigma: float
    last_btc_per_block: float
    last_month: dt.date
    n_obs: int

    def __post_init__(self) -> None:
        if not 0.0 <= self.phi <= _PHI_MAX:
            raise ValueError(f"FeeParams.phi = {self.phi}: expected in [0, {_PHI_MAX}]")
        if self.sigma < 0.0 or not self.last_btc_per_block > 0.0:
            raise ValueError("FeeParams: sigma >= 0 and last_btc_per_block > 0 expected")

    @property
    def level_btc_per_block(self) -> float:
        """Long-run median fees, BTC per block."""
        return math.exp(self.log_level)


@cache
def _monthly_fees_per_block() -> pd.Series:
    frame = pd.read_csv(
        data_path("btc_daily.csv"), usecols=["date", "BlkCnt", "FeeTotNtv"], parse_dates=["date"]
    )
    frame = frame[(frame["BlkCnt"] > 0) & frame["FeeTotNtv"].notna()]
    month = frame["date"].dt.to_period("M")
    grouped = frame.groupby(month)
    counts = grouped["date"].count()
    periods = pd.PeriodIndex(counts.index)
    complete = counts.to_numpy() == periods.days_in_month.to_numpy()
    fees = grouped["FeeTotNtv"].sum() / grouped["BlkCnt"].sum()
    fees = fees[complete & (fees.to_numpy() > 0.0)]
    out = pd.Series(
        fees.to_numpy(dtype=float), index=pd.PeriodIndex(fees.index).to_timestamp(), name="btc"
    )
    out.index.name = "month"
    return out


def fit_fees(as_of: dt.date, window_years: float = DEFAULT_FEE_WINDOW_YEARS) -> FeeParams:
    """Fit the fee AR(1) on complete months with block counts ending on or before ``as_of``.

    Parameters
    ----------
    as_of : datetime.date
        Last day of data used.
    window_years : float
        Window of monthly values, years.

    Returns
    -------
    FeeParams
        Least-squares AR(1) of the log monthly fees per block (BTC); ``phi`` is clipped to
        [0, 0.99] and the level is then the sample mean of the log fees.
    """
    monthly = _monthly_fees_per_block()
    month_end = pd.DatetimeIndex(monthly.index) + pd.offsets.MonthEnd(0)
    monthly = monthly[month_end <= pd.Timestamp(as_of)]
    first = pd.Timestamp(as_of) - pd.Timedelta(days=round(365.25 * window_years))
    monthly = monthly[monthly.index >= first]
    if len(monthly) < 13:
        raise DataError(f"btc_daily.csv: fewer than 13 complete months of fees to {as_of}")
    y = np.log(monthly.to_numpy(dtype=np.float64))
    design = np.column_stack([np.ones(y.size - 1), y[:-1]])
    coef, *_ = np.linalg.lstsq(design, y[1:], rcond=None)
    intercept, phi = float(coef[0]), float(coef[1])
    if 0.0 <= phi <= _PHI_MAX:
        level = intercept / (1.0 - phi)
    else:
        phi = min(max(phi, 0.0), _PHI_MAX)
        level = float(np.mean(y))
    resid = y[1:] - level - phi * (y[:-1] - level)
    sigma = float(np.sqrt(np.sum(resid**2) / (resid.size - 2)))
    return FeeParams(
        log_level=level,
        phi=phi,
        sigma=sigma,
        last_btc_per_block=float(monthly.iloc[-1]),
        last_month=monthly.index[-1].date(),
        n_obs=int(y.size),
    )


# --- miner market ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MinerMarketParams:
    """Everything the miner-market simulator needs, as seen on ``as_of``.

    Attributes
    ----------
    as_of : datetime.date
        Valuation date; paths start at its end.
    btc : JumpDiffusionParams
        Daily jump-diffusion used on credit paths (drift set by ``btc_drift``).
    btc_fitted : JumpDiffusionParams
        The estimate before the drift choice.
    btc_drift : {"zero", "risk_neutral", "fitted"}
        How ``btc.mu`` was set (module docstring).
    btc_spot_usd : float
        Last BTC price on or before ``as_of``, USD per BTC.
    btc_spot_date : datetime.date
        Its date.
    hashrate : HashrateParams
        Monthly log-growth random walk of the mean network hash rate.
    hashrate_h0_th_s : float
        Mean hash rate of the last complete month of the fit, TH/s.
    hashrate_h0_month : datetime.date
        First day of that month.
    fees : FeeParams
        Fee process, BTC per block.
    hashprice : HashpriceParams
        Chain height, block rate, next halving and median fee share on ``as_of``.
    sources : dict of str to str
        Where each part comes from.
    """

    as_of: dt.date
    btc: JumpDiffusionParams
    btc_fitted: JumpDiffusionParams
    btc_drift: BtcDrift
    btc_spot_usd: float
    btc_spot_date: dt.date
    hashrate: HashrateParams
    hashrate_h0_th_s: float
    hashrate_h0_month: dt.date
    fees: FeeParams
    hashprice: HashpriceParams
    sources: dict[str, str] = field(default_factory=dict)
    #: A named stress scenario's extra log drift of the BTC price in months 1, 2, ... (log per
    #: month, added to the month's log return; ``scenarios.named``); empty: none.
    btc_log_shift: tuple[float, ...] = ()
    #: The same for the network hash rate's log growth (log per month); empty: none.
    hashrate_log_shift: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.btc_spot_usd > 0.0 or not self.hashrate_h0_th_s > 0.0:
            raise ValueError("MinerMarketParams: btc_spot_usd and hashrate_h0_th_s must be > 0")
        if self.hashrate_h0_month > self.as_of:
            raise ValueError(
                f"MinerMarketParams.hashrate_h0_month = {self.hashrate_h0_month} is after "
                f"as_of = {self.as_of}: use a hash-rate fit made on or before as_of"
            )


def credit_btc_params(
    fitted: JumpDiffusionParams, drift: BtcDrift, *, rate: float = 0.0
) -> JumpDiffusionParams:
    """The jump-diffusion with its drift replaced for credit use.

    Parameters
    ----------
    fitted : JumpDiffusionParams
        The estimate (per-day units).
    drift : {"zero", "risk_neutral", "fitted"}
        ``"zero"``: ``mu = -lambda m`` (mean daily log return zero). ``"risk_neutral"``:
        ``E[exp(r_day)] = exp(rate / 365)``, i.e.
        ``mu = rate / 365 - sigma^2 / 2 - lambda (exp(m + v^2 / 2) - 1)``. ``"fitted"``: as is.
    rate : float
        Risk-free rate for ``"risk_neutral"``, decimal per year (365-day years).

    Returns
    -------
    JumpDiffusionParams
        Same volatility and jumps, new ``mu``.
    """
    p = fitted
    if drift == "fitted":
        return p
    if drift == "zero":
        mu = -p.jump_intensity * p.jump_mean
    elif drift == "risk_neutral":
        compensator = p.jump_intensity * (math.exp(p.jump_mean + 0.5 * p.jump_vol**2) - 1.0)
        mu = rate / 365.0 - 0.5 * p.sigma**2 - compensator
    else:
        raise ValueError(f"btc_drift = {drift!r}: expected 'zero', 'risk_neutral' or 'fitted'")
    return dataclasses.replace(p, mu=mu)


@cache
def _fits(as_of: dt.date) -> tuple[BtcFit, HashrateFit]:
    return fit_btc_jump_diffusion(as_of), fit_hashrate(as_of)


def miner_market_params(
    as_of: dt.date,
    calibration: Mapping[str, Any] | None = None,
    *,
    btc_drift: BtcDrift = "zero",
) -> MinerMarketParams:
    """Miner-market parameters as of ``as_of``.

    Parameters
    ----------
    as_of : datetime.date
        Valuation date.
    calibration : mapping, optional
        A stored calibration's parameters (``StoredCalibration.params``, written by
        ``gpucredit calibrate``) with a ``"bitcoin"`` entry holding ``"price"`` (a
        :class:`BtcFit`) and ``"hashrate"`` (a :class:`HashrateFit`). None: fit both on the
        shipped data to ``as_of`` (maximum likelihood, 8 and 4 years; cached per date).
    btc_drift : {"zero", "risk_neutral", "fitted"}
        Drift of the price on credit paths (default ``"zero"``: see the module docstring).

    Returns
    -------
    MinerMarketParams
        Spot price, protocol inputs and fees always read from the shipped data on ``as_of``.
    """
    if calibration is None:
        btc_fit, hr_fit = _fits(as_of)
        tag = f"fitted on the shipped data to {as_of}"
    else:
        if "bitcoin" not in calibration:
            raise DataError(
                "calibration has no 'bitcoin' entry: run `gpucredit calibrate` again to store "
                "the bitcoin fits"
            )
        entry = calibration["bitcoin"]
        btc_fit = BtcFit.from_dict(entry["price"])
        hr_fit = HashrateFit.from_dict(entry["hashrate"])
        tag = f"stored calibration (bitcoin price fit to {btc_fit.end})"
    rate = sofr_on(as_of).value if btc_drift == "risk_neutral" else 0.0
    prices = btc_daily_prices(as_of, window_years=1.0)
    sources = {
        "btc.volatility_and_jumps": f"Merton jump-diffusion MLE on daily PriceUSD, {tag}",
        "btc.drift": {
            "zero": "zero mean log return (docs/backtests.md: the fitted drift under-covered 2022)",
            "risk_neutral": f"risk-neutral at SOFR {rate:.4f} on {as_of} (FRED)",
            "fitted": f"MLE drift, {tag}",
        }[btc_drift],
        "btc.spot": f"Coin Metrics PriceUSD on {prices.index[-1].date()} (data/btc_daily.csv)",
        "hashrate": f"random walk of log monthly mean HashRate, {tag}",
        "fees": "AR(1) of log monthly fees per block, 4 years to as_of (data/btc_daily.csv)",
        "hashprice": "protocol subsidy at the height projected from BlkCnt (market.bitcoin)",
    }
    return MinerMarketParams(
        as_of=as_of,
        btc=credit_btc_params(btc_fit.params, btc_drift, rate=rate),
        btc_fitted=btc_fit.params,
        btc_drift=btc_drift,
        btc_spot_usd=float(prices.iloc[-1]),
        btc_spot_date=prices.index[-1].date(),
        hashrate=hr_fit.params,
        hashrate_h0_th_s=hr_fit.h0_th_s,
        hashrate_h0_month=hr_fit.h0_month,
        fees=fit_fees(as_of),
        hashprice=hashprice_params(as_of),
        sources=sources,
    )


# --- dependence ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConvergenceParams:
    """Correlations of the monthly shocks ``[btc, hashrate, gpu_rent, sofr]`` by regime.

    The calm regime (GPU *tight*, 0) uses the six pairwise correlations below. In stress (GPU
    *glut*, 1) the correlation of bitcoin with GPU rents converges towards one: it becomes
    ``stress_correlation``. The other pairs keep their calm values (hash rate follows price
    with a lag rather than within the month, and rates have no sourced stress co-movement);
    the rent-SOFR pair is the GPU model's own, by regime.

    Attributes
    ----------
    btc_hashrate, btc_rent, btc_sofr, hashrate_rent, hashrate_sofr : float
        Calm correlations, in (-1, 1).
    rent_sofr : tuple of float
        The GPU model's (tight, glut) correlation of the rent and SOFR shocks
        (``CorrelationParams.rent_sofr``).
    stress_correlation : float
        BTC-rent correlation in stress, in [``btc_rent``, 1).
    enabled : bool
        False switches convergence off: stress uses the calm correlations.
    copula : {"gaussian", "student_t"}
        Dependence of the shocks; marginals are N(0, 1) either way.
    dof : float
        Degrees of freedom of the Student-t copula (> 0).
    sources : dict of str to str
        Where each number comes from.

    Raises
    ------
    ValueError
        A correlation outside (-1, 1), a stress correlation below the calm one, or a matrix
        that is not positive definite (the message names the regime, the matrix and the fix).
    """

    btc_hashrate: float
    btc_rent: float
    btc_sofr: float
    hashrate_rent: float
    hashrate_sofr: float
    rent_sofr: tuple[float, float] = defaults.RHO_RENT_SOFR
    stress_correlation: float = DEFAULT_STRESS_CORRELATION
    enabled: bool = True
    copula: CopulaName = "gaussian"
    dof: float = DEFAULT_COPULA_DOF
    sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = ("btc_hashrate", "btc_rent", "btc_sofr", "hashrate_rent", "hashrate_sofr")
        for name in names:
            value = getattr(self, name)
            if not -1.0 < value < 1.0:
                raise ValueError(f"ConvergenceParams.{name} = {value}: expected in (-1, 1)")
        for value in self.rent_sofr:
            if not -1.0 < value < 1.0:
                raise ValueError(
                    f"ConvergenceParams.rent_sofr = {self.rent_sofr}: expected (-1, 1)"
                )
        if not self.btc_rent <= self.stress_correlation < 1.0:
            raise ValueError(
                f"ConvergenceParams.stress_correlation = {self.stress_correlation}: expected in "
                f"[btc_rent = {self.btc_rent}, 1): in stress correlations converge towards one"
            )
        if self.copula not in ("gaussian", "student_t"):
            raise ValueError(
                f"ConvergenceParams.copula = {self.copula!r}: expected 'gaussian' or 'student_t'"
            )
        if not (self.dof > 0.0 and math.isfinite(self.dof)):
            raise ValueError(f"ConvergenceParams.dof = {self.dof}: expected a finite number > 0")
        for regime in (0, 1):
            self.cholesky(regime)

    def matrix(self, regime: int) -> Float64Array:
        """Correlation matrix of ``[btc, hashrate, gpu_rent, sofr]`` in ``regime`` (0 calm,
        1 stress), shape (4, 4)."""
        if regime not in (0, 1):
            raise ValueError(f"regime = {regime}: expected 0 (calm) or 1 (stress)")
        btc_rent = self.stress_correlation if (regime == 1 and self.enabled) else self.btc_rent
        corr = np.eye(4)
        pairs = (
            (BTC, HASHRATE, self.btc_hashrate),
            (BTC, GPU_RENT, btc_rent),
            (BTC, SOFR, self.btc_sofr),
            (HASHRATE, GPU_RENT, self.hashrate_rent),
            (HASHRATE, SOFR, self.hashrate_sofr),
            (GPU_RENT, SOFR, self.rent_sofr[regime]),
        )
        for i, j, rho in pairs:
            corr[i, j] = corr[j, i] = rho
        return corr

    def cholesky(self, regime: int) -> Float64Array:
        """Lower Cholesky factor of :meth:`matrix`, shape (4, 4)."""
        corr = self.matrix(regime)
        try:
            return np.asarray(np.linalg.cholesky(corr), dtype=np.float64)
        except np.linalg.LinAlgError:
            label = "calm" if regime == 0 else "stress"
            raise ValueError(
                f"ConvergenceParams: the {label} correlation matrix of {list(FACTOR_ORDER)} is "
                f"not positive definite: {np.round(corr, 4).tolist()}; lower "
                f"stress_correlation or the calm correlations"
            ) from None

    def switched_off(self) -> ConvergenceParams:
        """The same parameters with convergence off (for the double-leverage premium)."""
        return dataclasses.replace(self, enabled=False)


def _monthly_market_changes(as_of: dt.date, window_years: float) -> pd.DataFrame:
    """Monthly BTC log return, hash-rate log growth and SOFR change, complete months to as_of."""
    end = pd.Timestamp(as_of)
    prices = btc_daily_prices(as_of, window_years + 1.0)
    days = pd.DatetimeIndex(prices.index)
    by_month = prices.groupby(days.to_period("M"))
    month_end_price = by_month.last()
    # a month whose last price is not on its last day (the end of the file) has no return
    last_day = pd.Series(days, index=days).groupby(days.to_period("M")).max()
    complete = (last_day + pd.offsets.MonthEnd(0) == last_day).to_numpy()
    month_end_price = month_end_price[complete]
    btc = np.log(month_end_price).diff()
    gap_btc = pd.Series(pd.PeriodIndex(month_end_price.index, freq="M").asi8, index=btc.index)
    btc = btc[gap_btc.diff() == 1]
    hashrate = btc_monthly_hashrate()
    hr = pd.Series(np.log(hashrate.to_numpy()), index=pd.PeriodIndex(hashrate.index, freq="M"))
    hr = hr.diff()
    # consecutive complete months only
    gap = pd.Series(pd.PeriodIndex(hashrate.index, freq="M").asi8, index=hr.index).diff()
    hr = hr[gap == 1]
    rates = _rates()
    sofr = rates[rates["SOFR"].notna()]
    sofr_month = sofr.groupby(sofr["date"].dt.to_period("M"))["SOFR"].mean() / 100.0
    frame = pd.DataFrame({"btc": btc, "hashrate": hr, "sofr": sofr_month.diff()})
    last_complete = (end + pd.Timedelta(days=1)).to_period("M") - 1
    first = (end - pd.Timedelta(days=round(365.25 * window_years))).to_period("M")
    frame = frame[(frame.index > first) & (frame.index <= last_complete)]
    return frame


@cache
def _rates() -> pd.DataFrame:
    """Daily SOFR (percent); before SOFR's first day (2018-04-03), the 3-month Treasury proxy
    ``DGS10 - T10Y3M`` of ``market.history.short_rate_on``, so that correlations can be
    estimated as of any date from 2010 (windows after mid-2018 see SOFR only)."""
    frame = pd.read_csv(
        data_path("rates_daily.csv"),
        usecols=["date", "SOFR", "DGS10", "T10Y3M"],
        parse_dates=["date"],
    )
    first = frame.loc[frame["SOFR"].notna(), "date"].min()
    proxy = (frame["DGS10"] - frame["T10Y3M"]).clip(lower=0.0)
    sofr = frame["SOFR"].where(frame["date"] >= first, proxy)
    return pd.DataFrame({"date": frame["date"], "SOFR": sofr})


def calm_correlations_from_data(
    as_of: dt.date, window_years: float = DEFAULT_CORRELATION_WINDOW_YEARS
) -> dict[str, tuple[float, int]]:
    """Pairwise correlations of monthly BTC, hash-rate and SOFR moves to ``as_of``.

    Parameters
    ----------
    as_of : datetime.date
        Only complete months ending on or before it are used.
    window_years : float
        Window, years (default 8, the bitcoin price window).

    Returns
    -------
    dict
        ``{"btc_hashrate" | "btc_sofr" | "hashrate_sofr": (correlation, months used)}``:
        Pearson correlations of the month-end BTC log return, the log growth of the monthly
        mean hash rate and the change of the monthly mean SOFR (decimal), over the months
        where both are defined (data/btc_daily.csv, data/rates_daily.csv). All regimes are
        pooled: the estimates stand for the calm regime.
    """
    return dict(_calm_correlations(as_of, window_years))


@cache
def _calm_correlations(
    as_of: dt.date, window_years: float
) -> tuple[tuple[str, tuple[float, int]], ...]:
    frame = _monthly_market_changes(as_of, window_years)
    out: dict[str, tuple[float, int]] = {}
    for a, b in (("btc", "hashrate"), ("btc", "sofr"), ("hashrate", "sofr")):
        both = frame[[a, b]].dropna()
        if len(both) < 24:
            raise DataError(
                f"fewer than 24 months of {a} and {b} moves to {as_of}: cannot estimate their "
                f"correlation (SOFR from 2018-04-03, a 3-month Treasury proxy before)"
            )
        out[f"{a}_{b}"] = (float(np.corrcoef(both[a], both[b])[0, 1]), len(both))
    return tuple(out.items())


def convergence_params(
    as_of: dt.date,
    *,
    stress_correlation: float = DEFAULT_STRESS_CORRELATION,
    enabled: bool = True,
    copula: CopulaName = "gaussian",
    dof: float = DEFAULT_COPULA_DOF,
    gpu_correlation: CorrelationParams | None = None,
) -> ConvergenceParams:
    """Default dependence: calm correlations estimated where the shipped data allows.

    Parameters
    ----------
    as_of : datetime.date
        Last day of data used.
    stress_correlation : float
        BTC-rent correlation in stress (default 0.36, see
        :data:`DEFAULT_STRESS_CORRELATION`).
    enabled, copula, dof
        As in :class:`ConvergenceParams`.
    gpu_correlation : CorrelationParams, optional
        The GPU model's correlations; its ``rent_sofr`` is used (default: the sourced
        ``factors.defaults.RHO_RENT_SOFR``).

    Returns
    -------
    ConvergenceParams
        BTC-hashrate, BTC-SOFR and hashrate-SOFR estimated by
        :func:`calm_correlations_from_data`; BTC-rent and hashrate-rent sourced assumptions.
    """
    est = calm_correlations_from_data(as_of)
    rent_sofr = defaults.RHO_RENT_SOFR if gpu_correlation is None else gpu_correlation.rent_sofr
    window = f"monthly moves, {DEFAULT_CORRELATION_WINDOW_YEARS:g} years to {as_of}"
    sources = {
        key: f"estimated: {value:.3f} over {n} {window}" for key, (value, n) in est.items()
    } | {
        "btc_rent": "assumption 0: IMF Blog 2022-01-11, BTC vs S&P 500 daily 0.01 (2017-19)",
        "hashrate_rent": "assumption 0: no shipped series; ASIC-driven network growth",
        "rent_sofr": "the GPU model's correlation (factors.params.CorrelationParams)",
        "stress_correlation": (
            "0.36: IMF Blog 2022-01-11, BTC vs S&P 500 daily 2020-21 (assumption for GPU "
            "rents; Longin-Solnik 2001: correlation rises in bear markets)"
            if stress_correlation == DEFAULT_STRESS_CORRELATION
            else "user"
        ),
        "dof": "assumption 4 (heavy tails)" if dof == DEFAULT_COPULA_DOF else "user",
    }
    return ConvergenceParams(
        btc_hashrate=est["btc_hashrate"][0],
        btc_rent=CALM_BTC_RENT,
        btc_sofr=est["btc_sofr"][0],
        hashrate_rent=CALM_HASHRATE_RENT,
        hashrate_sofr=est["hashrate_sofr"][0],
        rent_sofr=(float(rent_sofr[0]), float(rent_sofr[1])),
        stress_correlation=stress_correlation,
        enabled=enabled,
        copula=copula,
        dof=dof,
        sources=sources,
    )
