"""The Excel report: its Summary equals the JSON document's facility figures, and the
schedules' cover ratios are live formulas on the cells above them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from tests.conftest import EXAMPLES

from gpucredit.config.loading import load_deal
from gpucredit.config.miner import load_miner
from gpucredit.factors.parameter_source import resolve as resolve_parameters
from gpucredit.miners import simulate_miner
from gpucredit.pipeline import SimulationResult, simulate
from gpucredit.pipeline.cash_schedule import representative_paths
from gpucredit.reports.tables import run_document
from gpucredit.reports.xlsx import (
    SUMMARY_SHEET,
    flat_record,
    sheet_label,
    sheet_names,
    write_report_xlsx,
)

#: A single loan and a three-facility capital structure.
DEALS = ("merchant_h100", "ddtl2_tiered_structure")
N_PATHS = 64


@pytest.fixture(scope="module")
def results() -> list[SimulationResult]:
    return [
        simulate(
            load_deal(EXAMPLES / f"{name}.yaml"),
            n_paths=N_PATHS,
            seed=3,
            keep_paths=N_PATHS,
            calibration="sourced",
        )
        for name in DEALS
    ]


@pytest.fixture(scope="module")
def written(results: list[SimulationResult], tmp_path_factory: pytest.TempPathFactory) -> Path:
    document = run_document(results, 3, N_PATHS)
    path = tmp_path_factory.mktemp("xlsx") / "report.xlsx"
    write_report_xlsx(path, results, document=document)
    (path.parent / "summary.json").write_text(json.dumps(document, allow_nan=False))
    return path


def _summary_rows(path: Path) -> tuple[list[str], list[dict[str, object]], dict[str, object]]:
    ws = openpyxl.load_workbook(path)[SUMMARY_SHEET]
    rows = list(ws.iter_rows(values_only=True))
    header_at = next(i for i, row in enumerate(rows) if row[0] == "deal")
    header = [str(h) for h in rows[header_at] if h is not None]
    info = {str(r[0]): r[1] for r in rows[1:header_at] if r[0] is not None}
    records = [dict(zip(header, row, strict=False)) for row in rows[header_at + 1 :]]
    return header, records, info


def test_the_summary_holds_the_json_documents_facility_figures(written: Path) -> None:
    document = json.loads((written.parent / "summary.json").read_text())
    header, records, info = _summary_rows(written)
    expected = [flat_record(r) for r in document["facilities"]]
    assert len(records) == len(expected) == 4  # 1 loan + 3 facilities
    for got, want in zip(records, expected, strict=True):
        assert set(want) <= set(header)
        for key, value in want.items():
            # the same number: openpyxl writes 16 significant digits, one more than Excel
            # keeps; the JSON's figures (6 decimals) come back exactly
            shown = float(f"{value:.16g}") if isinstance(value, float) else value
            assert got[key] == shown, key
    assert info["seed"] == 3
    assert info["n_paths"] == N_PATHS
    assert info["calibration_id"] == document["run"]["calibration_id"]
    assert info["data_hash"] == document["run"]["data_hash"]
    assert info["version"] == document["run"]["version"]
    assert info["scenario"] == "base"  # no named scenario in the provenance


def _evaluate(ws: openpyxl.worksheet.worksheet.Worksheet, formula: str) -> float | None:
    """``=IF(D=0,"",N/D)`` evaluated by hand on the cells it names."""
    assert formula.startswith("=IF(") and formula.endswith(")")
    condition, _, quotient = formula[4:-1].split(",")
    den = condition.removesuffix("=0")
    num, den2 = quotient.split("/")
    assert den == den2
    d, n = ws[den].value, ws[num].value
    assert isinstance(d, float) and isinstance(n, float)
    return None if d == 0 else n / d


def test_the_dscr_and_ltv_cells_are_formulas_that_reproduce_the_model(
    results: list[SimulationResult], written: Path
) -> None:
    wb = openpyxl.load_workbook(written)
    loan = results[0]
    names = sheet_names(
        [sheet_label(r.deal.name, m.name) for r in results for m in r.all_facilities]
    )
    assert wb.sheetnames == [SUMMARY_SHEET, *names]
    assert all(len(n) <= 31 for n in wb.sheetnames)
    ws = wb[names[0]]
    assert ws.freeze_panes == "C6"
    labels = [ws.cell(row=r, column=1).value for r in range(1, ws.max_row + 1)]
    blocks = [i + 1 for i, v in enumerate(labels) if isinstance(v, str) and "(kept path" in v]
    assert [labels[b - 1].split(" (")[0] for b in blocks] == ["median path", "5th-percentile path"]
    chosen = representative_paths(loan)
    checked = 0
    for start, (label, path) in zip(blocks, chosen.items(), strict=True):
        assert labels[start - 1] == f"{label} (kept path {path})"
        dscr_row = labels.index("DSCR", start - 1) + 1
        ltv_row = labels.index("LTV", start - 1) + 1
        model_dscr = loan.paths["dscr"].isel(path=path).values
        for month in range(1, 7):  # the first half-year: the loan is alive and owes service
            cell = ws.cell(row=dscr_row, column=2 + month)
            assert cell.data_type == "f"
            value = _evaluate(ws, str(cell.value))
            assert value is not None and math.isfinite(model_dscr[month - 1])
            # the cells hold the ledger's CFADS and scheduled service: the same division
            assert value == pytest.approx(model_dscr[month - 1], rel=1e-12)
            ltv = ws.cell(row=ltv_row, column=2 + month)
            assert ltv.data_type == "f" and _evaluate(ws, str(ltv.value)) is not None
            checked += 1
    assert checked == 12
    base_dscr_row = labels.index("DSCR") + 1
    base = [_evaluate(ws, str(ws.cell(row=base_dscr_row, column=2 + k).value)) for k in range(1, 4)]
    assert all(v is not None and v > 1.0 for v in base)  # the base case covers its service
    # a capital structure: the deal DSCR (all facilities' service) on each facility's sheet
    structure = wb[names[1]]
    labels = [structure.cell(row=r, column=1).value for r in range(1, structure.max_row + 1)]
    row = labels.index("DSCR", labels.index("DSCR") + 1) + 1  # the median block's
    path = representative_paths(results[1])["median path"]
    model = results[1].paths["dscr"].isel(path=path).values
    value = _evaluate(structure, str(structure.cell(row=row, column=3).value))
    assert value == pytest.approx(float(model[0]), rel=1e-12)  # float division either way


def test_a_sheet_label_keeps_the_facilitys_name_whole() -> None:
    assert sheet_label("merchant-h100", "term-loan") == "merchant-h100 term-loan"
    long = sheet_label("coreweave-ddtl2-contract-pools", "ddtl2-pool-b")
    assert long == "coreweave-ddtl2-co ddtl2-pool-b"  # 31 characters, the deal's cut
    assert sheet_label("a-deal", "f" * 30) == "f" * 30


def test_sheet_names_are_unique_and_fit_excel() -> None:
    names = sheet_names(["a" * 40, "A" * 40, "x[1]:y/z", "summary"])
    assert names[0] == "a" * 31
    assert names[1] == "A" * 29 + "~2"
    assert names[2] == "x_1__y_z"
    assert names[3] == "summary~2"  # Summary is taken, ignoring case
    assert len({n.lower() for n in names}) == 4


def test_a_report_is_replaced_in_one_step(results: list[SimulationResult], written: Path) -> None:
    before = written.read_bytes()
    write_report_xlsx(written, results[:1])
    assert written.read_bytes() != before
    assert [p.name for p in written.parent.iterdir() if p.name.endswith(".tmp")] == []
    assert np.isfinite(openpyxl.load_workbook(written)[SUMMARY_SHEET]["B3"].value)


@pytest.mark.slow  # ~1 s warm; the session's first miner run loads its kernels (~10 s)
def test_a_miners_facilities_are_summary_rows(tmp_path: Path) -> None:
    spec = load_miner(EXAMPLES / "miner_hosting_pivot.yaml")
    miner = simulate_miner(
        spec, n_paths=32, seed=1, attribution=False, premium=False, calibration="sourced"
    )
    path = write_report_xlsx(tmp_path / "report.xlsx", [], [miner])
    _, records, info = _summary_rows(path)
    assert [r["name"] for r in records] == [m.name for m in miner.facilities]
    assert [r["pd"] for r in records] == [round(m.pd, 6) for m in miner.facilities]
    assert "no schedule sheet" in str(info["miners"])
    assert openpyxl.load_workbook(path).sheetnames == [SUMMARY_SHEET]


def test_a_record_flattens_to_one_scalar_per_key() -> None:
    record = {"a": 1.5, "b": {"c": [1, [2, 3]], "d": None}, "entities": [{"x": 1}]}
    assert flat_record(record) == {
        "a": 1.5,
        "b.c[0]": 1,
        "b.c[1][0]": 2,
        "b.c[1][1]": 3,
        "b.d": None,
    }


def test_explicit_parameters_must_be_given_again_for_the_base_case(tmp_path: Path) -> None:
    deal = load_deal(EXAMPLES / "merchant_h100.yaml")
    params = resolve_parameters("sourced").params_for(deal)
    result = simulate(deal, n_paths=16, keep_paths=0, params=params)
    with pytest.raises(ValueError, match="pass the same ones as params="):
        write_report_xlsx(tmp_path / "r.xlsx", [result])
    assert not (tmp_path / "r.xlsx").exists()
    write_report_xlsx(tmp_path / "r.xlsx", [result], params=params)
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx").worksheets[1]
    titles = [c.value for c in sheet["A"] if c.value in ("base case", "median path")]
    assert titles == ["base case"]  # no kept paths: the base case alone
