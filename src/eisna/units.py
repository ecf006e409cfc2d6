"""Units in one place: SI prefixes, unit names, column slugs, value ± error text.

* :func:`normalise_unit` — ``"Ohm cm2"`` → ``"Ω·cm²"`` (the spelling eisna prints).
* :func:`si_scale` — ``(factor, "kΩ")`` so that a value in Ω divided by ``factor`` reads in kΩ.
* :func:`unit_slug` / :func:`unit_from_slug` — ``"Ω·cm²"`` ↔ ``"ohm_cm2"`` for column names.
* :func:`param_unit` — unit of a circuit parameter, from the element specifications
  (:data:`eisna.circuit.elements.ELEMENTS`).
* :func:`format_quantity` — ``"1.234 ± 0.041 nF"``: the error to two significant digits,
  the value rounded to the same decimal place.

Examples
--------
>>> format_quantity(1.234e-9, 4.1e-11, "F")
'1.234 ± 0.041 nF'
>>> unit_slug("Ω·cm²"), unit_from_slug("ohm_cm2")
('ohm_cm2', 'Ω·cm²')
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Any

__all__ = [
    "PREFIXES",
    "format_quantity",
    "format_time",
    "normalise_unit",
    "param_unit",
    "si_scale",
    "time_axis_label",
    "time_unit",
    "unit_from_slug",
    "unit_slug",
]

#: (factor, prefix), largest first
PREFIXES: tuple[tuple[float, str], ...] = (
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
    (1.0, ""),
    (1e-3, "m"),
    (1e-6, "µ"),
    (1e-9, "n"),
    (1e-12, "p"),
    (1e-15, "f"),
)
# units that take an SI prefix on their first factor
_PREFIXABLE = {"Ω", "F", "Hz", "H", "s", "S", "V", "A", "S/cm", "F/cm²"}
_ALIASES = {
    "Ohm": "Ω",
    "ohm": "Ω",
    "Ohm cm2": "Ω·cm²",
    "ohm cm2": "Ω·cm²",
    "Ohm*cm2": "Ω·cm²",
    "Ω cm²": "Ω·cm²",
    "F/cm2": "F/cm²",
    "F cm-2": "F/cm²",
    "S cm-1": "S/cm",
    "cm2": "cm²",
    "F s^(n-1)": "F·s^(n−1)",
    "H s^(n-1)": "H·s^(n−1)",
    "Ohm s^-1/2": "Ω·s^−½",
}
_SLUGS = {
    "": "",
    "Ω": "ohm",
    "Ω·cm²": "ohm_cm2",
    "S/cm": "S_per_cm",
    "F/cm²": "F_per_cm2",
    "µF/cm²": "uF_per_cm2",
    "nm": "nm",
    "F": "F",
    "Hz": "Hz",
    "s": "s",
    "h": "h",
    "eV": "eV",
    "K": "K",
}
# names that are not element parameters but appear in tables
_EXTRA_PARAM_UNITS = {"W": "Ω·s^−½", "sigma": "Ω·s^−½", "A": "Ω·s^−½"}


def normalise_unit(unit: str) -> str:
    """The printed spelling of a unit: ``"Ohm"`` → ``"Ω"``, ``"F s^(n-1)"`` → ``"F·s^(n−1)"``."""
    return _ALIASES.get(unit, unit)


def si_scale(value: float, unit: str) -> tuple[float, str]:
    """``(factor, prefixed unit)`` for ``value`` in ``unit``: ``si_scale(2.5e4, "Ω")`` → ``(1e3, "kΩ")``.

    Compound units (``Ω·cm²``) and unknown units are returned unscaled.
    """
    unit = normalise_unit(unit)
    if unit not in _PREFIXABLE or not math.isfinite(value) or value == 0:
        return 1.0, unit
    for factor, prefix in PREFIXES:
        if abs(value) >= factor * 0.9995:
            return factor, prefix + unit
    return PREFIXES[-1][0], PREFIXES[-1][1] + unit


def unit_slug(unit: str) -> str:
    """ASCII column-name form of a unit: ``"Ω·cm²"`` → ``"ohm_cm2"``, ``"S/cm"`` → ``"S_per_cm"``."""
    unit = normalise_unit(unit)
    if unit in _SLUGS:
        return _SLUGS[unit]
    plain = unit.replace("Ω", "ohm").replace("µ", "u").replace("²", "2").replace("/", "_per_")
    return re.sub(r"[^A-Za-z0-9]+", "_", plain).strip("_")


def unit_from_slug(slug: str) -> str:
    """The unit a column slug stands for (inverse of :func:`unit_slug` for the known units)."""
    for unit, s in _SLUGS.items():
        if s == slug:
            return unit
    return slug


@cache
def _element_units() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Parameter symbol → unit, and element symbol → units of its parameters, from the specs."""
    from .circuit.elements import ELEMENTS

    by_symbol: dict[str, str] = {}
    by_element: dict[str, tuple[str, ...]] = {}
    for spec in ELEMENTS.values():
        by_element[spec.symbol] = tuple(normalise_unit(p.unit) for p in spec.params)
        for p in spec.params:
            head = p.symbol.split("_", 1)[0]
            by_symbol.setdefault(head, normalise_unit(p.unit))
    return by_symbol, by_element


