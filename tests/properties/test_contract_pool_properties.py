"""Tiers secured by contract pools: the recovery is shared out whole, and the tier whose pool
holds the investment-grade contract loses no more than the non-investment-grade tier."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.config.spec import DealSpec
from gpucredit.credit.allocation import allocate_recovery
from gpucredit.credit.lots import collateral_lots, with_lots
from gpucredit.debt.capital import structure_terms
from gpucredit.pipeline import simulate
from gpucredit.scenarios import TimeGrid
from tests.conftest import hand_deal_data, make_deal


def _deal(principal_usd: float = 100_000.0, tenor_months: int = 3) -> DealSpec:
    """100 GPUs: contract IG (45, AA) pledged to tier-ig, NIG (45, CCC) to tier-nig; listed
    non-IG first, so the waterfall's order within a month favours the non-IG tier."""
    data = hand_deal_data()
    data["fleet"][0] = dict(data["fleet"][0], purchase_date="2026-01-31", unit_cost_usd=30_000)
    base: dict[str, Any] = copy.deepcopy(data["contracts"][0])
    base.pop("annual_pd_pct")
    base.update(start="2026-02-01", end="2029-01-31", rate_usd_per_gpu_hour=2.0)
    contracts = [
        dict(base, name="NIG", tenant="Lab", rating="CCC", units=45),
        dict(base, name="IG", tenant="Hyperscaler", rating="AA", units=45),
    ]
    loan = data.pop("loan")
    tier = {
        "kind": "term_loan",
        "rate": loan["rate"],
        "tenor_months": tenor_months,
        "amortisation": {"kind": "straight_line"},
    }
    facilities = [
        dict(tier, name="tier-nig", principal_usd=principal_usd, secured_by_contracts=["NIG"]),
        dict(tier, name="tier-ig", principal_usd=principal_usd, secured_by_contracts=["IG"]),
    ]
    return make_deal(data, contracts=contracts, facilities=facilities)


@settings(max_examples=25, deadline=None)
@given(  # whole cents, as USD amounts are (no subnormal claims)
    sale=st.lists(st.integers(0, 10**8).map(lambda c: c / 100), min_size=3, max_size=3),
    claims=st.lists(st.integers(0, 2 * 10**8).map(lambda c: c / 100), min_size=2, max_size=2),
    estate=st.integers(0, 10**7).map(lambda c: c / 100),
)
def test_recoveries_add_up_to_the_proceeds(
    sale: list[float], claims: list[float], estate: float
) -> None:
    deal = _deal()
    lots = collateral_lots(deal)
    assert lots is not None
    structure = with_lots(structure_terms(deal, TimeGrid(deal.as_of, 3)), deal, lots)
    got = allocate_recovery(
        structure,
        [np.array([c]) for c in claims],
        [np.zeros(1), np.zeros(1)],
        np.array([sale]),
        np.array([estate]),
        np.zeros(1),
    )
    total = sum(float(g[0]) for g in got)
    expected = min(sum(sale) + estate, sum(claims))
    # 1e-9 relative: pro-rata products and sums round at a few ulps of each amount
    assert total == pytest.approx(expected, rel=1e-9, abs=1e-6)
    for g, c in zip(got, claims, strict=True):
        assert 0.0 <= float(g[0]) <= c * (1 + 1e-12)


@pytest.mark.slow
def test_the_ig_pools_tier_loses_no_more_than_the_non_ig_tier() -> None:
    """Same paths, pools alike but for the tenant: cross-default gives both tiers one default
    month; at default the surviving contracts' assignment value goes to each tier's own lot,
    and the AA tenant survives more often than the CCC one."""
    deal = _deal(principal_usd=1_250_000.0, tenor_months=30)
    result = simulate(deal, n_paths=400, seed=5, solve_fair_spread=False, calibration="sourced")
    nig, ig = result.facilities
    assert ig.pd == nig.pd > 0.0
    assert nig.expected_loss_usd > 0.0  # the non-IG tier does lose on these paths
    assert ig.lgd <= nig.lgd
    assert ig.expected_loss_usd <= nig.expected_loss_usd
