"""The main job's warm-up process (``cli.warmup``): harmless whatever becomes of it.

It only fills numba's cache; a warm-up that cannot start, fails, hangs or is killed leaves the
main process to compile the kernels itself, as without it.
"""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

from gpucredit.cli.warmup import (
    WARMUP_FILES,
    Warmup,
    compile_kernels,
    spawn_warmup,
    start_warmup,
)


def _script(tmp_path: Path, body: str) -> str:
    """An executable that stands in for the interpreter (it ignores ``-m MODULE``)."""
    path = tmp_path / "python"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_an_interpreter_that_does_not_exist_starts_nothing(tmp_path: Path) -> None:
    assert spawn_warmup(str(tmp_path / "no-such-python")) is None


def test_a_failing_warmup_is_reported_as_not_done(tmp_path: Path) -> None:
    warmup = spawn_warmup(_script(tmp_path, "exit 3"))
    assert isinstance(warmup, Warmup)
    assert warmup.wait(timeout_s=30.0) is False  # 30 s: a shell's exit, far below it


def test_a_stuck_warmup_is_stopped_after_the_wait(tmp_path: Path) -> None:
    warmup = spawn_warmup(_script(tmp_path, "sleep 60"))
    assert warmup is not None
    started = time.perf_counter()
    assert warmup.wait(timeout_s=0.5) is False
    assert time.perf_counter() - started < 30.0  # killed at the timeout, not left to sleep
    assert warmup.process.poll() is not None


def test_a_killed_warmup_ends_the_wait_at_once(tmp_path: Path) -> None:
    warmup = spawn_warmup(_script(tmp_path, "sleep 60"))
    assert warmup is not None
    warmup.stop()
    assert warmup.wait(timeout_s=30.0) is False
    warmup.stop()  # stopping twice is harmless


def test_one_core_starts_no_warmup() -> None:
    assert start_warmup(cores=1) is None


def test_the_warmups_own_work_runs() -> None:
    compile_kernels(WARMUP_FILES[1:])  # a few paths of each, the hand-set parameters


_COVERAGE = """
import sys
from numba.core.registry import CPUDispatcher
from gpucredit.cli.app import load_spec
from gpucredit.cli.warmup import compile_kernels
from gpucredit.deals import main_job_deals
from gpucredit.factors.parameter_source import SOURCED
from gpucredit.miners import simulate_miner
from gpucredit.config.miner import MinerSpec
from gpucredit.pipeline import simulate

def compiled():
    return {
        (m.__name__, k): len(v.signatures)
        for m in list(sys.modules.values()) if getattr(m, "__name__", "").startswith("gpucredit")
        for k, v in list(vars(m).items()) if isinstance(v, CPUDispatcher)
    }

compile_kernels()
before = compiled()
for path in main_job_deals():
    spec = load_spec(path)
    if isinstance(spec, MinerSpec):
        simulate_miner(spec, n_paths=16, n_workers=1, attribution_paths=16, calibration=SOURCED)
    else:
        simulate(spec, 16, keep_paths=4, n_workers=1, calibration=SOURCED)
    for name, count in compiled().items():
        if count != before.get(name, 0):
            print(f"{path.parent.name}/{path.name} {name[0]}.{name[1]}")
            before[name] = count
"""


def test_after_the_warmup_no_file_of_the_main_job_compiles_a_kernel() -> None:
    """Each kernel and argument type the main job's files call is compiled by the warm-up's
    files (``WARMUP_FILES``): a file named here calls one they do not, and belongs among
    them. A fresh interpreter: the kernels this one has already compiled would hide it."""
    found = subprocess.run(
        [sys.executable, "-c", _COVERAGE], capture_output=True, text=True, check=True
    )
    assert found.stdout == ""
