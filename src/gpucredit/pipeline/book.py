"""A book of loans on shared paths (issue 14): ``simulate_book``.

Every deal of the book runs on the same factor paths (one ``FactorParams`` over all the book's
GPU generations, one regime chain, one credit window, sliced to each deal's horizon), and each
company is one default time whatever deal names it: the book draws the companies' thresholds
once (one uniform per company, the shared copula factor) and hands every deal its companies'
months (``assets.fleet.entity_months``). On each block of paths:

1. **Without contagion**: every deal with the companies' own default months.
2. **Transmission**: the deals in the order of the company graph (a deal after every deal whose
   borrower it names); a borrower's default month becomes its company's default month in
   every later deal if it comes first (a tenant's default cuts its landlord's revenue from that
   month, a parent's default accelerates its SPVs, ...). A deal whose companies' months did
   not move keeps its block of step 1.
3. **Fire sales**: the defaulted deals' collateral is sold into the same secondary markets.
   Each lender's sale is its best response to the others' units in each calendar month
   (``book.fire_sale.SharedMarketRecovery``); the rounds repeat until no path's units move by
   more than ``FIRE_SALE_TOLERANCE_UNITS`` or ``FIRE_SALE_MAX_ROUNDS`` is reached, and the
   paths still moving are counted.
4. **Marks**: the month's clearing price of all lenders' units marks every deal's appraisals
   (LTV covenants, borrowing bases, refinancing tests); steps 2-4 repeat at the new marks until
   they settle (``book.fire_sale.fire_sale_fixed_point``: ``m = I(S(m))``, ``MARK_TOLERANCE``,
   at most ``MARK_MAX_ROUNDS`` runs).

Each position's loss is its share of its facility's loss (USD, real-world measure P). The
blocks are merged in path order by exact accumulators (``book.losses.LossAccumulator``), so the
figures do not depend on the block size, the worker count or the executor (threads, or a Dask
cluster through ``engine.distributed``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from gpucredit._typing import BoolArray, Float64Array, Int64Array
from gpucredit.assets.fleet import entity_risks, tenant_default_months
from gpucredit.assets.hazards import PdBasis, tight_regime_hazard
from gpucredit.book.fire_sale import SharedMarketRecovery, fire_sale_fixed_point
from gpucredit.book.graph import Chain, CompanyGraph, company_graph, transmission_chains
from gpucredit.book.losses import (
    Concentration,
    ContagionPremium,
    LossAccumulator,
    LossSummary,
    concentration,
    contagion_premium,
)
from gpucredit.book.tranches import (
    PoolCashFlows,
    TrancheClass,
    TrancheMetrics,
    Waterfall,
    evaluate_tranches,
)
from gpucredit.config.book import Book
from gpucredit.config.spec import DealSpec
from gpucredit.credit.liquidation import SecondaryMarket
from gpucredit.credit.outcomes import CreditOutcomes, discount_factors
from gpucredit.credit.recovery import RecoveryModel
from gpucredit.debt.ledger import DebtLedger
from gpucredit.engine.runner import block_ranges
from gpucredit.factors.parameter_source import DEFAULT_CALIBRATION, check_as_of
from gpucredit.factors.parameter_source import resolve as resolve_parameters
from gpucredit.factors.params import FactorParams
from gpucredit.factors.processes import markov_regimes
from gpucredit.market.ratings import annual_default_rate
from gpucredit.market.shipments import market_pool
from gpucredit.pipeline.inputs import SpreadInputs, block_inputs
from gpucredit.pipeline.model import Backend, DealModel, build_model
from gpucredit.pipeline.outcomes import (
    block_outcomes,
    loan_waterfall,
    run_recovery,
    run_structure_block,
)
from gpucredit.pipeline.results import ResultViews
from gpucredit.random import Component, draw_paths
from gpucredit.scenarios.scenario import n_factors
from gpucredit.scenarios.shocks import MonteCarloShocks, Shocks

__all__ = [
    "FIRE_SALE_MAX_ROUNDS",
    "FIRE_SALE_TOLERANCE_UNITS",
    "BookModel",
    "BookResult",
    "PositionResult",
    "build_book",
    "simulate_book",
]

#: Rounds of the fire-sale fixed point at most. ASSUMPTION: 25; the sequential best responses
#: settle in 5-7 rounds on the example book, and a path still moving after 25 is counted and
#: reported.
FIRE_SALE_MAX_ROUNDS = 25
#: A path has converged when no lender's units offered in any month move by more than this
#: between rounds (GPUs). ASSUMPTION: 1e-6 of a GPU, far below a unit that changes a price.
FIRE_SALE_TOLERANCE_UNITS = 1e-6
#: Rounds of the marks' fixed point at most (appraisals marked at the month's clearing price,
#: the defaults and sales they cause, the next marks). ASSUMPTION: 10; the marks settle in 2-3
#: rounds on the example book (a mark moves only when a new default adds a sale).
MARK_MAX_ROUNDS = 10
#: Marks have converged when none moves by more than this between rounds (decimal of the
#: reference price). ASSUMPTION: 1e-9, far below a mark that changes a covenant test.
MARK_TOLERANCE = 1e-9
#: Paths whose pool cash flows the ABS keeps for its waterfall and fair spreads (the tranche
#: metrics are computed on the first ``min(n_paths, ABS_MAX_PATHS)`` paths, stated in the
#: result). ASSUMPTION: 20,000 paths x 120 months x 5 arrays is ~100 MB.
ABS_MAX_PATHS = 20_000
#: The book's loss levels: the issue's 99% and 99.9%.
BOOK_LEVELS = (0.99, 0.999)


@dataclass(frozen=True, slots=True)
class Position:
    """A position of the book: its deal (index into ``BookModel.models``), its facility (index
    of the deal's outcomes) and the share of the facility held (decimal)."""

    name: str
    deal: int
    facility: int
    share: float
    held_usd: float
    borrower: str
    generation_units: tuple[tuple[str, float], ...]
    tenant_units: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class BookEntities:
    """The book's companies whose default is drawn, as ``assets.fleet.EntityRisk``."""

    n_months: int
    entity_monthly_hazard: Float64Array
    stress_hazard_multiplier: float
    asset_correlation: float

    @property
    def n_entities(self) -> int:
        return int(self.entity_monthly_hazard.shape[0])


@dataclass(frozen=True, slots=True)
class BookModel:
    """A book made ready for simulation.

    Attributes
    ----------
    book : Book
        The validated book.
    models : tuple of DealModel
        One per deal, on the book's factor parameters.
    order : tuple of int
        The deals in the order they run (a deal after every deal whose borrower it names).
    companies : tuple of str
        The companies with a drawn default time (the deals' tenants, guarantors, parents).
    entities : BookEntities
        Their hazards, over the book's horizon.
    columns : tuple of ndarray
        Per deal, the company index of each of its plan's entities.
    borrower : tuple of int
        Per deal, the company index of its borrower (-1 when no deal names it).
    positions : tuple of Position
    graph : CompanyGraph
        The company graph (topological order), for the transmission chains.
    n_months : int
        The book's horizon: the longest deal's.
    """

    book: Book
    models: tuple[DealModel, ...]
    order: tuple[int, ...]
    companies: tuple[str, ...]
    entities: BookEntities
    columns: tuple[Int64Array, ...]
    borrower: tuple[int, ...]
    positions: tuple[Position, ...]
    graph: CompanyGraph
    n_months: int
    n_factors: int
    provenance: dict[str, str]
    #: The waterfalls' engine: "numba" (compiled) or "numpy" (the reference loop, for the
    #: benchmark's ratio and the oracle tests); the same numbers either way.
    backend: Backend = "numba"

    @property
    def abs_positions(self) -> tuple[int, ...]:
        """Indices of the positions in the ABS pool (all when the ABS names none)."""
        return _abs_indices(self.book, self.positions)


def _abs_indices(book: Book, positions: Sequence[Position]) -> tuple[int, ...]:
    """Indices of the positions in the book's ABS pool (all when it names none; none without
    an ABS)."""
    spec = book.spec.abs
    if spec is None:
        return ()
    if spec.positions is None:
        return tuple(range(len(positions)))
    names = [p.name for p in positions]
    return tuple(names.index(n) for n in spec.positions)


def _facilities(model: DealModel) -> list[tuple[str, float]]:
    """Each facility's name and face (principal at as-of plus every draw still to come), USD."""
    if model.structure is None:
        return [(model.terms.name, model.terms.principal_usd)]
    return [
        (f.loan.name, f.loan.principal_usd + float(np.sum(f.draw_usd)))
        for f in model.structure.facilities
    ]


def _book_pd(
    book: Book, name: str, typed: list[tuple[str, float, PdBasis]]
) -> tuple[float, PdBasis]:
    """The company's annual PD and basis: the book's ``companies`` entry, else the one every
    deal naming it agrees on (a ``SpecError`` names two that differ)."""
    given = book.spec.companies.get(name)
    if given is not None:
        pd = (
            annual_default_rate(given.rating)
            if given.rating is not None
            else float(given.annual_pd_pct or 0.0) / 100.0
        )
        basis: PdBasis = "through_the_cycle"
        return pd, basis
    first = typed[0]
    for other in typed[1:]:
        if other[1:] != first[1:]:
            names = [d.name for d in book.deals]
            raise book.issue(
                book.deal_field(names.index(other[0])),
                f"{name!r}: annual PD {first[1]:.4%} ({first[2]}) in {first[0]!r}, "
                f"{other[1]:.4%} ({other[2]}) in {other[0]!r}",
                f"one risk per company in a book: give it once under 'companies: {name}:' "
                "(a rating or an annual_pd_pct)",
            )
    return first[1], first[2]


def _has_cycle(deals: Sequence[DealSpec]) -> bool:
    try:
        company_graph(deals)
    except ValueError:
        return True
    return False


def _deal_order(book: Book, borrower_of: Sequence[str], names: Sequence[set[str]]) -> list[int]:
    """Kahn's order of the deals: deal ``j`` after deal ``i`` when ``j`` names ``i``'s borrower;
    ties in the book's order. A cycle is refused (the company graph names it first)."""
    n = len(borrower_of)
    after = [[j for j in range(n) if j != i and borrower_of[i] in names[j]] for i in range(n)]
    indegree = [0] * n
    for targets in after:
        for j in targets:
            indegree[j] += 1
    ready = [i for i in range(n) if indegree[i] == 0]
    order: list[int] = []
    while ready:
        i = ready.pop(0)
        order.append(i)
        for j in after[i]:
            indegree[j] -= 1
            if indegree[j] == 0:
                ready.append(j)
                ready.sort()
    if len(order) != n:
        stuck = [book.deals[i].name for i in range(n) if i not in order]
        raise book.issue(
            "positions", stuck, "deals whose borrowers do not name each other in a cycle"
        )
    return order


def build_book(
    book: Book,
    *,
    calibration: str = DEFAULT_CALIBRATION,
    db: Path | str | None = None,
    params: FactorParams | None = None,
    backend: Backend = "numba",
) -> BookModel:
    """Prepare a book: its deals on one set of factor parameters, its companies and positions.
    ``backend``: the waterfalls' engine ("numba", or the "numpy" reference).

    Raises
    ------
    SpecError
        A company with two risks, a cycle, an unknown facility or ABS position, a deal whose
        regime or default model differs from the others'.
    """
    deals = book.deals
    as_of = deals[0].as_of
    check_as_of(as_of, book.source)
    generations = tuple(dict.fromkeys(c.generation for d in deals for c in d.fleet))
    provenance: dict[str, str]
    if params is None:
        chosen = resolve_parameters(calibration, db, as_of)
        params = chosen.factor_params(generations, as_of)
        provenance = chosen.provenance()
    else:
        provenance = {"calibration_id": "explicit params"}
    models = tuple(build_model(d, params) for d in deals)
    first = models[0]
    for m in models[1:]:
        same = (
            m.params.regime == first.params.regime
            and m.plan.asset_correlation == first.plan.asset_correlation
            and m.plan.stress_hazard_multiplier == first.plan.stress_hazard_multiplier
        )
        same = same and m.pricing == first.pricing
        if not same:
            raise book.issue(
                "positions",
                f"{m.deal.name!r}",
                f"the same regime chain, default model and pricing measure as "
                f"{first.deal.name!r} (a book's deals share their paths, their companies' "
                "copula and the measure its tranches are priced under)",
            )
    try:
        graph = company_graph(deals)
    except ValueError as exc:
        closing = next(i for i in range(len(deals)) if _has_cycle(deals[: i + 1]))
        found = str(exc).removeprefix("a cycle in the book's company graph: ")
        raise book.issue(
            book.deal_field(closing),
            deals[closing].name,
            f"a deal whose company links close no cycle (with the deals before it: {found})",
        ) from None
    typed: dict[str, list[tuple[str, float, PdBasis]]] = {}
    for d in deals:
        for name, pd, basis in entity_risks(d):
            typed.setdefault(name, []).append((d.name, pd, basis))
    for name in book.spec.companies:
        if name not in typed:
            raise book.issue(
                f"companies.{name}", name, f"a company a deal of the book names ({sorted(typed)})"
            )
    companies = tuple(c for c in graph.companies if c in typed)
    n_months = max(m.grid.n_months for m in models)
    regime = first.params.regime
    multiplier = first.plan.stress_hazard_multiplier
    hazards = []
    for name in companies:
        pd, basis = _book_pd(book, name, typed[name])
        hazards.append(
            tight_regime_hazard(
                pd,
                basis,
                multiplier=multiplier,
                regime=regime,
                n_months=n_months,
            )
        )
    entities = BookEntities(
        n_months, np.array(hazards, dtype=np.float64), multiplier, first.plan.asset_correlation
    )
    index = {c: k for k, c in enumerate(companies)}
    columns = tuple(
        np.array([index[e] for e in m.plan.entity_names], dtype=np.int64) for m in models
    )
    borrower = tuple(index.get(d.borrower.name, -1) for d in deals)
    names = [set(m.plan.entity_names) for m in models]
    order = tuple(_deal_order(book, [d.borrower.name for d in deals], names))
    positions = _positions(book, models)
    if book.spec.abs is not None and book.spec.abs.positions is not None:
        known = [p.name for p in positions]
        for j, name in enumerate(book.spec.abs.positions):
            if name not in known:
                raise book.issue(f"abs.positions[{j}]", name, f"one of the positions {known}")
    if book.spec.abs is not None:
        for k, j in enumerate(_abs_indices(book, positions)):
            p = positions[j]
            structure = models[p.deal].structure
            if structure is not None and np.sum(structure.facilities[p.facility].draw_usd) > 0:
                raise book.issue(
                    "abs.positions" if book.spec.abs.positions is None else f"abs.positions[{k}]",
                    p.name,
                    "positions fully drawn at as-of (a pool holds what its loans owe; a draw "
                    "still to come would add to it)",
                )
    return BookModel(
        book=book,
        models=models,
        order=order,
        companies=companies,
        entities=entities,
        columns=columns,
        borrower=borrower,
        positions=positions,
        graph=graph,
        n_months=n_months,
        n_factors=n_factors(params),
        provenance=provenance,
        backend=backend,
    )


def _positions(book: Book, models: Sequence[DealModel]) -> tuple[Position, ...]:
    out: list[Position] = []
    for i, (pos, d) in enumerate(zip(book.spec.positions, book.position_deal, strict=True)):
        model = models[d]
        facilities = _facilities(model)
        names = [f[0] for f in facilities]
        if pos.facility is not None and pos.facility not in names:
            raise book.issue(f"positions[{i}].facility", pos.facility, f"one of {names}")
        picked = range(len(facilities)) if pos.facility is None else [names.index(pos.facility)]
        gens: dict[str, float] = {}
        for c in model.deal.fleet:
            gens[c.generation] = gens.get(c.generation, 0.0) + float(c.units)
        tenants: dict[str, float] = {}
        for contract in model.deal.contracts:
            tenants[contract.tenant] = tenants.get(contract.tenant, 0.0) + float(contract.units)
        merchant = sum(gens.values()) - sum(tenants.values())
        if merchant > 0.0:
            tenants["(merchant)"] = merchant
        for k in picked:
            face = facilities[k][1]
            if pos.held_usd is not None:
                if pos.held_usd > face * (1.0 + 1e-12):
                    raise book.issue(
                        f"positions[{i}].held_usd",
                        pos.held_usd,
                        f"at most the facility's face, {face:,.0f} USD",
                    )
                share = pos.held_usd / face
            else:
                share = (pos.share_pct or 100.0) / 100.0
            label = pos.name if pos.name is not None and len(picked) == 1 else None
            if label is None:
                base = f"{model.deal.name} / {names[k]}"
                label = base if pos.name is None else f"{pos.name} / {names[k]}"
            out.append(
                Position(
                    name=label,
                    deal=d,
                    facility=k,
                    share=share,
                    held_usd=share * face,
                    borrower=model.deal.borrower.name,
                    generation_units=tuple(gens.items()),
                    tenant_units=tuple(tenants.items()),
                )
            )
    labels = [p.name for p in out]
    if len(set(labels)) != len(labels):
        dup = next(n for n in labels if labels.count(n) > 1)
        raise book.issue("positions", dup, "positions with distinct names (give each a 'name')")
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _SlicedShocks:
    """The book's shocks of one block as a deal's ``ShockSource``: the first ``n_months`` of
    the shared paths (the deal's own uniforms are unused: its entities' months are given)."""

    shocks: Shocks
    start: int
    stop: int

    def draw(
        self,
        start: int,
        stop: int,
        n_months: int,
        n_factors: int,
        n_tenants: int,
        n_parents: int = 0,
    ) -> Shocks:
        if (start, stop) != (self.start, self.stop) or n_factors != self.shocks.normals.shape[2]:
            raise ValueError("a book's deal drew another block or factor set than the book's")
        s = self.shocks
        credit = None if s.credit_uniforms is None else s.credit_uniforms[:, :n_months]
        return Shocks(
            normals=np.ascontiguousarray(s.normals[:, :n_months, :]),
            regime_uniforms=np.ascontiguousarray(s.regime_uniforms[:, :n_months]),
            tenant_uniforms=np.ones((stop - start, n_tenants + n_parents)),
            entity_factor=s.entity_factor,
            credit_uniforms=None if credit is None else np.ascontiguousarray(credit),
        )


@dataclass(frozen=True, slots=True)
class _Assets:
    """One deal's asset side on a block, for its entities' months ``tau``."""

    x: SpreadInputs
    window: Any  # the credit window's regimes (structures' refinancing), (path, month)
    tau: Int64Array


@dataclass(slots=True)
class _DealRun:
    """One deal on one block: its asset side, ledger and outcomes."""

    x: SpreadInputs
    ledger: Any  # DebtLedger or StructureLedger
    facilities: tuple[DebtLedger, ...]
    outcomes: tuple[CreditOutcomes, ...]
    tau: Int64Array
    own: Int64Array | None = None
    marked: bool = False

    @property
    def default_month(self) -> Int64Array:
        return np.asarray(self.ledger.default_month, dtype=np.int64)


def _assets(
    model: DealModel, source: _SlicedShocks, start: int, stop: int, tau: Int64Array
) -> _Assets:
    """Deal ``model``'s asset side on a block with its entities' months ``tau``."""
    inputs = block_inputs(model, source, start, stop, tau)
    return _Assets(SpreadInputs.of(inputs), inputs.scenarios.credit_window(), tau)


def _debt(
    model: DealModel,
    assets: _Assets,
    backend: Backend,
    recovery: RecoveryModel,
    own: Int64Array | None = None,
    marks: Float64Array | None = None,
) -> _DealRun:
    """Deal ``model``'s waterfall and outcomes on its asset side, its sales priced by
    ``recovery`` (the block's one memoised market of the deal, ``run_recovery``). ``own``: when
    the book draws its borrower as a company, the borrower's own default month (a
    cross-default); ``marks`` (path, month, cohort): the fire sale's multipliers on the
    appraised cohort values."""
    x = assets.x
    if model.structure is None:
        collateral = x.collateral_value_usd
        if marks is not None:
            # a path whose marks are all 1 keeps the projection's sum to the bit, so that its
            # figures never depend on the other paths of its block
            marked = (marks != 1.0).any(axis=(1, 2))
            collateral = np.ascontiguousarray(
                np.where(marked[:, None], (x.cohort_value_usd * marks).sum(axis=2), collateral)
            )
        ledger = loan_waterfall(model.terms, x.cfads_usd, collateral, x.sofr, backend, None, own)
        outs = block_outcomes(model, ledger, x, recovery)
        return _DealRun(x, ledger, (ledger,), outs, assets.tau, own, marks is not None)
    sledger, souts = run_structure_block(
        model,
        model.structure,
        x,
        recovery,
        assets.window,
        backend=backend,
        borrower_default_month=own,
        appraisal_marks=marks,
    )
    return _DealRun(x, sledger, sledger.facilities, souts, assets.tau, own, marks is not None)


def _company_months(bm: BookModel, shocks: Shocks) -> Int64Array:
    """Each company's own default month on a block, (path, company): its threshold from its
    uniform and the shared factor against its hazard clock on the book's regime path (the
    regime chain every deal of the book runs on)."""
    regime = markov_regimes(bm.models[0].params.regime, shocks.regime_uniforms)
    return tenant_default_months(bm.entities, shocks.tenant_uniforms, regime, shocks.entity_factor)


def _own_tau(bm: BookModel, d: int, tau: Int64Array) -> Int64Array | None:
    """Deal ``d``'s borrower's own default month when the book draws it as a company (other
    deals name it), past the deal's horizon: never; None otherwise."""
    c = bm.borrower[d]
    if c < 0:
        return None
    never = bm.models[d].grid.n_months + 1
    return np.ascontiguousarray(np.minimum(tau[:, c], never), dtype=np.int64)


def _same(a: Int64Array | None, b: Int64Array | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))


