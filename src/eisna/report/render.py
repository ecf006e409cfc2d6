"""Self-contained HTML report of a fit, a batch or a time series: ``report.html``.

The page carries everything inline: figures as base64 PNG ``data:`` URIs, CSS in a
``<style>`` element, system fonts only. It opens offline and loads no external resource.

Contract (used by :func:`eisna.batch` and ``eisna report DIR``)
----------------------------------------------------------------
::

    write_report(out_dir, series=None, fits=None, kinetics=None, provenance=None, title=None,
                 *, kk=None, arrhenius=None, filename="report.html") -> Path

* ``out_dir`` — folder to write ``report.html`` into (created if needed; written atomically).
* ``series`` — a ``SeriesResult`` (``.results``, ``.time_h``, ``.interlayer``, ``.to_frame()``).
* ``fits`` — instead of a series: a sequence of ``FitResult`` (or ``FitFailure``) objects, or of
  row dicts as in ``results.json``.
* ``kinetics`` — a ``KineticsResult`` or the ``kinetics.json`` mapping.
* ``provenance`` — mapping; recognised keys (all optional): ``circuit`` (name),
  ``circuit_file`` (path), ``options`` (mapping), ``inputs`` (paths, or mappings with
  ``path`` and ``sha256``), ``command``, ``started``/``finished`` (ISO time). The eisna
  version, the time of the report and the SHA-256 of input files that exist are added.
* ``kk`` — optional KK results aligned with the fits; computed here when omitted.

With only ``out_dir`` given, the report is rebuilt from ``results.json`` (a list of row dicts,
or a mapping with ``rows``/``results`` and optionally ``provenance``), ``kinetics.json`` and
``provenance.json`` found in that folder; spectra named in the rows' ``source``/``index`` are
re-read for the Nyquist figure when the files still exist.

Examples
--------
>>> from eisna.report import format_quantity
>>> format_quantity(1.234e-9, 4.1e-11, "F")
'1.234 ± 0.041 nF'
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from ..errors import EisnaError
from ..units import format_quantity, normalise_unit, param_unit, time_unit
from ._access import _celsius, _finite, _get, _is_fit, _label_of, _meta, _source_of
from .figures import _cycling_figure, _figures, _rows_trajectories

__all__ = ["format_quantity", "param_unit", "render_report", "sha256_file", "write_report"]

_NON_PARAM_COLUMNS = {
    "source",
    "index",
    "timestamp",
    "time_h",
    "status",
    "interlayer",
    "message",
    "reason",
    "error",
    "circuit",
    "circuit_name",
    "weighting",
    "chisqr",
    "redchi",
    "aic",
    "bic",
    "aicc",
    "nfev",
    "success",
    "flags",
    "n_points",
    "fmin",
    "fmax",
    "fmin_Hz",
    "fmax_Hz",
    "kk_passed",
    "kk_max_res",
    "file",
    "sha256",
    "cycle",
    "temperature_K",
}


# ----------------------------------------------------------------------------- formatting
# ----------------------------------------------------------------------------- provenance
def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes (``chunk`` is kept for compatibility)."""
    from .._atomic import file_sha256

    return file_sha256(path)


def _provenance(prov: Mapping[str, Any] | None, items: Sequence[Any]) -> dict[str, Any]:
    from .. import __version__

    out: dict[str, Any] = dict(prov or {})
    out.setdefault("eisna_version", __version__)
    out.setdefault("report_time", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    inputs = out.get("inputs")
    if inputs is None:  # take the inputs from the spectra's sources
        seen: dict[str, None] = {}
        for item in items:
            src = _source_of(item)
            if src:
                seen.setdefault(str(src), None)
        inputs = list(seen)
    table = []
    for entry in inputs or ():
        path = entry.get("path") if isinstance(entry, Mapping) else str(entry)
        digest = entry.get("sha256") if isinstance(entry, Mapping) else None
        if digest is None and path and os.path.isfile(path):
            digest = sha256_file(path)
        table.append({"path": path, "sha256": digest or "(file not found)"})
    out["inputs"] = table
    return out


def _rows_from_json(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any], list[Any]]:
    """Rows, provenance and stored fit curves (``fits``: freq, z, z_fit per row) of results.json."""
    data = json.loads(path.read_text(encoding="utf-8"))
    prov: dict[str, Any] = {}
    curves: list[Any] = []
    if isinstance(data, Mapping):
        prov = dict(data.get("provenance") or {})
        curves = list(data.get("fits") or [])
        data = data.get("rows") or data.get("results") or data.get("spectra") or []
    if not isinstance(data, list):
        raise EisnaError(
            f"{path}: expected a list of result rows; found {type(data).__name__}. "
            "Re-run 'eisna batch' to rewrite it."
        )
    return [dict(r) for r in data if isinstance(r, Mapping)], prov, curves


