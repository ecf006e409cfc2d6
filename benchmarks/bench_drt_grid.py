"""Width of eisna's DRT τ grid beyond the measured window, scored against known time constants
(issue 13 items 3 and 8, branch drtgrid). Usage::

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src /work/main/.venv/bin/python -W ignore \\
        benchmarks/bench_drt_grid.py --extend 1.0 1.25 1.5

For each width (decades beyond 1/(2π f_max) and 1/(2π f_min); eisna's default is the current
``relaxation._EXTEND_DECADES``) and with every other rule as it is: the harder and easy synthetic sets
of ``bench_drt_lambda_rules.py`` (true relaxations ≥ 10 % inside the window with a listed peak
within 1.5×, the same for the dominant one, listed in-window peaks, spurious ones farther than 2.5×
from every true relaxation), and the position error |log10(f_peak/f0)| of the nearest peak to each
in-window ZARC of the sample-script NAS/NPS cells (0, 3, 8, 24 h; seeds 0–4). A few seconds per width.
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_drt_lambda_rules import _sample_script, easy_cases, harder_cases, score

from eisna import Spectrum
from eisna import relaxation as R


def cell_position_errors() -> dict[str, list[float]]:
    """|log10(f_peak / f0)| of the peak nearest each in-window ZARC, per (cell, arc)."""
    m = _sample_script()
    freq = m.FREQ_CELL_HZ
    out: dict[str, list[float]] = {}
    for system in m.CELLS:
        for seed in range(5):
            rng = np.random.default_rng(seed)
            for t_h in (0.0, 3.0, 8.0, 24.0):
                p = m.cell_truth(m.CELLS[system], t_h)["params"]
                res = R.drt(Spectrum(freq, m.add_noise(m.cell_impedance(freq, p), freq, rng)), n_boot=0)
                for arc in ("gb", "int", "ct"):
                    if not p[f"R_{arc}"]:
                        continue
                    f0 = 1 / (2 * np.pi * (p[f"R_{arc}"] * p[f"Q_{arc}"]) ** (1 / p[f"n_{arc}"]))
                    if freq.min() <= f0 <= freq.max():
                        near = min(res.peaks, key=lambda q: abs(np.log(q.f / f0)))
                        out.setdefault(f"{system} {arc}", []).append(abs(float(np.log10(near.f / f0))))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--extend", type=float, nargs="+", default=[R._EXTEND_DECADES])
    args = ap.parse_args()
    easy, harder = easy_cases(), harder_cases(7) + harder_cases(8) + harder_cases(9)
    default = R._EXTEND_DECADES
    print("| τ grid beyond the window | harder: within 1.5× | easy | dominant (harder) | listed | spurious |")
    print("|---|---|---|---|---|---|")
    positions = {}
    try:
        for ext in args.extend:
            R._EXTEND_DECADES = ext
            h, e = score(harder), score(easy)
            print(
                f"| ±{ext:g} decades | {h[0]}/{h[1]} | {e[0]}/{e[1]} | {h[2]}/{h[3]} | {h[4]} | {h[5]} |",
                flush=True,
            )
            positions[ext] = cell_position_errors()
    finally:
        R._EXTEND_DECADES = default
    print("\nSample-script cells, |log10(f_peak/f0)| of the nearest peak (median / max, decades):\n")
    keys = list(next(iter(positions.values())))
    print("| τ grid beyond the window | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for ext, pos in positions.items():
        cells = " | ".join(f"{np.median(pos[k]):.3f} / {max(pos[k]):.3f}" for k in keys)
        print(f"| ±{ext:g} decades | {cells} |")


if __name__ == "__main__":
    main()
