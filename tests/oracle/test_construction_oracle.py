"""Construction risk, compiled against NumPy: the fleet kernel with a delivery month per path
and cohort (delays, long-stop terminations, cash-funded overruns) equals
``project_reference`` bit for bit, and the two structure engines agree on every ledger field
with interest capitalised until each path's delivery.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np
import pytest

from gpucredit.assets.fleet import ConstructionDraws, construction_draws, project, project_reference
from gpucredit.debt.engine import run_structure_compiled
from gpucredit.debt.structure import run_structure
from gpucredit.pipeline import _inputs, build_model
from gpucredit.pipeline.construction import pik_end_months
from gpucredit.scenarios import MonteCarloShocks
from tests.conftest import load_shipped_data, make_deal
from tests.oracle.test_compiled_structure import assert_same_ledger

N_PATHS = 300
EXAMPLE = "terawulf/flash_compute_notes_2030"


def two_cohorts() -> dict[str, Any]:
    """The Flash Compute example with a second, smaller delivery on its own schedule and
    overruns paid from project cash: two delays per path, the second lease (unbacked) with a
    long-stop beside the example's lease with its capped backstop."""
    data = load_shipped_data(EXAMPLE)
    data = copy.deepcopy(data)
    second = copy.deepcopy(data["fleet"][0])
    second["name"] = "b200-phase-2"
    second["units"] = 8000
    second["purchase_date"] = "2027-03-31"
    second["construction"]["overrun_funded_by"] = "project_cash"
    second["construction"]["delay_months"] = {"probabilities": {0: 0.3, 2: 0.3, 5: 0.4}}
    data["fleet"].append(second)
    lease = copy.deepcopy(data["contracts"][0])
    lease.update(cohort="b200-phase-2", units=8000, start="2027-03-31", end="2032-03-31")
    del lease["guarantor"]  # a long-stop is refused on a lease with a capped backstop
    lease["longstop_date"] = "2027-06-30"
    data["contracts"].append(lease)
    data["fleet"][0]["construction"]["overrun_funded_by"] = "project_cash"
    return data


def _assert_same_cash(a: Any, b: Any) -> None:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.dtype == y.dtype and x.shape == y.shape, f.name
        assert np.array_equal(x, y), f.name


@pytest.mark.parametrize("seed", [3, 11])
def test_fleet_kernel_with_a_delivery_month_per_path_equals_reference(seed: int) -> None:
    model = build_model(make_deal(two_cohorts()))
    inputs = _inputs(model, MonteCarloShocks(seed), 0, N_PATHS)
    draws = construction_draws(model.plan, seed, 0, N_PATHS)
    assert len(np.unique(draws.delay_months[:, 1])) == 3  # every delay of phase 2 drawn
    assert len(np.unique(draws.delay_months[:, 0])) > 3  # the hall's own delays drawn too
    kw: dict[str, Any] = {"buyer_decay_per_year": model.buyer_decay_per_year, "construction": draws}
    fast = project(model.plan, inputs.scenarios, **kw)
    ref = project_reference(model.plan, inputs.scenarios, **kw)
    _assert_same_cash(fast, ref)
    assert fast.terminated is not None and fast.terminated[:, 1].any()  # past the long-stop
    assert not fast.terminated[:, 1].all()
    # the pipeline draws the same block
    assert inputs.cash.delivery_delay_months is not None
    assert np.array_equal(inputs.cash.delivery_delay_months, draws.delay_months)
    assert np.array_equal(inputs.cash.cfads_usd, fast.cfads_usd)


def test_random_delays_beyond_any_distribution_still_match() -> None:
    model = build_model(make_deal(two_cohorts()))
    inputs = _inputs(model, MonteCarloShocks(5), 0, 64)
    rng = np.random.default_rng(4)
    draws = ConstructionDraws(
        rng.integers(0, 20, (64, 3)).astype(np.int64), rng.uniform(0.0, 5e8, (64, 3))
    )
    kw: dict[str, Any] = {"buyer_decay_per_year": model.buyer_decay_per_year, "construction": draws}
    _assert_same_cash(
        project(model.plan, inputs.scenarios, **kw),
        project_reference(model.plan, inputs.scenarios, **kw),
    )


@pytest.mark.parametrize("default_free", [False, True])
def test_engines_agree_with_interest_capitalised_until_each_paths_delivery(
    default_free: bool,
) -> None:
    model = build_model(make_deal(two_cohorts()))
    assert model.structure is not None
    inputs = _inputs(model, MonteCarloShocks(7), 0, N_PATHS)
    delay = inputs.cash.delivery_delay_months
    pik = pik_end_months(model, delay, N_PATHS)
    assert pik is not None and len(np.unique(pik)) > 3  # the paths capitalise for different spans
    args = (
        model.structure,
        inputs.cash.cfads_usd,
        inputs.cash.cohort_value_usd,
        inputs.scenarios.sofr,
        inputs.scenarios.credit_window(),
    )
    a = run_structure(*args, default_free=default_free, pik_end_month=pik)
    b = run_structure_compiled(*args, default_free=default_free, pik_end_month=pik)
    assert_same_ledger(a, b)
