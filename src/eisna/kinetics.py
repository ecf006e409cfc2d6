"""Growth kinetics of an interlayer resistance R(t), each law with an onset time t0.

Every model has the form ``R(t) = R0 + A·g(t; t0, θ)`` with ``H = max(t − t0, 0)``:

========== ======================================== ======================================
name       equation                                 physical reading
========== ======================================== ======================================
constant   R0                                       no growth (the null model)
linear     R0 + k·H                                 interface-reaction limited
parabolic  R0 + k·√H                                transport limited (Wagner)
logarithmic R0 + a·ln(1 + H/τ)                      self-passivation (Cabrera–Mott type)
first_order R0 + ΔR·(1 − exp(−H/τ))                 reactant exhaustion, passivation
jmak       R0 + ΔR·(1 − exp(−(H/τ)^m))              nucleation, growth, coalescence (Avrami)
========== ======================================== ======================================

The fit profiles the onset t0 on a grid and refines it (the laws are not smooth at t0), solves
the linear amplitudes (R0, A) exactly for each trial of the non-linear ones (variable projection),
and ranks the laws by AICc = χ² + 2k + 2k(k+1)/(N − k − 1), where k counts t0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .errors import EisnaError

__all__ = ["MODELS", "KineticsModelFit", "KineticsResult", "fit_kinetics"]


class KineticsError(EisnaError, ValueError):
    """The data handed to :func:`fit_kinetics` cannot be fitted."""


@dataclass(frozen=True)
class _Law:
    name: str
    equation: str
    amplitude: str  # name of the linear amplitude A
    nonlinear: tuple[str, ...]  # names of θ, in order
    shape: Callable[[np.ndarray, tuple[float, ...]], np.ndarray]  # g(H; θ)
    saturating: bool
    has_onset: bool = True


def _jmak(h: np.ndarray, th: tuple[float, ...]) -> np.ndarray:
    return 1.0 - np.exp(-((h / th[0]) ** th[1]))


_LAWS: dict[str, _Law] = {
    "constant": _Law("constant", "R = R0", "", (), lambda h, th: np.zeros_like(h), False, False),
    "linear": _Law("linear", "R = R0 + k*H(t - t0)", "k", (), lambda h, th: h, False),
    "parabolic": _Law("parabolic", "R = R0 + k*sqrt(H(t - t0))", "k", (), lambda h, th: np.sqrt(h), False),
    "logarithmic": _Law(
        "logarithmic",
        "R = R0 + a*ln(1 + H(t - t0)/tau)",
        "a",
        ("tau_h",),
        lambda h, th: np.log1p(h / th[0]),
        False,
    ),
    "first_order": _Law(
        "first_order",
        "R = R0 + dR*(1 - exp(-H(t - t0)/tau))",
        "dR",
        ("tau_h",),
        lambda h, th: -np.expm1(-h / th[0]),
        True,
    ),
    "jmak": _Law(
        "jmak",
        "R = R0 + dR*(1 - exp(-(H(t - t0)/tau)^m))",
        "dR",
        ("tau_h", "m"),
        _jmak,
        True,
    ),
}
MODELS: tuple[str, ...] = tuple(_LAWS)

_UNITS = {"R0": "Ω", "k": "Ω/h", "a": "Ω", "dR": "Ω", "tau_h": "h", "m": "", "t0_h": "h"}


@dataclass(frozen=True)
class KineticsModelFit:
    """One growth law fitted to R(t).

    Attributes
    ----------
    name, equation : str
        Law name (see :data:`MODELS`) and its equation; H(x) = max(x, 0).
    params, stderr : dict
        Best values and 1σ standard errors: ``R0`` (Ω), the amplitude (``k`` in Ω/h for
        linear, Ω/√h for parabolic, ``a`` or ``dR`` in Ω), ``tau_h`` (h), ``m`` and ``t0_h`` (h).
    chisqr : float
        Weighted χ² (or the residual sum of squares in Ω² without standard errors).
    aicc : float
        Small-sample Akaike criterion; lower is better.
    delta_aicc : float
        AICc minus the best AICc of the table.
    n_params : int
        Free parameters including t0.
    t95_h : float or None
        Time (h) at which 95 % of the final growth is reached: of ΔR∞ for saturating laws,
        of the growth at the last time otherwise.
    """

    name: str
    equation: str
    params: dict[str, float]
    stderr: dict[str, float]
    chisqr: float
    aicc: float
    delta_aicc: float
    n_params: int
    t95_h: float | None
    success: bool = True

    def predict(self, t_h: Any) -> np.ndarray:
        """Model R (Ω) at times ``t_h`` (h)."""
        return _predict(_LAWS[self.name], self.params, np.asarray(t_h, dtype=float))

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "equation": self.equation,
            "params": dict(self.params),
            "stderr": dict(self.stderr),
            "units": {k: _UNITS.get(k, "") for k in self.params},
            "chisqr": self.chisqr,
            "aicc": self.aicc,
            "delta_aicc": self.delta_aicc,
            "n_params": self.n_params,
            "t95_h": self.t95_h,
            "success": self.success,
        }


@dataclass(frozen=True)
class KineticsResult:
    """Growth laws fitted to R(t), ranked by AICc.

    Attributes
    ----------
    model : str
        Best law, or ``"none"`` when the constant (no-growth) model wins.
    onset_h, onset_stderr_h : float or None
        Onset time t0 of the best law (h) and its 1σ error from the χ² profile; None for "none".
    t95_h : float or None
        Time (h) at which 95 % of the final growth is reached (best law).
    R_final : float
        Best law's R at the last time (Ω).
    best : KineticsModelFit or None
        The best law (None for "none").
    table : tuple of KineticsModelFit
        Every law, best first.
    t_h, R, stderr : ndarray
        The data (h, Ω, Ω).
    weighted : bool
        True when standard errors weighted the fit.
    """

    model: str
    onset_h: float | None
    onset_stderr_h: float | None
    t95_h: float | None
    R_final: float
    best: KineticsModelFit | None
    table: tuple[KineticsModelFit, ...]
    t_h: np.ndarray = field(repr=False)
    R: np.ndarray = field(repr=False)
    stderr: np.ndarray = field(repr=False)
    weighted: bool = True

    def predict(self, t_h: Any) -> np.ndarray:
        """Best law's R (Ω) at ``t_h`` (h); the constant model when ``model == "none"``."""
        fit = self.best if self.best is not None else self.table[0]
        return fit.predict(t_h)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the ``kinetics.json`` core)."""
        best = self.best
        return {
            "model": self.model,
            "equation": best.equation if best else None,
            "onset_h": self.onset_h,
            "onset_stderr_h": self.onset_stderr_h,
            "t95_h": self.t95_h,
            "R_final_ohm": self.R_final,
            "params": dict(best.params) if best else {},
            "stderr": dict(best.stderr) if best else {},
            "selection": "AICc = chi2 + 2k + 2k(k+1)/(N-k-1), k counts t0",
            "weighted": self.weighted,
            "models": [m.to_dict() for m in self.table],
        }


# --------------------------------------------------------------------------- core maths


def _predict(law: _Law, params: dict[str, float], t: np.ndarray) -> np.ndarray:
    if not law.has_onset:
        return np.full_like(t, params["R0"], dtype=float)
    h = np.maximum(t - params["t0_h"], 0.0)
    theta = tuple(params[n] for n in law.nonlinear)
    return params["R0"] + params[law.amplitude] * law.shape(h, theta)


_Weights = tuple[np.ndarray, float, float, np.ndarray]


def _weights(y: np.ndarray, w: np.ndarray) -> _Weights:
    """w², Σw², the weighted mean ȳ of y and y − ȳ: what :func:`_solve_linear` needs of the data."""
    w2 = w * w
    sw = float(w2.sum())
    y_bar = float(w2 @ y) / sw
    return w2, sw, y_bar, y - y_bar


_NO_COEF = np.zeros(0)  # (the coefficients _solve_linear was not asked for)
_NO_COEF.flags.writeable = False


def _solve_linear(
    g: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    law: _Law,
    weights: _Weights | None = None,
    coefficients: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares for (R0, A); returns (coefficients, weighted residuals).

    Closed form about the weighted means (a 2×2 problem; ~10× cheaper than ``lstsq``); a shape
    that barely varies over the data (A undetermined) falls back to the minimum-norm ``lstsq``.
    ``weights``: :func:`_weights` of (y, w), when the caller solves many shapes for one data set;
    ``coefficients=False``: the residuals only (the onset profile's thousands of trials), the
    coefficients an empty array.
    """
    w2, sw, y_bar, yc = _weights(y, w) if weights is None else weights
    if not law.has_onset:
        return np.array([y_bar]), (y - y_bar) * w
    g_bar = float(w2 @ g) / sw
    gc = g - g_bar
    sgg = float(w2 @ (gc * gc))
    # Σw²g² = Σw²(g − ḡ)² + Σw²·ḡ²: well clear of the limit, that sum need not be formed
    if not (sgg > 1e-18 * (sgg + sw * g_bar * g_bar) or sgg > 1e-20 * max(float(w2 @ (g * g)), 1e-300)):
        X = np.column_stack([np.ones_like(g), g])
        coef, *_ = np.linalg.lstsq(X * w[:, None], y * w, rcond=None)
        return coef, (y - X @ coef) * w
    amp = float(w2 @ (gc * yc)) / sgg
    r0 = y_bar - amp * g_bar
    return np.array([r0, amp]) if coefficients else _NO_COEF, (y - r0 - amp * g) * w


