#!/usr/bin/env python3
"""Benchmark ``eisna.batch`` end to end: files → results.csv + kinetics.json.

Usage::

    python benchmarks/bench_batch.py                       # 49-spectrum sample set, in process
    python benchmarks/bench_batch.py --copies 1 4 20 --jobs 2

``--copies K`` batches K copies of ``sample_spectra/nas_looped.mpt`` (49 spectra each, each copy
its own cell, so 49·K spectra) with ``resume=False`` and without the HTML report, and prints the
wall time, the CPU time of this process and the time per spectrum. The one-off import of the fit
engine (lmfit, scipy) is measured separately and is not part of the batch time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[1], help="copies of the 49-spectrum set")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: eisna's choice)")
    parser.add_argument("--report", action="store_true", help="also write report.html")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    t = time.perf_counter()
    import lmfit  # noqa: F401  (the engine imports it on the first fit)

    import eisna
    import eisna.fitting

    print(f"import eisna + fit engine: {time.perf_counter() - t:.2f} s")
    src = REPO / "sample_spectra" / "nas_looped.mpt"
    print(f"{'spectra':>8} {'jobs':>5} {'wall s':>8} {'cpu s':>7} {'ms/spectrum':>12}  onset_h  plateau_ohm")
    for k in args.copies:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            data.mkdir()
            for i in range(k):
                shutil.copy(src, data / f"cell{i + 1:03d}_nas_looped.mpt")
            paths = [data] if k > 1 else [data / "cell001_nas_looped.mpt"]
            c0, w0 = time.process_time(), time.perf_counter()
            series = eisna.batch(
                paths,
                "symmetric_interlayer",
                out=Path(tmp) / "out",
                jobs=args.jobs,
                resume=False,
                report=args.report,
            )
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            assert (Path(tmp) / "out" / "results.csv").exists()
            assert (Path(tmp) / "out" / "kinetics.json").exists()
            kin = series.kinetics_summary()
            n = len(series)
            jobs = args.jobs or (1 if n <= 50 else min(os.cpu_count() or 1, 2))
            onset = kin.get("onset_h")
            plateau = kin.get("R_int_final")
            print(
                f"{n:8d} {jobs:5d} {wall:8.2f} {cpu:7.2f} {1000 * wall / n:12.1f}  "
                f"{onset if onset is None else round(onset, 2)!s:>7}  "
                f"{plateau if plateau is None else round(plateau, 1)!s:>11}"
            )
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
