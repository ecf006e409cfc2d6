"""Automatic start values from the data: HF intercept, inductance, arc apexes (a quick DRT).

1. **Blocking spike.** If the circuit ends in a CPE (blocking electrode), R + 1/(Q (jω)^n) is
   fitted to the lowest decade of frequencies and the CPE is subtracted from the data.
2. **DRT sketch.** The (remaining) spectrum is described by a series inductance L, an
   intercept R_inf, a series capacitance and a distribution of RC (Voigt) elements on a
   log-spaced τ grid extending 1.5 decades beyond the window, all non-negative: one
   regularised NNLS solve weighted by 1/|Z| (about 1 ms for 80 points). Local maxima of the
   distribution are the peaks: each gives an apex τ and the resistance under it.
3. **Assignment.** The circuit's top-level series items are classified (inductor, series
   resistor, R‖C / R‖CPE / Zarc / K / HN / Gerischer arc, blocking C/CPE, Warburg or TLMQ) and
   the peaks are mapped onto the arcs in frequency order (circuit strings list elements from high to low
   frequency). The lowest peak is the finite Warburg's (τ_W = π²τ/4), with variants. Arcs
   left without a peak go above the window (e.g. an NAS bulk arc) or sit small between their
   neighbours; order-preserving assignments are pre-ranked by how prominent the peaks they
   leave out are (R relative to |Z| there).
4. **Linear solve.** With every τ fixed, each arc's impedance is linear in R (and a CPE spike
   in 1/Q), so one NNLS solve gives all resistances, L and 1/Q of a candidate; each arc gets
   columns for n = 0.7…1.0 at its τ, whose NNLS weights also estimate n. The candidates are
   ranked by that solve's residual; the fit engine solves the best and, when needed, the next.
5. **Transmission line T.** Linear in A and B at fixed (a, b): each candidate is repeated over
   a grid of (a, b) from the window, ranked the same way; for the best values of a, b/a is
   moved onto the narrow valley floor by a fine scan and the two best are refined by
   Nelder–Mead on (log a, log b/a), every linear coefficient solved by NNLS at each point.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..circuit.library import CircuitDefinition
from ..circuit.parser import Node

__all__ = ["Candidates", "SpectrumSketch", "sketch", "start_candidates"]

_ARC_C = {"C", "CPE"}
_DIFFUSION = {"Ws", "Wo", "W"}


@dataclass(frozen=True)
class SpectrumSketch:
    """Coarse description of a spectrum used to build start values."""

    R_inf: float  # Ω, high-frequency intercept (without L)
    L: float  # H
    inv_C: float  # 1/F, series (blocking) capacitance term
    peaks: tuple[tuple[float, float], ...]  # (tau in s, R in Ω), sorted by tau ascending
    rms: float  # relative rms misfit of the sketch (a noise floor estimate)
    tau_min: float  # 1/(2π fmax)
    tau_max: float  # 1/(2π fmin)


@functools.lru_cache(maxsize=16)
def _sketch_basis(freq_bytes: bytes, per_decade: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """τ grid, unweighted design matrix and smoothing matrix of :func:`sketch` for one frequency
    grid (cached: a batch fits many spectra on the same grid)."""
    freq = np.frombuffer(freq_bytes, dtype=float)
    omega = 2 * np.pi * freq
    tau_min, tau_max = 1 / omega.max(), 1 / omega.min()
    n_tau = int(np.ceil(np.log10(tau_max / tau_min) + 3)) * per_decade
    tau = np.logspace(np.log10(tau_min) - 1.5, np.log10(tau_max) + 1.5, n_tau)
    wt = omega[:, None] * tau[None, :]
    # columns: gamma(tau) | R_inf | L ω_max | 1/(C ω_min), each O(1) in units of the scale
    zeros = np.zeros((freq.size, 1))
    a_re = np.hstack([1 / (1 + wt**2), np.ones((freq.size, 1)), zeros, zeros])
    col_l, col_c = (omega / omega.max())[:, None], (-omega.min() / omega)[:, None]
    a_im = np.hstack([-wt / (1 + wt**2), zeros, col_l, col_c])
    # second-difference smoothing on gamma only
    d2 = np.zeros((n_tau - 2, n_tau + 3))
    for i in range(n_tau - 2):
        d2[i, i : i + 3] = (1.0, -2.0, 1.0)
    for arr in (tau, d2):
        arr.flags.writeable = False
    a = np.vstack([a_re, a_im])
    a.flags.writeable = False
    return tau, a, d2


def sketch(
    freq: np.ndarray, z: np.ndarray, per_decade: int = 5, lam: float = 0.1, z_weight: np.ndarray | None = None
) -> SpectrumSketch:
    """Regularised NNLS Voigt description of a spectrum (see module docstring).

    ``z_weight`` (default ``z``) sets the modulus weights 1/|z_weight|. The last few results are
    kept (keyed on the data's bytes): a series fits each spectrum two or three times (full
    circuit, baseline, reseeds), and every fit asks for the same sketch.
    """
    zw = z if z_weight is None else z_weight
    key = (
        np.ascontiguousarray(freq, dtype=float).tobytes(),
        np.ascontiguousarray(z, dtype=complex).tobytes(),
        np.ascontiguousarray(zw, dtype=complex).tobytes(),
        per_decade,
        lam,
    )
    hit = _SKETCHES.get(key)
    if hit is None:
        hit = _sketch(freq, z, per_decade, lam, z_weight)
        with _SKETCH_LOCK:
            if len(_SKETCHES) >= 8:
                _SKETCHES.pop(next(iter(_SKETCHES)))
            _SKETCHES[key] = hit
    return hit


_SKETCHES: dict[tuple, SpectrumSketch] = {}
_SKETCH_LOCK = threading.Lock()


@functools.cache
def _raw_nnls() -> Callable | None:
    """SciPy's compiled NNLS solver behind ``scipy.optimize.nnls`` (a private binding; None when
    it moved)."""
    try:
        from scipy.optimize._slsqplib import nnls as raw
    except ImportError:
        return None
    return raw


def _nnls(a: np.ndarray, b: np.ndarray, maxiter: int) -> tuple[np.ndarray, float]:
    """``scipy.optimize.nnls(a, b, maxiter=maxiter)`` without its argument handling (its
    deprecation wrapper and checks cost ~10 µs of a ~40 µs solve here): the same compiled
    solver on the same C-ordered float64 arrays, so the same result bit for bit."""
    raw = _raw_nnls()
    if raw is None:
        from scipy.optimize import nnls

        return nnls(a, b, maxiter=maxiter)
    a = np.ascontiguousarray(a, dtype=float)
    b = np.ascontiguousarray(b, dtype=float)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):  # (as nnls' asarray_chkfinite)
        raise ValueError("array must not contain infs or NaNs")
    x, rnorm, info = raw(a, b, maxiter)
    if info == 3:
        raise RuntimeError("Maximum number of iterations reached.")
    return x, rnorm


def _sketch(
    freq: np.ndarray, z: np.ndarray, per_decade: int, lam: float, z_weight: np.ndarray | None
) -> SpectrumSketch:
    omega = 2 * np.pi * freq
    tau_min, tau_max = 1 / omega.max(), 1 / omega.min()
    tau, a_plain, d2 = _sketch_basis(np.ascontiguousarray(freq, dtype=float).tobytes(), per_decade)
    n_tau = tau.size
    zw = np.abs(z if z_weight is None else z_weight)
    scale = float(zw.max())
    w = scale / zw  # modulus weights; unknowns are in units of `scale` (max |Z|)
    # the weighted design matrix and the smoothing rows, written into one array (as vstack)
    m2 = a_plain.shape[0]
    a_all = np.empty((m2 + d2.shape[0], a_plain.shape[1]))
    a = a_all[:m2]
    np.multiply(a_plain, np.concatenate([w, w])[:, None], out=a)
    np.multiply(lam, d2, out=a_all[m2:])
    b_all = np.zeros(m2 + n_tau - 2)
    b = b_all[:m2]
    np.divide(np.concatenate([z.real * w, z.imag * w]), scale, out=b)
    x, _ = _nnls(a_all, b_all, maxiter=20 * (n_tau + 3))
    rms = float(np.sqrt(np.mean((a @ x - b) ** 2)))
    x = x * scale
    gamma, r_inf = x[:n_tau], x[n_tau]
    l_val, inv_c = x[n_tau + 1] / omega.max(), x[n_tau + 2] * omega.min()
    # peak threshold relative to what lies inside the window (a blocking spike puts huge
    # resistances beyond the low-frequency edge)
    total = gamma[tau <= tau_max].sum() + r_inf
    peaks: list[tuple[float, float]] = []
    if total > 0:
        # split gamma at local minima; a peak is a local maximum holding > 0.3 % of the total
        gl = gamma.tolist()  # (Python floats: the same comparisons, without numpy scalars)
        maxima = [
            i
            for i in range(n_tau)
            if gl[i] > 0 and (i == 0 or gl[i] >= gl[i - 1]) and (i == n_tau - 1 or gl[i] > gl[i + 1])
        ]
        bounds = [0]
        for m0, m1 in itertools.pairwise(maxima):
            bounds.append(m0 + int(np.argmin(gamma[m0 : m1 + 1])))
        bounds.append(n_tau)
        for lo, hi in itertools.pairwise(bounds):
            g = gamma[lo:hi]
            R = float(g.sum())
            if 1e-5 * total < R:  # callers filter by relevance
                t = float(np.exp(np.sum(g * np.log(tau[lo:hi])) / R))
                peaks.append((t, R))
    return SpectrumSketch(float(r_inf), float(l_val), float(inv_c), tuple(peaks), rms, tau_min, tau_max)


# --- structure of the circuit --------------------------------------------------------------
@dataclass(frozen=True)
class _Item:
    kind: str  # "L", "R", "arc", "spike", "diffusion", "tline", "other"
    params: dict  # role of the item's parameters -> index into values


def _items(defn: CircuitDefinition) -> list[_Item]:
    """The circuit's top-level series items, classified (read-only; cached per circuit)."""
    return list(_circuit_items(defn.circuit))


