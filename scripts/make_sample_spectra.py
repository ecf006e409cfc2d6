#!/usr/bin/env python3
"""Generate the synthetic sample data in ``sample_spectra/`` (numpy only, deterministic).

What it writes (see ``sample_spectra/README.md``):

* ``nas_looped.mpt`` and ``nas/nas_t01.mpt`` … ``nas_t49.mpt``: a Na15Sn4|Na3SbS4|Na15Sn4
  symmetric cell held at open circuit for 24 h, one PEIS sweep every 0.5 h, in which a
  passivating interlayer arc appears after 1 h and grows by JMAK kinetics;
* ``nps_looped.mpt`` and ``nps/nps_t01.mpt`` …: the Na3PS4 control cell, which stays unchanged;
* ``pellet/pellet_025C.mpt`` … ``pellet_105C.mpt``: an SS|Na3PS4|SS blocking-electrode pellet at
  5 temperatures, resistances scaled by the σT Arrhenius law;
* ``nas_cycling.csv``: galvanostatic cycling of the NAS symmetric cell after the OCV hold, as a
  Neware BTSDA flat record export;
* ``realistic/nas_realistic.mpt``, ``realistic/nps_realistic.mpt`` and
  ``realistic/temperature_log.csv``: the same two cells under Tier B (realism) conditions —
  the cell temperature oscillates by ±0.5 K over the day and scales every resistance through
  its activation energy, and each point of a sweep is evaluated at its own time (the
  interlayer keeps growing during the 167-s sweep);
* ``truth.json``: every true parameter per spectrum, the kinetic truth, the Arrhenius truth and
  the noise model.

The impedance model, parameter values, noise model and seeds follow the normative benchmark
specification (eis-science §4.2, Tier A)::

    Z = jωL + R_b/(1 + jωR_bC_b) + ZARC(R_gb) + ZARC(R_int(t)) + ZARC(R_ct)
        + R_W tanh(√(jωτ_W))/√(jωτ_W),     ZARC(R, τ, n) = R/(1 + (jωτ)^n)
    R_int(t) = R_int,∞ · (1 − exp(−((t − t0)/τ_g)^m))  for t > t0, else 0
    Z_obs = Z + σ_r(f)|Z|(ε1 + jε2),  σ_r = 0.002·√(1 + (f/2 MHz)²)·√(1 + 0.5 Hz/f)

Files are written the way EC-Lab 11.50 exports them: cp1252 text, CRLF line ends, the
``Nb header lines`` count, an ``Acquisition started on : MM/DD/YYYY HH:MM:SS.fff`` line,
``Electrode surface area : 0.785 cm²``, and tab-separated columns with 7-digit mantissas and
3-digit exponents. Convention: Z = Z′ + jZ″ with Z″ < 0 for capacitive arcs; the files hold −Z″.

Usage::

    python scripts/make_sample_spectra.py            # writes ./sample_spectra
    python scripts/make_sample_spectra.py --out DIR  # somewhere else
"""

from __future__ import annotations

import argparse
import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

EPS0_F_PER_CM = 8.8541878128e-14  # vacuum permittivity, F/cm
K_B_EV = 8.617333262e-5  # Boltzmann constant, eV/K
AREA_CM2 = math.pi * 0.5**2  # 10 mm die, 0.7854 cm²
T0_K = 298.15

FREQ_CELL_HZ = np.geomspace(7e6, 0.1, 80)  # 80 points, high → low
FREQ_PELLET_HZ = np.geomspace(7e6, 1.0, 70)
N_SPECTRA = 49
STEP_H = 0.5

SEEDS = {
    "NAS": 20250319,
    "NPS": 20250320,
    "NAS-B": 20250321,
    "NPS-B": 20250322,
    "pellet": 20250323,
    "cycling": 20250324,
}

# Tier B (realism, eis-science §4.2): activation energies (eV) of the σT-Arrhenius factor that
# scales every resistance (and, with C_eff constant, every τ) as the temperature oscillates
TIER_B_EA_EV = {
    "NAS": {"b": 0.22, "gb": 0.30, "int": 0.40, "ct": 0.35, "W": 0.30},
    "NPS": {"b": 0.26, "gb": 0.32, "int": 0.40, "ct": 0.35, "W": 0.30},
}

