"""Read a deal spec from YAML, turning every problem into one clear ``SpecError``.

A spec file is read and parsed once (``read_document``), under bounds that keep a hostile or
broken file from costing more than a moment and a few megabytes: the file must be a regular
file of at most ``MAX_SPEC_BYTES`` in UTF-8, its YAML nested at most ``MAX_DEPTH`` deep, with
at most ``MAX_ALIAS_NODES`` nodes reached through aliases and ``MAX_NODES`` in all, keys that
are plain scalars, lists and mappings of at most ``MAX_COLLECTION`` entries and integer
literals of at most ``MAX_INT_DIGITS`` digits. Anything beyond
is refused up front with the bound in the message (docs/specs.md, "Input bounds").
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from gpucredit.config.provenance import ProvenanceProblem
from gpucredit.config.spec import DealSpec, SpecProblem
from gpucredit.errors import SpecError, SpecIssue

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_COLLECTION",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "MAX_NODES",
    "MAX_SPEC_BYTES",
    "SpecDocument",
    "load_deal",
    "parse_deal",
    "parse_document",
    "parse_spec",
    "read_document",
    "read_spec_text",
    "spec_hash",
    "validate_document",
]

#: Largest spec file read, bytes (1 MiB). The largest shipped example is under 8 KiB; a deal
#: with the most cohorts and contracts a spec allows (200 of each) fits (an assumption).
MAX_SPEC_BYTES = 1 << 20
#: Deepest nesting of YAML collections. A deal nests 5 deep (facilities[i].rate.kind); the
#: bound leaves room and keeps the parser far from Python's recursion limit.
MAX_DEPTH = 64
#: Most nodes reached through aliases (``*name``), counting every node of the aliased
#: collection each time it is used; stops "billion laughs" bombs before they expand.
MAX_ALIAS_NODES = 10_000
#: Most nodes in the document, aliases expanded: a shipped example has a few hundred.
MAX_NODES = 250_000
#: Most items in one YAML list, and most keys in one mapping: a spec's longest list is a
#: schedule of at most 360 months, its largest mapping has under 30 fields; a longer one is
#: refused while it is read, before it costs a second.
MAX_COLLECTION = 1000
#: Longest integer literal, digits: no field of a spec needs more than 15 (a trillion USD has
#: 13); Python itself refuses to convert more than 4,300.
MAX_INT_DIGITS = 30


class _BoundedComposer(yaml.composer.Composer):
    """A composer that refuses documents beyond the bounds above.

    While composing it keeps each node's size with its aliases expanded, so a node reached
    through an alias costs one lookup, never a walk (the walk is what made a 448-byte bomb
    take gigabytes).
    """

    def __init__(self) -> None:
        yaml.composer.Composer.__init__(self)
        self.depth = 0
        self.alias_nodes = 0
        self.sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: Any = self.peek_event()  # type: ignore[attr-defined]
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:
                size = self.sizes.get(id(target))
                if size is None:
                    raise yaml.composer.ComposerError(
                        None, None, "an alias to a collection that contains it", mark
                    )
                self.alias_nodes += size
                if self.alias_nodes > MAX_ALIAS_NODES:
                    raise yaml.composer.ComposerError(
                        None,
                        None,
                        f"at most {MAX_ALIAS_NODES:,} nodes reached through aliases",
                        mark,
                    )
            return super().compose_node(parent, index)
        width = len(parent.value) if isinstance(parent, yaml.MappingNode) else index
        if isinstance(width, int) and width >= MAX_COLLECTION:
            kind = "items in a list" if isinstance(parent, yaml.SequenceNode) else "keys"
            raise yaml.composer.ComposerError(
                None, None, f"at most {MAX_COLLECTION:,} {kind}", mark
            )
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nesting at most {MAX_DEPTH} levels deep", mark
            )
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if node is None:
            return None
        if isinstance(node, yaml.MappingNode):
            size = 1 + sum(self.sizes[id(k)] + self.sizes[id(v)] for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self.sizes[id(item)] for item in node.value)
        else:
            size = 1
        if size > MAX_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"at most {MAX_NODES:,} nodes in all", node.start_mark
            )
        self.sizes[id(node)] = size
        return node


try:  # libyaml's scanner and parser: some ten times faster than PyYAML's own
    from yaml._yaml import CParser as _EventSource
except ImportError:  # PyYAML built without libyaml

    class _EventSource(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)


class _BoundedLoader(
    _BoundedComposer, _EventSource, yaml.constructor.SafeConstructor, yaml.resolver.Resolver
):
    """A safe loader (no Python tags) within the bounds: libyaml's events, our composer.
    It also refuses a key given twice in one mapping (PyYAML keeps the last) and a
    collection used as a key."""

    def __init__(self, stream: str) -> None:
        _EventSource.__init__(self, stream)
        _BoundedComposer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)


def _construct_mapping(loader: _BoundedLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        mark = key_node.start_mark
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, "a plain field name as key, not a list or mapping", mark
            )
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {mark.line + 1})", mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_BoundedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[type-var]


def _construct_timestamp(loader: _BoundedLoader, node: yaml.ScalarNode) -> Any:
    """A YAML date, or its text when it is no real date (2026-13-45): the spec then reports
    the field, the value and the expected format instead of PyYAML raising a bare ValueError."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)  # type: ignore[type-var]


