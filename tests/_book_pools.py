"""Synthetic pool cash flows for the book's tranche tests: a straight-line amortising pool
whose monthly default hazard moves with one factor per path, recoveries three months late."""

from __future__ import annotations

import numpy as np

from gpucredit.book.tranches import PoolCashFlows

#: Months from a default to its recovery (an ASSUMPTION of the synthetic pool: a repossessed
#: fleet sold within a quarter).
RECOVERY_LAG = 3


def synthetic_pool(
    rng: np.random.Generator,
    n_paths: int,
    months: int,
    *,
    balance_usd: float = 1_000_000.0,
    rate: float = 0.10,
    monthly_hazard: float = 0.005,
    factor_vol: float = 1.0,
    recovery: float = 0.4,
) -> PoolCashFlows:
    """Pool cash flows, USD, shape (path, month): ``rate`` a year on the performing balance, the
    balance repaid straight-line over ``months``, a hazard ``monthly_hazard * exp(vol z - vol^2
    / 2)`` per path (capped at 1), ``recovery`` of defaults recovered ``RECOVERY_LAG`` later
    (those falling after the last month are lost)."""
    z = rng.standard_normal(n_paths)
    hazard = np.minimum(monthly_hazard * np.exp(factor_vol * z - 0.5 * factor_vol**2), 1.0)
    performing = np.full(n_paths, balance_usd)
    interest = np.zeros((n_paths, months))
    principal = np.zeros((n_paths, months))
    defaulted = np.zeros((n_paths, months))
    recoveries = np.zeros((n_paths, months))
    for t in range(months):
        d = performing * hazard
        live = performing - d
        p = live / (months - t)
        interest[:, t] = live * rate / 12.0
        principal[:, t] = p
        defaulted[:, t] = d
        if t + RECOVERY_LAG < months:
            recoveries[:, t + RECOVERY_LAG] = recovery * d
        performing = live - p
    return PoolCashFlows(interest, principal, defaulted, recoveries)
