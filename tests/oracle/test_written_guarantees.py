"""Written backstops: the compiled fleet kernel against its NumPy twin, and the two limits
(a cap of zero is no guarantee; an unlimited written one is today's backstop), bit for bit."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.assets.fleet import AssetCashflows, plan_fleet, project, project_reference
from gpucredit.config.spec import MAX_USD, DealSpec
from gpucredit.scenarios import TimeGrid
from gpucredit.scenarios.scenario import ScenarioSet
from tests.conftest import hand_deal_data, make_deal

DECAY = {"H100": 0.2}
FIELDS = (
    "revenue_usd",
    "contracted_revenue_usd",
    "merchant_revenue_usd",
    "opex_usd",
    "cfads_usd",
    "cohort_value_usd",
)


def _deal(guarantors: list[dict[str, Any] | None], take_or_pay: bool = True) -> DealSpec:
    data = hand_deal_data()
    data["fleet"][0] = dict(data["fleet"][0], purchase_date="2025-12-31", units=300)
    contracts = []
    for i, g in enumerate(guarantors):
        c: dict[str, Any] = copy.deepcopy(data["contracts"][0])
        c.update(tenant=f"T{i}", annual_pd_pct=30.0, take_or_pay=take_or_pay)
        if g is not None:
            c["guarantor"] = {"name": "G", "annual_pd_pct": 5.0, **g}
        contracts.append(c)
    return make_deal(data, contracts=contracts, re_lease_downtime_months=2)


def _scenario(n_months: int, uniforms: np.ndarray, seed: int) -> ScenarioSet:
    rng = np.random.default_rng(seed)
    n_paths = uniforms.shape[0]
    return ScenarioSet(
        generations=("H100",),
        regime=rng.integers(0, 2, (n_paths, n_months)).astype(np.int8),
        rent=rng.uniform(0.5, 3.0, (n_paths, n_months, 1)),
        utilisation=rng.uniform(0.3, 1.0, (n_paths, n_months)),
        sofr=np.zeros((n_paths, n_months)),
        tenant_uniforms=uniforms,
        entity_factor=None,
    )


def _same(a: AssetCashflows, b: AssetCashflows, last: np.ndarray | None = None) -> None:
    """Every field equal; the lease failure months up to ``last + 1`` when given (a failure
    after the contract's end has no effect, and a backstop that never stops keeps today's
    convention, the later of the two default months)."""
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    fa, fb = a.lease_failure_month, b.lease_failure_month
    if last is not None:
        fa, fb = np.minimum(fa, last + 1), np.minimum(fb, last + 1)
    np.testing.assert_array_equal(fa, fb)


@settings(max_examples=12, deadline=None)
@given(
    share=st.floats(1.0, 100.0),
    cap=st.one_of(st.none(), st.floats(0.0, 2e6)),
    until=st.one_of(st.none(), st.sampled_from(["2026-09-10", "2027-01-31", "2027-05-17"])),
    straight=st.booleans(),
    take_or_pay=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_kernel_equals_numpy_twin_on_written_backstops(
    share: float, cap: float | None, until: str | None, straight: bool, take_or_pay: bool, seed: int
) -> None:
    g: dict[str, Any] = {"share_pct": share, "cap_usd": cap, "until": until}
    if straight and cap is not None and until is not None:
        g["cap_amortisation"] = "straight_line"
    deal = _deal([g, None, {"share_pct": 60.0}], take_or_pay)
    plan = plan_fleet(deal, TimeGrid(deal.as_of, 14))
    u = np.random.default_rng(seed).uniform(0.0, 1.0, (64, plan.n_entities))
    scen = _scenario(plan.n_months, u, seed)
    fast = project(plan, scen, buyer_decay_per_year=DECAY)
    ref = project_reference(plan, scen, buyer_decay_per_year=DECAY)
    _same(fast, ref)
    np.testing.assert_array_equal(fast.guarantor_paid_usd, ref.guarantor_paid_usd)


def test_a_cap_of_zero_is_no_guarantee() -> None:
    capped = _deal([{"cap_usd": 0.0}, None])
    bare = _deal([None, None])
    plan_c = plan_fleet(capped, TimeGrid(capped.as_of, 14))
    plan_b = plan_fleet(bare, TimeGrid(bare.as_of, 14))
    u = np.random.default_rng(5).uniform(0.0, 1.0, (256, 3))  # T0, T1, then G
    for fn in (project, project_reference):
        with_cap = fn(plan_c, _scenario(14, u, 5), buyer_decay_per_year=DECAY)
        without = fn(plan_b, _scenario(14, u[:, :2], 5), buyer_decay_per_year=DECAY)
        _same(with_cap, without, plan_c.contract_last_month)
        assert not with_cap.guarantor_paid_usd.any()


def test_an_unlimited_written_backstop_is_todays() -> None:
    written = _deal([{"share_pct": 100.0, "cap_usd": MAX_USD}, None])
    today = _deal([{}, None])
    plan_w = plan_fleet(written, TimeGrid(written.as_of, 14))
    plan_t = plan_fleet(today, TimeGrid(today.as_of, 14))
    assert plan_w.contract_guarantee_written.tolist() == [True, False]
    u = np.random.default_rng(9).uniform(0.0, 1.0, (256, 3))
    for fn in (project, project_reference):
        a = fn(plan_w, _scenario(14, u, 9), buyer_decay_per_year=DECAY)
        b = fn(plan_t, _scenario(14, u, 9), buyer_decay_per_year=DECAY)
        _same(a, b)
