"""eisna's lin-KK and DRT against pyimpspec on the real corpus, plus KK speed and synthetic verdicts.

pyimpspec is GPL-3: it is a dev-only cross-check, imported here and nowhere in src/ or tests/
(``pip install pyimpspec`` into the dev venv). Usage::

    PYTHONPATH=src /work/main/.venv/bin/python benchmarks/bench_kk_vs_pyimpspec.py            # all
    PYTHONPATH=src /work/main/.venv/bin/python benchmarks/bench_kk_vs_pyimpspec.py --no-drt   # KK only
    PYTHONPATH=src /work/main/.venv/bin/python benchmarks/bench_kk_vs_pyimpspec.py --max-per-file 4

Prints Markdown tables for BENCHMARKS.md:

1. per corpus file: spectra, eisna and pyimpspec largest KK residual (median and worst
   spectrum), how many spectra satisfy ``eisna ≤ 1.5 × pyimpspec + 0.1 %`` and verdicts;
2. DRT: the main peak (largest share of R_pol inside the window, same rule on both) of eisna's
   DRT against pyimpspec's TR-RBF, τ ratio, and the nearest −Z″ apex as a model-free reference;
3. KK time per call on 80-point spectra.

The corpus is found at ``../shared/corpus`` next to the repository (``EISNA_CORPUS`` overrides).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from eisna import Spectrum, read
from eisna.errors import EisnaError
from eisna.relaxation import _find_peaks, drt  # the same peak rule on both DRTs
from eisna.validation import kk_test

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("EISNA_CORPUS", REPO.parent / "shared" / "corpus"))


def corpus_spectra(max_per_file: int | None) -> list[tuple[str, int, Spectrum]]:
    """Every impedance spectrum eisna reads in the corpus (.mpt; .mpr only when no .mpt twin)."""
    out = []
    mpt = sorted((CORPUS / "biologic-mpt").glob("*.mpt"))
    stems = {p.stem for p in mpt}
    mpr = [p for p in sorted((CORPUS / "biologic-mpr").glob("*.mpr")) if p.stem not in stems]
    for path in mpt + mpr:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                spectra = read(path)
        except EisnaError:
            continue
        for i, spec in enumerate(spectra[:max_per_file]):
            if len(spec) >= 8:
                out.append((path.name, i, spec))
    return out


def py_kk(spec: Spectrum) -> float:
    """pyimpspec's largest |residual| (fraction of |Z|), default settings, one process."""
    import pyimpspec

    data = pyimpspec.DataSet(frequencies=np.asarray(spec.freq, float), impedances=np.asarray(spec.z, complex))
    res = pyimpspec.perform_kramers_kronig_test(data, num_procs=1)
    _f, re, im = res.get_residuals_data()
    return float(max(np.max(np.abs(re)), np.max(np.abs(im)))) / 100.0


def kk_table(spectra: list[tuple[str, int, Spectrum]], cache_path: Path) -> list[str]:
    """The KK comparison; pyimpspec's figures are cached in ``cache_path`` (JSON), as they take
    seconds per spectrum and do not change with eisna."""
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    rows: dict[str, list[tuple[float, float, bool]]] = {}
    for name, i, spec in spectra:
        e = kk_test(spec)
        key = f"{name}#{i}"
        if key not in cache:
            try:
                cache[key] = py_kk(spec)
            except Exception as err:  # the cross-check must not stop the table
                print(f"  pyimpspec failed on {key}: {err}", file=sys.stderr)
                continue
            cache_path.write_text(json.dumps(cache, indent=0))
        progress = f"  {key}: eisna {100 * e.max_residual:.2f} %, pyimpspec {100 * cache[key]:.2f} %"
        print(progress, file=sys.stderr, flush=True)
        rows.setdefault(name, []).append((e.max_residual, cache[key], e.passed))
    lines = [
        "| file | spectra | eisna max res. median / worst (%) | pyimpspec median / worst (%) | "
        "eisna ≤ 1.5·py + 0.1 % | eisna PASS |",
        "|---|---|---|---|---|---|",
    ]
    n_ok = n_all = 0
    for name, vals in rows.items():
        e = np.array([v[0] for v in vals]) * 100
        p = np.array([v[1] for v in vals]) * 100
        ok = int(np.sum(e <= 1.5 * p + 0.1))
        n_ok += ok
        n_all += len(vals)
        lines.append(
            f"| {name} | {len(vals)} | {np.median(e):.2f} / {e.max():.2f} | "
            f"{np.median(p):.2f} / {p.max():.2f} | {ok}/{len(vals)} | {sum(v[2] for v in vals)}/{len(vals)} |"
        )
    lines.append(f"| **all** | {n_all} | | | **{n_ok}/{n_all}** | |")
    return lines


