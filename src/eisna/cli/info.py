"""``eisna info FILE...``: what a file holds."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ..errors import (
    EisnaError,
    NoCyclingData,
    NoImpedanceData,
    ParseError,
    UnsupportedFormatError,
    UsageError,
)
from ._common import print_per_file

EXAMPLES = """examples:
  eisna info cell.mpt
  eisna info data/*.mpr run.ndax
  eisna info cell_3electrode.mpt --potential Ewe-Ece
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
    p.add_argument(
        "--potential",
        choices=("auto", "Ewe", "Ewe-Ece"),
        default="auto",
        help="cell voltage of EC-Lab cycling rows: Ewe-Ece when the file records the counter "
        "electrode (auto, the default), or Ewe / Ewe-Ece forced",
    )
    p.set_defaults(run=run)


def _when(moment: datetime) -> str:
    """Date and time, to the millisecond (truncated) when the time has a fraction of a second."""
    return moment.isoformat(sep=" ", timespec="milliseconds" if moment.microsecond >= 1000 else "seconds")


def describe(path: str, potential: str = "auto") -> list[str]:
    """Return the lines ``eisna info`` prints for one file.

    ``potential`` is :func:`eisna.read_cycling`'s choice of cell voltage for EC-Lab cycling rows.
    """
    import warnings

    from ..io import read
    from ..io._registry import find_reader

    lines = [f"{path}"]
    spectra = []
    impedance_error: NoImpedanceData | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reader = find_reader(path)
        description = getattr(reader, "DESCRIPTION", None)
        format_line = len(lines)
        lines.append(f"  format: {reader.NAME}" + (f" ({description})" if description else ""))
        try:
            spectra = read(path)
        except NoImpedanceData as err:
            impedance_error = err
            lines.append("  spectra: none (no impedance data)")
        # a reader may hand a file on (a workbook picked by extension goes to the table reader,
        # which recognises e.g. an Autolab NOVA sheet): name what the spectra say they are
        formats = sorted({str(s.meta["format"]) for s in spectra if s.meta.get("format")})
        if formats and formats != [reader.NAME]:
            lines[format_line] = f"  format: {', '.join(formats)}"
        cycling_error: EisnaError | None = None
        try:
            cyc = _cycling(reader, path, potential)
        except NoCyclingData:
            cyc = None
        except UsageError:  # --potential that does not fit the file: said as such, exit status 2
            raise
        except EisnaError as err:  # e.g. a zip bomb: say why, not "holds neither"
            cyc, cycling_error = None, err
        if not spectra and cyc is not None and cyc[0] and not hasattr(reader, "read_cycling"):
            # the cycling rows came from another reader (a BTSDA workbook renamed .dat is the
            # table reader's by its extension, its rows Neware's): name that one
            cycling_reader = find_reader(path, need="read_cycling")
            description = getattr(cycling_reader, "DESCRIPTION", None)
            lines[format_line] = f"  format: {cycling_reader.NAME}" + (
                f" ({description})" if description else ""
            )
    start = None
    if spectra:
        techniques = sorted({str(s.meta.get("technique") or "unknown") for s in spectra})
        lines.append(f"  technique: {', '.join(techniques)}")
        instruments = sorted({str(s.meta["instrument"]) for s in spectra if s.meta.get("instrument")})
        if instruments:
            lines.append(f"  instrument: {', '.join(instruments)}")
        npts = [len(s) for s in spectra]
        lines.append(
            f"  spectra: {len(spectra)}; points per spectrum: "
            f"{min(npts)}" + (f"–{max(npts)}" if max(npts) != min(npts) else "")
        )
        fmin = min(float(s.freq.min()) for s in spectra)
        fmax = max(float(s.freq.max()) for s in spectra)
        lines.append(f"  frequency range: {fmin:.4g} Hz – {fmax:.4g} Hz")
        first = spectra[0]
        if first.timestamp is not None:
            start = first.timestamp - timedelta(seconds=first.elapsed_s or 0.0)
    if cyc is not None and cyc[0]:
        lines.append(f"  cycling rows: {cyc[0]}")
        if cyc[3]:
            lines.append(f"  cell voltage: {cyc[3]}")
        if start is None:
            start = cyc[1]
    lines.append(f"  start time: {_when(start) if start is not None else 'unknown'}")
    if spectra and spectra[0].timestamp is not None:
        lines.append(f"  first spectrum at: {_when(spectra[0].timestamp)} (t = {spectra[0].elapsed_s:.6g} s)")
    lines.extend(_reader_decisions([s.meta for s in spectra], cyc[2] if cyc is not None else 0))
    for message in dict.fromkeys(str(w.message).removeprefix(f"{path}: ") for w in caught):
        lines.append(f"  warning: {message}")
    if not spectra and cyc is None:
        # the impedance reader's reason (the columns it found, the technique) says more than
        # "no reader recognises this file" from the cycling side: say both
        if impedance_error is not None and (cycling_error is None or isinstance(cycling_error, ParseError)):
            if cycling_error is None or isinstance(cycling_error, UnsupportedFormatError):
                raise NoImpedanceData(f"{impedance_error} It holds no cycling data either.")
            reason = str(cycling_error).removeprefix(f"{path}: ")
            raise NoImpedanceData(f"{impedance_error} Not cycling data either: {reason}")
        if cycling_error is not None:
            raise cycling_error
        raise NoImpedanceData(f"{path}: holds neither impedance spectra nor cycling data.")
    return lines


def _reader_decisions(metas: Sequence[Mapping[str, Any]], cut_cycling_rows: int) -> list[str]:
    """Lines for what the reader decided on its own: absolute-time reading, cut lines, header count.

    Parameters
    ----------
    metas : sequence of mapping
        The spectra's ``meta``, in file order.
    cut_cycling_rows : int
        Cut last lines left out of the cycling rows (``frame.attrs["dropped"]``).
    """
    lines = []
    absolute = next((m for m in metas if m.get("time_format") == "absolute"), None)
    if absolute is not None:  # the day/month order was inferred: say how, so that it can be checked
        lines.append("  time format: absolute (dates and clock times in time/s)")
        lines.append(f"  date order: {absolute.get('date_order')}; {absolute.get('date_order_reason')}")
        lines.append(f"  time origin: {absolute.get('time_origin')} (t = 0 s)")
    cut = sum(int((m.get("dropped") or {}).get("cut last line", 0)) for m in metas)
    where = [f"{cut} left out of the spectra"] if cut else []
    where += [f"{cut_cycling_rows} left out of the cycling rows"] if cut_cycling_rows else []
    if where:  # the warning says it too, but only while warnings are shown
        lines.append(f"  cut last line: {', '.join(where)}")
    header: Mapping[str, Any] = next(
        (m["header"] for m in metas if "header_lines_declared" in (m.get("header") or {})), {}
    )
    if "header_lines_declared" in header:  # EC-Lab versions disagree by one on this count
        lines.append(
            f"  header lines: {header['header_lines_declared']} declared ('Nb header lines'), which is "
            "wrong; the column names were found within two lines of it"
        )
    return lines


def _cycling(reader: Any, path: str, potential: str = "auto") -> tuple[int, datetime | None, int, str]:
    """The number of cycling rows, the start they give, the cut last lines left out of them and
    what the cell voltage is ("" unless the file records the counter electrode or ``potential``
    was given).

    The start is the first timestamp minus its ``time_s``. A reader with ``cycling_overview``
    (Neware binaries) answers without a pandas frame.
    """
    from ..io import read_cycling
    from ..io._registry import call_reader

    overview = getattr(reader, "cycling_overview", None)
    if overview is not None and hasattr(reader, "read_cycling") and potential == "auto":
        count, start = call_reader(overview, path)
        return int(count), start, 0, ""
    cyc = read_cycling(path, potential=potential)
    cut = int(cyc.attrs.get("dropped", {}).get("cut last line", 0))
    voltage = ""
    if "potential" in cyc.attrs and ("Ewe_V" in cyc.columns or potential != "auto"):
        voltage = f"{cyc.attrs['potential']} ({cyc.attrs.get('potential_reason', '')})"
    if len(cyc) and "timestamp" in cyc and "time_s" in cyc:
        # the rows' timestamps carry nanoseconds (start + time_s); a datetime holds microseconds,
        # and pandas warns when it drops the rest
        first = cyc["timestamp"].iloc[0].round("us").to_pydatetime()
        start = first - timedelta(seconds=float(cyc["time_s"].iloc[0]))
        return len(cyc), start, cut, voltage
    return len(cyc), None, cut, voltage


def run(args: argparse.Namespace) -> int:
    potential = getattr(args, "potential", "auto")
    return print_per_file(args.files, lambda path: describe(path, potential))
