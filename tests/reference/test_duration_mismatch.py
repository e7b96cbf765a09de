"""Hand cases of the duration-mismatch figures (closed forms in each test's comment)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gpucredit.config.spec import FixedRateSpec, StraightLineSpec
from gpucredit.credit.duration import (
    ValueFan,
    contract_revenue_wal,
    duration_mismatch,
    first_crossing_month,
    half_life_months,
    principal_share_at,
    repayments,
    scheduled_balance,
    weighted_average_life,
)
from gpucredit.debt.facilities import FacilityTerms
from gpucredit.debt.terms import facility_loan_terms


def _straight_line(principal: float, months: int) -> FacilityTerms:
    loan = facility_loan_terms(
        name="loan",
        principal_usd=principal,
        tenor_months=months,
        rate=FixedRateSpec(kind="fixed", coupon_pct=8.0),
        amortisation=StraightLineSpec(kind="straight_line"),
        issue_price_pct=100.0,
        dsra_months=0.0,
        covenants=(),
        refinancing_max_ltv=0.6,
    )
    return FacilityTerms(loan=loan)


@pytest.mark.parametrize("n", [1, 12, 36, 120])
def test_wal_of_a_straight_line_loan_is_n_plus_one_over_two(n: int) -> None:
    # equal principal P/n at months 1..n: WAL = sum t / n = (n + 1) / 2
    f = _straight_line(120e6, n)
    balance = scheduled_balance(f, 0.08)
    assert balance[0] == 120e6 and balance[-1] == 0.0
    wal = weighted_average_life(repayments(balance, np.zeros(n)))
    assert wal == pytest.approx((n + 1) / 2, rel=1e-12)  # float sums of equal instalments


def test_a_bullet_lives_to_maturity_and_nothing_owed_has_no_wal() -> None:
    flows = np.zeros(24)
    flows[-1] = 5.0
    assert weighted_average_life(flows) == 24.0
    assert weighted_average_life(np.zeros(24)) is None


def test_draws_count_in_the_repayments() -> None:
    # 100 at close, 50 drawn in month 2, 50 repaid in each of months 1-3
    balance = np.array([100.0, 50.0, 50.0, 0.0])
    draws = np.array([0.0, 50.0, 0.0])
    repaid = repayments(balance, draws)
    np.testing.assert_array_equal(repaid, [50.0, 50.0, 50.0])
    assert weighted_average_life(repaid) == pytest.approx(2.0)  # (1 + 2 + 3) / 3


def test_half_life_of_a_value_falling_five_percent_a_month() -> None:
    # v_t = 0.95^t halves at t = ln 2 / -ln 0.95 = 13.513 months; log-linear interpolation is
    # exact for a geometric path
    ratio = 0.95 ** np.arange(1, 61, dtype=np.float64)
    assert half_life_months(ratio) == pytest.approx(math.log(2) / -math.log(0.95), rel=1e-12)


def test_half_life_is_none_when_the_horizon_ends_first_and_linear_to_zero() -> None:
    assert half_life_months(0.99 ** np.arange(1, 37, dtype=np.float64)) is None
    # from 0.8 at month 2 to nothing at month 3 (floored at 1e-9): 2 + ln 1.6 / ln 0.8e9
    expected = 2 + math.log(1.6) / math.log(0.8e9)
    assert half_life_months(np.array([0.9, 0.8, 0.0])) == pytest.approx(expected, rel=1e-12)


def test_contract_wal_and_last_month() -> None:
    # 24 flat months: WAL 12.5; a contract that starts mid-month 1 (half a month) and runs to
    # month 3: (1 x 0.5 + 2 + 3) / 2.5 = 2.2
    units = np.array([10.0])
    flat = contract_revenue_wal(units, np.full((1, 24), 2.0), np.ones((1, 24)), 730.0)
    assert flat == (pytest.approx(12.5), 24)
    part = contract_revenue_wal(
        units, np.full((1, 5), 2.0), np.array([[0.5, 1.0, 1.0, 0.0, 0.0]]), 730.0
    )
    assert part == (pytest.approx(2.2), 3)
    # an escalator weights later months more: rates 1, 1, 2 -> (1 + 2 + 6) / 4 = 2.25
    esc = contract_revenue_wal(units, np.array([[1.0, 1.0, 2.0]]), np.ones((1, 3)), 730.0)
    assert esc == (pytest.approx(2.25), 3)
    assert contract_revenue_wal(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)), 730.0) == (
        None,
        None,
    )


def test_principal_share_when_the_contracts_end() -> None:
    # straight line over 36 months, contracts end at month 12: 24 / 36 of principal left
    balance = scheduled_balance(_straight_line(36e6, 36), 0.08)
    assert principal_share_at(balance, 12, 36e6) == pytest.approx(2 / 3, rel=1e-12)
    assert principal_share_at(balance, 48, 36e6) == 0.0  # the loan is repaid by then


def test_first_month_the_balance_reaches_the_value() -> None:
    balance = np.array([90.0, 80.0, 70.0, 0.0])
    value = np.array([100.0, 85.0, 70.0, 10.0])
    assert first_crossing_month(balance, value) == 3
    assert first_crossing_month(balance, value + 1.0) is None  # a repaid balance never crosses


def test_the_figures_together_with_reasons_for_each_none() -> None:
    f = _straight_line(60e6, 24)
    balance = scheduled_balance(f, 0.08)
    ratio = 0.85 ** np.arange(1, 25, dtype=np.float64)
    d = duration_mismatch(
        balance=balance,
        repaid=repayments(balance, np.zeros(24)),
        principal_usd=60e6,
        value_p50_ratio=ratio,
        value_p5_ratio=ratio**2,
        close_value_usd=100e6,
        realisable_share=0.8,
        contract_wal_months=None,
        last_contract_end_month=None,
    )
    assert d.debt_wal_months == pytest.approx(12.5)
    assert d.debt_wal_years == pytest.approx(12.5 / 12)
    # p5 falls at 0.85^2 a month: half the p50's half-life
    hl = math.log(2) / -math.log(0.85)
    assert d.collateral_half_life_p50_months == pytest.approx(hl, rel=1e-12)
    assert d.collateral_half_life_p5_months == pytest.approx(hl / 2, rel=1e-12)
    # realisable 80 x 0.85^t (USD m) against the balance 60 x (1 - t / 24): 68 > 57.5 in
    # month 1, 57.8 > 55 in month 2, 49.1 < 52.5 in month 3
    assert d.ltv_over_100_month == 3
    record = d.as_dict()
    assert record["principal_share_at_contract_end"] is None
    assert set(record["notes"]) == {
        "contract_wal_months",
        "last_contract_end_month",
        "principal_share_at_contract_end",
    }


def test_the_value_fan_reads_the_median_within_a_bin() -> None:
    rng = np.random.default_rng(3)
    values = 100.0 * np.exp(np.cumsum(rng.normal(-0.03, 0.1, size=(999, 30)), axis=1))
    fan = ValueFan(30, 100.0)
    fan.add(values[:400])
    other = ValueFan(30, 100.0)
    other.add(values[400:])
    fan.merge(other)
    exact = np.quantile(values / 100.0, 0.5, axis=0)
    # one bin of VALUE_EDGES is 0.001 wide
    np.testing.assert_allclose(fan.quantile_ratio(0.5), exact, atol=1e-3)
