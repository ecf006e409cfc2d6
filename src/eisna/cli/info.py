"""``eisna info FILE...``: what a file holds."""

from __future__ import annotations

import argparse
import sys

from ..errors import EisnaError, NoImpedanceData

EXAMPLES = """examples:
  eisna info cell.mpt
  eisna info data/*.mpr run.ndax
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="show format, spectra, points, frequency range and start time of files",
        description="Show what instrument files hold: format, technique, spectra, points, "
        "frequency range, start time, and cycling rows where there are some.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(run=run)


def describe(path: str) -> list[str]:
    """Return the lines ``eisna info`` prints for one file."""
    from ..io import read, read_cycling

    lines = [f"{path}"]
    spectra = []
    try:
        spectra = read(path)
    except NoImpedanceData as err:
        lines.append(f"  no impedance data ({err})")
    if spectra:
        m0 = spectra[0].meta
        lines.append(f"  format: {m0.get('format', '?')}")
        techniques = sorted({str(s.meta.get('technique', '?')) for s in spectra})
        lines.append(f"  technique: {', '.join(techniques)}")
        npts = [len(s) for s in spectra]
        lines.append(
            f"  spectra: {len(spectra)}; points per spectrum: "
            f"{min(npts)}" + (f"–{max(npts)}" if max(npts) != min(npts) else "")
        )
        fmin = min(float(s.freq.min()) for s in spectra)
        fmax = max(float(s.freq.max()) for s in spectra)
        lines.append(f"  frequency range: {fmin:.4g} Hz – {fmax:.4g} Hz")
        ts = spectra[0].timestamp
        lines.append(f"  start time: {ts.isoformat() if ts else 'unknown'}")
    try:
        cyc = read_cycling(path)
    except EisnaError:
        cyc = None
    if cyc is not None and len(cyc):
        lines.append(f"  cycling rows: {len(cyc)}")
    if not spectra and cyc is None:
        raise NoImpedanceData(f"{path}: holds neither impedance spectra nor cycling data.")
    return lines


def run(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            print("\n".join(describe(path)))
        except EisnaError as err:
            print(f"eisna: error: {err}", file=sys.stderr)
            status = 1
    return status
