"""The root search of the fair-spread solver."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from gpucredit.credit.spread import KEPT_ADD_ONS, XTOL, PathValues, _secant_root, solve_spreads


def _counted(f):  # type: ignore[no-untyped-def]
    calls = []

    def g(x: float) -> float:
        calls.append(x)
        return float(f(x))

    return g, calls


def test_a_linear_value_is_solved_in_four_evaluations() -> None:
    g, calls = _counted(lambda x: 0.98 + 3.7 * x - 1.0)
    root = _secant_root(g, -0.5, 0.5)
    assert root == pytest.approx(0.02 / 3.7, abs=XTOL)
    assert len(calls) <= 4


@pytest.mark.parametrize("kink", [-0.2, 0.004, 0.3])
def test_a_bent_value_gives_brents_root(kink: float) -> None:
    # increasing with a kink (a call that caps the value beyond some coupon)
    def f(x: float) -> float:
        return 0.5 * x + 2.0 * max(x - kink, 0.0) + 0.1 * math.tanh(10 * x) - 0.01

    assert _secant_root(f, -0.5, 0.5) == pytest.approx(
        brentq(f, -0.5, 0.5, xtol=XTOL), abs=2 * XTOL
    )


def test_solve_spreads_without_default_risk_has_zero_fair_spread() -> None:
    riskless = lambda x: 1.0 + 3.9 * (x - 0.0123)  # noqa: E731
    solution = solve_spreads(riskless, riskless, 1.0)
    assert solution.riskless_add_on == pytest.approx(0.0123, abs=XTOL)
    assert solution.fair_spread == 0.0
    assert solution.market_spread == pytest.approx(-0.0123, abs=XTOL)


#: Riskless PVs (per unit of par) as functions of the add-on: linear, bent by a floor, a call.
RISKLESS = {
    "linear": lambda x: 0.98 + 3.7 * x,
    "floored": lambda x: 0.95 + 0.7 * x + 2.8 * max(x + 0.06, 0.0),
    "called": lambda x: 1.0 + 3.0 * min(x, 0.02) + 0.5 * max(x - 0.02, 0.0) - 0.04,
}
#: Risky PVs: the riskless one less expected losses, smooth, in steps up (rising through
#: the price once, as it must for a single root) and a sliver of a bp.
RISKY = {
    "smooth": lambda r: lambda x: r(x) - 0.02 - 0.1 * x,
    "steps": lambda r: lambda x: r(x) - 0.03 + 0.002 * math.floor(max(x, -0.5) / 7e-4),
    "sliver": lambda r: lambda x: r(x) - 1e-9,
}


@pytest.mark.parametrize("risky", list(RISKY))
@pytest.mark.parametrize("riskless", list(RISKLESS))
def test_the_fast_search_finds_the_full_searchs_roots(riskless: str, risky: str) -> None:
    f = RISKLESS[riskless]
    r = RISKY[risky](f)
    full = solve_spreads(f, r, 1.0, "full")
    fast = solve_spreads(f, r, 1.0, "fast")
    assert full.riskless_add_on is not None and fast.riskless_add_on is not None
    assert full.risky_add_on is not None and fast.risky_add_on is not None
    # each search is within XTOL of the one sign change of an increasing PV
    assert fast.riskless_add_on == pytest.approx(full.riskless_add_on, abs=2 * XTOL)
    assert fast.risky_add_on == pytest.approx(full.risky_add_on, abs=2 * XTOL)
    # fewer on a smooth PV; where it jumps, a few secant steps before Brent's method
    assert fast.evaluations <= full.evaluations + (3 if risky == "steps" else 0)
    # slopes (and so standard errors) exist wherever the full search has them
    assert (fast.risky_slope is None) == (full.risky_slope is None)


def test_path_values_reuses_the_last_passes_of_each_kind_and_block() -> None:
    calls: list[tuple[float, bool, int]] = []

    def pv(add_on: float, riskless: bool, start: int, stop: int) -> np.ndarray:
        calls.append((add_on, riskless, start))
        return np.full(stop - start, add_on)

    kept = PathValues(pv)
    for x in (0.01, 0.02, 0.03, 0.04):
        kept(x, False, 0, 5)
    kept(0.04, False, 0, 5)  # kept: no pass
    kept(0.04, True, 0, 5)  # the other kind: a pass
    kept(0.04, False, 5, 9)  # another block: a pass
    kept(0.01, False, 0, 5)  # older than the last KEPT_ADD_ONS: a pass again
    assert len(calls) == 4 + 3
    assert KEPT_ADD_ONS == 3


@pytest.mark.parametrize("jump", [0.002, 0.0005])
@pytest.mark.parametrize("loss", [0.03, 0.031, 0.0333])
def test_a_sawtooth_pv_is_solved_to_one_of_its_roots_without_many_more_passes(
    jump: float, loss: float
) -> None:
    # a Monte Carlo mean drops as each path's default switches on with the coupon (by about
    # LGD / paths: 0.0005 at 2,000 paths) and rises between the drops, so near the price it
    # may cross several times; any crossing is a root
    def riskless(x: float) -> float:
        return 0.98 + 3.7 * x

    def risky(x: float) -> float:
        return riskless(x) - loss - jump * math.floor(max(x, -0.5) / 7e-4)

    full = solve_spreads(riskless, risky, 1.0, "full")
    fast = solve_spreads(riskless, risky, 1.0, "fast")
    assert fast.risky_add_on is not None and full.risky_add_on is not None
    x = fast.risky_add_on
    assert (risky(x - 2 * XTOL) - 1.0) * (risky(x + 2 * XTOL) - 1.0) <= 0.0
    assert fast.evaluations <= full.evaluations + 3  # Brent's method takes over on the bracket


def test_a_start_from_another_measure_gives_the_same_roots() -> None:
    # Q's search starts from P's roots; it must land where a search from scratch lands, and
    # still measure both slopes when Q's benchmark equals P's (no riskless point 0.1 bp away)
    def riskless(x: float) -> float:
        return 0.98 + 3.7 * x

    p = solve_spreads(riskless, lambda x: riskless(x) - 0.02 - 0.1 * x, 1.0)
    for loss in (0.05, 0.02 + 1e-7):  # Q's loss larger, then a sliver of a bp larger
        risky_q = lambda x, loss=loss: riskless(x) - loss - 0.1 * x  # noqa: E731
        cold = solve_spreads(riskless, risky_q, 1.0)
        warm = solve_spreads(riskless, risky_q, 1.0, "fast", p)
        assert warm.riskless_add_on is not None and cold.riskless_add_on is not None
        assert warm.risky_add_on is not None and cold.risky_add_on is not None
        assert warm.riskless_add_on == pytest.approx(cold.riskless_add_on, abs=2 * XTOL)
        assert warm.risky_add_on == pytest.approx(cold.risky_add_on, abs=2 * XTOL)
        # the root is an evaluation within XTOL of the exact one: its residual tilts the secant
        assert warm.riskless_slope == pytest.approx(3.7, rel=1e-4)
        assert warm.risky_slope == pytest.approx(3.6, rel=1e-4)
