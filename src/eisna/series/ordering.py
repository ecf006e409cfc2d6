"""Time order of a series: timestamps, elapsed time or natural file-name order."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from ..spectrum import Spectrum

if TYPE_CHECKING:
    pass


_DIGITS = re.compile(r"(\d+)")


def earliest(stamps: Iterable[Any]) -> datetime | None:
    """The earliest of the datetimes among ``stamps`` (others are skipped); None when there is
    none, or when zone-aware and zone-less times are mixed (no single answer)."""
    found = [t for t in stamps if isinstance(t, datetime)]
    try:
        return min(found) if found else None
    except TypeError:
        return None


# EC-Lab names one experiment's files "<base>_<NN>_<TECHNIQUE>[_<NN>]_C<channel>"
_ECLAB_NAME = re.compile(r"^(?P<base>.+?)_\d{2,}_[A-Z][A-Za-z]*(?:_\d+)?_(?P<channel>C\d+)$")


def cell_label(path: Any, n_spectra: int, group_by: str | None = None) -> str:
    """Cell a file belongs to: one cell per file with several spectra (a looped file), else the
    folder plus the EC-Lab base name and channel (files of one experiment belong together).

    ``group_by`` (a regular expression searched in the file name) overrides this: files whose
    match (its first group when it has one) is equal are one cell; a file without a match is
    its own cell.
    """
    from pathlib import Path

    p = Path(path)
    if group_by:
        m = re.search(group_by, p.name)
        if m is None:
            return str(p)
        return str(p.parent / (m.group(1) if m.groups() else m.group(0)))
    if n_spectra > 1:
        return str(p)
    m = _ECLAB_NAME.match(p.stem)
    if m:
        return str(p.parent / f"{m.group('base')} {m.group('channel')}")
    return str(p.parent)


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded numbers numerically (``t2`` < ``t10``)."""
    return tuple(int(p) if p.isdigit() else p.lower() for p in _DIGITS.split(text))


def order_spectra(spectra: Sequence[Spectrum]) -> tuple[list[int], np.ndarray, str]:
    """Time order of spectra.

    Returns
    -------
    order : list of int
        Indices into ``spectra`` in time order.
    time_h : ndarray
        Hours since the first spectrum, in that order (NaN-free; file order gives 0, 1, 2… × NaN).
    basis : str
        ``"timestamp"``, ``"elapsed"`` or ``"file order"`` (then ``time_h`` is the rank).
    """
    n = len(spectra)
    name_key = [
        (natural_key(str(s.meta.get("source", ""))), int(s.meta.get("index", 0) or 0), i)
        for i, s in enumerate(spectra)
    ]
    stamps = [s.timestamp for s in spectra if s.timestamp is not None]
    if n and len(stamps) == n:
        aware = {ts.tzinfo is not None for ts in stamps}
        if len(aware) == 1:
            order = sorted(range(n), key=lambda i: (stamps[i], name_key[i]))
            t0 = stamps[order[0]]
            return order, np.array([(stamps[i] - t0).total_seconds() / 3600 for i in order]), "timestamp"
    sources = {str(s.meta.get("source", "")) for s in spectra}
    elapsed = [s.elapsed_s for s in spectra if s.elapsed_s is not None]
    if n and len(sources) <= 1 and len(elapsed) == n:
        order = sorted(range(n), key=lambda i: (elapsed[i], name_key[i]))
        e0 = elapsed[order[0]]
        return order, np.array([(elapsed[i] - e0) / 3600 for i in order]), "elapsed"
    order = sorted(range(n), key=lambda i: name_key[i])
    return order, np.arange(n, dtype=float), "file order"


def spectrum_hash(spectrum: Spectrum) -> str:
    """Content hash of a spectrum's data (frequencies and impedance)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(spectrum.freq).tobytes())
    h.update(np.ascontiguousarray(spectrum.z).tobytes())
    return h.hexdigest()[:24]
