"""Synthetic spectra with known parameters, for known-answer tests and benchmarks.

Two draw priors:

* :func:`random_parameters` (the *wide* prior, used by the speed benchmark): every arc's apex
  lies inside the frequency window and neighbouring relaxations are about 1.5 decades apart
  (``APEX_BANDS``), R 20–200 Ω each. Many of these draws do not determine every R to 1 %.
* :func:`known_answer_parameters` (issue 3's known-answer prior, one :class:`KnownAnswerPrior`
  per library circuit in ``KNOWN_ANSWER_PRIORS``): dispersive arcs ≥ 1.8 decades apart well
  inside the window (≥ 1.4 from a near-ideal bulk arc), R bands a factor ~3 wide, the blocking
  spike's corner and the Warburg's first DRT peak ≥ 1.9 decades below the last arc, and
  capacitances in the Irvine–Sinclair–West range of each role. :func:`identifiable_parameters`
  then accepts a draw only if the Cramér–Rao bound (:func:`cramer_rao_sd`) of the data at the
  truth allows every R to 1 % and every n to 0.01 at 3σ and 0.2 % noise — a property of the
  truth and the frequency grid, never of a fit.

Each arc is drawn as (R, apex frequency, n) and converted to (R, Q, n) with Q = τ^n/R,
τ = 1/(2π f_apex).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..circuit.library import CircuitDefinition
from ..errors import EisnaError
from ..spectrum import Spectrum
from .start import _items

__all__ = [
    "APEX_BANDS",
    "FREQ_CELL",
    "FREQ_CELL_WIDE",
    "FREQ_PELLET",
    "KNOWN_ANSWER_PRIORS",
    "KnownAnswerPrior",
    "cramer_rao_sd",
    "identifiable_parameters",
    "is_identifiable",
    "known_answer_parameters",
    "noisy_spectrum",
    "random_parameters",
]

FREQ_CELL = np.geomspace(7e6, 0.1, 80)
FREQ_PELLET = np.geomspace(7e6, 1.0, 70)
# cells for the known-answer prior: 10 MHz–10 mHz, 20 points/decade (the finite Warburg's low-f end
# needs the decade below 0.1 Hz; 10 MHz is the top of SP-300/Solartron-class analysers; 20/decade
# is what separates four dispersive arcs plus a Warburg to 1 % at 0.2 % noise)
FREQ_CELL_WIDE = np.geomspace(1e7, 1e-2, 181)
# log10 of apex-frequency bands, in order of the arcs in the circuit (high to low frequency)
APEX_BANDS = {
    4: [(6.15, 6.45), (4.75, 5.05), (3.35, 3.65), (1.95, 2.25)],
    3: [(6.0, 6.4), (4.3, 4.7), (2.4, 2.8)],
    2: [(5.5, 6.0), (3.6, 4.1)],
    1: [(2.0, 3.0)],
}
N_BANDS = {
    "bulk": (0.9, 1.0),
    "grain_boundary": (0.85, 0.98),
    "interlayer": (0.85, 0.98),
    "charge_transfer": (0.85, 0.98),
    "electrode": (0.8, 0.95),
}


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


def noisy_spectrum(
    defn: CircuitDefinition,
    values: dict[str, float],
    freq: np.ndarray,
    noise: float,
    rng: np.random.Generator,
) -> Spectrum:
    """Spectrum of the circuit plus Gaussian noise of relative size ``noise`` on Z' and Z''."""
    z = defn.circuit.impedance(freq, values)
    z = z + noise * np.abs(z) * (rng.normal(size=z.size) + 1j * rng.normal(size=z.size))
    return Spectrum(freq, z, meta={"source": f"synthetic:{defn.name}"})


