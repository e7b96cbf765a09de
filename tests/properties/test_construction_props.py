"""Construction risk, properties on common random numbers: a delay of 0 reproduces the deal
without a construction block bit for bit, and a longer certain delay never lowers the PD."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

import gpucredit
from gpucredit.pipeline import _inputs, build_model
from gpucredit.pipeline.inputs import SpreadInputs
from gpucredit.pipeline.outcomes import run_recovery, run_structure_block
from gpucredit.scenarios import MonteCarloShocks
from tests.conftest import SHIPPED_DEALS, load_shipped_data, make_deal
from tests.reference.test_construction import deal_data

EXAMPLE = "terawulf/flash_compute_notes_2030"
CASH_FIELDS = ("revenue_usd", "opex_usd", "cfads_usd", "cohort_value_usd", "collateral_value_usd")


def with_delay(data: dict[str, Any], probabilities: dict[int, float] | None) -> Any:
    """The example with a delay distribution (None: no construction block)."""
    out = copy.deepcopy(data)
    if probabilities is None:
        del out["fleet"][0]["construction"]
    else:
        out["fleet"][0]["construction"]["delay_months"] = {"probabilities": probabilities}
    return make_deal(out)


def test_a_delay_of_zero_reproduces_the_deal_without_construction_risk() -> None:
    data = load_shipped_data(EXAMPLE)
    data["fleet"][0]["construction"]["cost_overrun_pct"] = {"probabilities": {0: 1.0}}
    today = build_model(with_delay(data, None))
    zero = build_model(with_delay(data, {0: 1.0}))
    a = _inputs(today, MonteCarloShocks(2), 0, 300)
    b = _inputs(zero, MonteCarloShocks(2), 0, 300)
    for name in CASH_FIELDS:
        assert np.array_equal(getattr(a.cash, name), getattr(b.cash, name)), name
    recovery = run_recovery(today)
    la, oa = run_structure_block(
        today, today.structure, SpreadInputs.of(a), recovery, a.scenarios.credit_window()
    )
    lb, ob = run_structure_block(
        zero, zero.structure, SpreadInputs.of(b), recovery, b.scenarios.credit_window()
    )
    assert np.array_equal(la.default_month, lb.default_month)
    assert np.array_equal(la.facilities[0].balance, lb.facilities[0].balance)
    assert np.array_equal(oa[0].pv_per_par, ob[0].pv_per_par)


def amortising(months: int) -> Any:
    """The hand deal of ``tests/reference/test_construction.py`` with a certain delay of
    ``months``: a straight-line note paying interest from month 1 and a six-month DSRA, a
    B-rated tenant; the months before the late delivery are paid from the DSRA."""
    data = deal_data({"delay_months": {"probabilities": {months: 1.0}}})
    data["contracts"][0].pop("annual_pd_pct")
    data["contracts"][0]["rating"] = "B"
    note = data["facilities"][0]
    note.update(
        interest_during_construction="paid",
        principal_usd=1.4e7,
        dsra_months=6,
        amortisation={"kind": "straight_line"},
    )
    return make_deal(data)


def test_a_longer_construction_delay_never_lowers_the_pd() -> None:
    # On a deal whose debt service runs on the calendar, a later delivery only takes months
    # of revenue away. (A balloon refinanced against the fleet's value can go the other way:
    # a later delivery is a younger fleet at maturity; docs/capital_structures.md.)
    pds = []
    for k in (0, 2, 4, 8):
        result = gpucredit.simulate(amortising(k), n_paths=512, seed=4, solve_fair_spread=False)
        assert result.construction is not None
        assert result.construction.mean_delay_months == k
        pds.append(result.metrics.pd)
    assert pds == sorted(pds), pds
    assert pds[-1] > pds[0], pds


def test_the_construction_report_does_not_depend_on_the_block_size() -> None:
    deal = gpucredit.load_deal(SHIPPED_DEALS / f"{EXAMPLE}.yaml")
    runs = [
        gpucredit.simulate(deal, n_paths=600, seed=9, block_size=size, solve_fair_spread=False)
        for size in (600, 128)
    ]
    assert runs[0].construction is not None
    assert runs[0].construction == runs[1].construction
    assert runs[0].metrics.pd == runs[1].metrics.pd
