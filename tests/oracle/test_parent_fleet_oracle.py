"""The parent's fleet in the same market, on the pipeline (``pipeline.outcomes``): with the
switch off, or on every path where the parent's sale does not meet the deal's, every facility's
outcome is the sale alone's to the bit; where it meets, the loss is never lower."""

from __future__ import annotations

import numpy as np

from gpucredit.pipeline import SpreadInputs, _inputs, build_model
from gpucredit.pipeline.outcomes import (
    parent_fleet_sale,
    run_recovery,
    run_structure_block,
    structure_outcomes,
)
from gpucredit.scenarios import MonteCarloShocks
from tests.conftest import load_example_data, make_deal, without_operator_bankruptcy

FIELDS = ("ead_usd", "recovery_usd", "loss_usd", "lgd", "pv_per_par", "time_to_recover_months")


def _block(switch: bool | None) -> tuple[object, ...]:
    data = without_operator_bankruptcy(load_example_data("coreweave/ddtl4_spv"))
    if switch is not None:
        data["parent"]["fleet_sold_on_default"] = switch
    model = build_model(make_deal(data))
    inputs = _inputs(model, MonteCarloShocks(5), 0, 300)
    x = SpreadInputs.of(inputs)
    assert model.structure is not None
    ledger, outs = run_structure_block(
        model, model.structure, x, run_recovery(model), inputs.scenarios.credit_window()
    )
    alone = structure_outcomes(model, model.structure, ledger, x, run_recovery(model))
    return model, x, ledger, outs, alone


def test_switch_off_is_the_sale_alone_and_on_changes_only_paths_the_parents_sale_meets() -> None:
    model_off, _, _, off, alone_off = _block(False)
    assert parent_fleet_sale(model_off) is None
    for a, b in zip(off, alone_off, strict=True):
        for name in FIELDS:
            assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    model, x, ledger, on, alone = _block(None)  # default: on, CoreWeave's fleet is shipped
    sale = parent_fleet_sale(model)
    assert sale is not None and sale[1] == 3
    t_p = x.tenant_default_month[:, model.plan.parent_entity]
    t = ledger.default_month
    met = (t > 0) & (t >= t_p) & (t < t_p + sale[1])
    assert met.any()
    for a, b, c in zip(on, alone, off, strict=True):
        for name in FIELDS:
            assert getattr(b, name).tobytes() == getattr(c, name).tobytes(), name
            assert getattr(a, name)[~met].tobytes() == getattr(b, name)[~met].tobytes(), name
        # 1e-6 USD: the same claim and allocation, only the sale's price differs
        assert np.all(a.loss_usd >= b.loss_usd - 1e-6)


def test_a_single_loan_with_a_parent_co_sells_too() -> None:
    from gpucredit.credit.outcomes import evaluate
    from gpucredit.pipeline.outcomes import co_sold_recovery, contracts_uplift, loan_waterfall

    data = load_example_data("b200_ai_lab")
    data["parent"] = {
        "name": "CoreWeave",
        "annual_pd_pct": 30.0,
        "fleet_units": {"B200": 200_000},
        "fleet_sale_months": 12,
        "servicer": {"downtime_months": 6, "replacement_cost_pct_of_revenue": 5},
    }
    model = build_model(make_deal(data))
    assert model.structure is None and parent_fleet_sale(model) is not None
    inputs = _inputs(model, MonteCarloShocks(2), 0, 400)
    cash, scen = inputs.cash, inputs.scenarios
    ledger = loan_waterfall(
        model.terms, cash.cfads_usd, cash.collateral_value_usd, scen.sofr, "numba"
    )
    alone_recovery = run_recovery(model)
    co = co_sold_recovery(model, ledger.default_month, cash.tenant_default_month, alone_recovery)
    assert co is not alone_recovery
    extra = contracts_uplift(model, cash.tenant_default_month)
    p = model.terms.principal_usd
    on = evaluate(ledger, cash.cohort_value_usd, co, scen.sofr, p, extra_collateral=extra)
    alone = evaluate(
        ledger, cash.cohort_value_usd, alone_recovery, scen.sofr, p, extra_collateral=extra
    )
    # 1e-6 USD: the same claim, only the sale's price differs. (The PV is not ordered path by
    # path: where the recovery is capped at EAD, the capped amount arrives with the sale's
    # effective lag, which a hastier co-sold sale can shorten.)
    assert np.all(on.loss_usd >= alone.loss_usd - 1e-6)
    t_p = cash.tenant_default_month[:, model.plan.parent_entity]
    t = ledger.default_month
    met = (t > 0) & (t >= t_p) & (t < t_p + 12)
    assert met.any()
    for name in FIELDS:
        assert getattr(on, name)[~met].tobytes() == getattr(alone, name)[~met].tobytes(), name
