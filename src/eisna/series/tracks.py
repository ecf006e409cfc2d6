"""Tracked quantities of a series: any ``results.csv`` column over time, with its growth law.

A :class:`Track` follows one quantity of one cell (its own clock, starting at 0) and fits the
growth laws of :func:`eisna.kinetics.fit_kinetics` to it (onset, t95, plateau, AICc ranking).
By default every arc resistance the data identify, R_SE (bulk + grain boundary) and the total
resistance R_dc are tracked. An arc resistance whose split is not identified across the series
(flagged unidentifiable or at a bound in most spectra, scattering much more than the sum it
belongs to, or with its apex frequency outside the measured window in many spectra) is replaced
by the identifiable combination, and the track says so in ``note``. Any other arc whose apex
lies outside the window in many spectra is left to the total R_dc, with a note.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..fitting.physics import interfacial_resistances
from .outcome import FitFailure

if TYPE_CHECKING:
    from ..kinetics import KineticsResult
    from .result import SeriesResult

__all__ = [
    "TRACK_ALIASES",
    "TRACK_COLUMNS",
    "Track",
    "median_jump_pct",
    "resolve_track_names",
    "se_sum_note",
    "series_tracks",
]

TRACK_COLUMNS = (
    "cell",
    "quantity",
    "unit",
    "model",
    "onset_h",
    "t95_h",
    "first",
    "final",
    "change_pct",
    "n",
    "median_jump_pct",
    "note",
    "n_changed_during_sweep",
    "max_sweep_change_pct",
)
# user names -> results.csv columns
TRACK_ALIASES = {"R_SE": "R_SE_ohm", "R_total": "R_dc_ohm", "R_dc": "R_dc_ohm"}
_UNITS = {"R_SE_ohm": "Ω", "R_dc_ohm": "Ω"}
# the split of bulk and grain boundary is judged against their sum
_SE_PARTS = ("R_b", "R_gb")
# a split is "not identified" when this fraction of spectra flag it, or its median neighbour jump
# exceeds both this limit and twice the jump of the sum
_FLAGGED_FRACTION = 0.3
_JUMP_LIMIT_PCT = 10.0


@dataclass(frozen=True)
class Track:
    """One quantity of one cell followed through time.

    Attributes
    ----------
    cell : str or None
        Cell label (None for a single-cell series).
    quantity : str
        The ``results.csv`` column it follows (``R_ct``, ``R_SE_ohm``, ``R_dc_ohm``…).
    unit : str
        Unit of the values (Ω).
    t_h, values, stderr : ndarray
        Hours on the cell's own clock, values and 1σ errors (NaN when unknown), fitted rows only.
    kinetics : KineticsResult or None
        Growth laws fitted to the values (None with fewer than 6 points or when the fit failed).
    note : str
        Why the quantity is tracked this way (e.g. a split replaced by the identifiable sum).
    identified : bool
        False when the quantity sits at a bound or is unidentifiable in ``_FLAGGED_FRACTION`` of
        the spectra (R_SE whose every part is flagged): no growth law, and first → final is no
        trajectory.
    rows : ndarray of int
        Position of each value in the series (``SeriesResult.results``).
    t_arc_h : ndarray
        Hours at which the quantity was measured within each sweep (``t_h`` plus the delay of
        its arc, :mod:`eisna.series.sweep`); NaN without per-point times.
    sweep_change_pct : ndarray
        Change of the quantity between the sweep's start and its measurement, % of the value
        (NaN when unknown).
    changed_during_sweep : ndarray of bool
        True where |sweep_change_pct| exceeds both the value's relative standard error and
        :data:`eisna.series.sweep.FLOOR_PCT`: the spectrum is not stationary for this quantity.
    time_axis : str
        ``"start"`` when the growth law (onset, t95) is on ``t_h``, ``"arc"`` when it is on
        ``t_arc_h`` (``fit_series(track_time="arc")``).
    sample_kind : str
        ``"blocking"`` or ``"non-blocking"`` when the cell is one part of a cell that mixed
        blocking-electrode spectra with others (two samples, tracked apart:
        :func:`eisna.series.choice.split_mixed_cells`); empty otherwise. Then the ``tracks.csv``
        column ``sample_kind`` and the track's ``note`` say so.
    """

    cell: Any
    quantity: str
    unit: str
    t_h: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    stderr: np.ndarray = field(repr=False)
    kinetics: KineticsResult | None = None
    note: str = ""
    identified: bool = True
    rows: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=int))
    t_arc_h: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    sweep_change_pct: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    changed_during_sweep: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=bool))
    time_axis: str = "start"
    sample_kind: str = ""

    @property
    def model(self) -> str:
        """Best growth law (``"none"`` for no growth or no kinetics)."""
        return self.kinetics.model if self.kinetics is not None else "none"

    def _ends(self) -> tuple[np.ndarray, int]:
        v = self.values[np.isfinite(self.values)]
        return v, max(1, min(3, v.size // 3))

    @property
    def first(self) -> float:
        """Median of the first three values (robust against one outlying spectrum; the first value
        alone below 6 spectra, two below 9)."""
        v, k = self._ends()
        return float(np.median(v[:k])) if v.size else math.nan

    @property
    def final(self) -> float:
        """Median of the last three values (as :attr:`first`)."""
        v, k = self._ends()
        return float(np.median(v[-k:])) if v.size else math.nan

    @property
    def change_pct(self) -> float:
        """Relative change from :attr:`first` to :attr:`final` in %."""
        a, b = self.first, self.final
        return 100.0 * (b - a) / abs(a) if a and np.isfinite(a) and np.isfinite(b) else math.nan

    @property
    def n(self) -> int:
        """Number of spectra with a finite value."""
        return int(np.isfinite(self.values).sum())

    @property
    def sparse(self) -> bool:
        """True when the quantity exists in under half the cell's spectra (or under three): the
        other spectra were fitted with a circuit without it, so first → final is no trajectory."""
        return self.n < max(3, 0.5 * self.values.size)

    @property
    def max_sweep_change_pct(self) -> float:
        """The largest change during one sweep in % (signed; NaN without per-point times)."""
        p = np.asarray(self.sweep_change_pct, dtype=float)
        p = p[np.isfinite(p)]
        return float(p[np.argmax(np.abs(p))]) if p.size else math.nan

    @property
    def median_jump_pct(self) -> float:
        """Median relative change between neighbouring spectra in % (the scatter)."""
        return median_jump_pct(self.values)

    def summary(self) -> dict[str, Any]:
        """The ``tracks.csv`` row."""
        kin = self.kinetics
        return {
            "cell": self.cell,
            "quantity": self.quantity,
            "unit": self.unit,
            "model": self.model,
            "onset_h": kin.onset_h if kin is not None and self.model != "none" else None,
            "t95_h": kin.t95_h if kin is not None and self.model != "none" else None,
            "first": self.first,
            "final": self.final,
            "change_pct": self.change_pct,
            "n": self.n,
            "median_jump_pct": self.median_jump_pct,
            "note": self.note,
            "n_changed_during_sweep": int(np.count_nonzero(self.changed_during_sweep)),
            "max_sweep_change_pct": self.max_sweep_change_pct,
            **({"sample_kind": self.sample_kind} if self.sample_kind else {}),
        }

    def to_dict(self) -> dict[str, Any]:
        """Summary, trajectory and the growth-law table (for ``results.json``/``kinetics.json``)."""
        out = self.summary()
        out.update(
            t_h=self.t_h.tolist(),
            values=self.values.tolist(),
            stderr=self.stderr.tolist(),
            kinetics=self.kinetics.to_dict() if self.kinetics is not None else None,
            law_t_h=None,
            law_values=None,
            t_arc_h=np.asarray(self.t_arc_h, float).tolist(),
            sweep_change_pct=np.asarray(self.sweep_change_pct, float).tolist(),
            changed_during_sweep=[bool(x) for x in self.changed_during_sweep],
            time_axis=self.time_axis,
        )
        best = getattr(self.kinetics, "best", None)
        axis = self.t_arc_h if self.time_axis == "arc" and len(self.t_arc_h) else self.t_h
        t = axis[np.isfinite(axis)]
        if best is not None and self.model != "none" and t.size:
            grid = np.linspace(float(t.min()), float(t.max()), 120)
            out.update(law_t_h=grid.tolist(), law_values=np.asarray(best.predict(grid), float).tolist())
        return out


def median_jump_pct(values: Sequence[float] | np.ndarray) -> float:
    """Median of |v[i+1] − v[i]| / |v[i]| over neighbouring finite values, in %."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return math.nan
    prev = v[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        jumps = np.abs(np.diff(v)) / np.abs(prev)
    jumps = jumps[np.isfinite(jumps)]
    return float(100.0 * np.median(jumps)) if jumps.size else math.nan


def resolve_track_names(track: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """``"R_SE,R_ct"`` or a list -> ``results.csv`` column names; None keeps the default set."""
    if track is None:
        return None
    names = track.split(",") if isinstance(track, str) else list(track)
    return tuple(TRACK_ALIASES.get(n.strip(), n.strip()) for n in names if n.strip())


def _resistances(series: SeriesResult) -> list[str]:
    """Resistances of the full circuit's arcs and diffusion element (``R_*`` except R_s)."""
    return [n for n in series.param_names() if n.startswith("R_") and n not in ("R_s", "R_0")]


def _column(series: SeriesResult, name: str, rows: list[int]) -> tuple[np.ndarray, np.ndarray, float]:
    """Values, σ and the fraction of fitted spectra flagging ``name`` (at a bound or unidentifiable)."""
    vals, errs, flagged, n = [], [], 0, 0
    for i in rows:
        res = series.results[i]
        if isinstance(res, FitFailure):
            vals.append(math.nan)
            errs.append(math.nan)
            continue
        n += 1
        v, e = _value(series, i, res, name)
        vals.append(v)
        errs.append(e)
        if any(str(f).split(":", 1)[-1] == name for f in res.flags if ":" in str(f)):
            flagged += 1
    return np.asarray(vals, float), np.asarray(errs, float), flagged / n if n else 0.0


def _se_flagged_fraction(series: SeriesResult, rows: list[int]) -> float:
    """Fraction of the fitted spectra whose R_SE parts (R_b, R_gb, those the circuit has) are
    all flagged at a bound or unidentifiable, so that R_SE holds no identified resistance."""
    flagged, n = 0, 0
    for i in rows:
        res = series.results[i]
        if isinstance(res, FitFailure):
            continue
        interfacial = interfacial_resistances(res)  # not in R_SE (physics.effective_role)
        parts = [p for p in _SE_PARTS if p in res.params and p not in interfacial]
        if not parts:
            continue
        n += 1
        marked = {str(f).split(":", 1)[-1] for f in res.flags if ":" in str(f)}
        flagged += all(p in marked for p in parts)
    return flagged / n if n else 0.0


def _value(series: SeriesResult, i: int, res: Any, name: str) -> tuple[float, float]:
    if name == "R_dc_ohm":
        from ..fitting.physics import dc_resistance

        return dc_resistance(res), _total_stderr(res)
    if name == "R_SE_ohm":
        q = (res.derived or {}).get("R_SE")  # σ from the covariance (physics.py)
        return (float(q.value), float(q.stderr)) if q is not None else (math.nan, math.nan)
    vals, errs = series._row_params(i)
    if name in vals or name == series.interlayer_param:
        return float(vals.get(name, math.nan)), float(errs.get(name, math.nan))
    row = _table(series)[i]  # any other results.csv column (derived quantities)
    value = row.get(name)
    return (
        float(value) if isinstance(value, (int, float)) else math.nan,
        float(row.get(f"{name}_stderr", math.nan)),
    )


_TABLES: dict[int, list[dict[str, Any]]] = {}


def _table(series: SeriesResult) -> list[dict[str, Any]]:
    """The results.csv rows, built once per call of :func:`series_tracks`."""
    key = id(series)
    if key not in _TABLES:
        _TABLES.clear()
        _TABLES[key] = series.rows()
    return _TABLES[key]


def _total_stderr(res: Any) -> float:
    """σ of the sum of every resistance, from the covariance (σ_i σ_j ρ_ij)."""
    names = [n for n in res.param_names if n.startswith("R_")]
    idx = [res.param_names.index(n) for n in names]
    s = np.array([res.stderr.get(n, math.nan) for n in names], dtype=float)
    if not np.all(np.isfinite(s)):
        return math.nan
    corr = np.asarray(res.correlation, dtype=float) if res.correlation is not None else None
    if corr is None or corr.shape[0] < max(idx, default=-1) + 1:
        return float(np.sqrt(np.sum(s**2)))
    c = np.nan_to_num(corr[np.ix_(idx, idx)], nan=0.0)
    np.fill_diagonal(c, 1.0)
    return float(np.sqrt(max(s @ c @ s, 0.0)))


def _cells(series: SeriesResult) -> list[Any]:
    if not series.cells:
        return [None]
    return sorted({c for c in series.cells if c is not None}, key=str)


def series_tracks(series: SeriesResult, track: Sequence[str] | None = None) -> tuple[Track, ...]:
    """Tracks of every cell: the requested columns, or the default set (see module docstring)."""
    from ..kinetics import KineticsError
    from .sweep import arc_time_h, delays_s

    out: list[Track] = []
    _TABLES.clear()
    arcs = _resistances(series)
    for cell in _cells(series):
        rows = [int(i) for i in np.flatnonzero(series._cell_mask(cell)) if np.isfinite(series.time_h[i])]
        if not rows:
            continue
        split = series.sample_split(cell)  # one kind of a cell that mixed two samples
        kind = split.kind_of(cell) if split is not None else ""
        t = series.time_h[rows]
        axis = (series.options or {}).get("track_time", "start")
        names = list(track) if track is not None else [*arcs, "R_SE_ohm", "R_dc_ohm"]
        columns = {n: _column(series, n, rows) for n in names}
        delays = delays_s(series, names, rows)  # when each quantity was measured in its sweep
        apex = {p: _apex_outside_fraction(series, p, rows) for p in arcs if p in columns}
        se_words = _se_words(series, rows) if "R_SE_ohm" in columns else ""
        notes = {} if track is not None else _unidentified_splits(columns, apex, se_words)
        if se_words and "R_SE_ohm" not in notes:  # a part counted as interfacial: say what R_SE is
            notes["R_SE_ohm"] = se_words
        se_flagged = _se_flagged_fraction(series, rows) if "R_SE_ohm" in columns else 0.0
        if track is None:
            notes.update(_arcs_outside_window(columns, apex, series.interlayer_param))
        for name in names:
            if name in notes and notes[name] is None:
                continue  # replaced by the identifiable combination
            v, e, _ = columns[name]
            if not np.isfinite(v).any():
                continue
            note = notes.get(name) or ""
            if split is not None:
                note = "; ".join(filter(None, [split.track_note(cell), note]))
            n_found = int(np.isfinite(v).sum())
            if n_found < max(3, 0.5 * v.size):
                note = "; ".join(filter(None, [note, f"only in {n_found} of {v.size} spectra"]))
            kin = None
            identified = not (name == "R_SE_ohm" and se_flagged >= _FLAGGED_FRACTION)
            if not identified:
                # R_b (+ R_gb) all at a bound or unidentifiable: the "sum" is a bound, and its
                # change (1 mΩ → 386 Ω across circuits) no growth
                note = "; ".join(
                    filter(
                        None,
                        [
                            note,
                            f"R_SE not identified in {100 * se_flagged:.0f} % of spectra (every part at a "
                            "bound or unidentifiable): no growth law",
                        ],
                    )
                )
            elif name == series.interlayer_param and series.baseline is not None:
                kin = series.cell_kinetics.get(cell, series.kinetics) if cell is not None else series.kinetics
            elif np.isfinite(v).sum() >= 6:
                keep = ~_outliers(v)
                if (~keep & np.isfinite(v)).any():
                    note = "; ".join(
                        filter(
                            None,
                            [
                                note,
                                f"{int((~keep & np.isfinite(v)).sum())} outlying "
                                "spectra left out of the growth law",
                            ],
                        )
                    )
                try:
                    # unweighted: fit σ of real spectra range over decades (an unidentified
                    # Warburg inflates some) and do not describe the scatter between neighbours
                    t_fit = arc_time_h(t, delays[name]) if axis == "arc" else t
                    kin = _growth_laws(t_fit[keep], v[keep])
                except KineticsError:
                    kin = None
            out.append(
                Track(
                    cell,
                    name,
                    _UNITS.get(name, "Ω"),
                    t,
                    v,
                    e,
                    kin,
                    note,
                    identified,
                    np.asarray(rows),
                    **_sweep_fields(delays[name], t, v, e, kin if identified else _UNKNOWN),
                    time_axis=axis,
                    sample_kind=kind,
                )
            )
    _TABLES.clear()
    return tuple(out)


_UNKNOWN = object()  # no trajectory to read a change from (a quantity that is not identified)


def _sweep_fields(
    delay: np.ndarray, t: np.ndarray, v: np.ndarray, e: np.ndarray, kin: Any
) -> dict[str, np.ndarray]:
    """``t_arc_h``, ``sweep_change_pct`` and ``changed_during_sweep`` of one track (sweep.py)."""
    from .sweep import changed_during_sweep, sweep_change_pct

    pct = np.full(delay.size, math.nan) if kin is _UNKNOWN else sweep_change_pct(t, v, delay, kin)
    return {
        "t_arc_h": t + delay / 3600.0,
        "sweep_change_pct": pct,
        "changed_during_sweep": changed_during_sweep(pct, v, e),
    }


_SCREEN = ("linear", "parabolic")  # cheap laws (no non-linear parameter besides the onset)


def _growth_laws(t: np.ndarray, v: np.ndarray) -> KineticsResult:
    """All laws, but only after the cheap ones show a trend (a constant wins the screen: done).

    The saturating and logarithmic laws cost ~100× more; a quantity that does not move beats
    neither the linear nor the parabolic law and is reported without growth at once. (The
    screen's laws are not fitted again for the full table: :func:`eisna.kinetics.screened_kinetics`.)
    """
    from ..kinetics import screened_kinetics

    kin = screened_kinetics(t, v, _SCREEN)
    return kin if kin.model == "none" else _clear_trend(kin, t, v)


# a law is reported only when it beats the constant by this AICc margin (ΔAICc ≥ 4: "clearly
# better", so two fits of the same data do not fall on either side of the decision) ...
_AICC_MARGIN = 4.0
# ... and its change over the series exceeds this multiple of the scatter between neighbours
_SCATTER_MULTIPLE = 2.0


def _clear_trend(kin: KineticsResult, t: np.ndarray, v: np.ndarray) -> KineticsResult:
    """``kin``, or its constant (``"none"``) reading when the best law is not clearly a trend."""
    constant = next((f for f in kin.table if f.name == "constant"), None)
    if kin.model == "none" or kin.best is None or constant is None:
        return kin
    ends = kin.best.predict(np.array([float(np.min(t)), float(np.max(t))]))
    change = abs(float(ends[1] - ends[0]))
    w = np.asarray(v, float)[np.isfinite(v)]
    scatter = 1.4826 * float(np.median(np.abs(np.diff(w)))) / math.sqrt(2) if w.size > 2 else 0.0
    if constant.delta_aicc >= _AICC_MARGIN and change > _SCATTER_MULTIPLE * scatter:
        return kin
    table = (constant, *(f for f in kin.table if f is not constant))
    return dataclasses.replace(
        kin,
        model="none",
        onset_h=None,
        onset_stderr_h=None,
        t95_h=None,
        R_final=float(constant.params["R0"]),
        best=None,
        table=table,
    )


def _outliers(values: np.ndarray, k: float = 5.0) -> np.ndarray:
    """True where a value lies more than ``k`` robust σ from the median of its 5 neighbours."""
    v = np.asarray(values, float)
    out = np.zeros(v.size, dtype=bool)
    idx = np.flatnonzero(np.isfinite(v))
    if idx.size < 6:
        return out
    w = v[idx]
    # the median of each full window of 5 at once (its middle value: exact); the two windows
    # cut short at each end (3 and 4 values) one by one
    n = w.size
    local = np.empty(n)
    local[2 : n - 2] = np.median(np.lib.stride_tricks.sliding_window_view(w, 5), axis=1)
    for i in (0, 1, n - 2, n - 1):
        local[i] = np.median(w[max(0, i - 2) : i + 3])
    resid = w - local
    spread = 1.4826 * float(np.median(np.abs(resid)))
    if spread > 0:
        out[idx] = np.abs(resid) > k * spread
    return out


def _apex_outside_fraction(series: SeriesResult, name: str, rows: list[int]) -> float:
    """Fraction of fitted spectra whose arc with resistance ``name`` has its apex frequency
    (f_apex = 1/(2πτ), Hz) outside [fmin, fmax] of the fitted spectrum (0 when unknown).

    A diffusion element's resistance counts when the element relaxes above fmax: it then stands
    in for the ohmic intercept (R_W trades against R_b). Below the window its R_W/√τ_W is what
    the data give and it is left as it is.
    """
    from ..fitting.physics import diffusion_apexes

    outside, n = 0, 0
    for i in rows:
        res = series.results[i]
        if isinstance(res, FitFailure) or name not in res.params:
            continue
        arc = _arc_of(res, name)
        freq = np.asarray(res.freq, dtype=float)
        if freq.size == 0:
            continue
        if arc is None:
            values = np.array([float(res.params[p]) for p in res.circuit.param_names])
            _, f_apex = diffusion_apexes(res.circuit, values).get(name, ("", math.nan))
            if np.isfinite(f_apex):
                n += 1
                outside += f_apex > float(np.max(freq))
            continue
        if not np.isfinite(arc.f_apex):
            continue
        n += 1
        if not float(np.min(freq)) <= float(arc.f_apex) <= float(np.max(freq)):
            outside += 1
    return outside / n if n else 0.0


def _arc_of(res: Any, name: str) -> Any:
    """The arc of ``res`` whose resistance is the parameter ``name`` (None when there is none)."""
    value = float(res.params[name])
    for arc in res.arcs:
        if math.isfinite(arc.R) and math.isclose(arc.R, value, rel_tol=1e-9, abs_tol=1e-15):
            return arc
    return None


def _arcs_outside_window(
    columns: dict[str, tuple[np.ndarray, np.ndarray, float]], apex: dict[str, float], keep: str | None
) -> dict[str, str | None]:
    """Arc resistances (other than bulk, grain boundary and ``keep``) whose apex lies outside the
    measured window in ``_FLAGGED_FRACTION`` of the spectra: dropped, the total R_dc tracked."""
    out: dict[str, str | None] = {}
    reasons = []
    for part, outside in apex.items():
        if part in _SE_PARTS or part == keep or outside < _FLAGGED_FRACTION:
            continue
        out[part] = None
        reasons.append(f"{part} apex outside the measured window in {100 * outside:.0f} % of spectra")
    if out and "R_dc_ohm" in columns:
        out["R_dc_ohm"] = f"{'; '.join(reasons)}: not tracked on its own, it is part of the total R_dc"
    return out


def se_sum_note(parts: Sequence[str], excluded: Sequence[Sequence[str]]) -> str:
    """``"R_SE = R_b (R_gb counted as interfacial in N spectra)"``: R_SE's formula and the
    resistances left out of it (``excluded``: per spectrum), or ``""`` when none was.

    ``parts``: the R_SE resistances the spectra's circuits have (repeats allowed). A part left
    out in every spectrum that has it drops from the formula; one left out in some keeps its
    place and the count says in how many ("and left out, in 2 of 6 spectra").
    """
    counts: dict[str, int] = {}
    for names in excluded:
        for n in names:
            counts[n] = counts.get(n, 0) + 1
    if not counts:
        return ""
    having = {n: sum(1 for q in parts if q == n) for n in _SE_PARTS if n in parts}
    always = [n for n in having if counts.get(n, 0) >= having[n]]
    formula = " + ".join(n for n in having if n not in always)
    said = []
    for n in having:
        k = counts.get(n, 0)
        if not k:
            continue
        said.append(
            f"{n} counted as interfacial in {k} spectr{'um' if k == 1 else 'a'}"
            if n in always
            else f"{n} counted as interfacial, and left out, in {k} of {having[n]} spectra"
        )
    head = f"R_SE = {formula}" if formula else "R_SE not identified"
    return f"{head} ({'; '.join(said)})"


def _se_words(series: SeriesResult, rows: list[int]) -> str:
    """:func:`se_sum_note` of one cell's fits (their ``meta["interfacial_resistances"]``)."""
    parts: list[str] = []
    excluded: list[tuple[str, ...]] = []
    for i in rows:
        res = series.results[i]
        if isinstance(res, FitFailure):
            continue
        parts.extend(n for n in _SE_PARTS if n in res.params)
        excluded.append(tuple(n for n in interfacial_resistances(res) if n in _SE_PARTS))
    return se_sum_note(parts, excluded)


def _unidentified_splits(
    columns: dict[str, tuple[np.ndarray, np.ndarray, float]],
    apex: dict[str, float] | None = None,
    se_words: str = "",
) -> dict[str, str | None]:
    """Bulk/grain-boundary resistances the series does not separate: None drops the track, and
    R_SE gets a note naming the split it replaces.

    A part is not separated when it is flagged in ``_FLAGGED_FRACTION`` of the spectra, when it
    scatters much more than the sum, or when its apex frequency lies outside the measured window
    in ``_FLAGGED_FRACTION`` of the spectra (``apex``: that fraction per part). ``se_words``
    (:func:`se_sum_note`) says how R_SE was built when a fit counted a part as interfacial.
    """
    if "R_SE_ohm" not in columns:
        return {}
    apex = apex or {}
    se_jump = median_jump_pct(columns["R_SE_ohm"][0])
    bad, reasons = [], []
    for part in _SE_PARTS:
        if part not in columns:
            continue
        v, _, flagged = columns[part]
        jump = median_jump_pct(v)
        outside = apex.get(part, 0.0)
        if flagged >= _FLAGGED_FRACTION or (jump > _JUMP_LIMIT_PCT and jump > 2 * se_jump):
            bad.append(part)
            reasons.append(f"{part} flagged in {100 * flagged:.0f} % of spectra, median jump {jump:.0f} %")
        if outside >= _FLAGGED_FRACTION:
            bad.append(part)
            reasons.append(f"{part} apex outside the measured window in {100 * outside:.0f} % of spectra")
    if not bad:
        return {}
    why = "; ".join(reasons)
    notes: dict[str, str | None] = {p: None for p in _SE_PARTS if p in columns}
    notes["R_SE_ohm"] = (
        f"R_b/R_gb split not identified ({why}); {se_words or 'R_SE = R_b + R_gb'} tracked instead"
    )
    return notes
