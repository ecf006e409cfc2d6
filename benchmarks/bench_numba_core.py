"""Feasibility study (issue 12 item 1): what would a numba-compiled fit core cost?

Dev-only: numba is not a dependency of eisna. Run with numba importable, e.g.::

    pip install --target /tmp/numba_pkgs numba llvmlite
    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src:/tmp/numba_pkgs python benchmarks/bench_numba_core.py

Measures, on NAS benchmark cells (``symmetric_interlayer``, 80 points, 14 free parameters):

1. ``import numba`` and the JIT compile / on-disk cache load of the kernels below (fresh
   processes);
2. a compiled residual + analytic Jacobian of the circuit in internal coordinates (log10 /
   linear), checked against ``eisna.fitting.solver._Problem`` (same numbers to round-off), per
   call against eisna's numpy path;
3. a compiled Levenberg–Marquardt loop (sine-mapped bounds, Marquardt damping, Cholesky of
   the normal equations: *not* MINPACK's iterates) from eisna's own first start candidate,
   against eisna's MINPACK solve from the same start: cost reached, evaluations, time;
4. the compiled pieces eisna already calls (SciPy's NNLS, LAPACK's SVD) timed raw, against
   the Python call around them, to bound what compiling the start ranking and statistics gains;
5. an estimate of a whole cold fit if the LM loop, the start ranking and the statistics were
   compiled, from the per-stage process times of eisna's fit measured here.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np

from eisna.circuit import load_circuit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

KERNELS = textwrap.dedent(
    '''
    import math
    import numpy as np
    from numba import njit

    LN10 = math.log(10.0)

    @njit(cache=True)
    def natural(x, is_log):
        """Parameters p from internal coordinates x (log10 where is_log) and dp/dx."""
        p = np.empty(x.size)
        f = np.empty(x.size)
        for j in range(x.size):
            if is_log[j]:
                p[j] = 10.0 ** x[j]
                f[j] = p[j] * LN10
            else:
                p[j] = x[j]
                f[j] = 1.0
        return p, f

    @njit(cache=True)
    def resjac(x, is_log, omega, zr, zi, wr, wi, res, jac_t, zout, want_jac):
        """symmetric_interlayer L-p(R,C)-p(R,CPE)x3-Ws: weighted residual (2m), transposed
        Jacobian (14, 2m) in internal coordinates x (log10 where is_log) and Z (m)."""
        k = x.size
        p, f = natural(x, is_log)
        L, Rb, Cb = p[0], p[1], p[2]
        Rw, tw = p[12], p[13]
        m = omega.size
        g = np.empty(k, dtype=np.complex128)
        for i in range(m):
            w = omega[i]
            s = 1j * w
            ls = complex(math.log(w), 0.5 * math.pi)
            z = L * s
            g[0] = s
            zb = Rb / (1.0 + Rb * Cb * s)
            z2 = zb * zb
            g[1] = z2 / (Rb * Rb)
            g[2] = -z2 * s
            z += zb
            for a in range(3):
                R, Q, n = p[3 + 3 * a], p[4 + 3 * a], p[5 + 3 * a]
                sn = np.exp(n * ls)
                zq = R / (1.0 + R * Q * sn)
                z2 = zq * zq
                g[3 + 3 * a] = z2 / (R * R)
                dq = -z2 * sn
                g[4 + 3 * a] = dq
                g[5 + 3 * a] = dq * Q * ls
                z += zq
            xx = np.sqrt(s * tw)
            e2 = np.exp(-2.0 * xx)  # (numba's complex tanh overflows for Re x > ~355; Re x >= 0 here)
            t = (1.0 - e2) / (1.0 + e2)
            zw = Rw * t / xx
            g[12] = zw / Rw
            g[13] = (Rw * (1.0 - t * t) - zw) / (2 * tw)
            z += zw
            zout[i] = z
            res[i] = wr[i] * (z.real - zr[i])
            res[m + i] = wi[i] * (z.imag - zi[i])
            if want_jac:
                for j in range(k):
                    jac_t[j, i] = wr[i] * g[j].real * f[j]
                    jac_t[j, m + i] = wi[i] * g[j].imag * f[j]

    @njit(cache=True)
    def lm_sine(x0, lo, hi, act, is_log, omega, zr, zi, wr, wi, max_nfev, tol):
        """Levenberg-Marquardt on x = lo + (hi - lo)(1 + sin u)/2 over the ``act`` coordinates
        (the others held at x0): Nielsen's damping update with the gain ratio, Marquardt's
        diagonal scaling, Cholesky solve of the damped normal equations; stops on a relative
        cost decrease or step below ``tol``. Returns (x, cost, nfev, njev)."""
        idx = np.flatnonzero(act)
        k = idx.size
        m2 = 2 * omega.size
        half = (hi[idx] - lo[idx]) / 2
        lo_a = lo[idx]
        u = np.empty(k)
        for j in range(k):
            c = (x0[idx[j]] - lo_a[j]) / half[j] - 1.0
            u[j] = math.asin(min(max(c, -1 + 1e-9), 1 - 1e-9))
        x = x0.copy()
        x[idx] = lo_a + half * (1.0 + np.sin(u))
        res = np.empty(m2)
        jac_t = np.empty((x0.size, m2))
        zout = np.empty(omega.size, dtype=np.complex128)
        resjac(x, is_log, omega, zr, zi, wr, wi, res, jac_t, zout, True)
        nfev, njev = 1, 1
        cost = 0.5 * np.dot(res, res)
        r_try = np.empty(m2)
        dummy = np.empty((1, 1))
        nu = 2.0
        mu = -1.0
        x_try = x.copy()
        while nfev < max_nfev:
            jt = jac_t[idx] * (half * np.cos(u)).reshape(-1, 1)
            a = jt @ jt.T
            gr = jt @ res
            d = np.maximum(np.diag(a).copy(), 1e-30)
            if mu < 0:
                mu = 1e-3
            accepted = False
            while nfev < max_nfev:
                am = a.copy()
                for j in range(k):
                    am[j, j] += mu * d[j]
                step = -np.linalg.solve(am, gr)
                u_try = u + step
                x_try[idx] = lo_a + half * (1.0 + np.sin(u_try))
                resjac(x_try, is_log, omega, zr, zi, wr, wi, r_try, dummy, zout, False)
                nfev += 1
                c_try = 0.5 * np.dot(r_try, r_try)
                pred = -np.dot(step, gr) - 0.5 * np.dot(step, a @ step)
                rho = (cost - c_try) / pred if pred > 0 else -1.0
                if rho > 0:
                    rel = (cost - c_try) / cost
                    u = u_try
                    x[:] = x_try
                    cost = c_try
                    mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                    nu = 2.0
                    accepted = True
                    break
                mu *= nu
                nu *= 2.0
                if mu > 1e16:
                    break
            if not accepted:
                break
            resjac(x, is_log, omega, zr, zi, wr, wi, res, jac_t, zout, True)
            njev += 1
            if rel < tol or np.max(np.abs(step)) < tol * (tol + np.max(np.abs(u))):
                break
        return x, cost, nfev, njev

    @njit(cache=True)
    def resjac_generic(codes, idx, x, is_log, omega, zr, zi, wr, wi, res, jac_t, zout, want_jac):
        """The same for any series of items, interpreted: codes[q] 0 = L, 1 = R||C, 2 = R||CPE,
        3 = Ws, 4 = R, with their parameter indices in idx[q] (one compile for every such
        circuit)."""
        k = x.size
        p, f = natural(x, is_log)
        m = omega.size
        g = np.zeros(k, dtype=np.complex128)
        for i in range(m):
            w = omega[i]
            s = 1j * w
            ls = complex(math.log(w), 0.5 * math.pi)
            z = 0j
            for q in range(codes.size):
                c = codes[q]
                a, b, e = idx[q, 0], idx[q, 1], idx[q, 2]
                if c == 0:
                    z += p[a] * s
                    g[a] = s
                elif c == 1:
                    R = p[a]
                    zq = R / (1.0 + R * p[b] * s)
                    z2 = zq * zq
                    g[a] = z2 / (R * R)
                    g[b] = -z2 * s
                    z += zq
                elif c == 2:
                    R, Q = p[a], p[b]
                    sn = np.exp(p[e] * ls)
                    zq = R / (1.0 + R * Q * sn)
                    z2 = zq * zq
                    g[a] = z2 / (R * R)
                    dq = -z2 * sn
                    g[b] = dq
                    g[e] = dq * Q * ls
                    z += zq
                elif c == 3:
                    R, tw = p[a], p[b]
                    xx = np.sqrt(s * tw)
                    e2 = np.exp(-2.0 * xx)
                    t = (1.0 - e2) / (1.0 + e2)
                    zw = R * t / xx
                    g[a] = zw / R
                    g[b] = (R * (1.0 - t * t) - zw) / (2 * tw)
                    z += zw
                else:
                    z += p[a]
                    g[a] = 1.0
            zout[i] = z
            res[i] = wr[i] * (z.real - zr[i])
            res[m + i] = wi[i] * (z.imag - zi[i])
            if want_jac:
                for j in range(k):
                    jac_t[j, i] = wr[i] * g[j].real * f[j]
                    jac_t[j, m + i] = wi[i] * g[j].imag * f[j]

    @njit(cache=True)
    def svd_cov(jac):
        u, sv, vt = np.linalg.svd(jac, full_matrices=False)
        sv = np.maximum(sv, sv[0] * 1e-12)
        return (vt.T / sv**2) @ vt
    '''
)


def _write_module(cache_dir: Path) -> None:
    """The kernels as a module file in ``cache_dir`` (numba caches next to it)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    mod = cache_dir / "eisna_numba_kernels.py"
    if not mod.exists() or mod.read_text() != KERNELS:
        mod.write_text(KERNELS)


