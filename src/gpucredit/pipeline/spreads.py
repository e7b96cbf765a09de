"""The fair-spread driver, one for single loans, capital structures and miners.

A caller gives each block's PV per unit of par at a coupon add-on (``pv_block(add_on,
riskless, start, stop)``: the riskless promise, or the risky cash flows with default and
recovery), the issue price and, under the pricing measure Q, each block's likelihood ratios
dQ/dP. The driver searches the riskless and risky add-ons by passes over the same paths
(``credit.spread.solve_spreads``), each pass's mean merged exactly over the blocks (plain
under P, self-normalised under Q), then adds the delta-method standard error from one more
look at the paths at the roots, and returns the per-path values it kept (``PathValues``) so
that Q's search can start from P's passes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from gpucredit._progress import ProgressCallback, block_ticker
from gpucredit._typing import Float64Array
from gpucredit.credit.metrics import RATIO_RESOLUTION
from gpucredit.credit.spread import (
    PathValues,
    SpreadSearch,
    SpreadSolution,
    WeightedMean,
    fair_spread_terms,
    solve_spreads,
    weighted_fair_spread_terms,
    with_standard_error,
)
from gpucredit.engine.runner import run_blocks
from gpucredit.stats import ExactSum

#: A block's PV per unit of par: ``(add_on, riskless, start, stop) -> (path,)``.
BlockPV = Callable[[float, bool, int, int], Float64Array]
#: A block's likelihood ratios dQ/dP: ``(start, stop) -> (path,)``.
BlockWeights = Callable[[int, int], Float64Array]


def solve_facility_spread(
    pv_block: BlockPV,
    price: float,
    ranges: list[tuple[int, int]],
    *,
    workers: int,
    search: SpreadSearch,
    weights: BlockWeights | None = None,
    warm: tuple[SpreadSolution, PathValues] | None = None,
    progress: ProgressCallback | None = None,
    label: str = "fair spread: ",
) -> tuple[SpreadSolution, PathValues]:
    """Solve the riskless and risky add-ons (decimals a year) of one facility over the paths
    of ``ranges``, and the fair spread's standard error.

    Parameters
    ----------
    pv_block : callable
        ``(add_on, riskless, start, stop)`` -> PV per unit of par of paths ``[start, stop)``,
        shape (path,), with the facility's coupon raised by ``add_on`` (decimal a year).
    price : float
        Issue price per unit of par.
    ranges : list of (start, stop)
        The blocks of paths.
    workers : int
        Threads over the blocks.
    search : "fast" or "full"
        The search of ``credit.spread.solve_spreads``.
    weights : callable, optional
        ``(start, stop)`` -> the block's likelihood ratios dQ/dP, shape (path,): every mean
        is then self-normalised (the pricing measure Q). None: unweighted means (P).
    warm : (SpreadSolution, PathValues), optional
        The solution under P and the per-path values of its passes, from which Q's search
        starts (the values at P's roots are reused, not simulated again).
    progress : callable, optional
        ``progress(phase, done, total)``; each pass is reported as ``LABEL + "pass N"``, the
        standard error as ``LABEL + "standard error"``.
    label : str
        The phases' prefix, e.g. ``"fair spread: "`` or ``"fair spread (Q): HY notes, "``.

    Returns
    -------
    (SpreadSolution, PathValues)
        The solution with its standard error, and the per-path values kept.
    """
    evaluations = 0
    n_paths = ranges[-1][1] if ranges else 0
    # the standard error, and Q's search, reuse the passes at the roots
    pv_paths = PathValues(pv_block) if warm is None else warm[1]

    def mean_pv(add_on: float, riskless: bool) -> float:
        nonlocal evaluations
        evaluations += 1
        tick = block_ticker(progress, n_paths, f"{label}pass {evaluations}")
        if weights is not None:
            return _weighted_mean(
                lambda a, b: pv_paths(add_on, riskless, a, b), weights, ranges, workers, tick
            )

        def block(start: int, stop: int) -> ExactSum:
            acc = ExactSum(RATIO_RESOLUTION)
            acc.add(pv_paths(add_on, riskless, start, stop))
            return acc

        total = ExactSum(RATIO_RESOLUTION)
        for part in run_blocks(block, ranges, n_workers=workers, on_block=tick):
            total.merge(part)
        return total.mean()

    solution = solve_spreads(
        lambda x: mean_pv(x, True),
        lambda x: mean_pv(x, False),
        price,
        search,
        None if warm is None else warm[0],
    )
    phase = f"{label}standard error"
    if weights is not None:
        weighted = _with_weighted_se(
            solution, pv_paths, weights, ranges, workers, price, progress, phase
        )
        return weighted, pv_paths
    return _with_se(solution, pv_paths, ranges, workers, progress, phase), pv_paths


def solve_under_p_and_q(
    pv_block: BlockPV,
    price: float,
    ranges: list[tuple[int, int]],
    *,
    workers: int,
    search: SpreadSearch,
    q_weights: BlockWeights | None,
    progress: ProgressCallback | None = None,
    prefix: str = "",
    name: str = "",
) -> tuple[SpreadSolution, SpreadSolution]:
    """One facility's fair spread under P, then under Q started from P's solution and its
    per-path values (``solve_facility_spread`` twice).

    ``q_weights``: the blocks' likelihood ratios dQ/dP; None when Q equals P (zero prices of
    risk), and then P's solution is Q's. The phases are reported as ``PREFIX + "fair spread: "
    + NAME`` and ``PREFIX + "fair spread (Q): " + NAME`` (``name`` e.g. ``"HY notes, "``).
    Returns the solutions under P and under Q.
    """
    p_solution, values = solve_facility_spread(
        pv_block,
        price,
        ranges,
        workers=workers,
        search=search,
        progress=progress,
        label=f"{prefix}fair spread: {name}",
    )
    if q_weights is None:
        return p_solution, p_solution
    q_solution, _ = solve_facility_spread(
        pv_block,
        price,
        ranges,
        workers=workers,
        search=search,
        weights=q_weights,
        warm=(p_solution, values),
        progress=progress,
        label=f"{prefix}fair spread (Q): {name}",
    )
    return p_solution, q_solution


def likelihood_ratios(log_weight: Float64Array | None, n: int) -> Float64Array:
    """Likelihood ratios ``dQ/dP`` of a block's ``n`` paths (all 1.0 without log-weights)."""
    if log_weight is None:
        return np.ones(n)
    return np.asarray(np.exp(log_weight), dtype=np.float64)


