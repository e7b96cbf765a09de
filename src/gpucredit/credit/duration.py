"""The duration mismatch of a facility: how long the debt lives against how long the collateral
and the contracts that feed it do.

The seed article's first warning is a loan shaped like a 10-year mortgage on an asset with an
18-month shelf life. Five figures measure it, all in months from the as-of date (month 0 is the
close, month ``t`` ends ``t`` months later):

* **Debt weighted-average life** (contractual): ``WAL = sum_t t x P_t / sum_t P_t`` with ``P_t``
  the scheduled principal of month ``t`` (no default, no prepayment, draws as scheduled, the
  balloon at maturity). A straight-line loan over ``n`` months has ``WAL = (n + 1) / 2``.
* **Collateral value half-life** on the median path and on the 5th-percentile path: the months
  until the month-wise p50 (p5) across paths of the collateral value falls to half its value
  at close, interpolated log-linearly between month ends (exact for a value falling by a
  constant share each month: ``ln 2 / -ln(1 - d)``). None, with the reason, when the horizon
  ends first.
* **Contracted revenue weighted-average life**: ``sum_t t x C_t / sum_t C_t`` with ``C_t`` the
  revenue the contracts promise in month ``t`` (units x rate in force x hours x the share of
  the month inside the contract; no tenant default).
* **Month the median realisable LTV crosses 100%**: the first month ``t`` at which the
  scheduled balance is at least the month-wise median realisable collateral value. None when
  it never does within the debt's life.
* **Principal outstanding when the contracts end**: the scheduled balance at the end of the
  month the last contract ends, over the principal (opening balance plus draws). None without
  contracts.

Everything here is a pure function of arrays; :class:`ValueFan` is the streaming accumulator
of the month-wise collateral-value distribution (bounded memory, merged across blocks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gpucredit._typing import Float64Array
from gpucredit.assets.fleet import plan_fleet
from gpucredit.config.spec import DealSpec
from gpucredit.debt.facilities import FacilityTerms
from gpucredit.debt.schedule import scheduled_principal
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.stats import MonthlyHistogram
from gpucredit.units import HOURS_PER_MONTH

__all__ = [
    "DURATION_COLUMNS",
    "VALUE_EDGES",
    "DurationMismatch",
    "ValueFan",
    "contract_revenue_wal",
    "contract_schedule",
    "duration_columns",
    "duration_mismatch",
    "facility_mismatches",
    "first_crossing_month",
    "half_life_months",
    "principal_share_at",
    "repayments",
    "scheduled_balance",
    "weighted_average_life",
]

VALUE_EDGES = np.concatenate([np.linspace(0.0, 4.0, 4001), 4.0 * 1.01 ** np.arange(1, 787)])
"""Histogram edges of collateral value over its value at close, ratio: 0.001 wide up to 4 (a
half-life read off the p50 moves by well under a tenth of a month), then 1% wide up to about
10,000 (a delayed-draw fleet whose GPUs arrive after close grows many times its close value)."""

HALF = 0.5
ZERO_RATIO = 1e-9
"""Floor on a value ratio in the log-linear interpolation of a half-life."""


@dataclass(slots=True)
class ValueFan:
    """Month-wise distribution of collateral value over its value at close, across paths.

    Attributes
    ----------
    n_months : int
        Months of the grid.
    close_value_usd : float
        The collateral value at close the values are divided by, USD (> 0 for any figure).
    hist : MonthlyHistogram
        Counts of ``value / close_value_usd`` per month, shape (month, bins).
    """

    n_months: int
    close_value_usd: float
    hist: MonthlyHistogram = field(init=False)

    def __post_init__(self) -> None:
        self.hist = MonthlyHistogram(VALUE_EDGES, self.n_months)

    def add(self, value_usd: Float64Array) -> None:
        """Add one block: ``value_usd`` shape (path, month), USD (every path counts)."""
        v = np.asarray(value_usd, dtype=np.float64)
        scale = self.close_value_usd if self.close_value_usd > 0.0 else 1.0
        ratio = v / scale
        self.hist.add(ratio, np.ones(ratio.shape, dtype=np.bool_), clip=(0.0, 1e6))

    def merge(self, other: ValueFan) -> None:
        self.hist.merge(other.hist)

    def quantile_ratio(self, q: float) -> Float64Array:
        """Month-wise ``q`` quantile of value over the close value, shape (month,), ratio."""
        return self.hist.quantiles(q)


@dataclass(frozen=True, slots=True)
class DurationMismatch:
    """The duration-mismatch figures of one facility (module docstring for definitions).

    Attributes
    ----------
    debt_wal_months, debt_wal_years : float or None
        Contractual weighted-average life of the debt, months and years.
    collateral_half_life_p50_months, collateral_half_life_p5_months : float or None
        Months until the month-wise median (5th percentile) collateral value halves.
    contract_wal_months : float or None
        Weighted-average life of the contracted revenue, months.
    ltv_over_100_month : int or None
        First month the median realisable LTV (scheduled balance over the median realisable
        value) is at least 100%.
    principal_share_at_contract_end : float or None
        Scheduled balance when the last contract ends over the principal, share of one.
    last_contract_end_month : int or None
        Month the last contract ends.
    horizon_months : int
        Months over which the collateral value is simulated.
    reasons : dict of str to str
        Why each None figure is None.
    """

    debt_wal_months: float | None
    debt_wal_years: float | None
    collateral_half_life_p50_months: float | None
    collateral_half_life_p5_months: float | None
    contract_wal_months: float | None
    ltv_over_100_month: int | None
    principal_share_at_contract_end: float | None
    last_contract_end_month: int | None
    horizon_months: int
    reasons: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: figures (None where undefined) and ``notes`` with each None's reason."""
        figures: dict[str, Any] = {
            "debt_wal_months": self.debt_wal_months,
            "debt_wal_years": self.debt_wal_years,
            "collateral_half_life_p50_months": self.collateral_half_life_p50_months,
            "collateral_half_life_p5_months": self.collateral_half_life_p5_months,
            "contract_wal_months": self.contract_wal_months,
            "ltv_over_100_month": self.ltv_over_100_month,
            "principal_share_at_contract_end": self.principal_share_at_contract_end,
            "last_contract_end_month": self.last_contract_end_month,
            "horizon_months": self.horizon_months,
        }
        notes = {k: v for k, v in self.reasons.items() if figures.get(k) is None}
        if notes:
            figures["notes"] = notes
        return figures


