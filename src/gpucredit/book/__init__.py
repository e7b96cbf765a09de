"""A book of loans: its loss distribution, risk contributions, concentration and tranches.

The analytic oracle (``vasicek``), the portfolio statistics of a loss matrix (``losses``) and
a GPU ABS waterfall over a pool's cash flows (``tranches``); ``docs/book.md``.
"""

from gpucredit.book.losses import (
    Concentration,
    LossSummary,
    TailFigure,
    concentration,
    one_year_losses,
    summarise_losses,
)
from gpucredit.book.tranches import (
    PoolCashFlows,
    TrancheClass,
    TrancheMetrics,
    Waterfall,
    WaterfallResult,
    evaluate_tranches,
    run_waterfall,
)
from gpucredit.book.vasicek import (
    conditional_pd,
    lhp_expected_loss,
    lhp_loss_cdf,
    lhp_loss_quantile,
)

__all__ = [
    "Concentration",
    "LossSummary",
    "PoolCashFlows",
    "TailFigure",
    "TrancheClass",
    "TrancheMetrics",
    "Waterfall",
    "WaterfallResult",
    "concentration",
    "conditional_pd",
    "evaluate_tranches",
    "lhp_expected_loss",
    "lhp_loss_cdf",
    "lhp_loss_quantile",
    "one_year_losses",
    "run_waterfall",
    "summarise_losses",
]
