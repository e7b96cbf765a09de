"""The fire-sale fixed point against a root found by Brent's method, its monotone iteration,
and its report when it does not converge."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy.optimize import brentq

from gpucredit.book.fire_sale import fire_sale_fixed_point
from gpucredit.credit.liquidation import gpu_market_params, price_impact

MARKET = gpu_market_params("exponential")


def _linear_sales(base: np.ndarray, slope: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Units offered rise as the mark falls: ``base + slope (1 - m)`` (forced sales plus
    covenant breaches that a lower mark adds)."""
    return lambda m: base + slope * (1.0 - m)


def test_matches_the_root_of_m_equals_impact_of_sales() -> None:
    base = np.array([[100.0, 0.0], [400.0, 50.0], [0.0, 0.0]])
    slope = np.array([[2_000.0, 10.0], [5_000.0, 300.0], [1_000.0, 0.0]])
    absorption = np.full((3, 2), 1_000.0)
    res = fire_sale_fixed_point(_linear_sales(base, slope), absorption, MARKET)
    assert res.converged.all()
    for p in range(3):
        for g in range(2):

            def gap(m: float, p: int = p, g: int = g) -> float:
                sold = base[p, g] + slope[p, g] * (1.0 - m)
                return float(price_impact(sold, absorption[p, g], MARKET)) - m

            floor = MARKET.min_price_fraction
            if gap(1.0) >= 0.0:
                expected = 1.0  # nothing sold at the reference price: no impact
            else:
                expected = brentq(gap, floor, 1.0, xtol=1e-14)
            # Brent's root to 1e-14 against an iteration stopped at 1e-10 moves (contracting).
            assert res.multiplier[p, g] == pytest.approx(expected, abs=1e-8)
    assert res.multiplier[2, 0] == 1.0 and res.multiplier[2, 1] == 1.0
    assert res.note is None


def test_a_path_that_keeps_moving_is_reported() -> None:
    base = np.array([[500.0]])
    slope = np.array([[50_000.0]])  # strong feedback: many iterations to settle
    res = fire_sale_fixed_point(
        _linear_sales(base, slope), np.array([[1_000.0]]), MARKET, max_iterations=2
    )
    assert not res.converged[0] and res.iterations[0] == 2
    assert res.note is not None and "did not converge on 1 of 1 paths" in res.note
    full = fire_sale_fixed_point(_linear_sales(base, slope), np.array([[1_000.0]]), MARKET)
    # The iterate stopped early is an upper bound of the fixed point (monotone from 1).
    assert res.multiplier[0, 0] >= full.multiplier[0, 0]
    assert math.isfinite(full.multiplier[0, 0])
