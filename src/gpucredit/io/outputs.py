"""Writing a run's results to a directory: all or nothing, and never over a user's file.

The rules, in the order they are applied:

1. ``check_output_dir`` runs before any simulation. The directory must be new or empty, or,
   with ``force=True``, hold only an earlier gpucredit output: a top-level ``manifest.json``
   with a ``"gpucredit_output"`` key that lists every file in the directory. Anything else
   (a user's file, the deal YAML, the current working directory) is refused with a
   ``SpecError`` on the field ``--out``, even with ``force``.
2. ``write_run`` writes every file into a staging directory ``.gpucredit-tmp-<pid>-<hex>``
   beside the target, holding a marker file, then renames it into place in one step. A
   process killed at any moment leaves either no output or a complete one; the staging
   directory it leaves is removed by the next check of that parent directory, once its
   writer's process is gone.
3. Directories and files are made with ``mkdir`` and ``open``, so their permissions follow
   the umask (0755 and 0644 under umask 022).
4. Each deal and miner gets a folder named by a slug of its name (ASCII letters, digits,
   ``-`` and ``_``, at most 64 characters), unique within the run, always inside the output.
5. Each book (issue 14) gets two top-level files named by the same slugs of the books' names:
   ``book_<slug>_losses.csv`` (one row per path) and ``book_<slug>_summary.json``.
6. Other top-level files of the run (``report.html``: ``write_report_html``, or
   ``write_run(extra_files=...)``) are staged, listed and published with the rest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gpucredit._version import __version__
from gpucredit.errors import SpecError, SpecIssue
from gpucredit.miners import MinerResult
from gpucredit.pipeline import SimulationResult

__all__ = [
    "MANIFEST_NAME",
    "OUTPUT_KEY",
    "REPORT_NAME",
    "STAGING_PREFIX",
    "BookOutput",
    "OutputTarget",
    "check_output_dir",
    "file_digests",
    "folder_names",
    "write_report_html",
    "write_run",
]

#: The top-level manifest that marks a directory as a gpucredit output.
MANIFEST_NAME = "manifest.json"
#: The key of that manifest whose value is the version of gpucredit that wrote it.
OUTPUT_KEY = "gpucredit_output"
#: Name prefix of the staging directories written beside an output.
STAGING_PREFIX = ".gpucredit-tmp-"
#: The file inside a staging directory saying which process made it (removed on publishing).
_STAGING_MARKER = ".gpucredit-staging"
#: Longest deal folder name, in characters.
_MAX_SLUG = 64
#: The source named in every ``--out`` error.
_SOURCE = "command line"


@dataclass(frozen=True, slots=True)
class OutputTarget:
    """An output directory checked by ``check_output_dir``.

    Attributes
    ----------
    path : Path
        The directory, absolute with symbolic links resolved.
    given : str
        The path as the user gave it (shown in messages).
    field : str
        The option or argument that named it, e.g. ``--out``.
    replaces : bool
        Whether it holds an earlier gpucredit output that will be replaced (``force``).
    """

    path: Path
    given: str
    field: str
    replaces: bool


@dataclass(frozen=True, slots=True)
class BookOutput:
    """What ``--out`` writes of one book.

    Attributes
    ----------
    name : str
        The book's name (its files are named by a slug of it).
    record : dict
        Its JSON object (``book_<slug>_summary.json``).
    losses : pandas.DataFrame
        One row per path, USD (``book_<slug>_losses.csv``, written without the index).
    """

    name: str
    record: dict[str, Any]
    losses: pd.DataFrame


def check_output_dir(out: Path | str, *, force: bool = False, field: str = "--out") -> OutputTarget:
    """Check that results can be written to ``out`` without losing anything.

    Also removes stale staging directories beside ``out`` whose writer process is gone.

    Parameters
    ----------
    out : Path or str
        The output directory: new, empty or (with ``force``) an earlier gpucredit output.
    force : bool
        Replace an earlier gpucredit output. A directory holding anything gpucredit did not
        write is refused even so.
    field : str
        The option named in error messages.

    Returns
    -------
    OutputTarget
        The resolved directory, to pass to ``write_run``.

    Raises
    ------
    SpecError
        When the directory cannot be used; the message names ``field``, the value and why.
    """
    given = str(out)

    def refuse(expected: str) -> SpecError:
        return SpecError(_SOURCE, [SpecIssue(field, given, expected)])

    try:
        path = Path(out).expanduser().resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a loop of symbolic links
        raise refuse(f"a directory path that can be resolved ({exc})") from None
    try:
        replaces = _check(path, force, refuse)
    except OSError as exc:  # e.g. a parent that cannot be searched
        raise refuse(f"a directory that can be written ({_reason(exc)})") from None
    return OutputTarget(path=path, given=given, field=field, replaces=replaces)


def _check(path: Path, force: bool, refuse: Callable[[str], SpecError]) -> bool:
    """The checks of ``check_output_dir``; True when an earlier output will be replaced."""
    if path.parent == path:
        raise refuse("a directory other than the file-system root")
    replaces = False
    if path.exists():
        if not path.is_dir():
            raise refuse("a new or empty directory, not an existing file")
        try:
            entries = os.listdir(path)
        except OSError as exc:
            raise refuse(f"a directory that can be read ({_reason(exc)})") from None
        if entries:
            foreign = _foreign_entries(path)
            if foreign:
                shown = repr(foreign[0]) + (f" and {len(foreign) - 1} more" if foreign[1:] else "")
                raise refuse(
                    f"a new or empty directory; it holds {shown}, which gpucredit did not "
                    "write and never deletes, even with --force (choose another --out)"
                )
            if not force:
                raise refuse(
                    "a new or empty directory; it holds an earlier gpucredit output "
                    "(add --force to replace it)"
                )
            replaces = True
        if _holds_working_dir(path):
            raise refuse("a directory that does not hold the current working directory")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise refuse(f"a directory whose parent can be written ({path.parent})")
    else:
        ancestor = path.parent
        while not ancestor.exists() and ancestor.parent != ancestor:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise refuse(
                f"a directory that can be written, not inside a file ({ancestor} is a file)"
            )
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise refuse(f"a directory that can be written (no permission in {ancestor})")
    if path.parent.is_dir():
        _remove_stale_staging(path.parent)
    return replaces


def folder_names(names: Sequence[str]) -> list[str]:
    """One folder name per deal: a slug of its name, unique within the run.

    Characters other than ASCII letters, digits, ``-`` and ``_`` become ``_``, so a slug never
    holds a path separator or a dot and never is ``.`` or ``..``; it has at most 64
    characters. Names whose slugs are equal ignoring case (``a/b`` and ``a_b``) get ``-2``,
    ``-3``, ... appended in order.

    Parameters
    ----------
    names : sequence of str
        The deal and miner names, in the order they run.

    Returns
    -------
    list of str
        The folder names, in the same order.
    """
    used: set[str] = set()
    slugs: list[str] = []
    for name in names:
        base = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in name)
        base = base[:_MAX_SLUG] or "deal"
        slug, n = base, 2
        while slug.lower() in used:  # lower: a case-insensitive file system folds them
            suffix = f"-{n}"
            slug, n = base[: _MAX_SLUG - len(suffix)] + suffix, n + 1
        used.add(slug.lower())
        slugs.append(slug)
    return slugs


def write_run(
    out_dir: OutputTarget | Path | str,
    results: list[SimulationResult],
    document: dict[str, Any],
    miners: list[MinerResult] | None = None,
    *,
    force: bool = False,
    before_publish: Callable[[], None] | None = None,
    books: Sequence[BookOutput] = (),
    extra_files: Mapping[str, str | Callable[[Path], None]] | None = None,
    on_files: Callable[[dict[str, str]], None] | None = None,
    cubes: bool = True,
) -> Path:
    """Write a run's results to a directory, all at once.

    Writes ``summary.json``, ``summary.csv``, ``duration_mismatch.csv`` and, per deal, the DSCR
    fan, the PD term structure, the path cube (netCDF) and the run manifest; for miners,
    ``miners.csv`` (and ``premium_curve.csv`` where a miner's premium curve was run) and a
    manifest each (provenance and the validated spec); and a top-level
    ``manifest.json`` listing every file written. Everything goes to a staging directory beside
    the target, renamed into place at the end: an error or a kill leaves no partial output.

    Parameters
    ----------
    out_dir : OutputTarget, Path or str
        The directory, checked already by ``check_output_dir`` or checked here.
    results : list of SimulationResult
        The deals' results.
    document : dict
        The run's JSON document (``summary.json``).
    miners : list of MinerResult, optional
        The miners' results.
    force : bool
        Replace an earlier gpucredit output (only used when ``out_dir`` is not checked yet).
    before_publish : callable, optional
        Called once every file is written and before the output is put in place (the CLI
        records the run in the store here); if it raises, nothing is published.
    books : sequence of BookOutput
        The books' loss CSVs and JSON objects, written as top-level ``book_<slug>_*`` files.
    extra_files : mapping of str to (str or callable), optional
        More top-level files by name (``check_file_name``), written and listed in the
        manifest like the others: a str is the file's UTF-8 text (``{"report.html":
        render_report(...)}``); a callable is called with the file's path in the staging
        directory and writes it (``report.xlsx``).
    on_files : callable, optional
        Called with every file written (path relative to the output, the manifest included)
        -> its SHA-256 (hex), after ``before_publish`` and before the output is put in place
        (the CLI records the run with its files here); if it raises, nothing is published.
    cubes : bool
        Write each deal's path cube (``paths.nc``); False: not (the main job's report
        folder, whose tables and reports need no cube on disk).

    Returns
    -------
    Path
        The directory written, absolute.

    Raises
    ------
    SpecError
        When the directory cannot be used or written (field ``--out`` by default).
    """
    target = (
        out_dir if isinstance(out_dir, OutputTarget) else check_output_dir(out_dir, force=force)
    )
    created: list[Path] = []
    staging: Path | None = None
    published = False
    try:
        created = _make_parents(target.path.parent)
        staging = _make_staging(target.path.parent)
        _write_files(staging, results, document, miners or [], books, cubes=cubes)
        _write_extra(staging, extra_files or {})
        _write_manifest(staging, results, miners or [], books)
        if before_publish is not None:
            before_publish()
        if on_files is not None:
            on_files(file_digests(staging))
        _publish(staging, target)
        published = True
    except OSError as exc:
        raise SpecError(
            _SOURCE,
            [
                SpecIssue(
                    target.field, target.given, f"a directory that can be written ({_reason(exc)})"
                )
            ],
        ) from None
    finally:
        if not published:  # leave the disk as it was: no staging, no parents made for it
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            for folder in reversed(created):
                _rmdir_quietly(folder)
    return target.path


# -- the files -------------------------------------------------------------------------------


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _json_text(value: object) -> str:
    return json.dumps(value, indent=2, allow_nan=False) + "\n"


def _write_files(
    staging: Path,
    results: list[SimulationResult],
    document: dict[str, Any],
    miners: list[MinerResult],
    books: Sequence[BookOutput] = (),
    *,
    cubes: bool = True,
) -> None:
    _write_text(staging / "summary.json", _json_text(document))
    frames = [r.summary() for r in results]
    if frames:
        pd.concat(frames).to_csv(staging / "summary.csv")
    if results or miners:
        durations = [r.duration_frame() for r in results]
        durations += [m.duration_frame() for m in miners]
        pd.concat(durations).to_csv(staging / "duration_mismatch.csv")
    if miners:
        pd.concat([m.summary() for m in miners]).to_csv(staging / "miners.csv")
        curves = [m.premium_curve_frame() for m in miners if m.premium_curve is not None]
        if curves:  # the double-leverage premium over the stress correlation
            pd.concat(curves).to_csv(staging / "premium_curve.csv", index=False)
    folders = folder_names([r.deal.name for r in results] + [m.spec.name for m in miners])
    for r, name in zip(results, folders, strict=False):
        folder = _inside(staging, name)
        r.dscr_fan().to_csv(folder / "dscr_fan.csv")
        r.pd_term_structure().to_csv(folder / "pd_term_structure.csv")
        manifest = {
            "name": r.deal.name,
            "provenance": r.provenance,
            "run_config": {
                "n_paths": r.config.n_paths,
                "seed": r.config.seed,
                "block_size": r.config.block_size,
                "keep_paths": r.config.keep_paths,
            },
            "deal_spec": r.deal.model_dump(mode="json"),
        }
        _write_text(folder / "manifest.json", _json_text(manifest))
        if cubes and r.paths.sizes:
            cube = r.paths.copy()
            for key, var in cube.data_vars.items():
                if var.dtype == np.bool_:
                    cube[key] = var.astype(np.int8)
            cube.to_netcdf(folder / "paths.nc", engine="scipy")
    for miner, name in zip(miners, folders[len(results) :], strict=True):
        folder = _inside(staging, name)
        miner_manifest = {
            "name": miner.spec.name,
            "provenance": miner.provenance,
            "spec": miner.spec.model_dump(mode="json"),
        }
        _write_text(folder / "manifest.json", _json_text(miner_manifest))
    for name, book in zip(_book_files(books), books, strict=True):
        book.losses.to_csv(staging / f"{name}_losses.csv", index=False)
        _write_text(staging / f"{name}_summary.json", _json_text(book.record))


def _book_files(books: Sequence[BookOutput]) -> list[str]:
    """Each book's file-name stem, ``book_<slug>`` (slugs unique within the run)."""
    return [f"book_{slug}" for slug in folder_names([b.name for b in books])]


