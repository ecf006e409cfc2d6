"""Keep arc identity continuous through a cell: undo bulk/grain-boundary swaps.

A spectrum whose bulk arc is slower than its grain-boundary arc (τ_b > τ_gb) while most
spectra of its cell have them the other way round is refitted from the nearest spectrum with
the usual order (same circuit); the refit replaces it when it keeps the order and its χ² is
within ``chisqr_tolerance`` of the swapped fit (the data do not prefer the swap).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .outcome import FitFailure

if TYPE_CHECKING:
    from .fitter import _Fitter

__all__ = ["undo_swaps"]


def _tau(res: Any, key: str) -> float:
    q = (res.derived or {}).get(f"tau_{key}") if not isinstance(res, FitFailure) else None
    return float(q.value) if q is not None and np.isfinite(q.value) else np.nan


def _order(res: Any) -> bool | None:
    """True when τ_b < τ_gb, False when swapped, None when not both present."""
    if res is None or isinstance(res, FitFailure):
        return None
    tb, tg = _tau(res, "b"), _tau(res, "gb")
    if not (np.isfinite(tb) and np.isfinite(tg)):
        return None
    return bool(tb < tg)


def undo_swaps(
    fitter: _Fitter,
    spectra: list[Any],
    results: list[Any],
    cells: dict[Any, list[int]],
    chisqr_tolerance: float = 1.1,
) -> list[Any]:
    """Results with swapped bulk/grain-boundary arcs refitted from a neighbour in order."""
    out = list(results)
    for positions in cells.values():
        orders = [_order(out[p]) for p in positions]
        good = [p for p, o in zip(positions, orders, strict=True) if o is True]
        if len(good) <= len(positions) // 2:
            continue  # no clear majority order: nothing to restore
        for p, o in zip(positions, orders, strict=True):
            if o is not False:
                continue
            res = out[p]
            seed_pos = min(good, key=lambda g: abs(g - p))
            seed = out[seed_pos]
            if seed.circuit_name != res.circuit_name or (res.meta or {}).get("fallback_reason"):
                continue
            new = fitter.safe_fit(spectra[p], res.circuit_name, dict(seed.params))
            if _order(new) is True and new.success and new.chisqr <= chisqr_tolerance * res.chisqr:
                note = f"bulk/grain-boundary swap undone (seeded from series position {seed_pos})"
                out[p] = replace(new, meta={**dict(new.meta or {}), "identity": note})
    return out
