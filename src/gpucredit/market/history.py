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

__all__ = ["Observation", "rent_anchor", "rent_observations", "sofr_on"]

# Map of the shipped files' GPU names to generation keys (SXM parts; PCIe/NVL are left out
# because fleets financed by debt are SXM/HGX servers).
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
_EPOCH = {"NVIDIA A100 SXM4 80 GB": "A100", "NVIDIA H100 SXM5 80GB": "H100"}


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


@cache
def rent_observations() -> pd.DataFrame:
    """On-demand rental price observations per generation, USD per GPU-hour.

    Columns: ``date``, ``generation``, ``usd_per_gpu_hour``, ``source``. One row per provider
    and day (2026 scrape: the provider's median offer), per half-hourly marketplace snapshot
    (2025: the median across offers), or per Epoch price row (to 2025-03).
    """
    parts: list[pd.DataFrame] = []
    obs = pd.read_csv(data_path("gpu_rental_observations_2026.csv"), parse_dates=["date"])
    obs = obs[(obs["rental_type"] == "on_demand") & obs["gpu_model"].isin(list(_OBS_2026))]
    parts.append(
        pd.DataFrame(
            {
                "date": obs["date"],
                "generation": obs["gpu_model"].map(_OBS_2026),
                "usd_per_gpu_hour": obs["price_median_usd"],
                "source": "gpu_rental_observations_2026.csv",
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
                "usd_per_gpu_hour": market["usd_per_gpu_hr_median"],
                "source": "gpu_rental_marketplace_2025.csv",
            }
        )
    )
    epoch = pd.read_csv(data_path("gpu_prices_epoch.csv"), parse_dates=["price_date"])
    epoch = epoch[
        epoch["hardware_model"].isin(list(_EPOCH)) & epoch["usd_per_chip_hour_on_demand"].notna()
    ]
    parts.append(
        pd.DataFrame(
            {
                "date": epoch["price_date"],
                "generation": epoch["hardware_model"].map(_EPOCH),
                "usd_per_gpu_hour": epoch["usd_per_chip_hour_on_demand"],
                "source": "gpu_prices_epoch.csv",
            }
        )
    )
    frame = pd.concat(parts, ignore_index=True).dropna()
    return frame.sort_values(["generation", "date"], kind="stable").reset_index(drop=True)


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
