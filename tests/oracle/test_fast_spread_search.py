"""The fast fair-spread search against the full one (the oracle) on the shipped examples.

``credit.spread.solve_spreads(search="fast")`` takes about half the passes of the full search
(``search="full"``, Brent's method on a wide bracket); on the same paths both must give every
facility's fair spread, under P and under Q, within 0.1 bp (issue 12), with a standard error
of the same size wherever the full search has one.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

import gpucredit
from gpucredit.credit.metrics import FacilityMetrics
from tests.conftest import EXAMPLES

#: Issue 12's bound on the fast search's error: 0.1 bp.
TOLERANCE_BPS = 0.1


def _spreads(facilities: Sequence[FacilityMetrics]) -> list[tuple[float | None, ...]]:
    return [(m.fair_spread_bps, m.actuarial_spread_bps, m.fair_spread_se_bps) for m in facilities]


def _assert_close(
    fast: list[tuple[float | None, ...]], full: list[tuple[float | None, ...]]
) -> None:
    assert len(fast) == len(full)
    for got, want in zip(fast, full, strict=True):
        for a, b in zip(got[:2], want[:2], strict=True):  # Q's fair spread, then P's
            assert (a is None) == (b is None)
            if a is not None and b is not None:
                assert a == pytest.approx(b, abs=TOLERANCE_BPS)
        if want[0] is not None and want[0] > TOLERANCE_BPS:  # a spread worth its error
            assert got[2] is not None and want[2] is not None
            # the delta method's slope is a secant through the search's own evaluations (10 bp
            # away preferred), other ones for each search: on a few hundred paths, whose mean
            # PV moves in steps, the two slopes differ by tens of percent, not by twice
            assert 0.5 < got[2] / want[2] < 2.0


@pytest.mark.parametrize(
    ("name", "n_paths"),
    [
        ("merchant_h100", 400),  # a single loan with a fair spread of ~100 bp
        ("b200_ai_lab", 400),  # a single loan under a pricing measure Q != P
        pytest.param("parent_unsecured_notes", 250, marks=pytest.mark.slow),  # 3 facilities
    ],
)
def test_fast_search_matches_the_full_search_on_a_deal(name: str, n_paths: int) -> None:
    deal = gpucredit.load_deal(EXAMPLES / f"{name}.yaml")
    runs = {
        search: gpucredit.simulate(
            deal, n_paths, seed=3, block_size=128, keep_paths=0, n_workers=1, spread_search=search
        )
        for search in ("fast", "full")
    }
    _assert_close(_spreads(runs["fast"].all_facilities), _spreads(runs["full"].all_facilities))


@pytest.mark.slow
def test_fast_search_matches_the_full_search_on_the_miner() -> None:
    spec = gpucredit.load_miner(EXAMPLES / "miner_hosting_pivot.yaml")
    runs = {
        search: gpucredit.simulate_miner(
            spec,
            120,  # the miner's four facilities at 120 paths: a few seconds a search
            seed=3,
            block_size=64,
            n_workers=1,
            premium=False,
            attribution=False,
            spread_search=search,
        )
        for search in ("fast", "full")
    }
    _assert_close(_spreads(runs["fast"].facilities), _spreads(runs["full"].facilities))
