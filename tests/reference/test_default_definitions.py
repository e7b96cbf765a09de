"""Defaults counted as the agencies count them, on hand deals whose every path is known.

The hand deal (tests/conftest.py): 100 GPUs on a take-or-pay contract with a riskless tenant,
CFADS of about 110,500 USD a month against 103,000 USD of debt service in month 1 (a 1.07x
DSCR) on a 3-month, 300,000 USD straight-line loan at 12%. Nothing is random, so every path
does the same thing.

* With a 1.5x minimum-DSCR covenant (one-month window, no cure) and a lender who always
  accelerates (``waiver: null``), every payment is made and the covenant fails in month 1: an
  event of default on every path (``pd`` 1) but no payment default (``pd_payment`` 0): S&P
  and Moody's do not count a covenant breach (credit.metrics.PAYMENT_DEFAULT_KINDS cites
  both). The S&P-style rating reads ``pd_payment``: AAA.
* The same covenant with the default waiver rule: the loan is covered (300,000 USD against
  GPUs worth millions), so the lender waives: no default, and a waiver on every path.
* 600,000 USD principal instead: 206,000 USD due in month 1 against about 110,500 USD: a missed
  payment on every path, a payment default in both counts, rated CCC/C.
"""

from __future__ import annotations

from typing import Any

import gpucredit
from gpucredit.credit.metrics import FacilityMetrics
from gpucredit.reports.tables import credit_record
from tests.conftest import hand_deal_data, make_deal

COVENANT = {"kind": "min_dscr", "threshold": 1.5, "window_months": 1}


def _metrics(**loan_changes: Any) -> FacilityMetrics:
    data = hand_deal_data()
    deal = make_deal(data, loan=dict(data["loan"], **loan_changes))
    return gpucredit.simulate(
        deal, n_paths=256, seed=1, keep_paths=0, n_workers=1, solve_fair_spread=False
    ).metrics


def test_a_covenant_only_default_counts_in_pd_not_in_pd_payment() -> None:
    m = _metrics(covenants=[dict(COVENANT, waiver=None)])
    assert m.min_dscr_p50 > 1.0  # every payment was made
    assert m.pd == 1.0
    assert m.pd_payment == 0.0
    assert m.default_kind_share["covenant"] == 1.0
    assert sum(m.default_kind_share.values()) == 1.0
    assert m.implied_rating == "AAA"  # the acceleration repaid the lender in full: no loss
    # the lender, accelerating a 300,000 USD loan on GPUs worth millions, is repaid in full
    assert m.pd_payment_upper == 0.0
    record = credit_record(m)
    assert record["pd"] == 1.0
    assert record["pd_payment"] == 0.0
    assert record["default_kinds"]["covenant"] == 1.0
    assert record["implied_rating_sp"] == "AAA"
    # the Wilson interval of 0 defaults in 256 paths reaches 1.5%: a label that says so
    assert record["implied_rating_sp_range"].startswith("AAA/")


def test_a_covered_loan_is_waived_not_defaulted() -> None:
    m = _metrics(covenants=[COVENANT])
    assert m.pd == 0.0
    assert m.waiver_probability == 1.0
    assert credit_record(m)["waiver_probability"] == 1.0


def test_a_missed_payment_counts_in_both() -> None:
    m = _metrics(principal_usd=600_000.0)
    assert m.pd == m.pd_payment == 1.0
    assert m.default_kind_share["payment"] == 1.0
    assert m.implied_rating == m.implied_rating_range == "CCC/C"