def _small_lsq(
    fun: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    max_nfev: int = 200,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounded Levenberg–Marquardt for one or two parameters; returns (x, residuals at x).

    Replaces ``scipy.optimize.least_squares`` for the onset profile's θ (a few hundred solves
    per growth-law table, each with ~1 ms of SciPy set-up): forward-difference Jacobian,
    Marquardt-scaled damping, steps projected onto the box; stops on a relative step below
    1e-10 or a relative χ² decrease below 1e-12 (the tolerances the SciPy call had).
    """
    x = x0.astype(float).copy()
    r = fun(x)
    cost = float(r @ r)
    nfev = 1
    lam = 1e-3
    eps = 1.4901161193847656e-08  # sqrt(machine epsilon), as SciPy's "2-point" rule
    S = np.zeros((x.size, x.size))  # secant estimate of the Hessian's residual term Σ rᵢ∇²rᵢ
    last: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    # (one or two coordinates: the element-wise arithmetic and tests in Python floats, which
    # round exactly as NumPy's; the products over the data stay NumPy's)
    los, his = lo.tolist(), hi.tolist()
    while nfev < max_nfev:
        xs = x.tolist()
        J = np.empty((r.size, x.size))
        for j, xj_value in enumerate(xs):
            h = eps * max(1.0, abs(xj_value))
            if xj_value + h > his[j]:
                h = -h
            xj = x.copy()
            xj[j] += h
            J[:, j] = (fun(xj) - r) / h
            nfev += 1
        g = J.T @ r
        if last is not None:
            # structured secant update (Dennis, Gay & Welsch): the profile's residuals stay
            # large (a law that does not fit), where Gauss–Newton alone converges only linearly
            s_x, J_prev, g_prev = x - last[0], last[1], last[2]
            y = g - g_prev
            ys = float(y @ s_x)
            if ys > 1e-300:
                v = (J - J_prev).T @ r - S @ s_x
                yc = y[:, None]  # (outer products by broadcasting: np.outer's own arithmetic)
                S = S + (v[:, None] * y + yc * v) / ys - float(v @ s_x) * (yc * y) / ys**2
        last = (x, J, g)
        JtJ = J.T @ J
        A = JtJ + S
        diag = np.maximum(JtJ.diagonal(), 1e-300)
        gs = g.tolist()
        # the gradient points out of the box at an active bound: that coordinate is done
        free = [
            not ((xi <= lo_i and gi > 0) or (xi >= hi_i and gi < 0))
            for xi, gi, lo_i, hi_i in zip(xs, gs, los, his, strict=True)
        ]
        if not any(free):
            break
        slopes = [abs(gi) * max(abs(xi), 1.0) for xi, gi, f in zip(xs, gs, free, strict=True) if f]
        if not any(math.isnan(v) for v in slopes) and max(slopes) <= 1e-15 * max(cost, 1e-300):
            break
        a_rows, diags = A.tolist(), diag.tolist()
        improved = False
        while nfev < max_nfev:
            step = _damped_step(a_rows, gs, [lam * d for d in diags], free)
            if step is None:  # singular
                lam *= 10.0
                continue
            x_new = np.minimum(np.maximum(x + step, lo), hi)
            moved = x_new - x
            if all(abs(m) <= 1e-10 * (1e-10 + abs(xi)) for m, xi in zip(moved.tolist(), xs, strict=True)):
                return x, r  # converged in x (or pinned at the bounds)
            predicted = -(2.0 * float(g @ moved) + float(moved @ A @ moved))
            if predicted <= 0.0:  # the model (with its secant term) is not convex along the step
                lam *= 10.0
                if lam > 1e16:
                    return x, r
                continue
            if lam <= 1e-2 and predicted <= 1e-12 * cost:
                return x, r  # the linear model promises no χ² worth another evaluation
            r_new = fun(x_new)
            nfev += 1
            cost_new = float(r_new @ r_new)
            if math.isfinite(cost_new) and cost_new < cost:
                # (a step small in x returned above, before this evaluation)
                small_drop = cost - cost_new <= 1e-12 * cost
                x, r, cost = x_new, r_new, cost_new
                lam = max(lam / 10.0, 1e-12)
                improved = True
                if small_drop:
                    return x, r
                break
            lam *= 10.0
            if lam > 1e16:
                return x, r
        if not improved:
            break
    return x, r


def _damped_step(
    A: Sequence[Sequence[float]], g: Sequence[float], damp: Sequence[float], free: Sequence[bool]
) -> np.ndarray | None:
    """−(A + diag(damp))⁻¹ g over the free coordinates (one or two: closed form, in Python floats,
    which round as NumPy's scalars); None if singular."""
    step = [0.0] * len(g)
    idx = [i for i in range(len(g)) if free[i]]
    if len(idx) == 1:
        (i,) = idx
        m = A[i][i] + damp[i]
        if m == 0.0 or not math.isfinite(m):
            return None
        step[i] = -g[i] / m
        return np.array(step)
    a, b, c, d = A[0][0] + damp[0], A[0][1], A[1][0], A[1][1] + damp[1]
    det = a * d - b * c
    if det == 0.0 or not math.isfinite(det):
        return None
    step[0] = -(d * g[0] - b * g[1]) / det
    step[1] = -(a * g[1] - c * g[0]) / det
    return np.array(step)


class _Profile:
    """χ²(t0) with θ optimised and (R0, A) solved exactly at each t0."""

    def __init__(self, law: _Law, t: np.ndarray, y: np.ndarray, w: np.ndarray) -> None:
        self.law, self.t, self.y, self.w = law, t, y, w
        self.weights = _weights(y, w)  # (the same for every trial: computed once)
        self._h: tuple[float, np.ndarray] = (math.nan, t)  # H(t − t0) of the last t0
        span = max(float(t[-1] - t[0]), 1e-6)
        self.span = span
        if law.nonlinear == ("tau_h",):
            self.lo = np.array([math.log(span * 1e-3)])
            self.hi = np.array([math.log(span * 50)])
            self.starts = [np.array([math.log(span / 4)])]
        elif law.nonlinear == ("tau_h", "m"):
            self.lo = np.array([math.log(span * 1e-3), 0.3])
            self.hi = np.array([math.log(span * 50), 8.0])
            self.starts = [np.array([math.log(span / 4), m]) for m in (1.0, 2.0, 3.5)]
        else:
            self.lo = self.hi = np.zeros(0)
            self.starts = [np.zeros(0)]
        self.last = self.starts[0]
        self._inside = (self.lo + 1e-9, self.hi - 1e-9)  # where a start is moved to (solve)

    def _theta(self, x: np.ndarray) -> tuple[float, ...]:
        if x.size == 0:
            return ()
        return (math.exp(x[0]), *x[1:].tolist())

    def residual(self, x: np.ndarray, t0: float) -> np.ndarray:
        if self._h[0] != t0:  # a solve at fixed t0 evaluates many θ
            self._h = (t0, np.maximum(self.t - t0, 0.0))
        g = self.law.shape(self._h[1], self._theta(x))
        return _solve_linear(g, self.y, self.w, self.law, self.weights, coefficients=False)[1]

    def solve(self, t0: float, *, thorough: bool = False) -> tuple[float, np.ndarray]:
        """Return (χ², θ in optimiser space) at fixed t0."""
        if self.lo.size == 0:
            r = self.residual(np.zeros(0), t0)
            return float(r @ r), np.zeros(0)
        starts = [self.last, *self.starts] if thorough else [self.last]
        best = (math.inf, self.last)
        tried: set[bytes] = set()
        lo, hi = self._inside
        for x0 in starts:
            x0 = np.minimum(np.maximum(x0, lo), hi)  # (np.clip's values, without its ~4 µs wrapper)
            if x0.tobytes() in tried:  # (the same solve again: the same χ², which cannot win)
                continue
            tried.add(x0.tobytes())
            x, r = _small_lsq(lambda x: self.residual(x, t0), x0, self.lo, self.hi)
            chi = float(r @ r)
            if chi < best[0]:
                best = (chi, x)
        self.last = best[1]
        return best


def _fit_law(
    law: _Law, t: np.ndarray, y: np.ndarray, w: np.ndarray, unweighted: bool
) -> tuple[KineticsModelFit, _Profile]:
    n = t.size
    k = 1 + (1 if law.has_onset else 0) + len(law.nonlinear) + (1 if law.has_onset else 0)
    prof = _Profile(law, t, y, w)
    if law.has_onset:
        step = _time_step(t)
        # onset between the first time and the time the change reaches half its range (a later
        # onset cannot explain the half already grown), never past the third-to-last point
        change = np.abs(y - y[0])
        half = np.flatnonzero(change > 0.5 * change.max()) if change.max() > 0 else np.array([], int)
        last = min(int(half[0]) if half.size else n - 3, max(n - 3, 0))
        grid = np.arange(t[0], t[max(last, 1)] + 1e-9, step)
        chis = []
        for t0 in grid:
            chis.append(prof.solve(float(t0), thorough=t0 == grid[0])[0])
        i = int(np.argmin(chis))
        prof.solve(float(grid[i]), thorough=True)
        from scipy.optimize import minimize_scalar

        lo_t, hi_t = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, grid.size - 1)])
        if hi_t > lo_t:
            res = minimize_scalar(
                lambda t0: prof.solve(t0)[0],
                bounds=(lo_t, hi_t),
                method="bounded",
                options={"xatol": 1e-3},
            )
            t0_best = float(res.x) if res.fun <= chis[i] else float(grid[i])
        else:
            t0_best = float(grid[i])
        chi, x = prof.solve(t0_best, thorough=True)
    else:
        t0_best = math.nan
        chi, x = prof.solve(0.0)
    h = np.maximum(t - t0_best, 0.0) if law.has_onset else np.zeros_like(t)
    theta = prof._theta(x)
    coef, _ = _solve_linear(law.shape(h, theta), y, w, law)
    params: dict[str, float] = {"R0": float(coef[0])}
    if law.has_onset:
        params[law.amplitude] = float(coef[1])
        params.update({name: float(v) for name, v in zip(law.nonlinear, theta, strict=True)})
        params["t0_h"] = t0_best
    dof = max(n - k, 1)
    redchi = chi / dof
    # errors scaled by χ²_ν, as lmfit does by default
    stderr = _stderr(law, params, t, y, w, redchi)
    if law.has_onset:
        stderr["t0_h"] = math.nan  # filled from the χ² profile for the best law only
    aicc = _aicc(chi, n, k, unweighted)
    fit = KineticsModelFit(
        name=law.name,
        equation=law.equation,
        params=params,
        stderr=stderr,
        chisqr=chi,
        aicc=aicc,
        delta_aicc=0.0,
        n_params=k,
        t95_h=_t95(law, params, t),
        success=bool(np.isfinite(chi)),
    )
    return fit, prof


