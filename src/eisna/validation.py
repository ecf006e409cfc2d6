"""Kramers–Kronig validation of impedance spectra by the lin-KK test.

lin-KK (Schönleber, Klotz and Ivers-Tiffée, *Electrochim. Acta* 131 (2014) 20,
DOI 10.1016/j.electacta.2014.01.034) fits a series of M Voigt (R‖C) elements with
fixed, log-spaced time constants to the spectrum. Such a model obeys the
Kramers–Kronig relations by construction, so data that it cannot reproduce to
the noise level are not causal, linear and stationary (drift, an instrument
artefact, a non-linear response). The model is linear in its parameters
(R0, R_k, L and 1/C), so one weighted linear least-squares solve per M is enough.

Only :mod:`eisna.spectrum` and :mod:`eisna.errors` are imported (validation sits
upstream of circuits and fitting).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .errors import SpectrumError
from .spectrum import Spectrum

__all__ = ["DEFAULT_CAP", "DEFAULT_FLOOR", "DEFAULT_NOISE_MULTIPLE", "TREND_FLOOR", "KKResult", "kk_test"]

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

#: Smallest default limit on a relative residual (1 % of |Z|, the usual literature limit).
DEFAULT_FLOOR = 0.01
#: Default limit as a multiple of the locally estimated noise (relative to |Z|).
DEFAULT_NOISE_MULTIPLE = 5.0
#: Largest default limit: residuals above 5 % of |Z| are never attributed to noise.
DEFAULT_CAP = 0.05
#: Smallest default limit on a running mean of residuals (0.4 % of |Z|).
TREND_FLOOR = 0.004
# points in the running mean of the trend test
_TREND_WINDOW = 7
# smallest number of Voigt elements per decade of the frequency range tried by the μ search
_MIN_M_PER_DECADE = 3.0
# half-width (points) of the window in which the local noise level is estimated
_NOISE_HALF_WINDOW = 6


@dataclass(frozen=True)
class KKResult:
    """Outcome of a lin-KK test.

    Attributes
    ----------
    freq : ndarray of float
        Frequencies in Hz, in acquisition order (as in the spectrum).
    z_fit : ndarray of complex
        Impedance of the fitted Voigt series in Ω.
    res_re, res_im : ndarray of float
        Relative residuals (Z′ − Ẑ′)/|Z| and (Z″ − Ẑ″)/|Z|, as fractions (0.01 = 1 %).
    M : int
        Number of Voigt elements chosen by the μ criterion.
    mu : float
        μ = 1 − Σ|R_k<0| / Σ|R_k≥0| at the chosen M.
    threshold : ndarray of float
        Limit on |res_re| and |res_im| at every point, as a fraction of |Z|. Constant
        when given by the user; by default 5 × the local noise, clipped to 1 %–5 %
        (see :func:`kk_test`).
    passed : bool
        True when no residual exceeds its threshold (and, with the default limit, the
        trend test finds no systematic run).
    bad_points : tuple of int
        Indices (acquisition order) of the points whose real or imaginary residual
        exceeds the threshold.
    pseudo_chisqr : float
        Boukamp's pseudo-χ² = Σ(res_re² + res_im²) (dimensionless).
    noise : ndarray of float
        Local noise level estimated from the residuals, fraction of |Z| (σ per part).
    tau : ndarray of float
        Time constants of the Voigt elements in s.
    R : ndarray of float
        Resistances of the Voigt elements in Ω (may be negative: that is what μ measures).
    R0 : float
        Series resistance in Ω.
    L : float
        Series inductance in H (0 when not fitted).
    C : float
        Series capacitance in F (inf when not fitted).
    mu_limit : float
        The μ limit c used to choose M.
    trend_limit : ndarray of float or None
        Limit on the running mean of 7 consecutive residuals (fraction of |Z|) used by
        the default trend test, ``max(0.4 %, 5 σ̂_i/√7)``; None when a threshold was given.
    trend_points : tuple of int
        Indices (acquisition order) flagged by the trend test (also in ``bad_points``).
    """

    freq: FloatArray
    z_fit: ComplexArray
    res_re: FloatArray
    res_im: FloatArray
    M: int
    mu: float
    threshold: FloatArray
    passed: bool
    bad_points: tuple[int, ...]
    pseudo_chisqr: float
    noise: FloatArray
    tau: FloatArray
    R: FloatArray
    R0: float
    L: float
    C: float
    mu_limit: float
    trend_limit: FloatArray | None = None
    trend_points: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for name in ("freq", "z_fit", "res_re", "res_im", "threshold", "noise", "tau", "R", "trend_limit"):
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    @property
    def max_residual(self) -> float:
        """Largest |relative residual| (real or imaginary), fraction of |Z|."""
        return float(max(np.max(np.abs(self.res_re)), np.max(np.abs(self.res_im))))

    def summary(self) -> str:
        """One line: verdict, M, μ, largest residual and the points that fail."""
        verdict = "PASS" if self.passed else "FAIL"
        lim = self.threshold
        lim_text = (
            f"{100 * lim[0]:.2g} %"
            if np.all(lim == lim[0])
            else f"{100 * lim.min():.2g}–{100 * lim.max():.2g} %"
        )
        text = (
            f"lin-KK {verdict}: M = {self.M}, mu = {self.mu:.3f}, max residual "
            f"{100 * self.max_residual:.2f} % (limit {lim_text}), pseudo-chi2 = {self.pseudo_chisqr:.3g}"
        )
        if self.trend_points:
            text += f"; systematic trend at {len(self.trend_points)} point(s)"
        if self.bad_points:
            freqs = ", ".join(f"{self.freq[i]:.3g}" for i in self.bad_points[:5])
            more = " ..." if len(self.bad_points) > 5 else ""
            text += f"; {len(self.bad_points)} bad point(s) at {freqs}{more} Hz"
        return text


def _design_matrix(
    omega: FloatArray, tau: FloatArray, add_inductance: bool, add_capacitance: bool
) -> ComplexArray:
    """Columns: R0, the M Voigt elements, then jω (for L) and 1/(jω) (for 1/C)."""
    cols = [np.ones_like(omega, dtype=np.complex128)]
    cols.append(1.0 / (1.0 + 1j * np.outer(omega, tau)))
    if add_inductance:
        cols.append(1j * omega)
    if add_capacitance:
        cols.append(1.0 / (1j * omega))
    return np.column_stack(cols)


def _mu(R: FloatArray) -> float:
    """Schönleber's μ = 1 − Σ|R_k<0| / Σ|R_k≥0|."""
    pos = float(np.sum(R[R >= 0]))
    neg = float(-np.sum(R[R < 0]))
    if pos <= 0.0:
        return 1.0 if neg == 0.0 else -np.inf
    return 1.0 - neg / pos


