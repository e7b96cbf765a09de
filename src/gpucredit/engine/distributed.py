"""Block executors: this process's threads, or a Dask distributed cluster.

An executor runs a pure block function ``fn(start, stop)`` over ranges of paths and yields
the results in range order, with at most ``2 x n_workers`` blocks in flight (memory bounded
by the block size). The caller merges the results in that order, so its numbers depend
neither on the block split nor on the executor: a block's shocks depend only on the seed and
its paths, the block function is the same code wherever it runs, and a result comes back
from a worker as the same bits (pickle and Dask's array serialisation copy float64 buffers
byte for byte).

``executor(workers=, scheduler=)`` picks one: the local threads, a ``LocalCluster`` of
``workers`` processes on loopback, or an existing cluster at ``scheduler``. Workers import
gpucredit themselves, so they must run the same version (a LocalCluster's processes inherit
this one's environment, ``PYTHONPATH`` included). The compiled kernels are cached on disk
(numba ``cache=True``): a worker loads them, and where the cache is stale each worker
compiles its own copy, numba writing cache files to a temporary name then renaming them, so
concurrent workers never read a half-written file.

``distributed`` is imported only when a cluster is used: a local run does not pay for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, TypeVar

from gpucredit._version import __version__
from gpucredit.engine.runner import (
    BlockStat,
    Measured,
    ThreadExecutor,
    default_workers,
    in_order,
    recorded,
)
from gpucredit.errors import SpecError, SpecIssue

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "CONNECT_TIMEOUT_S",
    "BlockExecutor",
    "BlockStat",
    "DaskExecutor",
    "ThreadExecutor",
    "executor",
    "peak_rss_by_worker",
]

T = TypeVar("T")
R = TypeVar("R")

#: Seconds to wait for a scheduler to answer, and for it to have a worker.
#: ASSUMPTION: a scheduler on a reachable host answers in well under a second; 10 s leaves
#: room for a busy one without leaving a user waiting long on a wrong address.
CONNECT_TIMEOUT_S = 10.0

_ADDRESS = "the address of a running Dask scheduler, tcp://HOST:PORT,"


class BlockExecutor(Protocol):
    """Runs block functions: ``ThreadExecutor`` or ``DaskExecutor``.

    Attributes
    ----------
    n_workers : int
        Blocks that run at once (threads, or the cluster's worker threads).
    stats : list of BlockStat
        Each block's cost, in range order, when the executor records them.
    """

    @property
    def n_workers(self) -> int: ...

    @property
    def stats(self) -> list[BlockStat]: ...

    def map_blocks(
        self,
        fn: Callable[[int, int], T],
        ranges: Sequence[tuple[int, int]],
        on_block: Callable[[int], None] | None = None,
    ) -> Iterator[T]:
        """Yield ``fn(start, stop)`` for each range, in range order, with at most
        ``2 x n_workers`` blocks in flight; ``on_block(stop - start)`` as each is yielded."""
        ...


def _call(fn: Callable[[int, int], R], start: int, stop: int) -> R:
    return fn(start, stop)


def _dask_worker() -> str:
    """The address of the Dask worker this runs on."""
    from distributed import get_worker

    return str(get_worker().address)


def _gpucredit_version() -> str:
    return __version__


class DaskExecutor:
    """Blocks on a Dask distributed cluster.

    The block function is sent to the cluster once (``Client.scatter``), not with every
    block; each block is a task that calls it.

    Parameters
    ----------
    client : distributed.Client
        Connected to the cluster; the caller closes it.
    record_stats : bool
        Append each block's ``BlockStat`` to ``stats`` (wall seconds and peak RSS measured
        on the worker, and the worker's address).
    """

    def __init__(self, client: Client, *, record_stats: bool = False) -> None:
        self._client = client
        self.record_stats = record_stats
        self.stats: list[BlockStat] = []

    @property
    def client(self) -> Client:
        """The cluster's client."""
        return self._client

    @property
    def n_workers(self) -> int:
        """The cluster's worker threads now (at least 1)."""
        return max(1, sum(self._client.nthreads().values()))  # type: ignore[no-untyped-call]

    def map_blocks(
        self,
        fn: Callable[[int, int], T],
        ranges: Sequence[tuple[int, int]],
        on_block: Callable[[int], None] | None = None,
    ) -> Iterator[T]:
        """Yield ``fn(start, stop)`` for each range, in range order, with at most
        ``2 x n_workers`` blocks in flight; ``on_block(stop - start)`` as each is yielded.
        A block's exception reaches the caller as itself; blocks not yet run are cancelled."""
        if self.record_stats:
            measured = Measured(fn, _dask_worker)
            return recorded(self._run(measured, ranges, on_block), ranges, self.stats)
        return self._run(fn, ranges, on_block)

    def _run(
        self,
        fn: Callable[[int, int], R],
        ranges: Sequence[tuple[int, int]],
        on_block: Callable[[int], None] | None,
    ) -> Iterator[R]:
        client = self._client
        [remote] = client.scatter([fn], hash=False)  # type: ignore[no-untyped-call]
        try:
            yield from in_order(
                lambda start, stop: client.submit(_call, remote, start, stop, pure=False),
                ranges,
                2 * self.n_workers,
                on_block,
            )
        finally:
            remote.release()


def _problem(field: str, value: object, expected: str) -> SpecError:
    return SpecError(None, [SpecIssue(field, value, expected)])


def _check_address(address: str) -> None:
    """A clear error for an address Dask cannot parse (before a ``Client`` is made of it)."""
    from distributed.comm.addressing import get_address_host_port, parse_address
    from distributed.comm.registry import get_backend

    try:
        scheme, _ = parse_address(address)
        get_backend(scheme)
        _, port = get_address_host_port(address)
    except (ValueError, TypeError) as exc:
        raise _problem("scheduler", address, f"{_ADDRESS} that Dask can parse ({exc})") from None
    if not 0 < port < 65536:
        raise _problem("scheduler", address, f"{_ADDRESS} with a port from 1 to 65535")


@contextmanager
def _connect(address: str, timeout_s: float) -> Iterator[Client]:
    """A client of the running scheduler at ``address``, which has at least one worker with
    this version of gpucredit."""
    from distributed import Client

    _check_address(address)
    try:
        client = Client(address, timeout=timeout_s, set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, ValueError) as exc:
        expected = f"{_ADDRESS} that answers within {timeout_s:g} s ({exc})"
        raise _problem("scheduler", address, expected) from None
    with client:
        try:
            client.wait_for_workers(1, timeout=timeout_s)
        except TimeoutError:
            expected = f"a scheduler with at least one worker within {timeout_s:g} s (it has none)"
            raise _problem("scheduler", address, expected) from None
        versions = client.run(_gpucredit_version)
        wrong = {w: v for w, v in versions.items() if v != __version__}
        if wrong:
            worker, version = next(iter(wrong.items()))
            expected = (
                f"workers with gpucredit {__version__}, the version of this client "
                f"(worker {worker} has {version})"
            )
            raise _problem("scheduler", address, expected)
        yield client


@contextmanager
def _local_cluster(workers: int) -> Iterator[Client]:
    """A ``LocalCluster`` of ``workers`` single-threaded processes on loopback, quiet."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            # No dashboard; the scheduler's own HTTP server (health routes) on a free
            # loopback port, not on 8787, which another cluster may hold.
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            # A block's error reaches the caller as an exception, and the CLI prints it
            # once: the workers' own "Compute Failed" log lines would repeat it.
            silence_logs=logging.CRITICAL,
        ) as cluster,
        Client(cluster, set_as_default=False) as client,  # type: ignore[no-untyped-call]
    ):
        yield client


@contextmanager
def executor(
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    record_stats: bool = False,
    timeout_s: float = CONNECT_TIMEOUT_S,
) -> Iterator[BlockExecutor]:
    """The executor of a run, closed (cluster and client) on exit.

    Parameters
    ----------
    workers : int or None
        Start a ``LocalCluster`` of this many single-threaded worker processes on loopback.
    scheduler : str or None
        Use the existing cluster whose scheduler is at this address (``tcp://HOST:PORT``).
    record_stats : bool
        Record each block's cost in the executor's ``stats``.
    timeout_s : float
        Seconds to wait for ``scheduler`` to answer and to have a worker, s.

    Yields
    ------
    BlockExecutor
        ``DaskExecutor`` with ``workers`` or ``scheduler``; otherwise this process's
        ``ThreadExecutor(default_workers())``.

    Raises
    ------
    SpecError
        ``workers`` below 1, both given, or a scheduler that cannot be used (unparsable,
        unreachable within ``timeout_s``, without workers, or with another gpucredit).
    """
    if workers is not None and scheduler is not None:
        expected = "no workers with a scheduler (the cluster's workers are the scheduler's)"
        raise _problem("workers", workers, expected)
    if workers is not None and workers < 1:
        raise _problem("workers", workers, "at least 1 worker process")
    if scheduler is not None:
        with _connect(scheduler, timeout_s) as client:
            yield DaskExecutor(client, record_stats=record_stats)
    elif workers is not None:
        with _local_cluster(workers) as client:
            yield DaskExecutor(client, record_stats=record_stats)
    else:
        yield ThreadExecutor(default_workers(), record_stats=record_stats)


def peak_rss_by_worker(stats: Sequence[BlockStat]) -> dict[str, int]:
    """Each worker's peak resident set size over ``stats``, bytes, by worker (address or
    ``"local"``), in the order the workers first appear."""
    peaks: dict[str, int] = {}
    for stat in stats:
        peaks[stat.worker] = max(peaks.get(stat.worker, 0), stat.peak_rss_bytes)
    return peaks
