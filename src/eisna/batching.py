"""Files → time-ordered fits → ``results.csv``, ``results.json``, ``kinetics.json``, ``report.html``.

:func:`batch` expands paths (files, folders searched recursively, globs), reads every spectrum,
groups them into cells (a file holding several spectra is one cell; single-spectrum files in
one folder form one cell), fits them with :func:`eisna.fit_series` and writes the outputs
atomically (temporary file, then rename) into the output folder.

Resuming: every finished spectrum is stored in ``DIR/.eisna-cache`` under a key made of the
spectrum's data hash, the circuit and the options. Re-running the same command after an
interruption reuses those fits and fits only the rest.

Parallelism: ``executor`` (any :class:`concurrent.futures.Executor`) or ``jobs`` (a local
process pool). Warm starts run in order within a chain: cells are independent chains, and long
cells are cut into ordered chunks. ``scheduler`` (the address of a Dask distributed scheduler;
needs ``dask[distributed]``) or ``campaign=True`` run a campaign instead: one task per cell,
each cell written to ``out/cells/`` as it finishes (:mod:`eisna.campaign`).
"""

from __future__ import annotations

import gc
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from ._atomic import FolderLock, OutputSet, check_output_folder, file_sha256, recover
from ._atomic import write_atomic as _write_atomic
from ._csvsafe import frame_to_csv
from .errors import (
    EisnaError,
    NoImpedanceData,
    OutputError,
    PlaceholderWarning,
    TruncatedDataWarning,
    UsageError,
)
from .fitting.physics import DEFAULT_EPS_R
from .inputs import expand_inputs, expand_paths  # expand_paths: re-exported
from .series import FitFailure, SeriesResult, earliest, fit_series, resolve_geometry
from .series.ordering import cell_label
from .spectrum import CellGeometry

if TYPE_CHECKING:
    from .campaign import CampaignResult

__all__ = ["batch", "expand_paths", "write_atomic"]

CACHE_DIRNAME = ".eisna-cache"
# every file a batch writes into its output folder (stray temporaries of these are removed)
OUTPUT_NAMES = (
    "results.csv",
    "results.json",
    "kinetics.json",
    "report.html",
    "cycling_summary.csv",
    "cycling.json",
    "analysis.json",
    "tracks.csv",
)
# spectra per chain when running in parallel (a chunk's first spectrum starts cold)
DEFAULT_CHUNK = 50


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    return file_sha256(path)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    _write_atomic(path, data)


def _json_default(obj: Any) -> Any:
    """What the JSON encoder writes for a type it does not take itself (NumPy scalars and arrays
    as Python numbers and lists, so their float64 values are written exactly; datetimes in ISO
    8601; anything else as ``str()``)."""
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, np.integer | np.bool_):
        return obj.item()
    if isinstance(obj, float | np.floating):  # (NumPy's and other float subclasses: a number)
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


# orjson writes NaN and infinities as null (strict JSON), non-ASCII as UTF-8, floats in their
# shortest round-trip form; datetimes and dataclasses go to _json_default (as they always did),
# NumPy objects too (float32 values written as the float64 they convert to, not re-rounded);
# a mapping key that is not a str makes it refuse the document, which _plain then rewrites
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_ONE_LINE = frozenset({float, int, type(None)})  # (None: a non-finite value cleaned)
_LIST = {list}
_LEAVES = frozenset({float, int, str, bool, type(None)})  # what _inline returns as it is
_INT64 = (-(2**63), 2**64 - 1)  # the integers orjson writes (larger ones: as JSON text of their own)


