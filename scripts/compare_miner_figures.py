"""Save the shipped miner's figures, or compare them with a saved copy bit for bit.

Usage::

    PYTHONPATH=OLD/src python scripts/compare_miner_figures.py save before.pkl
    PYTHONPATH=NEW/src python scripts/compare_miner_figures.py compare before.pkl
    # the same with a 900 M equipment loan, whose defaults accelerate the margin loan:
    ... save before_stressed.pkl --stressed;  ... compare before_stressed.pkl --stressed

It runs ``simulate_miner`` on ``examples/miner_hosting_pivot.yaml`` (512 paths, seed 7,
blocks of 200, one worker; fair spreads P and Q, the premium, the attribution on 256 paths)
and keeps the summary frame, every facility's metrics (PD, EL, spreads, default kinds, DSCR
and LTV fans), the borrower's PD and EL, the premium and the attribution. ``compare`` prints
``identical`` or, for each figure that differs, its largest relative gap; exit status 1 when
any differs. Used to hold a change of the engine (issue 12: the margin loan as a step of the
waterfall program) to the same numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from gpucredit.config.miner import load_miner
from gpucredit.miners import simulate_miner

EXAMPLE = Path(__file__).resolve().parents[1] / "src/gpucredit/examples/miner_hosting_pivot.yaml"


def figures(stressed: bool) -> dict[str, Any]:
    """The miner's figures as plain Python and NumPy values."""
    path = EXAMPLE
    with tempfile.TemporaryDirectory() as tmp:
        if stressed:
            text = EXAMPLE.read_text(encoding="utf-8")
            path = Path(tmp) / "miner_stressed.yaml"
            path.write_text(text.replace("principal_usd: 30000000", "principal_usd: 900000000"))
        spec = load_miner(path)
    res = simulate_miner(spec, 512, seed=7, block_size=200, n_workers=1, attribution_paths=256)
    return {
        "summary": res.summary().reset_index().to_dict("list"),
        "facilities": [dataclasses.asdict(m) for m in res.facilities],
        "borrower": (res.borrower_pd, res.borrower_el_usd),
        "premium": res.premium,
        "attribution": None if res.attribution is None else dataclasses.asdict(res.attribution),
    }


def gaps(a: Any, b: Any, where: str = "") -> list[str]:
    """Where ``a`` and ``b`` differ, with the largest relative gap of numbers."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(set(a) ^ set(b))}"]
        return [g for k in a for g in gaps(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{where}: {len(a)} vs {len(b)} items"]
        return [
            g
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for g in gaps(x, y, f"{where}[{i}]")
        ]
    numbers = (int, float, np.ndarray, np.number)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if x.shape != y.shape:
            return [f"{where}: shape {x.shape} vs {y.shape}"]
        if np.array_equal(x, y, equal_nan=True):
            return []
        both = np.isfinite(x) & np.isfinite(y)
        if not both.any():
            return [f"{where}: {x!r} vs {y!r}"]
        rel = np.max(np.abs(x[both] - y[both]) / np.maximum(np.abs(x[both]), 1e-300))
        return [f"{where}: relative gap {rel:.3g}"]
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("mode", choices=["save", "compare"])
    parser.add_argument("file", type=Path, help="the saved figures (pickle)")
    parser.add_argument("--stressed", action="store_true", help="a 900 M equipment loan")
    args = parser.parse_args()
    now = figures(args.stressed)
    if args.mode == "save":
        with args.file.open("wb") as fh:
            pickle.dump(now, fh)
        print(f"saved to {args.file}")
        return 0
    with args.file.open("rb") as fh:
        before = pickle.load(fh)  # a file this script wrote
    found = gaps(before, now)
    print("identical" if not found else "\n".join(found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
