#!/usr/bin/env python3
"""Change during a sweep (series/sweep.py): known answers and the growth-law time axis.

Usage::

    python benchmarks/bench_sweep_time.py               # 6 seeds
    python benchmarks/bench_sweep_time.py --seeds 10

Synthetic series of ``symmetric_two_arcs`` whose every point is evaluated at its own time: the
low-frequency arc R_ct (apex 0.05 Hz) grows by first-order kinetics from t0 = 0.75 h
(R = 30 + 250 (1 − exp(−(t − t0)/1 h)) Ω), one 33-min sweep (1 MHz → 5 mHz, 84 points, 0.25 s +
2 periods per point) every 15 min for 8 h, 0.2 % noise. Per seed:

1. the change during the sweep: estimated ``sweep_change_pct`` against the truth
   100·(R(t_arc) − R(t_start))/R(t_arc) on the spectra that changed by more than 5 %, and the
   flags on the spectra that changed by less than 2.5 %;
2. the first-order law fitted on the sweep starts (default) and on ``t_arc_h``
   (``track_time="arc"``): |error| of t0, τ, ΔR and t95 against the truth.
"""

from __future__ import annotations

import argparse
import math
import warnings

import numpy as np

from eisna import fit_series
from eisna.circuit import load_circuit
from eisna.kinetics import fit_kinetics
from eisna.spectrum import Spectrum

DEFN = load_circuit("symmetric_two_arcs")
FREQ = np.geomspace(1e6, 5e-3, 84)
STEP_S = 0.25 + 2.0 / FREQ
OFFSETS_S = np.cumsum(STEP_S) - STEP_S[0]
T0, TAU, R0, DR = 0.75, 1.0, 30.0, 250.0
TRUTH = {"t0_h": T0, "tau_h": TAU, "dR": DR, "t95_h": T0 + math.log(20.0) * TAU}


def r_ct(t_h):
    h = np.maximum(np.asarray(t_h, float) - T0, 0.0)
    return R0 + DR * (1.0 - np.exp(-h / TAU))


def _arc(name: str, r: float, f_apex: float, n: float = 0.9) -> dict[str, float]:
    """R, Q and n of an R‖CPE arc with its apex at ``f_apex`` (Hz): Q = τ^n / R."""
    tau = 1.0 / (2.0 * np.pi * f_apex)
    return {f"R_{name}": r, f"Q_{name}": tau**n / r, f"n_{name}": n}


def params(r: float) -> dict[str, float]:
    """symmetric_two_arcs: bulk 50 Ω, grain boundary 30 Ω at 100 kHz, R_ct = ``r`` at 0.05 Hz."""
    return {"L": 1e-7, "R_b": 50.0, **_arc("gb", 30.0, 1e5), **_arc("ct", r, 0.05)}


def spectra(seed: int) -> list[Spectrum]:
    rng = np.random.default_rng(100 + seed)
    out = []
    for i in range(33):
        t0 = 0.25 * i
        z = np.array(
            [
                DEFN.circuit.impedance(FREQ[k : k + 1], params(float(r_ct(t0 + OFFSETS_S[k] / 3600.0))))[0]
                for k in range(FREQ.size)
            ]
        )
        z = z + 0.002 * np.abs(z) * (rng.normal(size=z.size) + 1j * rng.normal(size=z.size))
        meta = {"source": "synthetic", "index": i, "point_time_s": tuple(OFFSETS_S.tolist())}
        out.append(Spectrum(FREQ, z, elapsed_s=t0 * 3600.0, meta=meta))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=6)
    args = ap.parse_args()
    errors: dict[str, list[list[float]]] = {"start": [], "arc": []}
    ratios, false_flags, missed = [], 0, 0
    for seed in range(args.seeds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            series = fit_series(spectra(seed), "symmetric_two_arcs", baseline=None)
        tr = next(t for t in series.tracks if t.quantity == "R_ct")
        truth = 100.0 * (r_ct(tr.t_arc_h) - r_ct(tr.t_h)) / r_ct(tr.t_arc_h)
        big, small = truth > 5.0, truth < 2.5
        ratios += list(tr.sweep_change_pct[big] / truth[big])
        missed += int((~tr.changed_during_sweep[big & (truth > 10.0)]).sum())
        false_flags += int(tr.changed_during_sweep[small].sum())
        line = [f"seed {seed}: delay {np.nanmedian(tr.t_arc_h - tr.t_h) * 60:.1f} min"]
        for axis, t in (("start", tr.t_h), ("arc", tr.t_arc_h)):
            best = fit_kinetics(t, tr.values, tr.stderr, models=("first_order",))
            p = {**best.best.params, "t95_h": best.t95_h}
            errors[axis].append([abs(p[k] - v) for k, v in TRUTH.items()])
            line.append(
                f"{axis}: t0 {p['t0_h']:.3f} τ {p['tau_h']:.3f} ΔR {p['dR']:.1f} t95 {p['t95_h']:.3f}"
            )
        print("; ".join(line), flush=True)
    r = np.asarray(ratios)
    print(
        f"change during the sweep, spectra that changed > 5 %: estimate/truth median {np.median(r):.3f} "
        f"(range {r.min():.2f}-{r.max():.2f}, n = {r.size}); missed flags (truth > 10 %): {missed}; "
        f"false flags (truth < 2.5 %): {false_flags}"
    )
    print("truth:", ", ".join(f"{k} {v:.3f}" for k, v in TRUTH.items()))
    for axis, rows in errors.items():
        mean = np.mean(rows, axis=0)
        print(
            f"growth law on the {axis:5s} axis, mean |error|: "
            + ", ".join(f"{k} {m:.3f}" for k, m in zip(TRUTH, mean, strict=True))
        )


if __name__ == "__main__":
    main()
