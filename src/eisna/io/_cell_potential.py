"""Which potential of an EC-Lab file is the cell voltage of :func:`eisna.read_cycling`.

EC-Lab measures the working electrode against the reference (``Ewe``) and, with
``Record Ece`` or an ``Ewe-Ece`` control, the counter electrode against the reference
(``Ece``). The cell voltage, working minus counter electrode, is ``Ewe - Ece``: in a
two-electrode cell (reference lead on the counter electrode) ``Ece`` is ~0 and ``Ewe``
is the cell voltage; with a separate reference electrode ``Ewe`` is only the working
electrode's half of it.

``potential="auto"`` takes, in this order:

1. an ``Ewe-Ece/V`` (``<Ewe-Ece>/V``) column, which EC-Lab exports when Ece was recorded;
2. ``Ewe - Ece`` when an ``Ece/V`` (``<Ece>/V``) column holds a finite non-zero value and the
   header says the counter electrode was measured: ``Potential control : Ewe-Ece``,
   ``Electrode connection : CE to ground`` or the ``Record Ece`` line (an ``.mpr`` stores
   ``Ece/V`` only then, so the column is that evidence);
3. ``Ewe``.

``"Ewe"`` and ``"Ewe-Ece"`` force the choice; ``"Ewe-Ece"`` on a file without Ece raises
:class:`~eisna.errors.MissingColumnError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import MissingColumnError, UsageError

__all__ = ["POTENTIALS", "CellPotential", "cell_potential", "check_potential", "header_evidence"]

POTENTIALS = ("auto", "Ewe", "Ewe-Ece")


def check_potential(potential: object) -> str:
    """Return ``potential`` when it is one of :data:`POTENTIALS`, else raise :class:`UsageError`."""
    if not isinstance(potential, str) or potential not in POTENTIALS:
        raise UsageError(
            f"potential must be one of {', '.join(repr(p) for p in POTENTIALS)}; found {potential!r}. "
            "'auto' picks Ewe-Ece when the file records the counter electrode, else Ewe."
        )
    return potential


@dataclass(frozen=True)
class CellPotential:
    """The cell voltage chosen for a cycling frame.

    Attributes
    ----------
    voltage_V : ndarray
        The ``voltage_V`` column (V, float64).
    potential : {"Ewe", "Ewe-Ece"}
        What it is.
    reason : str
        Why (the column or header line that decided it), for ``frame.attrs["potential_reason"]``.
    extra : dict of str to ndarray
        ``Ewe_V`` and ``Ece_V`` (V) when the file records the counter electrode; empty otherwise,
        so that frames of files without Ece keep their columns.
    """

    voltage_V: np.ndarray
    potential: str
    reason: str
    extra: Mapping[str, np.ndarray]

    def apply(self, frame: Any) -> None:
        """Add the extra columns and ``attrs["potential"]``/``attrs["potential_reason"]`` to ``frame``."""
        for name, values in self.extra.items():
            frame[name] = values
        frame.attrs["potential"] = self.potential
        frame.attrs["potential_reason"] = self.reason


def header_evidence(header: Mapping[str, Any]) -> str | None:
    """``"the header says '<line>'"`` for the ``.mpt`` header line saying the counter electrode
    was measured, or None.

    The lines are ``Potential control : Ewe-Ece``, ``Electrode connection : CE to ground`` and
    the flag line ``Record Ece``, looked for in that order.
    """
    control = str(header.get("Potential control", "")).strip()
    if control.replace(" ", "").lower() == "ewe-ece":
        return f"the header says 'Potential control : {control}'"
    connection = str(header.get("Electrode connection", "")).strip()
    if "ce to ground" in connection.lower():
        return f"the header says 'Electrode connection : {connection}'"
    if "Record Ece" in header:
        return "the header says 'Record Ece'"
    return None


def cell_potential(
    where: str,
    potential: str,
    *,
    ewe: np.ndarray,
    ece: tuple[str, np.ndarray] | None,
    ewe_minus_ece: tuple[str, np.ndarray] | None,
    evidence: str | None,
    ewe_name: str = "Ewe/V",
) -> CellPotential:
    """Choose the cell voltage of one file (see the module docstring for the rule).

    Parameters
    ----------
    where : str
        The file, for messages.
    potential : {"auto", "Ewe", "Ewe-Ece"}
        Checked by :func:`check_potential`.
    ewe : ndarray
        The working-electrode potential (V).
    ece, ewe_minus_ece : (column name, ndarray) or None
        The counter-electrode potential and EC-Lab's ``Ewe-Ece`` column (V), when present.
    evidence : str or None
        Why the counter electrode counts as measured, as a phrase for the reason (``"the header
        says 'Record Ece'"``, from :func:`header_evidence`); None when nothing says so.
    ewe_name : str
        The name of ``ewe``'s column in the file. BT-Lab's ``Ecell/V`` (``<Ecell>/V``) is the
        cell voltage itself (Ewe − Ece), so it is taken as ``"Ewe-Ece"``.

    Raises
    ------
    UsageError
        ``potential`` is not one of the three choices.
    MissingColumnError
        ``potential="Ewe-Ece"`` and the file records no counter-electrode potential.
    """
    check_potential(potential)
    ewe = np.asarray(ewe, dtype=np.float64)
    if "Ecell" in ewe_name and ece is None and ewe_minus_ece is None:
        if potential == "Ewe":
            raise MissingColumnError(
                where,
                f"potential='Ewe' needs the working-electrode potential: expected an 'Ewe/V' column; "
                f"found only BT-Lab's {ewe_name!r}, the cell voltage (Ewe - Ece).",
                column="Ewe/V",
                hint="Read the file with potential='auto' or 'Ewe-Ece' (--potential auto), which takes "
                f"{ewe_name!r}; export Ewe in BT-Lab to see the working electrode alone.",
            )
        return CellPotential(ewe, "Ewe-Ece", f"the file's {ewe_name!r} column, BT-Lab's cell voltage", {})
    ece_name, ece_raw = ece if ece is not None else ("Ece/V", None)
    diff_name, diff_raw = ewe_minus_ece if ewe_minus_ece is not None else ("Ewe-Ece/V", None)
    extra: dict[str, np.ndarray] = {}
    if ece_raw is not None or diff_raw is not None:
        extra["Ewe_V"] = ewe
    if ece_raw is not None:
        extra["Ece_V"] = np.asarray(ece_raw, dtype=np.float64)
    if potential == "Ewe":
        return CellPotential(ewe, "Ewe", "asked for (potential='Ewe')", extra)
    column, ece_values = _usable(diff_raw), _usable(ece_raw)
    if potential == "Ewe-Ece":
        if column is not None:
            return CellPotential(column, "Ewe-Ece", f"asked for; the file's {diff_name!r} column", extra)
        if ece_values is not None:
            return CellPotential(ewe - ece_values, "Ewe-Ece", f"asked for; Ewe minus {ece_name!r}", extra)
        found = "no such column" if ece_raw is None else f"the column {ece_name!r} holds no finite value"
        raise MissingColumnError(
            where,
            "potential='Ewe-Ece' needs the counter-electrode potential: expected an 'Ece/V' "
            f"(or '<Ece>/V', 'Ewe-Ece/V') column; found {found}.",
            column="Ece/V",
            hint="The run did not record Ece: read the file with potential='auto' or 'Ewe' "
            "(--potential Ewe), which is the cell voltage of a two-electrode cell; for a cell with a "
            "reference electrode, tick 'Record Ece' in EC-Lab for the next run.",
        )
    if column is not None:
        return CellPotential(column, "Ewe-Ece", f"the file has an {diff_name!r} column", extra)
    if ece_raw is None:
        return CellPotential(ewe, "Ewe", "no Ece column (counter electrode not recorded)", extra)
    if ece_values is None or not np.any(ece_values[np.isfinite(ece_values)] != 0):
        return CellPotential(ewe, "Ewe", f"{ece_name!r} is all zero or NaN", extra)
    if evidence is None:
        return CellPotential(
            ewe,
            "Ewe",
            f"{ece_name!r} present, but the header says neither 'Potential control : Ewe-Ece', "
            "'CE to ground' nor 'Record Ece'",
            extra,
        )
    return CellPotential(ewe - ece_values, "Ewe-Ece", f"Ewe minus {ece_name!r}; {evidence}", extra)


def _usable(raw: np.ndarray | None) -> np.ndarray | None:
    """The values as float64 when at least one is finite, else None."""
    if raw is None:
        return None
    values = np.asarray(raw, dtype=np.float64)
    return values if np.isfinite(values).any() else None
