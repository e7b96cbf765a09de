"""The multi-facility waterfall with one term loan is the single-loan waterfall (STYLE.md 6).

``debt.structure.run_structure`` generalises ``debt.waterfall.run_waterfall``; on a structure of
one facility with the default steps every ledger field must agree, on deals that exercise the
DSRA, every covenant consequence, covenant waivers, a bullet refinanced at maturity and payment
defaults.
"""

from __future__ import annotations

import numpy as np
import pytest

from gpucredit.debt import run_loan, run_waterfall
from gpucredit.debt.facilities import FacilityTerms, StructureTerms, default_steps
from gpucredit.debt.structure import run_structure
from gpucredit.pipeline import _inputs, build_model
from gpucredit.scenarios import MonteCarloShocks
from tests.oracle.test_engine_vs_loop import VARIANTS, WAIVING

N_PATHS = 1000  # the IG-contracted deal defaults on ~0.3% of paths: enough to compare
SAME = (
    "alive",
    "balance",
    "interest_due",
    "interest_paid",
    "principal_paid",
    "prepaid",
    "refinanced",
    "ds_scheduled",
    "dsra_balance",
    "dsra_draw",
    "dsra_topup",
    "lockup_balance",
    "lockup_in",
    "reserve_release",
    "distribution",
    "unfunded_opex",
    "dscr",
    "dscr_trailing",
    "ltv",
    "breach",
    "default_month",
    "default_kind",
    "ead",
    "initial_dsra",
    "waivers",
)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_one_facility_structure_equals_single_loan(name: str) -> None:
    model = build_model(VARIANTS[name])
    inputs = _inputs(model, MonteCarloShocks(11), 0, N_PATHS)
    cash = inputs.cash
    single = run_waterfall(
        model.terms, cash.cfads_usd, cash.collateral_value_usd, inputs.scenarios.sofr
    )
    facility = FacilityTerms(loan=model.terms)
    structure = StructureTerms((facility,), default_steps((facility,)))
    out = run_structure(structure, cash.cfads_usd, cash.cohort_value_usd, inputs.scenarios.sofr)
    multi = out.facilities[0]
    for field in SAME:
        a, b = getattr(single, field), getattr(multi, field)
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-6, err_msg=field)
    # The single loan hands the lender its DSRA and the lock-up and trapped cash; the structure
    # keeps the deal's accounts apart from each facility's reserve.
    np.testing.assert_allclose(
        multi.pledged_cash + out.estate_cash, single.pledged_cash, rtol=1e-12, atol=1e-6
    )
    lockup_draw = multi.lockup_draw
    np.testing.assert_allclose(lockup_draw, single.lockup_draw, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(multi.trapped, single.trapped, rtol=1e-12, atol=1e-6)
    assert int((single.default_month > 0).sum()) > 0  # the comparison saw defaults
    if name in WAIVING:
        assert int(multi.waivers.sum()) > 0  # ... and covenant waivers


@pytest.mark.parametrize("name", list(VARIANTS))
def test_a_single_loan_through_the_compiled_engine_is_todays_single_loan(name: str) -> None:
    # ``run_loan`` is what the pipeline runs for a single loan: the compiled structure engine on
    # one facility with the single loan's convention for an unfunded operating deficit
    model = build_model(VARIANTS[name])
    inputs = _inputs(model, MonteCarloShocks(11), 0, N_PATHS)
    cash = inputs.cash
    args = (model.terms, cash.cfads_usd, cash.collateral_value_usd, inputs.scenarios.sofr)
    single, engine = run_waterfall(*args), run_loan(*args)
    for field in ("alive", "breach", "default_month", "default_kind", "waivers"):
        assert np.array_equal(getattr(engine, field), getattr(single, field)), field
    for field in (*SAME, "pledged_cash", "lockup_draw", "trapped"):
        # the structure pays step by step where the single loan nets CFADS against the debt
        # service once: the sums differ in the last bits
        a, b = getattr(single, field), getattr(engine, field)
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-6, err_msg=field)
