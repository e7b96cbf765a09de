"""Construction and completion risk by hand: a certain delay of k months plays the schedule k
months late, a long-stop date terminates the lease, a cash-funded overrun is one month's
cost, and capitalised interest during construction compounds the balance month by month.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import numpy as np
import pytest

from gpucredit.assets.fleet import (
    AssetCashflows,
    ConstructionDraws,
    FleetPlan,
    construction_draws,
    plan_fleet,
    project,
    project_reference,
)
from gpucredit.debt.engine import run_structure_compiled
from gpucredit.debt.structure import run_structure
from gpucredit.pipeline import build_model
from gpucredit.pipeline.construction import pik_end_months
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.scenarios.scenario import ScenarioSet
from tests.conftest import make_deal

AS_OF = dt.date(2026, 7, 31)
DELIVERY = dt.date(2026, 9, 30)  # month 2's last day: owned at its end, earning from month 3
N_MONTHS = 24
UNITS, UNIT_COST, RATE = 1000, 30000.0, 2.0
DECAY = {"H100": 0.25}
CASH_FIELDS = (
    "revenue_usd",
    "contracted_revenue_usd",
    "merchant_revenue_usd",
    "opex_usd",
    "cfads_usd",
    "cohort_value_usd",
    "collateral_value_usd",
)


def deal_data(construction: dict[str, Any] | None = None, longstop: str | None = None) -> Any:
    """One H100 cohort delivered on 2026-09-30, all let take-or-pay from that day to a tenant
    that never defaults; one bullet note with monthly coupons."""
    cohort: dict[str, Any] = {
        "name": "hall",
        "generation": "H100",
        "units": UNITS,
        "purchase_date": DELIVERY.isoformat(),
        "unit_cost_usd": UNIT_COST,
        "power_kw_per_gpu": 1.0,
    }
    if construction is not None:
        cohort["construction"] = construction
    contract: dict[str, Any] = {
        "tenant": "T",
        "annual_pd_pct": 0.0,
        "cohort": "hall",
        "units": UNITS,
        "rate_usd_per_gpu_hour": RATE,
        "start": DELIVERY.isoformat(),
        "end": "2029-09-30",
    }
    if longstop is not None:
        contract["longstop_date"] = longstop
    return {
        "name": "construction",
        "as_of": AS_OF.isoformat(),
        "borrower": {"name": "Hall SPV"},
        "fleet": [cohort],
        "contracts": [contract],
        "opex": {
            "power_price_usd_per_mwh": 100.0,
            "pue": 1.5,
            "colocation_usd_per_kw_month": 100.0,
            "sga_share_of_revenue": 0.05,
        },
        "facilities": [
            {
                "name": "notes",
                "kind": "notes",
                "rate": {"kind": "fixed", "coupon_pct": 12.0},
                "principal_usd": 1.0e7,
                "tenor_months": N_MONTHS,
                "coupon_frequency": "monthly",
                "interest_during_construction": "capitalised",
            }
        ],
    }


def flat_scenarios(n_paths: int) -> ScenarioSet:
    """Constant rent and utilisation: a cohort's cash flows depend only on its own age."""
    return ScenarioSet(
        generations=("H100",),
        regime=np.zeros((n_paths, N_MONTHS), dtype=np.int8),
        rent=np.full((n_paths, N_MONTHS, 1), 2.5),
        utilisation=np.full((n_paths, N_MONTHS), 0.7),
        sofr=np.full((n_paths, N_MONTHS), 0.04),
        tenant_uniforms=np.full((n_paths, 1), 0.5),
        entity_factor=None,
    )