def _time_step(t: np.ndarray) -> float:
    """Onset grid step (h): the smallest spacing of distinct times, at least span/200."""
    gaps = np.diff(np.unique(t))
    span = float(t[-1] - t[0]) or 1.0
    return max(float(gaps.min()) if gaps.size else span, span / 200.0)


def _aicc(chi: float, n: int, k: int, unweighted: bool) -> float:
    """AICc; with unknown σ the χ² term is N·ln(RSS/N)."""
    base = n * math.log(max(chi, 1e-300) / n) if unweighted else chi
    corr = 2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf
    return float(base + 2 * k + corr)


def _stderr(law, params, t, y, w, scale) -> dict[str, float]:
    """1σ errors from the Jacobian of all parameters except t0 (profiled separately)."""
    names = [n for n in params if n != "t0_h"]
    p0 = np.array([params[n] for n in names])

    def resid(p: np.ndarray) -> np.ndarray:
        return (y - _predict(law, {**params, **dict(zip(names, p, strict=True))}, t)) * w

    J = np.empty((t.size, p0.size))
    r0 = resid(p0)
    for j in range(p0.size):
        dp = 1e-6 * max(abs(p0[j]), 1e-3)
        pj = p0.copy()
        pj[j] += dp
        J[:, j] = (resid(pj) - r0) / dp
    try:
        cov = np.linalg.pinv(J.T @ J) * scale
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        err = np.full(p0.size, np.nan)
    return {n: float(e) for n, e in zip(names, err, strict=True)}


