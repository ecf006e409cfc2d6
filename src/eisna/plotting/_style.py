"""Shared plot helpers: axes creation, per-axes publication style, SI-prefixed units.

Nothing here touches matplotlib's global ``rcParams``: the style is applied to each
Axes eisna draws on, so a user's own figures are left alone.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..units import PREFIXES

__all__ = [
    "SEQUENTIAL_CMAP",
    "decade_label",
    "new_axes",
    "ohm_unit",
    "style_axes",
]

SEQUENTIAL_CMAP = "viridis"
DATA_COLOR = "#1f4e79"
FIT_COLOR = "#c0392b"
# one colour per arc role, stable across plots
ROLE_COLORS = {
    "bulk": "#1b9e77",
    "grain_boundary": "#d95f02",
    "gb": "#d95f02",
    "interlayer": "#7570b3",
    "interface": "#7570b3",
    "charge_transfer": "#e7298a",
    "ct": "#e7298a",
    "electrode": "#66a61e",
    "diffusion": "#a6761d",
}

# SI prefixes from eisna.units (one table for the report, the plots and the tables)
_OHM_PREFIXES = tuple((f, p + "Ω") for f, p in PREFIXES if 1e-3 <= f <= 1e6)
_FREQ_PREFIXES = tuple((f, p + "Hz") for f, p in PREFIXES if 1e-6 <= f <= 1e9)


def new_axes(
    ax: Any = None, *, nrows: int = 1, figsize: tuple[float, float] = (4.8, 4.0), sharex: bool = False
) -> Any:
    """Return ``ax`` if given, otherwise new Axes (one, or an array of ``nrows``) from pyplot.

    pyplot is imported only here, when a new figure is really needed.
    """
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _fig, axes = plt.subplots(nrows, 1, figsize=figsize, sharex=sharex, layout="constrained")
    return axes


def style_axes(ax: Any, *, grid: bool = True) -> Any:
    """Apply eisna's publication style to one Axes: inward ticks on all sides, faint grid."""
    ax.tick_params(which="both", direction="in", top=True, right=True)
    ax.minorticks_on()
    if grid:
        ax.grid(True, which="major", color="0.88", linewidth=0.6)
        ax.set_axisbelow(True)
    return ax


def ohm_unit(max_abs_ohm: float) -> tuple[float, str]:
    """Return ``(factor, unit)`` so that values in Ω divided by *factor* read in *unit*.

    >>> ohm_unit(2.5e4)
    (1000.0, 'kΩ')
    """
    value = abs(float(max_abs_ohm)) if np.isfinite(max_abs_ohm) else 1.0
    for factor, unit in _OHM_PREFIXES:
        if value >= factor:
            return factor, unit
    return _OHM_PREFIXES[-1]


def decade_label(freq_hz: float) -> str:
    """Format a frequency with an SI prefix: ``1e4`` → ``"10 kHz"``, ``0.1`` → ``"100 mHz"``."""
    for factor, unit in _FREQ_PREFIXES:
        if freq_hz >= factor * (1 - 1e-9):
            value = freq_hz / factor
            text = f"{value:.0f}" if math.isclose(value, round(value), rel_tol=1e-6) else f"{value:.3g}"
            return f"{text} {unit}"
    return f"{freq_hz:.3g} Hz"


def role_color(role: str | None, default: str = "0.3") -> str:
    """Colour for an arc role (``"bulk"``, ``"grain_boundary"``, ``"interlayer"``, …)."""
    if not role:
        return default
    return ROLE_COLORS.get(str(role).lower(), default)
