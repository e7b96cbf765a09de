"""A bad book through the real CLI (issue 14): exit code 2, one message naming the book file,
the field, its line and what was expected, no traceback, nothing on stdout and nothing written
under ``--out``; and the ``--scheduler`` option's misuses.

Each case writes a small book of two hand-made deals (``tests.conftest.hand_deal_data``) in
``tmp_path`` and breaks one thing. The runs use the sourced factor parameters, so no store is
calibrated.
"""

from __future__ import annotations

import copy
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import hand_deal_data
from tests.e2e.conftest import EXIT_INPUT, RunCli, example_file

from gpucredit.cli.app import shipped_examples
from gpucredit.deals import main_job_deals

#: Builds a broken book in a folder from a good one; returns what the message must contain.
Breaker = Callable[[Path, dict[str, Any]], list[str]]

_RUN = ("--paths", "64", "--block-size", "32", "--calibration", "sourced", "--json")


def _deal(name: str, borrower: str, tenant: str, tenant_pd_pct: float) -> dict[str, Any]:
    data = copy.deepcopy(hand_deal_data())
    data["name"] = name
    data["borrower"] = {"name": borrower}
    data["contracts"][0]["tenant"] = tenant
    data["contracts"][0]["annual_pd_pct"] = tenant_pd_pct
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _good_book(folder: Path) -> dict[str, Any]:
    """Two deals leasing to one tenant at one PD, and the book holding both (written)."""
    _write(folder / "a.yaml", _deal("deal a", "A SPV", "T", 1.0))
    _write(folder / "b.yaml", _deal("deal b", "B SPV", "T", 1.0))
    return {
        "book": "small book",
        "positions": [
            {"deal": "a.yaml", "held_pct": 50, "name": "a"},
            {"deal": "b.yaml", "facility": "L", "held_usd": 100_000, "name": "b"},
        ],
        "abs": {"classes": [{"name": "A", "size_pct": 70, "coupon_pct": 5}]},
    }


def _missing_deal(folder: Path, book: dict[str, Any]) -> list[str]:
    book["positions"][1]["deal"] = "no_such_deal.yaml"
    return ["positions[1].deal", "(line 6)", "got 'no_such_deal.yaml'", "a deal YAML file"]


def _unknown_facility(folder: Path, book: dict[str, Any]) -> list[str]:
    book["positions"][1]["facility"] = "term-loan-b"
    return ["positions[1].facility", "(line 7)", "got 'term-loan-b'", "one of ['L']"]


def _two_risks(folder: Path, book: dict[str, Any]) -> list[str]:
    _write(folder / "b.yaml", _deal("deal b", "B SPV", "T", 3.0))
    return ["field 'positions[1].deal'", "'T'", "'deal a'", "one risk per company in a book"]


def _cycle(folder: Path, book: dict[str, Any]) -> list[str]:
    _write(folder / "a.yaml", _deal("deal a", "A Co", "B Co", 1.0))
    _write(folder / "b.yaml", _deal("deal b", "B Co", "A Co", 1.0))
    return ["field 'positions[1].deal'", "close no cycle", "A Co -tenant_of-> B Co"]


def _held_pct_zero(folder: Path, book: dict[str, Any]) -> list[str]:
    book["positions"][0]["held_pct"] = 0
    return ["positions[0].held_pct", "(line 4)", "got 0", "expected greater than 0"]


def _held_usd_without_facility(folder: Path, book: dict[str, Any]) -> list[str]:
    del book["positions"][1]["facility"]
    return ["positions[1].facility", "(line 6)", "the facility a 'held_usd' amount is of"]


def _abs_unknown_position(folder: Path, book: dict[str, Any]) -> list[str]:
    book["abs"]["positions"] = ["a", "c"]
    return ["abs.positions", "(line ", "'c'"]


def _unknown_field(folder: Path, book: dict[str, Any]) -> list[str]:
    book["positions"][0]["held_percent"] = 50
    return ["positions[0].held_percent", "(line 6)", "expected no such field"]


