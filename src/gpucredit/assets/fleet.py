"""GPU fleet cash flows: revenue, opex, CFADS and collateral value on every path and month.

``plan_fleet`` turns the deal spec into fixed arrays once per run (contract calendars, cohort
ages, tenant hazards); ``project`` applies a block of scenario paths to the plan. Both are
pure.

Conventions (documented assumptions):

* A month has 730 hours. Contract revenue = units x rate x hours x share of the month the
  contract is active; a take-or-pay tenant pays for all contracted hours, any other tenant for
  the hours the market would rent (merchant utilisation).
* Contract rates step up by ``escalator_pct_per_year`` on each anniversary of the contract's
  start; a month that holds an anniversary pays the day-weighted mean of the two rates.
* Tenants and guarantors ("entities") default in month ``tau``, the first month in which
  their cumulative hazard reaches an exponential threshold. The monthly hazard comes from the
  rating (or annual PD), read through the cycle by default (``assets.hazards``: the
  chain-averaged cumulative PD over the horizon equals the typed one), and is multiplied by
  ``stress_hazard_multiplier`` in every glut month of the path. The thresholds are linked
  across entities by a one-factor Gaussian copula with asset correlation
  ``asset_correlation`` (``tenant_default_months``).
* A lease fails in the month its tenant defaults or, when a guarantor backs it, in the later
  of the tenant's and the guarantor's default months (the guarantor pays from the tenant's
  default until its own). A backstop as written (``GuarantorSpec.as_written``) pays, from the
  tenant's default month, ``share_pct`` of the contracted rent times the share of the month's
  days before ``until``, and at most what is left of its cap (``cap_usd``, flat or falling in a
  straight line from the contract's start to zero at ``until``, read at each month's end):
  ``paid_t = min(due_t, cap_t - paid so far)``. The unguaranteed part is lost (ASSUMPTION: the
  defaulted tenant pays nothing more; its estate's claim is not counted). While the guarantor
  pays the lease stands (its units are not re-let); the lease fails in the first month it pays
  nothing: the guarantor has defaulted, ``until`` has passed, or the cap was reached (a month
  paying less than due is the last). From the failure month the lease pays nothing, its
  units sit idle for ``re_lease_downtime_months``, and then join the merchant pool at the
  path's market rent. Units leave a contract that expires normally straight into the merchant pool.
* Merchant revenue = units x index x price factor x utilisation x hours: the price factor is
  the realised price per rented hour over the index, utilisation the share of hours rented
  (one discount each; calibration in ``gpucredit.factors.merchant``). After a cohort's
  economic life its uncontracted units are retired (no revenue, no cost).
* Power is billed at server-level IT load x PUE for every unit in service (colocation bills
  reserved capacity; idle GPUs still draw power), colocation per kW of IT load, SG&A as a share
  of revenue. No taxes or maintenance capex: CFADS here is pre-tax.
* A cohort whose ``purchase_date`` is after the as-of date is a delivery. Its delivery month
  is the first grid month whose end is on or after the date (the rule of
  ``debt.capital.month_of``). Before that month it is not owned: no revenue, no cost, not in
  service, zero income-approach and book value. In the delivery month it earns and costs for
  the share of the month's days from the delivery date on (the day count of contracts, so a
  contract starting on the delivery day covers exactly the delivered unit-days), and is owned,
  at full value, at the month's end. Its age is counted from delivery in grid months: that
  share in the delivery month, one more each month after, so a cohort delivered on a month's
  end behaves from the next month exactly as one bought on the as-of date of a grid starting
  then. Its capex is paid by a DDTL draw and the sponsor's equity, never out of CFADS.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numba
import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri

from gpucredit._typing import BoolArray, Float64Array, Int8Array, Int64Array
from gpucredit.assets.hazards import PdBasis, tight_regime_hazard
from gpucredit.config.spec import DealSpec, SpecProblem, check_tenant_risk
from gpucredit.errors import SpecError, SpecIssue
from gpucredit.factors.params import GLUT, RegimeParams
from gpucredit.market.ratings import (
    DEFAULT_ASSET_CORRELATION,
    monthly_hazard,
    party_annual_pd,
    stress_hazard_multiplier,
)
from gpucredit.random import Component, draw_paths
from gpucredit.scenarios.grid import TimeGrid, add_months
from gpucredit.scenarios.scenario import ScenarioSet
from gpucredit.units import HOURS_PER_MONTH, MWH_PER_KWH

__all__ = [
    "AssetCashflows",
    "ConstructionDraws",
    "ConstructionPlan",
    "EntityRisk",
    "FleetPlan",
    "construction_draws",
    "entity_months",
    "entity_risks",
    "gpu_value_usd",
    "lease_failure_months",
    "plan_fleet",
    "project",
    "project_reference",
    "tenant_default_months",
    "written_guarantee_payments",
]

DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True, slots=True)
class FleetPlan:
    """Deterministic arrays of one deal on one grid (C cohorts, K contracts, E entities).

    The entities are the companies whose default is drawn: the tenants in order of first
    appearance, then the guarantors that are not tenants themselves.

    Attributes
    ----------
    cohort_generation : tuple of str, length C
    cohort_units : ndarray, shape (C,)
    cohort_owned_share : ndarray, shape (C, month)
        Share of each month's days the cohort is owned: 1.0 for a cohort bought by the as-of
        date; for a delivery 0.0 before its delivery month, the days from delivery over the
        month's days in it, 1.0 after.
    cohort_in_service : ndarray, shape (C, month)
        1.0 while the cohort is owned and inside its economic life at the month's end, else
        0.0 (0.0 before a delivery month).
    cohort_remaining_life_months : ndarray, shape (C, month)
        Economic life left at each month's end, months, >= 0 (0.0 before a delivery month).
    cohort_book_value_usd : ndarray, shape (C, month)
        Straight-line book value over the borrower's useful life (0.0 before a delivery month:
        not yet owned).
    opex_per_gpu_usd : ndarray, shape (C,)
        Power + colocation per unit in service per month.
    contract_cohort : ndarray of int, shape (K,)
    contract_units : ndarray, shape (K,)
    contract_rate_usd_per_gpu_hour : ndarray, shape (K,)
        Rate at the contract's start, before any escalation.
    contract_rate_by_month : ndarray, shape (K, month)
        Rate in force each month (escalated; day-weighted in an anniversary month).
    contract_active : ndarray, shape (K, month)
        Share of the month's days inside the contract.
    contract_first_month, contract_last_month : ndarray of int, shape (K,)
        First and last month (1-based) with any activity (0 if none).
    contract_take_or_pay : ndarray of bool, shape (K,)
    contract_tenant : ndarray of int, shape (K,)
        Entity index of each contract's tenant.
    contract_guarantor : ndarray of int, shape (K,)
        Entity index of each contract's guarantor, -1 for none.
    tenant_names : tuple of str
        The tenants (the first entities).
    entity_names : tuple of str, length E
        Tenants, then guarantors that are not tenants.
    entity_monthly_hazard : ndarray, shape (E,)
        Monthly default hazard of each entity in the tight regime.
    stress_hazard_multiplier : float
        Factor on every hazard in glut months (``market.ratings.stress_hazard_multiplier``).
    asset_correlation : float
        Asset correlation of the entities' one-factor Gaussian copula, in [0, 1).
    """

    n_months: int
    cohort_names: tuple[str, ...]
    cohort_generation: tuple[str, ...]
    cohort_units: Float64Array
    cohort_owned_share: Float64Array
    cohort_in_service: Float64Array
    cohort_remaining_life_months: Float64Array
    cohort_book_value_usd: Float64Array
    opex_per_gpu_usd: Float64Array
    contract_cohort: Int64Array
    contract_units: Float64Array
    contract_rate_usd_per_gpu_hour: Float64Array
    contract_rate_by_month: Float64Array
    contract_active: Float64Array
    contract_first_month: Int64Array
    contract_last_month: Int64Array
    contract_take_or_pay: np.ndarray
    contract_tenant: Int64Array
    contract_guarantor: Int64Array
    tenant_names: tuple[str, ...]
    entity_names: tuple[str, ...]
    entity_monthly_hazard: Float64Array
    stress_hazard_multiplier: float
    asset_correlation: float
    price_factor: float
    sga_share: float
    other_fixed_usd_per_month: float
    re_lease_downtime_months: int
    buyer_monthly_discount: float
    #: Entity index of the deal's parent (``DealSpec.parent``), -1 for none; the parent is the
    #: same entity as a tenant or guarantor of the same name, else the last entity.
    parent_entity: int = -1
    #: 1 when the parent is an entity of its own (drawn from its own stream,
    #: ``random.Component.PARENT_UNIFORMS``), else 0.
    n_parent_draws: int = 0
    #: The parent as servicer: months without revenue from its default, and the replacement
    #: operator's cost as a share of revenue afterwards (``ServicerSpec``); -1 months: none.
    servicer_downtime_months: int = -1
    servicer_cost_share: float = 0.0
    #: Contracts whose backstop is written (partial, capped or time-limited), shape (K,);
    #: empty: none.
    contract_guarantee_written: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: Share of the rent a written backstop pays (decimal), shape (K,).
    contract_guarantee_share: Float64Array = field(default_factory=lambda: np.zeros(0))
    #: A written backstop's cap in force at each month's end, USD (inf: none), shape (K, month).
    contract_guarantee_cap_usd: Float64Array = field(default_factory=lambda: np.zeros((0, 0)))
    #: Share of each month's days a written backstop covers (before ``until``), (K, month).
    contract_guarantee_cover: Float64Array = field(default_factory=lambda: np.zeros((0, 0)))
    #: Construction and completion risk of the deliveries; None: every delivery arrives on
    #: its date on every path.
    construction: ConstructionPlan | None = None
    #: The contracts' months after the grid's last (``contract_tail``): shape (K, tail), the
    #: share of each month's days inside the contract and its rate, as ``contract_active``
    #: and ``contract_rate_by_month`` on the grid. A lease that outlives the loan is worth its
    #: whole remaining term to a lender that takes it over (``credit.contracts``).
    contract_tail_active: Float64Array = field(default_factory=lambda: np.zeros((0, 0)))
    contract_tail_rate_by_month: Float64Array = field(default_factory=lambda: np.zeros((0, 0)))
    #: Contracts signed at the market (``ContractSpec.rate_vs_market_pct``): the 0-based
    #: month whose rent index of the cohort's generation sets the rate, -1 for a written rate,
    #: shape (K,); empty: none.
    contract_market_month: Int64Array = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: The factor on that rent, 1 + rate_vs_market_pct/100, shape (K,).
    contract_market_factor: Float64Array = field(default_factory=lambda: np.zeros(0))
    #: Contracts their customer terminates when the servicer (the parent) defaults
    #: (``ContractSpec.terminates_on_servicer_default``), shape (K,); empty: none.
    contract_terminates_on_servicer: BoolArray = field(
        default_factory=lambda: np.zeros(0, dtype=bool)
    )

    @property
    def n_entities(self) -> int:
        """Tenants and guarantors whose default is drawn."""
        return len(self.entity_names)

    @property
    def n_tenants(self) -> int:
        """Entities to draw default shocks for (tenants and guarantors): the width of
        ``ShockSource.draw``'s uniforms. Same as ``n_entities``; the name is the shock
        sources' argument."""
        return len(self.entity_names) - self.n_parent_draws


