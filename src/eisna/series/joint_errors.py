"""Honest standard errors of the joint fit: sandwich errors and above-window capacitances.

The joint covariance redχ²·(JᵀJ)⁻¹ (:func:`eisna.series.joint._joint_covariance`) knows only
the noise of the weighted residuals. Two things it cannot know are added here, as the
single-spectrum fit does (:func:`eisna.fitting.solver._sandwich_scale`,
:func:`eisna.fitting.solver._profile_above_window`):

* :func:`joint_sandwich`: noise not proportional to the weights (e.g. larger towards the highest
  frequencies, where L and an above-window arc are determined): each determined coordinate's
  error is raised to its heteroskedasticity-consistent (HC1) estimate where that is larger.
* :func:`joint_profile`: the capacitance of an arc whose apex lies above the window (the bulk
  arc of an NAS cell, held by the per-spectrum fits) is barely known: anything from zero to an
  apex 3× above the highest frequency fits about as well, and the parameters it trades off with
  move with it. In a series the bulk capacitance is a property of the cell (geometric), so its
  error is *systematic*: the same in every spectrum. It is profiled coherently: every
  spectrum's capacitance at the same end of its range at once, all other coordinates (the
  shared ones, e.g. L, included) re-solved by one Gauss–Newton step, each end pulled in until
  χ² rises by at most 4 noise variances; the shifts are added to the covariance as the variance
  of a uniform distribution over the range. (Profiling each spectrum's capacitance on its own
  as well doubles the errors of the combinations, R_SE, without cause: on the synthetic NAS
  series the coherent profile alone gives RMS (joint − truth)/σ of 1.0 for R_b and 1.1 for
  R_gb, both together 0.9 and 0.7, and 0.4 for R_SE.)

Internal to :mod:`eisna.series.joint`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..fitting.solver import _PROFILE_APEX, _PROFILE_DCHI2, raise_to_sandwich
from ..fitting.start import arc_tau, capacitive_arcs

if TYPE_CHECKING:
    from .joint import _Joint

__all__ = ["joint_profile", "joint_sandwich"]


def joint_sandwich(jac, resid: np.ndarray, cov: np.ndarray, redchi: float, fixed: np.ndarray) -> np.ndarray:
    """``cov`` with each determined coordinate's standard error raised to its sandwich estimate
    (JᵀJ)⁻¹ Jᵀ diag(r²) J (JᵀJ)⁻¹ · m/(m − k); correlations are kept, errors never lowered.

    ``fixed`` marks the coordinates held for the others' errors (undetermined); they keep their
    variance.
    """
    live = ~fixed & np.isfinite(np.diag(cov)) & (np.diag(cov) > 0)
    m, k = jac.shape[0], int(live.sum())
    if k == 0 or m <= k or redchi <= 0:
        return cov
    bread = cov[np.ix_(live, live)] / redchi
    jl = jac[:, np.flatnonzero(live)]
    jr = jl.multiply(resid[:, None]).tocsc() if hasattr(jl, "multiply") else jl * resid[:, None]
    meat = jr.T @ jr
    meat = np.asarray(meat.toarray() if hasattr(meat, "toarray") else meat)
    return raise_to_sandwich(cov, bread, meat, redchi, live, m)


class _Capacitance:
    """One above-window capacitance of one spectrum: where it sits and its plausible range."""

    def __init__(self, spectrum: int, coord: int, col: int, name: str, r: float, n: float, tau_now: float):
        self.spectrum, self.coord, self.col, self.name = spectrum, coord, col, name
        self.r, self.n, self.tau_now = r, n, tau_now


def _above_window_capacitances(joint: _Joint, x: np.ndarray) -> list[_Capacitance]:
    """The capacitances (C, or Q of a CPE) of arcs whose apex lies above the highest measured
    frequency, per spectrum: held by the per-spectrum fit (no joint column) or fitted in the
    spectrum's own block. Shared capacitances are left to the covariance."""
    lay = joint.lay
    out = []
    for i, p in enumerate(lay.problems):
        xi = lay.local(i, x, joint.t[i])
        values = p.to_values(xi)
        tau_min = 1.0 / float(np.abs(p.s).max())
        pos = {int(k): j for j, k in enumerate(p.free_idx)}
        for q in capacitive_arcs(p.defn):
            key = "C" if "C" in q else "Q"
            j = pos.get(int(q[key]))
            if j is None:
                continue
            col = int(lay.gidx[i][j])
            if 0 <= col < lay.n_global or col == -2:
                continue  # shared (or law-driven): its error is in the covariance
            r = float(values[q["R"]])
            n = float(values[q["n"]]) if "n" in q else 1.0
            tau_now = float(arc_tau(values, q)) if r > 0 else math.inf
            if tau_now < tau_min:
                out.append(_Capacitance(i, j, col, p.names[int(q[key])], r, n, tau_now))
    return out