def _deal_tau(bm: BookModel, d: int, tau: Int64Array) -> Int64Array:
    """Deal ``d``'s entities' months from the companies' (past its horizon: never)."""
    never = bm.models[d].grid.n_months + 1
    cols = bm.columns[d]
    return np.ascontiguousarray(np.minimum(tau[:, cols], never), dtype=np.int64)


@dataclass(frozen=True, slots=True)
class BookBlock:
    """What one block of paths gives the book's accumulators (all USD, P measure).

    ``losses``/``losses_alone``: (path, position) with and without contagion; ``losses_1y``:
    with contagion, defaults in months 1-12 only; ``default_month``: (path, position), 0 for
    none; ``company_month``: (path, company in the graph's order), 0-based, -1 none;
    ``rounds``: the last fire-sale rounds of the block; ``unconverged``: paths still moving.
    """

    start: int
    losses: Float64Array
    losses_alone: Float64Array
    losses_1y: Float64Array
    default_month: Int64Array
    company_month: Int64Array
    losses_1y_alone: Float64Array
    rounds: int
    unconverged: int
    pool: tuple[Float64Array, ...] | None
    sofr: Float64Array | None
    #: Rounds of the marks' fixed point, paths whose marks still moved after the last, and the
    #: lowest clearing multiplier of the block (1: no fire sale).
    mark_rounds: int = 0
    mark_unconverged: int = 0
    lowest_mark: float = 1.0


