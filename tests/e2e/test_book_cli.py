"""``gpucredit run BOOK.yaml`` end to end (issue 14): the example book through the real CLI,
its tables, its JSON (equal to the Python API's to the bit), its ``--out`` files, and the same
JSON on a Dask LocalCluster of two workers.

The runs use the sourced factor parameters (no store is calibrated) and few paths: these tests
prove the command line, not the numbers.
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.conftest import EXAMPLES
from tests.e2e.conftest import EXIT_INPUT, RunCli, deal_name, example_file

from gpucredit.config.book import load_book
from gpucredit.pipeline.book import build_book, simulate_book

BOOK = EXAMPLES / "books" / "neocloud_contagion_book.yaml"
PATHS, SEED, BLOCK = 512, 3, 128
_RUN = (
    "--paths",
    str(PATHS),
    "--seed",
    str(SEED),
    "--block-size",
    str(BLOCK),
    "--calibration",
    "sourced",
)
StdoutJson = Callable[[subprocess.CompletedProcess[str]], dict[str, Any]]

#: The keys issue 14 asks of a book's JSON object.
BOOK_KEYS = {
    "name",
    "n_paths",
    "seed",
    "exposure_usd",
    "el_usd",
    "el_se_usd",
    "var_99",
    "var_999",
    "es_99",
    "es_999",
    "one_year",
    "without_contagion",
    "contagion_premium",
    "contributions",
    "chains",
    "concentration",
    "tranches",
    "tranche_paths",
    "fire_sale",
    "transmission",
    "fire_sale_on",
    "provenance",
}
TAIL_KEYS = {"var_99", "var_999", "es_99", "es_999"}


@pytest.fixture(scope="module")
def json_run(
    run_cli: RunCli, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """A deal and the book in one run, printing JSON and writing ``--out``."""
    out = tmp_path_factory.mktemp("book") / "results"
    deal = example_file("merchant_h100")
    return run_cli("run", deal, BOOK, *_RUN, "--json", "--out", out), out


def _finite_everywhere(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite_everywhere(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite_everywhere(v) for v in value)
    return True


@pytest.mark.slow  # ~5-10 s: the CLI's start and 512 paths of ten positions
def test_table(run_cli: RunCli) -> None:
    proc = run_cli("run", BOOK, *_RUN)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    text = proc.stdout
    for title in (
        "loss distribution, USD m",
        "positions (USD m)",
        "transmission chains (top",
        "concentration of the face held",
        "ABS classes (512 paths)",
    ):
        assert title in text
    assert "CoreWeave" in text  # the first default of the most frequent chains
    assert "fire sales converged on every path" in text or "fire sales NOT converged" in text
    assert "paths per book in blocks of 128" in text
    assert "paths per deal" not in text  # the deals' footnote only where deals ran


@pytest.mark.slow  # its fixture runs a deal and the book (~10 s)
def test_json_and_out(json_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, out = json_run
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert set(document) >= {"run", "facilities", "miners", "books"}
    merchant = deal_name(example_file("merchant_h100"))
    assert {f["deal"] for f in document["facilities"]} == {merchant}  # as without a book
    (entry,) = document["books"]
    book = entry["book"]
    assert set(book) >= BOOK_KEYS
    assert (book["n_paths"], book["seed"]) == (PATHS, SEED)
    for key in TAIL_KEYS:
        assert set(book[key]) >= {"value_usd", "se_usd"}
        assert set(book["one_year"][key]) == set(book[key])
        assert set(book["without_contagion"][key]) == set(book[key])
    assert set(book["var_999"]) == {"value_usd", "se_usd", "low_usd", "high_usd"}
    assert set(book["contagion_premium"]) == {
        "el_usd",
        "el_se_usd",
        "var_999_usd",
        "var_999_se_usd",
    }
    assert len(book["contributions"]) == 9  # seven deals; the DDTL 2.0 deal's three tiers are three
    assert {"first", "later", "paths", "share"} <= set(book["chains"][0])
    assert set(book["concentration"]) == {"borrower", "generation", "tenant"}
    assert [t["name"] for t in book["tranches"]] == ["A", "B", "C", "equity"]
    assert book["tranches"][-1]["fair_spread_bps"] is None  # the equity has none
    assert set(book["fire_sale"]) >= {"rounds_max", "unconverged_paths"}
    assert _finite_everywhere(document)

    # --out: the loss CSV (one row per path) and the same JSON object
    stem = "book_Neo-cloud_contagion_book"
    losses = pd.read_csv(out / f"{stem}_losses.csv")
    assert list(losses.columns) == [
        "path",
        "loss_usd",
        "loss_one_year_usd",
        "loss_without_contagion_usd",
    ]
    assert len(losses) == PATHS
    assert losses["path"].tolist() == list(range(PATHS))
    # EL is the exact sum of the positions' means; the CSV's mean sums rounded path totals:
    # they differ by float64 rounding only (relative 1e-9 is a million times the gap).
    assert losses["loss_usd"].mean() == pytest.approx(book["el_usd"], rel=1e-9)
    summary = json.loads((out / f"{stem}_summary.json").read_text(encoding="utf-8"))
    assert summary == entry
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["books"] == [
        {"name": book["name"], "files": [f"{stem}_losses.csv", f"{stem}_summary.json"]}
    ]
    assert {f"{stem}_losses.csv", f"{stem}_summary.json"} <= set(manifest["files"])


@pytest.mark.slow  # its fixture runs a deal and the book (~10 s)
def test_json_equals_the_python_api(
    json_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    proc, _ = json_run
    book = json.loads(proc.stdout)["books"][0]["book"]
    result = simulate_book(build_book(load_book(BOOK), calibration="sourced"), PATHS, SEED, BLOCK)
    assert book["el_usd"] == result.summary.el_usd  # to the bit: JSON floats round-trip
    assert book["var_999"]["value_usd"] == result.summary.tail(0.999).var_usd
    assert book["contagion_premium"]["el_usd"] == result.premium.el_usd


def test_csv_format_is_refused(run_cli: RunCli) -> None:
    proc = run_cli("run", BOOK, *_RUN, "--format", "csv")
    assert proc.returncode == EXIT_INPUT
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert "field '--format'" in proc.stderr


@pytest.mark.slow
def test_local_cluster_gives_the_local_json(run_cli: RunCli, stdout_json: StdoutJson) -> None:
    """Two worker processes, 256 paths in blocks of 64: both workers take blocks, and the
    merged figures are the threads' to the bit."""
    small = ("--paths", "256", "--block-size", "64", "--seed", "1", "--calibration", "sourced")
    local = stdout_json(run_cli("run", BOOK, *small, "--json", "-q"))
    cluster = stdout_json(run_cli("run", BOOK, *small, "--json", "-q", "--workers", "2"))
    assert cluster["books"] == local["books"]


@pytest.mark.slow
def test_a_book_run_is_recorded_in_the_store(run_cli: RunCli) -> None:
    """On the stored calibration a book's run is recorded with its provenance, under the
    book's hash (the book and its deals), as a deal's run is."""
    proc = run_cli("run", BOOK, "--paths", "64", "--block-size", "64", "-q")
    assert proc.returncode == 0, proc.stderr
    listed = run_cli("runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    book_hash = load_book(BOOK).spec_hash
    mine = [r for r in json.loads(listed.stdout) if r["spec_hash"] == book_hash]
    assert len(mine) >= 1
    assert mine[0]["n_paths"] == 64 and mine[0]["calibration_id"].startswith("cal-")
    assert mine[0]["deal"] == "book: Neo-cloud contagion book"
