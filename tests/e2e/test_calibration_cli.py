"""Calibrated parameters end to end: fitted on first use, selectable by id, recorded in runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.e2e.conftest import cli, example_file

from gpucredit.market.store import MarketStore

QUICK = ("--paths", "300", "--workers", "1", "--json")


@pytest.fixture
def fresh_db(tmp_path: Path) -> Path:
    return tmp_path / "fresh.duckdb"


def test_first_run_calibrates_and_records_its_provenance(fresh_db: Path) -> None:
    deal = example_file("merchant_h100")
    done = cli("run", deal, *QUICK, "--db", fresh_db)
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)["run"]
    assert run["calibration_id"].startswith("cal-")
    with MarketStore(fresh_db) as store:
        stored = store.load_calibration()
        assert run["calibration_id"] == stored.id
        assert run["data_hash"] == store.data_hash == stored.data_hash
        runs = store.query("SELECT calibration_id, data_hash, n_paths FROM runs")
    assert list(runs["calibration_id"]) == [stored.id]
    assert list(runs["data_hash"]) == [run["data_hash"]]
    assert list(runs["n_paths"]) == [300]


def test_calibrate_then_run_with_that_id(fresh_db: Path) -> None:
    done = cli("calibrate", "--as-of", "2026-06-30", "--db", fresh_db)
    assert done.returncode == 0, done.stderr
    with MarketStore(fresh_db) as store:
        stored = store.load_calibration()
    assert stored.as_of.isoformat() == "2026-06-30"
    assert stored.id in done.stdout
    deal = example_file("b200_ai_lab")
    ran = cli("run", deal, *QUICK, "--db", fresh_db, "--calibration", stored.id)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["run"]["calibration_id"] == stored.id
    # the sourced hand-set parameters are one flag away, and give other numbers
    sourced = cli("run", deal, *QUICK, "--db", fresh_db, "--calibration", "default")
    assert sourced.returncode == 0, sourced.stderr
    assert json.loads(sourced.stdout)["run"]["calibration_id"] == "sourced"


def test_unknown_calibration_id_is_a_clear_error(fresh_db: Path) -> None:
    done = cli(
        "run", example_file("merchant_h100"), *QUICK, "--db", fresh_db, "--calibration", "cal-nope"
    )
    assert done.returncode == 2
    assert "cal-nope" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_bad_as_of_is_a_clear_error(fresh_db: Path) -> None:
    done = cli("calibrate", "--as-of", "2026-13-01", "--db", fresh_db)
    assert done.returncode == 2
    assert "--as-of" in done.stderr and "2026-13-01" in done.stderr
    assert "Traceback" not in done.stderr
