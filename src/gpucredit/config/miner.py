"""Bitcoin-miner specs: self-mining fleet, treasury, hosting leases and a BTC-backed margin loan.

Same conventions as ``config/spec.py``: frozen pydantic models, unknown fields rejected, units in
field names, percent and basis points only at this input edge (the engine reads decimals through
properties). Cross-field problems raise ``SpecProblem`` so the loader reports the exact field,
its line, the value and what was expected. ``parse_miner`` / ``load_miner`` validate YAML.

Sourced defaults (REFERENCES.md, "Bitcoin miners", unless noted):

* Margin-loan ladder: typical BTC-backed loans start at 50-70% LTV, call margin at ~70-80% and
  liquidate at 80-85%; Coinbase loans (on Morpho) liquidate at 86% LTV with a 4.38% penalty.
  Defaults: top up to 60% (middle of 50-70%), margin call at 75% (middle of 70-80%), liquidation
  at 86% with a 4.38% penalty (the Coinbase/Morpho pair, one real ladder).
* Pool fee 2.5%: full-pay-per-share pools charge 2-4% (Spiderpool's published fee table: FPPS
  4%; Antpool PPS ~2.5%); an assumption inside that range.
* Fleet economic life 5 years: Marathon Digital depreciates mining rigs over 5 years (10-K for
  2022, note 4), Stronghold Digital its miners over 5 years (10-Q, June 2022); Riot used 2 years
  (10-K for 2021), so 5 is the long end. The income approach ends the rigs' value earlier when
  the buyer's projected hashprice no longer covers the power bill.
* Hosting: the lease discount rate 7.25% is the median coupon of the five miner-to-AI hosting
  project notes in REFERENCES.md (6.75%, 7.125%, 7.25%, 7.75%, 9.25%). Re-leasing after a tenant
  failure (6 months idle, then 80% of the contract rate) is an **assumption**: no public figure
  for re-letting converted AI halls was found.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    Field,
    model_validator,
)

from gpucredit.config.loading import parse_spec, read_document, validate_document
from gpucredit.config.spec import (
    LIFE_MARGIN_MONTHS,
    MAX_ITEMS,
    BorrowerSpec,
    CohortSpec,
    ContractSpec,
    ConvertibleSpec,
    DefaultModelSpec,
    DocumentSpec,
    FacilitySpec,
    GuarantorSpec,
    MerchantSpec,
    OpexSpec,
    PowerPrice,
    PricingSpec,
    RatedSpec,
    RateSpec,
    RecoverySpec,
    RegimeSpec,
    Spec,
    SpecDate,
    SpecProblem,
    StepSpec,
    Usd,
    UsdOrZero,
    UsdPerKwMonth,
    _peak_contracted_units,
    add_months,
    check_contract_dates,
    check_enterprise_refinancing,
    check_schedule_length,
    check_tenant_risk,
    check_waterfall,
)

__all__ = [
    "ConversionSpec",
    "GpuFleetSpec",
    "GuarantorSpec",
    "HostingSpec",
    "LeaseSpec",
    "MarginLoanSpec",
    "MinerSpec",
    "MiningSpec",
    "PremiumCurveSpec",
    "TreasurySpec",
    "is_miner_data",
    "load_miner",
    "parse_miner",
]

Pct = Annotated[float, Field(gt=0.0, le=100.0)]
#: A miner's own hash rate, EH/s: at most the whole network's peak in data/btc_daily.csv
#: (1,305 EH/s); no miner can hold more than the network.
MAX_HASHRATE_EH_S = 1_306.0
#: Bitcoin amounts: at most the 21 million BTC the protocol will ever issue.
Btc = Annotated[float, Field(ge=0.0, le=21e6)]


class MiningSpec(Spec):
    """The self-mining fleet.

    ``efficiency_j_per_th`` is the rigs' energy per terahash at the wall (J/TH = W per TH/s);
    ``pue`` multiplies it for cooling and site losses. ``curtailment``: switch the fleet off in a
    month whose hashprice net of the pool fee does not cover the power cost of a TH/s-day.
    ``fleet_age_years`` is the hash-rate-weighted age of the rigs on ``as_of``.
    """

    hashrate_eh_s: Annotated[float, Field(gt=0.0, le=MAX_HASHRATE_EH_S)]
    efficiency_j_per_th: Annotated[float, Field(gt=0.0, le=500.0)]
    power_price_usd_per_mwh: PowerPrice
    pue: Annotated[float, Field(ge=1.0, le=3.0)]
    pool_fee_pct: Annotated[float, Field(ge=0.0, lt=100.0)] = 2.5
    curtailment: bool = True
    fleet_age_years: Annotated[float, Field(ge=0.0, le=15.0)]
    economic_life_years: Annotated[float, Field(gt=0.0, le=15.0)] = 5.0
    other_opex_usd_per_month: UsdOrZero = 0.0

    @model_validator(mode="after")
    def _inside_life(self) -> Self:
        if self.fleet_age_years >= self.economic_life_years:
            raise SpecProblem(
                "fleet_age_years",
                self.fleet_age_years,
                f"an age below economic_life_years ({self.economic_life_years:g}): a fleet "
                "past its economic life earns nothing",
            )
        return self

    @property
    def pool_fee(self) -> float:
        return self.pool_fee_pct / 100.0


class TreasurySpec(Spec):
    """Bitcoin held on balance sheet (the margin loan says how much of it is pledged) and the
    cash on hand on ``as_of``, which meets debt-service shortfalls before any reserve (the
    free BTC is not sold to pay debt: it tops up the margin loan only, an assumption)."""

    btc_held: Btc = 0.0
    cash_usd: UsdOrZero = 0.0


class LeaseSpec(RatedSpec):
    """A colocation lease of converted capacity to an AI tenant, take-or-pay per kW of IT load.

    The rent steps up by ``escalator_pct_per_year`` on each anniversary of ``start`` (0: flat,
    unless the lease says otherwise). The tenant's default risk is a ``rating`` or an
    ``annual_pd_pct``; an optional ``guarantor`` backstops the rent.
    """

    tenant: str = Field(min_length=1)
    guarantor: GuarantorSpec | None = None
    # at most 5,000 MW of IT load: about four times the 1.2 GW Stargate Abilene campus, the
    # largest single AI site announced by 2025 (an assumption)
    it_mw: Annotated[float, Field(gt=0.0, le=5000.0)]
    rate_usd_per_kw_month: Annotated[float, Field(gt=0.0, le=1000.0)]  # as UsdPerKwMonth
    start: SpecDate
    end: SpecDate
    escalator_pct_per_year: Annotated[float, Field(ge=0.0, le=25.0)] = 0.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.end <= self.start:
            raise SpecProblem("end", self.end.isoformat(), f"a date after start ({self.start})")
        if self.guarantor is not None and self.guarantor.as_written:
            raise SpecProblem(
                "guarantor",
                self.guarantor.name,
                "an unlimited backstop (share_pct, cap_usd and until are modelled for GPU "
                "deals' contracts, not yet for a miner's hosting leases)",
            )
        return self

    @property
    def it_kw(self) -> float:
        return self.it_mw * 1000.0


class ConversionSpec(Spec):
    """Turning mining halls into AI hosting: capex spent evenly over the months from ``as_of`` to
    the first lease start, and the hosting opex per kW of leased IT load once leases run."""

    capex_usd: UsdOrZero = 0.0
    opex_usd_per_kw_month: UsdPerKwMonth = 0.0


class HostingSpec(Spec):
    """The hosting segment: leases, their conversion, and what happens when a tenant fails."""

    leases: list[LeaseSpec] = Field(min_length=1, max_length=MAX_ITEMS)
    conversion: ConversionSpec = Field(default_factory=ConversionSpec)
    # assumption: no public re-letting figure for converted AI halls (module docstring)
    re_lease_downtime_months: Annotated[int, Field(ge=0, le=60)] = 6
    re_lease_rate_pct_of_contract: Annotated[float, Field(ge=0.0, le=100.0)] = 80.0
    # median coupon of five hosting-project notes, REFERENCES.md (module docstring)
    lease_discount_rate_pct: Pct = 7.25


class MarginLoanSpec(Spec):
    """A loan secured by pledged bitcoin, with an LTV ladder tested monthly.

    LTV = balance / (pledged BTC x price). At or above ``margin_call_ltv_pct`` the borrower must
    bring it back to ``top_up_to_ltv_pct`` (more BTC, then cash); at or above
    ``liquidation_ltv_pct``, or when a call is not met, the lender sells the pledge and keeps
    ``liquidation_penalty_pct`` of the debt repaid. Defaults and sources: module docstring.
    """

    name: str = Field(min_length=1)
    principal_usd: Usd
    rate: RateSpec
    tenor_months: Annotated[int, Field(ge=1, le=120)]
    pledged_btc: Annotated[float, Field(gt=0.0, le=21e6)]
    top_up_to_ltv_pct: Pct = 60.0
    margin_call_ltv_pct: Pct = 75.0
    liquidation_ltv_pct: Pct = 86.0
    liquidation_penalty_pct: Annotated[float, Field(ge=0.0, le=50.0)] = 4.38

    @model_validator(mode="after")
    def _ladder(self) -> Self:
        if not self.top_up_to_ltv_pct < self.margin_call_ltv_pct:
            raise SpecProblem(
                "top_up_to_ltv_pct",
                self.top_up_to_ltv_pct,
                f"a level below margin_call_ltv_pct ({self.margin_call_ltv_pct:g})",
            )
        if not self.margin_call_ltv_pct < self.liquidation_ltv_pct:
            raise SpecProblem(
                "margin_call_ltv_pct",
                self.margin_call_ltv_pct,
                f"a level below liquidation_ltv_pct ({self.liquidation_ltv_pct:g})",
            )
        return self

    @property
    def top_up_to_ltv(self) -> float:
        return self.top_up_to_ltv_pct / 100.0

    @property
    def margin_call_ltv(self) -> float:
        return self.margin_call_ltv_pct / 100.0

    @property
    def liquidation_ltv(self) -> float:
        return self.liquidation_ltv_pct / 100.0

    @property
    def liquidation_penalty(self) -> float:
        return self.liquidation_penalty_pct / 100.0


class ConvergenceSpec(Spec):
    """How bitcoin, hashprice, GPU rents and rates move together (docs/model.md, "Miner market
    and correlation convergence"). ``enabled: false`` keeps the calm correlations in stress;
    ``stress_correlation`` is what the correlations converge to in the glut regime (default
    0.36: bitcoin's daily correlation with the S&P 500 in 2020-21, IMF Blog 2022-01-11, a floor
    rather than a worst case); ``copula: student_t`` adds tail dependence with ``dof`` degrees
    of freedom (an assumption: 4)."""

    enabled: bool = True
    stress_correlation: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.36
    copula: Literal["gaussian", "student_t"] = "gaussian"
    dof: Annotated[float, Field(gt=2.0, le=100.0)] = 4.0


#: The GPU generation a miner's own fleet may hold: the one generation of the miner's GPU factor
#: model, whose rent shock is the one its scenario correlates with bitcoin
#: (``factors.parameter_source.MINER_GPU_GENERATION``; a unit test holds the two equal).
MINER_FLEET_GENERATION = "H100"


class GpuFleetSpec(Spec):
    """A miner's own GPUs rented out (IREN-style): cohorts, contracts, merchant terms and opex
    with exactly the meaning they have in a GPU deal (``DealSpec``'s ``fleet``, ``contracts``,
    ``merchant``, ``opex``, ``re_lease_downtime_months``), projected by the same fleet model
    (``assets.fleet``) on the miner's GPU scenario. Its CFADS adds to the mining CFADS; its
    GPUs are the collateral pool ``gpus``. Every cohort is of ``MINER_FLEET_GENERATION``: the
    GPU rent the miner's scenario correlates with bitcoin. The merchant utilisation is the
    factor model's (no overrides: they would change the GPU scenario the miner shares).
    """

    fleet: list[CohortSpec] = Field(min_length=1, max_length=MAX_ITEMS)
    contracts: list[ContractSpec] = Field(default_factory=list, max_length=MAX_ITEMS)
    merchant: MerchantSpec = Field(default_factory=MerchantSpec)
    opex: OpexSpec
    re_lease_downtime_months: Annotated[int, Field(ge=0, le=36)] = 3

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [c.name for c in self.fleet]
        for i, cohort in enumerate(self.fleet):
            if names.index(cohort.name) != i:
                raise SpecProblem(f"fleet[{i}].name", cohort.name, "a cohort name used only once")
            if cohort.generation != MINER_FLEET_GENERATION:
                raise SpecProblem(
                    f"fleet[{i}].generation",
                    cohort.generation,
                    f"{MINER_FLEET_GENERATION}: the GPU generation of the miner's scenario, whose "
                    "rent is correlated with bitcoin",
                )
        for i, contract in enumerate(self.contracts):
            if contract.cohort not in names:
                raise SpecProblem(
                    f"contracts[{i}].cohort",
                    contract.cohort,
                    f"the name of a gpu_fleet cohort ({', '.join(names)})",
                )
        for key in ("utilisation_tight", "utilisation_glut"):
            if getattr(self.merchant, key) is not None:
                raise SpecProblem(
                    f"merchant.{key}",
                    getattr(self.merchant, key),
                    "no override: a miner's GPUs rent at its GPU scenario's utilisation",
                )
        check_tenant_risk(self.contracts)
        return self

    def life_ends(self, as_of: dt.date) -> list[dt.date]:
        """Each cohort's end of economic life (from its purchase, or ``as_of`` if later)."""
        return [
            max(c.purchase_date, as_of) + dt.timedelta(days=round(365.25 * c.economic_life_years))
            for c in self.fleet
        ]


#: The stress correlations of the premium curve by default (issue 13 item 11: 0 to 0.9).
PREMIUM_CURVE_CORRELATIONS = (0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9)


class PremiumCurveSpec(Spec):
    """The double-leverage premium as a curve over the stress correlation: the miner re-run
    with ``convergence.stress_correlation`` set to each of ``correlations`` on the same paths
    and seed, minus the run with convergence off. ``enabled``: None (the default) runs it for
    a miner with a ``gpu_fleet`` only. ``paths``: the curve uses the first ``min(paths, run
    paths)`` paths (ASSUMPTION: 1,000, so that the curve's eight runs with their fair spreads
    simulate fewer paths than the default main run of 10,000; the standard errors say what
    that buys)."""

    enabled: bool | None = None
    correlations: list[Annotated[float, Field(ge=0.0, lt=1.0)]] = Field(
        default_factory=lambda: list(PREMIUM_CURVE_CORRELATIONS), min_length=1, max_length=20
    )
    paths: Annotated[int, Field(ge=1, le=1_000_000)] = 1_000


#: Collateral pools of a miner a facility can be secured by (``secured_by``).
MINER_POOLS = ("asics", "hosting", "gpus")


class MinerSpec(DocumentSpec):
    """One bitcoin miner: its fleet, treasury, optional hosting segment and its debt.

    ``btc_price_usd`` is the price on ``as_of`` (USD per BTC); it is needed to test the margin
    loan's initial LTV, and scenario paths should start from it. Debt: a BTC-backed
    ``margin_loan`` and ``facilities`` (equipment loans ``secured_by: [asics]``, hosting-project
    notes ``secured_by: [hosting]``, convertibles, ...) paid by the ``waterfall`` (by seniority
    when omitted), exactly as in a GPU deal (docs/capital_structures.md). ``gpu_fleet``: the
    miner's own GPUs rented out, whose CFADS joins the mining cash that pays the debt and whose
    value is the collateral pool ``gpus``; ``premium_curve``: the double-leverage premium over
    the stress correlation (docs/miners.md, "A miner's own GPU fleet and the premium curve").
    """

    name: str = Field(min_length=1)
    as_of: SpecDate
    borrower: BorrowerSpec | None = None
    mining: MiningSpec
    treasury: TreasurySpec = Field(default_factory=TreasurySpec)
    hosting: HostingSpec | None = None
    margin_loan: MarginLoanSpec | None = None
    facilities: list[FacilitySpec] = Field(default_factory=list, max_length=MAX_ITEMS)
    waterfall: list[StepSpec] | None = Field(default=None, max_length=MAX_ITEMS)
    convergence: ConvergenceSpec = Field(default_factory=ConvergenceSpec)
    recovery: RecoverySpec = Field(default_factory=RecoverySpec)
    pricing: PricingSpec | None = None
    # at most 10 million USD per BTC: a hundred times the price on the shipped data's last
    # day (about 100,000 USD, data/btc_daily.csv), an assumption
    btc_price_usd: Annotated[float, Field(gt=0.0, le=1e7)] | None = None
    default_model: DefaultModelSpec | None = None
    regime: RegimeSpec | None = None
    notes: str = ""
    gpu_fleet: GpuFleetSpec | None = None
    premium_curve: PremiumCurveSpec = Field(default_factory=PremiumCurveSpec)
    #: Where each public field's value is published, and the reasoning behind each field
    #: filled without a public figure (``config.provenance``, docs/deals.md).
    sources: dict[str, str] = Field(default_factory=dict)
    assumptions: dict[str, str] = Field(default_factory=dict)

    @property
    def horizon_months(self) -> int:
        """Months simulated: the longest of the margin loan and the facilities."""
        tenors = [f.tenor_months for f in self.facilities]
        if self.margin_loan is not None:
            tenors.append(self.margin_loan.tenor_months)
        return max(tenors)

    @property
    def facility_names(self) -> tuple[str, ...]:
        names = [f.name for f in self.facilities]
        if self.margin_loan is not None:
            names.append(self.margin_loan.name)
        return tuple(names)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.hosting is not None:
            self._check_hosting(self.hosting)
        if self.gpu_fleet is not None:
            self._check_gpu_fleet(self.gpu_fleet)
        self._check_debt()
        self._check_life()
        loan = self.margin_loan
        if loan is None:
            return self
        if loan.pledged_btc > self.treasury.btc_held:
            raise SpecProblem(
                "margin_loan.pledged_btc",
                loan.pledged_btc,
                f"at most the treasury's btc_held ({self.treasury.btc_held:g})",
            )
        if self.btc_price_usd is None:
            raise SpecProblem(
                "btc_price_usd", None, "the BTC price on as_of, to test the margin loan's LTV"
            )
        initial_ltv_pct = 100.0 * loan.principal_usd / (loan.pledged_btc * self.btc_price_usd)
        if not initial_ltv_pct < loan.margin_call_ltv_pct:
            raise SpecProblem(
                "margin_loan.principal_usd",
                loan.principal_usd,
                f"an initial LTV below margin_call_ltv_pct ({loan.margin_call_ltv_pct:g}%); "
                f"got {initial_ltv_pct:.1f}% of {loan.pledged_btc:g} BTC at "
                f"{self.btc_price_usd:,.0f} USD",
            )
        return self

    def _check_debt(self) -> None:
        if self.margin_loan is None and not self.facilities:
            raise SpecProblem("facilities", [], "a margin_loan or at least one facility to assess")
        names = list(self.facility_names)
        for i, f in enumerate(self.facilities):
            if names.index(f.name) != i:
                raise SpecProblem(f"facilities[{i}].name", f.name, "a facility name used once")
            check_schedule_length(i, f)
            for j, pool in enumerate(f.secured_by or []):
                if pool not in MINER_POOLS:
                    raise SpecProblem(
                        f"facilities[{i}].secured_by[{j}]",
                        pool,
                        f"one of the miner's collateral pools ({', '.join(MINER_POOLS)})",
                    )
                if pool == "hosting" and self.hosting is None:
                    raise SpecProblem(
                        f"facilities[{i}].secured_by[{j}]", pool, "a hosting segment to secure"
                    )
                if pool == "gpus" and self.gpu_fleet is None:
                    raise SpecProblem(
                        f"facilities[{i}].secured_by[{j}]", pool, "a gpu_fleet section to secure"
                    )
            if f.kind in ("ddtl", "project_finance", "abl"):
                raise SpecProblem(
                    f"facilities[{i}].kind",
                    f.kind,
                    "term_loan, vendor, notes or convertible for a miner (equipment loans, "
                    "hosting notes, convertibles)",
                )
            if isinstance(f, ConvertibleSpec) and (
                self.borrower is None
                or self.borrower.share_price_usd is None
                or self.borrower.shares_outstanding is None
            ):
                raise SpecProblem(
                    f"facilities[{i}].kind",
                    "convertible",
                    "borrower.share_price_usd and borrower.shares_outstanding to be given",
                )
        if self.borrower is not None and self.borrower.equity_model != "fleet_value":
            raise SpecProblem(
                "borrower.equity_model",
                self.borrower.equity_model,
                "fleet_value for a miner (its share price follows its enterprise value; the "
                "diffusion is for GPU deals)",
            )
        if self.waterfall is not None:
            check_waterfall(self.waterfall, self.facilities)
        check_enterprise_refinancing(self.facilities, self.borrower)

    def _check_life(self) -> None:
        """Debt maturing at most ``LIFE_MARGIN_MONTHS`` after the later of the rigs' economic
        life and the last hosting lease (what the debt can be repaid from)."""
        mining = self.mining
        remaining = mining.economic_life_years - mining.fleet_age_years
        life_end = self.as_of + dt.timedelta(days=round(365.25 * remaining))
        if self.hosting is not None:
            life_end = max([life_end, *(lease.end for lease in self.hosting.leases)])
        if self.gpu_fleet is not None:
            life_end = max([life_end, *self.gpu_fleet.life_ends(self.as_of)])
        latest = add_months(life_end, LIFE_MARGIN_MONTHS)
        debts = [(f"facilities[{i}]", f.tenor_months) for i, f in enumerate(self.facilities)]
        if self.margin_loan is not None:
            debts.append(("margin_loan", self.margin_loan.tenor_months))
        where, tenor = max(debts, key=lambda d: d[1])
        if add_months(self.as_of, tenor) > latest:
            raise SpecProblem(
                f"{where}.tenor_months",
                tenor,
                f"a maturity by {latest}: the rigs' economic life and the hosting leases end "
                f"by {life_end}, and debt may run at most {LIFE_MARGIN_MONTHS} months past it",
            )

    def _check_hosting(self, hosting: HostingSpec) -> None:
        for i, lease in enumerate(hosting.leases):
            if lease.end <= self.as_of:
                raise SpecProblem(
                    f"hosting.leases[{i}].end",
                    lease.end.isoformat(),
                    f"a date after as_of ({self.as_of})",
                )
        first = min(lease.start for lease in hosting.leases)
        if hosting.conversion.capex_usd > 0.0 and first <= self.as_of:
            raise SpecProblem(
                "hosting.conversion.capex_usd",
                hosting.conversion.capex_usd,
                f"0 when the first lease starts on or before as_of ({first}): conversion capex "
                "is spread over the months before the first lease",
            )

    def _check_gpu_fleet(self, fleet: GpuFleetSpec) -> None:
        check_contract_dates(fleet.contracts, fleet.fleet, self.as_of, "gpu_fleet.")
        horizon_end = add_months(self.as_of, self.horizon_months)
        for i, cohort in enumerate(fleet.fleet):
            if cohort.purchase_date >= horizon_end:
                raise SpecProblem(
                    f"gpu_fleet.fleet[{i}].purchase_date",
                    cohort.purchase_date.isoformat(),
                    f"a date before the end of the miner's horizon ({horizon_end}): a delivery "
                    "must arrive while the debt is outstanding",
                )
            peak = _peak_contracted_units(
                [c for c in fleet.contracts if c.cohort == cohort.name], self.as_of
            )
            if peak > cohort.units:
                raise SpecProblem(
                    "gpu_fleet.contracts",
                    f"{peak} units of cohort '{cohort.name}' under contract at once",
                    f"at most the cohort's {cohort.units} units (gpu_fleet.fleet[{i}].units)",
                )


def is_miner_data(data: object) -> bool:
    """Whether parsed YAML is a miner (it has a ``mining`` section) rather than a GPU deal."""
    return isinstance(data, dict) and "mining" in data


def parse_miner(text: str, *, source: str | Path | None = None) -> MinerSpec:
    """Validate a miner spec given as YAML text (``source`` only labels the messages); errors
    as in ``config.loading.parse_deal``."""
    return parse_spec(MinerSpec, text, source=source, what="miner")


def load_miner(path: str | Path) -> MinerSpec:
    """Load and validate one miner YAML file (errors as in ``parse_miner``)."""
    return validate_document(MinerSpec, read_document(path, what="miner"), what="miner")