@dataclass(frozen=True)
class KnownAnswerPrior:
    """Draw prior of one library circuit for the known-answer sweep (all bands log10, uniform).

    Attributes
    ----------
    grid : str
        ``"pellet"`` (``FREQ_PELLET``, 7 MHz–1 Hz, 70 points) or ``"cell"`` (``FREQ_CELL_WIDE``).
    apex : tuple of (float, float)
        Apex-frequency bands (log10 Hz) of the arcs, high to low frequency.
    R : (float, float)
        Band of every resistance (log10 Ω): arcs, series R and Warburg R ...
    R_role : tuple of (str, (float, float))
        ... unless its role (``"interlayer"``, ``"diffusion"``, ...) has its own band here.
    n : (float, float)
        Exponent band of the CPE arcs (a bulk R‖CPE uses ``n_bulk``).
    spike_corner : (float, float)
        Blocking spike: band (log10 Hz) of f_c = 1/(2π (R_s Q_el)^(1/n_el)), R_s = all series R,
        i.e. where the spike meets the last arc.
    warburg_peak : (float, float)
        Finite Warburg: band (log10 Hz) of its first DRT peak π/(8 τ_W).
    """

    grid: str
    apex: tuple[tuple[float, float], ...] = ()
    R: tuple[float, float] = (1.5, 2.0)
    R_role: tuple[tuple[str, tuple[float, float]], ...] = ()
    n: tuple[float, float] = (0.85, 0.98)
    n_bulk: tuple[float, float] = (0.9, 1.0)
    spike_corner: tuple[float, float] = (1.5, 2.0)
    n_el: tuple[float, float] = (0.85, 0.95)
    warburg_peak: tuple[float, float] = (-1.0, -0.7)

    @property
    def freq(self) -> np.ndarray:
        """Frequency grid (Hz) of the sweep."""
        return FREQ_PELLET if self.grid == "pellet" else FREQ_CELL_WIDE

    def r_band(self, role: str | None) -> tuple[float, float]:
        """Band (log10 Ω) of a resistance with this role."""
        return dict(self.R_role).get(role or "", self.R)


# Capacitances are kept in the Irvine–Sinclair–West ranges of their roles (cell constant ~1 cm⁻¹):
# a bulk arc inside a ≤ 10 MHz window needs C_b ~ 10 pF with R_b of kΩ (a slow or cold electrolyte),
# so the circuits with a visible bulk arc draw kΩ resistances; the merged/simple circuits model a
# fast sulfide (NAS-like, tens of Ω) whose bulk and gb arcs lie above the window.
_PELLET_ARCS = ((5.8, 6.2), (3.9, 4.3))  # bulk ~1 MHz (C_b 10–80 pF), grain boundary ~10 kHz (~3 nF)
KNOWN_ANSWER_PRIORS = {
    "pellet_blocking": KnownAnswerPrior("pellet", _PELLET_ARCS, R=(3.5, 4.0)),
    "pellet_blocking_cpe": KnownAnswerPrior("pellet", _PELLET_ARCS, R=(3.5, 4.0)),
    # blocking spike: C_el = τ_c/R_s ~ 0.5–20 µF (Brug)
    "pellet_merged": KnownAnswerPrior("pellet", spike_corner=(2.5, 4.0)),
    # NAS-like: R_SE 30–100 Ω, charge transfer 100–300 Hz (C ~ 5–50 µF), τ_W 1–4 s
    "symmetric_simple": KnownAnswerPrior("cell", ((2.0, 2.5),), warburg_peak=(-1.0, -0.4)),
    # bulk 1.6–3 MHz (C_b 5–30 pF), gb 10–20 kHz (~2 nF), charge transfer 50–100 Hz (~0.5 µF), τ_W 2–4 s
    "symmetric_cell": KnownAnswerPrior("cell", ((6.2, 6.5), (4.0, 4.3), (1.7, 2.0)), R=(3.5, 4.0)),
    # the window circuits of the series fallback: symmetric_cell without the Warburg, and with the
    # bulk arc above the window as well (same bands)
    "symmetric_cell_nodiff": KnownAnswerPrior("cell", ((6.2, 6.5), (4.0, 4.3), (1.7, 2.0)), R=(3.5, 4.0)),
    "symmetric_two_arcs": KnownAnswerPrior("cell", ((4.0, 4.3), (1.7, 2.0)), R=(3.5, 4.0)),
    # bulk 4–6 MHz (C_b 5–20 pF), gb 100–160 kHz (~0.4 nF), interlayer 1–1.6 kHz (~10 nF), charge
    # transfer 10–16 Hz (~1 µF), τ_W 5–8 s; a grown interlayer: R_int, R_ct, R_W 8–16 kΩ against
    # R_b, R_gb 2.5–5 kΩ (cf. NAS at 24 h: 180/40/12 vs 42/21 Ω). With all R in one band, or at
    # 10 points/decade, < 5 % of draws are identifiable.
    "symmetric_interlayer": KnownAnswerPrior(
        "cell",
        ((6.6, 6.8), (5.0, 5.2), (3.0, 3.2), (1.0, 1.2)),
        R=(3.4, 3.7),
        R_role=(("interlayer", (3.9, 4.2)), ("charge_transfer", (3.9, 4.2)), ("diffusion", (3.9, 4.2))),
        warburg_peak=(-1.3, -1.1),
    ),
}


