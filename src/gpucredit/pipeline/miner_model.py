"""A miner made ready for simulation: its grid, GPU and miner-market parameters, collateral
(the ASIC market and the hosting leases), hosting tenants and debt terms.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from gpucredit._typing import Float64Array
from gpucredit.assets.fleet import FleetPlan, plan_fleet
from gpucredit.assets.hazards import PdBasis, tight_regime_hazard
from gpucredit.assets.miner import MinerPlan, calibrate_asic_buyer, plan_miner
from gpucredit.config.miner import MINER_POOLS, MinerSpec
from gpucredit.config.spec import BorrowerSpec, DealSpec
from gpucredit.credit.liquidation import (
    ASIC_GENERATION,
    CohortCollateral,
    SecondaryMarket,
    SecondaryMarketRecovery,
    asic_market_params,
)
from gpucredit.credit.recovery import DefaultState, RecoveryResult
from gpucredit.debt.capital import build_structure
from gpucredit.debt.facilities import StructureTerms
from gpucredit.debt.margin_loan import MarginLoanTerms, margin_loan_terms
from gpucredit.factors.defaults import default_factor_params
from gpucredit.factors.miner_params import (
    ConvergenceParams,
    MinerMarketParams,
    convergence_params,
    miner_market_params,
)
from gpucredit.factors.options import default_model as default_model_of
from gpucredit.factors.options import with_regime
from gpucredit.factors.parameter_source import MINER_GPU_GENERATION
from gpucredit.factors.params import FactorParams
from gpucredit.pipeline.model import resolve_pricing
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.scenarios.measure import MarketPricesOfRisk

#: Factor groups of the attribution, each frozen at its median path in turn.
FACTOR_GROUPS = ("bitcoin", "network", "gpu_rent", "rates")

#: Units of one rig for the ASIC market (the liquidation module's S21, 200 TH/s).
RIG_TH_S = 200.0

#: ASSUMPTION: cost of assigning a hosting lease to a new owner at default (legal, transfer),
#: share of the lease's value; the lease itself is not sold into a market.
LEASE_ASSIGNMENT_COST = 0.05


@dataclass(frozen=True, slots=True)
class EntityRisk:
    """The hosting tenants and guarantors as ``assets.fleet.tenant_default_months`` needs them."""

    n_months: int
    entity_monthly_hazard: Float64Array
    stress_hazard_multiplier: float
    asset_correlation: float

    @property
    def n_entities(self) -> int:
        return int(self.entity_monthly_hazard.size)


@dataclass(frozen=True, slots=True)
class MinerRecovery:
    """Recovery of a miner's collateral: the rigs sold into the ASIC market (price impact
    against its absorption, ``credit.liquidation``), hosting leases assigned at their value
    less ``LEASE_ASSIGNMENT_COST``, plus pledged cash. Collateral axis: (asics, hosting)."""

    asics: SecondaryMarketRecovery
    #: The miner's own GPUs (``gpu_fleet``), sold as one lot into their secondary market
    #: exactly as a GPU deal's (collateral axis (asics, hosting, gpus)); None: no GPU fleet.
    gpus: SecondaryMarketRecovery | None = None

    def recover(self, state: DefaultState) -> RecoveryResult:
        values = np.asarray(state.cohort_value_usd, dtype=np.float64)
        asic_state = dataclasses.replace(state, cohort_value_usd=values[:, :1])
        rec = self.asics.recover(asic_state)
        lease = values[:, 1] * (1.0 - LEASE_ASSIGNMENT_COST) if values.shape[1] > 1 else 0.0
        if self.gpus is not None and values.shape[1] > 2:
            gpu_state = dataclasses.replace(
                state, cohort_value_usd=values[:, 2:3], pledged_cash_usd=np.zeros(values.shape[0])
            )
            lease = lease + self.gpus.recover(gpu_state).proceeds_usd
        proceeds = np.minimum(rec.proceeds_usd + lease, np.asarray(state.ead_usd, dtype=np.float64))
        return dataclasses.replace(rec, proceeds_usd=np.asarray(proceeds, dtype=np.float64))


@dataclass(frozen=True, slots=True)
class MinerModel:
    """A miner made ready for simulation."""

    spec: MinerSpec
    grid: TimeGrid
    params: FactorParams
    plan: MinerPlan
    market: MinerMarketParams
    convergence: ConvergenceParams
    structure: StructureTerms | None
    margin: MarginLoanTerms | None
    recovery: MinerRecovery
    entities: EntityRisk
    lease_entities: tuple[tuple[int, int], ...]  # (tenant, guarantor or -1) per lease
    #: Market prices of risk of the pricing measure Q (``scenarios.measure``); zero: Q = P.
    pricing: MarketPricesOfRisk = field(default_factory=MarketPricesOfRisk)
    #: The miner's own GPU fleet (``gpu_fleet``) planned by ``assets.fleet.plan_fleet``; None:
    #: no GPU fleet (the miner's numbers are then exactly those without the section).
    fleet: FleetPlan | None = None
    #: Buyers' yearly decay of GPU rents by generation (``project``'s income approach).
    buyer_decay_per_year: dict[str, float] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        out = list(self.structure.names) if self.structure is not None else []
        if self.margin is not None:
            out.append(self.margin.name)
        return tuple(out)

    def with_convergence(self, enabled: bool) -> MinerModel:
        conv = self.convergence if enabled else self.convergence.switched_off()
        return dataclasses.replace(self, convergence=conv)

    def with_stress_correlation(self, rho: float) -> MinerModel:
        """The same miner with convergence on towards the BTC-rent correlation ``rho`` in
        stress (a point of the premium curve)."""
        conv = dataclasses.replace(self.convergence, stress_correlation=rho, enabled=True)
        return dataclasses.replace(self, convergence=conv)

    @property
    def pool_names(self) -> tuple[str, ...]:
        """The collateral axis of the debt program's values."""
        return ("asics", "hosting") if self.fleet is None else ("asics", "hosting", "gpus")


