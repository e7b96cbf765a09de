"""Whole runs side by side on worker processes: the main job's deals, stressed runs, miners
and tornados.

A run's blocks go to this process's threads (``engine.runner``), and its compiled kernels
release the interpreter, but the Python between them (the spread search's reductions, the
summaries, the miners' attribution) does not: the 22 deals of the shipped book took 23.4 s
of wall time for 35 s of CPU on two cores run one after the other, and 21.7 s run two at a
time on threads (docs/benchmarks.md, "The shipped book"). Independent runs on processes of
their own use every core for the whole run.

``RunPool(n)`` keeps ``n`` worker processes; ``submit(fn, *args, progress=..., **kwargs)``
runs ``fn(*args, **kwargs)`` on one of them and returns a ``Future`` of its result. ``fn`` and
its arguments travel by pickle, so ``fn`` is a module-level function; the result comes back
by pickle too, the same bits (float64 buffers are copied byte for byte), so a run's numbers
do not depend on where it ran. A ``progress`` callback stays in this process: the worker
calls ``fn`` with a ``progress`` of its own whose calls come back through a queue, read by a
thread here that calls the caller's. ``InlinePool`` has the same interface and runs each
``fn`` in this process when it is submitted (one core, or a single run).

Workers are forked where the platform forks safely (Linux): they start at once with this
process's imports and loaded kernels, and the pool is made before any thread of this
process starts. Elsewhere they are spawned and import gpucredit themselves. They ignore
SIGINT: an interrupt reaches this process, which ends them when the pool closes.
"""

from __future__ import annotations

import itertools
import multiprocessing
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing.queues import SimpleQueue
from typing import Any, Protocol, TypeVar

from gpucredit._progress import ProgressCallback

__all__ = ["InlinePool", "Pool", "RunPool", "run_pool"]

R = TypeVar("R")

#: The queue a worker sends its runs' progress through (set by ``_start_worker``).
_EVENTS: SimpleQueue[Any] | None = None


class Pool(Protocol):
    """Runs whole runs: ``RunPool`` (worker processes) or ``InlinePool`` (this process)."""

    def submit(
        self,
        fn: Callable[..., R],
        /,
        *args: Any,
        progress: ProgressCallback | None = None,
        **kwargs: Any,
    ) -> Future[R]:
        """A ``Future`` of ``fn(*args, **kwargs)``, called with ``progress=`` when given."""
        ...


class InlinePool:
    """Each run in this process, at once, when it is submitted."""

    def submit(
        self,
        fn: Callable[..., R],
        /,
        *args: Any,
        progress: ProgressCallback | None = None,
        **kwargs: Any,
    ) -> Future[R]:
        """A finished ``Future`` of ``fn(*args, **kwargs)`` (its exception, if it raised)."""
        future: Future[R] = Future()
        if progress is not None:
            kwargs["progress"] = progress
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # the caller's .result() raises it, as a worker's would
            future.set_exception(exc)
        return future


def _start_worker(events: SimpleQueue[Any]) -> None:
    """A worker's start: interrupts are for the parent; progress goes through ``events``."""
    global _EVENTS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _EVENTS = events


def _relay(token: int, phase: str, done: int, total: int) -> None:
    """A run's ``progress`` in a worker: sent to the parent, which calls the caller's."""
    assert _EVENTS is not None
    _EVENTS.put((token, phase, done, total))


def _call(
    token: int | None, fn: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> R:
    if token is not None:
        kwargs = {**kwargs, "progress": lambda p, d, t: _relay(token, p, d, t)}
    return fn(*args, **kwargs)


def _context() -> multiprocessing.context.BaseContext:
    """Fork on Linux (no import in the workers); spawn where fork is not safe (macOS)."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class RunPool:
    """``n_processes`` worker processes running whole runs (see the module's docstring).

    Make it before this process starts a thread (forking copies only the calling thread),
    and close it (``close`` or ``run_pool``) to end the workers.
    """

    def __init__(self, n_processes: int) -> None:
        if n_processes < 1:
            raise ValueError(f"n_processes = {n_processes}: expected at least 1")
        context = _context()
        self._events: SimpleQueue[Any] = context.SimpleQueue()
        self._callbacks: dict[int, ProgressCallback] = {}
        self._tokens = itertools.count()
        self._executor = ProcessPoolExecutor(
            n_processes, mp_context=context, initializer=_start_worker, initargs=(self._events,)
        )
        # Fork every worker now, while this process has one thread: the first submit starts
        # them all (a forking pool does not add workers later).
        self._executor.submit(int).result()
        self._reader = threading.Thread(
            target=self._read_events, name="gpucredit-run-progress", daemon=True
        )
        self._reader.start()

    def submit(
        self,
        fn: Callable[..., R],
        /,
        *args: Any,
        progress: ProgressCallback | None = None,
        **kwargs: Any,
    ) -> Future[R]:
        """A ``Future`` of ``fn(*args, **kwargs)`` on a worker; ``progress`` (called here)
        receives the run's progress."""
        token = None
        if progress is not None:
            token = next(self._tokens)
            self._callbacks[token] = progress
        return self._executor.submit(_call, token, fn, args, kwargs)

    def _read_events(self) -> None:
        while True:
            event = self._events.get()
            if event is None:
                return
            token, phase, done, total = event
            callback = self._callbacks.get(token)
            if callback is not None:
                callback(phase, done, total)

    def close(self, *, cancel: bool = False) -> None:
        """End the workers: after their runs, or at once with ``cancel`` (runs not started
        are dropped, running ones stopped), then the progress reader."""
        if cancel:  # the workers first: the pool then finds them gone and reaps them
            for process in list((getattr(self._executor, "_processes", None) or {}).values()):
                process.terminate()
        self._executor.shutdown(wait=True, cancel_futures=cancel)
        self._events.put(None)
        self._reader.join()


@contextmanager
def run_pool(n_processes: int, n_runs: int) -> Iterator[Pool]:
    """A ``RunPool`` of ``min(n_processes, n_runs)`` workers, or an ``InlinePool`` when that
    is one (a single core or a single run: a worker would only add its start). The workers
    end on leaving; at once, their runs dropped, when leaving on an exception (an interrupt)."""
    n = min(n_processes, n_runs)
    if n < 2:
        yield InlinePool()
        return
    pool = RunPool(n)
    try:
        yield pool
    except BaseException:
        pool.close(cancel=True)
        raise
    pool.close()
