"""BioLogic EC-Lab / BT-Lab ASCII exports (``.mpt``), written from the format as observed.

Layout: ``EC-Lab ASCII FILE``, ``Nb header lines : N``, settings (``key : value`` lines,
fixed-width technique tables), then the tab-separated column names on line N and the data
from line N+1. Handled here, each seen in real files:

* headers of any length, down to ``N = 3`` (no settings, no date);
* cp1252 text, CRLF or LF line endings;
* a locale decimal comma, detected from the data rows and applied to the header too;
* a column-name line wider than the data rows (aligned from the left) and trailing tabs;
* column aliases (``<Ewe>/V``, ``Ewe/V``, ``Ecell/V``; ``<I>/mA``, ``I/mA``) in any order;
* ``-Im(Z)/Ohm`` turned into the physical sign (Z″ < 0 for capacitive arcs), or Z built
  from ``|Z|`` and ``Phase(Z)`` when Re/Im columns are absent;
* several spectra per file, split on ``cycle number``, ``Ns`` and, in Modulo Bat runs, on
  each contiguous impedance step (the ``z cycle`` counter is kept as the cycle number; it
  can reset in the middle of a sweep, so it is not used to cut sweeps);
* rows with freq ≤ 0 Hz (time-domain or DC points), a non-finite frequency, or a non-finite
  or zero Z dropped and counted by reason (``meta["dropped"]``);
* a file that ends early (a cut last line, fewer points than the header's loop table, a
  last spectrum shorter than the one before) read up to the cut, with a
  :class:`~eisna.errors.TruncatedDataWarning` and ``meta["truncated"] = True``.

Timestamps: ``Acquisition started on`` (month first) plus the ``time/s`` of a spectrum's
first point, since ``time/s`` runs on from the start of the first linked technique.

Exports with ``Time format : Absolute`` hold the PC's date and clock time in ``time/s``
(``05/12/2023 14:23:45.1234``, month or day first); they are turned into elapsed seconds from
``Acquisition started on`` (or from the first row when the header has no date), the day/month
order decided as described in :mod:`eisna.io._absolute_time`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MetadataWarning, NoCyclingData, NoImpedanceData, ParseError, TruncatedDataWarning
from ..spectrum import Spectrum
from . import _absolute_time
from ._cell_potential import cell_potential, check_potential, header_evidence
from ._placeholders import mark_placeholder_area
from ._points import classify, dropped_by_spectrum
from ._sweep import sweep_times
from ._text import (
    decode_text,
    looks_cut,
    parse_ec_lab_datetime,
    parse_header_number,
    parse_key_value,
    read_bytes,
    sniff_decimal,
    split_spectra,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EXTENSIONS", "NAME", "MptFile", "load", "read", "read_cycling", "sniff"]

NAME = "biologic-mpt"
EXTENSIONS = (".mpt",)
# read_cycling(potential=...) chooses between these (eisna.io._cell_potential)
CELL_POTENTIALS = ("Ewe", "Ewe-Ece")

_MAGICS = (b"EC-Lab ASCII FILE", b"BT-Lab ASCII FILE")
_NB_HEADER = re.compile(r"^\s*Nb header lines\s*:\s*(\d{1,9})\s*$", re.IGNORECASE)
_VERSION = re.compile(r"(?:EC|BT)-Lab for windows v(\S+)\s*\(software\)", re.IGNORECASE)
_AVERAGE_AROUND_UNIT = re.compile(r"^<([^<>/]+)/([^<>]+)>$")  # "<Ewe/V>" for "<Ewe>/V"
_LOOP = re.compile(r"^\s*Loop\s+(\d+)\s+from point number\s+(\d+)\s+to\s+(\d+)\s*$")
_NUMBER = re.compile(r"^[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?$")
_TABLE_WIDTH = 20  # EC-Lab technique tables use 20-character columns

# Short names of the technique long names written on line 4.
TECHNIQUES: Mapping[str, str] = MappingProxyType(
    {
        "potentio electrochemical impedance spectroscopy": "PEIS",
        "galvano electrochemical impedance spectroscopy": "GEIS",
        "staircase potentio electrochemical impedance spectroscopy": "SPEIS",
        "staircase galvano electrochemical impedance spectroscopy": "SGEIS",
        "ir compensation (peis)": "ZIR",
        "modulo bat": "MB",
        "galvanostatic cycling with potential limitation": "GCPL",
        "potentiodynamic cycling with galvanostatic acceleration": "PCGA",
        "open circuit voltage": "OCV",
        "chronoamperometry / chronocoulometry": "CA",
        "chronopotentiometry": "CP",
        "cyclic voltammetry": "CV",
        "cyclic voltammetry advanced": "CVA",
        "linear sweep voltammetry": "LSV",
        "constant current": "CC",
        "constant voltage": "CV",
        "wait": "WAIT",
        "battery capacity determination": "BCD",
    }
)
_EIS_TECHNIQUES = frozenset({"PEIS", "GEIS", "SPEIS", "SGEIS", "ZIR"})
# Techniques that hold the cell at open circuit: no current is applied, so none is recorded
_REST_TECHNIQUES = frozenset({"OCV"})

# Column aliases, first match wins. EC-Lab's names vary with version and technique.
_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "freq": ("freq/Hz",),
        "re": ("Re(Z)/Ohm",),
        "neg_im": ("-Im(Z)/Ohm",),
        "im": ("Im(Z)/Ohm",),
        "modulus": ("|Z|/Ohm",),
        "phase": ("Phase(Z)/deg",),
        "time": ("time/s",),
        "ewe": ("<Ewe>/V", "Ewe/V", "Ecell/V", "<Ecell>/V"),
        "ece": ("<Ece>/V", "Ece/V"),
        "ewe_ece": ("Ewe-Ece/V", "<Ewe-Ece>/V"),
        "i_mA": ("<I>/mA", "I/mA"),
        "i_A": ("<I>/A", "I/A"),
        "cycle": ("cycle number",),
        "z_cycle": ("z cycle",),
        "ns": ("Ns",),
        "q_mAh": ("(Q-Qo)/mA.h", "Capacity/mA.h"),
        "q_C": ("(Q-Qo)/C",),
    }
)


def sniff(head: bytes) -> bool:
    """Return True for an EC-Lab/BT-Lab ASCII export or a bare EC-Lab column-name line.

    Parameters
    ----------
    head : bytes
        The first bytes of the file.
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(_MAGICS):
        return True
    return _bare_names(text.split(b"\n", 1)[0].decode("latin-1"))


