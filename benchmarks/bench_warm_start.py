#!/usr/bin/env python3
"""Warm starts along a time series: naive, guarded (``eisna.fit_series``) and cold.

Usage::

    python benchmarks/bench_warm_start.py --chains 4
    python benchmarks/bench_warm_start.py --perturbed --draws 10 --tries 10   # issue 13 item 6
    python benchmarks/bench_warm_start.py --perturbed --tries 10 --corpus ../shared/corpus

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

``--perturbed`` (issue 13, item 6): for every library circuit, ``--draws`` known-answer spectra
(0.2 % noise); each is fitted cold, from the truth, and ``--tries`` times from a warm start
``initial = fitted × lognormal(σ = ln 1.5)`` (exponents n perturbed by ±0.05, kept in their
bounds). The best χ² is the lowest of all these fits; a warm try "reaches" it when its χ² is
within 0.1 % of it. With ``--corpus`` the spectra are the first PEIS sweep (≥ 20 points) of
every BioLogic .mpt file of the corpus instead, fitted with every library circuit.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from pathlib import Path

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
    return {
        "L": 2e-7,
        "R_b": 42.4,
        "C_b": 13.9e-12,
        "R_gb": 21.0,
        "Q_gb": _q(21.0, 2e6, 0.8),
        "n_gb": 0.8,
        "R_int": r_int,
        "Q_int": _q(r_int, 1e4, 0.85) if r_int else 1.0,
        "n_int": 0.85,
        "R_ct": 40.0,
        "Q_ct": _q(40.0, 300, 0.9),
        "n_ct": 0.9,
        "R_W": 12.0,
        "tau_W": 1.0,
    }


def noisy(defn, truth: dict[str, float], rng: np.random.Generator) -> Spectrum:
    z = defn.circuit.impedance(FREQ_CELL, truth)
    sigma = 0.002 * np.sqrt(1 + (FREQ_CELL / 2e6) ** 2) * np.sqrt(1 + 0.5 / FREQ_CELL)
    z = z + sigma * np.abs(z) * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size))
    return Spectrum(FREQ_CELL, z)


def _corpus_spectra(corpus: str) -> list[Spectrum]:
    """The first PEIS spectrum (≥ 20 points) of every BioLogic .mpt file of the corpus."""
    out = []
    for path in sorted(Path(corpus, "biologic-mpt").glob("*.mpt")):
        try:
            spectra = eisna.read(path)
        except eisna.EisnaError:
            continue
        peis = [s for s in spectra if s.meta.get("technique") != "GEIS" and len(s) >= 20]
        out.extend(peis[:1])
    return out


def perturbed(
    draws: int,
    tries: int,
    seed: int = 13,
    corpus: str | None = None,
    circuits: list[str] | None = None,
    detail: bool = False,
) -> None:
    """Share of perturbed warm starts that reach the best χ² found, per library circuit."""
    from eisna.fitting.synthetic import KNOWN_ANSWER_PRIORS, identifiable_parameters, noisy_spectrum

    real = _corpus_spectra(corpus) if corpus else []
    what = (
        f"{len(real)} corpus spectra (first PEIS sweep of each .mpt)"
        if corpus
        else f"{draws} known-answer draws (0.2 % noise)"
    )
    print(f"perturbed warm starts: {what} × {tries} tries per circuit, initial = fit × lognormal(ln 1.5)")
    print(
        "| circuit | tries | reach best χ² (within 0.1 %) | median χ²/best of misses | "
        "ms per warm fit | ms per cold fit | evaluations per warm fit | per cold fit | "
        "cold fit at best χ² | misses where the cold fit misses too |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    total = [0, 0]
    for name in circuits or eisna.list_circuits():
        d = load_circuit(name)
        rng = np.random.default_rng(seed)
        hits = n = cold_hits = n_spectra = shared_misses = 0
        misses: list[float] = []
        t_warm = t_cold = 0.0
        nfev_warm = nfev_cold = 0
        for i in range(len(real) if corpus else draws):
            if corpus:
                s, truth = real[i], None
            else:
                truth, _k = identifiable_parameters(d, rng)
                s = noisy_spectrum(d, truth, KNOWN_ANSWER_PRIORS[name].freq, 0.002, rng)
            t0 = time.perf_counter()
            try:
                cold = eisna.fit(s, d)
            except eisna.EisnaError:
                continue
            t_cold += time.perf_counter() - t0
            nfev_cold += cold.nfev
            chis = [cold.chisqr] + ([eisna.fit(s, d, initial=truth).chisqr] if truth else [])
            warm = []
            for _ in range(tries):
                init = {}
                for p, v in cold.params.items():
                    dp = d.defaults[p]
                    if dp.scale == "log":
                        init[p] = float(np.clip(v * math.exp(rng.normal(0, math.log(1.5))), dp.min, dp.max))
                    else:
                        init[p] = float(np.clip(v + rng.normal(0, 0.05), dp.min, dp.max))
                t0 = time.perf_counter()
                r = eisna.fit(s, d, initial=init)
                t_warm += time.perf_counter() - t0
                warm.append(r.chisqr)
                nfev_warm += r.nfev
            best = min(chis + warm)
            cold_ok = cold.chisqr <= best * (1 + 1e-3)
            n_spectra += 1
            cold_hits += cold_ok
            for c in warm:
                n += 1
                if c <= best * (1 + 1e-3):
                    hits += 1
                else:
                    misses.append(c / best)
                    shared_misses += not cold_ok
            if detail and any(c > best * (1 + 1e-3) for c in warm):
                label = Path(str(s.meta.get("source", i))).name if corpus else i
                ratios = " ".join(f"{c / best:.4f}" for c in warm)
                print(f"  miss: {name} {label}: cold {cold.chisqr / best:.4f}, warm {ratios}", flush=True)
        total[0] += hits
        total[1] += n
        miss = f"{np.median(misses):.3f}" if misses else "–"
        print(
            f"| {name} | {n} | {hits}/{n} ({100 * hits / n:.0f} %) | {miss} | "
            f"{1e3 * t_warm / n:.1f} | {1e3 * t_cold / (n / tries):.1f} | "
            f"{nfev_warm / n:.0f} | {nfev_cold / (n / tries):.0f} | "
            f"{cold_hits}/{n_spectra} | {shared_misses}/{len(misses)} |",
            flush=True,
        )
    print(f"all circuits: {total[0]}/{total[1]} ({100 * total[0] / total[1]:.1f} %)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--perturbed", action="store_true", help="issue 13 item 6: perturbed warm starts")
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--tries", type=int, default=10)
    ap.add_argument("--corpus", default=None, help="with --perturbed: the corpus folder (real spectra)")
    ap.add_argument("--seed", type=int, default=13, help="with --perturbed: seed of the perturbations")
    ap.add_argument("--circuits", nargs="+", default=None, help="with --perturbed: library circuits")
    ap.add_argument("--detail", action="store_true", help="with --perturbed: list the misses per spectrum")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.perturbed:
        perturbed(args.draws, args.tries, args.seed, args.corpus, args.circuits, args.detail)
        return 0
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
                    initial = (
                        guard.guarded_start(prev["guarded"], "symmetric_interlayer")
                        if prev["guarded"] is not None
                        else None
                    )
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
    print(
        "| start values | converged | R_int within 5 % (where > 10 % grown) | ms per fit "
        "| C_b handed on (range) |"
    )
    print("|---|---|---|---|---|")
    for mode, st in stats.items():
        cb = f"{min(st['cb']):.2g}–{max(st['cb']):.2g} F" if st["cb"] else "–"
        ms = 1e3 * st["s"] / st["n"]
        print(f"| {mode} | {st['ok']}/{st['n']} | {st['r_int']}/{st['n']} | {ms:.1f} | {cb} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
