"""The intercreditor waterfall of several facilities, vectorised over paths (loop over months).

Each month, on every path where the borrower has not defaulted:

0. A margin loan (``StructureTerms.margin``, a miner's), first: its step ``margin_ladder`` runs
   the LTV ladder (``margin_loan.ladder_step``; on every path, whatever the borrower's state)
   and may take cash (``max(cfads, 0)``) to cure a call or repay at maturity; the rest of the
   month sees the cash left. Its own default (a shortfall) is the borrower's in that month; a
   default of the borrower's other facilities accelerates it (``margin_loan.MarginLender``).
1. Draws of delayed-draw facilities fund GPU deliveries (the cash passes through to the
   vendor); each facility's interest accrues (coupons of notes are paid every
   ``coupon_every_months``), its scheduled principal falls due (the whole balance at its
   maturity), an asset-based loan's borrowing base is redetermined and a shortfall that has
   outlasted its cure period falls due too; a callable note is called when refinancing it is
   cheaper and the refinancing test passes; a convertible converts at maturity when the share
   price is above the conversion price.
2. An operating deficit (negative CFADS) is met from the lock-up account, then from the
   facilities' reserves in waterfall order.
3. The steps run in their order (``StepTerms``): ``interest`` and ``principal`` pay a facility
   from the cash left, then from the lock-up account, then from its own DSRA; what is still
   short is a payment default, or at maturity a refinancing if the test passes; ``reserve``
   tops a facility's DSRA up to its target; ``maintenance_reserve`` funds the maintenance
   reserve; ``sweep`` prepays a facility with a share of the cash left; ``distribute`` ends.
   ``payment_account`` sets aside, in a month between a facility's payment dates, 1/m of
   what it will owe on the next one (``payment_account_set_aside``); ``interest`` and
   ``principal`` are paid from that account first. A set-aside that falls short is no default.
   Once a facility is short on a path, later steps pay nothing there that month.
4. Covenants are tested on the paths still paying; a breach beyond its cure period triggers an
   event of default, a sweep of the cash left into the facility, or a lock-up. An event of
   default is waived by the covenant's ``WaiverTerms`` when the claims on the facility's pool
   ranking with or ahead of it (its own and those of the facilities secured by any of its
   cohorts; an unsecured one looks to the whole fleet), after the month's payments, are at most
   ``max_ltv`` of its pool's value and the facility has had fewer than ``max_waivers`` waivers
   (and the borrower does not default otherwise that month): as in ``waterfall.run_waterfall``,
   the fee is capitalised into the facility's balance and its rate steps up from the next
   month.
5. Any default accelerates every facility (cross-default). What is left is distributed, with
   lock-up cash released when no lock-up is in force and a repaid facility's reserve.

With one term loan and the default steps this is exactly ``waterfall.run_waterfall`` (an oracle
test holds the two to the same ledger).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from gpucredit._typing import BoolArray, Float64Array, Int64Array
from gpucredit.debt.facilities import (
    NEVER_OPEN,
    FacilityTerms,
    RefinancingTerms,
    StructureTerms,
)
from gpucredit.debt.ledger import LEDGER_MONTHLY_FIELDS, DebtLedger
from gpucredit.debt.margin_loan import MarginLender, MarginLoanLedger
from gpucredit.debt.schedule import scheduled_principal
from gpucredit.debt.terms import CovenantTerms

__all__ = ["StructureLedger", "payment_account_set_aside", "run_structure"]

CENT = 1e-6
#: Default kinds beyond ``ledger.DEFAULT_KINDS``' first four.
BORROWING_BASE = 4
CROSS_DEFAULT = 5


@dataclass(frozen=True, slots=True)
class StructureLedger:
    """What the structure's waterfall did, (path, month) unless stated.

    Attributes
    ----------
    facilities : tuple of DebtLedger
        One per facility, in the structure's order (``converted`` holds the value of shares
        a converting lender received).
    step_paid : (path, month, step) USD paid by each waterfall step.
    cfads, debt_service : deal CFADS and the scheduled debt service of all facilities.
    dscr : deal DSCR (CFADS / scheduled debt service; +inf with none; 0 once defaulted).
    lockup_balance, maintenance_balance : deal accounts at month end.
    distribution, unfunded_opex, trapped : as in ``DebtLedger``, for the deal.
    refinanced_debt : debt raised to refinance facilities, owed by the borrower.
    default_month : int (path,) the borrower's default month (0: none).
    estate_cash : (path,) lock-up, maintenance reserve and trapped cash at default.
    refinanced_claim : (path,) refinancing debt outstanding at default.
    share_price : (path, month) the path's share price (NaN without equity terms).
    margin, margin_facility : the margin loan's records and its ledger (``StructureTerms.margin``;
        None without one); ``cfads`` is then the cash left to the waterfall after its step.
    """

    facilities: tuple[DebtLedger, ...]
    step_paid: Float64Array
    cfads: Float64Array
    debt_service: Float64Array
    dscr: Float64Array
    lockup_balance: Float64Array
    maintenance_balance: Float64Array
    distribution: Float64Array
    unfunded_opex: Float64Array
    trapped: Float64Array
    refinanced_debt: Float64Array
    default_month: Int64Array
    estate_cash: Float64Array
    refinanced_claim: Float64Array
    share_price: Float64Array
    margin: MarginLoanLedger | None = None
    margin_facility: DebtLedger | None = None


def margin_inputs(
    structure: StructureTerms,
    shape: tuple[int, int],
    btc_usd: Float64Array | None,
    free_btc: Float64Array | None,
) -> tuple[Float64Array, Float64Array] | None:
    """The margin loan's inputs checked (both engines): ``(btc_usd, free_btc)`` as float
    arrays, or None without a margin loan."""
    if structure.margin is None:
        return None
    if btc_usd is None or free_btc is None:
        raise ValueError("a structure with a margin loan needs btc_usd and free_btc")
    btc = np.ascontiguousarray(btc_usd, dtype=np.float64)
    free = np.ascontiguousarray(free_btc, dtype=np.float64)
    if btc.shape != shape or free.shape != shape[:1]:
        raise ValueError(
            f"btc_usd must have the shape of cfads {shape} and free_btc ({shape[0]},), got "
            f"{btc.shape} and {free.shape}"
        )
    if not np.all(btc > 0.0) or not np.all(free >= 0.0):
        raise ValueError("btc_usd must be > 0 and free_btc >= 0 everywhere")
    return btc, free


@dataclass(slots=True)
class _State:
    """Running state of one facility, arrays of shape (path,)."""

    terms: FacilityTerms
    balance: Float64Array
    live: BoolArray
    dsra: Float64Array
    accrued: Float64Array
    refi: Float64Array  # debt raised to refinance or call this facility, owed by the borrower
    refi_spread: Float64Array
    last_regular: Float64Array
    counters: list[Int64Array]
    bb_counter: Int64Array
    step_up: Float64Array  # cumulated waiver step-ups, decimal per year
    waivers: Int64Array
    dspa: Float64Array  # the debt-service payment account
    #: Interest is capitalised before this month (interest during construction); None: never.
    pik_end: Int64Array | None = None


@dataclass(slots=True)
class _Due:
    """What one facility asks for this month, arrays of shape (path,)."""

    live: BoolArray
    open_balance: Float64Array
    interest: Float64Array  # the lender's: accrued interest paid this month, and fees
    accrued_part: Float64Array
    refi_interest: Float64Array  # on the refinancing debt, not the lender's
    principal: Float64Array
    regular: Float64Array  # interest + regular principal: the DSCR denominator
    reserve_basis: Float64Array  # the month's accrued interest + regular principal (DSRA target)
    mandatory: Float64Array  # borrowing-base prepayment within ``principal``
    final: bool
    called: BoolArray
    converted: Float64Array  # value of shares received on conversion
    premium: Float64Array  # call premium
    put: BoolArray | None = None  # the holders put the note this month (paid in cash)


#: Per-facility monthly ledger fields (the deal's lock-up, distribution and operating deficit
#: are shared and kept once), plus what a facility of a structure adds.
_DEAL_FIELDS = ("lockup_balance", "distribution", "unfunded_opex")
_MONTHLY = (
    *(f for f in LEDGER_MONTHLY_FIELDS if f not in _DEAL_FIELDS),
    "extra_received",
    "dspa_balance",
    "dspa_in",
    "dspa_draw",
)


def _scheduled(
    f: FacilityTerms, month: int, balance: Float64Array, i: Float64Array
) -> Float64Array:
    """Contractual principal of ``month``: per-draw schedules for a DDTL, else the loan's."""
    if f.draw_due is not None:
        if month >= f.tenor_months:
            return np.asarray(balance, dtype=np.float64)
        return np.asarray(np.minimum(f.draw_due[month - 1], balance), dtype=np.float64)
    return scheduled_principal(f.loan, month, balance, i)


