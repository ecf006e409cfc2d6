"""RelaxIS (rhd instruments) text exports of impedance spectra.

RelaxIS 3 "Spectrum export" (seen in a real export): a title line, a ``Date:`` line (the
time of the export, not of the measurement), one tab-separated header whose names carry a
``Data:`` prefix (``Fit:`` columns, when exported, hold the model and are ignored), then
for each spectrum a label line and its rows::

    RelaxIS 3.0 Spectrum export
    Date: 12/16/2025 2:29:15 PM
    Data: Frequency  Data: Z'  Data: Z''  Data: |Z|  Data: Theta (Z)
    DC=-0.08, TM=33.7, J=-5E-6   Model: Unassigned Spectra   (WE/RE Spectrum) cell_C01.mpr_1
    0.1              1.8e6     -8.1e6     8.3e6      -77.5

Z'' is the physical imaginary part (negative on a capacitive arc). The label's ``DC=`` is
the DC potential (V): it agrees with the mean Ewe of the EC-Lab file the spectrum came from.
Its other ``key=value`` pairs, ``Model:`` and the bracketed channel are kept in
``meta["settings"]``; the name after the brackets is ``meta["name"]``.

An older layout, built from RelaxIS's documented export options, writes a block of
``key<TAB>value`` (or ``key: value``) lines before each spectrum's own header::

    RelaxIS 3 - Spectrum export
    Spectrum:        LLZO 25 °C
    Temperature [K]: 298.15
    Potential [V]:   0
    Frequency [Hz]  Z' [Ohm]  Z'' [Ohm]
    1000000         512.3     -80.1

Both are read with the generic column aliases; per spectrum: ``temperature_K``, ``Ewe_V``
and the spectrum name (``meta["name"]``), with every key/value in ``meta["settings"]``.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any

from ..errors import NoImpedanceData
from ..spectrum import Spectrum
from ._text import decode_text, read_bytes
from .novocontrol import temperature_from_text
from .table import find_columns, read_vendor

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


def _table_names(line: str) -> list[str] | None:
    """The column names of a header line (``Data:`` prefixes removed), or None for another line."""
    names = [re.sub(r"^\s*Data:\s*", "", cell).strip() for cell in line.split("\t")]
    roles = find_columns(names)
    if "freq" in roles and ({"z_real", "z_imag"} <= roles.keys() or {"z_mod", "phase"} <= roles.keys()):
        return names
    return None


def _is_row(line: str) -> bool:
    return re.match(r"^\s*[-+]?(?:\d|\.\d)", line) is not None


def _label_meta(line: str, base: dict[str, Any]) -> dict[str, Any]:
    """A spectrum label line (``DC=…, TM=…<TAB>Model: …<TAB>(WE/RE Spectrum) name``) added to ``base``."""
    settings = dict(base.get("settings", {}))
    meta = {**base, "settings": settings}
    for cell in (c.strip() for c in line.split("\t")):
        named = re.match(r"^\((.+?)\)\s*(.+)$", cell)
        if named is not None:
            settings["spectrum"] = named.group(1)
            meta["name"] = named.group(2)
        elif "=" in cell:
            for part in cell.split(","):
                key, _, value = part.partition("=")
                if key.strip():
                    settings[key.strip()] = value.strip()
        elif ":" in cell:
            key, _, value = cell.partition(":")
            settings[key.strip()] = value.strip()
    with contextlib.suppress(KeyError, ValueError):  # no DC= pair, or not a number
        meta["Ewe_V"] = float(settings["DC"])
    return meta


def _chunks(lines: list[str], at: int, end: int) -> list[tuple[int, int, str | None]]:
    """The row ranges below the header at ``at`` (up to ``end``), each with its label line.

    Returns ``(first, stop, label)``: rows ``first`` to ``stop - 1``; ``label`` is the
    non-numeric line that opens the range (None for rows right below the header).
    """
    labels = [k for k in range(at + 1, end) if lines[k].strip() and not _is_row(lines[k])]
    if not labels:
        return [(at + 1, end, None)]
    found: list[tuple[int, int, str | None]] = []
    if any(_is_row(lines[k]) for k in range(at + 1, labels[0])):
        found.append((at + 1, labels[0], None))
    for n, k in enumerate(labels):
        stop = labels[n + 1] if n + 1 < len(labels) else end
        if any(_is_row(lines[j]) for j in range(k + 1, stop)):
            found.append((k + 1, stop, lines[k]))
    return found


def read(path: str | os.PathLike[str], **options: Any) -> list[Spectrum]:
    """Read every spectrum of a RelaxIS text export, each with its own metadata.

    Parameters
    ----------
    path : str or PathLike
        The export.
    **options
        ``columns``, ``imag_sign``, ``delimiter``, ``decimal`` as for :func:`eisna.io.table.read`.
    """
    text, _ = decode_text(read_bytes(path))
    lines = text.splitlines()
    headers = [k for k, line in enumerate(lines) if _table_names(line) is not None]
    if not headers:
        raise NoImpedanceData(
            f"{path}: no impedance table in this RelaxIS export (no Frequency and Z columns)."
        )
    spectra: list[Spectrum] = []
    block_start = 1  # after the title line
    for n, at in enumerate(headers):
        end = headers[n + 1] if n + 1 < len(headers) else len(lines)
        names = _table_names(lines[at])
        # the metadata of the next spectrum starts after the last numeric row of this one
        base = _block_meta([ln for ln in lines[block_start:at] if ln.strip()])
        for first, stop, label in _chunks(lines, at, end):
            meta = base if label is None else _label_meta(label, base)
            # blank out everything but the header and these rows: file line numbers stay right
            kept = [""] * at + [lines[at]] + [""] * (first - at - 1) + lines[first:stop]
            spectra.extend(
                read_vendor(
                    path,
                    fmt=NAME,
                    meta=meta,
                    text="\n".join(kept),
                    header_line=at,
                    names=names,
                    **options,
                )
            )
        block_start = max((k for k in range(at + 1, end) if _is_row(lines[k])), default=at) + 1
    return [
        Spectrum(freq=s.freq, z=s.z, elapsed_s=s.elapsed_s, meta={**s.meta, "index": k})
        for k, s in enumerate(spectra)
    ]
