"""Scheduled principal of each amortisation profile, one month at a time.

One function serves the vectorised engine (arrays over paths) and the plain per-path loop
(0-d arrays), so the two cannot disagree about the contract.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from gpucredit._typing import Float64Array
from gpucredit.debt.terms import LoanTerms

__all__ = ["annuity_factor", "annuity_payment", "scheduled_principal"]


@numba.njit(cache=True, nogil=True)
def annuity_factor(monthly_rate: float, n_left: float) -> float:
    """``1 - (1 + i)^-n`` for a monthly rate ``i > 0`` over ``n`` months.

    One scalar definition for every engine: the compiled loop calls it, the plain loop calls
    its ``py_func`` and the vectorised engine maps it over paths as a ufunc. NumPy's own
    ``expm1``/``log1p`` use SIMD routines on some CPUs (AVX-512) that differ from the C
    library's in the last bit, which would break the engines' exact agreement.
    """
    return -math.expm1(-n_left * math.log1p(monthly_rate))


_annuity_factor_ufunc = numba.vectorize(  # type: ignore[no-untyped-call]  # numba is untyped
    ["float64(float64, float64)"], cache=True
)(annuity_factor.py_func)


def annuity_payment(balance: Float64Array, monthly_rate: Float64Array, n_left: int) -> Float64Array:
    """Level payment that repays ``balance`` over ``n_left`` months at ``monthly_rate``.

    ``P = B i / (1 - (1 + i)^-n)``, and ``B / n`` when ``i = 0``.
    """
    i = np.asarray(monthly_rate, dtype=np.float64)
    safe = np.where(i > 0.0, i, 1.0)
    factor = np.asarray(_annuity_factor_ufunc(safe, float(n_left)), dtype=np.float64)
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
