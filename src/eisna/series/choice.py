"""The automatic circuit choice: a blocking-electrode spectrum is fitted with ``pellet_blocking``.

When no circuit is given (``eisna batch`` without ``--circuit``, ``fit_series(spectra, "auto")``)
every spectrum is fitted with ``symmetric_interlayer`` and the window fallback
(:mod:`eisna.series.window`), except a spectrum whose low-frequency tail is the capacitive spike of
ion-blocking electrodes (a solid-electrolyte pellet between Au, C or stainless steel): that one is
fitted with :data:`BLOCKING_CIRCUIT`. An interfacial-arc circuit fitted to such a spike invents a
charge-transfer arc and a Warburg that the data do not hold.

:func:`blocking_tail` decides from the measured points alone, before any fit. Over the lowest
:data:`TAIL_DECADES` decade (at least :data:`MIN_TAIL_POINTS` points), with medians and a
Theil–Sen slope so that noise and a few outliers do not move the verdict:

* the phase is capacitive: median below :data:`MAX_PHASE_DEG` (−60°), and so are the lowest
  :data:`END_POINTS` points, which are also not more than :data:`MAX_PHASE_RISE_DEG` closer to
  the real axis than the top of the tail (a tail bending back to the real axis is a second arc
  or a finite diffusion, not a blocking electrode);
* −Z″ rises steeply as f falls: slope d log(−Z″)/d log f at most :data:`MAX_SLOPE` (−n for a
  CPE spike, −0.5 for a Warburg);
* Z′ changes little relative to −Z″ across the tail: ΔZ′/Δ(−Z″) within
  ±:data:`MAX_RE_OVER_IM` (cot of the spike's angle; 1 on a 45° Warburg line);
* the capacitance of the lowest points, −1/(2πf Z″), is at most :data:`MAX_BLOCKING_C_F`: a
  double layer on a blocking electrode (1–100 µF/cm²) and not the chemical capacitance of an
  intercalation electrode (mF–F), whose finite-space diffusion tail is capacitive too.

A cell (one ``--group-by`` group, or every file of a folder) whose spectra split into both kinds
is almost surely two samples: a pellet between blocking electrodes and a cell with
non-blocking ones. :func:`split_mixed_cells` gives the blocking spectra a cell of their own
(``"<cell> [blocking electrodes]"``; the other spectra keep the cell's label, ``"cell"`` when
there was none), so each kind is ordered on its own clock, warm-started, tracked and fitted
with growth laws apart from the other, as if they had been given as two cells
(:class:`SampleSplit`, a :class:`~eisna.errors.MixedSampleWarning`).

One file is one sample: :func:`file_verdicts` calls a file's spectra blocking only when all of
them are. A cell whose interfacial arc grows until its apex leaves the window ends in a
capacitive tail too, and must stay one cell fitted with one circuit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import MixedSampleWarning
from ..spectrum import Spectrum

__all__ = [
    "AUTO_CIRCUIT",
    "BLOCKING_CIRCUIT",
    "DEFAULT_CIRCUIT",
    "SPLIT_SUFFIX",
    "BlockingTail",
    "SampleSplit",
    "automatic_circuit",
    "blocking_tail",
    "file_verdicts",
    "fit_window",
    "mark_automatic_choices",
    "split_mixed_cells",
]

AUTO_CIRCUIT = "auto"  # circuit name that asks for the automatic choice
DEFAULT_CIRCUIT = "symmetric_interlayer"  # the automatic choice for every other spectrum
BLOCKING_CIRCUIT = "pellet_blocking"  # the automatic choice for a blocking-electrode spectrum

TAIL_DECADES = 1.0  # the tail: points within this many decades of the lowest frequency
MIN_TAIL_POINTS = 5  # ... and at least this many (the lowest ones) when the decade holds fewer
MIN_POINTS = 8  # spectra with fewer points are never called blocking
MIN_WINDOW_DECADES = 1.5  # nor are windows narrower than this: the tail needs something above it
END_POINTS = 3  # the lowest points, whose phase says whether the tail bends back
MAX_PHASE_DEG = -60.0  # median phase of the tail (and of its lowest points) at most this (deg)
MAX_PHASE_RISE_DEG = 10.0  # lowest points at most this much closer to 0° than the top of the tail
MAX_SLOPE = -0.6  # d log(-Z'')/d log f over the tail at most this (an ideal capacitor: -1)
MAX_RE_OVER_IM = 0.6  # |ΔZ'/Δ(-Z'')| across the tail at most this (cot 59°)
MAX_BLOCKING_C_F = 1e-3  # capacitance of the lowest points at most this (F)


@dataclass(frozen=True)
class BlockingTail:
    """What :func:`blocking_tail` read off a spectrum's low-frequency tail.

    Attributes
    ----------
    blocking : bool
        True when every criterion holds: the spectrum is fitted with :data:`BLOCKING_CIRCUIT`.
    reason : str
        One line: the measured values and, when not blocking, the first criterion that failed.
    n_tail : int
        Points in the tail.
    f_low_hz, f_high_hz : float
        Frequency range of the tail (Hz).
    phase_deg : float
        Median phase of the tail (deg; capacitive < 0).
    phase_end_deg : float
        Median phase of the lowest :data:`END_POINTS` points (deg).
    phase_top_deg : float
        Median phase of the highest :data:`END_POINTS` points of the tail (deg).
    slope : float
        Theil–Sen slope of log10(−Z″) against log10 f over the tail (−n for a CPE spike).
    re_over_im : float
        ΔZ′/Δ(−Z″) from the top of the tail to its lowest points (dimensionless).
    c_tail_F : float
        Median −1/(2πf Z″) of the lowest points (F).
    """

    blocking: bool
    reason: str
    n_tail: int = 0
    f_low_hz: float = math.nan
    f_high_hz: float = math.nan
    phase_deg: float = math.nan
    phase_end_deg: float = math.nan
    phase_top_deg: float = math.nan
    slope: float = math.nan
    re_over_im: float = math.nan
    c_tail_F: float = math.nan

    def summary(self) -> str:
        """The measured values in one phrase (for ``model_note``)."""
        return (
            f"tail {self.f_low_hz:.3g}-{self.f_high_hz:.3g} Hz: phase {self.phase_deg:.0f} deg "
            f"(lowest points {self.phase_end_deg:.0f}), -Z'' slope {self.slope:.2f}, "
            f"dZ'/d(-Z'') {self.re_over_im:.2f}, C {self.c_tail_F:.2g} F"
        )


def blocking_tail(
    spectrum: Spectrum, *, fmin: float | None = None, fmax: float | None = None
) -> BlockingTail:
    """Whether ``spectrum`` ends in the capacitive spike of ion-blocking electrodes.

    Parameters
    ----------
    spectrum : Spectrum
        Measured spectrum (Hz, Ω; capacitive Z″ < 0), in any frequency order.
    fmin, fmax : float, optional
        Only the points in this window (Hz) are read, as the fit's ``fmin``/``fmax``.

    Returns
    -------
    BlockingTail
        The verdict (``blocking``), the values it rests on and the reason (see the module
        docstring for the criteria and their thresholds).
    """
    f = np.asarray(spectrum.freq, dtype=float)
    z = np.asarray(spectrum.z, dtype=complex)
    good = np.isfinite(f) & (f > 0) & np.isfinite(z.real) & np.isfinite(z.imag)
    if fmin is not None:
        good &= f >= fmin
    if fmax is not None:
        good &= f <= fmax
    f, z = f[good], z[good]
    order = np.argsort(f, kind="stable")
    f, z = f[order], z[order]
    if f.size < MIN_POINTS or math.log10(f[-1] / f[0]) < MIN_WINDOW_DECADES:
        return BlockingTail(False, f"{f.size} points over too narrow a window to judge the tail")
    n_tail = max(int(np.count_nonzero(f <= f[0] * 10.0**TAIL_DECADES)), MIN_TAIL_POINTS)
    ft, zt = f[:n_tail], z[:n_tail]
    phase = np.degrees(np.angle(zt))
    k = min(END_POINTS, n_tail // 2)
    mim = -zt.imag
    positive = mim > 0
    slope = _theil_sen(np.log10(ft[positive]), np.log10(mim[positive])) if positive.sum() >= 3 else math.nan
    d_im = float(np.median(mim[:k]) - np.median(mim[-k:]))
    d_re = float(np.median(zt.real[:k]) - np.median(zt.real[-k:]))
    with np.errstate(divide="ignore", invalid="ignore"):
        c_low = -1.0 / (2.0 * np.pi * ft[:k] * zt.imag[:k])
    tail = BlockingTail(
        blocking=False,
        reason="",
        n_tail=n_tail,
        f_low_hz=float(ft[0]),
        f_high_hz=float(ft[-1]),
        phase_deg=float(np.median(phase)),
        phase_end_deg=float(np.median(phase[:k])),
        phase_top_deg=float(np.median(phase[-k:])),
        slope=slope,
        re_over_im=d_re / d_im if d_im > 0 else math.inf,
        c_tail_F=float(np.median(c_low)),
    )
    failed = _first_failure(tail, positive)
    if failed:
        return _with(tail, False, f"not a blocking tail ({failed}); {tail.summary()}")
    return _with(tail, True, f"blocking-electrode tail ({tail.summary()})")


def _first_failure(t: BlockingTail, positive: np.ndarray) -> str:
    """The first criterion ``t`` fails (empty when it passes them all)."""
    if positive.mean() < 0.8:
        return "-Z'' not positive over the tail"
    if not t.phase_deg <= MAX_PHASE_DEG:
        return f"phase above {MAX_PHASE_DEG:.0f} deg"
    if not t.phase_end_deg <= MAX_PHASE_DEG or t.phase_end_deg - t.phase_top_deg > MAX_PHASE_RISE_DEG:
        return "the tail bends back towards the real axis"
    if not t.slope <= MAX_SLOPE:
        return f"-Z'' rises slower than f^{MAX_SLOPE:g}"
    if not abs(t.re_over_im) <= MAX_RE_OVER_IM:
        return f"Z' changes by more than {MAX_RE_OVER_IM:g} of -Z''"
    if not t.c_tail_F <= MAX_BLOCKING_C_F:
        return f"capacitance above {MAX_BLOCKING_C_F:g} F (an intercalation electrode, not a double layer)"
    return ""


def fit_window(fit_options: Any) -> dict[str, float | None]:
    """``fmin``/``fmax`` of a series' fit options (a mapping or ``(name, value)`` pairs)."""
    opts = dict(fit_options or ())
    return {"fmin": opts.get("fmin"), "fmax": opts.get("fmax")}


