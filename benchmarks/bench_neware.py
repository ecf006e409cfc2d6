"""Time eisna.read_cycling on the Neware files of the corpus, and cycling_summary on the largest.

Run: ``/work/venv/bin/python benchmarks/bench_neware.py`` (needs ../shared/corpus).
Prints the best of 5 runs per file, in ms; fastnda's own time for the binaries alongside.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastnda

from eisna import read_cycling
from eisna.cycling import cycling_summary

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def best_ms(func: Callable[[], Any], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def main() -> None:
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    paths = sorted(CORPUS.glob("neware-*/*"))
    for path in paths:
        rows = len(read_cycling(path))
        ms = best_ms(lambda p=path: read_cycling(p))
        raw = ""
        if path.suffix != ".csv":
            raw = f"  (fastnda alone {best_ms(lambda p=path: fastnda.read(p)):.1f} ms)"
        print(f"{path.name:46s} {path.stat().st_size / 1e3:8.1f} kB {rows:7d} rows {ms:8.1f} ms{raw}")
    frame = read_cycling(CORPUS / "neware-ndax" / "test_2.ndax")
    ms = best_ms(lambda: cycling_summary(frame))
    print(f"cycling_summary(test_2.ndax, {len(frame)} rows): {ms:.1f} ms")


if __name__ == "__main__":
    main()
