"""The record of a whole run in the store: seed, paths, calibration ids, data hash, spec
hashes, version, scenario names, the files written with their SHA-256, and the command line
(table ``run_records``, ``market.store.MarketStore.record_run_set``).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gpucredit._version import __version__
from gpucredit.market.store import MarketStore
from gpucredit.miners import MinerResult
from gpucredit.pipeline import SimulationResult

__all__ = ["command_line", "record_report_run"]

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
        Hashes of other specs run (books).

    Returns
    -------
    str
        The record's id (``rec-...``).
    """
    provenances: list[Mapping[str, Any]] = [r.provenance for r in results]
    provenances += [m.provenance for m in miners]
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
            spec_hashes=[str(p.get("spec_hash")) for p in provenances] + list(extra_spec_hashes),
            version=__version__,
            scenarios=scenarios,
            outputs=dict(outputs),
            run_ids=run_ids,
        )
