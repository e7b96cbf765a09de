"""The main pass: one driver over the blocks of paths and the accumulators it merges, for
single loans, capital structures and miners alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from gpucredit._typing import BoolArray, Float64Array, Int64Array
from gpucredit.credit.collateral import CollateralAccumulator
from gpucredit.credit.duration import ValueFan
from gpucredit.credit.metrics import DSCR_EDGES, RATIO_RESOLUTION, USD_RESOLUTION, CreditAccumulator
from gpucredit.credit.outcomes import CreditOutcomes
from gpucredit.debt.structure import CROSS_DEFAULT, StructureLedger
from gpucredit.engine.runner import run_blocks
from gpucredit.pipeline.construction import ConstructionAccumulator
from gpucredit.stats import ExactSum, MonthlyHistogram


@dataclass(slots=True)
class KeptPaths:
    """The first ``keep_paths`` paths' arrays, block by block in path order (the path cube)."""

    arrays: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, name: str, value: np.ndarray) -> None:
        self.arrays.setdefault(name, []).append(value)

    def stacked(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v, axis=0) for k, v in self.arrays.items()}


#: Cover-ratio histogram (LLCR, PLCR): 0 to 10 in steps of 0.005.
COVER_EDGES = np.linspace(0.0, 10.0, 2001)


