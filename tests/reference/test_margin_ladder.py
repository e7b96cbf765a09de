"""A margin-call ladder worked out by hand on a fixed six-month bitcoin path.

Loan: 60,000 USD at a fixed 12% (1% a month, capitalised) against 1.0 BTC, 0.3 BTC free in the
treasury. Ladder: top up to 60%, margin call at 75%, liquidation at 86% with a 4.38% penalty
(the Coinbase/Morpho pair, REFERENCES.md "Bitcoin miners"). Tenor 12 months (no maturity here).

month  price    balance after accrual     LTV = balance / (pledged x price)     action
1      100,000  60,000 x 1.01 = 60,600    60,600 / 100,000 = 60.60%              none
2       80,000  60,600 x 1.01 = 61,206    61,206 / 80,000 = 76.5075% >= 75%      call: pledge
        61,206 / (0.60 x 80,000) - 1.0 = 0.275125 BTC of the 0.3 free -> LTV 60%, 0.024875 BTC free
3       70,000  61,206 x 1.01 = 61,818.06 61,818.06 / (1.275125 x 70,000) = 69.2571%  none
4       60,000  61,818.06 x 1.01 = 62,436.2406; / (1.275125 x 60,000 = 76,507.5) = 81.608% -> call
        BTC needed 62,436.2406 / 36,000 - 1.275125 = 0.459215 > 0.024875 free: pledge all of it
        (1.3 BTC pledged), cash 62,436.2406 - 0.60 x 1.3 x 60,000 = 15,636.2406 <= 20,000 -> met
5       55,000  46,800 x 1.01 = 47,268     47,268 / 71,500 = 66.1091%            none
6       30,000  47,268 x 1.01 = 47,740.68  47,740.68 / 39,000 = 122.412% >= 86%  liquidation
        claim 47,740.68 x 1.0438 = 49,831.72 needs 1.661 BTC > 1.3 pledged: all 1.3 sold for
        39,000; penalty 39,000 x 0.0438 / 1.0438 = 1,636.5204; repaid 37,363.4796;
        shortfall 47,740.68 - 37,363.4796 = 10,377.2004 -> event of default in month 6
"""

from __future__ import annotations

import numpy as np
import pytest

from gpucredit.debt.margin_loan import MarginLoanLedger, MarginLoanTerms
from tests._ladder import run_program

TERMS = MarginLoanTerms(
    name="hand",
    principal_usd=60_000.0,
    tenor_months=12,
    pledged_btc=1.0,
    floating=False,
    fixed_coupon=0.12,
    margin=0.0,
    floor=0.0,
    top_up_to_ltv=0.60,
    margin_call_ltv=0.75,
    liquidation_ltv=0.86,
    liquidation_penalty=0.0438,
)
PRICES = np.array([[100_000.0, 80_000.0, 70_000.0, 60_000.0, 55_000.0, 30_000.0]])
CASH = np.array([[0.0, 0.0, 0.0, 20_000.0, 0.0, 0.0]])


@pytest.fixture(scope="module")
def ledger() -> MarginLoanLedger:
    return run_program(TERMS, PRICES, np.array([0.3]), CASH, np.zeros((1, 6)))


def test_balance_and_ltv_by_hand(ledger: MarginLoanLedger) -> None:
    # exact to rounding: every number above is a few multiplications
    np.testing.assert_allclose(
        ledger.balance_usd[0], [60_600.0, 61_206.0, 61_818.06, 46_800.0, 47_268.0, 0.0], rtol=1e-12
    )
    np.testing.assert_allclose(
        ledger.ltv_before[0],
        [0.606, 0.765075, 61_818.06 / 89_258.75, 62_436.2406 / 76_507.5, 47_268 / 71_500, 1.22412],
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        ledger.ltv_after[0], [0.606, 0.60, 61_818.06 / 89_258.75, 0.60, 47_268 / 71_500, 0.0]
    )


def test_calls_top_ups_and_cash(ledger: MarginLoanLedger) -> None:
    assert ledger.margin_call[0].tolist() == [False, True, False, True, False, False]
    np.testing.assert_allclose(ledger.top_up_btc[0], [0, 0.275125, 0, 0.024875, 0, 0], atol=1e-12)
    np.testing.assert_allclose(ledger.cash_paydown_usd[0], [0, 0, 0, 15_636.2406, 0, 0], rtol=1e-12)
    np.testing.assert_allclose(ledger.pledged_btc[0, :5], [1.0, 1.275125, 1.275125, 1.3, 1.3])
    np.testing.assert_allclose(
        ledger.free_btc[0, :5], [0.3, 0.024875, 0.024875, 0.0, 0.0], atol=1e-12
    )


