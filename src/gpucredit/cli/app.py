"""Command line: ``gpucredit run [DEAL.yaml | BOOK.yaml ...]`` and ``gpucredit data ...``.

Parse -> spec -> pipeline -> reports/io. Every input problem ends in one message on stderr
and exit code 2, with no traceback and nothing written.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import duckdb
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from gpucredit._progress import ProgressBar
from gpucredit._terminal import markup_safe, plain, printable
from gpucredit._version import __version__
from gpucredit.cli.main_job import (
    MAIN_JOB_ATTRIBUTION_PATHS,
    MAIN_JOB_PATHS,
    MAIN_JOB_STRESS_PATHS,
    MAIN_JOB_STRESSES,
    MAIN_JOB_TORNADO_PATHS,
    STRESSED_MINER_OPTIONS,
    STRESSED_OUTPUTS,
    default_report_dir,
    parse_stresses,
    report_files,
    start_section_charts,
    submit_tornados,
)
from gpucredit.cli.output import (
    DbOption,
    FormatOption,
    OutputFormat,
    QuietOption,
    fail,
    print_csv,
    print_json,
    show,
    wide_console,
)
from gpucredit.cli.params import engine_use, run_calibration
from gpucredit.cli.runs import RunSet
from gpucredit.cli.scenarios_cmd import register_scenarios_command
from gpucredit.cli.store_cmds import register_store_commands
from gpucredit.cli.sweep_cmd import register_sweep_command
from gpucredit.cli.warmup import start_warmup
from gpucredit.config.book import Book, is_book_data, load_book
from gpucredit.config.loading import read_document, validate_document
from gpucredit.config.miner import MinerSpec, is_miner_data
from gpucredit.config.spec import DealSpec
from gpucredit.credit.metrics import MAX_TARGET_PATHS
from gpucredit.deals import NOT_IN_MAIN_JOB, main_job_deals
from gpucredit.engine.distributed import BlockExecutor, executor
from gpucredit.engine.processes import run_pool
from gpucredit.engine.runner import default_workers
from gpucredit.errors import GpuCreditError, SpecError, SpecIssue
from gpucredit.factors.parameter_source import (
    DEFAULT_CALIBRATION,
    SOURCED,
    ParameterSource,
    check_as_of,
)
from gpucredit.factors.parameter_source import resolve as resolve_parameters
from gpucredit.io.outputs import BookOutput, OutputTarget, check_output_dir, write_run
from gpucredit.io.record import run_set_recorder
from gpucredit.market.store import MarketStore, SeriesInfo
from gpucredit.miners import MinerResult, simulate_miner
from gpucredit.pipeline import SimulationResult, simulate
from gpucredit.pipeline.book import BookModel, BookResult, build_book, simulate_book
from gpucredit.reports.book import (
    book_abs_table,
    book_chains_table,
    book_concentration_table,
    book_fire_sale_line,
    book_headline_table,
    book_losses_frame,
    book_positions_table,
    book_record,
)
from gpucredit.reports.tables import (
    attribution_table,
    calibration_rows,
    calibration_table,
    collateral_table,
    construction_table,
    convertible_table,
    credit_spread_table,
    duration_table,
    entities_table,
    facility_record,
    guarantee_table,
    miner_record,
    miner_table,
    parent_fleet_table,
    parent_table,
    premium_curve_table,
    real_estate_table,
    run_document,
    stressed_record,
    structure_table,
    summary_table,
)
from gpucredit.scenarios.named import get_scenario

__all__ = ["app", "data_app", "main"]

app = typer.Typer(
    name="gpucredit",
    help="Credit risk of GPU-backed debt: PD, LGD, fair spread and DSCR paths.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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


def _parse_date_option(option: str, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        issue = SpecIssue(option, value, "an ISO date YYYY-MM-DD")
        raise SpecError("command line", [issue]) from None


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


CalibrationOption = Annotated[
    str,
    typer.Option(
        "--calibration",
        help="Factor parameters: 'latest' (the newest calibration in the store dated on or "
        "before the deal's as_of, fitted on first use), a stored id (cal-...), or 'sourced' "
        "(alias 'default') for the hand-set sourced parameters; as calibration= in Python.",
    ),
]


@app.command()
def run(
    deals: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Deal, miner or book YAML files (a book has 'book' and 'positions'). None: "
            "the shipped example deals.",
            show_default=False,
        ),
    ] = None,
    paths: Annotated[
        int | None,
        typer.Option(
            "--paths",
            help="Monte Carlo paths per deal (default 10,000; the main job, run with no "
            f"file: {MAIN_JOB_PATHS:,}).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    output_format: FormatOption = OutputFormat.TABLE,
    quiet: QuietOption = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write results (CSV, JSON, netCDF) here: a new or empty directory."
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Let --out replace an earlier gpucredit output (never a folder holding "
            "anything else).",
        ),
    ] = False,
    block_size: Annotated[int, typer.Option("--block-size", help="Paths per block.")] = 4096,
    keep_paths: Annotated[
        int, typer.Option("--keep-paths", help="Paths kept in the path cube.")
    ] = 10_000,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="Threads a run uses (default: all cores), and worker processes running "
            "several runs side by side (deals, miners, stressed runs, tornados); for a book, "
            "a Dask LocalCluster of this many worker processes on loopback.",
        ),
    ] = None,
    calibration: CalibrationOption = DEFAULT_CALIBRATION,
    db: DbOption = None,
    attribution_paths: Annotated[
        int | None,
        typer.Option(
            "--attribution-paths",
            help="Paths of each of the 16 runs of a miner's Shapley attribution (at most "
            f"--paths; default 2,000, the main job {MAIN_JOB_ATTRIBUTION_PATHS:,}).",
            show_default=False,
        ),
    ] = None,
    target_se: Annotated[
        float | None,
        typer.Option(
            "--target-se",
            help="Add paths until every facility's fair-spread standard error is below this "
            "many bp (up to --max-paths); the result equals a run with the paths used.",
            show_default=False,
        ),
    ] = None,
    max_paths: Annotated[
        int, typer.Option("--max-paths", help="Most paths a --target-se run may use.")
    ] = MAX_TARGET_PATHS,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Books only: run the blocks of paths on the existing Dask cluster whose "
            "scheduler is at this address (tcp://HOST:PORT).",
            show_default=False,
        ),
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            help="Run every deal and miner under this named stress scenario (`gpucredit "
            "scenarios` lists them); default: the calibrated model.",
            show_default=False,
        ),
    ] = None,
    tornado_paths: Annotated[
        int | None,
        typer.Option(
            "--tornado-paths",
            help="Paths of each of the nine runs behind a deal's sensitivity tornado in the "
            f"report (0: none). Default: none; the main job: {MAIN_JOB_TORNADO_PATHS}.",
            show_default=False,
        ),
    ] = None,
    stress_paths: Annotated[
        int | None,
        typer.Option(
            "--stress-paths",
            help="Paths of each stressed run (the first paths of the base run's draws). "
            f"Default: --paths; the main job: {MAIN_JOB_STRESS_PATHS:,}.",
            show_default=False,
        ),
    ] = None,
    stress: Annotated[
        str | None,
        typer.Option(
            "--stress",
            help="Stressed columns: run every deal again under these named scenarios "
            "(comma-separated; same seed, --stress-paths paths) and report PD and Q spread "
            "under each; "
            f"'none' for none. Default: none; the main job: {','.join(MAIN_JOB_STRESSES)}.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Simulate deals and report PD, LGD, expected loss and fair versus market spread; a book
    file reports the book's loss distribution, positions, chains, concentration and ABS. With
    no file: the main job, the shipped book of real deals with its stressed columns, and
    report.html and report.xlsx written to a new folder under ./gpucredit-reports/."""
    started = time.perf_counter()
    main_job = not deals
    if paths is None:
        paths = MAIN_JOB_PATHS if main_job else 10_000
    try:
        _check_run_options(paths, seed, block_size, keep_paths)
        _check_target_options(target_se, paths, max_paths)
        if attribution_paths is None:
            attribution_paths = MAIN_JOB_ATTRIBUTION_PATHS if main_job else 2_000
        if attribution_paths < 1:
            issue = SpecIssue("--attribution-paths", attribution_paths, "an integer of at least 1")
            raise SpecError("command line", [issue])
        if as_json and output_format not in (OutputFormat.TABLE, OutputFormat.JSON):
            issue = SpecIssue("--json", f"--format {output_format}", "--json or --format alone")
            raise SpecError("command line", [issue])
        if as_json:
            output_format = OutputFormat.JSON
        if scenario is not None:
            get_scenario(scenario)  # an unknown name fails before any file is read
        stresses = parse_stresses(stress, MAIN_JOB_STRESSES if main_job else ())
        if stress_paths is None:
            stress_paths = min(paths, MAIN_JOB_STRESS_PATHS) if main_job else paths
        if stress_paths < 1:
            issue = SpecIssue("--stress-paths", stress_paths, "an integer of at least 1")
            raise SpecError("command line", [issue])
        if tornado_paths is None:
            tornado_paths = MAIN_JOB_TORNADO_PATHS if main_job else 0
        if tornado_paths < 0:
            issue = SpecIssue("--tornado-paths", tornado_paths, "an integer of at least 0")
            raise SpecError("command line", [issue])
        files = deals or main_job_deals()
        loaded = [load_spec(f) for f in files]  # validate all before running
        for file, spec in zip(files, loaded, strict=True):
            if not isinstance(spec, Book):  # a book's deals are checked by build_book
                check_as_of(spec.as_of, file)
        specs = [x for x in loaded if isinstance(x, DealSpec)]
        miner_specs = [x for x in loaded if isinstance(x, MinerSpec)]
        books = [x for x in loaded if isinstance(x, Book)]
        _check_book_options(scheduler, output_format, bool(specs or miner_specs), bool(books))
        if books and scenario is not None:
            issue = SpecIssue("--scenario", scenario, "deal and miner files only, not a book")
            raise SpecError("command line", [issue])
        if books and target_se is not None:
            issue = SpecIssue(
                "--target-se", target_se, "deal files only (a book runs the paths --paths asks)"
            )
            raise SpecError("command line", [issue])
        if stresses and not specs:
            issue = SpecIssue("--stress", ",".join(stresses), "a run with deal files")
            raise SpecError("command line", [issue])
        if out is None and main_job:
            out = default_report_dir()
        target = None if out is None else check_output_dir(out, force=force)  # before any work
        models = [build_book(b, calibration=calibration, db=db) for b in books]
        se_target = (target_se, max_paths)
        with ExitStack() as stack:
            sources = _prepare_runs(
                stack, [*specs, *miner_specs], calibration, db, warm_up=main_job
            )
            tornado_specs = specs if target is not None and tornado_paths > 0 else []
            n_runs = len(specs) * (1 + len(stresses)) + len(miner_specs) + len(tornado_specs)
            # made before any thread of this process starts (a books' cluster, the progress
            # bar, the charts' thread): its workers are forked now
            pool = stack.enter_context(run_pool(workers or default_workers(), n_runs))
            # the books' cluster is up (or refused) before any simulation
            runner = _open_executor(stack, workers, scheduler) if models else None
            # every run's seed, blocks and threads; the base's and the miners' paths and target
            shared: dict[str, Any] = {"seed": seed, "block_size": block_size, "n_workers": workers}
            base_options = {
                **shared,
                "n_paths": paths,
                "target_se_bps": se_target[0],
                "max_paths": se_target[1],
                "scenario": scenario,
            }
            with ProgressBar(Console(stderr=True), disable=quiet) as bar:
                base: RunSet[SimulationResult] = _submit_deals(
                    RunSet(pool, bar, "deals"),
                    specs,
                    sources,
                    keep_paths=keep_paths,
                    **base_options,
                )
                miner_runs: RunSet[MinerResult] = RunSet(pool, bar, "miners")
                for m in miner_specs:
                    miner_runs.submit(
                        m.name,
                        simulate_miner,
                        m,
                        attribution_paths=attribution_paths,
                        calibration=calibration,
                        db=db,
                        **base_options,
                    )
                stressed_runs: dict[str, RunSet[SimulationResult | MinerResult]] = {}
                for name in stresses:  # each deal and miner under each stress, the base's seed
                    runs: RunSet[SimulationResult | MinerResult] = RunSet(
                        pool, bar, f"stress {name}"
                    )
                    stressed_runs[name] = runs
                    _submit_deals(
                        runs,
                        specs,
                        sources,
                        n_paths=stress_paths,
                        keep_paths=0,
                        scenario=name,
                        outputs=STRESSED_OUTPUTS,
                        **shared,
                    )
                    for m in miner_specs:
                        runs.submit(
                            m.name,
                            simulate_miner,
                            m,
                            n_paths=stress_paths,
                            scenario=name,
                            calibration=calibration,
                            db=db,
                            **STRESSED_MINER_OPTIONS,
                            **shared,
                        )
                tornado_runs = submit_tornados(  # only a report shows them
                    RunSet(pool, bar, "sensitivity tornados"),
                    tornado_specs,
                    sources,
                    n_paths=tornado_paths,
                    seed=seed,
                    workers=workers or default_workers(),
                )
                results = base.results()
                # the report's deal charts are drawn while the other runs go on
                charts = start_section_charts(results, []) if target is not None else None
                miners = miner_runs.results()
                stressed = {name: runs.results() for name, runs in stressed_runs.items()}
                tornados = dict(
                    zip([s.name for s in tornado_specs], tornado_runs.results(), strict=True)
                )
            book_results = [
                _simulate_book(bm, paths, seed, block_size, runner, quiet) for bm in models
            ]
        recorded = [(b.spec_hash, r) for b, r in zip(books, book_results, strict=True)]
        document = run_document(results, seed, paths, miners, target_se_bps=target_se)
        if stressed:  # the stressed columns: each facility's PD and Q spread per scenario
            document["stressed"] = stressed_record(stressed)
        if book_results:  # beside the deals' keys, which stay as they are
            document["books"] = [book_record(b) for b in book_results]
        stressed_all = [r for runs in stressed.values() for r in runs]  # recorded as runs
        if target is not None:  # the run is recorded before its output appears
            run_ids: list[str] = []
            write_run(
                target,
                results,
                document,
                miners,
                before_publish=lambda: run_ids.extend(_record(results, miners, db, recorded)),
                books=[
                    BookOutput(b.name, book_record(b), book_losses_frame(b)) for b in book_results
                ],
                extra_files=report_files(
                    results,
                    miners,
                    book_results,
                    document,
                    stressed=stressed,
                    omitted=NOT_IN_MAIN_JOB if main_job else {},
                    db=db,
                    tornados=tornados,
                    charts=charts,
                ),
                on_files=run_set_recorder(
                    db,
                    results + [r for r in stressed_all if isinstance(r, SimulationResult)],
                    miners + [r for r in stressed_all if isinstance(r, MinerResult)],
                    books=[(h, b) for h, b in recorded],
                    run_ids=lambda: run_ids,
                    on_error=_warn_unrecorded,
                ),
                cubes=not main_job,
            )
        else:
            _record(results, miners, db, recorded)
    except GpuCreditError as exc:
        raise fail(str(exc)) from None
    if output_format is OutputFormat.JSON:
        print_json(document)
        _print_wall_time(started, quiet)
        return
    if output_format is OutputFormat.CSV:
        frames = [r.summary() for r in results] + [m.summary() for m in miners]
        print_csv(pd.concat(frames))
        _print_wall_time(started, quiet)
        return
    console = wide_console()
    if results or miners:
        show(console, credit_spread_table(results, miners, stressed), keys=2)
    if main_job:  # the detail is in the report; the other tables follow a run of named files
        _main_job_footer(console, paths, seed, target, quiet, started)
        return
    if results:
        show(console, summary_table(results), keys=2)
        show(console, collateral_table(results))
    if results or miners:
        show(console, duration_table(results, miners))
    # the deal-level tables, each shown only when some deal has what it reports
    for build, keys in (
        (structure_table, 1),
        (real_estate_table, 1),
        (parent_table, 1),
        (parent_fleet_table, 1),
        (entities_table, 1),
        (guarantee_table, 1),
        (construction_table, 2),
        (convertible_table, 1),
    ):
        table = build(results)
        if table is not None:
            show(console, table, keys=keys)
    if miners:
        show(console, miner_table(miners), keys=2)
        attribution = attribution_table(miners)
        if attribution is not None:
            show(console, attribution, keys=2)
        curve = premium_curve_table(miners)
        if curve is not None:
            show(console, curve, keys=2)
    for b in book_results:
        _show_book(console, b)
    if quiet:
        return
    if target_se is not None:
        console.print(_target_line(target_se, results, miners))
    if book_results:
        console.print(_book_footnote(book_results, paths, seed, block_size, workers, scheduler))
    used = [r.provenance for r in results] + [m.provenance for m in miners]
    ids = ", ".join(dict.fromkeys(str(p.get("calibration_id")) for p in used))
    if results or miners:
        console.print(
            f"[dim]{paths:,} paths per deal, seed {seed}, factor parameters "
            f"{markup_safe(ids)}; "
            "fair spread = the coupon spread that makes "
            "expected discounted cash flows worth the price paid (P: real-world measure, Q: "
            "pricing measure, docs/pricing.md); market spread includes OID and "
            "floor; breakeven = flat rent at which the minimum DSCR is 1.0x.[/dim]"
        )
    if out is not None:
        console.print(f"results written to {markup_safe(out)}")
    _print_wall_time(started, quiet)


