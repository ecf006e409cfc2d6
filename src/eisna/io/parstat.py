"""Princeton Applied Research text exports: Parstat (VersaStudio table) and PowerSuite.

Parstat (``exampleDataParstat.txt`` of impedance.py): one tab-separated table with a
trailing tab, the DC rows of the run first (``Frequency (Hz)`` = 0) and then the sweep::

    Potential (V)  Current (A)  Elapsed Time (s)  Frequency (Hz)  Zre (ohms)  Zim (ohms)  |Vac| (V)  |Iac| (A)

PowerSuite (``exampleDataPowersuite.txt``): ``Frequency<TAB> Zre<TAB> Zimg`` with CR CR LF
line ends. ``Zim``/``Zimg`` hold Z″ with its physical sign.

Kept: ``elapsed_s`` of each sweep, ``Ewe_V`` and ``I_A`` (means over the sweep), and the
DC rows counted in ``meta["n_dropped"]``.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ..spectrum import Spectrum
from .table import read_vendor

__all__ = ["EXTENSIONS", "NAME", "read", "sniff"]

NAME = "parstat"
EXTENSIONS = (".txt",)
_PARSTAT = re.compile(rb"^\s*Potential \(V\)\tCurrent \(A\)\t.*Frequency \(Hz\)\tZre \(ohms\)\tZim \(ohms\)")
_POWERSUITE = re.compile(rb"^\s*Frequency\t\s*Zre\t\s*Zimg\s*[\r\n]")


def sniff(head: bytes) -> bool:
    """True when the first line is the Parstat or the PowerSuite column header."""
    head = head.removeprefix(b"\xef\xbb\xbf")
    return bool(_PARSTAT.match(head) or _POWERSUITE.match(head))


def read(path: str | os.PathLike[str], **options: Any) -> list[Spectrum]:
    """Read the impedance sweeps of a Parstat or PowerSuite text export.

    Parameters
    ----------
    path : str or PathLike
        The ``.txt`` export.
    **options
        ``columns``, ``imag_sign``, ``delimiter``, ``decimal`` as for :func:`eisna.io.table.read`.
    """
    with open(path, "rb") as fh:
        head = fh.read(512).removeprefix(b"\xef\xbb\xbf")
    software = "PowerSuite" if _POWERSUITE.match(head) else "Parstat"
    meta = {"instrument": "Princeton Applied Research", "software": software}
    return read_vendor(path, fmt=NAME, meta=meta, header_line=0, **options)
