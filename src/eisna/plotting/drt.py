"""DRT plot: γ(τ) on a log τ axis, peaks marked, arcs' roles labelled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._data import get
from ._style import DATA_COLOR, new_axes, role_color, style_axes

__all__ = ["plot_drt", "roles_for_peaks"]


def _arc_tau(arc: Any) -> float | None:
    tau = get(arc, "tau")
    if tau is None:
        f_apex = get(arc, "f_apex")
        tau = 1.0 / (2 * np.pi * f_apex) if f_apex else None
    return float(tau) if tau is not None and np.isfinite(tau) and tau > 0 else None


def roles_for_peaks(peaks: Sequence[Any], fit: Any, max_decades: float = 0.75) -> list[str | None]:
    """Give each DRT peak the role of the fitted arc nearest in log τ (within ``max_decades``)."""
    taus = [(a, _arc_tau(a)) for a in (get(fit, "arcs") or ())]
    arcs = [(a, t) for a, t in taus if t is not None]
    roles: list[str | None] = []
    for peak in peaks:
        tau = float(get(peak, "tau"))
        best = min(arcs, key=lambda at: abs(np.log10(at[1] / tau)), default=None)
        if best is not None and abs(np.log10(best[1] / tau)) <= max_decades:
            roles.append(get(best[0], "role") or get(best[0], "name"))
        else:
            roles.append(None)
    return roles


def plot_drt(
    drt: Any,
    ax: Any = None,
    *,
    roles: Sequence[str | None] | Mapping[int, str] | None = None,
    fit: Any = None,
    label: str | None = None,
    color: str | None = None,
) -> Any:
    """Plot the distribution of relaxation times γ(τ) (Ω) against τ (s); return the Axes.

    Parameters
    ----------
    drt : DRTResult or (tau, gamma)
        ``tau`` in s and ``gamma`` in Ω (per unit ln τ); ``peaks`` (``DRTPeak(tau, f, R)``)
        are marked when present, and the bootstrap band ``gamma_lo``–``gamma_hi`` is shaded.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when omitted.
    roles : sequence or mapping of str, optional
        Role label per peak (``"bulk"``, ``"grain_boundary"``, ``"interlayer"``, …).
    fit : FitResult, optional
        Label each peak with the role of the fitted arc nearest in τ (when ``roles`` is not given).
    label : str, optional
        Legend label of the curve.
    color : str, optional
        Colour of the curve.

    Returns
    -------
    matplotlib Axes
    """
    ax = new_axes(ax, figsize=(4.8, 3.0))
    if isinstance(drt, tuple | list) and len(drt) == 2:
        tau, gamma = drt
        peaks: Sequence[Any] = ()
    else:
        tau, gamma, peaks = get(drt, "tau"), get(drt, "gamma"), get(drt, "peaks") or ()
    tau = np.asarray(tau, dtype=float)
    gamma = np.asarray(gamma, dtype=float)
    ax.plot(tau, gamma, "-", color=color or DATA_COLOR, linewidth=1.4, label=label or "γ(τ)", gid="gamma")
    ax.fill_between(tau, 0, gamma, color=color or DATA_COLOR, alpha=0.12, linewidth=0)
    lo, hi = (None, None) if isinstance(drt, tuple | list) else (get(drt, "gamma_lo"), get(drt, "gamma_hi"))
    if lo is not None and hi is not None:  # the bootstrap band: a peak inside it may be a ripple
        ax.fill_between(
            tau,
            np.asarray(lo, dtype=float),
            np.asarray(hi, dtype=float),
            color=color or DATA_COLOR,
            alpha=0.3,
            linewidth=0,
            label="90 % band",
            gid="gamma_band",
        )
    if peaks:
        if roles is None and fit is not None:
            roles = roles_for_peaks(peaks, fit)
        if isinstance(roles, Mapping):
            roles = [roles.get(i) for i in range(len(peaks))]
        peak_tau = np.array([float(get(p, "tau")) for p in peaks])
        order = np.argsort(tau)
        peak_gamma = np.interp(np.log(peak_tau), np.log(tau[order]), gamma[order])
        (_marks,) = ax.plot(
            peak_tau, peak_gamma, "v", color="k", markersize=6, linestyle="none", label="peaks", gid="peaks"
        )
        for i, (t, g) in enumerate(zip(peak_tau, peak_gamma, strict=True)):
            role = roles[i] if roles is not None and i < len(roles) else None
            r_peak = get(peaks[i], "R")
            text = role.replace("_", " ") if role else ""
            if r_peak is not None and np.isfinite(r_peak):
                text = f"{text}\n{r_peak:.3g} Ω" if text else f"{r_peak:.3g} Ω"
            if text:
                ax.annotate(
                    text,
                    (t, g),
                    xytext=(0, 8),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize="x-small",
                    color=role_color(role, "0.2"),
                    gid="peak_label",
                )
    ax.set_xscale("log")
    ax.set_xlabel("τ / s")
    ax.set_ylabel("γ / Ω")
    ax.set_ylim(bottom=0, top=max(float(np.nanmax(gamma)) * 1.3, 1e-12) if gamma.size else None)
    style_axes(ax)
    return ax
