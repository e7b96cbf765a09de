"""The Python API end to end: load a deal, simulate it, read the result; and the curated
public names (STYLE.md section 12, after httpx ``tests/test_exported_members.py``)."""

from __future__ import annotations

import dataclasses
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import gpucredit
from gpucredit import DealSpec, SimulationResult

#: The public API, on purpose: adding or removing a name must change this test.
INTENDED_EXPORTS = [
    "Book",
    "BookModel",
    "BookResult",
    "DataError",
    "DealSpec",
    "GpuCreditError",
    "MarketPricesOfRisk",
    "MinerResult",
    "MinerSpec",
    "ModelError",
    "RunConfig",
    "SimulationResult",
    "SpecError",
    "__version__",
    "build_book",
    "evolve",
    "load_book",
    "load_deal",
    "load_miner",
    "parse_deal",
    "parse_miner",
    "simulate",
    "simulate_book",
    "simulate_miner",
    "sweep",
]
METRIC_COLUMNS = {
    "principal_usd",
    "tenor_months",
    "n_paths",
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
PATH_VARIABLES = ("dscr", "cfads", "ltv", "balance", "defaulted")
N_PATHS, KEEP_PATHS, SEED = 3000, 500, 11


@pytest.fixture(scope="module")
def merchant(merchant_path: Path) -> DealSpec:
    return gpucredit.load_deal(merchant_path)


@pytest.fixture(scope="module")
def result(merchant: DealSpec) -> SimulationResult:
    return gpucredit.simulate(
        merchant, n_paths=N_PATHS, seed=SEED, block_size=1024, keep_paths=KEEP_PATHS, n_workers=1
    )


def test_exported_members_are_the_intended_ones() -> None:
    assert gpucredit.__all__ == INTENDED_EXPORTS
    public = {
        name
        for name, value in vars(gpucredit).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public | {"__version__"} == set(gpucredit.__all__)  # nothing public left out
    for name in gpucredit.__all__:
        assert getattr(gpucredit, name) is not None


def test_load_deal(merchant_path: Path, merchant: DealSpec) -> None:
    assert isinstance(merchant, DealSpec)
    assert merchant.name == "merchant-h100"
    text = merchant_path.read_text(encoding="utf-8")
    assert gpucredit.parse_deal(text, source=merchant_path) == merchant
    with pytest.raises(gpucredit.SpecError, match=r"fleet\[0\]\.units"):
        gpucredit.parse_deal(text.replace("units: 10000", "units: 0"))


def test_summary_is_one_row_of_metrics(result: SimulationResult, merchant: DealSpec) -> None:
    summary = result.summary()
    assert isinstance(summary, pd.DataFrame)
    assert len(summary) == 1
    assert list(summary.index.names) == ["deal", "facility"]
    assert summary.index[0] == (merchant.name, merchant.loan.name)
    assert set(summary.columns) >= METRIC_COLUMNS
    row = summary.iloc[0]
    assert row["n_paths"] == N_PATHS
    assert row["pd"] == result.metrics.pd
    assert 0.0 <= row["pd"] <= 1.0


def test_paths_are_a_labelled_cube_of_the_kept_paths(
    result: SimulationResult, merchant: DealSpec
) -> None:
    cube = result.paths
    assert isinstance(cube, xr.Dataset)
    assert cube.sizes["path"] == KEEP_PATHS
    assert cube.sizes["month"] == merchant.loan.tenor_months
    for name in PATH_VARIABLES:
        assert cube[name].dims == ("path", "month")
        assert "units" in cube[name].attrs
    assert cube["defaulted"].dtype == np.bool_
    assert cube.attrs["seed"] == SEED and cube.attrs["n_paths"] == N_PATHS


def test_statistics_use_every_path_not_only_the_kept_ones(
    result: SimulationResult, merchant: DealSpec
) -> None:
    assert result.metrics.n_paths == N_PATHS
    # the same seed keeping every path, in other blocks: the same numbers (STYLE.md 4)
    everything = gpucredit.simulate(
        merchant, n_paths=N_PATHS, seed=SEED, block_size=700, keep_paths=N_PATHS, n_workers=1
    )
    assert everything.paths.sizes["path"] == N_PATHS
    for field in dataclasses.fields(result.metrics):
        ours, theirs = (getattr(m, field.name) for m in (result.metrics, everything.metrics))
        if isinstance(ours, np.ndarray):
            np.testing.assert_array_equal(ours, theirs, err_msg=field.name)
        else:
            assert ours == theirs, field.name
    # the kept paths are the first ones of the full set
    kept = result.paths["defaulted"].values
    np.testing.assert_array_equal(kept, everything.paths["defaulted"].values[:KEEP_PATHS])
    # and the life-of-loan PD counts defaults over all 3000 paths, not over the 500 kept
    ever_defaulted = everything.paths["defaulted"].values.any(axis=1)
    assert result.metrics.pd == pytest.approx(ever_defaulted.mean(), abs=1e-12)