# eis-science §4.1 table (cell totals; "per interface" = R/2 and 2C)
CELLS = {
    "NAS": {
        "electrolyte": "Na3SbS4",
        "thickness_cm": 0.100,
        "L_H": 0.2e-6,
        "R_b": 42.4,
        "C_b": 13.9e-12,
        "R_gb": 21.0,
        "f_gb": 2.0e6,
        "n_gb": 0.80,
        "R_ct": 40.0,
        "f_ct": 300.0,
        "n_ct": 0.90,
        "R_W": 12.0,
        "tau_W": 1.0,
        "interlayer": {
            "R_inf": 180.0,
            "f_int": 1.0e4,
            "n_int": 0.85,
            "t0_h": 1.0,
            "tau_g_h": 6.0,
            "m": 1.5,
            "eps_r": 10.0,
        },
        "start": datetime(2025, 3, 17, 9, 12, 5),
        "channel": 3,
    },
    "NPS": {
        "electrolyte": "Na3PS4",
        "thickness_cm": 0.130,
        "L_H": 0.2e-6,
        "R_b": 413.8,
        "C_b": 10.7e-12,
        "R_gb": 248.0,
        "f_gb": 3.0e5,
        "n_gb": 0.80,
        "R_ct": 60.0,
        "f_ct": 300.0,
        "n_ct": 0.90,
        "R_W": 12.0,
        "tau_W": 1.0,
        "interlayer": None,
        "start": datetime(2025, 3, 17, 9, 40, 22),
        "channel": 4,
    },
}

# Pellet set P (eis-science §4.2): SS|Na3PS4|SS, L - (R_b C_b) - ZARC_gb - Q_el, σT Arrhenius
PELLET = {
    "electrolyte": "Na3PS4",
    "thickness_cm": 0.130,
    "L_H": 0.2e-6,
    "R_b_25C": 413.8,
    "C_b": 10.7e-12,
    "R_gb_25C": 248.0,
    "f_gb_25C": 3.0e5,
    "n_gb": 0.80,
    "Q_el": 3.88e-6,
    "n_el": 0.90,
    "Ea_b_eV": 0.26,
    "Ea_gb_eV": 0.32,
    "temperatures_C": [25, 45, 65, 85, 105],
    "start": datetime(2025, 3, 20, 10, 3, 41),
}


# --------------------------------------------------------------------------- physics


def noise_sigma_rel(freq: np.ndarray) -> np.ndarray:
    """Relative noise σ_r(f) of each component (fraction of |Z|), eis-science §4.2."""
    return 0.002 * np.sqrt(1.0 + (freq / 2e6) ** 2) * np.sqrt(1.0 + 0.5 / freq)


def zarc(omega: np.ndarray, R: float, tau: float, n: float) -> np.ndarray:
    """ZARC R/(1 + (jωτ)^n) in Ω."""
    return R / (1.0 + (1j * omega * tau) ** n)


def jmak_fraction(t_h: float, t0_h: float, tau_g_h: float, m: float) -> float:
    """Grown fraction g(t) = 1 − exp(−((t − t0)/τ_g)^m), 0 before t0."""
    if t_h <= t0_h:
        return 0.0
    return float(1.0 - math.exp(-(((t_h - t0_h) / tau_g_h) ** m)))


def arc_truth(R: float, f0: float, n: float) -> dict[str, float]:
    """Element values of one ZARC: R (Ω), τ (s), f0 (Hz), n, Q (F s^(n−1)), C_eff (F, τ/R)."""
    tau = 1.0 / (2.0 * math.pi * f0)
    return {"R": R, "tau": tau, "f0": f0, "n": n, "Q": tau**n / R, "C_eff": tau / R}


