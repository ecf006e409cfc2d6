"""Data types of a series fit: failed rows, per-spectrum outcomes and the options (cache key)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


# baseline circuit (without the interlayer arc) of library circuits that have one
BASELINES = {"symmetric_interlayer": "symmetric_cell"}


@dataclass(frozen=True)
class FitFailure:
    """A spectrum that could not be read or fitted: a row with ``status = "failed"``.

    Attributes
    ----------
    source : str
        File (or label) the spectrum came from.
    index : int or None
        Position of the spectrum in its file (None when the file could not be read).
    reason : str
        One line saying what went wrong.
    stage : str
        ``"read"`` or ``"fit"``.
    timestamp : datetime or None
        Acquisition time of the spectrum when known.
    """

    source: str
    index: int | None
    reason: str
    stage: str = "fit"
    timestamp: datetime | None = None
    success: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "index": self.index,
            "status": "failed",
            "stage": self.stage,
            "reason": self.reason,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
        }


@dataclass(frozen=True)
class SpectrumOutcome:
    """Everything :func:`fit_series` decided for one spectrum (picklable; cached by batch).

    ``result`` is the reported fit: the full circuit when the interlayer is present, the
    baseline otherwise (or the only fit when there is no baseline), or a :class:`FitFailure`.
    """

    result: Any
    interlayer: bool | None
    delta_bic: float
    min_interlayer_ohm: float
    full: Any = None
    base: Any = None
    backfilled: bool = False


@dataclass(frozen=True)
class SeriesOptions:
    """Options of a series fit (also the cache key)."""

    circuit: str
    baseline: str | None
    interlayer_param: str = "R_int"
    delta_bic: float = -10.0
    min_interlayer_ohm: float = 0.5
    min_interlayer_fraction: float = 0.01
    max_rel_stderr: float = 1.0
    drift_decades: float = 2.0
    fit_options: tuple[tuple[str, Any], ...] = ()
    # the automatic circuit choice (series/choice.py): a spectrum with a blocking-electrode tail
    # is fitted with pellet_blocking; outside repr, so the keys of other series stay as they were
    auto_blocking: bool = field(default=False, repr=False)
    # files whose spectra are not all blocking: none of theirs is (choice.file_verdicts)
    held_files: frozenset[str] = field(default=frozenset(), repr=False)

    def key(self, definition_text: str, baseline_text: str) -> str:
        from .. import __version__

        raw = repr((self, definition_text, baseline_text, __version__))
        if self.auto_blocking:
            raw += " auto_blocking"
        return hashlib.sha256(raw.encode()).hexdigest()[:20]