# Names that only EC-Lab/BT-Lab write. A text export saved without its header starts with
# the column-name line; "freq/Hz" alone marks impedance data, a cycling or CV export is
# known by "time/s" next to one of EC-Lab's own columns.
_BARE_CYCLING_NAMES = frozenset({"mode", "ox/red", "Ewe/V", "Ecell/V", "<Ewe>/V", "control/V"})


def _bare_names(first: str) -> bool:
    """True when ``first`` is an EC-Lab column-name line (an export saved without its header)."""
    if "\t" not in first:
        return False
    names = {name.strip() for name in first.rstrip("\r").split("\t")}
    return "freq/Hz" in names or ("time/s" in names and bool(names & _BARE_CYCLING_NAMES))


@dataclass(frozen=True)
class MptFile:
    """The parsed content of one ``.mpt`` file (before it is cut into spectra).

    Attributes
    ----------
    path : str
        The file.
    header : Mapping
        ``key : value`` lines (str), technique-table rows (str, or tuple of str per
        sequence), flag lines (``""``), ``"loops"`` (tuple of (first, last) point
        numbers), ``"technique_name"`` (line 4), ``"software_version"`` and ``"decimal"``
        (the separator the numbers were read with).
    columns : Mapping[str, ndarray]
        Every named column as float64, in file order.
    first_data_line : int
        1-based line number of the first data row.
    n_rows : int
        Number of data rows.
    decimal : str
        ``"."`` or ``","``.
    encoding : str
        Encoding the text was decoded with.
    start : datetime or None
        ``Acquisition started on``.
    technique : str or None
        Short technique name (``"PEIS"``, ``"GEIS"``, ``"MB"`` …) or the long name
        when unknown; None when the header has no technique line.
    sequence_types : Mapping[int, str]
        Modulo Bat ``Ns`` → ``ctrl_type`` (``"Rest"``, ``"CC"``, ``"PEIS"`` …).
    cut_last_line : bool
        True when the last line had no line end and was shorter than the lines before
        it (a file cut in the middle of a row); that line is left out of the columns.
    absolute_time : AbsoluteTimes or None
        For a ``Time format : Absolute`` export: the date order found, why, and the origin
        of the elapsed seconds now held in ``time/s`` (``start`` is then that origin).
        None for the usual elapsed-seconds exports.
    """

    path: str
    header: Mapping[str, Any]
    columns: Mapping[str, np.ndarray]
    first_data_line: int
    n_rows: int
    decimal: str
    encoding: str
    start: datetime | None
    technique: str | None
    sequence_types: Mapping[int, str]
    cut_last_line: bool = False
    absolute_time: _absolute_time.AbsoluteTimes | None = None

    def column(self, role: str) -> np.ndarray | None:
        """Return the first column present among the aliases of ``role``, or None.

        An average written around the unit too (``<Ewe/V>``, EC-Lab 11.50 Constant Current)
        counts as the usual ``<Ewe>/V``.
        """
        named = self.named_column(role)
        return None if named is None else named[1]

    def named_column(self, role: str) -> tuple[str, np.ndarray] | None:
        """Like :meth:`column`, with the name the column has in the file."""
        for name in _COLUMNS[role]:
            if name in self.columns:
                return name, self.columns[name]
        for name, values in self.columns.items():
            if _AVERAGE_AROUND_UNIT.sub(r"<\1>/\2", name) in _COLUMNS[role]:
                return name, values
        return None

    @property
    def software_version(self) -> str | None:
        """EC-Lab/BT-Lab version from the ``... for windows vX (software)`` line, e.g. ``"11.33"``."""
        return self.header.get("software_version")

    @property
    def area_cm2(self) -> float | None:
        """``Electrode surface area`` in cm² (mm² and m² converted); None when unset or zero."""
        return _area_cm2(self.header.get("Electrode surface area"), self.decimal)