def cell_truth(cell: dict, t_h: float) -> dict:
    """True parameters of a symmetric cell at time t_h (hours since the first sweep)."""
    gb = arc_truth(cell["R_gb"], cell["f_gb"], cell["n_gb"])
    ct = arc_truth(cell["R_ct"], cell["f_ct"], cell["n_ct"])
    params = {
        "L": cell["L_H"],
        "R_b": cell["R_b"],
        "C_b": cell["C_b"],
        "R_gb": gb["R"],
        "Q_gb": gb["Q"],
        "n_gb": gb["n"],
        "R_int": 0.0,
        "Q_int": None,
        "n_int": None,
        "R_ct": ct["R"],
        "Q_ct": ct["Q"],
        "n_ct": ct["n"],
        "R_W": cell["R_W"],
        "tau_W": cell["tau_W"],
    }
    derived: dict = {
        "R_SE_ohm": cell["R_b"] + cell["R_gb"],
        "sigma_total_S_per_cm": cell["thickness_cm"] / ((cell["R_b"] + cell["R_gb"]) * AREA_CM2),
        "tau_gb_s": gb["tau"],
        "C_eff_gb_F": gb["C_eff"],
        "tau_ct_s": ct["tau"],
        "C_eff_ct_F": ct["C_eff"],
        "ASR_ct_per_interface_ohm_cm2": cell["R_ct"] * AREA_CM2 / 2.0,
        "interlayer": False,
        "g": 0.0,
        "tau_int_s": None,
        "f0_int_Hz": None,
        "C_eff_int_F": None,
        "ASR_int_per_interface_ohm_cm2": 0.0,
        "C_int_per_interface_F_per_cm2": None,
        "thickness_int_nm": 0.0,
        "sigma_int_S_per_cm": None,
    }
    layer = cell["interlayer"]
    if layer is not None:
        g = jmak_fraction(t_h, layer["t0_h"], layer["tau_g_h"], layer["m"])
        tau_int = 1.0 / (2.0 * math.pi * layer["f_int"])
        derived["g"] = g
        derived["tau_int_s"] = tau_int
        derived["f0_int_Hz"] = layer["f_int"]
        derived["sigma_int_S_per_cm"] = EPS0_F_PER_CM * layer["eps_r"] / tau_int
        if g > 0:
            arc = arc_truth(layer["R_inf"] * g, layer["f_int"], layer["n_int"])
            params.update(R_int=arc["R"], Q_int=arc["Q"], n_int=arc["n"])
            c_one = 2.0 * arc["C_eff"]  # two identical interfaces in series
            derived.update(
                interlayer=True,
                C_eff_int_F=arc["C_eff"],
                ASR_int_per_interface_ohm_cm2=arc["R"] * AREA_CM2 / 2.0,
                C_int_per_interface_F_per_cm2=c_one / AREA_CM2,
                thickness_int_nm=EPS0_F_PER_CM * layer["eps_r"] * AREA_CM2 / c_one * 1e7,
            )
    derived["R_dc_ohm"] = params["R_b"] + params["R_gb"] + params["R_int"] + params["R_ct"] + params["R_W"]
    return {"params": params, "derived": derived}


def cell_impedance(freq: np.ndarray, p: dict) -> np.ndarray:
    """Impedance (Ω) of the symmetric-cell circuit for the parameter dict ``p``."""
    omega = 2.0 * np.pi * freq
    z = 1j * omega * p["L"] + p["R_b"] / (1.0 + 1j * omega * p["R_b"] * p["C_b"])
    for arc in ("gb", "int", "ct"):
        R = p[f"R_{arc}"]
        if R:
            tau = (R * p[f"Q_{arc}"]) ** (1.0 / p[f"n_{arc}"])
            z = z + zarc(omega, R, tau, p[f"n_{arc}"])
    s = np.sqrt(1j * omega * p["tau_W"])
    return z + p["R_W"] * np.tanh(s) / s


