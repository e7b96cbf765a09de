"""Streaming accumulators whose merge is exact, so statistics do not depend on block size.

Sums are kept in fixed point (Python integers of a stated resolution) and distributions as
integer histograms on fixed edges. Integer addition is associative, so merging blocks of
1,000 or 4,096 paths, in any order, gives bit-identical results; memory is bounded by the
number of bins, not by the number of paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gpucredit._typing import BoolArray, Float64Array, Int64Array

__all__ = ["ExactSum", "Histogram", "MonthlyHistogram"]


@dataclass(slots=True)
class ExactSum:
    """Sum of floats at a fixed ``resolution`` (each value is rounded to it once).

    Parameters
    ----------
    resolution : float
        Smallest unit kept, in the values' own units (1e-4 USD, 1e-12 for ratios).
    """

    resolution: float
    _total: int = 0
    count: int = 0

    def add(self, values: Float64Array, mask: BoolArray | None = None) -> None:
        v = np.asarray(values, dtype=np.float64)
        if mask is not None:
            v = v[mask]
        if v.size == 0:
            return
        if not np.all(np.isfinite(v)):
            raise FloatingPointError("ExactSum.add: a value is NaN or infinite")
        scaled = np.rint(v / self.resolution)
        # Split into chunks small enough that an int64 sum cannot overflow.
        limit = 2.0**62 / max(float(np.max(np.abs(scaled))), 1.0)
        step = max(int(limit), 1)
        for lo in range(0, scaled.size, step):
            self._total += int(scaled[lo : lo + step].astype(np.int64).sum())
        self.count += int(v.size)

    def merge(self, other: ExactSum) -> None:
        if other.resolution != self.resolution:
            raise ValueError("cannot merge ExactSums of different resolution")
        self._total += other._total
        self.count += other.count

    @property
    def total(self) -> float:
        return self._total * self.resolution

    def mean(self) -> float:
        """Mean of the values added; NaN-free: raises when nothing was added."""
        if self.count == 0:
            raise ZeroDivisionError("mean of an empty ExactSum")
        return self._total * self.resolution / self.count


@dataclass(slots=True)
class Histogram:
    """Counts on fixed ``edges`` plus an underflow and an overflow bin.

    Quantiles interpolate linearly inside a bin, so they are accurate to one bin width;
    values beyond the edges are reported as the edge (stated with the result).
    """

    edges: Float64Array
    counts: Int64Array = field(init=False)

    def __post_init__(self) -> None:
        self.counts = np.zeros(self.edges.size + 1, dtype=np.int64)

    def add(self, values: Float64Array, mask: BoolArray | None = None) -> None:
        v = np.asarray(values, dtype=np.float64)
        if mask is not None:
            v = v[mask]
        if np.isnan(v).any():
            raise FloatingPointError("Histogram.add: NaN value")
        idx = np.searchsorted(self.edges, v, side="right")
        self.counts += np.bincount(idx, minlength=self.counts.size)

    def merge(self, other: Histogram) -> None:
        self.counts += other.counts

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def quantile(self, q: float) -> float:
        return float(_quantiles(self.edges, self.counts[None, :], q)[0])


@dataclass(slots=True)
class MonthlyHistogram:
    """One histogram per month, shape (month, bins)."""

    edges: Float64Array
    n_months: int
    counts: Int64Array = field(init=False)

    def __post_init__(self) -> None:
        self.counts = np.zeros((self.n_months, self.edges.size + 1), dtype=np.int64)

    def add(self, values: Float64Array, mask: BoolArray) -> None:
        """Add ``values`` (path, month) where ``mask`` is true."""
        v = np.asarray(values, dtype=np.float64)
        if np.isnan(v[mask]).any():
            raise FloatingPointError("MonthlyHistogram.add: NaN value")
        bins = self.edges.size + 1
        idx = np.searchsorted(self.edges, v, side="right")
        flat = (np.arange(v.shape[1])[None, :] * bins + idx)[mask]
        self.counts += np.bincount(flat, minlength=self.counts.size).reshape(self.counts.shape)

    def merge(self, other: MonthlyHistogram) -> None:
        self.counts += other.counts

    def quantiles(self, q: float) -> Float64Array:
        """The ``q`` quantile of each month (NaN where a month has no observation)."""
        return _quantiles(self.edges, self.counts, q)


def _quantiles(edges: Float64Array, counts: Int64Array, q: float) -> Float64Array:
    """Quantile of each row of ``counts`` (row = histogram with under/overflow bins)."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} outside [0, 1]")
    totals = counts.sum(axis=1)
    out = np.full(counts.shape[0], np.nan)
    cum = np.cumsum(counts, axis=1)
    for r in range(counts.shape[0]):
        n = totals[r]
        if n == 0:
            continue
        target = q * n
        b = int(np.searchsorted(cum[r], target, side="left"))
        b = min(b, counts.shape[1] - 1)
        if b == 0:
            out[r] = edges[0]
        elif b == counts.shape[1] - 1:
            out[r] = edges[-1]
        else:
            below = cum[r, b - 1]
            inside = counts[r, b]
            frac = 0.0 if inside == 0 else (target - below) / inside
            out[r] = edges[b - 1] + frac * (edges[b] - edges[b - 1])
    return out
