"""The asset side of a block of paths: scenarios and asset cash flows, for a fleet and for a
miner (stages 2 and 3 of DESIGN.md section 1), and the cache that lets the fair-spread passes
reuse them (nothing here depends on a coupon).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from gpucredit._typing import Float64Array, Int64Array
from gpucredit.assets.fleet import (
    AssetCashflows,
    ConstructionDraws,
    construction_draws,
    project,
    tenant_default_months,
)
from gpucredit.assets.miner import MinerCashflows, project_miner
from gpucredit.factors.equity import equity_normals, share_price_paths
from gpucredit.pipeline.miner_model import MinerModel
from gpucredit.pipeline.model import DealModel
from gpucredit.random import Component, draw_paths
from gpucredit.scenarios.measure import log_weight_normal, pricing_log_weights
from gpucredit.scenarios.miner import MinerMarketPaths, freeze_gpu_normals, simulate_miner_market
from gpucredit.scenarios.scenario import ScenarioSet, n_factors, simulate_scenarios
from gpucredit.scenarios.shocks import MonteCarloShocks, Shocks, ShockSource


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
    #: Each cohort's delivery delay, months, shape (path, cohort); None: on schedule.
    delivery_delay_months: Int64Array | None = None
    #: The borrower's share price as a diffusion (``factors.equity``), USD, (path, month);
    #: None: the fleet-value share price (or no equity).
    share_price_usd: Float64Array | None = None

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
            cash.delivery_delay_months,
            inputs.share_price_usd,
        )


@dataclass(frozen=True, slots=True)
class BlockInputs:
    """The asset side of a block: everything the waterfall and recovery need."""

    scenarios: ScenarioSet
    cash: AssetCashflows
    #: Each path's ``log dQ/dP``, shape (path,); None where the prices of risk are zero.
    log_weight: Float64Array | None = None
    #: The borrower's share price as a diffusion, USD, (path, month); None without one.
    share_price_usd: Float64Array | None = None


def block_share_price(
    model: DealModel, source: ShockSource, shocks: Shocks, sofr: Float64Array, start: int, stop: int
) -> Float64Array | None:
    """The share price of paths ``[start, stop)`` when the structure's equity is a diffusion
    (``factors.equity``): the fleet's rent shocks and the share's own stream (none on a
    deterministic source: its median path); None otherwise."""
    equity = None if model.structure is None else model.structure.equity
    if equity is None or equity.model != "diffusion":
        return None
    fleet = np.asarray(shocks.normals[:, :, 0], dtype=np.float64)
    own = (
        equity_normals(source.seed, start, stop, fleet.shape[1])
        if isinstance(source, MonteCarloShocks)
        else np.zeros_like(fleet)
    )
    return share_price_paths(
        equity.share_price_usd,
        equity.vol,
        equity.rho_fleet,
        sofr,
        fleet,
        own,
        model.pricing.lambda_rent,
    )


def block_inputs(
    model: DealModel,
    source: ShockSource,
    start: int,
    stop: int,
    entity_default_month: Int64Array | None = None,
) -> BlockInputs:
    """The asset side of paths ``[start, stop)``; ``entity_default_month`` (path, entity): the
    entities' default months as a book decided them (None: drawn from ``source``)."""
    shocks = source.draw(
        start,
        stop,
        model.grid.n_months,
        n_factors(model.params),
        model.plan.n_tenants,
        model.plan.n_parent_draws,
    )
    scen = simulate_scenarios(model.params, model.grid, shocks)
    cash = project(
        model.plan,
        scen,
        buyer_decay_per_year=model.buyer_decay_per_year,
        construction=block_construction(model, source, start, stop),
        entity_default_month=entity_default_month,
    )
    log_weight = None
    if not model.pricing.is_zero:
        log_weight = pricing_log_weights(
            model.pricing,
            model.params.regime,
            regime=scen.regime,
            rent_normals=shocks.normals[:, :, 0],
            entity_factor=shocks.entity_factor,
            has_entities=model.plan.n_entities > 0,
        )
    share = block_share_price(model, source, shocks, scen.sofr, start, stop)
    return BlockInputs(scen, cash, log_weight, share)


