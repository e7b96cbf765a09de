"""Bitcoin miners end to end: the double-leveraged balance sheet under correlation convergence.

``miner spec -> GPU factor paths (regime, rents, SOFR) -> miner market (BTC, hash rate, fees,
hashprice; correlated with the GPU shocks, converging in stress) -> miner cash flows and
collateral (mining with curtailment, hosting leases, ASIC and lease values, treasury) -> the
BTC margin loan's LTV ladder -> the other facilities' waterfall (equipment loans, hosting
notes, convertibles; cross-default with the margin loan) -> recovery and metrics``.

On top of the Monte Carlo run: each facility's fair spread; the *double-leverage premium*
(fair spread and EL with convergence on minus off, same paths); and the Shapley attribution
of the borrower's EL and PD to the factor groups ``bitcoin``, ``network`` (hash rate and fees),
``gpu_rent`` (GPU rents, utilisation, the market regime and the hosting tenants' defaults) and
``rates`` (SOFR), each frozen at its median path in turn.
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

from gpucredit._progress import ProgressArg, ProgressCallback, accepts_progress_bar, block_ticker
from gpucredit._typing import Float64Array, Int64Array
from gpucredit._version import __version__
from gpucredit.assets.fleet import tenant_default_months
from gpucredit.assets.hazards import PdBasis, tight_regime_hazard
from gpucredit.assets.miner import (
    MinerCashflows,
    MinerPlan,
    calibrate_asic_buyer,
    plan_miner,
    project_miner,
)
from gpucredit.config.loading import spec_hash
from gpucredit.config.miner import MinerSpec
from gpucredit.config.spec import DefaultModelSpec, RegimeSpec
from gpucredit.credit.allocation import evaluate_structure
from gpucredit.credit.attribution import Attribution, attribute
from gpucredit.credit.duration import (
    DurationMismatch,
    ValueFan,
    duration_columns,
    duration_frame,
    duration_of,
    facility_mismatches,
    weighted_average_life,
)
from gpucredit.credit.liquidation import (
    ASIC_GENERATION,
    CohortCollateral,
    SecondaryMarket,
    SecondaryMarketRecovery,
    asic_market_params,
)
from gpucredit.credit.metrics import (
    CREDIT_LEDGER_FIELDS,
    MAX_TARGET_PATHS,
    CreditAccumulator,
    FacilityMetrics,
    check_target,
    default_kind_record,
    run_to_target,
    summarise,
)
from gpucredit.credit.outcomes import CreditOutcomes, discount_factors
from gpucredit.credit.pricing import default_prices_of_risk, with_pricing_measure
from gpucredit.credit.recovery import DefaultState, RecoveryResult
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
from gpucredit.debt.capital import build_structure
from gpucredit.debt.engine import run_structure_compiled
from gpucredit.debt.facilities import FacilityTerms, StructureTerms, with_margin
from gpucredit.debt.ledger import DebtLedger
from gpucredit.debt.margin_loan import MarginLoanTerms, margin_loan_terms
from gpucredit.debt.structure import StructureLedger
from gpucredit.debt.terms import LoanTerms
from gpucredit.engine.runner import (
    CACHE_LIMIT_PATH_MONTHS,
    block_ranges,
    default_workers,
    run_blocks,
)
from gpucredit.factors.defaults import default_factor_params
from gpucredit.factors.miner_params import (
    ConvergenceParams,
    MinerMarketParams,
    convergence_params,
    miner_market_params,
)
from gpucredit.factors.options import default_model as default_model_of
from gpucredit.factors.options import default_model_record, with_options, with_regime
from gpucredit.factors.parameter_source import (
    DEFAULT_CALIBRATION,
    MINER_GPU_GENERATION,
    check_as_of,
)
from gpucredit.factors.parameter_source import resolve as resolve_parameters
from gpucredit.factors.params import FactorParams
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.scenarios.measure import (
    MarketPricesOfRisk,
    log_weight_normal,
    pricing_log_weights,
)
from gpucredit.scenarios.miner import MinerMarketPaths, freeze_gpu_normals, simulate_miner_market
from gpucredit.scenarios.scenario import ScenarioSet, n_factors, simulate_scenarios
from gpucredit.scenarios.shocks import MonteCarloShocks, Shocks
from gpucredit.stats import ExactSum

__all__ = [
    "FACTOR_GROUPS",
    "MinerModel",
    "MinerResult",
    "build_miner_model",
    "simulate_miner",
]

#: Factor groups of the attribution, each frozen at its median path in turn.
FACTOR_GROUPS = ("bitcoin", "network", "gpu_rent", "rates")
#: Units of one rig for the ASIC market (the liquidation module's S21, 200 TH/s).
RIG_TH_S = 200.0
#: ASSUMPTION: cost of assigning a hosting lease to a new owner at default (legal, transfer),
#: share of the lease's value; the lease itself is not sold into a market.
LEASE_ASSIGNMENT_COST = 0.05
RATIO_RESOLUTION = 1e-12
USD_RESOLUTION = 1e-4


@dataclass(frozen=True, slots=True)
class _EntityRisk:
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

    def recover(self, state: DefaultState) -> RecoveryResult:
        values = np.asarray(state.cohort_value_usd, dtype=np.float64)
        asic_state = dataclasses.replace(state, cohort_value_usd=values[:, :1])
        rec = self.asics.recover(asic_state)
        lease = values[:, 1] * (1.0 - LEASE_ASSIGNMENT_COST) if values.shape[1] > 1 else 0.0
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
    entities: _EntityRisk
    lease_entities: tuple[tuple[int, int], ...]  # (tenant, guarantor or -1) per lease
    #: Market prices of risk of the pricing measure Q (``scenarios.measure``); zero: Q = P.
    pricing: MarketPricesOfRisk = field(default_factory=MarketPricesOfRisk)

    @property
    def names(self) -> tuple[str, ...]:
        out = list(self.structure.names) if self.structure is not None else []
        if self.margin is not None:
            out.append(self.margin.name)
        return tuple(out)

    def with_convergence(self, enabled: bool) -> MinerModel:
        conv = self.convergence if enabled else self.convergence.switched_off()
        return dataclasses.replace(self, convergence=conv)


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
            pool_names=("asics", "hosting"),
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
    entities = _EntityRisk(
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
        recovery=MinerRecovery(asics),
        entities=entities,
        lease_entities=tuple(links),
        pricing=_resolve_pricing(spec, pricing, params, entities),
    )


def _resolve_pricing(
    spec: MinerSpec, pricing: MarketPricesOfRisk | None, params: FactorParams, entities: _EntityRisk
) -> MarketPricesOfRisk:
    """``pricing`` if given, else the prices calibrated for the run's regime chain and default
    model with the spec's entries in place."""
    if pricing is not None:
        return pricing
    base = default_prices_of_risk(
        spec.as_of, params.regime, entities.stress_hazard_multiplier, entities.asset_correlation
    )
    if spec.pricing is None:
        return base
    changes = {k: v for k, v in spec.pricing.model_dump().items() if v is not None}
    return dataclasses.replace(base, **changes)