def known_answer_parameters(
    defn: CircuitDefinition, rng: np.random.Generator, prior: KnownAnswerPrior | None = None
) -> dict[str, float]:
    """One raw draw of the known-answer prior (``KNOWN_ANSWER_PRIORS[defn.name]`` by default)."""
    prior = prior or KNOWN_ANSWER_PRIORS[defn.name]
    items = _items(defn)
    names = defn.param_names
    v: dict[str, float] = {}
    arcs = [it for it in items if it.kind == "arc"]

    def draw_r(it) -> float:
        return 10 ** rng.uniform(*prior.r_band(defn.param_roles.get(names[it.params["R"]])))

    for it in items:
        p = it.params
        if it.kind == "L":
            v[names[p["L"]]] = 10 ** rng.uniform(-7.5, -6.5)
        elif it.kind == "R":
            v[names[p["R"]]] = draw_r(it)
    for it, (lo, hi) in zip(arcs, prior.apex, strict=True):
        p = it.params
        R = draw_r(it)
        tau = 1 / (2 * np.pi * 10 ** rng.uniform(lo, hi))
        v[names[p["R"]]] = R
        if "C" in p:
            v[names[p["C"]]] = tau / R
        else:
            bulk = defn.param_roles.get(names[p["R"]]) == "bulk"
            n = rng.uniform(*(prior.n_bulk if bulk else prior.n))
            v[names[p["n"]]] = n
            v[names[p["Q"]]] = tau**n / R
    series_r = sum(val for key, val in v.items() if key.startswith("R"))
    for it in items:
        p = it.params
        if it.kind == "diffusion":
            v[names[p["R"]]] = draw_r(it)
            v[names[p["tau"]]] = np.pi / (8 * 10 ** rng.uniform(*prior.warburg_peak))
        elif it.kind == "spike":
            n = rng.uniform(*prior.n_el)
            tau = 1 / (2 * np.pi * 10 ** rng.uniform(*prior.spike_corner))
            v[names[p["n"]]] = n
            v[names[p["Q"]]] = tau**n / series_r
    return {n: v[n] for n in names}


def cramer_rao_sd(
    defn: CircuitDefinition,
    values: dict[str, float],
    freq: np.ndarray,
    noise: float,
    weighting: str = "modulus",
) -> dict[str, float]:
    """Cramér–Rao standard deviations of the free parameters at ``values``.

    For Gaussian noise of relative size ``noise`` on Z' and Z'' (as :func:`noisy_spectrum` adds)
    and the fit's weighting. Parameters fitted on a log scale get the *relative* deviation
    σ_v/v, linear ones (exponents n) the absolute σ.
    """
    from .engine import _Problem
    from .weights import weights

    freq = np.asarray(freq, dtype=float)
    z = defn.circuit.impedance(freq, values)
    prob = _Problem(defn, freq, z, *weights(z, weighting), {})
    x = prob.to_x(np.array([values[n] for n in defn.param_names]))
    jac = prob.jacobian(x)
    sd = np.sqrt(np.abs(np.diag(np.linalg.pinv(jac.T @ jac)))) * noise
    sd = np.where(prob.is_log, sd * np.log(10.0), sd)
    return {defn.param_names[i]: float(s) for i, s in zip(prob.free_idx, sd, strict=True)}


def is_identifiable(sd: dict[str, float], r_tol: float, n_tol: float) -> bool:
    """True when every R's 3σ is within ``r_tol`` (relative) and every n's within ``n_tol``."""
    return all(
        3 * s <= (r_tol if name.startswith("R") else n_tol)
        for name, s in sd.items()
        if name.startswith(("R", "n_"))
    )


def identifiable_parameters(
    defn: CircuitDefinition,
    rng: np.random.Generator,
    noise: float = 0.002,
    r_tol: float = 0.01,
    n_tol: float = 0.01,
    max_tries: int = 10_000,
) -> tuple[dict[str, float], int]:
    """A known-answer draw whose data determine every R to ``r_tol`` and n to ``n_tol`` (3σ).

    Draws :func:`known_answer_parameters` until :func:`cramer_rao_sd` at ``noise`` on the prior's
    grid passes (an acceptance filter on the truth, independent of any fit). Returns the values
    and the number of raw draws it took (1/acceptance on average).
    """
    freq = KNOWN_ANSWER_PRIORS[defn.name].freq
    for tries in range(1, max_tries + 1):
        values = known_answer_parameters(defn, rng)
        if is_identifiable(cramer_rao_sd(defn, values, freq, noise), r_tol, n_tol):
            return values, tries
    raise EisnaError(
        f"identifiable_parameters: no draw of {defn.name!r} passed the Cramér–Rao filter "
        f"(R to {r_tol:g}, n to {n_tol:g} at 3σ, noise {noise:g}) in {max_tries} tries; "
        f"loosen the tolerances or widen the prior's band separations."
    )
