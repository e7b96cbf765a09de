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
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy.optimize import brentq

from gpucredit._typing import Float64Array, Int64Array
from gpucredit._version import __version__
from gpucredit.assets.fleet import AssetCashflows, FleetPlan, plan_fleet, project
from gpucredit.config.loading import spec_hash
from gpucredit.config.spec import DealSpec
from gpucredit.credit.collateral import (
    CollateralAccumulator,
    CollateralReport,
    book_value_usd,
    summarise_collateral,
)
from gpucredit.credit.contracts import assigned_contract_uplift
from gpucredit.credit.liquidation import (
    MarketDefaultState,
    MemoisedRecovery,
    SecondaryMarketRecovery,
)
from gpucredit.credit.metrics import (
    CREDIT_LEDGER_FIELDS,
    CreditAccumulator,
    FacilityMetrics,
    summarise,
)
from gpucredit.credit.outcomes import ExtraCollateral, evaluate
from gpucredit.credit.recovery import RecoveryModel
from gpucredit.credit.spread import SpreadSolution, solve_spreads
from gpucredit.debt.kernel import run_waterfall_loop
from gpucredit.debt.ledger import DEFAULT_KINDS, DebtLedger
from gpucredit.debt.terms import LoanTerms, loan_terms
from gpucredit.debt.waterfall import run_waterfall
from gpucredit.engine.runner import block_ranges, default_workers, run_blocks
from gpucredit.factors.defaults import default_factor_params
from gpucredit.factors.params import GLUT, FactorParams, UtilisationParams
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.scenarios.scenario import ScenarioSet, n_factors, simulate_scenarios
from gpucredit.scenarios.shocks import MonteCarloShocks, ShockSource, StressPath
from gpucredit.stats import ExactSum

__all__ = [
    "DealModel",
    "RunConfig",
    "SimulationResult",
    "StressOutcome",
    "breakeven_rent",
    "build_model",
    "glut_stress",
    "run_deterministic",
    "simulate",
]

