"""The fit engine: :func:`fit` a circuit to a spectrum.

The least-squares problem and its Levenberg–Marquardt solves live in
:mod:`eisna.fitting.solver`, the start values in :mod:`eisna.fitting.start`, the physics of
the arcs in :mod:`eisna.fitting.physics`; this module runs them in order. How a fit runs:

1. The circuit (library name, TOML path, circuit string, :class:`Circuit` or
   :class:`CircuitDefinition`) is resolved; parameters with ``scale = "log"`` are fitted as
   log10(value), the others (exponents n) linearly, all within their bounds.
2. Start values: ``initial`` if given (warm start), else candidates from the data
   (:mod:`eisna.fitting.start`: HF intercept, inductance, blocking spike, arc apexes from a
   quick DRT sketch, with all resistances solved linearly for each candidate).
3. The best candidate is solved with Levenberg–Marquardt (MINPACK ``lmder``, the solver of
   ``scipy.optimize.least_squares(method="lm")``, called without its wrappers) on sine-mapped
   bounded coordinates, with the circuit's analytic Jacobian. The runner-up gets a short
   screening run and is only pursued if it gets close;
   when the solution is poor (misfit well above the DRT sketch's, or a log parameter on a
   bound) up to ``n_restarts`` further candidates are solved and the lowest χ² wins. If the
   fit is still clearly poor, starts built on the peaks of :func:`eisna.drt` are tried too.
   Interchangeable series arcs (two R‖CPE) of the winner are put in the τ order of their roles
   (bulk → grain boundary → interlayer → charge transfer). The capacitance of an arc that the
   start values put far above the window (an NAS bulk arc) is held, parked at 100× f_max, unless
   varying it would lower χ² significantly (see :func:`_above_window`).
   When the winner shows a symptom of a side valley (misfit above the spectrum's noise, a
   diffusion element switched off or degenerate, an arc collapsed onto a bound), the suspect
   elements are re-seeded over a τ grid and the DRT sketch's peaks and the lowest χ² is kept
   (:mod:`eisna.fitting.reseed`; only when ``n_restarts > 0``, for warm and cold starts alike).
4. The winner is polished by :func:`eisna.fitting.solver._polish_solve` (MINPACK lmder with
   tight tolerances, then SciPy's trust-region-reflective ``least_squares`` if that does not
   converge cleanly; same residual and Jacobian; lmfit is not in this path), and the covariance
   comes from the analytic Jacobian.
   Parameters that the data do not determine at all are held fixed for the others' errors;
   standard errors of the linear values and of every derived quantity follow from the delta
   method. Unless the fit is already as close to the data as the DRT sketch, one more LM run
   restarts at the solution (skipped when the polish converged) and once with parameters stuck
   on a bound or without effect reset to their defaults; if it lowers χ², its point and a
   Jacobian covariance are used instead. A warm solve that released an ideal capacitance onto
   the resistive plateau (its R‖C apex > 10³× above the window) is polished with it parked at
   10⁵× and held, if that is no worse (:func:`_plateau_polish`).

The residual handed to the solvers is the stacked weighted vector
``[w_re (Z'_fit − Z'), w_im (Z''_fit − Z'')]`` (see :mod:`eisna.fitting.weights`); it is never
squared here.

Flags in :attr:`FitResult.flags`: ``at_bound:<param>`` (within 2 % of a bound for log10
parameters, 0.1 % of the range for linear ones), ``unidentifiable:<param>`` (relative
standard error > 100 %, or > 0.2 for an exponent), ``poor_fit`` (misfit > 3× the noise
estimated from the spectrum's point-to-point scatter + 0.5 %, or a spectrum that scatters by
> 10 %: :mod:`eisna.fitting.quality`), ``role_mismatch`` (an arc's capacitance contradicts its
role), ``budget_exhausted`` (the best minimum found, but the solver ran out of evaluations before
its convergence test; ``success`` stays True), ``beyond_bound:<param>`` (with ``at_bound:``: an
unbounded probe from the solution puts the parameter beyond its bound with a lower χ²; where, is
in ``meta["bound_probe"]`` and in words in the warnings).

Bounds of library circuits follow the spectrum (:func:`eisna.fitting.bounds.data_bounds`).
Standard errors are the larger of the usual and the sandwich (HC1) estimate, and include the
plausible range of the capacitance of any arc whose apex lies above the window (held or not).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..circuit.library import CircuitDefinition, definition_from_circuit, list_circuits, load_circuit
from ..circuit.parser import Circuit, parse_circuit
from ..errors import EisnaError, FitError
from ..spectrum import CellGeometry, Spectrum
from .bounds import bound_advice, data_bounds
from .physics import ISW_RANGES, compute_physics, diffusion_above_window
from .quality import estimate_noise, judge_misfit
from .reseed import escape
from .result import FitResult
from .solver import (
    _N_STDERR_LIMIT,
    _REL_STDERR_LIMIT,
    _above_window,
    _condition_on_undetermined,
    _covariance,
    _polish_solve,
    _probe_bounds,
    _Problem,
    _profile_above_window,
    _refine,
    _sandwich_scale,
    _solve,
)
from .start import Candidates, SpectrumSketch, _items, arc_tau, capacitive_arcs, sketch, start_candidates
from .weights import WEIGHTINGS, weights

__all__ = ["PendingFit", "fit", "fit_pending", "resolve_circuit"]

# misfit relative to the DRT sketch's below which a first solution is not compared with the
# runner-up candidate (_SCREEN_FLOOR) or restarted (_REFINE_FLOOR); 1.02 for the restart was
# checked on 480 wide-prior draws (χ² never higher by > 1e-6), 1.05 for the comparison on the
# known-answer sweeps (unchanged rates)
_SCREEN_FLOOR = 1.05
_REFINE_FLOOR = 1.02
# evaluation budgets of the polish (lmder, then trf): leastsq converges in 2-4 evaluations from a clean
# solution; when it does not (a parameter pinned near a bound stalls its sine map, common on
# measured spectra), least_squares takes over with the larger budget
_POLISH_NFEV_LSQ = 5
# a warm-started minimum is compared with _WARM_COMPARE automatic candidates when its misfit
# exceeds _WARM_SUSPECT × the spectrum's noise (+0.1 %), or its solve ran out of budget
_WARM_SUSPECT = 1.5
_WARM_COMPARE = 2
_POLISH_NFEV = 12


def resolve_circuit(circuit: str | os.PathLike[str] | Circuit | CircuitDefinition) -> CircuitDefinition:
    """Turn a library name, TOML path, circuit string or Circuit into a CircuitDefinition."""
    if isinstance(circuit, CircuitDefinition):
        return circuit
    if isinstance(circuit, Circuit):
        return definition_from_circuit(circuit)
    text = os.fspath(circuit)
    if text.endswith(".toml") or text in list_circuits():
        return load_circuit(text)
    return definition_from_circuit(parse_circuit(text))


_ROLE_ORDER = ("bulk", "grain_boundary", "interlayer", "charge_transfer")  # high to low frequency


def _order_arcs_by_role(problem: _Problem, x: np.ndarray) -> np.ndarray:
    """Give interchangeable series arcs the time-constant order of their roles.

    Two arcs of the same form in series (R‖CPE and R‖CPE, or R‖C and R‖C) give the same
    impedance with their parameter sets exchanged, so a solver may land on either labelling.
    The roles' order (bulk → grain boundary → interlayer → charge transfer, short to long τ) is
    applied only when it brings the arcs' capacitances (C = τ/R) closer to the
    Irvine–Sinclair–West ranges of their roles (×10, cell constant 1 cm⁻¹), so a superfluous arc
    (e.g. an interlayer arc fitted before the interlayer exists) never takes over a real arc's
    label. Returns ``x`` unchanged where roles are missing or repeated, a parameter is fixed, or
    the exchanged values would cross a bound.
    """
    defn = problem.defn
    values = problem.to_values(x)
    free = set(problem.free_idx.tolist())
    groups: dict[tuple[str, ...], list[tuple[int, dict]]] = {}
    for p in capacitive_arcs(defn):
        role = defn.param_roles.get(defn.param_names[p["R"]])
        if role in _ROLE_ORDER and all(i in free for i in p.values()):
            groups.setdefault(tuple(sorted(p)), []).append((_ROLE_ORDER.index(role), p))

    def mismatch(roles: list[str], arcs: list[dict]) -> float:
        # decades by which the capacitances miss their roles' ranges (0 when all fit)
        total = 0.0
        for role, p in zip(roles, arcs, strict=True):
            lo, hi = ISW_RANGES[role]
            c = arc_tau(values, p) / values[p["R"]]
            total += max(0.0, math.log10(lo / (10 * c)), math.log10(c / (10 * hi))) if c > 0 else 0.0
        return total

    new = values.copy()
    for members in groups.values():
        ranks = [r for r, _ in members]
        if len(members) < 2 or len(set(ranks)) < len(ranks):
            continue
        members.sort(key=lambda m: m[0])
        roles = [_ROLE_ORDER[r] for r, _ in members]
        by_role = [p for _, p in members]
        by_tau = sorted(by_role, key=lambda p: arc_tau(values, p))
        if not mismatch(roles, by_tau) < mismatch(roles, by_role) - 1e-9:
            continue
        for dst, src in zip(by_role, by_tau, strict=True):
            for key in dst:
                new[dst[key]] = values[src[key]]
    if np.array_equal(new, values):
        return x
    moved = np.flatnonzero(new != values)
    x_new = problem.to_x(new)
    x_new[~np.isin(problem.free_idx, moved)] = x[~np.isin(problem.free_idx, moved)]
    if not np.allclose(problem.to_values(x_new)[moved], new[moved], rtol=1e-12, atol=0):
        return x  # an exchanged value lies outside the other parameter's bounds
    return x_new


def _poor(problem: _Problem, x: np.ndarray, sk: SpectrumSketch | None) -> bool:
    """A solution worth a restart: misfit above the free DRT sketch's, or a log parameter on a bound."""
    floor = sk.rms if sk is not None else 0.0
    return problem.misfit(x) > 1.1 * floor + 1e-4 or bool(
        [i for i in problem.at_bound(x) if problem.is_log[i]]
    )


