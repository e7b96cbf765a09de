"""The parameter sweep: field paths into a deal, the errors a bad path or value gives, and
common random numbers (the base combination is a plain run)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpucredit.config.loading import load_deal
from gpucredit.errors import SpecError
from gpucredit.pipeline import simulate
from gpucredit.pipeline.sweep import apply_settings, parse_path, sweep
from tests.conftest import EXAMPLES

MERCHANT = EXAMPLES / "merchant_h100.yaml"
STRUCTURE = EXAMPLES / "ddtl2_tiered_structure.yaml"


def test_a_path_is_keys_names_and_indices() -> None:
    assert parse_path("loan.rate.margin_bps") == ["loan", "rate", "margin_bps"]
    assert parse_path("facilities[cipher-7.125-2030].rate.margin_bps") == [
        "facilities",
        ("cipher-7.125-2030",),  # a dot inside the brackets is part of the name
        "rate",
        "margin_bps",
    ]
    assert parse_path("contracts[0].rate_usd_per_gpu_hour") == [
        "contracts",
        0,
        "rate_usd_per_gpu_hour",
    ]


@pytest.mark.parametrize("path", ["", ".loan", "loan..rate", "[0].x", "loan rate", "loan["])
def test_a_malformed_path_names_set_and_the_path(path: str) -> None:
    with pytest.raises(SpecError, match=r"--set .*expected a field path"):
        parse_path(path)


def test_settings_reach_loans_facilities_by_name_and_contracts_by_index_or_tenant() -> None:
    loan = apply_settings(
        load_deal(MERCHANT), {"loan.rate.margin_bps": 450, "merchant.price_factor": 0.6}
    )
    assert loan.loan is not None
    assert loan.loan.rate.margin_bps == 450  # type: ignore[union-attr]
    assert loan.merchant.price_factor == 0.6
    deal = load_deal(STRUCTURE)
    changed = apply_settings(
        deal,
        {
            "facilities[ddtl-non-ig-tier].rate.margin_bps": 900,
            "contracts[1].rate_usd_per_gpu_hour": 1.5,
        },
    )
    assert changed.facilities[1].rate.margin_bps == 900  # type: ignore[union-attr]
    assert changed.facilities[0].rate == deal.facilities[0].rate
    assert changed.contracts[1].rate_usd_per_gpu_hour == 1.5
    assert changed.contracts[0] == deal.contracts[0]


@pytest.mark.parametrize(
    ("deal", "path", "value", "expected"),
    [
        (MERCHANT, "loan.rate.margn_bps", 450, "a field of loan.rate (its fields: floor_pct"),
        (MERCHANT, "merchant.price_factor", -1, "greater than 0 (field 'merchant.price_factor')"),
        (MERCHANT, "loan.rate", 450, "a path to a single value, not a section"),
        (MERCHANT, "fleet[5].units", 1, "an index below 1 in fleet"),
        (STRUCTURE, "facilities[nope].rate.margin_bps", 1, "the name of one item of facilities"),
        (STRUCTURE, "contracts[Hyperscaler A (A-rated)].units", 1, "the name of one item"),
        (STRUCTURE, "loan.rate.margin_bps", 450, "(loan is not set)"),
    ],
)
def test_a_bad_path_or_value_is_one_error_naming_set_the_path_and_the_value(
    deal: object, path: str, value: object, expected: str
) -> None:
    with pytest.raises(SpecError) as info:
        apply_settings(load_deal(deal), {path: value})  # type: ignore[arg-type]
    assert len(info.value.issues) == 1
    text = str(info.value)
    assert f"field '--set {path}'" in text
    assert expected in text


def test_sweep_refuses_an_empty_list_before_running_anything() -> None:
    with pytest.raises(SpecError, match="a non-empty list of values"):
        sweep(MERCHANT, {"merchant.price_factor": []}, n_paths=16, calibration="sourced")


def test_every_combination_runs_on_the_same_draws_and_the_base_one_is_a_plain_run() -> None:
    frame = sweep(
        MERCHANT,
        {"merchant.price_factor": [0.85, 0.6]},  # 0.85: the example's own value
        n_paths=128,
        seed=5,
        calibration="sourced",
    )
    assert list(frame["combination"]) == [0, 1]
    assert list(frame.columns[:4]) == ["combination", "merchant.price_factor", "deal", "facility"]
    plain = simulate(load_deal(MERCHANT), n_paths=128, seed=5, calibration="sourced")
    base = frame.iloc[[0]].drop(columns=["combination", "merchant.price_factor"])
    expected = plain.summary().reset_index()
    # common random numbers: the same seed and spec give the same figures, bit for bit
    pd.testing.assert_frame_equal(base.reset_index(drop=True), expected, check_exact=True)
    assert frame["pd"].iloc[1] > frame["pd"].iloc[0]  # a lower realised rent, same draws


def test_a_miner_file_is_refused_by_name_and_any_iterable_of_values_is_a_list() -> None:
    with pytest.raises(SpecError, match="got 'a miner spec'; expected a GPU deal file"):
        sweep(EXAMPLES / "iren_style_miner.yaml", {"opex.pue": [1.2]}, n_paths=16)
    with pytest.raises(SpecError, match=r"'--set merchant.price_factor'.*got -1.0"):
        sweep(MERCHANT, {"merchant.price_factor": np.array([0.7, -1.0])}, n_paths=16)
