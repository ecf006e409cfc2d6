"""Choose what the measured window can carry: a simpler library circuit for badly flagged fits.

How the circuit is chosen depends on the window (:func:`band_limited`):

* a window that spans enough decades for the circuit's relaxations (about
  :data:`DECADES_PER_RELAXATION` per arc, diffusion element or blocking spike) reaches the
  diffusion tail. When the reported fit of a spectrum has ``min_flagged`` or more flagged
  parameters (at a bound, beyond it, unidentifiable or below the resolution), the nested library
  circuits that keep the diffusion element (parameters a subset of the reported circuit's) are
  fitted too, seeded from the reported values, and ranked by AICc; the simplest within
  ``max_delta_aicc`` of the best, with fewer flagged parameters, becomes the reported fit. In a
  series each candidate is also started from the neighbouring spectra's fits of it
  (:func:`reseed_wide_fallbacks`): which minimum a nested solve reaches otherwise follows the
  last bits of the arithmetic, and the chosen circuit with it;
* on a band-limited window (``symmetric_cell`` in 0.8–500 Hz) every spectrum's window circuits
  (the reported circuit and all its nested ones, which may drop the diffusion tail:
  ``symmetric_cell_nodiff``, ``symmetric_two_arcs``) are fitted, from the reported values and
  from automatic starts, with L held at 0 when the window ends below :data:`_L_FMAX_HZ`, and scored
  by :func:`_score`: AICc plus :data:`~eisna.fitting.compare.FLAG_PENALTY` per flagged
  *resistance*. Flags on a capacitance or an exponent (a bulk capacitance whose arc lies above
  the window) say nothing about which arcs the window shows, and counting them favoured circuits
  that fold a Warburg tail into R_ct. A cell's spectra then share one circuit: the one with the
  best summed score over the cell (:func:`harmonise_cell_models`). Choosing spectrum by spectrum
  or only when a fit was badly flagged made the choice follow the last bits of the arithmetic
  (another CPU's BLAS kernels switched 10 of 61 spectra of a real series between circuits and
  moved R_b by up to 45 %). Between two minima of one circuit that the data cannot tell apart
  (ΔAICc < 2) the one with fewer flagged parameters is kept (:func:`_preferred`), and each
  spectrum's fit of the cell's circuit is also started from its neighbours'.

A fallback's ``meta["fallback_from"]`` names the circuit it replaced and
``meta["fallback_reason"]`` says why (the ``model_note`` column). Flags are never removed: a
parameter of the chosen circuit that the data do not determine stays flagged. Resistances below
1 % of the smallest Re Z of the window get a ``below_resolution:<param>`` flag in every reported
fit (they cannot be told from zero).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import EisnaError
from ..fitting.compare import FLAG_PENALTY
from ..fitting.result import Flag, FlagKind
from .fitter import _better, _ok
from .outcome import FitFailure

if TYPE_CHECKING:
    from ..spectrum import Spectrum
    from .fitter import _Fitter

__all__ = ["flagged_params", "harmonise_cell_models", "window_fallback"]

_PARAM_FLAGS = (FlagKind.AT_BOUND, FlagKind.BEYOND_BOUND, FlagKind.UNIDENTIFIABLE, FlagKind.BELOW_RESOLUTION)
RESOLUTION_FRACTION = 0.01


def flagged_params(res: Any) -> set[str]:
    """Parameters flagged at/beyond a bound, unidentifiable or below the resolution."""
    out = set()
    for f in res.flags:
        flag = Flag.parse(f) if not isinstance(f, Flag) else f
        if flag.kind in _PARAM_FLAGS and flag.param:
            out.add(flag.param)
    return out


def _nested(fitter: _Fitter, name: str) -> list[str]:
    """Library circuits whose parameters are a proper subset of ``name``'s, largest first."""
    from ..circuit import list_circuits

    own = set(fitter.definition(name).param_names)
    found = []
    for other in list_circuits():
        params = set(fitter.definition(other).param_names)
        if other != name and params < own:
            found.append((len(params), other))
    return [n for _, n in sorted(found, reverse=True)]


