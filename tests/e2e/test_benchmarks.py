"""Every benchmark script still runs: each with ``--smoke`` (tiny sizes) in a subprocess.

The benchmarks are not tests and assert nothing about speed (docs/benchmarks.md); this only
keeps them from rotting as the engine changes. Each writes its results file to a temporary
folder, never to ``benchmarks/results``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests._forked import Job, run_forked

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if p.name != "common.py")


@pytest.mark.slow
def test_every_benchmark_script_runs_with_smoke(tmp_path: Path) -> None:
    assert SCRIPTS == [
        "bench_book.py",
        "bench_engine.py",
        "bench_liquidation.py",
        "bench_run.py",
        "bench_structures.py",
        "profile_run.py",
    ]
    src = str(BENCHMARKS.parent / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    # each is `python SCRIPT --smoke ...` in a process of its own, forked from one that imported
    # the package once (tests/_forked.py): the imports were about a third of their time
    outs = [tmp_path / f"{script}.json" for script in SCRIPTS]
    jobs = [
        Job(("--smoke", "--out", str(out)), script=BENCHMARKS / script)
        for script, out in zip(SCRIPTS, outs, strict=True)
    ]
    done = run_forked(jobs, ("gpucredit", "gpucredit.cli.app"), env=env, timeout=1200)
    for script, out, proc in zip(SCRIPTS, outs, done, strict=True):
        assert proc.returncode == 0, f"{script}\n{proc.stdout}\n{proc.stderr}"
        report = json.loads(out.read_text(encoding="utf-8"))
        assert report["smoke"] is True and report["machine"]["cores"] >= 1, script
