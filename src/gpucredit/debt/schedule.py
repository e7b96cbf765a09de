"""Scheduled principal of each amortisation profile, one month at a time.

One function serves the vectorised engine (arrays over paths) and the plain per-path loop
(0-d arrays), so the two cannot disagree about the contract.
"""

from __future__ import annotations

import numpy as np

from gpucredit._typing import Float64Array
from gpucredit.debt.terms import LoanTerms

__all__ = ["annuity_payment", "scheduled_principal"]


def annuity_payment(balance: Float64Array, monthly_rate: Float64Array, n_left: int) -> Float64Array:
    """Level payment that repays ``balance`` over ``n_left`` months at ``monthly_rate``.

    ``P = B i / (1 - (1 + i)^-n)``, and ``B / n`` when ``i = 0``.
    """
    i = np.asarray(monthly_rate, dtype=np.float64)
    safe = np.where(i > 0.0, i, 1.0)
    factor = -np.expm1(-n_left * np.log1p(safe))
    return np.asarray(np.where(i > 0.0, balance * safe / factor, balance / n_left))


def scheduled_principal(
    terms: LoanTerms, month: int, balance: Float64Array, monthly_rate: Float64Array
) -> Float64Array:
    """Principal due in ``month`` (1-based) on ``balance`` before the payment.

    The final month always asks for the whole balance (a bullet's balloon). A prepaid loan
    keeps paying its contractual instalment until it is repaid early (straight line and
    explicit schedules) or re-levels on the lower balance (level payment).
    """
    b = np.asarray(balance, dtype=np.float64)
    if month >= terms.tenor_months:
        return b
    if terms.amortisation == "level_payment":
        n_left = terms.tenor_months - month + 1
        due = annuity_payment(b, monthly_rate, n_left) - b * monthly_rate
        return np.asarray(np.minimum(due, b), dtype=np.float64)
    if terms.amortisation == "straight_line":
        return np.asarray(np.minimum(terms.principal_usd / terms.tenor_months, b))
    if terms.amortisation == "bullet":
        return np.zeros_like(b)
    return np.asarray(np.minimum(terms.schedule_share[month - 1] * terms.principal_usd, b))
