"""Generic impedance tables: CSV/TSV/TXT/DAT text and XLSX/ODS/FODS workbooks.

Columns are found from their header names with the alias table of
:mod:`eisna.io.table_aliases` (``freq/Hz``, ``Frequency (Hz)``, ``Freq.[Hz]``; ``Z'``,
``Zs'``, ``Zre``, ``Re(Z)``, ``Z' (Ω)``; ``-Z''``, ``-Im(Z)``, ``Zimg``, ``Z''``; ``|Z|``, ``Mod``,
``Phase``; ``time/s``, ``Time (s)``; ``loop_index``, ``cycle``), or given by the caller
with ``columns={"freq": ..., "z_real": ..., "z_imag": ...}`` (or ``"z_mod"`` and ``"phase"``).
Units in the names scale the values (``kOhm``, ``MΩ``, ``kHz``, ``mHz``; phase in ``deg``
or ``rad``; time in ``s``, ``min``, ``h``).

Signs: a leading minus in a name (``-Im(Z)``, ``-Z''``, ``-Z'``, ``-Phase``) means the
column holds the negated quantity. An imaginary (or phase) column whose name carries
no sign holds Z″ as it physically is, unless at least 80 % of its non-zero values are
positive: capacitive arcs have Z″ < 0, so such a column holds −Z″ (recorded in
``meta["header"]["imag_sign"]``; override with ``imag_sign=``). A phase column without a
unit whose values all lie within ±π/2 is read as radians.

Layout: the delimiter (tab, ``;``, ``,`` or blanks) and a decimal comma are detected from
the rows; metadata lines above the header are skipped. A file without a header row
whose rows have three or more numbers is read as ``freq, Z′, Z″``. Several spectra in one
table are cut where a ``loop_index``/``cycle``-type column changes, at a blank line (or a
repeated header line), and where the frequency jumps back to restart a sweep. Each
spectrum's ``elapsed_s`` is the time column at its first point.

Rows that are not impedance points are dropped and counted in ``meta["n_dropped"]``
(per spectrum, as the EC-Lab readers do), with the reasons in ``meta["dropped"]``:
``"freq not finite"``, ``"freq<=0"``, ``"Z not finite"``, ``"|Z|=0"``.

Selection is by extension only (:func:`sniff` returns False), so that formats with
their own reader (EC-Lab, Neware CSV, the vendor text exports) are never taken for a
plain table. The vendor readers (:mod:`eisna.io.chi`, :mod:`eisna.io.parstat` …) use
:func:`read_vendor` (:func:`load_text` + :func:`spectra_from_table`) from here.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import NoImpedanceData, ParseError
from ..spectrum import Spectrum
from ._sweep import sweep_times
from ._text import (
    count_dropped,
    cut_last_line,
    decode_text,
    read_bytes,
    sniff_decimal,
    sniff_delimiter,
    split_spectra,
)
from .table_aliases import ROLES, parse_name, unit_scale

__all__ = [
    "EXTENSIONS",
    "NAME",
    "RawTable",
    "find_columns",
    "load_text",
    "read",
    "read_vendor",
    "sniff",
    "sniff_fallback",
    "spectra_from_table",
]

NAME = "table"
EXTENSIONS = (".csv", ".txt", ".tsv", ".dat", ".xlsx", ".xls", ".ods", ".fods")
WORKBOOK_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods", ".fods")

_NUMBER = re.compile(r"^[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?$")
_IMPEDANCE_ROLES = ("freq", "z_real", "z_imag", "z_mod", "phase")
_POSITIVE_SHARE = 0.8  # share of positive non-zero values that marks a -Z'' (or -phase) column
_HEADER_SCAN_LINES = 2000
_PLAIN_ROW = re.compile(r"^[-+]?[\d.][\d.,;:\teE+\- ]*\d[\d.,;:\teE+\- ]*$")


@dataclass
class RawTable:
    """Cells of one table before the impedance columns are chosen.

    Attributes
    ----------
    where : str
        File name (with ``[sheet]`` for a workbook sheet), used in messages.
    names : list of str
        One header name per column (``"column k"`` where the file gives none).
    frame : pandas.DataFrame
        The data rows, one column per name (numbers, or text where the file has text).
    block : ndarray of int
        Block number of each row: it grows at every blank line or repeated header.
    row_lines : ndarray of int or None
        1-based file line of each row (text files), for error messages.
    layout : dict
        ``header_line``, ``first_data`` (0-based), ``delimiter``, ``decimal`` or ``sheet``.
    headerless : bool
        True when the file has no header row.
    cut_last_line : bool
        True when the last line had no line end and was cut short; it was left out and is
        counted in the last spectrum's ``meta["dropped"]["cut last line"]``.
    """

    where: str
    names: list[str]
    frame: Any
    block: np.ndarray
    row_lines: np.ndarray | None = None
    layout: dict[str, Any] = field(default_factory=dict)
    headerless: bool = False
    cut_last_line: bool = False


def sniff(head: bytes) -> bool:
    """Always False: a plain table is chosen by its extension, after every specific reader."""
    return False


def sniff_fallback(head: bytes) -> bool:
    """True for content that is a table without the extension that says so.

    The registry asks this only after every reader's :func:`sniff` and every extension
    failed (a CSV saved without an extension, a workbook renamed ``.dat``): a workbook's
    bytes, or text whose first lines name a frequency and an impedance column or hold
    three rows of numbers.
    """
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return True
    if b"<office:document" in head:
        return b"opendocument.spreadsheet" in head
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    text, _ = decode_text(head)
    lines = [ln for ln in re.split(r"\r\n|\r|\n", text)[:-1] if ln.strip()][:60]  # whole lines only
    return any(not _is_numeric_row(ln) and _names_impedance(ln) for ln in lines) or (
        sum(_is_numeric_row(ln) for ln in lines) >= 3
    )


def _is_workbook(path: str) -> bool:
    """True when the bytes of ``path`` are an .xlsx/.ods/.fods/.xls workbook (any extension)."""
    from ._workbook import workbook_kind

    return workbook_kind(path) is not None


def find_columns(names: Sequence[str], *, extra: bool = False) -> dict[str, tuple[int, int]]:
    """Map roles (``freq``, ``z_real``, ``z_imag``, ``z_mod``, ``phase``) to (index, sign).

    Parameters
    ----------
    names : sequence of str
        Header names in file order.
    extra : bool
        Also return ``time``, ``split`` (loop/cycle counter) and ``temperature`` columns.

    Returns
    -------
    dict
        Only the roles found; the first matching column wins. The sign is -1 when the
        name starts with a minus.
    """
    wanted = ROLES if extra else _IMPEDANCE_ROLES
    found: dict[str, tuple[int, int]] = {}
    for j, name in enumerate(names):
        parsed = parse_name(name)
        role = parsed.role()
        if role is not None and role in wanted and role not in found:
            found[role] = (j, parsed.sign)
    return found


def read(
    path: str | os.PathLike[str],
    *,
    columns: Mapping[str, str | int] | None = None,
    imag_sign: int | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    sheet: str | int | None = None,
) -> list[Spectrum]:
    """Read impedance spectra from a delimited text table or a workbook.

    Parameters
    ----------
    path : str or PathLike
        The table (``.csv``, ``.tsv``, ``.txt``, ``.dat``, ``.xlsx``, ``.ods``, ``.fods``).
    columns : mapping, optional
        Explicit columns by header name or 0-based index: ``{"freq", "z_real", "z_imag"}``
        or ``{"freq", "z_mod", "phase"}`` (phase in degrees unless the name says rad),
        optionally ``"time"`` (s), ``"split"`` (spectrum counter) and ``"temperature"``.
    imag_sign : {1, -1}, optional
        +1 when the imaginary column holds Z″ (negative for capacitive arcs), -1 when it
        holds −Z″. Default: from the column name, else from the values (see module notes).
    delimiter : str, optional
        Field separator of a text table; detected when omitted.
    decimal : {".", ","}, optional
        Decimal separator of a text table; detected from the data rows when omitted.
    sheet : str or int, optional
        Only this sheet of a workbook (name or 0-based index); default: every sheet that
        holds impedance columns.

    Returns
    -------
    list of Spectrum
        In file order: freq in Hz, z in Ω with the physical sign (Z″ < 0 capacitive).

    Raises
    ------
    NoImpedanceData
        No frequency and impedance columns were found; the message lists the columns.
    ParseError
        Empty or malformed file, or a bad number (line and column named).
    """
    where = str(path)
    skipped: list[str] = []
    if where.lower().endswith(WORKBOOK_EXTENSIONS) or _is_workbook(where):
        tables, skipped = _load_workbook(where, sheet=sheet)
    else:
        tables = [load_text(where, delimiter=delimiter, decimal=decimal)]
    spectra: list[Spectrum] = []
    first_error: NoImpedanceData | None = None
    for raw in tables:
        try:
            fmt = _vendor_format(raw.names)
            spectra.extend(spectra_from_table(raw, columns=columns, imag_sign=imag_sign, fmt=fmt))
        except NoImpedanceData as err:
            if len(tables) == 1:
                raise
            skipped.append(str(raw.layout.get("sheet")))
            first_error = first_error or err
    if not spectra:
        raise first_error or NoImpedanceData(f"{where}: no sheet holds impedance columns.")
    return _renumber(spectra, skipped)


def _vendor_format(names: Sequence[str]) -> str:
    """``"autolab"`` for a NOVA export's header (also in .xlsx), else :data:`NAME`."""
    if "Frequency (Hz)" in names and any(n.startswith("-Z'' (") for n in names) and "Index" in names:
        return "autolab"
    return NAME