def _suspect_warm(problem: _Problem, res, noise: float) -> bool:
    """A cheap test of a warm-started minimum: misfit above what the noise explains, or a solve
    that ran out of evaluations."""
    sigma = noise if math.isfinite(noise) else 0.0
    return res.status == 0 or problem.misfit(res.x) > _WARM_SUSPECT * sigma + 1e-3


_KIND_UNITS = {"L": "H", "R": "Ω", "C": "F", "Q": "F·s^(n-1)", "n": "", "tau": "s"}


def _param_kinds(defn: CircuitDefinition) -> dict[str, str]:
    """Parameter name → "L", "R", "C", "Q", "n" or "tau" (from the circuit's items)."""
    names = defn.param_names
    out = {}
    for it in _items(defn):
        for key, i in it.params.items():
            if key in _KIND_UNITS and isinstance(i, (int, np.integer)):
                out[names[i]] = key
    return out


def _bound_report(
    problem: _Problem,
    x: np.ndarray,
    chisqr: float,
    redchi: float,
    held: Sequence[int],
    flags: list[str],
    warns: list[str],
) -> dict[str, dict[str, Any]]:
    """Flag parameters on a bound and say, from an unbounded probe, where the data put them.

    Appends ``at_bound:<p>`` (and ``beyond_bound:<p>`` when the probe lowers χ² by more than the
    noise variance with ``p`` outside its bound) to ``flags`` and one sentence per parameter to
    ``warns``; returns name → {side, bound, optimum (None when the data do not pull it further),
    dchi2 (χ² decrease of the probe in units of the noise variance)}.
    """
    at = problem.at_bound(x)
    if not at:
        return {}
    names = problem.names
    x_probe, cost = _probe_bounds(problem, x, at, held)
    dchi2 = (chisqr - 2 * cost) / redchi if redchi > 0 else 0.0
    kinds = _param_kinds(problem.defn)
    values_probe = problem.to_values(x_probe)
    report: dict[str, dict[str, Any]] = {}
    for j in at:
        i = problem.free_idx[j]
        name = names[i]
        upper = x[j] - problem.lo[j] >= problem.hi[j] - x[j]
        bound = problem.bound_values(j)[1 if upper else 0]
        tol = 0.01 if problem.is_log[j] else 1e-3 * (problem.hi[j] - problem.lo[j])
        out = x_probe[j] - problem.hi[j] if upper else problem.lo[j] - x_probe[j]
        optimum = float(values_probe[i]) if dchi2 > 1.0 and out > tol else None
        flags.append(f"at_bound:{name}")
        if optimum is not None:
            flags.append(f"beyond_bound:{name}")
        kind = kinds.get(name, "")
        side = "upper" if upper else "lower"
        warns.append(
            "ParameterAtBoundWarning: "
            + bound_advice(name, kind, side, bound, optimum, _KIND_UNITS.get(kind, ""))
        )
        report[name] = {"side": side, "bound": bound, "optimum": optimum, "dchi2": float(dchi2)}
    return report


