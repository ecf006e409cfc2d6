"""``eisna batch PATH... --circuit NAME --out DIR``: fit a time series and write the outputs."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import signal
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

EXAMPLES = """examples:
  eisna batch sample_spectra/nas_looped.mpt --circuit symmetric_interlayer --out eisna-out
  eisna batch sample_spectra/nas --circuit symmetric_interlayer --out nas-out --jobs 2
  eisna batch "runs/cell7_*.mpt" --circuit symmetric_interlayer --out cell7 --area-cm2 0.785
  eisna batch data/ --circuit symmetric_interlayer --out big --scheduler tcp://10.0.0.5:8786
  eisna batch data/ --out big --campaign --jobs 2 --no-report
  eisna batch sample_spectra/nas_looped.mpt --out nas-out --cycling sample_spectra/nas_cycling.csv
  eisna batch sample_spectra/pellet --out pellet-out   # blocking electrodes: pellet_blocking chosen
  eisna batch cell7/ --out cell7 --cycling cell7.ndax --tz Europe/Berlin

Writes DIR/results.csv (one row per spectrum: source, index, timestamp, time_h, status,
interlayer, every parameter with its _stderr, derived quantities with units in the column
names, fit quality), DIR/results.json, DIR/kinetics.json (best growth law, onset_h, t95_h,
final R_int, per-interface ASR and thickness), DIR/analysis.json (KK verdicts, arcs and curves
the report renders) and DIR/report.html; with --cycling also
DIR/cycling_summary.csv (one row per half cycle, with time_h_eis on the impedance clock) and
DIR/cycling.json. Re-running the same
command resumes: finished spectra are taken from DIR/.eisna-cache. Unreadable files and
failed fits become rows with status "failed". Exit status: 0 all fitted, 1 some spectra
failed (or nothing could be fitted), 2 bad usage.

