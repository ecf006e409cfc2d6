"""Synthetic spectra with known parameters, for known-answer tests and benchmarks.

Draws are random but identifiable: every arc's apex lies inside the frequency window and
neighbouring relaxations are about 1.5 decades apart (see ``APEX_BANDS``). Each arc is drawn
as (R, apex frequency, n) and converted to (R, Q, n) with Q = τ^n/R, τ = 1/(2π f_apex).
"""

from __future__ import annotations

import numpy as np

from ..circuit.library import CircuitDefinition
from ..spectrum import Spectrum
from .start import _items

__all__ = ["APEX_BANDS", "FREQ_CELL", "FREQ_PELLET", "noisy_spectrum", "random_parameters"]

FREQ_CELL = np.geomspace(7e6, 0.1, 80)
FREQ_PELLET = np.geomspace(7e6, 1.0, 70)
# log10 of apex-frequency bands, in order of the arcs in the circuit (high to low frequency)
APEX_BANDS = {
    4: [(6.15, 6.45), (4.75, 5.05), (3.35, 3.65), (1.95, 2.25)],
    3: [(6.0, 6.4), (4.3, 4.7), (2.4, 2.8)],
    2: [(5.5, 6.0), (3.6, 4.1)],
    1: [(2.0, 3.0)],
}
N_BANDS = {"bulk": (0.9, 1.0), "grain_boundary": (0.85, 0.98), "interlayer": (0.85, 0.98),
           "charge_transfer": (0.85, 0.98), "electrode": (0.8, 0.95)}


def random_parameters(defn: CircuitDefinition, rng: np.random.Generator) -> dict[str, float]:
    """Random, identifiable parameter values for a library circuit (see module docstring)."""
    items = _items(defn)
    names = defn.param_names
    v: dict[str, float] = {}
    arcs = [it for it in items if it.kind == "arc"]
    bands = APEX_BANDS.get(len(arcs), [])
    for it in items:
        p = it.params
        if it.kind == "L":
            v[names[p["L"]]] = 10 ** rng.uniform(-7.5, -6.5)
        elif it.kind == "R":
            v[names[p["R"]]] = 10 ** rng.uniform(1.3, 2.7)
        elif it.kind == "diffusion":
            v[names[p["R"]]] = 10 ** rng.uniform(1.3, 1.7)
            v[names[p["tau"]]] = 10 ** rng.uniform(-1.0, -0.6)
        elif it.kind == "spike":
            n = rng.uniform(0.8, 0.95)
            v[names[p["n"]]] = n
            v[names[p["Q"]]] = 10 ** rng.uniform(-6.5, -5.0)
    for it, (lo, hi) in zip(arcs, bands, strict=True):
        p = it.params
        R = 10 ** rng.uniform(1.3, 2.3)
        tau = 1 / (2 * np.pi * 10 ** rng.uniform(lo, hi))
        v[names[p["R"]]] = R
        if "C" in p:
            v[names[p["C"]]] = tau / R
        else:
            role = defn.param_roles.get(names[p["R"]], "grain_boundary")
            n = rng.uniform(*N_BANDS.get(role, (0.8, 0.95)))
            v[names[p["n"]]] = n
            v[names[p["Q"]]] = tau**n / R
    return {n: v[n] for n in names}


def noisy_spectrum(defn: CircuitDefinition, values: dict[str, float], freq: np.ndarray, noise: float,
                   rng: np.random.Generator) -> Spectrum:
    """Spectrum of the circuit plus Gaussian noise of relative size ``noise`` on Z' and Z''."""
    z = defn.circuit.impedance(freq, values)
    z = z + noise * np.abs(z) * (rng.normal(size=z.size) + 1j * rng.normal(size=z.size))
    return Spectrum(freq, z, meta={"source": f"synthetic:{defn.name}"})
