"""The fuzz tier: thousands of mutated and schema-drawn specs, none may end in a traceback,
a hang or a non-finite number (issue 10, item 5).

``tests/fuzz/harness.py`` draws the cases and runs each the way the CLI does; the figures
printed here are reproduced by ``python scripts/fuzz.py --cases 2000 --seed 0``. The cases are
drawn from a fixed Hypothesis seed, so a run is repeatable on any machine.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from tests._forked import Job, run_forked
from tests.fuzz.harness import Tally, cases, run_fuzz

#: Cases of the slow tier (the issue asks for at least 2,000); about 3 minutes on one core.
SLOW_CASES = 2000
#: Cases of the loader-only fuzz of the fast tier (no simulation: a few ms a case).
LOADER_CASES = 1000
#: Mutated files run through the real CLI in a subprocess; each costs the CLI's start-up
#: (about 4 s of imports), so a small sample.
CLI_CASES = 20
SEED = 0
#: What `python -m gpucredit run` imports before it reads a file (tests/_forked.py).
CLI_PRELOAD = ("gpucredit.cli.app",)


def _check(tally: Tally, minimum: int) -> None:
    print("\n" + tally.table())
    assert tally.cases >= minimum
    assert tally.counts["rejected"] > 0 and tally.counts["accepted"] > 0
    if tally.failed:
        pytest.fail(f"{tally.failed} failing cases\n{tally.table()}", pytrace=False)


def test_loader_fuzz_never_raises_anything_but_spec_error() -> None:
    tally = run_fuzz(LOADER_CASES, SEED, simulate=False)
    _check(tally, LOADER_CASES)


@pytest.mark.slow
def test_fuzz_specs_give_a_clean_rejection_or_finite_numbers() -> None:
    tally = run_fuzz(SLOW_CASES, SEED)
    _check(tally, SLOW_CASES)


def _cli_sample(n: int) -> list[str]:
    drawn: list[str] = []

    @hypothesis_seed(SEED + 1)
    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(cases())
    def draw(text: str) -> None:
        drawn.append(text)

    draw()
    return drawn[:n]


@pytest.mark.slow
def test_cli_sample_exits_0_or_2_without_traceback(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    paths: list[Path] = []
    for i, text in enumerate(_cli_sample(CLI_CASES)):
        path = tmp_path / f"case{i}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    # each case is `python -m gpucredit run ...` in a process of its own, forked from one that
    # imported the CLI once (tests/_forked.py): the imports were 4 s of each case's 5 s
    jobs = [
        Job(("run", str(path), "--paths", "32", "--json", "--attribution-paths", "8"), "gpucredit")
        for path in paths
    ]
    codes: list[int] = []
    for path, done in zip(paths, run_forked(jobs, CLI_PRELOAD, env=env), strict=True):
        codes.append(done.returncode)
        assert done.returncode in (0, 2), f"{path}: exit {done.returncode}\n{done.stderr}"
        assert "Traceback" not in done.stderr, f"{path}:\n{done.stderr}"
        if done.returncode == 2:
            assert str(path) in done.stderr and not done.stdout, done.stderr
    print(f"\nCLI sample: {codes.count(0)} ran, {codes.count(2)} refused (exit 2)")
