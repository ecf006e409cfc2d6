"""The analysis stage of a batch: what the report shows, computed once and stored.

:func:`analyse_series` runs the Kramers–Kronig test once per fitted spectrum and collects,
for every spectrum, what the report draws and tabulates: label, time, status, parameters ± 1σ,
derived quantities, arcs, flags, reduced χ², the KK verdict with its residuals, the measured
spectrum, the fitted impedance at the measured frequencies and a dense fitted curve.
:func:`eisna.batch` stores the result as ``analysis.json`` next to ``results.json``; the
report (:class:`eisna.report.data.ReportData`) is built from this mapping only, so
``eisna report DIR`` renders the page ``eisna batch`` wrote.

``analysis.json`` (format version 1)
------------------------------------
``format`` (1), ``title``, ``circuit``, ``interlayer_param``, ``time_h`` (list, h, or None),
``interlayer`` (list of bool/None, or None), ``kinetics`` (the ``kinetics.json`` mapping or
None), ``provenance`` (mapping) and ``spectra``: one record per spectrum, either

* a fit: ``status`` "ok", ``source``, ``index``, ``circuit_name``, ``param_names``,
  ``params``/``stderr`` (name → value), ``derived`` (name → {value, stderr, unit}),
  ``arcs`` (list of ``Arc.to_dict()``, each with its ``effective_role`` and ``role_note``),
  ``notes`` (the physics notes: arcs counted under another role than the circuit's, R_SE/σ
  not identified; ``FitResult.meta["physics_notes"]``), ``flags``, ``redchi``, ``success``,
  ``freq`` (Hz), ``z`` and ``z_fit`` ([re, im] pairs, Ω), ``curve_freq``/``curve_z``
  (dense fitted curve) and ``kk`` (None, or ``passed``, ``threshold``, ``res_re``,
  ``res_im``, ``M``, ``mu``, ``reason``, ``noise_level``, ``zhit_passed``), or
* a failure: ``status`` "failed", ``source``, ``index``, ``reason``, ``stage``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import EisnaError

__all__ = ["FORMAT", "analyse_series", "kk_record"]

FORMAT = 1


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _pairs(z: Any) -> list[list[float]]:
    arr = np.asarray(z, dtype=complex)
    return np.column_stack([arr.real, arr.imag]).tolist()


def _is_fit(item: Any) -> bool:
    return (
        not isinstance(item, Mapping) and _get(item, "z_fit") is not None and _get(item, "params") is not None
    )


def kk_result(fit: Any) -> Any:
    """Lin-KK result of a fit's spectrum (:func:`eisna.validation.kk_test`), or None when it cannot run."""
    from .spectrum import Spectrum
    from .validation import kk_test

    try:
        return kk_test(Spectrum(_get(fit, "freq"), _get(fit, "z")))
    except (EisnaError, ValueError, np.linalg.LinAlgError):
        return None  # the table shows "—" rather than stopping the report


def _kk_results(items: list[Any]) -> list[Any]:
    """:func:`kk_result` of every fit among ``items`` (None elsewhere), computed together: the
    spectra of a series share their frequencies, so their M scans run as one
    (:func:`eisna.validation.kk_tests`)."""
    from .spectrum import Spectrum
    from .validation import kk_tests

    out: list[Any] = [None] * len(items)
    fits, spectra = [], []
    for i, item in enumerate(items):
        if not _is_fit(item):
            continue
        try:
            spectra.append(Spectrum(_get(item, "freq"), _get(item, "z")))
        except (EisnaError, ValueError):
            continue  # the table shows "—" rather than stopping the report
        fits.append(i)
    try:
        results = kk_tests(spectra)
    except (EisnaError, ValueError, np.linalg.LinAlgError):
        results = [kk_result(items[i]) for i in fits]  # one by one, each failure on its own
    for i, res in zip(fits, results, strict=True):
        out[i] = None if isinstance(res, Exception) else res
    return out


def kk_record(fit: Any) -> dict[str, Any] | None:
    """Lin-KK verdict and residuals of a fit's spectrum, or None when the test cannot run."""
    kk = kk_result(fit)
    return None if kk is None else _kk_fields(kk)


def _zhit_passed(kk: Any) -> bool | None:
    """The Z-HIT verdict of a KK result (its ``zhit``) or of a stored one (``zhit_passed``)."""
    stored = _get(kk, "zhit_passed")
    if stored is not None:
        return bool(stored)
    zhit = _get(kk, "zhit")
    return None if zhit is None else bool(_get(zhit, "passed"))


def _kk_fields(kk: Any) -> dict[str, Any]:
    """The stored fields of a KK result (a ``KKResult`` or anything with the same attributes)."""
    threshold = np.asarray(_get(kk, "threshold"), dtype=float)
    return {
        "passed": bool(_get(kk, "passed")),
        "threshold": float(threshold) if threshold.ndim == 0 else threshold.tolist(),
        "res_re": np.asarray(_get(kk, "res_re"), dtype=float).tolist(),
        "res_im": np.asarray(_get(kk, "res_im"), dtype=float).tolist(),
        "M": None if _get(kk, "M") is None else int(_get(kk, "M")),
        "mu": _num(_get(kk, "mu")),
        "reason": str(_get(kk, "reason") or ""),
        "noise_level": _num(_get(kk, "noise_level")),
        "zhit_passed": _zhit_passed(kk),
    }


