#!/usr/bin/env python3
"""Series cost (issue 12 item 2): a whole batch per spectrum vs one cold fit and vs impedance.py.

Usage::

    python benchmarks/bench_series_cost.py                 # sample_spectra/nas_looped.mpt (49 spectra)
    python benchmarks/bench_series_cost.py --imp-every 2   # impedance.py on every 2nd spectrum
    python benchmarks/bench_series_cost.py --profile 30    # cProfile of the batch, top 30 entries
    python benchmarks/bench_series_cost.py --phases        # CPU time of each stage of the batch
    python benchmarks/bench_series_cost.py --rounds 5 --phases   # medians of 5 interleaved rounds
    python benchmarks/bench_series_cost.py --fit-kinds     # the batch's circuit fits by kind
    python benchmarks/bench_series_cost.py --rounds 7 --gc # garbage collections within each batch
    python benchmarks/bench_series_cost.py --no-imp --fit-log new.json --against old.json
                                                          # every fit: nfev by stage, χ² moves

All in one process, CPU time (``time.process_time``: steadier than wall time on a shared
machine):

1. one cold ``eisna.fit(spectrum, "symmetric_interlayer")`` per spectrum (automatic starts);
2. the whole ``eisna.batch([file], jobs=1, report=False, resume=False)`` — reading, the tracked
   series, ``results.csv``, ``results.json``, ``kinetics.json``, ``tracks.csv``,
   ``analysis.json`` — divided by the number of spectra;
3. impedance.py's ``CustomCircuit.fit`` on the same spectra (every ``--imp-every``-th), started
   from eisna's cold fit ×1.5 (exponents ×1.05, capped at 1), as ``bench_fit.py`` starts it from
   the truth ×1.5.

Prints batch / fit (target ≤ 2) and impedance.py / batch per spectrum (target ≥ 20), plus the
batch's onset and plateau so a speed-up that changes the answer shows. The batch is timed
``--repeat`` times and the cold fits twice; the fastest of each is reported.

``--rounds N`` measures instead in N rounds after an untimed warm-up batch, each round timing
the cold fits, then the batch, then impedance.py, one after the other, so that a slow spell of
the machine falls on all three: the ratios are formed within each round and their medians
reported (with each round's figures and load average), which scatters far less than the
fastest-of-each figures on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _warm_imports() -> None:
    """Import what the batch's output stage needs (pandas, the KK test, kinetics) once, untimed:
    the one-off import cost is issue 12 item 3, not the per-spectrum cost measured here."""
    import pandas  # noqa: F401

    import eisna.analysis
    import eisna.batching
    import eisna.kinetics
    import eisna.plotting._data
    import eisna.validation  # noqa: F401


_STAGES = (  # (module, attribute, label): the stages --phases times (nested ones overlap)
    ("eisna.batching", "_read_all", "read"),
    ("eisna.series.fitter", "_Fitter._fit", "circuit fits"),
    ("eisna.series.fitter", "_finished", "circuit fits"),  # (a candidate's statistics, when kept)
    # (every law table, the screened tracks' too: the core of fit_kinetics where there is one)
    ("eisna.kinetics", "_fit_kinetics", "growth laws (kinetics + tracks)"),
    ("eisna.kinetics", "fit_kinetics", "growth laws (kinetics + tracks)"),
    ("eisna.validation", "kk_test", "KK tests"),
    ("eisna.validation", "kk_tests", "KK tests (together)"),
    ("eisna.validation", "zhit", "Z-HIT (in KK)"),
    ("eisna.analysis", "analyse_series", "analysis.json record (incl. KK)"),
    ("eisna.batching", "dump_bytes", "JSON encoding"),
    ("eisna.batching", "dumps", "JSON encoding"),  # (where there is no dump_bytes)
    ("eisna.series.result", "SeriesResult.to_frame", "to_frame"),
    ("eisna.batching", "write_outputs", "write_outputs (incl. analysis, JSON)"),
)


def _timed_stages() -> dict[str, float]:
    """Wrap the stages of a batch with CPU-time counters; returns the (live) totals."""
    import importlib

    totals: dict[str, float] = {}
    wrapped: set[str] = set()
    for mod_name, attr, label in _STAGES:
        if label in wrapped:  # (one function per label: a stage timed twice would count twice)
            continue
        owner = importlib.import_module(mod_name)
        *path, name = attr.split(".")
        for part in path:
            owner = getattr(owner, part)
        inner = getattr(owner, name, None)
        if inner is None:  # (a stage another version of eisna does not have)
            continue

        def wrapper(*a, __inner=inner, __label=label, **k):
            c0 = time.process_time()
            try:
                return __inner(*a, **k)
            finally:
                totals[__label] = totals.get(__label, 0.0) + time.process_time() - c0

        setattr(owner, name, wrapper)
        wrapped.add(label)
    return totals


# garbage collections within the timed batches (--gc): generation -> [count, CPU s]
_GC: dict[int, list[float]] = {}
_GC_ON = [False]  # (True while a batch is timed)
_GC_START = [0.0]


def _gc_callback(phase: str, info: dict) -> None:
    if not _GC_ON[0]:
        return
    if phase == "start":
        _GC_START[0] = time.process_time()
        return
    row = _GC.setdefault(info["generation"], [0, 0.0])
    row[0] += 1
    row[1] += time.process_time() - _GC_START[0]


def _count_collections() -> None:
    """Count the garbage collections (and their CPU time) of every timed batch, by generation:
    a full collection walks everything the process holds (the benchmark's impedance.py and
    lmfit objects too), tens of ms that fall on whichever stage allocates at that moment."""
    import gc

    gc.callbacks.append(_gc_callback)


def _timed_fit_kinds() -> dict[str, list[float]]:
    """Wrap the series' fits: kind (circuit, warm/cold, budget, light) → [count, nfev, CPU s]."""
    from eisna.series import fitter

    kinds: dict[str, list[float]] = {}
    inner = fitter._Fitter._fit

    def wrapper(self, spectrum, name, initial, max_nfev=None, *rest):
        c0 = time.process_time()
        res = inner(self, spectrum, name, initial, max_nfev, *rest)
        kind = f"{name} {'warm' if initial else 'cold'}" + (f", budget {max_nfev}" if max_nfev else "")
        kind += ", light" if rest and rest[0] is False else ""
        row = kinds.setdefault(kind, [0, 0, 0.0])
        row[0] += 1
        row[1] += int(getattr(res, "nfev", 0))
        row[2] += time.process_time() - c0
        return res

    fitter._Fitter._fit = wrapper
    return kinds


