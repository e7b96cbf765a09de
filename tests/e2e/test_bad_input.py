"""Bad input: exit code 2, one message (file, field path, value, expectation), no traceback,
nothing on stdout and nothing written under ``--out``.

The seven cases of the issue run the real CLI in a subprocess; a few more message checks
run in-process through Typer's CliRunner.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import EXAMPLES
from typer.testing import CliRunner

import gpucredit.cli.app as cli_app
from gpucredit.cli.app import app

RunCli = Callable[..., subprocess.CompletedProcess[str]]
WriteYaml = Callable[[Path, dict[str, Any]], Path]
#: Builds a broken deal file in a folder; returns its path and what the message must contain.
Case = Callable[[Path, dict[str, Any], WriteYaml], tuple[Path, list[str]]]

EXIT_INPUT = 2


def _unknown_field(tmp: Path, data: dict[str, Any], write: WriteYaml) -> tuple[Path, list[str]]:
    data["fleet"][0]["unit_price_usd"] = 23500  # the field is unit_cost_usd
    return write(tmp / "deal.yaml", data), [
        "fleet[0].unit_price_usd",
        "got 23500",
        "expected no such field",
    ]


def _wrong_type(tmp: Path, data: dict[str, Any], write: WriteYaml) -> tuple[Path, list[str]]:
    data["fleet"][0]["units"] = "ten thousand"
    return write(tmp / "deal.yaml", data), [
        "fleet[0].units",
        "got 'ten thousand'",
        "expected a valid integer",
    ]


def _negative_units(tmp: Path, data: dict[str, Any], write: WriteYaml) -> tuple[Path, list[str]]:
    data["fleet"][0]["units"] = -10
    return write(tmp / "deal.yaml", data), [
        "fleet[0].units",
        "got -10",
        "expected greater than 0",
    ]


def _end_before_start(tmp: Path, data: dict[str, Any], write: WriteYaml) -> tuple[Path, list[str]]:
    data["contracts"] = [
        {
            "tenant": "Tenant",
            "rating": "BBB",
            "cohort": data["fleet"][0]["name"],
            "units": 1000,
            "rate_usd_per_gpu_hour": 2.0,
            "start": dt.date(2026, 10, 1),
            "end": dt.date(2026, 9, 1),
        }
    ]
    return write(tmp / "deal.yaml", data), [
        "contracts[0].end",
        "got '2026-09-01'",
        "expected a date after start (2026-10-01)",
    ]


def _unknown_generation(
    tmp: Path, data: dict[str, Any], write: WriteYaml
) -> tuple[Path, list[str]]:
    data["fleet"][0]["generation"] = "H900"
    return write(tmp / "deal.yaml", data), [
        "fleet[0].generation",
        "got 'H900'",
        "expected a GPU generation in the shipped table",
    ]


def _yaml_syntax_error(tmp: Path, data: dict[str, Any], write: WriteYaml) -> tuple[Path, list[str]]:
    text = write(tmp / "source.yaml", data).read_text(encoding="utf-8")
    (tmp / "source.yaml").unlink()
    lines = text.splitlines()
    (row,) = [i for i, line in enumerate(lines) if line.strip().startswith("pue:")]
    lines[row] += ": 2"  # 'pue: 1.3: 2': a mapping value where none is allowed
    path = tmp / "deal.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, [f"(line {row + 1})", f"got '{lines[row].strip()}'", "expected valid YAML"]


def _missing_file(tmp: Path, data: dict[str, Any], write: WriteYaml) -> tuple[Path, list[str]]:
    return tmp / "no_such_deal.yaml", ["expected an existing deal or miner YAML file"]


SEVEN_CASES: dict[str, Case] = {
    "unknown-field": _unknown_field,
    "wrong-type": _wrong_type,
    "negative-units": _negative_units,
    "end-before-start": _end_before_start,
    "unknown-generation": _unknown_generation,
    "yaml-syntax-error": _yaml_syntax_error,
    "missing-file": _missing_file,
}


def _listing(folder: Path) -> set[str]:
    """Everything under ``folder``, hidden entries included."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _assert_one_clean_message(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert stderr.startswith("error: ")
    assert len(stderr.strip().splitlines()) == 1  # one issue, one line


