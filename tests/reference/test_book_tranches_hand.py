"""A two-class ABS waterfall over three months, computed by hand.

Pool 100 USD; class A 70 USD at 12% (1% a month), class B 20 USD at 24% (2% a month), equity
10 USD; sequential principal; no tests, no reserve. One path:

==========  ========  =========  =========  ==========
month       interest  principal  defaulted  recovered
==========  ========  =========  =========  ==========
1           1.5       30         0          0
2           1.0       20         15         0
3           0.3       30         0          3
==========  ========  =========  =========  ==========

Month 1: pool 70; A due 0.70, B 0.40 paid; 0.40 released; A repaid 30 (40 left).
Month 2: pool 35; A 0.40, B 0.40 paid; 0.20 released; A repaid 20 (20 left). The classes
(20 + 20 + 10 = 50) now exceed the pool by 15, but nothing is written off before legal final.
Month 3 (legal final): 5 USD of pool never collected is lost; interest 0.3 pays A's 0.20 and
0.10 of B's 0.40 (0.30 short); 33 USD of principal and recoveries repay A 20 and B 13; B's
last 7 USD and the equity's 10 are lost. Pool loss 15 - 3 + 5 = 17 = equity 10 + B 7.
"""

from __future__ import annotations

import numpy as np
import pytest

from gpucredit.book.tranches import (
    PoolCashFlows,
    TrancheClass,
    Waterfall,
    evaluate_tranches,
    run_waterfall,
)

WATERFALL = Waterfall(
    classes=(TrancheClass("A", 70.0, 0.12), TrancheClass("B", 20.0, 0.24)),
    pool_balance_usd=100.0,
)
POOL = PoolCashFlows(
    interest_usd=np.array([[1.5, 1.0, 0.3]]),
    principal_usd=np.array([[30.0, 20.0, 30.0]]),
    defaulted_usd=np.array([[0.0, 15.0, 0.0]]),
    recoveries_usd=np.array([[0.0, 0.0, 3.0]]),
)
#: Hand arithmetic on a few decimals: rounding of binary fractions like 0.7, 1e-12 USD.
TOL = 1e-12


def test_payments_by_hand() -> None:
    r = run_waterfall(WATERFALL, POOL)
    np.testing.assert_allclose(r.interest_paid_usd[0, :, 0], [0.7, 0.4, 0.2], atol=TOL)
    np.testing.assert_allclose(r.interest_paid_usd[0, :, 1], [0.4, 0.4, 0.1], atol=TOL)
    np.testing.assert_allclose(r.shortfall_usd[0, :, 1], [0.0, 0.0, 0.3], atol=TOL)
    np.testing.assert_allclose(r.principal_paid_usd[0, :, 0], [30.0, 20.0, 20.0], atol=TOL)
    np.testing.assert_allclose(r.principal_paid_usd[0, :, 1], [0.0, 0.0, 13.0], atol=TOL)
    np.testing.assert_allclose(r.written_off_usd[0, :, 1], [0.0, 0.0, 7.0], atol=TOL)
    np.testing.assert_allclose(r.written_off_usd[0, :, 2], [0.0, 0.0, 10.0], atol=TOL)
    np.testing.assert_allclose(r.equity_release_usd[0], [0.4, 0.2, 0.0], atol=TOL)
    assert r.pool_loss_usd[0] == pytest.approx(17.0, abs=TOL)


def test_metrics_by_hand() -> None:
    a, b, equity = evaluate_tranches(WATERFALL, POOL, np.ones(3), fair_spreads=False)
    assert (a.attachment, a.detachment) == pytest.approx((0.3, 1.0), abs=TOL)
    assert (b.attachment, b.detachment) == pytest.approx((0.1, 0.3), abs=TOL)
    assert (equity.attachment, equity.detachment) == pytest.approx((0.0, 0.1), abs=TOL)
    assert (a.pd, a.el) == (0.0, 0.0)
    assert b.pd == 1.0  # a principal loss at legal final
    assert b.el == pytest.approx(7.3 / 20.0, abs=TOL)  # 7 lost + 0.3 unpaid interest
    assert equity.el == pytest.approx(1.0, abs=TOL)
    # A's principal: 30, 20, 20 USD at months 1, 2, 3.
    assert a.wal_years == pytest.approx((30.0 * 1 + 20.0 * 2 + 20.0 * 3) / 12.0 / 70.0, abs=TOL)


def test_junior_interest_is_deferred_and_caught_up() -> None:
    # Month 1: 0.8 of interest pays A's 0.70 and 0.10 of B's 0.40 (0.30 deferred). Month 2:
    # 2.0 pays 0.70 + 0.40, then the 0.30 deferred; 0.60 released. Month 3: everything repaid.
    pool = PoolCashFlows(
        interest_usd=np.array([[0.8, 2.0, 1.5]]),
        principal_usd=np.array([[0.0, 0.0, 100.0]]),
        defaulted_usd=np.zeros((1, 3)),
        recoveries_usd=np.zeros((1, 3)),
    )
    r = run_waterfall(WATERFALL, pool)
    np.testing.assert_allclose(r.interest_paid_usd[0, :, 1], [0.1, 0.7, 0.4], atol=TOL)
    np.testing.assert_allclose(r.shortfall_usd[0, :, 1], [0.0, 0.0, 0.0], atol=TOL)
    np.testing.assert_allclose(r.equity_release_usd[0, :2], [0.0, 0.6], atol=TOL)
    _, b, _ = evaluate_tranches(WATERFALL, pool, np.ones(3), fair_spreads=False)
    assert (b.pd, b.el) == (0.0, 0.0)
    # Without deferral the 0.30 is lost when missed: EL, not a default (not the senior class).
    lost = Waterfall(WATERFALL.classes, 100.0, defer_junior_interest=False)
    _, b, _ = evaluate_tranches(lost, pool, np.ones(3), fair_spreads=False)
    assert b.pd == 0.0
    assert b.el == pytest.approx(0.3 / 20.0, abs=TOL)
