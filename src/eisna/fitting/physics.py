"""Physics of a fitted circuit: arcs, effective capacitances, role checks and derived quantities.

Formulas (eis-science.md §1.3 and §2):

* R‖CPE arc (Hsu–Mansfeld, normal distribution): τ = (R Q)^(1/n), C_eff = τ/R
  = Q^(1/n) R^((1−n)/n), apex f = 1/(2πτ).
* R‖C arc: τ = R C, C_eff = C.
* Blocking-electrode CPE (Brug, surface distribution): C_eff = Q^(1/n) R_e^((1−n)/n) with R_e the
  sum of all series resistances (R_b + R_gb + …).
* σ = L/(R A) (S/cm) for bulk, grain boundary and total (R_b + R_gb), counting only the arcs whose
  *effective* role is bulk or grain boundary (:func:`effective_role`): an arc the circuit calls
  bulk or grain boundary but whose C_eff is electrode-scale is counted as interfacial (its ASR),
  not in R_SE or σ; with no such arc left, R_SE and σ are NaN and a note says why.
* ASR per interface = R A/2 in a symmetric cell (R A otherwise), Ω·cm².
* Layer thickness d = ε0 εr A / C_1 with C_1 = 2 C_eff per interface in a symmetric cell.

Every value carries a 1σ error from the delta method on the fit covariance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from ..circuit.library import CircuitDefinition
from ..spectrum import CellGeometry
from .result import Arc, Quantity
from .start import _items

__all__ = [
    "DEFAULT_EPS_R",
    "ELECTRODE_C_MIN_F",
    "INTERFACIAL",
    "ISW_RANGES",
    "REASSIGN_C_MIN_F",
    "SE_NOT_IDENTIFIED",
    "asr_per_interface",
    "column_name",
    "compute_physics",
    "dc_resistance",
    "diffusion_above_window",
    "diffusion_apexes",
    "effective_role",
    "hn_apex_tau",
    "interfacial_resistances",
    "make_geometry",
]

#: Relative permittivity assumed for the interlayer thickness d = ε0 εr A / C_1, the one default
#: of :func:`eisna.fit`, :func:`eisna.fit_series`, :func:`eisna.batch` and the CLI (None: no d).
DEFAULT_EPS_R = 10.0

EPS0_F_PER_CM = 8.8541878128e-14
SHORT = {
    "bulk": "b",
    "grain_boundary": "gb",
    "interlayer": "int",
    "charge_transfer": "ct",
    "electrode": "el",
    "diffusion": "W",
    "stray": "L",
}
# Irvine–Sinclair–West nominal ranges (F for a cell constant of 1 cm⁻¹); a role is accepted
# within one decade of its nominal range, since the ranges are order-of-magnitude guides
ISW_RANGES = {
    "bulk": (1e-13, 1e-11),
    "grain_boundary": (1e-11, 1e-8),
    "interlayer": (1e-9, 1e-7),
    "charge_transfer": (1e-7, 1e-4),
    "electrode": (1e-7, 1e-5),
}
_TOLERANCE = 10.0

#: Lower edge of the Irvine–Sinclair–West "sample–electrode interface" range, in F for a cell
#: constant l/A = 1 cm⁻¹ (10⁻⁷–10⁻⁵ F, eis-science.md §1.2; the grain-boundary range ends at
#: 10⁻⁸ F, ×10 tolerance as for the role check): a bulk or grain-boundary arc whose C_eff (× l/A)
#: lies above it is an electrode/interface process, not the solid electrolyte.
ELECTRODE_C_MIN_F = 1e-7
#: An arc is reassigned only above ten times that edge: between 10⁻⁷ and 10⁻⁶ F·cm⁻¹ the
#: grain-boundary (×10 tolerance), surface-layer and electrode ranges overlap, and a real cell's
#: grain-boundary arc drifting up through 10⁻⁷ F over a series (corpus `vsp_peis_with`: 1e-8 →
#: 1.9e-7 F without a thickness) flipped in and out of R_SE from one spectrum to the next.
REASSIGN_C_MIN_F = 10.0 * ELECTRODE_C_MIN_F
#: The effective role of such an arc: counted in the area-specific resistance, not in R_SE or σ.
INTERFACIAL = "interfacial"
#: Note of a fit whose circuit has solid-electrolyte arcs but none with an SE-scale capacitance.
SE_NOT_IDENTIFIED = (
    "R_SE and σ not identified (no bulk/grain-boundary arc in the window): every arc the circuit "
    "calls bulk or grain boundary has an electrode-scale capacitance; check the circuit roles or "
    "measure to higher frequency"
)
_SE_ROLES = ("bulk", "grain_boundary")

Propagate = Callable[[Callable[[np.ndarray], float]], tuple[float, float]]


def dc_resistance(res: Any) -> float:
    """Total resistance of a fit: Re Z at 1 µHz (Ω).

    NaN for a circuit with a blocking electrode (an element of role ``electrode``): such a cell
    has no DC path, and Re Z at 1 µHz is only the spike's CPE growing (GΩ on a pellet), which is
    no resistance of the sample.
    """
    roles = getattr(getattr(res, "circuit", None), "param_roles", None) or {}
    if "electrode" in roles.values():
        return math.nan
    return float(np.real(res.predict(np.array([1e-6]))[0]))


def make_geometry(area_cm2: float | None, thickness_cm: float | None) -> CellGeometry | None:
    """``CellGeometry`` from an area (cm²) and an optional thickness (cm); None without an area."""
    if not area_cm2:
        return None
    return CellGeometry(float(thickness_cm) if thickness_cm else None, float(area_cm2))


def asr_per_interface(r_ohm: float, area_cm2: float, symmetric: bool = True) -> float:
    """Area-specific resistance of one interface in Ω·cm²: R A/2 in a symmetric cell, R A otherwise."""
    return r_ohm * area_cm2 / (2.0 if symmetric else 1.0)


# derived key prefix → results.csv column stem (the rest of the column is the unit slug); one
# name per quantity, per interface or per cell as stated
_COLUMN_STEMS = {"ASR_": ("ASR_", "_per_interface"), "d_": ("thickness_", "")}
_UNIT_SLUGS = {
    "Ω": "ohm",
    "Ohm": "ohm",
    "Ω·cm²": "ohm_cm2",
    "Ohm cm2": "ohm_cm2",
    "S/cm": "S_per_cm",
    "F/cm2": "F_per_cm2",
    "F/cm²": "F_per_cm2",
    "nm": "nm",
    "F": "F",
    "Hz": "Hz",
    "s": "s",
}


@lru_cache(maxsize=1024)
def column_name(key: str, unit: str) -> str:
    """``results.csv`` column of derived quantity ``key`` (``ASR_int``: ``ASR_int_per_interface_ohm_cm2``).

    (Remembered: the rows of a batch ask for the same few dozen names ~35 times per spectrum.)
    """
    stem = key
    for prefix, (new, suffix) in _COLUMN_STEMS.items():
        if key.startswith(prefix):
            stem = f"{new}{key[len(prefix) :]}{suffix}"
            break
    if not unit:
        return stem
    slug = _UNIT_SLUGS.get(unit)
    if slug is None:
        import re

        plain = unit.replace("Ω", "ohm").replace("Ohm", "ohm").replace("µ", "u").replace("²", "2")
        slug = re.sub(r"[^A-Za-z0-9]+", "_", plain).strip("_")
    return f"{stem}_{slug}"


def _role_of(defn: CircuitDefinition, idx: int) -> str | None:
    name = defn.param_names[idx]
    return defn.param_roles.get(name)


def _suggest(c_table: float) -> str:
    best, dist = "bulk", math.inf
    for role, (lo, hi) in ISW_RANGES.items():
        d = 0.0 if lo <= c_table <= hi else min(abs(math.log10(c_table / lo)), abs(math.log10(c_table / hi)))
        if d < dist:
            best, dist = role, d
    return best


_Measured = tuple[
    str | None,
    str,
    str,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    Callable[[np.ndarray], float] | None,
]


def hn_apex_tau(tau: float, alpha: float, beta: float) -> float:
    """1/ω (s) at the apex (largest −Im Z) of a Havriliak–Negami arc R/(1 + (jωτ)^α)^β.

    ω_apex τ = [sin(πα/(2β + 2)) / sin(παβ/(2β + 2))]^(1/α) (the HN loss-peak
    frequency of dielectric spectroscopy, same function of ωτ): τ itself only
    for β = 1 (Zarc, R‖C); a skewed arc (β < 1) peaks above 1/(2πτ).

    Parameters
    ----------
    tau : float
        The HN time constant τ (s).
    alpha, beta : float
        The HN exponents, 0 < α ≤ 1 and 0 < β ≤ 1.

    Returns
    -------
    float
        1/ω_apex (s); the apex frequency is 1/(2π·this) Hz and C_eff = this/R (F).
    """
    k = np.pi * alpha / (2.0 * beta + 2.0)
    return tau * (np.sin(k * beta) / np.sin(k)) ** (1.0 / alpha)


def _measure_arc(
    defn: CircuitDefinition, p: dict[str, int], values: np.ndarray, propagate: Propagate
) -> _Measured:
    """An R‖C, R‖CPE, R‖τ or HN arc: role, name, formula, R, C_eff, apex f (with errors), τ, τ(v).

    τ is the apex's 1/ω and C_eff = τ/R (HN: τ at the apex, :func:`hn_apex_tau`)."""
    iR = p["R"]
    role = _role_of(defn, iR)
    if "C" in p:
        iC = p["C"]

        def tau_fn(v, iR=iR, iC=iC):
            return v[iR] * v[iC]

        formula = "RC"
    elif "Q" in p:
        iQ, iN = p["Q"], p["n"]

        def tau_fn(v, iR=iR, iQ=iQ, iN=iN):  # type: ignore[misc]
            return (v[iR] * v[iQ]) ** (1 / v[iN])

        formula = "Hsu-Mansfeld"
    elif "beta" in p:
        iT, iA, iB = p["tau"], p["n"], p["beta"]

        def tau_fn(v, iT=iT, iA=iA, iB=iB):  # type: ignore[misc]
            return hn_apex_tau(v[iT], v[iA], v[iB])

        formula = "HN apex"
    else:
        iT = p["tau"]

        def tau_fn(v, iT=iT):  # type: ignore[misc]
            return v[iT]

        formula = "tau/R"

    def c_fn(v, tau_fn=tau_fn, iR=iR):
        return tau_fn(v) / v[iR]

    def f_fn(v, tau_fn=tau_fn):
        return 1 / (2 * np.pi * tau_fn(v))

    R, R_err = propagate(lambda v, iR=iR: v[iR])  # type: ignore[misc]
    C, C_err = propagate(c_fn)
    f, f_err = propagate(f_fn)
    tau = tau_fn(values)
    name = role or defn.param_names[iR]
    return role, name, formula, R, R_err, C, C_err, f, f_err, tau, tau_fn


