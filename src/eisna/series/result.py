""":class:`SeriesResult`: the fits of a series in time order, with tables and kinetics summaries."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from ..fitting.physics import column_name
from .ordering import earliest
from .outcome import FitFailure, SpectrumOutcome

if TYPE_CHECKING:
    import pandas as pd

    from ..kinetics import KineticsResult


@dataclass(frozen=True)
class SeriesResult:
    """Fits of a time series of spectra.

    Attributes
    ----------
    results : tuple
        Per spectrum in time order: the reported :class:`~eisna.FitResult` (full circuit when
        the interlayer is present, baseline otherwise) or a :class:`FitFailure`.
    time_h : ndarray
        Hours since the first spectrum of the same cell (NaN for unreadable files).
    time_basis : str
        ``"timestamp"``, ``"elapsed"``, ``"interval"`` or ``"file order"`` (``"mixed"`` when
        cells differ).
    time_sources : mapping
        Cell label (None for one cell) -> the time basis of that cell's own clock.
    interlayer : ndarray of object
        True/False per spectrum, None where undecided (failed, or no baseline circuit).
    delta_bic : ndarray
        BIC(full) − BIC(baseline) per spectrum (NaN when not compared).
    kinetics : KineticsResult or None
        Growth laws fitted to R_int(t); None when no baseline comparison was made.
    circuit, baseline : str
        Circuit names.
    outcomes : tuple of SpectrumOutcome
        Both fits and the decision per spectrum.
    area_cm2, thickness_cm, eps_r : float or None
        Geometry and the interlayer permittivity assumed for thicknesses.
    tracks : tuple of Track
        Every tracked quantity of every cell with its growth law (:mod:`.tracks`).
    sweeps : tuple of SweepClock or None
        Per spectrum, the acquisition time of each point of its sweep (None for failed rows and
        readers without per-point times; :mod:`.sweep`).
    sample_splits : tuple of SampleSplit
        Cells of the automatic choice whose spectra split into blocking-electrode spectra and
        others, tracked as two cells (:func:`eisna.series.choice.split_mixed_cells`); empty
        otherwise.
    """

    results: tuple[Any, ...]
    time_h: np.ndarray
    time_basis: str
    interlayer: np.ndarray
    delta_bic: np.ndarray
    kinetics: KineticsResult | None
    circuit: str
    baseline: str | None
    outcomes: tuple[SpectrumOutcome, ...] = field(repr=False, default=())
    area_cm2: float | None = None
    thickness_cm: float | None = None
    eps_r: float | None = 10.0
    interlayer_param: str = "R_int"
    options: Mapping[str, Any] = field(default_factory=dict)
    cells: tuple[Any, ...] = ()
    cell_kinetics: Mapping[Any, Any] = field(default_factory=dict)
    main_cell: Any = None
    tracks: tuple[Any, ...] = ()
    time_sources: Mapping[Any, str] = field(default_factory=dict)
    sweeps: tuple[Any, ...] = field(repr=False, default=())
    sample_splits: tuple[Any, ...] = ()

    def sample_split(self, cell: Any) -> Any:
        """The :class:`~eisna.series.choice.SampleSplit` that made ``cell``, or None."""
        return next((s for s in self.sample_splits if s.kind_of(cell)), None)

    def _cell_mask(self, cell: Any = None) -> np.ndarray:
        n = len(self.results)
        if cell is None or not self.cells:
            return np.ones(n, dtype=bool)
        return np.array([c == cell for c in self.cells], dtype=bool)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def start_time(self) -> datetime | None:
        """Absolute time of the first spectrum (of the main cell), or None without timestamps."""
        mask = self._cell_mask(self.main_cell)
        stamps = []
        for r, keep in zip(self.results, mask, strict=True):
            ts = getattr(r, "timestamp", None)
            if ts is None:
                ts = (getattr(r, "meta", None) or {}).get("timestamp")
            if keep:
                stamps.append(ts)
        return earliest(stamps)

    @property
    def n_failed(self) -> int:
        return sum(isinstance(r, FitFailure) for r in self.results)

    def param_names(self) -> list[str]:
        """Parameters of the full circuit (the columns of :meth:`to_frame`)."""
        for o in self.outcomes:
            for r in (o.full, o.base, o.result):
                if r is not None and not isinstance(r, FitFailure) and r.circuit_name == self.circuit:
                    return list(r.param_names)
        for r in self.results:
            if not isinstance(r, FitFailure):
                return list(r.param_names)
        return []

    def values(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Value and standard error of parameter ``name`` per spectrum (R_int = 0 where absent)."""
        rows = [self._row_params(i) for i in range(len(self.results))]
        v = np.array([r[0].get(name, math.nan) for r in rows], dtype=float)
        e = np.array([r[1].get(name, math.nan) for r in rows], dtype=float)
        return v, e

    def _row_params(self, i: int) -> tuple[dict[str, float], dict[str, float]]:
        res = self.results[i]
        if isinstance(res, FitFailure):
            return {}, {}
        vals = dict(res.params)
        errs = {k: float(v) for k, v in res.stderr.items()}
        if self.interlayer[i] is False:
            p = self.interlayer_param
            vals[p] = 0.0
            errs[p] = self.outcomes[i].min_interlayer_ohm if self.outcomes else math.nan
        return vals, errs

    def interlayer_quantities(self, i: int) -> dict[str, float]:
        """τ, f_apex, C_eff, per-interface ASR and thickness of the interlayer arc (SI/lab units).

        Read from the fit's derived quantities (:mod:`eisna.fitting.physics`), never recomputed;
        0 for the ASR and the thickness where the arc is absent. ``f0_int_Hz`` is kept as an alias
        of the apex frequency for callers of this method (results.csv holds ``f_apex_int_Hz``).
        """
        out = dict.fromkeys(_INTERLAYER_COLUMNS, math.nan)
        res = self.results[i]
        if isinstance(res, FitFailure):
            pass
        elif self.interlayer[i] is False:
            out["ASR_int_per_interface_ohm_cm2"] = 0.0
            out["thickness_int_nm"] = 0.0
        else:
            for key, q in (res.derived or {}).items():
                col = column_name(key, q.unit)
                if col in out:
                    out[col] = q.value
        out["f0_int_Hz"] = out["f_apex_int_Hz"]
        return out

    def _symmetric(self) -> bool:
        for r in self.results:
            if not isinstance(r, FitFailure):
                return bool(r.circuit.symmetric)
        return True

    def rows(self) -> list[dict[str, Any]]:
        """One dict per spectrum: the ``results.csv`` row (see :func:`.export.series_rows`)."""
        from .export import series_rows

        return series_rows(self)

    def to_frame(self) -> pd.DataFrame:
        """The ``results.csv`` table as a DataFrame (one row per spectrum, time order)."""
        from .export import rows_frame

        return rows_frame(self.rows())

    def tracks_frame(self) -> pd.DataFrame:
        """The ``tracks.csv`` table: one row per cell and tracked quantity."""
        import pandas as pd

        from .tracks import TRACK_COLUMNS

        # sample_kind only when a cell mixed blocking-electrode spectra with others (choice.py)
        extra = ["sample_kind"] if any(getattr(t, "sample_kind", "") for t in self.tracks) else []
        return pd.DataFrame([t.summary() for t in self.tracks], columns=[*TRACK_COLUMNS, *extra])

    def kinetics_summary(self, cell: Any = None) -> dict[str, Any]:
        """The ``kinetics.json`` content: best law, onset, t95, final R_int, ASR and thickness.

        With several cells (files or folders fitted as separate chains) the top level describes
        the cell with the most interlayer detections and ``cells`` holds one summary per cell
        (see :func:`.export.kinetics_summary`).
        """
        from .export import kinetics_summary

        return kinetics_summary(self, cell)


def _none_nan(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


# interlayer columns of results.csv, always present (NaN where unknown), in this order
_INTERLAYER_COLUMNS = (
    "tau_int_s",
    "f_apex_int_Hz",
    "C_eff_int_F",
    "ASR_int_per_interface_ohm_cm2",
    "thickness_int_nm",
)