def _fire_sale(
    bm: BookModel, runs: Mapping[int, _DealRun], n: int
) -> tuple[dict[int, tuple[CreditOutcomes, ...]], int, int, dict[int, dict[str, Float64Array]]]:
    """The fire-sale fixed point of the recoveries on a block (Gauss-Seidel best responses).

    Each round, every defaulted deal in the run order sells as its best response to the units
    the other lenders offer in their latest schedules (of this round for the deals before it,
    of the round before for those after). Simultaneous (Jacobi) rounds can cycle between two
    schedules (each lender sells fast when the other sells slowly); sequential rounds settled
    in 5-7 on the example book. Returns the outcomes, the rounds used, the paths still moving
    after ``FIRE_SALE_MAX_ROUNDS`` (0 when converged) and each seller's units offered per pool
    and calendar month, (path, month)."""
    outs = {d: runs[d].outcomes for d in runs}
    sellers = [
        d
        for d in bm.order
        if bm.models[d].recovery is bm.models[d].market and bool((runs[d].default_month > 0).any())
    ]
    offered: dict[int, dict[str, Float64Array]] = {d: {} for d in sellers}
    if not sellers:
        return outs, 0, 0, offered
    rows = {d: np.flatnonzero(runs[d].default_month > 0) for d in sellers}
    seen: dict[int, dict[str, Float64Array]] = {}
    final = dict(outs)
    final_offered: dict[int, dict[str, Float64Array]] = {d: {} for d in sellers}
    frozen = np.zeros(n, dtype=np.bool_)
    for rounds in range(1, FIRE_SALE_MAX_ROUNDS + 1):
        moving = np.zeros(n, dtype=np.bool_)
        prefix, suffix = _round_sums(bm, sellers, offered, n)
        evaluated: list[int] = []
        for d in sellers:
            model, run = bm.models[d], runs[d]
            live = rows[d][~frozen[rows[d]]]
            if live.size == 0:
                # Every path it sells on has converged: those paths keep their outcomes.
                _add_offers(prefix, offered[d])
                continue
            # The others' units: this round's offers of the sellers before ``d`` plus the last
            # round's of those after it (Gauss-Seidel), one sum per pool, not one per pair.
            others = {pool: prefix[pool] + suffix[pool][d] for pool in model.market.pools}
            if d in seen and all(
                np.array_equal(others[pool][live], seen[d][pool][live]) for pool in others
            ):
                # A path's sale reads the others' units on that path only: unchanged on its
                # paths still moving, its outcomes and offers there are its last evaluation's.
                _add_offers(prefix, offered[d])
                continue
            seen[d] = others
            shared = SharedMarketRecovery(model.market, others, rows[d])
            outs[d] = block_outcomes(model, run.ledger, run.x, shared)
            evaluated.append(d)
            for pool, units in shared.offered.items():
                before = offered[d].get(pool)
                change = units if before is None else units - before
                moving |= np.abs(change).max(axis=1) > FIRE_SALE_TOLERANCE_UNITS
            offered[d] = shared.offered
            _add_offers(prefix, offered[d])
        for d in evaluated:
            final[d] = tuple(
                _keep_rows(a, b, frozen) for a, b in zip(final[d], outs[d], strict=True)
            )
            final_offered[d] = {
                pool: np.where(frozen[:, None], final_offered[d].get(pool, 0.0), units)
                for pool, units in offered[d].items()
            }
        if rounds > 1 or len(sellers) == 1:
            # A path converges in the first round after the first (the only one, for a lone
            # seller) in which no lender's units on it moved; it keeps that round's outcomes
            # and offers whatever the block's other paths do, so the figures do not depend on
            # which paths share its block.
            frozen |= ~moving
            if frozen.all():
                return final, rounds, 0, final_offered
    return final, FIRE_SALE_MAX_ROUNDS, int(np.sum(~frozen)), final_offered


