"""A parameter sweep: the same deal run over every combination of a few spec fields' values,
all with the same seed (common random numbers), into one frame.

A setting names a field of the deal by its path in the YAML document: mapping keys joined by
``.``, a list item as ``[NAME]`` (the item's ``name``, or for a contract its ``tenant`` when
only one contract has it) or ``[INDEX]`` (0-based): ``loan.rate.margin_bps``,
``merchant.price_factor``, ``facilities[ddtl-ig-tier].rate.margin_bps``,
``contracts[0].rate_usd_per_gpu_hour``. Each value is set in the validated spec's data, which
is validated again, so a sweep can reach no deal that a YAML file could not state.
"""

from __future__ import annotations

import inspect
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gpucredit.config.book import is_book_data
from gpucredit.config.loading import SpecDocument, read_document, validate_document
from gpucredit.config.miner import is_miner_data
from gpucredit.config.spec import DealSpec
from gpucredit.errors import SpecError, SpecIssue
from gpucredit.factors.parameter_source import DEFAULT_CALIBRATION
from gpucredit.pipeline.deal import simulate

__all__ = ["DEFAULT_SWEEP_PATHS", "SET_OPTION", "apply_settings", "parse_path", "sweep"]

#: The option named in every sweep error (the CLI's ``--set PATH=V1,V2``).
SET_OPTION = "--set"
#: The source named in sweep errors.
_SOURCE = "command line"
#: One part of a path: ``.key`` (or a leading ``key``) or ``[item]``.
_PART = re.compile(r"(?:^|\.)(?P<key>[A-Za-z_][A-Za-z0-9_]*)|\[(?P<item>[^\[\]]+)\]")
#: Most combinations one sweep runs (each is a full simulation). ASSUMPTION: a guard against
#: a typo'd grid, not a model figure: 1,000 runs of a deal at 2,000 paths take hours on two
#: cores (docs/benchmarks.md), far beyond a sweep anyone means to run.
MAX_COMBINATIONS = 1_000
#: Paths per combination by default. ASSUMPTION: a run setting, not a model figure: the PD's
#: Monte Carlo standard error is then at most 1.1 percentage points (sqrt(0.25 / 2,000)), and
#: common random numbers make the differences between rows far more precise than that.
DEFAULT_SWEEP_PATHS = 2_000


def _refuse(path: str, value: object, expected: str) -> SpecError:
    return SpecError(_SOURCE, [SpecIssue(f"{SET_OPTION} {path}", value, expected)])


def parse_path(path: str) -> list[str | int | tuple[str]]:
    """The parts of a setting's path: a mapping key (str), a list index (int) or a list item
    named (a 1-tuple holding the name).

    Raises
    ------
    SpecError
        A path that is not of the form ``key.key[NAME].key``, naming ``--set``.
    """
    parts: list[str | int | tuple[str]] = []
    at = 0
    for match in _PART.finditer(path):
        dotted = match.group(0).startswith(".")
        if match.start() != at or (match.group("key") is not None and dotted == (at == 0)):
            break  # a gap, a leading dot, or a key after the first without its dot
        at = match.end()
        key, item = match.group("key"), match.group("item")
        if key is not None:
            parts.append(key)
        elif item is not None and item.isdigit():
            parts.append(int(item))
        elif item is not None:
            parts.append((item,))
    if not parts or at != len(path) or not isinstance(parts[0], str):
        raise _refuse(
            path,
            path,
            "a field path such as loan.rate.margin_bps, facilities[NAME].rate.margin_bps or "
            "contracts[0].rate_usd_per_gpu_hour",
        )
    return parts


def _item(items: list[Any], wanted: str, where: str, path: str) -> int:
    """The index of the list item named ``wanted`` (its ``name``, else a unique ``tenant``)."""
    by_name = [i for i, x in enumerate(items) if isinstance(x, dict) and x.get("name") == wanted]
    if len(by_name) == 1:
        return by_name[0]
    by_tenant = [
        i for i, x in enumerate(items) if isinstance(x, dict) and x.get("tenant") == wanted
    ]
    if len(by_tenant) == 1:
        return by_tenant[0]
    names = [str(x.get("name") or x.get("tenant")) for x in items if isinstance(x, dict)]
    raise _refuse(
        path,
        wanted,
        f"the name of one item of {where} ({', '.join(names) or 'it is empty'}) or its index",
    )


def _set(data: dict[str, Any], path: str, value: object) -> None:
    """Set the field at ``path`` of the spec data ``data`` to ``value`` in place."""
    parts = parse_path(path)
    node: Any = data
    where = "the deal"
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if isinstance(part, str):
            if not isinstance(node, dict) or part not in node:
                known = ", ".join(sorted(node)) if isinstance(node, dict) else "none"
                raise _refuse(path, value, f"a field of {where} (its fields: {known})")
            if node[part] is None and not last:
                raise _refuse(path, value, f"a field that {where} has ({part} is not set)")
            key: str | int = part
        else:
            if not isinstance(node, list):
                raise _refuse(path, value, f"a list at {where} to take an item from")
            if isinstance(part, int):
                if part >= len(node):
                    raise _refuse(path, value, f"an index below {len(node)} in {where}")
                key = part
            else:
                key = _item(node, part[0], where, path)
        if last:
            if isinstance(node[key], dict | list):
                raise _refuse(path, value, "a path to a single value, not a section")
            node[key] = value
            return
        node = node[key]
        where = path[: _prefix_length(parts[: k + 1])]


