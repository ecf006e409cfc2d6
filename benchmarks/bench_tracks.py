"""Scatter of tracked quantities on a real series (issue 9, item 8).

Fits ``vsp_peis_with`` (.mpt and .mpr, 32 PEIS over 314 h) with ``fit_series`` and prints, per
quantity, the median relative jump between neighbouring spectra: "before" is every
``results.csv`` resistance as reported per spectrum without the window fallback (what the
report plotted before issue 9), "after" the tracked quantities (split replaced by R_SE where
unidentified, fallback on). Also the time per spectrum of both runs.

Run: ``PYTHONPATH=src python benchmarks/bench_tracks.py [corpus_dir]``
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import eisna
from eisna.series import fit_series
from eisna.series.tracks import median_jump_pct

CORPUS = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "corpus"
COLUMNS = ("R_b", "R_gb", "R_ct", "R_W", "R_SE_ohm", "R_dc_ohm")


def main() -> None:
    warnings.simplefilter("ignore")
    for kind in ("mpt", "mpr"):
        spectra = eisna.read(CORPUS / f"biologic-{kind}" / f"vsp_peis_with.{kind}")
        t0 = time.perf_counter()
        before = fit_series(spectra, "symmetric_interlayer", fallback=False, track=list(COLUMNS))
        t1 = time.perf_counter()
        after = fit_series(spectra, "symmetric_interlayer")
        t2 = time.perf_counter()
        frame = before.to_frame()
        n = len(spectra)
        print(
            f"vsp_peis_with.{kind}: {n} spectra; {1e3 * (t1 - t0) / n:.0f} ms/spectrum without, "
            f"{1e3 * (t2 - t1) / n:.0f} ms/spectrum with fallback + default tracks"
        )
        tracked = {t.quantity: t for t in after.tracks}
        print(f"  {'quantity':<10} {'before %':>9} {'after %':>8}  law (after)")
        for col in COLUMNS:
            b = median_jump_pct(frame[col].to_numpy(float))
            t = tracked.get(col)
            a = f"{t.median_jump_pct:8.1f}" if t is not None else "  (not tracked: split unidentified)"
            law = f"  {t.model}, {t.change_pct:+.0f} %" if t is not None else ""
            print(f"  {col:<10} {b:9.1f} {a}{law}")


if __name__ == "__main__":
    main()