def _round_sums(
    bm: BookModel,
    sellers: Sequence[int],
    offered: Mapping[int, Mapping[str, Float64Array]],
    n: int,
) -> tuple[dict[str, Float64Array], dict[str, dict[int, Float64Array]]]:
    """At the start of a fire-sale round, per pool: a zero running sum (the offers of this
    round's sellers so far, ``_add_offers``) and, per seller, the sum of the last round's offers
    of the sellers after it (path, calendar month; GPUs). Each sum is a fixed function of the
    offers it adds, in the sellers' order, so an unchanged input gives the same bits."""
    pools = list(dict.fromkeys(p for d in sellers for p in bm.models[d].market.pools))
    prefix = {pool: np.zeros((n, bm.n_months)) for pool in pools}
    suffix: dict[str, dict[int, Float64Array]] = {pool: {} for pool in pools}
    for pool in pools:
        after = np.zeros((n, bm.n_months))
        for d in reversed(sellers):
            suffix[pool][d] = after
            units = offered[d].get(pool)
            if units is not None:
                after = units + after
    return prefix, suffix


def _add_offers(prefix: dict[str, Float64Array], offers: Mapping[str, Float64Array]) -> None:
    """Add a seller's offers (path, calendar month; GPUs) to the round's running sums."""
    for pool, units in offers.items():
        if pool in prefix:
            prefix[pool] = prefix[pool] + units