Campaigns (--scheduler ADDR, or --campaign on local processes): every cell is one task and is
written to DIR/cells/<cell>/ (the files above, for that cell) as soon as it finishes, with a
done.json marker; DIR/results.csv, tracks.csv and kinetics.json are joined from the cells and
DIR/campaign.json lists them. Re-running the same command skips finished cells, also after the
scheduler or the run was killed. Exit status 3: the scheduler cannot be reached or was lost.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch",
        help="fit a time series of spectra (files, folders, globs); interlayer onset and kinetics",
        description="Fit every spectrum under PATH... in time order with warm starts, decide per "
        "spectrum whether the interlayer arc is present (BIC against the circuit without it plus a "
        "minimum-resistance rule), fit growth laws to R_int(t) and write results.csv, "
        "results.json, kinetics.json and report.html into DIR.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders (recursive) or glob patterns")
    p.add_argument(
        "--circuit",
        default=None,
        metavar="NAME",
        help="library circuit (default: automatic: pellet_blocking for spectra whose low-frequency "
        "tail is the capacitive spike of blocking electrodes, symmetric_interlayer for the others; "
        "results.csv model_note says why)",
    )
    p.add_argument("--out", default="eisna-out", metavar="DIR", help="output folder (default: eisna-out)")
    p.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: 1; 2 above 50 spectra)")
    p.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="Dask scheduler address (tcp://host:8786): run a campaign there, one task per cell "
        "(implies --campaign; workers need the same eisna: pip install 'eisna[dask]')",
    )
    p.add_argument(
        "--campaign",
        action="store_true",
        help="one task per cell, each cell written to DIR/cells/<cell>/ as it finishes (resumable, "
        "memory flat); DIR/results.csv, tracks.csv, kinetics.json and campaign.json are joined from them",
    )
    p.add_argument("--area-cm2", type=float, metavar="A", help="electrode area in cm² (default: from file)")
    p.add_argument("--thickness-cm", type=float, metavar="L", help="electrolyte thickness, cm (for σ_total)")
    p.add_argument(
        "--eps-r",
        type=float,
        default=10.0,
        metavar="EPS",
        help="relative permittivity assumed for the interlayer thickness (default 10)",
    )
    p.add_argument(
        "--delta-bic",
        type=float,
        default=-10.0,
        metavar="D",
        help="keep the interlayer arc when BIC(full) - BIC(baseline) < D (default -10)",
    )
    p.add_argument(
        "--min-interlayer-ohm",
        type=float,
        default=0.5,
        metavar="OHM",
        help="minimum interlayer resistance in Ω (default 0.5; at least 1%% of |Z| at f_min)",
    )
    p.add_argument(
        "--weighting",
        choices=("modulus", "proportional", "unit"),
        default="modulus",
        help="residual weighting (default: modulus)",
    )
    p.add_argument("--fmin", type=float, metavar="HZ", help="ignore points below this frequency (Hz)")
    p.add_argument("--fmax", type=float, metavar="HZ", help="ignore points above this frequency (Hz)")
    p.add_argument(
        "--cycling",
        metavar="FILE",
        help="cycling file of the same cell (Neware .nda/.ndax/CSV/XLSX, EC-Lab GCPL): "
        "overpotential, DC ASR and soft shorts on the impedance time axis",
    )
    p.add_argument(
        "--potential",
        choices=("auto", "Ewe", "Ewe-Ece"),
        help="cell voltage of an EC-Lab --cycling file: Ewe-Ece when the file records the counter "
        "electrode (auto, the default: an Ewe-Ece/V column, or Ece/V with Record Ece, an Ewe-Ece "
        "control or CE to ground), else Ewe; or forced",
    )
    p.add_argument(
        "--tz",
        metavar="ZONE",
        help="time zone of zone-less timestamps (e.g. Europe/Berlin), needed when the "
        "cycling file has UTC times (Neware binaries) and the spectra local ones",
    )
    p.add_argument(
        "--track",
        metavar="Q1,Q2",
        help="quantities to follow with growth laws: results.csv columns or R_SE, R_total "
        "(default: every identifiable arc resistance, R_SE and R_total); see tracks.csv",
    )
    p.add_argument(
        "--track-time",
        choices=("start", "arc"),
        default="start",
        help="time axis of the growth laws: each sweep's first point (default), or the moment "
        "each quantity was measured within its sweep (results.csv Q_t_arc_h), which removes a "
        "long sweep's lag from onset and t95",
    )
    p.add_argument(
        "--group-by",
        metavar="REGEX",
        help="files whose names give the same match (first group) are one cell (default: a "
        "looped file is one cell; single files by folder, EC-Lab base name and channel)",
    )
    p.add_argument(
        "--interval-h",
        type=float,
        metavar="H",
        help="hours between spectra of a cell without timestamps or elapsed times "
        "(default: file order, said in a warning and in results.csv time_source)",
    )
    p.add_argument("--no-resume", action="store_true", help="ignore and overwrite the resume cache")
    p.add_argument("--no-report", action="store_true", help="do not write report.html")
    p.add_argument(
        "--joint",
        metavar="LIST",
        help="also fit each cell jointly with these parameters shared "
        "across time (comma-separated, e.g. L,n_gb,Q_gb,n_ct,tau_W) and write joint.csv",
    )
    p.add_argument(
        "--joint-law", metavar="LAW", help="with --joint: R_int follows this growth law (e.g. jmak)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with _sigterm_as_exit():  # a terminated batch stops its workers and releases its folder
        return _run(args)


@contextlib.contextmanager
def _sigterm_as_exit():
    """SIGTERM raises SystemExit(143) in the main thread, so cleanup (workers, lock) runs."""

    def _exit(signum, _frame):
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, _exit)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    from ..batching import batch
    from ..errors import SchedulerError
    from ..fitting.physics import make_geometry

    if args.interval_h is not None and not args.interval_h > 0:
        print(
            f"eisna batch: error: --interval-h must be a positive number of hours; got {args.interval_h}",
            file=sys.stderr,
        )
        return 2
    if args.jobs is not None and args.jobs < 1:
        print("eisna batch: error: --jobs must be at least 1", file=sys.stderr)
        return 2
    if (args.scheduler or args.campaign) and (args.cycling or args.joint):
        print(
            "eisna batch: error: --cycling and --joint need a single batch, not a campaign "
            "(--scheduler/--campaign)",
            file=sys.stderr,
        )
        return 2
    joint_problem = _check_joint(args)
    if joint_problem:
        print(f"eisna batch: error: {joint_problem}", file=sys.stderr)
        return 2
    fit_opts = {"weighting": args.weighting}
    if args.fmin is not None:
        fit_opts["fmin"] = args.fmin
    if args.fmax is not None:
        fit_opts["fmax"] = args.fmax
    # --area-cm2/--thickness-cm build one CellGeometry; a thickness alone takes the area from the
    # files' headers, which only batch reads (its deprecated keyword, silenced for CLI users)
    if args.area_cm2 or not args.thickness_cm:
        geometry: dict[str, Any] = {"geometry": make_geometry(args.area_cm2, args.thickness_cm)}
    else:
        geometry = {"thickness_cm": args.thickness_cm}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            series = _call_batch(batch, args, geometry, fit_opts)
        except SchedulerError as err:
            print(f"eisna batch: error: {err}", file=sys.stderr)
            return 3
    if not hasattr(series, "kinetics_summary"):
        return _print_campaign(series, args)
    return _print_series(series, args)


