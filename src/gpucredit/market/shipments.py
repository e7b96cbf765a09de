"""Installed base of the hardware that secures AI-compute and mining debt.

Two readers over the shipped data, used to size how many used units a secondary market can
absorb each month (``gpucredit.credit.liquidation``):

* **GPUs**: cumulative Nvidia data-centre GPU shipments per market pool, from Epoch AI's
  modelled quarterly shipments (``data/nvidia_shipments_quarterly_epoch.csv``, median units;
  5th and 95th percentiles too). The installed base of a pool on a date is the sum of the units
  shipped in every quarter up to that date, the quarter that contains the date counted pro rata
  by days elapsed. Nothing is retired: the file starts in 2022-Q1 and the engine's economic life
  is seven years, so every unit in it is still within its life in 2026. Nothing is
  extrapolated past the file's last quarter either (2026-Q1, marked incomplete by Epoch: Nvidia
  fiscal quarters to 2026-01-25), so a later date gets the base at the end of the data: an
  understatement for generations still shipping (B200, B300), which makes a market look
  thinner, not deeper.
* **Bitcoin ASICs**: the number of rigs hashing = the network hash rate (mean of the last
  ``window_days`` days of ``data/btc_daily.csv`` ``HashRate``, TH/s, Coin Metrics) divided by
  the hash rate of a representative rig.

Pools. Units that buyers treat as one product share one market:

=========  ========================================================  =====================
pool       Epoch chip types in the file                                engine generations
=========  ========================================================  =====================
A100       A100, A800 (China variant)                                  A100
H100       H100 (Epoch's "H100/H200" series), H800 (China variant)     H100, H200
H20        H20 (China-only cut-down Hopper, 0.15 H100e a unit)         none
B200       B200                                                        B200, GB200
B300       B300                                                        B300, GB300
=========  ========================================================  =====================

* Epoch's own later export of the same model labels the "H100" series "H100/H200" with the same
  unit numbers (``epoch-research/ai-chip-counts``,
  ``canonical_export/nvidia/sales_quarterly_by_chip.csv`` at commit ``10c28e48``; e.g. 6,119
  units in 2022-Q3 in both), so H100 and H200 cannot be split: they share one market here.
* The file has no GB200/GB300 rows; their Blackwell GPUs are taken to be inside the B200 and
  B300 rows (ASSUMPTION: Epoch counts GPUs by die generation).
* A800 and H800 (export-control variants sold in China) are counted in their family's pool, as
  the project's brief asks. They are 11% (A100 pool) and 2.6% (H100 pool) of the units; a
  lender outside China cannot sell to their owners without an export licence, so this
  overstates the buyer base by that much.
* A generation with no pool in the file (e.g. RUBIN) falls back to the newest pool in the file
  (``FALLBACK_POOL``), flagged ``is_fallback``: a new generation's early market is at most as
  deep as its predecessor's at the same age, and the newest pool is the thinnest one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
import pandas as pd

from gpucredit.errors import DataError
from gpucredit.market.files import data_path

__all__ = [
    "ASIC_POOL",
    "CHIP_TO_POOL",
    "FALLBACK_POOL",
    "GENERATION_TO_POOL",
    "SHIPMENTS_SOURCE",
    "InstalledBase",
    "asic_installed_base",
    "installed_base",
    "market_pool",
    "network_hashrate_th_s",
    "shipments_quarterly",
]

SHIPMENTS_SOURCE = (
    "Epoch AI, modelled Nvidia data-centre GPU shipments per calendar quarter "
    "(epoch-research/ai-chip-counts csv_export/nvidia_calendar_quarter_chip_timelines.csv "
    "@5467a63, MIT), data/nvidia_shipments_quarterly_epoch.csv"
)
HASHRATE_SOURCE = "Coin Metrics community data, HashRate (TH/s), data/btc_daily.csv (CC BY-NC 4.0)"

#: Epoch chip type -> market pool (see the module docstring).
CHIP_TO_POOL: dict[str, str] = {
    "A100": "A100",
    "A800": "A100",
    "H100": "H100",
    "H800": "H100",
    "H20": "H20",
    "B200": "B200",
    "B300": "B300",
}
#: Engine generation (config/presets/generations.yaml) -> market pool.
GENERATION_TO_POOL: dict[str, str] = {
    "A100": "A100",
    "H100": "H100",
    "H200": "H100",
    "B200": "B200",
    "GB200": "B200",
    "B300": "B300",
    "GB300": "B300",
}
#: Pool used for a generation the shipments file does not cover (the newest one in the file).
FALLBACK_POOL = "B300"
#: Mining rigs: their own market, sized from the network hash rate (``asic_installed_base``),
#: not from GPU shipments.
ASIC_POOL = "ASIC"

Percentile = Literal["median", "p5", "p95"]
_UNIT_COLUMNS: dict[str, str] = {
    "median": "Number of Units",
    "p5": "Number of Units (5th percentile)",
    "p95": "Number of Units (95th percentile)",
}


@dataclass(frozen=True, slots=True)
class InstalledBase:
    """Units of one market pool in service on a date, with what stands behind the number.

    Attributes
    ----------
    pool : str
        Market pool (``A100``, ``H100``, ``B200``, ``B300``, ``H20``, or ``ASIC``).
    units : float
        Installed units (GPUs or mining rigs).
    as_of : datetime.date
        Date asked for.
    data_end : datetime.date
        Last date the data covers (the last quarter's end, or the last hash-rate day).
    is_fallback : bool
        True when the generation asked for has no pool in the data and ``pool`` stands in.
    source : str
        Where the number comes from.
    """

    pool: str
    units: float
    as_of: dt.date
    data_end: dt.date
    is_fallback: bool
    source: str


@cache
def shipments_quarterly() -> pd.DataFrame:
    """Epoch's quarterly Nvidia data-centre GPU shipments, one row per quarter and chip type.

    Columns: ``chip_type`` (Epoch's name), ``pool`` (``CHIP_TO_POOL``), ``start``, ``end``
    (calendar quarter, inclusive dates), ``units_median``, ``units_p5``, ``units_p95`` (units
    shipped in the quarter), ``h100e_median`` (the same in H100-equivalents) and ``incomplete``
    (Epoch's note that the quarter is only partly covered). Sorted by pool and start date.
    Raises ``DataError`` when the file lacks a column or holds a chip type with no pool.
    """
    frame = pd.read_csv(data_path("nvidia_shipments_quarterly_epoch.csv"))
    needed = ["Chip type", "Start date", "End date", "Compute estimate in H100e (median)"]
    missing = [c for c in [*needed, *_UNIT_COLUMNS.values()] if c not in frame.columns]
    if missing:
        raise DataError(f"nvidia_shipments_quarterly_epoch.csv: missing columns {missing}")
    unknown = sorted(set(frame["Chip type"]) - set(CHIP_TO_POOL))
    if unknown:
        raise DataError(
            f"nvidia_shipments_quarterly_epoch.csv: chip types {unknown} have no market pool; "
            "add them to gpucredit.market.shipments.CHIP_TO_POOL"
        )
    out = pd.DataFrame(
        {
            "chip_type": frame["Chip type"].astype(str),
            "pool": frame["Chip type"].map(CHIP_TO_POOL).astype(str),
            "start": pd.to_datetime(frame["Start date"], format="%m/%d/%Y"),
            "end": pd.to_datetime(frame["End date"], format="%m/%d/%Y"),
            "units_median": frame[_UNIT_COLUMNS["median"]].astype(np.float64),
            "units_p5": frame[_UNIT_COLUMNS["p5"]].astype(np.float64),
            "units_p95": frame[_UNIT_COLUMNS["p95"]].astype(np.float64),
            "h100e_median": frame["Compute estimate in H100e (median)"].astype(np.float64),
            "incomplete": frame["Notes"].astype(str).str.startswith("Incomplete"),
        }
    )
    return out.sort_values(["pool", "start", "chip_type"], kind="stable").reset_index(drop=True)


def market_pool(generation: str) -> tuple[str, bool]:
    """The market pool of an engine generation or Epoch chip type, and whether it is a fallback.

    A name in ``GENERATION_TO_POOL`` or ``CHIP_TO_POOL`` maps to its pool, ``ASIC_POOL`` (mining
    rigs) to itself; any other name maps to ``FALLBACK_POOL`` with ``True``.
    """
    if generation == ASIC_POOL:
        return ASIC_POOL, False
    if generation in GENERATION_TO_POOL:
        return GENERATION_TO_POOL[generation], False
    if generation in CHIP_TO_POOL:
        return CHIP_TO_POOL[generation], False
    return FALLBACK_POOL, True


def installed_base(
    generation: str, as_of: dt.date, *, percentile: Percentile = "median"
) -> InstalledBase:
    """Cumulative units of ``generation``'s market pool shipped up to ``as_of``.

    ``units = sum_q units_q * clip((as_of - start_q + 1 day) / days_q, 0, 1)``: whole quarters
    before ``as_of``, the current quarter pro rata, none after. ``percentile`` picks Epoch's
    median or its 5th/95th percentile per quarter (summing percentiles across quarters gives a
    wider band than the percentile of the sum: a bound, not a quantile).
    """
    pool, fallback = market_pool(generation)
    if pool == ASIC_POOL:
        raise ValueError("installed_base: mining rigs are counted by asic_installed_base")
    frame = shipments_quarterly()
    rows = frame[frame["pool"] == pool]
    if rows.empty:  # pragma: no cover - every pool in CHIP_TO_POOL has rows in the file
        raise DataError(f"nvidia_shipments_quarterly_epoch.csv has no rows for pool {pool}")
    day = pd.Timestamp(as_of)
    days = (rows["end"] - rows["start"]).dt.days.to_numpy(np.float64) + 1.0
    elapsed = (day - rows["start"]).dt.days.to_numpy(np.float64) + 1.0
    share = np.clip(elapsed / days, 0.0, 1.0)
    units = float(np.sum(rows[f"units_{percentile}"].to_numpy(np.float64) * share))
    return InstalledBase(
        pool=pool,
        units=units,
        as_of=as_of,
        data_end=frame["end"].max().date(),
        is_fallback=fallback,
        source=SHIPMENTS_SOURCE,
    )


@cache
def _hashrate() -> pd.DataFrame:
    frame = pd.read_csv(data_path("btc_daily.csv"), usecols=["date", "HashRate"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.dropna().reset_index(drop=True)


def network_hashrate_th_s(as_of: dt.date, *, window_days: int = 30) -> tuple[float, dt.date]:
    """Mean network hash rate (TH/s) over the ``window_days`` days up to ``as_of``.

    Coin Metrics estimates each day's hash rate from difficulty and that day's block count, so
    a single day is noisy; a 30-day mean smooths block luck. Returns the mean and the last date
    used. Raises ``DataError`` when there is no observation in the window.
    """
    frame = _hashrate()
    end = pd.Timestamp(as_of)
    rows = frame[(frame["date"] <= end) & (frame["date"] > end - pd.Timedelta(days=window_days))]
    if rows.empty:
        raise DataError(
            f"btc_daily.csv: no HashRate in the {window_days} days to {as_of} "
            f"(the data ends {frame['date'].max().date()})"
        )
    return float(rows["HashRate"].mean()), rows["date"].max().date()


def asic_installed_base(
    as_of: dt.date, rig_hashrate_th_s: float, *, window_days: int = 30
) -> InstalledBase:
    """Bitcoin mining rigs hashing on ``as_of``: network hash rate / one rig's hash rate.

    When ``as_of`` is after the last hash-rate day, the window ends on the last day there is
    (stated in ``data_end``).
    """
    if not rig_hashrate_th_s > 0.0:
        raise ValueError(f"rig_hashrate_th_s = {rig_hashrate_th_s}: expected a positive TH/s")
    last = _hashrate()["date"].max().date()
    end = min(as_of, last)
    rate, used = network_hashrate_th_s(end, window_days=window_days)
    return InstalledBase(
        pool=ASIC_POOL,
        units=rate / rig_hashrate_th_s,
        as_of=as_of,
        data_end=used,
        is_fallback=False,
        source=HASHRATE_SOURCE,
    )