def _kernels(cache_dir: Path):
    """Import the kernels from their module file in ``cache_dir``."""
    _write_module(cache_dir)
    sys.path.insert(0, str(cache_dir))
    import eisna_numba_kernels as k

    return k


def startup(cache_dir: Path, rounds: int) -> None:
    """import numpy / numba, and first call (compile or cache load) in fresh processes."""
    _write_module(cache_dir)
    py = sys.executable
    code_imp = (
        "import time; t=time.perf_counter(); import numpy; t1=time.perf_counter(); import numba; "
        "print(t1-t, time.perf_counter()-t1)"
    )
    code_first = (
        f"import sys, time; sys.path.insert(0, {str(cache_dir)!r}); import numpy as np; "
        "t=time.perf_counter(); "
        "import eisna_numba_kernels as k; t1=time.perf_counter(); "
        "m=80; om=np.logspace(-1, 7, m); x=np.full(14, -2.0); il=np.ones(14, dtype=np.bool_); "
        "r=np.empty(2*m); j=np.empty((14,2*m)); zo=np.empty(m, dtype=complex); "
        "k.resjac(x, il, om, om, om, om, om, r, j, zo, True); t2=time.perf_counter(); "
        "k.lm_sine(x, x-1, x+1, il, il, om, om, om, om, om, 3, 1e-6); t3=time.perf_counter(); "
        "k.svd_cov(np.ascontiguousarray(j.T)); t4=time.perf_counter(); "
        "print(t1-t, t2-t1, t3-t2, t4-t3)"
    )
    env = {"PYTHONPATH": ":".join(p for p in sys.path if "numba" in p or p.endswith("/src"))}
    env = {**os.environ, **env}
    imp, first = [], []
    for _ in range(rounds):
        out = subprocess.run([py, "-c", code_imp], capture_output=True, text=True, env=env, check=True)
        imp.append([float(v) for v in out.stdout.split()])
    # first run compiles (no cache), then cache loads
    for f in cache_dir.glob("__pycache__/eisna_numba_kernels*"):
        f.unlink()
    out = subprocess.run([py, "-c", code_first], capture_output=True, text=True, env=env, check=True)
    compile_t = [float(v) for v in out.stdout.split()]
    for _ in range(rounds):
        out = subprocess.run([py, "-c", code_first], capture_output=True, text=True, env=env, check=True)
        first.append([float(v) for v in out.stdout.split()])
    imp_a, first_a = np.array(imp), np.array(first)
    print(f"fresh processes, median of {rounds}:")
    print(
        f"  import numpy {1e3 * np.median(imp_a[:, 0]):.0f} ms; "
        f"import numba after it {1e3 * np.median(imp_a[:, 1]):.0f} ms"
    )
    print(
        f"  no cache: import kernels module (numba included) {1e3 * compile_t[0]:.0f} ms, JIT resjac "
        f"{1e3 * compile_t[1]:.0f} ms, JIT lm_sine {1e3 * compile_t[2]:.0f} ms, "
        f"JIT svd_cov {1e3 * compile_t[3]:.0f} ms"
    )
    print(
        f"  cached: import kernels module (numba included) {1e3 * np.median(first_a[:, 0]):.0f} ms, "
        f"first call (cache load): resjac {1e3 * np.median(first_a[:, 1]):.0f} ms, "
        f"lm_sine {1e3 * np.median(first_a[:, 2]):.0f} ms, svd_cov {1e3 * np.median(first_a[:, 3]):.0f} ms"
    )


