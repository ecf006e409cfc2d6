"""Arrhenius analysis of pellet conductivities measured at several temperatures.

The form used is the hopping form **σT = A·exp(−Ea / k_B T)**: ln(σT) is fitted as a straight
line in 1/T by weighted least squares, Ea = −k_B × slope (eV). The alternative form
σ = A′·exp(−Ea′/k_B T) gives Ea′ ≈ Ea − k_B T̄ (about 0.026 eV lower near room temperature), so
the form is always stated with the result.

Conductivities from the fitted resistances, pellet thickness L (cm) and electrode area A (cm²):

* bulk  σ_b = L / (R_b A)
* grain boundary (macroscopic, brick-layer "apparent") σ_gb = L / (R_gb A)
* total σ_total = L / ((R_b + R_gb) A)

When the bulk arc lies above the frequency window R_b is the high-frequency intercept and
"bulk" is only as good as that separation; the total conductivity is always well defined but
mixes two activation energies, so its Arrhenius line is slightly curved.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import EisnaError, RoleMismatchWarning

__all__ = ["K_B_EV", "ArrheniusFit", "ArrheniusResult", "arrhenius", "temperature_from_text"]

K_B_EV = 8.617333262e-5  # Boltzmann constant, eV/K
FORM = "sigma*T = A*exp(-Ea/(k_B*T))"
T_25C = 298.15  # K, the temperature σ is quoted at


class ArrheniusError(EisnaError, ValueError):
    """The inputs of :func:`arrhenius` are inconsistent or insufficient."""


@dataclass(frozen=True)
class ArrheniusFit:
    """One conductivity kind fitted with σT = A·exp(−Ea/k_B T).

    Attributes
    ----------
    kind : str
        ``"bulk"``, ``"grain_boundary"`` or ``"total"``.
    T_K : ndarray
        Temperatures in K.
    sigma_S_cm, sigma_stderr_S_cm : ndarray
        Conductivities and their 1σ errors in S/cm.
    Ea_eV, Ea_stderr : float
        Activation energy and its 1σ error in eV.
    ln_A, ln_A_stderr : float
        ln of the prefactor A in S·K/cm.
    r_squared : float
        Coefficient of determination of the straight line.
    sigma_25C_S_cm : float
        Conductivity of the fitted line at 25 °C (S/cm); an extrapolation when 25 °C lies outside
        the measured temperatures (:attr:`sigma_25C_extrapolated`).
    """

    kind: str
    T_K: np.ndarray = field(repr=False)
    sigma_S_cm: np.ndarray = field(repr=False)
    sigma_stderr_S_cm: np.ndarray = field(repr=False)
    Ea_eV: float
    Ea_stderr: float
    ln_A: float
    ln_A_stderr: float
    r_squared: float
    sigma_25C_S_cm: float
    form: str = FORM

    @property
    def A(self) -> float:
        """Prefactor A in S·K/cm."""
        return math.exp(self.ln_A)

    @property
    def sigma_25C_extrapolated(self) -> bool:
        """True when 25 °C lies outside the measured temperatures: σ(25 °C) is then read off the
        line beyond the data (a change of mechanism or phase would not show)."""
        T = np.asarray(self.T_K, dtype=float)
        return bool(T.size) and not float(T.min()) <= T_25C <= float(T.max())

    def sigma_25C_text(self) -> str:
        """σ(25 °C) in S/cm as text, with the measured range when it is an extrapolation."""
        text = f"{self.sigma_25C_S_cm:.3g} S/cm"
        if self.sigma_25C_extrapolated:
            T = np.asarray(self.T_K, dtype=float) - 273.15
            text += f" (extrapolated from {T.min():.0f}–{T.max():.0f} °C)"
        return text

    def predict(self, T_K: Any) -> np.ndarray:
        """σ (S/cm) of the fitted line at temperatures ``T_K``."""
        T = np.asarray(T_K, dtype=float)
        return np.exp(self.ln_A - self.Ea_eV / (K_B_EV * T)) / T

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "form": self.form,
            "Ea_eV": self.Ea_eV,
            "Ea_stderr_eV": self.Ea_stderr,
            "Ea_kJ_per_mol": self.Ea_eV * 96.485,
            "ln_A": self.ln_A,
            "ln_A_stderr": self.ln_A_stderr,
            "A_S_K_per_cm": self.A,
            "r_squared": self.r_squared,
            "sigma_25C_S_per_cm": self.sigma_25C_S_cm,
            "sigma_25C_extrapolated": self.sigma_25C_extrapolated,
            "T_K": self.T_K.tolist(),
            "sigma_S_per_cm": self.sigma_S_cm.tolist(),
            "sigma_stderr_S_per_cm": self.sigma_stderr_S_cm.tolist(),
        }


@dataclass(frozen=True)
class ArrheniusResult:
    """Arrhenius fits of bulk, grain-boundary and total conductivity.

    Attributes
    ----------
    form : str
        ``"sigma*T = A*exp(-Ea/(k_B*T))"``.
    fits : dict
        Kind → :class:`ArrheniusFit` (only the kinds the circuit resolves).
    thickness_cm, area_cm2 : float
        Geometry used.
    """

    form: str
    fits: dict[str, ArrheniusFit]
    thickness_cm: float
    area_cm2: float
    sources: tuple[str, ...] = ()

    @property
    def T_K(self) -> np.ndarray:
        return next(iter(self.fits.values())).T_K

    def __getitem__(self, kind: str) -> ArrheniusFit:
        return self.fits[kind]

    def to_dict(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "thickness_cm": self.thickness_cm,
            "area_cm2": self.area_cm2,
            "sources": list(self.sources),
            "fits": {k: f.to_dict() for k, f in self.fits.items()},
        }


def temperature_from_text(text: str) -> float | None:
    """Temperature in K named in a comment or file name (``"T = 25 °C"``, ``pellet_105C``,
    ``s04147-140deg``, ``373K``)."""
    m = re.search(r"\(\s*(\d+(?:\.\d+)?)\s*K\s*\)", text)
    if m:
        return float(m.group(1))
    m = re.search(r"T\s*=\s*(-?\d+(?:\.\d+)?)\s*(°\s*C|degC|C|K)\b", text)
    if m:
        value = float(m.group(1))
        return value if m.group(2) == "K" else value + 273.15
    # "deg"/"degrees" after a number in a name mean °C (``s04147-140deg``, ``pellet_25degrees``)
    m = re.search(r"(?:^|[_\-\s])(-?\d+(?:\.\d+)?)\s*(?:°\s*C|degC|degrees|deg|C)(?:\b|_|$)", text)
    if m:
        return float(m.group(1)) + 273.15
    m = re.search(r"(?:^|[_\-\s])(\d+(?:\.\d+)?)\s*K(?:\b|_|$)", text)
    if m:
        return float(m.group(1))
    return None


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _fit_line(kind: str, T: np.ndarray, sigma: np.ndarray, sigma_err: np.ndarray) -> ArrheniusFit:
    x = 1.0 / T
    y = np.log(sigma * T)
    rel = np.where(np.isfinite(sigma_err) & (sigma_err > 0), sigma_err / sigma, np.nan)
    w = 1.0 / rel if np.all(np.isfinite(rel)) else np.ones_like(x)
    X = np.column_stack([np.ones_like(x), x])
    Xw, yw = X * w[:, None], y * w
    coef, *_ = np.linalg.lstsq(Xw, yw, rcond=None)
    resid = yw - Xw @ coef
    dof = x.size - 2
    cov = np.linalg.pinv(Xw.T @ Xw)
    cov = cov * max(float(resid @ resid) / dof, 1e-300) if dof > 0 else np.full((2, 2), np.nan)
    yhat = X @ coef
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - yhat) ** 2)) / ss_tot if ss_tot > 0 else math.nan
    sigma25 = math.exp(coef[0] + coef[1] / T_25C) / T_25C
    return ArrheniusFit(
        kind=kind,
        T_K=T,
        sigma_S_cm=sigma,
        sigma_stderr_S_cm=sigma_err,
        Ea_eV=float(-coef[1] * K_B_EV),
        Ea_stderr=float(math.sqrt(cov[1, 1]) * K_B_EV) if np.isfinite(cov[1, 1]) else math.nan,
        ln_A=float(coef[0]),
        ln_A_stderr=float(math.sqrt(cov[0, 0])) if np.isfinite(cov[0, 0]) else math.nan,
        r_squared=r2,
        sigma_25C_S_cm=sigma25,
    )


def arrhenius(
    results: Sequence[Any] | Any,
    thickness_cm: float,
    area_cm2: float,
    *,
    temperatures_K: Sequence[float] | None = None,
    bulk: str = "R_b",
    grain_boundary: str = "R_gb",
) -> ArrheniusResult:
    """Fit σT = A·exp(−Ea/k_B T) to bulk, grain-boundary and total conductivity.

    Parameters
    ----------
    results : sequence of FitResult, or SeriesResult
        One fit per temperature (failed fits are skipped). Each needs ``R_b`` (and ``R_gb``
        for the grain-boundary and total lines) in ``params``, with ``stderr`` for weights.
        A resistance the fit's physics counted as interfacial (``meta["interfacial_resistances"]``:
        its arc has an electrode-scale C_eff) is not the electrolyte's: a fit whose ``R_b`` is
        one is left out, one whose ``R_gb`` is one gives no grain-boundary or total line (each
        with a :class:`~eisna.errors.RoleMismatchWarning`).
    thickness_cm : float
        Pellet thickness L in cm.
    area_cm2 : float
        Electrode area A in cm².
    temperatures_K : sequence of float, optional
        Temperature of each fit in K. Default: ``meta["temperature_K"]`` of each result.
    bulk, grain_boundary : str
        Parameter names of the two resistances.

    Returns
    -------
    ArrheniusResult
        ``fits["bulk"]``, ``fits["grain_boundary"]`` and ``fits["total"]`` (the last two only
        when the circuit has ``R_gb``), each with Ea (eV) ± 1σ. The form is stated in ``form``.

    Raises
    ------
    ArrheniusError
        Fewer than 2 usable temperatures, missing temperatures or geometry, or missing R_b.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> T = [298.15, 318.15, 338.15]
    >>> def R(t):
    ...     return 100 * t / 298.15 * 2.718281828 ** (0.3 / 8.617333262e-5 * (1 / t - 1 / 298.15))
    >>> fits = [NS(params={"R_b": R(t)},
    ...            stderr={}, success=True, meta={}) for t in T]
    >>> round(arrhenius(fits, 0.1, 0.785, temperatures_K=T)["bulk"].Ea_eV, 3)
    0.3
    """
    if not (thickness_cm and thickness_cm > 0 and area_cm2 and area_cm2 > 0):
        raise ArrheniusError(
            f"arrhenius: thickness_cm and area_cm2 must be positive; got {thickness_cm!r} and {area_cm2!r}."
        )
    items = list(getattr(results, "results", results))
    if temperatures_K is not None and len(temperatures_K) != len(items):
        raise ArrheniusError(
            f"arrhenius: {len(temperatures_K)} temperatures for {len(items)} results; give one per result."
        )
    T_list, rb, rb_e, rg, rg_e, sources = [], [], [], [], [], []
    for k, res in enumerate(items):
        if not _get(res, "success"):
            continue
        params = _get(res, "params") or {}
        errs = _get(res, "stderr") or {}
        meta = _get(res, "meta") or {}
        T = temperatures_K[k] if temperatures_K is not None else meta.get("temperature_K")
        if T is None:
            raise ArrheniusError(
                f"arrhenius: result {k} ({meta.get('source', '?')}) has no temperature; pass "
                "temperatures_K=[...] (K) or set meta['temperature_K']."
            )
        if bulk not in params:
            raise ArrheniusError(f"arrhenius: result {k} has no parameter {bulk!r}; fit a pellet circuit.")
        # (names the fit's physics counted as interfacial: an electrode-scale C_eff, not the SE)
        interfacial = set(meta.get("interfacial_resistances") or ())
        where = f"result {k} ({meta.get('source', '?')}, {float(T):.1f} K)"
        if bulk in interfacial:
            warnings.warn(
                f"arrhenius: {where} left out: its {bulk} arc has an electrode-scale capacitance "
                "(counted as interfacial, not the bulk); check the circuit roles or the fit window.",
                RoleMismatchWarning,
                stacklevel=2,
            )
            continue
        if grain_boundary in interfacial:
            warnings.warn(
                f"arrhenius: {where}: its {grain_boundary} arc has an electrode-scale capacitance "
                "(counted as interfacial): no grain-boundary or total line; check the circuit roles.",
                RoleMismatchWarning,
                stacklevel=2,
            )
        T_list.append(float(T))
        rb.append(float(params[bulk]))
        rb_e.append(float(errs.get(bulk, math.nan)))
        g_ok = grain_boundary not in interfacial
        rg.append(float(params.get(grain_boundary, math.nan)) if g_ok else math.nan)
        rg_e.append(float(errs.get(grain_boundary, math.nan)) if g_ok else math.nan)
        sources.append(str(meta.get("source", "")))
    if len(T_list) < 2:
        raise ArrheniusError(f"arrhenius: need fits at 2 or more temperatures; got {len(T_list)}.")
    order = np.argsort(T_list)
    T = np.asarray(T_list)[order]
    if np.unique(T).size < 2:
        raise ArrheniusError("arrhenius: all fits are at the same temperature.")
    R_b, R_b_e = np.asarray(rb)[order], np.asarray(rb_e)[order]
    R_g, R_g_e = np.asarray(rg)[order], np.asarray(rg_e)[order]
    geo = thickness_cm / area_cm2
    fits = {"bulk": _fit_line("bulk", T, geo / R_b, geo * R_b_e / R_b**2)}
    if np.all(np.isfinite(R_g)):
        fits["grain_boundary"] = _fit_line("grain_boundary", T, geo / R_g, geo * R_g_e / R_g**2)
        R_t = R_b + R_g
        R_t_e = np.sqrt(R_b_e**2 + R_g_e**2)
        fits["total"] = _fit_line("total", T, geo / R_t, geo * R_t_e / R_t**2)
    return ArrheniusResult(
        form=FORM,
        fits=fits,
        thickness_cm=float(thickness_cm),
        area_cm2=float(area_cm2),
        sources=tuple(np.asarray(sources, dtype=object)[order].tolist()),
    )
