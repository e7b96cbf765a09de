"""The parent as servicer, and one default time per company, by hand (``assets.fleet``)."""

from __future__ import annotations

import dataclasses

import numpy as np

from gpucredit.assets.fleet import servicer_hit
from gpucredit.pipeline import _inputs, build_model
from gpucredit.scenarios import MonteCarloShocks
from tests.conftest import load_example_data, make_deal, without_operator_bankruptcy


def test_the_servicers_default_stops_revenue_then_costs_a_share_of_it() -> None:
    model = build_model(make_deal(load_example_data("coreweave/ddtl4_spv")))
    plan = dataclasses.replace(
        model.plan, n_months=6, servicer_downtime_months=2, servicer_cost_share=0.05
    )
    j = plan.parent_entity
    tau = np.full((2, plan.n_entities), 7, dtype=np.int64)
    tau[0, j] = 3  # path 0: the parent defaults in month 3; path 1: never
    contracted = np.full((2, 6), 100.0)
    merchant = np.full((2, 6), 20.0)
    opex = np.full((2, 6), 50.0)
    c, m, revenue, o, cfads = servicer_hit(plan, tau, contracted, merchant, opex)
    # months 3 and 4 earn nothing and still cost opex; from month 5, 5% of 120 more opex
    np.testing.assert_array_equal(revenue[0], [120.0, 120.0, 0.0, 0.0, 120.0, 120.0])
    np.testing.assert_array_equal(o[0], [50.0, 50.0, 50.0, 50.0, 56.0, 56.0])
    np.testing.assert_array_equal(cfads[0], [70.0, 70.0, -50.0, -50.0, 64.0, 64.0])
    np.testing.assert_array_equal(c[0], [100.0, 100.0, 0.0, 0.0, 100.0, 100.0])
    np.testing.assert_array_equal(m[0], [20.0, 20.0, 0.0, 0.0, 20.0, 20.0])
    np.testing.assert_array_equal(cfads[1], np.full(6, 70.0))  # no default, no change
    none = dataclasses.replace(plan, servicer_downtime_months=-1)
    *_, unchanged = servicer_hit(none, tau, contracted, merchant, opex)
    np.testing.assert_array_equal(unchanged, np.full((2, 6), 70.0))


def test_one_company_has_one_default_time_in_all_its_roles() -> None:
    # CoreWeave is a tenant, the guarantor of another lease and the parent: one column of the
    # default months serves its lease, the guarantee and the parent's links
    data = without_operator_bankruptcy(load_example_data("coreweave/ddtl4_spv"))
    lease = data["contracts"][0]
    data["contracts"] = [
        {**lease, "units": 10000},
        {**lease, "tenant": "CoreWeave", "units": 6000},
        {**lease, "tenant": "OpenAI", "units": 6000, "guarantor": {"name": "CoreWeave"}},
    ]
    data["parent"]["cross_default"] = True
    model = build_model(make_deal(data))
    x = _inputs(model, MonteCarloShocks(3), 0, 400)
    tau = x.cash.tenant_default_month
    j = model.plan.parent_entity
    fail = x.cash.lease_failure_month
    np.testing.assert_array_equal(fail[:, 1], tau[:, j])
    np.testing.assert_array_equal(fail[:, 2], np.maximum(tau[:, 2], tau[:, j]))
    assert (tau[:, j] <= model.grid.n_months).any()
