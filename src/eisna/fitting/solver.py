"""The least-squares problem of a fit and its Levenberg–Marquardt solves.

* :class:`_Problem`: residual (stacked weighted real and imaginary parts) and analytic
  Jacobian of one spectrum and circuit, in internal coordinates (log10 for ``scale = "log"``
  parameters, linear for exponents).
* :func:`_solve`: MINPACK ``lmder`` on sine-mapped bounded coordinates, optionally holding
  some coordinates; :func:`_above_window` picks the capacitances to hold (arcs far above the
  measured window) and :func:`_release_gain` decides whether the data want them varied.
* :func:`_refine`: restarts at a solution; :func:`_covariance` and
  :func:`_condition_on_undetermined`: the parameter covariance when some parameters are not
  determined by the data.

Internal to :mod:`eisna.fitting`; :func:`eisna.fit` (``engine.py``) drives them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..circuit.library import CircuitDefinition
from ..circuit.parser import series_gradient, series_parts
from .start import arc_tau, capacitive_arcs

_REL_STDERR_LIMIT = 1.0  # relative stderr above which a parameter is flagged unidentifiable
_N_STDERR_LIMIT = 0.2  # absolute stderr limit for linear (exponent) parameters
# held above-window capacitances are released when varying them promises Δχ² > this (in units
# of the noise variance; 10 ≈ p < 0.002 for one parameter)
_RELEASE_DCHI2 = 10.0
# a coordinate whose sine map is within _EDGE of ±1 sits on its bound; _solve restarts it _BACKOFF
# of its range inside
_EDGE = 1e-6
_BACKOFF = 0.02
_UNDETERMINED = 1e3  # stderr beyond 1000 x those limits: the parameter is held fixed for the others' errors


class _Problem:
    """Residual and Jacobian of one fit in internal coordinates x (log10 or linear)."""

    def __init__(
        self,
        defn: CircuitDefinition,
        freq,
        z,
        w_re,
        w_im,
        fixed: Mapping[str, float],
        bounds: Mapping[str, tuple[float, float]] | None = None,
    ):
        self.defn = defn
        self.names = defn.param_names
        self.circuit = defn.circuit
        self.func = defn.circuit.impedance_s
        self.s = 2j * np.pi * freq
        self.s.flags.writeable = False  # (lets the compiled circuit keep ln ω for it)
        self.z = z
        self.w_re, self.w_im = w_re, w_im
        d = defn.defaults
        self.base = np.array([d[n].value for n in self.names], dtype=float)
        for name, val in fixed.items():
            self.base[self.names.index(name)] = float(val)
        self.free = np.array([d[n].vary and n not in fixed for n in self.names])
        self.free_idx = np.flatnonzero(self.free)
        self.is_log = np.array([d[n].scale == "log" for n in self.names])[self.free_idx]
        span = [(bounds or {}).get(n, (d[n].min, d[n].max)) for n in self.names]
        lo = np.array([b[0] for b in span], dtype=float)[self.free_idx]
        hi = np.array([b[1] for b in span], dtype=float)[self.free_idx]
        self.lo = np.where(self.is_log, np.log10(np.where(self.is_log, lo, 1.0)), lo)
        self.hi = np.where(self.is_log, np.log10(np.where(self.is_log, hi, 1.0)), hi)
        self.internal_names = [
            ("log10_" + self.names[i]) if lg else self.names[i]
            for i, lg in zip(self.free_idx, self.is_log, strict=True)
        ]
        self.nfev = 0
        self._jac_key: bytes | None = None
        self._jac = np.empty((0, 0))
        self._res_key: bytes | None = None
        self._res = np.empty(0)
        self._res_d = np.empty(0, dtype=complex)
        self._abs_z2 = np.abs(z) ** 2
        self._misfits: dict[bytes, float] = {}
        self._all_free = self.free_idx.size == len(self.names)
        # the circuit's series items (None: not a series) and their values at the last residual
        self._parts = series_parts(self.circuit)
        self._res_parts: list[Any] = []
        self._res_z: Any = None
        self._res_values = np.empty(0)

    def bound_values(self, j: int) -> tuple[float, float]:
        """(min, max) of free coordinate ``j`` in the parameter's units."""
        if self.is_log[j]:
            return 10.0 ** self.lo[j], 10.0 ** self.hi[j]
        return float(self.lo[j]), float(self.hi[j])

    def to_x(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=float)[self.free_idx]
        x = np.where(self.is_log, np.log10(np.where(self.is_log, np.maximum(v, 1e-300), 1.0)), v)
        span = self.hi - self.lo
        return np.clip(x, self.lo + 1e-6 * span, self.hi - 1e-6 * span)

    def to_values(self, x: np.ndarray) -> np.ndarray:
        v = self.base.copy()
        v[self.free_idx] = np.where(self.is_log, 10.0**x, x)
        return v

    def residual(self, x: np.ndarray) -> np.ndarray:
        """Stacked weighted residual (read-only); the last one is kept, as the statistics of
        the final point ask for it several times."""
        key = np.asarray(x, dtype=float).tobytes()
        if self._res_key == key:
            return self._res
        self.nfev += 1
        values = self.to_values(x)
        if self._parts is None:
            return self._keep_residual(key, self.func(self.s, values), [], values)
        s = self.s
        parts = [part(s, values) for part, _, _ in self._parts]
        return self._keep_residual(key, _series_sum(parts), parts, values)

    def _keep_residual(self, key: bytes, zf: np.ndarray, parts: list[Any], values: np.ndarray) -> np.ndarray:
        d = zf - self.z
        m = d.size
        res = np.empty(2 * m)
        np.multiply(d.real, self.w_re, out=res[:m])
        np.multiply(d.imag, self.w_im, out=res[m:])
        res.flags.writeable = False
        self._res_key, self._res, self._res_d, self._res_parts, self._res_z = key, res, d, parts, zf
        self._res_values = values  # (read only by the Jacobian at the same point)
        return res

    def model(self, x: np.ndarray) -> Any:
        """Z of the circuit at ``x`` (Ω) when the last residual was evaluated there, else None."""
        return self._res_z if self._res_key == np.asarray(x, dtype=float).tobytes() else None

    def snapshot(self, x: np.ndarray) -> tuple[np.ndarray, list[Any]]:
        """(values, series item impedances) at ``x``, for :meth:`residual_near`."""
        self.residual(x)
        return self.to_values(x), self._res_parts

    def residual_near(self, x: np.ndarray, base: tuple[np.ndarray, list[Any]]) -> np.ndarray:
        """:meth:`residual` at ``x``, re-evaluating only the series items whose parameters differ
        from the :meth:`snapshot` ``base``: the same numbers bit for bit (the same item values,
        summed in the same order), for a profile that moves one parameter at a time."""
        key = np.asarray(x, dtype=float).tobytes()
        base_values, base_parts = base
        if self._res_key == key or self._parts is None or not base_parts:
            return self.residual(x)
        self.nfev += 1
        values = self.to_values(x)
        changed = set(np.flatnonzero(values != base_values).tolist())
        s = self.s
        parts = [
            old if changed.isdisjoint(idx) else part(s, values)
            for (part, idx, _), old in zip(self._parts, base_parts, strict=True)
        ]
        return self._keep_residual(key, _series_sum(parts), parts, values)

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """d(residual)/dx (read-only, shape (2 n_freq, n_free), Fortran order: its transpose is
        C-contiguous); the last one is kept, as the solve, the polish, the release test and the
        covariance often ask for it at the same point."""
        key = np.asarray(x, dtype=float).tobytes()
        if self._jac_key == key:
            return self._jac
        # analytic dZ/dvalue from the circuit, chained with dvalue/dx (v ln 10 for log10 params)
        if self._parts is not None and self._res_key == key:
            # at the last residual's point (as in every LM step): from its items' impedances
            values = self._res_values
            grad = series_gradient(self.circuit, self.s, values, self._res_parts)
        else:
            values = self.to_values(x)
            _, grad = self.circuit.gradient_s(self.s, values)
        v_free = values[self.free_idx]
        factor = np.where(self.is_log, v_free * np.log(10.0), 1.0)[:, None]
        if self._all_free:  # (gradient_s returns a fresh array)
            dz = grad
            dz *= factor
        else:
            dz = grad[self.free_idx] * factor
        self.nfev += 1
        m = self.s.size
        jac_t = np.empty((dz.shape[0], 2 * m))
        np.multiply(dz.real, self.w_re, out=jac_t[:, :m])
        np.multiply(dz.imag, self.w_im, out=jac_t[:, m:])
        jac = jac_t.T
        jac.flags.writeable = False
        self._jac_key, self._jac = key, jac
        return jac

    def misfit(self, x: np.ndarray) -> float:
        """Relative rms misfit |Z_fit − Z|/|Z| (per component), independent of the weighting."""
        key = np.asarray(x, dtype=float).tobytes()
        if key not in self._misfits:
            # (the difference of the last residual evaluation when it was at x)
            d = self._res_d if key == self._res_key else self.func(self.s, self.to_values(x)) - self.z
            self._misfits[key] = float(np.sqrt(np.mean(np.abs(d) ** 2 / self._abs_z2) / 2))
        return self._misfits[key]

    def at_bound(self, x: np.ndarray) -> list[int]:
        span = self.hi - self.lo
        # log10 parameters within 0.01 decade (2 %) of a bound, linear ones within 0.1 % of the range
        tol = np.where(self.is_log, np.maximum(1e-4 * span, 0.01), 1e-3 * span)
        near = (x - self.lo < tol) | (self.hi - x < tol)
        return [int(i) for i in np.flatnonzero(near)]


