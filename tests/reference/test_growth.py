"""Growing borrowers, by hand (issue 13 item 8): a contract signed at the market earns the
path's rent index in its signing month x (1 + rate_vs_market_pct/100) x units x hours, and the
plan expands into the cohorts, draws and contracts its figures say."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from gpucredit.config.growth import expand_growth
from gpucredit.config.spec import DdtlSpec, DealSpec
from gpucredit.pipeline import _inputs, build_model
from gpucredit.scenarios import MonteCarloShocks
from gpucredit.units import HOURS_PER_MONTH


def growing_deal(**growth: Any) -> DealSpec:
    """1,000 H100 and unsecured notes; one capex item of 100 B200 on 2026-03-31, 60% won for
    12 months at the market + 10% by a tenant that never defaults, 70% debt-funded."""
    plan: dict[str, Any] = {
        "capex_plan": [
            {"date": "2026-03-31", "generation": "B200", "units": 100, "unit_cost_usd": 45000}
        ],
        "funding": {"debt_share_pct": 70},
        "new_contracts": {
            "tenant": "Lab that pays",
            "annual_pd_pct": 0.0,
            "win_rate_pct": 60,
            "term_months": 12,
            "rate_vs_market_pct": 10,
            "tail_rate_usd_per_gpu_hour": 3.0,
        },
    }
    plan.update(growth)
    return DealSpec.model_validate(
        {
            "name": "growing",
            "as_of": "2025-12-11",
            "borrower": {"name": "Neo-cloud"},
            "fleet": [
                {
                    "name": "h100",
                    "generation": "H100",
                    "units": 1000,
                    "purchase_date": "2025-03-31",
                    "unit_cost_usd": 30000,
                }
            ],
            "opex": {
                "power_price_usd_per_mwh": 65,
                "pue": 1.25,
                "colocation_usd_per_kw_month": 140,
            },
            "facilities": [
                {
                    "name": "notes",
                    "kind": "notes",
                    "secured_by": [],
                    "rate": {"kind": "fixed", "coupon_pct": 9.25},
                    "principal_usd": 10_000_000,
                    "tenor_months": 36,
                }
            ],
            "growth": plan,
        }
    )


def test_the_plan_expands_into_its_figures() -> None:
    deal = expand_growth(growing_deal())
    assert deal.growth is None
    cohort = deal.fleet[-1]
    assert (cohort.name, cohort.generation, cohort.units) == ("growth-1-b200", "B200", 100)
    (contract,) = deal.contracts
    assert contract.units == 60 and contract.rate_vs_market_pct == 10.0  # 60% of 100 units
    assert (contract.start.isoformat(), contract.end.isoformat()) == ("2026-03-31", "2027-03-31")
    ddtl = deal.facilities[-1]
    assert isinstance(ddtl, DdtlSpec) and ddtl.secured_by == ["growth-1-b200"]
    assert ddtl.draws[0].amount_usd == 100 * 45000 * 0.70  # the debt share of the cost
    assert ddtl.drawn_at_close_usd == 0.0
    assert ddtl.tenor_months == 4 + 60  # drawn in grid month 4 (ends 2026-04-11), 60 months


def test_a_market_rate_contract_earns_the_path_rent_at_signing() -> None:
    model = build_model(growing_deal())
    plan = model.plan
    (k,) = np.flatnonzero(plan.contract_market_month >= 0)
    signed = int(plan.contract_market_month[k])
    assert signed == 3  # 0-based: the grid's 4th month (2026-03-12 to 2026-04-11) holds 03-31
    inputs = _inputs(model, MonteCarloShocks(5), 0, 40)
    rent = inputs.scenarios.rent_of("B200")[:, signed]
    # months 5 to 12 lie wholly inside the contract (2026-03-31 to 2027-03-31), its only one
    for t in range(signed + 1, signed + 9):
        expected = 60 * (rent * 1.10) * HOURS_PER_MONTH * 1.0
        np.testing.assert_array_equal(inputs.cash.contracted_revenue_usd[:, t], expected)
    assert np.all(inputs.cash.contracted_revenue_usd[:, :signed] == 0.0)  # nothing before


def test_won_contracts_end_at_the_servicers_default_when_the_plan_says_so() -> None:
    won = {
        "tenant": "Lab that pays",
        "annual_pd_pct": 0.0,
        "win_rate_pct": 60,
        "term_months": 12,
        "tail_rate_usd_per_gpu_hour": 3.0,
        "terminates_on_servicer_default": True,
    }
    data = growing_deal().model_dump(by_alias=True)
    data["growth"]["new_contracts"] = won
    with pytest.raises(ValidationError, match="terminates_on_servicer_default"):
        DealSpec.model_validate(data)  # a won contract ends with its operator: one is needed
    data["parent"] = {
        "name": "Operator",
        "annual_pd_pct": 3.0,
        "servicer": {"downtime_months": 3, "replacement_cost_pct_of_revenue": 5},
    }
    (contract,) = expand_growth(DealSpec.model_validate(data)).contracts
    assert contract.terminates_on_servicer_default
    assert not expand_growth(growing_deal()).contracts[0].terminates_on_servicer_default