def _per_call(fn, n: int = 2000) -> float:
    """Least over 5 rounds of the mean process time of ``n`` calls (s)."""
    best = math.inf
    for _ in range(5):
        t0 = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - t0) / n)
    return best


def _cell(k, d, s, nas: dict) -> tuple[tuple, tuple]:
    """Per-call times of one NAS cell, and the LM search from eisna's first candidate."""
    from bench_fit import _forget_spectra

    from eisna.fitting import engine, solver

    _forget_spectra()
    prep = engine._prepare(s, d, "modulus", None, None, None, None)
    pb = prep.problem
    x = pb.to_x(np.array([nas[n] for n in d.param_names])) + 0.01
    om = np.ascontiguousarray(pb.s.imag)
    zr, zi = np.ascontiguousarray(pb.z.real), np.ascontiguousarray(pb.z.imag)
    wr, wi = np.ascontiguousarray(pb.w_re, dtype=float), np.ascontiguousarray(pb.w_im, dtype=float)
    il = np.ascontiguousarray(pb.is_log)
    m = om.size
    res, jac_t, zo = np.empty(2 * m), np.empty((x.size, 2 * m)), np.empty(m, dtype=complex)
    k.resjac(x, il, om, zr, zi, wr, wi, res, jac_t, zo, True)
    r_e, j_e = pb.residual(x), pb.jacobian(x)
    err_r = np.max(np.abs(res - r_e)) / np.max(np.abs(r_e))
    err_j = np.max(np.abs(jac_t.T - j_e)) / np.max(np.abs(j_e))
    points = iter([x + 1e-9 * i for i in range(2000)] * 50)  # a new point each call: no cache hits

    def eisna_res():
        pb.residual(next(points))

    def eisna_resjac():
        xi = next(points)
        pb.residual(xi)
        pb.jacobian(xi)

    t_nb_r = _per_call(lambda: k.resjac(x, il, om, zr, zi, wr, wi, res, jac_t, zo, False))
    t_nb_rj = _per_call(lambda: k.resjac(x, il, om, zr, zi, wr, wi, res, jac_t, zo, True))
    # the interpreted kernel: L, R||C, 3 x R||CPE, Ws of symmetric_interlayer
    codes = np.array([0, 1, 2, 2, 2, 3], dtype=np.int64)
    idx = np.array([[0, 0, 0], [1, 2, 0], [3, 4, 5], [6, 7, 8], [9, 10, 11], [12, 13, 0]], dtype=np.int64)
    res_g, jac_g = np.empty_like(res), np.empty_like(jac_t)
    k.resjac_generic(codes, idx, x, il, om, zr, zi, wr, wi, res_g, jac_g, zo, True)
    err_g = max(
        np.max(np.abs(res_g - res)) / np.max(np.abs(res)),
        np.max(np.abs(jac_g - jac_t)) / np.max(np.abs(jac_t)),
    )
    t_g = _per_call(lambda: k.resjac_generic(codes, idx, x, il, om, zr, zi, wr, wi, res_g, jac_g, zo, True))
    t_e_r = _per_call(eisna_res, 1000)
    t_e_rj = _per_call(eisna_resjac, 1000)
    t_svd_np = _per_call(lambda: np.linalg.svd(j_e, full_matrices=False), 1000)
    jac = np.ascontiguousarray(jac_t.T)
    t_svd_nb = _per_call(lambda: k.svd_cov(jac), 1000)

    # the LM search from eisna's own first candidate, its above-window C_b parked and held
    starts, _ = engine._start_points(prep)
    hold, x0p = solver._above_window(pb, pb.to_x(starts[0]), park=True)
    t0 = time.process_time()
    for _ in range(20):
        pb._res_key = pb._jac_key = None
        pb.nfev = 0
        r_min = solver._solve(pb, x0p, 150, hold)
    t_min = (time.process_time() - t0) / 20
    lo, hi = pb.lo.copy(), pb.hi.copy()
    act = np.ones(x0p.size, dtype=np.bool_)
    act[list(hold)] = False
    t0 = time.process_time()
    for _ in range(20):
        _, cl, nf, nj = k.lm_sine(x0p, lo, hi, act, il, om, zr, zi, wr, wi, 150, 1e-6)
    t_lm = (time.process_time() - t0) / 20
    return (
        (err_r, err_j, t_nb_r, t_nb_rj, t_e_r, t_e_rj, t_svd_np, t_svd_nb, t_g, err_g),
        (r_min.cost, pb.nfev, t_min, cl, nf, nj, t_lm),
    )