def _series_sum(parts: list[Any]) -> Any:
    """z0 + z1 + ... in order, as the compiled series of :mod:`eisna.circuit.parser` adds them."""
    z = parts[0]
    for zi in parts[1:]:
        z = z + zi
    return z


def _solve(problem: _Problem, x0: np.ndarray, max_nfev: int, hold: Sequence[int] = (), plateau: bool = False):
    """Levenberg–Marquardt (MINPACK) on bounded internal coordinates via x = lo + (hi − lo)(1 + sin u)/2.

    The sine map keeps every parameter inside its bounds without the per-iteration overhead of
    a trust-region-reflective solver. ``hold`` lists internal coordinates kept at their ``x0``
    values. With ``plateau``, held capacitances that must be released are first tried on the
    resistive plateau (:func:`_plateau_release`). Returns an object with ``x`` (internal, all
    coordinates), ``cost``, ``status`` and ``message``.
    """
    from scipy.optimize import least_squares

    act = np.ones(x0.size, dtype=bool)
    act[list(hold)] = False
    lo, hi = problem.lo[act], problem.hi[act]
    half = (hi - lo) / 2
    x_full = np.array(x0, dtype=float)
    to_x = _sine_map(x_full, act, lo, half)

    def fun(u):
        return problem.residual(to_x(u))

    def jac(u):
        return problem.jacobian(to_x(u))[:, act] * (half * np.cos(u))

    jac_t = _sine_jac_t(problem, to_x, act, half)
    u0 = np.arcsin(np.clip((x_full[act] - lo) / half - 1.0, -1 + 1e-9, 1 - 1e-9))
    res = _lmder(fun, jac_t, u0, max_nfev, col_deriv=True)
    if res is None:
        res = least_squares(fun, u0, jac=jac, method="lm", ftol=1e-6, xtol=1e-6, gtol=1e-6, max_nfev=max_nfev)
    edge = np.abs(np.sin(res.x)) > 1.0 - _EDGE
    if edge.any():
        # the sine map has zero slope at a bound, so a coordinate that touched it cannot leave
        # by itself: restart once with those coordinates moved 2 % of
        # their range inside (where the slope is non-zero); if the optimum lies inside they walk
        # in, else they return
        u1 = res.x.copy()
        u1[edge] = np.sign(np.sin(res.x[edge])) * np.arcsin(1.0 - 2 * _BACKOFF)
        again = _lmder(fun, jac_t, u1, max_nfev, col_deriv=True)
        if again is not None and again.cost < res.cost * (1 - 1e-9):
            again.nfev += res.nfev
            res = again
    res.x = to_x(res.x).copy()
    res.held = bool(len(hold))
    gain, step = _release_gain(problem, res.x, res.fun, hold) if len(hold) else (0.0, None)
    if gain > _RELEASE_DCHI2:
        # the held capacitance is measurable after all (e.g. an arc just above the window):
        # continue with every coordinate free
        spent = res.nfev
        if plateau and _towards_plateau(problem, res.x, step, hold):
            flat = _plateau_release(problem, res, max_nfev, hold)
            spent += flat.nfev
            if flat.cost < res.cost * (1 - 1e-9):
                flat.nfev = spent
                return flat
        return _release(problem, res, max_nfev, spent)
    return res


