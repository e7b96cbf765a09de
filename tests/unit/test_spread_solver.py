"""The root search of the fair-spread solver."""

from __future__ import annotations

import math

import pytest
from scipy.optimize import brentq

from gpucredit.credit.spread import XTOL, _secant_root, solve_spreads


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
