"""Tables of a :class:`~eisna.series.SeriesResult`: the ``results.csv`` rows and ``kinetics.json``.

Every derived quantity is read from the fits (:mod:`eisna.fitting.physics` computed it, with
its column name from :func:`~eisna.fitting.physics.column_name`); nothing is recomputed here.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from ..fitting.physics import asr_per_interface, column_name, dc_resistance
from .outcome import FitFailure
from .result import _INTERLAYER_COLUMNS, _none_nan

if TYPE_CHECKING:
    import pandas as pd

    from .result import SeriesResult

__all__ = ["SWEEP_COLUMNS", "kinetics_summary", "rows_frame", "series_rows"]

#: Columns of results.csv about the acquisition time within each sweep (:mod:`.sweep`), last in
#: the table: ``sweep_duration_s``, ``changed_during_sweep`` (``"R_int +12.3 %; …"``, empty
#: when nothing changed beyond its error and 5 %), and per tracked quantity Q ``Q_t_arc_h``
#: (hours at which Q was measured) and ``Q_sweep_change_pct`` (its change during the sweep).
SWEEP_COLUMNS = ("sweep_duration_s", "changed_during_sweep")
_SWEEP_SUFFIXES = ("_t_arc_h", "_sweep_change_pct")


def series_rows(series: SeriesResult) -> list[dict[str, Any]]:
    """One dict per spectrum: the ``results.csv`` row.

    The parameter columns are the series circuit's, then those of any other circuit a row was
    fitted with (``pellet_blocking``'s ``Q_el``/``n_el`` for an automatic choice in a mixed
    series, a window fallback's own parameters): each row keeps every parameter of the circuit
    in its ``model`` column, so its fitted curve can be rebuilt from the row alone.
    """
    names = series.param_names()
    for res in series.results:
        if not isinstance(res, FitFailure):
            names.extend(n for n in res.param_names if n not in names)
    rows = [
        _failed_row(series, i, res, names) if isinstance(res, FitFailure) else _fit_row(series, i, res, names)
        for i, res in enumerate(series.results)
    ]
    _add_sweep_columns(series, rows)
    return rows


def _add_sweep_columns(series: SeriesResult, rows: list[dict[str, Any]]) -> None:
    """The :data:`SWEEP_COLUMNS` of every row, from the sweeps' clocks and the tracks."""
    for i, row in enumerate(rows):
        clock = series.sweeps[i] if i < len(series.sweeps) else None
        row["sweep_duration_s"] = clock.duration_s if clock is not None else math.nan
        row["changed_during_sweep"] = ""
    changed: dict[int, list[str]] = {}
    for track in series.tracks:
        if not len(track.t_arc_h):
            continue
        for k, i in enumerate(track.rows):
            rows[i][f"{track.quantity}_t_arc_h"] = float(track.t_arc_h[k])
            rows[i][f"{track.quantity}_sweep_change_pct"] = float(track.sweep_change_pct[k])
            if track.changed_during_sweep[k]:
                changed.setdefault(int(i), []).append(f"{track.quantity} {track.sweep_change_pct[k]:+.1f} %")
    for i, parts in changed.items():
        rows[i]["changed_during_sweep"] = "; ".join(parts)


def rows_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The ``results.csv`` table of ``rows``: columns in order of appearance, the sweep columns last."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    sweep = [c for c in frame.columns if c in SWEEP_COLUMNS or str(c).endswith(_SWEEP_SUFFIXES)]
    return frame[[c for c in frame.columns if c not in sweep] + sweep]


def _failed_row(series: SeriesResult, i: int, res: FitFailure, names: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source": res.source,
        "index": res.index,
        "timestamp": res.timestamp.isoformat() if res.timestamp else None,
        "time_h": float(series.time_h[i]),
        "status": "failed",
        "reason": res.reason,
        "interlayer": None,
        "model": None,
        "model_note": "",
        "area_cm2": None,
        "area_source": None,
    }
    for n in names:
        row[n] = math.nan
        row[f"{n}_stderr"] = math.nan
    return row


def _fit_row(series: SeriesResult, i: int, res: Any, names: list[str]) -> dict[str, Any]:
    meta = res.meta or {}
    ts = meta.get("timestamp")
    row: dict[str, Any] = {
        "source": meta.get("source"),
        "index": meta.get("index"),
        "timestamp": ts.isoformat() if isinstance(ts, datetime) else ts,
        "time_h": float(series.time_h[i]),
        "status": "ok",
        "reason": "",
        "interlayer": series.interlayer[i],
        "model": res.circuit_name,
        "model_note": "; ".join(n for n in (meta.get("circuit_choice"), meta.get("fallback_reason")) if n),
        "area_cm2": meta.get("area_cm2"),
        "area_source": meta.get("area_source"),
    }
    if series.cells:
        row["cell"] = series.cells[i]
    row["time_source"] = series.time_sources.get(series.cells[i] if series.cells else None, series.time_basis)
    vals, errs = series._row_params(i)
    for n in names:
        row[n] = vals.get(n, math.nan)
        row[f"{n}_stderr"] = errs.get(n, math.nan)
    quantities = series.interlayer_quantities(i)
    row.update({c: quantities[c] for c in _INTERLAYER_COLUMNS})
    row["R_SE_ohm"] = math.nan
    row["R_dc_ohm"] = dc_resistance(res)
    for key, q in (res.derived or {}).items():  # one column per quantity, from physics.py
        col = column_name(key, q.unit)
        if col not in _INTERLAYER_COLUMNS or series.interlayer[i] is not False:
            row[col] = q.value
    row.update(
        chisqr=res.chisqr,
        redchi=res.redchi,
        aicc=res.aicc,
        bic=res.bic,
        delta_bic=float(series.delta_bic[i]),
        n_points=res.n_points,
        nfev=res.nfev,
        fit_success=bool(res.success),
        flags=";".join(res.flags),
    )
    return row


def kinetics_summary(series: SeriesResult, cell: Any = None) -> dict[str, Any]:
    """The ``kinetics.json`` content (see :meth:`SeriesResult.kinetics_summary`)."""
    labels = sorted({c for c in series.cells if c is not None}, key=str)
    if cell is None and len(labels) > 1:
        main = kinetics_summary(series, series.main_cell if series.main_cell is not None else labels[0])
        main["cells"] = {str(c): kinetics_summary(series, c) for c in labels}
        if series.sample_splits:  # a cell mixed two samples: tracked as two cells (choice.py)
            main["sample_splits"] = [s.to_dict() for s in series.sample_splits]
        return main
    mask = series._cell_mask(cell)
    ok = np.array([series.interlayer[i] is True for i in range(len(series.results))]) & mask
    summary: dict[str, Any] = {
        "cell": None if cell is None else str(cell),
        "parameter": series.interlayer_param,
        "circuit": series.circuit,
        "baseline": series.baseline,
        "time_basis": series.time_sources.get(cell, series.time_basis),
        "n_spectra": int(mask.sum()),
        "n_failed": int(sum(isinstance(series.results[i], FitFailure) for i in np.flatnonzero(mask))),
        "n_interlayer": int(ok.sum()),
        "first_detected_h": float(series.time_h[ok][0]) if ok.any() else None,
        "area_cm2": series.area_cm2,
        "eps_r_assumed": series.eps_r,
        **_window_summary(series, mask),
        "time_axis": (series.options or {}).get("track_time", "start"),
    }
    split = series.sample_split(cell) if cell is not None else None
    if split is not None:
        summary["sample_kind"] = split.kind_of(cell)
    kin = series.cell_kinetics.get(cell, series.kinetics) if cell is not None else series.kinetics
    if kin is None or kin.model == "none":
        summary.update(
            model="none",
            onset_h=None,
            onset_stderr_h=None,
            t95_h=None,
            R_int_final=0.0 if kin is not None else None,
            ASR_int_final_per_interface_ohm_cm2=0.0 if kin is not None else None,
            thickness_int_final_nm=0.0 if kin is not None else None,
            models=kin.to_dict()["models"] if kin is not None else [],
        )
        return summary
    summary.update(_final_state(series, kin, int(np.flatnonzero(ok)[-1])))
    return summary


def _window_summary(series: SeriesResult, mask: np.ndarray) -> dict[str, Any]:
    """Circuits reported (with the window fallbacks) and where the area came from."""
    circuits: dict[str, int] = {}
    fallbacks, chosen, sources = 0, 0, set()
    for i in np.flatnonzero(mask):
        res = series.results[i]
        if isinstance(res, FitFailure):
            continue
        circuits[res.circuit_name] = circuits.get(res.circuit_name, 0) + 1
        meta = res.meta or {}
        fallbacks += bool(meta.get("fallback_reason"))
        chosen += bool(meta.get("circuit_choice"))
        if meta.get("area_source"):
            sources.add(str(meta["area_source"]))
    summary = {
        "reported_circuits": circuits,
        "n_window_fallback": fallbacks,
        "area_source": "; ".join(sorted(sources)) or None,
    }
    if chosen:  # (only then: series without a blocking spectrum keep their kinetics.json)
        summary["n_auto_blocking"] = chosen
    return summary


def _final_state(series: SeriesResult, kin: Any, last: int) -> dict[str, Any]:
    """Growth law and the interlayer at the last detection (read from that fit's physics)."""
    q = series.interlayer_quantities(last)
    d = kin.to_dict()
    area = series.area_cm2
    return {
        "model": kin.model,
        "equation": d["equation"],
        "onset_h": kin.onset_h,
        "onset_stderr_h": kin.onset_stderr_h,
        "t95_h": kin.t95_h,
        "R_int_final": kin.R_final,
        "R_int_final_measured": float(series.values(series.interlayer_param)[0][last]),
        "ASR_int_final_per_interface_ohm_cm2": (
            asr_per_interface(kin.R_final, area, series._symmetric()) if area else None
        ),
        "thickness_int_final_nm": _none_nan(q["thickness_int_nm"]),
        "f0_int_final_Hz": _none_nan(q["f0_int_Hz"]),
        "C_eff_int_final_F": _none_nan(q["C_eff_int_F"]),
        "params": d["params"],
        "stderr": d["stderr"],
        "selection": d["selection"],
        "models": d["models"],
    }
