"""Properties of the waterfall: cash is conserved, reserves add up, engines agree."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.debt import DebtLedger, LoanTerms, loan_terms, run_loan, run_waterfall
from gpucredit.pipeline import _inputs, build_model
from gpucredit.scenarios import MonteCarloShocks
from tests.conftest import hand_deal_data, make_deal


def assert_cash_conserved(ledger: DebtLedger, cfads: np.ndarray) -> None:
    """in = paid + reserves + residual, every path and month the loan is alive."""
    alive = ledger.alive
    cash_in = (
        np.where(alive, cfads, 0.0)
        + ledger.dsra_draw
        + ledger.lockup_draw
        + ledger.reserve_release
        + ledger.refinanced
    )
    cash_out = (
        ledger.interest_paid
        + ledger.principal_paid
        + ledger.prepaid
        + ledger.dsra_topup
        + ledger.lockup_in
        + ledger.distribution
        + ledger.trapped
        - ledger.unfunded_opex
    )
    scale = np.maximum(np.abs(cfads), 1.0)
    # sums of a few terms of up to ~1e8 USD: relative float error
    np.testing.assert_allclose(cash_in / scale, cash_out / scale, rtol=0, atol=1e-9)
    # nothing moves on a month when the loan is not alive
    for flow in (ledger.interest_paid, ledger.principal_paid, ledger.distribution):
        assert np.all(flow[~alive] == 0.0)


def assert_reserves_add_up(ledger: DebtLedger) -> None:
    """Each reserve's balance is the previous one plus what came in less what went out."""
    n = ledger.alive.shape[1]
    dsra_prev = np.concatenate([ledger.initial_dsra[:, None], ledger.dsra_balance[:, :-1]], axis=1)
    lock_prev = np.concatenate(
        [np.zeros((ledger.alive.shape[0], 1)), ledger.lockup_balance[:, :-1]], axis=1
    )
    released = ledger.reserve_release
    stock_before = dsra_prev + lock_prev
    stock_after = ledger.dsra_balance + ledger.lockup_balance
    flows = ledger.dsra_topup + ledger.lockup_in - ledger.dsra_draw - ledger.lockup_draw - released
    alive = ledger.alive
    # on a default month the remaining stock goes to the lender as pledged cash
    defaulted_now = ledger.default_month[:, None] == np.arange(1, n + 1)[None, :]
    expected = np.where(defaulted_now, 0.0, stock_before + flows)
    np.testing.assert_allclose(
        np.where(alive, stock_after, 0.0), np.where(alive, expected, 0.0), rtol=1e-12, atol=1e-6
    )
    assert np.all(ledger.dsra_balance >= -1e-6) and np.all(ledger.lockup_balance >= -1e-6)


def test_examples_conserve_cash(example_deal) -> None:  # type: ignore[no-untyped-def]
    model = build_model(example_deal)
    inputs = _inputs(model, MonteCarloShocks(2), 0, 500)
    cfads = inputs.cash.cfads_usd
    ledger = run_waterfall(
        model.terms, cfads, inputs.cash.collateral_value_usd, inputs.scenarios.sofr
    )
    assert_cash_conserved(ledger, cfads)
    assert_reserves_add_up(ledger)
    # the lender never receives more than principal plus interest due, and the amendment fees
    # capitalised by waivers (each at most ``fee`` of a balance that fees alone can raise)
    fee = max((c.waiver.fee for c in model.terms.covenants if c.waiver is not None), default=0.0)
    assert np.all(
        ledger.principal_paid.sum(axis=1) + ledger.prepaid.sum(axis=1)
        <= model.terms.principal_usd * (1.0 + fee) ** ledger.waivers + 1e-3
    )


def _terms(
    amort: str, coupon: float, tenor: int, dsra: float, covenants: list[dict[str, object]]
) -> LoanTerms:
    data = hand_deal_data()
    amortisation: dict[str, object] = {"kind": amort}
    if amort == "schedule":
        amortisation["principal_pct_by_month"] = [100.0 / tenor] * tenor
    loan = dict(
        data["loan"],
        principal_usd=1_000_000.0,
        tenor_months=tenor,
        rate={"kind": "fixed", "coupon_pct": coupon},
        amortisation=amortisation,
        dsra_months=dsra,
        covenants=covenants,
    )
    return loan_terms(make_deal(data, loan=loan).loan)


covenant = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["min_dscr", "max_ltv"]),
        "threshold": st.floats(0.3, 2.5),
        "window_months": st.integers(1, 6),
        "cure_period_months": st.integers(0, 3),
        "consequence": st.sampled_from(["event_of_default", "cash_sweep", "lock_up"]),
    }
)


@given(
    amort=st.sampled_from(["level_payment", "straight_line", "bullet", "schedule"]),
    coupon=st.floats(0.0, 20.0),
    tenor=st.integers(1, 24),
    dsra=st.floats(0.0, 6.0),
    covenants=st.lists(covenant, max_size=3),
    seed=st.integers(0, 2**31),
)
@settings(max_examples=60, deadline=None)
def test_random_loans_conserve_cash_and_both_engines_agree(
    amort: str,
    coupon: float,
    tenor: int,
    dsra: float,
    covenants: list[dict[str, object]],
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    n_paths = 40
    # CFADS around the debt service, sometimes negative; collateral around the balance
    cfads = rng.normal(60_000.0, 50_000.0, (n_paths, tenor))
    collateral = rng.uniform(0.2e6, 3e6, (n_paths, tenor))
    sofr = rng.uniform(0.0, 0.06, (n_paths, tenor))
    terms = _terms(amort, coupon, tenor, dsra, covenants)
    ledger = run_waterfall(terms, cfads, collateral, sofr)
    assert_cash_conserved(ledger, cfads)
    assert_reserves_add_up(ledger)
    engine = run_loan(terms, cfads, collateral, sofr)
    # the structure pays step by step, the single loan nets CFADS once: last-bit differences
    np.testing.assert_allclose(engine.balance, ledger.balance, rtol=1e-12, atol=1e-6)
    assert np.array_equal(ledger.default_month, engine.default_month)
    # a path either repays, defaults once, or is still outstanding at the end (never both)
    repaid = ledger.balance[:, -1] <= 1e-6
    assert np.all(repaid | (ledger.default_month > 0))


@pytest.mark.parametrize("kind", ["payment", "covenant"])
def test_default_month_is_the_first_failure(kind: str) -> None:
    cfads = np.full((1, 12), 100_000.0)
    # debt service is 83,333 principal + 5,000 falling interest: DSCR 1.13-1.15 until month 5;
    # from month 6 CFADS either goes negative (payment default) or pays the debt service at a
    # DSCR of ~1.03, below the 1.10x covenant (event of default)
    cfads[0, 5:] = -10_000.0 if kind == "payment" else 90_000.0
    # a lender who always accelerates (``waiver: null``): the first breach is the default
    covs: list[dict[str, object]] = (
        []
        if kind == "payment"
        else [{"kind": "min_dscr", "threshold": 1.1, "window_months": 1, "waiver": None}]
    )
    terms = _terms("straight_line", 6.0, 12, 0.0, covs)
    ledger = run_waterfall(terms, cfads, np.full((1, 12), 1e7), np.zeros((1, 12)))
    assert ledger.default_month[0] == 6
    assert ledger.default_kind[0] == (1 if kind == "payment" else 2)
    assert not ledger.alive[0, 6:].any()
