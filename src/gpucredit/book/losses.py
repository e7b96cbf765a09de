"""Portfolio statistics of a book from its per-path losses: EL, VaR, ES, Euler contributions,
concentration, and the one-year loss beside the loss to maturity.

Input: a loss matrix ``(n_paths, n_positions)`` in USD under the real-world measure P, one row
per Monte Carlo path, one column per position (a facility, or the part of it the holder
holds), with optional path weights ``w_i > 0`` (likelihood-ratio weights; 1 when absent).
Every figure is a self-normalised weighted statistic of the paths, ``W = sum(w)``:

* EL ``= sum(w L) / W``; its standard error that of a ratio estimator,
  ``sqrt(n / (n - 1) sum(w^2 (L - EL)^2)) / W`` (with unit weights: ``sd(L) / sqrt(n)``).
* VaR at level ``a``: the smallest loss ``v`` whose weighted empirical CDF reaches ``a``.
  Its 95% interval is the order-statistic (binomial) one: the empirical quantiles at levels
  ``k_lo / n`` and ``(k_hi + 1) / n`` with ``k_lo, k_hi`` the 2.5% and 97.5% quantiles of
  ``Binomial(n, a)``; with weights, ``n`` is the effective sample size
  ``n_eff = W^2 / sum(w^2)``. The standard error reported is the interval's half width over
  1.96.
* ES at level ``a``: the weighted mean loss over the tail, the worst paths whose weight sums
  to ``(1 - a) W`` (the path on the boundary counted with the fraction of its weight that
  completes the tail). Its standard error is the asymptotic one of the empirical tail mean,
  ``sqrt((s_tail^2 + a (ES - VaR)^2) / (n_eff (1 - a)))``, ``s_tail`` the standard deviation
  of the loss on the tail (Manistre and Hancock, "Variance of the CTE estimator", North
  American Actuarial Journal 9(2), 2005).
* Euler contributions to ES: each position's mean loss over the same tail paths with the
  same tail weights, so they add up to ES (Tasche, "Euler allocation", 2008: the gradient of
  ES is the conditional mean of the position's loss given the tail).
* Concentration: the Herfindahl-Hirschman index ``sum_g s_g^2`` of the shares ``s_g`` of a
  measure (exposure, EL, ES contribution) by any grouping (tenant, generation, borrower).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import binom

from gpucredit._typing import Float64Array, Int64Array
from gpucredit.credit.metrics import USD_RESOLUTION
from gpucredit.stats import ExactSum

__all__ = [
    "DEFAULT_LEVELS",
    "Concentration",
    "ContagionPremium",
    "LossAccumulator",
    "LossSummary",
    "TailFigure",
    "concentration",
    "contagion_premium",
    "one_year_losses",
    "summarise_losses",
]

#: The confidence levels of VaR and ES reported (issue 14: 99% and 99.9%; 99.9% is the Basel
#: IRB confidence level, BIS explanatory note 2005, section 5.1).
DEFAULT_LEVELS = (0.99, 0.999)
#: Two-sided 95% normal quantile: the VaR interval is a 95% interval, and its half width over
#: this number is the VaR's standard error.
Z_95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class TailFigure:
    """VaR and ES at one level, with their Monte Carlo errors and ES's Euler contributions.

    Attributes
    ----------
    level : float
        Confidence level, decimal (0.999).
    var_usd, var_low_usd, var_high_usd, var_se_usd : float
        VaR, its 95% order-statistic interval and standard error, USD.
    es_usd, es_se_usd : float
        ES (the tail mean) and its standard error, USD.
    contributions_usd : ndarray, shape (position,)
        Each position's mean loss on the tail, USD; they add up to ``es_usd``.
    """

    level: float
    var_usd: float
    var_low_usd: float
    var_high_usd: float
    var_se_usd: float
    es_usd: float
    es_se_usd: float
    contributions_usd: Float64Array


@dataclass(frozen=True, slots=True)
class LossSummary:
    """The loss distribution's statistics of a book (USD, P measure).

    Attributes
    ----------
    n_paths : int
        Paths summarised.
    effective_paths : float
        ``W^2 / sum(w^2)``: ``n_paths`` with unit weights.
    el_usd, el_se_usd : float
        Expected loss and its standard error, USD.
    el_by_position_usd : ndarray, shape (position,)
        Each position's expected loss, USD (their sum is ``el_usd`` up to rounding).
    tails : tuple of TailFigure
        One per confidence level, in the order asked.
    """

    n_paths: int
    effective_paths: float
    el_usd: float
    el_se_usd: float
    el_by_position_usd: Float64Array
    tails: tuple[TailFigure, ...]

    def tail(self, level: float) -> TailFigure:
        """The figures at ``level`` (one of the levels summarised)."""
        for t in self.tails:
            if t.level == level:
                return t
        raise KeyError(f"no tail figures at level {level!r}")


@dataclass(frozen=True, slots=True)
class Concentration:
    """Herfindahl-Hirschman index of a measure by group.

    Attributes
    ----------
    hhi : float
        ``sum_g s_g^2``, between ``1 / n_groups`` (even) and 1 (one group).
    shares : dict of str to float
        Each group's share of the measure, decimal, largest first.
    """

    hhi: float
    shares: dict[str, float]


def _as_losses(losses: Float64Array) -> Float64Array:
    a = np.asarray(losses, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] < 1:
        raise ValueError(
            f"losses must have shape (path, position) with at least 2 paths, got {a.shape}"
        )
    if not np.all(np.isfinite(a)):
        raise ValueError("losses must be finite")
    return a


def _as_weights(weights: Float64Array | None, n: int) -> Float64Array:
    if weights is None:
        return np.ones(n, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"weights must have shape ({n},), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w <= 0.0):
        raise ValueError("weights must be finite and positive")
    return w


def _weighted_quantile(sorted_loss: Float64Array, cum: Float64Array, level: float) -> float:
    """Smallest sorted loss whose cumulative weight share reaches ``level``."""
    i = int(np.searchsorted(cum, level, side="left"))
    return float(sorted_loss[min(i, len(sorted_loss) - 1)])


def _tail(
    total: Float64Array,
    losses: Float64Array,
    w: Float64Array,
    order: Int64Array,
    level: float,
    n_eff: float,
    below: float = 0.0,
) -> TailFigure:
    """VaR, ES and contributions from the paths given, sorted by ``order``; ``below`` is the
    weight of paths left out, every one of them with a loss under the paths given (the
    streaming accumulator keeps only the worst paths)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), got {level!r}")
    w_sorted = w[order]
    big = below + float(w_sorted.sum())
    cum = (below + np.cumsum(w_sorted)) / big
    sorted_loss = total[order]
    var = _weighted_quantile(sorted_loss, cum, level)
    n_int = max(int(n_eff), 1)
    k_lo = float(binom.ppf(0.025, n_int, level))
    k_hi = float(binom.ppf(0.975, n_int, level))
    low = _weighted_quantile(sorted_loss, cum, k_lo / n_int)
    high = _weighted_quantile(sorted_loss, cum, min((k_hi + 1.0) / n_int, 1.0))
    # Tail weights: the worst paths, the boundary one with the fraction completing (1 - a) W.
    mass = (1.0 - level) * big
    above = big - below - np.cumsum(w_sorted)  # weight strictly worse than each sorted path
    t_sorted = np.clip(mass - above, 0.0, w_sorted)
    t = np.empty_like(t_sorted)
    t[order] = t_sorted
    t_mass = float(t.sum())
    contributions = np.asarray(t @ losses / t_mass, dtype=np.float64)
    es = math.fsum(contributions.tolist())
    tail_var = float(t @ (total - es) ** 2) / t_mass
    es_se = math.sqrt(max(tail_var + level * (es - var) ** 2, 0.0) / (n_eff * (1.0 - level)))
    return TailFigure(
        level=level,
        var_usd=var,
        var_low_usd=low,
        var_high_usd=high,
        var_se_usd=(high - low) / (2.0 * Z_95),
        es_usd=es,
        es_se_usd=es_se,
        contributions_usd=contributions,
    )


