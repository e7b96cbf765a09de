"""Command line: ``gpucredit scenarios``, the named stress scenarios and their definitions.

The scenarios themselves are ``gpucredit.scenarios.named``; ``gpucredit run --scenario NAME``
runs one. This command only reads the registry (and the shipped data its definitions quote).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from gpucredit._terminal import markup_safe
from gpucredit.cli.output import print_json, wide_console
from gpucredit.scenarios.named import SCENARIOS

__all__ = ["register_scenarios_command", "scenario_records"]


def scenario_records() -> list[dict[str, str]]:
    """One record per scenario, in order: ``name``, ``title``, ``definition``."""
    return [{"name": s.name, "title": s.title, "definition": s.definition} for s in SCENARIOS]


def scenarios(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: {'scenarios': [...]}.")
    ] = False,
) -> None:
    """List the named stress scenarios `gpucredit run --scenario NAME` runs, with their
    definitions (every number with its source)."""
    records = scenario_records()
    if as_json:
        print_json({"scenarios": records})
        return
    table = Table(
        title="Named stress scenarios (gpucredit run --scenario NAME; docs/scenarios.md)",
        title_justify="left",
        show_lines=True,
    )
    table.add_column("name", overflow="fold", min_width=10)
    table.add_column("title", overflow="fold", ratio=1)
    table.add_column("definition", overflow="fold", ratio=3)
    for r in records:
        table.add_row(markup_safe(r["name"]), markup_safe(r["title"]), markup_safe(r["definition"]))
    # printed as built: Rich wraps the definitions to any width (``show`` would turn a table
    # too wide for a narrow terminal sideways, one column per scenario)
    wide_console().print(table)


def register_scenarios_command(app: typer.Typer) -> None:
    """Add ``scenarios`` to the ``gpucredit`` command."""
    app.command("scenarios")(scenarios)