def _main_job_footer(
    console: Console,
    paths: int,
    seed: int,
    target: OutputTarget | None,
    quiet: bool,
    started: float,
) -> None:
    """What the main job says under its table: its settings, the files it left out and
    where its reports are."""
    if not quiet:
        console.print(
            f"[dim]The shipped book of real deals (gpucredit/deals/, docs/deals.md): "
            f"{paths:,} paths per deal, seed {seed}; --paths trades time for precision. "
            "Not run (priced by `gpucredit run FILE`): "
            + "; ".join(markup_safe(f"{k}: {v}") for k, v in NOT_IN_MAIN_JOB.items())
            + ".[/dim]"
        )
        if target is not None:
            console.print(
                f"report: {markup_safe(target.given + '/report.html')} and report.xlsx "
                f"(with summary.json, summary.csv and every deal's files)"
            )
    _print_wall_time(started, quiet)


def _print_wall_time(started: float, quiet: bool) -> None:
    """One line on standard error, with the progress: the run's wall-clock seconds since the
    command started (``started``, ``time.perf_counter``); nothing with ``--quiet``."""
    if not quiet:
        seconds = time.perf_counter() - started
        Console(stderr=True, highlight=False).print(f"done in {seconds:.1f} s")


def _check_target_options(target_se: float | None, paths: int, max_paths: int) -> None:
    issues = []
    if target_se is not None and not (math.isfinite(target_se) and target_se > 0.0):
        issues.append(SpecIssue("--target-se", target_se, "a positive number of bp"))
    if max_paths < paths:
        issues.append(SpecIssue("--max-paths", max_paths, f"at least --paths ({paths:,})"))
    if issues:
        raise SpecError("command line", issues)


