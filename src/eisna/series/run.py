""":func:`fit_series`: order, plan chains, fit (serially or on an executor), back-fill, assemble."""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import EisnaError
from ..fitting.physics import DEFAULT_EPS_R, make_geometry
from ..spectrum import CellGeometry, Spectrum
from .cache import cache_load, cache_store, chain_keys
from .choice import (
    AUTO_CIRCUIT,
    BLOCKING_CIRCUIT,
    automatic_circuit,
    file_verdicts,
    fit_window,
    mark_automatic_choices,
    split_mixed_cells,
)
from .fitter import _ChainTask, _Fitter, _idx, _run_chain, _src
from .ordering import order_spectra
from .outcome import BASELINES, FitFailure, SeriesOptions, SpectrumOutcome
from .result import SeriesResult
from .sweep import TIME_AXES, SweepClock, growth_time_h

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from ..kinetics import KineticsResult


def default_baseline(circuit: str) -> str | None:
    """Library circuit without the interlayer arc (``symmetric_cell`` for ``symmetric_interlayer``)."""
    if circuit in BASELINES:
        return BASELINES[circuit]
    try:
        from ..circuit import list_circuits, load_circuit

        full = load_circuit(circuit)
        inter = {p for p, role in full.param_roles.items() if role == "interlayer"}
        if not inter:
            return None
        want = set(full.param_names) - inter
        for name in list_circuits():
            if name != circuit and set(load_circuit(name).param_names) == want:
                return name
    except EisnaError:
        return None
    return None


