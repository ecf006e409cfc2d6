"""Cells of spreadsheet workbooks: ``.xlsx`` (openpyxl), ``.ods`` (odfpy) and flat ``.fods`` XML.

Every sheet is returned as a list of rows of raw cell values (numbers, text or None),
so the table reader can find the header and the data itself.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from ..errors import ParseError

__all__ = ["WORKBOOK_KINDS", "read_sheets", "workbook_kind"]

_MAX_ROWS = 1_000_000
_MAX_UNZIPPED = 512 * 1024 * 1024  # bytes a workbook may expand to
_MAX_ZIP_RATIO = 300  # expanded / compressed: more is a zip bomb, not a spreadsheet
_MAX_REPEAT = 1000  # "number-columns-repeated" pads rows to 16384 empty cells: never expand that far
_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


WORKBOOK_KINDS = (".xlsx", ".xlsm", ".xls", ".ods", ".fods")


def workbook_kind(path: str) -> str | None:
    """``".xlsx"``, ``".ods"``, ``".fods"`` or ``".xls"`` from the file's bytes; None for other files.

    Used when the extension does not say (a workbook renamed ``.txt`` or saved without one).
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
        if head.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                if "xl/workbook.xml" in names:
                    return ".xlsx"
                if "mimetype" in names and b"opendocument.spreadsheet" in archive.read("mimetype")[:100]:
                    return ".ods"
            return None
    except (OSError, zipfile.BadZipFile, KeyError, ValueError):
        return None
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: the legacy .xls
        return ".xls"
    if b"<office:document" in head and b"opendocument.spreadsheet" in head:
        return ".fods"
    return None


def read_sheets(path: str) -> list[tuple[str, list[list[Any]]]]:
    """``(sheet name, rows)`` for every sheet of the workbook at ``path``.

    Raises
    ------
    ParseError
        Missing, corrupt or unsupported workbook (the message says which and what to do).
    """
    suffix = Path(path).suffix.lower()
    if not Path(path).is_file():
        raise ParseError(path, "file not found.", hint="Check the path.")
    if suffix not in WORKBOOK_KINDS:  # renamed, or saved without an extension: judge the bytes
        suffix = workbook_kind(path) or suffix
    try:
        if suffix == ".fods":
            return _fods(path)
        if suffix == ".ods":
            return _ods(path)
        if suffix == ".xls":
            return _pandas(path)
        _check_zip(path)
        return _xlsx(path)
    except ParseError:
        raise
    except ImportError as err:
        raise ParseError(
            path, f"reading {suffix} files needs the package {err.name!r}.", hint=f"pip install {err.name}"
        ) from err
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError, ValueError, OSError) as err:
        raise ParseError(
            path,
            f"cannot be opened as a {suffix} workbook ({type(err).__name__}: {err}); it may be "
            "truncated (copied before it was saved) or not a workbook.",
            hint="Save it again from the spreadsheet program, or export the sheet as CSV.",
        ) from err


def _xlsx(path: str) -> list[tuple[str, list[list[Any]]]]:
    import openpyxl

    with open(path, "rb") as fh:  # a file object: openpyxl refuses a name without .xlsx
        return _xlsx_sheets(openpyxl.load_workbook(fh, read_only=True, data_only=True))


def _xlsx_sheets(book: Any) -> list[tuple[str, list[list[Any]]]]:
    try:
        sheets = []
        for ws in book.worksheets:
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()  # some writers store a wrong sheet size (NREL OSIF: "A1")
            rows = []
            for k, row in enumerate(ws.iter_rows(values_only=True)):
                if k >= _MAX_ROWS:
                    break
                rows.append(list(row))
            sheets.append((ws.title, rows))
        return sheets
    finally:
        book.close()


def _pandas(path: str) -> list[tuple[str, list[list[Any]]]]:
    import pandas as pd

    frames = pd.read_excel(path, sheet_name=None, header=None)
    return [
        (str(name), [[None if pd.isna(v) else v for v in row] for row in frame.itertuples(index=False)])
        for name, frame in frames.items()
    ]


def _check_zip(path: str) -> None:
    """Refuse an archive that would expand far beyond any real workbook (a zip bomb)."""
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    expanded = sum(i.file_size for i in infos)
    packed = max(sum(i.compress_size for i in infos), 1)
    if expanded > _MAX_UNZIPPED or expanded / packed > _MAX_ZIP_RATIO:
        raise ParseError(
            path,
            f"the workbook expands to {expanded} bytes from {packed} ({expanded / packed:.0f}x); "
            f"refusing more than {_MAX_UNZIPPED} bytes or {_MAX_ZIP_RATIO}x.",
            hint="Export the sheet as CSV and read that instead.",
        )


def _ods(path: str) -> list[tuple[str, list[list[Any]]]]:
    _check_zip(path)
    with zipfile.ZipFile(path) as archive:
        content = archive.read("content.xml")
    return _opendocument_tables(ElementTree.fromstring(content))


def _fods(path: str) -> list[tuple[str, list[list[Any]]]]:
    return _opendocument_tables(ElementTree.parse(path).getroot())


def _opendocument_tables(root: ElementTree.Element) -> list[tuple[str, list[list[Any]]]]:
    """Rows of every ``table:table`` of an OpenDocument spreadsheet (zipped content or flat XML)."""
    t = f"{{{_TABLE_NS}}}"
    sheets: list[tuple[str, list[list[Any]]]] = []
    for table in root.iter(f"{t}table"):
        rows: list[list[Any]] = []
        for row in table.iter(f"{t}table-row"):
            cells: list[Any] = []
            for cell in row:
                if cell.tag not in (f"{t}table-cell", f"{t}covered-table-cell"):
                    continue
                repeat = min(int(cell.get(f"{t}number-columns-repeated", "1")), _MAX_REPEAT)
                cells.extend([_cell_value(cell)] * repeat)
            while cells and cells[-1] is None:
                cells.pop()
            repeat_rows = min(int(row.get(f"{t}number-rows-repeated", "1")), _MAX_REPEAT if cells else 1)
            rows.extend([list(cells) for _ in range(repeat_rows)])
            if len(rows) >= _MAX_ROWS:
                break
        while rows and not rows[-1]:
            rows.pop()
        sheets.append((table.get(f"{t}name", f"Sheet{len(sheets) + 1}"), rows))
    return sheets


def _cell_value(cell: ElementTree.Element) -> Any:
    kind = cell.get(f"{{{_OFFICE_NS}}}value-type")
    if kind in ("float", "percentage", "currency"):
        return float(cell.get(f"{{{_OFFICE_NS}}}value", "nan"))
    text = "\n".join("".join(p.itertext()) for p in cell.iter(f"{{{_TEXT_NS}}}p"))
    return text if text else None
