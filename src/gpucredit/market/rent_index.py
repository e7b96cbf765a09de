"""A normalised monthly GPU rental index per generation and rental type, from the shipped data.

Sources (all in ``gpucredit/data``; see its README for provenance and licences):

=====================================  ==========================================  ==============
file                                   one raw observation                         rental types
=====================================  ==========================================  ==============
``gpu_prices_epoch.csv``               one Epoch price row (a vendor's list        on_demand,
                                       price on a date), 2022-04 to 2025-03        committed_1y,
                                                                                   committed_3y
``gpu_rental_marketplace_2025.csv``    one half-hourly snapshot of Prime           on_demand
                                       Intellect's marketplace: the median
                                       across its offers, 2025-10 to 2025-11
``gpu_rental_observations_2026.csv``   one scraped row (provider, GPU count,       on_demand,
                                       region): the provider's median offer,       spot
                                       2026-02 to 2026-07
=====================================  ==========================================  ==============

Epoch's on-demand, 1-year and 3-year commitment columns become the rental types
``on_demand``, ``committed_1y`` and ``committed_3y``. Types are never mixed: spot and committed
prices are far below on-demand prices and would bend an index that mixed them.

Generations are SXM parts, as in :mod:`gpucredit.market.history` (fleets financed by debt are
SXM/HGX servers): A100 (SXM4 80 GB), H100 (SXM5 80 GB), H200 (SXM, 141 GB) and B200. PCIe and NVL
parts, A100 40 GB and unlabelled "A100" rows are left out.

Method, for each generation and rental type:

1. **Provider-day value.** The median of a provider's raw observations on a UTC day (several
   rows for different GPU counts or regions; in the marketplace file the "provider" is the
   snapshot, in the Epoch file the vendor).
2. **Daily value.** The median of the provider-day values across providers (or snapshots), per
   source and day.
3. **Monthly value.** The median of the daily values of a calendar month, across its days and
   sources. ``n_obs`` counts the raw observations behind it, ``n_days`` the distinct UTC days
   with at least one observation, ``sources`` names the files.
4. **Gaps.** Every month between a series' first and last observed month appears; a month
   without any observation has ``usd_per_gpu_hour = NaN``, ``n_obs = n_days = 0``. Nothing is
   interpolated or carried forward: a gap is a gap.

Medians rather than means, so one provider's outlier (a hyperscaler list price at 10-12 USD/h
next to neoclouds at 2-3) does not move a month. The sources differ in what they sample (list
prices from a hand-collected table, a marketplace's median offer, scraped provider pages), so a
change of source between months is a change of panel: read levels across sources with care.
"""

from __future__ import annotations

from functools import cache
from typing import Literal, get_args

import pandas as pd

from gpucredit.errors import DataError
from gpucredit.market.files import data_path

__all__ = [
    "GENERATIONS",
    "RentalType",
    "generation_of_series",
    "monthly_rent_index",
    "rent_index",
    "rent_index_table",
    "rental_observations",
    "series_rent_index",
]

RentalType = Literal["on_demand", "spot", "committed_1y", "committed_3y"]
"""Rental types kept apart in the index."""

GENERATIONS: tuple[str, ...] = ("A100", "H100", "H200", "B200")
"""Generations indexed (SXM parts)."""

_RENTAL_TYPES: tuple[str, ...] = get_args(RentalType)

# The raw observations also cover B300 and GB200 (the engine anchors their rent on them);
# the monthly index is published for GENERATIONS only.
_OBS_2026 = {
    "A100_SXM_80GB": "A100",
    "H100_SXM": "H100",
    "H200": "H200",
    "B200": "B200",
    "B300": "B300",
    "GB200": "GB200",
}
_MARKET_2025 = {
    "A100_80GB_SXM4": "A100",
    "H100_80GB_SXM5": "H100",
    "H200_141GB": "H200",
    "B200_180GB": "B200",
}
_EPOCH = {
    "NVIDIA A100 SXM4 80 GB": "A100",
    "NVIDIA H100 SXM5 80GB": "H100",
    "NVIDIA H200 SXM": "H200",
}
_EPOCH_TYPES = {
    "usd_per_chip_hour_on_demand": "on_demand",
    "usd_per_chip_hour_1yr_commit": "committed_1y",
    "usd_per_chip_hour_3yr_commit": "committed_3y",
}

_OBS_COLUMNS = ["date", "generation", "rental_type", "source", "provider", "usd_per_gpu_hour"]
_INDEX_COLUMNS = [
    "month",
    "generation",
    "rental_type",
    "usd_per_gpu_hour",
    "n_obs",
    "n_days",
    "sources",
]