def _measure_spike(
    defn: CircuitDefinition, p: dict[str, int], propagate: Propagate, series_r_idx: list[int]
) -> _Measured:
    """A blocking spike (C, or CPE by Brug with R_e the sum of the series resistances)."""
    if "Q" in p:
        iQ, iN = p["Q"], p["n"]
        role = _role_of(defn, iQ)

        def c_fn(v, iQ=iQ, iN=iN):
            r_e = sum(v[i] for i in series_r_idx) if series_r_idx else 1.0
            return v[iQ] ** (1 / v[iN]) * r_e ** ((1 - v[iN]) / v[iN])

        formula = "Brug"
        name = role or defn.param_names[iQ]
    else:
        iC = p["C"]
        role = _role_of(defn, iC)

        def c_fn(v, iC=iC):  # type: ignore[misc]
            return v[iC]

        formula = "C"
        name = role or defn.param_names[iC]
    C, C_err = propagate(c_fn)
    return role, name, formula, math.nan, math.nan, C, C_err, math.nan, math.nan, math.nan, None


def _check_role(
    role: str | None, name: str, C: float, C_err: float, cell_const: float | None, warn: list[str]
) -> bool | None:
    """Whether C_eff fits the Irvine–Sinclair–West range of the role (None: not judged)."""
    role_ok = None
    # an arc whose capacitance is not identified (relative error > 100 %) cannot be judged
    if role in ISW_RANGES and np.isfinite(C) and C > 0 and np.isfinite(C_err) and C_err < C:
        lo, hi = ISW_RANGES[role]
        c_table = C * (cell_const if cell_const else 1.0)
        role_ok = bool(lo / _TOLERANCE <= c_table <= hi * _TOLERANCE)
        if not role_ok:
            scaled = (
                f" ({c_table:.3g} F·cm⁻¹ with L/A = {cell_const:.3g} cm⁻¹)"
                if cell_const
                else " (no geometry: cell constant taken as 1 cm⁻¹)"
            )
            warn.append(
                f"RoleMismatchWarning: arc {name!r} has C_eff = {C:.3g} F{scaled}, outside the "
                f"Irvine–Sinclair–West range of {role} ({lo:.0e}–{hi:.0e} F·cm⁻¹, ×10 tolerance); "
                f"its capacitance suggests {_suggest(c_table)}."
            )
    return role_ok