def _drt_starts(
    data: Spectrum,
    defn: CircuitDefinition,
    freq,
    z,
    problem: _Problem,
    fixed_v: Mapping[str, float],
    n: int = 3,
) -> list[np.ndarray]:
    """Start vectors built on the peaks of :func:`eisna.drt` (slower, used only as a fallback)."""
    try:
        from .. import drt  # public lazy name; the module behind it may move

        # only the peaks' τ and R are used: skip the bootstrap band (it only sets ``credible``)
        peaks = tuple((float(p.tau), float(p.R)) for p in drt(data, n_boot=0).peaks)
    except (ImportError, AttributeError, EisnaError, ValueError, np.linalg.LinAlgError):
        return []
    if not peaks:
        return []
    cands, _ = start_candidates(defn, freq, z, problem.base, max_candidates=n, peaks=peaks)
    names = defn.param_names
    out = []
    for v in cands:
        for name, val in fixed_v.items():
            v[names.index(name)] = val
        out.append(problem.to_x(v))
    return out


def _check_names(where: str, given: Mapping[str, Any] | None, names: Sequence[str]) -> dict[str, float]:
    if not given:
        return {}
    import difflib

    out = {}
    for key, val in given.items():
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise FitError(
                f"fit: {where} names unknown parameter {key!r}; parameters are {list(names)}.{hint}"
            )
        out[key] = float(val)
    return out


def fit(
    spectrum: Spectrum,
    circuit: str | os.PathLike[str] | Circuit | CircuitDefinition,
    *,
    weighting: str = "modulus",
    fmin: float | None = None,
    fmax: float | None = None,
    initial: Mapping[str, float] | None = None,
    fixed: Mapping[str, float] | None = None,
    geometry: CellGeometry | None = None,
    eps_r: float | None = 10.0,
    symmetric: bool | None = None,
    n_restarts: int = 4,
    max_nfev: int = 150,
    drt_fallback: bool = True,
    polish: bool = True,
    statistics: bool = True,
) -> FitResult:
    """Fit an equivalent circuit to one spectrum.

    Parameters
    ----------
    spectrum : Spectrum
        The data (Ω, Hz).
    circuit : str, Circuit or CircuitDefinition
        A library name (``"symmetric_interlayer"``), a TOML path, or a circuit string
        (``"L0-R0-p(R1,CPE1)"``; parameters then get impedance.py names such as ``CPE1_0``).
    weighting : {"modulus", "proportional", "unit"}
        Residual weights, see :mod:`eisna.fitting.weights`.
    fmin, fmax : float, optional
        Frequency range (Hz) used for the fit.
    initial : dict, optional
        Start values by parameter name (a warm start, e.g. ``previous.params``); the automatic
        start values are used as fallback when this start gives a poor fit.
    fixed : dict, optional
        Parameters held at the given values.
    geometry : CellGeometry, optional
        Thickness and area, for σ = L/(R A), ASR and thickness; defaults to the spectrum's
        (``CellGeometry(None, area)`` gives ASR and thickness without σ).
    eps_r : float or None
        Relative permittivity of the interlayer, for its thickness d = ε0 εr A/C_1 (default 10,
        ``physics.DEFAULT_EPS_R``, the same in fit_series, batch and the CLI; None: no d).
    symmetric : bool, optional
        Two identical interfaces in series (ASR per interface = R A/2, C_1 = 2 C_eff).
        Defaults to the circuit file's ``symmetric`` key.
    n_restarts : int
        Extra start candidates tried when the first solution is poor.
    max_nfev : int
        Evaluation budget per local solve.
    drt_fallback : bool
        When every start still gives a clearly poor fit, also try starts built on the peaks of
        :func:`eisna.drt` (about 0.5 s more).
    polish : bool
        False: keep the best solve as it is, without the polish and the restarts that follow
        it; for a fit whose only job is to show that a model is worse (a series' baseline
        once the interlayer is established), whose χ² is then an upper bound.
    statistics : bool
        False: a lighter result for a fit that only enters a χ²/BIC comparison — no arc
        physics or derived quantities (``arcs`` empty, ``derived`` empty, so no
        ``role_mismatch`` flag) and no unbounded bound probe (``at_bound:`` flags without
        ``beyond_bound:``, ``meta["bound_probe"]`` empty); parameters, standard errors,
        the other flags and χ², AIC, BIC are those of the full result (``nfev`` lacks the
        probe's evaluations). ``meta["statistics"]`` is then False.

    Returns
    -------
    FitResult

    Raises
    ------
    FitError
        Too few points, unknown option or parameter names, or a solver crash.
    """
    return fit_pending(
        spectrum,
        circuit,
        weighting=weighting,
        fmin=fmin,
        fmax=fmax,
        initial=initial,
        fixed=fixed,
        geometry=geometry,
        eps_r=eps_r,
        symmetric=symmetric,
        n_restarts=n_restarts,
        max_nfev=max_nfev,
        drt_fallback=drt_fallback,
        polish=polish,
        statistics=statistics,
    ).finish()