def _with(t: BlockingTail, blocking: bool, reason: str) -> BlockingTail:
    return replace(t, blocking=blocking, reason=reason)


def file_verdicts(spectra: Sequence[Spectrum], **window: float | None) -> tuple[list[bool], frozenset[str]]:
    """Each spectrum's :func:`blocking_tail` verdict, a file's spectra decided together.

    Parameters
    ----------
    spectra : sequence of Spectrum
        The series; ``meta["source"]`` names each one's file (spectra without one are judged alone).
    **window : float or None
        ``fmin``/``fmax`` (Hz), as for :func:`blocking_tail`.

    Returns
    -------
    verdicts : list of bool
        True for a spectrum with a blocking tail whose file's spectra all have one.
    held : frozenset of str
        Files some of whose spectra have a blocking tail and some not: none of their spectra is
        called blocking (one sample measured over time; the series fits them with its circuit).
    """
    own = [blocking_tail(s, **window).blocking for s in spectra]
    by_file: dict[str, list[bool]] = {}
    for s, b in zip(spectra, own, strict=True):
        if s.meta.get("source") is not None:
            by_file.setdefault(str(s.meta["source"]), []).append(b)
    held = frozenset(f for f, v in by_file.items() if any(v) and not all(v))
    import warnings

    for f in sorted(held):
        warnings.warn(
            f"{f}: {sum(by_file[f])} of {len(by_file[f])} spectra end in a capacitive, blocking-like "
            f"tail, the others not; one file is one sample, so all are fitted with the series' "
            f"circuit (a growing arc whose apex left the window looks so). Give --circuit "
            f"{BLOCKING_CIRCUIT} if the file is a pellet between blocking electrodes.",
            MixedSampleWarning,
            stacklevel=3,
        )
    verdicts = [b and str(s.meta.get("source")) not in held for s, b in zip(spectra, own, strict=True)]
    return verdicts, held


