"""The optimal sale schedule and its evaluation, compiled with numba and run path by path.

The twin of the NumPy dynamic programme in ``schedule`` (``_optimal_chunk`` and
``_evaluate``), which stays as the readable oracle. Both solve, on each path on its own,

``V_k(r) = max_{j <= r} f_k(j) + V_{k+1}(r - j)``, ``f_k(j) = max_w q_j (alpha_kw m(x_kwj)
- beta_kw)``

over ``r`` grid steps of units left, with the same tie-breaking (the smallest ``j``, then the
first window among equal values) and the same arithmetic in the same order; a path's result
therefore does not depend on which other paths are solved with it (block size, worker count).
The only difference from the oracle is where NumPy and the C library round ``exp``, ``expm1``
and ``pow`` differently, which ``tests/oracle/test_liquidation_kernel.py`` bounds.

The loops are ``nogil``, so blocks simulated on threads solve their sales in parallel.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from gpucredit._typing import Float64Array
from gpucredit.credit.liquidation.params import DAYS_PER_MONTH

__all__ = ["IMPACT_CODES", "evaluate_schedules", "optimal_schedules"]

#: Integer code of each impact law inside the compiled loops.
IMPACT_CODES = {"isoelastic": 0, "sqrt": 1, "exponential": 2}


@numba.njit(cache=True, nogil=True)
def _annuity(rate: float, t: float) -> float:
    """``(1 - exp(-rate t)) / rate`` (``t`` where ``rate`` is 0), months."""
    if abs(rate) < 1e-12:
        return t
    return -math.expm1(-rate * t) / rate


@numba.njit(cache=True, nogil=True)
def _multiplier(x: float, kind: int, coef: float, floor: float) -> float:
    """Price multiplier at participation ``x`` >= 0 (``inf`` allowed), in ``[floor, 1]``."""
    if coef == 0.0:
        return 1.0
    if kind == 0:
        m = x**-coef if x > 1.0 else 1.0
    elif kind == 1:
        m = 1.0 - coef * math.sqrt(x)
    else:
        m = math.exp(-coef * x)
    if math.isnan(m):
        m = floor
    return min(max(m, floor), 1.0)


@numba.njit(cache=True, nogil=True)
def _participation(q: float, a: float, o: float, w: float) -> float:
    """``x = q / (A w / D) + O / A``; infinite where units meet no absorption."""
    own = 0.0
    if q > 0.0:
        own = q * DAYS_PER_MONTH / (a * w) if a > 0.0 else math.inf
    other = 0.0
    if o > 0.0:
        other = o / a if a > 0.0 else math.inf
    return own + other


@numba.njit(cache=True, nogil=True)
def _terms(
    k: int,
    w: float,
    price: float,
    drift: float,
    carry: float,
    rho: float,
    insurance: float,
    one_off: float,
    fee: float,
) -> tuple[float, float, float]:
    """Sale time ``t`` (months), and ``alpha``, ``beta`` (USD per unit): the PV of a unit sold
    in month ``k + 1`` within ``w`` days at multiplier ``m`` is ``alpha m - beta``."""
    t = k + w / DAYS_PER_MONTH
    disc = math.exp(-rho * t)
    price_t = price * math.exp(-drift * t)
    alpha = disc * price_t * (1.0 - fee)
    carry_pv = carry * _annuity(rho, t) + (insurance * price * _annuity(rho + drift, t))
    beta = disc * one_off + carry_pv
    return t, alpha, beta


@numba.njit(cache=True, nogil=True)
def optimal_schedules(
    units: Float64Array,
    price: Float64Array,
    drift: Float64Array,
    carry: Float64Array,
    rho: Float64Array,
    absorption: Float64Array,
    others: Float64Array,
    insurance: float,
    one_off: float,
    fee: float,
    kind: int,
    coef: float,
    floor: float,
    windows: Float64Array,
    grid_steps: int,
) -> tuple[Float64Array, Float64Array]:
    """The PV-maximising schedule on each path by dynamic programming over units left.

    Parameters
    ----------
    units, price, drift, carry, rho : ndarray, shape (n,)
        Lot (units), reference price (USD per unit, condition applied), log price decline per
        month, carry (USD per unit per month) and log discount rate per month.
    absorption, others : ndarray, shape (n, H), units per month
        Absorption of the market and other sellers' units, by month of the sale.
    insurance : float
        Insurance, decimal of the price per month.
    one_off : float
        One-off cost, USD per unit.
    fee : float
        Transaction share of gross proceeds.
    kind : int
        ``IMPACT_CODES`` of the impact law.
    coef, floor : float
        Impact coefficient and floor of the multiplier.
    windows : ndarray, shape (W,), days
        Sale windows the optimiser may use.
    grid_steps : int
        ``G``: units are sold in steps of ``units / G``.

    Returns
    -------
    units_sold, window_days : ndarray, shape (n, H)
        Units sold each month and the window used (the first window where nothing is sold).
    """
    n, h = absorption.shape
    g = grid_steps
    n_windows = windows.shape[0]
    units_sold = np.zeros((n, h))
    window_days = np.zeros((n, h))
    value = np.empty((h, g + 1))
    pick = np.zeros((h, g + 1), dtype=np.int64)
    choice = np.zeros((h, g + 1), dtype=np.int64)
    future = np.empty(g + 1)
    best = np.empty(g + 1)
    q = np.empty(g + 1)
    mult = np.empty((n_windows, g + 1))
    for p in range(n):
        for j in range(g + 1):
            q[j] = units[p] * (j / g)
        for k in range(h):
            a = absorption[p, k]
            o = others[p, k]
            # The multipliers depend on the month only through its absorption and others'
            # units: recompute them only where those change (the same numbers either way).
            if k == 0 or a != absorption[p, k - 1] or o != others[p, k - 1]:
                for i in range(n_windows):
                    for j in range(g + 1):
                        x = _participation(q[j], a, o, windows[i])
                        mult[i, j] = _multiplier(x, kind, coef, floor)
            for j in range(g + 1):
                value[k, j] = -math.inf
                pick[k, j] = 0
            for i in range(n_windows):
                w = windows[i]
                _, alpha, beta = _terms(
                    k, w, price[p], drift[p], carry[p], rho[p], insurance, one_off, fee
                )
                for j in range(g + 1):
                    val = q[j] * (alpha * mult[i, j] - beta)
                    if val > value[k, j]:
                        value[k, j] = val
                        pick[k, j] = i
        for r in range(g + 1):
            future[r] = -math.inf
        future[0] = 0.0
        for k in range(h - 1, -1, -1):
            # the first month starts from the whole lot: only V_1(G) is needed
            for r in range(g if k == 0 else 0, g + 1):
                best[r] = -math.inf
                choice[k, r] = 0
                for j in range(r + 1):
                    cand = value[k, j] + future[r - j]
                    if cand > best[r]:
                        best[r] = cand
                        choice[k, r] = j
            for r in range(g + 1):
                future[r] = best[r]
        left = g
        for k in range(h):
            j = choice[k, left]
            units_sold[p, k] = units[p] * j / g
            window_days[p, k] = windows[pick[k, j]]
            left -= j
    return units_sold, window_days


@numba.njit(cache=True, nogil=True)
def evaluate_schedules(
    price: Float64Array,
    drift: Float64Array,
    carry: Float64Array,
    rho: Float64Array,
    absorption: Float64Array,
    others: Float64Array,
    insurance: float,
    one_off: float,
    fee: float,
    kind: int,
    coef: float,
    floor: float,
    units_sold: Float64Array,
    window_days: Float64Array,
) -> tuple[Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array]:
    """Cash flows and PV of given schedules, path by path.

    Parameters are those of ``optimal_schedules``; ``units_sold`` and ``window_days``, shape
    (n, H), are the schedule (units) and its windows (days).

    Returns
    -------
    sale_time_months, price_multiplier, unit_price_usd, gross_usd, costs_usd : ndarray, (n, H)
        Sale time (0 where nothing is sold), clearing multiplier (1 where nothing is sold),
        price per unit (USD, 0 where nothing is sold), gross proceeds and costs (USD).
    pv_usd : ndarray, shape (n,)
        PV of gross minus costs at the discount rate, USD.
    """
    n, h = units_sold.shape
    times = np.zeros((n, h))
    mult = np.ones((n, h))
    unit_price = np.zeros((n, h))
    gross = np.zeros((n, h))
    costs = np.zeros((n, h))
    pv = np.zeros(n)
    for p in range(n):
        total = 0.0
        for k in range(h):
            q = units_sold[p, k]
            if not q > 0.0:
                # Nothing sold: the oracle's terms are all zero times a finite, non-negative
                # number (and its PV term adds a zero), so skipping the month changes no bit.
                continue
            w = window_days[p, k]
            t, alpha, beta = _terms(
                k, w, price[p], drift[p], carry[p], rho[p], insurance, one_off, fee
            )
            x = _participation(q, absorption[p, k], others[p, k], w)
            m = _multiplier(x, kind, coef, floor)
            price_t = price[p] * math.exp(-drift[p] * t)
            carry_booked = carry[p] * t + insurance * price[p] * _annuity(drift[p], t)
            mult[p, k] = m
            unit_price[p, k] = price_t * m
            times[p, k] = t
            gross[p, k] = q * price_t * m
            costs[p, k] = q * (price_t * m * fee + one_off + carry_booked)
            total += q * (alpha * m - beta)
        pv[p] = total
    return times, mult, unit_price, gross, costs, pv
