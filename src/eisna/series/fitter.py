"""The per-spectrum fitter: guarded warm starts, both circuits, the interlayer decision, chains."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import EisnaError, EisnaWarning
from ..fitting.engine import PendingFit
from ..fitting.result import Flag, FlagKind
from ..spectrum import Spectrum
from .cache import cache_store
from .choice import BLOCKING_CIRCUIT, blocking_tail, fit_window
from .outcome import FitFailure, SeriesOptions, SpectrumOutcome

if TYPE_CHECKING:
    pass


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
    got = [(params.get(r), params.get(q), params.get(n)) for r, q, n in triples]
    if any(v is None or not np.isfinite(v) for t in got for v in t):
        return None
    vals = [
        (float(r), float(q), float(n)) for r, q, n in got if r is not None and q is not None and n is not None
    ]
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
            from ..fitting.engine import resolve_circuit  # names, TOML paths and circuit strings

            self._defs[name] = resolve_circuit(name)
        return self._defs[name]

    # -- single fits -------------------------------------------------------------------
    def _fit(
        self,
        spectrum: Spectrum,
        name: str,
        initial: Mapping[str, float] | None,
        max_nfev: int | None = None,
        statistics: bool = True,
        pending: bool = False,
    ):
        """One fit; with ``pending`` a :class:`~eisna.fitting.engine.PendingFit` (a candidate
        that may lose a comparison: its statistics wait for :func:`_finished`)."""
        from ..fitting import fit
        from ..fitting.engine import fit_pending

        definition = self.definition(name)
        opts = dict(self.options.fit_options)
        if max_nfev:
            # a truncated solve only has to show that this (wrong) model is much worse: the
            # DRT-peak fallback starts, the polish and its restarts would only make it less
            # wrong (~4 more solves when it is poor)
            opts["max_nfev"] = max_nfev
            opts["drt_fallback"] = False
            opts["polish"] = False
        if not statistics:  # only its χ²/BIC, standard errors and flags are read
            opts["statistics"] = False
        if initial:
            # a warm start is judged by this module (best of several seeds), so the engine
            # must not spend time on its own restarts
            opts["n_restarts"] = 0
        res: Any
        with warnings.catch_warnings():  # per-spectrum warnings stay in the results' flags
            warnings.simplefilter("ignore", EisnaWarning)
            if pending:
                res = fit_pending(spectrum, definition, initial=dict(initial) if initial else None, **opts)
                res.label = name
            else:
                res = fit(spectrum, definition, initial=dict(initial) if initial else None, **opts)
        triples = _arc_triples(definition.param_names)
        fixed = _sorted_by_tau(res.params, triples) if len(triples) > 1 else None
        if fixed is not None:  # arcs swapped labels: refit with them in τ order
            opts["n_restarts"] = 0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", EisnaWarning)
                # (a candidate against the first fit: its statistics only if it is kept)
                res2 = fit_pending(spectrum, definition, initial=fixed, **opts)
                res2.label = name
                if _sorted_by_tau(res2.params, triples) is None or res2.chisqr <= res.chisqr:
                    res = res2 if pending else res2.finish()
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
        flags = [Flag.parse(f) for f in prev.flags]
        at_bound = {f.param for f in flags if f.kind is FlagKind.AT_BOUND}
        loose = {f.param for f in flags if f.kind is FlagKind.UNIDENTIFIABLE}
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

    def safe_fit(
        self,
        spectrum: Spectrum,
        name: str,
        initial,
        max_nfev: int | None = None,
        statistics: bool = True,
        pending: bool = False,
    ) -> Any:
        """:meth:`_fit`, or a :class:`FitFailure` when it raises (``pending``: see there)."""
        try:
            with warnings.catch_warnings():
                # lmfit's covariance of a deliberately over-complete model (the full circuit on
                # data without the arc) has negative diagonals; the fit result flags it already
                warnings.simplefilter("ignore", RuntimeWarning)
                return self._fit(spectrum, name, initial, max_nfev, statistics, pending)
        except _FIT_ERRORS as err:
            return _failure(spectrum, name, err)

    # -- seeds between the nested circuits ------------------------------------------------
    def _inter_sfx(self) -> str:
        p = self.options.interlayer_param
        return p[2:] if p.startswith("R_") else p

    def base_from_full(self, full, drop: str | None = None) -> dict[str, float] | None:
        """Baseline start: the full fit without one arc (the interlayer by default)."""
        if not _ok(full):
            return None
        if self.options.baseline is None:  # (callers check; no baseline circuit, no baseline start)
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
        taus = {
            t[0]: _tau(base.params[t[0]], base.params[t[1]], base.params[t[2]])
            for t in full_tr
            if t[0] in base.params
        }
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
        full, base = _finished(full), _finished(base)  # (the kept candidates' statistics)
        floor = self.min_interlayer(spectrum)
        if opt.baseline is None:
            result = full if full is not None else base
            return SpectrumOutcome(result, None, math.nan, floor, full, base, backfilled)
        if not _ok(full) and not _ok(base):
            result = full if isinstance(full, FitFailure) else base
            if not isinstance(result, FitFailure):
                msg = getattr(result, "message", "") or "the optimiser did not converge"
                result = FitFailure(
                    _src(spectrum), _idx(spectrum), f"fit diverged: {msg}", "fit", spectrum.timestamp
                )
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
        if self.options.auto_blocking and self.options.circuit != BLOCKING_CIRCUIT:
            # the automatic choice (choice.py): a blocking-electrode tail takes pellet_blocking,
            # warm-started only from a predecessor fitted with the same circuit
            held = _src(spectrum) in self.options.held_files  # (a file is one sample)
            if not held and blocking_tail(spectrum, **fit_window(self.options.fit_options)).blocking:
                return self._fit_alone(spectrum, prev, BLOCKING_CIRCUIT)
            if prev is not None and _circuit_name(prev.result) == BLOCKING_CIRCUIT:
                prev = None
        out = self._fit_warm(spectrum, prev)
        if prev is None or not _jumped(prev, spectrum):
            return out
        # The spectrum moved far from its predecessor (a temperature step, a new cell in one
        # chain): the warm start is no closer than an automatic one, and which minimum it
        # reaches follows any perturbation upstream. The chain start's fits too, the better kept.
        cold = self._fit_warm(spectrum, None)
        full, base = _better(out.full, cold.full), _better(out.base, cold.base)
        if self.options.baseline is not None and _light(base):
            again = self.safe_fit(spectrum, self.options.baseline, dict(base.params), pending=True)
            base = _better(cold.base, again)
        return self.decide(spectrum, full, base if self.options.baseline is not None else None)

    def _fit_alone(self, spectrum: Spectrum, prev: SpectrumOutcome | None, name: str) -> SpectrumOutcome:
        """``name`` fitted without a baseline comparison (``interlayer`` None), warm-started from
        ``prev`` when that was fitted with ``name`` too (and cold as well after a jump)."""
        same = prev is not None and _circuit_name(prev.full) == name
        start = self.guarded_start(prev.full, name) if same and prev is not None else None
        full = self.safe_fit(spectrum, name, start)
        if start and (not _good(full) or (prev is not None and _jumped(prev, spectrum))):
            full = _better(full, self.safe_fit(spectrum, name, None, pending=True))
        full = _finished(full)
        return SpectrumOutcome(full, None, math.nan, self.min_interlayer(spectrum), full, None)

    def _fit_warm(self, spectrum: Spectrum, prev: SpectrumOutcome | None) -> SpectrumOutcome:
        opt = self.options
        # (fits that are candidates against another fit of the same model are pending: only
        # the one kept computes its statistics, in decide)
        if opt.baseline is None:
            start = self.guarded_start(prev.full, opt.circuit) if prev is not None else None
            full = self.safe_fit(spectrum, opt.circuit, start)
            if start and not _good(full):
                full = _better(full, self.safe_fit(spectrum, opt.circuit, None, pending=True))
            return self.decide(spectrum, full, None)

        def fit_full(start, pending=False):
            return self.safe_fit(spectrum, opt.circuit, start, pending=pending)

        base_name = opt.baseline

        def fit_base(start, nfev=None, stats=True, pending=False):
            return self.safe_fit(spectrum, base_name, start, nfev, stats, pending)

        if prev is None or (not _ok(prev.full) and not _ok(prev.base)):
            # chain start: automatic starts, then each model seeded from the other
            full = fit_full(None, pending=True)
            base = fit_base(None, pending=True)
            base = _better(base, fit_base(self.base_from_full(full), pending=True))
            if _ok(full):
                small = min(_arc_triples(full.param_names), key=lambda t: full.params[t[0]])[0][2:]
                if small != self._inter_sfx():
                    base = _better(base, fit_base(self.base_from_full(full, drop=small), pending=True))
            full = _better(full, fit_full(self.full_from_base(base), pending=True))
            return self.decide(spectrum, full, base)
        if prev.interlayer:
            full = fit_full(self.guarded_start(prev.full, opt.circuit))
            if not _good(full):
                full = _better(full, fit_full(None, pending=True))
            # Once the arc is firmly established the baseline (a wrong model there) only has to
            # show that it is much worse: a truncated solve can only make ΔBIC more negative.
            budget = 30 if prev.delta_bic < 10 * opt.delta_bic else None
            # the previous spectrum's baseline optimum is where this one's wrong-model optimum
            # lies (it moves smoothly), much closer than the full fit with the arc removed
            seed = self.guarded_start(prev.base, opt.baseline) if budget and _good(prev.base) else None
            seed = seed or self.base_from_full(full)
            # there it only enters the BIC comparison (and seeds the next baseline): without the
            # arc physics and the bound probe (fitted again with them should it become the result)
            base = fit_base(seed, budget, not budget)
            out = self.decide(spectrum, full, base)
            if not out.interlayer:  # the arc vanished? check with the other seeds first
                base = _better(base, fit_base(self.guarded_start(prev.base, opt.baseline), pending=True))
                full = _better(full, fit_full(self.full_from_base(base), pending=True))
                out = self.decide(spectrum, full, base)
                if _light(out.result):  # the same solve again, with its full statistics
                    out = self.decide(spectrum, full, fit_base(seed, budget))
            return out
        base = fit_base(self.guarded_start(prev.base, opt.baseline))
        if not _good(base):
            base = _better(base, fit_base(None, pending=True))
        full = fit_full(self.full_from_base(base))
        out = self.decide(spectrum, full, base)
        if out.interlayer:  # a new arc? make sure the baseline is at its best first
            base = _better(base, fit_base(self.base_from_full(full), pending=True))
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
        full = _better(current.full, self.safe_fit(spectrum, opt.circuit, start, pending=True))
        base = (
            current.base
            if opt.baseline is None
            else _better(
                current.base, self.safe_fit(spectrum, opt.baseline, self.base_from_full(full), pending=True)
            )
        )
        return self.decide(spectrum, full, base, backfilled=True)


_FIT_ERRORS = (EisnaError, ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError)


def _failure(spectrum: Spectrum, name: str, err: Exception) -> FitFailure:
    """The failed row of a fit of ``spectrum`` with circuit ``name`` that raised ``err``."""
    reason = f"{name}: {err}" if isinstance(err, EisnaError) else f"{name}: {type(err).__name__}: {err}"
    return FitFailure(_src(spectrum), _idx(spectrum), reason, "fit", spectrum.timestamp)


def _finished(res, _tried: frozenset[int] = frozenset()):
    """``res`` with its statistics: a pending candidate's :class:`FitResult`, or a
    :class:`FitFailure` if they raise (then the best of the candidates it beat is finished in
    its place, as if it had failed before the comparison); anything else as it is."""
    if not isinstance(res, PendingFit):
        return res
    try:
        with warnings.catch_warnings():  # (as safe_fit)
            warnings.simplefilter("ignore", RuntimeWarning)
            return res.finish()
    except _FIT_ERRORS as err:
        failed = _failure(res.spectrum, res.label, err)
    tried = _tried | {id(res)}  # (equal χ² can make two candidates each other's runner-up)
    fallback = None
    for other in res.runners_up:
        if id(other) not in tried:
            fallback = _better(fallback, other)
    return _finished(_better(failed, fallback), tried)


def _circuit_name(res) -> str | None:
    """Circuit of a fit (None for a failure or no fit)."""
    return getattr(res, "circuit_name", None) if _ok(res) else None


def _ok(res) -> bool:
    return res is not None and not isinstance(res, FitFailure) and bool(getattr(res, "success", False))


def _light(res) -> bool:
    """A fit without its arc physics and bound probe (``fit(..., statistics=False)``)."""
    res = _finished(res)
    return _ok(res) and res.meta.get("statistics") is False


def _good(res) -> bool:
    """Converged without the engine's "poor_fit" flag."""
    res = _finished(res)
    return _ok(res) and "poor_fit" not in res.flags


