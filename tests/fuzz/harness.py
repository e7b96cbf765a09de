"""The fuzz harness: spec cases drawn by Hypothesis, each run the way the CLI runs it.

A case is YAML text. It is written to a file and loaded through ``gpucredit.cli.app.load_spec``
(the CLI's own path); a ``SpecError`` is a clean rejection, and so is a ``DataError`` that
names a missing shipped series for the spec's date (a GPU generation dated before its first
rent observation: the CLI prints it as one error line with exit code 2). An accepted spec is
simulated with few paths under a per-case timeout (``signal.alarm``), and every number of its JSON
record (``reports.tables.run_document``, what ``run --json`` prints) and of its
``summary()`` must be finite or None. Anything else (another exception, a timeout, a
non-finite number) is a failure, recorded with its site (the deepest gpucredit frame).

Cases come from four generators (``cases``):

* mutations of every shipped example (``examples/*.yaml``): type swaps, bad and huge numbers,
  NaN and infinity, deleted and unknown fields, bad dates, dangling references, duplicated
  list items, scaled values (which keep many specs valid and so reach the engine);
* mutations of the YAML text itself (cut, spliced, re-indented lines, odd characters);
* a sub-model of an example (a cohort, a facility, the opex, ...) replaced by one drawn from
  the spec schema (``DealSpec``/``MinerSpec`` JSON schema: values by type and bound, with the
  bounds themselves and the values just outside them);
* whole specs drawn from the schema.

Both ``tests/fuzz`` and ``scripts/fuzz.py`` call ``run_fuzz``, so the figures they print are
the same for one seed and case count.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import math
import re
import signal
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

import gpucredit
from gpucredit.cli.app import load_spec
from gpucredit.config.miner import MinerSpec
from gpucredit.config.presets import generation_presets
from gpucredit.config.spec import DealSpec
from gpucredit.errors import DataError, SpecError
from gpucredit.factors.parameter_source import check_as_of
from gpucredit.reports.tables import run_document

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "src" / "gpucredit" / "examples").glob("*.yaml"))
EXAMPLE_DATA: dict[str, dict[str, Any]] = {
    p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in EXAMPLES
}
EXAMPLE_TEXT: dict[str, str] = {p.stem: p.read_text(encoding="utf-8") for p in EXAMPLES}

#: Monte Carlo paths of each accepted case: enough for every statistic to be defined, few
#: enough for thousands of cases (the fuzz checks robustness, not accuracy).
N_PATHS = 32
#: Every FULL_EVERY-th accepted case also solves the fair spreads of a multi-facility deal
#: and runs a miner's premium and attribution (the costly passes: 2-8 s each with 32 paths);
#: single-loan GPU deals always solve theirs (0.1 s).
FULL_EVERY = 8
#: Paths of each of a miner's 16 attribution runs in a full case.
ATTRIBUTION_PATHS = 8
#: Seconds a case may take before it counts as a hang (the slowest shipped example takes
#: about 8 s with every pass on a loaded 2-core machine).
TIMEOUT_S = 60

OUTCOMES = ("rejected", "accepted", "traceback", "hang", "non-finite")


class CaseTimeout(BaseException):
    """Raised by the alarm: a case that ran past ``TIMEOUT_S`` (a BaseException, so that no
    ``except Exception`` in the code under test swallows it)."""


@dataclass
class Failure:
    """One failing case: its outcome, where it failed and the spec that did it."""

    outcome: str
    site: str
    detail: str
    text: str


@dataclass
class Tally:
    """Counts of the outcomes, the failures and the time spent."""

    counts: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    full_runs: int = 0

    @property
    def cases(self) -> int:
        return sum(self.counts.values())

    @property
    def failed(self) -> int:
        return self.counts["traceback"] + self.counts["hang"] + self.counts["non-finite"]

    def sites(self) -> dict[str, list[Failure]]:
        """Failures grouped by distinct site."""
        out: dict[str, list[Failure]] = {}
        for f in self.failures:
            out.setdefault(f"{f.outcome}: {f.site}", []).append(f)
        return out

    def table(self) -> str:
        """The counts as a small text table, then one line per distinct failure site."""
        rows = [("cases", self.cases), ("clean rejections", self.counts["rejected"])]
        rows += [("accepted (finite output)", self.counts["accepted"])]
        rows += [("  of which with every pass", self.full_runs)]
        rows += [("tracebacks", self.counts["traceback"]), ("hangs", self.counts["hang"])]
        rows += [("non-finite", self.counts["non-finite"])]
        rows += [
            ("seconds (wall)", round(self.seconds)),
            ("seconds (CPU)", round(self.cpu_seconds)),
        ]
        lines = [f"{name:<28}{value:>8}" for name, value in rows]
        for site, failures in sorted(self.sites().items()):
            lines.append(f"{len(failures):>4} x {site}  ({failures[0].detail[:160]})")
        return "\n".join(lines)


@contextlib.contextmanager
def _alarm(seconds: int) -> Iterator[None]:
    def ring(signum: int, frame: FrameType | None) -> None:
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _site(exc: BaseException) -> str:
    """``file:line`` of the deepest frame inside gpucredit, and the exception's type."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/gpucredit/" in f.filename.replace("\\", "/")]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return type(exc).__name__
    name = frame.filename.replace("\\", "/")
    name = name[name.rfind("/gpucredit/") + 1 :] if "/gpucredit/" in name else name
    return f"{name}:{frame.lineno} {type(exc).__name__}"


