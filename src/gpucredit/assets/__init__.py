"""Asset cash flows: the GPU fleet's revenue, opex, CFADS and collateral value."""

from gpucredit.assets.fleet import (
    AssetCashflows,
    FleetPlan,
    gpu_value_usd,
    plan_fleet,
    project,
    tenant_default_months,
)

__all__ = [
    "AssetCashflows",
    "FleetPlan",
    "gpu_value_usd",
    "plan_fleet",
    "project",
    "tenant_default_months",
]
