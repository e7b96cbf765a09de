"""The main job's first use: the numba kernels compiled in a second process, beside the
calibrations.

On a fresh install every kernel compiles on its first call (``cache=True`` keeps them for
later runs): about 30 s of one core for the capital-structure kernel and the kernels every
deal calls, and 6 s more for those only a few deals and the miners call; the first run also
fits the factor models for the deals' as-of dates. Both are single-threaded, so on a machine
with two cores they run side by side: ``start_warmup`` starts ``python -m
gpucredit.cli.warmup``, which simulates a few paths of each of ``WARMUP_FILES`` on the
hand-set (store-free) parameters and so fills the numba cache, while the main process fits
the calibrations; the main process then waits for it (``Warmup.wait``, bounded), and the
run pool's workers, forked after it, load the kernels from the cache instead of each
compiling them.

Nothing here changes a number: the kernels are the same compiled code whichever process
compiled them. A warm-up that cannot start, fails or is killed only means the runs compile
the kernels themselves, as without it. None is started when the kernels are already cached,
when numba's JIT is off (``NUMBA_DISABLE_JIT``), or when there is a single core.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba

from gpucredit.config.loading import read_document, validate_document
from gpucredit.config.miner import MinerSpec, is_miner_data
from gpucredit.config.spec import DealSpec
from gpucredit.deals import shipped_deals
from gpucredit.debt import engine
from gpucredit.factors.parameter_source import SOURCED
from gpucredit.miners import simulate_miner
from gpucredit.pipeline import simulate

__all__ = [
    "WARMUP_FILES",
    "WARMUP_PATHS",
    "WARMUP_WAIT_S",
    "Warmup",
    "compile_kernels",
    "kernels_cached",
    "spawn_warmup",
    "start_warmup",
]

#: The shipped files the warm-up simulates (under ``gpucredit/deals/``), in this order: a
#: capital structure with a parent, contracts and growth (the structure kernel, the longest
#: to compile, and the fleet, scenario and liquidation kernels every deal calls), then the
#: files of the main job that call a kernel, or a kernel with argument types, that the first
#: does not: a second fleet projection's types, written guarantees, and a miner's market and
#: margin calls. ``tests/unit/test_warmup.py`` checks that after them no file of the main
#: job compiles anything. One process: each of these files also calls the structure kernel,
#: so a second process would compile it again.
WARMUP_FILES: tuple[tuple[str, str], ...] = (
    ("coreweave", "growing_parent.yaml"),
    ("applied_digital", "computeco2_notes_2031.yaml"),
    ("cipher", "cipher_compute_notes_2030.yaml"),
    ("cipher", "convertibles.yaml"),
)

#: Paths of each warm-up run: one block on one thread; the compiling, not the run, is its work.
WARMUP_PATHS = 32

#: The longest the main process waits for the warm-up, s. ASSUMPTION: the warm-up's files
#: compiled in 40-45 s of one core on an idle machine and 54 s beside the test suite
#: (docs/benchmarks.md, "Runs side by side on processes"), and it starts before the
#: calibrations, so by the time the main process waits it has less than that left: a longer
#: wait means it is stuck, and the runs then compile the kernels themselves.
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


def compile_kernels(files: Sequence[tuple[str, str]] = WARMUP_FILES) -> None:
    """The warm-up's work: a few paths of each of ``files`` (folder and name under
    ``gpucredit/deals/``) on the hand-set parameters (no store is opened), which compiles
    every kernel they call into numba's cache."""
    found = {(p.parent.name, p.name): p for p in shipped_deals()}
    for entry in files:
        document = read_document(found[entry], what="deal or miner")
        if is_miner_data(document.data):
            simulate_miner(
                validate_document(MinerSpec, document, what="miner"),
                n_paths=WARMUP_PATHS,
                n_workers=1,
                attribution_paths=WARMUP_PATHS,
                calibration=SOURCED,
            )
        else:
            deal = validate_document(DealSpec, document, what="deal")
            simulate(deal, WARMUP_PATHS, keep_paths=0, n_workers=1, calibration=SOURCED)


if __name__ == "__main__":
    compile_kernels()