def non_finite(value: Any, where: str = "") -> str | None:
    """The path of the first number in ``value`` (dicts, lists, numbers) that is NaN or
    infinite, or None when all are finite."""
    if isinstance(value, dict):
        for key, item in value.items():
            found = non_finite(item, f"{where}.{key}")
            if found:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = non_finite(item, f"{where}[{i}]")
            if found:
                return found
    elif isinstance(value, float | np.floating) and not math.isfinite(value):
        return f"{where} = {value}"
    return None


def _summary_non_finite(frame: Any) -> str | None:
    """An infinite number in a ``summary()`` frame (NaN is how pandas shows None)."""
    numbers = frame.select_dtypes(include="number")
    bad = np.isinf(numbers.to_numpy(dtype=float))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        return f"summary {numbers.index[row]} {numbers.columns[col]} = inf"
    return None


def run_case(text: str, folder: Path, tally: Tally, *, simulate: bool = True) -> str:
    """Run one case: load it as the CLI does, simulate it if accepted (unless ``simulate``
    is false), record the outcome."""
    path = folder / "case.yaml"
    path.write_text(text, encoding="utf-8")
    started, cpu = time.perf_counter(), time.process_time()
    outcome, site, detail = "accepted", "", ""
    try:
        # numerical warnings are errors here as in the test suite: the figures of
        # scripts/fuzz.py and of pytest agree, and no NaN passes silently
        with _alarm(TIMEOUT_S), warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                spec = load_spec(path)
                check_as_of(spec.as_of, path)  # the CLI's check after loading (exit 2)
            except SpecError:
                outcome = "rejected"
            else:
                try:
                    found = _simulate(spec, tally) if simulate else None
                except DataError as missing:
                    if not str(missing).startswith("missing series "):
                        raise
                    outcome, found = "rejected", None
                if found:
                    outcome, site, detail = "non-finite", found.split(" = ")[0], found
    except CaseTimeout:
        outcome, site, detail = "hang", f"over {TIMEOUT_S} s", "timeout"
    except Exception as exc:
        message = str(exc)
        non_finite_message = re.search(r"non-finite|\bnan\b|\binf(inity)?\b", message, re.I)
        outcome = "non-finite" if non_finite_message else "traceback"
        site, detail = _site(exc), message.splitlines()[0] if message else repr(exc)
    tally.seconds += time.perf_counter() - started
    tally.cpu_seconds += time.process_time() - cpu
    tally.counts[outcome] += 1
    if outcome not in ("rejected", "accepted"):
        tally.failures.append(Failure(outcome, site, detail, text))
    return outcome


