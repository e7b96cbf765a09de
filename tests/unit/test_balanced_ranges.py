"""``engine.runner.balanced_ranges``: blocks balanced over the workers cover the paths once, in
order, never above the block size, as many as a multiple of the workers where the blocks
allow it; one worker gets ``block_ranges``'s blocks."""

from __future__ import annotations

import itertools

import pytest

from gpucredit.engine.runner import balanced_ranges, block_ranges
from gpucredit.random import GRANULE_PATHS


def test_ten_thousand_paths_on_two_workers_are_four_blocks_of_whole_granules() -> None:
    # the default run: 4,096 + 4,096 + 1,808 would leave one thread idle half the time
    assert balanced_ranges(10_000, 4096, 2) == [
        (0, 2560),
        (2560, 5120),
        (5120, 7680),
        (7680, 10_000),
    ]


@pytest.mark.parametrize("n_paths", [1, 7, 255, 256, 600, 4096, 4097, 10_000, 30_001])
@pytest.mark.parametrize("block_size", [100, 256, 1000, 4096])
@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_blocks_cover_the_paths_in_order(n_paths: int, block_size: int, workers: int) -> None:
    ranges = balanced_ranges(n_paths, block_size, workers)
    assert ranges[0][0] == 0 and ranges[-1][1] == n_paths
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert all(0 < stop - start <= block_size for start, stop in ranges)
    plain = block_ranges(n_paths, block_size)
    if workers == 1:
        assert ranges == plain
    else:
        # never more rounds of the threads than the plain blocks need
        assert -(-len(ranges) // workers) <= -(-len(plain) // workers)
        sizes = {stop - start for start, stop in ranges[:-1]}
        assert len(sizes) <= 1  # equal blocks but the last
        for size in sizes:  # whole granules wherever they fit in a block
            assert (
                size % GRANULE_PATHS == 0 or -(-size // GRANULE_PATHS) * GRANULE_PATHS > block_size
            )


def test_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="workers = 0"):
        balanced_ranges(100, 10, 0)