def _target_line(
    target_se: float, results: list[SimulationResult], miners: list[MinerResult]
) -> str:
    """What a --target-se run did: the paths each deal used and whether it met the target."""
    parts = []
    for name, prov in [(r.deal.name, r.provenance) for r in results] + [
        (m.spec.name, m.provenance) for m in miners
    ]:
        target = prov.get("target_se", {})
        state = "met" if target.get("met") else "not met"
        parts.append(f"{markup_safe(name)} {int(prov['n_paths']):,} paths ({state})")
    return f"[dim]target fair-spread standard error {target_se:g} bp: {'; '.join(parts)}[/dim]"


def _prepare_runs(
    stack: ExitStack,
    specs: Sequence[DealSpec | MinerSpec],
    calibration: str,
    db: Path | None,
    *,
    warm_up: bool,
) -> dict[dt.date, ParameterSource]:
    """The factor parameters of the runs, by as-of date: the calibrations the runs ask for,
    found, or fitted and stored, here, before the runs start on the pool's workers (a deal's
    run is handed its parameters, as ``simulate`` would resolve them; a miner's reads them
    from the store). With ``warm_up`` (the main job), on first use (the kernels not yet in
    numba's cache), the kernels compile in a second process (``cli.warmup``) meanwhile, and
    this one waits for it, bounded; the warm-up is stopped with ``stack`` whatever
    happens."""
    warmup = start_warmup() if warm_up else None
    if warmup is not None:
        stack.callback(warmup.stop)
    sources = {
        as_of: resolve_parameters(calibration, db, as_of)
        for as_of in dict.fromkeys(spec.as_of for spec in specs)
    }
    if warmup is not None:
        warmup.wait()
    return sources


