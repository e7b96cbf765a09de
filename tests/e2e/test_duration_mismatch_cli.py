"""The duration mismatch through the real CLI: in --json, in --out's files and in the table."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.e2e.conftest import cli, example_file

FIGURES = (
    "debt_wal_months",
    "debt_wal_years",
    "collateral_half_life_p50_months",
    "collateral_half_life_p5_months",
    "contract_wal_months",
    "ltv_over_100_month",
    "principal_share_at_contract_end",
)


@pytest.fixture(scope="module")
def duration_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("duration") / "results"
    files = [example_file("merchant_h100"), example_file("ddtl2_tiered_structure")]
    args = ("--paths", "300", "--seed", "2", "--workers", "1", "--json", "--out", out)
    return cli("run", *files, *args), out


def test_every_facility_has_finite_figures_or_nulls_with_reasons(
    duration_run: tuple[subprocess.CompletedProcess[str], Path],
    stdout_json: Callable[[subprocess.CompletedProcess[str]], dict[str, Any]],
) -> None:
    proc, _ = duration_run
    document = stdout_json(proc)
    facilities = document["facilities"]
    assert len(facilities) == 4  # the merchant loan and the structure's three facilities
    for f in facilities:
        d = f["duration_mismatch"]
        notes = d.get("notes", {})
        for key in FIGURES:
            value = d[key]
            if value is None:
                assert notes[key], (f["name"], key)  # a null always says why
            else:
                assert isinstance(value, int | float) and math.isfinite(value)
        assert d["debt_wal_months"] > 0.0
        assert d["debt_wal_years"] == pytest.approx(d["debt_wal_months"] / 12, abs=1e-4)
    merchant = next(f for f in facilities if f["deal"] == "merchant-h100")["duration_mismatch"]
    assert merchant["contract_wal_months"] is None  # merchant only: no contracts
    assert "no contract" in merchant["notes"]["contract_wal_months"]
    tiered = [f["duration_mismatch"] for f in facilities if f["deal"] != "merchant-h100"]
    assert all(t["contract_wal_months"] is not None for t in tiered)


def test_out_writes_the_figures(
    duration_run: tuple[subprocess.CompletedProcess[str], Path],
    stdout_json: Callable[[subprocess.CompletedProcess[str]], dict[str, Any]],
) -> None:
    proc, out = duration_run
    document = stdout_json(proc)
    summary = pd.read_csv(out / "summary.csv", index_col=["deal", "facility"])
    assert set(FIGURES) <= set(summary.columns)
    table = pd.read_csv(out / "duration_mismatch.csv", index_col=["deal", "facility"])
    assert len(table) == len(document["facilities"])
    for f in document["facilities"]:
        row = table.loc[(f["deal"], f["name"])]
        for key in FIGURES:
            json_value = f["duration_mismatch"][key]
            if json_value is None:
                assert pd.isna(row[key]) and key in row["notes"]
            else:
                # JSON rounds to 4 decimals
                assert row[key] == pytest.approx(json_value, abs=1e-4)


def test_the_table_is_printed_within_80_columns() -> None:
    # stdout is a pipe, so the console is 170 columns wide: the table keeps its own width
    proc = cli("run", example_file("ddtl_ig_contracted"), "--paths", "200", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("duration mismatch"))
    block = []
    for line in lines[start:]:
        block.append(line)
        if line.startswith("└"):
            break
    assert "WAL" in "\n".join(block)
    assert max(len(line.rstrip()) for line in block) <= 80
