"""Duck-typed access to what the plots need, so they accept eisna objects and plain arrays.

A *spectrum-like* object is anything with ``freq`` (Hz) and ``z`` (Ω, complex) attributes
(:class:`~eisna.Spectrum`, ``FitResult``, ``KKResult``), a ``(freq, z)`` pair, or a mapping
with those keys. A *fit-like* object also has ``z_fit`` and, optionally, ``predict(freq)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import EisnaError

__all__ = ["PlotInputError", "fit_curve", "get", "impedance_of", "is_fit"]


class PlotInputError(EisnaError, TypeError):
    """A plot function was handed an object it cannot draw."""


def get(obj: Any, name: str, default: Any = None) -> Any:
    """Attribute *name* of ``obj``, or its key *name* when ``obj`` is a mapping."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def impedance_of(obj: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(freq, z)`` as float64 / complex128 arrays from a spectrum-like object."""
    if isinstance(obj, tuple | list) and len(obj) == 2:
        freq, z = obj
    else:
        freq, z = get(obj, "freq"), get(obj, "z")
    if freq is None or z is None:
        raise PlotInputError(
            f"cannot plot {type(obj).__name__}: expected an object with 'freq' (Hz) and 'z' (Ω) "
            "such as a Spectrum or FitResult, or a (freq, z) pair"
        )
    freq = np.asarray(freq, dtype=np.float64).ravel()
    z = np.asarray(z, dtype=np.complex128).ravel()
    if freq.shape != z.shape:
        raise PlotInputError(f"freq and z differ in length: {freq.size} and {z.size}")
    return freq, z


def is_fit(obj: Any) -> bool:
    """True when ``obj`` carries a fitted impedance (``z_fit``)."""
    return get(obj, "z_fit") is not None and get(obj, "freq") is not None


def fit_curve(obj: Any, points_per_decade: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Return a smooth ``(freq, z_fit)`` for a fit-like object.

    Uses ``predict`` on a dense log grid over the fitted range when the object has one, so the
    line is smooth between sparse points; falls back to ``z_fit`` at the measured frequencies.
    """
    if isinstance(obj, tuple | list) and len(obj) == 2:
        return impedance_of(obj)
    freq = np.asarray(get(obj, "freq"), dtype=np.float64)
    predict = getattr(obj, "predict", None)
    if callable(predict) and freq.size > 1:
        lo, hi = np.log10(freq.min()), np.log10(freq.max())
        dense = np.logspace(hi, lo, max(int((hi - lo) * points_per_decade), 2) + 1)
        try:
            return dense, np.asarray(predict(dense), dtype=np.complex128)
        except (TypeError, ValueError, AttributeError, EisnaError):
            pass  # a stored fit without its circuit: use the values at the measured points
    return freq, np.asarray(get(obj, "z_fit"), dtype=np.complex128)
