"""Zahner Thales binary impedance spectra (``.ism``).

The layout was learned from Zahner's own MIT-licensed importer
(``zahner_analysis.file_import.ism_import``, Copyright 2024 Zahner-Elektrik GmbH & Co. KG,
MIT licence) and checked against the corpus files; no code is copied. All numbers are
big-endian:

* a 6-byte version (``00 00 FF FF FF FE`` or ``… FF``), a 6-byte point count minus one (n − 1);
* n float64 frequencies (Hz), n float64 |Z| (Ω), n float64 phases (rad), n float64 point
  times (seconds since 1980-01-01, local time; 0 in simulated files), n int16 significances;
* length-prefixed (int16) ASCII strings with swapped letter case: date (``DDMMYY``), system,
  DC voltage (``"0.0255V, Ampl: 10mV"``), DC current (``"3.2976uA"``), temperature
  (``"23.8+-0.1C"``), time window, four comment lines, electrode area, a serial string;
* further acquisition data, not read here.

A Thales sweep starts in the middle of the range, goes up to the highest frequency, then down
through the same frequencies to the lowest: the first, upward leg repeats frequencies of the
main sweep. By default the main sweep (from the highest to the lowest frequency, in
acquisition order) is returned, as Zahner's software does, and the upward leg is counted in
``meta["n_overlap"]`` and ``meta["n_dropped"]``; ``keep_overlap=True`` returns every point.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from ..errors import NoImpedanceData, ParseError
from ..spectrum import Spectrum
from ._sweep import sweep_times
from ._text import read_bytes

__all__ = ["DESCRIPTION", "EXTENSIONS", "NAME", "read", "sniff"]

NAME = "zahner-ism"
DESCRIPTION = "Zahner Thales .ism"
EXTENSIONS = (".ism",)

_VERSIONS = (b"\x00\x00\xff\xff\xff\xfe", b"\x00\x00\xff\xff\xff\xff")
_EPOCH = datetime(1980, 1, 1)
_STRINGS = (
    "date",
    "system",
    "voltage",
    "current",
    "temperature",
    "time_window",
    "comment_1",
    "comment_2",
    "comment_3",
    "comment_4",
    "electrode_area",
)
_PREFIX = {
    "": 1.0,
    "m": 1e-3,
    "u": 1e-6,
    "µ": 1e-6,
    "n": 1e-9,
    "p": 1e-12,
    "f": 1e-15,
    "a": 1e-18,
    "k": 1e3,
    "M": 1e6,
}
_QUANTITY = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*([munpfakMµ]?)(V|A)\b")
_TEMPERATURE = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?)\s*(?:\+-\s*\d+(?:\.\d*)?)?\s*C\s*$")


def sniff(head: bytes) -> bool:
    """Return True for a Zahner ``.ism`` file (version bytes, a sane count, a valid frequency).

    Parameters
    ----------
    head : bytes
        The first bytes of the file.
    """
    if len(head) < 20 or head[:6] not in _VERSIONS:
        return False
    count = int.from_bytes(head[6:12], "big", signed=True) + 1
    first = float(np.frombuffer(head[12:20], ">f8")[0])
    return 0 < count < 10_000_000 and np.isfinite(first) and 0 < first < 1e9


class _Cursor:
    """Read big-endian values from bytes, with the byte offset in every error."""

    def __init__(self, path: str, data: bytes) -> None:
        self.path, self.data, self.pos = path, data, 0

    def take(self, size: int, what: str) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise ParseError(
                self.path,
                f"the file ends inside {what}; expected {size} more bytes, "
                f"found {len(self.data) - self.pos}.",
                offset=self.pos,
                hint="The file is truncated; copy it again from the instrument PC.",
            )
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        size = np.dtype(dtype).itemsize
        return np.frombuffer(self.take(size * count, what), dtype).astype(float)

    def string(self, what: str) -> str:
        length = int.from_bytes(self.take(2, f"the length of {what}"), "big", signed=True)
        return self.take(max(length, 0), what).decode("latin-1").swapcase()


def _si(text: str, unit: str) -> float | None:
    match = _QUANTITY.match(text)
    if match is None or match[3] != unit:
        return None
    return float(match[1]) * _PREFIX[match[2]]


def _temperature_K(text: str) -> float | None:
    match = _TEMPERATURE.match(text)
    if match is None:
        return None
    kelvin = float(match[1]) + 273.15
    return kelvin if kelvin > 0.5 else None  # -273.15 °C marks a simulated file


def _area(text: str) -> float | None:
    match = re.match(r"^\s*(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)", text)
    return float(match[1]) if match and float(match[1]) > 0 else None


def _main_sweep(freq: np.ndarray) -> np.ndarray:
    """Indices from the highest to the lowest frequency (or back), in acquisition order."""
    lo, hi = int(np.argmin(freq)), int(np.argmax(freq))
    first, last = min(lo, hi), max(lo, hi)
    return np.arange(first, last + 1)


def read(path: str | os.PathLike[str], *, keep_overlap: bool = False) -> list[Spectrum]:
    """Read the spectrum of a Zahner ``.ism`` file.

    Parameters
    ----------
    path : str or PathLike
        The file.
    keep_overlap : bool, default False
        Return the initial upward leg too (its frequencies are measured again later).

    Returns
    -------
    list of Spectrum
        One spectrum. ``meta`` holds ``dc_potential_V`` and ``Ewe_V`` (the DC voltage at the
        start, V), ``I_A`` (DC current at the start, A), ``amplitude`` (text), ``temperature_K``
        (from the temperature sensor, K), ``area_cm2``, ``system``, ``comments``,
        ``instrument``, ``n_overlap``, ``n_dropped`` and ``header`` (the strings).

    Raises
    ------
    ParseError
        Wrong version bytes or a truncated file (with the byte offset).
    NoImpedanceData
        No point with freq > 0 Hz.
    """
    path = str(path)
    cur = _Cursor(path, read_bytes(path))
    version = cur.take(6, "the version")
    if version not in _VERSIONS:
        raise ParseError(path, f"expected Zahner .ism version bytes, found {version.hex()}.", offset=0)
    count = int.from_bytes(cur.take(6, "the point count"), "big", signed=True) + 1
    if count <= 0:
        raise ParseError(path, f"point count {count} is not positive.", offset=6)
    freq = cur.array(">f8", count, "the frequencies")
    modulus = cur.array(">f8", count, "|Z|")
    phase = cur.array(">f8", count, "the phases")
    seconds = cur.array(">f8", count, "the point times")
    cur.array(">i2", count, "the significances")
    header: dict[str, Any] = {}
    for name in _STRINGS:
        header[name] = cur.string(f"the {name.replace('_', ' ')} string")
    z = modulus * np.exp(1j * phase)
    rows = np.arange(count) if keep_overlap else _main_sweep(freq)
    n_overlap = count - rows.size
    good = np.isfinite(freq[rows]) & (freq[rows] > 0) & np.isfinite(z[rows])
    rows = rows[good]
    if rows.size == 0:
        raise NoImpedanceData(f"{path}: no point with freq > 0 Hz.")
    return [_spectrum(path, freq, z, seconds, rows, header, n_overlap, int((~good).sum()))]


def _spectrum(
    path: str,
    freq: np.ndarray,
    z: np.ndarray,
    seconds: np.ndarray,
    rows: np.ndarray,
    header: dict[str, Any],
    n_overlap: int,
    n_bad: int,
) -> Spectrum:
    voltage, current = header["voltage"], header["current"]
    timestamp = elapsed = None
    if np.all(np.isfinite(seconds) & (seconds > 0)):  # simulated files hold zeros
        start = float(seconds.min())
        elapsed = float(seconds[rows[0]]) - start
        timestamp = _EPOCH + timedelta(seconds=float(seconds[rows[0]]))
    meta = {
        "source": path,
        "index": 0,
        "format": NAME,
        "technique": "GEIS" if "Ampl:" in current and "Ampl:" not in voltage else "PEIS",
        "dc_potential_V": _si(voltage, "V"),
        "Ewe_V": _si(voltage, "V"),
        "I_A": _si(current, "A"),
        "amplitude": next(
            (t.partition("Ampl:")[2].strip() for t in (voltage, current) if "Ampl:" in t), None
        ),
        "temperature_K": _temperature_K(header["temperature"]),
        "area_cm2": _area(header["electrode_area"]),
        "system": header["system"] or None,
        "comments": tuple(c for c in (header[f"comment_{i}"] for i in range(1, 5)) if c),
        "instrument": "Zahner Thales",
        "n_overlap": n_overlap,
        "n_dropped": n_overlap + n_bad,
        "header": header,
    }
    if elapsed is not None:  # simulated files hold no point times (zeros)
        meta.update(sweep_times(seconds, rows))
    return Spectrum(freq=freq[rows], z=z[rows], timestamp=timestamp, elapsed_s=elapsed, meta=meta)