def add_noise(z: np.ndarray, freq: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Proportional Gaussian noise on the real and imaginary parts (eis-science §4.2)."""
    scale = noise_sigma_rel(freq) * np.abs(z)
    eps = rng.standard_normal((2, z.size))
    return z + scale * (eps[0] + 1j * eps[1])


def sweep_times_s(freq: np.ndarray) -> np.ndarray:
    """Time of each point from the sweep start (s): 0.25 s settling plus 3 periods per point."""
    step = 0.25 + 3.0 / freq
    return np.cumsum(step) - 0.5 * step


# --------------------------------------------------------------------------- EC-Lab writer


def fmt_e(x: float, digits: int = 7) -> str:
    """EC-Lab number format: ``1.2345670E+003`` (3-digit exponent)."""
    mant, exp = f"{x:.{digits}E}".split("E")
    return f"{mant}E{exp[0]}{int(exp[1:]):03d}"


PEIS_SETTINGS = [
    ("Mode", "Single sine"),
    ("E (V)", "0.0000"),
    ("vs.", "Eoc"),
    ("tE (h:m:s)", "0:00:0.0000"),
    ("record", "0"),
    ("dI", "0.000"),
    ("unit dI", "mA"),
    ("dt (s)", "0.000"),
    ("fi", "7.000"),
    ("unit fi", "MHz"),
    ("ff", "{ff}"),
    ("unit ff", "{ff_unit}"),
    ("Nd", "10"),
    ("Points", "per decade"),
    ("spacing", "Logarithmic"),
    ("Va (mV)", "10.0"),
    ("pw", "0.10"),
    ("Na", "1"),
    ("corr", "0"),
    ("E range min (V)", "-2.500"),
    ("E range max (V)", "2.500"),
    ("I Range", "Auto"),
    ("Bandwidth", "8"),
    ("nc cycles", "0"),
    ("goto Ns'", "0"),
    ("nr cycles", "0"),
    ("inc. cycle", "0"),
]

COLUMNS = [
    "freq/Hz",
    "Re(Z)/Ohm",
    "-Im(Z)/Ohm",
    "|Z|/Ohm",
    "Phase(Z)/deg",
    "time/s",
    "<Ewe>/V",
    "<I>/mA",
    "Cs/µF",
    "Cp/µF",
    "cycle number",
    "I Range",
]


def mpt_header(
    *,
    start: datetime,
    mpr_name: str,
    comments: str,
    electrolyte: str,
    electrode: str,
    channel: int,
    ff_hz: float,
    loops: list[tuple[int, int]] | None = None,
) -> list[str]:
    """Header lines of an EC-Lab PEIS export, ending with the column-name line."""
    ff, ff_unit = (f"{ff_hz * 1e3:.3f}", "mHz") if ff_hz < 1 else (f"{ff_hz:.3f}", "Hz")
    body = [
        "",
        "Potentio Electrochemical Impedance Spectroscopy",
        "",
        f"Run on channel : {channel} (SN 20417)",
        "User : ",
        "CE vs. WE compliance from -10 V to 10 V",
        "Electrode connection : standard",
        "Potential control : Ewe",
        "Ewe ctrl range : min = -2.50 V, max = 2.50 V",
        "Safety Limits :",
        "\tDo not start on E overload",
        f"Acquisition started on : {start:%m/%d/%Y %H:%M:%S}.{start.microsecond // 1000:03d}",
        "Loaded Setting File :  NONE",
        "Saved on :",
        f"\tFile : {mpr_name}",
        "\tDirectory : C:\\Users\\lab\\Documents\\EC-Lab\\Data\\eisna-samples\\",
        "\tHost : 192.168.0.17",
        "Device : VMP3 (SN 20417)",
        "Address : USB",
        "EC-Lab for windows v11.50 (software)",
        "Internet server v11.50 (firmware)",
        "Command interpretor v11.50 (firmware)",
        f"Electrode material : {electrode}",
        "Initial state : as assembled, OCV",
        f"Electrolyte : {electrolyte}",
        f"Comments : {comments}",
        "Cable : standard",
        f"Electrode surface area : {AREA_CM2:.3f} cm²",
        "Characteristic mass : 0.001 g",
        "Equivalent Weight : 0.000 g/eq.",
        "Density : 0.000 g/cm3",
        "Cycle Definition : Charge/Discharge alternance",
    ]
    body += [f"{k:<20}{v.format(ff=ff, ff_unit=ff_unit):<20}" for k, v in PEIS_SETTINGS]
    if loops:
        body += ["", f"Number of loops : {len(loops)}"]
        body += [f"Loop {k} from point number {a} to {b}" for k, (a, b) in enumerate(loops)]
    body += ["", "\t".join(COLUMNS) + "\t"]
    n_lines = len(body) + 2
    return ["EC-Lab ASCII FILE", f"Nb header lines : {n_lines:<3}" + " " * 23, *body]


def mpt_rows(freq: np.ndarray, z: np.ndarray, time_s: np.ndarray, cycle: int, rng) -> list[str]:
    """Data lines of one sweep (Z in Ω with physical sign; written as −Im)."""
    omega = 2.0 * np.pi * freq
    mod = np.abs(z)
    phase = np.degrees(np.angle(z))
    cs_uF = -1.0 / (omega * z.imag) * 1e6
    cp_uF = -z.imag / (omega * mod**2) * 1e6
    ewe = 1e-4 * rng.standard_normal(freq.size)  # OCV of a symmetric cell ≈ 0 V
    cur = 1e-5 * rng.standard_normal(freq.size)
    rows = []
    for k in range(freq.size):
        rows.append(
            "\t".join(
                [
                    fmt_e(freq[k]),
                    fmt_e(z.real[k]),
                    fmt_e(-z.imag[k]),
                    fmt_e(mod[k]),
                    fmt_e(phase[k]),
                    fmt_e(time_s[k], 15),
                    fmt_e(ewe[k]),
                    fmt_e(cur[k]),
                    fmt_e(cs_uF[k]),
                    fmt_e(cp_uF[k]),
                    fmt_e(float(cycle), 15),
                    "11",
                ]
            )
        )
    return rows


def write_text(path: Path, lines: list[str]) -> None:
    """Write cp1252 text with CRLF line ends, as EC-Lab and BTSDA do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


# --------------------------------------------------------------------------- data sets


def make_cell_set(system: str, out: Path) -> dict:
    """Write the looped and per-spectrum files of one 24-h set; return its truth."""
    cell = CELLS[system]
    rng = np.random.default_rng(SEEDS[system])
    aux_rng = np.random.default_rng(SEEDS[system] + 1000)
    freq = FREQ_CELL_HZ
    offsets = sweep_times_s(freq)
    prefix = system.lower()
    electrode = "Na15Sn4 | Na15Sn4 (40 mg each)"
    electrolyte = f"{cell['electrolyte']}, 200 mg, {cell['thickness_cm'] * 10:.2f} mm, 10 mm die"
    comment = (
        f"Na15Sn4|{cell['electrolyte']}|Na15Sn4 symmetric cell, OCV hold 24 h, PEIS every 30 min. "
        "Synthetic data: eisna scripts/make_sample_spectra.py"
    )
    spectra, looped_rows, loops, truth_rows = [], [], [], []
    for i in range(N_SPECTRA):
        t_h = STEP_H * i
        truth = cell_truth(cell, t_h)
        z = add_noise(cell_impedance(freq, truth["params"]), freq, rng)
        spectra.append(z)
        looped_rows += mpt_rows(freq, z, t_h * 3600.0 + offsets, i + 1, aux_rng)
        loops.append((i * freq.size, (i + 1) * freq.size - 1))
        start_i = cell["start"] + timedelta(hours=t_h)
        name = f"{prefix}_t{i + 1:02d}.mpt"
        header = mpt_header(
            start=start_i,
            mpr_name=f"{prefix}_t{i + 1:02d}.mpr",
            comments=comment,
            electrolyte=electrolyte,
            electrode=electrode,
            channel=cell["channel"],
            ff_hz=float(freq[-1]),
        )
        write_text(out / prefix / name, header + mpt_rows(freq, z, offsets, 1, aux_rng))
        truth_rows.append(
            {
                "index": i,
                "t_start_h": t_h,
                "timestamp": start_i.isoformat(),
                "looped_file": f"{prefix}_looped.mpt",
                "looped_cycle": i + 1,
                "file": f"{prefix}/{name}",
                **truth,
            }
        )
    header = mpt_header(
        start=cell["start"],
        mpr_name=f"{prefix}_looped.mpr",
        comments=comment,
        electrolyte=electrolyte,
        electrode=electrode,
        channel=cell["channel"],
        ff_hz=float(freq[-1]),
        loops=loops,
    )
    write_text(out / f"{prefix}_looped.mpt", header + looped_rows)
    kin = None
    if cell["interlayer"] is not None:
        lay = cell["interlayer"]
        t95 = lay["t0_h"] + lay["tau_g_h"] * (-math.log(0.05)) ** (1.0 / lay["m"])
        c_one_inf = 2.0 * (1.0 / (2.0 * math.pi * lay["f_int"])) / lay["R_inf"]
        kin = {
            "model": "jmak",
            "equation": "R_int = dR_inf * (1 - exp(-((t - t0)/tau_g)^m)) for t > t0, else 0",
            "t0_h": lay["t0_h"],
            "tau_g_h": lay["tau_g_h"],
            "m": lay["m"],
            "dR_inf_ohm": lay["R_inf"],
            "R0_ohm": 0.0,
            "t95_h": t95,
            "R_int_final_ohm": truth_rows[-1]["params"]["R_int"],
            "ASR_int_final_per_interface_ohm_cm2": lay["R_inf"] * AREA_CM2 / 2.0,
            "thickness_inf_nm": EPS0_F_PER_CM * lay["eps_r"] * AREA_CM2 / c_one_inf * 1e7,
            "eps_r_int": lay["eps_r"],
        }
    else:
        kin = {"model": "none", "t0_h": None, "note": "no interlayer: negative control"}
    return {
        "system": system,
        "electrolyte": cell["electrolyte"],
        "thickness_cm": cell["thickness_cm"],
        "area_cm2": AREA_CM2,
        "seed": SEEDS[system],
        "acquisition_start": cell["start"].isoformat(),
        "circuit": "L-p(R_b,C_b)-p(R_gb,CPE_gb)-p(R_int,CPE_int)-p(R_ct,CPE_ct)-Ws",
        "kinetics": kin,
        "spectra": truth_rows,
    }


def tier_b_temperature_K(t_h: float | np.ndarray) -> float | np.ndarray:
    """Cell temperature (K) of the realistic set: T = 298.15 + 0.5 sin(2πt/24 h)."""
    return T0_K + 0.5 * np.sin(2.0 * np.pi * np.asarray(t_h) / 24.0)


def arrhenius_factor(ea_eV: float, T: float) -> float:
    """R(T)/R(T0) for σT = A exp(−Ea/kT): (T/T0) exp(Ea/k (1/T − 1/T0))."""
    return (T / T0_K) * math.exp(ea_eV / K_B_EV * (1.0 / T - 1.0 / T0_K))


def tier_b_params(system: str, t_h: float) -> dict:
    """True parameters of the realistic set at time t_h: Tier A, every R and τ scaled by its
    Arrhenius factor at T(t_h) (C_eff and C_b constant)."""
    base = cell_truth(CELLS[system], t_h)["params"]
    T = float(tier_b_temperature_K(t_h))
    ea = TIER_B_EA_EV[system]
    p = dict(base)
    p["R_b"] = base["R_b"] * arrhenius_factor(ea["b"], T)
    for arc in ("gb", "int", "ct"):
        R, n = base[f"R_{arc}"], base[f"n_{arc}"]
        if not R:
            continue
        f = arrhenius_factor(ea[arc], T)
        tau = (R * base[f"Q_{arc}"]) ** (1.0 / n) * f
        p[f"R_{arc}"] = R * f
        p[f"Q_{arc}"] = tau**n / (R * f)
    f_w = arrhenius_factor(ea["W"], T)
    p["R_W"], p["tau_W"] = base["R_W"] * f_w, base["tau_W"] * f_w
    return p


def make_realistic_set(system: str, out: Path) -> dict:
    """Tier B (realism) looped file: temperature oscillation and within-sweep drift.

    Each point is evaluated at its own time t_k = t_i + (0.25 s + 3/f_k settling and
    integration, cumulated), with the interlayer still growing and the temperature still
    changing during the 167-s sweep; outliers are off. Truth is given at each sweep's start.
    """
    cell = CELLS[system]
    rng = np.random.default_rng(SEEDS[f"{system}-B"])
    aux_rng = np.random.default_rng(SEEDS[f"{system}-B"] + 1000)
    freq = FREQ_CELL_HZ
    offsets = sweep_times_s(freq)
    name = f"realistic/{system.lower()}_realistic.mpt"
    rows, loops, truth_rows = [], [], []
    for i in range(N_SPECTRA):
        t_h = STEP_H * i
        t_k = t_h + offsets / 3600.0
        z = np.array(
            [
                cell_impedance(freq[k : k + 1], tier_b_params(system, float(t_k[k])))[0]
                for k in range(freq.size)
            ]
        )
        z = add_noise(z, freq, rng)
        rows += mpt_rows(freq, z, t_h * 3600.0 + offsets, i + 1, aux_rng)
        loops.append((i * freq.size, (i + 1) * freq.size - 1))
        truth_rows.append(
            {
                "index": i,
                "t_start_h": t_h,
                "timestamp": (cell["start"] + timedelta(hours=t_h)).isoformat(),
                "looped_cycle": i + 1,
                "temperature_K": float(tier_b_temperature_K(t_h)),
                "params": tier_b_params(system, t_h),
            }
        )
    header = mpt_header(
        start=cell["start"],
        mpr_name=Path(name).with_suffix(".mpr").name,
        comments=f"Na15Sn4|{cell['electrolyte']}|Na15Sn4 symmetric cell, OCV hold 24 h, PEIS every 30 min, "
        "cell temperature 25 +- 0.5 C (log: realistic/temperature_log.csv). Synthetic data (Tier B): "
        "eisna scripts/make_sample_spectra.py",
        electrolyte=f"{cell['electrolyte']}, 200 mg, {cell['thickness_cm'] * 10:.2f} mm, 10 mm die",
        electrode="Na15Sn4 | Na15Sn4 (40 mg each)",
        channel=cell["channel"],
        ff_hz=float(freq[-1]),
        loops=loops,
    )
    write_text(out / name, header + rows)
    return {
        "system": system,
        "file": name,
        "seed": SEEDS[f"{system}-B"],
        "spec": "eis-science §4.2 Tier B: Tier A plus T(t) = 298.15 + 0.5 sin(2 pi t/24 h) K scaling "
        "every R and tau by (T/T0) exp(Ea/k (1/T - 1/T0)), and within-sweep drift (each point at its own "
        "time); outliers off",
        "Ea_eV": TIER_B_EA_EV[system],
        "truth_at": "sweep start",
        "spectra": truth_rows,
    }


def write_temperature_log(out: Path) -> str:
    """The cell temperature every 5 min over the 24.5 h of the realistic sets (CSV)."""
    t_h = np.arange(0.0, 24.5 + 1e-9, 5.0 / 60.0)
    lines = ["time_h,temperature_K"] + [
        f"{t:.4f},{T:.3f}" for t, T in zip(t_h, tier_b_temperature_K(t_h), strict=True)
    ]
    write_text(out / "realistic" / "temperature_log.csv", lines)
    return "realistic/temperature_log.csv"


def make_pellet_set(out: Path) -> dict:
    """Write the blocking-electrode pellet at 5 temperatures; return its truth."""
    p = PELLET
    rng = np.random.default_rng(SEEDS["pellet"])
    aux_rng = np.random.default_rng(SEEDS["pellet"] + 1000)
    freq = FREQ_PELLET_HZ
    omega = 2.0 * np.pi * freq
    tau_gb_25 = 1.0 / (2.0 * math.pi * p["f_gb_25C"])
    c_eff_gb = tau_gb_25 / p["R_gb_25C"]  # C_eff held constant, so τ ∝ R
    rows = []
    for k, t_c in enumerate(p["temperatures_C"]):
        T = t_c + 273.15

        def factor(ea: float, T: float = T) -> float:
            # R ∝ 1/σ and σT = A exp(−Ea/kT)  →  R(T)/R(T0) = (T/T0) exp(Ea/k (1/T − 1/T0))
            return (T / T0_K) * math.exp(ea / K_B_EV * (1.0 / T - 1.0 / T0_K))

        R_b = p["R_b_25C"] * factor(p["Ea_b_eV"])
        R_gb = p["R_gb_25C"] * factor(p["Ea_gb_eV"])
        tau_gb = c_eff_gb * R_gb
        Q_gb = tau_gb ** p["n_gb"] / R_gb
        z = (
            1j * omega * p["L_H"]
            + R_b / (1.0 + 1j * omega * R_b * p["C_b"])
            + zarc(omega, R_gb, tau_gb, p["n_gb"])
            + 1.0 / (p["Q_el"] * (1j * omega) ** p["n_el"])
        )
        z = add_noise(z, freq, rng)
        start = p["start"] + timedelta(hours=2.0 * k)
        name = f"pellet_{t_c:03d}C.mpt"
        header = mpt_header(
            start=start,
            mpr_name=name.replace(".mpt", ".mpr"),
            comments=f"SS|Na3PS4|SS blocking pellet, T = {t_c} °C ({T:.2f} K), 1.30 mm, 10 mm die. "
            "Synthetic data: eisna scripts/make_sample_spectra.py",
            electrolyte="Na3PS4 pellet, 200 mg, 1.30 mm",
            electrode="stainless steel (blocking)",
            channel=1,
            ff_hz=float(freq[-1]),
        )
        write_text(out / "pellet" / name, header + mpt_rows(freq, z, sweep_times_s(freq), 1, aux_rng))
        L_cm = p["thickness_cm"]
        rows.append(
            {
                "file": f"pellet/{name}",
                "temperature_C": t_c,
                "temperature_K": T,
                "params": {
                    "L": p["L_H"],
                    "R_b": R_b,
                    "C_b": p["C_b"],
                    "R_gb": R_gb,
                    "Q_gb": Q_gb,
                    "n_gb": p["n_gb"],
                    "Q_el": p["Q_el"],
                    "n_el": p["n_el"],
                },
                "sigma_bulk_S_per_cm": L_cm / (R_b * AREA_CM2),
                "sigma_gb_S_per_cm": L_cm / (R_gb * AREA_CM2),
                "sigma_total_S_per_cm": L_cm / ((R_b + R_gb) * AREA_CM2),
                "f0_gb_Hz": 1.0 / (2.0 * math.pi * tau_gb),
            }
        )
    return {
        "electrolyte": p["electrolyte"],
        "thickness_cm": p["thickness_cm"],
        "area_cm2": AREA_CM2,
        "seed": SEEDS["pellet"],
        "circuit": "L-p(R_b,C_b)-p(R_gb,CPE_gb)-CPE_el",
        "arrhenius_form": "sigma*T = A*exp(-Ea/(k_B*T))",
        "Ea_bulk_eV": p["Ea_b_eV"],
        "Ea_gb_eV": p["Ea_gb_eV"],
        "Ea_total_note": "the total conductivity mixes bulk and gb, so its Arrhenius plot is slightly "
        "curved; no single true Ea",
        "spectra": rows,
    }


CYCLING_COLUMNS = (
    "DataPoint,Cycle Index,Step Index,Step Type,Time,Total Time,Current(mA),Voltage(V),Capacity(mAh),"
    "Spec. Cap.(mAh/g),Chg. Cap.(mAh),Chg. Spec. Cap.(mAh/g),DChg. Cap.(mAh),DChg. Spec. Cap.(mAh/g),"
    "Energy(mWh),Spec. Energy(mWh/g),Chg. Energy(mWh),Chg. Spec. Energy(mWh/g),DChg. Energy(mWh),"
    "DChg. Spec. Energy(mWh/g),Date,Power(mW),dQ/dV(mAh/V),dQm/dV(mAh/V.g),Contact resistance(mO),"
    "Module start-stop switch"
)


def _hms(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def make_cycling(out: Path, nas_truth: dict) -> dict:
    """Neware BTSDA flat CSV: the NAS cell cycled at ±0.51 mA/cm² for 1 h per half-cycle."""
    rng = np.random.default_rng(SEEDS["cycling"])
    cell = CELLS["NAS"]
    lay = cell["interlayer"]
    j_mA_cm2 = 0.51
    i_mA = j_mA_cm2 * AREA_CM2
    rest_s, half_s, n_cycles, dt = 600.0, 3600.0, 24, 120.0
    t_begin_h = 24.5  # cycling starts half an hour after the last EIS sweep
    start = cell["start"] + timedelta(hours=t_begin_h)

    def r_dc(t_h: float) -> float:
        g = jmak_fraction(t_h, lay["t0_h"], lay["tau_g_h"], lay["m"])
        return cell["R_b"] + cell["R_gb"] + lay["R_inf"] * g + cell["R_ct"] + cell["R_W"]

    lines = [CYCLING_COLUMNS]
    point, total = 1, 0.0
    steps = [("Rest", 0.0, rest_s)]
    for _ in range(n_cycles):
        steps += [("CC DChg", -i_mA, half_s), ("CC Chg", i_mA, half_s)]
    cycle = 1
    for step_index, (kind, cur, dur) in enumerate(steps, start=1):
        if kind == "CC DChg" and step_index > 2:
            cycle += 1
        ts = np.arange(0.0, dur + 0.5 * dt, dt)
        for t_step in ts:
            t_h = t_begin_h + (total + t_step) / 3600.0
            # ohmic + interfacial overpotential; the Warburg part relaxes within ~1 s (τ_W)
            eta_V = cur * 1e-3 * r_dc(t_h) * (1.0 - 0.03 * math.exp(-t_step / 30.0)) if cur else 0.0
            volt = eta_V + 1e-4 * rng.standard_normal()
            cap = abs(cur) * t_step / 3600.0
            chg = cap if cur > 0 else 0.0
            dchg = cap if cur < 0 else 0.0
            energy = abs(volt) * cap
            date = start + timedelta(seconds=total + t_step)
            lines.append(
                f"{point},{cycle},{step_index},{kind},{_hms(t_step)},{_hms(total + t_step)},"
                f"{cur:.4f},{volt:.4f},{cap:.4f},0.00,{chg:.4f},0.00,{dchg:.4f},0.00,"
                f"{energy:.5f},0.00,{energy if cur > 0 else 0.0:.5f},0.00,"
                f"{energy if cur < 0 else 0.0:.5f},0.00,{date:%Y-%m-%d %H:%M:%S},"
                f"{volt * cur:.5f},0.0000,0.0000,0,Close"
            )
            point += 1
        total += dur
    write_text(out / "nas_cycling.csv", lines)
    return {
        "file": "nas_cycling.csv",
        "cell": "NAS symmetric cell of nas_looped.mpt, cycled after the 24-h OCV hold",
        "start": start.isoformat(),
        "start_h_after_first_eis": t_begin_h,
        "current_mA": i_mA,
        "current_density_mA_per_cm2": j_mA_cm2,
        "half_cycle_s": half_s,
        "cycles": n_cycles,
        "overpotential_model": "eta = I * R_dc(t), R_dc = R_b + R_gb + R_int(t) + R_ct + R_W",
        "R_dc_ohm_at_start": r_dc(t_begin_h),
        "ASR_dc_cell_ohm_cm2_at_start": r_dc(t_begin_h) * AREA_CM2,
        "soft_shorts": [],
        "sign_convention": "current + = charge (Neware)",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "sample_spectra"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    nas = make_cell_set("NAS", out)
    nps = make_cell_set("NPS", out)
    truth = {
        "generator": "scripts/make_sample_spectra.py",
        "spec": "eis-science §4.2 Tier A (normative synthetic benchmark)",
        "convention": "Z = Z' + jZ'', Z'' < 0 capacitive; files hold -Im(Z). Cell totals; per "
        "interface = R/2 and 2C.",
        "area_cm2": AREA_CM2,
        "freq_Hz": {"start": 7e6, "stop": 0.1, "points": 80, "spacing": "geometric"},
        "noise": {
            "model": "Z_obs = Z + sigma_r(f)*|Z|*(e1 + j*e2), e ~ N(0,1)",
            "sigma_r": "0.002*sqrt(1 + (f/2 MHz)^2)*sqrt(1 + 0.5 Hz/f)",
        },
        "NAS": nas,
        "NPS": nps,
        "pellet": make_pellet_set(out),
        "cycling": make_cycling(out, nas),
        "realistic": {
            "temperature_log": write_temperature_log(out),
            "NAS": make_realistic_set("NAS", out),
            "NPS": make_realistic_set("NPS", out),
        },
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
