""":class:`SeriesResult`: the fits of a series in time order, with tables and kinetics summaries."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from ..fitting.physics import asr_per_interface, column_name
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
        ``"timestamp"``, ``"elapsed"`` or ``"file order"``.
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
    eps_r: float = 10.0
    interlayer_param: str = "R_int"
    options: Mapping[str, Any] = field(default_factory=dict)
    cells: tuple[Any, ...] = ()
    cell_kinetics: Mapping[Any, Any] = field(default_factory=dict)
    main_cell: Any = None

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
        """One dict per spectrum: the ``results.csv`` row."""
        names = self.param_names()
        rows = []
        for i, res in enumerate(self.results):
            row: dict[str, Any] = {}
            if isinstance(res, FitFailure):
                row.update(
                    source=res.source, index=res.index,
                    timestamp=res.timestamp.isoformat() if res.timestamp else None,
                    time_h=float(self.time_h[i]), status="failed", reason=res.reason,
                    interlayer=None, model=None,
                )
                for n in names:
                    row[n] = math.nan
                    row[f"{n}_stderr"] = math.nan
                rows.append(row)
                continue
            meta = res.meta or {}
            ts = meta.get("timestamp")
            row.update(
                source=meta.get("source"), index=meta.get("index"),
                timestamp=ts.isoformat() if isinstance(ts, datetime) else ts,
                time_h=float(self.time_h[i]), status="ok", reason="",
                interlayer=self.interlayer[i], model=res.circuit_name,
            )
            if self.cells:
                row["cell"] = self.cells[i]
            vals, errs = self._row_params(i)
            for n in names:
                row[n] = vals.get(n, math.nan)
                row[f"{n}_stderr"] = errs.get(n, math.nan)
            quantities = self.interlayer_quantities(i)
            row.update({c: quantities[c] for c in _INTERLAYER_COLUMNS})
            row["R_SE_ohm"] = math.nan
            row["R_dc_ohm"] = float(np.real(res.predict(np.array([1e-6]))[0]))
            for key, q in (res.derived or {}).items():  # one column per quantity, from physics.py
                col = column_name(key, q.unit)
                if col not in _INTERLAYER_COLUMNS or self.interlayer[i] is not False:
                    row[col] = q.value
            row.update(
                chisqr=res.chisqr, redchi=res.redchi, aicc=res.aicc, bic=res.bic,
                delta_bic=float(self.delta_bic[i]), n_points=res.n_points, nfev=res.nfev,
                fit_success=bool(res.success), flags=";".join(res.flags),
            )
            rows.append(row)
        return rows

    def to_frame(self) -> pd.DataFrame:
        """The ``results.csv`` table as a DataFrame (one row per spectrum, time order)."""
        import pandas as pd

        return pd.DataFrame(self.rows())

    def kinetics_summary(self, cell: Any = None) -> dict[str, Any]:
        """The ``kinetics.json`` content: best law, onset, t95, final R_int, ASR and thickness.

        With several cells (files or folders fitted as separate chains) the top level describes
        the cell with the most interlayer detections and ``cells`` holds one summary per cell.
        """
        labels = sorted({c for c in self.cells if c is not None}, key=str)
        if cell is None and len(labels) > 1:
            main = self.kinetics_summary(self.main_cell if self.main_cell is not None else labels[0])
            main["cells"] = {str(c): self.kinetics_summary(c) for c in labels}
            return main
        mask = self._cell_mask(cell)
        ok = np.array([self.interlayer[i] is True for i in range(len(self.results))]) & mask
        summary: dict[str, Any] = {
            "cell": None if cell is None else str(cell),
            "parameter": self.interlayer_param,
            "circuit": self.circuit,
            "baseline": self.baseline,
            "time_basis": self.time_basis,
            "n_spectra": int(mask.sum()),
            "n_failed": int(sum(isinstance(self.results[i], FitFailure) for i in np.flatnonzero(mask))),
            "n_interlayer": int(ok.sum()),
            "first_detected_h": float(self.time_h[ok][0]) if ok.any() else None,
            "area_cm2": self.area_cm2,
            "eps_r_assumed": self.eps_r,
        }
        kin = self.cell_kinetics.get(cell, self.kinetics) if cell is not None else self.kinetics
        if kin is None or kin.model == "none":
            summary.update(model="none", onset_h=None, onset_stderr_h=None, t95_h=None,
                           R_int_final=0.0 if kin is not None else None,
                           ASR_int_final_per_interface_ohm_cm2=0.0 if kin is not None else None,
                           thickness_int_final_nm=0.0 if kin is not None else None,
                           models=kin.to_dict()["models"] if kin is not None else [])
            return summary
        last = int(np.flatnonzero(ok)[-1])
        q = self.interlayer_quantities(last)
        d = kin.to_dict()
        r_meas = self.values(self.interlayer_param)[0][last]
        summary.update(
            model=kin.model,
            equation=d["equation"],
            onset_h=kin.onset_h,
            onset_stderr_h=kin.onset_stderr_h,
            t95_h=kin.t95_h,
            R_int_final=kin.R_final,
            R_int_final_measured=float(r_meas),
            ASR_int_final_per_interface_ohm_cm2=(
                asr_per_interface(kin.R_final, self.area_cm2, self._symmetric()) if self.area_cm2 else None),
            thickness_int_final_nm=_none_nan(q["thickness_int_nm"]),
            f0_int_final_Hz=_none_nan(q["f0_int_Hz"]),
            C_eff_int_final_F=_none_nan(q["C_eff_int_F"]),
            params=d["params"],
            stderr=d["stderr"],
            selection=d["selection"],
            models=d["models"],
        )
        return summary


def _none_nan(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


# interlayer columns of results.csv, always present (NaN where unknown), in this order
_INTERLAYER_COLUMNS = ("tau_int_s", "f_apex_int_Hz", "C_eff_int_F", "ASR_int_per_interface_ohm_cm2",
                       "thickness_int_nm")
