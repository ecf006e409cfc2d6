"""Neware BTSDA text and spreadsheet exports (CSV, XLSX), parsed by hand.

Two layouts are understood:

* the **flat record export**: one header line (``DataPoint, Cycle Index, Step Index, Step
  Type, Time, Total Time, Current(µA), Voltage(mV), Capacity(mAs), …, Date``) and one line per
  record, often with a trailing comma;
* the **nested three-level export**: lines 1–3 hold the cycle, step and record headers,
  indented by 0, 1 and 2 empty cells; each data row's level is the number of its leading
  empty cells. The first cycle row and the first step row share one physical line. Only the
  record rows are returned, labelled with their enclosing cycle and step.

The user picks units at export time, so every unit is parsed from the header (A/mA/µA,
V/mV, Ah/mAh/µAh/As/mAs, Wh/mWh/Ws/mWs). Durations are ``H+:MM:SS[.mmm]`` with hours past
24, optionally with a day prefix (``1-02:03:04``, ``1d 02:03:04``), numbers with a unit
(``Time(min)``), or spreadsheet time cells. ``Date`` is the PC's local time without an
offset, so ``timestamp`` is naive local time (the binary ``.ndax`` of the same run holds UTC).

The nested export writes unsigned currents and capacities; they are signed here from the
step type (``…DChg`` → negative, Neware's convention + = charge).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..errors import EisnaError, NoImpedanceData, ParseError
from ._text import cut_last_line, sniff_decimal

if TYPE_CHECKING:
    import pandas as pd

    from ..spectrum import Spectrum

__all__ = ["EXTENSIONS", "NAME", "parse_duration", "read", "read_cycling", "sniff", "sniff_fallback"]

NAME = "neware-csv"
EXTENSIONS = (".csv", ".xlsx", ".xls")

# Canonical field → header names (lower case, unit stripped), English and Chinese BTSDA.
_FIELDS: dict[str, tuple[str, ...]] = {
    "record": ("datapoint", "data point", "record index", "record id", "记录序号"),
    "cycle": ("cycle index", "cycle id", "cycle", "循环序号", "循环号"),
    "step": ("step index", "step id", "工步序号", "工步号"),
    "step_number": ("step number",),
    "step_type": ("step type", "step name", "工步类型", "工步名称", "状态"),
    "step_time": ("time", "step time", "工步时间", "相对时间"),
    "total_time": ("total time", "cumulative time", "test time", "总时间", "累计时间"),
    "current": ("current", "电流"),
    "voltage": ("voltage", "电压"),
    "capacity": ("capacity", "容量"),
    "chg_capacity": ("chg. cap.", "charge capacity", "充电容量"),
    "dchg_capacity": ("dchg. cap.", "discharge capacity", "放电容量"),
    "energy": ("energy", "能量"),
    "date": ("date", "realtime", "real time", "absolute time", "系统时间", "绝对时间"),
}
_LOOKUP = {alias: field for field, aliases in _FIELDS.items() for alias in aliases}

_MICRO = ("µ", "μ", "u")  # micro sign (cp1252 0xB5), Greek mu, ASCII u
_PREFIXES = {"k": 1e3, "": 1.0, "m": 1e-3, "µ": 1e-6, "n": 1e-9}


def _hour_units(base: str) -> dict[str, float]:
    """``Ah, mAh, …, As, mAs, …`` (or ``Wh``/``Ws``) → factor to ``Ah`` (``Wh``)."""
    return {f"{p}{base}{t}": f * tf for p, f in _PREFIXES.items() for t, tf in (("h", 1.0), ("s", 1 / 3600))}


_UNITS: dict[str, dict[str, float]] = {
    "current": {f"{p}a": f for p, f in _PREFIXES.items()},
    "voltage": {f"{p}v": f for p, f in _PREFIXES.items()},
    "capacity": _hour_units("a"),
    "energy": _hour_units("w"),
    "time": {"s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0, "hr": 3600.0, "d": 86400.0, "day": 86400.0},
}
_UNIT_OF = {
    "current": "current",
    "voltage": "voltage",
    "capacity": "capacity",
    "chg_capacity": "capacity",
    "dchg_capacity": "capacity",
    "energy": "energy",
    "step_time": "time",
    "total_time": "time",
}

# Chinese step names of BTSDA → fastnda's spelling.
_STEP_TYPES_ZH = {
    "搁置": "Rest",
    "恒流充电": "CC_Chg",
    "恒流放电": "CC_DChg",
    "恒压充电": "CV_Chg",
    "恒流恒压充电": "CCCV_Chg",
    "恒压放电": "CV_DChg",
    "恒流恒压放电": "CCCV_DChg",
}

_HEADER_RE = re.compile(r"^\s*(.*?)\s*(?:[(（]([^()（）]*)[)）])?\s*$")
_DURATION_RE = re.compile(
    r"^\s*(?:(?P<d>\d+)\s*(?:d|day|days|-|\s)\s*)?(?P<h>\d+):(?P<m>\d{1,2}):(?P<s>\d{1,2}(?:\.\d*)?)\s*$"
)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_NESTED_ROWS_MAX = 10  # the header is searched in the first rows (older exports add a title row)

NO_EIS_MESSAGE = (
    "is a Neware BTSDA export of cycling data with no impedance spectra (Neware cyclers record "
    "no EIS); expected an impedance file. Use eisna.read_cycling(path) for the cycling data."
)


# ---------------------------------------------------------------------------------------------
# Header recognition
# ---------------------------------------------------------------------------------------------
def _split_header(cell: Any) -> tuple[str, str | None]:
    """Split ``"Current(µA)"`` into ``("current", "µa")``; names lower-cased, spaces collapsed."""
    text = "" if cell is None else str(cell)
    match = _HEADER_RE.match(text)
    name, unit = (match.group(1), match.group(2)) if match else (text, None)
    name = " ".join(name.lower().split())
    if unit is not None:
        unit = unit.strip().lower().replace(" ", "")
        if unit[:1] in _MICRO and len(unit) > 1:
            unit = "µ" + unit[1:]
    return name, unit


def _field(cell: Any) -> str | None:
    return _LOOKUP.get(_split_header(cell)[0])


def _is_flat_header(cells: Sequence[Any]) -> bool:
    fields = {_field(c) for c in cells}
    return (
        "record" in fields
        and bool({"cycle", "step", "step_type"} & fields)
        and ("voltage" in fields or "current" in fields)
    )


def _leading_empty(cells: Sequence[Any]) -> int:
    count = 0
    for cell in cells:
        if cell is not None and str(cell).strip() != "":
            break
        count += 1
    return count


def _is_nested_header(rows: Sequence[Sequence[Any]], i: int) -> bool:
    """Cycle header at row i, step header (1 empty cell) at i+1, record header (2) at i+2."""
    if i + 2 >= len(rows):
        return False
    cyc, stp, rec = rows[i], rows[i + 1], rows[i + 2]
    return (
        len(cyc) > 1
        and _leading_empty(cyc) == 0
        and _field(cyc[0]) == "cycle"
        and len(stp) > 2
        and _leading_empty(stp) == 1
        and _field(stp[1]) == "step"
        and len(rec) > 3
        and _leading_empty(rec) == 2
        and _is_record_header(rec[2:])
    )


def _is_record_header(cells: Sequence[Any]) -> bool:
    fields = {_field(c) for c in cells}
    return "record" in fields and ("voltage" in fields or "current" in fields)


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", "\t", ";")}
    return max(counts, key=lambda d: counts[d])


def sniff(head: bytes) -> bool:
    """Return True for a BTSDA CSV/TXT export: a flat record header or the nested 3-line header.

    Only Neware signatures are claimed (``DataPoint`` with ``Cycle Index``/``Step Index``/
    ``Step Type`` and a voltage or current column, or the nested cycle/step/record
    headers), so generic impedance tables fall through to the ``table`` reader. XLSX files
    are ZIP archives whose sheets lie beyond the sniffed bytes: they are chosen by extension,
    or by :func:`sniff_fallback` when renamed.
    """
    if head.startswith(b"PK"):
        return False
    text = _decode(head, strict=False)
    lines = text.splitlines()[: _NESTED_ROWS_MAX + 2]
    if len(lines) < 2 and len(head) >= 4096:  # a single line longer than the sniff window
        return False
    rows = [next(csv.reader([ln], delimiter=_delimiter(lines[0])), []) for ln in lines] if lines else []
    return any(
        _is_flat_header(r) or _is_nested_header(rows, i) for i, r in enumerate(rows[:_NESTED_ROWS_MAX])
    )


# ---------------------------------------------------------------------------------------------
# Raw rows from CSV or XLSX
# ---------------------------------------------------------------------------------------------
def _decode(raw: bytes, *, strict: bool = True) -> str:
    """UTF-8 (with or without BOM), else GB18030 when Chinese BTSDA headers appear, else cp1252.

    UTF-16 with a byte-order mark (Excel's "Unicode text", when the export went through Excel)
    is decoded as such.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        even = raw[: len(raw) - len(raw) % 2]  # the sniff window may end inside a character
        return even.decode("utf-16", errors="strict" if strict else "replace")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if not strict and err.start >= len(raw) - 3:  # sniff window cut a multi-byte char
            return raw[: err.start].decode("utf-8-sig")
    chinese = raw.decode("gb18030", errors="replace") if _maybe_gb(raw) else ""
    if any(word in chinese for word in _CHINESE_MARKERS):
        return chinese
    return raw.decode("cp1252", errors="replace")  # µ is 0xB5 in Western exports


_CHINESE_MARKERS = ("循环", "工步", "电压", "电流", "记录")


def _maybe_gb(raw: bytes) -> bool:
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError as err:
        return err.start >= len(raw) - 3  # only the sniff window's cut is wrong
    return True


def _csv_rows(path: Path) -> tuple[list[list[str]], list[int], bool]:
    """All rows of a text export, their 1-based line numbers, and whether the last line was cut.

    A last line cut short (no line end, see :func:`~eisna.io._text.cut_last_line`) is left
    out with a warning. With a ``;`` or tab separator and numbers written ``0,25`` (a
    German or French Windows locale), the decimal commas become points.
    """
    from ._limits import read_text_bytes

    raw = read_text_bytes(path)
    text = _decode(raw)
    first = text.split("\n", 1)[0]
    delimiter = _delimiter(first)
    physical = text.splitlines()
    cut_at = cut_last_line(str(path), text, physical, 1, delimiter)
    if cut_at is not None:
        text = "\n".join(physical[:cut_at]) + "\n"
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as err:
        raise ParseError(path, f"is not valid CSV ({err}).", line=reader.line_num + 1) from err
    if delimiter != "," and sniff_decimal(physical[1:60], sep=delimiter) == ",":
        rows = [[_DECIMAL_COMMA.sub(".", cell) for cell in row] for row in rows]
    return rows, lines, cut_at is not None


_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d)")


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the legacy Excel .xls (and other Office binaries)


