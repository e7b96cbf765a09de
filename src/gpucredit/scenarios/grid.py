"""The monthly time grid of a run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from gpucredit._typing import Float64Array

__all__ = ["TimeGrid", "add_months"]


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole calendar months, clamped to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


@dataclass(frozen=True, slots=True)
class TimeGrid:
    """Months 1..n_months after ``as_of``; month ``m`` covers ``(start(m), end(m)]``."""

    as_of: dt.date
    n_months: int

    def __post_init__(self) -> None:
        if self.n_months < 1:
            raise ValueError(f"TimeGrid.n_months = {self.n_months}: expected >= 1")

    @property
    def dt_years(self) -> float:
        return 1.0 / 12.0

    @property
    def t_years(self) -> Float64Array:
        """Time of each month's end from ``as_of``, years, shape (month,)."""
        return np.arange(1, self.n_months + 1, dtype=np.float64) / 12.0

    def start(self, month: int) -> dt.date:
        return add_months(self.as_of, month - 1)

    def end(self, month: int) -> dt.date:
        return add_months(self.as_of, month)

    @property
    def month_ends(self) -> list[dt.date]:
        return [self.end(m) for m in range(1, self.n_months + 1)]

    def active_fraction(self, start: dt.date, end: dt.date) -> Float64Array:
        """Share of each month's days inside ``[start, end)``, shape (month,)."""
        out = np.zeros(self.n_months)
        for m in range(1, self.n_months + 1):
            lo, hi = self.start(m), self.end(m)
            overlap = (min(hi, end) - max(lo, start)).days
            out[m - 1] = max(overlap, 0) / (hi - lo).days
        return out

    def months_between(self, earlier: dt.date, later: dt.date) -> float:
        """Months from ``earlier`` to ``later`` (fractional, 30.4375-day months)."""
        return (later - earlier).days / 30.4375
