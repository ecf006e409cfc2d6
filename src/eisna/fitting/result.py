"""Result types of a circuit fit: :class:`FitResult`, :class:`Arc`, :class:`Quantity`, :class:`Flag`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from ..circuit.library import CircuitDefinition

__all__ = ["Arc", "FitResult", "Flag", "FlagKind", "Quantity", "is_unidentifiable"]


def _num(x: Any) -> float | None:
    """JSON-safe float: NaN and ±inf become None."""
    x = float(x)
    return x if math.isfinite(x) else None


def _nums(a: Any) -> list[Any]:
    """:func:`_num` of every element of an array (nested lists, same shape), in one pass: the
    elementwise loop over NumPy scalars was most of ``to_dict``'s time in a batch."""
    arr = np.asarray(a, dtype=float)
    finite = np.isfinite(arr)
    if finite.all():
        return arr.tolist()
    obj = arr.astype(object)  # (Python floats)
    obj[~finite] = None
    return obj.tolist()


def _pair_list(z: Any) -> list[list[float]]:
    """Complex values as [re, im] pairs of Python floats (JSON-ready)."""
    arr = np.asarray(z, dtype=complex).ravel()
    return np.column_stack((arr.real, arr.imag)).tolist()


class FlagKind(StrEnum):
    """Kinds of fit flags; the value is the text before the colon of the flag string."""

    AT_BOUND = "at_bound"
    BEYOND_BOUND = "beyond_bound"
    UNIDENTIFIABLE = "unidentifiable"
    POOR_FIT = "poor_fit"
    ROLE_MISMATCH = "role_mismatch"
    BUDGET_EXHAUSTED = "budget_exhausted"
    BELOW_RESOLUTION = "below_resolution"  # a resistance below 1 % of the window's smallest Re Z
    OTHER = "other"


_KINDS = {k.value for k in FlagKind if k is not FlagKind.OTHER}


class Flag(str):
    """A typed fit flag that is also its old string form.

    ``Flag(FlagKind.AT_BOUND, "R_b")`` has ``kind``, ``param`` (None for whole-fit flags) and
    ``detail``; ``str(flag) == "at_bound:R_b"`` and ``flag == "at_bound:R_b"``, so code and
    files that handled the strings keep working. A string of an unknown kind becomes
    ``FlagKind.OTHER`` with the string kept as it is.
    """

    kind: FlagKind
    param: str | None
    detail: str

    def __new__(cls, kind: FlagKind | str, param: str | None = None, detail: str = "") -> Flag:
        text = str(kind.value if isinstance(kind, FlagKind) else kind)
        head, _, tail = text.partition(":")
        if param is None and tail and head in _KINDS:  # "at_bound:R_b"
            text, param = head, tail
        try:
            typed = FlagKind(text)
        except ValueError:
            typed = FlagKind.OTHER
        if typed is not FlagKind.OTHER:
            text = f"{typed.value}:{param}" if param else typed.value
        self = super().__new__(cls, text)
        self.kind, self.param, self.detail = typed, param or None, detail
        return self

    @classmethod
    def parse(cls, text: str | Flag) -> Flag:
        """The flag of ``"kind"`` or ``"kind:param"`` (a :class:`Flag` is returned as it is)."""
        return text if isinstance(text, Flag) else cls(str(text))

    def __repr__(self) -> str:
        return f"Flag({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        kind = str(self) if self.kind is FlagKind.OTHER else self.kind.value
        return (Flag, (kind, self.param, self.detail))


def is_unidentifiable(value: float, stderr: float, scale: str = "log") -> bool:
    """The one rule for "unidentifiable": the data do not pin the parameter down.

    A parameter fitted on a log scale (R, C, Q, τ…) is unidentifiable when its 1σ error exceeds
    its value (relative error > 100 %) or is not finite; one fitted on a linear scale (the CPE
    exponent n) when its absolute error exceeds 0.2. The same rule serves :func:`eisna.fit`
    (flag ``unidentifiable:<param>``), every :class:`FitResult` (also from a cache) and the
    series' warm-start guard; the limits are the solver's (``_REL_STDERR_LIMIT``,
    ``_N_STDERR_LIMIT``).
    """
    from .solver import _N_STDERR_LIMIT, _REL_STDERR_LIMIT

    if not (math.isfinite(stderr) and math.isfinite(value)):
        return True
    if scale == "log":
        return value == 0 or stderr / abs(value) > _REL_STDERR_LIMIT
    return stderr > _N_STDERR_LIMIT