CASES: dict[str, Breaker] = {
    "missing deal file": _missing_deal,
    "unknown facility": _unknown_facility,
    "company with two risks": _two_risks,
    "cycle in the company graph": _cycle,
    "held_pct 0": _held_pct_zero,
    "held_usd without facility": _held_usd_without_facility,
    "abs position not in the book": _abs_unknown_position,
    "unknown field": _unknown_field,
}


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _assert_one_clean_message(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == EXIT_INPUT, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr  # one issue, one line


def test_the_good_book_runs(tmp_path: Path, run_cli: RunCli) -> None:
    """The cases below break this book, which runs: each failure is the one thing broken."""
    _write(tmp_path / "book.yaml", _good_book(tmp_path))
    proc = run_cli("run", tmp_path / "book.yaml", *_RUN, "-q")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("breaker", CASES.values(), ids=CASES.keys())
def test_bad_book(breaker: Breaker, tmp_path: Path, run_cli: RunCli) -> None:
    book = _good_book(tmp_path)
    fragments = breaker(tmp_path, book)
    path = tmp_path / "book.yaml"
    _write(path, book)
    out = tmp_path / "out"
    before = _listing(tmp_path)

    proc = run_cli("run", path, *_RUN, "--out", out)

    _assert_one_clean_message(proc)
    assert f"error: {path}: " in proc.stderr  # the book file, not a deal file
    for fragment in fragments:
        assert fragment in proc.stderr, proc.stderr
    assert not out.exists()
    assert _listing(tmp_path) == before  # no staging folder either


#: The cases found when the deals are put together (``pipeline.book.build_book``): the message
#: names the position whose deal brings the second risk or closes the cycle, with its line.
_NO_LINE = {"company with two risks": _two_risks, "cycle in the company graph": _cycle}


@pytest.mark.parametrize("breaker", _NO_LINE.values(), ids=_NO_LINE.keys())
def test_graph_errors_name_a_line(breaker: Breaker, tmp_path: Path, run_cli: RunCli) -> None:
    book = _good_book(tmp_path)
    breaker(tmp_path, book)
    path = tmp_path / "book.yaml"
    _write(path, book)
    proc = run_cli("run", path, *_RUN)
    _assert_one_clean_message(proc)
    assert "(line " in proc.stderr
    assert "field 'positions[" in proc.stderr


def test_scheduler_with_a_deal_file(tmp_path: Path, run_cli: RunCli) -> None:
    out = tmp_path / "out"
    deal = example_file("merchant_h100")
    proc = run_cli("run", deal, "--scheduler", "tcp://127.0.0.1:8786", *_RUN, "--out", out)
    _assert_one_clean_message(proc)
    assert "field '--scheduler'" in proc.stderr
    assert "book files only" in proc.stderr
    assert not out.exists()


@pytest.mark.slow
def test_scheduler_nobody_listens(tmp_path: Path, run_cli: RunCli) -> None:
    """Port 1 on loopback: nothing listens (tcpmux is never served there); the run waits the
    executor's connect timeout (10 s), then stops with one message and writes nothing."""
    _write(tmp_path / "book.yaml", _good_book(tmp_path))
    out = tmp_path / "out"
    proc = run_cli(
        "run", tmp_path / "book.yaml", "--scheduler", "tcp://127.0.0.1:1", *_RUN, "--out", out
    )
    _assert_one_clean_message(proc)
    assert "field '--scheduler'" in proc.stderr
    assert "got 'tcp://127.0.0.1:1'" in proc.stderr
    assert "a running Dask scheduler" in proc.stderr
    assert not out.exists()


def test_no_argument_runs_no_book() -> None:
    """``gpucredit run`` alone runs the shipped deal book: no book file is among them."""
    files = main_job_deals()
    assert files
    assert all(p.parent.parent.name == "deals" for p in files)
    assert not any("book" in yaml.safe_load(p.read_text(encoding="utf-8")) for p in files)
    assert os.path.isdir(shipped_examples()[0].parent / "books")
