"""Campaigns: many cells fitted one task per cell on a Dask cluster or a process pool.

:func:`run_campaign` is what ``eisna batch --scheduler ADDR`` (and ``--campaign``) runs. Cells
(a looped file, or the single-spectrum files of one experiment) are independent warm-start
chains, so each cell is one task. The parent

1. scans the inputs once (file hash, number of spectra, cell label; the spectra are dropped),
2. keeps at most ``window`` cells in flight: a cell's spectra are read when it is submitted and
   its results are written to ``OUT/cells/<cell>/`` as soon as it finishes (then a
   ``done.json`` marker), so memory does not grow with the number of cells,
3. joins the per-cell tables into ``OUT/results.csv``, ``OUT/tracks.csv`` and
   ``OUT/kinetics.json`` by streaming them file by file, and writes ``OUT/campaign.json``.

Resuming: a cell whose ``done.json`` carries the same key (its files' SHA-256, the circuit, the
options and the eisna version) is not fitted again. Killing the run, the scheduler or a worker
loses at most the cells in flight; re-running the same command finishes the rest.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import re
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, Future, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._atomic import write_atomic as _write_atomic
from ._campaign_cell import CellJob, CellOutput, fit_cell
from .errors import EisnaError, SchedulerError

__all__ = ["CampaignResult", "CellRecord", "run_campaign"]

CELLS_DIRNAME = "cells"
MARKER = "done.json"
CAMPAIGN_OUTPUTS = ("results.csv", "tracks.csv", "kinetics.json", "campaign.json")


@dataclass(frozen=True)
class CellRecord:
    """One cell of a campaign: its label, folder under ``OUT/cells`` and what became of it.

    ``status`` is ``"fitted"`` (in this run), ``"resumed"`` (done by an earlier run) or
    ``"error"`` (the task raised; ``summary["error"]`` says why; re-running retries it).
    """

    label: str
    folder: str
    status: str
    summary: dict[str, Any]


@dataclass(frozen=True)
class CampaignResult:
    """Summary of a campaign; the results themselves are on disk under ``out``."""

    out: Path
    cells: tuple[CellRecord, ...]
    read_failures: tuple[Any, ...]
    skipped: tuple[dict[str, str], ...]
    wall_s: float
    workers: int

    @property
    def n_spectra(self) -> int:
        """Spectra in the results (fitted or failed, read failures included)."""
        return sum(int(c.summary.get("n_spectra", 0)) for c in self.cells) + len(self.read_failures)

    @property
    def n_failed(self) -> int:
        """Failed rows: failed fits and unreadable files (cells that raised are not rows)."""
        return sum(int(c.summary.get("n_failed", 0)) for c in self.cells) + len(self.read_failures)

    def count(self, status: str) -> int:
        """Number of cells with this status (``"fitted"``, ``"resumed"``, ``"error"``)."""
        return sum(c.status == status for c in self.cells)


@dataclass(frozen=True)
class _Cell:
    label: str
    files: tuple[Path, ...]
    n_spectra: int
    key: str
    folder: str


def folder_name(label: str) -> str:
    """``OUT/cells`` sub-folder of a cell: its file or folder name (safe characters) + a hash."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(label).name or "cell").strip("._") or "cell"
    return f"{stem[:60]}-{hashlib.sha256(label.encode()).hexdigest()[:8]}"


def scan_cells(files: Sequence[Path], group_by: str | None, options_key: str):
    """Cells in input order (labels, files, keys) and the read failures/skipped files.

    Each file is read once here to count its spectra (which decides its cell); the spectra are
    not kept.
    """
    from .batching import _read_all

    members: dict[str, list[Path]] = {}
    counts: dict[str, int] = {}
    digests: dict[str, list[str]] = {}
    failures: list[Any] = []
    skipped: list[dict[str, str]] = []
    for f in files:
        spectra, groups, bad, skip, inputs = _read_all([f], group_by)
        failures += bad
        skipped += skip
        if not spectra:
            continue
        label = groups[0]
        members.setdefault(label, []).append(f)
        counts[label] = counts.get(label, 0) + len(spectra)
        digests.setdefault(label, []).append(f"{f}|{inputs[0]['sha256']}")
    cells = []
    for label, paths in members.items():
        key = hashlib.sha256("\n".join([options_key, label, *digests[label]]).encode()).hexdigest()
        cells.append(_Cell(label, tuple(paths), counts[label], key, folder_name(label)))
    return cells, failures, skipped


def _read_marker(out_dir: Path, cell: _Cell) -> dict[str, Any] | None:
    """The cell's ``done.json`` if it is complete and for the same inputs and options, else None."""
    folder = out_dir / CELLS_DIRNAME / cell.folder
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("key") != cell.key:
        return None
    if not all((folder / name).is_file() for name in marker.get("files", [])):
        return None
    return marker