def weighted_average_life(flows: Float64Array) -> float | None:
    """``sum_t t x flow_t / sum_t flow_t`` over months ``t = 1..n``, months.

    Parameters
    ----------
    flows : ndarray, shape (month,)
        Principal repaid (or revenue received) at the end of each month, USD, >= 0.

    Returns
    -------
    float or None
        Months; None when nothing flows.
    """
    f = np.asarray(flows, dtype=np.float64)
    total = float(f.sum())
    if not total > 0.0:
        return None
    t = np.arange(1, f.size + 1, dtype=np.float64)
    return float((t * f).sum() / total)


def scheduled_balance(facility: FacilityTerms, annual_rate: float) -> Float64Array:
    """Contractual balance at each month end, no default or prepayment.

    Parameters
    ----------
    facility : FacilityTerms
        The facility (a single loan is a facility without draws).
    annual_rate : float
        All-in coupon held flat, decimal a year (shapes a level-payment schedule only).

    Returns
    -------
    ndarray, shape (tenor + 1,)
        USD; index 0 is the close (the opening balance), index ``t`` the end of month ``t``.
    """
    n = facility.tenor_months
    out = np.zeros(n + 1)
    balance = np.array([facility.loan.principal_usd])
    rate = np.array([annual_rate / 12.0])
    out[0] = balance[0]
    for month in range(1, n + 1):
        hit = facility.draw_month == month
        if hit.any():
            balance = balance + float(facility.draw_usd[hit].sum())
        if month >= n:
            due = balance
        elif facility.draw_due is not None:
            due = np.minimum(facility.draw_due[month - 1], balance)
        else:
            due = scheduled_principal(facility.loan, month, balance, rate)
        balance = balance - due
        out[month] = max(float(balance[0]), 0.0)
    return out


