"""The only module that wires the stages (DESIGN.md section 1).

``deal spec -> factor params -> scenario paths -> asset cash flows -> waterfall -> credit
outcomes -> streaming metrics``, block by block; then the fair spread is solved on the same
paths and the breakeven rent on a deterministic path through the same code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy.optimize import brentq

from gpucredit._progress import (
    ProgressArg,
    ProgressCallback,
    accepts_progress_bar,
    block_ticker,
)
from gpucredit._typing import Float64Array, Int64Array
from gpucredit._version import __version__
from gpucredit.assets.concentration import customer_concentration
from gpucredit.assets.fleet import AssetCashflows, FleetPlan, plan_fleet, project
from gpucredit.config.loading import spec_hash
from gpucredit.config.spec import DealSpec, DefaultModelSpec, RegimeSpec
from gpucredit.credit.allocation import evaluate_structure
from gpucredit.credit.collateral import (
    CollateralAccumulator,
    CollateralReport,
    book_value_usd,
    summarise_collateral,
)
from gpucredit.credit.contracts import assigned_contract_uplift
from gpucredit.credit.duration import (
    DurationMismatch,
    ValueFan,
    contract_schedule,
    duration_columns,
    duration_frame,
    duration_of,
    facility_mismatches,
)
from gpucredit.credit.liquidation import (
    MarketDefaultState,
    MemoisedRecovery,
    SecondaryMarketRecovery,
)
from gpucredit.credit.metrics import (
    CREDIT_LEDGER_FIELDS,
    DSCR_EDGES,
    MAX_TARGET_PATHS,
    USD_RESOLUTION,
    CreditAccumulator,
    FacilityMetrics,
    check_target,
    default_kind_record,
    run_to_target,
    summarise,
)
from gpucredit.credit.outcomes import CreditOutcomes, ExtraCollateral, evaluate
from gpucredit.credit.pricing import default_prices_of_risk, with_pricing_measure
from gpucredit.credit.recovery import RecoveryModel
from gpucredit.credit.spread import (
    PathValues,
    SpreadSearch,
    SpreadSolution,
    WeightedMean,
    fair_spread_terms,
    solve_spreads,
    spread_figures,
    weighted_fair_spread_terms,
    with_standard_error,
)
from gpucredit.debt.capital import BaseCase, structure_terms
from gpucredit.debt.engine import run_loan, run_structure_compiled
from gpucredit.debt.facilities import FacilityTerms, StructureTerms
from gpucredit.debt.ledger import DEFAULT_KINDS, DebtLedger
from gpucredit.debt.sculpting import cover_ratio
from gpucredit.debt.structure import StructureLedger, run_structure
from gpucredit.debt.terms import LoanTerms, loan_terms
from gpucredit.engine.runner import (
    CACHE_LIMIT_PATH_MONTHS,
    block_ranges,
    default_workers,
    run_blocks,
)
from gpucredit.factors.defaults import default_factor_params
from gpucredit.factors.options import default_model as default_model_of
from gpucredit.factors.options import default_model_record, with_options, with_regime
from gpucredit.factors.parameter_source import DEFAULT_CALIBRATION, check_as_of
from gpucredit.factors.parameter_source import resolve as resolve_parameters
from gpucredit.factors.params import GLUT, FactorParams, UtilisationParams
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.scenarios.measure import MarketPricesOfRisk, pricing_log_weights
from gpucredit.scenarios.scenario import ScenarioSet, n_factors, simulate_scenarios
from gpucredit.scenarios.shocks import MonteCarloShocks, ShockSource, StressPath
from gpucredit.stats import ExactSum, MonthlyHistogram

__all__ = [
    "DealModel",
    "RunConfig",
    "SimulationResult",
    "StressOutcome",
    "StructureReport",
    "breakeven_rent",
    "build_model",
    "glut_stress",
    "run_deterministic",
    "simulate",
    "simulate_structure",
]

Backend = Literal["numba", "numpy"]
#: Units grid of the optimal-liquidation DP: lots of 1/12 of the fleet. A multiple of six, so
#: every named speed is on the grid and the optimum is never below it; on the canonical deal
#: its sale PVs are within 0.5% (0.04% on average) of a 1/60 grid, at a fifth of the cost.
LIQUIDATION_GRID_STEPS = 12
#: CFADS and collateral value standing in for "never short of cash" in the promised-cash-flow
#: run (USD; finite so that no infinity enters the arithmetic).
UNLIMITED_USD = 1e18
RATIO_RESOLUTION = 1e-12


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
        base_shocks = StressPath().draw(0, 1, grid.n_months, n_factors(params), plan.n_tenants)
        base_scen = simulate_scenarios(params, grid, base_shocks)
        base_cash = project(plan, base_scen, buyer_decay_per_year=decay)
        structure = structure_terms(deal, grid, BaseCase(base_cash.cfads_usd[0], base_scen.sofr[0]))
        terms = structure.facilities[0].loan
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
        pricing=resolve_pricing(deal, pricing, params, plan),
    )


def resolve_pricing(
    deal: DealSpec, pricing: MarketPricesOfRisk | None, params: FactorParams, plan: FleetPlan
) -> MarketPricesOfRisk:
    """The market prices of risk of a run: ``pricing`` if given, else the ones calibrated on
    the deal's as-of date for the run's regime chain and default model (``credit.pricing``)
    with the deal's ``pricing`` section's entries in their place."""
    if pricing is not None:
        return pricing
    base = default_prices_of_risk(
        deal.as_of, params.regime, plan.stress_hazard_multiplier, plan.asset_correlation
    )
    override = deal.pricing
    if override is None:
        return base
    changes = {k: v for k, v in override.model_dump().items() if v is not None}
    return dataclasses.replace(base, **changes)


@dataclass(frozen=True, slots=True)
class SpreadInputs:
    """What a fair-spread pass needs of a block: the asset side never changes with the coupon."""

    cfads_usd: Float64Array
    collateral_value_usd: Float64Array
    cohort_value_usd: Float64Array
    sofr: Float64Array
    tenant_default_month: Int64Array
    #: Each path's ``log dQ/dP`` (``scenarios.measure``), shape (path,); None: Q = P.
    log_weight: Float64Array | None = None

    @classmethod
    def of(cls, inputs: BlockInputs) -> SpreadInputs:
        cash = inputs.cash
        return cls(
            cash.cfads_usd,
            cash.collateral_value_usd,
            cash.cohort_value_usd,
            inputs.scenarios.sofr,
            cash.tenant_default_month,
            inputs.log_weight,
        )


@dataclass(frozen=True, slots=True)
class BlockInputs:
    """The asset side of a block: everything the waterfall and recovery need."""

    scenarios: ScenarioSet
    cash: AssetCashflows
    #: Each path's ``log dQ/dP``, shape (path,); None where the prices of risk are zero.
    log_weight: Float64Array | None = None


def _inputs(model: DealModel, source: ShockSource, start: int, stop: int) -> BlockInputs:
    shocks = source.draw(
        start, stop, model.grid.n_months, n_factors(model.params), model.plan.n_tenants
    )
    scen = simulate_scenarios(model.params, model.grid, shocks)
    cash = project(model.plan, scen, buyer_decay_per_year=model.buyer_decay_per_year)
    log_weight = None
    if not model.pricing.is_zero:
        log_weight = pricing_log_weights(
            model.pricing,
            model.params.regime,
            regime=scen.regime,
            rent_normals=shocks.normals[:, :, 0],
            entity_factor=shocks.entity_factor,
            has_entities=model.plan.n_tenants > 0,
        )
    return BlockInputs(scen, cash, log_weight)


def _waterfall(
    terms: LoanTerms,
    cfads: Float64Array,
    collateral: Float64Array,
    sofr: Float64Array,
    backend: Backend,
    fields: tuple[str, ...] | None = None,
) -> DebtLedger:
    """A single loan's waterfall: the structure engine on one facility (``debt.engine.run_loan``),
    compiled on the "numba" backend (recording only ``fields``), its NumPy oracle on "numpy"."""
    if backend == "numba":
        return run_loan(terms, cfads, collateral, sofr, fields=fields)
    return run_loan(terms, cfads, collateral, sofr, compiled=False)


def _contracts_uplift(model: DealModel, tenant_default_month: Int64Array) -> ExtraCollateral:
    """The value of surviving contracts over their GPUs', for ``evaluate``."""
    drift = model.monthly_drift

    def extra(
        idx: Int64Array, month: Int64Array, values: Float64Array, rate: Float64Array
    ) -> Float64Array:
        return assigned_contract_uplift(
            model.plan, tenant_default_month[idx], month, values, rate, drift
        )

    return extra


