"""eisna's lin-KK and DRT against pyimpspec on the real corpus, plus KK speed and synthetic verdicts.

pyimpspec is GPL-3: it is a dev-only cross-check, imported here and nowhere in src/ or tests/
(``pip install pyimpspec`` into the dev venv). Usage::

    PYTHONPATH=src /work/main/.venv/bin/python benchmarks/bench_kk_vs_pyimpspec.py            # all
    PYTHONPATH=src /work/main/.venv/bin/python benchmarks/bench_kk_vs_pyimpspec.py --no-drt   # KK only
    PYTHONPATH=src /work/main/.venv/bin/python benchmarks/bench_kk_vs_pyimpspec.py --max-per-file 4
    PYTHONPATH=src /work/main/.venv/bin/python benchmarks/bench_kk_vs_pyimpspec.py --drt-only --drt-per-file 2

Prints Markdown tables for BENCHMARKS.md:

1. per corpus file: spectra, eisna and pyimpspec largest KK residual (median and worst
   spectrum), how many spectra satisfy ``eisna ≤ 1.5 × pyimpspec + 0.1 %`` and verdicts;
2. DRT: the resolved peaks (rule above ``MIN_SHARE``: ≥ 10 % of the measured R_pol, inside the
   window, not at the basis edge) of eisna's DRT and pyimpspec's TR-RBF, paired by nearest τ,
   with a referee where they disagree: the −Z″ apex on corpus spectra, the known time constants
   on synthetic cells from ``scripts/make_sample_spectra.py`` (``--drt-synthetic``), then every
   pair farther apart than 1.5× with the −Z″ apex, the true f0 and the λ each tool chose;
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
from typing import NamedTuple

import numpy as np

from eisna import Spectrum, read
from eisna.errors import EisnaError
from eisna.relaxation import _EXTEND_DECADES, _find_peaks, drt  # the same peak rule on both DRTs
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


# --------------------------------------------------------------------------- DRT peaks
#
# When does a tool "resolve" a peak? The rule below is applied to both DRTs alike:
#
# * peaks are γ's maxima with the area between their neighbouring minima (eisna's segmentation,
#   shoulders merged: ``eisna.relaxation._find_peaks``), in Ω;
# * a peak's share is its area over the polarisation resistance *measured in the window*,
#   R_pol = Z′(f_min) − Z′(f_max), the same yardstick for both tools (each DRT's own ∫γ d ln τ
#   also holds the extrapolated parts of arcs cut by the window, differently in each tool: eisna
#   places a truncated bulk arc beyond f_max, pyimpspec piles it up at its basis edge);
# * a peak is *resolved* when it holds at least MIN_SHARE of R_pol, its f = 1/(2πτ) lies in the
#   measured range [f_min, f_max], and its maximum is not at the outermost centre of the tool's
#   basis (within EDGE_DECADES): there γ is the tail of the last basis function and the "peak" is a
#   truncated distribution whose position the basis sets, not the data. pyimpspec centres its RBFs
#   at τ = 1/f of the measured frequencies (its output grid runs half a decade beyond them), so it
#   cannot place a peak above f_max/2π; eisna's centres run 1.5 decades beyond 1/(2πf) each side;
# * resolved peaks of the two tools are paired as mutual nearest neighbours in ln τ; a pair agrees
#   when the τ ratio is at most RATIO. Resolved peaks without a partner are listed, not hidden;
# * referee where the tools disagree: the nearest prominent local maximum of −Z″ (:func:`apexes`,
#   within one decade of the pair), which equals the DRT peak of an isolated symmetric arc; on
#   synthetic spectra the known time constants.
MIN_SHARE = 0.10
RATIO = 1.5
EDGE_DECADES = 0.05


def py_drt(spec: Spectrum) -> tuple[np.ndarray, np.ndarray, float]:
    """(τ s, γ Ω, λ) of pyimpspec's TR-RBF DRT (complex mode, inductance, its defaults otherwise)."""
    import pyimpspec
    from pyimpspec.analysis.drt import calculate_drt_tr_rbf

    data = pyimpspec.DataSet(frequencies=np.asarray(spec.freq, float), impedances=np.asarray(spec.z, complex))
    res = calculate_drt_tr_rbf(data, inductance=True, num_procs=1)
    tau, gamma = res.get_drt_data()
    return np.asarray(tau, float), np.asarray(gamma, float), float(res.lambda_value)


