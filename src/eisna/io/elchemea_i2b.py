"""Elchemea Analytical ``.i2b`` impedance files, with the layout inferred from a real file.

No public description of the format was found; the corpus file shows free-text metadata
lines, a blank line, the number of points n, then n lines ``freq Z′ Z″`` separated by
spaces (Hz, Ω, Ω; Z″ with the physical sign, negative for capacitive arcs). The metadata
lines are kept as ``meta["comments"]``; the format holds no timestamp.
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

NAME = "elchemea-i2b"
DESCRIPTION = "Elchemea Analytical .i2b"
EXTENSIONS = (".i2b",)

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_COUNT_THEN_ROW = re.compile(
    rf"(?:\A|\n[ \t]*\r?\n)[ \t]*(\d+)[ \t]*\r?\n[ \t]*{_NUM}[ \t]+{_NUM}[ \t]+{_NUM}[ \t]*\r?\n"
)


def sniff(head: bytes) -> bool:
    """Return True when a blank line (or the file start) is followed by a count and a row of 3 numbers.

    Parameters
    ----------
    head : bytes
        The first bytes of the file.
    """
    text = head.decode("latin-1")
    return _COUNT_THEN_ROW.search(text[:2048]) is not None and not text.lstrip().startswith(("{", "<"))


def read(path: str | os.PathLike[str]) -> list[Spectrum]:
    """Read the spectrum of an Elchemea ``.i2b`` file.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    list of Spectrum
        One spectrum; ``meta`` holds ``comments`` (the metadata lines) and ``n_dropped``.

    Raises
    ------
    ParseError
        No point count, fewer rows than announced, or a row that is not three numbers.
    NoImpedanceData
        No point with freq > 0 Hz.
    """
    path = str(path)
    text, _ = decode_text(read_bytes(path))
    match = _COUNT_THEN_ROW.search(text)
    if match is None:
        raise ParseError(
            path,
            "expected a blank line, the number of points and rows of 'freq Z' Z''' numbers.",
            hint="Expected an Elchemea .i2b file.",
        )
    count = int(match[1])
    head_lines = text[: match.start(1)].splitlines()
    first_line = len(head_lines) + 1  # 1-based line of the count
    lines = text.splitlines()[first_line : first_line + count]
    if len(lines) < count:
        raise ParseError(
            path,
            f"the count announces {count} rows; the file has {len(lines)}.",
            line=first_line,
            hint="The file is truncated.",
        )
    data = np.empty((count, 3))
    for k, line in enumerate(lines):
        cells = line.split()
        try:
            data[k] = [float(c) for c in cells[:3]] if len(cells) >= 3 else [np.nan] * 3
        except ValueError:
            raise ParseError(
                path, f"expected 'freq Z' Z''', found {line[:60]!r}.", line=first_line + 1 + k
            ) from None
    freq, z = data[:, 0], data[:, 1] + 1j * data[:, 2]
    keep = finite_points(freq, z)
    if not keep.any():
        raise NoImpedanceData(f"{path}: no point with freq > 0 Hz.")
    meta = {
        "source": path,
        "index": 0,
        "format": NAME,
        "technique": None,
        "comments": tuple(line.strip() for line in head_lines if line.strip()),
        "instrument": "Elchemea Analytical",
        "n_dropped": int((~keep).sum()),
    }
    return [Spectrum(freq=freq[keep], z=z[keep], meta=meta)]
