"""Princeton Applied Research VersaStudio project files (``.par``; VersaSTAT, PARSTAT).

Written from the format as observed. The file is UTF-8 text made of tagged sections,
``<Name>`` … ``</Name>``, each holding ``key=value`` lines: ``<Application>`` (software
version), ``<Instrument>`` (``Type=VersaSTAT4``, ``SN=``), ``<Experiment>``
(``DateAcquired=Thursday, July 19, 2018``, ``TimeAcquired=9:40:30 AM``), ``<Action0>``
(common settings: ``Working Electrode Area (cm2)``), ``<ActionN>`` (the technique of step N:
``Name=Potentiostatic EIS``, ``Potential (V),Value``, ``Potential (V),Versus``) and
``<SegmentN>``: ``Definition=`` names the comma-separated columns, one row per point follows.

Every segment with ``Frequency(Hz)``, ``Z Real`` and ``Z Imag`` columns is one spectrum
(Z Imag has the physical sign). The timestamp is the acquisition date and time plus the
``Elapsed Time(s)`` of the first point.
"""

from __future__ import annotations

import os
import re
import warnings
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from ..errors import MetadataWarning, NoImpedanceData, ParseError
from ..spectrum import Spectrum
from ._points import finite_points
from ._sweep import sweep_times
from ._text import decode_text, read_bytes

__all__ = ["DESCRIPTION", "EXTENSIONS", "NAME", "read", "sniff"]

NAME = "versastudio-par"
DESCRIPTION = "Princeton Applied Research VersaStudio .par"
EXTENSIONS = (".par",)

_OPEN = re.compile(r"^<([A-Za-z]\w*)>\s*$")


