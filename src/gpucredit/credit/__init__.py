"""Default, recovery and credit metrics."""

from gpucredit.credit.metrics import CreditAccumulator, FacilityMetrics, summarise
from gpucredit.credit.outcomes import CreditOutcomes, discount_factors, evaluate
from gpucredit.credit.ratings import implied_rating, rating_default_rate
from gpucredit.credit.recovery import (
    LIQUIDATION_FACTORS,
    DefaultState,
    IncomeApproachRecovery,
    RecoveryModel,
    RecoveryResult,
)
from gpucredit.credit.spread import SpreadSolution, solve_spreads

__all__ = [
    "LIQUIDATION_FACTORS",
    "CreditAccumulator",
    "CreditOutcomes",
    "DefaultState",
    "FacilityMetrics",
    "IncomeApproachRecovery",
    "RecoveryModel",
    "RecoveryResult",
    "SpreadSolution",
    "discount_factors",
    "evaluate",
    "implied_rating",
    "rating_default_rate",
    "solve_spreads",
    "summarise",
]
