"""Properties of the duration-mismatch figures: the 5th-percentile path's collateral halves no
later than the median's, and the figures do not depend on how the paths are blocked."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import gpucredit
from gpucredit.credit.duration import ValueFan, half_life_months
from tests.conftest import load_example_data, make_deal


def _months(value: float | None) -> float:
    return np.inf if value is None else value


ratios = arrays(
    np.float64,
    st.integers(1, 48),
    elements=st.floats(0.0, 3.0, allow_nan=False, allow_subnormal=False),
)


@given(ratios, st.floats(0.0, 1.0))
def test_a_lower_value_path_halves_no_later(ratio: np.ndarray, cut: float) -> None:
    lower = ratio * cut
    assert _months(half_life_months(lower)) <= _months(half_life_months(ratio))


@settings(max_examples=30)
@given(st.integers(0, 2**32 - 1), st.floats(-0.08, 0.02), st.floats(0.01, 0.3))
def test_half_life_on_p5_is_at_most_on_p50(seed: int, drift: float, vol: float) -> None:
    rng = np.random.default_rng(seed)
    values = 50.0 * np.exp(np.cumsum(rng.normal(drift, vol, size=(300, 36)), axis=1))
    fan = ValueFan(36, 50.0)
    fan.add(values)
    p5 = half_life_months(fan.quantile_ratio(0.05))
    p50 = half_life_months(fan.quantile_ratio(0.50))
    assert _months(p5) <= _months(p50)


def test_a_deal_reports_the_same_figures_whatever_the_block_size() -> None:
    deal = make_deal(load_example_data("ddtl_ig_contracted"))
    runs = [
        gpucredit.simulate(
            deal, n_paths=400, seed=5, block_size=block, keep_paths=0, solve_fair_spread=False
        )
        for block in (128, 400)
    ]
    first, second = (r.duration for r in runs)
    assert first == second
    for d in first:
        assert _months(d.collateral_half_life_p5_months) <= _months(
            d.collateral_half_life_p50_months
        )
        assert d.debt_wal_months is not None and 0.0 < d.debt_wal_months <= d.horizon_months
