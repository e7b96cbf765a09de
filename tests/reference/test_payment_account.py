"""The debt-service payment account by hand: a semi-annual note over 12 months.

USD 1,200 of notes at 12% a year (1% a month: USD 12 of interest a month), a bullet at month
12, coupons every 6 months, no DSRA. CFADS is USD 100 a month except USD 5 in month 3 and
USD 1,300 in month 12. Each month between payment dates the account sets aside
``(interest accrued to date + 12 x months left - account) / (months left + 1)``:

* months 1-2: 72 / 6 = 12 each (the next coupon is USD 72);
* month 3: 12 is due but only USD 5 is there: 5 (a short set-aside is no default);
* month 4: (48 + 24 - 29) / 3 = 43 / 3; month 5: (60 + 12 - 29 - 43/3) / 2 = 43 / 3;
* month 6: the coupon of 72 takes the account's 29 + 86/3 first, then 72 - 29 - 86/3 from cash;
* months 7-11: 12 each; month 12: 60 from the account, 12 and the 1,200 balloon from cash.
"""

from __future__ import annotations

import numpy as np
import pytest

from gpucredit.debt.engine import run_structure_compiled
from gpucredit.debt.facilities import FacilityTerms, StructureTerms, default_steps
from gpucredit.debt.structure import run_structure
from tests.conftest import plain_loan_terms

# the monthly rate is 0.12 / 12 in floating point, not exactly 0.01: a few ulps on USD 100s
TOL = 1e-9


def _note(every: int) -> StructureTerms:
    loan = plain_loan_terms("notes", 1_200.0, 12, 0.12)
    facility = FacilityTerms(loan=loan, kind="notes", coupon_every_months=every)
    return StructureTerms((facility,), default_steps((facility,)))


def _inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cfads = np.full((1, 12), 100.0)
    cfads[0, 2] = 5.0
    cfads[0, 11] = 1_300.0
    value = np.full((1, 12, 1), 2_000.0)
    return cfads, value, np.zeros((1, 12))


@pytest.mark.parametrize("compiled", [False, True])
def test_a_semi_annual_note_sets_its_coupon_aside_month_by_month(compiled: bool) -> None:
    structure = _note(6)
    assert [s.kind for s in structure.steps] == [
        "interest",
        "principal",
        "payment_account",
        "distribute",
    ]
    run = run_structure_compiled if compiled else run_structure
    ledger = run(structure, *_inputs())
    fl = ledger.facilities[0]
    assert fl.dspa_in is not None and fl.dspa_draw is not None and fl.dspa_balance is not None
    third = 43.0 / 3.0
    set_aside = [12.0, 12.0, 5.0, third, third, 0.0, 12.0, 12.0, 12.0, 12.0, 12.0, 0.0]
    np.testing.assert_allclose(fl.dspa_in[0], set_aside, rtol=TOL, atol=TOL)
    drawn = np.zeros(12)
    drawn[5] = 29.0 + 2.0 * third
    drawn[11] = 60.0
    np.testing.assert_allclose(fl.dspa_draw[0], drawn, rtol=TOL, atol=TOL)
    balance = np.cumsum(np.array(set_aside) - drawn)
    np.testing.assert_allclose(fl.dspa_balance[0], balance, rtol=TOL, atol=TOL)
    interest = np.zeros(12)
    interest[[5, 11]] = 72.0
    np.testing.assert_allclose(fl.interest_paid[0], interest, rtol=TOL, atol=TOL)
    assert fl.principal_paid[0, 11] == pytest.approx(1_200.0, rel=TOL)
    assert int(ledger.default_month[0]) == 0  # the short set-aside of month 3 is no default
    # what the account does not take is distributed
    expected = np.array([100.0] * 12) - set_aside
    expected[2] = 0.0
    expected[5] = 100.0 - (72.0 - drawn[5])
    expected[11] = 1_300.0 - 12.0 - 1_200.0
    np.testing.assert_allclose(ledger.distribution[0], expected, rtol=TOL, atol=TOL)


def test_a_monthly_note_gets_no_payment_account() -> None:
    assert "payment_account" not in [s.kind for s in _note(1).steps]


def test_without_the_account_a_thin_month_before_the_coupon_defaults() -> None:
    # the defect the account fixes: cash between payment dates is distributed, so a coupon
    # date with thin cash is short; with the account the same path pays
    cfads, value, sofr = _inputs()
    cfads[0, 5] = 20.0  # the coupon month itself brings only USD 20
    with_account = _note(6)
    without = StructureTerms(
        with_account.facilities,
        tuple(s for s in with_account.steps if s.kind != "payment_account"),
    )
    assert int(run_structure(without, cfads, value, sofr).default_month[0]) == 6
    assert int(run_structure(with_account, cfads, value, sofr).default_month[0]) == 0
