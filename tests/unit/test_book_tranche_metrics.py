"""The tranche metrics on a synthetic pool: fair spreads solved on the same paths by the
project's spread solver, ordered by seniority, zero without default risk."""

from __future__ import annotations

import numpy as np
import pytest

from gpucredit.book.tranches import TrancheClass, Waterfall, evaluate_tranches
from tests._book_pools import synthetic_pool

RATE = 0.04  # flat risk-free rate of the synthetic market, decimal a year
MONTHS = 36
DISCOUNT = (1.0 + RATE / 12.0) ** -np.arange(1.0, MONTHS + 1.0)
WATERFALL = Waterfall(
    classes=(
        TrancheClass("A", 700_000.0, 0.05, oc_trigger=1.15),
        TrancheClass("B", 150_000.0, 0.07, oc_trigger=1.05),
        TrancheClass("C", 80_000.0, 0.10, ic_trigger=1.0),
    ),
    pool_balance_usd=1_000_000.0,
    reserve_initial_usd=10_000.0,
    reserve_target_pct=0.01,
    reserve_floor_usd=5_000.0,
)


def test_no_default_risk_gives_zero_fair_spreads() -> None:
    pool = synthetic_pool(np.random.default_rng(1), 200, MONTHS, monthly_hazard=0.0)
    for m in evaluate_tranches(WATERFALL, pool, DISCOUNT)[:3]:
        assert m.pd == 0.0 and m.el == 0.0
        # Risky and promised PVs add the same cash in another order: 1e-12 of rounding.
        assert m.fair_spread == pytest.approx(0.0, abs=1e-12)


def test_fair_spreads_rise_with_subordination() -> None:
    pool = synthetic_pool(np.random.default_rng(2), 1_000, MONTHS, monthly_hazard=0.006)
    a, b, c, equity = evaluate_tranches(WATERFALL, pool, DISCOUNT)
    spreads = [m.fair_spread for m in (a, b, c)]
    assert all(s is not None and np.isfinite(s) for s in spreads)
    assert spreads[0] is not None and spreads[1] is not None and spreads[2] is not None
    assert 0.0 <= spreads[0] <= spreads[1] <= spreads[2]
    assert a.el <= b.el <= c.el <= equity.el
    assert c.fair_spread_se is not None and c.fair_spread_se > 0.0
    assert equity.fair_spread is None
    assert (c.attachment, c.detachment) == pytest.approx((0.07, 0.15), abs=1e-12)  # exact sizes
    assert 0.0 < a.wal_years < MONTHS / 12.0


def test_q_weights_price_the_notes_under_q() -> None:
    pool = synthetic_pool(np.random.default_rng(3), 600, MONTHS, monthly_hazard=0.006)
    loss = pool.defaulted_usd.sum(axis=1) - pool.recoveries_usd.sum(axis=1)
    # A measure that puts more weight on the paths that lose more (as Q's price of risk does).
    tilted = 1.0 + 2.0 * loss / loss.mean()
    same = evaluate_tranches(WATERFALL, pool, DISCOUNT, q_weights=np.ones(600))
    tilt = evaluate_tranches(WATERFALL, pool, DISCOUNT, q_weights=tilted)
    for m in same[:3]:
        assert m.fair_spread is not None and m.fair_spread_q is not None
        # Unit weights: the same root, the mean summed in another order (solver XTOL, 1e-7).
        assert m.fair_spread_q == pytest.approx(m.fair_spread, abs=1e-7)
    for p, q in zip(same[:3], tilt[:3], strict=True):
        assert p.fair_spread is not None and q.fair_spread_q is not None
        assert q.fair_spread_q > p.fair_spread
        assert q.fair_spread == p.fair_spread  # P figures do not see the Q weights
        assert q.fair_spread_q_se is not None and q.fair_spread_q_se > 0.0
    assert same[-1].fair_spread_q is None  # the equity has no fair spread