@dataclass(frozen=True, slots=True)
class MinerInputs:
    """The asset side of one block (independent of every coupon)."""

    scen: ScenarioSet
    market: MinerMarketPaths
    cash: MinerCashflows
    lease_failure_month: Int64Array
    #: Each path's ``log dQ/dP`` (unfrozen runs with a non-zero price of risk), shape (path,).
    log_weight: Float64Array | None = None


def miner_inputs(
    model: MinerModel, seed: int, start: int, stop: int, frozen: frozenset[str] = frozenset()
) -> MinerInputs:
    """GPU scenario, miner market and miner cash flows of paths ``[start, stop)``.

    Frozen groups are at their median path: ``gpu_rent`` also holds the regime at its
    initial state and lets no hosting tenant default; the miner market always sees the
    unfrozen GPU normals so that freezing one leg leaves the others' laws unchanged.
    """
    n = model.grid.n_months
    shocks = MonteCarloShocks(seed).draw(
        start, stop, n, n_factors(model.params), model.entities.n_entities
    )
    n_gen = len(model.params.generations)
    used = shocks
    if frozen & {"gpu_rent", "rates"}:
        used = dataclasses.replace(used, normals=freeze_gpu_normals(shocks.normals, frozen, n_gen))
    if "gpu_rent" in frozen:
        used = dataclasses.replace(
            used,
            regime=np.full(n, model.params.regime.initial, dtype=np.int8),
            tenant_uniforms=np.ones_like(shocks.tenant_uniforms),
        )
    scen = simulate_scenarios(model.params, model.grid, used)
    market = simulate_miner_market(
        model.market,
        model.convergence,
        model.grid,
        scen,
        shocks.normals,
        seed,
        start,
        stop,
        gpu_correlation=model.params.correlation,
        frozen=frozen,
    )
    tau = tenant_default_months(
        model.entities, used.tenant_uniforms, scen.regime, gpu_market_factor(used)
    )
    never = n + 1
    failure = np.full((stop - start, len(model.lease_entities)), never, dtype=np.int64)
    for j, (t, g) in enumerate(model.lease_entities):
        failure[:, j] = tau[:, t] if g < 0 else np.maximum(tau[:, t], tau[:, g])
    cash = project_miner(model.plan, market.btc_usd, market.hashprice_usd_per_ph_day, failure)
    log_weight = None
    if not frozen and not model.pricing.is_zero:
        # the hosting tenants' copula factor is the rent shock path (gpu_market_factor), so
        # the rent's price of risk moves it: no separate entity term
        log_weight = pricing_log_weights(
            model.pricing,
            model.params.regime,
            regime=scen.regime,
            rent_normals=shocks.normals[:, :, 0],
            entity_factor=None,
            has_entities=False,
        )
        if market.shocks.btc_own is not None:
            log_weight = log_weight + log_weight_normal(
                market.shocks.btc_own, model.pricing.lambda_btc
            )
    return MinerInputs(scen, market, cash, failure, log_weight)


