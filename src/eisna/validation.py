"""Kramers–Kronig validation of impedance spectra by the lin-KK test.

lin-KK (Schönleber, Klotz and Ivers-Tiffée, *Electrochim. Acta* 131 (2014) 20,
DOI 10.1016/j.electacta.2014.01.034) fits a series of M Voigt (R‖C) elements with
fixed, log-spaced time constants to the spectrum. Such a model obeys the
Kramers–Kronig relations by construction, so data that it cannot reproduce to
the noise level are not causal, linear and stationary (drift, an instrument
artefact, a non-linear response). The model is linear in its parameters
(R0, R_k, L and 1/C), so one weighted linear least-squares solve per M is enough.
The time constants reach half a decade beyond the measured range, M comes from μ and
the pseudo-χ² curve (after Plank, Rüther and Danzer 2022, as in pyimpspec), and the
verdict is judged against a robust noise estimate. Z-HIT (:mod:`eisna.validation_zhit`)
runs alongside as an independent check.

Only :mod:`eisna.spectrum` and :mod:`eisna.errors` are imported (validation sits
upstream of circuits and fitting).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .errors import SpectrumError
from .spectrum import Spectrum
from .validation_zhit import ZHITResult, zhit

__all__ = [
    "DEFAULT_CAP",
    "DEFAULT_FLOOR",
    "DEFAULT_NOISE_MULTIPLE",
    "TREND_FLOOR",
    "KKResult",
    "ZHITResult",
    "estimate_noise",
    "kk_test",
    "kk_tests",
    "zhit",
]

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
# decades by which the time constants extend beyond 1/ω_max and 1/ω_min on each side: relaxations
# just outside the window (an above-window bulk arc, a low-frequency tail) then find an element
EXTEND_DECADES = 0.5
# smallest number of Voigt elements per decade of the τ range at which the M scan starts
_MIN_M_PER_DECADE = 1.0
# below this many elements per measured decade a μ < c is not taken as over-fitting
_MU_FROM_M_PER_DECADE = 2.0
# the scan stops once the last this-many M have not lowered the pseudo-χ² by 10 % (past the μ limit)
_PLATEAU_RUN = 6
# μ's choice stands unless its pseudo-χ² is more than this many decades above the lowest (under-fit)
_UNDERFIT_DECADES = float(np.log10(4.0))
# the elbow of the pseudo-χ² curve: the smallest M within this many decades of its lowest value
_ELBOW_DECADES = float(np.log10(1.3))
# the local noise may exceed the global (median) noise by at most this factor: a step or a run
# of outliers must not lift its own limit
_LOCAL_NOISE_CAP = 3.0
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
        when given by the user; by default 5 × the local noise (capped at 3 × its
        median), clipped to 1 %–5 % (see :func:`kk_test`).
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
    M_curve, mu_curve, chisqr_curve : ndarray
        The scan M chose from: the numbers of elements tried, μ and the pseudo-χ² at each.
    noise_level : float
        Robust noise estimate of the whole spectrum (σ per part, fraction of |Z|): the
        median of the local estimates, which also caps them (see :func:`kk_test`).
    reason : str
        Why the spectrum failed, in words (empty when it passed).
    systematic : tuple of str
        Where the residuals are systematic: ``"low-frequency drift"``,
        ``"high-frequency artefact"``, ``"mid-frequency deviation"`` or ``"outlier"``,
        each followed by its frequency range.
    zhit : ZHITResult or None
        The independent Z-HIT check (|Z| reconstructed from the phase), None when the
        spectrum has fewer than 5 frequencies.
    extend_decades : float
        Decades by which the τ grid extends beyond the measured range on each side.
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
    M_curve: npt.NDArray[np.int_] = field(default_factory=lambda: np.zeros(0, dtype=int))
    mu_curve: FloatArray = field(default_factory=lambda: np.zeros(0))
    chisqr_curve: FloatArray = field(default_factory=lambda: np.zeros(0))
    noise_level: float = float("nan")
    reason: str = ""
    systematic: tuple[str, ...] = ()
    zhit: ZHITResult | None = None
    extend_decades: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "freq",
            "z_fit",
            "res_re",
            "res_im",
            "threshold",
            "noise",
            "tau",
            "R",
            "trend_limit",
            "M_curve",
            "mu_curve",
            "chisqr_curve",
        ):
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
        if self.reason:
            text += f"; why: {self.reason}"
        return text


# design matrices by (ω grid, τ grid, L, C): the spectra of a series share their frequencies,
# so the M scan of every spectrum after the first reuses the matrices (read-only arrays)
_DESIGN_CACHE: dict[tuple[bytes, bytes, bool, bool], ComplexArray] = {}
_DESIGN_CACHE_MAX = 512
_STACKED_CACHE: dict[int, tuple[ComplexArray, FloatArray]] = {}
_TAU_CACHE: dict[tuple[float, float, int, float], FloatArray] = {}
_GRAM_MAX_WORK = 250_000  # 2N·K² multiply-adds: above, the Gram product is no cheaper than lstsq
_GRAM_PIVOT_RATIO = 1e-3  # Cholesky pivot spread ≥ 1e-3: κ(Gram) ≳ 1e6 otherwise


def _design_matrix(
    omega: FloatArray, tau: FloatArray, add_inductance: bool, add_capacitance: bool
) -> ComplexArray:
    """Columns: R0, the M Voigt elements, then jω (for L) and 1/(jω) (for 1/C)."""
    key = (omega.tobytes(), tau.tobytes(), bool(add_inductance), bool(add_capacitance))
    A = _DESIGN_CACHE.get(key)
    if A is not None:
        return A
    cols: list[np.ndarray] = [np.ones_like(omega, dtype=np.complex128)]
    cols.append(1.0 / (1.0 + 1j * np.outer(omega, tau)))
    if add_inductance:
        cols.append(1j * omega)
    if add_capacitance:
        cols.append(1.0 / (1j * omega))
    A = np.column_stack(cols)
    A.flags.writeable = False
    if len(_DESIGN_CACHE) >= _DESIGN_CACHE_MAX:
        _DESIGN_CACHE.clear()
    _DESIGN_CACHE[key] = A
    return A


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


def _weighted_rows(z: ComplexArray) -> tuple[FloatArray, FloatArray]:
    """Row weights 1/|Z| of the stacked real/imaginary system, twice, and its right-hand side."""
    w = 1.0 / np.abs(z)
    zw = z * w
    return np.concatenate([w, w]), np.concatenate([zw.real, zw.imag])


def _stacked_design(A: ComplexArray) -> FloatArray:
    """[Re A; Im A] of a cached design matrix (cached with it)."""
    key = id(A)
    got = _STACKED_CACHE.get(key)
    if got is None or got[0] is not A:
        if len(_STACKED_CACHE) >= _DESIGN_CACHE_MAX:
            _STACKED_CACHE.clear()
        got = (A, np.concatenate([A.real, A.imag]))
        _STACKED_CACHE[key] = got
    return got[1]


def _final_fit(
    omega: FloatArray, z: ComplexArray, tau: FloatArray, add_inductance: bool, add_capacitance: bool
) -> tuple[FloatArray, ComplexArray, tuple[FloatArray, FloatArray]]:
    """:func:`_fit` and the diagonal of the hat matrix for the real and the imaginary rows
    (0 ≤ h < 1), both from one SVD of the weighted system (the minimum-norm solution ``lstsq``
    gives, to rounding: residuals within 2e-10 of |Z| of it on sample_spectra and the corpus)."""
    A, stacked, rhs, scale = _weighted_system(omega, z, tau, add_inductance, add_capacitance)
    U, sv, vt = np.linalg.svd(stacked, full_matrices=False)
    # singular values below lstsq's default cutoff (rcond = ε·max(rows, columns)) are dropped
    keep = sv > sv[0] * max(stacked.shape) * np.finfo(float).eps
    U = U[:, keep]
    coef = vt[keep].T @ ((U.T @ rhs) / sv[keep]) / scale  # the minimum-norm least-squares solution
    h = np.minimum(np.sum(U * U, axis=1), 0.95)
    n = omega.size
    return coef, A @ coef, (h[:n], h[n:])


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
    if n > 2 * h:  # full windows at once
        windows = np.lib.stride_tricks.sliding_window_view(pooled, 2 * h + 1, axis=1)
        sigma_sorted[h : n - h] = _row_medians(windows.transpose(1, 0, 2).reshape(n - 2 * h, -1))
    # within h points of an end the window is the h outermost points: noise often rises
    # there (the MHz end, the slow low-current points) and a centred window lags behind
    # (one median per end: every point there has the same window)
    head, tail = list(range(min(h, n))), list(range(max(h, n - h), n))
    if head:
        sigma_sorted[head] = _median(pooled[:, 0:h].ravel())
    if tail:
        sigma_sorted[tail] = _median(pooled[:, n - h : n].ravel())
    sigma_sorted /= 0.6745
    sigma = np.empty(n)
    sigma[order] = sigma_sorted
    return sigma


def _median(a: FloatArray) -> float:
    """``float(np.median(a))`` of a 1-D array (the same order statistics and the same mean of the
    middle two, NaN in → NaN out), without ``np.median``'s generic overhead."""
    n = a.size
    if n == 0:
        return float("nan")
    h = n // 2
    part = np.partition(a, [h - 1, h, n - 1] if n % 2 == 0 else [h, n - 1])
    if np.isnan(part[-1]):
        return float("nan")
    return float((part[h - 1] + part[h]) / 2.0) if n % 2 == 0 else float(part[h])