def _simulate(spec: DealSpec | MinerSpec, tally: Tally) -> str | None:
    """Simulate an accepted spec and return the first non-finite number's place, if any."""
    full = tally.counts["accepted"] % FULL_EVERY == 0
    if isinstance(spec, MinerSpec):
        miner = gpucredit.simulate_miner(
            spec,
            n_paths=N_PATHS,
            seed=0,
            solve_fair_spread=full,
            premium=full,
            premium_curve=full,
            attribution=full,
            attribution_paths=ATTRIBUTION_PATHS,
        )
        tally.full_runs += full
        document = run_document([], 0, N_PATHS, [miner])
        return non_finite(document) or _summary_non_finite(miner.summary())
    single = spec.loan is not None or len(spec.facilities) == 1
    result = gpucredit.simulate(
        spec, n_paths=N_PATHS, seed=0, keep_paths=0, solve_fair_spread=full or single
    )
    tally.full_runs += full or single
    document = run_document([result], 0, N_PATHS)
    return non_finite(document) or _summary_non_finite(result.summary())


# --- case generators --------------------------------------------------------------------

_NON_FINITE: list[Any] = [math.inf, -math.inf, math.nan, ".inf", "1e999", "inf", "nan", "-Infinity"]
_BAD_NUMBERS: list[Any] = [
    0,
    -1,
    -0.0,
    1e-300,
    0.5,
    1e19,
    2**63,
    -(2**63),
    10**25,
    1e300,
    "12%",
    "1,000",
    "0x10",
    True,
]
#: Drawn values are deep-copied before use: a later mutation must never change this list
#: (Hypothesis needs generation to depend on its draws only).
_TYPE_SWAPS: list[Any] = ["text", "", 1, -1, 0, 1.5, True, None, [], {}, [1, 2], {"a": 1}]
_BAD_DATES: list[Any] = [
    "2026-13-45",
    "9999-12-31",
    dt.date(9999, 12, 31),
    dt.date(1, 1, 1),
    dt.date(2008, 12, 31),
    dt.date(2100, 12, 31),
    dt.date(2101, 1, 1),
    "yesterday",
    20260731,
    "2026-07-31T12:00:00+05:00",
]
_SCALES = [0.0, 1e-6, 0.001, 0.1, 0.5, 0.9, 1.1, 2.0, 10.0, 100.0, 1e4, 1e8]
_REF_KEYS = ("cohort", "facility", "tenant", "name")
_SCALAR = (str, int, float, bool, dt.date, type(None))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into the data (mappings by key, lists by index), the root excluded."""
    out: list[tuple[Any, ...]] = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        path = (*prefix, key)
        out.append(path)
        out.extend(_paths(child, path))
    return out


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _names(data: Any) -> list[str]:
    """Names an example uses as references (cohorts, facilities, tenants)."""
    found: list[str] = []
    for path in _paths(data):
        if path[-1] in _REF_KEYS and isinstance(_get(data, path), str):
            found.append(_get(data, path))
    return sorted(set(found)) or ["x"]


@st.composite
def mutated_example(draw: st.DrawFn) -> str:
    """A shipped example with one to three structural mutations, as YAML text."""
    stem = draw(st.sampled_from(sorted(EXAMPLE_DATA)))
    data = copy.deepcopy(EXAMPLE_DATA[stem])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _get(data, path[:-1]), path[-1]
        value = parent[key]
        op = draw(st.sampled_from(_OPS))
        _apply(draw, op, data, parent, key, value)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


_OPS = (
    "swap_type",
    "bad_number",
    "non_finite",
    "delete",
    "unknown_field",
    "bad_date",
    "dangling",
    "duplicate",
    "huge",
    "scale",
    "scale",
    "scale",
    "edge",
)


def _apply(draw: st.DrawFn, op: str, data: Any, parent: Any, key: Any, value: Any) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if op == "swap_type":
        parent[key] = copy.deepcopy(draw(st.sampled_from(_TYPE_SWAPS)))
    elif op == "bad_number":
        parent[key] = draw(st.sampled_from(_BAD_NUMBERS))
    elif op == "non_finite":
        parent[key] = draw(st.sampled_from(_NON_FINITE))
    elif op == "delete":
        del parent[key]
    elif op == "unknown_field":
        target = value if isinstance(value, dict) else parent
        if isinstance(target, dict):
            name = draw(st.sampled_from(["bogus", "unit_price_usd", "Name", "tenor", "kind "]))
            target[name] = copy.deepcopy(draw(st.sampled_from(_TYPE_SWAPS)))
    elif op == "bad_date":
        parent[key] = draw(st.sampled_from(_BAD_DATES))
    elif op == "dangling":
        names = _names(data)
        parent[key] = draw(st.sampled_from([*names, "no-such-name", "", " ", "[/x]"]))
    elif op == "duplicate":
        target = value if isinstance(value, list) else parent
        if isinstance(target, list) and target:
            i = draw(st.integers(0, len(target) - 1))
            copies = draw(st.sampled_from([1, 1, 1, 5, 300]))
            target[i + 1 : i + 1] = [copy.deepcopy(target[i]) for _ in range(copies)]
    elif op == "huge":
        parent[key] = draw(st.sampled_from([10**12, 10**15, 1e18, 10**29, 1.7e308, 2**53 + 1]))
    elif op == "scale" and number:
        scaled = value * draw(st.sampled_from(_SCALES))
        parent[key] = int(scaled) if isinstance(value, int) else scaled
    elif op == "scale" and isinstance(value, dt.date):
        days = draw(st.sampled_from([-3650, -365, -1, 1, 31, 3650]))
        try:
            parent[key] = value + dt.timedelta(days=days)
        except OverflowError:  # a date an earlier mutation put near the calendar's end
            parent[key] = dt.date.max if days > 0 else dt.date.min
    elif op == "edge" and number:
        parent[key] = draw(st.sampled_from([0, 0.0, 1, 1e-9, value + 1, value - 1, -value]))
    else:  # an operation that does not fit this value: a type swap instead
        parent[key] = copy.deepcopy(draw(st.sampled_from(_TYPE_SWAPS)))


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    """A shipped example's YAML text with a line cut, spliced, re-indented or garbled."""
    lines = EXAMPLE_TEXT[draw(st.sampled_from(sorted(EXAMPLE_TEXT)))].splitlines(keepends=True)
    i = draw(st.integers(0, len(lines) - 1))
    op = draw(st.sampled_from(["cut", "drop", "double", "indent", "insert", "truncate"]))
    if op == "cut":
        lines[i] = lines[i][: draw(st.integers(0, max(0, len(lines[i]) - 1)))] + "\n"
    elif op == "drop":
        del lines[i]
    elif op == "double":
        lines.insert(i, lines[i])
    elif op == "indent":
        lines[i] = draw(st.sampled_from(["  ", " ", "\t", "- "])) + lines[i]
    elif op == "insert":
        junk = draw(
            st.sampled_from(
                [
                    "&a",
                    "*a",
                    "!!python/object:os.system",
                    "{",
                    "]",
                    ": :",
                    "\x07",
                    "? [x]",
                    "<<: *a",
                    "%YAML 9.9",
                    "---",
                    "\u202e",
                ]
            )
        )
        lines.insert(i, junk + "\n")
    else:
        lines = lines[:i]
    return "".join(lines)


