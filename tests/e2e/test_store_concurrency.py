"""Several processes on one market store: real subprocesses, a real DuckDB file, no mocks.

Two runs started together both succeed (also on a store that does not exist yet); a lock
held longer than the wait, or a damaged file, ends every command with one message that says
what to do, exit code 2 and no traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from tests._calibrated import copy_template
from typer.testing import CliRunner

from gpucredit.cli.app import app
from gpucredit.factors.parameter_source import default_calibration_as_of
from gpucredit.market.store import DB_ENV_VAR, LOCK_TIMEOUT_ENV_VAR, MarketStore

EXIT_INPUT = 2
DAMAGE = ("half", "random", "text", "empty")


def damage(path: Path, kind: str) -> None:
    """Damage a built store the ways the issue found: cut to half, noise, not DuckDB, empty
    (as tests/unit/test_store.py does)."""
    size = path.stat().st_size
    if kind == "half":
        os.truncate(path, size // 2)
    elif kind == "random":
        path.write_bytes(np.random.default_rng(1).bytes(size))
    elif kind == "text":
        path.write_text("not a database\n", encoding="utf-8")
    else:
        path.write_bytes(b"")


#: One process's share of a busy store: build it (or find it built), save the calibration
#: both processes fit, record runs, import a series and read everything back.
_WORKER = """
import datetime as dt, sys
from gpucredit.market.store import MarketStore
path, tag, csv = sys.argv[1:4]
store = MarketStore(path)
cal = store.save_calibration(dt.date(2026, 1, 31), {"same": "for both"}, {})
for i in range(5):
    store.record_run(spec_hash=tag, seed=i, n_paths=10, calibration_id=cal.id, version="t",
                     summary={"deal": tag})
store.import_series("s_" + tag, csv)
reader = MarketStore(path, read_only=True)
assert reader.read_series("s_" + tag)["value"].tolist() == [2.5, 2.625]
assert len(reader.list_runs()) >= 5 and reader.list_calibrations()[0].id == cal.id
print("ok")
"""


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def _start_pair(path: Path, csv: Path) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), tag, str(csv)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for tag in ("a", "b")
    ]


@pytest.mark.slow
def test_two_processes_at_once_both_succeed(tmp_path: Path) -> None:
    """Four pairs, each on a store that does not exist yet: both race to build it, then
    write and read while the other does."""
    csv = tmp_path / "s.csv"
    csv.write_text("date,value\n2026-01-01,2.5\n2026-01-02,2.625\n", encoding="utf-8")
    for pair in range(4):
        path = tmp_path / f"pair{pair}" / "market.duckdb"
        procs = _start_pair(path, csv)
        outcomes = [(*proc.communicate(timeout=300), proc.returncode) for proc in procs]
        for out, err, code in outcomes:
            assert code == 0 and out.strip() == "ok", err
        store = MarketStore(path, read_only=True)
        assert len(store.list_runs()) == 10
        assert len(store.list_calibrations()) == 1  # the same fit saved twice is one row
        assert {"s_a", "s_b"} <= {info.name for info in store.catalogue()}


def _cli(*args: str | Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gpucredit", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.slow
def test_two_cli_runs_at_once_on_a_fresh_store(tmp_path: Path) -> None:
    """The issue's case: both runs of a pair calibrate on first use and record their runs."""
    path = tmp_path / "market.duckdb"
    env = _env(**{DB_ENV_VAR: str(path)})
    deal = Path(str(resources.files("gpucredit").joinpath("examples/merchant_h100.yaml")))
    args = ("run", deal, "--paths", "200", "--workers", "1", "--json")
    procs = [_cli(*args, env=env) for _ in range(2)]
    outcomes = [(proc.communicate(timeout=600)[1], proc.returncode) for proc in procs]
    for err, code in outcomes:
        assert code == 0, err
    store = MarketStore(path, read_only=True)
    assert len(store.list_runs()) == 2
    assert len(store.list_calibrations()) == 1


