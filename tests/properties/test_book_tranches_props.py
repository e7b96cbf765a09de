"""Properties of the ABS waterfall on synthetic pools, on every path: cash is conserved, the
classes' write-offs account for the pool's loss, and seniority holds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.book.tranches import (
    PoolCashFlows,
    TrancheClass,
    Waterfall,
    WaterfallResult,
    run_waterfall,
)
from tests._book_pools import synthetic_pool

BALANCE = 1_000_000.0
#: Sums over 24 months of amounts up to 1e6 USD in another order: 1e-6 USD of rounding.
CENTS = 1e-6


@st.composite
def deals(draw: st.DrawFn) -> tuple[Waterfall, int, float, float]:
    a = draw(st.floats(0.4, 0.8))
    b = draw(st.floats(0.05, 0.15))
    c = draw(st.floats(0.0, 0.08))
    triggers = draw(st.booleans())
    sizes = [a, b] + ([c] if c > 0.01 else [])
    classes = tuple(
        TrancheClass(
            name,
            size * BALANCE,
            draw(st.floats(0.03, 0.14)),
            oc_trigger=draw(st.floats(1.0, 1.3)) if triggers else None,
            ic_trigger=draw(st.floats(1.0, 1.5)) if triggers else None,
        )
        for name, size in zip("ABC", sizes, strict=False)
    )
    reserve = draw(st.booleans())
    waterfall = Waterfall(
        classes=classes,
        pool_balance_usd=BALANCE,
        principal=draw(st.sampled_from(["sequential", "pro_rata"])),
        reserve_initial_usd=0.01 * BALANCE if reserve else 0.0,
        reserve_target_pct=draw(st.floats(0.0, 0.03)) if reserve else 0.0,
        reserve_floor_usd=0.005 * BALANCE if reserve else 0.0,
    )
    return (
        waterfall,
        draw(st.integers(0, 2**32 - 1)),
        draw(st.floats(0.0, 0.03)),
        draw(st.floats(0.2, 1.5)),
    )


def _run(
    deal: tuple[Waterfall, int, float, float],
) -> tuple[Waterfall, PoolCashFlows, WaterfallResult]:
    waterfall, seed, hazard, vol = deal
    pool = synthetic_pool(
        np.random.default_rng(seed),
        64,
        24,
        balance_usd=BALANCE,
        monthly_hazard=hazard,
        factor_vol=vol,
    )
    return waterfall, pool, run_waterfall(waterfall, pool)


@settings(max_examples=25, deadline=None)
@given(deals())
def test_cash_is_conserved(deal: tuple[Waterfall, int, float, float]) -> None:
    _, pool, r = _run(deal)
    collected = pool.interest_usd + pool.principal_usd + pool.recoveries_usd
    paid = r.interest_paid_usd.sum(axis=2) + r.principal_paid_usd.sum(axis=2)
    reserve_change = np.diff(r.reserve_usd, axis=1)
    np.testing.assert_allclose(
        collected, paid + reserve_change + r.equity_release_usd, rtol=0.0, atol=CENTS
    )


@settings(max_examples=25, deadline=None)
@given(deals())
def test_write_offs_account_for_the_pool_loss(deal: tuple[Waterfall, int, float, float]) -> None:
    waterfall, _, r = _run(deal)
    written_off = r.written_off_usd.sum(axis=(1, 2))
    credit_from_interest = r.diverted_usd.sum(axis=1) - r.principal_released_usd.sum(axis=1)
    np.testing.assert_allclose(
        written_off + credit_from_interest, r.pool_loss_usd, rtol=0.0, atol=CENTS
    )
    no_triggers = all(c.oc_trigger is None and c.ic_trigger is None for c in waterfall.classes)
    if no_triggers and waterfall.reserve_initial_usd == 0.0:
        # No turbo, no reserve: the classes (equity included) lose exactly what the pool loses.
        np.testing.assert_allclose(written_off, r.pool_loss_usd, rtol=0.0, atol=CENTS)


@settings(max_examples=25, deadline=None)
@given(deals())
def test_a_senior_class_loses_only_once_every_junior_one_is_wiped_out(
    deal: tuple[Waterfall, int, float, float],
) -> None:
    waterfall, _, r = _run(deal)
    if waterfall.principal != "sequential":
        return
    sizes = [c.balance_usd for c in waterfall.classes]
    sizes.append(BALANCE - sum(sizes))
    lost = r.written_off_usd.sum(axis=1)  # (path, class), notes senior first, equity last
    for k in range(len(sizes) - 1):
        senior_hit = lost[:, k] > CENTS
        for j in range(k + 1, len(sizes)):
            np.testing.assert_allclose(lost[senior_hit, j], sizes[j], rtol=0.0, atol=CENTS)
    assert np.all(lost >= -CENTS)
