"""Where each number of a deal or miner YAML comes from: its ``sources`` and ``assumptions``.

A spec may carry two optional top-level mappings (docs/deals.md):

``sources``
    field key -> where its value is published: an ``http(s)://`` URL, or ``deals.csv#ID``, a
    row of the package's ``data/deals.csv`` whose ``source`` column is a URL.
``assumptions``
    field key -> the reasoning behind a value filled without a public figure (free text, at
    least ``MIN_REASON_CHARS`` characters).

A key is a path into the YAML document: mapping keys joined by dots; a list item is
``[NAME]`` (the item whose ``name`` is NAME, or whose ``tenant`` is NAME when exactly one item
has that tenant) or ``[INDEX]`` (0-based). Names may contain dots
(``facilities[cipher-7.125-2030].coupon_pct``): a dot inside brackets is part of the name. A
key may name a whole section; it then covers every field under it.

``check_provenance`` refuses a key that resolves to nothing, a field both sourced and assumed,
a source that is neither form and a reason that is too short; ``uncovered_fields`` lists the
scalar fields no key covers (the shipped book must have none). Everything here reads the raw
YAML data, before validation, so a key names what the author wrote.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "DEALS_FILE",
    "EXEMPT_FIELDS",
    "MIN_REASON_CHARS",
    "ROW_PREFIX",
    "ProvenanceProblem",
    "check_provenance",
    "deal_rows",
    "parse_key",
    "rename_selectors",
    "resolve_key",
    "uncovered_fields",
]

#: The shipped table of public instruments, under ``gpucredit/data``.
DEALS_FILE = "data/deals.csv"
#: How a source names a row of ``DEALS_FILE``: ``deals.csv#CRWV-SN2030``.
ROW_PREFIX = "deals.csv#"
#: Shortest reasoning an assumption may give, characters (an assumption: "ASSUMPTION: x"
#: says nothing; twenty characters is the shortest useful sentence, "mid-point of 9-11m").
MIN_REASON_CHARS = 20
#: Scalar fields that label rather than quantify and need no provenance; ``notes`` is the
#: deal's own free-text commentary.
EXEMPT_FIELDS = frozenset({"name", "description", "kind", "notes"})
#: The two provenance sections themselves.
SECTIONS = ("sources", "assumptions")

_URL_RE = re.compile(r"^https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:[0-9]+)?(/\S*)?$")


class ProvenanceProblem(ValueError):
    """A problem with one provenance entry: its path in the document, value and expectation.

    ``parts`` is the path of the offending entry (``("sources", "opex.power_usd_per_mwh")``),
    so the loader reports the key as written, dots and brackets included, with its line.
    """

    def __init__(self, parts: tuple[str, ...], value: object, expected: str) -> None:
        super().__init__(expected)
        self.parts = parts
        self.value = value
        self.expected = expected


def parse_key(key: str) -> list[str | tuple[str]] | None:
    """Split a provenance key into mapping keys (str) and list selectors (1-tuples).

    ``facilities[cipher-7.125-2030].rate.coupon_pct`` ->
    ``["facilities", ("cipher-7.125-2030",), "rate", "coupon_pct"]``. None when the key is
    malformed (empty part, unbalanced or empty brackets).
    """
    out: list[str | tuple[str]] = []
    i, n = 0, len(key)
    expect_name = True
    while i < n:
        if key[i] == "[":
            close = key.find("]", i + 1)
            if close < 0 or close == i + 1 or "[" in key[i + 1 : close]:
                return None
            if expect_name:  # '[x]', 'a.[x]': a selector follows a name or a selector
                return None
            out.append((key[i + 1 : close],))
            i = close + 1
            expect_name = False
            continue
        if key[i] == ".":
            if expect_name:
                return None
            i += 1
            expect_name = True
            if i == n:
                return None
            continue
        if not expect_name:
            return None
        j = i
        while j < n and key[j] not in ".[]":
            j += 1
        if j < n and key[j] == "]":
            return None
        out.append(key[i:j])
        i = j
        expect_name = False
    return out if out and not expect_name else None


def _select(items: list[Any], selector: str) -> int | None:
    """The index of the list item ``selector`` names (name, unique tenant, or index)."""

    def matching(field: str) -> list[int]:
        return [
            i
            for i, item in enumerate(items)
            if isinstance(item, dict) and item.get(field) == selector
        ]

    named = matching("name")
    if len(named) == 1:
        return named[0]
    if not named:
        tenants = matching("tenant")
        if len(tenants) == 1:
            return tenants[0]
    if selector.isdigit() and int(selector) < len(items):
        return int(selector)
    return None


def resolve_key(data: Any, key: str) -> tuple[Any, ...] | None:
    """The concrete path (mapping keys and list indices) a key names in ``data``, or None."""
    parts = parse_key(key)
    if parts is None or parts[0] in SECTIONS:
        return None
    node = data
    path: list[Any] = []
    for part in parts:
        if isinstance(part, tuple):
            if not isinstance(node, list):
                return None
            index = _select(node, part[0])
            if index is None:
                return None
            path.append(index)
            node = node[index]
        else:
            if not isinstance(node, dict) or part not in node:
                return None
            path.append(part)
            node = node[part]
    return tuple(path)


@cache
def deal_rows() -> dict[str, dict[str, str]]:
    """The rows of the shipped ``data/deals.csv`` by ``deal_id``."""
    text = resources.files("gpucredit").joinpath(DEALS_FILE).read_text(encoding="utf-8")
    return {row["deal_id"]: row for row in csv.DictReader(text.splitlines())}


def _is_url(value: str) -> bool:
    return bool(_URL_RE.match(value))


def _source_problem(value: object) -> str | None:
    """Why ``value`` is no valid source (None when it is one)."""
    expected = f"an http(s) URL or '{ROW_PREFIX}ID' naming a row of {DEALS_FILE}"
    if not isinstance(value, str):
        return expected
    text = value.strip()
    if text.startswith(ROW_PREFIX):
        row = deal_rows().get(text[len(ROW_PREFIX) :])
        if row is None:
            return f"{expected} (no row with that deal_id; see {DEALS_FILE})"
        if not _is_url(row.get("source", "").strip()):
            return f"{expected} whose source column is a URL"
        return None
    return None if _is_url(text) else expected


def check_provenance(data: Any) -> None:
    """Refuse a spec's bad ``sources`` or ``assumptions`` (raw YAML data, before validation).

    Raises
    ------
    ProvenanceProblem
        A key that is malformed or resolves to nothing, a field both sourced and assumed, a
        source that is neither an http(s) URL nor ``deals.csv#ID`` of a row with a URL, or a
        reason shorter than ``MIN_REASON_CHARS``. Sections that are not mappings are left to
        the schema.
    """
    if not isinstance(data, dict):
        return
    resolved: dict[str, dict[tuple[Any, ...], str]] = {}
    for section in SECTIONS:
        entries = data.get(section)
        if not isinstance(entries, dict):
            continue
        found: dict[tuple[Any, ...], str] = {}
        for key, value in entries.items():
            where = (section, str(key))
            path = resolve_key(data, key) if isinstance(key, str) else None
            if path is None:
                raise ProvenanceProblem(
                    where,
                    key,
                    "a key naming a field of this document (mapping keys joined by '.', list "
                    "items as [NAME] or [INDEX]) that exists",
                )
            if section == "sources":
                why = _source_problem(value)
                if why is not None:
                    raise ProvenanceProblem(where, value, why)
            elif not isinstance(value, str) or len(value.strip()) < MIN_REASON_CHARS:
                raise ProvenanceProblem(
                    where, value, f"a reasoning of at least {MIN_REASON_CHARS} characters"
                )
            found[path] = key
        resolved[section] = found
    sourced = resolved.get("sources", {})
    for path, key in resolved.get("assumptions", {}).items():
        if path in sourced:
            raise ProvenanceProblem(
                ("assumptions", key),
                key,
                f"a field either public or assumed, not both (also sources '{sourced[path]}')",
            )


def _label(items: list[Any], index: int) -> str:
    """How a list item is named in a key: its unique name, else its index."""
    item = items[index]
    if isinstance(item, dict):
        for field in ("name", "tenant"):
            name = item.get(field)
            if isinstance(name, str) and _select(items, name) == index and "]" not in name:
                return name
    return str(index)


def _leaves(node: Any, path: tuple[Any, ...], text: str) -> list[tuple[tuple[Any, ...], str]]:
    """Every scalar leaf under ``node``: its concrete path and its key text."""
    if isinstance(node, Mapping):
        out: list[tuple[tuple[Any, ...], str]] = []
        for key, value in node.items():
            if not path and key in SECTIONS:
                continue
            if not isinstance(value, Mapping | list) and key in EXEMPT_FIELDS:
                continue
            out += _leaves(value, (*path, key), f"{text}.{key}" if text else str(key))
        return out
    if isinstance(node, list):
        out = []
        for i, value in enumerate(node):
            out += _leaves(value, (*path, i), f"{text}[{_label(node, i)}]")
        return out
    return [(path, text)]


def uncovered_fields(data: Any) -> list[str]:
    """The scalar fields of ``data`` (raw YAML) that no ``sources`` or ``assumptions`` key
    covers (a key covers the field it names and every field under it), in document order.

    ``name``, ``description``, ``kind`` and ``notes`` need no cover; keys that resolve to
    nothing cover nothing (``check_provenance`` refuses them).
    """
    if not isinstance(data, dict):
        return []
    covers: set[tuple[Any, ...]] = set()
    for section in SECTIONS:
        entries = data.get(section)
        if isinstance(entries, dict):
            for key in entries:
                path = resolve_key(data, key) if isinstance(key, str) else None
                if path is not None:
                    covers.add(path)
    return [
        text
        for path, text in _leaves(data, (), "")
        if not any(path[:cut] in covers for cut in range(1, len(path) + 1))
    ]


def rename_selectors(before: Mapping[str, Any], after: dict[str, Any], field: str) -> None:
    """Rewrite, in place, the provenance keys of raw ``after`` that select an item of the
    list ``field`` whose name or tenant changed from ``before`` (a book's company aliases:
    ``contracts[Meta Platforms (AA-)].units`` -> ``contracts[Meta].units``), so that each key
    still names the same item: by its name, else its tenant when unique, else its index."""
    old_items, new_items = before.get(field), after.get(field)
    if not isinstance(old_items, list) or not isinstance(new_items, list):
        return
    for section in SECTIONS:
        entries = after.get(section)
        if not isinstance(entries, dict):
            continue
        rewritten: dict[Any, Any] = {}
        for key, value in entries.items():
            parts = parse_key(key) if isinstance(key, str) else None
            if parts and len(parts) > 1 and parts[0] == field and isinstance(parts[1], tuple):
                old = parts[1][0]
                index = _select(old_items, old)
                if (
                    index is not None
                    and index < len(new_items)
                    and _select(new_items, old) != index  # the selector lost its item
                ):
                    rest = key[len(field) + len(old) + 2 :]
                    key = f"{field}[{_label(new_items, index)}]{rest}"
            rewritten[key] = value
        after[section] = rewritten