def _renumber(spectra: list[Spectrum], skipped: list[str]) -> list[Spectrum]:
    """Index spectra 0..n-1 across sheets; name the sheets without impedance data."""
    out = []
    for k, s in enumerate(spectra):
        meta = dict(s.meta)
        meta["index"] = k
        if skipped:
            meta["header"] = {**meta["header"], "sheets_without_impedance": skipped}
        out.append(Spectrum(freq=s.freq, z=s.z, timestamp=s.timestamp, elapsed_s=s.elapsed_s, meta=meta))
    return out


# ---------------------------------------------------------------------------
# Text tables
# ---------------------------------------------------------------------------
def load_text(
    path: str | os.PathLike[str],
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
    header_line: int | None = None,
    text: str | None = None,
) -> RawTable:
    """Locate header and data rows of a text table, sniff delimiter and decimal, and parse the rows.

    Parameters
    ----------
    path : str or PathLike
        The file (read unless ``text`` is given; used in messages).
    delimiter, decimal : str, optional
        Forced separators; detected when omitted.
    header_line : int, optional
        0-based line of the column names when the caller knows it (vendor readers).
    text : str, optional
        The decoded content, when the caller has already read it.
    """
    where = str(path)
    if text is None:
        raw = read_bytes(where)
        if not raw.strip():
            raise ParseError(
                where, "the file is empty; expected a table with frequency and impedance columns."
            )
        if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ParseError(
                where, "binary content; expected a text table with frequency and impedance columns."
            )
        text, _ = decode_text(raw)
    text = text.replace("\r\r\n", "\n")  # PowerSuite writes CR CR LF
    lines = re.split(r"\r\n|\r|\n", text)  # the line breaks pandas knows, no others
    header_at, first_data = _locate(lines, header_line)
    if first_data is None:
        raise ParseError(
            where,
            "no numeric data rows; expected rows of numbers below a header line.",
            hint="Check that this is a table of frequency and impedance values.",
        )
    sample = [ln for ln in lines[first_data : first_data + 50] if ln.strip()]
    sep = delimiter or _delimiter(sample)
    if decimal is None:
        decimal = sniff_decimal(sample, sep="\t" if sep == r"\s+" else sep)
    header_text = lines[header_at].strip() if header_at is not None else None
    # the last line is judged against the data rows before it (not a metadata line between tables)
    data_like = [ln if _is_numeric_row(ln) else "" for ln in lines[-41:-1]]
    cut_at = cut_last_line(where, text, [*lines[:-41], *data_like, *lines[-1:]], first_data, sep)
    if cut_at is not None:
        lines = lines[:cut_at]
    kept, row_lines, block = _data_lines(lines, first_data, header_text)
    frame = _parse_rows(where, kept, sep, decimal, first_data)
    width = frame.shape[1]
    names = [n.strip() for n in _split_names(lines[header_at], sep)][:width] if header_at is not None else []
    names += [f"column {j + 1}" for j in range(len(names), width)]
    layout = {"first_data": first_data, "header_line": header_at, "delimiter": sep, "decimal": decimal}
    return RawTable(
        where=where,
        names=names,
        frame=frame,
        block=np.asarray(block[: len(frame)], dtype=np.int64),
        row_lines=np.asarray(row_lines[: len(frame)], dtype=np.int64),
        layout=layout,
        headerless=header_at is None,
        cut_last_line=cut_at is not None,
    )


