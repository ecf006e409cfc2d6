"""Speed and accuracy of ``eisna.kk_test`` (lin-KK) and ``eisna.drt``.

Usage::

    /work/venv/bin/python benchmarks/bench_kk_drt.py            # full run (~1 min)
    /work/venv/bin/python benchmarks/bench_kk_drt.py --quick    # fewer draws

Prints Markdown tables for the ``## Validation`` section of BENCHMARKS.md:

1. time per call on 80-point spectra (median and best of repeated calls, warm);
2. lin-KK verdicts: the 49+49 Tier-A sample spectra (eis-science §4.2 criterion (i)),
   fresh Tier-A draws, drift during the sweep and single outliers;
3. DRT known answer: R∞ + three ZARCs, peak τ within ±0.15 decade and R within 10 %.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from eisna import Spectrum, read
from eisna.relaxation import drt
from eisna.validation import kk_test

REPO = Path(__file__).resolve().parents[1]
FREQ = np.geomspace(7e6, 0.1, 80)


def zarc(freq, R, f_c, n):
    return R / (1.0 + (1j * freq / f_c) ** n)


def nas_cell(freq, R_int=100.0, R_ct=40.0):
    """The NAS cell of eis-science §4.1 (Ω): L, bulk R‖C, gb, interlayer, ct ZARCs and a Warburg."""
    w = 2 * np.pi * freq
    s = np.sqrt(1j * w * 1.0)
    return (
        1j * w * 2e-7
        + 42.4 / (1 + 1j * w * 42.4 * 13.9e-12)
        + zarc(freq, 21.0, 2e6, 0.8)
        + zarc(freq, R_int, 1e4, 0.85)
        + zarc(freq, R_ct, 300.0, 0.9)
        + 12.0 * np.tanh(s) / s
    )


def sigma_r(freq):
    """Noise model of eis-science §4.2 (fraction of |Z| per part)."""
    return 0.002 * np.sqrt(1 + (freq / 2e6) ** 2) * np.sqrt(1 + 0.5 / freq)


def noisy(z, rng, sigma):
    return z + sigma * np.abs(z) * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size))


def sweep_fraction(freq):
    """Fraction of the sweep elapsed at each point (0.25 s + 3 periods per point, §4.2 Tier B)."""
    t = np.cumsum(0.25 + 3.0 / freq)
    return t / t[-1]


def timing(spectrum, repeats):
    def clock(func, timer):
        times = []
        for _ in range(repeats):
            t0 = timer()
            func(spectrum)
            times.append(timer() - t0)
        return 1e3 * np.median(times), 1e3 * min(times)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Load average at start: {load:.1f} (2 cores).\n")
    print("| call | wall median (ms) | wall best (ms) | CPU median (ms) | CPU best (ms) | first call (ms) |")
    print("|---|---|---|---|---|---|")
    for name, func in (("kk_test", kk_test), ("drt", drt)):
        t0 = time.perf_counter()
        func(spectrum)  # first call: imports scipy.optimize, builds the kernel cache
        first = 1e3 * (time.perf_counter() - t0)
        wall = clock(func, time.perf_counter)
        cpu = clock(func, time.process_time)
        print(
            f"| `{name}` on 80 points | {wall[0]:.1f} | {wall[1]:.1f} | {cpu[0]:.1f} | {cpu[1]:.1f} |"
            f" {first:.0f} |"
        )


def kk_accuracy(draws, rng):
    print("| data | spectra | lin-KK pass (default limit) | pass with limit 3σ_r |")
    print("|---|---|---|---|")
    for name in ("nas", "nps"):
        path = REPO / "sample_spectra" / f"{name}_looped.mpt"
        if not path.is_file():
            continue
        spectra = read(path)
        n_def = sum(kk_test(s).passed for s in spectra)
        n_3s = sum(kk_test(s, threshold=3 * sigma_r(s.freq)).passed for s in spectra)
        print(f"| `sample_spectra/{name}_looped.mpt` (Tier A) | {len(spectra)} | {n_def} | {n_3s} |")
    n_def = n_3s = 0
    for _ in range(draws):
        z = noisy(nas_cell(FREQ, R_int=rng.uniform(0, 180)), rng, sigma_r(FREQ))
        n_def += kk_test(Spectrum(FREQ, z)).passed
        n_3s += kk_test(Spectrum(FREQ, z), threshold=3 * sigma_r(FREQ)).passed
    print(f"| fresh Tier-A draws, R_int ~ U(0, 180 Ω) | {draws} | {n_def} | {n_3s} |")
    print()
    print("| non-KK data (σ_r(f) noise) | spectra | detected (lin-KK FAIL) | Z-HIT FAIL | either |")
    print("|---|---|---|---|---|")
    frac = sweep_fraction(FREQ)
    for what, drift in (("R_int", 0.05), ("R_int", 0.10), ("R_int", 0.20), ("R_ct", 0.15), ("R_ct", 0.30)):
        n_fail = n_zhit = n_either = 0
        for _ in range(draws // 4):
            z = np.array(
                [
                    nas_cell(
                        np.array([f]),
                        R_int=100.0 * (1 + drift * t) if what == "R_int" else 100.0,
                        R_ct=40.0 * (1 + drift * t) if what == "R_ct" else 40.0,
                    )[0]
                    for f, t in zip(FREQ, frac, strict=True)
                ]
            )
            res = kk_test(Spectrum(FREQ, noisy(z, rng, sigma_r(FREQ))))
            zhit_fail = res.zhit is not None and not res.zhit.passed
            n_fail += not res.passed
            n_zhit += zhit_fail
            n_either += (not res.passed) or zhit_fail
        label = f"{what} (100 Ω / 40 Ω) rises {100 * drift:.0f} % during the sweep"
        print(f"| {label} | {draws // 4} | {n_fail} | {n_zhit} | {n_either} |")
    n_fail = 0
    for _ in range(draws // 4):
        z = noisy(nas_cell(FREQ), rng, sigma_r(FREQ))
        k = int(rng.integers(5, 75))
        z[k] += 0.03 * abs(z[k]) * np.exp(2j * np.pi * rng.uniform())
        res = kk_test(Spectrum(FREQ, z))
        n_fail += (not res.passed) and k in res.bad_points
    label = "one outlier of 3 % of abs(Z), random phase (flagged at its index)"
    print(f"| {label} | {draws // 4} | {n_fail} | | |")


def drt_accuracy(draws, rng):
    freq = np.geomspace(1e6, 0.01, 80)
    arcs = [(50.0, 1e4, 0.9), (100.0, 100.0, 0.85), (30.0, 0.3, 0.95)]
    z0 = 10.0 + 1j * 2 * np.pi * freq * 1e-7 + sum(zarc(freq, *a) for a in arcs)
    print("| noise | draws | 3 peaks found | all τ within 0.15 dec and R within 10 % | worst R error |")
    print("|---|---|---|---|---|")
    for sigma in (0.002, 0.01):
        n_three = n_ok = 0
        worst = 0.0
        for _ in range(draws):
            res = drt(Spectrum(freq, noisy(z0, rng, sigma)))
            n_three += len(res.peaks) == 3
            ok = True
            for R, f_c, _n in arcs:
                tau = 1 / (2 * np.pi * f_c)
                near = [p for p in res.peaks if abs(np.log10(p.tau / tau)) <= 0.15]
                err = min((abs(p.R / R - 1) for p in near), default=1.0)
                worst = max(worst, err)
                ok &= err <= 0.10
            n_ok += ok
        print(f"| {100 * sigma:.1f} % | {draws} | {n_three} | {n_ok} | {100 * worst:.1f} % |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer random draws")
    args = parser.parse_args()
    draws = 40 if args.quick else 200
    rng = np.random.default_rng(20250319)
    sample = REPO / "sample_spectra" / "nas_looped.mpt"
    spectrum = (
        read(sample)[20] if sample.is_file() else Spectrum(FREQ, noisy(nas_cell(FREQ), rng, sigma_r(FREQ)))
    )
    print("### Speed\n")
    timing(spectrum, 30 if args.quick else 100)
    print("\n### lin-KK verdicts\n")
    kk_accuracy(draws, rng)
    print("\n### DRT known answer\n")
    drt_accuracy(draws // 4, rng)


if __name__ == "__main__":
    main()
