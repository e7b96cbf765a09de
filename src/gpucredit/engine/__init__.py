"""Running at scale: block ranges and the block runner (local threads)."""

from gpucredit.engine.runner import block_ranges, default_workers, run_blocks

__all__ = ["block_ranges", "default_workers", "run_blocks"]