def load(
    path: str | os.PathLike[str], *, decimal: str | None = None, date_order: str | None = None
) -> MptFile:
    """Parse an ``.mpt`` file into its header and numeric columns.

    Parameters
    ----------
    path : str or PathLike
        The file.
    decimal : {".", ","}, optional
        Decimal separator; detected from the data rows when omitted.
    date_order : {"MDY", "DMY", "YMD"}, optional
        Order of the dates in an absolute-time ``time/s`` column; detected when omitted.

    Raises
    ------
    ParseError
        Missing, empty, truncated or malformed file; the message names the line and column.
    """
    where = str(path)
    raw = read_bytes(path)
    if not raw.strip():
        raise ParseError(where, "the file is empty; expected an EC-Lab ASCII export (.mpt).")
    text, encoding = decode_text(raw)
    text = text.lstrip()
    declared = _header_length(where, text)
    bare = not text[:40].encode("latin-1", "replace").startswith(_MAGICS)  # a bare column-name line
    n_header = declared if bare else _names_line(text, declared)
    if n_header < 3 and not bare:
        raise ParseError(where, f"'Nb header lines' must be at least 3; found {declared}.", line=2)
    n_lines = text.count("\n") + 1
    parts = text.split("\n", n_header) if n_header < n_lines else []
    if len(parts) <= n_header or not parts[n_header].strip():
        found = len(text.splitlines())
        raise ParseError(
            where,
            f"no data rows after the {n_header}-line header; the file ends at line {found}.",
            line=found,
            hint="The file is truncated or the export holds no points; re-export it from EC-Lab.",
        )
    header_lines = [ln.rstrip("\r") for ln in parts[:n_header]]
    data_text = parts[n_header]
    names = header_lines[-1].split("\t")
    sample = _first_lines(data_text, 12)
    if decimal is None:
        decimal = sniff_decimal(sample)
    elif decimal not in (".", ","):
        raise ParseError(where, f"decimal must be '.' or ','; got {decimal!r}.")
    width = len(sample[0].rstrip("\r").split("\t"))
    data_text, cut_last_line = _drop_cut_last_line(data_text)
    time_index = _absolute_time_column(names, sample[0])
    clock_cells: list[str] = []
    if time_index is not None:  # 'Time format : Absolute': the dates are read apart from the numbers
        data_text, clock_cells = _take_column(data_text, time_index)
    table = _parse_table(where, data_text, width, decimal, first_line=n_header + 1, names=names)
    header = _parse_header(header_lines, decimal)
    if n_header != declared:  # kept so that the shift can be seen; the names line was found anyway
        header["header_lines_declared"] = declared
    absolute = None
    if time_index is not None:
        absolute = _absolute_times(
            where, header, data_text, clock_cells, n_header + 1, names[time_index], date_order
        )
        table[:, time_index] = absolute.elapsed_s
        start: datetime | None = absolute.origin
    else:
        start = _start_time(where, header)
    columns = _name_columns(names, table)
    long_name = header.get("technique_name")
    technique = TECHNIQUES.get(long_name.lower(), long_name) if long_name else None
    return MptFile(
        path=where,
        header=MappingProxyType(header),
        columns=MappingProxyType(columns),
        first_data_line=n_header + 1,
        n_rows=table.shape[0],
        decimal=decimal,
        encoding=encoding,
        start=start,
        technique=technique,
        sequence_types=MappingProxyType(_sequence_types(header)),
        cut_last_line=cut_last_line,
        absolute_time=absolute,
    )


