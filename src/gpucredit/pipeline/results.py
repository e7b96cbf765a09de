"""What the entry points return: ``SimulationResult`` (deals and capital structures, with
their ``StructureReport``) and ``MinerResult``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gpucredit._typing import Float64Array
from gpucredit.config.miner import MinerSpec
from gpucredit.config.spec import DealSpec
from gpucredit.credit.attribution import Attribution
from gpucredit.credit.collateral import CollateralReport
from gpucredit.credit.duration import (
    DurationMismatch,
    duration_columns,
    duration_frame,
    duration_of,
)
from gpucredit.credit.guarantees import GuaranteeReport
from gpucredit.credit.metrics import FacilityMetrics, default_kind_record
from gpucredit.credit.real_estate import RealEstateTerms
from gpucredit.credit.spread import SpreadSolution
from gpucredit.pipeline.construction import ConstructionReport
from gpucredit.pipeline.deterministic import StressOutcome
from gpucredit.pipeline.model import RunConfig
from gpucredit.scenarios.grid import TimeGrid


class ResultViews:
    """``result.plot`` and ``result._repr_html_`` of every result (deal, miner, book): the
    charts of ``reports.charts`` and the HTML summary of ``reports.html``. A mixin without
    state (``__slots__ = ()``), so the frozen, slotted results keep their layout."""

    __slots__ = ()

    def plot(self, kind: str | None = None, ax: Any = None) -> Any:
        """A chart of the result (``reports.charts.plot_result``): ``kind`` one of the
        charts that apply (a deal: ``dscr_fan``, ``pd_term``, ``loss``, ``collateral``,
        ``spread_gap``; a miner: ``pd_term``, ``spread_gap``, ``shapley``; a book: ``loss``),
        or None for all of them in a grid; ``ax`` a matplotlib Axes to draw one chart into.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from gpucredit.reports.charts import plot_result  # reports sit above the pipeline

        return plot_result(self, kind, ax)  # type: ignore[arg-type]

    def _repr_html_(self) -> str:
        """A compact HTML table of the headline figures with their standard errors
        (notebooks)."""
        from gpucredit.reports.html import summary_html  # reports sit above the pipeline

        return summary_html(self)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class SimulationResult(ResultViews):
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
    duration : tuple of DurationMismatch
        Debt WAL against collateral half-life and contract life, per facility
        (``credit.duration``).
    guarantees : GuaranteeReport or None
        The written backstops' expected payments under P and the share of the lease revenue
        they back (``credit.guarantees``); None when the deal has none.
    """

    deal: DealSpec
    config: RunConfig
    metrics: FacilityMetrics
    paths: xr.Dataset
    spreads: SpreadSolution | None
    stress: StressOutcome
    collateral: CollateralReport
    provenance: dict[str, Any]
    facilities: tuple[FacilityMetrics, ...] = ()
    facility_spreads: tuple[SpreadSolution | None, ...] = ()
    structure: StructureReport | None = None
    #: The duration mismatch of each facility, in the order of ``all_facilities``.
    duration: tuple[DurationMismatch, ...] = ()
    #: The written backstops' expected payments (P) and share backed; None: the deal has none.
    guarantees: GuaranteeReport | None = None
    #: Construction and completion risk (``pipeline.construction``); None without it.
    construction: ConstructionReport | None = None

    @property
    def all_facilities(self) -> tuple[FacilityMetrics, ...]:
        """Every facility's metrics (the one loan's for a single-loan deal)."""
        return self.facilities or (self.metrics,)

    def summary(self) -> pd.DataFrame:
        """One row per facility."""
        rows = [self._row(m) for m in self.all_facilities]
        return pd.DataFrame(rows).set_index(["deal", "facility"])

    def _row(self, m: FacilityMetrics) -> dict[str, Any]:
        c = self.collateral
        row = {
            "deal": m.deal,
            "facility": m.name,
            "principal_usd": m.principal_usd,
            "tenor_months": m.tenor_months,
            "n_paths": m.n_paths,
            "pd": m.pd,
            "pd_se": m.pd_se,
            "pd_ci_low": m.pd_ci_low,
            "pd_ci_high": m.pd_ci_high,
            "pd_annual": m.pd_annual,
            "lgd": m.lgd,
            "lgd_se": m.lgd_se,
            "lgd_p95": m.lgd_p95,
            "expected_loss_usd": m.expected_loss_usd,
            "el_se_usd": m.el_se_usd,
            "expected_loss_pct": m.expected_loss_pct,
            "fair_spread_bps": m.fair_spread_bps,
            "fair_spread_se_bps": m.fair_spread_se_bps,
            "actuarial_spread_bps": m.actuarial_spread_bps,
            "actuarial_spread_se_bps": m.actuarial_spread_se_bps,
            "risk_premium_bps": m.risk_premium_bps,
            "market_spread_bps": m.reported_market_spread_bps,
            "spread_gap_bps": m.reported_spread_gap_bps,
            "implied_rating": m.implied_rating,
            "implied_rating_range": m.implied_rating_range,
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
            **default_kind_record(m),
        }
        row.update(duration_columns(self.duration_of(m)))
        # an undefined figure (an LTV over collateral worth nothing) is an empty CSV cell
        return {k: finite_or_none(v) for k, v in row.items()}

    def duration_of(self, m: FacilityMetrics) -> DurationMismatch | None:
        """The duration mismatch of facility ``m`` (None when it was not measured)."""
        return duration_of(self.all_facilities, self.duration, m)

    def duration_frame(self) -> pd.DataFrame:
        """One row per facility: the duration-mismatch figures and why any is missing."""
        return duration_frame(self.all_facilities, self.duration)

    def dscr_fan(self) -> pd.DataFrame:
        """DSCR p5/p50/p95 and LTV p50 by month (over paths alive that month); for a capital
        structure the deal DSCR (all facilities' service) and the deal LLCR p50."""
        if self.structure is not None:
            s = self.structure
            n = s.dscr_p50.shape[0]
            grid = TimeGrid(self.deal.as_of, n)
            return pd.DataFrame(
                {
                    "date": grid.month_ends,
                    "dscr_p5": s.dscr_p5,
                    "dscr_p50": s.dscr_p50,
                    "dscr_p95": s.dscr_p95,
                    "llcr_p50": s.llcr_p50[1:],
                    "plcr_p50": s.plcr_p50[1:],
                },
                index=pd.RangeIndex(1, n + 1, name="month"),
            )
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


def finite_or_none(value: Any) -> Any:
    """``value``, or None where it is a non-finite float (so no NaN or inf reaches a CSV)."""
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return value


@dataclass(frozen=True, slots=True)
class StructureReport:
    """Deal-level results of a capital structure.

    Attributes
    ----------
    borrower_pd : probability that the borrower defaults (any facility, cross-default).
    dscr_p5, dscr_p50, dscr_p95 : (month,) deal DSCR (CFADS / all scheduled debt service)
        over the paths where the borrower is alive and owes service.
    llcr_p5, llcr_p50, llcr_p95, plcr_p50 : (month + 1,) cover ratios from close (column 0):
        PV of CFADS to the last maturity (PLCR: plus the fleet's income-approach value then)
        at the debt's balance-weighted rate, over all debt outstanding.
    llcr_at_close, plcr_at_close : the base-case ratios at close (no shocks).
    steps : labels of the waterfall steps; ``step_paid_mean_usd`` the mean paid by each over
        the life (per path).
    sculpted : facility -> (debt sized, base-case DSCR) for project-finance facilities.
    concentration : customer concentration (tenant shares, HHI) as a dict.
    real_estate : the real estate pledged beside the fleet (``credit.real_estate``).
    real_estate_share : per facility, the share of its recoveries (USD, all defaulted paths)
        that the real estate paid (None where it recovered nothing).
    parent : the deal's parent (``DealSpec.parent``) as a dict, or None: its links, its P PD
        and CDS-implied Q hazard (``credit.entity_risk.entity_record``), its simulated default
        rate over the horizon and per facility what it explains (``parent_figures``).
    """

    borrower_pd: float
    dscr_p5: Float64Array
    dscr_p50: Float64Array
    dscr_p95: Float64Array
    llcr_p5: Float64Array
    llcr_p50: Float64Array
    llcr_p95: Float64Array
    plcr_p50: Float64Array
    llcr_at_close: float
    plcr_at_close: float
    steps: tuple[str, ...]
    step_paid_mean_usd: tuple[float, ...]
    sculpted: dict[str, tuple[float, float]]
    concentration: dict[str, Any]
    real_estate: tuple[RealEstateTerms, ...] = ()
    real_estate_share: tuple[float | None, ...] = ()
    parent: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class MinerResult(ResultViews):
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
    #: The double-leverage premium over the stress correlation (``pipeline.miner``):
    #: {"paths": n, "points": [{"stress_correlation", facility or "borrower" -> {"pd",
    #: "pd_se", "expected_loss_usd", "el_se_usd", "fair_spread_bps", "fair_spread_se_bps",
    #: "actuarial_spread_bps", "actuarial_spread_se_bps"}}]}; None when not run.
    premium_curve: dict[str, Any] | None = None

    @property
    def all_facilities(self) -> tuple[FacilityMetrics, ...]:
        """Every facility's metrics (``facilities``; the name a deal's result uses too)."""
        return self.facilities

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
                    "market_spread_bps": m.reported_market_spread_bps,
                    "spread_gap_bps": m.reported_spread_gap_bps,
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

    def premium_curve_frame(self) -> pd.DataFrame:
        """The premium curve, one row per stress correlation and facility (the borrower last):
        PD, EL (USD) and fair-spread (bp) premiums with their standard errors; empty when the
        curve was not run. A point the stress matrix cannot hold has only its ``note``."""
        rows: list[dict[str, Any]] = []
        curve = self.premium_curve or {"points": []}
        for point in curve["points"]:
            rho = point["stress_correlation"]
            if "note" in point:
                rows.append(
                    {
                        "deal": self.spec.name,
                        "facility": None,
                        "stress_correlation": rho,
                        "note": point["note"],
                    }
                )
                continue
            for name, row in point.items():
                if isinstance(row, dict):
                    rows.append(
                        {"deal": self.spec.name, "facility": name, "stress_correlation": rho, **row}
                    )
        return pd.DataFrame(rows)

    def duration_frame(self) -> pd.DataFrame:
        """One row per facility: the duration-mismatch figures and why any is missing."""
        return duration_frame(self.facilities, self.duration)
