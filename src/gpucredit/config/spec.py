"""Deal specs: what the user says, as frozen, validated data (STYLE.md section 1).

Units are in field names (``_usd``, ``_pct``, ``_bps``, ``_months``). Percent and basis points
exist only here, at the input edge; the models below turn them into decimals for the engine
through properties (``coupon``, ``margin``), never by mutating the spec.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)

from gpucredit.config.entities import (
    SHIPPED_FLEETS,
    Entity,
    close_names,
    find_parent_cycle,
    group_risk,
    registry,
)
from gpucredit.config.presets import generation_presets
from gpucredit.config.provenance import check_provenance

__all__ = [
    "FIRST_DATE",
    "LAST_DATE",
    "LIFE_MARGIN_MONTHS",
    "MAX_DEBT_TO_COST",
    "MAX_GPU_UNITS",
    "MAX_ITEMS",
    "MAX_USD",
    "RATINGS",
    "AblSpec",
    "AmortisationSpec",
    "BorrowerSpec",
    "BulletSpec",
    "CallSpec",
    "CapexItemSpec",
    "CohortSpec",
    "ConstructionSpec",
    "ContractSpec",
    "ConvertibleSpec",
    "CovenantSpec",
    "DdtlSpec",
    "DealSpec",
    "DefaultModelSpec",
    "DelaySpec",
    "DistributeStep",
    "DocumentSpec",
    "DrawSpec",
    "FacilitySpec",
    "FixedRateSpec",
    "FloatingRateSpec",
    "GrowthContractsSpec",
    "GrowthDebtSpec",
    "GrowthFundingSpec",
    "GrowthSpec",
    "GuarantorSpec",
    "InterestStep",
    "LevelPaymentSpec",
    "LoanSpec",
    "MaintenanceReserveStep",
    "MerchantSpec",
    "NotesSpec",
    "OpexSpec",
    "OverrunSpec",
    "PaymentAccountStep",
    "PowerPrice",
    "PricingSpec",
    "PrincipalStep",
    "ProjectFinanceSpec",
    "PutSpec",
    "RatedSpec",
    "RealEstateSpec",
    "RecoverySpec",
    "RefinancingSpec",
    "RegimeSpec",
    "ReserveStep",
    "ScheduleSpec",
    "SoftCallSpec",
    "SpecDate",
    "SpecProblem",
    "StepSpec",
    "StraightLineSpec",
    "SweepStep",
    "TermLoanSpec",
    "Usd",
    "UsdOrZero",
    "UsdPerKwMonth",
    "WaiverSpec",
    "add_months",
    "check_tenant_risk",
    "check_waterfall",
    "evolve",
]

#: S&P long-term rating categories used by the shipped default-rate table.
RATINGS: tuple[str, ...] = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC")
_RATING_RE = re.compile(r"^(AAA|AA|A|BBB|BB|B|CCC|CC|C)([+-])?$")

ShareOfOne = Annotated[float, Field(ge=0.0, le=1.0)]

# --- bounds on what a spec may say (docs/specs.md, "Input bounds") ------------------------
# Each bound rejects what is physically absurd or would overflow the engine's arithmetic,
# never a value a real deal could hold; each names its source or is labelled an assumption.

#: First and last date a spec may hold: the bitcoin genesis block (2009-01-03, the first row
#: of data/btc_daily.csv) and 2100-12-31 (an assumption: far beyond any GPU or miner debt).
FIRST_DATE = dt.date(2009, 1, 3)
LAST_DATE = dt.date(2100, 12, 31)
SpecDate = Annotated[dt.date, Field(ge=FIRST_DATE, le=LAST_DATE)]
#: Largest USD amount of any one field: 1e12 (an assumption: a trillion dollars, above the
#: whole ~$500bn Stargate programme; well inside float64's exact integers).
MAX_USD = 1e12
Usd = Annotated[float, Field(gt=0.0, le=MAX_USD)]
UsdOrZero = Annotated[float, Field(ge=0.0, le=MAX_USD)]
#: Per-GPU purchase price, USD: ten times below the lowest (H20, 9,000 USD in 2025) and four
#: times above the highest (GB200/GB300, 45,000 USD) of Epoch's yearly price ranges
#: (data/gpu_purchase_price_ranges_epoch.csv); the margin above covers a server's share
#: (networking, storage) booked per GPU, an assumption.
GpuUnitCost = Annotated[float, Field(ge=500.0, le=200_000.0)]
#: GPUs in one cohort: at most 1,000,000, five times xAI's Colossus (200,000 GPUs, the
#: largest single cluster announced by 2025), an assumption.
MAX_GPU_UNITS = 1_000_000
GpuUnits = Annotated[int, Field(gt=0, le=MAX_GPU_UNITS)]
#: Contracted rent, USD per GPU-hour: at most 100, above the highest price in
#: data/gpu_rental_observations_2026.csv (98.32 USD/h, an 8-GPU node's per-GPU maximum).
GpuRent = Annotated[float, Field(gt=0.0, le=100.0)]
#: Economic and book life of hardware, years: at most 15 (the miner bound; the longest
#: useful life in data/useful_life_policies.csv is 6 years).
LifeYears = Annotated[float, Field(gt=0.0, le=15.0)]
#: Power price, USD/MWh: at most ERCOT's system-wide offer cap of 5,000 USD/MWh (PUCT
#: rule 25.505), the highest wholesale price a US site can pay even for a moment.
PowerPrice = Annotated[float, Field(ge=0.0, le=5000.0)]
#: Per-kW monthly charges (colocation, hosting rent, hosting opex), USD: at most 1,000, over
#: five times the 150-160 USD/kW-month of the shipped hosting leases (an assumption).
UsdPerKwMonth = Annotated[float, Field(ge=0.0, le=1000.0)]
#: A month count that is not a tenor (cure periods): at most 360, the longest tenor.
MonthCount = Annotated[int, Field(ge=0, le=360)]
#: Most items in a list of a spec (cohorts, contracts, facilities, draws, leases, steps):
#: an assumption far beyond a real deal (the shipped examples have at most 5).
MAX_ITEMS = 200
#: Months a debt may run past the end of its collateral's economic life: the longest sale of
#: repossessed collateral the recovery model allows (``RecoverySpec.horizon_months`` <= 36).
LIFE_MARGIN_MONTHS = 36
#: Most total debt relative to the fleet's purchase cost (an assumption: ten times; real
#: advance rates are below one, REFERENCES.md origination LTVs).
MAX_DEBT_TO_COST = 10.0


class SpecProblem(ValueError):
    """Raised inside validators: the field (relative to the model), the value, the expectation.

    The loader joins ``field`` to the model's location, so a cross-field check still reports
    the exact field path (``contracts[1].cohort``) rather than the enclosing object.
    """

    def __init__(self, field: str, value: object, expected: str) -> None:
        super().__init__(expected)
        self.field = field
        self.value = value
        self.expected = expected


class Spec(BaseModel):
    """Base of every spec: frozen, unknown fields rejected, every number finite (``.inf``,
    ``1e999``, ``"nan"`` are refused in any numeric field)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, allow_inf_nan=False
    )

    @model_validator(mode="before")
    @classmethod
    def _no_true_for_a_number(cls, data: Any) -> Any:
        """Refuse ``true``/``false`` where a number is expected (pydantic would read them as
        1 and 0: ``sga_share_of_revenue: true`` would be a 100% cost)."""
        if isinstance(data, dict):
            for name, info in cls.model_fields.items():
                key = info.alias or name
                value = data.get(key)
                if isinstance(value, bool) and info.annotation not in (bool, bool | None):
                    raise SpecProblem(key, value, "a number or text, not true or false")
        return data


S = TypeVar("S", bound=BaseModel)


def evolve(spec: S, **changes: Any) -> S:
    """A copy of ``spec`` with ``changes``, validated again (``model_copy`` would skip it).
    Dumped by alias, as a YAML file writes the fields (a call schedule's ``from``)."""
    data = spec.model_dump(by_alias=True)
    data.update(changes)
    return type(spec).model_validate(data)


