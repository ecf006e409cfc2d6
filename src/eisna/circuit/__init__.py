"""Equivalent circuits: parse impedance.py strings, compile them, load the TOML library."""

from __future__ import annotations

from .elements import ELEMENTS, ElementSpec, ParamSpec
from .library import (
    ROLES,
    CircuitDefinition,
    ParamDefault,
    definition_from_circuit,
    list_circuits,
    load_circuit,
)
from .parser import Circuit, ElementInstance, parse_circuit

__all__ = [
    "ELEMENTS",
    "ROLES",
    "Circuit",
    "CircuitDefinition",
    "ElementInstance",
    "ElementSpec",
    "ParamDefault",
    "ParamSpec",
    "definition_from_circuit",
    "list_circuits",
    "load_circuit",
    "parse_circuit",
]