def sniff_fallback(head: bytes) -> bool:
    """True for an Excel workbook's bytes (``.xlsx`` ZIP or legacy ``.xls``) under another extension.

    The registry asks this only when no sniffer and no extension matched: a BTSDA ``.xlsx``
    renamed ``.dat`` or saved without an extension comes here as its ``.xlsx`` name would
    (:func:`read` hands a workbook that is not a Neware export to the generic table reader).
    An XLSX is told from other ZIP files by its member names, which the first local headers
    carry uncompressed (``[Content_Types].xml``, ``xl/…``).
    """
    if head.startswith(b"PK\x03\x04"):
        return b"[Content_Types].xml" in head or b"xl/" in head
    return head.startswith(_OLE2)


def _xlsx_rows(path: Path, kind: str | None) -> tuple[list[list[Any]], list[int]]:
    """Rows of the record sheet (``record``, else the first sheet with a Neware header).

    ``kind`` is the workbook kind the bytes say (``".xlsx"``, ``".xls"``, ``".ods"``; None:
    not a workbook); openpyxl gets a file object, so any file name is read.
    """
    if kind == ".xls":
        raise ParseError(
            path,
            "legacy Excel .xls files are not supported; expected .xlsx or .csv.",
            hint="Open the file in Excel or LibreOffice and save it as .xlsx, or export CSV from BTSDA.",
        )
    if kind not in (".xlsx", None):
        raise ParseError(
            path,
            f"is a {kind} spreadsheet, not a BTSDA export; expected an .xlsx workbook or a CSV.",
            hint="Save the record sheet as .xlsx or CSV.",
        )
    import openpyxl

    with path.open("rb") as fh:  # openpyxl refuses a file name without .xlsx/.xlsm, not a file object
        try:
            book = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except Exception as err:
            raise ParseError(path, f"is not a readable XLSX workbook ({type(err).__name__}: {err}).") from err
        try:  # (read-only sheets are read from the open file, row by row)
            names = sorted(book.sheetnames, key=lambda n: n.strip().lower() != "record")
            for name in names:
                rows = [list(r) for r in book[name].iter_rows(values_only=True)]
                head = rows[: _NESTED_ROWS_MAX + 2]
                if any(
                    _is_flat_header(r) or _is_nested_header(head, i)
                    for i, r in enumerate(head[:_NESTED_ROWS_MAX])
                ):
                    return rows, list(range(1, len(rows) + 1))
        finally:
            book.close()
    raise ParseError(
        path,
        f"no sheet has a Neware record header; expected a 'record' sheet with DataPoint, "
        f"Cycle Index, Step Type, Voltage and Current columns, found sheets {book.sheetnames}.",
        hint="Export the record layer from BTSDA.",
    )