def repayments(balance: Float64Array, draws_usd: Float64Array) -> Float64Array:
    """Principal repaid each month from a balance path and the draws, shape (month,), USD."""
    b = np.asarray(balance, dtype=np.float64)
    return np.asarray(b[:-1] + np.asarray(draws_usd, dtype=np.float64) - b[1:], dtype=np.float64)


def half_life_months(ratio: Float64Array) -> float | None:
    """Months until a value path first falls to half its value at close.

    Parameters
    ----------
    ratio : ndarray, shape (month,)
        Value at the end of months ``1..n`` over the value at close (month 0 is 1), ratio.

    Returns
    -------
    float or None
        Months, interpolated log-linearly between the month ends around the crossing (a value
        of 0 counts as ``ZERO_RATIO``); None when the value stays above half through month
        ``n``.
    """
    r = np.concatenate([[1.0], np.asarray(ratio, dtype=np.float64)])
    below = np.flatnonzero(r <= HALF)
    if below.size == 0:
        return None
    t = int(below[0])
    # a value that reaches nothing is floored at ZERO_RATIO, so the result stays monotone in
    # the path (a lower path never halves later) and finite
    before, after = float(r[t - 1]), max(float(r[t]), ZERO_RATIO)
    if before <= after:
        return float(t)
    return (t - 1) + math.log(before / HALF) / math.log(before / after)


def first_crossing_month(balance: Float64Array, value: Float64Array) -> int | None:
    """First month ``t >= 1`` with ``balance_t >= value_t > -inf`` and ``balance_t > 0``.

    Parameters
    ----------
    balance : ndarray, shape (month,)
        Scheduled balance at the end of months ``1..n``, USD.
    value : ndarray, shape (month,)
        Collateral value at the same month ends, USD (NaN months are skipped).

    Returns
    -------
    int or None
        The month (1-based), None when the balance never reaches the value.
    """
    b = np.asarray(balance, dtype=np.float64)
    v = np.asarray(value, dtype=np.float64)[: b.size]
    b = b[: v.size]
    hit = np.flatnonzero((b > 0.0) & np.isfinite(v) & (b >= v))
    return None if hit.size == 0 else int(hit[0]) + 1


def principal_share_at(balance: Float64Array, month: int, principal_usd: float) -> float:
    """Scheduled balance at the end of ``month`` over ``principal_usd`` (0 after maturity).

    Parameters
    ----------
    balance : ndarray, shape (tenor + 1,)
        Scheduled balance, index 0 the close, USD.
    month : int
        Month (0 = close).
    principal_usd : float
        Principal funded (opening balance plus draws), USD, > 0.
    """
    b = np.asarray(balance, dtype=np.float64)
    if month >= b.size:
        return 0.0
    return float(b[max(month, 0)] / principal_usd)


def contract_revenue_wal(
    units: Float64Array, rate_by_month: Float64Array, active: Float64Array, hours_per_month: float
) -> tuple[float | None, int | None]:
    """Weighted-average life of contracted revenue and the month the last contract ends.

    Parameters
    ----------
    units : ndarray, shape (K,)
        GPUs under each contract.
    rate_by_month : ndarray, shape (K, month)
        Rate in force, USD per GPU-hour.
    active : ndarray, shape (K, month)
        Share of each month inside the contract, in [0, 1].
    hours_per_month : float
        Hours in a month.

    Returns
    -------
    (float or None, int or None)
        WAL in months and the last month (1-based) with any contract activity; (None, None)
        without contracts.
    """
    a = np.asarray(active, dtype=np.float64)
    if a.size == 0:
        return None, None
    revenue = (
        np.asarray(units, dtype=np.float64)[:, None]
        * np.asarray(rate_by_month, dtype=np.float64)
        * a
        * hours_per_month
    ).sum(axis=0)
    live = np.flatnonzero(a.max(axis=0) > 0.0)
    last = int(live[-1]) + 1 if live.size else None
    return weighted_average_life(revenue), last


