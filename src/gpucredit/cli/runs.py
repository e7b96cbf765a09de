"""A group of runs submitted to a pool (``engine.processes``), shown as one progress row.

``gpucredit run`` submits every run it will make (the deals, the miners, each deal under each
stress, the tornados) before it waits for the first: the pool's workers take them in that
order, and the command collects each group's results in the order of its runs, so a table,
a report or a record is the same whichever worker ran what.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from gpucredit._progress import ProgressBar, ProgressCallback
from gpucredit.engine.processes import Pool

__all__ = ["RunSet"]

R = TypeVar("R")


class RunSet(Generic[R]):
    """The runs of one group (``label``, e.g. "deals" or "stress gpu-glut"): their futures,
    and one row of ``bar`` (from the first run submitted: an empty group shows none) counting
    those finished of those submitted and naming the last phase reported."""

    def __init__(self, pool: Pool, bar: ProgressBar, label: str) -> None:
        self._pool = pool
        self._bar = bar
        self._label = label
        self._report: ProgressCallback | None = None  # the row, made at the first submit
        self._submitted = 0
        self._done = 0
        self._lock = threading.Lock()
        self._futures: list[Future[R]] = []

    def submit(self, name: str, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs, progress=...)`` on the pool; ``name`` labels its phases."""

        def progress(phase: str, done: int, total: int) -> None:
            self._show(f"{name}: {phase} {done:,}/{total:,}")

        with self._lock:
            self._submitted += 1  # the row's total (before the run: a pool may run it at once)
        self._show(f"{name} waiting")
        future = self._pool.submit(fn, *args, progress=progress, **kwargs)
        future.add_done_callback(lambda _: self._finished(name))
        self._futures.append(future)

    def _finished(self, name: str) -> None:
        with self._lock:
            self._done += 1
        self._show(f"{name} done")

    def _show(self, what: str) -> None:
        with self._lock:
            done, total = self._done, self._submitted
            if self._report is None:
                self._report = self._bar.reporter(self._label)
            report = self._report
        report("done" if done == total else f"{done}/{total} runs; {what}", done, total)

    def results(self) -> list[R]:
        """Each run's result, in the order submitted (waits for them; a run's exception
        is raised here)."""
        return [f.result() for f in self._futures]
