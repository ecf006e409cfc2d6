""":class:`CyclingContext`: a cycling summary on the impedance series' time axis (batch, report)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .clock import ClockMismatchError, _zone, common_clock_offset_h
from .halfcycles import CyclingDataError, CyclingSummary, cycling_summary

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, eq=False)
class CyclingContext:
    """Cycling data of the cell of an impedance series, put on the series' clock.

    Attributes
    ----------
    source : str
        The cycling file.
    data : pandas.DataFrame
        Its records (:func:`eisna.read_cycling`).
    summary : CyclingSummary
        Per-half-cycle overpotential, DC resistance and soft-short events.
    eis_offset_h : float or None
        Time of the first impedance spectrum on the cycling clock (h); None when the two have
        no common clock (then the figure counts both from 0).
    tz : str or None
        Time zone used for zone-less timestamps.
    """

    source: str
    data: pd.DataFrame
    summary: CyclingSummary
    eis_offset_h: float | None
    tz: str | None = None

    def realigned(self, eis_start: datetime | None, area_cm2: float | None) -> CyclingContext:
        """The same data with the offset taken from ``eis_start`` and the ASR from ``area_cm2``."""
        from dataclasses import replace

        summary = self.summary
        if area_cm2 != summary.area_cm2:
            criteria: dict[str, Any] = dict(summary.criteria)
            summary = cycling_summary(self.data, area_cm2=area_cm2, **criteria)
        offset = self.eis_offset_h
        if eis_start is not None:
            offset = common_clock_offset_h(eis_start, self.data, self.tz, source=self.source)
        return replace(self, summary=summary, eis_offset_h=offset)

    def half_cycles_frame(self) -> pd.DataFrame:
        """The half-cycle table, plus ``time_h_eis`` (h since the first impedance spectrum)."""
        frame = self.summary.half_cycles.copy()
        if self.eis_offset_h is not None and "time_h" in frame.columns:
            frame["time_h_eis"] = frame["time_h"] - self.eis_offset_h
        return frame

    def to_dict(self) -> dict[str, Any]:
        """What ``cycling.json`` holds: source, clock offset, counts, first/last η and events."""
        hc = self.summary.half_cycles
        ok = hc[~hc["short"]] if "short" in hc.columns else hc

        # EC-Lab files: what voltage_V is (Ewe or Ewe-Ece) and why; Neware frames have no such attrs
        voltage = {
            key: value for key, value in self.data.attrs.items() if key in ("potential", "potential_reason")
        }

        def at(row: int, col: str) -> float | None:
            return float(ok[col].iloc[row]) if len(ok) and col in ok.columns else None

        return {
            "source": self.source,
            "eis_offset_h": self.eis_offset_h,
            "tz": self.tz,
            "n_records": len(self.data),
            "n_half_cycles": len(hc),
            "area_cm2": self.summary.area_cm2,
            "overpotential_first_V": at(0, "overpotential_V"),
            "overpotential_last_V": at(-1, "overpotential_V"),
            "asr_dc_first_ohm_cm2": at(0, "asr_dc_ohm_cm2"),
            "asr_dc_last_ohm_cm2": at(-1, "asr_dc_ohm_cm2"),
            "first_short_h": self.summary.first_short_h,
            **voltage,
            "events": [
                {"time_h": e.time_h, "half_cycle": e.half_cycle, "reason": e.reason, "detail": e.detail}
                for e in self.summary.events
            ],
        }


def cycling_context(
    path: Any,
    *,
    eis_start: datetime | None = None,
    area_cm2: float | None = None,
    tz: str | None = None,
    eis_offset: float | None = None,
    potential: str = "auto",
) -> CyclingContext:
    """Read a cycling file, summarise it and place an impedance series on its clock.

    Parameters
    ----------
    path : path
        Neware ``.nda``/``.ndax``/CSV/XLSX or EC-Lab cycling file (:func:`eisna.read_cycling`).
    eis_start : datetime, optional
        Absolute time of the first impedance spectrum; the offset then follows from the
        timestamps (:func:`eis_offset_h`).
    area_cm2 : float, optional
        Electrode area for the DC ASR (cm²).
    tz : str, optional
        Zone of zone-less timestamps when the other side has one.
    eis_offset : float, optional
        The offset (h) when it is known already; used when ``eis_start`` is None.
    potential : {"auto", "Ewe", "Ewe-Ece"}
        Cell voltage of an EC-Lab file (:func:`eisna.read_cycling`): ``Ewe - Ece`` when the
        file records the counter electrode (``"auto"``), or forced.

    Raises
    ------
    EisnaError
        The file cannot be read, holds no cycling records, or the two clocks carry and lack a
        time zone without ``tz``. Messages name the file.
    """
    from ..io import read_cycling

    if tz is not None:  # before the read: a misspelt zone fails at once
        try:
            _zone(tz)
        except ClockMismatchError as err:
            raise ClockMismatchError(f"{path}: {err}") from err
    data = read_cycling(path, potential=potential)
    try:
        summary = cycling_summary(data, area_cm2=area_cm2)
    except CyclingDataError as err:
        raise CyclingDataError(f"{path}: {err}") from err
    return CyclingContext(str(path), data, summary, eis_offset, tz).realigned(eis_start, area_cm2)
