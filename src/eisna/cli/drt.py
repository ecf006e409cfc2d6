"""``eisna drt FILE...``: distribution of relaxation times and its peaks, per spectrum."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import EisnaError
from ._common import print_per_file
from .kk import add_selection_argument, restrict, save_figure, spectra_of

EXAMPLES = """examples:
  eisna drt cell.mpt
  eisna drt cell.mpt --index 0 --plot drt.png
  eisna drt cell.mpt --lam 1e-3            # fixed regularisation instead of cross-validation
  eisna drt pellet.mpt --capacitance --min-peak 1   # blocking electrodes: series C, small arcs

Each peak is listed with its time constant tau (s), frequency f = 1/(2 pi tau) (Hz) and
resistance R (Ohm, area under the peak). With several files or spectra, --plot overlays
all the curves.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "drt",
        help="distribution of relaxation times and its peaks",
        description="Compute the distribution of relaxation times (Tikhonov + NNLS on Gaussian RBFs, "
        "lambda by real/imaginary cross-validation) of every spectrum and list its peaks.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--plot", metavar="PNG", help="save a plot of gamma(tau) to this file")
    p.add_argument(
        "--lam", type=float, metavar="LAMBDA", help="regularisation parameter (default: automatic)"
    )
    p.add_argument("--no-inductance", action="store_true", help="do not fit a series inductance")
    p.add_argument(
        "--capacitance", action="store_true", help="fit a series capacitance (blocking electrodes)"
    )
    p.add_argument(
        "--min-peak",
        type=float,
        default=3.0,
        metavar="PCT",
        help="list peaks holding at least this %% of the polarisation resistance (default 3)",
    )
    add_selection_argument(p)
    p.set_defaults(run=run)


def drt_lines(path: str, args: argparse.Namespace, curves: list[tuple[str, Any]]) -> list[str]:
    """Return the lines ``eisna drt`` prints for one file; append (label, DRTResult) to ``curves``."""
    from ..relaxation import drt

    if not 0.0 <= args.min_peak < 100.0:
        raise EisnaError(f"--min-peak must be a percentage from 0 to 100; found {args.min_peak}.")
    lines = [path]
    for i, spectrum in spectra_of(path, args.index):
        try:
            res = drt(
                restrict(spectrum, args),
                lam=args.lam,
                inductance=not args.no_inductance,
                capacitance=args.capacitance,
                min_peak_fraction=args.min_peak / 100.0,
            )
        except EisnaError as err:
            lines.append(f"  spectrum {i}: skipped: {err}")
            continue
        curves.append((f"{path} #{i}", res))
        lines.append(
            f"  spectrum {i}: R_inf = {res.R_inf:.4g} Ohm, R_pol = {res.R_pol:.4g} Ohm, "
            f"L = {res.L:.3g} H, lambda = {res.lam:.2g}, residual rms = {100 * res.residual_rms:.2f} %"
            + (f", C = {res.C:.3g} F" if np.isfinite(res.C) else "")
        )
        above = res.R_above_window
        if above > res.R_inf and above > 1e-3 * res.R_pol:
            # R_inf alone would understate the ohmic intercept: γ carries it above f_max
            lines.append(
                f"    gamma holds {above:.4g} Ohm at tau below the window (faster than f_max): "
                f"R_inf + that = {res.R_inf + above:.4g} Ohm is the high-frequency intercept"
            )
        if not res.peaks:
            lines.append("    no peaks")
        if res.lam_at_edge:
            lines.append("    lambda at the edge of its grid: the data do not fix the smoothness of gamma")
        for k, peak in enumerate(res.peaks, 1):
            flags = "" if peak.in_window else "  [outside the measured range]"
            flags += "" if peak.credible else "  [inside the bootstrap band: may be a ripple]"
            text = f"tau = {peak.tau:.3e} s  f = {peak.f:.3e} Hz  R = {peak.R:.4g} Ohm"
            lines.append(f"    peak {k}: {text}{flags}")
    return lines


def save_plot(curves: list[tuple[str, Any]], out: str) -> None:
    """Draw γ(τ) of every curve on one Axes and save it (no pyplot, no global state)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    plot_drt: Callable[..., Any] | None
    try:
        from ..plotting import plot_drt
    except ImportError:  # plotting module not available: a minimal γ(τ) plot
        plot_drt = None
    for label, res in curves:
        if plot_drt is not None and len(curves) == 1:
            plot_drt(res, ax=ax, label=label)
        else:
            ax.plot(res.tau, res.gamma, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("τ / s")
    ax.set_ylabel("γ / Ω")
    if 1 < len(curves) <= 12:
        ax.legend(fontsize="x-small")
    save_figure(fig, out)


def run(args: argparse.Namespace) -> int:
    curves: list[tuple[str, Any]] = []
    status = print_per_file(args.files, lambda path: drt_lines(path, args, curves))
    if args.plot:
        if not curves:
            raise EisnaError(f"{args.plot}: nothing to plot; no spectrum gave a DRT.")
        save_plot(curves, args.plot)
        print(f"plot saved to {args.plot}")
    return status
