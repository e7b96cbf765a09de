"""A GPU ABS waterfall over a pool's monthly cash flows, vectorised over paths (a loop over
months), and each class's PD, EL, WAL, attachment, detachment and fair spread.

``run_waterfall`` is compiled (numba, one loop over paths and months); its plain NumPy twin
``run_waterfall_reference`` is the oracle, equal to it to the bit
(``tests/oracle/test_book_tranches_kernel.py``).

Each month ``t``, on every path at once (``docs/book.md`` has the order and the identities):

1. The pool balance falls by the principal collected and the principal that defaulted:
   ``P_t = P_{t-1} - principal_t - defaulted_t`` (what is left at the last month defaults).
2. Interest: the notes' interest due ``D_k = c_k / 12 * B_k`` is paid senior first from the
   interest collected, then from the reserve account; then interest deferred in earlier
   months, senior first, from the interest left. What is missed is a shortfall of the senior
   class (a default), and deferred for the classes below it (``defer_junior_interest``;
   otherwise lost), lost only if still unpaid at legal final.
3. Tests, per note class with a trigger: OC ``P_t / sum_{j <= k} B_j`` and IC
   ``interest_t / sum_{j <= k} D_j``. When any test fails, the interest left after interest is
   diverted to pay down the notes' principal senior first (a turbo), and principal is paid
   sequentially that month even in a pro-rata deal.
4. Principal collected plus recoveries pays the notes, sequentially (senior first) or pro rata
   to their balances, then the equity's balance; what remains is released to the equity.
5. The reserve is topped up from the interest left to its target ``max(pct * P_t, floor)``
   (zero once the notes are repaid); any excess over the target is released to the equity.
6. The interest left is released to the equity.
7. At legal final (the last month) the reserve repays the notes, senior first, the rest of
   it is released, and each class's unpaid balance is its principal loss. Until
   then a class is not written down: losses show as a pool balance below the classes' (the
   OC test), interest still accrues on the whole balance, and later recoveries and excess
   interest can still repay it (a principal deficiency ledger, as European ABS keep one).

Identities that hold on every path (tests/properties/test_book_tranches.py):

* cash: interest + principal + recoveries collected = interest and principal paid to the
  classes + reserve change + release to the equity;
* losses: the classes' principal losses (equity included) + interest and reserve applied to
  principal = the pool's loss (defaulted - recovered) + principal released to the equity;
  without triggers and reserve, and with recoveries never above the defaults before them,
  the classes' losses add up to the pool's loss;
* seniority (sequential): a class loses principal only if every class junior to it loses
  all of its own.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import numba
import numpy as np

from gpucredit._typing import BoolArray, Float64Array
from gpucredit.credit.ratings import implied_rating_el
from gpucredit.credit.spread import (
    SpreadSolution,
    fair_spread_terms,
    solve_spreads,
    weighted_fair_spread_terms,
    with_standard_error,
)

__all__ = [
    "LOSS_TOLERANCE_USD",
    "PoolCashFlows",
    "TrancheClass",
    "TrancheMetrics",
    "Waterfall",
    "WaterfallResult",
    "evaluate_tranches",
    "run_waterfall",
    "run_waterfall_reference",
]

#: ASSUMPTION: a write-off or interest shortfall below one cent is rounding, not a default (USD).
LOSS_TOLERANCE_USD = 0.01


@dataclass(frozen=True, slots=True)
class TrancheClass:
    """One note class.

    Attributes
    ----------
    name : str
        ``"A"``, ``"B"``...
    balance_usd : float
        Initial balance, USD.
    coupon : float
        Coupon, decimal a year, paid monthly on the balance at the start of the month.
    oc_trigger, ic_trigger : float or None
        Minimum OC and IC ratios of the class's test (e.g. 1.10); None for no test.
    """

    name: str
    balance_usd: float
    coupon: float
    oc_trigger: float | None = None
    ic_trigger: float | None = None


@dataclass(frozen=True, slots=True)
class Waterfall:
    """The structure: note classes senior first, the equity below them.

    Attributes
    ----------
    classes : tuple of TrancheClass
        The notes, senior first.
    pool_balance_usd : float
        The pool's initial balance, USD; the equity's balance is the pool's less the notes'.
    principal : {"sequential", "pro_rata"}
        How principal collected is shared among the notes.
    reserve_initial_usd, reserve_floor_usd : float
        The reserve at closing and its floor target, USD.
    reserve_target_pct : float
        Reserve target as a decimal of the current pool balance.
    defer_junior_interest : bool
        Interest the notes below the senior class cannot be paid is deferred: carried and paid,
        senior first, after the month's current interest when cash allows; only what is still
        unpaid at legal final is lost. False: it is lost when missed. ASSUMPTION: True, as
        subordinate ABS classes are usually written (their missed interest is not a default
        while the senior class is outstanding; the senior class's interest is never deferred).
    """

    classes: tuple[TrancheClass, ...]
    pool_balance_usd: float
    principal: Literal["sequential", "pro_rata"] = "sequential"
    reserve_initial_usd: float = 0.0
    reserve_target_pct: float = 0.0
    reserve_floor_usd: float = 0.0
    defer_junior_interest: bool = True

    def __post_init__(self) -> None:
        if not self.classes:
            raise ValueError("a waterfall needs at least one note class")
        notes = math.fsum(c.balance_usd for c in self.classes)
        if any(not c.balance_usd > 0.0 for c in self.classes):
            raise ValueError("every note class needs a positive balance_usd")
        if any(not (math.isfinite(c.coupon) and c.coupon >= 0.0) for c in self.classes):
            raise ValueError("every note coupon must be finite and non-negative")
        if not notes <= self.pool_balance_usd:
            raise ValueError(
                f"the notes ({notes:,.2f} USD) exceed the pool ({self.pool_balance_usd:,.2f} USD)"
            )
        amounts = (self.reserve_initial_usd, self.reserve_target_pct, self.reserve_floor_usd)
        if any(not (math.isfinite(v) and v >= 0.0) for v in amounts):
            raise ValueError("reserve amounts and target must be finite and non-negative")


@dataclass(frozen=True, slots=True)
class PoolCashFlows:
    """A pool's cash flows per path and month (USD).

    Attributes
    ----------
    interest_usd, principal_usd, defaulted_usd, recoveries_usd : ndarray, shape (path, month)
        Interest collected; principal collected from performing loans; principal balance that
        defaulted in the month; cash recovered on defaulted loans (in any later month).
    """

    interest_usd: Float64Array
    principal_usd: Float64Array
    defaulted_usd: Float64Array
    recoveries_usd: Float64Array

    def __post_init__(self) -> None:
        shape = self.interest_usd.shape
        for name in ("interest_usd", "principal_usd", "defaulted_usd", "recoveries_usd"):
            a = getattr(self, name)
            if a.ndim != 2 or a.shape != shape:
                raise ValueError(f"{name} must have shape (path, month) = {shape}, got {a.shape}")
            if not np.all(np.isfinite(a)) or np.any(a < 0.0):
                raise ValueError(f"{name} must be finite and non-negative")


@dataclass(frozen=True, slots=True)
class WaterfallResult:
    """What each class received, per path and month (USD). Class axis: the notes senior first,
    then the equity (last).

    Attributes
    ----------
    interest_paid_usd, principal_paid_usd, written_off_usd : ndarray, shape (path, month, class)
        Interest and principal paid (principal includes the turbo) and balance written off
        (at legal final, the last month).
    interest_due_usd, shortfall_usd : ndarray, shape (path, month, class)
        The month's coupon due, and interest lost (missed and not deferred, or deferred and
        still unpaid at legal final); zero for the equity, which has no coupon.
        ``interest_paid_usd`` includes deferred interest caught up.
    balance_usd : ndarray, shape (path, month, class)
        Balance at the start of each month.
    reserve_usd : ndarray, shape (path, month + 1)
        Reserve balance at closing and after each month.
    equity_release_usd, diverted_usd, principal_released_usd : ndarray, shape (path, month)
        Cash released to the equity (of which principal left after every balance is repaid),
        and cash other than principal collected that repaid note principal (interest
        diverted by failed tests; the reserve at legal final).
    test_failed : ndarray of bool, shape (path, month)
        Whether any OC or IC test failed.
    pool_loss_usd : ndarray, shape (path,)
        Defaulted less recovered principal, with the balance left at the last month.
    """

    interest_paid_usd: Float64Array
    principal_paid_usd: Float64Array
    written_off_usd: Float64Array
    interest_due_usd: Float64Array
    shortfall_usd: Float64Array
    balance_usd: Float64Array
    reserve_usd: Float64Array
    equity_release_usd: Float64Array
    diverted_usd: Float64Array
    principal_released_usd: Float64Array
    test_failed: BoolArray
    pool_loss_usd: Float64Array


def _opening(waterfall: Waterfall) -> tuple[Float64Array, Float64Array, float]:
    """The notes' coupons (decimal a year) and balances, and the equity's balance (USD)."""
    coupons = np.array([c.coupon for c in waterfall.classes], dtype=np.float64)
    balances = np.array([c.balance_usd for c in waterfall.classes], dtype=np.float64)
    return coupons, balances, waterfall.pool_balance_usd - float(balances.sum())


def _row_sum(a: Float64Array) -> Float64Array:
    """Sum of ``a`` (path, class) over classes, left to right (the kernel's order)."""
    total = a[:, 0].copy()
    for k in range(1, a.shape[1]):
        total = total + a[:, k]
    return total


def _sequential(cash: Float64Array, balances: Float64Array) -> Float64Array:
    """Pay ``cash`` (path,) to ``balances`` (path, class) in column order; returns payments."""
    out = np.zeros_like(balances)
    left = cash.copy()
    for k in range(balances.shape[1]):
        pay = np.minimum(left, balances[:, k])
        out[:, k] = pay
        left -= pay
    return out


def _pro_rata(cash: Float64Array, balances: Float64Array) -> Float64Array:
    """Pay ``cash`` to ``balances`` in proportion to them, capped at the total balance."""
    total = _row_sum(balances)
    paid = np.minimum(cash, total)
    share = np.divide(
        balances, total[:, None], out=np.zeros_like(balances), where=total[:, None] > 0.0
    )
    return np.asarray(np.minimum(paid[:, None] * share, balances), dtype=np.float64)


def _tests_fail(
    waterfall: Waterfall,
    pool: Float64Array,
    notes: Float64Array,
    due: Float64Array,
    interest: Float64Array,
) -> BoolArray:
    """Whether any class's OC or IC test fails (a class with nothing owed passes)."""
    fail = np.zeros(pool.shape[0], dtype=np.bool_)
    owed = np.cumsum(notes, axis=1)
    owed_interest = np.cumsum(due, axis=1)
    for k, c in enumerate(waterfall.classes):
        if c.oc_trigger is not None:
            fail |= (owed[:, k] > 0.0) & (pool < c.oc_trigger * owed[:, k])
        if c.ic_trigger is not None:
            fail |= (owed_interest[:, k] > 0.0) & (interest < c.ic_trigger * owed_interest[:, k])
    return fail


def run_waterfall_reference(waterfall: Waterfall, pool: PoolCashFlows) -> WaterfallResult:
    """Run the waterfall on every path in plain NumPy (vectorised over paths, a loop over
    months): the oracle of ``run_waterfall``, its compiled twin.

    Parameters
    ----------
    waterfall : Waterfall
        The classes, the principal rule and the reserve.
    pool : PoolCashFlows
        The pool's collections and defaults, USD, shape (path, month).

    Returns
    -------
    WaterfallResult
        Payments, write-offs and balances per path, month and class (USD).
    """
    n, months = pool.interest_usd.shape
    k_notes = len(waterfall.classes)
    coupons, opening, equity_usd = _opening(waterfall)
    notes = np.tile(opening, (n, 1))
    equity = np.full(n, equity_usd)
    pool_bal = np.full(n, waterfall.pool_balance_usd)
    reserve = np.full(n, waterfall.reserve_initial_usd)
    shape3 = (n, months, k_notes + 1)
    interest_paid, principal_paid = np.zeros(shape3), np.zeros(shape3)
    written_off, interest_due, shortfall = np.zeros(shape3), np.zeros(shape3), np.zeros(shape3)
    balance = np.zeros(shape3)
    reserve_path = np.zeros((n, months + 1))
    reserve_path[:, 0] = reserve
    release, diverted = np.zeros((n, months)), np.zeros((n, months))
    released_principal = np.zeros((n, months))
    failed = np.zeros((n, months), dtype=np.bool_)
    pool_loss = np.zeros(n)
    deferred = np.zeros((n, k_notes))  # interest deferred and not yet paid, USD
    defer = np.ones(k_notes)
    defer[0] = 0.0  # the senior class's interest is never deferred
    for t in range(months):
        balance[:, t, :k_notes] = notes
        balance[:, t, k_notes] = equity
        interest = pool.interest_usd[:, t]
        defaulted = pool.defaulted_usd[:, t]
        pool_bal = pool_bal - pool.principal_usd[:, t] - defaulted
        pool_loss += defaulted - pool.recoveries_usd[:, t]
        if t == months - 1:
            pool_loss += np.maximum(pool_bal, 0.0)
            pool_bal = np.zeros(n)
        pool_bal = np.maximum(pool_bal, 0.0)
        # 2. Interest, senior first, from collections then the reserve; then deferred interest.
        due = notes * (coupons / 12.0)
        from_interest = _sequential(interest, due)
        from_reserve = _sequential(reserve, due - from_interest)
        reserve = reserve - _row_sum(from_reserve)
        paid = from_interest + from_reserve
        left = interest - _row_sum(from_interest)
        catch_up = _sequential(left, deferred)
        left = left - _row_sum(catch_up)
        missed = due - paid
        deferred = (
            deferred - catch_up + (missed * defer if waterfall.defer_junior_interest else 0.0)
        )
        paid = paid + catch_up
        # 3. Tests and the turbo.
        fail = _tests_fail(waterfall, pool_bal, notes, due, interest)
        turbo = np.where(fail, left, 0.0)
        turbo_paid = _sequential(turbo, notes)
        notes = notes - turbo_paid
        left = left - _row_sum(turbo_paid)
        # 4. Principal collected and recovered: the notes, then the equity's balance.
        cash = pool.principal_usd[:, t] + pool.recoveries_usd[:, t]
        if waterfall.principal == "sequential":
            to_notes = _sequential(cash, notes)
        else:
            to_notes = np.where(fail[:, None], _sequential(cash, notes), _pro_rata(cash, notes))
        notes = notes - to_notes
        cash = cash - _row_sum(to_notes)
        to_equity = np.minimum(cash, equity)
        equity = equity - to_equity
        spare_principal = cash - to_equity
        # 5. The reserve to its target, the excess released.
        live = _row_sum(notes) > 0.0
        target = np.where(
            live,
            np.maximum(waterfall.reserve_target_pct * pool_bal, waterfall.reserve_floor_usd),
            0.0,
        )
        top_up = np.where(fail, 0.0, np.minimum(left, np.maximum(target - reserve, 0.0)))
        reserve = reserve + top_up
        left = left - top_up
        excess = np.maximum(reserve - target, 0.0)
        reserve = reserve - excess
        # 7. At legal final the reserve repays the notes, senior first, and what is left of it
        # is released; what the classes are still owed is their principal loss.
        cut = np.zeros((n, k_notes + 1))
        if t == months - 1:
            from_reserve_principal = _sequential(reserve, notes)
            notes = notes - from_reserve_principal
            turbo_paid = turbo_paid + from_reserve_principal
            excess = excess + reserve - _row_sum(from_reserve_principal)
            reserve = np.zeros(n)
            cut[:, :k_notes] = notes
            cut[:, k_notes] = equity
            notes = np.zeros_like(notes)
            equity = np.zeros(n)
        interest_due[:, t, :k_notes] = due
        interest_paid[:, t, :k_notes] = paid
        lost_now = missed * (1.0 - defer) if waterfall.defer_junior_interest else missed
        shortfall[:, t, :k_notes] = lost_now + (deferred if t == months - 1 else 0.0)
        principal_paid[:, t, :k_notes] = turbo_paid + to_notes
        principal_paid[:, t, k_notes] = to_equity
        written_off[:, t] = cut
        reserve_path[:, t + 1] = reserve
        release[:, t] = left + excess + spare_principal
        diverted[:, t] = _row_sum(turbo_paid)
        released_principal[:, t] = spare_principal
        failed[:, t] = fail
    return WaterfallResult(
        interest_paid_usd=interest_paid,
        principal_paid_usd=principal_paid,
        written_off_usd=written_off,
        interest_due_usd=interest_due,
        shortfall_usd=shortfall,
        balance_usd=balance,
        reserve_usd=reserve_path,
        equity_release_usd=release,
        diverted_usd=diverted,
        principal_released_usd=released_principal,
        test_failed=failed,
        pool_loss_usd=pool_loss,
    )


@numba.njit(cache=True, nogil=True)
def _min(a: float, b: float) -> float:
    """``np.minimum`` on two numbers: ``b`` unless ``a < b`` (so the same zero's sign)."""
    return a if a < b else b


@numba.njit(cache=True, nogil=True)
def _max(a: float, b: float) -> float:
    """``np.maximum`` on two numbers: ``b`` unless ``a > b``."""
    return a if a > b else b


@numba.njit(cache=True, nogil=True)
def _sum(a: Float64Array) -> float:
    """``_row_sum`` of one path: left to right."""
    total = float(a[0])
    for k in range(1, a.shape[0]):
        total = total + a[k]
    return total


@numba.njit(cache=True, nogil=True)
def _pay_sequential(cash: float, balances: Float64Array, out: Float64Array) -> None:
    """``_sequential`` of one path, into ``out``."""
    left = cash
    for k in range(balances.shape[0]):
        pay = _min(left, balances[k])
        out[k] = pay
        left -= pay


@numba.njit(cache=True, nogil=True)
def _pay_pro_rata(cash: float, balances: Float64Array, out: Float64Array) -> None:
    """``_pro_rata`` of one path, into ``out``."""
    total = _sum(balances)
    paid = _min(cash, total)
    for k in range(balances.shape[0]):
        share = balances[k] / total if total > 0.0 else 0.0
        out[k] = _min(paid * share, balances[k])


@numba.njit(cache=True, nogil=True)
def _waterfall_kernel(
    interest_in: Float64Array,
    principal_in: Float64Array,
    defaulted_in: Float64Array,
    recoveries_in: Float64Array,
    coupons: Float64Array,
    opening: Float64Array,
    equity_usd: float,
    pool_usd: float,
    reserve_usd: float,
    reserve_pct: float,
    reserve_floor: float,
    oc: Float64Array,
    has_oc: BoolArray,
    ic: Float64Array,
    has_ic: BoolArray,
    pro_rata: bool,
    defer_junior: bool,
    interest_paid: Float64Array,
    principal_paid: Float64Array,
    written_off: Float64Array,
    interest_due: Float64Array,
    shortfall: Float64Array,
    balance: Float64Array,
    reserve_path: Float64Array,
    release: Float64Array,
    diverted: Float64Array,
    released_principal: Float64Array,
    failed: BoolArray,
    pool_loss: Float64Array,
) -> None:
    """``run_waterfall_reference``'s month loop on one path at a time: the same operations in
    the same order (outputs zeroed by the caller)."""
    n, months = interest_in.shape
    k_notes = coupons.shape[0]
    monthly = coupons / 12.0
    defer = np.ones(k_notes)
    defer[0] = 0.0
    notes = np.empty(k_notes)
    deferred = np.empty(k_notes)
    due = np.empty(k_notes)
    gap = np.empty(k_notes)
    from_interest = np.empty(k_notes)
    from_reserve = np.empty(k_notes)
    paid = np.empty(k_notes)
    catch_up = np.empty(k_notes)
    missed = np.empty(k_notes)
    turbo_paid = np.empty(k_notes)
    to_notes = np.empty(k_notes)
    from_reserve_principal = np.empty(k_notes)
    for p in range(n):
        notes[:] = opening
        deferred[:] = 0.0
        equity = equity_usd
        pool_bal = pool_usd
        reserve = reserve_usd
        loss = 0.0
        reserve_path[p, 0] = reserve
        for t in range(months):
            last = t == months - 1
            for k in range(k_notes):
                balance[p, t, k] = notes[k]
            balance[p, t, k_notes] = equity
            interest = interest_in[p, t]
            defaulted = defaulted_in[p, t]
            pool_bal = pool_bal - principal_in[p, t] - defaulted
            loss += defaulted - recoveries_in[p, t]
            if last:
                loss += _max(pool_bal, 0.0)
                pool_bal = 0.0
            pool_bal = _max(pool_bal, 0.0)
            # 2. Interest, then deferred interest.
            for k in range(k_notes):
                due[k] = notes[k] * monthly[k]
            _pay_sequential(interest, due, from_interest)
            for k in range(k_notes):
                gap[k] = due[k] - from_interest[k]
            _pay_sequential(reserve, gap, from_reserve)
            reserve = reserve - _sum(from_reserve)
            for k in range(k_notes):
                paid[k] = from_interest[k] + from_reserve[k]
            left = interest - _sum(from_interest)
            _pay_sequential(left, deferred, catch_up)
            left = left - _sum(catch_up)
            for k in range(k_notes):
                missed[k] = due[k] - paid[k]
                if defer_junior:
                    deferred[k] = deferred[k] - catch_up[k] + missed[k] * defer[k]
                else:
                    deferred[k] = deferred[k] - catch_up[k] + 0.0
                paid[k] = paid[k] + catch_up[k]
            # 3. Tests and the turbo.
            fail = False
            owed = 0.0
            owed_interest = 0.0
            for k in range(k_notes):
                owed = notes[k] if k == 0 else owed + notes[k]
                owed_interest = due[k] if k == 0 else owed_interest + due[k]
                if has_oc[k] and owed > 0.0 and pool_bal < oc[k] * owed:
                    fail = True
                if has_ic[k] and owed_interest > 0.0 and interest < ic[k] * owed_interest:
                    fail = True
            turbo = left if fail else 0.0
            _pay_sequential(turbo, notes, turbo_paid)
            for k in range(k_notes):
                notes[k] = notes[k] - turbo_paid[k]
            left = left - _sum(turbo_paid)
            # 4. Principal collected and recovered.
            cash = principal_in[p, t] + recoveries_in[p, t]
            if pro_rata and not fail:
                _pay_pro_rata(cash, notes, to_notes)
            else:
                _pay_sequential(cash, notes, to_notes)
            for k in range(k_notes):
                notes[k] = notes[k] - to_notes[k]
            cash = cash - _sum(to_notes)
            to_equity = _min(cash, equity)
            equity = equity - to_equity
            spare_principal = cash - to_equity
            # 5. The reserve to its target.
            target = _max(reserve_pct * pool_bal, reserve_floor) if _sum(notes) > 0.0 else 0.0
            top_up = 0.0 if fail else _min(left, _max(target - reserve, 0.0))
            reserve = reserve + top_up
            left = left - top_up
            excess = _max(reserve - target, 0.0)
            reserve = reserve - excess
            # 7. Legal final.
            if last:
                _pay_sequential(reserve, notes, from_reserve_principal)
                for k in range(k_notes):
                    notes[k] = notes[k] - from_reserve_principal[k]
                    turbo_paid[k] = turbo_paid[k] + from_reserve_principal[k]
                excess = excess + reserve - _sum(from_reserve_principal)
                reserve = 0.0
                for k in range(k_notes):
                    written_off[p, t, k] = notes[k]
                    notes[k] = 0.0
                written_off[p, t, k_notes] = equity
                equity = 0.0
            for k in range(k_notes):
                interest_due[p, t, k] = due[k]
                interest_paid[p, t, k] = paid[k]
                lost_now = missed[k] * (1.0 - defer[k]) if defer_junior else missed[k]
                shortfall[p, t, k] = lost_now + (deferred[k] if last else 0.0)
                principal_paid[p, t, k] = turbo_paid[k] + to_notes[k]
            principal_paid[p, t, k_notes] = to_equity
            reserve_path[p, t + 1] = reserve
            release[p, t] = left + excess + spare_principal
            diverted[p, t] = _sum(turbo_paid)
            released_principal[p, t] = spare_principal
            failed[p, t] = fail
        pool_loss[p] = loss


def run_waterfall(waterfall: Waterfall, pool: PoolCashFlows) -> WaterfallResult:
    """Run the waterfall on every path: a compiled loop over paths and months, the same
    floating-point operations in the same order as ``run_waterfall_reference`` (so the
    same result to the bit; ``tests/oracle/test_book_tranches_kernel.py``).

    Parameters
    ----------
    waterfall : Waterfall
        The classes, the principal rule and the reserve.
    pool : PoolCashFlows
        The pool's collections and defaults, USD, shape (path, month).

    Returns
    -------
    WaterfallResult
        Payments, write-offs and balances per path, month and class (USD).
    """
    n, months = pool.interest_usd.shape
    k_notes = len(waterfall.classes)
    coupons, opening, equity_usd = _opening(waterfall)
    oc = np.array([c.oc_trigger or 0.0 for c in waterfall.classes], dtype=np.float64)
    ic = np.array([c.ic_trigger or 0.0 for c in waterfall.classes], dtype=np.float64)
    has_oc = np.array([c.oc_trigger is not None for c in waterfall.classes], dtype=np.bool_)
    has_ic = np.array([c.ic_trigger is not None for c in waterfall.classes], dtype=np.bool_)
    shape3 = (n, months, k_notes + 1)
    res = WaterfallResult(
        interest_paid_usd=np.zeros(shape3),
        principal_paid_usd=np.zeros(shape3),
        written_off_usd=np.zeros(shape3),
        interest_due_usd=np.zeros(shape3),
        shortfall_usd=np.zeros(shape3),
        balance_usd=np.zeros(shape3),
        reserve_usd=np.zeros((n, months + 1)),
        equity_release_usd=np.zeros((n, months)),
        diverted_usd=np.zeros((n, months)),
        principal_released_usd=np.zeros((n, months)),
        test_failed=np.zeros((n, months), dtype=np.bool_),
        pool_loss_usd=np.zeros(n),
    )
    _waterfall_kernel(
        np.ascontiguousarray(pool.interest_usd, dtype=np.float64),
        np.ascontiguousarray(pool.principal_usd, dtype=np.float64),
        np.ascontiguousarray(pool.defaulted_usd, dtype=np.float64),
        np.ascontiguousarray(pool.recoveries_usd, dtype=np.float64),
        coupons,
        opening,
        equity_usd,
        float(waterfall.pool_balance_usd),
        float(waterfall.reserve_initial_usd),
        float(waterfall.reserve_target_pct),
        float(waterfall.reserve_floor_usd),
        oc,
        has_oc,
        ic,
        has_ic,
        waterfall.principal == "pro_rata",
        waterfall.defer_junior_interest,
        res.interest_paid_usd,
        res.principal_paid_usd,
        res.written_off_usd,
        res.interest_due_usd,
        res.shortfall_usd,
        res.balance_usd,
        res.reserve_usd,
        res.equity_release_usd,
        res.diverted_usd,
        res.principal_released_usd,
        res.test_failed,
        res.pool_loss_usd,
    )
    return res


@dataclass(frozen=True, slots=True)
class TrancheMetrics:
    """One class's risk figures (P measure when the pool paths are P paths).

    Attributes
    ----------
    name : str
        The class (``"equity"`` for the residual).
    attachment, detachment : float
        Pool loss fractions at which the class starts and stops losing, decimals of the pool.
    pd : float
        Share of paths in default: a missed interest payment on the senior class, or a
        principal loss or interest still unpaid at legal final on any class (the agencies'
        definition), decimal.
    el : float
        Mean principal written off plus interest unpaid, per unit of initial balance.
    wal_years : float
        Weighted average life of the expected principal paid, years.
    fair_spread, fair_spread_se : float or None
        The add-on over the risk-free rate at which the class's risky cash flows are worth
        par, solved on these paths (``credit.spread``), decimal a year; None for the equity.
    implied_rating : str
        The rating whose expected loss over the WAL is nearest the class's EL.
    fair_spread_q, fair_spread_q_se : float or None
        The fair spread under the pricing measure Q (``q_weights``), decimal a year; None
        when no Q weights were given.
    """

    name: str
    attachment: float
    detachment: float
    pd: float
    el: float
    wal_years: float
    fair_spread: float | None
    fair_spread_se: float | None
    implied_rating: str
    fair_spread_q: float | None = None
    fair_spread_q_se: float | None = None


def _with_coupon(waterfall: Waterfall, k: int, add_on: float) -> Waterfall:
    classes = list(waterfall.classes)
    classes[k] = replace(classes[k], coupon=classes[k].coupon + add_on)
    return replace(waterfall, classes=tuple(classes))


def _pv_per_path(
    res: WaterfallResult, k: int, discount: Float64Array, par: float, promised: bool
) -> Float64Array:
    """Per-path PV per unit of par of class ``k``: what it received, or (``promised``) what
    it was owed on the path's balance schedule (interest due, principal paid and written off)."""
    flow = res.principal_paid_usd[:, :, k] + (
        res.interest_due_usd[:, :, k] + res.written_off_usd[:, :, k]
        if promised
        else res.interest_paid_usd[:, :, k]
    )
    return np.asarray((flow * discount).sum(axis=1) / par, dtype=np.float64)


#: Class ``k``'s per-path PVs per unit of par at a coupon add-on (decimal a year): what it
#: was promised and what it received (``_pv_per_path``).
ClassRuns = Callable[[float], tuple[Float64Array, Float64Array]]


def _class_runs(
    waterfall: Waterfall, pool: PoolCashFlows, k: int, discount: Float64Array
) -> ClassRuns:
    """Class ``k``'s per-path PVs at each add-on from one waterfall run, kept: the promised
    and the received values come from the same run, and the P and Q solves and their
    standard errors evaluate some add-ons more than once."""
    par = waterfall.classes[k].balance_usd

    @functools.cache
    def runs(add_on: float) -> tuple[Float64Array, Float64Array]:
        res = run_waterfall(_with_coupon(waterfall, k, add_on), pool)
        promised = _pv_per_path(res, k, discount, par, True)
        return promised, _pv_per_path(res, k, discount, par, False)

    return runs


def _fair_spread(
    waterfall: Waterfall,
    pool: PoolCashFlows,
    k: int,
    discount: Float64Array,
    weights: Float64Array | None = None,
    runs: ClassRuns | None = None,
) -> SpreadSolution:
    """Class ``k``'s fair spread on these paths: unweighted (P), or under the measure of the
    path ``weights`` (self-normalised likelihood ratios, e.g. Q's), with its delta-method
    standard error (``credit.spread``); ``runs``, the class's kept waterfall runs
    (``_class_runs``), shared by the solves of one class on the same paths."""
    at = _class_runs(waterfall, pool, k, discount) if runs is None else runs
    w = np.ones(pool.interest_usd.shape[0]) if weights is None else weights
    big = float(w.sum())

    def pv(add_on: float, promised: bool) -> float:
        per_path = at(add_on)[0 if promised else 1]
        return float(np.mean(per_path)) if weights is None else float(w @ per_path) / big

    sol = solve_spreads(lambda x: pv(x, True), lambda x: pv(x, False), 1.0)
    if sol.fair_spread is None or sol.risky_add_on is None or sol.riskless_add_on is None:
        return sol
    if sol.risky_slope is None or sol.riskless_slope is None:
        return sol
    if sol.risky_slope <= 0.0 or sol.riskless_slope <= 0.0:
        return with_standard_error(sol, list)  # says why there is no standard error
    risky = at(sol.risky_add_on)[1]
    sure = at(sol.riskless_add_on)[0]
    if weights is None:
        terms = fair_spread_terms(sol, risky, sure)
    else:
        terms = weighted_fair_spread_terms(sol, risky, sure, w, big / len(w), 1.0)
    return with_standard_error(sol, lambda: [terms])


def evaluate_tranches(
    waterfall: Waterfall,
    pool: PoolCashFlows,
    discount: Float64Array,
    *,
    fair_spreads: bool = True,
    q_weights: Float64Array | None = None,
) -> tuple[TrancheMetrics, ...]:
    """Each class's PD, EL, WAL, attachment, detachment, fair spread and implied rating.

    Parameters
    ----------
    waterfall : Waterfall
        The structure at its written coupons.
    pool : PoolCashFlows
        The pool's cash flows per path and month, USD.
    discount : ndarray, shape (month,) or (path, month)
        Risk-free discount factor of each month's payment (end of month).
    fair_spreads : bool
        Solve each note's fair spread (a few waterfall runs each).
    q_weights : ndarray, shape (path,), optional
        The paths' likelihood ratios to the pricing measure Q (the pipeline's): each note's
        fair spread is then also solved under Q (``fair_spread_q``), the one to compare with
        market spreads. PD, EL, WAL and ``fair_spread`` stay real-world (P, unweighted).

    Returns
    -------
    tuple of TrancheMetrics
        The notes senior first, then the equity.
    """
    n, months = pool.interest_usd.shape
    df = np.broadcast_to(np.asarray(discount, dtype=np.float64), (n, months))
    if not np.all(np.isfinite(df)) or np.any(df <= 0.0):
        raise ValueError("discount factors must be finite and positive")
    if q_weights is not None:
        qw = np.asarray(q_weights, dtype=np.float64)
        if qw.shape != (n,) or not np.all(np.isfinite(qw)) or np.any(qw <= 0.0):
            raise ValueError(f"q_weights must be finite, positive, of shape ({n},)")
    res = run_waterfall(waterfall, pool)
    notes = [c.balance_usd for c in waterfall.classes]
    sizes = [*notes, waterfall.pool_balance_usd - math.fsum(notes)]
    names = [*(c.name for c in waterfall.classes), "equity"]
    years = (np.arange(months) + 1.0) / 12.0
    out: list[TrancheMetrics] = []
    for k, (name, size) in enumerate(zip(names, sizes, strict=True)):
        below = math.fsum(sizes[k + 1 :]) / waterfall.pool_balance_usd
        lost = res.written_off_usd[:, :, k].sum(axis=1)
        unpaid = res.shortfall_usd[:, :, k].sum(axis=1)
        default = lost > LOSS_TOLERANCE_USD
        if k == 0:
            default |= unpaid > LOSS_TOLERANCE_USD
        elif k < len(waterfall.classes):
            default |= res.shortfall_usd[:, -1, k] > LOSS_TOLERANCE_USD  # unpaid at legal final
        principal = res.principal_paid_usd[:, :, k].mean(axis=0)
        paid_total = float(principal.sum())
        wal = float(years @ principal) / paid_total if paid_total > 0.0 else 0.0
        el = float(np.mean(lost + unpaid)) / size if size > 0.0 else 0.0
        spread: float | None = None
        spread_se: float | None = None
        spread_q: float | None = None
        spread_q_se: float | None = None
        if fair_spreads and k < len(waterfall.classes):
            runs = _class_runs(waterfall, pool, k, df)
            sol = _fair_spread(waterfall, pool, k, df, runs=runs)
            spread, spread_se = sol.fair_spread, sol.fair_spread_se
            if q_weights is not None:
                sol_q = _fair_spread(waterfall, pool, k, df, qw, runs)
                spread_q, spread_q_se = sol_q.fair_spread, sol_q.fair_spread_se
        out.append(
            TrancheMetrics(
                name=name,
                attachment=below,
                detachment=below + size / waterfall.pool_balance_usd,
                pd=float(np.mean(default)),
                el=el,
                wal_years=wal,
                fair_spread=spread,
                fair_spread_se=spread_se,
                implied_rating=implied_rating_el(max(el, 0.0), max(wal, 1.0 / 12.0)),
                fair_spread_q=spread_q,
                fair_spread_q_se=spread_q_se,
            )
        )
    return tuple(out)