def _onset_stderr(prof: _Profile, t0: float, chi: float, scale: float, t: np.ndarray) -> float:
    """Half-width of the Δχ² = 1 (×χ²_ν) interval of the onset profile, in hours."""
    step = _time_step(t) / 5
    target = chi + max(scale, 1e-12)
    edges = []
    for sign in (-1.0, 1.0):
        x, found, prev_chi = t0, math.nan, chi
        for _ in range(25):
            x += sign * step
            if x < t[0] - 1e-9 or x > t[-1]:
                break
            cur = prof.solve(x)[0]
            if cur >= target:
                # interpolate the crossing linearly between the last two profile points
                frac = (target - prev_chi) / (cur - prev_chi) if cur > prev_chi else 1.0
                found = abs(x - t0) - step * (1.0 - min(max(frac, 0.0), 1.0))
                break
            prev_chi = cur
        edges.append(found)
    prof.solve(t0)
    finite = [e for e in edges if np.isfinite(e)]
    return float(np.mean(finite)) if finite else math.nan


def _t95(law: _Law, params: dict[str, float], t: np.ndarray) -> float | None:
    if not law.has_onset:
        return None
    t0 = params["t0_h"]
    if law.saturating:
        if law.name == "first_order":
            return t0 + params["tau_h"] * math.log(20.0)
        return t0 + params["tau_h"] * math.log(20.0) ** (1.0 / params["m"])
    # open-ended laws: 95 % of the growth reached at the last time
    fine = np.linspace(t0, float(t[-1]), 4001)
    growth = _predict(law, params, fine) - params["R0"]
    if growth[-1] == 0:
        return None
    frac = growth / growth[-1]
    return float(fine[int(np.argmax(frac >= 0.95))])


