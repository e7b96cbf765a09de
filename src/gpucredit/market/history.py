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

__all__ = ["Observation", "rent_anchor", "rent_observations", "sofr_on"]


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
    rows = frame[(frame["generation"] == generation) & (frame["date"] <= pd.Timestamp(as_of))]
    if rows.empty or (pd.Timestamp(as_of) - rows["date"].max()).days > 365:
        raise DataError(
            f"no shipped on-demand rent observation for {generation} in the year before {as_of}; "
            "the rent index of this generation cannot be anchored"
        )
    last = rows["date"].max()
    window = rows[rows["date"] > last - pd.Timedelta(days=window_days)]
    return Observation(
        value=float(window["usd_per_gpu_hour"].median()),
        date=last.date(),
        n_obs=len(window),
        source=", ".join(sorted(window["source"].unique())),
    )
