"""Absolute fit quality: the noise of a spectrum estimated from the spectrum itself.

:func:`estimate_noise` gives the relative noise level σ (per real/imaginary component, as a
fraction of |Z|) from the point-to-point scatter of ln|Z| and of the phase along the frequency
axis. A fourth difference over five neighbouring points cancels every smooth (cubic) trend, so
what is left is scatter; its robust spread (median absolute deviation) ignores single outliers
and steps. :func:`judge_misfit` turns a fit's misfit and that σ into the ``poor_fit`` verdict.

For a relative noise σ on Re Z and Im Z, ln|Z| and the phase (rad) both scatter by σ, and the
fourth difference d⁴ = y₋₂ − 4y₋₁ + 6y₀ − 4y₁ + y₂ has standard deviation √70 σ. On 10 points
per decade the smooth part of an RC arc contributes < 0.05 % to the estimate (≈ 0.5 % at 5 points
per decade), so the estimate is an upper bound of the true noise on sparse grids.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["NOISE_LIMIT", "estimate_noise", "judge_misfit"]

# a fit is poor when its misfit exceeds POOR_FACTOR × noise + POOR_FLOOR (relative, per component)
POOR_FACTOR = 3.0
POOR_FLOOR = 5e-3
# point-to-point scatter above this (10 % of |Z|) means the spectrum carries no usable shape
NOISE_LIMIT = 0.1
_MAD_TO_SIGMA = 1.0 / 0.6744897501960817


def estimate_noise(freq: np.ndarray, z: np.ndarray) -> float:
    """Relative noise level of a spectrum from its point-to-point scatter.

    Parameters
    ----------
    freq : ndarray
        Frequencies (Hz), any order; treated as evenly spaced in log f (the usual sweep).
    z : ndarray
        Complex impedance (Ω).

    Returns
    -------
    float
        σ as a fraction of |Z| per component (0.01 = 1 % noise); NaN with fewer than 7 points.
        The last few results are kept (a series fits each spectrum more than once).
    """
    freq = np.asarray(freq, dtype=float)
    z = np.asarray(z, dtype=complex)
    key = (np.ascontiguousarray(freq).tobytes(), np.ascontiguousarray(z).tobytes())
    hit = _NOISE.get(key)
    if hit is None:
        hit = _estimate_noise(freq, z)
        if len(_NOISE) >= 8:
            _NOISE.pop(next(iter(_NOISE)), None)
        _NOISE[key] = hit
    return hit


_NOISE: dict[tuple[bytes, bytes], float] = {}


def _estimate_noise(freq: np.ndarray, z: np.ndarray) -> float:
    mod = np.abs(z)
    keep = np.isfinite(freq) & np.isfinite(z) & (mod > 0)
    if not keep.all():
        freq, z, mod = freq[keep], z[keep], mod[keep]
    if z.size < 7:
        return math.nan
    steps = np.diff(freq)
    if np.any(steps < 0) and np.any(steps > 0):  # not a monotonic sweep
        order = np.argsort(freq)
        z, mod = z[order], mod[order]
    # ln|Z| and the (unwrapped) phase side by side; the fourth difference along the sweep
    y = np.stack([np.log(mod), np.unwrap(np.angle(z))])
    d4 = np.diff(y, n=4, axis=1).ravel()
    mad = _median(np.abs(d4 - _median(d4)))
    return mad * _MAD_TO_SIGMA / math.sqrt(70.0)


def _median(a: np.ndarray) -> float:
    """``float(np.median(a))`` of a 1-D array (the same order statistics and the same mean of the
    middle two), without ``np.median``'s generic overhead."""
    n = a.size
    if n == 0:
        return math.nan
    h = n // 2
    part = np.partition(a, [h - 1, h, n - 1] if n % 2 == 0 else [h, n - 1])
    if np.isnan(part[-1]):  # (as np.median: NaN in, NaN out)
        return math.nan
    return float((part[h - 1] + part[h]) / 2.0) if n % 2 == 0 else float(part[h])


def judge_misfit(misfit: float, noise: float) -> str | None:
    """The reason a fit is poor, in words, or None when its misfit is consistent with the noise.

    Parameters
    ----------
    misfit : float
        Relative rms misfit per component (|Z_fit − Z|/|Z|/√2, as ``FitResult.meta["misfit"]``).
    noise : float
        Relative noise level from :func:`estimate_noise` (NaN: only the misfit is judged).
    """
    if math.isfinite(noise) and noise > NOISE_LIMIT:
        return (
            f"the spectrum scatters by {100 * noise:.0f} % from point to point: it is mostly noise, "
            f"so no circuit fit of it can be trusted"
        )
    sigma = noise if math.isfinite(noise) else 0.0
    limit = POOR_FACTOR * sigma + POOR_FLOOR
    if misfit > limit:
        return (
            f"relative misfit {100 * misfit:.2f} % against an estimated noise of {100 * sigma:.2f} % "
            f"(limit {100 * limit:.2f} %): the circuit misses a feature of the data, or part of "
            f"the spectrum is an artefact (check the KK residuals; cut fmin/fmax or add an element)"
        )
    return None
