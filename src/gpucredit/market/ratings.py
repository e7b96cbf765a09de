"""The shipped rating default-rate table (S&P 2024 annual global corporate study, Table 24).

See ``data/rating_default_rates.md`` for the citation and how the numbers were transcribed.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import numpy as np

from gpucredit._typing import Float64Array

__all__ = ["RATING_TABLE_SOURCE", "annual_default_rate", "cumulative_default_table"]

RATING_TABLE_SOURCE = (
    "S&P Global Ratings, 2024 Annual Global Corporate Default and Rating Transition Study "
    "(2025-03-27), Table 24: global average cumulative default rates 1981-2024"
)
_ORDER = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC")


@cache
def cumulative_default_table() -> tuple[tuple[str, ...], Float64Array]:
    """Ratings (best first) and cumulative default rates, shape (rating, year 1..10), decimals."""
    text = (
        resources.files("gpucredit")
        .joinpath("data/rating_default_rates.csv")
        .read_text(encoding="utf-8")
    )
    table = np.full((len(_ORDER), 10), np.nan)
    for row in csv.DictReader(text.splitlines()):
        rating = "CCC" if row["rating"].startswith("CCC") else row["rating"]
        year = int(row["horizon_years"])
        table[_ORDER.index(rating), year - 1] = float(row["cumulative_default_rate_pct"]) / 100.0
    if np.isnan(table).any():
        raise RuntimeError("data/rating_default_rates.csv is incomplete")  # shipped file
    return _ORDER, table


def annual_default_rate(rating: str) -> float:
    """One-year average default rate of a rating category, decimal."""
    ratings, table = cumulative_default_table()
    return float(table[ratings.index(rating), 0])