def build_miner_model(
    spec: MinerSpec,
    params: FactorParams | None = None,
    market: MinerMarketParams | None = None,
    pricing: MarketPricesOfRisk | None = None,
) -> MinerModel:
    """Prepare ``spec``: grid, GPU and miner-market parameters, collateral and debt terms.

    The miner's ``regime`` section overrides the regime chain of ``params`` and its
    ``default_model`` section the hosting tenants' glut hazard multiplier and asset
    correlation (``factors.options``).

    ``pricing``: the market prices of risk of Q; default the spec's ``pricing`` section over
    the calibrated ones (``credit.pricing.default_prices_of_risk``)."""
    grid = TimeGrid(spec.as_of, spec.horizon_months)
    if params is None:
        params = default_factor_params((MINER_GPU_GENERATION,), spec.as_of, rent_prior=True)
    params = with_regime(params, spec.regime)
    companies = default_model_of(spec.default_model)
    plan = plan_miner(spec, grid)
    market = market or miner_market_params(spec.as_of)
    conv = spec.convergence
    convergence = convergence_params(
        spec.as_of,
        stress_correlation=conv.stress_correlation,
        enabled=conv.enabled,
        copula=conv.copula,
        dof=conv.dof,
        gpu_correlation=params.correlation,
    )
    structure = (
        build_structure(
            spec.facilities,
            spec.waterfall,
            spec.borrower,
            pool_names=("asics", "hosting") if spec.gpu_fleet is None else MINER_POOLS,
            grid=grid,
        )
        if spec.facilities
        else None
    )
    margin = margin_loan_terms(spec.margin_loan) if spec.margin_loan is not None else None
    th = spec.mining.hashrate_eh_s * 1e6
    rigs = th / RIG_TH_S
    carry = plan.power_cost_usd_per_th_day * 30.4375 * RIG_TH_S
    drift = calibrate_asic_buyer(spec.as_of).hashrate_drift_per_month  # hashprice per TH falls
    asics = SecondaryMarketRecovery(
        cohorts=(CohortCollateral(ASIC_GENERATION, rigs, carry, drift),),
        markets=(SecondaryMarket.for_asic(spec.as_of, asic_market_params()),),
        sale_speed=spec.recovery.sale_speed,
        horizon_months=spec.recovery.horizon_months,
        grid_steps=12,
    )
    hazards: list[float] = []
    links: list[tuple[int, int]] = []
    multiplier = companies.stress_hazard_multiplier

    def hazard(annual_pd: float, basis: PdBasis) -> float:
        # the hosting tenants' glut is the GPU market's (their copula factor is its rent shock)
        return tight_regime_hazard(
            annual_pd, basis, multiplier=multiplier, regime=params.regime, n_months=grid.n_months
        )

    leases = spec.hosting.leases if spec.hosting is not None else []
    for lease, tenant_pd, guarantor_pd in zip(
        leases,
        plan.lease_tenant_annual_pd.tolist(),
        plan.lease_guarantor_annual_pd.tolist(),
        strict=True,
    ):
        hazards.append(hazard(tenant_pd, lease.pd_basis))
        t = len(hazards) - 1
        g = -1
        if lease.guarantor is not None:
            hazards.append(hazard(guarantor_pd, lease.guarantor.pd_basis))
            g = len(hazards) - 1
        links.append((t, g))
    fleet, gpus, decay = _gpu_fleet(spec, grid, params, companies.asset_correlation, multiplier)
    entities = EntityRisk(
        n_months=grid.n_months,
        entity_monthly_hazard=np.array(hazards, dtype=np.float64),
        stress_hazard_multiplier=multiplier,
        asset_correlation=companies.asset_correlation,
    )
    return MinerModel(
        spec=spec,
        grid=grid,
        params=params,
        plan=plan,
        market=market,
        convergence=convergence,
        structure=structure,
        margin=margin,
        recovery=MinerRecovery(asics, gpus),
        entities=entities,
        lease_entities=tuple(links),
        pricing=resolve_pricing(
            pricing,
            spec.as_of,
            spec.pricing,
            params.regime,
            entities.stress_hazard_multiplier,
            entities.asset_correlation,
        ),
        fleet=fleet,
        buyer_decay_per_year=decay,
    )


