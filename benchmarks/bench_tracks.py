"""Scatter of tracked quantities on a real series (issue 9, item 8).

Fits ``vsp_peis_with`` (.mpt and .mpr, 32 PEIS over 314 h) with ``fit_series`` and prints, per
quantity, the median relative jump between neighbouring spectra: "before" is every
``results.csv`` resistance as reported per spectrum without the window fallback (what the
report plotted before issue 9), "after" the tracked quantities (split replaced by R_SE where
unidentified, fallback on). Also the time per spectrum of both runs.

Then the band-limited series of issue 9 item 4: ``geis.mpt`` (61 GEIS spectra) cut to 0.8-500 Hz,
without and with the window fallback: the share of rows with three or more flagged parameters,
the circuits reported, and resistances below 1 % of the smallest Re Z without a flag; and, as a
control, the tracks of the uncut ``geis.mpt`` and ``mb.mpt`` (wide windows: unchanged).

Run: ``PYTHONPATH=src python benchmarks/bench_tracks.py [corpus_dir]``
"""

from __future__ import annotations

import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

import eisna
from eisna.series import fit_series
from eisna.series.tracks import median_jump_pct
from eisna.series.window import RESOLUTION_FRACTION, flagged_params

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


def _flag_counts(series) -> tuple[int, int, int]:
    """(fits, fits with >= 3 flagged parameters, resistances below 1 % of min Re Z unflagged)."""
    fits = [r for r in series.results if hasattr(r, "params")]
    heavy = sum(len(flagged_params(r)) >= 3 for r in fits)
    silent = 0
    for r in fits:
        floor = RESOLUTION_FRACTION * float(np.real(r.z).min())
        silent += sum(
            p.startswith("R_") and v < floor and p not in flagged_params(r) for p, v in r.params.items()
        )
    return len(fits), heavy, silent


def band_limited() -> None:
    spectra = eisna.read(CORPUS / "biologic-mpt" / "geis.mpt")
    for fallback in (False, True):
        t0 = time.perf_counter()
        series = fit_series(spectra, "symmetric_interlayer", fmin=0.8, fmax=500.0, fallback=fallback)
        dt = time.perf_counter() - t0
        n, heavy, silent = _flag_counts(series)
        models = Counter(series.to_frame()["model"])
        print(
            f"geis.mpt cut to 0.8-500 Hz, fallback={fallback}: {heavy}/{n} rows ({100 * heavy / n:.0f} %) "
            f"with >= 3 flagged parameters; {silent} resistances < 1 % of min Re Z unflagged; "
            f"{1e3 * dt / len(spectra):.0f} ms/spectrum; models {dict(models)}"
        )
    for name in ("geis.mpt", "mb.mpt"):  # wide windows: the control
        series = fit_series(eisna.read(CORPUS / "biologic-mpt" / name), "symmetric_interlayer")
        n, heavy, silent = _flag_counts(series)
        print(
            f"{name} (uncut): {heavy}/{n} rows with >= 3 flagged parameters; "
            f"models {dict(Counter(series.to_frame()['model']))}"
        )
        for t in series.tracks:
            if t.model:
                print(
                    f"  {t.quantity:<10} {t.model:<12} {t.change_pct:+8.1f} %  "
                    f"median jump {t.median_jump_pct:5.1f} %"
                )


if __name__ == "__main__":
    main()
    band_limited()
