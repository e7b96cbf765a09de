"""Written backstops: a guarantor never pays more than its cap, and a higher cap never raises
the PD on common random numbers."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.assets.fleet import plan_fleet, project
from gpucredit.config.spec import DealSpec
from gpucredit.pipeline import simulate
from gpucredit.scenarios import TimeGrid
from gpucredit.scenarios.scenario import ScenarioSet
from tests.conftest import hand_deal_data, make_deal

DECAY = {"H100": 0.2}
MONTH_RENT = 100 * 6.0 * 730.0  # 100 GPUs at 6.00 USD/GPU-hour: 438,000 USD a month


def _deal(guarantor: dict[str, Any], take_or_pay: bool = True) -> DealSpec:
    data = hand_deal_data()
    data["fleet"][0] = dict(data["fleet"][0], purchase_date="2025-12-31", unit_cost_usd=60_000)
    c: dict[str, Any] = copy.deepcopy(data["contracts"][0])
    c.update(
        tenant="Lab",
        annual_pd_pct=30.0,
        rate_usd_per_gpu_hour=6.0,
        end="2028-07-31",
        take_or_pay=take_or_pay,
        guarantor={"name": "G", "annual_pd_pct": 2.0, **guarantor},
    )
    loan = dict(data["loan"], principal_usd=4_500_000.0, tenor_months=24)
    return make_deal(data, contracts=[c], loan=loan, re_lease_downtime_months=0)


@settings(max_examples=15, deadline=None)
@given(
    share=st.floats(1.0, 100.0),
    cap=st.floats(0.0, 3e6),
    until=st.one_of(st.none(), st.sampled_from(["2026-12-15", "2027-09-30", "2028-07-31"])),
    straight=st.booleans(),
    take_or_pay=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_a_guarantor_never_pays_more_than_its_cap(
    share: float, cap: float, until: str | None, straight: bool, take_or_pay: bool, seed: int
) -> None:
    g: dict[str, Any] = {"share_pct": share, "cap_usd": cap, "until": until}
    if straight and until is not None:
        g["cap_amortisation"] = "straight_line"
    deal = _deal(g, take_or_pay)
    plan = plan_fleet(deal, TimeGrid(deal.as_of, 30))
    rng = np.random.default_rng(seed)
    n_paths, n = 128, plan.n_months
    scen = ScenarioSet(
        generations=("H100",),
        regime=np.zeros((n_paths, n), dtype=np.int8),
        rent=rng.uniform(0.5, 3.0, (n_paths, n, 1)),
        utilisation=rng.uniform(0.3, 1.0, (n_paths, n)),
        sofr=np.zeros((n_paths, n)),
        tenant_uniforms=rng.uniform(0.0, 1.0, (n_paths, 2)),
        entity_factor=None,
    )
    paid = project(plan, scen, buyer_decay_per_year=DECAY).guarantor_paid_usd
    assert np.all(paid >= 0.0)
    cumulative = np.cumsum(paid, axis=1)
    cap_by_month = plan.contract_guarantee_cap_usd[0][None, :]
    # 1e-9 relative (and 1e-6 USD): the running sum's rounding against the cap's
    assert np.all(cumulative <= cap_by_month * (1 + 1e-9) + 1e-6)
    assert np.all(cumulative[:, -1] <= cap * (1 + 1e-9) + 1e-6)


@pytest.mark.slow
def test_a_higher_cap_never_raises_pd() -> None:
    """Common random numbers (one seed, the same companies): every path's default can only go
    away as the cap rises. The caps are whole months of rent, so the guarantor never pays a
    part month; with no re-letting downtime and a rent above any market rent, each month the
    lease stands then pays more than the units would re-let for."""
    pds: list[float] = []
    defaults: list[np.ndarray] = []
    for cap in (0.0, MONTH_RENT, 3 * MONTH_RENT, 6 * MONTH_RENT, None):
        g: dict[str, Any] = {"share_pct": 100.0} if cap is None else {"cap_usd": cap}
        result = simulate(
            _deal(g), n_paths=400, seed=11, solve_fair_spread=False, calibration="sourced"
        )
        pds.append(result.metrics.pd)
        defaults.append(result.paths["defaulted"].values.astype(bool))
    assert pds == sorted(pds, reverse=True)
    assert pds[0] > pds[-1]  # the backstop matters on these paths
    for lower, higher in itertools.pairwise(defaults):
        assert not np.any(higher & ~lower)  # path by path


@pytest.mark.slow
def test_the_guarantee_report_does_not_depend_on_blocks_or_workers() -> None:
    deal = _deal({"share_pct": 70.0, "cap_usd": 5 * MONTH_RENT})
    runs = [
        simulate(
            deal,
            n_paths=256,
            seed=2,
            block_size=size,
            n_workers=workers,
            solve_fair_spread=False,
            calibration="sourced",
        ).guarantees
        for size, workers in ((64, 2), (4096, 1))
    ]
    assert runs[0] is not None and runs[0].expected_paid_usd > 0.0
    assert runs[0] == runs[1]
