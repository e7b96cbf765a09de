"""The part of a named stress scenario that acts on a built deal or miner model
(``scenarios.named``).

``largest-tenant-default`` needs the fleet plan (who rents what, at which rate), which exists
only once the deal is built; it then runs through the same default code as every tenant: the
tenant's monthly hazard is set so high that it defaults in month 1 on every path.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gpucredit.assets.fleet import FleetPlan
from gpucredit.pipeline.miner_model import MinerModel
from gpucredit.pipeline.model import DealModel
from gpucredit.scenarios.named import FORCED_DEFAULT_HAZARD, NamedScenario

__all__ = [
    "contracted_revenue_by_tenant",
    "largest_lease_tenant",
    "largest_tenant",
    "with_scenario_miner_model",
    "with_scenario_model",
]


def contracted_revenue_by_tenant(plan: FleetPlan) -> dict[str, float]:
    """Each tenant's contracted revenue over the horizon, USD per GPU-hour x GPU-months
    (units x contract rate x months active, summed over its contracts; proportional to USD,
    the hours of a month being the same for every contract)."""
    out: dict[str, float] = {}
    for k in range(int(plan.contract_tenant.size)):
        name = plan.entity_names[int(plan.contract_tenant[k])]
        revenue = float(
            plan.contract_units[k]
            * np.sum(plan.contract_rate_by_month[k] * plan.contract_active[k])
        )
        out[name] = out.get(name, 0.0) + revenue
    return out


def largest_tenant(plan: FleetPlan) -> str | None:
    """The tenant with the most contracted revenue (the first on a tie); None: no contract."""
    revenue = contracted_revenue_by_tenant(plan)
    if not revenue:
        return None
    return max(revenue, key=lambda name: revenue[name])


def with_scenario_model(model: DealModel, scenario: NamedScenario) -> DealModel:
    """``model`` with the scenario's model-level part applied (the same object when none):
    its largest tenant defaulting in month 1 (``FORCED_DEFAULT_HAZARD``)."""
    if not scenario.largest_tenant_default:
        return model
    name = largest_tenant(model.plan)
    if name is None:
        return model
    hazard = np.array(model.plan.entity_monthly_hazard, dtype=np.float64, copy=True)
    hazard[model.plan.entity_names.index(name)] = FORCED_DEFAULT_HAZARD
    plan = dataclasses.replace(model.plan, entity_monthly_hazard=hazard)
    return dataclasses.replace(model, plan=plan)


def largest_lease_tenant(model: MinerModel) -> str | None:
    """The miner's hosting tenant with the most contracted lease payments over the horizon
    (USD, summed over its leases; the first on a tie); None: no hosting lease."""
    leases = model.spec.hosting.leases if model.spec.hosting is not None else []
    revenue: dict[str, float] = {}
    for lease, pay in zip(leases, model.plan.lease_payment_usd, strict=True):
        revenue[lease.tenant] = revenue.get(lease.tenant, 0.0) + float(np.sum(pay))
    if not revenue:
        return None
    return max(revenue, key=lambda name: revenue[name])


def with_scenario_miner_model(model: MinerModel, scenario: NamedScenario) -> MinerModel:
    """``model`` with the scenario's model-level parts applied: its correlations with bitcoin
    (``NamedScenario.convergence``) and, for ``largest-tenant-default``, its largest hosting
    tenant defaulting in month 1 on every lease it holds (``FORCED_DEFAULT_HAZARD``)."""
    out = dataclasses.replace(model, convergence=scenario.convergence(model.convergence))
    if not scenario.largest_tenant_default:
        return out
    name = largest_lease_tenant(model)
    if name is None:
        return out
    assert model.spec.hosting is not None
    hazard = np.array(model.entities.entity_monthly_hazard, dtype=np.float64, copy=True)
    for lease, (tenant, _) in zip(model.spec.hosting.leases, model.lease_entities, strict=True):
        if lease.tenant == name:
            hazard[tenant] = FORCED_DEFAULT_HAZARD
    entities = dataclasses.replace(model.entities, entity_monthly_hazard=hazard)
    return dataclasses.replace(out, entities=entities)
