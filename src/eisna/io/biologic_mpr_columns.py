"""Column IDs of the EC-Lab ``.mpr`` data module: name, storage type and where each was verified.

The ``VMP data`` module lists one numeric ID per column; the rows are packed records
whose layout follows that list. :data:`COLUMNS` maps an ID to the column's name as
the ``.mpt`` text export spells it and its little-endian numpy dtype, or to a bit
mask for the flag columns that share one byte.

IDs come in pages of 256: ``430`` (page 1) is the phase of Zwe-ce, ``174`` (page 0)
``<Ewe>/V``, and ``467``–``469`` are the page-1 forms of ``211``–``213``.

Every entry carries its evidence in :data:`SOURCES`:

``"twin"``
    Decoded from a corpus ``.mpr`` and compared, row by row, with the same column of
    its ``.mpt`` twin (tests/test_io_twins.py).
``"doc"``
    Name and width taken from public descriptions of the format (the shared
    file-format notes, issue threads of open-source readers that quote the ``.mpt``
    header of a file holding the ID); no corpus file holds the ID.

Written from those facts; no table of another reader was copied.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["COLUMNS", "SOURCES"]

# (ID, name, dtype or flag mask, evidence)
_ENTRIES: tuple[tuple[int, str, str | int, str], ...] = (
    # bit flags, one shared u1 byte
    (1, "mode", 0x03, "twin"),
    (2, "ox/red", 0x04, "twin"),
    (3, "error", 0x08, "twin"),
    (21, "control changes", 0x10, "twin"),
    (31, "Ns changes", 0x20, "twin"),
    (65, "counter inc.", 0x80, "twin"),
    # DC quantities
    (4, "time/s", "<f8", "twin"),
    (5, "control/V/mA", "<f4", "twin"),
    (6, "Ewe/V", "<f4", "twin"),
    (7, "dq/mA.h", "<f8", "twin"),
    (8, "I/mA", "<f4", "twin"),
    (9, "Ece/V", "<f4", "twin"),  # mb.issue_218
    (11, "<I>/mA", "<f8", "doc"),
    (13, "(Q-Qo)/mA.h", "<f8", "twin"),
    (16, "Analog IN 1/V", "<f4", "twin"),
    (17, "Analog IN 2/V", "<f4", "twin"),
    (19, "control/V", "<f4", "twin"),
    (20, "control/mA", "<f4", "twin"),  # mb.issue_218, mb.issue_95
    (24, "cycle number", "<f8", "twin"),
    (26, "Rapp/Ohm", "<f4", "doc"),
    (27, "Ewe-Ece/V", "<f4", "doc"),
    (39, "I Range", "<u2", "twin"),
    (69, "R/Ohm", "<f4", "doc"),
    (70, "P/W", "<f4", "twin"),
    (74, "|Energy|/W.h", "<f8", "twin"),
    (76, "<I>/mA", "<f4", "twin"),
    (77, "<Ewe>/V", "<f4", "twin"),
    (123, "Energy charge/W.h", "<f8", "twin"),  # mb.mpr, mb.issue_95
    (124, "Energy discharge/W.h", "<f8", "twin"),
    (125, "Capacitance charge/µF", "<f8", "twin"),
    (126, "Capacitance discharge/µF", "<f8", "twin"),
    (131, "Ns", "<u2", "twin"),
    # impedance
    (32, "freq/Hz", "<f4", "twin"),
    (33, "|Ewe|/V", "<f4", "twin"),
    (34, "|I|/A", "<f4", "twin"),
    (35, "Phase(Z)/deg", "<f4", "twin"),
    (36, "|Z|/Ohm", "<f4", "twin"),
    (37, "Re(Z)/Ohm", "<f4", "twin"),
    (38, "-Im(Z)/Ohm", "<f4", "twin"),
    (169, "Cs/µF", "<f4", "twin"),
    (172, "Cp/µF", "<f4", "twin"),
    # counter electrode and WE-CE impedance
    (96, "|Ece|/V", "<f4", "twin"),
    (98, "Phase(Zce)/deg", "<f4", "twin"),
    (99, "|Zce|/Ohm", "<f4", "twin"),
    (100, "Re(Zce)/Ohm", "<f4", "twin"),
    (101, "-Im(Zce)/Ohm", "<f4", "twin"),
    (174, "<Ewe>/V", "<f4", "doc"),  # Phase(Zwe-ce) when 6 or 77 is present (see biologic_mpr)
    (175, "|Zwe-ce|/Ohm", "<f4", "doc"),
    (176, "Re(Zwe-ce)/Ohm", "<f4", "doc"),
    (177, "-Im(Zwe-ce)/Ohm", "<f4", "doc"),
    (430, "Phase(Zwe-ce)/deg", "<f4", "twin"),
    (431, "|Zwe-ce|/Ohm", "<f4", "twin"),
    (432, "Re(Zwe-ce)/Ohm", "<f4", "twin"),
    (433, "-Im(Zwe-ce)/Ohm", "<f4", "twin"),
    (215, "<Ece>/V", "<f4", "doc"),
    (471, "<Ece>/V", "<f4", "twin"),
    # charge in coulomb (chronopotentiometry / chronoamperometry)
    (434, "(Q-Qo)/C", "<f4", "doc"),
    (435, "dQ/C", "<f4", "doc"),
    (438, "step time/s", "<f8", "doc"),
    # battery counters
    (211, "Q charge/discharge/mA.h", "<f8", "doc"),  # page-0 form of 467
    (212, "half cycle", "<u4", "doc"),
    (213, "z cycle", "<u4", "doc"),
    (467, "Q charge/discharge/mA.h", "<f8", "twin"),
    (468, "half cycle", "<u4", "twin"),
    (469, "z cycle", "<u4", "twin"),
    (880, "Energy we/W.h", "<f8", "twin"),
)

# EIS quality indicators: page 1 (473-497) seen in the corpus, page 0 (217-241) by the same offsets.
_QUALITY = (
    (217, "THD Ewe/%"),
    (218, "THD I/%"),
    (220, "NSD Ewe/%"),
    (221, "NSD I/%"),
    (223, "NSR Ewe/%"),
    (224, "NSR I/%"),
    *((230 + k, f"|Ewe h{k + 2}|/V") for k in range(6)),
    *((236 + k, f"|I h{k + 2}|/A") for k in range(6)),
)
_ALL = _ENTRIES + tuple(
    (base + page, name, "<f4", "twin" if page else "doc") for page in (0, 256) for base, name in _QUALITY
)

COLUMNS: Mapping[int, tuple[str, str | int]] = MappingProxyType(
    {cid: (name, kind) for cid, name, kind, _ in _ALL}
)
"""ID -> (column name as in the ``.mpt`` export, numpy dtype or flag bit mask)."""

SOURCES: Mapping[int, str] = MappingProxyType({cid: source for cid, _, _, source in _ALL})
"""ID -> ``"twin"`` (checked against an ``.mpt`` twin of the corpus) or ``"doc"``."""