def _market_level(model: DealModel, scen: ScenarioSet) -> Float64Array:
    """Each path's mean log rent of the main generation over the loan, relative to the
    anchor (the market scenario a path is in, for wrong-way risk), shape (path,)."""
    gen = model.primary_generation
    anchor = model.params.rent(gen).anchor_usd_per_gpu_hour
    return np.asarray(np.log(scen.rent_of(gen) / anchor).mean(axis=1), dtype=np.float64)


def run_deterministic(
    model: DealModel, source: ShockSource | None = None, *, terms: LoanTerms | None = None
) -> tuple[BlockInputs, DebtLedger]:
    """One deterministic path (default: zero shocks, the initial regime) through every stage."""
    inputs = _inputs(model, source or StressPath(), 0, 1)
    t = terms or model.terms
    ledger = _waterfall(
        t, inputs.cash.cfads_usd, inputs.cash.collateral_value_usd, inputs.scenarios.sofr, "numpy"
    )
    return inputs, ledger


def breakeven_rent(model: DealModel) -> tuple[float | None, str]:
    """Flat market rent (USD/GPU-hour) at which the minimum DSCR over the loan's life is 1.0x.

    Deterministic: zero shocks, the initial regime's utilisation, SOFR on its expected path,
    no tenant default; every generation's rent is held flat in proportion to its anchor, and
    the rent reported is that of the generation with the most units. Returns 0.0 when the
    contracts alone keep the DSCR at or above 1.0x even at zero market rent, and None when no
    rent up to 1,000 USD/h does.
    """
    primary = model.primary_generation
    anchors = {r.generation: r.anchor_usd_per_gpu_hour for r in model.params.rents}
    inputs = _inputs(model, StressPath(), 0, 1)
    scen = inputs.scenarios
    unlimited = np.full_like(inputs.cash.cfads_usd, UNLIMITED_USD)
    if model.structure is not None:
        values = np.full_like(inputs.cash.cohort_value_usd, UNLIMITED_USD)
        ds = run_structure(model.structure, unlimited, values, scen.sofr).debt_service[0]
    else:
        promised = _waterfall(model.terms, unlimited, unlimited, scen.sofr, "numpy")
        ds = promised.ds_scheduled[0]
    scheduled = ds > 0.0

    def min_dscr_minus_one(rent: float) -> float:
        flat = scen.with_flat_rent({g: rent * anchors[g] / anchors[primary] for g in anchors})
        cash = project(model.plan, flat, buyer_decay_per_year=model.buyer_decay_per_year)
        dscr = cash.cfads_usd[0][scheduled] / ds[scheduled]
        return float(dscr.min()) - 1.0

    if not scheduled.any() or min_dscr_minus_one(0.0) >= 0.0:
        return 0.0, primary
    top = 1000.0
    if min_dscr_minus_one(top) < 0.0:
        return None, primary
    return float(brentq(min_dscr_minus_one, 0.0, top, xtol=1e-6)), primary


@dataclass(frozen=True, slots=True)
class StressOutcome:
    """The loan on one named deterministic path (zero shocks, a forced regime)."""

    name: str
    min_dscr: float
    default_month: int | None
    default_kind: str


def origination_collateral(model: DealModel, acc: CollateralAccumulator) -> CollateralReport:
    """LTV three ways on the as-of date, with the path statistics in ``acc``.

    Appraised value: the income-approach value at the end of month 1 on the deterministic
    path (today's market, no shocks). Realisable value: the present value, at SOFR, of
    selling the whole fleet then with the deal's sale strategy (``SecondaryMarketRecovery``).
    """
    inputs, _ = run_deterministic(model)
    values = inputs.cash.cohort_value_usd[:, 0, :]
    appraised = float(values.sum())
    state = MarketDefaultState(
        month=np.array([1], dtype=np.int64),
        ead_usd=np.array([np.inf]),
        pledged_cash_usd=np.zeros(1),
        cohort_value_usd=values,
        monthly_discount=inputs.scenarios.sofr[:, 0] / 12.0,
    )
    realisable = float(model.market.summarise(state).pv_usd[0])
    principal = (
        model.terms.principal_usd
        if model.structure is None
        else sum(f.committed_usd for f in model.structure.facilities)
    )
    return summarise_collateral(
        acc,
        principal_usd=principal,
        sale_speed=model.deal.recovery.sale_speed,
        book_value=book_value_usd(model.deal, model.deal.as_of),
        appraised_value=appraised,
        realisable_value=realisable,
    )


def glut_stress(model: DealModel) -> StressOutcome:
    """The market turns to glut in month 1 and stays there: rents and utilisation revert to the
    glut levels with no shocks; tenants do not default. Same code as the Monte Carlo paths."""
    if model.structure is not None:
        _, deal_ledger = _run_structure_deterministic(model, StressPath(regime=(GLUT,)))
        owing = deal_ledger.debt_service[0] > 0.0
        month = int(deal_ledger.default_month[0])
        kinds = [int(fl.default_kind[0]) for fl in deal_ledger.facilities]
        first = next((k for k in kinds if k not in (0, 5)), 0)
        return StressOutcome(
            name="glut from month 1",
            min_dscr=float(deal_ledger.dscr[0][owing].min()) if owing.any() else float("inf"),
            default_month=month or None,
            default_kind=DEFAULT_KINDS[first],
        )
    _, ledger = run_deterministic(model, StressPath(regime=(GLUT,)))
    alive = ledger.alive[0]
    month = int(ledger.default_month[0])
    return StressOutcome(
        name="glut from month 1",
        min_dscr=float(ledger.dscr[0][alive].min()),
        default_month=month or None,
        default_kind=DEFAULT_KINDS[int(ledger.default_kind[0])],
    )