class Item(NamedTuple):
    """One spectrum of a peak table: both DRTs, the referee frequencies and both λ."""

    file: str
    spectrum: str
    spec: Spectrum
    ours: tuple[np.ndarray, np.ndarray]
    py: tuple[np.ndarray, np.ndarray]
    refs: list[float]
    lam_eisna: float
    lam_py: float

    @property
    def label(self) -> str:
        return f"{self.file} {self.spectrum}" if self.file else self.spectrum


def py_centres(spec: Spectrum) -> tuple[float, float]:
    """Outermost RBF centres (s) of pyimpspec's TR-RBF: τ = 1/f_max and 1/f_min."""
    return 1.0 / float(np.max(spec.freq)), 1.0 / float(np.min(spec.freq))


def eisna_centres(spec: Spectrum) -> tuple[float, float]:
    """Outermost RBF centres (s) of eisna's DRT: 1/(2πf) extended by one decade each side."""
    f_max, f_min = float(np.max(spec.freq)), float(np.min(spec.freq))
    ext = 10.0**_EXTEND_DECADES
    return 1.0 / (ext * 2 * np.pi * f_max), ext / (2 * np.pi * f_min)


def measured_r_pol(spec: Spectrum) -> float:
    """Polarisation resistance measured in the window, Z′(f_min) − Z′(f_max) (Ω)."""
    freq, z = np.asarray(spec.freq), np.asarray(spec.z)
    return float(z[np.argmin(freq)].real - z[np.argmax(freq)].real)


def all_peaks(tau: np.ndarray, gamma: np.ndarray, r_pol: float) -> list[tuple[float, float]]:
    """(f Hz, area / r_pol) of every maximum of γ (eisna's segmentation on both DRTs)."""
    order = np.argsort(tau)
    log_tau, g = np.log(tau[order]), np.clip(gamma[order], 0.0, None)
    if r_pol <= 0:  # no polarisation measured in the window: nothing counts as resolved
        return []
    return [(p.f, p.R / r_pol) for p in _find_peaks(log_tau, g, 0.0)]


def resolved(
    peaks: list[tuple[float, float]], f_range: tuple[float, float], centres: tuple[float, float]
) -> list[tuple[float, float]]:
    """The peaks that count as resolved (see the rule above MIN_SHARE)."""
    out = []
    for f, share in peaks:
        tau = 1.0 / (2 * np.pi * f)
        at_edge = min(abs(np.log10(tau / c)) for c in centres) <= EDGE_DECADES or not (
            centres[0] < tau < centres[1]
        )
        if share >= MIN_SHARE and f_range[0] <= f <= f_range[1] and not at_edge:
            out.append((f, share))
    return out


def pair_up(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[int, int]]:
    """Index pairs (i, j) of mutual nearest neighbours in ln f between the peak lists a and b."""

    def nearest(p: tuple[float, float], qs: list[tuple[float, float]]) -> int:
        return min(range(len(qs)), key=lambda k: abs(np.log(p[0] / qs[k][0])))

    if not a or not b:
        return []
    return [(i, j) for i, p in enumerate(a) if nearest(b[(j := nearest(p, b))], a) == i]