def summarise_losses(
    losses: Float64Array,
    weights: Float64Array | None = None,
    levels: Sequence[float] = DEFAULT_LEVELS,
) -> LossSummary:
    """EL, VaR and ES with their standard errors and the Euler contributions to ES.

    Parameters
    ----------
    losses : ndarray, shape (path, position)
        Loss of each position on each path, USD, real-world measure (P). Finite.
    weights : ndarray, shape (path,), optional
        Positive path weights (likelihood ratios). When absent (the real-world measure) the
        figures come from ``LossAccumulator`` on one block: the same numbers as any split of
        the paths into blocks.
    levels : sequence of float
        Confidence levels of VaR and ES, decimals.

    Returns
    -------
    LossSummary
        The figures; ``docs/book.md`` gives the estimators.
    """
    a = _as_losses(losses)
    n = a.shape[0]
    if weights is None:
        acc = LossAccumulator(a.shape[1], n, tuple(float(q) for q in levels))
        acc.add(a, 0)
        return acc.summary()
    w = _as_weights(weights, n)
    big = float(w.sum())
    n_eff = big * big / float(w @ w)
    total = a.sum(axis=1)
    el_by_position = np.asarray(w @ a / big, dtype=np.float64)
    el = float(w @ total) / big
    el_se = math.sqrt(n / (n - 1.0) * float((w * w) @ (total - el) ** 2)) / big
    order = np.argsort(total, kind="stable").astype(np.int64)
    tails = tuple(_tail(total, a, w, order, float(q), n_eff) for q in levels)
    return LossSummary(
        n_paths=n,
        effective_paths=n_eff,
        el_usd=el,
        el_se_usd=el_se,
        el_by_position_usd=el_by_position,
        tails=tails,
    )


@dataclass(slots=True)
class LossAccumulator:
    """The book's loss statistics over blocks of paths (real-world measure, unit weights),
    with memory bounded by the tail: the same figures for any split into blocks and any order
    of ``add`` and ``merge``.

    Kept: exact sums (``stats.ExactSum`` at ``credit.metrics.USD_RESOLUTION``) of each
    position's loss and of the path totals with their squares, and the rows of the worst
    ``keep`` paths (by total loss, ties by path index), enough for every VaR interval and
    tail asked: ``keep = n_paths - min_a k_lo(a) + 2``, ``k_lo`` the 2.5% quantile of
    ``Binomial(n_paths, a)``. EL is the sum of the positions' exact means, so the EL of a
    book is exactly the sum of its positions' ELs.

    Parameters
    ----------
    n_positions : int
        Columns of every block.
    n_paths : int
        Paths of the whole run (the blocks must add up to it before ``summary``).
    levels : tuple of float
        Confidence levels of VaR and ES, decimals.
    """

    n_positions: int
    n_paths: int
    levels: tuple[float, ...] = DEFAULT_LEVELS
    _total: ExactSum = field(init=False)
    _positions: list[ExactSum] = field(init=False)
    _rows: Float64Array = field(init=False)
    _totals: Float64Array = field(init=False)
    _index: Int64Array = field(init=False)

    def __post_init__(self) -> None:
        if self.n_positions < 1 or self.n_paths < 2:
            raise ValueError("a LossAccumulator needs at least 1 position and 2 paths")
        if any(not 0.0 < q < 1.0 for q in self.levels):
            raise ValueError(f"confidence levels must be in (0, 1), got {self.levels!r}")
        self._total = ExactSum(USD_RESOLUTION, moments=True)
        self._positions = [ExactSum(USD_RESOLUTION) for _ in range(self.n_positions)]
        self._rows = np.zeros((0, self.n_positions))
        self._totals = np.zeros(0)
        self._index = np.zeros(0, dtype=np.int64)

    @property
    def keep(self) -> int:
        """Rows of the worst paths kept."""
        k_lo = min(float(binom.ppf(0.025, self.n_paths, q)) for q in self.levels)
        return min(self.n_paths, self.n_paths - int(k_lo) + 2)

    def add(self, losses: Float64Array, first_path: int) -> None:
        """Add a block: ``losses`` (path, position), USD, of paths ``first_path`` onwards."""
        a = np.asarray(losses, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] != self.n_positions or not np.all(np.isfinite(a)):
            raise ValueError(f"a block must be finite of shape (path, {self.n_positions})")
        totals = a.sum(axis=1)
        self._total.add(totals)
        for j, acc in enumerate(self._positions):
            acc.add(a[:, j])
        index = np.arange(first_path, first_path + a.shape[0], dtype=np.int64)
        self._keep_worst(a, totals, index)

    def merge(self, other: LossAccumulator) -> None:
        """Fold in another accumulator of the same run (other blocks of paths)."""
        if (other.n_positions, other.n_paths, other.levels) != (
            self.n_positions,
            self.n_paths,
            self.levels,
        ):
            raise ValueError("cannot merge accumulators of different runs")
        self._total.merge(other._total)
        for mine, theirs in zip(self._positions, other._positions, strict=True):
            mine.merge(theirs)
        self._keep_worst(other._rows, other._totals, other._index)

    def _keep_worst(self, rows: Float64Array, totals: Float64Array, index: Int64Array) -> None:
        all_rows = np.concatenate([self._rows, rows])
        all_totals = np.concatenate([self._totals, totals])
        all_index = np.concatenate([self._index, index])
        worst = np.lexsort((all_index, all_totals))[-self.keep :]
        worst = worst[np.argsort(all_index[worst], kind="stable")]  # canonical: path order
        self._rows, self._totals, self._index = all_rows[worst], all_totals[worst], all_index[worst]

    def summary(self) -> LossSummary:
        """The figures of the whole run (every path added)."""
        n = self._total.count
        if n != self.n_paths:
            raise ValueError(f"{n} paths added of the run's {self.n_paths}")
        el_by_position = np.array([p.mean() for p in self._positions], dtype=np.float64)
        order = np.lexsort((self._index, self._totals)).astype(np.int64)
        w = np.ones(len(self._totals))
        below = float(n - len(self._totals))
        tails = tuple(
            _tail(self._totals, self._rows, w, order, q, float(n), below) for q in self.levels
        )
        return LossSummary(
            n_paths=n,
            effective_paths=float(n),
            el_usd=math.fsum(el_by_position.tolist()),
            el_se_usd=self._total.standard_error(),
            el_by_position_usd=el_by_position,
            tails=tails,
        )


