"""Bad written guarantees: exit code 2 and one message naming the file, the field, its line,
the value and the expectation; nothing on stdout, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import load_shipped_data
from tests.e2e.conftest import assert_rejected
from typer.testing import CliRunner

from gpucredit.cli.app import app


def _over_100_pct(g: dict[str, Any]) -> list[str]:
    g["share_pct"] = 120
    return ["contracts[0].guarantor.share_pct", "got 120", "a guarantee over 100% of the lease"]


def _negative_cap(g: dict[str, Any]) -> list[str]:
    g["cap_usd"] = -5
    return ["contracts[0].guarantor.cap_usd", "got -5", "greater than or equal to 0"]


def _until_before_start(g: dict[str, Any]) -> list[str]:
    g["until"] = "2026-01-31"
    return [
        "contracts[0].guarantor.until",
        "got '2026-01-31'",
        "a date after the contract's start (2026-07-01)",
    ]


CASES: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "share-over-100-pct": _over_100_pct,
    "negative-cap": _negative_cap,
    "until-before-the-contract-start": _until_before_start,
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_guarantee_exits_2_with_one_message(
    case: Callable[[dict[str, Any]], list[str]],
    tmp_path: Path,
    write_yaml: Callable[[Path, dict[str, Any]], Path],
) -> None:
    data = load_shipped_data("cipher/cipher_compute_notes_2030")
    fragments = case(data["contracts"][0]["guarantor"])
    path = write_yaml(tmp_path / "deal.yaml", data)
    out = tmp_path / "out"

    result = CliRunner().invoke(app, ["run", str(path), "--json", "--out", str(out)])

    assert_rejected(
        result.exit_code, result.stdout, result.stderr, (str(path), "line ", *fragments), out
    )
