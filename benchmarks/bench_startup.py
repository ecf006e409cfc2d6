"""Start-up time of ``eisna info FILE`` and ``eisna --help`` against ``python -c "import numpy"``.

Each command runs as a fresh process; the commands are interleaved round by round (so a
burst of load on a shared machine hits all of them alike) and the median wall time of each
is reported with its ratio to the numpy import. Issue 12 asks for ``eisna info`` ≤ 3×.
Bytecode is written and reused (``PYTHONDONTWRITEBYTECODE`` is dropped for the children),
as for an installed package; otherwise every run would compile eisna's sources again.

Usage::

    PYTHONPATH=src python benchmarks/bench_startup.py [--runs 15] [--corpus ../shared/corpus]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def commands(corpus: Path) -> dict[str, list[str]]:
    py = sys.executable
    eisna = [py, "-m", "eisna"]
    sample = str(REPO / "sample_spectra" / "nas_looped.mpt")
    runs = {
        "python -c 'import numpy'": [py, "-c", "import numpy"],
        "python -c 'import eisna'": [py, "-c", "import eisna"],
        "eisna --help": [*eisna, "--help"],
        "eisna info sample_spectra/nas_looped.mpt": [*eisna, "info", sample],
    }
    for name in ("biologic-mpr/peis.mpr", "neware-ndax/test.ndax", "biologic-mpr/mb.mpr"):
        if (corpus / name).is_file():
            runs[f"eisna info corpus/{name}"] = [*eisna, "info", str(corpus / name)]
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    args = parser.parse_args()
    runs = commands(args.corpus)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for argv in runs.values():  # warm the file cache and the .pyc files
        subprocess.run(argv, capture_output=True, check=False, env=env)
    for _ in range(args.runs):
        for name, argv in runs.items():
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=True, env=env)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["python -c 'import numpy'"])
    print(f"median of {args.runs} interleaved runs (s), ratio to the numpy import")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{median:8.3f}  {median / base:5.2f}×  {name}")


if __name__ == "__main__":
    main()