def _rows(path: Path) -> tuple[list[list[Any]], list[int], bool]:
    """Rows, their 1-based line numbers, and whether a cut last line was left out.

    A workbook is told by its bytes, not its name (a renamed ``.xlsx`` is still one); a file
    named ``.xlsx``/``.xls`` whose bytes are no workbook gets openpyxl's verdict.
    """
    from ._limits import check_file, check_zip
    from ._workbook import workbook_kind

    check_file(path)  # a regular file within the size limit, before it is opened
    with path.open("rb") as fh:
        magic = fh.read(8)
    if magic.startswith(b"PK"):
        check_zip(path)  # an .xlsx is a ZIP: bound its members before openpyxl unpacks them
        return (*_xlsx_rows(path, workbook_kind(str(path))), False)
    if magic.startswith(_OLE2):
        return (*_xlsx_rows(path, ".xls"), False)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xls"):
        return (*_xlsx_rows(path, suffix), False)
    return _csv_rows(path)


# ---------------------------------------------------------------------------------------------
# Rows → record table
# ---------------------------------------------------------------------------------------------
def _trim(row: Sequence[Any]) -> list[Any]:
    """Drop trailing empty cells (the trailing comma of every BTSDA line)."""
    out = list(row)
    while out and (out[-1] is None or str(out[-1]).strip() == ""):
        out.pop()
    return out