def _stored_curve(entry: Any) -> dict[str, Any] | None:
    """``{freq, z, z_fit}`` from a FitResult.to_dict() entry (complex values stored as [re, im])."""
    if not isinstance(entry, Mapping) or not entry.get("freq") or not entry.get("z"):
        return None
    try:
        out = {
            "freq": np.asarray(entry["freq"], dtype=float),
            "z": np.asarray(entry["z"], dtype=float) @ np.array([1.0, 1.0j]),
        }
        if entry.get("z_fit"):
            out["z_fit"] = np.asarray(entry["z_fit"], dtype=float) @ np.array([1.0, 1.0j])
    except (TypeError, ValueError):
        return None
    return out


def _arrhenius_html(arrhenius: Any) -> Markup | str:
    """Table of the Arrhenius fits: Ea ± σ (eV), ln A, R² and σ(25 °C) per conductivity kind."""
    fits = _get(arrhenius, "fits")
    if not isinstance(fits, Mapping) or not fits:
        return ""
    labels = {"bulk": "bulk", "grain_boundary": "grain boundary", "total": "total"}
    rows = [
        [
            labels.get(kind, kind),
            format_quantity(_get(line, "Ea_eV"), _get(line, "Ea_stderr"), "eV"),
            format_quantity(_get(line, "ln_A"), _get(line, "ln_A_stderr")),
            f"{float(_get(line, 'r_squared')):.4f}" if _finite(_get(line, "r_squared")) else "—",
            format_quantity(_get(line, "sigma_25C_S_cm"), None, "S/cm")
            + (" (extrapolated)" if _get(line, "sigma_25C_extrapolated") else ""),
        ]
        for kind, line in fits.items()
    ]
    return _block("arrhenius", rows)


# ----------------------------------------------------------------------------- tables
def _table(head: Sequence[Any], rows: Sequence[Sequence[Any]], cls: str = "") -> Markup:
    """A table from the ``table`` macro: cells are text or cell mappings (see blocks.html.j2)."""
    return _block("table", head, rows, cls)


def _block(name: str, *args: Any) -> Markup:
    """Call one macro of ``blocks.html.j2``; the result is escaped HTML (Markup)."""
    return Markup(getattr(_template("blocks.html.j2").module, name)(*args))


def _ok(text: str, ok: bool, note: Any = None, after: str = "") -> dict[str, Any]:
    """A status cell: ``text`` in green (ok) or red, with an optional small note below."""
    return {"cls": "ok" if ok else "bad", "text": text, "note": note or "", "after": after}


def _kk_cell(kk: Any) -> Any:
    """Lin-KK verdict with the largest residual; when stored, the reason and the Z-HIT verdict."""
    if kk is None:
        return "—"
    passed = bool(_get(kk, "passed"))
    res = [
        np.max(np.abs(np.asarray(_get(kk, k), dtype=float)))
        for k in ("res_re", "res_im")
        if _get(kk, k) is not None
    ]
    worst = f" ({100 * max(res):.2g} %)" if res else ""
    zhit = _get(kk, "zhit_passed")
    if zhit is None and _get(kk, "zhit") is not None:
        zhit = _get(_get(kk, "zhit"), "passed")
    if zhit is not None:
        worst += f"; Z-HIT {'pass' if zhit else 'FAIL'}"
    return _ok("pass" if passed else "FAIL", passed, note=_get(kk, "reason") or "", after=worst)


def _param_order(name: str) -> tuple[int, str]:
    """Resistances first (what users read), then capacitances, CPE exponents, the rest."""
    head = name.split("_", 1)[0]
    rank = {"R": 0, "C": 1, "Q": 2, "n": 3, "tau": 4, "L": 5}.get(head, 6)
    return rank, ""


