"""Z-HIT: the modulus of an impedance spectrum reconstructed from its phase.

For a causal, linear, stable system ln|Z| and the phase φ form a Hilbert pair. The
Z-HIT approximation (Ehm, Göhr, Kaus, Röseler and Schiller, *ACH – Models in
Chemistry* 137 (2000) 145; available in EISAP, eis-science §5.1) keeps the first terms
of the series:

    ln|Z(ω₀)| ≈ const + (2/π) ∫_{ω_s}^{ω₀} φ(ω) d ln ω + γ · dφ/d ln ω |_{ω₀} + γ₃ · d³φ/d ln ω³ |_{ω₀}

with γ = −π/6 and γ₃ = −0.05 (calibrated here on ideal RC and ZARC spectra; the derivatives
come from a local cubic fit of the phase, so noise is not amplified).

The constant (the unknown ohmic offset) is fitted to ln|Z| on the middle of the
frequency range, where the phase is best determined. Drift during the sweep changes
|Z| and φ in ways the integral cannot reconcile, so the reconstructed modulus departs
from the measured one, mostly at the low-frequency end. The test uses the phase only,
so it is independent of lin-KK's Voigt model.

Only :mod:`eisna.spectrum` and :mod:`eisna.errors` are imported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .errors import SpectrumError
from .spectrum import Spectrum

__all__ = ["ZHIT_FLOOR", "ZHITResult", "zhit"]

FloatArray = npt.NDArray[np.float64]

#: Smallest limit on |(|Z|_ZHIT − |Z|)/|Z|| (3 %: the approximation itself is good to ~0.5 %,
#: but the phase derivatives roughly double the noise of the reconstructed modulus).
ZHIT_FLOOR = 0.03
# coefficient of the first-derivative (second-order) term of the Z-HIT series
_GAMMA = -np.pi / 6.0
# coefficient of the third-derivative term, calibrated on ideal RC and ZARC spectra: with it an
# ideal RC element is reproduced to 0.5 % instead of 2.9 % (a ZARC with n = 0.8: 0.2 % instead of 0.9 %)
_GAMMA3 = -0.05
# points at each end of the frequency range left out of the verdict
_EDGE_POINTS = 2
# points on each side of the local cubic used for the phase derivatives
_HALF_WINDOW = 3
# the offset is fitted on the middle of the log-frequency range (fractions of its width)
_MID_RANGE = (0.25, 0.75)


@dataclass(frozen=True)
class ZHITResult:
    """Outcome of a Z-HIT reconstruction.

    Attributes
    ----------
    freq : ndarray of float
        Frequencies in Hz, acquisition order.
    modulus : ndarray of float
        |Z| reconstructed from the phase, in Ω (acquisition order).
    residual : ndarray of float
        (|Z| − |Z|_ZHIT)/|Z|, fraction (0.01 = 1 %).
    threshold : ndarray of float
        Limit on |residual| at every point, fraction of |Z|.
    passed : bool
        True when no |residual| exceeds ``threshold``, the two lowest and two highest
        frequencies aside (there the phase derivatives are one-sided and the
        reconstruction is an extrapolation).
    bad_points : tuple of int
        Indices (acquisition order) above the limit (end points included, for information).
    offset : float
        Fitted ln-offset (ln Ω).
    """

    freq: FloatArray
    modulus: FloatArray
    residual: FloatArray
    threshold: FloatArray
    passed: bool
    bad_points: tuple[int, ...]
    offset: float

    def __post_init__(self) -> None:
        for name in ("freq", "modulus", "residual", "threshold"):
            getattr(self, name).flags.writeable = False

    @property
    def max_residual(self) -> float:
        """Largest |relative modulus residual|, fraction of |Z|."""
        return float(np.max(np.abs(self.residual)))

    def summary(self) -> str:
        """One line: verdict, largest residual and where it is."""
        verdict = "PASS" if self.passed else "FAIL"
        k = int(np.argmax(np.abs(self.residual) / self.threshold))
        worst = f"{100 * abs(self.residual[k]):.2f} % (limit {100 * self.threshold[k]:.2g} %)"
        return (
            f"Z-HIT {verdict}: max |Z| residual {100 * self.max_residual:.2f} %; worst at "
            f"{self.freq[k]:.3g} Hz: {worst}"
        )


# (window indices, Vandermonde matrices, their Gram matrices) per grid: the spectra of a series
# share their frequencies, and the matrices do not depend on the phase (the powers are ~2/3 of
# a Z-HIT test); whole entries are added, the cache is cleared when full
_DESIGN_CACHE: dict[tuple[bytes, bytes, int, bytes, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
_DESIGN_CACHE_MAX = 32


def _local_design(
    log_w: FloatArray, starts: npt.NDArray[np.intp], width: int, at: FloatArray, degree: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window indices, Vandermonde matrices V (u = ln ω − ``at``) and VᵀV of :func:`_local_poly`
    (read-only, cached per grid)."""
    key = (log_w.tobytes(), starts.tobytes(), width, np.asarray(at).tobytes(), degree)
    got = _DESIGN_CACHE.get(key)
    if got is None:
        idx = starts[:, None] + np.arange(width)
        V = (log_w[idx] - at[:, None])[..., None] ** np.arange(degree + 1)
        VtV = np.einsum("kwi,kwj->kij", V, V)
        for arr in (idx, V, VtV):
            arr.flags.writeable = False
        if len(_DESIGN_CACHE) >= _DESIGN_CACHE_MAX:
            _DESIGN_CACHE.clear()
        got = _DESIGN_CACHE[key] = (idx, V, VtV)
    return got