def _held_inverse(cov: np.ndarray, redchi: float, fixed: np.ndarray, held: np.ndarray) -> np.ndarray | None:
    """(JᵀJ)⁻¹ of the coordinates neither ``fixed`` nor ``held``, from the conditioned
    covariance (redχ²·(JᵀJ)⁻¹ of those not fixed): holding more coordinates is conditioning,
    C_ff − C_fh C_hh⁻¹ C_hf. None when redχ² is not positive."""
    if redchi <= 0:
        return None
    live = np.flatnonzero(~fixed)
    c = cov[np.ix_(live, live)] / redchi
    h = np.isin(live, held)
    if not h.any():
        return c
    f = ~h
    c_fh = c[np.ix_(f, h)]
    try:
        corr = c_fh @ np.linalg.solve(c[np.ix_(h, h)], c_fh.T)
    except np.linalg.LinAlgError:
        return None
    return c[np.ix_(f, f)] - corr


class _GaussNewton:
    """One Gauss–Newton step of the free joint coordinates for a changed residual vector."""

    def __init__(self, jac, resid: np.ndarray, free: np.ndarray, inv: np.ndarray | None = None):
        self.jac = jac[:, np.flatnonzero(free)].tocsc()
        self.chi0 = float(resid @ resid)
        if inv is not None:  # (JᵀJ)⁻¹ of the free coordinates, already known
            self.inv = inv
            return
        hess = np.asarray((self.jac.T @ self.jac).toarray())
        d = np.sqrt(np.clip(np.diag(hess), 0, None))
        d = np.where(d > 0, d, 1.0)
        w, v = np.linalg.eigh(hess / np.outer(d, d))
        w = np.maximum(w, max(float(w.max(initial=0.0)), 1e-300) * 1e-12)
        self.inv = (v / w) @ v.T / np.outer(d, d)

    def step(self, r_end: np.ndarray) -> tuple[np.ndarray, float]:
        """(step of the free coordinates, χ² after it) for residuals ``r_end``."""
        g = self.jac.T @ r_end
        s = -(self.inv @ g)
        r_new = r_end + self.jac @ s
        return s, float(r_new @ r_new)


def joint_profile(
    joint: _Joint, x: np.ndarray, resid: np.ndarray, jac, cov: np.ndarray, redchi: float, fixed: np.ndarray
) -> np.ndarray:
    """The covariance to add to ``cov`` (the conditioned covariance, before any widening) for
    the plausible range of the above-window capacitances: one coherent profile per capacitance
    name (every spectrum's at the same end of its range at once, see the module docstring)."""
    out = np.zeros_like(cov)
    caps = _above_window_capacitances(joint, x)
    if not caps:
        return out
    lay = joint.lay
    own_cols = np.array([c.col for c in caps if c.col >= 0], dtype=int)
    free = ~fixed.copy()
    free[own_cols] = False  # the capacitances themselves are set, not re-solved
    if not free.any():
        return out
    gn = _GaussNewton(jac, resid, free, _held_inverse(cov, redchi, fixed, own_cols))
    idx = np.flatnonzero(free)
    offsets = joint.offsets

    def residual_with(group: list[_Capacitance], fraction: float, end: str) -> np.ndarray:
        r = resid.copy()
        for c in group:
            p = lay.problems[c.spectrum]
            tau_min = 1.0 / float(np.abs(p.s).max())
            tau_far = 0.0 if end == "zero" else max(tau_min / _PROFILE_APEX, c.tau_now)
            tau_end = c.tau_now + (tau_far - c.tau_now) * fraction
            xi = lay.local(c.spectrum, x, joint.t[c.spectrum])
            values = p.to_values(xi)
            values[int(p.free_idx[c.coord])] = tau_end**c.n / c.r if tau_end > 0 else 0.0
            xi[c.coord] = p.to_x(values)[c.coord]  # clipped to the bounds (the lower one for zero)
            r[offsets[c.spectrum] : offsets[c.spectrum + 1]] = p.residual(xi)
        return r

    def add(group: list[_Capacitance]) -> None:
        for end in ("zero", "apex"):
            fraction = 1.0
            for _ in range(4):
                step, chi = gn.step(residual_with(group, fraction, end))
                if (chi - gn.chi0) / max(redchi, 1e-300) <= _PROFILE_DCHI2:
                    break
                fraction /= 2  # pull the end in towards the fit
            out[np.ix_(idx, idx)] += np.outer(step, step) / 3.0

    for name in sorted({c.name for c in caps}):
        add([c for c in caps if c.name == name])

    return out