def _keep_rows(kept: CreditOutcomes, new: CreditOutcomes, rows: BoolArray) -> CreditOutcomes:
    """``new`` with ``kept``'s values on ``rows`` (per-path arrays; other fields from ``new``)."""
    if kept is new or not rows.any():
        return new
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(new):
        a, b = getattr(kept, f.name), getattr(new, f.name)
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            changes[f.name] = np.where(rows, a, b)
    return dataclasses.replace(new, **changes)


def _book_market(bm: BookModel) -> tuple[list[str], dict[str, SecondaryMarket]]:
    """The book's secondary-market pools (sorted) and each pool's market (every deal's on the
    one as-of date). One impact law for all: the fixed point clears every pool with it."""
    market: dict[str, SecondaryMarket] = {}
    for m in bm.models:
        for pool in m.market.pools:
            market.setdefault(pool, m.market.market(pool))
    pools = sorted(market)
    params = {market[p].params for p in pools}
    if len(params) > 1:
        raise ValueError(f"the book's pools {pools} have different price-impact laws")
    return pools, market


def _deal_marks(
    bm: BookModel, d: int, marks: Mapping[str, Float64Array] | None
) -> Float64Array | None:
    """Deal ``d``'s multipliers on its cohorts' appraised values, (path, month, cohort); None
    when no pool it holds is marked down."""
    if not marks:
        return None
    model = bm.models[d]
    h = model.grid.n_months
    pools = [market_pool(g)[0] for g in model.plan.cohort_generation]
    if not any(p in marks for p in pools):
        return None
    n = next(iter(marks.values())).shape[0]
    cols = [marks[p][:, :h] if p in marks else np.ones((n, h)) for p in pools]
    return np.ascontiguousarray(np.stack(cols, axis=2))


