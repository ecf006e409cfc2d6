"""Time-resolved plots: a time-coloured Nyquist stack and parameter trajectories with kinetics.

Both accept a ``SeriesResult`` (``.results`` in time order, ``.time_h``), a plain sequence of
fits or spectra with ``time_h`` given, or — for trajectories — the ``results.csv``/``results.json``
table (a pandas DataFrame, a list of row dicts or a mapping of columns).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..units import time_axis_label
from ._data import fit_curve, get, impedance_of, is_fit
from ._style import FIT_COLOR, SEQUENTIAL_CMAP, new_axes, style_axes
from .nyquist import axes_ohm_unit

__all__ = ["kinetics_curve", "plot_nyquist_series", "plot_trajectories", "trajectory_table"]

INTERLAYER_ROLES = ("interlayer", "interface", "int", "sei")


def _series_items(series: Any, time_h: ArrayLike | None) -> tuple[list[Any], np.ndarray]:
    results = get(series, "results")
    items = list(results) if results is not None else list(series)
    if time_h is None:
        time_h = get(series, "time_h")
    if time_h is None:
        raise ValueError("time_h is needed: pass a SeriesResult or time_h=[...] in hours")
    t = np.asarray(time_h, dtype=float)
    if t.size != len(items):
        raise ValueError(f"time_h has {t.size} values for {len(items)} spectra")
    return items, t


def plot_nyquist_series(
    series: Any,
    ax: Any = None,
    *,
    time_h: ArrayLike | None = None,
    every: int = 1,
    cmap: str = SEQUENTIAL_CMAP,
    show_fit: bool = True,
    colorbar: bool = True,
    unit: str | None = None,
) -> Any:
    """Overlay the spectra of a series on one Nyquist plot, coloured by time; return the Axes.

    Parameters
    ----------
    series : SeriesResult or sequence of FitResult/Spectrum
        The spectra in time order. Failed fits (without ``z``) are skipped.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when omitted.
    time_h : sequence of float, optional
        Time of each spectrum in h (taken from ``series.time_h`` when omitted).
    every : int
        Plot every n-th spectrum (2–4 keeps a 49-spectrum series readable); the last is always drawn.
    cmap : str
        Sequential colormap for time.
    show_fit : bool
        Draw each fit as a line of the same colour over its points.
    colorbar : bool
        Add a colorbar labelled in hours.
    unit : {"Ω", "kΩ", "MΩ"}, optional
        Impedance unit; chosen from the data when omitted.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib as mpl

    ax = new_axes(ax, figsize=(5.6, 4.4))
    items, t = _series_items(series, time_h)
    keep = [i for i, item in enumerate(items) if get(item, "z") is not None]
    if not keep:
        raise ValueError("the series holds no spectrum to plot (every fit failed?)")
    chosen = keep[:: max(int(every), 1)]
    if chosen[-1] != keep[-1]:
        chosen.append(keep[-1])
    max_abs = max(float(np.max(np.abs(impedance_of(items[i])[1]))) for i in chosen)
    factor, _ = axes_ohm_unit(ax, max_abs, unit)
    norm = mpl.colors.Normalize(vmin=float(np.nanmin(t[keep])), vmax=float(np.nanmax(t[keep])) or 1.0)
    colormap = mpl.colormaps[cmap]
    for i in chosen:
        _, z = impedance_of(items[i])
        color = colormap(norm(t[i]))
        ax.plot(z.real / factor, -z.imag / factor, "o", markersize=2.5, color=color, alpha=0.85, gid="data")
        if show_fit and is_fit(items[i]):
            _, z_fit = fit_curve(items[i])
            ax.plot(z_fit.real / factor, -z_fit.imag / factor, "-", color=color, linewidth=0.9, gid="fit")
    ax.axhline(0.0, color="0.6", linewidth=0.6, zorder=1)
    ax.set_aspect("equal", adjustable="datalim")
    if colorbar:
        mappable = mpl.cm.ScalarMappable(norm=norm, cmap=colormap)
        label = time_axis_label(_basis_of(series))
        ax.figure.colorbar(mappable, ax=ax, label=label, shrink=0.85)
    style_axes(ax)
    return ax


def _interlayer_arc(result: Any, roles: Sequence[str]) -> Any:
    for arc in get(result, "arcs") or ():
        if str(get(arc, "role", "")).lower() in roles:
            return arc
    return None


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return np.nan


def _column(table: Mapping[str, Any], *names: str) -> np.ndarray | None:
    """The first of ``names`` present in ``table``, as floats (None and text become NaN)."""
    for name in names:
        if name in table and table[name] is not None:
            return np.array([_num(v) for v in np.ravel(np.asarray(table[name], dtype=object))])
    return None


def _as_columns(rows: Any) -> dict[str, Any]:
    """Turn a DataFrame, a list of row dicts or a mapping of columns into a mapping of columns."""
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
        return {str(c): rows[c].to_numpy() for c in rows.columns}
    if isinstance(rows, Mapping):
        return dict(rows)
    rows = list(rows)
    names: list[str] = []
    for row in rows:
        names.extend(k for k in row if k not in names)
    return {k: np.array([_num(r.get(k)) for r in rows]) for k in names}


