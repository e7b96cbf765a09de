"""A miner's own GPU fleet (``gpu_fleet``) and its premium curve: the spec's checks."""

from __future__ import annotations

import yaml

from gpucredit.config.miner import MINER_FLEET_GENERATION, parse_miner
from gpucredit.factors.parameter_source import MINER_GPU_GENERATION
from tests.conftest import load_example_data, miner_refusal


def test_the_fleet_generation_is_the_miner_scenarios_gpu() -> None:
    assert MINER_FLEET_GENERATION == MINER_GPU_GENERATION


def test_the_iren_style_example_parses_with_its_curve_on_by_default() -> None:
    spec = parse_miner(yaml.safe_dump(load_example_data("iren_style_miner"), sort_keys=False))
    assert spec.gpu_fleet is not None and len(spec.gpu_fleet.fleet) == 2
    assert spec.premium_curve.enabled is None  # None: on, because there is a GPU fleet
    assert spec.premium_curve.correlations == [0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9]


def test_a_fleet_cohort_of_another_generation_is_a_field_error() -> None:
    data = load_example_data("iren_style_miner")
    data["gpu_fleet"]["fleet"][0]["generation"] = "B200"
    message = miner_refusal(data)
    assert "gpu_fleet.fleet[0].generation" in message and "H100" in message


def test_a_contract_on_an_unknown_cohort_is_a_field_error() -> None:
    data = load_example_data("iren_style_miner")
    data["gpu_fleet"]["contracts"][0]["cohort"] = "h100-2099"
    message = miner_refusal(data)
    assert "gpu_fleet.contracts[0].cohort" in message and "h100-2099" in message


def test_more_units_under_contract_than_the_cohort_holds_is_an_error() -> None:
    data = load_example_data("iren_style_miner")
    data["gpu_fleet"]["contracts"][0]["units"] = 5000
    assert "gpu_fleet.contracts" in miner_refusal(data)


def test_a_utilisation_override_is_refused() -> None:
    data = load_example_data("iren_style_miner")
    data["gpu_fleet"]["merchant"] = {"utilisation_glut": 0.5}
    assert "gpu_fleet.merchant.utilisation_glut" in miner_refusal(data)


def test_a_curve_correlation_of_one_is_refused() -> None:
    data = load_example_data("iren_style_miner")
    data["premium_curve"] = {"correlations": [0.3, 1.0]}
    assert "premium_curve.correlations" in miner_refusal(data)
