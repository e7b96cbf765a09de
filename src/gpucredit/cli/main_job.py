"""The main job's parts of ``gpucredit run``: its defaults, the tornados, the report files
and where they go when no ``--out`` is given.

``gpucredit run`` with no deal file runs the shipped book (``gpucredit.deals``) at
``MAIN_JOB_PATHS`` paths, adds the ``MAIN_JOB_STRESSES`` columns and writes ``report.html``
and ``report.xlsx`` into a new folder under ``./gpucredit-reports/``; any run given
``--out DIR`` writes both reports there with its other files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gpucredit.cli.runs import RunSet
from gpucredit.config.spec import DealSpec
from gpucredit.errors import SpecError, SpecIssue
from gpucredit.factors.parameter_source import ParameterSource
from gpucredit.miners import MinerResult
from gpucredit.pipeline import SimulationResult
from gpucredit.pipeline.book import BookResult
from gpucredit.pipeline.model import RunOutputs
from gpucredit.reports.charts import Tornado, tornado_inputs
from gpucredit.reports.html import render_report, section_charts
from gpucredit.reports.xlsx import write_report_xlsx
from gpucredit.scenarios.named import get_scenario

__all__ = [
    "MAIN_JOB_ATTRIBUTION_PATHS",
    "MAIN_JOB_PATHS",
    "MAIN_JOB_STRESSES",
    "MAIN_JOB_STRESS_PATHS",
    "MAIN_JOB_TORNADO_PATHS",
    "REPORTS_FOLDER",
    "STRESSED_MINER_OPTIONS",
    "STRESSED_OUTPUTS",
    "default_report_dir",
    "parse_stresses",
    "report_files",
    "start_section_charts",
    "submit_tornados",
]

#: Paths per deal of the main job when ``--paths`` is not given: the count at which the whole
#: shipped book, stressed columns, tornados and miners included, finishes within two minutes
#: on two cores, first use included (67 s warm and 92 s on first use from a fresh clone; 89 s
#: and 134 s at the slowest measured on this shared machine: docs/benchmarks.md, "Runs side
#: by side on processes"); every figure carries its standard error.
MAIN_JOB_PATHS = 2_000

#: The scenarios of the main job's stressed columns: the article's warning (the credit cycle
#: peaks before the technology cycle) and the replay of the 2024-25 rent glut.
MAIN_JOB_STRESSES = ("credit-cycle-first", "gpu-glut")

#: Paths of each of the nine runs behind a deal's sensitivity tornado in the main job: the
#: shocks are read on common random numbers, so few paths give their sign and size.
MAIN_JOB_TORNADO_PATHS = 128

#: Paths of each of the 16 runs of a miner's Shapley attribution in the main job (2,000 in a
#: run of named files): the attribution is read on common random numbers; at 2,000 the three
#: miners of the book, most of it their attribution, added a third to the main job's CPU
#: (docs/deals_gaps.md, "The miners' convertibles").
MAIN_JOB_ATTRIBUTION_PATHS = 500

#: Paths of each stressed run of the main job: the first paths of the base run's draws, so
#: the stressed PD and spread are read against the base on common random numbers.
MAIN_JOB_STRESS_PATHS = 1_000

#: What each stressed run computes: the stressed columns show every facility's PD and Q fair
#: spread, so every facility's spreads are solved (Q's search starts from P's) and the
#: deterministic extras (breakeven rent, structure report, duration), which no column shows,
#: are skipped; the figures shown are those of a full run, bit for bit.
STRESSED_OUTPUTS = RunOutputs(extras=False)

#: What each stressed run of a miner leaves out: the stressed columns show each facility's PD
#: and Q fair spread, not the double-leverage premium (a second run with convergence off),
#: its curve over the stress correlations or the Shapley attribution; the figures shown are
#: those of a full run under the same scenario, bit for bit.
STRESSED_MINER_OPTIONS: dict[str, bool] = {
    "premium": False,
    "premium_curve": False,
    "attribution": False,
}

#: The folder, under the current directory, of the main job's reports (one new sub-folder a
#: run, named by its UTC time: a run never replaces an earlier report).
REPORTS_FOLDER = Path("gpucredit-reports")


def default_report_dir(now: dt.datetime | None = None) -> Path:
    """A new folder for the main job's reports: ``gpucredit-reports/YYYYMMDD-HHMMSS``
    (UTC), with ``-2``, ``-3`` ... added when that name is taken."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
    candidate = REPORTS_FOLDER / stamp
    k = 2
    while candidate.exists():
        candidate = REPORTS_FOLDER / f"{stamp}-{k}"
        k += 1
    return candidate


