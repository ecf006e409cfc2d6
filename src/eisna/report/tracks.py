"""The report's tracked quantities: every cell's trajectories with their growth laws.

Rendered from the stored ``kinetics["tracks"]`` records (:meth:`eisna.series.Track.to_dict`);
nothing is fitted here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..units import time_axis_label, time_unit

__all__ = ["tracks_figure", "tracks_table"]


def _fmt(x: Any, spec: str = ".4g") -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—"
    return format(v, spec) if math.isfinite(v) else "—"


def tracks_table(
    tracks: Sequence[Mapping[str, Any]], bases: Mapping[Any, Any] | None = None, basis: str | None = None
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """Head and rows (plain text) of the table: cell, quantity, law, onset, t95, first → final,
    change, scatter, the spectra that changed during their own sweep, note. A cell without times
    (``bases``: cell → time basis, else ``basis``, ``"file order"``) gives its onset and t95 as
    ranks ("0.403 (rank)"), not hours."""

    def when(t: Mapping[str, Any], key: str) -> str:
        text = _fmt(t.get(key), ".3g")
        return f"{text} (rank)" if text != "—" and _unit(t) == "rank" else text

    def _unit(t: Mapping[str, Any]) -> str:
        return time_unit((bases or {}).get(t.get("cell"), basis))

    head = (
        "cell",
        "quantity",
        "law",
        "onset / h",
        "t95 / h",
        "first",
        "final",
        "change / %",
        "median jump / %",
        "n",
        "changed during sweep",
        "note",
    )
    rows = [
        (
            t.get("cell") or "—",
            t.get("quantity"),
            t.get("model"),
            when(t, "onset_h"),
            when(t, "t95_h"),
            f"{_fmt(t.get('first'))} {t.get('unit', '')}",
            f"{_fmt(t.get('final'))} {t.get('unit', '')}",
            _fmt(t.get("change_pct"), "+.1f"),
            _fmt(t.get("median_jump_pct"), ".2g"),
            str(t.get("n")),
            _changed_cell(t),
            t.get("note") or "",
        )
        for t in tracks
    ]
    return head, rows


def _changed_cell(track: Mapping[str, Any]) -> str:
    """``"3 spectra, 0–1 h, up to +12 %"`` from the stored sweep fields; "—" when none changed
    (always for a cell without times: its ranks take no delays, see ``series.sweep.delays_s``)."""
    flags = track.get("changed_during_sweep") or []
    hours = [h for h, f in zip(track.get("t_h") or [], flags, strict=False) if f]
    if not hours:
        return "—"
    worst = _fmt(track.get("max_sweep_change_pct"), "+.0f")
    return f"{len(hours)} spectra, {min(hours):.2g}–{max(hours):.2g} h, up to {worst} %"


TITLE_LABEL_CHARS = 36  # a cell label longer than this is shortened in a panel title (two panels a row)


def _short_label(label: str) -> str:
    """``label`` short enough for a panel title: a folder path as a cell label would run into
    the next panel's title. Its folders go first (``…/cell07 [blocking electrodes]``), then the
    middle of its name, whose start and end tell cells apart; a split cell's suffix stays."""
    if len(label) <= TITLE_LABEL_CHARS:
        return label
    path = label.partition(" [")[0]  # (a split cell's label: the path, then " [kind]")
    suffix = label[len(path) :]
    name = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    lead = "…/" if name != path else ""
    room = max(TITLE_LABEL_CHARS - len(lead) - len(suffix), 12)
    if len(name) > room:
        head = (room - 1) // 2
        name = f"{name[:head]}…{name[len(name) - (room - 1 - head) :]}"
    return f"{lead}{name}{suffix}"


def tracks_figure(
    tracks: Sequence[Mapping[str, Any]],
    png: Any,
    figure: Any,
    bases: Mapping[Any, Any] | None = None,
    basis: str | None = None,
) -> tuple[str, str, str] | None:
    """One panel per tracked quantity (and cell): values ± 1σ and the best growth law; a cell
    without times (``bases``: cell → time basis, else ``basis``) is drawn against its ranks."""
    shown = [
        t
        for t in tracks
        if t.get("values")
        and np.isfinite(np.asarray(t["values"], float)).sum() > 1
        and np.nanmax(np.abs(np.asarray(t["values"], float))) > 0
    ]
    if not shown:
        return None
    ncol = 2 if len(shown) > 1 else 1
    nrow = math.ceil(len(shown) / ncol)
    fig = figure(8.0, 2.4 * nrow + 0.4)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    for ax, t in zip(axes, shown, strict=False):
        x = np.asarray(t["t_h"], float)
        arc = np.asarray(t.get("t_arc_h") or [math.nan] * len(x), float)
        on_arc = t.get("time_axis") == "arc"
        if on_arc:  # the law is on the arcs' times: so are the points (start time where unknown)
            x = np.where(np.isfinite(arc), arc, x)
        y = np.asarray(t["values"], float)
        e = np.asarray(t.get("stderr") or [math.nan] * len(y), float)
        e = np.where(np.isfinite(e) & (e < np.abs(y)), e, 0.0)
        ax.errorbar(x, y, yerr=e, fmt="o", ms=3, lw=0.8, color="#1f4e79")
        changed = np.asarray(t.get("changed_during_sweep") or [False] * len(y), bool)
        if changed.size == y.size and changed.any():
            ax.plot(x[changed], y[changed], "o", ms=7, mfc="none", mec="#e67e22", mew=1.2)
        if t.get("law_t_h"):
            ax.plot(t["law_t_h"], t["law_values"], "-", color="#c0392b", lw=1.2)
        cell = f" [{_short_label(str(t['cell']))}]" if t.get("cell") else ""
        ax.set_title(f"{t['quantity']}{cell}: {t.get('model')}", fontsize=9)
        ax.set_ylabel(f"{t['quantity']} / {t.get('unit', '')}", fontsize=8)
        label = time_axis_label((bases or {}).get(t.get("cell"), basis))
        ax.set_xlabel("t (arc measured) / h" if on_arc else label, fontsize=8)
    for ax in axes[len(shown) :]:
        ax.set_visible(False)
    return (
        "Tracked quantities",
        "Every tracked quantity on its cell's own clock, with 1σ error bars; line: best growth law "
        "(AICc); none: no growth law beats a constant; open orange circles: changed during its own "
        "sweep by more than its error and 5 % (the spectrum is not stationary).",
        png(fig),
    )
