"""Fixtures of the end-to-end tests: the real ``gpucredit`` CLI in a subprocess.

Every run uses a few hundred paths and one worker: these tests prove the command line works
end to end (options, output formats, files, errors), not the numbers.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests._forked import ForkServer, Job

#: Rich turns colour and live display on when these are set, even on a pipe.
_TERMINAL_ENV = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR")

RunCli = Callable[..., subprocess.CompletedProcess[str]]

#: The exit code of a bad input.
EXIT_INPUT = 2


def shipped_example_files() -> list[Path]:
    """The example deals inside the installed package (the main job runs the shipped book)."""
    folder = resources.files("gpucredit").joinpath("examples")
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml"))


def example_file(stem: str) -> Path:
    (found,) = [p for p in shipped_example_files() if p.stem == stem]
    return found


def deal_file(name: str) -> Path:
    """A deal of the shipped book inside the installed package (``coreweave/ddtl4_spv``)."""
    return Path(str(resources.files("gpucredit").joinpath("deals", f"{name}.yaml")))


def deal_name(path: Path) -> str:
    name = yaml.safe_load(path.read_text(encoding="utf-8"))["name"]
    assert isinstance(name, str)
    return name


#: The process every ``cli`` run is forked from: it imported the CLI once (tests/_forked.py).
#: The imports were about 4 s of each run; a run is still a process of its own with its
#: arguments, environment, working folder, exit status and output, run as ``python -m``.
_SERVER = ForkServer(("gpucredit.cli.app",))


def cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m gpucredit ARGS`` in a process of its own, stdout and stderr captured apart."""
    env = {k: v for k, v in os.environ.items() if k not in _TERMINAL_ENV}
    return cli_with_env(env, *args, cwd=cwd)


def cli_with_env(
    env: dict[str, str], *args: str | Path, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``cli`` with ``env`` as the whole environment of the run."""
    argv = tuple(map(str, args))
    done = _SERVER.run(Job(argv, module="gpucredit", cwd=cwd), env, timeout=300)
    return subprocess.CompletedProcess(
        [sys.executable, "-m", "gpucredit", *argv], done.returncode, done.stdout, done.stderr
    )


@pytest.fixture(autouse=True, scope="session")
def _close_fork_server() -> Iterator[None]:
    yield
    _SERVER.close()


@pytest.fixture(scope="session")
def run_cli() -> RunCli:
    return cli


@pytest.fixture(scope="session")
def merchant_path() -> Path:
    return example_file("merchant_h100")


@pytest.fixture
def merchant_data(merchant_path: Path) -> dict[str, Any]:
    """A fresh, editable copy of the merchant example as plain data."""
    data = yaml.safe_load(merchant_path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return copy.deepcopy(data)


def _write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def write_yaml() -> Callable[[Path, dict[str, Any]], Path]:
    """Write data as a deal YAML file; returns the path."""
    return _write_yaml


@pytest.fixture(scope="session")
def examples() -> list[Path]:
    """The shipped example deal files, sorted by name."""
    return shipped_example_files()


#: The run shared by the JSON tests: small, one worker, a seed that is not the default.
JSON_RUN = ("--paths", "600", "--seed", "7", "--workers", "1", "--json")


@pytest.fixture(scope="session")
def merchant_json_run(merchant_path: Path) -> subprocess.CompletedProcess[str]:
    return cli("run", merchant_path, *JSON_RUN)


@pytest.fixture(scope="session")
def merchant_out_run(
    merchant_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The same run again, also writing its files under ``--out``."""
    out = tmp_path_factory.mktemp("run") / "results"
    return cli("run", merchant_path, *JSON_RUN, "--out", out), out


def _stdout_json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    document = json.loads(proc.stdout)  # the whole stdout: any other text fails here
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="session")
def stdout_json() -> Callable[[subprocess.CompletedProcess[str]], dict[str, Any]]:
    """Check a run succeeded and parse its whole stdout as one JSON object."""
    return _stdout_json


@pytest.fixture(scope="session")
def deal_names() -> Callable[[list[Path]], list[str]]:
    """The ``name`` field of each deal file."""
    return lambda paths: [deal_name(p) for p in paths]


def assert_rejected(
    exit_code: int,
    stdout: str,
    stderr: str,
    fragments: tuple[str, ...] | list[str],
    out: Path | None = None,
) -> None:
    """A bad input's clean rejection: exit code 2, nothing on stdout, one ``error: `` line on
    stderr without a traceback that holds every one of ``fragments``, and no ``out`` written."""
    assert exit_code == EXIT_INPUT, stderr
    assert stdout == ""
    assert "Traceback" not in stderr and stderr.startswith("error: "), stderr
    assert len(stderr.strip().splitlines()) == 1  # one issue, one line
    for fragment in fragments:
        assert fragment in stderr, stderr
    if out is not None:
        assert not out.exists()
