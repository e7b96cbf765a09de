"""Convertibles and callable notes in the structure engine, on hand-made paths."""

from __future__ import annotations

import numpy as np
import pytest

from gpucredit.debt.facilities import (
    EquityTerms,
    FacilityTerms,
    RefinancingTerms,
    StructureTerms,
    default_steps,
)
from gpucredit.debt.structure import run_structure
from tests.conftest import plain_loan_terms


def _convertible() -> StructureTerms:
    # 100 of par, 0% coupon, 3 months, converts at 10 USD a share. Equity: 10 shares at 10 USD
    # (market cap 100) + debt 100 = EV 200 on a fleet worth 200 at close.
    conv = FacilityTerms(
        loan=plain_loan_terms("conv", 100.0, 3, 0.0), kind="convertible", conversion_price_usd=10.0
    )
    return StructureTerms((conv,), default_steps((conv,)), EquityTerms(10.0, 10.0))


def _run(structure: StructureTerms, values: list[float], cfads: float) -> object:
    value = np.array(values)[None, :, None]
    return run_structure(structure, np.full((1, 3), cfads), value, np.zeros((1, 3)))


def test_a_convertible_converts_when_the_share_price_is_above_the_conversion_price() -> None:
    # Fleet 200 -> 400 by maturity: EV = 200 x 400 / 200 = 400, equity = 400 - 100 = 300, 30 USD a
    # share. The holder converts 100 / 10 = 10 shares worth 300: no cash, no default.
    out = _run(_convertible(), [200.0, 300.0, 400.0], cfads=0.0)
    fl = out.facilities[0]  # type: ignore[attr-defined]
    assert int(fl.default_month[0]) == 0
    assert fl.extra_received[0, 2] == pytest.approx(300.0)
    assert fl.principal_paid[0].sum() == pytest.approx(0.0)
    assert fl.balance[0, 2] == pytest.approx(0.0)
    assert out.share_price[0, 2] == pytest.approx(30.0)  # type: ignore[attr-defined]


def test_below_the_conversion_price_the_convertible_is_repaid_in_cash() -> None:
    # Fleet 200 -> 150: EV 150, equity 50, 5 USD a share < 10. The balloon of 100 falls due in
    # month 3 with 50 of cash: 50 paid, the other 50 refinanced (50 <= 0.6 x 150).
    out = _run(_convertible(), [200.0, 180.0, 150.0], cfads=50.0)
    fl = out.facilities[0]  # type: ignore[attr-defined]
    assert fl.extra_received[0].sum() == pytest.approx(0.0)
    assert int(fl.default_month[0]) == 0
    assert fl.principal_paid[0, 2] == pytest.approx(100.0)
    assert fl.refinanced[0, 2] == pytest.approx(50.0)


def test_a_callable_note_is_called_when_refinancing_is_cheaper() -> None:
    # 12% notes, callable at 101 from month 2; refinancing at SOFR 0% + 3.68% (calm spread):
    # saving (12% - 3.68%) x 10/12 years = 6.9% > 1% premium: called in month 2. The holder gets
    # 100 + 1 of premium; the borrower owes 101 of refinancing debt.
    note = FacilityTerms(
        loan=plain_loan_terms("note", 100.0, 12, 0.12),
        kind="notes",
        call_month=np.array([2]),
        call_price=np.array([1.01]),
        refinancing=RefinancingTerms(max_ltv=0.9, spread=(0.0368, 0.0643)),
    )
    structure = StructureTerms((note,), default_steps((note,)))
    value = np.full((1, 12, 1), 1000.0)
    out = run_structure(structure, np.full((1, 12), 10.0), value, np.zeros((1, 12)))
    fl = out.facilities[0]
    assert fl.principal_paid[0, 1] == pytest.approx(100.0)
    assert fl.extra_received[0, 1] == pytest.approx(1.0)
    assert fl.interest_paid[0, :2].sum() == pytest.approx(100.0 * 0.12 / 12 * 2)
    assert int(fl.default_month[0]) == 0
    assert out.refinanced_debt[0, 1] == pytest.approx(101.0)
