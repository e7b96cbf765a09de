"""Recovery at default, behind one interface so a secondary-market model can replace it.

First version (``IncomeApproachRecovery``): the lender sells the GPUs for their
income-approach value on that path and month (what a buyer could earn renting them over the
rest of their economic life, net of running costs, at the path's prices), times a liquidation
factor for the chosen sale speed, less liquidation costs; it also takes the pledged cash.
Recovery is capped at the exposure. ``StayedRecovery`` wraps any of them for a deal whose
parent's bankruptcy stands between its lenders and the GPUs (a stay before the sale, its
carry and a legal cost).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from gpucredit._typing import Float64Array, Int64Array

__all__ = [
    "LIQUIDATION_FACTORS",
    "DefaultState",
    "IncomeApproachRecovery",
    "RecoveryModel",
    "RecoveryResult",
    "StayedRecovery",
    "stay_inputs",
]

SaleSpeed = Literal["orderly", "broker", "auction", "distressed"]

#: Liquidation factor and sale time (days) by sale speed. SpotWire valuator dataset,
#: methodology v0.6 (CC-BY-4.0, 2026-06), after the American Society of Appraisers' orderly vs
#: forced liquidation value framework (forced ~70-80% of orderly): REFERENCES.md.
LIQUIDATION_FACTORS: dict[str, tuple[float, int]] = {
    "orderly": (1.00, 180),
    "broker": (0.85, 90),
    "auction": (0.65, 30),
    "distressed": (0.45, 7),
}


@dataclass(frozen=True, slots=True)
class DefaultState:
    """What the lender finds on the defaulted paths (one entry per defaulted path).

    Attributes
    ----------
    month : int (n,)
        1-based default month.
    ead_usd : (n,)
        Exposure at default.
    pledged_cash_usd : (n,)
        DSRA, lock-up and trapped cash.
    cohort_value_usd : (n, cohort)
        Income-approach value of each cohort in the default month.
    """

    month: Int64Array
    ead_usd: Float64Array
    pledged_cash_usd: Float64Array
    cohort_value_usd: Float64Array


@dataclass(frozen=True, slots=True)
class RecoveryResult:
    """Recovery of each defaulted path: proceeds (capped at EAD) and when they arrive.

    ``lag_months`` is the single delay at which the proceeds carry their present value;
    ``time_to_recover_months`` the time from default to the last sale.
    """

    proceeds_usd: Float64Array
    lag_months: Float64Array
    gross_sale_usd: Float64Array
    time_to_recover_months: Float64Array


class RecoveryModel(Protocol):
    def recover(self, state: DefaultState) -> RecoveryResult: ...


@dataclass(frozen=True, slots=True)
class IncomeApproachRecovery:
    """Income-approach value x liquidation factor x (1 - liquidation cost) + pledged cash."""

    sale_speed: SaleSpeed = "broker"
    liquidation_cost_share: float = 0.05

    def recover(self, state: DefaultState) -> RecoveryResult:
        factor, days = LIQUIDATION_FACTORS[self.sale_speed]
        gross = state.cohort_value_usd.sum(axis=1) * factor
        net = gross * (1.0 - self.liquidation_cost_share) + state.pledged_cash_usd
        proceeds = np.minimum(net, state.ead_usd)
        lag = np.full(state.month.shape, days / 30.4375)
        return RecoveryResult(
            proceeds_usd=proceeds, lag_months=lag, gross_sale_usd=gross, time_to_recover_months=lag
        )


@dataclass(frozen=True, slots=True)
class StayedRecovery:
    """Recovery through the parent's bankruptcy: a stay before the sale and its cost
    (implements ``RecoveryModel`` for one block's defaulted paths; docs/capital_structures.md,
    "Operator bankruptcy: termination, stay and cost").

    On a row whose default month ``t`` is in or after the parent's default month ``tau_p``
    the lenders' sale starts ``k = stay_months`` months late: ``inner`` sells the cohorts at
    their value in month ``min(t + k, H)`` (``later_value_usd``) as a default in that month,
    the fleet's operating deficits over months ``t + 1 .. t + k`` (``stay_cash_usd`` <= 0: the
    negative CFADS, power and colocation owed without revenue; a surplus stays with the
    bankrupt servicer that collects the rents) are charged to it, and the legal cost takes
    ``c`` of the total:

        sale_stayed = max((sale_later + stay_cash) (1 - c), 0)
        proceeds    = min(pledged + sale_stayed, EAD),    lag = lag_later + k

    with ``sale_later = proceeds_later - pledged`` the sale's part of ``inner``'s proceeds on
    the later state (its EAD unbounded). The pledged cash (reserves, assigned contracts) is not
    charged. Every other row is ``inner``'s result on the state as given, to the bit.

    Attributes
    ----------
    inner : RecoveryModel
        The deal's recovery without a stay (the co-sale included).
    stay_months : int
        ``k``, months.
    cost_share : float
        ``c``, decimal share of the stayed recovery.
    parent_default_month : ndarray of int, shape (n,)
        The parent's default month on each defaulted path (1-based; beyond the horizon: none).
    later_month : ndarray of int, shape (n,)
        ``min(t + k, H)`` on each defaulted path.
    later_value_usd : ndarray, shape (n, cohort)
        Each cohort's value in ``later_month``, USD.
    stay_cash_usd : ndarray, shape (n,)
        The fleet's negative CFADS summed over the stay's months inside the horizon, USD (<= 0).
    horizon_months : int
        ``H``.
    """

    inner: RecoveryModel
    stay_months: int
    cost_share: float
    parent_default_month: Int64Array
    later_month: Int64Array
    later_value_usd: Float64Array
    stay_cash_usd: Float64Array
    horizon_months: int

    def stayed(self, state: DefaultState) -> Int64Array:
        """The rows recovered through the parent's bankruptcy: ``tau_p <= t``, ``tau_p <= H``."""
        month = np.asarray(state.month, dtype=np.int64)
        t_p = self.parent_default_month
        return np.flatnonzero((t_p <= month) & (t_p <= self.horizon_months))

    def recover(self, state: DefaultState) -> RecoveryResult:
        rows = self.stayed(state)
        if rows.size == 0:
            return self.inner.recover(state)
        month = np.array(state.month, dtype=np.int64, copy=True)
        value = np.array(state.cohort_value_usd, dtype=np.float64, copy=True)
        month[rows] = self.later_month[rows]
        value[rows] = self.later_value_usd[rows]
        ead = np.asarray(state.ead_usd, dtype=np.float64)
        later = dataclasses.replace(
            state, month=month, cohort_value_usd=value, ead_usd=np.full(ead.shape, np.inf)
        )
        base = self.inner.recover(state)
        late = self.inner.recover(later)
        pledged = np.asarray(state.pledged_cash_usd, dtype=np.float64)[rows]
        sale = np.asarray(late.proceeds_usd, dtype=np.float64)[rows] - pledged
        kept = np.maximum((sale + self.stay_cash_usd[rows]) * (1.0 - self.cost_share), 0.0)
        fields = {
            "proceeds_usd": np.minimum(pledged + kept, ead[rows]),
            "lag_months": np.asarray(late.lag_months)[rows] + self.stay_months,
            "gross_sale_usd": np.asarray(late.gross_sale_usd)[rows],
            "time_to_recover_months": np.asarray(late.time_to_recover_months)[rows]
            + self.stay_months,
        }
        merged: dict[str, Float64Array] = {}
        for name, stayed in fields.items():
            out = np.array(getattr(base, name), dtype=np.float64, copy=True)
            out[rows] = stayed
            merged[name] = out
        return RecoveryResult(**merged)