@dataclass(frozen=True, slots=True)
class Quantity:
    """A derived physical quantity with its 1σ standard error (NaN when unknown)."""

    value: float
    stderr: float
    unit: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": _num(self.value), "stderr": _num(self.stderr), "unit": self.unit}


@dataclass(frozen=True, slots=True)
class Arc:
    """One relaxation of the fitted circuit, with its physics.

    Attributes
    ----------
    name : str
        Role-based name (``"grain_boundary"``) or the element name for ad-hoc circuits.
    role : str or None
        Role from the circuit file (None for circuit strings).
    R, R_stderr : float
        Resistance of the arc in Ω (NaN for a blocking electrode).
    C_eff, C_eff_stderr : float
        Effective capacitance in F: Hsu–Mansfeld τ/R for R‖CPE arcs (C itself for R‖C),
        Brug for a blocking-electrode CPE.
    f_apex : float
        Apex frequency 1/(2πτ) in Hz (NaN for a blocking electrode).
    tau : float
        Time constant τ = (R Q)^(1/n) in s.
    role_ok : bool or None
        Whether C_eff (× cell constant L/A when the geometry is known) falls in the
        Irvine–Sinclair–West range of its role; None when there is no role.
    f_apex_stderr : float
        Standard error of f_apex in Hz.
    formula : str
        "RC", "Hsu-Mansfeld" or "Brug".
    effective_role : str or None
        The role the derived physics counts the arc under (:func:`eisna.fitting.physics.effective_role`):
        ``role``, or ``"interfacial"`` for a bulk or grain-boundary arc whose C_eff is
        electrode-scale (not in R_SE or σ, in the area-specific resistance instead). None
        (the default) means ``role``.
    role_note : str
        Why the effective role differs from ``role``, in words ("" when it does not).
    """

    name: str
    role: str | None
    R: float
    R_stderr: float
    C_eff: float
    C_eff_stderr: float
    f_apex: float
    tau: float
    role_ok: bool | None
    f_apex_stderr: float = math.nan
    formula: str = ""
    effective_role: str | None = None
    role_note: str = ""

    def __post_init__(self) -> None:
        if self.effective_role is None:  # (an Arc built without it: the circuit's role)
            object.__setattr__(self, "effective_role", self.role)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in self.__slots__:
            v = getattr(self, key)
            out[key] = _num(v) if isinstance(v, float) else v
        return out