def _row_medians(a: FloatArray) -> FloatArray:
    """``np.median(a, axis=1)`` of a 2-D array: the same order statistics (one partition) and
    the same mean of the middle two, NaN for a row holding NaN, without the generic overhead
    (three medians were a third of a spectrum's noise estimate)."""
    k = a.shape[1]
    h = k // 2
    part = np.partition(a, [h - 1, h, k - 1] if k % 2 == 0 else [h, k - 1], axis=1)
    mid = (part[:, h - 1] + part[:, h]) / 2.0 if k % 2 == 0 else part[:, h].copy()
    mid[np.isnan(part[:, -1])] = np.nan
    return mid


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


def _tau_grid(w_min: float, w_max: float, M: int, extend: float) -> FloatArray:
    """M log-spaced time constants from 1/ω_max to 1/ω_min, widened by ``extend`` decades each side (s).

    Cached (read-only): every M scan of a series' spectra asks for the same grids.
    """
    key = (w_min, w_max, M, extend)
    tau = _TAU_CACHE.get(key)
    if tau is None:
        lo, hi = np.log10(1.0 / w_max) - extend, np.log10(1.0 / w_min) + extend
        tau = np.array([10.0**lo]) if M == 1 else np.logspace(lo, hi, M)
        tau.flags.writeable = False
        if len(_TAU_CACHE) >= _DESIGN_CACHE_MAX:
            _TAU_CACHE.clear()
        _TAU_CACHE[key] = tau
    return tau