def months_to_payment(f: FacilityTerms, month: int) -> int:
    """Months from ``month`` to the facility's next payment date (its maturity at the latest),
    for a month that is not a payment date."""
    every = f.coupon_every_months
    return min((month // every + 1) * every, f.tenor_months) - month


def payment_account_set_aside(
    accrued: Float64Array,
    open_balance: Float64Array,
    rate: Float64Array,
    account: Float64Array,
    avail: Float64Array,
    months_left: int,
) -> Float64Array:
    """The month's set-aside into a facility's debt-service payment account, USD, (path,).

    The next payment is the interest accrued to date (this month's included) plus
    ``months_left`` more months at this month's ``rate`` (decimal per month) on the open
    balance; principal falls due monthly in the engine, so it is paid as it falls due. What
    the account lacks of it is set aside in ``months_left + 1`` equal parts (this month's and
    the payment month's included), at most the cash ``avail``. ``compiled._set_aside`` is the
    same arithmetic, in the same order.
    """
    target = accrued + open_balance * rate * months_left
    need = np.maximum(target - account, 0.0)
    return np.asarray(np.minimum(avail, need / (months_left + 1)), dtype=np.float64)


def _ratio(num: Float64Array, den: Float64Array, empty: float) -> Float64Array:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.asarray(np.where(den > 0.0, num / np.where(den > 0.0, den, 1.0), empty))


def _growth_breach(
    cov: CovenantTerms,
    month: int,
    cum_cf: Float64Array,
    after: list[Float64Array],
    states: list[_State],
    cash_held: Float64Array,
) -> BoolArray:
    """A parent covenant's breach on each path (``engine._growth_covenant_breach`` runs the
    same operations in the same order).

    ``max_leverage``: the sum of every facility's balance after the month's payments (USD)
    above ``threshold`` (x) times the trailing ``window_months`` CFADS (``cum_cf``, the
    running sum laid out (month + 1, path)), once a full window has elapsed.
    ``min_liquidity``: every facility's DSRA and payment account plus ``cash_held`` (lock-up,
    maintenance reserve, opening liquidity) below ``threshold`` (USD).
    """
    n_paths = cash_held.shape[0]
    if cov.kind == "max_leverage":
        if month < cov.window_months:
            return np.zeros(n_paths, dtype=bool)
        debt = np.zeros(n_paths)
        for balance in after:
            debt = debt + balance
        return np.asarray(
            debt > cov.threshold * (cum_cf[month] - cum_cf[month - cov.window_months])
        )
    reserves = np.zeros(n_paths)
    for s in states:
        reserves = reserves + s.dsra
        reserves = reserves + s.dspa
    return np.asarray(reserves + cash_held < cov.threshold)


def _trailing(cum_cf: Float64Array, cum_ds: Float64Array, month: int, window: int) -> Float64Array:
    """Trailing-``window`` ratio of cumulative sums laid out (month + 1, path)."""
    lo = max(month - window, 0)
    return _ratio(cum_cf[month] - cum_cf[lo], cum_ds[month] - cum_ds[lo], np.inf)


def _refinancing_ok(
    f: FacilityTerms,
    claim: Float64Array,
    pool_value: Float64Array,
    trailing_dscr: Float64Array,
    open_market: BoolArray,
) -> BoolArray:
    """The refinancing test of ``f`` on each path (``RefinancingTerms``)."""
    r = f.refinancing
    ok = claim <= r.max_ltv * pool_value + CENT  # the claim includes the debt ranking ahead
    if r.min_dscr is not None:
        ok &= trailing_dscr >= r.min_dscr
    if r.needs_open_market:
        ok &= open_market
    return np.asarray(ok)


def _window_open(f: FacilityTerms, open_regime: BoolArray, open_enterprise: BoolArray) -> BoolArray:
    """Whether a maturity's refinancing finds the credit window open on each path: the
    structure's ``regime`` for a collateral test, the ``enterprise_window`` for an enterprise
    one (``RefinancingTerms.enterprise``)."""
    return open_enterprise if f.refinancing.enterprise else open_regime


def _refinancing_claim(
    f: FacilityTerms,
    claim: Float64Array,
    pool_value: Float64Array,
    firm_debt: Float64Array,
    ev: Float64Array,
) -> tuple[Float64Array, Float64Array]:
    """The claim and the value a maturity's refinancing test compares on each path, USD:
    the balloon and the debt ahead of it against ``f``'s collateral pool, or, with
    ``RefinancingTerms.enterprise``, all the firm's debt (the other facilities' balances at
    the month's start plus the balloon) against the market enterprise value floored at the
    pool."""
    if f.refinancing.enterprise:
        return firm_debt, np.asarray(np.maximum(ev, pool_value))
    return claim, pool_value


def _spread_now(f: FacilityTerms, open_market: BoolArray) -> Float64Array:
    tight, glut = f.refinancing.spread
    return np.where(open_market, tight, glut)


def _capitalise(s: _State, cap: BoolArray, open_balance: Float64Array) -> Float64Array:
    """Interest during construction, capitalised on the paths ``cap``: the month's accrued
    interest is added to the balance (PIK) and nothing is accrued; returns the open balance
    (the new balance there)."""
    s.balance = np.where(cap, s.balance + s.accrued, s.balance)
    s.accrued = np.where(cap, 0.0, s.accrued)
    return np.asarray(np.where(cap, s.balance, open_balance), dtype=np.float64)


def _soft_called(
    f: FacilityTerms, month: int, live: BoolArray, share_price: Float64Array | None
) -> BoolArray | None:
    """The paths on which a convertible's soft call converts it this month (before maturity,
    from ``soft_call_month``, share price above ``soft_call_trigger`` x the conversion price);
    None where the facility has no soft call in force."""
    cp = f.conversion_price_usd
    if cp is None or share_price is None or f.soft_call_month <= 0:
        return None
    if month < f.soft_call_month or month >= f.tenor_months:
        return None
    return np.asarray(live & (share_price > f.soft_call_trigger * cp))


def _put_exercised(
    f: FacilityTerms, month: int, live: BoolArray, share_price: Float64Array | None
) -> BoolArray | None:
    """The paths on which a convertible's holders put it this month (its put month, before
    maturity, parity below the put price); None where no put falls this month."""
    cp = f.conversion_price_usd
    if cp is None or share_price is None or f.put_month <= 0:
        return None
    if month != f.put_month or month >= f.tenor_months:
        return None
    return np.asarray(live & (share_price < f.put_price * cp))


def _new_service(
    gap: Float64Array, monthly_rate: Float64Array, r: RefinancingTerms
) -> Float64Array:
    """The first monthly service of the debt refinancing ``gap`` (USD): a level payment over
    ``r.new_tenor_months`` or, for a bullet, the interest alone."""
    if not r.new_level_payment:
        return np.asarray(gap * monthly_rate)
    growth = np.ones_like(gap)
    for _ in range(r.new_tenor_months):
        growth = growth * (1.0 + monthly_rate)
    level = np.where(
        monthly_rate > 0.0,
        gap * monthly_rate * growth / np.where(growth > 1.0, growth - 1.0, 1.0),
        gap / r.new_tenor_months,
    )
    return np.asarray(level)


def _maturity_refinancing(
    f: FacilityTerms,
    claim: Float64Array,
    gap: Float64Array,
    pool_value: Float64Array,
    trailing_dscr: Float64Array,
    open_market: BoolArray,
    sofr_t: Float64Array,
    cf_sum: Float64Array,
    cf_months: int,
) -> tuple[BoolArray, Float64Array]:
    """The test and spread of a balloon's refinancing on each path. Without a new facility
    (``new_tenor_months`` 0) today's ``_refinancing_ok`` and window spread; with one, the
    window's spread plus ``spread_per_ltv`` x (LTV - ``ltv_pivot``)+ (LTV = ``claim`` over the
    pool's value, at most ``max_ltv``), and ``min_dscr`` tested on the new service: the mean
    CFADS of the trailing ``cf_months`` months (``cf_sum``) against it."""
    r = f.refinancing
    if r.new_tenor_months <= 0:
        return _refinancing_ok(f, claim, pool_value, trailing_dscr, open_market), _spread_now(
            f, open_market
        )
    ok = claim <= r.max_ltv * pool_value + CENT
    if r.needs_open_market:
        ok &= open_market
    ltv = np.minimum(_ratio(claim, pool_value, r.max_ltv), r.max_ltv)
    spread = _spread_now(f, open_market) + r.spread_per_ltv * np.maximum(ltv - r.ltv_pivot, 0.0)
    service = _new_service(gap, (np.maximum(sofr_t, 0.0) + spread) / 12.0, r)
    if r.min_dscr is not None and cf_months > 0:
        ok &= cf_sum / cf_months >= r.min_dscr * service
    return np.asarray(ok), np.asarray(spread)


def _month_due(
    s: _State,
    month: int,
    ok: BoolArray,
    i: Float64Array,
    sofr_t: Float64Array,
    pool_value: Float64Array,
    trailing_dscr: Float64Array,
    open_market: BoolArray,
    share_price: Float64Array | None,
    ahead: Float64Array,
) -> _Due:
    f = s.terms
    n_paths = ok.shape[0]
    t = month - 1
    hit = f.draw_month == month
    if hit.any():
        drawn = float(f.draw_usd[hit].sum())
        s.balance = np.where(ok & s.live, s.balance + drawn, s.balance)
    live = s.live & ok
    open_balance = np.where(live, s.balance, 0.0)
    s.accrued = s.accrued + open_balance * i
    if s.pik_end is not None:
        open_balance = _capitalise(s, live & (month < s.pik_end), open_balance)
    final = month == f.tenor_months
    fee = np.zeros(n_paths)
    # the commitment ends with the facility's tenor, which may be shorter than the deal's grid
    if f.undrawn_usd is not None and f.commitment_fee > 0.0 and t < f.undrawn_usd.size:
        fee = np.where(live, f.undrawn_usd[t] * f.commitment_fee / 12.0, 0.0)

    called = np.zeros(n_paths, dtype=bool)
    premium = np.zeros(n_paths)
    if f.call_month.size and not final:
        on = f.call_month <= month
        if on.any():
            price = float(f.call_price[on][-1])
            coupon = f.loan.annual_rate(sofr_t) + s.step_up
            refi_rate = np.maximum(sofr_t, 0.0) + _spread_now(f, open_market)
            years_left = (f.tenor_months - month) / 12.0
            saving = (coupon - refi_rate) * years_left
            called = (
                live
                & (saving > price - 1.0)
                & _refinancing_ok(
                    f, ahead + open_balance * price, pool_value, trailing_dscr, open_market
                )
            )
            premium = np.where(called, open_balance * (price - 1.0), 0.0)

    pay_now = final or month % f.coupon_every_months == 0
    accrued_part = np.where(live & (pay_now | called), s.accrued, 0.0)
    principal = np.where(live & ~called, _scheduled(f, month, open_balance, i), 0.0)
    if final and (f.loan.amortisation in ("bullet", "schedule") or f.draw_due is not None):
        regular_principal = np.minimum(principal, s.last_regular)  # a balloon is not regular
    else:
        regular_principal = principal
    mandatory = np.zeros(n_paths)
    if f.advance_rate is not None:
        gap = np.maximum(open_balance - principal - f.advance_rate * pool_value, 0.0)
        s.bb_counter = np.where(live & (gap > CENT), s.bb_counter + 1, 0)
        mandatory = np.where(s.bb_counter > f.cure_months, gap, 0.0)
        principal = principal + mandatory
    converted = np.zeros(n_paths)
    if final and f.conversion_price_usd is not None and share_price is not None:
        converts = live & (share_price > f.conversion_price_usd)
        converted = np.where(converts, open_balance * share_price / f.conversion_price_usd, 0.0)
        principal = np.where(converts, 0.0, principal)
        regular_principal = np.where(converts, 0.0, regular_principal)
    soft = _soft_called(f, month, live, share_price)
    if soft is not None and share_price is not None and f.conversion_price_usd is not None:
        converted = np.where(soft, open_balance * share_price / f.conversion_price_usd, converted)
        principal = np.where(soft, 0.0, principal)
        regular_principal = np.where(soft, 0.0, regular_principal)
    puts = _put_exercised(f, month, live, share_price)
    if puts is not None:
        principal = np.where(puts, open_balance * f.put_price, principal)
    s.last_regular = np.where(live, regular_principal, s.last_regular)
    refi_interest = np.where(ok, s.refi * (np.maximum(sofr_t, 0.0) + s.refi_spread) / 12.0, 0.0)
    return _Due(
        live=live,
        open_balance=open_balance,
        interest=accrued_part + fee,
        accrued_part=accrued_part,
        refi_interest=refi_interest,
        principal=principal,
        regular=np.where(live, accrued_part + fee + regular_principal, 0.0),
        reserve_basis=np.where(live, open_balance * i + fee + regular_principal, 0.0),
        mandatory=mandatory,
        final=final,
        called=called,
        converted=converted,
        premium=premium,
        put=puts,
    )


def _any(masks: Iterable[BoolArray]) -> BoolArray:
    out: BoolArray | None = None
    for m in masks:
        out = m.copy() if out is None else out | m
    assert out is not None
    return out


def _total(arrays: Iterable[Float64Array]) -> Float64Array:
    out: Float64Array | None = None
    for a in arrays:
        out = np.array(a, dtype=np.float64) if out is None else out + a
    assert out is not None
    return out


def support_cap(cap_usd: float | None) -> float:
    """The parent guarantee's cap as the engines use it, USD: ``inf`` for none (unlimited)."""
    return math.inf if cap_usd is None else float(cap_usd)


def _parent_support(gap: Float64Array, left: Float64Array, on: BoolArray) -> Float64Array:
    """What the parent pays of each path's shortfall ``gap`` (USD): at most what is ``left``
    of its cap, where ``on`` (``engine._parent_support`` is the compiled one)."""
    return np.where(on, np.minimum(gap, left), 0.0)


def facility_order(structure: StructureTerms) -> list[int]:
    """Facilities in the order the waterfall first names them (then any unnamed)."""
    order: list[int] = []
    for step in structure.steps:
        if step.facility >= 0 and step.facility not in order:
            order.append(step.facility)
    return order + [k for k in range(len(structure.facilities)) if k not in order]


def run_structure(
    structure: StructureTerms,
    cfads: Float64Array,
    cohort_value: Float64Array,
    sofr: Float64Array,
    regime: np.ndarray | None = None,
    *,
    enterprise_value_usd: Float64Array | None = None,
    default_free: bool = False,
    external_default_month: Int64Array | None = None,
    opening_cash_usd: float = 0.0,
    btc_usd: Float64Array | None = None,
    free_btc: Float64Array | None = None,
    parent_support_end_month: Int64Array | None = None,
    parent_support_cap_usd: float | None = None,
    pik_end_month: Int64Array | None = None,
    share_price_usd: Float64Array | None = None,
    enterprise_window: np.ndarray | None = None,
) -> StructureLedger:
    """Run the structure's waterfall on one block of paths.

    Parameters
    ----------
    structure : StructureTerms
    cfads : ndarray, shape (path, month), USD per month
    cohort_value : ndarray, shape (path, month, cohort), USD at each month's end
    sofr : ndarray, shape (path, month), decimal per year
    regime : ndarray of int, shape (path, month), optional
        The credit market's refinancing window (``ScenarioSet.credit_window``): 0 open,
        1 shut; open throughout when omitted.
    enterprise_value_usd : ndarray, shape (path, month), optional
        The fleet value the share price follows (``EquityTerms``); the sum of
        ``cohort_value`` when omitted (the promised-cash-flow run passes the real one).
    default_free : bool
        The promised cash flows on the same path: every shortfall is met from outside (the
        lenders are paid in full; nothing defaults), covenants never accelerate, sweeps and
        lock-ups follow the path's cash. The fair-spread solver's riskless benchmark.
    external_default_month : ndarray of int, shape (path,), optional
        The borrower defaults on debt outside the structure in this month: every facility
        still outstanding is accelerated then (cross-default; the structure's own margin loan
        does this by its default, ``debt.margin_loan``).
    opening_cash_usd : float
        The borrower's cash on the as-of date: it meets shortfalls after the lock-up account
        and before the reserves, is never distributed while debt is outstanding, and goes to
        the estate at default (its draws are counted in ``lockup_draw``).
    btc_usd : ndarray, shape (path, month), optional
        Month-end BTC price, USD per BTC, > 0 (needed with ``structure.margin``).
    free_btc : ndarray, shape (path,), optional
        The borrower's BTC not pledged on the as-of date, BTC, >= 0 (with ``structure.margin``).
        The margin loan's step takes its cash from ``max(cfads, 0)``; the waterfall gets
        ``cfads`` less what it paid.
    parent_support_end_month : ndarray of int, shape (path,), optional
        The parent's guarantee (``ParentSpec.recourse``): in months before this one (its
        default month; ``n_months + 1`` when it does not default) what is still short of an
        interest or principal step after the facility's reserve is paid by the parent, until
        its payments reach ``parent_support_cap_usd`` (USD in all over the path; None:
        unlimited), and recorded in the facility's ``parent_support``. Not in the
        ``default_free`` run. None: no parent guarantee.
    parent_support_cap_usd : float, optional
    pik_end_month : ndarray of int, shape (path, facility), optional
        Interest during construction: before this month (1-based) a facility's accrued
        interest is added to its balance each month instead of being paid (``_capitalise``);
        None: never.
    share_price_usd : ndarray, shape (path, month), optional
        The path's share price, USD (``EquityTerms.model`` "diffusion",
        ``factors.equity.share_price_paths``); with equity terms it replaces the
        fleet-value share price.
    enterprise_window : ndarray of int, shape (path, month), optional
        The credit window the facilities refinanced against the enterprise value read
        (``RefinancingTerms.enterprise``): 0 open, 1 shut; ``regime`` when omitted.

    Returns
    -------
    StructureLedger
    """
    n_paths, n_all = cfads.shape
    facs = structure.facilities
    n_fac = len(facs)
    n = min(structure.n_months, n_all)
    margin_in = margin_inputs(structure, (n_paths, n_all), btc_usd, free_btc)
    # Month-major inside (month, path): each month reads and writes contiguous rows; the
    # ledger is transposed back to (path, month) at the end.
    shape = (n_all, n_paths)
    reg = (
        np.zeros(shape, dtype=np.int64)
        if regime is None
        else np.ascontiguousarray(np.asarray(regime, np.int64).T)
    )
    collateral = np.ascontiguousarray(cohort_value.sum(axis=2).T, dtype=np.float64)
    pool_values = [
        np.ascontiguousarray(
            cohort_value[:, :, list(f.pool) if f.pool else slice(None)].sum(axis=2).T,
            dtype=np.float64,
        )
        for f in facs
    ]
    # pledged real estate at its stabilised value joins the pool of what it secures
    pool_values = [
        p + f.real_estate_value_usd if f.real_estate_value_usd else p
        for p, f in zip(pool_values, facs, strict=True)
    ]
    # the facilities with a claim on each facility's pool ranking with or ahead of it (the
    # waiver's cover test); an unsecured facility looks to the whole fleet
    cohorts = [set(f.pool) if f.pool else set(range(cohort_value.shape[2])) for f in facs]
    sharing = [
        [j for j in range(n_fac) if facs[j].seniority <= f.seniority and cohorts[j] & cohorts[k]]
        for k, f in enumerate(facs)
    ]
    cfads_in = cfads
    cfads = np.array(cfads.T, dtype=np.float64, order="C")  # a copy: the margin step nets it
    sofr = np.ascontiguousarray(sofr.T, dtype=np.float64)
    lender: MarginLender | None = None
    if structure.margin is not None and margin_in is not None:
        lender = MarginLender(structure.margin, n_paths, n_all, margin_in[1], default_free)
        margin_btc = np.ascontiguousarray(margin_in[0].T)
        margin_rate = structure.margin.annual_rate(sofr)
    ranks = [f.seniority for f in facs]
    order = facility_order(structure)

    rec: list[dict[str, Float64Array]] = [{k: np.zeros(shape) for k in _MONTHLY} for _ in facs]
    alive_out = [np.zeros(shape, dtype=bool) for _ in facs]
    breach_out = [np.zeros(shape, dtype=bool) for _ in facs]
    step_paid = np.zeros((n_all, len(structure.steps), n_paths))
    deal_ds, deal_dscr, lk_out, mra_out = (np.zeros(shape) for _ in range(4))
    dist_out, unfunded_out, trapped_out, refi_out = (np.zeros(shape) for _ in range(4))
    share_out = np.full(shape, np.nan)

    cum_cf = np.zeros((n_all + 1, n_paths))  # filled month by month, after the margin step
    cum_deal_ds = np.zeros((n_all + 1, n_paths))
    cum_rank_ds = [np.zeros((n_all + 1, n_paths)) for _ in facs]  # senior and pari service
    monthly = [f.loan.annual_rate(sofr) / 12.0 for f in facs]

    states: list[_State] = []
    for k, f in enumerate(facs):
        bal = np.full(n_paths, f.loan.principal_usd)
        i0 = monthly[k][0]
        first = bal * i0 + (_scheduled(f, 1, bal, i0) if f.tenor_months > 1 else 0.0)
        states.append(
            _State(
                terms=f,
                balance=bal,
                live=np.ones(n_paths, dtype=bool),
                dsra=np.asarray(f.loan.dsra_months * first, dtype=np.float64),
                accrued=np.zeros(n_paths),
                refi=np.zeros(n_paths),
                refi_spread=np.zeros(n_paths),
                last_regular=np.zeros(n_paths),
                counters=[np.zeros(n_paths, dtype=np.int64) for _ in f.loan.covenants],
                bb_counter=np.zeros(n_paths, dtype=np.int64),
                step_up=np.zeros(n_paths),
                waivers=np.zeros(n_paths, dtype=np.int64),
                dspa=np.zeros(n_paths),
                pik_end=None
                if pik_end_month is None
                else np.ascontiguousarray(np.asarray(pik_end_month, dtype=np.int64)[:, k]),
            )
        )
    initial_dsra = [s.dsra.copy() for s in states]
    lockup, mra = np.zeros(n_paths), np.zeros(n_paths)
    liquidity = np.full(n_paths, float(opening_cash_usd))
    ok = np.ones(n_paths, dtype=bool)  # the borrower has not defaulted
    default_month = np.zeros(n_paths, dtype=np.int64)
    f_month = [np.zeros(n_paths, dtype=np.int64) for _ in facs]
    f_kind = [np.zeros(n_paths, dtype=np.int64) for _ in facs]
    f_ead = [np.zeros(n_paths) for _ in facs]
    f_pledged = [np.zeros(n_paths) for _ in facs]
    estate_cash, refi_claim = np.zeros(n_paths), np.zeros(n_paths)
    equity = structure.equity
    debt0 = sum(f.loan.principal_usd for f in facs)
    basis = (
        collateral
        if enterprise_value_usd is None
        else np.ascontiguousarray(np.asarray(enterprise_value_usd, dtype=np.float64).T)
    )
    v0 = basis[0].copy()
    supported = parent_support_end_month is not None
    support_end = (
        np.asarray(parent_support_end_month, dtype=np.int64)
        if supported
        else np.zeros(n_paths, dtype=np.int64)
    )
    support_left = np.full(n_paths, support_cap(parent_support_cap_usd))
    support_out = [np.zeros(shape) for _ in facs]
    share_path = (
        None
        if share_price_usd is None
        else np.ascontiguousarray(np.asarray(share_price_usd, dtype=np.float64).T)
    )

    needs_debt = equity is not None or any(f.refinancing.enterprise for f in facs)
    last_open = np.full(n_paths, -NEVER_OPEN, dtype=np.int64)  # the window's last open month
    last_open_e = last_open.copy()  # ... of the window the enterprise tests read
    reg_e = (
        reg
        if enterprise_window is None
        else np.ascontiguousarray(np.asarray(enterprise_window, np.int64).T)
    )
    for t in range(n_all if lender is not None else n):
        month = t + 1
        if lender is not None:  # the program's first step: the margin loan's ladder
            paydown, own_default = lender.ladder(
                t, margin_btc[t], np.maximum(cfads[t], 0.0), margin_rate[t]
            )
            cfads[t] = cfads[t] - paydown
            step_paid[t, 0] = paydown
        cum_cf[month] = cum_cf[month - 1] + cfads[t]
        if t >= n:
            continue
        open_market = reg[t] == 0
        last_open = np.where(open_market, month, last_open)
        open_e = reg_e[t] == 0
        last_open_e = np.where(open_e, month, last_open_e)
        share_price: Float64Array | None = None
        debt_now = (  # the firm's debt, summed only where something reads it
            sum((s.balance * s.live + s.refi for s in states), np.zeros(n_paths))
            if needs_debt
            else np.zeros(n_paths)
        )
        # the market enterprise value, USD: the equity's market value plus the debt (0 without
        # equity terms, when an enterprise refinancing test sees the pool only)
        ev_now = np.zeros(n_paths)
        if equity is not None and share_path is not None:
            share_price = share_path[t]
            share_out[t] = share_price
            ev_now = share_price * equity.shares_outstanding + debt_now
        elif equity is not None:
            ev = (equity.market_cap_usd + debt0) * _ratio(basis[t], v0, 0.0)
            share_price = np.maximum(ev - debt_now, 0.0) / equity.shares_outstanding
            share_out[t] = share_price
            ev_now = ev
        trailing_deal = (
            _trailing(cum_cf, cum_deal_ds, month - 1, 12) if month > 1 else np.full(n_paths, np.inf)
        )
        pools = [pool_values[k][t] for k in range(n_fac)]
        # debt ranking strictly ahead of each facility at the month's start (refinancing tests)
        start_balance = [np.where(st.live & ok, st.balance, 0.0) for st in states]
        ahead = [
            _total([np.zeros(n_paths)] + [b for j, b in enumerate(start_balance) if ranks[j] < r])
            for r in ranks
        ]
        rates = [monthly[k][t] + s.step_up / 12.0 for k, s in enumerate(states)]
        due = [
            _month_due(
                s,
                month,
                ok,
                rates[k],
                sofr[t],
                pools[k],
                trailing_deal,
                open_market,
                share_price,
                ahead[k],
            )
            for k, s in enumerate(states)
        ]
        for k, d in enumerate(due):
            alive_out[k][t] = d.live
            rec[k]["interest_due"][t] = d.open_balance * rates[k]
            rec[k]["ds_scheduled"][t] = d.regular
            rec[k]["extra_received"][t] = d.converted + d.premium

        # Operating deficit: the lock-up account, then the reserves in waterfall order.
        active = ok & _any(d.live for d in due) | ok & (_total(s.refi for s in states) > 0.0)
        cash = np.where(active, cfads[t], 0.0)
        deficit = np.maximum(-cash, 0.0)
        avail = np.maximum(cash, 0.0)
        lk_draw = [np.zeros(n_paths) for _ in facs]
        ds_draw = [np.zeros(n_paths) for _ in facs]
        take = np.minimum(deficit, lockup)
        lockup, deficit = lockup - take, deficit - take
        more = np.where(active, np.minimum(deficit, liquidity), 0.0)
        liquidity, deficit = liquidity - more, deficit - more
        if n_fac:
            lk_draw[order[0]] += take + more
        for k in order:
            take = np.minimum(deficit, states[k].dsra)
            states[k].dsra, deficit = states[k].dsra - take, deficit - take
            ds_draw[k] += take
        unfunded_out[t] = np.where(active, deficit, 0.0)

        # The steps.
        stop = np.zeros(n_paths, dtype=bool)  # a facility was short: nothing more is paid
        got_int = [np.zeros(n_paths) for _ in facs]
        got_prin = [np.zeros(n_paths) for _ in facs]
        refinanced = [np.zeros(n_paths) for _ in facs]
        kind = [np.zeros(n_paths, dtype=np.int64) for _ in facs]
        swept = [np.zeros(n_paths) for _ in facs]
        for j, step in enumerate(structure.steps):
            k = step.facility
            if step.kind in ("interest", "principal"):
                s, d = states[k], due[k]
                ask = d.interest + d.refi_interest if step.kind == "interest" else d.principal
                ask = np.where(ok & ~stop, ask, 0.0)
                from_account = np.minimum(ask, s.dspa)  # the payment account pays first
                s.dspa = s.dspa - from_account
                rec[k]["dspa_draw"][t] += from_account
                rest = ask - from_account
                pay = np.minimum(avail, rest)
                avail = avail - pay
                gap = rest - pay
                take = np.minimum(gap, lockup)
                lockup, gap, lk_draw[k] = lockup - take, gap - take, lk_draw[k] + take
                take = np.minimum(gap, liquidity)
                liquidity, gap, lk_draw[k] = liquidity - take, gap - take, lk_draw[k] + take
                take = np.minimum(gap, s.dsra)
                s.dsra, gap, ds_draw[k] = s.dsra - take, gap - take, ds_draw[k] + take
                if supported:
                    take = _parent_support(
                        gap, support_left, (not default_free) & (month < support_end)
                    )
                    gap = gap - take
                    support_left = support_left - take
                    support_out[k][t] += take
                if structure.unfunded_opex_defaults:
                    short = gap + unfunded_out[t] > CENT
                else:
                    short = gap > CENT
                if default_free:
                    short = np.zeros(n_paths, dtype=bool)
                got = ask - np.where(short, gap, 0.0)
                if step.kind == "interest":
                    got_int[k] += got
                    # in the final month a shortfall is a default at maturity, whichever of
                    # the payments it falls on (as the single-loan waterfall counts it)
                    code = np.full(n_paths, 3 if d.final else 1, dtype=np.int64)
                elif d.final:
                    can = short & (gap <= d.principal + CENT)
                    lo = max(month - 1 - 12, 0)
                    test_claim, test_value = _refinancing_claim(
                        s.terms,
                        ahead[k] + gap,
                        pools[k],
                        debt_now - start_balance[k] + gap,
                        ev_now,
                    )
                    refi_ok, refi_spread = _maturity_refinancing(
                        s.terms,
                        test_claim,
                        gap,
                        test_value,
                        trailing_deal,
                        _window_open(
                            s.terms,
                            open_market | (month - last_open < s.terms.refinancing.window_months),
                            open_e | (month - last_open_e < s.terms.refinancing.window_months),
                        ),
                        sofr[t],
                        cum_cf[month - 1] - cum_cf[lo],
                        month - 1 - lo,
                    )
                    can &= refi_ok
                    refinanced[k] = np.where(can, gap, 0.0)
                    s.refi = s.refi + refinanced[k]
                    s.refi_spread = np.where(can, refi_spread, s.refi_spread)
                    got = got + refinanced[k]
                    short &= ~can
                    got_prin[k] += got
                    code = np.full(n_paths, 3, dtype=np.int64)
                else:
                    got_prin[k] += got
                    bb = (d.mandatory > 0.0) & (gap > d.principal - d.mandatory + CENT)
                    code = np.where(bb, BORROWING_BASE, 1)
                kind[k] = np.where(short & (kind[k] == 0), code, kind[k])
                stop |= short
                step_paid[t, j] = got
            elif step.kind == "reserve":
                s, d = states[k], due[k]
                if d.final:
                    continue
                # on accrual: a semi-annual coupon month does not raise the target six-fold
                room = np.maximum(s.terms.loan.dsra_months * d.reserve_basis - s.dsra, 0.0)
                top = np.where(d.live & ~stop, np.minimum(avail, room), 0.0)
                s.dsra, avail = s.dsra + top, avail - top
                rec[k]["dsra_topup"][t] += top
                step_paid[t, j] = top
            elif step.kind == "maintenance_reserve":
                room = np.maximum(step.target_usd - mra, 0.0)
                top = np.where(
                    ok & ~stop, np.minimum(np.minimum(avail, step.usd_per_month), room), 0.0
                )
                mra, avail = mra + top, avail - top
                step_paid[t, j] = top
            elif step.kind == "sweep":
                d = due[k]
                left = np.maximum(d.open_balance - got_prin[k] - swept[k], 0.0)
                sweep = np.where(d.live & ~stop, np.minimum(avail * step.share, left), 0.0)
                swept[k] += sweep
                avail = avail - sweep
                step_paid[t, j] = sweep
            elif step.kind == "payment_account":
                s, d = states[k], due[k]
                fk = s.terms
                if d.final or month > fk.tenor_months or month % fk.coupon_every_months == 0:
                    continue
                on = d.live & ~stop & ~d.called
                put = payment_account_set_aside(
                    s.accrued,
                    d.open_balance,
                    rates[k],
                    s.dspa,
                    avail,
                    months_to_payment(s.terms, month),
                )
                put = np.where(on, put, 0.0)
                s.dspa, avail = s.dspa + put, avail - put
                rec[k]["dspa_in"][t] += put
                step_paid[t, j] = put

        # Balances after payment; lender interest vs refinancing-debt interest.
        for k, (s, d) in enumerate(zip(states, due, strict=True)):
            lender_int = np.minimum(got_int[k], d.interest)
            s.accrued = np.where(
                d.live,
                np.maximum(s.accrued - np.minimum(lender_int, d.accrued_part), 0.0),
                s.accrued,
            )
            paid_prin = np.where(d.called, d.open_balance, got_prin[k])
            s.balance = np.where(d.live, d.open_balance - paid_prin - swept[k], s.balance)
            s.refi = s.refi + np.where(d.called, d.open_balance + d.premium, 0.0)
            s.refi_spread = np.where(d.called, _spread_now(s.terms, open_market), s.refi_spread)
            rec[k]["interest_paid"][t] = lender_int
            rec[k]["principal_paid"][t] = paid_prin
            rec[k]["prepaid"][t] = swept[k]
            rec[k]["refinanced"][t] = refinanced[k] + np.where(d.called, d.open_balance, 0.0)
            rec[k]["dsra_draw"][t] = ds_draw[k]
            rec[k]["lockup_draw"][t] = lk_draw[k]
            if d.converted.any():
                s.balance = np.where(d.converted > 0.0, 0.0, s.balance)
            if d.put is not None:  # a put paid in full leaves nothing owed
                s.balance = np.where(d.put & (got_prin[k] >= d.principal - CENT), 0.0, s.balance)

        # Covenants, on the paths where nothing was short.
        month_ds = sum((d.regular for d in due), np.zeros(n_paths))
        deal_ds[t] = np.where(ok, month_ds, 0.0)
        cum_deal_ds[month] = cum_deal_ds[month - 1] + deal_ds[t]
        paying = ok & ~stop
        sweep_on = [np.zeros(n_paths, dtype=bool) for _ in facs]
        lock_on = np.zeros(n_paths, dtype=bool)
        # claims with or ahead of each facility after the month's payments (waiver test)
        after = [np.where(d.live, s.balance, 0.0) for s, d in zip(states, due, strict=True)]
        waivable: list[list[tuple[Int64Array, BoolArray]]] = [[] for _ in facs]
        fees = [np.zeros(n_paths) for _ in facs]
        steps = [np.zeros(n_paths) for _ in facs]
        for k, (s, d) in enumerate(zip(states, due, strict=True)):
            rank_ds = sum(
                (due[j].regular for j in range(n_fac) if ranks[j] <= ranks[k]), np.zeros(n_paths)
            )
            cum_rank_ds[k][month] = cum_rank_ds[k][month - 1] + rank_ds
            claims = sum(
                (due[j].open_balance for j in range(n_fac) if ranks[j] <= ranks[k]),
                np.zeros(n_paths),
            )
            ltv = _ratio(claims, pools[k], np.inf)
            dscr = _ratio(cash, rank_ds, np.inf)
            cov_dscr = next((c for c in s.terms.loan.covenants if c.kind == "min_dscr"), None)
            trailing = (
                _trailing(cum_cf, cum_rank_ds[k], month, cov_dscr.window_months)
                if cov_dscr is not None
                else dscr
            )
            rec[k]["dscr"][t] = np.where(d.live, dscr, 0.0)
            rec[k]["dscr_trailing"][t] = np.where(d.live, trailing, 0.0)
            rec[k]["ltv"][t] = np.where(d.live, ltv, 0.0)
            testable = paying & d.live & (not d.final)
            any_breach = np.zeros(n_paths, dtype=bool)
            eod = np.zeros(n_paths, dtype=bool)
            covered = sum((after[j] for j in sharing[k]), np.zeros(n_paths))
            for cov, counter in zip(s.terms.loan.covenants, s.counters, strict=True):
                if cov.kind == "min_dscr":
                    if month < cov.window_months:
                        breach = np.zeros(n_paths, dtype=bool)
                    else:
                        lo = month - cov.window_months
                        tr_cf = cum_cf[month] - cum_cf[lo]
                        tr_ds = cum_rank_ds[k][month] - cum_rank_ds[k][lo]
                        breach = testable & (tr_cf < cov.threshold * tr_ds)
                elif cov.kind == "max_ltv":
                    breach = testable & (ltv > cov.threshold)
                else:
                    breach = testable & _growth_breach(
                        cov, month, cum_cf, after, states, lockup + mra + liquidity
                    )
                counter[:] = np.where(breach, counter + 1, 0)
                any_breach |= breach
                hit = breach & (counter > cov.cure_period_months)
                if cov.consequence == "event_of_default" and not default_free:
                    rule = cov.waiver
                    if rule is None:
                        eod |= hit
                    else:
                        can = hit & (covered <= rule.max_ltv * pools[k])
                        can &= s.waivers < rule.max_waivers
                        eod |= hit & ~can
                        waivable[k].append((counter, can))
                        fees[k] = np.maximum(fees[k], np.where(can, rule.fee, 0.0))
                        steps[k] = np.maximum(steps[k], np.where(can, rule.step_up, 0.0))
                elif cov.consequence == "cash_sweep":
                    sweep_on[k] |= hit
                else:
                    lock_on |= hit
            kind[k] = np.where(eod & (kind[k] == 0), 2, kind[k])
            breach_out[k][t] = any_breach
        deal_dscr[t] = np.where(ok, _ratio(cash, month_ds, np.inf), 0.0)

        # Cross-default: any facility's default is the borrower's.
        now = np.zeros(n_paths, dtype=bool)
        for k in range(n_fac):
            now |= kind[k] > 0
        if external_default_month is not None and not default_free:
            now |= external_default_month == month
        if lender is not None and not default_free:
            now |= own_default
        # once every facility is repaid, debt raised to refinance them is another lender's:
        # a default on it is not the deal's
        now &= ok & _any(s.live for s in states)
        if lender is not None:
            lender.cross_default(t, now)

        # Waivers, on the paths where the borrower does not default this month.
        for k, s in enumerate(states):
            waived = np.zeros(n_paths, dtype=bool)
            for _, can in waivable[k]:
                waived |= can
            waived &= ~now
            for counter, can in waivable[k]:
                counter[:] = np.where(waived & can, 0, counter)
            s.balance = np.where(waived, s.balance + s.balance * fees[k], s.balance)
            s.step_up = np.where(waived, s.step_up + steps[k], s.step_up)
            s.waivers = s.waivers + waived
        trapped = np.where(now, avail, 0.0)
        avail = np.where(now, 0.0, avail)
        for k, (s, d) in enumerate(zip(states, due, strict=True)):
            hit = now & s.live
            code = np.where(kind[k] > 0, kind[k], CROSS_DEFAULT)
            f_month[k] = np.where(hit, month, f_month[k])
            f_kind[k] = np.where(hit, code, f_kind[k])
            unpaid = np.maximum(d.interest - np.minimum(got_int[k], d.interest), 0.0)
            f_ead[k] = np.where(hit, np.maximum(s.balance, 0.0) + unpaid, f_ead[k])
            f_pledged[k] = np.where(hit, s.dsra + s.dspa, f_pledged[k])
            rec[k]["trapped"][t] = np.where(hit, trapped, 0.0) if k == order[0] else 0.0
        estate_cash = np.where(now, lockup + mra + liquidity + trapped, estate_cash)
        refi_claim = np.where(now, sum((s.refi for s in states), np.zeros(n_paths)), refi_claim)
        default_month = np.where(now, month, default_month)
        trapped_out[t] = trapped

        # Covenant sweeps (senior first), lock-up, releases, distribution.
        going = ok & ~now
        for k in sorted(range(n_fac), key=lambda j: ranks[j]):
            s = states[k]
            sweep = np.where(
                going & sweep_on[k] & due[k].live,
                np.minimum(avail, np.maximum(s.balance, 0.0)),
                0.0,
            )
            s.balance, avail = s.balance - sweep, avail - sweep
            rec[k]["prepaid"][t] += sweep
        any_sweep = np.zeros(n_paths, dtype=bool)
        for k in range(n_fac):
            any_sweep |= sweep_on[k]
        to_lock = np.where(going & lock_on & ~any_sweep, avail, 0.0)
        avail, lockup = avail - to_lock, lockup + to_lock
        release_lockup = np.where(going & ~lock_on, lockup, 0.0)
        release = release_lockup.copy()
        lockup = lockup - release
        if n_fac:
            rec[order[0]]["lockup_in"][t] = to_lock
        still = np.zeros(n_paths, dtype=bool)
        for k, (s, d) in enumerate(zip(states, due, strict=True)):
            drawn = month >= s.terms.last_draw_month
            repaid = going & d.live & (d.final | (s.balance <= CENT) & drawn | d.called)
            gone = repaid | (now & s.live)
            release_k = np.where(repaid, s.dsra + s.dspa, 0.0)
            rec[k]["reserve_release"][t] = release_k
            release = release + release_k
            s.dsra = np.where(gone, 0.0, s.dsra)
            s.dspa = np.where(gone, 0.0, s.dspa)
            s.balance = np.where(gone, 0.0, s.balance)
            s.live = s.live & ~gone
            still |= s.live
            rec[k]["balance"][t] = s.balance
            rec[k]["dsra_balance"][t] = s.dsra
            rec[k]["dspa_balance"][t] = s.dspa
        last = going & ~still
        deal_release = release_lockup + np.where(last, lockup + mra + liquidity, 0.0)
        release = release + np.where(last, lockup + mra + liquidity, 0.0)
        if n_fac:  # the deal accounts' releases are shown with the first facility paid
            rec[order[0]]["reserve_release"][t] += deal_release
        lockup = np.where(last | now, 0.0, lockup)
        mra = np.where(last | now, 0.0, mra)
        liquidity = np.where(last | now, 0.0, liquidity)
        dist_out[t] = np.where(going & active, avail + release, 0.0)
        lk_out[t] = lockup
        mra_out[t] = mra
        refi_out[t] = sum((s.refi for s in states), np.zeros(n_paths)) * ok
        ok = ok & ~now
        for s in states:
            s.refi = np.where(ok, s.refi, 0.0)

    def back(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a.T)

    rec = [{name: back(a) for name, a in r.items()} for r in rec]
    alive_out = [back(a) for a in alive_out]
    breach_out = [back(a) for a in breach_out]
    lk_out, dist_out, unfunded_out = back(lk_out), back(dist_out), back(unfunded_out)
    ledgers = tuple(
        DebtLedger(
            alive=alive_out[k],
            balance=rec[k]["balance"],
            interest_due=rec[k]["interest_due"],
            interest_paid=rec[k]["interest_paid"],
            principal_paid=rec[k]["principal_paid"],
            prepaid=rec[k]["prepaid"],
            refinanced=rec[k]["refinanced"],
            ds_scheduled=rec[k]["ds_scheduled"],
            dsra_balance=rec[k]["dsra_balance"],
            dsra_draw=rec[k]["dsra_draw"],
            dsra_topup=rec[k]["dsra_topup"],
            lockup_balance=lk_out,
            lockup_draw=rec[k]["lockup_draw"],
            lockup_in=rec[k]["lockup_in"],
            reserve_release=rec[k]["reserve_release"],
            distribution=dist_out,
            trapped=rec[k]["trapped"],
            unfunded_opex=unfunded_out,
            dscr=rec[k]["dscr"],
            dscr_trailing=rec[k]["dscr_trailing"],
            ltv=rec[k]["ltv"],
            breach=breach_out[k],
            default_month=f_month[k],
            default_kind=f_kind[k],
            ead=f_ead[k],
            pledged_cash=f_pledged[k],
            initial_dsra=initial_dsra[k],
            waivers=states[k].waivers,
            extra_received=rec[k]["extra_received"],
            dspa_balance=rec[k]["dspa_balance"],
            dspa_in=rec[k]["dspa_in"],
            dspa_draw=rec[k]["dspa_draw"],
            parent_support=back(support_out[k]) if supported else None,
        )
        for k in range(n_fac)
    )
    margin, margin_facility = (None, None) if lender is None else lender.ledgers()
    return StructureLedger(
        facilities=ledgers,
        step_paid=np.ascontiguousarray(np.transpose(step_paid, (2, 0, 1))),
        cfads=np.asarray(cfads_in, dtype=np.float64) if lender is None else back(cfads),
        debt_service=back(deal_ds),
        dscr=back(deal_dscr),
        lockup_balance=lk_out,
        maintenance_balance=back(mra_out),
        distribution=dist_out,
        unfunded_opex=unfunded_out,
        trapped=back(trapped_out),
        refinanced_debt=back(refi_out),
        default_month=default_month,
        estate_cash=estate_cash,
        refinanced_claim=refi_claim,
        share_price=back(share_out),
        margin=margin,
        margin_facility=margin_facility,
    )
