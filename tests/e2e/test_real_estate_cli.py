"""Real-estate collateral end to end: its value and share of recoveries in the JSON, and bad
input (a negative capacity, an unknown facility) as one clean message with exit code 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import load_shipped_data
from tests.e2e.conftest import assert_rejected
from tests.e2e.test_bad_input import RunCli

STEM = "applied_digital/computeco_notes_2030"


@pytest.mark.slow  # a 200-path run of a 53-month structure with its spread solves: ~12 s
def test_real_estate_in_the_json(
    tmp_path: Path, write_yaml: Callable[[Path, dict[str, Any]], Path], run_cli: RunCli
) -> None:
    path = write_yaml(tmp_path / "deal.yaml", load_shipped_data(STEM))
    proc = run_cli("run", path, "--paths", "200", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)["facilities"][0]
    structure = record["structure"]
    (item,) = structure["real_estate"]
    assert item["name"] == "polaris-forge-1"
    assert item["haircut"] == 1.0  # Moody's: no value to buildings; the land counts
    assert item["liquidation_value_usd"] == item["land_value_usd"] == 375e6
    share = structure["real_estate_recovery_share"][record["name"]]
    assert share is None or 0.0 <= share <= 1.0
    steps = structure["waterfall_mean_paid_usd"]
    assert any(label.startswith("payment_account") for label in steps)
    # The CoreWeave lease outlives the notes by ten years: a default at maturity assigns it,
    # so the P fair spread is a few bp (9 here); when the lease was valued only to the notes'
    # maturity it was ~280 bp. 100 bp: far from both, whatever the 200 paths' noise (~5 bp).
    assert record["actuarial_spread_bps"] < 100.0


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (
            lambda d: d["real_estate"][0].update(it_capacity_mw=-250),
            ["real_estate[0].it_capacity_mw", "got -250", "greater than 0"],
        ),
        (
            lambda d: d["real_estate"][0].update(secures=["no-such-notes"]),
            ["real_estate[0].secures[0]", "got 'no-such-notes'", "computeco-notes-9.25-2030"],
        ),
    ],
    ids=["negative-capacity", "unknown-facility"],
)
def test_bad_real_estate(
    change: Callable[[dict[str, Any]], None],
    fragments: list[str],
    tmp_path: Path,
    write_yaml: Callable[[Path, dict[str, Any]], Path],
    run_cli: RunCli,
) -> None:
    data = load_shipped_data(STEM)
    change(data)
    path = write_yaml(tmp_path / "deal.yaml", data)
    out = tmp_path / "out"
    proc = run_cli("run", path, "--paths", "200", "--json", "--out", out)
    assert_rejected(
        proc.returncode, proc.stdout, proc.stderr, (str(path), "(line ", *fragments), out
    )
