"""The automatic circuit choice on real files and on synthetic spectra: blocking pellet or not?

Part 1, files (each path a file or folder; every file eisna reads): per file, the spectra read,
how many :func:`eisna.series.choice.blocking_tail` calls blocking, the reason for one of them,
and, for files with a blocking spectrum, the circuits :func:`eisna.fit_series` reports before
(``symmetric_interlayer`` with the window fallback, the former automatic choice) and after
(``"auto"``) with their summed AICc and CPU seconds. A file without a blocking spectrum takes
the same code path before and after (its choice cannot change), so it is not fitted.

Part 2, synthetic (``--synthetic N``): N known-answer draws per library circuit
(:func:`eisna.fitting.synthetic.known_answer_parameters`, their own grids) at 0.2 % and 1 %
noise: the fraction called blocking (the pellet circuits should be 100 %, the symmetric cells
0 %).

Run::

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python benchmarks/audit_auto_choice.py PATH... [--synthetic 200]
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
from eisna.series.choice import blocking_tail


def _files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p])
    return [f for f in out if f.suffix.lower() not in (".md", ".json", ".png")]


def _fit(spectra, circuit: str) -> tuple[str, float, float]:
    t0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = eisna.fit_series(spectra, circuit)
    cpu = time.process_time() - t0
    ok = [r for r in series.results if getattr(r, "success", False)]
    models = Counter(r.circuit_name for r in ok)
    text = ", ".join(f"{m} ×{n}" if n > 1 else m for m, n in models.items())
    return text, float(sum(r.aicc for r in ok)), cpu


def audit_files(paths: list[str]) -> None:
    print(
        "| file | spectra | blocking | tail (one spectrum) | before | after "
        "| ΣAICc before / after | CPU s before / after |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for path in _files(paths):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                spectra = eisna.read(path)
        except (EisnaError, OSError):
            continue
        tails = [blocking_tail(s) for s in spectra]
        n_block = sum(t.blocking for t in tails)
        shown = next((t for t in tails if t.blocking), tails[len(tails) // 2])
        row = [path.name, str(len(spectra)), str(n_block), shown.reason]
        if n_block:
            before, aicc_b, cpu_b = _fit(spectra, "symmetric_interlayer")
            after, aicc_a, cpu_a = _fit(spectra, "auto")
            row += [before, after, f"{aicc_b:.1f} / {aicc_a:.1f}", f"{cpu_b:.2f} / {cpu_a:.2f}"]
        else:
            row += ["(unchanged)", "(unchanged)", "", ""]
        print("| " + " | ".join(row) + " |")


def audit_synthetic(n: int) -> None:
    from eisna.circuit import load_circuit
    from eisna.fitting.synthetic import KNOWN_ANSWER_PRIORS, known_answer_parameters, noisy_spectrum

    print("\n| circuit (known-answer prior) | called blocking at 0.2 % noise | at 1 % noise |")
    print("|---|---|---|")
    for name, prior in KNOWN_ANSWER_PRIORS.items():
        defn = load_circuit(name)
        rng = np.random.default_rng(20261203)
        rates = []
        for noise in (0.002, 0.01):
            hits = 0
            for _ in range(n):
                values = known_answer_parameters(defn, rng, prior)
                hits += blocking_tail(noisy_spectrum(defn, values, prior.freq, noise, rng)).blocking
            rates.append(f"{hits}/{n}")
        print(f"| {name} | {rates[0]} | {rates[1]} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--synthetic", type=int, default=0, metavar="N")
    args = parser.parse_args()
    if args.paths:
        audit_files(args.paths)
    if args.synthetic:
        audit_synthetic(args.synthetic)


if __name__ == "__main__":
    main()
