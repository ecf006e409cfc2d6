"""Time ``eisna.read`` on the largest EC-Lab text exports of the corpus.

Run from the repository root::

    python benchmarks/bench_read.py            # 30 repeats per file
    python benchmarks/bench_read.py --repeat 100

The target (issue 2) is under 0.2 s for ``vsp_peis_with.mpt`` (1.6 MB, 32 spectra).
The first call (which imports pandas) is a warm-up and is not counted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import eisna

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
FILES = (
    "biologic-mpt/vsp_peis_with.mpt",
    "biologic-mpt/geis.mpt",
    "biologic-mpt/mb.issue_149.mpt",
    "biologic-mpt/peis.mpt",
)
TARGET_S = {"biologic-mpt/vsp_peis_with.mpt": 0.2}


def bench(path: Path, repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of :func:`eisna.read` on ``path``."""
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eisna.read(path)  # warm-up: imports and file cache
        for _ in range(repeat):
            start = time.perf_counter()
            eisna.read(path)
            times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    status = 0
    print(f"{'file':36s} {'MB':>5s} {'spectra':>7s} {'median ms':>9s} {'min ms':>7s} {'max ms':>7s}")
    for name in FILES:
        path = CORPUS / name
        times = bench(path, args.repeat)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            n = len(eisna.read(path))
        median = statistics.median(times)
        size = path.stat().st_size / 1e6
        low, high = min(times) * 1e3, max(times) * 1e3
        print(f"{name:36s} {size:5.2f} {n:7d} {median * 1e3:9.1f} {low:7.1f} {high:7.1f}")
        if name in TARGET_S and median >= TARGET_S[name]:
            print(f"  SLOWER than the {TARGET_S[name]} s target", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