def _weighted_system(
    omega: FloatArray, z: ComplexArray, tau: FloatArray, add_inductance: bool, add_capacitance: bool
) -> tuple[ComplexArray, FloatArray, FloatArray, FloatArray]:
    """Design matrix A, and the stacked real/imaginary system weighted by 1/|Z| with unit-norm columns."""
    A = _design_matrix(omega, tau, add_inductance, add_capacitance)
    w = 1.0 / np.abs(z)
    Aw = A * w[:, None]
    stacked = np.vstack([Aw.real, Aw.imag])
    rhs = np.concatenate([(z * w).real, (z * w).imag])
    # column scaling keeps the jω and 1/(jω) columns commensurate with the Voigt ones
    scale = np.linalg.norm(stacked, axis=0)
    scale[scale == 0] = 1.0
    return A, stacked / scale, rhs, scale


def _fit(
    omega: FloatArray,
    z: ComplexArray,
    tau: FloatArray,
    add_inductance: bool,
    add_capacitance: bool,
) -> tuple[FloatArray, ComplexArray]:
    """Weighted (1/|Z|) linear least squares on the stacked real and imaginary parts."""
    A, stacked, rhs, scale = _weighted_system(omega, z, tau, add_inductance, add_capacitance)
    coef, *_ = np.linalg.lstsq(stacked, rhs, rcond=None)
    coef = coef / scale
    return coef, A @ coef