@dataclass(frozen=True)
class _Scan:
    """μ and pseudo-χ² over the scanned numbers of elements, and the M chosen from them."""

    Ms: npt.NDArray[np.int_]
    mus: FloatArray
    chisqr: FloatArray
    M: int


def _pseudo_chisqr(z: ComplexArray, z_fit: ComplexArray) -> float:
    return float(np.sum(np.abs(z - z_fit) ** 2 / np.abs(z) ** 2))


def _scan_M(
    omega: FloatArray,
    z: ComplexArray,
    M_range: tuple[int, int, int],
    c: float,
    extend: float,
    L: bool,
    C: bool,
) -> _Scan:
    """Fit M = ``M_range[0]`` … ``M_range[1]`` elements (stopping once the pseudo-χ² has
    levelled off past the μ limit) and choose M from μ and the pseudo-χ² curve.

    Two bounds, after Schönleber 2014 and Plank et al. 2022: ``M_mu``, the first M at which
    μ drops below ``c`` and stays there at the next M (dips below ``M_range[2]``, two
    elements per measured decade, are ignored: a grid that coarse cannot follow the data
    and its alternating signs are not over-fitting); and the elbow of log pseudo-χ², the
    smallest M within :data:`_ELBOW_DECADES` (or 5 % of the curve's total fall) of its
    lowest value. M is ``M_mu`` (Schönleber's choice) unless its pseudo-χ² is more than
    4× the lowest found: then μ dipped early, while the fit still under-fits, and the
    elbow is taken instead.
    """
    scan = _scan_many(omega, [z], M_range, c, extend, L, C)[0]
    if isinstance(scan, np.linalg.LinAlgError):
        raise scan
    return scan