def read(
    path: str | os.PathLike[str], *, decimal: str | None = None, date_order: str | None = None
) -> list[Spectrum]:
    """Read every impedance spectrum of an EC-Lab ``.mpt`` export.

    Parameters
    ----------
    path : str or PathLike
        The ``.mpt`` file.
    decimal : {".", ","}, optional
        Decimal separator; detected from the data rows when omitted.
    date_order : {"MDY", "DMY", "YMD"}, optional
        Order of the dates in a ``Time format : Absolute`` export (month, day, year first);
        detected from the file when omitted.

    Returns
    -------
    list of Spectrum
        In acquisition order; ``freq`` in Hz, ``z`` in Ω with Z″ < 0 for capacitive arcs.
        ``meta`` holds ``source``, ``index``, ``format``, ``technique``, ``cycle``,
        ``Ewe_V`` (mean, V), ``I_A`` (mean, A), ``area_cm2``, ``device``,
        ``software_version``, ``n_dropped`` (rows dropped and attributed to this
        spectrum), ``dropped`` (those counts by reason: ``"freq<=0"``, ``"freq not
        finite"``, ``"Z not finite"``, ``"|Z|=0"``, ``"cut last line"``), ``truncated``
        and ``header``. Absolute-time exports add ``time_format`` (``"absolute"``),
        ``date_order`` (``"MDY"``, ``"DMY"`` or ``"YMD"``), ``date_order_reason`` and
        ``time_origin`` (``"Acquisition started on"`` or ``"first data row"``, where
        ``elapsed_s`` counts from).

    Raises
    ------
    ParseError
        Malformed file (line and column named) or no usable impedance columns; an
        absolute-time export whose day/month order nothing in the file decides.
    NoImpedanceData
        A valid export without impedance points (e.g. GCPL, Modulo Bat without EIS).

    Warns
    -----
    MetadataWarning
        The start date cannot be read (e.g. anonymised); timestamps are then None. The
        electrode area is EC-Lab's 0.001 cm² placeholder (then ``area_cm2`` is None,
        ``area_cm2_file`` keeps it and ``area_source`` is ``"placeholder-ignored"``).
    """
    mpt = load(path, decimal=decimal, date_order=date_order)
    freq = mpt.column("freq")
    if freq is None:
        raise NoImpedanceData(
            f"{mpt.path}: no impedance data: expected a 'freq/Hz' column; found columns "
            f"{list(mpt.columns)} (technique: {mpt.technique or 'unknown'}). "
            "Use eisna.read_cycling(path) for cycling data."
        )
    if not (np.isfinite(freq) & (freq > 0)).any():
        raise NoImpedanceData(
            f"{mpt.path}: no impedance data: all {mpt.n_rows} rows have freq/Hz ≤ 0 "
            f"(technique: {mpt.technique or 'unknown'}). Use eisna.read_cycling(path) for cycling data."
        )
    z = _impedance(mpt)
    # cut sweeps on the frequency alone, then leave out rows whose Z is not usable
    groups = _split_spectra(mpt, freq, np.isfinite(freq) & (freq > 0))
    is_point, reason = classify(freq, z)
    groups = [rows[is_point[rows]] for rows in groups]
    groups = [rows for rows in groups if rows.size]
    if not groups:
        raise ParseError(
            mpt.path,
            "no impedance point has a finite, non-zero Z; expected Re(Z) and -Im(Z) values.",
            hint="The file is corrupt; re-export it from EC-Lab.",
        )
    ns = mpt.column("ns") if mpt.sequence_types else None
    dropped = dropped_by_spectrum(groups, reason, ns)
    if mpt.cut_last_line:
        dropped[-1]["cut last line"] = 1
    truncated = _truncation(mpt, freq, groups)
    current = _current_A(mpt)  # once: per spectrum it made 5000-loop files quadratic
    spectra = [_build_spectrum(mpt, freq, z, current, rows, k, dropped[k]) for k, rows in enumerate(groups)]
    if truncated:
        spectra[-1] = spectra[-1].with_meta(truncated=True)
    return mark_placeholder_area(spectra, mpt.path)


def _truncation(mpt: MptFile, freq: np.ndarray, groups: list[np.ndarray]) -> bool:
    """Warn with :class:`TruncatedDataWarning` when the file ends early; return True if it does.

    Signs: a cut last line; data ending before the last point of the header's loop table;
    a last spectrum that starts like the one before it but has fewer points.
    """
    found = []
    if mpt.cut_last_line:
        found.append("the last line has no line end and is cut short; it was left out")
    loops = mpt.header.get("loops")
    if loops and mpt.n_rows < loops[-1][1] + 1:
        found.append(
            f"the header's loop table declares {len(loops)} loops up to point {loops[-1][1]}, "
            f"the data end at point {mpt.n_rows - 1} ({len(groups)} spectra)"
        )
    if len(groups) >= 2 and groups[-1].size < groups[-2].size and freq[groups[-1][0]] == freq[groups[-2][0]]:
        found.append(f"the last spectrum has {groups[-1].size} points, the one before it {groups[-2].size}")
    if found:
        warnings.warn(
            f"{mpt.path}: the file looks truncated: {'; '.join(found)}. The last spectrum is kept "
            "with meta['truncated'] = True; re-export the file if the measurement finished.",
            TruncatedDataWarning,
            stacklevel=3,
        )
    return bool(found)


def _drop_cut_last_line(text: str) -> tuple[str, bool]:
    """Leave out a last line that has no line end and is shorter than the lines before it.

    EC-Lab ends files without a final line end, so only a line with fewer fields than
    the previous one, or whose last field is shorter than that column in the 20 lines
    before, counts as cut (``-93853.6`` cut to ``-9`` must not be read as -9).
    """
    if text.endswith("\n"):
        return text, False
    head, sep, last = text.rpartition("\n")
    if not sep or not last.strip():
        return text, False
    if looks_cut(last, head[-65536:].split("\n")[1:]):
        return head + sep, True
    return text, False