def _release(problem: _Problem, res, max_nfev: int, spent: int):
    """A solve with every coordinate free from the held solve ``res``, if it is no worse (its
    ``nfev`` then counts the ``spent`` evaluations too); else ``res``."""
    free = _solve(problem, res.x, max_nfev)
    free.nfev += spent
    return free if free.cost <= res.cost else res


def _plateau_release(problem: _Problem, res, max_nfev: int, hold: Sequence[int]):
    """Release held above-window capacitances from the resistive plateau rather than from ``res``.

    An arc far above the window is, to first order, a resistance minus an inductance R²C that
    the lead inductance absorbs; when the data prefer a still smaller C (the arc a pure
    resistance), Levenberg–Marquardt walks there down a valley that flattens in log C, often
    3–4 decades in 100+ evaluations, although χ² no longer changes once the apex is ~1000×
    above the highest frequency. So, when the release step points that way
    (:func:`_towards_plateau`): solve held with those arcs' apex put 10⁴× above it (the
    inductance re-fitted), then free from there (on the plateau the released capacitance barely
    moves). The caller keeps this only if it beats the held ``res``; otherwise (a capacitance
    measurable after all, e.g. an arc just above the window) it releases from ``res`` as before.
    """
    _, x_p = _above_window(problem, res.x, park=True, factor=1e4)
    flat = _solve(problem, x_p, max_nfev, hold)
    if flat.held:  # not released by its own test: every coordinate free from there
        flat = _release(problem, flat, max_nfev, flat.nfev)
    return flat


def _sine_map(x_full: np.ndarray, act: np.ndarray, lo: np.ndarray, half: np.ndarray):
    """``to_x(u)``: ``x_full`` with its ``act`` coordinates set to lo + half (1 + sin u), returned
    (the same array every call). MINPACK asks for the Jacobian at the point whose residual it
    just evaluated: the last u's map is kept (by its bytes) rather than computed again."""
    every = bool(act.all())
    idx = np.flatnonzero(act)
    last: list[bytes | None] = [None]

    def to_x(u: np.ndarray) -> np.ndarray:
        key = u.tobytes()
        if key != last[0]:
            mapped = lo + half * (1.0 + np.sin(u))
            if every:
                x_full[:] = mapped
            else:
                x_full[idx] = mapped
            last[0] = key
        return x_full

    return to_x


def _sine_jac_t(problem: _Problem, to_x, act: np.ndarray, half: np.ndarray):
    """The transposed Jacobian (n_active, m) in the sine-mapped coordinates u of the active
    coordinates, x = lo + half (1 + sin u): MINPACK's own layout, without a transposing copy.
    ``jac_t.into(u, out)`` writes it into ``out`` (MINPACK's padded buffer) instead."""
    every = bool(act.all())

    def jac_t(u):
        jt = problem.jacobian(to_x(u)).T  # (n_free, m), C-contiguous
        return (jt if every else jt[act]) * (half * np.cos(u))[:, None]

    def into(u, out):
        jt = problem.jacobian(to_x(u)).T
        np.multiply(jt if every else jt[act], (half * np.cos(u))[:, None], out=out)

    jac_t.into = into  # type: ignore[attr-defined]
    return jac_t


