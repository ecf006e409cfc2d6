"""Time-resolved fitting of a series of spectra: warm starts, interlayer detection, kinetics.

:func:`fit_series` fits every spectrum of an experiment with one circuit, in time order:

1. **Order.** By absolute timestamp when every spectrum has one, else by elapsed time, else by
   natural file-name order (``t2`` before ``t10``) and position in the file. ``time_h`` is the
   time since the first spectrum (of the same cell), in hours. Cells (files or folders) are
   separate chains: warm starts never cross them.
2. **Warm start, guarded.** Each spectrum starts from its predecessor's fit. Parameters that
   ended on a bound, and parameters the data could not identify (flagged by the engine, or a
   standard error larger than the value) once they have drifted more than two decades from
   their start value, are reset to the engine's automatic start values, so a drifting,
   unconstrained value (e.g. the bulk C_b of an arc above the window) never poisons the next fit.
   Each model is also seeded from the other (the baseline from the full fit without the
   interlayer arc, the full circuit from the baseline with a small arc between its neighbours)
   where the decision could change, and the lower χ² wins.
3. **No label switching.** The R‖CPE arcs are kept in time-constant order (the circuit lists
   them from high to low frequency); a fit that swapped two arcs is refitted with the labels put
   back in order.
4. **Interlayer decision.** Each spectrum is also fitted with the baseline circuit without the
   interlayer arc (``symmetric_cell`` for ``symmetric_interlayer``). The arc is kept when
   BIC(full) − BIC(baseline) < ``delta_bic`` (default −10) *and* R_int exceeds the minimum
   resistance (``min_interlayer_fraction`` of the low-frequency |Z|, at least
   ``min_interlayer_ohm``) *and* R_int exceeds twice its standard error. Otherwise ``interlayer``
   is False and R_int is reported as 0 with the detection limit as its uncertainty.
5. **Back-fill.** A spectrum without the arc just before one with it is refitted from its later
   neighbour (the arc seeded small at the same time constant), so an early, small arc that a
   forward pass missed is found; the same rules then decide.
6. **Kinetics.** :func:`eisna.fit_kinetics` on R_int(t), one table per cell.

Failures never stop a series: an unreadable file or a fit that raises becomes a
:class:`FitFailure` row with the reason.
"""

from __future__ import annotations

import hashlib
import math
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import EisnaError, EisnaWarning
from .fitting.physics import DEFAULT_EPS_R, asr_per_interface, column_name, make_geometry
from .spectrum import CellGeometry, Spectrum

if TYPE_CHECKING:
    from concurrent.futures import Executor

    import pandas as pd

    from .kinetics import KineticsResult

__all__ = ["FitFailure", "SeriesResult", "fit_series", "order_spectra"]

# baseline circuit (without the interlayer arc) of library circuits that have one
BASELINES = {"symmetric_interlayer": "symmetric_cell"}


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class FitFailure:
    """A spectrum that could not be read or fitted: a row with ``status = "failed"``.

    Attributes
    ----------
    source : str
        File (or label) the spectrum came from.
    index : int or None
        Position of the spectrum in its file (None when the file could not be read).
    reason : str
        One line saying what went wrong.
    stage : str
        ``"read"`` or ``"fit"``.
    timestamp : datetime or None
        Acquisition time of the spectrum when known.
    """

    source: str
    index: int | None
    reason: str
    stage: str = "fit"
    timestamp: datetime | None = None
    success: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "index": self.index,
            "status": "failed",
            "stage": self.stage,
            "reason": self.reason,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
        }


@dataclass(frozen=True)
class SpectrumOutcome:
    """Everything :func:`fit_series` decided for one spectrum (picklable; cached by batch).

    ``result`` is the reported fit: the full circuit when the interlayer is present, the
    baseline otherwise (or the only fit when there is no baseline), or a :class:`FitFailure`.
    """

    result: Any
    interlayer: bool | None
    delta_bic: float
    min_interlayer_ohm: float
    full: Any = None
    base: Any = None
    backfilled: bool = False


@dataclass(frozen=True)
class SeriesOptions:
    """Options of a series fit (also the cache key)."""

    circuit: str
    baseline: str | None
    interlayer_param: str = "R_int"
    delta_bic: float = -10.0
    min_interlayer_ohm: float = 0.5
    min_interlayer_fraction: float = 0.01
    max_rel_stderr: float = 1.0
    drift_decades: float = 2.0
    fit_options: tuple[tuple[str, Any], ...] = ()

    def key(self, definition_text: str, baseline_text: str) -> str:
        from . import __version__

        raw = repr((self, definition_text, baseline_text, __version__))
        return hashlib.sha256(raw.encode()).hexdigest()[:20]


