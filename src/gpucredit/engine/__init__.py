"""Running at scale: block ranges and the block executors (local threads, Dask distributed)."""

from gpucredit.engine.distributed import (
    BlockExecutor,
    BlockStat,
    DaskExecutor,
    ThreadExecutor,
    executor,
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
    "run_blocks",
]
