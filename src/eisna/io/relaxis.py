"""RelaxIS (rhd instruments) text exports of impedance spectra.

RelaxIS writes a title line naming the program, then for each exported spectrum a
block of ``key<TAB>value`` (or ``key: value``) lines followed by a tab-separated table::

    RelaxIS 3 - Spectrum export
    Spectrum:        LLZO 25 °C
    Temperature [K]: 298.15
    Potential [V]:   0
    Frequency [Hz]  Z' [Ohm]  Z'' [Ohm]
    1000000         512.3     -80.1

The layout here was built from RelaxIS's documented export options, not from a public
example file (none was found); the reader therefore relies on the generic column
aliases for the table, and reads per spectrum: ``temperature_K``, ``Ewe_V`` and the
spectrum name (``meta["name"]``), with every key/value line in ``meta["header"]["settings"]``.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ..errors import NoImpedanceData
from ..spectrum import Spectrum
from ._text import decode_text, read_bytes
from .novocontrol import temperature_from_text
from .table import _names_impedance, read_vendor

__all__ = ["EXTENSIONS", "NAME", "read", "sniff"]

NAME = "relaxis"
EXTENSIONS = (".txt",)


def sniff(head: bytes) -> bool:
    """True when the first lines name RelaxIS."""
    return b"relaxis" in head[:1024].lower()


def _settings(lines: list[str]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in lines:
        match = re.match(r"^\s*([^\t:=]+?)\s*(?::\s*|\t+|=\s*)(.+?)\s*$", line)
        if match is not None:
            settings[match.group(1)] = match.group(2)
    return settings


def _block_meta(lines: list[str]) -> dict[str, Any]:
    settings = _settings(lines)
    meta: dict[str, Any] = {"instrument": "RelaxIS", "settings": settings}
    for line in lines:
        temperature = temperature_from_text(line)
        if temperature is not None:
            meta["temperature_K"] = temperature
            break
    for key, value in settings.items():
        low = key.lower()
        if low.startswith(("spectrum", "name")):
            meta["name"] = value
        elif low.startswith(("potential", "bias", "dc potential")):
            number = re.match(r"[-+]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?", value)
            if number is not None:
                meta["Ewe_V"] = float(number.group(0).replace(",", "."))
    return meta


def read(path: str | os.PathLike[str], **options: Any) -> list[Spectrum]:
    """Read every spectrum of a RelaxIS text export, each with its own metadata block.

    Parameters
    ----------
    path : str or PathLike
        The export.
    **options
        ``columns``, ``imag_sign``, ``delimiter``, ``decimal`` as for :func:`eisna.io.table.read`.
    """
    text, _ = decode_text(read_bytes(path))
    lines = text.splitlines()
    headers = [k for k, line in enumerate(lines) if _names_impedance(line)]
    if not headers:
        raise NoImpedanceData(
            f"{path}: no impedance table in this RelaxIS export (no Frequency and Z columns)."
        )
    spectra: list[Spectrum] = []
    block_start = 1  # after the title line
    for n, at in enumerate(headers):
        end = headers[n + 1] if n + 1 < len(headers) else len(lines)
        # the metadata of the next spectrum starts after the last numeric row of this one
        meta_lines = [ln for ln in lines[block_start:at] if ln.strip()]
        segment = "\n".join([""] * at + lines[at:end])  # keep file line numbers in messages
        last = at
        for k in range(at + 1, end):
            if re.match(r"^\s*[-+]?\d", lines[k]):
                last = k
        found = read_vendor(
            path, fmt=NAME, meta=_block_meta(meta_lines), text=segment, header_line=at, **options
        )
        spectra.extend(found)
        block_start = last + 1
    return [
        Spectrum(freq=s.freq, z=s.z, elapsed_s=s.elapsed_s, meta={**s.meta, "index": k})
        for k, s in enumerate(spectra)
    ]
