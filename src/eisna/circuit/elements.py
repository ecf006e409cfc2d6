"""Circuit elements: impedance formulas, parameter units, default start values and bounds.

Every element is a plain numpy function ``z(s, *values)`` of the Laplace variable
``s = jω`` (rad/s). Values may be scalars or arrays that broadcast against ``s``;
the fit engine uses this to evaluate many parameter vectors in one call.

The formulas and symbols are impedance.py's (``impedance.models.circuits.elements``,
v1.7.1, MIT), rewritten for ``s`` and broadcasting; each is tested against its analytic
formula in ``tests/test_circuit_elements.py``. eisna has every element of impedance.py 1.7.1
(R, C, L, W, Wo, Ws, CPE, La, G, Gs, K, Zarc, TLMQ, T) and one more, the Havriliak–Negami
relaxation ``HN`` (Z = R/(1 + (jωτ)^α)^β; S. Havriliak and S. Negami, Polymer 8, 161–210
(1967), doi:10.1016/0032-3861(67)90021-3), for bulk and grain-boundary arcs of solid
electrolytes that are both depressed (α) and skewed (β); α = β = 1 is an R‖C, β = 1 a Zarc.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["ELEMENTS", "ElementSpec", "ParamSpec"]


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter of an element type.

    Parameters
    ----------
    symbol : str
        Short physical symbol (``"R"``, ``"Q"``, ``"n"``, ``"tau"``).
    unit : str
        Unit of the value (Ω, F, H, s, ``F s^(n-1)``, dimensionless "").
    default : float
        Start value used when nothing better is known.
    bounds : tuple of float
        (min, max) used for circuit strings without a library file.
    scale : {"log", "linear"}
        "log" parameters are fitted as log10(value).
    """

    symbol: str
    unit: str
    default: float
    bounds: tuple[float, float]
    scale: Literal["log", "linear"] = "log"


@dataclass(frozen=True, slots=True)
class ElementSpec:
    """An element type: symbol, parameters, formula and its text form."""

    symbol: str
    params: tuple[ParamSpec, ...]
    impedance: Callable[..., np.ndarray]
    equation: str
    grad: Callable[..., tuple] | None = None  # grad(s, z, *values) -> dZ/dvalue per parameter

    def gradient(self, s, z, *values) -> tuple:
        """dZ/dvalue for each parameter: analytic when known, else central differences."""
        if self.grad is not None:
            return self.grad(s, z, *values)
        out = []
        for i, v in enumerate(values):
            h = 1e-6 * abs(v) if v != 0 else 1e-9
            up = list(values)
            dn = list(values)
            up[i], dn[i] = v + h, v - h
            out.append((self.impedance(s, *up) - self.impedance(s, *dn)) / (2 * h))
        return tuple(out)

    @property
    def n_params(self) -> int:
        return len(self.params)


def _R(s, R):
    return R  # a scalar broadcasts in series and parallel sums; Circuit.impedance returns arrays


def _C(s, C):
    return 1.0 / (C * s)


def _L(s, L):
    return L * s


def _W(s, A_W):
    # impedance.py: A_W (1 - j)/sqrt(ω) = sqrt(2) A_W / sqrt(jω)
    return np.sqrt(2.0) * A_W / np.sqrt(s)


def _Wo(s, R, tau):
    x = np.sqrt(s * tau)
    return R / (x * np.tanh(x))


def _Ws(s, R, tau):
    x = np.sqrt(s * tau)
    return R * np.tanh(x) / x


def _CPE(s, Q, n):
    return 1.0 / (Q * s**n)


def _La(s, L, n):
    return (L * s) ** n


def _G(s, R, tau):
    return R / np.sqrt(1.0 + s * tau)


def _Gs(s, R, tau, phi):
    x = np.sqrt(1.0 + s * tau)
    return R / (x * np.tanh(phi * x))


def _K(s, R, tau):
    return R / (1.0 + s * tau)


def _Zarc(s, R, tau, n):
    return R / (1.0 + (s * tau) ** n)


def _TLMQ(s, R_ion, Q, n):
    z_s = 1.0 / (Q * s**n)
    return np.sqrt(R_ion * z_s) / np.tanh(np.sqrt(R_ion / z_s))


def _T(s, A, B, a, b):
    beta = np.sqrt(a + s * b)
    # 1/sinh(β) = 2 e^-β / (1 - e^-2β): no overflow for large |β|, unlike sinh itself
    inv_sinh = 2.0 * np.exp(-beta) / (1.0 - np.exp(-2.0 * beta))
    return A / (beta * np.tanh(beta)) + B * inv_sinh / beta


def _HN(s, R, tau, alpha, beta):
    return R / (1.0 + (s * tau) ** alpha) ** beta


def _g_R(s, z, R):
    return (np.ones(s.shape, dtype=complex),)


def _g_C(s, z, C):
    return (-z / C,)


def _g_L(s, z, L):
    return (s,)


def _g_W(s, z, A_W):
    return (z / A_W,)


def _g_Wo(s, z, R, tau):
    coth = z * np.sqrt(s * tau) / R
    return z / R, (-R * (coth * coth - 1.0) - z) / (2 * tau)


def _g_Ws(s, z, R, tau):
    t = z * np.sqrt(s * tau) / R  # tanh(√(sτ)), from z = R tanh(x)/x (no second tanh)
    return z / R, (R * (1.0 - t * t) - z) / (2 * tau)


def _g_CPE(s, z, Q, n):
    return -z / Q, -z * np.log(s)


def _g_La(s, z, L, n):
    return n * z / L, z * np.log(L * s)


def _g_G(s, z, R, tau):
    return z / R, -0.5 * z * s / (1.0 + s * tau)


def _g_Gs(s, z, R, tau, phi):
    x = np.sqrt(1.0 + s * tau)
    t = np.tanh(phi * x)
    k = (1.0 - t * t) / t  # coth − tanh of φx
    return z / R, -z * (1.0 / x + phi * k) * s / (2.0 * x), -z * x * k


def _g_TLMQ(s, z, R_ion, Q, n):
    y = np.sqrt(R_ion * Q * s**n)  # z = (R_ion/y) coth(y)
    c = 1.0 / np.tanh(y)
    y_dz_dy = -z - R_ion * (c * c - 1.0)
    return (2.0 * z + y_dz_dy) / (2.0 * R_ion), y_dz_dy / (2.0 * Q), 0.5 * y_dz_dy * np.log(s)


def _g_T(s, z, A, B, a, b):
    beta = np.sqrt(a + s * b)
    coth = 1.0 / np.tanh(beta)
    inv_sinh = 2.0 * np.exp(-beta) / (1.0 - np.exp(-2.0 * beta))  # (as in _T)
    dz_dbeta = -(A * inv_sinh * inv_sinh + B * inv_sinh * coth + z) / beta
    return coth / beta, inv_sinh / beta, dz_dbeta / (2.0 * beta), dz_dbeta * s / (2.0 * beta)


def _g_K(s, z, R, tau):
    return z / R, -(z * z) * s / R


def _g_Zarc(s, z, R, tau, n):
    u = (s * tau) ** n
    z2 = z * z  # (complex ** 2 is ten times slower than a product)
    return z / R, -z2 * n * u / (R * tau), -z2 * u * np.log(s * tau) / R


def _g_HN(s, z, R, tau, alpha, beta):
    v = (s * tau) ** alpha
    u = 1.0 + v  # Re u > 1 for 0 < α ≤ 1: log(u) and u^β stay on the principal branch
    d = -beta * z * v / u  # dZ/d(log v)
    return z / R, d * alpha / tau, d * np.log(s * tau), -z * np.log(u)


_R_SPEC = ParamSpec("R", "Ohm", 100.0, (1e-4, 1e10))
_TAU_SPEC = ParamSpec("tau", "s", 1e-3, (1e-12, 1e6))
_N_SPEC = ParamSpec("n", "", 0.9, (0.3, 1.0), "linear")

ELEMENTS: dict[str, ElementSpec] = {
    spec.symbol: spec
    for spec in (
        ElementSpec("R", (_R_SPEC,), _R, "Z = R", _g_R),
        ElementSpec("C", (ParamSpec("C", "F", 1e-6, (1e-16, 10.0)),), _C, "Z = 1/(jωC)", _g_C),
        ElementSpec("L", (ParamSpec("L", "H", 1e-7, (1e-13, 1e-2)),), _L, "Z = jωL", _g_L),
        ElementSpec(
            "W", (ParamSpec("A_W", "Ohm s^-1/2", 10.0, (1e-6, 1e8)),), _W, "Z = A_W (1 − j)/√ω", _g_W
        ),
        ElementSpec(
            "Wo", (_R_SPEC, ParamSpec("tau", "s", 1.0, (1e-8, 1e6))), _Wo, "Z = R coth(√(jωτ))/√(jωτ)", _g_Wo
        ),
        ElementSpec(
            "Ws", (_R_SPEC, ParamSpec("tau", "s", 1.0, (1e-8, 1e6))), _Ws, "Z = R tanh(√(jωτ))/√(jωτ)", _g_Ws
        ),
        ElementSpec(
            "CPE",
            (ParamSpec("Q", "F s^(n-1)", 1e-6, (1e-16, 10.0)), _N_SPEC),
            _CPE,
            "Z = 1/(Q (jω)^n)",
            _g_CPE,
        ),
        ElementSpec(
            "La", (ParamSpec("L", "H s^(n-1)", 1e-7, (1e-13, 1e-2)), _N_SPEC), _La, "Z = (jωL)^n", _g_La
        ),
        ElementSpec("G", (_R_SPEC, _TAU_SPEC), _G, "Z = R/√(1 + jωτ)", _g_G),
        ElementSpec(
            "Gs",
            (_R_SPEC, _TAU_SPEC, ParamSpec("phi", "", 1.0, (1e-3, 1e3))),
            _Gs,
            "Z = R/(√(1 + jωτ) tanh(φ √(1 + jωτ)))",
            _g_Gs,
        ),
        ElementSpec("K", (_R_SPEC, _TAU_SPEC), _K, "Z = R/(1 + jωτ)", _g_K),
        ElementSpec("Zarc", (_R_SPEC, _TAU_SPEC, _N_SPEC), _Zarc, "Z = R/(1 + (jωτ)^n)", _g_Zarc),
        ElementSpec(
            "TLMQ",
            (_R_SPEC, ParamSpec("Q", "F s^(n-1)", 1e-6, (1e-16, 10.0)), _N_SPEC),
            _TLMQ,
            "Z = √(R_ion Z_s) coth(√(R_ion/Z_s)), Z_s = 1/(Q (jω)^n)",
            _g_TLMQ,
        ),
        ElementSpec(
            "T",
            (
                ParamSpec("A", "Ohm", 1.0, (1e-6, 1e8)),
                ParamSpec("B", "Ohm", 1.0, (1e-6, 1e8)),
                ParamSpec("a", "", 1.0, (1e-8, 1e8)),
                ParamSpec("b", "s", 1e-3, (1e-12, 1e6)),
            ),
            _T,
            "Z = A coth(β)/β + B/(β sinh β), β = √(a + jωb)",
            _g_T,
        ),
        # eisna's own (impedance.py's elements first: error messages list them in its order)
        ElementSpec(
            "HN",
            (
                _R_SPEC,
                _TAU_SPEC,
                ParamSpec("alpha", "", 0.9, (0.3, 1.0), "linear"),
                ParamSpec("beta", "", 0.9, (0.2, 1.0), "linear"),
            ),
            _HN,
            "Z = R/(1 + (jωτ)^α)^β",
            _g_HN,
        ),
    )
}
