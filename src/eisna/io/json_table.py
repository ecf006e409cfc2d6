"""JSON impedance tables: ``{column: {row: value}}`` (pandas ``to_json``), ``{column: [values]}``
or ``[{column: value}, …]``.

Columns are found by name: a frequency (``f (Hz)``, ``freq``, ``frequency``), a real part
(``Re(Z) (ohm)``, ``Z'``, ``Zre``, ``Z_real``) and an imaginary part (``Im(Z)``, ``Z''``,
``Zim``, ``Z_imag``; a leading ``-`` means the column holds −Z″ and the sign is turned).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import numpy as np

from ..errors import NoImpedanceData, ParseError
from ..spectrum import Spectrum
from ._points import finite_points
from ._text import decode_text, read_bytes

__all__ = ["DESCRIPTION", "EXTENSIONS", "NAME", "read", "sniff"]

NAME = "json"
DESCRIPTION = "JSON table (frequency, Re(Z), Im(Z) columns)"
EXTENSIONS = (".json",)

_FREQ_KEY = re.compile(rb'"(?:f|freq|frequency)(?:\s*[(\[/][^"]*)?"\s*:', re.IGNORECASE)
_UNIT = re.compile(r"\s*[\(\[/].*$")
_FREQ = {"f", "freq", "frequency"}
_RE = {"re(z)", "z'", "zre", "z_re", "zreal", "z_real", "real", "re"}
_IM = {"im(z)", "z''", "zim", "z_im", "zimag", "z_imag", "imag", "im"}


def sniff(head: bytes) -> bool:
    """Return True for JSON text that names a frequency column.

    Parameters
    ----------
    head : bytes
        The first bytes of the file.
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return text[:1] in (b"{", b"[") and _FREQ_KEY.search(text) is not None


def _base(name: str) -> str:
    """``"Re(Z) (ohm)"`` → ``"re(z)"``; ``"f (Hz)"`` → ``"f"``."""
    lowered = name.strip().lower()
    if lowered.startswith(("re(z)", "im(z)", "-im(z)")):
        return lowered.split(")", 1)[0] + ")"
    return _UNIT.sub("", lowered).strip()


def _row_key(label: str) -> tuple[int, int, str]:
    """Row labels of a pandas ``to_json`` column in row order: numbers first, by value."""
    text = str(label)
    if text.isascii() and text.isdigit():
        return (0, int(text), "")
    return (1, 0, text)


def _columns(path: str, doc: Any) -> dict[str, np.ndarray]:
    if isinstance(doc, list) and doc and all(isinstance(r, dict) for r in doc):
        keys = list(doc[0])
        return {k: np.array([r.get(k, np.nan) for r in doc], dtype=float) for k in keys}
    if isinstance(doc, dict):
        out = {}
        for key, column in doc.items():
            if isinstance(column, dict):
                order = sorted(column, key=_row_key)
                column = [column[i] for i in order]
            if isinstance(column, list):
                try:
                    out[key] = np.array([np.nan if v is None else v for v in column], dtype=float)
                except (TypeError, ValueError):
                    continue
        return out
    raise ParseError(path, "expected a JSON object of columns or a list of row objects.")


def read(path: str | os.PathLike[str]) -> list[Spectrum]:
    """Read the spectrum of a JSON table.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    list of Spectrum
        One spectrum; ``meta`` holds ``columns`` (the names read) and ``n_dropped``.

    Raises
    ------
    ParseError
        Invalid JSON or no frequency/real/imaginary columns.
    NoImpedanceData
        No row with freq > 0 Hz.
    """
    path = str(path)
    text, _ = decode_text(read_bytes(path))
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ParseError(path, f"invalid JSON ({err.msg}).", line=err.lineno) from err
    cols = _columns(path, doc)
    found: dict[str, str] = {}
    for name in cols:
        base = _base(name)
        neg = base.startswith("-")
        base = base.lstrip("-").strip()
        if base in _FREQ:
            found.setdefault("freq", name)
        elif base in _RE:
            found.setdefault("re", name)
        elif base in _IM:
            found.setdefault("neg_im" if neg else "im", name)
    im_key = "im" if "im" in found else "neg_im"
    if "freq" not in found or "re" not in found or im_key not in found:
        raise ParseError(
            path,
            f"expected frequency, real and imaginary columns; found {list(cols)}.",
            hint="Name them like 'f (Hz)', 'Re(Z) (ohm)', 'Im(Z) (ohm)'.",
        )
    freq, re_z, im_z = cols[found["freq"]], cols[found["re"]], cols[found[im_key]]
    if not freq.size == re_z.size == im_z.size:
        raise ParseError(
            path, f"columns have {freq.size}, {re_z.size} and {im_z.size} values; expected equal lengths."
        )
    z = re_z + 1j * (im_z if im_key == "im" else -im_z)
    keep = finite_points(freq, z)
    if not keep.any():
        raise NoImpedanceData(f"{path}: no row with freq > 0 Hz.")
    meta = {
        "source": path,
        "index": 0,
        "format": NAME,
        "technique": None,
        "columns": (found["freq"], found["re"], found[im_key]),
        "n_dropped": int((~keep).sum()),
    }
    return [Spectrum(freq=freq[keep], z=z[keep], meta=meta)]
