"""Per-path credit outcomes: default, loss and the lender's discounted cash flows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gpucredit._typing import BoolArray, Float64Array, Int64Array
from gpucredit.credit.liquidation import MarketDefaultState
from gpucredit.credit.recovery import RecoveryModel
from gpucredit.debt.ledger import DebtLedger

__all__ = ["CreditOutcomes", "discount_factors", "evaluate"]


@dataclass(frozen=True, slots=True)
class CreditOutcomes:
    """One block's outcomes, one entry per path.

    Attributes
    ----------
    default_month : int (path,) 1-based, 0 when the loan does not default.
    ead_usd, recovery_usd, loss_usd : (path,) zero on surviving paths.
    lgd : (path,) loss / EAD on defaulted paths, 0 elsewhere.
    pv_per_par : (path,) lender cash flows (including recovery) discounted on the path's
        SOFR, per unit of principal.
    min_dscr : (path,) minimum monthly DSCR over the months the loan was alive.
    breached : bool (path,) any covenant breach.
    time_to_recover_months : (path,) months from default to the last sale (0 elsewhere).
    appraised_value_usd : (path,) income-approach value of the collateral at default (0
        elsewhere): the denominator of the appraised LTV at default.
    real_estate_usd : (path,) or None
        The part of ``recovery_usd`` paid by pledged real estate (structures only).
    """

    default_month: Int64Array
    ead_usd: Float64Array
    recovery_usd: Float64Array
    loss_usd: Float64Array
    lgd: Float64Array
    pv_per_par: Float64Array
    min_dscr: Float64Array
    breached: BoolArray
    time_to_recover_months: Float64Array
    appraised_value_usd: Float64Array
    real_estate_usd: Float64Array | None = None

    @property
    def defaulted(self) -> BoolArray:
        return np.asarray(self.default_month > 0)


def discount_factors(sofr: Float64Array) -> Float64Array:
    """Risk-free discount factor to each month's end on each path, (path, month).

    ``DF_t = prod_{k<=t} 1 / (1 + SOFR_k / 12)``: rolling one-month deposits at the path's
    SOFR, so a SOFR-flat floating loan is worth par on every path.
    """
    return np.asarray(np.exp(-np.cumsum(np.log1p(sofr / 12.0), axis=1)), dtype=np.float64)


#: ``extra(idx, month, cohort_value, monthly_rate) -> USD``: more value the lender takes on the
#: defaulted paths ``idx`` (e.g. contracts assigned with the GPUs), shape (n,).
ExtraCollateral = Callable[[Int64Array, Int64Array, Float64Array, Float64Array], Float64Array]


def evaluate(
    ledger: DebtLedger,
    cohort_value_usd: Float64Array,
    recovery: RecoveryModel,
    sofr: Float64Array,
    principal_usd: float,
    *,
    extra_collateral: ExtraCollateral | None = None,
) -> CreditOutcomes:
    """Default, recovery, loss and discounted lender cash flows of every path in a block.

    ``cohort_value_usd`` is the income-approach value of each cohort, (path, month, cohort).
    The recovery model sees the defaulted paths with the lender's monthly rate (the path's SOFR
    in the default month / 12, the rate the recovery lag is discounted at below).
    """
    defaulted = ledger.default_month > 0
    idx = np.flatnonzero(defaulted)
    month = ledger.default_month[idx]
    values = cohort_value_usd[idx, month - 1, :]
    rate = sofr[idx, month - 1] / 12.0
    pledged = ledger.pledged_cash[idx]
    if extra_collateral is not None and idx.size:
        pledged = pledged + extra_collateral(idx, month, values, rate)
    state = MarketDefaultState(
        month=month,
        ead_usd=ledger.ead[idx],
        pledged_cash_usd=pledged,
        cohort_value_usd=values,
        monthly_discount=rate,
    )
    rec = recovery.recover(state)
    n_paths = ledger.default_month.shape[0]
    recovery_usd = np.zeros(n_paths)
    recovery_usd[idx] = rec.proceeds_usd
    ead = np.where(defaulted, ledger.ead, 0.0)
    loss = ead - recovery_usd
    with np.errstate(divide="ignore", invalid="ignore"):
        lgd = np.where(defaulted & (ead > 0), loss / np.where(ead > 0, ead, 1.0), 0.0)

    df = discount_factors(sofr)
    pv = (ledger.lender_cashflow * df).sum(axis=1)
    # Recovery arrives lag months after default, discounted at that month's SOFR.
    df_default = df[idx, month - 1]
    r_default = sofr[idx, month - 1]
    pv_rec = rec.proceeds_usd * df_default * (1.0 + r_default / 12.0) ** (-rec.lag_months)
    pv[idx] += pv_rec
    time_to_recover = np.zeros(n_paths)
    time_to_recover[idx] = rec.time_to_recover_months
    appraised = np.zeros(n_paths)
    appraised[idx] = values.sum(axis=1)

    dscr = np.where(ledger.alive, ledger.dscr, np.inf)
    min_dscr = dscr.min(axis=1)
    return CreditOutcomes(
        default_month=ledger.default_month.astype(np.int64),
        ead_usd=ead,
        recovery_usd=recovery_usd,
        loss_usd=loss,
        lgd=lgd,
        pv_per_par=pv / principal_usd,
        min_dscr=min_dscr,
        breached=np.asarray(ledger.breach.any(axis=1), dtype=np.bool_),
        time_to_recover_months=time_to_recover,
        appraised_value_usd=appraised,
    )
