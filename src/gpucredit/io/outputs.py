"""Writing a run's results to a directory, all or nothing.

Files are written into a temporary sibling directory which is renamed into place at the end,
so an interrupted or failed run leaves no half-written output.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gpucredit.miners import MinerResult
from gpucredit.pipeline import SimulationResult

__all__ = ["write_run"]


def _safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text) or "deal"


def write_run(
    out_dir: Path,
    results: list[SimulationResult],
    document: dict[str, Any],
    miners: list[MinerResult] | None = None,
) -> Path:
    """Write ``summary.json``, ``summary.csv`` and, per deal, the DSCR fan, the PD term
    structure, the path cube (netCDF) and the run manifest into ``out_dir``; for miners,
    ``miners.csv`` and a manifest each (provenance and the validated spec).

    An existing ``out_dir`` is replaced only once everything has been written.
    """
    out_dir = Path(out_dir)
    parent = out_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    try:
        (staging / "summary.json").write_text(
            json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
        frames = [r.summary() for r in results]
        if frames:
            pd.concat(frames).to_csv(staging / "summary.csv")
        if miners:
            pd.concat([m.summary() for m in miners]).to_csv(staging / "miners.csv")
        for miner in miners or []:
            folder = staging / _safe_name(miner.spec.name)
            folder.mkdir(exist_ok=True)
            miner_manifest = {
                "provenance": miner.provenance,
                "spec": miner.spec.model_dump(mode="json"),
            }
            (folder / "manifest.json").write_text(
                json.dumps(miner_manifest, indent=2, allow_nan=False) + "\n", encoding="utf-8"
            )
        for r in results:
            folder = staging / _safe_name(r.deal.name)
            folder.mkdir(exist_ok=True)
            r.dscr_fan().to_csv(folder / "dscr_fan.csv")
            r.pd_term_structure().to_csv(folder / "pd_term_structure.csv")
            manifest = {
                "provenance": r.provenance,
                "run_config": {
                    "n_paths": r.config.n_paths,
                    "seed": r.config.seed,
                    "block_size": r.config.block_size,
                    "keep_paths": r.config.keep_paths,
                },
                "deal_spec": r.deal.model_dump(mode="json"),
            }
            (folder / "manifest.json").write_text(
                json.dumps(manifest, indent=2, allow_nan=False) + "\n", encoding="utf-8"
            )
            if r.paths.sizes:
                cube = r.paths.copy()
                for name, var in cube.data_vars.items():
                    if var.dtype == np.bool_:
                        cube[name] = var.astype(np.int8)
                cube.to_netcdf(folder / "paths.nc", engine="scipy")
        if out_dir.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=parent))
            os.replace(out_dir, backup / "previous")
            os.replace(staging, out_dir)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir
