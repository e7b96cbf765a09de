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

from gpucredit._progress import ProgressBar
from gpucredit.engine.processes import Pool

__all__ = ["RunSet"]

R = TypeVar("R")


class RunSet(Generic[R]):
    """The runs of one group (``label``, e.g. "deals" or "stress gpu-glut"): their futures,
    and one row of ``bar`` counting those finished and naming the last phase reported."""

    def __init__(self, pool: Pool, bar: ProgressBar, label: str, n_runs: int) -> None:
        self._pool = pool
        self._report = bar.reporter(label)
        self._n_runs = n_runs
        self._done = 0
        self._lock = threading.Lock()
        self._futures: list[Future[R]] = []
        self._report("waiting", 0, n_runs)

    def submit(self, name: str, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs, progress=...)`` on the pool; ``name`` labels its phases."""

        def progress(phase: str, done: int, total: int) -> None:
            self._show(f"{name}: {phase} {done:,}/{total:,}")

        future = self._pool.submit(fn, *args, progress=progress, **kwargs)
        future.add_done_callback(lambda _: self._finished(name))
        self._futures.append(future)

    def _finished(self, name: str) -> None:
        with self._lock:
            self._done += 1
        self._show(f"{name} done")

    def _show(self, what: str) -> None:
        with self._lock:
            done = self._done
        text = "done" if done == self._n_runs else f"{done}/{self._n_runs} runs; {what}"
        self._report(text, done, self._n_runs)

    def results(self) -> list[R]:
        """Each run's result, in the order submitted (waits for them; a run's exception
        is raised here)."""
        return [f.result() for f in self._futures]