@dataclass(slots=True)
class DealAccumulator:
    """Deal-level statistics of a capital structure: borrower defaults, deal DSCR, LLCR and
    PLCR histograms by month, and each waterfall step's total paid (USD)."""

    n_months: int
    paths: int = 0
    defaults: int = 0
    dscr: MonthlyHistogram = field(init=False)
    llcr: MonthlyHistogram = field(init=False)
    plcr: MonthlyHistogram = field(init=False)
    steps: list[ExactSum] = field(default_factory=list)
    recovered: list[ExactSum] = field(default_factory=list)  # per facility, USD
    from_real_estate: list[ExactSum] = field(default_factory=list)  # per facility, USD
    #: The deal's parent (``add_parent``): paths on which it defaults within the horizon, and
    #: per facility the paths on which the facility defaults in or after the parent's default
    #: month, is accelerated by the parent's default (cross-default in that month), or is paid
    #: by the parent's guarantee, and the guarantee's total payments (USD).
    parent_defaults: int = 0
    parent_after: list[int] = field(default_factory=list)
    parent_cross: list[int] = field(default_factory=list)
    parent_supported: list[int] = field(default_factory=list)
    parent_support_usd: list[ExactSum] = field(default_factory=list)
    #: The parent's fleet sold into the same markets (``add_co_sale``): per facility the
    #: defaulted paths whose sale meets the parent's, and over all its defaulted paths the EAD
    #: and the loss with the parent's fleet co-sold and with the deal's fleet sold alone (USD).
    co_sale_paths: list[int] = field(default_factory=list)
    co_sale_ead: list[ExactSum] = field(default_factory=list)
    co_sale_loss: list[ExactSum] = field(default_factory=list)
    alone_loss: list[ExactSum] = field(default_factory=list)
    #: per facility, over its defaulted paths: PV per unit of par alone minus co-sold
    co_sale_pv_cost: list[ExactSum] = field(default_factory=list)

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

    def add_parent(self, ledger: StructureLedger, parent_default_month: Int64Array) -> None:
        """Count what the deal's parent did on a block (``parent_default_month``: its default
        month per path, ``n_months + 1`` for none)."""
        t_p = np.asarray(parent_default_month, dtype=np.int64)
        if not self.parent_after:
            self._start_parent(len(ledger.facilities))
        self.parent_defaults += int((t_p <= self.n_months).sum())
        for k, fl in enumerate(ledger.facilities):
            month = fl.default_month
            self.parent_after[k] += int(((month > 0) & (month >= t_p)).sum())
            self.parent_cross[k] += int(((fl.default_kind == CROSS_DEFAULT) & (month == t_p)).sum())
            if fl.parent_support is not None:
                paid = fl.parent_support.sum(axis=1)
                self.parent_supported[k] += int((paid > 0.0).sum())
                self.parent_support_usd[k].add(paid)

    def _start_parent(self, n_fac: int) -> None:
        self.parent_after = [0] * n_fac
        self.parent_cross = [0] * n_fac
        self.parent_supported = [0] * n_fac
        self.parent_support_usd = [ExactSum(USD_RESOLUTION) for _ in range(n_fac)]

    def add_co_sale(
        self,
        outs: Sequence[CreditOutcomes],
        alone: Sequence[CreditOutcomes],
        co_sold: BoolArray,
    ) -> None:
        """Each facility's loss with the parent's fleet co-sold (``outs``) and without it
        (``alone``), on a block; ``co_sold`` (path,): the sale meets the parent's."""
        if not self.co_sale_paths:
            self._start_co_sale(len(outs))
        for k, (out, own) in enumerate(zip(outs, alone, strict=True)):
            hit = out.default_month > 0
            self.co_sale_paths[k] += int((hit & co_sold).sum())
            self.co_sale_ead[k].add(out.ead_usd, hit)
            self.co_sale_loss[k].add(out.loss_usd, hit)
            self.alone_loss[k].add(own.loss_usd, hit)
            self.co_sale_pv_cost[k].add(own.pv_per_par - out.pv_per_par, hit)

    def _start_co_sale(self, n_fac: int) -> None:
        self.co_sale_paths = [0] * n_fac
        self.co_sale_ead = [ExactSum(USD_RESOLUTION) for _ in range(n_fac)]
        self.co_sale_loss = [ExactSum(USD_RESOLUTION) for _ in range(n_fac)]
        self.alone_loss = [ExactSum(USD_RESOLUTION) for _ in range(n_fac)]
        self.co_sale_pv_cost = [ExactSum(RATIO_RESOLUTION) for _ in range(n_fac)]

    def _merge_co_sale(self, other: DealAccumulator) -> None:
        if not other.co_sale_paths:
            return
        if not self.co_sale_paths:
            self._start_co_sale(len(other.co_sale_paths))
        for k in range(len(other.co_sale_paths)):
            self.co_sale_paths[k] += other.co_sale_paths[k]
            self.co_sale_ead[k].merge(other.co_sale_ead[k])
            self.co_sale_loss[k].merge(other.co_sale_loss[k])
            self.alone_loss[k].merge(other.alone_loss[k])
            self.co_sale_pv_cost[k].merge(other.co_sale_pv_cost[k])

    def merge(self, other: DealAccumulator) -> None:
        self._merge_co_sale(other)
        self.paths += other.paths
        self.defaults += other.defaults
        self.parent_defaults += other.parent_defaults
        if other.parent_after:
            if not self.parent_after:
                self._start_parent(len(other.parent_after))
            for k in range(len(other.parent_after)):
                self.parent_after[k] += other.parent_after[k]
                self.parent_cross[k] += other.parent_cross[k]
                self.parent_supported[k] += other.parent_supported[k]
                self.parent_support_usd[k].merge(other.parent_support_usd[k])
        self.dscr.merge(other.dscr)
        self.llcr.merge(other.llcr)
        self.plcr.merge(other.plcr)
        if not self.steps:
            self.steps = [ExactSum(USD_RESOLUTION) for _ in other.steps]
        for mine, theirs in zip(self.steps, other.steps, strict=True):
            mine.merge(theirs)
        if not self.recovered:
            self.recovered = [ExactSum(USD_RESOLUTION) for _ in other.recovered]
            self.from_real_estate = [ExactSum(USD_RESOLUTION) for _ in other.from_real_estate]
        for mine, theirs in zip(self.recovered, other.recovered, strict=True):
            mine.merge(theirs)
        for mine, theirs in zip(self.from_real_estate, other.from_real_estate, strict=True):
            mine.merge(theirs)

    def add_recoveries(self, outs: Sequence[CreditOutcomes]) -> None:
        """Each facility's recovery and the part of it pledged real estate paid, USD."""
        if not self.recovered:
            self.recovered = [ExactSum(USD_RESOLUTION) for _ in outs]
            self.from_real_estate = [ExactSum(USD_RESOLUTION) for _ in outs]
        for k, out in enumerate(outs):
            self.recovered[k].add(out.recovery_usd)
            if out.real_estate_usd is not None:
                self.from_real_estate[k].add(out.real_estate_usd)