@pytest.mark.parametrize("case", SEVEN_CASES.values(), ids=SEVEN_CASES.keys())
def test_bad_deal_file(
    case: Case,
    tmp_path: Path,
    merchant_data: dict[str, Any],
    write_yaml: WriteYaml,
    run_cli: RunCli,
) -> None:
    path, fragments = case(tmp_path, merchant_data, write_yaml)
    out = tmp_path / "out"
    before = _listing(tmp_path)

    proc = run_cli("run", path, "--paths", "200", "--json", "--out", out)

    assert proc.returncode == EXIT_INPUT, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stdout
    _assert_one_clean_message(proc.stderr)
    assert str(path) in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr
    assert not out.exists()
    assert _listing(tmp_path) == before  # no staging folder either


def test_bad_file_after_a_good_one_stops_everything(
    tmp_path: Path,
    merchant_path: Path,
    merchant_data: dict[str, Any],
    write_yaml: WriteYaml,
    run_cli: RunCli,
) -> None:
    bad, fragments = _unknown_generation(tmp_path, merchant_data, write_yaml)
    out = tmp_path / "out"
    before = _listing(tmp_path)

    proc = run_cli("run", merchant_path, bad, "--paths", "200", "--json", "--out", out)

    assert proc.returncode == EXIT_INPUT
    assert proc.stdout == ""
    _assert_one_clean_message(proc.stderr)
    assert str(bad) in proc.stderr
    assert str(merchant_path) not in proc.stderr
    assert all(fragment in proc.stderr for fragment in fragments)
    assert not out.exists()
    assert _listing(tmp_path) == before


def test_bad_file_after_a_good_one_simulates_nothing(
    tmp_path: Path,
    merchant_path: Path,
    merchant_data: dict[str, Any],
    write_yaml: WriteYaml,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def spy(deal: Any, **kwargs: Any) -> Any:
        calls.append(deal.name)
        raise AssertionError("simulate must not run when any deal file is bad")

    monkeypatch.setattr(cli_app, "simulate", spy)
    bad, _ = _negative_units(tmp_path, merchant_data, write_yaml)
    result = CliRunner().invoke(app, ["run", str(merchant_path), str(bad), "--paths", "200"])
    assert result.exit_code == EXIT_INPUT
    assert calls == []


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--paths", "0", "expected an integer of at least 1"),
        ("--seed", "-1", "expected a non-negative integer"),
    ],
)
def test_bad_option(
    option: str,
    value: str,
    expected: str,
    tmp_path: Path,
    merchant_path: Path,
    run_cli: RunCli,
) -> None:
    out = tmp_path / "out"
    proc = run_cli("run", merchant_path, option, value, "--json", "--out", out)
    assert proc.returncode == EXIT_INPUT
    assert proc.stdout == ""
    _assert_one_clean_message(proc.stderr)
    assert f"field '{option}': got {value}; {expected}" in proc.stderr
    assert not out.exists()


# More messages, checked in-process: the CLI must end in SystemExit(2), never another error.


def _invalid_date(data: dict[str, Any]) -> list[str]:
    data["as_of"] = "__AS_OF__"  # replaced in the text below by an unquoted impossible date
    return ["field 'as_of'", "got '2026-13-45'", "expected a valid date"]


def _bad_rate_kind(data: dict[str, Any]) -> list[str]:
    data["loan"]["rate"]["kind"] = "flt"
    return ["field 'loan.rate.kind'", "got 'flt'", "expected one of 'fixed', 'floating'"]


def _bad_margin(data: dict[str, Any]) -> list[str]:
    data["loan"]["rate"]["margin_bps"] = "wide"  # no 'floating' tag in the path
    return ["field 'loan.rate.margin_bps'", "got 'wide'", "expected a valid number"]


def _markup_value(data: dict[str, Any]) -> list[str]:
    data["fleet"][0]["generation"] = "[/x]"  # looks like Rich markup: printed as text
    return ["field 'fleet[0].generation'", "got '[/x]'"]