@dataclass(slots=True)
class _KeptPaths:
    arrays: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, name: str, value: np.ndarray) -> None:
        self.arrays.setdefault(name, []).append(value)

    def stacked(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v, axis=0) for k, v in self.arrays.items()}


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """What ``simulate`` returns.

    Attributes
    ----------
    metrics : FacilityMetrics
        Every reported number of the facility (from all paths).
    paths : xarray.Dataset
        Path cube of the first ``keep_paths`` paths, dims ``path`` and ``month``
        (``generation`` for rents).
    spreads : SpreadSolution or None
    stress : StressOutcome
        The deterministic glut stress.
    collateral : CollateralReport
        LTV on book, appraised and realisable value; recovery distribution; wrong-way risk.
    provenance : dict
        Seed, paths, spec hash, package version, as-of date and parameter sources.
    duration : tuple of DurationMismatch
        Debt WAL against collateral half-life and contract life, per facility
        (``credit.duration``).
    """

    deal: DealSpec
    config: RunConfig
    metrics: FacilityMetrics
    paths: xr.Dataset
    spreads: SpreadSolution | None
    stress: StressOutcome
    collateral: CollateralReport
    provenance: dict[str, Any]
    facilities: tuple[FacilityMetrics, ...] = ()
    facility_spreads: tuple[SpreadSolution | None, ...] = ()
    structure: StructureReport | None = None
    #: The duration mismatch of each facility, in the order of ``all_facilities``.
    duration: tuple[DurationMismatch, ...] = ()

    @property
    def all_facilities(self) -> tuple[FacilityMetrics, ...]:
        """Every facility's metrics (the one loan's for a single-loan deal)."""
        return self.facilities or (self.metrics,)

    def summary(self) -> pd.DataFrame:
        """One row per facility."""
        rows = [self._row(m) for m in self.all_facilities]
        return pd.DataFrame(rows).set_index(["deal", "facility"])

    def _row(self, m: FacilityMetrics) -> dict[str, Any]:
        c = self.collateral
        row = {
            "deal": m.deal,
            "facility": m.name,
            "principal_usd": m.principal_usd,
            "tenor_months": m.tenor_months,
            "n_paths": m.n_paths,
            "pd": m.pd,
            "pd_se": m.pd_se,
            "pd_ci_low": m.pd_ci_low,
            "pd_ci_high": m.pd_ci_high,
            "pd_annual": m.pd_annual,
            "lgd": m.lgd,
            "lgd_se": m.lgd_se,
            "lgd_p95": m.lgd_p95,
            "expected_loss_usd": m.expected_loss_usd,
            "el_se_usd": m.el_se_usd,
            "expected_loss_pct": m.expected_loss_pct,
            "fair_spread_bps": m.fair_spread_bps,
            "fair_spread_se_bps": m.fair_spread_se_bps,
            "actuarial_spread_bps": m.actuarial_spread_bps,
            "actuarial_spread_se_bps": m.actuarial_spread_se_bps,
            "risk_premium_bps": m.risk_premium_bps,
            "market_spread_bps": m.market_spread_bps,
            "spread_gap_bps": m.spread_gap_bps,
            "implied_rating": m.implied_rating,
            "implied_rating_range": m.implied_rating_range,
            "breach_probability": m.breach_probability,
            "min_dscr_p50": m.min_dscr_p50,
            "breakeven_rent_usd_per_gpu_hour": m.breakeven_rent_usd_per_gpu_hour,
            "glut_stress_min_dscr": self.stress.min_dscr,
            "glut_stress_default_month": self.stress.default_month,
            "ltv_book": c.ltv_book,
            "ltv_appraised": c.ltv_appraised,
            "ltv_realisable": c.ltv_realisable,
            "illusion_gap_vs_book": c.illusion_gap_vs_book,
            "recovery_rate_mean": c.recovery_rate_mean,
            "recovery_rate_p5": c.recovery_rate_p5,
            "recovery_rate_p50": c.recovery_rate_p50,
            "recovery_rate_p95": c.recovery_rate_p95,
            "time_to_recover_months_mean": c.time_to_recover_months_mean,
            "pd_lgd_correlation": c.pd_lgd_correlation,
            **default_kind_record(m),
        }
        row.update(duration_columns(self.duration_of(m)))
        # an undefined figure (an LTV over collateral worth nothing) is an empty CSV cell
        return {k: finite_or_none(v) for k, v in row.items()}

    def duration_of(self, m: FacilityMetrics) -> DurationMismatch | None:
        """The duration mismatch of facility ``m`` (None when it was not measured)."""
        return duration_of(self.all_facilities, self.duration, m)

    def duration_frame(self) -> pd.DataFrame:
        """One row per facility: the duration-mismatch figures and why any is missing."""
        return duration_frame(self.all_facilities, self.duration)

    def dscr_fan(self) -> pd.DataFrame:
        """DSCR p5/p50/p95 and LTV p50 by month (over paths alive that month); for a capital
        structure the deal DSCR (all facilities' service) and the deal LLCR p50."""
        if self.structure is not None:
            s = self.structure
            n = s.dscr_p50.shape[0]
            grid = TimeGrid(self.deal.as_of, n)
            return pd.DataFrame(
                {
                    "date": grid.month_ends,
                    "dscr_p5": s.dscr_p5,
                    "dscr_p50": s.dscr_p50,
                    "dscr_p95": s.dscr_p95,
                    "llcr_p50": s.llcr_p50[1:],
                    "plcr_p50": s.plcr_p50[1:],
                },
                index=pd.RangeIndex(1, n + 1, name="month"),
            )
        m = self.metrics
        grid = TimeGrid(self.deal.as_of, m.tenor_months)
        return pd.DataFrame(
            {
                "date": grid.month_ends,
                "alive_share": m.alive_share,
                "dscr_p5": m.dscr_p5,
                "dscr_p50": m.dscr_p50,
                "dscr_p95": m.dscr_p95,
                "ltv_p50": m.ltv_p50,
            },
            index=pd.RangeIndex(1, m.tenor_months + 1, name="month"),
        )

    def pd_term_structure(self) -> pd.DataFrame:
        m = self.metrics
        ends = [min(12 * (k + 1), m.tenor_months) for k in range(len(m.pd_by_year))]
        cum = np.array(m.pd_by_year)
        marginal = np.diff(np.concatenate([[0.0], cum]))
        return pd.DataFrame(
            {"month": ends, "cumulative_pd": cum, "marginal_pd": marginal},
            index=pd.RangeIndex(1, len(ends) + 1, name="year"),
        )


def finite_or_none(value: Any) -> Any:
    """``value``, or None where it is a non-finite float (so no NaN or inf reaches a CSV)."""
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return value


