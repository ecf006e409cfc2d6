"""Clock alignment of a cycling file with an impedance series (absolute timestamps, time zones)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from .halfcycles import CyclingDataError

if TYPE_CHECKING:
    pass


class ClockMismatchError(CyclingDataError):
    """Both clocks exist but cannot be compared as given: an unknown zone, or zone-aware and
    zone-less timestamps without ``tz``. Unlike a missing clock, this needs the user."""


def _zone(tz: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ClockMismatchError(
            f"unknown time zone {tz!r}; expected an IANA name such as 'Europe/Berlin' or 'UTC'."
        ) from err


def eis_offset_h(eis_start: datetime | None, cycling: Any, tz: str | None = None) -> float:
    """Time of an EIS series' first spectrum on the cycling clock (h).

    The cycling clock is the ``time_s`` column of :func:`eisna.read_cycling` (0 at the start of
    the cycling test); its absolute zero comes from the first record that has a ``timestamp``.
    The result is negative when the impedance series started before the cycling (e.g. −24.5 h
    for a 24-h OCV hold followed by cycling half an hour later), so that EIS times
    ``time_h + offset`` share the cycling axis.

    Parameters
    ----------
    eis_start : datetime or None
        Absolute time of the first spectrum (:attr:`eisna.SeriesResult.start_time`).
    cycling : pandas.DataFrame or mapping of columns
        Cycling records with ``time_s`` (s) and ``timestamp``.
    tz : str, optional
        IANA time zone of the clock that wrote zone-less timestamps (e.g. ``"Europe/Berlin"``).
        Needed only when one side has a zone and the other not: Neware ``.nda``/``.ndax``
        binaries give UTC, while EC-Lab files and BTSDA CSV exports give local time.

    Returns
    -------
    float
        Offset in hours.

    Raises
    ------
    CyclingDataError
        No timestamps on either side, an unknown zone, or zone-aware and zone-less times without
        ``tz`` (the message says what to pass).
    """
    import pandas as pd

    if tz is not None:
        _zone(tz)  # a misspelt zone is an error even where it is not needed
    frame = cycling if isinstance(cycling, pd.DataFrame) else pd.DataFrame(dict(cycling))
    if eis_start is None:
        raise CyclingDataError(
            "the impedance spectra have no absolute timestamps; pass the offset "
            "between EIS and cycling explicitly (eis_offset_h)."
        )
    if "timestamp" not in frame.columns or "time_s" not in frame.columns:
        raise CyclingDataError(
            "the cycling data have no 'timestamp' and 'time_s' columns to put the "
            "impedance series on their clock; pass eis_offset_h explicitly."
        )
    stamps = pd.to_datetime(frame["timestamp"], errors="coerce")
    t_s = pd.to_numeric(frame["time_s"], errors="coerce")
    ok = (stamps.notna() & np.isfinite(t_s)).to_numpy()
    if not ok.any():
        raise CyclingDataError(
            "no cycling record has both a timestamp and a test time; pass eis_offset_h explicitly."
        )
    i = int(np.flatnonzero(ok)[0])
    zero = pd.Timestamp(stamps.iloc[i]) - pd.Timedelta(seconds=float(t_s.iloc[i]))
    start = pd.Timestamp(eis_start)
    if (zero.tzinfo is None) != (start.tzinfo is None):
        if tz is None:
            which, zone = ("cycling", zero.tzinfo) if zero.tzinfo is not None else ("impedance", start.tzinfo)
            raise ClockMismatchError(
                f"the {which} timestamps carry a time zone ({zone}) "
                "and the others are local clock times without one; give the zone of the lab computers "
                "with --tz Area/City (e.g. --tz Europe/Berlin; the tz argument in Python) "
                "to put them on one axis."
            )
        zone = _zone(tz)
        if zero.tzinfo is None:
            zero = zero.tz_localize(zone)
        else:
            start = start.tz_localize(zone)
    return float((start - zero).total_seconds() / 3600.0)


def common_clock_offset_h(
    eis_start: datetime | None, cycling: Any, tz: str | None = None, source: Any = None
) -> float | None:
    """:func:`eis_offset_h`, or None when either side has no absolute clock.

    Raises :class:`ClockMismatchError` (prefixed with ``source`` when given) when both have
    clocks that cannot be compared as given.
    """
    try:
        return eis_offset_h(eis_start, cycling, tz)
    except ClockMismatchError as err:
        if source is None:
            raise
        raise ClockMismatchError(f"{source}: {err}") from err
    except CyclingDataError:
        return None  # one side has no clock: both are counted from their own start