def fit_pending(
    spectrum: Spectrum,
    circuit: str | os.PathLike[str] | Circuit | CircuitDefinition,
    *,
    weighting: str = "modulus",
    fmin: float | None = None,
    fmax: float | None = None,
    initial: Mapping[str, float] | None = None,
    fixed: Mapping[str, float] | None = None,
    geometry: CellGeometry | None = None,
    eps_r: float | None = 10.0,
    symmetric: bool | None = None,
    n_restarts: int = 4,
    max_nfev: int = 150,
    drt_fallback: bool = True,
    polish: bool = True,
    statistics: bool = True,
) -> PendingFit:
    """:func:`fit` up to its final point, without its statistics (same parameters).

    For a fit that is one of several candidates (a series tries a spectrum from more than one
    start and keeps the lowest χ²): the candidates are ranked on :attr:`PendingFit.chisqr` and
    only the one kept pays for the covariance, the bound probe and the arc physics
    (:meth:`PendingFit.finish`, the same :class:`FitResult` :func:`fit` returns).

    Raises
    ------
    FitError
        As :func:`fit` (its statistics' errors are raised by :meth:`PendingFit.finish`).
    """
    prep = _prepare(spectrum, circuit, weighting, fmin, fmax, initial, fixed)
    starts, sk = _start_points(prep)
    search = _search(prep, starts, sk, n_restarts, max_nfev, drt_fallback)
    if n_restarts > 0:  # a minimum above the noise with a suspect element: re-seed it
        _escape(prep, search, max_nfev)
    x, polish_cost, polish_ok, held = _polish_and_refine(prep, search, max_nfev, polish)
    settings = _Settings(geometry, eps_r, symmetric, max_nfev, weighting, statistics)
    return PendingFit(spectrum, prep, search, _Solved(x, polish_cost, polish_ok, held), settings)


@dataclass(frozen=True)
class _Solved:
    """Where the search, the polish and the refinement ended."""

    x: np.ndarray
    polish_cost: float
    polish_ok: bool
    held: Sequence[int]


@dataclass(frozen=True)
class _Settings:
    """The options of :func:`fit` that only its statistics and its result read."""

    geometry: CellGeometry | None
    eps_r: float | None
    symmetric: bool | None
    max_nfev: int
    weighting: str
    statistics: bool


class PendingFit:
    """A solved fit before its statistics (:func:`fit_pending`).

    Attributes
    ----------
    chisqr : float
        χ² of the final point (weighted, as :attr:`FitResult.chisqr`, bit for bit).
    params : dict
        Parameter values at the final point by name (Ω, F, H, s; exponents dimensionless).
    param_names : tuple of str
        The circuit's parameter names.
    success : bool
        Finite parameters and χ² (as :attr:`FitResult.success`).
    freq, z : ndarray
        The fitted window: frequencies (Hz) and impedance (Ω).
    spectrum : Spectrum
        The spectrum fitted.
    label : str
        The circuit as the caller named it (for messages; the circuit's name by default).
    """

    def __init__(
        self, spectrum: Spectrum, prep: _Prepared, search: _Search, solved: _Solved, settings: _Settings
    ) -> None:
        self._inputs = (spectrum, prep, search, solved, settings)
        self._result: FitResult | None = None
        # the statistics' first evaluation, made here: χ² for the ranking, kept for finish()
        self._point = _final_point(prep, solved.x)
        values = self._point.values
        self.chisqr = self._point.chisqr
        self.params = {n: float(v) for n, v in zip(prep.names, values, strict=True)}
        self.param_names = tuple(prep.names)
        self.success = bool(np.all(np.isfinite(values)) and np.isfinite(self.chisqr))
        self.freq, self.z = prep.freq, prep.z
        self.spectrum = spectrum
        self.label = prep.defn.name
        self.runners_up: list[Any] = []  # candidates this one beat (kept by the caller)

    @property
    def nfev(self) -> int:
        """Evaluations so far (the finished result adds those of its statistics)."""
        return int(self._inputs[1].problem.nfev)

    def finish(self) -> FitResult:
        """The :class:`FitResult` (computed once): covariance, flags, arc physics."""
        if self._result is None:
            spectrum, prep, search, solved, st = self._inputs
            unc = _uncertainties(prep, solved.x, solved.held, self._point)
            flags, warns, bound_probe, misfit = _judge(prep, solved.x, unc, search.noise, probe=st.statistics)
            self._result = _assemble(
                spectrum,
                prep,
                search,
                solved.x,
                unc,
                flags,
                warns,
                bound_probe,
                misfit,
                solved.polish_cost,
                solved.polish_ok,
                st.geometry,
                st.eps_r,
                st.symmetric,
                st.max_nfev,
                st.weighting,
                physics=st.statistics,
            )
        return self._result


@dataclass
class _Prepared:
    """The checked inputs of one fit: circuit, data window and the least-squares problem."""

    defn: CircuitDefinition
    names: tuple[str, ...]
    fixed_v: dict[str, float]
    initial_v: dict[str, float]
    data: Spectrum
    freq: np.ndarray
    z: np.ndarray
    problem: _Problem
    k: int  # number of free parameters


@dataclass
class _Search:
    """The outcome of the multi-start search: the best solve and what it took."""

    best: Any
    tried: int
    sk: SpectrumSketch | None
    starts: Candidates
    noise: float


@dataclass
class _Uncertainties:
    """Residuals, χ², covariance and standard errors at the final point."""

    values: np.ndarray
    resid: np.ndarray
    n_res: int
    chisqr: float
    redchi: float
    held_now: Sequence[int]
    stderr: dict[str, float]
    corr: np.ndarray
    propagate: Callable[[Callable[[np.ndarray], float]], tuple[float, float]]
    z_model: Any  # Z of the circuit at the final values (Ω), from the residual evaluation


