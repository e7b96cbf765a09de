"""The debt ledger: everything the waterfall did on every path and month."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpucredit._typing import BoolArray, Float64Array, Int64Array

__all__ = ["DEFAULT_KINDS", "LEDGER_MONTHLY_FIELDS", "DebtLedger"]

#: Codes of ``DebtLedger.default_kind``.
DEFAULT_KINDS = {
    0: "none",
    1: "payment",
    2: "covenant",
    3: "maturity",
    4: "borrowing_base",
    5: "cross_default",
    6: "margin_liquidation",
}

#: The per-month float fields of ``DebtLedger`` (all but ``alive``, ``breach`` and
#: ``extra_received``).
LEDGER_MONTHLY_FIELDS = (
    "balance",
    "interest_due",
    "interest_paid",
    "principal_paid",
    "prepaid",
    "refinanced",
    "ds_scheduled",
    "dsra_balance",
    "dsra_draw",
    "dsra_topup",
    "lockup_balance",
    "lockup_draw",
    "lockup_in",
    "reserve_release",
    "distribution",
    "unfunded_opex",
    "dscr",
    "trapped",
    "dscr_trailing",
    "ltv",
)


@dataclass(frozen=True, slots=True)
class DebtLedger:
    """Waterfall results of one block; arrays are (path, month) in USD unless stated.

    Flows (per month, alive paths): ``cfads + dsra_draw + lockup_draw + reserve_release +
    refinanced = interest_paid + principal_paid + prepaid + dsra_topup + lockup_in +
    distribution + trapped - unfunded_opex``. ``principal_paid`` includes a refinanced
    balloon; ``reserve_release`` is lock-up cash released once no lock-up is in force and the
    reserves released at repayment (it is paid out within ``distribution``); ``trapped`` is
    the excess cash seized at a covenant event of default; ``unfunded_opex`` is the operating
    deficit nobody paid in a payment-default month.

    Attributes
    ----------
    alive : bool (path, month)
        The loan is outstanding and not in default at the start of the month.
    balance : end-of-month principal outstanding (0 after repayment or default).
    ds_scheduled : interest + regular principal of the month (the DSCR denominator; excludes a
        final balloon beyond the regular instalment).
    dscr : CFADS / ds_scheduled for alive months (+inf where nothing is scheduled); 0 elsewhere.
    dscr_trailing : trailing-window DSCR of the first DSCR covenant (monthly DSCR without one).
    ltv : balance before the month's payment / collateral value (inf where value is 0).
    breach : any covenant breached this month.
    default_month : int (path,) 1-based month of default, 0 when none.
    default_kind : int (path,) code in ``DEFAULT_KINDS``.
    ead : (path,) exposure at default: principal + unpaid interest.
    pledged_cash : (path,) DSRA, lock-up and trapped cash handed to the lender at default.
    waivers : int (path,) covenant waivers granted over the loan's life (``WaiverSpec``); a
        waiver capitalises its fee into ``balance`` and steps up the rate from the next month.
    extra_received : (path, month) or None
        Call premiums and the value of shares received on conversion (structures only).
    dspa_balance, dspa_in, dspa_draw : (path, month) or None
        The facility's debt-service payment account (structures only; zero without a
        ``payment_account`` step): its month-end balance, the month's set-aside and what it
        paid to the facility's interest and principal steps. A balance left at repayment is in
        ``reserve_release``; at default it is in ``pledged_cash``. With an account the flows
        above gain ``dspa_draw`` on the left and ``dspa_in`` on the right.
    parent_support : (path, month) or None
        USD the borrower's parent paid of this facility's shortfall under its guarantee
        (``ParentSpec.recourse``; structures run with a parent guarantee only, else None): an
        inflow beside ``cfads`` in the flows above.
    """

    alive: BoolArray
    balance: Float64Array
    interest_due: Float64Array
    interest_paid: Float64Array
    principal_paid: Float64Array
    prepaid: Float64Array
    refinanced: Float64Array
    ds_scheduled: Float64Array
    dsra_balance: Float64Array
    dsra_draw: Float64Array
    dsra_topup: Float64Array
    lockup_balance: Float64Array
    lockup_draw: Float64Array
    lockup_in: Float64Array
    reserve_release: Float64Array
    distribution: Float64Array
    trapped: Float64Array
    unfunded_opex: Float64Array
    dscr: Float64Array
    dscr_trailing: Float64Array
    ltv: Float64Array
    breach: BoolArray
    default_month: Int64Array
    default_kind: Int64Array
    ead: Float64Array
    pledged_cash: Float64Array
    initial_dsra: Float64Array
    waivers: Int64Array
    extra_received: Float64Array | None = None
    dspa_balance: Float64Array | None = None
    dspa_in: Float64Array | None = None
    dspa_draw: Float64Array | None = None
    parent_support: Float64Array | None = None

    @property
    def lender_cashflow(self) -> Float64Array:
        """What the lender receives each month before any recovery, (path, month): cash, plus
        call premiums and the value of shares taken on conversion (``extra_received``)."""
        paid = self.interest_paid + self.principal_paid + self.prepaid
        return paid if self.extra_received is None else paid + self.extra_received

    @property
    def defaulted(self) -> BoolArray:
        return np.asarray(self.default_month > 0)