def _inside(staging: Path, name: str) -> Path:
    """Make the folder ``name`` in ``staging``, refusing any name that would leave it."""
    folder = staging / name
    if folder.resolve().parent != staging.resolve():  # a slug never can; a guard, not a check
        raise ValueError(f"deal folder {name!r} would leave the output directory")
    folder.mkdir()
    return folder


def _write_manifest(
    staging: Path,
    results: list[SimulationResult],
    miners: list[MinerResult],
    books: Sequence[BookOutput] = (),
) -> None:
    files = sorted(
        p.relative_to(staging).as_posix()
        for p in staging.rglob("*")
        if p.is_file() and p.name != _STAGING_MARKER
    )
    names = [r.deal.name for r in results] + [m.spec.name for m in miners]
    entries = [{"name": n, "folder": f} for n, f in zip(names, folder_names(names), strict=True)]
    manifest = {
        OUTPUT_KEY: __version__,
        "written_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "deals": entries[: len(results)],
        "miners": entries[len(results) :],
        **({"books": _book_entries(books)} if books else {}),
        "files": files,
    }
    _write_text(staging / MANIFEST_NAME, _json_text(manifest))
    for relative in [*files, MANIFEST_NAME]:  # on disk before the rename makes them visible
        _fsync(staging / relative)


