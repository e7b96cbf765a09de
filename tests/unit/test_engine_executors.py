"""Block executors: results in range order, a bounded number of blocks in flight, progress
calls, errors that reach the caller as themselves, per-block costs, and clear errors for a
scheduler that cannot be used. One 2-worker LocalCluster on loopback serves the module."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from distributed import LocalCluster

import gpucredit
from gpucredit.engine import (
    BlockExecutor,
    DaskExecutor,
    ThreadExecutor,
    block_ranges,
    default_workers,
    executor,
    peak_rss_by_worker,
    run_blocks,
)
from gpucredit.errors import SpecError

pytestmark = pytest.mark.slow  # a LocalCluster of 2 processes starts in a few seconds


class BlockFailed(Exception):
    """Raised by a block on purpose."""


def _values(start: int, stop: int) -> np.ndarray:
    return np.arange(start, stop, dtype=np.float64) / 7.0


def _fails_at(bad: int, start: int, stop: int) -> np.ndarray:
    if start <= bad < stop:
        raise BlockFailed(f"path {bad} failed")
    return _values(start, stop)


def _touches(folder: str, start: int, stop: int) -> int:
    """Leaves a file per block run (so that a test sees which blocks started, wherever)."""
    (Path(folder) / f"{start:06d}").touch()
    return start


def _gpucredit_file() -> str:
    return str(gpucredit.__file__)


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskExecutor]:
    with executor(workers=2, record_stats=True) as ex:
        assert isinstance(ex, DaskExecutor)
        yield ex


def _executors(cluster: DaskExecutor) -> list[BlockExecutor]:
    return [ThreadExecutor(1), ThreadExecutor(3), cluster]


def test_results_in_range_order(cluster: DaskExecutor) -> None:
    ranges = block_ranges(103, 10)
    expected = _values(0, 103)
    for ex in _executors(cluster):
        out = np.concatenate(list(ex.map_blocks(_values, ranges)))
        assert np.array_equal(out, expected), type(ex).__name__


def test_in_flight_bounded_by_twice_the_workers(cluster: DaskExecutor, tmp_path: Path) -> None:
    ranges = block_ranges(40, 1)
    for i, ex in enumerate(_executors(cluster)):
        folder = tmp_path / str(i)
        folder.mkdir()
        fn = functools.partial(_touches, str(folder))
        for k, start in enumerate(ex.map_blocks(fn, ranges)):
            assert start == ranges[k][0]
            started = len(list(folder.iterdir()))
            # the k+1 blocks yielded, plus at most 2 x workers submitted and not yet yielded
            assert started <= k + 1 + 2 * ex.n_workers, (type(ex).__name__, k, started)
        assert len(list(folder.iterdir())) == len(ranges)


def test_on_block_gets_each_block_size_in_order(cluster: DaskExecutor) -> None:
    ranges = block_ranges(25, 10)
    for ex in _executors(cluster):
        sizes: list[int] = []
        for _ in ex.map_blocks(_values, ranges, on_block=sizes.append):
            pass
        assert sizes == [10, 10, 5]


def test_block_error_reaches_caller_as_itself(cluster: DaskExecutor) -> None:
    fn = functools.partial(_fails_at, 57)
    for ex in _executors(cluster):
        with pytest.raises(BlockFailed, match="path 57 failed"):
            list(ex.map_blocks(fn, block_ranges(100, 10)))
    # the cluster still serves the next run
    assert len(list(cluster.map_blocks(_values, block_ranges(30, 10)))) == 3


def test_error_in_a_block_closes_the_cluster() -> None:
    with pytest.raises(BlockFailed, match="path 3 failed"), executor(workers=1) as ex:
        assert isinstance(ex, DaskExecutor)
        client = ex.client
        list(ex.map_blocks(functools.partial(_fails_at, 3), block_ranges(10, 2)))
    assert client.status == "closed"
    assert client.cluster is not None
    assert client.cluster.status.name == "closed"


def test_stats_per_block_measured_on_the_worker(cluster: DaskExecutor) -> None:
    cluster.stats.clear()
    ranges = block_ranges(50, 10)
    list(cluster.map_blocks(_values, ranges))
    workers = set(cluster.client.nthreads())
    assert [(s.start, s.stop) for s in cluster.stats] == ranges
    for stat in cluster.stats:
        assert stat.seconds >= 0.0
        assert stat.peak_rss_bytes > 1_000_000  # a Python process with numpy holds megabytes
        assert stat.worker in workers
    peaks = peak_rss_by_worker(cluster.stats)
    assert set(peaks) <= workers
    for worker, peak in peaks.items():
        assert peak == max(s.peak_rss_bytes for s in cluster.stats if s.worker == worker)
    local = ThreadExecutor(2, record_stats=True)
    assert np.array_equal(np.concatenate(list(local.map_blocks(_values, ranges))), _values(0, 50))
    expected = [(a, b, "local") for a, b in ranges]
    assert [(s.start, s.stop, s.worker) for s in local.stats] == expected


def test_existing_scheduler_is_used(cluster: DaskExecutor) -> None:
    address = cluster.client.scheduler.address
    with executor(scheduler=address) as ex:
        assert isinstance(ex, DaskExecutor)
        assert ex.n_workers == 2
        out = np.concatenate(list(ex.map_blocks(_values, block_ranges(33, 8))))
    assert np.array_equal(out, _values(0, 33))


def test_workers_import_this_gpucredit(cluster: DaskExecutor) -> None:
    files = cluster.client.run(_gpucredit_file)
    assert set(files.values()) == {_gpucredit_file()}


def test_scheduler_without_workers_is_a_clear_error() -> None:
    with LocalCluster(
        n_workers=0,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.CRITICAL,
    ) as bare:
        address = bare.scheduler_address
        with pytest.raises(SpecError) as info, executor(scheduler=address, timeout_s=0.5):
            pass
    assert f"got {address!r}" in str(info.value)
    assert "at least one worker within 0.5 s (it has none)" in str(info.value)


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("localhost", "missing port"),
        ("http://127.0.0.1:8786", "unknown address scheme"),
        ("tcp://127.0.0.1:99999", "port from 1 to 65535"),
        ("tcp://127.0.0.1:1", "answers within 0.5 s"),
    ],
)
def test_bad_scheduler_address_is_a_clear_error(address: str, says: str) -> None:
    with pytest.raises(SpecError) as info, executor(scheduler=address, timeout_s=0.5):
        pass
    message = str(info.value)
    assert f"field 'scheduler': got {address!r}" in message
    assert "tcp://HOST:PORT" in message
    assert says in message
    assert "\n" not in message


def test_bad_worker_counts_are_clear_errors() -> None:
    zero = pytest.raises(SpecError, match="field 'workers': got 0; expected at least 1")
    with zero, executor(workers=0):
        pass
    both = pytest.raises(SpecError, match="no workers with a scheduler")
    with both, executor(workers=2, scheduler="tcp://127.0.0.1:8786"):
        pass


def test_no_workers_no_scheduler_is_the_local_thread_pool() -> None:
    with executor() as ex:
        assert isinstance(ex, ThreadExecutor)
        assert ex.n_workers == default_workers()


def test_run_blocks_is_the_thread_executor() -> None:
    ranges = block_ranges(64, 9)
    sizes: list[int] = []
    out = list(run_blocks(_values, ranges, n_workers=2, on_block=sizes.append))
    assert np.array_equal(np.concatenate(out), _values(0, 64))
    assert sizes == [b - a for a, b in ranges]
