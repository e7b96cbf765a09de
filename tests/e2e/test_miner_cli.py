"""The miner example from the command line: tables, JSON and written results."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from tests._calibrated import copy_template
from tests.conftest import load_example_data
from tests.e2e.conftest import RunCli, example_file

from gpucredit.market.store import MarketStore

MINER_RUN = ("--paths", "200", "--attribution-paths", "100", "--workers", "1", "--seed", "4")


def test_the_miner_example_runs_from_the_cli_with_its_premium_and_attribution(
    run_cli: RunCli, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = example_file("miner_hosting_pivot")
    out = tmp_path / "results"
    # a store of its own, holding the calibration of the example's as-of date (fitted once)
    db = copy_template(tmp_path_factory, dt.date(2026, 5, 31), tmp_path / "store.duckdb")
    table = run_cli("run", str(path), *MINER_RUN, "--out", str(out), "--db", str(db))
    assert table.returncode == 0, table.stderr
    with MarketStore(db) as store:
        runs = store.query("SELECT spec_hash, seed, n_paths FROM runs")
    assert list(runs["n_paths"]) == [200] and list(runs["seed"]) == [4]  # the run is recorded
    for title in ("bitcoin miners", "which leg breaks the miner", "Premium", "gpu_rent"):
        assert title in table.stdout
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    (miner,) = summary["miners"]
    assert miner["attribution_paths"] == 100
    el = miner["attribution"]["metrics"]["expected_loss_usd"]
    parts = el["baseline"] + sum(el["shapley"].values())
    assert abs(parts - el["total"]) <= 1e-6 * max(1.0, abs(el["total"]))  # Shapley adds up
    manifest = json.loads((out / "miner-hosting-pivot" / "manifest.json").read_text())
    assert manifest["provenance"]["seed"] == 4 and manifest["spec"]["name"] == "miner-hosting-pivot"
    frame = pd.read_csv(out / "miners.csv")
    assert list(frame["facility"]) == [f["name"] for f in miner["facilities"]]
    # the duration mismatch of every facility: a finite figure or null with its reason
    assert "duration mismatch" in table.stdout
    for f in miner["facilities"]:
        d = f["duration_mismatch"]
        assert d["debt_wal_months"] > 0
        for key in ("collateral_half_life_p50_months", "collateral_half_life_p5_months"):
            assert (d[key] is None and d["notes"][key]) or d[key] > 0
    durations = pd.read_csv(out / "duration_mismatch.csv")
    assert list(durations["facility"]) == list(frame["facility"])


def test_a_bad_miner_file_is_a_clear_error(
    run_cli: RunCli, tmp_path: Path, stdout_json: Callable[..., Any]
) -> None:
    data = load_example_data("miner_hosting_pivot")
    data["margin_loan"]["liquidation_ltv_pct"] = 70
    bad = tmp_path / "miner.yaml"
    bad.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = run_cli("run", str(bad), *MINER_RUN, "--out", str(tmp_path / "never"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "miner.yaml" in result.stderr and "margin_call_ltv_pct" in result.stderr
    assert not (tmp_path / "never").exists()


@pytest.mark.slow  # one CLI run with the seven-point curve: a process start and ~9 runs
def test_a_miner_with_its_own_gpus_reports_its_premium_curve_in_the_table_and_json(
    run_cli: RunCli, tmp_path: Path
) -> None:
    path = example_file("iren_style_miner")
    tiny = ("--paths", "64", "--attribution-paths", "16", "--workers", "1", "--seed", "4")
    table = run_cli("run", str(path), *tiny, "--out", str(tmp_path / "out"))
    assert table.returncode == 0, table.stderr
    assert "over the BTC-GPU stress correlation" in table.stdout
    assert "0.90" in table.stdout and "borrower" in table.stdout
    # the JSON written beside the table is the one --format json prints (one record)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    (miner,) = summary["miners"]
    curve = miner["premium_curve"]
    assert curve["paths"] == 64
    rhos = [p["stress_correlation"] for p in curve["points"]]
    assert rhos == [0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9]
    names = [f["name"] for f in miner["facilities"]]
    for point in curve["points"]:
        for name in [*names, "borrower"]:
            row = point[name]
            assert row["pd_se"] is not None and row["el_se_usd"] is not None
            assert row["pd"] is not None and abs(row["pd"]) <= 1.0
    # the margin loan is served by both legs: the GPU cloud's cash meets its margin calls
    assert miner["facilities"][-1]["name"] == "btc-margin-loan"
    frame = pd.read_csv(tmp_path / "out" / "premium_curve.csv")
    assert len(frame) == 7 * (len(names) + 1)  # every point, every facility and the borrower
    assert set(frame["facility"]) == {*names, "borrower"}
