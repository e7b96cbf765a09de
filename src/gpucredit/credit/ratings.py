"""Implied ratings: the rating whose historical cumulative default rate is nearest a PD
(S&P-style, by probability of default), and the rating whose historical expected loss is
nearest an expected loss (Moody's-style, by expected loss)."""

from __future__ import annotations

import math

import numpy as np

from gpucredit.market.ratings import cumulative_default_table

__all__ = [
    "RATING_EL_RECOVERY",
    "implied_rating",
    "implied_rating_el",
    "implied_rating_el_range",
    "implied_rating_range",
    "rating_default_rate",
    "rating_expected_loss",
]

#: Recovery of par behind the expected-loss scale: an assumption, the agencies' long-run
#: average recovery of senior unsecured bonds is near 40% (the same figure prices the generic
#: rated borrower of ``credit.pricing``).
RATING_EL_RECOVERY = 0.40


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
    return _nearest(ratings, table, cumulative_pd, years)


def _nearest(ratings: tuple[str, ...], table: np.ndarray, value: float, years: float) -> str:
    """The rating whose row of ``table`` (cumulative rates by year) at ``years`` is nearest
    ``value`` in log terms."""
    rates = np.array([_at_horizon(table[i], years) for i in range(len(ratings))])
    if value <= 0.0:
        return ratings[0]
    floor = 1e-6  # a rate of 0.00% is read as "below 0.0001%" for the log midpoints
    logs = np.log(np.maximum(rates, floor))
    bounds = 0.5 * (logs[:-1] + logs[1:])
    position = int(np.searchsorted(bounds, math.log(max(value, floor)), side="right"))
    label = ratings[min(position, len(ratings) - 1)]
    return "CCC/C" if label == "CCC" else label


def rating_expected_loss(rating: str, years: float) -> float:
    """Expected loss of ``rating`` over ``years`` per unit of par (decimal): its cumulative
    default rate (``rating_default_rate``) times ``1 - RATING_EL_RECOVERY``."""
    return rating_default_rate(rating, years) * (1.0 - RATING_EL_RECOVERY)


def implied_rating_el(expected_loss: float, years: float) -> str:
    """The rating whose expected loss over ``years`` is nearest ``expected_loss`` (decimal of
    par) in log terms: a rating by expected loss, as Moody's rates, on the shipped default
    table times the loss given default ``1 - RATING_EL_RECOVERY``.

    Moody's own idealised expected-loss table is not shipped (no public copy was found); this
    scale is built the same way, from the same historical default rates the PD rating reads.
    Because the scale's loss given default is one constant, a facility whose LGD is below 60%
    rates better by expected loss than by PD, and one whose LGD is above rates worse.
    """
    ratings, table = _monotone_table()
    return _nearest(ratings, table * (1.0 - RATING_EL_RECOVERY), expected_loss, years)


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
    return _range(
        implied_rating(min(pd_low, pd_high), years), implied_rating(max(pd_low, pd_high), years)
    )


def implied_rating_el_range(el_low: float, el_high: float, years: float) -> str:
    """The ratings by expected loss (``implied_rating_el``) of the two ends of an interval of
    the expected loss per unit of par, best first, written as ``implied_rating_range``
    writes them."""
    low, high = min(el_low, el_high), max(el_low, el_high)
    return _range(implied_rating_el(low, years), implied_rating_el(high, years))


def _range(best: str, worst: str) -> str:
    if best == worst:
        return best
    return f"{best} to {worst}" if "/" in best + worst else f"{best}/{worst}"
