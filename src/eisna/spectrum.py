"""The :class:`Spectrum` data model: one impedance spectrum with its time and metadata."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import SpectrumError

__all__ = ["CellGeometry", "Spectrum", "time_at_frequency"]

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]


@dataclass(frozen=True, slots=True)
class CellGeometry:
    """Pellet or cell geometry.

    Parameters
    ----------
    thickness_cm : float or None
        Electrolyte thickness L in cm; None when only the area is known (ASR, capacitance per
        area and interlayer thickness are then derived, conductivities are not).
    area_cm2 : float
        Electrode area A in cm².

    This is the one way geometry enters eisna: :func:`eisna.fit`, :func:`eisna.fit_series`,
    :func:`eisna.batch` and the CLI (``--area-cm2/--thickness-cm``) all take a ``CellGeometry``;
    every derived quantity is computed from it in :mod:`eisna.fitting.physics`.
    """

    thickness_cm: float | None
    area_cm2: float

    def __post_init__(self) -> None:
        for name in ("thickness_cm", "area_cm2"):
            value = getattr(self, name)
            if value is None and name == "thickness_cm":
                continue
            if not (isinstance(value, (int, float, np.number)) and np.isfinite(value) and value > 0):
                raise SpectrumError(f"CellGeometry: {name} must be a positive number, got {value!r}")

    @property
    def cell_constant_per_cm(self) -> float | None:
        """Cell constant L/A in 1/cm (None without a thickness)."""
        return None if self.thickness_cm is None else self.thickness_cm / self.area_cm2


@dataclass(frozen=True, eq=False)
class Spectrum:
    """One impedance spectrum.

    Parameters
    ----------
    freq : array_like of float
        Frequencies in Hz, in acquisition order (not sorted). Must be finite and > 0.
    z : array_like of complex
        Impedance in Ω, Z = Z′ + jZ″, physical sign: capacitive arcs have Z″ < 0.
    timestamp : datetime or None
        Absolute acquisition time of the first point, or None when unknown.
    elapsed_s : float or None
        Seconds from the start of the file to the first point, or None.
    meta : Mapping
        Read-only metadata. Keys used by eisna (all optional): ``source`` (str path),
        ``index`` (int, position in the file), ``technique`` ("PEIS"/"GEIS"),
        ``cycle`` (int), ``Ewe_V`` and ``I_A`` (mean potential in V and current in A),
        ``area_cm2``, ``thickness_cm``, ``temperature_K``, ``device``,
        ``software_version``, ``n_dropped`` (rows dropped by the reader: freq not finite or
        ≤ 0 Hz, Z not finite or 0 Ω), ``dropped`` (those counts by reason),
        ``truncated`` (True when the file ends early, see
        :class:`~eisna.errors.TruncatedDataWarning`),
        ``format`` (reader name) and ``header`` (raw header as a dict).

        Acquisition times within the sweep, set by readers whose files hold a time for every
        point (EC-Lab ``time/s``, Gamry ``Time``, Zahner point times, VersaStudio/Parstat
        ``Elapsed Time (s)``, ZPlot ``Time(Sec)``, ``.P00`` ``time/s`` and any table with a time
        column, e.g. a Neware or Autolab export) and absent otherwise:
        ``sweep_duration_s`` (float, s: time of the last point minus time of the first, as read)
        and ``point_time_s`` (tuple of float, s: time of each point after the first, in the order
        of ``freq``; 0.0 first). :meth:`measured_after_s` reads the time at which a frequency was
        measured from them.

    Notes
    -----
    Arrays are copied to float64/complex128 and made read-only, so nothing
    downstream can mutate a spectrum.
    """

    freq: FloatArray
    z: ComplexArray
    timestamp: datetime | None = None
    elapsed_s: float | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = self.meta.get("source", "<spectrum>") if isinstance(self.meta, Mapping) else ""
        try:
            freq = np.array(self.freq, dtype=np.float64, copy=True).ravel()
            z = np.array(self.z, dtype=np.complex128, copy=True).ravel()
        except (TypeError, ValueError) as err:
            raise SpectrumError(f"{where}: freq and z must be numeric arrays ({err})") from err
        if freq.shape != z.shape:
            raise SpectrumError(
                f"{where}: freq and z must have the same length; found {freq.size} and {z.size}"
            )
        if freq.size == 0:
            raise SpectrumError(f"{where}: a spectrum needs at least one point; found none")
        bad = np.flatnonzero(~np.isfinite(freq) | (freq <= 0))
        if bad.size:
            raise SpectrumError(
                f"{where}: frequencies must be finite and > 0 Hz; bad at indices {bad[:10].tolist()}"
            )
        bad = np.flatnonzero(~np.isfinite(z))
        if bad.size:
            raise SpectrumError(f"{where}: impedance is not finite at indices {bad[:10].tolist()}")
        bad = np.flatnonzero(z == 0)
        if bad.size:
            raise SpectrumError(
                f"{where}: |Z| = 0 at indices {bad[:10].tolist()}; a measured impedance is never 0 Ω. "
                "Drop those points (the readers drop and count them in meta['dropped'])."
            )
        freq.flags.writeable = False
        z.flags.writeable = False
        object.__setattr__(self, "freq", freq)
        object.__setattr__(self, "z", z)
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))
        if self.elapsed_s is not None:
            object.__setattr__(self, "elapsed_s", float(self.elapsed_s))

    def __len__(self) -> int:
        return int(self.freq.size)

    def __reduce__(self) -> tuple[Any, ...]:
        # the read-only meta mapping does not pickle; rebuild from a plain dict (process pools)
        meta = {k: dict(v) if isinstance(v, MappingProxyType) else v for k, v in self.meta.items()}
        return (Spectrum, (self.freq, self.z, self.timestamp, self.elapsed_s, meta))

    def __repr__(self) -> str:
        src = self.meta.get("source")
        return (
            f"Spectrum({self.freq.size} points, {self.freq.min():.3g}–{self.freq.max():.3g} Hz, "
            f"timestamp={self.timestamp!s}, source={src!r}, index={self.meta.get('index')})"
        )

    @property
    def omega(self) -> FloatArray:
        """Angular frequency ω = 2πf in rad/s."""
        return 2.0 * np.pi * self.freq

    @property
    def geometry(self) -> CellGeometry | None:
        """Geometry from ``meta`` (``thickness_cm`` and ``area_cm2``), or None."""
        t, a = self.meta.get("thickness_cm"), self.meta.get("area_cm2")
        if t and a:
            return CellGeometry(float(t), float(a))
        return None

    def select(self, fmin: float | None = None, fmax: float | None = None) -> Spectrum:
        """Return the points with ``fmin <= freq <= fmax`` (Hz), keeping acquisition order."""
        keep = np.ones(self.freq.size, dtype=bool)
        if fmin is not None:
            keep &= self.freq >= fmin
        if fmax is not None:
            keep &= self.freq <= fmax
        if not keep.any():
            raise SpectrumError(f"no points between {fmin} and {fmax} Hz")
        times = self.meta.get("point_time_s")
        if times is not None and len(times) == keep.size:  # keep the point times aligned with freq
            kept = tuple(t for t, k in zip(times, keep, strict=True) if k)
            return replace(
                self, freq=self.freq[keep], z=self.z[keep], meta={**self.meta, "point_time_s": kept}
            )
        return replace(self, freq=self.freq[keep], z=self.z[keep])

    def measured_after_s(self, freq_hz: float) -> float | None:
        """Seconds after the spectrum's first point at which ``freq_hz`` was measured.

        Interpolated in log f between the measured points (``meta["point_time_s"]``); a
        frequency outside the measured range takes the time of the nearest end.

        Parameters
        ----------
        freq_hz : float
            Frequency in Hz (e.g. an arc's apex frequency).

        Returns
        -------
        float or None
            Time in s; None when the reader gave no per-point times.
        """
        times = self.meta.get("point_time_s")
        if times is None or len(times) != self.freq.size:
            return None
        return time_at_frequency(self.freq, np.asarray(times, dtype=float), freq_hz)

    def with_meta(self, **updates: Any) -> Spectrum:
        """Return a copy whose metadata is updated with ``updates``."""
        return replace(self, meta={**self.meta, **updates})


def time_at_frequency(freq: npt.ArrayLike, times_s: npt.ArrayLike, freq_hz: float) -> float | None:
    """Time at which ``freq_hz`` was measured, interpolated in log f between the points.

    Parameters
    ----------
    freq : array_like of float
        Measured frequencies in Hz (any order).
    times_s : array_like of float
        Time of each point in s (same order; NaN where unknown).
    freq_hz : float
        Frequency in Hz; outside the measured range the time of the nearest end is returned.

    Returns
    -------
    float or None
        Time in s, or None without a point of known time (or for a non-finite ``freq_hz``).
    """
    f = np.asarray(freq, dtype=float)
    t = np.asarray(times_s, dtype=float)
    ok = np.isfinite(f) & (f > 0) & np.isfinite(t)
    if ok.sum() < 1 or not (np.isfinite(freq_hz) and freq_hz > 0):
        return None
    # np.unique keeps the first time a repeated frequency was measured
    log_f, first = np.unique(np.log10(f[ok]), return_index=True)
    return float(np.interp(np.log10(freq_hz), log_f, t[ok][first]))