def block_construction(
    model: DealModel, source: ShockSource, start: int, stop: int
) -> ConstructionDraws | None:
    """The block's delivery delays and cost overruns (``assets.fleet.construction_draws``):
    drawn on Monte Carlo paths of a deal with construction risk; None (every delivery on
    schedule) on the deterministic paths (base case, stresses) and for a deal without it."""
    if model.plan.construction is None or not isinstance(source, MonteCarloShocks):
        return None
    return construction_draws(model.plan, source.seed, start, stop)


@dataclass(frozen=True, slots=True)
class MinerInputs:
    """The asset side of one block (independent of every coupon)."""

    scen: ScenarioSet
    market: MinerMarketPaths
    cash: MinerCashflows
    lease_failure_month: Int64Array
    #: Each path's ``log dQ/dP`` (unfrozen runs with a non-zero price of risk), shape (path,).
    log_weight: Float64Array | None = None
    #: The miner's own GPU fleet projected by ``assets.fleet.project``; None: no GPU fleet.
    fleet: AssetCashflows | None = None

    @property
    def net_cash_usd(self) -> Float64Array:
        """The cash the debt program is paid from, USD per month, shape (path, month): the
        mining (and hosting) net cash plus the GPU fleet's CFADS (``cash.net_cash_usd``
        exactly when there is no GPU fleet)."""
        if self.fleet is None:
            return self.cash.net_cash_usd
        return np.asarray(self.cash.net_cash_usd + self.fleet.cfads_usd, dtype=np.float64)


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
    fleet = (
        None
        if model.fleet is None
        else _miner_fleet(model, scen, used, seed, (start, stop), frozen)
    )
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
    return MinerInputs(scen, market, cash, failure, log_weight, fleet)


def _miner_fleet(
    model: MinerModel,
    scen: ScenarioSet,
    used: Shocks,
    seed: int,
    paths: tuple[int, int],
    frozen: frozenset[str],
) -> AssetCashflows:
    """The miner's own GPU fleet on the miner's GPU scenario (the rent bitcoin is correlated
    with), projected by the GPU deals' ``project``. Its tenants' copula factor is the path's
    rent shock (``gpu_market_factor``, as for the hosting tenants); their uniforms are a
    stream of their own (``Component.MINER_GPU_TENANTS``), so a GPU fleet leaves every other
    draw of the miner unchanged; a frozen ``gpu_rent`` lets none of them default."""
    assert model.fleet is not None
    start, stop = paths
    n_entities = len(model.fleet.entity_names)
    if n_entities == 0 or "gpu_rent" in frozen:
        uniforms = np.ones((stop - start, n_entities))
    else:
        uniforms = draw_paths(
            seed,
            Component.MINER_GPU_TENANTS,
            start,
            stop,
            lambda rng, n: 1.0 - rng.random((n, n_entities)),
        )
    fleet_scen = dataclasses.replace(
        scen, tenant_uniforms=uniforms, entity_factor=gpu_market_factor(used)
    )
    return project(model.fleet, fleet_scen, buyer_decay_per_year=model.buyer_decay_per_year)


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


T = TypeVar("T")


class InputCache(Generic[T]):
    """A run's block inputs, kept by the main pass for the later passes over the same paths.

    The asset side of a block never changes with a coupon, so the fair-spread passes read a
    kept block instead of simulating it again. ``keep`` is False above a size limit in
    path-months (``engine.runner.CACHE_LIMIT_PATH_MONTHS``) and where no later pass needs
    them: a block is then simulated again by ``make(start, stop)`` (the same numbers, memory
    bounded by the block size).
    """

    def __init__(self, make: Callable[[int, int], T], keep: bool) -> None:
        self._make = make
        self._keep = keep
        self._blocks: dict[int, T] = {}

    def __call__(self, start: int, stop: int) -> T:
        """The inputs of paths ``[start, stop)``: kept, or made again."""
        kept = self._blocks.get(start)
        return kept if kept is not None else self._make(start, stop)

    def keep(self, start: int, value: T) -> None:
        """Keep ``value`` as the inputs of the block starting at path ``start`` (if keeping)."""
        if self._keep:
            self._blocks[start] = value

    def clear(self) -> None:
        """Drop every kept block."""
        self._blocks.clear()
