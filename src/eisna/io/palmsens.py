"""PalmSens PSTrace / MultiTrace session files (``.pssession``), written from the format as observed.

A session is UTF-16 JSON (a byte-order mark, and often a stray BOM after the closing brace):
``{"Type": "PalmSens.DataFiles.SessionFile", "Measurements": [...]}``. Each measurement has
``TimeStamp`` (local time) and ``UTCTimeStamp`` as .NET ticks (100 ns since 0001-01-01),
``DeviceSerial``, ``Method`` (the method file text, ``KEY=value`` lines) and ``EISDataList``:
one entry per channel, each with a ``DataSet`` (one spectrum) or ``SubScans`` (one spectrum
per DC potential or scan, each with its own ``DataSet``). A ``DataSet`` holds ``Values``
arrays named by ``Description``: ``Frequency`` (Hz), ``ZRe`` and ``ZIm`` (Ω; ``ZIm`` is
stored as −Z″, positive for capacitive arcs), ``potential`` (set DC potential, V), ``mEdc``
(measured DC potential, V).

Every channel and every scan becomes one spectrum, in file order; ``meta["channel"]`` and
``meta["scan"]`` hold their titles. With a single curve, the measurement's own ``DataSet`` (the
measured data) is read, and a :class:`~eisna.errors.MetadataWarning` says so when the curve's
plot copy differs from it (seen in an edited test file). With several channels or scans the
measurement's ``DataSet`` holds only one of them, so the curves are read.
"""

from __future__ import annotations

import json
import os
import warnings
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from ..errors import MetadataWarning, NoImpedanceData, ParseError
from ..spectrum import Spectrum
from ._points import finite_points
from ._text import read_bytes

__all__ = ["DESCRIPTION", "EXTENSIONS", "NAME", "read", "sniff"]

NAME = "palmsens-pssession"
DESCRIPTION = "PalmSens PSTrace/MultiTrace .pssession"
EXTENSIONS = (".pssession",)

_MAGIC = '{"Type":"PalmSens.DataFiles.SessionFile"'.encode("utf-16-le")
_TICKS_ORIGIN = datetime(1, 1, 1)
_MODELS = (("ES4", "EmStat4"), ("ES3", "EmStat3"), ("PS4", "PalmSens4"), ("MS4", "MultiEmStat4"))


def sniff(head: bytes) -> bool:
    """Return True for a UTF-16 PalmSens session file.

    Parameters
    ----------
    head : bytes
        The first bytes of the file.
    """
    body = head.removeprefix(b"\xff\xfe")
    return body.startswith(_MAGIC[:40]) or (
        head.startswith(b"\xff\xfe") and "PalmSens.".encode("utf-16-le") in head
    )


def _load(path: str) -> dict[str, Any]:
    data = read_bytes(path)
    try:
        text = data.decode("utf-16")
    except UnicodeDecodeError as err:
        raise ParseError(path, f"expected UTF-16 JSON text; {err.reason}.", offset=err.start) from err
    text = text.strip().strip("\ufeff").strip()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ParseError(
            path,
            f"invalid JSON ({err.msg}).",
            line=err.lineno,
            hint="The session may be truncated; save it again from PSTrace.",
        ) from err
    if not isinstance(doc, dict) or not isinstance(doc.get("Measurements"), list):
        raise ParseError(path, "expected a JSON object with a 'Measurements' list.")
    return doc


