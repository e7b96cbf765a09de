"""Recovery at default, behind one interface so a secondary-market model can replace it.

First version (``IncomeApproachRecovery``): the lender sells the GPUs for their
income-approach value on that path and month (what a buyer could earn renting them over the
rest of their economic life, net of running costs, at the path's prices), times a liquidation
factor for the chosen sale speed, less liquidation costs; it also takes the pledged cash.
Recovery is capped at the exposure.
"""

from __future__ import annotations

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