# --------------------------------------------------------------------------- public


def fit_kinetics(
    t_h: Sequence[float] | np.ndarray,
    R: Sequence[float] | np.ndarray,
    stderr: Sequence[float] | np.ndarray | None = None,
    *,
    models: Sequence[str] | None = None,
) -> KineticsResult:
    """Fit growth laws with an onset to R(t) and rank them by AICc.

    Parameters
    ----------
    t_h : array_like
        Times in hours.
    R : array_like
        Resistance in Ω (for example ``R_int``, 0 where no interlayer was found).
    stderr : array_like, optional
        1σ errors of R in Ω. Non-finite or non-positive entries get the median of the valid
        ones. Without errors the fit is unweighted and AICc uses N·ln(RSS/N).
    models : sequence of str, optional
        Subset of :data:`MODELS`; the constant model is always included as the no-growth null.

    Returns
    -------
    KineticsResult
        ``model`` is ``"none"`` (and ``onset_h`` None) when the constant model ranks first.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(0, 24.5, 0.5)
    >>> R = 180 * (1 - np.exp(-(np.clip(t - 1, 0, None) / 6) ** 1.5))
    >>> res = fit_kinetics(t, R, np.full(t.size, 0.5))
    >>> res.model, round(res.onset_h, 2)
    ('jmak', 1.0)
    """
    return _fit_kinetics(t_h, R, stderr, models)


