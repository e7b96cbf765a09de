"""The record of a whole run in the store: seed, paths, calibration ids, data hash, spec
hashes, version, scenario names, the files written with their SHA-256, and the command line
(table ``run_records``, ``market.store.MarketStore.record_run_set``).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from gpucredit._version import __version__
from gpucredit.errors import GpuCreditError
from gpucredit.factors.parameter_source import SOURCED
from gpucredit.market.store import MarketStore
from gpucredit.miners import MinerResult
from gpucredit.pipeline import SimulationResult
from gpucredit.pipeline.book import BookResult

__all__ = ["command_line", "record_report_run", "run_set_recorder"]

#: The scenario a result ran under when its provenance names none: the calibrated model.
BASE_SCENARIO = "base"


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command as typed, quoted for a POSIX shell, with the program's name only (not
    its path): ``gpucredit run deal.yaml --out out``.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default ``sys.argv``).
    """
    args = list(sys.argv if argv is None else argv)
    if not args:
        return ""
    program = Path(args[0]).name
    if program in ("__main__.py", "-m", "-c"):  # python -m gpucredit
        program = "gpucredit"
    return shlex.join([program, *args[1:]])


def record_report_run(
    db: Path | str | None,
    results: Sequence[SimulationResult],
    miners: Sequence[MinerResult] = (),
    *,
    outputs: Mapping[str, str],
    command: str,
    run_ids: Sequence[str] = (),
    extra_spec_hashes: Sequence[str] = (),
    books: Sequence[tuple[str, BookResult]] = (),
) -> str:
    """Record a run that wrote reports, with its provenance, in the store ``db``.

    Parameters
    ----------
    db : Path, str or None
        The market store (None: ``$GPUCREDIT_DB``, else the user data directory).
    results, miners : sequences of results
        What the run simulated; their provenance gives the seed, paths, calibration ids,
        spec hashes and scenario names (``provenance["scenario"]``; ``base`` when absent).
    outputs : mapping
        Each file written (relative path) -> its SHA-256 (``io.outputs.file_digests``).
    command : str
        The command line (``command_line()``).
    run_ids : sequence of str
        The per-deal rows of table ``runs`` the run made.
    extra_spec_hashes : sequence of str
        Hashes of other specs run.
    books : sequence of (str, BookResult)
        The books run, each with its spec hash.

    Returns
    -------
    str
        The record's id (``rec-...``).
    """
    provenances: list[Mapping[str, Any]] = [r.provenance for r in results]
    provenances += [m.provenance for m in miners]
    provenances += [
        {
            "seed": b.seed,
            "n_paths": b.n_paths,
            "calibration_id": b.provenance.get("calibration_id"),
            "spec_hash": book_hash,
            "scenario": b.provenance.get("scenario"),
        }
        for book_hash, b in books
    ]
    first = provenances[0] if provenances else {}
    calibrations = [
        None if p.get("calibration_id") is None else str(p["calibration_id"]) for p in provenances
    ]
    scenarios = list(dict.fromkeys(str(p.get("scenario") or BASE_SCENARIO) for p in provenances))
    with MarketStore(db) as store:
        return store.record_run_set(
            command_line=command,
            seed=int(first.get("seed", 0)),
            n_paths=int(first.get("n_paths", 0)),
            calibration_ids=calibrations,
            spec_hashes=list(  # each spec once, though a stressed run repeats it
                dict.fromkeys(
                    [str(p.get("spec_hash")) for p in provenances] + list(extra_spec_hashes)
                )
            ),
            version=__version__,
            scenarios=scenarios,
            outputs=dict(outputs),
            run_ids=run_ids,
        )


def run_set_recorder(
    db: Path | str | None,
    results: Sequence[SimulationResult],
    miners: Sequence[MinerResult] = (),
    *,
    books: Sequence[tuple[str, BookResult]] = (),
    run_ids: Callable[[], Sequence[str]] = tuple,
    command: str | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> Callable[[Mapping[str, str]], None]:
    """What ``io.outputs.write_run(on_files=...)`` calls to record the run with its files.

    Like the per-deal records, a run made on the sourced parameters alone touches no store
    (the callable records nothing).

    Parameters
    ----------
    db : Path, str or None
        The market store.
    results, miners, books :
        What the run simulated (``books``: each book's spec hash and result).
    run_ids : callable
        Returns the per-deal run ids once they are recorded (called when recording).
    command : str, optional
        The command line (default: ``command_line()`` of this process).
    on_error : callable, optional
        Given the error when the store cannot take the record (locked, read-only, damaged),
        instead of raising it: the CLI warns and still publishes the run.

    Returns
    -------
    callable
        Takes the files written (relative path -> SHA-256).
    """
    provenances = [r.provenance for r in results] + [m.provenance for m in miners]
    provenances += [b.provenance for _, b in books]
    sourced = all(p.get("calibration_id") == SOURCED for p in provenances)
    typed = command_line() if command is None else command

    def record(outputs: Mapping[str, str]) -> None:
        if sourced:
            return
        try:
            record_report_run(
                db,
                results,
                miners,
                outputs=outputs,
                command=typed,
                run_ids=list(run_ids()),
                books=books,
            )
        except (GpuCreditError, OSError, duckdb.Error) as exc:
            if on_error is None:
                raise
            on_error(exc)

    return record
