"""Credit metrics of one facility, accumulated block by block with exact merges."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

import numpy as np

from gpucredit._typing import Float64Array, Int64Array
from gpucredit.credit.outcomes import CreditOutcomes
from gpucredit.credit.ratings import (
    implied_rating,
    implied_rating_el,
    implied_rating_el_range,
    implied_rating_range,
)
from gpucredit.debt.ledger import DEFAULT_KINDS, DebtLedger
from gpucredit.stats import ExactSum, Histogram, MonthlyHistogram

__all__ = [
    "CREDIT_LEDGER_FIELDS",
    "DSCR_EDGES",
    "LTV_EDGES",
    "PAYMENT_DEFAULT_KINDS",
    "CreditAccumulator",
    "FacilityMetrics",
    "check_target",
    "default_kind_record",
    "next_path_count",
    "run_to_target",
    "wilson_interval",
    "with_public_terms",
    "worst_spread_se_bps",
]

#: The per-month ledger fields that ``outcomes.evaluate`` (lender cash flow, minimum DSCR)
#: and ``CreditAccumulator.add`` (DSCR and LTV fans) read: all a Monte Carlo pass needs the
#: waterfall to record (``debt.engine.run_loan(fields=...)``). A field left out is NaN, so a
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
#: Default cap on the paths a ``target_se_bps`` run may use.
MAX_TARGET_PATHS = 1_000_000
#: Paths are added in whole granules of the random streams (``gpucredit.random``).
PATH_STEP = 256
#: Margin on the paths the square-root law asks for, so that one more run usually suffices.
TARGET_MARGIN = 1.1
#: Two-sided 95% normal quantile, for the Wilson interval of the PD.
Z_95 = 1.959963984540054

#: The default kinds (``debt.ledger.DEFAULT_KINDS``) that the rating agencies count as a
#: default: a missed payment of interest or principal. S&P counts "the first occurrence of a
#: payment default on any financial obligation", a distressed exchange or a bankruptcy filing
#: (S&P Global Ratings, "S&P Global Ratings Definitions", section "Issue credit rating
#: definitions", category 'D'); Moody's counts "a missed or delayed disbursement of a
#: contractually obligated interest or principal payment", a bankruptcy filing or legal
#: receivership, and a distressed exchange, and excludes "technical defaults" such as
#: covenant violations (Moody's Investors Service, "Rating Symbols and Definitions", section
#: "Definition of default"). Hence:
#:
#: * ``payment`` (interest or scheduled principal not paid after reserves) and ``maturity``
#:   (the balloon not repaid and not refinanced) are payment defaults;
#: * ``borrowing_base`` is a mandatory prepayment of principal, owed under the loan's terms
#:   when the collateral falls short of the borrowing base, that the borrower could not pay:
#:   contractually due principal, missed;
#: * ``margin_liquidation`` is a margin loan whose pledge, sold, left a shortfall the
#:   borrower did not pay (``debt.margin_loan``): principal missed;
#: * ``covenant`` (an uncured covenant event of default, accelerated while every payment was
#:   made) and ``cross_default`` (a facility accelerated because another facility of the
#:   borrower defaulted, while it was itself paid) are events of default but not payment
#:   defaults. The engine stops a path at acceleration: it does not model whether the
#:   borrower would then have paid the accelerated amount, so these paths count in ``pd``
#:   and their losses in the expected loss, but not in ``pd_payment``. This is a lower bound
#:   on the agencies' count: an accelerated loan that is then not repaid in full would be
#:   a payment default in their eyes. ``pd_payment_upper`` is the matching upper bound: it
#:   also counts every acceleration whose collateral left the lender a loss (the accelerated
#:   amount not repaid in full).
#:
#: The engine has no distressed exchange (a lender's waiver of a covenant, ``WaiverSpec``,
#: is not one: no payment is reduced or deferred).
PAYMENT_DEFAULT_KINDS: tuple[str, ...] = (
    "payment",
    "maturity",
    "borrowing_base",
    "margin_liquidation",
)
#: Codes of the kinds that accelerate a loan that was paying (covenant, cross-default).
_ACCELERATION_CODES = np.array(
    [i for i, k in DEFAULT_KINDS.items() if i > 0 and k not in PAYMENT_DEFAULT_KINDS],
    dtype=np.int64,
)


@dataclass(slots=True)
class CreditAccumulator:
    """Streaming statistics of one facility over all paths."""

    n_months: int
    n_paths: int = 0
    defaults_by_month: Int64Array = field(init=False)
    defaults_by_kind: Int64Array = field(init=False)
    breaches: int = 0
    waived: int = 0
    unpaid_accelerations: int = 0
    loss: ExactSum = field(default_factory=lambda: ExactSum(USD_RESOLUTION, moments=True))
    ead: ExactSum = field(default_factory=lambda: ExactSum(USD_RESOLUTION))
    recovery: ExactSum = field(default_factory=lambda: ExactSum(USD_RESOLUTION))
    lgd: ExactSum = field(default_factory=lambda: ExactSum(RATIO_RESOLUTION, moments=True))
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
        self.waived += int(np.count_nonzero(ledger.waivers))
        accelerated = np.isin(ledger.default_kind, _ACCELERATION_CODES)
        # a loss under a cent is rounding, not an unpaid accelerated amount
        lossy = outcomes.loss_usd > 0.01
        self.unpaid_accelerations += int(np.count_nonzero(accelerated & lossy))
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
        self.waived += other.waived
        self.unpaid_accelerations += other.unpaid_accelerations
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

    Default definitions (docs/model.md "Counting defaults as the agencies do"): ``pd`` is the
    probability of any event of default over the loan's life; ``pd_payment`` that of a
    payment default as S&P and Moody's count it (the kinds in ``PAYMENT_DEFAULT_KINDS``);
    ``default_kind_share`` the probability of each kind, which add up to ``pd``, and
    ``default_kind_share_se`` the binomial standard error of each.
    ``pd_payment_upper`` adds the accelerations (covenant, cross-default) that leave the lender
    a loss, the borrower having then missed the accelerated amount: ``pd_payment <=
    pd_payment_upper <= pd``. ``implied_rating_el`` and ``implied_rating_el_range`` rate by
    expected loss (Moody's-style: ``expected_loss_pct`` and its 95% interval against the
    default table times a 60% loss given default, ``credit.ratings.implied_rating_el``).
    ``implied_rating`` and ``implied_rating_range`` are S&P-style,
    on ``pd_payment_upper`` (S&P's table counts payment defaults, and an accelerated amount
    that the collateral does not repay in full is one). ``waiver_probability`` is the
    probability that a lender waives a covenant breach at least once (``WaiverSpec``).

    Monte Carlo error (docs/model.md section 6): ``pd_se`` is the binomial standard error of
    the PD and ``pd_ci_low``/``pd_ci_high`` its Wilson 95% interval; ``el_se_usd`` (USD),
    ``lgd_se`` (decimal) and ``fair_spread_se_bps`` (bp) are standard errors over the
    independent paths (the fair spread's by the delta method). ``implied_rating_range`` is
    the implied ratings of the interval's two ends, best first ("A/BBB"), or the one rating.
    ``notes`` says why a figure is None (``{"lgd": "no path defaulted"}``).
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
    default_kind_share_se: dict[str, float]
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
    pd_se: float
    pd_ci_low: float
    pd_ci_high: float
    el_se_usd: float
    lgd_se: float | None
    fair_spread_se_bps: float | None
    implied_rating_range: str
    pd_payment: float
    pd_payment_se: float
    pd_payment_ci_low: float
    pd_payment_ci_high: float
    pd_payment_upper: float
    pd_payment_upper_se: float
    implied_rating_el: str
    implied_rating_el_range: str
    waiver_probability: float
    notes: dict[str, str] = field(default_factory=dict)
    #: The fair spread under the real-world measure P (bp) and its standard error; with
    #: ``credit.pricing.with_pricing_measure`` applied, ``fair_spread_bps`` is Q's.
    actuarial_spread_bps: float | None = None
    actuarial_spread_se_bps: float | None = None
    #: Q fair spread - P fair spread (bp): what the market's prices of risk add.
    risk_premium_bps: float | None = None
    #: A convertible's fair spread as straight debt (its conversion and soft call removed),
    #: bp, under Q and P; None for other facilities. Straight - fair = the equity option's
    #: value to the holder in spread (docs/capital_structures.md).
    straight_spread_bps: float | None = None
    straight_actuarial_spread_bps: float | None = None
    #: Whether the instrument's pricing is public (``pricing_public`` of its spec): when
    #: False, ``market_spread_bps`` is the spread of an assumed coupon and is reported as
    #: unknown (``reported_market_spread_bps`` and ``reported_spread_gap_bps`` are None).
    pricing_public: bool = True
    #: An agency's rating of the instrument where public ('BB-'), and the agency.
    public_rating: str | None = None
    public_rating_agency: str | None = None

    @property
    def reported_market_spread_bps(self) -> float | None:
        """The market spread as reported, bp: None when the pricing is not public."""
        return self.market_spread_bps if self.pricing_public else None

    @property
    def reported_spread_gap_bps(self) -> float | None:
        """Market - fair spread as reported, bp: None when the pricing is not public."""
        return self.spread_gap_bps if self.pricing_public else None

    @property
    def public_rating_label(self) -> str | None:
        """The public rating with its agency ('BB- (Fitch)'), or None."""
        if self.public_rating is None:
            return None
        agency = self.public_rating_agency
        return self.public_rating if agency is None else f"{self.public_rating} ({agency})"


def wilson_interval(defaults: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``defaults / n`` (decimals).

    ``(c - h, c + h)`` with ``c = (p + z^2 / 2n) / (1 + z^2 / n)`` and
    ``h = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2)``: inside [0, 1], and not of
    zero width at ``p = 0`` or 1, where the normal interval is. ``z`` = 1.96 gives 95%.
    """
    if n < 1:
        raise ValueError(f"wilson_interval: n = {n}, expected at least 1")
    p = defaults / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = z / denom * math.sqrt(max(p * (1.0 - p), 0.0) / n + z2 / (4.0 * n * n))
    low = 0.0 if defaults == 0 else max(centre - half, 0.0)  # exact ends, no rounding residue
    high = 1.0 if defaults == n else min(centre + half, 1.0)
    return low, high


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
    fair_spread_se: float | None = None,
    fair_spread_note: str | None = None,
) -> FacilityMetrics:
    """Turn merged statistics into the reported metrics.

    ``market_spread``, ``fair_spread`` and ``fair_spread_se`` are decimals a year;
    ``fair_spread_note`` says why ``fair_spread`` is None (default: it was not solved).
    """
    n = acc.n_paths
    n_def = int(acc.defaults_by_month[1:].sum())
    pd = n_def / n
    pd_low, pd_high = wilson_interval(n_def, n)
    notes: dict[str, str] = {}
    if not n_def:
        for key in ("lgd", "lgd_se", "lgd_p95", "mean_ead_usd"):
            notes[key] = "no path defaulted"
    elif n_def == 1:
        notes["lgd_se"] = "one path defaulted: no spread to measure"
    if fair_spread is None:
        reason = fair_spread_note or "fair spread not solved"
        for key in ("fair_spread_bps", "fair_spread_se_bps", "spread_gap_bps"):
            notes[key] = reason
    elif fair_spread_se is None:
        notes["fair_spread_se_bps"] = fair_spread_note or "standard error not estimated"
    years = tenor_months / 12.0
    pd_annual = 1.0 - (1.0 - pd) ** (1.0 / years) if pd < 1.0 else 1.0
    share = {k: float(acc.defaults_by_kind[i]) / n for i, k in DEFAULT_KINDS.items() if i > 0}
    share_se = {k: math.sqrt(p * (1.0 - p) / n) for k, p in share.items()}
    n_pay = payment_default_count(acc)
    pd_pay = n_pay / n
    pay_low, pay_high = wilson_interval(n_pay, n)
    # the rating counts an acceleration the collateral did not repay in full: the accelerated
    # amount fell due and was missed, a payment default in the agencies' eyes
    n_rated = n_pay + acc.unpaid_accelerations
    rated_low, rated_high = wilson_interval(n_rated, n)
    alive_counts = acc.dscr_fan.counts.sum(axis=1)
    el_share = acc.loss.total / n / principal_usd
    el_half_width = Z_95 * acc.loss.standard_error() / principal_usd
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
        default_kind_share_se=share_se,
        lgd=acc.lgd.mean() if n_def else None,
        lgd_p95=acc.lgd_hist.quantile(0.95) if n_def else None,
        mean_ead_usd=acc.ead.mean() if n_def else None,
        expected_loss_usd=acc.loss.total / n,
        expected_loss_pct=el_share,
        pv_per_par=acc.pv.mean(),
        issue_price=issue_price,
        fair_spread_bps=None if fair_spread is None else fair_spread * 1e4,
        market_spread_bps=market_spread * 1e4,
        spread_gap_bps=None if fair_spread is None else (market_spread - fair_spread) * 1e4,
        implied_rating=implied_rating(n_rated / n, years),
        breach_probability=acc.breaches / n,
        min_dscr_p50=acc.min_dscr_hist.quantile(0.5),
        breakeven_rent_usd_per_gpu_hour=breakeven_rent,
        breakeven_generation=breakeven_generation,
        dscr_p5=acc.dscr_fan.quantiles(0.05),
        dscr_p50=acc.dscr_fan.quantiles(0.50),
        dscr_p95=acc.dscr_fan.quantiles(0.95),
        ltv_p50=acc.ltv_fan.quantiles(0.50),
        alive_share=alive_counts / n,
        pd_se=math.sqrt(pd * (1.0 - pd) / n),
        pd_ci_low=pd_low,
        pd_ci_high=pd_high,
        el_se_usd=acc.loss.standard_error(),
        lgd_se=acc.lgd.standard_error() if n_def > 1 else None,
        fair_spread_se_bps=None
        if fair_spread is None or fair_spread_se is None
        else fair_spread_se * 1e4,
        implied_rating_range=implied_rating_range(rated_low, rated_high, years),
        pd_payment=pd_pay,
        pd_payment_se=math.sqrt(pd_pay * (1.0 - pd_pay) / n),
        pd_payment_ci_low=pay_low,
        pd_payment_ci_high=pay_high,
        pd_payment_upper=n_rated / n,
        pd_payment_upper_se=math.sqrt(n_rated / n * (1.0 - n_rated / n) / n),
        implied_rating_el=implied_rating_el(el_share, years),
        implied_rating_el_range=implied_rating_el_range(
            max(el_share - el_half_width, 0.0), el_share + el_half_width, years
        ),
        waiver_probability=acc.waived / n,
        notes=notes,
    )


