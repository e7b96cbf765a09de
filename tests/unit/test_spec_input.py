"""Hostile and absurd spec files are refused up front, each with one ``SpecError`` that names
the file, the field (or the document), the value and the bound; quickly and in little memory.

Each case goes through ``gpucredit.cli.app.load_spec``, the path the CLI uses.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import time
import tracemalloc
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import yaml

from gpucredit.cli.app import load_spec
from gpucredit.config.loading import (
    MAX_ALIAS_NODES,
    MAX_COLLECTION,
    MAX_DEPTH,
    MAX_INT_DIGITS,
    MAX_SPEC_BYTES,
    parse_document,
)
from gpucredit.config.miner import MinerSpec
from gpucredit.config.spec import DealSpec
from gpucredit.errors import SpecError
from tests.conftest import EXAMPLES, load_example_data

#: CPU seconds any refusal may take: the slowest (a 20,000-item list, refused at its
#: 1,000th item) takes about 0.1 s; ten times that leaves room for a slow CI machine. CPU,
#: not wall time, so that a loaded machine does not fail it; a refusal that blocks (a FIFO
#: opened for reading) is caught by the alarm instead.
QUICK_S = 1.0
#: Wall seconds after which a refusal counts as blocked.
BLOCKED_S = 60
#: Peak Python memory of a refusal, bytes: the 20,000-item list needs ~30 MB of nodes;
#: an alias bomb expanded would need gigabytes.
SMALL_BYTES = 100 * 2**20


def _refused(path: Path, *needles: str, memory: bool = False) -> str:
    """Load ``path``; it must be refused quickly with ``needles`` in the message (and, with
    ``memory``, in bounded memory: measured on a second load, as tracing slows it)."""

    def blocked(signum: int, frame: FrameType | None) -> None:
        raise AssertionError(f"loading {path} blocked for {BLOCKED_S} s")

    previous = signal.signal(signal.SIGALRM, blocked)
    signal.alarm(BLOCKED_S)
    started = time.process_time()
    try:
        with pytest.raises(SpecError) as caught:
            load_spec(path)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.process_time() - started
    message = str(caught.value)
    assert elapsed < QUICK_S, f"{elapsed:.2f} CPU seconds to refuse {path}"
    assert message.startswith(str(path)), message
    for needle in needles:
        assert needle in message, message
    assert len(caught.value.issues) == 1
    if memory:
        tracemalloc.start()
        try:
            with pytest.raises(SpecError):
                load_spec(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < SMALL_BYTES, f"{peak / 2**20:.0f} MiB to refuse {path}"
    return message


def _write(tmp_path: Path, text: str, name: str = "deal.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _alias_bomb(levels: int) -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    names = "abcdefghijklmnop"
    for i in range(1, levels):
        text += f"{names[i]}: &{names[i]} [" + ",".join([f"*{names[i - 1]}"] * 9) + "]\n"
    return text


def test_alias_bomb_is_refused_in_milliseconds(tmp_path: Path) -> None:
    text = _alias_bomb(9)
    assert len(text.encode()) < 460  # the issue's bomb: 448 bytes, 9 levels
    started = time.process_time()
    _refused(
        _write(tmp_path, text),
        f"at most {MAX_ALIAS_NODES:,} nodes reached through aliases",
        memory=True,
    )
    # a bomb stops at its fifth level: 9^5 nodes; milliseconds, not the minutes of a walk
    assert time.process_time() - started < 0.5


def test_a_few_aliases_are_fine() -> None:
    doc = parse_document("a: &x [1, 2]\nb: *x\nc: *x\n", source=None)
    assert doc.data == {"a": [1, 2], "b": [1, 2], "c": [1, 2]}
    assert doc.lines[("b",)] == 2


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    _refused(_write(tmp_path, "a: &a [1, *a]\n"), "an alias to a collection that contains it")


@pytest.mark.parametrize("flow", [True, False], ids=["flow", "block"])
def test_deep_nesting_is_refused(tmp_path: Path, flow: bool) -> None:
    depth = 900  # the issue's RecursionError
    if flow:
        text = "a: " + "[" * depth + "]" * depth + "\n"
    else:
        text = "".join(" " * i + f"k{i}:\n" for i in range(depth))
    _refused(_write(tmp_path, text), f"nesting at most {MAX_DEPTH} levels deep", memory=not flow)


@pytest.mark.parametrize("key", ["? [a, b]\n: 1\n", "{a: 1}: 2\n"], ids=["list", "mapping"])
def test_collection_as_key_is_refused(tmp_path: Path, key: str) -> None:
    _refused(_write(tmp_path, key), "a plain field name as key", "(line 1)")


def test_huge_integer_literal_is_refused(tmp_path: Path) -> None:
    text = "name: x\nas_of: " + "9" * 5000 + "\n"
    _refused(_write(tmp_path, text), f"an integer of at most {MAX_INT_DIGITS} digits", "(line 2)")


def test_twenty_thousand_item_list_is_refused_by_its_bound(tmp_path: Path) -> None:
    text = (EXAMPLES / "merchant_h100.yaml").read_text(encoding="utf-8")
    lines = text.count("\n")
    text += "facilities:\n" + "  - {name: T, kind: notes, principal_usd: 1}\n" * 20_000
    assert len(text.encode()) < MAX_SPEC_BYTES  # within the size bound: refused while read
    where = f"(line {lines + 2 + MAX_COLLECTION})"
    _refused(_write(tmp_path, text), where, f"at most {MAX_COLLECTION:,} items in a list")


def test_list_over_the_spec_bound_is_refused(tmp_path: Path) -> None:
    text = (EXAMPLES / "merchant_h100.yaml").read_text(encoding="utf-8")
    text += "facilities:\n" + "  - {name: T, kind: notes, principal_usd: 1}\n" * 500
    _refused(_write(tmp_path, text), "field 'facilities'", "at most 200 items")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused_without_reading(device: str) -> None:
    if not Path(device).exists():
        # a device missing on this system (a minimal container) has nothing to refuse
        pytest.skip(f"no {device} on this system")
    _refused(
        Path(device),
        "a character device",
        "expected a regular deal or miner YAML file",
        memory=True,
    )


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "deal.yaml"
    os.mkfifo(fifo)  # no writer: opening it for reading would block for ever
    _refused(fifo, "a FIFO")


def test_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        _refused(path, "a socket")


def test_directory_and_missing_file_are_refused(tmp_path: Path) -> None:
    _refused(tmp_path, "not a directory")
    _refused(tmp_path / "none.yaml", "an existing deal or miner YAML file")


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# padding\n" * (MAX_SPEC_BYTES // 10 + 1))
    _refused(path, f"a file of at most {MAX_SPEC_BYTES:,} bytes", memory=True)


def test_non_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "deal.yaml"
    path.write_bytes(b"name: ok\nnotes: caf\xe9\n")
    _refused(path, "(line 2)", "byte 0xe9", "expected UTF-8 text")


def test_control_character_names_its_line(tmp_path: Path) -> None:
    _refused(_write(tmp_path, "name: ok\nnotes: a\x00b\n"), "(line 2)", "#x0000")


@pytest.mark.parametrize(
    "value", [".inf", "-.inf", ".nan", "1e999", "'inf'", "'nan'", "'-Infinity'"]
)
def test_infinity_and_nan_are_refused_with_field_and_line(tmp_path: Path, value: str) -> None:
    text = (EXAMPLES / "merchant_h100.yaml").read_text(encoding="utf-8")
    assert "unit_cost_usd: 23500" in text
    path = _write(tmp_path, text.replace("unit_cost_usd: 23500", f"unit_cost_usd: {value}"))
    line = _line_of(text, "unit_cost_usd: 23500")
    _refused(path, f"field 'fleet[0].unit_cost_usd' (line {line})", "expected a finite number")


def test_infinity_refused_in_a_miner(tmp_path: Path) -> None:
    text = (EXAMPLES / "miner_hosting_pivot.yaml").read_text(encoding="utf-8")
    assert "hashrate_eh_s: 12" in text
    path = _write(tmp_path, text.replace("hashrate_eh_s: 12", "hashrate_eh_s: .inf"))
    line = _line_of(text, "hashrate_eh_s: 12")
    _refused(path, f"field 'mining.hashrate_eh_s' (line {line})", "expected a finite number")


def _line_of(text: str, needle: str) -> int:
    """The 1-based line of ``needle`` in an example (its comments move fields about)."""
    return 1 + text[: text.index(needle)].count("\n")


def _deal_refused(tmp_path: Path, data: dict[str, Any], field: str, *needles: str) -> None:
    path = _write(tmp_path, yaml.safe_dump(data, sort_keys=False))
    _refused(path, f"field '{field}'", *needles)


def test_principal_many_times_the_fleet_cost(tmp_path: Path) -> None:
    data = load_example_data("merchant_h100")
    data["loan"]["principal_usd"] = 10 * 10_000 * 23_500 + 1.0
    _deal_refused(tmp_path, data, "loan.principal_usd", "at most 10 times the fleet's cost")


def test_principal_1e19_is_refused(tmp_path: Path) -> None:
    data = load_example_data("merchant_h100")
    data["loan"]["principal_usd"] = 1e19  # the issue's negative expected loss
    _deal_refused(tmp_path, data, "loan.principal_usd", "less than or equal to 1000000000000")


def test_tenor_beyond_the_fleet_life(tmp_path: Path) -> None:
    data = load_example_data("merchant_h100")  # H100s bought 2025-06-30, 7-year life
    data["loan"]["tenor_months"] = 12 * 10 + 1  # to 2036-08, past 2032-06 plus 36 months
    _deal_refused(tmp_path, data, "loan.tenor_months", "the fleet's economic life ends")


@pytest.mark.parametrize(
    ("field", "value", "bound"),
    [
        ("units", 10**9, "less than or equal to 1000000"),
        ("unit_cost_usd", 5.0, "greater than or equal to 500"),
        ("unit_cost_usd", 5e6, "less than or equal to 200000"),
        ("purchase_date", dt.date(1999, 1, 1), "greater than or equal to 2009-01-03"),
    ],
)
def test_cohort_outside_sourced_ranges(tmp_path: Path, field: str, value: Any, bound: str) -> None:
    data = load_example_data("merchant_h100")
    data["fleet"][0][field] = value
    _deal_refused(tmp_path, data, f"fleet[0].{field}", bound)


def test_cure_period_that_would_overflow(tmp_path: Path) -> None:
    data = load_example_data("hosting_secured_notes_backstop")
    facility = data["facilities"][0]
    facility["covenants"] = [{"kind": "min_dscr", "threshold": 1.1, "cure_period_months": 2**62}]
    _deal_refused(
        tmp_path, data, "facilities[0].covenants[0].cure_period_months", "less than or equal to 360"
    )


def test_cohort_repeated_in_secured_by(tmp_path: Path) -> None:
    data = load_example_data("parent_unsecured_notes")
    i = next(i for i, f in enumerate(data["facilities"]) if f.get("secured_by"))
    pledged = data["facilities"][i]["secured_by"]
    data["facilities"][i]["secured_by"] = [*pledged, pledged[0]]
    _deal_refused(
        tmp_path, data, f"facilities[{i}].secured_by[{len(pledged)}]", "each collateral named once"
    )


def test_miner_lease_ending_9999_is_refused(tmp_path: Path) -> None:
    data = load_example_data("miner_hosting_pivot")
    data["hosting"]["leases"][0]["end"] = dt.date(9999, 12, 31)
    _deal_refused(tmp_path, data, "hosting.leases[0].end", "less than or equal to 2100-12-31")


def test_miner_hashrate_above_the_network(tmp_path: Path) -> None:
    data = load_example_data("miner_hosting_pivot")
    data["mining"]["hashrate_eh_s"] = 5000
    _deal_refused(tmp_path, data, "mining.hashrate_eh_s", "less than or equal to 1306")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_examples_stay_valid(path: Path) -> None:
    spec = load_spec(path)
    assert isinstance(spec, MinerSpec | DealSpec)


def test_true_is_not_a_number(tmp_path: Path) -> None:
    data = load_example_data("ddtl_ig_contracted")
    data["opex"]["sga_share_of_revenue"] = True  # pydantic alone would read a 100% cost
    _deal_refused(tmp_path, data, "opex.sga_share_of_revenue", "a number or text, not true")