def _locate(lines: list[str], header_line: int | None) -> tuple[int | None, int | None]:
    """(header line, first data line), 0-based: a header naming freq and Z wins over the first numbers."""
    if header_line is not None:
        return header_line, _first_numeric_line(lines, header_line + 1)
    for k, line in enumerate(lines[:_HEADER_SCAN_LINES]):
        if line.strip() and not _is_numeric_row(line) and _names_impedance(line):
            first = _first_numeric_line(lines, k + 1)
            # the names must split like the data rows (not a sentence that mentions |Z| and phase)
            if first is not None and _names_impedance(line, _delimiter([lines[first]])):
                return k, first
    first_data = _first_numeric_line(lines, 0)
    if first_data is None:
        return None, None
    return _header_line(lines, first_data), first_data


def _names_impedance(line: str, sep: str | None = None) -> bool:
    """True when ``line`` names a frequency and an impedance column (split by ``sep``, or by any)."""
    for sep_try in (sep,) if sep else ("\t", ";", ",", r"\s+"):
        fields = _split_names(line, sep_try)
        if len(fields) < 2:
            continue
        roles = find_columns(fields)
        if "freq" in roles and ({"z_real", "z_imag"} <= roles.keys() or {"z_mod", "phase"} <= roles.keys()):
            return True
    return False


