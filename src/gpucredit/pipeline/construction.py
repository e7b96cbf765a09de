"""Construction and completion risk in the pipeline: interest during construction and the
run's report of delivery delays, long-stop terminations, cost overruns and the PD and EL of the
paths delivered late against those delivered on time (docs/capital_structures.md,
"Construction and completion risk").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gpucredit._typing import Int64Array
from gpucredit.assets.fleet import AssetCashflows
from gpucredit.config.spec import MAX_DELAY_MONTHS
from gpucredit.credit.metrics import USD_RESOLUTION
from gpucredit.credit.outcomes import CreditOutcomes
from gpucredit.pipeline.model import DealModel
from gpucredit.stats import ExactSum

__all__ = [
    "ConstructionAccumulator",
    "ConstructionReport",
    "FacilityConstruction",
    "pik_end_months",
    "scheduled_delivery_months",
]


def scheduled_delivery_months(model: DealModel) -> Int64Array:
    """Each cohort's scheduled delivery month (1-based), 0 for a cohort owned at ``as_of``."""
    out = np.zeros(len(model.deal.fleet), dtype=np.int64)
    for c, cohort in enumerate(model.deal.fleet):
        on = np.flatnonzero(model.plan.cohort_owned_share[c] > 0.0)
        if cohort.purchase_date > model.deal.as_of and on.size:
            out[c] = on[0] + 1
    return out


def pik_end_months(model: DealModel, delay: Int64Array | None, n_paths: int) -> Int64Array | None:
    """The month from which each facility pays its interest, shape (path, facility), for the
    structure engines' ``pik_end_month``; None when no facility capitalises its interest.

    A facility with ``interest_during_construction: capitalised`` capitalises before the
    path's delivery month of the latest delivery it finances: its ``secured_by`` cohorts (all
    cohorts when omitted or unsecured), delivery month = scheduled month + the path's delay
    (``delay``, shape (path, cohort); None: on schedule). A facility that pays, or finances no
    delivery, has 0 (never capitalises).
    """
    deal = model.deal
    if not any(f.interest_during_construction == "capitalised" for f in deal.facilities):
        return None
    scheduled = scheduled_delivery_months(model)
    n_cohorts = scheduled.size
    late = np.zeros((n_paths, n_cohorts), dtype=np.int64) if delay is None else delay
    delivery = np.where(scheduled[None, :] > 0, scheduled[None, :] + late, 0)
    names = [c.name for c in deal.fleet]
    out = np.zeros((n_paths, len(deal.facilities)), dtype=np.int64)
    for k, f in enumerate(deal.facilities):
        if f.interest_during_construction != "capitalised":
            continue
        pool = [names.index(n) for n in f.secured_by] if f.secured_by else list(range(n_cohorts))
        out[:, k] = delivery[:, pool].max(axis=1)
    return out


@dataclass(frozen=True, slots=True)
class FacilityConstruction:
    """One facility's PD and EL on the paths delivered late and on time.

    Attributes
    ----------
    name : str
    pd_late, pd_on_time : float or None
        Share of those paths on which the facility defaults (None: no such path).
    el_late_pct, el_on_time_pct : float or None
        Mean loss over those paths, percent of the facility's principal.
    """

    name: str
    pd_late: float | None
    pd_on_time: float | None
    el_late_pct: float | None
    el_on_time_pct: float | None


@dataclass(frozen=True, slots=True)
class ConstructionReport:
    """The run's construction and completion risk.

    Attributes
    ----------
    mean_delay_months, p90_delay_months : float
        Delay of the deal's latest delivery over the paths, months.
    share_late : float
        Share of paths on which some delivery is late (delay > 0).
    share_past_longstop : float
        Share of paths on which some lease is terminated at its long-stop date.
    mean_overrun_usd : float
        Mean total cost overrun per path, USD.
    overrun_on_project_cash : bool
        Some overrun is paid out of the project's CFADS (else all by the sponsor's equity).
    facilities : tuple of FacilityConstruction
    """

    mean_delay_months: float
    p90_delay_months: float
    share_late: float
    share_past_longstop: float
    mean_overrun_usd: float
    overrun_on_project_cash: bool
    facilities: tuple[FacilityConstruction, ...]

    def to_dict(self) -> dict[str, object]:
        """The report as plain JSON-ready values."""
        return {
            "mean_delay_months": self.mean_delay_months,
            "p90_delay_months": self.p90_delay_months,
            "share_late": self.share_late,
            "share_past_longstop": self.share_past_longstop,
            "mean_overrun_usd": self.mean_overrun_usd,
            "overrun_on_project_cash": self.overrun_on_project_cash,
            "facilities": [
                {
                    "facility": f.name,
                    "pd_late": f.pd_late,
                    "pd_on_time": f.pd_on_time,
                    "el_late_pct": f.el_late_pct,
                    "el_on_time_pct": f.el_on_time_pct,
                }
                for f in self.facilities
            ],
        }


