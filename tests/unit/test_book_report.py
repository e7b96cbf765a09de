"""A book's JSON record, tables and ``--out`` files (``reports.book``, ``io.outputs``) on a small
real book: two hand-made deals leasing to one tenant, simulated on a few paths."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from rich.console import Console

from gpucredit.config.book import load_book
from gpucredit.io.outputs import MANIFEST_NAME, BookOutput, check_output_dir, write_run
from gpucredit.pipeline.book import BookResult, build_book, simulate_book
from gpucredit.reports.book import (
    book_abs_table,
    book_chains_table,
    book_concentration_table,
    book_fire_sale_line,
    book_headline_table,
    book_losses_frame,
    book_positions_table,
    book_record,
)
from tests.conftest import hand_deal_data


def _deal(name: str, borrower: str) -> dict[str, Any]:
    data = copy.deepcopy(hand_deal_data())
    data["name"] = name
    data["borrower"] = {"name": borrower}
    data["contracts"][0]["annual_pd_pct"] = 5.0
    return data


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> BookResult:
    folder = tmp_path_factory.mktemp("book")
    for stem, borrower in (("a", "A SPV"), ("b", "B SPV")):
        text = yaml.safe_dump(_deal(f"deal {stem}", borrower), sort_keys=False)
        (folder / f"{stem}.yaml").write_text(text, encoding="utf-8")
    book = {
        "book": "two SPVs",
        "positions": [{"deal": "a.yaml", "held_pct": 50}, {"deal": "b.yaml"}],
    }
    (folder / "book.yaml").write_text(yaml.safe_dump(book), encoding="utf-8")
    bm = build_book(load_book(folder / "book.yaml"), calibration="sourced")
    return simulate_book(bm, 64, 0, 32)


def _render(table: object) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def test_record_is_strict_json_with_the_results_numbers(result: BookResult) -> None:
    record = book_record(result)["book"]
    json.dumps(record, allow_nan=False)
    assert record["el_usd"] == result.summary.el_usd  # unrounded
    assert record["exposure_usd"] == pytest.approx(150_000.0 + 300_000.0)  # half of a, all b
    assert [c["name"] for c in record["contributions"]] == [p.name for p in result.positions]
    assert record["tranches"] == [] and record["tranche_paths"] == 0  # no ABS
    assert record["fire_sale"]["unconverged_paths"] == result.fire_sale_unconverged_paths


def test_an_undefined_figure_is_null(result: BookResult) -> None:
    tail = dataclasses.replace(result.summary.tail(0.999), var_se_usd=float("nan"))
    summary = dataclasses.replace(result.summary, tails=(result.summary.tails[0], tail))
    record = book_record(dataclasses.replace(result, summary=summary))["book"]
    assert record["var_999"]["se_usd"] is None
    json.dumps(record, allow_nan=False)
    assert "VaR 99.9%" in _render(book_headline_table(dataclasses.replace(result, summary=summary)))


def test_tables(result: BookResult) -> None:
    headline = _render(book_headline_table(result))
    for row in ("Exposure held", "EL", "VaR 99%", "ES 99%", "VaR 99.9%", "ES 99.9%"):
        assert row in headline
    positions = _render(book_positions_table(result))
    assert "deal a / L" in positions and "deal b / L" in positions
    assert "by" in _render(book_concentration_table(result)).lower()
    assert book_abs_table(result) is None  # no ABS in this book
    no_chains = dataclasses.replace(result, chains=())
    assert book_chains_table(no_chains) is None


def test_fire_sale_line_says_plainly_when_not_converged(result: BookResult) -> None:
    stuck = dataclasses.replace(result, fire_sale=True, fire_sale_unconverged_paths=3)
    assert "NOT converged on 3 of 64 paths" in book_fire_sale_line(stuck)
    done = dataclasses.replace(result, fire_sale=True, fire_sale_unconverged_paths=0)
    assert "converged on every path" in book_fire_sale_line(done)
    off = dataclasses.replace(result, fire_sale=False)
    assert "fire sales off" in book_fire_sale_line(off)


def test_out_writes_the_book_files_listed_in_the_manifest(
    result: BookResult, tmp_path: Path
) -> None:
    losses = book_losses_frame(result)
    assert len(losses) == result.n_paths
    assert np.array_equal(losses["loss_usd"].to_numpy(), result.path_losses_usd)
    out = tmp_path / "out"
    books = [BookOutput(result.name, book_record(result), losses)]
    write_run(check_output_dir(out), [], {"run": {}}, books=books)
    manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    names = ["book_two_SPVs_losses.csv", "book_two_SPVs_summary.json"]
    assert manifest["books"] == [{"name": "two SPVs", "files": names}]
    assert set(names) <= set(manifest["files"])
    summary = json.loads((out / names[1]).read_text(encoding="utf-8"))
    assert summary == json.loads(json.dumps(book_record(result)))
    # an earlier output with book files is gpucredit's own: --force replaces it
    write_run(check_output_dir(out, force=True), [], {"run": {}}, books=books)