def kernels_vs_eisna(k, n_cells: int) -> dict[str, float]:
    from bench_fit import NAS

    from eisna.circuit import load_circuit
    from eisna.fitting.synthetic import FREQ_CELL, noisy_spectrum

    d = load_circuit("symmetric_interlayer")
    rng = np.random.default_rng(7)
    specs = [noisy_spectrum(d, dict(NAS), FREQ_CELL, 0.002, rng) for _ in range(n_cells)]
    cells = [_cell(k, d, s, NAS) for s in specs]
    a = np.array([c[0] for c in cells])
    med = np.median(a, axis=0)
    print(f"\n{n_cells} NAS cells, symmetric_interlayer, 80 points, 14 parameters")
    print("(median per call, process time)")
    print(f"  compiled vs eisna: residual max rel diff {np.max(a[:, 0]):.1e}, Jacobian {np.max(a[:, 1]):.1e}")
    print(f"  residual:             eisna {1e6 * med[4]:6.1f} us   numba {1e6 * med[2]:6.1f} us")
    print(f"  residual + Jacobian:  eisna {1e6 * med[5]:6.1f} us   numba {1e6 * med[3]:6.1f} us")
    print(f"  res + Jac, interpreted kernel (any L/R/RC/RQ/Ws series): {1e6 * med[8]:6.1f} us")
    print(f"    (same numbers as the hand-written kernel to {np.max(a[:, 9]):.1e})")
    print(f"  SVD of J (160x14):    numpy {1e6 * med[6]:6.1f} us   numba svd+cov {1e6 * med[7]:6.1f} us")
    b = np.array([c[1] for c in cells])
    mb = np.median(b, axis=0)
    print("  LM search from eisna's first candidate (C_b parked and held by both):")
    print(
        f"    eisna _solve (MINPACK, Python callbacks): cost {mb[0]:.4g}, "
        f"residuals + Jacobians {mb[1]:.0f}, {1e3 * mb[2]:.2f} ms"
    )
    print(
        f"    numba lm_sine (own LM, all compiled):     cost {mb[3]:.4g}, residuals {mb[4]:.0f}, "
        f"Jacobians {mb[5]:.0f}, {1e3 * mb[6]:.3f} ms"
    )
    worse = int(np.sum(b[:, 3] > b[:, 0] * 1.001))
    print(f"    compiled loop ends > 0.1 % above MINPACK's cost on {worse} of {len(b)} cells")
    return {"lm_ratio": float(np.median(b[:, 6] / b[:, 2])), "svd_nb": float(med[7])}


