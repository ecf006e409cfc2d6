"""Time eisna.io.biologic_mpr.read on the EC-Lab binaries of the corpus.

Run: ``/work/venv/bin/python benchmarks/bench_biologic_mpr.py`` (needs ../shared/corpus).
Prints the best of 20 runs per file, in ms.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

from eisna.errors import NoImpedanceData
from eisna.io.biologic_mpr import read, read_cycling

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "biologic-mpr"


def best_ms(func, path: Path, repeat: int = 20) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func(path)
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def main() -> None:
    warnings.simplefilter("ignore")
    for path in sorted(CORPUS.glob("*.mpr")):
        try:
            n = len(read(path))
            ms = best_ms(read, path)
            what = f"{n} spectra"
        except NoImpedanceData:
            ms = best_ms(read_cycling, path)
            what = "read_cycling"
        print(f"{path.name:32s} {path.stat().st_size / 1e3:8.1f} kB  {ms:7.2f} ms  ({what})")


if __name__ == "__main__":
    main()