def gpu_market_factor(shocks: Shocks) -> Float64Array:
    """The hosting tenants' systematic factor: the path's GPU rent shocks, standardised.

    ``Z = sum_t z_t / sqrt(T)`` over the first generation's rent shocks (N(0, 1) when they are
    independent draws): a neo-cloud tenant's solvency follows the GPU rental market, so its
    copula factor (``assets.fleet.tenant_default_months``, weight sqrt(R)) is the rent path it
    lives on rather than an independent draw. This is the channel through which bitcoin's
    convergence with GPU rents in stress reaches the hosting leases (an assumption; the GPU
    deals keep their independent factor). Like any static copula it ties the default time to
    the whole path.
    """
    z = np.asarray(shocks.normals[:, :, 0], dtype=np.float64)
    return np.asarray(z.sum(axis=1) / np.sqrt(z.shape[1]), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _BlockOutcome:
    """Every facility's outcomes and ledgers on one block (margin loan last)."""

    outcomes: tuple[CreditOutcomes, ...]
    ledgers: tuple[DebtLedger, ...]
    borrower_default_month: Int64Array
    structure: StructureLedger | None


def _promised_margin_pv(terms: MarginLoanTerms, sofr: Float64Array) -> Float64Array:
    """The margin loan's promised value per unit of par on each path: interest capitalised
    monthly and repaid with the principal at maturity, discounted on the path's SOFR (the
    fair-spread solver's riskless benchmark; it needs neither the ladder nor the waterfall)."""
    rate = terms.annual_rate(sofr)[:, : terms.tenor_months] / 12.0
    df = discount_factors(sofr)[:, terms.tenor_months - 1]
    return np.asarray(np.prod(1.0 + rate, axis=1) * df, dtype=np.float64)


def _outcomes(
    pv_per_par: Float64Array, default_month: Int64Array, ead: Float64Array, recovery: Float64Array
) -> CreditOutcomes:
    n = pv_per_par.shape[0]
    loss = ead - recovery
    with np.errstate(divide="ignore", invalid="ignore"):
        lgd = np.where(ead > 0, loss / np.where(ead > 0, ead, 1.0), 0.0)
    return CreditOutcomes(
        default_month=default_month,
        ead_usd=ead,
        recovery_usd=recovery,
        loss_usd=loss,
        lgd=lgd,
        pv_per_par=pv_per_par,
        min_dscr=np.full(n, np.inf),
        breached=np.zeros(n, dtype=bool),
        time_to_recover_months=np.zeros(n),
        appraised_value_usd=np.zeros(n),
    )


#: The structure's per-month ledger fields the credit layer reads (``evaluate_structure`` and
#: the accumulators); the engine records only these.
_LEDGER_FIELDS = (*CREDIT_LEDGER_FIELDS, "extra_received")


def _run_debt(
    model: MinerModel,
    x: MinerInputs,
    structure: StructureTerms | None,
    margin: MarginLoanTerms | None,
    riskless: bool = False,
) -> _BlockOutcome:
    """One program through the compiled engine: the margin loan's ladder first
    (``debt.margin_loan``), then the structure's waterfall; every facility's outcomes."""
    cash, market, scen = x.cash, x.market, x.scen
    n_paths, n = cash.cfads_usd.shape
    never = np.zeros(n_paths, dtype=np.int64)
    program = structure if margin is None else with_margin(structure, margin)
    assert program is not None
    values = np.stack([cash.asic_value_usd, cash.lease_value_usd], axis=2)
    free = (
        None
        if margin is None
        else np.full(n_paths, model.spec.treasury.btc_held - margin.pledged_btc)
    )
    sl = run_structure_compiled(
        program,
        cash.net_cash_usd,
        values,
        scen.sofr,
        scen.regime,
        default_free=riskless,
        enterprise_value_usd=values.sum(axis=2) + cash.treasury_value_usd,
        opening_cash_usd=model.spec.treasury.cash_usd,
        btc_usd=None if margin is None else market.btc_usd,
        free_btc=free,
        fields=_LEDGER_FIELDS,
    )
    outs: list[CreditOutcomes] = []
    ledgers: list[DebtLedger] = list(sl.facilities)
    ml = sl.margin
    borrower = never if ml is None else ml.shortfall_month.copy()
    if structure is not None:
        outs.extend(evaluate_structure(structure, sl, values, model.recovery, scen.sofr))
        if not riskless:
            borrower = np.where(
                (borrower == 0) | ((sl.default_month > 0) & (sl.default_month < borrower)),
                sl.default_month,
                borrower,
            ).astype(np.int64)
    if margin is not None and ml is not None and sl.margin_facility is not None:
        debt = sl.margin_facility
        if riskless:
            zeros = np.zeros(n_paths)
            outs.append(_outcomes(_promised_margin_pv(margin, scen.sofr), never, zeros, zeros))
        else:
            df = discount_factors(scen.sofr)
            at = np.clip(debt.default_month - 1, 0, n - 1)
            recovered = ml.recovery_usd * df[np.arange(n_paths), at] * (debt.default_month > 0)
            pv = (ml.received_usd * df).sum(axis=1) + recovered
            outs.append(
                _outcomes(pv / margin.principal_usd, debt.default_month, debt.ead, ml.recovery_usd)
            )
        ledgers.append(debt)
    return _BlockOutcome(tuple(outs), tuple(ledgers), borrower, sl)


@dataclass(frozen=True, slots=True)
class MinerResult:
    """What ``simulate_miner`` returns.

    Attributes
    ----------
    facilities : FacilityMetrics per facility (the margin loan last).
    borrower_pd, borrower_el_usd : the miner's default probability (any facility) and the
        expected loss summed over its facilities.
    premium : facility -> {"fair_spread_bps", "expected_loss_usd", "pd"} with convergence on
        minus off (the double-leverage premium), and "borrower" for the borrower's PD and EL.
    attribution : Shapley attribution of the borrower's EL (USD) and PD, or None.
    provenance : seed, paths, version, as-of, convergence settings, parameter sources.
    """

    spec: MinerSpec
    facilities: tuple[FacilityMetrics, ...]
    spreads: tuple[SpreadSolution | None, ...]
    borrower_pd: float
    borrower_el_usd: float
    premium: dict[str, dict[str, float | None]] | None
    attribution: Attribution | None
    provenance: dict[str, Any]
    #: Duration mismatch of each facility, in the order of ``facilities``.
    duration: tuple[DurationMismatch, ...] = ()

    def summary(self) -> pd.DataFrame:
        rows = []
        for m in self.facilities:
            prem = (self.premium or {}).get(m.name, {})
            rows.append(
                {
                    "deal": m.deal,
                    "facility": m.name,
                    "principal_usd": m.principal_usd,
                    "pd": m.pd,
                    "pd_se": m.pd_se,
                    "pd_ci_low": m.pd_ci_low,
                    "pd_ci_high": m.pd_ci_high,
                    "lgd": m.lgd,
                    "lgd_se": m.lgd_se,
                    "expected_loss_usd": m.expected_loss_usd,
                    "el_se_usd": m.el_se_usd,
                    "fair_spread_bps": m.fair_spread_bps,
                    "fair_spread_se_bps": m.fair_spread_se_bps,
                    "actuarial_spread_bps": m.actuarial_spread_bps,
                    "actuarial_spread_se_bps": m.actuarial_spread_se_bps,
                    "risk_premium_bps": m.risk_premium_bps,
                    "market_spread_bps": m.market_spread_bps,
                    "spread_gap_bps": m.spread_gap_bps,
                    "implied_rating": m.implied_rating,
                    "implied_rating_range": m.implied_rating_range,
                    "premium_fair_spread_bps": prem.get("fair_spread_bps"),
                    "premium_expected_loss_usd": prem.get("expected_loss_usd"),
                    **default_kind_record(m),
                    **duration_columns(self.duration_of(m)),
                }
            )
        return pd.DataFrame(rows).set_index(["deal", "facility"])

    def duration_of(self, m: FacilityMetrics) -> DurationMismatch | None:
        """The duration mismatch of facility ``m`` (None when it was not measured)."""
        return duration_of(self.facilities, self.duration, m)

    def duration_frame(self) -> pd.DataFrame:
        """One row per facility: the duration-mismatch figures and why any is missing."""
        return duration_frame(self.facilities, self.duration)


@dataclass(slots=True)
class _Totals:
    n_months: int
    accs: list[CreditAccumulator]
    borrower_defaults: int = 0
    paths: int = 0
    borrower_loss: ExactSum = dataclasses.field(default_factory=lambda: ExactSum(USD_RESOLUTION))

    def merge(self, other: _Totals) -> None:
        for a, b in zip(self.accs, other.accs, strict=True):
            a.merge(b)
        self.borrower_defaults += other.borrower_defaults
        self.paths += other.paths
        self.borrower_loss.merge(other.borrower_loss)


def _main_pass(
    model: MinerModel,
    seed: int,
    ranges: list[tuple[int, int]],
    workers: int,
    frozen: frozenset[str] = frozenset(),
    cache: dict[tuple[int, frozenset[str], bool], MinerInputs] | None = None,
    on_block: Callable[[int], None] | None = None,
) -> _Totals:
    n = model.grid.n_months
    n_fac = len(model.names)
    enabled = model.convergence.enabled

    def block(start: int, stop: int) -> _Totals:
        x = miner_inputs(model, seed, start, stop, frozen)
        if cache is not None:
            cache[(start, frozen, enabled)] = x
        out = _run_debt(model, x, model.structure, model.margin)
        totals = _Totals(n, [CreditAccumulator(n) for _ in range(n_fac)])
        for acc, o, ledger in zip(totals.accs, out.outcomes, out.ledgers, strict=True):
            acc.add(o, ledger)
        totals.paths = stop - start
        totals.borrower_defaults = int((out.borrower_default_month > 0).sum())
        loss = sum((o.loss_usd for o in out.outcomes), np.zeros(stop - start))
        totals.borrower_loss.add(loss)
        return totals

    total = _Totals(n, [CreditAccumulator(n) for _ in range(n_fac)])
    for part in run_blocks(block, ranges, n_workers=workers, on_block=on_block):
        total.merge(part)
    return total


def _solve(
    model: MinerModel,
    k: int,
    seed: int,
    ranges: list[tuple[int, int]],
    workers: int,
    cache: dict[tuple[int, frozenset[str], bool], MinerInputs],
    progress: ProgressCallback | None = None,
    phase: str = "fair spread",
    measure: Literal["P", "Q"] = "P",
    search: SpreadSearch = "fast",
    warm: tuple[SpreadSolution, PathValues] | None = None,
) -> tuple[SpreadSolution, PathValues]:
    """Facility ``k``'s fair spread (the margin loan is the last index), others as written;
    each full pass over the paths is reported as ``PHASE: NAME, pass N``; under ``measure``
    "Q" on the paths' likelihood-ratio weights (self-normalised means). ``warm`` and the
    values returned: as for ``pipeline._solve_spreads``."""
    n_struct = len(model.structure.facilities) if model.structure is not None else 0
    enabled = model.convergence.enabled
    evaluations = 0

    def inputs(start: int, stop: int) -> MinerInputs:
        key = (start, frozenset[str](), enabled)
        return cache[key] if key in cache else miner_inputs(model, seed, start, stop)

    def weights(start: int, stop: int) -> Float64Array:
        log_weight = inputs(start, stop).log_weight
        return np.ones(stop - start) if log_weight is None else np.exp(log_weight)

    def pv_block(add_on: float, riskless: bool, start: int, stop: int) -> Float64Array:
        structure, margin = model.structure, model.margin
        if k < n_struct:
            assert structure is not None
            structure = structure.with_add_on(k, add_on)
        else:
            assert margin is not None
            margin = margin.with_add_on(add_on)
        x = inputs(start, stop)
        if riskless and k >= n_struct:  # the margin loan's promise needs only SOFR
            assert margin is not None
            return _promised_margin_pv(margin, x.scen.sofr)
        out = _run_debt(model, x, structure, margin, riskless)
        return out.outcomes[k].pv_per_par

    # the standard error, and Q's search, reuse the passes at the roots
    pv_paths = PathValues(pv_block) if warm is None else warm[1]

    n_paths = ranges[-1][1] if ranges else 0

    def weighted_mean(
        values: Callable[[int, int], Float64Array], on_block: Callable[[int], None]
    ) -> float:
        def block(start: int, stop: int) -> WeightedMean:
            acc = WeightedMean(RATIO_RESOLUTION)
            acc.add(values(start, stop), weights(start, stop))
            return acc

        total = WeightedMean(RATIO_RESOLUTION)
        for part in run_blocks(block, ranges, n_workers=workers, on_block=on_block):
            total.merge(part)
        return total.mean()

    def mean_pv(add_on: float, riskless: bool) -> float:
        nonlocal evaluations
        evaluations += 1
        if measure == "Q":
            tick = block_ticker(progress, n_paths, f"{phase}: {model.names[k]}, pass {evaluations}")
            return weighted_mean(lambda a, b: pv_paths(add_on, riskless, a, b), tick)

        def block(start: int, stop: int) -> ExactSum:
            acc = ExactSum(RATIO_RESOLUTION)
            acc.add(pv_paths(add_on, riskless, start, stop))
            return acc

        total = ExactSum(RATIO_RESOLUTION)
        tick = block_ticker(progress, n_paths, f"{phase}: {model.names[k]}, pass {evaluations}")
        for part in run_blocks(block, ranges, n_workers=workers, on_block=tick):
            total.merge(part)
        return total.mean()

    price = (
        model.structure.facilities[k].loan.issue_price  # type: ignore[union-attr]
        if k < n_struct
        else 1.0
    )
    solution = solve_spreads(
        lambda x: mean_pv(x, True),
        lambda x: mean_pv(x, False),
        price,
        search,
        None if warm is None else warm[0],
    )
    x0, x1 = solution.riskless_add_on, solution.risky_add_on
    if x0 is None or x1 is None:
        return solution, pv_paths
    r_slope, f_slope = solution.risky_slope, solution.riskless_slope
    weighted = (
        measure == "Q"
        and r_slope is not None
        and f_slope is not None
        and r_slope > 0.0
        and f_slope > 0.0
    )
    mean_weight = _mean_weight(weights, ranges, workers) if weighted else 1.0

    def terms(start: int, stop: int) -> Float64Array:
        assert x0 is not None and x1 is not None
        risky, promised = pv_paths(x1, False, start, stop), pv_paths(x0, True, start, stop)
        if weighted:
            return weighted_fair_spread_terms(
                solution, risky, promised, weights(start, stop), mean_weight, price
            )
        return fair_spread_terms(solution, risky, promised)

    error = f"{phase}: {model.names[k]}, standard error"
    solved = with_standard_error(
        solution,
        lambda: run_blocks(
            terms, ranges, n_workers=workers, on_block=block_ticker(progress, n_paths, error)
        ),
    )
    return solved, pv_paths


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


def _nominal(model: MinerModel, k: int) -> float:
    n_struct = len(model.structure.facilities) if model.structure is not None else 0
    if k < n_struct:
        loan = model.structure.facilities[k].loan  # type: ignore[union-attr]
        return loan.margin if loan.floating else loan.fixed_coupon
    assert model.margin is not None
    return model.margin.margin if model.margin.floating else model.margin.fixed_coupon


def _principal(model: MinerModel, k: int) -> tuple[float, int, float]:
    n_struct = len(model.structure.facilities) if model.structure is not None else 0
    if k < n_struct:
        f = model.structure.facilities[k]  # type: ignore[union-attr]
        return f.committed_usd, f.tenor_months, f.loan.issue_price
    assert model.margin is not None
    return model.margin.principal_usd, model.margin.tenor_months, 1.0


def _metrics(
    model: MinerModel,
    totals: _Totals,
    spreads: list[SpreadSolution | None],
    q_spreads: list[SpreadSolution | None] | None = None,
) -> tuple[FacilityMetrics, ...]:
    """Each facility's metrics: ``spreads`` solved under P, ``q_spreads`` under Q."""
    out = []
    for k, name in enumerate(model.names):
        principal, tenor, price = _principal(model, k)
        s = spreads[k]
        metrics = summarise(
            totals.accs[k],
            deal=model.spec.name,
            name=name,
            principal_usd=principal,
            tenor_months=tenor,
            issue_price=price,
            breakeven_rent=None,
            breakeven_generation=MINER_GPU_GENERATION,
            **spread_figures(s, _nominal(model, k)),
        )
        out.append(with_pricing_measure(metrics, s, None if q_spreads is None else q_spreads[k]))
    return tuple(out)


@accepts_progress_bar
def simulate_miner(
    spec: MinerSpec,
    n_paths: int = 10_000,
    seed: int = 0,
    block_size: int = 4096,
    *,
    n_workers: int | None = None,
    solve_fair_spread: bool = True,
    premium: bool = True,
    attribution: bool = True,
    attribution_paths: int | None = None,
    calibration: str = DEFAULT_CALIBRATION,
    db: Path | str | None = None,
    params: FactorParams | None = None,
    market: MinerMarketParams | None = None,
    provenance: Mapping[str, Any] | None = None,
    progress: ProgressArg = None,
    target_se_bps: float | None = None,
    max_paths: int = MAX_TARGET_PATHS,
    pricing: MarketPricesOfRisk | None = None,
    default_model: DefaultModelSpec | Mapping[str, Any] | None = None,
    regime: RegimeSpec | Mapping[str, Any] | None = None,
    spread_search: SpreadSearch = "fast",
) -> MinerResult:
    """Simulate one miner: every facility's PD, LGD, EL and fair spread; the double-leverage
    premium (convergence on minus off, same paths and seed); the Shapley attribution of the
    borrower's EL and PD to ``FACTOR_GROUPS`` (16 runs of the main pass without spreads, on
    the first ``attribution_paths`` paths: all when None).

    The numbers depend only on ``seed``, ``n_paths`` and the parameters, not on
    ``block_size`` or workers. The parameters are those of ``calibration`` (``"latest"``, the
    default, a stored id ``"cal-..."`` or ``"sourced"``; in the store ``db``), exactly as
    ``gpucredit run --calibration``, so the CLI and the API give the same numbers; explicit
    ``params`` and ``market`` (both, e.g. in tests) bypass it. The provenance names the
    ``calibration_id`` and ``data_hash`` used. ``progress(phase, done, total)`` is called as
    each phase advances: ``simulate``, ``fair spread: NAME, pass N``, the same prefixed
    ``convergence off: `` for the premium, and ``attribution`` (subsets run);
    ``progress=True`` shows a bar on standard error.

    ``target_se_bps`` (bp): run again with more paths, in whole granules of 256 from the same
    seed, until every facility's fair-spread standard error is below it or ``max_paths`` is
    reached (``simulate``'s rule); ``provenance["target_se"]`` says whether it was met.

    ``default_model`` and ``regime`` replace the miner's sections of those names
    (``simulate``'s rule).

    ``pricing``: the market prices of risk of the pricing measure Q under which
    ``fair_spread_bps`` is solved (``simulate``'s rule; ``docs/pricing.md``).
    ``spread_search``: how the fair spread is searched (``simulate``'s rule).
    """
    spec = with_options(spec, default_model, regime)
    if n_paths < 1 or block_size < 1 or seed < 0:
        raise ValueError("simulate_miner: n_paths and block_size >= 1, seed >= 0 expected")
    check_as_of(spec.as_of, f"miner {spec.name!r}")
    if params is None and market is None:
        source = resolve_parameters(calibration, db, spec.as_of)
        params, market = source.miner_params_for(spec)
        provenance = {**source.provenance(), **(provenance or {})}
    else:
        provenance = {"calibration_id": "explicit params", **(provenance or {})}
    if target_se_bps is not None:
        check_target(target_se_bps, n_paths, max_paths)

        def run_with(n: int) -> MinerResult:
            return simulate_miner(
                spec,
                n,
                seed,
                block_size,
                n_workers=n_workers,
                solve_fair_spread=solve_fair_spread,
                premium=premium,
                attribution=attribution,
                attribution_paths=attribution_paths,
                params=params,
                market=market,
                provenance=provenance,
                progress=progress,
                pricing=pricing,
                spread_search=spread_search,
            )

        result, target = run_to_target(
            run_with, lambda r: r.facilities, n_paths, target_se_bps, max_paths
        )
        return dataclasses.replace(result, provenance={**result.provenance, "target_se": target})
    model = build_miner_model(spec, params, market, pricing)
    workers = n_workers if n_workers is not None else default_workers()
    ranges = block_ranges(n_paths, block_size)
    cache: dict[tuple[int, frozenset[str], bool], MinerInputs] = {}
    # the fair-spread passes (with and without convergence) reuse the blocks' inputs, up to a
    # limit in path-months above which they simulate them again (same numbers, bounded memory)
    small = n_paths * model.grid.n_months <= CACHE_LIMIT_PATH_MONTHS
    kept = cache if solve_fair_spread and small else None

    report = progress if callable(progress) else None

    def run(
        m: MinerModel, prefix: str = ""
    ) -> tuple[tuple[FacilityMetrics, ...], list[SpreadSolution | None], _Totals]:
        tick = block_ticker(report, n_paths, f"{prefix}simulate")
        totals = _main_pass(m, seed, ranges, workers, cache=kept, on_block=tick)
        spreads: list[SpreadSolution | None] = [None] * len(m.names)
        q_spreads: list[SpreadSolution | None] = [None] * len(m.names)
        if solve_fair_spread:
            for k in range(len(m.names)):
                solved, values = _solve(
                    m,
                    k,
                    seed,
                    ranges,
                    workers,
                    cache,
                    report,
                    f"{prefix}fair spread",
                    search=spread_search,
                )
                spreads[k] = q_spreads[k] = solved
                if not m.pricing.is_zero:
                    q_spreads[k], _ = _solve(
                        m,
                        k,
                        seed,
                        ranges,
                        workers,
                        cache,
                        report,
                        f"{prefix}fair spread (Q)",
                        "Q",
                        spread_search,
                        (solved, values),
                    )
        return _metrics(m, totals, spreads, q_spreads), spreads, totals

    facilities, spreads, totals = run(model)
    duration = miner_duration(model, seed, ranges, cache, workers)
    prem: dict[str, dict[str, float | None]] | None = None
    if premium:
        off_facilities, _, off_totals = run(model.with_convergence(False), "convergence off: ")
        prem = {}
        for on, off in zip(facilities, off_facilities, strict=True):
            fair = (
                None
                if on.fair_spread_bps is None or off.fair_spread_bps is None
                else on.fair_spread_bps - off.fair_spread_bps
            )
            prem[on.name] = {
                "fair_spread_bps": fair,
                "expected_loss_usd": on.expected_loss_usd - off.expected_loss_usd,
                "pd": on.pd - off.pd,
            }
        prem["borrower"] = {
            "pd": (totals.borrower_defaults - off_totals.borrower_defaults) / n_paths,
            "expected_loss_usd": (totals.borrower_loss.total - off_totals.borrower_loss.total)
            / n_paths,
            "fair_spread_bps": None,
        }
    cache.clear()
    attr: Attribution | None = None
    if attribution:
        n_attr = min(n_paths, attribution_paths or n_paths)
        attr_ranges = block_ranges(n_attr, block_size)
        subsets = 2 ** len(FACTOR_GROUPS)  # attribute() runs each subset once
        runs = 0
        if report is not None:
            report("attribution", 0, subsets)

        def evaluate(active: frozenset[str]) -> dict[str, float]:
            nonlocal runs
            frozen = frozenset(FACTOR_GROUPS) - active
            t = _main_pass(model, seed, attr_ranges, workers, frozen)
            runs += 1
            if report is not None:
                report("attribution", min(runs, subsets), subsets)
            return {
                "expected_loss_usd": t.borrower_loss.total / n_attr,
                "pd": t.borrower_defaults / n_attr,
            }

        attr = attribute(FACTOR_GROUPS, evaluate)
    prov = {
        "seed": seed,
        "n_paths": n_paths,
        "version": __version__,
        "as_of": spec.as_of.isoformat(),
        "attribution_paths": min(n_paths, attribution_paths or n_paths) if attribution else 0,
        "spec_hash": spec_hash(spec),
        "convergence": {
            "enabled": spec.convergence.enabled,
            "stress_correlation": spec.convergence.stress_correlation,
            "copula": spec.convergence.copula,
        },
        "miner_market_sources": dict(model.market.sources),
        "convergence_sources": dict(model.convergence.sources),
        "market_prices_of_risk": dataclasses.asdict(model.pricing),
        "default_model": default_model_record(
            model.entities.stress_hazard_multiplier,
            model.entities.asset_correlation,
            model.params.regime,
        ),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **(provenance or {}),
    }
    return MinerResult(
        spec=spec,
        facilities=facilities,
        spreads=tuple(spreads),
        borrower_pd=totals.borrower_defaults / n_paths,
        borrower_el_usd=totals.borrower_loss.total / n_paths,
        premium=prem,
        attribution=attr,
        provenance=prov,
        duration=duration,
    )


def miner_duration(
    model: MinerModel,
    seed: int,
    ranges: list[tuple[int, int]],
    cache: dict[tuple[int, frozenset[str], bool], MinerInputs],
    workers: int = 1,
) -> tuple[DurationMismatch, ...]:
    """Every facility's duration mismatch (``credit.duration``), in the order of
    ``model.names``; blocks missing from ``cache`` are simulated again on ``workers`` threads.

    The structure's facilities are secured by the rigs and the hosting leases (ASIC value plus
    lease value), the margin loan by its pledged bitcoin (pledge x BTC price); each value at
    close is that of month 1 on the median path (every factor group frozen). The contracts are
    the hosting leases (their scheduled payments within the horizon). No liquidation haircut
    is applied at close: the realisable value is the appraised value (bitcoin is marked at the
    market).
    """
    n = model.grid.n_months
    enabled = model.convergence.enabled
    median = miner_inputs(model, seed, 0, 1, frozenset(FACTOR_GROUPS))
    margin = model.margin
    close_assets = float(median.cash.asic_value_usd[0, 0] + median.cash.lease_value_usd[0, 0])
    close_btc = 0.0 if margin is None else margin.pledged_btc * float(median.market.btc_usd[0, 0])
    assets, btc = ValueFan(n, close_assets), ValueFan(n, close_btc)

    def fans(start: int, stop: int) -> tuple[ValueFan, ValueFan]:
        key = (start, frozenset[str](), enabled)
        x = cache[key] if key in cache else miner_inputs(model, seed, start, stop)
        block_assets, block_btc = ValueFan(n, close_assets), ValueFan(n, close_btc)
        block_assets.add(x.cash.asic_value_usd + x.cash.lease_value_usd)
        if margin is not None:
            block_btc.add(margin.pledged_btc * x.market.btc_usd)
        return block_assets, block_btc

    for block_assets, block_btc in run_blocks(fans, ranges, n_workers=workers):
        assets.merge(block_assets)
        btc.merge(block_btc)
    leases = np.asarray(model.plan.lease_payment_usd, dtype=np.float64).sum(axis=0)
    live = np.flatnonzero(leases > 0.0)
    contracts = (weighted_average_life(leases), int(live[-1]) + 1) if live.size else (None, None)
    sofr = model.params.sofr.initial
    out: list[DurationMismatch] = []
    if model.structure is not None:
        out.extend(
            facility_mismatches(
                model.structure.facilities,
                contracts=contracts,
                sofr=sofr,
                fan=assets,
                appraised_value_usd=close_assets,
                realisable_value_usd=close_assets,
            )
        )
    if margin is not None:
        loan = LoanTerms(
            name=margin.name,
            principal_usd=margin.principal_usd,
            tenor_months=margin.tenor_months,
            floating=margin.floating,
            fixed_coupon=margin.fixed_coupon,
            margin=margin.margin,
            floor=margin.floor,
            amortisation="bullet",
            schedule_share=np.zeros(margin.tenor_months),
            issue_price=1.0,
            dsra_months=0.0,
            covenants=(),
            refinancing_max_ltv=0.0,
        )
        out.extend(
            facility_mismatches(
                (FacilityTerms(loan=loan),),
                contracts=contracts,
                sofr=sofr,
                fan=btc,
                appraised_value_usd=close_btc,
                realisable_value_usd=close_btc,
            )
        )
    return tuple(out)
