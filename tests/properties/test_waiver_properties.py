"""Covenant waivers never add a default: on the same paths, every path that defaults with
waivers on also defaults with ``waiver: null`` (until a first waiver the two runs are the same,
and in that month the lender who always accelerates declares a default). So PD with waivers
never exceeds PD without."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.debt import LoanTerms, run_loan, run_waterfall
from gpucredit.debt.structure import run_structure
from gpucredit.pipeline import _inputs, build_model
from gpucredit.scenarios import MonteCarloShocks
from tests.conftest import EXAMPLE_FILES, load_example_data, make_deal
from tests.properties.test_structure_properties import assert_structure_cash_conserved
from tests.properties.test_waterfall_properties import _terms

N_PATHS = 400


def _without_waivers(data: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    loans = ([out["loan"]] if "loan" in out else []) + list(out.get("facilities", []))
    for loan in loans:
        for cov in loan.get("covenants") or []:
            if cov.get("consequence", "event_of_default") == "event_of_default":
                cov["waiver"] = None
    return out


def _never_waives(terms: LoanTerms) -> LoanTerms:
    covs = tuple(dataclasses.replace(c, waiver=None) for c in terms.covenants)
    return dataclasses.replace(terms, covenants=covs)


def _assert_fewer_defaults(on: np.ndarray, off: np.ndarray) -> None:
    """``on``/``off``: default months (path,) with waivers on and off."""
    assert np.all((on > 0) <= (off > 0)), "a path defaults only because of a waiver"
    assert (on > 0).mean() <= (off > 0).mean()


@pytest.mark.parametrize("stem", [p.stem for p in EXAMPLE_FILES])
def test_examples_pd_with_waivers_never_exceeds_pd_without(stem: str) -> None:
    data = load_example_data(stem)
    model_on = build_model(make_deal(data))
    model_off = build_model(make_deal(_without_waivers(data)))
    inputs = _inputs(model_on, MonteCarloShocks(3), 0, N_PATHS)
    cash, scen = inputs.cash, inputs.scenarios
    if model_on.structure is None:
        on = run_waterfall(model_on.terms, cash.cfads_usd, cash.collateral_value_usd, scen.sofr)
        off = run_waterfall(model_off.terms, cash.cfads_usd, cash.collateral_value_usd, scen.sofr)
        _assert_fewer_defaults(on.default_month, off.default_month)
        assert off.waivers.sum() == 0
    else:
        assert model_off.structure is not None
        # the engines' collateral axis: cohorts, or lots where contracts secure tiers
        values = model_on.collateral_values(cash.cohort_value_usd)
        args = (cash.cfads_usd, values, scen.sofr, scen.regime)
        s_on = run_structure(model_on.structure, *args)
        s_off = run_structure(model_off.structure, *args)
        _assert_fewer_defaults(s_on.default_month, s_off.default_month)
        assert all(f.waivers.sum() == 0 for f in s_off.facilities)


waiver = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "max_ltv": st.floats(0.05, 1.0),
            "fee_bps": st.floats(0.0, 200.0),
            "margin_step_up_bps": st.floats(0.0, 500.0),
            "max_waivers": st.integers(0, 4),
        }
    ),
)
covenant = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["min_dscr", "max_ltv"]),
        "threshold": st.floats(0.3, 2.5),
        "window_months": st.integers(1, 6),
        "cure_period_months": st.integers(0, 3),
        "waiver": waiver,
    }
)


@given(
    amort=st.sampled_from(["level_payment", "straight_line", "bullet", "schedule"]),
    coupon=st.floats(0.0, 20.0),
    tenor=st.integers(1, 24),
    covenants=st.lists(covenant, min_size=1, max_size=3),
    seed=st.integers(0, 2**31),
)
@settings(max_examples=40, deadline=None)
def test_random_loans_waivers_never_add_a_default(
    amort: str, coupon: float, tenor: int, covenants: list[dict[str, object]], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    n_paths = 40
    cfads = rng.normal(60_000.0, 50_000.0, (n_paths, tenor))
    collateral = rng.uniform(0.2e6, 3e6, (n_paths, tenor))
    sofr = rng.uniform(0.0, 0.06, (n_paths, tenor))
    terms = _terms(amort, coupon, tenor, 1.0, covenants)
    on = run_waterfall(terms, cfads, collateral, sofr)
    off = run_waterfall(_never_waives(terms), cfads, collateral, sofr)
    _assert_fewer_defaults(on.default_month, off.default_month)
    # the number of waivers granted is within each covenant's allowance, and the structure
    # engine agrees
    allowed = max(
        (c.waiver.max_waivers for c in terms.covenants if c.waiver is not None), default=0
    )
    assert np.all(on.waivers <= allowed)
    engine = run_loan(terms, cfads, collateral, sofr)
    assert np.array_equal(on.waivers, engine.waivers)
    # the structure pays step by step, the single loan nets CFADS once: last-bit differences
    np.testing.assert_allclose(engine.balance, on.balance, rtol=1e-12, atol=1e-6)


def test_structure_waivers_conserve_cash_and_never_add_a_default() -> None:
    # Two pari-passu DDTL tiers, each secured by its own cohorts, get a tight DSCR
    # event-of-default covenant that a lender waives up to three times while its pool covers
    # it: waivers fire on both facilities of one structure, alongside cross-default.
    data = load_example_data("ddtl2_tiered_structure")
    cov = {"kind": "min_dscr", "threshold": 1.6, "window_months": 3}
    lenient = {"max_ltv": 1.0, "max_waivers": 3}
    for fac in data["facilities"][:2]:
        fac["covenants"] = [dict(cov, waiver=lenient)]
    model_on = build_model(make_deal(data))
    model_off = build_model(make_deal(_without_waivers(data)))
    assert model_on.structure is not None and model_off.structure is not None
    inputs = _inputs(model_on, MonteCarloShocks(7), 0, N_PATHS)
    cash, scen = inputs.cash, inputs.scenarios
    args = (cash.cfads_usd, cash.cohort_value_usd, scen.sofr, scen.regime)
    on = run_structure(model_on.structure, *args)
    off = run_structure(model_off.structure, *args)
    assert sum(int(f.waivers.sum() > 0) for f in on.facilities) == 2  # both lenders waive
    assert all(int(f.waivers.max()) <= 3 for f in on.facilities)
    _assert_fewer_defaults(on.default_month, off.default_month)
    assert_structure_cash_conserved(model_on, on)
