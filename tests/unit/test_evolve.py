"""``config.spec.evolve`` re-validates a copy: it must round-trip every shipped deal, aliased
fields included (a notes' call schedule is written ``from:``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpucredit.cli.app import load_spec
from gpucredit.config.spec import DealSpec, evolve
from gpucredit.deals import shipped_deals

#: The book's deal files (``evolve`` is for deal specs; the miners' files are MinerSpecs).
DEAL_FILES = [p for p in shipped_deals() if isinstance(load_spec(p), DealSpec)]


@pytest.mark.parametrize("path", DEAL_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_evolve_round_trips_every_shipped_deal(path: Path) -> None:
    spec = load_spec(path)
    assert isinstance(spec, DealSpec)
    assert evolve(spec) == spec
    moved = evolve(spec, name="renamed")
    assert moved.name == "renamed" and moved.model_dump() | {"name": spec.name} == spec.model_dump()