# --------------------------------------------------------------------------- ordering

_DIGITS = re.compile(r"(\d+)")


def earliest(stamps: Iterable[Any]) -> datetime | None:
    """The earliest of the datetimes among ``stamps`` (others are skipped); None when there is
    none, or when zone-aware and zone-less times are mixed (no single answer)."""
    found = [t for t in stamps if isinstance(t, datetime)]
    try:
        return min(found) if found else None
    except TypeError:
        return None


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded numbers numerically (``t2`` < ``t10``)."""
    return tuple(int(p) if p.isdigit() else p.lower() for p in _DIGITS.split(text))


def order_spectra(spectra: Sequence[Spectrum]) -> tuple[list[int], np.ndarray, str]:
    """Time order of spectra.

    Returns
    -------
    order : list of int
        Indices into ``spectra`` in time order.
    time_h : ndarray
        Hours since the first spectrum, in that order (NaN-free; file order gives 0, 1, 2… × NaN).
    basis : str
        ``"timestamp"``, ``"elapsed"`` or ``"file order"`` (then ``time_h`` is the rank).
    """
    n = len(spectra)
    name_key = [
        (natural_key(str(s.meta.get("source", ""))), int(s.meta.get("index", 0) or 0), i)
        for i, s in enumerate(spectra)
    ]
    if n and all(s.timestamp is not None for s in spectra):
        stamps = [s.timestamp for s in spectra]
        aware = {ts.tzinfo is not None for ts in stamps}
        if len(aware) == 1:
            order = sorted(range(n), key=lambda i: (stamps[i], name_key[i]))
            t0 = stamps[order[0]]
            return order, np.array([(stamps[i] - t0).total_seconds() / 3600 for i in order]), "timestamp"
    sources = {str(s.meta.get("source", "")) for s in spectra}
    if n and len(sources) <= 1 and all(s.elapsed_s is not None for s in spectra):
        order = sorted(range(n), key=lambda i: (spectra[i].elapsed_s, name_key[i]))
        e0 = spectra[order[0]].elapsed_s
        return order, np.array([(spectra[i].elapsed_s - e0) / 3600 for i in order]), "elapsed"
    order = sorted(range(n), key=lambda i: name_key[i])
    return order, np.arange(n, dtype=float), "file order"


def spectrum_hash(spectrum: Spectrum) -> str:
    """Content hash of a spectrum's data (frequencies and impedance)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(spectrum.freq).tobytes())
    h.update(np.ascontiguousarray(spectrum.z).tobytes())
    return h.hexdigest()[:24]


# --------------------------------------------------------------------------- the fitter


def _arc_triples(param_names: Sequence[str]) -> list[tuple[str, str, str]]:
    """(R_x, Q_x, n_x) triples of R‖CPE arcs, in circuit (high → low frequency) order."""
    names = set(param_names)
    out = []
    for p in param_names:
        if p.startswith("R_"):
            sfx = p[2:]
            if f"Q_{sfx}" in names and f"n_{sfx}" in names:
                out.append((p, f"Q_{sfx}", f"n_{sfx}"))
    return out


def _tau(R: float, Q: float, n: float) -> float:
    try:
        return float((R * Q) ** (1.0 / n))
    except (ArithmeticError, ValueError):
        return math.nan


def _sorted_by_tau(params: Mapping[str, float], triples) -> dict[str, float] | None:
    """Params with the arcs relabelled in τ order, or None when they already are."""
    vals = [(params.get(r), params.get(q), params.get(n)) for r, q, n in triples]
    if any(v is None or not np.isfinite(v) for t in vals for v in t):
        return None
    taus = [_tau(*v) for v in vals]
    order = sorted(range(len(vals)), key=lambda i: taus[i])
    if order == list(range(len(vals))):
        return None
    out = dict(params)
    for slot, src in enumerate(order):
        for k in range(3):
            out[triples[slot][k]] = vals[src][k]
    return out