def _weighted_mean(
    values: Callable[[int, int], Float64Array],
    weights: BlockWeights,
    ranges: list[tuple[int, int]],
    workers: int,
    on_block: Callable[[int], None] | None,
) -> float:
    """``sum(w x) / sum(w)`` over every block, merged exactly (``credit.spread.WeightedMean``);
    ``on_block(n)`` is called as each block of ``n`` paths completes."""

    def block(start: int, stop: int) -> WeightedMean:
        acc = WeightedMean(RATIO_RESOLUTION)
        acc.add(values(start, stop), weights(start, stop))
        return acc

    total = WeightedMean(RATIO_RESOLUTION)
    for part in run_blocks(block, ranges, n_workers=workers, on_block=on_block):
        total.merge(part)
    return total.mean()


def _mean_weight(weights: BlockWeights, ranges: list[tuple[int, int]], workers: int) -> float:
    """``sum(w) / n`` over every block (exactly 1.0 for unit weights)."""

    def block(start: int, stop: int) -> WeightedMean:
        acc = WeightedMean(RATIO_RESOLUTION)
        acc.add(np.zeros(stop - start), weights(start, stop))
        return acc

    total = WeightedMean(RATIO_RESOLUTION)
    for part in run_blocks(block, ranges, n_workers=workers):
        total.merge(part)
    return total.mean_weight()


def _with_weighted_se(
    solution: SpreadSolution,
    pv_paths: BlockPV,
    weights: BlockWeights,
    ranges: list[tuple[int, int]],
    workers: int,
    price: float,
    progress: ProgressCallback | None,
    phase: str,
) -> SpreadSolution:
    """``_with_se`` for a spread solved on weighted means: the influence terms of the
    self-normalised estimator (``credit.spread.weighted_fair_spread_terms``), the pass
    reported as ``phase``."""
    x0, x1 = solution.riskless_add_on, solution.risky_add_on
    if x0 is None or x1 is None:
        return solution
    r_slope, f_slope = solution.risky_slope, solution.riskless_slope
    if r_slope is None or f_slope is None or r_slope <= 0.0 or f_slope <= 0.0:
        return with_standard_error(solution, lambda: [])
    mean_weight = _mean_weight(weights, ranges, workers)

    def block(start: int, stop: int) -> Float64Array:
        assert x0 is not None and x1 is not None
        return weighted_fair_spread_terms(
            solution,
            pv_paths(x1, False, start, stop),
            pv_paths(x0, True, start, stop),
            weights(start, stop),
            mean_weight,
            price,
        )

    n_paths = ranges[-1][1] if ranges else 0
    return with_standard_error(
        solution,
        lambda: run_blocks(
            block, ranges, n_workers=workers, on_block=block_ticker(progress, n_paths, phase)
        ),
    )


def _with_se(
    solution: SpreadSolution,
    pv_paths: BlockPV,
    ranges: list[tuple[int, int]],
    workers: int,
    progress: ProgressCallback | None,
    phase: str,
) -> SpreadSolution:
    """``solution`` with the fair spread's delta-method standard error: one more pass, over
    the same paths, of the risky PV at ``x*`` and the promised PV at ``x0`` (reported as
    ``phase``)."""
    x0, x1 = solution.riskless_add_on, solution.risky_add_on
    if x0 is None or x1 is None:
        return solution

    def block(start: int, stop: int) -> Float64Array:
        assert x0 is not None and x1 is not None
        return fair_spread_terms(
            solution, pv_paths(x1, False, start, stop), pv_paths(x0, True, start, stop)
        )

    n_paths = ranges[-1][1] if ranges else 0
    return with_standard_error(
        solution,
        lambda: run_blocks(
            block, ranges, n_workers=workers, on_block=block_ticker(progress, n_paths, phase)
        ),
    )


class Coupon(Protocol):
    """A facility's written coupon (``LoanTerms``, ``MarginLoanTerms``)."""

    @property
    def floating(self) -> bool: ...
    @property
    def margin(self) -> float: ...
    @property
    def fixed_coupon(self) -> float: ...


def nominal_spread(terms: Coupon) -> float:
    """The spread a facility pays as written, decimal a year: its margin over SOFR if floating,
    else its fixed coupon."""
    return terms.margin if terms.floating else terms.fixed_coupon