@accepts_progress_bar
def simulate(
    deal: DealSpec,
    n_paths: int = 10_000,
    seed: int = 0,
    block_size: int = 4096,
    *,
    keep_paths: int = 10_000,
    n_workers: int | None = None,
    backend: Backend = "numba",
    solve_fair_spread: bool = True,
    calibration: str = DEFAULT_CALIBRATION,
    db: Path | str | None = None,
    params: FactorParams | None = None,
    recovery: RecoveryModel | None = None,
    provenance: Mapping[str, Any] | None = None,
    progress: ProgressArg = None,
    target_se_bps: float | None = None,
    max_paths: int = MAX_TARGET_PATHS,
    pricing: MarketPricesOfRisk | None = None,
    default_model: DefaultModelSpec | Mapping[str, Any] | None = None,
    regime: RegimeSpec | Mapping[str, Any] | None = None,
    spread_search: SpreadSearch = "fast",
) -> SimulationResult:
    """Simulate one deal: ``n_paths`` Monte Carlo paths in blocks of ``block_size``.

    The numbers depend only on ``seed``, ``n_paths`` and the factor parameters, not on
    ``block_size`` or ``n_workers``. The parameters are those of ``calibration``, as for
    ``gpucredit run --calibration``: ``"latest"`` (default: the newest calibration in the store
    ``db`` dated on or before the deal's as-of date, fitted and stored on first use), a stored
    id ``"cal-..."``, or ``"sourced"`` (the hand-set defaults); the same inputs give the same
    numbers as the CLI. ``params`` (explicit factor parameters, e.g. for tests) bypasses it.
    ``recovery`` replaces the secondary-market recovery model; ``provenance`` adds entries to
    the result's provenance, which names the ``calibration_id`` and ``data_hash`` used.
    ``progress(phase, done, total)`` is called as each phase advances (``gpucredit._progress``
    lists the phases); ``progress=True`` shows a bar on standard error. Off by default.

    ``target_se_bps`` (bp): run again with more paths, in whole granules of 256 from the same
    seed, until every facility's fair-spread standard error is below it or ``max_paths`` is
    reached. The result is the single run with the paths used (``provenance["n_paths"]``;
    ``provenance["target_se"]`` says whether the target was met).

    ``default_model`` and ``regime`` replace the deal's sections of those names
    (``config.spec.DefaultModelSpec``, ``RegimeSpec``, or their fields as a mapping): the
    glut hazard multiplier, the companies' asset correlation and the regime chain.

    ``pricing``: the market prices of risk of the pricing measure Q under which
    ``fair_spread_bps`` is solved (``docs/pricing.md``); default the deal's ``pricing``
    section over the calibrated ones. All zero: Q = P, bit for bit.

    ``spread_search``: "fast" (default) or "full", the reference search of the fair spread
    (``credit.spread.solve_spreads``; within 0.1 bp of each other).
    """
    report = progress if callable(progress) else None
    deal = with_options(deal, default_model, regime)
    check_as_of(deal.as_of, f"deal {deal.name!r}")
    if params is None:
        chosen = resolve_parameters(calibration, db, deal.as_of)
        params = chosen.params_for(deal)
        provenance = {**chosen.provenance(), **(provenance or {})}
    else:
        provenance = {"calibration_id": "explicit params", **(provenance or {})}
    if target_se_bps is not None:
        check_target(target_se_bps, n_paths, max_paths)

        def run_with(n: int) -> SimulationResult:
            return simulate(
                deal,
                n,
                seed,
                block_size,
                keep_paths=keep_paths,
                n_workers=n_workers,
                backend=backend,
                solve_fair_spread=solve_fair_spread,
                params=params,
                recovery=recovery,
                provenance=provenance,
                progress=report,
                pricing=pricing,
                spread_search=spread_search,
            )

        result, target = run_to_target(
            run_with, lambda r: r.all_facilities, n_paths, target_se_bps, max_paths
        )
        return dataclasses.replace(result, provenance={**result.provenance, "target_se": target})
    config = RunConfig(
        n_paths=n_paths,
        seed=seed,
        block_size=block_size,
        keep_paths=keep_paths,
        n_workers=n_workers,
        backend=backend,
        solve_fair_spread=solve_fair_spread,
        spread_search=spread_search,
    )
    model = build_model(deal, params, recovery, pricing)
    if model.structure is not None:
        return simulate_structure(model, config, provenance=provenance, progress=report)
    source = MonteCarloShocks(seed)
    ranges = block_ranges(n_paths, block_size)
    n_months = model.grid.n_months
    cache_inputs = n_paths * n_months <= CACHE_LIMIT_PATH_MONTHS and solve_fair_spread
    cache: dict[int, SpreadInputs] = {}
    keep = min(keep_paths, n_paths)

    recoverer: RecoveryModel = (
        MemoisedRecovery(model.market) if model.recovery is model.market else model.recovery
    )

    close_value = close_collateral_value(model)

    def main_block(
        start: int, stop: int
    ) -> tuple[CreditAccumulator, CollateralAccumulator, dict[str, np.ndarray] | None, ValueFan]:
        inputs = _inputs(model, source, start, stop)
        if cache_inputs:
            cache[start] = SpreadInputs.of(inputs)
        cash, scen = inputs.cash, inputs.scenarios
        fields = None if start < keep else CREDIT_LEDGER_FIELDS  # kept paths show every field
        ledger = _waterfall(
            model.terms,
            cash.cfads_usd,
            cash.collateral_value_usd,
            scen.sofr,
            config.backend,
            fields,
        )
        outcomes = evaluate(
            ledger,
            cash.cohort_value_usd,
            recoverer,
            scen.sofr,
            model.terms.principal_usd,
            extra_collateral=_contracts_uplift(model, cash.tenant_default_month),
        )
        acc = CreditAccumulator(n_months)
        acc.add(outcomes, ledger)
        coll = CollateralAccumulator()
        coll.add(outcomes, _market_level(model, scen))
        kept = None
        if start < keep:
            cut = min(stop, keep) - start
            kept = _path_slice(inputs, ledger, cut)
        fan = ValueFan(n_months, close_value)
        fan.add(cash.collateral_value_usd)
        return acc, coll, kept, fan

    total = CreditAccumulator(n_months)
    collateral = CollateralAccumulator()
    kept = _KeptPaths()
    values = ValueFan(n_months, close_value)
    tick = block_ticker(report, n_paths)
    for acc, coll, part, fan in run_blocks(
        main_block, ranges, n_workers=config.workers, on_block=tick
    ):
        total.merge(acc)
        collateral.merge(coll)
        values.merge(fan)
        if part is not None:
            for name, value in part.items():
                kept.add(name, value)

    spreads: SpreadSolution | None = None
    q_spreads: SpreadSolution | None = None
    if solve_fair_spread:
        spreads, spread_values = _solve_spreads(
            model, source, ranges, cache, config, report, recoverer
        )
        q_spreads = spreads
        if not model.pricing.is_zero:
            q_spreads, _ = _solve_spreads(
                model,
                source,
                ranges,
                cache,
                config,
                report,
                recoverer,
                "Q",
                (spreads, spread_values),
            )
    cache.clear()
    rent, generation = _breakeven_reported(model, report)
    stress = glut_stress(model)
    collateral_report = origination_collateral(model, collateral)
    metrics = summarise(
        total,
        deal=deal.name,
        name=model.terms.name,
        principal_usd=model.terms.principal_usd,
        tenor_months=model.terms.tenor_months,
        issue_price=model.terms.issue_price,
        breakeven_rent=rent,
        breakeven_generation=generation,
        **spread_figures(spreads, _nominal_spread(model.terms)),
    )
    metrics = with_pricing_measure(metrics, spreads, q_spreads)
    provenance = _provenance(model, config, backend, provenance)
    paths = _paths_dataset(model, kept.stacked(), provenance) if keep else xr.Dataset()
    duration = measure_duration(model, values, collateral_report)
    return SimulationResult(
        deal,
        config,
        metrics,
        paths,
        spreads,
        stress,
        collateral_report,
        provenance,
        duration=duration,
    )


def close_collateral_value(model: DealModel) -> float:
    """Collateral value at close, USD: the appraised value of ``origination_collateral`` (the
    income-approach value at the end of month 1 on the deterministic path)."""
    inputs, _ = run_deterministic(model)
    return float(inputs.cash.collateral_value_usd[0, 0])


def measure_duration(
    model: DealModel, values: ValueFan, collateral: CollateralReport
) -> tuple[DurationMismatch, ...]:
    """Every facility's duration mismatch (``credit.duration``) from the deal's value fan."""
    facilities = (
        model.structure.facilities
        if model.structure is not None
        else (FacilityTerms(loan=model.terms),)
    )
    return facility_mismatches(
        facilities,
        contracts=contract_schedule(model.deal),
        sofr=model.params.sofr.initial,
        fan=values,
        appraised_value_usd=collateral.appraised_value_usd,
        realisable_value_usd=collateral.realisable_value_usd,
    )