_ENGINE_STAGES = (  # engine stages whose evaluations --fit-log counts (arg index of the _Prepared)
    ("_start_points", 0, "start"),
    ("_search", 0, "search"),
    ("_escape", 0, "escape"),
    ("_polish_and_refine", 0, "polish"),
    ("_uncertainties", 0, "stats"),
    ("_judge", 0, "stats"),
    ("_assemble", 1, "stats"),
)


def _logged_fits() -> list[dict]:
    """Wrap the series' fits and the engine's stages: one record per fit of the batch (spectrum
    index, circuit, warm/cold, budget, light, nfev in total and per stage, CPU s, χ²)."""
    from eisna.fitting import engine
    from eisna.series import fitter

    log: list[dict] = []
    stages: dict[str, int] = {}
    for name, arg, label in _ENGINE_STAGES:
        inner = getattr(engine, name, None)
        if inner is None:  # (a stage another version of eisna does not have)
            continue

        def stage(*a, __inner=inner, __arg=arg, __label=label, **k):
            problem = a[__arg].problem
            n0 = problem.nfev
            try:
                return __inner(*a, **k)
            finally:
                stages[__label] = stages.get(__label, 0) + problem.nfev - n0

        setattr(engine, name, stage)
    inner_fit = fitter._Fitter._fit

    def fit(self, spectrum, name, initial, max_nfev=None, *rest):
        stages.clear()
        c0 = time.process_time()
        res = inner_fit(self, spectrum, name, initial, max_nfev, *rest)
        log.append(
            {
                "index": spectrum.meta.get("index"),
                "circuit": name,
                "warm": bool(initial),
                "budget": max_nfev,
                "light": bool(rest and rest[0] is False),
                "nfev": int(getattr(res, "nfev", 0)),
                "stages": dict(stages),
                "cpu_s": time.process_time() - c0,
                "chisqr": float(getattr(res, "chisqr", float("nan"))),
            }
        )
        return res

    fitter._Fitter._fit = fit
    return log