def automatic_circuit(verdicts: Sequence[bool]) -> str:
    """The series circuit of the automatic choice, from each spectrum's verdict
    (:func:`file_verdicts`): :data:`BLOCKING_CIRCUIT` when every spectrum ends in a blocking
    tail, else :data:`DEFAULT_CIRCUIT` (whose series then fits each blocking spectrum with
    :data:`BLOCKING_CIRCUIT` on its own)."""
    verdicts = list(verdicts)
    return BLOCKING_CIRCUIT if verdicts and all(verdicts) else DEFAULT_CIRCUIT


def _count(n: int) -> str:
    return f"{n} spectrum" if n == 1 else f"{n} spectra"


#: Appended to a cell's label for its blocking-electrode spectra when the cell mixes both kinds.
SPLIT_SUFFIX = " [blocking electrodes]"
#: Label of the non-blocking part of a mixed series given without cells.
DEFAULT_CELL = "cell"


@dataclass(frozen=True)
class SampleSplit:
    """A cell whose spectra split into blocking-electrode and other spectra, tracked as two cells.

    Attributes
    ----------
    cell : str or None
        The cell as given (None: a series without cells, e.g. one folder without ``--group-by``).
    blocking_cell, other_cell : str
        Labels of its blocking-electrode spectra (fitted with :data:`BLOCKING_CIRCUIT`) and of
        the others.
    n_blocking, n_other : int
        Number of spectra of each kind.
    """

    cell: Any
    blocking_cell: str
    other_cell: str
    n_blocking: int
    n_other: int

    @property
    def reason(self) -> str:
        """Why the cell was split, in words (the warning, the tracks' note, kinetics.json)."""
        where = f"cell {self.cell}" if self.cell is not None else "the series"
        return (
            f"{where} mixes {_count(self.n_blocking)} ending in a blocking-electrode spike "
            f"({BLOCKING_CIRCUIT}) with {self.n_other} without: almost surely two samples (a pellet "
            f"and a cell); tracked apart as cells '{self.blocking_cell}' and '{self.other_cell}', "
            "no growth law across the two (give them as separate folders or with --group-by)"
        )

    def track_note(self, cell: Any) -> str:
        """The note of a track of one of the two cells."""
        where = f"cell {self.cell}" if self.cell is not None else "the series"
        return (
            f"{self.kind_of(cell)} spectra only: {where} mixed {self.n_blocking} blocking-electrode and "
            f"{self.n_other} other spectra (two samples, tracked apart)"
        )

    def kind_of(self, cell: Any) -> str:
        """``"blocking"`` or ``"non-blocking"`` for one of the two cells, else ``""``."""
        if cell == self.blocking_cell:
            return "blocking"
        return "non-blocking" if cell == self.other_cell else ""

    def to_dict(self) -> dict[str, Any]:
        """The ``kinetics.json`` record (``sample_splits``)."""
        return {
            "cell": self.cell,
            "blocking_cell": self.blocking_cell,
            "other_cell": self.other_cell,
            "n_blocking": self.n_blocking,
            "n_other": self.n_other,
            "reason": self.reason,
        }


