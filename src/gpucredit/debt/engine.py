"""The structure's waterfall compiled: one numba loop over paths and months runs the steps.

A miner's margin loan (``StructureTerms.margin``) is the program's first step each month:
``_ladder_month`` is the numba twin of ``margin_loan.ladder_step`` on one path, and the kernel
keeps the lender's record as ``margin_loan.MarginLender`` does.

``run_structure_compiled`` does what ``structure.run_structure`` does (that NumPy function is
the readable oracle; ``tests/oracle/test_compiled_structure.py`` holds the two to the same
ledger, field by field). The structure is encoded once per call into plain typed arrays (the
facilities' terms, each covenant's, the waterfall's steps as integer codes with a facility
index and their parameters), and one compiled kernel (``nogil``, so blocks run on all cores)
interprets that program for every path: month by month, the same operations in the same order
as the oracle, on scalars held per facility.

Whatever the NumPy engine reduces over cohorts (the pools' values, the fleet's) or derives from
SOFR alone (each facility's all-in coupon) is computed here by the same NumPy expressions before
the loop, so the two engines agree to the last bit.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import replace

import numba
import numpy as np

from gpucredit._typing import Float64Array, Int64Array
from gpucredit.debt.facilities import (
    NEVER_OPEN,
    FacilityTerms,
    RefinancingTerms,
    StructureTerms,
    default_steps,
)
from gpucredit.debt.ledger import LEDGER_MONTHLY_FIELDS, DebtLedger
from gpucredit.debt.margin_loan import (
    ACCELERATED,
    CASH_TOL_USD,
    LIQUIDATED,
    MONTHLY_FIELDS,
    MarginLoanLedger,
    margin_debt_ledger,
)
from gpucredit.debt.schedule import annuity_factor
from gpucredit.debt.structure import (
    BORROWING_BASE,
    CENT,
    CROSS_DEFAULT,
    StructureLedger,
    facility_order,
    margin_inputs,
    run_structure,
    support_cap,
)
from gpucredit.debt.terms import LoanTerms

__all__ = ["STEP_CODES", "loan_structure", "pool_values", "run_loan", "run_structure_compiled"]

#: Integer code of each ``StepTerms.kind`` in the compiled program.
STEP_CODES = {
    "margin_ladder": 6,  # run before the waterfall's steps, at the month's start
    "interest": 0,
    "principal": 1,
    "reserve": 2,
    "maintenance_reserve": 3,
    "sweep": 4,
    "distribute": 5,
    "payment_account": 7,
}
_AMORT = {"level_payment": 0, "straight_line": 1, "bullet": 2, "schedule": 3}
_CONSEQUENCE = {"event_of_default": 0, "cash_sweep": 1, "lock_up": 2}

# Per-facility monthly float fields, in the kernel's output order.
_FIELDS = (
    "balance",
    "interest_due",
    "interest_paid",
    "principal_paid",
    "prepaid",
    "refinanced",
    "ds_scheduled",
    "dsra_balance",
    "dsra_draw",
    "dsra_topup",
    "lockup_draw",
    "lockup_in",
    "reserve_release",
    "dscr",
    "trapped",
    "dscr_trailing",
    "ltv",
    "extra_received",
    "dspa_balance",
    "dspa_in",
    "dspa_draw",
    "parent_support",  # what the parent paid of the shortfall under its guarantee
)
(
    _BAL,
    _INT_DUE,
    _INT_PAID,
    _PRIN_PAID,
    _PREPAID,
    _REFI,
    _DS_SCHED,
    _DSRA_BAL,
    _DSRA_DRAW,
    _DSRA_TOP,
    _LK_DRAW,
    _LK_IN,
    _RELEASE,
    _DSCR,
    _TRAPPED,
    _DSCR_TR,
    _LTV,
    _EXTRA,
    _DSPA_BAL,
    _DSPA_IN,
    _DSPA_DRAW,
    _PSUP,
) = range(len(_FIELDS))
# Deal monthly float fields.
_DEAL_FIELDS = (
    "debt_service",
    "dscr",
    "lockup_balance",
    "maintenance_balance",
    "distribution",
    "unfunded_opex",
    "trapped",
    "refinanced_debt",
    "share_price",
)
_D_DS, _D_DSCR, _D_LK, _D_MRA, _D_DIST, _D_UNF, _D_TRAP, _D_REFI, _D_SHARE = range(9)
# Per-facility per-path float fields.
_F_EAD, _F_PLEDGED, _F_DSRA0 = range(3)
# Per-facility per-path int fields.
_F_MONTH, _F_KIND, _F_WAIVERS = range(3)
# Deal per-path float fields.
_E_ESTATE, _E_REFI = range(2)
# The margin loan's monthly float fields (``MarginLoanLedger``'s, then its masked LTV), bool
# fields, per-path float and int fields, and terms.
_M_FIELDS = (
    "balance_usd",
    "interest_usd",
    "ltv_before",
    "ltv_after",
    "top_up_btc",
    "cash_paydown_usd",
    "liquidated_btc",
    "liquidation_proceeds_usd",
    "penalty_usd",
    "shortfall_usd",
    "pledged_btc",
    "free_btc",
    "received_usd",
    "ltv",
)
(
    _M_BAL,
    _M_INT,
    _M_LTV0,
    _M_LTV1,
    _M_TOP,
    _M_PAID,
    _M_SOLD,
    _M_PROC,
    _M_PEN,
    _M_SHORT,
    _M_PLEDGED,
    _M_FREE,
    _M_RECEIVED,
    _M_LTV,
) = range(len(_M_FIELDS))
_MB_CALL, _MB_SOLD, _MB_ALIVE = range(3)
_MP_EAD, _MP_REC = range(2)
_MI_SHORT, _MI_MONTH, _MI_KIND = range(3)
_MT_PRINCIPAL, _MT_PLEDGE, _MT_TOP, _MT_CALL, _MT_LIQ, _MT_PEN = range(6)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _set_aside(
    accrued: float, ob: float, rate: float, account: float, avail: float, months_left: int
) -> float:
    """``structure.payment_account_set_aside`` on one path: the same operations in order."""
    target = accrued + ob * rate * months_left
    need = max(target - account, 0.0)
    return min(avail, need / (months_left + 1))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _record(out: Float64Array, slot: Int64Array, field: int, p: int, t: int, value: float) -> None:
    """``out[slot[field], p, t] = value`` where the field is recorded (``slot`` >= 0)."""
    j = slot[field]
    if j >= 0:
        out[j, p, t] = value


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _ladder_month(
    balance: float,
    pledged: float,
    free: float,
    live: bool,
    month: int,
    btc: float,
    cash: float,
    rate: float,
    tenor: int,
    terms: Float64Array,
) -> tuple[
    float,
    float,
    float,
    bool,
    float,
    float,
    float,
    bool,
    float,
    float,
    bool,
    float,
    float,
    float,
    float,
]:
    """``margin_loan.ladder_step`` on one path, the same operations in the same order.

    Returns the new balance, pledge, free BTC and live flag, then the month's interest, LTV
    before and after, margin call, top-up (BTC), cash paid, liquidation, BTC sold, proceeds,
    penalty and shortfall (USD)."""
    top_to = terms[_MT_TOP]
    pen = terms[_MT_PEN]
    interest = balance * rate / 12.0 if live else 0.0
    balance = balance + interest
    collateral = pledged * btc
    ltv_before = balance / collateral if live else 0.0
    liquidate = live and ltv_before >= terms[_MT_LIQ]
    call = live and not liquidate and ltv_before >= terms[_MT_CALL]
    need_btc = max(balance / (top_to * btc) - pledged, 0.0) if call else 0.0
    offered = min(need_btc, free)
    cash_need = max(balance - top_to * (pledged + offered) * btc, 0.0) if call else 0.0
    met = call and cash_need <= cash + CASH_TOL_USD
    top_up = offered if met else 0.0
    cash_paid = min(cash_need, cash) if met else 0.0
    pledged = pledged + top_up
    free = free - top_up
    balance = balance - cash_paid
    liquidate = liquidate or (call and not met)
    mature = live and not liquidate and month == tenor
    repay = max(min(cash - cash_paid, balance) if mature else 0.0, 0.0)
    balance = balance - repay
    cash_paid = cash_paid + repay
    liquidate = liquidate or (mature and balance > 0.0)
    for_claim = balance * (1.0 + pen) / btc
    covered = pledged >= for_claim
    sold = (for_claim if covered else pledged) if liquidate else 0.0
    proceeds = sold * btc
    penalty = 0.0
    if liquidate:
        penalty = balance * pen if covered else proceeds * pen / (1.0 + pen)
    shortfall = 0.0
    if liquidate and not covered:
        shortfall = max(balance - (proceeds - penalty), 0.0)
    pledged = pledged - sold
    if liquidate:
        balance = 0.0
    closed = live and (liquidate or mature)
    if closed:
        free = free + pledged
        pledged = 0.0
    still = live and not closed
    ltv_after = balance / (pledged * btc) if still else 0.0
    return (
        balance,
        pledged,
        free,
        still,
        interest,
        ltv_before,
        ltv_after,
        call,
        top_up,
        cash_paid,
        liquidate,
        sold,
        proceeds,
        penalty,
        shortfall,
    )


#: The kernel's covenant kinds (``CovenantSpec.kind``).
COVENANT_KIND_CODES = {"min_dscr": 0, "max_ltv": 1, "max_leverage": 2, "min_liquidity": 3}


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _growth_covenant_breach(
    kind: int,
    level: float,
    window: int,
    month: int,
    cum_cf: Float64Array,
    after: Float64Array,
    dsra: Float64Array,
    dspa: Float64Array,
    cash_held: float,
) -> bool:
    """A parent covenant's breach in ``month`` on one path (``structure._growth_breach`` is
    the oracle, same operations in the same order).

    ``max_leverage`` (kind 2): every facility's balance after the month's payments (``after``,
    USD) over the trailing ``window`` months' CFADS (``cum_cf``, the running sum, USD) above
    ``level`` (x), tested once a full window has elapsed; as ``debt > level x CFADS``, so a
    trailing CFADS at or below zero breaches whenever debt is owed. ``min_liquidity`` (kind
    3): the reserve accounts (DSRA and payment account of every facility) plus the cash the
    deal holds (``cash_held``: lock-up, maintenance reserve, opening liquidity), USD, below
    ``level`` (USD).
    """
    if kind == 2:
        if month < window:
            return False
        debt = 0.0
        for j in range(after.shape[0]):
            debt = debt + after[j]
        return bool(debt > level * (cum_cf[month] - cum_cf[month - window]))
    reserves = 0.0
    for j in range(dsra.shape[0]):
        reserves = reserves + dsra[j]
        reserves = reserves + dspa[j]
    return reserves + cash_held < level


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _ratio(num: float, den: float, empty: float) -> float:
    return num / den if den > 0.0 else empty


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _scheduled(
    amort: int,
    month: int,
    tenor: int,
    balance: float,
    i: float,
    principal0: float,
    share: float,
    has_draw_due: bool,
    draw_due: float,
) -> float:
    """Contractual principal of ``month`` (``structure._scheduled``, one path): ``share`` and
    ``draw_due`` are the facility's schedule share and per-draw principal of that month
    (scalars, so that no array crosses the call)."""
    if month >= tenor:
        return balance
    if has_draw_due:
        return min(draw_due, balance)
    if amort == 0:
        n_left = tenor - month + 1
        if i > 0.0:
            payment = balance * i / annuity_factor(i, float(n_left))
        else:
            payment = balance / n_left
        return min(payment - balance * i, balance)
    if amort == 1:
        return min(principal0 / tenor, balance)
    if amort == 2:
        return 0.0
    return min(share * principal0, balance)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _refinancing_ok(
    claim: float,
    pool_value: float,
    trailing_dscr: float,
    open_market: bool,
    max_ltv: float,
    has_min_dscr: bool,
    min_dscr: float,
    needs_open: bool,
) -> bool:
    """The refinancing test of one facility on one path (``structure._refinancing_ok``)."""
    ok = claim <= max_ltv * pool_value + CENT
    if has_min_dscr:
        ok = ok and trailing_dscr >= min_dscr
    if needs_open:
        ok = ok and open_market
    return ok


@numba.njit(cache=True, nogil=True)
def _window_open(enterprise: bool, open_regime: bool, open_enterprise: bool) -> bool:
    """Whether a maturity's refinancing finds the credit window open: the structure's
    ``regime`` for a collateral test, the ``enterprise_window`` for an enterprise one."""
    return open_enterprise if enterprise else open_regime


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _refinancing_claim(
    enterprise: bool, claim: float, pool_value: float, firm_debt: float, ev: float
) -> tuple[float, float]:
    """The claim and the value a maturity's refinancing test compares, USD: the balloon and
    the debt ahead of it against the collateral pool (``enterprise`` False), or all the firm's
    debt (the other facilities' balances at the month's start plus the balloon) against the
    market enterprise value floored at the pool (``structure._refinancing_claim``)."""
    if enterprise:
        return firm_debt, max(ev, pool_value)
    return claim, pool_value


@numba.njit(cache=True, nogil=True)
def _capitalised(balance: float, accrued: float) -> tuple[float, float]:
    """Interest during construction capitalised: the balance with the accrued interest added,
    and nothing accrued (``structure._capitalise``)."""
    return balance + accrued, 0.0


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _parent_support(gap: float, left: float, on: bool) -> float:
    """What the parent pays of a facility's shortfall ``gap`` (USD): at most what is ``left``
    of its guarantee cap, while ``on`` (its guarantee is in force and it has not defaulted);
    ``structure._parent_support`` is the oracle's."""
    return min(gap, left) if on else 0.0


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _new_service(gap: float, rate: float, new_tenor: int, level: bool) -> float:
    """The first monthly service of a refinancing's new debt (``structure._new_service``)."""
    if not level:
        return gap * rate
    growth = 1.0
    for _ in range(new_tenor):
        growth = growth * (1.0 + rate)
    if rate > 0.0:
        return gap * rate * growth / (growth - 1.0 if growth > 1.0 else 1.0)
    return gap / new_tenor


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _maturity_refinancing(
    claim: float,
    gap: float,
    pool_value: float,
    trailing_dscr: float,
    open_market: bool,
    max_ltv: float,
    has_min_dscr: bool,
    min_dscr: float,
    needs_open: bool,
    spread_open: float,
    spread_shut: float,
    new_tenor: int,
    level: bool,
    slope: float,
    pivot: float,
    sofr_t: float,
    cf_sum: float,
    cf_months: int,
) -> tuple[bool, float]:
    """A balloon's refinancing test and spread on one path (``structure._maturity_refinancing``)."""
    window = spread_open if open_market else spread_shut
    if new_tenor <= 0:
        ok0 = _refinancing_ok(
            claim,
            pool_value,
            trailing_dscr,
            open_market,
            max_ltv,
            has_min_dscr,
            min_dscr,
            needs_open,
        )
        return ok0, window
    ok = claim <= max_ltv * pool_value + CENT
    if needs_open:
        ok = ok and open_market
    ltv = min(_ratio(claim, pool_value, max_ltv), max_ltv)
    spread = window + slope * max(ltv - pivot, 0.0)
    service = _new_service(gap, (max(sofr_t, 0.0) + spread) / 12.0, new_tenor, level)
    if has_min_dscr and cf_months > 0:
        ok = ok and cf_sum / cf_months >= min_dscr * service
    return ok, spread


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _structure_kernel(
    n: int,
    cfads: Float64Array,
    sofr: Float64Array,
    annual: Float64Array,
    pools: Float64Array,
    basis: Float64Array,
    regime: Int64Array,
    external: Int64Array,
    has_external: bool,
    default_free: bool,
    opex_defaults: bool,
    opening_cash: float,
    # the margin loan
    has_margin: bool,
    m_terms: Float64Array,
    m_tenor: int,
    m_btc: Float64Array,
    m_rate: Float64Array,
    m_free: Float64Array,
    m_slot: Int64Array,
    out_m: Float64Array,
    out_mb: np.ndarray,
    out_mp: Float64Array,
    out_mi: Int64Array,
    # equity
    has_equity: bool,
    ev_scale: float,
    shares: float,
    # facilities
    principal0: Float64Array,
    tenor: Int64Array,
    amort: Int64Array,
    share: Float64Array,
    dsra_months: Float64Array,
    rank: Int64Array,
    has_draw_due: np.ndarray,
    draw_due: Float64Array,
    draw_hit: np.ndarray,
    drawn: Float64Array,
    fee_m: Float64Array,
    has_calls: np.ndarray,
    call_on: np.ndarray,
    call_px: Float64Array,
    every: Int64Array,
    balloon_cap: np.ndarray,
    has_adv: np.ndarray,
    adv_rate: Float64Array,
    adv_cure: Int64Array,
    has_conv: np.ndarray,
    conv_px: Float64Array,
    refi_ltv: Float64Array,
    refi_has_dscr: np.ndarray,
    refi_dscr: Float64Array,
    refi_needs_open: np.ndarray,
    spread_open: Float64Array,
    spread_shut: Float64Array,
    last_draw: Int64Array,
    dscr_window: Int64Array,
    order: Int64Array,
    by_rank: Int64Array,
    sharing: np.ndarray,
    # covenants, flattened: facility k owns cov_start[k] to cov_start[k + 1]
    cov_start: Int64Array,
    cov_kind: Int64Array,
    cov_threshold: Float64Array,
    cov_window: Int64Array,
    cov_cure: Int64Array,
    cov_consequence: Int64Array,
    cov_waiver: np.ndarray,
    cov_waiver_ltv: Float64Array,
    cov_waiver_fee: Float64Array,
    cov_waiver_step: Float64Array,
    cov_waiver_max: Int64Array,
    # steps
    step_kind: Int64Array,
    step_fac: Int64Array,
    step_share: Float64Array,
    step_usd: Float64Array,
    step_target: Float64Array,
    # outputs
    slot: Int64Array,
    out_f: Float64Array,
    out_alive: np.ndarray,
    out_breach: np.ndarray,
    out_fp: Float64Array,
    out_fi: Int64Array,
    out_d: Float64Array,
    out_step: Float64Array,
    out_default: Int64Array,
    out_e: Float64Array,
    # the parent's guarantee (appended): in force while month < support_end[p], capped
    has_support: bool,
    support_end: Int64Array,
    cap_usd: float,
    pik_end: Int64Array,
    # the share price as a path; soft calls; refinancing at the path's spread
    has_share_path: bool,
    share_path: Float64Array,
    soft_month: Int64Array,
    soft_trig: Float64Array,
    refi_new_tenor: Int64Array,
    refi_level: np.ndarray,
    refi_slope: Float64Array,
    refi_pivot: Float64Array,
    put_month: Int64Array,
    put_px: Float64Array,
    # refinancing against the market enterprise value (``RefinancingTerms.enterprise``)
    refi_enterprise: np.ndarray,
    refi_window: Int64Array,
    ent_regime: Int64Array,
) -> None:
    """Run the waterfall program on every path; see ``run_structure_compiled``.
    ``pik_end[p, k]``: facility ``k`` capitalises its interest before this month on path
    ``p`` (``structure._capitalise``)."""
    n_paths, n_all = cfads.shape
    n_fac = principal0.shape[0]
    n_steps = step_kind.shape[0]
    n_cov = cov_kind.shape[0]
    # the firm's debt is summed each month only where something reads it
    needs_debt = has_equity or refi_enterprise.any()
    # state per facility
    balance = np.zeros(n_fac)
    live = np.zeros(n_fac, dtype=np.bool_)
    dsra = np.zeros(n_fac)
    dspa = np.zeros(n_fac)  # the debt-service payment accounts
    accrued = np.zeros(n_fac)
    refi = np.zeros(n_fac)
    refi_spread = np.zeros(n_fac)
    last_regular = np.zeros(n_fac)
    counters = np.zeros(n_cov, dtype=np.int64)
    bb_counter = np.zeros(n_fac, dtype=np.int64)
    step_up = np.zeros(n_fac)
    waivers = np.zeros(n_fac, dtype=np.int64)
    # what each facility asks this month
    d_live = np.zeros(n_fac, dtype=np.bool_)
    d_open = np.zeros(n_fac)
    d_interest = np.zeros(n_fac)
    d_accrued = np.zeros(n_fac)
    d_refi_int = np.zeros(n_fac)
    d_principal = np.zeros(n_fac)
    d_regular = np.zeros(n_fac)
    d_basis = np.zeros(n_fac)
    d_mandatory = np.zeros(n_fac)
    d_final = np.zeros(n_fac, dtype=np.bool_)
    d_called = np.zeros(n_fac, dtype=np.bool_)
    d_converted = np.zeros(n_fac)
    d_premium = np.zeros(n_fac)
    d_put = np.zeros(n_fac, dtype=np.bool_)
    ahead = np.zeros(n_fac)
    start_balance = np.zeros(n_fac)
    rates = np.zeros(n_fac)
    lk_draw = np.zeros(n_fac)
    ds_draw = np.zeros(n_fac)
    got_int = np.zeros(n_fac)
    got_prin = np.zeros(n_fac)
    refinanced = np.zeros(n_fac)
    kind = np.zeros(n_fac, dtype=np.int64)
    swept = np.zeros(n_fac)
    after = np.zeros(n_fac)
    sweep_on = np.zeros(n_fac, dtype=np.bool_)
    fees = np.zeros(n_fac)
    steps_up = np.zeros(n_fac)
    can_c = np.zeros(n_cov, dtype=np.bool_)
    waivable_c = np.zeros(n_cov, dtype=np.bool_)
    cum_cf = np.zeros(n_all + 1)
    cum_deal_ds = np.zeros(n_all + 1)
    cum_rank_ds = np.zeros((n_fac, n_all + 1))
    n_fields = slot.shape[0]
    row = np.zeros((n_fac, n_fields))  # the month's per-facility fields, then recorded

    cash_row = np.zeros(n_all)  # the path's cash left to the waterfall after the margin step
    n_run = n_all if has_margin else n
    for p in range(n_paths):
        m_bal = m_terms[_MT_PRINCIPAL]
        m_pl = m_terms[_MT_PLEDGE]
        m_fr = m_free[p] if has_margin else 0.0
        m_live = True
        m_dm = 0  # the margin lender's default month
        m_opened = False
        m_start_bal = 0.0
        m_start_pl = 0.0
        m_own = False
        m_interest = 0.0
        support_left = cap_usd
        for t in range(n_all + 1):
            cum_deal_ds[t] = 0.0
            for k in range(n_fac):
                cum_rank_ds[k, t] = 0.0
        for c in range(n_cov):
            counters[c] = 0
        for k in range(n_fac):
            bal = principal0[k]
            i0 = annual[k, p, 0] / 12.0
            first = bal * i0
            if tenor[k] > 1:
                first = first + _scheduled(
                    amort[k],
                    1,
                    tenor[k],
                    bal,
                    i0,
                    principal0[k],
                    share[k, 0],
                    has_draw_due[k],
                    draw_due[k, 0],
                )
            balance[k] = bal
            live[k] = True
            dsra[k] = dsra_months[k] * first
            dspa[k] = 0.0
            accrued[k] = 0.0
            refi[k] = 0.0
            refi_spread[k] = 0.0
            last_regular[k] = 0.0
            bb_counter[k] = 0
            step_up[k] = 0.0
            waivers[k] = 0
            out_fp[k, _F_DSRA0, p] = dsra[k]
        lockup = 0.0
        mra = 0.0
        liquidity = opening_cash
        ok = True
        v0 = basis[p, 0]
        last_open = -NEVER_OPEN  # the last month the credit window was open
        last_open_e = -NEVER_OPEN  # ... the window the enterprise tests read
        for t in range(n_run):
            month = t + 1
            cash_row[t] = cfads[p, t]
            if has_margin:  # the program's first step: the margin loan's ladder
                m_opened = m_bal > 0.0
                m_start_bal = m_bal
                m_start_pl = m_pl
                m_before = m_dm > 0
                out_mb[_MB_ALIVE, p, t] = m_opened and not m_before
                m_price = m_btc[p, t]
                (
                    m_bal,
                    m_pl,
                    m_fr,
                    m_live,
                    m_interest,
                    m_ltv_before,
                    m_ltv_after,
                    m_call,
                    m_top_up,
                    m_paid,
                    m_sold_now,
                    m_sold,
                    m_proceeds,
                    m_penalty,
                    m_shortfall,
                ) = _ladder_month(
                    m_bal,
                    m_pl,
                    m_fr,
                    m_live,
                    month,
                    m_price,
                    max(cfads[p, t], 0.0),
                    m_rate[p, t],
                    m_tenor,
                    m_terms,
                )
                m_own = m_shortfall > 0.0 and out_mi[_MI_SHORT, p] == 0
                if m_own:
                    out_mi[_MI_SHORT, p] = month
                m_hit = m_own and not m_before and not default_free
                m_net = m_proceeds - m_penalty
                if m_hit:
                    m_dm = month
                    out_mi[_MI_MONTH, p] = month
                    out_mi[_MI_KIND, p] = LIQUIDATED
                    out_mp[_MP_REC, p] = m_net
                    out_mp[_MP_EAD, p] = m_net + m_shortfall
                m_received = m_paid + (m_net if (m_sold_now and not m_hit) else 0.0)
                _record(out_m, m_slot, _M_BAL, p, t, m_bal)
                _record(out_m, m_slot, _M_INT, p, t, m_interest)
                _record(out_m, m_slot, _M_LTV0, p, t, m_ltv_before)
                _record(out_m, m_slot, _M_LTV1, p, t, m_ltv_after)
                _record(out_m, m_slot, _M_TOP, p, t, m_top_up)
                _record(out_m, m_slot, _M_PAID, p, t, m_paid)
                _record(out_m, m_slot, _M_SOLD, p, t, m_sold)
                _record(out_m, m_slot, _M_PROC, p, t, m_proceeds)
                _record(out_m, m_slot, _M_PEN, p, t, m_penalty)
                _record(out_m, m_slot, _M_SHORT, p, t, m_shortfall)
                _record(out_m, m_slot, _M_PLEDGED, p, t, m_pl)
                _record(out_m, m_slot, _M_FREE, p, t, m_fr)
                _record(out_m, m_slot, _M_RECEIVED, p, t, 0.0 if m_before else m_received)
                _record(
                    out_m,
                    m_slot,
                    _M_LTV,
                    p,
                    t,
                    m_ltv_before if (m_opened and not m_before) else 0.0,
                )
                out_mb[_MB_CALL, p, t] = m_call
                out_mb[_MB_SOLD, p, t] = m_sold_now
                out_step[p, t, 0] = m_paid
                cash_row[t] = cfads[p, t] - m_paid
            cum_cf[t + 1] = cum_cf[t] + cash_row[t]
            if t >= n:
                continue
            open_market = regime[p, t] == 0
            if open_market:
                last_open = month
            open_e = ent_regime[p, t] == 0
            if open_e:
                last_open_e = month
            price_now = 0.0
            debt_now = 0.0
            if needs_debt:
                for k in range(n_fac):
                    debt_now = debt_now + (balance[k] * (1.0 if live[k] else 0.0) + refi[k])
            # the market enterprise value, USD: the equity's market value plus the debt (0
            # without equity terms, when an enterprise refinancing test sees the pool only)
            ev_now = 0.0
            if has_equity and has_share_path:
                price_now = share_path[p, t]
                out_d[_D_SHARE, p, t] = price_now
                ev_now = price_now * shares + debt_now
            elif has_equity:
                ev = ev_scale * _ratio(basis[p, t], v0, 0.0)
                price_now = max(ev - debt_now, 0.0) / shares
                out_d[_D_SHARE, p, t] = price_now
                ev_now = ev
            # A path that is over writes nothing more (its zeros are already there): after the
            # borrower's default, or once every facility and any refinancing debt are repaid,
            # when only the deal DSCR, with nothing scheduled, is +inf.
            if not ok:
                continue
            done = True
            for k in range(n_fac):
                done = done and not live[k] and refi[k] == 0.0
            if done:
                out_d[_D_DSCR, p, t] = math.inf
                continue
            if month > 1:
                lo = max(month - 1 - 12, 0)
                trailing_deal = _ratio(
                    cum_cf[month - 1] - cum_cf[lo],
                    cum_deal_ds[month - 1] - cum_deal_ds[lo],
                    math.inf,
                )
            else:
                trailing_deal = math.inf
            for k in range(n_fac):
                start_balance[k] = balance[k] if (live[k] and ok) else 0.0
            for k in range(n_fac):
                acc = 0.0
                for j in range(n_fac):
                    if rank[j] < rank[k]:
                        acc = acc + start_balance[j]
                ahead[k] = acc
                rates[k] = annual[k, p, t] / 12.0 + step_up[k] / 12.0
            sofr_t = sofr[p, t]
            for k in range(n_fac):
                for f in range(n_fields):
                    row[k, f] = 0.0

            # What each facility asks this month.
            for k in range(n_fac):
                i = rates[k]
                pool = pools[k, p, t]
                if draw_hit[k, t] and ok and live[k]:
                    balance[k] = balance[k] + drawn[k, t]
                lv = live[k] and ok
                ob = balance[k] if lv else 0.0
                accrued[k] = accrued[k] + ob * i
                if lv and month < pik_end[p, k]:
                    balance[k], accrued[k] = _capitalised(balance[k], accrued[k])
                    ob = balance[k]
                final = month == tenor[k]
                fee = fee_m[k, t] if lv else 0.0
                called = False
                premium = 0.0
                if has_calls[k] and not final and call_on[k, t]:
                    price = call_px[k, t]
                    coupon = annual[k, p, t] + step_up[k]
                    spread = spread_open[k] if open_market else spread_shut[k]
                    refi_rate = max(sofr_t, 0.0) + spread
                    years_left = (tenor[k] - month) / 12.0
                    saving = (coupon - refi_rate) * years_left
                    called = (
                        lv
                        and saving > price - 1.0
                        and _refinancing_ok(
                            ahead[k] + ob * price,
                            pool,
                            trailing_deal,
                            open_market,
                            refi_ltv[k],
                            refi_has_dscr[k],
                            refi_dscr[k],
                            refi_needs_open[k],
                        )
                    )
                    premium = ob * (price - 1.0) if called else 0.0
                pay_now = final or month % every[k] == 0
                accrued_part = accrued[k] if (lv and (pay_now or called)) else 0.0
                principal = 0.0
                if lv and not called:
                    principal = _scheduled(
                        amort[k],
                        month,
                        tenor[k],
                        ob,
                        i,
                        principal0[k],
                        share[k, min(month - 1, share.shape[1] - 1)],
                        has_draw_due[k],
                        draw_due[k, min(month - 1, draw_due.shape[1] - 1)],
                    )
                if final and balloon_cap[k]:
                    regular_p = min(principal, last_regular[k])
                else:
                    regular_p = principal
                mandatory = 0.0
                if has_adv[k]:
                    gap = max(ob - principal - adv_rate[k] * pool, 0.0)
                    bb_counter[k] = bb_counter[k] + 1 if (lv and gap > CENT) else 0
                    mandatory = gap if bb_counter[k] > adv_cure[k] else 0.0
                    principal = principal + mandatory
                converted = 0.0
                if final and has_conv[k] and has_equity and lv and price_now > conv_px[k]:
                    converted = ob * price_now / conv_px[k]
                    principal = 0.0
                    regular_p = 0.0
                if (
                    has_conv[k]
                    and has_equity
                    and soft_month[k] > 0
                    and soft_month[k] <= month < tenor[k]
                    and lv
                    and price_now > soft_trig[k] * conv_px[k]
                ):
                    converted = ob * price_now / conv_px[k]
                    principal = 0.0
                    regular_p = 0.0
                d_put[k] = (
                    has_conv[k]
                    and has_equity
                    and put_month[k] > 0
                    and month == put_month[k]
                    and month < tenor[k]
                    and lv
                    and price_now < put_px[k] * conv_px[k]
                )
                if d_put[k]:
                    principal = ob * put_px[k]
                if lv:
                    last_regular[k] = regular_p
                d_refi_int[k] = refi[k] * (max(sofr_t, 0.0) + refi_spread[k]) / 12.0 if ok else 0.0
                d_live[k] = lv
                d_open[k] = ob
                d_interest[k] = accrued_part + fee
                d_accrued[k] = accrued_part
                d_principal[k] = principal
                d_regular[k] = accrued_part + fee + regular_p if lv else 0.0
                d_basis[k] = ob * i + fee + regular_p if lv else 0.0
                d_mandatory[k] = mandatory
                d_final[k] = final
                d_called[k] = called
                d_converted[k] = converted
                d_premium[k] = premium
                out_alive[k, p, t] = lv
                row[k, _INT_DUE] = ob * rates[k]
                row[k, _DS_SCHED] = d_regular[k]
                row[k, _EXTRA] = converted + premium

            # Operating deficit: the lock-up account, then the reserves in waterfall order.
            any_live = False
            for k in range(n_fac):
                any_live = any_live or d_live[k]
            refi_total = 0.0
            if n_fac:
                refi_total = refi[0]
                for k in range(1, n_fac):
                    refi_total = refi_total + refi[k]
            active = (ok and any_live) or (ok and refi_total > 0.0)
            cash = cash_row[t] if active else 0.0
            deficit = max(-cash, 0.0)
            avail = max(cash, 0.0)
            for k in range(n_fac):
                lk_draw[k] = 0.0
                ds_draw[k] = 0.0
            take = min(deficit, lockup)
            lockup = lockup - take
            deficit = deficit - take
            more = min(deficit, liquidity) if active else 0.0
            liquidity = liquidity - more
            deficit = deficit - more
            if n_fac:
                lk_draw[order[0]] += take + more
            for kk in range(n_fac):
                k = order[kk]
                take = min(deficit, dsra[k])
                dsra[k] = dsra[k] - take
                deficit = deficit - take
                ds_draw[k] += take
            out_d[_D_UNF, p, t] = deficit if active else 0.0

            # The steps.
            stop = False
            for k in range(n_fac):
                got_int[k] = 0.0
                got_prin[k] = 0.0
                refinanced[k] = 0.0
                kind[k] = 0
                swept[k] = 0.0
            for j in range(n_steps):
                code_j = step_kind[j]
                k = step_fac[j]
                if code_j == 0 or code_j == 1:
                    if code_j == 0:
                        ask = d_interest[k] + d_refi_int[k]
                    else:
                        ask = d_principal[k]
                    if not ok or stop:
                        ask = 0.0
                    from_account = min(ask, dspa[k])  # the payment account pays first
                    dspa[k] = dspa[k] - from_account
                    row[k, _DSPA_DRAW] += from_account
                    rest = ask - from_account
                    pay = min(avail, rest)
                    avail = avail - pay
                    gap = rest - pay
                    take = min(gap, lockup)
                    lockup = lockup - take
                    gap = gap - take
                    lk_draw[k] = lk_draw[k] + take
                    take = min(gap, liquidity)
                    liquidity = liquidity - take
                    gap = gap - take
                    lk_draw[k] = lk_draw[k] + take
                    take = min(gap, dsra[k])
                    dsra[k] = dsra[k] - take
                    gap = gap - take
                    ds_draw[k] = ds_draw[k] + take
                    if has_support:
                        take = _parent_support(
                            gap, support_left, not default_free and month < support_end[p]
                        )
                        gap = gap - take
                        support_left = support_left - take
                        row[k, _PSUP] += take
                    if opex_defaults:
                        short = gap + out_d[_D_UNF, p, t] > CENT
                    else:
                        short = gap > CENT
                    if default_free:
                        short = False
                    got = ask - (gap if short else 0.0)
                    if code_j == 0:
                        got_int[k] += got
                        code = 3 if d_final[k] else 1
                    elif d_final[k]:
                        lo = max(month - 1 - 12, 0)
                        refi_claim, refi_value = _refinancing_claim(
                            refi_enterprise[k],
                            ahead[k] + gap,
                            pools[k, p, t],
                            debt_now - start_balance[k] + gap,
                            ev_now,
                        )
                        refi_ok, refi_new_spread = _maturity_refinancing(
                            refi_claim,
                            gap,
                            refi_value,
                            trailing_deal,
                            _window_open(
                                refi_enterprise[k],
                                open_market or month - last_open < refi_window[k],
                                open_e or month - last_open_e < refi_window[k],
                            ),
                            refi_ltv[k],
                            refi_has_dscr[k],
                            refi_dscr[k],
                            refi_needs_open[k],
                            spread_open[k],
                            spread_shut[k],
                            refi_new_tenor[k],
                            refi_level[k],
                            refi_slope[k],
                            refi_pivot[k],
                            sofr_t,
                            cum_cf[month - 1] - cum_cf[lo],
                            month - 1 - lo,
                        )
                        can = short and gap <= d_principal[k] + CENT and refi_ok
                        refinanced[k] = gap if can else 0.0
                        refi[k] = refi[k] + refinanced[k]
                        if can:
                            refi_spread[k] = refi_new_spread
                        got = got + refinanced[k]
                        short = short and not can
                        got_prin[k] += got
                        code = 3
                    else:
                        got_prin[k] += got
                        bb = d_mandatory[k] > 0.0 and gap > d_principal[k] - d_mandatory[k] + CENT
                        code = BORROWING_BASE if bb else 1
                    if short and kind[k] == 0:
                        kind[k] = code
                    stop = stop or short
                    out_step[p, t, j] = got
                elif code_j == 2:
                    if d_final[k]:
                        continue
                    room = max(dsra_months[k] * d_basis[k] - dsra[k], 0.0)
                    top = min(avail, room) if (d_live[k] and not stop) else 0.0
                    dsra[k] = dsra[k] + top
                    avail = avail - top
                    row[k, _DSRA_TOP] += top
                    out_step[p, t, j] = top
                elif code_j == 3:
                    room = max(step_target[j] - mra, 0.0)
                    top = min(min(avail, step_usd[j]), room) if (ok and not stop) else 0.0
                    mra = mra + top
                    avail = avail - top
                    out_step[p, t, j] = top
                elif code_j == 4:
                    left = max(d_open[k] - got_prin[k] - swept[k], 0.0)
                    amount = min(avail * step_share[j], left) if (d_live[k] and not stop) else 0.0
                    swept[k] += amount
                    avail = avail - amount
                    out_step[p, t, j] = amount
                elif code_j == 7:
                    if d_final[k] or month > tenor[k] or month % every[k] == 0:
                        continue
                    months_left = min((month // every[k] + 1) * every[k], tenor[k]) - month
                    put = _set_aside(accrued[k], d_open[k], rates[k], dspa[k], avail, months_left)
                    if not (d_live[k] and not stop and not d_called[k]):
                        put = 0.0
                    dspa[k] = dspa[k] + put
                    avail = avail - put
                    row[k, _DSPA_IN] += put
                    out_step[p, t, j] = put

            # Balances after payment; lender interest vs refinancing-debt interest.
            for k in range(n_fac):
                lender_int = min(got_int[k], d_interest[k])
                if d_live[k]:
                    accrued[k] = max(accrued[k] - min(lender_int, d_accrued[k]), 0.0)
                paid_prin = d_open[k] if d_called[k] else got_prin[k]
                if d_live[k]:
                    balance[k] = d_open[k] - paid_prin - swept[k]
                if d_called[k]:
                    refi[k] = refi[k] + (d_open[k] + d_premium[k])
                    refi_spread[k] = spread_open[k] if open_market else spread_shut[k]
                row[k, _INT_PAID] = lender_int
                row[k, _PRIN_PAID] = paid_prin
                row[k, _PREPAID] = swept[k]
                row[k, _REFI] = refinanced[k] + (d_open[k] if d_called[k] else 0.0)
                row[k, _DSRA_DRAW] = ds_draw[k]
                row[k, _LK_DRAW] = lk_draw[k]
                if d_converted[k] > 0.0:
                    balance[k] = 0.0
                if d_put[k] and got_prin[k] >= d_principal[k] - CENT:
                    balance[k] = 0.0  # a put paid in full leaves nothing owed

            # Covenants, on the paths where nothing was short.
            month_ds = 0.0
            for k in range(n_fac):
                month_ds = month_ds + d_regular[k]
            deal_ds = month_ds if ok else 0.0
            out_d[_D_DS, p, t] = deal_ds
            cum_deal_ds[month] = cum_deal_ds[month - 1] + deal_ds
            paying = ok and not stop
            lock_on = False
            for k in range(n_fac):
                sweep_on[k] = False
                after[k] = balance[k] if d_live[k] else 0.0
                fees[k] = 0.0
                steps_up[k] = 0.0
            for k in range(n_fac):
                rank_ds = 0.0
                claims = 0.0
                for j in range(n_fac):
                    if rank[j] <= rank[k]:
                        rank_ds = rank_ds + d_regular[j]
                for j in range(n_fac):
                    if rank[j] <= rank[k]:
                        claims = claims + d_open[j]
                cum_rank_ds[k, month] = cum_rank_ds[k, month - 1] + rank_ds
                pool = pools[k, p, t]
                ltv = _ratio(claims, pool, math.inf)
                dscr = _ratio(cash, rank_ds, math.inf)
                if dscr_window[k] > 0:
                    lo = max(month - dscr_window[k], 0)
                    trailing = _ratio(
                        cum_cf[month] - cum_cf[lo],
                        cum_rank_ds[k, month] - cum_rank_ds[k, lo],
                        math.inf,
                    )
                else:
                    trailing = dscr
                lv = d_live[k]
                row[k, _DSCR] = dscr if lv else 0.0
                row[k, _DSCR_TR] = trailing if lv else 0.0
                row[k, _LTV] = ltv if lv else 0.0
                testable = paying and lv and not d_final[k]
                any_breach = False
                eod = False
                covered = 0.0
                for j in range(n_fac):
                    if sharing[k, j]:
                        covered = covered + after[j]
                for c in range(cov_start[k], cov_start[k + 1]):
                    waivable_c[c] = False
                    can_c[c] = False
                    breach = False
                    if cov_kind[c] == 0:
                        if month >= cov_window[c]:
                            lo = month - cov_window[c]
                            tr_cf = cum_cf[month] - cum_cf[lo]
                            tr_ds = cum_rank_ds[k, month] - cum_rank_ds[k, lo]
                            breach = testable and tr_cf < cov_threshold[c] * tr_ds
                    elif cov_kind[c] == 1:
                        breach = testable and ltv > cov_threshold[c]
                    else:
                        breach = testable and _growth_covenant_breach(
                            cov_kind[c],
                            cov_threshold[c],
                            cov_window[c],
                            month,
                            cum_cf,
                            after,
                            dsra,
                            dspa,
                            lockup + mra + liquidity,
                        )
                    counters[c] = counters[c] + 1 if breach else 0
                    any_breach = any_breach or breach
                    hit = breach and counters[c] > cov_cure[c]
                    if cov_consequence[c] == 0 and not default_free:
                        if not cov_waiver[c]:
                            eod = eod or hit
                        else:
                            can = (
                                hit
                                and covered <= cov_waiver_ltv[c] * pool
                                and waivers[k] < cov_waiver_max[c]
                            )
                            eod = eod or (hit and not can)
                            waivable_c[c] = True
                            can_c[c] = can
                            fees[k] = max(fees[k], cov_waiver_fee[c] if can else 0.0)
                            steps_up[k] = max(steps_up[k], cov_waiver_step[c] if can else 0.0)
                    elif cov_consequence[c] == 1:
                        sweep_on[k] = sweep_on[k] or hit
                    else:
                        lock_on = lock_on or hit
                if eod and kind[k] == 0:
                    kind[k] = 2
                out_breach[k, p, t] = any_breach
            out_d[_D_DSCR, p, t] = _ratio(cash, month_ds, math.inf) if ok else 0.0

            # Cross-default: any facility's default is the borrower's.
            now = False
            for k in range(n_fac):
                now = now or kind[k] > 0
            if has_external and not default_free:
                now = now or external[p] == month
            if has_margin and not default_free:
                now = now or m_own
            any_state_live = False
            for k in range(n_fac):
                any_state_live = any_state_live or live[k]
            now = now and ok and any_state_live
            if has_margin and not default_free and now and m_dm == 0 and m_opened:
                # another facility's default accelerates the margin loan: the pledge as it
                # stood at the month's start is sold at the month's price
                m_ead = m_start_bal + m_interest
                m_sale = m_start_pl * m_btc[p, t] / (1.0 + m_terms[_MT_PEN])
                m_dm = month
                out_mi[_MI_MONTH, p] = month
                out_mi[_MI_KIND, p] = ACCELERATED
                out_mp[_MP_EAD, p] = m_ead
                out_mp[_MP_REC, p] = min(m_ead, m_sale)
                _record(out_m, m_slot, _M_RECEIVED, p, t, 0.0)

            # Waivers, on the paths where the borrower does not default this month.
            for k in range(n_fac):
                waived = False
                for c in range(cov_start[k], cov_start[k + 1]):
                    if waivable_c[c]:
                        waived = waived or can_c[c]
                waived = waived and not now
                if waived:
                    for c in range(cov_start[k], cov_start[k + 1]):
                        if waivable_c[c] and can_c[c]:
                            counters[c] = 0
                    balance[k] = balance[k] + balance[k] * fees[k]
                    step_up[k] = step_up[k] + steps_up[k]
                    waivers[k] += 1
            trapped = avail if now else 0.0
            if now:
                avail = 0.0
            for k in range(n_fac):
                hit = now and live[k]
                if hit:
                    out_fi[k, _F_MONTH, p] = month
                    out_fi[k, _F_KIND, p] = kind[k] if kind[k] > 0 else CROSS_DEFAULT
                    unpaid = max(d_interest[k] - min(got_int[k], d_interest[k]), 0.0)
                    out_fp[k, _F_EAD, p] = max(balance[k], 0.0) + unpaid
                    out_fp[k, _F_PLEDGED, p] = dsra[k] + dspa[k]
                if k == order[0] and hit:
                    row[k, _TRAPPED] = trapped
            if now:
                out_e[_E_ESTATE, p] = lockup + mra + liquidity + trapped
                claim = 0.0
                for k in range(n_fac):
                    claim = claim + refi[k]
                out_e[_E_REFI, p] = claim
                out_default[p] = month
            out_d[_D_TRAP, p, t] = trapped

            # Covenant sweeps (senior first), lock-up, releases, distribution.
            going = ok and not now
            any_sweep = False
            for kk in range(n_fac):
                k = by_rank[kk]
                amount = 0.0
                if going and sweep_on[k] and d_live[k]:
                    amount = min(avail, max(balance[k], 0.0))
                balance[k] = balance[k] - amount
                avail = avail - amount
                row[k, _PREPAID] += amount
                any_sweep = any_sweep or sweep_on[k]
            to_lock = avail if (going and lock_on and not any_sweep) else 0.0
            avail = avail - to_lock
            lockup = lockup + to_lock
            release_lockup = lockup if (going and not lock_on) else 0.0
            release = release_lockup
            lockup = lockup - release
            if n_fac:
                row[order[0], _LK_IN] = to_lock
            still = False
            for k in range(n_fac):
                drawn_all = month >= last_draw[k]
                repaid = (
                    going
                    and d_live[k]
                    and (d_final[k] or (balance[k] <= CENT and drawn_all) or d_called[k])
                )
                gone = repaid or (now and live[k])
                release_k = dsra[k] + dspa[k] if repaid else 0.0
                row[k, _RELEASE] = release_k
                release = release + release_k
                if gone:
                    dsra[k] = 0.0
                    dspa[k] = 0.0
                    balance[k] = 0.0
                    live[k] = False
                still = still or live[k]
                row[k, _BAL] = balance[k]
                row[k, _DSRA_BAL] = dsra[k]
                row[k, _DSPA_BAL] = dspa[k]
            last = going and not still
            deal_release = release_lockup + (lockup + mra + liquidity if last else 0.0)
            release = release + (lockup + mra + liquidity if last else 0.0)
            if n_fac:
                row[order[0], _RELEASE] += deal_release
            if last or now:
                lockup = 0.0
                mra = 0.0
                liquidity = 0.0
            out_d[_D_DIST, p, t] = avail + release if (going and active) else 0.0
            out_d[_D_LK, p, t] = lockup
            out_d[_D_MRA, p, t] = mra
            refi_now = 0.0
            for k in range(n_fac):
                refi_now = refi_now + refi[k]
            out_d[_D_REFI, p, t] = refi_now * (1.0 if ok else 0.0)
            for k in range(n_fac):
                for f in range(n_fields):
                    if slot[f] >= 0:
                        out_f[k, slot[f], p, t] = row[k, f]
            ok = ok and not now
            if not ok:
                for k in range(n_fac):
                    refi[k] = 0.0
        for k in range(n_fac):
            out_fi[k, _F_WAIVERS, p] = waivers[k]


#: The margin loan's record fields behind each ``DebtLedger`` field of its ledger.
_MARGIN_DEBT_FIELDS = {
    "balance": "balance_usd",
    "interest_due": "interest_usd",
    "principal_paid": "cash_paydown_usd",
    "ltv": "ltv",
}


def _margin_fields(names: tuple[str, ...]) -> tuple[str, ...]:
    """The margin loan's record fields kept when the facilities record ``names``: those behind
    the named ``DebtLedger`` fields, the cash paid (the waterfall's CFADS is net of it) and
    what the lender received (its cash flows)."""
    keep = {_MARGIN_DEBT_FIELDS[n] for n in names if n in _MARGIN_DEBT_FIELDS}
    keep |= {"cash_paydown_usd", "received_usd"}
    return tuple(f for f in _M_FIELDS if f in keep)


def _padded(rows: list[Float64Array], width: int) -> Float64Array:
    out = np.zeros((len(rows), max(width, 1)))
    for k, row in enumerate(rows):
        out[k, : row.size] = row
    return out


def run_structure_compiled(
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
    fields: Collection[str] | None = None,
    btc_usd: Float64Array | None = None,
    free_btc: Float64Array | None = None,
    parent_support_end_month: Int64Array | None = None,
    parent_support_cap_usd: float | None = None,
    pik_end_month: Int64Array | None = None,
    share_price_usd: Float64Array | None = None,
    pool_values_usd: Float64Array | None = None,
    enterprise_window: np.ndarray | None = None,
) -> StructureLedger:
    """``structure.run_structure`` by the compiled engine: same arguments, same ledger.

    Parameters
    ----------
    structure : StructureTerms
    cfads : ndarray, shape (path, month), USD per month
    cohort_value : ndarray, shape (path, month, cohort), USD at each month's end
    sofr : ndarray, shape (path, month), decimal per year
    regime : ndarray of int, shape (path, month), optional
        The credit market's refinancing window: 0 open, 1 shut; open throughout when omitted.
    enterprise_value_usd : ndarray, shape (path, month), optional
        The fleet value the share price follows; the sum of ``cohort_value`` when omitted.
    default_free : bool
        The promised cash flows (nothing defaults; see ``run_structure``).
    external_default_month : ndarray of int, shape (path,), optional
        The borrower's default on debt outside the structure (cross-default), month 1-based.
    opening_cash_usd : float
        The borrower's cash on the as-of date, USD.
    btc_usd : ndarray, shape (path, month), optional
        Month-end BTC price, USD per BTC (with ``structure.margin``).
    free_btc : ndarray, shape (path,), optional
        The borrower's BTC not pledged on the as-of date (with ``structure.margin``).
    parent_support_end_month, parent_support_cap_usd :
        The parent's guarantee (``run_structure``).
    share_price_usd : ndarray, shape (path, month), optional
        The path's share price, USD; with equity terms it replaces the fleet-value one.
    fields : collection of str, optional
        The facilities' per-month float fields to record (``DebtLedger`` names; default
        all). Every other one comes back as a read-only all-NaN array that takes no memory,
        so a statistic computed from it fails loudly; the deal's fields, ``alive``,
        ``breach`` and the per-path fields are always recorded, and the recorded numbers do
        not depend on ``fields``. A margin loan's record keeps the fields behind its
        ``DebtLedger``'s named ones, its cash paid and what its lender received
        (``_margin_fields``); its other per-month floats are all-NaN likewise.
    pik_end_month : ndarray of int, shape (path, facility), optional
        Interest during construction, capitalised before this month (as ``run_structure``).
    enterprise_window : ndarray of int, shape (path, month), optional
        The credit window the facilities refinanced against the enterprise value read
        (``RefinancingTerms.enterprise``): 0 open, 1 shut; ``regime`` when omitted.
    pool_values_usd : ndarray, shape (facility, path, month), optional
        ``pool_values(structure, cohort_value)``, USD, computed once by a caller that runs the
        same collateral many times (the fair-spread passes); computed here when omitted.

    Returns
    -------
    StructureLedger
    """
    n_paths, n_all = cfads.shape
    facs = structure.facilities
    n_fac = len(facs)
    n = min(structure.n_months, n_all)
    margin_in = margin_inputs(structure, (n_paths, n_all), btc_usd, free_btc)
    cfads_c = np.ascontiguousarray(cfads, dtype=np.float64)
    sofr_c = np.ascontiguousarray(sofr, dtype=np.float64)
    reg = (
        np.zeros((n_paths, n_all), dtype=np.int64)
        if regime is None
        else np.ascontiguousarray(np.asarray(regime, np.int64))
    )
    pools = (
        pool_values(structure, cohort_value)
        if pool_values_usd is None
        else np.ascontiguousarray(pool_values_usd, dtype=np.float64)
    )
    basis = np.ascontiguousarray(
        cohort_value.sum(axis=2) if enterprise_value_usd is None else enterprise_value_usd,
        dtype=np.float64,
    )
    annual = np.zeros((n_fac, n_paths, n_all))
    for k, f in enumerate(facs):
        annual[k] = f.loan.annual_rate(sofr_c)
    n_cohorts = cohort_value.shape[2]
    cohorts = [set(f.pool) if f.pool else set(range(n_cohorts)) for f in facs]
    sharing = np.array(
        [
            [
                facs[j].seniority <= f.seniority and bool(cohorts[j] & cohorts[k])
                for j in range(n_fac)
            ]
            for k, f in enumerate(facs)
        ],
        dtype=np.bool_,
    ).reshape(n_fac, n_fac)
    ranks = [f.seniority for f in facs]
    order = facility_order(structure)

    # per-facility calendars: draws, commitment fees and calls by month
    draw_hit = np.zeros((n_fac, n_all), dtype=np.bool_)
    drawn = np.zeros((n_fac, n_all))
    fee_m = np.zeros((n_fac, n_all))
    call_on = np.zeros((n_fac, n_all), dtype=np.bool_)
    call_px = np.zeros((n_fac, n_all))
    for k, f in enumerate(facs):
        for t in range(n_all if f.draw_month.size or f.call_month.size else 0):
            month = t + 1
            hit = f.draw_month == month
            if hit.any():
                draw_hit[k, t] = True
                drawn[k, t] = float(f.draw_usd[hit].sum())
            if f.call_month.size:
                on = f.call_month <= month
                if on.any():
                    call_on[k, t] = True
                    call_px[k, t] = float(f.call_price[on][-1])
        if f.undrawn_usd is not None and f.commitment_fee > 0.0:
            m = min(f.undrawn_usd.size, n_all)
            fee_m[k, :m] = f.undrawn_usd[:m] * f.commitment_fee / 12.0

    covs = [(k, c) for k, f in enumerate(facs) for c in f.loan.covenants]
    cov_start = np.zeros(n_fac + 1, dtype=np.int64)
    for k, f in enumerate(facs):
        cov_start[k + 1] = cov_start[k] + len(f.loan.covenants)

    def dscr_window(k: int) -> int:
        c = next((c for c in facs[k].loan.covenants if c.kind == "min_dscr"), None)
        return c.window_months if c is not None else 0

    equity = structure.equity
    debt0 = sum(f.loan.principal_usd for f in facs)
    share_path = (
        None if share_price_usd is None else np.ascontiguousarray(share_price_usd, dtype=np.float64)
    )
    steps = structure.steps
    ext = (
        np.zeros(n_paths, dtype=np.int64)
        if external_default_month is None
        else np.ascontiguousarray(np.asarray(external_default_month, dtype=np.int64))
    )

    names: tuple[str, ...]
    if fields is None:
        names = _FIELDS
    else:
        unknown = sorted(set(fields) - set(_FIELDS) - set(LEDGER_MONTHLY_FIELDS))
        if unknown:
            raise ValueError(f"fields = {unknown}: not fields of DebtLedger {list(_FIELDS)}")
        names = tuple(f for f in _FIELDS if f in fields)
    slot = np.full(len(_FIELDS), -1, dtype=np.int64)
    for j, name in enumerate(names):
        slot[_FIELDS.index(name)] = j
    out_f = np.zeros((n_fac, len(names), n_paths, n_all))
    out_alive = np.zeros((n_fac, n_paths, n_all), dtype=np.bool_)
    out_breach = np.zeros((n_fac, n_paths, n_all), dtype=np.bool_)
    out_fp = np.zeros((n_fac, 3, n_paths))
    out_fi = np.zeros((n_fac, 3, n_paths), dtype=np.int64)
    out_d = np.zeros((len(_DEAL_FIELDS), n_paths, n_all))
    out_d[_D_SHARE] = np.nan
    out_step = np.zeros((n_paths, n_all, len(steps)))
    out_default = np.zeros(n_paths, dtype=np.int64)
    out_e = np.zeros((2, n_paths))
    margin = structure.margin
    m_paths, m_months = (n_paths, n_all) if margin is not None else (0, 0)
    m_btc, m_free = margin_in if margin_in is not None else (np.ones((0, 0)), np.zeros(0))
    m_rate = margin.annual_rate(sofr_c) if margin is not None else np.zeros((0, 0))
    # the margin loan's record: every field, or (with ``fields``) those its DebtLedger shows
    # that ``fields`` names, and what the lender received (its cash flows) always
    m_names = _M_FIELDS if fields is None else _margin_fields(names)
    m_slot = np.full(len(_M_FIELDS), -1, dtype=np.int64)
    for j, name in enumerate(m_names):
        m_slot[_M_FIELDS.index(name)] = j
    out_m = np.zeros((len(m_names), m_paths, m_months))
    out_mb = np.zeros((3, m_paths, m_months), dtype=np.bool_)
    out_mp = np.zeros((2, m_paths))
    out_mi = np.zeros((3, m_paths), dtype=np.int64)

    def f64(values: list[float]) -> Float64Array:
        return np.array(values, dtype=np.float64)

    def i64(values: list[int]) -> Int64Array:
        return np.array(values, dtype=np.int64)

    def flag(values: list[bool]) -> np.ndarray:
        return np.array(values, dtype=np.bool_)

    _structure_kernel(
        n,
        cfads_c,
        sofr_c,
        annual,
        pools,
        basis,
        reg,
        ext,
        external_default_month is not None,
        default_free,
        structure.unfunded_opex_defaults,
        float(opening_cash_usd),
        margin is not None,
        f64(
            [
                margin.principal_usd,
                margin.pledged_btc,
                margin.top_up_to_ltv,
                margin.margin_call_ltv,
                margin.liquidation_ltv,
                margin.liquidation_penalty,
            ]
            if margin is not None
            else [0.0] * 6
        ),
        margin.tenor_months if margin is not None else 0,
        m_btc,
        np.ascontiguousarray(m_rate, dtype=np.float64),
        m_free,
        m_slot,
        out_m,
        out_mb,
        out_mp,
        out_mi,
        equity is not None,
        float(equity.market_cap_usd + debt0) if equity is not None else 0.0,
        float(equity.shares_outstanding) if equity is not None else 1.0,
        f64([f.loan.principal_usd for f in facs]),
        i64([f.tenor_months for f in facs]),
        i64([_AMORT[f.loan.amortisation] for f in facs]),
        _padded(
            [np.asarray(f.loan.schedule_share, dtype=np.float64) for f in facs],
            max((len(f.loan.schedule_share) for f in facs), default=1),
        ),
        f64([f.loan.dsra_months for f in facs]),
        i64(ranks),
        flag([f.draw_due is not None for f in facs]),
        _padded(
            [f.draw_due if f.draw_due is not None else np.zeros(0) for f in facs],
            max((f.draw_due.size for f in facs if f.draw_due is not None), default=1),
        ),
        draw_hit,
        drawn,
        fee_m,
        flag([bool(f.call_month.size) for f in facs]),
        call_on,
        call_px,
        i64([f.coupon_every_months for f in facs]),
        flag(
            [f.loan.amortisation in ("bullet", "schedule") or f.draw_due is not None for f in facs]
        ),
        flag([f.advance_rate is not None for f in facs]),
        f64([f.advance_rate or 0.0 for f in facs]),
        # a cure beyond the horizon never ends, whatever its length: capped so int64 holds it
        i64([min(f.cure_months, n + 1) for f in facs]),
        flag([f.conversion_price_usd is not None for f in facs]),
        f64([f.conversion_price_usd or 1.0 for f in facs]),
        f64([f.refinancing.max_ltv for f in facs]),
        flag([f.refinancing.min_dscr is not None for f in facs]),
        f64([f.refinancing.min_dscr or 0.0 for f in facs]),
        flag([f.refinancing.needs_open_market for f in facs]),
        f64([f.refinancing.spread[0] for f in facs]),
        f64([f.refinancing.spread[1] for f in facs]),
        i64([f.last_draw_month for f in facs]),
        i64([dscr_window(k) for k in range(n_fac)]),
        i64(order),
        i64(sorted(range(n_fac), key=lambda j: ranks[j])),
        sharing,
        cov_start,
        i64([COVENANT_KIND_CODES[c.kind] for _, c in covs]),
        f64([c.threshold for _, c in covs]),
        i64([c.window_months for _, c in covs]),
        i64([min(c.cure_period_months, n + 1) for _, c in covs]),
        i64([_CONSEQUENCE[c.consequence] for _, c in covs]),
        flag([c.waiver is not None for _, c in covs]),
        f64([c.waiver.max_ltv if c.waiver is not None else 0.0 for _, c in covs]),
        f64([c.waiver.fee if c.waiver is not None else 0.0 for _, c in covs]),
        f64([c.waiver.step_up if c.waiver is not None else 0.0 for _, c in covs]),
        i64([c.waiver.max_waivers if c.waiver is not None else 0 for _, c in covs]),
        i64([STEP_CODES[s.kind] for s in steps]),
        i64([s.facility for s in steps]),
        f64([s.share for s in steps]),
        f64([s.usd_per_month for s in steps]),
        f64([s.target_usd for s in steps]),
        slot,
        out_f,
        out_alive,
        out_breach,
        out_fp,
        out_fi,
        out_d,
        out_step,
        out_default,
        out_e,
        parent_support_end_month is not None,
        np.zeros(n_paths, dtype=np.int64)
        if parent_support_end_month is None
        else np.ascontiguousarray(np.asarray(parent_support_end_month, dtype=np.int64)),
        support_cap(parent_support_cap_usd),
        np.zeros((n_paths, len(facs)), dtype=np.int64)
        if pik_end_month is None
        else np.ascontiguousarray(pik_end_month, dtype=np.int64),
        share_path is not None,
        share_path if share_path is not None else np.zeros((1, 1)),
        i64([f.soft_call_month for f in facs]),
        f64([f.soft_call_trigger for f in facs]),
        i64([f.refinancing.new_tenor_months for f in facs]),
        flag([f.refinancing.new_level_payment for f in facs]),
        f64([f.refinancing.spread_per_ltv for f in facs]),
        f64([f.refinancing.ltv_pivot for f in facs]),
        i64([f.put_month for f in facs]),
        f64([f.put_price for f in facs]),
        flag([f.refinancing.enterprise for f in facs]),
        i64([f.refinancing.window_months for f in facs]),
        reg if enterprise_window is None else np.ascontiguousarray(enterprise_window, np.int64),
    )
    missing = np.broadcast_to(np.float64(np.nan), (n_paths, n_all))

    def field(k: int, index: int) -> Float64Array:
        j = int(slot[index])
        return out_f[k, j] if j >= 0 else missing

    ledgers = tuple(
        DebtLedger(
            alive=out_alive[k],
            balance=field(k, _BAL),
            interest_due=field(k, _INT_DUE),
            interest_paid=field(k, _INT_PAID),
            principal_paid=field(k, _PRIN_PAID),
            prepaid=field(k, _PREPAID),
            refinanced=field(k, _REFI),
            ds_scheduled=field(k, _DS_SCHED),
            dsra_balance=field(k, _DSRA_BAL),
            dsra_draw=field(k, _DSRA_DRAW),
            dsra_topup=field(k, _DSRA_TOP),
            lockup_balance=out_d[_D_LK],
            lockup_draw=field(k, _LK_DRAW),
            lockup_in=field(k, _LK_IN),
            reserve_release=field(k, _RELEASE),
            distribution=out_d[_D_DIST],
            trapped=field(k, _TRAPPED),
            unfunded_opex=out_d[_D_UNF],
            dscr=field(k, _DSCR),
            dscr_trailing=field(k, _DSCR_TR),
            ltv=field(k, _LTV),
            breach=out_breach[k],
            default_month=out_fi[k, _F_MONTH],
            default_kind=out_fi[k, _F_KIND],
            ead=out_fp[k, _F_EAD],
            pledged_cash=out_fp[k, _F_PLEDGED],
            initial_dsra=out_fp[k, _F_DSRA0],
            waivers=out_fi[k, _F_WAIVERS],
            extra_received=field(k, _EXTRA),
            dspa_balance=field(k, _DSPA_BAL),
            dspa_in=field(k, _DSPA_IN),
            dspa_draw=field(k, _DSPA_DRAW),
            parent_support=field(k, _PSUP) if parent_support_end_month is not None else None,
        )
        for k in range(n_fac)
    )
    ml: MarginLoanLedger | None = None
    margin_facility: DebtLedger | None = None
    if margin is not None:

        def m_field(name: str) -> Float64Array:
            j = int(m_slot[_M_FIELDS.index(name)])
            return out_m[j] if j >= 0 else missing

        ml = MarginLoanLedger(
            margin_call=out_mb[_MB_CALL],
            liquidated=out_mb[_MB_SOLD],
            shortfall_month=out_mi[_MI_SHORT],
            recovery_usd=out_mp[_MP_REC],
            **{name: m_field(name) for name in MONTHLY_FIELDS},
        )
        margin_facility = margin_debt_ledger(
            ml,
            out_mb[_MB_ALIVE],
            m_field("ltv"),
            out_mi[_MI_MONTH],
            out_mi[_MI_KIND],
            out_mp[_MP_EAD],
        )
        cfads = cfads_c - m_field("cash_paydown_usd")
    return StructureLedger(
        facilities=ledgers,
        step_paid=out_step,
        cfads=np.asarray(cfads, dtype=np.float64),
        debt_service=out_d[_D_DS],
        dscr=out_d[_D_DSCR],
        lockup_balance=out_d[_D_LK],
        maintenance_balance=out_d[_D_MRA],
        distribution=out_d[_D_DIST],
        unfunded_opex=out_d[_D_UNF],
        trapped=out_d[_D_TRAP],
        refinanced_debt=out_d[_D_REFI],
        default_month=out_default,
        estate_cash=out_e[_E_ESTATE],
        refinanced_claim=out_e[_E_REFI],
        share_price=out_d[_D_SHARE],
        margin=ml,
        margin_facility=margin_facility,
    )


def loan_structure(terms: LoanTerms) -> StructureTerms:
    """A single loan as a structure: one facility, the default steps, its refinancing test."""
    facility = FacilityTerms(loan=terms, refinancing=RefinancingTerms(terms.refinancing_max_ltv))
    return StructureTerms((facility,), default_steps((facility,)), unfunded_opex_defaults=True)


def run_loan(
    terms: LoanTerms,
    cfads: Float64Array,
    collateral_value: Float64Array,
    sofr: Float64Array,
    *,
    compiled: bool = True,
    fields: Collection[str] | None = None,
    external_default_month: Int64Array | None = None,
) -> DebtLedger:
    """One term loan through the structure engine (``loan_structure``), as a ``DebtLedger``.

    Parameters
    ----------
    terms : LoanTerms
    cfads : ndarray, shape (path, month), USD per month
    collateral_value : ndarray, shape (path, month), USD at each month's end
    sofr : ndarray, shape (path, month), decimal per year
    compiled : bool
        The compiled engine (``run_structure_compiled``), else its NumPy oracle
        (``structure.run_structure``); the two give the same ledger to the bit.
    fields : collection of str, optional
        The per-month float fields to record (compiled engine only; see
        ``run_structure_compiled``); default all.
    external_default_month : ndarray of int, shape (path,), optional
        An outside default of the borrower (a book's company default time, ``pipeline.book``):
        a cross-default in that month, as the structure engine's argument of that name.

    Returns
    -------
    DebtLedger
        The facility's ledger; ``pledged_cash`` is what the lender takes at default: the
        facility's DSRA plus the deal's accounts and trapped cash (the structure's
        ``estate_cash``), as ``waterfall.run_waterfall`` counts it.
    """
    args = (loan_structure(terms), cfads, np.asarray(collateral_value)[:, :, None], sofr)
    if compiled:
        out = run_structure_compiled(
            *args, fields=fields, external_default_month=external_default_month
        )
    else:
        out = run_structure(*args, external_default_month=external_default_month)
    ledger = out.facilities[0]
    return replace(ledger, pledged_cash=ledger.pledged_cash + out.estate_cash, extra_received=None)


def pool_values(structure: StructureTerms, cohort_value: Float64Array) -> Float64Array:
    """Each facility's collateral pool: its cohorts' values summed, plus its pledged real
    estate, USD, shape (facility, path, month) from ``cohort_value`` (path, month, cohort).

    The same NumPy reductions as the oracle's (``structure.run_structure``), so the two engines
    see the same numbers; they depend on the facilities' pools only, not on their coupons.
    """
    n_paths, n_all = cohort_value.shape[:2]
    pools = np.zeros((len(structure.facilities), n_paths, n_all))
    for k, f in enumerate(structure.facilities):
        pools[k] = cohort_value[:, :, list(f.pool) if f.pool else slice(None)].sum(axis=2)
        if f.real_estate_value_usd:  # pledged real estate, as the oracle adds it
            pools[k] = pools[k] + f.real_estate_value_usd
    return pools
