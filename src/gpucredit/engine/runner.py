"""Chunked Monte Carlo runner: fixed-size blocks of paths, run on a pool of threads.

The block function is pure and does its own reduction, so only small partial statistics come
back; results are yielded in block order, and at most ``2 x workers`` blocks are in flight,
so memory is bounded by the block size. The compiled kernels release the GIL, so threads use
every core.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, NamedTuple, Protocol, TypeVar

from gpucredit.random import GRANULE_PATHS

__all__ = [
    "CACHE_LIMIT_PATH_MONTHS",
    "BlockStat",
    "ThreadExecutor",
    "balanced_ranges",
    "block_ranges",
    "default_workers",
    "run_blocks",
]

T = TypeVar("T")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

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
    """Yield ``fn(start, stop)`` for each range, in order (``ThreadExecutor.map_blocks``)."""
    return ThreadExecutor(max(1, n_workers)).map_blocks(fn, ranges, on_block)


class BlockStat(NamedTuple):
    """What one block cost, measured where it ran.

    Attributes
    ----------
    start, stop : int
        The block's paths, ``[start, stop)``.
    seconds : float
        Wall time of ``fn(start, stop)`` on the worker, s.
    peak_rss_bytes : int
        The worker process's peak resident set size when the block ended, bytes (the whole
        process's high-water mark since it started, not the block's own use).
    worker : str
        Where it ran: a Dask worker's address, or ``"local"`` for this process's threads.
    """

    start: int
    stop: int
    seconds: float
    peak_rss_bytes: int
    worker: str


def peak_rss_bytes() -> int:
    """This process's peak resident set size, bytes (0 where the OS does not say)."""
    if sys.platform == "win32":
        return 0
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux and the BSDs, in bytes on macOS (getrusage(2))
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def local_worker() -> str:
    """The worker name of blocks run in this process."""
    return "local"


@dataclass(frozen=True, slots=True)
class Measured(Generic[T]):
    """``fn`` with its cost: calling it returns ``(fn(start, stop), seconds, peak RSS bytes,
    worker)``, measured where it runs; ``where`` names the worker (a picklable function, so
    that a Dask worker can call it)."""

    fn: Callable[[int, int], T]
    where: Callable[[], str] = local_worker

    def __call__(self, start: int, stop: int) -> tuple[T, float, int, str]:
        began = time.perf_counter()
        out = self.fn(start, stop)
        return out, time.perf_counter() - began, peak_rss_bytes(), self.where()


class Pending(Protocol[R_co]):
    """A submitted block: a ``concurrent.futures.Future`` or a ``distributed.Future``."""

    def result(self) -> R_co: ...

    def cancel(self) -> object: ...


def in_order(
    submit: Callable[[int, int], Pending[R]],
    ranges: Sequence[tuple[int, int]],
    window: int,
    on_block: Callable[[int], None] | None = None,
) -> Iterator[R]:
    """Yield each range's result in range order, with at most ``window`` blocks submitted and
    not yet yielded; ``on_block(stop - start)`` before each yield. Blocks not yet yielded are
    cancelled when the caller stops early or a block raises (its exception goes on as is)."""
    pending: deque[tuple[int, Pending[R]]] = deque()
    todo = iter(ranges)
    try:
        for start, stop in todo:
            pending.append((stop - start, submit(start, stop)))
            if len(pending) >= window:
                break
        while pending:
            size, future = pending.popleft()
            out = future.result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append((nxt[1] - nxt[0], submit(*nxt)))
            if on_block is not None:
                on_block(size)
            yield out
    finally:
        for _, future in pending:
            future.cancel()


def recorded(
    results: Iterator[tuple[T, float, int, str]],
    ranges: Sequence[tuple[int, int]],
    stats: list[BlockStat],
) -> Iterator[T]:
    """The values of ``Measured`` results, each block's cost appended to ``stats``."""
    for (start, stop), (out, seconds, rss, worker) in zip(ranges, results, strict=False):
        stats.append(BlockStat(start, stop, seconds, rss, worker))
        yield out


class ThreadExecutor:
    """Blocks on this process's threads (the compiled kernels release the GIL).

    Parameters
    ----------
    n_workers : int
        Threads; 1 runs each block in the caller's thread, one after the other.
    record_stats : bool
        Append each block's ``BlockStat`` to ``stats`` (wall seconds, peak RSS).
    """

    def __init__(self, n_workers: int = 1, *, record_stats: bool = False) -> None:
        if n_workers < 1:
            raise ValueError(f"n_workers = {n_workers}: expected at least 1")
        self.n_workers = n_workers
        self.record_stats = record_stats
        self.stats: list[BlockStat] = []

    def map_blocks(
        self,
        fn: Callable[[int, int], T],
        ranges: Sequence[tuple[int, int]],
        on_block: Callable[[int], None] | None = None,
    ) -> Iterator[T]:
        """Yield ``fn(start, stop)`` for each range, in range order, with at most
        ``2 x n_workers`` blocks in flight; ``on_block(stop - start)`` as each is yielded."""
        if self.record_stats:
            return recorded(self._run(Measured(fn), ranges, on_block), ranges, self.stats)
        return self._run(fn, ranges, on_block)

    def _run(
        self,
        fn: Callable[[int, int], R],
        ranges: Sequence[tuple[int, int]],
        on_block: Callable[[int], None] | None,
    ) -> Iterator[R]:
        if self.n_workers <= 1 or len(ranges) == 1:
            for start, stop in ranges:
                out = fn(start, stop)
                if on_block is not None:
                    on_block(stop - start)
                yield out
            return
        with ThreadPoolExecutor(max_workers=self.n_workers) as pool:
            yield from in_order(
                lambda start, stop: pool.submit(fn, start, stop),
                ranges,
                2 * self.n_workers,
                on_block,
            )


def balanced_ranges(n_paths: int, block_size: int, workers: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of blocks of at most ``block_size`` paths, as many as a multiple of
    ``workers`` and of about equal size, so that no thread waits on a last short round.

    ``block_ranges(n_paths, block_size)`` cuts 10,000 paths into 4,096 + 4,096 + 1,808: two
    threads then run two rounds of 4,096 paths (8,192 path-slots for 10,000 paths). Here they
    are 2,560 + 2,560 + 2,560 + 2,320: two rounds of 2,560. A block's size is rounded up to
    whole granules of ``random.GRANULE_PATHS`` where that stays within ``block_size`` (a block
    that starts inside a granule draws it twice). Every run's numbers are the same whatever
    its blocks (each path's draws are keyed on its granule; the sums merge exactly); one
    worker gets ``block_ranges``'s blocks.
    """
    if workers < 1:
        raise ValueError(f"workers = {workers}: expected at least 1")
    ranges = block_ranges(n_paths, block_size)
    if workers == 1:
        return ranges
    n_blocks = -(-len(ranges) // workers) * workers
    size = -(-n_paths // n_blocks)
    granules = -(-size // GRANULE_PATHS) * GRANULE_PATHS
    return block_ranges(n_paths, granules if granules <= block_size else size)
