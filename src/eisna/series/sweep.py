"""When each tracked arc was measured within its sweep, and how much it changed meanwhile.

A spectrum's time (``time_h``) is the time of its first point, but a sweep from MHz down to
0.1 Hz takes minutes to hours and a low-frequency arc is measured near its end. While a
quantity grows fast (an interlayer in its first hours) it changes during the sweep: the
spectrum is then not stationary (a single-spectrum Kramers–Kronig test cannot see a slow
drift, issue 13) and the fitted value belongs to a later time than ``time_h``.

For every tracked quantity of every spectrum (:mod:`eisna.series.tracks`):

* ``delay_s``: seconds from the sweep's first point to the moment the quantity was measured.
  For a fitted resistance, the time of each point weighted by that point's influence on the
  fitted value (the fit's linear response, :func:`_response_delays_s`): a drift during the
  sweep moves the fitted R as if R had been measured at that moment. It falls at and below
  the arc's apex frequency, later than the apex itself (a ZARC's R is pinned by the points
  below its apex); when the response cannot be computed, the time at which the arc's apex
  frequency f_apex = 1/(2πτ) was measured (interpolated in log f). For R_SE the later of its
  parts; for the total R_dc the time of the lowest frequency measured.
  ``t_arc_h`` = ``time_h`` + ``delay_s``/3600.
* ``sweep_change_pct``: 100·(R(t_arc) − R(t_start))/R_measured, the change of the quantity
  between the sweep's start and the arc's measurement, from the series' own trajectory: the
  rate of the track's growth law at the sweep's start (one-sided, so that a spectrum at the
  law's onset gets the growth that starts there) × delay. A track without a law (fewer than 6
  spectra, or a failed fit) uses the neighbour rate (central difference of the values over
  time) × delay; a track whose best law is the constant changed by 0.
* ``changed_during_sweep``: |sweep_change_pct| above both the value's own relative standard
  error and :data:`FLOOR_PCT` (5 %).

``fit_series(track_time="arc")`` (``eisna batch --track-time arc``) fits the growth laws on
``t_arc_h`` instead of the sweep starts (:func:`growth_time_h`): with sweeps long against the
growth, the law's onset and t95 are then not early by the delay (BENCHMARKS.md).

Spectra whose reader gave no per-point times (``Spectrum.meta["point_time_s"]``) have NaN
everywhere here: nothing is flagged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..fitting.physics import interfacial_resistances
from ..spectrum import Spectrum
from ..units import time_unit
from .outcome import FitFailure

if TYPE_CHECKING:
    from .result import SeriesResult

__all__ = [
    "FLOOR_PCT",
    "TIME_AXES",
    "SweepClock",
    "arc_delays_s",
    "arc_time_h",
    "changed_during_sweep",
    "delays_s",
    "growth_time_h",
    "sweep_change_pct",
]

#: Time axes of the growth laws: ``"start"`` (each sweep's first point, the default) or ``"arc"``
#: (the moment each quantity was measured within its sweep, ``t_arc_h``).
TIME_AXES = ("start", "arc")

#: A change during the sweep is flagged only above this (%), however small the fit's error.
FLOOR_PCT = 5.0
# bulk and grain boundary: R_SE is measured when the later of the two has been
_SE_PARTS = ("R_b", "R_gb")
_STEP_H = 1e-4  # step of the growth law's numerical derivative, h (0.36 s)


@dataclass(frozen=True, eq=False)
class SweepClock:
    """The acquisition times of one sweep.

    Attributes
    ----------
    freq_hz : ndarray
        Frequencies in Hz, in acquisition order.
    offset_s : ndarray
        Time of each point after the sweep's first point, s.
    """

    freq_hz: np.ndarray
    offset_s: np.ndarray
    _log_f: np.ndarray = field(init=False, repr=False)
    _at: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # the lookup of time_at_frequency, sorted once: log f ascending, first time of a repeat
        ok = np.isfinite(self.freq_hz) & (self.freq_hz > 0) & np.isfinite(self.offset_s)
        log_f, first = np.unique(np.log10(self.freq_hz[ok]), return_index=True)
        object.__setattr__(self, "_log_f", log_f)
        object.__setattr__(self, "_at", self.offset_s[ok][first])

    @classmethod
    def of(cls, spectrum: Spectrum) -> SweepClock | None:
        """The clock of ``spectrum`` (None when its reader gave no per-point times)."""
        times = spectrum.meta.get("point_time_s")
        if times is None or len(times) != len(spectrum):
            return None
        return cls(np.asarray(spectrum.freq, dtype=float), np.asarray(times, dtype=float))

    @property
    def duration_s(self) -> float:
        """Time from the first point to the last, s."""
        return float(self.offset_s[-1]) if self.offset_s.size else math.nan

    def offsets_at(self, freq_hz: np.ndarray) -> np.ndarray:
        """Seconds after the first point at which each of ``freq_hz`` was measured (as
        :func:`eisna.spectrum.time_at_frequency`; NaN when unknown)."""
        f = np.asarray(freq_hz, dtype=float)
        if not self._log_f.size:
            return np.full(f.shape, math.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.interp(np.log10(f), self._log_f, self._at)
        return np.where(np.isfinite(f) & (f > 0), out, math.nan)

    def offset_at(self, freq_hz: float) -> float:
        """Seconds after the first point at which ``freq_hz`` was measured (NaN when unknown)."""
        return float(self.offsets_at(np.array([freq_hz]))[0])


def _apex_delay_s(res: Any, name: str, clock: SweepClock) -> float:
    """Seconds to the measurement of an arc's apex frequency (the fallback; NaN without an arc)."""
    from .tracks import _arc_of

    arc = _arc_of(res, name) if name in res.params else None
    return clock.offset_at(float(arc.f_apex)) if arc is not None else math.nan


