"""Reader for BioLogic EC-Lab binary files (``.mpr``), written from the bytes.

An ``.mpr`` file is a 52-byte magic (``BIO-LOGIC MODULAR FILE\\x1a`` padded with
spaces, then four zero bytes) followed by *modules*. Each module starts with
``MODULE`` and a header:

=================  =======================================================
short name         10 ASCII bytes, space padded (``VMP Set``, ``VMP data`` …)
long name          25 ASCII bytes
max length         u4 ``0xFFFFFFFF``; only from EC-Lab 11.50 on
length             u4, bytes of module data after the header
version            u4
version 2          u4; only from EC-Lab 11.50 on (10, or 11 for data)
date               8 ASCII bytes (``mm/dd/yy``, also with ``-`` or ``.``)
=================  =======================================================

``VMP data`` holds u4 number of rows, the number of columns and the list of
column IDs; the rows follow as packed little-endian records whose layout is
given by the IDs (:data:`COLUMNS`, kept in :mod:`eisna.io.biologic_mpr_columns`).
``VMP LOG`` carries the acquisition start as an OLE date, ``VMP Set`` the
technique and the cell description, and ``VMP loop`` the first row of each loop.

Column IDs come in pages of 256 (``430`` is the phase of Zwe-ce, ``174`` is
``<Ewe>/V``); an unknown ID is decoded as the same quantity of the other page
when the record size agrees, else skipped with :class:`UnknownColumnWarning`
when its width follows from the record size, else a :class:`ParseError`.

Only impedance spectra are returned by :func:`read`, split by the same rules as
the ``.mpt`` reader so that a binary file and its text export give the same
spectra; cycling data (GCPL, Modulo Bat) come from :func:`read_cycling`, and the
raw table with all metadata from :func:`read_mpr`.
"""

from __future__ import annotations

import math
import os
import struct
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MetadataWarning, NoCyclingData, NoImpedanceData, ParseError, TruncatedDataWarning
from ..spectrum import Spectrum
from ._cell_potential import cell_potential, check_potential
from ._limits import check_file
from ._placeholders import mark_placeholder_area
from ._points import classify, dropped_by_spectrum
from ._sweep import sweep_times
from ._text import split_spectra
from .biologic_mpr_columns import COLUMNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COLUMNS",
    "EXTENSIONS",
    "NAME",
    "MprFile",
    "MprModule",
    "UnknownColumnWarning",
    "read",
    "read_cycling",
    "read_mpr",
    "sniff",
]

NAME = "biologic-mpr"
EXTENSIONS = (".mpr",)
# read_cycling(potential=...) chooses between these (eisna.io._cell_potential)
CELL_POTENTIALS = ("Ewe", "Ewe-Ece")
MAGIC = b"BIO-LOGIC MODULAR FILE"
_MAGIC_LEN = 52  # magic, 0x1A, spaces up to 48 bytes, then 4 zero bytes
_MODULE_TAG = b"MODULE"
_MODULE_HEADER_MAX = 65  # tag, name, long name and the 11.50+ fields (length, versions, date)
_NEW_HEADER_MARK = 0xFFFFFFFF  # "max length" field written from EC-Lab 11.50 on

_EXPORT_HINT = "Export the file as text (.mpt) from EC-Lab and read that instead."


class UnknownColumnWarning(MetadataWarning):
    """An ``.mpr`` column ID is not known; its bytes were skipped."""


# Technique byte at offset 0 of the settings module.
_TECHNIQUES: Mapping[int, str] = MappingProxyType(
    {
        0x04: "GCPL",
        0x06: "CV",
        0x0B: "OCV",
        0x18: "CA",
        0x19: "CP",
        0x1C: "WAIT",
        0x1D: "PEIS",
        0x1E: "GEIS",
        0x30: "CV",
        0x32: "ZIR",
        0x6C: "LSV",
        0x77: "GCPL",
        0x7F: "MB",
        0x88: "BCD",
    }
)
_IMPEDANCE_TECHNIQUES = frozenset({"PEIS", "GEIS", "ZIR"})

# Modulo Bat sequence types (byte ``ctrl_type`` of each sequence record), as
# checked against the .mpt tables of the corpus.
_MB_CTRL_TYPES: Mapping[int, str] = MappingProxyType({0: "CC", 4: "Rest", 5: "Loop", 8: "PEIS", 9: "GEIS"})
# Size in bytes of one Modulo Bat sequence record, by EC-Lab version.
_MB_RECORD_SIZE = {"11.50": 166, "11.52": 166, "11.61": 172, "11.62": 172}

# Instrument codes at offset 0x3CE of the log module.
_DEVICES: Mapping[int, str] = MappingProxyType(
    {
        0: "VMP",
        1: "VMP2",
        2: "MPG",
        3: "BiStat",
        5: "VMP3",
        6: "VSP",
        12: "VMP-300",
        13: "SP-50",
        14: "SP-150",
        16: "SP-300",
        20: "VSP-300",
        21: "SP-200",
        22: "MPG-2",
        23: "SP-100",
        27: "SP-240",
    }
)
_AREA_UNIT_TO_CM2 = MappingProxyType({2: 1.0, 3: 0.01})  # 2 = cm², 3 = mm²
_MASS_UNIT_TO_G = MappingProxyType({1: 1.0, 2: 1e-3})  # 1 = g, 2 = mg