def _fit_record(fit: Any, kk: Any) -> dict[str, Any]:
    from .plotting._data import fit_curve

    meta = _get(fit, "meta") or {}
    curve_f, curve_z = fit_curve(fit)
    derived = {
        name: {
            "value": _num(_get(q, "value")),
            "stderr": _num(_get(q, "stderr")),
            "unit": str(_get(q, "unit", "")),
        }
        for name, q in (_get(fit, "derived") or {}).items()
    }
    arcs = [a.to_dict() if hasattr(a, "to_dict") else dict(a) for a in (_get(fit, "arcs") or ())]
    params = _get(fit, "params") or {}
    return {
        "status": "ok",
        "source": meta.get("source"),
        "index": meta.get("index"),
        "circuit_name": _get(fit, "circuit_name"),
        "param_names": list(_get(fit, "param_names") or params),
        "params": {k: _num(v) for k, v in params.items()},
        "stderr": {k: _num(v) for k, v in (_get(fit, "stderr") or {}).items()},
        "derived": derived,
        "arcs": arcs,
        "notes": [str(n) for n in meta.get("physics_notes") or ()],
        "flags": list(_get(fit, "flags") or ()),
        "redchi": _num(_get(fit, "redchi")),
        "success": bool(_get(fit, "success", True)),
        "freq": np.asarray(_get(fit, "freq"), dtype=float).tolist(),
        "z": _pairs(_get(fit, "z")),
        "z_fit": _pairs(_get(fit, "z_fit")),
        "curve_freq": np.asarray(curve_f, dtype=float).tolist(),
        "curve_z": _pairs(curve_z),
        "kk": kk_record(fit) if kk is None else kk,
    }


def _failure_record(item: Any) -> dict[str, Any]:
    reason = _get(item, "reason") or _get(item, "message") or _get(item, "error") or "failed"
    return {
        "status": "failed",
        "source": _get(item, "source"),
        "index": _get(item, "index"),
        "reason": str(reason),
        "stage": _get(item, "stage"),
    }


def _kinetics_of(series: Any, kinetics: Any) -> Any:
    if kinetics is None:
        kinetics = _get(series, "kinetics")
        summary = getattr(series, "kinetics_summary", None)
        if kinetics is not None and callable(summary):
            kinetics = summary()  # adds the ASR, thickness and first detection to the best law
    if kinetics is not None and not isinstance(kinetics, Mapping):
        kinetics = kinetics.to_dict() if hasattr(kinetics, "to_dict") else dict(vars(kinetics))
    return kinetics


def analyse_series(
    series: Any,
    *,
    kinetics: Any = None,
    provenance: Mapping[str, Any] | None = None,
    title: str | None = None,
    kk: Any = None,
) -> dict[str, Any]:
    """The analysis of a fitted series as a JSON-ready mapping (``analysis.json``).

    Parameters
    ----------
    series : SeriesResult or series-like
        ``.results`` (FitResult / FitFailure), ``.time_h`` (h), ``.interlayer`` (bool per
        spectrum); ``.circuit``, ``.baseline``, ``.options``, ``.interlayer_param`` optional.
    kinetics : KineticsResult or mapping, optional
        Default: ``series.kinetics_summary()``.
    provenance : mapping, optional
        Run provenance; the series' circuit, baseline circuit and options are added.
    title : str, optional
        Page title stored for the report.
    kk : sequence of KKResult, optional
        KK results aligned with ``series.results``; computed here (once per fit) when omitted.

    Returns
    -------
    dict
        See the module docstring for the fields.
    """
    items = list(_get(series, "results"))
    kk_given = list(kk) if kk is not None else _kk_results(items)
    spectra = []
    for item, k in zip(items, kk_given, strict=False):
        if _is_fit(item):
            given = None if k is None else _kk_fields(k)
            spectra.append(_fit_record(item, given))
        else:
            spectra.append(_failure_record(item))
    time_h = _get(series, "time_h")
    interlayer = _get(series, "interlayer")
    options = _get(series, "options")
    prov = {
        "circuit": _get(series, "circuit"),
        "baseline circuit": _get(series, "baseline"),
        "options": dict(options or {}) or None,
        **(provenance or {}),
    }
    return {
        "format": FORMAT,
        "title": title,
        "circuit": _get(series, "circuit"),
        "interlayer_param": _get(series, "interlayer_param") or "R_int",
        "time_h": None if time_h is None else [_num(t) for t in np.asarray(time_h, dtype=float)],
        "interlayer": None if interlayer is None else [None if f is None else bool(f) for f in interlayer],
        "kinetics": _kinetics_of(series, kinetics),
        "provenance": prov,
        "spectra": spectra,
    }