def py_drt(spec: Spectrum) -> tuple[np.ndarray, np.ndarray]:
    """(τ s, γ Ω) of pyimpspec's TR-RBF DRT (complex mode, inductance, its defaults otherwise)."""
    import pyimpspec
    from pyimpspec.analysis.drt import calculate_drt_tr_rbf

    data = pyimpspec.DataSet(frequencies=np.asarray(spec.freq, float), impedances=np.asarray(spec.z, complex))
    res = calculate_drt_tr_rbf(data, inductance=True, num_procs=1)
    tau, gamma = res.get_drt_data()
    return np.asarray(tau, float), np.asarray(gamma, float)


def main_peak(tau: np.ndarray, gamma: np.ndarray, f_range: tuple[float, float]) -> tuple[float, float] | None:
    """(f Hz, share of ∫γ d ln τ) of the peak holding the largest share of R_pol among the peaks
    inside the measured frequency range, or None. The same rule on both DRTs: γ's maxima with
    the area between their neighbouring minima (eisna's segmentation, shoulders merged)."""
    order = np.argsort(tau)
    log_tau, g = np.log(tau[order]), np.clip(gamma[order], 0.0, None)
    total = float(np.trapezoid(g, log_tau))
    peaks = [p for p in _find_peaks(log_tau, g, 0.0) if f_range[0] <= p.f <= f_range[1]]
    if not peaks or total <= 0:
        return None
    top = max(peaks, key=lambda p: p.R)
    return top.f, top.R / total


def apex_near(spec: Spectrum, f: float) -> float:
    """Frequency (Hz) of the local maximum of −Z″ nearest (in log f) to ``f``: a model-free
    reference for the peak of a well-separated arc."""
    order = np.argsort(spec.freq)
    freq, mz = np.asarray(spec.freq)[order], -np.asarray(spec.z).imag[order]
    k = [i for i in range(1, freq.size - 1) if mz[i] >= mz[i - 1] and mz[i] >= mz[i + 1]]
    if not k:
        return float("nan")
    return float(freq[min(k, key=lambda i: abs(np.log(freq[i] / f)))])