def _plain(obj: Any) -> Any:
    """``obj`` with every mapping key a str (:func:`_key`) and integers orjson does not take
    (beyond 64 bits) as literal JSON text; only for documents orjson refuses as they are."""
    if isinstance(obj, dict):
        return {_key(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, int) and not isinstance(obj, bool) and not _INT64[0] <= obj <= _INT64[1]:
        return orjson.Fragment(str(int(obj)))
    return obj


def _key(k: Any) -> str:
    """A mapping key as text: JSON literals for None, bool, int and float (a float as orjson
    writes it), ``str()`` for other types."""
    if isinstance(k, str):
        return str(k)
    if k is None or isinstance(k, bool):
        return json.dumps(k)
    if isinstance(k, float | np.floating):  # (as orjson writes a float key)
        return orjson.dumps(float(k)).decode() if math.isfinite(k) else "null"
    if isinstance(k, int | np.integer):
        return str(int(k))
    return str(k)


def _encode(obj: Any, option: int) -> bytes:
    try:
        return orjson.dumps(obj, default=_json_default, option=option)
    except orjson.JSONEncodeError:  # a key of another type, or an integer beyond 64 bits
        return orjson.dumps(_plain(obj), default=_json_default, option=option)


def _inline(obj: Any) -> Any:
    """``obj`` with every list of 8 or more numbers (or of number lists: [re, im] pairs, matrix
    rows) and every NumPy array replaced by its compact JSON text (:class:`orjson.Fragment`),
    which the indenting encoder writes on one line."""
    kind = type(obj)
    if kind is dict:
        # (a scalar is its own result: kept without a call, ~16 000 of them in a results.json)
        return {k: v if type(v) in _LEAVES else _inline(v) for k, v in obj.items()}
    if kind is list or kind is tuple:
        if len(obj) >= 8:
            types = set(map(type, obj))
            if types <= _ONE_LINE or (
                types == _LIST and all(obj) and set(map(type, chain.from_iterable(obj))) <= _ONE_LINE
            ):
                return orjson.Fragment(_encode(obj, _OPTIONS))
        return [v if type(v) in _LEAVES else _inline(v) for v in obj]
    if kind is np.ndarray:
        return orjson.Fragment(_encode(obj, _OPTIONS))
    if isinstance(obj, dict):  # (a mapping subclass: walked as a dict)
        return {k: _inline(v) for k, v in obj.items()}
    return obj


def dump_bytes(obj: Any, *, compact: bool = False) -> bytes:
    """Strict JSON (NaN and infinities as null) in UTF-8, indented by two spaces (``compact``:
    one line), with a final newline.

    Indented output keeps numeric arrays (and lists of [re, im] pairs, matrix rows) on one line
    each. Floats are written in their shortest form that reads back to the same value
    (``1e-05`` as ``0.00001``); mapping keys that are not str as JSON literals (``2.0`` →
    ``"2.0"``, None → ``"null"``) or their ``str()``.
    """
    if compact:
        return _encode(obj, _OPTIONS | orjson.OPT_APPEND_NEWLINE)
    return _encode(_inline(obj), _OPTIONS | orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def dumps(obj: Any, *, compact: bool = False) -> str:
    """:func:`dump_bytes` as text."""
    return dump_bytes(obj, compact=compact).decode("utf-8")


def _read_all(files: Sequence[Path], group_by: str | None = None):
    """Read every file; return spectra, cell labels, read failures, skipped files and hashes."""
    from .io import read
    from .spectrum import Spectrum

    spectra: list[Spectrum] = []
    groups: list[str] = []
    failures: list[FitFailure] = []
    skipped: list[dict[str, str]] = []
    inputs: list[dict[str, Any]] = []
    for f in files:
        try:
            digest = sha256_file(f)
        except OSError as err:
            failures.append(FitFailure(str(f), None, f"cannot be opened ({err.strerror})", "read"))
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                warnings.simplefilter("default", TruncatedDataWarning)  # a cut file is said
                warnings.simplefilter("default", PlaceholderWarning)  # and a placeholder area
                got = read(f)
        except NoImpedanceData as err:
            skipped.append({"path": str(f), "reason": str(err)})
            continue
        except EisnaError as err:
            failures.append(FitFailure(str(f), None, str(err), "read"))
            inputs.append({"path": str(f), "sha256": digest, "spectra": 0, "status": "failed"})
            continue
        inputs.append({"path": str(f), "sha256": digest, "spectra": len(got), "status": "read"})
        cell = cell_label(f, len(got), group_by)
        for s in got:
            spectra.append(s.with_meta(source=str(f), file_sha256=digest))
            groups.append(cell)
    return spectra, groups, failures, skipped, inputs


def _make_executor(jobs: int | None, scheduler: str | None, n_spectra: int, chunk: int):
    """Return (executor, owned, workers): a Dask or process-pool executor, or None (in process)."""
    if scheduler:
        try:
            from dask.distributed import Client
        except ImportError as err:
            raise EisnaError(
                "--scheduler needs dask[distributed]; install it with pip install 'eisna[dask]'."
            ) from err
        client = Client(scheduler)
        workers = max(len(client.scheduler_info().get("workers", {})), 1)
        return client.get_executor(), client, workers
    if jobs is None:
        jobs = min(os.cpu_count() or 1, 2) if n_spectra > chunk else 1
    if jobs <= 1:
        return None, None, 1
    from concurrent.futures import ProcessPoolExecutor

    # import the fit engine before forking, so forked workers do not pay for the import again
    # (lmfit is no longer on the fit path: FitResult.lmfit_params imports it on demand)
    import eisna.fitting  # noqa: F401

    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init, initargs=(os.getpid(),))
    return pool, pool, jobs


def _worker_init(parent: int) -> None:
    """Process-pool worker set-up: die with the batch process that started it.

    On Linux the kernel sends SIGKILL when the parent goes (``prctl(PR_SET_PDEATHSIG)``);
    everywhere a daemon thread also checks once a second that the parent is still there, which
    covers kill -9 of the parent where prctl is unavailable. Ctrl-C is left to the parent, which
    stops the workers itself.
    """
    import signal
    import sys
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="eisna-parent-watch", daemon=True).start()


