"""Choose what the measured window can carry: a simpler library circuit for badly flagged fits.

When the reported fit of a spectrum has ``min_flagged`` or more flagged parameters (at a
bound, beyond it or unidentifiable: an arc outside the window or one the data do not
resolve), the nested library circuits (parameters a subset of the reported circuit's) are
fitted too, seeded from the reported values, and ranked by AICc as
:func:`eisna.fitting.compare.compare` does. The simplest circuit within ``max_delta_aicc`` of
the best, with fewer flagged parameters than the reported one, becomes the reported fit; its
``meta["fallback_from"]`` names the circuit it replaced and ``meta["fallback_reason"]`` says why.
Resistances below 1 % of the smallest Re Z of the window get a ``below_resolution:<param>``
flag (they cannot be told from zero).
"""

from __future__ import annotations

import math
import warnings
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

__all__ = ["flagged_params", "window_fallback"]

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
    if isinstance(res, FitFailure) or res is None:
        return res
    res = flag_below_resolution(spectrum, res)
    bad = flagged_params(res)
    if len(bad) < min_flagged:
        return res
    fits = [res]
    # no inductive tail in the window: L is held at 0 rather than left to run to a bound
    held = {"L": 0.0} if "L" in bad and float(np.max(res.freq)) < _L_FMAX_HZ else {}
    names = ([res.circuit_name] if held else []) + _nested(fitter, res.circuit_name)
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
    best = min(_score(f) for f in fits)
    usable = [f for f in fits[1:] if _score(f) - best <= max_delta_aicc and len(flagged_params(f)) < len(bad)]
    if not usable:
        return res
    chosen = min(usable, key=lambda f: (len(f.varied), len(flagged_params(f)), _score(f)))
    why = (
        f"{res.circuit_name} had {len(bad)} flagged parameters ({', '.join(sorted(bad))}); "
        f"{chosen.circuit_name} fits within ΔAICc {_score(chosen) - best:.1f} of the best "
        f"(flag penalty included) with {len(flagged_params(chosen))}"
    )
    return replace(
        chosen, meta={**dict(chosen.meta or {}), "fallback_from": res.circuit_name, "fallback_reason": why}
    )


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
