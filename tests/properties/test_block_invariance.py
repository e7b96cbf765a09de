"""Issue 12, item 5: a run's numbers are bit-identical whatever its block size and worker
count, for a single loan, a capital structure and a miner, on the whole result (PD, EL, LGD,
fair spreads P and Q, their standard errors, the deal-level and duration figures).

Blocks smaller than the 256-path random granule (64, 100), one block of the whole run and a
size between, on one and two workers. Few paths: equality, not precision, is the point.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

import gpucredit
from gpucredit import MinerResult, SimulationResult
from tests.conftest import EXAMPLES, spec_path

#: (block size, workers) of the runs that must agree: blocks cut granules, whole-run blocks.
SPLITS = ((64, 2), (300, 1), (4096, 2))


def _plain(value: Any) -> Any:
    """Dataclasses, mappings, sequences and arrays as plain nested lists and dicts, for ``==``;
    NaN (a fan's month with no path in it) as the string "nan", equal to itself."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


def _deal_record(r: SimulationResult) -> Any:
    return _plain([r.all_facilities, r.structure, r.duration, r.collateral])


def _miner_record(r: MinerResult) -> Any:
    return _plain([r.facilities, r.borrower_pd, r.borrower_el_usd, r.duration])


def _deal_records(stem: str, n_paths: int, splits: tuple[tuple[int, int], ...]) -> list[Any]:
    deal = gpucredit.load_deal(spec_path(stem))
    return [
        _deal_record(
            gpucredit.simulate(
                deal, n_paths=n_paths, seed=11, block_size=block, n_workers=workers, keep_paths=0
            )
        )
        for block, workers in splits
    ]


def _check(records: list[Any]) -> None:
    facilities = records[0][0]
    assert any(m["pd"] > 0.0 for m in facilities), "a deal with defaults proves more"
    assert all(m["fair_spread_se_bps"] is not None for m in facilities)
    for other in records[1:]:
        assert other == records[0]


@pytest.mark.slow
def test_a_single_loan_is_bit_identical_for_any_block_size_and_workers() -> None:
    _check(_deal_records("b200_ai_lab", 600, SPLITS))


@pytest.mark.slow
def test_a_capital_structure_is_bit_identical_for_any_block_size_and_workers() -> None:
    # the spread searches cost seconds per block: two splits, 130 paths (blocks of 64 cut
    # the first 256-path granule; one block of the whole run on one worker)
    _check(_deal_records("parent_unsecured_notes", 130, ((64, 2), (4096, 1))))


@pytest.mark.slow
def test_a_growing_borrower_is_bit_identical_for_any_block_size_and_workers() -> None:
    # the plan's market-rate contracts read each path's rent: the split must not move them
    _check(_deal_records("coreweave/growing_parent", 130, ((64, 2), (4096, 1))))


@pytest.mark.slow
def test_a_miner_is_bit_identical_for_any_block_size_and_workers() -> None:
    miner = gpucredit.load_miner(EXAMPLES / "miner_hosting_pivot.yaml")
    records = [
        _miner_record(
            gpucredit.simulate_miner(
                miner,
                n_paths=130,
                seed=11,
                block_size=block,
                n_workers=workers,
                premium=False,
                attribution=False,
            )
        )
        for block, workers in ((64, 2), (4096, 1))  # four spread searches a run: two splits
    ]
    assert records[0][1] > 0.0  # the borrower defaults on some paths
    for other in records[1:]:
        assert other == records[0]
