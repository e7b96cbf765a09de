"""Miner assets: curtailment, revenue by hand, conversion capex, lease failure, spec errors."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import numpy as np
import pydantic
import pytest

from gpucredit.assets.miner import (
    AsicBuyerParams,
    MinerPlan,
    asic_value_usd_per_th,
    plan_miner,
    power_cost_usd_per_th_day,
    project_miner,
)
from gpucredit.config.miner import MinerSpec, parse_miner
from gpucredit.debt.margin_loan import margin_loan_terms
from gpucredit.errors import SpecError
from gpucredit.scenarios.grid import TimeGrid

AS_OF = dt.date(2026, 6, 1)
# a buyer with round numbers, so the plan does not depend on the shipped data
BUYER = AsicBuyerParams(
    as_of=AS_OF,
    hashrate_drift_per_month=0.02,
    fee_share=0.0,
    halving_months=(22.0,),
    hashprice_vol_per_sqrt_month=0.2,
    discount_rate=0.15,
)


def miner_data() -> dict[str, Any]:
    """10 EH/s at 20 J/TH, 50 USD/MWh, PUE 1: power 20 x 24 x 50 / 1e6 = 0.024 USD per TH-day.
    One 10 MW lease at 150 USD/kW-month from 2026-09-01: 1.5m USD a month; 3m USD of conversion
    capex over June, July, August (1m each)."""
    return {
        "name": "hand-miner",
        "as_of": "2026-06-01",
        "btc_price_usd": 100_000.0,
        "mining": {
            "hashrate_eh_s": 10.0,
            "efficiency_j_per_th": 20.0,
            "power_price_usd_per_mwh": 50.0,
            "pue": 1.0,
            "pool_fee_pct": 2.0,
            "fleet_age_years": 1.0,
            "other_opex_usd_per_month": 100_000.0,
        },
        "treasury": {"btc_held": 100.0},
        "hosting": {
            "leases": [
                {
                    "tenant": "neo",
                    "rating": "BB-",
                    "guarantor": {"name": "hyper", "rating": "AA+"},
                    "it_mw": 10.0,
                    "rate_usd_per_kw_month": 150.0,
                    "start": "2026-09-01",
                    "end": "2031-09-01",
                    "escalator_pct_per_year": 3.0,
                }
            ],
            "conversion": {"capex_usd": 3_000_000.0, "opex_usd_per_kw_month": 20.0},
        },
        "margin_loan": {
            "name": "btc-loan",
            "principal_usd": 5_000_000.0,
            "rate": {"kind": "floating", "margin_bps": 500},
            "tenor_months": 12,
            "pledged_btc": 80.0,
        },
    }


def plan(data: dict[str, Any] | None = None, n_months: int = 24) -> MinerPlan:
    spec = MinerSpec.model_validate(data or miner_data())
    return plan_miner(spec, TimeGrid(AS_OF, n_months), BUYER)


def test_spec_defaults_are_the_cited_ladder() -> None:
    loan = MinerSpec.model_validate(miner_data()).margin_loan
    assert loan is not None
    assert (loan.top_up_to_ltv_pct, loan.margin_call_ltv_pct) == (60.0, 75.0)
    assert (loan.liquidation_ltv_pct, loan.liquidation_penalty_pct) == (86.0, 4.38)
    terms = margin_loan_terms(loan)
    assert terms.floating and terms.margin == pytest.approx(0.05)
    assert terms.liquidation_penalty == pytest.approx(0.0438)


def test_power_cost_by_hand() -> None:
    # 20 W per TH/s x 1.1 x 24 h = 528 Wh = 0.000528 MWh x 50 USD = 0.0264 USD
    assert power_cost_usd_per_th_day(20.0, 1.1, 50.0) == pytest.approx(0.0264)


def test_mining_revenue_power_and_curtailment_by_hand() -> None:
    p = plan()
    hp = np.array([[40.0] * 24, [24.0] * 24, [24.6] * 24])  # USD per PH/s per day
    cf = project_miner(p, np.full((3, 24), 1e5), hp)
    # June 2026 has 30 days: 1e7 TH/s x 0.040 x 0.98 x 30 = 11.76m; power 1e7 x 0.024 x 30 = 7.2m
    assert cf.mining_revenue_usd[0, 0] == pytest.approx(11_760_000.0)
    assert cf.power_cost_usd[0, 0] == pytest.approx(7_200_000.0)
    # 24 x 0.98 = 23.52 < 24 USD per PH-day of power: switched off, no revenue, no power
    assert not cf.mining_on[1].any()
    assert cf.mining_revenue_usd[1].sum() == 0.0 and cf.power_cost_usd[1].sum() == 0.0
    # 24.6 x 0.98 = 24.108 > 24: runs, with a thin margin
    assert cf.mining_on[2].all()
    assert cf.mining_revenue_usd[2, 0] - cf.power_cost_usd[2, 0] == pytest.approx(
        1e7 * (0.024108 - 0.024) * 30
    )
    # July has 31 days
    assert cf.mining_revenue_usd[0, 1] == pytest.approx(1e7 * 0.0392 * 31)


def test_no_curtailment_mines_at_a_loss() -> None:
    data = miner_data()
    data["mining"]["curtailment"] = False
    cf = project_miner(plan(data), np.full((1, 24), 1e5), np.full((1, 24), 20.0))
    assert cf.mining_on.all()
    assert (cf.mining_revenue_usd - cf.power_cost_usd < 0.0).all()


def test_fleet_retires_at_the_end_of_its_life() -> None:
    data = miner_data()
    data["mining"]["fleet_age_years"] = 4.5  # 6 months of the 5-year life left
    cf = project_miner(plan(data), np.full((1, 24), 1e5), np.full((1, 24), 40.0))
    assert cf.mining_on[0].tolist() == [True] * 6 + [False] * 18
    assert cf.asic_value_usd[0, 6:].sum() == 0.0 and cf.asic_value_usd[0, 4] > 0.0


def test_conversion_capex_ramp_and_hosting_start() -> None:
    p = plan()
    cf = project_miner(p, np.full((1, 24), 1e5), np.full((1, 24), 40.0))
    # June, July, August start before the first lease (2026-09-01): 1m each, then nothing
    np.testing.assert_allclose(cf.conversion_capex_usd[0, :5], [1e6, 1e6, 1e6, 0.0, 0.0])
    assert cf.conversion_capex_usd.sum() == pytest.approx(3e6)
    np.testing.assert_allclose(cf.hosting_revenue_usd[0, :4], [0.0, 0.0, 0.0, 1_500_000.0])
    # 3% escalator from the first anniversary, 2027-09-01 (month 16)
    assert cf.hosting_revenue_usd[0, 14] == pytest.approx(1_500_000.0)
    assert cf.hosting_revenue_usd[0, 15] == pytest.approx(1_545_000.0)
    # hosting opex 10,000 kW x 20 USD from the lease start
    np.testing.assert_allclose(cf.hosting_opex_usd[0, 2:4], [0.0, 200_000.0])
    np.testing.assert_allclose(cf.net_cash_usd, cf.cfads_usd - cf.conversion_capex_usd)
    expected = (
        cf.mining_revenue_usd
        - cf.power_cost_usd
        + cf.hosting_revenue_usd
        - cf.hosting_opex_usd
        - cf.other_opex_usd
    )
    np.testing.assert_allclose(cf.cfads_usd, expected)


def test_capex_spread_beyond_a_short_grid() -> None:
    # a 2-month grid sees 2 of the 3 conversion months, each still a third of the capex
    cf = project_miner(plan(n_months=2), np.full((1, 2), 1e5), np.full((1, 2), 40.0))
    np.testing.assert_allclose(cf.conversion_capex_usd[0], [1e6, 1e6])


def test_lease_failure_downtime_and_re_lease() -> None:
    p = plan()
    failure = np.array([[25], [6], [12]])  # never, month 6, month 12
    cf = project_miner(p, np.full((3, 24), 1e5), np.full((3, 24), 40.0), failure)
    # defaults: 6 months idle, then 80% of the (escalated) contract rate
    assert cf.hosting_revenue_usd[1, 4] == pytest.approx(1_500_000.0)
    assert cf.hosting_revenue_usd[1, 5:11].sum() == 0.0
    assert cf.hosting_revenue_usd[1, 11] == pytest.approx(1_200_000.0)
    assert cf.hosting_revenue_usd[2, 17] == pytest.approx(0.8 * 1_545_000.0)
    # the lease's collateral value is the PV of what is left while the tenant survives
    assert cf.lease_value_usd[1, 4] > 0.0 and cf.lease_value_usd[1, 5:].sum() == 0.0
    np.testing.assert_allclose(cf.lease_value_usd[0], p.lease_value_usd[0])
    # month 3 end: 60 payments of 1.5m stepping up 3% a year, discounted at 7.25% a year
    d = 1.0725 ** (-1.0 / 12.0)
    pv = sum(1.5e6 * 1.03 ** (k // 12) * d ** (k + 1) for k in range(60))
    assert p.lease_value_usd[0, 2] == pytest.approx(pv, rel=1e-12)


def test_guarantor_and_tenant_pd_for_the_caller() -> None:
    p = plan()
    assert p.lease_tenants == ("neo",)
    assert 0.0 < p.lease_guarantor_annual_pd[0] < p.lease_tenant_annual_pd[0]


def test_treasury_value_and_shapes() -> None:
    btc = np.linspace(50_000.0, 150_000.0, 48).reshape(2, 24)
    cf = project_miner(plan(), btc, np.full((2, 24), 40.0))
    np.testing.assert_allclose(cf.treasury_value_usd, 100.0 * btc)
    for name in cf.__dataclass_fields__:
        value = getattr(cf, name)
        assert value.shape == (2, 24), name
        assert value.dtype == (bool if name == "mining_on" else np.float64), name


def test_asic_value_rises_with_hashprice_and_falls_with_power() -> None:
    hp = np.array([10.0, 30.0, 60.0, 120.0])
    low = asic_value_usd_per_th(
        hp, power_cost_usd_per_th_day=0.02, pool_fee=0.02, remaining_life_months=36, buyer=BUYER
    )
    high = asic_value_usd_per_th(
        hp, power_cost_usd_per_th_day=0.04, pool_fee=0.02, remaining_life_months=36, buyer=BUYER
    )
    assert (np.diff(low) > 0.0).all() and (high < low).all() and (high > 0.0).all()
    zero_life = asic_value_usd_per_th(
        hp, power_cost_usd_per_th_day=0.02, pool_fee=0.02, remaining_life_months=0.5, buyer=BUYER
    )
    assert (zero_life == 0.0).all()


def test_asic_value_without_power_cost_is_discounted_decayed_revenue() -> None:
    # c = 0: the option is always in the money, value = sum_k w_k h d_k (closed form)
    buyer = AsicBuyerParams(AS_OF, 0.01, 0.0, (), 0.3, 0.12)
    got = asic_value_usd_per_th(
        50.0, power_cost_usd_per_th_day=0.0, pool_fee=0.0, remaining_life_months=12, buyer=buyer
    )
    k = np.arange(1, 13)
    want = np.sum(0.05 * np.exp(-0.01 * k) * 1.12 ** (-k / 12) * 365.25 / 12)
    assert float(got) == pytest.approx(want, rel=1e-12)


def test_project_rejects_bad_shapes() -> None:
    p = plan()
    with pytest.raises(ValueError, match="shape"):
        project_miner(p, np.ones((2, 23)), np.ones((2, 23)))
    with pytest.raises(ValueError, match="lease_failure_month"):
        project_miner(p, np.ones((2, 24)), np.ones((2, 24)), np.ones((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="as_of"):
        plan_miner(MinerSpec.model_validate(miner_data()), TimeGrid(dt.date(2026, 1, 1), 3), BUYER)


# --- spec validation through the YAML loader -----------------------------------------------

YAML = """\
name: m
as_of: 2026-06-01
btc_price_usd: 100000
mining:
  hashrate_eh_s: 10
  efficiency_j_per_th: 20
  power_price_usd_per_mwh: 50
  pue: 1.05
  fleet_age_years: 1