def drt_table(spectra: list[tuple[str, int, Spectrum]]) -> list[str]:
    """Main peaks of eisna's DRT and pyimpspec's TR-RBF, by the same rule (:func:`main_peak`),
    on the spectra where both DRTs have a peak inside the measured range."""
    lines = [
        "| file | sweep | eisna main peak f (Hz, share) | pyimpspec main peak f (Hz, share) | τ ratio "
        "| ≤ 1.5× | nearest −Z″ apex (Hz) | closer to the apex |",
        "|---|---|---|---|---|---|---|---|",
    ]
    n_ok = n_all = n_closer = n_py_out = 0
    for name, i, spec in spectra:
        f_range = (float(np.min(spec.freq)), float(np.max(spec.freq)))
        res = drt(spec, n_boot=0)
        try:
            py = main_peak(*py_drt(spec), f_range)
        except Exception as err:
            print(f"  pyimpspec DRT failed on {name} #{i}: {err}", file=sys.stderr)
            continue
        ours = main_peak(res.tau, res.gamma, f_range)
        if ours is None or py is None:  # not resolved by both inside the window
            print(f"  {name} #{i}: no in-window peak (eisna {ours}, pyimpspec {py})", file=sys.stderr)
            continue
        ratio = max(ours[0] / py[0], py[0] / ours[0])
        n_all += 1
        n_ok += ratio <= 1.5
        apex = apex_near(spec, ours[0])
        d_ours, d_py = abs(np.log(ours[0] / apex)), abs(np.log(py[0] / apex))
        closer = "eisna" if d_ours <= d_py else "pyimpspec"
        if np.isnan(apex):
            closer = "(no apex)"
        n_closer += closer == "eisna"
        # pyimpspec is the outlier: eisna within 1.5× of the apex, pyimpspec not
        py_outlier = ratio > 1.5 and d_ours <= np.log(1.5) < d_py
        n_py_out += py_outlier
        verdict = "yes" if ratio <= 1.5 else "no (pyimpspec off the apex)" if py_outlier else "no"
        lines.append(
            f"| {name} | {i} | {ours[0]:.3g} ({100 * ours[1]:.0f} %) | {py[0]:.3g} ({100 * py[1]:.0f} %) "
            f"| {ratio:.2f} | {verdict} | {apex:.3g} | {closer} |"
        )
    lines.append(
        f"| **all** | | | | | **{n_ok}/{n_all}** (+{n_py_out} pyimpspec off the apex) | | "
        f"eisna {n_closer}/{n_all} |"
    )
    return lines


def kk_speed() -> list[str]:
    """Time per kk_test call on 80-point spectra: a synthetic NAS cell and the sample set."""
    freq = np.geomspace(7e6, 0.1, 80)
    w = 2 * np.pi * freq
    z = 1j * w * 2e-7 + 42.4 / (1 + 1j * w * 42.4 * 13.9e-12) + 21 / (1 + (1j * freq / 2e6) ** 0.8)
    z = z + 100 / (1 + (1j * freq / 1e4) ** 0.85) + 40 / (1 + (1j * freq / 300) ** 0.9)
    rng = np.random.default_rng(1)
    specs = [
        Spectrum(freq, z + 0.002 * abs(z) * (rng.standard_normal(80) + 1j * rng.standard_normal(80)))
        for _ in range(20)
    ]
    sample = REPO / "sample_spectra" / "nas_looped.mpt"
    if sample.exists():
        specs += list(read(sample))
    for s in specs[:3]:
        kk_test(s)
    times = []
    for s in specs:
        t0 = time.perf_counter()
        kk_test(s)
        times.append(time.perf_counter() - t0)
    t = np.array(times) * 1e3
    return [
        "| spectra | points | median (ms) | 90th percentile (ms) | best (ms) |",
        "|---|---|---|---|---|",
        f"| {len(specs)} | 80 | {np.median(t):.1f} | {np.percentile(t, 90):.1f} | {t.min():.1f} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-per-file", type=int, default=None, help="spectra per file (default all)")
    parser.add_argument("--no-drt", action="store_true", help="skip the DRT comparison")
    parser.add_argument("--drt-only", action="store_true", help="only the DRT comparison")
    parser.add_argument("--drt-per-file", type=int, default=2, help="spectra per file in the DRT table")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("/tmp/eisna_pyimpspec_kk_cache.json"),
        help="JSON file caching pyimpspec's KK figures (default /tmp/eisna_pyimpspec_kk_cache.json)",
    )
    args = parser.parse_args()
    spectra = corpus_spectra(args.max_per_file)
    if not args.drt_only:
        print("## KK time per call (80 points)\n")
        print("\n".join(kk_speed()), flush=True)
        print(f"\n## lin-KK against pyimpspec ({len(spectra)} corpus spectra)\n")
        print("\n".join(kk_table(spectra, args.cache)))
    if not args.no_drt:
        chosen = [s for s in spectra if s[1] < args.drt_per_file]
        print(f"\n## DRT main peaks against pyimpspec TR-RBF ({len(chosen)} spectra)\n")
        print("\n".join(drt_table(chosen)))


if __name__ == "__main__":
    main()