def payment_default_count(acc: CreditAccumulator) -> int:
    """Paths with a payment default (``PAYMENT_DEFAULT_KINDS``), a count."""
    codes = [i for i, k in DEFAULT_KINDS.items() if k in PAYMENT_DEFAULT_KINDS]
    return int(acc.defaults_by_kind[codes].sum())


def default_kind_record(m: FacilityMetrics) -> dict[str, Any]:
    """The default-definition figures of one facility, flat, for a summary row or a record:
    ``pd_payment`` with its standard error and Wilson 95% interval, the S&P-style implied
    rating (on ``pd_payment_upper``) with its range, the waiver probability and one
    ``default_kind_<kind>`` probability per kind (decimals; they add up to ``pd``), each with
    its binomial standard error (``_se``)."""
    return {
        "pd_payment": m.pd_payment,
        "pd_payment_se": m.pd_payment_se,
        "pd_payment_ci_low": m.pd_payment_ci_low,
        "pd_payment_ci_high": m.pd_payment_ci_high,
        "pd_payment_upper": m.pd_payment_upper,
        "pd_payment_upper_se": m.pd_payment_upper_se,
        "implied_rating_sp": m.implied_rating,
        "implied_rating_sp_range": m.implied_rating_range,
        "implied_rating_el": m.implied_rating_el,
        "implied_rating_el_range": m.implied_rating_el_range,
        "waiver_probability": m.waiver_probability,
        **{f"default_kind_{k}": v for k, v in m.default_kind_share.items()},
        **{f"default_kind_{k}_se": v for k, v in m.default_kind_share_se.items()},
    }


