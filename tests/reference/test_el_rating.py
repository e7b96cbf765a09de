"""The rating by expected loss (Moody's-style): the shipped default table times a 60% loss
given default, read as the PD rating is read (reference values from data/rating_default_rates.csv).
"""

from __future__ import annotations

import pytest

from gpucredit.credit.ratings import (
    RATING_EL_RECOVERY,
    implied_rating,
    implied_rating_el,
    implied_rating_el_range,
    rating_default_rate,
    rating_expected_loss,
)


def test_the_scale_is_the_default_table_times_the_loss_given_default() -> None:
    for rating in ("A", "BBB", "BB", "B"):
        assert rating_expected_loss(rating, 5.0) == pytest.approx(
            rating_default_rate(rating, 5.0) * (1.0 - RATING_EL_RECOVERY), rel=1e-15
        )


@pytest.mark.parametrize("rating", ["AA", "A", "BBB", "BB", "B"])
def test_a_ratings_own_expected_loss_maps_back_to_it(rating: str) -> None:
    for years in (1.0, 3.5, 5.0, 10.0):
        assert implied_rating_el(rating_expected_loss(rating, years), years) == rating


def test_low_lgd_rates_better_by_expected_loss_than_by_pd() -> None:
    # a BB-like PD with a 10% loss given default: EL = 0.1 PD, far below the BB scale's 0.6 PD
    pd = rating_default_rate("BB", 5.0)
    assert implied_rating(pd, 5.0) == "BB"
    assert implied_rating_el(0.1 * pd, 5.0) in ("BBB", "A")
    # and a full loss rates worse
    assert implied_rating_el(1.0 * rating_default_rate("B", 5.0), 5.0) in ("B", "CCC/C")


def test_the_range_says_when_the_interval_straddles_a_boundary() -> None:
    bb, b = rating_expected_loss("BB", 5.0), rating_expected_loss("B", 5.0)
    assert implied_rating_el_range(0.9 * bb, 1.1 * bb, 5.0) == "BB"
    assert implied_rating_el_range(bb, b, 5.0) == "BB/B"
    assert implied_rating_el_range(0.0, 0.0, 5.0) == "AAA"
