"""Joint fit of a series (issue 9, item 3): scatter of tracked quantities and agreement with
the per-spectrum fits, on the synthetic NAS set (with truth) and on the real vsp_peis_with.

Run: PYTHONPATH=src python benchmarks/bench_joint.py [--vsp PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import eisna
from eisna.series.joint import fit_joint, median_jump

ROOT = Path(__file__).resolve().parents[1]
QUANTITIES = ("R_b", "R_gb", "R_SE", "R_int", "R_ct", "R_total")


def per_spectrum(series, name):
    """Values and σ of a quantity from the per-spectrum fits (R_SE/R_total with covariance)."""
    vals, errs = [], []
    for r in series.results:
        p = r.params
        if name in ("R_SE", "R_total"):
            names = [n for n in (("R_b", "R_gb") if name == "R_SE" else p) if n.startswith("R_") and n in p]
            idx = [r.param_names.index(n) for n in names]
            sd = np.array([r.stderr[n] for n in names])
            corr = np.nan_to_num(r.correlation[np.ix_(idx, idx)], nan=0.0)
            np.fill_diagonal(corr, 1.0)
            vals.append(sum(p[n] for n in names))
            errs.append(float(np.sqrt(max(sd @ corr @ sd, 0))) if np.all(np.isfinite(sd)) else np.nan)
        else:
            vals.append(p.get(name, 0.0 if name == "R_int" else np.nan))
            errs.append(r.stderr.get(name, np.nan))
    return np.array(vals, dtype=float), np.array(errs, dtype=float)


def agreement(series, joint):
    """Fraction of per-spectrum values within 1σ / 2σ (their own σ) of the joint values."""
    d1 = d2 = n = 0
    for q in QUANTITIES:
        vs, es = per_spectrum(series, q)
        vj, _ = joint.value(q)
        ok = np.isfinite(vs) & np.isfinite(es) & np.isfinite(vj) & (es > 0)
        z = np.abs(vs[ok] - vj[ok]) / es[ok]
        d1 += int(np.sum(z <= 1))
        d2 += int(np.sum(z <= 2))
        n += int(ok.sum())
    return d1 / n, d2 / n, n


def run(path, circuit, shared, law=None, truth=None):
    spectra = eisna.read(path)
    t0 = time.perf_counter()
    series = eisna.fit_series(spectra, circuit, progress=False)
    t1 = time.perf_counter()
    joint = fit_joint(None, initial=series, shared=shared)
    t2 = time.perf_counter()
    out = {
        "file": str(path),
        "n_spectra": len(spectra),
        "n_points": int(spectra[0].freq.size),
        "circuit": circuit,
        "shared": list(shared),
        "t_series_s": t1 - t0,
        "t_joint_s": t2 - t1,
        "joint_nfev": joint.nfev,
        "chisqr_joint": joint.chisqr,
        "chisqr_per_spectrum": joint.initial_chisqr,
        "shared_values": {k: [v, joint.shared_stderr[k]] for k, v in joint.shared.items()},
        "scatter": {},
        "agreement": agreement(series, joint),
    }
    for q in QUANTITIES:
        out["scatter"][q] = [median_jump(per_spectrum(series, q)[0]), median_jump(joint.value(q)[0])]
    if law:
        t3 = time.perf_counter()
        jl = fit_joint(None, initial=series, shared=shared, law=law)
        out["law"] = {
            "t_s": time.perf_counter() - t3,
            "params": jl.law_params,
            "stderr": jl.law_stderr,
            "chisqr": jl.chisqr,
        }
    if truth is not None:
        errs = {}
        for q in ("R_b", "R_gb", "R_SE", "R_int", "R_ct"):
            tv = np.array(
                [s["params"].get(q) if q != "R_SE" else s["derived"]["R_SE_ohm"] for s in truth], dtype=float
            )
            tv = np.nan_to_num(tv)
            big = tv > 1.0
            rel_s = np.abs(per_spectrum(series, q)[0][big] / tv[big] - 1)
            rel_j = np.abs(joint.value(q)[0][big] / tv[big] - 1)
            errs[q] = [float(np.median(rel_s)), float(np.median(rel_j))]
        out["truth_median_rel_error"] = errs
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vsp", default=str(ROOT.parent / "shared/corpus/biologic-mpt/vsp_peis_with.mpt"))
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    truth = json.loads((ROOT / "sample_spectra/truth.json").read_text())
    res = [
        run(
            ROOT / "sample_spectra/nas_looped.mpt",
            "symmetric_interlayer",
            ("L", "n_gb", "Q_gb", "n_int", "n_ct", "tau_W"),
            law="jmak",
            truth=truth["NAS"]["spectra"],
        )
    ]
    if Path(a.vsp).exists():
        res.append(run(Path(a.vsp), "symmetric_interlayer", ("L", "n_gb", "Q_gb", "n_ct", "tau_W")))
    text = json.dumps(res, indent=1, default=float)
    print(text)
    if a.out:
        Path(a.out).write_text(text)


if __name__ == "__main__":
    main()