def _release_gain(
    problem: _Problem, x: np.ndarray, resid: np.ndarray, coords: Sequence[int]
) -> tuple[float, np.ndarray]:
    """Gauss–Newton estimate of the χ² decrease (in units of the noise variance) from also
    varying the held coordinates at ``x``, and that Gauss–Newton step (internal coordinates)."""
    jac = problem.jacobian(x)
    dof = max(resid.size - x.size, 1)
    sigma2 = float(resid @ resid) / dof
    step, *_ = np.linalg.lstsq(jac, -resid, rcond=None)
    pred = float(np.sum((jac @ step) ** 2))
    return pred / sigma2, step


def _towards_plateau(problem: _Problem, x: np.ndarray, step: np.ndarray | None, hold: Sequence[int]) -> bool:
    """Whether the Gauss–Newton release ``step`` moves every held above-window arc's apex further
    up (its time constant down): the data then want those arcs as plain resistances."""
    if step is None:
        return False
    held = {int(i) for i in hold}
    pos = {i: j for j, i in enumerate(problem.free_idx.tolist())}
    v0 = problem.to_values(x)
    v1 = problem.to_values(np.clip(x + step, problem.lo, problem.hi))
    moved = False
    for p in capacitive_arcs(problem.defn):
        coords = {pos[i] for key in ("C", "Q", "n") if key in p and (i := int(p[key])) in pos}
        if not coords & held:
            continue
        with np.errstate(all="ignore"):
            t0, t1 = arc_tau(v0, p), arc_tau(v1, p)
        if not t1 < t0:  # (also NaN)
            return False
        moved = True
    return moved


def _above_window(
    problem: _Problem, x: np.ndarray, park: bool = False, factor: float = 100.0, above: float = 9.0
) -> tuple[list[int], np.ndarray]:
    """Internal coordinates of the capacitances (C, or Q and n) of arcs whose apex lies more than
    ``above`` (9) × the highest measured frequency, and ``x`` with those arcs parked far above it.

    Such an arc (e.g. the bulk R‖C of an NAS cell at 270 MHz, measured to 7 MHz) acts as a plain
    resistance in the window: to first order its capacitance only trades against the lead
    inductance (Z ≈ R − jωR²C + jωL), and Levenberg–Marquardt spends tens of evaluations
    creeping along that valley. The solver holds these coordinates; with ``park`` their apex is
    first moved to ``factor`` × the highest frequency, where the arc is a pure resistance. Only if
    varying them then promises a significant χ² decrease (:func:`_release_gain`) are they
    released. The polish keeps them fixed too; the covariance (from the Jacobian) treats
    them as free, so they are reported with their (huge) errors and flagged unidentifiable.
    """
    values = problem.to_values(x)
    tau_min = 1.0 / float(np.abs(problem.s).max())
    pos = {i: j for j, i in enumerate(problem.free_idx.tolist())}
    out: list[int] = []
    for p in capacitive_arcs(problem.defn):
        R = values[p["R"]]
        tau = arc_tau(values, p)
        coords = [pos[i] for key in ("C", "Q", "n") if key in p and (i := int(p[key])) in pos]
        if not tau < tau_min / above or not coords:
            continue
        out.extend(coords)
        if park:
            tau_park = tau_min / factor
            if "C" in p:
                values[p["C"]] = tau_park / R
            else:
                values[p["Q"]] = tau_park ** values[p["n"]] / R
    if not park or not out:
        return out, x
    x_new = x.copy()
    x_new[out] = problem.to_x(values)[out]
    return out, x_new


# MINPACK info -> least_squares status, and least_squares' messages for them
_MINPACK_STATUS = {0: -1, 1: 2, 2: 3, 3: 4, 4: 1, 5: 0}
_STATUS_MESSAGES = {
    -1: "Improper input parameters status returned from `leastsq`",
    0: "The maximum number of function evaluations is exceeded.",
    1: "`gtol` termination condition is satisfied.",
    2: "`ftol` termination condition is satisfied.",
    3: "`xtol` termination condition is satisfied.",
    4: "Both `ftol` and `xtol` termination conditions are satisfied.",
}


_PAD_SCALE = 1e-150  # Jacobian entry of the inert variable: below every real column norm