def apexes(spec: Spectrum, min_prominence: float = 0.1) -> list[float]:
    """Frequencies (Hz) of the prominent local maxima of −Z″ over log f: a model-free reference
    for the DRT peak of an isolated, symmetric arc.

    A maximum counts when, on each side that reaches a higher point, −Z″ first drops by at
    least ``min_prominence`` of its height (noise ripples on an arc do not count); its position
    is the vertex of the parabola through it and its two neighbours (in log f).
    """
    order = np.argsort(spec.freq)
    lf, y = np.log10(np.asarray(spec.freq)[order]), -np.asarray(spec.z).imag[order]
    out = []
    for i in range(1, lf.size - 1):
        if not (y[i] > 0 and y[i] >= y[i - 1] and y[i] >= y[i + 1]):
            continue
        drops = []
        for step in (-1, 1):
            j, low = i + step, y[i]
            while 0 <= j < lf.size and y[j] <= y[i]:
                low, j = min(low, y[j]), j + step
            drops.append(y[i] - low if 0 <= j < lf.size else np.inf)
        if min(drops) < min_prominence * y[i]:
            continue
        a, b, _c = np.polyfit(lf[i - 1 : i + 2], y[i - 1 : i + 2], 2)
        vertex = -b / (2 * a) if a < 0 else lf[i]
        out.append(float(10 ** np.clip(vertex, lf[i - 1], lf[i + 1])))
    return out


def referee_for(f_pair: tuple[float, float], refs: list[float]) -> float:
    """The reference frequency nearest (log) to the pair's geometric mean, within one decade; nan if none."""
    mid = np.sqrt(f_pair[0] * f_pair[1])
    near = [r for r in refs if abs(np.log10(r / mid)) <= 1.0]
    return min(near, key=lambda r: abs(np.log(r / mid))) if near else float("nan")


def compare_peaks(
    spec: Spectrum,
    ours_tg: tuple[np.ndarray, np.ndarray],
    py_tg: tuple[np.ndarray, np.ndarray],
    refs: list[float],
) -> tuple[list[dict], list[str]]:
    """Paired resolved peaks (dicts) and notes on resolved peaks without a partner."""
    f_range = (float(np.min(spec.freq)), float(np.max(spec.freq)))
    r_pol = measured_r_pol(spec)
    ours = resolved(all_peaks(*ours_tg, r_pol), f_range, eisna_centres(spec))
    py = resolved(all_peaks(*py_tg, r_pol), f_range, py_centres(spec))
    rows, notes = [], []
    pairs = pair_up(ours, py)
    for i, j in pairs:
        (fo, so), (fp, sp) = ours[i], py[j]
        ref = referee_for((fo, fp), refs)
        rows.append({"f_eisna": fo, "share_eisna": so, "f_py": fp, "share_py": sp, "ref": ref})
    for k, (f, s) in enumerate(ours):
        if k not in [i for i, _ in pairs]:
            notes.append(f"eisna only: {f:.3g} Hz ({100 * s:.0f} %)")
    for k, (f, s) in enumerate(py):
        if k not in [j for _, j in pairs]:
            notes.append(f"pyimpspec only: {f:.3g} Hz ({100 * s:.0f} %)")
    for tool, tg, res_list in (("eisna", ours_tg, ours), ("pyimpspec", py_tg, py)):
        for f, s in all_peaks(*tg, r_pol):
            if s >= MIN_SHARE and f_range[0] <= f <= f_range[1] and (f, s) not in res_list:
                notes.append(f"{tool} {f:.3g} Hz ({100 * s:.0f} %) at its basis edge: not resolved")
    return rows, notes


def verdict(row: dict) -> tuple[float, bool, str]:
    """(τ ratio, agree, which tool is closer to the referee)."""
    fo, fp, ref = row["f_eisna"], row["f_py"], row["ref"]
    ratio = max(fo / fp, fp / fo)
    if np.isnan(ref):
        return ratio, ratio <= RATIO, "(no referee)"
    d_o, d_p = abs(np.log(fo / ref)), abs(np.log(fp / ref))
    return ratio, ratio <= RATIO, "eisna" if d_o < d_p else "pyimpspec" if d_p < d_o else "tie"


