#!/usr/bin/env python3
"""The circuit fits of a series alone (issue 12 item 2): CPU per spectrum and where it goes.

Usage::

    python benchmarks/bench_series_fits.py                      # sample_spectra/nas_looped.mpt
    python benchmarks/bench_series_fits.py --file F --repeat 7  # best of 7 fit_series runs

``eisna.fit_series(spectra, "symmetric_interlayer")`` is run ``--repeat`` times in one process
(CPU time, ``time.process_time``); every ``_Fitter._fit`` call and every candidate finished
later (``series.fitter._finished``) is timed, as are the engine's stages. Printed for the run
whose fits took least: the fits' CPU per spectrum (best and median of the runs), and per stage
the calls and CPU per spectrum. The whole-batch benchmark (``bench_series_cost.py``) spreads
by ±20 % on a shared machine; this one times only what a change to the fits can move.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

_STAGES = (  # (module, attribute, label); the engine's stages do not overlap one another
    ("eisna.series.fitter", "_Fitter._fit", "fits"),
    ("eisna.series.fitter", "_finished", "fits"),  # (candidates kept, finished after the comparison)
    ("eisna.fitting.engine", "_prepare", "prepare"),
    ("eisna.fitting.engine", "_start_points", "start values"),
    ("eisna.fitting.engine", "_search", "search (solves)"),
    ("eisna.fitting.engine", "_polish_and_refine", "polish and refine"),
    ("eisna.fitting.engine", "_uncertainties", "statistics: covariance"),
    ("eisna.fitting.engine", "_judge", "statistics: flags, bound probe"),
    ("eisna.fitting.engine", "_assemble", "statistics: physics, result"),
    ("eisna.fitting.start", "_sketch", "DRT sketches (in search or start values)"),
)


def _timed(cpu: Counter, calls: Counter) -> None:
    """Wrap the stages with CPU counters (a stage a version of eisna lacks is skipped)."""
    import importlib

    for mod_name, attr, label in _STAGES:
        owner: Any = importlib.import_module(mod_name)
        *path, name = attr.split(".")
        for part in path:
            owner = getattr(owner, part)
        inner = getattr(owner, name, None)
        if inner is None:
            continue

        def wrapper(*a: Any, __inner: Callable = inner, __label: str = label, **k: Any) -> Any:
            c0 = time.process_time()
            try:
                return __inner(*a, **k)
            finally:
                cpu[__label] += time.process_time() - c0
                calls[__label] += 1

        setattr(owner, name, wrapper)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", default=str(REPO / "sample_spectra" / "nas_looped.mpt"))
    ap.add_argument("--circuit", default="symmetric_interlayer")
    ap.add_argument("--repeat", type=int, default=5, help="fit_series runs (the fastest is shown)")
    args = ap.parse_args(argv)

    import eisna

    spectra = eisna.read(args.file)
    n = len(spectra)
    cpu: Counter = Counter()
    calls: Counter = Counter()
    _timed(cpu, calls)
    warnings.simplefilter("ignore")
    runs = []
    for _ in range(args.repeat):
        cpu.clear()
        calls.clear()
        eisna.fit_series(spectra, args.circuit)
        runs.append((cpu["fits"], dict(cpu), dict(calls)))
    runs.sort(key=lambda r: r[0])
    best, stage_cpu, stage_calls = runs[0]
    median = runs[len(runs) // 2][0]
    print(
        f"{Path(args.file).name}: {n} spectra, {args.circuit}; circuit fits {1e3 * best / n:.2f} ms per "
        f"spectrum (best of {len(runs)}; median {1e3 * median / n:.2f})"
    )
    for _, _, label in _STAGES[2:]:
        if label in stage_cpu:
            print(
                f"  {label:42s} {stage_calls[label]:5d} calls {1e3 * stage_cpu[label] / n:6.2f} ms/spectrum "
                f"({100 * stage_cpu[label] / best:4.1f} %)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
