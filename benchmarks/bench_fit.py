"""Fit benchmark: speed of eisna.fit vs impedance.py CustomCircuit.fit, and the known-answer report.

Usage::

    python benchmarks/bench_fit.py --n 20            # speed + accuracy on 4-arc symmetric cells
    python benchmarks/bench_fit.py --n 10 --nas      # the same on the NAS benchmark cell
    python benchmarks/bench_fit.py --n 20 --cpu      # CPU time of cold eisna fits alone
    python benchmarks/bench_fit.py --known-answer    # 200-draw sweep of every library circuit
    python benchmarks/bench_fit.py --known-answer --wide   # the same on the wide (unfiltered) prior

The speed spectra are random identifiable draws of ``symmetric_interlayer`` (bulk, grain
boundary, interlayer and charge-transfer arcs plus Ws; 80 points 7 MHz–0.1 Hz, 0.2 % noise).
eisna starts from its automatic start values; impedance.py gets the same circuit string and the
true values ×1.5 (exponents n ×1.05, capped at 1). Every timed eisna fit is cold: the DRT
sketch and noise estimate that eisna keeps per spectrum (for the refits of a series) are dropped
before it; the warm refit time is printed on its own line.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import eisna
from eisna.circuit import load_circuit
from eisna.fitting.synthetic import FREQ_CELL, noisy_spectrum, random_parameters


def max_r_error(names, fitted, truth, merge_se=False):
    f, t = dict(zip(names, fitted, strict=True)), dict(zip(names, truth, strict=True))
    if merge_se:  # bulk arc above the window: only R_b + R_gb is determined
        f["R_gb"] += f.pop("R_b")
        t["R_gb"] += t.pop("R_b")
    return max(abs(f[n] / t[n] - 1) for n in f if n.startswith("R"))


def _q(R, f_apex, n):
    return (1 / (2 * np.pi * f_apex)) ** n / R


# eis-science.md §4.1: the NAS cell with its interlayer grown (bulk arc above 7 MHz)
NAS = {
    "L": 2e-7,
    "R_b": 42.4,
    "C_b": 13.9e-12,
    "R_gb": 21.0,
    "Q_gb": _q(21.0, 2e6, 0.8),
    "n_gb": 0.8,
    "R_int": 180.0,
    "Q_int": _q(180.0, 1e4, 0.85),
    "n_int": 0.85,
    "R_ct": 40.0,
    "Q_ct": _q(40.0, 300, 0.9),
    "n_ct": 0.9,
    "R_W": 12.0,
    "tau_W": 1.0,
}


def fit_impedance_py(d, values, s, clock=time.perf_counter):
    """impedance.py's ``CustomCircuit.fit`` of circuit ``d`` on spectrum ``s``, started from
    ``values`` ×1.5 (exponents n ×1.05, capped at 1): the fitted circuit and the ``clock``
    seconds of the fit alone."""
    from impedance.models.circuits import CustomCircuit

    guess = [
        min(v * 1.05, 1.0) if p.startswith("n_") else v * 1.5
        for p, v in zip(d.param_names, values, strict=True)
    ]
    cc = CustomCircuit(d.circuit.text, initial_guess=guess)
    t0 = clock()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cc.fit(np.asarray(s.freq), np.asarray(s.z))
    return cc, clock() - t0


def speed(n: int, seed: int = 7, nas: bool = False) -> None:
    d = load_circuit("symmetric_interlayer")
    rng = np.random.default_rng(seed)
    t_e, t_w, t_i, e_e, e_i = [], [], [], [], []
    eisna.fit(noisy_spectrum(d, random_parameters(d, rng), FREQ_CELL, 0.002, rng), d)  # warm imports
    for _ in range(n):
        truth = dict(NAS) if nas else random_parameters(d, rng)
        s = noisy_spectrum(d, truth, FREQ_CELL, 0.002, rng)
        tv = [truth[p] for p in d.param_names]
        reps, warm = [], []
        for _ in range(5):
            _forget_spectra()  # a cold fit: nothing kept from an earlier fit of this spectrum
            t0 = time.perf_counter()
            r = eisna.fit(s, d)
            reps.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            eisna.fit(s, d)  # the same again with its DRT sketch and noise estimate kept
            warm.append(time.perf_counter() - t0)
        t_e.append(np.median(reps))
        t_w.append(np.median(warm))
        e_e.append(max_r_error(d.param_names, [r.params[p] for p in d.param_names], tv, nas))
        cc, seconds = fit_impedance_py(d, tv, s)
        t_i.append(seconds)
        e_i.append(max_r_error(d.param_names, list(cc.parameters_), tv, nas))
    what = "NAS benchmark cell (eis-science.md 4.1), noise seeds" if nas else "random identifiable draws"
    print(f"{n} spectra, symmetric_interlayer (14 parameters), 80 points, 0.2 % noise, {what}")
    if nas:
        print("(max-R error over R_SE = R_b + R_gb, R_int, R_ct, R_W: R_b alone is not identifiable)")
    print(
        f"eisna.fit (auto start)     median {1e3 * np.median(t_e):7.1f} ms  max {1e3 * max(t_e):7.1f} ms  "
        f"median max-R error {100 * np.median(e_e):.2f} %  worst {100 * max(e_e):.2f} %"
    )
    print(
        f"impedance.py (truth x1.5)  median {1e3 * np.median(t_i):7.1f} ms  max {1e3 * max(t_i):7.1f} ms  "
        f"median max-R error {100 * np.median(e_i):.2f} %  worst {100 * max(e_i):.2f} %"
    )
    print(f"speed-up (median): {np.median(t_i) / np.median(t_e):.1f}x")
    print(
        f"(eisna refitting a spectrum it has seen, sketch and noise estimate kept, as a series does: "
        f"median {1e3 * np.median(t_w):.1f} ms, {np.median(t_i) / np.median(t_w):.1f}x)"
    )


def cpu_time(n: int, seed: int = 7, nas: bool = False) -> None:
    """CPU time of cold eisna fits alone (no impedance.py): the least of 5 per spectrum, median
    over ``n`` spectra; steadier than wall time on a shared machine."""
    d = load_circuit("symmetric_interlayer")
    rng = np.random.default_rng(seed)
    specs = [
        noisy_spectrum(d, dict(NAS) if nas else random_parameters(d, rng), FREQ_CELL, 0.002, rng)
        for _ in range(n)
    ]
    eisna.fit(specs[0], d)  # warm imports
    best = []
    for s in specs:
        reps = []
        for _ in range(5):
            _forget_spectra()
            t0 = time.process_time()
            eisna.fit(s, d)
            reps.append(time.process_time() - t0)
        best.append(min(reps))
    what = "NAS cells" if nas else "random draws"
    print(f"eisna.fit cold, CPU time, {n} {what}: median {1e3 * np.median(best):.2f} ms")


def _forget_spectra() -> None:
    """Drop the per-spectrum caches (DRT sketch, noise estimate) so every timed fit is cold."""
    from eisna.fitting import quality, start

    start._SKETCHES.clear()
    quality._NOISE.clear()


def known_answer(prior: str = "known") -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_fit_known_answer import sweep

    print(f"prior: {prior}")
    print(
        "| circuit | noise | draws | prior acceptance (CRB filter) | global optimum | "
        "R 1 % & n 0.01 (5 %/0.03 at 1 % noise) | identifiable at this noise (CRB 3σ) | "
        "criterion among them | truth within 3σ | role_mismatch flag | time |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in eisna.list_circuits():
        for noise, n in ((0.002, 200), (0.01, 200)):
            t0 = time.perf_counter()
            r = sweep(name, noise, n, prior=prior)
            ci = r["criterion_identifiable"]
            among = f"{100 * ci:.1f} %" if ci == ci else "–"
            print(
                f"| {name} | {100 * noise:.1f} % | {n} | {100 * r['acceptance']:.0f} % | "
                f"{100 * r['optimum']:.1f} % | {100 * r['criterion']:.1f} % | "
                f"{100 * r['identifiable']:.0f} % | {among} | {100 * r['consistent']:.1f} % | "
                f"{100 * r['role_mismatch']:.1f} % | {time.perf_counter() - t0:.0f} s |",
                flush=True,
            )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--known-answer", action="store_true")
    ap.add_argument("--nas", action="store_true", help="NAS benchmark cell instead of random draws")
    ap.add_argument("--cpu", action="store_true", help="CPU time of cold eisna fits only")
    ap.add_argument(
        "--wide",
        action="store_true",
        help="known-answer sweep on the wide prior (random_parameters, no CRB filter)",
    )
    args = ap.parse_args()
    if args.known_answer:
        known_answer("wide" if args.wide else "known")
    elif args.cpu:
        cpu_time(args.n, nas=args.nas)
    else:
        speed(args.n, nas=args.nas)