def peak_table(items: list[Item], ref_name: str) -> list[str]:
    """Markdown rows for the paired resolved peaks of each item."""
    lines = [
        f"| spectrum | eisna f (Hz, share) | pyimpspec f (Hz, share) | τ ratio | ≤ {RATIO}× "
        f"| {ref_name} (Hz) | eisna / pyimpspec ÷ referee | closer to the referee |",
        "|---|---|---|---|---|---|---|---|",
    ]
    n_ok = n_all = 0
    closer = {"eisna": 0, "pyimpspec": 0, "tie": 0, "(no referee)": 0}
    within_ref = {"eisna": 0, "pyimpspec": 0}
    n_ref = 0
    notes = []
    for item in items:
        label = item.label
        rows, extra = compare_peaks(item.spec, item.ours, item.py, item.refs)
        notes += [f"{label}: {e}" for e in extra]
        for row in rows:
            ratio, ok, who = verdict(row)
            n_all += 1
            n_ok += ok
            ref = row["ref"]
            if not np.isnan(ref):
                n_ref += 1
                within_ref["eisna"] += max(row["f_eisna"] / ref, ref / row["f_eisna"]) <= RATIO
                within_ref["pyimpspec"] += max(row["f_py"] / ref, ref / row["f_py"]) <= RATIO
            if not ok:
                closer[who] += 1
            rel = f"{row['f_eisna'] / ref:.2f} / {row['f_py'] / ref:.2f}" if not np.isnan(ref) else "–"
            lines.append(
                f"| {label} | {row['f_eisna']:.3g} ({100 * row['share_eisna']:.0f} %) "
                f"| {row['f_py']:.3g} ({100 * row['share_py']:.0f} %) | {ratio:.2f} "
                f"| {'yes' if ok else 'no'} | {'–' if np.isnan(ref) else f'{ref:.3g}'} | {rel} "
                f"| {who if not ok else ''} |"
            )
    lines.append(
        f"| **all** | | | | **{n_ok}/{n_all}** | within {RATIO}× of it: eisna {within_ref['eisna']}/{n_ref}, "
        f"pyimpspec {within_ref['pyimpspec']}/{n_ref} | | misses: eisna closer {closer['eisna']}, "
        f"pyimpspec closer {closer['pyimpspec']}, no referee {closer['(no referee)']} |"
    )
    if notes:
        lines += ["", "Resolved by one tool only, or not resolved:", ""] + [f"- {n}" for n in notes]
    return lines


