"""A deal made ready for simulation: run settings, the model of the deal, its pricing measure.

The spec stage of the pipeline (DESIGN.md section 1): ``build_model`` turns a ``DealSpec``
into a ``DealModel`` (grid, factor parameters, fleet plan, debt terms, recovery market) that
every later stage reads; ``RunConfig`` says how to run, never what to model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from gpucredit._typing import Float64Array
from gpucredit.assets.fleet import FleetPlan, plan_fleet, project
from gpucredit.config.growth import expand_growth
from gpucredit.config.loading import spec_hash
from gpucredit.config.spec import DealSpec, PricingSpec
from gpucredit.credit.liquidation import SecondaryMarketRecovery
from gpucredit.credit.lots import CollateralLots, collateral_lots, with_lots
from gpucredit.credit.pricing import default_prices_of_risk
from gpucredit.credit.real_estate import (
    RealEstateTerms,
    stabilised_value_usd,
)
from gpucredit.credit.recovery import RecoveryModel
from gpucredit.credit.spread import SpreadSearch
from gpucredit.debt.capital import BaseCase, structure_terms
from gpucredit.debt.facilities import StructureTerms
from gpucredit.debt.terms import LoanTerms, loan_terms
from gpucredit.engine.runner import default_workers
from gpucredit.factors.defaults import default_factor_params
from gpucredit.factors.options import default_model as default_model_of
from gpucredit.factors.options import with_regime
from gpucredit.factors.params import FactorParams, RegimeParams, UtilisationParams
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.scenarios.measure import MarketPricesOfRisk
from gpucredit.scenarios.scenario import n_factors, simulate_scenarios
from gpucredit.scenarios.shocks import StressPath

Backend = Literal["numba", "numpy"]
#: Units grid of the optimal-liquidation DP: lots of 1/12 of the fleet. A multiple of six, so
#: every named speed is on the grid and the optimum is never below it; on the canonical deal
#: its sale PVs are within 0.5% (0.04% on average) of a 1/60 grid, at a fifth of the cost.
LIQUIDATION_GRID_STEPS = 12


@dataclass(frozen=True, slots=True)
class RunOutputs:
    """Which of ``simulate``'s optional outputs a run computes; the default computes them all.

    A caller that shows only some figures (the main job's stressed columns: each facility's
    PD and Q spread; a tornado: one facility's PD and fair spread) asks for those alone. The
    figures computed are the same, bit for bit, as those of a run that computes everything:
    each facility's spreads are solved on their own, and the extras feed no other figure.

    Attributes
    ----------
    spreads_of : tuple of str, optional
        Names of the facilities (``StructureTerms.names``; the loan's name for a single loan)
        whose fair spreads are solved, under P and Q; the others report theirs as not solved.
        None (default): every facility's.
    extras : bool
        The deterministic extras: the breakeven rent, the deal-level structure report (DSCR,
        LLCR and PLCR fans, recoveries, parent) and the duration mismatch. False: the
        breakeven rent is None (noted as not computed), ``structure`` is None and
        ``duration`` empty. The glut stress and the collateral report are always computed.
    """

    spreads_of: tuple[str, ...] | None = None
    extras: bool = True

    def solves(self, name: str) -> bool:
        """Whether the fair spreads of the facility named ``name`` are solved."""
        return self.spreads_of is None or name in self.spreads_of


#: Every optional output: what ``simulate`` computes when not told otherwise.
ALL_OUTPUTS = RunOutputs()


@dataclass(frozen=True, slots=True)
class RunConfig:
    """How to run: never what to model. Frozen; validated on creation."""

    n_paths: int = 10_000
    seed: int = 0
    block_size: int = 4096
    keep_paths: int = 10_000
    n_workers: int | None = None
    backend: Backend = "numba"
    solve_fair_spread: bool = True
    #: How the fair spread is searched (``credit.spread.solve_spreads``): "full" is the
    #: reference search the default "fast" one is tested against.
    spread_search: SpreadSearch = "fast"
    #: Which optional outputs the run computes (``RunOutputs``; default: all of them).
    outputs: RunOutputs = ALL_OUTPUTS

    def __post_init__(self) -> None:
        if self.n_paths < 1:
            raise ValueError(f"n_paths = {self.n_paths}: expected at least 1")
        if self.block_size < 1:
            raise ValueError(f"block_size = {self.block_size}: expected at least 1")
        if self.keep_paths < 0:
            raise ValueError(f"keep_paths = {self.keep_paths}: expected 0 or more")
        if self.seed < 0:
            raise ValueError(f"seed = {self.seed}: expected a non-negative integer")
        if self.backend not in ("numba", "numpy"):
            raise ValueError(f"backend = {self.backend!r}: expected 'numba' or 'numpy'")
        if self.spread_search not in ("fast", "full"):
            raise ValueError(f"spread_search = {self.spread_search!r}: expected 'fast' or 'full'")

    @property
    def workers(self) -> int:
        return self.n_workers if self.n_workers is not None else default_workers()


@dataclass(frozen=True, slots=True)
class DealModel:
    """A deal made ready for simulation: its grid, parameters and fixed arrays."""

    deal: DealSpec
    grid: TimeGrid
    params: FactorParams
    plan: FleetPlan
    terms: LoanTerms
    market: SecondaryMarketRecovery
    recovery: RecoveryModel
    buyer_decay_per_year: dict[str, float]
    spec_hash: str
    #: A deal with ``facilities``: all of them and their waterfall (``terms`` is then the first
    #: facility's loan, kept for the stages every deal shares); None for a single ``loan``.
    structure: StructureTerms | None = None
    #: Market prices of risk of the pricing measure Q (``scenarios.measure``); all zero: Q = P.
    pricing: MarketPricesOfRisk = field(default_factory=MarketPricesOfRisk)
    #: Real estate pledged beside the fleet (``deal.real_estate``; structures only).
    real_estate: tuple[RealEstateTerms, ...] = ()
    #: The cohorts split by the contracts pledged to facilities (``credit.lots``); the
    #: structure's pools then hold lot indices. None: no facility is secured by contracts.
    lots: CollateralLots | None = None

    def collateral_values(self, cohort_value_usd: Float64Array) -> Float64Array:
        """What the structure engines see on their collateral axis: the cohorts' values, or
        the lots' when the deal has lots, USD, (..., cohort) -> (..., cohort or lot)."""
        return cohort_value_usd if self.lots is None else self.lots.values(cohort_value_usd)

    @property
    def monthly_drift(self) -> Float64Array:
        """Buyer's trend decline of each cohort's value, log per month, shape (cohort,)."""
        return np.array([self.buyer_decay_per_year[g] / 12.0 for g in self.plan.cohort_generation])

    @property
    def primary_generation(self) -> str:
        """The generation with the most units."""
        units: dict[str, int] = {}
        for cohort in self.deal.fleet:
            units[cohort.generation] = units.get(cohort.generation, 0) + cohort.units
        return max(units, key=lambda g: units[g])


def build_model(
    deal: DealSpec,
    params: FactorParams | None = None,
    recovery: RecoveryModel | None = None,
    pricing: MarketPricesOfRisk | None = None,
) -> DealModel:
    """Prepare ``deal``.

    ``params`` defaults to the sourced first-version parameters; ``recovery`` to the sale of
    the GPUs into their secondary market (``market``, which also gives the realisable LTV).
    The deal's ``regime`` section overrides the regime chain of ``params`` and its
    ``default_model`` section the glut hazard multiplier and the asset correlation
    (``factors.options``). ``pricing`` defaults to the deal's ``pricing`` section over the
    calibrated market prices of risk (``resolve_pricing``).
    """
    deal = expand_growth(deal)  # a growing borrower in the engine's primitives
    generations = tuple(dict.fromkeys(c.generation for c in deal.fleet))
    if params is None:
        params = default_factor_params(generations, deal.as_of)
    util = params.utilisation
    params = dataclasses.replace(
        params,
        utilisation=UtilisationParams(
            mean_tight=deal.merchant.utilisation_tight
            if deal.merchant.utilisation_tight is not None
            else util.mean_tight,
            mean_glut=deal.merchant.utilisation_glut
            if deal.merchant.utilisation_glut is not None
            else util.mean_glut,
            kappa_per_year=util.kappa_per_year,
            sigma=util.sigma,
        ),
    )
    params = with_regime(params, deal.regime)
    companies = default_model_of(deal.default_model)
    grid = TimeGrid(deal.as_of, deal.horizon_months)
    plan = plan_fleet(
        deal,
        grid,
        regime=params.regime,
        asset_correlation=companies.asset_correlation,
        stress_multiplier=companies.stress_hazard_multiplier,
    )
    decay = {r.generation: r.buyer_decay_per_year for r in params.rents}
    market = SecondaryMarketRecovery.for_cohorts(
        generations=plan.cohort_generation,
        units=list(plan.cohort_units),
        carry_usd_per_unit_month=list(plan.opex_per_gpu_usd),
        monthly_drift=[decay[g] / 12.0 for g in plan.cohort_generation],  # as DealModel's
        as_of=deal.as_of,
        sale_speed=deal.recovery.sale_speed,
        horizon_months=deal.recovery.horizon_months,
        condition=deal.recovery.condition,
        grid_steps=LIQUIDATION_GRID_STEPS,
    )
    structure: StructureTerms | None = None
    if deal.loan is not None:
        terms = loan_terms(deal.loan)
    else:
        base_shocks = StressPath().draw(
            0, 1, grid.n_months, n_factors(params), plan.n_tenants, plan.n_parent_draws
        )
        base_scen = simulate_scenarios(params, grid, base_shocks)
        base_cash = project(plan, base_scen, buyer_decay_per_year=decay)
        structure = structure_terms(deal, grid, BaseCase(base_cash.cfads_usd[0], base_scen.sofr[0]))
        structure = with_real_estate(structure, real_estate_terms(deal))
        terms = structure.facilities[0].loan
    lots = collateral_lots(deal) if structure is not None else None
    if structure is not None and lots is not None:
        structure = with_lots(structure, deal, lots)
    return DealModel(
        deal=deal,
        grid=grid,
        params=params,
        plan=plan,
        terms=terms,
        structure=structure,
        market=market,
        recovery=market if recovery is None else recovery,
        buyer_decay_per_year=decay,
        spec_hash=spec_hash(deal),
        pricing=resolve_pricing(
            pricing,
            deal.as_of,
            deal.pricing,
            params.regime,
            plan.stress_hazard_multiplier,
            plan.asset_correlation,
        ),
        real_estate=real_estate_terms(deal),
        lots=lots,
    )


def with_real_estate(
    structure: StructureTerms, items: tuple[RealEstateTerms, ...]
) -> StructureTerms:
    """``structure`` with each facility's pledged real estate at its stabilised value in the
    value of its pool (``FacilityTerms.real_estate_value_usd``): what a lender refinancing it
    or testing its LTV appraises; the recovery at default is the liquidation value."""
    if not items:
        return structure
    facilities = list(structure.facilities)
    for k, f in enumerate(facilities):
        value = sum(item.stabilised_value_usd for item in items if k in item.secures)
        if value:
            facilities[k] = dataclasses.replace(f, real_estate_value_usd=value)
    return dataclasses.replace(structure, facilities=tuple(facilities))


def real_estate_terms(deal: DealSpec) -> tuple[RealEstateTerms, ...]:
    """The deal's ``real_estate`` in engine units: each item's stabilised value at its rent
    (the deal's colocation rent when it gives none) and the facilities it secures by index."""
    names = list(deal.facility_names)
    out: list[RealEstateTerms] = []
    for item in deal.real_estate:
        rent = item.rent_usd_per_kw_month
        if rent is None:
            rent = deal.opex.colocation_usd_per_kw_month
        out.append(
            RealEstateTerms(
                name=item.name,
                stabilised_value_usd=stabilised_value_usd(
                    item.it_capacity_mw, rent, item.cap_rate_pct / 100.0
                ),
                land_value_usd=item.land_value_usd,
                haircut=item.haircut_pct / 100.0,
                liquidation_months=item.liquidation_months,
                secures=tuple(names.index(n) for n in item.secures),
            )
        )
    return tuple(out)


def resolve_pricing(
    pricing: MarketPricesOfRisk | None,
    as_of: dt.date,
    section: PricingSpec | None,
    regime: RegimeParams,
    stress_hazard_multiplier: float,
    asset_correlation: float,
) -> MarketPricesOfRisk:
    """The market prices of risk of a run (a deal's or a miner's): ``pricing`` if given, else
    the ones calibrated on ``as_of`` for the run's regime chain and default model (glut
    hazard multiplier, asset correlation; ``credit.pricing``) with the spec's ``pricing``
    ``section``'s entries in their place."""
    if pricing is not None:
        return pricing
    base = default_prices_of_risk(as_of, regime, stress_hazard_multiplier, asset_correlation)
    if section is None:
        return base
    changes = {k: v for k, v in section.model_dump().items() if v is not None}
    return dataclasses.replace(base, **changes)


def step_labels(model: DealModel) -> tuple[str, ...]:
    """Readable labels of the structure's steps (``interest:DDTL``)."""
    assert model.structure is not None
    names = model.structure.names
    return tuple(
        s.kind if s.facility < 0 else f"{s.kind}:{names[s.facility]}" for s in model.structure.steps
    )
