"""Properties of the convertible's equity option and of refinancing at the path's spread."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.debt.engine import run_structure_compiled
from gpucredit.debt.facilities import (
    EquityTerms,
    FacilityTerms,
    RefinancingTerms,
    StructureTerms,
    default_steps,
)
from gpucredit.debt.structure import run_structure
from gpucredit.debt.terms import LoanTerms
from tests.conftest import plain_loan_terms
from tests.oracle.test_compiled_structure import assert_same_ledger
from tests.properties.test_block_invariance import _check, _deal_records

N_PATHS, N_MONTHS = 8, 18


def _loan(tenor: int, coupon: float) -> LoanTerms:
    return plain_loan_terms("f", 100.0, tenor, coupon)


def _paths(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cfads = rng.normal(6.0, 4.0, (N_PATHS, N_MONTHS))
    value = rng.uniform(50.0, 250.0, (N_PATHS, N_MONTHS, 1))
    sofr = rng.uniform(0.0, 0.06, (N_PATHS, N_MONTHS))
    share = rng.lognormal(np.log(10.0), 0.8, (N_PATHS, N_MONTHS))
    return cfads, value, sofr, share


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    low=st.floats(2.0, 20.0),
    rise=st.floats(0.0, 10.0),
    tenor=st.integers(2, N_MONTHS),
)
def test_a_higher_conversion_price_never_raises_what_the_holder_receives(
    seed: int, low: float, rise: float, tenor: int
) -> None:
    # conversion at maturity only: each path's cash and shares received fall (weakly) with
    # the conversion price, default or not (the share path does not depend on the debt)
    cfads, value, sofr, share = _paths(seed)
    refinancing = RefinancingTerms(max_ltv=0.6, spread=(0.03, 0.06))
    base = FacilityTerms(loan=_loan(tenor, 0.02), kind="convertible", refinancing=refinancing)
    received = []
    for price in (low, low + rise):
        f = dataclasses.replace(base, conversion_price_usd=price)
        structure = StructureTerms((f,), default_steps((f,)), EquityTerms(10.0, 1.0, "diffusion"))
        ledger = run_structure(structure, cfads, value, sofr, share_price_usd=share)
        received.append(ledger.facilities[0].lender_cashflow.sum(axis=1))
    # 1e-9 USD: the sums' rounding on 100 of par
    assert np.all(received[1] <= received[0] + 1e-9)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    spread=st.floats(0.0, 0.10),
    wider=st.floats(0.0, 0.10),
    slope=st.sampled_from([0.0, 0.064]),
    new_tenor=st.sampled_from([0, 6, 60]),
    level=st.booleans(),
    min_dscr=st.sampled_from([None, 1.0, 1.5]),
)
def test_refinancing_at_a_wider_spread_never_lowers_the_default_rate(
    seed: int,
    spread: float,
    wider: float,
    slope: float,
    new_tenor: int,
    level: bool,
    min_dscr: float | None,
) -> None:
    cfads, value, sofr, _ = _paths(seed)
    defaults = []
    for s in (spread, spread + wider):
        refinancing = RefinancingTerms(
            max_ltv=0.8,
            min_dscr=min_dscr,
            spread=(s, s + 0.02),
            spread_per_ltv=slope,
            ltv_pivot=0.55,
            new_tenor_months=new_tenor,
            new_level_payment=level,
        )
        f = FacilityTerms(loan=_loan(12, 0.08), kind="notes", refinancing=refinancing)
        ledger = run_structure_compiled(
            StructureTerms((f,), default_steps((f,))), cfads, value, sofr
        )
        defaults.append(ledger.default_month > 0)
    if new_tenor > 0:  # today's test does not look at the spread
        assert np.all(defaults[1] >= defaults[0])  # path by path
    else:
        assert np.array_equal(defaults[1], defaults[0])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), compiled=st.booleans())
def test_the_default_settings_reproduce_today_bit_for_bit(seed: int, compiled: bool) -> None:
    # no new facility (new_tenor_months 0) ignores the leverage slope; the fleet-value share
    # model ignores the diffusion's parameters; no soft call month ignores its trigger
    cfads, value, sofr, _ = _paths(seed)
    engine = run_structure_compiled if compiled else run_structure
    today = FacilityTerms(
        loan=_loan(12, 0.02),
        kind="convertible",
        conversion_price_usd=8.0,
        refinancing=RefinancingTerms(max_ltv=0.8, min_dscr=1.1, spread=(0.03, 0.06)),
    )
    new = dataclasses.replace(
        today,
        soft_call_trigger=1.3,
        refinancing=dataclasses.replace(
            today.refinancing, spread_per_ltv=0.064, ltv_pivot=0.55, new_level_payment=True
        ),
    )
    a = engine(
        StructureTerms((today,), default_steps((today,)), EquityTerms(10.0, 20.0)),
        cfads,
        value,
        sofr,
    )
    b = engine(
        StructureTerms(
            (new,), default_steps((new,)), EquityTerms(10.0, 20.0, vol=0.9, rho_fleet=0.5)
        ),
        cfads,
        value,
        sofr,
    )
    assert_same_ledger(a, b)


@pytest.mark.slow
def test_a_convertible_with_a_share_diffusion_is_bit_identical_for_any_block_size() -> None:
    # the share's own stream is drawn granule by granule like every other: two splits, 130
    # paths (blocks of 64 cut the first 256-path granule), the option's passes included
    _check(_deal_records("coreweave/convertible_2031", 130, ((64, 2), (4096, 1))))