def miss_table(items: list[Item], truth: bool) -> list[str]:
    """One row per paired peak farther apart than RATIO: both peaks, the −Z″ apex nearest the pair
    (within a decade), the true f0 on synthetic cells, and the λ each tool chose (each in its own
    units: eisna's penalty acts on γ/median|Z|, pyimpspec's on its own scaling)."""
    lines = [
        "| file | spectrum | eisna peak (Hz) | pyimpspec peak (Hz) | −Z″ apex (Hz) | truth (Hz) | τ ratio "
        "| eisna λ | pyimpspec λ |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for item in items:
        rows, _ = compare_peaks(item.spec, item.ours, item.py, item.refs)
        for row in rows:
            ratio, ok, _who = verdict(row)
            if ok:
                continue
            pair = (row["f_eisna"], row["f_py"])
            apex = referee_for(pair, apexes(item.spec)) if truth else row["ref"]
            true_f0 = row["ref"] if truth else float("nan")
            apex_s, true_s = ("–" if np.isnan(v) else f"{v:.3g}" for v in (apex, true_f0))
            lines.append(
                f"| {item.file or '(synthetic)'} | {item.spectrum} | {row['f_eisna']:.3g} "
                f"| {row['f_py']:.3g} | {apex_s} | {true_s} | {ratio:.2f} "
                f"| {item.lam_eisna:.2g} | {item.lam_py:.2g} |"
            )
    return lines


def drt_table(spectra: list[tuple[str, int, Spectrum]], cache_path: Path | None = None) -> list[Item]:
    """eisna's DRT and pyimpspec's TR-RBF of corpus spectra, with the −Z″ apexes as referee
    (pyimpspec's results are cached in ``cache_path``)."""
    cache = json.loads(cache_path.read_text()) if cache_path and cache_path.exists() else {}
    items = []
    for name, i, spec in spectra:
        key = f"{name}#{i}"
        if "lam" not in cache.get(key, {}):
            try:
                tau, gamma, lam = py_drt(spec)
            except Exception as err:  # the cross-check must not stop the table
                print(f"  pyimpspec DRT failed on {key}: {err}", file=sys.stderr)
                continue
            cache[key] = {"tau": tau.tolist(), "gamma": gamma.tolist(), "lam": lam}
            if cache_path:
                cache_path.write_text(json.dumps(cache))
        py_tg = (np.array(cache[key]["tau"]), np.array(cache[key]["gamma"]))
        res = drt(spec, n_boot=0)
        kk = "" if kk_test(spec).passed else " (KK fail)"
        ours = (res.tau, res.gamma)
        items.append(Item(name, f"#{i}{kk}", spec, ours, py_tg, apexes(spec), res.lam, cache[key]["lam"]))
    return items


def synthetic_items(n_seeds: int) -> list[Item]:
    """Sample-script cells (NAS, NPS; Tier A at 0, 3 and 24 h) with their known time constants."""
    import importlib.util

    path = REPO / "scripts" / "make_sample_spectra.py"
    spec_ = importlib.util.spec_from_file_location("_make_sample_spectra", path)
    m = importlib.util.module_from_spec(spec_)
    sys.modules[spec_.name] = m
    spec_.loader.exec_module(m)
    freq = m.FREQ_CELL_HZ
    items = []
    for seed in range(n_seeds):
        rng = np.random.default_rng(seed)
        for system in m.CELLS:
            for t_h in (0.0, 3.0, 24.0):
                p = m.cell_truth(m.CELLS[system], t_h)["params"]
                spec = Spectrum(freq, m.add_noise(m.cell_impedance(freq, p), freq, rng))
                # ZARC peaks at f0 = 1/(2πτ); the finite Warburg's first (largest) mode at π²/(4τ_W)/(2π)
                truth = [
                    1.0 / (2 * np.pi * (p[f"R_{a}"] * p[f"Q_{a}"]) ** (1 / p[f"n_{a}"]))
                    for a in ("gb", "int", "ct")
                    if p[f"R_{a}"]
                ] + [np.pi / (8 * p["tau_W"])]
                res = drt(spec, n_boot=0)
                tau, gamma, lam = py_drt(spec)
                label = f"{system} {t_h:g} h, seed {seed}"
                items.append(Item("", label, spec, (res.tau, res.gamma), (tau, gamma), truth, res.lam, lam))
    return items


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
    global MIN_SHARE  # --min-share changes the rule for every table
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
    parser.add_argument(
        "--drt-cache",
        type=Path,
        default=Path("/tmp/eisna_pyimpspec_drt_cache.json"),
        help="JSON file caching pyimpspec's DRTs of corpus spectra",
    )
    parser.add_argument(
        "--min-share", type=float, default=MIN_SHARE, help="share of ∫γ for a resolved peak (default 0.10)"
    )
    parser.add_argument(
        "--drt-synthetic",
        type=int,
        default=2,
        help="seeds of synthetic cells in the DRT comparison (0: none)",
    )
    args = parser.parse_args()
    MIN_SHARE = args.min_share
    spectra = corpus_spectra(args.max_per_file)
    if not args.drt_only:
        print("## KK time per call (80 points)\n")
        print("\n".join(kk_speed()), flush=True)
        print(f"\n## lin-KK against pyimpspec ({len(spectra)} corpus spectra)\n")
        print("\n".join(kk_table(spectra, args.cache)))
    if not args.no_drt:
        chosen = [s for s in spectra if s[1] < args.drt_per_file]
        print(
            f"\n## DRT resolved peaks (≥ {100 * MIN_SHARE:g} %) against pyimpspec TR-RBF "
            f"({len(chosen)} corpus spectra)\n"
        )
        corpus_items = drt_table(chosen, args.drt_cache)
        print("\n".join(peak_table(corpus_items, "−Z″ apex")), flush=True)
        synthetic = synthetic_items(args.drt_synthetic) if args.drt_synthetic else []
        if synthetic:
            print(
                f"\n## DRT resolved peaks on synthetic cells ({args.drt_synthetic} seeds), referee: true f0\n"
            )
            print("\n".join(peak_table(synthetic, "true f0")))
        print(f"\n## Every pair farther apart than {RATIO}× (corpus, then synthetic cells)\n")
        print("\n".join(miss_table(corpus_items, truth=False) + miss_table(synthetic, truth=True)[2:]))


if __name__ == "__main__":
    main()