@dataclass(frozen=True, slots=True)
class AssetCashflows:
    """Asset-side results of one block.

    Attributes
    ----------
    revenue_usd, contracted_revenue_usd, merchant_revenue_usd, opex_usd, cfads_usd :
        ndarray, shape (path, month), USD per month.
    cohort_value_usd : ndarray, shape (path, month, cohort)
        Income-approach value of each cohort at each month's end, USD.
    collateral_value_usd : ndarray, shape (path, month)
        Sum over cohorts.
    tenant_default_month : ndarray of int, shape (path, entity)
        Month (1-based) in which each entity (tenant, then guarantor) defaults;
        ``n_months + 1`` when it does not.
    lease_failure_month : ndarray of int, shape (path, contract)
        Month in which each contract stops paying: its tenant's default month, or the later of
        its tenant's and guarantor's; ``n_months + 1`` when it does not fail.
    """

    revenue_usd: Float64Array
    contracted_revenue_usd: Float64Array
    merchant_revenue_usd: Float64Array
    opex_usd: Float64Array
    cfads_usd: Float64Array
    cohort_value_usd: Float64Array
    collateral_value_usd: Float64Array
    tenant_default_month: Int64Array
    lease_failure_month: Int64Array
    #: What the written backstops pay each month, USD, shape (path, month) (zero where the
    #: deal has none: an unlimited backstop's rent stays inside ``contracted_revenue_usd``).
    guarantor_paid_usd: Float64Array = field(default_factory=lambda: np.zeros((0, 0)))
    #: Each cohort's delivery delay on each path, months, shape (path, cohort); None: none.
    delivery_delay_months: Int64Array | None = None
    #: Each cohort's cost overrun on each path, USD, shape (path, cohort); None: none.
    overrun_usd: Float64Array | None = None
    #: Contracts terminated at their long-stop date, shape (path, contract); None: none.
    terminated: BoolArray | None = None


@dataclass(frozen=True, slots=True)
class ConstructionPlan:
    """The deliveries' delay and overrun distributions (C cohorts, K contracts, S values).

    Attributes
    ----------
    delay_months : ndarray of int, shape (C, S)
        Delay values of each cohort's distribution in increasing order, months (padded with
        the largest; a cohort without construction risk has only 0).
    delay_cdf : ndarray, shape (C, S)
        Cumulative probabilities of ``delay_months``; the last is exactly 1.
    overrun_pct : ndarray, shape (C, S2)
        Overrun values in increasing order, percent of ``cost_usd``.
    overrun_cdf : ndarray, shape (C, S2)
    cost_usd : ndarray, shape (C,)
        The cohort's cost, units x unit cost, USD.
    paid_from_cash : ndarray of bool, shape (C,)
        The overrun is paid out of the CFADS of the delivery month (``project_cash``).
    correlation : ndarray, shape (C,)
        Weight of the deal's common construction factor in each cohort's copula.
    scheduled_month : ndarray of int, shape (C,)
        Scheduled delivery month, 1-based (0 for a cohort owned at ``as_of``).
    contract_max_delay : ndarray of int, shape (K,)
        Longest delay, months, that still delivers on or before the contract's long-stop
        date; ``NO_LONGSTOP`` for a contract without one.
    """

    delay_months: Int64Array
    delay_cdf: Float64Array
    overrun_pct: Float64Array
    overrun_cdf: Float64Array
    cost_usd: Float64Array
    paid_from_cash: BoolArray
    correlation: Float64Array
    scheduled_month: Int64Array
    contract_max_delay: Int64Array


#: ``ConstructionPlan.contract_max_delay`` of a contract without a long-stop date.
NO_LONGSTOP = 1_000_000


@dataclass(frozen=True, slots=True)
class ConstructionDraws:
    """One block's construction outcomes.

    Attributes
    ----------
    delay_months : ndarray of int, shape (path, cohort)
        Months each cohort arrives after its scheduled delivery month.
    overrun_usd : ndarray, shape (path, cohort)
        Each cohort's cost overrun, USD.
    """

    delay_months: Int64Array
    overrun_usd: Float64Array


def _discrete_table(
    distributions: list[dict[float, float]],
) -> tuple[Float64Array, Float64Array]:
    """Sorted values and cumulative probabilities, one row per distribution (padded)."""
    width = max(len(d) for d in distributions)
    values = np.zeros((len(distributions), width))
    cdf = np.ones((len(distributions), width))
    for i, dist in enumerate(distributions):
        keys = sorted(dist)
        cum = np.cumsum([dist[k] for k in keys])
        cum[-1] = 1.0  # the probabilities add up to 1 within the spec's tolerance
        values[i, : len(keys)] = keys
        values[i, len(keys) :] = keys[-1]
        cdf[i, : len(keys)] = cum
    return values, cdf


def _construction_plan(deal: DealSpec, owned_share: list[Float64Array]) -> ConstructionPlan | None:
    """The deal's ``ConstructionPlan``, None when no cohort has a construction block and no
    contract a long-stop date."""
    if all(c.construction is None for c in deal.fleet) and all(
        k.longstop_date is None for k in deal.contracts
    ):
        return None
    delays: list[dict[float, float]] = []
    overruns: list[dict[float, float]] = []
    for cohort in deal.fleet:
        build = cohort.construction
        if build is None:
            delays.append({0.0: 1.0})
            overruns.append({0.0: 1.0})
        else:
            delays.append({float(m): p for m, p in build.delay_months.probabilities.items()})
            overruns.append(dict(build.cost_overrun_pct.probabilities))
    delay_values, delay_cdf = _discrete_table(delays)
    overrun_values, overrun_cdf = _discrete_table(overruns)
    scheduled = np.zeros(len(deal.fleet), dtype=np.int64)
    for c, owned in enumerate(owned_share):
        on = np.flatnonzero(np.asarray(owned) > 0.0)
        if deal.fleet[c].purchase_date > deal.as_of and on.size:
            scheduled[c] = on[0] + 1
    names = [c.name for c in deal.fleet]
    max_delay = np.full(len(deal.contracts), NO_LONGSTOP, dtype=np.int64)
    for k, contract in enumerate(deal.contracts):
        if contract.longstop_date is None:
            continue
        due = deal.fleet[names.index(contract.cohort)].purchase_date
        d = 0
        while d < NO_LONGSTOP and add_months(due, d + 1) <= contract.longstop_date:
            d += 1
        max_delay[k] = d
    return ConstructionPlan(
        delay_months=delay_values.astype(np.int64),
        delay_cdf=delay_cdf,
        overrun_pct=overrun_values,
        overrun_cdf=overrun_cdf,
        cost_usd=np.array([c.units * c.unit_cost_usd for c in deal.fleet], dtype=np.float64),
        paid_from_cash=np.array(
            [
                c.construction is not None and c.construction.overrun_funded_by == "project_cash"
                for c in deal.fleet
            ],
            dtype=bool,
        ),
        correlation=np.array(
            [
                0.0 if c.construction is None else c.construction.common_factor_correlation
                for c in deal.fleet
            ],
            dtype=np.float64,
        ),
        scheduled_month=scheduled,
        contract_max_delay=max_delay,
    )