def _gpu_fleet(
    spec: MinerSpec,
    grid: TimeGrid,
    params: FactorParams,
    asset_correlation: float,
    stress_multiplier: float,
) -> tuple[FleetPlan | None, SecondaryMarketRecovery | None, dict[str, float]]:
    """The miner's own GPU fleet planned by the GPU deals' fleet model (``plan_fleet``) on the
    miner's grid, regime and default model, and its recovery: the GPUs sold as one lot into
    their secondary market (all cohorts are one generation: the lot's carry is the
    unit-weighted mean of the cohorts' opex, as ``SecondaryMarketRecovery`` pools them)."""
    gpu = spec.gpu_fleet
    if gpu is None:
        return None, None, {}
    # the deal-level fields plan_fleet reads; the miner's debt is not a DealSpec's
    deal = DealSpec.model_construct(
        name=spec.name,
        as_of=spec.as_of,
        borrower=spec.borrower or BorrowerSpec(name=spec.name),
        fleet=gpu.fleet,
        contracts=gpu.contracts,
        merchant=gpu.merchant,
        opex=gpu.opex,
        recovery=spec.recovery,
        re_lease_downtime_months=gpu.re_lease_downtime_months,
    )
    plan = plan_fleet(
        deal,
        grid,
        regime=params.regime,
        asset_correlation=asset_correlation,
        stress_multiplier=stress_multiplier,
    )
    decay = {r.generation: r.buyer_decay_per_year for r in params.rents}
    units = float(plan.cohort_units.sum())
    carry = float((plan.cohort_units * plan.opex_per_gpu_usd).sum() / units) if units > 0 else 0.0
    generation = plan.cohort_generation[0]
    recovery = SecondaryMarketRecovery.for_cohorts(
        generations=(generation,),
        units=[units],
        carry_usd_per_unit_month=[carry],
        monthly_drift=[decay[generation] / 12.0],
        as_of=spec.as_of,
        sale_speed=spec.recovery.sale_speed,
        horizon_months=spec.recovery.horizon_months,
        condition=spec.recovery.condition,
        grid_steps=12,
    )
    return plan, recovery, decay
