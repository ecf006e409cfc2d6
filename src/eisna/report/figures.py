"""Figures of the report, drawn from the data the page shows; each returns (title, caption, PNG)."""

from __future__ import annotations

import base64
import copy
import io
import re
from pathlib import Path
from typing import Any

import numpy as np

from ._access import _celsius, _finite, _get, _is_fit, _label_of, _meta

__all__ = ["_cycling_figure", "_figure", "_figures", "_png", "_rows_trajectories"]


# ----------------------------------------------------------------------------- figures
_DPI = 100  # 100 dpi: labels stay sharp at the page's width, a quarter fewer pixels than 110 to encode


def _png(fig: Any, dpi: int = _DPI) -> str:
    """Base64 PNG of a figure: no metadata chunk, fast zlib level (the page is not an archive)."""
    _fewer_minor_ticks(fig)
    buf = io.BytesIO()
    fig.savefig(
        buf,
        format="png",
        dpi=dpi,
        facecolor="white",
        metadata={"Software": None},
        pil_kwargs={"compress_level": 1},
    )
    return base64.b64encode(buf.getvalue()).decode("ascii")


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _plain_log_label(text: str) -> str:
    r"""A log-axis label without mathtext: ``$\mathdefault{2\times10^{-1}}$`` → ``2×10⁻¹``.

    Each distinct mathtext label is parsed by pyparsing at draw time (tens of ms each); the
    same label in Unicode is drawn directly by the font, and reads the same.
    """
    body = re.fullmatch(r"\$\\mathdefault\{(.*)\}\$", text)
    if body is None:
        return text
    inner = body.group(1).replace("\\times", "×").replace("\\,", "")
    inner = re.sub(r"\^\{([-0-9]+)\}", lambda m: m.group(1).translate(_SUPERSCRIPT), inner)
    inner = inner.replace("{", "").replace("}", "")
    return inner if "\\" not in inner else text


def _fewer_minor_ticks(fig: Any) -> None:
    """One minor tick between majors on linear axes, at 2 and 5 on log axes; plain log labels.

    Every tick is a set of lines and texts built at draw time; the default minor locators
    made 60–150 of them per axes, most of the time of a report figure. The inward major and
    minor ticks on all sides (the eisna style) stay. Log-axis labels are given in Unicode
    (``10⁻¹``) instead of mathtext, which pyparsing would parse at every new label.
    """
    from matplotlib.ticker import AutoMinorLocator, LogFormatterSciNotation, LogLocator, NullLocator

    class _PlainLogFormatter(LogFormatterSciNotation):
        def __call__(self, x: float, pos: int | None = None) -> str:
            return _plain_log_label(super().__call__(x, pos))

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            scale = axis.get_scale()
            if scale == "log":
                for getter, setter in (
                    (axis.get_major_formatter, axis.set_major_formatter),
                    (axis.get_minor_formatter, axis.set_minor_formatter),
                ):
                    if type(getter()) is LogFormatterSciNotation:
                        plain = copy.copy(getter())  # keeps its state (which minor ticks get a label)
                        plain.__class__ = _PlainLogFormatter
                        setter(plain)
            if isinstance(axis.get_minor_locator(), NullLocator):
                continue
            if scale == "linear":
                axis.set_minor_locator(AutoMinorLocator(2))
            elif scale == "log":
                axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))


