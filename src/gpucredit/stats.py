"""Streaming accumulators whose merge is exact, so statistics do not depend on block size.

Sums are kept in fixed point (Python integers of a stated resolution) and distributions as
integer histograms on fixed edges. Integer addition is associative, so merging blocks of
1,000 or 4,096 paths, in any order, gives bit-identical results; memory is bounded by the
number of bins, not by the number of paths.

Histograms bin with a compiled kernel (``nogil``) that computes each bin arithmetically for
evenly spaced edges and confirms it against the edges themselves (bisection where it cannot),
so every index equals ``np.searchsorted(edges, v, side="right")`` exactly
(``bin_indices_reference``; the oracle tests check values on and one ulp beside the edges).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np

from gpucredit._typing import BoolArray, Float64Array, Int64Array

__all__ = [
    "ExactSum",
    "Histogram",
    "MonthlyHistogram",
    "bin_indices",
    "bin_indices_reference",
]


@numba.njit(cache=True, nogil=True)
def _guess_scale(edges: Float64Array) -> tuple[float, float, int]:
    """``(lo, 1 / step, k)``: the first ``k`` edges are (nearly) evenly spaced from ``lo`` by
    ``step``, each within half a step of ``lo + i step``; ``(0, 0, 0)`` if no two are.

    Every edge evenly spaced gives ``k = len(edges)``; a linear run followed by a geometric tail
    (``credit.duration.VALUE_EDGES``) gives the linear run, so its values are binned
    arithmetically and only the tail's are bisected.
    """
    n = edges.shape[0]
    if n < 2:
        return 0.0, 0.0, 0
    lo = edges[0]
    first = edges[1] - lo
    if not (first > 0.0 and np.isfinite(first) and np.isfinite(lo)):
        return 0.0, 0.0, 0
    k = 2
    while k < n and abs(edges[k] - lo - k * first) <= 0.5 * first:
        k += 1
    step = (edges[k - 1] - lo) / (k - 1)
    if not (step > 0.0 and np.isfinite(step)):
        return 0.0, 0.0, 0
    return lo, 1.0 / step, k


@numba.njit(cache=True, nogil=True)
def _bin(v: float, edges: Float64Array, lo: float, inv_step: float, k: int) -> int:
    """Number of edges <= ``v``, i.e. ``searchsorted(edges, v, side="right")``; ``v`` not NaN.

    Below the last of the ``k`` evenly spaced leading edges (``_guess_scale``) the bin is
    guessed arithmetically and accepted only if the edges themselves confirm it (one
    comparison each side, or one step over); any other case, and the edges after the even run,
    fall back to bisection. Exact for any sorted ``edges``.
    """
    n = int(edges.shape[0])
    if n == 0 or v < edges[0]:
        return 0
    if v >= edges[n - 1]:
        return n
    # Here n >= 2 and edges[0] <= v < edges[n - 1]: the answer j in [1, n - 1] is the one
    # with edges[j - 1] <= v < edges[j].
    left = 1
    if k >= 2 and v < edges[k - 1]:  # the answer is in [1, k - 1]
        j = min(max(int((v - lo) * inv_step) + 1, 1), k - 1)
        if edges[j - 1] <= v:
            if v < edges[j]:
                return j
            if j + 1 <= k - 1 and v < edges[j + 1]:
                return j + 1
        elif j >= 2 and edges[j - 2] <= v:
            return j - 1
    elif k >= 2:  # edges[k - 1] <= v: the answer is in [k, n - 1]
        left = k
    right = n - 1  # bisection: the smallest j in [left, right] with edges[j] > v
    while left < right:
        mid = (left + right) // 2
        if edges[mid] > v:
            right = mid
        else:
            left = mid + 1
    return left


@numba.njit(cache=True, nogil=True)
def _bin_many(values: Float64Array, edges: Float64Array) -> Int64Array:
    lo, inv_step, k = _guess_scale(edges)
    out = np.empty(values.shape[0], dtype=np.int64)
    for i in range(values.shape[0]):
        out[i] = _bin(values[i], edges, lo, inv_step, k)
    return out


@numba.njit(cache=True, nogil=True)
def _count_1d(
    values: Float64Array,
    mask: BoolArray,
    edges: Float64Array,
    counts: Int64Array,
) -> int:
    """Add the masked ``values`` to ``counts``; returns the number of NaNs (then adds none)."""
    lo, inv_step, k = _guess_scale(edges)
    nans = 0
    for i in range(values.shape[0]):
        if mask[i] and np.isnan(values[i]):
            nans += 1
    if nans:
        return nans
    for i in range(values.shape[0]):
        if mask[i]:
            counts[_bin(values[i], edges, lo, inv_step, k)] += 1
    return 0


@numba.njit(cache=True, nogil=True)
def _count_monthly(
    values: Float64Array,
    mask: BoolArray,
    edges: Float64Array,
    clip_lo: float,
    clip_hi: float,
    counts: Int64Array,
) -> int:
    """``_count_1d`` for (path, month) values, each first clipped to ``[clip_lo, clip_hi]``
    (as ``np.clip``), into (month, bin) counts."""
    lo, inv_step, k = _guess_scale(edges)
    n_paths, n_months = values.shape
    nans = 0
    for p in range(n_paths):
        for t in range(n_months):
            if mask[p, t] and np.isnan(values[p, t]):
                nans += 1
    if nans:
        return nans
    for p in range(n_paths):
        for t in range(n_months):
            if mask[p, t]:
                v = min(max(values[p, t], clip_lo), clip_hi)
                counts[t, _bin(v, edges, lo, inv_step, k)] += 1
    return 0


def bin_indices(edges: Float64Array, values: Float64Array) -> Int64Array:
    """Histogram bin of each value, equal to ``np.searchsorted(edges, values, side="right")``.

    ``edges`` sorted, strictly increasing and finite; ``values`` any shape, no NaN.
    """
    e = np.ascontiguousarray(edges, dtype=np.float64)
    v = np.ascontiguousarray(values, dtype=np.float64)
    if np.isnan(v).any():
        raise FloatingPointError("bin_indices: NaN value")
    flat = _bin_many(v.reshape(-1), e)
    return np.asarray(flat.reshape(v.shape), dtype=np.int64)


def bin_indices_reference(edges: Float64Array, values: Float64Array) -> Int64Array:
    """The definition ``bin_indices`` is held to."""
    return np.asarray(np.searchsorted(edges, values, side="right"), dtype=np.int64)


#: Largest scaled magnitude summed in int64 (exact as a float, and 2**10 of them fit).
_FAST_SUM_LIMIT = 2.0**52
#: Largest scaled magnitude whose square is summed in int64 (squares below 2**62).
_FAST_SQUARE_LIMIT = 2.0**31


def _exact_total(scaled: Float64Array, *, squares: bool = False) -> int:
    """Exact sum of the integer-valued floats ``scaled`` (of their squares with ``squares``).

    int64 sums in chunks small enough not to wrap where the magnitudes allow, Python integers
    (unbounded) otherwise, so a principal of 1e19 USD at a resolution of 1e-4 sums exactly.
    """
    if scaled.size == 0:
        return 0
    peak = max(float(np.max(np.abs(scaled))), 1.0)
    if not squares and peak < _FAST_SUM_LIMIT:
        step = max(int(2.0**62 / peak), 1)
        ints = scaled.astype(np.int64)
        return sum(int(ints[lo : lo + step].sum()) for lo in range(0, ints.size, step))
    if squares and peak < _FAST_SQUARE_LIMIT:
        step = max(int(2.0**62 / (peak * peak)), 1)
        sq = scaled.astype(np.int64) ** 2
        return sum(int(sq[lo : lo + step].sum()) for lo in range(0, sq.size, step))
    values = [int(x) for x in scaled.tolist()]
    return sum(x * x for x in values) if squares else sum(values)


@dataclass(slots=True)
class ExactSum:
    """Sum of floats at a fixed ``resolution`` (each value is rounded to it once).

    Parameters
    ----------
    resolution : float
        Smallest unit kept, in the values' own units (1e-4 USD, 1e-12 for ratios).
    moments : bool
        Also keep the exact sum of squares of the rounded values, for ``variance`` and
        ``standard_error`` (the same whatever the block split, like the sum).
    """

    resolution: float
    moments: bool = False
    _total: int = 0
    _squares: int = 0
    count: int = 0

    def add(self, values: Float64Array, mask: BoolArray | None = None) -> None:
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        if mask is not None:
            v = v[np.asarray(mask, dtype=np.bool_).reshape(-1)]
        if v.size == 0:
            return
        if not np.all(np.isfinite(v)):
            raise FloatingPointError("ExactSum.add: a value is NaN or infinite")
        with np.errstate(over="ignore"):
            scaled = np.rint(v / self.resolution)
        if not np.all(np.isfinite(scaled)):
            raise FloatingPointError(
                f"ExactSum.add: a value over {np.finfo(np.float64).max * self.resolution:.3g} "
                f"(the largest at resolution {self.resolution:g})"
            )
        self._total += _exact_total(scaled)
        if self.moments:
            self._squares += _exact_total(scaled, squares=True)
        self.count += int(v.size)

    def merge(self, other: ExactSum) -> None:
        if other.resolution != self.resolution:
            raise ValueError("cannot merge ExactSums of different resolution")
        if other.moments != self.moments:
            raise ValueError("cannot merge an ExactSum with moments and one without")
        self._total += other._total
        self._squares += other._squares
        self.count += other.count

    @property
    def total(self) -> float:
        return float(self._total * self.resolution)

    def mean(self) -> float:
        """Mean of the values added; NaN-free: raises when nothing was added."""
        if self.count == 0:
            raise ZeroDivisionError("mean of an empty ExactSum")
        return float(self._total * self.resolution / self.count)

    def variance(self) -> float:
        """Sample variance (divisor ``count - 1``) of the rounded values, in squared units;
        0.0 for fewer than two values. Computed from exact integer sums, so never negative
        and identical whatever the block split."""
        if not self.moments:
            raise ValueError("ExactSum.variance needs moments=True")
        n = self.count
        if n < 2:
            return 0.0
        spread = n * self._squares - self._total * self._total  # n^2 x variance (biased)
        return float(spread / (n * (n - 1)) * self.resolution * self.resolution)

    def standard_error(self) -> float:
        """Standard error of the mean, ``sqrt(variance / count)``, in the values' units."""
        if self.count == 0:
            raise ZeroDivisionError("standard error of an empty ExactSum")
        return math.sqrt(self.variance() / self.count)