def _table_columns(items: list[Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """Parameter names (resistances first) and (derived name, unit) pairs found in the items."""
    names: list[str] = []
    derived: list[tuple[str, str]] = []
    for it in items:
        if _is_fit(it):
            names.extend(n for n in (_get(it, "param_names") or list(_get(it, "params"))) if n not in names)
            for dn, q in (_get(it, "derived") or {}).items():
                if dn not in [d for d, _ in derived]:
                    derived.append((dn, str(_get(q, "unit", ""))))
        elif isinstance(it, Mapping):
            for key in it:
                if key.endswith("_stderr") or key in _NON_PARAM_COLUMNS or key in names:
                    continue
                if f"{key}_stderr" in it and _finite(it.get(key)):
                    names.append(key)
    names.sort(key=_param_order)
    return names, derived


def _fit_cells(
    it: Any, names: list[str], derived: list[tuple[str, str]], kk: Any, absent: bool | None, absent_param: str
) -> list[Any]:
    """Cells after the time of one fitted spectrum (``absent`` None: no interlayer column)."""
    params, stderr = _get(it, "params"), _get(it, "stderr") or {}
    ok = _get(it, "success", True)
    row: list[Any] = [_ok("ok" if ok else "not converged", bool(ok))]
    if absent is not None:
        row.append("no" if absent else "yes")
    row += [
        format_quantity(params.get(n), stderr.get(n))
        if n in params
        else ("0 (no arc)" if absent and n == absent_param else "—")
        for n in names
    ]
    dq = _get(it, "derived") or {}
    row += [
        format_quantity(_get(dq[d], "value"), _get(dq[d], "stderr")) if d in dq else "—" for d, _ in derived
    ]
    row.append(_kk_cell(kk))
    redchi = _get(it, "redchi")
    row.append(f"{redchi:.3g}" if _finite(redchi) else "—")
    flags = ", ".join(_get(it, "flags") or ()) or "—"
    notes = _get(it, "notes") or ()  # the stored physics notes (analysis.json)
    row.append({"text": flags, "note": "; ".join(notes)} if notes else flags)
    return row


def _row_cells(it: Mapping[str, Any], names: list[str]) -> list[Any]:
    """Cells after the time of one ``results.json`` row (older output folders)."""
    status = str(it.get("status", "ok"))
    cls = "ok" if status in ("ok", "fitted", "success", "cached") else "bad"
    reason = it.get("message") or it.get("reason") or it.get("error")
    row: list[Any] = [_ok(status, cls == "ok", note=reason if cls == "bad" else None)]
    row += [format_quantity(it.get(n), it.get(f"{n}_stderr")) for n in names]
    kk_passed = it.get("kk_passed")
    row.append("—" if kk_passed is None else _ok("pass" if kk_passed else "FAIL", bool(kk_passed)))
    row.append(f"{float(it['redchi']):.3g}" if _finite(it.get("redchi")) else "—")
    flags = it.get("flags")
    row.append(", ".join(flags) if isinstance(flags, list) else (flags or "—"))
    return row


def _fit_table(
    items: list[Any],
    time_h: np.ndarray | None,
    kk: list[Any],
    absent: Sequence[bool] = (),
    absent_param: str = "R_int",
) -> str:
    """One row per spectrum: time, status, each parameter and derived quantity ± 1σ, KK, quality.

    ``absent[i]`` True marks a spectrum where the series found no interlayer: its
    ``absent_param`` reads 0 rather than a blank.
    """
    names, derived = _table_columns(items)
    with_arc = bool(absent)
    # a series fitted with more than one circuit (automatic choice, window fallback) names each row's
    circuits = [_get(it, "circuit_name") if _is_fit(it) else None for it in items]
    by_row = len({c for c in circuits if c}) > 1
    temps = [_meta(it).get("temperature_K") for it in items]  # Arrhenius sets: one temperature each
    use_temp = time_h is None and any(_finite(t) for t in temps)
    head: list[Any] = ["spectrum", "T / °C" if use_temp else "t / h", "status"]
    head += ["circuit"] if by_row else []
    head += ["interlayer"] if with_arc else []
    head += [f"{n}{' / ' + param_unit(n) if param_unit(n) else ''}" for n in names]
    head += [f"{d}{' / ' + normalise_unit(u) if u else ''}" for d, u in derived]
    head += ["KK (max |res|)", Markup("χ²<sub>ν</sub>"), "flags"]
    rows = []
    for i, it in enumerate(items):
        t = f"{time_h[i]:.2f}" if time_h is not None and i < len(time_h) and _finite(time_h[i]) else "—"
        if use_temp:
            t = _celsius(temps[i])
        row: list[Any] = [_label_of(it, i), t]
        if _is_fit(it):
            no_arc = bool(i < len(absent) and absent[i]) if with_arc else None
            cells = _fit_cells(it, names, derived, kk[i] if i < len(kk) else None, no_arc, absent_param)
            row += cells[:1] + ([circuits[i]] if by_row else []) + cells[1:]
        elif isinstance(it, Mapping):
            row += _row_cells(it, names)
        else:  # a failure object
            reason = _get(it, "reason") or _get(it, "message") or _get(it, "error") or "failed"
            row.append(_ok("failed", False, note=reason))
            row += ["—"] * (len(names) + len(derived) + 3 + int(with_arc) + int(by_row))
        rows.append(row)
    return _table(head, rows, "fits")


def _arc_table(fit: Any) -> Markup | str:
    """Physics table of one fit: each arc with role, R, C_eff and apex frequency."""
    arcs = _get(fit, "arcs") or ()
    rows = []
    for arc in arcs:
        role: Any = str(_get(arc, "role", "")).replace("_", " ")
        effective = _get(arc, "effective_role")
        if effective and effective != _get(arc, "role"):  # stored by physics.effective_role
            counted = f"counted as {str(effective).replace('_', ' ')}"
            role = {
                "pre": role + " ",
                "cls": "bad",
                "text": f"({counted})",
                "note": _get(arc, "role_note") or None,
            }
        elif _get(arc, "role_ok") is False:
            role = {"pre": role + " ", "cls": "bad", "text": "(C_eff outside the range for this role)"}
        rows.append(
            [
                _get(arc, "name", ""),
                role,
                format_quantity(_get(arc, "R"), _get(arc, "R_stderr"), "Ω"),
                format_quantity(_get(arc, "C_eff"), _get(arc, "C_eff_stderr"), "F"),
                format_quantity(_get(arc, "f_apex"), None, "Hz"),
            ]
        )
    if not rows:
        return ""
    return _table(["arc", "role", "R", Markup("C<sub>eff</sub>"), Markup("f<sub>apex</sub>")], rows, "arcs")


_KINETICS_EXTRAS = (
    ("ASR_int_final_per_interface_ohm_cm2", "ASR per interface at the end", "Ω·cm²"),
    ("C_eff_int_final_F", Markup("C<sub>eff,int</sub> at the end (cell total)"), "F"),
    ("f0_int_final_Hz", "apex frequency of the interlayer arc", "Hz"),
)


def _kinetics_summary(kinetics: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    """(label, value) pairs of the kinetics block: model, onset, t95, final values."""
    r_final = next(
        (kinetics[k] for k in ("R_int_final", "R_int_final_ohm", "R_final_ohm") if k in kinetics), None
    )
    # a cell without times is on a rank axis: its onset is a position in the list, not hours
    unit = time_unit(kinetics.get("time_basis"))
    items: list[tuple[Any, Any]] = [
        ("best model", {"pre": f"{kinetics.get('model')}: ", **_code(kinetics.get("equation") or "")}),
        (
            Markup("onset t<sub>0</sub>"),
            format_quantity(kinetics.get("onset_h"), kinetics.get("onset_stderr_h"), unit),
        ),
        (Markup("t<sub>95</sub> (95 % of final growth)"), format_quantity(kinetics.get("t95_h"), None, unit)),
        ("first spectrum with the arc", format_quantity(kinetics.get("first_detected_h"), None, unit)),
        (Markup("R<sub>int</sub> at the end (cell total)"), format_quantity(r_final, None, "Ω")),
    ]
    eps = kinetics.get("eps_r_assumed")
    thickness = Markup("interlayer thickness at the end") + (
        Markup(" (ε<sub>r</sub> = {} assumed)").format(eps) if eps else ""
    )
    for key, label, unit in (*_KINETICS_EXTRAS, ("thickness_int_final_nm", thickness, "nm")):
        if _finite(kinetics.get(key)):
            items.append((label, format_quantity(kinetics[key], kinetics.get(f"{key}_stderr"), unit)))
    return [(k, v) for k, v in items if v != "—"]


def _kinetics_rows(kinetics: Mapping[str, Any]) -> list[list[str]]:
    """One row per kinetics model: name, AICc, ΔAICc, parameters ± 1σ."""
    rows = []
    for m in kinetics.get("models") or ():
        params = m.get("params") or {}
        stderr = m.get("stderr") or {}
        units = m.get("units") or {}
        text = ", ".join(
            f"{k} = {format_quantity(v, stderr.get(k), units.get(k, ''))}" for k, v in params.items()
        )
        rows.append(
            [
                str(m.get("model", m.get("name", ""))),
                f"{float(m['aicc']):.1f}" if _finite(m.get("aicc")) else "—",
                f"{float(m['delta_aicc']):.1f}" if _finite(m.get("delta_aicc")) else "—",
                text,
            ]
        )
    return rows


def _kinetics_html(kinetics: Any) -> Markup:
    if kinetics is None:
        return _block("no_kinetics")
    if not isinstance(kinetics, Mapping):
        kinetics = kinetics.to_dict() if hasattr(kinetics, "to_dict") else dict(vars(kinetics))
    no_growth = kinetics.get("model") in (None, "none")
    summary = [] if no_growth else _kinetics_summary(kinetics)
    return _block("kinetics", summary, no_growth, _kinetics_rows(kinetics))


_PROVENANCE_KEYS = (
    ("started", "run started"),
    ("finished", "run finished"),
    ("command", "command"),
    ("circuit", "circuit"),
    ("baseline circuit", "baseline circuit (no interlayer)"),
    ("baseline", "baseline circuit (no interlayer)"),
    ("fit_seconds", "fit time / s"),
    ("circuit_string", "circuit string"),
    ("circuit_file", "circuit file"),
    ("circuit_sha256", "circuit file SHA-256"),
)


def _code(text: Any, cls: str = "") -> dict[str, Any]:
    return {"code": True, "text": str(text), "cls": cls}


def _provenance_html(prov: Mapping[str, Any]) -> Markup:
    items = [("eisna version", prov.get("eisna_version")), ("report written", prov.get("report_time"))]
    items += [(label, prov[key]) for key, label in _PROVENANCE_KEYS if prov.get(key)]
    options = [(k, _code(json.dumps(v, default=str))) for k, v in (prov.get("options") or {}).items()]
    files = [[_code(e["path"]), _code(e["sha256"], "hash")] for e in prov.get("inputs", [])]
    skipped = [
        [_code(_get(e, "path", e)), str(_get(e, "reason", ""))]
        for e in prov.get("skipped") or ()
        if isinstance(e, Mapping)
    ]
    return _block("provenance", [(k, _code(v)) for k, v in items], options, files, skipped)


def _cards(
    items: list[Any], time_h: np.ndarray | None, kinetics: Any, kk: Sequence[Any] = ()
) -> list[tuple[str, str]]:
    """(label, value) of the summary cards at the top of the page."""
    n_ok = sum(
        1
        for it in items
        if _is_fit(it)
        or (isinstance(it, Mapping) and str(it.get("status", "ok")) in ("ok", "fitted", "success", "cached"))
    )
    cards = [("spectra fitted", f"{n_ok} / {len(items)}")]
    tested = [k for k in kk if k is not None]
    if tested:
        cards.append(("KK test passed", f"{sum(bool(_get(k, 'passed')) for k in tested)} / {len(tested)}"))
    k: Mapping[str, Any] = {}
    if kinetics is not None:
        k = (
            kinetics
            if isinstance(kinetics, Mapping)
            else (kinetics.to_dict() if hasattr(kinetics, "to_dict") else {})
        )
    unit = time_unit(k.get("time_basis"))
    if time_h is not None and np.isfinite(np.asarray(time_h, float)).any():  # (none: every fit failed)
        span = np.nanmax(time_h) - np.nanmin(time_h)
        cards.append(("time span", f"{span:.1f} h" if unit == "h" else f"{span + 1:.0f} spectra, no times"))
    if kinetics is not None:
        model = k.get("model")
        cards.append(("growth law", "none detected" if model in (None, "none") else str(model)))
        if _finite(k.get("onset_h")):
            cards.append(("onset", format_quantity(k["onset_h"], k.get("onset_stderr_h"), unit)))
        if _finite(k.get("t95_h")):
            cards.append(("t95", format_quantity(k["t95_h"], None, unit)))
    return cards


def _kk_for(items: list[Any], kk: Sequence[Any] | None) -> list[Any]:
    if kk is not None:
        return list(kk)
    from ..analysis import kk_result

    return [kk_result(it) if _is_fit(it) and _get(it, "z") is not None else None for it in items]


def _reread_spectra(rows: list[dict[str, Any]], circuit: str | None) -> list[Any]:
    """Spectra named by the rows' source/index, each with its stored fit drawn from the circuit
    it was fitted with (the row's ``model``, else ``circuit``, the series') when that loads."""
    from ..io import read

    cache: dict[str, list[Any]] = {}
    models: dict[str, Any] = {}
    out: list[Any] = []
    for row in rows:
        src, index = row.get("source"), row.get("index")
        spec = None
        if src and os.path.isfile(str(src)):
            if src not in cache:
                try:
                    cache[src] = read(src)
                except (EisnaError, OSError):
                    cache[src] = []
            spectra = cache[src]
            try:
                i = int(index) if index is not None else 0
            except (TypeError, ValueError):
                i = 0
            spec = spectra[i] if 0 <= i < len(spectra) else None
        if spec is None:
            out.append(None)
            continue
        z_fit = None
        model = _row_circuit(row.get("model"), models) or _row_circuit(circuit, models)
        if model is not None:
            values = {k: row[k] for k in _circuit_params(model) if _finite(row.get(k))}
            try:
                z_fit = _circuit_impedance(model, spec.freq, values)
            except (EisnaError, KeyError, TypeError, ValueError):
                z_fit = None
        out.append(
            {"freq": spec.freq, "z": spec.z, "z_fit": z_fit}
            if z_fit is not None
            else {"freq": spec.freq, "z": spec.z}
        )
    return out


def _row_circuit(name: Any, loaded: dict[str, Any]) -> Any:
    """The circuit definition named ``name`` (loaded once into ``loaded``), or None."""
    if not name or not isinstance(name, str):
        return None
    if name not in loaded:
        try:
            from ..circuit import load_circuit

            loaded[name] = load_circuit(name)
        except (EisnaError, OSError, ImportError):
            loaded[name] = None
    return loaded[name]


def _circuit_params(definition: Any) -> list[str]:
    circuit = _get(definition, "circuit", definition)
    return list(_get(circuit, "param_names") or _get(definition, "param_names") or ())


def _circuit_impedance(definition: Any, freq: np.ndarray, values: Mapping[str, float]) -> np.ndarray:
    circuit = _get(definition, "circuit", definition)
    return np.asarray(circuit.impedance(freq, values), dtype=complex)


def _absent(series: Any) -> list[bool]:
    flags = _get(series, "interlayer") if series is not None else None
    return [] if flags is None else [f is False or (isinstance(f, np.bool_) and not f) for f in flags]


class _Nyq:
    """A re-read spectrum with its stored fit, shaped like what the plots expect."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.freq = data["freq"]
        self.z = data["z"]
        self.z_fit = data.get("z_fit")


# ----------------------------------------------------------------------------- public API
def _cycling_html(context: Any) -> Markup:
    d = context.to_dict()

    def mv(x: Any) -> str:
        return f"{1e3 * x:.3g} mV" if _finite(x) else "–"

    def asr(x: Any) -> str:
        return f"{x:.4g} Ω·cm²" if _finite(x) else "–"

    offset, short = d["eis_offset_h"], d["first_short_h"]
    items = [
        ("file", str(d["source"])),
        ("records, half cycles", f"{d['n_records']}, {d['n_half_cycles']}"),
        (
            "impedance series start on the cycling clock",
            f"{offset:+.3f} h" if offset is not None else "no common clock",
        ),
        (
            "overpotential |η|, first → last healthy half cycle",
            f"{mv(d['overpotential_first_V'])} → {mv(d['overpotential_last_V'])}",
        ),
        (
            "DC ASR η/j (cell total), first → last",
            f"{asr(d['asr_dc_first_ohm_cm2'])} → {asr(d['asr_dc_last_ohm_cm2'])}",
        ),
        ("first soft short", f"{short:.2f} h" if short is not None else "none found"),
    ]
    events = [
        [f"{e['time_h']:.2f}", str(e["half_cycle"]), str(e["reason"]), str(e["detail"])]
        for e in d["events"] or ()
    ]
    return _block("cycling", items, events)


def _stored_cycling(path: Path) -> Any:
    """The cycling context of a finished batch: stored in ``cycling.json``, or (older folders)
    re-read from the file it names when that still exists."""
    if not path.is_file():
        return None
    from ..cycling import cycling_context
    from .data import StoredCycling

    info = json.loads(path.read_text(encoding="utf-8"))
    stored = StoredCycling.from_record(info)
    if stored is not None:
        return stored  # the batch stored what the figure needs: render, read nothing
    source = info.get("source")
    if not source or not Path(source).is_file():
        return None
    try:
        return cycling_context(
            source, area_cm2=info.get("area_cm2"), tz=info.get("tz"), eis_offset=info.get("eis_offset_h")
        )
    except EisnaError:
        return None


def render_data(data: Any, title: str | None = None) -> str:
    """Return the page for a :class:`~eisna.report.data.ReportData` (the renderer of stored analysis)."""
    from types import SimpleNamespace

    series = SimpleNamespace(
        results=list(data.spectra),
        time_h=data.time_h,
        interlayer=None if data.interlayer is None else list(data.interlayer),
        interlayer_param=data.interlayer_param,
        circuit=None,
        baseline=None,
        options=None,
        kinetics=None,
    )
    return _render_page(
        series,
        None,
        data.kinetics,
        data.provenance,
        title or data.title,
        kk=list(data.kk),
        arrhenius=data.arrhenius,
        cycling=data.cycling,
    )


def render_report(
    series: Any = None,
    fits: Sequence[Any] | None = None,
    kinetics: Any = None,
    provenance: Mapping[str, Any] | None = None,
    title: str | None = None,
    *,
    kk: Sequence[Any] | None = None,
    arrhenius: Any = None,
    cycling: Any = None,
    analysis: Mapping[str, Any] | None = None,
) -> str:
    """Return the report as one self-contained HTML string (see :func:`write_report`).

    A series goes through the stored-analysis form (:class:`~eisna.report.data.ReportData`),
    so the page equals the one rebuilt later from ``analysis.json``.
    """
    if series is not None:
        from .data import ReportData

        data = ReportData.from_series(
            series,
            kinetics=kinetics,
            provenance=provenance,
            title=title,
            kk=kk,
            analysis=analysis,
            cycling=cycling,
            arrhenius=arrhenius,
        )
        return render_data(data)
    return _render_page(None, fits, kinetics, provenance, title, kk=kk, arrhenius=arrhenius, cycling=cycling)


def _tracks_html(tracks: list[Any], kinetics: Mapping[str, Any]) -> Markup:
    """Notes on clocks, circuits and area, then the tracked-quantities table (escaped by the template)."""
    from .tracks import tracks_table

    cells = kinetics.get("cells") or {}
    basis = (
        "; ".join(f"{c}: {v.get('time_basis')}" for c, v in cells.items())
        if cells
        else kinetics.get("time_basis")
    )
    extra = []
    if basis:
        extra.append(f"Time axis: {basis} (each cell on its own clock, starting at 0).")
    circuits = kinetics.get("reported_circuits") or {}
    if len(circuits) > 1 or kinetics.get("n_window_fallback"):
        extra.append(
            f"Circuits reported: {', '.join(f'{k} ({v})' for k, v in circuits.items())}; "
            f"{kinetics.get('n_window_fallback', 0)} spectra fell back to what the measured window "
            "can carry (results.csv model_note says why)."
        )
    if kinetics.get("n_auto_blocking"):
        extra.append(
            f"Automatic circuit choice: {kinetics['n_auto_blocking']} spectra end in the capacitive spike of "
            "blocking electrodes and were fitted with pellet_blocking (results.csv model_note gives "
            "the tail's phase, slope and capacitance)."
        )
    for split in kinetics.get("sample_splits") or ():  # stored by the series (choice.py)
        if isinstance(split, Mapping) and split.get("reason"):
            extra.append(f"Two samples in one cell: {split['reason']}.")
    area, source = kinetics.get("area_cm2"), kinetics.get("area_source")
    if source:
        extra.append(f"Electrode area: {f'{area:g} cm²' if area else 'none'} ({source}).")
    notes = Markup("").join(Markup('<p class="note">{}</p>').format(x) for x in extra)
    bases = {c: v.get("time_basis") for c, v in cells.items() if isinstance(v, Mapping)}
    head, rows = tracks_table(tracks, bases, kinetics.get("time_basis"))
    return notes + _table(head, rows)


def _render_page(
    series: Any = None,
    fits: Sequence[Any] | None = None,
    kinetics: Any = None,
    provenance: Mapping[str, Any] | None = None,
    title: str | None = None,
    *,
    kk: Sequence[Any] | None = None,
    arrhenius: Any = None,
    spectra_for_rows: Sequence[Any] | None = None,
    cycling: Any = None,
) -> str:
    time_h: np.ndarray | None = None
    if series is not None:
        items = list(_get(series, "results"))
        th = _get(series, "time_h")
        time_h = None if th is None else np.asarray(th, dtype=float)
    else:
        items = list(fits or ())
        if items and isinstance(items[0], Mapping) and "time_h" in items[0]:
            time_h = np.array([float(r["time_h"]) if _finite(r.get("time_h")) else np.nan for r in items])
    # a series arrives here only from render_data: its kinetics and provenance are the stored ones
    kk_results = _kk_for(items, kk)
    plot_items: list[Any] = items
    if spectra_for_rows is not None:  # rows rebuilt from JSON: plot the re-read spectra
        plot_items = [_Nyq(s) if s is not None else {"status": "missing"} for s in spectra_for_rows]
    prov = _provenance(provenance, items)
    figs = _figures(plot_items, time_h, series, kinetics, kk_results, arrhenius)
    if time_h is not None and len(items) > 1 and all(isinstance(it, Mapping) for it in items):
        figs.append(_rows_trajectories(items, time_h, kinetics))  # rows from results.json
    if cycling is not None:
        figs.append(_cycling_figure(cycling, series if series is not None else items))
    tracks = list(kinetics.get("tracks") or ()) if isinstance(kinetics, Mapping) else []
    if tracks:
        from .figures import _figure, _png
        from .tracks import tracks_figure

        cells = kinetics.get("cells") or {}
        bases = {c: v.get("time_basis") for c, v in cells.items() if isinstance(v, Mapping)}
        fig_tracks = tracks_figure(tracks, _png, _figure, bases, kinetics.get("time_basis"))
        if fig_tracks is not None:
            figs.insert(0, fig_tracks)
    circuit = prov.get("circuit") or next((_get(it, "circuit_name") for it in items if _is_fit(it)), None)
    title = title or (f"eisna report — {circuit}" if circuit else "eisna report")
    last_fit = next((it for it in reversed(items) if _is_fit(it)), None)
    arrhenius_table = _arrhenius_html(arrhenius) if arrhenius is not None else ""
    return _template("page.html.j2").render(
        title=title,
        n_spectra=len(items),
        circuit=circuit or "?",
        report_time=prov["report_time"],
        version=prov["eisna_version"],
        cards=_cards(items, time_h, kinetics, kk_results),
        kinetics=_kinetics_html(kinetics) if kinetics is not None or time_h is not None else None,
        tracks=_tracks_html(tracks, kinetics) if tracks else None,
        figures=figs,
        arrhenius=arrhenius_table or None,
        cycling=_cycling_html(cycling) if cycling is not None else None,
        arcs=_arc_table(last_fit) if last_fit is not None and _get(last_fit, "arcs") else None,
        fit_table=(
            _fit_table(
                items,
                time_h,
                kk_results,
                absent=_absent(series),
                absent_param=_get(series, "interlayer_param") or "R_int",
            )
        ),
        provenance=_provenance_html(prov),
    )


@functools.cache
def _environment() -> Any:
    """Jinja2 environment over the package's templates, with automatic HTML escaping."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("eisna.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
    )


def _template(name: str) -> Any:
    return _environment().get_template(name)


def _legacy_folder(
    out: Path, provenance: Mapping[str, Any] | None, kinetics: Any
) -> tuple[list[dict[str, Any]], dict[str, Any], Any, list[Any]]:
    """Rows, provenance, kinetics and plotted spectra of a folder without ``analysis.json``.

    Older batches: the rows of ``results.json``, with ``provenance.json`` and ``kinetics.json``
    when present; the spectra come from the stored curves, or are re-read from their files.
    """
    results = out / "results.json"
    if not results.is_file():
        raise EisnaError(
            f"{out}: no results to report; expected results.json from 'eisna batch' in "
            "this folder. Run 'eisna batch FILES --circuit NAME --out DIR' first."
        )
    fits, stored_prov, curves = _rows_from_json(results)
    prov_file = out / "provenance.json"
    if prov_file.is_file():
        stored_prov = {**json.loads(prov_file.read_text(encoding="utf-8")), **stored_prov}
    prov = {**stored_prov, **(provenance or {})}
    kin_file = out / "kinetics.json"
    if kinetics is None and kin_file.is_file():
        kinetics = json.loads(kin_file.read_text(encoding="utf-8"))
    circuit = (
        prov.get("circuit_file")
        or prov.get("circuit")
        or next((r.get("circuit") for r in fits if r.get("circuit")), None)
    )
    stored = [_stored_curve(c) for c in curves] if len(curves) == len(fits) else []
    if stored and any(c is not None for c in stored):
        return fits, prov, kinetics, stored  # the batch kept data and fit: no need to re-read the files
    return fits, prov, kinetics, _reread_spectra(list(fits), circuit)


def write_report(
    out_dir: str | os.PathLike[str],
    series: Any = None,
    fits: Sequence[Any] | None = None,
    kinetics: Any = None,
    provenance: Mapping[str, Any] | None = None,
    title: str | None = None,
    *,
    kk: Sequence[Any] | None = None,
    arrhenius: Any = None,
    filename: str = "report.html",
    cycling: Any = None,
    analysis: Mapping[str, Any] | None = None,
) -> Path:
    """Write a self-contained ``report.html`` into ``out_dir`` and return its path.

    Parameters
    ----------
    out_dir : path
        Output folder; created when missing.
    series : SeriesResult, optional
        A fitted time series.
    fits : sequence of FitResult or of row dicts, optional
        Fits to report when there is no series.
    kinetics : KineticsResult or mapping, optional
        Interlayer growth kinetics (``kinetics.json`` content).
    provenance : mapping, optional
        Circuit, options, input files, run times (see the module docstring).
    title : str, optional
        Page title.
    kk : sequence of KKResult, optional
        KK results aligned with the fits; computed from the fits when omitted.
    arrhenius : ArrheniusResult or (T_K, sigma_S_cm), optional
        Adds an Arrhenius plot.
    filename : str
        Name of the HTML file.
    cycling : CyclingContext, optional
        Cycling data of the same cell (:func:`eisna.cycling.cycling_context`): adds the joint
        figure and a summary. When rebuilding from ``out_dir``, taken from ``cycling.json``
        if the cycling file it names still exists.

    Returns
    -------
    Path
        The written report.

    Raises
    ------
    EisnaError
        When nothing is given and ``out_dir`` holds no ``results.json`` to rebuild from.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from .._atomic import write_atomic
    from .data import ANALYSIS_FILE, ReportData

    if series is None and fits is None and (out / ANALYSIS_FILE).is_file():
        # the stored analysis of a batch: render it, compute nothing
        if cycling is None:
            cycling = _stored_cycling(out / "cycling.json")
        data = ReportData.from_folder(out, cycling=cycling, arrhenius=arrhenius)
        return write_atomic(out / filename, render_data(data, title))
    if series is None and fits is None:  # an older folder without analysis.json: plot the re-read spectra
        rows, prov, kin, spectra = _legacy_folder(out, provenance, kinetics)
        if cycling is None:
            cycling = _stored_cycling(out / "cycling.json")
        page = _render_page(
            None,
            rows,
            kin,
            prov,
            title,
            kk=kk,
            arrhenius=arrhenius,
            spectra_for_rows=spectra,
            cycling=cycling,
        )
        return write_atomic(out / filename, page)
    text = render_report(
        series,
        fits,
        kinetics,
        provenance,
        title,
        kk=kk,
        arrhenius=arrhenius,
        cycling=cycling,
        analysis=analysis,
    )
    return write_atomic(out / filename, text)
