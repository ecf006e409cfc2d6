"""Circuit fitting: :func:`fit` one spectrum, :func:`compare` several circuits."""

from __future__ import annotations

from .compare import ComparisonResult, FTest, compare
from .engine import resolve_circuit
from .interop import fit  # engine.fit + CustomCircuit input + raised warnings
from .result import Arc, FitResult, Quantity
from .weights import WEIGHTINGS

__all__ = [
    "WEIGHTINGS",
    "Arc",
    "ComparisonResult",
    "FTest",
    "FitResult",
    "Quantity",
    "compare",
    "fit",
    "resolve_circuit",
]
