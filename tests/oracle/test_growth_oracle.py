"""Growing borrowers against what they must reduce to (issue 13 item 8): a plan with no capex
is the run-off deal bit for bit, ``mode: run_off`` ignores the plan, and the parent covenants
(``max_leverage``, ``min_liquidity``) breach where a hand calculation says, in both engines."""

from __future__ import annotations

import dataclasses

import numpy as np

from gpucredit.config.growth import expand_growth
from gpucredit.config.spec import evolve
from gpucredit.debt.engine import run_structure_compiled
from gpucredit.debt.facilities import StructureTerms
from gpucredit.debt.structure import StructureLedger, run_structure
from gpucredit.debt.terms import CovenantTerms
from gpucredit.pipeline import _inputs, build_model
from gpucredit.scenarios import MonteCarloShocks
from tests.oracle.test_compiled_structure import assert_same_ledger
from tests.reference.test_growth import growing_deal

N_PATHS = 60


def _ledger(deal_growth: dict[str, object] | None) -> StructureLedger:
    deal = growing_deal()
    deal = evolve(deal, growth=deal_growth)
    model = build_model(deal)
    assert model.structure is not None
    x = _inputs(model, MonteCarloShocks(3), 0, N_PATHS)
    return run_structure_compiled(
        model.structure,
        x.cash.cfads_usd,
        x.cash.cohort_value_usd,
        x.scenarios.sofr,
        x.scenarios.credit_window(),
    )


def test_an_empty_plan_is_the_run_off_deal_bit_for_bit() -> None:
    run_off = evolve(growing_deal(), growth=None)
    empty = evolve(growing_deal(), growth={"capex_plan": [], "funding": {"debt_share_pct": 70}})
    assert expand_growth(empty) == run_off
    assert_same_ledger(
        _ledger(None), _ledger({"capex_plan": [], "funding": {"debt_share_pct": 70}})
    )


def test_run_off_mode_ignores_the_plan() -> None:
    deal = growing_deal(mode="run_off")
    assert expand_growth(deal) == evolve(growing_deal(), growth=None)


def _with_covenant(structure: StructureTerms, covenant: CovenantTerms) -> StructureTerms:
    first = structure.facilities[0]
    loan = dataclasses.replace(first.loan, covenants=(covenant,))
    return dataclasses.replace(
        structure, facilities=(dataclasses.replace(first, loan=loan), *structure.facilities[1:])
    )


def test_parent_covenants_breach_where_the_hand_calculation_says() -> None:
    model = build_model(growing_deal())
    assert model.structure is not None
    x = _inputs(model, MonteCarloShocks(3), 0, N_PATHS)
    args = (
        x.cash.cfads_usd,
        x.cash.cohort_value_usd,
        x.scenarios.sofr,
        x.scenarios.credit_window(),
    )
    base = run_structure(model.structure, *args)
    # as written, nothing defaults before month 3 (the notes' balloon in month 36 may)
    assert np.all((base.default_month == 0) | (base.default_month > 3))
    # the reserves (the notes' payment account, filled monthly for the semi-annual coupon) are
    # a few 100,000 USD: a floor of 1e12 USD breaches in month 1, an event of default at once
    # (no cure, no waiver)
    floor = CovenantTerms("min_liquidity", 1e12, 12, 0, "event_of_default", None)
    # a leverage cap of 1e-6 x breaches as soon as a full 3-month window of CFADS exists
    cap = CovenantTerms("max_leverage", 1e-6, 3, 0, "event_of_default", None)
    for covenant, month in ((floor, 1), (cap, 3)):
        structure = _with_covenant(model.structure, covenant)
        a = run_structure(structure, *args)
        b = run_structure_compiled(structure, *args)
        assert_same_ledger(a, b)
        assert np.all(a.default_month == month), covenant.kind
        assert np.all(a.facilities[0].default_kind == 2), covenant.kind  # 'covenant'
    # the payment account is emptied by each coupon (month 6): a floor of 1 USD breaches
    # there and not before
    structure = _with_covenant(
        model.structure, CovenantTerms("min_liquidity", 1.0, 12, 0, "event_of_default", None)
    )
    assert np.all(run_structure_compiled(structure, *args).default_month == 6)
    # a generous cap and a zero floor never breach: the ledger as without them
    for covenant in (
        CovenantTerms("max_leverage", 100.0, 12, 0, "event_of_default", None),
        CovenantTerms("min_liquidity", 0.0, 12, 0, "event_of_default", None),
    ):
        structure = _with_covenant(model.structure, covenant)
        assert_same_ledger(run_structure_compiled(structure, *args), base)