def trajectory_table(
    series: Any, *, time_h: ArrayLike | None = None, roles: Sequence[str] = INTERLAYER_ROLES
) -> dict[str, np.ndarray]:
    """Extract ``t_h``, ``R_int``, ``C_int``, ``R_total`` and their ``*_err`` (1σ) arrays.

    ``R_int`` is 0 (with NaN error) where the series reports no interlayer; ``R_total`` is the
    sum of the arcs' resistances (Ω) for fit objects, or the ``R_total``/``R_dc_ohm`` column of a
    results table; ``C_int`` is the interlayer's effective capacitance (F).
    """
    results = get(series, "results")
    if results is not None or (
        isinstance(series, Sequence) and series and get(series[0], "arcs") is not None
    ):
        items, t = _series_items(series, time_h)
        present = get(series, "interlayer")
        out = {
            k: np.full(len(items), np.nan)
            for k in ("R_int", "R_int_err", "C_int", "C_int_err", "R_total", "R_total_err")
        }
        for i, res in enumerate(items):
            arcs = get(res, "arcs")
            if not arcs:
                continue  # failed fit: leave NaN
            r = np.array([float(get(a, "R", np.nan)) for a in arcs])
            r_err = np.array([float(get(a, "R_stderr", np.nan)) for a in arcs])
            out["R_total"][i] = np.nansum(r)
            out["R_total_err"][i] = np.sqrt(np.nansum(r_err**2)) if np.isfinite(r_err).any() else np.nan
            arc = _interlayer_arc(res, roles)
            decided = None if present is None else present[i]
            has_int = arc is not None and decided is not False
            if has_int:
                out["R_int"][i] = float(get(arc, "R", np.nan))
                out["R_int_err"][i] = float(get(arc, "R_stderr", np.nan))
                out["C_int"][i] = float(get(arc, "C_eff", np.nan))
                out["C_int_err"][i] = float(get(arc, "C_eff_stderr", np.nan))
            else:
                out["R_int"][i] = 0.0
        out["t_h"] = t
        return out
    cols = _as_columns(series)
    t_col = _column(cols, "time_h", "t_h")
    if t_col is None:
        raise ValueError("the results table has no 'time_h' column")
    t = t_col
    n = t.size
    nan = np.full(n, np.nan)

    def pick(*names: str) -> np.ndarray:
        col = _column(cols, *names)
        return col if col is not None else nan.copy()

    r_int = pick("R_int", "R_int_ohm")
    interlayer = _column(cols, "interlayer")
    if interlayer is not None:  # arc judged absent: R_int = 0 (failed rows stay NaN)
        r_int = np.where(interlayer == 0, 0.0, r_int)
    table = {
        "t_h": t,
        "R_int": r_int,
        "R_int_err": pick("R_int_stderr", "R_int_ohm_stderr"),
        "C_int": pick("C_eff_int", "C_int", "C_eff_int_F", "C_int_F", "C_eff_R_int"),
        "C_int_err": pick("C_eff_int_stderr", "C_int_stderr", "C_eff_int_F_stderr", "C_int_F_stderr"),
        "R_total": pick("R_total", "R_total_ohm", "R_tot", "R_dc_ohm"),
        "R_total_err": pick("R_total_stderr", "R_total_ohm_stderr", "R_tot_stderr"),
    }
    return table


def kinetics_curve(kinetics: Any, t_h: np.ndarray) -> np.ndarray | None:
    """R(t) (Ω) of the best kinetics model at times ``t_h`` (h), or None when it cannot be drawn."""
    if kinetics is None:
        return None
    for obj in (kinetics, get(kinetics, "best")):
        predict = getattr(obj, "predict", None) if obj is not None else None
        if callable(predict):
            try:
                return np.asarray(predict(t_h), dtype=float)
            except (TypeError, ValueError):
                return None
    model = get(kinetics, "model")
    params = get(kinetics, "params")
    if params is None:
        for row in get(kinetics, "models") or ():
            if get(row, "model") == model or get(row, "name") == model:
                params = get(row, "params")
                break
    if not model or model == "none" or not params:
        return None
    return _evaluate_model(str(model), dict(params), np.asarray(t_h, dtype=float))


def _evaluate_model(model: str, p: dict[str, Any], t: np.ndarray) -> np.ndarray | None:
    """The growth laws of ``eisna.kinetics`` evaluated from a stored parameter table."""

    def val(*names: str) -> float:
        for n in names:
            if n in p:
                v = p[n]
                return float(v["value"] if isinstance(v, Mapping) else v)
        raise KeyError(names[0])

    try:
        r0 = val("R0", "R_0")
        if model.lower() == "constant":
            return np.full_like(t, r0)
        t0 = val("t0", "t0_h", "onset_h")
        dt = np.clip(t - t0, 0.0, None)
        name = model.lower()
        if name.startswith("jmak") or name.startswith("avrami"):
            return r0 + val("dR", "delta_R", "dR_inf", "R_inf") * (
                1 - np.exp(-((dt / val("tau", "tau_h")) ** val("m", "n")))
            )
        if name.startswith("first") or name.startswith("exp") or name.startswith("satur"):
            return r0 + val("dR", "delta_R", "dR_inf", "R_inf") * (1 - np.exp(-dt / val("tau", "tau_h")))
        if name.startswith("parab"):
            return r0 + val("k", "k_p") * np.sqrt(dt)
        if name.startswith("lin"):
            return r0 + val("k", "k_l") * dt
        if name.startswith("log"):
            return r0 + val("a", "k") * np.log1p(dt / val("tau", "tau_h"))
        if name.startswith("power"):
            return r0 + val("k") * dt ** val("p")
    except KeyError:
        return None
    return None