@dataclass(slots=True)
class PassTotals:
    """What a main pass accumulates, block by block; each entry point fills its parts.

    Attributes
    ----------
    facilities : list of CreditAccumulator
        One per facility (a miner's margin loan last).
    collateral : CollateralAccumulator or None
        The deal's recovery distribution and wrong-way risk (deals and structures).
    deal : DealAccumulator or None
        Deal-level statistics of a capital structure.
    fan : ValueFan or None
        The collateral-value fan (deals and structures).
    kept : KeptPaths
        The path cube's arrays.
    paths : int
        Paths accumulated.
    borrower_defaults : int
        Paths on which the borrower defaults on any facility (miners).
    borrower_loss : ExactSum
        The borrower's loss over all its facilities per path, USD (miners).
    """

    facilities: list[CreditAccumulator]
    collateral: CollateralAccumulator | None = None
    deal: DealAccumulator | None = None
    fan: ValueFan | None = None
    kept: KeptPaths = field(default_factory=KeptPaths)
    paths: int = 0
    borrower_defaults: int = 0
    borrower_loss: ExactSum = field(default_factory=lambda: ExactSum(USD_RESOLUTION))
    #: Each path's total payments by written backstops, USD (deals and structures).
    guarantor_paid: ExactSum = field(default_factory=lambda: ExactSum(USD_RESOLUTION, moments=True))
    #: 1.0 for each path on which a written backstop pays anything.
    guarantor_paying: ExactSum = field(default_factory=lambda: ExactSum(RATIO_RESOLUTION))

    def add_guarantees(self, paid_usd: Float64Array) -> None:
        """Add one block's guarantor payments, shape (path, month), USD."""
        per_path = paid_usd.sum(axis=1)
        self.guarantor_paid.add(per_path)
        self.guarantor_paying.add((per_path > 0.0).astype(np.float64))

    #: Construction and completion risk (deals whose deliveries have it).
    construction: ConstructionAccumulator | None = None

    def merge(self, other: PassTotals) -> None:
        for mine, theirs in zip(self.facilities, other.facilities, strict=True):
            mine.merge(theirs)
        if self.collateral is not None and other.collateral is not None:
            self.collateral.merge(other.collateral)
        if self.deal is not None and other.deal is not None:
            self.deal.merge(other.deal)
        if self.fan is not None and other.fan is not None:
            self.fan.merge(other.fan)
        for name, parts in other.kept.arrays.items():
            for value in parts:
                self.kept.add(name, value)
        self.paths += other.paths
        self.borrower_defaults += other.borrower_defaults
        self.borrower_loss.merge(other.borrower_loss)
        self.guarantor_paid.merge(other.guarantor_paid)
        self.guarantor_paying.merge(other.guarantor_paying)
        if self.construction is not None and other.construction is not None:
            self.construction.merge(other.construction)


def run_pass(
    block: Callable[[int, int], PassTotals],
    ranges: list[tuple[int, int]],
    total: PassTotals,
    *,
    workers: int,
    on_block: Callable[[int], None] | None = None,
) -> PassTotals:
    """The main pass: ``block(start, stop)`` on every block of ``ranges`` (``workers``
    threads), each block's totals merged into ``total`` in path order (so the numbers do
    not depend on the block size or the workers); ``on_block(n)`` is called as each block
    of ``n`` paths completes. Returns ``total``."""
    for part in run_blocks(block, ranges, n_workers=workers, on_block=on_block):
        total.merge(part)
    return total
