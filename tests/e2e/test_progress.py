"""Progress from the Python API: every phase reports (phase, done, total), in order, and
``progress=True`` shows a display on standard error without changing a number."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.e2e.conftest import example_file

import gpucredit

Event = tuple[str, int, int]
#: Few paths: these tests check what is reported, not the numbers.
FEW = {"n_paths": 300, "seed": 2, "block_size": 100, "n_workers": 1, "keep_paths": 0}


def _record(events: list[Event]) -> Callable[[str, int, int], None]:
    def report(phase: str, done: int, total: int) -> None:
        events.append((phase, done, total))

    return report


def _kinds(events: list[Event]) -> list[str]:
    """The phases in the order they first report, each pass collapsed to its kind."""
    kinds: list[str] = []
    for phase, _, _ in events:
        kind = phase.split(", pass")[0].split(": pass")[0]
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
    return kinds


def _check_counts(events: list[Event]) -> None:
    last: dict[str, int] = {}
    for phase, done, total in events:
        assert 0 <= done <= total, (phase, done, total)
        assert done >= last.get(phase, 0), f"{phase} went back from {last[phase]} to {done}"
        last[phase] = done


def test_a_deal_reports_its_main_pass_each_fair_spread_pass_and_breakeven(
    merchant_path: Path,
) -> None:
    events: list[Event] = []
    gpucredit.simulate(gpucredit.load_deal(merchant_path), **FEW, progress=_record(events))
    error = "fair spread: standard error"  # one more pass, at the solved spreads
    assert _kinds(events) == ["simulate", "fair spread", error, "breakeven"]
    _check_counts(events)
    passes = sorted({p for p, _, _ in events if p.startswith("fair spread")} - {error})
    assert len(passes) >= 3  # the riskless root takes several passes, the risky one more
    for phase in ["simulate", *passes]:  # every pass runs over all the paths, block by block
        steps = [done for p, done, total in events if p == phase and total == FEW["n_paths"]]
        assert steps == [0, 100, 200, 300], phase
    assert events[-1] == ("breakeven", 1, 1)


def test_a_capital_structure_reports_the_passes_of_each_facility() -> None:
    deal = gpucredit.load_deal(example_file("ddtl2_tiered_structure"))
    events: list[Event] = []
    gpucredit.simulate(deal, **FEW, progress=_record(events))
    _check_counts(events)
    kinds = _kinds(events)
    assert kinds[0] == "simulate" and kinds[-1] == "breakeven"
    names = [f.name for f in deal.facilities]
    solves = [k for k in kinds[1:-1] if not k.endswith(", standard error")]
    assert solves == [f"fair spread: {name}" for name in names]
    for k, kind in enumerate(kinds):  # a standard-error pass follows its facility's search
        if kind.endswith(", standard error"):
            assert kinds[k - 1] == kind.removesuffix(", standard error")


@pytest.mark.slow
def test_a_miner_reports_both_runs_of_its_premium_and_each_attribution_subset() -> None:
    spec = gpucredit.load_miner(example_file("miner_hosting_pivot"))
    events: list[Event] = []
    gpucredit.simulate_miner(
        spec,
        n_paths=200,
        seed=2,
        block_size=100,
        n_workers=1,
        attribution_paths=100,
        progress=_record(events),
    )
    _check_counts(events)
    kinds = _kinds(events)
    off = kinds.index("convergence off: simulate")
    assert kinds[0] == "simulate" and all(k.startswith("fair spread: ") for k in kinds[1:off])
    assert all(k.startswith("convergence off: fair spread: ") for k in kinds[off + 1 : -1])
    assert kinds[-1] == "attribution"
    subsets = [done for phase, done, _ in events if phase == "attribution"]
    assert subsets == list(range(17))  # 0, then each of the 2**4 subsets as it finishes


def test_progress_true_shows_progress_on_stderr_and_changes_no_number(
    merchant_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deal = gpucredit.load_deal(merchant_path)
    shown = gpucredit.simulate(deal, **FEW, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("merchant-h100: ")  # not a terminal: a line per phase
    silent = gpucredit.simulate(deal, **FEW)
    assert shown.summary().equals(silent.summary())
