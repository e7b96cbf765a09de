"""Where the shipped data files are (``gpucredit/data``, installed with the package)."""

from __future__ import annotations

from importlib import resources

__all__ = ["data_path"]


def data_path(name: str) -> str:
    """Filesystem path of the shipped data file ``name`` (e.g. ``rates_daily.csv``)."""
    return str(resources.files("gpucredit").joinpath(f"data/{name}"))