class _Fitter:
    """Fits one spectrum with the full and the baseline circuit (picklable; loads lazily)."""

    def __init__(self, options: SeriesOptions, hook: Callable[[int], None] | None = None) -> None:
        self.options = options
        self.hook = hook
        self._defs: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"options": self.options, "hook": self.hook, "_defs": {}}

    def definition(self, name: str):
        if name not in self._defs:
            from .fitting.engine import resolve_circuit  # names, TOML paths and circuit strings

            self._defs[name] = resolve_circuit(name)
        return self._defs[name]

    # -- single fits -------------------------------------------------------------------
    def _fit(self, spectrum: Spectrum, name: str, initial: Mapping[str, float] | None,
             max_nfev: int | None = None):
        from .fitting import fit

        definition = self.definition(name)
        opts = dict(self.options.fit_options)
        if max_nfev:
            opts["max_nfev"] = max_nfev
        if initial:
            # a warm start is judged by this module (best of several seeds), so the engine
            # must not spend time on its own restarts
            opts["n_restarts"] = 0
        with warnings.catch_warnings():  # per-spectrum warnings stay in the results' flags
            warnings.simplefilter("ignore", EisnaWarning)
            res = fit(spectrum, definition, initial=dict(initial) if initial else None, **opts)
        triples = _arc_triples(definition.param_names)
        fixed = _sorted_by_tau(res.params, triples) if len(triples) > 1 else None
        if fixed is not None:  # arcs swapped labels: refit with them in τ order
            opts["n_restarts"] = 0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", EisnaWarning)
                res2 = fit(spectrum, definition, initial=fixed, **opts)
            if _sorted_by_tau(res2.params, triples) is None or res2.chisqr <= res.chisqr:
                res = res2
        return res

    def guarded_start(self, prev, name: str) -> dict[str, float] | None:
        """Warm start from ``prev``, guarded against parameters the data did not pin down.

        A parameter that ended on a bound is dropped (the engine then gives it its automatic
        start value). A parameter flagged unidentifiable (or with a relative standard error above
        ``max_rel_stderr``) is dropped too once it has drifted more than ``drift_decades`` from
        the library start value (0.15 for exponents n): that drift is what poisons the next
        fit. An unidentified value still near its start is kept, so the solver does not have to
        walk a flat valley again at every step.
        """
        if not _ok(prev):
            return None
        definition = self.definition(name)
        at_bound = set(prev.flagged("at_bound"))
        loose = set(prev.flagged("unidentifiable"))
        start: dict[str, float] = {}
        for p in definition.param_names:
            v = prev.params.get(p)
            if p in at_bound or v is None or not np.isfinite(v) or v <= 0:
                continue
            e = prev.stderr.get(p, math.nan)
            is_n = p.startswith("n_")
            limit = self.options.max_rel_stderr * (0.25 if is_n else abs(v))
            if p in loose or not np.isfinite(e) or e > limit:
                d = definition.defaults.get(p)
                if d is None:
                    continue
                if is_n or d.scale != "log":
                    drifted = abs(v - d.value) > 0.15
                else:
                    drifted = abs(math.log10(v / d.value)) > self.options.drift_decades
                if drifted:
                    continue
            start[p] = float(v)
        return start or None

    def safe_fit(self, spectrum: Spectrum, name: str, initial, max_nfev: int | None = None) -> Any:
        import warnings

        try:
            with warnings.catch_warnings():
                # lmfit's covariance of a deliberately over-complete model (the full circuit on
                # data without the arc) has negative diagonals; the fit result flags it already
                warnings.simplefilter("ignore", RuntimeWarning)
                return self._fit(spectrum, name, initial, max_nfev)
        except EisnaError as err:
            return FitFailure(_src(spectrum), _idx(spectrum), f"{name}: {err}", "fit", spectrum.timestamp)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError) as err:
            return FitFailure(
                _src(spectrum), _idx(spectrum), f"{name}: {type(err).__name__}: {err}", "fit",
                spectrum.timestamp,
            )

    # -- seeds between the nested circuits ------------------------------------------------
    def _inter_sfx(self) -> str:
        p = self.options.interlayer_param
        return p[2:] if p.startswith("R_") else p

    def base_from_full(self, full, drop: str | None = None) -> dict[str, float] | None:
        """Baseline start: the full fit without one arc (the interlayer by default)."""
        if not _ok(full):
            return None
        base_def = self.definition(self.options.baseline)
        full_tr = _arc_triples(full.param_names)
        drop = drop or self._inter_sfx()
        kept = [t for t in full_tr if t[0][2:] != drop]
        start = {p: float(v) for p, v in full.params.items() if p in base_def.param_names}
        vals = sorted(
            ((full.params[r], full.params[q], full.params[n]) for r, q, n in kept), key=lambda v: _tau(*v)
        )
        for (r, q, n), v in zip(_arc_triples(base_def.param_names), vals, strict=False):
            start[r], start[q], start[n] = v
        return start

    def full_from_base(self, base) -> dict[str, float] | None:
        """Full start: the baseline fit plus a small interlayer arc between its neighbours."""
        if not _ok(base):
            return None
        full_def = self.definition(self.options.circuit)
        sfx = self._inter_sfx()
        full_tr = _arc_triples(full_def.param_names)
        slot = next((i for i, t in enumerate(full_tr) if t[0][2:] == sfx), None)
        start = {p: float(v) for p, v in base.params.items() if p in full_def.param_names}
        if slot is None:
            return start
        taus = {t[0]: _tau(base.params[t[0]], base.params[t[1]], base.params[t[2]])
                for t in full_tr if t[0] in base.params}
        lo = taus.get(full_tr[slot - 1][0]) if slot > 0 else None
        hi = taus.get(full_tr[slot + 1][0]) if slot + 1 < len(full_tr) else None
        if lo and hi and np.isfinite(lo) and np.isfinite(hi):
            tau = math.sqrt(lo * hi)
        else:
            tau = (lo or hi or 1e-5) * (10.0 if lo else 0.1)
        r_tot = float(np.real(base.z[int(np.argmin(base.freq))]))
        R = max(0.02 * abs(r_tot), 1.0)
        n = 0.85
        r_name, q_name, n_name = full_tr[slot]
        start[r_name], start[q_name], start[n_name] = R, tau**n / R, n
        return start

    # -- one spectrum ------------------------------------------------------------------
    def min_interlayer(self, spectrum: Spectrum) -> float:
        lowf = float(np.abs(spectrum.z[int(np.argmin(spectrum.freq))]))
        return max(self.options.min_interlayer_ohm, self.options.min_interlayer_fraction * lowf)

    def decide(self, spectrum: Spectrum, full, base, *, backfilled: bool = False) -> SpectrumOutcome:
        opt = self.options
        floor = self.min_interlayer(spectrum)
        if opt.baseline is None:
            result = full if full is not None else base
            return SpectrumOutcome(result, None, math.nan, floor, full, base, backfilled)
        if not _ok(full) and not _ok(base):
            result = full if isinstance(full, FitFailure) else base
            if not isinstance(result, FitFailure):
                msg = getattr(result, "message", "") or "the optimiser did not converge"
                result = FitFailure(_src(spectrum), _idx(spectrum), f"fit diverged: {msg}", "fit",
                                    spectrum.timestamp)
            return SpectrumOutcome(result, None, math.nan, floor, full, base, backfilled)
        if not _ok(full):
            return SpectrumOutcome(base, False, math.nan, floor, full, base, backfilled)
        if not _ok(base):
            return SpectrumOutcome(full, True, -math.inf, floor, full, base, backfilled)
        dbic = float(full.bic - base.bic)
        r = float(full.params.get(opt.interlayer_param, 0.0))
        e = float(full.stderr.get(opt.interlayer_param, math.nan))
        present = dbic < opt.delta_bic and r >= floor and (not np.isfinite(e) or r > 2.0 * e)
        return SpectrumOutcome(full if present else base, present, dbic, floor, full, base, backfilled)

    def fit_one(self, spectrum: Spectrum, prev: SpectrumOutcome | None) -> SpectrumOutcome:
        opt = self.options
        if opt.baseline is None:
            start = self.guarded_start(prev.full, opt.circuit) if prev is not None else None
            full = self.safe_fit(spectrum, opt.circuit, start)
            if start and not _good(full):
                full = _better(full, self.safe_fit(spectrum, opt.circuit, None))
            return self.decide(spectrum, full, None)
        fit_full = lambda start: self.safe_fit(spectrum, opt.circuit, start)  # noqa: E731
        fit_base = lambda start, nfev=None: self.safe_fit(spectrum, opt.baseline, start, nfev)  # noqa: E731
        if prev is None or (not _ok(prev.full) and not _ok(prev.base)):
            # chain start: automatic starts, then each model seeded from the other
            full = fit_full(None)
            base = fit_base(None)
            base = _better(base, fit_base(self.base_from_full(full)))
            if _ok(full):
                small = min(_arc_triples(full.param_names), key=lambda t: full.params[t[0]])[0][2:]
                if small != self._inter_sfx():
                    base = _better(base, fit_base(self.base_from_full(full, drop=small)))
            full = _better(full, fit_full(self.full_from_base(base)))
            return self.decide(spectrum, full, base)
        if prev.interlayer:
            full = fit_full(self.guarded_start(prev.full, opt.circuit))
            if not _good(full):
                full = _better(full, fit_full(None))
            # Once the arc is firmly established the baseline (a wrong model there) only has to
            # show that it is much worse: a truncated solve can only make ΔBIC more negative.
            budget = 60 if prev.delta_bic < 10 * opt.delta_bic else None
            base = fit_base(self.base_from_full(full), budget)
            out = self.decide(spectrum, full, base)
            if not out.interlayer:  # the arc vanished? check with the other seeds first
                base = _better(base, fit_base(self.guarded_start(prev.base, opt.baseline)))
                full = _better(full, fit_full(self.full_from_base(base)))
                out = self.decide(spectrum, full, base)
            return out
        base = fit_base(self.guarded_start(prev.base, opt.baseline))
        if not _good(base):
            base = _better(base, fit_base(None))
        full = fit_full(self.full_from_base(base))
        out = self.decide(spectrum, full, base)
        if out.interlayer:  # a new arc? make sure the baseline is at its best first
            base = _better(base, fit_base(self.base_from_full(full)))
            out = self.decide(spectrum, full, base)
        return out

    def backfill(
        self, spectrum: Spectrum, current: SpectrumOutcome, later: SpectrumOutcome
    ) -> SpectrumOutcome:
        """Refit the full circuit from a later spectrum that has the interlayer arc."""
        opt = self.options
        start = dict(later.full.params)
        sfx = self._inter_sfx()
        r = later.full.params.get(opt.interlayer_param)
        if r and f"Q_{sfx}" in later.full.params:
            # seed the arc at half the resistance and the same time constant (Q ∝ 1/R)
            start[opt.interlayer_param] = 0.5 * r
            start[f"Q_{sfx}"] = 2.0 * later.full.params[f"Q_{sfx}"]
        full = _better(current.full, self.safe_fit(spectrum, opt.circuit, start))
        base = _better(current.base, self.safe_fit(spectrum, opt.baseline, self.base_from_full(full)))
        return self.decide(spectrum, full, base, backfilled=True)


