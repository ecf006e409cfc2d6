"""Galvanostatic cycling of symmetric cells: overpotential, DC resistance and soft shorts.

Input is the frame of :func:`eisna.read_cycling` (columns ``time_s``, ``voltage_V``,
``current_A``; ``cycle``, ``step`` and ``timestamp`` are used when present). In a symmetric
Na–Sn|SE|Na–Sn cell the open-circuit voltage is ≈ 0 V, so the cell voltage under current is
the overpotential η of the two interfaces and the electrolyte in series.

Criteria (all thresholds are keyword arguments of :func:`cycling_summary`):

Half cycles
    Runs of records whose current has the same sign and ``|I| > current_threshold_A``
    (default 5 % of the largest ``|I|``). Rest records end a half cycle.
Overpotential
    The *plateau* of a half cycle is its part after the first ``plateau_skip`` (10 %) of its
    duration, which skips the polarisation build-up after a current reversal.
    ``overpotential_V`` is the median ``|V|`` over the plateau; ``overpotential_max_V`` the
    largest ``|V|`` of the half cycle.
DC resistance
    ``R_dc_ohm = η / |I|`` (Ω, cell total). With an electrode area A,
    ``asr_dc_ohm_cm2 = η / j = η·A / |I|`` (Ω·cm², cell total, as for EIS-derived ASR:
    the two interfaces of a symmetric cell are in series, so per interface it is half).
Voltage collapse (soft short)
    The reference η_ref is ``|I|`` times the median DC resistance ``η/|I|`` of the last
    ``reference_window`` (5) healthy half cycles, so that the current steps of a rate test
    are not taken for collapses (for the first half cycle: the expanding median of ``|V|``
    over its own plateau so far). A half cycle is *shorted* when, after ``|V|`` has first reached
    ``collapse_fraction·η_ref`` (20 %), it falls below that level for at least
    ``min_collapse_records`` (2) consecutive records (or until the half cycle ends), or when it
    never reaches that level at all. The event time is the first record below the level. Only
    the onset (a shorted half cycle after a healthy one) is an event; later shorted half
    cycles are marked ``short`` in the table. No collapse is sought when η_ref is below
    ``min_overpotential_V`` (1 mV), which cannot be told from noise.
Jagged plating (micro shorts)
    Within the plateau of a half cycle, a *significant* step is a change of ``|V|`` between consecutive
    records larger than ``spike_fraction`` (10 %) of the half cycle's reference η. The half
    cycle is jagged when the signs of its significant steps reverse at least
    ``min_reversals`` (4) times (two drop-and-recover spikes give 3 reversals). The event time
    is the first significant step.

Package layout (issue 10): :mod:`.halfcycles` (half-cycle detection and the criteria above),
:mod:`.clock` (aligning the cycling clock with the impedance series), :mod:`.context`
(:class:`CyclingContext` for batch and the report). Every name is importable from
``eisna.cycling`` as before.
"""

from __future__ import annotations

from .clock import ClockMismatchError, common_clock_offset_h, eis_offset_h
from .context import CyclingContext, cycling_context
from .halfcycles import CyclingDataError, CyclingSummary, SoftShortEvent, cycling_summary, half_cycle_bounds

__all__ = [
    "ClockMismatchError",
    "CyclingContext",
    "CyclingDataError",
    "CyclingSummary",
    "SoftShortEvent",
    "common_clock_offset_h",
    "cycling_context",
    "cycling_summary",
    "eis_offset_h",
    "half_cycle_bounds",
]