def construction_draws(plan: FleetPlan, seed: int, start: int, stop: int) -> ConstructionDraws:
    """Each cohort's delivery delay and cost overrun on paths ``[start, stop)``.

    From ``Component.CONSTRUCTION``: per path one common normal ``Z`` and one normal
    ``e_c`` per cohort; ``X_c = sqrt(r_c) Z + sqrt(1 - r_c) e_c`` and ``u_c = Phi(X_c)``. The
    delay is the ``u_c``-quantile of the cohort's delay distribution (the smallest value whose
    cumulative probability reaches ``u_c``) and the overrun the ``u_c``-quantile of its
    overrun distribution (comonotone: the later the build, the larger the overrun). A plan
    without construction risk has zero delays and overruns.
    """
    n_paths = stop - start
    n_cohorts = len(plan.cohort_names)
    build = plan.construction
    if build is None:
        return ConstructionDraws(
            np.zeros((n_paths, n_cohorts), dtype=np.int64), np.zeros((n_paths, n_cohorts))
        )
    normals = draw_paths(
        seed,
        Component.CONSTRUCTION,
        start,
        stop,
        lambda rng, n: rng.standard_normal((n, 1 + n_cohorts)),
    )
    r = build.correlation[None, :]
    x = np.sqrt(r) * normals[:, :1] + np.sqrt(1.0 - r) * normals[:, 1:]
    u = ndtr(x)
    delay = np.zeros((n_paths, n_cohorts), dtype=np.int64)
    overrun = np.zeros((n_paths, n_cohorts))
    for c in range(n_cohorts):
        i = np.minimum(np.searchsorted(build.delay_cdf[c], u[:, c]), build.delay_cdf.shape[1] - 1)
        delay[:, c] = build.delay_months[c, i]
        j = np.minimum(
            np.searchsorted(build.overrun_cdf[c], u[:, c]), build.overrun_cdf.shape[1] - 1
        )
        overrun[:, c] = build.overrun_pct[c, j] / 100.0 * build.cost_usd[c]
    return ConstructionDraws(delay, overrun)


def _terminated(plan: FleetPlan, delay: Int64Array) -> BoolArray:
    """Contracts whose cohort is delivered after their long-stop date, shape (path, contract)."""
    build = plan.construction
    n_paths = delay.shape[0]
    if build is None or plan.contract_units.size == 0:
        return np.zeros((n_paths, plan.contract_units.size), dtype=bool)
    return np.asarray(delay[:, plan.contract_cohort] > build.contract_max_delay[None, :])


def _charge_overruns(
    plan: FleetPlan,
    draws: ConstructionDraws,
    revenue: Float64Array,
    opex: Float64Array,
    cfads: Float64Array,
) -> None:
    """Add each ``project_cash`` overrun to the opex of its path's delivery month (the
    scheduled month plus the delay) and recompute that month's CFADS, in place."""
    build = plan.construction
    if build is None or not build.paid_from_cash.any():
        return
    rows = np.arange(revenue.shape[0])
    for c in np.flatnonzero(build.paid_from_cash):
        month = build.scheduled_month[c] + draws.delay_months[:, c]
        ok = (month >= 1) & (month <= plan.n_months)
        p, t = rows[ok], month[ok] - 1
        opex[p, t] = opex[p, t] + draws.overrun_usd[ok, c]
        cfads[p, t] = revenue[p, t] - opex[p, t]


def _months_between(earlier: dt.date, later: dt.date) -> float:
    return (later - earlier).days / DAYS_PER_MONTH


def _anniversary_rates(
    start: dt.date,
    end: dt.date,
    rate: float,
    escalator: float,
    month_lo: Int64Array,
    month_hi: Int64Array,
) -> Float64Array:
    """Rate in force in each month of a contract escalating by ``escalator`` (decimal) a year.

    Year ``y`` of the contract, ``[start + y years, start + (y + 1) years)``, pays
    ``rate (1 + escalator)^y``; a month that holds days of two contract years pays their
    day-weighted mean, a month inside one year exactly that year's rate, a month outside the
    contract the starting rate (it is multiplied by a zero active share).
    ``month_lo``, ``month_hi``: the grid's month boundaries as date ordinals.
    """
    out = np.full(month_lo.shape, rate)
    if escalator == 0.0:
        return out
    days: list[Int64Array] = []
    rates: list[float] = []
    year = 0
    while True:
        lo = add_months(start, 12 * year)
        if lo >= end:
            break
        hi = min(add_months(start, 12 * (year + 1)), end)
        overlap = np.minimum(month_hi, hi.toordinal()) - np.maximum(month_lo, lo.toordinal())
        days.append(np.maximum(overlap, 0))
        rates.append(rate * (1.0 + escalator) ** year)
        year += 1
    d = np.array(days, dtype=np.float64)
    total = d.sum(axis=0)
    weighted = (d * np.array(rates)[:, None]).sum(axis=0)
    out = np.where(total > 0.0, weighted / np.where(total > 0.0, total, 1.0), rate)
    for y, r in enumerate(rates):  # one contract year covers the month: its rate, exactly
        out = np.where((d[y] > 0.0) & (d[y] == total), r, out)
    return np.asarray(out, dtype=np.float64)


def _cohort_calendar(
    purchase_date: dt.date, as_of: dt.date, grid: TimeGrid, month_index: Float64Array
) -> tuple[Float64Array, Float64Array, Float64Array]:
    """Owned share, ownership mask (1.0 from the delivery month) and age at each month's end.

    A cohort bought on or before ``as_of`` is owned throughout; its age, months, is the
    30.4375-day months since purchase plus the months elapsed. A delivery (bought after
    ``as_of``) is owned from its delivery month ``d``, the first month whose end is on or after
    the date: there the owned share ``s`` is the month's days from the date on over its days,
    and the age at the end of month ``m >= d`` is ``(m - d) + s``; before ``d`` all three are 0.
    """
    n = month_index.size
    if purchase_date <= as_of:
        age = _months_between(purchase_date, as_of) + month_index
        return np.ones(n), np.ones(n), age
    owned = grid.active_fraction(purchase_date, max(purchase_date, grid.end(n)))
    ends = np.array([grid.end(m) >= purchase_date for m in range(1, n + 1)])
    mask = ends.astype(np.float64)
    if not ends.any():  # delivered after the horizon (the spec refuses it)
        return owned, mask, np.zeros(n)
    first = int(np.argmax(ends))  # 0-based delivery month
    age = np.where(ends, (month_index - (first + 1)) + owned[first], 0.0)
    return owned, mask, np.asarray(age, dtype=np.float64)


def _entities(deal: DealSpec) -> tuple[list[str], list[str], list[float], list[PdBasis]]:
    """Tenant names, entity names (tenants then other guarantors), their annual PDs and the
    basis each PD is given on."""
    try:
        check_tenant_risk(deal.contracts)
    except SpecProblem as problem:
        raise SpecError(None, [SpecIssue(problem.field, problem.value, problem.expected)]) from None

    names: list[str] = []
    pds: list[float] = []
    bases: list[PdBasis] = []
    for contract in deal.contracts:
        if contract.tenant not in names:
            names.append(contract.tenant)
            pds.append(party_annual_pd(contract.rating, contract.annual_pd_pct))
            bases.append(contract.pd_basis)
    tenants = list(names)
    for contract in deal.contracts:
        g = contract.guarantor
        if g is not None and g.name not in names:
            names.append(g.name)
            pds.append(party_annual_pd(g.rating, g.annual_pd_pct))
            bases.append(g.pd_basis)
    p = deal.parent
    if p is not None and p.name not in names:
        names.append(p.name)
        pds.append(party_annual_pd(p.rating, p.annual_pd_pct))
        bases.append(p.pd_basis)
    return tenants, names, pds, bases


def entity_risks(deal: DealSpec) -> tuple[tuple[str, float, PdBasis], ...]:
    """Each entity of ``deal`` whose default is drawn, in the plan's order (tenants, other
    guarantors, the parent): its name, typed annual PD (decimal) and the basis it is read on."""
    _, names, pds, bases = _entities(deal)
    return tuple(zip(names, pds, bases, strict=True))


