"""GPUs delivered after the as-of date (a DDTL draws as they arrive).

A cohort whose ``purchase_date`` is after ``as_of`` is owned from its delivery month (the
first grid month whose end is on or after the date): nothing before it, the owned share of
the month's days in it, and from then on the cash flows of a cohort bought on that date.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.assets.fleet import (
    AssetCashflows,
    FleetPlan,
    gpu_value_usd,
    plan_fleet,
    project,
    project_reference,
)
from gpucredit.config.loading import parse_deal
from gpucredit.config.spec import DealSpec
from gpucredit.debt.capital import month_of
from gpucredit.errors import SpecError
from gpucredit.pipeline import _inputs, build_model
from gpucredit.scenarios import MonteCarloShocks
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.scenarios.scenario import ScenarioSet
from gpucredit.units import HOURS_PER_MONTH, MWH_PER_KWH
from tests.conftest import deal_refusal, load_example_data, make_deal

AS_OF = dt.date(2026, 7, 31)
N_MONTHS = 12
UNITS, CONTRACT_UNITS, UNIT_COST = 1000, 600, 30000.0
RATE, PRICE_FACTOR, SGA = 2.0, 0.8, 0.05
POWER_KW, PUE, POWER_USD_PER_MWH, COLO = 1.0, 1.5, 100.0, 100.0
DECAY = {"H100": 0.25}


def _deal_data(delivery: dt.date, *, as_of: dt.date = AS_OF, n_months: int = N_MONTHS) -> Any:
    """One H100 cohort delivered on ``delivery``, 600 of its 1,000 GPUs let from that day on
    take-or-pay to a tenant that never defaults; round numbers for hand checks."""
    return {
        "name": "delivery",
        "as_of": as_of.isoformat(),
        "borrower": {"name": "Delivery SPV"},
        "fleet": [
            {
                "name": "late",
                "generation": "H100",
                "units": UNITS,
                "purchase_date": delivery.isoformat(),
                "unit_cost_usd": UNIT_COST,
                "power_kw_per_gpu": POWER_KW,
            }
        ],
        "contracts": [
            {
                "tenant": "T",
                "annual_pd_pct": 0.0,
                "cohort": "late",
                "units": CONTRACT_UNITS,
                "rate_usd_per_gpu_hour": RATE,
                "start": delivery.isoformat(),
                "end": "2028-12-31",
            }
        ],
        "merchant": {"price_factor": PRICE_FACTOR},
        "opex": {
            "power_price_usd_per_mwh": POWER_USD_PER_MWH,
            "pue": PUE,
            "colocation_usd_per_kw_month": COLO,
            "sga_share_of_revenue": SGA,
        },
        "loan": {
            "name": "L",
            "principal_usd": 1e7,
            "rate": {"kind": "fixed", "coupon_pct": 10.0},
            "tenor_months": n_months,
            "amortisation": {"kind": "straight_line"},
        },
    }


def _scenarios(n_paths: int, n_months: int, seed: int = 3) -> ScenarioSet:
    rng = np.random.default_rng(seed)
    return ScenarioSet(
        generations=("H100",),
        regime=np.zeros((n_paths, n_months), dtype=np.int8),
        rent=rng.uniform(0.8, 3.0, (n_paths, n_months, 1)),
        utilisation=rng.uniform(0.3, 1.0, (n_paths, n_months)),
        sofr=np.full((n_paths, n_months), 0.04),
        tenant_uniforms=np.full((n_paths, 1), 0.5),
        entity_factor=None,
    )


def _tail(scen: ScenarioSet, skip: int) -> ScenarioSet:
    """The same paths from month ``skip + 1`` on: the scenario of a grid starting then."""
    return dataclasses.replace(
        scen,
        regime=scen.regime[:, skip:].copy(),
        rent=scen.rent[:, skip:, :].copy(),
        utilisation=scen.utilisation[:, skip:].copy(),
        sofr=scen.sofr[:, skip:].copy(),
    )


def _cash(plan: FleetPlan, scen: ScenarioSet) -> AssetCashflows:
    fast = project(plan, scen, buyer_decay_per_year=DECAY)
    ref = project_reference(plan, scen, buyer_decay_per_year=DECAY)
    _assert_same(fast, ref)
    return fast


def _assert_same(a: Any, b: Any) -> None:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if x is None or y is None:  # construction fields of a run without construction risk
            assert x is None and y is None, f.name
            continue
        assert x.dtype == y.dtype and x.shape == y.shape, f.name
        assert np.array_equal(x, y), f.name


CASH_FIELDS = (
    "revenue_usd",
    "contracted_revenue_usd",
    "merchant_revenue_usd",
    "opex_usd",
    "cfads_usd",
    "cohort_value_usd",
    "collateral_value_usd",
)


# --- a delivery in month 4 ---------------------------------------------------------------


def test_a_cohort_delivered_in_month_4_is_nothing_before_it_and_pro_rated_in_it() -> None:
    delivery = dt.date(2026, 11, 15)  # month 4 covers (2026-10-31, 2026-11-30]
    deal = make_deal(_deal_data(delivery))
    grid = TimeGrid(deal.as_of, N_MONTHS)
    assert month_of(grid, delivery) == 4
    plan = plan_fleet(deal, grid)
    scen = _scenarios(50, N_MONTHS)
    cash = _cash(plan, scen)

    before = slice(0, 3)
    for arr in (
        plan.cohort_owned_share,
        plan.cohort_in_service,
        plan.cohort_remaining_life_months,
        plan.cohort_book_value_usd,
    ):
        assert (arr[0, before] == 0.0).all()
    for name in CASH_FIELDS:
        assert (getattr(cash, name)[:, before] == 0.0).all(), name
    assert (plan.cohort_owned_share[0, 4:] == 1.0).all()

    # month 4 by hand: owned 15 of its 30 days, the contract active from the same day
    share = 15.0 / 30.0
    assert plan.cohort_owned_share[0, 3] == share
    assert plan.contract_active[0, 3] == share
    rent = scen.rent[:, 3, 0] * PRICE_FACTOR
    util = scen.utilisation[:, 3]
    contracted = CONTRACT_UNITS * RATE * HOURS_PER_MONTH * share
    merchant = (UNITS - CONTRACT_UNITS) * share * rent * util * HOURS_PER_MONTH
    opex_gpu = POWER_KW * PUE * HOURS_PER_MONTH * POWER_USD_PER_MWH * MWH_PER_KWH
    opex_gpu += POWER_KW * COLO
    revenue = contracted + merchant
    opex = UNITS * share * opex_gpu + SGA * revenue
    np.testing.assert_allclose(cash.contracted_revenue_usd[:, 3], contracted, rtol=1e-13)
    np.testing.assert_allclose(cash.merchant_revenue_usd[:, 3], merchant, rtol=1e-13)
    np.testing.assert_allclose(cash.opex_usd[:, 3], opex, rtol=1e-13)

    # owned at the month's end: full value, age = the owned share of a month
    life = 7.0 * 12.0
    assert plan.cohort_remaining_life_months[0, 3] == life - share
    assert plan.cohort_book_value_usd[0, 3] == pytest.approx(
        UNITS * UNIT_COST * (1.0 - share / 72.0), rel=1e-14
    )
    value = UNITS * gpu_value_usd(
        rent * util * HOURS_PER_MONTH * (1.0 - SGA),
        opex_gpu,
        life - share,
        DECAY["H100"] / 12.0,
        plan.buyer_monthly_discount,
    )
    np.testing.assert_allclose(cash.cohort_value_usd[:, 3, 0], value, rtol=1e-13)
    assert (cash.cohort_value_usd[:, 3, 0] > 0.0).any()


@pytest.mark.parametrize(
    "delivery",
    [dt.date(2026, 10, 31), dt.date(2026, 11, 1), dt.date(2026, 11, 15), dt.date(2026, 11, 30)],
    ids=["on-month-3-end", "month-4-first-day", "month-4-mid", "month-4-end"],
)
def test_from_delivery_the_cash_flows_of_a_grid_starting_after_month_3(delivery: dt.date) -> None:
    """Months 4.. of the delivery equal months 1.. of the same cohort on a grid that starts at
    the end of month 3 (where a delivery on that day is a cohort bought on the as-of date)."""
    deal = make_deal(_deal_data(delivery))
    grid = TimeGrid(deal.as_of, N_MONTHS)
    later_as_of = grid.end(3)
    shifted = make_deal(_deal_data(delivery, as_of=later_as_of, n_months=N_MONTHS - 3))
    shifted_grid = TimeGrid(later_as_of, N_MONTHS - 3)
    plan, plan_s = plan_fleet(deal, grid), plan_fleet(shifted, shifted_grid)
    for name in (
        "cohort_owned_share",
        "cohort_in_service",
        "cohort_remaining_life_months",
        "cohort_book_value_usd",
        "contract_active",
        "contract_rate_by_month",
    ):
        assert np.array_equal(getattr(plan, name)[:, 3:], getattr(plan_s, name)), name
    scen = _scenarios(40, N_MONTHS)
    cash, cash_s = _cash(plan, scen), _cash(plan_s, _tail(scen, 3))
    owned_from = month_of(grid, delivery)  # owned at the end of this month
    for name in CASH_FIELDS:
        a, b = getattr(cash, name), getattr(cash_s, name)
        assert np.array_equal(a[:, 3:], b), name
        nothing = 3 if name.endswith("revenue_usd") or name in ("opex_usd", "cfads_usd") else 0
        assert (a[:, : max(nothing, owned_from - 1)] == 0.0).all(), name
    if owned_from == 3:  # delivered on month 3's last day: no days of it, its value at the end
        assert (cash.cohort_value_usd[:, 2, 0] > 0.0).any()


def test_a_cohort_bought_by_as_of_is_owned_throughout() -> None:
    deal = make_deal(_deal_data(AS_OF))
    plan = plan_fleet(deal, TimeGrid(AS_OF, N_MONTHS))
    assert (plan.cohort_owned_share == 1.0).all()
    assert (plan.cohort_in_service == 1.0).all()
    assert plan.cohort_remaining_life_months[0, 0] == 7.0 * 12.0 - 1.0


@given(day=st.integers(1, 330))
@settings(max_examples=60, deadline=None)
def test_ownership_steps_from_zero_to_one_at_the_delivery_month(day: int) -> None:
    delivery = AS_OF + dt.timedelta(days=day)
    grid = TimeGrid(AS_OF, N_MONTHS)
    plan = plan_fleet(make_deal(_deal_data(delivery)), grid)
    m = month_of(grid, delivery)
    owned = plan.cohort_owned_share[0]
    assert (owned[: m - 1] == 0.0).all() and (owned[m:] == 1.0).all()
    assert 0.0 <= owned[m - 1] < 1.0
    assert (plan.cohort_book_value_usd[0, : m - 1] == 0.0).all()
    assert (plan.cohort_book_value_usd[0, m - 1 :] > 0.0).all()
    assert np.all(np.diff(plan.cohort_book_value_usd[0, m - 1 :]) < 0.0)
    assert (plan.contract_active[0] <= owned).all()


# --- the compiled kernel against its reference, with deliveries -------------------------


def test_kernel_equals_reference_with_a_delivery_and_tenant_defaults() -> None:
    data = _deal_data(dt.date(2026, 11, 15))
    data["contracts"][0]["annual_pd_pct"] = 30.0  # defaults inside the horizon: downtime
    data["fleet"].append(
        {
            "name": "early",
            "generation": "H100",
            "units": 500,
            "purchase_date": "2025-06-30",
            "unit_cost_usd": UNIT_COST,
            "power_kw_per_gpu": POWER_KW,
        }
    )
    data["fleet"].append(dict(data["fleet"][0], name="later", purchase_date="2027-03-20"))
    deal = make_deal(data)
    plan = plan_fleet(deal, TimeGrid(deal.as_of, N_MONTHS))
    scen = _scenarios(300, N_MONTHS, seed=8)
    scen = dataclasses.replace(
        scen, tenant_uniforms=np.random.default_rng(9).uniform(0.0, 1.0, (300, 1))
    )
    cash = _cash(plan, scen)  # asserts bit-identity
    assert (cash.tenant_default_month <= N_MONTHS).any()
    assert (cash.cohort_value_usd[:, :7, 2] == 0.0).all()  # 'later' arrives in month 8


def test_kernel_equals_reference_on_the_ddtl2_example() -> None:
    model = build_model(make_deal(load_example_data("ddtl2_tiered_structure")))
    inputs = _inputs(model, MonteCarloShocks(5), 0, 300)
    kw = {"buyer_decay_per_year": model.buyer_decay_per_year}
    ref = project_reference(model.plan, inputs.scenarios, **kw)
    _assert_same(project(model.plan, inputs.scenarios, **kw), ref)
    delivered = model.plan.cohort_names.index("h100-ig-delivery")
    # delivered on 2026-09-30, the end of month 2: nothing in months 1-2, full from month 3
    assert (model.plan.cohort_owned_share[delivered, :2] == 0.0).all()
    assert (ref.cohort_value_usd[:, 0, delivered] == 0.0).all()
    assert (ref.cohort_value_usd[:, 1, delivered] > 0.0).any()  # owned at month 2's end
    assert (model.plan.cohort_owned_share[delivered, 2:] == 1.0).all()


# --- validation --------------------------------------------------------------------------


def test_a_contract_may_not_start_before_its_cohort_is_delivered() -> None:
    data = _deal_data(dt.date(2026, 11, 15))
    data["contracts"][0]["start"] = "2026-11-14"
    message = deal_refusal(data)
    assert "contracts[0].start" in message and "2026-11-14" in message
    assert "on or after the delivery of cohort 'late'" in message


def test_a_draw_naming_a_cohort_funds_it_once_delivered() -> None:
    data = load_example_data("ddtl2_tiered_structure")
    data["facilities"][0]["draws"][0]["date"] = "2026-09-29"
    text = yaml.safe_dump(data, sort_keys=False)
    with pytest.raises(SpecError) as info:
        parse_deal(text, source="deal.yaml")
    (issue,) = info.value.issues
    assert issue.field == "facilities[0].draws[0].date"
    assert issue.value == "2026-09-29"
    assert "delivery of cohort 'h100-ig-delivery'" in issue.expected
    assert issue.line is not None and "2026-09-29" in text.splitlines()[issue.line - 1]


def test_a_delivery_must_arrive_before_the_horizon_ends() -> None:
    horizon_end = "2027-07-31"  # 12 months after as_of
    data = _deal_data(dt.date(2026, 11, 15))
    data["fleet"][0]["purchase_date"] = horizon_end
    data["contracts"][0]["start"] = horizon_end
    message = deal_refusal(data)
    assert "fleet[0].purchase_date" in message and horizon_end in message
    assert "before the end of the deal's horizon (2027-07-31" in message
    data["fleet"][0]["purchase_date"] = data["contracts"][0]["start"] = "2027-07-30"
    assert isinstance(parse_deal(yaml.safe_dump(data, sort_keys=False)), DealSpec)


def test_a_draw_on_its_delivery_date_and_a_draw_on_an_old_cohort_are_valid() -> None:
    data = copy.deepcopy(load_example_data("ddtl2_tiered_structure"))
    deal = parse_deal(yaml.safe_dump(data, sort_keys=False))
    draw = deal.facilities[0].draws[0]  # type: ignore[union-attr]
    delivered = next(c for c in deal.fleet if c.name == draw.cohort)
    assert delivered.purchase_date > deal.as_of and draw.date == delivered.purchase_date
    data["facilities"][0]["draws"][0]["cohort"] = "h100-ig"
    data["facilities"][0]["draws"][0]["date"] = "2026-08-15"
    assert isinstance(parse_deal(yaml.safe_dump(data, sort_keys=False)), DealSpec)
