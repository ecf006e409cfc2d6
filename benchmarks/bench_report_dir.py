"""Time ``write_report(DIR)`` on a finished 49-spectrum batch (issue 12 item 4).

Run from the repository root after a batch::

    eisna batch sample_spectra/nas_looped.mpt --circuit symmetric_interlayer --out /tmp/rp
    python benchmarks/bench_report_dir.py /tmp/rp [repeats]

Prints the median wall and CPU time of ``write_report(DIR)`` (the report only, after imports
and one warm-up call) and the time of each figure's PNG encoding.
"""

import statistics
import sys
import time
from pathlib import Path

from eisna.report import write_report

if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/rp")
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    write_report(out)  # warm-up: imports matplotlib, jinja2, font cache
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        path = write_report(out)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    print(
        f"write_report({out}) median of {repeats}: {statistics.median(walls):.3f} s wall, "
        f"{statistics.median(cpus):.3f} s CPU, {path.stat().st_size / 1e3:.0f} kB"
    )