def _scan_many(
    omega: FloatArray,
    zs: list[ComplexArray],
    M_range: tuple[int, int, int],
    c: float,
    extend: float,
    L: bool,
    C: bool,
) -> list[_Scan | np.linalg.LinAlgError]:
    """:func:`_scan_M` of several spectra measured at the same frequencies, M by M together.

    Every spectrum runs its own scan (the same stopping rule and choice); the spectra still
    scanning at an M are solved in one stacked product and factorisation (:func:`_scan_fits`),
    which is what makes the test of a series' spectra cheap. A spectrum whose least-squares
    problem cannot be solved gets its ``LinAlgError`` in place of a scan.
    """
    w_min, w_max = float(omega.min()), float(omega.max())
    n = len(zs)
    Ms: list[list[int]] = [[] for _ in range(n)]
    mus: list[list[float]] = [[] for _ in range(n)]
    chis: list[list[float]] = [[] for _ in range(n)]
    M_mu: list[int | None] = [None] * n
    failed: dict[int, np.linalg.LinAlgError] = {}
    active = list(range(n))
    rows = [_weighted_rows(z) for z in zs]
    w2 = np.array([r[0] for r in rows])
    rhs = np.array([r[1] for r in rows])
    for M in range(M_range[0], M_range[1] + 1):
        if not active:
            break
        got = _scan_fits(omega, zs, active, w2, rhs, _tau_grid(w_min, w_max, M, extend), L, C)
        still = []
        for i, out in zip(active, got, strict=True):
            if isinstance(out, np.linalg.LinAlgError):
                failed[i] = out
                continue
            Ms[i].append(M)
            mus[i].append(out[0])
            chis[i].append(max(out[1], 1e-300))
            mu_i = mus[i]
            if M_mu[i] is None and M_range[2] < M and mu_i[-1] < c and mu_i[-2] < c:
                M_mu[i] = M - 1
            recent, earlier = chis[i][-_PLATEAU_RUN:], chis[i][:-_PLATEAU_RUN]
            if M_mu[i] is not None and earlier and min(recent) > 0.9 * min(earlier):
                continue  # no gain over the last few M: the curve has levelled off
            still.append(i)
        active = still
    out_scans: list[_Scan | np.linalg.LinAlgError] = []
    for i in range(n):
        if i in failed:
            out_scans.append(failed[i])
            continue
        Ms_a, mus_a, log_chi = np.array(Ms[i]), np.array(mus[i]), np.log10(np.array(chis[i]))
        fall = log_chi[0] - log_chi.min()
        tol = max(_ELBOW_DECADES, 0.05 * fall)
        M_chosen = int(Ms_a[np.argmax(log_chi <= log_chi.min() + tol)])  # the elbow
        m_mu = M_mu[i]
        if m_mu is not None and log_chi[Ms_a == m_mu][0] <= log_chi.min() + _UNDERFIT_DECADES:
            M_chosen = m_mu
        out_scans.append(_Scan(Ms=Ms_a, mus=mus_a, chisqr=10.0**log_chi, M=M_chosen))
    return out_scans


def _scan_fits(
    omega: FloatArray,
    zs: list[ComplexArray],
    active: list[int],
    w2: FloatArray,
    rhs: FloatArray,
    tau: FloatArray,
    L: bool,
    C: bool,
) -> list[tuple[float, float] | np.linalg.LinAlgError]:
    """(μ, pseudo-χ²) of the fit with time constants ``tau`` for each spectrum ``zs[i]``, i in ``active``.

    The weighted problem goes through its normal equations: the scaled columns are well
    conditioned (κ ≲ 10⁵ for the grids the scan tries), so a Cholesky solve of the Gram matrix
    agrees with ``lstsq`` to ~1e-8 relative at a fraction of its cost; the chosen M is refitted
    through the SVD (:func:`_final_fit`), so the stored result does not depend on it. The spectra
    share their design matrix, so their Gram matrices and residuals come from stacked products
    (only the small factorisations run one by one). A spectrum whose Gram matrix is not safely
    positive definite (or a large problem) is solved by ``lstsq`` (:func:`_fit`) instead.
    """
    A = _design_matrix(omega, tau, L, C)
    M = tau.size
    out: list[tuple[float, float] | np.linalg.LinAlgError | None] = [None] * len(active)
    slow = list(range(len(active)))
    if 2 * A.size * A.shape[1] <= _GRAM_MAX_WORK:  # large: lstsq is as fast, and BLAS would thread
        # real stacking [Re A; Im A] (a complex conjugate-transposed product is handed to threaded
        # zgemm, which costs several times more CPU on a busy machine)
        w2a, rhsa = (w2, rhs) if len(active) == len(zs) else (w2[active], rhs[active])
        W = _stacked_design(A) * w2a[:, :, None]
        Wt = W.transpose(0, 2, 1)
        gram = Wt @ W
        scale = np.sqrt(gram.diagonal(axis1=1, axis2=2))
        good = (scale.min(axis=1) > 0.0) & np.isfinite(scale.sum(axis=1))
        if not good.all():
            scale[~good] = 1.0
        b = (Wt @ rhsa[:, :, None])[:, :, 0] / scale
        G = gram / (scale[:, :, None] * scale[:, None, :])
        from scipy.linalg.lapack import dpotrf, dpotrs  # (LAPACK directly: the wrappers cost more)

        coef = np.zeros_like(b)
        pivots = np.ones_like(b)
        for j in np.flatnonzero(good).tolist():
            factor, info = dpotrf(G[j], lower=False, clean=False)
            if info != 0:  # not positive definite
                good[j] = False
                continue
            coef[j], info = dpotrs(factor, b[j], lower=False)
            pivots[j] = factor.diagonal()
            good[j] = info == 0
        # a dense τ grid (many elements per decade) squares into an ill-conditioned Gram
        # matrix: the Cholesky pivots' spread bounds κ(G) from below, and below 1e-6 lstsq
        # is used (all spectra at once)
        pivots = np.abs(pivots)
        good &= pivots.min(axis=1) >= _GRAM_PIVOT_RATIO * pivots.max(axis=1)
        coef /= scale
        good &= np.isfinite(coef.sum(axis=1))
        if not good.all():
            coef[~good] = 0.0
        resid = rhsa - (W @ coef[:, :, None])[:, :, 0]  # (Z − Ẑ)/|Z|, real and imaginary rows
        chi = (resid * resid).sum(axis=1).tolist()
        R = coef[:, 1 : 1 + M]
        pos = (R * (R >= 0)).sum(axis=1).tolist()
        neg = (R * (R < 0)).sum(axis=1).tolist()
        slow = []
        for j in range(len(active)):
            if not good[j]:
                slow.append(j)
            elif pos[j] <= 0.0:
                out[j] = (1.0 if neg[j] == 0.0 else -np.inf, chi[j])
            else:
                out[j] = (1.0 + neg[j] / pos[j], chi[j])
    for j in slow:
        z = zs[active[j]]
        try:
            coef1, z_fit = _fit(omega, z, tau, L, C)
        except np.linalg.LinAlgError as err:
            out[j] = err
            continue
        out[j] = (_mu(coef1[1 : 1 + M]), _pseudo_chisqr(z, z_fit))
    return [o for o in out if o is not None]


