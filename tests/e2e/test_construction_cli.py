"""Construction risk end to end: the Flash Compute example's construction table and JSON
record, and bad construction input (a delivery after the debt's maturity, a long-stop before
the scheduled delivery, a negative overrun) refused with one field-level message, exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import SHIPPED_DEALS, load_shipped_data
from tests.e2e.conftest import assert_rejected
from typer.testing import CliRunner

from gpucredit.cli.app import app

EXAMPLE = "terawulf/flash_compute_notes_2030"
WriteYaml = Callable[[Path, dict[str, Any]], Path]


def _late_past_maturity(data: dict[str, Any]) -> list[str]:
    data["fleet"][0]["construction"]["delay_months"] = {"probabilities": {0: 0.5, 60: 0.5}}
    return [
        "fleet[0].construction.delay_months.probabilities.60",
        "got 60",
        "before the debt's maturity (2030-12-31",
    ]


def _longstop_before_delivery(data: dict[str, Any]) -> list[str]:
    del data["contracts"][0]["guarantor"]  # a long-stop is refused beside a capped backstop
    data["contracts"][0]["longstop_date"] = "2026-06-30"
    return [
        "contracts[0].longstop_date",
        "got '2026-06-30'",
        "on or after the scheduled delivery",
    ]


def _negative_overrun(data: dict[str, Any]) -> list[str]:
    data["fleet"][0]["construction"]["cost_overrun_pct"] = {"probabilities": {-5: 0.5, 10: 0.5}}
    return [
        "fleet[0].construction.cost_overrun_pct.probabilities.-5.0",
        "got -5.0",
        "a cost overrun in percent between 0 and 300",
    ]


def _probabilities_not_one(data: dict[str, Any]) -> list[str]:
    data["fleet"][0]["construction"]["delay_months"] = {"probabilities": {0: 0.5, 3: 0.3}}
    return ["fleet[0].construction.delay_months.probabilities", "a sum of 1"]


def _construction_on_a_delivered_cohort(data: dict[str, Any]) -> list[str]:
    data["fleet"][0]["purchase_date"] = "2025-12-01"
    data["contracts"][0]["start"] = "2025-12-01"
    return ["fleet[0].construction", "a cohort delivered after as_of"]


CASES = {
    "delivery-after-maturity": _late_past_maturity,
    "longstop-before-delivery": _longstop_before_delivery,
    "negative-overrun": _negative_overrun,
    "probabilities-not-one": _probabilities_not_one,
    "construction-on-a-delivered-cohort": _construction_on_a_delivered_cohort,
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_construction_input(
    case: Callable[[dict[str, Any]], list[str]], tmp_path: Path, write_yaml: WriteYaml
) -> None:
    data = load_shipped_data(EXAMPLE)
    fragments = case(data)
    path = write_yaml(tmp_path / "deal.yaml", data)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "--json", "--out", str(out)])
    assert isinstance(result.exception, SystemExit), result.exception
    assert_rejected(result.exit_code, result.stdout, result.stderr, (str(path), *fragments), out)


@pytest.mark.slow  # two CLI runs of 256 paths with the fair spread, ~10 s
def test_the_example_reports_its_construction_risk_in_the_table_and_json(
    tmp_path: Path, write_yaml: WriteYaml
) -> None:
    path = SHIPPED_DEALS / f"{EXAMPLE}.yaml"
    table = CliRunner().invoke(app, ["run", str(path), "--paths", "256", "--quiet"])
    assert table.exit_code == 0, table.stderr
    assert "construction and completion risk" in table.stdout
    assert "Past long-stop" in table.stdout
    result = CliRunner().invoke(app, ["run", str(path), "--paths", "256", "--json", "--quiet"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    (record,) = document["construction"]
    assert record["deal"] == "flash-compute-construction"
    assert 2.0 < record["mean_delay_months"] < 5.0  # the distribution's mean is 3.28 months
    assert record["p90_delay_months"] == 6.0
    assert record["share_past_longstop"] == 0.0  # its lease has no long-stop (capped backstop)
    assert record["mean_overrun_usd"] > 0.0
    (facility,) = record["facilities"]
    assert set(facility) == {"facility", "pd_late", "pd_on_time", "el_late_pct", "el_on_time_pct"}