def window_fallback(
    fitter: _Fitter, spectrum: Spectrum, res: Any, *, min_flagged: int = 3, max_delta_aicc: float = 10.0
) -> Any:
    """The fit the window can carry (``res`` itself when it is not badly flagged)."""
    return _fallback(fitter, spectrum, res, min_flagged=min_flagged, max_delta_aicc=max_delta_aicc)[0]


def _fallback(
    fitter: _Fitter, spectrum: Spectrum, res: Any, *, min_flagged: int = 3, max_delta_aicc: float = 10.0
) -> tuple[Any, dict[str, Any]]:
    """:func:`window_fallback` and the candidate circuits it fitted (name -> fit): on a
    band-limited window every window circuit (harmonised through the cell by
    :func:`harmonise_cell_models`), on a wide window the nested ones of a badly flagged fit
    (re-seeded from the neighbours by :func:`reseed_wide_fallbacks`); empty when none was fitted."""
    if isinstance(res, FitFailure) or res is None:
        return res, {}
    res = flag_below_resolution(spectrum, res)
    if band_limited(fitter.definition(res.circuit_name), res.freq):
        return _window_choice(fitter, spectrum, res, max_delta_aicc=max_delta_aicc)
    bad = flagged_params(res)
    if len(bad) < min_flagged:
        return res, {}
    held = _wide_held(res, bad)
    cands: dict[str, Any] = {}
    for name in _wide_names(fitter, res, held):
        params = fitter.definition(name).param_names
        start = {p: v for p, v in res.params.items() if p in params and p not in bad and p not in held}
        cand = (
            _fit_held(fitter, spectrum, name, start, held)
            if held
            else fitter.safe_fit(spectrum, name, start or None)
        )
        if start and (not _ok(cand) or cand.aicc - res.aicc > max_delta_aicc):
            auto = (
                _fit_held(fitter, spectrum, name, None, held)
                if held
                else fitter.safe_fit(spectrum, name, None)
            )
            cand = _better(cand, auto)  # automatic starts too
        if _ok(cand):
            cands[name] = flag_below_resolution(spectrum, cand)
    return _wide_choice(res, cands, max_delta_aicc=max_delta_aicc), cands


def _wide_held(res: Any, bad: set[str]) -> dict[str, float]:
    """No inductive tail in the window: L is held at 0 rather than left to run to a bound."""
    return {"L": 0.0} if "L" in bad and float(np.max(res.freq)) < _L_FMAX_HZ else {}


def _wide_names(fitter: _Fitter, res: Any, held: dict[str, float]) -> list[str]:
    """Candidate circuits of a wide window's fallback: the nested ones that keep the diffusion
    element (the window reaches the diffusion tail), and the reported one when L is held."""
    names = ([res.circuit_name] if held else []) + _nested(fitter, res.circuit_name)
    keep = _diffusion_params(fitter.definition(res.circuit_name))
    return [n for n in names if keep <= set(fitter.definition(n).param_names)]


def _wide_choice(res: Any, cands: dict[str, Any], *, max_delta_aicc: float = 10.0) -> Any:
    """Wide window: the simplest candidate within ``max_delta_aicc`` of the best AICc with fewer
    flagged parameters than ``res`` (``res`` itself when there is none)."""
    bad = flagged_params(res)
    fits = [res, *cands.values()]
    best = min(float(f.aicc) for f in fits)
    usable = [f for f in fits[1:] if f.aicc - best <= max_delta_aicc and len(flagged_params(f)) < len(bad)]
    if not usable:
        return res
    chosen = min(usable, key=lambda f: (len(f.varied), len(flagged_params(f)), float(f.aicc)))
    why = (
        f"{res.circuit_name} had {len(bad)} flagged parameters ({', '.join(sorted(bad))}); "
        f"{chosen.circuit_name} fits within ΔAICc {chosen.aicc - best:.1f} of the best "
        f"with {len(flagged_params(chosen))}"
    )
    return replace(
        chosen, meta={**dict(chosen.meta or {}), "fallback_from": res.circuit_name, "fallback_reason": why}
    )