def read_cycling(
    path: str | os.PathLike[str],
    *,
    decimal: str | None = None,
    date_order: str | None = None,
    potential: str = "auto",
) -> pd.DataFrame:
    """Read the DC rows of an EC-Lab cycling export (Modulo Bat, GCPL …) as a DataFrame.

    ``decimal`` and ``date_order`` are as for :func:`read`; absolute-time exports are read
    too (``time_s`` then counts from ``Acquisition started on``).

    Parameters
    ----------
    potential : {"auto", "Ewe", "Ewe-Ece"}
        Which potential is the cell voltage ``voltage_V``. ``"auto"`` takes the
        ``Ewe-Ece/V`` column when there is one, else ``Ewe - Ece`` when ``Ece/V`` holds
        non-zero values and the header says ``Potential control : Ewe-Ece``,
        ``Electrode connection : CE to ground`` or ``Record Ece``, else ``Ewe``
        (:mod:`eisna.io._cell_potential`).

    Returns
    -------
    pandas.DataFrame
        Every data row, with ``time_s`` (s), ``voltage_V`` (V, the cell voltage),
        ``current_A``, ``capacity_Ah`` (from ``(Q-Qo)/mA.h`` or ``Capacity/mA.h``), ``cycle``
        (``cycle number``), ``step`` (``Ns``), ``step_type`` (Modulo Bat ``ctrl_type``
        of the sequence, else the technique), ``Ewe_V`` and ``Ece_V`` (V) when the file
        records the counter electrode, and ``timestamp`` when the start is known.
        An OCV export records no current: ``current_A`` is then 0 A (the cell rests).
        ``attrs["potential"]`` is ``"Ewe"`` or ``"Ewe-Ece"``, ``attrs["potential_reason"]``
        says why.

    Raises
    ------
    NoCyclingData
        An impedance-only export (PEIS, GEIS …).
    ParseError
        Malformed file, or no time/voltage/current columns.
    MissingColumnError
        ``potential="Ewe-Ece"`` on a file without ``Ece/V`` (or ``Ewe-Ece/V``).
    UsageError
        ``potential`` is not one of the three choices.
    """
    check_potential(potential)
    mpt = load(path, decimal=decimal, date_order=date_order)
    freq = mpt.column("freq")
    impedance_only = mpt.technique in _EIS_TECHNIQUES or (
        mpt.technique is None and freq is not None and bool(np.all(freq > 0))
    )
    if impedance_only:
        raise NoCyclingData(
            f"{mpt.path}: holds impedance spectra ({mpt.technique or 'EIS'}) and no cycling data; "
            "use eisna.read(path) for the spectra."
        )
    import pandas as pd  # after the impedance-only check: `eisna info` on a PEIS file needs no pandas

    time_s, (ewe_name, voltage) = mpt.column("time"), mpt.named_column("ewe") or ("Ewe/V", None)
    current = _current_A(mpt)
    if current is None and mpt.technique in _REST_TECHNIQUES:
        # an OCV export has no current column: the cell rests, so the current is 0 A
        current = np.zeros(mpt.n_rows)
    missing = [
        role for role, col in (("time/s", time_s), ("Ewe/V", voltage), ("I/mA", current)) if col is None
    ]
    if missing or time_s is None or voltage is None:  # (None implies missing; the test narrows the types)
        raise ParseError(
            mpt.path,
            f"cycling data needs the columns {missing}; found {list(mpt.columns)}.",
        )
    if mpt.cut_last_line:
        warnings.warn(
            f"{mpt.path}: the file looks truncated: the last line has no line end and is cut short; "
            "it was left out.",
            TruncatedDataWarning,
            stacklevel=2,
        )
    n = mpt.n_rows
    if (q := mpt.column("q_mAh")) is not None:
        capacity = q / 1000.0
    elif (q := mpt.column("q_C")) is not None:
        capacity = q / 3600.0
    else:
        capacity = np.full(n, np.nan)
    cycle = _int_column(mpt.column("cycle"), n)
    step = _int_column(mpt.column("ns"), n)
    if mpt.sequence_types:
        step_type = [mpt.sequence_types.get(int(s), mpt.technique or "") for s in step]
    else:
        step_type = [mpt.technique or ""] * n
    cell = cell_potential(
        mpt.path,
        potential,
        ewe=voltage,
        ece=mpt.named_column("ece"),
        ewe_minus_ece=mpt.named_column("ewe_ece"),
        evidence=header_evidence(mpt.header),
        ewe_name=ewe_name,
    )
    frame = pd.DataFrame(
        {
            "time_s": time_s,
            "voltage_V": cell.voltage_V,
            "current_A": current,
            "capacity_Ah": capacity,
            "cycle": cycle,
            "step": step,
            "step_type": step_type,
        }
    )
    cell.apply(frame)
    if mpt.start is not None:
        try:
            frame["timestamp"] = pd.Timestamp(mpt.start) + pd.to_timedelta(time_s, unit="s")
        except (OverflowError, ValueError) as err:  # pandas' OutOfBoundsDatetime is a ValueError
            warnings.warn(
                f"{mpt.path}: start {mpt.start} plus time/s leaves the datetime range ({err}); "
                "the timestamp column is left out.",
                MetadataWarning,
                stacklevel=2,
            )
    return frame


# --------------------------------------------------------------------------- header


def _header_length(where: str, text: str) -> int:
    """Number of header lines N (the column names are on line N); 1 for a bare column line."""
    head = text[:200].encode("latin-1", "replace")
    if not head.startswith(_MAGICS):
        first = text.split("\n", 1)[0]
        if _bare_names(first):
            return 1
        shown = first[:60].rstrip("\r")
        raise ParseError(
            where,
            f"not an EC-Lab ASCII export: expected 'EC-Lab ASCII FILE', found {shown!r}.",
            line=1,
            hint="Export the data from EC-Lab as text (.mpt), or read a table with eisna.io.table.read.",
        )
    second = text.split("\n", 2)[1] if text.count("\n") >= 1 else ""
    match = _NB_HEADER.match(second.rstrip("\r"))
    if match is None:
        raise ParseError(
            where,
            f"expected 'Nb header lines : N', found {second[:60].rstrip()!r}.",
            line=2,
        )
    return int(match.group(1))  # checked (at least 3) once the column-name line is found


