#!/usr/bin/env python3
"""Warm starts along a time series: naive, guarded (``eisna.fit_series``) and cold.

Usage::

    python benchmarks/bench_warm_start.py --chains 4

Each chain is the 49-sweep NAS trajectory of eis-science §4.2 (JMAK interlayer growth, bulk arc
at 270 MHz above the 7 MHz window, 80 points, the benchmark's noise model) with its own noise
seed. Every spectrum is fitted with ``symmetric_interlayer`` from the spectrum at t ≥ 1.5 h on
(where the interlayer exists) three ways:

* naive: ``eisna.fit(s, initial=previous.params)``, every parameter handed on;
* guarded: the start values ``fit_series`` hands on (parameters on a bound, or unidentifiable
  and drifted > 2 decades, reset to automatic start values);
* cold: automatic start values every time.

A fit counts as converged when it reports success without ``poor_fit``; "R_int within 5 %"
compares with the truth at that time. The table gives the counts, the time per fit and the
C_b values handed on (the parameter the data do not determine).
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np

import eisna
from eisna.circuit import load_circuit
from eisna.fitting.synthetic import FREQ_CELL
from eisna.series import SeriesOptions, _Fitter
from eisna.spectrum import Spectrum


def _q(R: float, f_apex: float, n: float) -> float:
    return (1 / (2 * math.pi * f_apex)) ** n / R


def nas_truth(t_h: float) -> dict[str, float]:
    g = 0.0 if t_h <= 1.0 else 1.0 - math.exp(-(((t_h - 1.0) / 6.0) ** 1.5))
    r_int = 180.0 * g
    return {"L": 2e-7, "R_b": 42.4, "C_b": 13.9e-12, "R_gb": 21.0, "Q_gb": _q(21.0, 2e6, 0.8), "n_gb": 0.8,
            "R_int": r_int, "Q_int": _q(r_int, 1e4, 0.85) if r_int else 1.0, "n_int": 0.85,
            "R_ct": 40.0, "Q_ct": _q(40.0, 300, 0.9), "n_ct": 0.9, "R_W": 12.0, "tau_W": 1.0}


def noisy(defn, truth: dict[str, float], rng: np.random.Generator) -> Spectrum:
    z = defn.circuit.impedance(FREQ_CELL, truth)
    sigma = 0.002 * np.sqrt(1 + (FREQ_CELL / 2e6) ** 2) * np.sqrt(1 + 0.5 / FREQ_CELL)
    z = z + sigma * np.abs(z) * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size))
    return Spectrum(FREQ_CELL, z)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chains", type=int, default=4)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    defn = load_circuit("symmetric_interlayer")
    guard = _Fitter(SeriesOptions("symmetric_interlayer", "symmetric_cell"))
    times = [0.5 * i for i in range(3, 49)]  # the interlayer exists from 1.5 h on
    stats = {k: {"ok": 0, "r_int": 0, "n": 0, "s": 0.0, "cb": []} for k in ("naive", "guarded", "cold")}
    eisna.fit(noisy(defn, nas_truth(10.0), np.random.default_rng(0)), defn)  # warm imports
    for chain in range(args.chains):
        rng = np.random.default_rng(20250319 + chain)
        spectra = [noisy(defn, nas_truth(t), rng) for t in times]
        prev = {"naive": None, "guarded": None}
        for t, s in zip(times, spectra, strict=True):
            r_true = nas_truth(t)["R_int"]
            for mode in ("naive", "guarded", "cold"):
                if mode == "naive":
                    initial = dict(prev["naive"].params) if prev["naive"] is not None else None
                elif mode == "guarded":
                    initial = guard.guarded_start(prev["guarded"], "symmetric_interlayer") if prev[
                        "guarded"] is not None else None
                else:
                    initial = None
                t0 = time.perf_counter()
                r = eisna.fit(s, defn, initial=initial)
                st = stats[mode]
                st["s"] += time.perf_counter() - t0
                st["n"] += 1
                st["ok"] += bool(r.success and "poor_fit" not in r.flags)
                st["r_int"] += abs(r.params["R_int"] / r_true - 1) < 0.05 if r_true > 18.0 else 1
                if initial and "C_b" in initial:
                    st["cb"].append(initial["C_b"])
                if mode in prev:
                    prev[mode] = r
    print(f"{args.chains} chains × {len(times)} NAS spectra (t = 1.5–24 h), symmetric_interlayer")
    print("| start values | converged | R_int within 5 % (where > 10 % grown) | ms per fit "
          "| C_b handed on (range) |")
    print("|---|---|---|---|---|")
    for mode, st in stats.items():
        cb = f"{min(st['cb']):.2g}–{max(st['cb']):.2g} F" if st["cb"] else "–"
        ms = 1e3 * st["s"] / st["n"]
        print(f"| {mode} | {st['ok']}/{st['n']} | {st['r_int']}/{st['n']} | {ms:.1f} | {cb} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