def batch(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    circuit: str = "symmetric_interlayer",
    *,
    out: str | os.PathLike[str] = "eisna-out",
    jobs: int | None = None,
    executor: Executor | None = None,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    resume: bool = True,
    report: bool = True,
    geometry: CellGeometry | None = None,
    eps_r: float | None = DEFAULT_EPS_R,
    area_cm2: float | None = None,
    thickness_cm: float | None = None,
    progress: bool | None = None,
    hook: Callable[[int], None] | None = None,
    command: str | None = None,
    cycling: str | os.PathLike[str] | None = None,
    cycling_potential: str = "auto",
    tz: str | None = None,
    group_by: str | None = None,
    campaign: bool | None = None,
    window: int | None = None,
    **options: Any,
) -> SeriesResult | CampaignResult:
    """Fit every spectrum under ``paths`` as one time series and write the outputs into ``out``.

    Parameters
    ----------
    paths : path or iterable of paths
        Files, folders (searched recursively) and glob patterns.
    circuit : str
        Library circuit, e.g. ``"symmetric_interlayer"``, or ``"auto"`` (what ``eisna batch``
        does without ``--circuit``): spectra ending in the capacitive spike of blocking
        electrodes are fitted with ``pellet_blocking``, the others with
        ``symmetric_interlayer`` (:mod:`eisna.series.choice`; ``model_note`` says why).
    out : path
        Output folder; gets ``results.csv``, ``results.json``, ``kinetics.json``,
        ``report.html`` and the resume cache ``.eisna-cache/``.
    jobs : int, optional
        Worker processes. Default: in process for up to one chunk of spectra, else 2.
    executor : concurrent.futures.Executor, optional
        Use this executor (e.g. ``dask.distributed.Client(...).get_executor()``).
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:8786``): runs a campaign there
        (one task per cell, results streamed to ``out/cells/``; see :mod:`eisna.campaign`).
    chunk_size : int, optional
        Spectra per chain in parallel runs (default 50).
    resume : bool
        Reuse fits cached in ``out/.eisna-cache`` (default True).
    report : bool
        Write ``report.html``.
    geometry : CellGeometry, optional
        Electrode area and electrolyte thickness (default: each file's "Electrode surface
        area"); every derived quantity is computed from it by :func:`eisna.fit`.
    eps_r : float or None
        Interlayer permittivity assumed for its thickness (default 10; None: no thickness).
    area_cm2, thickness_cm : float, optional
        Deprecated (DeprecationWarning): use ``geometry=CellGeometry(thickness_cm, area_cm2)``.
    progress : bool, optional
        tqdm progress bar; default only on a terminal.
    hook : callable, optional
        Called with the series position after each spectrum is fitted.
    command : str, optional
        Command line recorded in the provenance.
    cycling : path, optional
        Cycling file of the same cell (Neware ``.nda``/``.ndax``/CSV/XLSX, EC-Lab GCPL). Its
        half-cycle overpotentials, DC ASR and soft shorts go into ``cycling_summary.csv``,
        ``cycling.json`` and the report, on one time axis with the impedance series (from the
        absolute timestamps of both).
    cycling_potential : {"auto", "Ewe", "Ewe-Ece"}
        Cell voltage of an EC-Lab ``cycling`` file (:func:`eisna.read_cycling`'s ``potential``):
        ``Ewe - Ece`` when it records the counter electrode (``"auto"``), or forced.
    tz : str, optional
        Time zone of zone-less timestamps (e.g. ``"Europe/Berlin"``), needed when the cycling
        file has zone-aware times (Neware binaries: UTC) and the spectra local ones.
    group_by : str, optional
        Regular expression searched in each file name; files with equal matches (first group,
        if any) are one cell. Default: a looped file is one cell; single-spectrum files of one
        folder belong together by their EC-Lab base name and channel
        (:func:`eisna.series.ordering.cell_label`).
    campaign : bool, optional
        One task per cell, each cell's outputs written to ``out/cells/<cell>/`` as it finishes
        (a ``done.json`` marker makes it resumable), ``results.csv``, ``tracks.csv``,
        ``kinetics.json`` and ``campaign.json`` joined from them; memory does not grow with
        the number of cells. Default: with ``scheduler`` only; ``campaign=True`` runs it on a
        local pool of ``jobs`` processes. No ``cycling`` and no top-level report (each cell
        has its own with ``report=True``); ``hook`` is not called.
    window : int, optional
        Campaign only: cells in flight at once (default twice the worker threads).
    **options
        Passed to :func:`eisna.fit_series` (``delta_bic``, ``track``, ``interval_h``,
        ``min_interlayer_ohm``…) and on to
        :func:`eisna.fit` (``weighting``, ``fmin``, ``fmax``).

    Returns
    -------
    SeriesResult or CampaignResult
        A :class:`~eisna.campaign.CampaignResult` (a summary; the fits are on disk) for a
        campaign, else the series.

    Raises
    ------
    SchedulerError
        Campaign on a scheduler that cannot be reached, has no workers with the same eisna, or
        was lost (re-run the same call to resume).
    EisnaError
        No input file found, or the circuit is unknown. Unreadable files and failed fits do not
        raise: they become rows with ``status = "failed"``.
    """
    started = datetime.now(UTC)
    t_start = time.perf_counter()
    out_dir = Path(out)
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    files, unreadable = (found := expand_inputs(paths, exclude=out_dir)).files, found.unreadable
    if not files and not unreadable:
        raise EisnaError(f"no instrument files found in {', '.join(map(str, paths))}.")
    check_output_folder(out_dir)  # a file, a read-only folder: refused before any reading or fitting
    if campaign or (campaign is None and scheduler):
        if executor is not None or cycling is not None:
            raise UsageError("a campaign (--scheduler/--campaign) takes neither executor= nor --cycling.")
        run = {
            "scheduler": scheduler,
            "jobs": jobs,
            "chunk_size": chunk_size,
            "resume": resume,
            "report": report,
            "geometry": geometry,
            "eps_r": eps_r,
            "area_cm2": area_cm2,
            "thickness_cm": thickness_cm,
            "progress": progress,
            "command": command,
            "group_by": group_by,
            "window": window,
            "started": started,
        }
        return _campaign(files, unreadable, circuit, out_dir, run, options)
    with FolderLock(out_dir):
        recover(out_dir, OUTPUT_NAMES)  # finish or discard what an interrupted batch left
        spectra, groups, failures, skipped, inputs = _read_all(files, group_by)
        geometry = resolve_geometry(geometry, area_cm2, thickness_cm, "batch", spectra)
        failures += [FitFailure(u.path, None, u.reason, "read") for u in unreadable]  # listed, not skipped
        if not spectra and not failures:
            raise EisnaError(
                f"none of the {len(files)} file(s) holds an impedance spectrum "
                f"({'; '.join(s['reason'] for s in skipped[:3])})."
            )
        context = None
        if cycling is not None:  # read and align first: a bad cycling file fails before the long fit
            from .cycling import cycling_context

            context = cycling_context(
                cycling,
                eis_start=earliest(s.timestamp for s in spectra),
                area_cm2=geometry.area_cm2 if geometry else None,
                tz=tz,
                potential=cycling_potential,
            )
        # the chunks (chains that start cold) depend on chunk_size only, never on the number of
        # workers: a parallel run gives what a serial one gives
        chunk = int(chunk_size or DEFAULT_CHUNK)
        owned = None
        workers = 1
        if executor is None:
            executor, owned, workers = _make_executor(jobs, scheduler, len(spectra), chunk)
        else:
            workers = max(jobs or 2, 1)
        cache_dir = out_dir / CACHE_DIRNAME if resume else None
        finished = False
        try:
            series = fit_series(
                spectra,
                circuit,
                executor=executor,
                groups=groups,
                chunk_size=chunk,
                geometry=geometry,
                eps_r=eps_r,
                cache_dir=cache_dir,
                progress=progress,
                hook=hook,
                failures=failures,
                **options,
            )
            finished = True
        finally:
            if owned is not None:
                _close_executor(owned, abort=not finished)
        fit_seconds = time.perf_counter() - t_start
        provenance = {
            "command": command,
            "circuit": circuit,
            "baseline": series.baseline,
            "options": {
                "eps_r": eps_r,
                "area_cm2": series.area_cm2,
                "thickness_cm": series.thickness_cm,
                "jobs": workers,
                "chunk_size": chunk,
                **options,
            },
            "inputs": inputs,
            "skipped": skipped,
            "started": started.isoformat(),
            "fit_seconds": round(fit_seconds, 3),
        }
        if context is not None and cycling is not None:  # context comes from the cycling file
            # the main cell's first spectrum and the area the series settled on (the files' headers)
            context = context.realigned(series.start_time, series.area_cm2)
            provenance["cycling"] = {"file": str(cycling), "sha256": sha256_file(Path(cycling)), "tz": tz}
        write_outputs(series, out_dir, provenance=provenance, report=report, cycling=context)
    return series


