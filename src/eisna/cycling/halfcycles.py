"""Half cycles of galvanostatic cycling: overpotential, DC resistance, soft shorts (:mod:`eisna.cycling`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import EisnaError

if TYPE_CHECKING:
    import pandas as pd


_REQUIRED = ("time_s", "voltage_V", "current_A")
_MIN_OWN_RECORDS = 3  # records of a half cycle's own plateau before its own median is trusted


class CyclingDataError(EisnaError, ValueError):
    """A cycling frame lacks the columns or values the analysis needs."""


@dataclass(frozen=True)
class SoftShortEvent:
    """One soft-short indication.

    Attributes
    ----------
    time_s : float
        Total test time of the first affected record (s).
    time_h : float
        The same in hours.
    half_cycle : int
        Index of the half cycle (row of :attr:`CyclingSummary.half_cycles`).
    reason : str
        ``"voltage_collapse"`` or ``"jagged"``.
    detail : str
        The numbers behind the decision, for people.
    """

    time_s: float
    time_h: float
    half_cycle: int
    reason: str
    detail: str


@dataclass(frozen=True, eq=False)
class CyclingSummary:
    """Result of :func:`cycling_summary`.

    Attributes
    ----------
    half_cycles : pandas.DataFrame
        One row per half cycle: ``half_cycle``, ``start_s``, ``end_s`` (s), ``time_h``
        (mid-time, h), ``duration_s``, ``n_records``, ``current_A`` (median, signed),
        ``overpotential_V`` (median |V| of the plateau), ``overpotential_max_V``,
        ``R_dc_ohm`` (Ω), ``asr_dc_ohm_cm2`` (Ω·cm², cell total; NaN without an area),
        ``reversals`` (sign reversals of significant voltage steps), ``short`` and ``jagged``
        (bool), and ``cycle``, ``step`` and ``start_timestamp``/``mid_timestamp`` (absolute
        time of the first record and of the mid-time, for a common axis with EIS spectra)
        when the input has them.
    events : tuple of SoftShortEvent
        Soft-short onsets and jagged half cycles, in time order.
    area_cm2 : float or None
        Electrode area used for the ASR (cm²).
    criteria : Mapping
        The thresholds used (see the module docstring).
    """

    half_cycles: pd.DataFrame
    events: tuple[SoftShortEvent, ...]
    area_cm2: float | None
    criteria: Mapping[str, float | int] = field(default_factory=dict)

    @property
    def first_short_h(self) -> float | None:
        """Time of the first soft-short event (h), or None."""
        return self.events[0].time_h if self.events else None

    def events_frame(self) -> pd.DataFrame:
        """The events as a table with columns ``time_s, time_h, half_cycle, reason, detail``."""
        import pandas as pd

        cols = ["time_s", "time_h", "half_cycle", "reason", "detail"]
        return pd.DataFrame([[getattr(e, c) for c in cols] for e in self.events], columns=cols)


def half_cycle_bounds(current_A: Any, threshold_A: float) -> list[tuple[int, int]]:
    """Return ``(start, stop)`` index pairs of runs with one current sign and ``|I| > threshold_A``.

    Parameters
    ----------
    current_A : array_like
        Current of each record (A).
    threshold_A : float
        Records with ``|I|`` at or below this (A) are rest and end a half cycle.
    """
    current = np.asarray(current_A, dtype=float)
    sign = np.where(np.abs(current) > threshold_A, np.sign(current), 0.0)
    edges = np.flatnonzero(np.diff(sign) != 0) + 1
    starts = np.concatenate(([0], edges))
    stops = np.concatenate((edges, [len(sign)]))
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True) if b > a and sign[a] != 0]


def cycling_summary(
    df: pd.DataFrame,
    *,
    area_cm2: float | None = None,
    current_threshold_A: float | None = None,
    plateau_skip: float = 0.1,
    collapse_fraction: float = 0.2,
    min_collapse_records: int = 2,
    reference_window: int = 5,
    min_overpotential_V: float = 1e-3,
    spike_fraction: float = 0.1,
    min_reversals: int = 4,
) -> CyclingSummary:
    """Per-half-cycle overpotential, DC resistance and soft-short events of a symmetric cell.

    Parameters
    ----------
    df : pandas.DataFrame
        Cycling records from :func:`eisna.read_cycling` (``time_s`` in s, ``voltage_V`` in V,
        ``current_A`` in A), in acquisition order.
    area_cm2 : float, optional
        Electrode area (cm²); gives ``asr_dc_ohm_cm2 = η/j``.
    current_threshold_A : float, optional
        ``|I|`` at or below this is rest (A). Default: 5 % of the largest ``|I|``.
    plateau_skip : float
        Fraction of each half cycle's duration skipped before the plateau (0–1).
    collapse_fraction : float
        A voltage collapse is ``|V|`` below this fraction of the reference overpotential.
    min_collapse_records : int
        Consecutive records below the level needed for a collapse.
    reference_window : int
        Number of previous healthy half cycles whose median η is the reference.
    min_overpotential_V : float
        Reference overpotentials below this (V) are noise: no collapse test.
    spike_fraction : float
        A significant voltage step exceeds this fraction of the reference η.
    min_reversals : int
        Sign reversals of significant steps that make a half cycle jagged.

    Returns
    -------
    CyclingSummary

    Raises
    ------
    CyclingDataError
        A required column is missing, or an argument is out of range.
    """
    import pandas as pd

    _check_arguments(df, area_cm2, plateau_skip, collapse_fraction, min_collapse_records)
    data = df.loc[df[list(_REQUIRED)].notna().all(axis=1)].reset_index(drop=True)
    time_s = data["time_s"].to_numpy(dtype=float)
    volt = data["voltage_V"].to_numpy(dtype=float)
    current = data["current_A"].to_numpy(dtype=float)
    i_max = float(np.max(np.abs(current))) if len(current) else 0.0
    threshold = 0.05 * i_max if current_threshold_A is None else float(current_threshold_A)
    criteria = MappingProxyType(
        {
            "current_threshold_A": threshold,
            "plateau_skip": plateau_skip,
            "collapse_fraction": collapse_fraction,
            "min_collapse_records": min_collapse_records,
            "reference_window": reference_window,
            "min_overpotential_V": min_overpotential_V,
            "spike_fraction": spike_fraction,
            "min_reversals": min_reversals,
        }
    )
    rows: list[dict[str, Any]] = []
    events: list[SoftShortEvent] = []
    healthy_r_dc: list[float] = []  # η/|I| of healthy half cycles (Ω), grown by _half_cycle
    previous_short = False
    for h, (a, b) in enumerate(half_cycle_bounds(current, threshold) if i_max > 0 else []):
        row, found = _half_cycle(
            h, time_s[a:b], volt[a:b], current[a:b], healthy_r_dc, criteria, previous_short
        )
        eta, i_med = row["overpotential_V"], row["current_A"]
        row["asr_dc_ohm_cm2"] = eta * area_cm2 / abs(i_med) if area_cm2 else np.nan
        rows.append(_with_labels(row, data, a))
        events += found
        previous_short = bool(row["short"])
    table = pd.DataFrame(rows, columns=_columns(data))
    events.sort(key=lambda e: e.time_s)
    return CyclingSummary(half_cycles=table, events=tuple(events), area_cm2=area_cm2, criteria=criteria)


def _check_arguments(
    df: pd.DataFrame,
    area_cm2: float | None,
    plateau_skip: float,
    collapse_fraction: float,
    min_collapse_records: int,
) -> None:
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise CyclingDataError(
            f"cycling data: missing column(s) {missing}; expected {list(_REQUIRED)}, found "
            f"{list(df.columns)}. Read the file with eisna.read_cycling."
        )
    if area_cm2 is not None and not area_cm2 > 0:
        raise CyclingDataError(f"area_cm2 must be positive (cm²); found {area_cm2!r}.")
    if not 0 <= plateau_skip < 1 or not 0 < collapse_fraction < 1 or min_collapse_records < 1:
        raise CyclingDataError(
            "expected 0 ≤ plateau_skip < 1, 0 < collapse_fraction < 1 and min_collapse_records ≥ 1; "
            f"found {plateau_skip}, {collapse_fraction}, {min_collapse_records}."
        )


def _reference(
    t: np.ndarray, v_abs: np.ndarray, i_med: float, p0: int, healthy_r_dc: list[float], window: int
) -> np.ndarray:
    """η_ref per record: |I| × median η/|I| of recent healthy half cycles, else the own plateau."""
    import pandas as pd

    history = healthy_r_dc[-window:]
    if history:  # scaled by |I| so that the current steps of a rate test are no collapse
        return np.full(len(t), float(np.median(history)) * abs(i_med))
    ref = np.full(len(t), np.nan)  # first half cycle: its own plateau so far
    own = pd.Series(v_abs[p0:]).expanding().median().shift(1).to_numpy(dtype=float, copy=True)
    own[:_MIN_OWN_RECORDS] = np.nan
    ref[p0:] = own
    return ref


def _half_cycle(
    h: int,
    t: np.ndarray,
    volt: np.ndarray,
    i: np.ndarray,
    healthy_r_dc: list[float],
    crit: Mapping[str, Any],
    previous_short: bool,
) -> tuple[dict[str, Any], list[SoftShortEvent]]:
    """Table row and soft-short events of half cycle ``h`` (appends its η/|I| when healthy)."""
    v_abs = np.abs(volt)
    plateau = t >= t[0] + crit["plateau_skip"] * (t[-1] - t[0])
    p0 = int(np.argmax(plateau))
    eta = float(np.median(v_abs[plateau]))
    i_med = float(np.median(i))
    ref = _reference(t, v_abs, i_med, p0, healthy_r_dc, crit["reference_window"])
    k_collapse, note = _collapse(
        v_abs, ref, crit["collapse_fraction"], crit["min_collapse_records"], crit["min_overpotential_V"]
    )
    short = k_collapse is not None
    scale = float(np.nanmedian(ref)) if np.isfinite(ref).any() else eta
    step_V = crit["spike_fraction"] * max(scale, crit["min_overpotential_V"])
    reversals, k_jag = _reversals(v_abs[p0:], step_V)
    jagged = reversals >= crit["min_reversals"]
    events = []
    if k_collapse is not None and not previous_short:  # i.e. short
        events.append(_event(t[k_collapse], h, "voltage_collapse", note))
    if jagged:
        detail = (
            f"{reversals} reversals of |ΔV| > {crit['spike_fraction']:.0%} of η_ref = {scale * 1e3:.3g} mV"
        )
        events.append(_event(t[k_jag + p0], h, "jagged", detail))
    if not short:
        healthy_r_dc.append(eta / abs(i_med))
    row: dict[str, Any] = {
        "half_cycle": h,
        "start_s": t[0],
        "end_s": t[-1],
        "time_h": 0.5 * (t[0] + t[-1]) / 3600,
        "duration_s": t[-1] - t[0],
        "n_records": len(t),
        "current_A": i_med,
        "overpotential_V": eta,
        "overpotential_max_V": float(v_abs.max()),
        "R_dc_ohm": eta / abs(i_med),
        "reversals": reversals,
        "short": short,
        "jagged": jagged,
    }
    return row, events


def _with_labels(row: dict[str, Any], data: pd.DataFrame, a: int) -> dict[str, Any]:
    """``cycle``/``step`` of the half cycle's first record and its start/mid timestamps."""
    import pandas as pd

    for name in ("cycle", "step"):
        if name in data.columns:
            row[name] = data[name].iloc[a]
    if "timestamp" in data.columns:
        row["start_timestamp"] = data["timestamp"].iloc[a]
        row["mid_timestamp"] = row["start_timestamp"] + pd.Timedelta(seconds=0.5 * row["duration_s"])
    return row


