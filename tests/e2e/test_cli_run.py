"""``gpucredit run`` end to end: the real CLI in a subprocess, its stdout and its files."""

from __future__ import annotations

import json
import math
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

import gpucredit
from gpucredit.cli.app import app, load_spec
from gpucredit.config.growth import expand_growth
from gpucredit.config.miner import MinerSpec
from gpucredit.config.spec import DealSpec

RunCli = Callable[..., subprocess.CompletedProcess[str]]
StdoutJson = Callable[[subprocess.CompletedProcess[str]], dict[str, Any]]

#: The keys the issue requires (extra keys are allowed).
RUN_KEYS = {"seed", "n_paths", "spec_hash", "version"}
FACILITY_KEYS = {
    "deal",
    "name",
    "pd",
    "pd_annual",
    "lgd",
    "expected_loss_usd",
    "fair_spread_bps",
    "market_spread_bps",
    "spread_gap_bps",
    "implied_rating",
    "breach_probability",
    "min_dscr_p50",
    "breakeven_rent_usd_per_gpu_hour",
}
#: The collateral-illusion keys (issue 6: the three LTVs, the gap and recovery statistics).
COLLATERAL_KEYS = {
    "sale_speed",
    "ltv_book",
    "ltv_appraised",
    "ltv_realisable",
    "illusion_gap_vs_book",
    "illusion_gap_vs_appraised",
    "recovery_rate_mean",
    "recovery_rate_p5",
    "recovery_rate_p50",
    "recovery_rate_p95",
    "time_to_recover_months_mean",
    "pd_lgd_correlation",
}
PATH_VARIABLES = {"dscr", "cfads", "ltv", "balance", "defaulted"}
HEX16 = re.compile(r"^[0-9a-f]{16}$")
QUICK = ("--paths", "300", "--workers", "1")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_facility(f: dict[str, Any], principal_usd: float) -> None:
    assert f.keys() >= FACILITY_KEYS, FACILITY_KEYS - f.keys()
    assert isinstance(f["deal"], str) and f["deal"]
    assert isinstance(f["name"], str) and f["name"]
    for key in ("pd", "pd_annual", "breach_probability"):
        assert _is_number(f[key]) and 0.0 <= f[key] <= 1.0, (key, f[key])
    if f["pd"] == 0.0:
        assert f["lgd"] is None  # no defaulted path: no loss given default to average
    else:
        assert _is_number(f["lgd"]) and 0.0 <= f["lgd"] <= 1.0
    assert _is_number(f["expected_loss_usd"])
    assert 0.0 <= f["expected_loss_usd"] <= principal_usd
    assert _is_number(f["market_spread_bps"])
    # fair spread is None only when no spread up to the solver's bracket prices the loan
    if f["fair_spread_bps"] is None:
        assert f["spread_gap_bps"] is None
    else:
        assert _is_number(f["fair_spread_bps"]) and _is_number(f["spread_gap_bps"])
        # each is rounded to 0.001 bp before printing, so the difference may be off by 0.002
        gap = f["market_spread_bps"] - f["fair_spread_bps"]
        assert f["spread_gap_bps"] == pytest.approx(gap, abs=2.5e-3)
    assert isinstance(f["implied_rating"], str) and f["implied_rating"]
    assert _is_number(f["min_dscr_p50"])
    # 0.0: the contracts alone keep the DSCR at 1.0x; None: no rent up to 1,000 USD/h does
    rent = f["breakeven_rent_usd_per_gpu_hour"]
    assert rent is None or (_is_number(rent) and rent >= 0.0)
    assert f.keys() >= COLLATERAL_KEYS, COLLATERAL_KEYS - f.keys()
    if f["ltv_appraised"] is None:  # nothing delivered at as_of (a hall built after close)
        assert f["notes"].keys() >= {"ltv_book", "ltv_appraised", "ltv_realisable"}
    else:
        assert f["ltv_realisable"] >= f["ltv_appraised"] > 0.0
        assert _is_number(f["ltv_book"])


def test_json_is_exactly_one_object_on_stdout(
    merchant_json_run: subprocess.CompletedProcess[str],
    stdout_json: StdoutJson,
    merchant_data: dict[str, Any],
) -> None:
    document = stdout_json(merchant_json_run)
    assert merchant_json_run.stdout.count("\n") == 1  # one line, nothing before or after
    assert document["run"].keys() >= RUN_KEYS
    run = document["run"]
    assert run["seed"] == 7
    assert run["n_paths"] == 600
    assert run["version"] == gpucredit.__version__
    assert HEX16.match(run["spec_hash"])
    (facility,) = document["facilities"]
    _check_facility(facility, merchant_data["loan"]["principal_usd"])
    assert facility["deal"] == merchant_data["name"]
    assert facility["name"] == merchant_data["loan"]["name"]


def test_same_seed_gives_identical_json(
    merchant_json_run: subprocess.CompletedProcess[str],
    merchant_out_run: tuple[subprocess.CompletedProcess[str], Path],
    stdout_json: StdoutJson,
) -> None:
    first = stdout_json(merchant_json_run)
    second = stdout_json(merchant_out_run[0])  # same options, run in another process
    assert second == first