def worst_spread_se_bps(facilities: Sequence[FacilityMetrics]) -> float | None:
    """The largest fair-spread standard error among ``facilities`` (bp), None if none has one."""
    errors = [m.fair_spread_se_bps for m in facilities if m.fair_spread_se_bps is not None]
    return max(errors) if errors else None


def next_path_count(n_paths: int, se_bps: float, target_bps: float, max_paths: int) -> int:
    """Paths for a run whose fair-spread standard error should fall from ``se_bps`` (at
    ``n_paths``) to below ``target_bps``: ``n (se / target)^2`` by the square-root law, with a
    10% margin, at least one more granule of 256 paths, rounded up to whole granules and at
    most ``max_paths``."""
    wanted = n_paths * (se_bps / target_bps) ** 2 * TARGET_MARGIN
    steps = math.ceil(max(wanted, n_paths + 1) / PATH_STEP)
    return int(min(steps * PATH_STEP, max_paths))


R = TypeVar("R")


def check_target(target_se_bps: float, n_paths: int, max_paths: int) -> None:
    """Reject a ``target_se_bps`` that is not a positive finite number, or a ``max_paths``
    below ``n_paths``."""
    if not (math.isfinite(target_se_bps) and target_se_bps > 0.0):
        raise ValueError(f"target_se_bps = {target_se_bps}: expected a positive number of bp")
    if max_paths < n_paths:
        raise ValueError(f"max_paths = {max_paths}: expected at least n_paths = {n_paths}")