def plan_fleet(
    deal: DealSpec,
    grid: TimeGrid,
    *,
    asset_correlation: float = DEFAULT_ASSET_CORRELATION,
    stress_multiplier: float | None = None,
    regime: RegimeParams | None = None,
) -> FleetPlan:
    """Fixed per-deal arrays on ``grid``.

    Parameters
    ----------
    deal : DealSpec
    grid : TimeGrid
    asset_correlation : float
        Asset correlation of the tenants' and guarantors' default copula, in [0, 1); default
        ``market.ratings.DEFAULT_ASSET_CORRELATION`` (Basel II corporate, top of range).
    stress_multiplier : float, optional
        Factor on default hazards in glut months, > 0; default
        ``market.ratings.stress_hazard_multiplier()`` (S&P worst year over average).
    regime : RegimeParams, optional
        The market's regime chain, which turns each company's typed PD into its tight-month
        hazard on the company's ``pd_basis`` (``assets.hazards``): through the cycle, the
        chain-averaged cumulative PD over the grid equals the typed one. ``None``: the chain
        is not known and the typed PD is the tight-month hazard (unit tests of the mechanics).

    Raises
    ------
    SpecError
        A company named more than once with different ratings or PDs.
    """
    if not 0.0 <= asset_correlation < 1.0:
        raise ValueError(f"asset_correlation = {asset_correlation!r}: expected [0, 1)")
    multiplier = stress_hazard_multiplier() if stress_multiplier is None else stress_multiplier
    if not multiplier > 0.0:
        raise ValueError(f"stress_multiplier = {multiplier!r}: expected > 0")
    n = grid.n_months
    month_index = np.arange(1, n + 1, dtype=np.float64)
    opex = deal.opex
    names, gens, units, in_service, remaining, book, opex_gpu = [], [], [], [], [], [], []
    owned_share = []
    for cohort in deal.fleet:
        owned, mask, age = _cohort_calendar(cohort.purchase_date, deal.as_of, grid, month_index)
        life = cohort.economic_life_years * 12.0
        book_life = cohort.book_useful_life_years * 12.0
        names.append(cohort.name)
        gens.append(cohort.generation)
        units.append(float(cohort.units))
        owned_share.append(owned)
        in_service.append((age <= life) * mask)
        remaining.append(np.maximum(life - age, 0.0) * mask)
        cost = cohort.units * cohort.unit_cost_usd
        book.append(cost * np.clip(1.0 - age / book_life, 0.0, 1.0) * mask)
        kw = cohort.it_power_kw
        power = kw * opex.pue * HOURS_PER_MONTH * opex.power_price_usd_per_mwh * MWH_PER_KWH
        opex_gpu.append(power + kw * opex.colocation_usd_per_kw_month)

    tenants, entities, pds, bases = _entities(deal)
    if regime is None:
        hazards = [monthly_hazard(p) for p in pds]
    else:
        hazards = [
            tight_regime_hazard(p, b, multiplier=multiplier, regime=regime, n_months=n)
            for p, b in zip(pds, bases, strict=True)
        ]

    k = len(deal.contracts)
    active = np.zeros((k, n))
    rate_by_month = np.zeros((k, n))
    first = np.zeros(k, dtype=np.int64)
    last = np.zeros(k, dtype=np.int64)
    month_lo = np.array([grid.start(m).toordinal() for m in range(1, n + 1)], dtype=np.int64)
    month_hi = np.array([grid.end(m).toordinal() for m in range(1, n + 1)], dtype=np.int64)
    for i, contract in enumerate(deal.contracts):
        active[i] = grid.active_fraction(contract.start, contract.end)
        rate_by_month[i] = _anniversary_rates(
            contract.start,
            contract.end,
            contract.rate_usd_per_gpu_hour,
            contract.escalator_pct_per_year / 100.0,
            month_lo,
            month_hi,
        )
        on = np.flatnonzero(active[i] > 0)
        if on.size:
            first[i], last[i] = on[0] + 1, on[-1] + 1
    cohort_index = {name: i for i, name in enumerate(names)}
    written, g_share, g_cap, g_cover = _written_guarantee_arrays(deal, grid)
    return FleetPlan(
        n_months=n,
        cohort_names=tuple(names),
        cohort_generation=tuple(gens),
        cohort_units=np.array(units),
        cohort_owned_share=np.array(owned_share, dtype=np.float64).reshape(len(names), n),
        cohort_in_service=np.array(in_service).reshape(len(names), n),
        cohort_remaining_life_months=np.array(remaining).reshape(len(names), n),
        cohort_book_value_usd=np.array(book).reshape(len(names), n),
        opex_per_gpu_usd=np.array(opex_gpu),
        contract_cohort=np.array([cohort_index[c.cohort] for c in deal.contracts], dtype=np.int64),
        contract_units=np.array([float(c.units) for c in deal.contracts]),
        contract_rate_usd_per_gpu_hour=np.array([c.rate_usd_per_gpu_hour for c in deal.contracts]),
        contract_rate_by_month=rate_by_month,
        contract_active=active,
        contract_first_month=first,
        contract_last_month=last,
        contract_take_or_pay=np.array([c.take_or_pay for c in deal.contracts], dtype=bool),
        contract_tenant=np.array(
            [entities.index(c.tenant) for c in deal.contracts], dtype=np.int64
        ),
        contract_guarantor=np.array(
            [
                -1 if c.guarantor is None else entities.index(c.guarantor.name)
                for c in deal.contracts
            ],
            dtype=np.int64,
        ),
        tenant_names=tuple(tenants),
        entity_names=tuple(entities),
        entity_monthly_hazard=np.array(hazards, dtype=np.float64),
        stress_hazard_multiplier=float(multiplier),
        asset_correlation=float(asset_correlation),
        price_factor=deal.merchant.price_factor,
        sga_share=opex.sga_share_of_revenue,
        other_fixed_usd_per_month=opex.other_fixed_usd_per_month,
        re_lease_downtime_months=deal.re_lease_downtime_months,
        buyer_monthly_discount=(1.0 + deal.recovery.buyer_discount_rate_pct / 100.0) ** (1 / 12)
        - 1.0,
        construction=_construction_plan(deal, owned_share),
        contract_guarantee_written=written,
        contract_guarantee_share=g_share,
        contract_guarantee_cap_usd=g_cap,
        contract_guarantee_cover=g_cover,
        **_parent_fields(deal, entities),
        **_termination_fields(deal),
        **contract_tail(deal, grid),
        **_market_rate_fields(deal, first),
    )


def _market_rate_fields(deal: DealSpec, first: Int64Array) -> dict[str, Any]:
    """``FleetPlan``'s market-rate fields: each contract signed at the market is priced on
    the rent index of its first month on the grid (``first``, 1-based); none: empty arrays."""
    if all(c.rate_vs_market_pct is None for c in deal.contracts):
        return {}
    month = np.array(
        [
            -1 if c.rate_vs_market_pct is None else int(first[i]) - 1
            for i, c in enumerate(deal.contracts)
        ],
        dtype=np.int64,
    )
    factor = np.array(
        [
            1.0 if c.rate_vs_market_pct is None else 1.0 + c.rate_vs_market_pct / 100.0
            for c in deal.contracts
        ],
        dtype=np.float64,
    )
    return {"contract_market_month": month, "contract_market_factor": factor}


@numba.njit(cache=True, nogil=True)
def _contract_rate(
    contract_rate: Float64Array,
    k: int,
    tk: int,
    p: int,
    rent_index: Float64Array,
    gen: int,
    market_month: Int64Array | None,
    market_factor: Float64Array | None,
) -> float:
    """Contract ``k``'s rate in its month ``tk`` on path ``p``: the written one, or for a
    contract signed at the market the path's rent index of generation ``gen`` in its signing
    month times its factor (``project_reference``'s ``_market_rates``)."""
    if market_month is not None and market_factor is not None and market_month[k] >= 0:
        return float(rent_index[p, market_month[k], gen] * market_factor[k])
    return float(contract_rate[k, max(tk, 0)])


def contract_tail(deal: DealSpec, grid: TimeGrid) -> dict[str, Any]:
    """``FleetPlan``'s ``contract_tail_active`` and ``contract_tail_rate_by_month``: the
    contracts' calendars over the months after ``grid`` up to the last contract's end, shape
    (K, tail) (tail 0 when every contract ends on the grid), on the grid's own month
    boundaries and anniversary rule."""
    n, k = grid.n_months, len(deal.contracts)
    last_end = max((c.end for c in deal.contracts), default=grid.end(n))
    tail = 0
    while grid.end(n + tail) < last_end:
        tail += 1
    if tail == 0:
        return {
            "contract_tail_active": np.zeros((k, 0)),
            "contract_tail_rate_by_month": np.zeros((k, 0)),
        }
    longer = TimeGrid(grid.as_of, n + tail)
    month_lo = np.array(
        [longer.start(m).toordinal() for m in range(n + 1, n + tail + 1)], dtype=np.int64
    )
    month_hi = np.array(
        [longer.end(m).toordinal() for m in range(n + 1, n + tail + 1)], dtype=np.int64
    )
    active = np.zeros((k, tail))
    rate = np.zeros((k, tail))
    for i, contract in enumerate(deal.contracts):
        active[i] = longer.active_fraction(contract.start, contract.end)[n:]
        rate[i] = _anniversary_rates(
            contract.start,
            contract.end,
            contract.rate_usd_per_gpu_hour,
            contract.escalator_pct_per_year / 100.0,
            month_lo,
            month_hi,
        )
    return {"contract_tail_active": active, "contract_tail_rate_by_month": rate}


def _parent_fields(deal: DealSpec, entities: list[str]) -> dict[str, Any]:
    """``FleetPlan``'s parent and servicer fields of ``deal`` (``entities``: its entity names,
    the parent included)."""
    p = deal.parent
    if p is None:
        return {}
    own = p.name not in {c.tenant for c in deal.contracts} | {
        c.guarantor.name for c in deal.contracts if c.guarantor is not None
    }
    servicer = p.servicer
    return {
        "parent_entity": entities.index(p.name),
        "n_parent_draws": 1 if own else 0,
        "servicer_downtime_months": -1 if servicer is None else servicer.downtime_months,
        "servicer_cost_share": 0.0
        if servicer is None
        else servicer.replacement_cost_pct_of_revenue / 100.0,
    }


def _termination_fields(deal: DealSpec) -> dict[str, Any]:
    """``FleetPlan.contract_terminates_on_servicer`` of ``deal``; empty where no contract is
    terminated on the servicer's default (the plan is then today's)."""
    flags = np.array([c.terminates_on_servicer_default for c in deal.contracts], dtype=np.bool_)
    if not flags.any() or deal.parent is None or deal.parent.servicer is None:
        return {}
    return {"contract_terminates_on_servicer": flags}


def servicer_terminations(plan: FleetPlan, fail: Int64Array, tau: Int64Array) -> Int64Array:
    """Lease failure months with the contracts terminated on the servicer's default.

    A contract flagged in ``plan.contract_terminates_on_servicer`` stops paying in the
    parent's (the servicer's) default month ``tau_p`` if that comes first:
    ``fail_k = min(fail_k, tau_p)``; its units then sit idle for
    ``re_lease_downtime_months`` and join the merchant pool, as after a tenant's default.
    Returns ``fail`` itself where nothing is terminated so (shape (path, contract), months).
    """
    flags = plan.contract_terminates_on_servicer
    if not flags.size or not flags.any() or plan.parent_entity < 0:
        return fail
    t_p = np.asarray(tau, dtype=np.int64)[:, plan.parent_entity][:, None]
    out = np.where(flags[None, :], np.minimum(fail, t_p), fail)
    return np.ascontiguousarray(out, dtype=np.int64)


