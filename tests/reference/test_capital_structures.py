"""Reference values of capital structures, computed by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from gpucredit.debt.facilities import FacilityTerms, StructureTerms, default_steps
from gpucredit.debt.sculpting import cover_ratio, sculpt
from gpucredit.debt.structure import BORROWING_BASE, run_structure
from tests.conftest import plain_loan_terms


def test_sculpted_debt_size_by_hand() -> None:
    # Formula: REFERENCES.md (project finance), DS_t = CFADS_t / DSCR*, D = sum DS_t / (1+i)^t.
    # CFADS 130, 260, 390 at 1% a period, target 1.30x: service 100, 200, 300;
    # D = 100/1.01 + 200/1.01^2 + 300/1.01^3 = 99.00990 + 196.05921 + 291.17704 = 586.24616.
    out = sculpt(np.array([130.0, 260.0, 390.0]), np.full(3, 0.01), 1.30)
    assert out.principal_usd == pytest.approx(586.24616, abs=1e-5)
    # Principal: 100 - 5.86246 = 94.13754; 200 - 4.92109 = 195.07891; the rest, 297.02970.
    np.testing.assert_allclose(
        out.principal_share * out.principal_usd, [94.13754, 195.07891, 297.02970], atol=1e-5
    )
    assert out.dscr == pytest.approx(1.30)
    capped = sculpt(np.array([130.0, 260.0, 390.0]), np.full(3, 0.01), 1.30, max_debt_usd=400.0)
    assert capped.principal_usd == pytest.approx(400.0)
    assert capped.gearing_capped
    assert capped.dscr == pytest.approx(1.30 * 586.24616 / 400.0, rel=1e-6)


def test_constant_sculpting_makes_llcr_equal_dscr() -> None:
    rng = np.random.default_rng(3)
    cf = rng.uniform(50.0, 150.0, 24)
    rate = np.full(24, 0.008)
    out = sculpt(cf, rate, 1.35)
    balance = [out.principal_usd]
    for t in range(24):
        balance.append(balance[-1] * (1 + rate[t]) - out.debt_service_usd[t])
    llcr = cover_ratio(cf[None, :], rate[None, :], np.array(balance)[None, :], 24)
    assert llcr[0, 0] == pytest.approx(1.35, rel=1e-12)
    assert np.nanmax(np.abs(llcr[0, :-1] - 1.35)) < 1e-9  # at every date, not only at close


def test_borrowing_base_walk_by_hand() -> None:
    # ABL of 70 at an 80% advance rate on collateral 100, 90, 80, 80, 80: base 80, 72, 64, ...
    # Month 1: 70 <= 80. Month 2: 70 > 72? no. Month 3: 70 > 64 by 6 -> in cure (1 month).
    # Month 4: still 6 short and the cure has run: 6 is due and paid from CFADS (10 a month,
    # interest 0): balance 64. Month 5: 64 <= 64. Month 6: CFADS 100 repays the 64.
    terms = FacilityTerms(
        loan=plain_loan_terms("abl", 70.0, 6, 0.0), kind="abl", advance_rate=0.8, cure_months=1
    )
    structure = StructureTerms((terms,), default_steps((terms,)))
    value = np.array([100.0, 90.0, 80.0, 80.0, 80.0, 80.0])[None, :, None]
    cfads = np.array([[10.0, 10.0, 10.0, 10.0, 10.0, 100.0]])
    out = run_structure(structure, cfads, value, np.zeros((1, 6)))
    fl = out.facilities[0]
    np.testing.assert_allclose(fl.principal_paid[0], [0, 0, 0, 6.0, 0, 64.0], atol=1e-9)
    np.testing.assert_allclose(fl.balance[0], [70, 70, 70, 64, 64, 0], atol=1e-9)
    # Without the cash to cure, the shortfall is an event of default when it falls due.
    dry = run_structure(structure, np.full((1, 6), 1.0), value, np.zeros((1, 6)))
    assert int(dry.facilities[0].default_month[0]) == 4
    assert int(dry.facilities[0].default_kind[0]) == BORROWING_BASE