def _data_lines(
    lines: list[str], first_data: int, header: str | None
) -> tuple[list[str], list[int], list[int]]:
    """Data lines, their 1-based line numbers and block numbers.

    Blank lines, a repeated header and other non-numeric lines (a metadata block between
    two tables) end a block.
    """
    kept: list[str] = []
    numbers: list[int] = []
    blocks: list[int] = []
    block, gap = 0, False
    for k in range(first_data, len(lines)):
        line = lines[k]
        stripped = line.strip()
        plain = _PLAIN_ROW.match(stripped) is not None  # fast path: only digits and separators
        if (
            not stripped
            or (header is not None and stripped == header)
            or not (plain or _is_numeric_row(stripped))
        ):
            gap = True
            continue
        if gap and kept:
            block += 1
        gap = False
        kept.append(line)
        numbers.append(k + 1)
        blocks.append(block)
    if blocks and 2 * blocks[-1] >= len(blocks):  # double-spaced rows: blank lines separate nothing
        blocks = [0] * len(blocks)
    return kept, numbers, blocks


def _parse_rows(where: str, kept: list[str], sep: str, decimal: str, first_data: int) -> Any:
    import pandas as pd

    try:
        frame = pd.read_csv(
            io.StringIO("\n".join(kept)),
            sep=sep,
            header=None,
            decimal=decimal,
            engine="c",
            quoting=csv.QUOTE_MINIMAL,
            index_col=False,
            skip_blank_lines=False,
            low_memory=False,
        )
    except (pd.errors.ParserError, ValueError) as err:
        raise ParseError(where, f"cannot parse the table rows ({err}).", line=first_data + 1) from err
    # a trailing delimiter gives an empty last column
    while frame.shape[1] > 1 and frame.iloc[:, -1].isna().all():
        frame = frame.iloc[:, :-1]
    return frame


