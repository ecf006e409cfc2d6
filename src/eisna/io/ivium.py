"""Ivium IviumSoft data files (``.idf``, one measurement) and datasets (``.ids``, several).

Written from the format as observed. Each measurement is a block of ``key=value`` lines
(``Peaks=false``, ``starttime=``, ``serialnumber=``, ``Method=Impedance``,
``Technique=Constant E``, ``E start=0``, ``Data Options.Area=1``, …) with a few binary bytes
between sections, then a ``Data Objects`` section: the name ``primary_data``, the number of
columns (3), the number of rows, and one row per point, ``Z′  Z″  freq`` (Ω, Ω, Hz; Z″ with the
physical sign). Other data objects (``osc_data``, the raw waveforms) are skipped. An ``.ids``
file repeats the block for every measurement; each becomes one spectrum.
"""

from __future__ import annotations

import os
import re
import warnings
from datetime import datetime
from typing import Any

import numpy as np

from ..errors import MetadataWarning, NoImpedanceData, ParseError, TruncatedDataWarning
from ..spectrum import Spectrum
from ._points import finite_points
from ._text import read_bytes

__all__ = ["DESCRIPTION", "EXTENSIONS", "NAME", "read", "sniff"]

NAME = "ivium"
DESCRIPTION = "Ivium IviumSoft .idf/.ids"
EXTENSIONS = (".idf", ".ids")

_KEY_VALUE = re.compile(r"^([A-Za-z][\w .\[\]-]{0,80})=(.*)$")
_DATE_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d-%m-%Y %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S")


def sniff(head: bytes) -> bool:
    """Return True for an IviumSoft data file (``Peaks=`` and ``Corrosion=`` at the start).

    Parameters
    ----------
    head : bytes
        The first bytes of the file.
    """
    start = head[:200]
    return b"Peaks=" in start and b"Corrosion=" in start and b"Solarcell=" in head[:400]


def _blocks(path: str, lines: list[str]) -> list[tuple[dict[str, str], np.ndarray, int]]:
    """(settings, rows × columns, 1-based line of the first row) of every ``primary_data``."""
    found = []
    settings: dict[str, str] = {}
    began, has_data = 1, False  # line where the current measurement began; its primary_data seen
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if line.startswith("Peaks=") and settings.get("Method"):
            settings = {}  # a new measurement of an .ids dataset
            began, has_data = i, False
        match = _KEY_VALUE.match(line)
        if match:
            settings[match[1].strip()] = match[2].strip()
            continue
        if line != "primary_data":
            continue
        try:
            n_cols, n_rows = int(lines[i].strip()), int(lines[i + 1].strip())
        except (IndexError, ValueError):
            raise ParseError(
                path, "expected the column and row counts after 'primary_data'.", line=i + 1
            ) from None
        first = i + 3
        data = np.full((max(n_rows, 0), max(n_cols, 3)), np.nan)
        for r in range(data.shape[0]):
            cells = lines[i + 2 + r].split() if i + 2 + r < len(lines) else []
            try:
                values = [float(c) for c in cells[: data.shape[1]]]
            except ValueError:
                values = []  # counted as dropped by the caller
            data[r, : len(values)] = values
        present = max(0, min(data.shape[0], len(lines) - (i + 2)))
        if present < data.shape[0]:
            _warn_cut(
                path, f"line {first}: 'primary_data' announces {n_rows} rows, the file ends after {present}"
            )
        found.append((dict(settings), data, first))
        has_data = True
        i += 2 + data.shape[0]
    if found and not has_data and settings.get("Method", "").lower() == "impedance":
        _warn_cut(
            path, f"line {began}: the last measurement ends before its 'primary_data' block; it was left out"
        )
    return found


def _warn_cut(path: str, what: str) -> None:
    warnings.warn(
        f"{path}, {what}. The file looks truncated; copy it again if the measurement finished.",
        TruncatedDataWarning,
        stacklevel=4,
    )


def _start(path: str, text: str) -> datetime | None:
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    warnings.warn(
        f"{path}: starttime {text!r} is not a date and time; timestamp set to None.",
        MetadataWarning,
        stacklevel=3,
    )
    return None


def read(path: str | os.PathLike[str]) -> list[Spectrum]:
    """Read every impedance measurement of an Ivium ``.idf`` or ``.ids`` file.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    list of Spectrum
        One per measurement. ``meta`` holds ``technique``, ``title``, ``dc_potential_V``
        (``E start`` of a Constant E measurement, V), ``area_cm2``, ``device`` (serial
        number), ``instrument``, ``software_version`` and ``n_dropped``.

    Raises
    ------
    ParseError
        A ``primary_data`` block without its counts.
    NoImpedanceData
        No impedance measurement in the file.
    """
    path = str(path)
    lines = read_bytes(path).decode("latin-1").splitlines()
    spectra: list[Spectrum] = []
    for settings, data, _first in _blocks(path, lines):
        if settings.get("Method", "").lower() != "impedance":
            continue
        spectra.append(_spectrum(path, settings, data, len(spectra)))
    if not spectra:
        raise NoImpedanceData(f"{path}: the Ivium file holds no impedance measurement.")
    return spectra


def _spectrum(path: str, settings: dict[str, str], data: np.ndarray, index: int) -> Spectrum:
    z = data[:, 0] + 1j * data[:, 1]
    freq = data[:, 2]
    keep = finite_points(freq, z)
    if not keep.any():
        raise NoImpedanceData(f"{path}: measurement {index} has no point with freq > 0 Hz.")
    technique = settings.get("Technique", "")
    serial = settings.get("serialnumber") or None
    meta: dict[str, Any] = {
        "source": path,
        "index": index,
        "format": NAME,
        "technique": "GEIS" if "constant i" in technique.lower() else "PEIS",
        "title": settings.get("Title") or None,
        "dc_potential_V": _float(settings.get("E start")) if "E" in technique.split() else None,
        "area_cm2": _float(settings.get("Data Options.Area")),
        "device": serial,
        "instrument": f"Ivium {serial}" if serial else "Ivium",
        "software_version": settings.get("software") or None,
        "n_dropped": int((~keep).sum()),
        "header": settings,
    }
    start = _start(path, settings.get("starttime", ""))
    return Spectrum(
        freq=freq[keep], z=z[keep], timestamp=start, elapsed_s=0.0 if start is not None else None, meta=meta
    )


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