def _duplicate_key(data: dict[str, Any]) -> list[str]:
    data["__DUPLICATE__"] = True  # replaced in the text below by a second 'name' key
    return ["duplicate key 'name'", "expected valid YAML"]


MORE_CASES: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "impossible-date": _invalid_date,
    "bad-union-tag": _bad_rate_kind,
    "bad-union-member-field": _bad_margin,
    "markup-in-value": _markup_value,
    "duplicate-key": _duplicate_key,
}


@pytest.mark.parametrize("case", MORE_CASES.values(), ids=MORE_CASES.keys())
def test_more_bad_deal_files(
    case: Callable[[dict[str, Any]], list[str]],
    tmp_path: Path,
    merchant_data: dict[str, Any],
    write_yaml: WriteYaml,
) -> None:
    fragments = case(merchant_data)
    path = write_yaml(tmp_path / "deal.yaml", merchant_data)
    text = path.read_text(encoding="utf-8")
    text = text.replace("'__AS_OF__'", "2026-13-45").replace("__AS_OF__", "2026-13-45")
    text = text.replace("__DUPLICATE__: true", f"name: {merchant_data['name']}-again")
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"

    result = CliRunner().invoke(app, ["run", str(path), "--json", "--out", str(out)])

    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == EXIT_INPUT
    assert result.stdout == ""
    _assert_one_clean_message(result.stderr)
    assert str(path) in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    assert "floating." not in result.stderr  # no discriminator tag leaks into a path
    assert not out.exists()


def test_out_below_a_file(tmp_path: Path, merchant_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    out = blocker / "results"
    args = ["run", str(merchant_path), "--paths", "50", "--workers", "1", "--out", str(out)]

    result = CliRunner().invoke(app, args)

    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == EXIT_INPUT
    _assert_one_clean_message(result.stderr)
    assert "field '--out'" in result.stderr
    assert "expected a directory that can be written" in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["a-file"]


def _fifo(tmp: Path) -> tuple[Path, list[str]]:
    path = tmp / "deal.yaml"
    os.mkfifo(path)  # no writer: reading it would block for ever
    return path, ["got 'a FIFO (named pipe)'", "expected a regular deal or miner YAML file"]


def _device(tmp: Path) -> tuple[Path, list[str]]:
    return Path("/dev/zero"), ["got 'a character device'"]


def _alias_bomb(tmp: Path) -> tuple[Path, list[str]]:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for name, previous in zip("bcdefghi", "abcdefgh", strict=True):
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
    path = tmp / "deal.yaml"
    path.write_text(text, encoding="utf-8")
    return path, ["(line 5)", "at most 10,000 nodes reached through aliases"]


def _infinity(tmp: Path) -> tuple[Path, list[str]]:
    text = (EXAMPLES / "merchant_h100.yaml").read_text(encoding="utf-8")
    path = tmp / "deal.yaml"
    path.write_text(text.replace("principal_usd: 100000000", "principal_usd: 1e999"), "utf-8")
    before = text[: text.index("principal_usd: 100000000")]
    line = 1 + before.count("\n")  # the example's comments move it
    return path, [f"field 'loan.principal_usd' (line {line})", "got '1e999'", "a finite number"]


HOSTILE_FILES: dict[str, Callable[[Path], tuple[Path, list[str]]]] = {
    "fifo": _fifo,
    "dev-zero": _device,
    "alias-bomb": _alias_bomb,
    "infinity": _infinity,
}


@pytest.mark.parametrize("case", HOSTILE_FILES.values(), ids=HOSTILE_FILES.keys())
def test_hostile_file_exits_2_at_once(
    case: Callable[[Path], tuple[Path, list[str]]], tmp_path: Path, run_cli: RunCli
) -> None:
    path, fragments = case(tmp_path)
    proc = run_cli("run", path, "--paths", "200", "--json")
    assert proc.returncode == EXIT_INPUT, proc.stderr
    assert proc.stdout == ""
    _assert_one_clean_message(proc.stderr)
    assert str(path) in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, proc.stderr
