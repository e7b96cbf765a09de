"""The compiled structure engine equals the NumPy one on every ledger field (STYLE.md 6).

``debt.engine.run_structure_compiled`` interprets the waterfall program in one numba loop over
paths and months; ``debt.structure.run_structure`` is the readable NumPy oracle, vectorised over
paths. Both run the same operations in the same order, so every field must agree to the bit
(NaN where NaN): on the shipped example structures, on the miner's (which adds its margin loan
as the program's first step, an outside default, an enterprise value and opening cash), and on
structures Hypothesis draws from every facility kind, seniority, step, covenant consequence,
waiver and refinancing test, with or without a margin loan (its LTV ladder, pledge, free BTC and
a BTC path with crashes drawn too).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpucredit
from gpucredit.credit.metrics import CREDIT_LEDGER_FIELDS
from gpucredit.debt.engine import _FIELDS, run_loan, run_structure_compiled
from gpucredit.debt.facilities import (
    EquityTerms,
    FacilityTerms,
    RefinancingTerms,
    StepTerms,
    StructureTerms,
    default_steps,
    with_margin,
)
from gpucredit.debt.margin_loan import MarginLoanTerms
from gpucredit.debt.structure import StructureLedger, run_structure
from gpucredit.debt.terms import CovenantTerms, LoanTerms, WaiverTerms
from gpucredit.miners import build_miner_model, miner_inputs
from gpucredit.pipeline import _inputs, build_model
from gpucredit.scenarios import MonteCarloShocks
from tests.conftest import EXAMPLES, load_example_data, make_deal

STEMS = (
    "ddtl2_tiered_structure",
    "hosting_secured_notes_backstop",
    "parent_unsecured_notes",
    "coreweave/growing_parent",  # growth expanded: draws, market-rate contracts, max_leverage
)
N_PATHS = 150  # parent_unsecured_notes defaults on ~3/4 of paths, the others on none: both seen


def _same_fields(a: Any, b: Any, where: str) -> None:
    for g in dataclasses.fields(a):
        u, v = getattr(a, g.name), getattr(b, g.name)
        if u is None or v is None:
            assert u is None and v is None, (where, g.name)
            continue
        assert u.shape == v.shape and u.dtype == v.dtype, (where, g.name)
        np.testing.assert_array_equal(v, u, err_msg=f"{where}: {g.name}")


def assert_same_ledger(numpy_ledger: StructureLedger, compiled: StructureLedger) -> None:
    """Every field of the two ledgers, bit for bit (NaN equals NaN)."""
    for f in dataclasses.fields(StructureLedger):
        a, b = getattr(numpy_ledger, f.name), getattr(compiled, f.name)
        if f.name == "facilities":
            assert len(a) == len(b)
            for k, (fa, fb) in enumerate(zip(a, b, strict=True)):
                _same_fields(fa, fb, f"facility {k}")
        elif f.name in ("margin", "margin_facility"):
            assert (a is None) == (b is None), f.name
            if a is not None:
                _same_fields(a, b, f.name)
        else:
            assert a.shape == b.shape, f.name
            np.testing.assert_array_equal(b, a, err_msg=f.name)


@pytest.mark.parametrize("default_free", [False, True])
@pytest.mark.parametrize("stem", STEMS)
def test_compiled_equals_numpy_on_every_example_structure(stem: str, default_free: bool) -> None:
    model = build_model(make_deal(load_example_data(stem)))
    assert model.structure is not None
    inputs = _inputs(model, MonteCarloShocks(7), 0, N_PATHS)
    args = (
        model.structure,
        inputs.cash.cfads_usd,
        inputs.cash.cohort_value_usd,
        inputs.scenarios.sofr,
        inputs.scenarios.credit_window(),
    )
    a = run_structure(*args, default_free=default_free)
    b = run_structure_compiled(*args, default_free=default_free)
    assert_same_ledger(a, b)
    if stem == "parent_unsecured_notes" and not default_free:
        assert int((a.default_month > 0).sum()) > 0  # the comparison saw defaults


@pytest.mark.slow  # building the miner's model takes ~7 s
def test_compiled_equals_numpy_on_the_miners_program() -> None:
    # the miner's run adds what the deals' does not: its margin loan as the program's first step
    # (alone too), an outside default (drawn at random), the enterprise value the share price
    # follows and the treasury's cash
    model = build_miner_model(gpucredit.load_miner(EXAMPLES / "miner_hosting_pivot.yaml"))
    assert model.structure is not None and model.margin is not None
    x = miner_inputs(model, 3, 0, 60)
    cash = x.cash
    n_paths, n = cash.cfads_usd.shape
    values = np.stack([cash.asic_value_usd, cash.lease_value_usd], axis=2)
    free = np.full(n_paths, model.spec.treasury.btc_held - model.margin.pledged_btc)
    margin_kwargs: dict[str, Any] = {"btc_usd": x.market.btc_usd, "free_btc": free}
    outside: dict[str, Any] = {
        "external_default_month": np.random.default_rng(5).integers(-1, n + 1, n_paths),
    }
    common: dict[str, Any] = {
        "enterprise_value_usd": values.sum(axis=2) + cash.treasury_value_usd,
        "opening_cash_usd": model.spec.treasury.cash_usd,
    }
    programs = (
        (model.structure, {**common, **outside}),
        (with_margin(model.structure, model.margin), {**common, **margin_kwargs}),
        (with_margin(model.structure, model.margin), {**common, **margin_kwargs, **outside}),
        (with_margin(None, model.margin), margin_kwargs),
    )
    seen = np.zeros(7, dtype=np.int64)
    for program, kwargs in programs:
        args = (program, cash.net_cash_usd, values, x.scen.sofr, x.scen.regime)
        for default_free in (False, True):
            a = run_structure(*args, default_free=default_free, **kwargs)
            b = run_structure_compiled(*args, default_free=default_free, **kwargs)
            assert_same_ledger(a, b)
            if a.margin_facility is not None:
                seen += np.bincount(a.margin_facility.default_kind, minlength=7)
    assert seen[5] > 0 and seen[6] > 0  # the comparison saw accelerations and liquidations
    # the miner's lean recording keeps the numbers of the fields it records
    program, kwargs = programs[1]
    args = (program, cash.net_cash_usd, values, x.scen.sofr, x.scen.regime)
    full = run_structure_compiled(*args, **kwargs)
    lean = run_structure_compiled(*args, fields=CREDIT_LEDGER_FIELDS, **kwargs)
    for part in ("margin", "margin_facility"):
        a, b = getattr(full, part), getattr(lean, part)
        for g in dataclasses.fields(a):
            u, v = getattr(a, g.name), getattr(b, g.name)
            if u is not None and np.isnan(v).all() and not v.flags.writeable:
                continue  # not recorded
            np.testing.assert_array_equal(v, u, err_msg=f"{part}: {g.name}")
    assert lean.margin is not None and np.isnan(lean.margin.pledged_btc).all()
    np.testing.assert_array_equal(lean.cfads, full.cfads)


# --- Hypothesis: random structures on random paths ------------------------------------------

N_MONTHS = 18
N_COHORTS = 3


@st.composite
def _covenant(draw: st.DrawFn) -> CovenantTerms:
    kind = draw(st.sampled_from(["min_dscr", "max_ltv", "max_leverage", "min_liquidity"]))
    consequence = draw(st.sampled_from(["event_of_default", "cash_sweep", "lock_up"]))
    waiver = None
    if consequence == "event_of_default" and draw(st.booleans()):
        waiver = WaiverTerms(
            max_ltv=draw(st.sampled_from([0.3, 0.8, 2.0])),
            fee=draw(st.sampled_from([0.0, 0.01])),
            step_up=draw(st.sampled_from([0.0, 0.02])),
            max_waivers=draw(st.integers(0, 3)),
        )
    threshold = {
        "min_dscr": lambda: draw(st.sampled_from([0.8, 1.1, 1.5])),
        "max_ltv": lambda: draw(st.sampled_from([0.3, 0.7, 1.2])),
        # debt over trailing CFADS, x: the drawn structures owe ~100-400 against ~5-60 a month
        "max_leverage": lambda: draw(st.sampled_from([0.5, 2.0, 8.0])),
        # USD against reserves of 0 to a few hundred
        "min_liquidity": lambda: draw(st.sampled_from([1.0, 30.0, 300.0])),
    }[kind]()
    return CovenantTerms(
        kind,  # type: ignore[arg-type]  # drawn from the literal's values
        threshold,
        draw(st.sampled_from([1, 3, 6])),
        draw(st.sampled_from([0, 1, 2, 10**9])),
        consequence,  # type: ignore[arg-type]  # drawn from the literal's values
        waiver,
    )


@st.composite
def _facility(draw: st.DrawFn, index: int) -> FacilityTerms:
    kind = draw(st.sampled_from(["term_loan", "ddtl", "abl", "notes", "convertible"]))
    tenor = draw(st.integers(2, N_MONTHS + 3))
    principal = draw(st.sampled_from([50.0, 200.0, 600.0]))
    amort = draw(st.sampled_from(["level_payment", "straight_line", "bullet", "schedule"]))
    share = np.full(tenor, 0.5 / tenor) if amort == "schedule" else np.zeros(tenor)
    floating = draw(st.booleans())
    loan = LoanTerms(
        name=f"f{index}",
        principal_usd=principal,
        tenor_months=tenor,
        floating=floating,
        fixed_coupon=0.0 if floating else draw(st.sampled_from([0.0, 0.06, 0.12])),
        margin=draw(st.sampled_from([0.0, 0.04])) if floating else 0.0,
        floor=draw(st.sampled_from([0.0, 0.02])) if floating else 0.0,
        amortisation=amort,  # type: ignore[arg-type]  # drawn from the literal's values
        schedule_share=share,
        issue_price=1.0,
        dsra_months=draw(st.sampled_from([0.0, 3.0])),
        covenants=tuple(draw(st.lists(_covenant(), max_size=2))),
        refinancing_max_ltv=0.6,
        add_on=draw(st.sampled_from([0.0, 0.01])),
    )
    pool = tuple(sorted(draw(st.sets(st.integers(0, N_COHORTS - 1), max_size=2))))
    refinancing = RefinancingTerms(
        max_ltv=draw(st.sampled_from([0.0, 0.6, 5.0])),
        min_dscr=draw(st.sampled_from([None, 1.2])),
        needs_open_market=draw(st.booleans()),
        spread=(0.03, 0.08),
        spread_per_ltv=draw(st.sampled_from([0.0, 0.064])),
        ltv_pivot=0.55,
        new_tenor_months=draw(st.sampled_from([0, 1, 60])),
        new_level_payment=draw(st.booleans()),
    )
    extra: dict[str, Any] = {}
    if kind == "ddtl":
        months = sorted(draw(st.sets(st.integers(1, tenor), min_size=1, max_size=3)))
        extra["draw_month"] = np.array(months + months[:1], dtype=np.int64)  # two in one month
        extra["draw_usd"] = np.full(len(months) + 1, 40.0)
        if draw(st.booleans()):
            extra["draw_due"] = np.full(tenor, draw(st.sampled_from([0.0, 5.0])))
        extra["undrawn_usd"] = np.linspace(120.0, 0.0, draw(st.integers(1, tenor + 2)))
        extra["commitment_fee"] = 0.01
    elif kind == "abl":
        extra["advance_rate"] = draw(st.sampled_from([0.3, 0.8]))
        extra["cure_months"] = draw(st.integers(0, 2))
    elif kind in ("notes", "convertible"):
        extra["coupon_every_months"] = draw(st.sampled_from([1, 3, 6]))
        if draw(st.booleans()):
            extra["call_month"] = np.array([2, 6], dtype=np.int64)
            extra["call_price"] = np.array([1.02, 1.0])
        if kind == "convertible":
            extra["conversion_price_usd"] = draw(st.sampled_from([5.0, 30.0]))
            if draw(st.booleans()):  # a soft call from a month, at 100% or 130% of it
                extra["soft_call_month"] = draw(st.integers(1, tenor))
                extra["soft_call_trigger"] = draw(st.sampled_from([1.0, 1.3]))
            if draw(st.booleans()):  # a put in a month, at par or below
                extra["put_month"] = draw(st.integers(1, tenor))
                extra["put_price"] = draw(st.sampled_from([0.9, 1.0]))
    return FacilityTerms(
        loan=loan,
        kind=kind,  # type: ignore[arg-type]  # drawn from the literal's values
        seniority=draw(st.integers(1, 3)),
        pool=pool,
        secured=bool(pool),
        refinancing=refinancing,
        real_estate_value_usd=draw(st.sampled_from([0.0, 300.0])),
        **extra,
    )


@st.composite
def _structure(draw: st.DrawFn) -> StructureTerms:
    n_fac = draw(st.integers(1, 3))
    facs = tuple(draw(_facility(k)) for k in range(n_fac))
    if draw(st.booleans()):
        steps = default_steps(facs)
    else:
        body = [StepTerms("interest", k) for k in range(n_fac)]
        body += [StepTerms("principal", k) for k in range(n_fac)]
        body += draw(
            st.lists(
                st.one_of(
                    st.builds(StepTerms, st.just("reserve"), st.integers(0, n_fac - 1)),
                    st.builds(
                        StepTerms,
                        st.just("sweep"),
                        st.integers(0, n_fac - 1),
                        st.sampled_from([0.25, 1.0]),
                    ),
                    st.just(StepTerms("maintenance_reserve", usd_per_month=5.0, target_usd=20.0)),
                    st.builds(StepTerms, st.just("payment_account"), st.integers(0, n_fac - 1)),
                ),
                max_size=3,
            )
        )
        steps = (*draw(st.permutations(body)), StepTerms("distribute"))
    equity = EquityTerms(10.0, 20.0) if draw(st.booleans()) else None
    return StructureTerms(facs, steps, equity, unfunded_opex_defaults=draw(st.booleans()))


@st.composite
def _margin_loan(draw: st.DrawFn) -> MarginLoanTerms:
    top = draw(st.sampled_from([0.4, 0.6]))
    call = top + draw(st.sampled_from([0.05, 0.15]))
    floating = draw(st.booleans())
    return MarginLoanTerms(
        name="margin",
        principal_usd=draw(st.sampled_from([50.0, 300.0])),
        tenor_months=draw(st.integers(1, N_MONTHS + 6)),
        pledged_btc=draw(st.sampled_from([0.005, 0.01, 0.03])),
        floating=floating,
        fixed_coupon=0.0 if floating else draw(st.sampled_from([0.0, 0.12])),
        margin=draw(st.sampled_from([0.0, 0.05])) if floating else 0.0,
        floor=draw(st.sampled_from([0.0, 0.03])) if floating else 0.0,
        top_up_to_ltv=top,
        margin_call_ltv=call,
        liquidation_ltv=min(call + draw(st.sampled_from([0.02, 0.1, 0.3])), 1.0),
        liquidation_penalty=draw(st.sampled_from([0.0, 0.0438, 0.2])),
    )


def _btc_paths(rng: np.random.Generator, n_paths: int, n_months: int) -> np.ndarray:
    """Month-end BTC prices around 30,000 USD with crashes (a month at -60%) and rebounds."""
    step = rng.normal(0.0, 0.15, (n_paths, n_months))
    step[rng.uniform(size=step.shape) < 0.1] = np.log(0.4)
    return np.asarray(30_000.0 * np.exp(np.cumsum(step, axis=1)))


@settings(max_examples=40, deadline=None)
@given(structure=_structure(), seed=st.integers(0, 2**16), data=st.data())
def test_compiled_equals_numpy_on_random_structures(
    structure: StructureTerms, seed: int, data: st.DataObject
) -> None:
    rng = np.random.default_rng(seed)
    n_paths = 6
    n_all = data.draw(st.sampled_from([N_MONTHS, N_MONTHS + 4]))
    level = data.draw(st.sampled_from([5.0, 20.0, 60.0]))
    cfads = rng.normal(level, 25.0, (n_paths, n_all))
    value = rng.uniform(0.0, 400.0, (n_paths, n_all, N_COHORTS))
    value[0, 3:, :] = 0.0  # a fleet worth nothing: LTV and ratios at their limits
    sofr = rng.uniform(0.0, 0.06, (n_paths, n_all))
    regime = rng.integers(0, 2, (n_paths, n_all))
    kwargs: dict[str, Any] = {
        "default_free": data.draw(st.booleans()),
        "opening_cash_usd": data.draw(st.sampled_from([0.0, 30.0])),
    }
    if data.draw(st.booleans()):
        kwargs["external_default_month"] = rng.integers(-1, n_all + 1, n_paths)
    if data.draw(st.booleans()):
        kwargs["enterprise_value_usd"] = value.sum(axis=2) + 100.0
    if data.draw(st.booleans()):  # interest during construction capitalised on some paths
        n_fac = len(structure.facilities)
        kwargs["pik_end_month"] = rng.integers(0, n_all + 2, (n_paths, n_fac))
    if data.draw(st.booleans()):  # the share price as a path (a diffusion's)
        kwargs["share_price_usd"] = rng.lognormal(np.log(10.0), 1.0, (n_paths, n_all))
    if data.draw(st.booleans()):  # a margin loan first, or alone
        margin = data.draw(_margin_loan())
        alone = data.draw(st.booleans())
        structure = with_margin(None if alone else structure, margin)
        kwargs["btc_usd"] = _btc_paths(rng, n_paths, n_all)
        kwargs["free_btc"] = rng.choice([0.0, 0.002, 0.05], n_paths)
    a = run_structure(structure, cfads, value, sofr, regime, **kwargs)
    b = run_structure_compiled(structure, cfads, value, sofr, regime, **kwargs)
    assert_same_ledger(a, b)


@settings(max_examples=30, deadline=None)
@given(
    structure=_structure(),
    margin=_margin_loan(),
    alone=st.booleans(),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_compiled_equals_numpy_on_random_margin_loans(
    structure: StructureTerms,
    margin: MarginLoanTerms,
    alone: bool,
    seed: int,
    data: st.DataObject,
) -> None:
    # the margin loan's step always there, alone or before a random structure; cash from
    # deep deficits to plenty, so calls are cured, missed and maturities enforced
    rng = np.random.default_rng(seed)
    n_paths = 8
    n_all = data.draw(st.sampled_from([N_MONTHS, N_MONTHS + 4]))
    level = data.draw(st.sampled_from([-5.0, 5.0, 60.0]))
    cfads = rng.normal(level, 40.0, (n_paths, n_all))
    value = rng.uniform(0.0, 400.0, (n_paths, n_all, N_COHORTS))
    sofr = rng.uniform(0.0, 0.06, (n_paths, n_all))
    kwargs: dict[str, Any] = {
        "default_free": data.draw(st.booleans()),
        "btc_usd": _btc_paths(rng, n_paths, n_all),
        "free_btc": rng.choice([0.0, 0.002, 0.05], n_paths),
    }
    if data.draw(st.booleans()):
        kwargs["external_default_month"] = rng.integers(-1, n_all + 1, n_paths)
    program = with_margin(None if alone else structure, margin)
    a = run_structure(program, cfads, value, sofr, **kwargs)
    b = run_structure_compiled(program, cfads, value, sofr, **kwargs)
    assert_same_ledger(a, b)


def test_a_lean_recording_keeps_the_numbers_of_the_fields_it_records() -> None:
    # the Monte Carlo passes of a single loan record only the fields the credit layer reads
    model = build_model(make_deal(load_example_data("merchant_h100")))
    inputs = _inputs(model, MonteCarloShocks(3), 0, 64)
    cash = inputs.cash
    args = (model.terms, cash.cfads_usd, cash.collateral_value_usd, inputs.scenarios.sofr)
    full = run_loan(*args)
    lean = run_loan(*args, fields=CREDIT_LEDGER_FIELDS)
    for f in dataclasses.fields(full):
        a, b = getattr(full, f.name), getattr(lean, f.name)
        if a is not None and f.name in _FIELDS and f.name not in CREDIT_LEDGER_FIELDS:
            assert b.shape == a.shape and np.isnan(b).all() and not b.flags.writeable
        else:
            assert (a is None and b is None) or np.array_equal(a, b), f.name
    with pytest.raises(ValueError, match="balanse"):
        run_loan(*args, fields=("balanse",))
