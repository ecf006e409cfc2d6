#!/usr/bin/env python3
"""Warm fits that release a held above-window capacitance: from the plateau vs as before.

Usage::

    python benchmarks/bench_plateau_release.py            # 7 interleaved repeats, fastest kept
    python benchmarks/bench_plateau_release.py --repeat 3

Runs the batch of ``sample_spectra/nas_looped.mpt`` once to record the warm starts of the
series' full fits of spectra 28, 33, 38, 41, 44 and 47 (those whose held C_b is released), then
fits each of them from that start with the plateau release (``engine._PLATEAU_MIN_NFEV`` = 60,
the default) and with the release as before (the plateau switched off), interleaved. Prints
evaluations, CPU time (``time.process_time``, fastest of the repeats) and χ² of each.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPECTRA = (28, 33, 38, 41, 44, 47)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    import eisna
    from eisna.fitting import engine
    from eisna.series import fitter

    src = REPO / "sample_spectra" / "nas_looped.mpt"
    spectra = eisna.read(src)
    starts: dict[int, dict[str, float]] = {}
    inner = fitter._Fitter._fit

    def record(self, spectrum, name, initial, max_nfev=None, *rest):
        i = fitter._idx(spectrum)
        if name == "symmetric_interlayer" and initial and i in SPECTRA and i not in starts:
            starts[i] = dict(initial)
        return inner(self, spectrum, name, initial, max_nfev, *rest)

    fitter._Fitter._fit = record
    with tempfile.TemporaryDirectory() as tmp:
        eisna.batch([src], "symmetric_interlayer", out=Path(tmp) / "o", jobs=1, resume=False, report=False)
    fitter._Fitter._fit = inner

    default = engine._PLATEAU_MIN_NFEV
    modes = {"release as before": 10**9, "plateau release": default}
    best: dict[str, dict[int, tuple[int, float, float]]] = {m: {} for m in modes}
    for _ in range(args.repeat):
        for label, limit in modes.items():
            engine._PLATEAU_MIN_NFEV = limit
            for i, start in sorted(starts.items()):
                c0 = time.process_time()
                r = eisna.fit(spectra[i], "symmetric_interlayer", initial=start, n_restarts=0)
                dt = time.process_time() - c0
                if i not in best[label] or dt < best[label][i][1]:
                    best[label][i] = (r.nfev, dt, r.chisqr)
    engine._PLATEAU_MIN_NFEV = default
    for label, rows in best.items():
        cells = " ".join(f"{i}: {n} nfev {dt * 1e3:.1f} ms" for i, (n, dt, _) in sorted(rows.items()))
        total_n = sum(v[0] for v in rows.values())
        total_t = sum(v[1] for v in rows.values())
        print(f"{label:18s} {cells} | total {total_n} nfev {total_t * 1e3:.1f} ms")
    old, new = best["release as before"], best["plateau release"]
    print("χ² plateau / before − 1:", " ".join(f"{i}: {new[i][2] / old[i][2] - 1:+.1e}" for i in sorted(new)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
