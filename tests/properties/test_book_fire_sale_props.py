"""Properties of the fire-sale fixed point: marks stay within the impact law's bounds, and
more forced selling never raises a mark."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gpucredit.book.fire_sale import fire_sale_fixed_point
from gpucredit.credit.liquidation import gpu_market_params
from gpucredit.credit.liquidation.params import ImpactKind

UNITS = st.floats(0.0, 5_000.0)


@settings(max_examples=20, deadline=None)
@given(
    arrays(np.float64, (4, 2), elements=UNITS),
    arrays(np.float64, (4, 2), elements=UNITS),
    arrays(np.float64, (4, 2), elements=st.floats(10.0, 5_000.0)),
    st.sampled_from(["isoelastic", "sqrt", "exponential"]),
)
def test_marks_are_bounded_and_fall_with_more_selling(
    base: np.ndarray, slope: np.ndarray, absorption: np.ndarray, kind: ImpactKind
) -> None:
    market = gpu_market_params(kind)
    res = fire_sale_fixed_point(lambda m: base + slope * (1.0 - m), absorption, market)
    more = fire_sale_fixed_point(lambda m: 2.0 * base + slope * (1.0 - m), absorption, market)
    floor = market.min_price_fraction
    assert np.all((res.multiplier >= floor) & (res.multiplier <= 1.0))
    assert res.converged.all() and more.converged.all()
    # Twice the forced sales: a mark no higher (up to the 1e-10 stopping tolerance, twice).
    assert np.all(more.multiplier <= res.multiplier + 2e-10)