def capacitive_arcs(defn: CircuitDefinition) -> list[dict[str, int]]:
    """Parameter indices of the circuit's R‖C and R‖CPE arcs (those not written with a τ): the
    arcs whose capacitance sets their apex, 1/(2πτ) with τ from :func:`arc_tau`."""
    return [
        it.params
        for it in _items(defn)
        if it.kind == "arc" and "tau" not in it.params and ("C" in it.params or "Q" in it.params)
    ]


def arc_tau(values: np.ndarray, p: Mapping[str, int]) -> float:
    """Time constant (s) of an arc of :func:`capacitive_arcs`: R·C, or (R·Q)^(1/n) of a CPE."""
    if "C" in p:
        return values[p["R"]] * values[p["C"]]
    return (values[p["R"]] * values[p["Q"]]) ** (1.0 / values[p["n"]])


@functools.lru_cache(maxsize=64)
def _circuit_items(circuit) -> tuple[_Item, ...]:
    tree = circuit.tree
    nodes = list(tree.children) if tree.kind == "series" else [tree]
    return tuple(_classify(node, circuit) for node in nodes)


def _classify(node: Node, circuit) -> _Item:
    if node.kind == "element":
        inst = circuit.element(node.element)
        sym, idx = inst.symbol, inst.index
        if sym in ("L", "La"):
            return _Item("L", {"L": idx[0]})
        if sym == "R":
            return _Item("R", {"R": idx[0]})
        if sym == "C":
            return _Item("spike", {"C": idx[0]})
        if sym == "CPE":
            return _Item("spike", {"Q": idx[0], "n": idx[1]})
        if sym in _DIFFUSION and len(idx) == 2:
            return _Item("diffusion", {"R": idx[0], "tau": idx[1], "sym": sym})
        if sym == "TLMQ":  # (R/y) coth y, y = (sτ)^(n/2), τ = (R Q)^(1/n): an anomalous Wo
            return _Item("diffusion", {"R": idx[0], "Q": idx[1], "n": idx[2], "sym": sym})
        if sym == "T":  # linear in A and B at fixed (a, b): started from a grid of (a, b)
            return _Item("tline", {"A": idx[0], "B": idx[1], "a": idx[2], "b": idx[3], "sym": sym})
        if sym in ("G", "Gs"):  # Gerischer arcs: linear in R at fixed τ (and φ), apex near τ
            p = {"R": idx[0], "tau": idx[1], "sym": sym}
            if sym == "Gs":
                p["phi"] = idx[2]
            return _Item("arc", p)
        if sym in ("K", "Zarc", "HN"):
            p = {"R": idx[0], "tau": idx[1]}
            if sym in ("Zarc", "HN"):
                p["n"] = idx[2]
            if sym == "HN":  # started as the Zarc it is at β = 1 (R, τ, α from the sketch)
                p["beta"] = idx[3]
            return _Item("arc", p)
    pair = node.kind == "parallel" and len(node.children) == 2
    if pair and all(c.kind == "element" for c in node.children):
        a, b = (circuit.element(c.element) for c in node.children)
        if b.symbol == "R":
            a, b = b, a
        if a.symbol == "R" and b.symbol in _ARC_C:
            p = {"R": a.index[0]}
            if b.symbol == "C":
                p["C"] = b.index[0]
            else:
                p["Q"], p["n"] = b.index
            return _Item("arc", p)
    return _Item("other", {})