def split_mixed_cells(
    blocking: Sequence[bool], groups: Sequence[Any] | None
) -> tuple[list[Any] | None, tuple[SampleSplit, ...]]:
    """Cell labels with every mixed cell split into its blocking and other spectra.

    Parameters
    ----------
    blocking : sequence of bool
        :func:`blocking_tail` verdict of each spectrum.
    groups : sequence or None
        Cell label of each spectrum (None: one cell).

    Returns
    -------
    labels : list or None
        ``groups`` unchanged when no cell mixes both kinds, else the new labels (one per
        spectrum): blocking spectra of a mixed cell get ``"<cell>"`` + :data:`SPLIT_SUFFIX`, the
        others keep their cell's label (:data:`DEFAULT_CELL` without one).
    splits : tuple of SampleSplit
        One per mixed cell, in order of first appearance; a :class:`MixedSampleWarning` is
        issued for each.
    """
    import warnings

    labels = list(groups) if groups is not None else [None] * len(blocking)
    kinds: dict[Any, list[bool]] = {}
    for lab, b in zip(labels, blocking, strict=True):
        kinds.setdefault(lab, []).append(bool(b))
    splits: list[SampleSplit] = []
    new_label: dict[Any, tuple[str, str]] = {}
    for lab, verdicts in kinds.items():
        n_block = sum(verdicts)
        if 0 < n_block < len(verdicts):
            other = DEFAULT_CELL if lab is None else str(lab)
            new_label[lab] = (other + SPLIT_SUFFIX, other)
            splits.append(SampleSplit(lab, other + SPLIT_SUFFIX, other, n_block, len(verdicts) - n_block))
    if not splits:
        return (list(groups) if groups is not None else None), ()
    out = [
        (new_label[lab][0] if b else new_label[lab][1]) if lab in new_label else lab
        for lab, b in zip(labels, blocking, strict=True)
    ]
    for split in splits:
        warnings.warn(split.reason, MixedSampleWarning, stacklevel=3)
    return out, tuple(splits)


def mark_automatic_choices(
    spectra: Sequence[Spectrum],
    outcomes: Sequence[Any],
    held: frozenset[str] = frozenset(),
    **window: float | None,
) -> list[Any]:
    """``outcomes`` (one per spectrum, same order) with the automatic choice's reason in each
    blocking spectrum's fit: ``meta["circuit_choice"]`` (the ``model_note`` column);
    ``held``: files not called blocking (:func:`file_verdicts`); ``window``: ``fmin``/``fmax``
    (Hz) as for :func:`blocking_tail`."""
    out = list(outcomes)
    for k, (spectrum, o) in enumerate(zip(spectra, outcomes, strict=True)):
        res = getattr(o, "result", None)
        if res is None or not getattr(res, "success", False) or not hasattr(res, "meta"):
            continue
        if str(spectrum.meta.get("source")) in held:
            continue
        tail = blocking_tail(spectrum, **window)
        if not tail.blocking:
            continue
        note = f"automatic choice {BLOCKING_CIRCUIT}: {tail.reason}"
        out[k] = replace(o, result=replace(res, meta={**dict(res.meta or {}), "circuit_choice": note}))
    return out


def _theil_sen(x: np.ndarray, y: np.ndarray) -> float:
    """Median of the pairwise slopes (robust to a few outliers)."""
    i, j = np.triu_indices(x.size, k=1)
    dx = x[j] - x[i]
    use = dx != 0
    if not use.any():
        return math.nan
    return float(np.median((y[j] - y[i])[use] / dx[use]))
