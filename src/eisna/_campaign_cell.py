"""One cell of a campaign, as a worker runs it: spectra in, the cell's output files out.

The task needs no shared disk: the parent sends the cell's spectra (read on the parent) and
gets back the files a one-cell ``eisna batch`` writes (``results.csv``, ``results.json``,
``kinetics.json``, ``analysis.json``, ``tracks.csv``, optionally ``report.html``), compressed.
The cell is fitted exactly as in a multi-cell batch: its own warm-start chains, back-fill,
window fallbacks and kinetics; its rows carry the ``cell`` label.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .series import FitFailure
from .spectrum import CellGeometry, Spectrum

__all__ = ["CellJob", "CellOutput", "fit_cell"]


@dataclass(frozen=True)
class CellJob:
    """Everything a worker needs to fit one cell (picklable)."""

    label: str
    spectra: tuple[Spectrum, ...]
    failures: tuple[FitFailure, ...]
    inputs: tuple[dict[str, Any], ...]
    circuit: str
    chunk_size: int
    geometry: CellGeometry | None
    eps_r: float | None
    report: bool
    track: Any
    options: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CellOutput:
    """A fitted cell: its output files (zlib-compressed bytes by name) and a short summary."""

    label: str
    files: dict[str, bytes]
    summary: dict[str, Any]


def fit_cell(job: CellJob) -> CellOutput:
    """Fit one cell in this process and return its output files (runs on a worker).

    Parameters
    ----------
    job : CellJob
        The cell's spectra (time order is found here) and the batch options.

    Returns
    -------
    CellOutput
    """
    import warnings

    from .batching import write_outputs
    from .series import fit_series
    from .series.tracks import resolve_track_names, series_tracks

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = fit_series(
            list(job.spectra),
            job.circuit,
            groups=[job.label] * len(job.spectra),
            chunk_size=job.chunk_size,
            geometry=job.geometry,
            eps_r=job.eps_r,
            failures=job.failures,
            progress=False,
            track=(),  # the tracks are made below, once the rows carry the cell label
            **job.options,
        )
        # as in a multi-cell batch: every row names its cell, kinetics and tracks are per cell
        # (a cell of a pellet and a cell is already two, series.choice.split_mixed_cells)
        if not series.sample_splits:
            series = replace(
                series,
                cells=(job.label,) * len(series),
                cell_kinetics={job.label: series.kinetics},
                main_cell=job.label,
            )
        series = replace(series, tracks=series_tracks(series, resolve_track_names(job.track)))
        fit_seconds = time.perf_counter() - t0
        provenance = {
            **job.provenance,
            "cell": job.label,
            "inputs": list(job.inputs),
            "worker": socket.gethostname(),
            "fit_seconds": round(fit_seconds, 3),
        }
        with tempfile.TemporaryDirectory(prefix="eisna-cell-") as tmp:
            write_outputs(series, Path(tmp), provenance=provenance, report=job.report)
            files = {
                p.name: zlib.compress(p.read_bytes(), 3)
                for p in sorted(Path(tmp).iterdir())
                if p.is_file() and not p.name.startswith(".")
            }
    summary = {**_summary(series, fit_seconds), "task_seconds": round(time.perf_counter() - t0, 3)}
    return CellOutput(job.label, files, summary)


def _summary(series: Any, fit_seconds: float) -> dict[str, Any]:
    """What the campaign keeps of a cell in memory and in ``campaign.json`` (a few numbers)."""
    kin = series.kinetics_summary()
    return {
        "n_spectra": len(series),
        "n_failed": series.n_failed,
        "n_interlayer": kin.get("n_interlayer"),
        "model": kin.get("model"),
        "onset_h": kin.get("onset_h"),
        "t95_h": kin.get("t95_h"),
        "R_int_final": kin.get("R_int_final"),
        "fit_seconds": round(fit_seconds, 3),  # fits, kinetics and tracks
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        # a pellet and a cell in one cell: tracked as two (only then, series.choice)
        **({"sample_splits": [s.reason for s in series.sample_splits]} if series.sample_splits else {}),
    }
