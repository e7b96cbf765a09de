"""Implied rating: the rating whose historical cumulative default rate is nearest a PD."""

from __future__ import annotations

import math

import numpy as np

from gpucredit.market.ratings import cumulative_default_table

__all__ = ["implied_rating", "implied_rating_range", "rating_default_rate"]


def _monotone_table() -> tuple[tuple[str, ...], np.ndarray]:
    ratings, table = cumulative_default_table()
    # S&P's AAA rates exceed AA's from year 3 on (few AAA issuers); a rating scale must not
    # rank a riskier PD better, so each row is raised to at least the row above it.
    return ratings, np.maximum.accumulate(table, axis=0)


def rating_default_rate(rating: str, years: float) -> float:
    """Cumulative default rate of ``rating`` over ``years`` (log-linear between whole years;
    pro rata below one year), decimal."""
    ratings, table = _monotone_table()
    row = table[ratings.index(rating)]
    return float(_at_horizon(row, years))


def _at_horizon(row: np.ndarray, years: float) -> float:
    if years <= 1.0:
        return float(row[0] * years)
    years = min(years, float(row.size))
    lo = math.floor(years)
    if lo >= row.size:
        return float(row[-1])
    frac = years - lo
    a, b = row[lo - 1], row[lo]
    if a > 0 and b > 0:
        return float(math.exp((1 - frac) * math.log(a) + frac * math.log(b)))
    return float((1 - frac) * a + frac * b)


def implied_rating(cumulative_pd: float, years: float) -> str:
    """The S&P category whose cumulative default rate over ``years`` is nearest
    ``cumulative_pd`` in log terms (boundaries at geometric midpoints between categories).

    A PD of zero maps to AAA; beyond 10 years the 10-year rates are used.
    """
    ratings, table = _monotone_table()
    rates = np.array([_at_horizon(table[i], years) for i in range(len(ratings))])
    if cumulative_pd <= 0.0:
        return ratings[0]
    floor = 1e-6  # a rate of 0.00% is read as "below 0.0001%" for the log midpoints
    logs = np.log(np.maximum(rates, floor))
    bounds = 0.5 * (logs[:-1] + logs[1:])
    position = int(np.searchsorted(bounds, math.log(max(cumulative_pd, floor)), side="right"))
    label = ratings[min(position, len(ratings) - 1)]
    return "CCC/C" if label == "CCC" else label


def implied_rating_range(pd_low: float, pd_high: float, years: float) -> str:
    """The implied ratings of the two ends of a PD interval, best first: ``"A/BBB"`` when the
    interval straddles a rating boundary, the one rating (``"A"``) when it does not. The
    worst category's own name holds a slash (``"CCC/C"``), so a range reaching it reads
    ``"B to CCC/C"`` rather than the ambiguous ``"B/CCC/C"``.

    Parameters
    ----------
    pd_low, pd_high : float
        Ends of the interval of the cumulative PD, decimals (e.g. its Wilson 95% interval).
    years : float
        Horizon of the PD, years.
    """
    best = implied_rating(min(pd_low, pd_high), years)
    worst = implied_rating(max(pd_low, pd_high), years)
    if best == worst:
        return best
    return f"{best} to {worst}" if "/" in best + worst else f"{best}/{worst}"