def _construct_int(loader: _BoundedLoader, node: yaml.ScalarNode) -> Any:
    """A YAML integer of at most ``MAX_INT_DIGITS`` digits (Python refuses to convert more
    than 4,300, and no spec field needs more than 15)."""
    digits = sum(ch.isalnum() for ch in str(node.value))
    if digits > MAX_INT_DIGITS:
        raise yaml.constructor.ConstructorError(
            None, None, f"an integer of at most {MAX_INT_DIGITS} digits", node.start_mark
        )
    return loader.construct_yaml_int(node)


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)  # type: ignore[type-var]


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class SpecDocument:
    """A spec file parsed once: its data, the line of each key path and where it came from.

    Attributes
    ----------
    data : object
        The YAML document as Python values (a dict for any spec).
    lines : dict
        1-based line of each key path (aliased subtrees are indexed where they are defined).
    source : Path or None
        The file, for messages.
    """

    data: Any
    lines: dict[tuple[Any, ...], int]
    source: Path | None


def load_deal(path: str | Path) -> DealSpec:
    """Load and validate one deal YAML file.

    Raises
    ------
    SpecError
        The file is missing, not a regular file, over ``MAX_SPEC_BYTES``, not UTF-8, not
        valid YAML within the bounds of this module, or does not describe a valid deal. The
        message names the file, the field path (with its line), the value found and what was
        expected.
    """
    return validate_document(DealSpec, read_document(path, what="deal"), what="deal")


def read_document(path: str | Path, *, what: str) -> SpecDocument:
    """Read and parse a ``what`` (deal, miner) YAML file once, within the bounds."""
    return parse_document(read_spec_text(path, what=what), source=Path(path))


_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_kind(file: Path, mode: int, size: int, what: str) -> None:
    if stat.S_ISDIR(mode):
        raise SpecError(file, [SpecIssue("", str(file), f"a {what} YAML file, not a directory")])
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _SPECIAL_FILES if test(mode)), "a special file")
        raise SpecError(file, [SpecIssue("", kind, f"a regular {what} YAML file, not {kind}")])
    if size > MAX_SPEC_BYTES:
        raise SpecError(file, [_too_big(size)])


def _too_big(size: int) -> SpecIssue:
    return SpecIssue("", f"{size:,} bytes", f"a file of at most {MAX_SPEC_BYTES:,} bytes (1 MiB)")


