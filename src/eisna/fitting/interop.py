"""The public :func:`fit` entry point, its raised warnings and impedance.py interoperability.

:func:`fit` is :func:`eisna.fitting.engine.fit` plus two things at the boundary:

* an impedance.py ``CustomCircuit`` is accepted as ``circuit``: its circuit string (the same
  syntax eisna parses), its ``initial_guess`` (start values of the free parameters, in order)
  and its ``constants`` (held parameters) become ``circuit``, ``initial`` and ``fixed``;
* the fit's warnings are raised as the classes of :mod:`eisna.errors`
  (:class:`~eisna.errors.ParameterAtBoundWarning`, :class:`~eisna.errors.RoleMismatchWarning`,
  :class:`~eisna.errors.UnidentifiableParameterWarning`, :class:`~eisna.errors.PoorFitWarning`)
  and stay listed in :attr:`FitResult.warnings`.

impedance.py is imported lazily, only when such an object is passed or
:func:`to_impedance` is called; it is not a runtime dependency.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import (
    EisnaError,
    EisnaWarning,
    ParameterAtBoundWarning,
    PoorFitWarning,
    RoleMismatchWarning,
    UnidentifiableParameterWarning,
)
from .engine import fit as _engine_fit
from .result import FitResult

__all__ = ["fit", "from_impedance", "is_custom_circuit", "to_impedance", "warning_class"]


def is_custom_circuit(obj: Any) -> bool:
    """Whether ``obj`` is an impedance.py circuit (checked without importing impedance)."""
    module = type(obj).__module__ or ""
    return module.startswith("impedance.") and hasattr(obj, "circuit") and hasattr(obj, "initial_guess")


def from_impedance(
    circuit: Any, initial: Mapping[str, float] | None = None, fixed: Mapping[str, float] | None = None
) -> tuple[str, dict[str, float], dict[str, float]]:
    """Circuit string, start values and held values of an impedance.py ``CustomCircuit``.

    Parameter names are impedance.py's (``R0``, ``CPE1_0``, ``CPE1_1``…), which eisna uses for
    circuit strings too. ``initial``/``fixed`` given by the caller take precedence.
    """
    from ..circuit.parser import parse_circuit

    text = str(circuit.circuit)
    names = parse_circuit(text).param_names
    constants = {str(k): float(v) for k, v in (getattr(circuit, "constants", None) or {}).items()}
    unknown = sorted(set(constants) - set(names))
    if unknown:
        raise EisnaError(
            f"CustomCircuit {text!r}: constants {unknown} are not parameters of the circuit "
            f"(expected names among {list(names)})."
        )
    free = [n for n in names if n not in constants]
    guess = list(getattr(circuit, "initial_guess", None) or [])
    if guess and len(guess) != len(free):
        raise EisnaError(
            f"CustomCircuit {text!r}: initial_guess has {len(guess)} values for {len(free)} "
            f"free parameters ({', '.join(free)}); give one value per free parameter."
        )
    start = {n: float(v) for n, v in zip(free, guess, strict=False)}
    return text, {**start, **dict(initial or {})}, {**constants, **dict(fixed or {})}


def to_impedance(result: FitResult) -> Any:
    """The fitted circuit as an impedance.py ``CustomCircuit``.

    ``parameters_`` holds the fitted free values and ``conf_`` their 1σ errors (in impedance.py's
    order); parameters eisna held fixed become ``constants``. Role names (``R_b``…) map by
    position onto the circuit string's element names.

    Raises
    ------
    EisnaError
        When impedance.py is not installed (``pip install impedance``), or the circuit has an
        element impedance.py lacks (``HN``).
    """
    try:
        from impedance.models.circuits import CustomCircuit
    except ImportError as exc:
        raise EisnaError(
            "FitResult.to_impedance needs impedance.py: install it with "
            "`pip install impedance` (it is in eisna's `test` extra)."
        ) from exc
    from impedance.models.circuits.elements import circuit_elements

    circ = result.circuit.circuit
    foreign = [e.name for e in circ.elements if e.symbol not in circuit_elements]
    if foreign:
        raise EisnaError(
            f"FitResult.to_impedance: element(s) {foreign} of {circ.text!r} are eisna's only "
            f"(impedance.py {_impedance_version()} has no such element); use the eisna result, "
            "or refit with impedance.py elements (HN with β = 1 is a Zarc)."
        )
    own = list(circ.param_names)
    varied = set(result.varied) if result.varied else set(result.param_names)
    free = [(o, n) for o, n in zip(own, result.param_names, strict=True) if n in varied]
    constants = {
        o: float(result.params[n]) for o, n in zip(own, result.param_names, strict=True) if n not in varied
    }
    model = CustomCircuit(
        circ.text,
        initial_guess=[float(result.start.get(n, result.params[n])) for _, n in free],
        constants=constants,
    )
    model.parameters_ = np.array([result.params[n] for _, n in free], dtype=float)
    model.conf_ = np.array([result.stderr.get(n, np.nan) for _, n in free], dtype=float)
    return model


def _impedance_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("impedance")
    except PackageNotFoundError:  # (a source checkout without metadata)
        return "(unknown version)"


#: the warning classes :func:`fit` raises (each also a flag of the result)
FIT_WARNINGS = (ParameterAtBoundWarning, RoleMismatchWarning, UnidentifiableParameterWarning, PoorFitWarning)
_PREFIXES = {"ParameterAtBoundWarning": ParameterAtBoundWarning, "RoleMismatchWarning": RoleMismatchWarning}


def warning_class(text: str) -> type[EisnaWarning]:
    """The :mod:`eisna.errors` class of one of :attr:`FitResult.warnings`."""
    head = text.split(":", 1)[0]
    if head in _PREFIXES:
        return _PREFIXES[head]
    if "not identifiable" in text:
        return UnidentifiableParameterWarning
    if text.startswith("poor fit"):
        return PoorFitWarning
    return EisnaWarning


@functools.wraps(_engine_fit)
def fit(spectrum: Any, circuit: Any, **options: Any) -> FitResult:
    if is_custom_circuit(circuit):
        circuit, options["initial"], options["fixed"] = from_impedance(
            circuit, options.get("initial"), options.get("fixed")
        )
    result = _engine_fit(spectrum, circuit, **options)
    for text in result.warnings:
        head, sep, rest = text.partition(": ")
        message = rest if sep and head in _PREFIXES else text
        warnings.warn(message, warning_class(text), stacklevel=2)
    return result