@dataclass(slots=True)
class ConstructionAccumulator:
    """Counts and exact sums (``stats.ExactSum``: the same whatever the block size) of the main
    pass for ``ConstructionReport``."""

    names: tuple[str, ...]
    principal_usd: tuple[float, ...]
    project_cash: bool = False
    paths: int = 0
    delay_counts: Int64Array = field(
        default_factory=lambda: np.zeros(MAX_DELAY_MONTHS + 1, dtype=np.int64)
    )
    past_longstop: int = 0
    overrun_usd: ExactSum = field(default_factory=lambda: ExactSum(USD_RESOLUTION))
    #: per facility: [late paths, late defaults, on-time paths, on-time defaults]
    counts: list[list[int]] = field(default_factory=list)
    #: per facility: [late loss, on-time loss], USD
    losses: list[list[ExactSum]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [[0, 0, 0, 0] for _ in self.names]
            self.losses = [[ExactSum(USD_RESOLUTION), ExactSum(USD_RESOLUTION)] for _ in self.names]

    def add(self, cash: AssetCashflows, outcomes: tuple[CreditOutcomes, ...]) -> None:
        """Add one block: its construction draws and each facility's outcomes."""
        n = cash.cfads_usd.shape[0]
        self.paths += n
        delay = (
            np.zeros(n, dtype=np.int64)
            if cash.delivery_delay_months is None or cash.delivery_delay_months.shape[1] == 0
            else cash.delivery_delay_months.max(axis=1)
        )
        self.delay_counts += np.bincount(delay, minlength=MAX_DELAY_MONTHS + 1)[
            : MAX_DELAY_MONTHS + 1
        ]
        if cash.terminated is not None and cash.terminated.shape[1]:
            self.past_longstop += int(cash.terminated.any(axis=1).sum())
        if cash.overrun_usd is not None:
            self.overrun_usd.add(cash.overrun_usd.sum(axis=1))
        late = delay > 0
        for k, out in enumerate(outcomes):
            d = out.default_month > 0
            self.counts[k][0] += int(late.sum())
            self.counts[k][1] += int((d & late).sum())
            self.counts[k][2] += int((~late).sum())
            self.counts[k][3] += int((d & ~late).sum())
            self.losses[k][0].add(out.loss_usd, late)
            self.losses[k][1].add(out.loss_usd, ~late)

    def merge(self, other: ConstructionAccumulator) -> None:
        self.paths += other.paths
        self.delay_counts += other.delay_counts
        self.past_longstop += other.past_longstop
        self.overrun_usd.merge(other.overrun_usd)
        for mine, theirs in zip(self.counts, other.counts, strict=True):
            for j in range(4):
                mine[j] += theirs[j]
        for mine_l, theirs_l in zip(self.losses, other.losses, strict=True):
            mine_l[0].merge(theirs_l[0])
            mine_l[1].merge(theirs_l[1])

    def report(self) -> ConstructionReport:
        """The report of the paths added."""
        n = max(self.paths, 1)
        months = np.arange(self.delay_counts.size, dtype=np.float64)
        cum = np.cumsum(self.delay_counts)
        p90 = float(np.searchsorted(cum, 0.9 * self.paths)) if self.paths else 0.0
        facilities = []
        for name, principal, c, loss in zip(
            self.names, self.principal_usd, self.counts, self.losses, strict=True
        ):
            facilities.append(
                FacilityConstruction(
                    name=name,
                    pd_late=c[1] / c[0] if c[0] else None,
                    pd_on_time=c[3] / c[2] if c[2] else None,
                    el_late_pct=_el_pct(loss[0].total, c[0], principal),
                    el_on_time_pct=_el_pct(loss[1].total, c[2], principal),
                )
            )
        return ConstructionReport(
            mean_delay_months=float((months * self.delay_counts).sum() / n),
            p90_delay_months=p90,
            share_late=float(self.delay_counts[1:].sum() / n),
            share_past_longstop=self.past_longstop / n,
            mean_overrun_usd=self.overrun_usd.total / n,
            overrun_on_project_cash=self.project_cash,
            facilities=tuple(facilities),
        )


def _el_pct(loss_usd: float, paths: int, principal_usd: float) -> float | None:
    """Mean loss per path, percent of principal (None without paths); a sum of losses that
    rounds a hair below zero (recoveries netted against exposures) reads 0."""
    if not paths:
        return None
    return max(100.0 * loss_usd / (paths * principal_usd), 0.0)


def construction_accumulator(model: DealModel) -> ConstructionAccumulator | None:
    """An empty accumulator for ``model``'s facilities; None for a deal whose deliveries have
    no construction risk (no ``construction`` block, no long-stop date)."""
    build = model.plan.construction
    if build is None:
        return None
    if model.structure is not None:
        names = model.structure.names
        principal = tuple(f.loan.principal_usd for f in model.structure.facilities)
    else:
        names = (model.terms.name,)
        principal = (model.terms.principal_usd,)
    return ConstructionAccumulator(
        names=tuple(names),
        principal_usd=principal,
        project_cash=bool(build.paid_from_cash.any()),
    )