def _padded_lmder(lmder):
    """``lmder`` (scipy's MINPACK binding) run with one extra, inert variable.

    SciPy's C translation of MINPACK (1.15 and later) reads one element past the end of its
    Jacobian buffer in ``qrfac`` when it recomputes the norm of the last pivot column, so its
    iterates depend on whatever lies in memory there (the same fit gave different results in
    two processes; valgrind: an invalid read in ``enorm`` called from ``qrfac``). An extra
    variable u with its own residual ``c·u`` (c tiny) adds a column orthogonal to all others
    whose norm never changes, so it is never recomputed and, being the smallest, stays the last
    pivot column: the out-of-bounds read never happens. The system stays block diagonal, u stays
    0 and the other variables follow MINPACK's iterates; u, its residual, its QR factor and its
    pivot are removed from what is returned. Same signature as ``_minpack._lmder``.
    """

    def call(
        fun,
        jac,
        x0,
        args=(),
        full_output=0,
        col_deriv=1,
        ftol=1.49012e-8,
        xtol=1.49012e-8,
        gtol=0.0,
        maxfev=-10,
        factor=100.0,
        diag=None,
    ):
        x0 = np.asarray(x0, dtype=float).ravel()
        n = x0.size

        # u is a view of MINPACK's work memory, freed when it returns: callers (that keep the
        # last point) get a copy
        size: list[int] = []  # the number of residuals, from the first evaluation

        def fun_n(u, *a):
            f = np.asarray(fun(u[:n].copy(), *a), dtype=float).ravel()
            if not size:
                size.append(f.size)
            out = np.empty(f.size + 1)
            out[:-1] = f
            out[-1] = _PAD_SCALE * u[n]
            return out

        into = getattr(jac, "into", None) if col_deriv and not args else None

        def jac_n(u, *a):
            if into is not None and size:
                # (written straight into the padded buffer: the same products, one copy fewer)
                out = np.zeros((n + 1, size[0] + 1))
                into(u[:n].copy(), out[:n, :-1])
                out[-1, -1] = _PAD_SCALE
                return out
            j = np.asarray(jac(u[:n].copy(), *a), dtype=float)
            if col_deriv:  # (n, m)
                j = j.reshape(n, -1)
                out = np.zeros((n + 1, j.shape[1] + 1))
                out[:n, :-1] = j
            else:  # (m, n)
                j = j.reshape(-1, n)
                out = np.zeros((j.shape[0] + 1, n + 1))
                out[:-1, :n] = j
            out[-1, -1] = _PAD_SCALE
            return out

        diag1 = None if diag is None else np.append(np.asarray(diag, dtype=float), 1.0)
        out = lmder(
            fun_n,
            jac_n,
            np.append(x0, 0.0),
            tuple(args),
            full_output,
            col_deriv,
            ftol,
            xtol,
            gtol,
            maxfev,
            factor,
            diag1,
        )
        if not full_output:
            return out[0][:n], out[1]
        x, info, code = out
        info = dict(info)
        if "fvec" in info:
            info["fvec"] = info["fvec"][:-1]
        info["fjac"], info["ipvt"], info["qtf"] = info["fjac"][:n, :-1], info["ipvt"][:n], info["qtf"][:n]
        return x[:n], info, code

    return call


_PADDED_MINPACK: list = []


def _padded_minpack():
    """scipy's private MINPACK ``lmder`` binding wrapped by :func:`_padded_lmder` (None when
    that binding is missing); built once per process."""
    if not _PADDED_MINPACK:
        try:
            from scipy.optimize import _minpack

            _PADDED_MINPACK.append(_padded_lmder(_minpack._lmder))
        except (ImportError, AttributeError):
            _PADDED_MINPACK.append(None)
    return _PADDED_MINPACK[0]


def _lmder(fun, jac, u0: np.ndarray, max_nfev: int, tol: float = 1e-6, col_deriv: bool = False):
    """MINPACK lmder called directly, as ``least_squares(method="lm")`` does (same iterates).

    ``least_squares`` wraps the residual and Jacobian in scipy's VectorFunction and evaluates
    the Jacobian once more at the end, which costs about as much as the solve itself on these
    small problems. Returns None when scipy's private MINPACK binding is not available (the
    caller then uses ``least_squares``). Raises ValueError when the residuals at ``u0`` are not
    finite, as ``least_squares`` does. With ``col_deriv`` the Jacobian function returns the
    transposed Jacobian (n, m) (MINPACK's own layout: no transposing copy).
    """
    lmder = _padded_minpack()
    if lmder is None:
        return None
    from scipy.optimize import OptimizeResult

    first = [True]

    def fun_checked(u):
        r = fun(u)
        if first[0]:
            first[0] = False
            if not np.all(np.isfinite(r)):
                raise ValueError("Residuals are not finite in the initial point.")
        return r

    try:
        x, info, code = lmder(
            fun_checked,
            jac,
            np.array(u0, dtype=float),
            (),
            True,
            col_deriv,
            tol,
            tol,
            tol,
            max_nfev,
            100.0,
            None,
        )
    except TypeError:  # a changed private signature
        return None
    f = info["fvec"]
    status = _MINPACK_STATUS.get(int(code), -1)
    if status == -1:
        raise ValueError(_STATUS_MESSAGES[-1])
    return OptimizeResult(
        x=x,
        cost=0.5 * float(f @ f),
        fun=f,
        status=status,
        message=_STATUS_MESSAGES[status],
        nfev=int(info["nfev"]),
        njev=int(info.get("njev", 0)),
        success=status > 0,
    )