def book_block(bm: BookModel, seed: int, start: int, stop: int) -> BookBlock:
    """One block of paths of the book, with and without contagion (pure: the same numbers for
    the same paths, on any worker).

    Without contagion, each deal runs once with its companies' drawn months. With it, rounds
    repeat until the marks settle: the deals run in the graph's order, each borrower's default
    passed on to the deals that name it (transmission) and each deal's appraisals marked down
    by the month's clearing prices of the round before; then the recoveries' fire sale; the
    units it sells give the next round's marks (``MARK_MAX_ROUNDS``, ``MARK_TOLERANCE``).
    """
    n = stop - start
    shocks = MonteCarloShocks(seed).draw(start, stop, bm.n_months, bm.n_factors, 0)
    uniforms = draw_paths(
        seed,
        Component.BOOK_COMPANIES,
        start,
        stop,
        lambda rng, k: 1.0 - rng.random((k, len(bm.companies))),
    )
    factor = draw_paths(
        seed, Component.ENTITY_FACTOR, start, stop, lambda rng, k: rng.standard_normal(k)
    )
    shocks = dataclasses.replace(shocks, tenant_uniforms=uniforms, entity_factor=factor)
    source = _SlicedShocks(shocks, start, stop)
    tau0 = _company_months(bm, shocks)
    spec = bm.book.spec
    seen: dict[int, list[_Assets]] = {}
    alone: dict[int, _DealRun] = {}

    def assets_of(d: int, tau_d: Int64Array) -> _Assets:
        for kept in seen.setdefault(d, []):
            if np.array_equal(kept.tau, tau_d):
                return kept
        made = _assets(bm.models[d], source, start, stop, tau_d)
        seen[d].append(made)
        return made

    # One memoised market per deal for the whole block: the runs with contagion meet most of
    # the standalone run's sales again (a hit returns exactly what pricing again would).
    recoveries = {d: run_recovery(bm.models[d]) for d in bm.order}
    for d in bm.order:
        first = assets_of(d, _deal_tau(bm, d, tau0))
        alone[d] = _debt(bm.models[d], first, bm.backend, recoveries[d], _own_tau(bm, d, tau0))

    def contagion(
        marks: Mapping[str, Float64Array] | None,
    ) -> tuple[dict[int, _DealRun], Int64Array]:
        """The deals in the graph's order, each borrower's default passed on to the deals that
        name it (with transmission on) and the appraisals marked by ``marks``."""
        tau = tau0.copy()
        runs: dict[int, _DealRun] = {}
        for d in bm.order:
            mine, own = _deal_tau(bm, d, tau), _own_tau(bm, d, tau)
            deal_marks = _deal_marks(bm, d, marks)
            base = alone[d]
            if deal_marks is None and np.array_equal(mine, base.tau) and _same(own, base.own):
                runs[d] = base
            else:
                runs[d] = _debt(
                    bm.models[d], assets_of(d, mine), bm.backend, recoveries[d], own, deal_marks
                )
            c = bm.borrower[d]
            if spec.transmission and c >= 0:
                t_b = runs[d].default_month
                tau[:, c] = np.where(t_b > 0, np.minimum(tau[:, c], t_b), tau[:, c])
        return runs, tau

    rounds = unconverged = mark_rounds = mark_moving = 0
    lowest = 1.0
    if not spec.fire_sale:
        runs, tau = contagion(None) if spec.transmission else (dict(alone), tau0)
        outs = {d: runs[d].outcomes for d in runs}
    else:
        pools, market = _book_market(bm)
        width = bm.n_months
        last: dict[str, Any] = {}

        def units_sold(m: Float64Array) -> Float64Array:
            """All lenders' units offered per pool and calendar month, (path, pool x month),
            with the appraisals marked at ``m``: the book's ``S(m)``."""
            marks = None
            if not np.all(m == 1.0):
                marks = {p: m[:, k * width : (k + 1) * width] for k, p in enumerate(pools)}
            runs_m, tau_m = contagion(marks)
            outs_m, rounds_m, unconverged_m, offered = _fire_sale(bm, runs_m, n)
            last.update(runs=runs_m, tau=tau_m, outs=outs_m, rounds=rounds_m, moving=unconverged_m)
            total = np.zeros((n, len(pools) * width))
            for by_pool in offered.values():
                for pool, units in by_pool.items():
                    k = pools.index(pool)
                    total[:, k * width : (k + 1) * width] += units
            return total

        absorption = np.broadcast_to(
            np.concatenate([market[p].absorption_path(width) for p in pools])[None, :],
            (n, len(pools) * width),
        )
        fixed = fire_sale_fixed_point(
            units_sold,
            np.ascontiguousarray(absorption),
            market[pools[0]].params,
            tolerance=MARK_TOLERANCE,
            max_iterations=MARK_MAX_ROUNDS,
        )
        runs, tau, outs = last["runs"], last["tau"], last["outs"]
        rounds, unconverged = last["rounds"], last["moving"]
        mark_rounds = int(fixed.iterations.max())
        mark_moving = int((~fixed.converged).sum())
        lowest = float(fixed.multiplier.min())
    n_pos = len(bm.positions)
    losses = np.zeros((n, n_pos))
    losses_alone = np.zeros((n, n_pos))
    losses_1y = np.zeros((n, n_pos))
    losses_1y_alone = np.zeros((n, n_pos))
    months = np.zeros((n, n_pos), dtype=np.int64)
    for j, p in enumerate(bm.positions):
        out = outs[p.deal][p.facility]
        own = alone[p.deal].outcomes[p.facility]
        losses[:, j] = out.loss_usd * p.share
        losses_alone[:, j] = own.loss_usd * p.share
        months[:, j] = out.default_month
        early = (out.default_month > 0) & (out.default_month <= 12)
        losses_1y[:, j] = np.where(early, losses[:, j], 0.0)
        early = (own.default_month > 0) & (own.default_month <= 12)
        losses_1y_alone[:, j] = np.where(early, losses_alone[:, j], 0.0)
    pool, sofr = _pool_flows(bm, runs, outs, start, n)
    return BookBlock(
        start=start,
        losses=losses,
        losses_alone=losses_alone,
        losses_1y=losses_1y,
        default_month=months,
        company_month=_graph_months(bm, tau, runs),
        losses_1y_alone=losses_1y_alone,
        rounds=rounds,
        unconverged=unconverged,
        pool=pool,
        sofr=sofr,
        mark_rounds=mark_rounds,
        mark_unconverged=mark_moving,
        lowest_mark=lowest,
    )


def _graph_months(bm: BookModel, tau: Int64Array, runs: Mapping[int, _DealRun]) -> Int64Array:
    """Each company of the graph's default month, 0-based (-1: none): a drawn company's, and
    a borrower's own default in its deal (the earlier of the two)."""
    n = tau.shape[0]
    never = np.iinfo(np.int64).max
    out = np.full((n, len(bm.graph.companies)), never, dtype=np.int64)
    where = {c: k for k, c in enumerate(bm.graph.companies)}
    for k, name in enumerate(bm.companies):
        t = tau[:, k]
        out[:, where[name]] = np.where(t <= bm.n_months, t - 1, never)
    for d, run in runs.items():
        b = where.get(bm.models[d].deal.borrower.name)
        if b is None:
            continue
        t_b = run.default_month
        out[:, b] = np.where(t_b > 0, np.minimum(out[:, b], t_b - 1), out[:, b])
    return np.where(out == never, -1, out).astype(np.int32)


