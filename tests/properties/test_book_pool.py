"""The ABS pool a book feeds from its positions' ledgers (``pipeline.book``), on every path.

* The pool's principal collected and principal defaulted never exceed what the pool holds:
  its balance stays at or above zero (1 USD of rounding over months of sums up to 1e8 USD),
  so the pool's flows are the positions' own.
* Over that pool, the ABS classes' losses add up to the pool's loss on every path (issue
  14's "tranche losses add up to the pool loss"; ``book.tranches``' identity: write-offs plus
  interest applied to principal, less principal released to the equity).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from gpucredit.book.tranches import PoolCashFlows, TrancheClass, Waterfall, run_waterfall
from gpucredit.config.book import load_book
from gpucredit.pipeline.book import book_block, build_book

BOOK = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "gpucredit"
    / "examples"
    / "books"
    / "neocloud_contagion_book.yaml"
)
USD = 1.0  # rounding of month-by-month sums of amounts up to 1e8 USD

pytestmark = pytest.mark.slow


def test_the_pool_holds_what_its_positions_hold_and_its_losses_add_up() -> None:
    bm = build_book(load_book(BOOK))
    block = book_block(bm, 2, 0, 512)
    assert block.pool is not None
    interest, principal, defaulted, recoveries = block.pool[:4]
    balance = math.fsum(bm.positions[j].held_usd for j in bm.abs_positions)
    left = balance - np.cumsum(principal + defaulted, axis=1)
    assert np.all(left >= -USD)
    assert np.any(defaulted.sum(axis=1) > 0.0)  # some pooled loans default
    waterfall = Waterfall(
        classes=(
            TrancheClass("A", 0.65 * balance, 0.055),
            TrancheClass("B", 0.2 * balance, 0.08),
        ),
        pool_balance_usd=balance,
    )
    r = run_waterfall(waterfall, PoolCashFlows(interest, principal, defaulted, recoveries))
    # the classes' write-offs, plus the interest that repaid principal, less the principal
    # released to the equity (a recovery above what defaulted: the EAD's unpaid interest),
    # are the pool's loss
    written_off = r.written_off_usd.sum(axis=(1, 2))
    from_interest = r.diverted_usd.sum(axis=1) - r.principal_released_usd.sum(axis=1)
    np.testing.assert_allclose(written_off + from_interest, r.pool_loss_usd, rtol=0.0, atol=USD)
    assert np.any(written_off > USD)  # the identity is tested on paths with losses
