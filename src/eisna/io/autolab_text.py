"""Metrohm Autolab text exports: NOVA tables and the older Z60W (FRA) data file.

NOVA (``example_EIS_data.txt`` of NREL OSIF) writes one tab-separated table::

    Index  Frequency (Hz)  Z' (Ω)  -Z'' (Ω)  Z (Ω)  -Phase (°)  Time (s)

``-Z''`` holds −Z″. (The ``-Phase`` column of those files holds the phase itself, so Z
is taken from Z′ and −Z″.) NOVA ``.xlsx`` exports with the same header are read by the
generic table reader, which names their format ``autolab`` too.

Z60W (``exampleDataAutolab.txt`` of impedance.py)::

    "Z60W Data File: Version 1.1"
    ""  (six more quoted lines)
    0,2,0,1,0.1,10000              <- sweep settings
    41                             <- number of points
    "  Freq (Hz)    Ampl     Bias   Time(Sec)   Z'(a)    Z''(b)    GD   Err   Range"
    10000,0,0,0,0.0137,0.00719,0,0,0

The column names are one quoted, blank-separated cell while the data are comma-
separated; ``Z''(b)`` holds Z″ with its physical sign. Kept: ``elapsed_s`` (``Time``),
``Ewe_V`` (``Bias``), and the declared number of points in ``meta["header"]``.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ..spectrum import Spectrum
from ._text import decode_text, read_bytes
from .table import read_vendor

__all__ = ["EXTENSIONS", "NAME", "read", "sniff"]

NAME = "autolab"
EXTENSIONS = (".txt",)
_Z60W = re.compile(rb'^(\xef\xbb\xbf)?"Z60W Data File')
_NOVA = re.compile(r"Frequency \(Hz\)\tZ' \(.{1,3}\)\t-Z'' \(.{1,3}\)")


def sniff(head: bytes) -> bool:
    """True for a Z60W data file or a NOVA table header (``Frequency (Hz)``, ``Z' (Ω)``, ``-Z'' (Ω)``)."""
    if _Z60W.match(head):
        return True
    first = decode_text(head[:1024])[0].split("\n", 1)[0]
    return bool(_NOVA.search(first))


def read(path: str | os.PathLike[str], **options: Any) -> list[Spectrum]:
    """Read the impedance spectrum of an Autolab NOVA or Z60W text export.

    Parameters
    ----------
    path : str or PathLike
        The ``.txt`` export.
    **options
        ``columns``, ``imag_sign``, ``delimiter``, ``decimal`` as for :func:`eisna.io.table.read`.
    """
    text, _ = decode_text(read_bytes(path))
    lines = text.splitlines()
    if not (lines and lines[0].lstrip('"').startswith("Z60W")):
        return read_vendor(
            path, fmt=NAME, meta={"instrument": "Autolab", "software": "NOVA"}, text=text, **options
        )
    header_at = next((k for k, ln in enumerate(lines[:100]) if "Freq" in ln and "Z'" in ln), None)
    names = (
        re.split(r"\s{2,}", lines[header_at].strip().strip('"').strip()) if header_at is not None else None
    )
    declared = None
    if header_at is not None and header_at >= 1 and lines[header_at - 1].strip().isdigit():
        declared = int(lines[header_at - 1].strip())
    meta = {
        "instrument": "Autolab",
        "software": "Z60W",
        "version": lines[0].strip().strip('"').partition("Version")[2].strip() or None,
        "points_declared": declared,
    }
    return read_vendor(path, fmt=NAME, meta=meta, text=text, header_line=header_at, names=names, **options)
