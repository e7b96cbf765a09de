"""Cash in the debt-service payment account is conserved on every path.

Each month ``balance[t] = balance[t-1] + dspa_in[t] - dspa_draw[t]``, except in the month the
note leaves (repaid or defaulted), when what is left goes to the lender or the borrower: in
``pledged_cash`` at a default, in ``reserve_release`` at repayment (no DSRA or lock-up here,
so those hold the account's cash alone).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.debt.facilities import FacilityTerms, StructureTerms, default_steps
from gpucredit.debt.structure import run_structure
from gpucredit.debt.terms import LoanTerms

N_PATHS, N_MONTHS = 40, 18
# sums of a few hundred USD 100s: rounding is far below a cent
ATOL = 1e-6


@settings(max_examples=15, deadline=None)
@given(
    every=st.sampled_from([3, 6]),
    tenor=st.integers(4, N_MONTHS),
    amort=st.sampled_from(["bullet", "straight_line"]),
    mean=st.sampled_from([5.0, 20.0, 60.0]),
    seed=st.integers(0, 2**16),
)
def test_payment_account_cash_is_conserved(
    every: int, tenor: int, amort: str, mean: float, seed: int
) -> None:
    loan = LoanTerms(
        name="notes",
        principal_usd=600.0,
        tenor_months=tenor,
        floating=False,
        fixed_coupon=0.10,
        margin=0.0,
        floor=0.0,
        amortisation=amort,  # type: ignore[arg-type]  # drawn from the literal's values
        schedule_share=np.zeros(tenor),
        issue_price=1.0,
        dsra_months=0.0,
        covenants=(),
        refinancing_max_ltv=0.0,
    )
    facility = FacilityTerms(loan=loan, kind="notes", coupon_every_months=every)
    structure = StructureTerms((facility,), default_steps((facility,)))
    rng = np.random.default_rng(seed)
    cfads = rng.normal(mean, 30.0, (N_PATHS, N_MONTHS))
    cfads[:, tenor - 1] += 700.0  # the balloon is paid on most paths
    value = np.full((N_PATHS, N_MONTHS, 1), 1_000.0)
    ledger = run_structure(structure, cfads, value, np.zeros((N_PATHS, N_MONTHS)))
    fl = ledger.facilities[0]
    assert fl.dspa_in is not None and fl.dspa_draw is not None and fl.dspa_balance is not None
    assert np.all(fl.dspa_in >= 0.0) and np.all(fl.dspa_draw >= 0.0)
    assert np.all(fl.dspa_balance >= 0.0)
    before = np.concatenate([np.zeros((N_PATHS, 1)), fl.dspa_balance[:, :-1]], axis=1)
    left = before + fl.dspa_in - fl.dspa_draw - fl.dspa_balance  # handed over this month
    months = np.arange(1, N_MONTHS + 1)[None, :]
    default_month = fl.default_month[:, None]
    leaves_default = months == default_month
    repaid = (fl.default_month == 0)[:, None] & (months == tenor)
    np.testing.assert_allclose(left[~(leaves_default | repaid)], 0.0, atol=ATOL)
    paid_off = fl.default_month == 0
    np.testing.assert_allclose(
        left[paid_off, tenor - 1], fl.reserve_release[paid_off, tenor - 1], atol=ATOL
    )
    hit = fl.default_month > 0
    np.testing.assert_allclose(left[leaves_default], fl.pledged_cash[hit], atol=ATOL)