def effective_role(role: str | None, c_eff_f: float, cell_constant_per_cm: float | None) -> str | None:
    """The role the derived physics counts an arc under, from its effective capacitance.

    The circuit's ``role`` is kept unless it is a solid-electrolyte role (``"bulk"`` or
    ``"grain_boundary"``) and the fitted C_eff, scaled to the Irvine–Sinclair–West table by the
    cell constant l/A (taken as 1 cm⁻¹ without a thickness), exceeds :data:`REASSIGN_C_MIN_F`
    (ten times :data:`ELECTRODE_C_MIN_F`, so that only a clearly electrode-scale arc moves):
    such an arc is an electrode or interface process and becomes :data:`INTERFACIAL` (not in
    R_SE or σ; in the area-specific resistance). The value decides even when its error is large:
    an arc whose best estimate is electrode-scale is no solid-electrolyte arc to count in σ
    (the note then says that C_eff is poorly determined).

    Parameters
    ----------
    role : str or None
        Role of the arc in the circuit file (None for circuit strings: kept as None).
    c_eff_f : float
        Effective capacitance of the arc, F (NaN: the role is kept).
    cell_constant_per_cm : float or None
        Cell constant L/A, 1/cm (None: no thickness known, taken as 1 cm⁻¹).

    Returns
    -------
    str or None
        ``role`` or :data:`INTERFACIAL`.
    """
    if role not in _SE_ROLES or not (math.isfinite(c_eff_f) and c_eff_f > 0):
        return role
    c_table = c_eff_f * (cell_constant_per_cm if cell_constant_per_cm else 1.0)
    return INTERFACIAL if c_table > REASSIGN_C_MIN_F else role


