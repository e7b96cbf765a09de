"""The main job's warm-up process (``cli.warmup``): harmless whatever becomes of it.

It only fills numba's cache; a warm-up that cannot start, fails, hangs or is killed leaves the
main process to compile the kernels itself, as without it.
"""

from __future__ import annotations

import stat
import time
from pathlib import Path

from gpucredit.cli.warmup import Warmup, compile_kernels, spawn_warmup, start_warmup


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
    compile_kernels()  # the shipped deal, a few paths, the hand-set parameters: no error
