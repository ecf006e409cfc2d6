"""``eisna fit FILE --circuit NAME``: fit one spectrum (or all) and print the physics table."""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from pathlib import Path
from typing import Any

EXAMPLES = """examples:
  eisna fit cell.mpt --circuit symmetric_interlayer
  eisna fit cell.mpt --circuit symmetric_interlayer --index 12 --plot fit.png
  eisna fit pellet_025C.mpt --circuit pellet_blocking --area-cm2 0.785 --thickness-cm 0.1
  eisna fit looped.mpt --circuit circuits/my_cell.toml --all --weighting proportional
  eisna fit cell.mpt --circuit "R0-p(R1,CPE1)-p(R2,CPE2)" --fmin 1 --fmax 1e6

Values are printed as value ± 1σ standard error. Resistances and capacitances are cell
totals (for a symmetric cell, per interface = R/2 and 2C). Exit status: 0 fitted,
1 fit failed or did not converge, 2 bad usage.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit",
        help="fit an equivalent circuit to a spectrum and print values, arcs and derived physics",
        description="Fit an equivalent circuit to one spectrum of FILE (the first, --index I, or --all) "
        "and print the fitted parameters with standard errors, the arcs with their roles, effective "
        "capacitances and apex frequencies, derived quantities (σ, ASR, layer thickness) and flags.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="instrument file (EC-Lab .mpt/.mpr, Neware, CSV, …)")
    p.add_argument(
        "--circuit",
        required=True,
        metavar="NAME",
        help="library circuit name (see 'eisna circuits'), a .toml file, or a circuit string",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--index", type=int, default=0, metavar="I", help="spectrum in the file, from 0 (default 0)"
    )
    which.add_argument("--all", action="store_true", help="fit every spectrum in the file")
    p.add_argument(
        "--plot", metavar="OUT.png", help="save Nyquist, Bode and residual plots (one file per spectrum)"
    )
    p.add_argument(
        "--weighting",
        choices=("modulus", "proportional", "unit"),
        default="modulus",
        help="residual weighting (default: modulus)",
    )
    p.add_argument("--fmin", type=float, metavar="HZ", help="ignore points below this frequency (Hz)")
    p.add_argument("--fmax", type=float, metavar="HZ", help="ignore points above this frequency (Hz)")
    p.add_argument("--area-cm2", type=float, metavar="A", help="electrode area in cm² (for σ and ASR)")
    p.add_argument("--thickness-cm", type=float, metavar="L", help="electrolyte thickness in cm (for σ)")
    p.add_argument(
        "--eps-r",
        type=float,
        default=10.0,
        metavar="EPS",
        help="relative permittivity assumed for the interlayer thickness d (default 10)",
    )
    p.set_defaults(run=run)


def _fmt(value: Any, stderr: Any = None, unit: str = "") -> str:
    from ..report import format_quantity

    return format_quantity(value, stderr, unit)


def physics_table(fit: Any, label: str) -> list[str]:
    """The lines ``eisna fit`` prints for one fit: parameters, arcs, derived quantities, quality."""
    from ..report import param_unit

    params, stderr = fit.params, fit.stderr
    names = list(getattr(fit, "param_names", None) or params)
    freq_lo, freq_hi = float(min(fit.freq)), float(max(fit.freq))
    lines = [
        f"{label}",
        f"  circuit {fit.circuit_name}; weighting {fit.weighting}; {len(fit.freq)} points, "
        f"{_fmt(freq_lo, None, 'Hz')} – {_fmt(freq_hi, None, 'Hz')}",
        "  parameters (value ± 1σ):",
    ]
    width = max((len(n) for n in names), default=4) + 2
    varied = set(getattr(fit, "varied", ()) or names)
    for n in names:
        unit = param_unit(n)
        fixed = "" if n in varied else "  (fixed)"
        lines.append(f"    {n:<{width}}{_fmt(params[n], stderr.get(n), unit)}{fixed}")
    arcs = getattr(fit, "arcs", ()) or ()
    if arcs:
        lines.append("  arcs:")
        lines.append(f"    {'role':<18}{'R':<22}{'C_eff':<24}{'f_apex':<14}")
        for arc in arcs:
            role = str(arc.role or arc.name)
            warn = "  ! C_eff unusual for this role" if getattr(arc, "role_ok", None) is False else ""
            effective = getattr(arc, "effective_role", None)
            if effective and effective != arc.role:  # physics.effective_role: not in R_SE/σ
                warn = f"  ! counted as {effective} (C_eff electrode-scale), not in R_SE/σ"
            r_text = _fmt(arc.R, arc.R_stderr, "Ω")
            c_text = _fmt(arc.C_eff, arc.C_eff_stderr, "F")
            f_text = _fmt(arc.f_apex, getattr(arc, "f_apex_stderr", None), "Hz")
            lines.append(f"    {role:<18}{r_text:<22}{c_text:<24}{f_text:<14}{warn}")
    derived = getattr(fit, "derived", {}) or {}
    if arcs:  # C_eff and f_apex of each arc are in the arcs table already
        derived = {k: q for k, q in derived.items() if not k.startswith(("C_eff_", "f_apex_", "tau_"))}
    if derived:
        lines.append("  derived:")
        width = max(len(n) for n in derived) + 2
        for name, q in derived.items():
            lines.append(f"    {name:<{width}}{_fmt(q.value, q.stderr, q.unit)}")
    redchi = getattr(fit, "redchi", math.nan)
    status = "converged" if getattr(fit, "success", True) else "NOT converged"
    lines.append(f"  fit: {status}; reduced χ² = {redchi:.4g}; AICc = {getattr(fit, 'aicc', math.nan):.4g}")
    flags = tuple(getattr(fit, "flags", ()) or ())
    lines.append(f"  flags: {', '.join(flags) if flags else 'none'}")
    # the arcs table marks an arc's role mismatch; a diffusion element's is said here
    for text in getattr(fit, "warnings", ()) or ():
        if str(text).startswith("RoleMismatchWarning: diffusion"):
            lines.append(f"    {str(text).split(': ', 1)[1]}")
    for note in (getattr(fit, "meta", None) or {}).get("physics_notes") or ():  # physics.py's notes
        lines.append(f"    note: {note}")
    return lines


def area_line(meta: Any) -> str:
    """The electrode area used for per-area quantities and where it came from."""
    area, source = meta.get("area_cm2"), meta.get("area_source")
    if area:
        return f"area: {float(area):g} cm² ({source or 'file'})"
    if source == "placeholder-ignored":
        return (
            f"area: none (the file's {meta.get('area_cm2_file', 0.001):g} cm² is EC-Lab's placeholder; "
            "no ASR computed; give --area-cm2)"
        )
    return "area: none (no per-area quantities; give --area-cm2)"


def _plot_path(base: str, index: int, many: bool) -> Path:
    path = Path(base)
    return path.with_name(f"{path.stem}_{index}{path.suffix or '.png'}") if many else path


def run(args: argparse.Namespace) -> int:
    from .. import fit as fit_spectrum
    from ..fitting.interop import FIT_WARNINGS
    from ..fitting.physics import make_geometry
    from ..io import read

    spectra = read(args.file)
    if args.all:
        chosen = list(range(len(spectra)))
    else:
        if not -len(spectra) <= args.index < len(spectra):
            print(
                f"eisna fit: error: --index {args.index} is out of range; {args.file} holds "
                f"{len(spectra)} spectra (0–{len(spectra) - 1})",
                file=sys.stderr,
            )
            return 2
        chosen = [args.index % len(spectra)]
    status = 0
    for i in chosen:
        spectrum = spectra[i]
        updates = {k: v for k, v in (("area_cm2", args.area_cm2), ("thickness_cm", args.thickness_cm)) if v}
        if args.area_cm2:
            updates["area_source"] = "user"
        if updates:
            spectrum = spectrum.with_meta(**updates)
        # one CellGeometry from the options, else the file's header (area alone is enough for ASR)
        geometry = make_geometry(spectrum.meta.get("area_cm2"), spectrum.meta.get("thickness_cm"))
        kwargs: dict[str, Any] = {"weighting": args.weighting, "fmin": args.fmin, "fmax": args.fmax}
        if geometry is not None:
            kwargs["geometry"] = geometry
        if args.eps_r is not None:
            kwargs["eps_r"] = args.eps_r
        with warnings.catch_warnings():  # the fit's warnings are its flags, printed in the table
            for kind in FIT_WARNINGS:
                warnings.simplefilter("ignore", kind)
            result = fit_spectrum(spectrum, args.circuit, **kwargs)
        label = f"{args.file} #{spectrum.meta.get('index', i)}"
        print("\n".join(physics_table(result, label)))
        print(f"  {area_line(spectrum.meta)}")
        if not getattr(result, "success", True):
            status = 1
        if args.plot:
            from matplotlib.figure import Figure

            from ..plotting import plot_fit
            from ..validation import kk_test

            fig = Figure(figsize=(10.0, 7.0), layout="constrained")
            plot_fit(result, fig, kk=kk_test(spectrum), title=f"{label} — {result.circuit_name}")
            out = _plot_path(args.plot, i, len(chosen) > 1)
            out.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(out, dpi=150)
            print(f"  plot: {out}")
        if len(chosen) > 1:
            print()
    return status
