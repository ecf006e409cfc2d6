"""Choose what the measured window can carry: a simpler library circuit for badly flagged fits.

When the reported fit of a spectrum has ``min_flagged`` or more flagged parameters (at a
bound, beyond it, unidentifiable or below the resolution: an arc outside the window or one the
data do not resolve), the nested library circuits (parameters a subset of the reported
circuit's) are fitted too, seeded from the reported values, and ranked by AICc. The simplest
circuit within ``max_delta_aicc`` of the best, with fewer flagged parameters than the reported
one, becomes the reported fit; its ``meta["fallback_from"]`` names the circuit it replaced and
``meta["fallback_reason"]`` says why (the ``model_note`` column).

How far the fallback may go depends on the window (:func:`band_limited`):

* a window that spans enough decades for the circuit's relaxations (about
  :data:`DECADES_PER_RELAXATION` per arc, diffusion element or blocking spike) reaches the
  diffusion tail: candidates keep the diffusion element and are ranked by plain AICc;
* a band-limited window (``symmetric_cell`` in 0.8–500 Hz) may drop it too
  (``symmetric_cell_nodiff``, ``symmetric_two_arcs``), and candidates are ranked as
  :func:`eisna.fitting.compare.compare` ranks them: AICc plus
  :data:`~eisna.fitting.compare.FLAG_PENALTY` per flagged parameter. The circuit most of a
  cell's fallbacks chose is then tried on its other spectra (:func:`harmonise_cell_models`), so
  neighbouring spectra do not alternate between circuits that name their arcs differently.

Flags are never removed: a parameter of the chosen circuit that the data do not determine stays
flagged; the fallback only picks a circuit with fewer of them. Resistances below 1 % of the
smallest Re Z of the window get a ``below_resolution:<param>`` flag in every reported fit (they
cannot be told from zero).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
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
) -> tuple[Any, float]:
    """:func:`window_fallback` and, on a band-limited window, the best penalised AICc it saw
    (NaN on a wide window: the cell is then not harmonised)."""
    if isinstance(res, FitFailure) or res is None:
        return res, math.nan
    res = flag_below_resolution(spectrum, res)
    limited = band_limited(fitter.definition(res.circuit_name), res.freq)
    score = _score if limited else (lambda f: float(f.aicc))
    bad = flagged_params(res)
    if len(bad) < min_flagged:
        return res, score(res) if limited else math.nan
    fits = [res]
    # no inductive tail in the window: L is held at 0 rather than left to run to a bound
    held = {"L": 0.0} if "L" in bad and float(np.max(res.freq)) < _L_FMAX_HZ else {}
    names = ([res.circuit_name] if held else []) + _nested(fitter, res.circuit_name)
    if not limited:  # the window reaches the diffusion tail: no candidate may drop it
        keep = _diffusion_params(fitter.definition(res.circuit_name))
        names = [n for n in names if keep <= set(fitter.definition(n).param_names)]
    for name in names:
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
            fits.append(flag_below_resolution(spectrum, cand))
    best = min(score(f) for f in fits)
    usable = [f for f in fits[1:] if score(f) - best <= max_delta_aicc and len(flagged_params(f)) < len(bad)]
    if not usable:
        return res, best if limited else math.nan
    chosen = min(usable, key=lambda f: (len(f.varied), len(flagged_params(f)), score(f)))
    why = (
        f"{res.circuit_name} had {len(bad)} flagged parameters ({', '.join(sorted(bad))}); "
        f"{chosen.circuit_name} fits within ΔAICc {score(chosen) - best:.1f} of the best "
        + ("(band-limited window, flag penalty included) " if limited else "")
        + f"with {len(flagged_params(chosen))}"
    )
    out = replace(
        chosen, meta={**dict(chosen.meta or {}), "fallback_from": res.circuit_name, "fallback_reason": why}
    )
    return out, best if limited else math.nan


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
    spectra: Sequence[Spectrum],
    results: Sequence[Any],
    best_scores: Sequence[float],
    *,
    min_flagged: int = 3,
    max_delta_aicc: float = 10.0,
) -> list[Any]:
    """One window circuit through a cell, where the data allow it.

    ``spectra``/``results`` are the spectra of one cell (time order) without an interlayer arc,
    ``best_scores`` the best penalised AICc :func:`window_fallback` saw for each. The circuit
    that most fallbacks of the cell chose (the simpler on a tie) is fitted to every other
    spectrum of the cell whose reported circuit contains it, seeded from the nearest spectrum
    that has it; it replaces the reported fit when it lies within ``max_delta_aicc`` of that
    spectrum's best (flag penalty included) and has fewer than ``min_flagged`` flagged
    parameters, or no more than the fit it replaces. Without this, neighbouring spectra of one
    cell can alternate between two circuits of similar AICc that name their arcs differently,
    and every tracked quantity jumps with them.
    """
    out = list(results)
    counts = Counter(
        r.circuit_name for r in out if not isinstance(r, FitFailure) and (r.meta or {}).get("fallback_from")
    )
    if not counts:
        return out
    model = min(counts, key=lambda n: (-counts[n], len(fitter.definition(n).param_names), n))
    params = set(fitter.definition(model).param_names)
    have = [i for i, r in enumerate(out) if not isinstance(r, FitFailure) and r.circuit_name == model]
    for i, res in enumerate(out):
        if isinstance(res, FitFailure) or res is None or res.circuit_name == model:
            continue
        origin = (res.meta or {}).get("fallback_from") or res.circuit_name
        if not params < set(fitter.definition(origin).param_names):
            continue
        seed = out[min(have, key=lambda j: abs(j - i))]
        held = {"L": 0.0} if "L" in seed.params and "L" not in seed.varied and seed.params["L"] == 0 else {}
        start = {p: v for p, v in seed.params.items() if p not in held}
        cand = _fit_held(fitter, spectra[i], model, start, held)
        if not _ok(cand):
            cand = _fit_held(fitter, spectra[i], model, None, held)
        if not _ok(cand):
            continue
        cand = flag_below_resolution(spectra[i], cand)
        ref = best_scores[i] if math.isfinite(best_scores[i]) else _score(res)
        n_flags = len(flagged_params(cand))
        if _score(cand) - ref > max_delta_aicc:
            continue
        if n_flags >= min_flagged and n_flags > len(flagged_params(res)):
            continue
        why = (
            f"{model} is this cell's window circuit; it fits within ΔAICc {_score(cand) - ref:.1f} of "
            f"the best (band-limited window, flag penalty included) with {n_flags} flagged parameters"
            + f" (replacing {res.circuit_name}, {len(flagged_params(res))} flagged)"
        )
        out[i] = replace(
            cand, meta={**dict(cand.meta or {}), "fallback_from": origin, "fallback_reason": why}
        )
    return out


def _score(res: Any) -> float:
    """AICc plus :data:`~eisna.fitting.compare.FLAG_PENALTY` per flagged parameter (as compare ranks)."""
    return float(res.aicc) + FLAG_PENALTY * len(flagged_params(res))


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
