"""A book of loans: its loss distribution, risk contributions, concentration and tranches.

The analytic oracle (``vasicek``), the portfolio statistics of a loss matrix (``losses``), a
GPU ABS waterfall over a pool's cash flows (``tranches``), the company graph of a book's
deals (``graph``) and the fire-sale fixed point of shared GPU markets (``fire_sale``);
``docs/book.md``.
"""

from gpucredit.book.fire_sale import FireSaleResult, fire_sale_fixed_point
from gpucredit.book.graph import Chain, CompanyGraph, Link, company_graph, transmission_chains
from gpucredit.book.losses import (
    Concentration,
    ContagionPremium,
    LossAccumulator,
    LossSummary,
    TailFigure,
    concentration,
    contagion_premium,
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
    lhp_expected_shortfall,
    lhp_loss_cdf,
    lhp_loss_quantile,
)

__all__ = [
    "Chain",
    "CompanyGraph",
    "Concentration",
    "ContagionPremium",
    "FireSaleResult",
    "Link",
    "LossAccumulator",
    "LossSummary",
    "PoolCashFlows",
    "TailFigure",
    "TrancheClass",
    "TrancheMetrics",
    "Waterfall",
    "WaterfallResult",
    "company_graph",
    "concentration",
    "conditional_pd",
    "contagion_premium",
    "evaluate_tranches",
    "fire_sale_fixed_point",
    "lhp_expected_loss",
    "lhp_expected_shortfall",
    "lhp_loss_cdf",
    "lhp_loss_quantile",
    "one_year_losses",
    "run_waterfall",
    "summarise_losses",
    "transmission_chains",
]
