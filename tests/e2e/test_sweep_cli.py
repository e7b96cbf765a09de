"""``gpucredit sweep``: the issue's example runs (exit 0, a table), csv/json and --out, and a
bad --set is one error line naming the option, the path and the value (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import EXAMPLES
from tests.e2e.conftest import assert_rejected
from typer.testing import CliRunner

from gpucredit.cli.app import app

MERCHANT = str(EXAMPLES / "merchant_h100.yaml")
#: The issue's example, at few paths on the sourced parameters (fast, no calibration).
ISSUE_SETTINGS = [
    "--set",
    "loan.rate.margin_bps=450,650,850",
    "--set",
    "merchant.price_factor=0.6,0.79",
]
FAST = ["--paths", "64", "--calibration", "sourced"]


def test_the_issues_example_prints_a_table_of_six_combinations() -> None:
    result = CliRunner().invoke(app, ["sweep", MERCHANT, *ISSUE_SETTINGS, *FAST])
    assert result.exit_code == 0, result.output
    assert "loan.rate.margin_bps" in result.stdout
    assert "merchant.price_factor" in result.stdout
    assert result.stdout.count("term-loan") == 6  # 3 margins x 2 price factors


def test_json_and_out_csv_hold_the_same_rows(tmp_path: Path) -> None:
    out = tmp_path / "sweep.csv"
    args = ["sweep", MERCHANT, "--set", "merchant.price_factor=0.6,0.79", *FAST]
    result = CliRunner().invoke(app, [*args, "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["run"]["settings"] == {"merchant.price_factor": [0.6, 0.79]}
    frame = pd.read_csv(out)
    assert list(frame["merchant.price_factor"]) == [0.6, 0.79]
    # the CSV's text and the JSON's number are the same float
    assert list(frame["pd"]) == [row["pd"] for row in document["rows"]]
    again = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert_rejected(again.exit_code, again.stdout, again.stderr, ["--out", "add --force"])


@pytest.mark.parametrize(
    ("setting", "fragments"),
    [
        ("loan.rate.margn_bps=450", ["field '--set loan.rate.margn_bps'", "got 450", "margin_bps"]),
        ("merchant.price_factor=0,0.79", ["'--set merchant.price_factor'", "got 0", "greater"]),
        ("merchant.price_factor", ["field '--set'", "PATH=V1,V2"]),
        ("merchant.price_factor=0.6,,0.7", ["values separated by commas"]),
    ],
)
def test_a_bad_set_exits_2_with_one_line_naming_it(setting: str, fragments: list[str]) -> None:
    result = CliRunner().invoke(app, ["sweep", MERCHANT, "--set", setting, *FAST])
    assert_rejected(result.exit_code, result.stdout, result.stderr, fragments)
