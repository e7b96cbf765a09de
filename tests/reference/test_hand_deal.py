"""CFADS and DSCR of a three-month deal computed by hand.

100 GPUs at 1.0 kW, all on a take-or-pay contract at 2.00 USD/GPU-hour, 730 hours a month:
  revenue   = 100 x 2.00 x 730                      = 146,000
  power     = 100 x 1.0 kW x PUE 1.5 x 730 h x 0.100 USD/kWh = 10,950
  colocation= 100 x 1.0 kW x 100 USD/kW-month      = 10,000
  SG&A      = 10% x 146,000                         = 14,600
  CFADS     = 146,000 - 35,550                      = 110,450 every month
Loan: 300,000 at 12% fixed, straight line over 3 months:
  month 1: interest 3,000 + principal 100,000 = 103,000 -> DSCR 1.072330...
  month 2: interest 2,000 + principal 100,000 = 102,000 -> DSCR 1.082843...
  month 3: interest 1,000 + principal 100,000 = 101,000 -> DSCR 1.093564...
"""

from __future__ import annotations

import numpy as np
import pytest

from gpucredit.pipeline import build_model, run_deterministic
from tests.conftest import hand_deal_data, make_deal


def test_three_month_deal_by_hand() -> None:
    model = build_model(make_deal(hand_deal_data()))
    inputs, ledger = run_deterministic(model)
    cash = inputs.cash
    np.testing.assert_allclose(cash.revenue_usd[0], 146_000.0, rtol=1e-12)
    np.testing.assert_allclose(cash.opex_usd[0], 35_550.0, rtol=1e-12)
    np.testing.assert_allclose(cash.cfads_usd[0], 110_450.0, rtol=1e-12)
    np.testing.assert_allclose(ledger.interest_paid[0], [3000.0, 2000.0, 1000.0], rtol=1e-12)
    np.testing.assert_allclose(ledger.principal_paid[0], 100_000.0, rtol=1e-12)
    np.testing.assert_allclose(
        ledger.dscr[0], [110_450 / 103_000, 110_450 / 102_000, 110_450 / 101_000], rtol=1e-12
    )
    assert ledger.default_month[0] == 0
    # no DSRA asked for: every excess dollar is distributed
    np.testing.assert_allclose(
        ledger.distribution[0], 110_450.0 - np.array([103_000, 102_000, 101_000])
    )


def test_dsra_is_drawn_before_default() -> None:
    data = hand_deal_data()
    # 2 months of DSRA at close: 2 x 103,000 = 206,000; CFADS 110,450 cannot pay a
    # 150,000-a-month loan, so the DSRA covers the gap until it runs dry.
    loan = dict(data["loan"], principal_usd=450_000.0, dsra_months=2.0)
    model = build_model(make_deal(data, loan=loan))
    _, ledger = run_deterministic(model)
    due = np.array([154_500.0, 153_000.0, 151_500.0])
    short = due - 110_450.0
    assert ledger.initial_dsra[0] == pytest.approx(2 * 154_500.0)
    np.testing.assert_allclose(ledger.dsra_draw[0], short, rtol=1e-12)
    assert ledger.default_month[0] == 0
