"""``--out``: never a user's file lost, never a partial output, names that stay inside.

The real CLI in a subprocess, with 200 paths and one worker: these tests are about the files,
not the numbers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests._calibrated import copy_template
from tests.e2e.conftest import RunCli

from gpucredit.cli import app as cli_app
from gpucredit.config.loading import load_deal
from gpucredit.factors.parameter_source import default_calibration_as_of
from gpucredit.io.outputs import MANIFEST_NAME, OUTPUT_KEY, STAGING_PREFIX
from gpucredit.market.store import LOCK_TIMEOUT_ENV_VAR
from gpucredit.pipeline import simulate

WriteYaml = Callable[[Path, dict[str, Any]], Path]
SMALL = ("--paths", "200", "--workers", "1", "--json")
EXIT_INPUT = 2


def _listing(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for a folder)."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def _assert_refused(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == EXIT_INPUT, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "field '--out'" in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr


def _assert_complete(out: Path) -> dict[str, Any]:
    """``out`` is a whole gpucredit output: its manifest lists exactly the files it holds."""
    manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert isinstance(manifest, dict)
    assert OUTPUT_KEY in manifest
    held = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert held == {*manifest["files"], MANIFEST_NAME}
    return manifest


def _staging_left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(STAGING_PREFIX))


def test_a_file_in_out_survives_and_nothing_is_simulated(
    tmp_path: Path, merchant_path: Path, run_cli: RunCli
) -> None:
    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("my notes\n", encoding="utf-8")
    db = tmp_path / "never.duckdb"  # a run would open (and calibrate) it before simulating
    before = _listing(tmp_path)

    proc = run_cli("run", merchant_path, *SMALL, "--db", db, "--out", out)
    _assert_refused(proc, "'notes.txt'", "never deletes")
    assert _listing(tmp_path) == before  # the file untouched, no store, no staging folder

    # the same refusal with --force: the folder holds a file gpucredit did not write
    proc = run_cli("run", merchant_path, *SMALL, "--db", db, "--out", out, "--force")
    _assert_refused(proc, "'notes.txt'", "even with --force")
    assert _listing(tmp_path) == before


def test_force_replaces_only_an_earlier_output(
    tmp_path: Path, merchant_path: Path, run_cli: RunCli
) -> None:
    out = tmp_path / "results"
    first = run_cli("run", merchant_path, *SMALL, "--seed", "1", "--out", out)
    assert first.returncode == 0, first.stderr
    _assert_complete(out)

    _assert_refused(run_cli("run", merchant_path, *SMALL, "--out", out), "--force")
    assert json.loads((out / "summary.json").read_text())["run"]["seed"] == 1

    second = run_cli("run", merchant_path, *SMALL, "--seed", "2", "--out", out, "--force")
    assert second.returncode == 0, second.stderr
    _assert_complete(out)
    assert json.loads((out / "summary.json").read_text())["run"]["seed"] == 2
    assert _staging_left(tmp_path) == []

    foreign = out / "merchant-h100" / "my-chart.png"  # a user's file deep inside
    foreign.write_bytes(b"png")
    before = _listing(tmp_path)
    third = run_cli("run", merchant_path, *SMALL, "--seed", "3", "--out", out, "--force")
    _assert_refused(third, "merchant-h100/my-chart.png", "even with --force")
    assert _listing(tmp_path) == before


def test_an_empty_folder_is_filled(tmp_path: Path, merchant_path: Path, run_cli: RunCli) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    proc = run_cli("run", merchant_path, *SMALL, "--out", out)
    assert proc.returncode == 0, proc.stderr
    _assert_complete(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_missing_parents_are_made(tmp_path: Path, merchant_path: Path, run_cli: RunCli) -> None:
    out = tmp_path / "a" / "b" / "results"
    proc = run_cli("run", merchant_path, *SMALL, "--out", out)
    assert proc.returncode == 0, proc.stderr
    _assert_complete(out)


@pytest.mark.parametrize("where", [".", "..", "yaml-folder"])
def test_out_at_the_deal_folder_is_refused(
    where: str, tmp_path: Path, merchant_path: Path, run_cli: RunCli
) -> None:
    deals = tmp_path / "deals"
    work = deals / "work"
    work.mkdir(parents=True)
    deal = deals / "deal.yaml"
    deal.write_bytes(merchant_path.read_bytes())
    cwd = {".": deals, "..": work, "yaml-folder": tmp_path}[where]
    out = str(deals) if where == "yaml-folder" else where
    before = _listing(tmp_path)

    proc = run_cli("run", deal, *SMALL, "--out", out, cwd=cwd)

    _assert_refused(proc, "deal.yaml", "gpucredit did not write")
    assert _listing(tmp_path) == before  # the YAML intact, no staging or .old folder


def test_out_at_an_empty_working_folder_is_refused(
    tmp_path: Path, merchant_path: Path, run_cli: RunCli
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    proc = run_cli("run", merchant_path, *SMALL, "--out", ".", cwd=here)
    _assert_refused(proc, "current working directory")
    assert _listing(tmp_path) == {"here": None}


def test_out_that_is_a_file_or_inside_one_is_refused(
    tmp_path: Path, merchant_path: Path, run_cli: RunCli
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("mine\n", encoding="utf-8")
    _assert_refused(run_cli("run", merchant_path, *SMALL, "--out", blocker), "not an existing file")
    _assert_refused(
        run_cli("run", merchant_path, *SMALL, "--out", blocker / "sub" / "results"),
        "inside a file",
    )
    assert _listing(tmp_path) == {"a-file": b"mine\n"}


def test_deal_names_become_unique_folders_inside_out(
    tmp_path: Path, merchant_data: dict[str, Any], write_yaml: WriteYaml, run_cli: RunCli
) -> None:
    names = ["..", "a/b", "a_b", "a_b", "../../escape", "Ünïcode [/x]"]
    files = []
    for i, name in enumerate(names):
        files.append(write_yaml(tmp_path / f"deal{i}.yaml", {**merchant_data, "name": name}))
    out = tmp_path / "out"
    (tmp_path / MANIFEST_NAME).write_text("the user's own\n", encoding="utf-8")

    proc = run_cli("run", *files, *SMALL, "--out", out)

    assert proc.returncode == 0, proc.stderr
    manifest = _assert_complete(out)
    folders = [d["folder"] for d in manifest["deals"]]
    assert folders == ["__", "a_b", "a_b-2", "a_b-3", "______escape", "_n_code___x_"]
    assert [d["name"] for d in manifest["deals"]] == names  # the real names kept
    for name, folder in zip(names, folders, strict=True):
        deal_manifest = json.loads((out / folder / "manifest.json").read_text(encoding="utf-8"))
        assert deal_manifest["deal_spec"]["name"] == name
        assert (out / folder).resolve().parent == out.resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*(f.name for f in files), "out", MANIFEST_NAME]
    )
    assert (tmp_path / MANIFEST_NAME).read_text(encoding="utf-8") == "the user's own\n"


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    """Set the umask the CLI subprocess inherits; restored afterwards."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield os.umask
    os.umask(saved)


