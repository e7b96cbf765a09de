"""Amortisation schedules against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from gpucredit.config.spec import LoanSpec
from gpucredit.debt import annuity_payment, loan_terms, run_waterfall
from gpucredit.debt.terms import LoanTerms
from tests.conftest import hand_deal_data

UNLIMITED = 1e18


def _terms(amortisation: dict[str, object], coupon_pct: float, tenor: int) -> LoanTerms:
    data = hand_deal_data()
    loan = dict(
        data["loan"],
        principal_usd=100_000.0,
        tenor_months=tenor,
        rate={"kind": "fixed", "coupon_pct": coupon_pct},
        amortisation=amortisation,
    )
    # the loan alone: a 30-year textbook mortgage outlives any GPU fleet, so no deal holds it
    return loan_terms(LoanSpec.model_validate(loan))


def _promised(terms: LoanTerms) -> tuple[np.ndarray, np.ndarray]:
    n = terms.tenor_months
    big = np.full((1, n), UNLIMITED)
    ledger = run_waterfall(terms, big, big, np.zeros((1, n)))
    return ledger.interest_paid[0], ledger.principal_paid[0]


def test_textbook_mortgage_payment() -> None:
    # 100,000 at 6% a year over 30 years, monthly: 599.55 a month (the standard textbook
    # annuity, e.g. any mortgage table: P = B i / (1 - (1 + i)^-n), i = 0.5%, n = 360).
    payment = annuity_payment(np.array([100_000.0]), np.array([0.005]), 360)
    assert payment[0] == pytest.approx(599.55, abs=0.005)


@pytest.mark.parametrize(("coupon_pct", "tenor"), [(6.0, 360), (10.15, 60), (0.0, 12)])
def test_level_payment_schedule_is_the_annuity(coupon_pct: float, tenor: int) -> None:
    terms = _terms({"kind": "level_payment"}, coupon_pct, tenor)
    interest, principal = _promised(terms)
    i = coupon_pct / 100 / 12
    closed = 100_000.0 * i / (1 - (1 + i) ** -tenor) if i > 0 else 100_000.0 / tenor
    # every payment equals the closed-form annuity to a micro-dollar (float rounding only)
    np.testing.assert_allclose(interest + principal, closed, rtol=0, atol=1e-6)
    assert principal.sum() == pytest.approx(100_000.0, abs=1e-6)
    # balance after k payments: B (1+i)^k - P ((1+i)^k - 1) / i
    k = tenor // 2
    if i > 0:
        expected = 100_000.0 * (1 + i) ** k - closed * ((1 + i) ** k - 1) / i
        assert 100_000.0 - principal[:k].sum() == pytest.approx(expected, rel=1e-10)


def test_straight_line_and_bullet() -> None:
    interest, principal = _promised(_terms({"kind": "straight_line"}, 12.0, 4))
    np.testing.assert_allclose(principal, 25_000.0)
    np.testing.assert_allclose(interest, [1000.0, 750.0, 500.0, 250.0])
    interest, principal = _promised(_terms({"kind": "bullet"}, 12.0, 4))
    np.testing.assert_allclose(principal, [0, 0, 0, 100_000.0])
    np.testing.assert_allclose(interest, 1000.0)


def test_explicit_schedule() -> None:
    pct = [10.0, 20.0, 30.0, 40.0]
    interest, principal = _promised(
        _terms({"kind": "schedule", "principal_pct_by_month": pct}, 12.0, 4)
    )
    np.testing.assert_allclose(principal, [10_000.0, 20_000.0, 30_000.0, 40_000.0])
    np.testing.assert_allclose(interest, [1000.0, 900.0, 700.0, 400.0])
