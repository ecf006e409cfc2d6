"""Time report.html for the 49-spectrum NAS sample series: from objects and rebuilt from JSON.

Run from the repository root:  python benchmarks/bench_report.py
"""

import tempfile
import time
from pathlib import Path

import eisna
from eisna.report import write_report


def timed(label: str, call) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    path = call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label}: {wall:.2f} s wall, {cpu:.2f} s CPU, {path.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    looped = Path(__file__).resolve().parents[1] / "sample_spectra" / "nas_looped.mpt"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "batch"
        series = eisna.batch([looped], "symmetric_interlayer", out=out, progress=False, report=False)
        timed(
            f"write_report(series of {len(series)})",
            lambda: write_report(Path(tmp) / "objects", series=series),
        )
        timed("write_report(DIR) from results.json", lambda: write_report(out))