def sniff(head: bytes) -> bool:
    """Return True for a VersaStudio ``.par`` project file.

    Parameters
    ----------
    head : bytes
        The first bytes of the file.
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return text.startswith(b"<Application>") and b"VersaStudio" in text[:300]


def _sections(text: str) -> list[tuple[str, list[str], int]]:
    """(name, body lines, 1-based line of the first body line) of every top-level section."""
    sections = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _OPEN.match(lines[i].strip())
        i += 1
        if not match:
            continue
        name, body, first = match[1], [], i + 1
        while i < len(lines) and lines[i].strip() != f"</{name}>":
            body.append(lines[i])
            i += 1
        sections.append((name, body, first))
        i += 1
    return sections


def _settings(body: list[str]) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in body if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def _start(path: str, experiment: dict[str, str]) -> datetime | None:
    date, clock = experiment.get("DateAcquired"), experiment.get("TimeAcquired")
    if not date or not clock:
        return None
    for fmt in ("%A, %B %d, %Y %I:%M:%S %p", "%B %d, %Y %I:%M:%S %p", "%A, %B %d, %Y %H:%M:%S"):
        try:
            return datetime.strptime(f"{date} {clock}", fmt)
        except ValueError:
            continue
    warnings.warn(
        f"{path}: DateAcquired {date!r} / TimeAcquired {clock!r} not understood; timestamp set to None.",
        MetadataWarning,
        stacklevel=3,
    )
    return None


def read(path: str | os.PathLike[str]) -> list[Spectrum]:
    """Read every impedance segment of a VersaStudio ``.par`` file.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    list of Spectrum
        One per impedance segment. ``meta`` holds ``technique``, ``action`` (the step's
        name), ``segment``, ``area_cm2``, ``dc_potential_V`` and ``dc_versus``, ``Ewe_V`` and
        ``I_A`` (means of E(V) and I(A)), ``ocp_text``, ``instrument``, ``device`` (serial),
        ``software_version`` and ``n_dropped``.

    Raises
    ------
    ParseError
        A segment without ``Definition=`` or with a non-numeric cell.
    NoImpedanceData
        No impedance segment.
    """
    path = str(path)
    text, _ = decode_text(read_bytes(path))
    sections = _sections(text)
    named = {name: _settings(body) for name, body, _ in sections if not name.startswith("Segment")}
    start = _start(path, named.get("Experiment", {}))
    common = named.get("Action0", {})
    instrument = named.get("Instrument", {})
    spectra: list[Spectrum] = []
    for name, body, first in sections:
        if not name.startswith("Segment"):
            continue
        number = name.removeprefix("Segment")
        action = named.get(f"Action{number}", {})
        spectrum = _segment(
            path,
            body,
            first,
            start,
            {
                "source": path,
                "format": NAME,
                "segment": name,
                "action": action.get("Name"),
                "technique": _technique(action.get("Name", "")),
                "area_cm2": _float(common.get("Working Electrode Area (cm2)")),
                "dc_potential_V": _float(action.get("Potential (V),Value")),
                "dc_versus": action.get("Potential (V),Versus"),
                "ocp_text": common.get("Measured Open Circuit"),
                "instrument": " ".join(filter(None, ("Princeton Applied Research", instrument.get("Type")))),
                "device": instrument.get("SN"),
                "software_version": named.get("Application", {}).get("Version"),
                "index": len(spectra),
            },
        )
        if spectrum is not None:
            spectra.append(spectrum)
    if not spectra:
        raise NoImpedanceData(f"{path}: no segment with Frequency(Hz), Z Real and Z Imag columns.")
    return spectra


def _technique(name: str) -> str | None:
    lowered = name.lower()
    if "galvanostatic eis" in lowered:
        return "GEIS"
    return "PEIS" if "eis" in lowered else (name or None)


def _segment(
    path: str, body: list[str], first: int, start: datetime | None, meta: dict[str, Any]
) -> Spectrum | None:
    at = next((k for k, line in enumerate(body) if line.startswith("Definition=")), None)
    if at is None:
        raise ParseError(path, f"{meta['segment']} has no 'Definition=' line naming its columns.", line=first)
    names = [n.strip() for n in body[at].split("=", 1)[1].split(",")]
    if not {"Frequency(Hz)", "Z Real", "Z Imag"} <= set(names):
        return None
    rows = []
    for k, line in enumerate(body[at + 1 :]):
        if not line.strip():
            continue
        try:
            rows.append([float(c) for c in line.split(",")[: len(names)]])
        except ValueError:
            raise ParseError(
                path, f"expected comma-separated numbers, found {line[:60]!r}.", line=first + at + 1 + k
            ) from None
    # A cut row (truncated file) is padded with NaN so every named column exists; its
    # missing values then fail finite_points and are counted as dropped.
    width = len(names)
    data = np.array([r + [np.nan] * (width - len(r)) for r in rows]).reshape(-1, width)
    col = {n: data[:, c] for c, n in enumerate(names)}
    freq, z = col["Frequency(Hz)"], col["Z Real"] + 1j * col["Z Imag"]
    keep = finite_points(freq, z)
    if not keep.any():
        warnings.warn(
            f"{path}, line {first}: {meta['segment']} holds no point with freq > 0 Hz; skipped.",
            MetadataWarning,
            stacklevel=4,
        )
        return None
    e, i, t = col.get("E(V)"), col.get("I(A)"), col.get("Elapsed Time(s)")
    meta["Ewe_V"] = float(np.nanmean(e[keep])) if e is not None else None
    meta["I_A"] = float(np.nanmean(i[keep])) if i is not None else None
    meta["n_dropped"] = int((~keep).sum())
    meta.update(sweep_times(t, np.flatnonzero(keep)))
    elapsed = float(t[keep][0]) if t is not None else None
    timestamp = start + timedelta(seconds=elapsed) if start is not None and elapsed is not None else start
    return Spectrum(
        freq=freq[keep],
        z=z[keep],
        timestamp=timestamp,
        elapsed_s=elapsed if start is not None else None,
        meta=meta,
    )


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