def _prepare(
    spectrum: Spectrum,
    circuit,
    weighting: str,
    fmin: float | None,
    fmax: float | None,
    initial: Mapping[str, float] | None,
    fixed: Mapping[str, float] | None,
) -> _Prepared:
    """Check the inputs, select the frequency window and build the problem."""
    if not isinstance(spectrum, Spectrum):
        raise FitError(f"fit: expected an eisna.Spectrum; got {type(spectrum).__name__}")
    if weighting not in WEIGHTINGS:
        raise FitError(f"fit: unknown weighting {weighting!r}; expected one of {list(WEIGHTINGS)}")
    defn = resolve_circuit(circuit)
    names = defn.param_names
    fixed_v = _check_names("fixed", fixed, names)
    initial_v = _check_names("initial", initial, names)
    data = spectrum.select(fmin, fmax) if (fmin is not None or fmax is not None) else spectrum
    freq, z = np.asarray(data.freq), np.asarray(data.z)
    w_re, w_im = weights(z, weighting)
    problem = _Problem(defn, freq, z, w_re, w_im, fixed_v, data_bounds(defn, freq, z))
    k = problem.free_idx.size
    if 2 * freq.size <= k:
        raise FitError(
            f"fit: {freq.size} points give {2 * freq.size} residuals for {k} free parameters "
            f"of {defn.name!r}; widen fmin/fmax or fix parameters{_smaller_circuits(2 * freq.size)}."
        )
    return _Prepared(defn, names, fixed_v, initial_v, data, freq, z, problem, k)


def _smaller_circuits(n_residuals: int) -> str:
    """``", or fit a library circuit with fewer parameters: …"`` naming those that ``n_residuals``
    residuals can carry (with room for one degree of freedom), smallest last; empty if none."""
    sizes = []
    for name in list_circuits():
        try:
            sizes.append((len(load_circuit(name).param_names), name))
        except EisnaError:  # (a broken user file on the search path is not this fit's business)
            continue
    fits = sorted((s for s in sizes if s[0] < n_residuals), reverse=True)
    if not fits:
        return ""
    listed = ", ".join(f"{n} ({k})" for k, n in fits)
    return f", or fit a library circuit with fewer parameters (their number in brackets): {listed}"


def _auto_candidates(prep: _Prepared) -> tuple[Candidates, SpectrumSketch]:
    """Start candidates from the data, with the fixed parameters set (each built when first used)."""
    cands, sk = start_candidates(prep.defn, prep.freq, prep.z, prep.problem.base)
    fixed = [(prep.names.index(n), val) for n, val in prep.fixed_v.items()]

    def set_fixed(v: np.ndarray) -> None:
        for i, val in fixed:
            v[i] = val

    return Candidates(cands).then(set_fixed), sk


def _start_points(prep: _Prepared) -> tuple[Candidates, SpectrumSketch | None]:
    """The first start values: the warm start (completed from the data) or the data's candidates."""
    names, initial_v = prep.names, prep.initial_v
    sk: SpectrumSketch | None = None
    if not initial_v:
        return _auto_candidates(prep)
    v0 = prep.problem.base.copy()
    for n, val in initial_v.items():
        v0[names.index(n)] = val
    if len(initial_v) < prep.k:  # fill the rest from the data
        cands, sk = start_candidates(prep.defn, prep.freq, prep.z, prep.problem.base)
        v0 = cands[0].copy()
        for n, val in initial_v.items():
            v0[names.index(n)] = val
    for n, val in prep.fixed_v.items():
        v0[names.index(n)] = val
    return Candidates([v0]), sk


_PLATEAU_MIN_NFEV = 60  # smallest solver budget for which a warm start tries the plateau release
# a released capacitance whose arc's apex lies this many times above the highest frequency is on
# the resistive plateau (χ² flat within ~5e-5 there on NAS spectra); the polish of a warm fit
# parks it at _PLATEAU_PARK × and holds it
_PLATEAU_APEX = 1e3
_PLATEAU_PARK = 1e5