def reseed_wide_fallbacks(
    fitter: _Fitter,
    spectra: Sequence[Spectrum],
    results: Sequence[Any],
    candidates: Sequence[dict[str, Any]],
    *,
    max_delta_aicc: float = 10.0,
) -> list[Any]:
    """Wide-window fallbacks of one cell's neighbouring spectra, each candidate re-solved from its
    neighbours' fit of the same circuit (a pass forward, then back); the lower χ² is kept and the
    choice of :func:`_wide_choice` made again.

    ``results`` are the series' fits (before the fallback) of spectra in time order whose
    fallback ran, ``candidates`` the circuits :func:`_fallback` fitted to each. The nested
    candidate of a badly flagged fit is seeded from that fit's identified values and, when that
    lands far off, from automatic starts; on a real GEIS series (``geis.mpt``, 1 MHz-0.1 Hz)
    those reached ``symmetric_simple`` minima 20 AICc apart on neighbouring spectra, and which
    one followed the last bits of the arithmetic (a 1e-13 relative perturbation of Z switched
    3-5 of 61 spectra between ``symmetric_simple`` and ``symmetric_cell``).
    """
    out = [dict(c) for c in candidates]
    flagged = [flag_below_resolution(s, r) for s, r in zip(spectra, results, strict=True)]
    helds = [_wide_held(res, flagged_params(res)) for res in flagged]
    for i, j in _forward_then_back(len(out)):
        held = helds[i]
        for name, mine in list(out[i].items()):
            theirs = out[j].get(name)
            if theirs is None:
                continue
            start = {p: v for p, v in theirs.params.items() if p not in held}
            cand = (
                _fit_held(fitter, spectra[i], name, start, held)
                if held
                else fitter.safe_fit(spectra[i], name, start)
            )
            if _ok(cand) and cand.chisqr < mine.chisqr:
                out[i][name] = flag_below_resolution(spectra[i], cand)
    return [_wide_choice(res, c, max_delta_aicc=max_delta_aicc) for res, c in zip(flagged, out, strict=True)]


def _forward_then_back(n: int) -> list[tuple[int, int]]:
    """(spectrum, neighbour) pairs of a pass forward (each from its predecessor), then back."""
    return [(i, i - 1) for i in range(1, n)] + [(i, i + 1) for i in range(n - 2, -1, -1)]


def _window_choice(
    fitter: _Fitter, spectrum: Spectrum, res: Any, *, max_delta_aicc: float
) -> tuple[Any, dict[str, Any]]:
    """Band-limited window: every window circuit (the reported one and its nested ones) fitted
    and scored by :func:`_score`; the simplest within ``max_delta_aicc`` of the best is chosen."""
    bad = flagged_params(res)
    held = _held(res)
    cands: dict[str, Any] = {}
    for name in [res.circuit_name, *_nested(fitter, res.circuit_name)]:
        params = fitter.definition(name).param_names
        start = {p: v for p, v in res.params.items() if p in params and p not in bad and p not in held}
        # seeded and automatic starts both: which valley a seeded solve reaches in these flat
        # landscapes depends on the last bits of the arithmetic
        fits = [_fit_held(fitter, spectrum, name, start or None, held)]
        if start:
            fits.append(_fit_held(fitter, spectrum, name, None, held))
        if name == res.circuit_name and not held:
            fits.append(res)
        cand = None
        for f in fits:
            cand = _preferred(cand, f)
        if _ok(cand):
            cands[name] = flag_below_resolution(spectrum, cand)
    if not cands:
        return res, {}
    best = min(_score(f) for f in cands.values())
    chosen = min(
        (f for f in cands.values() if _score(f) - best <= max_delta_aicc),
        key=lambda f: (len(f.varied), _score(f)),
    )
    return _as_window_fit(chosen, res, f"fits within Δ {_score(chosen) - best:.1f} of the best"), cands


