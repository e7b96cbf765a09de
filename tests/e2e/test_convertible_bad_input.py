"""Bad input in a convertible's equity option and soft call: exit code 2, one message naming
the file, the field, the value and the expectation, nothing on stdout."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import load_example_data
from tests.e2e.conftest import assert_rejected
from typer.testing import CliRunner

from gpucredit.cli.app import app

WriteYaml = Callable[[Path, dict[str, Any]], Path]


def _trigger_below_par(data: dict[str, Any]) -> list[str]:
    data["facilities"][1]["soft_call"]["trigger_pct"] = 90
    return ["facilities[1].soft_call.trigger_pct", "got 90", "greater than or equal to 100"]


def _soft_call_after_maturity(data: dict[str, Any]) -> list[str]:
    data["facilities"][1]["soft_call"]["from"] = "2032-06-01"
    return ["facilities[1].soft_call.from", "got '2032-06-01'", "before the facility's maturity"]


def _negative_volatility(data: dict[str, Any]) -> list[str]:
    data["borrower"]["equity_vol_pct"] = -20
    return ["borrower.equity_vol_pct", "got -20", "greater than or equal to 0"]


def _correlation_above_one(data: dict[str, Any]) -> list[str]:
    data["borrower"]["rho_fleet"] = 1.5
    return ["borrower.rho_fleet", "got 1.5", "less than or equal to 1"]


def _negative_new_tenor(data: dict[str, Any]) -> list[str]:
    data["facilities"][1]["refinancing"]["new_tenor_months"] = -12
    return ["facilities[1].refinancing.new_tenor_months", "got -12", "greater than or equal to 0"]


def _put_after_maturity(data: dict[str, Any]) -> list[str]:
    data["facilities"][1]["put"] = {"date": "2032-06-01", "price_pct": 100}
    return ["facilities[1].put.date", "got '2032-06-01'", "before the facility's maturity"]


def _put_above_par(data: dict[str, Any]) -> list[str]:
    data["facilities"][1]["put"] = {"date": "2029-12-01", "price_pct": 110}
    return ["facilities[1].put.price_pct", "got 110", "less than or equal to 100"]


CASES: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "soft-call-trigger-below-100": _trigger_below_par,
    "soft-call-after-maturity": _soft_call_after_maturity,
    "negative-equity-volatility": _negative_volatility,
    "correlation-above-one": _correlation_above_one,
    "negative-new-tenor": _negative_new_tenor,
    "put-after-maturity": _put_after_maturity,
    "put-above-par": _put_above_par,
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_convertible_file(
    case: Callable[[dict[str, Any]], list[str]], tmp_path: Path, write_yaml: WriteYaml
) -> None:
    data = load_example_data("coreweave/convertible_2031")
    fragments = case(data)
    path = write_yaml(tmp_path / "deal.yaml", data)
    out = tmp_path / "out"

    result = CliRunner().invoke(app, ["run", str(path), "--json", "--out", str(out)])

    assert isinstance(result.exception, SystemExit), result.exception
    assert_rejected(result.exit_code, result.stdout, result.stderr, (str(path), *fragments), out)