def _is_numeric_row(line: str) -> bool:
    """At least two fields, and mostly numbers (data rows may hold a few text cells)."""
    fields = [f for f in re.split(r"[\t;, ]+", line.strip().strip(",;\t")) if f]
    numbers = sum(1 for f in fields if _NUMBER.match(f.strip('"')))
    return numbers >= 2 and 2 * numbers >= len(fields)


def _first_numeric_line(lines: list[str], start: int) -> int | None:
    for k in range(start, min(len(lines), start + 5000)):
        if lines[k].strip() and _is_numeric_row(lines[k]):
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
    return next(csv.reader([line], delimiter=sep), [])


# ---------------------------------------------------------------------------
# Workbooks
# ---------------------------------------------------------------------------
def load_workbook(path: str | os.PathLike[str], *, sheet: str | int | None = None) -> list[RawTable]:
    """One :class:`RawTable` per sheet of an ``.xlsx``, ``.ods`` or ``.fods`` workbook.

    Raises
    ------
    ParseError
        The workbook cannot be opened, or ``sheet`` is not in it.
    """
    return _load_workbook(path, sheet=sheet)[0]


def _load_workbook(
    path: str | os.PathLike[str], *, sheet: str | int | None
) -> tuple[list[RawTable], list[str]]:
    """The sheets' tables and the names of the sheets without numeric rows."""
    from ._workbook import read_sheets

    where = str(path)
    sheets = read_sheets(where)
    if sheet is not None:
        names = [name for name, _ in sheets]
        if isinstance(sheet, int) and not isinstance(sheet, bool) and 0 <= sheet < len(sheets):
            sheets = [sheets[sheet]]
        elif sheet in names:
            sheets = [sheets[names.index(sheet)]]
        else:
            raise ParseError(where, f"sheet {sheet!r} not found; the workbook has {names}.")
    found = [(name, _table_from_cells(where, name, rows)) for name, rows in sheets]
    tables = [t for _, t in found if t is not None]
    if not tables:
        raise ParseError(
            where, "no sheet holds numeric data rows; expected a table of frequency and impedance."
        )
    return tables, [name for name, t in found if t is None]


def _cell_number(value: Any) -> float:
    if value is None:
        return np.nan
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = str(value).strip()
    if _NUMBER.match(text):
        return float(text.replace(",", "."))
    return np.nan


def _table_from_cells(where: str, sheet: str, rows: list[list[Any]]) -> RawTable | None:
    import pandas as pd

    def is_numeric(row: list[Any]) -> bool:
        cells = [c for c in row if c is not None and str(c).strip() != ""]
        numbers = sum(1 for c in cells if np.isfinite(_cell_number(c)))
        return numbers >= 2 and 2 * numbers >= len(cells)

    header_at = None
    for k, row in enumerate(rows[:_HEADER_SCAN_LINES]):
        names = ["" if c is None else str(c) for c in row]
        if not is_numeric(row) and _names_impedance("\t".join(names)):
            header_at = k
            break
    start = 0 if header_at is None else header_at + 1
    first = next((k for k in range(start, len(rows)) if is_numeric(rows[k])), None)
    if first is None:
        return None
    if header_at is None and first > 0 and any(str(c or "").strip() for c in rows[first - 1]):
        header_at = first - 1
    width = max(len(r) for r in rows[first:])
    header = ["" if c is None else str(c).strip() for c in rows[header_at]] if header_at is not None else []
    data: list[list[float]] = []
    block: list[int] = []
    current, gap = 0, False
    for row in rows[first:]:
        values = [_cell_number(c) for c in row] + [np.nan] * (width - len(row))
        if not np.isfinite(values).any():
            gap = True
            continue
        if gap and data:
            current += 1
        gap = False
        data.append(values)
        block.append(current)
    frame = pd.DataFrame(np.asarray(data, dtype=np.float64))
    while frame.shape[1] > 1 and frame.iloc[:, -1].isna().all():
        frame = frame.iloc[:, :-1]
    names = [header[j] if j < len(header) and header[j] else f"column {j + 1}" for j in range(frame.shape[1])]
    return RawTable(
        where=f"{where} [sheet {sheet!r}]",
        names=names,
        frame=frame,
        block=np.asarray(block, dtype=np.int64),
        layout={"sheet": sheet, "header_row": header_at, "first_data": first},
        headerless=header_at is None,
    )


