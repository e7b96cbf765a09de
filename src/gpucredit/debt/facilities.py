"""Facilities and the intercreditor waterfall in engine units (decimals, 1-based months).

A ``StructureTerms`` is what ``debt.structure.run_structure`` executes: the facilities of one
borrower, the ordered waterfall steps that pay them from the month's CFADS, and the borrower's
equity (for convertibles). Specs become terms in ``pipeline``; nothing here reads a spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from gpucredit._typing import Float64Array, Int64Array
from gpucredit.debt.margin_loan import MarginLoanTerms
from gpucredit.debt.terms import LoanTerms

__all__ = [
    "FACILITY_KINDS",
    "STEP_KINDS",
    "EquityTerms",
    "FacilityTerms",
    "RefinancingTerms",
    "StepTerms",
    "StructureTerms",
    "with_margin",
]

FacilityKind = Literal[
    "term_loan", "ddtl", "abl", "project_finance", "notes", "convertible", "vendor"
]
FACILITY_KINDS: tuple[str, ...] = (
    "term_loan",
    "ddtl",
    "abl",
    "project_finance",
    "notes",
    "convertible",
    "vendor",
)
StepKind = Literal[
    "margin_ladder",
    "interest",
    "principal",
    "reserve",
    "maintenance_reserve",
    "sweep",
    "distribute",
    "payment_account",
]
STEP_KINDS: tuple[str, ...] = (
    "margin_ladder",
    "interest",
    "principal",
    "reserve",
    "maintenance_reserve",
    "sweep",
    "distribute",
    "payment_account",
)


#: Months before the first that stand for "the credit window was never open" (far beyond any
#: ``RefinancingTerms.window_months``): both engines' initial last-open month is minus this.
NEVER_OPEN = 1_000_000


@dataclass(frozen=True, slots=True)
class RefinancingTerms:
    """When a balance left at maturity (or called) can be refinanced, and at what spread.

    The test passes on a path and month when the claim is at most ``max_ltv`` of the
    facility's collateral value, the trailing-12-month deal DSCR is at least ``min_dscr`` (if
    set), and, if ``needs_open_market``, the credit market's refinancing window is open (its
    own chain, ``factors/credit_window.py``; see docs/capital_structures.md). A refinanced
    balance stays owed by the borrower at SOFR + ``spread[window at refinancing]`` (open,
    shut).
    """

    max_ltv: float
    min_dscr: float | None = None
    needs_open_market: bool = False
    spread: tuple[float, float] = (0.0, 0.0)
    #: Refinancing at the path's spread (docs/capital_structures.md, "Refinancing at the
    #: path's spread"): the window's spread plus ``spread_per_ltv`` (decimal a year per unit
    #: of LTV) x the LTV above ``ltv_pivot``; with ``new_tenor_months`` > 0 the new debt
    #: amortises over that many months (level payment if ``new_level_payment``, else a bullet)
    #: and ``min_dscr`` tests the trailing CFADS against its service. 0: today's test.
    spread_per_ltv: float = 0.0
    ltv_pivot: float = 0.0
    new_tenor_months: int = 0
    new_level_payment: bool = False
    #: Refinance against the market enterprise value (``RefinancingSpec.value`` "enterprise";
    #: docs/capital_structures.md, "Refinancing against the enterprise value"): at maturity
    #: all the firm's debt (the other facilities' balances at the month's start plus the
    #: balloon left) is tested against ``max_ltv`` x the enterprise value (the equity's market
    #: value plus the debt, floored at the facility's pool); False: the claim ahead plus the
    #: balloon against the pool.
    enterprise: bool = False
    #: With ``needs_open_market``, the maturity's test passes the window if it was open in
    #: any of the last ``window_months`` months up to maturity (the issuer refinances ahead
    #: when it can; ``RefinancingSpec.window_months``); 0: open in the maturity month.
    window_months: int = 0


@dataclass(frozen=True, slots=True)
class FacilityTerms:
    """One facility in engine units.

    ``loan`` holds what every facility has (opening balance, tenor, coupon, amortisation,
    DSRA, covenants, issue price, the solver's add-on). The rest is kind-specific:

    * ``ddtl``: ``draw_month``/``draw_usd`` are draws after close; ``draw_due`` (month,) the
      contractual principal of every draw (each amortises over its own term);
      ``undrawn_usd`` (month,) the commitment still available, on which
      ``commitment_fee`` (decimal a year) is paid.
    * ``abl``: ``advance_rate`` x the value of ``pool`` is the borrowing base, redetermined
      monthly; a balance above it must be repaid within ``cure_months`` or it is an event
      of default.
    * any kind: ``real_estate_value_usd`` is pledged real estate's stabilised value, added to
      the value of ``pool`` in every test of it (its recovery is ``credit.real_estate``'s).
    * any kind: ``pari_passu_outside_usd`` is the claims outside the deal that share the
      general estate with the facility's rank at a default (``credit.allocation``).
    * ``notes``/``convertible``: interest accrues monthly and is paid every
      ``coupon_every_months``; ``call_month``/``call_price`` the call schedule (decimal of
      par); ``conversion_price_usd`` converts at maturity when the share price is above it.
    """

    loan: LoanTerms
    kind: FacilityKind = "term_loan"
    seniority: int = 1
    pool: tuple[int, ...] = ()
    secured: bool = True
    refinancing: RefinancingTerms = field(default_factory=lambda: RefinancingTerms(0.6))
    draw_month: Int64Array = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    draw_usd: Float64Array = field(default_factory=lambda: np.zeros(0))
    draw_due: Float64Array | None = None
    undrawn_usd: Float64Array | None = None
    commitment_fee: float = 0.0
    advance_rate: float | None = None
    cure_months: int = 0
    coupon_every_months: int = 1
    call_month: Int64Array = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    call_price: Float64Array = field(default_factory=lambda: np.zeros(0))
    conversion_price_usd: float | None = None
    sculpted_dscr: float | None = None  # project finance: its base-case DSCR as sized
    #: Stabilised value of the real estate pledged to it, USD (``credit.real_estate``): part
    #: of its pool's value in its LTV covenants, borrowing base and refinancing test.
    real_estate_value_usd: float = 0.0
    #: convertible: from this month (0: never) the issuer calls when the share price is above
    #: ``soft_call_trigger`` x the conversion price; the holders convert (at parity)
    soft_call_month: int = 0
    soft_call_trigger: float = 0.0
    #: convertible: in this month (0: never) the holders put the note at ``put_price``
    #: (decimal of par, at most 1) when its parity is below it; the issuer pays in cash
    put_month: int = 0
    put_price: float = 0.0
    #: Claims outside the modelled deal that rank pari passu with this facility in the
    #: general estate, USD (the rest of a group's unsecured debt that a slice does not hold):
    #: they share the estate with the facility's rank and take their pro-rata part out of
    #: the deal (``credit.allocation.allocate_recovery``). 0: none.
    pari_passu_outside_usd: float = 0.0

    @property
    def name(self) -> str:
        return self.loan.name

    @property
    def tenor_months(self) -> int:
        return self.loan.tenor_months

    @property
    def last_draw_month(self) -> int:
        """Month of the last draw after close (0 without any)."""
        return int(self.draw_month.max()) if self.draw_month.size else 0

    @property
    def committed_usd(self) -> float:
        """Opening balance plus every later draw: the par the lender funds."""
        return self.loan.principal_usd + float(self.draw_usd.sum())

    def with_add_on(self, add_on: float) -> FacilityTerms:
        return replace(self, loan=self.loan.with_add_on(add_on))


@dataclass(frozen=True, slots=True)
class StepTerms:
    """One step of the waterfall: what it pays and to which facility (index).

    ``margin_ladder`` is the month of the structure's margin loan (``StructureTerms.margin``;
    ``debt.margin_loan``): the program's first step, served before the waterfall's.
    ``payment_account`` sets 1/m of the facility's next coupon aside in its debt-service
    payment account each month between payment dates (``payment_account_set_aside``)."""

    kind: StepKind
    facility: int = -1
    share: float = 1.0
    usd_per_month: float = 0.0
    target_usd: float = 0.0

    @property
    def label(self) -> str:
        return self.kind if self.facility < 0 else f"{self.kind}:{self.facility}"


@dataclass(frozen=True, slots=True)
class EquityTerms:
    """The borrower's equity on the as-of date, for convertibles.

    The path's equity value is ``EV_0 x V_t / V_0 - D_t`` (floored at 0), with ``EV_0`` the
    market value of equity plus the structure's debt at close, ``V`` the fleet's
    income-approach value on the path and ``D_t`` the debt then (ASSUMPTION: enterprise
    value moves with the value of the fleet).
    """

    share_price_usd: float
    shares_outstanding: float
    #: "fleet_value" (above) or "diffusion": the share price is given to the engine as a path
    #: (``factors.equity.share_price_paths``: volatility ``vol``, decimal a year, correlation
    #: ``rho_fleet`` with the fleet's rent shocks)
    model: Literal["fleet_value", "diffusion"] = "fleet_value"
    vol: float = 0.0
    rho_fleet: float = 0.0

    @property
    def market_cap_usd(self) -> float:
        return self.share_price_usd * self.shares_outstanding


@dataclass(frozen=True, slots=True)
class StructureTerms:
    """All facilities of one borrower and the waterfall that pays them.

    Every facility cross-defaults: a payment, covenant, borrowing-base or maturity default of
    any of them accelerates all (the borrower's event of default).

    ``unfunded_opex_defaults`` is the single loan's convention (``engine.loan_structure``): an
    operating deficit that neither the accounts nor the reserves fund is a shortfall of the
    month's first debt payment, so it is a payment default even when nothing is due, and at
    maturity it stops the balloon's refinancing. A structure leaves it unfunded
    (``StructureLedger.unfunded_opex``) and defaults only on a debt payment it misses.

    ``margin`` is a bitcoin-backed margin loan (a miner's; ``with_margin``): its step
    ``margin_ladder`` comes first, and it runs over every month of the run, beyond
    ``n_months`` (the other facilities' horizon) when its tenor is longer.
    """

    facilities: tuple[FacilityTerms, ...]
    steps: tuple[StepTerms, ...]
    equity: EquityTerms | None = None
    unfunded_opex_defaults: bool = False
    margin: MarginLoanTerms | None = None

    def __post_init__(self) -> None:
        n = len(self.facilities)
        ladders = [j for j, step in enumerate(self.steps) if step.kind == "margin_ladder"]
        if self.margin is None and ladders:
            raise ValueError("a 'margin_ladder' step needs the structure's margin loan")
        if self.margin is not None and ladders != [0]:
            raise ValueError("a margin loan's 'margin_ladder' step must be the first, once")
        if not n and self.margin is None:
            raise ValueError("a structure needs a facility or a margin loan")
        for step in self.steps:
            if step.kind in (
                "interest",
                "principal",
                "reserve",
                "sweep",
                "payment_account",
            ) and not (0 <= step.facility < n):
                raise ValueError(f"step {step.kind} names facility {step.facility} of {n}")
        if not self.steps or self.steps[-1].kind != "distribute":
            raise ValueError("the last waterfall step must be 'distribute'")

    @property
    def n_months(self) -> int:
        """Months of the waterfall of ``facilities`` (0 with none; the margin loan apart)."""
        return max((f.tenor_months for f in self.facilities), default=0)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.facilities)

    def with_add_on(self, index: int, add_on: float) -> StructureTerms:
        """The structure with facility ``index``'s coupon moved by ``add_on``."""
        facilities = list(self.facilities)
        facilities[index] = facilities[index].with_add_on(add_on)
        return replace(self, facilities=tuple(facilities))


def with_margin(structure: StructureTerms | None, margin: MarginLoanTerms) -> StructureTerms:
    """One program: ``margin`` first (its ``margin_ladder`` step), then ``structure``'s
    facilities and waterfall (none: the margin loan alone)."""
    ladder = StepTerms("margin_ladder")
    if structure is None:
        return StructureTerms((), (ladder, StepTerms("distribute")), margin=margin)
    return replace(structure, steps=(ladder, *structure.steps), margin=margin)


def default_steps(facilities: tuple[FacilityTerms, ...]) -> tuple[StepTerms, ...]:
    """The usual order when a deal gives none: by seniority, interest before principal of each
    rank, each facility's reserve after its rank's debt service, then distribution.

    A facility paid less often than monthly (``coupon_every_months`` > 1) gets its
    ``payment_account`` step after its rank's principal, before the reserves: indentures sweep
    cash monthly into a debt-service payment account (docs/capital_structures.md, "The payment
    account")."""
    steps: list[StepTerms] = []
    for rank in sorted({f.seniority for f in facilities}):
        members = [i for i, f in enumerate(facilities) if f.seniority == rank]
        steps += [StepTerms("interest", i) for i in members]
        steps += [StepTerms("principal", i) for i in members]
        steps += [
            StepTerms("payment_account", i)
            for i in members
            if facilities[i].coupon_every_months > 1
        ]
        steps += [StepTerms("reserve", i) for i in members if facilities[i].loan.dsra_months > 0]
    steps.append(StepTerms("distribute"))
    return tuple(steps)