@cache
def rental_observations() -> pd.DataFrame:
    """Raw rental price observations (SXM parts), all rental types: the one reader of the three
    shipped GPU price files, shared by the index and ``history.rent_anchor``.

    Returns
    -------
    pandas.DataFrame
        One row per raw observation, columns ``date`` (UTC day, datetime64), ``generation``,
        ``rental_type`` (see :data:`RentalType`), ``source`` (file name), ``provider`` (provider,
        snapshot time or vendor) and ``usd_per_gpu_hour`` (USD per GPU-hour). Rows without a
        price are dropped.
    """
    parts: list[pd.DataFrame] = []

    obs = pd.read_csv(data_path("gpu_rental_observations_2026.csv"), parse_dates=["date"])
    obs = obs[obs["gpu_model"].isin(list(_OBS_2026))]
    parts.append(
        pd.DataFrame(
            {
                "date": obs["date"],
                "generation": obs["gpu_model"].map(_OBS_2026),
                "rental_type": obs["rental_type"],
                "source": "gpu_rental_observations_2026.csv",
                "provider": obs["provider"].astype(str),
                "usd_per_gpu_hour": obs["price_median_usd"],
            }
        )
    )

    market = pd.read_csv(data_path("gpu_rental_marketplace_2025.csv"))
    market = market[market["series"].isin(list(_MARKET_2025))]
    parts.append(
        pd.DataFrame(
            {
                "date": pd.to_datetime(market["timestamp_utc"].str[:10]),
                "generation": market["series"].map(_MARKET_2025),
                "rental_type": "on_demand",
                "source": "gpu_rental_marketplace_2025.csv",
                "provider": market["timestamp_utc"].astype(str),
                "usd_per_gpu_hour": market["usd_per_gpu_hr_median"],
            }
        )
    )

    epoch = pd.read_csv(data_path("gpu_prices_epoch.csv"), parse_dates=["price_date"])
    epoch = epoch[epoch["hardware_model"].isin(list(_EPOCH)) & epoch["price_date"].notna()]
    vendor = epoch["vendor"].fillna(epoch["price_source"]).fillna("unknown").astype(str)
    for column, rental_type in _EPOCH_TYPES.items():
        parts.append(
            pd.DataFrame(
                {
                    "date": epoch["price_date"],
                    "generation": epoch["hardware_model"].map(_EPOCH),
                    "rental_type": rental_type,
                    "source": "gpu_prices_epoch.csv",
                    "provider": vendor,
                    "usd_per_gpu_hour": epoch[column],
                }
            )
        )

    frame = pd.concat(parts, ignore_index=True)
    frame = frame[frame["usd_per_gpu_hour"].notna()]
    frame = frame.sort_values(["generation", "rental_type", "date"], kind="stable")
    return frame[_OBS_COLUMNS].reset_index(drop=True)


def monthly_rent_index(observations: pd.DataFrame) -> pd.DataFrame:
    """Aggregate raw observations into the monthly index (pure; the method of the module).

    Parameters
    ----------
    observations : pandas.DataFrame
        Columns ``date`` (datetime64; the time of day is dropped), ``generation``,
        ``rental_type``, ``source``, ``provider`` and ``usd_per_gpu_hour`` (USD per GPU-hour).
        Rows with a missing price are ignored.

    Returns
    -------
    pandas.DataFrame
        One row per generation, rental type and month from each series' first to last observed
        month, columns ``month`` (month start, datetime64), ``generation``, ``rental_type``,
        ``usd_per_gpu_hour`` (median of daily medians, USD per GPU-hour; NaN in a month without
        observations), ``n_obs`` (raw observations, int), ``n_days`` (distinct days, int) and
        ``sources`` (comma-separated file names; empty in a gap). Sorted by generation, rental
        type and month.
    """
    missing = [c for c in _OBS_COLUMNS if c not in observations.columns]
    if missing:
        raise DataError(
            f"rent observations lack column(s) {missing}; expected columns {_OBS_COLUMNS}"
        )
    obs = observations.loc[observations["usd_per_gpu_hour"].notna(), _OBS_COLUMNS].copy()
    if obs.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _INDEX_COLUMNS})
    obs["day"] = pd.to_datetime(obs["date"]).dt.normalize()
    obs["usd_per_gpu_hour"] = obs["usd_per_gpu_hour"].astype(float)
    series_keys = ["generation", "rental_type"]
    day_keys = [*series_keys, "source", "day"]

    provider_day = obs.groupby([*day_keys, "provider"], sort=True)["usd_per_gpu_hour"].median()
    daily_value = provider_day.groupby(level=day_keys, sort=True).median()
    daily_count = obs.groupby(day_keys, sort=True)["usd_per_gpu_hour"].size()
    daily = pd.DataFrame({"value": daily_value, "n_obs": daily_count}).reset_index()
    daily["month"] = daily["day"].dt.to_period("M").dt.to_timestamp()

    month_keys = [*series_keys, "month"]
    grouped = daily.groupby(month_keys, sort=True)
    monthly = pd.DataFrame(
        {
            "usd_per_gpu_hour": grouped["value"].median(),
            "n_obs": grouped["n_obs"].sum(),
            "n_days": grouped["day"].nunique(),
            "sources": grouped["source"].agg(lambda s: ", ".join(sorted(set(s)))),
        }
    ).reset_index()

    pieces: list[pd.DataFrame] = []
    for (generation, rental_type), part in monthly.groupby(series_keys, sort=True):
        months = pd.date_range(part["month"].min(), part["month"].max(), freq="MS")
        full = part.set_index("month").reindex(months)
        full.index.name = "month"
        full["generation"] = str(generation)
        full["rental_type"] = str(rental_type)
        full["n_obs"] = full["n_obs"].fillna(0).astype(int)
        full["n_days"] = full["n_days"].fillna(0).astype(int)
        full["sources"] = full["sources"].fillna("")
        pieces.append(full.reset_index())
    table = pd.concat(pieces, ignore_index=True)
    return table[_INDEX_COLUMNS]