def _basis(item: _Item, s: np.ndarray, tau: float, values: np.ndarray) -> np.ndarray | None:
    """Impedance of the item per unit of its linear coefficient (R, L or 1/Q) at fixed tau and n."""
    p = item.params
    if item.kind == "L":
        return s
    if item.kind == "R":
        return np.ones_like(s)
    if item.kind == "arc":
        if p.get("sym") == "G":
            return 1.0 / np.sqrt(1.0 + s * tau)
        if p.get("sym") == "Gs":
            x = np.sqrt(1.0 + s * tau)
            return 1.0 / (x * np.tanh(values[p["phi"]] * x))
        n = values[p["n"]] if "n" in p else 1.0
        return 1.0 / (1.0 + (s * tau) ** n)
    if item.kind == "diffusion":
        x = np.sqrt(s * tau)
        if p["sym"] == "Ws":
            return np.tanh(x) / x
        if p["sym"] == "Wo":
            return 1.0 / (x * np.tanh(x))
        if p["sym"] == "TLMQ":
            y = (s * tau) ** (values[p["n"]] / 2.0)
            return 1.0 / (y * np.tanh(y))
        return None
    if item.kind == "spike":
        return 1.0 / s ** values[p["n"]] if "n" in p else 1.0 / s
    return None


def _apply(item: _Item, values: np.ndarray, coef: float, tau: float, floor: float) -> None:
    p = item.params
    if item.kind == "L":
        values[p["L"]] = max(coef, 1e-10)
    elif item.kind == "R":
        values[p["R"]] = max(coef, floor)
    elif item.kind == "arc":
        R = max(coef, floor)
        values[p["R"]] = R
        if "C" in p:
            values[p["C"]] = tau / R
        if "tau" in p:
            values[p["tau"]] = tau
        if "beta" in p:
            values[p["beta"]] = 1.0
        if "Q" in p:
            values[p["Q"]] = tau ** values[p["n"]] / R
    elif item.kind == "diffusion":
        R = values[p["R"]] = max(coef, floor)
        if "tau" in p:
            values[p["tau"]] = tau
        else:  # TLMQ: τ = (R Q)^(1/n)
            values[p["Q"]] = tau ** values[p["n"]] / R
    elif item.kind == "spike":
        key = p["Q"] if "Q" in p else p["C"]
        if coef > 0:
            values[key] = 1.0 / coef


def _apply_tline(
    item: _Item, values: np.ndarray, coefs: np.ndarray, ab: tuple[float, float], floor: float
) -> None:
    """A T's start: A and B from the NNLS coefficients (at least ``floor``), a and b from the grid."""
    p = item.params
    values[p["A"]] = max(float(coefs[0]), floor)
    values[p["B"]] = max(float(coefs[1]), floor)
    values[p["a"]], values[p["b"]] = ab


