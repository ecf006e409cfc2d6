"""Placeholder metadata: instrument defaults that are not measurements.

EC-Lab writes ``Electrode surface area : 0.001 cm²`` when the user never entered an area; an
ASR or a conductivity computed from it is 1000× off for a 1 cm² cell. Readers hand their
spectra through :func:`mark_placeholder_area`: the placeholder moves from ``meta["area_cm2"]``
(which every per-area quantity reads) to ``meta["area_cm2_file"]``, ``meta["area_source"]``
says ``"placeholder-ignored"`` (``"file"`` for a real area) and one
:class:`~eisna.errors.PlaceholderWarning` (a MetadataWarning) names the file.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

from ..errors import PlaceholderWarning
from ..spectrum import Spectrum

__all__ = ["ECLAB_DEFAULT_AREA_CM2", "is_placeholder_area", "mark_placeholder_area"]

ECLAB_DEFAULT_AREA_CM2 = 0.001  # EC-Lab's default "Electrode surface area"


def is_placeholder_area(area_cm2: float | None, default: float = ECLAB_DEFAULT_AREA_CM2) -> bool:
    """True when ``area_cm2`` equals the instrument's default (relative tolerance 1e-9)."""
    return area_cm2 is not None and math.isclose(float(area_cm2), default, rel_tol=1e-9)


def mark_placeholder_area(
    spectra: Sequence[Spectrum], path: object, default: float = ECLAB_DEFAULT_AREA_CM2
) -> list[Spectrum]:
    """Set ``area_source`` on every spectrum; drop a placeholder area (warn once per file)."""
    out: list[Spectrum] = []
    warned = False
    for s in spectra:
        area = s.meta.get("area_cm2")
        if area is not None and is_placeholder_area(area, default):
            if not warned:
                warnings.warn(
                    f"{path}: electrode area {area:g} cm² is EC-Lab's default placeholder, not a "
                    "measurement; no per-area quantity (ASR, σ, thickness) is computed from it. "
                    "Give the real area with --area-cm2 (or geometry=CellGeometry(...)).",
                    PlaceholderWarning,
                    stacklevel=3,
                )
                warned = True
            out.append(
                s.with_meta(area_cm2=None, area_cm2_file=float(area), area_source="placeholder-ignored")
            )
        elif area:
            out.append(s.with_meta(area_source="file"))
        else:
            out.append(s)
    return out