def _records_flat(
    rows: list[list[Any]], lines: list[int], at: int
) -> tuple[list[Any], list[list[Any]], list[int]]:
    header = _trim(rows[at])
    # any() is a cheap emptiness test; whitespace-only rows fail later with a line number
    body = [(r, ln) for r, ln in zip(rows[at + 1 :], lines[at + 1 :], strict=True) if any(r)]
    return header, [r for r, _ in body], [ln for _, ln in body]


def _records_nested(
    path: Path, rows: list[list[Any]], lines: list[int], at: int
) -> tuple[list[Any], list[list[Any]], list[int]]:
    cycle_hdr = _trim(rows[at])
    step_hdr = _trim(rows[at + 1])[1:]
    rec_hdr = _trim(rows[at + 2])[2:]
    cyc_col = 0
    step_fields = [_field(c) for c in step_hdr]
    step_col = step_fields.index("step")
    type_col = step_fields.index("step_type") if "step_type" in step_fields else None
    cycle: Any = None
    step: Any = None
    step_type: Any = None
    records: list[list[Any]] = []
    rec_lines: list[int] = []
    for row, line in zip(rows[at + 3 :], lines[at + 3 :], strict=True):
        cells = _trim(row)
        if not cells:
            continue
        level = _leading_empty(cells)
        if level == 0:  # cycle row, possibly merged with the first step row of the cycle
            cycle = cells[cyc_col]
            step_cells = cells[len(cycle_hdr) :] if len(cells) > len(cycle_hdr) else None
        elif level == 1:
            step_cells = cells[1:]
        elif level == 2:
            if step is None:
                raise ParseError(
                    path,
                    "a record row comes before any step row; expected the nested "
                    "BTSDA layout (cycle, step, then record rows).",
                    line=line,
                )
            records.append([cycle, step, step_type, *row[2:]])
            rec_lines.append(line)
            continue
        else:
            raise ParseError(
                path,
                f"a row starts with {level} empty cells; expected 0 (cycle), "
                "1 (step) or 2 (record) in the nested BTSDA export.",
                line=line,
            )
        if step_cells:
            if len(step_cells) <= step_col:
                raise ParseError(path, "a step row is too short; expected a Step Index value.", line=line)
            step = step_cells[step_col]
            step_type = step_cells[type_col] if type_col is not None and len(step_cells) > type_col else None
    header = [cycle_hdr[cyc_col], step_hdr[step_col], "Step Type", *rec_hdr]
    return header, records, rec_lines


