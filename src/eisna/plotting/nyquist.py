"""Nyquist plot: −Z″ against Z′ with equal scaling, decade markers and the fit as a line."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._data import fit_curve, impedance_of, is_fit
from ._style import DATA_COLOR, FIT_COLOR, decade_label, new_axes, ohm_unit, style_axes

__all__ = ["plot_nyquist"]

_UNIT_ATTR = "_eisna_ohm_unit"  # remembered on the Axes so later layers share the unit


def axes_ohm_unit(ax: Any, max_abs_ohm: float, unit: str | None = None) -> tuple[float, str]:
    """Unit for an Axes: the one given, the one already used on it, or one chosen from the data."""
    factors = {"MΩ": 1e6, "kΩ": 1e3, "Ω": 1.0, "mΩ": 1e-3}
    if unit is None:
        unit = getattr(ax, _UNIT_ATTR, None)
    if unit is None:
        factor, unit = ohm_unit(max_abs_ohm)
    elif unit not in factors:
        raise ValueError(f"unit must be one of {sorted(factors)}; found {unit!r}")
    else:
        factor = factors[unit]
    setattr(ax, _UNIT_ATTR, unit)
    ax.set_xlabel(f"Z′ / {unit}")
    ax.set_ylabel(f"−Z″ / {unit}")
    return factor, unit


def decade_points(freq: np.ndarray, tolerance_decades: float = 0.12) -> list[tuple[int, float]]:
    """Indices of the points nearest to each whole decade 10ⁿ Hz, with that decade's frequency.

    A decade is marked only when a point lies within ``tolerance_decades`` of it.
    """
    logf = np.log10(freq)
    out = []
    for n in range(
        int(np.ceil(logf.min() - tolerance_decades)), int(np.floor(logf.max() + tolerance_decades)) + 1
    ):
        i = int(np.argmin(np.abs(logf - n)))
        if abs(logf[i] - n) <= tolerance_decades:
            out.append((i, 10.0**n))
    return out


def spaced_marks(
    z: np.ndarray, marks: list[tuple[int, float]], width: float = 0.14, height: float = 0.07
) -> list[tuple[int, float]]:
    """Keep only decade labels whose text boxes cannot overprint each other.

    A label is taken as a box ``width`` × ``height`` of the plot span (equal aspect), to the
    right of its point; labels are taken from high to low frequency and the first of a cluster wins.
    """
    span = max(float(np.ptp(z.real)), float(np.ptp(z.imag)), 1e-300)
    kept: list[tuple[int, float]] = []
    for i, f in sorted(marks, key=lambda m: -m[1]):
        if all(
            abs(z[i].real - z[j].real) >= width * span or abs(z[i].imag - z[j].imag) >= height * span
            for j, _ in kept
        ):
            kept.append((i, f))
    return kept


def plot_nyquist(
    data: Any,
    ax: Any = None,
    *,
    fit: Any = None,
    label: str | None = None,
    unit: str | None = None,
    decades: bool = True,
    color: str | None = None,
    fit_color: str | None = None,
    show_fit: bool = True,
    hf_inset: bool | float = False,
    **marker_kws: Any,
) -> Any:
    """Plot −Z″ against Z′ with equal axis scaling; return the Axes.

    Parameters
    ----------
    data : Spectrum, FitResult, KKResult or (freq, z)
        Measured impedance (Ω) at frequencies (Hz). A ``FitResult`` also draws its fit.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when omitted.
    fit : FitResult or (freq, z_fit), optional
        A fit to draw as a line over the points (defaults to ``data`` when it is a fit).
    label : str, optional
        Legend label of the data points.
    unit : {"Ω", "kΩ", "MΩ", "mΩ"}, optional
        Impedance unit of both axes; chosen from the data when omitted.
    decades : bool
        Mark and label the points nearest each frequency decade (10ⁿ Hz).
    color, fit_color : str, optional
        Colours of the points and of the fit line.
    show_fit : bool
        Draw the fit of a ``FitResult`` passed as ``data``.
    hf_inset : bool or float
        Add an inset that zooms on the high-frequency end (bulk and grain-boundary arcs), where
        Z′ lies within the given fraction of the Z′ span from its minimum (True: 0.2).
    **marker_kws
        Passed to ``Axes.plot`` for the data points.

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    Points with Z″ > 0 (inductive, high frequency) are drawn below the axis, not dropped.
    """
    ax = new_axes(ax)
    freq, z = impedance_of(data)
    if fit is None and show_fit and is_fit(data):
        fit = data
    _fit_freq, z_fit = fit_curve(fit) if fit is not None else (None, None)
    max_abs = np.max(np.abs(np.concatenate([z.real, z.imag])))
    factor, _unit = axes_ohm_unit(ax, max_abs, unit)

    kws = {
        "marker": "o",
        "markersize": 4,
        "linestyle": "none",
        "markerfacecolor": "none",
        "markeredgewidth": 0.9,
        "color": color or DATA_COLOR,
        "zorder": 2,
    }
    kws.update(marker_kws)
    (points,) = ax.plot(z.real / factor, -z.imag / factor, label=label or "data", **kws)
    points.set_gid("data")
    if z_fit is not None:
        (line,) = ax.plot(
            z_fit.real / factor,
            -z_fit.imag / factor,
            "-",
            color=fit_color or FIT_COLOR,
            linewidth=1.4,
            label="fit",
            zorder=3,
        )
        line.set_gid("fit")
    if decades:
        marks = decade_points(freq)
        if marks:
            idx = [i for i, _ in marks]
            (dots,) = ax.plot(
                z.real[idx] / factor,
                -z.imag[idx] / factor,
                linestyle="none",
                marker="D",
                markersize=5,
                color=points.get_color(),
                zorder=4,
                label="_decades",
            )
            dots.set_gid("decades")
            centre = 0.5 * (z.real.min() + z.real.max())
            span = max(float(np.ptp(z.real)), 1e-300)
            for i, f in spaced_marks(z, marks):
                # push each label outward from the middle of the spectrum, off the curve
                vx, vy = (z.real[i] - centre) / span, -z.imag[i] / span
                norm = float(np.hypot(vx, vy)) or 1.0
                vx, vy = vx / norm, vy / norm
                ax.annotate(
                    decade_label(f),
                    (z.real[i] / factor, -z.imag[i] / factor),
                    xytext=(8 * vx, 8 * vy),
                    textcoords="offset points",
                    ha="left" if vx > 0.35 else ("right" if vx < -0.35 else "center"),
                    va="bottom" if vy > 0.35 else ("top" if vy < -0.35 else "center"),
                    fontsize="x-small",
                    color="0.25",
                    gid="decade_label",
                )
    ax.axhline(0.0, color="0.6", linewidth=0.6, zorder=1)
    ax.set_aspect("equal", adjustable="datalim")
    style_axes(ax)
    if hf_inset:
        _hf_inset(ax, z, z_fit, factor, 0.2 if hf_inset is True else float(hf_inset), points.get_color())
    return ax


def _hf_inset(
    ax: Any, z: np.ndarray, z_fit: np.ndarray | None, factor: float, fraction: float, color: str
) -> Any:
    """Inset zoom on the points with Z′ < min Z′ + fraction × span (the high-frequency arcs)."""
    re_min, span = float(z.real.min()), float(np.ptp(z.real))
    keep = z.real <= re_min + fraction * span
    if keep.sum() < 3:
        return None
    inset = ax.inset_axes((0.56, 0.56, 0.42, 0.42))
    inset.set_gid("hf_inset")
    inset.plot(
        z.real[keep] / factor,
        -z.imag[keep] / factor,
        "o",
        markersize=3,
        markerfacecolor="none",
        color=color,
        gid="data",
    )
    if z_fit is not None:
        near = z_fit.real <= re_min + fraction * span
        inset.plot(
            z_fit.real[near] / factor,
            -z_fit.imag[near] / factor,
            "-",
            color=FIT_COLOR,
            linewidth=1.1,
            gid="fit",
        )
    inset.axhline(0.0, color="0.6", linewidth=0.5)
    inset.set_aspect("equal", adjustable="datalim")
    inset.tick_params(labelsize="x-small", direction="in")
    inset.set_title("high frequencies", fontsize="x-small", pad=2)
    return inset
