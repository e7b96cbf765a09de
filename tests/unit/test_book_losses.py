"""Unit checks of the book's loss statistics on hand-sized inputs."""

from __future__ import annotations

import numpy as np
import pytest

from gpucredit.book.losses import (
    concentration,
    contagion_premium,
    one_year_losses,
    summarise_losses,
)


def test_hand_book_tail_and_contributions() -> None:
    # Ten equally likely paths, two positions; the total losses are 0..9 USD.
    a = np.arange(10.0)
    losses = np.column_stack([a * 0.25, a * 0.75])
    s = summarise_losses(losses, levels=(0.8,))
    t = s.tail(0.8)
    assert s.el_usd == 4.5
    assert t.var_usd == 7.0  # the smallest loss whose CDF reaches 80%: 8 of 10 paths
    assert t.es_usd == 8.5  # the mean of the worst 20%: paths with 8 and 9
    np.testing.assert_array_equal(t.contributions_usd, [8.5 * 0.25, 8.5 * 0.75])


def test_weights_shift_the_tail() -> None:
    # The worst path carries half the weight: the 60% tail is it and a fifth of the next.
    losses = np.array([[0.0], [1.0], [2.0], [10.0]])
    s = summarise_losses(losses, np.array([1.0, 1.0, 1.0, 3.0]), levels=(0.4,))
    t = s.tail(0.4)
    assert t.var_usd == 2.0  # weighted CDF 1/6, 2/6, 3/6, 1: the third path reaches 40%
    # Tail mass 0.6 * 6 = 3.6: all of the 10 USD path (3) and 0.6 of the 2 USD path.
    assert t.es_usd == pytest.approx((3.0 * 10.0 + 0.6 * 2.0) / 3.6, rel=1e-15)  # one division
    assert s.effective_paths == pytest.approx(36.0 / 12.0)


def test_one_year_losses_keep_defaults_within_twelve_months() -> None:
    losses = np.array([[5.0, 7.0], [3.0, 0.0]])
    month = np.array([[11, 12], [0, -1]], dtype=np.int64)
    np.testing.assert_array_equal(one_year_losses(losses, month), [[5.0, 0.0], [3.0, 0.0]])


def test_concentration_hhi() -> None:
    c = concentration(np.array([50.0, 30.0, 20.0]), ["OpenAI", "Microsoft", "OpenAI"])
    assert c.shares == {"OpenAI": 0.7, "Microsoft": 0.3}
    assert c.hhi == pytest.approx(0.58, rel=1e-15)  # 0.49 + 0.09, two roundings


@pytest.mark.parametrize(
    "bad",
    [np.zeros((1, 2)), np.array([[np.nan, 1.0], [0.0, 0.0]]), np.zeros(3)],
    ids=["one path", "nan", "one dimension"],
)
def test_rejects_bad_loss_matrices(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="losses must"):
        summarise_losses(bad)


def test_contagion_premium() -> None:
    rng = np.random.default_rng(5)
    base = rng.exponential(100.0, size=(2_000, 3))
    same = contagion_premium(base, base)
    assert (same.el_usd, same.el_se_usd, same.var_usd) == (0.0, 0.0, 0.0)
    # Transmission adds losses on the worst paths: both premia positive.
    worse = base.copy()
    bad = base.sum(axis=1) > np.quantile(base.sum(axis=1), 0.95)
    worse[bad] *= 2.0
    p = contagion_premium(worse, base)
    assert p.el_usd > 0.0 and p.var_usd > 0.0
    assert p.el_se_usd > 0.0 and p.var_se_usd > 0.0
