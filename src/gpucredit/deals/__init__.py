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
#: (shown in the report). The miners' convertible notes are modelled (``gpucredit run FILE``
#: prices them) but read as near-certain defaults: the engine values a miner's shares from its
#: assets in place, with no market equity value, no refinancing of a maturity by a new
#: issue and no growth, which is what the market prices these notes on (docs/deals.md).
NOT_IN_MAIN_JOB = {
    "cipher/convertibles.yaml": "a miner's convertible: the engine has no market equity "
    "value or refinancing of the notes, so they read as near-certain defaults (PD 93%)",
    "core_scientific/convertibles.yaml": "a miner's convertible: the engine has no market "
    "equity value or refinancing of the notes (PD 62% on the 2031 notes)",
    "iren/convertibles.yaml": "a miner's convertible: the engine has no market equity value "
    "or refinancing of the notes (PD 68-100% on the 2032 and 2033 notes)",
    "terawulf/convertibles.yaml": "a miner's convertible: the engine has no market equity "
    "value or refinancing of the notes (PD 60-75%)",
}


def main_job_deals() -> list[Path]:
    """The files ``gpucredit run`` runs with no argument: the shipped book less
    ``NOT_IN_MAIN_JOB``, sorted by path."""
    return [p for p in shipped_deals() if _relative(p) not in NOT_IN_MAIN_JOB]


def _relative(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"
