"""Read the shipped market data (``gpucredit/data``) for the few numbers the engine needs now.

A fuller store (DuckDB, user imports, normalised indices) is a later stage; this module keeps
its readers small and pure: each returns a value together with the observations behind it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import pandas as pd

from gpucredit.errors import DataError
from gpucredit.market.files import data_path
from gpucredit.market.rent_index import rental_observations

__all__ = [
    "Observation",
    "data_span",
    "epoch_rent_anchor",
    "rent_anchor",
    "rent_observations",
    "short_rate_on",
    "sofr_on",
]


@dataclass(frozen=True, slots=True)
class Observation:
    """A value read from the shipped data, with what stands behind it."""

    value: float
    date: dt.date
    n_obs: int
    source: str


@cache
def _rates() -> pd.DataFrame:
    frame = pd.read_csv(data_path("rates_daily.csv"), parse_dates=["date"])
    return frame


def sofr_on(as_of: dt.date) -> Observation:
    """The last published SOFR on or before ``as_of``, as a decimal (FRED series SOFR)."""
    frame = _rates()
    rows = frame[(frame["date"] <= pd.Timestamp(as_of)) & frame["SOFR"].notna()]
    if rows.empty:
        raise DataError(f"rates_daily.csv: no SOFR on or before {as_of} (SOFR starts 2018-04-03)")
    last = rows.iloc[-1]
    return Observation(
        value=float(last["SOFR"]) / 100.0,
        date=last["date"].date(),
        n_obs=1,
        source="FRED SOFR (FRBNY), data/rates_daily.csv",
    )


def rent_observations() -> pd.DataFrame:
    """On-demand rental price observations per generation, USD per GPU-hour.

    Columns: ``date``, ``generation``, ``usd_per_gpu_hour``, ``source``. One row per provider
    and day (2026 scrape: the provider's median offer), per half-hourly marketplace snapshot
    (2025: the median across offers), or per Epoch price row (to 2025-03); read by
    ``rent_index.rental_observations``.
    """
    frame = rental_observations()
    on_demand = frame[frame["rental_type"] == "on_demand"]
    columns = ["date", "generation", "usd_per_gpu_hour", "source"]
    return (
        on_demand[columns].sort_values(["generation", "date"], kind="stable").reset_index(drop=True)
    )


def rent_anchor(generation: str, as_of: dt.date, *, window_days: int = 60) -> Observation:
    """Median on-demand rent of a generation over the ``window_days`` before its last
    observation on or before ``as_of``.

    The median is taken across all provider-days (or snapshots) in the window, so one
    provider's outlier does not move it. Raises ``DataError`` when the generation has no
    observation in the 365 days before ``as_of``.
    """
    frame = rent_observations()
    series = frame[frame["generation"] == generation]
    rows = series[series["date"] <= pd.Timestamp(as_of)]
    if rows.empty or (pd.Timestamp(as_of) - rows["date"].max()).days > 365:
        span = (
            f"it has observations {series['date'].min().date()} to {series['date'].max().date()}"
            if not series.empty
            else "it has no observation"
        )
        raise DataError(
            f"missing series gpu_rent/{generation}/on_demand: no shipped on-demand rent "
            f"observation for {generation} in the year before {as_of} ({span}); the rent "
            "index of this generation cannot be anchored"
        )
    last = rows["date"].max()
    window = rows[rows["date"] > last - pd.Timedelta(days=window_days)]
    return Observation(
        value=float(window["usd_per_gpu_hour"].median()),
        date=last.date(),
        n_obs=len(window),
        source=", ".join(sorted(window["source"].unique())),
    )


@cache
def _epoch_on_demand() -> pd.DataFrame:
    frame = pd.read_csv(
        data_path("gpu_prices_epoch.csv"),
        usecols=["price_date", "hardware_model", "usd_per_chip_hour_on_demand"],
        parse_dates=["price_date"],
    )
    return frame[frame["price_date"].notna() & frame["usd_per_chip_hour_on_demand"].notna()]


def epoch_rent_anchor(generation: str, as_of: dt.date, *, window_days: int = 60) -> Observation:
    """Fallback anchor before the rent index: the Epoch GPU price history, every variant.

    The median on-demand list price (USD per GPU-hour) of every Epoch row whose hardware model
    names ``generation`` (SXM, PCIe and 40 GB parts alike, e.g. "NVIDIA A100" from 2021-04),
    over the ``window_days`` before the last such row on or before ``as_of``. Raises
    ``DataError`` naming the missing series when there is none in the 365 days before
    ``as_of``.
    """
    frame = _epoch_on_demand()
    mine = frame[frame["hardware_model"].str.contains(generation, regex=False)]
    rows = mine[mine["price_date"] <= pd.Timestamp(as_of)]
    if rows.empty or (pd.Timestamp(as_of) - rows["price_date"].max()).days > 365:
        raise DataError(
            f"missing series gpu_rent/{generation}/on_demand: no on-demand {generation} price "
            f"in the rent index or in the Epoch GPU price history (gpu_prices_epoch.csv) in the "
            f"year before {as_of}"
        )
    last = rows["price_date"].max()
    window = rows[rows["price_date"] > last - pd.Timedelta(days=window_days)]
    return Observation(
        value=float(window["usd_per_chip_hour_on_demand"].median()),
        date=last.date(),
        n_obs=len(window),
        source="Epoch AI GPU price history, all variants (data/gpu_prices_epoch.csv)",
    )


def short_rate_on(as_of: dt.date) -> Observation:
    """SOFR on ``as_of`` (:func:`sofr_on`); before SOFR began (2018-04-03), a proxy.

    The proxy is the 3-month Treasury yield read from the same file as ``DGS10 - T10Y3M``
    (FRED: the 10-year yield less the 10-year minus 3-month spread), a decimal. SOFR has
    tracked the 3-month bill within a few tenths of a point since 2018; the source says
    "proxy" so a reader sees it.
    """
    try:
        return sofr_on(as_of)
    except DataError:
        pass
    frame = _rates()
    rows = frame[
        (frame["date"] <= pd.Timestamp(as_of)) & frame["DGS10"].notna() & frame["T10Y3M"].notna()
    ]
    if rows.empty:
        raise DataError(
            f"missing series SOFR: rates_daily.csv has no SOFR (from 2018-04-03) and no 3-month "
            f"Treasury proxy (DGS10 - T10Y3M, from 1982-01-04) on or before {as_of}"
        ) from None
    last = rows.iloc[-1]
    return Observation(
        value=max(float(last["DGS10"]) - float(last["T10Y3M"]), 0.0) / 100.0,
        date=last["date"].date(),
        n_obs=1,
        source="proxy before SOFR: 3-month Treasury yield = FRED DGS10 - T10Y3M, "
        "data/rates_daily.csv",
    )


@cache
def data_span() -> tuple[dt.date, dt.date]:
    """First and last day a run can be valued on: the first bitcoin price (Coin Metrics
    PriceUSD, 2010-07) to the last day of the shipped daily data (rates or bitcoin)."""
    btc = pd.read_csv(
        data_path("btc_daily.csv"), usecols=["date", "PriceUSD"], parse_dates=["date"]
    )
    first = btc.loc[btc["PriceUSD"].notna(), "date"].min().date()
    last = max(btc["date"].max(), _rates()["date"].max()).date()
    return first, last