def _campaign(
    files: list[Path],
    unreadable: list[Any],
    circuit: str,
    out_dir: Path,
    args: dict[str, Any],
    options: dict[str, Any],
) -> CampaignResult:
    """:func:`batch` as a campaign (see :mod:`eisna.campaign`): one task per cell, streamed to disk."""
    from .campaign import CAMPAIGN_OUTPUTS, run_campaign

    geometry = resolve_geometry(args["geometry"], args["area_cm2"], args["thickness_cm"], "batch")
    chunk = int(args["chunk_size"] or DEFAULT_CHUNK)
    settings = {
        "chunk_size": chunk,
        "geometry": geometry,
        "eps_r": args["eps_r"],
        "report": bool(args["report"]),
        "group_by": args["group_by"],
        **options,
    }
    job_fields = {
        "circuit": circuit,
        "chunk_size": chunk,
        "geometry": geometry,
        "eps_r": args["eps_r"],
        "report": bool(args["report"]),
        "track": options.pop("track", None),
        "options": options,
        "provenance": {
            "command": args["command"],
            "circuit": circuit,
            "started": args["started"].isoformat(),
        },
    }
    with FolderLock(out_dir):
        recover(out_dir, (*OUTPUT_NAMES, *CAMPAIGN_OUTPUTS))
        return run_campaign(
            files,
            circuit,
            out_dir,
            scheduler=args["scheduler"],
            jobs=args["jobs"],
            settings=settings,
            job_fields=job_fields,
            group_by=args["group_by"],
            resume=bool(args["resume"]),
            window=args["window"],
            progress=args["progress"],
            extra_failures=[FitFailure(u.path, None, u.reason, "read") for u in unreadable],
        )


