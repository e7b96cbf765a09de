"""Book value, the PD-LGD correlation across scenarios, and assigned contracts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from gpucredit.assets import plan_fleet
from gpucredit.credit.collateral import (
    MARKET_LEVEL_EDGES,
    CollateralAccumulator,
    book_value_usd,
    pd_lgd_correlation,
)
from gpucredit.credit.contracts import assigned_contract_uplift
from gpucredit.scenarios import TimeGrid
from tests.conftest import hand_deal_data, make_deal


def test_book_value_is_straight_line() -> None:
    data = hand_deal_data()
    data["fleet"][0] = dict(data["fleet"][0], purchase_date="2023-07-31")
    deal = make_deal(data)
    # 100 GPUs at 20,000 USD, 3 of 6 years gone (1,096 days / 365.25): half the cost left
    assert book_value_usd(deal, dt.date(2026, 7, 31)) == pytest.approx(1_000_000.0, rel=1e-3)


def test_pd_lgd_correlation_by_hand() -> None:
    acc = CollateralAccumulator()
    size = MARKET_LEVEL_EDGES.size + 1
    acc.bucket_paths = np.zeros(size, dtype=np.int64)
    acc.bucket_defaults = np.zeros(size, dtype=np.int64)
    acc.bucket_lgd = np.zeros(size, dtype=np.int64)
    # three scenarios of 100 paths: default rates 10%, 20%, 30% with mean LGD 20%, 40%, 60%
    for b, (n_def, lgd) in zip((5, 6, 7), ((10, 0.2), (20, 0.4), (30, 0.6)), strict=True):
        acc.bucket_paths[b] = 100
        acc.bucket_defaults[b] = n_def
        acc.bucket_lgd[b] = round(n_def * lgd * 1e9)
    assert pd_lgd_correlation(acc) == pytest.approx(1.0)
    acc.bucket_lgd[7] = round(30 * 0.1 * 1e9)  # LGD now falls where PD rises most
    assert pd_lgd_correlation(acc) < 0.0


def _plan(pd_pct: float, rate: float, take_or_pay: bool = True):  # type: ignore[no-untyped-def]
    data = hand_deal_data()
    data["contracts"][0] = dict(
        data["contracts"][0],
        annual_pd_pct=pd_pct,
        rate_usd_per_gpu_hour=rate,
        take_or_pay=take_or_pay,
    )
    deal = make_deal(data)
    return plan_fleet(deal, TimeGrid(deal.as_of, 12))


def test_contract_uplift_by_hand() -> None:
    plan = _plan(0.0, 2.0)
    never = np.array([[plan.n_months + 1]])
    value = np.array([[100 * 5_000.0]])  # hardware worth 5,000 USD a GPU at default
    # default in month 2; the contract runs to 2027-07-31, past the 12-month grid: months
    # 3..12 count. Net rent per GPU-month: 2 x 730 x 0.9 - (109.5 power + 100 colocation)
    net = 2.0 * 730 * 0.9 - 209.5
    r = 0.01
    months = np.arange(1, 11)
    income = 100 * net * (1 / (1 + r) ** months).sum()
    residual = 100 * 5_000.0 * np.exp(-0.02 * 10) / (1 + r) ** 10
    expected = income + residual - 100 * 5_000.0
    got = assigned_contract_uplift(
        plan, never, np.array([2]), value, np.array([r]), np.array([0.02])
    )
    assert got[0] == pytest.approx(expected, rel=1e-12)
    assert expected > 0


def test_no_uplift_when_the_tenant_is_gone_or_the_contract_is_worth_less() -> None:
    plan = _plan(0.0, 2.0)
    value = np.array([[100 * 5_000.0]])
    dead = np.array([[2]])  # tenant defaulted in the borrower's default month
    assert (
        assigned_contract_uplift(
            plan, dead, np.array([2]), value, np.array([0.01]), np.array([0.02])
        )[0]
        == 0.0
    )
    cheap = _plan(0.0, 0.3)  # rent below running cost: the GPUs are worth more without it
    never = np.array([[cheap.n_months + 1]])
    assert (
        assigned_contract_uplift(
            cheap, never, np.array([2]), value, np.array([0.01]), np.array([0.02])
        )[0]
        == 0.0
    )
    usage = _plan(0.0, 2.0, take_or_pay=False)
    assert (
        assigned_contract_uplift(
            usage, never, np.array([2]), value, np.array([0.01]), np.array([0.02])
        )[0]
        == 0.0
    )


def test_contract_uplift_counts_the_months_after_the_grid() -> None:
    # Regression: a lease that outlives the loan's grid was valued only to the grid's end, so
    # a default in the grid's last month assigned a lease with years left for nothing.
    data = hand_deal_data()
    data["contracts"][0] = dict(data["contracts"][0], annual_pd_pct=0.0, rate_usd_per_gpu_hour=2.0)
    deal = make_deal(data)
    long = plan_fleet(deal, TimeGrid(deal.as_of, 12))  # the contract ends with month 12
    short = plan_fleet(deal, TimeGrid(deal.as_of, 6))
    value = np.array([[100 * 5_000.0]])
    args = (value, np.array([0.01]), np.array([0.02]))
    for month in (2, 6):
        on_long = assigned_contract_uplift(long, np.array([[13]]), np.array([month]), *args)
        on_short = assigned_contract_uplift(short, np.array([[7]]), np.array([month]), *args)
        # the same months 3..12 (or 7..12) summed in the same order: equal to rounding
        assert on_short[0] == pytest.approx(on_long[0], rel=1e-12)
        assert on_short[0] > 0.0
    assert short.contract_tail_active.shape == (1, 6)
    assert long.contract_tail_active.shape == (1, 0)