def _fit_log_summary(log: list[dict], n_spectra: int) -> None:
    """Evaluations and CPU of the batch's fits by group: the chain start (spectrum 0), fits of
    more than 40 evaluations, the others; and by engine stage."""
    groups: dict[str, list[float]] = {}
    for r in log:
        group = "chain start" if r["index"] == 0 else "over 40 nfev" if r["nfev"] > 40 else "40 nfev or less"
        row = groups.setdefault(group, [0, 0, 0.0])
        row[0] += 1
        row[1] += r["nfev"]
        row[2] += r["cpu_s"]
    for group, (count, nfev, cpu) in groups.items():
        print(
            f"  fits, {group}: {count:.0f} fits, {nfev:.0f} nfev, {1e3 * cpu:.1f} ms "
            f"({1e3 * cpu / n_spectra:.2f} ms/spectrum)"
        )
    by_stage: dict[str, int] = {}
    for r in log:
        for k, v in r["stages"].items():
            by_stage[k] = by_stage.get(k, 0) + v
    print("  nfev by engine stage: " + ", ".join(f"{k} {v}" for k, v in by_stage.items()))


def _fit_log_compare(old: list[dict], new: list[dict]) -> None:
    """Fits whose χ² moved by more than 0.1 % against an earlier --fit-log (same order)."""
    if [(r["index"], r["circuit"]) for r in old] != [(r["index"], r["circuit"]) for r in new]:
        print("  --against: the batches ran different fits (not comparable one by one)")
        return
    moved = [
        (a["index"], a["circuit"], a["budget"], b["chisqr"] / a["chisqr"] - 1)
        for a, b in zip(old, new, strict=True)
        if abs(b["chisqr"] / a["chisqr"] - 1) > 1e-3
    ]
    print(f"  fits whose chi2 moved by > 0.1 %: {len(moved)} of {len(new)}")
    for idx, name, budget, rel in moved:
        print(f"    spectrum {idx} {name}{f' (budget {budget})' if budget else ''}: {100 * rel:+.2f} %")


def _cold_fits(spectra, circuit):
    import eisna

    eisna.fit(spectra[0], circuit)  # imports, caches
    fits = []
    c0 = time.process_time()
    for s in spectra:
        fits.append(eisna.fit(s, circuit))
    return (time.process_time() - c0) / len(spectra), fits


def _batch(src: Path, profile: int = 0):
    import eisna

    with tempfile.TemporaryDirectory() as tmp:
        prof = None
        if profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        c0 = time.process_time()
        _GC_ON[0] = True
        try:
            series = eisna.batch(
                [src], "symmetric_interlayer", out=Path(tmp) / "out", jobs=1, resume=False, report=False
            )
        finally:
            _GC_ON[0] = False
        cpu = time.process_time() - c0
        if prof is not None:
            import pstats

            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(profile)
        for name in ("results.csv", "kinetics.json", "tracks.csv"):
            assert (Path(tmp) / "out" / name).exists(), name
    return cpu / len(series), series


def _impedance_py_times(spectra, fits, circuit, every: int, part: slice = slice(None)) -> list[float]:
    """CPU s of impedance.py's fit on every ``every``-th spectrum (``part`` of those)."""
    from bench_fit import fit_impedance_py  # (this folder is not a package)

    d = eisna_circuit(circuit)
    times = []
    for s, r in list(zip(spectra, fits, strict=True))[::every][part]:
        values = [r.params[p] for p in d.param_names]
        times.append(fit_impedance_py(d, values, s, clock=time.process_time)[1])
    return times


def _impedance_py(spectra, fits, circuit, every: int):
    times = _impedance_py_times(spectra, fits, circuit, every)
    return float(np.mean(times)), float(np.median(times)), len(times)


def eisna_circuit(name):
    from eisna.circuit import load_circuit

    return load_circuit(name)


