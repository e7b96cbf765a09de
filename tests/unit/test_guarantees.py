"""Guarantees as written: partial, capped, amortising and time-limited backstops."""

from __future__ import annotations

import copy
import datetime as dt
import math
from typing import Any

import numpy as np
import pytest
import yaml

from gpucredit.assets.fleet import FleetPlan, plan_fleet, project, project_reference
from gpucredit.config.loading import parse_deal
from gpucredit.config.spec import DealSpec
from gpucredit.errors import SpecError
from gpucredit.scenarios import TimeGrid
from gpucredit.scenarios.scenario import ScenarioSet
from tests.conftest import hand_deal_data, make_deal

HOURS = 730.0
FULL = 100 * 2.0 * HOURS  # a month's rent: 100 GPUs at 2.00 USD/GPU-hour, 146,000 USD
DECAY = {"H100": 0.2}


def _deal(guarantor: dict[str, Any] | None, downtime: int = 2) -> DealSpec:
    data = hand_deal_data()
    data["fleet"][0] = dict(data["fleet"][0], purchase_date="2025-12-31", units=300)
    contract: dict[str, Any] = copy.deepcopy(data["contracts"][0])
    contract.update(tenant="Lab", annual_pd_pct=20.0)
    if guarantor is not None:
        contract["guarantor"] = {"name": "G", "annual_pd_pct": 1.0, **guarantor}
    return make_deal(data, contracts=[contract], re_lease_downtime_months=downtime)


def _scenario(plan: FleetPlan, uniforms: np.ndarray) -> ScenarioSet:
    n_paths, n = uniforms.shape[0], plan.n_months
    return ScenarioSet(
        generations=("H100",),
        regime=np.zeros((n_paths, n), dtype=np.int8),
        rent=np.full((n_paths, n, 1), 2.0),
        utilisation=np.full((n_paths, n), 0.8),
        sofr=np.zeros((n_paths, n)),
        tenant_uniforms=uniforms,
        entity_factor=None,  # independent entities: the thresholds are -log(U)
    )


def _tenant_defaults_in_month_3(plan: FleetPlan) -> np.ndarray:
    h_t = plan.entity_monthly_hazard[0]
    return np.array([[math.exp(-2.5 * h_t), 1.0]])  # the guarantor never defaults


def test_capped_half_share_pays_to_the_cap_exactly_then_the_lease_fails() -> None:
    # 50% of a 146,000 USD month is 73,000; a 200,000 USD cap pays 73,000 in months 3 and 4
    # and the 54,000 left in month 5; the lease fails in month 6 (2 months idle, then merchant).
    deal = _deal({"share_pct": 50.0, "cap_usd": 200_000.0})
    plan = plan_fleet(deal, TimeGrid(deal.as_of, 12))
    scen = _scenario(plan, _tenant_defaults_in_month_3(plan))
    for fn in (project, project_reference):
        cash = fn(plan, scen, buyer_decay_per_year=DECAY)
        assert cash.tenant_default_month.tolist() == [[3, 13]]
        assert cash.lease_failure_month.tolist() == [[6]]
        paid = cash.guarantor_paid_usd[0]
        assert paid[:5].tolist() == [0.0, 0.0, 73_000.0, 73_000.0, 54_000.0]
        assert paid.sum() == 200_000.0  # whole dollars: exact in binary floating point
        contracted = cash.contracted_revenue_usd[0]
        assert contracted[:5].tolist() == [FULL, FULL, 73_000.0, 73_000.0, 54_000.0]
        assert np.all(contracted[5:] == 0.0)
        # idle in months 6 and 7 (downtime), merchant from month 8 with the spare units
        merchant = cash.merchant_revenue_usd[0]
        assert merchant[6] == merchant[4]  # month 7: 200 spare units only
        assert merchant[7] > merchant[6]  # month 8: the lease's 100 units re-let


def test_until_ends_the_backstop_part_way_through_a_month() -> None:
    # until 2026-11-15: month 4 of the grid, (2026-10-31, 2026-11-30], is half covered.
    deal = _deal({"until": "2026-11-15"})
    plan = plan_fleet(deal, TimeGrid(deal.as_of, 12))
    cash = project(
        plan, _scenario(plan, _tenant_defaults_in_month_3(plan)), buyer_decay_per_year=DECAY
    )
    assert cash.guarantor_paid_usd[0, :5].tolist() == [0.0, 0.0, FULL, FULL * 15 / 30, 0.0]
    assert cash.lease_failure_month.tolist() == [[5]]