@pytest.mark.parametrize(
    ("mask", "dir_mode", "file_mode"), [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)]
)
def test_output_modes_follow_the_umask(
    mask: int,
    dir_mode: int,
    file_mode: int,
    umask: Callable[[int], None],
    tmp_path: Path,
    merchant_path: Path,
    run_cli: RunCli,
) -> None:
    out = tmp_path / "results"
    umask(mask)
    proc = run_cli("run", merchant_path, *SMALL, "--out", out)
    assert proc.returncode == 0, proc.stderr
    modes = {
        p.relative_to(tmp_path).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in [out, *out.rglob("*")]
    }
    expected = {name: dir_mode if (tmp_path / name).is_dir() else file_mode for name in modes}
    assert modes == expected


@pytest.mark.slow
def test_kill_9_leaves_nothing_or_a_complete_output(
    tmp_path: Path, merchant_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = tmp_path / "results"
    # its own store (a kill never touches the shared one), holding the run's calibration
    db = copy_template(tmp_path_factory, default_calibration_as_of(), tmp_path / "store.duckdb")
    args = [sys.executable, "-m", "gpucredit", "run", str(merchant_path), *SMALL]
    args += ["--db", str(db), "--out", str(out), "--force"]
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_INTERACTIVE")}

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    assert start().wait(timeout=300) == 0  # a first run: the timed one below is warm
    began = time.perf_counter()
    assert start().wait(timeout=300) == 0
    run_s = time.perf_counter() - began
    snapshot = tmp_path / "snapshot"
    shutil.copytree(out, snapshot)
    rng = np.random.default_rng(20261206)
    outcomes: list[tuple[bool, int]] = []  # (an output is there, staging folders left)
    for i, delay in enumerate(rng.uniform(0.2, 1.1, size=6) * run_s):
        if out.exists():  # the first kills write a new output, the rest replace one
            shutil.rmtree(out)
        if i >= 3:
            shutil.copytree(snapshot, out)
        stale = set(_staging_left(tmp_path))  # left by the kills before
        proc = start()
        if i % 2 == 0:  # any moment of the run
            time.sleep(delay)
        else:  # while the files are written: once its own staging folder appears
            while set(_staging_left(tmp_path)) <= stale and proc.poll() is None:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)  # reaped: its pid is gone for the next run's clean-up
        if out.exists():
            _assert_complete(out)
        outcomes.append((out.exists(), len(_staging_left(tmp_path))))
    assert start().wait(timeout=300) == 0
    _assert_complete(out)
    assert _staging_left(tmp_path) == [], outcomes  # the last run removed what kills left
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_locked_store_only_warns(
    tmp_path: Path,
    merchant_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A store held by another process costs the run record, never the finished run."""
    # a short wait for the lock: the default (30 s) only makes the same warning come later
    monkeypatch.setenv(LOCK_TIMEOUT_ENV_VAR, "1")
    db = tmp_path / "held.duckdb"
    script = (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
        " time.sleep(120)"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script, str(db)], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "held"
            result = simulate(load_deal(merchant_path), n_paths=200, seed=0, n_workers=1)
            cli_app._record([result], [], db)  # its calibration is recorded in db
        finally:
            holder.kill()
    err = capsys.readouterr().err
    assert err.startswith("warning: the run was not recorded in the store")
    assert "held.duckdb" in err
