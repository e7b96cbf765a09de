"""The entry point of a deal: ``simulate``.

A single loan runs here: its block inputs (``inputs``), its waterfall, default and recovery
(``outcomes``) in the one main pass (``passes``), its fair spread under P and Q from the one
spread driver (``spreads``), then the deterministic figures (``deterministic``). A deal with
several facilities goes on to ``structure.simulate_structure``; the target-standard-error
loop (``credit.metrics.run_to_target``) wraps both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from gpucredit._progress import ProgressArg, accepts_progress_bar, block_ticker
from gpucredit._typing import Float64Array
from gpucredit.config.growth import expand_growth
from gpucredit.config.spec import DealSpec, DefaultModelSpec, RegimeSpec
from gpucredit.credit.collateral import CollateralAccumulator
from gpucredit.credit.duration import ValueFan
from gpucredit.credit.guarantees import guarantee_report
from gpucredit.credit.metrics import (
    CREDIT_LEDGER_FIELDS,
    MAX_TARGET_PATHS,
    CreditAccumulator,
    check_target,
    run_to_target,
    summarise,
)
from gpucredit.credit.outcomes import evaluate
from gpucredit.credit.pricing import with_pricing_measure
from gpucredit.credit.recovery import RecoveryModel
from gpucredit.credit.spread import SpreadSearch, SpreadSolution, spread_figures
from gpucredit.engine.runner import CACHE_LIMIT_PATH_MONTHS, balanced_ranges
from gpucredit.factors.options import with_options
from gpucredit.factors.parameter_source import DEFAULT_CALIBRATION, check_as_of
from gpucredit.factors.parameter_source import resolve as resolve_parameters
from gpucredit.factors.params import FactorParams
from gpucredit.pipeline.construction import construction_accumulator
from gpucredit.pipeline.deterministic import (
    breakeven_asked,
    close_collateral_value,
    glut_stress,
    noted_extras,
    origination_collateral,
)
from gpucredit.pipeline.duration import measure_duration
from gpucredit.pipeline.inputs import InputCache, SpreadInputs, block_inputs
from gpucredit.pipeline.model import (
    ALL_OUTPUTS,
    Backend,
    DealModel,
    RunConfig,
    RunOutputs,
    build_model,
)
from gpucredit.pipeline.named import with_scenario_model
from gpucredit.pipeline.outcomes import (
    UNLIMITED_USD,
    contracts_uplift,
    loan_waterfall,
    market_level,
    parent_recovery,
    run_recovery,
)
from gpucredit.pipeline.passes import PassTotals, run_pass
from gpucredit.pipeline.path_cube import loan_slice, paths_dataset
from gpucredit.pipeline.provenance import run_provenance
from gpucredit.pipeline.results import SimulationResult
from gpucredit.pipeline.spreads import (
    BlockPV,
    likelihood_ratios,
    nominal_spread,
    solve_under_p_and_q,
)
from gpucredit.pipeline.structure import simulate_structure
from gpucredit.scenarios.measure import MarketPricesOfRisk
from gpucredit.scenarios.named import get_scenario
from gpucredit.scenarios.shocks import MonteCarloShocks


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
    scenario: str | None = None,
    outputs: RunOutputs = ALL_OUTPUTS,
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

    ``scenario``: a named stress scenario (``scenarios.named.SCENARIOS``, ``gpucredit
    scenarios``) applied to the deal and its factor parameters before the run, which then goes
    through the same Monte Carlo code; its name is in ``provenance["scenario"]``. None (the
    default) and ``"base"`` give the same numbers bit for bit. An unknown name: ``SpecError``.

    ``outputs``: which optional outputs to compute (``pipeline.model.RunOutputs``: whose fair
    spreads, whether the breakeven rent, the structure report and the duration mismatch);
    default all. Those computed equal, bit for bit, a run's that computes everything.
    """
    named = None if scenario is None else get_scenario(scenario)
    report = progress if callable(progress) else None
    deal = expand_growth(with_options(deal, default_model, regime))
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
                scenario=scenario,
                outputs=outputs,
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
        outputs=outputs,
    )
    if named is not None:
        deal, params = named.deal_inputs(deal, params)
        provenance = {**provenance, "scenario": named.name}
    model = build_model(deal, params, recovery, pricing)
    if named is not None:
        model = with_scenario_model(model, named)
    if model.structure is not None:
        return simulate_structure(model, config, provenance=provenance, progress=report)
    source = MonteCarloShocks(seed)
    ranges = balanced_ranges(n_paths, block_size, config.workers)
    n_months = model.grid.n_months
    cache = InputCache(
        lambda a, b: SpreadInputs.of(block_inputs(model, source, a, b)),
        n_paths * n_months <= CACHE_LIMIT_PATH_MONTHS and solve_fair_spread,
    )
    keep = min(keep_paths, n_paths)

    recoverer = run_recovery(model)

    close_value = close_collateral_value(model)

    def main_block(start: int, stop: int) -> PassTotals:
        inputs = block_inputs(model, source, start, stop)
        cache.keep(start, SpreadInputs.of(inputs))
        cash, scen = inputs.cash, inputs.scenarios
        fields = None if start < keep else CREDIT_LEDGER_FIELDS  # kept paths show every field
        ledger = loan_waterfall(
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
            parent_recovery(
                model,
                ledger.default_month,
                cash.tenant_default_month,
                cash.cfads_usd,
                cash.cohort_value_usd,
                recoverer,
            ),
            scen.sofr,
            model.terms.principal_usd,
            extra_collateral=contracts_uplift(model, cash.tenant_default_month),
        )
        part = _empty_totals(n_months, close_value)
        part.facilities[0].add(outcomes, ledger)
        part.construction = construction_accumulator(model)
        if part.construction is not None:
            part.construction.add(cash, (outcomes,))
        assert part.collateral is not None and part.fan is not None
        part.collateral.add(outcomes, market_level(model, scen))
        if start < keep:
            cut = min(stop, keep) - start
            for name, value in loan_slice(inputs, ledger, cut).items():
                part.kept.add(name, value)
            part.kept.add("loss", outcomes.loss_usd[:cut])  # the loss-distribution chart's
        part.fan.add(cash.collateral_value_usd)
        part.add_guarantees(cash.guarantor_paid_usd)
        return part

    first = _empty_totals(n_months, close_value)
    first.construction = construction_accumulator(model)
    totals = run_pass(
        main_block,
        ranges,
        first,
        workers=config.workers,
        on_block=block_ticker(report, n_paths),
    )
    assert totals.collateral is not None and totals.fan is not None

    spreads: SpreadSolution | None = None
    q_spreads: SpreadSolution | None = None
    if config.solve_fair_spread and config.outputs.solves(model.terms.name):
        pv_block = _loan_pv(model, cache, recoverer, config.backend)
        spreads, q_spreads = solve_under_p_and_q(
            pv_block,
            model.terms.issue_price,
            ranges,
            workers=config.workers,
            search=spread_search,
            q_weights=None
            if model.pricing.is_zero
            else lambda a, b: likelihood_ratios(cache(a, b).log_weight, b - a),
            progress=report,
        )
    cache.clear()
    rent, generation = breakeven_asked(model, config.outputs, report)
    stress = glut_stress(model)
    collateral_report = origination_collateral(model, totals.collateral)
    metrics = summarise(
        totals.facilities[0],
        deal=deal.name,
        name=model.terms.name,
        principal_usd=model.terms.principal_usd,
        tenor_months=model.terms.tenor_months,
        issue_price=model.terms.issue_price,
        breakeven_rent=rent,
        breakeven_generation=generation,
        **spread_figures(spreads, nominal_spread(model.terms)),
    )
    metrics = noted_extras(with_pricing_measure(metrics, spreads, q_spreads), config.outputs)
    provenance = run_provenance(model, config, backend, provenance)
    paths = paths_dataset(model, totals.kept.stacked(), provenance) if keep else xr.Dataset()
    duration = (
        measure_duration(model, totals.fan, collateral_report) if config.outputs.extras else ()
    )
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
        guarantees=guarantee_report(deal, totals.guarantor_paid, totals.guarantor_paying),
        construction=None if totals.construction is None else totals.construction.report(),
    )