def run_to_target(
    run_with: Callable[[int], R],
    facilities: Callable[[R], Sequence[FacilityMetrics]],
    n_paths: int,
    target_se_bps: float,
    max_paths: int,
) -> tuple[R, dict[str, Any]]:
    """Run ``run_with(n)`` with more paths (``credit.metrics.next_path_count``) until the worst
    fair-spread standard error of its ``facilities`` is below ``target_se_bps`` (bp), or
    ``max_paths`` is reached, or no facility has a fair spread. Returns the last result and
    ``{"target_bps", "met", "worst_se_bps", "paths_tried"}``."""
    n = n_paths
    tried = []
    while True:
        result = run_with(n)
        tried.append(n)
        worst = worst_spread_se_bps(facilities(result))
        if worst is None or worst < target_se_bps or n >= max_paths:
            break
        n = next_path_count(n, worst, target_se_bps, max_paths)
    return result, {
        "target_bps": target_se_bps,
        "met": worst is not None and worst < target_se_bps,
        "worst_se_bps": worst,
        "paths_tried": tried,
    }


class PublicTerms(Protocol):
    """What a facility spec says of its public terms (``config.spec`` facilities)."""

    @property
    def name(self) -> str: ...
    @property
    def pricing_public(self) -> bool: ...
    @property
    def public_rating(self) -> str | None: ...
    @property
    def public_rating_agency(self) -> str | None: ...


def with_public_terms(metrics: FacilityMetrics, specs: Sequence[PublicTerms]) -> FacilityMetrics:
    """``metrics`` with the public terms of the spec facility of the same name (whether its
    pricing is public, its agency rating); unchanged when no spec facility has that name (a
    growth plan's facility, a miner's margin loan)."""
    for spec in specs:
        if spec.name == metrics.name:
            return replace(
                metrics,
                pricing_public=spec.pricing_public,
                public_rating=spec.public_rating,
                public_rating_agency=spec.public_rating_agency,
            )
    return metrics
