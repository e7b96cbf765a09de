"""Tenants and guarantors: escalators, stress hazards, lease failure, validation."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pydantic
import pytest

from gpucredit.assets.fleet import (
    FleetPlan,
    lease_failure_months,
    plan_fleet,
    project,
    project_reference,
    tenant_default_months,
)
from gpucredit.config.loading import parse_deal
from gpucredit.config.spec import ContractSpec, DealSpec, SpecProblem, check_tenant_risk
from gpucredit.credit.contracts import assigned_contract_uplift
from gpucredit.errors import SpecError
from gpucredit.market.ratings import (
    annual_default_rate,
    basel_corporate_correlation,
    is_investment_grade,
    monthly_hazard,
    stress_hazard_multiplier,
)
from gpucredit.scenarios import TimeGrid
from gpucredit.scenarios.scenario import ScenarioSet
from tests.conftest import hand_deal_data, make_deal

HOURS = 730.0


def _deal(contracts: list[dict[str, Any]], **changes: Any) -> DealSpec:
    data = hand_deal_data()
    data["fleet"][0] = dict(data["fleet"][0], purchase_date="2025-12-31", units=300)
    return make_deal(data, contracts=contracts, **changes)


def _contract(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = copy.deepcopy(hand_deal_data()["contracts"][0])
    base.update(changes)
    return base


def _flat_scenario(plan: FleetPlan, uniforms: np.ndarray, regime: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    n_paths, n = uniforms.shape[0], plan.n_months
    return ScenarioSet(
        generations=("H100",),
        regime=np.zeros((n_paths, n), dtype=np.int8) if regime is None else regime,
        rent=np.full((n_paths, n, 1), 2.0),
        utilisation=np.full((n_paths, n), 0.8),
        sofr=np.zeros((n_paths, n)),
        tenant_uniforms=uniforms,
        entity_factor=None,  # independent entities: the thresholds are -log(U)
    )


# --- escalators ---------------------------------------------------------------------------


def test_escalated_revenue_by_hand() -> None:
    # 100 GPUs at 2.00 USD/h from 2026-01-15, +10% on 2027-01-15; as_of 2026-07-31.
    # Month 6 of the grid is (2026-12-31, 2027-01-31]: 15 days at 2.00, 16 days at 2.20.
    deal = _deal([_contract(start="2026-01-15", end="2028-01-15", escalator_pct_per_year=10.0)])
    plan = plan_fleet(deal, TimeGrid(deal.as_of, 12))
    expected_rate = np.array([2.0] * 5 + [(15 * 2.0 + 16 * 2.2) / 31] + [2.0 * 1.1] * 6)
    np.testing.assert_allclose(plan.contract_rate_by_month[0], expected_rate, rtol=1e-15)
    assert plan.contract_rate_usd_per_gpu_hour[0] == 2.0

    scen = _flat_scenario(plan, np.ones((2, 1)))
    for fn in (project, project_reference):
        cash = fn(plan, scen, buyer_decay_per_year={"H100": 0.2})
        np.testing.assert_allclose(
            cash.contracted_revenue_usd[1], 100 * HOURS * expected_rate, rtol=1e-12
        )
    # every anniversary compounds: year 3 of a contract started 2024-07-31 pays 2 x 1.05^2
    deal = _deal(
        [_contract(start="2024-07-31", end="2027-07-31", escalator_pct_per_year=5.0)],
    )
    plan = plan_fleet(deal, TimeGrid(deal.as_of, 12))
    np.testing.assert_allclose(plan.contract_rate_by_month[0], 2.0 * 1.05**2, rtol=1e-15)


def test_no_escalator_keeps_the_rate_exactly() -> None:
    deal = _deal([_contract()])
    plan = plan_fleet(deal, TimeGrid(deal.as_of, 14))
    assert np.all(plan.contract_rate_by_month[0] == 2.0)


# --- hazards: rating, stress multiplier ----------------------------------------------------


def test_stress_multiplier_is_the_sp_worst_year_over_the_average() -> None:
    # S&P 2024 study: 1991 speculative-grade default rate 11.02% (Table 1), long-run one-year
    # speculative-grade average 3.54% (Table 24); ratio of the implied hazards.
    assert stress_hazard_multiplier() == pytest.approx(
        math.log(1 - 0.1102) / math.log(1 - 0.0354), rel=1e-15
    )
    assert stress_hazard_multiplier() == pytest.approx(3.2395, abs=1e-4)


def test_basel_correlation_spans_12_to_24_percent() -> None:
    assert basel_corporate_correlation(0.0) == pytest.approx(0.24)
    assert basel_corporate_correlation(1.0) == pytest.approx(0.12)
    # BIS explanatory note, at PD 1%: w = (1 - e^-0.5) / (1 - e^-50) = 0.3935
    assert basel_corporate_correlation(0.01) == pytest.approx(
        0.12 * 0.39347 + 0.24 * 0.60653, abs=1e-5
    )


def test_investment_grade() -> None:
    assert is_investment_grade("BBB") and not is_investment_grade("BB")
    assert is_investment_grade(None, annual_default_rate("BBB"))
    assert not is_investment_grade(None, 0.002)


def test_hazard_rises_in_the_glut() -> None:
    deal = _deal([_contract(annual_pd_pct=10.0)])
    plan = plan_fleet(deal, TimeGrid(deal.as_of, 24))
    h = monthly_hazard(0.10)
    assert plan.entity_monthly_hazard[0] == pytest.approx(h, rel=1e-15)
    m = plan.stress_hazard_multiplier
    u = np.full((3, 1), math.exp(-9.5 * h))  # threshold E = 9.5 h
    regime = np.zeros((3, 24), dtype=np.int8)
    regime[1] = 1  # glut throughout: the hazard is m h
    regime[2, 2:] = 1  # two tight months, then glut
    tau = tenant_default_months(plan, u, regime)
    # tight: ceil(9.5) = 10; glut: ceil(9.5 / 3.24) = 3; mixed: 2 + 2.24 (t - 2) first >= 9.5
    # at t = 5 (t=4 gives 8.48, t=5 gives 11.72)
    assert tau[:, 0].tolist() == [10, math.ceil(9.5 / m), 5]
    assert math.ceil(9.5 / m) == 3
    # no regime given: tight throughout, the constant-hazard rule ceil(E / h)
    assert tenant_default_months(plan, u)[0, 0] == 10
    # a multiplier of 1 makes the regime irrelevant
    flat = plan_fleet(deal, TimeGrid(deal.as_of, 24), stress_multiplier=1.0)
    assert tenant_default_months(flat, u, regime)[:, 0].tolist() == [10, 10, 10]


def test_no_default_for_u_one_or_zero_hazard() -> None:
    deal = _deal([_contract(annual_pd_pct=0.0), _contract(tenant="U", annual_pd_pct=50.0)])
    plan = plan_fleet(deal, TimeGrid(deal.as_of, 12))
    tau = tenant_default_months(plan, np.array([[0.5, 1.0]]), None, np.array([-3.0]))
    assert tau.tolist() == [[13, 13]]


# --- guarantors -----------------------------------------------------------------------------


def _guaranteed_deal() -> DealSpec:
    return _deal(
        [
            _contract(tenant="Neo", rating="B", annual_pd_pct=None, units=100),
            _contract(
                tenant="Lab",
                rating="CCC",
                annual_pd_pct=None,
                units=100,
                guarantor={"name": "Google", "rating": "AA"},
            ),
            _contract(
                tenant="Neo",
                rating="B",
                annual_pd_pct=None,
                units=50,
                guarantor={"name": "Lab", "rating": "CCC"},
            ),
        ]
    )


def test_entities_are_tenants_then_other_guarantors() -> None:
    deal = _guaranteed_deal()
    plan = plan_fleet(deal, TimeGrid(deal.as_of, 12))
    assert plan.tenant_names == ("Neo", "Lab")
    assert plan.entity_names == ("Neo", "Lab", "Google")
    assert plan.n_tenants == plan.n_entities == 3  # the shock sources draw for all three
    assert plan.contract_tenant.tolist() == [0, 1, 0]
    assert plan.contract_guarantor.tolist() == [-1, 2, 1]
    np.testing.assert_allclose(
        plan.entity_monthly_hazard,
        [monthly_hazard(annual_default_rate(r)) for r in ("B", "CCC", "AA")],
    )


def test_lease_fails_when_tenant_and_guarantor_both_have() -> None:
    plan = plan_fleet(_guaranteed_deal(), TimeGrid(_guaranteed_deal().as_of, 12))
    tau = np.array([[3, 5, 13], [13, 4, 7], [2, 9, 1]])  # (path, entity Neo, Lab, Google)
    fail = lease_failure_months(plan, tau)
    assert fail.tolist() == [[3, 13, 5], [13, 7, 13], [2, 9, 9]]


def test_guarantor_pays_from_the_tenants_default_until_its_own() -> None:
    deal = _deal(
        [_contract(tenant="Lab", annual_pd_pct=20.0, guarantor={"name": "G", "annual_pd_pct": 1})],
        re_lease_downtime_months=2,
    )
    plan = plan_fleet(deal, TimeGrid(deal.as_of, 12))
    h_t, h_g = plan.entity_monthly_hazard
    # path 0: tenant defaults in month 3, guarantor never; path 1: tenant in 3, guarantor in 6
    u = np.array([[math.exp(-2.5 * h_t), 1.0], [math.exp(-2.5 * h_t), math.exp(-5.5 * h_g)]])
    scen = _flat_scenario(plan, u)
    for fn in (project, project_reference):
        cash = fn(plan, scen, buyer_decay_per_year={"H100": 0.2})
        assert cash.tenant_default_month.tolist() == [[3, 13], [3, 6]]
        assert cash.lease_failure_month.tolist() == [[13], [6]]
        full = 100 * 2.0 * HOURS
        np.testing.assert_allclose(cash.contracted_revenue_usd[0], full, rtol=1e-15)
        np.testing.assert_allclose(cash.contracted_revenue_usd[1, :5], full, rtol=1e-15)
        assert np.all(cash.contracted_revenue_usd[1, 5:] == 0.0)
        # months 6-7 the 100 units sit idle (downtime), then join the other 200 at market
        merchant = 2.0 * deal.merchant.price_factor * 0.8 * HOURS
        np.testing.assert_allclose(cash.merchant_revenue_usd[1, :7], 200 * merchant, rtol=1e-12)
        np.testing.assert_allclose(cash.merchant_revenue_usd[1, 7:], 300 * merchant, rtol=1e-12)
        np.testing.assert_allclose(cash.merchant_revenue_usd[0], 200 * merchant, rtol=1e-12)


def test_guarantor_keeps_the_assigned_contract_alive() -> None:
    deal = _deal(
        [_contract(tenant="Lab", annual_pd_pct=20.0, guarantor={"name": "G", "annual_pd_pct": 1})]
    )
    plan = plan_fleet(deal, TimeGrid(deal.as_of, 12))
    value = np.array([[100 * 5_000.0]])
    args = (np.array([4]), value, np.array([0.01]), np.array([0.02]))
    # tenant gone in month 2, guarantor alive: the lender still holds a paying lease
    backed = assigned_contract_uplift(plan, np.array([[2, 13]]), *args)[0]
    both_gone = assigned_contract_uplift(plan, np.array([[2, 3]]), *args)[0]
    both_alive = assigned_contract_uplift(plan, np.array([[13, 13]]), *args)[0]
    assert both_gone == 0.0
    assert 0.0 < backed < both_alive  # one survivor is worth less than two


# --- validation --------------------------------------------------------------------------


def test_guarantor_needs_exactly_one_risk_measure_and_a_valid_rating() -> None:
    with pytest.raises(pydantic.ValidationError, match="exactly one"):
        _deal([_contract(guarantor={"name": "G"})])
    with pytest.raises(pydantic.ValidationError, match="exactly one"):
        _deal([_contract(guarantor={"name": "G", "rating": "A", "annual_pd_pct": 0.1})])
    with pytest.raises(pydantic.ValidationError, match="S&P-style rating"):
        _deal([_contract(guarantor={"name": "G", "rating": "Z"})])
    with pytest.raises(pydantic.ValidationError, match="other than the tenant"):
        _deal([_contract(guarantor={"name": "T", "rating": "A"})])
    deal = _deal([_contract(guarantor={"name": "G", "rating": "bb+"})])
    assert deal.contracts[0].guarantor is not None
    assert deal.contracts[0].guarantor.rating == "BB"


def test_escalator_is_bounded() -> None:
    with pytest.raises(pydantic.ValidationError, match="less than or equal to 100"):
        _deal([_contract(escalator_pct_per_year=150.0)])


def _yaml(contracts: str) -> str:
    return f"""