@dataclass(frozen=True, eq=False)
class FitResult:
    """Outcome of :func:`eisna.fit`.

    All parameter values are in SI-like units (Ω, F, H, s, F s^(n-1)); ``stderr`` is the 1σ
    standard error from the covariance matrix scaled by the reduced χ² (NaN when unknown).
    ``residuals`` is the stacked weighted vector ``[w_re (Z'_fit − Z'), w_im (Z''_fit − Z'')]``
    that was minimised; ``chisqr`` is its sum of squares, ``aic = N ln(χ²/N) + 2k``,
    ``bic = N ln(χ²/N) + k ln N``, ``aicc = aic + 2k(k+1)/(N−k−1)`` with N = 2 × points and
    k the number of varied parameters.
    """

    params: Mapping[str, float]
    stderr: Mapping[str, float]
    correlation: np.ndarray
    param_names: tuple[str, ...]
    chisqr: float
    redchi: float
    aic: float
    bic: float
    aicc: float
    residuals: np.ndarray
    freq: np.ndarray
    z: np.ndarray
    z_fit: np.ndarray
    fmin: float
    fmax: float
    weighting: str
    circuit: CircuitDefinition
    circuit_name: str
    arcs: tuple[Arc, ...]
    derived: Mapping[str, Quantity]
    flags: tuple[str, ...]
    success: bool
    nfev: int
    message: str
    warnings: tuple[str, ...] = ()
    varied: tuple[str, ...] = ()
    n_points: int = 0
    start: Mapping[str, float] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # engine code, caches and older pickles give plain strings: every flag becomes a Flag
        flags = [Flag.parse(f) for f in self.flags]
        # the one unidentifiable rule, applied to every result (engine, cache, series)
        skip = {
            f.param
            for f in flags
            if f.param and f.kind in (FlagKind.AT_BOUND, FlagKind.BEYOND_BOUND, FlagKind.UNIDENTIFIABLE)
        }
        defaults = getattr(self.circuit, "defaults", {}) or {}
        for name in self.varied:
            d = defaults.get(name)
            if name in skip or d is None or name not in self.params:
                continue
            if is_unidentifiable(self.params[name], self.stderr.get(name, math.nan), d.scale):
                flags.append(Flag(FlagKind.UNIDENTIFIABLE, name))
        object.__setattr__(self, "flags", tuple(flags))

    @property
    def nvarys(self) -> int:
        return len(self.varied)

    @property
    def lmfit_params(self) -> Any:
        """The fit as ``lmfit.Parameters`` (value, stderr, bounds, vary; correlations where known).

        Built on demand: the fit itself never imports lmfit. Bounds are the circuit's defaults
        (the fit may have used bounds scaled to the spectrum).
        """
        import lmfit

        out = lmfit.Parameters()
        defaults = getattr(self.circuit, "defaults", {}) or {}
        for name in self.param_names:
            d = defaults.get(name)
            lo = float(d.min) if d is not None else -np.inf
            hi = float(d.max) if d is not None else np.inf
            value = float(self.params[name])
            out.add(name, value=value, min=min(lo, value), max=max(hi, value), vary=name in self.varied)
            err = self.stderr.get(name, math.nan)
            out[name].stderr = float(err) if math.isfinite(err) else None
        corr = np.asarray(self.correlation, dtype=float)
        for a, na in enumerate(self.param_names):
            if out[na].stderr is None or corr.shape != (len(self.param_names),) * 2:
                continue
            out[na].correl = {
                nb: float(corr[a, b])
                for b, nb in enumerate(self.param_names)
                if b != a and nb in self.varied and math.isfinite(corr[a, b])
            }
        return out

    def to_impedance(self) -> Any:
        """The fitted circuit as an impedance.py ``CustomCircuit`` (see :mod:`eisna.fitting.interop`)."""
        from .interop import to_impedance

        return to_impedance(self)

    def flagged(self, kind: FlagKind | str) -> tuple[str, ...]:
        """Parameters carrying a flag of ``kind`` (e.g. ``"unidentifiable"``), in flag order."""
        kind = FlagKind(kind)
        flags = cast("tuple[Flag, ...]", self.flags)  # (every flag is a Flag after __post_init__)
        return tuple(f.param for f in flags if f.kind is kind and f.param)

    def has_flag(self, kind: FlagKind | str, param: str | None = None) -> bool:
        """Whether the fit carries a flag of ``kind`` (for ``param`` when given)."""
        kind = FlagKind(kind)
        flags = cast("tuple[Flag, ...]", self.flags)
        return any(f.kind is kind and (param is None or f.param == param) for f in flags)

    def predict(self, freq: npt.ArrayLike) -> np.ndarray:
        """Impedance of the fitted circuit in Ω at ``freq`` (Hz)."""
        return self.circuit.circuit.impedance(freq, [self.params[n] for n in self.param_names])

    def __repr__(self) -> str:
        vals = ", ".join(f"{n}={self.params[n]:.4g}" for n in self.param_names)
        return (
            f"FitResult({self.circuit_name!r}, success={self.success}, redchi={self.redchi:.3g}, "
            f"{vals}, flags={list(self.flags)})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe dict (NaN → None, arrays → lists, complex → [re, im])."""
        return {
            "circuit_name": self.circuit_name,
            "circuit": self.circuit.circuit.text,
            "param_names": list(self.param_names),
            "params": {k: _num(v) for k, v in self.params.items()},
            "stderr": {k: _num(v) for k, v in self.stderr.items()},
            "varied": list(self.varied),
            "correlation": _nums(self.correlation),
            "chisqr": _num(self.chisqr),
            "redchi": _num(self.redchi),
            "aic": _num(self.aic),
            "bic": _num(self.bic),
            "aicc": _num(self.aicc),
            "n_points": self.n_points,
            "fmin": _num(self.fmin),
            "fmax": _num(self.fmax),
            "weighting": self.weighting,
            "arcs": [a.to_dict() for a in self.arcs],
            "derived": {k: q.to_dict() for k, q in self.derived.items()},
            "flags": list(self.flags),
            "warnings": list(self.warnings),
            "success": bool(self.success),
            "nfev": int(self.nfev),
            "message": self.message,
            "freq": np.asarray(self.freq, dtype=float).tolist(),
            "z": _pair_list(self.z),
            "z_fit": _pair_list(self.z_fit),
        }
