"""Draw ``docs/figures/h100_rent_index.png`` and print the H100 on-demand table of the docs.

The figure shows the monthly H100 (SXM) rent index of :mod:`gpucredit.market.rent_index`, one
line per rental type, 2023 to 2026; months without observations are left as gaps (no line is
drawn across them). Run ``python scripts/plot_rent_index.py`` after changing the shipped rental
data or the index method, and paste the printed table into ``docs/rent_index.md``. Needs
matplotlib (not a dependency of the package).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from gpucredit.market import rent_index, rent_index_table

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "figures" / "h100_rent_index.png"
START, END = "2023-01-01", "2026-12-01"
TYPES = ("on_demand", "spot", "committed_1y", "committed_3y")


def markdown_table() -> str:
    """The H100 on-demand index from 2023 to 2026 as a markdown table (observed months)."""
    table = rent_index_table()
    rows = table[
        (table["generation"] == "H100")
        & (table["rental_type"] == "on_demand")
        & (table["month"] >= START)
        & (table["month"] <= END)
    ]
    lines = [
        "| month | USD per GPU-hour | n_obs | n_days | sources |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows.itertuples(index=False):
        value = "gap" if row.n_obs == 0 else f"{row.usd_per_gpu_hour:.2f}"
        sources = row.sources.replace(".csv", "") if row.sources else ""
        lines.append(f"| {row.month:%Y-%m} | {value} | {row.n_obs} | {row.n_days} | {sources} |")
    return "\n".join(lines)


def main() -> int:
    fig, ax = plt.subplots(figsize=(9.0, 4.5), dpi=120)
    for rental_type in TYPES:
        series = rent_index("H100", rental_type).loc[START:END]
        if series.notna().sum() == 0:
            continue
        ax.plot(series.index, series.to_numpy(), marker="o", markersize=4, label=rental_type)
    ax.set_title("H100 SXM monthly rent index (median of daily medians; gaps left empty)")
    ax.set_ylabel("USD per GPU-hour")
    ax.set_xlabel("month")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.text(
        0.01,
        0.01,
        "Sources: Epoch AI hardware prices (2023-06 to 2025-03), Prime Intellect marketplace "
        "(2025-10/11), gpu-pricing-tracker scrape (2026-02 to 2026-07)",
        fontsize=7,
    )
    fig.tight_layout(rect=(0.0, 0.03, 1.0, 1.0))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT)
    plt.close(fig)
    print(f"wrote {OUT.relative_to(ROOT)}")
    print(markdown_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
