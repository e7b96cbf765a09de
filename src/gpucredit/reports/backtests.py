"""Out-of-sample backtests: where realised market paths fall in the engine's simulated fans.

* :func:`backtest_h100_rent` runs the engine's factor model from an as-of date (default
  2023-06-30, parameters from :func:`gpucredit.factors.default_factor_params`) and places
  each later month of the realised H100 on-demand rent index
  (:func:`gpucredit.market.rent_index.rent_index`) in the simulated distribution of the
  matching month.
* :func:`backtest_btc` fits the bitcoin price and hash-rate models on data to an as-of date
  (default 2021-12-31), simulates the next months and places the realised month-end BTC price
  and the realised monthly mean hashprice in the fans.

A realised month's *percentile* is the share of simulated paths at or below it, x 100. The
*coverage* of the 5-95% band is the share of realised months inside it; a well-calibrated
fan covers about 90% of months (with months of one path strongly dependent, so a small
sample tells little).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gpucredit._typing import Float64Array
from gpucredit.factors import default_factor_params
from gpucredit.factors.bitcoin import (
    BtcFit,
    HashrateFit,
    fit_btc_jump_diffusion,
    fit_hashrate,
    hashprice_params,
    simulate_hashprice,
)
from gpucredit.factors.calibrate import calibrate_factors
from gpucredit.factors.params import FactorParams
from gpucredit.market.bitcoin import hashprice_series
from gpucredit.market.rent_index import rent_index
from gpucredit.scenarios import MonteCarloShocks, TimeGrid, n_factors, simulate_scenarios

__all__ = [
    "FAN_QUANTILES",
    "BtcBacktest",
    "FanBacktest",
    "RegimeBacktest",
    "backtest_btc",
    "backtest_h100_rent",
    "backtest_regime_rent",
    "fan_backtest",
]

FAN_QUANTILES = (0.05, 0.25, 0.50, 0.75, 0.95)
"""Quantiles of the fan tables (probabilities)."""


@dataclass(frozen=True, slots=True, eq=False)
class FanBacktest:
    """A simulated fan and the realised path placed in it.

    Attributes
    ----------
    name : str
        What is simulated (e.g. ``"H100 on-demand rent"``).
    unit : str
        Unit of the values (e.g. ``"USD per GPU-hour"``).
    as_of : datetime.date
        Start of the simulation; only data to this date was used.
    n_paths : int
        Simulated paths.
    fan : pandas.DataFrame
        Indexed by month (first day of the calendar month simulated), columns the
        :data:`FAN_QUANTILES` of the simulated values.
    realised : pandas.DataFrame
        Indexed by month, realised months only: ``value``, ``percentile`` (share of paths
        at or below the value, 0-100), ``inside_5_95`` (bool).
    coverage_5_95 : float
        Share of realised months inside the 5-95% band, in [0, 1] (NaN if none).
    """

    name: str
    unit: str
    as_of: dt.date
    n_paths: int
    fan: pd.DataFrame
    realised: pd.DataFrame
    coverage_5_95: float

    @property
    def n_realised(self) -> int:
        """Realised months placed in the fan."""
        return len(self.realised)


@dataclass(frozen=True, slots=True, eq=False)
class BtcBacktest:
    """Bitcoin backtest: the fits used and the price and hashprice fans.

    Attributes
    ----------
    btc_fit : BtcFit
        Jump-diffusion fitted on daily prices to ``as_of``.
    hashrate_fit : HashrateFit
        Hash-rate model fitted on complete months to ``as_of``.
    price : FanBacktest
        Month-end BTC price fan, USD per BTC.
    hashprice : FanBacktest
        Hashprice fan, USD per PH/s per day (realised: the month's mean daily hashprice).
    """

    btc_fit: BtcFit
    hashrate_fit: HashrateFit
    price: FanBacktest
    hashprice: FanBacktest


def fan_backtest(
    name: str,
    unit: str,
    as_of: dt.date,
    months: pd.DatetimeIndex,
    paths: Float64Array,
    realised: pd.Series,
) -> FanBacktest:
    """Place a realised monthly series in simulated paths.

    Parameters
    ----------
    name, unit : str
        Labels.
    as_of : datetime.date
        Simulation start.
    months : pandas.DatetimeIndex
        Month start of each simulated month, shape (month,).
    paths : ndarray, shape (path, month)
        Simulated values.
    realised : pandas.Series
        Realised values indexed by month start; NaN and months outside ``months`` ignored.

    Returns
    -------
    FanBacktest
        Fan quantiles, percentiles and 5-95% coverage.
    """
    q = np.quantile(paths, FAN_QUANTILES, axis=0).T
    fan = pd.DataFrame(q, index=months, columns=list(FAN_QUANTILES))
    fan.index.name = "month"
    obs = realised.dropna()
    obs = obs[obs.index.isin(months)]
    rows = []
    for month, value in obs.items():
        col = paths[:, months.get_loc(month)]
        pct = 100.0 * float(np.mean(col <= value))
        j = months.get_loc(month)
        lo, hi = float(q[j, 0]), float(q[j, -1])
        rows.append((month, float(value), pct, bool(lo <= value <= hi)))
    table = pd.DataFrame(rows, columns=["month", "value", "percentile", "inside_5_95"])
    table = table.set_index("month")
    coverage = float(table["inside_5_95"].mean()) if len(table) else float("nan")
    return FanBacktest(name, unit, as_of, int(paths.shape[0]), fan, table, coverage)


def _month_starts(as_of: dt.date, n_months: int) -> pd.DatetimeIndex:
    first = pd.Timestamp(as_of).to_period("M") + 1
    return pd.period_range(first, periods=n_months, freq="M").to_timestamp()


def backtest_h100_rent(
    as_of: dt.date = dt.date(2023, 6, 30),
    n_months: int = 36,
    n_paths: int = 5_000,
    seed: int = 20230630,
) -> FanBacktest:
    """Engine's H100 rent fan from ``as_of`` against the realised on-demand index.

    Parameters
    ----------
    as_of : datetime.date
        Start; should be a month end so that simulated month ``m`` is calendar month
        ``as_of + m``.
    n_months, n_paths : int
        Horizon (months) and Monte Carlo paths.
    seed : int
        Seed of :class:`gpucredit.scenarios.MonteCarloShocks`.

    Returns
    -------
    FanBacktest
        Rent in USD per GPU-hour; realised values are monthly medians of on-demand
        observations, simulated values the engine's month-end rent index.
    """
    params = default_factor_params(("H100",), as_of)
    grid = TimeGrid(as_of, n_months)
    shocks = MonteCarloShocks(seed).draw(0, n_paths, n_months, n_factors(params), 0)
    scen = simulate_scenarios(params, grid, shocks)
    return fan_backtest(
        "H100 on-demand rent",
        "USD per GPU-hour",
        as_of,
        _month_starts(as_of, n_months),
        scen.rent_of("H100"),
        rent_index("H100"),
    )


def _realised_btc_monthly(months: pd.DatetimeIndex) -> tuple[pd.Series, pd.Series]:
    from gpucredit.factors.bitcoin import btc_daily_prices

    last = (months[-1] + pd.offsets.MonthEnd(0)).date()
    prices = btc_daily_prices(last, window_years=(last - months[0].date()).days / 365.0 + 1.0)
    month_end = prices.groupby(pd.DatetimeIndex(prices.index).to_period("M")).last()
    month_end.index = pd.PeriodIndex(month_end.index).to_timestamp()
    hp = hashprice_series()
    hp_month = hp.groupby(pd.DatetimeIndex(hp.index).to_period("M")).mean()
    hp_month.index = pd.PeriodIndex(hp_month.index).to_timestamp()
    return month_end, hp_month


def backtest_btc(
    as_of: dt.date = dt.date(2021, 12, 31),
    n_months: int = 12,
    n_paths: int = 5_000,
    seed: int = 20211231,
) -> BtcBacktest:
    """Bitcoin price and hashprice fans from ``as_of`` against the realised months.

    Parameters
    ----------
    as_of : datetime.date
        Fit end and simulation start (a month end).
    n_months, n_paths : int
        Horizon (months) and Monte Carlo paths.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    BtcBacktest
        Realised price: the month's last daily ``PriceUSD`` (USD per BTC); realised
        hashprice: the mean of the month's daily hashprice (USD per PH/s per day); simulated:
        month-end price and hashprice at the month's mean hash rate.
    """
    btc = fit_btc_jump_diffusion(as_of)
    hr = fit_hashrate(as_of)
    hp = hashprice_params(as_of)
    sims = simulate_hashprice(btc, hr, hp, n_paths, n_months, rng=np.random.default_rng(seed))
    months = _month_starts(as_of, n_months)
    price_real, hp_real = _realised_btc_monthly(months)
    return BtcBacktest(
        btc_fit=btc,
        hashrate_fit=hr,
        price=fan_backtest("BTC price", "USD per BTC", as_of, months, sims.price_usd, price_real),
        hashprice=fan_backtest(
            "Hashprice",
            "USD per PH/s per day",
            as_of,
            months,
            sims.hashprice_usd_per_ph_day,
            hp_real,
        ),
    )


@dataclass(frozen=True, slots=True, eq=False)
class RegimeBacktest:
    """The calibrated regime model's H100 rent fan, and its mean decline against the realised.

    Attributes
    ----------
    calibrated : FanBacktest
        The model as the engine runs it as of ``as_of``: regime chain and start regime from the
        Markov-switching fit, successor-step size and continuous decay from the joint
        trend-regime(-step) fit.
    prior_decay : FanBacktest
        The same model and shocks with the hand-set decay (0.11 a year, read off the total
        decline including the glut): the glut's fall counted in the trend as well.
    hindsight : FanBacktest
        The same model and shocks with the step size and decay of the joint fit on all the
        data to ``hindsight_as_of`` (not point in time: it shows what the fitted split of the
        decline between the trend and the steps does, not what was knowable).
    initial_regime : int
        Regime at ``as_of`` from the fit (0 tight, 1 glut).
    decay_calibrated, decay_prior, decay_hindsight : float
        The models' continuous decay, log units per year.
    step_calibrated, step_hindsight : float
        Log decline per successor ramp of the calibrated and hindsight models (the prior-decay
        model has the calibrated one).
    step_source, step_source_hindsight : str
        How the calibrations as of ``as_of`` and ``hindsight_as_of`` got their step (fitted,
        floored at 0, or sourced), with the estimate and its standard error.
    anchor_usd_per_gpu_hour : float
        The H100 rent anchor at ``as_of`` (USD per GPU-hour).
    hindsight_as_of : datetime.date
        As-of date of the hindsight calibration.
    slope_calibrated, slope_prior, slope_hindsight, slope_realised : float
        Least-squares slope of log rent on time over the realised months, per year: of each
        model's mean log rent and of the realised index.
    """

    calibrated: FanBacktest
    prior_decay: FanBacktest
    hindsight: FanBacktest
    initial_regime: int
    decay_calibrated: float
    decay_prior: float
    decay_hindsight: float
    step_calibrated: float
    step_hindsight: float
    step_source: str
    step_source_hindsight: str
    anchor_usd_per_gpu_hour: float
    hindsight_as_of: dt.date
    slope_calibrated: float
    slope_prior: float
    slope_hindsight: float
    slope_realised: float


def _slope(months: pd.Index, log_values: Float64Array) -> float:
    stamps = pd.DatetimeIndex(months)
    years = (stamps - stamps[0]).days.to_numpy(dtype=np.float64) / 365.25
    return float(np.polyfit(years, log_values, 1)[0])


def _with_trend(params: FactorParams, decay: float, step: float) -> FactorParams:
    """``params`` with the H100 rent's continuous decay and successor-step size replaced."""
    rp = params.rent("H100")
    steps = tuple(dataclasses.replace(s, log_step=step) for s in rp.successors)
    rent = dataclasses.replace(rp, decay_per_year=decay, successors=steps)
    return dataclasses.replace(params, rents=(rent,))


def backtest_regime_rent(
    as_of: dt.date = dt.date(2024, 8, 31),
    n_months: int = 22,
    n_paths: int = 5_000,
    seed: int = 20240831,
    hindsight_as_of: dt.date = dt.date(2026, 7, 31),
) -> RegimeBacktest:
    """H100 rent fan of the calibrated regime model from ``as_of`` (point in time).

    The parameters are :func:`~gpucredit.factors.calibrate.calibrate_factors` as of ``as_of``
    (regime chain fitted by Markov switching on the index to that date, the start regime from
    its filtered probability, the successor-step size and the decay fitted jointly with the
    regime means), run through :func:`simulate_scenarios`; the comparisons differ only in
    their decay (the hand-set one) or in their decay and step (those fitted on the data to
    ``hindsight_as_of``, labelled as hindsight).

    Parameters
    ----------
    as_of : datetime.date
        Start; a month end.
    n_months, n_paths : int
        Horizon (months) and Monte Carlo paths.
    seed : int
        Seed of :class:`gpucredit.scenarios.MonteCarloShocks`.
    hindsight_as_of : datetime.date
        As-of date of the hindsight calibration (the last data month).

    Returns
    -------
    RegimeBacktest
        Rents in USD per GPU-hour; decays, steps and slopes in log units per year (steps in
        log units per successor ramp).
    """
    cal = calibrate_factors(as_of)
    params = cal.to_params(("H100",), as_of)
    rp = params.rent("H100")
    step = cal.regime.successor_log_step
    prior = default_factor_params(("H100",), as_of).rent("H100").decay_per_year
    late = calibrate_factors(hindsight_as_of)
    late_step = late.regime.successor_log_step
    late_decay = late.to_params(("H100",), hindsight_as_of).rent("H100").decay_per_year
    models = (params, _with_trend(params, prior, step), _with_trend(params, late_decay, late_step))
    grid = TimeGrid(as_of, n_months)
    shocks = MonteCarloShocks(seed).draw(0, n_paths, n_months, n_factors(params), 0)
    months = _month_starts(as_of, n_months)
    realised = rent_index("H100")
    fans = []
    slopes = []
    names = (
        "H100 on-demand rent",
        "H100 rent, hand-set decay",
        f"H100 rent, step and decay fitted to {hindsight_as_of} (hindsight)",
    )
    for name, p in zip(names, models, strict=True):
        rent = simulate_scenarios(p, grid, shocks).rent_of("H100")
        fan = fan_backtest(name, "USD per GPU-hour", as_of, months, rent, realised)
        fans.append(fan)
        at = months.get_indexer(fan.realised.index)
        slopes.append(_slope(fan.realised.index, np.log(rent[:, at]).mean(axis=0)))
    real = fans[0].realised
    return RegimeBacktest(
        calibrated=fans[0],
        prior_decay=fans[1],
        hindsight=fans[2],
        initial_regime=params.regime.initial,
        decay_calibrated=rp.decay_per_year,
        decay_prior=prior,
        decay_hindsight=late_decay,
        step_calibrated=step,
        step_hindsight=late_step,
        step_source=cal.regime.source.get("successor_log_step", ""),
        step_source_hindsight=late.regime.source.get("successor_log_step", ""),
        anchor_usd_per_gpu_hour=rp.anchor_usd_per_gpu_hour,
        hindsight_as_of=hindsight_as_of,
        slope_calibrated=slopes[0],
        slope_prior=slopes[1],
        slope_hindsight=slopes[2],
        slope_realised=_slope(real.index, np.log(real["value"].to_numpy(dtype=np.float64))),
    )