def _reassigned_note(r_name: str, role: str, c_eff_f: float, c_err_f: float, cell_const: float | None) -> str:
    """Why an SE arc is counted as interfacial, for the scientist reading the results."""
    from ..units import si_scale

    factor, unit = si_scale(c_eff_f, "F")
    scaled = f" ({c_eff_f * cell_const:.3g} F·cm⁻¹ with l/A = {cell_const:.3g} cm⁻¹)" if cell_const else ""
    poorly = "" if math.isfinite(c_err_f) and c_err_f < c_eff_f else ", poorly determined (error > 100 %)"
    return (
        f"arc {r_name} (role {role} in the circuit) has C_eff {c_eff_f / factor:.3g} {unit}"
        f"{scaled}{poorly}, an electrode-scale capacitance (> {REASSIGN_C_MIN_F:.0e} F·cm⁻¹): counted "
        f"as interfacial (in the ASR), not in R_SE/σ; check the circuit roles"
    )


def _short_name(role: str, name: str) -> str:
    """Key stem of an arc's derived quantities: ``gb``, ``gb_2`` for a second grain-boundary arc."""
    short = SHORT.get(role, role)
    return f"{short}{name[len(role) :]}" if name != role else short


def _arcs(
    defn: CircuitDefinition,
    items,
    values: np.ndarray,
    propagate: Propagate,
    cell_const: float | None,
    derived: dict[str, Quantity],
    warn: list[str],
    reassigned: dict[int, str],
) -> list[Arc]:
    """Every arc and spike with its role check and effective role; C_eff, apex f and τ by role
    into ``derived``; ``reassigned`` gets R index → key stem of each arc counted as interfacial."""
    arcs: list[Arc] = []
    series_r_idx = _resistances(items)
    roles_seen: dict[str, int] = {}
    for it in items:
        if it.kind == "arc" and "sym" in it.params:
            continue  # a Gerischer arc: no capacitance sets its apex
        if it.kind == "arc":
            m = _measure_arc(defn, it.params, values, propagate)
        elif it.kind == "spike":
            m = _measure_spike(defn, it.params, propagate, series_r_idx)
        else:
            continue
        role, name, formula, R, R_err, C, C_err, f, f_err, tau, tau_fn = m
        if role in roles_seen:
            roles_seen[role] += 1
            name = f"{name}_{roles_seen[role]}"
        elif role:
            roles_seen[role] = 1
        checked: list[str] = []
        role_ok = _check_role(role, name, C, C_err, cell_const, checked)
        eff = effective_role(role, float(C), cell_const)
        note = ""
        if eff != role and role is not None:
            r_name = defn.param_names[it.params["R"]]
            note = _reassigned_note(r_name, role, float(C), float(C_err), cell_const)
            role_ok = False  # (judged even when C_eff is poorly determined)
            checked = [f"RoleMismatchWarning: {note}."]  # (replaces the generic mismatch text)
            reassigned[it.params["R"]] = _short_name(role, name)
        warn.extend(checked)
        arcs.append(
            Arc(
                name,
                role,
                float(R),
                float(R_err),
                float(C),
                float(C_err),
                float(f),
                float(tau),
                role_ok,
                float(f_err),
                formula,
                eff,
                note,
            )
        )
        if role:
            short = _short_name(role, name)
            derived[f"C_eff_{short}"] = Quantity(C, C_err, "F")
            if np.isfinite(f) and tau_fn is not None:
                derived[f"f_apex_{short}"] = Quantity(f, f_err, "Hz")
                v, e = propagate(tau_fn)
                derived[f"tau_{short}"] = Quantity(v, e, "s")
    return arcs