def _pool_flows(
    bm: BookModel,
    runs: Mapping[int, _DealRun],
    outs: Mapping[int, tuple[CreditOutcomes, ...]],
    start: int,
    n: int,
) -> tuple[tuple[Float64Array, ...] | None, Float64Array | None]:
    """The ABS pool's monthly interest, principal, defaulted principal and recoveries on the
    block's paths kept for the tranches (the first ``ABS_MAX_PATHS``), USD, and the paths' SOFR.

    A position's principal collected is its facility's principal paid (prepayments included)
    times the share held, up to the face it brought to the pool; what it pays beyond that (a
    waiver's fee capitalised into the balance and repaid with it) is income, with the interest.
    So the pool's balance is the sum of its positions' faces less their principal counted, never
    below zero. At a default the face not yet collected defaults; the recovery is paid in the
    month of the last sale (ASSUMPTION: the conservative end of the sale, as the pool's servicer
    passes proceeds on when the lot is sold; ``CreditOutcomes.time_to_recover_months``)."""
    picked = bm.abs_positions
    keep = min(n, max(ABS_MAX_PATHS - start, 0))
    # The pool's paths priced under Q: the likelihood ratio of the longest deal (its months
    # hold every other deal's, which share its factor paths); the same pricing measure must
    # then hold for every deal (``build_book`` checks it).
    if not picked or keep == 0:
        return None, None
    months = bm.n_months
    flows = [np.zeros((keep, months)) for _ in range(4)]
    idx = np.arange(keep)
    for j in picked:
        p = bm.positions[j]
        fl = runs[p.deal].facilities[p.facility]
        out = outs[p.deal][p.facility]
        h = fl.interest_paid.shape[1]
        paid = (fl.principal_paid[:keep] + fl.prepaid[:keep]) * p.share
        counted = np.minimum(np.cumsum(paid, axis=1), p.held_usd)
        principal = np.diff(counted, axis=1, prepend=0.0)
        flows[0][:, :h] += fl.interest_paid[:keep] * p.share + (paid - principal)
        flows[1][:, :h] += principal
        t = out.default_month[:keep]
        hit = np.flatnonzero(t > 0)
        flows[2][hit, t[hit] - 1] += p.held_usd - counted[hit, t[hit] - 1]
        lag = np.ceil(out.time_to_recover_months[:keep][hit]).astype(np.int64)
        at = np.minimum(t[hit] - 1 + lag, months - 1)
        np.add.at(flows[3], (idx[hit], at), out.recovery_usd[:keep][hit] * p.share)
    longest = max(runs, key=lambda d: bm.models[d].grid.n_months)
    x = runs[longest].x
    sofr = np.ascontiguousarray(x.sofr[:keep])
    log_weight = np.zeros(keep) if x.log_weight is None else x.log_weight[:keep]
    return (*flows, log_weight), sofr


@dataclass(frozen=True, slots=True)
class PositionResult:
    """One position's figures (USD, P): face held, PD, EL (with its MC error), the EL without
    contagion and the Euler contribution to the 99.9% ES."""

    name: str
    borrower: str
    held_usd: float
    pd: float
    pd_se: float
    el_usd: float
    el_alone_usd: float
    es_999_contribution_usd: float


@dataclass(frozen=True, slots=True)
class BookResult(ResultViews):
    """A book's loss distribution and its parts (real-world measure P; tranche spreads under
    P, and under Q only where stated).

    Attributes
    ----------
    summary, summary_alone, summary_1y : LossSummary
        To maturity with contagion, without it, and one year with it.
    premium : ContagionPremium
        EL and 99.9% VaR with transmission and fire sales minus without.
    positions : tuple of PositionResult
    chains : tuple of Chain
        The transmission chains table.
    concentration : dict of str to Concentration
        HHI of exposure by tenant, GPU generation and borrower.
    tranches : tuple of TrancheMetrics
        The ABS classes (empty without an ABS); computed on ``tranche_paths`` paths.
    path_losses_usd, path_losses_alone_usd, path_losses_1y_usd : ndarray, shape (path,)
        Each path's book loss (the loss-distribution CSV).
    """

    name: str
    n_paths: int
    seed: int
    n_months: int
    summary: LossSummary
    summary_alone: LossSummary
    summary_1y: LossSummary
    premium: ContagionPremium
    positions: tuple[PositionResult, ...]
    chains: tuple[Chain, ...]
    concentration: dict[str, Concentration]
    tranches: tuple[TrancheMetrics, ...]
    tranche_paths: int
    fire_sale_rounds_max: int
    fire_sale_unconverged_paths: int
    path_losses_usd: Float64Array
    path_losses_alone_usd: Float64Array
    path_losses_1y_usd: Float64Array
    transmission: bool
    fire_sale: bool
    provenance: dict[str, Any]
    #: One year without contagion (``summary_1y``'s counterpart).
    summary_1y_alone: LossSummary | None = None
    #: The marks' fixed point: most rounds a block took, paths whose marks still moved after
    #: ``MARK_MAX_ROUNDS``, and the lowest clearing multiplier of any pool, path and month.
    mark_rounds_max: int = 0
    mark_unconverged_paths: int = 0
    lowest_mark: float = 1.0

    @property
    def exposure_usd(self) -> float:
        return math.fsum(p.held_usd for p in self.positions)


def _concentrations(bm: BookModel) -> dict[str, Concentration]:
    """HHI of the held face by borrower, GPU generation and tenant (a position's face split by
    its deal's fleet units per generation and contracted units per tenant, the rest merchant)."""
    out: dict[str, Concentration] = {}
    held = [p.held_usd for p in bm.positions]
    out["borrower"] = concentration(np.array(held), [p.borrower for p in bm.positions])
    for key, attr in (("generation", "generation_units"), ("tenant", "tenant_units")):
        measure: list[float] = []
        groups: list[str] = []
        for p in bm.positions:
            parts = getattr(p, attr)
            total = math.fsum(u for _, u in parts)
            for name, units in parts:
                measure.append(p.held_usd * units / total if total > 0.0 else 0.0)
                groups.append(name)
        out[key] = concentration(np.array(measure), groups)
    return out


