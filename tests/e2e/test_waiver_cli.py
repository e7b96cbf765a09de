"""A waiver where none can apply is bad input: exit 2, one message, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.test_bad_input import EXIT_INPUT, RunCli


def test_waiver_on_a_cash_sweep_covenant(
    tmp_path: Path,
    merchant_data: dict[str, Any],
    write_yaml: Callable[[Path, dict[str, Any]], Path],
    run_cli: RunCli,
) -> None:
    covenants = merchant_data["loan"]["covenants"]
    assert covenants[1]["consequence"] == "cash_sweep"
    covenants[1]["waiver"] = {"fee_bps": 25}
    path = write_yaml(tmp_path / "deal.yaml", merchant_data)
    out = tmp_path / "out"

    proc = run_cli("run", path, "--paths", "200", "--json", "--out", out)

    assert proc.returncode == EXIT_INPUT, proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    for fragment in (
        str(path),
        "loan.covenants[1].waiver",
        "(line ",
        "got '{fee_bps}'",
        "only event_of_default can be waived",
    ):
        assert fragment in proc.stderr
    assert not out.exists()
