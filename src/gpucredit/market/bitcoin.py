"""Bitcoin protocol facts and miner economics from the shipped data.

Readers over ``data/btc_halvings.csv``, ``data/btc_daily.csv`` (Coin Metrics Community data,
CC BY-NC 4.0) and ``data/btc_hashprice_daily.csv`` (derived from ``btc_daily.csv``):

* **Block subsidy.** The protocol rule (Bitcoin Core ``GetBlockSubsidy``): 50 BTC at height 0,
  halved every 210,000 blocks by a right shift of the subsidy in satoshis, zero after 64
  halvings.
* **Next halving.** The chain height at the end of a day is the running sum of Coin Metrics'
  ``BlkCnt`` (the genesis block, height 0, is not in ``BlkCnt``; the sum matches every halving
  height on its halving day). Past the last day with a block count (2026-03-22 in the shipped
  file) the height is projected at the recent rate: the mean ``BlkCnt`` of the last 90 days with
  a count on or before ``as_of`` (the protocol target of 144 blocks a day, one every ten
  minutes, where there is none). The next halving date is ``as_of`` plus the blocks still to
  mine divided by that rate. It is an estimate: the rate drifts with hash-rate growth between
  difficulty adjustments.
* **Hashprice.** ``(IssTotUSD + FeeTotNtv x PriceUSD) / HashRate x 1000``: USD earned per PH/s
  of hash rate per day (``HashRate`` is in TH/s). Coin Metrics' ``HashRate`` is itself estimated
  from the day's block count, so block-count luck cancels out and the series is close to the
  expected revenue per unit of hash.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cache

import pandas as pd

from gpucredit.errors import DataError
from gpucredit.market.files import data_path

__all__ = [
    "HALVING_INTERVAL_BLOCKS",
    "TARGET_BLOCKS_PER_DAY",
    "Halving",
    "HalvingEstimate",
    "block_subsidy_btc",
    "btc_halvings",
    "hashprice_series",
    "hashprice_usd_per_ph_day",
    "next_halving_estimate",
    "shipped_hashprice",
]

HALVING_INTERVAL_BLOCKS = 210_000
"""Blocks between subsidy halvings (Bitcoin protocol constant, ``nSubsidyHalvingInterval``)."""

TARGET_BLOCKS_PER_DAY = 144.0
"""Protocol target block rate: one block every 600 seconds, 86,400 / 600 = 144 a day."""

_INITIAL_SUBSIDY_SAT = 50 * 100_000_000  # 50 BTC in satoshis (Bitcoin Core GetBlockSubsidy)
_SAT_PER_BTC = 100_000_000
_RATE_WINDOW_DAYS = 90


@dataclass(frozen=True, slots=True)
class Halving:
    """One row of ``data/btc_halvings.csv``.

    Attributes
    ----------
    number : int
        Halving number (0 is the genesis block).
    height : int
        Block height at which the new subsidy applies, blocks.
    date : datetime.date or None
        UTC date of that block; ``None`` for a halving not yet reached.
    subsidy_before_btc : float or None
        Subsidy per block before the halving, BTC (``None`` for genesis).
    subsidy_after_btc : float
        Subsidy per block from ``height`` on, BTC.
    """

    number: int
    height: int
    date: dt.date | None
    subsidy_before_btc: float | None
    subsidy_after_btc: float


@dataclass(frozen=True, slots=True)
class HalvingEstimate:
    """An estimate of the next halving as seen on ``as_of``.

    Attributes
    ----------
    as_of : datetime.date
        Date of the estimate.
    height : int
        Height of the next halving, blocks (a multiple of 210,000).
    date : datetime.date
        Estimated UTC date of that block.
    height_as_of : float
        Estimated chain height at the end of ``as_of``, blocks (projected past the last day
        with a block count).
    blocks_per_day : float
        Block rate used, blocks per day.
    rate_basis : str
        Where the rate comes from: the days averaged, or the protocol target.
    """

    as_of: dt.date
    height: int
    date: dt.date
    height_as_of: float
    blocks_per_day: float
    rate_basis: str


@cache
def btc_halvings() -> tuple[Halving, ...]:
    """The halvings in ``data/btc_halvings.csv``, genesis first.

    Returns
    -------
    tuple of Halving
        Heights in blocks, dates in UTC, subsidies in BTC per block. The last row (block
        1,050,000) has no date.
    """
    frame = pd.read_csv(data_path("btc_halvings.csv"))
    rows: list[Halving] = []
    for rec in frame.to_dict("records"):
        date_text = rec["date_utc"]
        before = rec["subsidy_before_btc"]
        rows.append(
            Halving(
                number=int(rec["halving_number"]),
                height=int(rec["block_height"]),
                date=None if pd.isna(date_text) else dt.date.fromisoformat(str(date_text)),
                subsidy_before_btc=None if pd.isna(before) else float(before),
                subsidy_after_btc=float(rec["subsidy_after_btc"]),
            )
        )
    return tuple(rows)


def block_subsidy_btc(height: int) -> float:
    """Block subsidy at ``height`` by the protocol rule, BTC per block.

    Parameters
    ----------
    height : int
        Block height, blocks, >= 0.

    Returns
    -------
    float
        ``50 BTC >> (height // 210,000)`` computed in satoshis, in BTC; zero from the 64th
        halving on.
    """
    if height < 0:
        raise ValueError(f"block height must be >= 0, got {height}")
    halvings = height // HALVING_INTERVAL_BLOCKS
    if halvings >= 64:
        return 0.0
    return (_INITIAL_SUBSIDY_SAT >> halvings) / _SAT_PER_BTC


@cache
def _daily() -> pd.DataFrame:
    frame = pd.read_csv(data_path("btc_daily.csv"), parse_dates=["date"])
    frame["height"] = frame["BlkCnt"].cumsum()
    return frame


def next_halving_estimate(as_of: dt.date) -> HalvingEstimate:
    """Estimate the date of the next halving from the recent block rate.

    Parameters
    ----------
    as_of : datetime.date
        Date of the estimate (UTC).

    Returns
    -------
    HalvingEstimate
        Next halving height (blocks), its estimated date, the chain height at ``as_of``
        (blocks) and the rate used (blocks per day): the mean ``BlkCnt`` over the last 90 days
        with a count on or before ``as_of``, or 144 blocks a day if there is none.
    """
    frame = _daily()
    counted = frame[frame["BlkCnt"].notna() & (frame["date"] <= pd.Timestamp(as_of))]
    if counted.empty:
        rate = TARGET_BLOCKS_PER_DAY
        basis = "protocol target (no block count on or before as_of)"
        height_as_of = 0.0
    else:
        window = counted.tail(_RATE_WINDOW_DAYS)
        rate = float(window["BlkCnt"].mean())
        first = window["date"].iloc[0].date()
        last_date = window["date"].iloc[-1].date()
        basis = f"mean BlkCnt over {len(window)} days {first} to {last_date}"
        if rate <= 0.0:
            rate = TARGET_BLOCKS_PER_DAY
            basis = "protocol target (no blocks in the recent window)"
        height_as_of = float(window["height"].iloc[-1]) + rate * (as_of - last_date).days
    next_height = (math.floor(height_as_of) // HALVING_INTERVAL_BLOCKS + 1) * (
        HALVING_INTERVAL_BLOCKS
    )
    days = (next_height - height_as_of) / rate
    return HalvingEstimate(
        as_of=as_of,
        height=next_height,
        date=as_of + dt.timedelta(days=math.floor(days)),
        height_as_of=height_as_of,
        blocks_per_day=rate,
        rate_basis=basis,
    )


@cache
def hashprice_series() -> pd.Series:
    """Hashprice recomputed from ``data/btc_daily.csv`` for every day it is defined.

    Returns
    -------
    pandas.Series
        USD per PH/s per day, indexed by date (``DatetimeIndex``, UTC days), named
        ``hashprice_usd_per_ph_day``; days without price, hash rate or issuance are dropped.
    """
    frame = _daily()
    revenue_usd = frame["IssTotUSD"] + frame["FeeTotNtv"] * frame["PriceUSD"]
    values = revenue_usd / frame["HashRate"] * 1000.0
    series = pd.Series(values.to_numpy(), index=pd.DatetimeIndex(frame["date"]))
    series = series[series.notna() & (frame["HashRate"].to_numpy() > 0.0)]
    series.name = "hashprice_usd_per_ph_day"
    series.index.name = "date"
    return series


def hashprice_usd_per_ph_day(date: dt.date) -> float:
    """Hashprice on ``date``, recomputed from ``data/btc_daily.csv``.

    Parameters
    ----------
    date : datetime.date
        UTC day.

    Returns
    -------
    float
        ``(IssTotUSD + FeeTotNtv x PriceUSD) / HashRate x 1000``, USD per PH/s per day.

    Raises
    ------
    DataError
        When the day has no price, hash rate or issuance in the file.
    """
    series = hashprice_series()
    key = pd.Timestamp(date)
    if key not in series.index:
        first = series.index.min().date()
        last = series.index.max().date()
        raise DataError(
            f"btc_daily.csv: no hashprice on {date} (needs PriceUSD, HashRate and IssTotUSD; "
            f"defined {first} to {last})"
        )
    return float(series.loc[key])


@cache
def shipped_hashprice() -> pd.DataFrame:
    """The shipped derived file ``data/btc_hashprice_daily.csv``, for comparison.

    Returns
    -------
    pandas.DataFrame
        Indexed by date; columns ``revenue_usd`` (USD per day), ``fee_share`` (ratio),
        ``hashprice_usd_per_th_day``, ``hashprice_usd_per_ph_day`` (USD per TH/s or PH/s per
        day) and ``hashprice_btc_per_ph_day`` (BTC per PH/s per day).
    """
    frame = pd.read_csv(data_path("btc_hashprice_daily.csv"), parse_dates=["date"])
    return frame.set_index("date")