def _close_executor(owned: Any, *, abort: bool) -> None:
    """Shut down an executor batch made; on an error or interrupt, stop its workers at once."""
    if not isinstance(owned, Executor):  # a Dask client: disconnect, never shut the user's scheduler down
        owned.close()
        return
    if not abort:
        owned.shutdown(wait=True)
        return
    procs = list((getattr(owned, "_processes", None) or {}).values())
    owned.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(timeout=5)


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (when it runs) for the ``with`` block.

    For blocks that build large trees of objects which all stay alive until the block ends (the
    output documents of a batch): a collection there frees none of them but walks all of them,
    and a full collection also walks everything else the process holds (62–90 ms each in
    ``benchmarks/bench_series_cost.py``, in 12 of 28 batches of 49 spectra; one per batch in a
    fresh process). A tree dropped before the block ends is freed by reference counting and never
    reaches the older generations, whose growth triggers the full collections. A collector the
    caller turned off stays off; an error in the block resumes it.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _encoded_outputs(
    series: SeriesResult, provenance: dict[str, Any], title: str, *, keep: bool
) -> tuple[dict[str, str | bytes], dict[str, Any] | None, dict[str, Any] | None]:
    """``results.csv``, ``tracks.csv``, ``kinetics.json``, ``results.json`` and
    ``analysis.json`` (text or bytes, in that order), and the kinetics and analysis mappings the
    report draws (``keep``; else None: every document is dropped here, once encoded)."""
    from .analysis import analyse_series
    from .series.export import rows_frame

    rows = series.rows()
    frame = rows_frame(rows)  # (SeriesResult.to_frame, without building the rows twice)
    kinetics = series.kinetics_summary()
    tracks = [t.to_dict() for t in series.tracks]
    kinetics["tracks"] = tracks  # every tracked quantity with its trajectory and law (the report draws them)
    fits = [r.to_dict() for r in series.results]
    analysis = analyse_series(series, kinetics=kinetics, provenance=provenance, title=title)
    encoded: dict[str, str | bytes] = {
        "results.csv": frame_to_csv(frame),
        "tracks.csv": frame_to_csv(series.tracks_frame()),
        "kinetics.json": dump_bytes(kinetics),
        "results.json": dump_bytes({"provenance": provenance, "rows": rows, "fits": fits, "tracks": tracks}),
        "analysis.json": dump_bytes(analysis, compact=True),
    }
    return (encoded, kinetics, analysis) if keep else (encoded, None, None)


