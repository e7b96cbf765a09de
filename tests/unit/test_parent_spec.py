"""Deals that name companies from the registry, and the ``parent`` section (``config.spec``)."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from gpucredit.assets.fleet import plan_fleet
from gpucredit.pipeline import build_model
from tests.conftest import load_example_data, make_deal


def _ddtl4() -> dict[str, Any]:
    return load_example_data("coreweave/ddtl4_spv")


def test_a_registry_name_takes_the_registrys_risk_and_a_typed_one_wins() -> None:
    deal = make_deal(_ddtl4())
    assert deal.contracts[0].rating == "AA"  # Meta: AA- (category AA)
    assert deal.parent is not None and deal.parent.rating == "B"  # CoreWeave: B+
    data = _ddtl4()
    data["contracts"][0]["annual_pd_pct"] = 0.5
    data["parent"]["rating"] = "BB-"
    typed = make_deal(data)
    assert typed.contracts[0].annual_pd_pct == 0.5 and typed.contracts[0].rating is None
    assert typed.parent is not None and typed.parent.rating == "BB"


def test_a_deals_own_entity_overrides_and_extends_the_registry() -> None:
    data = _ddtl4()
    data["entities"] = [
        {"name": "Meta", "annual_pd_pct": 0.3},
        {"name": "SPV Sponsor Holdco", "rating": "BB"},
        {"name": "SPV Sponsor", "parent": "SPV Sponsor Holdco"},
    ]
    data["parent"]["name"] = "SPV Sponsor"
    deal = make_deal(data)
    assert deal.contracts[0].annual_pd_pct == 0.3
    assert deal.parent is not None and deal.parent.rating == "BB"  # the group's


def test_an_unknown_name_without_a_risk_lists_close_registry_names() -> None:
    data = _ddtl4()
    data["contracts"][0]["tenant"] = "Metta"
    with pytest.raises(pydantic.ValidationError, match=r"not a company of the entity registry"):
        make_deal(data)
    data["contracts"][0]["tenant"] = "Core Weave"
    with pytest.raises(pydantic.ValidationError, match=r"close names: CoreWeave"):
        make_deal(data)


def test_a_cycle_of_parents_names_the_cycle() -> None:
    data = _ddtl4()
    data["entities"] = [
        {"name": "A Holdco", "parent": "B Holdco"},
        {"name": "B Holdco", "parent": "A Holdco"},
    ]
    data["parent"]["name"] = "A Holdco"
    with pytest.raises(pydantic.ValidationError, match=r"A Holdco -> B Holdco -> A Holdco"):
        make_deal(data)


def test_a_negative_cap_and_a_cap_without_a_guarantee_are_refused() -> None:
    data = _ddtl4()
    data["parent"].update(recourse="guarantee", guarantee_cap_usd=-1.0)
    with pytest.raises(pydantic.ValidationError, match="greater than or equal to 0"):
        make_deal(data)
    data["parent"].update(recourse="none", guarantee_cap_usd=1e6)
    with pytest.raises(pydantic.ValidationError, match="no cap without a guarantee"):
        make_deal(data)


def test_a_parent_that_is_also_tenant_and_guarantor_is_one_entity() -> None:
    data = _ddtl4()
    data["contracts"] = [
        {**data["contracts"][0], "units": 10000},
        {**data["contracts"][0], "tenant": "CoreWeave", "units": 6000},
        {
            **data["contracts"][0],
            "tenant": "OpenAI",
            "units": 6000,
            "guarantor": {"name": "CoreWeave"},
        },
    ]
    model = build_model(make_deal(data))
    plan = model.plan
    assert plan.entity_names == ("Meta", "CoreWeave", "OpenAI")
    assert plan.parent_entity == 1 and plan.n_parent_draws == 0
    assert plan.n_tenants == plan.n_entities == 3
    assert list(plan.contract_tenant) == [0, 1, 2] and list(plan.contract_guarantor) == [-1, -1, 1]
    alone = plan_fleet(make_deal(_ddtl4()), model.grid)
    assert alone.entity_names == ("Meta", "CoreWeave")
    assert alone.parent_entity == 1 and alone.n_parent_draws == 1 and alone.n_tenants == 1


def test_a_parents_other_risk_than_its_tenant_self_is_refused() -> None:
    data = _ddtl4()
    data["contracts"].append({**data["contracts"][0], "tenant": "CoreWeave", "units": 1000})
    data["parent"]["rating"] = "BB"  # the tenant CoreWeave takes the registry's B+
    with pytest.raises(pydantic.ValidationError, match="one company, one default risk"):
        make_deal(data)