def _provenance(
    model: DealModel, config: RunConfig, backend: str, extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What a result records of how it was made (``SimulationResult.provenance``)."""
    return {
        "seed": config.seed,
        "n_paths": config.n_paths,
        "spec_hash": model.spec_hash,
        "version": __version__,
        "as_of": model.deal.as_of.isoformat(),
        "backend": backend,
        "factor_sources": dict(model.params.sources),
        "market_prices_of_risk": dataclasses.asdict(model.pricing),
        "default_model": default_model_record(
            model.plan.stress_hazard_multiplier, model.plan.asset_correlation, model.params.regime
        ),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **(extra or {}),
    }


def _breakeven_reported(
    model: DealModel, progress: ProgressCallback | None
) -> tuple[float | None, str]:
    """:func:`breakeven_rent`, reported as the phase ``breakeven`` (one search)."""
    if progress is not None:
        progress("breakeven", 0, 1)
    found = breakeven_rent(model)
    if progress is not None:
        progress("breakeven", 1, 1)
    return found


def _nominal_spread(terms: LoanTerms) -> float:
    return terms.margin if terms.floating else terms.fixed_coupon


def _solve_spreads(
    model: DealModel,
    source: ShockSource,
    ranges: list[tuple[int, int]],
    cache: dict[int, SpreadInputs],
    config: RunConfig,
    progress: ProgressCallback | None,
    recovery: RecoveryModel,
    measure: Literal["P", "Q"] = "P",
    warm: tuple[SpreadSolution, PathValues] | None = None,
) -> tuple[SpreadSolution, PathValues]:
    """Solve the riskless and risky add-ons by passes over the same paths (each pass reported
    as the phase ``fair spread: pass N``, ``fair spread (Q): pass N`` under Q); under
    ``measure`` "Q" every mean is weighted by the paths' likelihood ratios (self-normalised).
    ``warm``: the solution under P and the per-path values of its passes, from which Q's
    search starts (``credit.spread.solve_spreads``). Returns the solution and the per-path
    values kept."""
    evaluations = 0
    phase = "fair spread" if measure == "P" else "fair spread (Q)"

    def inputs_of(start: int, stop: int) -> SpreadInputs:
        if start in cache:
            return cache[start]
        return SpreadInputs.of(_inputs(model, source, start, stop))

    def pv_block(add_on: float, riskless: bool, start: int, stop: int) -> Float64Array:
        terms = model.terms.with_add_on(add_on)
        x = inputs_of(start, stop)
        if riskless:
            big = np.full_like(x.sofr, UNLIMITED_USD)
            ledger = _waterfall(terms, big, big, x.sofr, config.backend, CREDIT_LEDGER_FIELDS)
        else:
            ledger = _waterfall(
                terms,
                x.cfads_usd,
                x.collateral_value_usd,
                x.sofr,
                config.backend,
                CREDIT_LEDGER_FIELDS,
            )
        out = evaluate(
            ledger,
            x.cohort_value_usd,
            recovery,
            x.sofr,
            terms.principal_usd,
            extra_collateral=_contracts_uplift(model, x.tenant_default_month),
        )
        return out.pv_per_par

    # the standard error, and Q's search, reuse the passes at the roots
    pv_paths = PathValues(pv_block) if warm is None else warm[1]

    def mean_pv(add_on: float, riskless: bool) -> float:
        nonlocal evaluations
        evaluations += 1
        tick = block_ticker(progress, config.n_paths, f"{phase}: pass {evaluations}")
        if measure == "Q":
            return _weighted_mean(
                lambda a, b: pv_paths(add_on, riskless, a, b),
                lambda a, b: _weights(inputs_of(a, b).log_weight, b - a),
                ranges,
                config.workers,
                tick,
            )

        def block(start: int, stop: int) -> ExactSum:
            acc = ExactSum(RATIO_RESOLUTION)
            acc.add(pv_paths(add_on, riskless, start, stop))
            return acc

        total = ExactSum(RATIO_RESOLUTION)
        for part in run_blocks(block, ranges, n_workers=config.workers, on_block=tick):
            total.merge(part)
        return total.mean()

    price = model.terms.issue_price
    solution = solve_spreads(
        lambda x: mean_pv(x, True),
        lambda x: mean_pv(x, False),
        price,
        config.spread_search,
        None if warm is None else warm[0],
    )
    if measure == "Q":
        weighted = _with_weighted_se(
            solution,
            pv_paths,
            lambda a, b: _weights(inputs_of(a, b).log_weight, b - a),
            ranges,
            config.workers,
            price,
            progress,
        )
        return weighted, pv_paths
    return _with_se(solution, pv_paths, ranges, config.workers, progress), pv_paths


def _weights(log_weight: Float64Array | None, n: int) -> Float64Array:
    """Likelihood ratios ``dQ/dP`` of a block's ``n`` paths (all 1.0 without log-weights)."""
    if log_weight is None:
        return np.ones(n)
    return np.asarray(np.exp(log_weight), dtype=np.float64)


def _weighted_mean(
    values: Callable[[int, int], Float64Array],
    weights: Callable[[int, int], Float64Array],
    ranges: list[tuple[int, int]],
    workers: int,
    on_block: Callable[[int], None] | None = None,
) -> float:
    """``sum(w x) / sum(w)`` over every block, merged exactly (``credit.spread.WeightedMean``);
    ``on_block(n)`` is called as each block of ``n`` paths completes."""

    def block(start: int, stop: int) -> WeightedMean:
        acc = WeightedMean(RATIO_RESOLUTION)
        acc.add(values(start, stop), weights(start, stop))
        return acc

    total = WeightedMean(RATIO_RESOLUTION)
    for part in run_blocks(block, ranges, n_workers=workers, on_block=on_block):
        total.merge(part)
    return total.mean()


def _mean_weight(
    weights: Callable[[int, int], Float64Array], ranges: list[tuple[int, int]], workers: int
) -> float:
    """``sum(w) / n`` over every block (exactly 1.0 for unit weights)."""

    def block(start: int, stop: int) -> WeightedMean:
        acc = WeightedMean(RATIO_RESOLUTION)
        acc.add(np.zeros(stop - start), weights(start, stop))
        return acc

    total = WeightedMean(RATIO_RESOLUTION)
    for part in run_blocks(block, ranges, n_workers=workers):
        total.merge(part)
    return total.mean_weight()


def _with_weighted_se(
    solution: SpreadSolution,
    pv_paths: Callable[[float, bool, int, int], Float64Array],
    weights: Callable[[int, int], Float64Array],
    ranges: list[tuple[int, int]],
    workers: int,
    price: float,
    progress: ProgressCallback | None = None,
    phase: str = "fair spread (Q): standard error",
) -> SpreadSolution:
    """``_with_se`` for a spread solved on weighted means: the influence terms of the
    self-normalised estimator (``credit.spread.weighted_fair_spread_terms``), the pass
    reported as ``phase``."""
    x0, x1 = solution.riskless_add_on, solution.risky_add_on
    if x0 is None or x1 is None:
        return solution
    r_slope, f_slope = solution.risky_slope, solution.riskless_slope
    if r_slope is None or f_slope is None or r_slope <= 0.0 or f_slope <= 0.0:
        return with_standard_error(solution, lambda: [])
    mean_weight = _mean_weight(weights, ranges, workers)

    def block(start: int, stop: int) -> Float64Array:
        assert x0 is not None and x1 is not None
        return weighted_fair_spread_terms(
            solution,
            pv_paths(x1, False, start, stop),
            pv_paths(x0, True, start, stop),
            weights(start, stop),
            mean_weight,
            price,
        )

    n_paths = ranges[-1][1] if ranges else 0
    return with_standard_error(
        solution,
        lambda: run_blocks(
            block, ranges, n_workers=workers, on_block=block_ticker(progress, n_paths, phase)
        ),
    )


def _with_se(
    solution: SpreadSolution,
    pv_paths: Callable[[float, bool, int, int], Float64Array],
    ranges: list[tuple[int, int]],
    workers: int,
    progress: ProgressCallback | None = None,
    phase: str = "fair spread: standard error",
) -> SpreadSolution:
    """``solution`` with the fair spread's delta-method standard error: one more pass, over
    the same paths, of the risky PV at ``x*`` and the promised PV at ``x0`` (reported as
    ``phase``)."""
    x0, x1 = solution.riskless_add_on, solution.risky_add_on
    if x0 is None or x1 is None:
        return solution

    def block(start: int, stop: int) -> Float64Array:
        assert x0 is not None and x1 is not None
        return fair_spread_terms(
            solution, pv_paths(x1, False, start, stop), pv_paths(x0, True, start, stop)
        )

    n_paths = ranges[-1][1] if ranges else 0
    return with_standard_error(
        solution,
        lambda: run_blocks(
            block, ranges, n_workers=workers, on_block=block_ticker(progress, n_paths, phase)
        ),
    )


def _path_slice(inputs: BlockInputs, ledger: DebtLedger, cut: int) -> dict[str, np.ndarray]:
    alive = ledger.alive[:cut]
    month = np.arange(1, alive.shape[1] + 1)[None, :]
    dm = ledger.default_month[:cut, None]
    return {
        "dscr": np.where(alive, ledger.dscr[:cut], np.nan),
        "dscr_trailing": np.where(alive, ledger.dscr_trailing[:cut], np.nan),
        "ltv": np.where(alive, ledger.ltv[:cut], np.nan),
        "balance": ledger.balance[:cut],
        "opex": inputs.cash.opex_usd[:cut],
        "dsra": ledger.dsra_balance[:cut],
        "defaulted": (dm > 0) & (month >= dm),
        "breach": ledger.breach[:cut],
        **_market_slice(inputs, cut),
    }


def _market_slice(inputs: BlockInputs, cut: int) -> dict[str, np.ndarray]:
    """The first ``cut`` paths of the asset side and the market, for the path cube."""
    scen, cash = inputs.scenarios, inputs.cash
    return {
        "cfads": cash.cfads_usd[:cut],
        "revenue": cash.revenue_usd[:cut],
        "collateral_value": cash.collateral_value_usd[:cut],
        "utilisation": scen.utilisation[:cut],
        "sofr": scen.sofr[:cut],
        "regime": scen.regime[:cut],
        "rent": scen.rent[:cut],
    }


_UNITS = {
    "dscr": "ratio (NaN where the loan is not outstanding)",
    "dscr_trailing": "ratio, trailing window of the first DSCR covenant",
    "ltv": "ratio: balance / income-approach collateral value",
    "balance": "USD, end of month",
    "cfads": "USD per month",
    "revenue": "USD per month",
    "opex": "USD per month",
    "collateral_value": "USD, income approach",
    "dsra": "USD, end of month",
    "defaulted": "bool: defaulted in or before this month",
    "breach": "bool: a covenant breached this month",
    "utilisation": "share of hours rented (merchant)",
    "sofr": "decimal per year",
    "regime": "0 tight, 1 glut",
    "rent": "USD per GPU-hour (market index)",
}


def _flat_attrs(prefix: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """``record``'s leaves as ``prefix + key`` (nested keys joined with ``_``)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Mapping):
            out.update(_flat_attrs(f"{prefix}{key}_", value))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _paths_dataset(
    model: DealModel,
    arrays: dict[str, np.ndarray],
    provenance: dict[str, Any],
    variables: Mapping[str, tuple[tuple[str, ...], str]] | None = None,
    coords: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """The path cube: ``variables`` gives each array's dims and units (single loans: by
    ``_UNITS``, dims (path, month[, generation]))."""
    n_paths = next(iter(arrays.values())).shape[0]
    data_vars: dict[str, Any] = {}
    for name, value in arrays.items():
        if variables is not None:
            dims, units = variables[name]
        else:
            dims = ("path", "month", "generation") if value.ndim == 3 else ("path", "month")
            units = _UNITS[name]
        data_vars[name] = xr.Variable(dims, value, attrs={"units": units})
    # netCDF attributes are flat: the default model's nested record becomes prefixed keys
    attrs = {
        k: v for k, v in provenance.items() if k != "factor_sources" and not isinstance(v, Mapping)
    }
    attrs.update(_flat_attrs("default_model_", provenance.get("default_model", {})))
    return xr.Dataset(
        data_vars,
        coords={
            "path": np.arange(n_paths),
            "month": np.arange(1, model.grid.n_months + 1),
            "date": ("month", np.array(model.grid.month_ends, dtype="datetime64[D]")),
            "generation": list(model.params.generations),
            **(coords or {}),
        },
        attrs=attrs,
    )


# --- capital structures -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StructureReport:
    """Deal-level results of a capital structure.

    Attributes
    ----------
    borrower_pd : probability that the borrower defaults (any facility, cross-default).
    dscr_p5, dscr_p50, dscr_p95 : (month,) deal DSCR (CFADS / all scheduled debt service)
        over the paths where the borrower is alive and owes service.
    llcr_p5, llcr_p50, llcr_p95, plcr_p50 : (month + 1,) cover ratios from close (column 0):
        PV of CFADS to the last maturity (PLCR: plus the fleet's income-approach value then)
        at the debt's balance-weighted rate, over all debt outstanding.
    llcr_at_close, plcr_at_close : the base-case ratios at close (no shocks).
    steps : labels of the waterfall steps; ``step_paid_mean_usd`` the mean paid by each over
        the life (per path).
    sculpted : facility -> (debt sized, base-case DSCR) for project-finance facilities.
    concentration : customer concentration (tenant shares, HHI) as a dict.
    """

    borrower_pd: float
    dscr_p5: Float64Array
    dscr_p50: Float64Array
    dscr_p95: Float64Array
    llcr_p5: Float64Array
    llcr_p50: Float64Array
    llcr_p95: Float64Array
    plcr_p50: Float64Array
    llcr_at_close: float
    plcr_at_close: float
    steps: tuple[str, ...]
    step_paid_mean_usd: tuple[float, ...]
    sculpted: dict[str, tuple[float, float]]
    concentration: dict[str, Any]


#: Cover-ratio histogram (LLCR, PLCR): 0 to 10 in steps of 0.005.
COVER_EDGES = np.linspace(0.0, 10.0, 2001)


def step_labels(model: DealModel) -> tuple[str, ...]:
    """Readable labels of the structure's steps (``interest:DDTL``)."""
    assert model.structure is not None
    names = model.structure.names
    return tuple(
        s.kind if s.facility < 0 else f"{s.kind}:{names[s.facility]}" for s in model.structure.steps
    )


def _cover_ratios(
    structure: StructureTerms,
    ledger: StructureLedger,
    sofr: Float64Array,
    collateral_value: Float64Array,
) -> tuple[Float64Array, Float64Array]:
    """Deal LLCR and PLCR at close and after each month, (path, month + 1), discounted at the
    facilities' all-in rates weighted by commitment."""
    n_paths, n = ledger.cfads.shape
    opening = np.zeros((n_paths, n + 1))
    weighted = np.zeros((n_paths, n))
    committed = sum(f.committed_usd for f in structure.facilities)
    for f, fl in zip(structure.facilities, ledger.facilities, strict=True):
        bal = np.concatenate([np.full((n_paths, 1), f.loan.principal_usd), fl.balance], axis=1)
        opening += bal
        weighted += f.committed_usd * f.loan.annual_rate(sofr) / 12.0
    # the debt's cost as written, weighted by commitment: a sweep that repays early does not
    # change the rate the remaining cash flows are discounted at
    rate = weighted / committed if committed > 0 else sofr / 12.0
    last = structure.n_months
    llcr = cover_ratio(ledger.cfads, rate, opening, last)
    plcr = cover_ratio(ledger.cfads, rate, opening, last, collateral_value[:, min(last, n) - 1])
    return llcr, plcr


@dataclass(slots=True)
class _DealAccumulator:
    n_months: int
    paths: int = 0
    defaults: int = 0
    dscr: MonthlyHistogram = field(init=False)
    llcr: MonthlyHistogram = field(init=False)
    plcr: MonthlyHistogram = field(init=False)
    steps: list[ExactSum] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dscr = MonthlyHistogram(DSCR_EDGES, self.n_months)
        self.llcr = MonthlyHistogram(COVER_EDGES, self.n_months + 1)
        self.plcr = MonthlyHistogram(COVER_EDGES, self.n_months + 1)

    def add(
        self, ledger: StructureLedger, llcr: Float64Array, plcr: Float64Array, n_steps: int
    ) -> None:
        n = self.n_months
        self.paths += ledger.default_month.shape[0]
        self.defaults += int((ledger.default_month > 0).sum())
        owing = ledger.debt_service[:, :n] > 0.0
        self.dscr.add(ledger.dscr[:, :n], owing, clip=(-1e6, 1e6))
        self.llcr.add(llcr, ~np.isnan(llcr), clip=(0.0, 1e6))
        self.plcr.add(plcr, ~np.isnan(plcr), clip=(0.0, 1e6))
        if not self.steps:
            self.steps = [ExactSum(USD_RESOLUTION) for _ in range(n_steps)]
        for j in range(n_steps):
            self.steps[j].add(ledger.step_paid[:, :, j].sum(axis=1))

    def merge(self, other: _DealAccumulator) -> None:
        self.paths += other.paths
        self.defaults += other.defaults
        self.dscr.merge(other.dscr)
        self.llcr.merge(other.llcr)
        self.plcr.merge(other.plcr)
        if not self.steps:
            self.steps = [ExactSum(USD_RESOLUTION) for _ in other.steps]
        for mine, theirs in zip(self.steps, other.steps, strict=True):
            mine.merge(theirs)


def _combined(outs: tuple[CreditOutcomes, ...], ledger: StructureLedger) -> CreditOutcomes:
    """The borrower's outcomes: all facilities' exposures and recoveries together."""
    ead = sum((o.ead_usd for o in outs), np.zeros_like(outs[0].ead_usd))
    rec = sum((o.recovery_usd for o in outs), np.zeros_like(ead))
    loss = ead - rec
    with np.errstate(divide="ignore", invalid="ignore"):
        lgd = np.where(ead > 0, loss / np.where(ead > 0, ead, 1.0), 0.0)
    return CreditOutcomes(
        default_month=ledger.default_month,
        ead_usd=ead,
        recovery_usd=rec,
        loss_usd=loss,
        lgd=lgd,
        pv_per_par=outs[0].pv_per_par,
        min_dscr=outs[0].min_dscr,
        breached=outs[0].breached,
        time_to_recover_months=np.max([o.time_to_recover_months for o in outs], axis=0),
        appraised_value_usd=np.max([o.appraised_value_usd for o in outs], axis=0),
    )


def _run_structure_block(
    model: DealModel,
    structure: StructureTerms,
    x: SpreadInputs,
    recovery: RecoveryModel,
    regime: np.ndarray,
    riskless: bool = False,
    backend: Backend = "numba",
) -> tuple[StructureLedger, tuple[CreditOutcomes, ...]]:
    engine = run_structure_compiled if backend == "numba" else run_structure
    ledger = engine(
        structure, x.cfads_usd, x.cohort_value_usd, x.sofr, regime, default_free=riskless
    )
    outs = evaluate_structure(
        structure,
        ledger,
        x.cohort_value_usd,
        recovery,
        x.sofr,
        extra_collateral=_contracts_uplift(model, x.tenant_default_month),
    )
    return ledger, outs


def simulate_structure(
    model: DealModel,
    config: RunConfig,
    *,
    provenance: Mapping[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> SimulationResult:
    """``simulate`` for a deal with several facilities (``DealSpec.facilities``).

    The asset side is the single-loan run's; the waterfall is ``debt.structure``, the recovery
    is shared out by ``credit.allocation``. Each facility's fair spread is solved with the
    others at their written terms. Same numbers whatever the block size or workers.
    """
    structure = model.structure
    assert structure is not None
    deal = model.deal
    source = MonteCarloShocks(config.seed)
    ranges = block_ranges(config.n_paths, config.block_size)
    n_months = model.grid.n_months
    n_fac = len(structure.facilities)
    n_steps = len(structure.steps)
    keep = min(config.keep_paths, config.n_paths)
    cache: dict[int, tuple[SpreadInputs, np.ndarray]] = {}
    cache_inputs = config.n_paths * n_months <= CACHE_LIMIT_PATH_MONTHS
    recoverer: RecoveryModel = (
        MemoisedRecovery(model.market) if model.recovery is model.market else model.recovery
    )
    close_value = close_collateral_value(model)

    def main_block(start: int, stop: int) -> tuple[Any, ...]:
        inputs = _inputs(model, source, start, stop)
        x = SpreadInputs.of(inputs)
        window = (
            inputs.scenarios.credit_window()
        )  # refinancing: the credit window, not the GPU regime
        if cache_inputs and config.solve_fair_spread:
            cache[start] = (x, window)
        ledger, outs = _run_structure_block(
            model, structure, x, recoverer, window, backend=config.backend
        )
        accs = []
        for out, fl in zip(outs, ledger.facilities, strict=True):
            acc = CreditAccumulator(n_months)
            acc.add(out, fl)
            accs.append(acc)
        coll = CollateralAccumulator()
        coll.add(_combined(outs, ledger), _market_level(model, inputs.scenarios))
        llcr, plcr = _cover_ratios(structure, ledger, x.sofr, x.collateral_value_usd)
        deal_acc = _DealAccumulator(n_months)
        deal_acc.add(ledger, llcr, plcr, n_steps)
        kept = None
        if start < keep:
            kept = _structure_slice(inputs, ledger, llcr, min(stop, keep) - start)
        fan = ValueFan(n_months, close_value)
        fan.add(x.collateral_value_usd)
        return accs, coll, deal_acc, kept, fan

    totals = [CreditAccumulator(n_months) for _ in range(n_fac)]
    collateral = CollateralAccumulator()
    deal_total = _DealAccumulator(n_months)
    kept = _KeptPaths()
    values = ValueFan(n_months, close_value)
    for accs, coll, deal_acc, part, fan in run_blocks(
        main_block,
        ranges,
        n_workers=config.workers,
        on_block=block_ticker(progress, config.n_paths),
    ):
        for total, acc in zip(totals, accs, strict=True):
            total.merge(acc)
        collateral.merge(coll)
        deal_total.merge(deal_acc)
        values.merge(fan)
        if part is not None:
            for name, value in part.items():
                kept.add(name, value)

    solutions: list[SpreadSolution | None] = [None] * n_fac
    q_solutions: list[SpreadSolution | None] = [None] * n_fac
    if config.solve_fair_spread:
        for k in range(n_fac):
            solved, spread_values = _solve_structure_spread(
                model, k, source, ranges, cache, config, recoverer, progress
            )
            solutions[k] = q_solutions[k] = solved
            if not model.pricing.is_zero:
                q_solutions[k], _ = _solve_structure_spread(
                    model,
                    k,
                    source,
                    ranges,
                    cache,
                    config,
                    recoverer,
                    progress,
                    "Q",
                    (solved, spread_values),
                )
    cache.clear()
    rent, generation = _breakeven_reported(model, progress)
    stress = glut_stress(model)
    collateral_report = origination_collateral(model, collateral)
    facilities = tuple(
        with_pricing_measure(
            summarise(
                totals[k],
                deal=deal.name,
                name=f.name,
                principal_usd=f.committed_usd,
                tenor_months=f.tenor_months,
                issue_price=f.loan.issue_price,
                breakeven_rent=rent,
                breakeven_generation=generation,
                **spread_figures(solutions[k], _nominal_spread(f.loan)),
            ),
            solutions[k],
            q_solutions[k],
        )
        for k, f in enumerate(structure.facilities)
    )
    report = _structure_report(model, deal_total)
    prov = _provenance(model, config, f"{config.backend} (capital structure)", provenance)
    paths = _structure_dataset(model, kept.stacked(), prov) if keep else xr.Dataset()
    return SimulationResult(
        deal,
        config,
        facilities[0],
        paths,
        solutions[0],
        stress,
        collateral_report,
        prov,
        facilities=facilities,
        facility_spreads=tuple(solutions),
        structure=report,
        duration=measure_duration(model, values, collateral_report),
    )


def _solve_structure_spread(
    model: DealModel,
    k: int,
    source: ShockSource,
    ranges: list[tuple[int, int]],
    cache: dict[int, tuple[SpreadInputs, np.ndarray]],
    config: RunConfig,
    recovery: RecoveryModel,
    progress: ProgressCallback | None,
    measure: Literal["P", "Q"] = "P",
    warm: tuple[SpreadSolution, PathValues] | None = None,
) -> tuple[SpreadSolution, PathValues]:
    """Facility ``k``'s riskless and risky add-ons, the other facilities as written (each pass
    reported as the phase ``fair spread: NAME, pass N``, ``fair spread (Q): ...`` under Q);
    under ``measure`` "Q" on the paths' likelihood-ratio weights (self-normalised means).
    ``warm`` and the values returned: as for ``_solve_spreads``."""
    assert model.structure is not None
    base = model.structure
    name = base.names[k]

    def inputs_of(start: int, stop: int) -> tuple[SpreadInputs, np.ndarray]:
        if start in cache:
            return cache[start]
        inputs = _inputs(model, source, start, stop)
        return SpreadInputs.of(inputs), inputs.scenarios.credit_window()

    evaluations = 0
    phase = "fair spread" if measure == "P" else "fair spread (Q)"

    def pv_block(add_on: float, riskless: bool, start: int, stop: int) -> Float64Array:
        structure = base.with_add_on(k, add_on)
        x, regime = inputs_of(start, stop)
        _, outs = _run_structure_block(
            model, structure, x, recovery, regime, riskless, backend=config.backend
        )
        return outs[k].pv_per_par

    # the standard error, and Q's search, reuse the passes at the roots
    pv_paths = PathValues(pv_block) if warm is None else warm[1]

    def weights(start: int, stop: int) -> Float64Array:
        return _weights(inputs_of(start, stop)[0].log_weight, stop - start)

    def mean_pv(add_on: float, riskless: bool) -> float:
        nonlocal evaluations
        evaluations += 1
        tick = block_ticker(progress, config.n_paths, f"{phase}: {name}, pass {evaluations}")
        if measure == "Q":
            return _weighted_mean(
                lambda a, b: pv_paths(add_on, riskless, a, b),
                weights,
                ranges,
                config.workers,
                tick,
            )

        def block(start: int, stop: int) -> ExactSum:
            acc = ExactSum(RATIO_RESOLUTION)
            acc.add(pv_paths(add_on, riskless, start, stop))
            return acc

        total = ExactSum(RATIO_RESOLUTION)
        for part in run_blocks(block, ranges, n_workers=config.workers, on_block=tick):
            total.merge(part)
        return total.mean()

    price = base.facilities[k].loan.issue_price
    solution = solve_spreads(
        lambda x: mean_pv(x, True),
        lambda x: mean_pv(x, False),
        price,
        config.spread_search,
        None if warm is None else warm[0],
    )
    error = f"{phase}: {name}, standard error"
    if measure == "Q":
        weighted = _with_weighted_se(
            solution, pv_paths, weights, ranges, config.workers, price, progress, error
        )
        return weighted, pv_paths
    return _with_se(solution, pv_paths, ranges, config.workers, progress, error), pv_paths


def _structure_report(model: DealModel, acc: _DealAccumulator) -> StructureReport:
    assert model.structure is not None
    inputs, ledger = _run_structure_deterministic(model)
    llcr, plcr = _cover_ratios(
        model.structure, ledger, inputs.scenarios.sofr, inputs.cash.collateral_value_usd
    )
    sculpted = {
        f.name: (f.loan.principal_usd, f.sculpted_dscr)
        for f in model.structure.facilities
        if f.sculpted_dscr is not None
    }
    return StructureReport(
        borrower_pd=acc.defaults / acc.paths,
        dscr_p5=acc.dscr.quantiles(0.05),
        dscr_p50=acc.dscr.quantiles(0.50),
        dscr_p95=acc.dscr.quantiles(0.95),
        llcr_p5=acc.llcr.quantiles(0.05),
        llcr_p50=acc.llcr.quantiles(0.50),
        llcr_p95=acc.llcr.quantiles(0.95),
        plcr_p50=acc.plcr.quantiles(0.50),
        llcr_at_close=float(llcr[0, 0]),
        plcr_at_close=float(plcr[0, 0]),
        steps=step_labels(model),
        step_paid_mean_usd=tuple(s.mean() for s in acc.steps),
        sculpted=sculpted,
        concentration=customer_concentration(model.deal).to_dict(),
    )


def _run_structure_deterministic(
    model: DealModel, source: ShockSource | None = None
) -> tuple[BlockInputs, StructureLedger]:
    assert model.structure is not None
    inputs = _inputs(model, source or StressPath(), 0, 1)
    ledger = run_structure(
        model.structure,
        inputs.cash.cfads_usd,
        inputs.cash.cohort_value_usd,
        inputs.scenarios.sofr,
        inputs.scenarios.credit_window(),
    )
    return inputs, ledger


def _structure_slice(
    inputs: BlockInputs, ledger: StructureLedger, llcr: Float64Array, cut: int
) -> dict[str, np.ndarray]:
    month = np.arange(1, ledger.cfads.shape[1] + 1)[None, :]
    per = ledger.facilities

    def stack(values: list[np.ndarray]) -> np.ndarray:
        return np.stack([v[:cut] for v in values], axis=2)

    alive = stack([fl.alive for fl in per])
    return {
        "balance": stack([fl.balance for fl in per]),
        "facility_dscr": np.where(alive, stack([fl.dscr for fl in per]), np.nan),
        "interest_paid": stack([fl.interest_paid for fl in per]),
        "principal_paid": stack([fl.principal_paid + fl.prepaid for fl in per]),
        "dsra": stack([fl.dsra_balance for fl in per]),
        "defaulted": stack(
            [(fl.default_month[:, None] > 0) & (month >= fl.default_month[:, None]) for fl in per]
        ),
        "step_paid": ledger.step_paid[:cut],
        "dscr": np.where(ledger.debt_service[:cut] > 0, ledger.dscr[:cut], np.nan),
        "llcr": llcr[:cut, 1:],
        "lockup": ledger.lockup_balance[:cut],
        **_market_slice(inputs, cut),
    }


_STRUCTURE_VARS = {
    "balance": (("path", "month", "facility"), "USD, end of month"),
    "facility_dscr": (
        ("path", "month", "facility"),
        "ratio: CFADS / debt service of the facility and those senior to it",
    ),
    "interest_paid": (("path", "month", "facility"), "USD per month"),
    "principal_paid": (("path", "month", "facility"), "USD per month, incl. prepayments"),
    "dsra": (("path", "month", "facility"), "USD, end of month"),
    "defaulted": (("path", "month", "facility"), "bool: defaulted in or before this month"),
    "step_paid": (("path", "month", "step"), "USD paid by each waterfall step"),
    "dscr": (("path", "month"), "deal DSCR (NaN where no service is due)"),
    "llcr": (("path", "month"), "deal LLCR after the month's payment"),
    "lockup": (("path", "month"), "USD, end of month"),
    "rent": (("path", "month", "generation"), _UNITS["rent"]),
    **{
        name: (("path", "month"), _UNITS[name])
        for name in ("cfads", "revenue", "collateral_value", "utilisation", "sofr", "regime")
    },
}


def _structure_dataset(
    model: DealModel, arrays: dict[str, np.ndarray], provenance: dict[str, Any]
) -> xr.Dataset:
    assert model.structure is not None
    extra = {"facility": list(model.structure.names), "step": list(step_labels(model))}
    return _paths_dataset(model, arrays, provenance, _STRUCTURE_VARS, extra)