def _validated_input(
    spectrum: Spectrum, c: float, max_M: int | None, n_fixed: int
) -> tuple[str, FloatArray, ComplexArray, int]:
    """Source name, frequencies (Hz), impedances (Ω) and the largest M; SpectrumError on bad input."""
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
    if max_M is None:
        max_M = max(1, min(n, 100, 2 * n - n_fixed))
    elif not (isinstance(max_M, (int, np.integer)) and max_M >= 1):
        raise SpectrumError(f"kk_test: max_M must be a positive integer; found {max_M!r}.")
    return where, freq, z, int(max_M)


def _robust_noise(noise: FloatArray) -> tuple[FloatArray, float]:
    """Local noise capped at 3× its median, and that median (fraction of |Z|).

    A step or a run of outliers raises the local second differences where it sits; the
    cap keeps it from lifting its own limit beyond what the rest of the spectrum's
    point-to-point scatter supports.
    """
    level = _median(noise) if noise.size else 0.0
    return np.minimum(noise, _LOCAL_NOISE_CAP * level), level


def _groups(freq: FloatArray, idx: npt.NDArray[np.intp]) -> list[npt.NDArray[np.intp]]:
    """Split point indices into runs that are consecutive in frequency order."""
    rank = np.empty(freq.size, dtype=int)
    rank[np.argsort(freq, kind="stable")] = np.arange(freq.size)
    idx = idx[np.argsort(rank[idx])]
    if idx.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(rank[idx]) > 1) + 1
    return np.split(idx, cuts)


def _describe_failures(
    freq: FloatArray,
    res: FloatArray,
    limit: FloatArray,
    bad: npt.NDArray[np.intp],
    trend: npt.NDArray[np.intp],
) -> tuple[str, tuple[str, ...]]:
    """The reason a spectrum failed, and where its residuals are systematic (in words)."""
    if bad.size == 0:
        return "", ()
    f_lo, f_hi = float(freq.min()), float(freq.max())
    span = np.log10(f_hi / f_lo)
    where = []
    for g in _groups(freq, bad):
        a, b = float(freq[g].min()), float(freq[g].max())
        # a run that starts at the lowest frequency (or lies in the lowest fifth of the decades)
        # is drift; one that reaches the highest (or lies in the top fifth) is an HF artefact
        if g.size == 1 and int(g[0]) not in set(trend.tolist()):
            kind = "outlier"
        elif a <= f_lo * 1.0001 or np.log10(b / f_lo) < 0.2 * span:
            kind = "low-frequency drift"
        elif b >= f_hi * 0.9999 or np.log10(f_hi / a) < 0.2 * span:
            kind = "high-frequency artefact"
        else:
            kind = "mid-frequency deviation"
        where.append(f"{kind} at {a:.3g} Hz" if a == b else f"{kind} at {a:.3g}–{b:.3g} Hz")
    over = bad[res[bad] > limit[bad]]
    if over.size:
        k = int(over[np.argmax(res[over] / limit[over])])
        reason = f"residual {100 * res[k]:.2g} % at {freq[k]:.3g} Hz exceeds the limit {100 * limit[k]:.2g} %"
        if trend.size:
            reason += f"; systematic run at {trend.size} point(s)"
    else:
        reason = f"systematic run of residuals at {trend.size} point(s) (mean of 7 above the trend limit)"
    return f"{reason} ({'; '.join(where)})", tuple(where)