def _columns(data: pd.DataFrame) -> list[str]:
    columns = [
        "half_cycle",
        "start_s",
        "end_s",
        "time_h",
        "duration_s",
        "n_records",
        "current_A",
        "overpotential_V",
        "overpotential_max_V",
        "R_dc_ohm",
        "asr_dc_ohm_cm2",
        "reversals",
        "short",
        "jagged",
    ]
    columns += [c for c in ("cycle", "step") if c in data.columns]
    columns += ["start_timestamp", "mid_timestamp"] if "timestamp" in data.columns else []
    return columns


def _event(t_s: float, half_cycle: int, reason: str, detail: str) -> SoftShortEvent:
    return SoftShortEvent(float(t_s), float(t_s) / 3600, half_cycle, reason, detail)


def _collapse(
    v_abs: np.ndarray, ref: np.ndarray, fraction: float, min_records: int, min_eta: float
) -> tuple[int | None, str]:
    """Index of the first record of a voltage collapse in one half cycle, and why."""
    level = fraction * ref
    checkable = np.isfinite(ref) & (ref >= min_eta)
    if not checkable.any():
        return None, ""
    below = checkable & (v_abs < level)
    armed = checkable & (v_abs >= level)
    if not armed.any():
        # |V| never built up: a cell already shorted at the current reversal
        if checkable.sum() >= min_records:
            k = int(np.argmax(checkable))
            return k, f"|V| never reached {fraction:.0%} of η_ref = {ref[k] * 1e3:.3g} mV"
        return None, ""
    start = int(np.argmax(armed))
    n = len(v_abs)
    k = start
    while k < n:
        if below[k]:
            run = k
            while run < n and below[run]:
                run += 1
            if run - k >= min_records or run == n:
                return k, (
                    f"|V| = {v_abs[k] * 1e3:.3g} mV < {fraction:.0%} of η_ref = {ref[k] * 1e3:.3g} mV "
                    f"for {run - k} records"
                )
            k = run
        else:
            k += 1
    return None, ""


def _reversals(v_abs: np.ndarray, step_V: float) -> tuple[int, int]:
    """Sign reversals of the |V| steps larger than ``step_V``, and the index of the first such step."""
    dv = np.diff(v_abs)
    big = np.flatnonzero(np.abs(dv) > step_V)
    if big.size == 0:
        return 0, 0
    signs = np.sign(dv[big])
    return int(np.count_nonzero(np.diff(signs))), int(big[0] + 1)
