"""The parent's fleet in the same market: when a deal's parent defaults, its creditors sell the
parent's own GPUs into the secondary-market pools the deal's lenders sell into
(docs/capital_structures.md, "The parent's fleet in the same market"; docs/liquidation.md §4).

``parent_fleet_by_pool`` gives the parent's fleet per market pool: the units the deal typed
(``ParentSpec.fleet_units``), else the shipped estimate (CoreWeave: Epoch AI's quarterly
additions, ``data/coreweave_gpu_additions_quarterly_epoch.csv``), else none.
``co_sale_units`` lays the parent's sale over the deal's liquidation months, and
``CoSoldRecovery`` passes it to the secondary market as other sellers' units (``other_units``)
on every defaulted path on which the parent defaulted first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from gpucredit._typing import Float64Array, Int64Array
from gpucredit.config.entities import SHIPPED_FLEETS
from gpucredit.credit.liquidation import MarketDefaultState, SecondaryMarketRecovery
from gpucredit.credit.recovery import DefaultState, RecoveryModel, RecoveryResult
from gpucredit.errors import ModelError
from gpucredit.market.files import data_path
from gpucredit.market.shipments import CHIP_TO_POOL, market_pool

__all__ = [
    "EPOCH_FLEET_CHIP_TO_POOL",
    "SHIPPED_FLEETS",
    "CoSoldRecovery",
    "co_sale_units",
    "epoch_fleet_by_pool",
    "parent_fleet_by_pool",
]


#: Epoch's chip types in the owner files -> market pool. 'H100/H200' is Epoch's one series for
#: both (docs/liquidation.md §1: they share the H100 market); 'B200' and 'B300' are their pools
#: (GB200/GB300 inside them, as in the shipments file).
EPOCH_FLEET_CHIP_TO_POOL: dict[str, str] = {"H100/H200": "H100", **CHIP_TO_POOL}


@lru_cache(maxsize=8)
def epoch_fleet_by_pool(file_name: str, as_of: dt.date) -> tuple[tuple[str, float], ...]:
    """Cumulative units added up to ``as_of`` per market pool, from an Epoch owner file.

    ``units = sum_q units_q * clip((as_of - start_q + 1 day) / days_q, 0, 1)`` (whole quarters
    before ``as_of``, the current one pro rata, as ``market.shipments.installed_base``); no
    retirements (the file has none, and the oldest units are from 2023, inside a GPU's life).

    Returns
    -------
    tuple of (pool, units)
        Sorted by pool; units of GPUs.
    """
    frame = pd.read_csv(
        data_path(file_name),
        usecols=["Start date", "End date", "Number of Units", "Chip type"],
        parse_dates=["Start date", "End date"],
        date_format="%m/%d/%Y",
    )
    unknown = sorted(set(frame["Chip type"]) - set(EPOCH_FLEET_CHIP_TO_POOL))
    if unknown:
        raise ModelError(f"{file_name}: chip types {unknown} have no market pool")
    start = frame["Start date"].dt.date
    end = frame["End date"].dt.date
    out: dict[str, float] = {}
    for chip, s, e, units in zip(
        frame["Chip type"], start, end, frame["Number of Units"], strict=True
    ):
        days = (e - s).days + 1
        share = min(max(((as_of - s).days + 1) / days, 0.0), 1.0)
        pool = EPOCH_FLEET_CHIP_TO_POOL[chip]
        out[pool] = out.get(pool, 0.0) + float(units) * share
    return tuple(sorted(out.items()))


def parent_fleet_by_pool(
    name: str, fleet_units: Mapping[str, float] | None, as_of: dt.date
) -> dict[str, float]:
    """The parent's GPUs per market pool (units): ``fleet_units`` (engine generation -> units,
    typed in the deal) if given, else the shipped estimate for ``name`` on ``as_of``, else
    empty (the parent's fleet unknown)."""
    if fleet_units is not None:
        out: dict[str, float] = {}
        for generation, units in fleet_units.items():
            pool = market_pool(generation)[0]
            out[pool] = out.get(pool, 0.0) + float(units)
        return out
    if name in SHIPPED_FLEETS:
        return dict(epoch_fleet_by_pool(SHIPPED_FLEETS[name], as_of))
    return {}


def co_sale_units(
    parent_units: float,
    sale_months: int,
    parent_default_month: Int64Array,
    default_month: Int64Array,
    horizon_months: int,
) -> Float64Array:
    """The parent's units offered in each month of the deal's liquidation, shape (n, H).

    The parent's creditors sell its ``parent_units`` evenly over ``sale_months`` months from
    its default month ``tau_p``: ``parent_units / sale_months`` in each calendar month
    ``tau_p .. tau_p + sale_months - 1``. The deal's sale month ``k`` (1-based) is calendar
    month ``t + k - 1`` for a facility default in month ``t``. Only where ``t >= tau_p`` (the
    parent defaulted first or in the same month, so the deal's lenders know of the sale);
    zero elsewhere.
    """
    tp = np.asarray(parent_default_month, dtype=np.int64)[:, None]
    t = np.asarray(default_month, dtype=np.int64)[:, None]
    cal = t + np.arange(horizon_months, dtype=np.int64)[None, :]
    on = (t >= tp) & (cal >= tp) & (cal < tp + sale_months)
    return np.where(on, parent_units / sale_months, 0.0)


@dataclass(frozen=True, slots=True)
class CoSoldRecovery:
    """Recovery with the parent's fleet sold into the same pools (implements
    ``credit.recovery.RecoveryModel`` for one block's defaulted paths).

    Rows on which the parent's sale overlaps the deal's (``co_sale_units`` not all zero) are
    liquidated by ``market`` with those units as ``other_units`` (the lender's best response);
    every other row is ``alone``'s result, unchanged to the bit.

    Attributes
    ----------
    alone : RecoveryModel
        The deal's recovery without the parent's sale (the run's memoised market).
    market : SecondaryMarketRecovery
        The deal's secondary markets.
    parent_units_by_pool : tuple of (pool, units)
        The parent's fleet in the deal's pools, GPUs.
    sale_months : int
        Months over which the parent's fleet is sold.
    parent_default_month : ndarray of int, shape (n,)
        The parent's default month on each defaulted path, in the order of the state's rows.
    """

    alone: RecoveryModel
    market: SecondaryMarketRecovery
    parent_units_by_pool: tuple[tuple[str, float], ...]
    sale_months: int
    parent_default_month: Int64Array

    def co_sold(self, state: DefaultState) -> tuple[Int64Array, dict[str, Float64Array]]:
        """The rows with a co-sale and the parent's units per pool on them, (m, H)."""
        month = np.asarray(state.month, dtype=np.int64)
        if month.shape != self.parent_default_month.shape:
            raise ModelError(
                f"CoSoldRecovery: {month.shape[0]} defaulted paths, "
                f"{self.parent_default_month.shape[0]} parent default months"
            )
        h = self.market.horizon_months
        others = {
            pool: co_sale_units(units, self.sale_months, self.parent_default_month, month, h)
            for pool, units in self.parent_units_by_pool
            if units > 0.0 and pool in self.market.pools
        }
        any_on = np.zeros(month.shape[0], dtype=np.bool_)
        for units in others.values():
            any_on |= units.sum(axis=1) > 0.0
        rows = np.flatnonzero(any_on)
        return rows, {pool: np.ascontiguousarray(u[rows]) for pool, u in others.items()}

    def recover(self, state: DefaultState) -> RecoveryResult:
        base = self.alone.recover(state)
        rows, others = self.co_sold(state)
        if rows.size == 0:
            return base
        rate = self.market._monthly_discount(state)
        sub = MarketDefaultState(
            month=np.asarray(state.month)[rows],
            ead_usd=np.asarray(state.ead_usd)[rows],
            pledged_cash_usd=np.asarray(state.pledged_cash_usd)[rows],
            cohort_value_usd=np.asarray(state.cohort_value_usd)[rows],
            monthly_discount=rate[rows],
        )
        co = self.market.finish(self.market.summarise(sub, other_units=others), sub)
        fields = ("proceeds_usd", "lag_months", "gross_sale_usd", "time_to_recover_months")
        merged: dict[str, Float64Array] = {}
        for name in fields:
            value = np.array(getattr(base, name), dtype=np.float64, copy=True)
            value[rows] = getattr(co, name)
            merged[name] = value
        return RecoveryResult(**merged)
