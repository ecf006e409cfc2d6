"""ZPlot/ZView ``.z`` files (Scribner; Solartron analysers), written from the format as observed.

Two layouts occur:

* ``ZPLOT2 ASCII``: ``key: value`` comment lines (``Date: 10-12-2018``, ``Time: 11:04:34``,
  ``Potential-DC: 0``, ``Experiment Type: Sweep Frequency, Control Voltage``), a tab-separated
  column-name line ``Freq(Hz)  Ampl  Bias  Time(Sec)  Z'(a)  Z''(b)  GD  Err  Range``,
  ``End Comments``, then one tab-separated row per point;
* the older ``"ZPlotW Data File: Version 3.2c"`` layout without comments: quoted lines,
  ``Date: 12-17-2019    Time: 16:24:35``, a free-text line, a point count, the quoted
  column-name line, then comma-separated rows.

``Z'(a)`` and ``Z''(b)`` are Z′ and Z″ in Ω with the physical sign. The date is month first
(ZPlot is US software: ``12-17-2019``). The timestamp of the spectrum is the file's date and
time plus the ``Time(Sec)`` of its first point. Rows that do not parse or have freq ≤ 0 Hz
are dropped and counted in ``meta["n_dropped"]``.
"""

from __future__ import annotations

import os
import re
import warnings
from datetime import datetime, timedelta

import numpy as np

from ..errors import MetadataWarning, NoImpedanceData, ParseError
from ..spectrum import Spectrum
from ._points import finite_points
from ._sweep import sweep_times
from ._text import cut_last_line, decode_text, read_bytes

__all__ = ["DESCRIPTION", "EXTENSIONS", "NAME", "read", "sniff"]

NAME = "zview-z"
DESCRIPTION = "ZPlot/ZView .z (Scribner)"
EXTENSIONS = (".z",)

_DATE = re.compile(r"Date:\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_TIME = re.compile(r"Time:\s*(\d{1,2}):(\d{2}):(\d{2})")
_KEY_VALUE = re.compile(r"^\s*([^:]{1,40}):\s*(.*?)\s*$")
_SPLIT = re.compile(r"[,\t ]+")


def sniff(head: bytes) -> bool:
    """Return True for a ZPlot/ZView ``.z`` file.

    Parameters
    ----------
    head : bytes
        The first bytes of the file.
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith((b"ZPLOT2 ASCII", b'"ZPlotW Data File')):
        return True
    return b"Freq(Hz)" in text and b"Z'(a)" in text and b"Z''(b)" in text


def _header_line(path: str, lines: list[str]) -> int:
    for number, line in enumerate(lines):
        if "Freq(Hz)" in line and "Z'(a)" in line:
            return number
    raise ParseError(
        path, "no column-name line with Freq(Hz) and Z'(a) found.", hint="Expected a ZPlot/ZView .z export."
    )


def _start(path: str, head: str) -> datetime | None:
    date, clock = _DATE.search(head), _TIME.search(head)
    if date is None:
        return None
    try:
        hms = (int(clock[1]), int(clock[2]), int(clock[3])) if clock else (0, 0, 0)
        return datetime(int(date[3]), int(date[1]), int(date[2]), *hms)
    except ValueError:
        warnings.warn(
            f"{path}: {date[0]!r} is not a month-first date; timestamp set to None.",
            MetadataWarning,
            stacklevel=3,
        )
        return None


def read(path: str | os.PathLike[str]) -> list[Spectrum]:
    """Read the spectrum of a ZPlot/ZView ``.z`` file.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    list of Spectrum
        One spectrum. ``meta`` holds ``technique`` ("PEIS"/"GEIS" from the experiment type),
        ``dc_potential_V`` (Potential-DC, V), ``ocp_V``,
        ``Ewe_V`` (mean of the Bias column, V), ``instrument``, ``software_version``,
        ``comments`` (free-text lines), ``header`` and ``n_dropped``.

    Raises
    ------
    ParseError
        No column-name line, or a missing Freq/Z' /Z'' column.
    NoImpedanceData
        No row with freq > 0 Hz.
    """
    path = str(path)
    text, _ = decode_text(read_bytes(path))
    lines = text.splitlines()
    at = _header_line(path, lines)
    names = [n.strip('"') for n in _SPLIT.split(lines[at].strip().strip('"')) if n.strip('"')]
    for needed in ("Freq(Hz)", "Z'(a)", "Z''(b)"):
        if needed not in names:
            raise ParseError(path, f"column {needed!r} missing from the column names {names}.", line=at + 1)
    header: dict[str, str] = {}
    comments: list[str] = []
    for line in lines[:at]:
        if line.strip() == "ZPLOT2 ASCII":
            continue
        match = _KEY_VALUE.match(line.strip('"'))
        if match:
            header[match[1].strip()] = match[2].strip('" ')
        elif line.strip().strip('"'):
            comments.append(line.strip().strip('"'))
    cut_at = cut_last_line(path, text, lines, at + 1, _SPLIT)
    if cut_at is not None:
        lines = lines[:cut_at]
    rows, n_bad, first_line = _rows(lines, at + 1, len(names))
    data = np.array(rows, dtype=float).reshape(-1, len(names))
    cols = {name: data[:, c] for c, name in enumerate(names)}
    freq, z = cols["Freq(Hz)"], cols["Z'(a)"] + 1j * cols["Z''(b)"]
    keep = finite_points(freq, z)
    if not keep.any():
        raise NoImpedanceData(f"{path}: no data row with freq > 0 Hz after line {first_line}.")
    start = _start(path, "\n".join(lines[:at]))
    time_s = cols.get("Time(Sec)")
    elapsed = float(time_s[keep][0]) if time_s is not None else 0.0
    timestamp = start + timedelta(seconds=elapsed) if start is not None else None
    experiment = header.get("Experiment Type") or header.get("Sweep Frequency") or ""
    bias = cols.get("Bias")
    meta = {
        "source": path,
        "index": 0,
        "format": NAME,
        "technique": "GEIS" if "Control Current" in experiment else "PEIS",
        "dc_potential_V": _float(header.get("Potential-DC")),
        "ocp_V": _float(header.get("Open Circuit Potential (V)")),
        "Ewe_V": float(np.mean(bias[keep])) if bias is not None else None,
        "instrument": "Solartron (ZPlot)",
        "software_version": header.get("Measured Data, ZPlot")
        or header.get("Measured Data, Software")
        or header.get("ZPlotW Data File", "").removeprefix("Version ")
        or None,
        "comments": tuple(comments),
        "header": header,
        "n_dropped": int(n_bad + (~keep).sum()) + (cut_at is not None),
    }
    if cut_at is not None:
        meta["dropped"] = {"cut last line": 1}
        meta["truncated"] = True
    meta.update(sweep_times(time_s, np.flatnonzero(keep)))
    return [Spectrum(freq=freq[keep], z=z[keep], timestamp=timestamp, elapsed_s=elapsed, meta=meta)]


def _rows(lines: list[str], begin: int, width: int) -> tuple[list[list[float]], int, int]:
    """Numeric rows after the column names; ``End Comments`` skipped, bad rows counted."""
    rows: list[list[float]] = []
    n_bad = 0
    first_line = begin + 1
    for line in lines[begin:]:
        cells = [c for c in _SPLIT.split(line.strip()) if c]
        if not cells or line.strip() == "End Comments":
            continue
        try:
            values = [float(c) for c in cells[:width]]
        except ValueError:
            n_bad += 1
            continue
        if len(values) < width:
            values += [np.nan] * (width - len(values))
        rows.append(values)
    return rows, n_bad, first_line


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None