def _call_batch(
    batch: Any, args: argparse.Namespace, geometry: dict[str, Any], fit_opts: dict[str, Any]
) -> Any:
    from ..series.choice import AUTO_CIRCUIT

    return batch(
        args.paths,
        args.circuit or AUTO_CIRCUIT,
        out=args.out,
        jobs=args.jobs,
        scheduler=args.scheduler,
        campaign=True if args.campaign else None,
        resume=not args.no_resume,
        report=not args.no_report,
        eps_r=args.eps_r,
        delta_bic=args.delta_bic,
        min_interlayer_ohm=args.min_interlayer_ohm,
        cycling=args.cycling,
        **({"cycling_potential": args.potential} if args.potential else {}),
        tz=args.tz,
        track=args.track,
        **({"track_time": args.track_time} if args.track_time != "start" else {}),
        group_by=args.group_by,
        interval_h=args.interval_h,
        command=" ".join(
            [
                "eisna batch",
                *map(shlex.quote, args.paths),
                *(["--circuit", args.circuit] if args.circuit else []),
                "--out",
                args.out,
            ]
        ),
        **geometry,
        **fit_opts,
    )


def _print_campaign(result: Any, args: argparse.Namespace) -> int:
    """The campaign summary: cells fitted now / resumed / failed, spectra fitted."""
    n, failed = result.n_spectra, result.n_failed
    print(
        f"eisna batch: campaign of {len(result.cells)} cells ({result.count('fitted')} fitted now, "
        f"{result.count('resumed')} resumed, {result.count('error')} failed) on {result.workers} "
        f"worker(s): {n - failed}/{n} spectra fitted in {result.wall_s:.1f} s -> {args.out} "
        "(results.csv, tracks.csv, kinetics.json, campaign.json; each cell in cells/)"
    )
    for r in result.cells:
        for reason in (r.summary or {}).get("sample_splits") or ():  # (the workers' warnings are quiet)
            print(f"  two samples in one cell: {reason}")
        if r.status == "error":
            print(f"  cell failed (re-run to retry): {r.label}: {r.summary.get('error')}", file=sys.stderr)
    for f in result.read_failures:
        print(f"  failed: {f.source}: {_reason(f.reason, f.source)}", file=sys.stderr)
    return 1 if failed or result.count("error") else 0


def _print_series(series: Any, args: argparse.Namespace) -> int:
    kin = series.kinetics_summary()
    n, failed = len(series), series.n_failed
    print(f"eisna batch: {n - failed}/{n} spectra fitted with {series.circuit} -> {args.out}")
    line = _choice_line(kin)
    if line:
        print(line)
    for split in getattr(series, "sample_splits", ()):  # (also a MixedSampleWarning on stderr)
        print(f"  two samples in one cell: {split.reason}")
    if kin.get("model") not in (None, "none"):
        from ..units import format_time

        onset = kin.get("onset_h")
        t95 = kin.get("t95_h")
        basis = kin.get("time_basis")
        print(
            f"  interlayer in {kin['n_interlayer']} spectra; growth law {kin['model']}, onset "
            f"{format_time(onset, basis)}, t95 {format_time(t95, basis)}, final R_int "
            f"{kin['R_int_final']:.4g} Ω"
            if onset is not None and t95 is not None
            else f"  interlayer in {kin['n_interlayer']} spectra; growth law {kin['model']}"
        )
    else:
        print(f"  no interlayer growth found (interlayer in {kin.get('n_interlayer', 0)} spectra)")
    line = _tracks_line(series.tracks, series.time_sources, series.time_basis)
    if line:
        print(line)
    line = _sweep_line(series.tracks)
    if line:
        print(line)
    if args.cycling:
        _print_cycling(Path(args.out) / "cycling.json")
    if args.joint:
        _write_joint(series, args)
    for r in series.results:
        if getattr(r, "success", True) is False and hasattr(r, "reason"):
            where = r.source + (f" [{r.index}]" if r.index is not None else "")
            print(f"  failed: {where}: {_reason(r.reason, r.source)}", file=sys.stderr)
    if failed == n:
        return 1
    return 1 if failed else 0


def _choice_line(kin: Mapping[str, Any]) -> str | None:
    """What the automatic circuit choice did (None when it fitted no spectrum with a blocking tail)."""
    n = kin.get("n_auto_blocking")
    if not n:
        return None
    from ..series.choice import BLOCKING_CIRCUIT

    return (
        f"  automatic circuit: {n} spectra end in a blocking-electrode spike and were fitted with "
        f"{BLOCKING_CIRCUIT} (results.csv model_note gives the tail's phase, slope and capacitance)"
    )


