"""eisna: impedance spectroscopy of sodium solid-state batteries.

The data flow is one-way::

    file ─read─▶ Spectrum ─kk_test/drt─▶ validation ─fit─▶ FitResult
         ─fit_series─▶ SeriesResult ─fit_kinetics─▶ KineticsResult ─▶ plots, report

Heavy modules (lmfit, scipy, matplotlib) are imported lazily, on first use of
the function that needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import (
    EisnaError,
    FitError,
    NoImpedanceData,
    ParseError,
    SpectrumError,
)
from .io import read, read_cycling
from .spectrum import CellGeometry, Spectrum

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access)
_LAZY = {
    "fit": "eisna.fitting",
    "FitResult": "eisna.fitting",
    "compare": "eisna.fitting",
    "parse_circuit": "eisna.circuit",
    "load_circuit": "eisna.circuit",
    "list_circuits": "eisna.circuit",
    "kk_test": "eisna.validation",
    "KKResult": "eisna.validation",
    "zhit": "eisna.validation",
    "ZHITResult": "eisna.validation",
    "estimate_noise": "eisna.validation",
    "drt": "eisna.relaxation",
    "DRTResult": "eisna.relaxation",
    "fit_series": "eisna.series",
    "SeriesResult": "eisna.series",
    "fit_joint": "eisna.series",
    "JointFitResult": "eisna.series",
    "batch": "eisna.batching",
    "fit_kinetics": "eisna.kinetics",
    "KineticsResult": "eisna.kinetics",
    "arrhenius": "eisna.temperature",
    "cycling_summary": "eisna.cycling",
    "write_report": "eisna.report",
}

__all__ = [
    "CellGeometry",
    "EisnaError",
    "FitError",
    "NoImpedanceData",
    "ParseError",
    "Spectrum",
    "SpectrumError",
    "__version__",
    "read",
    "read_cycling",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'eisna' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
