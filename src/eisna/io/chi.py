"""CH Instruments text exports of A.C. Impedance runs (CHI600/700 series, e.g. CHI660E).

Layout (``exampleDataCHInstruments.txt`` of impedance.py)::

    Feb. 20, 2020   15:55:08          <- date and time of the run
    A.C. Impedance                    <- technique
    File: ...
    Instrument Model:  CHI660E
    ...
    Init E (V) = 0                    <- DC potential
    High Frequency (Hz) = 2e+6
    Low Frequency (Hz) = 0.1
    Amplitude (V) = 0.025
    ...
    Freq/Hz, Z'/ohm, Z"/ohm, Z/ohm, Phase/deg
    <blank>
    9.961e+4, 9.891e+1, -2.748e+0, 9.894e+1, -1.6

``Z"`` is Z″ with its physical sign (negative for capacitive arcs). Kept: the run's date
as the spectrum timestamp, ``Ewe_V`` (Init E), ``amplitude_V``, the instrument model
(``device``) and every ``key = value`` line in ``meta["header"]["settings"]``.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Any

from ..spectrum import Spectrum
from ._text import decode_text, read_bytes
from .table import read_vendor

__all__ = ["EXTENSIONS", "NAME", "read", "sniff"]

NAME = "chi"
EXTENSIONS = (".txt",)
_DATE = re.compile(r"^\s*([A-Za-z]{3,5})\.?\s+(\d{1,2}),\s*(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})")
_MONTHS = {
    m: k + 1
    for k, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}


def sniff(head: bytes) -> bool:
    """True for a CH Instruments export: ``Instrument Model:  CHI…`` or ``A.C. Impedance`` in the header."""
    text = head[:2048].decode("latin-1")
    return bool(re.search(r"Instrument Model:\s*CHI", text)) or (
        "A.C. Impedance" in text and "Freq/Hz" in text
    )


def _date(line: str) -> datetime | None:
    match = _DATE.match(line)
    if match is None:
        return None
    month = _MONTHS.get(match.group(1)[:3].lower())
    if month is None:
        return None
    day, year, hour, minute, second = (int(g) for g in match.groups()[1:])
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _number(value: str) -> float | None:
    try:
        return float(value.strip())
    except ValueError:
        return None


def read(path: str | os.PathLike[str], **options: Any) -> list[Spectrum]:
    """Read the impedance spectrum of a CH Instruments text export.

    Parameters
    ----------
    path : str or PathLike
        The ``.txt`` export.
    **options
        ``columns``, ``imag_sign``, ``delimiter``, ``decimal`` as for :func:`eisna.io.table.read`.

    Returns
    -------
    list of Spectrum
        freq in Hz, z in Ω (Z″ < 0 capacitive); ``timestamp`` is the run's date.
    """
    text, _ = decode_text(read_bytes(path))
    lines = text.splitlines()
    settings: dict[str, str] = {}
    header_at = None
    for k, line in enumerate(lines[:200]):
        if line.lstrip().lower().startswith("freq/hz"):
            header_at = k
            break
        key, sep, value = line.partition("=")
        if sep:
            settings[key.strip()] = value.strip()
        else:
            key, sep, value = line.partition(":")
            if sep and key.strip() and not _DATE.match(line):
                settings[key.strip()] = value.strip()
    meta: dict[str, Any] = {
        "instrument": "CH Instruments",
        "device": settings.get("Instrument Model") or None,
        "technique": "PEIS" if any("A.C. Impedance" in ln for ln in lines[:5]) else None,
        "Ewe_V": _number(settings.get("Init E (V)", "")),
        "amplitude_V": _number(settings.get("Amplitude (V)", "")),
        "settings": settings,
    }
    start = _date(lines[0]) if lines else None
    return read_vendor(
        path, fmt=NAME, meta=meta, text=text, header_line=header_at, timestamp=start, **options
    )
