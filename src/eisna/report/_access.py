"""Duck-typed access to fits, failures, rows and stored records, shared by the report modules."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..analysis import _get, _is_fit  # one definition of "a fit" for analysis and report

__all__ = ["_celsius", "_finite", "_get", "_is_fit", "_label_of", "_meta", "_source_of"]


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


# ----------------------------------------------------------------------------- data access
def _meta(item: Any) -> Mapping[str, Any]:
    for holder in (item, _get(item, "spectrum")):
        meta = _get(holder, "meta") if holder is not None else None
        if isinstance(meta, Mapping):
            return meta
    return {}


def _source_of(item: Any) -> str | None:
    if isinstance(item, Mapping):
        return item.get("source")
    return _meta(item).get("source") or _get(item, "source")


def _label_of(item: Any, i: int) -> str:
    src = _source_of(item)
    index = item.get("index") if isinstance(item, Mapping) else _meta(item).get("index", _get(item, "index"))
    name = Path(str(src)).name if src else f"spectrum {i + 1}"
    return f"{name} #{index}" if index is not None and str(index) != "" else name


def _celsius(kelvin: Any) -> str:
    """A temperature in K as °C with one decimal, or "—"."""
    return f"{float(kelvin) - 273.15:.1f}" if _finite(kelvin) else "—"