def compiled_pieces(n_cells: int) -> None:
    """NNLS and SVD calls of a cold eisna fit: raw compiled time vs the Python call around them,
    and the per-stage process time of a cold fit."""
    from bench_fit import NAS, _forget_spectra

    import eisna
    from eisna.circuit import load_circuit
    from eisna.fitting import engine, start
    from eisna.fitting.synthetic import FREQ_CELL, noisy_spectrum

    d = load_circuit("symmetric_interlayer")
    rng = np.random.default_rng(7)
    specs = [noisy_spectrum(d, dict(NAS), FREQ_CELL, 0.002, rng) for _ in range(n_cells)]
    eisna.fit(specs[0], d)
    calls = []
    orig = start._nnls

    def spy(a, b, maxiter):
        calls.append((np.ascontiguousarray(a, dtype=float), np.ascontiguousarray(b, dtype=float), maxiter))
        return orig(a, b, maxiter)

    start._nnls = spy
    try:
        _forget_spectra()
        eisna.fit(specs[0], d)
    finally:
        start._nnls = orig
    raw = start._raw_nnls()
    t_raw = [_per_call(lambda c=c: raw(*c), 200) for c in calls]
    t_wrap = [_per_call(lambda c=c: orig(*c), 200) for c in calls]
    shapes = [c[0].shape for c in calls]
    print(f"\nNNLS solves of one cold NAS fit: {len(calls)}; shapes {sorted(set(shapes))}")
    print(
        f"  raw compiled NNLS {1e6 * sum(t_raw):.0f} us in total (largest {1e6 * max(t_raw):.0f} us), "
        f"through eisna's _nnls {1e6 * sum(t_wrap):.0f} us"
    )

    # per-stage process time of a cold fit (the stages of engine.fit, timed in turn)
    stages: dict[str, float] = {}
    total = 0.0
    for _ in range(3):
        for s in specs:
            _forget_spectra()
            t = [time.process_time()]
            prep = engine._prepare(s, d, "modulus", None, None, None, None)
            t.append(time.process_time())
            starts, sk = engine._start_points(prep)
            starts[0]
            t.append(time.process_time())
            search = engine._search(prep, starts, sk, 4, 150, True)
            engine._escape(prep, search, 150)
            t.append(time.process_time())
            x, pc, pok, held = engine._polish_and_refine(prep, search, 150, True)
            t.append(time.process_time())
            unc = engine._uncertainties(prep, x, held)
            fl, wa, bp, mf = engine._judge(prep, x, unc, search.noise)
            t.append(time.process_time())
            engine._assemble(
                s, prep, search, x, unc, fl, wa, bp, mf, pc, pok, None, 10.0, None, 150, "modulus"
            )
            t.append(time.process_time())
            for name, a, b in zip(
                (
                    "inputs",
                    "start values",
                    "LM search",
                    "polish+refine",
                    "statistics+judge",
                    "physics+result",
                ),
                t[:-1],
                t[1:],
                strict=True,
            ):
                stages[name] = stages.get(name, 0.0) + b - a
            total += t[-1] - t[0]
    n = 3 * len(specs)
    print(f"\ncold NAS fit by stage (process time, mean of {n} fits): total {1e3 * total / n:.2f} ms")
    for name, v in stages.items():
        print(f"  {name:18s} {1e3 * v / n:6.2f} ms  {100 * v / total:4.0f} %")
    return {name: v / n for name, v in stages.items()}, sum(t_raw)


