"""Properties of the book's loss statistics on arbitrary small loss matrices: the Euler
contributions add up to ES, ES is at least VaR, and EL is additive over positions."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gpucredit.book.losses import summarise_losses


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