def _ticks(value: Any) -> datetime | None:
    if not isinstance(value, int) or value <= 0:
        return None
    try:
        return _TICKS_ORIGIN + timedelta(microseconds=value // 10)
    except OverflowError:
        return None


def _arrays(dataset: dict[str, Any]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for column in dataset.get("Values", []):
        values = [v.get("V", np.nan) if isinstance(v, dict) else np.nan for v in column.get("DataValues", [])]
        out[str(column.get("Description"))] = np.array(
            [np.nan if v is None else v for v in values], dtype=float
        )
    return out


def _method(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def _instrument(serial: str | None) -> str:
    for prefix, model in _MODELS:
        if serial and serial.upper().startswith(prefix):
            return f"PalmSens {model}"
    return "PalmSens"


def read(path: str | os.PathLike[str]) -> list[Spectrum]:
    """Read every impedance spectrum (all channels, all scans) of a ``.pssession`` file.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    list of Spectrum
        ``meta`` holds ``measurement`` (title), ``channel``, ``scan``, ``dc_potential_V``
        (set DC potential, V), ``Ewe_V`` (mean measured DC potential, V), ``area_cm2`` (when
        the method sets one), ``device`` (serial), ``instrument``, ``software_version``
        (PalmSens core), ``timestamp_utc`` and ``n_dropped``.

    Raises
    ------
    ParseError
        Not UTF-16 JSON, or arrays of unequal length.
    NoImpedanceData
        A session without impedance measurements.
    """
    path = str(path)
    doc = _load(path)
    spectra: list[Spectrum] = []
    for m_index, measurement in enumerate(doc["Measurements"]):
        method = _method(str(measurement.get("Method") or doc.get("MethodForMeasurement") or ""))
        area = _float(method.get("AREA"))
        common = {
            "source": path,
            "format": NAME,
            "technique": "GEIS" if method.get("METHOD_ID", "").lower() == "gis" else "PEIS",
            "measurement": measurement.get("Title"),
            "measurement_index": m_index,
            "area_cm2": area if area else None,
            "device": measurement.get("DeviceSerial"),
            "instrument": _instrument(measurement.get("DeviceSerial")),
            "software_version": doc.get("CoreVersion"),
        }
        start = _ticks(measurement.get("TimeStamp"))
        utc = _ticks(measurement.get("UTCTimeStamp"))
        common["timestamp_utc"] = utc.isoformat() if utc else None
        for channel, scan, dataset in _datasets(path, measurement):
            meta = dict(common, channel=channel, scan=scan, index=len(spectra))
            spectrum = _spectrum(path, dataset, start, meta)
            if spectrum is not None:
                spectra.append(spectrum)
    if not spectra:
        raise NoImpedanceData(f"{path}: the PalmSens session holds no impedance spectrum.")
    return spectra


def _datasets(path: str, measurement: dict[str, Any]) -> list[tuple[str | None, str | None, dict[str, Any]]]:
    found = []
    curves = measurement.get("EISDataList") or []
    own = measurement.get("DataSet")
    if len(curves) == 1 and not curves[0].get("SubScans") and isinstance(own, dict):
        # one curve: the measurement's own DataSet is the measured data, the curve's a plot copy
        copy = curves[0].get("DataSet")
        if isinstance(copy, dict) and not _same_spectrum(own, copy):
            warnings.warn(
                f"{path}: measurement {measurement.get('Title')!r}: the curve's plot copy differs "
                "from the measured DataSet; the measured DataSet is read.",
                MetadataWarning,
                stacklevel=4,
            )
        return [(curves[0].get("Title"), None, own)]
    for eis in curves:
        channel = eis.get("Title")
        if eis.get("SubScans"):
            found += [
                (channel, sub.get("Title"), sub["DataSet"])
                for sub in eis["SubScans"]
                if isinstance(sub.get("DataSet"), dict)
            ]
        elif isinstance(eis.get("DataSet"), dict):
            found.append((channel, None, eis["DataSet"]))
    if not found and isinstance(measurement.get("DataSet"), dict):
        found.append((None, None, measurement["DataSet"]))
    return found


def _same_spectrum(a: dict[str, Any], b: dict[str, Any]) -> bool:
    ca, cb = _arrays(a), _arrays(b)
    for key in ("Frequency", "ZRe", "ZIm"):
        x, y = ca.get(key), cb.get(key)
        if x is None or y is None or x.shape != y.shape or not np.allclose(x, y, equal_nan=True):
            return False
    return True


def _spectrum(
    path: str, dataset: dict[str, Any], start: datetime | None, meta: dict[str, Any]
) -> Spectrum | None:
    cols = _arrays(dataset)
    if not {"Frequency", "ZRe", "ZIm"} <= cols.keys():
        return None
    freq, re_z, neg_im = cols["Frequency"], cols["ZRe"], cols["ZIm"]
    if not freq.size == re_z.size == neg_im.size:
        raise ParseError(
            path,
            f"Frequency, ZRe and ZIm have {freq.size}, {re_z.size} and "
            f"{neg_im.size} values in {meta['channel']!r}; expected equal lengths.",
        )
    z = re_z - 1j * neg_im
    keep = finite_points(freq, z)
    if not keep.any():
        warnings.warn(
            f"{path}: {meta['channel']!r} {meta['scan'] or ''} holds no point with freq > 0 Hz; skipped.",
            MetadataWarning,
            stacklevel=4,
        )
        return None
    potential, edc = cols.get("potential"), cols.get("mEdc")
    meta["dc_potential_V"] = float(potential[0]) if potential is not None and potential.size else None
    meta["Ewe_V"] = float(np.nanmean(edc)) if edc is not None and np.isfinite(edc).any() else None
    meta["n_dropped"] = int((~keep).sum())
    return Spectrum(
        freq=freq[keep], z=z[keep], timestamp=start, elapsed_s=0.0 if start is not None else None, meta=meta
    )


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None