# finite-length diffusion elements: the −Z″ apex (first DRT peak) lies at τ·4/π² (as in reseed.py)
_FINITE = ("Ws", "Wo", "TLMQ")


def diffusion_apexes(defn: CircuitDefinition, values: np.ndarray) -> dict[str, tuple[str, float]]:
    """Apex frequency of every diffusion element: its resistance name → (symbol, f_apex in Hz).

    f_apex = 1/(2π τ_apex), with τ_apex = τ·4/π² for the finite-length elements (Ws, Wo, TLMQ,
    whose first DRT peak lies there) and τ = (R Q)^(1/n) for TLMQ; NaN when not finite.
    """
    out: dict[str, tuple[str, float]] = {}
    names = defn.param_names
    for it in _items(defn):
        p = it.params
        if it.kind != "diffusion" or "R" not in p:
            continue
        with np.errstate(all="ignore"):
            if "tau" in p:
                tau = float(values[p["tau"]])
            else:  # TLMQ: τ = (R Q)^(1/n)
                tau = float((values[p["R"]] * values[p["Q"]]) ** (1.0 / values[p["n"]]))
        apex_tau = tau * (4 / math.pi**2 if p.get("sym") in _FINITE else 1.0)
        ok = math.isfinite(apex_tau) and apex_tau > 0
        out[names[p["R"]]] = (str(p.get("sym")), 1.0 / (2 * math.pi * apex_tau) if ok else math.nan)
    return out


def diffusion_above_window(defn: CircuitDefinition, values: np.ndarray, f_max: float) -> list[str]:
    """Warnings for the diffusion elements whose apex lies above the highest fitted frequency.

    A finite-length Warburg relaxing above ``f_max`` (Hz) shows only its low-frequency limit in
    the window: a plain resistance R_W (Ws) or a capacitance τ/R_W (Wo). It is then no diffusion
    but a stand-in for something faster (the electrolyte resistance, a high-frequency arc): R_W
    trades against R_b, and the fit can put R_b on its lower bound with R_W holding the whole
    ohmic intercept. One ``RoleMismatchWarning`` per such element (empty list: none).
    """
    out = []
    for r_name, (sym, f_apex) in diffusion_apexes(defn, values).items():
        if not f_apex > f_max:
            continue
        acts = (
            "a series capacitance" if sym in ("Wo", "TLMQ") else f"a series resistance ({r_name} adds to R_b)"
        )
        out.append(
            f"RoleMismatchWarning: diffusion element {sym} ({r_name}) relaxes at {f_apex:.3g} Hz, above "
            f"the highest fitted frequency ({f_max:.3g} Hz): in this window it acts as {acts}, not as "
            "diffusion; fit a circuit without it or with a high-frequency arc instead."
        )
    return out