def _submit_deals(
    runs: RunSet[Any],
    specs: Sequence[DealSpec],
    sources: Mapping[dt.date, ParameterSource],
    **options: Any,
) -> RunSet[Any]:
    """Each deal's ``simulate(spec, **options)`` submitted to ``runs``, in order, on the
    parameters of its as-of date (the numbers and provenance of ``calibration=``)."""
    for spec in specs:
        source = sources[spec.as_of]
        runs.submit(
            spec.name,
            simulate,
            spec,
            params=source.params_for(spec),
            provenance=source.provenance(),
            **options,
        )
    return runs


def load_spec(path: Path) -> DealSpec | MinerSpec | Book:
    """A deal, a miner or a book YAML file (a miner spec has a ``mining`` section, a book
    ``book`` and ``positions``); every problem is one ``SpecError`` naming the file, field,
    line, value and expectation (``config.loading`` holds the bounds on size, depth and
    aliases). A file is read and parsed once; a book's deal files are read by
    ``config.book.load_book``."""
    document = read_document(path, what="deal or miner")
    if is_book_data(document.data):
        return load_book(path, document)
    if is_miner_data(document.data):
        return validate_document(MinerSpec, document, what="miner")
    return validate_document(DealSpec, document, what="deal")


def _check_book_options(
    scheduler: str | None, output_format: OutputFormat, has_deals: bool, has_books: bool
) -> None:
    """``--scheduler`` runs books only, and a book prints a table or JSON (its per-path losses
    are the CSV ``--out`` writes)."""
    if scheduler is not None and has_deals:
        issue = SpecIssue(
            "--scheduler",
            scheduler,
            "book files only (a deal's or miner's paths run on this machine's threads; "
            "run the books apart from the deals)",
        )
        raise SpecError("command line", [issue])
    if has_books and output_format is OutputFormat.CSV:
        issue = SpecIssue(
            "--format",
            str(output_format),
            "table or json with a book (--out writes its per-path losses as CSV)",
        )
        raise SpecError("command line", [issue])


