"""Properties of the intercreditor waterfall: cash conserved, seniority, cross-default."""

from __future__ import annotations

import numpy as np
import pytest

from gpucredit.debt.structure import run_structure
from gpucredit.pipeline import _inputs, build_model
from gpucredit.scenarios import MonteCarloShocks
from tests.conftest import load_example_data, make_deal

STEMS = ("ddtl2_tiered_structure", "hosting_secured_notes_backstop", "parent_unsecured_notes")


def _run(stem: str, n: int = 400):  # type: ignore[no-untyped-def]
    model = build_model(make_deal(load_example_data(stem)))
    inputs = _inputs(model, MonteCarloShocks(7), 0, n)
    assert model.structure is not None
    ledger = run_structure(
        model.structure,
        inputs.cash.cfads_usd,
        inputs.cash.cohort_value_usd,
        inputs.scenarios.sofr,
        inputs.scenarios.regime,
    )
    return model, inputs, ledger


@pytest.mark.parametrize("stem", STEMS)
def test_cash_is_conserved_through_every_step(stem: str) -> None:
    model, _, ledger = _run(stem)
    assert_structure_cash_conserved(model, ledger)


def assert_structure_cash_conserved(model, ledger) -> None:  # type: ignore[no-untyped-def]
    """Every month the deal is active: sources = uses, through every step."""
    facs = ledger.facilities
    sources = ledger.cfads.copy()
    for fl in facs:
        sources += fl.dsra_draw + fl.lockup_draw + fl.reserve_release + fl.refinanced
    uses = ledger.distribution + ledger.trapped - ledger.unfunded_opex
    uses += (
        np.diff(
            np.concatenate([np.zeros((sources.shape[0], 1)), ledger.lockup_balance], axis=1), axis=1
        )
        * 0
    )
    for fl in facs:
        uses += fl.interest_paid + fl.principal_paid + fl.prepaid + fl.dsra_topup + fl.lockup_in
        if fl.dspa_in is not None and fl.dspa_draw is not None:  # the payment account
            uses += fl.dspa_in - fl.dspa_draw
    # step payments that are not a facility's: refinancing interest and the maintenance reserve
    labels = [s.kind for s in model.structure.steps]
    for j, kind in enumerate(labels):
        if kind == "maintenance_reserve":
            uses += ledger.step_paid[:, :, j]
    refi_interest = sum(
        (
            ledger.step_paid[:, :, j]
            for j, s in enumerate(model.structure.steps)
            if s.kind == "interest"
        ),
        np.zeros_like(sources),
    ) - sum((fl.interest_paid for fl in facs), np.zeros_like(sources))
    uses += refi_interest
    active = ledger.debt_service > 0
    np.testing.assert_allclose(uses[active], sources[active], rtol=1e-9, atol=1e-3)


@pytest.mark.parametrize("cash_share", [0.1, 0.15])
def test_junior_never_paid_while_a_senior_is_short(cash_share: float) -> None:
    # The parent example ranks unsecured notes and a convertible behind the DDTL. With its own
    # cash flow the DDTL is never the first to run short; with a tenth of it, it is on every
    # path (with 15%, on a few dozen).
    model = build_model(make_deal(load_example_data("parent_unsecured_notes")))
    inputs = _inputs(model, MonteCarloShocks(7), 0, 400)
    assert model.structure is not None
    ledger = run_structure(
        model.structure,
        inputs.cash.cfads_usd * cash_share,
        inputs.cash.cohort_value_usd,
        inputs.scenarios.sofr,
        inputs.scenarios.regime,
    )
    facs = model.structure.facilities
    months = np.arange(1, ledger.cfads.shape[1] + 1)
    checked = 0
    for j, fj in enumerate(facs):
        senior = ledger.facilities[j]
        # short on its own payment (payment, maturity or borrowing base), not cross-defaulted
        short = (senior.default_month[:, None] == months) & np.isin(senior.default_kind, (1, 3, 4))[
            :, None
        ]
        for k, fk in enumerate(facs):
            if fk.seniority <= fj.seniority:
                continue
            junior = ledger.facilities[k]
            paid = junior.interest_paid + junior.principal_paid + junior.prepaid
            assert not (paid[short] > 1e-6).any()
            checked += int(short.sum())
    assert checked > 0  # the property was exercised


@pytest.mark.parametrize("stem", STEMS)
def test_cross_default_makes_all_live_facilities_default_together(stem: str) -> None:
    _, _, ledger = _run(stem, 600)
    month = ledger.default_month
    for fl in ledger.facilities:
        live_then = fl.alive[np.arange(month.size), np.maximum(month - 1, 0)] & (month > 0)
        np.testing.assert_array_equal(fl.default_month[live_then], month[live_then])
        assert (fl.default_month[month == 0] == 0).all()
    assert (month > 0).any() or stem != "parent_unsecured_notes"
    # a borrower default is always some facility's (refinancing debt left after every facility
    # is repaid is another lender's)
    any_facility = np.zeros_like(month, dtype=bool)
    for fl in ledger.facilities:
        any_facility |= fl.default_month > 0
    np.testing.assert_array_equal(month > 0, any_facility)


@pytest.mark.parametrize("stem", ["parent_unsecured_notes", "hosting_secured_notes_backstop"])
def test_refinancing_reads_the_credit_window_not_the_gpu_regime(stem: str) -> None:
    """The market condition of refinancing is the credit window: with the window open
    throughout, the GPU regime paths change nothing; shutting it can only add defaults."""
    model, inputs, _ = _run(stem)
    assert model.structure is not None
    args = (
        model.structure,
        inputs.cash.cfads_usd,
        inputs.cash.cohort_value_usd,
        inputs.scenarios.sofr,
    )
    open_all = np.zeros_like(inputs.scenarios.regime)
    shut_all = np.ones_like(inputs.scenarios.regime)
    ledger_open = run_structure(*args, open_all)
    ledger_none = run_structure(*args, None)
    ledger_shut = run_structure(*args, shut_all)
    ledger_run = run_structure(*args, inputs.scenarios.credit_window())
    assert np.array_equal(ledger_open.default_month, ledger_none.default_month)
    # a path that defaults with the window open also defaults (no later) with it shut
    d_open, d_shut = ledger_open.default_month, ledger_shut.default_month
    early = (d_open > 0) & ((d_shut == 0) | (d_shut > d_open))
    assert not early.any()
    assert np.count_nonzero(ledger_run.default_month) >= np.count_nonzero(d_open)