def servicer_hit(
    plan: FleetPlan,
    tau: Int64Array,
    contracted: Float64Array,
    merchant: Float64Array,
    opex: Float64Array,
) -> tuple[Float64Array, Float64Array, Float64Array, Float64Array, Float64Array]:
    """Revenue and opex after the servicer's default (``FleetPlan.servicer_downtime_months``).

    From the parent's default month ``tau_p`` for ``d`` months the fleet earns nothing
    (contracted and merchant revenue 0; opex, power and colocation owed, unchanged); from
    ``tau_p + d`` on opex rises by ``servicer_cost_share`` times revenue. Returns
    ``(contracted, merchant, revenue, opex, cfads)``, each (path, month), USD per month; the
    inputs unchanged where the deal has no servicer.
    """
    revenue = contracted + merchant
    if plan.servicer_downtime_months < 0 or plan.parent_entity < 0:
        return contracted, merchant, revenue, opex, revenue - opex
    month = np.arange(1, plan.n_months + 1, dtype=np.int64)[None, :]
    t_p = np.asarray(tau, dtype=np.int64)[:, plan.parent_entity][:, None]
    down = (month >= t_p) & (month < t_p + plan.servicer_downtime_months)
    replaced = month >= t_p + plan.servicer_downtime_months
    contracted = np.where(down, 0.0, contracted)
    merchant = np.where(down, 0.0, merchant)
    revenue = contracted + merchant
    opex = np.where(replaced, opex + plan.servicer_cost_share * revenue, opex)
    return contracted, merchant, revenue, opex, revenue - opex


def _written_guarantee_arrays(
    deal: DealSpec, grid: TimeGrid
) -> tuple[BoolArray, Float64Array, Float64Array, Float64Array]:
    """Which contracts have a written backstop, its share (decimal), its cap at each month's
    end (USD; inf when uncapped) and the share of each month's days it covers.

    A straight-line cap is ``cap (until - d) / (until - start)`` at a month ending on day
    ``d``, floored at 0 (days; ``start`` the contract's start).
    """
    n = grid.n_months
    k = len(deal.contracts)
    written = np.zeros(k, dtype=bool)
    share = np.ones(k)
    cap = np.full((k, n), np.inf)
    cover = np.ones((k, n))
    ends = np.array([grid.end(m).toordinal() for m in range(1, n + 1)], dtype=np.float64)
    for i, contract in enumerate(deal.contracts):
        g = contract.guarantor
        if g is None or not g.as_written:
            continue
        written[i] = True
        share[i] = g.share_pct / 100.0
        if g.until is not None:
            cover[i] = grid.active_fraction(grid.start(1), g.until)
        if g.cap_usd is not None:
            cap[i] = g.cap_usd
            if g.cap_amortisation == "straight_line" and g.until is not None:
                span = float(g.until.toordinal() - contract.start.toordinal())
                left = np.clip((g.until.toordinal() - ends) / span, 0.0, 1.0)
                cap[i] = g.cap_usd * left
    return written, share, cap, cover


class EntityRisk(Protocol):
    """What drawing the companies' default months needs: a ``FleetPlan``, or a miner's hosting
    tenants and guarantors (``gpucredit.miners``)."""

    @property
    def n_months(self) -> int: ...
    @property
    def n_entities(self) -> int: ...
    @property
    def entity_monthly_hazard(self) -> Float64Array: ...
    @property
    def stress_hazard_multiplier(self) -> float: ...
    @property
    def asset_correlation(self) -> float: ...


def _exponential_thresholds(
    plan: EntityRisk, uniforms: Float64Array, entity_factor: Float64Array | None
) -> Float64Array:
    """Each entity's unit-exponential default threshold ``E``, shape (path, entity).

    One-factor Gaussian copula: ``X = sqrt(R) Z + sqrt(1 - R) eps`` with ``Z`` the path's
    factor and ``eps = Phi^-1(1 - U)`` the entity's own normal; ``E = -log(Phi(-X))`` is
    unit exponential, and ``E <= H`` exactly when ``X <= Phi^-1(1 - exp(-H))``. With ``R = 0``
    (or no factor) ``E = -log(U)``. ``U = 1`` gives ``E = inf``: no default.
    """
    u = np.asarray(uniforms, dtype=np.float64)
    r = plan.asset_correlation
    with np.errstate(divide="ignore"):
        if entity_factor is None or r == 0.0:
            e = -np.log(u)
        else:
            z = np.asarray(entity_factor, dtype=np.float64)[:, None]
            x = math.sqrt(r) * z + math.sqrt(1.0 - r) * ndtri(1.0 - u)
            e = -log_ndtr(-x)
    return np.asarray(np.where(u >= 1.0, np.inf, e), dtype=np.float64)


def tenant_default_months(
    plan: EntityRisk,
    uniforms: Float64Array,
    regime: Int8Array | None = None,
    entity_factor: Float64Array | None = None,
) -> Int64Array:
    """Month (1-based) of each entity's default, ``n_months + 1`` for none; shape (path, entity).

    The default month is the first month ``t`` whose cumulative hazard
    ``H(t) = h (t + (m - 1) G(t))`` reaches the entity's threshold ``E``
    (``_exponential_thresholds``), with ``h`` its monthly hazard, ``m`` the plan's stress
    multiplier and ``G(t)`` the number of glut months among ``1..t`` on the path. With no
    glut this is ``ceil(E / h)``.

    Parameters
    ----------
    uniforms : ndarray, shape (path, entity)
        Idiosyncratic U(0, 1]; 1.0 never defaults.
    regime : ndarray of int8, shape (path, month), optional
        0 tight, 1 glut; ``None``: tight throughout.
    entity_factor : ndarray, shape (path,), optional
        The copula's systematic normal; ``None``: entities independent.
    """
    never = plan.n_months + 1
    n_paths = uniforms.shape[0]
    if plan.n_entities == 0:
        return np.full((n_paths, 0), never, dtype=np.int64)
    threshold = _exponential_thresholds(plan, uniforms, entity_factor)
    clock = np.arange(1, plan.n_months + 1, dtype=np.float64)[None, :]
    if regime is not None and plan.stress_hazard_multiplier != 1.0:
        glut_months = np.cumsum(np.asarray(regime) == GLUT, axis=1, dtype=np.float64)
        clock = clock + (plan.stress_hazard_multiplier - 1.0) * glut_months
    clock = np.broadcast_to(clock, (n_paths, plan.n_months))
    tau = np.full((n_paths, plan.n_entities), never, dtype=np.int64)
    for j in range(plan.n_entities):
        h = float(plan.entity_monthly_hazard[j])
        if h <= 0.0:
            continue
        with np.errstate(over="ignore"):
            scaled = threshold[:, j] / h
        tau[:, j] = (clock < scaled[:, None]).sum(axis=1) + 1
    return tau


def entity_months(
    plan: FleetPlan, scen: ScenarioSet, given: Int64Array | None = None
) -> Int64Array:
    """Each entity's default month on a block, shape (path, entity): ``given`` (a book's
    months, one per company whatever deal names it, ``pipeline.book``), checked for shape and
    range, else drawn from the scenario's uniforms (``tenant_default_months``)."""
    if given is None:
        return tenant_default_months(plan, scen.tenant_uniforms, scen.regime, scen.entity_factor)
    tau = np.ascontiguousarray(given, dtype=np.int64)
    if tau.shape != (scen.n_paths, plan.n_entities):
        raise ValueError(
            f"entity_default_month has shape {tau.shape}, expected "
            f"({scen.n_paths}, {plan.n_entities})"
        )
    if tau.size and (tau.min() < 1 or tau.max() > plan.n_months + 1):
        raise ValueError(f"entity default months must lie in 1..{plan.n_months + 1}")
    return tau


def lease_failure_months(plan: FleetPlan, tenant_default_month: Int64Array) -> Int64Array:
    """Month each contract stops paying, shape (path, contract).

    The tenant's default month; for a guaranteed contract the later of the tenant's and the
    guarantor's (the guarantor pays from the tenant's default until its own).
    """
    tau = np.asarray(tenant_default_month, dtype=np.int64)
    fail = tau[:, plan.contract_tenant]
    guarantor = plan.contract_guarantor
    if guarantor.size and (guarantor >= 0).any():
        backed = tau[:, np.maximum(guarantor, 0)]
        fail = np.where(guarantor[None, :] >= 0, np.maximum(fail, backed), fail)
    return servicer_terminations(plan, np.ascontiguousarray(fail, dtype=np.int64), tau)