def _as_window_fit(chosen: Any, res: Any, what: str) -> Any:
    """``chosen`` reported in place of ``res`` (the series' fit, or an earlier window choice)."""
    meta = dict(res.meta or {})
    origin = meta.get("fallback_from") or res.circuit_name
    bad = flagged_params(res)
    had = meta.get("window_origin") or (
        f"{origin} had {len(bad)} flagged parameters" + (f": {', '.join(sorted(bad))}" if bad else "")
    )
    why = (
        f"band-limited window: {chosen.circuit_name} {what} (AICc + {FLAG_PENALTY:g} per flagged resistance; "
    )
    why += f"{had})"
    return replace(
        chosen,
        meta={
            **dict(chosen.meta or {}),
            "fallback_from": origin,
            "fallback_reason": why,
            "window_origin": had,
        },
    )


DECADES_PER_RELAXATION = 1.5  # a dispersive arc (n ≈ 0.8-0.9) spans ~1.5-2 decades around its apex


def _relaxations(definition: Any) -> int:
    """Relaxation elements of a circuit: R‖C/R‖CPE arcs, diffusion elements, blocking spikes."""
    from ..fitting.start import _items

    return sum(it.kind in ("arc", "diffusion", "spike") for it in _items(definition))


def band_limited(definition: Any, freq: Any) -> bool:
    """True when the window spans fewer decades than the circuit's relaxations need.

    Each arc, diffusion element or blocking spike needs about :data:`DECADES_PER_RELAXATION`
    decades of frequency to be resolved; a window narrower than that (``symmetric_cell``, four
    relaxations, in less than 6 decades, e.g. 0.8-500 Hz) cannot carry the circuit.
    """
    f = np.asarray(freq, dtype=float)
    f = f[np.isfinite(f) & (f > 0)]
    if f.size < 2:
        return False
    decades = math.log10(float(f.max()) / float(f.min()))
    return decades < DECADES_PER_RELAXATION * _relaxations(definition)


def _diffusion_params(definition: Any) -> set[str]:
    return {p for p, role in definition.param_roles.items() if role == "diffusion"}


def harmonise_cell_models(
    fitter: _Fitter,
    results: Sequence[Any],
    candidates: Sequence[dict[str, Any]],
    spectra: Sequence[Spectrum] | None = None,
    *,
    min_flagged: int = 3,
    max_delta_aicc: float = 10.0,
) -> list[Any]:
    """One window circuit through a cell.

    ``results`` are the fits of one cell's spectra without an interlayer arc on a band-limited
    window, ``candidates`` the window circuits :func:`window_fallback` fitted to each (name ->
    fit). Every circuit fitted to all of them is scored by its summed :func:`_score` over the
    cell; the simplest within ``max_delta_aicc`` per spectrum of the best sum (the per-spectrum
    rule of :func:`window_fallback`, on the cell's mean) becomes the cell's circuit. On the 0.8-500
    Hz cut of a real GEIS series that is ``symmetric_two_arcs``, 5 AICc per spectrum above
    ``symmetric_cell_nodiff``, whose bulk capacitance the window does not determine: with it the
    R_b/R_gb split moved by up to 30 % between two CPUs' arithmetic, without it not at all. Each
    spectrum reports its fit (unless that has ``min_flagged`` or more flagged
    parameters and more than the spectrum's own choice). One circuit is chosen from all spectra
    at once, moving rows to a richer circuit as well as a simpler one: a per-spectrum choice
    between circuits of similar score follows the last bits of the arithmetic, and every
    tracked quantity jumps with it.

    With the cell's ``spectra`` (in time order), each spectrum's fit of the chosen circuit is
    also started from its neighbours' (a pass forward, then back), and the lower χ² kept: in the
    flat landscapes of a narrow window a solve from the spectrum's own values can end in a side
    valley (on one CPU, one row of ten put R_ct at 1.9× its neighbours' with a worse χ² than a
    start from the neighbour reaches).
    """
    out = list(results)
    common = set.intersection(*(set(c) for c in candidates)) if candidates else set()
    if not common:
        return out
    total = {n: sum(_score(c[n]) for c in candidates) for n in common}
    best = min(total.values())
    slack = max_delta_aicc * len(candidates)
    model = min(
        (n for n in common if total[n] - best <= slack),
        key=lambda n: (len(fitter.definition(n).param_names), total[n], n),
    )
    chosen = [c[model] for c in candidates]
    if spectra is not None:
        chosen = _neighbour_seeded(fitter, list(spectra), chosen)
    for i, (res, cands) in enumerate(zip(results, candidates, strict=True)):
        cand = chosen[i]
        n_flags = len(flagged_params(cand))
        if n_flags >= min_flagged and n_flags > len(flagged_params(res)):
            continue
        what = (
            f"is this cell's window circuit (summed score {total[model] - best:.1f} above the cell's best; "
            f"this spectrum: Δ {_score(cand) - min(_score(f) for f in cands.values()):.1f})"
        )
        out[i] = _as_window_fit(cand, res, what)
    return out


