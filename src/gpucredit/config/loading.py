"""Read a deal spec from YAML, turning every problem into one clear ``SpecError``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from gpucredit.config.spec import DealSpec, SpecProblem
from gpucredit.errors import SpecError, SpecIssue

__all__ = ["load_deal", "parse_deal", "parse_spec", "read_spec_text", "spec_hash"]


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {mark.line + 1})", mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _construct_timestamp(loader: _UniqueKeyLoader, node: yaml.ScalarNode) -> Any:
    """A YAML date, or its text when it is no real date (2026-13-45): the spec then reports
    the field, the value and the expected format instead of PyYAML raising a bare ValueError."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


M = TypeVar("M", bound=BaseModel)


def load_deal(path: str | Path) -> DealSpec:
    """Load and validate one deal YAML file.

    Raises
    ------
    SpecError
        The file is missing or unreadable, is not valid YAML, or does not describe a valid
        deal. The message names the file, the field path (with its line), the value found
        and what was expected.
    """
    return parse_deal(read_spec_text(path, what="deal"), source=Path(path))


def read_spec_text(path: str | Path, *, what: str) -> str:
    """The text of a ``what`` (deal, miner) YAML file; a clear ``SpecError`` when it is
    missing, a directory or not UTF-8."""
    file = Path(path)
    if not file.exists():
        raise SpecError(file, [SpecIssue("", str(file), f"an existing {what} YAML file")])
    if file.is_dir():
        raise SpecError(file, [SpecIssue("", str(file), f"a {what} YAML file, not a directory")])
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(
            file, [SpecIssue("", type(exc).__name__, "a readable UTF-8 file")]
        ) from None


def parse_deal(text: str, *, source: str | Path | None = None) -> DealSpec:
    """Validate a deal given as YAML text (``source`` only labels the messages)."""
    return parse_spec(DealSpec, text, source=source, what="deal")


def parse_spec(model: type[M], text: str, *, source: str | Path | None, what: str) -> M:
    """Validate YAML ``text`` as ``model``: every problem with its field path, YAML line,
    value and expectation in one ``SpecError``."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
        lines = _line_index(text)
    except yaml.YAMLError as exc:
        raise SpecError(source, [_yaml_issue(exc, text)]) from None
    if not isinstance(data, dict):
        raise SpecError(
            source, [SpecIssue("", type(data).__name__, f"a mapping of {what} fields at top level")]
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SpecError(source, _issues(exc, data, lines)) from None


def _yaml_issue(exc: yaml.YAMLError, text: str) -> SpecIssue:
    """The line PyYAML stopped at (as the value) and its complaint (as the expectation)."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    if context and context_mark is not None:
        problem += f", {context} at line {context_mark.line + 1}"
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return SpecIssue("", "text that is not YAML", f"valid YAML syntax ({problem})")
    lines = text.splitlines()
    found = lines[mark.line].strip() if mark.line < len(lines) else "the end of the file"
    where = f"valid YAML syntax at column {mark.column + 1} ({problem})"
    return SpecIssue("", found, where, line=mark.line + 1)


def spec_hash(spec: BaseModel) -> str:
    """A stable 16-hex-digit hash of the validated spec (defaults included)."""
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _issues(exc: ValidationError, data: Any, lines: dict[tuple[Any, ...], int]) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        original = (err.get("ctx") or {}).get("error")
        if isinstance(original, SpecProblem):
            loc = loc + _split_field(original.field)
            value: object = original.value
            expected = original.expected
        elif err["type"] in _TAG_ERRORS and isinstance(err.get("input"), dict):
            # report the tag field itself ('loan.rate.kind'), not the whole mapping
            ctx = err.get("ctx") or {}
            loc = (*loc, str(ctx.get("discriminator", "kind")).strip("'"))
            value = ctx.get("tag")
            tags = ctx.get("expected_tags")
            expected = f"one of {tags}" if tags else "this required field to be given"
        else:
            value = err.get("input")
            expected = _expected(err)
        loc = _drop_union_tags(loc, data)
        issues.append(
            SpecIssue(_render_loc(loc), _short(value), expected, _nearest_line(loc, lines))
        )
    return issues


_TAG_ERRORS = frozenset({"union_tag_invalid", "union_tag_not_found"})


def _expected(err: Any) -> str:
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        return "no such field (check its spelling and units suffix)"
    if kind == "missing":
        return "this required field to be given"
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    if kind == "union_tag_invalid":
        tags = (err.get("ctx") or {}).get("expected_tags", "")
        return f"'kind' to be one of {tags}"
    if msg.startswith("Input should be "):
        return msg[len("Input should be ") :]  # 'expected greater than 0'
    return msg[0].lower() + msg[1:] if msg else kind


def _split_field(field: str) -> tuple[Any, ...]:
    out: list[Any] = []
    for part in field.replace("]", "").split("."):
        if not part:
            continue
        name, _, index = part.partition("[")
        if name:
            out.append(name)
        if index:
            out.append(int(index))
    return tuple(out)


#: The fields that discriminate the spec's tagged unions: ``kind`` (rate, amortisation,
#: facility) and ``step`` (waterfall step).
_DISCRIMINATORS = ("kind", "step")


def _drop_union_tags(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """Remove the tags pydantic inserts for discriminated unions, so that
    ``facilities[0].ddtl.draws[0].date`` reads ``facilities[0].draws[0].date`` and
    ``loan.rate.fixed.coupon_pct`` reads ``loan.rate.coupon_pct``.

    A part of the path is such a tag when the mapping it would index has no key of that name
    but carries it as the value of its discriminator (``kind: ddtl``). The path then walks on
    in the same mapping, so the field path (and its YAML line) is the one the user wrote.
    """
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part not in node:
            tags = {str(node[key]).strip() for key in _DISCRIMINATORS if key in node}
            if part in tags and out:
                continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(out)


def _render_loc(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _short(value: object) -> object:
    if isinstance(value, dict):
        return "{" + ", ".join(map(str, list(value)[:6])) + ("...}" if len(value) > 6 else "}")
    return value


def _line_index(text: str) -> dict[tuple[Any, ...], int]:
    """Map each key path of the YAML document to its 1-based line."""
    index: dict[tuple[Any, ...], int] = {}
    root = yaml.compose(text, Loader=yaml.SafeLoader)

    def walk(node: yaml.Node | None, path: tuple[Any, ...]) -> None:
        if node is None:
            return
        index[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, key.value)
                index[child] = key.start_mark.line + 1
                walk(value, child)
                index[child] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    walk(root, ())
    return index


def _nearest_line(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None
