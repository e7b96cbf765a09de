"""Operator bankruptcy by hand: a stay of k months sells the GPUs at their value k months on,
charges the stay's operating deficits and the legal cost, and delays the proceeds by k months,
so their PV falls by the discount factor of those months and by the carry
(``credit.recovery.StayedRecovery``, ``stay_inputs``); a contract terminated on the servicer's
default stops paying in the servicer's default month (``assets.fleet.servicer_terminations``)."""

from __future__ import annotations

import dataclasses

import numpy as np

from gpucredit.assets.fleet import lease_failure_months, servicer_terminations
from gpucredit.credit.recovery import (
    LIQUIDATION_FACTORS,
    DefaultState,
    IncomeApproachRecovery,
    StayedRecovery,
    stay_inputs,
)
from gpucredit.pipeline import build_model
from tests.conftest import load_example_data, make_deal


def test_stay_inputs_by_hand() -> None:
    cfads = np.array([[5.0, -2.0, 3.0, -4.0, -1.0], [1.0, 1.0, 1.0, 1.0, -7.0]])
    value = np.arange(10.0).reshape(2, 5, 1) * 10.0  # row 0: 0..40, row 1: 50..90
    later, later_value, deficits = stay_inputs(np.array([1, 3]), cfads, value, 3)
    assert later.tolist() == [4, 5]  # min(t + k, H)
    assert later_value[:, 0].tolist() == [30.0, 90.0]
    assert deficits.tolist() == [-6.0, -7.0]  # months 2..4 of row 0; 4..5 of row 1 (H = 5)


def test_a_stay_delays_the_proceeds_and_charges_the_carry_and_the_cost() -> None:
    k, cost, pledged, carry = 11, 0.02, 10.0, -5.0
    state = DefaultState(
        month=np.array([6, 6]),
        ead_usd=np.array([1e9, 1e9]),
        pledged_cash_usd=np.array([pledged, pledged]),
        cohort_value_usd=np.array([[100.0], [100.0]]),
    )
    inner = IncomeApproachRecovery()
    stayed = StayedRecovery(
        inner=inner,
        stay_months=k,
        cost_share=cost,
        parent_default_month=np.array([4, 9]),  # row 0: after the parent's default; row 1: before
        later_month=np.array([17, 17]),
        later_value_usd=np.array([[80.0], [80.0]]),
        stay_cash_usd=np.array([carry, carry]),
        horizon_months=60,
    )
    got = stayed.recover(state)
    factor, days = LIQUIDATION_FACTORS["broker"]
    sale_later = 80.0 * factor * (1.0 - 0.05)  # the sale k months on, at the later value
    expected = pledged + (sale_later + carry) * (1.0 - cost)
    # 1e-12 relative: the same three operations in another order
    assert np.isclose(got.proceeds_usd[0], expected, rtol=1e-12, atol=0.0)
    assert got.lag_months[0] == days / 30.4375 + k
    assert got.time_to_recover_months[0] == days / 30.4375 + k
    # the row whose default came before the parent's is today's, to the bit
    base = inner.recover(state)
    for name in ("proceeds_usd", "lag_months", "gross_sale_usd", "time_to_recover_months"):
        assert getattr(got, name)[1] == getattr(base, name)[1], name
    # PV at the default month (credit.outcomes discounts the lag at the path's rate)
    r = 0.05 / 12.0
    pv_stayed = got.proceeds_usd[0] * (1.0 + r) ** (-got.lag_months[0])
    pv_today = base.proceeds_usd[0] * (1.0 + r) ** (-base.lag_months[0])
    # with an unchanged value and no cost the PV falls by the k months' discount and the carry
    flat = dataclasses.replace(
        stayed, cost_share=0.0, later_value_usd=np.array([[100.0], [100.0]])
    ).recover(state)
    pv_flat = flat.proceeds_usd[0] * (1.0 + r) ** (-flat.lag_months[0])
    expected_flat = (base.proceeds_usd[0] + carry) * (1.0 + r) ** (-base.lag_months[0] - k)
    assert np.isclose(pv_flat, expected_flat, rtol=1e-12, atol=0.0)  # same operations, reordered
    assert pv_stayed < pv_flat < pv_today


def test_a_terminated_contract_stops_in_the_servicers_default_month() -> None:
    data = load_example_data("coreweave/ddtl4_spv")
    data["contracts"][0]["terminates_on_servicer_default"] = True
    model = build_model(make_deal(data))
    plan = model.plan
    j = plan.parent_entity
    tau = np.full((3, plan.n_entities), plan.n_months + 1, dtype=np.int64)
    tau[0, j] = 10  # the servicer defaults, the customer does not
    tau[1, j], tau[1, plan.contract_tenant[0]] = 30, 12  # the customer first
    fail = lease_failure_months(plan, tau)
    assert fail[:, 0].tolist() == [10, 12, plan.n_months + 1]
    untouched = dataclasses.replace(plan, contract_terminates_on_servicer=np.zeros(1, bool))
    never = plan.n_months + 1
    assert lease_failure_months(untouched, tau)[:, 0].tolist() == [never, 12, never]
    same = tau[:, plan.contract_tenant]
    assert servicer_terminations(untouched, same, tau) is same