def estimate(measured: dict, stages: dict, nnls_raw: float) -> None:
    """A whole cold NAS fit if the LM loop, the start ranking and the statistics were compiled:
    each stage scaled by what was measured above, the rest by stated assumptions."""
    est = {
        "inputs": (0.5 * stages["inputs"], "half (Python checks stay)"),
        "start values": (nnls_raw + 0.1 * (stages["start values"] - nnls_raw), "raw NNLS + 10 % of the rest"),
        "LM search": (
            measured["lm_ratio"] * stages["LM search"],
            "x measured compiled-LM / MINPACK-solve ratio",
        ),
        "polish+refine": (measured["lm_ratio"] * stages["polish+refine"], "the same ratio"),
        "statistics+judge": (
            2 * measured["svd_nb"] + 0.1 * stages["statistics+judge"],
            "2 compiled SVDs + 10 % of the rest",
        ),
        "physics+result": (0.5 * stages["physics+result"], "half (the FitResult and its dicts stay Python)"),
    }
    total = sum(v for v, _ in est.values())
    now = sum(stages.values())
    print(
        f"\nestimate, cold NAS fit fully compiled: {1e3 * total:.2f} ms "
        f"(now {1e3 * now:.2f} ms, {now / total:.1f}x)"
    )
    for name, (v, how) in est.items():
        print(f"  {name:18s} {1e3 * stages[name]:5.2f} -> {1e3 * v:5.2f} ms  ({how})")


