#!/usr/bin/env python3
"""The parts of a batch outside its circuit fits (issue 12 item 2), each timed alone.

Usage::

    python benchmarks/bench_batch_parts.py                      # sample_spectra/nas_looped.mpt
    python benchmarks/bench_batch_parts.py --file F --repeat 15

One ``eisna.fit_series`` of the file (untimed) gives the series; then, ``--repeat`` times each
(CPU time, ``time.process_time``; best and median printed, per spectrum):

* ``kk_tests`` of its spectra together (lin-KK with Z-HIT: the ``analysis.json`` record's cost);
* ``zhit`` of every spectrum (with the KK noise levels);
* the growth laws of R_int(t) with its errors (``fit_kinetics``, what ``kinetics.json`` holds);
* ``series_tracks`` (every tracked quantity and its growth laws: ``tracks.csv``).

Only public or long-standing functions are called, so two checkouts can be compared with the
same script (``PYTHONPATH=<checkout>/src``); the whole-batch benchmark (``bench_series_cost.py``)
spreads by ±15 % on a shared machine, which hides changes of a few per cent of the batch.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _cpu(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # (fills the caches a batch fills on its first spectrum)
    out = []
    for _ in range(repeat):
        c0 = time.process_time()
        fn()
        out.append(time.process_time() - c0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", default=str(REPO / "sample_spectra" / "nas_looped.mpt"))
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args(argv)

    import numpy as np

    import eisna
    from eisna.kinetics import fit_kinetics
    from eisna.series.tracks import series_tracks
    from eisna.validation import kk_tests
    from eisna.validation_zhit import zhit

    warnings.simplefilter("ignore")
    spectra = list(eisna.read(args.file))
    series = eisna.fit_series(spectra, "symmetric_interlayer")
    kk = kk_tests(spectra)
    noise = [r.noise for r in kk]
    R, err = series.values(series.interlayer_param)
    ok = np.isfinite(R) & np.array([x is not None for x in series.interlayer])
    t = series.time_h
    parts = {
        "kk_tests (with Z-HIT)": lambda: kk_tests(spectra),
        "zhit": lambda: [zhit(s, noise=n) for s, n in zip(spectra, noise, strict=True)],
        "growth laws of R_int": lambda: fit_kinetics(t[ok], R[ok], err[ok]),
        "series_tracks": lambda: series_tracks(series),
    }
    n = len(spectra)
    print(f"{Path(args.file).name}: {n} spectra; CPU ms per spectrum, best / median of {args.repeat}")
    for label, fn in parts.items():
        times = _cpu(fn, args.repeat)
        print(f"  {label:24s} {1e3 * min(times) / n:7.3f} / {1e3 * statistics.median(times) / n:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