def _neighbour_seeded(fitter: _Fitter, spectra: list[Spectrum], fits: list[Any]) -> list[Any]:
    """``fits`` (one circuit, one per spectrum in time order) each re-solved from its neighbours'
    values, forward then back; a re-solve is kept where its χ² is lower."""
    out = list(fits)
    name = out[0].circuit_name
    for i, j in _forward_then_back(len(out)):
        held = _held(out[i])
        start = {p: v for p, v in out[j].params.items() if p not in held}
        cand = _fit_held(fitter, spectra[i], name, start, held)
        if _ok(cand):
            out[i] = _preferred(out[i], flag_below_resolution(spectra[i], cand))
    return out


_INDISTINCT_AICC = 2.0  # two minima of one circuit this close in AICc are equally supported by the data


def _preferred(a: Any, b: Any) -> Any:
    """Of two fits of one circuit to one spectrum, the one with fewer flagged parameters when
    the data cannot tell them apart (ΔAICc < :data:`_INDISTINCT_AICC`), else the lower χ².

    In a narrow window a side valley with an exponent at its bound (n_ct = 0.4, R_ct at twice
    its neighbours') can undercut the physical minimum by a fraction of the noise; which of the
    two a solve reaches follows the last bits of the arithmetic.
    """
    if not (_ok(a) and _ok(b)) or abs(float(a.aicc) - float(b.aicc)) >= _INDISTINCT_AICC:
        return _better(a, b)
    na, nb = len(flagged_params(a)), len(flagged_params(b))
    if na != nb:
        return a if na < nb else b
    return _better(a, b)


def _held(res: Any) -> dict[str, float]:
    """A window ending below ~10 kHz shows no inductive tail: L is held at 0 in every candidate."""
    return {"L": 0.0} if "L" in res.params and float(np.max(res.freq)) < _L_FMAX_HZ else {}


def _score(res: Any) -> float:
    """AICc plus :data:`~eisna.fitting.compare.FLAG_PENALTY` per flagged resistance."""
    return float(res.aicc) + FLAG_PENALTY * sum(p.startswith("R_") for p in flagged_params(res))


_L_FMAX_HZ = 1e4  # below this top frequency a series inductance (cables, ~µH) is not measurable


def _fit_held(
    fitter: _Fitter, spectrum: Spectrum, name: str, start: dict[str, float] | None, fixed: dict[str, float]
) -> Any:
    """Circuit ``name`` fitted with ``fixed`` parameters held (None on failure)."""
    from ..fitting import fit

    opts = dict(fitter.options.fit_options)
    if start:
        opts["n_restarts"] = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fit(spectrum, fitter.definition(name), initial=start or None, fixed=fixed, **opts)
    except (EisnaError, ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError):
        return None
    return out if out.success else None


def flag_below_resolution(spectrum: Spectrum, res: Any) -> Any:
    """Flag resistances below 1 % of the smallest Re Z in the fitted window."""
    re = np.real(np.asarray(res.z)) if getattr(res, "z", None) is not None else np.real(spectrum.z)
    re = re[np.isfinite(re) & (re > 0)]
    if not re.size:
        return res
    floor = RESOLUTION_FRACTION * float(re.min())
    flagged = flagged_params(res)
    extra = [
        Flag(FlagKind.BELOW_RESOLUTION, p)
        for p, v in res.params.items()
        if p.startswith("R_") and p not in flagged and math.isfinite(v) and v < floor
    ]
    if not extra:
        return res
    return replace(res, flags=(*res.flags, *extra))