def test_crash_liquidates_with_penalty_and_deficiency(ledger: MarginLoanLedger) -> None:
    assert ledger.liquidated[0].tolist() == [False] * 5 + [True]
    assert ledger.liquidated_btc[0, 5] == pytest.approx(1.3)
    assert ledger.liquidation_proceeds_usd[0, 5] == pytest.approx(39_000.0)
    assert ledger.penalty_usd[0, 5] == pytest.approx(1_636.5204062, rel=1e-9)
    assert ledger.shortfall_usd[0, 5] == pytest.approx(10_377.2004062, rel=1e-9)
    assert ledger.shortfall_month[0] == 6
    assert ledger.pledged_btc[0, 5] == 0.0 and ledger.free_btc[0, 5] == 0.0


def test_covered_liquidation_returns_surplus_without_default() -> None:
    # same loan, month 1 at 69,000: LTV 60,600 / 69,000 = 87.83% >= 86% -> liquidated at once.
    # claim 60,600 x 1.0438 = 63,254.28 -> 0.916729 BTC sold, 0.083271 BTC back, no deficiency
    ledger = run_program(
        TERMS, np.array([[69_000.0, 69_000.0]]), np.array([0.3]), np.zeros((1, 2)), np.zeros((1, 2))
    )
    assert ledger.liquidated[0, 0] and not ledger.margin_call[0, 0]
    assert ledger.liquidated_btc[0, 0] == pytest.approx(63_254.28 / 69_000.0)
    assert ledger.penalty_usd[0, 0] == pytest.approx(60_600.0 * 0.0438)
    assert ledger.shortfall_usd[0, 0] == 0.0
    assert ledger.free_btc[0, 0] == pytest.approx(0.3 + 1.0 - 63_254.28 / 69_000.0)
    assert ledger.shortfall_month[0] == 0  # no default
    assert ledger.interest_usd[0, 1] == 0.0  # closed loans accrue nothing


def test_unmet_call_liquidates_and_keeps_cash_and_free_btc() -> None:
    # month 1 at 80,000: 60,600 / 80,000 = 75.75% -> call; needs 60,600 / 48,000 - 1 = 0.2625
    # BTC, only 0.1 free, then cash 60,600 - 0.6 x 1.1 x 80,000 = 7,800 > 5,000: not met, so the
    # borrower keeps its 0.1 BTC and 5,000 and the lender sells 60,600 x 1.0438 / 80,000 BTC
    ledger = run_program(
        TERMS, np.array([[80_000.0]]), np.array([0.1]), np.array([[5_000.0]]), np.zeros((1, 1))
    )
    assert ledger.margin_call[0, 0] and ledger.liquidated[0, 0]
    assert ledger.top_up_btc[0, 0] == 0.0 and ledger.cash_paydown_usd[0, 0] == 0.0
    assert ledger.free_btc[0, 0] == pytest.approx(0.1 + 1.0 - 60_600 * 1.0438 / 80_000)


def test_maturity_repaid_from_cash_then_enforced_on_the_pledge() -> None:
    short = MarginLoanTerms(**{**_terms_dict(), "tenor_months": 1})
    # 60,600 due in month 1; 50,000 cash pays part, the lender sells BTC for the other
    # 10,600 x 1.0438 = 11,064.28 at 100,000: 0.1106428 BTC; the rest of the pledge comes back
    ledger = run_program(
        short, np.array([[100_000.0]]), np.array([0.0]), np.array([[50_000.0]]), np.zeros((1, 1))
    )
    assert ledger.cash_paydown_usd[0, 0] == pytest.approx(50_000.0)
    assert ledger.liquidated_btc[0, 0] == pytest.approx(0.1106428)
    assert ledger.free_btc[0, 0] == pytest.approx(1.0 - 0.1106428)
    assert ledger.balance_usd[0, 0] == 0.0 and ledger.shortfall_month[0] == 0
    # enough cash: repaid, no sale, the whole pledge is released
    paid = run_program(
        short, np.array([[100_000.0]]), np.array([0.0]), np.array([[70_000.0]]), np.zeros((1, 1))
    )
    assert paid.cash_paydown_usd[0, 0] == pytest.approx(60_600.0)
    assert not paid.liquidated[0, 0] and paid.free_btc[0, 0] == 1.0


def test_floating_rate_uses_sofr_floor_and_margin() -> None:
    floating = MarginLoanTerms(**{**_terms_dict(), "floating": True, "margin": 0.05, "floor": 0.03})
    sofr = np.array([[0.01, 0.04]])
    ledger = run_program(floating, np.full((1, 2), 1e6), np.array([0.0]), np.zeros((1, 2)), sofr)
    # month 1: max(1%, 3%) + 5% = 8% -> 400; month 2: 9% on 60,400 -> 453
    np.testing.assert_allclose(ledger.interest_usd[0], [400.0, 60_400 * 0.09 / 12])


def _terms_dict() -> dict[str, object]:
    return {name: getattr(TERMS, name) for name in TERMS.__dataclass_fields__}