@dataclass(slots=True)
class Histogram:
    """Counts on fixed ``edges`` plus an underflow and an overflow bin.

    Quantiles interpolate linearly inside a bin, so they are accurate to one bin width;
    values beyond the edges are reported as the edge (stated with the result).
    """

    edges: Float64Array
    counts: Int64Array = field(init=False)

    def __post_init__(self) -> None:
        self.edges = np.ascontiguousarray(self.edges, dtype=np.float64)
        self.counts = np.zeros(self.edges.size + 1, dtype=np.int64)

    def add(self, values: Float64Array, mask: BoolArray | None = None) -> None:
        v = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
        m = (
            np.ones(v.shape, dtype=np.bool_)
            if mask is None
            else np.ascontiguousarray(mask, dtype=np.bool_).reshape(-1)
        )
        if _count_1d(v, m, self.edges, self.counts):
            raise FloatingPointError("Histogram.add: NaN value")

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
        self.edges = np.ascontiguousarray(self.edges, dtype=np.float64)
        self.counts = np.zeros((self.n_months, self.edges.size + 1), dtype=np.int64)

    def add(
        self,
        values: Float64Array,
        mask: BoolArray,
        *,
        clip: tuple[float, float] = (-np.inf, np.inf),
    ) -> None:
        """Add ``values`` (path, month) where ``mask`` is true, clipped to ``clip`` first."""
        v = np.asarray(values, dtype=np.float64)
        m = np.asarray(mask, dtype=np.bool_)
        if v.ndim != 2 or v.shape[1] > self.n_months or m.shape != v.shape:
            raise ValueError(
                f"MonthlyHistogram.add: values {v.shape} and mask {m.shape}, expected both "
                f"(path, {self.n_months})"
            )
        if _count_monthly(v, m, self.edges, float(clip[0]), float(clip[1]), self.counts):
            raise FloatingPointError("MonthlyHistogram.add: NaN value")

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
