"""Published tables: S&P cumulative default rates and SpotWire liquidation factors."""

from __future__ import annotations

import numpy as np
import pytest

from gpucredit.credit import LIQUIDATION_FACTORS, implied_rating, rating_default_rate
from gpucredit.market import annual_default_rate, cumulative_default_table


@pytest.mark.parametrize(
    ("rating", "year", "pct"),
    [
        # S&P Global Ratings, 2024 Annual Global Corporate Default and Rating Transition
        # Study (2025-03-27), Table 24, 1981-2024
        ("BBB", 1, 0.14),
        ("BBB", 5, 1.36),
        ("BB", 5, 5.75),
        ("B", 1, 2.93),
        ("B", 10, 22.02),
        ("CCC", 1, 26.12),
    ],
)
def test_sp_cumulative_default_rates(rating: str, year: int, pct: float) -> None:
    ratings, table = cumulative_default_table()
    assert table[ratings.index(rating), year - 1] == pytest.approx(pct / 100)


def test_one_year_rates_drive_tenant_hazards() -> None:
    assert annual_default_rate("A") == pytest.approx(0.0005)
    assert annual_default_rate("AAA") == 0.0


def test_implied_rating_round_trips_the_table() -> None:
    for rating in ("AA", "A", "BBB", "BB", "B"):
        for years in (1.0, 3.0, 5.0, 7.5):
            pd = rating_default_rate(rating, years)
            assert implied_rating(pd, years) == rating
    assert implied_rating(0.0, 5.0) == "AAA"
    assert implied_rating(0.9, 5.0) == "CCC/C"


def test_table_is_made_monotone_across_ratings() -> None:
    # S&P's AAA 10-year rate (0.67%) is above AA's (0.65%); the mapping uses max(AAA, AA).
    assert rating_default_rate("AA", 10) >= rating_default_rate("AAA", 10)
    rates = [rating_default_rate(r, 5) for r in ("AAA", "AA", "A", "BBB", "BB", "B", "CCC")]
    assert np.all(np.diff(rates) >= 0)


def test_liquidation_factors_by_sale_speed() -> None:
    # SpotWire valuator methodology v0.6 (CC-BY-4.0, 2026-06): orderly 180 d 1.00,
    # broker 90 d 0.85, auction 30 d 0.65, distressed 7 d 0.45
    assert LIQUIDATION_FACTORS == {
        "orderly": (1.00, 180),
        "broker": (0.85, 90),
        "auction": (0.65, 30),
        "distressed": (0.45, 7),
    }
