"""Errors and warnings of gpucredit, in one place.

Every error a user can cause names the file, the field, the value and what was expected, so
that the CLI can print one line and exit 2 without a traceback.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DataError",
    "GpuCreditError",
    "ModelError",
    "SpecError",
    "SpecIssue",
]


class GpuCreditError(Exception):
    """Base class of every error raised on purpose by gpucredit."""


class SpecIssue:
    """One problem in a spec file: where, what was found, what was expected."""

    __slots__ = ("expected", "field", "line", "value")

    def __init__(self, field: str, value: object, expected: str, line: int | None = None) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        self.line = line

    def render(self) -> str:
        shown = _show(self.value)
        where = f"field '{self.field}'" if self.field else "the document"
        if self.line is not None:
            where += f" (line {self.line})"
        return f"{where}: got {shown}; expected {self.expected}"


class SpecError(GpuCreditError):
    """A deal or run spec that cannot be used, with every issue found in it.

    Parameters
    ----------
    path : Path or None
        The file the spec came from (None for a spec built in Python).
    issues : list of SpecIssue
        At least one issue.
    """

    def __init__(self, path: Path | str | None, issues: list[SpecIssue]) -> None:
        if not issues:
            raise ValueError("SpecError needs at least one issue")
        self.path = None if path is None else Path(path)
        self.issues = issues
        super().__init__(self.render())

    def __reduce__(self) -> tuple[type[SpecError], tuple[Path | None, list[SpecIssue]]]:
        """Pickled as its path and issues (a run on a worker process raises it here)."""
        return (type(self), (self.path, self.issues))

    def render(self) -> str:
        source = str(self.path) if self.path is not None else "<spec>"
        if len(self.issues) == 1:
            return f"{source}: {self.issues[0].render()}"
        lines = [f"{source}: {len(self.issues)} problems"]
        lines += [f"  - {issue.render()}" for issue in self.issues]
        return "\n".join(lines)


class DataError(GpuCreditError):
    """Shipped or imported market data that is missing or malformed."""


class ModelError(GpuCreditError):
    """A model that cannot be evaluated with the parameters given (not a user input error)."""


def _show(value: object) -> str:
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return repr(text)
    if isinstance(value, dict | list):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return repr(value)
