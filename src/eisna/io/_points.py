"""Which rows of an impedance table are points, and why the others are dropped.

A row is an impedance point when its frequency is finite and > 0 Hz and its impedance
is finite and non-zero. Every other row is dropped and counted per spectrum, by reason,
so that ``meta["n_dropped"]`` and ``meta["dropped"]`` say what was left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["REASONS", "classify", "dropped_by_spectrum", "finite_points"]

#: Reasons a row is not a point, in the order they are tested (the first that applies counts).
REASONS: tuple[str, ...] = ("freq not finite", "freq<=0", "Z not finite", "|Z|=0")


def classify(freq: np.ndarray, z: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(is_point, reason)`` for every row.

    Parameters
    ----------
    freq : ndarray of float
        Frequencies in Hz.
    z : ndarray of complex, optional
        Impedance in Ω; None checks the frequency only.

    Returns
    -------
    is_point : ndarray of bool
        True for usable rows.
    reason : ndarray of int
        Index into :data:`REASONS` for dropped rows, -1 for points.
    """
    reason = np.full(freq.shape, -1, dtype=np.int8)
    tests = [~np.isfinite(freq), np.isfinite(freq) & ~(freq > 0)]
    if z is not None:
        tests += [~np.isfinite(z), np.isfinite(z) & (np.abs(z) == 0)]
    for code in range(len(tests) - 1, -1, -1):  # the first reason that applies wins
        reason[tests[code]] = code
    return reason < 0, reason


def finite_points(freq: np.ndarray, z: np.ndarray) -> np.ndarray:
    """True for rows with a finite frequency > 0 Hz and a finite impedance.

    The rule of the single-table vendor readers: unlike :func:`classify`, a row with
    Z = 0 Ω is kept.

    Parameters
    ----------
    freq : ndarray of float
        Frequencies in Hz.
    z : ndarray of complex
        Impedance in Ω.

    Returns
    -------
    ndarray of bool
        True for usable rows.
    """
    return np.isfinite(freq) & (freq > 0) & np.isfinite(z)


def dropped_by_spectrum(
    groups: Sequence[np.ndarray],
    reason: np.ndarray,
    sequence: np.ndarray | None = None,
) -> list[dict[str, int]]:
    """Dropped rows attributed to each spectrum, by reason (the rules of ``count_dropped``).

    A spectrum owns the rows from the end of the previous spectrum to its own last row;
    the rows after the last spectrum count with it. With ``sequence`` (Modulo Bat ``Ns``)
    only rows of the spectrum's own sequence count: the others are DC cycling rows.
    """
    out = []
    for index, rows in enumerate(groups):
        lo = int(groups[index - 1][-1]) + 1 if index else 0
        hi = int(rows[-1]) + 1 if index < len(groups) - 1 else reason.size
        codes = reason[lo:hi]
        mask = codes >= 0
        if sequence is not None:
            mask &= sequence[lo:hi] == sequence[int(rows[0])]
        counts = np.bincount(codes[mask], minlength=len(REASONS))
        out.append({REASONS[k]: int(n) for k, n in enumerate(counts) if n})
    return out