def gpu_value_usd(
    monthly_net_rent: Float64Array,
    monthly_cost: float,
    remaining_months: Float64Array | float,
    monthly_decay: float,
    monthly_discount: float,
) -> Float64Array:
    """Income-approach value of one GPU: present value of the rent it can still earn.

    ``V = sum_{k=1..K} (A g^k - c) q^-k`` with ``A`` this month's net rent (USD/month after
    SG&A), ``g = exp(-monthly_decay)`` the rent trend a buyer extrapolates, ``c`` the monthly
    cost, ``q = 1 + monthly_discount``, and ``K`` the months until either the economic life
    ends or the decaying rent no longer covers the cost (a buyer switches off then).
    """
    a = np.asarray(monthly_net_rent, dtype=np.float64)
    g = math.exp(-monthly_decay)
    q = 1.0 + monthly_discount
    with np.errstate(divide="ignore", invalid="ignore"):
        if monthly_cost > 0.0:
            ratio = np.where(a > monthly_cost, a / monthly_cost, 1.0)
            k_star = np.floor(np.log(ratio) / monthly_decay) if monthly_decay > 0 else np.inf
        else:
            k_star = np.inf
    k = np.minimum(np.floor(remaining_months), k_star)
    k = np.where(a > monthly_cost, k, 0.0)
    x_rent = g / q
    x_cost = 1.0 / q
    s_rent = x_rent * (1.0 - x_rent**k) / (1.0 - x_rent)
    s_cost = x_cost * (1.0 - x_cost**k) / (1.0 - x_cost)
    return np.maximum(a * s_rent - monthly_cost * s_cost, 0.0)


@numba.njit(cache=True, nogil=True)
def _gpu_value_one(
    a: float,
    monthly_cost: float,
    remaining_months: float,
    monthly_decay: float,
    s_rent: Float64Array,
    s_cost: Float64Array,
    c: int,
    no_log_above: float,
) -> float:
    """``gpu_value_usd`` of one value of cohort ``c``, bit-identical to it.

    ``s_rent[c, k]``, ``s_cost[c, k]`` hold exactly the annuity sums ``gpu_value_usd``
    computes for each whole ``k`` (``_annuity_tables``). The logarithm that caps ``k`` where
    the decaying rent stops covering the cost is skipped when ``a >= no_log_above``
    (``_log_skip_thresholds``): the cap cannot bind then.
    """
    if not a > monthly_cost:  # k = 0
        return float(max(a * s_rent[c, 0] - monthly_cost * s_cost[c, 0], 0.0))
    k = np.floor(remaining_months)
    if monthly_cost > 0.0 and monthly_decay > 0 and not a >= no_log_above:
        k = min(k, np.floor(math.log(a / monthly_cost) / monthly_decay))
    i = int(k)
    return float(max(a * s_rent[c, i] - monthly_cost * s_cost[c, i], 0.0))


def _annuity_tables(
    k_max: int, monthly_decay: float, monthly_discount: float
) -> tuple[Float64Array, Float64Array]:
    """``x (1 - x^k) / (1 - x)`` for ``k = 0..k_max``, rent (``x = g/q``) and cost (``x = 1/q``).

    The same NumPy expressions as ``gpu_value_usd``, evaluated on whole ``k``.
    """
    k = np.arange(k_max + 1, dtype=np.float64)
    g = math.exp(-monthly_decay)
    q = 1.0 + monthly_discount
    x_rent = g / q
    x_cost = 1.0 / q
    s_rent = x_rent * (1.0 - x_rent**k) / (1.0 - x_rent)
    s_cost = x_cost * (1.0 - x_cost**k) / (1.0 - x_cost)
    return np.asarray(s_rent, dtype=np.float64), np.asarray(s_cost, dtype=np.float64)


#: Relative margin of ``_log_skip_thresholds``: far above the rounding of ``log``, ``exp`` and
#: the products (a few 1e-16), so that a rent above the threshold certainly has
#: ``floor(log(rent / cost) / d) >= floor(remaining)``.
LOG_SKIP_MARGIN = 1e-9


def _log_skip_thresholds(
    remaining_months: Float64Array, monthly_cost: float, monthly_decay: float
) -> Float64Array:
    """Monthly net rent per GPU above which ``gpu_value_usd`` needs no logarithm, by month.

    With ``F = floor(remaining)``, the cap ``floor(log(a / c) / d)`` cannot bind when
    ``a >= c exp(F d (1 + m)) (1 + m)^2`` (``m = LOG_SKIP_MARGIN``; ``c (1 + m)`` for
    ``F = 0``, where the cap, >= 0, never binds). Infinite (never skip) where that overflows
    or when ``c`` or ``d`` is not positive, in which case no logarithm is taken anyway.
    """
    f = np.floor(np.asarray(remaining_months, dtype=np.float64))
    out = np.full(f.shape, np.inf)
    if monthly_cost > 0.0 and monthly_decay > 0.0:
        m = LOG_SKIP_MARGIN
        with np.errstate(over="ignore"):
            ratio = np.where(f > 0.0, np.exp(f * monthly_decay * (1.0 + m)) * (1.0 + m), 1.0)
            out = ratio * monthly_cost * (1.0 + m)
    return np.asarray(out, dtype=np.float64)


@numba.njit(cache=True, nogil=True)
def _written_guarantees_kernel(
    tenant_fail: Int64Array,
    guarantor_default: Int64Array,
    util: Float64Array,
    written: Int64Array,
    contract_units: Float64Array,
    contract_rate: Float64Array,
    contract_active: Float64Array,
    contract_last: Int64Array,
    take_or_pay: BoolArray,
    share: Float64Array,
    cap: Float64Array,
    cover: Float64Array,
    hours: float,
    fail_out: Int64Array,
    paid_out: Float64Array,
) -> None:
    """The written backstops of ``written`` (contract indices) on every path: each one's
    lease failure month into ``fail_out`` (path, contract) and its payments, USD, into
    ``paid_out`` (path, month, written backstop); ``_written_guarantees_reference`` is the
    NumPy twin (same operations)."""
    n_paths, n = util.shape
    hours_top = hours * 1.0
    for p in range(n_paths):
        for j in range(written.shape[0]):
            k = written[j]
            tt = tenant_fail[p, k]
            tg = guarantor_default[p, k]
            fail = max(tt, tg)
            cum = 0.0
            short = False
            for t in range(tt - 1, min(contract_last[k], n)):
                month = t + 1
                room = cap[k, t] - cum
                if short or month >= tg or cover[k, t] <= 0.0 or room <= 0.0:
                    fail = month
                    break
                hours_paid = hours_top if take_or_pay[k] else hours * util[p, t]
                due = (
                    (contract_units[k] * contract_rate[k, t] * hours_paid * contract_active[k, t])
                    * share[k]
                    * cover[k, t]
                )
                pay = min(due, room)
                short = pay < due
                paid_out[p, t, j] = pay
                cum = cum + pay
            fail_out[p, k] = fail


def _written_guarantees_reference(
    plan: FleetPlan, tenant_fail: Int64Array, guarantor_default: Int64Array, util: Float64Array
) -> tuple[Int64Array, Float64Array]:
    """``_written_guarantees_kernel`` vectorised over paths: (lease failure month (path,
    contract), payments USD (path, month, written backstop)). ``fail`` starts as
    ``tenant_fail`` for the contracts that are not written backstops' (the caller keeps its
    own there)."""
    n_paths, n = util.shape
    written = np.flatnonzero(plan.contract_guarantee_written)
    fail = np.array(tenant_fail, dtype=np.int64)
    paid = np.zeros((n_paths, n, written.size))
    for j, k in enumerate(written.tolist()):
        tt = tenant_fail[:, k]
        tg = guarantor_default[:, k]
        out = np.maximum(tt, tg)
        cum = np.zeros(n_paths)
        short = np.zeros(n_paths, dtype=bool)
        going = np.ones(n_paths, dtype=bool)
        for t in range(min(int(plan.contract_last_month[k]), n)):
            month = t + 1
            on = going & (month >= tt)
            room = plan.contract_guarantee_cap_usd[k, t] - cum
            stop = on & (
                short | (month >= tg) | (plan.contract_guarantee_cover[k, t] <= 0.0) | (room <= 0.0)
            )
            out = np.where(stop, month, out)
            going &= ~stop
            on &= ~stop
            hours_paid = HOURS_PER_MONTH * (1.0 if plan.contract_take_or_pay[k] else util[:, t])
            due = (
                (
                    plan.contract_units[k]
                    * plan.contract_rate_by_month[k, t]
                    * hours_paid
                    * plan.contract_active[k, t]
                )
                * plan.contract_guarantee_share[k]
                * plan.contract_guarantee_cover[k, t]
            )
            pay = np.minimum(due, room)
            short = np.where(on, pay < due, short)
            paid[:, t, j] = np.where(on, pay, 0.0)
            cum = np.where(on, cum + pay, cum)
        fail[:, k] = out
    return fail, paid


def written_guarantee_payments(plan: FleetPlan) -> Float64Array:
    """What each written backstop would pay by month were its tenant to default in month 1
    and its guarantor never, at full contracted hours, USD, shape (contract, month); zero for
    the contracts without one (``_written_guarantees_reference`` on that one path)."""
    k, n = plan.contract_units.size, plan.n_months
    out = np.zeros((k, n))
    if not (plan.contract_guarantee_written.size and plan.contract_guarantee_written.any()):
        return out
    _, paid = _written_guarantees_reference(
        plan,
        np.ones((1, k), dtype=np.int64),
        np.full((1, k), n + 1, dtype=np.int64),
        np.ones((1, n)),
    )
    out[np.flatnonzero(plan.contract_guarantee_written)] = paid[0].T
    return out


def _guarantor_default_by_contract(plan: FleetPlan, tau: Int64Array) -> Int64Array:
    """Default month of each contract's guarantor, shape (path, contract); ``n_months + 1``
    where it has none."""
    g = plan.contract_guarantor
    never = np.full((tau.shape[0], g.size), plan.n_months + 1, dtype=np.int64)
    if not g.size:
        return never
    return np.ascontiguousarray(np.where(g[None, :] >= 0, tau[:, np.maximum(g, 0)], never))


