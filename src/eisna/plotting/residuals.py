"""Residual plot: relative real and imaginary residuals (%) against frequency, with the KK band."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._data import get, impedance_of
from ._style import new_axes, style_axes

__all__ = ["plot_residuals", "relative_residuals"]

RE_COLOR = "#1f4e79"
IM_COLOR = "#c0392b"


def relative_residuals(data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(freq, res_re, res_im)``, residuals relative to |Z| as fractions.

    ``data`` is a KK result (with ``res_re`` and ``res_im``) or a fit-like object with ``z``
    and ``z_fit``: res = (Z − Ẑ)/|Z|, real and imaginary parts separately.
    """
    res_re, res_im = get(data, "res_re"), get(data, "res_im")
    if res_re is not None and res_im is not None:
        return (
            np.asarray(get(data, "freq"), dtype=float),
            np.asarray(res_re, dtype=float),
            np.asarray(res_im, dtype=float),
        )
    freq, z = impedance_of(data)
    z_fit = np.asarray(get(data, "z_fit"), dtype=np.complex128)
    rel = (z - z_fit) / np.abs(z)
    return freq, rel.real, rel.imag


def kk_band(kk: Any) -> np.ndarray | float | None:
    """Half-width of the KK acceptance band as a fraction of |Z|: one number or one per point."""
    threshold = get(kk, "threshold")
    if threshold is None:
        return None
    threshold = np.asarray(threshold, dtype=float)
    return float(threshold) if threshold.ndim == 0 else threshold


def plot_residuals(
    data: Any,
    ax: Any = None,
    *,
    kk: Any = None,
    band: float | np.ndarray | None = None,
    title: str | None = None,
) -> Any:
    """Plot (Z′−Ẑ′)/|Z| and (Z″−Ẑ″)/|Z| in % against f (Hz); return the Axes.

    Parameters
    ----------
    data : FitResult or KKResult
        A fit (residuals of the fit) or a Kramers–Kronig result (its ``res_re``, ``res_im``).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when omitted.
    kk : KKResult, optional
        Draw its acceptance band ±``threshold``; ``data`` itself is used when it is a KK result.
    band : float or ndarray, optional
        Band half-width as a fraction of |Z| (e.g. 0.01 for ±1 %), one number or one per point of
        ``data``, overriding ``kk``.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib Axes
    """
    ax = new_axes(ax, figsize=(4.8, 2.8))
    freq, res_re, res_im = relative_residuals(data)
    band_freq = freq
    if band is None:
        source = kk if kk is not None else (data if get(data, "res_re") is not None else None)
        band = kk_band(source) if source is not None else None
        if source is not None and get(source, "freq") is not None:
            band_freq = np.asarray(get(source, "freq"), dtype=float)
    if band is not None:
        half = np.broadcast_to(np.asarray(band, dtype=float), band_freq.shape)
        order = np.argsort(band_freq)
        constant = bool(np.allclose(half, half[0]))
        text = f"KK band ±{100 * half[0]:.2g} %" if constant else "KK band"
        ax.fill_between(
            band_freq[order],
            -100 * half[order],
            100 * half[order],
            color="0.85",
            alpha=0.8,
            linewidth=0,
            label=text,
            gid="kk_band",
            step="mid",
        )
    ax.plot(
        freq, 100 * res_re, "o-", color=RE_COLOR, markersize=3, linewidth=0.8, label="Δ′/|Z|", gid="res_re"
    )
    ax.plot(
        freq, 100 * res_im, "s-", color=IM_COLOR, markersize=3, linewidth=0.8, label="Δ″/|Z|", gid="res_im"
    )
    ax.axhline(0.0, color="0.4", linewidth=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("f / Hz")
    ax.set_ylabel("residual / %")
    if title:
        ax.set_title(title)
    ax.legend(
        fontsize="x-small",
        ncols=3,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        frameon=False,
        borderaxespad=0.1,
    )
    style_axes(ax)
    return ax