_NAMES = tuple(load_circuit("symmetric_interlayer").param_names)  # the kernels' parameter order


def patch_problem(k):
    """Route ``_Problem.residual`` / ``jacobian`` of an all-free symmetric_interlayer fit
    through the compiled kernel (one call gives the residual, Z and the Jacobian, kept for the
    Jacobian request at the same point, as MINPACK makes it); other fits keep numpy. Returns
    an undo function."""
    from eisna.fitting import solver

    cls = solver._Problem
    orig_res, orig_jac = cls.residual, cls.jacobian

    def state(self):
        st = self.__dict__.get("_nb", 0)
        if st == 0:
            st = None
            if tuple(self.names) == _NAMES and self._all_free:
                st = (
                    np.ascontiguousarray(self.is_log),
                    np.ascontiguousarray(self.s.imag),
                    np.ascontiguousarray(self.z.real),
                    np.ascontiguousarray(self.z.imag),
                    np.ascontiguousarray(self.w_re, dtype=float),
                    np.ascontiguousarray(self.w_im, dtype=float),
                )
            self._nb = st
            self._nb_jac = (None, None)
        return st

    def residual(self, x):
        key = np.asarray(x, dtype=float).tobytes()
        if self._res_key == key:
            return self._res
        st = state(self)
        if st is None:
            return orig_res(self, x)
        self.nfev += 1
        m = self.s.size
        res, jac_t, zf = np.empty(2 * m), np.empty((len(_NAMES), 2 * m)), np.empty(m, dtype=complex)
        k.resjac(np.asarray(x, dtype=float), st[0], st[1], st[2], st[3], st[4], st[5], res, jac_t, zf, True)
        res.flags.writeable = False
        self._res_key, self._res, self._res_d, self._res_parts, self._res_z = key, res, zf - self.z, [], zf
        self._nb_jac = (key, jac_t)
        return res

    def jacobian(self, x):
        key = np.asarray(x, dtype=float).tobytes()
        if self._jac_key == key:
            return self._jac
        st = state(self)
        if st is None:
            return orig_jac(self, x)
        if self._nb_jac[0] != key:
            self.residual(x) if self._res_key != key else None
            if self._nb_jac[0] != key:  # (a residual kept from before the patch)
                self._res_key = None
                self.nfev -= 1
                residual(self, x)
        self.nfev += 1
        jac = self._nb_jac[1].T
        jac.flags.writeable = False
        self._jac_key, self._jac = key, jac
        return jac

    cls.residual, cls.jacobian = residual, jacobian

    def undo():
        cls.residual, cls.jacobian = orig_res, orig_jac

    return undo