def _ok(res) -> bool:
    return res is not None and not isinstance(res, FitFailure) and bool(getattr(res, "success", False))


def _good(res) -> bool:
    """Converged without the engine's "poor_fit" flag."""
    return _ok(res) and "poor_fit" not in res.flags


def _better(a, b):
    """The fit with the lower χ² (a failure loses)."""
    if not _ok(b):
        return a if a is not None else b
    if not _ok(a):
        return b
    return b if b.chisqr < a.chisqr else a


def _src(s: Spectrum) -> str:
    return str(s.meta.get("source", "<spectrum>"))


def _idx(s: Spectrum) -> int | None:
    i = s.meta.get("index")
    return int(i) if i is not None else None


# --------------------------------------------------------------------------- chains


@dataclass
class _ChainTask:
    """A time-ordered run of spectra fitted with warm starts (one cell, or one chunk of it)."""

    positions: list[int]  # positions in the ordered series
    spectra: list[Spectrum]
    keys: list[str]
    cached: list[SpectrumOutcome | None]


def _run_chain(fitter: _Fitter, task: _ChainTask, cache_dir: str | None) -> list[SpectrumOutcome]:
    """Fit a chain sequentially (runs in a worker); cached outcomes are reused, not refitted."""
    out: list[SpectrumOutcome] = []
    prev: SpectrumOutcome | None = None
    for k, spectrum in enumerate(task.spectra):
        outcome = task.cached[k]
        if outcome is None:
            outcome = fitter.fit_one(spectrum, prev)
            if cache_dir:
                cache_store(cache_dir, task.keys[k], outcome)
            if fitter.hook is not None:
                fitter.hook(task.positions[k])
        out.append(outcome)
        prev = outcome
    return out


