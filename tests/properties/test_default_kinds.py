"""Every default has one kind: the kinds' probabilities add up to ``pd`` path for path, and the
agencies' payment-default PD is a part of it (``credit.metrics.PAYMENT_DEFAULT_KINDS``).

Run through the real engines on shipped examples that exercise each kind: a single loan with
covenant and payment defaults (merchant_h100), a capital structure with cross-defaults
(ddtl2_tiered_structure), a miner with a margin loan and cross-defaults (miner_hosting_pivot).
"""

from __future__ import annotations

import math

import pytest

import gpucredit
from gpucredit.credit.metrics import PAYMENT_DEFAULT_KINDS, FacilityMetrics
from gpucredit.credit.ratings import implied_rating_el
from gpucredit.debt.ledger import DEFAULT_KINDS
from tests.conftest import EXAMPLES

N_PATHS = 256


def _count(probability: float, n: int) -> int:
    """A probability over ``n`` paths back to its count of paths (exact: it is count / n)."""
    count = round(probability * n)
    assert count == pytest.approx(probability * n, abs=1e-9)  # a whole number of paths
    return count


def _check(m: FacilityMetrics) -> None:
    n = m.n_paths
    kinds = m.default_kind_share
    assert set(kinds) == {k for i, k in DEFAULT_KINDS.items() if i > 0}
    by_kind = {k: _count(v, n) for k, v in kinds.items()}
    assert sum(by_kind.values()) == _count(m.pd, n), (m.name, by_kind, m.pd)
    paid = sum(c for k, c in by_kind.items() if k in PAYMENT_DEFAULT_KINDS)
    assert paid == _count(m.pd_payment, n)
    assert m.pd_payment <= m.pd_payment_upper <= m.pd
    assert m.pd_payment_ci_low <= m.pd_payment <= m.pd_payment_ci_high
    assert 0.0 <= m.waiver_probability <= 1.0
    # every share carries its binomial standard error, zero exactly when the share is 0 or 1
    assert set(m.default_kind_share_se) == set(kinds)
    for k, p in kinds.items():
        assert m.default_kind_share_se[k] == pytest.approx(math.sqrt(p * (1 - p) / n), rel=1e-12)
    upper = m.pd_payment_upper
    # the rating by expected loss reads the facility's own EL over its life
    assert m.implied_rating_el == implied_rating_el(m.expected_loss_pct, m.tenor_months / 12)
    assert m.pd_payment_upper_se == pytest.approx(math.sqrt(upper * (1 - upper) / n), rel=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("stem", ["merchant_h100", "ddtl2_tiered_structure"])
def test_kinds_add_up_to_pd_on_the_deal_engines(stem: str) -> None:
    deal = gpucredit.load_deal(EXAMPLES / f"{stem}.yaml")
    result = gpucredit.simulate(
        deal, n_paths=N_PATHS, seed=3, keep_paths=0, n_workers=1, solve_fair_spread=False
    )
    for m in result.all_facilities:
        _check(m)
    assert sum(m.pd for m in result.all_facilities) > 0.0  # the check saw defaults
    if stem == "merchant_h100":
        # covenant accelerations, some of which leave the lender a loss: both bounds are used
        m = result.metrics
        assert m.default_kind_share["covenant"] > 0.0
        assert m.pd_payment < m.pd_payment_upper < m.pd


@pytest.mark.slow
def test_kinds_add_up_to_pd_on_the_miner_engine() -> None:
    spec = gpucredit.load_miner(EXAMPLES / "miner_hosting_pivot.yaml")
    result = gpucredit.simulate_miner(
        spec,
        n_paths=N_PATHS,
        seed=2,
        n_workers=1,
        premium=False,
        attribution=False,
        solve_fair_spread=False,
    )
    for m in result.facilities:
        _check(m)
    margin = result.facilities[-1]
    assert margin.default_kind_share["margin_liquidation"] > 0.0  # the kind was exercised


def _definitions(m: FacilityMetrics) -> tuple[object, ...]:
    return (
        m.pd_payment,
        m.pd_payment_se,
        m.pd_payment_ci_low,
        m.pd_payment_ci_high,
        m.pd_payment_upper,
        m.waiver_probability,
        tuple(m.default_kind_share.items()),
        m.implied_rating,
        m.implied_rating_range,
    )


def test_the_counts_are_identical_whatever_the_block_size_and_workers() -> None:
    deal = gpucredit.load_deal(EXAMPLES / "b200_ai_lab.yaml")
    common = {"n_paths": 600, "seed": 4, "keep_paths": 0, "solve_fair_spread": False}
    a = gpucredit.simulate(deal, block_size=256, n_workers=1, **common).metrics
    b = gpucredit.simulate(deal, block_size=100, n_workers=2, **common).metrics
    assert a.pd > a.pd_payment > 0.0  # payment and covenant defaults both counted
    assert a.waiver_probability > 0.0
    assert _definitions(a) == _definitions(b)
