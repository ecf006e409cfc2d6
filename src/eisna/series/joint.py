"""Joint fit of a series ("multi-fit"): all spectra of one cell as one least-squares problem.

Parameters named in ``shared`` take one value for the whole series (for example the CPE
exponents, the grain-boundary Q, the lead inductance, the Warburg τ); every other free
parameter keeps its own value per spectrum. Optionally one resistance (``law_param``,
default ``R_int``) is not free per spectrum but follows a growth law of :mod:`eisna.kinetics`
(``law="jmak"``…) whose parameters are fitted together with everything else.

The problem is the stack of the single-spectrum problems of :mod:`eisna.fitting.solver`
(same weighted residuals, real and imaginary parts stacked, same internal coordinates:
log10 for ``scale = "log"`` parameters, same bounds) with the circuits' analytic Jacobians
assembled into one block-sparse Jacobian (one block per spectrum plus dense columns for the
shared and law parameters). Steps:

1. Start: the per-spectrum fits. A spectrum that the series replaced by a simpler circuit
   because its window could not carry the full one (``meta["fallback_from"]``) is restored to
   that circuit, started from its nearest neighbour with it: the shared parameters carry what
   its window cannot. Each spectrum is re-solved with the shared parameters at their medians.
2. Solve: projected Levenberg–Marquardt (active set on the bounds) whose damped steps are
   solved through the Schur complement of the block-arrow normal matrix
   (:mod:`eisna.series.joint_arrow`: linear in the number of spectra). Converged when a
   Gauss–Newton step promises less than 0.001 noise variances of χ²; the budget grows with
   the problem (2 evaluations per parameter, at least 200).
3. Each spectrum's own parameters are then re-tried from its neighbours' solution (the shared
   ones held) and kept when they lower its χ² by more than one noise variance (a spectrum can
   sit in a worse local minimum that a local solver does not leave); the joint solve resumes.
4. Errors: (JᵀJ)⁻¹ χ²_red of the whole problem with the parameters the data do not determine
   held fixed for the others (as in the single-spectrum fit), raised to the sandwich estimate
   where the noise is not proportional to the weights, and widened by the plausible range of
   the capacitances of arcs above the window (held by the per-spectrum fits), profiled
   coherently over the series: a systematic error, the same in every spectrum
   (:mod:`eisna.series.joint_errors`).

This is the series layer: it may use :func:`eisna.fit_series` for the warm start and
:mod:`eisna.kinetics` for the laws; :mod:`eisna.fitting` does not know about it.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import EisnaError, FitError
from ..fitting.physics import interfacial_resistances
from ..fitting.result import FitResult
from ..fitting.solver import (
    _N_STDERR_LIMIT,
    _REL_STDERR_LIMIT,
    _UNDETERMINED,
    _above_window,
    _Problem,
    _solve,
)
from ..fitting.weights import weights
from .joint_arrow import ArrowNormal
from .joint_errors import joint_profile, joint_sandwich
from .tracks import _SE_PARTS, se_sum_note

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_SHARED", "JointFitResult", "fit_joint", "median_jump"]

DEFAULT_SHARED: tuple[str, ...] = ("L", "n_gb", "Q_gb", "n_int", "n_ct", "tau_W")
_R_MIN = 1e-3  # Ω: lowest resistance a growth law hands to a circuit (the library's R bound)
# the joint solve has converged when a Gauss–Newton step promises less χ² decrease than this many
# noise variances (redχ²): far below any statistically meaningful change
_GN_TOL = 1e-3
_RESEED_ROUNDS = 3  # passes of neighbour re-seeding after the joint solve


@dataclass(frozen=True)
class JointFitResult:
    """Result of :func:`fit_joint`.

    Attributes
    ----------
    shared, shared_stderr : dict
        Shared parameter values and 1σ errors (SI units: Ω, F, F s^(n−1), H, s).
    params, stderr : tuple of dict
        Per spectrum (time order, fitted spectra only): every circuit parameter (shared ones
        included) and its 1σ error (NaN when not determined, e.g. a held capacitance),
        including the sandwich and above-window-capacitance widening (module docstring).
    derived : tuple of dict
        Per spectrum: ``R_SE`` (R_b + R_gb, Ω, without the resistances in ``se_excluded``; NaN
        when both are) and ``R_total`` (sum of all resistances R_* of the circuit, Ω), each as
        ``(value, stderr)`` with the joint covariance (so the anticorrelation of R_b and R_gb
        is accounted for).
    time_h : ndarray
        Hours of the fitted spectra.
    indices : tuple of int
        Position of each fitted spectrum in the input series (failed fits are skipped and
        listed in ``skipped``).
    circuits : tuple of str
        Circuit of each spectrum in the joint fit: that of its per-spectrum fit (full or
        baseline), or, for a window fallback, the circuit it replaced (see ``initial``).
    chisqr, redchi : float
        Weighted χ² of the whole series and χ²/(N − P).
    chisqr_spectra : ndarray
        χ² of each spectrum at the joint solution.
    initial_chisqr : float
        Σ χ² of the per-spectrum fits (a lower bound: the joint fit has fewer parameters).
    n_residuals, nvarys : int
        N residuals and P free parameters of the joint problem.
    law, law_param : str or None
        Growth law constraining ``law_param`` (None: no law).
    law_params, law_stderr : dict
        Its parameters (``R0``, amplitude, ``tau_h``, ``m``, ``t0_h``) and 1σ errors.
    success : bool
        The joint solve converged (``message`` says by which test; an exhausted budget is
        ``success=False``).
    nfev : int
    message : str
    skipped : tuple of int
        Positions of spectra without a usable per-spectrum fit (not in the joint problem).
    initial : tuple of FitResult
        The per-spectrum fits the joint fit started from (same order as ``params``).
    se_excluded : tuple of tuple of str
        Per spectrum, the bulk/grain-boundary resistances left out of its ``R_SE``: those its
        per-spectrum fit counted as interfacial (an electrode-scale C_eff,
        :func:`eisna.fitting.physics.effective_role`; ``meta["interfacial_resistances"]``). The
        decision is the per-spectrum fit's, spectrum by spectrum: the joint solve moves the
        values little, and one spectrum's electrode-scale arc says nothing about its
        neighbours'. A spectrum restored from a window fallback takes it from its fallback fit
        (by name). Empty tuples when nothing was left out.
    """

    shared: dict[str, float]
    shared_stderr: dict[str, float]
    params: tuple[dict[str, float], ...]
    stderr: tuple[dict[str, float], ...]
    derived: tuple[dict[str, tuple[float, float]], ...]
    time_h: np.ndarray
    indices: tuple[int, ...]
    circuits: tuple[str, ...]
    chisqr: float
    redchi: float
    chisqr_spectra: np.ndarray
    initial_chisqr: float
    n_residuals: int
    nvarys: int
    law: str | None
    law_param: str | None
    law_params: dict[str, float]
    law_stderr: dict[str, float]
    success: bool
    nfev: int
    message: str
    skipped: tuple[int, ...] = ()
    initial: tuple[FitResult, ...] = field(default=(), repr=False)
    se_excluded: tuple[tuple[str, ...], ...] = ()

    def __len__(self) -> int:
        return len(self.params)

    @property
    def se_note(self) -> str:
        """How ``R_SE`` was built when a spectrum left a resistance out, in words, else ``""``:
        ``"R_SE = R_b (R_gb counted as interfacial in 6 spectra)"``, or ``"R_SE = R_b + R_gb
        (R_gb counted as interfacial, and left out, in 2 of 6 spectra)"``."""
        return se_sum_note([n for p in self.params for n in _SE_PARTS if n in p], self.se_excluded)

    def value(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Values and 1σ errors of parameter or derived quantity ``name`` over the series
        (NaN where a spectrum's circuit has no such parameter)."""
        vals, errs = [], []
        for p, s, d in zip(self.params, self.stderr, self.derived, strict=True):
            if name in d:
                v, e = d[name]
            else:
                v, e = p.get(name, math.nan), s.get(name, math.nan)
            vals.append(v)
            errs.append(e)
        return np.array(vals, dtype=float), np.array(errs, dtype=float)

    def to_frame(self) -> pd.DataFrame:
        """One row per fitted spectrum: ``index, time_h, circuit, chisqr``, then every
        parameter and derived quantity with its ``<name>_stderr`` (the ``joint.csv`` table)."""
        import pandas as pd

        names: list[str] = []
        for p in self.params:
            names.extend(n for n in p if n not in names)
        rows = []
        for i, (p, s, d) in enumerate(zip(self.params, self.stderr, self.derived, strict=True)):
            row: dict[str, Any] = {
                "index": self.indices[i],
                "time_h": float(self.time_h[i]),
                "circuit": self.circuits[i],
                "chisqr": float(self.chisqr_spectra[i]),
            }
            for n in names:
                row[n] = p.get(n, math.nan)
                row[f"{n}_stderr"] = s.get(n, math.nan)
                row[f"{n}_shared"] = n in self.shared
            for key, (v, e) in d.items():
                row[key] = v
                row[f"{key}_stderr"] = e
            if self.se_excluded:  # (only then: joint.csv of other series unchanged)
                row["R_SE_excluded"] = ",".join(self.se_excluded[i])
            rows.append(row)
        return pd.DataFrame(rows)


def median_jump(values: Sequence[float] | np.ndarray) -> float:
    """Median relative jump between neighbouring values: median of |q[i+1] − q[i]| divided
    by their mean magnitude (the scatter measure of a tracked quantity); NaN with < 2 values."""
    q = np.asarray(values, dtype=float)
    q = q[np.isfinite(q)]
    if q.size < 2:
        return math.nan
    den = 0.5 * (np.abs(q[1:]) + np.abs(q[:-1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(np.diff(q)) / den
    rel = rel[np.isfinite(rel)]
    return float(np.median(rel)) if rel.size else math.nan


# --------------------------------------------------------------------------- setup


def _initial_fits(spectra, circuit, initial, times_h, series_options):
    """(per-spectrum FitResults or None, times in h) in series order."""
    from .result import SeriesResult
    from .run import fit_series

    if initial is None:
        if spectra is None:
            raise FitError("fit_joint: give the spectra, or initial= per-spectrum fits (a SeriesResult)")
        initial = fit_series(spectra, circuit, **series_options)
    if isinstance(initial, SeriesResult):
        fits = list(initial.results)
        t = np.asarray(initial.time_h, dtype=float) if times_h is None else np.asarray(times_h, dtype=float)
    else:
        fits = list(initial)
        t = np.arange(len(fits), dtype=float) if times_h is None else np.asarray(times_h, dtype=float)
    if t.size != len(fits):
        raise FitError(
            f"fit_joint: times_h has {t.size} entries for {len(fits)} spectra; give one time per "
            f"spectrum (h)."
        )
    return [f if isinstance(f, FitResult) and f.success else None for f in fits], t


def _problem_of(
    fit_result: FitResult, template: FitResult | None = None
) -> tuple[_Problem, np.ndarray, list[int]]:
    """The single-spectrum problem of a per-spectrum fit (the spectrum's window and weighting,
    the bounds the fit used), its solution (internal x) and the coordinates it holds
    (capacitances of arcs far above the window). With ``template`` (another spectrum's fit) the
    problem takes the template's circuit, free parameters and values instead (a restored
    window fallback, see :func:`_restore_fallbacks`)."""
    from ..fitting.bounds import data_bounds

    src = template or fit_result
    defn = src.circuit
    freq, z = np.asarray(fit_result.freq), np.asarray(fit_result.z)
    w_re, w_im = weights(z, fit_result.weighting)
    varied = set(src.varied)
    fixed = {n: src.params[n] for n in defn.param_names if defn.defaults[n].vary and n not in varied}
    problem = _Problem(defn, freq, z, w_re, w_im, fixed, data_bounds(defn, freq, z))
    values = np.array([src.params[n] for n in defn.param_names], dtype=float)
    x = problem.to_x(values)
    held = _above_window(problem, x)[0]
    return problem, x, held


def _restore_fallbacks(fits: Sequence[FitResult]) -> list[FitResult | None]:
    """For each fit that the series replaced by a simpler circuit because its window could not
    carry it (``meta["fallback_from"]``, :mod:`eisna.series.window`), the nearest fit in the
    series with that circuit (its template), else None.

    In the joint fit the shared parameters carry what one spectrum's window cannot, so such a
    spectrum is restored to the circuit of its neighbours (started from the nearest one's
    values) instead of the fallback, whose parameters play other roles (e.g. a Warburg τ of
    µs standing in for the grain-boundary arc) and would pull the shared values away.
    """
    out: list[FitResult | None] = []
    for i, f in enumerate(fits):
        name = (f.meta or {}).get("fallback_from")
        cands = [k for k, g in enumerate(fits) if name and g.circuit_name == name and k != i]
        out.append(fits[min(cands, key=lambda k: (abs(k - i), k))] if cands else None)
    return out


class _Layout:
    """Global variable vector: [shared..., law..., per-spectrum blocks...] and the maps."""

    def __init__(self, problems, xs, helds, shared, law_param, law):
        self.problems, self.x_base = problems, [x.copy() for x in xs]
        self.shared = list(shared)
        self.law, self.law_param = law, law_param
        names, lo, hi, x0 = [], [], [], []
        for name in self.shared:  # shared: median of the per-spectrum starts
            vals, los, his, is_log = [], [], [], False
            for p, x in zip(problems, xs, strict=True):
                j = _coord(p, name)
                if j is not None:
                    vals.append(x[j])
                    los.append(p.lo[j])
                    his.append(p.hi[j])
                    is_log = bool(p.is_log[j])
            names.append(("log10_" if is_log else "") + name)
            lo.append(max(los))
            hi.append(min(his))
            x0.append(float(np.median(vals)))
        self.law_names = list(law.names) if law is not None else []
        names += self.law_names
        if law is not None:
            lo += list(law.lo)
            hi += list(law.hi)
            x0 += list(law.p0)
        self.n_global = len(names)
        # per spectrum: global column of each local coordinate (-1 held, -2 law-driven)
        self.gidx: list[np.ndarray] = []
        self.law_coord: list[int | None] = []
        col = self.n_global
        for i, (p, x, held) in enumerate(zip(problems, xs, helds, strict=True)):
            g = np.full(x.size, -1, dtype=int)
            lj = _coord(p, law_param) if law is not None else None
            self.law_coord.append(lj)
            for j, iname in enumerate(p.internal_names):
                base = iname.removeprefix("log10_")
                if j in held:
                    continue
                if j == lj:
                    g[j] = -2
                elif base in self.shared:
                    g[j] = self.shared.index(base)
                else:
                    g[j] = col
                    names.append(f"{iname}[{i}]")
                    lo.append(p.lo[j])
                    hi.append(p.hi[j])
                    x0.append(x[j])
                    col += 1
            self.gidx.append(g)
        self.names = names
        self.lo, self.hi = np.array(lo), np.array(hi)
        span = self.hi - self.lo
        self.x0 = np.clip(np.array(x0), self.lo + 1e-7 * span, self.hi - 1e-7 * span)
        self.size = col

    def local(self, i: int, xg: np.ndarray, t: float) -> np.ndarray:
        """Internal coordinates of spectrum i at the global point xg."""
        x = self.x_base[i].copy()
        g = self.gidx[i]
        m = g >= 0
        x[m] = xg[g[m]]
        lj = self.law_coord[i]
        if lj is not None:
            r = max(
                float(self.law.predict(xg[self.n_global - len(self.law_names) : self.n_global], t)), _R_MIN
            )
            x[lj] = math.log10(r) if self.problems[i].is_log[lj] else r
        return x


def _coord(problem: _Problem, name: str | None) -> int | None:
    if name is None:
        return None
    for j, iname in enumerate(problem.internal_names):
        if iname.removeprefix("log10_") == name:
            return j
    return None


class _JointLaw:
    """A growth law of :mod:`eisna.kinetics` with its parameters as fit variables."""

    def __init__(self, name: str, t: np.ndarray, r: np.ndarray):
        from ..kinetics import _LAWS, fit_kinetics

        if name not in _LAWS:
            raise FitError(f"fit_joint: unknown law {name!r}; expected one of {sorted(_LAWS)}")
        self.spec = _LAWS[name]
        self.name = name
        names = ["R0"] + ([self.spec.amplitude] if self.spec.amplitude else []) + list(self.spec.nonlinear)
        if self.spec.has_onset:
            names.append("t0_h")
        self.names = names
        ok = np.isfinite(r) & np.isfinite(t)
        try:  # start values: the law fitted to the per-spectrum values
            kin = fit_kinetics(t[ok], np.where(r[ok] > 10 * _R_MIN, r[ok], 0.0), models=[name])
            start = kin.best.params if kin.best is not None else {}
        except EisnaError:
            start = {}
        span = float(np.nanmax(t) - np.nanmin(t)) or 1.0
        rmax = float(np.nanmax(r)) if np.any(ok) else 1.0
        bounds = {
            "R0": (0.0, 10 * rmax + 1.0),
            "k": (0.0, 1e3 * (rmax + 1.0) / span),
            "a": (0.0, 100 * rmax + 1.0),
            "dR": (0.0, 100 * rmax + 1.0),
            "tau_h": (1e-3 * span, 1e3 * span),
            "m": (0.3, 6.0),
            "t0_h": (float(np.nanmin(t)) - 0.5 * span, float(np.nanmax(t))),
        }
        self.lo = np.array([bounds[n][0] for n in names])
        self.hi = np.array([bounds[n][1] for n in names])
        defaults = {"R0": 0.0, "tau_h": 0.3 * span, "m": 1.5, "t0_h": float(np.nanmin(t))}
        p0 = [float(start.get(n, defaults.get(n, rmax))) for n in names]
        self.p0 = np.clip(p0, self.lo + 1e-6 * (self.hi - self.lo), self.hi - 1e-6 * (self.hi - self.lo))

    def predict(self, p: np.ndarray, t: float) -> float:
        from ..kinetics import _predict

        return float(_predict(self.spec, dict(zip(self.names, p, strict=True)), np.array([t]))[0])

    def params(self, p: np.ndarray) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, p, strict=True)}


# --------------------------------------------------------------------------- the joint problem


class _Joint:
    """Stacked residual and block-sparse Jacobian of the joint problem."""

    def __init__(self, layout: _Layout, t: np.ndarray):
        self.lay, self.t = layout, t
        self.sizes = [2 * p.z.size for p in layout.problems]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.n_res = int(self.offsets[-1])
        rows, cols = [], []
        nl = len(layout.law_names)
        self.law0 = layout.n_global - nl
        for i, g in enumerate(layout.gidx):
            var = g[g >= 0]
            r = np.arange(self.sizes[i]) + self.offsets[i]
            rows.append(np.tile(r, var.size))
            cols.append(np.repeat(var, self.sizes[i]))
            if layout.law_coord[i] is not None:
                rows.append(np.tile(r, nl))
                cols.append(np.repeat(np.arange(self.law0, self.law0 + nl), self.sizes[i]))
        # per spectrum: (first row, end row, first own column, end own column) for ArrowNormal
        self.blocks = []
        for i, g in enumerate(layout.gidx):
            own = g[g >= layout.n_global]
            c0 = int(own.min()) if own.size else 0
            c1 = int(own.max()) + 1 if own.size else 0
            self.blocks.append((int(self.offsets[i]), int(self.offsets[i + 1]), c0, c1))
        self.rows = np.concatenate(rows) if rows else np.zeros(0, int)
        self.cols = np.concatenate(cols) if cols else np.zeros(0, int)
        self.nfev = 0

    def law_gradient(self, xg: np.ndarray, i: int) -> np.ndarray:
        """d x_law / d p (internal coordinate of the law-driven parameter of spectrum i)."""
        law, p = self.lay.law, xg[self.law0 : self.law0 + len(self.lay.law_names)]
        r0 = law.predict(p, self.t[i])
        if r0 <= _R_MIN:
            return np.zeros(p.size)
        h = 1e-6 * np.maximum(np.abs(p), 1e-3)
        step = np.eye(p.size) * h
        d = np.array(
            [
                (law.predict(p + step[k], self.t[i]) - law.predict(p - step[k], self.t[i])) / (2 * h[k])
                for k in range(p.size)
            ]
        )
        lj = self.lay.law_coord[i]
        return d / (r0 * math.log(10)) if self.lay.problems[i].is_log[lj] else d

    def residual(self, xg: np.ndarray) -> np.ndarray:
        self.nfev += 1
        return np.concatenate(
            [p.residual(self.lay.local(i, xg, self.t[i])) for i, p in enumerate(self.lay.problems)]
        )

    def jacobian(self, xg: np.ndarray):
        from scipy.sparse import csr_matrix

        data = []
        for i, p in enumerate(self.lay.problems):
            jac = p.jacobian(self.lay.local(i, xg, self.t[i]))
            g = self.lay.gidx[i]
            data.append(jac[:, g >= 0].ravel(order="F"))
            lj = self.lay.law_coord[i]
            if lj is not None:
                data.append(np.outer(jac[:, lj], self.law_gradient(xg, i)).ravel(order="F"))
        vals = np.concatenate(data) if data else np.zeros(0)
        return csr_matrix((vals, (self.rows, self.cols)), shape=(self.n_res, self.lay.size))


def _limits(layout: _Layout) -> tuple[np.ndarray, np.ndarray]:
    """Identifiability limit per global coordinate (internal units) and its block (spectrum
    number; -1 for shared, law coordinates get no limit)."""
    limit = np.full(layout.size, np.inf)
    block = np.full(layout.size, -1)
    for i, (p, g) in enumerate(zip(layout.problems, layout.gidx, strict=True)):
        for j, col in enumerate(g):
            if col < 0:
                continue
            limit[col] = _REL_STDERR_LIMIT / math.log(10) if p.is_log[j] else _N_STDERR_LIMIT
            if col >= layout.n_global:
                block[col] = i
    return limit, block


def _joint_covariance(
    jac, redchi: float, limit: np.ndarray, block: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(JᵀJ)⁻¹ χ²_red, with coordinates the data do not determine (σ > 1000× their
    identifiability limit; the worst of each spectrum per pass) held fixed for the others,
    as :func:`eisna.fitting.solver._condition_on_undetermined` does for one spectrum. Returns
    the covariance and the mask of the coordinates so held."""
    hess = np.asarray((jac.T @ jac).toarray())
    k = hess.shape[0]
    diag = np.sqrt(np.clip(np.diag(hess), 0, None))
    fixed = diag <= 1e-8 * (diag.max() if k and diag.max() > 0 else 1.0)
    own = np.full(k, np.inf)
    for _ in range(50):
        good = ~fixed
        cov = np.zeros((k, k))
        cov[fixed, fixed] = own[fixed]
        if good.any():
            s = diag[good]
            a = hess[np.ix_(good, good)] / np.outer(s, s)
            w, v = np.linalg.eigh(a)
            w = np.maximum(w, max(w.max(), 1e-300) * 1e-12)
            cov[np.ix_(good, good)] = (v / w) @ v.T / np.outer(s, s) * redchi
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
        ratio = np.where(fixed, 0.0, sd / limit)
        worst = []
        for b in np.unique(block[ratio > _UNDETERMINED]):
            idx = np.flatnonzero((block == b) & (ratio > _UNDETERMINED))
            worst.append(int(idx[np.argmax(ratio[idx])]))
        if not worst or good.sum() <= len(worst):
            return cov, fixed
        own[worst] = sd[worst] ** 2
        fixed[worst] = True
    return cov, fixed


# --------------------------------------------------------------------------- public


def fit_joint(
    spectra: Sequence[Any] | None,
    circuit: str = "symmetric_interlayer",
    *,
    shared: Sequence[str] = DEFAULT_SHARED,
    initial: Any = None,
    times_h: Sequence[float] | np.ndarray | None = None,
    law: str | None = None,
    law_param: str = "R_int",
    max_nfev: int | None = None,
    solver: str = "lm",
    **series_options: Any,
) -> JointFitResult:
    """Fit all spectra of one cell as one least-squares problem with shared parameters.

    Parameters
    ----------
    spectra : sequence of Spectrum or None
        The series of one cell. Used only to make the per-spectrum fits when ``initial`` is
        None (the joint fit uses each per-spectrum fit's data window and weighting).
    circuit : str
        Library circuit for :func:`eisna.fit_series` when ``initial`` is None.
    shared : sequence of str
        Parameters that take one value for the whole series (e.g. ``("n_b", "Q_gb", "n_gb",
        "L", "tau_W")``); every other free parameter is fitted per spectrum.
    initial : SeriesResult or sequence of FitResult, optional
        Per-spectrum fits (warm start, time order). Each spectrum keeps the circuit of its fit
        (full or baseline), except a window fallback (``meta["fallback_from"]``), which is
        restored to the circuit it replaced when other spectra of the series have it; failed
        fits are skipped (listed in ``skipped``). Default: run :func:`eisna.fit_series` on
        ``spectra``.
    times_h : array_like, optional
        Time of each spectrum (h); default the SeriesResult's ``time_h`` (or 0, 1, 2… for a
        list of fits). Needed for ``law``.
    law : str, optional
        A growth law of :data:`eisna.kinetics.MODELS` (``"jmak"``, ``"linear"``…) that
        ``law_param`` follows over time; its parameters are fitted jointly (``law_params``).
        Resistances below 1 mΩ (before the onset) are set to 1 mΩ, the circuit's bound.
    law_param : str
        The resistance constrained by ``law`` (Ω), default ``"R_int"``.
    max_nfev : int, optional
        Evaluation budget of the joint solve; default 2 per free parameter, at least 200
        (the solve usually needs 5–25).
    solver : {"lm", "trf"}
        ``"lm"`` (default): projected Levenberg–Marquardt with block-arrow (Schur complement)
        steps, Marquardt scaling and an active set on the bounds, followed by neighbour
        re-seeding (see the module docstring). ``"trf"``:
        ``scipy.optimize.least_squares(method="trf", tr_solver="lsmr")`` on the sparse
        Jacobian (slower to converge when some per-spectrum parameters are barely determined;
        no re-seeding).
    **series_options
        Passed to :func:`eisna.fit_series` when ``initial`` is None.

    Returns
    -------
    JointFitResult

    Raises
    ------
    FitError
        Unknown shared parameter or law, fewer than two fitted spectra, a times_h of the
        wrong length, or a solver failure.
    """
    from scipy.optimize import least_squares

    fits_all, t_all = _initial_fits(spectra, circuit, initial, times_h, series_options)
    keep = [i for i, f in enumerate(fits_all) if f is not None and np.isfinite(t_all[i])]
    skipped = tuple(i for i in range(len(fits_all)) if i not in keep)
    if len(keep) < 2:
        raise FitError(
            f"fit_joint: {len(keep)} usable per-spectrum fit(s) of {len(fits_all)}; a joint fit "
            f"needs at least two (check the failed rows of the series)."
        )
    fits = [fits_all[i] for i in keep]
    t = t_all[keep]
    templates = _restore_fallbacks(fits)
    setups = [_problem_of(f, tpl) for f, tpl in zip(fits, templates, strict=True)]
    problems = [s[0] for s in setups]
    _check_shared(shared, problems, law_param if law else None)
    jlaw = None
    if law is not None:
        r = np.array([f.params.get(law_param, 0.0) for f in fits], dtype=float)
        jlaw = _JointLaw(law, t, r)
    setups = _align(setups, _shared_start(problems, [s[1] for s in setups], shared))
    layout = _Layout(
        problems, [s[1] for s in setups], [s[2] for s in setups], shared, law_param if law else None, jlaw
    )
    joint = _Joint(layout, t)
    budget = max(200, 2 * layout.size) if max_nfev is None else int(max_nfev)
    try:
        if solver == "lm":
            sol = _levenberg_marquardt(joint, layout.x0, layout.lo, layout.hi, budget)
            for _ in range(_RESEED_ROUNDS):
                noise = 2 * sol.cost / max(joint.n_res - layout.size, 1)
                if sol.status <= 0 or not _reseed_from_neighbours(joint, sol.x, noise):
                    break
                again = _levenberg_marquardt(joint, sol.x, layout.lo, layout.hi, max(budget - sol.nfev, 20))
                again.nfev += sol.nfev
                sol = again
        else:
            sol = least_squares(
                joint.residual,
                layout.x0,
                jac=joint.jacobian,
                bounds=(layout.lo, layout.hi),
                method="trf",
                tr_solver="lsmr",
                x_scale=1.0,
                ftol=1e-10,
                xtol=1e-10,
                gtol=1e-10,
                max_nfev=budget,
            )
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as err:
        raise FitError(f"fit_joint: the joint solve failed ({err}); check the per-spectrum fits.") from err
    return _assemble(joint, sol, fits, t, keep, skipped, jlaw, law_param)


def _levenberg_marquardt(joint: _Joint, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray, max_nfev: int):
    """Projected Levenberg–Marquardt on the block-arrow normal equations of the joint problem.

    Marquardt scaling (the diagonal of JᵀJ); a coordinate on a bound whose gradient points out
    of the box is held for that iteration (active set), the others take the damped
    Gauss–Newton step (solved per spectrum through the Schur complement of the shared
    coordinates, :class:`~eisna.series.joint_arrow.ArrowNormal`), clipped to the bounds. The
    damping follows the ratio of actual to predicted decrease (Nielsen's rule). Converged when
    the gradient of the free coordinates vanishes, or when a Gauss–Newton step promises less
    than ``_GN_TOL`` noise variances of χ² (redχ² of the current point). Returns an
    OptimizeResult (x, cost, fun, status, message, nfev, nit).
    """
    from scipy.optimize import OptimizeResult

    x = np.clip(x0, lo, hi)
    r = joint.residual(x)
    cost, lam, nu, nfev, nit, status = 0.5 * float(r @ r), 1e-3, 2.0, 1, 0, 0
    dof = max(r.size - x.size, 1)
    span = hi - lo
    message = "The maximum number of function evaluations is exceeded."
    while nfev < max_nfev:
        jac = joint.jacobian(x)
        normal = ArrowNormal(jac, joint.lay.n_global, joint.blocks)
        grad = np.asarray(jac.T @ r).ravel()
        free = ~(((x - lo <= 1e-12 * span) & (grad > 0)) | ((hi - x <= 1e-12 * span) & (grad < 0)))
        diag = normal.diag[free]
        scale = np.full(x.size, 1.0)
        scale[free] = np.maximum(diag, 1e-12 * max(float(diag.max(initial=0.0)), 1e-300))
        noise = 2 * cost / dof  # redχ²: one noise variance in χ² units
        g = grad[free]
        if not g.size or np.max(np.abs(g) / np.sqrt(scale[free])) < 1e-10 * max(np.sqrt(2 * cost), 1e-300):
            status, message = 1, "gradient below tolerance"
            break
        if nit and float(-grad @ normal.solve(-grad, 1e-9 * scale, free)) < _GN_TOL * noise:
            status, message = 2, f"converged: a Gauss–Newton step gains < {_GN_TOL:g} noise variances of χ²"
            break
        nit += 1
        accepted = False
        while nfev < max_nfev:
            x_new = np.clip(x + normal.solve(-grad, lam * scale, free), lo, hi)
            d = x_new - x
            jd = jac @ d
            pred = -float(grad @ d) - 0.5 * float(jd @ jd)  # model decrease of ½χ²
            r_new = joint.residual(x_new)
            nfev += 1
            cost_new = 0.5 * float(r_new @ r_new)
            if np.isfinite(cost_new) and cost_new < cost and pred > 0:
                rho = (cost - cost_new) / pred
                lam = max(lam * max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), 1e-12)
                nu, accepted = 2.0, True
                break
            lam *= nu
            nu *= 2.0
            if lam > 1e16:
                break
        if not accepted:
            if nfev < max_nfev:
                status, message = 2, "no further decrease of χ² (converged)"
            break
        gain = cost - cost_new
        x, r, cost = x_new, r_new, cost_new
        if gain < 1e-12 * cost:
            status, message = 2, "`ftol` termination condition is satisfied."
            break
    return OptimizeResult(x=x, cost=cost, fun=r, status=status, message=message, nfev=nfev, nit=nit)


def _shared_start(problems, xs, shared) -> dict[str, float]:
    """Start value of each shared parameter: the median of the per-spectrum values (in the
    internal coordinate, i.e. the geometric median for log parameters)."""
    out = {}
    for name in shared:
        vals = [
            (x[j], bool(p.is_log[j]))
            for p, x in zip(problems, xs, strict=True)
            if (j := _coord(p, name)) is not None
        ]
        med = float(np.median([v for v, _ in vals]))
        out[name] = 10.0**med if vals[0][1] else med
    return out


def _solve_block(problem: _Problem, x: np.ndarray, hold: np.ndarray) -> tuple[np.ndarray, float]:
    """Re-solve one spectrum (Levenberg–Marquardt, :func:`eisna.fitting.solver._solve`) with the
    coordinates in ``hold`` (bool mask) kept at their values in ``x``; returns (x, χ²), or the
    start and its χ² when the solve fails."""
    names = list(problem.names)
    values = problem.to_values(x)
    free_names = [names[k] for k in problem.free_idx]
    fixed = {n: float(problem.base[k]) for k, n in enumerate(names) if n not in free_names}
    fixed.update({free_names[j]: float(values[problem.free_idx[j]]) for j in np.flatnonzero(hold)})
    bounds = {n: problem.bound_values(j) for j, n in enumerate(free_names)}
    freq = problem.s.imag / (2 * np.pi)
    sub = _Problem(problem.defn, freq, problem.z, problem.w_re, problem.w_im, fixed, bounds)
    x_sub = sub.to_x(values)
    try:
        res = _solve(sub, x_sub, 100, _above_window(sub, x_sub)[0])
        x_new = problem.to_x(sub.to_values(res.x))
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        x_new = np.array(x, dtype=float)
    r = problem.residual(x_new)
    return x_new, float(r @ r)


def _align(setups, shared_values: Mapping[str, float]):
    """Re-solve each spectrum with the shared parameters held at their start values, so that
    the joint solve starts in the valley of the shared solution (started from the unaligned
    per-spectrum values, the joint solve can settle in a far worse minimum)."""
    out = []
    for problem, x, held in setups:
        x = x.copy()
        hold = np.zeros(x.size, dtype=bool)
        for j, iname in enumerate(problem.internal_names):
            name = iname.removeprefix("log10_")
            if name in shared_values:
                x[j] = problem.to_x(_with(problem, x, j, shared_values[name]))[j]
                hold[j] = True
        out.append((problem, _solve_block(problem, x, hold)[0], held))
    return out


def _with(problem: _Problem, x: np.ndarray, j: int, value: float) -> np.ndarray:
    values = problem.to_values(x)
    values[problem.free_idx[j]] = value
    return values


def _reseed_from_neighbours(joint: _Joint, xg: np.ndarray, noise: float) -> bool:
    """Try each spectrum's own coordinates from its neighbours' joint solution (the shared
    ones held); keep a start that lowers its χ² by more than one noise variance (``noise``,
    redχ² of the joint solution). A single spectrum can sit in a worse local minimum of its
    own parameters (e.g. an above-window bulk capacitance released in one spectrum but not
    the next, or a per-spectrum fit that missed its best minimum); the joint solve, a local
    method, does not leave it. Updates ``xg`` and the held coordinates in place; True when
    anything changed."""
    lay = joint.lay
    n = len(lay.problems)
    changed = False
    for i, p in enumerate(lay.problems):
        g = lay.gidx[i]
        own = (g >= lay.n_global) | (g == -1)
        if not own.any():
            continue
        xi = lay.local(i, xg, joint.t[i])
        r = p.residual(xi)
        best_x, best_chi = xi, float(r @ r)
        for k in (i - 1, i + 1):
            if not 0 <= k < n or lay.problems[k].internal_names != p.internal_names:
                continue
            cand = xi.copy()
            cand[own] = lay.local(k, xg, joint.t[k])[own]
            x_new, chi = _solve_block(p, cand, ~own)
            if chi < best_chi - noise:
                best_x, best_chi = x_new, chi
        if best_x is not xi:
            mine = g >= lay.n_global
            xg[g[mine]] = np.clip(best_x[mine], lay.lo[g[mine]], lay.hi[g[mine]])
            lay.x_base[i][g == -1] = best_x[g == -1]
            changed = True
    return changed


def _check_shared(shared: Sequence[str], problems: Sequence[_Problem], law_param: str | None) -> None:
    free = {iname.removeprefix("log10_") for p in problems for iname in p.internal_names}
    for name in shared:
        if name == law_param:
            raise FitError(
                f"fit_joint: {name!r} cannot be both shared and follow the growth law; "
                f"drop it from shared or from law_param."
            )
        if name not in free:
            close = difflib.get_close_matches(name, sorted(free), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise FitError(
                f"fit_joint: shared parameter {name!r} is not a free parameter of the series' "
                f"circuits; free parameters are {sorted(free)}.{hint}"
            )


def _assemble(joint: _Joint, sol, fits, t, keep, skipped, jlaw, law_param) -> JointFitResult:
    lay = joint.lay
    x = sol.x
    resid = joint.residual(x)
    n_res, nvar = resid.size, lay.size
    chisqr = float(resid @ resid)
    redchi = chisqr / max(n_res - nvar, 1)
    jac = joint.jacobian(x)
    limit, block = _limits(lay)
    cov, fixed = _joint_covariance(jac, redchi, limit, block)
    # noise not proportional to the weights, and the systematic range of above-window capacitances
    widened = joint_profile(joint, x, resid, jac, cov, redchi, fixed)
    cov = joint_sandwich(jac, resid, cov, redchi, fixed) + widened
    cov_fin = np.where(np.isfinite(cov), cov, 0.0)
    law_sl = slice(joint.law0, joint.law0 + len(lay.law_names))
    params, stderr, derived, chis = [], [], [], []
    excluded: list[tuple[str, ...]] = []
    for i, p in enumerate(lay.problems):
        xi = lay.local(i, x, t[i])
        values = p.to_values(xi)
        names = p.names
        # d value / d global coordinate, per parameter (sparse: {column: derivative})
        grads: dict[str, dict[int, float]] = {}
        for j, idx in enumerate(p.free_idx):
            g = lay.gidx[i][j]
            dvdx = values[idx] * math.log(10) if p.is_log[j] else 1.0
            if g >= 0:
                grads[names[idx]] = {int(g): dvdx}
            elif g == -2:
                dxdp = joint.law_gradient(x, i)
                grads[names[idx]] = {joint.law0 + k: dvdx * d for k, d in enumerate(dxdp)}
        pv = {n: float(v) for n, v in zip(names, values, strict=True)}
        ps = {n: _sd(grads[n], cov, cov_fin) if n in grads else math.nan for n in names}
        r_names = [n for n in names if n.startswith("R_")]
        # R_SE leaves out what the per-spectrum fit counted as interfacial (physics.effective_role)
        left_out = tuple(n for n in interfacial_resistances(fits[i]) if n in _SE_PARTS and n in names)
        se_all = [n for n in _SE_PARTS if n in names]
        se_names = [n for n in se_all if n not in left_out]
        der = {}
        if se_names:
            der["R_SE"] = (sum(pv[n] for n in se_names), _sd(_sum(grads, se_names), cov, cov_fin))
        elif se_all:  # every SE arc electrode-scale: R_SE not identified (physics.SE_NOT_IDENTIFIED)
            der["R_SE"] = (math.nan, math.nan)
        excluded.append(left_out)
        der["R_total"] = (sum(pv[n] for n in r_names), _sd(_sum(grads, r_names), cov, cov_fin))
        params.append(pv)
        stderr.append(ps)
        derived.append(der)
        seg = resid[joint.offsets[i] : joint.offsets[i + 1]]
        chis.append(float(seg @ seg))
    shared = {n: params[_first_with(params, n)][n] for n in lay.shared}
    shared_err = {n: stderr[_first_with(params, n)][n] for n in lay.shared}
    law_params, law_err = {}, {}
    if jlaw is not None:
        law_params = jlaw.params(x[law_sl])
        sd = np.sqrt(np.clip(np.diag(cov)[law_sl], 0, None))
        law_err = {n: float(v) for n, v in zip(jlaw.names, sd, strict=True)}
    return JointFitResult(
        shared=shared,
        shared_stderr=shared_err,
        params=tuple(params),
        stderr=tuple(stderr),
        derived=tuple(derived),
        time_h=np.asarray(t, dtype=float),
        indices=tuple(keep),
        circuits=tuple(p.defn.name for p in lay.problems),
        chisqr=chisqr,
        redchi=float(redchi),
        chisqr_spectra=np.array(chis),
        initial_chisqr=float(sum(f.chisqr for f in fits)),
        n_residuals=int(n_res),
        nvarys=int(nvar),
        law=jlaw.name if jlaw else None,
        law_param=law_param if jlaw else None,
        law_params=law_params,
        law_stderr=law_err,
        success=bool(sol.status > 0),
        nfev=int(joint.nfev),
        message=str(sol.message),
        skipped=skipped,
        initial=tuple(fits),
        se_excluded=tuple(excluded) if any(excluded) else (),
    )


def _first_with(params: Sequence[Mapping[str, float]], name: str) -> int:
    return next(i for i, p in enumerate(params) if name in p)


def _sum(grads: Mapping[str, Mapping[int, float]], names: Sequence[str]) -> dict[int, float]:
    out: dict[int, float] = {}
    for n in names:
        for c, d in grads.get(n, {}).items():
            out[c] = out.get(c, 0.0) + d
    return out


def _sd(grad: Mapping[int, float], cov: np.ndarray, cov_fin: np.ndarray) -> float:
    """Delta-method 1σ from a sparse gradient in global coordinates (inf when it touches an
    undetermined coordinate, NaN without any)."""
    if not grad:
        return math.nan
    cols = np.fromiter(grad, dtype=int)
    g = np.array([grad[c] for c in cols])
    live = g != 0
    if np.any(~np.isfinite(np.diag(cov)[cols][live])):
        return math.inf
    var = float(g @ cov_fin[np.ix_(cols, cols)] @ g)
    return math.sqrt(var) if var >= 0 and np.isfinite(var) else math.nan


def joint_table(
    series: Any, shared: Sequence[str] = DEFAULT_SHARED, *, law: str | None = None, law_param: str = "R_int"
) -> pd.DataFrame:
    """:func:`fit_joint` on each cell of a :class:`~eisna.SeriesResult` (warm from its fits):
    the ``joint.csv`` table, one row per fitted spectrum with a ``cell`` column first (cells with
    fewer than two fitted spectra get no rows; ``law_*`` columns hold the law's parameters)."""
    import pandas as pd

    labels = list(series.cells) if series.cells else [None] * len(series.results)
    frames = []
    for cell in dict.fromkeys(labels):
        idx = [i for i, c in enumerate(labels) if c == cell]
        fits = [series.results[i] for i in idx]
        if sum(isinstance(f, FitResult) and f.success for f in fits) < 2:
            continue
        joint = fit_joint(
            None,
            initial=fits,
            times_h=np.asarray(series.time_h, dtype=float)[idx],
            shared=shared,
            law=law,
            law_param=law_param,
        )
        frame = joint.to_frame()
        frame["index"] = [idx[k] for k in frame["index"]]
        for name, value in joint.law_params.items():
            frame[f"law_{name}"] = value
            frame[f"law_{name}_stderr"] = joint.law_stderr[name]
        frame.insert(0, "cell", "" if cell is None else str(cell))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