def _store_cell(out_dir: Path, cell: _Cell, output: CellOutput) -> dict[str, Any]:
    """Write a finished cell's files, then its ``done.json`` (the marker goes last)."""
    folder = out_dir / CELLS_DIRNAME / cell.folder
    (folder / MARKER).unlink(missing_ok=True)
    for name, blob in output.files.items():
        _write_atomic(folder / name, zlib.decompress(blob), fsync=False)
    marker = {"key": cell.key, "label": cell.label, "files": sorted(output.files), "summary": output.summary}
    _write_atomic(folder / MARKER, json.dumps(marker, indent=1) + "\n")
    return marker


def campaign_key(circuit: str, settings: dict[str, Any]) -> str:
    """What a finished cell's results depend on besides its files: circuit, options, version."""
    from . import __version__

    text = json.dumps({"eisna": __version__, "circuit": circuit, **settings}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def run_campaign(
    files: Sequence[Path],
    circuit: str,
    out_dir: Path,
    *,
    scheduler: str | None = None,
    jobs: int | None = None,
    settings: dict[str, Any],
    job_fields: dict[str, Any],
    group_by: str | None = None,
    resume: bool = True,
    window: int | None = None,
    progress: bool | None = None,
    on_cell: Callable[[CellRecord], None] | None = None,
    extra_failures: Sequence[Any] = (),
) -> CampaignResult:
    """Fit every cell of ``files`` as its own task and stream the results into ``out_dir``.

    Parameters
    ----------
    files : sequence of Path
        Instrument files (already expanded).
    circuit : str
        Library circuit.
    out_dir : Path
        Output folder (locked by the caller).
    scheduler : str, optional
        Dask scheduler address; else a local process pool of ``jobs`` workers (default 2).
    settings : dict
        Options the results depend on (they key the ``done.json`` markers).
    job_fields : dict
        :class:`~eisna._campaign_cell.CellJob` fields other than the cell's own data.
    group_by : str, optional
        Cell grouping (see :func:`eisna.batch`).
    resume : bool
        Skip cells whose ``done.json`` matches (default True).
    window : int, optional
        Cells in flight at once (default twice the worker slots): bounds the parent's memory.
    progress : bool, optional
        tqdm bar (spectra); default only on a terminal.
    on_cell : callable, optional
        Called with each :class:`CellRecord` as it is stored (monitoring; raising stops the run,
        stored cells stay done).
    extra_failures : sequence of FitFailure
        Inputs that could not be listed; failed rows at the end of ``results.csv``.

    Returns
    -------
    CampaignResult

    Raises
    ------
    SchedulerError
        The scheduler cannot be reached, has no usable workers, or was lost (finished cells stay
        on disk; re-run to resume).
    """
    t0 = time.perf_counter()
    cells, failures, skipped = scan_cells(files, group_by, campaign_key(circuit, settings))
    failures = [*failures, *extra_failures]
    if not cells and not failures:
        raise EisnaError(f"none of the {len(files)} file(s) holds an impedance spectrum.")
    records: dict[str, CellRecord] = {}
    todo = []
    for cell in cells:
        marker = _read_marker(out_dir, cell) if resume else None
        if marker is not None:
            records[cell.label] = CellRecord(cell.label, cell.folder, "resumed", marker.get("summary", {}))
        else:
            todo.append(cell)
    workers = 1
    if todo:
        workers = _run_cells(
            todo, out_dir, records, scheduler, jobs, job_fields, group_by, window, progress, on_cell
        )
    ordered = tuple(records[c.label] for c in cells)
    result = CampaignResult(
        out_dir, ordered, tuple(failures), tuple(skipped), time.perf_counter() - t0, workers
    )
    from ._campaign_join import write_joined

    write_joined(result, cells, settings)
    return result


def _open_executor(scheduler: str | None, jobs: int | None) -> tuple[Executor, Any, int]:
    """(executor, owner to close, worker slots): a Dask client's executor or a process pool."""
    if scheduler:
        from ._cluster import CellExecutor, connect, worker_slots

        client = connect(scheduler)
        return CellExecutor(client), client, worker_slots(client)
    from concurrent.futures import ProcessPoolExecutor

    import eisna.fitting  # noqa: F401  (imported once before the workers fork)

    from .batching import _worker_init

    n = max(int(jobs or 2), 1)
    pool = ProcessPoolExecutor(max_workers=n, initializer=_worker_init, initargs=(os.getpid(),))
    return pool, pool, n


def _jobs(todo: Sequence[_Cell], job_fields: dict[str, Any], group_by: str | None) -> Iterator[CellJob]:
    """One :class:`CellJob` per cell, its spectra read only when the cell is submitted."""
    from .batching import _read_all

    for cell in todo:
        spectra, _groups, bad, _skip, inputs = _read_all(list(cell.files), group_by)
        yield CellJob(cell.label, tuple(spectra), tuple(bad), tuple(inputs), **job_fields)


def _run_cells(
    todo: Sequence[_Cell],
    out_dir: Path,
    records: dict[str, CellRecord],
    scheduler: str | None,
    jobs: int | None,
    job_fields: dict[str, Any],
    group_by: str | None,
    window: int | None,
    progress: bool | None,
    on_cell: Callable[[CellRecord], None] | None,
) -> int:
    """Fit ``todo`` with at most ``window`` cells in flight; store each as it finishes."""
    from .series.run import _progress

    executor, owner, slots = _open_executor(scheduler, jobs)
    limit = max(int(window or 2 * slots), 1)
    by_label = {c.label: c for c in todo}
    pending = _jobs(todo, job_fields, group_by)
    inflight: dict[Future[CellOutput], str] = {}
    bar = _progress(sum(c.n_spectra for c in todo), progress)
    finished = False
    try:
        while True:
            while len(inflight) < limit and (job := next(pending, None)) is not None:
                inflight[_submit(executor, job, owner, scheduler, out_dir, records, len(todo))] = job.label
            if not inflight:
                break
            done, _ = wait(inflight, timeout=2.0, return_when=FIRST_COMPLETED)
            if not done:
                _check_scheduler(owner, scheduler, out_dir, records, len(todo))
            for fut in done:
                cell = by_label[inflight.pop(fut)]
                record = _collect(fut, cell, out_dir, owner, scheduler, records, len(todo))
                records[cell.label] = record
                bar.update(cell.n_spectra)
                if on_cell is not None:
                    on_cell(record)
        finished = True
    finally:
        bar.close()
        for fut in inflight:
            fut.cancel()
        _close(owner, abort=not finished)
    return slots


def _submit(
    executor: Executor,
    job: CellJob,
    owner: Any,
    scheduler: str | None,
    out_dir: Path,
    records: dict[str, CellRecord],
    n_todo: int,
) -> Future[CellOutput]:
    """Submit one cell; a scheduler lost while sending it is a :class:`SchedulerError`."""
    try:
        return executor.submit(fit_cell, job)
    except Exception:
        _check_scheduler(owner, scheduler, out_dir, records, n_todo)
        raise


def _collect(
    fut: Future[CellOutput],
    cell: _Cell,
    out_dir: Path,
    owner: Any,
    scheduler: str | None,
    records: dict[str, CellRecord],
    n_todo: int,
) -> CellRecord:
    """Store a finished cell; a task that raised becomes an ``"error"`` record (retried on re-run)."""
    try:
        output = fut.result()
    except CancelledError:
        _check_scheduler(owner, scheduler, out_dir, records, n_todo)
        return CellRecord(cell.label, cell.folder, "error", {"error": "the task was cancelled"})
    except (ImportError, AttributeError) as err:
        if scheduler and "eisna" in str(err):
            raise SchedulerError(
                f"the Dask workers of {scheduler} cannot run eisna's tasks ({err}); install the same "
                "eisna on every worker (pip install 'eisna[dask]') and restart them."
            ) from err
        return CellRecord(cell.label, cell.folder, "error", {"error": f"{type(err).__name__}: {err}"})
    except Exception as err:  # a worker died, or the cell's task raised: the other cells go on
        _check_scheduler(owner, scheduler, out_dir, records, n_todo)
        return CellRecord(cell.label, cell.folder, "error", {"error": f"{type(err).__name__}: {err}"})
    marker = _store_cell(out_dir, cell, output)
    return CellRecord(cell.label, cell.folder, "fitted", marker["summary"])


def _check_scheduler(
    owner: Any, scheduler: str | None, out_dir: Path, records: dict[str, CellRecord], n_todo: int
) -> None:
    """Raise :class:`SchedulerError` when the Dask client has lost its scheduler."""
    if not scheduler:
        return
    from ._cluster import is_lost

    if is_lost(owner):
        n_done = sum(r.status == "fitted" for r in records.values())
        raise SchedulerError(
            f"lost the Dask scheduler at {scheduler} after {n_done} of {n_todo} cells; the finished "
            f"cells are saved in {out_dir / CELLS_DIRNAME}. Restart `dask scheduler` and the "
            "`dask worker` processes, then run the same command again: finished cells are skipped."
        )


def _close(owner: Any, *, abort: bool) -> None:
    """Disconnect from Dask (never shutting the user's cluster down) or stop the process pool."""
    if isinstance(owner, Executor):
        from .batching import _close_executor

        _close_executor(owner, abort=abort)
        return
    with contextlib.suppress(Exception):  # a lost scheduler: nothing left to close
        owner.close(timeout=5)


def csv_rows(path: Path) -> Iterator[dict[str, str]]:
    """Rows of a CSV file as dicts (strings, read lazily)."""
    with open(path, encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def csv_header(path: Path) -> list[str]:
    """The first line of a CSV file, parsed."""
    with open(path, encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh), [])


def csv_line(values: Sequence[Any]) -> str:
    """One CSV line (``\\n`` ended), quoted as :mod:`csv` does."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def now_iso() -> str:
    """The current UTC time, ISO 8601."""
    return datetime.now(UTC).isoformat()
