"""The shipped rating default-rate table (S&P 2024 annual global corporate study, Table 24),
and the constants of the tenant default model built on it.

See ``data/rating_default_rates.md`` for the citation and how the numbers were transcribed.

* ``stress_hazard_multiplier``: how much more often companies default in a bad year than on
  average, from S&P's own annual series (worst year over the long-run mean).
* ``basel_corporate_correlation`` and ``DEFAULT_ASSET_CORRELATION``: the asset correlation of
  the one-factor Gaussian copula that links the default times of tenants and guarantors.
"""

from __future__ import annotations

import csv
import math
from functools import cache
from importlib import resources

import numpy as np

from gpucredit._typing import Float64Array

__all__ = [
    "AVERAGE_SPECULATIVE_DEFAULT_RATE",
    "BASEL_CORRELATION_SOURCE",
    "DEFAULT_ASSET_CORRELATION",
    "INVESTMENT_GRADE",
    "RATING_TABLE_SOURCE",
    "STRESS_SOURCE",
    "WORST_YEAR_SPECULATIVE_DEFAULT_RATE",
    "annual_default_rate",
    "basel_corporate_correlation",
    "cumulative_default_table",
    "is_investment_grade",
    "monthly_hazard",
    "party_annual_pd",
    "stress_hazard_multiplier",
]

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


def party_annual_pd(rating: str | None, annual_pd_pct: float | None) -> float:
    """One-year PD of a company given by its ``rating`` or its ``annual_pd_pct`` (a
    ``config.spec.RatedSpec``), decimal."""
    return annual_default_rate(rating) if rating is not None else (annual_pd_pct or 0.0) / 100.0


def monthly_hazard(annual_pd: float) -> float:
    """Constant monthly hazard ``h`` with ``1 - exp(-12 h) = annual_pd``."""
    if not 0.0 <= annual_pd < 1.0:
        raise ValueError(f"annual PD {annual_pd!r}: expected a decimal in [0, 1)")
    return -math.log1p(-annual_pd) / 12.0


#: Ratings S&P calls investment grade ('BBB-' or better; categories here).
INVESTMENT_GRADE: tuple[str, ...] = ("AAA", "AA", "A", "BBB")


def is_investment_grade(rating: str | None, annual_pd: float | None = None) -> bool:
    """Whether a company counts as investment grade.

    A rating counts if it is 'BBB' or better. A company given by its annual PD alone counts
    if that PD is at most the 'BBB' one-year average of the shipped table (0.14%): an
    assumption, the PD of the weakest investment-grade category taken as the boundary.
    """
    if rating is not None:
        return rating in INVESTMENT_GRADE
    if annual_pd is None:
        raise ValueError("a rating or an annual PD is needed")
    return annual_pd <= annual_default_rate("BBB")


STRESS_SOURCE = (
    "S&P Global Ratings, 2024 Annual Global Corporate Default and Rating Transition Study "
    "(2025-03-27): Table 1, global speculative-grade default rate 11.02% in 1991, the highest "
    "of 1981-2024 (the same row is in Table 1 of the 2023 study, 2024-03-28); Table 24, "
    "speculative-grade one-year average cumulative default rate 3.54%, 1981-2024"
)
#: The worst year of S&P's global speculative-grade default series, 1981-2024: 1991,
#: 11.02% (Table 1 of the 2023 and 2024 studies; 2009, 9.89%, and 2001, 9.70%, come next).
WORST_YEAR_SPECULATIVE_DEFAULT_RATE = 0.1102
#: The long-run one-year speculative-grade default rate, 1981-2024: 3.54% (Table 24 of the
#: 2024 study, as transcribed with the shipped rating table; data/rating_default_rates.md).
AVERAGE_SPECULATIVE_DEFAULT_RATE = 0.0354


def stress_hazard_multiplier() -> float:
    """Factor on a company's default hazard in the glut (stress) regime: 3.24.

    The ratio of the hazards implied by the worst year of S&P's speculative-grade default
    series (1991, 11.02%) and by its long-run one-year average (3.54%):
    ``log(1 - 0.1102) / log(1 - 0.0354)`` (``STRESS_SOURCE``). Assumption: a glut for the
    GPU market is as bad for the companies renting GPUs as the worst year on record was for
    speculative-grade companies in general, for every rating alike, for as long as the glut
    lasts. The rating table's average stays the hazard of the tight regime, so the
    through-the-cycle PD of a path that spends time in a glut is above the table's average:
    a conservative choice (the table's average already includes bad years).
    """
    return math.log1p(-WORST_YEAR_SPECULATIVE_DEFAULT_RATE) / math.log1p(
        -AVERAGE_SPECULATIVE_DEFAULT_RATE
    )


BASEL_CORRELATION_SOURCE = (
    "BIS, An Explanatory Note on the Basel II IRB Risk Weight Functions (July 2005), "
    "section 4.3: corporate asset correlation between 12% (high PD) and 24% (low PD)"
)


def basel_corporate_correlation(annual_pd: float) -> float:
    """The Basel II IRB corporate asset correlation at a one-year PD (decimal).

    ``R = 0.12 w + 0.24 (1 - w)``, ``w = (1 - exp(-50 PD)) / (1 - exp(-50))``
    (``BASEL_CORRELATION_SOURCE``): 0.24 for the safest companies, falling to 0.12 as the PD
    rises, without the size adjustment for small firms.
    """
    w = -math.expm1(-50.0 * annual_pd) / -math.expm1(-50.0)
    return 0.12 * w + 0.24 * (1.0 - w)


#: Asset correlation of the tenant and guarantor copula: 0.24, the top of the Basel II
#: corporate range (``BASEL_CORRELATION_SOURCE``). Why the top: every company in a GPU deal
#: depends on one market, AI compute, so they are more alike than the diversified book the
#: Basel range was set for, and the guarantors (hyperscalers, 'A' to 'AA', PD 0.02-0.05%)
#: sit at the low-PD end where the Basel formula itself gives 0.237-0.239. Assumption.
DEFAULT_ASSET_CORRELATION = 0.24