# --------------------------------------------------------------------------- cache


def cache_load(cache_dir: str | Path | None, key: str, definitions: dict[str, Any] | None = None
               ) -> SpectrumOutcome | None:
    """Cached outcome for ``key`` or None (an edited, foreign or damaged entry counts as missing
    and is reported with a :class:`~eisna.errors.CacheWarning`); see :mod:`eisna._fitcache`."""
    from . import _fitcache

    return _fitcache.load(cache_dir, key, definitions)


def cache_store(cache_dir: str | Path, key: str, outcome: SpectrumOutcome) -> None:
    """Write one cache entry atomically (JSON with its own digest; see :mod:`eisna._fitcache`)."""
    from . import _fitcache

    _fitcache.store(cache_dir, key, outcome)


def chain_keys(spectra: Sequence[Spectrum], opt_key: str) -> list[str]:
    """Cache keys of a warm-start chain: each covers the spectrum's data, the options and the key
    of the spectrum before it in the chain (so a changed or inserted spectrum invalidates every
    later fit that was warm-started from it)."""
    keys: list[str] = []
    prev = "chain-start"
    for s in spectra:
        prev = hashlib.sha256(f"{opt_key}|{spectrum_hash(s)}|{prev}".encode()).hexdigest()[:32]
        keys.append(prev)
    return keys


# --------------------------------------------------------------------------- result


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


# --------------------------------------------------------------------------- main API