Backend = Literal["numba", "numpy"]
#: Path-months up to which a run keeps what the fair-spread passes need in memory (~32 bytes a
#: path-month for a one-cohort deal: at most ~256 MB); above it the blocks are simulated again,
#: which gives the same numbers.
CACHE_LIMIT_PATH_MONTHS = 8_000_000
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
    deal: DealSpec, params: FactorParams | None = None, recovery: RecoveryModel | None = None
) -> DealModel:
    """Prepare ``deal``.

    ``params`` defaults to the sourced first-version parameters; ``recovery`` to the sale of
    the GPUs into their secondary market (``market``, which also gives the realisable LTV).
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
    grid = TimeGrid(deal.as_of, deal.loan.tenor_months)
    plan = plan_fleet(deal, grid)
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
    return DealModel(
        deal=deal,
        grid=grid,
        params=params,
        plan=plan,
        terms=loan_terms(deal.loan),
        market=market,
        recovery=market if recovery is None else recovery,
        buyer_decay_per_year=decay,
        spec_hash=spec_hash(deal),
    )


@dataclass(frozen=True, slots=True)
class SpreadInputs:
    """What a fair-spread pass needs of a block: the asset side never changes with the coupon."""

    cfads_usd: Float64Array
    collateral_value_usd: Float64Array
    cohort_value_usd: Float64Array
    sofr: Float64Array
    tenant_default_month: Int64Array

    @classmethod
    def of(cls, inputs: BlockInputs) -> SpreadInputs:
        cash = inputs.cash
        return cls(
            cash.cfads_usd,
            cash.collateral_value_usd,
            cash.cohort_value_usd,
            inputs.scenarios.sofr,
            cash.tenant_default_month,
        )


@dataclass(frozen=True, slots=True)
class BlockInputs:
    """The asset side of a block: everything the waterfall and recovery need."""

    scenarios: ScenarioSet
    cash: AssetCashflows


def _inputs(model: DealModel, source: ShockSource, start: int, stop: int) -> BlockInputs:
    shocks = source.draw(
        start, stop, model.grid.n_months, n_factors(model.params), model.plan.n_tenants
    )
    scen = simulate_scenarios(model.params, model.grid, shocks)
    cash = project(model.plan, scen, buyer_decay_per_year=model.buyer_decay_per_year)
    return BlockInputs(scen, cash)


def _waterfall(
    terms: LoanTerms,
    cfads: Float64Array,
    collateral: Float64Array,
    sofr: Float64Array,
    backend: Backend,
    fields: tuple[str, ...] | None = None,
) -> DebtLedger:
    if backend == "numba":
        return run_waterfall_loop(terms, cfads, collateral, sofr, fields=fields)
    return run_waterfall(terms, cfads, collateral, sofr)


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
    promised = _waterfall(
        model.terms,
        np.full_like(inputs.cash.cfads_usd, UNLIMITED_USD),
        np.full_like(inputs.cash.cfads_usd, UNLIMITED_USD),
        scen.sofr,
        "numpy",
    )
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
    return summarise_collateral(
        acc,
        principal_usd=model.terms.principal_usd,
        sale_speed=model.deal.recovery.sale_speed,
        book_value=book_value_usd(model.deal, model.deal.as_of),
        appraised_value=appraised,
        realisable_value=realisable,
    )


def glut_stress(model: DealModel) -> StressOutcome:
    """The market turns to glut in month 1 and stays there: rents and utilisation revert to the
    glut levels with no shocks; tenants do not default. Same code as the Monte Carlo paths."""
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
    """

    deal: DealSpec
    config: RunConfig
    metrics: FacilityMetrics
    paths: xr.Dataset
    spreads: SpreadSolution | None
    stress: StressOutcome
    collateral: CollateralReport
    provenance: dict[str, Any]

    def summary(self) -> pd.DataFrame:
        """One row per facility (one facility per deal for now)."""
        m = self.metrics
        c = self.collateral
        row = {
            "deal": m.deal,
            "facility": m.name,
            "principal_usd": m.principal_usd,
            "tenor_months": m.tenor_months,
            "n_paths": m.n_paths,
            "pd": m.pd,
            "pd_annual": m.pd_annual,
            "lgd": m.lgd,
            "lgd_p95": m.lgd_p95,
            "expected_loss_usd": m.expected_loss_usd,
            "expected_loss_pct": m.expected_loss_pct,
            "fair_spread_bps": m.fair_spread_bps,
            "market_spread_bps": m.market_spread_bps,
            "spread_gap_bps": m.spread_gap_bps,
            "implied_rating": m.implied_rating,
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
        }
        return pd.DataFrame([row]).set_index(["deal", "facility"])

    def dscr_fan(self) -> pd.DataFrame:
        """DSCR p5/p50/p95 and LTV p50 by month (over paths alive that month)."""
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
    params: FactorParams | None = None,
    recovery: RecoveryModel | None = None,
    provenance: Mapping[str, Any] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> SimulationResult:
    """Simulate one deal: ``n_paths`` Monte Carlo paths in blocks of ``block_size``.

    The numbers depend only on ``seed`` and ``n_paths``, not on ``block_size`` or
    ``n_workers``. ``params`` and ``recovery`` replace the default factor parameters and the
    secondary-market recovery model; ``provenance`` adds entries to the result's provenance
    (the CLI records the calibration id and data hash). ``progress(phase, done, total)`` is
    called as work completes.
    """
    config = RunConfig(
        n_paths=n_paths,
        seed=seed,
        block_size=block_size,
        keep_paths=keep_paths,
        n_workers=n_workers,
        backend=backend,
        solve_fair_spread=solve_fair_spread,
    )
    model = build_model(deal, params, recovery)
    source = MonteCarloShocks(seed)
    ranges = block_ranges(n_paths, block_size)
    n_months = model.grid.n_months
    cache_inputs = n_paths * n_months <= CACHE_LIMIT_PATH_MONTHS and solve_fair_spread
    cache: dict[int, SpreadInputs] = {}
    keep = min(keep_paths, n_paths)

    recoverer: RecoveryModel = (
        MemoisedRecovery(model.market) if model.recovery is model.market else model.recovery
    )

    def main_block(
        start: int, stop: int
    ) -> tuple[CreditAccumulator, CollateralAccumulator, dict[str, np.ndarray] | None]:
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
        return acc, coll, kept

    total = CreditAccumulator(n_months)
    collateral = CollateralAccumulator()
    kept = _KeptPaths()
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress("simulate", done, n_paths)

    for acc, coll, part in run_blocks(main_block, ranges, n_workers=config.workers, on_block=tick):
        total.merge(acc)
        collateral.merge(coll)
        if part is not None:
            for name, value in part.items():
                kept.add(name, value)

    spreads: SpreadSolution | None = None
    if solve_fair_spread:
        spreads = _solve_spreads(model, source, ranges, cache, config, progress, recoverer)
    cache.clear()
    rent, generation = breakeven_rent(model)
    stress = glut_stress(model)
    collateral_report = origination_collateral(model, collateral)
    metrics = summarise(
        total,
        deal=deal.name,
        name=deal.loan.name,
        principal_usd=deal.loan.principal_usd,
        tenor_months=deal.loan.tenor_months,
        issue_price=model.terms.issue_price,
        market_spread=spreads.market_spread if spreads else _nominal_spread(model.terms),
        fair_spread=spreads.fair_spread if spreads else None,
        breakeven_rent=rent,
        breakeven_generation=generation,
    )
    provenance = {
        "seed": seed,
        "n_paths": n_paths,
        "spec_hash": model.spec_hash,
        "version": __version__,
        "as_of": deal.as_of.isoformat(),
        "backend": backend,
        "factor_sources": dict(model.params.sources),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **(provenance or {}),
    }
    paths = _paths_dataset(model, kept.stacked(), provenance) if keep else xr.Dataset()
    return SimulationResult(
        deal, config, metrics, paths, spreads, stress, collateral_report, provenance
    )