def plot_trajectories(
    series: Any,
    axes: Any = None,
    *,
    kinetics: Any = None,
    time_h: ArrayLike | None = None,
    roles: Sequence[str] = INTERLAYER_ROLES,
) -> Any:
    """Plot R_int(t), C_int(t) and total R(t) with 1σ error bars and the kinetics fit; return the Axes.

    Parameters
    ----------
    series : SeriesResult, sequence of FitResult, or results table
        Fits in time order (see :func:`trajectory_table`).
    axes : sequence of three matplotlib Axes, optional
        ``(ax_R_int, ax_C_int, ax_R_total)``; a new three-row figure sharing the time axis when omitted.
    kinetics : KineticsResult or the ``kinetics.json`` mapping, optional
        Draws the best model through R_int(t) and marks the onset and t95 (h) on every panel.
    time_h : sequence of float, optional
        Times in h when ``series`` does not carry them.
    roles : sequence of str
        Arc roles that count as the interlayer.

    Returns
    -------
    tuple of three matplotlib Axes
    """
    if axes is None:
        axes = new_axes(None, nrows=3, figsize=(5.2, 6.6), sharex=True)
    ax_r, ax_c, ax_tot = axes[0], axes[1], axes[2]
    tab = trajectory_table(series, time_h=time_h, roles=roles)
    t = tab["t_h"]
    ebar = {"fmt": "o", "markersize": 3.5, "capsize": 2, "elinewidth": 0.8, "markerfacecolor": "none"}
    ax_r.errorbar(
        t, tab["R_int"], yerr=np.nan_to_num(tab["R_int_err"]), color="#7570b3", label="R_int (fit)", **ebar
    )
    c = tab["C_int"]
    c_unit, c_factor = ("nF", 1e-9) if np.nanmax(np.abs(c), initial=0) < 1e-6 else ("µF", 1e-6)
    ax_c.errorbar(
        t,
        c / c_factor,
        yerr=np.nan_to_num(tab["C_int_err"]) / c_factor,
        color="#1b9e77",
        label="C_eff,int",
        **ebar,
    )
    ax_tot.errorbar(
        t, tab["R_total"], yerr=np.nan_to_num(tab["R_total_err"]), color="#1f4e79", label="R_total", **ebar
    )
    if kinetics is not None:
        t_dense = np.linspace(float(np.nanmin(t)), float(np.nanmax(t)), 400)
        curve = kinetics_curve(kinetics, t_dense)
        model = get(kinetics, "model") or get(get(kinetics, "best"), "name")
        if curve is not None:
            text = "no growth (constant)" if model in (None, "none") else f"{model} fit"
            ax_r.plot(t_dense, curve, "-", color=FIT_COLOR, linewidth=1.4, label=text, gid="kinetics")
        for key, style, text in (("onset_h", "--", "onset"), ("t95_h", ":", "t95")):
            value = get(kinetics, key)
            if value is None or not np.isfinite(float(value)):
                continue
            for ax in (ax_r, ax_c, ax_tot):
                ax.axvline(float(value), linestyle=style, color="0.35", linewidth=1.0, gid=key)
            ax_r.annotate(
                f"{text} {float(value):.1f} h",
                (float(value), 0.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, 4),
                textcoords="offset points",
                fontsize="x-small",
                color="0.25",
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
            )
    finite_c = c[np.isfinite(c) & (c > 0)]
    if finite_c.size > 1 and finite_c.max() / finite_c.min() > 10:
        ax_c.set_yscale("log")  # the first, small arcs have large C: keep the plateau readable
    ax_r.set_ylabel("R_int / Ω")
    ax_c.set_ylabel(f"C_eff,int / {c_unit}")
    ax_tot.set_ylabel("R_total / Ω")
    ax_tot.set_xlabel(time_axis_label(_basis_of(series) or _basis_of(kinetics)))
    ax_r.legend(fontsize="x-small", frameon=False, loc="center right")
    for ax in (ax_r, ax_c, ax_tot):
        style_axes(ax)
    return ax_r, ax_c, ax_tot


def _basis_of(obj: Any) -> str | None:
    """Time basis a series, a kinetics result or its mapping carries (``"file order"``: ranks)."""
    basis = obj.get("time_basis") if isinstance(obj, Mapping) else getattr(obj, "time_basis", None)
    return basis if isinstance(basis, str) else None