def _names_line(text: str, declared: int) -> int:
    """The 1-based line of the column names: ``declared``, or a line next to it if that is wrong.

    EC-Lab versions (and hand-edited exports) disagree by one on ``Nb header lines``: the
    column names are the non-numeric line just above the first numeric row. The declared
    line wins when it fits; otherwise the nearest line within two that fits is taken.
    """
    lines = text.split("\n", declared + 3)[: declared + 3]
    for line_no in (declared, declared + 1, declared - 1, declared + 2, declared - 2):
        if 3 <= line_no < len(lines):
            names, first_row = lines[line_no - 1].strip(), lines[line_no]
            # EC-Lab names carry units ("freq/Hz", "ox/red", "time/s"); data rows start with a number
            if "/" in names and not _numeric_start(names) and _numeric_start(first_row):
                return line_no
    return declared


def _numeric_start(line: str) -> bool:
    """True when the first field of ``line`` is a number (``.`` or ``,`` decimal, nan) or a clock time."""
    first = line.split("\t", 1)[0].strip()
    return (
        _NUMBER.match(first) is not None
        or first.lower().lstrip("+-") in ("nan", "inf")
        or _absolute_time.looks_like_clock_time(first)
    )


def _parse_header(lines: list[str], decimal: str) -> dict[str, Any]:
    """Turn the settings lines (3 … N-1) into a dict; see :class:`MptFile` for the keys."""
    header: dict[str, Any] = {}
    loops: list[tuple[int, int]] = []
    parent = ""
    in_table = False
    body = lines[2:-1]
    for k, line in enumerate(body):
        if not line.strip():
            in_table = False
            continue
        if k <= 2 and "technique_name" not in header and parse_key_value(line) is None:
            header["technique_name"] = line.strip()
            continue
        if (loop := _LOOP.match(line)) is not None:
            loops.append((int(loop.group(2)), int(loop.group(3))))
            continue
        indented = line[:1] in ("\t", " ")
        pair = parse_key_value(line)
        if pair is not None:
            in_table = False
            key, value = pair
            if indented and parent:
                key = f"{parent} / {key}"
            else:
                parent = key
            header[key] = f"{header[key]}\n{value}" if header.get(key) else value
            continue
        # a table row: a name padded to 20 characters, then 20-character cells
        if (
            not indented
            and len(line) > _TABLE_WIDTH
            and line[_TABLE_WIDTH - 1] == " "
            and (in_table or line[_TABLE_WIDTH - 2] == " ")
        ):
            in_table = True
            name = line[:_TABLE_WIDTH].strip()
            cells = [line[i : i + _TABLE_WIDTH].strip() for i in range(_TABLE_WIDTH, len(line), _TABLE_WIDTH)]
            while len(cells) > 1 and not cells[-1]:
                cells.pop()
            header[name] = cells[0] if len(cells) == 1 else tuple(cells)
            continue
        header[line.strip()] = ""
        if not indented:
            parent = line.strip()
    if loops:
        header["loops"] = tuple(loops)
    for line in body:
        if (version := _VERSION.search(line)) is not None:
            header["software_version"] = version.group(1)
            break
    header["decimal"] = decimal
    return header


def _start_time(where: str, header: Mapping[str, Any]) -> datetime | None:
    value = header.get("Acquisition started on")
    if value is None:
        return None
    start = parse_ec_lab_datetime(value)
    if start is None:
        warnings.warn(
            f"{where}: cannot read the start date 'Acquisition started on : {value}' "
            "(expected MM/DD/YYYY HH:MM:SS[.fff]); timestamps are set to None.",
            MetadataWarning,
            stacklevel=4,
        )
    return start


def _absolute_time_column(names: list[str], first_row: str) -> int | None:
    """Index of ``time/s`` when the first data row holds a date and clock time there, else None."""
    stripped = [name.strip() for name in names]
    if "time/s" not in stripped:
        return None
    index = stripped.index("time/s")
    fields = first_row.split("\t")
    if index < len(fields) and _absolute_time.looks_like_clock_time(fields[index]):
        return index
    return None


def _take_column(text: str, index: int) -> tuple[str, list[str]]:
    """``text`` with field ``index`` of each row set to ``0``, and the fields taken out (row order).

    Rows too short to have the field keep their width, so that the table parser names them.
    """
    lines = text.split("\n")
    cells = []
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        fields = line.split("\t")
        if index < len(fields):
            cells.append(fields[index])
            fields[index] = "0"
            lines[k] = "\t".join(fields)
    return "\n".join(lines), cells


def _absolute_times(
    where: str,
    header: Mapping[str, Any],
    text: str,
    cells: list[str],
    first_line: int,
    column: str,
    date_order: str | None,
) -> _absolute_time.AbsoluteTimes:
    """Resolve the absolute ``time/s`` cells (see :mod:`eisna.io._absolute_time`)."""
    lines = [first_line + k for k, _ in _data_lines(text)]
    time_format = next(
        (v for k, v in header.items() if k.endswith("Time format") and isinstance(v, str)), None
    )
    return _absolute_time.resolve(
        where,
        cells,
        lines[: len(cells)],
        column.strip(),
        start_text=header.get("Acquisition started on"),
        time_format=time_format,
        date_order=date_order,
    )