def test_straight_line_cap_falls_to_zero_at_until() -> None:
    # cap 1m USD from the start (2026-07-31) to 0 at 2027-07-31 (365 days), read at month ends
    deal = _deal(
        {"cap_usd": 1_000_000.0, "cap_amortisation": "straight_line", "until": "2027-07-31"}
    )
    plan = plan_fleet(deal, TimeGrid(deal.as_of, 12))
    until = dt.date(2027, 7, 31)
    ends = [
        dt.date(2026, 10, 31),
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 31),
        dt.date(2027, 1, 31),
    ]
    caps = [1_000_000.0 * (until - d).days / 365 for d in ends]
    # months 3-5 pay the full rent (438,000 < the cap of month 5, 580,822); month 6 pays
    # what is left under its cap (495,890 - 438,000) and is the last
    expected = [FULL, FULL, FULL, caps[3] - 3 * FULL]
    for fn in (project, project_reference):
        cash = fn(
            plan, _scenario(plan, _tenant_defaults_in_month_3(plan)), buyer_decay_per_year=DECAY
        )
        # the cap as computed from day counts: 1e-9 relative covers the division's rounding
        np.testing.assert_allclose(cash.guarantor_paid_usd[0, 2:6], expected, rtol=1e-9)
        assert cash.lease_failure_month.tolist() == [[7]]


def test_guarantor_default_stops_a_written_backstop() -> None:
    deal = _deal({"share_pct": 80.0})
    plan = plan_fleet(deal, TimeGrid(deal.as_of, 12))
    h_t, h_g = plan.entity_monthly_hazard
    u = np.array([[math.exp(-2.5 * h_t), math.exp(-5.5 * h_g)]])  # tenant in 3, guarantor in 6
    for fn in (project, project_reference):
        cash = fn(plan, _scenario(plan, u), buyer_decay_per_year=DECAY)
        assert cash.lease_failure_month.tolist() == [[6]]
        np.testing.assert_array_equal(
            cash.guarantor_paid_usd[0, :7], [0, 0] + [0.8 * FULL] * 3 + [0, 0]
        )


def test_default_guarantor_fields_are_the_unlimited_backstop() -> None:
    deal = _deal({})
    assert deal.contracts[0].guarantor is not None
    assert not deal.contracts[0].guarantor.as_written
    plan = plan_fleet(deal, TimeGrid(deal.as_of, 12))
    assert not plan.contract_guarantee_written.any()
    cash = project(
        plan, _scenario(plan, _tenant_defaults_in_month_3(plan)), buyer_decay_per_year=DECAY
    )
    assert cash.guarantor_paid_usd.shape == (1, 12)
    assert not cash.guarantor_paid_usd.any()


@pytest.mark.parametrize(
    ("guarantor", "field", "words"),
    [
        ({"share_pct": 120.0}, "contracts[0].guarantor.share_pct", "over 100%"),
        ({"cap_usd": -1.0}, "contracts[0].guarantor.cap_usd", "0"),
        ({"until": "2026-07-01"}, "contracts[0].guarantor.until", "after the contract's start"),
        (
            {"cap_usd": 5.0, "cap_amortisation": "straight_line"},
            "contracts[0].guarantor.cap_amortisation",
            "until",
        ),
    ],
)
def test_bad_guarantees_are_refused_with_their_field(
    guarantor: dict[str, Any], field: str, words: str
) -> None:
    data = hand_deal_data()
    data["contracts"][0]["guarantor"] = {"name": "G", "rating": "AA", **guarantor}
    with pytest.raises(SpecError) as info:
        parse_deal(yaml.safe_dump(data), source="deal.yaml")
    issue = info.value.issues[0]
    assert issue.field == field
    assert words in issue.expected


def test_a_miners_hosting_lease_refuses_a_written_backstop() -> None:
    from gpucredit.config.loading import parse_spec
    from gpucredit.config.miner import MinerSpec
    from tests.conftest import load_example_data

    data = load_example_data("miner_hosting_pivot")
    data["hosting"]["leases"][0]["guarantor"]["cap_usd"] = 1e9
    with pytest.raises(SpecError) as info:
        parse_spec(MinerSpec, yaml.safe_dump(data), source="miner.yaml", what="miner")
    issue = info.value.issues[0]
    assert issue.field == "hosting.leases[0].guarantor"
    assert "an unlimited backstop" in issue.expected
