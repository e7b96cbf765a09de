"""The output directory rules of ``gpucredit.io.outputs``: checks, slugs, staging, clean-up."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import gpucredit
from gpucredit.errors import SpecError
from gpucredit.io.outputs import (
    MANIFEST_NAME,
    OUTPUT_KEY,
    STAGING_PREFIX,
    OutputTarget,
    check_output_dir,
    folder_names,
    write_run,
)
from gpucredit.pipeline import SimulationResult
from tests.conftest import EXAMPLES


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    deal = gpucredit.load_deal(EXAMPLES / "merchant_h100.yaml")
    return gpucredit.simulate(deal, n_paths=200, seed=0, n_workers=1, keep_paths=20)


def _write(
    out: OutputTarget | Path,
    result: SimulationResult,
    before_publish: Callable[[], None] | None = None,
) -> Path:
    return write_run(out, [result], {"run": {"seed": 0}}, before_publish=before_publish)


def _dead_pid() -> int:
    """The id of a process that has exited and been reaped."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


# -- folder names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["merchant-h100", "b200_ai_lab"], ["merchant-h100", "b200_ai_lab"]),
        ([".", "..", ".hidden"], ["_", "__", "_hidden"]),
        (["a/b", "a_b", "A_B", "a_b"], ["a_b", "a_b-2", "A_B-3", "a_b-4"]),
        (["", "é", "a\\b\x00c"], ["deal", "_", "a_b_c"]),
        (["x" * 100, "x" * 100], ["x" * 64, "x" * 62 + "-2"]),
    ],
    ids=["plain", "dots", "fold-alike", "empty-and-odd", "long"],
)
def test_folder_names_are_unique_slugs(names: list[str], expected: list[str]) -> None:
    assert folder_names(names) == expected


def test_folder_names_never_leave_a_folder() -> None:
    names = ["..", "../..", "/etc/passwd", "a/../../b", "~", "C:\\x", "-rf", " "]
    for slug in folder_names(names):
        assert slug not in {".", ".."} and not slug.startswith(".")
        assert set(slug) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
        assert 1 <= len(slug) <= 64


# -- check_output_dir ------------------------------------------------------------------------


def test_a_new_or_empty_folder_is_accepted(tmp_path: Path) -> None:
    assert not check_output_dir(tmp_path / "new" / "deeper").replaces
    (tmp_path / "empty").mkdir()
    assert check_output_dir(tmp_path / "empty").path == (tmp_path / "empty").resolve()


def test_a_folder_with_a_users_file_is_refused_even_with_force(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "deal.yaml").write_text("name: x\n", encoding="utf-8")
    for force in (False, True):
        with pytest.raises(SpecError, match=r"field '--out'.*'deal.yaml'.*never deletes"):
            check_output_dir(tmp_path / "out", force=force)


def test_a_manifest_without_the_key_is_not_an_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST_NAME).write_text(json.dumps({"files": []}), encoding="utf-8")
    with pytest.raises(SpecError, match=r"manifest\.json"):
        check_output_dir(out, force=True)


def test_an_earlier_output_needs_force(tmp_path: Path, result: SimulationResult) -> None:
    out = _write(tmp_path / "out", result)
    with pytest.raises(SpecError, match="add --force"):
        check_output_dir(out)
    assert check_output_dir(out, force=True).replaces
    os.symlink(tmp_path, out / "merchant-h100" / "link")  # not listed: a user's
    with pytest.raises(SpecError, match="merchant-h100/link"):
        check_output_dir(out, force=True)


def test_a_file_or_a_path_inside_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "f"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(SpecError, match="not an existing file"):
        check_output_dir(blocker)
    with pytest.raises(SpecError, match="inside a file"):
        check_output_dir(blocker / "a" / "b")


def test_the_root_and_the_working_folder_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SpecError, match="root"):
        check_output_dir("/")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match="current working directory"):
        check_output_dir(".")


# -- write_run -------------------------------------------------------------------------------


def test_write_run_lists_every_file_in_its_manifest(
    tmp_path: Path, result: SimulationResult
) -> None:
    out = _write(tmp_path / "a" / "out", result)
    manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    held = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert held == {*manifest["files"], MANIFEST_NAME}
    assert manifest[OUTPUT_KEY] == gpucredit.__version__
    assert manifest["deals"] == [{"name": "merchant-h100", "folder": "merchant-h100"}]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["out"]


def test_a_failure_before_publishing_leaves_the_disk_as_it_was(
    tmp_path: Path, result: SimulationResult
) -> None:
    def fail() -> None:
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError, match="store"):
        _write(tmp_path / "new" / "out", result, before_publish=fail)
    assert list(tmp_path.iterdir()) == []  # no staging, not even the parent made for it


def test_a_file_put_in_the_folder_during_the_run_is_kept(
    tmp_path: Path, result: SimulationResult
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = check_output_dir(out)

    def user_saves_a_file() -> None:
        (out / "mine.txt").write_text("mine", encoding="utf-8")

    with pytest.raises(SpecError, match="filled during the run"):
        _write(target, result, before_publish=user_saves_a_file)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_force_puts_back_an_output_that_gained_a_users_file(
    tmp_path: Path, result: SimulationResult
) -> None:
    out = _write(tmp_path / "out", result)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    target = check_output_dir(out, force=True)

    def user_saves_a_file() -> None:
        (out / "mine.txt").write_text("mine", encoding="utf-8")

    with pytest.raises(SpecError, match=r"'mine\.txt' appeared"):
        _write(target, result, before_publish=user_saves_a_file)
    after = sorted(p.relative_to(out) for p in out.rglob("*"))
    assert after == sorted([*before, Path("mine.txt")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# -- stale staging ---------------------------------------------------------------------------


def _staging(parent: Path, pid: int, *, marker: bool = True, host: str | None = None) -> Path:
    folder = parent / f"{STAGING_PREFIX}{pid}-0badc0de"
    folder.mkdir()
    if marker:
        record = {"pid": pid, "host": host or socket.gethostname()}
        (folder / ".gpucredit-staging").write_text(json.dumps(record), encoding="utf-8")
        (folder / "summary.json").write_text("{}", encoding="utf-8")
    return folder


def test_stale_staging_of_a_dead_writer_is_removed(tmp_path: Path) -> None:
    dead = _dead_pid()
    _staging(tmp_path, dead)
    check_output_dir(tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_staging_of_a_live_writer_or_another_host_is_kept(tmp_path: Path) -> None:
    live = _staging(tmp_path, os.getppid())  # the process that started pytest is alive
    other = _staging(tmp_path, _dead_pid(), host="another-host")
    user = tmp_path / f"{STAGING_PREFIX}99999999-mine"  # no marker, not empty: not ours
    user.mkdir()
    (user / "notes.txt").write_text("mine", encoding="utf-8")
    check_output_dir(tmp_path / "out")
    assert sorted(tmp_path.iterdir()) == sorted([live, other, user])


def test_an_empty_staging_folder_without_marker_is_removed(tmp_path: Path) -> None:
    _staging(tmp_path, _dead_pid(), marker=False)
    check_output_dir(tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_a_path_the_system_cannot_take_is_a_clean_refusal(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"field '--out'.*a directory that can be written"):
        check_output_dir(tmp_path / ("x" * 300) / "out")  # a name over 255 bytes
