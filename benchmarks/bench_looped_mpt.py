"""Time and peak memory of ``eisna info`` on looped ``.mpt`` files of 1000–5000 loops.

Each file is ``sample_spectra/nas_looped.mpt`` with its 49 loops repeated (the header's
loop table and the ``cycle number`` column rewritten), 12.7 kB per loop. Each size runs in
a fresh process that reports its own peak RSS. Linear reading means seconds per loop stay
flat as the loop count grows (issue 14: 22–27 s and 730 MB for 5000 loops before).

Run from the repository root::

    python benchmarks/bench_looped_mpt.py                 # 1000, 2500, 5000 loops
    python benchmarks/bench_looped_mpt.py --loops 5000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_spectra" / "nas_looped.mpt"
CHILD = (
    "import resource, sys\n"
    "from eisna.cli import main\n"
    "main(['info', sys.argv[1]])\n"
    "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)


def looped(path: Path, n_loops: int) -> Path:
    """Write ``nas_looped.mpt`` with its loops repeated to ``n_loops``; return ``path``."""
    lines = SAMPLE.read_bytes().decode("cp1252").split("\n")
    n_header = 114
    head, data = lines[:n_header], [ln for ln in lines[n_header:] if ln.strip()]
    first = next(i for i, ln in enumerate(head) if ln.startswith("Loop "))
    last = max(i for i, ln in enumerate(head) if ln.startswith("Loop "))
    table = [f"Loop {k} from point number {80 * k} to {80 * k + 79}\r" for k in range(n_loops)]
    head = head[:first] + table + head[last + 1 :]
    head = [f"Number of loops : {n_loops}\r" if ln.startswith("Number of loops") else ln for ln in head]
    head[1] = f"Nb header lines : {len(head)}\r"
    cycle = [n.strip() for n in head[-1].split("\t")].index("cycle number")
    rows = []
    for k in range(n_loops):
        for ln in data[(k % 49) * 80 : (k % 49 + 1) * 80]:
            fields = ln.split("\t")
            fields[cycle] = str(k + 1)
            rows.append("\t".join(fields))
    path.write_bytes("\n".join(head + rows).encode("cp1252") + b"\n")
    return path


def run(path: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``eisna info path`` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(REPO / "src"))}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, env=env, check=True
    )
    wall = time.perf_counter() - start
    rss = int(proc.stderr.split("maxrss_kb")[-1].split()[0]) / 1024
    return wall, rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, nargs="+", default=[1000, 2500, 5000])
    args = parser.parse_args()
    print(f"{'loops':>6} {'size MB':>8} {'wall s':>7} {'ms/loop':>8} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.loops:
            path = looped(Path(tmp) / f"loops{n}.mpt", n)
            wall, rss = run(path)
            size = path.stat().st_size / 1e6
            print(f"{n:>6} {size:>8.1f} {wall:>7.2f} {1000 * wall / n:>8.2f} {rss:>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
