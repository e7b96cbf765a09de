"""Chunked Monte Carlo runner: fixed-size blocks of paths, run on a pool of threads.

The block function is pure and does its own reduction, so only small partial statistics come
back; results are yielded in block order, and at most ``2 x workers`` blocks are in flight,
so memory is bounded by the block size. The compiled kernels release the GIL, so threads use
every core.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["CACHE_LIMIT_PATH_MONTHS", "block_ranges", "default_workers", "run_blocks"]

T = TypeVar("T")

#: Path-months up to which a run keeps what its later passes over the same paths (fair spreads,
#: a miner's premium) need in memory: ~32 bytes a path-month for a one-cohort deal (at most
#: ~256 MB), ~220 for a miner. Above it the blocks are simulated again, which gives the same
#: numbers, so memory stays set by the block size and not by the number of paths.
CACHE_LIMIT_PATH_MONTHS = 8_000_000


def block_ranges(n_paths: int, block_size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of each block."""
    if n_paths < 1:
        raise ValueError(f"n_paths = {n_paths}: expected at least 1")
    if block_size < 1:
        raise ValueError(f"block_size = {block_size}: expected at least 1")
    return [(s, min(s + block_size, n_paths)) for s in range(0, n_paths, block_size)]


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def run_blocks(
    fn: Callable[[int, int], T],
    ranges: list[tuple[int, int]],
    *,
    n_workers: int = 1,
    on_block: Callable[[int], None] | None = None,
) -> Iterator[T]:
    """Yield ``fn(start, stop)`` for each range, in order."""
    if n_workers <= 1 or len(ranges) == 1:
        for start, stop in ranges:
            out = fn(start, stop)
            if on_block is not None:
                on_block(stop - start)
            yield out
        return
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        pending: deque[tuple[int, Future[T]]] = deque()
        todo = iter(ranges)
        for start, stop in todo:
            pending.append((stop - start, pool.submit(fn, start, stop)))
            if len(pending) >= 2 * n_workers:
                break
        while pending:
            size, future = pending.popleft()
            out = future.result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append((nxt[1] - nxt[0], pool.submit(fn, *nxt)))
            if on_block is not None:
                on_block(size)
            yield out