def read_spec_text(path: str | Path, *, what: str) -> str:
    """The text of a ``what`` (deal, miner) YAML file.

    The file's kind is checked with ``os.stat`` before it is opened, and it is opened without
    blocking, so a FIFO or a device (``/dev/zero``) is refused at once; at most
    ``MAX_SPEC_BYTES + 1`` bytes are ever read.

    Raises
    ------
    SpecError
        Missing, a directory, a special file, over ``MAX_SPEC_BYTES``, unreadable or not
        UTF-8 (the message gives the line of the first bad byte).
    """
    file = Path(path)
    try:
        info = os.stat(file)
    except FileNotFoundError:
        raise SpecError(file, [SpecIssue("", str(file), f"an existing {what} YAML file")]) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise SpecError(
            file, [SpecIssue("", type(exc).__name__, f"a readable {what} YAML file")]
        ) from None
    _check_kind(file, info.st_mode, info.st_size, what)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(file, flags)
        try:
            opened = os.fstat(fd)  # the file may have been swapped since os.stat
            _check_kind(file, opened.st_mode, opened.st_size, what)
            chunks: list[bytes] = []
            total = 0
            while total <= MAX_SPEC_BYTES:
                chunk = os.read(fd, MAX_SPEC_BYTES + 1 - total)
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        finally:
            os.close(fd)
    except OSError as exc:
        raise SpecError(
            file, [SpecIssue("", type(exc).__name__, f"a readable {what} YAML file")]
        ) from None
    raw = b"".join(chunks)
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(file, [_too_big(len(raw))])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.start + 1]
        issue = SpecIssue("", f"byte 0x{bad.hex()}", "UTF-8 text", line=line)
        raise SpecError(file, [issue]) from None


def parse_deal(text: str, *, source: str | Path | None = None) -> DealSpec:
    """Validate a deal given as YAML text (``source`` only labels the messages)."""
    return parse_spec(DealSpec, text, source=source, what="deal")


def parse_spec(model: type[M], text: str, *, source: str | Path | None, what: str) -> M:
    """Validate YAML ``text`` as ``model``: every problem with its field path, YAML line,
    value and expectation in one ``SpecError``."""
    doc = parse_document(text, source=None if source is None else Path(source))
    return validate_document(model, doc, what=what)


def parse_document(text: str, *, source: Path | None) -> SpecDocument:
    """Parse YAML ``text`` once, within the bounds; the data and the line of each key path.

    Raises
    ------
    SpecError
        Not YAML, or beyond a bound (the message names the bound).
    """
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError(source, [_too_big(len(text.encode("utf-8")))])
    try:
        loader = _BoundedLoader(text)  # refuses control characters (NUL) at once
        try:
            root = loader.get_single_node()
            data = None if root is None else loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise SpecError(source, [_yaml_issue(exc, text)]) from None
    except RecursionError:
        issue = SpecIssue("", "a deeply nested document", f"nesting at most {MAX_DEPTH} deep")
        raise SpecError(source, [issue]) from None
    return SpecDocument(data, _line_index(root), source)


def validate_document(model: type[M], doc: SpecDocument, *, what: str) -> M:
    """Validate a parsed document as ``model``: every problem with its field path, YAML
    line, value and expectation in one ``SpecError``."""
    data = doc.data
    if not isinstance(data, dict):
        raise SpecError(
            doc.source,
            [SpecIssue("", type(data).__name__, f"a mapping of {what} fields at top level")],
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SpecError(doc.source, _issues(exc, data, doc.lines)) from None
    except RecursionError:
        issue = SpecIssue("", "a deeply nested document", f"nesting at most {MAX_DEPTH} deep")
        raise SpecError(doc.source, [issue]) from None


def _yaml_issue(exc: yaml.YAMLError, text: str) -> SpecIssue:
    """The line PyYAML stopped at (as the value) and its complaint (as the expectation)."""
    if isinstance(exc, yaml.reader.ReaderError):  # a control character, found before parsing
        line = text.count("\n", 0, exc.position) + 1
        found = f"character #x{exc.character:04x}" if isinstance(exc.character, int) else "?"
        return SpecIssue("", found, f"printable YAML text ({exc.reason})", line=line)
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
        if isinstance(original, ProvenanceProblem):
            loc = loc + original.parts
            value: object = original.value
            expected = original.expected
        elif isinstance(original, SpecProblem):
            loc = loc + _split_field(original.field)
            value = original.value
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


def _line_index(root: yaml.Node | None) -> dict[tuple[Any, ...], int]:
    """Map each key path of the composed YAML document to its 1-based line.

    Each node is walked once: a collection reached again through an alias is not walked
    again (its paths below the alias resolve to the alias's line through ``_nearest_line``).
    """
    index: dict[tuple[Any, ...], int] = {}
    seen: set[int] = set()

    def walk(node: yaml.Node | None, path: tuple[Any, ...]) -> None:
        if node is None:
            return
        index[path] = node.start_mark.line + 1
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
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
