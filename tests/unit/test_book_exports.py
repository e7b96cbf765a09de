"""The book package exports exactly its intended public names."""

from __future__ import annotations

import gpucredit.book

INTENDED = {
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
}


def test_exported_names() -> None:
    assert set(gpucredit.book.__all__) == INTENDED
    for name in gpucredit.book.__all__:
        assert getattr(gpucredit.book, name) is not None
