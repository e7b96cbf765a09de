"""The shipped book of real public deals: one YAML per instrument, one folder per borrower.

Each file models instruments of the package's ``data/deals.csv`` and says where each of its
numbers comes from: ``sources`` (a URL or a ``deals.csv`` row) for the public ones,
``assumptions`` (with their reasoning) for the rest (``config.provenance``; docs/deals.md).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["BORROWERS", "shipped_deals"]

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