def _open_executor(stack: ExitStack, workers: int | None, scheduler: str | None) -> BlockExecutor:
    """The books' executor, closed with ``stack``: a LocalCluster of ``workers`` processes,
    the cluster at ``scheduler``, or this process's threads; a refusal names the option."""
    try:
        return stack.enter_context(executor(workers=workers, scheduler=scheduler))
    except SpecError as exc:
        if exc.path is not None:
            raise
        issues = [SpecIssue(f"--{i.field}", i.value, i.expected) for i in exc.issues]
        raise SpecError("command line", issues) from None


def _simulate_book(
    bm: BookModel,
    n_paths: int,
    seed: int,
    block_size: int,
    runner: BlockExecutor | None,
    quiet: bool,
) -> BookResult:
    """One book on the executor ``runner`` (its blocks merged in path order, so the numbers
    are the same on any executor), with a progress bar of its paths."""
    with ProgressBar(Console(stderr=True), disable=quiet) as bar:
        report = bar.reporter(bm.book.spec.book)
        done = [0]

        def progress(paths_done: int) -> None:
            done[0] += paths_done
            report("paths", done[0], n_paths)

        return simulate_book(
            bm,
            n_paths,
            seed,
            block_size,
            map_blocks=None if runner is None else runner.map_blocks,
            progress=progress,
        )