@numba.njit(cache=True, nogil=True)
def _delayed(t: int, delay: int) -> int:
    """The month index (0-based) of the schedule that month ``t`` of a path plays when the
    delivery is ``delay`` months late; negative: before the (late) delivery."""
    return t - delay


@numba.njit(cache=True, nogil=True)
def _project_kernel(
    fail: Int64Array,
    util: Float64Array,
    rent_index: Float64Array,
    cohort_gen: Int64Array,
    cohort_units: Float64Array,
    owned: Float64Array,
    in_service: Float64Array,
    remaining: Float64Array,
    opex_per_gpu: Float64Array,
    decay: Float64Array,
    s_rent: Float64Array,
    s_cost: Float64Array,
    no_log_above: Float64Array,
    contract_cohort: Int64Array,
    contract_units: Float64Array,
    contract_rate: Float64Array,
    contract_active: Float64Array,
    contract_first: Int64Array,
    contract_last: Int64Array,
    take_or_pay: BoolArray,
    downtime: int,
    hours: float,
    price_factor: float,
    sga_share: float,
    other_fixed: float,
    contracted_out: Float64Array,
    merchant_out: Float64Array,
    revenue_out: Float64Array,
    opex_out: Float64Array,
    cfads_out: Float64Array,
    value_out: Float64Array,
    collateral_out: Float64Array,
    delay: Int64Array,
    tenant_fail: Int64Array | None = None,
    written_index: Int64Array | None = None,
    guarantee_paid: Float64Array | None = None,
    market_month: Int64Array | None = None,
    market_factor: Float64Array | None = None,
) -> None:
    """``project`` for one block, path by path and month by month (products and sums in the
    order of ``project_reference``). ``delay[p, c]``: months cohort ``c`` and its contracts
    arrive late on path ``p`` (``_delayed``)."""
    n_paths, n = util.shape
    n_cohorts = cohort_units.shape[0]
    n_contracts = contract_units.shape[0]
    busy = np.zeros(n_cohorts)
    one_minus_sga = 1.0 - sga_share
    hours_top = hours * 1.0
    for p in range(n_paths):
        for t in range(n):
            month = t + 1
            u = util[p, t]
            busy[:] = 0.0
            contracted = 0.0
            for k in range(n_contracts):
                t_def = fail[p, k]
                d = delay[p, contract_cohort[k]]
                tk = _delayed(t, d)
                active = contract_active[k, tk] if tk >= 0 else 0.0
                paying = active * (1.0 if month < t_def else 0.0)
                hit = contract_first[k] + d <= t_def <= contract_last[k] + d
                down = hit and t_def <= month < t_def + downtime
                units = contract_units[k]
                busy[contract_cohort[k]] += units * (paying + (1.0 if down else 0.0))
                hours_paid = hours_top if take_or_pay[k] else hours * u
                rate_k = _contract_rate(
                    contract_rate,
                    k,
                    tk,
                    p,
                    rent_index,
                    cohort_gen[contract_cohort[k]],
                    market_month,
                    market_factor,
                )
                if written_index is not None and written_index[k] >= 0:  # a written backstop
                    assert tenant_fail is not None and guarantee_paid is not None
                    tenant_paying = active * (1.0 if month < tenant_fail[p, k] else 0.0)
                    contracted += (
                        units * rate_k * hours_paid * tenant_paying
                        + guarantee_paid[p, t, written_index[k]]
                    )
                    continue
                contracted += units * rate_k * hours_paid * paying
            merchant = 0.0
            opex = other_fixed
            for c in range(n_cohorts):
                tc = _delayed(t, delay[p, c])
                rent = rent_index[p, t, cohort_gen[c]] * price_factor
                owned_units = cohort_units[c] * (owned[c, tc] if tc >= 0 else 0.0)
                merchant_units = max(owned_units - busy[c], 0.0) * in_service[c, t]
                merchant += merchant_units * rent * u * hours
                opex += (merchant_units + busy[c]) * opex_per_gpu[c]
                net_rent = rent * u * hours * one_minus_sga
                per_gpu = _gpu_value_one(
                    net_rent,
                    opex_per_gpu[c],
                    remaining[c, t],
                    decay[c],
                    s_rent,
                    s_cost,
                    c,
                    no_log_above[c, t],
                )
                value_out[p, t, c] = cohort_units[c] * per_gpu
            revenue = contracted + merchant
            opex = opex + sga_share * revenue
            contracted_out[p, t] = contracted
            merchant_out[p, t] = merchant
            revenue_out[p, t] = revenue
            opex_out[p, t] = opex
            cfads_out[p, t] = revenue - opex
            if n_cohorts == 1:  # NumPy's sum over one cohort is that cohort's value
                collateral_out[p, t] = value_out[p, t, 0]
            elif n_cohorts == 2:  # and over two, their sum; more are summed by NumPy
                collateral_out[p, t] = value_out[p, t, 0] + value_out[p, t, 1]


def project(
    plan: FleetPlan,
    scen: ScenarioSet,
    *,
    buyer_decay_per_year: dict[str, float],
    construction: ConstructionDraws | None = None,
    entity_default_month: Int64Array | None = None,
) -> AssetCashflows:
    """Revenue, opex, CFADS and collateral value of the fleet on one block of paths.

    One compiled pass over paths and months (``nogil``); bit-identical to
    ``project_reference``, the vectorised NumPy version that the oracle tests hold it to.
    ``construction``: the block's delivery delays and cost overruns (``construction_draws``);
    None: every delivery on schedule. ``entity_default_month``: the entities' default months
    as a book decided them (``entity_months``); None: drawn from ``scen`` here.
    """
    n_paths, n = scen.n_paths, plan.n_months
    tau = entity_months(plan, scen, entity_default_month)
    fail = lease_failure_months(plan, tau)
    delay, terminated = _delays(plan, construction, n_paths)
    if terminated is not None:
        fail = np.where(terminated, 0, fail)
    tenant_fail, written_index, paid = _written_guarantees(plan, tau, fail, scen.utilisation)
    n_cohorts = len(plan.cohort_names)
    decay = np.array([buyer_decay_per_year[g] / 12.0 for g in plan.cohort_generation])
    remaining = np.ascontiguousarray(plan.cohort_remaining_life_months, dtype=np.float64)
    k_max = int(np.floor(remaining.max())) if remaining.size else 0
    tables = [_annuity_tables(k_max, float(d), plan.buyer_monthly_discount) for d in decay.tolist()]
    s_rent = np.array([t[0] for t in tables], dtype=np.float64).reshape(n_cohorts, k_max + 1)
    s_cost = np.array([t[1] for t in tables], dtype=np.float64).reshape(n_cohorts, k_max + 1)
    contracted = np.empty((n_paths, n))
    merchant = np.empty((n_paths, n))
    revenue = np.empty((n_paths, n))
    opex = np.empty((n_paths, n))
    cfads = np.empty((n_paths, n))
    value = np.empty((n_paths, n, n_cohorts))
    collateral = np.zeros((n_paths, n)) if n_cohorts == 0 else np.empty((n_paths, n))
    _project_kernel(
        fail,
        np.ascontiguousarray(scen.utilisation, dtype=np.float64),
        np.ascontiguousarray(scen.rent, dtype=np.float64),
        np.array([scen.generations.index(g) for g in plan.cohort_generation], dtype=np.int64),
        np.ascontiguousarray(plan.cohort_units, dtype=np.float64),
        np.ascontiguousarray(plan.cohort_owned_share, dtype=np.float64).reshape(n_cohorts, n),
        np.ascontiguousarray(plan.cohort_in_service, dtype=np.float64),
        remaining,
        np.ascontiguousarray(plan.opex_per_gpu_usd, dtype=np.float64),
        decay,
        s_rent,
        s_cost,
        np.array(
            [
                _log_skip_thresholds(remaining[c], float(plan.opex_per_gpu_usd[c]), float(decay[c]))
                for c in range(n_cohorts)
            ],
            dtype=np.float64,
        ).reshape(n_cohorts, n),
        np.ascontiguousarray(plan.contract_cohort, dtype=np.int64),
        np.ascontiguousarray(plan.contract_units, dtype=np.float64),
        np.ascontiguousarray(plan.contract_rate_by_month, dtype=np.float64).reshape(-1, n),
        np.ascontiguousarray(plan.contract_active, dtype=np.float64).reshape(-1, n),
        np.ascontiguousarray(plan.contract_first_month, dtype=np.int64),
        np.ascontiguousarray(plan.contract_last_month, dtype=np.int64),
        np.ascontiguousarray(plan.contract_take_or_pay, dtype=np.bool_),
        int(plan.re_lease_downtime_months),
        float(HOURS_PER_MONTH),
        float(plan.price_factor),
        float(plan.sga_share),
        float(plan.other_fixed_usd_per_month),
        contracted,
        merchant,
        revenue,
        opex,
        cfads,
        value,
        collateral,
        delay,
        tenant_fail,
        written_index,
        paid,
        *_market_rate_args(plan),
    )
    if n_cohorts > 2:
        collateral = value.sum(axis=2)
    if plan.servicer_downtime_months >= 0:
        contracted, merchant, revenue, opex, cfads = servicer_hit(
            plan, tau, contracted, merchant, opex
        )
    if construction is not None:
        _charge_overruns(plan, construction, revenue, opex, cfads)
    return AssetCashflows(
        revenue_usd=revenue,
        contracted_revenue_usd=contracted,
        merchant_revenue_usd=merchant,
        opex_usd=opex,
        cfads_usd=cfads,
        cohort_value_usd=value,
        collateral_value_usd=collateral,
        tenant_default_month=tau,
        lease_failure_month=fail,
        guarantor_paid_usd=paid.sum(axis=2),
        delivery_delay_months=None if construction is None else delay,
        overrun_usd=None if construction is None else construction.overrun_usd,
        terminated=terminated,
    )