def _check_joint(args: argparse.Namespace) -> str | None:
    """Usage problems of --joint/--joint-law (before any fitting), or None."""
    if args.joint_law and not args.joint:
        return "--joint-law needs --joint LIST (the parameters shared across time)"
    if not args.joint:
        return None
    from ..fitting.engine import resolve_circuit
    from ..kinetics import MODELS
    from ..series.choice import DEFAULT_CIRCUIT

    if args.joint_law and args.joint_law not in MODELS:
        return f"--joint-law {args.joint_law!r} is not a growth law; choose one of {', '.join(MODELS)}"
    try:
        names = resolve_circuit(args.circuit or DEFAULT_CIRCUIT).param_names
    except Exception:  # the circuit check reports a bad --circuit itself
        return None
    unknown = [s.strip() for s in args.joint.split(",") if s.strip() and s.strip() not in names]
    if unknown:
        circuit = args.circuit or DEFAULT_CIRCUIT
        return f"--joint names {', '.join(unknown)}, not parameters of {circuit} ({', '.join(names)})"
    return None


def _write_joint(series: Any, args: argparse.Namespace) -> None:
    """The joint fit of each cell (``--joint``) -> DIR/joint.csv."""
    from .._atomic import write_atomic
    from .._csvsafe import frame_to_csv
    from ..series.joint import joint_table

    shared = [s.strip() for s in args.joint.split(",") if s.strip()]
    table = joint_table(series, shared, law=args.joint_law)
    write_atomic(Path(args.out) / "joint.csv", frame_to_csv(table))
    print(f"  joint fit ({', '.join(shared)} shared): {len(table)} spectra -> {Path(args.out) / 'joint.csv'}")
    if "R_SE_excluded" in table.columns:  # resistances the per-spectrum fits counted as interfacial
        from ..series.tracks import se_sum_note

        parts = [n for _, row in table.iterrows() for n in ("R_b", "R_gb") if n in row and row[n] == row[n]]
        left_out = [tuple(filter(None, str(x).split(","))) for x in table["R_SE_excluded"].fillna("")]
        print(f"  joint fit: {se_sum_note(parts, left_out)} (joint.csv R_SE_excluded)")


def _tracks_line(
    tracks: Any, bases: Mapping[Any, str] | None = None, basis: str | None = None, n_max: int = 3
) -> str:
    """The tracked quantities that changed most (|change| in %), with their growth law; the onset
    in h, or as a rank for a cell without times (``bases``: cell -> time basis, else ``basis``)."""
    import math

    from ..units import format_time

    # a quantity only some spectra's circuits have (a window fallback), or one that sits at a
    # bound in most spectra, is no trajectory
    moved = [
        t
        for t in tracks
        if not t.sparse and t.identified and math.isfinite(t.change_pct) and abs(t.change_pct) >= 1.0
    ]
    if not moved:
        return ""
    moved.sort(key=lambda t: -abs(t.change_pct))
    parts = []
    for t in moved[:n_max]:
        cell = f"[{t.cell}] " if t.cell is not None else ""
        onset = t.kinetics.onset_h if t.model != "none" else None
        cell_basis = (bases or {}).get(t.cell, basis)
        law = (
            f", {t.model} from {format_time(onset, cell_basis, '.1f')}"
            if onset is not None
            else ", no growth law"
        )
        parts.append(
            f"{cell}{t.quantity} {t.first:.4g} -> {t.final:.4g} {t.unit} ({t.change_pct:+.0f} %{law})"
        )
    return "  changed most: " + "; ".join(parts) + " (all in tracks.csv)"


def _sweep_line(tracks: Any, n_max: int = 3) -> str:
    """The tracked quantities that changed during their own sweeps (results.csv changed_during_sweep)."""
    import math

    parts = []
    for t in tracks:
        n = int(t.summary()["n_changed_during_sweep"])
        if not n:
            continue
        hours = [float(h) for h, f in zip(t.t_h, t.changed_during_sweep, strict=True) if f]
        cell = f"[{t.cell}] " if t.cell is not None else ""
        worst = t.max_sweep_change_pct
        when = f"{min(hours):.2g}–{max(hours):.2g} h"
        text = f"{cell}{t.quantity} in {n} spectra ({when}, up to {worst:+.0f} %)"
        parts.append((-abs(worst) if math.isfinite(worst) else 0.0, text))
    if not parts:
        return ""
    parts.sort()
    return (
        "  changed during sweep: "
        + "; ".join(p for _, p in parts[:n_max])
        + " (not stationary; results.csv changed_during_sweep)"
    )


def _print_cycling(path: Path) -> None:
    info = json.loads(path.read_text(encoding="utf-8"))
    offset = info.get("eis_offset_h")
    clock = f"impedance series at {offset:+.2f} h on its clock" if offset is not None else "no common clock"
    short = info.get("first_short_h")
    print(
        f"  cycling: {info['n_half_cycles']} half cycles, {clock}; "
        + (f"first soft short at {short:.2f} h" if short is not None else "no soft short")
    )


def _reason(reason: str, source: str) -> str:
    """``reason`` without a leading ``"<source>: "`` (a reader's error names its file; the line
    already does)."""
    return reason.removeprefix(f"{source}: ")
