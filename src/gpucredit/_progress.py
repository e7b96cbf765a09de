"""Progress of a run: the ``progress(phase, done, total)`` callback and the bar that shows it.

``simulate`` and ``simulate_miner`` call ``progress(phase, done, total)`` as each phase
advances: ``"simulate"`` (paths of the main pass), ``"fair spread: pass 3"`` (paths of one full
pass of the fair-spread search; ``"fair spread: senior, pass 3"`` for one facility of several),
``"fair spread: standard error"`` (the pass that measures its Monte Carlo error),
``"breakeven"``, and for a miner ``"convergence off: ..."`` (the premium's second run) and
``"attribution"`` (subsets of the Shapley attribution). ``done`` and ``total`` count paths, or
subsets or searches where the phase says so; ``done`` only grows within one phase.

``progress=True`` shows :class:`ProgressBar` on standard error: a live bar in a terminal or a
notebook, one line per finished phase (at most one a second) elsewhere.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TextIO, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from gpucredit._terminal import markup_safe, printable

__all__ = [
    "ProgressArg",
    "ProgressBar",
    "ProgressCallback",
    "accepts_progress_bar",
    "block_ticker",
    "progress_reporter",
]

P = ParamSpec("P")
R = TypeVar("R")

#: ``progress(phase, done, total)``: ``done`` of ``total`` units of ``phase`` are finished.
ProgressCallback = Callable[[str, int, int], None]
#: What ``simulate(progress=...)`` accepts: off (None, False), a bar (True) or a callback.
ProgressArg = ProgressCallback | bool | None

#: Seconds between two lines of the line-per-phase display (logs, pipes).
_LINE_INTERVAL_S = 1.0


class ProgressBar:
    """A progress display of one or more labelled runs (deals, miners) on ``console``.

    Parameters
    ----------
    console : rich.console.Console
        Where to draw: a live bar if it is a terminal or a notebook.
    lines : bool
        Where ``console`` is neither, write one line per finished phase (at most one a
        second) instead of nothing. The CLI shows nothing on a pipe; ``progress=True`` in a
        script whose standard error is a file writes lines.
    stream : text file or None
        Where those lines go (default: standard error at the time of writing).
    disable : bool
        Show nothing (``--quiet``); the callbacks still work.
    """

    def __init__(
        self,
        console: Console,
        *,
        lines: bool = False,
        stream: TextIO | None = None,
        disable: bool = False,
    ) -> None:
        self._live = not disable and (console.is_terminal or console.is_jupyter)
        self._lines = lines and not disable and not self._live
        self._stream = stream
        self._last_line = 0.0
        self._labels: list[str] = []
        self._started = time.monotonic()
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not self._live,
        )

    def __enter__(self) -> ProgressBar:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()
        if self._lines and exc[0] is None:
            for label in self._labels:
                self._last_line = 0.0  # the last line is always written
                self._line(label, "done", 1, 1)

    def reporter(self, label: str) -> ProgressCallback:
        """The ``progress`` callback of one run, shown as ``label: phase``."""
        task: TaskID = self._bar.add_task(markup_safe(label), total=None)
        self._labels.append(label)
        shown = markup_safe(label)

        def report(phase: str, done: int, total: int) -> None:
            self._bar.update(
                task,
                description=f"{shown}: {markup_safe(phase)}",
                completed=done,
                total=max(total, 1),
            )
            if self._lines and done >= total:
                self._line(label, phase, done, total)

        return report

    def _line(self, label: str, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last_line < _LINE_INTERVAL_S:
            return
        self._last_line = now
        stream = self._stream or sys.stderr
        elapsed = now - self._started
        counts = "" if phase == "done" else f" {done:,}/{total:,}"
        text = f"{label}: {phase}{counts} ({elapsed:.0f} s)"
        stream.write(printable(text) + "\n")
        stream.flush()


@contextmanager
def progress_reporter(progress: ProgressArg, label: str) -> Iterator[ProgressCallback | None]:
    """The callback that ``simulate(progress=...)`` calls: the caller's own, a
    :class:`ProgressBar` on standard error for ``True`` (closed on leaving), or None."""
    if progress is None or progress is False:
        yield None
        return
    if progress is True:
        with ProgressBar(Console(stderr=True), lines=True) as bar:
            yield bar.reporter(label)
        return
    if not callable(progress):
        raise TypeError(f"progress: expected True, False, None or a callable, got {progress!r}")
    yield progress


def accepts_progress_bar(fn: Callable[P, R]) -> Callable[P, R]:
    """Let ``fn(spec, ..., progress=True)`` show a :class:`ProgressBar` on standard error
    (labelled with ``spec.name``) for the length of the call; ``fn`` itself then receives the
    bar's callback. A callable or None passes through unchanged."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if kwargs.get("progress") is not True:
            return fn(*args, **kwargs)
        spec = args[0] if args else kwargs.get("deal", kwargs.get("spec"))
        with progress_reporter(True, str(getattr(spec, "name", fn.__name__))) as report:
            kwargs["progress"] = report
            return fn(*args, **kwargs)

    return wrapper


def block_ticker(
    progress: ProgressCallback | None, total: int, phase: str = "simulate"
) -> Callable[[int], None]:
    """``on_block`` for ``run_blocks``: reports ``(phase, paths done so far, total)``, and
    ``(phase, 0, total)`` at once."""
    done = 0
    if progress is not None:
        progress(phase, 0, total)

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(phase, done, total)

    return tick
