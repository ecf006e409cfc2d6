"""One-figure summary of a fit: Nyquist, Bode (|Z| and phase) and relative residuals."""

from __future__ import annotations

from typing import Any

from ._data import get
from .bode import plot_bode
from .nyquist import plot_nyquist
from .residuals import plot_residuals

__all__ = ["plot_fit"]


def plot_fit(fit: Any, fig: Any = None, *, kk: Any = None, title: str | None = None) -> Any:
    """Draw a fit's Nyquist plot, Bode plot and residuals on one figure; return the Figure.

    Parameters
    ----------
    fit : FitResult
        The fit (``freq`` in Hz, ``z`` and ``z_fit`` in Ω).
    fig : matplotlib Figure, optional
        Figure to draw on (it should be empty); a pyplot figure is made when omitted.
    kk : KKResult, optional
        Shades its acceptance band in the residual panel.
    title : str, optional
        Figure title; defaults to the circuit name and the source file.

    Returns
    -------
    matplotlib Figure
        Axes: Nyquist (top, full width); |Z|, phase and residuals (bottom row, left to right).
    """
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(10.0, 7.0), layout="constrained")
    grid = fig.add_gridspec(2, 3, height_ratios=(1.35, 1.0))
    ax_nyq = fig.add_subplot(grid[0, :])
    ax_mod = fig.add_subplot(grid[1, 0])
    ax_phase = fig.add_subplot(grid[1, 1], sharex=ax_mod)
    ax_res = fig.add_subplot(grid[1, 2], sharex=ax_mod)
    plot_nyquist(fit, ax_nyq)
    ax_nyq.legend(fontsize="small", frameon=False, loc="upper left")
    plot_bode(fit, (ax_mod, ax_phase))
    ax_mod.set_xlabel("f / Hz")
    plot_residuals(fit, ax_res, kk=kk)
    if title is None:
        name = get(fit, "circuit_name")
        source = None
        meta = get(get(fit, "spectrum"), "meta")
        if meta is not None:
            source = meta.get("source")
        title = " — ".join(str(x) for x in (name, source) if x)
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig
