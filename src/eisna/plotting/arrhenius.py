"""Arrhenius plot: log₁₀(σT) against 1000/T with the activation energy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._data import get
from ._style import DATA_COLOR, FIT_COLOR, new_axes, role_color, style_axes

__all__ = ["arrhenius_fit", "plot_arrhenius"]

K_B_EV = 8.617333262e-5  # Boltzmann constant in eV/K


def arrhenius_fit(T_K: np.ndarray, sigma_S_cm: np.ndarray) -> tuple[float, float, float]:
    """Least-squares fit of σT = A·exp(−Ea/k_B T); return ``(Ea_eV, Ea_stderr_eV, ln_A)``."""
    x = 1.0 / np.asarray(T_K, dtype=float)
    y = np.log(np.asarray(sigma_S_cm, dtype=float) * np.asarray(T_K, dtype=float))
    coef, cov = (
        np.polyfit(x, y, 1, cov=True) if x.size > 2 else (np.polyfit(x, y, 1), np.full((2, 2), np.nan))
    )
    return float(-coef[0] * K_B_EV), float(np.sqrt(cov[0, 0]) * K_B_EV), float(coef[1])


def _inv_kK_to_celsius(v: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1000.0 / np.asarray(v, dtype=float) - 273.15


def _celsius_to_inv_kK(c: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1000.0 / (np.asarray(c, dtype=float) + 273.15)


def _datasets(data: Any) -> list[dict[str, Any]]:
    """One dict per conductivity kind in ``data``: kind, T (K), σ and its error (S/cm), Ea ± err (eV),
    and the fitted line's ``predict(T_K) -> σ`` when the result has one."""
    if isinstance(data, tuple | list) and len(data) == 2:
        return [{"kind": None, "T": np.asarray(data[0], float), "sigma": np.asarray(data[1], float)}]
    fits = get(data, "fits")
    if isinstance(fits, Mapping) and fits:
        out: list[dict[str, Any]] = []
        for kind, sub in fits.items():
            out.extend({**d, "kind": kind} for d in _datasets(sub))
        return out
    T = get(data, "T_K") if get(data, "T_K") is not None else get(data, "temperature_K")
    sigma = get(data, "sigma_S_cm") if get(data, "sigma_S_cm") is not None else get(data, "sigma")
    if isinstance(sigma, Mapping):
        return [
            {"kind": k, "T": np.asarray(T, float), "sigma": np.asarray(v, float)} for k, v in sigma.items()
        ]
    if T is None or sigma is None:
        raise ValueError(
            "Arrhenius data need temperatures (K) and conductivities (S/cm): pass (T_K, sigma_S_cm)"
        )
    Ea = get(data, "Ea_eV")
    Ea_err = get(data, "Ea_stderr") if get(data, "Ea_stderr") is not None else get(data, "Ea_stderr_eV")
    err = get(data, "sigma_stderr_S_cm")
    predict = getattr(data, "predict", None)
    return [
        {
            "kind": get(data, "kind"),
            "T": np.asarray(T, float),
            "sigma": np.asarray(sigma, float),
            "sigma_err": None if err is None else np.asarray(err, float),
            "Ea": None if Ea is None else float(Ea),
            "Ea_err": None if Ea_err is None else float(Ea_err),
            "predict": predict if callable(predict) else None,
        }
    ]


def plot_arrhenius(data: Any, ax: Any = None, *, label: str | None = None, celsius_axis: bool = True) -> Any:
    """Plot log₁₀(σT / S cm⁻¹ K) against 1000/T (K⁻¹) with a straight-line fit and Ea; return the Axes.

    Parameters
    ----------
    data : ArrheniusResult or (T_K, sigma_S_cm)
        Temperatures in K and conductivities in S/cm (several kinds — bulk, grain boundary,
        total — are drawn in turn when the result holds them).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when omitted.
    label : str, optional
        Legend label prefix.
    celsius_axis : bool
        Add a top axis in °C.

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    The σT (hopping) form is used: Ea = −k_B · d ln(σT)/d(1/T). When the result carries no
    Ea, it is fitted here from the points.
    """
    ax = new_axes(ax, figsize=(4.8, 3.8))
    for d in _datasets(data):
        kind, T, sigma = d["kind"], d["T"], d["sigma"]
        Ea, Ea_err = d.get("Ea"), d.get("Ea_err")
        color = role_color(kind, DATA_COLOR) if kind else DATA_COLOR
        x = 1000.0 / T
        y = np.log10(sigma * T)
        name = label or (str(kind).replace("_", " ") if kind else "data")
        err = d.get("sigma_err")
        yerr = None if err is None else np.nan_to_num(err / (sigma * np.log(10)))  # error of log10(σT)
        container = ax.errorbar(
            x,
            y,
            yerr=yerr,
            fmt="o",
            color=color,
            markersize=5,
            markerfacecolor="none",
            capsize=2,
            label=name,
        )
        container.lines[0].set_gid("data")
        if T.size >= 2:
            xx = np.linspace(x.min(), x.max(), 50)
            if d.get("predict") is not None and Ea is not None:
                yy = np.log10(d["predict"](1000.0 / xx) * (1000.0 / xx))
            else:
                fit_Ea, fit_err, ln_A = arrhenius_fit(T, sigma)
                if Ea is None:
                    Ea, Ea_err = fit_Ea, fit_err
                yy = (ln_A - fit_Ea / K_B_EV * xx / 1000.0) / np.log(10)
            text = f" ± {Ea_err:.3f}" if Ea_err is not None and np.isfinite(Ea_err) else ""
            ax.plot(
                xx,
                yy,
                "-",
                color=color if kind else FIT_COLOR,
                linewidth=1.2,
                label=f"Ea = {Ea:.3f}{text} eV",
                gid="fit",
            )
    ax.set_xlabel("1000/T / K⁻¹")
    ax.set_ylabel("log₁₀(σT / S cm⁻¹ K)")
    ax.legend(fontsize="x-small", frameon=False)
    if celsius_axis:
        top = ax.secondary_xaxis("top", functions=(_inv_kK_to_celsius, _celsius_to_inv_kK))
        top.set_xlabel("T / °C")
    style_axes(ax)
    if celsius_axis:
        ax.tick_params(which="both", top=False)
    return ax
