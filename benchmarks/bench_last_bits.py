"""Series results against the last bits of the arithmetic (issue 9, branch chainrobust).

Fits each real series with ``fit_series(spectra, "symmetric_interlayer")`` natively, with every
impedance multiplied by (1 + 1e-13 u), u ~ N(0, 1) (seeds 1-3), and natively with other CPUs'
kernels (``NPY_DISABLE_CPU_FEATURES``/``OPENBLAS_CORETYPE``: Haswell, Nehalem), each run in its
own process, and prints per series and run, against the native run: rows whose χ² differs in any
bit (to show the variant changes the arithmetic), rows whose circuit or interlayer call differs,
the largest relative change of a resistance flagged in neither run, rows whose χ² differs by
more than 1 % (and which run is lower there), and the process time of ``fit_series``.

Run: ``OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python benchmarks/bench_last_bits.py [corpus_dir]``
(about 6 minutes on one core; ``--only geis,vsp.mpt`` for a subset).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {
    "native": {},
    "haswell": {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL", "OPENBLAS_CORETYPE": "Haswell"},
    "nehalem": {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL", "OPENBLAS_CORETYPE": "Nehalem"},
}
RUNS = [("native", -1), ("native", 1), ("native", 2), ("native", 3), ("haswell", -1), ("nehalem", -1)]


def _series(corpus: Path) -> dict[str, Path]:
    return {
        "vsp.mpt": corpus / "biologic-mpt" / "vsp_peis_with.mpt",
        "vsp.mpr": corpus / "biologic-mpr" / "vsp_peis_with.mpr",
        "geis": corpus / "biologic-mpt" / "geis.mpt",
        "mb": corpus / "biologic-mpt" / "mb.mpt",
        "nas_looped": REPO / "sample_spectra" / "nas_looped.mpt",
        "nps_looped": REPO / "sample_spectra" / "nps_looped.mpt",
        "nas_realistic": REPO / "sample_spectra" / "realistic" / "nas_realistic.mpt",
    }


def child(path: str, seed: int, out: str) -> None:
    """One run: fit the series (perturbed with ``seed`` >= 0) and dump its rows as JSON."""
    import eisna
    from eisna.series.window import flagged_params

    warnings.simplefilter("ignore")
    spectra = list(eisna.read(path))
    if seed >= 0:
        rng = np.random.default_rng(seed)
        spectra = [
            dataclasses.replace(s, z=np.asarray(s.z) * (1.0 + 1e-13 * rng.standard_normal(len(s.z))))
            for s in spectra
        ]
    t0 = time.process_time()
    series = eisna.fit_series(spectra, "symmetric_interlayer", progress=False)
    cpu = time.process_time() - t0
    rows = [
        {
            "model": r.circuit_name,
            "inter": series.interlayer[i],
            "chisqr": float(r.chisqr),
            "params": {k: float(v) for k, v in r.params.items()},
            "flagged": sorted(flagged_params(r)),
        }
        if hasattr(r, "params")
        else None
        for i, r in enumerate(series.results)
    ]
    Path(out).write_text(json.dumps({"rows": rows, "cpu": cpu}))


def compare(ref: dict, run: dict) -> str:
    """One table row: the run against the native one."""
    bits, decided, worse, rel_r, where = 0, [], [], 0.0, ""
    for i, (a, b) in enumerate(zip(ref["rows"], run["rows"], strict=True)):
        if a is None or b is None:
            continue
        bits += a["chisqr"] != b["chisqr"]
        if a["model"] != b["model"] or a["inter"] != b["inter"]:
            decided.append(i)
            continue
        d = b["chisqr"] / a["chisqr"] - 1.0
        if abs(d) > 0.01:
            worse.append(f"{i} ({'run' if d < 0 else 'native'} lower, {100 * d:+.0f} %)")
        loose = set(a["flagged"]) | set(b["flagged"])
        for p, v in a["params"].items():
            if p.startswith("R_") and p not in loose and abs(b["params"][p] - v) > rel_r * abs(v):
                rel_r, where = abs(b["params"][p] - v) / abs(v), f"{p} row {i}"
    n = len(ref["rows"])
    return (
        f"χ² bits differ {bits}/{n}; decisions differ: {decided or 'none'}; "
        f"max rel. unflagged R {rel_r:.1e} ({where or '-'}); χ² > 1 %: {worse or 'none'}; "
        f"cpu {run['cpu']:.1f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default=str(REPO.parent / "shared" / "corpus"))
    ap.add_argument("--only", default="", help="comma-separated series names (default: all)")
    ap.add_argument("--child", nargs=3, metavar=("PATH", "SEED", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    series = _series(Path(args.corpus))
    names = [n for n in series if not args.only or n in args.only.split(",")]
    print(f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            results = {}
            for variant, seed in RUNS:
                out = Path(tmp) / f"{name}.{variant}.{seed}.json"
                env = {**os.environ, **VARIANTS[variant], "OPENBLAS_NUM_THREADS": "1"}
                cmd = [sys.executable, __file__, "--child", str(series[name]), str(seed), str(out)]
                subprocess.run(cmd, env=env, check=True)
                results[(variant, seed)] = json.loads(out.read_text())
            ref = results[("native", -1)]
            print(f"{name}: native cpu {ref['cpu']:.1f} s")
            for (variant, seed), run in results.items():
                if (variant, seed) != ("native", -1):
                    tag = f"{variant}" + (f" 1e-13 seed {seed}" if seed >= 0 else "")
                    print(f"  {tag:<22} {compare(ref, run)}")


if __name__ == "__main__":
    main()
