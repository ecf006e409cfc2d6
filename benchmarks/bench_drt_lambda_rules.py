"""λ rules for eisna's DRT against known time constants (issue 13, items 3 and 8).

eisna chooses λ by real/imaginary cross-validation; pyimpspec's TR-RBF by modified GCV. This
script swaps the rule inside eisna's own DRT (same basis, NNLS, peak rules) and scores each on
synthetic spectra whose relaxations are known, so the choice rests on the truth and not on
agreement with another tool. Usage::

    PYTHONPATH=src /work/main/.venv/bin/python -W ignore benchmarks/bench_drt_lambda_rules.py

Two sets: "easy" (sample-script NAS/NPS cells at 0, 3, 24 h, seeds 0–3, and 24 random 1–3-ZARC
spectra, 30–80 points) and "harder" (3 × 40 random spectra: 12–40 points over 2–5 decades, arcs
cut by the window at either end, series inductance, 0.1–1 % noise). Per rule: true relaxations
(≥ 10 % of the total, inside the window) with a listed peak within 1.5× of f0, the same for the
largest one, the number of listed in-window peaks, and the spurious ones among them (farther
than 2.5× from every true relaxation). Takes a few minutes per rule.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from eisna import Spectrum
from eisna import relaxation as R

REPO = Path(__file__).resolve().parents[1]
Case = tuple[str, np.ndarray, np.ndarray, list[tuple[float, float]]]  # name, f (Hz), Z (Ω), [(f0, R)]


def _sample_script():
    path = REPO / "scripts" / "make_sample_spectra.py"
    spec = importlib.util.spec_from_file_location("_make_sample_spectra_lam", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def easy_cases() -> list[Case]:
    m = _sample_script()
    out: list[Case] = []
    freq = m.FREQ_CELL_HZ
    for seed in range(4):
        rng = np.random.default_rng(seed)
        for system in m.CELLS:
            for t_h in (0.0, 3.0, 24.0):
                p = m.cell_truth(m.CELLS[system], t_h)["params"]
                z = m.add_noise(m.cell_impedance(freq, p), freq, rng)
                rel = [
                    (1 / (2 * np.pi * (p[f"R_{a}"] * p[f"Q_{a}"]) ** (1 / p[f"n_{a}"])), p[f"R_{a}"])
                    for a in ("gb", "int", "ct")
                    if p[f"R_{a}"]
                ]
                rel.append((np.pi / (8 * p["tau_W"]), 8 / np.pi**2 * p["R_W"]))
                out.append((f"{system} {t_h:g} h s{seed}", freq, z, rel))
    rng = np.random.default_rng(123)
    for k in range(24):
        nf = int(rng.integers(30, 81))
        lo = rng.uniform(-2, 1)
        hi = lo + rng.uniform(4, 7)
        out.append(
            _random_zarcs(f"rand{k}", rng, nf, lo, hi, int(rng.integers(1, 4)), 1.5, 0.002, extras=False)
        )
    return out


def harder_cases(seed: int, n: int = 40) -> list[Case]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        nf = int(rng.integers(12, 41))
        lo = rng.uniform(-2, 2)
        hi = lo + rng.uniform(2, 5)
        noise = float(rng.choice([0.001, 0.003, 0.01]))
        out.append(
            _random_zarcs(f"hard{k}/{seed}", rng, nf, lo, hi, int(rng.integers(1, 3)), 1.3, noise, True)
        )
    return out


def _random_zarcs(
    name: str,
    rng: np.random.Generator,
    nf: int,
    lo: float,
    hi: float,
    n_arcs: int,
    gap: float,
    noise: float,
    extras: bool,
) -> Case:
    """R∞ + ZARCs inside the window (≥ ``gap`` decades apart) [+ arcs beyond it, + L], noisy."""
    freq = np.geomspace(10**hi, 10**lo, nf)
    margin = 0.3 if extras else 0.5
    while True:
        log_f = np.sort(rng.uniform(lo + margin, hi - margin, n_arcs))
        if n_arcs == 1 or np.all(np.diff(log_f) >= gap):
            break
    z = rng.uniform(1, 50) + 0j * freq
    rel = []
    for j in range(n_arcs):
        R_arc, n, f0 = float(10 ** rng.uniform(1, 3)), rng.uniform(0.7, 1.0), float(10 ** log_f[j])
        z = z + R_arc / (1 + (1j * freq / f0) ** n)
        rel.append((f0, R_arc))
    if extras:
        if rng.random() < 0.5:  # an arc above the window (a bulk arc)
            R_arc, f0 = float(10 ** rng.uniform(1, 3)), float(10 ** (hi + rng.uniform(0.3, 1.5)))
            z = z + R_arc / (1 + (1j * freq / f0) ** 0.9)
            rel.append((f0, R_arc))
        if rng.random() < 0.5:  # an arc below the window (an electrode arc)
            R_arc, f0 = float(10 ** rng.uniform(1, 3.5)), float(10 ** (lo - rng.uniform(0.3, 1.5)))
            z = z + R_arc / (1 + (1j * freq / f0) ** 0.85)
            rel.append((f0, R_arc))
        if rng.random() < 0.5:
            z = z + 1j * 2 * np.pi * freq * 10 ** rng.uniform(-8, -5)
    z = z + noise * np.abs(z) * (rng.standard_normal(nf) + 1j * rng.standard_normal(nf))
    return name, freq, z, rel


def _gcv_family(kind: str, tolerance: float = 1.0) -> Callable[..., tuple[float, bool]]:
    """λ from GCV ("gcv"), modified GCV ("mgcv") or robust GCV ("rgcv") of the joint fit (Maradesa
    et al. 2023), on 1e-9 … 1e3 in half decades: the largest λ within ``tolerance`` of the minimum."""

    def chooser(A_re, A_im, b_re, b_im, D, n_tau):
        A, b = np.vstack([A_re, A_im]), np.concatenate([b_re, b_im])
        n = b.size

        def score(lam: float) -> float:
            coef = R._solve(A, b, D, lam)
            active = coef > 0
            resid = A @ coef - b
            A_a, D_a = A[:, active], D[:, active]
            gram = A_a.T @ A_a
            system = gram + lam * (D_a.T @ D_a)
            system[np.diag_indices_from(system)] *= 1 + 1e-12
            hat = np.linalg.solve(system, gram)
            trace, rss = float(np.trace(hat)), float(resid @ resid)
            if kind == "mgcv":
                return n * rss / max(n - (1.3 if n < 100 else 2.0) * trace, 1.0) ** 2
            gcv = n * rss / max(n - trace, 1.0) ** 2
            if kind == "rgcv":
                xi = 0.3 if n < 100 else 0.2
                return (xi + (1 - xi) * float(np.trace(hat @ hat)) / n) * gcv
            return gcv

        grid = np.logspace(-9, 3, 25)
        scores = {float(lam): score(float(lam)) for lam in grid}
        best = max(lam for lam, v in scores.items() if v <= tolerance * min(scores.values()))
        return best, best in (grid[0], grid[-1])

    return chooser


# each rule's λ then passes eisna's discrepancy cap (in ``drt``), as the re/im choice does
RULES: dict[str, Callable[..., tuple[float, bool]]] = {
    "re/im CV, largest λ within 10 % (eisna)": R._choose_lambda,
    "GCV, largest λ within 3 %": _gcv_family("gcv", 1.03),
    "modified GCV (pyimpspec's default)": _gcv_family("mgcv"),
    "robust GCV": _gcv_family("rgcv"),
}


def score(cases: list[Case]) -> tuple[int, int, int, int, int, int]:
    """(recovered, relaxations, dominant recovered, dominant, listed in-window peaks, spurious)."""
    hit = total = dom_hit = dom_total = listed = spurious = 0
    ratio = np.log(1.5)
    for _name, freq, z, rel in cases:
        res = R.drt(Spectrum(freq, z), n_boot=0)
        r_all = sum(r for _f, r in rel)
        inside = [(f0, r) for f0, r in rel if freq.min() <= f0 <= freq.max() and r >= 0.1 * r_all]
        for f0, _r in inside:
            total += 1
            hit += any(abs(np.log(p.f / f0)) <= ratio for p in res.peaks)
        if inside:
            f0 = max(inside, key=lambda t: t[1])[0]
            dom_total += 1
            dom_hit += any(abs(np.log(p.f / f0)) <= ratio for p in res.peaks)
        for p in res.peaks:
            if p.in_window:
                listed += 1
                spurious += not any(abs(np.log(p.f / f0)) <= np.log(2.5) for f0, _r in rel)
    return hit, total, dom_hit, dom_total, listed, spurious


def main() -> None:
    easy = easy_cases()
    harder = harder_cases(7) + harder_cases(8) + harder_cases(9)
    print(
        "| λ rule | within 1.5× of truth (harder) | easy | dominant in-window (harder) "
        "| listed in-window | spurious |"
    )
    print("|---|---|---|---|---|---|")
    original = R._choose_lambda
    try:
        for name, rule in RULES.items():
            R._choose_lambda = rule  # type: ignore[assignment]
            h = score(harder)
            e = score(easy)
            print(f"| {name} | {h[0]}/{h[1]} | {e[0]}/{e[1]} | {h[2]}/{h[3]} | {h[4]} | {h[5]} |", flush=True)
    finally:
        R._choose_lambda = original


if __name__ == "__main__":
    main()