BlockRunner = Callable[[Callable[[int, int], BookBlock], list[tuple[int, int]]], Any]


def simulate_book(
    bm: BookModel,
    n_paths: int = 10_000,
    seed: int = 0,
    block_size: int = 2048,
    *,
    map_blocks: BlockRunner | None = None,
    progress: Callable[[int], None] | None = None,
) -> BookResult:
    """Simulate a book: its loss distribution with and without contagion, the positions' EL
    and contributions, the transmission chains, concentration and the ABS classes.

    ``map_blocks(fn, ranges)`` runs the block function over the ranges and yields the results
    in range order (``engine.distributed``'s executors; default: in this thread). The numbers
    depend only on the book, ``n_paths`` and ``seed``.
    """
    ranges = block_ranges(n_paths, block_size)
    fn = partial(book_block, bm, seed)
    results = map_blocks(fn, ranges) if map_blocks is not None else (fn(a, b) for a, b in ranges)
    n_pos = len(bm.positions)
    acc = LossAccumulator(n_pos, n_paths, BOOK_LEVELS)
    acc_alone = LossAccumulator(n_pos, n_paths, BOOK_LEVELS)
    acc_1y = LossAccumulator(n_pos, n_paths, BOOK_LEVELS)
    acc_1y_alone = LossAccumulator(n_pos, n_paths, BOOK_LEVELS)
    totals: list[Float64Array] = []
    totals_alone: list[Float64Array] = []
    totals_1y: list[Float64Array] = []
    company: list[Int64Array] = []
    defaults = np.zeros(n_pos, dtype=np.int64)
    pool_parts: list[tuple[Float64Array, ...]] = []
    sofr_parts: list[Float64Array] = []
    rounds = unconverged = mark_rounds = mark_unconverged = 0
    lowest = 1.0
    for block in results:
        acc.add(block.losses, block.start)
        acc_alone.add(block.losses_alone, block.start)
        acc_1y.add(block.losses_1y, block.start)
        acc_1y_alone.add(block.losses_1y_alone, block.start)
        totals.append(block.losses.sum(axis=1))
        totals_alone.append(block.losses_alone.sum(axis=1))
        totals_1y.append(block.losses_1y.sum(axis=1))
        company.append(block.company_month)
        defaults += (block.default_month > 0).sum(axis=0)
        rounds = max(rounds, block.rounds)
        unconverged += block.unconverged
        mark_rounds = max(mark_rounds, block.mark_rounds)
        mark_unconverged += block.mark_unconverged
        lowest = min(lowest, block.lowest_mark)
        if block.pool is not None and block.sofr is not None:
            pool_parts.append(block.pool)
            sofr_parts.append(block.sofr)
        if progress is not None:
            progress(block.losses.shape[0])
    summary, alone, one_year = acc.summary(), acc_alone.summary(), acc_1y.summary()
    path = np.concatenate(totals)
    path_alone = np.concatenate(totals_alone)
    premium = contagion_premium(path[:, None], path_alone[:, None], level=0.999)
    tail = summary.tail(0.999)
    positions = tuple(
        PositionResult(
            name=p.name,
            borrower=p.borrower,
            held_usd=p.held_usd,
            pd=float(defaults[j] / n_paths),
            pd_se=math.sqrt(
                max(defaults[j] / n_paths * (1 - defaults[j] / n_paths), 0.0) / n_paths
            ),
            el_usd=float(summary.el_by_position_usd[j]),
            el_alone_usd=float(alone.el_by_position_usd[j]),
            es_999_contribution_usd=float(tail.contributions_usd[j]),
        )
        for j, p in enumerate(bm.positions)
    )
    chains = transmission_chains(bm.graph, np.concatenate(company).astype(np.int64))
    tranches: tuple[TrancheMetrics, ...] = ()
    tranche_paths = 0
    if pool_parts and bm.book.spec.abs is not None:
        flows = [np.concatenate([p[k] for p in pool_parts]) for k in range(5)]
        tranche_paths = flows[0].shape[0]
        tranches = evaluate_tranches(
            _waterfall(bm),
            PoolCashFlows(*flows[:4]),
            discount_factors(np.concatenate(sofr_parts)),
            q_weights=None if bm.models[0].pricing.is_zero else np.exp(flows[4]),
        )
    spec = bm.book.spec
    return BookResult(
        name=spec.book,
        n_paths=n_paths,
        seed=seed,
        n_months=bm.n_months,
        summary=summary,
        summary_alone=alone,
        summary_1y=one_year,
        premium=premium,
        positions=positions,
        chains=chains,
        concentration=_concentrations(bm),
        tranches=tranches,
        tranche_paths=tranche_paths,
        fire_sale_rounds_max=rounds,
        fire_sale_unconverged_paths=unconverged,
        path_losses_usd=path,
        path_losses_alone_usd=path_alone,
        path_losses_1y_usd=np.concatenate(totals_1y),
        transmission=spec.transmission,
        fire_sale=spec.fire_sale,
        provenance={**bm.provenance, "n_paths": n_paths, "seed": seed},
        summary_1y_alone=acc_1y_alone.summary(),
        mark_rounds_max=mark_rounds,
        mark_unconverged_paths=mark_unconverged,
        lowest_mark=lowest,
    )


def _waterfall(bm: BookModel) -> Waterfall:
    spec = bm.book.spec.abs
    assert spec is not None
    pool = math.fsum(bm.positions[j].held_usd for j in bm.abs_positions)
    classes = tuple(
        TrancheClass(
            name=c.name,
            balance_usd=pool * c.size_pct / 100.0,
            coupon=c.coupon_pct / 100.0,
            oc_trigger=c.oc_trigger,
            ic_trigger=c.ic_trigger,
        )
        for c in spec.classes
    )
    reserve = pool * spec.reserve_pct / 100.0
    return Waterfall(
        classes=classes,
        pool_balance_usd=pool,
        principal=spec.principal,
        reserve_initial_usd=reserve,
        reserve_target_pct=spec.reserve_pct / 100.0,
    )
