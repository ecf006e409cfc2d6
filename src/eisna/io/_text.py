"""Shared helpers for instrument text exports: encoding, decimal separator, header lines, dates.

EC-Lab and similar Windows software write cp1252 text (µ = 0xB5, ² = 0xB2) in the
locale of the acquisition PC, so numbers may carry a decimal comma both in the data
rows and in the header. Nothing in the file declares either; these helpers detect
them from the content.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np

from ..errors import ParseError, TruncatedDataWarning

__all__ = [
    "count_dropped",
    "cut_last_line",
    "decode_text",
    "looks_cut",
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
# a number cut inside its exponent ("1.25E", "-3E+") or before its first digit ("-")
_CUT_NUMBER = re.compile(r"[-+]?(?:\d+[.,]?\d*|[.,]\d+)[eE][-+]?|[-+]")
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


def looks_cut(
    last: str, previous: Sequence[str], sep: str | re.Pattern[str] = "\t", *, fixed_width: bool = False
) -> bool:
    """True when ``last``, the final line of a file that has no line end, was cut short.

    Parameters
    ----------
    last : str
        The last line (without a line end: a file copied while it was being written).
    previous : sequence of str
        The data lines just before it (the last 20 are looked at).
    sep : str or re.Pattern
        Field separator; ``r"\\s+"`` splits on runs of blanks, a compiled pattern on its matches.
    fixed_width : bool
        Judge the width of the last field only when the column has one width in the lines
        before (``1.0000000E+003`` style), or one count of significant digits
        (``-470.54113``, ``-1397.7358``). Tables of shortest-repr floats (``1.0`` after
        ``1.3894954943731388``) need it: there a short last value is not a sign of a cut.

    Returns
    -------
    bool
        True when ``last`` has fewer fields than the line before it, when its last field
        is a number cut in its exponent (``1.2E``, ``-3E+``) or a bare sign, or when its
        last non-empty field is shorter than that column in every one of the lines before
        (``-93853.6`` cut to ``-9`` must not be read as -9). Complete files that end
        without a line end (EC-Lab writes them so) keep their last line.
    """

    def fields(line: str) -> list[str]:
        line = line.rstrip("\r")
        if isinstance(sep, re.Pattern):
            return [f.strip() for f in sep.split(line.strip())]
        return re.split(r"\s+", line.strip()) if sep == r"\s+" else [f.strip() for f in line.split(sep)]

    before = [fields(ln) for ln in previous[-20:] if ln.strip()]
    if not before or not last.strip():
        return False
    cells = fields(last)
    while len(cells) > 1 and not cells[-1]:
        cells.pop()  # a trailing separator
    width = len(before[-1])
    while width > 1 and not before[-1][width - 1]:
        width -= 1
    if len(cells) < width:
        return True
    j = max((k for k, f in enumerate(cells) if f), default=0)
    if _CUT_NUMBER.fullmatch(cells[j]):
        return True
    column = [p[j] for p in before if len(p) > j and p[j]]
    if not column or (fixed_width and len(column) < 5):  # too few lines to call a width fixed
        return False
    # widths without a sign: a positive value after negatives of the same format
    # ("9.5E-001" after "-1.2E+000") is one character shorter and is not cut
    widths = [len(cell.lstrip("+-")) for cell in column]
    if not fixed_width or min(widths) == max(widths):
        return len(cells[j].lstrip("+-")) < min(widths)
    # numbers written with a fixed count of significant digits ("-470.54113", "-1397.7358")
    digits = {_significant_digits(cell) for cell in column}
    return len(digits) == 1 and 0 < _significant_digits(cells[j]) < digits.pop()


def _significant_digits(cell: str) -> int:
    """Digits of the mantissa without leading zeros (``-0.0012340E+03`` → 6); 0 if not a number."""
    mantissa = re.split(r"[eE]", cell, maxsplit=1)[0].lstrip("+-")
    if not mantissa or not mantissa.replace(".", "").replace(",", "").isdigit():
        return 0
    return len(mantissa.replace(".", "").replace(",", "").lstrip("0"))


def cut_last_line(
    where: str,
    text: str,
    lines: Sequence[str],
    first_data: int,
    sep: str | re.Pattern[str],
    *,
    fixed_width: bool = True,
) -> int | None:
    """Find a last data line cut short and warn; return its 0-based index in ``lines`` or None.

    Parameters
    ----------
    where : str
        The file, for the warning.
    text : str
        The decoded content (to see whether it ends with a line end).
    lines : sequence of str
        ``text`` split into lines.
    first_data : int
        0-based index of the first data line; a cut in that line is not judged here.
    sep, fixed_width
        As for :func:`looks_cut`.

    Warns
    -----
    TruncatedDataWarning
        Naming the file and the line; the caller leaves the line out and counts it in
        ``meta["dropped"]["cut last line"]``.
    """
    if text.endswith(("\n", "\r")) or not lines:
        return None
    last = len(lines) - 1
    if last <= first_data or not lines[last].strip():
        return None
    previous = [ln for ln in lines[max(first_data, last - 40) : last] if ln.strip()]
    if not previous or not looks_cut(lines[last], previous, sep, fixed_width=fixed_width):
        return None
    warnings.warn(
        f"{where}, line {last + 1}: the file looks truncated: the last line has no line end and is "
        "cut short; it was left out (meta['dropped']['cut last line']). Copy or export the file "
        "again if the measurement finished.",
        TruncatedDataWarning,
        stacklevel=3,
    )
    return last


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