def _sequence_types(header: Mapping[str, Any]) -> dict[int, str]:
    """Modulo Bat sequence number ``Ns`` → ``ctrl_type`` from the header table."""
    ns, ctrl = header.get("Ns"), header.get("ctrl_type")
    if ns is None or ctrl is None:
        return {}
    ns = (ns,) if isinstance(ns, str) else ns
    ctrl = (ctrl,) if isinstance(ctrl, str) else ctrl
    out: dict[int, str] = {}
    for number, kind in zip(ns, ctrl, strict=False):
        if number.strip().isdigit() and kind:
            out[int(number)] = kind
    return out


def _area_cm2(value: str | None, decimal: str) -> float | None:
    """``Electrode surface area`` in cm²; None when absent, zero or in an unknown unit."""
    if not value:
        return None
    parsed = parse_header_number(value, decimal)
    if parsed is None:
        return None
    number, unit = parsed
    factor = {"cm²": 1.0, "cm2": 1.0, "mm²": 0.01, "mm2": 0.01, "m²": 1e4, "m2": 1e4}.get(unit)
    if factor is None or not number > 0 or not np.isfinite(number):
        return None
    return number * factor


# --------------------------------------------------------------------------- data


def _first_lines(text: str, count: int) -> list[str]:
    """The first ``count`` non-blank lines of ``text`` (looks at its first 256 kB only)."""
    chunk = text[:262144]
    lines = chunk.split("\n")
    if len(chunk) < len(text) and len(lines) > 1:
        lines.pop()  # cut in the middle
    return [ln.rstrip("\r") for ln in lines if ln.strip()][:count]


def _data_lines(text: str) -> list[tuple[int, str]]:
    """(offset from the first data line, line) for each non-blank line; error paths only."""
    return [(k, ln.rstrip("\r")) for k, ln in enumerate(text.split("\n")) if ln.strip()]


def _parse_table(
    where: str, text: str, width: int, decimal: str, first_line: int, names: list[str]
) -> np.ndarray:
    """Parse the tab-separated data block into a float64 array (rows × width), in bulk.

    Errors name the file line and the column (its name when the header gives one).
    """
    plain = _parse_plain(text, width, decimal)
    if plain is not None:
        return plain
    import pandas as pd  # unusual rows: pandas parses them and names what is wrong

    try:
        frame = pd.read_csv(
            io.BytesIO(text.encode("utf-8")),
            sep="\t",
            header=None,
            names=list(range(width)),
            index_col=False,
            decimal=decimal,
            quoting=csv.QUOTE_NONE,
            engine="c",
            low_memory=False,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, ValueError, OverflowError) as err:
        raise _width_error(where, text, width, first_line) or ParseError(
            where, f"cannot parse the data rows ({err})."
        ) from err
    values = np.empty(frame.shape, dtype=np.float64)
    nan_cells = np.zeros(frame.shape, dtype=bool)  # written as "nan": dropped later, not an error
    for j in range(width):
        col = frame[j]
        if col.dtype.kind in "iuf":
            values[:, j] = col.to_numpy(dtype=np.float64)
            continue
        cells = col.astype("string")
        numeric = pd.to_numeric(cells.str.replace(",", ".") if decimal == "," else cells, errors="coerce")
        nan_cells[:, j] = cells.str.strip().str.lower().isin(("nan", "-nan", "+nan")).fillna(False).to_numpy()
        bad = np.flatnonzero(numeric.isna().to_numpy() & col.notna().to_numpy() & ~nan_cells[:, j])
        if bad.size:
            i = int(bad[0])
            found = str(cells.iloc[i])[:40]
            hint = f"The decimal separator was taken as {decimal!r}; check the export."
            if parse_ec_lab_datetime(found) is not None:
                hint = (
                    "A date among numbers (the first row's cell is a number): export the text "
                    "again from EC-Lab, with 'Time format : Elapsed' or 'Absolute' throughout."
                )
            name = names[j].strip() if j < len(names) else ""
            raise ParseError(
                where,
                f"expected a number, found {found!r}.",
                line=first_line + _data_lines(text)[i][0],
                column=name or j + 1,
                hint=hint,
            )
        values[:, j] = numeric.to_numpy(dtype=np.float64)
    # a trailing tab on every data row gives one all-empty column: drop it
    while values.shape[1] > 1 and np.isnan(values[:, -1]).all():
        values = values[:, :-1]
    short = np.flatnonzero((np.isnan(values) & ~nan_cells[:, : values.shape[1]]).any(axis=1))
    if short.size:
        raise _width_error(where, text, values.shape[1], first_line) or ParseError(
            where, "a data row has empty fields.", line=first_line + _data_lines(text)[int(short[0])][0]
        )
    return values


def _parse_plain(text: str, width: int, decimal: str) -> np.ndarray | None:
    """The data block as float64 when every row holds finite numbers only, else None.

    The common case, parsed by numpy without importing pandas (``eisna info`` stays fast).
    A trailing tab on every row is allowed. Anything unusual (an empty or non-numeric cell,
    ``nan``, a ragged row) returns None so that :func:`_parse_table` judges it as before.
    """
    body = text.replace("\t\r\n", "\n").replace("\t\n", "\n").rstrip()
    if body.endswith("\t"):
        body = body[:-1]
    if decimal == ",":
        body = body.replace(",", ".")
    try:
        values = np.loadtxt(io.StringIO(body), delimiter="\t", dtype=np.float64, ndmin=2, comments=None)
    except ValueError:
        return None
    first = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    expected = width - 1 if first.endswith("\t") else width
    if values.shape[0] == 0 or values.shape[1] != expected or not np.isfinite(values).all():
        return None
    return values