def _response_delays_s(res: Any, clock: SweepClock) -> dict[str, float]:
    """Seconds from the sweep's start at which each fitted resistance (``R_*``) was measured.

    The fit's linear response: a drift R(t) = R* + R'·(t − t*) during the sweep moves the fitted
    R by R'·(t_R − t*), where t_R = Σ_k a_k t_k weighs each point's time t_k by the influence
    a_k of that point on the fitted R (least-squares gain (JᵀJ)⁻¹Jᵀ at the fitted values, the
    fit's own weights; Σ a_k = 1). An arc's R is pinned by the points at and below its apex,
    which a sweep from high to low frequency measures last. Clipped to the sweep; a parameter
    that was not varied, or that the gain does not resolve, is left out. One Jacobian and one
    least-squares solve serve every resistance of the fit.
    """
    from ..fitting.weights import weights

    names = list(res.param_names)
    free = [n for n in (res.varied or names) if n in names]
    targets = [n for n in free if n.startswith("R_")]
    freq = np.asarray(res.freq, dtype=float)
    if not targets or not freq.size:
        return {}
    values = np.array([float(res.params[n]) for n in names])
    _, grad = res.circuit.circuit.gradient_s(2j * np.pi * freq, values)
    idx = [names.index(n) for n in free]
    w_re, w_im = weights(np.asarray(res.z), res.weighting)
    jac = np.concatenate([(grad[idx].real * w_re).T, (grad[idx].imag * w_im).T])
    t = np.tile(clock.offsets_at(freq), 2)
    cols = [free.index(n) for n in targets]
    rhs = np.concatenate([jac[:, cols], jac[:, cols] * t[:, None]], axis=1)
    # normal equations on unit-norm columns (Q ~ 1e-6 and R ~ 1e2 side by side): a few
    # parameters, so this is cheaper than an SVD and as accurate for the ratio taken below
    norms = np.linalg.norm(jac, axis=0)
    if not np.all(np.isfinite(norms) & (norms > 0)):
        return {}
    scaled = jac / norms
    try:
        gain = np.linalg.solve(scaled.T @ scaled, scaled.T @ rhs) / norms[:, None]
    except np.linalg.LinAlgError:
        return {}
    out = {}
    rows = gain.tolist()  # (Python floats: np.clip of a NumPy scalar costs ~4 µs)
    duration = clock.duration_s
    for k, (name, j) in enumerate(zip(targets, cols, strict=True)):
        unit, moment = rows[j][k], rows[j][len(cols) + k]
        if math.isfinite(unit) and math.isfinite(moment) and abs(unit) >= 0.5:  # R resolved by the fit
            out[name] = min(max(moment / unit, 0.0), duration)  # (np.clip's order: max, then min)
    return out


def _delays_of_fit(res: Any, names: list[str], clock: SweepClock) -> dict[str, float]:
    """Seconds from the sweep's start to the measurement of each of ``names`` (module docstring)."""
    try:
        response = _response_delays_s(res, clock)
    except (AttributeError, ValueError, IndexError):  # a fit without its circuit's gradient
        response = {}

    def one(name: str) -> float:
        if name == "R_dc_ohm":  # the total: the low-frequency end of the sweep
            freq = np.asarray(res.freq, dtype=float)
            return clock.offset_at(float(np.min(freq))) if freq.size else math.nan
        if name == "R_SE_ohm":
            interfacial = interfacial_resistances(res)  # not in R_SE (physics.effective_role)
            parts = [one(p) for p in _SE_PARTS if p in res.params and p not in interfacial]
            parts = [d for d in parts if math.isfinite(d)]
            return max(parts) if parts else math.nan
        if name not in res.params or not name.startswith("R_"):
            return math.nan  # a derived quantity: no single resistance
        return response[name] if name in response else _apex_delay_s(res, name, clock)

    return {name: one(name) for name in names}


