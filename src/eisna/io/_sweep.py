"""The acquisition times within one sweep, for ``Spectrum.meta`` (``sweep_duration_s``, ``point_time_s``).

A sweep from MHz down to 0.1 Hz takes minutes: its low-frequency arcs are measured well after
the spectrum's first point (its ``elapsed_s``/``timestamp``). Every reader whose file holds a
time for each point keeps those times with this helper, so the series can say when each arc
was measured (:mod:`eisna.series.sweep`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["sweep_times"]


def sweep_times(time_s: np.ndarray | None, rows: np.ndarray | None = None) -> dict[str, Any]:
    """``{"sweep_duration_s", "point_time_s"}`` of one spectrum, or ``{}`` without usable times.

    Parameters
    ----------
    time_s : ndarray of float or None
        Time of every row of the file in s (any origin), or None when the file has none.
    rows : ndarray of int, optional
        Rows of this spectrum in acquisition order (default: all of ``time_s``).

    Returns
    -------
    dict
        ``sweep_duration_s`` (last point's time minus the first's, s) and ``point_time_s``
        (tuple of each point's time after the first, s); empty when the first or last point
        has no finite time, or the last is not later than the first (one point, or a column of
        placeholder zeros as some exports write), since the sweep then has no known span.
    """
    if time_s is None:
        return {}
    t = np.asarray(time_s, dtype=float)
    if rows is not None:
        t = t[np.asarray(rows)]
    if t.size < 2 or not (np.isfinite(t[0]) and np.isfinite(t[-1])) or not t[-1] > t[0]:
        return {}  # one point, or a time column of placeholders (all 0 in some exports)
    offsets = t - t[0]
    return {"sweep_duration_s": float(offsets[-1]), "point_time_s": tuple(offsets.tolist())}
