"""Results on disk."""

from gpucredit.io.outputs import write_run

__all__ = ["write_run"]