_Fitted = dict[str, tuple[KineticsModelFit, _Profile]]


def _fit_kinetics(
    t_h: Sequence[float] | np.ndarray,
    R: Sequence[float] | np.ndarray,
    stderr: Sequence[float] | np.ndarray | None,
    models: Sequence[str] | None,
    known: _Fitted | None = None,
    keep_fits: _Fitted | None = None,
) -> KineticsResult:
    """:func:`fit_kinetics`; the laws in ``known`` (fitted to the same data) are not fitted again,
    and ``keep_fits`` (when given) receives every law's fit for such a later table."""
    t = np.asarray(t_h, dtype=float).ravel()
    y = np.asarray(R, dtype=float).ravel()
    if t.shape != y.shape:
        raise KineticsError(f"fit_kinetics: t_h and R differ in length ({t.size} and {y.size}).")
    keep = np.isfinite(t) & np.isfinite(y)
    if stderr is not None:
        s = np.asarray(stderr, dtype=float).ravel()
        if s.shape != t.shape:
            raise KineticsError(f"fit_kinetics: stderr has {s.size} values; expected {t.size}.")
        s = s[keep]
    t, y = t[keep], y[keep]
    if t.size < 6:
        raise KineticsError(
            f"fit_kinetics: need at least 6 finite (t, R) points; found {t.size}. "
            "Fit a longer series or check for failed spectra."
        )
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    if stderr is None:
        s = np.ones_like(y)
        weighted = False
    else:
        s = s[order]
        good = np.isfinite(s) & (s > 0)
        fill = float(np.median(s[good])) if good.any() else 1.0
        s = np.where(good, s, fill)
        weighted = True
    w = 1.0 / s
    names = list(MODELS if models is None else models)
    unknown = [m for m in names if m not in _LAWS]
    if unknown:
        raise KineticsError(f"fit_kinetics: unknown model(s) {unknown}; choose from {list(MODELS)}.")
    if "constant" not in names:
        names.insert(0, "constant")
    fitted = {name: (known or {}).get(name) or _fit_law(_LAWS[name], t, y, w, not weighted) for name in names}
    if keep_fits is not None:
        # each law's fit as _fit_law gave it (the ranking below fills the winner's t0 error into
        # the stderr dict it shares): a later table of the same data reuses it (_screened)
        keep_fits.update(
            {name: (replace(f, stderr=dict(f.stderr)), prof) for name, (f, prof) in fitted.items()}
        )
    best_aicc = min(f.aicc for f, _ in fitted.values())
    fits = sorted(
        (KineticsModelFit(**{**f.__dict__, "delta_aicc": f.aicc - best_aicc}) for f, _ in fitted.values()),
        key=lambda f: f.aicc,
    )
    top = fits[0]
    if top.name != "constant":
        prof = fitted[top.name][1]
        redchi = top.chisqr / max(t.size - top.n_params, 1)
        top.stderr["t0_h"] = _onset_stderr(prof, top.params["t0_h"], top.chisqr, redchi, t)
    if top.name == "constant":
        return KineticsResult(
            model="none",
            onset_h=None,
            onset_stderr_h=None,
            t95_h=None,
            R_final=float(top.params["R0"]),
            best=None,
            table=tuple(fits),
            t_h=t,
            R=y,
            stderr=s,
            weighted=weighted,
        )
    return KineticsResult(
        model=top.name,
        onset_h=top.params["t0_h"],
        onset_stderr_h=top.stderr.get("t0_h"),
        t95_h=top.t95_h,
        R_final=float(top.predict(t[-1:])[0]),
        best=top,
        table=tuple(fits),
        t_h=t,
        R=y,
        stderr=s,
        weighted=weighted,
    )


def screened_kinetics(t_h: np.ndarray, R: np.ndarray, screen: Sequence[str]) -> KineticsResult:
    """Unweighted growth laws of R(t), all of them only when a ``screen`` law beats the constant.

    The same result as ``fit_kinetics(t_h, R, models=screen)`` when its model is ``"none"``, else
    as ``fit_kinetics(t_h, R)``; the laws of the screen are fitted once for both tables (the
    fits are deterministic: the same numbers either way).

    Parameters
    ----------
    t_h : numpy.ndarray
        Times in hours.
    R : numpy.ndarray
        The tracked quantity (Ω).
    screen : sequence of str
        The cheap laws (of :data:`MODELS`) that decide whether the others are fitted.

    Returns
    -------
    KineticsResult
    """
    fits: _Fitted = {}
    first = _fit_kinetics(t_h, R, None, screen, keep_fits=fits)
    if first.model == "none":
        return first
    return _fit_kinetics(t_h, R, None, None, known=fits)