def _defs(model: type[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = model.model_json_schema()
    return schema, schema.get("$defs", {})


_DATES = st.one_of(
    st.dates(dt.date(2009, 1, 3), dt.date(2100, 12, 31)),
    st.sampled_from(
        [dt.date(2009, 1, 3), dt.date(2100, 12, 31), dt.date(2009, 1, 2), dt.date(2101, 1, 1)]
    ),
)


def _number(schema: dict[str, Any], integer: bool) -> st.SearchStrategy[Any]:
    lo = schema.get("minimum", schema.get("exclusiveMinimum"))
    hi = schema.get("maximum", schema.get("exclusiveMaximum"))
    edges: list[Any] = [0, 1, -1]
    for bound in (lo, hi):
        if bound is not None:
            edges += (
                [bound, bound - 1, bound + 1]
                if integer
                else [bound, math.nextafter(bound, -math.inf), math.nextafter(bound, math.inf)]
            )
    if integer:
        inner = st.integers(
            int(lo if lo is not None else -10), int(hi if hi is not None else 10**6)
        )
    else:
        inner = st.floats(
            float(lo if lo is not None else -1e6),
            float(hi if hi is not None else 1e9),
            allow_nan=False,
            allow_infinity=False,
        )
    return st.one_of(inner, st.sampled_from(edges))


def from_schema(
    schema: dict[str, Any], defs: dict[str, Any], name: str = ""
) -> st.SearchStrategy[Any]:
    """Values for a JSON schema of pydantic: by type and bound, edges included."""
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, name)
    for union in ("oneOf", "anyOf"):
        if union in schema:
            return st.one_of([from_schema(s, defs, name) for s in schema[union]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        return _number(schema, integer=True)
    if kind == "number":
        return _number(schema, integer=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "string":
        if schema.get("format") == "date":
            return _DATES
        if name == "generation":
            return st.sampled_from([*generation_presets(), "H900", "h100"])
        if name == "rating":
            return st.sampled_from(["AAA", "BBB", "BB+", "CCC", "D", "bbb-"])
        return st.sampled_from(["a", "b", "c1", "", "x" * 70])
    if kind == "array":
        items = from_schema(schema.get("items", {}), defs, name)
        return st.lists(
            items, min_size=schema.get("minItems", 0), max_size=min(3, schema.get("maxItems", 3))
        )
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        fields = {k: from_schema(v, defs, k) for k, v in props.items()}
        return st.fixed_dictionaries(
            {k: s for k, s in fields.items() if k in required},
            optional={k: s for k, s in fields.items() if k not in required},
        )
    return st.sampled_from(_TYPE_SWAPS).map(copy.deepcopy)


@st.composite
def schema_swap(draw: st.DrawFn) -> str:
    """An example with one sub-model (a mapping) replaced by one drawn from its schema."""
    stem = draw(st.sampled_from(sorted(EXAMPLE_DATA)))
    data = copy.deepcopy(EXAMPLE_DATA[stem])
    model = MinerSpec if "mining" in data else DealSpec
    root, defs = _defs(model)
    candidates = [p for p in _paths(data) if isinstance(_get(data, p), dict)]
    path = draw(st.sampled_from(candidates))
    sub = _schema_at(root, defs, path)
    if sub is not None:
        drawn = draw(from_schema(sub, defs, str(path[-1])))
        _get(data, path[:-1])[path[-1]] = drawn
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _schema_at(
    schema: dict[str, Any], defs: dict[str, Any], path: tuple[Any, ...]
) -> dict[str, Any] | None:
    """The schema of the value at ``path`` (the first variant of a union)."""
    for part in path:
        while "$ref" in schema or "oneOf" in schema or "anyOf" in schema:
            if "$ref" in schema:
                schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
            else:
                options = [
                    s
                    for s in schema.get("oneOf", schema.get("anyOf", []))
                    if s.get("type") != "null"
                ]
                if not options:
                    return None
                schema = options[0]
        if isinstance(part, int):
            schema = schema.get("items", {})
        else:
            props = schema.get("properties", {})
            if part not in props:
                return None
            schema = props[part]
    return schema


@st.composite
def schema_spec(draw: st.DrawFn) -> str:
    """A whole deal or miner drawn from its schema."""
    model = draw(st.sampled_from([DealSpec, MinerSpec]))
    root, defs = _defs(model)
    return yaml.safe_dump(draw(from_schema(root, defs)), sort_keys=False)


def cases() -> st.SearchStrategy[str]:
    """Every kind of case, mostly cheap mutations of the shipped examples."""
    kinds = [mutated_example()] * 12 + [mutated_text()] * 3 + [schema_swap()] * 3 + [schema_spec()]
    return st.sampled_from(range(len(kinds))).flatmap(lambda i: kinds[i])


def run_fuzz(
    n_cases: int,
    seed: int = 0,
    on_case: Callable[[int, str], None] | None = None,
    *,
    simulate: bool = True,
) -> Tally:
    """Run ``n_cases`` cases drawn with ``seed``; the tally of their outcomes.

    The shipped examples run first (they must all be accepted with finite output); they
    also compile the kernels, so no case is timed with the compiler. ``simulate=False``
    only loads each case (the loader's own fuzz, a second or two per hundred cases).
    """
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="gpucredit-fuzz-") as tmp:
        folder = Path(tmp)
        for text in EXAMPLE_TEXT.values():
            run_case(text, folder, tally, simulate=simulate)

        @hypothesis_seed(seed)
        @settings(
            max_examples=n_cases,
            database=None,
            deadline=None,
            derandomize=False,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(cases())
        def one(text: str) -> None:
            outcome = run_case(text, folder, tally, simulate=simulate)
            if on_case is not None:
                on_case(tally.cases, outcome)

        one()
    return tally
