"""Covenant waivers on a loan computed by hand, in every waterfall engine.

1,200,000 USD at 12% fixed (1% a month), straight line over 12 months (100,000 a month), no
DSRA; a trailing-1-month DSCR covenant of 1.10x with no cure period, waived at most once, at
a 50 bp fee and a 100 bp a year step-up (the ``WaiverSpec`` defaults), while the balance after
the month's payments is at most 0.65 of the collateral value.

  months 1-3: CFADS 200,000, DSCR > 1.8; balance 1,100,000, 1,000,000, 900,000
  month 4:    interest 9,000 + principal 100,000 = 109,000; CFADS 110,000 -> DSCR 1.0092 < 1.10
              balance after payment 800,000 <= 0.65 x 2,000,000 = 1,300,000 -> waived:
              fee 0.5% x 800,000 = 4,000 capitalised -> balance 804,000
  month 5:    rate 1% + 1%/12 a month; interest 804,000 x 0.0108333.. = 8,040 + 670 = 8,710;
              CFADS 200,000 -> no breach; balance 704,000
  month 6:    interest 704,000 x 0.0108333.. = 7,626.67; CFADS 110,000 -> DSCR 1.022 < 1.10,
              the one waiver is spent -> covenant event of default, EAD 604,000
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gpucredit.debt import DebtLedger, LoanTerms, loan_terms, run_loan, run_waterfall
from gpucredit.debt.facilities import FacilityTerms, StructureTerms, default_steps
from gpucredit.debt.structure import run_structure
from tests.conftest import hand_deal_data, make_deal

#: Hand-computed amounts are exact to the cent; the engines' float sums are within 1e-9 USD.
CENT = 0.005
DSCR_COV: dict[str, Any] = {
    "kind": "min_dscr",
    "threshold": 1.1,
    "window_months": 1,
    "waiver": {"max_waivers": 1},
}


def _terms(covenants: list[dict[str, Any]]) -> LoanTerms:
    data = hand_deal_data()
    loan = dict(
        data["loan"],
        principal_usd=1_200_000.0,
        tenor_months=12,
        rate={"kind": "fixed", "coupon_pct": 12.0},
        amortisation={"kind": "straight_line"},
        covenants=covenants,
    )
    return loan_terms(make_deal(data, loan=loan).loan)


def _engines(terms: LoanTerms, cfads: np.ndarray, collateral: np.ndarray) -> dict[str, DebtLedger]:
    """The same loan through the single-loan waterfall, the compiled structure engine and its
    NumPy oracle."""
    sofr = np.zeros_like(cfads)
    facility = FacilityTerms(loan=terms)
    structure = StructureTerms((facility,), default_steps((facility,)))
    return {
        "vectorised": run_waterfall(terms, cfads, collateral, sofr),
        "compiled": run_loan(terms, cfads, collateral, sofr),
        "structure": run_structure(structure, cfads, collateral[:, :, None], sofr).facilities[0],
    }


def _cash(*low_months: int) -> np.ndarray:
    cfads = np.full((1, 12), 200_000.0)
    for month in low_months:
        cfads[0, month - 1] = 110_000.0
    return cfads


@pytest.mark.parametrize("engine", ["vectorised", "compiled", "structure"])
def test_breach_waived_once_then_event_of_default(engine: str) -> None:
    ledger = _engines(_terms([DSCR_COV]), _cash(4, 6), np.full((1, 12), 2_000_000.0))[engine]
    step = 0.01 / 12.0  # 100 bp a year, monthly
    np.testing.assert_allclose(
        ledger.interest_due[0, :6],
        [12_000.0, 11_000.0, 10_000.0, 9_000.0, 8_710.0, 704_000.0 * (0.01 + step)],
        rtol=0,
        atol=CENT,
    )
    # the 4,000 fee is in the balance from month 4, and month 5's interest is on it
    np.testing.assert_allclose(
        ledger.balance[0, :5],
        [1_100_000.0, 1_000_000.0, 900_000.0, 804_000.0, 704_000.0],
        rtol=0,
        atol=CENT,
    )
    assert ledger.interest_due[0, 5] == pytest.approx(7_626.67, abs=CENT)
    assert ledger.waivers[0] == 1
    assert ledger.default_month[0] == 6 and ledger.default_kind[0] == 2
    assert ledger.ead[0] == pytest.approx(604_000.0, abs=CENT)
    assert not ledger.alive[0, 6:].any()
    # the fee is capitalised, not paid: the lender's cash is principal and interest only
    np.testing.assert_allclose(ledger.principal_paid[0, :6], 100_000.0, rtol=0, atol=CENT)


@pytest.mark.parametrize("engine", ["vectorised", "compiled", "structure"])
def test_no_waiver_when_the_auction_value_does_not_cover_the_loan(engine: str) -> None:
    # month 4: 800,000 after payment > 0.65 x 1,000,000 = 650,000 -> accelerated at once
    collateral = np.full((1, 12), 2_000_000.0)
    collateral[0, 3] = 1_000_000.0
    ledger = _engines(_terms([DSCR_COV]), _cash(4), collateral)[engine]
    assert ledger.waivers[0] == 0
    assert ledger.default_month[0] == 4 and ledger.default_kind[0] == 2
    assert ledger.ead[0] == pytest.approx(800_000.0, abs=CENT)


@pytest.mark.parametrize("engine", ["vectorised", "compiled", "structure"])
def test_two_covenants_waived_in_one_amendment_at_the_larger_terms(engine: str) -> None:
    # month 4 the collateral halves: LTV 900,000 / 2,000,000 = 0.45 > 0.35 breaches too. One
    # amendment: the LTV covenant's 80 bp fee (6,400 on 800,000) and the DSCR one's 100 bp step.
    ltv_cov = {
        "kind": "max_ltv",
        "threshold": 0.35,
        "waiver": {"fee_bps": 80.0, "margin_step_up_bps": 50.0},
    }
    collateral = np.full((1, 12), 4_000_000.0)
    collateral[0, 3] = 2_000_000.0
    dscr_cov = dict(DSCR_COV, waiver={})
    ledger = _engines(_terms([dscr_cov, ltv_cov]), _cash(4), collateral)[engine]
    assert ledger.waivers[0] == 1
    assert ledger.balance[0, 3] == pytest.approx(806_400.0, abs=CENT)
    # 806,400 x (1% + 1%/12) = 8,064 + 672
    assert ledger.interest_due[0, 4] == pytest.approx(8_736.0, abs=CENT)
    assert ledger.default_month[0] == 0


def test_lender_who_always_accelerates() -> None:
    ledger = _engines(_terms([dict(DSCR_COV, waiver=None)]), _cash(4), np.full((1, 12), 2e6))
    for engine, out in ledger.items():
        assert out.waivers[0] == 0, engine
        assert (out.default_month[0], out.default_kind[0]) == (4, 2), engine