def _width_error(where: str, text: str, width: int, first_line: int) -> ParseError | None:
    """The first data row whose field count differs from ``width``, as a ParseError."""
    for k, line in _data_lines(text):
        fields = line.split("\t")
        if fields and fields[-1] == "" and len(fields) == width + 1:
            fields = fields[:-1]  # trailing tab
        n = len(fields)
        if n != width or any(f == "" for f in fields):
            found = f"{n} fields" if n != width else f"an empty field at column {fields.index('') + 1}"
            return ParseError(
                where,
                f"expected {width} tab-separated fields like the first data row, found {found}.",
                line=first_line + k,
                hint="The file may be truncated or edited; re-export it from EC-Lab.",
            )
    return None


def _name_columns(names: list[str], table: np.ndarray) -> dict[str, np.ndarray]:
    """Name the data columns from the left; the name line may be wider (EC-Lab 11.61 with Ece)."""
    columns: dict[str, np.ndarray] = {}
    for j in range(table.shape[1]):
        name = names[j].strip() if j < len(names) else f"column {j + 1}"
        if name and name not in columns:
            columns[name] = table[:, j]
    return columns


def _impedance(mpt: MptFile) -> np.ndarray:
    """Complex impedance in Ω with the physical sign (EC-Lab writes −Im(Z))."""
    re_z, neg_im, im = mpt.column("re"), mpt.column("neg_im"), mpt.column("im")
    if re_z is not None and neg_im is not None:
        return re_z - 1j * neg_im
    if re_z is not None and im is not None:
        return re_z + 1j * im
    modulus, phase = mpt.column("modulus"), mpt.column("phase")
    if modulus is not None and phase is not None:
        return modulus * np.exp(1j * np.deg2rad(phase))
    raise ParseError(
        mpt.path,
        "expected impedance columns 'Re(Z)/Ohm' and '-Im(Z)/Ohm', or '|Z|/Ohm' and 'Phase(Z)/deg'; "
        f"found {list(mpt.columns)}.",
        line=mpt.first_data_line - 1,
    )


def _current_A(mpt: MptFile) -> np.ndarray | None:
    if (i_mA := mpt.column("i_mA")) is not None:
        return i_mA / 1000.0
    return mpt.column("i_A")


def _int_column(values: np.ndarray | None, n: int) -> np.ndarray:
    if values is None:
        return np.zeros(n, dtype=np.int64)
    return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0).clip(-(2**62), 2**62).astype(np.int64)


# --------------------------------------------------------------------------- spectra


def _split_spectra(mpt: MptFile, freq: np.ndarray, is_point: np.ndarray) -> list[np.ndarray]:
    """Row indices of each spectrum (see :func:`eisna.io._text.split_spectra` for the rules)."""
    by_step = mpt.column("z_cycle") is not None or mpt.technique == "MB"
    return split_spectra(freq, is_point, [mpt.column("cycle"), mpt.column("ns")], by_step=by_step)


def _build_spectrum(
    mpt: MptFile,
    freq: np.ndarray,
    z: np.ndarray,
    current: np.ndarray | None,
    rows: np.ndarray,
    index: int,
    dropped: dict[str, int],
) -> Spectrum:
    first = int(rows[0])
    technique = mpt.technique
    ns = mpt.column("ns")
    if mpt.sequence_types and ns is not None:
        technique = mpt.sequence_types.get(int(ns[first]), technique)
    time_s = mpt.column("time")
    elapsed = float(time_s[first]) if time_s is not None else None
    timestamp = None
    if mpt.start is not None and elapsed is not None:
        try:
            timestamp = mpt.start + timedelta(seconds=elapsed)
        except (OverflowError, ValueError):
            warnings.warn(
                f"{mpt.path}, line {mpt.first_data_line + first}: start {mpt.start} plus time/s "
                f"{elapsed!r} leaves the datetime range; timestamp set to None.",
                MetadataWarning,
                stacklevel=3,
            )
    cycle_col = mpt.column("z_cycle")
    if cycle_col is None:
        cycle_col = mpt.column("cycle")
    ewe = mpt.column("ewe")
    meta = {
        "source": mpt.path,
        "index": index,
        "format": NAME,
        "technique": technique,
        "cycle": int(cycle_col[first]) if cycle_col is not None and np.isfinite(cycle_col[first]) else None,
        "Ewe_V": float(np.mean(ewe[rows])) if ewe is not None else None,
        "I_A": float(np.mean(current[rows])) if current is not None else None,
        "area_cm2": mpt.area_cm2,
        "device": mpt.header.get("Device"),
        "software_version": mpt.software_version,
        "n_dropped": sum(dropped.values()),
        "dropped": dropped,
        "truncated": False,
        "header": mpt.header,
    }
    meta.update(sweep_times(time_s, rows))
    if (absolute := mpt.absolute_time) is not None:
        meta.update(
            time_format="absolute",
            date_order=absolute.date_order,
            date_order_reason=absolute.reason,
            time_origin=absolute.origin_source,
        )
    return Spectrum(freq=freq[rows], z=z[rows], timestamp=timestamp, elapsed_s=elapsed, meta=meta)
