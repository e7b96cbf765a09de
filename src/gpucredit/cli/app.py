"""Command line: ``gpucredit run [DEAL.yaml ...]``.

Parse -> spec -> pipeline -> reports/io. Every input problem ends in one message on stderr
and exit code 2, with no traceback and nothing written.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from gpucredit._version import __version__
from gpucredit.config.loading import load_deal
from gpucredit.config.spec import DealSpec
from gpucredit.errors import GpuCreditError, SpecError, SpecIssue
from gpucredit.io.outputs import write_run
from gpucredit.pipeline import SimulationResult, simulate
from gpucredit.reports.tables import collateral_table, run_document, summary_table

__all__ = ["app", "main"]

app = typer.Typer(
    name="gpucredit",
    help="Credit risk of GPU-backed debt: PD, LGD, fair spread and DSCR paths.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
EXIT_INPUT = 2


def shipped_examples() -> list[Path]:
    """The example deals shipped inside the package, sorted by name."""
    folder = resources.files("gpucredit").joinpath("examples")
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml"))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gpucredit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """gpucredit command line."""


def _fail(message: str) -> typer.Exit:
    # escape: a value from the user's file ('[/x]') is text, not Rich markup
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    console.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(EXIT_INPUT)


def _check_run_options(paths: int, seed: int, block_size: int, keep_paths: int) -> None:
    checks = [
        ("--paths", paths, paths >= 1, "an integer of at least 1"),
        ("--seed", seed, seed >= 0, "a non-negative integer"),
        ("--block-size", block_size, block_size >= 1, "an integer of at least 1"),
        ("--keep-paths", keep_paths, keep_paths >= 0, "an integer of at least 0"),
    ]
    issues = [SpecIssue(name, value, expected) for name, value, ok, expected in checks if not ok]
    if issues:
        raise SpecError("command line", issues)


@app.command()
def run(
    deals: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Deal YAML files. None: the shipped example deals.", show_default=False
        ),
    ] = None,
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths per deal.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout instead of a table.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write results (CSV, JSON, netCDF) here.")
    ] = None,
    block_size: Annotated[int, typer.Option("--block-size", help="Paths per block.")] = 4096,
    keep_paths: Annotated[
        int, typer.Option("--keep-paths", help="Paths kept in the path cube.")
    ] = 10_000,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Threads (default: all cores).")
    ] = None,
) -> None:
    """Simulate deals and report PD, LGD, expected loss and fair versus market spread."""
    try:
        _check_run_options(paths, seed, block_size, keep_paths)
        files = deals or shipped_examples()
        specs: list[DealSpec] = [load_deal(f) for f in files]  # validate all before running
        results = _simulate_all(specs, paths, seed, block_size, keep_paths, workers, as_json)
        document = run_document(results, seed, paths)
        if out is not None:
            _write(out, results, document)
    except GpuCreditError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        sys.stdout.write(json.dumps(document, allow_nan=False) + "\n")
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=170)  # a pipe or file: do not fold the table to 80 columns
    console.print(summary_table(results))
    console.print(collateral_table(results))
    console.print(
        f"[dim]{paths:,} paths per deal, seed {seed}; fair spread = the coupon spread that makes "
        "expected discounted cash flows worth the price paid; market spread includes OID and "
        "floor; breakeven = flat rent at which the minimum DSCR is 1.0x.[/dim]"
    )
    if out is not None:
        console.print(f"results written to {out}")


def _write(out: Path, results: list[SimulationResult], document: dict[str, object]) -> None:
    try:
        write_run(out, results, document)
    except OSError as exc:  # e.g. --out below a file, or no permission
        reason = exc.strerror or type(exc).__name__
        if exc.filename is not None:
            reason += f": {exc.filename}"
        issue = SpecIssue("--out", str(out), f"a directory that can be written ({reason})")
        raise SpecError("command line", [issue]) from None


def _simulate_all(
    specs: list[DealSpec],
    n_paths: int,
    seed: int,
    block_size: int,
    keep_paths: int,
    workers: int | None,
    quiet_stdout: bool,
) -> list[SimulationResult]:
    console = Console(stderr=True)
    results: list[SimulationResult] = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as bar:
        for spec in specs:
            task = bar.add_task(f"{spec.name}: simulate", total=n_paths)

            def report(
                phase: str, done: int, total: int, task: TaskID = task, name: str = spec.name
            ) -> None:
                if phase == "simulate":
                    bar.update(task, completed=done, total=total)
                else:
                    bar.update(task, description=f"{name}: {phase} (pass {done})")

            results.append(
                simulate(
                    spec,
                    n_paths=n_paths,
                    seed=seed,
                    block_size=block_size,
                    keep_paths=keep_paths,
                    n_workers=workers,
                    progress=report,
                )
            )
            bar.update(task, completed=n_paths)
    return results


def main() -> None:
    """Console entry point."""
    app()
