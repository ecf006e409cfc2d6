"""Cycling context: voltage against time, with overpotential and EIS-derived R on a shared time axis."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._data import get
from ._style import DATA_COLOR, new_axes, style_axes
from .series import _as_columns, _column, trajectory_table

__all__ = ["plot_cycling"]


def plot_cycling(
    cycling: Any,
    axes: Any = None,
    *,
    summary: Any = None,
    series: Any = None,
    eis_offset_h: float | None = None,
    tz: str | None = None,
) -> Any:
    """Plot cell voltage (V) against time (h), and below it overpotential and EIS R; return the Axes.

    Parameters
    ----------
    cycling : DataFrame or mapping of columns
        Cycling data from :func:`eisna.read_cycling`: ``time_s`` (s) and ``voltage_V`` (V).
    axes : pair of matplotlib Axes, optional
        ``(ax_voltage, ax_overpotential)``; a new two-row figure sharing the time axis when omitted.
    summary : CyclingSummary or table, optional
        From :func:`eisna.cycling_summary`: per half-cycle ``time_h`` and ``overpotential_V`` (V)
        in ``half_cycles``; soft-short ``events`` (``time_h``, ``reason``) are marked with vertical
        lines (dashed red: voltage collapse, dotted orange: jagged plating).
    series : SeriesResult or results table, optional
        EIS-derived total resistance R(t) (Ω), drawn on a right-hand axis of the lower panel.
    eis_offset_h : float, optional
        Time of the first EIS spectrum on the cycling clock (h); negative when the impedance
        series was measured before cycling started. Default: from the absolute timestamps of
        both (:func:`eisna.cycling.eis_offset_h`), or 0 when either has none.
    tz : str, optional
        Time zone of zone-less timestamps, when the other side has a zone (Neware binaries
        give UTC); see :func:`eisna.cycling.eis_offset_h`.

    Returns
    -------
    tuple of matplotlib Axes
        ``(ax_voltage, ax_overpotential)``; the EIS axis is the twin of the second one.
    """
    if axes is None:
        axes = new_axes(None, nrows=2, figsize=(6.0, 4.8), sharex=True)
    ax_v, ax_eta = axes[0], axes[1]
    cols = _as_columns(cycling)
    t_s = _column(cols, "time_s")
    voltage = _column(cols, "voltage_V")
    if t_s is None or voltage is None:
        raise ValueError(
            "cycling data need 'time_s' (s) and 'voltage_V' (V) columns, as read_cycling returns"
        )
    ax_v.plot(t_s / 3600.0, voltage, "-", color=DATA_COLOR, linewidth=0.7, gid="voltage")
    ax_v.set_ylabel("U / V")
    eta_top = None  # largest |η| (mV), for the headroom of the overpotential axis
    if summary is not None:
        table = get(summary, "half_cycles")
        scols = _as_columns(table if table is not None else summary)
        t_h = _column(scols, "time_h", "t_h", "t_mid_h")
        t_mid_s = _column(scols, "time_s", "t_mid_s")
        if t_h is None and t_mid_s is not None:
            t_h = t_mid_s / 3600.0
        eta = _column(scols, "overpotential_V", "eta_V")
        if t_h is not None and eta is not None:
            eta_mV = 1000.0 * np.abs(eta)
            if np.isfinite(eta_mV).any():
                eta_top = float(np.nanmax(eta_mV))
            ax_eta.plot(
                t_h,
                eta_mV,
                "o",
                color="#d95f02",
                markersize=3,
                label="|η|",
                gid="overpotential",
            )
        events = [(float(get(e, "time_h")), str(get(e, "reason", ""))) for e in get(summary, "events") or ()]
        events += [(float(t), "voltage_collapse") for t in np.atleast_1d(get(summary, "short_times_h") or [])]
        for t_event, reason in events:
            style = ("--", "#c0392b") if reason != "jagged" else (":", "#e67e22")
            for ax in (ax_v, ax_eta):
                ax.axvline(t_event, linestyle=style[0], color=style[1], linewidth=0.9, gid="short")
    # overpotentials from zero (small drifts must not look like big ones), with headroom above
    if eta_top is not None and eta_top > 0:
        ax_eta.set_ylim(0, 1.15 * eta_top)
    else:
        ax_eta.set_ylim(bottom=0)
    ax_eta.set_ylabel("|η| / mV", color="#d95f02")
    ax_eta.set_xlabel("t / h")
    if series is not None:
        tab = trajectory_table(series)
        if eis_offset_h is None:
            eis_offset_h = _auto_offset(series, cycling, tz)
        ax_r = ax_eta.twinx()
        ax_r.errorbar(
            tab["t_h"] + eis_offset_h,
            tab["R_total"],
            yerr=np.nan_to_num(tab["R_total_err"]),
            fmt="s",
            markersize=3,
            color="#1f4e79",
            markerfacecolor="none",
            capsize=2,
            label="R (EIS)",
        )
        ax_r.set_ylabel("R (EIS) / Ω", color="#1f4e79")
    for ax in (ax_v, ax_eta):
        style_axes(ax)
    if series is not None:
        ax_eta.tick_params(which="both", right=False)
    return ax_v, ax_eta


def _auto_offset(series: Any, cycling: Any, tz: str | None) -> float:
    """EIS offset on the cycling clock from both sides' timestamps; 0 when either has none."""
    from ..cycling import common_clock_offset_h

    offset = common_clock_offset_h(getattr(series, "start_time", None), cycling, tz)
    return 0.0 if offset is None else offset
