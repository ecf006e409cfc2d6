"""``.P00`` impedance text files, with the layout inferred from a real file.

No public description of the format was found; the corpus file shows:

* ``Procedure : <title>``;
* ``<start> - <end> i(init)= … - i(end)= …`` with ``DD.MM.YYYY HH:MM:SS`` date-times;
* a description line and ``t = <duration> s``;
* a tab-separated column-name line ``f/Hz  Z'/Ohm  -Z''/Ohm  time/s  Edc/V  Idc/A``;
* the number of points, then one tab-separated row per point.

``-Z''/Ohm`` is turned into the physical sign. The start date-time is the timestamp (day
first); an anonymised date gives a :class:`~eisna.errors.MetadataWarning` and no timestamp.
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
from ._text import decode_text, read_bytes

__all__ = ["DESCRIPTION", "EXTENSIONS", "NAME", "read", "sniff"]

NAME = "p00"
DESCRIPTION = ".P00 impedance text (Procedure header, f/Hz Z'/Ohm -Z''/Ohm table)"
EXTENSIONS = (".p00",)

_RANGE = re.compile(r"^\s*(\S+ \S+)\s+-\s+(\S+ \S+)")


def sniff(head: bytes) -> bool:
    """Return True for a ``.P00`` file (``Procedure :`` first, an ``f/Hz`` column line).

    Parameters
    ----------
    head : bytes
        The first bytes of the file.
    """
    text = head.lstrip()
    return text.startswith(b"Procedure") and b"f/Hz" in text and b"Z'/Ohm" in text


def _start(path: str, line: str) -> datetime | None:
    match = _RANGE.match(line)
    if match is None:
        return None
    try:
        return datetime.strptime(match[1], "%d.%m.%Y %H:%M:%S")
    except ValueError:
        warnings.warn(
            f"{path}, line 2: start {match[1]!r} is not a date and time (anonymised?); "
            "timestamp set to None.",
            MetadataWarning,
            stacklevel=3,
        )
        return None


def read(path: str | os.PathLike[str]) -> list[Spectrum]:
    """Read the spectrum of a ``.P00`` file.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    list of Spectrum
        One spectrum; ``meta`` holds ``title`` (the procedure), ``Ewe_V`` and ``I_A`` (means of
        Edc/V and Idc/A), ``header`` (the lines above the table) and ``n_dropped``.

    Raises
    ------
    ParseError
        No ``f/Hz`` column line, a missing column, a bad count or a non-numeric cell.
    NoImpedanceData
        No point with freq > 0 Hz.
    """
    path = str(path)
    text, _ = decode_text(read_bytes(path))
    lines = text.splitlines()
    at = next((k for k, line in enumerate(lines) if "f/Hz" in line), None)
    if at is None:
        raise ParseError(path, "no column-name line with 'f/Hz' found.", hint="Expected a .P00 file.")
    names = [n.strip() for n in lines[at].split("\t") if n.strip()]
    for needed in ("f/Hz", "Z'/Ohm", "-Z''/Ohm"):
        if needed not in names:
            raise ParseError(path, f"column {needed!r} missing; found {names}.", line=at + 1)
    try:
        count = int(lines[at + 1].strip())
    except (IndexError, ValueError):
        raise ParseError(path, "expected the number of points after the column names.", line=at + 2) from None
    rows = lines[at + 2 : at + 2 + count]
    if len(rows) < count:
        raise ParseError(
            path,
            f"the count announces {count} rows; the file has {len(rows)}.",
            line=at + 2,
            hint="The file is truncated.",
        )
    data = np.full((count, len(names)), np.nan)
    for k, line in enumerate(rows):
        cells = [c for c in line.split("\t") if c.strip()]
        try:
            values = [float(c) for c in cells[: len(names)]]
        except ValueError:
            raise ParseError(path, f"expected numbers, found {line[:60]!r}.", line=at + 3 + k) from None
        data[k, : len(values)] = values
    col = {n: data[:, c] for c, n in enumerate(names)}
    freq, z = col["f/Hz"], col["Z'/Ohm"] - 1j * col["-Z''/Ohm"]
    keep = finite_points(freq, z)
    if not keep.any():
        raise NoImpedanceData(f"{path}: no point with freq > 0 Hz.")
    start = _start(path, lines[1]) if len(lines) > 1 else None
    t = col.get("time/s")
    elapsed = float(t[keep][0]) if t is not None and start is not None else None
    e, i = col.get("Edc/V"), col.get("Idc/A")
    meta = {
        "source": path,
        "index": 0,
        "format": NAME,
        "technique": None,
        "title": lines[0].partition(":")[2].strip() or None,
        "Ewe_V": float(np.nanmean(e[keep])) if e is not None else None,
        "I_A": float(np.nanmean(i[keep])) if i is not None else None,
        "header": tuple(lines[:at]),
        "n_dropped": int((~keep).sum()),
        **sweep_times(t, np.flatnonzero(keep)),
    }
    timestamp = start + timedelta(seconds=elapsed) if start is not None and elapsed is not None else start
    return [Spectrum(freq=freq[keep], z=z[keep], timestamp=timestamp, elapsed_s=elapsed, meta=meta)]