def _empty_totals(n_months: int, close_value_usd: float) -> PassTotals:
    """A single loan's main-pass totals before any path: its metrics, the collateral's
    recovery and wrong-way statistics, and the collateral-value fan from ``close_value_usd``."""
    return PassTotals(
        [CreditAccumulator(n_months)],
        collateral=CollateralAccumulator(),
        fan=ValueFan(n_months, close_value_usd),
    )


def _loan_pv(
    model: DealModel,
    inputs_of: InputCache[SpreadInputs],
    recovery: RecoveryModel,
    backend: Backend,
) -> BlockPV:
    """The single loan's PV per unit of par on a block at a coupon add-on (``spreads``): the
    promise on unlimited cash and collateral (``riskless``), or the risky cash flows."""

    def pv_block(add_on: float, riskless: bool, start: int, stop: int) -> Float64Array:
        terms = model.terms.with_add_on(add_on)
        x = inputs_of(start, stop)
        if riskless:
            big = np.full_like(x.sofr, UNLIMITED_USD)
            ledger = loan_waterfall(terms, big, big, x.sofr, backend, CREDIT_LEDGER_FIELDS)
        else:
            ledger = loan_waterfall(
                terms,
                x.cfads_usd,
                x.collateral_value_usd,
                x.sofr,
                backend,
                CREDIT_LEDGER_FIELDS,
            )
        out = evaluate(
            ledger,
            x.cohort_value_usd,
            recovery
            if riskless
            else parent_recovery(
                model,
                ledger.default_month,
                x.tenant_default_month,
                x.cfads_usd,
                x.cohort_value_usd,
                recovery,
            ),
            x.sofr,
            terms.principal_usd,
            extra_collateral=contracts_uplift(model, x.tenant_default_month),
        )
        return out.pv_per_par

    return pv_block