def _tline_bases(s: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A T's impedance per unit A and per unit B at each (a, b): coth(β)/β and 1/(β sinh β),
    β = √(a + s b) (shape (n_ab, 2, n_freq)); from e^-β alone (one exp, no overflow)."""
    beta = np.sqrt(a[:, None] + s[None, :] * b[:, None])
    e = np.exp(-beta)
    e2 = e * e
    inv = 1.0 / (beta * (1.0 - e2))
    return np.stack([(1.0 + e2) * inv, 2.0 * e * inv], axis=1)


# grid of a T's start (a, b): a from 0.01 to 100 (2 per decade; beyond, one of its two terms
# vanishes or it is a Gerischer of τ = b/a) and the time b/max(a, π²/4), where its spectrum
# bends, from τ_min to τ_max (_TLINE_PER_DECADE per decade)
_TLINE_A = tuple(np.geomspace(0.01, 100.0, 9).tolist())
_TLINE_PER_DECADE = 2


def _tline_grid(tau_min: float, tau_max: float) -> list[tuple[float, float]]:
    """(a, b) start points of a T for a window of time constants τ_min…τ_max (s)."""
    n = int(np.ceil(np.log10(tau_max / tau_min) * _TLINE_PER_DECADE)) + 1
    bends = np.geomspace(tau_min, tau_max, n).tolist()
    return [(a, t * max(a, np.pi**2 / 4)) for a in _TLINE_A for t in bends]


_SPIKE_DN = (-0.1, -0.05, 0.0, 0.05, 0.1)
_ARC_N = (0.7, 0.8, 0.9, 1.0)


def _columns(item: _Item, s: np.ndarray, tau: float, values: np.ndarray, w: np.ndarray):
    """Weighted, stacked, normalised basis columns of an item, or None.

    Returns ``(block, norms, ns)``: the columns side by side (shape (2 n_freq, n_cols)), the
    norm each was divided by, and the exponent n of each (NaN where it has none). A CPE spike
    gets several columns with exponents around its start n, so that NNLS can match its
    exponent instead of bending an arc to absorb the mismatch.
    """
    if item.kind == "spike" and "n" in item.params:
        n0 = values[item.params["n"]]
        s_ref = float(np.abs(s).min())  # real: (ω_ref/jω)^n keeps the CPE phase
        ns = np.clip(n0 + np.array(_SPIKE_DN), 0.4, 1.0)
        bases = (s_ref / s)[None, :] ** ns[:, None]
    elif item.kind == "tline":
        if not isinstance(tau, tuple):  # (a re-seed keeps a T where it is)
            return None
        ns = np.array([math.nan, math.nan])
        bases = _tline_bases(s, np.array([tau[0]]), np.array([tau[1]]))[0]
    elif item.kind == "arc" and "n" in item.params:
        # depressed arcs: a few exponents at the same tau; NNLS weighs them, which estimates n
        ns = np.array(_ARC_N)
        bases = 1.0 / (1.0 + (s * tau)[None, :] ** ns[:, None])
    else:
        b = _basis(item, s, tau, values)
        if b is None:
            return None
        ns = np.array([math.nan])
        bases = np.asarray(b, dtype=complex)[None, :] * np.ones((1, s.size))
    block = np.concatenate([bases.real * w, bases.imag * w], axis=1).T
    norms = np.abs(block).max(axis=0)
    norms[norms == 0] = 1.0
    return block / norms, norms, ns


def _arc_columns_batch(items, tau_sets: list[list[float]], s: np.ndarray, w: np.ndarray, cache: dict) -> None:
    """Put the columns of every depressed arc (R‖CPE, Zarc) at every τ it gets in ``tau_sets``
    into ``cache`` (keyed as :func:`_linear_start` looks them up), computed in one pass for all
    arcs and τ: the same numbers as :func:`_columns` (element by element, the same operations),
    without its per-τ overhead."""
    ns = np.array(_ARC_N)
    keys: list[tuple[int, float]] = []
    for i, it in enumerate(items):
        if it.kind != "arc" or "n" not in it.params:
            continue
        keys.extend((i, tau) for tau in dict.fromkeys(ts[i] for ts in tau_sets) if (i, tau) not in cache)
    if not keys:
        return
    st = s[None, :] * np.array([tau for _, tau in keys])[:, None]  # (n_tau, n_freq), as s * tau
    # (sτ)^n as exp(n log sτ), the log taken once for all n: complex ** computes exactly
    # this (bit for bit), except for an integer n, which it multiplies out (n = 1: sτ itself)
    powers = np.exp(ns[None, :, None] * np.log(st)[:, None, :])  # (n_tau, n_n, n_freq)
    one = ns == 1.0
    powers[:, one, :] = st[:, None, :]
    if not np.all(ns[~one] % 1.0):  # another integer exponent: as ** does it
        powers = st[:, None, :] ** ns[None, :, None]
    bases = 1.0 / (1.0 + powers)
    blocks = np.concatenate([bases.real * w, bases.imag * w], axis=2).transpose(0, 2, 1)
    norms = np.abs(blocks).max(axis=1)  # (n_tau, n_n)
    norms[norms == 0] = 1.0
    blocks = blocks / norms[:, None, :]
    for q, key in enumerate(keys):
        cache[key] = (blocks[q], norms[q], ns)


def _tline_columns_batch(items, tau_sets: list[list[Any]], s: np.ndarray, w: np.ndarray, cache: dict) -> None:
    """Put the columns of every T at every (a, b) it gets in ``tau_sets`` into ``cache`` (keyed
    as :func:`_linear_start` looks them up), computed in one pass: as :func:`_columns`, without
    its per-point overhead (a T's grid has some 200 points)."""
    for i, it in enumerate(items):
        if it.kind != "tline":
            continue
        keys = [(i, ab) for ab in dict.fromkeys(ts[i] for ts in tau_sets) if (i, ab) not in cache]
        keys = [key for key in keys if isinstance(key[1], tuple)]
        if not keys:
            continue
        a = np.array([ab[0] for _, ab in keys])
        b = np.array([ab[1] for _, ab in keys])
        bases = _tline_bases(s, a, b)  # (n_ab, 2, n_freq)
        blocks = np.concatenate([bases.real * w, bases.imag * w], axis=2).transpose(0, 2, 1)
        norms = np.abs(blocks).max(axis=1)  # (n_ab, 2)
        norms[norms == 0] = 1.0
        blocks = blocks / norms[:, None, :]
        ns = np.array([math.nan, math.nan])
        for q, key in enumerate(keys):
            cache[key] = (blocks[q], norms[q], ns)


def _fit_spike(freq: np.ndarray, z: np.ndarray) -> tuple[float, float] | None:
    """(Q, n) of a blocking CPE spike from the lowest decade: Z = R + 1/(Q (jω)^n)."""
    from scipy.optimize import least_squares

    order = np.argsort(freq)
    lo = order[freq[order] <= freq[order[0]] * 10**1.0]
    if lo.size < 4:
        lo = order[:4]
    f, zz = freq[lo], z[lo]
    if np.sum(-zz.imag > 0) < 3:
        return None
    ok = -zz.imag > 0
    n0 = float(np.clip(-np.polyfit(np.log(f[ok]), np.log(-zz.imag[ok]), 1)[0], 0.45, 1.0))
    w0 = 2 * np.pi * f[0]
    q0 = np.sin(n0 * np.pi / 2) / (-zz.imag[0] * w0**n0)
    sj = 2j * np.pi * f
    wt = 1 / np.abs(zz)

    def res(p):
        d = p[0] + 1.0 / (10 ** p[1] * sj ** p[2]) - zz
        return np.concatenate([d.real * wt, d.imag * wt])

    r0 = max(float(np.min(zz.real)) * 0.5, 0.0)
    fit = least_squares(res, [r0, np.log10(q0), n0], bounds=([0, -16, 0.4], [np.inf, 2, 1.0]), max_nfev=60)
    return float(10 ** fit.x[1]), float(fit.x[2])


def _linear_start(
    items, taus, s, z, w, values, floor, cache: dict, rank_only: bool = False
) -> tuple[np.ndarray | None, float]:
    """Given a tau for every item, solve all linear coefficients (R, L, 1/Q) by NNLS.

    Returns the start vector and the NNLS residual norm (only the norm if ``rank_only``). The
    NNLS solution is cached per tau set, so ranking and building a candidate solve it once.
    """
    blocks, used = [], []
    n_cols = 0
    for i, (it, tau) in enumerate(zip(items, taus, strict=True)):
        key = (i, tau)
        col = cache.get(key, cache)  # (the cache itself: not computed yet)
        if col is cache:
            col = cache[key] = _columns(it, s, tau, values, w)
        if col is None:  # element without a linear form: keep its defaults
            continue
        size = col[1].size
        used.append((it, tau, n_cols, size))
        blocks.append(col)
        n_cols += size
    if not blocks:
        return (None if rank_only else values.copy()), np.inf
    solved_key = ("solved", tuple(taus))
    solved = cache.get(solved_key)
    if solved is None:
        aa = np.concatenate([b for b, _, _ in blocks], axis=1)  # (as np.hstack)
        bb = cache.get("b")
        if bb is None:
            bb = cache["b"] = np.concatenate([z.real * w, z.imag * w])
        solved = cache[solved_key] = _nnls(aa, bb, 50 * n_cols)
    coef, rnorm = solved
    if rank_only:
        return None, float(rnorm)
    v = values.copy()
    coef = coef / np.concatenate([nm for _, nm, _ in blocks])
    all_ns = np.concatenate([ns for _, _, ns in blocks])
    for it, tau, start, count in used:
        if it.kind == "arc" and count > 1:
            c = coef[start : start + count]
            ns = all_ns[start : start + count]
            c_sum = c.sum()
            if c_sum > 0:
                v[it.params["n"]] = min(max(float(np.sum(c * ns) / c_sum), 0.5), 1.0)
            _apply(it, v, float(c_sum), tau, floor)
            continue
        if it.kind == "tline":
            _apply_tline(it, v, coef[start : start + count], tau, floor)
            continue
        if it.kind == "spike" and "n" in it.params:
            c = coef[start : start + count]
            ns = all_ns[start : start + count]
            if c.sum() > 0:
                n = float(np.sum(c * ns) / c.sum())
                w_ref = float(np.abs(s).min())
                v[it.params["n"]] = n
                v[it.params["Q"]] = 1.0 / (c.sum() * w_ref**n)  # Z = c (ω_ref/jω)^n
            continue
        _apply(it, v, float(coef[start]), tau, floor)
    return v, float(rnorm)


def start_candidates(
    defn: CircuitDefinition,
    freq: np.ndarray,
    z: np.ndarray,
    base: np.ndarray,
    max_candidates: int = 6,
    peaks: tuple[tuple[float, float], ...] | None = None,
) -> tuple[Candidates, SpectrumSketch]:
    """Start-value vectors (in ``defn.param_names`` order), most plausible first.

    ``base`` holds the definition defaults (n values are taken from it). Each candidate fixes a
    τ for every arc (from the DRT peaks, or above the window / between neighbours for arcs
    without a peak); all resistances, L and 1/Q then follow from one NNLS solve, and the
    candidates are ranked by that solve's residual. ``peaks`` ((τ in s, R in Ω), e.g. from
    :func:`eisna.drt`) replace the sketch's peaks. The vectors are built when first read
    (:class:`Candidates`): a fit usually solves the first two of six.
    """
    items = _items(defn)
    s = 2j * np.pi * freq
    w = 1.0 / np.abs(z)
    floor = 1e-4 * float(np.abs(z).max())
    values = base.astype(float).copy()
    spikes, z_arcs = _subtract_spike(items, freq, z, s, values)
    sk = sketch(freq, z_arcs, z_weight=z)
    peak_list = _relevant_peaks(sk, peaks, bool(spikes))
    tau_hf = sk.tau_min / 10  # for arcs above the window
    arcs = [i for i, it in enumerate(items) if it.kind == "arc"]
    diffs = [i for i, it in enumerate(items) if it.kind == "diffusion"]
    variants = _diffusion_variants(items, diffs, peak_list, sk)

    order = np.argsort(freq)
    log_f, mod_z = np.log(freq[order]), np.abs(z[order])
    scored: list[tuple[float, list]] = []
    tau_sets: list[list[float]] = []
    cache: dict = {}
    for arc_peaks, dtaus in variants:
        # prominence: a peak's R relative to |Z| at its frequency (junk from an imperfectly
        # removed spike is large in ohms but small against the spike's own |Z|)
        at_peak = np.interp(-np.log(2 * np.pi * np.array([t for t, _ in arc_peaks])), log_f, mod_z)
        prominent = [(t, R / m) for (t, R), m in zip(arc_peaks, at_peak.tolist(), strict=True)]
        if spikes:  # leftovers of the subtracted spike: < 2 % of |Z| where they sit
            prominent = [pk for pk in prominent if pk[1] > 0.02]
        for assign in _assignments(len(arcs), prominent, tau_hf):
            taus = [1.0] * len(items)
            for i, tau in dtaus.items():
                taus[i] = tau
            for i, tau in zip(arcs, assign, strict=True):
                taus[i] = tau
            tau_sets.append(taus)
    tau_sets = _with_tline_grid(items, tau_sets, values, sk)
    _arc_columns_batch(items, tau_sets, s, w, cache)
    _tline_columns_batch(items, tau_sets, s, w, cache)
    for taus in tau_sets:
        _, rnorm = _linear_start(items, taus, s, z, w, values, floor, cache, rank_only=True)
        scored.append((rnorm, taus))
    scored.sort(key=lambda t: t[0])
    if any(it.kind == "tline" for it in items):
        scored = _refine_tline(defn, items, scored, s, z, w, values, floor, cache)
    out: list[np.ndarray | Callable[[], np.ndarray]] = []
    seen: set[tuple] = set()
    keys = np.round(np.log10([_flat(taus) for _, taus in scored]), 3).tolist() if scored else []
    for (_, taus), key_list in zip(scored, keys, strict=True):  # distinct tau sets only
        key = tuple(key_list)  # (several variants can coincide)
        if key in seen:
            continue
        seen.add(key)
        # (built from the ranking's cached columns and NNLS solution: the same vector whenever
        # it is built; never None outside the ranking)
        out.append(functools.partial(_candidate, items, taus, s, z, w, values, floor, cache))
        if len(out) >= max_candidates:
            break
    return Candidates(out or [values]), sk


def _with_tline_grid(
    items, tau_sets: list[list[Any]], values: np.ndarray, sk: SpectrumSketch
) -> list[list[Any]]:
    """Each τ set once per (a, b) of :func:`_tline_grid` for the circuit's first T (further T
    keep their defaults' (a, b)); unchanged without a T."""
    tlines = [i for i, it in enumerate(items) if it.kind == "tline"]
    if not tlines:
        return tau_sets
    for i in tlines[1:]:
        p = items[i].params
        default = (float(values[p["a"]]), float(values[p["b"]]))
        for taus in tau_sets:
            taus[i] = default
    first = tlines[0]
    grid = _tline_grid(sk.tau_min, sk.tau_max)
    return [[*taus[:first], ab, *taus[first + 1 :]] for taus in tau_sets for ab in grid]


# the best _TLINE_REFINE (a, b) of the grid are refined (Nelder–Mead on log a and log b/a, at
# most _TLINE_NFEV residuals each): a T's A, B, a and b correlate at up to 0.998 along a narrow
# valley of nearly constant b/a (the time of the Gerischer-like corner, ω = a/b), and a start one
# grid step from the truth can end in a side valley of several times its χ²
_TLINE_REFINE = 2
_TLINE_NFEV = 40
# offsets (decades) of b/a scanned around each value of a's best grid point
_TLINE_SCAN = tuple(np.linspace(-0.3, 0.3, 13).tolist())


def _refine_tline(
    defn: CircuitDefinition, items, scored: list[tuple[float, list]], s, z, w, values, floor, cache: dict
) -> list[tuple[float, list]]:
    """``scored`` (NNLS residual, τ set; sorted) with the best sets' T moved to the (a, b) of
    least residual nearby (A and B, and every other linear coefficient, solved by NNLS at each
    (a, b): a variable-projection fit of the T with the other τ held); sorted again."""
    from scipy.optimize import minimize

    first = next(i for i, it in enumerate(items) if it.kind == "tline")
    names = defn.param_names
    p = items[first].params
    lo = np.log10([defn.defaults[names[p[k]]].min for k in ("a", "b")])
    hi = np.log10([defn.defaults[names[p[k]]].max for k in ("a", "b")])
    bb = np.concatenate([z.real * w, z.imag * w])

    def ab_of(x: np.ndarray) -> tuple[float, float]:  # (log a, log b/a) -> (a, b), within bounds
        log_ab = np.clip([x[0], x[0] + x[1]], lo, hi)
        return float(10.0 ** log_ab[0]), float(10.0 ** log_ab[1])

    def rnorm(x: np.ndarray, fixed: list, n_cols: int) -> float:
        # (the columns of _tline_bases and _columns, written out for one point: ~200 calls)
        a, b = ab_of(x)
        beta = np.sqrt(a + s * b)
        e = np.exp(-beta)
        e2 = e * e
        inv = 1.0 / (beta * (1.0 - e2))
        col_a, col_b = (1.0 + e2) * inv, 2.0 * e * inv
        block = np.array([np.concatenate([c.real * w, c.imag * w]) for c in (col_a, col_b)]).T
        norms = np.abs(block).max(axis=0)
        norms[norms == 0] = 1.0
        return _nnls(np.concatenate([*fixed, block / norms], axis=1), bb, 50 * n_cols)[1]

    # the best set of each value of a, its b/a moved to the valley's floor by a fine scan (the
    # coarse grid can miss that narrow floor and rank a value of a too low); the
    # _TLINE_REFINE best are refined
    per_a: dict[tuple, list] = {}
    for _, taus in scored:
        key = (*_flat(taus[:first]), taus[first][0], *_flat(taus[first + 1 :]))
        per_a.setdefault(key, taus)
        if len(per_a) >= len(_TLINE_A):
            break
    floors = []
    offsets = np.array(_TLINE_SCAN)
    for taus in per_a.values():
        # the other items' columns (from the ranking's cache), then the T's two
        others = [cache[(i, tau)] for i, tau in enumerate(taus) if i != first]
        fixed = [col[0] for col in others if col is not None]
        n_cols = sum(block.shape[1] for block in fixed) + 2
        a0, b0 = taus[first]
        x_grid = np.log10([a0, b0 / a0])
        # the scan's columns in one pass (as rnorm computes them, point by point; as ab_of clips)
        a_scan = np.full(offsets.size, 10.0 ** np.clip(x_grid[0], lo[0], hi[0]))
        b_scan = 10.0 ** np.clip(x_grid[0] + x_grid[1] + offsets, lo[1], hi[1])
        bases = _tline_bases(s, a_scan, b_scan)
        blocks = np.concatenate([bases.real * w, bases.imag * w], axis=2).transpose(0, 2, 1)
        norms = np.abs(blocks).max(axis=1)
        norms[norms == 0] = 1.0
        blocks = blocks / norms[:, None, :]
        r_scan = [_nnls(np.concatenate([*fixed, block], axis=1), bb, 50 * n_cols)[1] for block in blocks]
        j = int(np.argmin(r_scan))
        x_floor = x_grid + np.array([0.0, offsets[j]])
        floors.append((r_scan[j], x_floor, taus, fixed, n_cols))
    floors.sort(key=lambda t: t[0])
    refined = []
    for _, x0, taus, fixed, n_cols in floors[:_TLINE_REFINE]:
        simplex = x0 + np.array([[0.0, 0.0], [0.25, 0.0], [0.0, 0.05]])
        res = minimize(
            rnorm,
            x0,
            args=(fixed, n_cols),
            method="Nelder-Mead",
            options={"initial_simplex": simplex, "maxfev": _TLINE_NFEV, "xatol": 0.005, "fatol": 0.0},
        )
        refined.append((float(res.fun), [*taus[:first], ab_of(res.x), *taus[first + 1 :]]))
    return sorted(scored + refined, key=lambda t: t[0])


def _flat(taus: list[Any]) -> list[float]:
    """A τ set as plain numbers (a T's (a, b) as two)."""
    return [x for t in taus for x in (t if isinstance(t, tuple) else (t,))]


def _candidate(items, taus, s, z, w, values, floor, cache: dict) -> np.ndarray:
    v = _linear_start(items, taus, s, z, w, values, floor, cache)[0]
    return values.copy() if v is None else v  # (None only in the ranking)


class Candidates(Sequence[np.ndarray]):
    """Start vectors built on first access and kept (:func:`start_candidates`).

    Each entry is a vector or a zero-argument function that builds one; ``then`` applies an
    in-place change (e.g. fixed values) to each vector as it is built.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[np.ndarray | Callable[[], np.ndarray]] = ()):
        self._items: list[np.ndarray | Callable[[], np.ndarray]] = (
            list(items._items) if isinstance(items, Candidates) else list(items)
        )

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        item = self._items[i]
        if callable(item):
            item = item()
            self._items[i] = item
        return item

    def extend(self, more: Iterable[np.ndarray | Callable[[], np.ndarray]]) -> None:
        """Append ``more`` (vectors, or the unbuilt entries of another :class:`Candidates`)."""
        self._items.extend(more._items if isinstance(more, Candidates) else more)

    def then(self, change: Callable[[np.ndarray], None]) -> Candidates:
        """These candidates with ``change`` applied in place to each vector as it is built."""

        def after(build: Callable[[], np.ndarray]) -> np.ndarray:
            v = build()
            change(v)
            return v

        out: list[np.ndarray | Callable[[], np.ndarray]] = []
        for item in self._items:
            if callable(item):
                out.append(functools.partial(after, item))
            else:
                change(item)
                out.append(item)
        return Candidates(out)


def _subtract_spike(
    items, freq: np.ndarray, z: np.ndarray, s: np.ndarray, values: np.ndarray
) -> tuple[list, np.ndarray]:
    """Blocking CPE spikes and the impedance with the fitted spike removed (``values`` gets Q, n).

    A blocking spike is fitted on the lowest decade and subtracted before the DRT sketch, whose
    RC elements would otherwise spend themselves on it.
    """
    spikes = [it for it in items if it.kind == "spike" and "n" in it.params]
    # a TLMQ ends blocking too: R_ion/3 + 1/(Q (jω)^n) below its τ, the same Q and n
    tlm = [it for it in items if it.kind == "diffusion" and it.params["sym"] == "TLMQ"]
    z_arcs = z
    if spikes or tlm:
        spike = _fit_spike(freq, z)
        if spike is not None:
            q_el, n_el = spike
            for it in spikes + tlm:
                values[it.params["n"]] = n_el
                values[it.params["Q"]] = q_el
            z_arcs = z - 1.0 / (q_el * s**n_el)
    return spikes + tlm, z_arcs


def _relevant_peaks(
    sk: SpectrumSketch, peaks: tuple[tuple[float, float], ...] | None, spikes: bool
) -> list[tuple[float, float]]:
    """(τ, R) peaks worth an arc: inside the window's low edge (with a spike), > 1 % of the total."""
    peak_list: list[tuple[float, float]] = sorted(peaks) if peaks is not None else list(sk.peaks)
    if spikes:
        while peak_list and peak_list[-1][0] > sk.tau_max * 3:  # beyond the low-frequency edge
            peak_list.pop()
    # relevant peaks: > 1 % of what the remaining peaks and the intercept add up to
    relevant = sk.R_inf + sum(pk[1] for pk in peak_list)
    return [pk for pk in peak_list if pk[1] > 1e-2 * relevant]


def _diffusion_variants(
    items, diffs: list[int], peak_list: list[tuple[float, float]], sk: SpectrumSketch
) -> list[tuple[list[tuple[float, float]], dict[int, float]]]:
    """(arc peaks, τ of the diffusion element) variants: its peak the lowest, or below the window."""
    variants: list[tuple[list[tuple[float, float]], dict[int, float]]] = []
    if diffs and peak_list:
        finite = items[diffs[0]].params["sym"] in ("Ws", "Wo", "TLMQ")
        # the Warburg's main peak is the lowest peak, or the second-lowest when the lowest lies
        # beyond the low-frequency edge (a spurious tail of the sketch)
        lowest = [len(peak_list) - 1]
        if len(peak_list) > 1 and peak_list[-1][0] > 3 * sk.tau_max:
            lowest.append(len(peak_list) - 2)
        for last in lowest:
            t1, r1 = peak_list[last]
            tau_w = t1 * np.pi**2 / 4 if finite else t1
            rest = [pk for pk in peak_list[:last] if not (t1 / 40 < pk[0] < t1 / 4 and pk[1] < 0.3 * r1)]
            variants.append((rest, {diffs[0]: tau_w}))
            if len(rest) != last:
                variants.append((peak_list[:last], {diffs[0]: tau_w}))
        variants.append((peak_list, {diffs[0]: 4 * sk.tau_max}))
    else:
        variants.append((peak_list, dict.fromkeys(diffs, 4 * sk.tau_max)))
    return variants


def _assignments(
    n_arcs: int, peaks: list[tuple[float, float]], tau_hf: float, limit: int = 6
) -> list[list[float]]:
    """Order-preserving choices of a tau for each arc, the ``limit`` most plausible.

    ``peaks`` are (tau, prominence) pairs, prominence = R of the peak / |Z| at its frequency.
    Arcs are matched to peaks in frequency order; arcs left without a peak go above the window
    when they precede every matched arc, else halfway (in log tau) between their neighbours.
    Plausibility: the less prominence the left-out peaks carry, the better (a prominent peak
    is rarely spurious); ties keep full matches first.
    """
    if n_arcs == 0:
        return [[]]
    if len(peaks) > n_arcs + 2:  # keep the most prominent peaks only
        keep = sorted(sorted(range(len(peaks)), key=lambda i: -peaks[i][1])[: n_arcs + 2])
        peaks = [peaks[i] for i in keep]
    m = len(peaks)
    scored: list[tuple[float, int, tuple[int, ...], tuple[int, ...]]] = []
    j_top = min(m, n_arcs)
    prom = [pk[1] for pk in peaks]
    for j in (j_top, j_top - 1) if j_top > 0 else (j_top,):
        # the peaks left out of each selection are its complement: the (m − j)-combinations in
        # reverse order; their prominence summed in increasing index order, as sum() over them
        left = reversed(list(itertools.combinations(range(m), m - j)))
        pk_sels = [
            (sum([prom[q] for q in comp]), sel)
            for sel, comp in zip(itertools.combinations(range(m), j), left, strict=True)
        ]
        if j < j_top and m > 2:  # one arc short: only the highest-frequency arc(s) above the window
            arc_sels: Any = (tuple(range(n_arcs - j, n_arcs)),)
        else:
            arc_sels = itertools.combinations(range(n_arcs), j)
        for arc_sel in arc_sels:
            scored.extend((left_out, j_top - j, arc_sel, pk_sel) for left_out, pk_sel in pk_sels)
    scored.sort(key=operator.itemgetter(0, 1))  # stable: ties keep the enumeration order
    out = []
    for _, _, arc_sel, pk_sel in scored[:limit]:
        taus: list[float | None] = [None] * n_arcs
        for a, q in zip(arc_sel, pk_sel, strict=True):
            taus[a] = peaks[q][0]
        out.append(_fill(taus, tau_hf))
    return out


def _fill(taus: list[float | None], tau_hf: float) -> list[float]:
    res: list[Any] = list(taus)  # every None is filled below
    first = next((i for i, t in enumerate(res) if t is not None), len(res))
    for i in range(first - 1, -1, -1):  # above the window, one decade apart
        above = res[i + 1] if i + 1 < first else tau_hf * 10
        res[i] = above / 10
    for i in range(first, len(res)):
        if res[i] is None:
            nxt = next((t for t in res[i + 1 :] if t is not None), None)
            res[i] = np.sqrt(res[i - 1] * nxt) if nxt is not None else res[i - 1] * 10
    return [float(t) for t in res]