def duration_mismatch(
    *,
    balance: Float64Array,
    repaid: Float64Array,
    principal_usd: float,
    value_p50_ratio: Float64Array,
    value_p5_ratio: Float64Array,
    close_value_usd: float,
    realisable_share: float,
    contract_wal_months: float | None,
    last_contract_end_month: int | None,
    ltv_balance: Float64Array | None = None,
) -> DurationMismatch:
    """The five figures of one facility from its schedule and the deal's value fan.

    Parameters
    ----------
    balance : ndarray, shape (tenor + 1,)
        Scheduled balance, index 0 the close, USD.
    repaid : ndarray, shape (tenor,)
        Scheduled principal repaid each month, USD.
    principal_usd : float
        Opening balance plus draws, USD.
    value_p50_ratio, value_p5_ratio : ndarray, shape (month,)
        Month-wise p50 and p5 across paths of collateral value over its value at close, ratio.
    close_value_usd : float
        Collateral value at close (appraised), USD.
    realisable_share : float
        Realisable (fire-sale) value over appraised value at close, ratio; the realisable
        value on a month is the appraised value times it.
    contract_wal_months : float or None
        From :func:`contract_revenue_wal`.
    last_contract_end_month : int or None
        From :func:`contract_revenue_wal`.
    ltv_balance : ndarray, shape (tenor + 1,), optional
        Balance the LTV counts (the claims ranking ahead of and with the facility), USD;
        ``balance`` when omitted.
    """
    reasons: dict[str, str] = {}
    horizon = int(np.asarray(value_p50_ratio).size)
    wal = weighted_average_life(repaid)
    if wal is None:
        reasons["debt_wal_months"] = "no principal falls due"
        reasons["debt_wal_years"] = "no principal falls due"
    no_value = close_value_usd <= 0.0
    hl50 = None if no_value else half_life_months(value_p50_ratio)
    hl5 = None if no_value else half_life_months(value_p5_ratio)
    for key, value in (
        ("collateral_half_life_p50_months", hl50),
        ("collateral_half_life_p5_months", hl5),
    ):
        if value is None:
            reasons[key] = (
                "collateral worth nothing at close"
                if no_value
                else f"the value stays above half its close value through month {horizon} "
                "(the horizon)"
            )
    realisable = np.asarray(value_p50_ratio, dtype=np.float64) * close_value_usd * realisable_share
    claims = balance if ltv_balance is None else ltv_balance
    crossing = None
    if no_value:
        reasons["ltv_over_100_month"] = "collateral worth nothing at close"
    else:
        crossing = first_crossing_month(np.asarray(claims, dtype=np.float64)[1:], realisable)
    if crossing is None and not no_value:
        reasons["ltv_over_100_month"] = (
            "the scheduled balance stays below the median realisable value over the debt's life"
        )
    share: float | None = None
    if last_contract_end_month is None:
        none = "no contract runs after the as-of date"
        reasons["contract_wal_months"] = none
        reasons["last_contract_end_month"] = none
        reasons["principal_share_at_contract_end"] = none
    elif principal_usd > 0.0:
        share = principal_share_at(balance, last_contract_end_month, principal_usd)
    else:
        reasons["principal_share_at_contract_end"] = "no principal"
    return DurationMismatch(
        debt_wal_months=wal,
        debt_wal_years=None if wal is None else wal / 12.0,
        collateral_half_life_p50_months=hl50,
        collateral_half_life_p5_months=hl5,
        contract_wal_months=contract_wal_months,
        ltv_over_100_month=crossing,
        principal_share_at_contract_end=share,
        last_contract_end_month=last_contract_end_month,
        horizon_months=horizon,
        reasons=reasons,
    )