@contextmanager
def _lock_held(path: Path, *, read_only: bool = False) -> Iterator[int]:
    """Another process with a connection open on ``path`` (a notebook's own duckdb
    connection) until the block ends; yields its PID. A read-only one lets others read."""
    script = (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "
        "'ro'); print('held', flush=True); time.sleep(600)"
    )
    mode = "ro" if read_only else "rw"
    with subprocess.Popen(
        [sys.executable, "-c", script, str(path), mode], stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
            yield proc.pid
        finally:
            proc.kill()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "market.duckdb"
    MarketStore(path).close()
    return path


def test_a_short_lock_is_waited_for(store_path: Path, tmp_path: Path) -> None:
    csv = tmp_path / "s.csv"
    csv.write_text("date,value\n2026-01-01,2.5\n", encoding="utf-8")
    env = _env(**{DB_ENV_VAR: str(store_path)})
    with _lock_held(store_path):
        proc = _cli("data", "import", "mine", csv, env=env)
        time.sleep(2.0)  # the command starts, finds the lock, waits
        assert proc.poll() is None
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert MarketStore(store_path, read_only=True).series_info("mine").n_rows == 1


def test_a_lock_held_too_long_says_what_to_do(store_path: Path, tmp_path: Path) -> None:
    env = _env(**{DB_ENV_VAR: str(store_path), LOCK_TIMEOUT_ENV_VAR: "0.5"})
    commands = [("data", "list"), ("data", "import", "x", tmp_path / "x.csv"), ("runs", "list")]
    with _lock_held(store_path) as pid:
        procs = [_cli(*args, env=env) for args in commands]  # three at once
        results = [proc.communicate(timeout=120) for proc in procs]
    for (out, err), args in zip(results, commands, strict=True):
        flat = " ".join(err.split())
        assert "Traceback" not in err and out == "", args
        assert "locked by another process" in flat and f"(PID {pid})" in flat, flat
        assert "run the command again" in flat and LOCK_TIMEOUT_ENV_VAR in flat


_COMMANDS = {
    "data list": ["data", "list"],
    "data show": ["data", "show", "SOFR"],
    "data export": ["data", "export", "SOFR", "{tmp}/x.csv"],
    "data import": ["data", "import", "mine", "{tmp}/in.csv"],
    "calibrations list": ["calibrations", "list"],
    "runs list": ["runs", "list"],
    "runs show": ["runs", "show", "run-0"],
    "calibrate": ["calibrate"],
    "run": ["run", "--paths", "10"],
}

runner = CliRunner()


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_store_every_command_exits_2(
    store_path: Path, tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "in.csv").write_text("date,value\n2026-01-01,2.5\n", encoding="utf-8")
    damage(store_path, kind)
    monkeypatch.setenv(DB_ENV_VAR, str(store_path))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)  # `run` alone is the main job: its report folder goes here
    before = store_path.read_bytes()
    for name, template in _COMMANDS.items():
        args = [a.replace("{tmp}", str(tmp_path)) for a in template]
        result = runner.invoke(app, args)
        assert result.exit_code == EXIT_INPUT, (name, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), name
        flat = " ".join(result.output.split())
        assert f"mv {store_path} {store_path}.broken" in flat, (name, flat)
    assert store_path.read_bytes() == before  # nothing tried to repair or overwrite it


def test_damaged_store_from_a_real_process(store_path: Path) -> None:
    damage(store_path, "half")
    proc = _cli("data", "show", "SOFR", env=_env(**{DB_ENV_VAR: str(store_path)}))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_INPUT and out == ""
    assert "Traceback" not in err and err.startswith("error:")
    assert "truncated" in err and "mv " in err
    shutil.move(store_path, store_path.with_name("old.duckdb"))
    proc = _cli("data", "show", "SOFR", env=_env(**{DB_ENV_VAR: str(store_path)}))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err  # the rebuild the message promises


@pytest.mark.slow
def test_a_store_that_cannot_record_does_not_fail_the_run(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Item 6: the run's output is written; the record it could not write is a warning."""
    # a calibrated store (what `gpucredit calibrate` leaves; fitted once a session), so the
    # run below only reads it
    path = copy_template(tmp_path_factory, default_calibration_as_of(), tmp_path / "market.duckdb")
    env = _env(**{DB_ENV_VAR: str(path), LOCK_TIMEOUT_ENV_VAR: "1"})
    deal = Path(str(resources.files("gpucredit").joinpath("examples/merchant_h100.yaml")))
    out = tmp_path / "out"
    with _lock_held(path, read_only=True):  # reads go on, the write of the record cannot
        proc = _cli("run", deal, "--paths", "200", "--workers", "1", "--out", out, env=env)
        _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "the run was not recorded" in err and "locked by another process" in " ".join(
        err.split()
    )
    assert "Traceback" not in err
    assert any(out.iterdir())
    assert MarketStore(path, read_only=True).list_runs() == []