def _show_book(console: Console, result: BookResult) -> None:
    """A book's tables: the loss distribution, positions, chains, concentration, the ABS
    classes, and a line on the fire sales' convergence."""
    show(console, book_headline_table(result))
    show(console, book_positions_table(result))
    for table in (book_chains_table(result), book_concentration_table(result)):
        if table is not None:
            show(console, table)
    abs_table = book_abs_table(result)
    if abs_table is not None:
        show(console, abs_table)
    console.print(markup_safe(book_fire_sale_line(result)))


def _book_footnote(
    books: list[BookResult],
    paths: int,
    seed: int,
    block_size: int,
    workers: int | None,
    scheduler: str | None,
) -> str:
    """The books' run: paths, seed, block size, factor parameters and where the blocks ran."""
    ids = ", ".join(dict.fromkeys(str(b.provenance.get("calibration_id")) for b in books))
    if scheduler is not None:
        where = f"the Dask cluster at {scheduler}"
    elif workers is not None:
        where = f"a Dask LocalCluster of {workers} worker processes"
    else:
        where = "this process's threads"
    return (
        f"[dim]{paths:,} paths per book in blocks of {block_size:,}, seed {seed}, factor "
        f"parameters {markup_safe(ids)}, run on {markup_safe(where)}; the same numbers on "
        "any executor. Book losses are USD under the real-world measure P "
        "(docs/book.md).[/dim]"
    )


def _record(
    results: list[SimulationResult],
    miners: list[MinerResult],
    db: Path | None,
    books: Sequence[tuple[str, BookResult]] = (),
) -> list[str]:
    """Record each deal's, miner's and book's run (``books``: each book's hash and result) in
    the store it took its calibration from (runs on the sourced parameters touch no store).

    A store that cannot take the record (locked by another process, read-only, damaged)
    costs a warning on stderr, never the finished run: its results are still printed and
    written.
    """
    if (
        all(r.provenance.get("calibration_id") == SOURCED for r in results)
        and all(m.provenance.get("calibration_id") == SOURCED for m in miners)
        and all(b.provenance.get("calibration_id") == SOURCED for _, b in books)
    ):
        return []
    try:
        return _record_in(db, results, miners, books)
    except (GpuCreditError, OSError, duckdb.Error) as exc:
        _warn_unrecorded(exc)
        return []


def _warn_unrecorded(exc: Exception) -> None:
    """A store that cannot take a record costs a warning on stderr, never the run."""
    typer.echo(printable(f"warning: the run was not recorded in the store: {exc}"), err=True)


def _record_in(
    db_path: Path | None,
    results: list[SimulationResult],
    miners: list[MinerResult],
    books: Sequence[tuple[str, BookResult]] = (),
) -> list[str]:
    """Record every run in the store; returns the run ids, in order."""
    ids: list[str] = []
    with MarketStore(db_path) as store:
        for book_hash, b in books:
            if b.provenance.get("calibration_id") == SOURCED:
                continue
            ids.append(
                store.record_run(
                    spec_hash=book_hash,
                    seed=b.seed,
                    n_paths=b.n_paths,
                    calibration_id=str(b.provenance["calibration_id"]),
                    version=__version__,
                    summary={"deal": f"book: {b.name}", **book_record(b)},
                )
            )
        for m in miners:
            ids.append(
                store.record_run(
                    spec_hash=str(m.provenance["spec_hash"]),
                    seed=int(m.provenance["seed"]),
                    n_paths=int(m.provenance["n_paths"]),
                    calibration_id=str(m.provenance["calibration_id"]),
                    version=__version__,
                    summary=miner_record(m),
                )
            )
        for r in results:
            ids.append(
                store.record_run(
                    spec_hash=r.provenance["spec_hash"],
                    seed=r.config.seed,
                    n_paths=r.config.n_paths,
                    calibration_id=str(r.provenance["calibration_id"]),
                    version=__version__,
                    summary=facility_record(r),
                )
            )
    return ids


