"""Bode plot: |Z| and −phase against frequency, data as points and the fit as a line."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._data import fit_curve, impedance_of, is_fit
from ._style import DATA_COLOR, FIT_COLOR, new_axes, style_axes

__all__ = ["plot_bode"]


def plot_bode(
    data: Any,
    axes: Any = None,
    *,
    fit: Any = None,
    label: str | None = None,
    color: str | None = None,
    show_fit: bool = True,
) -> Any:
    """Plot |Z| (Ω, log scale) and −φ (°) against f (Hz, log scale); return the two Axes.

    Parameters
    ----------
    data : Spectrum, FitResult or (freq, z)
        Measured impedance (Ω) at frequencies (Hz). A ``FitResult`` also draws its fit.
    axes : pair of matplotlib Axes, optional
        ``(ax_modulus, ax_phase)``; a new two-row figure with a shared frequency axis when omitted.
    fit : FitResult or (freq, z_fit), optional
        A fit to draw as lines (defaults to ``data`` when it is a fit).
    label : str, optional
        Legend label of the data points.
    color : str, optional
        Colour of the data points.
    show_fit : bool
        Draw the fit of a ``FitResult`` passed as ``data``.

    Returns
    -------
    tuple of matplotlib Axes
        ``(ax_modulus, ax_phase)``.
    """
    if axes is None:
        axes = new_axes(None, nrows=2, figsize=(4.8, 5.0), sharex=True)
    ax_mod, ax_phase = axes[0], axes[1]
    freq, z = impedance_of(data)
    if fit is None and show_fit and is_fit(data):
        fit = data
    kws = {
        "marker": "o",
        "markersize": 4,
        "linestyle": "none",
        "markerfacecolor": "none",
        "markeredgewidth": 0.9,
        "color": color or DATA_COLOR,
    }
    ax_mod.plot(freq, np.abs(z), label=label or "data", gid="data", **kws)
    ax_phase.plot(freq, -np.degrees(np.angle(z)), label=label or "data", gid="data", **kws)
    if fit is not None:
        fit_freq, z_fit = fit_curve(fit)
        ax_mod.plot(fit_freq, np.abs(z_fit), "-", color=FIT_COLOR, linewidth=1.4, label="fit", gid="fit")
        ax_phase.plot(
            fit_freq,
            -np.degrees(np.angle(z_fit)),
            "-",
            color=FIT_COLOR,
            linewidth=1.4,
            label="fit",
            gid="fit",
        )
    ax_mod.set_xscale("log")
    ax_mod.set_yscale("log")
    ax_phase.set_xscale("log")
    ax_mod.set_ylabel("|Z| / Ω")
    ax_phase.set_ylabel("−φ / °")
    ax_phase.set_xlabel("f / Hz")
    ax_phase.axhline(0.0, color="0.6", linewidth=0.6)
    for ax in (ax_mod, ax_phase):
        style_axes(ax)
    return ax_mod, ax_phase
