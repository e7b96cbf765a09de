"""The compiled ABS waterfall (``book.tranches.run_waterfall``) against its plain NumPy oracle
(``run_waterfall_reference``) on random pools and structures: sequential and pro rata, with
and without OC/IC triggers, reserve and deferral. The kernel performs the same floating-point
operations in the same order, so every field of the result must agree to the bit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gpucredit.book.tranches import (
    TrancheClass,
    Waterfall,
    _class_runs,
    _fair_spread,
    run_waterfall,
    run_waterfall_reference,
)
from tests._book_pools import synthetic_pool

BALANCE = 1_000_000.0


def _random_deal(rng: np.random.Generator, case: int) -> Waterfall:
    """A random structure; ``case`` picks the principal rule, triggers, reserve and deferral
    so that every combination is drawn across the seeds."""
    k_notes = int(rng.integers(1, 10))  # up to 9 notes: the class sums run past 8 terms
    shares = rng.dirichlet(np.ones(k_notes + 1)) * rng.uniform(0.6, 0.97)
    triggers = case % 2 == 1
    classes = tuple(
        TrancheClass(
            chr(ord("A") + k),
            float(shares[k]) * BALANCE + 1.0,
            float(rng.uniform(0.0, 0.15)),
            oc_trigger=float(rng.uniform(1.0, 1.4)) if triggers and rng.random() < 0.7 else None,
            ic_trigger=float(rng.uniform(0.8, 1.6)) if triggers and rng.random() < 0.7 else None,
        )
        for k in range(k_notes)
    )
    reserve = (case // 2) % 2 == 1
    return Waterfall(
        classes=classes,
        pool_balance_usd=BALANCE,
        principal="pro_rata" if (case // 4) % 2 == 1 else "sequential",
        reserve_initial_usd=float(rng.uniform(0.0, 0.03)) * BALANCE if reserve else 0.0,
        reserve_target_pct=float(rng.uniform(0.0, 0.05)) if reserve else 0.0,
        reserve_floor_usd=float(rng.uniform(0.0, 0.01)) * BALANCE if reserve else 0.0,
        defer_junior_interest=(case // 8) % 2 == 0,
    )


def _assert_bitwise(got: object, want: object) -> None:
    for field in dataclasses.fields(want):  # type: ignore[arg-type]
        a = getattr(got, field.name)
        b = getattr(want, field.name)
        assert a.shape == b.shape and a.dtype == b.dtype, field.name
        if a.dtype == np.float64:
            a, b = a.view(np.uint64), b.view(np.uint64)  # bits: -0.0 differs from 0.0
        mismatch = int(np.count_nonzero(a != b))
        assert mismatch == 0, f"{field.name}: {mismatch} entries differ"


@pytest.mark.parametrize("case", range(16))
def test_kernel_equals_reference_to_the_bit(case: int) -> None:
    rng = np.random.default_rng(1400 + case)
    months = int(rng.integers(12, 61))
    pool = synthetic_pool(
        rng,
        200,
        months,
        balance_usd=BALANCE,
        rate=float(rng.uniform(0.02, 0.15)),
        monthly_hazard=float(rng.uniform(0.001, 0.03)),
        factor_vol=float(rng.uniform(0.3, 1.5)),
        recovery=float(rng.uniform(0.0, 0.8)),
    )
    deal = _random_deal(rng, case)
    _assert_bitwise(run_waterfall(deal, pool), run_waterfall_reference(deal, pool))


def test_kernel_equals_reference_on_stressed_pool() -> None:
    """Heavy early defaults: every test fails, the reserve is drawn and deferred interest
    piles up, on a pro-rata deal with every feature on."""
    rng = np.random.default_rng(77)
    pool = synthetic_pool(rng, 300, 36, monthly_hazard=0.06, factor_vol=1.2, recovery=0.3)
    classes = (
        TrancheClass("A", 600_000.0, 0.05, oc_trigger=1.2, ic_trigger=1.1),
        TrancheClass("B", 200_000.0, 0.08, oc_trigger=1.1),
        TrancheClass("C", 100_000.0, 0.12, ic_trigger=1.0),
    )
    deal = Waterfall(classes, BALANCE, "pro_rata", 20_000.0, 0.02, 5_000.0, True)
    _assert_bitwise(run_waterfall(deal, pool), run_waterfall_reference(deal, pool))


def test_shared_runs_leave_the_spreads_unchanged() -> None:
    """The P and Q solves of a class share its kept waterfall runs (``_class_runs``): each
    solve gives the same solution to the bit as with runs of its own."""
    rng = np.random.default_rng(5)
    pool = synthetic_pool(rng, 300, 24, monthly_hazard=0.02, factor_vol=1.0)
    deal = Waterfall(
        (
            TrancheClass("A", 700_000.0, 0.05, oc_trigger=1.15),
            TrancheClass("B", 150_000.0, 0.08, ic_trigger=1.0),
        ),
        BALANCE,
        "pro_rata",
        10_000.0,
        0.01,
    )
    discount = 1.0 / (1.0 + 0.04 / 12.0) ** (np.arange(24) + 1.0)
    q = np.exp(0.3 * rng.standard_normal(300))
    for k in range(2):
        runs = _class_runs(deal, pool, k, discount)
        shared = (
            _fair_spread(deal, pool, k, discount, runs=runs),
            _fair_spread(deal, pool, k, discount, q, runs),
        )
        alone = (_fair_spread(deal, pool, k, discount), _fair_spread(deal, pool, k, discount, q))
        assert shared == alone
        assert shared[0].fair_spread is not None and shared[1].fair_spread is not None