def _nominal_spread(terms: LoanTerms) -> float:
    return terms.margin if terms.floating else terms.fixed_coupon


def _solve_spreads(
    model: DealModel,
    source: ShockSource,
    ranges: list[tuple[int, int]],
    cache: dict[int, SpreadInputs],
    config: RunConfig,
    progress: Callable[[str, int, int], None] | None,
    recovery: RecoveryModel,
) -> SpreadSolution:
    """Solve the riskless and risky add-ons by full passes over the same paths."""
    evaluations = 0

    def inputs_of(start: int, stop: int) -> SpreadInputs:
        if start in cache:
            return cache[start]
        return SpreadInputs.of(_inputs(model, source, start, stop))

    def mean_pv(add_on: float, riskless: bool) -> float:
        nonlocal evaluations
        evaluations += 1
        terms = model.terms.with_add_on(add_on)

        def block(start: int, stop: int) -> ExactSum:
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
            acc = ExactSum(RATIO_RESOLUTION)
            acc.add(out.pv_per_par)
            return acc

        total = ExactSum(RATIO_RESOLUTION)
        for part in run_blocks(block, ranges, n_workers=config.workers):
            total.merge(part)
        if progress is not None:
            progress("fair spread", evaluations, evaluations + 1)
        return total.mean()

    return solve_spreads(
        lambda x: mean_pv(x, True), lambda x: mean_pv(x, False), model.terms.issue_price
    )


def _path_slice(inputs: BlockInputs, ledger: DebtLedger, cut: int) -> dict[str, np.ndarray]:
    scen, cash = inputs.scenarios, inputs.cash
    alive = ledger.alive[:cut]
    month = np.arange(1, alive.shape[1] + 1)[None, :]
    dm = ledger.default_month[:cut, None]
    return {
        "dscr": np.where(alive, ledger.dscr[:cut], np.nan),
        "dscr_trailing": np.where(alive, ledger.dscr_trailing[:cut], np.nan),
        "ltv": np.where(alive, ledger.ltv[:cut], np.nan),
        "balance": ledger.balance[:cut],
        "cfads": cash.cfads_usd[:cut],
        "revenue": cash.revenue_usd[:cut],
        "opex": cash.opex_usd[:cut],
        "collateral_value": cash.collateral_value_usd[:cut],
        "dsra": ledger.dsra_balance[:cut],
        "defaulted": (dm > 0) & (month >= dm),
        "breach": ledger.breach[:cut],
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


def _paths_dataset(
    model: DealModel, arrays: dict[str, np.ndarray], provenance: dict[str, Any]
) -> xr.Dataset:
    n_paths = next(iter(arrays.values())).shape[0]
    data_vars: dict[str, Any] = {}
    for name, value in arrays.items():
        dims = ("path", "month", "generation") if value.ndim == 3 else ("path", "month")
        data_vars[name] = xr.Variable(dims, value, attrs={"units": _UNITS[name]})
    attrs = {k: v for k, v in provenance.items() if k != "factor_sources"}
    return xr.Dataset(
        data_vars,
        coords={
            "path": np.arange(n_paths),
            "month": np.arange(1, model.grid.n_months + 1),
            "date": ("month", np.array(model.grid.month_ends, dtype="datetime64[D]")),
            "generation": list(model.params.generations),
        },
        attrs=attrs,
    )
