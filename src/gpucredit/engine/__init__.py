"""Running at scale: block ranges and the block executors (local threads, Dask distributed)."""

from gpucredit.engine.distributed import (
    BlockExecutor,
    BlockStat,
    DaskExecutor,
    ThreadExecutor,
    executor,
    peak_rss_by_worker,
)
from gpucredit.engine.runner import block_ranges, default_workers, run_blocks

__all__ = [
    "BlockExecutor",
    "BlockStat",
    "DaskExecutor",
    "ThreadExecutor",
    "block_ranges",
    "default_workers",
    "executor",
    "peak_rss_by_worker",
    "run_blocks",
]
