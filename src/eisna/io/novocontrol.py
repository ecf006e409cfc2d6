"""Novocontrol (WinDETA / WinFIT) ASCII exports of impedance spectra.

Columns are written as ``Freq.[Hz]``, ``Zs'[ohm]``, ``Zs''[ohm]`` (``Zs''`` with its
physical sign: negative for capacitive arcs), often with a temperature column
(``Temp.[K]`` or ``Temp.[°C]``) when one file holds a temperature series; the sweeps
are then cut where the frequency restarts.

Temperature (``meta["temperature_K"]``), first match wins:

1. a temperature column: its mean over each spectrum;
2. a header line above the table, ``Temperature: 300 K`` or ``Temp.[°C] = 25``;
3. the file name: ``LLZO_300K.txt``, ``pellet-25C.txt``, ``T=80°C.dat``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..spectrum import Spectrum
from ._text import decode_text, read_bytes
from .table import read_vendor

__all__ = ["EXTENSIONS", "NAME", "read", "sniff", "temperature_from_text"]

NAME = "novocontrol"
EXTENSIONS = (".txt", ".dat")
_SNIFF = re.compile(r"(Freq\.\s*\[Hz\]|Zs'\s*\[|Novocontrol|WinDETA)", re.IGNORECASE)
_TEMP_LINE = re.compile(
    r"^\s*(?:temperature|temp\.?|t)\s*(?:\[(?P<unit1>K|°C|C)\])?\s*[:=\t]\s*(?P<value>[-+]?\d+(?:[.,]\d+)?)\s*"
    r"(?P<unit2>K|°C|C)?\b",
    re.IGNORECASE,
)
# in a file name "-" separates words ("pellet-80C" is 80 °C) unless it follows "_", "=" or a
# blank, or starts the name ("pellet_-20C" is -20 °C); "deg"/"degrees" mean °C ("s04-140deg")
_TEMP_NAME = re.compile(
    r"(?P<sign>(?:(?<=[_=\s(])|^)-)?(?<![\d.])(?P<value>\d+(?:[.,]\d+)?)\s*"
    r"(?P<unit>K|°C|degC|degrees|deg|C)(?![a-zA-Z])"
)


def sniff(head: bytes) -> bool:
    """True when the first lines name Novocontrol's columns (``Freq.[Hz]``, ``Zs'[ohm]``) or software."""
    return bool(_SNIFF.search(head[:2048].decode("latin-1")))


def temperature_from_text(text: str, *, file_name: bool = False) -> float | None:
    """Temperature in K from a header line (or, with ``file_name``, a file name); None if absent."""
    if file_name:
        match = _TEMP_NAME.search(text)
        if match is None:
            return None
        value, unit = float(match.group("value").replace(",", ".")), match.group("unit")
        if match.group("sign"):
            value = -value
    else:
        match = _TEMP_LINE.match(text)
        if match is None:
            return None
        value = float(match.group("value").replace(",", "."))
        unit = match.group("unit1") or match.group("unit2") or ""
    celsius = unit.upper() != "K" and (unit != "" or value < 150.0)
    return round(value + 273.15, 3) if celsius else value


def read(path: str | os.PathLike[str], **options: Any) -> list[Spectrum]:
    """Read every impedance spectrum of a Novocontrol ASCII export.

    Parameters
    ----------
    path : str or PathLike
        The export.
    **options
        ``columns``, ``imag_sign``, ``delimiter``, ``decimal`` as for :func:`eisna.io.table.read`.
    """
    text, _ = decode_text(read_bytes(path))
    temperature = None
    for line in text.splitlines()[:50]:
        if re.search(r"freq", line, re.IGNORECASE) and re.search(r"z", line, re.IGNORECASE):
            break
        temperature = temperature or temperature_from_text(line)
    source = "header" if temperature is not None else None
    if temperature is None:
        temperature = temperature_from_text(Path(path).stem, file_name=True)
        source = "file name" if temperature is not None else None
    meta: dict[str, Any] = {"instrument": "Novocontrol"}
    if temperature is not None:
        meta["temperature_K"] = temperature
        meta["temperature_from"] = source
    return read_vendor(path, fmt=NAME, meta=meta, text=text, **options)
