"""Distribution of relaxation times (DRT) by Tikhonov regularisation and NNLS.

The spectrum is modelled as

    Z(ω) = R∞ + jωL + ∫ γ(ln τ) / (1 + jωτ) d ln τ,    γ ≥ 0,

with γ expanded in Gaussian radial basis functions centred on log-spaced τ_m
(Wan, Saccoccio, Chen and Ciucci, *Electrochim. Acta* 184 (2015) 483,
DOI 10.1016/j.electacta.2015.09.097). The weighted least-squares problem with a
second-derivative penalty λ‖γ″‖² is solved as one augmented non-negative least
squares problem (:func:`scipy.optimize.nnls`). λ is chosen by real/imaginary
cross-validation (Saccoccio et al. 2014; Maradesa et al., *J. Electrochem. Soc.* 170
(2023) 030502): γ fitted to Z′ alone must predict Z″, and vice versa. When that error
keeps falling to the top of the λ grid (Z′ and Z″ disagree: a spectrum that is not
KK-consistent, where re/im cross-validation has no optimum), generalised
cross-validation of the joint fit (Golub, Heath and Wahba, *Technometrics* 21 (1979)
215) chooses λ instead. A λ whose fit misses the data by more than 1.5× the noise level
(estimated from the least-regularised fit) is lowered until it does not (Morozov's
discrepancy principle), since cross-validation on few or noisy points can merge arcs.
Before that cap, where the cross-validation error is flat within its own statistical spread (few noisy
points), the λ among those that puts the dominant in-window peak nearest a −Z″ apex standing
out from the local scatter is taken. Last, every prominent maximum of −Z″ inside the window
(a model-free sign of an arc there) must keep a γ peak within half a decade; when the chosen
λ has merged it into a neighbour (on spectra where Z′ and Z″ disagree, cross-validation can
prefer such a λ), λ is lowered in decades until it has one again.

Only :mod:`eisna.spectrum` and :mod:`eisna.errors` are imported (DRT sits upstream
of circuits and fitting, which may use its peaks for start values).
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .errors import SpectrumError
from .spectrum import Spectrum

__all__ = ["DRTPeak", "DRTResult", "drt"]

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

BASES = ("gaussian RBF",)
# RBF width: full width at half maximum = _FWHM_PER_STEP × (spacing of the centres in ln τ)
_FWHM_PER_STEP = 2.0
# decades by which the τ grid extends beyond 1/(2π f_max) .. 1/(2π f_min): room for arcs cut by the window.
# One decade was too tight: an arc cut by the window piled up at the grid's last centres, which
# pulled the peaks of in-window arcs next to it and invited small λ with split peaks; with 1.5
# decades the sample cells' 300 kHz grain-boundary peak (f_max 7 MHz) lies within 0.09 decade of
# its f0, 0.16 before (BENCHMARKS.md, branch drtgrid). Two decades fail the three-ZARC known answer.
_EXTEND_DECADES = 1.5
# λ candidates for cross-validation (dimensionless: γ is scaled by the median |Z|)
_LAMBDA_GRID = np.logspace(-7.0, 1.0, 9)
# decades by which the λ grid is extended, one at a time, when the choice sits at one of its ends
_LAMBDA_EXTRA_DECADES = 2
# a peak must reappear within this many decades of τ when λ is ten times larger
_SURVIVAL_DECADES = 0.3
# default RBF centres per decade of τ
_CENTRES_PER_DECADE = 7.0
# GCV fallback: the largest λ whose score is within this factor of the minimum
_GCV_TOLERANCE = 1.03
# relative misfit (fraction of |Z|) treated as zero when choosing λ
_CV_FLOOR = 5e-4
# discrepancy cap: the chosen λ may raise the residual norm to at most this multiple of the noise
# level estimated from the least-regularised fit
_DISCREPANCY_FACTOR = 1.5
# apex guard: a prominent maximum of −Z″ inside the window (each side drops by at least this fraction
# of its height) must have a γ peak within this factor of its frequency, or λ is lowered until it has
_APEX_PROMINENCE = 0.1
# ... and by at least this many noise standard deviations (σ̂·|Z|, from the least-regularised fit):
# a maximum made by the scatter of two neighbours is no apex
_APEX_NOISE_SIGMAS = 4.0
_APEX_FACTOR = float(np.sqrt(10.0))
# apex steering (few-point noisy spectra): −Z″ is fitted by a quadratic in log10 f over this many
# decades either side of each local maximum; the maximum counts when the curvature is negative at
# this one-sided t level against the scatter of the points about the quadratic
_STEER_HALF_DECADES = 0.5
_STEER_LEVEL = 0.975
# ... and λ moves only when that brings the dominant in-window peak at least half a centre spacing
# (in decades) closer to the apex
_STEER_GAIN_DECADES = 0.5 / _CENTRES_PER_DECADE
# Gauss–Hermite nodes for the kernel integrals (the kernel is smooth on the RBF's scale)
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite.hermgauss(24)


class DRTPeak(NamedTuple):
    """One DRT peak.

    Attributes
    ----------
    tau : float
        Time constant at the maximum of γ, in s.
    f : float
        Characteristic frequency f = 1/(2πτ), in Hz.
    R : float
        Area under the peak between its neighbouring minima, in Ω.
    in_window : bool
        True when f lies within the measured frequency range; a peak outside it is an
        extrapolation (a truncated arc, a lead-inductance artefact), not a measurement.
    credible : bool
        True when the lower edge of the 90 % bootstrap band at the peak's top is above the
        upper edge at its neighbouring minima: a peak, not a ripple of the regularisation.
        (True when no band was computed.)
    """

    tau: float
    f: float
    R: float
    in_window: bool = True
    credible: bool = True


@dataclass(frozen=True)
class DRTResult:
    """A distribution of relaxation times.

    Attributes
    ----------
    tau : ndarray of float
        τ grid in s (ascending, finer than the RBF centres) on which ``gamma`` is given.
    gamma : ndarray of float
        γ(ln τ) in Ω per unit of ln τ, so that ∫ γ d ln τ is the polarisation resistance (Ω).
    R_inf : float
        Series (high-frequency) resistance in Ω.
    L : float
        Series inductance in H (0 when not fitted).
    lam : float
        Regularisation parameter λ used (dimensionless: the penalty acts on γ/median|Z|).
    peaks : tuple of DRTPeak
        Peaks of γ sorted by τ (ascending), each holding at least ``min_peak_fraction`` of
        the total polarisation.
    z_fit : ndarray of complex
        Impedance of the DRT model at the spectrum's frequencies (acquisition order), Ω.
    residual_rms : float
        RMS of the relative residuals (Z − Ẑ)/|Z| over real and imaginary parts (fraction).
    freq : ndarray of float
        The spectrum's frequencies in Hz (acquisition order).
    R_pol : float
        Total polarisation resistance ∫ γ d ln τ in Ω.
    C : float
        Series capacitance in F (inf when not fitted).
    gamma_lo, gamma_hi : ndarray of float or None
        5th and 95th percentiles of γ over residual-bootstrap resamples (Ω), on ``tau``;
        None when ``n_boot=0``.
    lam_at_edge : bool
        True when the chosen λ sits at the end of the (extended) λ grid: the
        cross-validation (re/im, then GCV as the fallback) could not locate an optimum,
        and γ's smoothness is a guess.
    """

    tau: FloatArray
    gamma: FloatArray
    R_inf: float
    L: float
    lam: float
    peaks: tuple[DRTPeak, ...]
    z_fit: ComplexArray
    residual_rms: float
    freq: FloatArray
    R_pol: float
    C: float = np.inf
    gamma_lo: FloatArray | None = None
    gamma_hi: FloatArray | None = None
    lam_at_edge: bool = False

    def __post_init__(self) -> None:
        for name in ("tau", "gamma", "z_fit", "freq", "gamma_lo", "gamma_hi"):
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    @property
    def R_above_window(self) -> float:
        """Resistance (Ω) that γ holds at τ below 1/(2π f_max): processes faster than the window.

        The DRT's τ grid reaches beyond the measured frequencies, so an ohmic intercept with a
        high-frequency tail can be carried by γ there instead of by R_inf (R_inf = 0 while the
        spectrum starts at a few Ω). R_inf + R_above_window is then the high-frequency intercept.
        """
        tau = np.asarray(self.tau, dtype=float)
        gamma = np.asarray(self.gamma, dtype=float)
        freq = np.asarray(self.freq, dtype=float)
        if tau.size < 2 or freq.size == 0:
            return 0.0
        fast = tau < 1.0 / (2 * np.pi * float(freq.max()))
        if fast.sum() < 2:
            return 0.0
        log_tau = np.log(tau[fast])
        g = gamma[fast]
        return float(np.sum(0.5 * (g[1:] + g[:-1]) * np.diff(log_tau)))

    def summary(self) -> str:
        """Short text: λ, R∞, R_pol and one line per peak."""
        lines = [
            f"DRT: lambda = {self.lam:.2g}, R_inf = {self.R_inf:.4g} Ohm, R_pol = {self.R_pol:.4g} Ohm, "
            f"L = {self.L:.3g} H, residual rms = {100 * self.residual_rms:.2f} %"
        ]
        if self.lam_at_edge:
            lines.append("  lambda at the edge of its grid: gamma's smoothness is a guess")
        for k, p in enumerate(self.peaks, 1):
            flags = "" if p.in_window else "  [outside the measured range]"
            flags += "" if p.credible else "  [within the bootstrap band: may be a ripple]"
            lines.append(f"  peak {k}: tau = {p.tau:.3e} s, f = {p.f:.3e} Hz, R = {p.R:.4g} Ohm{flags}")
        return "\n".join(lines)


@lru_cache(maxsize=32)
def _kernels(log_wt_key: bytes, shape: tuple[int, int], eps: float) -> tuple[FloatArray, FloatArray]:
    """Real and imaginary kernel of each RBF at each frequency (cached per grid).

    For an RBF φ(u) = exp(−(εu)²) centred at ln τ_m, the contribution to Z(ω) is
    ∫ φ(u) / (1 + jω τ_m e^u) du. With x = ln(ω τ_m) and Gauss–Hermite quadrature
    (u = v/ε) this is (1/ε) Σ_k w_k / (1 + j e^(x + v_k/ε)).
    """
    x = np.frombuffer(log_wt_key, dtype=np.float64).reshape(shape)
    e = np.exp(x[..., None] + _GH_NODES / eps)
    den = 1.0 + e * e
    k_re = (1.0 / den) @ _GH_WEIGHTS / eps
    k_im = -(e / den) @ _GH_WEIGHTS / eps
    # far from its centre an RBF's kernel underflows to subnormal numbers, which make every
    # later matrix product and factorisation many times slower: they are zero for our purpose
    for k in (k_re, k_im):
        k[np.abs(k) < 1e-150] = 0.0
    return k_re, k_im


def _rbf(u: FloatArray, eps: float) -> FloatArray:
    return np.exp(-((eps * u) ** 2))


def _rbf_d2(u: FloatArray, eps: float) -> FloatArray:
    """Second derivative of the Gaussian RBF with respect to ln τ."""
    e2 = eps * eps
    return (4.0 * e2 * e2 * u * u - 2.0 * e2) * np.exp(-e2 * u * u)


def _nnls(A: FloatArray, b: FloatArray) -> FloatArray:
    from scipy.optimize import lsq_linear, nnls

    try:
        x, _ = nnls(A, b, maxiter=50 * A.shape[1])
    except RuntimeError:  # iteration limit: fall back to the bounded least-squares solver
        x = lsq_linear(A, b, bounds=(0.0, np.inf), method="bvls").x
    if not np.all(np.isfinite(x)):
        raise SpectrumError(
            "drt: the regularised least-squares problem gave non-finite values; expected "
            "impedances of finite, moderate magnitude. Check the units of the data."
        )
    return x


def _segments(gamma: FloatArray) -> list[list[int]]:
    """[left minimum, maximum, right minimum] indices of each peak of γ, shoulders merged.

    A shoulder, i.e. a maximum separated from a neighbour by a valley at least half as
    high as the lower of the two maxima, is merged into that neighbour: the
    regularised solution tends to break the heavy tails of a depressed (n < 1) arc into
    such ripples, and their area belongs to the arc.
    """
    n = gamma.size
    if n < 3 or not np.any(gamma > 0):
        return []
    d = np.diff(gamma)
    # a maximum rises into it and does not rise after it (a plateau counts once)
    maxima = [i for i in range(1, n - 1) if d[i - 1] > 0 and d[i] <= 0]
    if d[0] < 0:
        maxima.insert(0, 0)
    if d[-1] > 0:
        maxima.append(n - 1)
    if not maxima:
        return []
    # the valley between two consecutive maxima is the lowest point between them
    valleys = [a + int(np.argmin(gamma[a : b + 1])) for a, b in itertools.pairwise(maxima)]
    segments = [
        [0 if k == 0 else valleys[k - 1], m, n - 1 if k == len(maxima) - 1 else valleys[k]]
        for k, m in enumerate(maxima)
    ]
    merged = True
    while merged and len(segments) > 1:
        merged = False
        for k in range(len(segments) - 1):
            a, b = segments[k], segments[k + 1]
            if gamma[a[2]] >= 0.5 * min(gamma[a[1]], gamma[b[1]]):
                top = a[1] if gamma[a[1]] >= gamma[b[1]] else b[1]
                segments[k : k + 2] = [[a[0], top, b[2]]]
                merged = True
                break
    return segments


def _find_peaks(log_tau: FloatArray, gamma: FloatArray, min_area: float) -> tuple[DRTPeak, ...]:
    """Peaks of γ (see :func:`_segments`), each with its area between the neighbouring
    minima (trapezoid rule), keeping those of at least ``min_area`` (Ω)."""
    peaks = []
    for left, top, right in _segments(gamma):
        area = float(np.trapezoid(gamma[left : right + 1], log_tau[left : right + 1]))
        if area >= min_area and gamma[top] > 0:
            tau = float(np.exp(log_tau[top]))
            peaks.append(DRTPeak(tau=tau, f=1.0 / (2.0 * np.pi * tau), R=area))
    return tuple(peaks)


def drt(
    spectrum: Spectrum,
    *,
    lam: float | None = None,
    n_tau: int | None = None,
    basis: str = "gaussian RBF",
    inductance: bool = True,
    capacitance: bool = False,
    min_peak_fraction: float = 0.03,
    n_boot: int = 50,
) -> DRTResult:
    """Compute the distribution of relaxation times of a spectrum.

    Parameters
    ----------
    spectrum : Spectrum
        The spectrum (any point order). Points with Z″ > 0 from lead inductance are
        handled by the series L.
    lam : float, optional
        Regularisation parameter λ (dimensionless; the penalty is λ‖d²γ/d(ln τ)²‖² on γ
        divided by the median |Z|). Default: chosen by real/imaginary cross-validation
        over 10⁻⁷ … 10¹ (decade steps, then the half decade above the choice): γ fitted
        to Z′ alone predicts Z″ and vice versa, and the largest λ whose summed prediction
        error is within 10 % of the smallest wins (smoother γ at equal evidence). When
        −Z″ has an apex inside the window that stands out from its local scatter (a
        quadratic in log f over ±0.5 decade, curvature significant at the one-sided 97.5 %
        t level), the λ on the half-decade grid whose error lies within the error's own
        statistical spread, √(2/2n), of the smallest and that puts the dominant in-window
        peak nearest that apex wins instead (only if it moves the peak at least half a
        centre spacing closer): on few noisy points the error cannot tell those λ apart and
        a broad peak drifts with λ. λ is never one whose residual norm exceeds 1.5× the
        noise estimated from the least-regularised fit (discrepancy principle: λ is
        lowered in half decades). When
        that choice is the top of the extended grid, λ comes from generalised
        cross-validation of the joint Z′ + Z″ fit (the largest λ within 3 % of the
        smallest GCV score); ``lam_at_edge`` then says whether GCV found an optimum.
        Finally, when a prominent −Z″ maximum inside the window (each side drops by
        ≥ 10 % of its height and ≥ 4 noise standard deviations) has no γ peak inside the
        window within half a decade of it, λ is lowered in decades to the largest value
        that gives the most such apexes a peak (unchanged when no smaller λ does better).
    n_tau : int, optional
        Number of RBF centres. Default: 7 per decade over the measured τ range
        1/(2π f_max) … 1/(2π f_min) extended by 1.5 decades on each side, where arcs cut
        by the window still find centres (77 centres for 7 MHz … 0.1 Hz). Denser grids
        cost time (NNLS) without changing the peaks.
    basis : str
        Only ``"gaussian RBF"`` (FWHM two centre spacings).
    inductance : bool
        Fit a series inductance L ≥ 0 (H).
    capacitance : bool
        Fit a series capacitance C > 0 (F), for blocking electrodes: without it the
        capacitive spike piles up at the long-τ end of γ and dwarfs the arcs.
    min_peak_fraction : float
        Peaks holding less than this fraction of ∫γ d ln τ are not listed (default 3 %;
        smaller peaks are mostly regularisation ripples, see Notes).
    n_boot : int
        Residual-bootstrap resamples for the credible band ``gamma_lo``/``gamma_hi``
        (default 50; each is a matrix product on the fit's active set, about 1 ms in
        all); 0 skips the band (peaks are then all ``credible``).

    Returns
    -------
    DRTResult

    Raises
    ------
    SpectrumError
        Fewer than 4 points or fewer than 3 distinct frequencies, |Z| = 0, or an invalid
        option (unknown basis, λ ≤ 0, n_tau < 3, min_peak_fraction outside [0, 1),
        n_boot < 0).

    Notes
    -----
    Rows are weighted by 1/|Z|. R∞ and L enter as extra non-negative columns and are
    not penalised. On an 80-point spectrum the whole call takes about 10–30 ms of CPU
    (see BENCHMARKS.md).

    Peaks are the maxima of γ; each peak's R is the area of γ between its neighbouring
    minima. Three rules keep regularisation ripples out of the list (eis-science §5.2):
    a shoulder separated from a neighbour by a valley at least half as high as the
    lower maximum is merged into it; a peak must reappear within 0.3 decade when λ is
    ten times larger (the peak holding the largest share of R_pol is always kept, and so
    is the largest peak inside the measured frequency range when that one lies outside, and
    a peak inside the range that the larger λ merges into a peak outside it); and
    it must hold at least ``min_peak_fraction`` of R_pol. Each peak says whether it lies
    inside the measured frequency range (``in_window``) and whether it stands clear of
    the bootstrap band (``credible``). A
    finite-length Warburg gives a series of peaks, not one; R∞ is not the bulk
    resistance when the bulk arc lies above f_max (its truncated peak sits at the top
    of the τ grid).
    """
    where = spectrum.meta.get("source", "<spectrum>")
    if basis.lower().replace("_", " ") not in ("gaussian rbf", "gaussian"):
        raise SpectrumError(f"drt: unknown basis {basis!r}; expected one of {BASES}.")
    if lam is not None and not (np.isfinite(lam) and lam > 0):
        raise SpectrumError(f"drt: lam must be a positive number; found {lam!r}. Omit it to choose λ.")
    if not (0.0 <= min_peak_fraction < 1.0):
        raise SpectrumError(f"drt: min_peak_fraction must be in [0, 1); found {min_peak_fraction!r}.")
    if n_tau is not None and not (isinstance(n_tau, (int, np.integer)) and n_tau >= 3):
        raise SpectrumError(f"drt: n_tau must be an integer ≥ 3; found {n_tau!r}.")
    if not (isinstance(n_boot, (int, np.integer)) and n_boot >= 0):
        raise SpectrumError(f"drt: n_boot must be a non-negative integer; found {n_boot!r}.")
    freq = np.asarray(spectrum.freq, dtype=np.float64)
    z = np.asarray(spectrum.z, dtype=np.complex128)
    n = freq.size
    if n < 4 or np.unique(freq).size < 3:
        raise SpectrumError(
            f"{where}: a DRT needs at least 4 points at 3 or more distinct frequencies; found {n} "
            f"point(s) at {np.unique(freq).size} frequencies. Measure a wider frequency range."
        )
    mod = np.abs(z)
    if np.any(mod == 0):
        raise SpectrumError(
            f"{where}: |Z| = 0 at indices {np.flatnonzero(mod == 0)[:10].tolist()}; expected a "
            "non-zero impedance (rows are weighted by 1/|Z|). Drop those points."
        )

    system = _build_system(freq, z, n_tau, inductance, capacitance)
    A = np.vstack([system.A_re, system.A_im])
    b = np.concatenate([system.b_re, system.b_im])
    lam_at_edge = False
    lam_chosen = lam is None
    if lam is None:
        sy = system
        lam, lam_at_edge = _choose_lambda(sy.A_re, sy.A_im, sy.b_re, sy.b_im, sy.D, sy.n_tau)
        if not lam_at_edge:
            lam = _steer_to_apex(sy, A, b, freq, z, float(lam), min_peak_fraction)
        capped = _cap_by_discrepancy(A, b, sy.D, lam)
        lam, lam_at_edge = (capped, False) if capped < lam else (lam, lam_at_edge)
        if lam_at_edge and lam >= _LAMBDA_GRID[-1]:
            # re/im cross-validation prefers ever smoother γ: Z′ and Z″ disagree (not KK-consistent,
            # or nothing to resolve); generalised cross-validation of the joint fit decides instead
            lam, gcv_at_edge = _choose_lambda_gcv(sy.A_re, sy.A_im, sy.b_re, sy.b_im, sy.D)
            lam_at_edge = gcv_at_edge
    coef = _solve(A, b, system.D, float(lam))
    if lam_chosen:
        guarded = _lower_lambda_for_apexes(system, freq, z, coef, float(lam), min_peak_fraction)
        if guarded < lam:
            lam, lam_at_edge, coef = guarded, False, _solve(A, b, system.D, guarded)
    n_tau, z_scale, omega = system.n_tau, system.z_scale, 2.0 * np.pi * freq
    weights = coef[:n_tau] * z_scale
    R_inf = float(coef[n_tau] * z_scale)
    L = float(coef[n_tau + 1] * z_scale / omega.max()) if inductance else 0.0
    inv_C = float(coef[-1] * z_scale * omega.min()) if capacitance else 0.0
    z_model = R_inf + 1j * omega * L + inv_C / (1j * omega) + (system.k_re + 1j * system.k_im) @ weights
    z_fit = np.asarray(z_model, dtype=np.complex128)
    res = np.concatenate([(z - z_fit).real, (z - z_fit).imag]) / np.concatenate([mod, mod])

    log_tau, rbf, gamma, R_pol = _gamma_on_grid(system, weights)
    band = None
    if n_boot > 0:
        band = _bootstrap_band(A, b, system.D, float(lam), coef, rbf, n_boot, z_scale, z)
    f_range = (float(freq.min()), float(freq.max()))
    peaks = _listed_peaks(A, b, system, float(lam), log_tau, rbf, gamma, min_peak_fraction * R_pol, f_range)
    peaks = _flag_peaks(peaks, log_tau, gamma, band, f_range)
    return DRTResult(
        tau=np.exp(log_tau),
        gamma=gamma,
        R_inf=R_inf,
        L=L,
        lam=float(lam),
        peaks=peaks,
        z_fit=z_fit,
        residual_rms=float(np.sqrt(np.mean(res**2))),
        freq=freq,
        R_pol=R_pol,
        C=1.0 / inv_C if inv_C > 0 else np.inf,
        gamma_lo=None if band is None else band[0],
        gamma_hi=None if band is None else band[1],
        lam_at_edge=lam_at_edge,
    )


class _System(NamedTuple):
    """The weighted, dimensionless DRT least-squares problem of one spectrum."""

    A_re: FloatArray
    A_im: FloatArray
    b_re: FloatArray
    b_im: FloatArray
    D: FloatArray
    centres: FloatArray
    eps: float
    n_tau: int
    z_scale: float
    k_re: FloatArray
    k_im: FloatArray


def _build_system(
    freq: FloatArray, z: ComplexArray, n_tau: int | None, inductance: bool, capacitance: bool
) -> _System:
    """Design matrices (RBF kernels, R∞, L, 1/C), right-hand sides and penalty, rows weighted by 1/|Z|."""
    omega = 2.0 * np.pi * freq
    mod = np.abs(z)
    n = freq.size
    lt_lo = -np.log(omega.max()) - _EXTEND_DECADES * np.log(10.0)
    lt_hi = -np.log(omega.min()) + _EXTEND_DECADES * np.log(10.0)
    if n_tau is None:
        n_tau = int(np.ceil(_CENTRES_PER_DECADE * (lt_hi - lt_lo) / np.log(10.0))) + 1
    centres = np.linspace(lt_lo, lt_hi, n_tau)
    step = centres[1] - centres[0]
    eps = 2.0 * np.sqrt(np.log(2.0)) / (_FWHM_PER_STEP * step)
    x = np.log(omega)[:, None] + centres[None, :]
    k_re, k_im = _kernels(np.ascontiguousarray(x).tobytes(), x.shape, float(eps))
    # dimensionless unknowns: RBF weights and R∞ in units of the median |Z|, L in units of it / ω_max
    z_scale = float(np.median(mod))
    w = z_scale / mod
    cols_re = [k_re * w[:, None], w[:, None]]
    cols_im = [k_im * w[:, None], np.zeros((n, 1))]
    if inductance:
        cols_re.append(np.zeros((n, 1)))
        cols_im.append((omega / omega.max() * w)[:, None])
    if capacitance:  # 1/(jωC) = −j/(ωC); unknown 1/(C ω_min) in units of the median |Z|
        cols_re.append(np.zeros((n, 1)))
        cols_im.append((-omega.min() / omega * w)[:, None])
    A_re = np.hstack(cols_re)
    A_im = np.hstack(cols_im)
    n_extra = A_re.shape[1] - n_tau
    # penalty on γ″ at the centres, scaled so that λ does not depend on the grid density
    D = _rbf_d2(centres[:, None] - centres[None, :], eps) * np.sqrt(step) / eps**2
    D = np.hstack([D, np.zeros((n_tau, n_extra))])
    return _System(A_re, A_im, z.real / mod, z.imag / mod, D, centres, float(eps), n_tau, z_scale, k_re, k_im)


def _listed_peaks(
    A: FloatArray,
    b: FloatArray,
    system: _System,
    lam: float,
    log_tau: FloatArray,
    rbf: FloatArray,
    gamma: FloatArray,
    min_area: float,
    f_range: tuple[float, float],
) -> tuple[DRTPeak, ...]:
    """Peaks of γ that survive ten times stronger smoothing; the largest ones are always kept.

    A real relaxation survives ten times stronger smoothing, ripples between the heavy
    tails of depressed arcs do not (eis-science §5.2: "survive over 1–2 decades of λ").
    The peak holding the largest share of R_pol is never dropped by this test: smoothing
    can merge or shift it, but it is the spectrum's main relaxation. When that peak lies
    outside the measured range ``f_range`` (Hz), the largest peak inside it is kept too:
    it is the main relaxation the data actually resolve (smoothing merges it into the
    larger out-of-window one, which is what the test would otherwise read as a ripple). For
    the same reason any peak inside the range whose nearest peak at ten times the λ lies
    outside it is kept: it was merged into an extrapolated arc, not smoothed away.
    """
    peaks = _find_peaks(log_tau, gamma, min_area)
    if len(peaks) <= 1:
        return peaks
    coef_smooth = _solve(A, b, system.D, 10.0 * lam)
    gamma_smooth = np.clip(rbf @ coef_smooth[: system.n_tau], 0.0, None) * system.z_scale
    smooth_peaks = _find_peaks(log_tau, gamma_smooth, 0.5 * min_area)
    kept = [max(peaks, key=lambda p: p.R)]
    inside = [p for p in peaks if f_range[0] <= p.f <= f_range[1]]
    if inside:
        kept.append(max(inside, key=lambda p: p.R))

    def survives(p: DRTPeak) -> bool:
        return any(abs(np.log10(p.tau / q.tau)) <= _SURVIVAL_DECADES for q in smooth_peaks)

    def merged_beyond_the_window(p: DRTPeak) -> bool:
        # smoothing moved an in-window peak into an extrapolated arc beyond the window (on the
        # wider τ grid such an arc is free to broaden over it): a merge, not a ripple that vanished
        if p not in inside or not smooth_peaks:
            return False
        nearest = min(smooth_peaks, key=lambda q: abs(np.log(q.tau / p.tau)))
        return not f_range[0] <= nearest.f <= f_range[1]

    return tuple(p for p in peaks if p in kept or survives(p) or merged_beyond_the_window(p))


def _bootstrap_band(
    A: FloatArray,
    b: FloatArray,
    D: FloatArray,
    lam: float,
    coef: FloatArray,
    rbf: FloatArray,
    n_boot: int,
    z_scale: float,
    z: ComplexArray,
) -> tuple[FloatArray, FloatArray]:
    """5th and 95th percentiles of γ (Ω) over residual-bootstrap resamples.

    The residuals of the real and of the imaginary rows are resampled (with replacement,
    each part separately) and added to the fitted values; each resample is solved on the
    active set of the fit (the columns with non-zero weight), where the regularised
    problem is linear, and clipped at γ ≥ 0. The generator is seeded from the data, so a
    spectrum always gets the same band.
    """
    n = b.size // 2
    active = coef > 0
    n_tau = rbf.shape[1]
    if not np.any(active[:n_tau]):
        zero = np.zeros(rbf.shape[0])
        return zero, zero
    aug = np.vstack([A[:, active], np.sqrt(lam) * D[:, active]])
    # least-squares map from the data rows to the active coefficients (the penalty rows have a
    # zero right-hand side), from the k × k normal equations
    gram = aug.T @ aug
    gram[np.diag_indices_from(gram)] *= 1.0 + 1e-12
    proj = np.linalg.solve(gram, A[:, active].T)
    fitted = A @ coef
    resid = b - fitted
    seed = zlib.crc32(np.ascontiguousarray(z).tobytes())
    rng = np.random.default_rng(seed)
    picks = np.concatenate([rng.integers(0, n, (n_boot, n)), n + rng.integers(0, n, (n_boot, n))], axis=1)
    samples = fitted[None, :] + resid[picks]  # n_boot × 2n
    coefs = np.zeros((n_boot, coef.size))
    coefs[:, active] = samples @ proj.T
    gammas = np.clip(coefs[:, :n_tau] @ rbf.T, 0.0, None) * z_scale
    lo, hi = np.percentile(gammas, [5.0, 95.0], axis=0)
    return lo, hi


def _flag_peaks(
    peaks: tuple[DRTPeak, ...],
    log_tau: FloatArray,
    gamma: FloatArray,
    band: tuple[FloatArray, FloatArray] | None,
    f_range: tuple[float, float],
) -> tuple[DRTPeak, ...]:
    """Set ``in_window`` (f within the measured range) and ``credible`` (band clear of the valleys)."""
    segments = _segments(gamma)
    out = []
    for p in peaks:
        in_window = f_range[0] <= p.f <= f_range[1]
        credible = True
        if band is not None and segments:
            top = int(np.argmin(np.abs(log_tau - np.log(p.tau))))
            left, _, right = min(segments, key=lambda s: abs(s[1] - top))
            valley_hi = max(band[1][left] if left != top else 0.0, band[1][right] if right != top else 0.0)
            credible = bool(band[0][top] > valley_hi)
        out.append(p._replace(in_window=bool(in_window), credible=credible))
    return tuple(out)


def _solve(
    A: FloatArray, b: FloatArray, D: FloatArray, lam: float, keep: npt.NDArray[np.bool_] | None = None
) -> FloatArray:
    """NNLS on the augmented system [A; √λ D] x = [b; 0], optionally on a subset of columns."""
    if keep is not None:
        A, D = A[:, keep], D[:, keep]
    coef = _nnls(np.vstack([A, np.sqrt(lam) * D]), np.concatenate([b, np.zeros(D.shape[0])]))
    if keep is None:
        return coef
    full = np.zeros(keep.size)
    full[keep] = coef
    return full


def _refit_columns(pred: FloatArray, cols: FloatArray, b: FloatArray) -> FloatArray:
    """Add the non-negative least-squares combination of a few columns to a prediction."""
    if cols.shape[1] == 0:
        return pred
    return pred + cols @ _nnls(cols, b - pred)


def _cv_error_function(
    A_re: FloatArray, A_im: FloatArray, b_re: FloatArray, b_im: FloatArray, D: FloatArray, n_tau: int
) -> Callable[[float], float]:
    """λ ↦ real/imaginary cross-prediction error (sum of squares over both parts).

    γ fitted to Z′ predicts Z″ (with L and C refitted, since Z′ carries no information
    on them) and γ fitted to Z″ predicts Z′ (with R∞ refitted, for the same reason).
    """
    im_only = np.zeros(A_re.shape[1], dtype=bool)
    im_only[n_tau + 1 :] = True  # L and 1/C are invisible in Z′
    keep_im = np.ones(A_re.shape[1], dtype=bool)
    keep_im[n_tau] = False  # R∞ is invisible in Z″

    def cv_error(lam: float) -> float:
        c_re = _solve(A_re, b_re, D, lam, ~im_only)
        c_im = _solve(A_im, b_im, D, lam, keep_im)
        pred_im = _refit_columns(A_im @ c_re, A_im[:, im_only], b_im)
        pred_re = _refit_columns(A_re @ c_im, A_re[:, [n_tau]], b_re)
        return float(np.sum((pred_im - b_im) ** 2) + np.sum((pred_re - b_re) ** 2))

    return cv_error


def _choose_lambda(
    A_re: FloatArray,
    A_im: FloatArray,
    b_re: FloatArray,
    b_im: FloatArray,
    D: FloatArray,
    n_tau: int,
) -> tuple[float, bool]:
    """Real/imaginary cross-validation: pick the λ that minimises the cross-prediction error,
    and say whether it sits at an end of the (extended) λ grid.

    γ fitted to Z′ predicts Z″ (with L and C refitted, since Z′ carries no information
    on them) and γ fitted to Z″ predicts Z′ (with R∞ refitted, for the same reason).
    """
    cv_error = _cv_error_function(A_re, A_im, b_re, b_im, D, n_tau)

    # The error is flat over decades of small λ, where spurious split peaks appear; like the
    # one-standard-error rule, take the largest λ whose error is within 10 % of the minimum
    # (plus a floor of 0.05 % of |Z| per point, below which no instrument is accurate).
    # Decade steps first, extended by up to two decades when the choice is at an end of the
    # grid, then the half-decade step above the choice.
    errors = {float(lam): cv_error(float(lam)) for lam in _LAMBDA_GRID}
    floor = _CV_FLOOR**2 * (b_re.size + b_im.size)

    def pick() -> float:
        return max(lam for lam, e in errors.items() if e <= 1.1 * min(errors.values()) + floor)

    best = pick()
    for _ in range(_LAMBDA_EXTRA_DECADES):
        if best == max(errors):
            errors[10.0 * best] = cv_error(10.0 * best)
        elif best == min(errors):
            errors[0.1 * best] = cv_error(0.1 * best)
        else:
            break
        best = pick()
    at_edge = best in (max(errors), min(errors))
    if best < max(errors):
        half = best * np.sqrt(10.0)
        errors[half] = cv_error(half)
        best = pick()
    return best, at_edge


def _rss_and_trace(A: FloatArray, b: FloatArray, D: FloatArray, lam: float) -> tuple[float, float]:
    """Residual sum of squares of the regularised non-negative fit and the trace of its influence
    matrix on the active set (where the problem is linear)."""
    coef = _solve(A, b, D, lam)
    active = coef > 0
    resid = A @ coef - b
    if not np.any(active):
        return float(resid @ resid), 0.0
    A_a, D_a = A[:, active], D[:, active]
    gram = A_a.T @ A_a
    system = gram + lam * (D_a.T @ D_a)
    system[np.diag_indices_from(system)] *= 1.0 + 1e-12
    return float(resid @ resid), float(np.trace(np.linalg.solve(system, gram)))


def _cap_by_discrepancy(A: FloatArray, b: FloatArray, D: FloatArray, lam: float) -> float:
    """The largest λ ≤ ``lam`` (half-decade steps) whose residual norm stays within
    :data:`_DISCREPANCY_FACTOR` of the noise (Morozov's discrepancy principle).

    The noise is estimated from the least-regularised fit (λ = 10⁻⁷) as
    σ̂² = ‖r‖² / (n − tr H). Cross-validation on few or noisy points can settle on a λ
    whose fit misses the data by many times that (two arcs merged into one): such a λ is
    lowered until ‖r(λ)‖² ≤ factor² · n · σ̂².
    """
    lam_min = float(_LAMBDA_GRID[0])
    if lam <= lam_min:
        return lam
    rss0, trace0 = _rss_and_trace(A, b, D, lam_min)
    limit = _DISCREPANCY_FACTOR**2 * b.size * rss0 / max(b.size - trace0, 1.0)

    def rss(lam: float) -> float:
        resid = A @ _solve(A, b, D, lam) - b
        return float(resid @ resid)

    while lam > lam_min * 1.01 and rss(lam) > limit:
        lam = max(lam / np.sqrt(10.0), lam_min)
    return lam


def _apex_frequencies(freq: FloatArray, z: ComplexArray, noise: float) -> list[float]:
    """Frequencies (Hz) of the prominent local maxima of −Z″ over log f.

    A maximum counts when, on each side that reaches a higher point, −Z″ first drops by at
    least :data:`_APEX_PROMINENCE` of its height and by :data:`_APEX_NOISE_SIGMAS` × ``noise``
    × |Z| (``noise``: relative noise level, a fraction of |Z|), so that ripples of the scatter
    do not count. The apex of an isolated arc is its DRT peak (f0 = 1/(2πτ)); a neighbouring
    arc shifts it.
    """
    order = np.argsort(freq)
    y = -z.imag[order]
    min_drop = np.maximum(_APEX_PROMINENCE * y, _APEX_NOISE_SIGMAS * noise * np.abs(z[order]))
    out = []
    for i in range(1, y.size - 1):
        if not (y[i] > 0 and y[i] >= y[i - 1] and y[i] >= y[i + 1]):
            continue
        drops = []
        for step in (-1, 1):
            j, low = i + step, y[i]
            while 0 <= j < y.size and y[j] <= y[i]:
                low, j = min(low, y[j]), j + step
            drops.append(y[i] - low if 0 <= j < y.size else np.inf)
        if min(drops) >= min_drop[i]:
            out.append(float(freq[order][i]))
    return out


def _gamma_on_grid(system: _System, weights: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    """γ of RBF ``weights`` on a grid four times finer than the centres (for plots and peak
    areas): the grid (ln τ), the basis on it, γ (clipped at 0) and R_pol (its area)."""
    log_tau = np.linspace(system.centres[0], system.centres[-1], 4 * (system.n_tau - 1) + 1)
    rbf = _rbf(log_tau[:, None] - system.centres[None, :], system.eps)
    gamma = np.clip(rbf @ weights, 0.0, None)
    return log_tau, rbf, gamma, float(np.sum(weights) * np.sqrt(np.pi) / system.eps)


def _window_peaks(
    system: _System, weights: FloatArray, min_peak_fraction: float, f_range: tuple[float, float]
) -> list[DRTPeak]:
    """The γ peaks of RBF ``weights`` holding at least ``min_peak_fraction`` of R_pol inside the
    window ``f_range`` (Hz)."""
    log_tau, _, gamma, R_pol = _gamma_on_grid(system, weights)
    peaks = _find_peaks(log_tau, gamma, min_peak_fraction * R_pol)
    return [p for p in peaks if f_range[0] <= p.f <= f_range[1]]


def _apexes_matched(
    system: _System,
    coef: FloatArray,
    apexes: list[float],
    min_peak_fraction: float,
    f_range: tuple[float, float],
) -> int:
    """How many of the −Z″ apexes (Hz) have a peak of the fit ``coef``'s γ inside the window
    ``f_range`` (Hz) within :data:`_APEX_FACTOR` of them (a peak outside the window is an arc
    merged into one beyond it)."""
    weights = coef[: system.n_tau] * system.z_scale
    peaks = [p.f for p in _window_peaks(system, weights, min_peak_fraction, f_range)]
    return sum(any(abs(np.log(f / a)) <= np.log(_APEX_FACTOR) for f in peaks) for a in apexes)


def _lower_lambda_for_apexes(
    system: _System, freq: FloatArray, z: ComplexArray, coef: FloatArray, lam: float, min_peak_fraction: float
) -> float:
    """The largest λ ≤ ``lam`` (decade steps) at which γ has a peak near as many of the
    measured −Z″ apexes as any λ down to the bottom of the grid (``lam`` itself when no smaller
    λ does better).

    An apex inside the window is a model-free sign of a relaxation there. Cross-validation
    can prefer a λ that merges it into a larger neighbour (on spectra where Z′ and Z″ disagree,
    such as ``vsp_peis_with``, whose 0.2 Hz arc vanished into the relaxation below the window at
    λ = 10); the λ is then lowered until the arc has its peak again. An apex no λ reproduces (a
    shoulder, an arc overlapping a larger one) leaves λ unchanged.
    """
    candidates = _apex_frequencies(freq, z, 0.0)  # before the noise test, which can only remove apexes
    if not candidates:
        return lam
    A = np.vstack([system.A_re, system.A_im])
    b = np.concatenate([system.b_re, system.b_im])
    f_range = (float(freq.min()), float(freq.max()))
    if _apexes_matched(system, coef, candidates, min_peak_fraction, f_range) == len(candidates):
        return lam
    rss0, trace0 = _rss_and_trace(A, b, system.D, float(_LAMBDA_GRID[0]))
    apexes = _apex_frequencies(freq, z, float(np.sqrt(rss0 / max(b.size - trace0, 1.0))))
    if not apexes:
        return lam
    best_count = _apexes_matched(system, coef, apexes, min_peak_fraction, f_range)
    best, trial, lam_min = lam, lam, float(_LAMBDA_GRID[0])
    while best_count < len(apexes) and trial > lam_min * 1.01:
        trial = max(trial / 10.0, lam_min)
        count = _apexes_matched(system, _solve(A, b, system.D, trial), apexes, min_peak_fraction, f_range)
        if count > best_count:
            best, best_count = trial, count
    return best


def _significant_apexes(freq: FloatArray, z: ComplexArray) -> list[float]:
    """Frequencies (Hz) of the maxima of −Z″ that stand out from the local scatter.

    Around each local maximum of −Z″, the points within :data:`_STEER_HALF_DECADES` of it
    (at least five) are fitted by a quadratic in log10 f. The maximum counts when the
    curvature is negative at the one-sided t level :data:`_STEER_LEVEL` (t-distribution with
    k − 3 degrees of freedom, the scatter taken from the quadratic's own residuals, at least
    0.1 % of the apex height) and the vertex lies inside the fitted points; the vertex is the
    apex. Unlike :func:`_apex_frequencies` it needs no noise estimate from a DRT fit, which on
    a spectrum that fails KK measures the misfit of a few points, not the scatter near the apex,
    and a single point standing one noise width above its neighbours is no apex.
    """
    from scipy.special import stdtrit

    order = np.argsort(freq)
    y = -z.imag[order]
    x = np.log10(freq[order])
    out = []
    for i in range(1, y.size - 1):
        if not (y[i] > 0 and y[i] >= y[i - 1] and y[i] >= y[i + 1]):
            continue
        near = np.abs(x - x[i]) <= _STEER_HALF_DECADES + 1e-9
        k = int(near.sum())
        if k < 5 or np.unique(x[near]).size < 3:  # repeated frequencies: no curvature to test
            continue
        u = x[near] - x[i]
        V = np.column_stack([np.ones_like(u), u, u * u])
        coef = np.linalg.lstsq(V, y[near], rcond=None)[0]
        r = y[near] - V @ coef
        s2 = max(float(r @ r) / (k - 3), (1e-3 * y[i]) ** 2)
        var_c = s2 * float(np.linalg.inv(V.T @ V)[2, 2])
        _, b, c = coef
        if c >= 0 or -c / np.sqrt(var_c) < stdtrit(k - 3, _STEER_LEVEL):
            continue
        vertex = -b / (2.0 * c)
        if u.min() < vertex < u.max():
            out.append(float(10.0 ** (x[i] + vertex)))
    return out


def _dominant_in_window(
    system: _System, coef: FloatArray, min_peak_fraction: float, f_range: tuple[float, float]
) -> float | None:
    """Frequency (Hz) of the γ peak of ``coef`` with the largest area inside ``f_range`` (Hz)."""
    inside = _window_peaks(system, coef[: system.n_tau], min_peak_fraction, f_range)
    return max(inside, key=lambda p: p.R).f if inside else None


def _steer_to_apex(
    system: _System,
    A: FloatArray,
    b: FloatArray,
    freq: FloatArray,
    z: ComplexArray,
    lam: float,
    min_peak_fraction: float,
) -> float:
    """Among the λ that re/im cross-validation cannot tell apart, the one whose dominant peak
    inside the window lies nearest a significant −Z″ apex.

    On few noisy points the cross-validation error is flat over decades of λ, and the chosen
    end of the "within 10 %" band decides where a broad peak sits (it drifts with λ). The
    error is a sum of 2n squared prediction errors, so its own relative spread is about
    √(2/2n); λ on the half-decade grid 10⁻⁷ … 10¹ whose error lies within that spread of the
    smallest are equally supported by the data. When −Z″ has an apex that stands out from its
    local scatter (:func:`_significant_apexes`) and one of those λ brings the dominant in-window
    peak at least half a centre spacing closer to it, that λ wins (the one nearest the apex,
    the larger on ties); otherwise ``lam`` is kept. The discrepancy cap and the apex guard
    still apply afterwards. ``A``, ``b``: the stacked real/imaginary system of ``system``.
    """
    f_range = (float(freq.min()), float(freq.max()))
    apexes = [f for f in _significant_apexes(freq, z) if f_range[0] <= f <= f_range[1]]
    if not apexes:
        return lam

    def distance(trial: float) -> float:
        f = _dominant_in_window(system, _solve(A, b, system.D, trial), min_peak_fraction, f_range)
        return np.inf if f is None else min(abs(float(np.log10(f / a))) for a in apexes)

    d0 = distance(lam)
    if d0 < _STEER_GAIN_DECADES:  # nothing can gain enough: skip the scan
        return lam
    grid = [float(v) for v in np.logspace(-7.0, 1.0, 17)]
    closer = {trial: d for trial in grid if (d := distance(trial)) < np.inf and d <= d0 - _STEER_GAIN_DECADES}
    if not closer:
        return lam
    cv_error = _cv_error_function(system.A_re, system.A_im, system.b_re, system.b_im, system.D, system.n_tau)
    errors = {trial: cv_error(trial) for trial in grid}
    errors.setdefault(lam, cv_error(lam))
    rows = b.size
    limit = min(errors.values()) * (1.0 + np.sqrt(2.0 / rows)) + _CV_FLOOR**2 * rows
    supported = [trial for trial in closer if errors[trial] <= limit]
    if not supported:
        return lam
    return min(supported, key=lambda trial: (closer[trial], -trial))


def _choose_lambda_gcv(
    A_re: FloatArray,
    A_im: FloatArray,
    b_re: FloatArray,
    b_im: FloatArray,
    D: FloatArray,
) -> tuple[float, bool]:
    """Generalised cross-validation: the fallback when real/imaginary cross-validation runs
    to the top of its grid (a spectrum that is not KK-consistent), and whether it sits at an
    end of the (extended) λ grid.

    GCV(λ) = N‖r‖² / (N − tr H)² (Wahba 1990; Golub, Heath and Wahba 1979; used for DRTs by
    Wan et al. 2015 and Maradesa et al. 2023), with the residual r of the combined Z′ and Z″
    fit and H the influence matrix of the regularised problem on the active set of the
    non-negative solution (where it is linear). Decade steps first, extended by up to two
    decades when the minimum is at an end of the grid, then the half decades either side.
    """
    A = np.vstack([A_re, A_im])
    b = np.concatenate([b_re, b_im])
    n = b.size

    def gcv(lam: float) -> float:
        rss, trace = _rss_and_trace(A, b, D, lam)
        return float(n * rss / max(n - trace, 1.0) ** 2)

    scores = {float(lam): gcv(float(lam)) for lam in _LAMBDA_GRID}

    def pick() -> float:
        return max(lam for lam, v in scores.items() if v <= _GCV_TOLERANCE * min(scores.values()))

    best = pick()
    for _ in range(_LAMBDA_EXTRA_DECADES):
        if best == max(scores):
            scores[10.0 * best] = gcv(10.0 * best)
        elif best == min(scores):
            scores[0.1 * best] = gcv(0.1 * best)
        else:
            break
        best = pick()
    at_edge = best in (max(scores), min(scores))
    for half in (best / np.sqrt(10.0), best * np.sqrt(10.0)):
        if min(scores) < half < max(scores):
            scores[float(half)] = gcv(float(half))
    return pick(), at_edge
