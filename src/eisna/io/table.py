"""Generic impedance tables: CSV/TSV/TXT/DAT with frequency and impedance columns.

Columns are found from common header names (``freq``, ``frequency``, ``f/Hz``; ``Z'``,
``Zreal``, ``Re(Z)``; ``-Z''``, ``-Im(Z)``, ``Zimag``; ``|Z|``, ``phase`` …) or given by
the caller with ``columns={"freq": ..., "z_real": ..., "z_imag": ...}`` (or ``"z_mod"``
and ``"phase"``). The sign of the imaginary column follows its name: a leading minus
(``-Im(Z)``, ``-Z''``) means the column holds −Z″. Units in the names scale the values
(``kOhm``, ``MΩ``, ``kHz``, ``mHz``; phase in ``deg`` or ``rad``).

The delimiter (tab, ``;``, ``,`` or blanks) and a decimal comma are detected from the
rows. Lines above the header (instrument metadata) are skipped. A file without a header
row whose rows have three or more numbers is read as ``freq, Z′, Z″`` (Z″ with its
physical sign, as impedance.py writes it).

Selection is by extension only (:func:`sniff` returns False), so that formats with
their own reader (EC-Lab, Neware CSV) are never taken for a plain table.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import NoImpedanceData, ParseError
from ..spectrum import Spectrum
from ._points import classify, dropped_by_spectrum
from ._text import decode_text, read_bytes, sniff_decimal, sniff_delimiter, split_sweeps

__all__ = ["EXTENSIONS", "NAME", "find_columns", "read", "sniff"]

NAME = "table"
EXTENSIONS = (".csv", ".txt", ".tsv", ".dat")

_NUMBER = re.compile(r"^[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?$")
_UNIT = re.compile(r"[\s/(\[]\s*([kMmµu]?)((?i:ohm|Ω|hz))")
_ROLES = ("freq", "z_real", "z_imag", "z_mod", "phase")

# Recognised names after normalisation (lower case, no blanks, unit suffix removed).
_NAMES: Mapping[str, frozenset[str]] = {
    "freq": frozenset({"freq", "frequency", "f", "freq.", "frequenz", "fréquence", "frequency(hz)"}),
    "z_real": frozenset(
        {"z'", "zreal", "zre", "re(z)", "rez", "z_re", "z_real", "real", "real(z)", "zr", "z_r", "re"}
    ),
    "z_imag": frozenset(
        {"z''", "zimag", "zim", "im(z)", "imz", "z_im", "z_imag", "imag", "imag(z)", "zi", "z_i", "im"}
    ),
    "z_mod": frozenset({"|z|", "zmod", "mod(z)", "modz", "abs(z)", "z_mod", "zabs", "magnitude", "|z|(ohm)"}),
    "phase": frozenset({"phase", "phase(z)", "phz", "phi", "theta", "angle", "zphase", "z_phase", "phase_z"}),
}


def sniff(head: bytes) -> bool:
    """Always False: a plain table is chosen by its extension, after every specific reader."""
    return False


def _normalise(name: str) -> tuple[str, int]:
    """Normalised header name and its sign (-1 when the name starts with a minus)."""
    key = name.strip().strip('"').lower().replace("′", "'").replace("″", "''").replace('"', "''")
    key = re.sub(r"\s+", "", key)
    key = re.sub(r"/[^/()]*$", "", key)  # "Re(Z)/Ohm" -> "re(z)"
    key = re.sub(r"[(\[][^()\[\]]*(ohm|ω|hz|deg|°|rad|degree|degrees)[)\]]$", "", key)
    sign = 1
    if key.startswith("-"):
        sign, key = -1, key[1:]
    return key, sign


def _scale(name: str, role: str) -> float:
    """Multiplier from the unit written in a column name (kOhm → 1e3, mHz → 1e-3)."""
    if role == "phase":
        return 1.0 if re.search(r"rad", name, re.IGNORECASE) is None else float(np.rad2deg(1.0))
    match = _UNIT.search(name)
    if match is None:
        return 1.0
    return {"k": 1e3, "M": 1e6, "m": 1e-3, "µ": 1e-6, "u": 1e-6}.get(match.group(1), 1.0)


def find_columns(names: list[str]) -> dict[str, tuple[int, int]]:
    """Map roles (``freq``, ``z_real``, ``z_imag``, ``z_mod``, ``phase``) to (index, sign).

    Parameters
    ----------
    names : list of str
        Header names in file order.

    Returns
    -------
    dict
        Only the roles found; the first matching column wins.
    """
    found: dict[str, tuple[int, int]] = {}
    for j, name in enumerate(names):
        key, sign = _normalise(name)
        for role in _ROLES:
            if role not in found and key in _NAMES[role]:
                found[role] = (j, sign)
                break
    return found


def read(
    path: str | os.PathLike[str],
    *,
    columns: Mapping[str, str | int] | None = None,
    imag_sign: int | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
) -> list[Spectrum]:
    """Read impedance spectra from a delimited text table.

    Parameters
    ----------
    path : str or PathLike
        The table (``.csv``, ``.tsv``, ``.txt``, ``.dat``).
    columns : mapping, optional
        Explicit columns by header name or 0-based index: ``{"freq", "z_real", "z_imag"}``
        or ``{"freq", "z_mod", "phase"}`` (phase in degrees unless the name says rad).
    imag_sign : {1, -1}, optional
        +1 when the imaginary column holds Z″ (negative for capacitive arcs), -1 when it
        holds −Z″. Default: from the column name (a leading ``-`` means −Z″), else +1.
    delimiter : str, optional
        Field separator; detected when omitted (tab, ``;``, ``,`` or blanks).
    decimal : {".", ","}, optional
        Decimal separator; detected from the data rows when omitted.

    Returns
    -------
    list of Spectrum
        One per frequency sweep (a new sweep starts where the frequency jumps back),
        freq in Hz and z in Ω with the physical sign.

    Raises
    ------
    NoImpedanceData
        No frequency and impedance columns were found; the message lists the columns.
    ParseError
        Empty or malformed file, or a bad number (line and column named).
    """
    where = str(path)
    lines, frame, names, layout = _load_frame(where, delimiter, decimal)
    first_data = layout["first_data"]
    picked = _pick_columns(where, names, columns, headerless=layout["header_line"] is None)
    arrays = {
        role: _numeric(where, frame, j, names[j], lines, first_data) * _scale(names[j], role)
        for role, (j, _) in picked.items()
    }
    freq = arrays["freq"]
    if "z_real" in picked and "z_imag" in picked:
        sign = imag_sign if imag_sign is not None else picked["z_imag"][1]
        if sign not in (1, -1):
            raise ParseError(where, f"imag_sign must be 1 or -1; got {imag_sign!r}.")
        z = arrays["z_real"] + 1j * sign * arrays["z_imag"]
    else:
        z = arrays["z_mod"] * np.exp(1j * np.deg2rad(arrays["phase"] * picked["phase"][1]))
    is_point = np.isfinite(freq) & (freq > 0)
    if not is_point.any():
        raise NoImpedanceData(f"{where}: no impedance points: every row has a frequency ≤ 0 Hz or none.")
    bad = np.flatnonzero(is_point & np.isnan(z))  # an empty cell is an error; inf and 0 Ω are dropped
    if bad.size:
        raise ParseError(where, "impedance is empty or not finite.", line=_line_of(lines, first_data, bad[0]))
    is_point, reason = classify(freq, z)  # eisna.io._points
    picked_names = {role: names[j] for role, (j, _) in picked.items()}
    header = {**layout, "columns": tuple(names), "picked": picked_names}
    groups = split_sweeps(freq, np.flatnonzero(is_point))
    dropped = dropped_by_spectrum(groups, reason)
    meta = {"source": where, "format": NAME, "technique": None, "cycle": None, "header": header}
    return [
        Spectrum(
            freq=freq[rows],
            z=z[rows],
            meta={**meta, "index": k, "n_dropped": sum(dropped[k].values()), "dropped": dropped[k]},
        )
        for k, rows in enumerate(groups)
    ]


def _load_frame(
    where: str, delimiter: str | None, decimal: str | None
) -> tuple[list[str], Any, list[str], dict[str, Any]]:
    """Locate header and data rows, sniff delimiter and decimal, and parse the rows in bulk.

    Returns the file's lines, the data as a DataFrame, one name per column (``"column k"``
    where the header gives none) and the layout (``first_data`` and ``header_line``,
    0-based, ``delimiter``, ``decimal``).
    """
    import pandas as pd

    raw = read_bytes(where)
    if not raw.strip():
        raise ParseError(where, "the file is empty; expected a table with frequency and impedance columns.")
    if b"\x00" in raw[:4096]:
        raise ParseError(where, "binary content; expected a text table with frequency and impedance columns.")
    text, _ = decode_text(raw)
    lines = re.split(r"\r\n|\r|\n", text)  # the line breaks pandas knows, no others
    first_data = _first_numeric_line(lines)
    if first_data is None:
        raise ParseError(
            where,
            "no numeric data rows; expected rows of numbers below a header line.",
            hint="Check that this is a table of frequency and impedance values.",
        )
    header_at = _header_line(lines, first_data)
    sample = [ln for ln in lines[first_data : first_data + 50] if ln.strip()]
    sep = delimiter or _delimiter(sample)
    if decimal is None:
        decimal = sniff_decimal(sample, sep="\t" if sep == r"\s+" else sep)
    try:
        frame = pd.read_csv(
            io.StringIO("\n".join(lines[first_data:])),
            sep=sep,
            header=None,
            decimal=decimal,
            engine="c",
            quoting=csv.QUOTE_MINIMAL,
            index_col=False,
            skip_blank_lines=True,
            low_memory=False,
        )
    except (pd.errors.ParserError, ValueError) as err:
        raise ParseError(where, f"cannot parse the table rows ({err}).", line=first_data + 1) from err
    # a trailing delimiter gives an empty last column
    while frame.shape[1] > 1 and frame.iloc[:, -1].isna().all():
        frame = frame.iloc[:, :-1]
    width = frame.shape[1]
    names = [n.strip() for n in _split_names(lines[header_at], sep)][:width] if header_at is not None else []
    names += [f"column {j + 1}" for j in range(len(names), width)]
    layout = {"first_data": first_data, "header_line": header_at, "delimiter": sep, "decimal": decimal}
    return lines, frame, names, layout


def _is_numeric_row(line: str) -> bool:
    """At least two fields, and mostly numbers (data rows may hold a few text cells)."""
    fields = [f for f in re.split(r"[\t;, ]+", line.strip().strip(",;\t")) if f]
    numbers = sum(1 for f in fields if _NUMBER.match(f.strip('"')))
    return numbers >= 2 and 2 * numbers >= len(fields)


def _first_numeric_line(lines: list[str]) -> int | None:
    for k, line in enumerate(lines[:5000]):
        if line.strip() and _is_numeric_row(line):
            return k
    return None


def _header_line(lines: list[str], first_data: int) -> int | None:
    """The non-blank line just above the first data row, if it holds letters."""
    for k in range(first_data - 1, -1, -1):
        if lines[k].strip():
            return k if re.search(r"[A-Za-z|]", lines[k]) else None
    return None


def _delimiter(sample: list[str]) -> str:
    if any(("\t" in ln or ";" in ln or "," in ln) for ln in sample):
        return sniff_delimiter(sample)
    return r"\s+"


def _split_names(line: str, sep: str) -> list[str]:
    if sep == r"\s+":
        return line.split()
    return next(csv.reader([line], delimiter=sep))


def _pick_columns(
    where: str, names: list[str], columns: Mapping[str, str | int] | None, *, headerless: bool
) -> dict[str, tuple[int, int]]:
    """Resolve the columns to read: explicit, by header name, or freq/Z′/Z″ for bare numbers."""
    if columns is not None:
        picked: dict[str, tuple[int, int]] = {}
        for role, ref in columns.items():
            if role not in _ROLES:
                raise ParseError(where, f"unknown column role {role!r}; expected one of {list(_ROLES)}.")
            if isinstance(ref, int) and not isinstance(ref, bool):
                if not 0 <= ref < len(names):
                    raise ParseError(
                        where, f"column index {ref} is out of range; found {len(names)} columns."
                    )
                j = ref
            elif ref in names:
                j = names.index(ref)
            else:
                raise ParseError(where, f"column {ref!r} for {role!r} not found; found columns {names}.")
            picked[role] = (j, _normalise(names[j])[1])
    elif headerless and len(names) >= 3:
        picked = {"freq": (0, 1), "z_real": (1, 1), "z_imag": (2, 1)}
    else:
        picked = find_columns(names)
    has_z = {"z_real", "z_imag"} <= picked.keys() or {"z_mod", "phase"} <= picked.keys()
    if "freq" not in picked or not has_z:
        raise NoImpedanceData(
            f"{where}: no impedance columns: expected a frequency column and Z′/Z″ (or |Z| and phase); "
            f"found columns {names}. Pass columns={{'freq': ..., 'z_real': ..., 'z_imag': ...}} "
            "to eisna.io.table.read to name them."
        )
    return picked


def _numeric(where: str, frame: Any, j: int, name: str, lines: list[str], first_data: int) -> np.ndarray:
    import pandas as pd

    col = frame.iloc[:, j]
    if col.dtype.kind in "iuf":
        return col.to_numpy(dtype=np.float64)
    values = pd.to_numeric(col.astype("string"), errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy() & col.notna().to_numpy())
    if bad.size:
        raise ParseError(
            where,
            f"expected a number, found {str(col.iloc[int(bad[0])])[:40]!r}.",
            line=_line_of(lines, first_data, int(bad[0])),
            column=name,
        )
    return values.to_numpy(dtype=np.float64)


def _line_of(lines: list[str], first_data: int, row: int) -> int:
    """1-based file line of data row ``row`` (blank lines are skipped by the parser)."""
    count = -1
    for k in range(first_data, len(lines)):
        if lines[k].strip():
            count += 1
            if count == row:
                return k + 1
    return first_data + 1
