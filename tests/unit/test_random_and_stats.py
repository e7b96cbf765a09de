"""Random streams and accumulators: the two things that make block size irrelevant."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.random import GRANULE_PATHS, Component, draw_paths
from gpucredit.stats import ExactSum, Histogram, MonthlyHistogram


def _normals(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal((n, 7))


@given(st.lists(st.integers(1, 700), min_size=1, max_size=6))
@settings(max_examples=30, deadline=None)
def test_paths_see_the_same_numbers_whatever_the_split(sizes: list[int]) -> None:
    total = sum(sizes)
    whole = draw_paths(11, Component.FACTOR_NORMALS, 0, total, _normals)
    parts, start = [], 0
    for size in sizes:
        parts.append(draw_paths(11, Component.FACTOR_NORMALS, start, start + size, _normals))
        start += size
    assert np.array_equal(whole, np.concatenate(parts))


def test_components_and_seeds_are_independent_streams() -> None:
    a = draw_paths(1, Component.FACTOR_NORMALS, 0, GRANULE_PATHS, _normals)
    b = draw_paths(1, Component.REGIME_UNIFORMS, 0, GRANULE_PATHS, _normals)
    c = draw_paths(2, Component.FACTOR_NORMALS, 0, GRANULE_PATHS, _normals)
    assert not np.array_equal(a, b) and not np.array_equal(a, c)


@given(st.lists(st.floats(-1e9, 1e9), min_size=1, max_size=200), st.integers(1, 50))
@settings(max_examples=50, deadline=None)
def test_exact_sum_is_order_and_split_independent(values: list[float], cut: int) -> None:
    v = np.array(values)
    whole = ExactSum(1e-4)
    whole.add(v)
    left, right = ExactSum(1e-4), ExactSum(1e-4)
    right.add(v[cut:][::-1])
    left.add(v[:cut])
    right.merge(left)
    assert whole.total == right.total and whole.count == right.count
    # each value is rounded to the resolution once: error at most half a unit per value
    assert abs(whole.total - float(np.sum(v))) <= 0.5e-4 * len(v) + 1e-9 * np.sum(np.abs(v))


def test_exact_sum_refuses_nan() -> None:
    acc = ExactSum(1e-4)
    with pytest.raises(FloatingPointError):
        acc.add(np.array([1.0, np.nan]))


def test_histogram_quantiles_within_one_bin_of_numpy() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(2.0, 0.7, 20_000)
    edges = np.linspace(-5.0, 20.0, 2501)
    hist = Histogram(edges)
    hist.add(values)
    for q in (0.05, 0.5, 0.95):
        # linear interpolation inside a 0.01-wide bin: exact to one bin width
        assert hist.quantile(q) == pytest.approx(np.quantile(values, q), abs=0.01)


def test_monthly_histogram_respects_mask() -> None:
    values = np.array([[1.0, 5.0], [2.0, 6.0], [3.0, 100.0]])
    mask = np.array([[True, True], [True, True], [True, False]])
    hist = MonthlyHistogram(np.linspace(0.0, 10.0, 1001), 2)
    hist.add(values, mask)
    q = hist.quantiles(0.5)
    assert q[0] == pytest.approx(2.0, abs=0.01)
    assert q[1] == pytest.approx(5.0, abs=0.02)
    assert hist.counts[1].sum() == 2
