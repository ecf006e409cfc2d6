"""Cross-format agreement and read time of the other-formats corpus (issue 11).

pyimpspec's 29-point test spectrum is written in 14 formats; each is read with ``eisna.read``
and compared with the double-precision workbook copy (largest |Δf|/f and |ΔZ|/|Z|), and every
file of ``other-formats/`` is timed (median of 5 reads).

    python benchmarks/bench_formats.py ../shared/corpus
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import eisna
from eisna.io import table


def _read(path: Path) -> list[eisna.Spectrum]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eisna.read(path)


def main(corpus: Path) -> None:
    pyimp = corpus / "other-formats" / "pyimpspec"
    ref = table.read(pyimp / "data.xlsx", sheet="header-variant-1")[0]
    print("| file | spectra | max |Δf|/f | max |ΔZ|/|Z| |\n|---|---|---|---|")
    for name in (
        "data.dta",
        "data.z",
        "data.dfr",
        "data.idf",
        "data.ids",
        "data.pssession",
        "data.i2b",
        "data.P00",
        "data.json",
        "data.mpt",
        "data.ods",
        "data.fods",
        "data.xlsx",
    ):
        spectra = _read(pyimp / name)
        df = max(float(np.max(np.abs(s.freq - ref.freq) / ref.freq)) for s in spectra)
        dz = max(float(np.max(np.abs(s.z - ref.z) / np.abs(ref.z))) for s in spectra)
        print(f"| {name} | {len(spectra)} | {df:.1e} | {dz:.1e} |")
    print("\n| file | format | spectra | read (ms, median of 5) |\n|---|---|---|---|")
    for path in sorted((corpus / "other-formats").rglob("*")):
        if not path.is_file() or path.name == "fit_result.json":
            continue
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            spectra = _read(path)
            times.append(1e3 * (time.perf_counter() - t0))
        fmt = spectra[0].meta.get("format") if spectra else "—"
        print(
            f"| {path.relative_to(corpus / 'other-formats')} | {fmt} | {len(spectra)} "
            f"| {statistics.median(times):.1f} |"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus"))
