"""Print the README's table of the main job from a run's ``summary.json``.

Run ``python scripts/main_job_table.py gpucredit-reports/<UTC time>/summary.json``: one row per
instrument whose market spread is public (deals' and miners' facilities), with the market
spread, the fair Q spread and its standard error, the P spread, the gap, PD and LGD with their
standard errors, the S&P-style implied rating (a range when its interval straddles a
boundary), the agency rating where public, and PD / Q of every stressed column of the run.
Every figure is what the JSON holds, rounded as the README shows it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _bp(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def _stressed(record: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    cells: dict[tuple[str, str], list[str]] = {}
    for rows in record.get("stressed", {}).values():
        for row in rows:
            q = row.get("fair_spread_bps")
            cell = f"{_pct(row['pd'], 0)} / {_bp(q)}"
            cells.setdefault((row["deal"], row["name"]), []).append(cell)
    return cells


def _row(f: dict[str, Any], stressed: list[str]) -> str:
    rating = f.get("implied_rating_sp_range") or f.get("implied_rating_sp") or "n/a"
    public = f.get("public_rating") or ""
    if public and f.get("public_rating_agency"):
        public = f"{public} ({f['public_rating_agency']})"
    cells = [
        f"{f['deal']} / {f['name']}",
        _bp(f["market_spread_bps"]),
        f"{_bp(f['fair_spread_bps'])} ±{_bp(f['fair_spread_se_bps'])}",
        _bp(f["actuarial_spread_bps"]),
        _bp(f["spread_gap_bps"]),
        f"{_pct(f['pd'])} ±{100 * f['pd_se']:.1f}",
        "n/a" if f["lgd"] is None else f"{_pct(f['lgd'])} ±{100 * f['lgd_se']:.1f}",
        rating,
        public,
        *stressed,
    ]
    return "| " + " | ".join(cells) + " |"


def main(path: Path) -> None:
    record = json.loads(path.read_text())
    names = list(record.get("stressed", {}))
    stressed = _stressed(record)
    head = [
        "Deal / instrument",
        "Market bp",
        "Q bp",
        "P bp",
        "Gap bp",
        "PD",
        "LGD",
        "Rating PD",
        "Public rating",
        *names,
    ]
    print("| " + " | ".join(head) + " |")
    print("|---|" + "--:|" * (len(head) - 1))
    facilities = list(record["facilities"])
    for miner in record.get("miners", []):
        facilities.extend(miner["facilities"])
    for f in facilities:
        if f.get("market_spread_bps") is None:
            continue
        cells = stressed.get((f["deal"], f["name"]), ["n/a"] * len(names))
        print(_row(f, cells))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