def hybrid(k, n: int, rounds: int) -> None:
    """Cold eisna fits with the compiled residual/Jacobian inside MINPACK (everything else
    unchanged) against plain eisna, interleaved spectrum by spectrum; CPU time, least of 3."""
    from bench_fit import NAS, _forget_spectra, max_r_error

    import eisna
    from eisna.circuit import load_circuit
    from eisna.fitting.synthetic import FREQ_CELL, noisy_spectrum, random_parameters

    d = load_circuit("symmetric_interlayer")
    for nas in (True, False):
        rng = np.random.default_rng(7)
        truths = [dict(NAS) if nas else random_parameters(d, rng) for _ in range(n)]
        specs = [noisy_spectrum(d, t, FREQ_CELL, 0.002, rng) for t in truths]
        eisna.fit(specs[0], d)
        t_np, t_nb, dpar, dchi, flags_same, err_np, err_nb = [], [], [], [], 0, [], []
        for s, truth in zip(specs, truths, strict=True):
            tv = [truth[p] for p in d.param_names]
            best = {}
            res = {}
            for _ in range(rounds):
                for mode in ("numpy", "numba"):
                    undo = patch_problem(k) if mode == "numba" else (lambda: None)
                    try:
                        _forget_spectra()
                        t0 = time.process_time()
                        res[mode] = eisna.fit(s, d)
                        dt = time.process_time() - t0
                    finally:
                        undo()
                    best[mode] = min(best.get(mode, math.inf), dt)
            t_np.append(best["numpy"])
            t_nb.append(best["numba"])
            a, b = res["numpy"], res["numba"]
            dpar.append(max(abs(b.params[p] / a.params[p] - 1) for p in d.param_names if a.params[p]))
            dchi.append(b.chisqr / a.chisqr - 1)
            flags_same += sorted(a.flags) == sorted(b.flags)
            err_np.append(max_r_error(d.param_names, [a.params[p] for p in d.param_names], tv, nas))
            err_nb.append(max_r_error(d.param_names, [b.params[p] for p in d.param_names], tv, nas))
        what = "NAS cells" if nas else "random draws"
        print(f"\ncold fits, {n} {what}, CPU time (least of {rounds}), median:")
        print(f"  eisna (numpy evaluations)           {1e3 * np.median(t_np):.2f} ms")
        ratio = np.median(t_np) / np.median(t_nb)
        print(f"  eisna with compiled res/Jacobian    {1e3 * np.median(t_nb):.2f} ms  ({ratio:.2f}x)")
        print(
            f"  results: max rel param diff median {np.median(dpar):.1e}, worst {max(dpar):.1e}; "
            f"chi2 ratio - 1 in [{min(dchi):.1e}, {max(dchi):.1e}]; flags equal {flags_same}/{n}; "
            f"max-R error median {100 * np.median(err_np):.2f} % vs {100 * np.median(err_nb):.2f} %"
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cache-dir", default="/tmp/eisna_numba_cache")
    ap.add_argument("--no-startup", action="store_true")
    ap.add_argument(
        "--hybrid", type=int, default=20, help="spectra for the hybrid (compiled evaluation) fits"
    )
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    try:
        import numba  # noqa: F401
    except ImportError:
        sys.exit(
            "numba is not installed: pip install --target /tmp/numba_pkgs numba llvmlite, then "
            "PYTHONPATH=src:/tmp/numba_pkgs python benchmarks/bench_numba_core.py"
        )
    cache = Path(args.cache_dir)
    if not args.no_startup:
        startup(cache, args.rounds)
    kern = _kernels(cache)
    measured = kernels_vs_eisna(kern, args.cells)
    stages, nnls_raw = compiled_pieces(args.cells)
    estimate(measured, stages, nnls_raw)
    hybrid(kern, args.hybrid, 3)
