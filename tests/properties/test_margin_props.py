"""Properties of the margin-loan ladder: BTC and cash conservation, and what a lower BTC path
does to liquidation (Hypothesis, derandomised in tests/conftest.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gpucredit.debt.margin_loan import MarginLoanLedger, MarginLoanTerms
from tests._ladder import run_program

N_MONTHS = 8


def terms(tenor: int = 6) -> MarginLoanTerms:
    return MarginLoanTerms(
        name="p",
        principal_usd=60_000.0,
        tenor_months=tenor,
        pledged_btc=1.0,
        floating=True,
        fixed_coupon=0.0,
        margin=0.06,
        floor=0.0,
        top_up_to_ltv=0.60,
        margin_call_ltv=0.75,
        liquidation_ltv=0.86,
        liquidation_penalty=0.0438,
    )


returns = st.lists(st.floats(min_value=-0.45, max_value=0.35), min_size=N_MONTHS, max_size=N_MONTHS)
paths = st.lists(returns, min_size=1, max_size=6)


def prices(rets: list[list[float]]) -> np.ndarray:
    return 100_000.0 * np.cumprod(1.0 + np.array(rets), axis=1)


@given(
    rets=paths,
    free=st.floats(min_value=0.0, max_value=2.0),
    cash=st.floats(min_value=0.0, max_value=40_000.0),
    tenor=st.integers(min_value=1, max_value=N_MONTHS + 2),
)
def test_btc_and_cash_are_conserved(
    rets: list[list[float]], free: float, cash: float, tenor: int
) -> None:
    btc = prices(rets)
    n = btc.shape[0]
    cash_in = np.full_like(btc, cash)
    sofr = np.full_like(btc, 0.04)
    led = run_program(terms(tenor), btc, np.full(n, free), cash_in, sofr)

    # BTC: pledged + free + everything sold by the lender is the BTC of the start
    sold = np.cumsum(led.liquidated_btc, axis=1)
    np.testing.assert_allclose(led.pledged_btc + led.free_btc + sold, 1.0 + free, atol=1e-9)
    np.testing.assert_allclose(led.liquidation_proceeds_usd, led.liquidated_btc * btc, rtol=1e-12)
    assert (led.top_up_btc >= 0.0).all() and (led.free_btc >= -1e-12).all()

    # cash: never more than available; the balance moves only by interest and repayments
    assert (led.cash_paydown_usd >= 0.0).all()
    assert (led.cash_paydown_usd <= cash_in + 1e-6).all()
    before = np.concatenate([np.full((n, 1), 60_000.0), led.balance_usd[:, :-1]], axis=1)
    repaid = led.liquidation_proceeds_usd - led.penalty_usd
    np.testing.assert_allclose(
        before + led.interest_usd,
        led.balance_usd + led.cash_paydown_usd + repaid + led.shortfall_usd,
        rtol=1e-10,
        atol=1e-6,
    )
    assert (led.penalty_usd <= 0.0438 * (before + led.interest_usd) + 1e-6).all()
    # the loan is closed by the tenor at the latest
    if tenor <= N_MONTHS:
        assert (led.balance_usd[:, tenor - 1 :] == 0.0).all()
    _ledger_is_consistent(led)


def _ledger_is_consistent(led: MarginLoanLedger) -> None:
    closed_by_sale = np.cumsum(led.liquidated, axis=1) > 0
    assert (led.shortfall_usd[~led.liquidated] == 0.0).all()
    assert (led.balance_usd[closed_by_sale] == 0.0).all()
    has_shortfall = (led.shortfall_usd > 0.0).any(axis=1)
    assert ((led.shortfall_month > 0) == has_shortfall).all()


@given(rets=paths, cut=st.floats(min_value=0.0, max_value=0.5))
def test_lower_btc_never_lowers_liquidation_without_cure_capacity(
    rets: list[list[float]], cut: float
) -> None:
    """With no free BTC and no cash a call cannot be met, so the loan is liquidated exactly when
    the LTV first reaches the margin-call level; the LTV is balance / (pledged x price) with a
    balance that does not depend on the price, so a lower path liquidates on every path the
    higher one does, no later (and so at least as often)."""
    high = prices(rets)
    low = high * (1.0 - cut) * np.linspace(1.0, 0.9, N_MONTHS)[None, :]
    zeros = np.zeros_like(high)
    free = np.zeros(high.shape[0])
    led_high = run_program(terms(N_MONTHS + 1), high, free, zeros, zeros)
    led_low = run_program(terms(N_MONTHS + 1), low, free, zeros, zeros)
    liq_high = led_high.liquidated.any(axis=1)
    liq_low = led_low.liquidated.any(axis=1)
    assert (liq_low | ~liq_high).all()
    assert liq_low.mean() >= liq_high.mean()
    first_high = np.where(liq_high, led_high.liquidated.argmax(axis=1), N_MONTHS)
    first_low = np.where(liq_low, led_low.liquidated.argmax(axis=1), N_MONTHS)
    assert (first_low <= first_high).all()
    # (the deficiency, though, can be smaller on the lower path: it is liquidated earlier, at a
    # price the higher path has left behind by the time it crashes through)


@given(rets=paths, cut=st.floats(min_value=0.0, max_value=0.5), free=st.floats(0.0, 2.0))
def test_first_call_or_liquidation_is_never_later_on_a_lower_path(
    rets: list[list[float]], cut: float, free: float
) -> None:
    """With cures allowed, the first ladder event (call or liquidation) still comes no later on a
    lower path: until then nothing has happened on either path, the balances are equal and the
    lower path's LTV is higher."""
    high = prices(rets)
    low = high * (1.0 - cut)
    cash = np.full_like(high, 10_000.0)
    zeros = np.zeros_like(high)
    free_btc = np.full(high.shape[0], free)
    led_high = run_program(terms(N_MONTHS + 1), high, free_btc, cash, zeros)
    led_low = run_program(terms(N_MONTHS + 1), low, free_btc, cash, zeros)
    ev_high = led_high.margin_call | led_high.liquidated
    ev_low = led_low.margin_call | led_low.liquidated
    first_high = np.where(ev_high.any(axis=1), ev_high.argmax(axis=1), N_MONTHS)
    first_low = np.where(ev_low.any(axis=1), ev_low.argmax(axis=1), N_MONTHS)
    assert (first_low <= first_high).all()


def test_a_met_call_can_save_the_lower_path() -> None:
    """Why the monotone property above needs 'no cure capacity': a cure resets the LTV to the
    top-up level, so a path that was called earlier (lower prices) can survive a crash that
    liquidates a path that never quite reached the call level.

    high: month 1 at 80,800 -> 60,300 / 80,800 = 74.6% (below 75%, no call); month 2 at 69,000
    -> 60,601.5 / 69,000 = 87.8% >= 86%: liquidated.
    low:  month 1 at 80,000 -> 75.4%: call met with 0.256 BTC -> 60%; month 2 at 69,000 ->
    60,601.5 / (1.25625 x 69,000) = 69.9%: no action.
    """
    t = terms(N_MONTHS + 1)
    zeros = np.zeros((1, 2))
    high = run_program(t, np.array([[80_800.0, 69_000.0]]), np.array([1.0]), zeros, zeros)
    low = run_program(t, np.array([[80_000.0, 69_000.0]]), np.array([1.0]), zeros, zeros)
    assert high.liquidated[0, 1] and not high.margin_call[0, 0]
    assert low.margin_call[0, 0] and not low.liquidated.any()
