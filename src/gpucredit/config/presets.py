"""The shipped GPU generation table (built from data/ by scripts/build_presets.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

__all__ = ["GenerationPreset", "generation_presets"]


@dataclass(frozen=True, slots=True)
class GenerationPreset:
    """One Nvidia data-centre GPU generation.

    Attributes
    ----------
    name : str
        Key used in deal specs (``H100``).
    volume_date : date
        When volume shipments began (or are planned to).
    successor : str or None
        The next generation in the table.
    release_date : date or None
        Epoch's chip-dataset release date.
    it_power_kw_per_gpu : float or None
        Server-level IT power per GPU, kW (TDP x DGX overhead multiple).
    tdp_w : float or None
        GPU thermal design power, W.
    """

    name: str
    architecture: str
    volume_date: dt.date
    successor: str | None
    release_date: dt.date | None
    tdp_w: float | None
    it_power_kw_per_gpu: float | None
    memory_gb: float | None
    bf16_tflops: float | None
    source: str


def _date(value: object) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


@cache
def generation_presets() -> dict[str, GenerationPreset]:
    """All generations in the shipped table, keyed by name, in order of succession."""
    text = (
        resources.files("gpucredit.config")
        .joinpath("presets/generations.yaml")
        .read_text(encoding="utf-8")
    )
    raw = yaml.safe_load(text)["generations"]
    out: dict[str, GenerationPreset] = {}
    for name, row in raw.items():
        volume = _date(row["volume_date"])
        assert volume is not None, f"preset {name} has no volume_date"
        out[name] = GenerationPreset(
            name=name,
            architecture=str(row["architecture"]),
            volume_date=volume,
            successor=row["successor"],
            release_date=_date(row["release_date"]),
            tdp_w=row["tdp_w"],
            it_power_kw_per_gpu=row["it_power_kw_per_gpu"],
            memory_gb=row["memory_gb"],
            bf16_tflops=row["bf16_tflops"],
            source=str(row["source"]),
        )
    return out
