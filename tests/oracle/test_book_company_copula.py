"""Oracle: a book's companies default on the Vasicek one-factor law, through the engine.

A deal with 60 tenants of the same annual PD (5%), with the stress multiplier at 1 (no regime
effect on the hazard) and asset correlation 30%, is held in a book; the book draws each
company's default month once (``pipeline.book``: one uniform per company and the shared copula
factor). Over the book's horizon ``T`` a company defaults with ``PD_T = 1 - (1 - PD)^(T/12)``,
and given the factor ``Z`` independently with ``p(Z) = Phi((Phi^-1(PD_T) - sqrt(rho) Z) /
sqrt(1 - rho))``; so the number of defaults ``K`` of the 60 follows the mixed binomial law
``P(K <= k) = int BinomCDF(k; 60, p(z)) phi(z) dz`` (the finite pool behind Vasicek's large
pool), computed here by Gauss-Hermite quadrature.

k = 4 standard errors of a proportion at each checked point: a fixed seed, and a tolerance a
correct engine fails with probability ~6e-5 on a fresh seed, while a wrong correlation (0.15
instead of 0.30) moves the 99.9% point by over 10 standard errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binom, norm

from gpucredit.config.book import load_book
from gpucredit.pipeline.book import book_block, build_book

PD, RHO, NAMES, PATHS = 0.05, 0.30, 60, 10_000
K = 4.0

pytestmark = pytest.mark.slow


def _deal_yaml() -> str:
    contracts = "\n".join(
        f"  - {{tenant: T{i:02d}, annual_pd_pct: {PD * 100}, cohort: b200, units: 100, "
        "rate_usd_per_gpu_hour: 3.6, start: 2026-04-01, end: 2029-07-31, take_or_pay: true}"
        for i in range(NAMES)
    )
    return f"""
name: sixty-tenants
as_of: 2026-07-31
borrower: {{name: Sixty-tenant SPV}}
fleet:
  - {{name: b200, generation: B200, units: {100 * NAMES}, purchase_date: 2026-03-31,
     unit_cost_usd: 42000, economic_life_years: 7, book_useful_life_years: 6}}
contracts:
{contracts}
opex: {{power_price_usd_per_mwh: 75, pue: 1.2, colocation_usd_per_kw_month: 160}}
loan:
  name: term-loan
  principal_usd: 100000000
  rate: {{kind: floating, margin_bps: 450}}
  tenor_months: 36
  amortisation: {{kind: level_payment}}
default_model: {{stress_hazard_multiplier: 1.0, asset_correlation: {RHO}}}
"""


def _mixed_binomial_cdf(k: int, pd_t: float) -> float:
    z, w = np.polynomial.hermite_e.hermegauss(200)
    p = norm.cdf((norm.ppf(pd_t) - np.sqrt(RHO) * z) / np.sqrt(1.0 - RHO))
    return float(np.sum(w * binom.cdf(k, NAMES, p)) / np.sqrt(2.0 * np.pi))


def test_company_defaults_follow_the_one_factor_law(tmp_path: Path) -> None:
    (tmp_path / "deal.yaml").write_text(_deal_yaml(), encoding="utf-8")
    (tmp_path / "book.yaml").write_text(
        "book: sixty\nfire_sale: false\npositions:\n  - deal: deal.yaml\n", encoding="utf-8"
    )
    bm = build_book(load_book(tmp_path / "book.yaml"))
    assert len(bm.companies) == NAMES
    block = book_block(bm, 7, 0, PATHS)
    cols = [bm.graph.companies.index(c) for c in bm.companies]
    months = block.company_month[:, cols]
    count = ((months >= 0) & (months < bm.n_months)).sum(axis=1)
    pd_t = 1.0 - (1.0 - PD) ** (bm.n_months / 12.0)
    # the mean default rate
    se_mean = count.std(ddof=1) / np.sqrt(PATHS) / NAMES
    assert abs(count.mean() / NAMES - pd_t) <= K * se_mean
    # the distribution's body and tail: the exact CDF at its 50%, 99% and 99.9% points
    for level in (0.5, 0.99, 0.999):
        k = next(k for k in range(NAMES + 1) if _mixed_binomial_cdf(k, pd_t) >= level)
        exact = _mixed_binomial_cdf(k, pd_t)
        empirical = float(np.mean(count <= k))
        se = np.sqrt(exact * (1.0 - exact) / PATHS)
        assert abs(empirical - exact) <= K * se, (level, k, empirical, exact)