def _leverage(
    omega: FloatArray, z: ComplexArray, tau: FloatArray, add_inductance: bool, add_capacitance: bool
) -> tuple[FloatArray, FloatArray]:
    """Diagonal of the hat matrix for the real and the imaginary rows (0 ≤ h < 1)."""
    _A, stacked, _rhs, _scale = _weighted_system(omega, z, tau, add_inductance, add_capacitance)
    U, sv, _vt = np.linalg.svd(stacked, full_matrices=False)
    U = U[:, sv > sv[0] * max(stacked.shape) * np.finfo(float).eps]
    h = np.minimum(np.sum(U * U, axis=1), 0.95)
    n = omega.size
    return h[:n], h[n:]


def _local_noise(res_re: FloatArray, res_im: FloatArray, order: npt.NDArray[np.intp]) -> FloatArray:
    """Local noise level (σ per part, fraction of |Z|) from second differences of the residuals.

    A second difference r[i-1] − 2r[i] + r[i+1] of white noise has variance 6σ², while a
    smooth systematic trend (drift, a missing arc) contributes little to it: the estimate
    sees the noise but not the structure the test is looking for. The median absolute
    value in a sliding window (robust to single outliers) is turned into σ by 1/0.6745.
    """
    n = order.size
    if n < 5:
        return np.zeros(n)
    d2 = []
    for r in (res_re[order], res_im[order]):
        d = np.abs(r[:-2] - 2.0 * r[1:-1] + r[2:]) / np.sqrt(6.0)
        d2.append(np.concatenate([[d[0]], d, [d[-1]]]))
    pooled = np.vstack(d2)  # 2 × n, in frequency order
    h = _NOISE_HALF_WINDOW
    sigma_sorted = np.empty(n)
    for i in range(n):
        lo, hi = max(0, i - h), min(n, i + h + 1)
        # keep the window full width at the ends
        if hi - lo < 2 * h + 1:
            lo, hi = (0, min(n, 2 * h + 1)) if lo == 0 else (max(0, n - 2 * h - 1), n)
        sigma_sorted[i] = np.median(pooled[:, lo:hi]) / 0.6745
    sigma = np.empty(n)
    sigma[order] = sigma_sorted
    return sigma