def _verdict(
    freq: FloatArray, res_re: FloatArray, res_im: FloatArray, noise: FloatArray, user_limit: FloatArray | None
) -> dict:
    """Limits, failing points, trend test and the reason (the KKResult fields they fill)."""
    order = np.argsort(freq, kind="stable")
    if user_limit is None:
        limit = np.clip(DEFAULT_NOISE_MULTIPLE * noise, DEFAULT_FLOOR, DEFAULT_CAP)
        trend_noise = DEFAULT_NOISE_MULTIPLE * noise / np.sqrt(_TREND_WINDOW)
        trend_limit = np.clip(trend_noise, TREND_FLOOR, DEFAULT_CAP)
        trend_bad = _trend_failures(res_re, res_im, trend_limit, order)
    else:
        limit, trend_limit = user_limit, None
        trend_bad = np.zeros(freq.size, dtype=bool)
    res = np.maximum(np.abs(res_re), np.abs(res_im))
    bad = np.flatnonzero((res > limit) | trend_bad)
    reason, systematic = _describe_failures(freq, res, limit, bad, np.flatnonzero(trend_bad))
    return {
        "threshold": limit,
        "passed": bool(bad.size == 0),
        "bad_points": tuple(int(i) for i in bad),
        "trend_limit": trend_limit,
        "trend_points": tuple(int(i) for i in np.flatnonzero(trend_bad)),
        "reason": reason,
        "systematic": systematic,
    }


def kk_test(
    spectrum: Spectrum,
    *,
    threshold: float | npt.ArrayLike | None = None,
    add_inductance: bool = True,
    add_capacitance: bool | None = None,
    c: float = 0.85,
    max_M: int | None = None,
) -> KKResult:
    """Test a spectrum for Kramers–Kronig consistency with lin-KK (and Z-HIT alongside).

    A series R0 + Σ_k R_k/(1 + jωτ_k) (+ jωL) (+ 1/(jωC)) is fitted to the real and
    imaginary parts together, each row weighted by 1/|Z|. The M time constants are
    log-spaced over the measured range 1/ω_max … 1/ω_min extended by half a decade on
    each side (:data:`EXTEND_DECADES`): a relaxation just outside the window (a bulk arc
    above f_max, a low-frequency tail) otherwise forces alternating-sign edge elements
    and the residual measures the grid, not the data. M is scanned upward from one
    element per decade. M is Schönleber's (μ = 1 − Σ|R_k<0|/Σ|R_k≥0| first drops, and
    stays, below ``c``) unless its pseudo-χ² is more than 4× the lowest of the scan: then
    μ dipped while the fit still under-fits, and the elbow of the pseudo-χ² curve (the
    smallest M within 1.3× of its lowest value) is taken (after Plank et al. 2022). The scan is
    stored on the result
    (``M_curve``, ``mu_curve``, ``chisqr_curve``).

    Parameters
    ----------
    spectrum : Spectrum
        The spectrum (any point order).
    threshold : float or array_like, optional
        Limit on each relative residual |ΔZ′|/|Z| and |ΔZ″|/|Z| as a fraction
        (0.01 = 1 %), one number or one per point. Default: 5 σ̂_i clipped to 1 %–5 %,
        where σ̂_i is the local noise from second differences of the leverage-corrected
        residuals (median over ±6 points), capped at 3× its median over the spectrum:
        a step or a run of outliers cannot lift its own limit. A trend test also runs:
        the mean of 7 consecutive residuals must stay below ``max(0.4 %, 5 σ̂/√7)``.
        With an explicit threshold the verdict is simply max |residual| < threshold.
    add_inductance : bool
        Fit a series inductance L (H), for lead inductance at the high-frequency end.
    add_capacitance : bool, optional
        Fit a series capacitance C (F), for blocking electrodes. Default (None): added
        when the spectrum ends in such a tail — phase below −60° at the three lowest
        frequencies and −Z″ still rising toward the lowest.
    c : float
        μ limit, in (0, 1]; 0.85 is Schönleber's recommendation.
    max_M : int, optional
        Largest M tried; default ``min(N, 100)`` for N points.

    Returns
    -------
    KKResult
        With ``reason`` (why it failed), ``systematic`` (where), ``noise_level`` and
        ``zhit`` (the Z-HIT check, see :func:`eisna.validation.zhit`).

    Raises
    ------
    SpectrumError
        Fewer than 3 points or fewer than 2 distinct frequencies, zero impedance,
        ``c`` outside (0, 1], a bad ``max_M``, or a threshold of the wrong length or sign.

    Examples
    --------
    >>> res = kk_test(spectrum)                       # doctest: +SKIP
    >>> print(res.summary())                          # doctest: +SKIP
    lin-KK PASS: M = 17, mu = 0.812, max residual 0.21 % (limit 1 %), pseudo-chi2 = 5.2e-06
    """
    out = kk_tests(
        [spectrum],
        threshold=threshold,
        add_inductance=add_inductance,
        add_capacitance=add_capacitance,
        c=c,
        max_M=max_M,
    )[0]
    if isinstance(out, SpectrumError):
        raise out
    return out


