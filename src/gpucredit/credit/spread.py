"""Fair spread: the coupon add-on at which the lender's expected discounted cash flows equal the
price paid, solved on the same paths (higher coupons raise debt service and so defaults).

Definitions (decimals per year):

* ``x0``: add-on to the coupon or margin at which the *promised* cash flows, discounted on the
  risk-free (SOFR) paths, are worth the issue price: the default-free benchmark.
* ``x*``: add-on at which the *risky* cash flows (with this deal's defaults and recoveries)
  are worth the issue price.
* market spread = ``-x0`` (what the loan as written pays over risk-free, OID and floor
  included); fair spread = ``x* - x0`` (zero without default risk, about PD x LGD a year
  otherwise); spread gap = market - fair = ``-x*``.

When no add-on in the searched range gives the price, the figure is None with the reason in
``SpreadSolution.note`` ("no fair spread exists: ..."): the bracket is widened geometrically
first, so only a price no coupon can repay gives None.

The fair spread's Monte Carlo standard error is by the delta method: the solved add-ons move
by ``-(mean PV error) / (dPV/dx)``, so with per-path values ``R_i`` (risky PV at ``x*``) and
``F_i`` (promised PV at ``x0``), ``z_i = R_i / R' - F_i / F'`` and
``SE = sd(z) / sqrt(n)``; the slopes ``R'``, ``F'`` come from the solver's own evaluations
(the secant through the root and the evaluation nearest 10 bp from it).
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, TypedDict

import numpy as np
from scipy.optimize import brentq

from gpucredit._typing import Float64Array
from gpucredit.stats import ExactSum

__all__ = [
    "PathValues",
    "SpreadSearch",
    "SpreadSolution",
    "fair_spread_terms",
    "solve_spreads",
    "spread_figures",
    "with_standard_error",
]

#: First search range of the risky add-on above x0 (decimal a year); widened by doubling.
MAX_FAIR_SPREAD = 0.30
#: First search range of the riskless add-on, +-; widened by doubling.
RISKLESS_RANGE = 0.5
#: Widest add-on searched, decimal a year (+-6,400% a year): beyond it no fair spread exists.
WIDEST_ADD_ON = 64.0
#: Tolerance of the solved add-ons: 1e-7 = 0.001 bp.
XTOL = 1e-7
#: Distance from the root, decimal, of the solver evaluation preferred for the PV's slope
#: (10 bp: far enough that a path's default switching on does not dominate, near enough
#: that the PV is close to linear).
SLOPE_STEP = 1e-3
#: Closest evaluation to the root accepted for the slope (0.1 bp, a thousand times XTOL).
SLOPE_MIN_STEP = 1e-5
#: Resolution of the delta-method terms ``z_i`` (decimal a year).
TERM_RESOLUTION = 1e-12

#: How ``solve_spreads`` searches the add-ons (``"full"``: the reference search, kept as the
#: oracle of the default ``"fast"`` one).
SpreadSearch = Literal["fast", "full"]
#: A function of the add-on (decimal a year): a mean PV per unit of par, or its excess over
#: the price.
Fn = Callable[[float], float]


@dataclass(frozen=True, slots=True)
class SpreadSolution:
    """The solved add-ons (decimals a year) and what the standard error needs.

    ``riskless_slope`` and ``risky_slope`` are the mean PV's derivative (per unit of par per
    unit of add-on) at ``x0`` and ``x*``; ``fair_spread_se`` the fair spread's standard error
    (decimal a year, set by ``with_standard_error``); ``note`` says why a figure is None.
    """

    riskless_add_on: float | None
    risky_add_on: float | None
    market_spread: float | None
    fair_spread: float | None
    spread_gap: float | None
    evaluations: int
    riskless_slope: float | None = None
    risky_slope: float | None = None
    fair_spread_se: float | None = None
    note: str | None = None


def solve_spreads(
    pv_riskless: Callable[[float], float],
    pv_risky: Callable[[float], float],
    price: float,
    search: SpreadSearch = "fast",
    start: SpreadSolution | None = None,
) -> SpreadSolution:
    """Solve both add-ons; ``pv_*(x)`` is the mean discounted value per unit of par (each call
    one pass over the paths; no add-on is evaluated twice).

    ``search`` picks the search (``docs/pricing.md``, "Solving"):

    * ``"full"``, the reference: the riskless add-on by three secant steps then Brent's method,
      the risky one by Brent's method on ``[x0, x0 + 30%]``;
    * ``"fast"`` (default): secant steps to convergence for both, the risky one starting from
      a Newton step off ``x0`` on the riskless slope; Brent's method only where the secant
      fails (a PV that jumps or bends). About half the passes; the same root to ``XTOL``
      where the PV crosses the price once. ``start``, a solution on the same paths under
      another measure (Q's search starts from P's), puts the secants' first points at its
      roots (and the riskless one's second 10 bp away): with the per-path values of its
      passes kept (``PathValues``), those points cost no pass.

    Never raises for want of a root: a missing one is None with ``note``.
    """
    calls = 0
    seen0: list[tuple[float, float]] = []
    seen1: list[tuple[float, float]] = []

    def memoised(pv: Fn, seen: list[tuple[float, float]]) -> Fn:
        known: dict[float, float] = {}

        def f(x: float) -> float:
            nonlocal calls
            if x not in known:
                calls += 1
                known[x] = pv(x) - price
                seen.append((x, known[x]))
            return known[x]

        return f

    f0, f1 = memoised(pv_riskless, seen0), memoised(pv_risky, seen1)
    fast = search == "fast"
    steps = FAST_SECANT_STEPS if fast else SECANT_STEPS
    first = (0.0, SECANT_START)
    if fast and start is not None and start.riskless_add_on is not None:
        first = _warm_pair(f0, start.riskless_add_on)
    x0 = _secant_root(f0, -RISKLESS_RANGE, RISKLESS_RANGE, steps, fast, first)
    if x0 is None:
        note = (
            f"no fair spread exists: no add-on within +-{WIDEST_ADD_ON * 1e4:,.0f} bp makes the "
            f"promised cash flows worth the issue price {price:.6g}"
        )
        return SpreadSolution(None, None, None, None, None, calls, note=note)
    slope0 = _slope(seen0, x0)
    at_x0 = f1(x0)
    if at_x0 >= 0.0:
        # No expected loss at the benchmark coupon: no default risk to pay for.
        return SpreadSolution(x0, x0, -x0, 0.0, -x0, calls, slope0, slope0, fair_spread_se=0.0)

    def solved(x1: float) -> SpreadSolution:
        assert x0 is not None
        if fast and _slope(seen1, x1) is None:
            # Every evaluation within SLOPE_MIN_STEP of the root (a fair spread of a fraction
            # of a bp): one more pass for the slope, which the full search has from its
            # bracket's ends.
            f1(x1 + SLOPE_STEP)
        return SpreadSolution(x0, x1, -x0, x1 - x0, -x1, calls, slope0, _slope(seen1, x1))

    lo = x0
    if fast:
        top = x0 + MAX_FAIR_SPREAD
        if start is not None and start.risky_add_on is not None and x0 < start.risky_add_on:
            second = min(start.risky_add_on, top)  # kept from the start's passes
        else:
            newton = -at_x0 / slope0 if slope0 is not None and slope0 > 0.0 else SECANT_START
            second = min(x0 + newton, top)
        root, below, above = _secant(f1, x0, second, x0, top, steps, True)
        if root is not None:
            return solved(root)
        lo = x0 if below is None else below
        if above is not None:
            return solved(float(brentq(f1, lo, above, xtol=XTOL)))
    width = MAX_FAIR_SPREAD
    while f1(x0 + width) < 0.0:
        if width >= WIDEST_ADD_ON:
            note = (
                f"no fair spread exists: no add-on up to {width * 1e4:,.0f} bp over the "
                "benchmark repays the issue price on these paths"
            )
            return SpreadSolution(x0, None, -x0, None, None, calls, slope0, note=note)
        width *= 2.0
    left = max(lo, x0 + (width / 2.0 if width > MAX_FAIR_SPREAD else 0.0))
    return solved(float(brentq(f1, left, x0 + width, xtol=XTOL)))


#: Add-ons whose per-path values ``PathValues`` keeps, per kind and block: the last few
#: evaluated, among which are the roots (a secant's last point, Brent's best).
KEPT_ADD_ONS = 3


class PathValues:
    """A block's per-path PVs per unit of par, ``pv(add_on, riskless, start, stop)``, that keeps
    those of the last ``KEPT_ADD_ONS`` add-ons of each kind and block: the standard error's
    pass (``with_standard_error``) then reuses the solver's passes at the roots instead of
    running them again. Safe to call from the block runner's threads; the values returned are
    shared and never to be written to.
    """

    def __init__(self, pv: Callable[[float, bool, int, int], Float64Array]) -> None:
        self._pv = pv
        self._kept: dict[tuple[bool, int], list[tuple[float, Float64Array]]] = {}
        self._lock = threading.Lock()

    def __call__(self, add_on: float, riskless: bool, start: int, stop: int) -> Float64Array:
        key = (riskless, start)
        with self._lock:
            for x, values in self._kept.get(key, ()):
                if x == add_on:
                    return values
        values = self._pv(add_on, riskless, start, stop)
        with self._lock:
            kept = self._kept.setdefault(key, [])
            kept.append((add_on, values))
            del kept[:-KEPT_ADD_ONS]
        return values


def _slope(points: list[tuple[float, float]], root: float) -> float | None:
    """Slope of the secant from ``(root, 0)`` to the evaluation whose distance from the root
    is nearest ``SLOPE_STEP`` on a log scale (at least ``SLOPE_MIN_STEP``); None if none is."""
    best: tuple[float, float] | None = None
    for x, fx in points:
        d = abs(x - root)
        if d < SLOPE_MIN_STEP:
            continue
        score = abs(math.log(d / SLOPE_STEP))
        if best is None or score < best[0]:
            best = (score, fx / (x - root))
    return None if best is None else best[1]


def fair_spread_terms(
    solution: SpreadSolution, risky_pv: Float64Array, riskless_pv: Float64Array
) -> Float64Array:
    """The delta-method terms ``z_i = R_i / R' - F_i / F'`` of a block (decimal a year):
    ``risky_pv`` per path at ``x*``, ``riskless_pv`` at ``x0``, both per unit of par."""
    r_slope, f_slope = solution.risky_slope, solution.riskless_slope
    if r_slope is None or f_slope is None or r_slope <= 0.0 or f_slope <= 0.0:
        raise ValueError("fair_spread_terms: the solution has no positive PV slopes")
    return np.asarray(risky_pv / r_slope - riskless_pv / f_slope, dtype=np.float64)


def with_standard_error(
    solution: SpreadSolution, terms: Callable[[], Iterable[Float64Array]]
) -> SpreadSolution:
    """``solution`` with ``fair_spread_se`` from the delta-method terms of every block
    (``terms()`` yields ``fair_spread_terms`` of each block, in any split). Returns it
    unchanged where the fair spread is None or zero (its standard error is then 0 or None)."""
    if solution.fair_spread is None or solution.fair_spread_se is not None:
        return solution
    r_slope, f_slope = solution.risky_slope, solution.riskless_slope
    if r_slope is None or f_slope is None or r_slope <= 0.0 or f_slope <= 0.0:
        return dataclasses.replace(
            solution, note="no standard error: the PV does not rise with the spread"
        )
    total = ExactSum(TERM_RESOLUTION, moments=True)
    for block in terms():
        total.add(block)
    return dataclasses.replace(solution, fair_spread_se=total.standard_error())


class SpreadFigures(TypedDict):
    market_spread: float
    fair_spread: float | None
    fair_spread_se: float | None
    fair_spread_note: str | None


def spread_figures(solution: SpreadSolution | None, nominal_spread: float) -> SpreadFigures:
    """The spread arguments of ``credit.metrics.summarise`` (decimals a year): the solved
    ones, or the loan's nominal spread and no fair spread when it was not solved (or where
    the promised cash flows cannot be priced, with the solver's note)."""
    if solution is None:
        return SpreadFigures(
            market_spread=nominal_spread,
            fair_spread=None,
            fair_spread_se=None,
            fair_spread_note=None,
        )
    return SpreadFigures(
        market_spread=nominal_spread if solution.market_spread is None else solution.market_spread,
        fair_spread=solution.fair_spread,
        fair_spread_se=solution.fair_spread_se,
        fair_spread_note=solution.note,
    )


#: Secant steps of the full (reference) search before it falls back to Brent's method.
SECANT_STEPS = 3
#: Secant steps of the fast search: enough to converge on a smooth PV (about four).
FAST_SECANT_STEPS = 8
#: Second point of the riskless secant (decimal a year; the first is 0).
SECANT_START = 0.01


def _secant(
    f: Fn,
    x_a: float,
    x_b: float,
    lo: float,
    hi: float,
    steps: int,
    fast: bool = False,
) -> tuple[float | None, float | None, float | None]:
    """Up to ``steps`` secant steps from ``x_a`` and ``x_b`` towards the root of the increasing
    ``f``, stopping at a step outside ``[lo, hi]``.

    Returns ``(root, below, above)``: the root to ``XTOL`` (None where the steps did not get
    there) and the largest ``x`` seen with ``f(x) < 0`` and the smallest with ``f(x) > 0``
    (None where none was), the bracket a fallback starts from. The root is the next secant
    point, less than ``XTOL`` from the last evaluation. With ``fast``, the root is that last
    evaluation itself (so that the passes at the roots can serve the standard error) and a
    step that leaves the bracket found stops the steps (a PV in steps, as a Monte Carlo mean
    is, where Brent's method on the bracket does better).
    """
    below: float | None = None
    above: float | None = None

    def value(x: float) -> float:
        nonlocal below, above
        fx = f(x)
        if fx < 0.0:
            below = x if below is None else max(below, x)
        elif fx > 0.0:
            above = x if above is None else min(above, x)
        return fx

    f_a, f_b = value(x_a), value(x_b)
    for _ in range(steps):
        if f_b == f_a:
            break
        x_c = x_b - f_b * (x_b - x_a) / (f_b - f_a)
        if not lo <= x_c <= hi:
            break
        if fast and below is not None and above is not None and not below < x_c < above:
            break
        if abs(x_c - x_b) < XTOL or f_b == 0.0:
            return float(x_c if f_b != 0.0 and not fast else x_b), below, above
        x_a, f_a, x_b, f_b = x_b, f_b, x_c, value(x_c)
    if f_a == 0.0:
        return float(x_a), below, above
    return None, below, above


def _warm_pair(f: Fn, x: float) -> tuple[float, float]:
    """``x`` and the point ``SLOPE_STEP`` from it towards the root of the increasing ``f``: the
    first two points of a secant started at another measure's root. The second, about 10 bp
    from the root, also gives the slope its preferred distance (``_slope``)."""
    return x, x - SLOPE_STEP if f(x) > 0.0 else x + SLOPE_STEP


def _secant_root(
    f: Fn,
    lo: float,
    hi: float,
    steps: int = SECANT_STEPS,
    fast: bool = False,
    first: tuple[float, float] = (0.0, SECANT_START),
) -> float | None:
    """Root of the increasing ``f`` to ``XTOL``: ``steps`` secant steps from ``first`` (0 and
    1% by default), then Brent's method on the tightest bracket the steps found; with no
    bracket, ``lo`` and ``hi``, then double them out to +-``WIDEST_ADD_ON``. None when ``f``
    has no sign change there. ``fast``: as for ``_secant``.

    The promised cash flows' value is close to linear in the add-on (coupons scale with it;
    only calls, sweeps and floors bend it), so the secant lands on the root in four to six
    evaluations where Brent's method on ``[lo, hi]`` takes about nine; where calls bend it,
    Brent's method starts from a bracket already narrowed by the secant's points.
    """
    root, below, above = _secant(f, first[0], first[1], lo, hi, steps, fast)
    if root is not None:
        return root
    step = lo
    while below is None and abs(step) <= WIDEST_ADD_ON:
        f_step = f(step)
        if f_step == 0.0:
            return float(step)
        if f_step < 0.0:
            below = step
        elif above is None or step < above:
            above = step
        step *= 2.0
    step = hi
    while above is None and abs(step) <= WIDEST_ADD_ON:
        f_step = f(step)
        if f_step == 0.0:
            return float(step)
        if f_step > 0.0:
            above = step
        elif below is None or step > below:
            below = step
        step *= 2.0
    if below is None or above is None or not below < above:
        return None
    return float(brentq(f, below, above, xtol=XTOL))


#: Resolution of summed likelihood-ratio weights: a power of two, so that unit weights (the
#: pricing measure equal to the real-world one) sum to the path count exactly.
WEIGHT_RESOLUTION = 2.0**-40


@dataclass(slots=True)
class WeightedMean:
    """Self-normalised weighted mean ``sum(w x) / sum(w)`` merged exactly over blocks.

    With every weight 1.0 the mean is bit-identical to ``ExactSum(resolution).mean()`` of the
    same values (the weight sum is then the exact path count).
    """

    resolution: float
    values: ExactSum = dataclasses.field(init=False)
    weights: ExactSum = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.values = ExactSum(self.resolution)
        self.weights = ExactSum(WEIGHT_RESOLUTION)

    def add(self, values: Float64Array, weights: Float64Array) -> None:
        self.values.add(weights * values)
        self.weights.add(weights)

    def merge(self, other: WeightedMean) -> None:
        self.values.merge(other.values)
        self.weights.merge(other.weights)

    def mean(self) -> float:
        total = self.weights.total
        if not total > 0.0:
            raise ZeroDivisionError("WeightedMean: the weights sum to zero")
        return self.values.total / total

    def mean_weight(self) -> float:
        """``sum(w) / n``: exactly 1.0 for unit weights."""
        if self.weights.count == 0:
            raise ZeroDivisionError("WeightedMean: no weight added")
        return self.weights.total / self.weights.count


def weighted_fair_spread_terms(
    solution: SpreadSolution,
    risky_pv: Float64Array,
    riskless_pv: Float64Array,
    weights: Float64Array,
    mean_weight: float,
    price: float,
) -> Float64Array:
    """Delta-method terms of a fair spread solved on weighted (self-normalised) means.

    ``z_i = v_i g_i - (v_i - 1) g`` with ``v_i = w_i / mean(w)``, ``g_i`` the unweighted
    terms (``fair_spread_terms``) and ``g = price / R' - price / F'`` their weighted mean at
    the roots: the influence terms of a ratio estimator, up to a constant. With unit weights
    ``z_i = g_i`` exactly, so the standard error equals the unweighted one bit for bit.
    """
    g = fair_spread_terms(solution, risky_pv, riskless_pv)
    assert solution.risky_slope is not None and solution.riskless_slope is not None
    g_bar = price / solution.risky_slope - price / solution.riskless_slope
    v = weights / mean_weight
    return np.asarray(v * g - (v - 1.0) * g_bar, dtype=np.float64)
