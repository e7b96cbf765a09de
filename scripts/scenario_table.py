"""Print the table of ``docs/scenarios.md``: PD and Q fair spread of three example deals under
every named stress scenario (``gpucredit.scenarios.named``).

Run ``python scripts/scenario_table.py [PATHS]`` (default 2,000 paths, seed 0, the default
calibration ``latest`` of the store ``$GPUCREDIT_DB``): each cell is what
``gpucredit run EXAMPLE --paths 2000 --scenario NAME`` reports.
"""

from __future__ import annotations

import sys
from pathlib import Path

import gpucredit
from gpucredit.pipeline import simulate
from gpucredit.scenarios.named import SCENARIOS

ROOT = Path(__file__).resolve().parents[1]
DEALS = ("merchant_h100", "ddtl_ig_contracted", "cipher_compute_notes")


def _cell(pd: float, pd_se: float, q: float | None, q_se: float | None) -> str:
    spread = "n/a" if q is None else f"{q:,.0f} ({0.0 if q_se is None else q_se:,.0f})"
    return f"{100 * pd:.1f}% ({100 * pd_se:.1f}) / {spread}"


def main(n_paths: int) -> None:
    deals = [gpucredit.load_deal(ROOT / "examples" / f"{stem}.yaml") for stem in DEALS]
    print("| scenario | " + " | ".join(d.name for d in deals) + " |")
    print("|---|" + "---:|" * len(deals))
    for scenario in SCENARIOS:
        cells = []
        for deal in deals:
            m = simulate(deal, n_paths=n_paths, seed=0, keep_paths=0, scenario=scenario.name)
            f = m.metrics
            cells.append(_cell(f.pd, f.pd_se, f.fair_spread_bps, f.fair_spread_se_bps))
        print(f"| `{scenario.name}` | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000)