def _polish_solve(
    problem: _Problem,
    x_best: np.ndarray,
    held: Sequence[int],
    cost: float,
    nfev_lm: int = 5,
    nfev_trf: int = 12,
):
    """Polish the solution ``x_best`` (cost ½χ²) with the project's own solvers; returns
    (x, cost, converged, success).

    First MINPACK lmder on the sine-mapped coordinates with tight tolerances (1e-12), a few
    evaluations: from a clean minimum it confirms convergence. A coordinate pinned near its
    bound stalls the sine map, so then, or when lmder does not converge cleanly, SciPy's
    trust-region-reflective ``least_squares`` (bounds in the internal coordinates, no map)
    polishes from where lmder stopped. This replaces the ``lmfit.minimize`` polish of earlier
    versions (same solvers, same tolerances and budgets, without lmfit's Parameters copies and
    uncertainty propagation: about 1.2 ms per fit). ``held`` coordinates do not vary.
    """
    act = np.ones(x_best.size, dtype=bool)
    act[list(held)] = False
    lo, hi = problem.lo[act], problem.hi[act]
    half = (hi - lo) / 2
    x_full = np.clip(np.array(x_best, dtype=float), problem.lo, problem.hi)
    to_x = _sine_map(x_full, act, lo, half)

    best_x, best_cost, converged, success = np.array(x_best, dtype=float), float(cost), False, False
    start = x_full.copy()
    if not problem.at_bound(x_best):
        u0 = np.arcsin(np.clip((x_full[act] - lo) / half - 1.0, -1.0, 1.0))
        res = _lmder(
            lambda u: problem.residual(to_x(u)),
            _sine_jac_t(problem, to_x, act, half),
            u0,
            nfev_lm,
            tol=1e-12,
            col_deriv=True,
        )
        if res is not None and np.all(np.isfinite(res.x)):
            x_lm = to_x(res.x).copy()
            ok = res.status in (2, 3, 4)  # ftol, xtol or both (lmfit's ier 1, 2, 3)
            if res.cost <= 2 * cost:
                start = x_lm
            if res.cost <= best_cost or ok:
                best_x, best_cost = x_lm, float(res.cost)
            if ok:
                return best_x, best_cost, True, True
    from scipy.optimize import least_squares

    x_trf = start.copy()

    def fun(xa):
        x_trf[act] = xa
        return problem.residual(x_trf)

    def jac(xa):
        x_trf[act] = xa
        return problem.jacobian(x_trf)[:, act]

    x0 = np.clip(start[act], lo, hi)
    try:
        trf = least_squares(
            fun,
            x0,
            jac=jac,
            bounds=(lo, hi),
            method="trf",
            max_nfev=nfev_trf,
            ftol=1e-12,
            xtol=1e-12,
            gtol=1e-12,
        )
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        return best_x, best_cost, converged, success
    converged = bool(trf.success) and trf.status in (1, 2, 3, 4)
    if trf.cost < best_cost or not np.isfinite(best_cost):
        x_out = start.copy()
        x_out[act] = trf.x
        return x_out, float(trf.cost), converged, bool(trf.success)
    return best_x, best_cost, converged, success