def _table(
    path: Path, rows: list[list[Any]], lines: list[int]
) -> tuple[list[Any], list[list[Any]], list[int], int]:
    """Header, record rows, their line numbers, and the line of the (record) header."""
    for at, row in enumerate(rows[:_NESTED_ROWS_MAX]):
        if _is_nested_header(rows, at):
            return (*_records_nested(path, rows, lines, at), lines[at + 2])
        if _is_flat_header(row):
            return (*_records_flat(rows, lines, at), lines[at])
    first = ", ".join(str(c) for c in _trim(rows[0])[:6]) if rows else "no rows"
    raise ParseError(
        path,
        "is not a Neware BTSDA export; expected a header with DataPoint, Cycle Index, Step Type, "
        f"Voltage and Current columns, found {first!r}.",
        line=lines[0] if lines else None,
        hint="Export the record layer from BTSDA, or read a plain table with eisna.io.table.",
    )


# ---------------------------------------------------------------------------------------------
# Cell conversion
# ---------------------------------------------------------------------------------------------
def parse_duration(value: Any, unit: str | None = None) -> float:
    """Return a BTSDA duration in seconds (NaN for an empty cell).

    Parameters
    ----------
    value : str, float, datetime.timedelta, datetime.time or datetime.datetime
        ``"144:02:18"``, ``"00:00:03.000"``, ``"1-02:03:04"``, ``"1d 02:03:04"``, a number in
        ``unit``, or a spreadsheet cell (a datetime counts from Excel's day 0, 1899-12-30).
    unit : str, optional
        Unit of a plain number (``"s"``, ``"min"``, ``"h"``); seconds when None.

    Raises
    ------
    ValueError
        The text is not a duration.
    """
    if value is None:
        return float("nan")
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, dt.datetime):
        return (value - _EXCEL_EPOCH).total_seconds()
    if isinstance(value, dt.time):
        return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond * 1e-6
    if isinstance(value, int | float):
        return float(value) * _UNITS["time"].get(unit or "s", 1.0)
    text = str(value).strip()
    if not text:
        return float("nan")
    match = _DURATION_RE.match(text)
    if match:
        days = int(match["d"]) if match["d"] else 0
        return days * 86400 + int(match["h"]) * 3600 + int(match["m"]) * 60 + float(match["s"])
    return float(text) * _UNITS["time"].get(unit or "s", 1.0)


