"""Gamry Framework ``.DTA`` files (EISPOT, EISGALV), written from the format as observed.

Layout: line 1 ``EXPLAIN``, then one tab-separated line per setting, ``KEY<TAB>TYPE<TAB>value...``
(``TAG EISPOT``, ``DATE LABEL 4/23/2018``, ``AREA QUANT 1.00000E+000``, ``VDC POTEN -5E-002 T``,
``NOTES NOTES n`` followed by *n* indented note lines). A ``KEY<TAB>TABLE[<TAB>n]`` line opens a
curve: a line of column names, a line of units, then one indented row per point. Every table with
``Freq``, ``Zreal`` and ``Zimag`` columns is an impedance curve (``ZCURVE``); the others
(``OCVCURVE``, ``FRACURVE``) are skipped. Handled here, each seen in real files:

* several impedance tables in one file, each one spectrum, in file order;
* an aborted curve (``EXPERIMENTABORTED TOGGLE T`` after the table): the points measured so far
  are kept and ``meta["aborted"]`` is True;
* drift correction (``DRIFTCOR SELECTOR 1``, columns ``ZrealDrCor``/``ZimagDrCor``): the
  drift-corrected impedance is used by default (``drift_corrected=False`` takes the raw
  ``Zreal``/``Zimag``); ``meta["impedance_columns"]`` records which pair was read;
* a locale decimal comma (``1,00000E+000``) in the settings and the rows;
* a record that starts with its tag instead of ``EXPLAIN`` (the Virtual Front Panel's
  ``VFP600``, then ``TAG VFP600``): parsed alike, so it is told apart from a foreign file;
* rows whose leading tab was replaced by spaces;
* an anonymised date (``DD-M-YYYY``): a :class:`~eisna.errors.MetadataWarning`, timestamp None.

Dates: ``M/D/YYYY`` with slashes (US locale, as Gamry writes it); ``D-M-YYYY`` or ``D.M.YYYY``
with dashes or dots; a first field above 12 is always the day.
"""

from __future__ import annotations

import os
import re
import warnings
from datetime import datetime
from typing import Any

import numpy as np

from ..errors import MetadataWarning, NoImpedanceData, ParseError
from ..spectrum import Spectrum
from ._points import finite_points
from ._sweep import sweep_times
from ._text import cut_last_line, decode_text, read_bytes

__all__ = ["DESCRIPTION", "EXTENSIONS", "NAME", "read", "sniff"]

NAME = "gamry-dta"
DESCRIPTION = "Gamry Framework .DTA"
EXTENSIONS = (".dta",)

# Framework tags: "Galvanostatic EIS.exp" writes GALVEIS (seen in a real export), older scripts EISGALV
_TECHNIQUES = {"EISPOT": "PEIS", "EISGALV": "GEIS", "GALVEIS": "GEIS", "EISMON": "PEIS"}
_DATE = re.compile(r"^\s*(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})\s*$")
_COMMA_NUMBER = re.compile(r"[-+]?\d+,\d+(?:[eE][-+]?\d+)?")
# a clock time, with fractional seconds (newer Framework writes ``21:09:58.727375``) and a
# 12-hour suffix (``2:29:15 PM``) as Windows locales write them
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*([AaPp][Mm])?\s*$")
# Virtual Front Panel records start with their tag instead of EXPLAIN ("VFP600", "TAG\tVFP600")
_TAG_FIRST = re.compile(r"\A\s*(\w+)[ \t]*\r?\nTAG\t\1\b")


