"""Many runs of a Python program from one interpreter that has imported it once.

``python -m gpucredit ...`` spends about 4 s importing (numpy, numba, pandas, scipy, the
package) before it reads its first argument. A test that starts twenty such processes spends
most of its time there. ``run_forked`` starts one Python process (this file as a script) that
imports the given modules once, then forks a child per run: each child points its file
descriptors 1 and 2 at files of its own, sets ``sys.argv`` and the working folder, and runs
the program as ``__main__`` (``runpy``, as ``python -m MODULE`` or ``python SCRIPT`` does). An
exception the program does not catch leaves the child through the interpreter's own handler
(traceback on stderr, exit status 1) and ``SystemExit`` gives its status, as in a process of its
own; the parent only waits and reports each child's exit status, stdout and stderr.

What a child shares with a fresh process: the environment, the interpreter, the command line
and every file; what it does not: the import of the preloaded modules (done once, before the
first run) and whatever that import set up. A test that needs the import itself in a fresh
process (start-up errors, import side effects) starts ``python -m gpucredit`` as before.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Job:
    """One run: ``python -m module ARGS`` (``module``) or ``python script ARGS`` (``script``)."""

    args: tuple[str, ...]
    module: str | None = None
    script: Path | None = None
    cwd: Path | None = None


@dataclass(frozen=True, slots=True)
class Done:
    """A finished run: its exit status, stdout and stderr (text, UTF-8)."""

    returncode: int
    stdout: str
    stderr: str


def run_forked(
    jobs: Sequence[Job],
    preload: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 600.0,
) -> list[Done]:
    """Run ``jobs`` one after another, each in a child forked from one process that imported
    ``preload`` (module names) first; their results in order.

    Raises ``subprocess.CalledProcessError`` when that process itself fails (a preload that
    does not import), and ``subprocess.TimeoutExpired`` past ``timeout`` seconds for all jobs.
    """
    with tempfile.TemporaryDirectory(prefix="gpucredit-forked-") as tmp:
        folder = Path(tmp)
        plan = {
            "preload": list(preload),
            "jobs": [
                {
                    "argv": [str(job.script or job.module), *job.args],
                    "module": job.module,
                    "script": None if job.script is None else str(job.script),
                    "cwd": None if job.cwd is None else str(job.cwd),
                    "stdout": str(folder / f"{i}.out"),
                    "stderr": str(folder / f"{i}.err"),
                }
                for i, job in enumerate(jobs)
            ],
        }
        (folder / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, __file__, str(folder / "plan.json")],
            capture_output=True,
            text=True,
            env=None if env is None else dict(env),
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise subprocess.CalledProcessError(
                proc.returncode, proc.args, proc.stdout, proc.stderr
            )
        codes = json.loads(proc.stdout)
        return [
            Done(
                int(code),
                Path(job["stdout"]).read_text(encoding="utf-8"),
                Path(job["stderr"]).read_text(encoding="utf-8"),
            )
            for code, job in zip(codes, plan["jobs"], strict=True)
        ]


def _child(job: dict[str, Any]) -> None:
    """The forked child: become the run, and never return to the parent's loop."""
    for fd, name in ((1, "stdout"), (2, "stderr")):
        target = os.open(str(job[name]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    if job["cwd"] is not None:
        os.chdir(str(job["cwd"]))
    argv = job["argv"]
    assert isinstance(argv, list)
    sys.argv = list(argv)
    if job["script"] is not None:
        sys.path[0] = str(Path(str(job["script"])).parent)  # as `python SCRIPT` sets it
        runpy.run_path(str(job["script"]), run_name="__main__")
    else:
        sys.path[0] = os.getcwd()  # as `python -m MODULE` sets it
        runpy.run_module(str(job["module"]), run_name="__main__", alter_sys=True)
    sys.exit(0)  # the program returned: a normal end, with the interpreter's own clean-up


class ForkServer:
    """``run_forked`` kept open for a whole test session: one process that imported
    ``preload`` once serves every run, each in a child forked for it, with the environment,
    working folder and umask the test process has at the time of the run. Started on the
    first run; it ends when the test process closes its end of the pipe (``close``, or the
    process's own exit)."""

    def __init__(self, preload: Sequence[str]) -> None:
        self._preload = tuple(preload)
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending = b""

    def run(self, job: Job, env: Mapping[str, str], timeout: float) -> Done:
        """Run ``job`` under ``env`` (the whole environment); ``subprocess.TimeoutExpired``
        (the child killed) after ``timeout`` seconds."""
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, __file__, "--serve", *self._preload],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            self._pending = b""
        assert self._proc.stdin is not None
        deadline = time.monotonic() + timeout
        with tempfile.TemporaryDirectory(prefix="gpucredit-forked-") as tmp:
            request = {
                "argv": [str(job.script or job.module), *job.args],
                "module": job.module,
                "script": None if job.script is None else str(job.script),
                "cwd": str(job.cwd or Path.cwd()),
                "env": dict(env),
                "umask": _umask(),
                "stdout": str(Path(tmp) / "out"),
                "stderr": str(Path(tmp) / "err"),
            }
            self._proc.stdin.write(json.dumps(request).encode() + b"\n")
            self._proc.stdin.flush()
            pid = int(self._line(deadline))
            try:
                code = int(self._line(deadline))
            except subprocess.TimeoutExpired:
                os.kill(pid, signal.SIGKILL)
                self._line(time.monotonic() + 60)  # the server reaps it and reports
                raise subprocess.TimeoutExpired(request["argv"], timeout) from None
            return Done(
                code,
                Path(request["stdout"]).read_text(encoding="utf-8"),
                Path(request["stderr"]).read_text(encoding="utf-8"),
            )

    def _line(self, deadline: float) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._pending:
            ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0.0))
            if not ready:
                raise subprocess.TimeoutExpired(str(fd), 0.0)
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"the fork server ended (exit {self._proc.wait()})")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode()

    def close(self) -> None:
        """End the server (it exits when its input closes)."""
        if self._proc is not None:
            with self._proc:  # closes both pipes and waits for the exit
                pass
        self._proc = None


def _umask() -> int:
    """This process's umask (reading it means setting it: set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _serve(preload: Sequence[str]) -> None:
    """The server's loop: a JSON request a line on stdin; the child's pid, then its exit
    status, a line each on stdout."""
    for name in preload:
        importlib.import_module(name)
    while line := sys.stdin.readline():
        job = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.environ.clear()
            os.environ.update(job["env"])
            os.umask(job["umask"])  # what a child of the test process inherits
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.close(null)
            _child(job)
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), flush=True)


def _main(plan_file: str) -> None:
    plan = json.loads(Path(plan_file).read_text(encoding="utf-8"))
    for name in plan["preload"]:
        importlib.import_module(name)
    codes: list[int] = []
    for job in plan["jobs"]:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(job)
        _, status = os.waitpid(pid, 0)
        codes.append(os.waitstatus_to_exitcode(status))
    print(json.dumps(codes))


if __name__ == "__main__":
    if sys.argv[1] == "--serve":
        _serve(sys.argv[2:])
    else:
        _main(sys.argv[1])