treasury:
  btc_held: 100
margin_loan:
  name: ml
  principal_usd: 5000000
  rate: {kind: fixed, coupon_pct: 9}
  tenor_months: 12
  pledged_btc: 80
"""


def test_yaml_miner_is_valid() -> None:
    spec = parse_miner(YAML, source="miner.yaml")
    assert spec.margin_loan is not None and spec.margin_loan.pledged_btc == 80.0
    assert spec.mining.pool_fee == pytest.approx(0.025)


@pytest.mark.parametrize(
    ("old", "new", "field", "expected"),
    [
        ("pledged_btc: 80", "pledged_btc: 120", "margin_loan.pledged_btc", "btc_held (100)"),
        (
            "pledged_btc: 80",
            "pledged_btc: 80\n  top_up_to_ltv_pct: 80",
            "margin_loan.top_up_to_ltv_pct",
            "below margin_call_ltv_pct (75)",
        ),
        (
            "pledged_btc: 80",
            "pledged_btc: 80\n  margin_call_ltv_pct: 90",
            "margin_loan.margin_call_ltv_pct",
            "below liquidation_ltv_pct (86)",
        ),
        (
            "pledged_btc: 80",
            "pledged_btc: 80\n  liquidation_ltv_pct: 101",
            "margin_loan.liquidation_ltv_pct",
            "less than or equal to 100",
        ),
        (
            "principal_usd: 5000000",
            "principal_usd: 7000000",
            "margin_loan.principal_usd",
            "initial LTV below margin_call_ltv_pct (75%); got 87.5%",
        ),
        ("btc_price_usd: 100000\n", "", "btc_price_usd", "the BTC price on as_of"),
        ("fleet_age_years: 1", "fleet_age_years: 6", "mining.fleet_age_years", "economic_life"),
        ("pue: 1.05", "pue: 0.9", "mining.pue", "greater than or equal to 1"),
        ("pue: 1.05", "pue: 1.05\n  power_kw: 3", "mining.power_kw", "no such field"),
    ],
)
def test_yaml_errors_name_field_value_and_expectation(
    old: str, new: str, field: str, expected: str
) -> None:
    with pytest.raises(SpecError) as info:
        parse_miner(YAML.replace(old, new), source="miner.yaml")
    message = str(info.value)
    assert message.startswith("miner.yaml: ")
    assert f"field '{field}'" in message
    assert expected in message


def test_lease_errors() -> None:
    data = miner_data()
    bad = copy.deepcopy(data)
    bad["hosting"]["leases"][0]["annual_pd_pct"] = 2.0
    with pytest.raises(pydantic.ValidationError, match="exactly one of 'rating'"):
        MinerSpec.model_validate(bad)
    bad = copy.deepcopy(data)
    bad["hosting"]["leases"][0]["end"] = "2026-08-01"
    with pytest.raises(pydantic.ValidationError, match="a date after start"):
        MinerSpec.model_validate(bad)
    bad = copy.deepcopy(data)
    bad["hosting"]["leases"][0]["start"] = "2026-05-01"
    with pytest.raises(pydantic.ValidationError, match="conversion capex is spread"):
        MinerSpec.model_validate(bad)
    bad = copy.deepcopy(data)
    bad["hosting"]["leases"][0]["guarantor"]["rating"] = "ZZ"
    with pytest.raises(pydantic.ValidationError, match="S&P-style rating"):
        MinerSpec.model_validate(bad)
