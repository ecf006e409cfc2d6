"""Instrument readers.

:func:`read` returns every impedance spectrum of a file as a list of
:class:`~eisna.Spectrum`; :func:`read_cycling` returns cycling data as a
:class:`pandas.DataFrame`. The reader is chosen by content (magic bytes, the
EC-Lab header) first and by file extension second.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ._limits import get_limits, set_limits
from ._registry import call_reader, find_reader, list_formats

if TYPE_CHECKING:
    import pandas as pd

    from ..spectrum import Spectrum

__all__ = ["get_limits", "list_formats", "read", "read_cycling", "set_limits"]


def read(path: str | os.PathLike[str], **options: Any) -> list[Spectrum]:
    """Read every impedance spectrum in an instrument file.

    Parameters
    ----------
    path : str or PathLike
        EC-Lab ``.mpt``/``.mpr``, or a CSV/TXT table with frequency and impedance columns.
    **options
        Passed to the chosen reader (for example ``columns=`` for generic tables);
        ``max_bytes=`` (int, bytes) raises or lowers the per-file size limit for this
        call (default 2 GiB, see :func:`set_limits`).

    Returns
    -------
    list of Spectrum
        In acquisition order. Never empty.

    Raises
    ------
    ParseError
        The file is missing, empty, truncated or malformed.
    NoImpedanceData
        A valid file without impedance data (e.g. a GCPL run or a Neware cycling file).
    """
    with _limits_of(options):
        reader = find_reader(path, need="read")
        return call_reader(reader.read, path, **options)


def read_cycling(path: str | os.PathLike[str], *, potential: str = "auto", **options: Any) -> pd.DataFrame:
    """Read cycling data (Neware ``.nda``/``.ndax``, BTS CSV/XLSX, EC-Lab GCPL/MB).

    Parameters
    ----------
    path : str or PathLike
        The cycling file.
    potential : {"auto", "Ewe", "Ewe-Ece"}
        Which potential of an EC-Lab file (``.mpt``/``.mpr``) is the cell voltage
        ``voltage_V``: ``"auto"`` takes ``Ewe - Ece`` when the file records the counter
        electrode (an ``Ewe-Ece/V`` column, or ``Ece/V`` with an ``Ewe-Ece`` control,
        ``CE to ground`` or ``Record Ece`` in the header), else ``Ewe``; ``"Ewe"`` and
        ``"Ewe-Ece"`` force it. Neware files record one voltage, the cell's: they take
        ``"auto"`` only.
    **options
        Passed to the reader (``decimal=``, ``date_order=`` for ``.mpt``; ``cycle_mode=``
        for Neware binaries) and ``max_bytes=``/``max_zip_ratio=`` (see :func:`read`).

    Returns
    -------
    pandas.DataFrame
        Columns in SI units: ``time_s`` (total test time, s), ``voltage_V``,
        ``current_A``, ``capacity_Ah``, ``cycle``, ``step``, ``step_type``, and
        ``timestamp`` where the file has absolute times; EC-Lab files that record the
        counter electrode add ``Ewe_V`` and ``Ece_V``. EC-Lab frames say what ``voltage_V``
        is in ``attrs["potential"]`` (``"Ewe"`` or ``"Ewe-Ece"``) and why in
        ``attrs["potential_reason"]``; Neware frames hold the cyclers' one (cell) voltage and
        no such attrs.

    Raises
    ------
    UsageError
        ``potential`` is not one of the three, or is ``"Ewe"``/``"Ewe-Ece"`` for a file
        that is not an EC-Lab one.
    MissingColumnError
        ``potential="Ewe-Ece"`` on an EC-Lab file without ``Ece/V``.
    """
    from ._cell_potential import check_potential

    check_potential(potential)
    with _limits_of(options):
        reader = find_reader(path, need="read_cycling")
        if getattr(reader, "CELL_POTENTIALS", False):
            return call_reader(reader.read_cycling, path, potential=potential, **options)
        if potential != "auto":
            raise UsageError(
                f"{path}: potential={potential!r} applies to EC-Lab files (.mpt/.mpr), which record "
                f"Ewe and Ece apart; this {reader.NAME} file records one voltage, the cell's, which "
                "voltage_V holds. Leave potential at 'auto' (no --potential) for it."
            )
        return call_reader(reader.read_cycling, path, **options)


def _limits_of(options: dict[str, Any]) -> Any:
    """The reading limits passed as options (``max_bytes=``, ``max_zip_ratio=``), for one call."""
    from ._limits import limits

    return limits(**{k: options.pop(k) for k in ("max_bytes", "max_zip_ratio") if k in options})
