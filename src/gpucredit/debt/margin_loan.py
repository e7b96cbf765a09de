"""A bitcoin-backed margin loan: the LTV ladder as a pure step function, and its lender.

The margin loan is a facility of the one waterfall program (``StructureTerms.margin``): its
step ``margin_ladder`` runs first each month, before the structure's waterfall, in both
engines (``debt.structure.run_structure`` calls ``ladder_step`` below; the compiled kernel in
``debt.engine`` is its numba twin, held equal to it by ``tests/oracle``).

The ladder is tested once a month on the month-end BTC price, in this exact order:

1. **Accrue.** ``interest = balance x annual rate / 12`` is added to the balance (interest is
   capitalised, as on Coinbase's Morpho-based loans where it accrues to the debt; nothing is
   paid in cash until a call or maturity). The rate is the fixed coupon, or
   ``max(SOFR, floor) + margin``.
2. **Test.** ``LTV = balance / (pledged BTC x price)`` (``ltv_before``).
3. **Liquidation level.** ``LTV >= liquidation LTV``: the lender liquidates at once, without a
   chance to cure.
4. **Margin call.** ``margin call LTV <= LTV < liquidation LTV``: the borrower must bring the
   LTV back to ``top_up_to``, first by pledging free BTC, then by paying the balance down with
   cash. A call is met in full or not at all: when free BTC and this month's cash together
   cannot reach ``top_up_to``, the borrower keeps both and the lender liquidates (a rational
   borrower does not pledge more into a loan that will be closed out anyway).
5. **Maturity** (month ``tenor``), if not liquidated: the balance is repaid from cash; the loan
   is not refinanced. Whatever cash cannot repay is a payment default, and the lender
   liquidates the pledge for it as in 6 (a borrower who wants to sell its free BTC first
   passes that sale in as cash).
6. **Liquidation.** The lender sells just enough pledged BTC at the month-end price to cover
   ``balance x (1 + penalty)``, or all of it if that is not enough. Proceeds net of the penalty
   repay the loan; the penalty is ``proceeds x penalty / (1 + penalty)``; surplus BTC returns
   to the borrower; an uncovered remainder is a ``shortfall_usd`` (an unsecured deficiency
   claim) and the month of the first shortfall is the event of default (``default_month``).
   The loan is then closed.

Closed loans (liquidated or repaid) release their pledge to the free BTC. Each month
``pledged + free + BTC sold so far`` equals the BTC at the start, and the balance moves only
by ``interest - cash paid - (proceeds - penalty) - shortfall``.

**The lender** (``MarginLender``). A shortfall is the margin loan's own default (kind 6,
``margin_liquidation``): the lender recovers the liquidation's proceeds net of the penalty and
the shortfall is its loss; the borrower's other facilities are accelerated in that month
(cross-default). When the borrower defaults on another facility first, while the loan is
outstanding at the month's start, the margin loan is accelerated (kind 5, ``cross_default``):
the ladder's actions of that month do not reach the lender, which sells the pledge as it stood
at the month's start at that month's price, keeps the penalty as in 6 and recovers at most the
balance with the month's interest. The ladder's own record (balances, pledge, free BTC) runs on
to the horizon either way: the borrower's treasury does not depend on which lender is paid.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from gpucredit._typing import BoolArray, Float64Array, Int64Array
from gpucredit.config.miner import MarginLoanSpec
from gpucredit.config.spec import FixedRateSpec
from gpucredit.debt.ledger import DebtLedger

__all__ = [
    "ACCELERATED",
    "CASH_TOL_USD",
    "LIQUIDATED",
    "MONTHLY_FIELDS",
    "NO_DSCR",
    "LadderState",
    "LadderStep",
    "MarginLender",
    "MarginLoanLedger",
    "MarginLoanTerms",
    "ladder_step",
    "margin_debt_ledger",
    "margin_loan_terms",
]

#: ``DebtLedger.default_kind`` of the margin loan: accelerated by another facility's default,
#: and its own liquidation with a shortfall (``ledger.DEFAULT_KINDS``).
ACCELERATED = 5
LIQUIDATED = 6
#: The margin loan's ``DebtLedger.dscr``: it has no scheduled debt service of its own.
NO_DSCR = 1e6

CASH_TOL_USD = 1e-6  # a call needing a micro-dollar more cash than available is still met


@dataclass(frozen=True, slots=True)
class MarginLoanTerms:
    """A margin loan in engine units (decimals, months).

    Attributes
    ----------
    principal_usd : float
        Balance funded on ``as_of``, USD.
    tenor_months : int
        Month (1-based) in which the balance is due.
    pledged_btc : float
        BTC pledged on ``as_of``.
    floating : bool
        SOFR + margin (True) or fixed coupon.
    fixed_coupon, margin, floor : float
        Annual decimals.
    top_up_to_ltv, margin_call_ltv, liquidation_ltv, liquidation_penalty : float
        Decimals, ``top_up_to < margin_call < liquidation <= 1``.
    """

    name: str
    principal_usd: float
    tenor_months: int
    pledged_btc: float
    floating: bool
    fixed_coupon: float
    margin: float
    floor: float
    top_up_to_ltv: float
    margin_call_ltv: float
    liquidation_ltv: float
    liquidation_penalty: float

    def __post_init__(self) -> None:
        if not 0.0 < self.top_up_to_ltv < self.margin_call_ltv < self.liquidation_ltv <= 1.0:
            raise ValueError(
                "MarginLoanTerms: expected 0 < top_up_to_ltv < margin_call_ltv < "
                f"liquidation_ltv <= 1, got {self.top_up_to_ltv}, {self.margin_call_ltv}, "
                f"{self.liquidation_ltv}"
            )
        if self.tenor_months < 1 or self.pledged_btc <= 0.0 or self.principal_usd <= 0.0:
            raise ValueError("MarginLoanTerms: tenor, pledge and principal must be positive")

    def with_add_on(self, add_on: float) -> MarginLoanTerms:
        """The loan with its coupon (fixed) or margin (floating) moved by ``add_on``."""
        if self.floating:
            return dataclasses.replace(self, margin=self.margin + add_on)
        return dataclasses.replace(self, fixed_coupon=self.fixed_coupon + add_on)

    def annual_rate(self, sofr: Float64Array) -> Float64Array:
        """All-in annual rate given SOFR (decimal), shape of ``sofr``."""
        if self.floating:
            return np.asarray(np.maximum(sofr, self.floor) + self.margin, dtype=np.float64)
        return np.full_like(sofr, self.fixed_coupon, dtype=np.float64)


def margin_loan_terms(spec: MarginLoanSpec) -> MarginLoanTerms:
    """Engine terms of a ``MarginLoanSpec``."""
    rate = spec.rate
    fixed = isinstance(rate, FixedRateSpec)
    return MarginLoanTerms(
        name=spec.name,
        principal_usd=spec.principal_usd,
        tenor_months=spec.tenor_months,
        pledged_btc=spec.pledged_btc,
        floating=not fixed,
        fixed_coupon=rate.coupon if isinstance(rate, FixedRateSpec) else 0.0,
        margin=0.0 if isinstance(rate, FixedRateSpec) else rate.margin,
        floor=0.0 if isinstance(rate, FixedRateSpec) else rate.floor,
        top_up_to_ltv=spec.top_up_to_ltv,
        margin_call_ltv=spec.margin_call_ltv,
        liquidation_ltv=spec.liquidation_ltv,
        liquidation_penalty=spec.liquidation_penalty,
    )


@dataclass(frozen=True, slots=True)
class LadderState:
    """State of the loan on every path between months, shape (path,).

    ``live`` is False once the loan is liquidated or repaid.
    """

    balance_usd: Float64Array
    pledged_btc: Float64Array
    free_btc: Float64Array
    live: BoolArray


@dataclass(frozen=True, slots=True)
class LadderStep:
    """What happened in one month, shape (path,); see ``MarginLoanLedger`` for each field."""

    interest_usd: Float64Array
    ltv_before: Float64Array
    ltv_after: Float64Array
    margin_call: BoolArray
    top_up_btc: Float64Array
    cash_paydown_usd: Float64Array
    liquidated: BoolArray
    liquidated_btc: Float64Array
    liquidation_proceeds_usd: Float64Array
    penalty_usd: Float64Array
    shortfall_usd: Float64Array


def ladder_step(
    terms: MarginLoanTerms,
    state: LadderState,
    month: int,
    btc_usd: Float64Array,
    cash_available_usd: Float64Array,
    annual_rate: Float64Array,
) -> tuple[LadderState, LadderStep]:
    """One month of the ladder (module docstring, steps 1-6) on every path.

    Parameters
    ----------
    terms : MarginLoanTerms
    state : LadderState
        State at the end of the previous month.
    month : int
        1-based month; maturity when it equals ``terms.tenor_months``.
    btc_usd : ndarray, shape (path,)
        Month-end BTC price, USD per BTC, > 0.
    cash_available_usd : ndarray, shape (path,)
        Cash the borrower can put into the loan this month, USD, >= 0.
    annual_rate : ndarray, shape (path,)
        All-in annual rate, decimal.

    Returns
    -------
    (LadderState, LadderStep)
        The new state and this month's actions.
    """
    live = state.live
    balance = state.balance_usd.copy()
    pledged = state.pledged_btc.copy()
    free = state.free_btc.copy()
    zeros = np.zeros_like(balance)

    interest = np.where(live, balance * annual_rate / 12.0, 0.0)
    balance += interest
    collateral = pledged * btc_usd
    ltv_before = np.divide(balance, collateral, out=zeros.copy(), where=live)

    liquidate = live & (ltv_before >= terms.liquidation_ltv)
    call = live & ~liquidate & (ltv_before >= terms.margin_call_ltv)

    # the cure: pledge free BTC up to what the target needs, then cash for the rest
    target = terms.top_up_to_ltv
    need_btc = np.where(call, np.maximum(balance / (target * btc_usd) - pledged, 0.0), 0.0)
    btc_offered = np.minimum(need_btc, free)
    cash_need = np.where(
        call, np.maximum(balance - target * (pledged + btc_offered) * btc_usd, 0.0), 0.0
    )
    met = call & (cash_need <= cash_available_usd + CASH_TOL_USD)
    top_up = np.where(met, btc_offered, 0.0)
    cash_paid = np.where(met, np.minimum(cash_need, cash_available_usd), 0.0)
    pledged += top_up
    free -= top_up
    balance -= cash_paid
    liquidate |= call & ~met

    # maturity: repay from cash; any remainder is enforced on the pledge
    mature = live & ~liquidate & (month == terms.tenor_months)
    repay = np.where(mature, np.minimum(cash_available_usd - cash_paid, balance), 0.0)
    repay = np.maximum(repay, 0.0)
    balance -= repay
    cash_paid = cash_paid + repay
    liquidate |= mature & (balance > 0.0)

    # liquidation: sell enough pledged BTC for balance x (1 + penalty), or all of it
    pen = terms.liquidation_penalty
    btc_for_claim = balance * (1.0 + pen) / btc_usd
    covered = pledged >= btc_for_claim
    sold = np.where(liquidate, np.where(covered, btc_for_claim, pledged), 0.0)
    proceeds = sold * btc_usd
    penalty = np.where(
        liquidate, np.where(covered, balance * pen, proceeds * pen / (1.0 + pen)), 0.0
    )
    shortfall = np.where(liquidate & ~covered, np.maximum(balance - (proceeds - penalty), 0.0), 0.0)
    pledged -= sold
    balance = np.where(liquidate, 0.0, balance)

    closed = live & (liquidate | mature)
    free = np.where(closed, free + pledged, free)
    pledged = np.where(closed, 0.0, pledged)
    still = live & ~closed
    ltv_after = np.divide(balance, pledged * btc_usd, out=zeros.copy(), where=still)

    new_state = LadderState(balance_usd=balance, pledged_btc=pledged, free_btc=free, live=still)
    step = LadderStep(
        interest_usd=interest,
        ltv_before=ltv_before,
        ltv_after=ltv_after,
        margin_call=call,
        top_up_btc=top_up,
        cash_paydown_usd=cash_paid,
        liquidated=liquidate,
        liquidated_btc=sold,
        liquidation_proceeds_usd=proceeds,
        penalty_usd=penalty,
        shortfall_usd=shortfall,
    )
    return new_state, step


@dataclass(frozen=True, slots=True)
class MarginLoanLedger:
    """The margin loan on every path and month, shape (path, month) unless noted.

    Its ``DebtLedger`` (what the credit layer reads: alive, LTV, default month and kind, EAD)
    comes beside it in ``StructureLedger.margin_facility``.

    Attributes
    ----------
    balance_usd : ndarray
        Balance at the month's end after every action, USD (0 once closed).
    interest_usd : ndarray
        Interest accrued (capitalised) in the month, USD.
    ltv_before, ltv_after : ndarray
        LTV after accrual and before any action, and at the month's end, ratio (0 while the
        loan is closed, and ``ltv_after`` is 0 in the month it closes).
    margin_call : ndarray of bool
        A margin call was made (met or not).
    top_up_btc : ndarray
        Free BTC pledged to meet a call, BTC.
    cash_paydown_usd : ndarray
        Cash the borrower paid to the lender (call cures and repayment at maturity), USD; the
        structure's waterfall gets the month's cash net of it.
    liquidated : ndarray of bool
        The lender sold the pledge this month (liquidation LTV, unmet call or unpaid maturity).
    liquidated_btc : ndarray
        Pledged BTC sold by the lender, BTC.
    liquidation_proceeds_usd : ndarray
        Gross proceeds of that sale, USD.
    penalty_usd : ndarray
        Liquidation penalty kept out of the proceeds, USD.
    shortfall_usd : ndarray
        Balance the proceeds net of the penalty did not cover: an unsecured deficiency claim,
        USD.
    pledged_btc, free_btc : ndarray
        BTC pledged to the loan and free in the treasury at the month's end.
    received_usd : ndarray
        What the lender received in the month before any recovery, USD: cash paid down and
        liquidation proceeds net of the penalty, until its default month (in which only an own
        default's cash paydown counts; the recovery is apart).
    shortfall_month : ndarray of int, shape (path,)
        First month (1-based) with a shortfall, the loan's own default; 0 when there is none.
    recovery_usd : ndarray, shape (path,)
        What the lender recovers in its default month, USD (0 without a default).
    """

    balance_usd: Float64Array
    interest_usd: Float64Array
    ltv_before: Float64Array
    ltv_after: Float64Array
    margin_call: BoolArray
    top_up_btc: Float64Array
    cash_paydown_usd: Float64Array
    liquidated: BoolArray
    liquidated_btc: Float64Array
    liquidation_proceeds_usd: Float64Array
    penalty_usd: Float64Array
    shortfall_usd: Float64Array
    pledged_btc: Float64Array
    free_btc: Float64Array
    received_usd: Float64Array
    shortfall_month: Int64Array
    recovery_usd: Float64Array


#: The ledger's per-month arrays that are one ``LadderStep`` field each.
STEP_FIELDS = tuple(f.name for f in dataclasses.fields(LadderStep))
#: The per-month float fields of ``MarginLoanLedger``.
MONTHLY_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(MarginLoanLedger)
    if f.name not in ("margin_call", "liquidated", "shortfall_month", "recovery_usd")
)


class MarginLender:
    """The margin facility's steps in the NumPy program, vectorised over paths.

    ``ladder(t, ...)`` is the step ``margin_ladder`` of month ``t + 1`` (``ladder_step`` plus
    the lender's own-default record); ``cross_default(t, now)`` accelerates the loan where the
    borrower defaults on another facility in that month; ``ledgers()`` the records, laid out
    (path, month). The compiled kernel in ``debt.engine`` does the same per path.

    Parameters
    ----------
    terms : MarginLoanTerms
    n_paths, n_months : int
        The block's paths and the run's months (the ladder runs over every one).
    free_btc : ndarray, shape (path,)
        The borrower's BTC not pledged on the as-of date, BTC, >= 0.
    default_free : bool
        The promised-cash-flow run: the lender records no default (``run_structure``).
    """

    def __init__(
        self,
        terms: MarginLoanTerms,
        n_paths: int,
        n_months: int,
        free_btc: Float64Array,
        default_free: bool,
    ) -> None:
        self.terms = terms
        self.default_free = default_free
        self.state = LadderState(
            balance_usd=np.full(n_paths, terms.principal_usd),
            pledged_btc=np.full(n_paths, terms.pledged_btc),
            free_btc=np.array(free_btc, dtype=np.float64),
            live=np.ones(n_paths, dtype=bool),
        )
        shape = (n_months, n_paths)  # month-major, as the structure's oracle
        self.out = {name: np.zeros(shape) for name in MONTHLY_FIELDS}
        self.call = np.zeros(shape, dtype=bool)
        self.sold = np.zeros(shape, dtype=bool)
        self.alive = np.zeros(shape, dtype=bool)
        self.shortfall_month = np.zeros(n_paths, dtype=np.int64)
        self.default_month = np.zeros(n_paths, dtype=np.int64)
        self.kind = np.zeros(n_paths, dtype=np.int64)
        self.ead = np.zeros(n_paths)
        self.recovery = np.zeros(n_paths)
        # the month's start, for an acceleration later in the month
        self.opened = np.zeros(n_paths, dtype=bool)
        self.start_balance = np.zeros(n_paths)
        self.start_pledge = np.zeros(n_paths)
        self.btc = np.zeros(n_paths)

    def ladder(
        self,
        t: int,
        btc_usd: Float64Array,
        cash_available_usd: Float64Array,
        annual_rate: Float64Array,
    ) -> tuple[Float64Array, BoolArray]:
        """Month ``t + 1``'s ladder; returns the cash paid to the lender (USD, shape (path,))
        and where the loan defaults on its own this month (a shortfall)."""
        s = self.state
        self.opened = s.balance_usd > 0.0
        self.start_balance = s.balance_usd
        self.start_pledge = s.pledged_btc
        self.btc = btc_usd
        self.alive[t] = self.opened & (self.default_month == 0)
        before = self.default_month > 0
        self.state, step = ladder_step(
            self.terms, s, t + 1, btc_usd, cash_available_usd, annual_rate
        )
        out = self.out
        for name in STEP_FIELDS:
            if name == "margin_call":
                self.call[t] = step.margin_call
            elif name == "liquidated":
                self.sold[t] = step.liquidated
            else:
                out[name][t] = getattr(step, name)
        out["balance_usd"][t] = self.state.balance_usd
        out["pledged_btc"][t] = self.state.pledged_btc
        out["free_btc"][t] = self.state.free_btc
        own = (step.shortfall_usd > 0.0) & (self.shortfall_month == 0)
        self.shortfall_month = np.where(own, t + 1, self.shortfall_month)
        hit = own & ~before & (not self.default_free)
        net = step.liquidation_proceeds_usd - step.penalty_usd
        self.default_month = np.where(hit, t + 1, self.default_month)
        self.kind = np.where(hit, LIQUIDATED, self.kind)
        self.recovery = np.where(hit, net, self.recovery)
        self.ead = np.where(hit, net + step.shortfall_usd, self.ead)
        received = step.cash_paydown_usd + np.where(step.liquidated & ~hit, net, 0.0)
        out["received_usd"][t] = np.where(before, 0.0, received)
        return step.cash_paydown_usd, own

    def cross_default(self, t: int, now: BoolArray) -> None:
        """Accelerate the loan where the borrower defaults on another facility in month
        ``t + 1`` while the loan was outstanding at the month's start."""
        if self.default_free:
            return
        hit = now & (self.default_month == 0) & self.opened
        ead = self.start_balance + self.out["interest_usd"][t]
        sale = self.start_pledge * self.btc / (1.0 + self.terms.liquidation_penalty)
        self.default_month = np.where(hit, t + 1, self.default_month)
        self.kind = np.where(hit, ACCELERATED, self.kind)
        self.ead = np.where(hit, ead, self.ead)
        self.recovery = np.where(hit, np.minimum(ead, sale), self.recovery)
        self.out["received_usd"][t] = np.where(hit, 0.0, self.out["received_usd"][t])

    def ledgers(self) -> tuple[MarginLoanLedger, DebtLedger]:
        """The loan's records and its ``DebtLedger``, (path, month)."""

        def back(a: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(a.T)

        out = {name: back(a) for name, a in self.out.items()}
        ml = MarginLoanLedger(
            margin_call=back(self.call),
            liquidated=back(self.sold),
            shortfall_month=self.shortfall_month,
            recovery_usd=self.recovery,
            **out,
        )
        alive = back(self.alive)
        return ml, margin_debt_ledger(
            ml, alive, np.where(alive, ml.ltv_before, 0.0), self.default_month, self.kind, self.ead
        )


def margin_debt_ledger(
    ml: MarginLoanLedger,
    alive: BoolArray,
    ltv: Float64Array,
    default_month: Int64Array,
    default_kind: Int64Array,
    ead: Float64Array,
) -> DebtLedger:
    """The margin facility's ``DebtLedger`` (both engines): its balance, the interest it
    accrues, the cash paid down as principal, the LTV while alive, the margin calls as
    breaches; no DSCR of its own (``NO_DSCR``), no reserves."""
    p, n = alive.shape
    z = np.zeros((p, n))
    return DebtLedger(
        alive=alive,
        balance=ml.balance_usd,
        interest_due=ml.interest_usd,
        interest_paid=z,
        principal_paid=ml.cash_paydown_usd,
        prepaid=z,
        refinanced=z,
        ds_scheduled=z,
        dsra_balance=z,
        dsra_draw=z,
        dsra_topup=z,
        lockup_balance=z,
        lockup_draw=z,
        lockup_in=z,
        reserve_release=z,
        distribution=z,
        trapped=z,
        unfunded_opex=z,
        dscr=np.full((p, n), NO_DSCR),
        dscr_trailing=z,
        ltv=ltv,
        breach=ml.margin_call,
        default_month=default_month,
        default_kind=default_kind,
        ead=ead,
        pledged_cash=np.zeros(p),
        initial_dsra=np.zeros(p),
        waivers=np.zeros(p, dtype=np.int64),
    )