def _figure(
    width: float,
    height: float,
    *,
    left: float = 0.75,
    right: float = 0.2,
    bottom: float = 0.55,
    top: float = 0.25,
    hspace: float = 0.12,
    wspace: float = 0.3,
) -> Any:
    """A figure with fixed margins in inches (no layout engine).

    Constrained layout measured every tick label of every axes before drawing, twice per
    figure: 87 % of the report's time. The report's figures have known contents, so fixed
    margins (inches, independent of the figure's size) place them as well at a fraction of
    the cost. ``hspace``/``wspace`` are fractions of the mean axes height/width (matplotlib's).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout=None)
    fig.subplots_adjust(
        left=left / width,
        right=1.0 - right / width,
        bottom=bottom / height,
        top=1.0 - top / height,
        hspace=hspace,
        wspace=wspace,
    )
    return fig


def _figures(
    items: list[Any], time_h: np.ndarray | None, series: Any, kinetics: Any, kk: list[Any], arrhenius: Any
) -> list[tuple[str, str, str]]:
    """(title, caption, base64 PNG) for every figure the data support."""
    from .. import plotting

    figs: list[tuple[str, str, str]] = []
    fits = [it for it in items if _is_fit(it)]
    with np.errstate(all="ignore"):
        if time_h is not None and len(items) > 1 and any(_get(it, "z") is not None for it in items):
            fig = _figure(8.0, 4.2)
            n = sum(_get(it, "z") is not None for it in items)
            every = max(1, n // 12)
            plotting.plot_nyquist_series(items, fig.add_subplot(), time_h=time_h, every=every)
            figs.append(
                (
                    "Nyquist plots over time",
                    ("All spectra" if every == 1 else f"Every {every}th spectrum")
                    + ": points measured, lines fitted; colour gives the time since the first spectrum.",
                    _png(fig),
                )
            )
        if time_h is not None and len(items) > 1 and fits:
            fig = _figure(6.4, 6.8, left=0.85, top=0.15, hspace=0.08)
            axes = fig.subplots(3, 1, sharex=True)
            source = series if series is not None and _get(series, "results") is not None else items
            plotting.plot_trajectories(source, axes, kinetics=kinetics, time_h=time_h)
            figs.append(
                (
                    "Interlayer growth",
                    "Interlayer resistance and effective capacitance, and the sum of all arc "
                    "resistances, with 1σ error bars; line: best kinetics model; dashed: onset; "
                    "dotted: t95.",
                    _png(fig),
                )
            )
        if fits:
            pick = fits[-1]
            index = items.index(pick)
            fig = _figure(10.0, 7.0, left=0.8, top=0.45, hspace=0.28, wspace=0.32)
            plotting.plot_fit(
                pick,
                fig,
                kk=kk[index] if index < len(kk) else None,
                title=f"{_label_of(pick, index)} — {_get(pick, 'circuit_name') or ''}",
            )
            figs.append(
                (
                    "Fit of the last spectrum",
                    "Nyquist plot with decade markers, Bode plot and relative residuals; grey band: "
                    "Kramers–Kronig acceptance band.",
                    _png(fig),
                )
            )
        if arrhenius is not None:
            fig = _figure(5.0, 4.0, left=0.8, top=0.55)
            plotting.plot_arrhenius(arrhenius, fig.add_subplot())
            figs.append(("Arrhenius plot", "σT form: Ea = −k_B · d ln(σT)/d(1/T).", _png(fig)))
            if fits:
                figs.append(_pellet_nyquist(fits))
    return figs


def _pellet_nyquist(fits: list[Any]) -> tuple[str, str, str]:
    """One Nyquist plot per temperature, each with an inset on the bulk and grain-boundary arcs."""
    from .. import plotting

    ncols = min(len(fits), 3)
    nrows = -(-len(fits) // ncols)
    fig = _figure(3.4 * ncols, 3.0 * nrows, left=0.6, top=0.3, bottom=0.5, hspace=0.45, wspace=0.35)
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax, fit in zip(axes, fits, strict=False):
        plotting.plot_nyquist(_arc_part(fit), ax)
        temp = _meta(fit).get("temperature_K")
        label = _label_of(fit, fits.index(fit))
        ax.set_title(f"{label}" + (f" — {_celsius(temp)} °C" if _finite(temp) else ""), fontsize="small")
    for ax in axes[len(fits) :]:
        ax.set_visible(False)
    return (
        "Nyquist plots of the pellet",
        "High-frequency part of each spectrum (Z′ up to 1.4× and −Z″ up to 0.8× the bulk plus "
        "grain-boundary resistance past the first point), where those arcs lie; the blocking-electrode "
        "spike is left out so it does not shrink the arcs. Points measured, line fitted.",
        _png(fig),
    )


def _arc_part(fit: Any) -> Any:
    """The points of a fit up to 1.4× the bulk and grain-boundary resistance past the lowest Z′.

    Drawn alone, the arcs fill the axes instead of shrinking to a dot beside the spike of the
    blocking electrodes. Without such arcs the whole fit is returned.
    """
    from types import SimpleNamespace

    # the arcs physics counts as solid electrolyte (effective role; stored fits before it: role)
    arcs = [
        a
        for a in _get(fit, "arcs") or ()
        if (_get(a, "effective_role") or _get(a, "role")) in ("bulk", "grain_boundary")
    ]
    r_arcs = sum(float(_get(a, "R")) for a in arcs if _finite(_get(a, "R")))
    z = np.asarray(_get(fit, "z"), dtype=complex)
    if not r_arcs > 0 or z.size == 0:
        return fit
    keep = (z.real <= np.nanmin(z.real) + 1.4 * r_arcs) & (-z.imag <= 0.8 * r_arcs)
    if keep.sum() < 3:
        return fit
    return SimpleNamespace(
        freq=np.asarray(_get(fit, "freq"))[keep],
        z=z[keep],
        z_fit=np.asarray(_get(fit, "z_fit"), dtype=complex)[keep],
    )


def _cycling_figure(context: Any, series: Any) -> tuple[str, str, str]:
    """Voltage, overpotential and the EIS-derived resistance on the cycling clock."""
    from .. import plotting

    fig = _figure(7.5, 5.6, right=0.8, top=0.15, hspace=0.08)
    offset = context.eis_offset_h
    plotting.plot_cycling(
        context.data,
        fig.subplots(2, 1, sharex=True),
        summary=context.summary,
        series=series,
        eis_offset_h=0.0 if offset is None else offset,
    )
    clock = (
        f"the impedance series starts at {offset:+.2f} h on the cycling clock (from the "
        "timestamps of both files)"
        if offset is not None
        else "the files share no clock, so both are counted from their own start"
    )
    return (
        "Cycling and impedance on one time axis",
        f"Top: cell voltage of {Path(context.source).name}. Bottom: overpotential |η| per half cycle "
        f"(left axis) and the total resistance from the impedance fits (right axis); {clock}. "
        "Vertical lines mark soft-short events.",
        _png(fig),
    )


def _rows_trajectories(items: list[Any], time_h: np.ndarray, kinetics: Any) -> tuple[str, str, str]:
    """Trajectories figure of rows rebuilt from an old ``results.json`` (no stored analysis)."""
    from .. import plotting

    fig = _figure(6.4, 6.8, left=0.85, top=0.15, hspace=0.08)
    plotting.plot_trajectories(items, fig.subplots(3, 1, sharex=True), kinetics=kinetics, time_h=time_h)
    return (
        "Interlayer growth",
        "Interlayer resistance and effective capacitance, and the total "
        "resistance, with 1σ error bars; line: best kinetics model; dashed: onset; dotted: t95.",
        _png(fig),
    )