def delays_s(series: SeriesResult, names: list[str], rows: list[int]) -> dict[str, np.ndarray]:
    """Seconds from each sweep's first point to the measurement of each of ``names``, per row
    (NaN where unknown: a failed fit, no per-point times, no such resistance, or a cell without
    times, whose axis holds ranks that seconds cannot be added to)."""
    clocks = series.sweeps
    labels = list(series.cells) if series.cells else [None] * len(series.results)
    out = {name: np.full(len(rows), math.nan) for name in names}
    for k, i in enumerate(rows):
        clock = clocks[i] if i < len(clocks) else None
        res = series.results[i]
        if clock is None or isinstance(res, FitFailure):
            continue
        if time_unit(series.time_sources.get(labels[i], series.time_basis)) == "rank":
            continue
        for name, delay in _delays_of_fit(res, names, clock).items():
            out[name][k] = delay
    return out


def arc_delays_s(series: SeriesResult, name: str, rows: list[int]) -> np.ndarray:
    """Seconds from each sweep's first point to the measurement of ``name`` (NaN when unknown)."""
    return delays_s(series, [name], rows)[name]


def arc_time_h(t_h: np.ndarray, delay_s: np.ndarray) -> np.ndarray:
    """``t_h`` plus each delay (s → h); a row without a delay (the arc absent, no per-point times)
    takes the median delay of the others (0 without any), so that one axis holds every row."""
    delay = np.asarray(delay_s, dtype=float)
    known = delay[np.isfinite(delay)]
    fill = float(np.median(known)) if known.size else 0.0
    return np.asarray(t_h, dtype=float) + np.where(np.isfinite(delay), delay, fill) / 3600.0


def growth_time_h(series: SeriesResult, name: str) -> np.ndarray:
    """Hours on which the growth law of ``name`` is fitted, for every row of the series:
    ``series.time_h``, or under ``track_time="arc"`` each cell's :func:`arc_time_h`."""
    t = np.asarray(series.time_h, dtype=float)
    if (series.options or {}).get("track_time", "start") != "arc":
        return t
    out = t.copy()
    labels = list(series.cells) if series.cells else [None] * len(t)
    for cell in set(labels):
        rows = [i for i, lab in enumerate(labels) if lab == cell]
        out[rows] = arc_time_h(t[rows], arc_delays_s(series, name, rows))
    return out


def _neighbour_rate(t_h: np.ndarray, values: np.ndarray) -> np.ndarray:
    """dR/dt (per h) from the neighbouring finite values: central, one-sided at the ends."""
    rate = np.full(values.size, math.nan)
    idx = np.flatnonzero(np.isfinite(values) & np.isfinite(t_h))
    if idx.size < 2:
        return rate
    t, v = t_h[idx], values[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate[idx] = np.gradient(v, t) if np.all(np.diff(t) > 0) else math.nan
    return rate


def sweep_change_pct(t_h: np.ndarray, values: np.ndarray, delay_s: np.ndarray, kinetics: Any) -> np.ndarray:
    """Change (%) of each value between its sweep's start and its measurement (module docstring).

    Parameters
    ----------
    t_h : ndarray
        Sweep start of each spectrum, h.
    values : ndarray
        The measured values (Ω); NaN or 0 give NaN.
    delay_s : ndarray
        Seconds from each sweep's start to the measurement (NaN when unknown).
    kinetics : KineticsResult or None
        The track's growth laws (fitted on ``t_h``), or None.

    Returns
    -------
    ndarray
        100·(R(t_arc) − R(t_start))/|value|, NaN where unknown.
    """
    t = np.asarray(t_h, dtype=float)
    v = np.asarray(values, dtype=float)
    delay_h = np.asarray(delay_s, dtype=float) / 3600.0
    best = getattr(kinetics, "best", None)
    if kinetics is not None and kinetics.model != "none" and best is not None:
        # the law's rate just after t (one-sided: a law is not smooth at its onset) × the delay
        rate = (np.asarray(best.predict(t + _STEP_H), float) - np.asarray(best.predict(t), float)) / _STEP_H
        change = rate * delay_h
    elif kinetics is not None and kinetics.model == "none":
        change = np.where(np.isfinite(delay_h), 0.0, math.nan)
    else:
        change = _neighbour_rate(t, v) * delay_h
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * change / np.abs(v)
    return np.where(np.isfinite(pct), pct, math.nan)


def changed_during_sweep(pct: np.ndarray, values: np.ndarray, stderr: np.ndarray) -> np.ndarray:
    """True where |pct| exceeds both the value's relative standard error (%) and :data:`FLOOR_PCT`."""
    p = np.abs(np.asarray(pct, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = 100.0 * np.abs(np.asarray(stderr, dtype=float)) / np.abs(np.asarray(values, dtype=float))
    limit = np.where(np.isfinite(rel), np.maximum(rel, FLOOR_PCT), FLOOR_PCT)
    return np.isfinite(p) & (p > limit)
