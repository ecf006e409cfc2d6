"""``eisna arrhenius FILE...``: conductivity against temperature, activation energies."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXAMPLES = """examples:
  eisna arrhenius sample_spectra/pellet/*.mpt --thickness-cm 0.13
  eisna arrhenius pellet_*.mpt --circuit pellet_blocking --thickness-cm 0.1 --area-cm2 0.785 --out arr
  eisna arrhenius a.mpt b.mpt c.mpt --thickness-cm 0.1 --temperatures 298.15 323.15 348.15

Each file is fitted (first spectrum) with the pellet circuit; its temperature comes from the
file's metadata, a "T = 25 °C" or "(298.15 K)" comment in its header, or its name
(pellet_025C.mpt), unless --temperatures is given (K, one per file). The line fitted is
sigma*T = A*exp(-Ea/(k_B*T)) for bulk, grain-boundary and total conductivity; Ea in eV ± 1σ.
Exit status: 0 fitted, 1 a fit or the Arrhenius analysis failed, 2 bad usage.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "arrhenius",
        help="fit pellet spectra at several temperatures; activation energies (σT form)",
        description="Fit one pellet spectrum per temperature and fit sigma*T = A*exp(-Ea/(k_B*T)) to "
        "the bulk, grain-boundary and total conductivity.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="one spectrum file per temperature")
    p.add_argument(
        "--circuit",
        default="pellet_blocking",
        metavar="NAME",
        help="pellet circuit with R_b and R_gb (default: pellet_blocking)",
    )
    p.add_argument("--thickness-cm", type=float, required=True, metavar="L", help="pellet thickness in cm")
    p.add_argument(
        "--area-cm2",
        type=float,
        metavar="A",
        help="electrode area in cm² (default: 'Electrode surface area' of the files)",
    )
    p.add_argument("--temperatures", type=float, nargs="+", metavar="K", help="temperature of each file in K")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="write arrhenius.json, arrhenius.png and a self-contained report.html into DIR",
    )
    p.set_defaults(run=run)


def file_temperature(spectrum, path: str) -> float | None:
    """Temperature (K) of a spectrum: metadata, then header comments, then the file name."""
    from ..temperature import temperature_from_text

    t = spectrum.meta.get("temperature_K")
    if t:
        return float(t)
    header = spectrum.meta.get("header") or {}
    for key in ("Comments", "comments", "Temperature", "temperature"):
        if key in header:
            found = temperature_from_text(str(header[key]))
            if found:
                return found
    return temperature_from_text(Path(path).stem)


def run(args: argparse.Namespace) -> int:
    import warnings
    from dataclasses import replace

    from ..batching import dumps, write_atomic
    from ..fitting import fit
    from ..io import read
    from ..temperature import arrhenius

    if args.temperatures is not None and len(args.temperatures) != len(args.files):
        print(
            f"eisna arrhenius: error: {len(args.temperatures)} temperatures for {len(args.files)} files",
            file=sys.stderr,
        )
        return 2
    fits, temps = [], []
    area = args.area_cm2
    for k, path in enumerate(args.files):
        spectrum = read(path)[0]
        T = args.temperatures[k] if args.temperatures else file_temperature(spectrum, path)
        if T is None:
            print(
                f"eisna arrhenius: error: {path}: no temperature found in its metadata, header or name; "
                "pass --temperatures (K, one per file)",
                file=sys.stderr,
            )
            return 2
        area = area or spectrum.meta.get("area_cm2")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(fit(spectrum, args.circuit))
        temps.append(T)
    if not area:
        print("eisna arrhenius: error: no electrode area in the files; pass --area-cm2", file=sys.stderr)
        return 2
    result = arrhenius(fits, args.thickness_cm, float(area), temperatures_K=temps)
    print(f"form: {result.form}; L = {args.thickness_cm} cm, A = {area} cm²")
    for T, f, path in zip(temps, fits, args.files, strict=True):
        rb, rg = f.params.get("R_b"), f.params.get("R_gb")
        extra = f", R_gb = {rg:.4g} Ω" if rg is not None else ""
        # the report lists each fit's flags; the terminal says them too (a flagged R_b or a
        # poor fit moves the line)
        flags = ", ".join(str(x) for x in getattr(f, "flags", ()) or ())
        extra += f"  [flags: {flags}]" if flags else ""
        print(f"  {T - 273.15:7.2f} °C  {path}: R_b = {rb:.4g} Ω{extra}")
    for kind, line in result.fits.items():
        print(
            f"  {kind:15s} Ea = {line.Ea_eV:.4f} ± {line.Ea_stderr:.4f} eV; "
            f"σ(25 °C) = {line.sigma_25C_text()}; R² = {line.r_squared:.4f}"
        )
    if args.out:
        out = Path(args.out)
        write_atomic(out / "arrhenius.json", dumps(result.to_dict()))
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from ..plotting import plot_arrhenius

            ax = plot_arrhenius(result)
            ax.figure.savefig(out / "arrhenius.png", dpi=150, bbox_inches="tight")
            plt.close(ax.figure)
        except ImportError:
            pass
        from ..report import sha256_file, write_report

        inputs = [
            {"path": str(p), "sha256": sha256_file(p), "temperature_K": T}
            for p, T in zip(args.files, temps, strict=True)
        ]
        # the temperature of each spectrum goes with its fit (the report's fit table shows it)
        fits = [
            replace(f, meta={**(f.meta or {}), "temperature_K": T}) for f, T in zip(fits, temps, strict=True)
        ]
        write_report(
            out,
            fits=fits,
            arrhenius=result,
            title=f"eisna arrhenius: {args.circuit}",
            provenance={
                "circuit": args.circuit,
                "inputs": inputs,
                "options": {"thickness_cm": args.thickness_cm, "area_cm2": float(area)},
            },
        )
        print(f"  wrote {out / 'arrhenius.json'}, {out / 'arrhenius.png'} and {out / 'report.html'}")
    return 0