def test_two_deal_files_give_two_facilities(
    run_cli: RunCli,
    stdout_json: StdoutJson,
    examples: list[Path],
    deal_names: Callable[[list[Path]], list[str]],
) -> None:
    files = [examples[-1], examples[0]]  # not the default order: the order given is kept
    document = stdout_json(run_cli("run", *files, *QUICK, "--seed", "3", "--json"))
    deals = list(dict.fromkeys(f["deal"] for f in document["facilities"]))
    assert deals == deal_names(files)  # one deal may have several facilities
    hashes = {f["spec_hash"] for f in document["facilities"]}
    assert len(hashes) == 2
    assert HEX16.match(document["run"]["spec_hash"])
    assert document["run"]["spec_hash"] not in hashes  # one hash of the whole run
    assert document["run"]["seed"] == 3 and document["run"]["n_paths"] == 300


def test_out_writes_every_file(
    merchant_out_run: tuple[subprocess.CompletedProcess[str], Path],
    stdout_json: StdoutJson,
    merchant_data: dict[str, Any],
) -> None:
    proc, out = merchant_out_run
    document = stdout_json(proc)
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == document
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging

    summary = pd.read_csv(out / "summary.csv", index_col=["deal", "facility"])
    assert len(summary) == 1
    assert summary["pd"].iloc[0] == pytest.approx(document["facilities"][0]["pd"], abs=1e-6)
    assert summary["n_paths"].iloc[0] == 600

    folder = out / merchant_data["name"]
    tenor = merchant_data["loan"]["tenor_months"]
    fan = pd.read_csv(folder / "dscr_fan.csv", index_col="month")
    assert len(fan) == tenor
    assert {"dscr_p5", "dscr_p50", "dscr_p95"} <= set(fan.columns)
    term = pd.read_csv(folder / "pd_term_structure.csv", index_col="year")
    assert len(term) == math.ceil(tenor / 12)
    assert term["cumulative_pd"].is_monotonic_increasing

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["run_config"]["seed"] == 7
    assert manifest["run_config"]["n_paths"] == 600
    assert manifest["provenance"]["spec_hash"] == document["run"]["spec_hash"]
    assert manifest["provenance"]["version"] == gpucredit.__version__
    assert manifest["deal_spec"]["name"] == merchant_data["name"]

    with xr.open_dataset(folder / "paths.nc", engine="scipy") as cube:
        cube.load()
    assert cube.sizes["path"] == 600  # keep_paths (10,000 by default) > n_paths
    assert cube.sizes["month"] == tenor
    assert set(cube.data_vars) >= PATH_VARIABLES
    for name in PATH_VARIABLES:
        assert cube[name].dims == ("path", "month")
    assert set(cube["defaulted"].values.ravel().tolist()) <= {0, 1}
    assert cube.attrs["seed"] == 7


def test_table_names_each_deal(
    run_cli: RunCli, examples: list[Path], deal_names: Callable[[list[Path]], list[str]]
) -> None:
    files = examples[:2]
    proc = run_cli("run", *files, *QUICK)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "facility credit metrics" in proc.stdout
    for name in deal_names(files):
        assert name in proc.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(proc.stdout)


def test_the_shipped_examples_run_together(
    run_cli: RunCli, stdout_json: StdoutJson, examples: list[Path]
) -> None:
    assert len(examples) >= 3
    document = stdout_json(run_cli("run", *examples, *QUICK, "--json"))
    loaded = [load_spec(path) for path in examples]
    deals = [d for d in loaded if isinstance(d, DealSpec)]
    miners = [m for m in loaded if isinstance(m, MinerSpec)]
    assert miners, "a miner example ships with the package"
    assert [m["deal"] for m in document["miners"]] == [m.name for m in miners]
    for record, spec in zip(document["miners"], miners, strict=True):
        assert [f["name"] for f in record["facilities"]] == list(spec.facility_names)
        assert 0.0 <= record["borrower_pd"] <= 1.0
        assert set(record["attribution"]["groups"]) == {"bitcoin", "network", "gpu_rent", "rates"}
        for f in record["facilities"]:
            assert f["pd"] <= record["borrower_pd"] + 1e-12  # cross-default
            assert set(f["double_leverage_premium"]) >= {"fair_spread_bps", "expected_loss_usd"}
    # a growing borrower reports the facilities its plan expands into (its growth DDTL)
    expected = [(d.name, name) for d in deals for name in expand_growth(d).facility_names]
    assert [(f["deal"], f["name"]) for f in document["facilities"]] == expected
    by_name = {d.name: d for d in deals}
    for f in document["facilities"]:
        deal = by_name[f["deal"]]
        if deal.loan is not None:
            assert f["principal_usd"] == pytest.approx(deal.loan.principal_usd)
        else:
            assert "structure" in f and 0.0 <= f["structure"]["borrower_pd"] <= 1.0
            assert f["pd"] <= f["structure"]["borrower_pd"] + 1e-12  # cross-default
        _check_facility(f, f["principal_usd"])


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"gpucredit {gpucredit.__version__}"
