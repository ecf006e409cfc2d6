"""Parameter bounds scaled to the spectrum, and advice when a fit ends on a bound.

The library circuits' TOML bounds were written for solid-electrolyte cells of tens to thousands
of Ω measured from MHz to 0.1 Hz. :func:`data_bounds` moves them with the spectrum at hand: a
0.2 Ω cell gets resistance bounds ×1/1000 and capacitance bounds ×1000 (F-scale capacitances),
a 1 MΩ pellet the reverse, a window centred far from 837 Hz shifts the time constants; every
resistance is capped at 10³·max|Z| (an arc far larger than the largest measured impedance is not
an arc of these data: the probe below says so). Spectra within ×10 of the library's reference
keep the TOML ranges (apart from that cap). Inductance and exponents keep the TOML range, a
physical envelope (L ≤ 10⁻⁴ H: more is a high-frequency artefact; n ≤ 1).

A circuit file that is not part of the library keeps its bounds: they are the user's.

:func:`bound_advice` words the outcome of the unbounded probe that :func:`eisna.fit` runs when a
parameter ends on a bound.
"""

from __future__ import annotations

import math

import numpy as np

from ..circuit.library import CircuitDefinition
from .start import _items

__all__ = ["bound_advice", "data_bounds"]

_R_CAP = 1e3  # resistances at most this × max|Z|
_DEAD_ZONE = 10.0  # impedance-level or frequency ratios within ×/÷ this keep the TOML's ranges
_F_REF = math.sqrt(7e6 * 0.1)  # geometric centre (Hz) of the window the library bounds were made for


def _level_ratio(defn: CircuitDefinition, mod: np.ndarray) -> float:
    """Reference impedance of the circuit file (the sum of its default resistances, Ω) over the
    spectrum's typical impedance (geometric mean of the |Z| range)."""
    names = defn.param_names
    r_ref = sum(
        float(defn.defaults[names[i]].value)
        for it in _items(defn)
        for key, i in it.params.items()
        if key == "R" and isinstance(i, (int, np.integer))
    )
    z_typ = math.sqrt(float(mod.min()) * float(mod.max()))
    return r_ref / z_typ if r_ref > 0 and z_typ > 0 else 1.0


def data_bounds(defn: CircuitDefinition, freq: np.ndarray, z: np.ndarray) -> dict[str, tuple[float, float]]:
    """Bounds (min, max) by parameter name for fitting ``defn`` to this spectrum.

    For a library circuit the TOML bounds are rescaled when the spectrum's impedance level
    (geometric mean of the |Z| range) lies more than ×10 from the circuit's reference (the sum
    of its default resistances), or its frequency window's centre more than ×10 from the
    7 MHz–0.1 Hz window the library was made for: resistances by 1/s, capacitances and CPE
    magnitudes by s·s_f, time constants by s_f (s = reference/level, s_f = 837 Hz/centre).
    Resistances are in any case capped at 10³·max|Z| (rounded up to a decade). Inductance and
    exponents keep the TOML range. Other circuits keep their own bounds.

    Parameters
    ----------
    defn : CircuitDefinition
        The circuit; only library circuits (``from_library``) are rescaled.
    freq : ndarray
        Frequencies (Hz).
    z : ndarray
        Impedance (Ω).

    Returns
    -------
    dict
        Name → (min, max) in the parameter's units (Ω, F, F·s^(n−1), s, H).
    """
    names = defn.param_names
    out = {n: (float(defn.defaults[n].min), float(defn.defaults[n].max)) for n in names}
    mod = np.abs(np.asarray(z))
    mod = mod[np.isfinite(mod) & (mod > 0)]
    f = np.asarray(freq, dtype=float)
    f = f[np.isfinite(f) & (f > 0)]
    if not defn.from_library or mod.size == 0 or f.size == 0:
        return out
    s = _level_ratio(defn, mod)
    s = s if not 1 / _DEAD_ZONE <= s <= _DEAD_ZONE else 1.0
    s_f = _F_REF / math.sqrt(float(f.min()) * float(f.max()))
    s_f = s_f if not 1 / _DEAD_ZONE <= s_f <= _DEAD_ZONE else 1.0
    # rounded up to a decade: similar spectra share bounds
    r_cap = 10.0 ** math.ceil(math.log10(_R_CAP * float(mod.max())))

    def scale(name: str, k: float) -> None:
        lo, hi = out[name]
        out[name] = (lo * k, hi * k)

    for it in _items(defn):
        p = {key: names[i] for key, i in it.params.items() if isinstance(i, (int, np.integer))}
        if "R" in p:
            scale(p["R"], 1 / s)
            lo, hi = out[p["R"]]
            out[p["R"]] = (lo, max(min(hi, r_cap), 10 * lo))
        for key in ("C", "Q"):
            if key in p:
                scale(p[key], s * s_f)
        if "tau" in p:
            scale(p["tau"], s_f)
    return out


def _fmt(value: float, unit: str) -> str:
    return f"{value:.3g} {unit}".strip()


def bound_advice(name: str, kind: str, side: str, bound: float, optimum: float | None, unit: str) -> str:
    """One sentence for a parameter on a bound, from the unbounded probe.

    Parameters
    ----------
    name : str
        Parameter name (``"L"``, ``"R_ct"``).
    kind : str
        ``"L"``, ``"R"``, ``"C"``, ``"Q"``, ``"n"``, ``"tau"`` or ``""``.
    side : {"lower", "upper"}
    bound : float
        The bound it sits on.
    optimum : float or None
        Where the data alone put it (None: the probe found no lower χ² beyond the bound).
    unit : str
        Unit for the numbers.
    """
    where = f"{name} at its {side} bound {_fmt(bound, unit)}"
    if optimum is None:
        return (
            f"{where}; the data do not pull it further (the element is not needed, or not "
            f"determined, at this value: fix it or use a simpler circuit)."
        )
    beyond = f"{where}; the data alone would put it at {_fmt(optimum, unit)}"
    up = side == "upper"
    if kind == "L":
        why = (
            "a high-frequency artefact: cut fmax or add the lead inductance"
            if up
            else "less inductance than the model allows: the element is superfluous here"
        )
    elif kind == "R":
        why = (
            "the arc does not close inside the window: lower fmin, or use a blocking element "
            "(CPE) instead of R‖CPE"
            if up
            else "the element is superfluous: use a circuit without it"
        )
    elif kind in ("C", "Q"):
        why = (
            "the relaxation lies below the measured window: lower fmin or drop the element"
            if up
            else "the relaxation lies above the measured window: the element acts as a plain "
            "resistance; hold its capacitance or merge it into the series resistance"
        )
    elif kind == "n":
        why = (
            "an exponent above 1, which a CPE cannot have: use a capacitor, or check the high-frequency data"
            if up
            else "a very depressed element: it may hide two processes"
        )
    elif kind == "tau":
        why = (
            "the diffusion lies below the measured window: lower fmin"
            if up
            else "the diffusion lies above the window: the element is superfluous"
        )
    else:
        why = "widen the bound if that value is physical, or use a simpler circuit"
    return f"{beyond} ({why})."