def stay_inputs(
    default_month: Int64Array, cfads_usd: Float64Array, cohort_value_usd: Float64Array, k: int
) -> tuple[Int64Array, Float64Array, Float64Array]:
    """``StayedRecovery``'s per-row inputs for defaults in ``default_month`` (1-based, shape
    (n,)) on rows of ``cfads_usd`` (n, month) and ``cohort_value_usd`` (n, month, cohort), USD.

    Returns ``later_month = min(t + k, H)``, the cohorts' values in it (n, cohort), and the
    operating deficits of months ``t + 1 .. min(t + k, H)``, ``sum min(CFADS, 0)`` (n,), USD.
    """
    t = np.asarray(default_month, dtype=np.int64)
    horizon = cfads_usd.shape[1]
    later = np.minimum(t + k, horizon)
    months = np.arange(1, horizon + 1, dtype=np.int64)[None, :]
    during = (months > t[:, None]) & (months <= (t + k)[:, None])
    # deficits are charged to the collateral; surpluses stay with the bankrupt servicer that
    # collects the rents (commingling), so the lenders' carry is never a gain
    deficits = np.where(during, np.minimum(cfads_usd, 0.0), 0.0).sum(axis=1)
    rows = np.arange(t.size)
    return later, np.ascontiguousarray(cohort_value_usd[rows, later - 1, :]), deficits