def _book_entries(books: Sequence[BookOutput]) -> list[dict[str, Any]]:
    """The manifest's entry of each book: its name and its two files."""
    return [
        {"name": b.name, "files": [f"{stem}_losses.csv", f"{stem}_summary.json"]}
        for b, stem in zip(books, _book_files(books), strict=True)
    ]


def _fsync(path: Path, *, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- staging and publishing ------------------------------------------------------------------


def _make_parents(folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents; returns the ones made, outermost first."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    made: list[Path] = []
    try:
        for path in reversed(missing):
            path.mkdir()
            made.append(path)
    except BaseException:
        for path in reversed(made):
            _rmdir_quietly(path)
        raise
    return made


def _make_staging(parent: Path) -> Path:
    """A new staging directory in ``parent`` holding a marker naming this process."""
    marker = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        OUTPUT_KEY: __version__,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    for _ in range(100):
        staging = parent / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            staging.mkdir()  # mode 0777 less the umask, as mkdir(1) does
        except FileExistsError:
            continue
        _write_text(staging / _STAGING_MARKER, json.dumps(marker) + "\n")
        return staging
    raise FileExistsError(f"no free staging name in {parent}")


def _publish(staging: Path, target: OutputTarget) -> None:
    """Rename the staging directory to the target, replacing only an earlier output."""
    (staging / _STAGING_MARKER).unlink()
    path = target.path
    if target.replaces and path.is_dir():
        holder = _make_staging(path.parent)
        previous = holder / "previous"
        os.rename(path, previous)
        foreign = _foreign_entries(previous)
        if foreign:  # a file added since the check: put everything back as it was
            os.rename(previous, path)
            shutil.rmtree(holder, ignore_errors=True)
            raise SpecError(
                _SOURCE,
                [
                    SpecIssue(
                        target.field,
                        target.given,
                        f"a directory holding only gpucredit output; {foreign[0]!r} appeared "
                        "during the run",
                    )
                ],
            )
        os.rename(staging, path)
        shutil.rmtree(holder, ignore_errors=True)
    else:
        try:
            os.rename(staging, path)  # replaces an empty directory in one step (POSIX)
        except OSError as exc:
            if path.exists():  # a file appeared in the directory while the run simulated
                raise SpecError(
                    _SOURCE,
                    [
                        SpecIssue(
                            target.field,
                            target.given,
                            "a new or empty directory; it was filled during the run",
                        )
                    ],
                ) from None
            raise exc
    _fsync(path.parent, directory=True)


def _remove_stale_staging(parent: Path) -> None:
    """Remove staging directories in ``parent`` left by a process that is gone."""
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    host = socket.gethostname()
    for entry in entries:
        if not entry.name.startswith(STAGING_PREFIX):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            pid = _writer_pid(entry.name)
            if pid is None or _alive(pid):
                continue
            folder = Path(entry.path)
            marker = _read_json(folder / _STAGING_MARKER)
            if marker is not None:
                if marker.get("host") == host and marker.get("pid") == pid:
                    shutil.rmtree(folder)
            elif not any(folder.iterdir()):
                folder.rmdir()  # killed between mkdir and writing the marker
            elif (folder / MANIFEST_NAME).is_file() and not _foreign_entries(folder):
                shutil.rmtree(folder)  # killed between removing the marker and the rename
        except OSError:
            continue  # best effort: another process may be removing it too


def _writer_pid(name: str) -> int | None:
    head = name[len(STAGING_PREFIX) :].split("-", 1)[0]
    return int(head) if head.isdigit() and len(head) <= 10 else None


def _alive(pid: int) -> bool:
    if os.name != "posix" or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


# -- what a directory holds ------------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _foreign_entries(folder: Path) -> list[str]:
    """What ``folder`` holds that its gpucredit manifest does not list (all of it if none)."""
    manifest = _read_json(folder / MANIFEST_NAME)
    listed = manifest.get("files") if manifest is not None and OUTPUT_KEY in manifest else None
    if not isinstance(listed, list):
        return sorted(os.listdir(folder))
    files = {str(f) for f in listed} | {MANIFEST_NAME}
    dirs = {parent.as_posix() for f in files for parent in Path(f).parents} - {"."}
    foreign: list[str] = []
    for root, subdirs, names in os.walk(folder):
        here = Path(root).relative_to(folder)
        for name in sorted(subdirs):
            relative = (here / name).as_posix()
            if relative not in dirs or (Path(root) / name).is_symlink():
                foreign.append(relative)
        subdirs[:] = [d for d in subdirs if (here / d).as_posix() in dirs]
        for name in sorted(names):
            relative = (here / name).as_posix()
            if relative not in files or (Path(root) / name).is_symlink():
                foreign.append(relative)
    return sorted(foreign)


def _holds_working_dir(path: Path) -> bool:
    try:
        cwd = Path.cwd().resolve()
    except OSError:
        return False
    return cwd == path or path in cwd.parents


def _rmdir_quietly(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty, or gone: leave it
        folder.rmdir()


def _reason(exc: OSError) -> str:
    reason = exc.strerror or type(exc).__name__
    if exc.filename is not None:
        reason += f": {exc.filename}"
    return reason


# -- files beside the results (the HTML report) ----------------------------------------------

#: The report's file name in an output directory.
REPORT_NAME = "report.html"


def check_file_name(name: str) -> str:
    """``name`` if it can be a top-level output file: a plain name, not the manifest.

    Raises
    ------
    ValueError
        For a name with a path separator, a leading dot, other than ASCII letters, digits,
        ``-``, ``_`` and ``.``, or the manifest's name (a programming error, not user input).
    """
    plain = bool(name) and all(ch.isascii() and (ch.isalnum() or ch in "-_.") for ch in name)
    if not plain or name.startswith(".") or name == MANIFEST_NAME:
        raise ValueError(f"output file name {name!r}: expected a plain file name")
    return name


def _write_extra(staging: Path, files: Mapping[str, str | Callable[[Path], None]]) -> None:
    for name, content in files.items():
        path = staging / check_file_name(name)
        if path.exists():
            raise ValueError(f"output file name {name!r} is written by the run already")
        if isinstance(content, str):
            _write_text(path, content)
        else:
            content(path)


def write_report_html(
    out_dir: OutputTarget | Path | str,
    report: str,
    results: Sequence[SimulationResult] = (),
    document: dict[str, Any] | None = None,
    miners: Sequence[MinerResult] = (),
    *,
    force: bool = False,
    books: Sequence[BookOutput] = (),
    before_publish: Callable[[], None] | None = None,
) -> Path:
    """Write ``report.html`` (``reports.html.render_report``'s text) with the run's files.

    ``write_run`` with the report as one more top-level file: all or nothing, listed in the
    manifest, never over a user's file. ``document`` is ``summary.json`` (default ``{}``).

    Returns
    -------
    Path
        The directory written, absolute.
    """
    return write_run(
        out_dir,
        list(results),
        document if document is not None else {},
        list(miners),
        force=force,
        before_publish=before_publish,
        books=books,
        extra_files={REPORT_NAME: report},
    )


def file_digests(folder: Path | str) -> dict[str, str]:
    """The SHA-256 (hex) of every file of a gpucredit output, by its path relative to
    ``folder``: the files its manifest lists, and the manifest itself.

    Parameters
    ----------
    folder : Path or str
        An output directory (or a staging directory once its manifest is written).

    Returns
    -------
    dict
        Relative path (POSIX) -> SHA-256 of its bytes, sorted by path.
    """
    root = Path(folder)
    manifest = _read_json(root / MANIFEST_NAME) or {}
    listed = [str(f) for f in manifest.get("files", [])] + [MANIFEST_NAME]
    digests: dict[str, str] = {}
    for name in sorted(set(listed)):
        digest = hashlib.sha256()
        with (root / name).open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        digests[name] = digest.hexdigest()
    return digests