def kk_tests(
    spectra: Sequence[Spectrum],
    *,
    threshold: float | npt.ArrayLike | None = None,
    add_inductance: bool = True,
    add_capacitance: bool | None = None,
    c: float = 0.85,
    max_M: int | None = None,
) -> list[KKResult | SpectrumError]:
    """:func:`kk_test` of several spectra, e.g. a series measured at the same frequencies.

    Each spectrum gets exactly the test :func:`kk_test` gives it (its own M scan, limits and
    verdict); the spectra that share their frequencies (and the same series terms) run their
    M scans together, one stacked solve per M, at a fraction of the cost of one by one.

    Parameters
    ----------
    spectra : sequence of Spectrum
    threshold, add_inductance, add_capacitance, c, max_M
        As for :func:`kk_test`, applied to every spectrum (``add_capacitance=None`` is decided
        per spectrum).

    Returns
    -------
    list of KKResult or SpectrumError
        One entry per spectrum, in order: its result, or the :class:`~eisna.errors.SpectrumError`
        :func:`kk_test` would have raised for it (returned, not raised, so one unusable spectrum
        does not stop the others).
    """
    out: list[KKResult | SpectrumError | None] = [None] * len(spectra)
    prepared: dict[int, _Prepared] = {}
    groups: dict[tuple[bytes, tuple[int, int, int], bool], list[int]] = {}
    for i, spectrum in enumerate(spectra):
        try:
            prep = _prepare(spectrum, threshold, add_inductance, add_capacitance, c, max_M)
        except SpectrumError as err:
            out[i] = err
            continue
        prepared[i] = prep
        groups.setdefault((prep.omega.tobytes(), prep.M_range, prep.add_capacitance), []).append(i)
    for members in groups.values():
        first = prepared[members[0]]
        zs = [prepared[i].z for i in members]
        scans = _scan_many(
            first.omega, zs, first.M_range, c, EXTEND_DECADES, add_inductance, first.add_capacitance
        )
        for i, scan in zip(members, scans, strict=True):
            out[i] = _finish(prepared[i], scan, c, add_inductance)
    return [o for o in out if o is not None]


@dataclass(frozen=True)
class _Prepared:
    """A spectrum checked for the test, with what its M scan needs."""

    spectrum: Spectrum
    where: str
    freq: FloatArray
    z: ComplexArray
    omega: FloatArray
    M_range: tuple[int, int, int]
    add_capacitance: bool
    user_limit: FloatArray | None


def _prepare(
    spectrum: Spectrum,
    threshold: float | npt.ArrayLike | None,
    add_inductance: bool,
    add_capacitance: bool | None,
    c: float,
    max_M: int | None,
) -> _Prepared:
    """Validate the input and set the range of the M scan; SpectrumError on bad input."""
    freq0 = np.asarray(spectrum.freq, dtype=np.float64)
    z0 = np.asarray(spectrum.z, dtype=np.complex128)
    if add_capacitance is None:
        add_capacitance = freq0.size >= 3 and _capacitive_tail(freq0, z0)
    n_fixed = 1 + int(add_inductance) + int(add_capacitance)
    where, freq, z, max_M = _validated_input(spectrum, c, max_M, n_fixed)
    user_limit = None if threshold is None else _user_threshold(threshold, freq.size)
    omega = 2.0 * np.pi * freq
    w_min, w_max = float(omega.min()), float(omega.max())
    decades = np.log10(w_max / w_min) + 2 * EXTEND_DECADES
    M_start = int(min(max_M, max(2, np.ceil(_MIN_M_PER_DECADE * decades))))
    M_floor = int(min(max_M, np.ceil(_MU_FROM_M_PER_DECADE * np.log10(w_max / w_min)) + 1))
    return _Prepared(
        spectrum, where, freq, z, omega, (M_start, max_M, M_floor), bool(add_capacitance), user_limit
    )


