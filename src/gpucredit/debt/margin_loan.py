"""A bitcoin-backed margin loan: the LTV ladder as a pure step function and a monthly runner.

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
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from gpucredit._typing import BoolArray, Float64Array, Int64Array
from gpucredit.config.miner import MarginLoanSpec
from gpucredit.config.spec import FixedRateSpec

__all__ = [
    "LadderState",
    "LadderStep",
    "MarginLoanLedger",
    "MarginLoanTerms",
    "ladder_step",
    "margin_loan_terms",
    "run_margin_loan",
]

_CASH_TOL_USD = 1e-6  # a call needing a micro-dollar more cash than available is still met


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
    met = call & (cash_need <= cash_available_usd + _CASH_TOL_USD)
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
        caller subtracts it from the miner's cash.
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
    default_month : ndarray of int, shape (path,)
        First month (1-based) with a shortfall; ``n_months + 1`` when there is none.
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
    default_month: Int64Array


#: The ledger's per-month arrays that are one ``LadderStep`` field each.
_STEP_FIELDS = tuple(f.name for f in dataclasses.fields(LadderStep))


def run_margin_loan(
    terms: MarginLoanTerms,
    btc_usd: Float64Array,
    free_btc: Float64Array,
    cash_available: Float64Array,
    sofr: Float64Array,
) -> MarginLoanLedger:
    """Run the LTV ladder over every path and month (loop over months, vectorised over paths).

    Parameters
    ----------
    terms : MarginLoanTerms
        The loan; funded at ``terms.principal_usd`` against ``terms.pledged_btc`` on ``as_of``.
    btc_usd : ndarray, shape (path, month)
        Month-end BTC price, USD per BTC, > 0.
    free_btc : ndarray, shape (path,)
        Treasury BTC not pledged on ``as_of``, BTC, >= 0.
    cash_available : ndarray, shape (path, month)
        Cash the borrower can put into the loan in each month, USD, >= 0 (cash unused in a
        month is not carried by this function; the caller's cash account does that).
    sofr : ndarray, shape (path, month)
        SOFR, annual decimal (ignored by a fixed-rate loan).

    Returns
    -------
    MarginLoanLedger
    """
    btc = np.asarray(btc_usd, dtype=np.float64)
    cash = np.asarray(cash_available, dtype=np.float64)
    rates = terms.annual_rate(np.asarray(sofr, dtype=np.float64))
    free0 = np.asarray(free_btc, dtype=np.float64)
    if btc.ndim != 2 or cash.shape != btc.shape or rates.shape != btc.shape:
        raise ValueError(
            f"run_margin_loan: btc_usd, cash_available and sofr must share one (path, month) "
            f"shape, got {btc.shape}, {cash.shape}, {rates.shape}"
        )
    n_paths, n_months = btc.shape
    if free0.shape != (n_paths,):
        raise ValueError(f"run_margin_loan: free_btc must have shape ({n_paths},)")
    if not np.all(btc > 0.0):
        raise ValueError("run_margin_loan: btc_usd must be > 0 everywhere")
    if np.any(cash < 0.0) or np.any(free0 < 0.0):
        raise ValueError("run_margin_loan: cash_available and free_btc must be >= 0")

    state = LadderState(
        balance_usd=np.full(n_paths, terms.principal_usd),
        pledged_btc=np.full(n_paths, terms.pledged_btc),
        free_btc=free0.copy(),
        live=np.ones(n_paths, dtype=bool),
    )
    out: dict[str, np.ndarray] = {
        name: np.zeros(
            (n_paths, n_months), dtype=bool if name in ("margin_call", "liquidated") else np.float64
        )
        for name in _STEP_FIELDS
    }
    balance = np.zeros((n_paths, n_months))
    pledged = np.zeros((n_paths, n_months))
    free = np.zeros((n_paths, n_months))
    default_month = np.full(n_paths, n_months + 1, dtype=np.int64)
    for m in range(n_months):
        state, step = ladder_step(terms, state, m + 1, btc[:, m], cash[:, m], rates[:, m])
        for name in _STEP_FIELDS:
            out[name][:, m] = getattr(step, name)
        balance[:, m] = state.balance_usd
        pledged[:, m] = state.pledged_btc
        free[:, m] = state.free_btc
        first = (step.shortfall_usd > 0.0) & (default_month > n_months)
        default_month[first] = m + 1
    return MarginLoanLedger(
        balance_usd=balance,
        pledged_btc=pledged,
        free_btc=free,
        default_month=default_month,
        **out,
    )