def sniff(head: bytes) -> bool:
    """Return True for a Gamry ``.DTA`` file (``EXPLAIN`` then a ``TAG`` line).

    Parameters
    ----------
    head : bytes
        The first bytes of the file.
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return text.startswith(b"EXPLAIN") and b"\nTAG\t" in text[:200].replace(b"\r\n", b"\n")


def _number(text: str, decimal: str) -> float:
    return float(text.replace(",", ".") if decimal == "," else text)


def _parse_date(path: str, date: str | None, clock: str | None) -> datetime | None:
    if date is None or clock is None:
        return None
    d, t = _DATE.match(date), _TIME.match(clock)
    if d is None or t is None:
        warnings.warn(
            f"{path}: DATE {date!r} / TIME {clock!r} is not a date and time (anonymised?); "
            "timestamp set to None.",
            MetadataWarning,
            stacklevel=4,
        )
        return None
    first, sep, second, year = int(d[1]), d[2], int(d[3]), int(d[4])
    month, day = (first, second) if sep == "/" else (second, first)
    if month > 12:
        month, day = day, month
    hour = int(t[1])
    if t[5] is not None and hour <= 12:  # 12 AM is midnight, 12 PM is noon
        hour = hour % 12 + (12 if t[5].upper() == "PM" else 0)
    microsecond = int((t[4] or "0")[:6].ljust(6, "0"))
    try:
        return datetime(year, month, day, hour, int(t[2]), int(t[3]), microsecond)
    except ValueError:
        warnings.warn(
            f"{path}: DATE {date!r} is not a valid date; timestamp set to None.",
            MetadataWarning,
            stacklevel=4,
        )
        return None


def _parse(path: str, text: str) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    """Return the settings (key → fields after the type) and the tables of a ``.DTA`` text."""
    lines = text.splitlines()
    settings: dict[str, list[str]] = {}
    tables: list[dict[str, Any]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line[0] in " \t":
            continue
        fields = line.split("\t")
        key, kind = fields[0].strip(), (fields[1].strip() if len(fields) > 1 else "")
        if kind == "NOTES":  # the note lines are indented (skipped above); the count can lie
            continue
        if kind != "TABLE":
            settings[key] = [f.strip() for f in fields[1:]]
            continue
        if i + 1 >= len(lines):
            raise ParseError(path, f"table {key} has no column-name and unit lines.", line=i)
        names = lines[i].strip().split("\t")
        first = i + 3  # 1-based line number of the first row
        rows: list[list[str]] = []
        i += 2
        while i < len(lines) and lines[i][:1] in (" ", "\t") and lines[i].strip():
            rows.append(lines[i].split())
            i += 1
        tables.append(
            {
                "name": key,
                "columns": [n.strip() for n in names],
                "rows": rows,
                "first_line": first,
                "aborted": False,
            }
        )
        if i < len(lines) and lines[i].startswith("EXPERIMENTABORTED"):
            tables[-1]["aborted"] = lines[i].split("\t")[2:3] == ["T"]
    return settings, tables


def _setting(settings: dict[str, list[str]], key: str, decimal: str) -> float | None:
    fields = settings.get(key)
    if not fields or len(fields) < 2:
        return None
    try:
        return _number(fields[1], decimal)
    except ValueError:
        return None


def _table_arrays(path: str, table: dict[str, Any], decimal: str) -> dict[str, np.ndarray]:
    names = table["columns"]
    data = np.full((len(table["rows"]), len(names)), np.nan)
    for r, row in enumerate(table["rows"]):
        for c, cell in enumerate(row[: len(names)]):
            try:
                data[r, c] = _number(cell, decimal)
            except ValueError:
                if c < 5:  # Pt, Time, Freq, Zreal, Zimag must be numbers; flags may be text
                    raise ParseError(
                        path,
                        f"expected a number, found {cell!r}.",
                        line=table["first_line"] + r,
                        column=names[c],
                        hint="The file is corrupt; re-export it from Gamry.",
                    ) from None
    return {name: data[:, c] for c, name in enumerate(names)}


def read(path: str | os.PathLike[str], *, drift_corrected: bool = True) -> list[Spectrum]:
    """Read every impedance curve of a Gamry ``.DTA`` file.

    Parameters
    ----------
    path : str or PathLike
        The file.
    drift_corrected : bool, default True
        Use ``ZrealDrCor``/``ZimagDrCor`` (Ω) where the file has them.

    Returns
    -------
    list of Spectrum
        One per impedance table. ``meta`` holds ``technique`` ("PEIS"/"GEIS"), ``tag``,
        ``area_cm2``, ``dc_potential_V`` (VDC setting, V) and ``dc_vs_eoc``, or
        ``dc_current_A`` (IDC, A), ``Ewe_V``/``I_A`` (mean measured Vdc/Idc), ``eoc_V``,
        ``instrument``, ``device``, ``software_version``, ``curve``, ``aborted``,
        ``impedance_columns``, ``drift_corrected`` and ``n_dropped``.

    Raises
    ------
    ParseError
        Not a ``.DTA`` file, or a row that does not parse.
    NoImpedanceData
        The file has no impedance table (e.g. a CV or OCV experiment).
    """
    path = str(path)
    text, _ = decode_text(read_bytes(path))
    if not text.lstrip().startswith("EXPLAIN") and not _TAG_FIRST.match(text):
        raise ParseError(path, "expected a Gamry .DTA file starting with 'EXPLAIN'.", line=1)
    lines = text.splitlines()
    last_table = max((k for k, ln in enumerate(lines) if "\tTABLE" in ln[:40]), default=None)
    cut_at = None
    if last_table is not None:  # a table that runs to the end of the file may end in a cut row
        cut_at = cut_last_line(path, text, lines, last_table + 3, re.compile(r"\s+"))
    if cut_at is not None:
        text = "\n".join(lines[:cut_at]) + "\n"
    settings, tables = _parse(path, text)
    if cut_at is not None and tables:
        tables[-1]["cut"] = True
    decimal = _sniff_decimal(settings, tables)
    curves = [t for t in tables if {"Freq", "Zreal", "Zimag"} <= set(t["columns"])]
    tag = settings.get("TAG", [""])[0]
    if not curves:
        if "EIS" in tag.upper():  # an impedance experiment whose table is missing: cut short?
            raise NoImpedanceData(
                f"{path}: Gamry {tag} holds no impedance table (ZCURVE); the file ends at line "
                f"{text.count(chr(10)) + 1}. If the measurement ran, the file is truncated: copy it again."
            )
        raise NoImpedanceData(f"{path}: Gamry {tag or 'file'} holds no impedance table (ZCURVE).")
    start = _parse_date(path, _first(settings, "DATE"), _first(settings, "TIME"))
    vdc = settings.get("VDC", [])
    meta_common = {
        "source": path,
        "format": NAME,
        "tag": tag,
        "technique": _TECHNIQUES.get(tag, tag or None),
        "title": _first(settings, "TITLE"),
        "area_cm2": _setting(settings, "AREA", decimal),
        "dc_potential_V": _setting(settings, "VDC", decimal),
        "dc_vs_eoc": (vdc[2] == "T") if len(vdc) > 2 else None,
        "dc_current_A": _setting(settings, "IDC", decimal),
        "eoc_V": _setting(settings, "EOC", decimal),
        "instrument": f"Gamry ({pstat})" if (pstat := _first(settings, "PSTAT")) else "Gamry",
        "device": _first(settings, "PSTAT"),
        "software_version": _first(settings, "FRAMEWORKVERSION"),
        "header": {k: "\t".join(v) for k, v in settings.items()},
    }
    spectra: list[Spectrum] = []
    for table in curves:
        spectrum = _spectrum(path, table, len(spectra), decimal, drift_corrected, start, meta_common)
        if spectrum is not None:
            spectra.append(spectrum)
    if not spectra:
        raise NoImpedanceData(f"{path}: no impedance table holds a point with freq > 0 Hz.")
    return spectra


def _sniff_decimal(settings: dict[str, list[str]], tables: list[dict[str, Any]]) -> str:
    """``","`` when a setting value or a table cell is a number with a decimal comma."""
    cells = [f[1] for f in settings.values() if len(f) > 1]
    cells += [cell for t in tables for row in t["rows"][:3] for cell in row]
    return "," if any(_COMMA_NUMBER.fullmatch(c) for c in cells) else "."


def _first(settings: dict[str, list[str]], key: str) -> str | None:
    fields = settings.get(key)
    return fields[1] if fields and len(fields) > 1 else None


def _spectrum(
    path: str,
    table: dict[str, Any],
    index: int,
    decimal: str,
    drift_corrected: bool,
    start: datetime | None,
    common: dict[str, Any],
) -> Spectrum | None:
    cols = _table_arrays(path, table, decimal)
    use_drift = drift_corrected and "ZrealDrCor" in cols and "ZimagDrCor" in cols
    re_name, im_name = ("ZrealDrCor", "ZimagDrCor") if use_drift else ("Zreal", "Zimag")
    freq = cols["Freq"]
    z = cols[re_name] + 1j * cols[im_name]
    keep = finite_points(freq, z)
    if not keep.any():
        warnings.warn(
            f"{path}, line {table['first_line']}: table {table['name']} holds no point "
            "with freq > 0 Hz; skipped.",
            MetadataWarning,
            stacklevel=4,
        )
        return None
    time_s = cols.get("Time")
    vdc, idc = cols.get("Vdc"), cols.get("Idc")
    meta = dict(common)
    meta.update(
        {
            "index": index,
            "curve": table["name"],
            "aborted": table["aborted"],
            "impedance_columns": (re_name, im_name),
            "drift_corrected": use_drift,
            "Ewe_V": float(np.nanmean(vdc[keep])) if vdc is not None else None,
            "I_A": float(np.nanmean(idc[keep])) if idc is not None else None,
            "n_dropped": int((~keep).sum()) + bool(table.get("cut")),
        }
    )
    if table.get("cut"):
        meta["dropped"] = {"cut last line": 1}
        meta["truncated"] = True
    meta["curve_time_s"] = float(time_s[keep][0]) if time_s is not None else None
    meta.update(sweep_times(time_s, np.flatnonzero(keep)))
    # DATE/TIME is the start of the experiment; the curve's Time column has no stated origin
    elapsed = 0.0 if start is not None else None
    return Spectrum(freq=freq[keep], z=z[keep], timestamp=start, elapsed_s=elapsed, meta=meta)
