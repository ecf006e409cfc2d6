"""``eisna kk FILE...``: Kramers–Kronig (lin-KK) check of every spectrum in the files."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import EisnaError
from ._common import print_per_file

if TYPE_CHECKING:
    from ..spectrum import Spectrum

EXAMPLES = """examples:
  eisna kk cell.mpt
  eisna kk cell.mpt --threshold 2          # fixed limit: 2 % of |Z|
  eisna kk pellet.mpt --capacitance        # blocking electrodes: force a series C (else automatic)
  eisna kk series.mpr --index 0 5 10       # only spectra 0, 5 and 10
  eisna kk cell.mpt --index 3 --plot kk.png  # residuals of spectrum 3 with the band
  eisna kk cell.mpt --fmax 3e5             # leave out cable-dominated points above 300 kHz

The verdict is PASS when no relative residual (Z - Z_KK)/|Z|, real or imaginary,
exceeds the limit: by default max(1 %, 5 x the noise estimated from the residuals),
at most 5 %, where the noise is the median of the local estimates and caps them at 3x
(a step cannot lift its own limit). Z-HIT rebuilds |Z| from the phase; it fails when
the two differ by more than max(3 %, 5 x noise), the 2 end points on each side aside.
A failing spectrum gets a "why:" line. Exit status is 0 whatever the verdicts; 1 if a
file cannot be read.
"""

HEADER = (
    f"{'index':>5}  {'points':>6}  {'M':>3}  {'mu':>6}  {'noise %':>7}  {'max res %':>9}  {'limit %':>9}  "
    f"{'Z-HIT':>5}  verdict"
)


def spectra_of(path: str, indices: Sequence[int] | None) -> Iterator[tuple[int, Spectrum]]:
    """Yield ``(index, spectrum)`` for the spectra of ``path`` selected by ``indices`` (all if None)."""
    from ..io import read

    spectra = read(path)
    if indices is None:
        yield from enumerate(spectra)
        return
    for i in indices:
        if not -len(spectra) <= i < len(spectra):
            raise EisnaError(
                f"{path}: no spectrum with index {i}; expected 0 to {len(spectra) - 1} "
                f"(the file holds {len(spectra)}). Run 'eisna info {path}'."
            )
        yield i % len(spectra), spectra[i]


def add_selection_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--index``, ``--fmin`` and ``--fmax`` options shared by ``eisna kk`` and ``eisna drt``."""
    parser.add_argument(
        "--index",
        type=int,
        nargs="+",
        metavar="N",
        help="analyse only these spectra (0-based position in the file; negative counts from the end)",
    )
    parser.add_argument("--fmin", type=float, metavar="HZ", help="drop points below this frequency")
    parser.add_argument("--fmax", type=float, metavar="HZ", help="drop points above this frequency")


def restrict(spectrum: Spectrum, args: argparse.Namespace) -> Spectrum:
    """The spectrum limited to ``--fmin``/``--fmax`` (SpectrumError when no point is left)."""
    if args.fmin is None and args.fmax is None:
        return spectrum
    return spectrum.select(args.fmin, args.fmax)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "kk",
        help="Kramers-Kronig (lin-KK) test of every spectrum",
        description="Test every impedance spectrum in the files for Kramers-Kronig consistency "
        "with lin-KK (Schoenleber et al. 2014) and print one line per spectrum: index, points, "
        "number of RC elements M, mu, estimated noise, largest relative residual, limit, the "
        "Z-HIT verdict (|Z| rebuilt from the phase) and the lin-KK verdict; a failing spectrum "
        "gets a line saying why and where.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument(
        "--threshold",
        type=float,
        metavar="PCT",
        help="limit on each relative residual, in %% of |Z| (default: noise-based, 1-5 %%)",
    )
    cap = p.add_mutually_exclusive_group()
    cap.add_argument(
        "--capacitance",
        dest="capacitance",
        action="store_true",
        default=None,
        help="fit a series capacitance (default: when the spectrum ends in a "
        "capacitive blocking-electrode tail)",
    )
    cap.add_argument(
        "--no-capacitance", dest="capacitance", action="store_false", help="never fit a series capacitance"
    )
    p.add_argument("--no-inductance", action="store_true", help="do not fit a series inductance")
    p.add_argument(
        "--c", type=float, default=0.85, metavar="MU", help="mu limit for choosing M (default 0.85)"
    )
    p.add_argument(
        "--plot",
        metavar="PNG",
        help="save the residuals of the first spectrum tested (with --index: the first listed)",
    )
    add_selection_argument(p)
    p.set_defaults(run=run)