def _search(
    prep: _Prepared,
    starts: Candidates,
    sk: SpectrumSketch | None,
    n_restarts: int,
    max_nfev: int,
    drt_fallback: bool,
) -> _Search:
    """Solve the starts in turn until the best is good enough; then, if still poor, DRT starts."""
    problem, initial_v = prep.problem, prep.initial_v
    best = None
    tried = 0
    min_starts = 1 if initial_v else 2  # cold start: always compare the two best candidates
    noise = estimate_noise(prep.freq, prep.z)
    # a warm start releases a held capacitance from the resistive plateau when the data want it
    # smaller (solver._plateau_release); a truncated solve could not afford the walk anyway
    plateau = bool(initial_v) and max_nfev >= _PLATEAU_MIN_NFEV
    try:
        i = 0
        while i < len(starts):
            x0 = problem.to_x(starts[i])
            hold, x0 = _above_window(problem, x0, park=not initial_v)
            if best is not None and not _poor(problem, best.x, sk):
                # comparison candidate behind a good first solution: a short screening run,
                # continued to convergence only if it gets close to the best so far
                res = _solve(problem, x0, 25, hold)
                same = np.max(np.abs(res.x - best.x)) < 1e-3  # heading for the same optimum
                if res.cost < 1.5 * best.cost and not same:
                    res = _solve(problem, res.x, max_nfev, hold, plateau=plateau)
            else:
                res = _solve(problem, x0, max_nfev, hold, plateau=plateau)
            tried += 1
            if best is None or res.cost < best.cost:
                best = res
            if initial_v and i == 0 and sk is None and tried <= n_restarts:
                # (without restarts the loop ends here: the sketch is built only if a verdict
                # below asks for it, see _sketch_of)
                sk = sketch(prep.freq, prep.z)
            if initial_v and tried == 1 and n_restarts > 0 and _suspect_warm(problem, best, noise):
                # a warm minimum above the noise or out of budget may be a side valley:
                # compare it with the automatic candidates (screened, as for a cold start)
                min_starts = 1 + _WARM_COMPARE
                if len(starts) == 1:  # (the warm path keeps its own sketch for the verdicts)
                    starts.extend(_auto_candidates(prep)[0])
            if (tried >= min_starts and not _poor(problem, best.x, sk)) or tried > n_restarts:
                break
            if (
                sk is not None
                and problem.misfit(best.x) <= _SCREEN_FLOOR * sk.rms
                and (tried >= min_starts or not initial_v)
            ):  # (a suspect warm minimum is compared)
                break  # as close to the data as the free DRT description: nothing to compare
            if initial_v and i == len(starts) - 1 and len(starts) == 1:
                cands, sk = _auto_candidates(prep)
                starts.extend(cands)
            i += 1
        if sk is None and drt_fallback and best is not None and problem.misfit(best.x) > 5e-3:
            sk = sketch(prep.freq, prep.z)  # (a deferred warm sketch: the verdict needs it)
        poor_all = best is not None and sk is not None and problem.misfit(best.x) > 3 * sk.rms + 5e-3
        if drt_fallback and sk is not None and best is not None and poor_all:
            # still clearly poor: start from the peaks of the full DRT (eisna.drt) instead
            for x0 in _drt_starts(prep.data, prep.defn, prep.freq, prep.z, problem, prep.fixed_v):
                res = _solve(problem, x0, max_nfev)
                tried += 1
                if res.cost < best.cost:
                    best = res
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as err:
        raise FitError(
            f"fit: the solver failed on {prep.defn.name!r} ({err}); check the data and bounds."
        ) from err

    if best is None:  # (every path solves at least one start)
        raise FitError(
            f"fit: no start values could be built for {prep.defn.name!r}; check the circuit and data."
        )
    return _Search(best, tried, sk, starts, noise)


def _sketch_of(prep: _Prepared, search: _Search) -> SpectrumSketch:
    """The search's DRT sketch, built now if the search deferred it (a warm start without
    restarts needs it only for some verdicts; it is cached per spectrum, so the same either way)."""
    if search.sk is None:
        search.sk = sketch(prep.freq, prep.z)
    return search.sk


def _escape(prep: _Prepared, search: _Search, max_nfev: int) -> None:
    """Replace the search's best solve by a re-seeded one of lower χ² (:mod:`.reseed`), if any."""
    sk = _sketch_of(prep, search)
    peaks = []
    if sk is not None:  # the sketch's relevant peaks (> 2 % of its total resistance)
        total = sk.R_inf + sum(r for _, r in sk.peaks)
        peaks = [t for t, r in sk.peaks if r > 0.02 * total]
    try:
        better = escape(prep.problem, search.best, search.noise, prep.fixed_v, max_nfev, peaks)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        return
    if better is not None:
        search.best = better
        search.tried += 1