def contract_schedule(deal: DealSpec) -> tuple[float | None, int | None]:
    """Contracted-revenue WAL and last contract month of ``deal`` (from the fleet plan on a
    grid that reaches the last contract's end), months; (None, None) when no contract runs
    after the as-of date."""
    if not deal.contracts:
        return None, None
    last = max(c.end for c in deal.contracts)
    n = (last.year - deal.as_of.year) * 12 + last.month - deal.as_of.month + 1
    if n < 1:
        return None, None
    plan = plan_fleet(deal, TimeGrid(deal.as_of, n))
    return contract_revenue_wal(
        plan.contract_units, plan.contract_rate_by_month, plan.contract_active, HOURS_PER_MONTH
    )


def facility_mismatches(
    facilities: tuple[FacilityTerms, ...],
    *,
    contracts: tuple[float | None, int | None],
    sofr: float,
    fan: ValueFan,
    appraised_value_usd: float,
    realisable_value_usd: float,
) -> tuple[DurationMismatch, ...]:
    """:func:`duration_mismatch` of every facility of a deal.

    Parameters
    ----------
    facilities : tuple of FacilityTerms
        The facilities, in the structure's order (one for a single loan).
    contracts : (float or None, int or None)
        Contracted-revenue WAL and last contract month (:func:`contract_schedule`).
    sofr : float
        SOFR at close, decimal a year, held flat for level-payment schedules.
    fan : ValueFan
        The deal's collateral value fan over all paths.
    appraised_value_usd, realisable_value_usd : float
        Collateral value at close, appraised and realisable (fire sale), USD.

    Notes
    -----
    In a structure the LTV of a facility counts the scheduled balances of every facility that
    ranks ahead of it or with it (lower or equal ``seniority``) against the deal's collateral.
    """
    contract_wal, last_end = contracts
    p50, p5 = fan.quantile_ratio(0.50), fan.quantile_ratio(0.05)
    share = realisable_value_usd / appraised_value_usd if appraised_value_usd > 0.0 else 0.0
    schedules = []
    for f in facilities:
        rate = float(f.loan.annual_rate(np.array([sofr]))[0])
        schedules.append(scheduled_balance(f, rate))
    longest = max(s.size for s in schedules)
    padded = [np.pad(s, (0, longest - s.size)) for s in schedules]
    out: list[DurationMismatch] = []
    for k, f in enumerate(facilities):
        draws = np.zeros(f.tenor_months)
        for month, usd in zip(f.draw_month, f.draw_usd, strict=True):
            if 1 <= month <= f.tenor_months:
                draws[month - 1] += usd
        ahead = sum(
            (p for j, p in enumerate(padded) if facilities[j].seniority <= f.seniority),
            start=np.zeros(longest),
        )
        out.append(
            duration_mismatch(
                balance=schedules[k],
                repaid=repayments(schedules[k], draws),
                principal_usd=f.committed_usd,
                value_p50_ratio=p50,
                value_p5_ratio=p5,
                close_value_usd=appraised_value_usd,
                realisable_share=share,
                contract_wal_months=contract_wal,
                last_contract_end_month=last_end,
                ltv_balance=ahead[: f.tenor_months + 1],
            )
        )
    return tuple(out)


DURATION_COLUMNS = (
    "debt_wal_months",
    "debt_wal_years",
    "collateral_half_life_p50_months",
    "collateral_half_life_p5_months",
    "contract_wal_months",
    "ltv_over_100_month",
    "principal_share_at_contract_end",
)
"""The duration-mismatch figures of a facility's summary row (``summary.csv``)."""


def duration_columns(figures: DurationMismatch | None) -> dict[str, float | int | None]:
    """The summary-row columns of ``figures`` (every column None when it is None)."""
    record = {} if figures is None else figures.as_dict()
    return {name: record.get(name) for name in DURATION_COLUMNS}