def _prefix_length(parts: Sequence[str | int | tuple[str]]) -> int:
    """The length in characters of the path made of ``parts``."""
    n = 0
    for i, part in enumerate(parts):
        if isinstance(part, str):
            n += len(part) + (1 if i else 0)
        elif isinstance(part, int):
            n += len(str(part)) + 2
        else:
            n += len(part[0]) + 2
    return n


def apply_settings(spec: DealSpec, settings: Mapping[str, object]) -> DealSpec:
    """``spec`` with each field ``path -> value`` of ``settings`` set, validated again.

    Parameters
    ----------
    spec : DealSpec
        The validated deal.
    settings : mapping
        Field path -> value (a number, text, bool, in the field's units).

    Returns
    -------
    DealSpec
        The new deal.

    Raises
    ------
    SpecError
        A path that names no field, or a value the field refuses: one issue naming
        ``--set PATH``, the value and what is expected.
    """
    data = spec.model_dump()
    for path, value in settings.items():
        _set(data, path, value)
    try:
        return validate_document(
            DealSpec, SpecDocument(data=data, lines={}, source=None), what="deal"
        )
    except SpecError as exc:
        issue = exc.issues[0]
        shown = ", ".join(f"{p}={v!r}" for p, v in settings.items())
        path = next(iter(settings)) if len(settings) == 1 else "; ".join(settings)
        more = f" (and {len(exc.issues) - 1} more)" if len(exc.issues) > 1 else ""
        raise _refuse(
            path,
            settings[path] if len(settings) == 1 else shown,
            f"{issue.expected} (field '{issue.field}'){more}",
        ) from None


def _load(path: Path | str) -> DealSpec:
    """The GPU deal in the YAML file ``path``; a miner or a book file is refused by name."""
    document = read_document(path, what="deal")
    if is_miner_data(document.data) or is_book_data(document.data):
        kind = "a miner spec" if is_miner_data(document.data) else "a book"
        issue = SpecIssue("", kind, "a GPU deal file (a sweep runs one deal's facilities)")
        raise SpecError(path, [issue])
    return validate_document(DealSpec, document, what="deal")


def sweep(
    spec_or_path: DealSpec | Path | str,
    settings: Mapping[str, Sequence[Any]],
    *,
    n_paths: int = DEFAULT_SWEEP_PATHS,
    seed: int = 0,
    scenario: str | None = None,
    calibration: str = DEFAULT_CALIBRATION,
    db: Path | str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run a deal over every combination of ``settings`` with the same seed.

    Parameters
    ----------
    spec_or_path : DealSpec, Path or str
        The deal, or its YAML file.
    settings : mapping of str to sequence
        Field path (module docstring) -> the values to run it at, in the field's units.
    n_paths : int
        Monte Carlo paths per combination.
    seed : int
        The seed of every combination (common random numbers: differences between rows are
        the settings', not the draws').
    scenario : str, optional
        A named stress scenario to run every combination under (``gpucredit scenarios``).
    calibration : str
        The factor parameters, as ``simulate(calibration=...)``.
    db : Path or str, optional
        The market store (default ``$GPUCREDIT_DB``).
    progress : callable, optional
        Called as ``progress(done, total)`` before the first combination and after each.

    Returns
    -------
    pandas.DataFrame
        One row per facility per combination, in the order of the combinations (the last
        setting varies fastest): ``combination`` (0-based), a column per setting path with
        its value, then the columns of ``SimulationResult.summary()`` (with ``deal`` and
        ``facility``).

    Raises
    ------
    SpecError
        A bad path or value (naming ``--set``, the path, the value and what is expected), or
        a bad deal file.
    """
    spec = spec_or_path if isinstance(spec_or_path, DealSpec) else _load(spec_or_path)
    if not settings:
        raise _refuse("", "nothing", "at least one PATH=V1,V2,... to sweep")
    grid: dict[str, list[Any]] = {}
    for path, values in settings.items():
        if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
            raise _refuse(path, values, "a non-empty list of values")
        # a NumPy scalar as the Python number it holds (as a YAML file would give it)
        grid[path] = [v.item() if isinstance(v, np.generic) else v for v in values]
        if not grid[path]:
            raise _refuse(path, values, "a non-empty list of values")
        for value in grid[path]:  # each value alone, so an error names its own path and value
            apply_settings(spec, {path: value})
    settings = grid
    combos = list(itertools.product(*settings.values()))
    if len(combos) > MAX_COMBINATIONS:
        raise _refuse(
            "; ".join(settings), len(combos), f"at most {MAX_COMBINATIONS:,} combinations"
        )
    extra: dict[str, Any] = {}
    if scenario is not None:
        if "scenario" not in inspect.signature(simulate).parameters:
            raise SpecError(
                _SOURCE,
                [SpecIssue("--scenario", scenario, "no scenario: this build has no named ones")],
            )
        extra["scenario"] = scenario
    frames = []
    if progress is not None:
        progress(0, len(combos))
    for k, combo in enumerate(combos):
        chosen = dict(zip(settings, combo, strict=True))
        deal = apply_settings(spec, chosen)
        result = simulate(
            deal, n_paths=n_paths, seed=seed, keep_paths=0, calibration=calibration, db=db, **extra
        )
        frame = result.summary().reset_index()
        for j, (path, value) in enumerate(chosen.items()):
            frame.insert(j, path, [value] * len(frame))
        frame.insert(0, "combination", k)
        frames.append(frame)
        if progress is not None:
            progress(k + 1, len(combos))
    return pd.concat(frames, ignore_index=True)
