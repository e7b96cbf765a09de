"""``config.spec.evolve`` re-validates a copy: it must round-trip every shipped deal, aliased
fields included (a notes' call schedule is written ``from:``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpucredit.cli.app import load_spec
from gpucredit.config.spec import DealSpec, evolve
from gpucredit.deals import shipped_deals


@pytest.mark.parametrize("path", shipped_deals(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_evolve_round_trips_every_shipped_deal(path: Path) -> None:
    spec = load_spec(path)
    if not isinstance(spec, DealSpec):
        pytest.skip("a miner file")
    assert evolve(spec) == spec
    moved = evolve(spec, name="renamed")
    assert moved.name == "renamed" and moved.model_dump() | {"name": spec.name} == spec.model_dump()