def _progress(total: int, enabled: bool | None):
    """A tqdm bar on a terminal; a disabled tqdm (a no-op) otherwise."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    show = bool(enabled and total > 1)
    if show:
        from tqdm.auto import tqdm
    else:  # plain tqdm: no notebook detection for a bar that is never drawn
        from tqdm import tqdm
    return tqdm(total=total, unit="spectrum", desc="eisna batch", leave=False, disable=not show)


def fit_series(
    spectra: Iterable[Spectrum],
    circuit: str = "symmetric_interlayer",
    *,
    baseline: str | None = "auto",
    executor: Executor | None = None,
    interlayer_param: str = "R_int",
    delta_bic: float = -10.0,
    min_interlayer_ohm: float = 0.5,
    min_interlayer_fraction: float = 0.01,
    groups: Sequence[Any] | None = None,
    chunk_size: int | None = None,
    geometry: CellGeometry | None = None,
    eps_r: float | None = DEFAULT_EPS_R,
    area_cm2: float | None = None,
    thickness_cm: float | None = None,
    cache_dir: str | Path | None = None,
    cache_salt: str = "",
    progress: bool | None = None,
    hook: Callable[[int], None] | None = None,
    failures: Sequence[FitFailure] = (),
    track: str | Sequence[str] | None = None,
    interval_h: float | None = None,
    fallback: bool = True,
    track_time: str = "start",
    **fit_options: Any,
) -> SeriesResult:
    """Fit a time series of spectra with warm starts and per-spectrum interlayer detection.

    Parameters
    ----------
    spectra : iterable of Spectrum
        In any order; they are sorted by timestamp, elapsed time or natural file name.
    circuit : str
        Library circuit name (e.g. ``"symmetric_interlayer"``), or ``"auto"``: the automatic
        choice (:mod:`eisna.series.choice`): a spectrum whose low-frequency tail is the
        capacitive spike of blocking electrodes is fitted with ``pellet_blocking`` (a series of
        only such spectra is a ``pellet_blocking`` series), every other one with
        ``symmetric_interlayer``; ``model_note`` says why.
    baseline : str or None
        Circuit without the interlayer arc used for the model comparison. ``"auto"`` picks the
        library circuit whose parameters are the full ones minus the interlayer role
        (``symmetric_cell``); None disables the comparison (``interlayer`` is then None).
    executor : concurrent.futures.Executor, optional
        Runs chains (cells, or ordered chunks of a long cell) in parallel: a
        ``ProcessPoolExecutor`` or a Dask ``Client.get_executor()``. Warm starts run within a
        chain; the first spectrum of each chunk starts from automatic values and the back-fill
        pass runs afterwards across chunk seams. None fits everything in this process.
    interlayer_param : str
        Resistance of the interlayer arc (Ω).
    delta_bic : float
        The arc is kept only when BIC(full) − BIC(baseline) is below this.
    min_interlayer_ohm, min_interlayer_fraction : float
        Minimum-resistance rule: R_int must exceed ``max(min_interlayer_ohm,
        min_interlayer_fraction × |Z(f_min)|)``; this is also the detection limit reported as
        R_int's uncertainty where the arc is absent.
    groups : sequence, optional
        Cell label per spectrum (same order as ``spectra``); warm starts never cross cells and
        ``time_h`` counts from each cell's first spectrum. Default: one cell.
    chunk_size : int, optional
        Split longer cells into ordered chunks of this many spectra (each starts cold). The
        chunks are the same with or without an executor, so parallel and serial runs agree.
    geometry : CellGeometry, optional
        Electrode area and electrolyte thickness, passed to every :func:`eisna.fit` (which
        computes ASR, σ and thicknesses from it). Default: each spectrum's own metadata.
    eps_r : float or None
        Relative permittivity assumed for the interlayer thickness d = ε0 εr A / (2 C_eff)
        (default :data:`eisna.fitting.physics.DEFAULT_EPS_R`; None: no thickness).
    area_cm2, thickness_cm : float, optional
        Deprecated (DeprecationWarning): use ``geometry=CellGeometry(thickness_cm, area_cm2)``.
    cache_dir : path, optional
        Resume cache: finished spectra (keyed by data hash, circuit, options and the warm-start
        chain before them) are reused; stored as JSON with a digest (:mod:`eisna._fitcache`).
        Entries not used by this series are deleted at the end.
    progress : bool, optional
        Show a tqdm bar; default only when stderr is a terminal.
    hook : callable, optional
        Called with the series position after each spectrum is fitted (for monitoring; an
        exception raised there interrupts the series, finished spectra stay cached).
    failures : sequence of FitFailure
        Rows for inputs that could not be read; they are kept in the result.
    interval_h : float, optional
        Hours between spectra of a cell whose spectra carry neither timestamps nor elapsed
        times (time source ``"interval"``). Without it such a cell is put in file order (rank
        0, 1, 2…; time source ``"file order"``) with one :class:`~eisna.errors.MetadataWarning`.
    fallback : bool
        Choose what the window can carry: a spectrum whose reported fit has three or more
        flagged parameters is refitted with the nested simpler library circuits and the simplest
        one within ΔAICc 10 with fewer flags is reported (``model`` column, ``model_note``); on a
        band-limited window (fewer than ~1.5 decades per relaxation of the circuit) circuits
        without the diffusion tail compete too, ranked with the flag penalty, one circuit is
        kept through a cell where the data allow it, and a badly flagged interlayer fit falls
        back as well (``interlayer`` False when the circuit chosen has no interlayer arc);
        resistances below 1 % of the smallest Re Z get a ``below_resolution`` flag
        (:mod:`eisna.series.window`).
    track : str or sequence of str, optional
        Quantities to follow with growth laws (``results.csv`` columns, or ``"R_SE"``,
        ``"R_total"``; a comma-separated string works). Default: every arc resistance the data
        identify, R_SE and the total resistance (see :mod:`eisna.series.tracks`).
    track_time : {"start", "arc"}
        Time axis of the growth laws (R_int's kinetics and every track): each sweep's first
        point (default), or the moment each quantity was measured within its sweep
        (``t_arc_h``, :mod:`eisna.series.sweep`), which removes the lag of a long sweep from the
        onset and t95. Needs per-point times (``Spectrum.meta["point_time_s"]``); without them
        both axes are the same.
    **fit_options
        Passed to :func:`eisna.fit` (``weighting``, ``fmin``, ``fmax``…).

    Returns
    -------
    SeriesResult
    """
    spectra = list(spectra)
    if track_time not in TIME_AXES:
        raise EisnaError(f"fit_series: track_time={track_time!r}; expected one of {', '.join(TIME_AXES)}")
    geometry = resolve_geometry(geometry, area_cm2, thickness_cm, "fit_series", spectra)
    auto = circuit == AUTO_CIRCUIT
    splits: tuple[Any, ...] = ()
    held: frozenset[str] = frozenset()
    if auto:  # pellet_blocking when every spectrum ends in a blocking spike (else per file)
        verdicts, held = file_verdicts(spectra, **fit_window(fit_options))
        circuit = automatic_circuit(verdicts)
        if circuit != BLOCKING_CIRCUIT:
            # a cell of blocking-electrode and other spectra is two samples: two cells (choice.py)
            groups, splits = split_mixed_cells(verdicts, groups)
    if baseline == "auto":
        baseline = default_baseline(circuit)
    physics = {"eps_r": eps_r, **({"geometry": geometry} if geometry is not None else {})}
    options = SeriesOptions(
        circuit=circuit,
        baseline=baseline,
        interlayer_param=interlayer_param,
        delta_bic=float(delta_bic),
        min_interlayer_ohm=float(min_interlayer_ohm),
        min_interlayer_fraction=float(min_interlayer_fraction),
        fit_options=tuple(sorted({**fit_options, **physics}.items())),
        auto_blocking=auto,
        held_files=held,
    )
    fitter = _Fitter(options, hook)
    plan = _plan_chains(spectra, groups, chunk_size, _options_key(fitter, options) + cache_salt, interval_h)
    outcomes = _fit_and_backfill(fitter, plan, executor, cache_dir, progress, hook)
    if fallback:
        outcomes = _window_fallbacks(fitter, plan, outcomes)
    outcomes = _undo_swaps(fitter, plan, outcomes)
    if auto:
        outcomes = mark_automatic_choices(plan.ordered, outcomes, held, **fit_window(fit_options))
    series = _assemble(
        plan,
        outcomes,
        failures,
        options,
        geometry,
        eps_r,
        {
            "delta_bic": delta_bic,
            "min_interlayer_ohm": min_interlayer_ohm,
            "min_interlayer_fraction": min_interlayer_fraction,
            **fit_options,
            **({"track_time": track_time} if track_time != "start" else {}),
        },
    )
    if splits:
        series = replace(series, sample_splits=splits)
    series = _with_kinetics(series, plan.cells)
    from .tracks import resolve_track_names, series_tracks

    return replace(series, tracks=series_tracks(series, resolve_track_names(track)))


@dataclass(frozen=True)
class _Plan:
    """Spectra in time order and their chains (one per cell, cut into chunks that start cold)."""

    ordered: list[Spectrum]
    labels: list[Any]
    time_h: np.ndarray
    basis: str
    cells: dict[Any, list[int]]
    keys: list[str]
    chains: list[list[int]]
    time_sources: dict[Any, str] = field(default_factory=dict)


def _options_key(fitter: _Fitter, options: SeriesOptions) -> str:
    full_def = fitter.definition(options.circuit)
    base_text = fitter.definition(options.baseline).circuit.text if options.baseline else ""
    return options.key(full_def.circuit.text + repr(dict(full_def.defaults)), base_text)


def _plan_chains(
    spectra: list[Spectrum],
    groups: Sequence[Any] | None,
    chunk_size: int | None,
    opt_key: str,
    interval_h: float | None = None,
) -> _Plan:
    """Order each cell on its own clock (starting at 0), cut cells into chains and key each fit.

    The chunks do not depend on the executor or the number of workers, so a parallel run
    computes what a serial one does.
    """
    labels_in = list(groups) if groups is not None else [None] * len(spectra)
    members: dict[Any, list[int]] = {}
    for i, lab in enumerate(labels_in):
        members.setdefault(lab, []).append(i)
    ordered: list[Spectrum] = []
    labels: list[Any] = []
    times: list[float] = []
    sources: dict[Any, str] = {}
    for lab, idx in members.items():
        order, t_h, basis = order_spectra([spectra[i] for i in idx])
        if basis == "file order":
            t_h, basis = _file_order_clock(lab, len(idx), interval_h)
        sources[lab] = basis
        ordered.extend(spectra[idx[k]] for k in order)
        labels.extend([lab] * len(idx))
        times.extend(float(x) for x in t_h)
    cells: dict[Any, list[int]] = {}
    for pos, lab in enumerate(labels):
        cells.setdefault(lab, []).append(pos)
    keys: list[str] = [""] * len(ordered)
    chains: list[list[int]] = []
    for positions in cells.values():
        size = max(int(chunk_size), 2) if chunk_size else len(positions)
        for a in range(0, len(positions), size):
            chain = positions[a : a + size]
            for p, k in zip(chain, chain_keys([ordered[p] for p in chain], opt_key), strict=True):
                keys[p] = k
            chains.append(chain)
    kinds = set(sources.values())
    basis = kinds.pop() if len(kinds) == 1 else "mixed"
    return _Plan(ordered, labels, np.asarray(times, dtype=float), basis, cells, keys, chains, sources)


def _file_order_clock(cell: Any, n: int, interval_h: float | None) -> tuple[np.ndarray, str]:
    """Hours of a cell without timestamps or elapsed times: ``interval_h`` apart, else the rank
    (said once per cell: file order is not a clock)."""
    if interval_h:
        return np.arange(n, dtype=float) * float(interval_h), "interval"
    if n > 1:
        from ..errors import MetadataWarning

        where = f"cell {cell}" if cell is not None else "series"
        warnings.warn(
            f"{where}: no timestamps or elapsed times in its {n} spectra; they are placed in "
            "file order (0, 1, 2… 'hours' are ranks, not times). Give --interval-h "
            "(interval_h=) for a time axis.",
            MetadataWarning,
            stacklevel=4,
        )
    return np.arange(n, dtype=float), "file order"


def _fit_and_backfill(
    fitter: _Fitter,
    plan: _Plan,
    executor: Executor | None,
    cache_dir: str | Path | None,
    progress: bool | None,
    hook: Callable[[int], None] | None,
) -> list[SpectrumOutcome]:
    """Fit every chain (cached fits reused), back-fill missed early arcs, prune the cache."""
    cached = [cache_load(cache_dir, k, dict(fitter._defs)) for k in plan.keys]
    tasks = [
        _ChainTask(pos, [plan.ordered[p] for p in pos], [plan.keys[p] for p in pos], [cached[p] for p in pos])
        for pos in plan.chains
    ]
    outcomes: list[SpectrumOutcome | None] = [None] * len(plan.ordered)
    bar = _progress(len(plan.ordered), progress)
    try:
        if executor is None or len(tasks) <= 1:
            _fit_inline(fitter, tasks, outcomes, cache_dir, _chain_hook(hook, bar))
        else:
            _fit_on_executor(fitter.options, tasks, outcomes, executor, cache_dir, bar, hook)
        if fitter.options.baseline is not None:
            _backfill(fitter, plan, outcomes, cache_dir)
    finally:
        bar.close()
    if cache_dir:
        from .. import _fitcache

        _fitcache.prune(cache_dir, plan.keys)  # entries of other runs and of the first (pickle) format
    return outcomes  # type: ignore[return-value]  # every position is filled by its chain


def _fit_inline(
    fitter: _Fitter,
    tasks: list[_ChainTask],
    outcomes: list[SpectrumOutcome | None],
    cache_dir: str | Path | None,
    hook: Callable[[int], None],
) -> None:
    for task in tasks:
        inline = _Fitter(fitter.options, hook)
        inline._defs = fitter._defs
        for p, o in zip(
            task.positions, _run_chain(inline, task, str(cache_dir) if cache_dir else None), strict=True
        ):
            outcomes[p] = o


def _fit_on_executor(
    options: SeriesOptions,
    tasks: list[_ChainTask],
    outcomes: list[SpectrumOutcome | None],
    executor: Executor,
    cache_dir: str | Path | None,
    bar: Any,
    hook: Callable[[int], None] | None,
) -> None:
    from concurrent.futures import as_completed

    remote = _Fitter(options, None)
    cache_str = str(cache_dir) if cache_dir else None
    futures = {executor.submit(_run_chain, remote, task, cache_str): task for task in tasks}
    for fut in as_completed(futures):
        task = futures[fut]
        for p, o, key in zip(task.positions, fut.result(), task.keys, strict=True):
            outcomes[p] = o
            if cache_dir:
                cache_store(cache_dir, key, o)  # remote workers may not share the disk
        bar.update(len(task.positions))
        if hook is not None:
            for p in task.positions:
                hook(p)


def _backfill(
    fitter: _Fitter, plan: _Plan, outcomes: list[SpectrumOutcome | None], cache_dir: str | Path | None
) -> None:
    """An absent arc just before a present one is refitted from the later fit (per cell)."""
    for positions in plan.cells.values():
        for j in range(len(positions) - 2, -1, -1):
            p, q = positions[j], positions[j + 1]
            cur, nxt = outcomes[p], outcomes[q]
            if cur is None or nxt is None or cur.backfilled or cur.interlayer is not False:
                continue
            if nxt.interlayer is not True:
                continue
            new = fitter.backfill(plan.ordered[p], cur, nxt)
            outcomes[p] = new
            if cache_dir:
                cache_store(cache_dir, plan.keys[p], new)


def _assemble(
    plan: _Plan,
    outcomes: list[SpectrumOutcome],
    failures: Sequence[FitFailure],
    options: SeriesOptions,
    geometry: CellGeometry | None,
    eps_r: float | None,
    shown_options: dict[str, Any],
) -> SeriesResult:
    """The :class:`SeriesResult`: fits tagged with their source, unreadable inputs as failed rows."""
    results = [o.result for o in outcomes]
    inter = [o.interlayer if not isinstance(o.result, FitFailure) else None for o in outcomes]
    dbic = [o.delta_bic for o in outcomes]
    outs = list(outcomes)
    t_all = list(plan.time_h)
    for f in failures:  # unreadable inputs become failed rows at the end (no time)
        results.append(f)
        inter.append(None)
        dbic.append(math.nan)
        outs.append(SpectrumOutcome(f, None, math.nan, math.nan))
        t_all.append(math.nan)
    for i, s in enumerate(plan.ordered):  # the spectrum's source/index/timestamp, for the table
        r = results[i]
        if not isinstance(r, FitFailure):
            meta = {
                **dict(r.meta or {}),
                "source": _src(s),
                "index": _idx(s),
                "timestamp": s.timestamp,
                "time_h": float(plan.time_h[i]),
                **_area_meta(s, geometry),
            }
            results[i] = replace(r, meta=meta)
    area_cm2 = geometry.area_cm2 if geometry is not None else None
    if area_cm2 is None:
        areas = [float(a) for a in (s.meta.get("area_cm2") for s in plan.ordered) if a]
        area_cm2 = areas[0] if areas else None
    inter_arr = np.empty(len(results), dtype=object)
    inter_arr[:] = inter
    return SeriesResult(
        results=tuple(results),
        time_h=np.asarray(t_all, dtype=float),
        time_basis=plan.basis,
        interlayer=inter_arr,
        delta_bic=np.asarray(dbic, dtype=float),
        kinetics=None,
        circuit=options.circuit,
        baseline=options.baseline,
        outcomes=tuple(outs),
        area_cm2=area_cm2,
        thickness_cm=geometry.thickness_cm if geometry is not None else None,
        eps_r=eps_r,
        interlayer_param=options.interlayer_param,
        options=shown_options,
        cells=(*plan.labels, *([None] * len(failures))) if len(plan.cells) > 1 else (),
        time_sources=dict(plan.time_sources),
        sweeps=(*(SweepClock.of(s) for s in plan.ordered), *([None] * len(failures))),
    )


def _window_fallbacks(fitter: _Fitter, plan: _Plan, outcomes: list[SpectrumOutcome]) -> list[SpectrumOutcome]:
    """Per spectrum without the interlayer arc: the circuit the window can carry, one per cell
    where the data allow it; resistances below the resolution flagged everywhere (window.py).
    On a band-limited window a badly flagged interlayer fit goes through the fallback too: when
    the circuit chosen has no interlayer arc, the window did not carry one (interlayer False)."""
    from .window import _fallback, band_limited, flag_below_resolution, harmonise_cell_models

    out = list(outcomes)
    cands: dict[int, dict[str, Any]] = {}
    wide: dict[int, dict[str, Any]] = {}  # wide-window fallbacks: re-seeded from neighbours below
    for k, (spectrum, o) in enumerate(zip(plan.ordered, outcomes, strict=True)):
        if o is None or isinstance(o.result, FitFailure):
            continue
        interlayer = o.interlayer
        narrow = band_limited(fitter.definition(o.result.circuit_name), o.result.freq)
        if interlayer is True and not narrow:
            new = flag_below_resolution(spectrum, o.result)
        else:
            new, fitted = _fallback(fitter, spectrum, o.result)
            if interlayer is True and fitter.options.interlayer_param not in new.params:
                interlayer = False  # the window carries no interlayer arc (model_note says why)
            if fitted and not narrow:
                wide[k] = fitted
            elif fitted and interlayer is not True:  # harmonised within its cell below
                cands[k] = fitted
        if new is not o.result:
            out[k] = replace(o, result=new, interlayer=interlayer)
    _reseed_wide(fitter, plan, outcomes, out, wide)
    for positions in plan.cells.values():
        rows = [k for k in positions if k in cands]
        if len(rows) < 2:
            continue
        results = harmonise_cell_models(
            fitter, [out[k].result for k in rows], [cands[k] for k in rows], [plan.ordered[k] for k in rows]
        )
        for k, r in zip(rows, results, strict=True):
            if r is not out[k].result:
                out[k] = replace(out[k], result=r)
    return out


def _reseed_wide(
    fitter: _Fitter,
    plan: _Plan,
    before: list[SpectrumOutcome],
    out: list[SpectrumOutcome],
    wide: dict[int, dict[str, Any]],
) -> None:
    """Wide-window fallbacks of each cell re-solved from their neighbours' (``out`` updated):
    which minimum of a nested circuit a solve reached followed the last bits of the arithmetic."""
    from .window import reseed_wide_fallbacks

    for positions in plan.cells.values():
        rows = [k for k in positions if k in wide]
        if len(rows) < 2:
            continue
        results = reseed_wide_fallbacks(
            fitter, [plan.ordered[k] for k in rows], [before[k].result for k in rows], [wide[k] for k in rows]
        )
        for k, r in zip(rows, results, strict=True):
            if r.circuit_name != out[k].result.circuit_name or r.chisqr != out[k].result.chisqr:
                out[k] = replace(out[k], result=r)


def _undo_swaps(fitter: _Fitter, plan: _Plan, outcomes: list[SpectrumOutcome]) -> list[SpectrumOutcome]:
    """Bulk and grain-boundary arcs keep their identity through each cell (see identity.py)."""
    from .identity import undo_swaps

    results = undo_swaps(fitter, plan.ordered, [o.result for o in outcomes], plan.cells)
    return [o if r is o.result else replace(o, result=r) for o, r in zip(outcomes, results, strict=True)]


def _area_meta(spectrum: Spectrum, geometry: CellGeometry | None) -> dict[str, Any]:
    """The area used for per-area quantities and its source: user, file or placeholder-ignored."""
    if geometry is not None and geometry.area_cm2:
        return {"area_cm2": float(geometry.area_cm2), "area_source": "user"}
    area = spectrum.meta.get("area_cm2")
    source = spectrum.meta.get("area_source") or ("file" if area else None)
    return {"area_cm2": float(area) if area else None, "area_source": source}


def _with_kinetics(series: SeriesResult, cells: Mapping[Any, list[int]]) -> SeriesResult:
    """Growth laws of R_int(t): one per cell; the top level reports the cell with most detections."""
    from ..kinetics import fit_kinetics

    if series.baseline is None:
        return series
    if len(cells) <= 1:
        return replace(series, kinetics=_series_kinetics(series, fit_kinetics))
    per_cell = {lab: _series_kinetics(series, fit_kinetics, series._cell_mask(lab)) for lab in cells}
    counts = {
        lab: sum(series.interlayer[i] is True for i in np.flatnonzero(series._cell_mask(lab)))
        for lab in cells
    }
    main = max(cells, key=lambda lab: counts[lab])
    return replace(series, kinetics=per_cell[main], cell_kinetics=per_cell, main_cell=main)


def resolve_geometry(
    geometry: CellGeometry | None,
    area_cm2: float | None,
    thickness_cm: float | None,
    where: str,
    spectra: Sequence[Spectrum] = (),
) -> CellGeometry | None:
    """The one ``CellGeometry`` of a series or batch; ``area_cm2=``/``thickness_cm=`` are deprecated."""
    if area_cm2 is None and thickness_cm is None:
        return geometry

    warnings.warn(
        f"{where}(area_cm2=, thickness_cm=) is deprecated; pass "
        f"geometry=CellGeometry(thickness_cm, area_cm2) instead.",
        DeprecationWarning,
        stacklevel=3,
    )
    if geometry is not None:
        raise EisnaError(f"{where}: give either geometry= or area_cm2=/thickness_cm=, not both.")
    if not area_cm2:  # a thickness alone: the area comes from the files' headers, as before
        areas = [float(a) for a in (s.meta.get("area_cm2") for s in spectra) if a]
        area_cm2 = areas[0] if areas else None
    return make_geometry(area_cm2, thickness_cm)


def _chain_hook(hook, bar):
    def _h(pos: int) -> None:
        bar.update(1)
        if hook is not None:
            hook(pos)

    return _h


def _series_kinetics(
    series: SeriesResult, fit_kinetics, mask: np.ndarray | None = None
) -> KineticsResult | None:
    """Growth laws on R_int(t); model "none" when fewer than 3 spectra have the arc."""
    from ..kinetics import KineticsError, KineticsResult

    if mask is None:
        mask = np.ones(len(series), dtype=bool)
    R, err = series.values(series.interlayer_param)
    ok = np.array([series.interlayer[i] is not None for i in range(len(series))]) & np.isfinite(R) & mask
    present = np.array([series.interlayer[i] is True for i in range(len(series))]) & mask
    t = growth_time_h(series, series.interlayer_param)
    if present.sum() < 3 or ok.sum() < 6:
        return KineticsResult(
            model="none",
            onset_h=None,
            onset_stderr_h=None,
            t95_h=None,
            R_final=0.0,
            best=None,
            table=(),
            t_h=t[ok],
            R=R[ok],
            stderr=err[ok],
            weighted=True,
        )
    try:
        return fit_kinetics(t[ok], R[ok], err[ok])
    except KineticsError:
        return None
