"""Shared helpers for instrument text exports: encoding, decimal separator, header lines, dates.

EC-Lab and similar Windows software write cp1252 text (µ = 0xB5, ² = 0xB2) in the
locale of the acquisition PC, so numbers may carry a decimal comma both in the data
rows and in the header. Nothing in the file declares either; these helpers detect
them from the content.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np

from ..errors import ParseError

__all__ = [
    "count_dropped",
    "decode_text",
    "parse_ec_lab_datetime",
    "parse_header_number",
    "parse_key_value",
    "read_bytes",
    "sniff_decimal",
    "sniff_delimiter",
    "split_spectra",
    "split_sweeps",
]

# a digit, the separator, a digit: "1,5" or "9.58E+001"
_COMMA_NUMBER = re.compile(r"\d,\d")
_POINT_NUMBER = re.compile(r"\d\.\d")
_NUMBER_WITH_UNIT = re.compile(r"^\s*([-+]?\d+(?:[.,]\d*)?(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
_DATE = re.compile(
    r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d{1,6}))?\s*$"
)


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode instrument text and report the encoding used.

    Parameters
    ----------
    data : bytes
        Raw file content.

    Returns
    -------
    text : str
        Decoded text (a UTF-8 BOM is removed).
    encoding : str
        ``"utf-16"`` after a UTF-16 byte-order mark, ``"utf-8"`` when the bytes are
        valid UTF-8 (plain ASCII included), else
        ``"cp1252"``, or ``"latin-1"`` when bytes undefined in cp1252 occur.

    Notes
    -----
    Never raises: latin-1 maps every byte, so random bytes decode to something
    that the caller then rejects with a precise message.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # "Unicode text" saved by Excel or Notepad
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def sniff_decimal(lines: Iterable[str], *, sep: str = "\t") -> str:
    """Return the decimal separator (``"."`` or ``","``) used by numeric text rows.

    Parameters
    ----------
    lines : iterable of str
        A sample of data rows (a few dozen are plenty).
    sep : str
        Field separator. When it is ``","`` itself, the decimal separator must be ``"."``.

    Returns
    -------
    str
        ``","`` when more fields contain a digit-comma-digit than a digit-point-digit, else ``"."``.
    """
    if sep == ",":
        return "."
    commas = points = 0
    for line in lines:
        for field in line.split(sep):
            if _COMMA_NUMBER.search(field):
                commas += 1
            elif _POINT_NUMBER.search(field):
                points += 1
    return "," if commas > points else "."


def sniff_delimiter(lines: list[str]) -> str:
    """Return the field separator of a delimited text table: tab, ``";"`` or ``","``.

    The separator that splits the sample lines into the same number (> 1) of fields
    most consistently wins; tab beats semicolon beats comma on ties because a comma
    can also be a decimal separator.
    """
    best, best_score = ",", -1.0
    sample = [ln for ln in lines if ln.strip()][:50]
    for sep in ("\t", ";", ","):
        counts = [ln.count(sep) for ln in sample]
        if not counts or max(counts) == 0:
            continue
        mode = max(set(counts), key=counts.count)
        if mode == 0:
            continue
        score = counts.count(mode) / len(counts)
        if score > best_score:
            best, best_score = sep, score
    return best


def parse_key_value(line: str) -> tuple[str, str] | None:
    """Split an EC-Lab header line ``"key : value"`` into ``(key, value)``, or return None.

    ``"Saved on :"`` (nothing after the colon) gives ``("Saved on", "")``. Keys are
    stripped; values keep their inner spaces but not the outer ones.
    """
    text = line.strip()
    if text.endswith(" :"):
        return text[:-2].strip(), ""
    key, sep, value = text.partition(" : ")
    if not sep or not key.strip():
        return None
    return key.strip(), value.strip()


def parse_header_number(value: str, decimal: str = ".") -> tuple[float, str] | None:
    """Parse ``"0,001 cm²"`` or ``"113.100 mm²"`` into ``(number, unit)``; None if not a number."""
    match = _NUMBER_WITH_UNIT.match(value)
    if match is None:
        return None
    number = match.group(1)
    if decimal == "," or ("," in number and "." not in number):
        number = number.replace(",", ".")
    try:
        return float(number), match.group(2)
    except ValueError:
        return None


def parse_ec_lab_datetime(value: str) -> datetime | None:
    """Parse an EC-Lab date, month first: ``MM/DD/YYYY HH:MM:SS[.fff]``.

    ``.`` and ``-`` are accepted as date separators too. Returns None for anything
    else, including anonymised dates such as ``xx/xx/xxxx xx:xx:xx``.
    """
    match = _DATE.match(value)
    if match is None:
        return None
    month, day, year, hour, minute, second, frac = match.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro)
    except ValueError:
        return None


def split_sweeps(freq: np.ndarray, rows: np.ndarray) -> list[np.ndarray]:
    """Cut ``rows`` (indices into ``freq``) where the frequency jumps back to restart a sweep.

    Parameters
    ----------
    freq : ndarray of float
        Frequencies in Hz (> 0 at ``rows``).
    rows : ndarray of int
        Row indices of one candidate sweep, in acquisition order.

    Returns
    -------
    list of ndarray
        ``rows`` cut before every step against the sweep direction (the sign of the
        median step) that is larger than half the log-frequency span.
    """
    if rows.size < 3:
        return [rows]
    log_f = np.log10(freq[rows])
    steps = np.diff(log_f)
    direction = np.sign(np.median(steps))
    span = float(log_f.max() - log_f.min())
    if direction == 0 or span == 0:
        return [rows]
    cuts = np.flatnonzero((steps * direction < 0) & (np.abs(steps) > 0.5 * span)) + 1
    return np.split(rows, cuts) if cuts.size else [rows]


def split_spectra(
    freq: np.ndarray,
    is_point: np.ndarray,
    keys: Sequence[np.ndarray | None],
    *,
    by_step: bool = False,
) -> list[np.ndarray]:
    """Row indices of each impedance spectrum of an EC-Lab table, in acquisition order.

    Parameters
    ----------
    freq : ndarray of float
        ``freq/Hz`` of every row.
    is_point : ndarray of bool
        True for impedance rows (finite freq > 0 Hz); at least one must be True.
    keys : sequence of ndarray or None
        Row counters whose change starts a new spectrum (``cycle number``, ``Ns``);
        None entries are ignored.
    by_step : bool
        Modulo Bat runs: a non-impedance row between two impedance rows also ends a
        spectrum. (``z cycle`` is not used to cut: it can reset in the middle of a sweep.)

    Returns
    -------
    list of ndarray
        Each group is further cut where the frequency restarts a sweep (:func:`split_sweeps`).
    """
    rows = np.flatnonzero(is_point)
    starts = np.zeros(rows.size, dtype=bool)
    starts[0] = True
    for key in keys:
        if key is not None:
            k = key[rows]
            starts[1:] |= k[1:] != k[:-1]
    if by_step:
        starts[1:] |= np.diff(rows) > 1
    groups: list[np.ndarray] = []
    for group in np.split(rows, np.flatnonzero(starts)[1:]):
        groups.extend(split_sweeps(freq, group))
    return groups


def count_dropped(
    groups: Sequence[np.ndarray], is_point: np.ndarray, sequence: np.ndarray | None = None
) -> list[int]:
    """Rows with freq ≤ 0 Hz attributed to each spectrum of :func:`split_spectra`.

    A spectrum owns the rows from the end of the previous spectrum to its own last row;
    the rows after the last spectrum count with it. With ``sequence`` (Modulo Bat ``Ns``)
    only rows of the spectrum's own sequence count: the others are DC cycling rows.
    """
    counts = []
    for index, rows in enumerate(groups):
        lo = int(groups[index - 1][-1]) + 1 if index else 0
        hi = int(rows[-1]) + 1 if index < len(groups) - 1 else is_point.size
        dropped = ~is_point[lo:hi]
        if sequence is not None:
            dropped &= sequence[lo:hi] == sequence[int(rows[0])]
        counts.append(int(dropped.sum()))
    return counts


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The content of ``path``; a missing or unreadable file raises :class:`ParseError`."""
    where = str(path)
    from ._limits import read_text_bytes  # bounded: regular files within the limit, no NUL runs

    try:
        return read_text_bytes(path)
    except FileNotFoundError as err:
        raise ParseError(where, "file not found.", hint="Check the path.") from err
    except IsADirectoryError as err:
        raise ParseError(where, "is a folder, not a file.") from err
    except OSError as err:
        raise ParseError(where, f"cannot be read ({err.strerror or err}).") from err