def default_baseline(circuit: str) -> str | None:
    """Library circuit without the interlayer arc (``symmetric_cell`` for ``symmetric_interlayer``)."""
    if circuit in BASELINES:
        return BASELINES[circuit]
    try:
        from .circuit import list_circuits, load_circuit

        full = load_circuit(circuit)
        inter = {p for p, role in full.param_roles.items() if role == "interlayer"}
        if not inter:
            return None
        want = set(full.param_names) - inter
        for name in list_circuits():
            if name != circuit and set(load_circuit(name).param_names) == want:
                return name
    except EisnaError:
        return None
    return None


def _progress(total: int, enabled: bool | None):
    """A tqdm bar on a terminal, a no-op object otherwise."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if enabled and total > 1:
        from tqdm.auto import tqdm

        return tqdm(total=total, unit="spectrum", desc="eisna batch", leave=False)

    class _Quiet:
        def update(self, n: int = 1) -> None:
            pass

        def close(self) -> None:
            pass

    return _Quiet()


def fit_series(
    spectra: Iterable[Spectrum],
    circuit: str = "symmetric_interlayer",
    *,
    baseline: str | None = "auto",
    executor: Executor | None = None,
    interlayer_param: str = "R_int",
    delta_bic: float = -10.0,
    min_interlayer_ohm: float = 0.5,
    min_interlayer_fraction: float = 0.01,
    groups: Sequence[Any] | None = None,
    chunk_size: int | None = None,
    geometry: CellGeometry | None = None,
    eps_r: float | None = DEFAULT_EPS_R,
    area_cm2: float | None = None,
    thickness_cm: float | None = None,
    cache_dir: str | Path | None = None,
    cache_salt: str = "",
    progress: bool | None = None,
    hook: Callable[[int], None] | None = None,
    failures: Sequence[FitFailure] = (),
    **fit_options: Any,
) -> SeriesResult:
    """Fit a time series of spectra with warm starts and per-spectrum interlayer detection.

    Parameters
    ----------
    spectra : iterable of Spectrum
        In any order; they are sorted by timestamp, elapsed time or natural file name.
    circuit : str
        Library circuit name (e.g. ``"symmetric_interlayer"``).
    baseline : str or None
        Circuit without the interlayer arc used for the model comparison. ``"auto"`` picks the
        library circuit whose parameters are the full ones minus the interlayer role
        (``symmetric_cell``); None disables the comparison (``interlayer`` is then None).
    executor : concurrent.futures.Executor, optional
        Runs chains (cells, or ordered chunks of a long cell) in parallel: a
        ``ProcessPoolExecutor`` or a Dask ``Client.get_executor()``. Warm starts run within a
        chain; the first spectrum of each chunk starts from automatic values and the back-fill
        pass runs afterwards across chunk seams. None fits everything in this process.
    interlayer_param : str
        Resistance of the interlayer arc (Ω).
    delta_bic : float
        The arc is kept only when BIC(full) − BIC(baseline) is below this.
    min_interlayer_ohm, min_interlayer_fraction : float
        Minimum-resistance rule: R_int must exceed ``max(min_interlayer_ohm,
        min_interlayer_fraction × |Z(f_min)|)``; this is also the detection limit reported as
        R_int's uncertainty where the arc is absent.
    groups : sequence, optional
        Cell label per spectrum (same order as ``spectra``); warm starts never cross cells and
        ``time_h`` counts from each cell's first spectrum. Default: one cell.
    chunk_size : int, optional
        Split longer cells into ordered chunks of this many spectra (each starts cold). The
        chunks are the same with or without an executor, so parallel and serial runs agree.
    geometry : CellGeometry, optional
        Electrode area and electrolyte thickness, passed to every :func:`eisna.fit` (which
        computes ASR, σ and thicknesses from it). Default: each spectrum's own metadata.
    eps_r : float or None
        Relative permittivity assumed for the interlayer thickness d = ε0 εr A / (2 C_eff)
        (default :data:`eisna.fitting.physics.DEFAULT_EPS_R`; None: no thickness).
    area_cm2, thickness_cm : float, optional
        Deprecated (DeprecationWarning): use ``geometry=CellGeometry(thickness_cm, area_cm2)``.
    cache_dir : path, optional
        Resume cache: finished spectra (keyed by data hash, circuit, options and the warm-start
        chain before them) are reused; stored as JSON with a digest (:mod:`eisna._fitcache`).
        Entries not used by this series are deleted at the end.
    progress : bool, optional
        Show a tqdm bar; default only when stderr is a terminal.
    hook : callable, optional
        Called with the series position after each spectrum is fitted (for monitoring; an
        exception raised there interrupts the series, finished spectra stay cached).
    failures : sequence of FitFailure
        Rows for inputs that could not be read; they are kept in the result.
    **fit_options
        Passed to :func:`eisna.fit` (``weighting``, ``fmin``, ``fmax``…).

    Returns
    -------
    SeriesResult
    """
    from .kinetics import fit_kinetics

    spectra = list(spectra)
    geometry = resolve_geometry(geometry, area_cm2, thickness_cm, "fit_series", spectra)
    fit_options = {**fit_options, "eps_r": eps_r}
    if geometry is not None:
        fit_options["geometry"] = geometry
    if baseline == "auto":
        baseline = default_baseline(circuit)
    options = SeriesOptions(
        circuit=circuit,
        baseline=baseline,
        interlayer_param=interlayer_param,
        delta_bic=float(delta_bic),
        min_interlayer_ohm=float(min_interlayer_ohm),
        min_interlayer_fraction=float(min_interlayer_fraction),
        fit_options=tuple(sorted(fit_options.items())),
    )
    fitter = _Fitter(options, hook)
    full_def = fitter.definition(circuit)
    base_text = fitter.definition(baseline).circuit.text if baseline else ""
    opt_key = options.key(full_def.circuit.text + repr(dict(full_def.defaults)), base_text) + cache_salt

    order, time_h, basis = order_spectra(spectra)
    ordered = [spectra[i] for i in order]
    labels = [groups[i] for i in order] if groups is not None else [None] * len(ordered)
    # chains: one per cell, split into ordered chunks of chunk_size. The chunks do not depend on
    # the executor or the number of workers, so a parallel run computes what a serial one does.
    cells: dict[Any, list[int]] = {}
    for pos, lab in enumerate(labels):
        cells.setdefault(lab, []).append(pos)
    if len(cells) > 1:  # each cell's clock starts at its own first spectrum
        time_h = np.asarray(time_h, dtype=float).copy()
        for positions in cells.values():
            time_h[positions] -= time_h[positions[0]]
    keys: list[str] = [""] * len(ordered)
    chains: list[list[int]] = []
    for positions in cells.values():
        size = max(int(chunk_size), 2) if chunk_size else len(positions)
        for a in range(0, len(positions), size):
            chain = positions[a : a + size]
            for p, k in zip(chain, chain_keys([ordered[p] for p in chain], opt_key), strict=True):
                keys[p] = k
            chains.append(chain)
    definitions = dict(fitter._defs)
    cached = [cache_load(cache_dir, k, definitions) for k in keys]
    tasks = [_ChainTask(pos, [ordered[p] for p in pos], [keys[p] for p in pos], [cached[p] for p in pos])
             for pos in chains]

    outcomes: list[SpectrumOutcome | None] = [None] * len(ordered)
    bar = _progress(len(ordered), progress)
    cache_str = str(cache_dir) if cache_dir else None
    try:
        if executor is None or len(tasks) <= 1:
            for task in tasks:
                inline = _Fitter(options, _chain_hook(hook, bar))
                inline._defs = fitter._defs
                for p, o in zip(task.positions, _run_chain(inline, task, cache_str), strict=True):
                    outcomes[p] = o
        else:
            remote = _Fitter(options, None)
            futures = {executor.submit(_run_chain, remote, task, cache_str): task for task in tasks}
            from concurrent.futures import as_completed

            for fut in as_completed(futures):
                task = futures[fut]
                for p, o, key in zip(task.positions, fut.result(), task.keys, strict=True):
                    outcomes[p] = o
                    if cache_dir:
                        cache_store(cache_dir, key, o)  # remote workers may not share the disk
                bar.update(len(task.positions))
                if hook is not None:
                    for p in task.positions:
                        hook(p)
        # back-fill: an absent arc just before a present one is refitted from the later fit
        if baseline is not None:
            for positions in cells.values():
                for j in range(len(positions) - 2, -1, -1):
                    p, q = positions[j], positions[j + 1]
                    cur, nxt = outcomes[p], outcomes[q]
                    if cur is None or nxt is None or cur.backfilled or cur.interlayer is not False:
                        continue
                    if nxt.interlayer is not True:
                        continue
                    new = fitter.backfill(ordered[p], cur, nxt)
                    outcomes[p] = new
                    if cache_dir:
                        cache_store(cache_dir, keys[p], new)
    finally:
        bar.close()
    if cache_dir:
        from . import _fitcache

        _fitcache.prune(cache_dir, keys)  # entries of other runs and of the first (pickle) format

    # unreadable inputs become failed rows at the end (no time)
    results = [o.result for o in outcomes]
    inter = [o.interlayer if not isinstance(o.result, FitFailure) else None for o in outcomes]
    dbic = [o.delta_bic for o in outcomes]
    outs = list(outcomes)
    t_all = list(time_h)
    for f in failures:
        results.append(f)
        inter.append(None)
        dbic.append(math.nan)
        outs.append(SpectrumOutcome(f, None, math.nan, math.nan))
        t_all.append(math.nan)
    # attach the spectrum's source/index/timestamp to each fit for the table
    for i, s in enumerate(ordered):
        r = results[i]
        if not isinstance(r, FitFailure):
            meta = {**dict(r.meta or {}), "source": _src(s), "index": _idx(s), "timestamp": s.timestamp,
                    "time_h": float(time_h[i])}
            results[i] = replace(r, meta=meta)
    area_cm2 = geometry.area_cm2 if geometry is not None else None
    if area_cm2 is None:
        areas = [s.meta.get("area_cm2") for s in ordered if s.meta.get("area_cm2")]
        area_cm2 = float(areas[0]) if areas else None

    cell_labels = [*labels, *([None] * len(failures))]
    inter_arr = np.empty(len(results), dtype=object)
    inter_arr[:] = inter
    series = SeriesResult(
        results=tuple(results),
        time_h=np.asarray(t_all, dtype=float),
        time_basis=basis,
        interlayer=inter_arr,
        delta_bic=np.asarray(dbic, dtype=float),
        kinetics=None,
        circuit=circuit,
        baseline=baseline,
        outcomes=tuple(outs),
        area_cm2=area_cm2,
        thickness_cm=geometry.thickness_cm if geometry is not None else None,
        eps_r=eps_r,
        interlayer_param=interlayer_param,
        options={"delta_bic": delta_bic, "min_interlayer_ohm": min_interlayer_ohm,
                 "min_interlayer_fraction": min_interlayer_fraction,
                 **{k: v for k, v in fit_options.items() if k not in ("geometry", "eps_r")}},
        cells=tuple(cell_labels) if len(cells) > 1 else (),
    )
    if baseline is None:
        return series
    if len(cells) <= 1:
        return replace(series, kinetics=_series_kinetics(series, fit_kinetics))
    # one growth law per cell; the top level reports the cell with the most detections
    per_cell = {lab: _series_kinetics(series, fit_kinetics, series._cell_mask(lab)) for lab in cells}
    counts = {lab: sum(series.interlayer[i] is True for i in np.flatnonzero(series._cell_mask(lab)))
              for lab in cells}
    main = max(cells, key=lambda lab: counts[lab])
    return replace(series, kinetics=per_cell[main], cell_kinetics=per_cell, main_cell=main)


def resolve_geometry(geometry: CellGeometry | None, area_cm2: float | None, thickness_cm: float | None,
                     where: str, spectra: Sequence[Spectrum] = ()) -> CellGeometry | None:
    """The one ``CellGeometry`` of a series or batch; ``area_cm2=``/``thickness_cm=`` are deprecated."""
    if area_cm2 is None and thickness_cm is None:
        return geometry

    warnings.warn(f"{where}(area_cm2=, thickness_cm=) is deprecated; pass "
                  f"geometry=CellGeometry(thickness_cm, area_cm2) instead.", DeprecationWarning, stacklevel=3)
    if geometry is not None:
        raise EisnaError(f"{where}: give either geometry= or area_cm2=/thickness_cm=, not both.")
    if not area_cm2:  # a thickness alone: the area comes from the files' headers, as before
        areas = [s.meta.get("area_cm2") for s in spectra if s.meta.get("area_cm2")]
        area_cm2 = float(areas[0]) if areas else None
    return make_geometry(area_cm2, thickness_cm)


def _chain_hook(hook, bar):
    def _h(pos: int) -> None:
        bar.update(1)
        if hook is not None:
            hook(pos)

    return _h


def _series_kinetics(
    series: SeriesResult, fit_kinetics, mask: np.ndarray | None = None
) -> KineticsResult | None:
    """Growth laws on R_int(t); model "none" when fewer than 3 spectra have the arc."""
    from .kinetics import KineticsError, KineticsResult

    if mask is None:
        mask = np.ones(len(series), dtype=bool)
    R, err = series.values(series.interlayer_param)
    ok = np.array([series.interlayer[i] is not None for i in range(len(series))]) & np.isfinite(R) & mask
    present = np.array([series.interlayer[i] is True for i in range(len(series))]) & mask
    t = series.time_h
    if present.sum() < 3 or ok.sum() < 6:
        return KineticsResult(
            model="none", onset_h=None, onset_stderr_h=None, t95_h=None, R_final=0.0, best=None,
            table=(), t_h=t[ok], R=R[ok], stderr=err[ok], weighted=True,
        )
    try:
        return fit_kinetics(t[ok], R[ok], err[ok])
    except KineticsError:
        return None
