"""Capital structures through the Python API and the JSON document."""

from __future__ import annotations

import json

from tests.conftest import load_example_data, make_deal

from gpucredit.pipeline import simulate
from gpucredit.reports.tables import run_document


def test_a_ddtl_with_nothing_drawn_at_close_runs_and_reports_valid_json() -> None:
    data = load_example_data("ddtl2_tiered_structure")
    for f in data["facilities"]:
        if f["kind"] == "ddtl":
            f["drawn_at_close_usd"] = 0
    data["facilities"] = [f for f in data["facilities"] if f["kind"] == "ddtl"][:1]
    deal = make_deal(data)
    result = simulate(deal, n_paths=128, seed=1, solve_fair_spread=False)
    assert result.structure is not None
    document = run_document([result], seed=1, n_paths=128)
    text = json.dumps(document, allow_nan=False)  # no NaN or infinity reaches the JSON
    record = json.loads(text)["facilities"][0]
    assert record["structure"]["llcr_at_close_base_case"] is None  # nothing owed at close
    assert record["principal_usd"] > 0  # the draws
    assert result.paths.sizes["facility"] == 1
    assert set(result.paths.coords["step"].values) >= {"interest:ddtl-ig-tier", "distribute"}