# ---------------------------------------------------------------------------
# From cells to spectra
# ---------------------------------------------------------------------------
def _pick_columns(raw: RawTable, columns: Mapping[str, str | int] | None) -> dict[str, tuple[int, int]]:
    """Resolve the columns to read: explicit, by header name, or freq/Z′/Z″ for bare numbers."""
    names, where = raw.names, raw.where
    if columns is not None:
        picked: dict[str, tuple[int, int]] = {}
        for role, ref in columns.items():
            if role not in ROLES:
                raise ParseError(where, f"unknown column role {role!r}; expected one of {list(ROLES)}.")
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
            picked[role] = (j, parse_name(names[j]).sign)
    elif raw.headerless and len(names) >= 3:
        picked = {"freq": (0, 1), "z_real": (1, 1), "z_imag": (2, 1)}
    else:
        picked = find_columns(names, extra=True)
    has_z = {"z_real", "z_imag"} <= picked.keys() or {"z_mod", "phase"} <= picked.keys()
    if "freq" not in picked or not has_z:
        raise NoImpedanceData(
            f"{where}: no impedance columns: expected a frequency column and Z′/Z″ (or |Z| and phase); "
            f"found columns {names}. Pass columns={{'freq': ..., 'z_real': ..., 'z_imag': ...}} "
            "to eisna.io.table.read to name them."
        )
    if {"z_real", "z_imag"} <= picked.keys():
        picked.pop("z_mod", None)
        picked.pop("phase", None)
    return picked


def _numeric(raw: RawTable, j: int) -> np.ndarray:
    """Column ``j`` as float; a text cell is a ParseError naming its line and column."""
    import pandas as pd

    col = raw.frame.iloc[:, j]
    if col.dtype.kind in "iuf":
        return col.to_numpy(dtype=np.float64)
    values = pd.to_numeric(col.astype("string").str.strip(), errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy() & col.notna().to_numpy())
    if bad.size:
        line = int(raw.row_lines[bad[0]]) if raw.row_lines is not None else None
        raise ParseError(
            raw.where,
            f"expected a number, found {str(col.iloc[int(bad[0])])[:40]!r}.",
            line=line,
            column=raw.names[j],
        )
    return values.to_numpy(dtype=np.float64)


def _imag_sign(values: np.ndarray, usable: np.ndarray, name_sign: int) -> tuple[int, str]:
    """Sign that turns the column into Z″ (or the phase): from the name, else from the values."""
    if name_sign == -1:
        return -1, "name"
    nonzero = values[usable & (values != 0)]
    if nonzero.size >= 3 and np.mean(nonzero > 0) >= _POSITIVE_SHARE:
        return -1, "values (mostly positive: the column holds -Z'')"
    return 1, "name"


