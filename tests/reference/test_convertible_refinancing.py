"""Hand-computed cases of the convertible's equity option and of refinancing at the path's
spread, in both engines (``debt.structure`` and its compiled twin ``debt.engine``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from gpucredit.debt.engine import run_structure_compiled
from gpucredit.debt.facilities import (
    EquityTerms,
    FacilityTerms,
    RefinancingTerms,
    StructureTerms,
    default_steps,
)
from gpucredit.debt.structure import StructureLedger, run_structure
from gpucredit.debt.terms import LoanTerms
from gpucredit.factors.equity import equity_normals, share_price_paths
from tests.conftest import plain_loan_terms

ENGINES = (run_structure, run_structure_compiled)


def _loan(tenor: int, coupon: float = 0.0, principal: float = 100.0) -> LoanTerms:
    return plain_loan_terms("cv", principal, tenor, coupon)


def _structure(facility: FacilityTerms, equity: EquityTerms | None = None) -> StructureTerms:
    return StructureTerms((facility,), default_steps((facility,)), equity)


def _run(
    engine: object, structure: StructureTerms, cfads: np.ndarray, **kw: object
) -> StructureLedger:
    n_paths, n = cfads.shape
    value = np.full((n_paths, n, 1), 1_000.0)
    sofr = np.full((n_paths, n), 0.04)
    return engine(structure, cfads, value, sofr, **kw)  # type: ignore[operator, no-any-return]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_share_path_over_the_trigger_converts_the_note_at_parity(engine: object) -> None:
    # 100 of par, conversion price 10, soft call from month 4 at 130%: the share is at 14 in
    # month 3 (before the call date), 12 in month 4 (below 13), 13.5 in month 5: converted
    # then, at parity 100 x 13.5 / 10 = 135, and nothing more is owed
    facility = FacilityTerms(
        loan=_loan(12, 0.02),
        kind="convertible",
        conversion_price_usd=10.0,
        soft_call_month=4,
        soft_call_trigger=1.3,
    )
    share = np.array([[8.0, 9.0, 14.0, 12.0, 13.5, 20.0] + [20.0] * 6])
    ledger = _run(
        engine,
        _structure(facility, EquityTerms(8.0, 1.0, model="diffusion")),
        np.full((1, 12), 50.0),
        share_price_usd=share,
    )
    fl = ledger.facilities[0]
    assert fl.extra_received is not None
    assert fl.extra_received[0].tolist() == [0.0] * 4 + [135.0] + [0.0] * 7
    assert fl.balance[0, 4:].tolist() == [0.0] * 8
    assert fl.principal_paid[0].sum() == 0.0
    assert int(ledger.default_month[0]) == 0
    # interest accrued over months 1-5 is not paid on conversion: no coupon month (semi-
    # annual coupons would fall in month 6)
    np.testing.assert_array_equal(ledger.share_price, share)


def _level_payment(gap: float, annual: float, months: int) -> float:
    r = annual / 12.0
    return gap * r * (1.0 + r) ** months / ((1.0 + r) ** months - 1.0)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_refinanced_balloon_is_tested_on_its_level_payment(engine: object) -> None:
    # A 100 bullet at month 12 paying 5% monthly; the pool is worth 1,000 (LTV under the 55%
    # pivot: no leverage term) and the window open: the new 24-month loan costs SOFR 4% +
    # 368 bp, a level payment of p = 4.5081 per 100 (by hand: r = 0.0768 / 12 = 0.0064,
    # 1.0064^24 = 1.16546, 100 x 0.0064 x 1.16546 / 0.16546). A flat CFADS C pays the last
    # interest 0.41667 and C - 0.41667 of the balloon; the gap 100.41667 - C is refinanced
    # when the trailing 11 months' mean CFADS C covers 1.2 x its payment:
    # C >= 1.2 p / 100 x (100.41667 - C), i.e. C >= 5.1536.
    p = _level_payment(100.0, 0.04 + 0.0368, 24) / 100.0
    assert p * 100.0 == pytest.approx(4.5081, abs=1e-4)
    threshold = 1.2 * p * (100.0 + 100.0 * 0.05 / 12.0) / (1.0 + 1.2 * p)
    assert threshold == pytest.approx(5.1536, abs=1e-4)
    refinancing = RefinancingTerms(
        max_ltv=0.6,
        min_dscr=1.2,
        spread=(0.0368, 0.0643),
        spread_per_ltv=0.064,
        ltv_pivot=0.55,
        new_tenor_months=24,
        new_level_payment=True,
    )
    facility = FacilityTerms(loan=_loan(12, 0.05), kind="notes", refinancing=refinancing)
    structure = _structure(facility)
    # 1e-9 relative either side: far above the rounding of a few operations (1e-15)
    passed = _run(engine, structure, np.full((1, 12), threshold * (1.0 + 1e-9)))
    failed = _run(engine, structure, np.full((1, 12), threshold * (1.0 - 1e-9)))
    assert int(passed.default_month[0]) == 0
    assert passed.facilities[0].refinanced[0, 11] == pytest.approx(100.41667 - threshold, abs=1e-4)
    assert int(failed.default_month[0]) == 12
    assert int(failed.facilities[0].default_kind[0]) == 3  # at maturity


@pytest.mark.parametrize("engine", ENGINES)
def test_the_leverage_term_widens_the_spread_above_the_pivot(engine: object) -> None:
    # A zero-coupon 100 bullet at month 6 and a CFADS of 20: the gap 80 is refinanced at
    # LTV 80 / 125 = 64%, spread 368 bp + 640 bp x (0.64 - 0.55) = 425.6 bp; in month 7,
    # while a later facility still runs, the borrower pays 80 x (4% + 4.256%) / 12 on it
    refinancing = RefinancingTerms(
        max_ltv=0.9,
        spread=(0.0368, 0.0643),
        spread_per_ltv=0.064,
        ltv_pivot=0.55,
        new_tenor_months=24,
        new_level_payment=False,
    )
    first = FacilityTerms(loan=_loan(6), kind="notes", seniority=1, refinancing=refinancing)
    later = FacilityTerms(loan=_loan(12, 0.0, principal=1.0), seniority=2)
    structure = StructureTerms((first, later), default_steps((first, later)))
    cfads = np.full((1, 12), 20.0)
    value = np.full((1, 12, 1), 125.0)
    sofr = np.full((1, 12), 0.04)
    ledger = engine(structure, cfads, value, sofr)  # type: ignore[operator]
    assert ledger.facilities[0].refinanced[0, 5] == 80.0
    assert ledger.step_paid[0, 6, 0] == pytest.approx(80.0 * (0.04 + 0.042560) / 12.0, rel=1e-12)


def test_the_conversion_option_is_worth_its_black_scholes_value() -> None:
    # A zero-coupon convertible that cannot default (default_free): at maturity the holder
    # gets par x max(S_T / K, 1), so PV - par = par / K x C_BS(S_0, K, T, r, sigma) under a
    # share drifting at the riskless rate (factors.equity, rho 0, constant SOFR r).
    n_paths, months = 20_000, 24
    s0, strike, sigma, r = 80.0, 100.0, 0.6, 0.04
    sofr = np.full((n_paths, months), r)
    own = equity_normals(11, 0, n_paths, months)
    share = share_price_paths(s0, sigma, 0.0, sofr, np.zeros_like(own), own)
    facility = FacilityTerms(loan=_loan(months), kind="convertible", conversion_price_usd=strike)
    structure = _structure(facility, EquityTerms(s0, 1.0, model="diffusion"))
    ledger = run_structure_compiled(
        structure,
        np.zeros((n_paths, months)),
        np.full((n_paths, months, 1), 1e6),
        sofr,
        default_free=True,
        share_price_usd=share,
    )
    fl = ledger.facilities[0]
    t = months / 12.0
    payoff = (fl.lender_cashflow[:, -1] - 100.0) * math.exp(-r * t)
    d1 = (math.log(s0 / strike) + (r + 0.5 * sigma**2) * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    call = s0 * norm.cdf(d1) - strike * math.exp(-r * t) * norm.cdf(d2)
    expected = 100.0 / strike * call
    se = payoff.std(ddof=1) / math.sqrt(n_paths)
    # 4 standard errors: a Monte Carlo estimate, false alarm about 1 in 16,000
    assert abs(payoff.mean() - expected) < 4.0 * se, (payoff.mean(), expected, se)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_put_below_parity_is_paid_in_cash_or_defaults(engine: object) -> None:
    # 100 of par, conversion price 10, a put at par in month 6: the share at 7 (parity 0.7)
    # is below the put price, so the holders put. With 120 of cash that month the issuer pays
    # 100 and nothing is owed after; with 50 it is short: a payment default in month 6.
    facility = FacilityTerms(
        loan=_loan(12, 0.0),
        kind="convertible",
        conversion_price_usd=10.0,
        put_month=6,
        put_price=1.0,
    )
    structure = _structure(facility, EquityTerms(8.0, 1.0, model="diffusion"))
    share = np.full((1, 12), 7.0)
    for cash, defaulted in ((120.0, False), (50.0, True)):
        cfads = np.full((1, 12), 1.0)
        cfads[0, 5] = cash
        ledger = _run(engine, structure, cfads, share_price_usd=share)
        fl = ledger.facilities[0]
        if defaulted:
            assert int(ledger.default_month[0]) == 6
            assert int(fl.default_kind[0]) == 1  # payment
        else:
            assert int(ledger.default_month[0]) == 0
            assert fl.principal_paid[0, 5] == 100.0
            assert fl.balance[0, 5:].tolist() == [0.0] * 7
    # above the put price (parity 1.2) the holders keep the note to maturity
    ledger = _run(engine, structure, np.full((1, 12), 1.0), share_price_usd=share * 0 + 12.0)
    assert ledger.facilities[0].principal_paid[0, 5] == 0.0
