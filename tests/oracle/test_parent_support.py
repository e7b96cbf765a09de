"""The parent's guarantee in both structure engines, and what a parent does and does not change
(``ParentSpec``; docs/capital_structures.md, "Parents, sponsors, servicers and the entity
registry").

* The compiled engine equals the NumPy oracle on every ledger field with a guarantee (capped,
  unlimited, zero) and an outside default drawn at random, default-free or not.
* A guarantee capped at zero equals no guarantee, bit for bit.
* A higher cap never raises the PD.
* A non-recourse SPV (no guarantee, no cross-default, no servicer) whose parent defaults is
  unaffected: its cash flows and ledger are those of the same deal without a parent.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.debt.engine import run_structure_compiled
from gpucredit.debt.structure import StructureLedger, run_structure
from gpucredit.pipeline import _inputs, build_model
from gpucredit.pipeline.inputs import SpreadInputs
from gpucredit.pipeline.outcomes import run_recovery, run_structure_block
from gpucredit.scenarios import MonteCarloShocks
from tests.conftest import load_example_data, make_deal, without_operator_bankruptcy
from tests.oracle.test_compiled_structure import assert_same_ledger

N_PATHS = 120  # parent_unsecured_notes is short on most paths: the guarantee is exercised


def _program(stem: str) -> tuple[Any, ...]:
    model = build_model(make_deal(load_example_data(stem)))
    assert model.structure is not None
    x = _inputs(model, MonteCarloShocks(7), 0, N_PATHS)
    return (
        model.structure,
        x.cash.cfads_usd,
        x.cash.cohort_value_usd,
        x.scenarios.sofr,
        x.scenarios.credit_window(),
    )


@functools.cache
def _notes() -> tuple[Any, ...]:
    return _program("parent_unsecured_notes")


def _without_support(ledger: StructureLedger) -> StructureLedger:
    facilities = tuple(dataclasses.replace(f, parent_support=None) for f in ledger.facilities)
    return dataclasses.replace(ledger, facilities=facilities)


@pytest.mark.parametrize("stem", ["parent_unsecured_notes", "ddtl2_tiered_structure"])
def test_compiled_equals_numpy_with_a_parent_guarantee(stem: str) -> None:
    args = _program(stem)
    n = args[1].shape[1]
    rng = np.random.default_rng(11)
    end = rng.integers(1, n + 2, N_PATHS)
    outside = rng.integers(1, n + 2, N_PATHS)
    paid = 0.0
    for cap in (None, 0.0, 2e6, 4e7):
        for default_free in (False, True):
            kwargs: dict[str, Any] = {
                "parent_support_end_month": end,
                "parent_support_cap_usd": cap,
                "external_default_month": outside,
                "default_free": default_free,
            }
            a = run_structure(*args, **kwargs)
            b = run_structure_compiled(*args, **kwargs)
            assert_same_ledger(a, b)
            for f in a.facilities:
                assert f.parent_support is not None
                assert np.all(f.parent_support >= 0.0)
                if cap is not None:  # the cap holds on every path
                    assert np.all(f.parent_support.sum(axis=1) <= cap + 1e-6)  # 1 micro-USD
                if default_free:
                    assert not f.parent_support.any()  # the riskless run has no guarantee
            paid += sum(float(f.parent_support.sum()) for f in a.facilities)
    if stem == "parent_unsecured_notes":
        assert paid > 0.0  # the comparison saw the guarantee pay


def test_a_guarantee_capped_at_zero_equals_no_guarantee() -> None:
    notes = _notes()
    n = notes[1].shape[1]
    end = np.full(N_PATHS, n + 1)
    for engine in (run_structure, run_structure_compiled):
        plain = engine(*notes)
        zero = engine(*notes, parent_support_end_month=end, parent_support_cap_usd=0.0)
        assert_same_ledger(plain, _without_support(zero))
        assert int((plain.default_month > 0).sum()) > 0  # there were shortfalls to cover


@settings(max_examples=6, deadline=None)
@given(
    low=st.floats(0.0, 5e7, allow_nan=False),
    more=st.floats(0.0, 5e7, allow_nan=False),
    seed=st.integers(0, 2**16),
)
def test_a_higher_cap_never_raises_the_pd(low: float, more: float, seed: int) -> None:
    args = _notes()
    n = args[1].shape[1]
    end = np.random.default_rng(seed).integers(1, n + 2, N_PATHS)
    pds = []
    for cap in (low, low + more, None):
        ledger = run_structure_compiled(
            *args, parent_support_end_month=end, parent_support_cap_usd=cap
        )
        pds.append(int((ledger.default_month > 0).sum()))
    assert pds[0] >= pds[1] >= pds[2]


def test_a_non_recourse_spv_is_unaffected_by_its_parents_default() -> None:
    base = without_operator_bankruptcy(load_example_data("coreweave/ddtl4_spv"))
    with_parent = {**base, "parent": {"name": "CoreWeave"}}  # no recourse, link or servicer
    without = {k: v for k, v in base.items() if k != "parent"}
    runs = []
    for data in (with_parent, without):
        model = build_model(make_deal(data))
        x = _inputs(model, MonteCarloShocks(5), 0, N_PATHS)
        spread_x = SpreadInputs.of(x)
        assert model.structure is not None
        ledger, outs = run_structure_block(
            model,
            model.structure,
            spread_x,
            run_recovery(model),
            x.scenarios.credit_window(),
        )
        runs.append((model, x, ledger, outs))
    (m1, x1, l1, o1), (_, x0, l0, o0) = runs
    parent_month = x1.cash.tenant_default_month[:, m1.plan.parent_entity]
    assert (parent_month <= m1.grid.n_months).any()  # the parent defaults on some paths
    np.testing.assert_array_equal(x1.cash.cfads_usd, x0.cash.cfads_usd)
    np.testing.assert_array_equal(
        x1.cash.tenant_default_month[:, : m1.plan.n_tenants], x0.cash.tenant_default_month
    )
    assert_same_ledger(l0, l1)
    for a, b in zip(o0, o1, strict=True):
        np.testing.assert_array_equal(a.loss_usd, b.loss_usd)
        np.testing.assert_array_equal(a.pv_per_par, b.pv_per_par)