@app.command()
def calibrate(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Fit on data dated up to this day (default: the last data date); any day "
            "from the first bitcoin price (2010-07) on.",
        ),
    ] = None,
    rent_series: Annotated[
        str | None,
        typer.Option(
            "--rent-series",
            help="The GPU rent series to fit, by name in `gpucredit data list` (e.g. one "
            "imported with `gpucredit data import`); it replaces the shipped index of the "
            "generation its name contains (H100 if none). Default: the shipped index.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    output_format: FormatOption = OutputFormat.TABLE,
    quiet: QuietOption = False,
) -> None:
    """Fit the factor models to the market data and store the parameter set."""
    try:
        when = _parse_date_option("--as-of", as_of)
        with MarketStore(db) as store:
            stored = run_calibration(store, when, rent_series=rent_series)
            path = store.path
        used = engine_use(stored)
    except GpuCreditError as exc:
        raise fail(str(exc)) from None
    if output_format is OutputFormat.JSON:
        print_json(
            {
                "id": stored.id,
                "as_of": stored.as_of.isoformat(),
                "data_hash": stored.data_hash,
                "created_utc": stored.created_utc,
                "db": str(path),
                "rent_series": stored.params.get("rent_series"),
                "parameters": calibration_rows(stored, used),
            }
        )
        return
    if output_format is OutputFormat.CSV:
        print_csv(pd.DataFrame(calibration_rows(stored, used)), index=False)
        return
    console = wide_console()
    show(console, calibration_table(stored, used), keys=2)
    if quiet:
        return
    for model, what in (("rent", "rent index months"), ("sofr", "months of SOFR")):
        if stored.params.get(model) is None:
            console.print(
                f"{model}: too few {what} on or before {stored.as_of} to fit; the sourced "
                "priors (factors/defaults.py) stand (docs/calibration.md, 'Point in time')."
            )
    if "bitcoin" not in stored.params:
        reason = stored.diagnostics.get("bitcoin", {}).get("not_fitted", "")
        console.print(f"bitcoin: not fitted ({markup_safe(reason)}); miners fit at run time.")
    series = stored.params.get("rent_series", "the shipped rent index")
    console.print(
        f"stored as [bold]{stored.id}[/] (as of {stored.as_of}, GPU rents from "
        f"{markup_safe(series)}, data {stored.data_hash[:12]}) in {markup_safe(path)}; "
        f"`gpucredit run --calibration {stored.id}` uses it."
    )


# -- gpucredit data ... ----------------------------------------------------------------------

data_app = typer.Typer(
    name="data",
    help="The market-data store: list, show, import and export series.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
register_store_commands(app)  # gpucredit calibrations ..., gpucredit runs ...
register_sweep_command(app)  # gpucredit sweep DEAL.yaml --set PATH=V1,V2
register_scenarios_command(app)  # gpucredit scenarios

#: ``data show`` prints every row up to this many, else the first and last half of it.
_SHOW_ROWS = 60


@data_app.command("list")
def data_list(db: DbOption = None, output_format: FormatOption = OutputFormat.TABLE) -> None:
    """List the series in the store: date range, rows, unit, source and licence."""
    try:
        with MarketStore(db, read_only=True) as store:
            infos = store.catalogue()
            where = store.path
    except GpuCreditError as exc:
        raise fail(str(exc)) from None
    records = [
        {
            "series": info.name,
            "from": _iso(info.first_date) or None,
            "to": _iso(info.last_date) or None,
            "rows": info.n_rows,
            "unit": info.unit,
            "origin": info.origin,
            "source": info.source,
            "licence": info.licence,
        }
        for info in infos
    ]
    if output_format is OutputFormat.JSON:
        print_json({"db": str(where), "series": records})
        return
    if output_format is OutputFormat.CSV:
        columns = ["series", "from", "to", "rows", "unit", "origin", "source", "licence"]
        print_csv(pd.DataFrame(records, columns=columns), index=False)
        return
    table = Table(title=plain(f"Market data in {where}"))
    for column in ("series", "from", "to", "rows", "unit", "origin", "source", "licence"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for record in records:
        table.add_row(*(plain(f"{v:,}" if k == "rows" else (v or "")) for k, v in record.items()))
    show(wide_console(), table)


def _iso(day: dt.date | None) -> str:
    return "" if day is None else day.isoformat()


@data_app.command("show")
def datashow(
    series: Annotated[
        str, typer.Argument(help="Series name, e.g. SOFR or gpu_rent/H100/on_demand.")
    ],
    start: Annotated[
        str | None, typer.Option("--from", help="First date (YYYY-MM-DD).", show_default=False)
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last date (YYYY-MM-DD).", show_default=False)
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Also draw the series to this PNG file.")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help=f"Print every row (default: at most {_SHOW_ROWS}).")
    ] = False,
    db: DbOption = None,
    output_format: FormatOption = OutputFormat.TABLE,
    quiet: QuietOption = False,
) -> None:
    """Print the values of one series (GPU rent: the daily median and its observations)."""
    try:
        lo = _parse_date_option("--from", start)
        hi = _parse_date_option("--to", end)
        with MarketStore(db, read_only=True) as store:
            info = store.series_info(series)
            frame = store.read_series(series, lo, hi)
        if plot is not None:
            _plot_series(plot, info, frame["date"].tolist(), frame["value"].tolist())
    except GpuCreditError as exc:
        raise fail(str(exc)) from None
    aggregated = info.table_name == "gpu_rental_observations"
    if output_format is not OutputFormat.TABLE:
        _print_series(output_format, info, frame, aggregated)
        return
    table = Table(title=plain(f"{info.name} ({info.unit})"))
    table.add_column("date")
    table.add_column("median" if aggregated else "value", justify="right")
    if aggregated:
        table.add_column("n_obs", justify="right")
    rows = list(zip(frame["date"], frame["value"], frame["n_obs"], strict=True))
    shown: list[tuple[Any, Any, Any] | None] = list(rows)
    if not show_all and len(rows) > _SHOW_ROWS:
        half = _SHOW_ROWS // 2
        shown = [*rows[:half], None, *rows[-half:]]
    for row in shown:
        if row is None:
            table.add_row("…", f"({len(rows) - 2 * (_SHOW_ROWS // 2):,} rows; --all)")
            continue
        day, value, n_obs = row
        cells = [day.isoformat(), f"{value:,.6g}"]
        if aggregated:
            cells.append(str(n_obs))
        table.add_row(*cells)
    console = wide_console()
    show(console, table)
    if quiet:
        return
    console.print(
        f"{len(rows):,} rows; source: {markup_safe(info.source)}; "
        f"licence: {markup_safe(info.licence)}"
    )
    if plot is not None:
        console.print(f"plot written to {markup_safe(plot)}")


def _print_series(
    output_format: OutputFormat, info: SeriesInfo, frame: pd.DataFrame, aggregated: bool
) -> None:
    """``data show --format json|csv``: every row of the range (``--all`` is for the table)."""
    columns = ["date", "value", "n_obs"] if aggregated else ["date", "value"]
    rows = frame[columns].copy()
    rows["date"] = [day.isoformat() for day in rows["date"]]
    if output_format is OutputFormat.CSV:
        print_csv(rows, index=False)
        return
    records = [
        {k: (int(v) if k == "n_obs" else v) for k, v in row.items()}
        for row in rows.to_dict(orient="records")
    ]
    print_json(
        {
            "series": info.name,
            "unit": info.unit,
            "source": info.source,
            "licence": info.licence,
            "origin": info.origin,
            "aggregated": "daily median of observations" if aggregated else None,
            "rows": records,
        }
    )


def _plot_series(path: Path, info: SeriesInfo, dates: list[dt.date], values: list[float]) -> None:
    from matplotlib.figure import Figure  # imported here: only `--plot` pays for it

    if path.suffix.lower() != ".png":
        raise SpecError("command line", [SpecIssue("--plot", str(path), "a file name ending .png")])
    figure = Figure(figsize=(9, 4), layout="constrained")
    axes = figure.subplots()
    axes.plot(pd.to_datetime(pd.Series(dates)), values, linewidth=1.0)
    axes.set_title(info.name)
    axes.set_ylabel(info.unit)
    axes.grid(alpha=0.3)
    try:
        figure.savefig(path, dpi=100, format="png")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        issue = SpecIssue("--plot", str(path), f"a file that can be written ({reason})")
        raise SpecError("command line", [issue]) from None


@data_app.command("import")
def data_import(
    series: Annotated[str, typer.Argument(help="Name of the new (or replaced) user series.")],
    file: Annotated[Path, typer.Argument(help="CSV with header date,value (and optionally unit).")],
    unit: Annotated[
        str | None, typer.Option("--unit", help="Unit, e.g. USD/GPU-hour.", show_default=False)
    ] = None,
    licence: Annotated[
        str | None, typer.Option("--licence", help="Licence of the data.", show_default=False)
    ] = None,
    allow_negative: Annotated[
        bool, typer.Option("--allow-negative", help="Accept values <= 0 (spreads, returns).")
    ] = False,
    db: DbOption = None,
) -> None:
    """Import a user series (e.g. a licensed GPU rental index) from a CSV file."""
    try:
        with MarketStore(db) as store:
            info = store.import_series(
                series, file, unit=unit, licence=licence, positive=not allow_negative
            )
    except GpuCreditError as exc:
        raise fail(str(exc)) from None
    typer.echo(
        printable(
            f"imported {info.name}: {info.n_rows:,} rows, {_iso(info.first_date)} to "
            f"{_iso(info.last_date)}"
        )
    )


@data_app.command("export")
def data_export(
    series: Annotated[str, typer.Argument(help="Series name.")],
    file: Annotated[Path, typer.Argument(help="CSV file to write (date,value[,unit]).")],
    start: Annotated[
        str | None, typer.Option("--from", help="First date (YYYY-MM-DD).", show_default=False)
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last date (YYYY-MM-DD).", show_default=False)
    ] = None,
    db: DbOption = None,
) -> None:
    """Write one series to a CSV file that `gpucredit data import` reads back."""
    try:
        lo = _parse_date_option("--from", start)
        hi = _parse_date_option("--to", end)
        with MarketStore(db, read_only=True) as store:
            n = store.export_series(series, file, lo, hi)
    except GpuCreditError as exc:
        raise fail(str(exc)) from None
    typer.echo(printable(f"exported {n:,} rows of {series} to {file}"))


def main() -> None:
    """Console entry point."""
    app()