def _resistances_by_role(defn: CircuitDefinition, items, reassigned: dict[int, str]) -> dict[str, list[int]]:
    """Resistance indices by effective role (the circuit's, or :data:`INTERFACIAL`)."""
    r_by_role: dict[str, list[int]] = {}
    for it in items:
        if it.kind in ("R", "arc"):
            role = INTERFACIAL if it.params["R"] in reassigned else _role_of(defn, it.params["R"])
            if role:
                r_by_role.setdefault(role, []).append(it.params["R"])
    return r_by_role


def _conductivities(
    r_by_role: dict[str, list[int]],
    geometry: CellGeometry | None,
    arcs: list[Arc],
    quantity: Callable[..., Quantity],
    derived: dict[str, Quantity],
    circuit_roles: set[str],
) -> None:
    """R_SE, and with a thickness σ_b, σ_gb, σ_total and the bulk permittivity, into ``derived``.

    ``r_by_role`` is by effective role; a solid-electrolyte role of the circuit (in
    ``circuit_roles``) left without an arc gives NaN rather than a number from the wrong arcs."""
    se_idx = r_by_role.get("bulk", []) + r_by_role.get("grain_boundary", [])
    if se_idx:
        derived["R_SE"] = quantity(lambda v: sum(v[i] for i in se_idx), "Ohm")
    elif circuit_roles & set(_SE_ROLES):
        derived["R_SE"] = Quantity(math.nan, math.nan, "Ohm")
    if geometry is not None and geometry.thickness_cm is not None:
        L_cm, A = geometry.thickness_cm, geometry.area_cm2
        for role, key in (("bulk", "sigma_b"), ("grain_boundary", "sigma_gb")):
            idx = r_by_role.get(role)
            if idx:
                derived[key] = quantity(lambda v, idx=idx: L_cm / (A * sum(v[i] for i in idx)), "S/cm")
            elif role in circuit_roles:
                derived[key] = Quantity(math.nan, math.nan, "S/cm")
        if se_idx:
            derived["sigma_total"] = quantity(lambda v: L_cm / (A * sum(v[i] for i in se_idx)), "S/cm")
        elif circuit_roles & set(_SE_ROLES):
            derived["sigma_total"] = Quantity(math.nan, math.nan, "S/cm")
        bulk_c = [a for a in arcs if a.effective_role == "bulk" and a.formula == "RC"]
        if bulk_c:
            c = bulk_c[0]
            derived["eps_r_b"] = Quantity(
                c.C_eff * L_cm / (EPS0_F_PER_CM * A), c.C_eff_stderr * L_cm / (EPS0_F_PER_CM * A), ""
            )


