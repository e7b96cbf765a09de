"""The main job's first use: the numba kernels compiled in a second process, beside the
calibrations.

On a fresh install every kernel compiles on its first call (``cache=True`` keeps them for
later runs), about a minute of one core, the capital-structure kernel most of it; the first
run also fits the factor models for the deals' as-of dates. Both are single-threaded, so on
a machine with two cores they can run side by side: ``start_warmup`` starts
``python -m gpucredit.cli.warmup``, which simulates a few paths of one shipped deal on the
hand-set (store-free) parameters and so fills the numba cache, while the main process fits
the calibrations; the main process then waits for it (``Warmup.wait``, bounded) and loads the
kernels from the cache instead of compiling them.

Nothing here changes a number: the kernels are the same compiled code whichever process
compiled them. A warm-up that cannot start, fails or is killed only means the main process
compiles the kernels itself, as without it. None is started when the kernels are already
cached, when numba's JIT is off (``NUMBA_DISABLE_JIT``), or when there is a single core.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba

from gpucredit.config.loading import load_deal
from gpucredit.deals import shipped_deals
from gpucredit.debt import engine
from gpucredit.factors.parameter_source import SOURCED
from gpucredit.pipeline import simulate

__all__ = [
    "WARMUP_DEAL",
    "WARMUP_PATHS",
    "WARMUP_WAIT_S",
    "Warmup",
    "compile_kernels",
    "kernels_cached",
    "spawn_warmup",
    "start_warmup",
]

#: The shipped deal the warm-up simulates (under ``gpucredit/deals/``): a capital structure
#: with a parent, contracts and growth, so that its run compiles the structure kernel and the
#: fleet, scenario and liquidation kernels every deal of the book calls.
WARMUP_DEAL = ("coreweave", "growing_parent.yaml")

#: Paths of the warm-up's run: one block on one thread; the compiling, not the run, is its work.
WARMUP_PATHS = 32

#: The longest the main process waits for the warm-up, s. ASSUMPTION: compiling every kernel
#: of the main job took about 73 s of one core on first use (cProfile, docs/benchmarks.md,
#: "The shipped book"), and the warm-up starts before the calibrations, so by the time the
#: main process waits it has at most that left: a longer wait means it is stuck, and the main
#: process then compiles the kernels itself.
WARMUP_WAIT_S = 75.0


def kernels_cached() -> bool:
    """Whether the capital-structure kernel, the longest to compile, is in numba's cache
    (an earlier run compiled it); True when the JIT is off (nothing to compile)."""
    if getattr(numba.config, "DISABLE_JIT", False):
        return True
    kernel: Any = engine._structure_kernel
    try:
        index = Path(kernel._cache._cache_file._index_path)
    except AttributeError:  # a numba without this cache layout: treat as cached, start nothing
        return True
    return index.exists()


@dataclass
class Warmup:
    """A running warm-up process (``start_warmup``)."""

    process: subprocess.Popen[bytes]

    def wait(self, timeout_s: float = WARMUP_WAIT_S) -> bool:
        """Wait up to ``timeout_s`` seconds for the warm-up to end; stop it if it has not.
        Returns whether it ended by itself with exit status 0 (the kernels then load from
        the cache); either way the caller goes on."""
        try:
            return self.process.wait(timeout=max(timeout_s, 0.0)) == 0
        except subprocess.TimeoutExpired:
            self.stop()
            return False

    def stop(self) -> None:
        """End the warm-up process if it still runs (its own process only)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_warmup(python: str | None = None, *, cores: int | None = None) -> Warmup | None:
    """Start the warm-up process (``spawn_warmup``), or None when it would not help: the
    kernels already cached, the JIT off, or one core (``cores``: default this machine's)."""
    cores = os.cpu_count() if cores is None else cores
    if (cores or 1) < 2 or kernels_cached():
        return None
    return spawn_warmup(python)


def spawn_warmup(python: str | None = None) -> Warmup | None:
    """``python -m gpucredit.cli.warmup`` in a new process, its output discarded; None when
    it cannot start. ``python``: the interpreter (default this one's)."""
    try:
        process = subprocess.Popen(
            [python or sys.executable, "-m", "gpucredit.cli.warmup"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    return Warmup(process)


def compile_kernels() -> None:
    """The warm-up's work: a few paths of ``WARMUP_DEAL`` on the hand-set parameters (no
    store is opened), which compiles every kernel it calls into numba's cache."""
    folder, name = WARMUP_DEAL
    (path,) = [p for p in shipped_deals() if (p.parent.name, p.name) == (folder, name)]
    simulate(load_deal(path), WARMUP_PATHS, keep_paths=0, n_workers=1, calibration=SOURCED)


if __name__ == "__main__":
    compile_kernels()
