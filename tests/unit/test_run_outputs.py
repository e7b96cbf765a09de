"""``simulate(outputs=RunOutputs(...))``: a run told which optional outputs its caller needs.

The default computes everything; a restricted run's figures (each facility's PD and fair
spreads under P and Q with their standard errors) equal, bit for bit, those of a run that
computes everything; the tornado, which asks for one facility's spreads and no extras, gives
the same numbers on one thread and on two.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gpucredit.cli.main_job import STRESSED_MINER_OPTIONS, STRESSED_OUTPUTS
from gpucredit.config.loading import load_deal
from gpucredit.config.miner import load_miner
from gpucredit.config.spec import DealSpec
from gpucredit.credit.metrics import FacilityMetrics
from gpucredit.deals import shipped_deals
from gpucredit.miners import simulate_miner
from gpucredit.pipeline import SimulationResult, simulate
from gpucredit.pipeline.deterministic import NOT_COMPUTED
from gpucredit.pipeline.model import ALL_OUTPUTS, RunOutputs
from gpucredit.reports.charts import tornado_inputs
from gpucredit.reports.tables import stressed_record

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "gpucredit" / "examples"
#: Few paths: equality of the same computation is under test, not the numbers' precision.
PATHS = 64
#: A miner of the main job (its convertibles refinance on its enterprise value).
MINER_FILE = ("cipher", "convertibles.yaml")


def _run(deal: DealSpec, **options: Any) -> SimulationResult:
    return simulate(deal, PATHS, 1, 32, keep_paths=0, calibration="sourced", **options)


def _shown(m: FacilityMetrics) -> tuple[Any, ...]:
    """Every figure a stressed column or a tornado reads, and the spreads behind them."""
    return (
        m.name,
        m.pd,
        m.pd_se,
        m.fair_spread_bps,
        m.fair_spread_se_bps,
        m.actuarial_spread_bps,
        m.actuarial_spread_se_bps,
        m.spread_gap_bps,
    )


@pytest.fixture(scope="module")
def structure() -> DealSpec:
    return load_deal(EXAMPLES / "ddtl2_tiered_structure.yaml")


@pytest.fixture(scope="module")
def full(structure: DealSpec) -> SimulationResult:
    return _run(structure)


def test_the_default_computes_every_output(full: SimulationResult) -> None:
    assert RunOutputs() == ALL_OUTPUTS and full.config.outputs == ALL_OUTPUTS
    assert full.structure is not None and full.duration
    assert all(m.fair_spread_bps is not None for m in full.all_facilities)
    assert all(m.actuarial_spread_bps is not None for m in full.all_facilities)
    assert all("breakeven_rent_usd_per_gpu_hour" not in m.notes for m in full.all_facilities)


def test_no_extras_keeps_every_facilitys_figures(
    structure: DealSpec, full: SimulationResult
) -> None:
    lean = _run(structure, outputs=RunOutputs(extras=False))
    assert [_shown(m) for m in lean.all_facilities] == [_shown(m) for m in full.all_facilities]
    assert lean.metrics.pd_by_year == full.metrics.pd_by_year
    assert lean.structure is None and lean.duration == ()
    for m in lean.all_facilities:
        assert m.breakeven_rent_usd_per_gpu_hour is None
        assert m.notes["breakeven_rent_usd_per_gpu_hour"] == NOT_COMPUTED
    assert lean.stress == full.stress and lean.collateral == full.collateral


def test_one_facilitys_spreads_equal_the_full_runs(
    structure: DealSpec, full: SimulationResult
) -> None:
    second = full.all_facilities[1].name
    one = _run(structure, outputs=RunOutputs(spreads_of=(second,)))
    assert _shown(one.all_facilities[1]) == _shown(full.all_facilities[1])
    others = [m for m in one.all_facilities if m.name != second]
    assert others and all(m.fair_spread_bps is None for m in others)
    assert all(m.actuarial_spread_bps is None for m in others)
    assert [m.pd for m in one.all_facilities] == [m.pd for m in full.all_facilities]


def test_a_single_loans_spread_is_solved_only_when_asked() -> None:
    loan = load_deal(EXAMPLES / "merchant_h100.yaml")
    full = _run(loan)
    asked = _run(loan, outputs=RunOutputs(spreads_of=(full.metrics.name,), extras=False))
    skipped = _run(loan, outputs=RunOutputs(spreads_of=("no such facility",)))
    assert _shown(asked.metrics) == _shown(full.metrics)
    assert skipped.metrics.fair_spread_bps is None and skipped.metrics.pd == full.metrics.pd


def test_the_stressed_columns_equal_full_stressed_runs(structure: DealSpec) -> None:
    name = "gpu-glut"
    full = {name: [_run(structure, scenario=name)]}
    lean = {name: [_run(structure, scenario=name, outputs=STRESSED_OUTPUTS)]}
    assert json.dumps(stressed_record(lean)) == json.dumps(stressed_record(full))


def test_the_tornado_is_the_same_on_one_and_two_threads() -> None:
    loan = load_deal(EXAMPLES / "merchant_h100.yaml")  # a single loan: nine runs in ~2 s
    one = tornado_inputs(loan, n_paths=32, calibration="sourced", workers=1)
    two = tornado_inputs(loan, n_paths=32, calibration="sourced", workers=2)
    assert one == two
    base = simulate(loan, 32, 0, keep_paths=0, calibration="sourced").metrics
    assert (one.base_pd, one.base_spread_bps) == (base.pd, base.fair_spread_bps)


def test_the_tornado_of_a_structures_first_facility_equals_its_full_run(
    structure: DealSpec,
) -> None:
    tornado = tornado_inputs(structure, n_paths=32, calibration="sourced", workers=2)
    base = simulate(structure, 32, 0, keep_paths=0, calibration="sourced").all_facilities[0]
    assert tornado.facility == base.name
    assert (tornado.base_pd, tornado.base_spread_bps) == (base.pd, base.fair_spread_bps)


def test_a_miners_stressed_columns_equal_its_full_stressed_run() -> None:
    """The main job's stressed miner runs leave out the premium, its curve and the
    attribution (``STRESSED_MINER_OPTIONS``); the PD and Q spread they show are the full
    run's under the same scenario."""
    (path,) = [p for p in shipped_deals() if (p.parent.name, p.name) == MINER_FILE]
    miner = load_miner(path)
    name = "gpu-glut"
    options: dict[str, Any] = {"n_paths": 256, "seed": 1, "calibration": "sourced"}
    full = simulate_miner(miner, scenario=name, attribution_paths=32, **options)
    lean = simulate_miner(miner, scenario=name, **STRESSED_MINER_OPTIONS, **options)
    assert lean.premium is None and lean.attribution is None
    assert json.dumps(stressed_record({name: [lean]})) == json.dumps(
        stressed_record({name: [full]})
    )
    assert [_shown(m) for m in lean.facilities] == [_shown(m) for m in full.facilities]