def _finish(
    prep: _Prepared, scan: _Scan | np.linalg.LinAlgError, c: float, add_inductance: bool
) -> KKResult | SpectrumError:
    """The chosen M refitted (through the SVD), its leverage, and the assembled result."""
    omega, z = prep.omega, prep.z
    try:
        if isinstance(scan, np.linalg.LinAlgError):
            raise scan
        tau = _tau_grid(float(omega.min()), float(omega.max()), scan.M, EXTEND_DECADES)
        coef, z_fit, leverage = _final_fit(omega, z, tau, add_inductance, prep.add_capacitance)
    except np.linalg.LinAlgError as err:  # pathological input (e.g. |Z| spanning 1e300)
        error = SpectrumError(
            f"{prep.where}: the lin-KK least-squares problem cannot be solved ({err}); expected "
            "impedances of finite, moderate magnitude. Check the units of the data."
        )
        error.__cause__ = err
        return error
    return _assemble(
        prep.spectrum,
        prep.freq,
        z,
        z_fit,
        coef,
        tau,
        scan,
        leverage,
        prep.user_limit,
        c,
        add_inductance,
        prep.add_capacitance,
    )


def _assemble(
    spectrum: Spectrum,
    freq: FloatArray,
    z: ComplexArray,
    z_fit: ComplexArray,
    coef: FloatArray,
    tau: FloatArray,
    scan: _Scan,
    leverage: tuple[FloatArray, FloatArray],
    user_limit: FloatArray | None,
    c: float,
    add_inductance: bool,
    add_capacitance: bool,
) -> KKResult:
    """Residuals, noise, verdict and Z-HIT, packed into a KKResult."""
    M = scan.M
    k = 1 + M
    L = float(coef[k]) if add_inductance else 0.0
    inv_C = float(coef[k + int(add_inductance)]) if add_capacitance else 0.0
    mod = np.abs(z)
    res_re = (z.real - z_fit.real) / mod
    res_im = (z.imag - z_fit.imag) / mod
    order = np.argsort(freq, kind="stable")
    # the noise is estimated from studentised residuals r/√(1 − h): the fit pulls the
    # high-leverage points (the ends of the range) towards the data
    raw = _local_noise(res_re / np.sqrt(1.0 - leverage[0]), res_im / np.sqrt(1.0 - leverage[1]), order)
    noise, level = _robust_noise(raw)
    verdict = _verdict(freq, res_re, res_im, noise, user_limit)
    try:
        z_hit: ZHITResult | None = zhit(spectrum, noise=noise)
    except SpectrumError:
        z_hit = None
    return KKResult(
        freq=freq,
        z_fit=z_fit,
        res_re=res_re,
        res_im=res_im,
        M=int(M),
        mu=float(scan.mus[scan.Ms == M][0]),
        pseudo_chisqr=float(np.sum(res_re**2 + res_im**2)),
        noise=noise,
        tau=tau,
        R=coef[1 : 1 + M].copy(),
        R0=float(coef[0]),
        L=L,
        C=1.0 / inv_C if inv_C != 0.0 else np.inf,
        mu_limit=float(c),
        M_curve=scan.Ms,
        mu_curve=scan.mus,
        chisqr_curve=scan.chisqr,
        noise_level=level,
        zhit=z_hit,
        extend_decades=EXTEND_DECADES,
        **verdict,
    )


def estimate_noise(spectrum: Spectrum) -> float:
    """Robust noise level of a spectrum, σ per part as a fraction of |Z|.

    The median of lin-KK's local noise estimates (second differences of the
    leverage-corrected residuals): steps, outliers and drift hardly move it. Use it to
    judge a fit's misfit in absolute terms (a relative RMS misfit far above it is a poor fit).

    Parameters
    ----------
    spectrum : Spectrum

    Returns
    -------
    float
        Noise level, fraction of |Z| (0.002 = 0.2 %).
    """
    return kk_test(spectrum).noise_level
