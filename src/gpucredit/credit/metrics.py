"""Credit metrics of one facility, accumulated block by block with exact merges."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gpucredit._typing import Float64Array, Int64Array
from gpucredit.credit.outcomes import CreditOutcomes
from gpucredit.credit.ratings import implied_rating
from gpucredit.debt.ledger import DEFAULT_KINDS, DebtLedger
from gpucredit.stats import ExactSum, Histogram, MonthlyHistogram

__all__ = [
    "CREDIT_LEDGER_FIELDS",
    "DSCR_EDGES",
    "LTV_EDGES",
    "CreditAccumulator",
    "FacilityMetrics",
]

#: The per-month ledger fields that ``outcomes.evaluate`` (lender cash flow, minimum DSCR)
#: and ``CreditAccumulator.add`` (DSCR and LTV fans) read: all a Monte Carlo pass needs the
#: waterfall to record (``run_waterfall_loop(fields=...)``). A field left out is NaN, so a
#: reader added later fails loudly until it is listed here.
CREDIT_LEDGER_FIELDS = ("interest_paid", "principal_paid", "prepaid", "dscr", "ltv")

#: DSCR histogram: -5x to 20x in steps of 0.01x (quantiles accurate to 0.01x; values beyond
#: the range are reported at the edge).
DSCR_EDGES = np.linspace(-5.0, 20.0, 2501)
#: LTV histogram: 0 to 5 in steps of 0.0025.
LTV_EDGES = np.linspace(0.0, 5.0, 2001)
LGD_EDGES = np.linspace(0.0, 1.0, 1001)
USD_RESOLUTION = 1e-4
RATIO_RESOLUTION = 1e-12


@dataclass(slots=True)
class CreditAccumulator:
    """Streaming statistics of one facility over all paths."""

    n_months: int
    n_paths: int = 0
    defaults_by_month: Int64Array = field(init=False)
    defaults_by_kind: Int64Array = field(init=False)
    breaches: int = 0
    loss: ExactSum = field(default_factory=lambda: ExactSum(USD_RESOLUTION))
    ead: ExactSum = field(default_factory=lambda: ExactSum(USD_RESOLUTION))
    recovery: ExactSum = field(default_factory=lambda: ExactSum(USD_RESOLUTION))
    lgd: ExactSum = field(default_factory=lambda: ExactSum(RATIO_RESOLUTION))
    pv: ExactSum = field(default_factory=lambda: ExactSum(RATIO_RESOLUTION))
    lgd_hist: Histogram = field(default_factory=lambda: Histogram(LGD_EDGES))
    min_dscr_hist: Histogram = field(default_factory=lambda: Histogram(DSCR_EDGES))
    dscr_fan: MonthlyHistogram = field(init=False)
    ltv_fan: MonthlyHistogram = field(init=False)

    def __post_init__(self) -> None:
        self.defaults_by_month = np.zeros(self.n_months + 1, dtype=np.int64)
        self.defaults_by_kind = np.zeros(len(DEFAULT_KINDS), dtype=np.int64)
        self.dscr_fan = MonthlyHistogram(DSCR_EDGES, self.n_months)
        self.ltv_fan = MonthlyHistogram(LTV_EDGES, self.n_months)

    def add(self, outcomes: CreditOutcomes, ledger: DebtLedger) -> None:
        n = outcomes.default_month.shape[0]
        self.n_paths += n
        self.defaults_by_month += np.bincount(outcomes.default_month, minlength=self.n_months + 1)
        self.defaults_by_kind += np.bincount(ledger.default_kind, minlength=len(DEFAULT_KINDS))
        self.breaches += int(outcomes.breached.sum())
        d = outcomes.defaulted
        self.loss.add(outcomes.loss_usd)
        self.ead.add(outcomes.ead_usd, d)
        self.recovery.add(outcomes.recovery_usd, d)
        self.lgd.add(outcomes.lgd, d)
        self.lgd_hist.add(outcomes.lgd, d)
        self.pv.add(outcomes.pv_per_par)
        self.min_dscr_hist.add(np.clip(outcomes.min_dscr, -1e6, 1e6))
        alive = ledger.alive[:, : self.n_months]
        self.dscr_fan.add(ledger.dscr[:, : self.n_months], alive, clip=(-1e6, 1e6))
        self.ltv_fan.add(ledger.ltv[:, : self.n_months], alive, clip=(0.0, 1e6))

    def merge(self, other: CreditAccumulator) -> None:
        self.n_paths += other.n_paths
        self.defaults_by_month += other.defaults_by_month
        self.defaults_by_kind += other.defaults_by_kind
        self.breaches += other.breaches
        for name in ("loss", "ead", "recovery", "lgd", "pv"):
            getattr(self, name).merge(getattr(other, name))
        self.lgd_hist.merge(other.lgd_hist)
        self.min_dscr_hist.merge(other.min_dscr_hist)
        self.dscr_fan.merge(other.dscr_fan)
        self.ltv_fan.merge(other.ltv_fan)


@dataclass(frozen=True, slots=True)
class FacilityMetrics:
    """Everything reported for one facility.

    Rates are decimals, spreads in basis points, money in USD. ``pd_by_year`` is the
    cumulative PD at each loan-year end (the last entry at maturity); fans are p5/p50/p95 of
    the monthly DSCR and LTV over the paths where the loan is alive that month.
    """

    deal: str
    name: str
    principal_usd: float
    tenor_months: int
    n_paths: int
    pd: float
    pd_annual: float
    pd_by_year: tuple[float, ...]
    default_kind_share: dict[str, float]
    lgd: float | None
    lgd_p95: float | None
    mean_ead_usd: float | None
    expected_loss_usd: float
    expected_loss_pct: float
    pv_per_par: float
    issue_price: float
    fair_spread_bps: float | None
    market_spread_bps: float
    spread_gap_bps: float | None
    implied_rating: str
    breach_probability: float
    min_dscr_p50: float
    breakeven_rent_usd_per_gpu_hour: float | None
    breakeven_generation: str
    dscr_p5: Float64Array
    dscr_p50: Float64Array
    dscr_p95: Float64Array
    ltv_p50: Float64Array
    alive_share: Float64Array


def pd_term_structure(acc: CreditAccumulator, tenor_months: int) -> tuple[float, ...]:
    """Cumulative PD at each loan-year end and at maturity."""
    cum = np.cumsum(acc.defaults_by_month[1:]) / acc.n_paths
    ends = list(range(12, tenor_months + 1, 12))
    if not ends or ends[-1] != tenor_months:
        ends.append(tenor_months)
    return tuple(float(cum[m - 1]) for m in ends)


def summarise(
    acc: CreditAccumulator,
    *,
    deal: str,
    name: str,
    principal_usd: float,
    tenor_months: int,
    issue_price: float,
    market_spread: float,
    fair_spread: float | None,
    breakeven_rent: float | None,
    breakeven_generation: str,
) -> FacilityMetrics:
    """Turn merged statistics into the reported metrics."""
    n = acc.n_paths
    n_def = int(acc.defaults_by_month[1:].sum())
    pd = n_def / n
    years = tenor_months / 12.0
    pd_annual = 1.0 - (1.0 - pd) ** (1.0 / years) if pd < 1.0 else 1.0
    share = {k: float(acc.defaults_by_kind[i]) / n for i, k in DEFAULT_KINDS.items() if i > 0}
    alive_counts = acc.dscr_fan.counts.sum(axis=1)
    return FacilityMetrics(
        deal=deal,
        name=name,
        principal_usd=principal_usd,
        tenor_months=tenor_months,
        n_paths=n,
        pd=pd,
        pd_annual=pd_annual,
        pd_by_year=pd_term_structure(acc, tenor_months),
        default_kind_share=share,
        lgd=acc.lgd.mean() if n_def else None,
        lgd_p95=acc.lgd_hist.quantile(0.95) if n_def else None,
        mean_ead_usd=acc.ead.mean() if n_def else None,
        expected_loss_usd=acc.loss.total / n,
        expected_loss_pct=acc.loss.total / n / principal_usd,
        pv_per_par=acc.pv.mean(),
        issue_price=issue_price,
        fair_spread_bps=None if fair_spread is None else fair_spread * 1e4,
        market_spread_bps=market_spread * 1e4,
        spread_gap_bps=None if fair_spread is None else (market_spread - fair_spread) * 1e4,
        implied_rating=implied_rating(pd, years),
        breach_probability=acc.breaches / n,
        min_dscr_p50=acc.min_dscr_hist.quantile(0.5),
        breakeven_rent_usd_per_gpu_hour=breakeven_rent,
        breakeven_generation=breakeven_generation,
        dscr_p5=acc.dscr_fan.quantiles(0.05),
        dscr_p50=acc.dscr_fan.quantiles(0.50),
        dscr_p95=acc.dscr_fan.quantiles(0.95),
        ltv_p50=acc.ltv_fan.quantiles(0.50),
        alive_share=alive_counts / n,
    )