def cash_of(plan: FleetPlan, scen: ScenarioSet, draws: ConstructionDraws | None) -> AssetCashflows:
    """The compiled projection, checked field by field against the NumPy reference."""
    fast = project(plan, scen, buyer_decay_per_year=DECAY, construction=draws)
    ref = project_reference(plan, scen, buyer_decay_per_year=DECAY, construction=draws)
    for name in (*CASH_FIELDS, "lease_failure_month"):
        a, b = getattr(fast, name), getattr(ref, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    return fast


def certain(
    plan: FleetPlan, n_paths: int, months: int, overrun_usd: float = 0.0
) -> ConstructionDraws:
    return ConstructionDraws(
        np.full((n_paths, 1), months, dtype=np.int64), np.full((n_paths, 1), overrun_usd)
    )


@pytest.mark.parametrize("k", [1, 3, 7])
def test_a_certain_delay_of_k_months_shifts_every_cash_flow_by_k_months_exactly(k: int) -> None:
    deal = make_deal(deal_data({"delay_months": {"probabilities": {k: 1.0}}}))
    plan = plan_fleet(deal, TimeGrid(deal.as_of, N_MONTHS))
    scen = flat_scenarios(4)
    on_time = cash_of(plan, scen, None)
    late = cash_of(plan, scen, certain(plan, 4, k))
    assert (on_time.contracted_revenue_usd[:, :2] == 0.0).all()
    assert (on_time.contracted_revenue_usd[:, 2] > 0.0).all()  # earning from month 3
    for name in ("revenue_usd", "contracted_revenue_usd", "merchant_revenue_usd", "opex_usd"):
        a, b = getattr(on_time, name), getattr(late, name)
        assert np.array_equal(b[:, k:], a[:, : N_MONTHS - k]), name  # exactly k months later
        assert (b[:, : 2 + k] == 0.0).all(), name  # nothing before the late delivery
    assert np.array_equal(late.cfads_usd[:, k:], on_time.cfads_usd[:, : N_MONTHS - k])
    # the GPUs are bought on schedule and wait for their hall: owned, ageing and valued on
    # the calendar whatever the delay
    assert np.array_equal(late.cohort_value_usd, on_time.cohort_value_usd)
    assert (late.cohort_value_usd[:, 1:] > 0.0).all()


def test_a_delivery_after_the_long_stop_date_terminates_the_lease() -> None:
    # long-stop 2026-12-31: a 3-month delay delivers on 2026-12-30 (kept), 4 months on
    # 2027-01-30 (terminated: the units earn the merchant rent from delivery)
    deal = make_deal(
        deal_data({"delay_months": {"probabilities": {3: 0.5, 4: 0.5}}}, longstop="2026-12-31")
    )
    plan = plan_fleet(deal, TimeGrid(deal.as_of, N_MONTHS))
    assert plan.construction is not None
    assert plan.construction.contract_max_delay.tolist() == [3]
    scen = flat_scenarios(2)
    draws = ConstructionDraws(np.array([[3], [4]], dtype=np.int64), np.zeros((2, 1)))
    cash = cash_of(plan, scen, draws)
    assert cash.terminated is not None and cash.terminated[:, 0].tolist() == [False, True]
    assert cash.lease_failure_month[1, 0] == 0
    assert (cash.contracted_revenue_usd[1] == 0.0).all()
    delivered = 2 + 4  # month 7 (0-based 6) on the terminated path
    merchant = UNITS * 2.5 * deal.merchant.price_factor * 0.7 * 730.0
    # a few roundings in a different order of the same products
    np.testing.assert_allclose(cash.merchant_revenue_usd[1, delivered:], merchant, rtol=1e-13)
    assert (cash.merchant_revenue_usd[0] == 0.0).all()  # the kept lease takes every unit


def test_an_overrun_funded_by_project_cash_is_one_months_cost_in_the_delivery_month() -> None:
    build = {
        "delay_months": {"probabilities": {2: 1.0}},
        "cost_overrun_pct": {"probabilities": {10: 1.0}},
        "overrun_funded_by": "project_cash",
    }
    deal = make_deal(deal_data(build))
    plan = plan_fleet(deal, TimeGrid(deal.as_of, N_MONTHS))
    scen = flat_scenarios(3)
    draws = construction_draws(plan, seed=5, start=0, stop=3)
    overrun = 0.10 * UNITS * UNIT_COST
    assert np.array_equal(draws.delay_months, np.full((3, 1), 2))
    # 10 / 100 x cost against 0.10 x cost: one rounding
    np.testing.assert_allclose(draws.overrun_usd, overrun, rtol=1e-15)
    base = cash_of(plan, scen, certain(plan, 3, 2))
    charged = cash_of(plan, scen, draws)
    month = 2 + 2  # first earning month 3 on schedule, 5 two months late (0-based 4)
    # the same sum: one rounding at most
    np.testing.assert_allclose(
        charged.opex_usd[:, month], base.opex_usd[:, month] + overrun, rtol=1e-15
    )
    # (revenue - opex) - overrun against revenue - (opex + overrun): cancellation of 1e6 sums
    np.testing.assert_allclose(
        charged.cfads_usd[:, month], base.cfads_usd[:, month] - overrun, rtol=1e-12
    )
    others = np.arange(N_MONTHS) != month
    assert np.array_equal(charged.cfads_usd[:, others], base.cfads_usd[:, others])
    # funded by the sponsor: reported, the cash flows untouched
    sponsor = make_deal(deal_data({**build, "overrun_funded_by": "sponsor_equity"}))
    plan_s = plan_fleet(sponsor, TimeGrid(sponsor.as_of, N_MONTHS))
    assert np.array_equal(cash_of(plan_s, scen, draws).cfads_usd, base.cfads_usd)


@pytest.mark.parametrize("k", [0, 4])
def test_capitalised_interest_compounds_the_balance_until_the_delivery_month(k: int) -> None:
    model = build_model(make_deal(deal_data({"delay_months": {"probabilities": {k: 1.0}}})))
    assert model.structure is not None
    n_paths = 2
    delay = np.full((n_paths, 1), k, dtype=np.int64)
    pik = pik_end_months(model, delay, n_paths)
    assert pik is not None and (pik == 3 + k).all()  # first earning month 3 + k
    cfads = np.full((n_paths, N_MONTHS), 1e9)  # always enough cash: nothing defaults
    value = np.full((n_paths, N_MONTHS, 1), 1e9)
    sofr = np.full((n_paths, N_MONTHS), 0.04)
    i = 0.12 / 12.0
    # by hand: months 1 .. 2 + k add the month's interest to the balance; from the first
    # earning month on the interest is paid on the grown balance
    balance = 1.0e7
    for _ in range(2 + k):
        balance = balance + balance * i
    for engine in (run_structure, run_structure_compiled):
        ledger = engine(model.structure, cfads, value, sofr, pik_end_month=pik)
        f = ledger.facilities[0]
        assert (f.interest_paid[:, : 2 + k] == 0.0).all()
        assert f.balance[0, 1 + k] == balance  # same operations: exact
        # the interest of the month: one product, rounded once either way
        np.testing.assert_allclose(f.interest_paid[:, 2 + k], balance * i, rtol=1e-15)
        np.testing.assert_allclose(f.balance[:, N_MONTHS - 2], balance, rtol=1e-15)


def test_paid_interest_during_construction_asks_the_engines_for_nothing() -> None:
    data = deal_data({"delay_months": {"probabilities": {2: 1.0}}})
    paid = copy.deepcopy(data)
    paid["facilities"][0]["interest_during_construction"] = "paid"
    model = build_model(make_deal(paid))
    assert pik_end_months(model, None, 3) is None