def _refine(
    problem: _Problem,
    x: np.ndarray,
    max_nfev: int,
    restart: bool = True,
    keep: Sequence[int] = (),
    skip: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Restart Levenberg–Marquardt at the solution ``x``; return ``x`` or a point of lower χ².

    A fresh start (reset damping) finishes solves that stalled in a flat valley, e.g. along a
    barely determined lead inductance; ``restart=False`` skips it (when the polish, itself a
    fresh LM start at ``x``, converged). A second start moves stuck parameters back to their
    defaults: a sine-mapped parameter on its bound, or a log parameter driven so small that it
    no longer acts (e.g. L → 10⁻¹¹ H in front of kΩ arcs), has a (near) zero Jacobian column and
    cannot leave by itself. Coordinates in ``keep`` are never reset (a capacitance parked on
    the resistive plateau: its column vanishes by design). ``skip`` is asked only when there is
    a start to solve: True returns ``x`` without solving it (a verdict that costs something to
    reach, e.g. the spectrum's DRT sketch).
    """
    res0 = problem.residual(x)
    best, best_cost = x, 0.5 * float(res0 @ res0)
    starts = [x] if restart else []
    col = np.linalg.norm(problem.jacobian(x), axis=0)
    vanished: Any = np.flatnonzero(problem.is_log & (col < 1e-4 * col.max())) if col.size else []
    stuck = sorted((set(problem.at_bound(x)) | {int(i) for i in vanished}) - {int(i) for i in keep})
    if stuck:
        x0 = x.copy()
        x0[stuck] = problem.to_x(problem.base)[stuck]
        starts.append(x0)
    if starts and skip is not None and skip():
        return x
    for x0 in starts:
        try:
            res = _solve(problem, x0, max_nfev, _above_window(problem, x0)[0])
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            continue
        if res.cost < best_cost * (1 - 1e-9):
            best, best_cost = res.x, res.cost
    return best


_LAST_COV: tuple[Any, Any] = (None, None)  # the last (Jacobian bytes, covariance), replaced whole


def _covariance(jac: np.ndarray) -> np.ndarray:
    """(JᵀJ)⁻¹ when the normal matrix is singular: parameters that do not move the residual
    (column norm < 1e-8 of the largest) get an infinite variance and no correlation; the rest
    is inverted through the SVD (a pseudo-inverse would give them zero variance instead).

    Read-only; the last one is kept (the sandwich estimate asks for the same matrix again)."""
    global _LAST_COV
    key = (jac.shape, jac.tobytes())
    last = _LAST_COV
    if last[0] == key:
        return last[1]
    cov = _covariance_svd(jac)
    cov.flags.writeable = False
    _LAST_COV = (key, cov)
    return cov


_LAST_SVD: tuple[Any, Any] = (None, None)  # the last (matrix bytes, (u, s, vt)), replaced whole


def _svd(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.linalg.svd(a, full_matrices=False)``; the last one is kept (the sandwich estimate and
    the above-window profile factor the same Jacobian)."""
    global _LAST_SVD
    key = (a.shape, a.tobytes())
    last = _LAST_SVD
    if last[0] == key:
        return last[1]
    u, sv, vt = np.linalg.svd(a, full_matrices=False)
    for arr in (u, sv, vt):
        arr.flags.writeable = False
    _LAST_SVD = (key, (u, sv, vt))
    return u, sv, vt


def _pinv(a: np.ndarray) -> np.ndarray:
    """``np.linalg.pinv(a)`` (default rcond) from :func:`_svd`'s factors: the same arithmetic."""
    u, sv, vt = _svd(a)
    cutoff = 1e-15 * np.max(sv, axis=-1, keepdims=True)
    large = sv > cutoff
    s_inv = np.divide(1, sv, where=large, out=np.zeros_like(sv))
    return np.matmul(np.transpose(vt), np.multiply(s_inv[..., np.newaxis], np.transpose(u)))


def _covariance_svd(jac: np.ndarray) -> np.ndarray:
    k = jac.shape[1]
    norms = np.linalg.norm(jac, axis=0)
    live = norms > 1e-8 * (norms.max() if norms.size and norms.max() > 0 else 1.0)
    cov = np.zeros((k, k))
    cov[~live, ~live] = np.inf
    if live.any():
        _, sv, vt = _svd(jac[:, live])
        sv = np.maximum(sv, sv[0] * 1e-12)
        cov[np.ix_(live, live)] = (vt.T / sv**2) @ vt
    return cov


def _condition_on_undetermined(
    cov: np.ndarray, problem: _Problem, x: np.ndarray, redchi: float, force: Sequence[int] = ()
) -> np.ndarray:
    """Covariance of the determined parameters with the undetermined ones held fixed.

    A parameter whose linearised error is a thousand times beyond the identifiability limits
    (e.g. C_b of a bulk arc far above the window, ±10⁸ %) makes the linearisation meaningless
    for everything correlated with it. The worst such parameter keeps its own huge variance
    (so it is flagged) and is held fixed for the others; this repeats until no such parameter
    is left. The coordinates in ``force`` (capacitances the solver held because the data do
    not move them, see :func:`_above_window`) are treated so from the start. Merely poorly
    determined parameters keep the full covariance.
    """
    limit = np.where(problem.is_log, _REL_STDERR_LIMIT / np.log(10), _N_STDERR_LIMIT)
    jac_full: np.ndarray | None = problem.jacobian(x) if len(force) else None
    fixed = np.zeros(cov.shape[0], dtype=bool)
    fixed[list(force)] = True
    out = cov.copy()
    while True:
        if fixed.any() and not fixed.all():
            good = ~fixed
            if jac_full is None:
                jac_full = problem.jacobian(x)
            jac = jac_full[:, good]
            try:
                sub = np.linalg.inv(jac.T @ jac)
                if np.any(np.diag(sub) < 0):
                    raise np.linalg.LinAlgError
            except np.linalg.LinAlgError:
                sub = _covariance(jac)
            keep = np.diag(out)[fixed].copy()
            out = np.zeros_like(cov)
            out[np.ix_(good, good)] = sub * redchi
            out[fixed, fixed] = np.where(np.isfinite(keep), keep, np.inf)
        d = np.diag(out)
        ratio = np.where(d >= 0, np.sqrt(np.abs(d)), np.inf) / limit
        ratio[fixed] = 0.0
        worst = int(np.argmax(ratio))
        if ratio[worst] <= _UNDETERMINED or (~fixed).sum() <= 1:
            return out
        fixed[worst] = True
        if jac_full is None:
            jac_full = problem.jacobian(x)


def _probe_bounds(
    problem: _Problem, x: np.ndarray, coords: Sequence[int], hold: Sequence[int] = (), max_nfev: int = 25
) -> tuple[np.ndarray, float]:
    """Where the optimum lies for coordinates on a bound: one LM solve from ``x`` with the bounds
    of ``coords`` moved 6 decades out (log10 coordinates) or one range out (linear ones), the
    others unchanged. Returns the probe's internal coordinates and its cost (½χ²)."""
    wide = copy.copy(problem)
    wide.lo, wide.hi = problem.lo.copy(), problem.hi.copy()
    wide._jac_key, wide._res_key, wide._misfits = None, None, {}
    for j in coords:
        out = 6.0 if problem.is_log[j] else problem.hi[j] - problem.lo[j]
        wide.lo[j] -= out
        wide.hi[j] += out
    try:
        res = _solve(wide, np.array(x, dtype=float), max_nfev, hold)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        return np.array(x, dtype=float), float("inf")
    finally:
        problem.nfev = wide.nfev
    return res.x, float(res.cost)


# a held capacitance's plausible range ends where moving it costs this much χ² (noise variances)
_PROFILE_DCHI2 = 4.0
_PROFILE_APEX = 3.0  # and at most at an apex this many times above the highest frequency


def _profile_above_window(
    problem: _Problem, x: np.ndarray, held: Sequence[int], cov: np.ndarray, redchi: float
) -> np.ndarray:
    """Covariance widened by the plausible range of the capacitances of above-window arcs.

    The capacitance of an arc whose apex lies above the highest measured frequency (e.g. the
    bulk arc of an NAS cell, held by the solver, see :func:`_above_window`, or fitted from a warm
    start) is barely known: anything from zero (a pure resistance) to an apex just above the
    window (``_PROFILE_APEX`` × f_max) fits about as well, and the parameters it trades off with
    (L, the arc's R, the next arc) move with it. For each such arc the other coordinates are
    re-solved (one Gauss–Newton step from ``x``) with its capacitance at each end of that range,
    each end pulled towards the fit until χ² rises by at most ``_PROFILE_DCHI2`` noise variances.
    The shifts d_lo, d_hi are added as (d_lo d_loᵀ + d_hi d_hiᵀ)/3 (the variance of a uniform
    distribution over the range: exact when the fit sits at one end, generous otherwise), and the
    capacitance's own variance by that of a uniform distribution over its range.
    """
    held_set = {int(j) for j in held}
    values = problem.to_values(x)
    tau_min = 1.0 / float(np.abs(problem.s).max())
    pos = {i: j for j, i in enumerate(problem.free_idx.tolist())}
    r0 = problem.residual(x)
    chi0 = float(r0 @ r0)
    jac = problem.jacobian(x)
    out = cov.copy()
    base: tuple[np.ndarray, list[Any]] | None = None
    for p in capacitive_arcs(problem.defn):
        key = "C" if "C" in p else "Q"
        j = pos.get(int(p[key]))
        R = values[p["R"]]
        n = values[p["n"]] if "n" in p else 1.0
        tau_now = arc_tau(values, p)
        if j is None or not tau_now < tau_min:
            continue
        free = np.ones(x.size, dtype=bool)
        free[list(held_set | {j})] = False
        if not free.any():
            continue
        jf = jac[:, free]
        jf_pinv = _pinv(jf)
        ends = []
        for tau_end in (0.0, max(tau_min / _PROFILE_APEX, tau_now)):
            for _ in range(4):
                v = values.copy()
                v[p[key]] = tau_end**n / R if tau_end > 0 else 0.0
                x_end = x.copy()
                x_end[j] = problem.to_x(v)[j]  # clipped to the bounds (the lower one for zero)
                if base is None:  # (only the arc's capacitance moves: its item is re-evaluated)
                    base = problem.snapshot(x)
                r = problem.residual_near(x_end, base)
                step = -(jf_pinv @ r)
                r_new = r + jf @ step
                if (float(r_new @ r_new) - chi0) / max(redchi, 1e-300) <= _PROFILE_DCHI2:
                    break
                tau_end = tau_now + (tau_end - tau_now) / 2  # pull the end in towards the fit
            ends.append(tau_end**n / R if tau_end > 0 else 0.0)
            out[np.ix_(free, free)] += np.outer(step, step) / 3.0
        # its own value: uniform over [lo end, hi end]; a held capacitance (not estimated at
        # all) gets at least that variance, wherever it was held (a cold fit parks it at
        # 100× f_max, a warm start keeps the previous value: the same verdict either way)
        c_now, (c_lo, c_hi) = values[p[key]], ends
        if j in held_set:
            c_hi = max(c_hi, values[p["R"]] ** -1 * (tau_min / _PROFILE_APEX) ** n)
        var = ((c_hi - c_now) ** 3 - (c_lo - c_now) ** 3) / (3 * max(c_hi - c_lo, 1e-300))
        var = var / (c_now * np.log(10.0)) ** 2 if problem.is_log[j] else var
        if j in held_set:
            out[j, j] = max(out[j, j], var) if np.isfinite(out[j, j]) else out[j, j]
        else:
            out[j, j] += var
    return out


def _sandwich_scale(
    problem: _Problem, x: np.ndarray, cov: np.ndarray, redchi: float, held: Sequence[int] = ()
) -> np.ndarray:
    """``cov`` with each determined coordinate's standard error raised to its sandwich estimate.

    redchi·(JᵀJ)⁻¹ assumes the weighted residuals all have the same variance. When the noise is
    not proportional to the weights (e.g. larger at the highest frequencies, where L and an
    above-window arc are determined), the heteroskedasticity-consistent (HC1) estimate
    (JᵀJ)⁻¹ Jᵀ diag(r²) J (JᵀJ)⁻¹ · m/(m − k) is the honest one. Standard errors are only ever
    raised (never lowered) to it; correlations are kept.
    """
    d = np.diag(cov)
    live = np.isfinite(d) & (d > 0)
    live[list(held)] = False
    if live.sum() == 0:
        return cov
    jac = problem.jacobian(x)[:, live]
    r = problem.residual(x)
    m, k = jac.shape
    if m <= k:
        return cov
    bread = _covariance(jac)
    if not np.all(np.isfinite(bread)):
        return cov
    meat = (jac * (r**2)[:, None]).T @ jac
    return raise_to_sandwich(cov, bread, meat, redchi, live, m)


def raise_to_sandwich(
    cov: np.ndarray, bread: np.ndarray, meat: np.ndarray, redchi: float, live: np.ndarray, m: int
) -> np.ndarray:
    """``cov`` with the ``live`` coordinates' errors raised (never lowered) to the HC1 sandwich.

    ``bread`` is (JᵀJ)⁻¹ and ``meat`` Jᵀ diag(r²) J over the live coordinates, ``m`` the number
    of residuals; correlations are kept. Shared by the single and the joint fit.
    """
    k = int(live.sum())
    sand = np.diag(bread @ meat @ bread) * m / (m - k)
    std = np.diag(bread) * redchi
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.sqrt(np.where(std > 0, sand / std, 1.0))
    scale = np.ones(cov.shape[0])
    scale[live] = np.maximum(1.0, np.nan_to_num(factor, nan=1.0, posinf=1.0))
    return cov * np.outer(scale, scale)
