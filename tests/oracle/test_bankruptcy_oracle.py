"""Operator bankruptcy on the pipeline: no stay, no cost and no termination is today's deal to
the bit; with them, the compiled fleet kernel equals its NumPy twin, and the stay leaves every
path whose default came before the parent's as it was."""

from __future__ import annotations

from typing import Any

import numpy as np

from gpucredit.assets.fleet import project, project_reference
from gpucredit.pipeline import SpreadInputs, _inputs, build_model
from gpucredit.pipeline.outcomes import run_recovery, run_structure_block, stayed_recovery
from gpucredit.scenarios import MonteCarloShocks
from tests.conftest import load_example_data, make_deal

FIELDS = ("ead_usd", "recovery_usd", "loss_usd", "lgd", "pv_per_par", "time_to_recover_months")
CASH = ("revenue_usd", "contracted_revenue_usd", "merchant_revenue_usd", "opex_usd", "cfads_usd")


def _data(stay: int | None, cost: float | None, terminate: bool | None) -> dict[str, Any]:
    data = load_example_data("coreweave/ddtl4_spv")
    for key, value in (("stay_months", stay), ("bankruptcy_cost_pct", cost)):
        if value is None:
            data["parent"].pop(key, None)
        else:
            data["parent"][key] = value
    if terminate is None:
        data["contracts"][0].pop("terminates_on_servicer_default", None)
    else:
        data["contracts"][0]["terminates_on_servicer_default"] = terminate
    return data


def _block(data: dict[str, Any]) -> tuple[Any, ...]:
    model = build_model(make_deal(data))
    inputs = _inputs(model, MonteCarloShocks(5), 0, 300)
    x = SpreadInputs.of(inputs)
    assert model.structure is not None
    ledger, outs = run_structure_block(
        model, model.structure, x, run_recovery(model), inputs.scenarios.credit_window()
    )
    return model, inputs, x, ledger, outs


def test_no_stay_no_cost_no_termination_is_todays_deal_to_the_bit() -> None:
    _, in_a, _, led_a, today = _block(_data(None, None, None))
    model, in_b, x, led_b, spelt = _block(_data(0, 0.0, False))
    recovery = run_recovery(model)
    assert (
        stayed_recovery(
            model,
            led_b.default_month,
            x.tenant_default_month,
            x.cfads_usd,
            x.cohort_value_usd,
            recovery,
        )
        is recovery
    )
    for name in CASH:
        assert getattr(in_a.cash, name).tobytes() == getattr(in_b.cash, name).tobytes(), name
    assert led_a.default_month.tobytes() == led_b.default_month.tobytes()
    for a, b in zip(today, spelt, strict=True):
        for name in FIELDS:
            assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name


def test_the_fleet_kernel_equals_its_twin_with_a_terminated_contract() -> None:
    model = build_model(make_deal(_data(None, None, True)))
    inputs = _inputs(model, MonteCarloShocks(3), 0, 200)
    fast = project(model.plan, inputs.scenarios, buyer_decay_per_year=model.buyer_decay_per_year)
    ref = project_reference(
        model.plan, inputs.scenarios, buyer_decay_per_year=model.buyer_decay_per_year
    )
    for name in (*CASH, "cohort_value_usd"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(ref, name), err_msg=name)
    np.testing.assert_array_equal(fast.lease_failure_month, ref.lease_failure_month)
    t_p = fast.tenant_default_month[:, model.plan.parent_entity]
    assert (fast.lease_failure_month[:, 0] <= t_p).all()  # the customer leaves with the operator


def test_a_stay_changes_only_the_paths_that_default_with_or_after_the_parent() -> None:
    _, _, _, _, today = _block(_data(None, None, None))
    model, _, x, ledger, stayed = _block(_data(11, 2.0, None))
    t_p = x.tenant_default_month[:, model.plan.parent_entity]
    t = ledger.default_month
    hit = (t > 0) & (t >= t_p)
    assert hit.any()
    for a, b in zip(today, stayed, strict=True):
        for name in FIELDS:
            assert getattr(a, name)[~hit].tobytes() == getattr(b, name)[~hit].tobytes(), name
        # a stay of 11 months costs a defaulted path at least its discount (the PV falls)
        assert np.all(b.pv_per_par[hit] < a.pv_per_par[hit])
        # 1e-6 USD: the same claim and allocation, only the recovery's size differs
        assert np.all(b.loss_usd >= a.loss_usd - 1e-6)