def _impedance(
    raw: RawTable, picked: dict[str, tuple[int, int]], arrays: dict[str, np.ndarray], imag_sign: int | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Complex Z with the physical sign, and notes on how the signs and units were decided."""
    freq = arrays["freq"]
    usable = np.isfinite(freq) & (freq > 0)
    notes: dict[str, Any] = {}
    # Re and Im when both were found; a table with Re Z but no usable Im column (|Z| and phase
    # beside it) takes the modulus and phase
    if {"z_real", "z_imag"} <= picked.keys():
        real = arrays["z_real"] * picked["z_real"][1]
        imag_col = arrays["z_imag"]
        if imag_sign is not None:
            if imag_sign not in (1, -1):
                raise ParseError(raw.where, f"imag_sign must be 1 or -1; got {imag_sign!r}.")
            sign, source = imag_sign, "option"
        else:
            sign, source = _imag_sign(imag_col, usable & np.isfinite(imag_col), picked["z_imag"][1])
        notes["imag_sign"] = {"sign": sign, "from": source}
        return real + 1j * sign * imag_col, notes
    phase = arrays["phase"]
    finite = usable & np.isfinite(phase)
    unit = parse_name(raw.names[picked["phase"][0]]).unit
    if not unit and finite.any() and np.abs(phase[finite]).max() <= np.pi / 2 + 1e-9:
        phase = np.rad2deg(phase)
        notes["phase_unit"] = "rad (from the values: all within ±π/2)"
    sign, source = _imag_sign(phase, finite, picked["phase"][1])
    notes["phase_sign"] = {"sign": sign, "from": source}
    return arrays["z_mod"] * np.exp(1j * np.deg2rad(sign * phase)), notes


def _drop_reasons(freq: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean impedance points and a reason code per row (0 kept, 1..4 see :data:`_REASONS`)."""
    code = np.zeros(freq.size, dtype=np.int8)
    code[~np.isfinite(freq)] = 2
    code[(code == 0) & (freq <= 0)] = 1
    code[(code == 0) & ~np.isfinite(z)] = 3
    code[(code == 0) & (np.abs(z) == 0)] = 4
    return code == 0, code


_REASONS = {2: "freq not finite", 1: "freq<=0", 3: "Z not finite", 4: "|Z|=0"}  # as eisna.io._points


def _reasons_per_spectrum(groups: list[np.ndarray], code: np.ndarray) -> list[dict[str, int]]:
    """Reason counts over the same row ranges as :func:`eisna.io._text.count_dropped`."""
    out = []
    for index, rows in enumerate(groups):
        lo = int(groups[index - 1][-1]) + 1 if index else 0
        hi = int(rows[-1]) + 1 if index < len(groups) - 1 else code.size
        part = code[lo:hi]
        out.append({label: int((part == c).sum()) for c, label in _REASONS.items() if (part == c).any()})
    return out


def _temperature_k(values: np.ndarray, unit: str) -> float | None:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return None
    mean = float(finite.mean())
    if unit.lower() in ("°c", "c", "degc", "celsius") or (not unit and mean < 150.0):
        mean += 273.15
    return round(mean, 3)


def spectra_from_table(
    raw: RawTable,
    *,
    columns: Mapping[str, str | int] | None = None,
    imag_sign: int | None = None,
    fmt: str = NAME,
    meta: Mapping[str, Any] | None = None,
) -> list[Spectrum]:
    """Turn a :class:`RawTable` into spectra (column choice, signs, units, splitting, drops).

    Parameters
    ----------
    raw : RawTable
        From :func:`load_text` or :func:`load_workbook`.
    columns, imag_sign : see :func:`read`.
    fmt : str
        ``meta["format"]`` of the spectra (the vendor reader's NAME).
    meta : mapping, optional
        Extra metadata for every spectrum (instrument, date, temperature_K …). A potential
        or current column gives ``Ewe_V`` (V) and ``I_A`` (A), the means over each spectrum.

    Raises
    ------
    NoImpedanceData
        No frequency and impedance columns, or no row with a frequency > 0 Hz.
    """
    picked = _pick_columns(raw, columns)
    arrays: dict[str, np.ndarray] = {}
    for role, (j, _) in picked.items():
        values = _numeric(raw, j)
        if role != "split" and role != "temperature":
            values = values * unit_scale(parse_name(raw.names[j]).unit, role)
        arrays[role] = values
    freq = arrays["freq"]
    z, notes = _impedance(raw, picked, arrays, imag_sign)
    is_point, code = _drop_reasons(freq, z)
    if not is_point.any():
        raise NoImpedanceData(
            f"{raw.where}: no impedance points: every row has a frequency ≤ 0 Hz, none, or no finite Z."
        )
    split = arrays.get("split")
    keys = [raw.block, None if split is None else np.round(np.nan_to_num(split, nan=-1.0), 6)]
    groups = split_spectra(freq, is_point, keys)
    dropped = count_dropped(groups, is_point)
    reasons = _reasons_per_spectrum(groups, code)
    if raw.cut_last_line:
        dropped[-1] += 1
        reasons[-1]["cut last line"] = 1
    header = {
        **raw.layout,
        "columns": tuple(raw.names),
        "picked": {role: raw.names[j] for role, (j, _) in picked.items()},
        **notes,
    }
    base = {
        "source": raw.where,
        "format": fmt,
        "technique": None,
        "cycle": None,
        **(meta or {}),
        "header": header,
    }
    time = arrays.get("time")
    temp_unit = parse_name(raw.names[picked["temperature"][0]]).unit if "temperature" in picked else ""
    spectra = []
    for k, rows in enumerate(groups):
        first = int(rows[0])
        elapsed = float(time[first]) if time is not None and np.isfinite(time[first]) else None
        info = {**base, "index": k, "n_dropped": dropped[k], "dropped": reasons[k]}
        if raw.cut_last_line and k == len(groups) - 1:
            info["truncated"] = True
        if split is not None and np.isfinite(split[first]):
            info["cycle"] = round(float(split[first]))
        info.update(sweep_times(time, rows))
        if "temperature" in arrays:
            info["temperature_K"] = _temperature_k(arrays["temperature"][rows], temp_unit)
        for role, key in (("potential", "Ewe_V"), ("current", "I_A")):
            if role in arrays and np.isfinite(arrays[role][rows]).any():
                info[key] = float(np.nanmean(arrays[role][rows]))
        spectra.append(Spectrum(freq=freq[rows], z=z[rows], elapsed_s=elapsed, meta=info))
    return spectra


def read_vendor(
    path: str | os.PathLike[str],
    *,
    fmt: str,
    meta: Mapping[str, Any] | None = None,
    text: str | None = None,
    header_line: int | None = None,
    names: Sequence[str] | None = None,
    timestamp: Any = None,
    **options: Any,
) -> list[Spectrum]:
    """Read a vendor text export whose layout the vendor module has worked out.

    Parameters
    ----------
    path : str or PathLike
        The file.
    fmt : str
        The vendor reader's NAME, for ``meta["format"]``.
    meta : mapping, optional
        Metadata parsed from the file's header, for every spectrum.
    text : str, optional
        The decoded content (avoids reading the file twice).
    header_line : int, optional
        0-based line of the column names.
    names : sequence of str, optional
        Column names to use instead of the header line's fields.
    timestamp : datetime, optional
        Start of the measurement; each spectrum's timestamp adds its ``elapsed_s`` (0 s, and
        ``elapsed_s`` = 0, when the table has no time column).
    **options
        ``columns``, ``imag_sign``, ``delimiter``, ``decimal`` as for :func:`read`.
    """
    from datetime import timedelta

    raw = load_text(
        path,
        delimiter=options.pop("delimiter", None),
        decimal=options.pop("decimal", None),
        header_line=header_line,
        text=text,
    )
    if names is not None:
        width = raw.frame.shape[1]
        raw.names = [*list(names)[:width], *(f"column {j + 1}" for j in range(len(names), width))]
        raw.headerless = False
    allowed = {k: options[k] for k in ("columns", "imag_sign") if k in options}
    spectra = spectra_from_table(raw, fmt=fmt, meta=meta, **allowed)
    if timestamp is None:
        return spectra
    return [
        Spectrum(
            freq=s.freq,
            z=s.z,
            timestamp=timestamp + timedelta(seconds=s.elapsed_s or 0.0),
            elapsed_s=s.elapsed_s if s.elapsed_s is not None else 0.0,
            meta=s.meta,
        )
        for s in spectra
    ]
