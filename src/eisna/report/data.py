"""``ReportData``: exactly what the report page shows, from a live series or an output folder.

Both constructors go through the stored analysis (:func:`eisna.analysis.analyse_series`,
``analysis.json``), so the page rendered right after a batch and the page rebuilt later by
``eisna report DIR`` come from the same data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from ..errors import EisnaError

__all__ = ["ANALYSIS_FILE", "ReportData", "StoredFailure", "StoredFit", "StoredKK"]

ANALYSIS_FILE = "analysis.json"


def _complex(pairs: Any) -> np.ndarray:
    arr = np.asarray(pairs if pairs else np.zeros((0, 2)), dtype=float).reshape(-1, 2)
    return arr[:, 0] + 1j * arr[:, 1]


def _nan(x: Any) -> float:
    return float("nan") if x is None else float(x)


@dataclass(frozen=True, eq=False)
class StoredKK:
    """A stored Lin-KK verdict: ``passed``, ``threshold`` (fraction of |Z|), residuals, ``freq`` (Hz)."""

    passed: bool
    threshold: Any
    res_re: np.ndarray
    res_im: np.ndarray
    freq: np.ndarray
    M: int | None = None
    mu: float | None = None
    reason: str = ""
    zhit_passed: bool | None = None


@dataclass(frozen=True, eq=False)
class StoredFit:
    """A stored fit record with the attributes the tables and plots read (like ``FitResult``)."""

    freq: np.ndarray
    z: np.ndarray
    z_fit: np.ndarray
    params: Mapping[str, float]
    stderr: Mapping[str, float]
    param_names: tuple[str, ...]
    derived: Mapping[str, Mapping[str, Any]]
    arcs: tuple[Mapping[str, Any], ...]
    flags: tuple[str, ...]
    redchi: float
    success: bool
    circuit_name: str | None
    meta: Mapping[str, Any]
    curve_freq: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    curve_z: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=complex))
    notes: tuple[str, ...] = ()  # physics notes (arcs counted under another role; R_SE not identified)

    def predict(self, freq: Any) -> np.ndarray:
        """The stored dense fitted curve (Ω), interpolated in log f when ``freq`` differs from it."""
        f = np.asarray(freq, dtype=float)
        if f.shape == self.curve_freq.shape and np.allclose(f, self.curve_freq, rtol=1e-12, atol=0):
            return self.curve_z
        if self.curve_freq.size < 2:
            raise ValueError("no stored fitted curve")
        x, order = np.log10(self.curve_freq), np.argsort(self.curve_freq)
        lf = np.log10(f)
        return np.interp(lf, x[order], self.curve_z.real[order]) + 1j * np.interp(
            lf, x[order], self.curve_z.imag[order]
        )

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> StoredFit:
        return cls(
            freq=np.asarray(rec["freq"], dtype=float),
            z=_complex(rec["z"]),
            z_fit=_complex(rec["z_fit"]),
            params={k: _nan(v) for k, v in rec["params"].items()},
            stderr={k: _nan(v) for k, v in (rec.get("stderr") or {}).items()},
            param_names=tuple(rec.get("param_names") or rec["params"]),
            derived={
                k: {**v, "value": _nan(v.get("value")), "stderr": _nan(v.get("stderr"))}
                for k, v in (rec.get("derived") or {}).items()
            },
            arcs=tuple(
                {
                    k: (
                        _nan(v)
                        if v is None
                        and k not in ("role", "role_ok", "name", "formula", "effective_role", "role_note")
                        else v
                    )
                    for k, v in a.items()
                }
                for a in rec.get("arcs") or ()
            ),
            flags=tuple(rec.get("flags") or ()),
            redchi=_nan(rec.get("redchi")),
            success=bool(rec.get("success", True)),
            circuit_name=rec.get("circuit_name"),
            meta={"source": rec.get("source"), "index": rec.get("index")},
            curve_freq=np.asarray(rec.get("curve_freq") or [], dtype=float),
            curve_z=_complex(rec.get("curve_z")),
            notes=tuple(str(n) for n in rec.get("notes") or ()),
        )


@dataclass(frozen=True, eq=False)
class StoredFailure:
    """A spectrum that could not be read or fitted."""

    source: str | None
    index: int | None
    reason: str
    stage: str | None = None


@dataclass(frozen=True, eq=False)
class ReportData:
    """Everything the report page shows.

    Attributes
    ----------
    title : str or None
        Page title (None: from the circuit name).
    spectra : tuple of StoredFit / StoredFailure
        One per spectrum, in series order.
    kk : tuple of StoredKK or None
        KK verdict per spectrum.
    time_h : ndarray or None
        Time of each spectrum since the first, h.
    interlayer : tuple of bool/None, or None
        Whether the series found the interlayer arc in each spectrum.
    interlayer_param : str
        Parameter shown as "0 (no arc)" where the arc is absent.
    kinetics : mapping or None
        ``kinetics.json`` content.
    provenance : mapping
        Run provenance (circuit, options, inputs with SHA-256, times, command).
    cycling : CyclingContext or None
        Cycling data of the same cell (re-read from ``cycling.json``'s file when rebuilding).
    arrhenius : object or None
        Arrhenius data for the Arrhenius plot.
    """

    title: str | None
    spectra: tuple[Any, ...]
    kk: tuple[StoredKK | None, ...]
    time_h: np.ndarray | None
    interlayer: tuple[bool | None, ...] | None
    interlayer_param: str
    kinetics: Mapping[str, Any] | None
    provenance: Mapping[str, Any]
    cycling: Any = None
    arrhenius: Any = None

    @property
    def is_series(self) -> bool:
        return self.time_h is not None

    @classmethod
    def from_analysis(cls, analysis: Mapping[str, Any], **extra: Any) -> ReportData:
        """Build from the ``analysis.json`` mapping (see :mod:`eisna.analysis`)."""
        spectra: list[Any] = []
        kk: list[StoredKK | None] = []
        for rec in analysis.get("spectra") or ():
            if rec.get("status") == "ok":
                fit = StoredFit.from_record(rec)
                spectra.append(fit)
                k = rec.get("kk")
                kk.append(
                    None
                    if not k
                    else StoredKK(
                        passed=bool(k["passed"]),
                        threshold=np.asarray(k["threshold"], dtype=float),
                        res_re=np.asarray(k["res_re"], dtype=float),
                        res_im=np.asarray(k["res_im"], dtype=float),
                        freq=fit.freq,
                        M=k.get("M"),
                        mu=k.get("mu"),
                        reason=str(k.get("reason") or ""),
                        zhit_passed=k.get("zhit_passed"),
                    )
                )
            else:
                spectra.append(
                    StoredFailure(
                        rec.get("source"),
                        rec.get("index"),
                        str(rec.get("reason") or "failed"),
                        rec.get("stage"),
                    )
                )
                kk.append(None)
        time_h = analysis.get("time_h")
        interlayer = analysis.get("interlayer")
        return cls(
            title=analysis.get("title"),
            spectra=tuple(spectra),
            kk=tuple(kk),
            time_h=None if time_h is None else np.array([_nan(t) for t in time_h]),
            interlayer=None if interlayer is None else tuple(interlayer),
            interlayer_param=analysis.get("interlayer_param") or "R_int",
            kinetics=analysis.get("kinetics"),
            provenance=dict(analysis.get("provenance") or {}),
            **extra,
        )

    @classmethod
    def from_series(
        cls,
        series: Any,
        *,
        kinetics: Any = None,
        provenance: Mapping[str, Any] | None = None,
        title: str | None = None,
        kk: Sequence[Any] | None = None,
        analysis: Mapping[str, Any] | None = None,
        cycling: Any = None,
        arrhenius: Any = None,
    ) -> ReportData:
        """Build from a live series, through the same JSON form that ``analysis.json`` stores."""
        from ..analysis import analyse_series
        from ..batching import dump_bytes

        if analysis is None:
            analysis = analyse_series(series, kinetics=kinetics, provenance=provenance, title=title, kk=kk)
        stored = orjson.loads(
            dump_bytes(analysis, compact=True)
        )  # exactly what a rebuild from the folder reads
        if title is not None:
            stored["title"] = title
        return cls.from_analysis(stored, cycling=cycling, arrhenius=arrhenius)

    @classmethod
    def from_folder(
        cls, folder: str | os.PathLike[str], *, cycling: Any = None, arrhenius: Any = None
    ) -> ReportData:
        """Build from the ``analysis.json`` that ``eisna batch`` wrote into ``folder``."""
        path = Path(folder) / ANALYSIS_FILE
        try:
            analysis = orjson.loads(path.read_bytes())
        except (OSError, ValueError) as err:
            raise EisnaError(f"{path}: cannot be read ({err}); re-run 'eisna batch' to rewrite it.") from err
        if not isinstance(analysis, Mapping) or analysis.get("format") != 1:
            raise EisnaError(
                f"{path}: expected an eisna analysis (format 1); re-run 'eisna batch' to rewrite it."
            )
        return cls.from_analysis(analysis, cycling=cycling, arrhenius=arrhenius)


# ----------------------------------------------------------------------------- cycling
TRACE_POINTS = 4000  # stored voltage points at most: min and max of 2000 time bins


def _decimated_trace(time_s: np.ndarray, voltage: np.ndarray, points: int = TRACE_POINTS) -> dict[str, list]:
    """Voltage against time with at most ``points`` points: the min and max of each time bin.

    Keeping both extremes of each bin keeps the spikes and drops (soft shorts) that a plain
    sub-sample would miss.
    """
    keep = np.isfinite(time_s) & np.isfinite(voltage)
    t, v = time_s[keep], voltage[keep]
    if t.size > points:
        edges = np.linspace(0, t.size, points // 2 + 1).astype(int)
        picks = []
        for lo, hi in pairwise(edges):
            if hi > lo:
                a, b = lo + int(np.argmin(v[lo:hi])), lo + int(np.argmax(v[lo:hi]))
                picks.extend(sorted({a, b}))
        t, v = t[picks], v[picks]
    return {"time_s": t.tolist(), "voltage_V": v.tolist()}


def cycling_record(context: Any) -> dict[str, Any]:
    """What the cycling figure needs, for ``cycling.json``: the voltage trace and |η| per half cycle.

    Parameters
    ----------
    context : CyclingContext
        From :func:`eisna.cycling.cycling_context`.

    Returns
    -------
    dict
        ``trace`` (``time_s`` in s, ``voltage_V`` in V, at most :data:`TRACE_POINTS` points) and
        ``half_cycles`` (``time_h`` in h, ``overpotential_V`` in V), added to
        ``context.to_dict()`` by the batch so that ``eisna report DIR`` only renders.
    """
    data = context.data
    hc = context.summary.half_cycles
    column = {c: np.asarray(hc[c], dtype=float) for c in ("time_h", "overpotential_V") if c in hc.columns}
    return {
        "trace": _decimated_trace(
            np.asarray(data["time_s"], dtype=float), np.asarray(data["voltage_V"], dtype=float)
        ),
        "half_cycles": {k: [None if not np.isfinite(x) else float(x) for x in v] for k, v in column.items()},
    }


@dataclass(frozen=True, eq=False)
class StoredCycling:
    """A cycling context rebuilt from ``cycling.json`` (shaped like ``CyclingContext`` for the report).

    ``data`` holds the stored voltage trace, ``summary`` the half cycles and events; ``to_dict()``
    returns the stored record.
    """

    source: str
    data: Mapping[str, Any]
    summary: Mapping[str, Any]
    eis_offset_h: float | None
    record: Mapping[str, Any]

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> StoredCycling | None:
        """The stored context, or None for a ``cycling.json`` written before the trace was stored."""
        trace, halves = record.get("trace"), record.get("half_cycles")
        if not isinstance(trace, Mapping) or not isinstance(halves, Mapping):
            return None
        return cls(
            source=str(record.get("source") or ""),
            data={k: np.asarray(trace.get(k) or [], dtype=float) for k in ("time_s", "voltage_V")},
            summary={
                "half_cycles": {
                    k: np.asarray([np.nan if x is None else x for x in v], dtype=float)
                    for k, v in halves.items()
                },
                "events": list(record.get("events") or ()),
            },
            eis_offset_h=record.get("eis_offset_h"),
            record=record,
        )

    def to_dict(self) -> dict[str, Any]:
        """The stored record (what ``cycling.json`` holds)."""
        return dict(self.record)