class DocumentSpec(Spec):
    """Base of a spec that is a whole YAML document (a deal, a miner): its ``sources`` and
    ``assumptions`` keys (``config.provenance``) each name a field of the raw document,
    checked once the spec itself is valid, so a spec's own problem is reported first (a key
    left naming a deleted field would otherwise hide it)."""

    @model_validator(mode="wrap")
    @classmethod
    def _provenance(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        spec = handler(data)
        check_provenance(data)
        return spec


class BorrowerSpec(Spec):
    """The obligor: usually a GPU-owning SPV of a neo-cloud."""

    name: str = Field(min_length=1)
    description: str = ""
    # assumptions: ten times Berkshire Hathaway's class A share; 1e12 shares
    share_price_usd: Annotated[float, Field(gt=0.0, le=1e7)] | None = None
    shares_outstanding: Annotated[float, Field(gt=0.0, le=1e12)] | None = None
    #: How the share price moves (docs/capital_structures.md, "The convertible's equity
    #: option"): ``fleet_value`` (equity = the fleet's value less the debt) or ``diffusion``
    #: (a lognormal diffusion at ``equity_vol_pct`` a year, correlated ``rho_fleet`` with the
    #: fleet's rent shocks, plus its own shock).
    equity_model: Literal["fleet_value", "diffusion"] = "fleet_value"
    # PUBLIC: CoreWeave's 30-day implied volatility (Schaeffer's SVI) was 87% on the day its
    # 2031 convertible was announced (2025-12-08, finviz.com/news/248492); its option chain
    # priced 90-98% in 2026 (datacenterindex.ai/trade-ideas/55, thetaowl.com CRWV report)
    equity_vol_pct: Annotated[float, Field(ge=0.0, le=500.0)] = 87.0
    # ASSUMPTION: 0.5. A neo-cloud's equity is a levered claim on its fleet, so it moves with
    # GPU rents, but half its variance is its own (growth, financing, customer news); no
    # public estimate of the correlation is known to us.
    rho_fleet: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.5
    #: What the ``fleet_value`` model's enterprise value moves with (docs/miners.md, "The
    #: market enterprise value"): ``assets`` (the value of the assets in place) or
    #: ``earnings`` (a miner's trailing 12-month cash from operations at the market's own
    #: multiple on close: EV_t = EV_0 x TTM_t / TTM_0; for miners only).
    enterprise_value: Literal["assets", "earnings"] = "assets"


#: Longest construction delay, months: ten years, far beyond the 24-36 month build times
#: (and the 34% average schedule overrun) of data-centre projects reported by Foresight
#: Works (https://fierce-network.com/cloud/optimism-could-kill-data-center-boom); an
#: assumption.
MAX_DELAY_MONTHS = 120
#: Largest cost overrun, percent of the cohort's cost: an assumption (three times the cost).
MAX_OVERRUN_PCT = 300.0
#: Probabilities of a discrete distribution must add up to 1 within this (YAML decimals such
#: as 0.1 + 0.2 are not exact in binary).
PROBABILITY_SUM_TOLERANCE = 1e-9


def _check_probabilities(probabilities: dict[Any, float], unit: str, lo: float, hi: float) -> None:
    """Raise ``SpecProblem`` unless ``probabilities`` maps values in ``[lo, hi]`` (``unit``) to
    probabilities in [0, 1] that add up to 1."""
    for value, prob in probabilities.items():
        if not lo <= value <= hi:
            raise SpecProblem(
                f"probabilities.{value}", value, f"a {unit} between {lo:g} and {hi:g}"
            )
        if not 0.0 <= prob <= 1.0:
            raise SpecProblem(f"probabilities.{value}", prob, "a probability between 0 and 1")
    total = sum(probabilities.values())
    if abs(total - 1.0) > PROBABILITY_SUM_TOLERANCE:
        raise SpecProblem("probabilities", f"probabilities adding up to {total:g}", "a sum of 1")


class DelaySpec(Spec):
    """A discrete distribution of the delivery delay: ``probabilities`` maps a whole number of
    months of delay (0 = on schedule) to its probability; they add up to 1.
    ``{probabilities: {3: 1.0}}`` is a certain three-month delay."""

    probabilities: dict[int, float] = Field(min_length=1, max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _valid(self) -> Self:
        _check_probabilities(self.probabilities, "delay in whole months", 0, MAX_DELAY_MONTHS)
        return self

    @property
    def max_months(self) -> int:
        """The longest delay with a positive probability, months."""
        return max(m for m, p in self.probabilities.items() if p > 0.0)


class OverrunSpec(Spec):
    """A discrete distribution of the cost overrun: ``probabilities`` maps an overrun, percent
    of the cohort's cost (``units x unit_cost_usd``), to its probability; they add up to 1."""

    probabilities: dict[float, float] = Field(min_length=1, max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _valid(self) -> Self:
        _check_probabilities(self.probabilities, "cost overrun in percent", 0.0, MAX_OVERRUN_PCT)
        return self


def _no_overrun() -> OverrunSpec:
    return OverrunSpec(probabilities={0.0: 1.0})


class ConstructionSpec(Spec):
    """Construction and completion risk of a delivery (a cohort bought after ``as_of``).

    On each path the cohort arrives ``delay_months`` later than ``purchase_date`` (a draw of
    its distribution), and its cost overruns by ``cost_overrun_pct`` of ``units x
    unit_cost_usd``. The two are one draw (a late build is an over-budget build: the overrun is
    the same quantile of its distribution as the delay, an assumption, see
    docs/capital_structures.md), and the deal's cohorts are tied by a one-factor Gaussian
    copula with ``common_factor_correlation``. ``overrun_funded_by``: ``sponsor_equity``
    (reported only) or ``project_cash`` (paid out of the CFADS of the delivery month).
    """

    delay_months: DelaySpec
    cost_overrun_pct: OverrunSpec = Field(default_factory=_no_overrun)
    overrun_funded_by: Literal["sponsor_equity", "project_cash"] = "sponsor_equity"
    # ASSUMPTION: 0.5. The cohorts of one deal share a site, a contractor, a utility and an
    # equipment queue (REFERENCES.md: power and switchgear lead times drive data-centre
    # delays), so their delays are strongly but not perfectly linked.
    common_factor_correlation: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.5


class CohortSpec(Spec):
    """A block of identical GPUs bought at one time.

    ``economic_life_years`` is how long the GPUs can earn rent at all (after it, uncontracted
    units are retired); within it the rent trend and the opex decide what they earn.
    ``book_useful_life_years`` is the borrower's depreciation policy. Defaults: 7 years
    economic: A100s that reached volume in November 2020 still rented at a median ~1.07 USD/h
    on demand in July 2026 (data/gpu_rental_observations_2026.csv), 5.7 years on and above
    their running cost; 6 years book (CoreWeave, straight line since 2023-01-01,
    data/useful_life_policies.csv).
    """

    name: str = Field(min_length=1)
    generation: str
    units: GpuUnits
    purchase_date: SpecDate
    unit_cost_usd: GpuUnitCost
    economic_life_years: LifeYears = 7.0
    book_useful_life_years: LifeYears = 6.0
    # at most 10 kW per GPU: five times a GB200 NVL72 rack's ~1.9 kW per GPU (an assumption)
    power_kw_per_gpu: Annotated[float, Field(gt=0.0, le=10.0)] | None = None
    #: Construction and completion risk of a delivery (``ConstructionSpec``); None: the cohort
    #: arrives on ``purchase_date`` on every path.
    construction: ConstructionSpec | None = None

    @field_validator("generation")
    @classmethod
    def _known_generation(cls, value: str) -> str:
        presets = generation_presets()
        key = value.upper()
        if key not in presets:
            raise ValueError(f"a GPU generation in the shipped table: {', '.join(presets)}")
        return key

    @model_validator(mode="after")
    def _power_known(self) -> Self:
        if (
            self.power_kw_per_gpu is None
            and generation_presets()[self.generation].it_power_kw_per_gpu is None
        ):
            raise SpecProblem(
                "power_kw_per_gpu",
                None,
                f"a server-level kW per GPU: the shipped table has no power figure for "
                f"{self.generation}",
            )
        return self

    @property
    def it_power_kw(self) -> float:
        """Server-level IT power per GPU, kW."""
        if self.power_kw_per_gpu is not None:
            return self.power_kw_per_gpu
        preset = generation_presets()[self.generation].it_power_kw_per_gpu
        assert preset is not None  # checked by _power_known
        return preset


def _rating_category(value: str | None) -> str | None:
    """An S&P-style rating reduced to the category of the shipped table (``BB+`` -> ``BB``)."""
    if value is None:
        return None
    found = _RATING_RE.match(value.upper())
    if not found:
        raise ValueError("an S&P-style rating such as 'BBB', 'BB+' or 'CCC'")
    letters = found.group(1)
    return "CCC" if letters in ("CC", "C") else letters


class RatedSpec(Spec):
    """A company whose default risk is a ``rating`` (S&P style, mapped to the one-year rate of
    the shipped S&P table) or an ``annual_pd_pct``: exactly one of the two."""

    rating: str | None = None
    annual_pd_pct: Annotated[float, Field(ge=0.0, lt=100.0)] | None = None
    #: How the PD is read: 'through_the_cycle' (a long-run average, as ratings and the
    #: agencies' default tables are) or 'point_in_time' (the hazard of the market regime at
    #: ``as_of``); ``assets.hazards`` gives the formulas.
    pd_basis: Literal["through_the_cycle", "point_in_time"] = "through_the_cycle"

    @field_validator("rating")
    @classmethod
    def _rating(cls, value: str | None) -> str | None:
        return _rating_category(value)

    @model_validator(mode="after")
    def _one_risk(self) -> Self:
        if (self.rating is None) == (self.annual_pd_pct is None):
            raise SpecProblem(
                "rating", self.rating, "exactly one of 'rating' or 'annual_pd_pct' to be given"
            )
        return self


class GuarantorSpec(RatedSpec):
    """A backstop: a stronger company that pays the rent if the tenant cannot.

    Example: a hyperscaler guaranteeing a hosting lease (REFERENCES.md, leases backstopped by
    Google). An unlimited backstop (the defaults) keeps the lease standing until both the
    tenant and the guarantor have defaulted. A backstop as written pays ``share_pct`` of the
    rent, at most ``cap_usd`` in all (flat or falling to zero at ``until``), until ``until``;
    the lease fails when it stops (``assets.fleet``). Its risk is given as a ``rating`` or an
    ``annual_pd_pct``, exactly one, as for a tenant.
    """

    name: str = Field(min_length=1)
    #: Share of the contracted rent the guarantor pays once the tenant has defaulted, percent
    #: in (0, 100]; the rest is lost (ASSUMPTION: the defaulted tenant pays nothing more and
    #: its estate's claim is not counted). 100: the whole rent, as before.
    share_pct: Annotated[float, Field(gt=0.0)] = 100.0
    #: Total USD the guarantor pays at most over the lease; ``None``: unlimited.
    cap_usd: UsdOrZero | None = None
    #: 'none': the cap is flat; 'straight_line': it falls linearly from the contract's start
    #: to zero at ``until`` (needs ``cap_usd`` and ``until``).
    cap_amortisation: Literal["none", "straight_line"] = "none"
    #: Date from which the backstop ends (it covers the days before it); ``None``: the lease's
    #: whole term.
    until: SpecDate | None = None

    @model_validator(mode="after")
    def _as_written(self) -> Self:
        if self.share_pct > 100.0:
            raise SpecProblem(
                "share_pct",
                self.share_pct,
                "at most 100 (a guarantee over 100% of the lease cannot be written)",
            )
        if self.cap_amortisation == "straight_line" and (
            self.cap_usd is None or self.until is None
        ):
            raise SpecProblem(
                "cap_amortisation",
                self.cap_amortisation,
                "'none' unless both cap_usd and until are given (a straight-line cap falls "
                "to zero at until)",
            )
        return self

    @property
    def as_written(self) -> bool:
        """True when the backstop is partial, capped or time-limited (not the whole rent for
        the lease's whole term)."""
        return self.share_pct != 100.0 or self.cap_usd is not None or self.until is not None


class ContractSpec(RatedSpec):
    """A rental contract for part of one cohort.

    The tenant's default risk is given either as an S&P-style ``rating`` (mapped to the
    one-year default rate of the shipped S&P table) or as ``annual_pd_pct``; a tenant named in
    several contracts must carry the same risk in each (``check_tenant_risk``).
    ``escalator_pct_per_year``: the rate steps up by this percentage on each anniversary of
    ``start`` (compounding; negative steps it down). ``guarantor``: an optional backstop of the
    rent.
    """

    tenant: str = Field(min_length=1)
    cohort: str
    units: GpuUnits
    rate_usd_per_gpu_hour: GpuRent
    start: SpecDate
    end: SpecDate
    take_or_pay: bool = True
    escalator_pct_per_year: Annotated[float, Field(ge=-50.0, le=100.0)] = 0.0
    guarantor: GuarantorSpec | None = None
    #: A name for the contract, for a facility's ``secured_by_contracts``; once per deal.
    name: str | None = Field(default=None, min_length=1)
    #: The tenant may terminate if its cohort is delivered after this date (a lease long-stop
    #: date); None: no termination right.
    longstop_date: SpecDate | None = None
    #: A contract signed at the market: its rate is the path's rent index of its cohort's
    #: generation in the month of ``start`` times (1 + this/100), fixed for the term;
    #: ``rate_usd_per_gpu_hour`` is then the rate assumed after the simulated months (the
    #: lease tail a lender values at default). None: the written rate.
    rate_vs_market_pct: Annotated[float, Field(gt=-100.0, le=500.0)] | None = None
    #: The customer terminates the contract when the deal's servicer (``parent.servicer``)
    #: defaults: capacity that is not delivered ends the contract (a hyperscaler's or AI lab's
    #: SLA termination right). From the servicer's default month the contract pays nothing and
    #: its units are re-let at the path's merchant rent after ``re_lease_downtime_months``
    #: (docs/capital_structures.md, "Operator bankruptcy"). False: the contract survives the
    #: operator (a replacement operator serves it after the servicer's downtime).
    terminates_on_servicer_default: bool = False

    @model_validator(mode="after")
    def _market_rate_alone(self) -> Self:
        """A rate set from the path's rent has no escalator and no written backstop."""
        if self.rate_vs_market_pct is None:
            return self
        if self.escalator_pct_per_year != 0.0:
            raise SpecProblem(
                "escalator_pct_per_year",
                self.escalator_pct_per_year,
                "0 on a contract whose rate is set from the market (rate_vs_market_pct)",
            )
        if self.guarantor is not None:
            raise SpecProblem(
                "guarantor",
                self.guarantor.name,
                "no guarantor on a contract whose rate is set from the market (rate_vs_market_pct)",
            )
        return self

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.end <= self.start:
            raise SpecProblem("end", self.end.isoformat(), f"a date after start ({self.start})")
        if self.guarantor is not None and self.guarantor.name == self.tenant:
            raise SpecProblem(
                "guarantor.name", self.guarantor.name, "a guarantor other than the tenant itself"
            )
        if (
            self.guarantor is not None
            and self.guarantor.until is not None
            and self.guarantor.until <= self.start
        ):
            raise SpecProblem(
                "guarantor.until",
                self.guarantor.until.isoformat(),
                f"a date after the contract's start ({self.start})",
            )
        if self.guarantor is not None and self.guarantor.as_written and self.longstop_date:
            # a lease the tenant may terminate before delivery and a backstop written on its
            # rent are not modelled together (docs/capital_structures.md, "Construction")
            raise SpecProblem(
                "longstop_date",
                self.longstop_date.isoformat(),
                "no long-stop date on a lease whose backstop is partial, capped or time-limited",
            )
        return self


def check_tenant_risk(contracts: list[ContractSpec]) -> None:
    """Raise ``SpecProblem`` unless every company (tenant or guarantor) named more than once
    carries the same rating or annual PD each time.

    The field of the problem is relative to the deal (``contracts[2].rating``), so a deal
    validator can raise it as is.
    """
    seen: dict[str, tuple[str | None, float | None, str]] = {}
    for i, contract in enumerate(contracts):
        parties: list[tuple[str, str | None, float | None, str]] = [
            (contract.tenant, contract.rating, contract.annual_pd_pct, f"contracts[{i}]")
        ]
        if contract.guarantor is not None:
            g = contract.guarantor
            parties.append((g.name, g.rating, g.annual_pd_pct, f"contracts[{i}].guarantor"))
        for name, rating, pd_pct, where in parties:
            if name not in seen:
                seen[name] = (rating, pd_pct, where)
                continue
            first_rating, first_pd, first_where = seen[name]
            if (rating, pd_pct) != (first_rating, first_pd):
                field, value = (
                    (f"{where}.rating", rating)
                    if rating is not None
                    else (f"{where}.annual_pd_pct", pd_pct)
                )
                before = (
                    f"rating {first_rating}"
                    if first_rating is not None
                    else f"annual_pd_pct {first_pd}"
                )
                raise SpecProblem(
                    field,
                    value,
                    f"the same risk as '{name}' has at {first_where} ({before}): one company, "
                    f"one default risk",
                )


class MerchantSpec(Spec):
    """Uncontracted units: rented at the market index, at the regime's utilisation.

    Realised merchant revenue per GPU-hour = index x ``price_factor`` x utilisation (docs/model.md
    section 3). ``price_factor`` is the realised price *per rented hour* relative to the on-demand
    index; utilisation (the factor model's, or the overrides here) is the share of hours rented.
    The default 0.85 is calibrated by ``gpucredit.factors.merchant.merchant_calibration``:
    CoreWeave's 2024 revenue per H100-equivalent GPU-hour (1.78 USD) over the 2024 on-demand H100
    index (3.49 USD/h) and the glut utilisation (0.60). It replaces 0.79, a one-year contract
    price, which multiplied by utilisation haircut merchant revenue twice. The utilisation
    overrides replace the factor model's regime means for this borrower.
    """

    # at most 5 times the index (an assumption; the calibrated default is 0.85)
    price_factor: Annotated[float, Field(gt=0.0, le=5.0)] = 0.85
    utilisation_tight: ShareOfOne | None = None
    utilisation_glut: ShareOfOne | None = None


class OpexSpec(Spec):
    """Operating costs of the fleet."""

    power_price_usd_per_mwh: PowerPrice
    pue: Annotated[float, Field(ge=1.0, le=3.0)]
    colocation_usd_per_kw_month: UsdPerKwMonth
    sga_share_of_revenue: ShareOfOne = 0.0
    other_fixed_usd_per_month: UsdOrZero = 0.0


class FixedRateSpec(Spec):
    kind: Literal["fixed"]
    coupon_pct: Annotated[float, Field(ge=0.0, le=100.0)]

    @property
    def coupon(self) -> float:
        return self.coupon_pct / 100.0


class FloatingRateSpec(Spec):
    kind: Literal["floating"]
    index: Literal["SOFR"] = "SOFR"
    margin_bps: Annotated[float, Field(ge=-1000.0, le=10000.0)]
    # at most 20%: the effective federal funds rate peaked at 19.1% (monthly average, June
    # 1981, FRED FEDFUNDS); a floor above any rate ever set is no floor but a fixed coupon
    floor_pct: Annotated[float, Field(ge=0.0, le=20.0)] = 0.0

    @property
    def margin(self) -> float:
        return self.margin_bps / 1e4

    @property
    def floor(self) -> float:
        return self.floor_pct / 100.0


RateSpec = Annotated[FixedRateSpec | FloatingRateSpec, Field(discriminator="kind")]


class LevelPaymentSpec(Spec):
    """Annuity: equal payments; a floating loan re-levels each month on the current rate."""

    kind: Literal["level_payment"]


class StraightLineSpec(Spec):
    """Equal principal each month."""

    kind: Literal["straight_line"]


class BulletSpec(Spec):
    """All principal at maturity; interest only until then."""

    kind: Literal["bullet"]


class ScheduleSpec(Spec):
    """Explicit principal, in percent of the original principal, for each month of the tenor."""

    kind: Literal["schedule"]
    principal_pct_by_month: list[Annotated[float, Field(ge=0.0, le=100.0)]] = Field(
        min_length=1, max_length=360
    )

    @model_validator(mode="after")
    def _sums_to_100(self) -> Self:
        total = sum(self.principal_pct_by_month)
        if abs(total - 100.0) > 1e-6:
            raise SpecProblem(
                "principal_pct_by_month", f"a list summing to {total:.6g}", "a sum of 100"
            )
        return self


AmortisationSpec = Annotated[
    LevelPaymentSpec | StraightLineSpec | BulletSpec | ScheduleSpec, Field(discriminator="kind")
]


class WaiverSpec(Spec):
    """The lender's rule for waiving a covenant event of default instead of accelerating.

    When a breach outlasts its cure period, the lender waives it (no default) if the loan is
    still covered, ``balance after the month's payments <= max_ltv x the month's collateral
    value``, and fewer than ``max_waivers`` waivers have been granted over the loan's life. The
    borrower pays an amendment fee of ``fee_bps`` of that balance, capitalised into the balance
    (no cash moves), and the coupon (fixed) or margin (floating) steps up by
    ``margin_step_up_bps`` a year from the next month on, cumulatively per waiver.

    Defaults:

    * ``max_ltv`` 0.65: the lender waives while a 30-day auction of the collateral would still
      repay it; SpotWire's liquidation factor for an auction within 30 days is 0.65 of orderly
      value (REFERENCES.md). ASSUMPTION: the engine's collateral value (income approach) stands
      in for the orderly value.
    * ``fee_bps`` 50: ASSUMPTION, the top of the 25-50 bp amendment fees typical of leveraged
      loans.
    * ``margin_step_up_bps`` 100 a year: ASSUMPTION.
    * ``max_waivers`` 2 per loan life: ASSUMPTION; a breach triggered after that is an event of
      default.
    """

    max_ltv: Annotated[float, Field(gt=0.0, le=1.0)] = 0.65
    fee_bps: Annotated[float, Field(ge=0.0, le=1000.0)] = 50.0
    margin_step_up_bps: Annotated[float, Field(ge=0.0, le=2000.0)] = 100.0
    max_waivers: Annotated[int, Field(ge=0, le=120)] = 2

    @property
    def fee(self) -> float:
        """Amendment fee, decimal of the balance."""
        return self.fee_bps / 10_000.0

    @property
    def step_up(self) -> float:
        """Coupon or margin step-up per waiver, decimal per year."""
        return self.margin_step_up_bps / 10_000.0


class CovenantSpec(Spec):
    """A maintenance covenant tested monthly.

    ``min_dscr``: trailing ``window_months`` CFADS over trailing debt service >= threshold,
    tested once a full window has elapsed. ``max_ltv``: debt over collateral value <= threshold.
    A breach that lasts longer than ``cure_period_months`` triggers the consequence. An event of
    default is waived by the lender's ``waiver`` rule when its conditions hold (default on,
    ``WaiverSpec``); ``waiver: null`` is a lender who always accelerates. A waiver exists only
    for the consequence ``event_of_default`` (it is null for a sweep or a lock-up).
    """

    kind: Literal["min_dscr", "max_ltv", "max_leverage", "min_liquidity"]
    # at most 100 (a DSCR of 100x, an LTV of 10,000%): an assumption far past any covenant
    threshold: Annotated[float, Field(gt=0.0, le=100.0)] | None = None
    window_months: Annotated[int, Field(ge=1, le=60)] = 12
    cure_period_months: MonthCount = 0
    consequence: Literal["event_of_default", "cash_sweep", "lock_up"] = "event_of_default"
    waiver: WaiverSpec | None = None
    #: ``min_liquidity``'s floor on the deal's cash reserves, USD (``threshold`` is the ratio
    #: of the other kinds).
    threshold_usd: UsdOrZero | None = None

    @model_validator(mode="after")
    def _threshold_of_kind(self) -> Self:
        """``min_liquidity`` takes ``threshold_usd``; the ratio kinds take ``threshold``."""
        usd = self.kind == "min_liquidity"
        if usd and self.threshold_usd is None:
            raise SpecProblem("threshold_usd", None, "a cash floor in USD for min_liquidity")
        if usd and self.threshold is not None:
            raise SpecProblem(
                "threshold", self.threshold, "no ratio for min_liquidity (it takes threshold_usd)"
            )
        if not usd and self.threshold is None:
            raise SpecProblem("threshold", None, f"a ratio above 0 for {self.kind}")
        if not usd and self.threshold_usd is not None:
            raise SpecProblem(
                "threshold_usd", self.threshold_usd, f"no USD floor for {self.kind} (a ratio)"
            )
        return self

    @property
    def level(self) -> float:
        """The number the test compares with: ``threshold`` (a ratio, x) or, for
        ``min_liquidity``, ``threshold_usd`` (USD)."""
        value = self.threshold_usd if self.kind == "min_liquidity" else self.threshold
        assert value is not None  # checked by _threshold_of_kind
        return value

    @model_validator(mode="before")
    @classmethod
    def _default_waiver(cls, data: Any) -> Any:
        """An event-of-default covenant gets the default ``WaiverSpec`` unless it names one."""
        if (
            isinstance(data, dict)
            and "waiver" not in data
            and data.get("consequence", "event_of_default") == "event_of_default"
        ):
            return {**data, "waiver": {}}
        return data

    @model_validator(mode="after")
    def _waiver_only_for_default(self) -> Self:
        if self.waiver is not None and self.consequence != "event_of_default":
            raise SpecProblem(
                "waiver",
                self.waiver.model_dump(exclude_unset=True),
                f"no waiver for consequence {self.consequence!r} (only event_of_default "
                "can be waived): remove it or write waiver: null",
            )
        return self


class RefinancingSpec(Spec):
    """How a balloon left at maturity is refinanced.

    The balloon less cash and reserves is refinanced only if it is at most ``max_ltv`` of the
    path's collateral value; otherwise the loan defaults at maturity. Default 0.60: the middle
    of the origination LTVs quoted for banks (50-55%) and private credit (55-65%)
    (REFERENCES.md, vendor survey of 40+ transactions; an assumption to test, not a fact).

    In a multi-facility deal (``facilities``) the test can also ask for a trailing-12-month
    deal DSCR of at least ``min_dscr`` (DBRS uses a refinance DSCR of 1.19x on a data-centre
    issuer, REFERENCES.md) and for an open credit market (``needs_open_market``: refinancing
    fails while the credit window is shut, a chain of its own calibrated on high-yield spreads,
    ``factors/credit_window.py``). The refinanced balance stays owed by the borrower at SOFR
    plus the spread of the window it was refinanced in (``spread_tight_bps`` open,
    ``spread_glut_bps`` shut); defaults: CoreWeave's 5-year
    CDS, 368 bp on 2025-10-06 (calm) and 643 bp in early December 2025 (stressed)
    (REFERENCES.md).
    """

    max_ltv: Annotated[float, Field(gt=0.0, le=1.0)] = 0.60
    min_dscr: Annotated[float, Field(gt=0.0, le=100.0)] | None = None
    needs_open_market: bool = False
    spread_tight_bps: Annotated[float, Field(ge=0.0, le=5000.0)] = 368.0
    spread_glut_bps: Annotated[float, Field(ge=0.0, le=5000.0)] = 643.0
    #: Refinancing at the path's spread (docs/capital_structures.md): with
    #: ``new_tenor_months`` > 0 the balloon is refinanced by a new facility amortising
    #: ``new_amortisation`` over that tenor at SOFR + the window's spread +
    #: ``spread_per_ltv_bps`` x (LTV - ``ltv_pivot``)+, and ``min_dscr`` tests the trailing
    #: 12 months' CFADS against the new debt service. 0 keeps the test above.
    new_tenor_months: Annotated[int, Field(ge=0, le=360)] = 0
    new_amortisation: Literal["level_payment", "bullet"] = "level_payment"
    # ASSUMPTION: 640 bp per unit of LTV above 55%. The ICE BofA OAS of BB (181 bp) and single
    # B (309 bp) on 2025-08-11 (data/credit_spreads_by_rating.csv) differ by 128 bp; we map
    # a 20-point rise in LTV, from a bank's 55% to a specialty lender's 75% (REFERENCES.md,
    # origination LTVs), to that one rating step: 128 / 0.20 = 640 bp per unit of LTV.
    spread_per_ltv_bps: Annotated[float, Field(ge=0.0, le=5000.0)] = 640.0
    # ASSUMPTION: 0.55, the top of the banks' origination LTVs (REFERENCES.md)
    ltv_pivot: Annotated[float, Field(ge=0.0, le=1.0)] = 0.55
    #: What the balloon is refinanced against (docs/capital_structures.md, "Refinancing
    #: against the enterprise value"): ``collateral`` (the balloon and the debt ahead of it
    #: against ``max_ltv`` x the facility's collateral pool) or ``enterprise`` (all the
    #: firm's debt against ``max_ltv`` x its market enterprise value, the equity's market
    #: value plus the debt, floored at the pool: how a listed issuer refinances or
    #: converts unsecured notes). ``enterprise`` needs ``borrower.share_price_usd`` and
    #: ``borrower.shares_outstanding``.
    value: Literal["collateral", "enterprise"] = "collateral"
    #: With ``needs_open_market``: the window need only have been open in one of the last
    #: ``window_months`` months up to maturity (the issuer refinances ahead, when the market
    #: lets it), the spread then the open window's; 0 (default): open in the maturity month.
    #: At most 60 months, the longest convertible pre-funding in the shipped book (IREN
    #: repurchased its 2029 notes with new converts in December 2025, 48 months early,
    #: deals.csv#IREN-CV2029), with room.
    window_months: Annotated[int, Field(ge=0, le=60)] = 0


def check_enterprise_refinancing(facilities: Sequence[Any], borrower: BorrowerSpec | None) -> None:
    """Raise ``SpecProblem`` for a facility refinanced against the enterprise value
    (``refinancing.value: enterprise``) of a borrower without a share price and a share
    count, from which its market value is computed, and for an earnings-driven enterprise
    value (``borrower.enterprise_value: earnings``) without them."""
    if (
        borrower is not None
        and borrower.enterprise_value == "earnings"
        and (borrower.share_price_usd is None or borrower.shares_outstanding is None)
    ):
        raise SpecProblem(
            "borrower.enterprise_value",
            "earnings",
            "borrower.share_price_usd and borrower.shares_outstanding to be given (the "
            "enterprise value on close is the equity's market value plus the debt), or assets",
        )
    for i, f in enumerate(facilities):
        if f.refinancing.value == "enterprise" and (
            borrower is None
            or borrower.share_price_usd is None
            or borrower.shares_outstanding is None
        ):
            raise SpecProblem(
                f"facilities[{i}].refinancing.value",
                "enterprise",
                "borrower.share_price_usd and borrower.shares_outstanding to be given (the "
                "enterprise value is the equity's market value plus the debt), or collateral",
            )


class LoanSpec(Spec):
    """One term loan funded on the as-of date."""

    name: str = Field(min_length=1)
    principal_usd: Usd
    rate: RateSpec
    tenor_months: Annotated[int, Field(ge=1, le=360)]
    amortisation: AmortisationSpec
    issue_price_pct: Annotated[float, Field(gt=0.0, le=150.0)] = 100.0
    dsra_months: Annotated[float, Field(ge=0.0, le=24.0)] = 0.0
    covenants: list[CovenantSpec] = Field(default_factory=list, max_length=MAX_ITEMS)
    refinancing: RefinancingSpec = Field(default_factory=RefinancingSpec)

    @model_validator(mode="after")
    def _schedule_length(self) -> Self:
        if isinstance(self.amortisation, ScheduleSpec):
            n = len(self.amortisation.principal_pct_by_month)
            if n != self.tenor_months:
                raise SpecProblem(
                    "amortisation.principal_pct_by_month",
                    f"a list of {n} entries",
                    f"one entry per month of tenor_months={self.tenor_months}",
                )
        return self


class RecoverySpec(Spec):
    """How the lender sells repossessed GPUs into their secondary market.

    ``sale_speed``: ``optimal`` lets the lender choose how many units to sell each month to
    maximise the present value of net proceeds (price impact against the market's absorption,
    carry while it waits, costs); the named speeds fix the schedule: ``distressed`` (all within
    7 days), ``auction`` (30 days), ``broker`` (over 3 months), ``orderly`` (over 6 months).
    ``condition``: ``refurbished`` units sell at the reference price after testing and repair;
    ``as_is`` units sell at a discount without it. ``horizon_months``: longest sale the optimiser
    may use. ``buyer_discount_rate_pct``: the rate a buyer discounts the GPUs' future rent at in
    the income approach, inside the 12-18% yield of GPU sale-leasebacks (REFERENCES.md).
    Market parameters and their sources: docs/liquidation.md.
    """

    sale_speed: Literal["optimal", "orderly", "broker", "auction", "distressed"] = "optimal"
    condition: Literal["refurbished", "as_is"] = "refurbished"
    horizon_months: Annotated[int, Field(ge=1, le=36)] = 12
    #: At least 0.01% a year: a smaller positive rate rounds to a zero monthly rate, where the
    #: income approach's annuity sums divide 0 by 0.
    buyer_discount_rate_pct: Annotated[float, Field(ge=0.01, le=100.0)] = 15.0


class PricingSpec(Spec):
    """Market prices of risk of the pricing measure Q (``docs/pricing.md``); an entry left out
    keeps the calibrated value. All four zero: fair spreads under the real-world measure.

    ``lambda_entity``: shift of the companies' copula factor, standard deviations.
    ``regime_tilt``: log factor on the tight-to-glut switching probability (its inverse on
    glut-to-tight). ``lambda_rent`` and ``lambda_btc``: shift of the rent's and of bitcoin's
    monthly normal shock, standard deviations per month.
    """

    lambda_entity: Annotated[float, Field(ge=-10.0, le=10.0)] | None = None
    regime_tilt: Annotated[float, Field(ge=-2.5, le=2.5)] | None = None
    lambda_rent: Annotated[float, Field(ge=-10.0, le=10.0)] | None = None
    lambda_btc: Annotated[float, Field(ge=-10.0, le=10.0)] | None = None


class DefaultModelSpec(Spec):
    """How the rated companies of a deal (tenants, guarantors, a miner's hosting tenants)
    default; a field left out keeps the calibrated value.

    ``stress_hazard_multiplier``: factor on every company's default hazard in a glut month
    (calibrated: 3.24, S&P's worst speculative-grade year over its average,
    ``market.ratings.stress_hazard_multiplier``). At least 1 (a glut is no better for a
    tenant than a tight market); 1 makes the regime irrelevant to companies' defaults. At most
    20 (ASSUMPTION: a bound against typing errors; 20 is six times the calibrated value).

    ``asset_correlation``: correlation of the one-factor Gaussian copula that links the
    companies' default times (calibrated: 0.24, the top of the Basel II corporate range,
    ``market.ratings.DEFAULT_ASSET_CORRELATION``), in [0, 0.99].
    """

    stress_hazard_multiplier: Annotated[float, Field(ge=1.0, le=20.0)] | None = None
    asset_correlation: Annotated[float, Field(ge=0.0, le=0.99)] | None = None


class RegimeSpec(Spec):
    """The GPU market's tight/glut Markov chain; a field left out keeps the calibrated value
    (``factors.calibrate``).

    ``p_tight_to_glut`` and ``p_glut_to_tight``: monthly probabilities of switching, in
    (0, 1] (zero would make a regime absorbing, with no long-run share to average a
    through-the-cycle PD over). ``initial``: the regime on the as-of date, ``tight`` or
    ``glut``.
    """

    p_tight_to_glut: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    p_glut_to_tight: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    initial: Literal["tight", "glut"] | None = None


# --- capital structures (several facilities and their waterfall) ---------------------------


class DrawSpec(Spec):
    """One draw of a delayed-draw term loan after close, often tied to a GPU delivery."""

    date: SpecDate
    amount_usd: Usd
    cohort: str | None = None


class _FacilityBase(Spec):
    """What every facility has. ``secured_by`` lists the fleet cohorts pledged to it (all when
    omitted, none for ``[]``: unsecured); ``seniority`` ranks its claim on them (1 first);
    covenants test the deal's cash flow against this facility's and more senior debt service,
    and its and more senior debt against the value of its collateral."""

    name: str = Field(min_length=1)
    seniority: Annotated[int, Field(ge=1, le=9)] = 1
    secured_by: list[str] | None = Field(default=None, max_length=MAX_ITEMS)
    rate: RateSpec
    issue_price_pct: Annotated[float, Field(gt=0.0, le=150.0)] = 100.0
    dsra_months: Annotated[float, Field(ge=0.0, le=24.0)] = 0.0
    covenants: list[CovenantSpec] = Field(default_factory=list, max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _secured_once(self) -> Self:
        pledged = self.secured_by or []
        for j, name in enumerate(pledged):
            if name in pledged[:j]:
                raise SpecProblem(
                    f"secured_by[{j}]",
                    name,
                    f"each collateral named once (already secured_by[{pledged.index(name)}])",
                )
        return self

    refinancing: RefinancingSpec = Field(default_factory=RefinancingSpec)
    #: The named contracts whose GPUs secure the facility (their units' share of each
    #: cohort's value), instead of whole cohorts (``secured_by``); ``None``: not used.
    secured_by_contracts: list[str] | None = Field(default=None, min_length=1, max_length=MAX_ITEMS)
    #: Interest before the path's delivery of the cohorts the facility finances: 'paid' (as
    #: any month) or 'capitalised' (added to the balance each month, PIK, until the delivery
    #: month: interest during construction).
    interest_during_construction: Literal["paid", "capitalised"] = "paid"
    #: Whether the instrument's pricing (coupon or margin, issue price) is public; False: the
    #: coupon given is an assumption, and the market spread and its gap to the model's fair
    #: spread are reported as unknown (the model still prices the coupon it is given).
    pricing_public: bool = True
    #: An agency's rating of this instrument where public (S&P-style letters, notches kept:
    #: 'BB-'), reported next to the implied rating; ``public_rating_agency`` names the agency.
    public_rating: str | None = None
    public_rating_agency: str | None = Field(default=None, min_length=1, max_length=40)
    #: Claims outside the modelled deal that rank pari passu with this facility in the
    #: borrower's general estate, USD: in a group bankruptcy a slice's residual is shared
    #: with the group's other unsecured debt, which the slice does not hold. They join this
    #: facility's rank in the estate's pro-rata split (``credit.allocation``) and take their
    #: share out of the deal; give each outside claim once, on one facility of its rank (the
    #: rank's outside claim is the sum over its facilities). 0: none (docs/
    #: capital_structures.md, "Default and recovery").
    pari_passu_outside_usd: UsdOrZero = 0.0

    @field_validator("public_rating")
    @classmethod
    def _public_rating(cls, value: str | None) -> str | None:
        if value is not None:
            _rating_category(value)  # refuses anything but an S&P-style rating
            return value.upper()
        return value

    @model_validator(mode="after")
    def _agency_with_rating(self) -> Self:
        if self.public_rating_agency is not None and self.public_rating is None:
            raise SpecProblem(
                "public_rating_agency",
                self.public_rating_agency,
                "an agency only with the instrument's public_rating",
            )
        return self


class TermLoanSpec(_FacilityBase):
    """An amortising term loan funded at close; ``vendor`` is the same loan from a GPU vendor
    or OEM, usually secured by the equipment it financed."""

    kind: Literal["term_loan", "vendor"]
    principal_usd: Usd
    tenor_months: Annotated[int, Field(ge=1, le=360)]
    amortisation: AmortisationSpec


class DdtlSpec(_FacilityBase):
    """Delayed-draw term loan: draws within the availability period, each amortising over
    ``draw_tenor_months`` from its date (CoreWeave's DDTL 2.0: each draw matures five years
    after drawing, REFERENCES.md); a commitment fee on the undrawn amount until
    ``availability_end``; ``tenor_months`` is the final maturity from the as-of date."""

    kind: Literal["ddtl"]
    commitment_usd: Usd
    drawn_at_close_usd: UsdOrZero = 0.0
    draws: list[DrawSpec] = Field(default_factory=list, max_length=MAX_ITEMS)
    availability_end: SpecDate
    draw_tenor_months: Annotated[int, Field(ge=1, le=360)]
    draw_amortisation: Literal["straight_line", "bullet"] = "straight_line"
    commitment_fee_bps: Annotated[float, Field(ge=0.0, le=1000.0)] = 0.0
    tenor_months: Annotated[int, Field(ge=1, le=360)]

    @model_validator(mode="after")
    def _draws(self) -> Self:
        total = self.drawn_at_close_usd
        for j, draw in enumerate(self.draws):
            if draw.date > self.availability_end:
                raise SpecProblem(
                    f"draws[{j}].date",
                    draw.date.isoformat(),
                    f"a date within the availability period (on or before availability_end, "
                    f"{self.availability_end})",
                )
            if j and draw.date < self.draws[j - 1].date:
                raise SpecProblem(
                    f"draws[{j}].date",
                    draw.date.isoformat(),
                    f"draws in date order (on or after {self.draws[j - 1].date})",
                )
            total += draw.amount_usd
        if total > self.commitment_usd * (1 + 1e-9):
            raise SpecProblem(
                "draws",
                f"{total:,.0f} USD drawn in all",
                f"at most commitment_usd ({self.commitment_usd:,.0f})",
            )
        if self.drawn_at_close_usd == 0.0 and not self.draws:
            raise SpecProblem("draws", [], "at least one draw, or drawn_at_close_usd above 0")
        return self


class AblSpec(_FacilityBase):
    """Asset-based loan: the balance may not exceed ``advance_rate_pct`` of the appraised value
    of the collateral (``secured_by``), redetermined monthly; a shortfall must be repaid within
    ``cure_months`` or it is an event of default. ABL advance rates of 60-70% (REFERENCES.md,
    origination LTVs)."""

    kind: Literal["abl"]
    principal_usd: Usd
    tenor_months: Annotated[int, Field(ge=1, le=360)]
    amortisation: AmortisationSpec = Field(default_factory=lambda: BulletSpec(kind="bullet"))
    advance_rate_pct: float
    cure_months: Annotated[int, Field(ge=0, le=12)] = 1

    @field_validator("advance_rate_pct")
    @classmethod
    def _advance(cls, value: float) -> float:
        if not 0.0 < value <= 100.0:
            raise ValueError(
                "an advance rate above 0 and at most 100 percent of the collateral value "
                "(an advance rate of at most 1)"
            )
        return value


class ProjectFinanceSpec(_FacilityBase):
    """Project finance sized by sculpting: debt service in each month is the base-case CFADS
    (no shocks, today's regime, no tenant default) over ``target_dscr``; the debt is the
    present value of that service at the loan's base-case rate, capped at
    ``max_gearing_pct`` of ``project_cost_usd`` (the fleet's cost when omitted), in which case
    every month's service is scaled down alike."""

    kind: Literal["project_finance"]
    tenor_months: Annotated[int, Field(ge=1, le=360)]
    target_dscr: Annotated[float, Field(gt=1.0, le=5.0)]
    max_gearing_pct: Annotated[float, Field(gt=0.0, le=100.0)] = 80.0
    project_cost_usd: Usd | None = None


class CallSpec(Spec):
    """From ``date`` on the issuer may call the notes at ``price_pct`` of par."""

    date: SpecDate = Field(alias="from")
    price_pct: Annotated[float, Field(ge=100.0, le=150.0)]


class NotesSpec(_FacilityBase):
    """Senior secured or unsecured notes: fixed coupons paid ``coupon_frequency``; a bullet
    (or an amortisation after construction for project notes); a call schedule, make-whole
    before the first call date (never exercised in the model: a make-whole call pays the
    holders the value of what they give up)."""

    kind: Literal["notes"]
    principal_usd: Usd
    tenor_months: Annotated[int, Field(ge=1, le=360)]
    amortisation: AmortisationSpec = Field(default_factory=lambda: BulletSpec(kind="bullet"))
    coupon_frequency: Literal["monthly", "quarterly", "semi_annual"] = "semi_annual"
    call_schedule: list[CallSpec] = Field(default_factory=list, max_length=MAX_ITEMS)
    make_whole_spread_bps: Annotated[float, Field(ge=0.0, le=1000.0)] = 50.0

    @model_validator(mode="after")
    def _calls(self) -> Self:
        for j in range(1, len(self.call_schedule)):
            if self.call_schedule[j].date <= self.call_schedule[j - 1].date:
                raise SpecProblem(
                    f"call_schedule[{j}].from",
                    self.call_schedule[j].date.isoformat(),
                    f"a date after call_schedule[{j - 1}].from",
                )
        return self


class SoftCallSpec(Spec):
    """From ``date`` the issuer calls the convertible when the share price is above
    ``trigger_pct`` of the conversion price (the holders then convert)."""

    date: SpecDate = Field(alias="from")
    trigger_pct: Annotated[float, Field(ge=100.0, le=1000.0)]


class PutSpec(Spec):
    """On ``date`` the holders may put the convertible at ``price_pct`` of par (paid in cash);
    they do when its parity is below that price."""

    date: SpecDate
    price_pct: Annotated[float, Field(gt=0.0, le=100.0)] = 100.0


class ConvertibleSpec(_FacilityBase):
    """Convertible notes: the holder converts at maturity when the path's share price is above
    ``conversion_price_usd`` (shares per USD of par = 1 / conversion price); otherwise repaid
    or refinanced. Needs ``borrower.share_price_usd`` and ``borrower.shares_outstanding``."""

    kind: Literal["convertible"]
    principal_usd: Usd
    tenor_months: Annotated[int, Field(ge=1, le=360)]
    conversion_price_usd: Annotated[float, Field(gt=0.0, le=1e7)]  # as share_price_usd
    coupon_frequency: Literal["monthly", "quarterly", "semi_annual"] = "semi_annual"
    amortisation: BulletSpec = Field(default_factory=lambda: BulletSpec(kind="bullet"))
    soft_call: SoftCallSpec | None = None
    put: PutSpec | None = None


FacilitySpec = Annotated[
    TermLoanSpec | DdtlSpec | AblSpec | ProjectFinanceSpec | NotesSpec | ConvertibleSpec,
    Field(discriminator="kind"),
]


class InterestStep(Spec):
    step: Literal["interest"]
    facility: str


class PrincipalStep(Spec):
    step: Literal["principal"]
    facility: str


class ReserveStep(Spec):
    """Top the facility's DSRA up to ``dsra_months`` of its debt service."""

    step: Literal["reserve"]
    facility: str


class MaintenanceReserveStep(Spec):
    """Fund the maintenance reserve: ``usd_per_month`` until it holds ``target_usd``."""

    step: Literal["maintenance_reserve"]
    usd_per_month: Usd
    target_usd: Usd


class SweepStep(Spec):
    """Prepay the facility with ``share_pct`` of the cash left."""

    step: Literal["sweep"]
    facility: str
    share_pct: Annotated[float, Field(gt=0.0, le=100.0)] = 100.0


class DistributeStep(Spec):
    step: Literal["distribute"]


class PaymentAccountStep(Spec):
    """Set 1/m of the facility's next coupon aside each month between its payment dates in its
    debt-service payment account (m: months left to the payment date); its interest and
    principal are paid from the account first. Added by default to facilities paid less often
    than monthly when the waterfall is omitted."""

    step: Literal["payment_account"]
    facility: str


StepSpec = Annotated[
    InterestStep
    | PrincipalStep
    | ReserveStep
    | MaintenanceReserveStep
    | SweepStep
    | DistributeStep
    | PaymentAccountStep,
    Field(discriminator="step"),
]


class RealEstateSpec(Spec):
    """A data hall, its land and power contract, pledged to the facilities it ``secures``.

    Stabilised value ``rent x 12 x it_capacity_mw x 1000 / cap rate`` (the hall let again at
    ``rent_usd_per_kw_month``; the deal's ``opex.colocation_usd_per_kw_month`` when omitted);
    in liquidation the land counts in full and the building after ``haircut_pct`` (default
    100: Moody's gives land value but no value to buildings, REFERENCES.md), sold
    ``liquidation_months`` after the default (docs/capital_structures.md, "Real-estate
    collateral")."""

    name: str = Field(min_length=1)
    it_capacity_mw: Annotated[float, Field(gt=0.0, le=10_000.0)]
    rent_usd_per_kw_month: UsdPerKwMonth | None = None
    cap_rate_pct: Annotated[float, Field(gt=0.0, le=50.0)]
    # ASSUMPTION: no land value unless the deal states one (the conservative default)
    land_value_usd: UsdOrZero = 0.0
    # Moody's gives land value but no value to buildings in liquidation (REFERENCES.md,
    # "Adjacent rated data-centre deals"): the building's value is haircut in full
    haircut_pct: Annotated[float, Field(ge=0.0, le=100.0)] = 100.0
    # ASSUMPTION: a year to sell an industrial site with its power contract (no shipped source)
    liquidation_months: Annotated[int, Field(ge=0, le=120)] = 12
    secures: list[str] = Field(min_length=1, max_length=MAX_ITEMS)


class EntitySpec(Spec):
    """A company of the deal's own, beside the shipped registry (``config.entities``): a name
    the registry lacks, or a registry row replaced by name (the input means what the user
    typed). ``rating`` or ``annual_pd_pct`` (at most one); with neither, its ``parent``'s risk
    is taken (a group member)."""

    name: str = Field(min_length=1)
    rating: str | None = None
    annual_pd_pct: Annotated[float, Field(ge=0.0, lt=100.0)] | None = None
    parent: str | None = None

    @field_validator("rating")
    @classmethod
    def _rating(cls, value: str | None) -> str | None:
        _rating_category(value)
        return value

    @model_validator(mode="after")
    def _risk(self) -> Self:
        if self.rating is not None and self.annual_pd_pct is not None:
            raise SpecProblem("rating", self.rating, "at most one of 'rating' or 'annual_pd_pct'")
        if self.rating is None and self.annual_pd_pct is None and self.parent is None:
            raise SpecProblem(
                "rating", None, "a 'rating', an 'annual_pd_pct' or a 'parent' whose risk it takes"
            )
        if self.parent == self.name:
            raise SpecProblem("parent", self.parent, "a parent other than the company itself")
        return self


class ServicerSpec(Spec):
    """The parent as the fleet's servicer (operator): from the parent's default the fleet earns
    nothing for ``downtime_months`` (no operator serves the tenants, who stop paying for the
    capacity they are not served; an assumption), then a replacement operator costs
    ``replacement_cost_pct_of_revenue`` percent of revenue on top of opex."""

    downtime_months: Annotated[int, Field(ge=0, le=36)]
    replacement_cost_pct_of_revenue: Annotated[float, Field(ge=0.0, le=100.0)]


class ParentSpec(RatedSpec):
    """The borrower's parent or sponsor: a company of its own with a default time (one with
    the same name as a tenant or guarantor is that same company).

    ``recourse``: 'none' (a non-recourse SPV) or 'guarantee' (the parent pays a facility's
    shortfall while it has not defaulted, at most ``guarantee_cap_usd`` in all; unlimited when
    null). ``cross_default``: the parent's default is an event of default of every facility.
    ``servicer``: the parent operates the fleet (``ServicerSpec``). The risk may be omitted for
    a registry name (``config.entities``).
    """

    name: str = Field(min_length=1)
    recourse: Literal["none", "guarantee"] = "none"
    guarantee_cap_usd: Annotated[float, Field(ge=0.0, le=1e13)] | None = None
    cross_default: bool = False
    servicer: ServicerSpec | None = None
    #: The parent's own GPUs by engine generation (units; ``credit.parent_fleet``). None: the
    #: shipped estimate where the package has one (CoreWeave: Epoch AI), else unknown.
    fleet_units: dict[str, Annotated[float, Field(ge=0.0, le=1e9)]] | None = None
    #: The parent's creditors sell its fleet into the deal's markets when it defaults. None:
    #: yes when the parent's fleet is known (typed or shipped).
    fleet_sold_on_default: bool | None = None
    #: Months over which the parent's fleet is sold, evenly, from its default month.
    #: ASSUMPTION: 3, SpotWire's broker speed (a third a month; docs/liquidation.md): every
    #: secured creditor of a defaulted parent sells its own lot at once, into a price that
    #: falls each month they wait, so none waits for the others (the fire sale of the INET
    #: stress tests, REFERENCES.md).
    fleet_sale_months: Annotated[int, Field(ge=1, le=36)] = 3
    #: Months after the deal's default before its lenders' collateral sale can start when the
    #: deal defaults in or after the parent's default month (the automatic stay, litigation
    #: over the SPV's separateness, access to GPUs in the parent's data halls). Meanwhile the
    #: lenders get nothing (no interest); the fleet's operating deficits of those months are
    #: charged to the collateral (a surplus stays with the bankrupt servicer that collects the
    #: rents) and the GPUs are sold at their value at the stay's end. 0: no stay (docs/
    #: capital_structures.md, "Operator bankruptcy: termination, stay and cost").
    stay_months: Annotated[int, Field(ge=0, le=60)] = 0
    #: Legal and administrative cost of recovering through the parent's bankruptcy, percent of
    #: the collateral's recovery (the sale less the stay's deficits), on the paths of the stay.
    bankruptcy_cost_pct: Annotated[float, Field(ge=0.0, le=100.0)] = 0.0

    @model_validator(mode="before")
    @classmethod
    def _fleet_numbers(cls, data: Any) -> Any:
        """Refuse ``true``/``false`` as a number of units (pydantic would read 1 and 0)."""
        units = data.get("fleet_units") if isinstance(data, dict) else None
        for generation, value in units.items() if isinstance(units, dict) else ():
            if isinstance(value, bool):
                raise SpecProblem(
                    f"fleet_units.{generation}", value, "a number of units, not true or false"
                )
        return data

    @field_validator("fleet_units")
    @classmethod
    def _fleet_generations(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        presets = generation_presets()
        for generation in value or {}:
            if generation not in presets:
                raise ValueError(
                    f"generations in the shipped table ({', '.join(presets)}); got {generation!r}"
                )
        return value

    @model_validator(mode="after")
    def _known_fleet(self) -> Self:
        if (
            self.fleet_sold_on_default
            and self.fleet_units is None
            and self.name not in SHIPPED_FLEETS
        ):
            raise SpecProblem(
                "fleet_sold_on_default",
                True,
                "a known fleet to sell: 'fleet_units', or a parent whose fleet the package ships "
                f"({', '.join(SHIPPED_FLEETS)})",
            )
        return self

    @model_validator(mode="after")
    def _cap(self) -> Self:
        if self.recourse == "none" and self.guarantee_cap_usd is not None:
            raise SpecProblem(
                "guarantee_cap_usd",
                self.guarantee_cap_usd,
                "no cap without a guarantee (recourse: guarantee)",
            )
        return self


def _finite_or_none(value: Any) -> float | None:
    """A raw number as a finite float, else None (the field's own validation reports it)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _deal_companies(data: dict[str, Any]) -> dict[str, Entity]:
    """The shipped registry with the deal's own ``entities`` (raw input) over it, by name.

    Raises ``SpecProblem`` on a cycle of parents, naming it."""
    companies = dict(registry())
    own = data.get("entities")
    where: dict[str, int] = {}
    for i, item in enumerate(own if isinstance(own, list) else []):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue  # the field's own validation reports it
        rating, pd_pct, parent = item.get("rating"), item.get("annual_pd_pct"), item.get("parent")
        name = item["name"].strip()
        where[name] = i
        companies[name] = Entity(
            name=name,
            kind="deal",
            rating=rating if isinstance(rating, str) else None,
            rating_source="typed in the deal",
            cds_5y_bp=None,
            cds_date=None,
            cds_source="",
            annual_pd_pct=_finite_or_none(pd_pct),
            pd_reasoning="typed in the deal",
            parent=parent.strip() if isinstance(parent, str) else None,
            note="",
        )
    cycle = find_parent_cycle({n: e.parent for n, e in companies.items()})
    if cycle is not None:
        first = next((n for n in cycle if n in where), cycle[0])
        raise SpecProblem(
            f"entities[{where.get(first, 0)}].parent",
            companies[first].parent,
            f"no cycle of parents (here {' -> '.join(cycle)})",
        )
    return companies


def _with_registry_risk(party: Any, name_key: str, where: str, companies: dict[str, Entity]) -> Any:
    """``party`` (a raw contract, guarantor or parent) with the registry's risk filled in when
    it names a registry company and gives neither ``rating`` nor ``annual_pd_pct``."""
    if not isinstance(party, dict) or not isinstance(party.get(name_key), str):
        return party
    if party.get("rating") is not None or party.get("annual_pd_pct") is not None:
        return party  # typed: the input means what the user typed
    name = party[name_key].strip()
    rating, pd_pct, _ = group_risk(name, companies)
    if rating is None and pd_pct is None:
        near = close_names(name, sorted(companies))
        hint = f" (close names: {', '.join(near)})" if near else ""
        raise SpecProblem(
            f"{where}.rating",
            None,
            f"exactly one of 'rating' or 'annual_pd_pct' to be given for '{name}', which is "
            f"not a company of the entity registry{hint}",
        )
    filled = dict(party)
    if rating is not None:
        filled["rating"] = rating
    else:
        filled["annual_pd_pct"] = pd_pct
    return filled


def fill_registry_risk(data: Any) -> Any:
    """A raw deal with every tenant, guarantor and parent that names a registry company without
    a typed risk given the registry's (``config.entities``); other input unchanged."""
    if not isinstance(data, dict):
        return data
    contracts, parent = data.get("contracts"), data.get("parent")
    if not isinstance(contracts, list) and not isinstance(parent, dict):
        return data
    companies = _deal_companies(data)
    out = dict(data)
    if isinstance(contracts, list):
        filled = []
        for i, c in enumerate(contracts):
            c = _with_registry_risk(c, "tenant", f"contracts[{i}]", companies)
            if isinstance(c, dict) and isinstance(c.get("guarantor"), dict):
                g = _with_registry_risk(
                    c["guarantor"], "name", f"contracts[{i}].guarantor", companies
                )
                c = {**c, "guarantor": g}
            filled.append(c)
        out["contracts"] = filled
    if isinstance(parent, dict):
        out["parent"] = _with_registry_risk(parent, "name", "parent", companies)
    return out


# --- growing borrowers (a going concern with a capex plan) ----------------------------------


class CapexItemSpec(Spec):
    """GPUs bought on one date of a growing borrower's plan: they join the fleet as a cohort
    delivered on ``date`` (``config.growth``)."""

    date: SpecDate
    generation: str
    units: GpuUnits
    unit_cost_usd: GpuUnitCost

    @field_validator("generation")
    @classmethod
    def _known_generation(cls, value: str) -> str:
        presets = generation_presets()
        key = value.upper()
        if key not in presets:
            raise ValueError(f"a GPU generation in the shipped table: {', '.join(presets)}")
        return key


class GrowthFundingSpec(Spec):
    """How the capex is paid: ``debt_share_pct`` drawn from the growth facility on each capex
    date, the rest equity the sponsor injects (no cash drawn from the deal)."""

    debt_share_pct: Annotated[float, Field(ge=0.0, le=100.0)]


def _growth_rate() -> RateSpec:
    # PUBLIC: CoreWeave DDTL 5.0 (2026-05, two non-investment-grade customers, Ba2/BB+) pays
    # SOFR + 4.50% (REFERENCES.md, data/deals.csv CRWV-DDTL5): the going rate of a DDTL that
    # funds new GPUs for non-investment-grade tenants.
    return FloatingRateSpec(kind="floating", margin_bps=450.0)


class GrowthDebtSpec(Spec):
    """The growth facility: a delayed-draw term loan (``DdtlSpec``) drawn on each capex date
    and secured by the cohorts the plan buys.

    Defaults: SOFR + 450 bp (DDTL 5.0, public); each draw amortising straight-line over 60
    months (DDTL 2.0: each draw matures five years after drawing, REFERENCES.md); first in
    rank (an SPV facility secured by its GPUs ranks ahead of the parent's unsecured notes);
    no reserve and no commitment fee (ASSUMPTION: the public terms give neither).
    """

    name: str = Field(default="growth-ddtl", min_length=1)
    rate: RateSpec = Field(default_factory=_growth_rate)
    draw_tenor_months: Annotated[int, Field(ge=1, le=360)] = 60
    draw_amortisation: Literal["straight_line", "bullet"] = "straight_line"
    seniority: Annotated[int, Field(ge=1, le=9)] = 1
    dsra_months: Annotated[float, Field(ge=0.0, le=24.0)] = 0.0
    commitment_fee_bps: Annotated[float, Field(ge=0.0, le=1000.0)] = 0.0


class GrowthContractsSpec(RatedSpec):
    """The contracts the new GPUs win: on each capex date ``win_rate_pct`` of its units (rounded
    down to whole GPUs) are let for ``term_months`` to ``tenant`` at the path's rent index in
    that month times (1 + ``rate_vs_market_pct``/100) (``ContractSpec.rate_vs_market_pct``);
    the rest are merchant. ``tail_rate_usd_per_gpu_hour`` is the rate assumed after the
    simulated months. The tenant's risk is a rating, a PD or the entity registry's."""

    tenant: str = Field(min_length=1)
    win_rate_pct: Annotated[float, Field(ge=0.0, le=100.0)]
    term_months: Annotated[int, Field(ge=1, le=180)]
    rate_vs_market_pct: Annotated[float, Field(gt=-100.0, le=500.0)] = 0.0
    tail_rate_usd_per_gpu_hour: GpuRent
    take_or_pay: bool = True
    #: Each won contract ends when the deal's servicer defaults, as a written contract with
    #: ``ContractSpec.terminates_on_servicer_default`` does (needs ``parent.servicer``).
    terminates_on_servicer_default: bool = False


class GrowthSpec(Spec):
    """A growing borrower (issue 13 item 8), expanded by ``config.growth.expand_growth`` into
    fleet cohorts, contracts at the path's rent, a DDTL with draws and covenants: the same
    engine runs it. ``mode: run_off`` ignores the plan (the deal as if it stopped growing);
    ``covenants`` (e.g. ``max_leverage``, ``min_liquidity``) are added to the facility named
    ``covenants_on`` (default: the most junior facility, the parent's debt)."""

    mode: Literal["going_concern", "run_off"] = "going_concern"
    capex_plan: list[CapexItemSpec] = Field(default_factory=list, max_length=MAX_ITEMS)
    funding: GrowthFundingSpec
    debt: GrowthDebtSpec = Field(default_factory=GrowthDebtSpec)
    new_contracts: GrowthContractsSpec | None = None
    covenants: list[CovenantSpec] = Field(default_factory=list, max_length=MAX_ITEMS)
    covenants_on: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        for j, item in enumerate(self.capex_plan):
            if j and item.date < self.capex_plan[j - 1].date:
                raise SpecProblem(
                    f"capex_plan[{j}].date",
                    item.date.isoformat(),
                    f"capex dates in order (on or after {self.capex_plan[j - 1].date})",
                )
        return self


class DealSpec(DocumentSpec):
    """One deal: a fleet, its contracts and costs, and its debt: one term ``loan``, or several
    ``facilities`` paid by the ``waterfall`` (by seniority when it is omitted)."""

    name: str = Field(min_length=1)
    as_of: SpecDate
    borrower: BorrowerSpec
    fleet: list[CohortSpec] = Field(min_length=1, max_length=MAX_ITEMS)
    contracts: list[ContractSpec] = Field(default_factory=list, max_length=MAX_ITEMS)
    merchant: MerchantSpec = Field(default_factory=MerchantSpec)
    opex: OpexSpec
    loan: LoanSpec | None = None
    facilities: list[FacilitySpec] = Field(default_factory=list, max_length=MAX_ITEMS)
    waterfall: list[StepSpec] | None = Field(default=None, max_length=MAX_ITEMS)
    recovery: RecoverySpec = Field(default_factory=RecoverySpec)
    pricing: PricingSpec | None = None
    re_lease_downtime_months: Annotated[int, Field(ge=0, le=36)] = 3
    default_model: DefaultModelSpec | None = None
    regime: RegimeSpec | None = None
    notes: str = ""
    real_estate: list[RealEstateSpec] = Field(default_factory=list, max_length=MAX_ITEMS)
    #: Companies of the deal's own beside the shipped registry (``EntitySpec``).
    entities: list[EntitySpec] = Field(default_factory=list, max_length=MAX_ITEMS)
    #: The borrower's parent, sponsor or servicer (``ParentSpec``); None: no parent modelled.
    parent: ParentSpec | None = None
    #: A growing borrower's capex plan, funding, new contracts and parent covenants
    #: (``GrowthSpec``); None: the deal runs off.
    growth: GrowthSpec | None = None
    #: Where each public field's value is published, and the reasoning behind each field
    #: filled without a public figure (``config.provenance``, docs/deals.md).
    sources: dict[str, str] = Field(default_factory=dict)
    assumptions: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _registry_risk(cls, data: Any) -> Any:
        """Tenants, guarantors and the parent named in the registry take its risk unless one
        is typed (``fill_registry_risk``)."""
        return fill_registry_risk(data)

    @model_validator(mode="before")
    @classmethod
    def _growth_registry_risk(cls, data: Any) -> Any:
        """The growth plan's tenant takes the registry's risk as a contract's tenant does."""
        if not isinstance(data, dict) or not isinstance(data.get("growth"), dict):
            return data
        growth = data["growth"]
        won = growth.get("new_contracts")
        if not isinstance(won, dict):
            return data
        filled = _with_registry_risk(won, "tenant", "growth.new_contracts", _deal_companies(data))
        return {**data, "growth": {**growth, "new_contracts": filled}}

    @model_validator(mode="after")
    def _check_growth(self) -> Self:
        """The growth plan inside the deal's life, on a capital structure; the new covenant
        kinds only on a capital structure's facilities (the single-loan waterfall has no parent
        cash or total debt to test)."""
        if self.loan is not None:
            for j, cov in enumerate(self.loan.covenants):
                if cov.kind in ("max_leverage", "min_liquidity"):
                    raise SpecProblem(
                        f"loan.covenants[{j}].kind",
                        cov.kind,
                        "min_dscr or max_ltv on a single loan (max_leverage and min_liquidity "
                        "are tested on a capital structure: write 'facilities')",
                    )
        g = self.growth
        if g is None or (self.loan is None and not self.facilities):  # _consistent reports it
            return self
        if self.loan is not None:
            raise SpecProblem(
                "growth", "a growth plan", "a deal written with 'facilities' (a capital structure)"
            )
        if self.waterfall is not None:
            raise SpecProblem(
                "growth",
                "a growth plan",
                "the default waterfall (no explicit 'waterfall': the growth facility's steps "
                "are placed by seniority)",
            )
        maturity = add_months(self.as_of, self.horizon_months)
        for j, item in enumerate(g.capex_plan):
            if not self.as_of < item.date < maturity:
                raise SpecProblem(
                    f"growth.capex_plan[{j}].date",
                    item.date.isoformat(),
                    f"a date after as_of ({self.as_of}) and before the last maturity "
                    f"({maturity}, {self.horizon_months} months after as_of)",
                )
        names = list(self.facility_names)
        if g.debt.name in names:
            raise SpecProblem("growth.debt.name", g.debt.name, "a facility name not yet used")
        if g.covenants_on is not None and g.covenants_on not in names:
            raise SpecProblem(
                "growth.covenants_on", g.covenants_on, f"a facility's name ({', '.join(names)})"
            )
        return self

    @property
    def horizon_months(self) -> int:
        """Months simulated: the loan's tenor, or the longest facility's."""
        if self.loan is not None:
            return self.loan.tenor_months
        return max(f.tenor_months for f in self.facilities)

    @property
    def facility_names(self) -> tuple[str, ...]:
        if self.loan is not None:
            return (self.loan.name,)
        return tuple(f.name for f in self.facilities)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [c.name for c in self.fleet]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            i = names.index(dupes[0], names.index(dupes[0]) + 1)
            raise SpecProblem(f"fleet[{i}].name", dupes[0], "a cohort name used only once")
        check_contract_dates(self.contracts, self.fleet, self.as_of)
        check_tenant_risk(self.contracts)
        self._check_debt(names)
        # A cohort bought after as_of is a delivery; it must arrive within the horizon, before
        # the end of its last month (as_of moved by horizon_months, clamped to a month's end).
        index = self.as_of.year * 12 + self.as_of.month - 1 + self.horizon_months
        year, month = divmod(index, 12)
        month += 1
        last_day = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
        horizon_end = dt.date(year, month, min(self.as_of.day, last_day))
        for i, cohort in enumerate(self.fleet):
            if cohort.purchase_date >= horizon_end:
                raise SpecProblem(
                    f"fleet[{i}].purchase_date",
                    cohort.purchase_date.isoformat(),
                    f"a date before the end of the deal's horizon ({horizon_end}, "
                    f"{self.horizon_months} months after as_of): a delivery must arrive "
                    "while the debt is outstanding",
                )
        self._check_size(horizon_end)
        check_real_estate(self.real_estate, self.facilities, self.loan is not None)
        for i, cohort in enumerate(self.fleet):
            peak = _peak_contracted_units(
                [c for c in self.contracts if c.cohort == cohort.name], self.as_of
            )
            if peak > cohort.units:
                raise SpecProblem(
                    "contracts",
                    f"{peak} units of cohort '{cohort.name}' under contract at once",
                    f"at most the cohort's {cohort.units} units (fleet[{i}].units)",
                )
        self._check_parent()
        self._check_construction(horizon_end)
        self._check_terminations()
        self._check_enterprise_value()
        return self

    def _check_enterprise_value(self) -> None:
        """The market enterprise value: earnings-driven for miners only; an ``enterprise``
        refinancing test needs the borrower's equity and a capital structure."""
        if self.borrower.enterprise_value != "assets":
            raise SpecProblem(
                "borrower.enterprise_value",
                self.borrower.enterprise_value,
                "assets for a GPU deal (the earnings-driven enterprise value is modelled for "
                "miners)",
            )
        if self.loan is not None and self.loan.refinancing.value != "collateral":
            raise SpecProblem(
                "loan.refinancing.value",
                self.loan.refinancing.value,
                "collateral for a single loan (an enterprise test needs 'facilities' and the "
                "borrower's share price)",
            )
        check_enterprise_refinancing(self.facilities, self.borrower)

    def _check_terminations(self) -> None:
        """A contract terminated on the servicer's default needs a servicer, and a lease
        whose backstop is written (partial, capped or time-limited) is not terminated so (the
        two are not modelled together)."""
        for i, c in enumerate(self.contracts):
            if not c.terminates_on_servicer_default:
                continue
            if self.parent is None or self.parent.servicer is None:
                raise SpecProblem(
                    f"contracts[{i}].terminates_on_servicer_default",
                    True,
                    "a deal whose parent is its servicer ('parent.servicer')",
                )
            if c.guarantor is not None and c.guarantor.as_written:
                raise SpecProblem(
                    f"contracts[{i}].terminates_on_servicer_default",
                    True,
                    "false on a lease whose backstop is partial, capped or time-limited",
                )

    def _check_parent(self) -> None:
        """A parent's guarantee and cross-default act on ``facilities``; a parent that is also a
        tenant or guarantor carries that company's one risk."""
        p = self.parent
        if p is None:
            return
        if self.loan is not None and (p.recourse == "guarantee" or p.cross_default):
            field = "parent.recourse" if p.recourse == "guarantee" else "parent.cross_default"
            raise SpecProblem(
                field,
                p.recourse if p.recourse == "guarantee" else True,
                "a deal written with 'facilities' (a single 'loan' is one facility there)",
            )
        for i, c in enumerate(self.contracts):
            for name, rating, pd_pct, where in (
                (c.tenant, c.rating, c.annual_pd_pct, f"contracts[{i}]"),
                *(
                    (
                        (
                            c.guarantor.name,
                            c.guarantor.rating,
                            c.guarantor.annual_pd_pct,
                            f"contracts[{i}].guarantor",
                        ),
                    )
                    if c.guarantor is not None
                    else ()
                ),
            ):
                if name == p.name and (rating, pd_pct) != (p.rating, p.annual_pd_pct):
                    raise SpecProblem(
                        "parent.rating" if p.rating is not None else "parent.annual_pd_pct",
                        p.rating if p.rating is not None else p.annual_pd_pct,
                        f"the same risk as '{name}' has at {where}: one company, one default risk",
                    )

    @model_validator(mode="after")
    def _contract_pools(self) -> Self:
        """Contract names once per deal; a facility's ``secured_by_contracts`` names existing
        contracts, each pledged to one facility only, and no more of a cohort's units than it
        has; not together with ``secured_by``."""
        named: dict[str, int] = {}
        for i, contract in enumerate(self.contracts):
            if contract.name is None:
                continue
            if contract.name in named:
                raise SpecProblem(
                    f"contracts[{i}].name",
                    contract.name,
                    f"a contract name used once (already contracts[{named[contract.name]}])",
                )
            named[contract.name] = i
        pledged: dict[str, str] = {}
        units: dict[str, int] = {}
        for i, f in enumerate(self.facilities):
            pool = f.secured_by_contracts
            if pool is None:
                continue
            if f.secured_by is not None:
                raise SpecProblem(
                    f"facilities[{i}].secured_by",
                    f.secured_by,
                    "no secured_by beside secured_by_contracts (one kind of collateral)",
                )
            for j, name in enumerate(pool):
                where = f"facilities[{i}].secured_by_contracts[{j}]"
                if name not in named:
                    raise SpecProblem(
                        where, name, f"the name of a contract ({', '.join(named) or 'none named'})"
                    )
                if name in pledged:
                    raise SpecProblem(
                        where,
                        name,
                        f"a contract pledged to one facility only (already {pledged[name]!r}'s)",
                    )
                pledged[name] = f.name
                contract = self.contracts[named[name]]
                units[contract.cohort] = units.get(contract.cohort, 0) + contract.units
                cohort = next(c for c in self.fleet if c.name == contract.cohort)
                if units[contract.cohort] > cohort.units:
                    raise SpecProblem(
                        where,
                        name,
                        f"pledged contracts of at most cohort {cohort.name!r}'s {cohort.units} "
                        f"units in all (each GPU pledged once; {units[contract.cohort]} pledged)",
                    )
        return self

    def _check_construction(self, horizon_end: dt.date) -> None:
        """A construction block only on a delivery, whose latest delivery is inside the
        horizon; a long-stop date only on a delivery's contract, on or after its schedule."""
        names = [c.name for c in self.fleet]
        for i, cohort in enumerate(self.fleet):
            if cohort.construction is None:
                continue
            if cohort.purchase_date <= self.as_of:
                raise SpecProblem(
                    f"fleet[{i}].construction",
                    "a construction block",
                    f"a cohort delivered after as_of ({self.as_of}): fleet[{i}].purchase_date "
                    f"is {cohort.purchase_date}, already delivered",
                )
            latest_months = cohort.construction.delay_months.max_months
            latest = add_months(cohort.purchase_date, latest_months)
            if latest >= horizon_end:
                raise SpecProblem(
                    f"fleet[{i}].construction.delay_months.probabilities.{latest_months}",
                    latest_months,
                    f"a delay that still delivers before the debt's maturity ({horizon_end}, "
                    f"{self.horizon_months} months after as_of): {latest_months} months after "
                    f"{cohort.purchase_date} is {latest}",
                )
        for i, contract in enumerate(self.contracts):
            if contract.longstop_date is None:
                continue
            k = names.index(contract.cohort)
            scheduled = self.fleet[k].purchase_date
            if scheduled <= self.as_of:
                raise SpecProblem(
                    f"contracts[{i}].longstop_date",
                    contract.longstop_date.isoformat(),
                    f"no long-stop date: cohort '{contract.cohort}' is already delivered "
                    f"(fleet[{k}].purchase_date {scheduled} is on or before as_of)",
                )
            if contract.longstop_date < scheduled:
                raise SpecProblem(
                    f"contracts[{i}].longstop_date",
                    contract.longstop_date.isoformat(),
                    f"a date on or after the scheduled delivery of cohort '{contract.cohort}' "
                    f"({scheduled}, fleet[{k}].purchase_date)",
                )

    def _check_size(self, horizon_end: dt.date) -> None:
        """The debt at most ``MAX_DEBT_TO_COST`` times the fleet's cost, and its maturity at
        most ``LIFE_MARGIN_MONTHS`` after the end of the fleet's economic life."""
        cost = sum(c.units * c.unit_cost_usd for c in self.fleet)
        debts: list[tuple[str, float, int]] = []
        if self.loan is not None:
            debts.append(("loan", self.loan.principal_usd, self.loan.tenor_months))
        for i, f in enumerate(self.facilities):
            if isinstance(f, DdtlSpec):
                amount, field = f.commitment_usd, "commitment_usd"
            elif isinstance(f, ProjectFinanceSpec):
                amount = (f.project_cost_usd or cost) * f.max_gearing_pct / 100.0
                field = "project_cost_usd"
            else:
                amount, field = f.principal_usd, "principal_usd"
            debts.append((f"facilities[{i}].{field}", amount, f.tenor_months))
        total = sum(amount for _, amount, _ in debts)
        if total > MAX_DEBT_TO_COST * cost:
            field, amount, _ = max(debts, key=lambda d: d[1])
            field = "loan.principal_usd" if field == "loan" else field
            raise SpecProblem(
                field,
                amount,
                f"debt of at most {MAX_DEBT_TO_COST:g} times the fleet's cost "
                f"({cost:,.0f} USD); the deal's debt adds up to {total:,.0f} USD",
            )
        life_end = max(
            c.purchase_date + dt.timedelta(days=round(365.25 * c.economic_life_years))
            for c in self.fleet
        )
        latest = add_months(life_end, LIFE_MARGIN_MONTHS)
        if horizon_end > latest:
            field, _, tenor = max(debts, key=lambda d: d[2])
            field = "loan" if field == "loan" else field.rpartition(".")[0]
            raise SpecProblem(
                f"{field}.tenor_months",
                tenor,
                f"a maturity by {latest}: the fleet's economic life ends {life_end}, and the "
                f"debt may run at most {LIFE_MARGIN_MONTHS} months past it (the longest sale "
                "of its collateral)",
            )

    def _check_debt(self, cohorts: list[str]) -> None:
        if (self.loan is None) == (not self.facilities):
            raise SpecProblem(
                "loan",
                "both" if self.loan is not None else None,
                "exactly one of 'loan' (one term loan) or 'facilities' (a capital structure)",
            )
        if self.loan is not None:
            if self.waterfall is not None:
                raise SpecProblem(
                    "waterfall", "a list of steps", "no waterfall with a single 'loan'"
                )
            return
        names = [f.name for f in self.facilities]
        for i, f in enumerate(self.facilities):
            if names.index(f.name) != i:
                raise SpecProblem(f"facilities[{i}].name", f.name, "a facility name used once")
            for j, cohort in enumerate(f.secured_by or []):
                if cohort not in cohorts:
                    raise SpecProblem(
                        f"facilities[{i}].secured_by[{j}]",
                        cohort,
                        f"the name of a fleet cohort ({', '.join(cohorts)})",
                    )
            check_schedule_length(i, f)
            if isinstance(f, DdtlSpec):
                if f.availability_end <= self.as_of:
                    raise SpecProblem(
                        f"facilities[{i}].availability_end",
                        f.availability_end.isoformat(),
                        f"a date after as_of ({self.as_of})",
                    )
                for j, draw in enumerate(f.draws):
                    if draw.date <= self.as_of:
                        raise SpecProblem(
                            f"facilities[{i}].draws[{j}].date",
                            draw.date.isoformat(),
                            f"a date after as_of ({self.as_of}); "
                            "earlier draws belong in drawn_at_close_usd",
                        )
                    if draw.cohort is None:
                        continue
                    if draw.cohort not in cohorts:
                        raise SpecProblem(
                            f"facilities[{i}].draws[{j}].cohort",
                            draw.cohort,
                            f"the name of a fleet cohort ({', '.join(cohorts)})",
                        )
                    k = cohorts.index(draw.cohort)
                    delivered = self.fleet[k].purchase_date
                    if draw.date < delivered:
                        raise SpecProblem(
                            f"facilities[{i}].draws[{j}].date",
                            draw.date.isoformat(),
                            f"a date on or after the delivery of cohort '{draw.cohort}' "
                            f"({delivered}, fleet[{k}].purchase_date): a draw funds a "
                            "delivered GPU",
                        )
            if isinstance(f, ConvertibleSpec) and (
                self.borrower.share_price_usd is None or self.borrower.shares_outstanding is None
            ):
                raise SpecProblem(
                    f"facilities[{i}].kind",
                    "convertible",
                    "borrower.share_price_usd and borrower.shares_outstanding to be given "
                    "(a convertible converts on the share price)",
                )
            if isinstance(f, ConvertibleSpec):
                maturity = add_months(self.as_of, f.tenor_months)
                for day, where in (
                    (None if f.soft_call is None else f.soft_call.date, "soft_call.from"),
                    (None if f.put is None else f.put.date, "put.date"),
                ):
                    if day is not None and not self.as_of < day < maturity:
                        raise SpecProblem(
                            f"facilities[{i}].{where}",
                            day.isoformat(),
                            f"a date after as_of ({self.as_of}) and before the facility's "
                            f"maturity ({maturity}, {f.tenor_months} months after as_of)",
                        )
        if self.waterfall is not None:
            check_waterfall(self.waterfall, self.facilities)

    @model_validator(mode="after")
    def _growth_expands(self) -> Self:
        """The growth plan, once the deal itself is valid, expands into a valid deal (e.g. its
        contracts fit their cohorts): checked here so that the run never meets a bad one."""
        if self.growth is None:
            return self
        from gpucredit.config.growth import expand_growth  # it builds on this module

        try:
            expand_growth(self)
        except ValidationError as error:
            first = error.errors()[0]
            cause = first.get("ctx", {}).get("error")
            if isinstance(cause, SpecProblem):
                where, why = cause.field, cause.expected
            else:
                where, why = ".".join(str(x) for x in first["loc"]), first["msg"]
            raise SpecProblem(
                "growth",
                "the plan",
                f"a plan that expands into a valid deal (the expanded deal's {where}: {why})",
            ) from None
        return self


def check_real_estate(items: list[RealEstateSpec], facilities: list[Any], single: bool) -> None:
    """Each item named once and securing known facilities (each once); a capital structure."""
    names = [f.name for f in facilities]
    seen: list[str] = []
    for i, item in enumerate(items):
        if single:
            raise SpecProblem(
                f"real_estate[{i}]",
                item.name,
                "a deal with facilities (real estate secures facilities of a capital structure)",
            )
        if item.name in seen:
            raise SpecProblem(f"real_estate[{i}].name", item.name, "each item named once")
        seen.append(item.name)
        for j, name in enumerate(item.secures):
            if name not in names:
                raise SpecProblem(
                    f"real_estate[{i}].secures[{j}]",
                    name,
                    f"the name of one of the deal's facilities ({', '.join(names)})",
                )
            if name in item.secures[:j]:
                raise SpecProblem(
                    f"real_estate[{i}].secures[{j}]", name, "each facility named once"
                )


def check_contract_dates(
    contracts: list[ContractSpec], fleet: list[CohortSpec], as_of: dt.date, prefix: str = ""
) -> None:
    """Raise ``SpecProblem`` unless every contract names a cohort of ``fleet``, ends after
    ``as_of`` and, on a delivery, starts on or after it (a GPU is let once delivered); fields
    are named under ``prefix`` (``"gpu_fleet."`` for a miner's own fleet)."""
    names = [c.name for c in fleet]
    for i, contract in enumerate(contracts):
        if contract.cohort not in names:
            raise SpecProblem(
                f"{prefix}contracts[{i}].cohort",
                contract.cohort,
                f"the name of a fleet cohort ({', '.join(names)})",
            )
        if contract.end <= as_of:
            raise SpecProblem(
                f"{prefix}contracts[{i}].end",
                contract.end.isoformat(),
                f"a date after as_of ({as_of})",
            )
        c = names.index(contract.cohort)
        cohort = fleet[c]
        if cohort.purchase_date > as_of and contract.start < cohort.purchase_date:
            raise SpecProblem(
                f"{prefix}contracts[{i}].start",
                contract.start.isoformat(),
                f"a date on or after the delivery of cohort '{cohort.name}' "
                f"({cohort.purchase_date}, {prefix}fleet[{c}].purchase_date): "
                "a GPU is let once it is delivered",
            )


def check_schedule_length(i: int, facility: Any) -> None:
    """Raise ``SpecProblem`` unless facility ``i``'s principal schedule, if it has one, gives one
    entry per month of its tenor (deals and miners alike)."""
    schedule = getattr(facility, "amortisation", None)
    if isinstance(schedule, ScheduleSpec):
        n = len(schedule.principal_pct_by_month)
        if n != facility.tenor_months:
            raise SpecProblem(
                f"facilities[{i}].amortisation.principal_pct_by_month",
                f"a list of {n} entries",
                f"one entry per month of tenor_months={facility.tenor_months}",
            )


def check_waterfall(steps: list[Any], facilities: list[Any]) -> None:
    """Every step names a known facility; each facility's interest and principal are paid
    once; reserves only for facilities with one; ``distribute`` last and only there."""
    names = [f.name for f in facilities]
    seen: dict[tuple[str, str], int] = {}
    for j, step in enumerate(steps):
        facility = getattr(step, "facility", None)
        if facility is not None and facility not in names:
            raise SpecProblem(
                f"waterfall[{j}].facility",
                facility,
                f"the name of one of the deal's facilities ({', '.join(names)})",
            )
        if step.step == "distribute" and j != len(steps) - 1:
            raise SpecProblem(f"waterfall[{j}].step", "distribute", "distribute as the last step")
        if facility is not None and step.step in (
            "interest",
            "principal",
            "reserve",
            "sweep",
            "payment_account",
        ):
            key = (step.step, facility)
            if key in seen:
                raise SpecProblem(
                    f"waterfall[{j}]",
                    f"{step.step} of {facility}",
                    f"each facility's {step.step} once (already at waterfall[{seen[key]}])",
                )
            seen[key] = j
        if step.step == "reserve":
            f = facilities[names.index(facility)]
            if f.dsra_months == 0:
                raise SpecProblem(
                    f"waterfall[{j}].facility",
                    facility,
                    "a facility with a DSRA (its dsra_months is 0)",
                )
        if step.step == "payment_account":
            f = facilities[names.index(facility)]
            if getattr(f, "coupon_frequency", "monthly") == "monthly":
                raise SpecProblem(
                    f"waterfall[{j}].facility",
                    facility,
                    "notes or a convertible paid quarterly or semi-annually (a payment "
                    "account saves for coupons paid less often than monthly)",
                )
    if not steps or steps[-1].step != "distribute":
        raise SpecProblem("waterfall", "no final distribute step", "distribute as the last step")
    for name in names:
        for kind in ("interest", "principal"):
            if (kind, name) not in seen:
                raise SpecProblem(
                    "waterfall",
                    f"no {kind} step for {name}",
                    f"a {kind} step for every facility",
                )


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return dt.date(year, month, min(day.day, (following - dt.timedelta(days=1)).day))


def _peak_contracted_units(contracts: list[ContractSpec], as_of: dt.date) -> int:
    """Most units under contract at once (contracts are active on [start, end))."""
    events: list[tuple[dt.date, int]] = []
    for c in contracts:
        events.append((max(c.start, as_of), c.units))
        events.append((c.end, -c.units))
    peak = running = 0
    for _, delta in sorted(events, key=lambda e: (e[0], e[1])):
        running += delta
        peak = max(peak, running)
    return peak