def write_outputs(
    series: SeriesResult,
    out_dir: Path,
    *,
    provenance: dict[str, Any],
    report: bool = True,
    cycling: Any = None,
) -> None:
    """Write ``results.csv``, ``results.json``, ``kinetics.json``, ``analysis.json`` and ``report.html``
    atomically (and ``cycling_summary.csv`` and ``cycling.json`` for a
    :class:`~eisna.cycling.CyclingContext`).

    ``analysis.json`` (:func:`eisna.analysis.analyse_series`: KK verdicts, residuals, arcs, curves)
    is what the report renders, here and in ``eisna report DIR``.
    """
    from . import __version__

    provenance = {**provenance, "eisna_version": __version__, "finished": datetime.now(UTC).isoformat()}
    title = f"eisna batch: {series.circuit}"
    with collection_paused():
        encoded, kinetics, analysis = _encoded_outputs(series, provenance, title, keep=report)
    check_output_folder(out_dir)
    # staged, then moved into place together: a kill leaves the previous set or this one
    with OutputSet(out_dir) as outputs:
        for name, data in encoded.items():
            outputs.add(name, data)
        if cycling is not None:
            outputs.add("cycling_summary.csv", frame_to_csv(cycling.half_cycles_frame()))
            from .report.data import cycling_record  # the trace the report's cycling figure draws

            outputs.add("cycling.json", dump_bytes({**cycling.to_dict(), **cycling_record(cycling)}))
        if report:
            from .report import write_report  # the report sits downstream; import it only when asked

            try:
                write_report(
                    outputs.path("report.html").parent,
                    series=series,
                    kinetics=kinetics,
                    provenance=provenance,
                    title=title,
                    cycling=cycling,
                    analysis=analysis,
                )
            except OSError as err:
                raise OutputError(
                    f"{out_dir / 'report.html'}: cannot be written ({err.strerror or err}); "
                    "check the --out folder"
                ) from err
