"""Every benchmark script still runs: each with ``--smoke`` (tiny sizes) in a subprocess.

The benchmarks are not tests and assert nothing about speed (docs/benchmarks.md); this only
keeps them from rotting as the engine changes. Each writes its results file to a temporary
folder, never to ``benchmarks/results``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    for script in SCRIPTS:
        out = tmp_path / f"{script}.json"
        cmd = [sys.executable, str(BENCHMARKS / script), "--smoke", "--out", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, f"{script}\n{proc.stdout}\n{proc.stderr}"
        report = json.loads(out.read_text(encoding="utf-8"))
        assert report["smoke"] is True and report["machine"]["cores"] >= 1, script
