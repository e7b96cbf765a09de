"""The monthly GPU rent index: method on synthetic data, and the shipped index."""

from __future__ import annotations

import math
import statistics

import pandas as pd
import pytest

from gpucredit.errors import DataError
from gpucredit.market import monthly_rent_index, rent_index, rent_index_table


def _obs(rows: list[tuple[str, str, str, str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows,
        columns=["date", "generation", "rental_type", "source", "provider", "usd_per_gpu_hour"],
    )
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


SYNTHETIC = _obs(
    [
        # January: day 1 has two providers (p1 with two rows), day 2 one provider, second source
        ("2026-01-01", "H100", "on_demand", "a.csv", "p1", 1.0),
        ("2026-01-01", "H100", "on_demand", "a.csv", "p1", 3.0),
        ("2026-01-01", "H100", "on_demand", "a.csv", "p2", 4.0),
        ("2026-01-02", "H100", "on_demand", "a.csv", "p1", 5.0),
        ("2026-01-02", "H100", "on_demand", "b.csv", "snap", 10.0),
        # February: nothing. March: one observation.
        ("2026-03-15", "H100", "on_demand", "a.csv", "p1", 2.5),
        # spot in January, kept apart
        ("2026-01-01", "H100", "spot", "a.csv", "p1", 0.5),
    ]
)


def test_index_equals_hand_computed_median() -> None:
    table = monthly_rent_index(SYNTHETIC)
    jan = table[(table["rental_type"] == "on_demand") & (table["month"] == "2026-01-01")].iloc[0]
    # provider-day: p1 on day 1 = median(1, 3) = 2; day 1 = median(2, 4) = 3;
    # day 2 in a.csv = 5, in b.csv = 10; month = median(3, 5, 10) = 5
    expected = statistics.median([statistics.median([statistics.median([1.0, 3.0]), 4.0]), 5, 10])
    assert jan["usd_per_gpu_hour"] == expected == 5.0
    assert jan["n_obs"] == 5  # raw rows
    assert jan["n_days"] == 2  # distinct days, not source-days
    assert jan["sources"] == "a.csv, b.csv"


def test_gaps_stay_gaps() -> None:
    table = monthly_rent_index(SYNTHETIC)
    on_demand = table[table["rental_type"] == "on_demand"].set_index("month")
    assert list(on_demand.index) == list(pd.date_range("2026-01-01", "2026-03-01", freq="MS"))
    feb = on_demand.loc[pd.Timestamp("2026-02-01")]
    assert math.isnan(feb["usd_per_gpu_hour"])  # not interpolated between 5.0 and 2.5
    assert feb["n_obs"] == 0
    assert feb["n_days"] == 0
    assert feb["sources"] == ""
    assert on_demand.loc[pd.Timestamp("2026-03-01"), "usd_per_gpu_hour"] == 2.5


def test_types_are_kept_apart_on_synthetic_data() -> None:
    table = monthly_rent_index(SYNTHETIC)
    spot = table[table["rental_type"] == "spot"]
    assert len(spot) == 1
    assert spot["usd_per_gpu_hour"].iloc[0] == 0.5
    assert spot["n_obs"].iloc[0] == 1


def test_missing_column_is_an_error() -> None:
    with pytest.raises(DataError, match="provider"):
        monthly_rent_index(SYNTHETIC.drop(columns="provider"))


def test_shipped_h100_index_keeps_gaps_and_counts() -> None:
    series = rent_index("H100")
    assert series.index.freqstr == "MS"
    # no shipped H100 on-demand observation in 2025-12 or 2026-01 (marketplace ends
    # 2025-11-16, the 2026 scrape starts 2026-02-11)
    assert series.loc["2025-12-01":"2026-01-01"].isna().all()
    table = rent_index_table()
    h100 = table[(table["generation"] == "H100") & (table["rental_type"] == "on_demand")]
    assert (h100["n_obs"] == 0).eq(h100["usd_per_gpu_hour"].isna()).all()
    assert (h100["n_days"] <= h100["n_obs"]).all()


def test_shipped_h100_on_demand_march_2026() -> None:
    # REFERENCES.md: 2026 scrape on-demand medians 2.7-3.0 USD/h; wide band 2-4 for robustness
    value = rent_index("H100").loc["2026-03-01"]
    assert 2.0 < value < 4.0


def test_shipped_on_demand_and_spot_differ_for_h100_2026() -> None:
    on_demand = rent_index("H100", "on_demand").loc["2026-02-01":"2026-07-01"]
    spot = rent_index("H100", "spot").loc["2026-02-01":"2026-07-01"]
    assert len(spot) == 6
    assert (spot < on_demand).all()  # spot is cheaper every month of the 2026 scrape


def test_unknown_generation_or_type_is_an_error() -> None:
    with pytest.raises(DataError, match="generation"):
        rent_index("V100")
    with pytest.raises(DataError, match="rental_type"):
        rent_index("H100", "reserved")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="no shipped"):
        rent_index("B200", "committed_3y")
