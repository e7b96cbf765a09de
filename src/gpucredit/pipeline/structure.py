"""A capital structure end to end: ``simulate_structure`` and its deal-level report.

The same stages as a single loan (``inputs``, ``passes``, ``spreads``); the waterfall is the
structure engine and the recovery is shared out by ``credit.allocation`` (``outcomes``). Each
facility's fair spread is solved with the others at their written terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import xarray as xr

from gpucredit._progress import ProgressCallback, block_ticker
from gpucredit._typing import Float64Array
from gpucredit.assets.concentration import customer_concentration
from gpucredit.credit.collateral import CollateralAccumulator
from gpucredit.credit.duration import ValueFan
from gpucredit.credit.entity_risk import entity_record
from gpucredit.credit.guarantees import guarantee_report
from gpucredit.credit.metrics import (
    RATIO_RESOLUTION,
    CreditAccumulator,
    FacilityMetrics,
    summarise,
    with_public_terms,
)
from gpucredit.credit.pricing import with_pricing_measure
from gpucredit.credit.recovery import RecoveryModel
from gpucredit.credit.spread import SpreadSolution, spread_figures
from gpucredit.debt.facilities import StructureTerms
from gpucredit.debt.sculpting import cover_ratio
from gpucredit.debt.structure import StructureLedger
from gpucredit.engine.runner import CACHE_LIMIT_PATH_MONTHS, balanced_ranges
from gpucredit.pipeline.construction import construction_accumulator
from gpucredit.pipeline.deterministic import (
    breakeven_asked,
    close_collateral_value,
    glut_stress,
    noted_extras,
    origination_collateral,
    run_structure_deterministic,
)
from gpucredit.pipeline.duration import measure_duration
from gpucredit.pipeline.inputs import InputCache, SpreadInputs, block_inputs
from gpucredit.pipeline.model import Backend, DealModel, RunConfig, step_labels
from gpucredit.pipeline.outcomes import (
    SPREAD_LEDGER_FIELDS,
    BlockValues,
    combined_outcomes,
    market_level,
    parent_fleet_sale,
    run_recovery,
    run_structure_block,
    structure_block_values,
    structure_outcomes,
)
from gpucredit.pipeline.passes import DealAccumulator, PassTotals, run_pass
from gpucredit.pipeline.path_cube import structure_dataset, structure_slice
from gpucredit.pipeline.provenance import run_provenance
from gpucredit.pipeline.results import SimulationResult, StructureReport
from gpucredit.pipeline.spreads import (
    BlockPV,
    likelihood_ratios,
    nominal_spread,
    solve_under_p_and_q,
)
from gpucredit.scenarios.shocks import MonteCarloShocks
from gpucredit.stats import ExactSum


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
    ranges = balanced_ranges(config.n_paths, config.block_size, config.workers)
    n_months = model.grid.n_months
    n_fac = len(structure.facilities)
    n_steps = len(structure.steps)
    keep = min(config.keep_paths, config.n_paths)

    def make(start: int, stop: int) -> tuple[SpreadInputs, np.ndarray, BlockValues]:
        inputs = block_inputs(model, source, start, stop)
        x = SpreadInputs.of(inputs)
        return x, inputs.scenarios.credit_window(), structure_block_values(model, structure, x)

    cache = InputCache(
        make,
        config.n_paths * n_months <= CACHE_LIMIT_PATH_MONTHS and config.solve_fair_spread,
    )
    recoverer = run_recovery(model)
    close_value = close_collateral_value(model)

    def empty() -> PassTotals:
        return PassTotals(
            [CreditAccumulator(n_months) for _ in range(n_fac)],
            collateral=CollateralAccumulator(),
            deal=DealAccumulator(n_months),
            fan=ValueFan(n_months, close_value),
            construction=construction_accumulator(model),
        )

    def main_block(start: int, stop: int) -> PassTotals:
        inputs = block_inputs(model, source, start, stop)
        x = SpreadInputs.of(inputs)
        window = (
            inputs.scenarios.credit_window()
        )  # refinancing: the credit window, not the GPU regime
        values = structure_block_values(model, structure, x)
        cache.keep(start, (x, window, values))
        ledger, outs = run_structure_block(
            model, structure, x, recoverer, window, backend=config.backend, block_values=values
        )
        part = empty()
        assert part.collateral is not None and part.deal is not None and part.fan is not None
        for acc, out, fl in zip(part.facilities, outs, ledger.facilities, strict=True):
            acc.add(out, fl)
        if part.construction is not None:
            part.construction.add(inputs.cash, outs)
        part.collateral.add(combined_outcomes(outs, ledger), market_level(model, inputs.scenarios))
        llcr, plcr = cover_ratios(structure, ledger, x.sofr, x.collateral_value_usd)
        part.deal.add(ledger, llcr, plcr, n_steps)
        part.deal.add_recoveries(outs)
        if model.plan.parent_entity >= 0:
            part.deal.add_parent(ledger, x.tenant_default_month[:, model.plan.parent_entity])
        co_sale = parent_fleet_sale(model)
        if co_sale is not None:
            t_p = x.tenant_default_month[:, model.plan.parent_entity]
            t = ledger.default_month
            part.deal.add_co_sale(
                outs,
                structure_outcomes(model, structure, ledger, x, recoverer),
                (t > 0) & (t >= t_p) & (t < t_p + co_sale[1]),
            )
        if start < keep:
            for name, value in structure_slice(
                inputs, ledger, llcr, min(stop, keep) - start
            ).items():
                part.kept.add(name, value)
            cut = min(stop, keep) - start  # each facility's loss: the loss-distribution chart's
            part.kept.add("loss", np.stack([o.loss_usd[:cut] for o in outs], axis=1))
        part.fan.add(x.collateral_value_usd)
        part.add_guarantees(inputs.cash.guarantor_paid_usd)
        return part

    totals = run_pass(
        main_block,
        ranges,
        empty(),
        workers=config.workers,
        on_block=block_ticker(progress, config.n_paths),
    )
    assert totals.collateral is not None and totals.deal is not None and totals.fan is not None

    solutions: list[SpreadSolution | None] = [None] * n_fac
    q_solutions: list[SpreadSolution | None] = [None] * n_fac
    if config.solve_fair_spread:
        for k in range(n_fac):
            if not config.outputs.solves(structure.names[k]):
                continue  # not asked for: reported as not solved, as with no spreads at all
            # a convertible is solved as straight debt; its option is valued below
            pv_block = _facility_pv(
                model, k, cache, recoverer, config.backend, without_option(structure, k)
            )
            price = structure.facilities[k].loan.issue_price
            solutions[k], q_solutions[k] = solve_under_p_and_q(
                pv_block,
                price,
                ranges,
                workers=config.workers,
                search=config.spread_search,
                q_weights=None
                if model.pricing.is_zero
                else lambda a, b: likelihood_ratios(cache(a, b)[0].log_weight, b - a),
                progress=progress,
                name=f"{structure.names[k]}, ",
            )
    options = _option_values(model, config, cache, recoverer, ranges, solutions, q_solutions)
    cache.clear()
    rent, generation = breakeven_asked(model, config.outputs, progress)
    stress = glut_stress(model)
    collateral_report = origination_collateral(model, totals.collateral)
    facilities = tuple(
        with_pricing_measure(
            summarise(
                totals.facilities[k],
                deal=deal.name,
                name=f.name,
                principal_usd=f.committed_usd,
                tenor_months=f.tenor_months,
                issue_price=f.loan.issue_price,
                breakeven_rent=rent,
                breakeven_generation=generation,
                **spread_figures(solutions[k], nominal_spread(f.loan)),
            ),
            solutions[k],
            q_solutions[k],
        )
        for k, f in enumerate(structure.facilities)
    )
    facilities = tuple(_with_option(m, options[k]) for k, m in enumerate(facilities))
    facilities = tuple(with_public_terms(m, deal.facilities) for m in facilities)
    facilities = tuple(noted_extras(m, config.outputs) for m in facilities)
    report = structure_report(model, totals.deal) if config.outputs.extras else None
    prov = run_provenance(model, config, f"{config.backend} (capital structure)", provenance)
    paths = structure_dataset(model, totals.kept.stacked(), prov) if keep else xr.Dataset()
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
        duration=measure_duration(model, totals.fan, collateral_report)
        if config.outputs.extras
        else (),
        guarantees=guarantee_report(deal, totals.guarantor_paid, totals.guarantor_paying),
        construction=None if totals.construction is None else totals.construction.report(),
    )


def _option_values(
    model: DealModel,
    config: RunConfig,
    cache: InputCache[tuple[SpreadInputs, np.ndarray, BlockValues]],
    recovery: RecoveryModel,
    ranges: list[tuple[int, int]],
    solutions: list[SpreadSolution | None],
    q_solutions: list[SpreadSolution | None],
) -> list[tuple[float | None, float | None] | None]:
    """Each convertible's equity option in spread, decimal a year, under P and Q; None for the
    other facilities.

    The convertible's PV with its conversion and soft call less its PV as straight debt,
    both at the straight debt's fair add-on ``x*``, over the straight PV's slope there:
    ``(PV_conv(x*) - PV_straight(x*)) / PV'(x*)``. Two passes per measure over the paths
    kept for the solve; the Q means weighted by dQ/dP. Zero where it never converts."""
    structure = model.structure
    assert structure is not None
    out: list[tuple[float | None, float | None] | None] = []
    for k, f in enumerate(structure.facilities):
        if f.conversion_price_usd is None or solutions[k] is None:
            out.append(None)
            continue
        pv_block = _facility_pv(model, k, cache, recovery, config.backend)
        pv_straight = _facility_pv(
            model, k, cache, recovery, config.backend, without_option(structure, k)
        )
        values: list[float | None] = []
        for sol, weighted in ((solutions[k], False), (q_solutions[k], True)):
            if sol is None or sol.risky_add_on is None or not sol.risky_slope:
                values.append(None)
                continue
            # exact sums: the same whatever the block split (PV per unit of par, ratios)
            total, weight = ExactSum(RATIO_RESOLUTION), ExactSum(RATIO_RESOLUTION)
            for start, stop in ranges:
                pv = pv_block(sol.risky_add_on, False, start, stop)
                pv = pv - pv_straight(sol.risky_add_on, False, start, stop)
                w = (
                    likelihood_ratios(cache(start, stop)[0].log_weight, stop - start)
                    if weighted and not model.pricing.is_zero
                    else np.ones(stop - start)
                )
                total.add(w * pv)
                weight.add(w)
            values.append(total.total / weight.total / sol.risky_slope)
        out.append((values[0], values[1]))
    return out


def _with_option(
    metrics: FacilityMetrics, option: tuple[float | None, float | None] | None
) -> FacilityMetrics:
    """A convertible's ``metrics`` (solved as straight debt) with its option: the straight
    spreads kept as ``straight_*``, the fair spreads less the option (P and Q, bp)."""
    if option is None:
        return metrics
    p_opt, q_opt = option
    p_straight, q_straight = metrics.actuarial_spread_bps, metrics.fair_spread_bps

    def less(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a - b * 1e4

    fair = less(q_straight, q_opt)
    actuarial = less(p_straight, p_opt)
    return replace(
        metrics,
        straight_spread_bps=q_straight,
        straight_actuarial_spread_bps=p_straight,
        fair_spread_bps=fair,
        actuarial_spread_bps=actuarial,
        spread_gap_bps=None if fair is None else metrics.market_spread_bps - fair,
        risk_premium_bps=None if fair is None or actuarial is None else fair - actuarial,
    )


def without_option(structure: StructureTerms, k: int) -> StructureTerms:
    """``structure`` with facility ``k`` as straight debt: a convertible's conversion, soft
    call and put removed (other facilities, and ``k`` if not a convertible, as they are)."""
    f = structure.facilities[k]
    if f.conversion_price_usd is None:
        return structure
    facilities = list(structure.facilities)
    facilities[k] = replace(f, conversion_price_usd=None, soft_call_month=0, put_month=0)
    return replace(structure, facilities=tuple(facilities))


def _facility_pv(
    model: DealModel,
    k: int,
    inputs_of: InputCache[tuple[SpreadInputs, np.ndarray, BlockValues]],
    recovery: RecoveryModel,
    backend: Backend,
    structure: StructureTerms | None = None,
) -> BlockPV:
    """Facility ``k``'s PV per unit of par on a block at a coupon add-on, the other facilities
    as written (``spreads``); ``riskless``: the structure run default-free. ``structure``:
    the model's when omitted."""
    assert model.structure is not None
    base = model.structure if structure is None else structure

    def pv_block(add_on: float, riskless: bool, start: int, stop: int) -> Float64Array:
        structure = base.with_add_on(k, add_on)
        x, regime, values = inputs_of(start, stop)
        _, outs = run_structure_block(
            model,
            structure,
            x,
            recovery,
            regime,
            riskless,
            backend=backend,
            fields=SPREAD_LEDGER_FIELDS,
            block_values=values,
        )
        return outs[k].pv_per_par

    return pv_block