def _market_rate_args(plan: FleetPlan) -> tuple[Int64Array | None, Float64Array | None]:
    """The kernel's market-rate arguments: None, None when no contract is signed at the
    market (the kernel as before), else the plan's months and factors."""
    if not plan.contract_market_month.size or not (plan.contract_market_month >= 0).any():
        return None, None
    return (
        np.ascontiguousarray(plan.contract_market_month, dtype=np.int64),
        np.ascontiguousarray(plan.contract_market_factor, dtype=np.float64),
    )


def _market_rates(plan: FleetPlan, scen: ScenarioSet, k: int, rate: Float64Array) -> Float64Array:
    """Contract ``k``'s rate on each path and month, shape (path, month): ``rate`` (the written
    one, as each path plays it) or, for a contract signed at the market, the path's rent
    index of its cohort's generation in the signing month times its factor."""
    if not plan.contract_market_month.size or plan.contract_market_month[k] < 0:
        return rate
    gen = plan.cohort_generation[plan.contract_cohort[k]]
    signed = scen.rent_of(gen)[:, plan.contract_market_month[k]] * plan.contract_market_factor[k]
    return np.asarray(
        np.broadcast_to(signed[:, None], (scen.n_paths, plan.n_months)), dtype=np.float64
    )


def _written_guarantees(
    plan: FleetPlan, tau: Int64Array, fail: Int64Array, util: Float64Array
) -> tuple[Int64Array, Int64Array, Float64Array]:
    """The compiled engine's written backstops: the tenants' default months by contract,
    each contract's index among the written backstops (-1: none) and their payments (path,
    month, written backstop), USD; ``fail`` is updated in place for their contracts."""
    n_paths, n = util.shape
    k = plan.contract_units.size
    written = (
        np.flatnonzero(plan.contract_guarantee_written)
        if plan.contract_guarantee_written.size
        else np.zeros(0, dtype=np.int64)
    )
    index = np.full(k, -1, dtype=np.int64)
    index[written] = np.arange(written.size)
    tenant_fail = np.ascontiguousarray(tau[:, plan.contract_tenant], dtype=np.int64)
    paid = np.zeros((n_paths, n, written.size))
    if written.size:
        _written_guarantees_kernel(
            tenant_fail,
            _guarantor_default_by_contract(plan, tau),
            np.ascontiguousarray(util, dtype=np.float64),
            written.astype(np.int64),
            np.ascontiguousarray(plan.contract_units, dtype=np.float64),
            np.ascontiguousarray(plan.contract_rate_by_month, dtype=np.float64).reshape(-1, n),
            np.ascontiguousarray(plan.contract_active, dtype=np.float64).reshape(-1, n),
            np.ascontiguousarray(plan.contract_last_month, dtype=np.int64),
            np.ascontiguousarray(plan.contract_take_or_pay, dtype=np.bool_),
            np.ascontiguousarray(plan.contract_guarantee_share, dtype=np.float64),
            np.ascontiguousarray(plan.contract_guarantee_cap_usd, dtype=np.float64),
            np.ascontiguousarray(plan.contract_guarantee_cover, dtype=np.float64),
            float(HOURS_PER_MONTH),
            fail,
            paid,
        )
    return tenant_fail, index, paid


def _delays(
    plan: FleetPlan, construction: ConstructionDraws | None, n_paths: int
) -> tuple[Int64Array, BoolArray | None]:
    """The block's delays, shape (path, cohort) (zeros without ``construction``), and the
    contracts terminated at their long-stop date (None without ``construction``). A
    terminated contract's failure month is 0: it never pays and its units are never idle."""
    n_cohorts = len(plan.cohort_names)
    if construction is None:
        return np.zeros((n_paths, n_cohorts), dtype=np.int64), None
    delay = np.ascontiguousarray(construction.delay_months, dtype=np.int64)
    return delay, _terminated(plan, delay)


def _shift(row: Float64Array, delay: Int64Array, fill: float | None) -> Float64Array:
    """``row`` (shape (month,)) as each path plays it ``delay`` months late, shape (path,
    month): ``row[t - d]``, and before the late start ``fill`` (``row[0]`` for None)."""
    index = np.arange(row.shape[0])[None, :] - delay[:, None]
    shifted = row[np.maximum(index, 0)]
    if fill is None:
        return np.asarray(shifted, dtype=np.float64)
    return np.asarray(np.where(index >= 0, shifted, fill), dtype=np.float64)


def project_reference(
    plan: FleetPlan,
    scen: ScenarioSet,
    *,
    buyer_decay_per_year: dict[str, float],
    construction: ConstructionDraws | None = None,
    entity_default_month: Int64Array | None = None,
) -> AssetCashflows:
    """``project`` vectorised over paths in plain NumPy (the reference for the oracle tests)."""
    n_paths, n = scen.n_paths, plan.n_months
    month = np.arange(1, n + 1, dtype=np.int64)[None, :]
    tau = entity_months(plan, scen, entity_default_month)
    fail = lease_failure_months(plan, tau)
    delay, terminated = _delays(plan, construction, n_paths)
    if terminated is not None:
        fail = np.where(terminated, 0, fail)
    util = scen.utilisation
    tenant_fail = tau[:, plan.contract_tenant]
    written = bool(plan.contract_guarantee_written.size and plan.contract_guarantee_written.any())
    paid = np.zeros((n_paths, n, 0))
    if written:
        g_fail, paid = _written_guarantees_reference(
            plan, tenant_fail, _guarantor_default_by_contract(plan, tau), util
        )
        fail = np.where(plan.contract_guarantee_written[None, :], g_fail, fail)
    w = 0  # index of the next written backstop

    n_cohorts = len(plan.cohort_names)
    busy = np.zeros((n_cohorts, n_paths, n))  # units under contract or in re-leasing downtime
    contracted = np.zeros((n_paths, n))
    for k in range(len(plan.contract_units)):
        c = plan.contract_cohort[k]
        t_def = fail[:, k][:, None]
        d = delay[:, c][:, None]
        paying = _shift(plan.contract_active[k], delay[:, c], 0.0) * (month < t_def)
        hit = (t_def >= plan.contract_first_month[k] + d) & (
            t_def <= plan.contract_last_month[k] + d
        )
        down = hit & (month >= t_def) & (month < t_def + plan.re_lease_downtime_months)
        units = plan.contract_units[k]
        busy[c] += units * (paying + down)
        hours_paid = HOURS_PER_MONTH * (1.0 if plan.contract_take_or_pay[k] else util)
        rate = _market_rates(
            plan, scen, k, _shift(plan.contract_rate_by_month[k], delay[:, c], None)
        )
        if written and plan.contract_guarantee_written[k]:  # the tenant's rent, the guarantor's
            tenant_paying = _shift(plan.contract_active[k], delay[:, c], 0.0) * (
                month < tenant_fail[:, k][:, None]
            )
            contracted += units * rate * hours_paid * tenant_paying + paid[:, :, w]
            w += 1
            continue
        contracted += units * rate * hours_paid * paying

    merchant = np.zeros((n_paths, n))
    opex = np.full((n_paths, n), plan.other_fixed_usd_per_month)
    value = np.empty((n_paths, n, n_cohorts))
    for c in range(n_cohorts):
        gen = plan.cohort_generation[c]
        rent = scen.rent_of(gen) * plan.price_factor
        in_service = plan.cohort_in_service[c][None, :]
        owned_units = plan.cohort_units[c] * _shift(plan.cohort_owned_share[c], delay[:, c], 0.0)
        merchant_units = np.maximum(owned_units - busy[c], 0.0) * in_service
        merchant += merchant_units * rent * util * HOURS_PER_MONTH
        opex += (merchant_units + busy[c]) * plan.opex_per_gpu_usd[c]
        net_rent = rent * util * HOURS_PER_MONTH * (1.0 - plan.sga_share)
        per_gpu = gpu_value_usd(
            net_rent,
            float(plan.opex_per_gpu_usd[c]),
            plan.cohort_remaining_life_months[c][None, :],
            buyer_decay_per_year[gen] / 12.0,
            plan.buyer_monthly_discount,
        )
        value[:, :, c] = plan.cohort_units[c] * per_gpu

    revenue = contracted + merchant
    opex = opex + plan.sga_share * revenue
    contracted, merchant, revenue, opex, cfads = servicer_hit(plan, tau, contracted, merchant, opex)
    if construction is not None:
        _charge_overruns(plan, construction, revenue, opex, cfads)
    return AssetCashflows(
        revenue_usd=revenue,
        contracted_revenue_usd=contracted,
        merchant_revenue_usd=merchant,
        opex_usd=opex,
        cfads_usd=cfads,
        cohort_value_usd=value,
        collateral_value_usd=value.sum(axis=2),
        tenant_default_month=tau,
        lease_failure_month=fail,
        guarantor_paid_usd=paid.sum(axis=2),
        delivery_delay_months=None if construction is None else delay,
        overrun_usd=None if construction is None else construction.overrun_usd,
        terminated=terminated,
    )
