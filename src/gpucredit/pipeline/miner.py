"""A miner end to end: ``simulate_miner``.

A miner is an asset model and its debt steps, not a second pipeline: a block's inputs are
``inputs.miner_inputs`` (GPU scenario, miner market, miner cash flows), its debt side the
margin loan's ladder beside the structure's waterfall (``gpucredit.miners``); the main pass
is ``passes.run_pass``, each facility's fair spread ``spreads.solve_facility_spread``. On top:
the double-leverage premium (the same run with convergence off) and the Shapley attribution
of the borrower's EL and PD to ``FACTOR_GROUPS`` (main passes with groups frozen).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gpucredit._progress import ProgressArg, accepts_progress_bar, block_ticker
from gpucredit._typing import Float64Array
from gpucredit.config.miner import MinerSpec
from gpucredit.config.spec import DefaultModelSpec, RegimeSpec
from gpucredit.credit.attribution import Attribution, attribute
from gpucredit.credit.metrics import (
    MAX_TARGET_PATHS,
    CreditAccumulator,
    FacilityMetrics,
    check_target,
    run_to_target,
    summarise,
    with_public_terms,
)
from gpucredit.credit.pricing import with_pricing_measure
from gpucredit.credit.spread import SpreadSearch, SpreadSolution, spread_figures
from gpucredit.engine.runner import CACHE_LIMIT_PATH_MONTHS, block_ranges
from gpucredit.factors.miner_params import MinerMarketParams
from gpucredit.factors.options import with_options
from gpucredit.factors.parameter_source import (
    DEFAULT_CALIBRATION,
    MINER_GPU_GENERATION,
    check_as_of,
)
from gpucredit.factors.parameter_source import resolve as resolve_parameters
from gpucredit.factors.params import FactorParams
from gpucredit.pipeline.duration import miner_duration
from gpucredit.pipeline.inputs import InputCache, MinerInputs, miner_inputs
from gpucredit.pipeline.miner_debt import promised_margin_pv, run_miner_debt
from gpucredit.pipeline.miner_model import FACTOR_GROUPS, MinerModel, build_miner_model
from gpucredit.pipeline.model import RunConfig
from gpucredit.pipeline.passes import PassTotals, run_pass
from gpucredit.pipeline.provenance import miner_provenance
from gpucredit.pipeline.results import MinerResult
from gpucredit.pipeline.spreads import (
    BlockPV,
    likelihood_ratios,
    nominal_spread,
    solve_under_p_and_q,
)
from gpucredit.scenarios.measure import MarketPricesOfRisk


def _main_pass(
    model: MinerModel,
    seed: int,
    ranges: list[tuple[int, int]],
    workers: int,
    frozen: frozenset[str] = frozenset(),
    cache: InputCache[MinerInputs] | None = None,
    on_block: Callable[[int], None] | None = None,
    keep: dict[int, tuple[Float64Array, Float64Array]] | None = None,
) -> PassTotals:
    """The miner's main pass (``passes.run_pass``): every facility's metrics, the borrower's
    defaults and loss; the blocks' inputs kept in ``cache`` for the fair-spread passes.
    ``keep``: each block's per-path default indicators and losses (USD), shape (path,
    facility + 1) with the borrower last, by the block's first path (the premium curve's
    paired standard errors)."""
    n = model.grid.n_months
    n_fac = len(model.names)

    def block(start: int, stop: int) -> PassTotals:
        x = miner_inputs(model, seed, start, stop, frozen)
        if cache is not None:
            cache.keep(start, x)
        out = run_miner_debt(model, x, model.structure, model.margin)
        totals = PassTotals([CreditAccumulator(n) for _ in range(n_fac)])
        for acc, o, ledger in zip(totals.facilities, out.outcomes, out.ledgers, strict=True):
            acc.add(o, ledger)
        totals.paths = stop - start
        totals.borrower_defaults = int((out.borrower_default_month > 0).sum())
        loss = sum((o.loss_usd for o in out.outcomes), np.zeros(stop - start))
        totals.borrower_loss.add(loss)
        if keep is not None:
            keep[start] = (
                np.column_stack(
                    [*(o.default_month > 0 for o in out.outcomes), out.borrower_default_month > 0]
                ).astype(np.float64),
                np.column_stack([*(o.loss_usd for o in out.outcomes), loss]),
            )
        return totals

    total = PassTotals([CreditAccumulator(n) for _ in range(n_fac)])
    return run_pass(block, ranges, total, workers=workers, on_block=on_block)


def _facility_pv(model: MinerModel, k: int, inputs: InputCache[MinerInputs]) -> BlockPV:
    """Facility ``k``'s PV per unit of par on a block at a coupon add-on (the margin loan is
    the last index), the others as written (``spreads``)."""
    n_struct = len(model.structure.facilities) if model.structure is not None else 0

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
            return promised_margin_pv(margin, x.scen.sofr)
        out = run_miner_debt(model, x, structure, margin, riskless)
        return out.outcomes[k].pv_per_par

    return pv_block


def _nominal(model: MinerModel, k: int) -> float:
    n_struct = len(model.structure.facilities) if model.structure is not None else 0
    if k < n_struct:
        return nominal_spread(model.structure.facilities[k].loan)  # type: ignore[union-attr]
    assert model.margin is not None
    return nominal_spread(model.margin)


def _principal(model: MinerModel, k: int) -> tuple[float, int, float]:
    n_struct = len(model.structure.facilities) if model.structure is not None else 0
    if k < n_struct:
        f = model.structure.facilities[k]  # type: ignore[union-attr]
        return f.committed_usd, f.tenor_months, f.loan.issue_price
    assert model.margin is not None
    return model.margin.principal_usd, model.margin.tenor_months, 1.0


def _metrics(
    model: MinerModel,
    totals: PassTotals,
    spreads: list[SpreadSolution | None],
    q_spreads: list[SpreadSolution | None] | None = None,
) -> tuple[FacilityMetrics, ...]:
    """Each facility's metrics: ``spreads`` solved under P, ``q_spreads`` under Q."""
    out = []
    for k, name in enumerate(model.names):
        principal, tenor, price = _principal(model, k)
        s = spreads[k]
        metrics = summarise(
            totals.facilities[k],
            deal=model.spec.name,
            name=name,
            principal_usd=principal,
            tenor_months=tenor,
            issue_price=price,
            breakeven_rent=None,
            breakeven_generation=MINER_GPU_GENERATION,
            **spread_figures(s, _nominal(model, k)),
        )
        metrics = with_pricing_measure(metrics, s, None if q_spreads is None else q_spreads[k])
        out.append(with_public_terms(metrics, model.spec.facilities))
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
    premium_curve: bool | None = None,
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

    ``premium_curve``: the double-leverage premium over the stress correlations of the spec's
    ``premium_curve`` section, each point the miner re-run with convergence on towards that
    correlation minus convergence off, on the first ``min(n_paths, premium_curve.paths)``
    paths and the same seed (``premium_point``); None follows the section's ``enabled``
    (default: on for a miner with a ``gpu_fleet``).
    """
    spec = with_options(spec, default_model, regime)
    # the run settings a deal's run validates (``RunConfig``): a miner has no path cube
    config = RunConfig(
        n_paths=n_paths,
        seed=seed,
        block_size=block_size,
        keep_paths=0,
        n_workers=n_workers,
        solve_fair_spread=solve_fair_spread,
        spread_search=spread_search,
    )
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
                premium_curve=premium_curve,
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
    workers = config.workers
    ranges = block_ranges(n_paths, block_size)
    # the fair-spread passes reuse the blocks' inputs, up to a limit in path-months above
    # which they simulate them again (same numbers, bounded memory)
    small = n_paths * model.grid.n_months <= CACHE_LIMIT_PATH_MONTHS

    report = progress if callable(progress) else None

    def run(
        m: MinerModel,
        prefix: str = "",
        paths: list[tuple[int, int]] | None = None,
        keep: dict[int, tuple[Float64Array, Float64Array]] | None = None,
    ) -> tuple[
        tuple[FacilityMetrics, ...],
        list[SpreadSolution | None],
        PassTotals,
        InputCache[MinerInputs],
    ]:
        blocks = ranges if paths is None else paths
        cache = InputCache(lambda a, b: miner_inputs(m, seed, a, b), solve_fair_spread and small)
        tick = block_ticker(report, blocks[-1][1], f"{prefix}simulate")
        totals = _main_pass(m, seed, blocks, workers, cache=cache, on_block=tick, keep=keep)
        spreads: list[SpreadSolution | None] = [None] * len(m.names)
        q_spreads: list[SpreadSolution | None] = [None] * len(m.names)
        if solve_fair_spread:
            for k, name in enumerate(m.names):
                pv_block = _facility_pv(m, k, cache)
                price = _principal(m, k)[2]
                spreads[k], q_spreads[k] = solve_under_p_and_q(
                    pv_block,
                    price,
                    blocks,
                    workers=workers,
                    search=spread_search,
                    q_weights=None
                    if m.pricing.is_zero
                    else lambda a, b: likelihood_ratios(cache(a, b).log_weight, b - a),
                    progress=report,
                    prefix=prefix,
                    name=f"{name}, ",
                )
        return _metrics(m, totals, spreads, q_spreads), spreads, totals, cache

    facilities, spreads, totals, cache = run(model)
    duration = miner_duration(model, seed, ranges, cache, workers)
    cache.clear()
    prem: dict[str, dict[str, float | None]] | None = None
    curve_on = spec.premium_curve.enabled
    if premium_curve is not None:
        curve_on = premium_curve
    elif curve_on is None:
        curve_on = spec.gpu_fleet is not None
    n_curve = min(n_paths, spec.premium_curve.paths)
    curve_ranges = block_ranges(n_curve, block_size)
    off_kept: dict[int, tuple[Float64Array, Float64Array]] = {}
    off_run: tuple[tuple[FacilityMetrics, ...], dict[int, tuple[Float64Array, Float64Array]]]
    off_run = ((), off_kept)
    if premium:
        off_facilities, _, off_totals, off_cache = run(
            model.with_convergence(False),
            "convergence off: ",
            keep=off_kept if curve_on and n_curve == n_paths else None,
        )
        off_run = (off_facilities, off_kept)
        off_cache.clear()
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
    curve: list[dict[str, Any]] | None = None
    if curve_on:
        if not off_kept:  # the curve's own convergence-off run on its paths
            off_run = (
                run(
                    model.with_convergence(False),
                    "curve, convergence off: ",
                    curve_ranges,
                    off_kept,
                )[0],
                off_kept,
            )
        curve = []
        for rho in spec.premium_curve.correlations:
            try:
                point_model = model.with_stress_correlation(rho)
            except ValueError as problem:  # a correlation matrix that is not positive definite
                curve.append({"stress_correlation": rho, "note": str(problem)})
                continue
            kept: dict[int, tuple[Float64Array, Float64Array]] = {}
            on_facilities = run(point_model, f"premium curve {rho:g}: ", curve_ranges, kept)[0]
            curve.append(premium_point(rho, model.names, (on_facilities, kept), off_run))
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
    attr_paths = min(n_paths, attribution_paths or n_paths) if attribution else 0
    prov = miner_provenance(model, seed, n_paths, attr_paths, provenance)
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
        premium_curve=None if curve is None else {"paths": n_curve, "points": curve},
    )


def premium_point(
    rho: float,
    names: tuple[str, ...],
    on: tuple[tuple[FacilityMetrics, ...], dict[int, tuple[Float64Array, Float64Array]]],
    off: tuple[tuple[FacilityMetrics, ...], dict[int, tuple[Float64Array, Float64Array]]],
) -> dict[str, Any]:
    """One point of the premium curve: convergence on towards ``rho`` minus off, on the same
    paths (common random numbers), per facility and for the borrower.

    PD and EL (USD) differences carry their paired Monte Carlo standard error
    ``std(on_i - off_i) / sqrt(n)`` over paths ``i``. The fair-spread differences (bp, P and
    Q) carry ``sqrt(se_on^2 + se_off^2)``: each solve's own standard error, combined as if
    the two runs were independent, an upper bound (common random numbers correlate them
    positively)."""
    on_metrics, on_kept = on
    off_metrics, off_kept = off
    starts = sorted(on_kept)
    d_on = np.concatenate([on_kept[s][0] for s in starts])
    d_off = np.concatenate([off_kept[s][0] for s in starts])
    l_on = np.concatenate([on_kept[s][1] for s in starts])
    l_off = np.concatenate([off_kept[s][1] for s in starts])
    n = d_on.shape[0]

    def paired(diff: Float64Array) -> tuple[float, float]:
        se = float(diff.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
        return float(diff.mean()), se

    def spread(
        a: float | None, a_se: float | None, b: float | None, b_se: float | None
    ) -> tuple[float | None, float | None]:
        if a is None or b is None:
            return None, None
        se = None if a_se is None or b_se is None else float(np.hypot(a_se, b_se))
        return a - b, se

    out: dict[str, Any] = {"stress_correlation": rho}
    for k, name in enumerate((*names, "borrower")):
        pd, pd_se = paired(d_on[:, k] - d_off[:, k])
        el, el_se = paired(l_on[:, k] - l_off[:, k])
        row: dict[str, float | None] = {
            "pd": pd,
            "pd_se": pd_se,
            "expected_loss_usd": el,
            "el_se_usd": el_se,
            "fair_spread_bps": None,
            "fair_spread_se_bps": None,
            "actuarial_spread_bps": None,
            "actuarial_spread_se_bps": None,
        }
        if k < len(names):
            a, b = on_metrics[k], off_metrics[k]
            q, q_se = spread(
                a.fair_spread_bps, a.fair_spread_se_bps, b.fair_spread_bps, b.fair_spread_se_bps
            )
            p, p_se = spread(
                a.actuarial_spread_bps,
                a.actuarial_spread_se_bps,
                b.actuarial_spread_bps,
                b.actuarial_spread_se_bps,
            )
            row |= {
                "fair_spread_bps": q,
                "fair_spread_se_bps": q_se,
                "actuarial_spread_bps": p,
                "actuarial_spread_se_bps": p_se,
            }
        out[name] = row
    return out