JUMP_FACTOR = 1.25  # median |Z| ratio between neighbours above which a warm start is not trusted alone


def _jumped(prev: SpectrumOutcome, spectrum: Spectrum) -> bool:
    """True when ``spectrum``'s |Z| differs from the previous spectrum's data by more than
    :data:`JUMP_FACTOR` (median over their common frequency range)."""
    ref = next((r for r in (prev.full, prev.base, prev.result) if _ok(r)), None)
    if ref is None:
        return False
    f0, m0 = np.asarray(ref.freq, float), np.abs(np.asarray(ref.z))
    f1, m1 = np.asarray(spectrum.freq, float), np.abs(np.asarray(spectrum.z))
    good0 = np.isfinite(f0) & (f0 > 0) & np.isfinite(m0) & (m0 > 0)
    good1 = np.isfinite(f1) & (f1 > 0) & np.isfinite(m1) & (m1 > 0)
    if good0.sum() < 2 or not good1.any():
        return False
    x0, y0 = np.log(f0[good0]), np.log(m0[good0])
    order = np.argsort(x0)
    x0, y0 = x0[order], y0[order]
    x1, y1 = np.log(f1[good1]), np.log(m1[good1])
    inside = (x1 >= x0[0]) & (x1 <= x0[-1])
    if not inside.any():
        return True  # no common frequencies: nothing says the previous optimum is close
    return bool(np.median(np.abs(y1[inside] - np.interp(x1[inside], x0, y0))) > np.log(JUMP_FACTOR))


def _better(a, b):
    """The fit with the lower χ² (a failure loses); a pending winner keeps the loser as its
    runner-up (see :func:`_finished`)."""
    if not _ok(b):
        return a if a is not None else b
    if not _ok(a):
        return b
    win, lose = (b, a) if b.chisqr < a.chisqr else (a, b)
    if isinstance(win, PendingFit) and lose is not win:
        win.runners_up.append(lose)
    return win


def _src(s: Spectrum) -> str:
    return str(s.meta.get("source", "<spectrum>"))


def _idx(s: Spectrum) -> int | None:
    i = s.meta.get("index")
    return int(i) if i is not None else None


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
