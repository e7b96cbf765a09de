"""One parameter path: the CLI and the Python API resolve ``calibration`` the same way, give
bit-identical numbers for one seed, and run any as-of date in the data's span (issue 10)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import load_example_data
from tests.e2e.conftest import cli, example_file

import gpucredit
from gpucredit.market.store import MarketStore
from gpucredit.reports.tables import run_document

QUICK = ("--paths", "400", "--seed", "0", "--workers", "1", "--json")


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


@pytest.mark.parametrize("calibration", ["latest", "sourced"])
def test_cli_json_equals_python_summary(tmp_path: Path, calibration: str) -> None:
    db = tmp_path / "store.duckdb"
    deal = example_file("merchant_h100")
    done = cli("run", deal, *QUICK, "--db", db, "--calibration", calibration)
    assert done.returncode == 0, done.stderr
    from_cli = json.loads(done.stdout)
    result = gpucredit.simulate(
        gpucredit.load_deal(deal), n_paths=400, seed=0, n_workers=1, calibration=calibration, db=db
    )
    from_python = run_document([result], 0, 400)
    # bit-identical: the JSON records are compared exactly, floats included
    assert from_python == from_cli
    assert result.provenance["calibration_id"] == from_cli["run"]["calibration_id"]
    if calibration == "sourced":
        assert from_cli["run"]["calibration_id"] == "sourced"
    else:
        with MarketStore(db) as store:
            assert store.load_calibration().id == from_cli["run"]["calibration_id"]


def test_default_is_latest_everywhere(tmp_path: Path) -> None:
    """No ``calibration`` argument on either side: the same stored calibration is used."""
    db = tmp_path / "store.duckdb"
    deal = example_file("merchant_h100")
    done = cli("run", deal, *QUICK, "--db", db)
    assert done.returncode == 0, done.stderr
    result = gpucredit.simulate(gpucredit.load_deal(deal), n_paths=400, seed=0, db=db)
    assert run_document([result], 0, 400) == json.loads(done.stdout)
    assert result.provenance["calibration_id"].startswith("cal-")


def _miner_2021(tmp_path: Path) -> Path:
    """The hosting-pivot example as of 2021-06-30, without GPUs or hosting leases."""
    data = load_example_data("miner_hosting_pivot")
    data = copy.deepcopy(data)
    data.update(name="miner-2021", as_of="2021-06-30", btc_price_usd=35_000)
    data.pop("hosting")
    data["facilities"] = [f for f in data["facilities"] if f["name"] == "asic-equipment-loan"]
    data["margin_loan"].update(tenor_months=12, principal_usd=15_000_000)
    path = tmp_path / "miner_2021.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_2021_miner_runs_from_the_cli_on_data_up_to_its_as_of(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    # a calibration dated after the miner exists; 'latest' must not use it
    assert cli("calibrate", "--db", db).returncode == 0
    miner = _miner_2021(tmp_path)
    done = cli(
        "run", miner, "--paths", "200", "--attribution-paths", "50", "--workers", "1", "--json",
        "--db", db,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert _finite(document)
    (record,) = document["miners"]
    assert 0.0 <= record["borrower_pd"] <= 1.0
    with MarketStore(db) as store:
        used = store.load_calibration(document["run"]["calibration_id"])
    assert used.as_of <= dt.date(2021, 6, 30)
    # the stored fit as of 2021-06-30 kept the rent priors (no rent index before 2022)
    assert used.params["rent"] is None
    # and the Python API gives the same numbers, bit for bit
    result = gpucredit.simulate_miner(
        gpucredit.load_miner(miner), n_paths=200, seed=0, n_workers=1, attribution_paths=50, db=db
    )
    assert run_document([], 0, 200, [result]) == document


def test_a_run_refuses_a_calibration_dated_after_its_as_of(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    made = cli("calibrate", "--as-of", "2026-06-30", "--db", db)
    assert made.returncode == 0, made.stderr
    with MarketStore(db) as store:
        later = store.load_calibration().id
    done = cli("run", _miner_2021(tmp_path), *QUICK, "--db", db, "--calibration", later)
    assert done.returncode == 2
    assert later in done.stderr and "2021-06-30" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize("as_of", ["2009-12-31", "2030-01-31"])
def test_an_as_of_outside_the_data_names_file_field_and_span(tmp_path: Path, as_of: str) -> None:
    data = yaml.safe_load(_miner_2021(tmp_path).read_text(encoding="utf-8"))
    data["as_of"] = as_of
    path = tmp_path / "outside.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    done = cli("run", path, *QUICK, "--db", tmp_path / "store.duckdb")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    message = " ".join(done.stderr.split())
    assert "outside.yaml" in message and "as_of" in message and as_of in message
    assert "2010-07" in message and "btc_daily.csv" in message


@pytest.mark.parametrize("as_of", ["2021-12-31", "2022-06-30"])
def test_calibrate_any_as_of_in_the_span(tmp_path: Path, as_of: str) -> None:
    db = tmp_path / "store.duckdb"
    done = cli("calibrate", "--as-of", as_of, "--db", db)
    assert done.returncode == 0, done.stderr
    with MarketStore(db) as store:
        stored = store.load_calibration()
    assert stored.as_of.isoformat() == as_of and stored.id in done.stdout


def test_calibrate_as_of_outside_the_span_is_exit_2(tmp_path: Path) -> None:
    done = cli("calibrate", "--as-of", "2001-01-31", "--db", tmp_path / "store.duckdb")
    assert done.returncode == 2
    assert "--as-of" in done.stderr and "Traceback" not in done.stderr


def test_an_imported_rent_series_reaches_the_calibration(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    series = tmp_path / "licensed.csv"
    lines = ["date,value"] + [f"2025-{m:02d}-15,{2.0 + 0.05 * m:.2f}" for m in range(1, 13)]
    series.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli("data", "import", "licensed_h100", series, "--db", db).returncode == 0
    shipped = cli("calibrate", "--as-of", "2026-06-30", "--db", db)
    chosen = cli("calibrate", "--as-of", "2026-06-30", "--rent-series", "licensed_h100", "--db", db)
    assert shipped.returncode == 0 and chosen.returncode == 0, chosen.stderr
    with MarketStore(db) as store:
        rows = store.query("SELECT id, data_hash, params_json FROM calibrations ORDER BY id")
    assert rows["id"].nunique() == 2 and rows["data_hash"].nunique() == 2
    fitted = [json.loads(p) for p in rows["params_json"]]
    assert {p.get("rent_series") for p in fitted} == {None, "licensed_h100"}
    unknown = cli("calibrate", "--rent-series", "no_such_series", "--db", db)
    assert unknown.returncode == 2 and "no_such_series" in unknown.stderr