def cover_ratios(
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


def structure_report(model: DealModel, acc: DealAccumulator) -> StructureReport:
    assert model.structure is not None
    inputs, ledger = run_structure_deterministic(model)
    llcr, plcr = cover_ratios(
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
        real_estate=model.real_estate,
        real_estate_share=tuple(
            r.total / t.total if t.total > 0.0 else None
            for r, t in zip(acc.from_real_estate, acc.recovered, strict=True)
        ),
        parent=parent_figures(model, acc),
    )


def parent_figures(model: DealModel, acc: DealAccumulator) -> dict[str, Any] | None:
    """The deal's parent as the report shows it (JSON-ready), or None without one: its links,
    P PD and any Q hazard, the share of paths on which it defaults within the horizon, and per
    facility the share of paths on which the facility defaults in or after the parent's
    default month (``pd_after_parent_default``), is accelerated in that month by the
    cross-default (``pd_parent_cross_default``), or is paid by the guarantee
    (``share_paths_supported``, with the mean USD paid per path)."""
    parent = model.deal.parent
    assert model.structure is not None
    if parent is None or acc.paths == 0:
        return None
    n = acc.paths
    record = entity_record(parent.name, parent.rating, parent.annual_pd_pct, model.deal.as_of)
    facilities: dict[str, dict[str, float | None]] = {}
    for k, name in enumerate(model.structure.names):
        if not acc.parent_after:
            break
        facilities[name] = {
            "pd_after_parent_default": acc.parent_after[k] / n,
            "pd_parent_cross_default": acc.parent_cross[k] / n,
            "share_paths_supported": acc.parent_supported[k] / n,
            "mean_support_usd": acc.parent_support_usd[k].mean()
            if acc.parent_support_usd[k].count
            else 0.0,
            **co_sale_figures(acc, k),
        }
    servicer = parent.servicer
    sale = parent_fleet_sale(model)
    return {
        **record,
        "recourse": parent.recourse,
        "guarantee_cap_usd": parent.guarantee_cap_usd,
        "cross_default": parent.cross_default,
        "servicer": None
        if servicer is None
        else {
            "downtime_months": servicer.downtime_months,
            "replacement_cost_pct_of_revenue": servicer.replacement_cost_pct_of_revenue,
        },
        "default_rate_horizon": acc.parent_defaults / n,
        "facilities": facilities,
        "fleet_sold_on_default": sale is not None,
        "fleet_units_by_pool": {} if sale is None else dict(sale[0]),
        "fleet_sale_months": None if sale is None else sale[1],
        "stay_months": parent.stay_months,
        "bankruptcy_cost_pct": parent.bankruptcy_cost_pct,
        "contracts_terminated_on_servicer_default": [
            c.name or f"contracts[{i}]"
            for i, c in enumerate(model.deal.contracts)
            if c.terminates_on_servicer_default
        ],
    }


def co_sale_figures(acc: DealAccumulator, k: int) -> dict[str, float | None]:
    """Facility ``k``'s losses with the parent's fleet co-sold and alone (EAD-weighted LGD over
    its defaulted paths; the mean over them of the PV per unit of par the co-sale costs, which
    counts the later or cheaper sale even where the debt is still repaid; and the share of its
    defaulted paths whose sale meets the parent's); empty where nothing is co-sold."""
    if not acc.co_sale_paths:
        return {}
    ead = acc.co_sale_ead[k].total
    hits = acc.co_sale_ead[k].count
    return {
        "share_defaults_co_sold": acc.co_sale_paths[k] / hits if hits else None,
        "lgd_co_sold": acc.co_sale_loss[k].total / ead if ead > 0.0 else None,
        "lgd_alone": acc.alone_loss[k].total / ead if ead > 0.0 else None,
        "pv_cost_per_par_co_sold": acc.co_sale_pv_cost[k].mean() if hits else None,
    }
