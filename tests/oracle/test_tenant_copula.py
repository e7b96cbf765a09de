"""Tenant and guarantor default times against closed forms (Monte Carlo within 4 s.e.).

The default month of each entity is drawn through a one-factor Gaussian copula from the
reserved streams (``Component.TENANT_UNIFORMS`` idiosyncratic, ``Component.ENTITY_FACTOR``
systematic). Closed forms:

* marginal, constant regime: ``P(tau <= t) = 1 - exp(-h t)`` (tight), ``1 - exp(-m h t)``
  (glut, ``m`` the stress multiplier);
* a guaranteed lease fails by ``t`` when both companies have defaulted by ``t``:
  ``P = p_T p_G`` for R = 0 and ``P(Z1 < c1, Z2 < c2; R)`` (bivariate normal,
  ``c = Phi^-1(p)``) for R > 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm

from gpucredit.assets.fleet import (
    FleetPlan,
    lease_failure_months,
    plan_fleet,
    project,
    project_reference,
    tenant_default_months,
)
from gpucredit.pipeline import build_model
from gpucredit.scenarios import MonteCarloShocks, StressPath, TimeGrid
from gpucredit.scenarios.scenario import n_factors, simulate_scenarios
from tests.conftest import hand_deal_data, make_deal

N = 200_000
MONTHS = 12
K_SE = 4.0


def _plan(asset_correlation: float, pd_tenant: float = 20.0, pd_guarantor: float = 10.0):  # type: ignore[no-untyped-def]
    data = hand_deal_data()
    contract = dict(
        data["contracts"][0],
        annual_pd_pct=pd_tenant,
        guarantor={"name": "Backstop", "annual_pd_pct": pd_guarantor},
    )
    deal = make_deal(data, contracts=[contract])
    return plan_fleet(deal, TimeGrid(deal.as_of, MONTHS), asset_correlation=asset_correlation)


def _draw(plan: FleetPlan, seed: int, n: int = N) -> tuple[np.ndarray, np.ndarray]:
    shocks = MonteCarloShocks(seed).draw(0, n, MONTHS, 1, plan.n_tenants)
    assert shocks.entity_factor is not None
    return shocks.tenant_uniforms, shocks.entity_factor


def _within(hits: np.ndarray, p: float, what: str) -> None:
    est = float(hits.mean())
    se = math.sqrt(p * (1.0 - p) / hits.size)
    assert abs(est - p) <= K_SE * se, f"{what}: MC {est:.5f} vs closed form {p:.5f} (se {se:.5f})"


@pytest.mark.parametrize("r", [0.0, 0.24, 0.6])
def test_joint_failure_of_a_guaranteed_lease(r: float) -> None:
    plan = _plan(r)
    u, z = _draw(plan, seed=7)
    tau = tenant_default_months(plan, u, np.zeros((N, MONTHS), dtype=np.int8), z)
    fail = lease_failure_months(plan, tau)[:, 0]
    p_t, p_g = 0.20, 0.10  # 12 months of a constant hazard: exactly the annual PDs
    _within(tau[:, 0] <= MONTHS, p_t, "tenant marginal")
    _within(tau[:, 1] <= MONTHS, p_g, "guarantor marginal")
    if r == 0.0:
        joint = p_t * p_g
    else:
        c = [norm.ppf(p_t), norm.ppf(p_g)]
        joint = float(multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, r], [r, 1.0]]).cdf(c))
    _within(fail <= MONTHS, joint, f"joint failure, R={r}")
    # the lease fails in the later of the two months
    both = (tau[:, 0] <= MONTHS) & (tau[:, 1] <= MONTHS)
    assert np.array_equal(fail[both], np.maximum(tau[both, 0], tau[both, 1]))


@pytest.mark.parametrize("regime_value", [0, 1])
def test_marginal_default_by_month_in_a_constant_regime(regime_value: int) -> None:
    plan = _plan(0.24, pd_tenant=30.0)
    u, z = _draw(plan, seed=11)
    regime = np.full((N, MONTHS), regime_value, dtype=np.int8)
    tau = tenant_default_months(plan, u, regime, z)[:, 0]
    h = float(plan.entity_monthly_hazard[0])
    scale = plan.stress_hazard_multiplier if regime_value == 1 else 1.0
    for t in range(1, MONTHS + 1):
        _within(tau <= t, 1.0 - math.exp(-scale * h * t), f"P(tau <= {t}), regime {regime_value}")


def test_defaults_cluster_in_bad_factor_draws() -> None:
    plan = _plan(0.24)
    u, z = _draw(plan, seed=3, n=50_000)
    tau = tenant_default_months(plan, u, None, z)
    defaulted = tau[:, 0] <= MONTHS
    # the systematic factor is low (bad) on paths where the tenant defaulted
    assert z[defaulted].mean() < z[~defaulted].mean() - 0.1


def test_default_months_do_not_depend_on_the_block_split() -> None:
    plan = _plan(0.24)
    u, z = _draw(plan, seed=5, n=700)
    whole = tenant_default_months(plan, u, None, z)
    parts = []
    for lo, hi in ((0, 100), (100, 513), (513, 700)):
        shocks = MonteCarloShocks(5).draw(lo, hi, MONTHS, 1, plan.n_tenants)
        parts.append(
            tenant_default_months(plan, shocks.tenant_uniforms, None, shocks.entity_factor)
        )
    assert np.array_equal(whole, np.concatenate(parts))


def test_stress_path_never_defaults() -> None:
    plan = _plan(0.24, pd_tenant=99.0, pd_guarantor=99.0)
    shocks = StressPath((1,)).draw(0, 3, MONTHS, 1, plan.n_tenants)
    regime = np.ones((3, MONTHS), dtype=np.int8)
    tau = tenant_default_months(plan, shocks.tenant_uniforms, regime, shocks.entity_factor)
    assert np.all(tau == MONTHS + 1)


def _rich_deal() -> Any:
    data = hand_deal_data()
    data["fleet"][0] = dict(data["fleet"][0], units=1000, purchase_date="2025-06-30")
    base = data["contracts"][0]
    contracts = [
        dict(
            base,
            tenant="Neo",
            annual_pd_pct=25.0,
            units=300,
            escalator_pct_per_year=4.0,
            start="2025-09-15",
            end="2029-09-15",
        ),
        dict(
            base,
            tenant="Lab",
            annual_pd_pct=None,
            rating="CCC",
            units=300,
            escalator_pct_per_year=3.0,
            start="2026-03-10",
            end="2028-03-10",
            guarantor={"name": "Google", "rating": "AA", "pd_basis": "point_in_time"},
        ),
        dict(
            base,
            tenant="Neo",
            annual_pd_pct=25.0,
            units=200,
            take_or_pay=False,
            start="2026-10-01",
            end="2028-10-01",
            guarantor={"name": "Lab", "rating": "CCC"},
        ),
    ]
    loan = dict(data["loan"], tenor_months=36)
    return make_deal(data, contracts=contracts, loan=loan, re_lease_downtime_months=2)


def test_projection_with_escalators_and_guarantors_equals_reference() -> None:
    model = build_model(_rich_deal())
    shocks = MonteCarloShocks(13).draw(
        0, 400, model.grid.n_months, n_factors(model.params), model.plan.n_tenants
    )
    scen = simulate_scenarios(model.params, model.grid, shocks)
    kw = {"buyer_decay_per_year": model.buyer_decay_per_year}
    fast = project(model.plan, scen, **kw)
    ref = project_reference(model.plan, scen, **kw)
    for name in fast.__dataclass_fields__:
        a, b = getattr(fast, name), getattr(ref, name)
        if a is None or b is None:  # construction fields, absent without a construction block
            assert a is None and b is None, name
            continue
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    # the branches are exercised: defaults of tenants and of a guarantor, and glut months
    assert (fast.tenant_default_month <= model.grid.n_months).any(axis=0).all()
    assert (scen.regime == 1).any()
    saved = (fast.tenant_default_month[:, 1] <= 36) & (fast.lease_failure_month[:, 1] > 36)
    assert saved.any(), "some lease must be carried by its guarantor"