@dataclass(frozen=True, slots=True)
class ContagionPremium:
    """What transmission and fire sales add to a book's losses (USD, P measure): the figures
    with them minus the figures without, on the same paths.

    Attributes
    ----------
    el_usd, el_se_usd : float
        EL premium and its standard error from the paired per-path differences.
    var_usd, var_se_usd : float
        VaR premium at ``level`` and a conservative standard error,
        ``sqrt(se_with^2 + se_without^2)`` (the two VaRs are positively correlated on shared
        paths, so the true error is smaller).
    level : float
        Confidence level of the VaR, decimal.
    """

    el_usd: float
    el_se_usd: float
    var_usd: float
    var_se_usd: float
    level: float


def contagion_premium(
    with_contagion: Float64Array, without_contagion: Float64Array, level: float = 0.999
) -> ContagionPremium:
    """Issue 14's contagion premium: EL and VaR with transmission and fire sales minus without.

    Parameters
    ----------
    with_contagion, without_contagion : ndarray, shape (path, position)
        The book's losses on the same paths with and without transmission and fire sales, USD.
    level : float
        Confidence level of the VaR premium, decimal (0.999 by default).
    """
    a, b = _as_losses(with_contagion), _as_losses(without_contagion)
    if a.shape != b.shape:
        raise ValueError(f"the two loss matrices differ in shape: {a.shape} and {b.shape}")
    on = summarise_losses(a, levels=(level,))
    off = summarise_losses(b, levels=(level,))
    paired = ExactSum(USD_RESOLUTION, moments=True)
    paired.add(a.sum(axis=1) - b.sum(axis=1))
    t_on, t_off = on.tail(level), off.tail(level)
    return ContagionPremium(
        el_usd=on.el_usd - off.el_usd,
        el_se_usd=paired.standard_error(),
        var_usd=t_on.var_usd - t_off.var_usd,
        var_se_usd=math.hypot(t_on.var_se_usd, t_off.var_se_usd),
        level=level,
    )


def one_year_losses(
    losses: Float64Array, default_month: Int64Array, horizon_months: int = 12
) -> Float64Array:
    """The losses of defaults within the first ``horizon_months``: the one-year loss matrix to
    summarise beside the loss to maturity (``summarise_losses`` of each).

    Parameters
    ----------
    losses : ndarray, shape (path, position)
        Loss to maturity, USD.
    default_month : ndarray of int, shape (path, position)
        Month of default counted from the as-of date (0 = the first month); negative where the
        position did not default.
    horizon_months : int
        Horizon, months (12 for one year).

    Returns
    -------
    ndarray, shape (path, position)
        The loss where ``0 <= default_month < horizon_months``, else 0, USD.
    """
    a = _as_losses(losses)
    m = np.asarray(default_month)
    if m.shape != a.shape or not np.issubdtype(m.dtype, np.integer):
        raise ValueError(f"default_month must be integers of shape {a.shape}, got {m.shape}")
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be at least 1, got {horizon_months}")
    within = (m >= 0) & (m < horizon_months)
    return np.asarray(np.where(within, a, 0.0), dtype=np.float64)


def concentration(measure_usd: Float64Array, groups: Sequence[str]) -> Concentration:
    """The Herfindahl-Hirschman index of ``measure_usd`` grouped by ``groups``.

    Parameters
    ----------
    measure_usd : ndarray, shape (position,)
        A non-negative amount per position, USD (exposure, EL or ES contribution).
    groups : sequence of str, length position
        Each position's group (its tenant, GPU generation or borrower).
    """
    m = np.asarray(measure_usd, dtype=np.float64)
    if m.ndim != 1 or len(groups) != m.shape[0]:
        raise ValueError(f"one group per position: {len(groups)} groups, {m.shape} measures")
    if not np.all(np.isfinite(m)) or np.any(m < 0.0):
        raise ValueError("the measure must be finite and non-negative")
    total = math.fsum(m.tolist())
    if not total > 0.0:
        raise ValueError("the measure sums to zero: no shares to concentrate")
    by: dict[str, list[float]] = {}
    for g, v in zip(groups, m.tolist(), strict=True):
        by.setdefault(g, []).append(v)
    shares = {g: math.fsum(v) / total for g, v in by.items()}
    ordered = dict(sorted(shares.items(), key=lambda kv: (-kv[1], kv[0])))
    return Concentration(hhi=math.fsum(s * s for s in ordered.values()), shares=ordered)