def param_unit(name: str) -> str:
    """Unit of a circuit parameter from the element specifications.

    ``R_gb`` → Ω, ``Q_int`` → F·s^(n−1), ``n_int`` → "" (dimensionless); circuit-string names
    ``CPE1_0`` / ``CPE1_1`` take the unit of the element's first / second parameter.
    Unknown names give "".
    """
    by_symbol, by_element = _element_units()
    match = re.match(r"([A-Za-z]+)\d*_(\d+)$", name)
    if match and match.group(1) in by_element:
        units = by_element[match.group(1)]
        k = int(match.group(2))
        if k < len(units):
            return units[k]
    head_match = re.match(r"[A-Za-z]+", name)
    head = head_match.group(0) if head_match else ""
    if head in _EXTRA_PARAM_UNITS:
        return _EXTRA_PARAM_UNITS[head]
    return by_symbol.get(head, "")


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _decimals(err: float) -> int:
    """Decimal places that show ``err`` with two significant digits (0 to 6)."""
    return min(max(1 - math.floor(math.log10(err)), 0), 6)


def format_quantity(value: Any, stderr: Any = None, unit: str = "") -> str:
    """Format ``value ± stderr unit`` with an SI prefix and as many digits as the error supports.

    The error is rounded to two significant digits and the value to the same decimal place;
    without an error (``stderr`` None or 0) the value gets four significant digits; an error
    that is NaN or infinite (not determined) prints as ``± ?``. An error over 10× the value
    prints ``(σ > 10×)``. Non-finite values give ``"—"``.
    """
    if not _finite(value):
        return "—"
    value = float(value)
    unit = normalise_unit(unit)
    if stderr is not None and not _finite(stderr):
        try:
            float(stderr)
        except (TypeError, ValueError):
            return format_quantity(value, None, unit)
        shown = format_quantity(value, None, unit)
        number, _, rest = shown.partition(" ")
        return f"{number} ± ?" + (f" {rest}" if rest else "")
    err = float(stderr) if stderr is not None and float(stderr) > 0 else None
    if err is not None and value != 0 and err > 10 * abs(value):
        # an unidentifiable parameter: digits of its error would only mislead
        return f"{format_quantity(value, None, unit)} (σ > 10×)"
    scale, shown_unit = si_scale(value, unit) if "·" not in unit else (1.0, unit)
    v = value / scale
    suffix = f" {shown_unit}" if shown_unit else ""
    if scale == 1.0 and value != 0 and not (1e-3 <= abs(value) < 1e5):
        # no prefix available (compound unit): scientific notation with a shared exponent
        exp = math.floor(math.log10(abs(value)))
        m = value / 10**exp
        if err is None:
            return f"{m:.3f}e{exp:+03d}{suffix}"
        e = err / 10**exp
        dec = _decimals(e)
        return f"({m:.{dec}f} ± {e:.{dec}f})e{exp:+03d}{suffix}"
    if err is None:
        return f"{v:.4g}{suffix}" if abs(v) < 1e4 else f"{v:.0f}{suffix}"
    e = err / scale
    dec = _decimals(e)
    return f"{v:.{dec}f} ± {e:.{dec}f}{suffix}"


RANK_BASIS = "file order"  # a cell without times: its "hours" are the spectra's ranks


def time_unit(basis: str | None) -> str:
    """Unit of a cell's time axis: ``"h"``, or ``"rank"`` for spectra put in file order (no
    timestamps, elapsed times or interval): an onset or t95 there is a position in the list."""
    return "rank" if basis == RANK_BASIS else "h"


def time_axis_label(basis: str | None) -> str:
    """Axis label of a cell's time axis: ``"t / h"``, or the rank of a cell without times."""
    return "t / h" if time_unit(basis) == "h" else "spectrum rank (file order, no times)"


def format_time(value: float, basis: str | None, spec: str = ".2f") -> str:
    """A time on a cell's axis as text: ``"0.40 h"``, or ``"rank 0.40 (file order, no times)"``."""
    if time_unit(basis) == "rank":
        return f"rank {value:{spec}} (file order, no times)"
    return f"{value:{spec}} h"
