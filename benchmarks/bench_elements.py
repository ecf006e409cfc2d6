"""Fits of circuits with G, Gs, TLMQ, T and HN on impedance.py spectra: how often the truth is found.

Usage::

    python benchmarks/bench_elements.py          # 20 seeds × 0.2 % and 0.5 % noise per case

A fit "recovers" when every parameter but the series R0 is within 5 % of the truth (exponents
within 0.02) or within 4 standard errors of it, and it carries no poor_fit flag. Prints, per
case, recovered/total, the wrong fits without any flag (silent), and the median CPU time per
fit. HN is skipped where eisna lacks it.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

import eisna
from eisna import Spectrum
from eisna.circuit import ELEMENTS

FREQ = np.geomspace(1e6, 1e-2, 71)
S = 2j * np.pi * FREQ


def _cases():
    from impedance.models.circuits import elements as ipy

    def rq(R, Q, n):
        return 1.0 / (1.0 / R + Q * S**n)

    def hn(R, tau, a, b):
        return R / (1.0 + (S * tau) ** a) ** b

    return [
        ("R0-TLMQ0", [20.0, 300.0, 2e-5, 0.85], lambda: 20.0 + ipy.TLMQ([300.0, 2e-5, 0.85], FREQ)),
        ("R0-TLMQ0", [20.0, 5e3, 1e-8, 0.8], lambda: 20.0 + ipy.TLMQ([5e3, 1e-8, 0.8], FREQ)),
        (
            "R0-p(R1,CPE1)-Gs0",
            [20.0, 150.0, 1e-7, 0.9, 200.0, 1e-2, 1.5],
            lambda: 20.0 + rq(150.0, 1e-7, 0.9) + ipy.Gs([200.0, 1e-2, 1.5], FREQ),
        ),
        (
            "R0-p(R1,CPE1)-Gs0",
            [20.0, 3e3, 1e-9, 0.9, 2e3, 1e-4, 0.7],
            lambda: 20.0 + rq(3e3, 1e-9, 0.9) + ipy.Gs([2e3, 1e-4, 0.7], FREQ),
        ),
        (
            "R0-p(R1,CPE1)-G0",
            [20.0, 3e3, 1e-9, 0.9, 2e3, 1e-3],
            lambda: 20.0 + rq(3e3, 1e-9, 0.9) + ipy.G([2e3, 1e-3], FREQ),
        ),
        ("R0-T0", [20.0, 50.0, 30.0, 2.0, 1e-2], lambda: 20.0 + ipy.T([50.0, 30.0, 2.0, 1e-2], FREQ)),
        (
            "R0-HN0-p(R1,CPE1)",
            [20.0, 4e3, 2e-6, 0.9, 0.7, 800.0, 1e-5, 0.85],
            lambda: 20.0 + hn(4e3, 2e-6, 0.9, 0.7) + rq(800.0, 1e-5, 0.85),
        ),
    ]


def _recovered(r, truth) -> bool:
    for name, true in list(zip(r.param_names, truth, strict=True))[1:]:
        got = r.params[name]
        if abs(got - true) < 4 * r.stderr[name]:
            continue
        if 0 < true <= 1 and name.endswith(("_1", "_2", "_3")) and not name.startswith("T0"):
            if abs(got - true) > 0.02:
                return False
        elif abs(got / true - 1) > 0.05:
            return False
    return "poor_fit" not in r.flags


def main() -> None:
    warnings.simplefilter("ignore")
    for text, truth, make in _cases():
        if "HN" in text and "HN" not in ELEMENTS:
            continue
        z0 = make()
        ok = silent = 0
        times = []
        for seed in range(1, 21):
            for noise in (0.002, 0.005):
                rng = np.random.default_rng(seed)
                z = z0 + noise * np.abs(z0) * (rng.normal(size=z0.size) + 1j * rng.normal(size=z0.size))
                t0 = time.process_time()
                r = eisna.fit(Spectrum(FREQ, z), text)
                times.append(time.process_time() - t0)
                good = _recovered(r, truth)
                ok += good
                silent += (not good) and not r.flags
        print(
            f"{text:22s} {truth!s:42s} recovered {ok:2d}/40  silent wrong {silent:2d}  "
            f"median CPU {1e3 * float(np.median(times)):.0f} ms"
        )


if __name__ == "__main__":
    main()
