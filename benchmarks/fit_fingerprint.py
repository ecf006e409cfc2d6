"""Fingerprint of the fit engine's results, to check that a speed change keeps the numbers.

Usage::

    python benchmarks/fit_fingerprint.py OUT.json          # write the fingerprint (~1 min)
    python benchmarks/fit_fingerprint.py --compare A.json B.json   # bit-identical? else max rel diff

Fits: 10 known-answer draws of every library circuit at 0.2 % and 1 % noise, 20 wide-prior
draws of ``symmetric_interlayer``, 8 NAS benchmark cells, every 4th spectrum of
``sample_spectra/nas_looped.mpt`` with ``symmetric_interlayer`` and ``symmetric_cell``, and the
warm-started ``fit_series`` of ``nas_looped.mpt`` (every 2nd spectrum). Per fit: every parameter
and standard error, χ², ``nfev``, the flags, the correlation matrix, ``z_fit`` and every derived
quantity with its error.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np

import eisna
from eisna.circuit import list_circuits, load_circuit
from eisna.fitting.synthetic import (
    FREQ_CELL,
    KNOWN_ANSWER_PRIORS,
    identifiable_parameters,
    noisy_spectrum,
    random_parameters,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def _record(r) -> dict:
    derived = {}
    for k, v in sorted(r.derived.items()):
        val = getattr(v, "value", v)
        err = getattr(v, "stderr", None)
        if isinstance(val, (int, float)):
            derived[k] = [float(val), None if err is None else float(err)]
    return {
        "params": [r.params[p] for p in r.param_names],
        "stderr": [r.stderr[p] for p in r.param_names],
        "chisqr": r.chisqr,
        "nfev": r.nfev,
        "flags": sorted(r.flags),
        "corr": np.nan_to_num(np.asarray(r.correlation), nan=9.0).ravel().tolist(),
        "z_fit": np.concatenate([r.z_fit.real, r.z_fit.imag]).tolist(),
        "derived": derived,
        "starts": r.meta.get("starts_tried"),
    }


def fingerprint() -> dict:
    from bench_fit import NAS

    out: dict[str, dict] = {}
    for name in list_circuits():
        d = load_circuit(name)
        for noise in (0.002, 0.01):
            rng = np.random.default_rng(11)
            for i in range(10):
                truth, _ = identifiable_parameters(d, rng)
                s = noisy_spectrum(d, truth, KNOWN_ANSWER_PRIORS[name].freq, noise, rng)
                out[f"ka:{name}:{noise}:{i}"] = _record(eisna.fit(s, d))
    d = load_circuit("symmetric_interlayer")
    rng = np.random.default_rng(5)
    for i in range(20):
        s = noisy_spectrum(d, random_parameters(d, rng), FREQ_CELL, 0.002, rng)
        out[f"wide:{i}"] = _record(eisna.fit(s, d))
    for i in range(8):
        s = noisy_spectrum(d, dict(NAS), FREQ_CELL, 0.002, rng)
        out[f"nas:{i}"] = _record(eisna.fit(s, d))
    spectra = eisna.read(ROOT / "sample_spectra" / "nas_looped.mpt")
    for i in range(0, len(spectra), 4):
        for c in ("symmetric_interlayer", "symmetric_cell"):
            out[f"looped:{c}:{i}"] = _record(eisna.fit(spectra[i], c))
    series = eisna.fit_series(list(spectra)[::2], "symmetric_interlayer", progress=False)
    for i, r in enumerate(series.results):
        if hasattr(r, "params"):
            out[f"series:{i}"] = _record(r)
        else:
            out[f"series:{i}"] = {"failure": str(r)}
    return out


def _flat(v, path=""):
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _flat(x, f"{path}.{k}")
    elif isinstance(v, list):
        for k, x in enumerate(v):
            yield from _flat(x, f"{path}[{k}]")
    else:
        yield path, v


def compare(a: dict, b: dict) -> None:
    fa, fb = dict(_flat(a)), dict(_flat(b))
    if fa.keys() != fb.keys():
        print("different keys:", sorted(set(fa) ^ set(fb))[:20])
    worst: dict[str, tuple[float, str]] = {}
    exact_diff = 0
    for k in fa.keys() & fb.keys():
        x, y = fa[k], fb[k]
        if x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)):
            continue
        exact_diff += 1
        kind = k.split(".")[1].split("[")[0] if "." in k else k
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
            rel = (
                abs(x - y) / max(abs(x), abs(y), 1e-300)
                if math.isfinite(x) and math.isfinite(y)
                else math.inf
            )
        else:
            rel = math.inf
        if rel > worst.get(kind, (-1.0, ""))[0]:
            worst[kind] = (rel, f"{k}: {x!r} vs {y!r}")
    n_fits = len(a)
    print(f"{n_fits} fits, {len(fa)} numbers; {exact_diff} differ")
    for kind, (rel, where) in sorted(worst.items()):
        print(f"  {kind}: max rel diff {rel:.3g}  ({where[:160]})")
    if exact_diff == 0:
        print("bit-identical")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?")
    ap.add_argument("--compare", nargs=2)
    args = ap.parse_args()
    if args.compare:
        compare(*(json.loads(Path(p).read_text()) for p in args.compare))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fp = fingerprint()
        Path(args.out).write_text(json.dumps(fp))
        print(f"{len(fp)} fits, total nfev {sum(r.get('nfev', 0) for r in fp.values())}")