def kk_lines(path: str, args: argparse.Namespace, tested: list[tuple[str, Any]] | None = None) -> list[str]:
    """Return the table ``eisna kk`` prints for one file; append (label, KKResult) to ``tested``."""
    from ..validation import kk_test

    if args.threshold is not None and not args.threshold > 0:
        raise EisnaError(f"--threshold must be a positive percentage; found {args.threshold}.")
    threshold = None if args.threshold is None else args.threshold / 100.0
    lines = [path, HEADER]
    n_pass = n_total = 0
    for i, spectrum in spectra_of(path, args.index):
        try:
            spectrum = restrict(spectrum, args)
            res = kk_test(
                spectrum,
                threshold=threshold,
                add_inductance=not args.no_inductance,
                add_capacitance=args.capacitance,
                c=args.c,
            )
        except EisnaError as err:  # e.g. a one-point spectrum: report it and go on
            dashes = f"{'-':>3}  {'-':>6}  {'-':>7}  {'-':>9}  {'-':>9}  {'-':>5}"
            lines.append(f"{i:>5}  {len(spectrum):>6}  {dashes}  skipped: {err}")
            continue
        n_total += 1
        n_pass += res.passed
        if tested is not None:
            tested.append((f"{path} #{i}", res))
        lo, hi = 100 * res.threshold.min(), 100 * res.threshold.max()
        lim_text = f"{lo:.2g}" if lo == hi else f"{lo:.2g}-{hi:.2g}"
        verdict = "PASS" if res.passed else f"FAIL ({len(res.bad_points)} points)"
        z_hit = "-" if res.zhit is None else ("PASS" if res.zhit.passed else "FAIL")
        lines.append(
            f"{i:>5}  {len(spectrum):>6}  {res.M:>3}  {res.mu:>6.3f}  {100 * res.noise_level:>7.2f}  "
            f"{100 * res.max_residual:>9.2f}  {lim_text:>9}  {z_hit:>5}  {verdict}"
        )
        if res.reason:
            lines.append(f"{'':>7}why: {res.reason}")
        if res.zhit is not None and not res.zhit.passed:
            lines.append(f"{'':>7}{res.zhit.summary()}")
    lines.append(f"  {n_pass} of {n_total} spectra pass")
    return lines


def save_plot(label: str, res: Any, out: str) -> None:
    """Residuals (%) against f with the acceptance band, saved without pyplot."""
    from matplotlib.figure import Figure

    from ..plotting import plot_residuals

    fig = Figure(figsize=(6.0, 3.6), layout="constrained")
    plot_residuals(res, fig.add_subplot())
    # the legend sits above the axes; the label goes in the figure title, above it
    fig.suptitle(f"{label}: lin-KK {'PASS' if res.passed else 'FAIL'}", fontsize="small")
    save_figure(fig, out)


def save_figure(fig: Any, out: str) -> None:
    """Save a matplotlib figure; unwritable paths become an :class:`EisnaError`."""
    try:
        fig.savefig(out)
    except (OSError, ValueError) as err:
        raise EisnaError(
            f"{out}: cannot save the plot ({err}). Check the directory and the file extension."
        ) from err


def run(args: argparse.Namespace) -> int:
    tested: list[tuple[str, Any]] = []
    status = print_per_file(args.files, lambda path: kk_lines(path, args, tested))
    if args.plot:
        if not tested:
            raise EisnaError(f"{args.plot}: nothing to plot; no spectrum could be tested.")
        save_plot(*tested[0], args.plot)
        print(f"plot saved to {args.plot}")
    return status