# Offsets inside the settings module (same from EC-Lab 11.18 to 11.61 in the corpus).
_SET_STRINGS = (  # length-prefixed cp1252 strings
    ("comments", 0x007),
    ("electrode_material", 0x11E),
    ("initial_state", 0x16F),
    ("electrolyte", 0x1C0),
    ("reference_electrode", 0x215),
)
_SET_AREA = 0x211  # f4, unit code at _SET_AREA_UNIT
_SET_MASS = 0x24C  # f4 characteristic mass, unit code at _SET_MASS_UNIT
_SET_AREA_UNIT = 0x250
_SET_MASS_UNIT = 0x251
# Candidate offsets of the technique parameter block (count of sequences, u2).
_SET_PARAM_OFFSETS = (0x1847, 0x1846, 0x1845, 0x0572)

# Offsets inside the log module.
_LOG_START = 0x249  # f8 OLE date of the acquisition start
_LOG_STRINGS = (
    ("software_version", 0x3B7),
    ("server_version", 0x3BE),
    ("interpreter_version", 0x3C5),
    ("serial_number", 0x3CF),
)
_LOG_DEVICE = 0x3CE  # u1 instrument code

_OLE_EPOCH = datetime(1899, 12, 30)
_MAX_ELAPSED_S = 1e9  # ~32 years: a larger (or non-finite) time/s is corrupt data


# ---------------------------------------------------------------------------
# Data classes
# ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MprModule:
    """One module of an ``.mpr`` file.

    Attributes
    ----------
    name : str
        Short name without padding (``"VMP data"``).
    long_name : str
        Long name without padding.
    version, version2 : int, int or None
        Module version; ``version2`` exists only in the EC-Lab >= 11.50 header.
    date : str
        Date written in the header.
    offset : int
        Byte offset of the module data (just after the header) in the file.
    length : int
        Length of the module data in bytes (the bytes present when ``truncated``).
    truncated : bool
        True when the file ends inside this module (``length`` is then what remains).
    """

    name: str
    long_name: str
    version: int
    version2: int | None
    date: str
    offset: int
    length: int
    truncated: bool = False


@dataclass(frozen=True)
class MprFile:
    """Decoded content of an ``.mpr`` file.

    Attributes
    ----------
    path : str
    modules : tuple of MprModule
    columns : tuple of str
        Column names of :attr:`data`, in file order (flag columns unpacked).
    data : dict of str to ndarray
        One array per column (EC-Lab units, e.g. mA), ``len == n_rows``.
    n_rows : int
        Number of rows of the data module.
    technique : str or None
        Technique short name from the settings module (``"PEIS"``, ``"MB"`` …).
    start : datetime or None
        Acquisition start from the log module (naive local time), or None.
    settings : dict
        Cell description from the settings module.
    log : dict
        Instrument and software information from the log module.
    loop_index : tuple of int
        First row of each loop from the ``VMP loop`` module (empty if absent).
    mb_sequences : tuple of str
        Modulo Bat ``ctrl_type`` per sequence ``Ns`` (empty if not MB or unknown).
    truncated : bool
        True when the file ends early (inside or after the data module): the complete
        records before the cut are in :attr:`data`, and a :class:`TruncatedDataWarning`
        was issued.
    """

    path: str
    modules: tuple[MprModule, ...]
    columns: tuple[str, ...]
    data: Mapping[str, np.ndarray]
    n_rows: int
    technique: str | None
    start: datetime | None
    settings: Mapping[str, Any] = field(default_factory=dict)
    log: Mapping[str, Any] = field(default_factory=dict)
    loop_index: tuple[int, ...] = ()
    mb_sequences: tuple[str, ...] = ()
    truncated: bool = False

    def column(self, *names: str) -> np.ndarray | None:
        """Return the first column present among ``names``, or None."""
        for name in names:
            if name in self.data:
                return self.data[name]
        return None

    @property
    def version(self) -> str | None:
        """EC-Lab software version from the log module, or None."""
        return self.log.get("software_version")

    def header(self) -> dict[str, Any]:
        """Raw header information as a plain dict (for ``Spectrum.meta['header']``)."""
        return {
            "modules": [
                {
                    "name": m.name,
                    "version": m.version,
                    "version2": m.version2,
                    "date": m.date,
                    "length": m.length,
                }
                for m in self.modules
            ],
            "technique": self.technique,
            "columns": list(self.columns),
            "start": self.start.isoformat() if self.start else None,
            "settings": dict(self.settings),
            "log": dict(self.log),
            "loop_index": list(self.loop_index),
            "mb_sequences": list(self.mb_sequences),
        }