def _local_poly(
    log_w: FloatArray,
    phase: FloatArray,
    starts: npt.NDArray[np.intp],
    width: int,
    at: FloatArray,
    degree: int,
) -> FloatArray:
    """Coefficients (one row per window) of least-squares polynomials in u = ln ω − ``at``
    through ``width`` consecutive points from each of ``starts`` (all windows solved at once)."""
    idx, V, VtV = _local_design(log_w, starts, width, at, degree)
    Vty = np.einsum("kwi,kw->ki", V, phase[idx])
    return np.linalg.solve(VtV, Vty[..., None])[..., 0]


def _phase_derivatives(log_w: FloatArray, phase: FloatArray) -> tuple[FloatArray, FloatArray]:
    """dφ/d ln ω and d³φ/d ln ω³ from a local cubic over ±3 points (a Savitzky–Golay filter
    on the uneven grid), which keeps the third derivative from amplifying the noise."""
    n = log_w.size
    if n < 4:
        return np.gradient(phase, log_w), np.zeros(n)
    h = min(_HALF_WINDOW, (n - 1) // 2) if n >= 2 * _HALF_WINDOW + 1 else n
    width = min(n, 2 * h + 1)
    points = np.arange(n)
    starts = np.clip(points - h, 0, n - width)
    c = _local_poly(log_w, phase, starts, width, log_w, 3)
    d1, d3 = c[:, 1].copy(), 6.0 * c[:, 3]
    if width == 2 * h + 1 and n > width:
        # near the ends the cubic is extrapolated and its derivatives are noisy: take the
        # slope from a quadratic over the end window, the (small) third derivative from the
        # nearest centred window
        ends = np.concatenate([points[:h], points[n - h :]])
        centre = np.where(ends < h, h, n - 1 - h)
        d1[ends] = _local_poly(log_w, phase, centre - h, width, log_w[ends], 2)[:, 1]
        d3[ends] = d3[centre]
    return d1, d3


def _reconstruct(log_w: FloatArray, phase: FloatArray) -> FloatArray:
    """ln|Z| up to a constant, from the phase on an ascending ln ω grid (trapezoid integral)."""
    steps = 0.5 * (phase[1:] + phase[:-1]) * np.diff(log_w)
    integral = np.concatenate([[0.0], np.cumsum(steps)])
    d1, d3 = _phase_derivatives(log_w, phase)
    return (2.0 / np.pi) * integral + _GAMMA * d1 + _GAMMA3 * d3


def zhit(
    spectrum: Spectrum, *, threshold: float | None = None, noise: float | npt.ArrayLike | None = None
) -> ZHITResult:
    """Reconstruct |Z| from the phase (Z-HIT) and compare it with the measured modulus.

    Parameters
    ----------
    spectrum : Spectrum
        The spectrum (any point order; repeated frequencies are averaged for the integral).
    threshold : float, optional
        Limit on the relative modulus residual, fraction of |Z|. Default:
        ``max(3 %, 5 · noise)`` per point.
    noise : float or array_like, optional
        Noise level per part as a fraction of |Z|, one number or one per point (e.g.
        :attr:`KKResult.noise`); used only for the default threshold.

    Returns
    -------
    ZHITResult

    Raises
    ------
    SpectrumError
        Fewer than 5 distinct frequencies, |Z| = 0, or a non-positive threshold.
    """
    where = spectrum.meta.get("source", "<spectrum>")
    freq = np.asarray(spectrum.freq, dtype=np.float64)
    z = np.asarray(spectrum.z, dtype=np.complex128)
    mod = np.abs(z)
    if np.unique(freq).size < 5 or np.any(mod == 0):
        raise SpectrumError(
            f"{where}: Z-HIT needs at least 5 distinct frequencies and |Z| > 0; found "
            f"{np.unique(freq).size} frequencies. Measure a wider frequency range."
        )
    if threshold is not None and not (np.isfinite(threshold) and threshold > 0):
        raise SpectrumError(f"zhit: threshold must be a positive fraction of |Z|; found {threshold!r}.")
    order = np.argsort(freq, kind="stable")
    phase_sorted = np.unwrap(np.angle(z[order]))  # ascending frequency, no 2π jumps
    ufreq, inverse = np.unique(freq[order], return_inverse=True)
    phase = np.bincount(inverse, weights=phase_sorted) / np.bincount(inverse)
    inverse = inverse[np.argsort(order)]  # back to acquisition order
    log_w = np.log(2.0 * np.pi * ufreq)
    shape = _reconstruct(log_w, phase)[inverse]
    log_mod = np.log(mod)
    lo, hi = log_w[0] + np.multiply(_MID_RANGE, log_w[-1] - log_w[0])
    mid = (np.log(2.0 * np.pi * freq) >= lo) & (np.log(2.0 * np.pi * freq) <= hi)
    if np.count_nonzero(mid) < 2:
        mid = np.ones(freq.size, dtype=bool)
    offset = float(np.mean(log_mod[mid] - shape[mid]))
    modulus = np.exp(shape + offset)
    residual = (mod - modulus) / mod
    if threshold is None:
        sigma = np.broadcast_to(np.asarray(0.0 if noise is None else noise, dtype=np.float64), freq.shape)
        limit = np.maximum(ZHIT_FLOOR, 5.0 * sigma)
    else:
        limit = np.full(freq.size, float(threshold))
    bad = np.flatnonzero(np.abs(residual) > limit)
    rank = np.argsort(np.argsort(freq, kind="stable"))
    judged = (rank >= _EDGE_POINTS) & (rank < freq.size - _EDGE_POINTS)
    return ZHITResult(
        freq=freq,
        modulus=modulus,
        residual=residual,
        threshold=limit,
        passed=not bool(np.any(judged[bad])),
        bad_points=tuple(int(i) for i in bad),
        offset=offset,
    )