def _trend_failures(
    res_re: FloatArray, res_im: FloatArray, trend_limit: FloatArray, order: npt.NDArray[np.intp]
) -> npt.NDArray[np.bool_]:
    """Points at the centre of a run of ``_TREND_WINDOW`` residuals whose mean exceeds the trend limit.

    Averaging shrinks noise by √window but keeps systematic structure (drift during the
    sweep, a non-causal bump), so this finds deviations too small for the point test.
    """
    n = order.size
    bad = np.zeros(n, dtype=bool)
    w = _TREND_WINDOW
    if n < w:
        return bad
    kernel = np.ones(w) / w
    centres = order[w // 2 : w // 2 + n - w + 1]
    for r in (res_re[order], res_im[order]):
        mean = np.convolve(r, kernel, mode="valid")
        bad[centres] |= np.abs(mean) > trend_limit[centres]
    return bad


def _user_threshold(threshold: float | npt.ArrayLike, n: int) -> FloatArray:
    """A user threshold as one positive, finite fraction per point."""
    try:
        limit = np.asarray(threshold, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        limit = np.full(1, np.nan)
    if limit.size == 1:
        limit = np.full(n, limit[0])
    if limit.size != n or not np.all(np.isfinite(limit)) or np.any(limit <= 0):
        raise SpectrumError(
            f"kk_test: threshold must be a positive fraction of |Z| (0.01 = 1 %), one number or "
            f"one per point ({n}); found {np.asarray(threshold)!r}."
        )
    return limit


def _capacitive_tail(freq: FloatArray, z: ComplexArray) -> bool:
    """A blocking-electrode tail at the low-frequency end: phase below −60° at the three
    lowest frequencies, and −Z″ rising toward the lowest one."""
    order = np.argsort(freq)[:3]
    if order.size < 3:
        return False
    tail = z[order]  # lowest frequency first
    phase_deg = np.degrees(np.angle(tail))
    return bool(np.all(phase_deg < -60.0) and np.all(np.diff(-tail.imag) < 0))


def kk_test(
    spectrum: Spectrum,
    *,
    threshold: float | npt.ArrayLike | None = None,
    add_inductance: bool = True,
    add_capacitance: bool | None = None,
    c: float = 0.85,
    max_M: int | None = None,
) -> KKResult:
    """Test a spectrum for Kramers–Kronig consistency with lin-KK.

    A series R0 + Σ_k R_k/(1 + jωτ_k) (+ jωL) (+ 1/(jωC)) is fitted to the real and
    imaginary parts together, each row weighted by 1/|Z|. The M time constants are
    log-spaced from τ_1 = 1/ω_max to τ_M = 1/ω_min (Schönleber 2014). M grows until
    μ = 1 − Σ|R_k<0|/Σ|R_k≥0| drops below ``c``: past that point the extra elements
    start fitting noise with alternating signs. The search starts at 3 elements per
    decade of the frequency range: coarser grids cannot follow even one ideal RC element
    to 1 %, and their alternating-sign coefficients can fake a low μ.

    Parameters
    ----------
    spectrum : Spectrum
        The spectrum (any point order).
    threshold : float or array_like, optional
        Limit on each relative residual |ΔZ′|/|Z| and |ΔZ″|/|Z| as a fraction
        (0.01 = 1 %), either one number or one per point (e.g. 3σ_r(f) when the noise
        model of the instrument is known). Default: 5 σ̂_i clipped to 1 %–5 % per point,
        where σ̂_i is the local noise estimated from the residuals themselves (second
        differences of the leverage-corrected residuals, median over ±6 points). The
        1 % floor is the usual literature limit for valid data; the noise term keeps
        noisy regions (the MHz end, low-current points) from failing on noise alone,
        while drift and artefacts, which give smooth or isolated structure, hardly
        raise σ̂. Above 5 % nothing is noise.
        With the default, a trend test also runs: the mean of 7 consecutive residuals
        (in frequency order) must stay below ``max(0.4 %, 5 σ̂/√7)``; averaging removes
        noise but keeps the smooth residuals of drift during the sweep. With an
        explicit threshold, the verdict is simply max |residual| < threshold.
    add_inductance : bool
        Fit a series inductance L (H), for lead inductance at the high-frequency end.
    add_capacitance : bool, optional
        Fit a series capacitance C (F), for blocking electrodes whose low-frequency
        tail no finite Voigt series can follow. Default (None): added when the spectrum
        ends in such a tail — phase below −60° at the three lowest frequencies and −Z″
        still rising toward the lowest.
    c : float
        μ limit for choosing M, in (0, 1]; 0.85 is Schönleber's recommendation.
    max_M : int, optional
        Largest M tried; default ``min(N, 100)`` for N points. When μ never drops
        below ``c`` the fit with ``max_M`` elements is used.

    Returns
    -------
    KKResult

    Raises
    ------
    SpectrumError
        Fewer than 3 points or fewer than 2 distinct frequencies, zero impedance,
        ``c`` outside (0, 1], a bad ``max_M``, or a threshold of the wrong length or sign.

    Examples
    --------
    >>> res = kk_test(spectrum)                       # doctest: +SKIP
    >>> print(res.summary())                          # doctest: +SKIP
    lin-KK PASS: M = 17, mu = 0.812, max residual 0.61 % (limit 1 %), pseudo-chi2 = 5.2e-05
    """
    where = spectrum.meta.get("source", "<spectrum>")
    freq = np.asarray(spectrum.freq, dtype=np.float64)
    z = np.asarray(spectrum.z, dtype=np.complex128)
    n = freq.size
    if n < 3 or np.unique(freq).size < 2:
        raise SpectrumError(
            f"{where}: the Kramers–Kronig test needs at least 3 points at 2 or more distinct "
            f"frequencies; found {n} point(s). Measure a wider frequency range."
        )
    if np.any(np.abs(z) == 0):
        raise SpectrumError(
            f"{where}: |Z| = 0 at indices {np.flatnonzero(np.abs(z) == 0)[:10].tolist()}; "
            "expected a non-zero impedance (residuals are relative to |Z|). Drop those points."
        )
    if not (0.0 < c <= 1.0):
        raise SpectrumError(f"kk_test: c must be in (0, 1]; found {c!r}. Use the default 0.85.")
    if add_capacitance is None:
        add_capacitance = _capacitive_tail(freq, z)
    n_params_fixed = 1 + int(add_inductance) + int(add_capacitance)
    limit_M = max(1, min(n, 100, 2 * n - n_params_fixed))
    if max_M is None:
        max_M = limit_M
    elif not (isinstance(max_M, (int, np.integer)) and max_M >= 1):
        raise SpectrumError(f"kk_test: max_M must be a positive integer; found {max_M!r}.")

    user_limit = None if threshold is None else _user_threshold(threshold, n)

    omega = 2.0 * np.pi * freq
    w_min, w_max = float(omega.min()), float(omega.max())

    def taus(M: int) -> FloatArray:
        return np.array([1.0 / w_max]) if M == 1 else np.geomspace(1.0 / w_max, 1.0 / w_min, M)

    # a grid coarser than ~3 elements per decade cannot follow even one ideal RC element to
    # 1 %, and its alternating-sign coefficients can fake a low μ: start the search there
    decades = np.log10(w_max / w_min)
    M_start = int(min(max_M, max(1, np.ceil(_MIN_M_PER_DECADE * decades) + 1)))
    M, mu, coef, z_fit = 0, np.inf, np.empty(0), np.empty(0, dtype=np.complex128)
    try:
        for M in range(M_start, int(max_M) + 1):
            coef, z_fit = _fit(omega, z, taus(M), add_inductance, add_capacitance)
            mu = _mu(coef[1 : 1 + M])
            if mu < c:
                break
        h_re, h_im = _leverage(omega, z, taus(M), add_inductance, add_capacitance)
    except np.linalg.LinAlgError as err:  # pathological input (e.g. |Z| spanning 1e300)
        raise SpectrumError(
            f"{where}: the lin-KK least-squares problem cannot be solved ({err}); expected "
            "impedances of finite, moderate magnitude. Check the units of the data."
        ) from err

    tau = taus(M)
    R0 = float(coef[0])
    R = coef[1 : 1 + M].copy()
    k = 1 + M
    L = float(coef[k]) if add_inductance else 0.0
    k += int(add_inductance)
    inv_C = float(coef[k]) if add_capacitance else 0.0
    C = 1.0 / inv_C if inv_C != 0.0 else np.inf

    mod = np.abs(z)
    res_re = (z.real - z_fit.real) / mod
    res_im = (z.imag - z_fit.imag) / mod
    order = np.argsort(freq, kind="stable")
    # the noise is estimated from studentised residuals r/√(1 − h): the fit pulls the
    # high-leverage points (the ends of the range) towards the data
    noise = _local_noise(res_re / np.sqrt(1.0 - h_re), res_im / np.sqrt(1.0 - h_im), order)

    if user_limit is None:
        limit = np.clip(DEFAULT_NOISE_MULTIPLE * noise, DEFAULT_FLOOR, DEFAULT_CAP)
    else:
        limit = user_limit
    bad_mask = (np.abs(res_re) > limit) | (np.abs(res_im) > limit)
    trend_limit = None
    trend_bad = np.zeros(n, dtype=bool)
    if threshold is None:
        trend_noise = DEFAULT_NOISE_MULTIPLE * noise / np.sqrt(_TREND_WINDOW)
        trend_limit = np.clip(trend_noise, TREND_FLOOR, DEFAULT_CAP)
        trend_bad = _trend_failures(res_re, res_im, trend_limit, order)
    bad = np.flatnonzero(bad_mask | trend_bad)
    return KKResult(
        freq=freq,
        z_fit=z_fit,
        res_re=res_re,
        res_im=res_im,
        M=int(M),
        mu=float(mu),
        threshold=limit,
        passed=bool(bad.size == 0),
        bad_points=tuple(int(i) for i in bad),
        pseudo_chisqr=float(np.sum(res_re**2 + res_im**2)),
        noise=noise,
        tau=tau,
        R=R,
        R0=R0,
        L=L,
        C=C,
        mu_limit=float(c),
        trend_limit=trend_limit,
        trend_points=tuple(int(i) for i in np.flatnonzero(trend_bad)),
    )