def _interface_quantities(
    r_by_role: dict[str, list[int]],
    area: float,
    arcs: list[Arc],
    eps_r: float | None,
    symmetric: bool,
    quantity: Callable[..., Quantity],
    derived: dict[str, Quantity],
    reassigned: dict[int, str],
) -> None:
    """ASR per interface, capacitance per area and interlayer thickness d, into ``derived``.

    An arc counted as interfacial (``reassigned``: R index → key stem) gets its own
    ``ASR_<stem>`` and ``C_<stem>_per_area`` (``ASR_gb`` for an electrode-scale "grain boundary")."""
    factor = 2.0 if symmetric else 1.0
    for role in ("interlayer", "charge_transfer"):
        for i in r_by_role.get(role, []):
            short = SHORT[role]
            derived[f"ASR_{short}"] = quantity(
                lambda v, i=i: asr_per_interface(v[i], area, symmetric), "Ohm cm2"
            )
    for i, short in reassigned.items():
        derived[f"ASR_{short}"] = quantity(lambda v, i=i: asr_per_interface(v[i], area, symmetric), "Ohm cm2")
    for a in arcs:
        if a.effective_role == INTERFACIAL and a.role and np.isfinite(a.C_eff):
            short = _short_name(a.role, a.name)
            derived[f"C_{short}_per_area"] = Quantity(
                a.C_eff * factor / area, a.C_eff_stderr * factor / area, "F/cm2"
            )
    for a in arcs:
        if a.role in ("interlayer", "charge_transfer") and np.isfinite(a.C_eff):
            short = SHORT[a.role]
            derived[f"C_{short}_per_area"] = Quantity(
                a.C_eff * factor / area, a.C_eff_stderr * factor / area, "F/cm2"
            )
            if eps_r is not None and a.role == "interlayer":
                # d = ε0 εr A / C_1 (cm) → nm
                k = EPS0_F_PER_CM * eps_r * area / factor * 1e7
                derived[f"d_{short}"] = Quantity(k / a.C_eff, k * a.C_eff_stderr / a.C_eff**2, "nm")


def compute_physics(
    defn: CircuitDefinition,
    values: np.ndarray,
    propagate: Propagate,
    geometry: CellGeometry | None,
    area_cm2: float | None,
    eps_r: float | None,
    symmetric: bool,
) -> tuple[tuple[Arc, ...], dict[str, Quantity], list[str], dict[str, tuple[str, ...]]]:
    """Arcs, derived quantities, warnings and notes for fitted ``values`` (see module docstring).

    The last item is what the fit's ``meta`` gets when an arc is counted under another role than
    the circuit's (:func:`effective_role`; empty otherwise): ``physics_notes`` (in words, each
    also a warning; :data:`SE_NOT_IDENTIFIED` when no solid-electrolyte arc is left) and
    ``interfacial_resistances`` (the names of the resistances counted as interfacial, which the
    series leaves out of R_SE's parts).
    """
    items = _items(defn)
    derived: dict[str, Quantity] = {}
    warn: list[str] = []
    cell_const = geometry.cell_constant_per_cm if geometry else None

    def quantity(fn, unit) -> Quantity:
        v, e = propagate(fn)
        return Quantity(v, e, unit)

    reassigned: dict[int, str] = {}
    arcs = _arcs(defn, items, values, propagate, cell_const, derived, warn, reassigned)
    r_by_role = _resistances_by_role(defn, items, reassigned)
    circuit_roles = {r for r in (_role_of(defn, i) for i in _resistances(items)) if r}
    _conductivities(r_by_role, geometry, arcs, quantity, derived, circuit_roles)
    area = geometry.area_cm2 if geometry is not None else area_cm2
    if area:
        _interface_quantities(r_by_role, area, arcs, eps_r, symmetric, quantity, derived, reassigned)
    if not reassigned:
        return tuple(arcs), derived, warn, {}
    notes = [a.role_note for a in arcs if a.role_note]
    if not (r_by_role.get("bulk") or r_by_role.get("grain_boundary")):
        notes.append(SE_NOT_IDENTIFIED)
        warn.append(f"RoleMismatchWarning: {SE_NOT_IDENTIFIED}.")
    meta = {
        "physics_notes": tuple(notes),
        "interfacial_resistances": tuple(defn.param_names[i] for i in reassigned),
    }
    return tuple(arcs), derived, warn, meta


def interfacial_resistances(fit: object) -> tuple[str, ...]:
    """Names of the resistances of ``fit`` that :func:`compute_physics` counted as interfacial.

    Read from ``fit.meta["interfacial_resistances"]`` (empty when every arc kept its role, or for
    a result-like object without ``meta``), so that code building R_SE from parameter names
    (the series' sweep timing and flagged-split check) leaves the same resistances out.
    """
    meta = getattr(fit, "meta", None) or {}
    return tuple(meta.get("interfacial_resistances") or ())


def _resistances(items) -> list[int]:
    """Indices of every resistance of a plain resistor or an arc."""
    return [it.params["R"] for it in items if it.kind in ("R", "arc")]