def parse_stresses(text: str | None, default: Sequence[str]) -> tuple[str, ...]:
    """The scenario names of ``--stress`` (comma-separated; ``none``: no stressed column;
    not given: ``default``); an unknown name is one ``SpecError`` naming ``--stress``."""
    if text is None:
        return tuple(default)
    names = [part.strip() for part in text.split(",") if part.strip()]
    if names == ["none"]:
        return ()
    if not names:
        raise SpecError(
            "command line", [SpecIssue("--stress", text, "scenario names separated by commas")]
        )
    for name in names:
        try:
            get_scenario(name)
        except SpecError as exc:
            raise SpecError(
                "command line",
                [SpecIssue("--stress", name, "a name `gpucredit scenarios` lists, or 'none'")],
            ) from exc
    return tuple(dict.fromkeys(names))


def submit_tornados(
    runs: RunSet[Tornado],
    specs: Sequence[DealSpec],
    sources: Mapping[dt.date, ParameterSource],
    *,
    n_paths: int,
    seed: int,
    workers: int,
) -> RunSet[Tornado]:
    """Each deal's sensitivity tornado (its first facility; ``reports.charts.tornado_inputs``:
    rent, utilisation, opex and rate moved down and up, same seed) submitted to ``runs``, one
    run a deal, on the parameters of its as-of date (``sources``); its shocked runs go side by
    side on ``workers`` threads, with the same numbers for any count."""
    for spec in specs:
        runs.submit(
            spec.name,
            tornado_inputs,
            spec,
            n_paths=n_paths,
            seed=seed,
            workers=workers,
            params=sources[spec.as_of].params_for(spec),
        )
    return runs


def start_section_charts(
    results: Sequence[SimulationResult], miners: Sequence[MinerResult]
) -> Future[dict[str, list[str]]]:
    """Draw the report's section charts (``reports.html.section_charts``) on a thread of
    their own while the stressed runs and the tornados go on: drawing is Python work (it
    holds the interpreter), the runs' kernels do not (``nogil``), so the two share the cores.
    The only thread that draws until ``report_files`` takes the result."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpucredit-charts")
    try:
        return pool.submit(section_charts, list(results), list(miners))
    finally:
        pool.shutdown(wait=False)  # the thread ends with its one task


def report_files(
    results: Sequence[SimulationResult],
    miners: Sequence[MinerResult],
    books: Sequence[BookResult],
    document: dict[str, Any],
    *,
    stressed: Mapping[str, Sequence[SimulationResult | MinerResult]],
    omitted: dict[str, str],
    db: Path | None,
    tornados: dict[str, Tornado] | None = None,
    charts: Future[dict[str, list[str]]] | None = None,
) -> dict[str, str | Callable[[Path], None]]:
    """``report.html`` (its text) and ``report.xlsx`` (its writer) for ``write_run``'s
    ``extra_files``; ``omitted``: book files left out of the run -> why (listed in the
    HTML report); ``charts``: the section charts ``start_section_charts`` is drawing for
    these results (default: drawn here)."""
    html = render_report(
        list(results),
        list(miners),
        list(books),
        stressed=stressed,
        run_info={**_run_info(document), **_omitted_info(omitted)},
        tornados=tornados,
        charts=charts.result() if charts is not None else None,
    )

    def workbook(path: Path) -> None:
        write_report_xlsx(path, list(results), list(miners), document, db=db)

    return {"report.html": html, "report.xlsx": workbook}


def _run_info(document: dict[str, Any]) -> dict[str, Any]:
    run = document.get("run", {})
    keep = ("seed", "n_paths", "calibration_id", "data_hash", "version", "spec_hash")
    return {k: run[k] for k in keep if k in run}


def _omitted_info(omitted: dict[str, str]) -> dict[str, str]:
    return {f"not run: {name}": why for name, why in omitted.items()}
