"""Properties of a book's contagion channels (``pipeline.book``), on the same paths.

* Without links between the deals (no borrower named by another deal) transmission changes
  nothing, and with both channels off the book's EL is the sum of the deals' standalone ELs
  (``gpucredit.simulate`` on their own streams): equal within Monte Carlo error, since the
  book draws each company once on its own streams (k = 4 combined standard errors).
* Transmission changes a position's loss only on paths where a borrower that another deal
  names defaulted, and it does on some.
* Fire sales lower recoveries: with more sellers in the same market every sale schedule
  fetches less, so a lender's best response recovers at most what it did alone; and the
  marked-down appraisals can only break more LTV tests. On the example book each position's
  loss with fire sales is at least its loss without, on every path (not a theorem: a lock-up
  that a lower mark triggers traps cash the lender takes at a later default).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from gpucredit.config.book import Book, load_book
from gpucredit.pipeline.book import book_block, build_book, simulate_book
from gpucredit.pipeline.deal import simulate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "src" / "gpucredit" / "examples"
EXAMPLE_BOOK = EXAMPLES / "books" / "neocloud_contagion_book.yaml"
K = 4.0

pytestmark = pytest.mark.slow


def _switched(book: Book, **switches: bool) -> Book:
    return dataclasses.replace(book, spec=book.spec.model_copy(update=switches))


def _unlinked(tmp_path: Path) -> Book:
    """Two deals of one horizon (36 months) that name no borrower of each other."""
    (tmp_path / "book.yaml").write_text(
        f"book: unlinked\npositions:\n  - deal: {EXAMPLES / 'merchant_h100.yaml'}\n"
        f"  - deal: {EXAMPLES / 'b200_ai_lab.yaml'}\n",
        encoding="utf-8",
    )
    return load_book(tmp_path / "book.yaml")


def test_unlinked_book_el_is_the_sum_of_standalone_els(tmp_path: Path) -> None:
    book = _unlinked(tmp_path)
    paths = 4_000
    off = simulate_book(build_book(_switched(book, transmission=False, fire_sale=False)), paths)
    on = simulate_book(build_book(_switched(book, fire_sale=False)), paths)
    assert np.array_equal(on.path_losses_usd, off.path_losses_usd)  # nothing to transmit
    assert on.premium.el_usd == 0.0
    alone = [simulate(d, paths, seed=1, solve_fair_spread=False) for d in book.deals]
    el = math.fsum(r.metrics.expected_loss_usd for r in alone)
    se = math.hypot(*(r.metrics.el_se_usd for r in alone), off.summary.el_se_usd)
    assert se > 0.0
    assert abs(off.summary.el_usd - el) <= K * se


def _linked(tmp_path: Path, **switches: bool) -> Book:
    """A second neo-cloud ("Lambda", the B200 SPV's borrower) is the tenant of another SPV's
    H100s: its loan's default is Lambda's default there (10% a year, to see it often)."""
    (tmp_path / "linked.yaml").write_text(
        "book: linked\n"
        "aliases:\n"
        "  'Example B200 Compute SPV': Lambda\n"
        "  'Hyperscaler A (A-rated)': Lambda\n"
        "companies: {Lambda: {annual_pd_pct: 10}}\n"
        "fire_sale: false\n"
        f"positions:\n  - deal: {EXAMPLES / 'b200_ai_lab.yaml'}\n"
        f"  - deal: {EXAMPLES / 'ddtl_ig_contracted.yaml'}\n",
        encoding="utf-8",
    )
    return _switched(load_book(tmp_path / "linked.yaml"), **switches)


def test_transmission_moves_losses_only_where_a_named_borrower_defaulted(tmp_path: Path) -> None:
    bm = build_book(_linked(tmp_path))
    assert bm.borrower[0] == bm.companies.index("Lambda")
    block = book_block(bm, 3, 0, 1_024)
    changed = np.any(block.losses != block.losses_alone, axis=1)
    lambda_loan = block.default_month[:, 0] > 0
    assert changed.any()
    assert not np.any(changed & ~lambda_loan)
    assert np.array_equal(block.losses[:, 0], block.losses_alone[:, 0])  # upstream unchanged


def test_a_borrower_defaults_no_later_than_its_company(tmp_path: Path) -> None:
    """Lambda is drawn as a company (another deal names it): its own loan, outstanding for 36
    months, defaults no later than Lambda's default time in the book."""
    bm = build_book(_linked(tmp_path, transmission=False))
    block = book_block(bm, 11, 0, 1_024)
    company = block.company_month[:, bm.graph.companies.index("Lambda")] + 1  # 1-based
    loan = block.default_month[:, 0]
    inside = (company >= 1) & (company <= 35)
    assert inside.sum() > 50
    assert np.all((loan[inside] > 0) & (loan[inside] <= company[inside]))


def test_fire_sales_never_lower_a_loss() -> None:
    book = load_book(EXAMPLE_BOOK)
    on = book_block(build_book(book), 5, 0, 512)
    off = book_block(build_book(_switched(book, fire_sale=False)), 5, 0, 512)
    assert on.rounds > 0
    # rounding of the sale's arithmetic only (USD; the losses are up to ~1e9)
    assert np.all(on.losses >= off.losses - 1e-3)
    assert np.any(on.losses > off.losses + 1.0)