@cache
def rent_index_table() -> pd.DataFrame:
    """The monthly rent index of every indexed generation (:data:`GENERATIONS`) and rental type.

    Returns
    -------
    pandas.DataFrame
        :func:`monthly_rent_index` applied to :func:`rental_observations`; columns ``month``,
        ``generation``, ``rental_type``, ``usd_per_gpu_hour`` (USD per GPU-hour, NaN in gaps),
        ``n_obs``, ``n_days``, ``sources``.
    """
    observations = rental_observations()
    return monthly_rent_index(observations[observations["generation"].isin(GENERATIONS)])


def rent_index(generation: str, rental_type: RentalType = "on_demand") -> pd.Series:
    """Monthly rent index of one generation and rental type, gaps kept as NaN.

    Parameters
    ----------
    generation : str
        One of :data:`GENERATIONS` (``"A100"``, ``"H100"``, ``"H200"``, ``"B200"``).
    rental_type : {"on_demand", "spot", "committed_1y", "committed_3y"}
        Rental type; types are never mixed.

    Returns
    -------
    pandas.Series
        USD per GPU-hour indexed by month start (``DatetimeIndex`` named ``month``, monthly
        frequency), from the first to the last observed month; NaN where a month has no
        observation.

    Raises
    ------
    DataError
        When the generation or rental type is unknown, or the pair has no observation.
    """
    if generation not in GENERATIONS:
        raise DataError(f"rent_index: generation {generation!r} is not one of {GENERATIONS}")
    if rental_type not in _RENTAL_TYPES:
        raise DataError(f"rent_index: rental_type {rental_type!r} is not one of {_RENTAL_TYPES}")
    table = rent_index_table()
    rows = table[(table["generation"] == generation) & (table["rental_type"] == rental_type)]
    if rows.empty:
        raise DataError(
            f"rent_index: no shipped {rental_type} rent observation for {generation}; "
            "choose another rental type or import data"
        )
    series = pd.Series(
        rows["usd_per_gpu_hour"].to_numpy(dtype=float),
        index=pd.DatetimeIndex(rows["month"], freq="MS", name="month"),
        name=f"{generation}_{rental_type}_usd_per_gpu_hour",
    )
    return series


def generation_of_series(name: str) -> str:
    """The GPU generation a rent series stands for: ``gpu_rent/<generation>/...`` for a store
    series, else the first of :data:`GENERATIONS` named in it (case-insensitive, e.g.
    ``licensed_h200_index``), else ``"H100"`` (the generation the engine anchors miners on)."""
    if name.startswith("gpu_rent/"):
        return name.split("/")[1]
    upper = name.upper()
    return next((g for g in GENERATIONS if g in upper), "H100")


def series_rent_index(daily: pd.DataFrame, *, generation: str, name: str) -> pd.DataFrame:
    """A monthly on-demand index from one daily series of the market store (pure).

    Parameters
    ----------
    daily : pandas.DataFrame
        ``MarketStore.read_series`` output: ``date``, ``value`` (USD per GPU-hour) and
        ``n_obs`` (observations behind each daily value).
    generation : str
        The generation the series prices.
    name : str
        The series name, written in ``sources``.

    Returns
    -------
    pandas.DataFrame
        As :func:`monthly_rent_index`: the monthly median of the daily values, ``n_obs`` the
        raw observations behind them, rental type ``on_demand``.
    """
    if daily.empty:
        return monthly_rent_index(pd.DataFrame(columns=_OBS_COLUMNS))
    obs = pd.DataFrame(
        {
            "date": pd.to_datetime(daily["date"]),
            "generation": generation,
            "rental_type": "on_demand",
            "source": name,
            "provider": name,
            "usd_per_gpu_hour": daily["value"].astype(float),
        }
    )
    index = monthly_rent_index(obs)
    counts = (
        daily.assign(month=pd.to_datetime(daily["date"]).dt.to_period("M").dt.to_timestamp())
        .groupby("month")["n_obs"]
        .sum()
    )
    index["n_obs"] = index["month"].map(counts).fillna(0).astype(int)
    return index