name: y
as_of: 2026-07-31
borrower: {{name: B}}
fleet:
  - {{name: c1, generation: H100, units: 100, purchase_date: 2026-07-31,
      unit_cost_usd: 20000, power_kw_per_gpu: 1.0}}
contracts:
{contracts}
opex: {{power_price_usd_per_mwh: 100, pue: 1.5, colocation_usd_per_kw_month: 100}}
loan:
  name: L
  principal_usd: 300000
  rate: {{kind: fixed, coupon_pct: 12}}
  tenor_months: 3
  amortisation: {{kind: straight_line}}
"""


def test_loader_reports_the_guarantor_field_path() -> None:
    text = _yaml(
        "  - {tenant: T, rating: B, cohort: c1, units: 10, rate_usd_per_gpu_hour: 2,\n"
        "     start: 2026-07-31, end: 2027-07-31,\n"
        "     guarantor: {name: G, rating: A, annual_pd_pct: 0.1}}"
    )
    with pytest.raises(SpecError) as info:
        parse_deal(text, source="deal.yaml")
    issue = info.value.issues[0]
    assert issue.field == "contracts[0].guarantor.rating"
    assert issue.value == "A"
    assert "exactly one" in issue.expected
    assert "deal.yaml" in str(info.value)


def _contracts(*data: dict[str, Any]) -> list[ContractSpec]:
    return [ContractSpec.model_validate(d) for d in data]


def test_one_company_one_risk() -> None:
    a = _contract(tenant="Lab", rating="B", annual_pd_pct=None, units=10)
    b = _contract(tenant="Lab", rating="BB", annual_pd_pct=None, units=10)
    with pytest.raises(SpecProblem) as info:
        check_tenant_risk(_contracts(a, b))
    assert info.value.field == "contracts[1].rating"
    assert info.value.value == "BB"
    assert "contracts[0]" in info.value.expected and "rating B" in info.value.expected

    # a guarantor named elsewhere as a tenant must carry the tenant's risk too
    c = _contract(
        tenant="Neo", annual_pd_pct=5.0, units=10, guarantor={"name": "Lab", "rating": "A"}
    )
    with pytest.raises(SpecProblem) as info:
        check_tenant_risk(_contracts(a, c))
    assert info.value.field == "contracts[1].guarantor.rating"
    d = _contract(
        tenant="Neo", annual_pd_pct=5.0, units=10, guarantor={"name": "Lab", "rating": "B"}
    )
    check_tenant_risk(_contracts(a, d))  # consistent: no error
    e = _contract(tenant="Lab", annual_pd_pct=2.93, rating=None, units=10)
    with pytest.raises(SpecProblem, match="one company, one default risk") as info:
        check_tenant_risk(_contracts(a, e))
    assert info.value.field == "contracts[1].annual_pd_pct"


def test_engine_refuses_a_company_with_two_risks() -> None:
    # a deal built without validation (the deal validator may also refuse it): the plan
    # still names the field
    valid = _deal([_contract()])
    fields = {name: getattr(valid, name) for name in type(valid).model_fields}
    bad = _contracts(
        _contract(tenant="Lab", rating="B", annual_pd_pct=None, units=10),
        _contract(tenant="Lab", rating="BB", annual_pd_pct=None, units=10),
    )
    deal = DealSpec.model_construct(**(fields | {"contracts": bad}))
    with pytest.raises(SpecError, match=r"contracts\[1\].rating"):
        plan_fleet(deal, TimeGrid(deal.as_of, 12))


def test_plan_rejects_bad_copula_parameters() -> None:
    deal = _deal([_contract()])
    grid = TimeGrid(deal.as_of, 12)
    with pytest.raises(ValueError, match="asset_correlation"):
        plan_fleet(deal, grid, asset_correlation=1.0)
    with pytest.raises(ValueError, match="stress_multiplier"):
        plan_fleet(deal, grid, stress_multiplier=0.0)
