"""Run eisna's analysis path over a folder of spectra from elsewhere and print one row per file.

A dev-only audit for data eisna was not developed on (files fetched from public repositories,
kept outside the repository). Every file eisna can read under DIR is read, KK-tested and fitted
as one cell with :func:`eisna.fit_series` (warm starts, interlayer test, window fallback: the
automatic circuit choice), and the table says, per file: spectra read, spectra fitted, spectra
with at least one flag, the circuits reported (``model`` column of results.csv), spectra that
pass the KK test, and the CPU time per spectrum of the fits (``time.process_time``, this process
only). Files eisna cannot read are listed with the reason; nothing is dropped silently.

Then the whole folder as one batch (what ``eisna batch DIR`` fits): the same counts, the time
axis and the growth-law line the command prints.

Run::

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python benchmarks/audit_foreign_series.py DIR [--circuit NAME]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

import eisna
from eisna.errors import EisnaError


def _counts(series) -> tuple[int, int, Counter, list[str]]:
    """Fitted spectra, spectra with a flag, reported circuits, and the flags seen (kinds)."""
    frame = series.to_frame()
    ok = frame["status"] == "ok"
    flagged = int((frame.loc[ok, "flags"].fillna("").astype(str) != "").sum())
    circuits = Counter(str(m) for m in frame.loc[ok, "model"])
    kinds = sorted(
        {
            f.split(":", 1)[0]
            for cell in frame.loc[ok, "flags"].fillna("").astype(str)
            for f in cell.split(";")
            if f
        }
    )
    return int(ok.sum()), flagged, circuits, kinds


def _audit_file(path: Path, circuit: str) -> dict:
    row: dict = {"file": str(path)}
    try:
        spectra = eisna.read(path)
    except EisnaError as exc:
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row
    row["read"] = len(spectra)
    row["kk_pass"] = sum(bool(eisna.kk_test(s).passed) for s in spectra)
    t0 = time.process_time()
    series = eisna.fit_series(spectra, circuit, progress=False)
    cpu = time.process_time() - t0
    row["fitted"], row["flagged"], row["circuits"], row["flag_kinds"] = _counts(series)
    row["ms_per_spectrum"] = 1e3 * cpu / max(len(spectra), 1)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--circuit", default="symmetric_interlayer")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    files = sorted(p for p in args.dir.rglob("*") if p.is_file() and not p.name.startswith("."))
    files = [p for p in files if p.name.lower() not in ("manifest.tsv", "manifest.md")]
    rows = [_audit_file(p, args.circuit) for p in files]
    print(f"circuit: {args.circuit} (automatic fallback on); DIR = {args.dir}")
    print("| file | read | fitted | flagged | KK pass | circuits reported | flag kinds | ms/spectrum |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        name = str(Path(r["file"]).relative_to(args.dir))
        if "error" in r:
            print(f"| {name} | not read: {r['error']} | | | | | | |")
            continue
        circuits = ", ".join(f"{k} {v}" for k, v in sorted(r["circuits"].items()))
        print(
            f"| {name} | {r['read']} | {r['fitted']} | {r['flagged']} | {r['kk_pass']} | {circuits} | "
            f"{' '.join(r['flag_kinds'])} | {r['ms_per_spectrum']:.0f} |"
        )
    read = [r for r in rows if "error" not in r]
    n = sum(r["read"] for r in read)
    print(
        f"totals: {len(files)} files, {len(read)} read, {n} spectra, "
        f"{sum(r['fitted'] for r in read)} fitted, "
        f"{sum(r['flagged'] for r in read)} flagged, {sum(r['kk_pass'] for r in read)} pass KK; "
        f"median {np.median([r['ms_per_spectrum'] for r in read]) if read else float('nan'):.0f} ms/spectrum"
    )
    # the folder as one batch, as `eisna batch DIR` fits it (cells by folder and EC-Lab base name)
    spectra = [s for p in files for s in (eisna.read(p) if p in {Path(r["file"]) for r in read} else [])]
    if spectra:
        t0 = time.process_time()
        series = eisna.fit_series(spectra, args.circuit, progress=False)
        cpu = time.process_time() - t0
        fitted, flagged, circuits, _ = _counts(series)
        kin = series.kinetics_summary()
        print(
            f"whole folder as one batch: {len(spectra)} spectra, {fitted} fitted, {flagged} flagged, "
            f"circuits {dict(circuits)}, time axis {kin.get('time_basis')}, growth law {kin.get('model')} "
            f"(onset {kin.get('onset_h')}), {1e3 * cpu / len(spectra):.0f} ms/spectrum"
        )


if __name__ == "__main__":
    main()