def _bad_cell(
    path: Path, values: Sequence[Any], ok: Iterable[bool], lines: list[int], column: str, expected: str
) -> ParseError:
    for value, good, line in zip(values, ok, lines, strict=True):
        if not good:
            return ParseError(path, f"expected {expected}, found {value!r}.", line=line, column=column)
    return ParseError(path, f"expected {expected}.", column=column)  # pragma: no cover


def _numbers(path: Path, values: list[Any], lines: list[int], column: str, scale: float = 1.0) -> Any:
    import numpy as np
    import pandas as pd

    try:  # fast path: every cell is a number or numeric text
        return np.asarray(values, dtype=float) * scale
    except (TypeError, ValueError):
        pass
    series = pd.Series(values, dtype=object)
    blank = series.isna() | (series.astype(str).str.strip() == "")
    out = pd.to_numeric(series.where(~blank), errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(out) & ~blank.to_numpy()
    if bad.any():
        raise _bad_cell(path, values, ~bad, lines, column, "a number")
    return out * scale


def _durations(path: Path, values: list[Any], lines: list[int], column: str, unit: str | None) -> Any:
    import numpy as np

    if unit is not None and unit in _UNITS["time"]:
        return _numbers(path, values, lines, column, _UNITS["time"][unit])
    if values and all(isinstance(v, str) for v in values):
        # fast path for H:MM:SS[.fff] text: one split over the joined column
        joined = ":".join(values)
        if joined.count(":") == 3 * len(values) - 1:
            try:
                hms = np.array(joined.split(":"), dtype=float).reshape(-1, 3)
            except ValueError:  # day prefixes, blanks or junk: the loop below says where
                pass
            else:
                return hms[:, 0] * 3600 + hms[:, 1] * 60 + hms[:, 2]
    out = np.empty(len(values))
    match = _DURATION_RE.match
    for k, value in enumerate(values):
        found = match(value) if isinstance(value, str) else None
        if found:  # the common text case, inlined for speed
            days, hours, minutes, seconds = found.groups()
            out[k] = (
                (int(days) * 86400 if days else 0) + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
            )
            continue
        try:
            out[k] = parse_duration(value, unit)
        except ValueError:
            raise ParseError(
                path,
                f"expected a duration (H:MM:SS[.fff] or a number), found {value!r}.",
                line=lines[k],
                column=column,
            ) from None
    return out


def _scale(path: Path, field: str, column: str, unit: str | None) -> float:
    table = _UNITS[_UNIT_OF[field]]
    if unit in table:
        return table[unit]
    expected = "/".join(table)
    raise ParseError(
        path,
        f"unknown or missing unit {unit!r} in the header; expected one of {expected}.",
        column=column,
        hint="Re-export from BTSDA with explicit units in the column names.",
    )


def _locate(path: Path, header: list[Any], header_line: int | None) -> dict[str, tuple[int, str, str | None]]:
    """Field → (column index, column name, unit); voltage and current are required."""
    # first column wins when a name repeats (e.g. "Time" then "Total Time")
    where: dict[str, tuple[int, str, str | None]] = {}
    for k, cell in enumerate(header):
        name, unit = _split_header(cell)
        field = _LOOKUP.get(name)
        if field is not None and field not in where:
            where[field] = (k, str(cell).strip(), unit)
    for need in ("voltage", "current"):
        if need not in where:
            raise ParseError(
                path,
                f"no {need} column; expected e.g. '{need.title()}(V)' or "
                f"'{need.title()}(mA)', found columns {[str(c) for c in header]}.",
                line=header_line,
            )
    return where


def _transpose(
    path: Path, width: int, needed: int, records: list[list[Any]], lines: list[int]
) -> list[tuple[Any, ...]]:
    """Columns of the record rows (short rows padded with None); a row without the needed cells fails."""
    for row, line in zip(records, lines, strict=True):
        if len(row) < needed:
            raise ParseError(
                path,
                f"the row has {len(row)} cells; expected at least {needed} as in the header "
                "(the file may be truncated).",
                line=line,
                hint="Re-export the file from BTSDA.",
            )
    if not records:
        return [() for _ in range(width)]
    return list(zip(*[(r + [None] * (width - len(r)))[:width] for r in records], strict=True))


def _time_axis(
    path: Path,
    where: dict[str, tuple[int, str, str | None]],
    raw: Any,
    lines: list[int],
    n: int,
    header_line: int | None,
) -> tuple[Any, Any]:
    """``(timestamp Series, time_s array)`` from the date and total-time columns."""
    import pandas as pd

    timestamp = (
        _timestamps(path, raw("date"), lines, where["date"][1])
        if "date" in where
        else (pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"))
    )
    if "total_time" in where:
        _, column, unit = where["total_time"]
        return timestamp, _durations(path, raw("total_time"), lines, column, unit)
    if "date" in where and n:
        return timestamp, (timestamp - timestamp.iloc[0]).dt.total_seconds().to_numpy()
    raise ParseError(
        path,
        "no total-time column; expected 'Total Time' or 'Cumulative Time' "
        "(or a 'Date' column to derive it from).",
        line=header_line,
    )


def _frame(
    path: Path, header: list[Any], records: list[list[Any]], lines: list[int], header_line: int | None
) -> pd.DataFrame:
    """Build the common SI frame from the record rows (``header_line``: 1-based, for messages)."""
    import numpy as np
    import pandas as pd

    where = _locate(path, header, header_line)
    needed = max(k for k, _, _ in where.values()) + 1
    cols = _transpose(path, len(header), needed, records, lines)

    def raw(field: str) -> list[Any]:
        return list(cols[where[field][0]])

    def number(field: str) -> Any:
        _, column, unit = where[field]
        return _numbers(path, raw(field), lines, column, _scale(path, field, column, unit))

    n = len(records)
    nan = np.full(n, np.nan)
    step_type = (
        np.array(_map_unique(_step_type, raw("step_type")), dtype=object)
        if "step_type" in where
        else (np.full(n, None, dtype=object))
    )
    discharge = np.array([isinstance(t, str) and "dchg" in t.lower() for t in step_type], dtype=bool)

    current = number("current")
    # the nested export writes |I|; Neware's sign convention is + = charge
    current = np.where(discharge & (current > 0), -current, current)
    if "chg_capacity" in where and "dchg_capacity" in where:
        capacity = number("chg_capacity") - number("dchg_capacity")
    elif "capacity" in where:
        capacity = number("capacity")
        capacity = np.where(discharge & (capacity > 0), -capacity, capacity)
    else:
        capacity = nan
    timestamp, time_s = _time_axis(path, where, raw, lines, n, header_line)

    data: dict[str, Any] = {
        "time_s": time_s,
        "voltage_V": number("voltage"),
        "current_A": current,
        "capacity_Ah": capacity,
        "cycle": _integers(path, raw("cycle"), lines, where["cycle"][1]) if "cycle" in where else nan,
        "step": _integers(path, raw("step"), lines, where["step"][1]) if "step" in where else nan,
        "step_type": step_type,
        "timestamp": timestamp.to_numpy(),
    }
    if "record" in where:
        data["record_index"] = _integers(path, raw("record"), lines, where["record"][1])
    if "step_time" in where:
        _, column, unit = where["step_time"]
        data["step_time_s"] = _durations(path, raw("step_time"), lines, column, unit)
    if "energy" in where:
        energy = number("energy")
        data["energy_Wh"] = np.where(discharge & (energy > 0), -energy, energy)
    return pd.DataFrame(data)


def _integers(path: Path, values: list[Any], lines: list[int], column: str) -> Any:
    import numpy as np

    out = _numbers(path, values, lines, column)
    if np.isnan(out).any() or (out != np.round(out)).any():
        return out
    return out.astype(np.int64)


def _map_unique(func: Any, values: list[Any]) -> list[Any]:
    """``[func(v) for v in values]``, calling ``func`` once per distinct value."""
    cache: dict[Any, Any] = {}
    return [cache[v] if v in cache else cache.setdefault(v, func(v)) for v in values]


def _step_type(value: Any) -> str | None:
    """``"CC Chg"`` → ``"CC_Chg"`` (fastnda's spelling); Chinese names mapped to English."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    return _STEP_TYPES_ZH.get(text, "_".join(text.split()))


def _timestamps(path: Path, values: list[Any], lines: list[int], column: str) -> pd.Series:
    import pandas as pd

    series = pd.Series(values, dtype=object)
    blank = series.isna() | (series.astype(str).str.strip() == "")
    try:
        stamps = pd.to_datetime(series.where(~blank), format="ISO8601")
    except (ValueError, TypeError):
        stamps = pd.to_datetime(series.where(~blank), format="mixed", errors="coerce")
    bad = stamps.isna() & ~blank
    if bad.any():
        raise _bad_cell(path, values, (~bad).tolist(), lines, column, "a date 'YYYY-MM-DD hh:mm:ss[.fff]'")
    return stamps.astype("datetime64[ns]")


# ---------------------------------------------------------------------------------------------
# Public reader functions
# ---------------------------------------------------------------------------------------------
def read_cycling(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a BTSDA CSV or XLSX export into eisna's common cycling columns.

    Parameters
    ----------
    path : str or PathLike
        A flat or nested BTSDA CSV/TXT export, or an XLSX workbook with a ``record`` sheet.

    Returns
    -------
    pandas.DataFrame
        One row per record: ``time_s`` (total test time, s), ``voltage_V`` (V), ``current_A``
        (A, + = charge), ``capacity_Ah`` (Ah, charge − discharge within the step),
        ``cycle``, ``step`` (program step index), ``step_type`` (``"CC_Chg"``, ``"Rest"``, …),
        ``timestamp`` (naive local time, NaT when the export has no ``Date``), and where
        present ``record_index``, ``step_time_s`` and ``energy_Wh``.

    Raises
    ------
    ParseError
        Not a Neware export, an unknown unit, or a cell that is not a number/duration/date
        (the message gives the line and column).
    """
    path = Path(path)
    try:
        rows, lines, cut = _rows(path)
    except EisnaError:
        raise
    except OSError as err:
        raise ParseError(path, f"cannot be opened ({err.strerror or err}).", hint="Check the path.") from err
    header, records, rec_lines, header_line = _table(path, rows, lines)
    if not records:
        raise ParseError(
            path,
            "has a Neware header but no record rows; expected at least one record.",
            hint="The export may be truncated or empty; re-export it from BTSDA.",
        )
    frame = _frame(path, header, records, rec_lines, header_line)
    if cut:
        frame.attrs["truncated"] = True
        frame.attrs["dropped"] = {"cut last line": 1}
    return frame


def _generic_table_reader() -> ModuleType | None:
    """The generic impedance-table reader module, or None when this build has none."""
    try:
        from . import table
    except ModuleNotFoundError:
        return None
    return table


def read(path: str | os.PathLike[str], **options: Any) -> list[Spectrum]:
    """Raise :class:`~eisna.errors.NoImpedanceData` for a Neware export.

    A CSV/XLSX file that is not a Neware export (chosen here by its extension) is handed to
    the generic ``table`` reader when one is installed.

    Raises
    ------
    NoImpedanceData
        The file is a Neware BTSDA export (cycling data only).
    ParseError
        The file is neither a Neware export nor a readable table.
    """
    path = Path(path)
    try:
        rows, lines, _ = _rows(path)
        _table(path, rows[: _NESTED_ROWS_MAX + 3], lines[: _NESTED_ROWS_MAX + 3])
    except OSError as err:
        raise ParseError(path, f"cannot be opened ({err.strerror or err}).", hint="Check the path.") from err
    except ParseError:
        table = _generic_table_reader()  # a generic impedance table that reached us by its extension
        if table is None:
            raise
        return table.read(path, **options)
    raise NoImpedanceData(f"{path}: {NO_EIS_MESSAGE}")
