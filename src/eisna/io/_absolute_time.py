"""EC-Lab ``.mpt`` exports with ``Time format : Absolute``: clock times turned into elapsed seconds.

With that export option EC-Lab writes the ``time/s`` column as the PC's date and clock time
(``05/12/2023 14:23:45.1234``) instead of seconds. The date follows the Windows locale of the
exporting PC: month first (``MM/DD/YYYY``) or day first (``DD/MM/YYYY``), with ``/``, ``.`` or
``-`` between the fields, a decimal comma in the seconds in comma locales, and possibly a
``.`` between hours, minutes and seconds. The settings line may say which order
(``Time format : Absolute MMDDYYYY``); nothing else in the file declares it.

The day/month order is decided, strongest evidence first:

1. ``date_order`` given by the caller;
2. the order named on the ``Time format`` line;
3. a year-first date (``2023-05-12``), which is never ambiguous;
4. a field above 12 (or beyond the month's length) that rules one order out;
5. every date reading the same both ways (day = month), so that the order does not matter;
6. the time running forward in one order only;
7. the first row falling at or after ``Acquisition started on`` in one order only (EC-Lab
   writes that date month first; a day-first reading is tried when month first is impossible);
8. still both: the header's date read month first (EC-Lab's own convention), the choice
   recorded as ambiguous.

When none of these decides (no usable start date and every row reading validly and forward
both ways), :class:`~eisna.errors.ParseError` names the file, line and column and says how to
choose. Elapsed seconds count from ``Acquisition started on``, as in an ``Elapsed`` export, or
from the first row when the header has no start date.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from ..errors import MetadataWarning, ParseError

__all__ = ["ORDERS", "AbsoluteTimes", "looks_like_clock_time", "resolve"]

ORDERS = ("MDY", "DMY", "YMD")
_ORDER_NAMES = {"MDY": "month first (MM/DD/YYYY)", "DMY": "day first (DD/MM/YYYY)", "YMD": "year first"}
_DAY_S = 86400.0
_BACKWARD_TOLERANCE_S = 1e-3  # EC-Lab steps are ≥ 0.2 ms; rounding to the printed digits keeps order
_START_TOLERANCE_S = 1.0  # the header start is printed to 1 ms or 1 s

# date, then clock: "05/12/2023 14:23:45.1234", "12.05.2023 14.23.45,1234", "2023-05-12 2:23:45 PM"
_CLOCK = re.compile(
    r"^\s*(\d{4}|\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{1,2})[ T]+"
    r"(\d{1,2})([:.])(\d{2})\6(\d{2})(?:[.,](\d{1,9}))?(?:\s*([AaPp])\.?[Mm]\.?)?\s*$"
)
# "Absolute MMDDYYYY", "Absolute DD/MM/YYYY", "absolute yyyy-mm-dd"
_DECLARED = re.compile(r"(MM|DD|YYYY)\W?(MM|DD|YYYY)\W?(MM|DD|YYYY)", re.IGNORECASE)


@dataclass(frozen=True)
class AbsoluteTimes:
    """The ``time/s`` column of an absolute-time export, resolved.

    Attributes
    ----------
    elapsed_s : ndarray
        Seconds (float64) from ``origin`` for each data row.
    origin : datetime
        ``Acquisition started on`` when the header has a usable one, else the first row's time.
    origin_source : str
        ``"Acquisition started on"`` or ``"first data row"``.
    date_order : str
        ``"MDY"``, ``"DMY"`` or ``"YMD"``.
    reason : str
        Why that order was taken (the evidence, or ``"ambiguous: …"``).
    """

    elapsed_s: np.ndarray
    origin: datetime
    origin_source: str
    date_order: str
    reason: str


def looks_like_clock_time(cell: str) -> bool:
    """True when ``cell`` is a date and clock time (an absolute-time ``time/s`` cell)."""
    match = _CLOCK.match(cell)
    return match is not None and (len(match.group(1)) == 4) != (len(match.group(4)) == 4)


def declared_order(time_format: str | None) -> str | None:
    """The date order named on a ``Time format : Absolute MMDDYYYY`` line, or None."""
    if not time_format or (match := _DECLARED.search(time_format)) is None:
        return None
    fields = [g.upper()[0] for g in match.groups()]
    order = "".join(fields)
    return order if order in ORDERS else None


@dataclass(frozen=True)
class _Cells:
    """The cells split into fields; ``first``/``second`` are the two short date fields in file order."""

    year_first: bool
    first: np.ndarray
    second: np.ndarray
    year: np.ndarray
    clock_s: np.ndarray  # seconds since midnight, fraction included


def _split_cells(where: str, cells: list[str], lines: list[int], column: str) -> _Cells:
    """Parse every cell; the first that is not a date and time like the first row is an error."""
    n = len(cells)
    a = np.empty(n, dtype=np.int64)
    b = np.empty(n, dtype=np.int64)
    c = np.empty(n, dtype=np.int64)
    clock = np.empty(n, dtype=np.float64)
    year_first = None
    for i, cell in enumerate(cells):
        match = _CLOCK.match(cell)
        this_year_first = match is not None and len(match.group(1)) == 4
        if (
            match is None
            or (len(match.group(4)) == 4) == this_year_first
            or year_first not in (None, this_year_first)
        ):
            raise ParseError(
                where,
                f"expected a date and time like the first row ({cells[0].strip()!r}), "
                f"found {cell.strip()[:40]!r}.",
                line=lines[i],
                column=column,
                hint="The absolute-time column is damaged; export the text again from EC-Lab "
                "(ideally with 'Time format : Elapsed').",
            )
        year_first = this_year_first
        p1, _, p2, p3, hh, _, mm, ss, frac, half = match.groups()
        hour = int(hh)
        if half is not None:  # 12-hour clock: 12:xx AM is 0:xx, 12:xx PM is 12:xx
            hour = hour % 12 + (12 if half in "Pp" else 0)
        seconds = hour * 3600 + int(mm) * 60 + int(ss)
        if hour > 23 or int(mm) > 59 or int(ss) > 60:
            raise ParseError(
                where,
                f"expected a clock time HH:MM:SS, found {cell.strip()[:40]!r}.",
                line=lines[i],
                column=column,
            )
        if year_first:
            a[i], b[i], c[i] = int(p2), int(p3), int(p1)
        else:
            a[i], b[i], c[i] = int(p1), int(p2), int(p3)
        clock[i] = seconds + (int(frac) / 10 ** len(frac) if frac else 0.0)
    return _Cells(bool(year_first), a, b, c, clock)


def _days(cells: _Cells, order: str) -> np.ndarray | None:
    """Proleptic ordinal day of each row read in ``order``; None if some row is no valid date."""
    key = cells.year * 10000 + cells.first * 100 + cells.second
    unique, inverse = np.unique(key, return_inverse=True)
    ordinals = np.empty(unique.size, dtype=np.int64)
    for k, value in enumerate(unique.tolist()):
        year, first, second = value // 10000, value // 100 % 100, value % 100
        month, day = (second, first) if order == "DMY" else (first, second)
        try:
            ordinals[k] = datetime(year, month, day).toordinal()
        except ValueError:
            return None
    return ordinals[inverse]


def _first_invalid(cells: _Cells, order: str) -> int:
    """Index of the first row that is no valid date in ``order``."""
    for i in range(cells.first.size):
        month, day = (
            (cells.second[i], cells.first[i]) if order == "DMY" else (cells.first[i], cells.second[i])
        )
        try:
            datetime(int(cells.year[i]), int(month), int(day))
        except ValueError:
            return i
    return 0


def _header_readings(start_text: str | None) -> dict[str, datetime]:
    """``Acquisition started on`` read month first and, when that is impossible, day first."""
    if not start_text or (match := _CLOCK.match(start_text)) is None:
        return {}
    p1, _, p2, p3, hh, _, mm, ss, frac, half = match.groups()
    hour = int(hh) % 12 + (12 if half in ("P", "p") else 0) if half else int(hh)
    micro = int((frac or "0").ljust(6, "0")[:6])
    if len(p1) == 4:
        fields = {"YMD": (int(p1), int(p2), int(p3))}
    else:
        fields = {"MDY": (int(p3), int(p1), int(p2)), "DMY": (int(p3), int(p2), int(p1))}
    readings = {}
    for order, (year, month, day) in fields.items():
        try:
            readings[order] = datetime(year, month, day, hour, int(mm), int(ss), micro)
        except ValueError:
            continue
    if "MDY" in readings:  # EC-Lab writes the start month first; day first only when that fails
        readings.pop("DMY", None)
    return readings


def resolve(
    where: str,
    cells: list[str],
    lines: list[int],
    column: str,
    *,
    start_text: str | None,
    time_format: str | None,
    date_order: str | None = None,
) -> AbsoluteTimes:
    """Turn the absolute ``time/s`` cells into elapsed seconds, deciding the date order.

    Parameters
    ----------
    where : str
        The file (for messages).
    cells : list of str
        The ``time/s`` cell of each data row, as written.
    lines : list of int
        1-based file line of each row.
    column : str
        The column name (for messages).
    start_text : str or None
        The ``Acquisition started on`` value.
    time_format : str or None
        The ``Time format`` value (``"Absolute MMDDYYYY"``).
    date_order : {"MDY", "DMY", "YMD"}, optional
        Forces the order of the data dates.

    Returns
    -------
    AbsoluteTimes

    Raises
    ------
    ParseError
        A cell is not a date and time, ``date_order`` does not fit a row, or nothing decides
        between month first and day first.
    """
    parsed = _split_cells(where, cells, lines, column)
    candidates = ["YMD"] if parsed.year_first else ["MDY", "DMY"]
    days = {order: d for order in candidates if (d := _days(parsed, order)) is not None}
    if date_order is not None:
        if date_order not in ORDERS:
            raise ParseError(where, f"date_order must be one of {list(ORDERS)}; got {date_order!r}.")
        if date_order not in days:
            i = _first_invalid(parsed, date_order) if date_order in candidates else 0
            raise ParseError(
                where,
                f"date_order={date_order!r} does not fit {cells[i].strip()!r}.",
                line=lines[i],
                column=column,
                hint="Leave date_order out to have the order detected from the file.",
            )
        order, reason = date_order, "given by the caller (date_order)"
    else:
        order, reason = _decide(where, parsed, days, cells, lines, column, start_text, time_format)
    day_numbers = days[order]
    base = int(day_numbers[0])
    seconds = (day_numbers - base) * _DAY_S + parsed.clock_s
    first_time = datetime.fromordinal(base) + timedelta(seconds=float(parsed.clock_s[0]))
    readings = _header_readings(start_text)
    start = next(iter(readings.values()), None)
    if start is not None and first_time - start >= timedelta(seconds=-_START_TOLERANCE_S):
        origin, source = start, "Acquisition started on"
        offset = (start.toordinal() - base) * _DAY_S + (
            start - datetime.fromordinal(start.toordinal())
        ).total_seconds()
    else:
        origin, source, offset = first_time, "first data row", float(parsed.clock_s[0])
        if start is not None:
            warnings.warn(
                f"{where}, line {lines[0]}: the first row's time {cells[0].strip()!r} is before "
                f"'Acquisition started on : {start_text}'; elapsed seconds count from the first row.",
                MetadataWarning,
                stacklevel=4,
            )
    if reason.startswith("ambiguous"):  # a guess the user should confirm, not only a meta entry
        warnings.warn(
            f"{where}: the dates of column {column!r} read both month first and day first; "
            f"{reason}. Pass date_order='DMY' or 'MDY' to eisna.read if that is wrong.",
            MetadataWarning,
            stacklevel=4,
        )
    return AbsoluteTimes(seconds - offset, origin, source, order, reason)


def _decide(
    where: str,
    parsed: _Cells,
    days: dict[str, np.ndarray],
    cells: list[str],
    lines: list[int],
    column: str,
    start_text: str | None,
    time_format: str | None,
) -> tuple[str, str]:
    """The date order of the data rows and the evidence for it (steps 2–8 of the module notes)."""
    if parsed.year_first:
        if "YMD" not in days:
            i = _first_invalid(parsed, "YMD")
            raise ParseError(
                where, f"expected a valid date, found {cells[i].strip()!r}.", line=lines[i], column=column
            )
        return "YMD", "year-first dates"
    valid = [order for order in ("MDY", "DMY") if order in days]
    declared = declared_order(time_format)
    if declared in valid:
        return str(declared), f"declared on the 'Time format : {time_format}' line"
    if not valid:
        i, j = sorted((_first_invalid(parsed, "MDY"), _first_invalid(parsed, "DMY")))
        found = (
            f"{cells[i].strip()!r}"
            if i == j
            else f"{cells[i].strip()!r} and, on line {lines[j]}, {cells[j].strip()!r}"
        )
        raise ParseError(
            where,
            f"expected dates all month first (MM/DD/YYYY) or all day first (DD/MM/YYYY), found {found}, "
            "which fit neither order together.",
            line=lines[i],
            column=column,
            hint="Export the text again from EC-Lab with 'Time format : Elapsed'.",
        )
    if len(valid) == 1:
        other = "DMY" if valid[0] == "MDY" else "MDY"
        i = _first_invalid(parsed, other)
        why = f"{cells[i].strip()!r} (line {lines[i]}) is no date read {_ORDER_NAMES[other]}"
        if declared is not None:
            why += f", although the header says 'Time format : {time_format}'"
        return valid[0], why
    ambiguous_rows = np.flatnonzero(parsed.first != parsed.second)
    if ambiguous_rows.size == 0:
        return "MDY", "every date has day = month, so both orders read the same"
    seconds = {order: days[order] * _DAY_S + parsed.clock_s for order in valid}
    forward = [order for order in valid if bool(np.all(np.diff(seconds[order]) >= -_BACKWARD_TOLERANCE_S))]
    if len(forward) == 1:
        return forward[0], f"the time runs forward only when read {_ORDER_NAMES[forward[0]]}"
    remaining = forward or valid
    readings = _header_readings(start_text)
    if readings:
        after = {}
        for order in remaining:
            first = seconds[order][0]
            gaps = [first - _seconds_of(start) for start in readings.values()]
            gaps = [gap for gap in gaps if gap >= -_START_TOLERANCE_S]
            if gaps:
                after[order] = min(gaps)
        shown = f"'Acquisition started on : {start_text}'"
        if len(after) == 1:
            order = next(iter(after))
            return order, f"only the {_ORDER_NAMES[order]} reading starts at or after {shown}"
        if len(after) == 2:
            mdy, dmy = after["MDY"], after["DMY"]
            if abs(mdy - dmy) > _DAY_S:  # the wrong order shifts the date by about a month or more
                order = "MDY" if mdy < dmy else "DMY"
                return order, f"the {_ORDER_NAMES[order]} reading starts closest after {shown}"
            span = {order: float(seconds[order][-1] - seconds[order][0]) for order in after}
            if abs(span["MDY"] - span["DMY"]) > _DAY_S:  # a day boundary read as a month boundary
                order = "MDY" if span["MDY"] < span["DMY"] else "DMY"
                return order, (
                    f"ambiguous: both orders start after {shown} and run forward; "
                    f"{_ORDER_NAMES[order]} taken, as it keeps the run closest to that date"
                )
            return "MDY", (
                f"ambiguous: both orders start after {shown} and run forward; month first taken, "
                "as EC-Lab writes that date month first"
            )
    i = int(ambiguous_rows[0])
    read_mdy = datetime.fromordinal(int(days["MDY"][i])).date()
    read_dmy = datetime.fromordinal(int(days["DMY"][i])).date()
    header = (
        f"no reading starts at or after 'Acquisition started on : {start_text}'"
        if readings
        else "the header has no usable 'Acquisition started on' date to compare with"
    )
    raise ParseError(
        where,
        f"cannot tell whether the dates are month first or day first: {cells[i].strip()!r} reads as "
        f"{read_mdy} or {read_dmy}, no date field exceeds 12, the time runs forward both ways and "
        f"{header}.",
        line=lines[i],
        column=column,
        hint="Pass the order, e.g. eisna.read(path, date_order='DMY') (or 'MDY'), "
        "or export the text again from EC-Lab with 'Time format : Elapsed'.",
    )


def _seconds_of(moment: datetime) -> float:
    """``moment`` as seconds on the day-ordinal scale used for the rows."""
    midnight = datetime.fromordinal(moment.toordinal())
    return moment.toordinal() * _DAY_S + (moment - midnight).total_seconds()