def _polish_and_refine(
    prep: _Prepared, search: _Search, max_nfev: int, polish: bool = True
) -> tuple[np.ndarray, float, bool, Sequence[int]]:
    """Order the arcs, polish the best solve and, unless at the DRT floor, refine it.

    Returns the final internal coordinates, the polish cost, whether the polish met its
    convergence test, and the coordinates held during the polish.
    """
    problem, best = prep.problem, search.best
    x_best = _order_arcs_by_role(problem, best.x)
    # polish (own lmder, trf fallback); coordinates the winning
    # solve held (an arc far above the window) stay held in the polish
    held = _above_window(problem, x_best)[0] if getattr(best, "held", False) else []
    if not polish:
        return x_best, best.cost, False, held
    best_cost = best.cost
    flat: Sequence[int] = []
    parked = _plateau_polish(prep, x_best, best_cost, max_nfev) if not held else None
    if parked is not None:
        flat, (x, polish_cost, polished, polish_ok) = parked
        x_best, best_cost = x, polish_cost
    else:
        x, polish_cost, polished, polish_ok = _polish_solve(
            problem, x_best, held, best_cost, _POLISH_NFEV_LSQ, _POLISH_NFEV
        )
    if polish_cost > best_cost * (1 + 1e-9):  # never let the polish make it worse
        x, polished = x_best, False
    # as close to the data as the free DRT sketch: a restart finds no lower χ² worth its cost
    # (tried on 480 wide-prior draws of every library circuit: χ² and R unchanged); asked only
    # when _refine has a start to solve. The misfit is taken here, before _refine evaluates the
    # residual at x: its cached value (which the flags read) comes from the same arithmetic.
    misfit = problem.misfit(x)

    def at_floor() -> bool:
        return misfit <= _REFINE_FLOOR * _sketch_of(prep, search).rms

    # the polish is a fresh LM start at the solution: when it converged, _refine need not repeat
    # it; a parked plateau capacitance is not "stuck" (its vanished column is the plateau)
    x_refined = _refine(problem, x, max(max_nfev // 3, 10), restart=not polished, keep=flat, skip=at_floor)
    refined = x_refined is not x
    if refined:  # the covariance is then recomputed from the Jacobian below
        x = _order_arcs_by_role(problem, x_refined)
    return x, polish_cost, polish_ok, held


def _plateau_polish(
    prep: _Prepared, x_best: np.ndarray, cost: float, max_nfev: int
) -> tuple[list[int], tuple[np.ndarray, float, bool, bool]] | None:
    """The polish of a warm solve that released a capacitance onto the resistive plateau.

    There (its arc's apex > ``_PLATEAU_APEX`` × the highest frequency: a plain resistance in the
    window) χ² is flat along the capacitance, and the tight polish and the refinement walked it
    down the flat valley for 25–90 evaluations, gaining < 1e-6 of χ², to wherever they stopped
    (which decided whether the series' next guarded start kept or dropped it: a seed chosen by
    the last bits). Instead the capacitance is parked at ``_PLATEAU_PARK`` × (deep on the
    plateau, as far as every such walk went or further) and the others are polished with it
    held. Returns (the parked coordinates, the polish's (x, cost, converged, success)) when that
    is no worse than ``cost``; None otherwise, or for cold and truncated solves (the polish then
    runs as before).
    """
    problem = prep.problem
    if not prep.initial_v or max_nfev < _PLATEAU_MIN_NFEV:
        return None
    above, x_deep = _above_window(problem, x_best, park=True, factor=_PLATEAU_PARK, above=_PLATEAU_APEX)
    # ideal capacitors only: a CPE arc far above the window still spreads into it (more so the
    # lower its n), so its "plateau" is not flat
    pos = {i: j for j, i in enumerate(problem.free_idx.tolist())}
    ideal = {pos[int(p["C"])] for p in capacitive_arcs(problem.defn) if "C" in p and int(p["C"]) in pos}
    flat = [j for j in above if j in ideal]
    if not flat:
        return None
    x_park = x_best.copy()
    x_park[flat] = x_deep[flat]
    res = problem.residual(x_park)
    out = _polish_solve(problem, x_park, flat, 0.5 * float(res @ res), _POLISH_NFEV_LSQ, _POLISH_NFEV)
    return (flat, out) if out[1] <= cost else None


@dataclass(frozen=True)
class _FinalPoint:
    """Values, residuals, χ² and model impedance at the final point."""

    values: np.ndarray
    resid: np.ndarray
    chisqr: float
    z_model: Any  # Z of the circuit (Ω), from the residual evaluation


def _final_point(prep: _Prepared, x: np.ndarray) -> _FinalPoint:
    """The final point's residual evaluation (the first thing the statistics need)."""
    problem = prep.problem
    values = problem.to_values(x)
    resid = np.array(problem.residual(x))  # (a writable copy for the result)
    z_model = problem.model(x)
    return _FinalPoint(values, resid, float(resid @ resid), z_model)


def _uncertainties(
    prep: _Prepared, x: np.ndarray, held: Sequence[int], point: _FinalPoint | None = None
) -> _Uncertainties:
    """χ², the covariance (conditioned, sandwich, profiled), standard errors and the delta method."""
    problem, names, k = prep.problem, prep.names, prep.k
    if point is None:
        point = _final_point(prep, x)
    values, resid, chisqr, z_model = point.values, point.resid, point.chisqr, point.z_model
    n_res = resid.size
    dof = max(n_res - k, 1)
    redchi = chisqr / dof
    cov_x = _covariance(problem.jacobian(x)) * redchi
    # capacitances still held at the end (parked far above the window) are undetermined
    held_now = _above_window(problem, x)[0] if held else []
    cov_x = _condition_on_undetermined(cov_x, problem, x, redchi, held_now)
    # noise not proportional to the weights: sandwich errors; and what an above-window arc's
    # capacitance could be moves the others too (issue 13, item 5)
    cov_x = _sandwich_scale(problem, x, cov_x, redchi, held_now)
    cov_x = _profile_above_window(problem, x, held_now, cov_x, redchi)

    # standard errors of the linear values (delta method)
    stderr = dict.fromkeys(names, math.nan)
    diag = np.sqrt(np.clip(np.diag(cov_x), 0, None))
    for j, i in enumerate(problem.free_idx.tolist()):
        stderr[names[i]] = float(values[i] * np.log(10) * diag[j] if problem.is_log[j] else diag[j])
    corr = np.full((len(names), len(names)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = cov_x / np.outer(diag, diag)
    corr[np.ix_(problem.free_idx, problem.free_idx)] = c

    steps = 1e-6 * np.maximum(1.0, np.abs(x))
    # column 0: the values; column j + 1: the values with internal coordinate j moved by steps[j]
    x_shift = x[None, :] + np.diag(steps)
    stacked = np.repeat(values[:, None], k + 1, axis=1)
    stacked[problem.free_idx, 1:] = np.where(problem.is_log[:, None], 10.0**x_shift.T, x_shift.T)
    shifted = list(stacked[:, 1:].T)

    undetermined = ~np.isfinite(np.diag(cov_x))
    cov_fin = np.where(np.isfinite(cov_x), cov_x, 0.0)

    def forward(fn) -> tuple[float, np.ndarray]:
        # fn at the values (a scalar call: the value reported) and the forward differences: one
        # call on the stacked columns when fn broadcasts (the physics' formulas do; its column 0
        # is the base of the differences, so both ends come from the same arithmetic), else one
        # call per point
        v0 = float(fn(values))
        try:
            out = np.asarray(fn(stacked), dtype=float)
            if out.shape == (k + 1,):
                return v0, (out[1:] - out[0]) / steps
        except (TypeError, ValueError, IndexError):
            pass
        return v0, np.array([(float(fn(vj)) - v0) / h for vj, h in zip(shifted, steps, strict=True)])

    def propagate(fn):
        # delta method: var = g' C g with g the forward-difference gradient in internal coordinates
        v0, grad = forward(fn)
        if undetermined.any():  # infinite variances: they count only where the gradient is non-zero
            if np.any(grad[undetermined] != 0):
                return v0, math.inf
            grad = np.where(undetermined, 0.0, grad)
        var = float(grad @ cov_fin @ grad)
        return v0, math.sqrt(var) if var >= 0 and np.isfinite(var) else math.nan

    return _Uncertainties(values, resid, n_res, chisqr, redchi, held_now, stderr, corr, propagate, z_model)


def _judge(
    prep: _Prepared, x: np.ndarray, unc: _Uncertainties, noise: float, probe: bool = True
) -> tuple[list[str], list[str], Any, float]:
    """Bound report, unidentifiable parameters and the misfit verdict: flags, warnings, probe, misfit.

    ``probe=False``: the parameters on a bound are flagged without the unbounded probe.
    """
    problem, names, values, stderr = prep.problem, prep.names, unc.values, unc.stderr
    flags: list[str] = []
    warns: list[str] = []
    if probe:
        bound_probe = _bound_report(problem, x, unc.chisqr, unc.redchi, unc.held_now, flags, warns)
    else:
        bound_probe = {}
        flags.extend(f"at_bound:{names[problem.free_idx[j]]}" for j in problem.at_bound(x))
    for j, i in enumerate(problem.free_idx.tolist()):
        name = names[i]
        if f"at_bound:{name}" in flags:
            continue
        rel = stderr[name] / abs(values[i]) if problem.is_log[j] else stderr[name]
        limit = _REL_STDERR_LIMIT if problem.is_log[j] else _N_STDERR_LIMIT
        # a capacitance still held at the end is undetermined by the solver's own test (varying
        # it does not lower χ² significantly): flagged however it came to be held (cold: parked
        # at 100× f_max, warm: at the previous value), so cold and warm fits agree (issue 10)
        if not np.isfinite(rel) or rel > limit or j in unc.held_now:
            flags.append(f"unidentifiable:{name}")
            shown = f"{100 * rel:.0f} %" if problem.is_log[j] else f"±{rel:.2g}"
            warns.append(
                f"{name} is not identifiable from these data (standard error {shown}); "
                f"fix it or use a simpler circuit."
            )
    misfit = problem.misfit(x)
    poor = judge_misfit(misfit, noise)
    if poor is not None:
        flags.append("poor_fit")
        warns.append(f"poor fit: {poor}.")
    return flags, warns, bound_probe, misfit


def _assemble(
    spectrum: Spectrum,
    prep: _Prepared,
    search: _Search,
    x: np.ndarray,
    unc: _Uncertainties,
    flags: list[str],
    warns: list[str],
    bound_probe: Any,
    misfit: float,
    polish_cost: float,
    polish_ok: bool,
    geometry: CellGeometry | None,
    eps_r: float | None,
    symmetric: bool | None,
    max_nfev: int,
    weighting: str,
    physics: bool = True,
) -> FitResult:
    """Physics of the arcs, information criteria, the convergence verdict and the FitResult."""
    defn, names, problem, k, freq = prep.defn, prep.names, prep.problem, prep.k, prep.freq
    values, chisqr, n_res, best, tried = unc.values, unc.chisqr, unc.n_res, search.best, search.tried
    geom = geometry if geometry is not None else spectrum.geometry
    area = spectrum.meta.get("area_cm2") if geom is None else None
    sym = defn.symmetric if symmetric is None else bool(symmetric)
    arcs: tuple[Any, ...] = ()
    derived: dict[str, Any] = {}
    phys_warn: list[str] = []
    role_meta: dict[str, tuple[str, ...]] = {}
    if physics:
        arcs, derived, phys_warn, role_meta = compute_physics(
            defn, values, unc.propagate, geom, float(area) if area else None, eps_r, sym
        )
    warns.extend(phys_warn)
    # a diffusion element relaxing above the window stands in for a faster process
    above = diffusion_above_window(defn, values, float(np.max(freq))) if physics and freq.size else []
    warns.extend(above)
    if above or any(not a.role_ok for a in arcs if a.role_ok is not None):
        flags.append("role_mismatch")

    n_log = math.log(chisqr / n_res) if chisqr > 0 else -np.inf
    aic = n_res * n_log + 2 * k
    bic = n_res * n_log + k * math.log(n_res)
    aicc = aic + (2 * k * (k + 1) / (n_res - k - 1) if n_res - k - 1 > 0 else np.inf)
    # converged: either solver says so, or the polish lowered χ² by < 1 % (a flat
    # direction from a superfluous element makes the solvers run out of evaluations)
    stalled = polish_cost >= best.cost * (1 - 1e-2)
    converged = best.status > 0 or polish_ok or stalled
    # success: a finite best minimum; a budget that ran out first is a flag, not a failure
    success = bool(np.all(np.isfinite(values)) and np.isfinite(chisqr))
    message = best.message
    if best.status == 0 and converged:  # the budget ran out, but the polish confirmed the minimum
        message = (
            "converged: the solver used its evaluation budget, and the polish from its result "
            "lowered χ² by < 1 % or met its own convergence test"
        )
    if tried > 1:
        message = f"{message} (best of {tried} starts)"
    if not converged:
        flags.append("budget_exhausted")
        warns.append(
            f"budget exhausted: the solver used its {max_nfev} evaluations before its convergence "
            f"test was met; this is the lowest χ² of {tried} start(s), but a larger max_nfev "
            f"may still lower it."
        )
        message = f"best minimum found; evaluation budget exhausted ({message})"
    return FitResult(
        params={n: float(v) for n, v in zip(names, values, strict=True)},
        stderr=unc.stderr,
        correlation=unc.corr,
        param_names=tuple(names),
        chisqr=chisqr,
        redchi=float(unc.redchi),
        aic=float(aic),
        bic=float(bic),
        aicc=float(aicc),
        residuals=unc.resid,
        freq=freq,
        z=prep.z,
        # (Circuit.impedance's own arithmetic on the Z the residual was computed from: + 0.0·s)
        z_fit=np.asarray(unc.z_model + 0.0 * problem.s, dtype=complex)
        if unc.z_model is not None
        else defn.circuit.impedance(freq, values),
        fmin=float(freq.min()),
        fmax=float(freq.max()),
        weighting=weighting,
        circuit=defn,
        circuit_name=defn.name,
        arcs=arcs,
        derived=derived,
        flags=tuple(flags),
        success=success,
        nfev=int(problem.nfev),
        message=str(message),
        warnings=tuple(warns),
        varied=tuple(names[i] for i in problem.free_idx),
        n_points=int(freq.size),
        start={n: float(v) for n, v in zip(names, search.starts[0], strict=True)},
        meta={
            "source": spectrum.meta.get("source"),
            "index": spectrum.meta.get("index"),
            "misfit": misfit,
            "noise": search.noise,
            "starts_tried": tried,
            "bound_probe": bound_probe,
            **({} if physics else {"statistics": False}),
            # arcs counted under another role than the circuit's (physics.effective_role)
            **role_meta,
        },
    )
