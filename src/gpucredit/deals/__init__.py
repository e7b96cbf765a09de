"""The shipped book of real public deals: one YAML per instrument, one folder per borrower.

Each file models instruments of the package's ``data/deals.csv`` and says where each of its
numbers comes from: ``sources`` (a URL or a ``deals.csv`` row) for the public ones,
``assumptions`` (with their reasoning) for the rest (``config.provenance``; docs/deals.md).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["BORROWERS", "NOT_IN_MAIN_JOB", "main_job_deals", "shipped_deals"]

#: The borrowers' folders of the book, in the order of ``data/deals.csv``.
BORROWERS = (
    "coreweave",
    "lambda",
    "crusoe",
    "fluidstack",
    "terawulf",
    "cipher",
    "iren",
    "applied_digital",
    "core_scientific",
    "galaxy",
    "firmus",
)


def shipped_deals() -> list[Path]:
    """Every deal YAML of the shipped book (``deals/<borrower>/<instrument>.yaml``), sorted
    by path."""
    root = Path(str(resources.files("gpucredit").joinpath("deals")))
    return sorted(root.glob("*/*.yaml"))


#: Files of the book that ``gpucredit run`` with no argument leaves out, each with the reason
#: (shown in the report). The miners' convertibles refinance against their market enterprise
#: value (``refinancing.value: enterprise``, following their trailing earnings); IREN's still
#: read as a near-certain default on its 2033 notes: the engine's miner runs off (no new rigs
#: or GPUs), and IREN's cash turns negative when its GPUs bought in January 2026 end their
#: life, before the notes mature (docs/deals.md, docs/deals_gaps.md).
NOT_IN_MAIN_JOB = {
    "iren/convertibles.yaml": "a miner's convertible whose fleet runs off before its 2033 notes "
    "mature: the engine has no reinvestment, so they read as a near-certain default (PD 69%)",
}


def main_job_deals() -> list[Path]:
    """The files ``gpucredit run`` runs with no argument: the shipped book less
    ``NOT_IN_MAIN_JOB``, sorted by path."""
    return [p for p in shipped_deals() if _relative(p) not in NOT_IN_MAIN_JOB]


def _relative(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"
