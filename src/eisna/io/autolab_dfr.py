"""Autolab FRA data files (``.dfr``), with the layout inferred from the bytes of a real file.

No public description of the format was found; the layout below is what the corpus file
shows, one value per line:

* ``VERSION8.0``;
* the number of points n, then one value (1 in the file seen; kept as ``meta["header"]``);
* n records of 9 values: frequency (Hz), Z′ (Ω), −Z″ (Ω, positive for capacitive arcs), then
  six values that are zero in the file seen (kept nowhere);
* a trailer: three values, two ``DD.MM.YYYY HH:MM:SS`` date-times and five values.

The two trailer dates are kept as ``meta["file_dates"]`` but are not used as the timestamp,
since the file does not say which is the acquisition time.
"""

from __future__ import annotations

import os
import re

import numpy as np

from ..errors import NoImpedanceData, ParseError
from ..spectrum import Spectrum
from ._points import finite_points
from ._text import decode_text, read_bytes

__all__ = ["DESCRIPTION", "EXTENSIONS", "NAME", "read", "sniff"]

NAME = "autolab-dfr"
DESCRIPTION = "Autolab FRA .dfr"
EXTENSIONS = (".dfr",)

_RECORD = 9
_DATE = re.compile(r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}$")


def sniff(head: bytes) -> bool:
    """Return True for an Autolab FRA ``.dfr`` file (``VERSION`` then a point count).

    Parameters
    ----------
    head : bytes
        The first bytes of the file.
    """
    lines = head.lstrip().splitlines()
    return (
        len(lines) > 2
        and re.fullmatch(rb"VERSION\d+(\.\d+)?", lines[0].strip()) is not None
        and lines[1].strip().isdigit()
    )


def read(path: str | os.PathLike[str]) -> list[Spectrum]:
    """Read the spectrum of an Autolab FRA ``.dfr`` file.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    list of Spectrum
        One spectrum; ``meta`` holds ``version``, ``file_dates``, ``instrument`` and
        ``n_dropped``. The file holds no timestamp the reader can trust (``timestamp`` None).

    Raises
    ------
    ParseError
        A missing ``VERSION`` line, a bad count, a non-numeric value or a truncated file.
    NoImpedanceData
        No point with freq > 0 Hz.
    """
    path = str(path)
    text, _ = decode_text(read_bytes(path))
    lines = [line.strip() for line in text.splitlines()]
    if not lines or not lines[0].startswith("VERSION"):
        raise ParseError(
            path,
            f"expected 'VERSION…' on line 1, found {lines[0][:40] if lines else ''!r}.",
            line=1,
            hint="Expected an Autolab FRA .dfr file.",
        )
    try:
        count = int(lines[1])
    except (IndexError, ValueError):
        raise ParseError(path, "expected the number of points on line 2.", line=2) from None
    end = 3 + _RECORD * count
    if count <= 0 or end > len(lines):
        raise ParseError(
            path,
            f"{count} points need {end} lines; the file has {len(lines)}.",
            line=len(lines),
            hint="The file is truncated or not an FRA .dfr file.",
        )
    values = np.empty(_RECORD * count)
    for k, cell in enumerate(lines[3:end]):
        try:
            values[k] = float(cell)
        except ValueError:
            raise ParseError(path, f"expected a number, found {cell!r}.", line=4 + k) from None
    records = values.reshape(count, _RECORD)
    freq, z = records[:, 0], records[:, 1] - 1j * records[:, 2]
    keep = finite_points(freq, z)
    if not keep.any():
        raise NoImpedanceData(f"{path}: no point with freq > 0 Hz.")
    meta = {
        "source": path,
        "index": 0,
        "format": NAME,
        "technique": None,
        "version": lines[0].removeprefix("VERSION"),
        "file_dates": tuple(line for line in lines[end:] if _DATE.match(line)),
        "instrument": "Metrohm Autolab (FRA)",
        "n_dropped": int((~keep).sum()),
        "header": {"line 3": lines[2], "trailer": tuple(lines[end:])},
    }
    return [Spectrum(freq=freq[keep], z=z[keep], meta=meta)]
