"""Properties of the book's loss statistics on arbitrary small loss matrices: the Euler
contributions add up to ES, ES is at least VaR, and EL is additive over positions."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gpucredit.book.losses import LossAccumulator, summarise_losses


@st.composite
def books(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray | None]:
    n = draw(st.integers(2, 60))
    k = draw(st.integers(1, 5))
    amounts = st.floats(0.0, 1e7, allow_nan=False, allow_infinity=False)
    losses = draw(arrays(np.float64, (n, k), elements=amounts))
    weighted = draw(st.booleans())
    weights = draw(arrays(np.float64, (n,), elements=st.floats(0.05, 20.0))) if weighted else None
    return losses, weights


@settings(max_examples=40, deadline=None)
@given(books(), st.sampled_from([0.5, 0.9, 0.99, 0.999]))
def test_contributions_add_up_to_es_and_es_exceeds_var(
    book: tuple[np.ndarray, np.ndarray | None], level: float
) -> None:
    losses, weights = book
    summary = summarise_losses(losses, weights, levels=(level,))
    tail = summary.tail(level)
    assert math.fsum(tail.contributions_usd.tolist()) == tail.es_usd
    # The tail mean of losses >= VaR, up to the rounding of a weighted mean (1e-12 relative).
    assert tail.es_usd >= tail.var_usd * (1.0 - 1e-12)
    assert tail.var_low_usd <= tail.var_usd <= tail.var_high_usd
    assert np.all(np.isfinite([tail.es_se_usd, tail.var_se_usd, summary.el_se_usd]))
    # The tail mean lies between VaR and the worst loss (rounding of 1e7-sized sums: 1e-9 rel).
    assert tail.es_usd <= float(losses.sum(axis=1).max()) * (1.0 + 1e-9) + 1e-9


@settings(max_examples=40, deadline=None)
@given(books())
def test_el_of_the_sum_is_the_sum_of_els(book: tuple[np.ndarray, np.ndarray | None]) -> None:
    losses, weights = book
    whole = summarise_losses(losses, weights).el_usd
    parts = [summarise_losses(losses[:, [j]], weights).el_usd for j in range(losses.shape[1])]
    # Sums of up to 60 x 5 amounts of 1e7 USD in another order: 1e-12 relative rounding.
    assert math.isclose(whole, math.fsum(parts), rel_tol=1e-12, abs_tol=1e-6)


@settings(max_examples=30, deadline=None)
@given(
    arrays(
        np.float64, st.tuples(st.integers(2, 80), st.integers(1, 4)), elements=st.floats(0, 1e6)
    ),
    st.lists(st.integers(1, 79), max_size=5),
    st.booleans(),
)
def test_the_same_figures_for_any_split_into_blocks(
    losses: np.ndarray, cuts: list[int], reverse: bool
) -> None:
    n, k = losses.shape
    edges = sorted({0, n, *(c for c in cuts if c < n)})
    whole = summarise_losses(losses)
    parts = []
    for lo, hi in pairwise(edges):
        acc = LossAccumulator(k, n)
        acc.add(losses[lo:hi], lo)
        parts.append(acc)
    if reverse:
        parts.reverse()
    merged = parts[0]
    for other in parts[1:]:
        merged.merge(other)
    split = merged.summary()
    assert split.el_usd == whole.el_usd and split.el_se_usd == whole.el_se_usd
    np.testing.assert_array_equal(split.el_by_position_usd, whole.el_by_position_usd)
    for a, b in zip(split.tails, whole.tails, strict=True):
        assert (a.var_usd, a.var_low_usd, a.var_high_usd) == (
            b.var_usd,
            b.var_low_usd,
            b.var_high_usd,
        )
        assert (a.es_usd, a.es_se_usd) == (b.es_usd, b.es_se_usd)
        np.testing.assert_array_equal(a.contributions_usd, b.contributions_usd)


@settings(max_examples=30, deadline=None)
@given(books())
def test_unit_weights_agree_with_the_accumulator(
    book: tuple[np.ndarray, np.ndarray | None],
) -> None:
    losses, _ = book
    exact = summarise_losses(losses)
    weighted = summarise_losses(losses, np.ones(losses.shape[0]))
    # The accumulator rounds each loss once to 1e-4 USD (credit.metrics.USD_RESOLUTION):
    # a mean moves by at most 5e-5 USD per position.
    assert math.isclose(exact.el_usd, weighted.el_usd, abs_tol=5e-5 * losses.shape[1] + 1e-9)
    for a, b in zip(exact.tails, weighted.tails, strict=True):
        assert a.var_usd == b.var_usd
        assert math.isclose(a.es_usd, b.es_usd, rel_tol=1e-12, abs_tol=1e-9)  # summation order
