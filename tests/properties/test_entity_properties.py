"""One company, one default time: whichever roles a company plays in a deal (tenant of some
leases, guarantor of others, the parent), one column of default months serves them all
(``assets.fleet._entities``, ``FleetPlan.parent_entity``)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.pipeline import _inputs, build_model
from gpucredit.scenarios import MonteCarloShocks
from tests.conftest import load_example_data, make_deal, without_operator_bankruptcy

COMPANY = "CoreWeave"
OTHERS = ("Meta", "OpenAI", "Anthropic")


@settings(max_examples=5, deadline=None)
@given(
    roles=st.lists(st.sampled_from(["tenant", "guarantor", "other"]), min_size=3, max_size=3),
    parent=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_one_company_has_one_default_time_in_all_its_roles(
    roles: list[str], parent: bool, seed: int
) -> None:
    data = without_operator_bankruptcy(load_example_data("coreweave/ddtl4_spv"))
    lease = {k: v for k, v in data["contracts"][0].items() if k != "tenant"}
    contracts = []
    for i, role in enumerate(roles):
        c = {**lease, "units": 7000, "tenant": COMPANY if role == "tenant" else OTHERS[i]}
        if role == "guarantor":
            c["guarantor"] = {"name": COMPANY}
        contracts.append(c)
    data["contracts"] = contracts
    if not parent:
        data.pop("parent")
    if not parent and COMPANY not in str(contracts):
        return  # the company plays no role
    model = build_model(make_deal(data))
    plan = model.plan
    assert plan.entity_names.count(COMPANY) == 1
    j = plan.entity_names.index(COMPANY)
    assert plan.parent_entity == (j if parent else -1)
    x = _inputs(model, MonteCarloShocks(seed), 0, 200)
    tau = x.cash.tenant_default_month
    fail = x.cash.lease_failure_month
    for k, role in enumerate(roles):
        tenant = tau[:, plan.contract_tenant[k]]
        if role == "tenant":
            np.testing.assert_array_equal(fail[:, k], tau[:, j])
        elif role == "guarantor":
            np.testing.assert_array_equal(fail[:, k], np.maximum(tenant, tau[:, j]))
        else:
            np.testing.assert_array_equal(fail[:, k], tenant)