# ---------------------------------------------------------------------------
# Low-level, bounds-checked access
# ---------------------------------------------------------------------------
class _Buffer:
    """Bytes of one file with reads that raise :class:`ParseError` instead of ``struct.error``."""

    def __init__(self, path: Path, raw: bytes) -> None:
        self.path = path
        self.raw = raw

    def fail(self, offset: int, message: str, hint: str | None = None) -> ParseError:
        return ParseError(self.path, message, offset=offset, hint=hint)

    def unpack(self, fmt: str, offset: int, what: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        if offset < 0 or offset + size > len(self.raw):
            raise self.fail(
                offset,
                f"the file ends inside the {what}; expected {size} more bytes, found "
                f"{max(len(self.raw) - offset, 0)}.",
                hint="The file is truncated; copy it again from the instrument PC.",
            )
        return struct.unpack_from(fmt, self.raw, offset)


def _pascal(block: bytes, offset: int) -> str | None:
    """Return the length-prefixed cp1252 string at ``offset`` of ``block``, or None."""
    if offset >= len(block):
        return None
    n = block[offset]
    text = block[offset + 1 : offset + 1 + n]
    if len(text) != n:
        return None
    return text.decode("cp1252", errors="replace").strip("\x00").strip()


def _f4(block: bytes, offset: int) -> float | None:
    if offset + 4 > len(block):
        return None
    value = struct.unpack_from("<f", block, offset)[0]
    return float(value) if math.isfinite(value) else None


# ---------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------
def _parse_modules(buf: _Buffer) -> list[MprModule]:
    raw = buf.raw
    if not raw.startswith(MAGIC):
        raise buf.fail(
            0,
            f"not an EC-Lab binary file; expected the magic {MAGIC.decode()!r}, found {raw[: len(MAGIC)]!r}.",
            hint="Check that this is an .mpr file written by EC-Lab.",
        )
    modules: list[MprModule] = []
    pos = _MAGIC_LEN
    if len(raw) < pos:
        raise buf.fail(
            len(raw),
            f"the file ends inside the file header ({_MAGIC_LEN} bytes expected).",
            hint="The file is truncated.",
        )
    while pos < len(raw):
        tag = raw[pos : pos + len(_MODULE_TAG)]
        if _cut_in_header(raw, pos, modules):
            break  # the file ends inside the header of a module after the data: read_mpr warns
        if tag != _MODULE_TAG:
            raise buf.fail(
                pos,
                f"expected a module header starting with 'MODULE', found {tag!r}.",
                hint="The file is corrupt or truncated; " + _EXPORT_HINT,
            )
        head = pos + len(_MODULE_TAG)
        name_b = buf.unpack("10s", head, "module header")[0]
        long_b = buf.unpack("25s", head + 10, "module header")[0]
        field_pos = head + 35
        (first,) = buf.unpack("<I", field_pos, "module header")
        if first == _NEW_HEADER_MARK:
            length, version, version2 = buf.unpack("<III", field_pos + 4, "module header")
            date_b = buf.unpack("8s", field_pos + 16, "module header")[0]
            data_pos = field_pos + 24
        else:
            length = first
            (version,) = buf.unpack("<I", field_pos + 4, "module header")
            version2 = None
            date_b = buf.unpack("8s", field_pos + 8, "module header")[0]
            data_pos = field_pos + 16
        name = name_b.decode("latin-1").strip()
        cut = data_pos + length > len(raw)
        if cut and (name == "VMP data" or any(m.name == "VMP data" for m in modules)):
            # the file ends inside the data module or after it: keep what is there (issue 14)
            length = max(len(raw) - data_pos, 0)
        elif cut:
            raise buf.fail(
                field_pos,
                f"module {name!r} claims {length} bytes of data but only "
                f"{len(raw) - data_pos} remain in the file.",
                hint="The file is truncated or corrupt; copy it again, or "
                + _EXPORT_HINT[0].lower()
                + _EXPORT_HINT[1:],
            )
        modules.append(
            MprModule(
                name=name,
                long_name=long_b.decode("latin-1").strip(),
                version=version,
                version2=version2,
                date=date_b.decode("latin-1").strip(),
                offset=data_pos,
                length=length,
                truncated=cut,
            )
        )
        pos = data_pos + length
    if not modules:
        raise buf.fail(pos, "the file holds no modules.", hint="The file is truncated.")
    return modules


def _cut_in_header(raw: bytes, pos: int, modules: Sequence[MprModule]) -> bool:
    """True when the file ends inside a module header that follows the data module."""
    rest = raw[pos:]
    if not rest or len(rest) >= _MODULE_HEADER_MAX or not any(m.name == "VMP data" for m in modules):
        return False
    return _MODULE_TAG.startswith(rest[: len(_MODULE_TAG)])


def _strings(block: bytes, fields: Sequence[tuple[str, int]]) -> dict[str, str]:
    """The non-empty length-prefixed strings of ``block`` at the given (key, offset) pairs."""
    found = {key: _pascal(block, offset) for key, offset in fields}
    return {key: text for key, text in found.items() if text}


def _scaled_f4(block: bytes, value_at: int, unit_at: int, scale: Mapping[int, float]) -> float | None:
    """A positive float32 times the factor of its unit code, to the 6 digits EC-Lab shows."""
    value = _f4(block, value_at)
    unit = block[unit_at] if len(block) > unit_at else None
    if value is None or value <= 0 or unit is None or unit not in scale:
        return None
    return float(f"{value * scale[unit]:.6g}")  # float32: 1.13, not 1.1299999952


def _settings(block: bytes) -> tuple[str | None, dict[str, Any]]:
    if not block:
        return None, {}
    info: dict[str, Any] = {"technique_code": block[0], **_strings(block, _SET_STRINGS)}
    for key, value_at, unit_at, scale in (
        ("area_cm2", _SET_AREA, _SET_AREA_UNIT, _AREA_UNIT_TO_CM2),
        ("characteristic_mass_g", _SET_MASS, _SET_MASS_UNIT, _MASS_UNIT_TO_G),
    ):
        value = _scaled_f4(block, value_at, unit_at, scale)
        if value is not None:
            info[key] = value
    return _TECHNIQUES.get(block[0]), info


def _mb_sequences(block: bytes, version: str | None, eis_ns: Sequence[int]) -> tuple[str, ...]:
    """Modulo Bat ``ctrl_type`` of each sequence, or () when the layout is not recognised.

    The sequence records have a version-dependent size; a size is accepted only when
    every sequence type is known and the sequences holding impedance rows are PEIS/GEIS.
    """
    for count_at in _SET_PARAM_OFFSETS:
        if count_at + 4 > len(block):
            continue
        n_seq, n_params = struct.unpack_from("<HH", block, count_at)
        # seen: 70 parameters per sequence (11.50), 73 (11.61)
        if not (1 <= n_seq <= 1000 and 40 <= n_params <= 200):
            continue
        first = count_at + 4  # u2 count of sequences, u2 count of parameters
        sizes = [_MB_RECORD_SIZE[version]] if version in _MB_RECORD_SIZE else []
        sizes += [s for s in range(100, 400) if s not in sizes]
        for size in sizes:
            end = first + size * (n_seq - 1)
            if end >= len(block):
                break
            codes = [block[first + size * k] for k in range(n_seq)]
            if not all(c in _MB_CTRL_TYPES for c in codes):
                continue
            types = tuple(_MB_CTRL_TYPES[c] for c in codes)
            if all(0 <= ns < n_seq and types[ns] in ("PEIS", "GEIS") for ns in eis_ns):
                return types
    return ()


def _log(block: bytes, buf: _Buffer, block_offset: int) -> tuple[datetime | None, dict[str, Any]]:
    info: dict[str, Any] = _strings(block, _LOG_STRINGS)
    if len(block) > _LOG_DEVICE:
        code = block[_LOG_DEVICE]
        name = _DEVICES.get(code, f"device code {code}")
        sn = info.get("serial_number")
        info["device"] = f"{name} (SN {sn})" if sn else name
    start = None
    if len(block) >= _LOG_START + 8:
        days = struct.unpack_from("<d", block, _LOG_START)[0]
        # OLE dates: days since 1899-12-30; accept 1990..2200 only.
        if math.isfinite(days) and 32874.0 <= days <= 109574.0:
            start = _OLE_EPOCH + timedelta(microseconds=round(days * 86400e6))
            info["start_ole_days"] = days
        else:
            warnings.warn(
                f"{buf.path}, byte offset {block_offset + _LOG_START}: the log module holds no "
                f"valid acquisition start (found {days!r}); timestamps are None.",
                MetadataWarning,
                stacklevel=4,
            )
    return start, info


def _loop_index(block: bytes, buf: _Buffer, block_offset: int) -> tuple[int, ...]:
    if len(block) < 4:
        return ()
    (n,) = struct.unpack_from("<I", block, 0)
    if 4 + 4 * n > len(block):
        warnings.warn(
            f"{buf.path}, byte offset {block_offset}: the loop module claims {n} entries but holds "
            f"{(len(block) - 4) // 4}; loops ignored.",
            MetadataWarning,
            stacklevel=4,
        )
        return ()
    return tuple(int(v) for v in np.frombuffer(block, "<u4", count=n, offset=4))


# ---------------------------------------------------------------------------
# Data module
# ---------------------------------------------------------------------------
def _column_ids(buf: _Buffer, mod: MprModule) -> tuple[list[int], int, int, int]:
    """Return (column IDs, number of rows, data offset, ID-list offset) of the data module.

    Offsets are relative to the start of the module data.
    """
    base = mod.offset
    if mod.length < 6:
        raise buf.fail(
            base,
            f"the data module is {mod.length} bytes long; expected at least 6.",
            hint="The file is truncated.",
        )
    (n_rows,) = buf.unpack("<I", base, "data module header")
    if mod.version2 is not None:
        # EC-Lab >= 11.50: u2 column count, u2 IDs, data at 0x3EF.
        (n_cols,) = buf.unpack("<H", base + 4, "data module header")
        ids_at, width, data_at = 6, 2, 0x3EF
    elif mod.version in (2, 3):
        n_cols = buf.raw[base + 4]
        ids_at, width, data_at = 5, 2, 0x195 if mod.version == 2 else 0x196
    elif mod.version == 0:
        n_cols = buf.raw[base + 4]
        ids_at, width, data_at = 5, 1, 100
    else:
        raise buf.fail(
            base,
            f"unknown data module version {mod.version}; expected 0, 2 or 3 (or the 11.50+ layout).",
            hint=_EXPORT_HINT,
        )
    if ids_at + width * n_cols > min(data_at, mod.length):
        raise buf.fail(
            base + 4,
            f"the data module lists {n_cols} columns, more than its header can hold.",
            hint="The file is corrupt; " + _EXPORT_HINT[0].lower() + _EXPORT_HINT[1:],
        )
    fmt = "<" + ("H" if width == 2 else "B") * n_cols
    ids = list(struct.unpack_from(fmt, buf.raw, base + ids_at))
    return ids, n_rows, data_at, ids_at


def _rename_174(ids: Sequence[int]) -> dict[int, str]:
    # ID 174 is <Ewe>/V unless a potential column (6 or 77) is present, then it is the
    # phase of Zwe-ce (docs/file-formats, the "column meaning depends on other columns" issue).
    if 174 in ids and (6 in ids or 77 in ids):
        return {174: "Phase(Zwe-ce)/deg"}
    return {}


def _resolve_unknown(
    buf: _Buffer,
    mod: MprModule,
    fields: list[tuple[str, str]],
    unknown: list[tuple[int, int]],
    available: int,
    n_rows: int,
    ids_offset: int,
    width: int,
    *,
    has_flags: bool,
) -> list[tuple[str, str]]:
    """Give a dtype to the unknown IDs when the record size allows it, else raise ParseError.

    First guess: an ID of the other ID page (``id % 256`` or ``id + 256``) that is known,
    accepted when the record size then matches. Else a single unknown ID takes the bytes
    left over in each record (0, 1, 2, 4 or 8) and is skipped.
    """
    known_size = sum(np.dtype(dt).itemsize for _, dt in fields if dt)
    spare = available - n_rows * known_size
    by_position = dict(unknown)
    k, cid = unknown[0]
    id_offset = ids_offset + width * k

    guesses: dict[int, tuple[str, str]] = {}
    for pos, uid in unknown:
        for other in (uid % 256, uid + 256):
            entry = COLUMNS.get(other)
            if entry is not None and isinstance(entry[1], str):
                guesses[pos] = (f"{entry[0]} [ID {uid}]", entry[1])
                break
    if len(guesses) == len(unknown):
        guessed_size = sum(np.dtype(dt).itemsize for _, dt in guesses.values())
        if n_rows and spare == n_rows * guessed_size:
            names = ", ".join(f"{uid} as {guesses[pos][0]!r}" for pos, uid in unknown)
            warnings.warn(
                f"{buf.path}, byte offset {id_offset}: unknown column IDs decoded as the same quantity "
                f"of the other ID page: {names}.",
                UnknownColumnWarning,
                stacklevel=4,
            )
            return [guesses.get(_position(n), (n, dt)) if not dt else (n, dt) for n, dt in fields]

    inferred = spare // n_rows if n_rows and spare >= 0 and spare % n_rows == 0 else None
    if inferred == 0 and not has_flags:
        inferred = None  # zero width is only plausible for one more bit of the flag byte
    if len(unknown) > 1 or inferred not in (0, 1, 2, 4, 8):
        listed = ", ".join(str(c) for c in by_position.values())
        raise buf.fail(
            id_offset,
            f"unknown column ID {cid} (unknown IDs: {listed}) in the data module; its byte "
            "width cannot be inferred from the record size, so the rows cannot be decoded.",
            hint=_EXPORT_HINT + " Please report the ID with the EC-Lab version.",
        )
    warnings.warn(
        f"{buf.path}, byte offset {id_offset}: unknown column ID {cid}; skipped its {inferred} "
        "bytes per row.",
        UnknownColumnWarning,
        stacklevel=4,
    )
    return [(n, dt or f"V{inferred}") for n, dt in fields if dt or inferred]


def _data_start(mod: MprModule) -> int:
    """Offset of the first record from the start of the data module (see :func:`_column_ids`)."""
    if mod.version2 is not None:
        return 0x3EF
    return {2: 0x195, 3: 0x196}.get(mod.version, 100)


def _position(field_name: str) -> int:
    return int(field_name.removeprefix("_unknown_"))


def _record_fields(
    ids: Sequence[int], renamed: Mapping[int, str]
) -> tuple[list[tuple[str, str]], list[tuple[str, int]], list[tuple[int, int]], bool]:
    """Record layout from the column IDs: (name, dtype) fields, flag bits, unknown IDs, any flags."""
    fields: list[tuple[str, str]] = []  # (field name, dtype) in record order
    flags: list[tuple[str, int]] = []
    unknown: list[tuple[int, int]] = []  # (position in ID list, ID)
    names_seen: set[str] = set()
    flag_field = None
    for k, cid in enumerate(ids):
        entry = COLUMNS.get(cid)
        if entry is None:
            unknown.append((k, cid))
            fields.append((f"_unknown_{k}", ""))
            continue
        name, kind = entry
        name = renamed.get(cid, name)
        if isinstance(kind, int):
            if flag_field is None:
                flag_field = "_flags"
                fields.append((flag_field, "u1"))
            flags.append((name, kind))
            continue
        key = name if name not in names_seen else f"{name} [{cid}]"
        names_seen.add(key)
        fields.append((key, kind))
    return fields, flags, unknown, flag_field is not None


def _complete_rows(
    buf: _Buffer, mod: MprModule, dtype: np.dtype, n_rows: int, available: int, data_at: int
) -> int:
    """The number of records to read: all of them, or those before the cut of a truncated file."""
    need = n_rows * dtype.itemsize
    if mod.truncated and need > available:
        n_rows = available // dtype.itemsize  # the complete records before the cut
        if n_rows == 0:
            raise buf.fail(
                mod.offset + mod.length,
                f"the file ends inside the first record of the data module ({available} of "
                f"{dtype.itemsize} bytes); no complete record to read.",
                hint="The file is truncated; copy it again from the instrument PC.",
            )
        need = available = n_rows * dtype.itemsize
    if need != available:
        where = mod.offset + data_at
        if need > available:
            raise buf.fail(
                where,
                f"the data module should hold {n_rows} rows of {dtype.itemsize} bytes "
                f"({need} bytes) but holds {max(available, 0)}.",
                hint="The file is truncated; copy it again from the instrument PC.",
            )
        raise buf.fail(
            where,
            f"the data module holds {available} bytes, not the {need} expected from {n_rows} rows "
            f"of {dtype.itemsize} bytes; the column table does not match this file.",
            hint=_EXPORT_HINT,
        )
    return n_rows


def _record_columns(
    rows: np.ndarray, fields: Sequence[tuple[str, str]], flags: Sequence[tuple[str, int]]
) -> tuple[list[str], dict[str, np.ndarray]]:
    """Named native-order columns from the records; flag bits unpacked, unknown fields skipped."""
    data: dict[str, np.ndarray] = {}
    columns: list[str] = []
    for name, _dt in fields:
        if name.startswith("_unknown_"):
            continue
        if name == "_flags":
            byte = rows["_flags"]
            for fname, mask in flags:
                shift = (mask & -mask).bit_length() - 1
                data[fname] = ((byte & mask) >> shift).astype(np.uint8)
                columns.append(fname)
            continue
        data[name] = rows[name].astype(rows.dtype[name].newbyteorder("="))  # aligned native copy
        columns.append(name)
    return columns, data


def _read_data(buf: _Buffer, mod: MprModule) -> tuple[tuple[str, ...], dict[str, np.ndarray], int]:
    if mod.truncated and mod.length < _data_start(mod):
        raise buf.fail(
            mod.offset + mod.length,
            f"the file ends inside the header of the data module ({mod.length} bytes of it remain); "
            "no complete record to read.",
            hint="The file is truncated; copy it again from the instrument PC.",
        )
    ids, n_rows, data_at, ids_at = _column_ids(buf, mod)
    renamed = _rename_174(ids)
    width = 2 if mod.version2 is not None or mod.version in (2, 3) else 1
    fields, flags, unknown, has_flags = _record_fields(ids, renamed)

    available = mod.length - data_at
    if unknown:
        fields = _resolve_unknown(
            buf,
            mod,
            fields,
            unknown,
            available,
            n_rows,
            ids_at + mod.offset,
            width,
            has_flags=has_flags,
        )

    dtype = np.dtype([(n, dt) for n, dt in fields])
    n_rows = _complete_rows(buf, mod, dtype, n_rows, available, data_at)
    rows = np.frombuffer(buf.raw, dtype=dtype, count=n_rows, offset=mod.offset + data_at)
    columns, data = _record_columns(rows, fields, flags)
    return tuple(columns), data, n_rows


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------
def sniff(head: bytes) -> bool:
    """True when ``head`` starts with the EC-Lab binary magic."""
    return head.startswith(MAGIC)


def read_mpr(path: str | os.PathLike[str]) -> MprFile:
    """Decode every module of an ``.mpr`` file.

    Parameters
    ----------
    path : str or PathLike
        The ``.mpr`` file.

    Returns
    -------
    MprFile
        The raw columns (EC-Lab units, as in the .mpt export) and the metadata.

    Raises
    ------
    ParseError
        Wrong magic, truncated or corrupt bytes, or a column ID whose width is unknown.
    """
    path = Path(path)
    check_file(path)  # eisna.io._limits: regular file within the size limit, before opening
    try:
        raw = path.read_bytes()
    except FileNotFoundError as err:
        raise ParseError(path, "file not found.", hint="Check the path.") from err
    except OSError as err:
        raise ParseError(path, f"cannot be read ({err.strerror}).") from err
    buf = _Buffer(path, raw)
    modules = _parse_modules(buf)
    data_mods = [m for m in modules if m.name == "VMP data"]
    if not data_mods:
        raise buf.fail(
            len(raw),
            "the file has no 'VMP data' module; expected one.",
            hint="The acquisition may not have recorded any point; "
            + _EXPORT_HINT[0].lower()
            + _EXPORT_HINT[1:],
        )
    columns, data, n_rows = _read_data(buf, data_mods[0])
    truncated = any(m.truncated for m in modules) or _cut_in_header(raw, _end(modules), modules)
    if truncated:
        _warn_truncated(path, modules, n_rows)

    technique: str | None = None
    settings: dict[str, Any] = {}
    start: datetime | None = None
    log: dict[str, Any] = {}
    loops: tuple[int, ...] = ()
    set_block = b""
    for mod in modules:
        block = raw[mod.offset : mod.offset + mod.length]
        if mod.name == "VMP Set":
            set_block = block
            technique, settings = _settings(block)
        elif mod.name == "VMP LOG":
            start, log = _log(block, buf, mod.offset)
        elif mod.name == "VMP loop":
            loops = _loop_index(block, buf, mod.offset)
        elif mod.name == "VMP ExtDev":
            settings["external_device"] = True

    sequences: tuple[str, ...] = ()
    if technique == "MB" and set_block:
        eis_ns: list[int] = []
        freq, ns = data.get("freq/Hz"), data.get("Ns")
        if freq is not None and ns is not None:
            eis_ns = sorted({int(v) for v in np.unique(ns[freq > 0])})
        sequences = _mb_sequences(set_block, log.get("software_version"), eis_ns)
    return MprFile(
        path=str(path),
        modules=tuple(modules),
        columns=columns,
        data=MappingProxyType(data),
        n_rows=n_rows,
        technique=technique,
        start=start,
        settings=MappingProxyType(settings),
        log=MappingProxyType(log),
        loop_index=loops,
        mb_sequences=sequences,
        truncated=truncated,
    )


def _end(modules: Sequence[MprModule]) -> int:
    return modules[-1].offset + modules[-1].length


def _warn_truncated(path: Path, modules: Sequence[MprModule], n_rows: int) -> None:
    """One TruncatedDataWarning saying where the file ends and what was read."""
    cut = next((m for m in modules if m.truncated), None)
    if cut is not None and cut.name == "VMP data":
        where = (
            f"inside the data module (byte offset {cut.offset + cut.length}); read its {n_rows} "
            "complete records"
        )
        if not any(m.name == "VMP LOG" for m in modules):  # the LOG module follows the data
            where += (
                "; the 'VMP LOG' module after it (start time, device, EC-Lab version) is lost, "
                "so timestamps are None"
            )
    else:
        lost = f"module {cut.name!r}" if cut is not None else "a module header"
        where = f"inside {lost}, after the data module (all {n_rows} records read; later metadata lost)"
    warnings.warn(
        f"{path}: the file looks truncated: it ends {where}. Copy it again from the instrument PC "
        "if the acquisition was complete.",
        TruncatedDataWarning,
        stacklevel=3,
    )


def _impedance(mpr: MprFile) -> np.ndarray | None:
    """Complex Z (Ω, physical sign) from Re/-Im, else from |Z| and phase; None if absent."""
    re, minus_im = mpr.column("Re(Z)/Ohm"), mpr.column("-Im(Z)/Ohm")
    if re is not None and minus_im is not None:
        return re.astype(np.float64) - 1j * minus_im.astype(np.float64)
    mod, phase = mpr.column("|Z|/Ohm"), mpr.column("Phase(Z)/deg")
    if mod is not None and phase is not None:
        return mod.astype(np.float64) * np.exp(1j * np.deg2rad(phase.astype(np.float64)))
    return None


def _split_spectra(mpr: MprFile, freq: np.ndarray, is_point: np.ndarray) -> list[np.ndarray]:
    """Row indices of each spectrum, by the same rules as the ``.mpt`` reader.

    See :func:`eisna.io._text.split_spectra`; sharing it keeps an ``.mpr`` and its text
    export giving the same spectra.
    """
    by_step = mpr.column("z cycle") is not None or mpr.technique == "MB"
    keys = [mpr.column("cycle number"), mpr.column("Ns")]
    return split_spectra(freq, is_point, keys, by_step=by_step)


def read(path: str | os.PathLike[str], **options: Any) -> list[Spectrum]:
    """Read every impedance spectrum of an EC-Lab ``.mpr`` file.

    Parameters
    ----------
    path : str or PathLike
        The ``.mpr`` file (PEIS, GEIS, ZIR, or Modulo Bat with impedance steps).
    **options
        None are used; accepted for a uniform reader interface.

    Returns
    -------
    list of Spectrum
        In acquisition order. ``freq`` in Hz, ``z`` in Ω with Z″ < 0 for capacitive arcs;
        ``timestamp`` is the log-module start plus ``time/s`` of the first point, and
        ``elapsed_s`` that time in s. Rows with freq ≤ 0 are dropped and counted in
        ``meta["n_dropped"]``.

    Raises
    ------
    ParseError
        Truncated or corrupt bytes (the message gives the byte offset).
    NoImpedanceData
        A valid file without impedance rows (GCPL, Modulo Bat without EIS step …).
    """
    mpr = read_mpr(path)
    freq = mpr.column("freq/Hz")
    z = _impedance(mpr) if freq is not None else None
    if freq is None or z is None or not np.any(np.isfinite(freq) & (freq > 0)):
        raise NoImpedanceData(
            f"{path}: no impedance data in this {mpr.technique or 'EC-Lab'} file "
            f"({mpr.n_rows} rows, columns: {', '.join(mpr.columns[:12])}"
            f"{', …' if len(mpr.columns) > 12 else ''}). Use eisna.read_cycling for cycling data."
        )
    is_point = np.isfinite(freq) & (freq > 0)
    time = mpr.column("time/s")
    ewe = mpr.column("<Ewe>/V", "Ewe/V")
    current = mpr.column("<I>/mA", "I/mA")
    cycle = mpr.column("z cycle", "cycle number")
    ns = mpr.column("Ns")
    header = mpr.header()
    groups = _split_spectra(mpr, freq, is_point)
    is_point, reason = classify(freq, z)  # eisna.io._points: non-finite or zero Z dropped too
    groups = [g for g in (rows[is_point[rows]] for rows in groups) if g.size]
    if not groups:
        raise ParseError(path, "no impedance point has a finite, non-zero Z.", hint=_EXPORT_HINT)
    dropped = dropped_by_spectrum(groups, reason, ns if mpr.technique == "MB" else None)
    spectra: list[Spectrum] = []
    for index, rows in enumerate(groups):
        first = int(rows[0])
        elapsed = float(time[first]) if time is not None else None
        if elapsed is not None and not abs(elapsed) <= _MAX_ELAPSED_S:
            warnings.warn(
                f"{path}: time/s of spectrum {index} is {elapsed!r}; elapsed_s and timestamp set to None.",
                MetadataWarning,
                stacklevel=2,
            )
            elapsed = None
        stamp = None
        if mpr.start is not None and elapsed is not None:
            stamp = mpr.start + timedelta(seconds=elapsed)
        meta: dict[str, Any] = {
            "source": str(path),
            "index": index,
            "format": NAME,
            "technique": _technique(mpr, None if ns is None else int(ns[first])),
            "cycle": None if cycle is None else round(float(cycle[first])),
            "Ewe_V": None if ewe is None else float(np.mean(ewe[rows], dtype=np.float64)),
            "I_A": None if current is None else float(np.mean(current[rows], dtype=np.float64)) / 1e3,
            "area_cm2": mpr.settings.get("area_cm2"),
            "device": mpr.log.get("device"),
            "software_version": mpr.log.get("software_version"),
            "n_dropped": sum(dropped[index].values()),
            "dropped": dropped[index],
            "header": header,
            "truncated": mpr.truncated and index == len(groups) - 1,
        }
        if elapsed is not None:  # a corrupt first time/s gives the sweep no known span
            meta.update(sweep_times(time, rows))
        spectra.append(
            Spectrum(
                freq=freq[rows].astype(np.float64), z=z[rows], timestamp=stamp, elapsed_s=elapsed, meta=meta
            )
        )
    return mark_placeholder_area(spectra, path)


def _technique(mpr: MprFile, ns: int | None) -> str | None:
    if mpr.technique in _IMPEDANCE_TECHNIQUES:
        return mpr.technique
    if mpr.technique == "MB":
        if ns is not None and 0 <= ns < len(mpr.mb_sequences):
            return mpr.mb_sequences[ns]
        warnings.warn(
            f"{mpr.path}: could not tell PEIS from GEIS for Modulo Bat sequence Ns={ns}; "
            "technique set to 'EIS'.",
            MetadataWarning,
            stacklevel=3,
        )
        return "EIS"
    return mpr.technique


def read_cycling(path: str | os.PathLike[str], *, potential: str = "auto", **options: Any) -> pd.DataFrame:
    """Read the cycling rows of an EC-Lab ``.mpr`` file as the common cycling table.

    Parameters
    ----------
    path : str or PathLike
        The ``.mpr`` file (GCPL, Modulo Bat, or any technique with time/potential/current).
    potential : {"auto", "Ewe", "Ewe-Ece"}
        Which potential is the cell voltage ``voltage_V``. ``"auto"`` takes ``Ewe - Ece``
        when the file stores ``Ece/V`` (or ``<Ece>/V``) with non-zero values: EC-Lab stores it
        only with ``Record Ece`` or an ``Ewe-Ece`` control, and exports it as the
        ``Ewe-Ece/V`` column the ``.mpt`` reader takes; else ``Ewe``.
    **options
        None are used; accepted for a uniform reader interface.

    Returns
    -------
    pandas.DataFrame
        ``time_s`` (s), ``voltage_V`` (V, the cell voltage), ``current_A`` (A),
        ``capacity_Ah`` (A·h, Q−Q0, from ``(Q-Qo)/mA.h`` or else ``(Q-Qo)/C``),
        ``cycle`` (``cycle number``, else ``half cycle // 2``), ``step`` (sequence ``Ns``),
        ``step_type`` (Modulo Bat sequence type, else the technique), ``Ewe_V`` and
        ``Ece_V`` (V) when the file records the counter electrode and, when the log
        module has a start, ``timestamp`` (NaT where ``time/s`` is corrupt). The same
        columns and choices as :func:`eisna.io.biologic_mpt.read_cycling`;
        ``attrs["potential"]`` (``"Ewe"`` or ``"Ewe-Ece"``) and ``attrs["potential_reason"]``.

    Raises
    ------
    NoCyclingData
        An impedance-only file (PEIS, GEIS, ZIR).
    ParseError
        Corrupt bytes, or no time, potential or current column.
    MissingColumnError
        ``potential="Ewe-Ece"`` on a file without ``Ece/V``.
    UsageError
        ``potential`` is not one of the three choices.
    """
    check_potential(potential)
    mpr = read_mpr(path)
    if mpr.technique in _IMPEDANCE_TECHNIQUES:
        raise NoCyclingData(
            f"{path}: holds impedance spectra ({mpr.technique}) and no cycling data; "
            "use eisna.read(path) for the spectra."
        )
    import pandas as pd  # after the impedance-only check: `eisna info` on a PEIS file needs no pandas

    n = mpr.n_rows
    time = mpr.column("time/s")
    voltage = mpr.column("Ewe/V", "<Ewe>/V")
    current = mpr.column("I/mA", "<I>/mA")
    if current is None and mpr.technique == "OCV":  # the cell rests: no current column, 0 A
        current = np.zeros(n)
    if time is None or voltage is None or current is None:
        needed = (("time/s", time), ("Ewe/V", voltage), ("I/mA", current))
        missing = [name for name, col in needed if col is None]
        raise ParseError(path, f"cycling data needs the columns {missing}; found {list(mpr.columns)}.")
    charge = mpr.column("(Q-Qo)/mA.h")
    coulomb = mpr.column("(Q-Qo)/C")
    if charge is None and coulomb is not None:
        charge = coulomb.astype(np.float64) / 3.6  # C -> mA·h
    cycle, half, ns = mpr.column("cycle number"), mpr.column("half cycle"), mpr.column("Ns")
    if cycle is not None:
        cycle_arr = _as_int(cycle)
    elif half is not None:
        cycle_arr = half.astype(np.int64) // 2
    else:
        cycle_arr = np.zeros(n, dtype=np.int64)
    step = ns.astype(np.int64) if ns is not None else np.zeros(n, dtype=np.int64)
    fallback = mpr.technique or ""
    step_type = [mpr.mb_sequences[k] if 0 <= k < len(mpr.mb_sequences) else fallback for k in step.tolist()]
    ece_name = next((name for name in ("Ece/V", "<Ece>/V") if name in mpr.data), None)
    cell = cell_potential(
        str(path),
        potential,
        ewe=voltage,
        ece=None if ece_name is None else (ece_name, mpr.data[ece_name]),
        ewe_minus_ece=next(((n, mpr.data[n]) for n in ("Ewe-Ece/V", "<Ewe-Ece>/V") if n in mpr.data), None),
        # an .mpr holds Ece only when it was recorded ('Record Ece' or an Ewe-Ece control)
        evidence=None if ece_name is None else "an .mpr stores Ece only when it is recorded",
    )
    frame = pd.DataFrame(
        {
            "time_s": time.astype(np.float64),
            "voltage_V": cell.voltage_V,
            "current_A": current.astype(np.float64) / 1e3,
            "capacity_Ah": charge.astype(np.float64) / 1e3 if charge is not None else np.full(n, np.nan),
            "cycle": cycle_arr,
            "step": step,
            "step_type": step_type,
        }
    )
    cell.apply(frame)
    frame.attrs["truncated"] = mpr.truncated
    if mpr.start is not None:
        seconds = frame["time_s"].where(frame["time_s"].abs() <= _MAX_ELAPSED_S)  # NaT when corrupt
        # whole microseconds, like datetime: ns digits of a float32-based time are noise
        frame["timestamp"] = (pd.Timestamp(mpr.start) + pd.to_timedelta(seconds, unit="s")).dt.round("us")
    return frame


def _as_int(values: np.ndarray) -> np.ndarray:
    clean = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    return np.rint(clean.clip(-(2.0**62), 2.0**62)).astype(np.int64)