def _rounds(args, src: Path, spectra, circuit: str, totals: dict[str, float] | None) -> int:
    """The interleaved protocol (``--rounds``): each round times the cold fits, half of the
    impedance.py fits, the batch, the other half, the cold fits again (the batch in the middle
    of its references: a drift of the machine's speed within the round cancels to first
    order); the ratios are formed within each round, then their medians taken."""
    _batch(src)  # untimed warm-up: the first batch of a process fills caches (designs, circuits)
    rows = []
    for k in range(args.rounds):
        t_fit_a, fits = _cold_fits(spectra, circuit)
        imp = (
            []
            if args.no_imp
            else _impedance_py_times(spectra, fits, circuit, args.imp_every, slice(0, None, 2))
        )
        if totals is not None:
            totals.clear()
        _GC.clear()
        t_batch, series = _batch(src)
        phases = {lab: v / len(series) for lab, v in (totals or {}).items()}
        collections = {g: (int(c), cpu / len(series)) for g, (c, cpu) in sorted(_GC.items())}
        if not args.no_imp:
            imp += _impedance_py_times(spectra, fits, circuit, args.imp_every, slice(1, None, 2))
        t_fit_b, _ = _cold_fits(spectra, circuit)
        t_fit = 0.5 * (t_fit_a + t_fit_b)
        row = {
            "fit": t_fit,
            "fit_min": min(t_fit_a, t_fit_b),
            "batch": t_batch,
            "load": os.getloadavg()[0],
            "phases": phases,
            "gc": collections,
        }
        if imp:
            row["imp_mean"], row["imp_median"] = float(np.mean(imp)), float(np.median(imp))
        rows.append(row)
        line = (
            f"round {k + 1} (load {row['load']:.2f}): fit {1e3 * t_fit:.1f} ms "
            f"({1e3 * t_fit_a:.1f} before, {1e3 * t_fit_b:.1f} after the batch), "
            f"batch {1e3 * t_batch:.1f} ms, batch/fit {t_batch / t_fit:.2f}x"
        )
        if not args.no_imp:
            line += (
                f", impedance.py {1e3 * row['imp_mean']:.0f} / {1e3 * row['imp_median']:.0f} ms, "
                f"impedance.py/batch {row['imp_mean'] / t_batch:.1f}x / {row['imp_median'] / t_batch:.1f}x"
            )
        print(line, flush=True)
        if totals is not None:
            print("  " + ", ".join(f"{lab} {1e3 * v:.2f}" for lab, v in row["phases"].items()), "ms/spectrum")
        if args.gc:
            print(
                "  garbage collections in the batch: "
                + (
                    ", ".join(
                        f"gen {g}: {c} ({1e3 * v:.2f} ms/spectrum)" for g, (c, v) in collections.items()
                    )
                    or "none"
                )
            )

    def med(values) -> float:
        return statistics.median(values)

    kin = series.kinetics_summary()
    print(f"{src.name}: {len(spectra)} spectra, {circuit}, CPU time (time.process_time), one process")
    loads = [r["load"] for r in rows]
    per_fit = [r["batch"] / r["fit"] for r in rows]
    print(f"medians of {args.rounds} rounds (load {min(loads):.2f}-{max(loads):.2f}):")
    print(f"one cold eisna.fit per spectrum   {1e3 * med(r['fit'] for r in rows):8.1f} ms")
    print(f"eisna.batch per spectrum          {1e3 * med(r['batch'] for r in rows):8.1f} ms")
    print(
        f"batch / fit                       {med(per_fit):8.2f}x   (target <= 2; "
        f"rounds {min(per_fit):.2f}-{max(per_fit):.2f})"
    )
    if totals is not None:
        labels = rows[0]["phases"].keys()
        print(
            "  stages: "
            + ", ".join(f"{lab} {1e3 * med(r['phases'][lab] for r in rows):.2f}" for lab in labels)
        )
    if args.gc:
        full = [r["gc"].get(2, (0, 0.0))[0] for r in rows]
        gc_ms = [sum(v for _, v in r["gc"].values()) for r in rows]
        print(
            f"  garbage collection in the batch: {sum(full)} full collection(s) in {args.rounds} rounds, "
            f"median {1e3 * med(gc_ms):.2f} ms/spectrum "
            f"(rounds {1e3 * min(gc_ms):.2f}-{1e3 * max(gc_ms):.2f})"
        )
    onset, plateau = kin.get("onset_h"), kin.get("R_int_final")
    print(
        f"onset {onset if onset is None else round(onset, 2)} h, plateau "
        f"{plateau if plateau is None else round(plateau, 1)} ohm"
    )
    if not args.no_imp:
        ratio_mean = [r["imp_mean"] / r["batch"] for r in rows]
        ratio_med = [r["imp_median"] / r["batch"] for r in rows]
        print(
            f"impedance.py fit (x1.5 start)     {1e3 * med(r['imp_mean'] for r in rows):8.1f} ms mean, "
            f"{1e3 * med(r['imp_median'] for r in rows):.1f} ms median"
        )
        print(
            f"impedance.py / batch per spectrum {med(ratio_mean):8.1f}x (mean)  "
            f"{med(ratio_med):.1f}x (median)   (target >= 20; "
            f"rounds {min(ratio_mean):.1f}-{max(ratio_mean):.1f}x mean)"
        )
    # a busy machine only ever slows a measurement down: the fastest of the rounds is the other
    # robust reading (each quantity's fastest round, then the ratios)
    fit_min, batch_min = min(r["fit_min"] for r in rows), min(r["batch"] for r in rows)
    line = (
        f"fastest of {args.rounds} rounds: fit {1e3 * fit_min:.1f} ms, batch {1e3 * batch_min:.1f} ms, "
        f"batch/fit {batch_min / fit_min:.2f}x"
    )
    if not args.no_imp:
        imp_min = min(r["imp_mean"] for r in rows)
        line += f", impedance.py {1e3 * imp_min:.0f} ms mean, impedance.py/batch {imp_min / batch_min:.1f}x"
    print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", default=str(REPO / "sample_spectra" / "nas_looped.mpt"))
    ap.add_argument("--imp-every", type=int, default=4, help="impedance.py on every k-th spectrum")
    ap.add_argument("--no-imp", action="store_true", help="skip impedance.py")
    ap.add_argument("--profile", type=int, default=0, help="cProfile the batch, print N entries")
    ap.add_argument("--repeat", type=int, default=2, help="batches timed (the fastest is reported)")
    ap.add_argument("--phases", action="store_true", help="CPU time per stage of each batch")
    ap.add_argument(
        "--rounds", type=int, default=0, help="N interleaved rounds (fits, batch, impedance.py); medians"
    )
    ap.add_argument("--fit-kinds", action="store_true", help="the batch's circuit fits by kind")
    ap.add_argument("--gc", action="store_true", help="garbage collections within each timed batch")
    ap.add_argument("--fit-log", metavar="FILE", help="write every fit of the last batch (JSON)")
    ap.add_argument("--against", metavar="FILE", help="with --fit-log: fits whose chi2 moved vs FILE")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    import eisna

    src = Path(args.file)
    spectra = eisna.read(src)
    circuit = "symmetric_interlayer"
    _warm_imports()
    if args.gc:
        _count_collections()
    if args.rounds:
        return _rounds(args, src, spectra, circuit, _timed_stages() if args.phases else None)
    t_fit, fits = _cold_fits(spectra, circuit)
    totals = _timed_stages() if args.phases else None
    kinds = _timed_fit_kinds() if args.fit_kinds else None
    log = _logged_fits() if args.fit_log else None
    runs = []
    for k in range(max(args.repeat, 1)):
        if log is not None:
            log.clear()
        if totals is not None:
            totals.clear()
        if kinds is not None:
            kinds.clear()
        runs.append(_batch(src, args.profile if k == 0 else 0))
        if totals is not None:
            n = len(runs[-1][1])
            print(
                f"batch {k + 1}: " + ", ".join(f"{lab} {1e3 * v / n:.1f}" for lab, v in totals.items()),
                "ms/spectrum",
            )
        if kinds is not None:
            for kind, (count, nfev, cpu) in sorted(kinds.items(), key=lambda kv: -kv[1][2]):
                print(
                    f"  batch {k + 1} fits {kind}: {count:.0f} fits, {nfev / count:.0f} nfev and "
                    f"{1e3 * cpu / count:.2f} ms per fit, {1e3 * cpu / len(runs[-1][1]):.2f} ms/spectrum"
                )
    if log is not None:
        import json

        Path(args.fit_log).write_text(json.dumps(log, indent=0))
        _fit_log_summary(log, len(runs[-1][1]))
        if args.against:
            _fit_log_compare(json.loads(Path(args.against).read_text()), log)
    t_batch, series = min(runs, key=lambda r: r[0])
    t_fit = min(t_fit, _cold_fits(spectra, circuit)[0])  # cold fits timed twice, before and after
    kin = series.kinetics_summary()
    onset, plateau = kin.get("onset_h"), kin.get("R_int_final")
    print(f"{src.name}: {len(spectra)} spectra, {circuit}, CPU time (time.process_time), one process")
    print(f"one cold eisna.fit per spectrum   {1e3 * t_fit:8.1f} ms")
    print(
        f"eisna.batch per spectrum          {1e3 * t_batch:8.1f} ms   (jobs=1, report=False, resume=False; "
        f"runs: {', '.join(f'{1e3 * r[0]:.1f}' for r in runs)} ms)"
    )
    print(f"batch / fit                       {t_batch / t_fit:8.2f}x   (target <= 2)")
    print(
        f"onset {onset if onset is None else round(onset, 2)} h, plateau "
        f"{plateau if plateau is None else round(plateau, 1)} ohm"
    )
    if not args.no_imp:
        mean, med, n = _impedance_py(spectra, fits, circuit, args.imp_every)
        print(
            f"impedance.py fit (x1.5 start)     {1e3 * mean:8.1f} ms mean, "
            f"{1e3 * med:.1f} ms median ({n} spectra)"
        )
        print(
            f"impedance.py / batch per spectrum {mean / t_batch:8.1f}x (mean)  {med / t_batch:.1f}x (median)"
            "   (target >= 20)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
