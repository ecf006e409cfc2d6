"""The resume cache of :func:`eisna.batch`: finished spectra stored as data, never as code.

Layout: ``DIR/.eisna-cache/v3/<key[:2]>/<key>.json``, one JSON document per spectrum::

    {"format": "eisna-fit-cache", "version": 3, "sha256": "<digest>", "payload": {...}}

``payload`` holds the cache key and the spectrum's :class:`~eisna.series.SpectrumOutcome` with
its fits as plain numbers, strings and lists (complex arrays as ``{"re": [...], "im": [...]}``,
NaN and infinities as JSON's ``NaN``/``Infinity`` tokens; floats round-trip exactly). ``sha256``
is the digest of the canonical JSON of ``payload`` (sorted keys, no spaces), so an entry edited
by hand, cut short or written for another key is recognised; it is then ignored with a
:class:`~eisna.errors.CacheWarning` and the spectrum is refitted. The digest protects against
accidents and edits, not against someone who recomputes it: what such a person can change is
numbers in the outputs, never what eisna executes, since the cache is only ever parsed as JSON.
The key (see :func:`eisna.series.fit_series`) covers the spectrum's data, the circuit, the
options, the eisna version and the warm-start chain before it.

Files of the first cache format (``<key[:2]>/<key>.pkl``, pickles) are never opened; they are
deleted by :func:`prune`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import warnings
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import TMP_SUFFIX, write_atomic
from .errors import CacheWarning, EisnaError

FORMAT = "eisna-fit-cache"
VERSION = 3  # 3: arcs carry their effective role and its note (stop 22); v2 entries are pruned
SUBDIR = f"v{VERSION}"
MAX_ENTRY_BYTES = 16 << 20  # a real entry is tens of kB


class _Invalid(ValueError):
    """A cache entry that does not decode into what was stored."""


def entry_path(cache_dir: str | os.PathLike[str], key: str) -> Path:
    return Path(cache_dir) / SUBDIR / key[:2] / f"{key}.json"


def canonical(payload: Any) -> bytes:
    """The bytes the digest is taken over (sorted keys, no spaces, ASCII)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


# --------------------------------------------------------------------------- encoding


def _f(x: Any) -> float:
    return float(x)


def _farr(a: Any) -> list[float]:
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def _carr(a: Any) -> dict[str, list[float]]:
    a = np.asarray(a, dtype=complex).ravel()
    return {"re": [float(v) for v in a.real], "im": [float(v) for v in a.imag]}


def _scalar(v: Any) -> Any:
    """A JSON-able metadata value (None, bool, int, float, str, datetime), else _Invalid."""
    if v is None or isinstance(v, bool | str):
        return v
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return float(v)
    if isinstance(v, datetime):
        return {"datetime": v.isoformat()}
    if isinstance(v, dict) and all(isinstance(k, str) for k in v):  # e.g. meta["bound_probe"]
        return {"mapping": [[k, _scalar(x)] for k, x in v.items()]}
    if isinstance(v, list | tuple):
        return {"sequence": [_scalar(x) for x in v]}
    raise _Invalid(f"cannot store a {type(v).__name__} in the cache")


def _encode_fit(res: Any) -> dict[str, Any]:
    from .fitting.result import FitResult
    from .series import FitFailure

    if isinstance(res, FitFailure):
        return {
            "type": "failure",
            "source": res.source,
            "index": res.index,
            "reason": res.reason,
            "stage": res.stage,
            "timestamp": _scalar(res.timestamp),
        }
    if not isinstance(res, FitResult):
        raise _Invalid(f"cannot store a {type(res).__name__} in the cache")
    corr = np.asarray(res.correlation, dtype=float)
    return {
        "type": "fit",
        "circuit_name": res.circuit_name,
        "circuit": res.circuit.circuit.text,
        "param_names": list(res.param_names),
        "params": [[k, _f(v)] for k, v in res.params.items()],
        "stderr": [[k, _f(v)] for k, v in res.stderr.items()],
        "start": [[k, _f(v)] for k, v in res.start.items()],
        "correlation": {"shape": list(corr.shape), "values": _farr(corr)},
        "chisqr": _f(res.chisqr),
        "redchi": _f(res.redchi),
        "aic": _f(res.aic),
        "bic": _f(res.bic),
        "aicc": _f(res.aicc),
        "residuals": _farr(res.residuals),
        "freq": _farr(res.freq),
        "z": _carr(res.z),
        "z_fit": _carr(res.z_fit),
        "fmin": _f(res.fmin),
        "fmax": _f(res.fmax),
        "weighting": res.weighting,
        "arcs": [
            [
                a.name,
                a.role,
                _f(a.R),
                _f(a.R_stderr),
                _f(a.C_eff),
                _f(a.C_eff_stderr),
                _f(a.f_apex),
                _f(a.tau),
                a.role_ok,
                _f(a.f_apex_stderr),
                a.formula,
                a.effective_role,
                a.role_note,
            ]
            for a in res.arcs
        ],
        "derived": [[k, _f(q.value), _f(q.stderr), q.unit] for k, q in res.derived.items()],
        "flags": list(res.flags),
        "warnings": list(res.warnings),
        "varied": list(res.varied),
        "success": bool(res.success),
        "nfev": int(res.nfev),
        "message": str(res.message),
        "n_points": int(res.n_points),
        "meta": [[str(k), _scalar(v)] for k, v in (res.meta or {}).items()],
    }


def encode_outcome(outcome: Any) -> dict[str, Any]:
    """Plain-data form of a :class:`~eisna.series.SpectrumOutcome` (raises ValueError when a
    value has no plain-data form)."""
    full = None if outcome.full is None else _encode_fit(outcome.full)
    base = None if outcome.base is None else _encode_fit(outcome.base)
    if outcome.result is outcome.full and full is not None:
        result: Any = "full"
    elif outcome.result is outcome.base and base is not None:
        result = "base"
    else:
        result = _encode_fit(outcome.result)
    return {
        "result": result,
        "full": full,
        "base": base,
        "interlayer": outcome.interlayer,
        "delta_bic": _f(outcome.delta_bic),
        "min_interlayer_ohm": _f(outcome.min_interlayer_ohm),
        "backfilled": bool(outcome.backfilled),
    }


# --------------------------------------------------------------------------- decoding


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise _Invalid(what)


def _str(v: Any) -> str:
    _need(isinstance(v, str), "expected a string")
    return v


def _num(v: Any) -> float:
    _need(isinstance(v, int | float) and not isinstance(v, bool), "expected a number")
    return float(v)


def _int(v: Any) -> int:
    _need(isinstance(v, int) and not isinstance(v, bool), "expected an integer")
    return int(v)


def _opt(v: Any, conv) -> Any:
    return None if v is None else conv(v)


def _strs(v: Any) -> tuple[str, ...]:
    _need(isinstance(v, list), "expected a list of strings")
    return tuple(_str(s) for s in v)


def _pairs(v: Any) -> dict[str, float]:
    _need(isinstance(v, list), "expected a list of pairs")
    out: dict[str, float] = {}
    for item in v:
        _need(isinstance(item, list) and len(item) == 2, "expected a pair")
        out[_str(item[0])] = _num(item[1])
    return out


def _vec(v: Any) -> np.ndarray:
    _need(isinstance(v, list), "expected a list of numbers")
    return np.array([_num(x) for x in v], dtype=float)


def _cvec(v: Any) -> np.ndarray:
    _need(isinstance(v, dict), "expected a complex array")
    re, im = _vec(v.get("re")), _vec(v.get("im"))
    _need(re.size == im.size, "complex parts of unequal length")
    return re + 1j * im


def _meta_value(v: Any, depth: int = 0) -> Any:
    _need(depth < 8, "metadata nested too deeply")
    if isinstance(v, dict):
        _need(len(v) == 1 and set(v) <= {"datetime", "mapping", "sequence"}, "unknown metadata value")
        if "mapping" in v:
            items = v["mapping"]
            _need(
                isinstance(items, list) and all(isinstance(i, list) and len(i) == 2 for i in items),
                "expected metadata pairs",
            )
            return {_str(k): _meta_value(x, depth + 1) for k, x in items}
        if "sequence" in v:
            _need(isinstance(v["sequence"], list), "expected a metadata list")
            return tuple(_meta_value(x, depth + 1) for x in v["sequence"])
        return datetime.fromisoformat(_str(v["datetime"]))
    _need(v is None or isinstance(v, bool | int | float | str), "unknown metadata value")
    return v


def _decode_fit(d: Any, definitions: dict[str, Any]) -> Any:
    from .fitting.result import Arc, FitResult, Quantity
    from .series import FitFailure

    _need(isinstance(d, dict), "expected an object")
    if d.get("type") == "failure":
        ts = d.get("timestamp")
        return FitFailure(
            _str(d["source"]),
            _opt(d.get("index"), _int),
            _str(d["reason"]),
            _str(d["stage"]),
            _meta_value(ts) if ts is not None else None,
        )
    _need(d.get("type") == "fit", "unknown entry type")
    name = _str(d["circuit_name"])
    if name not in definitions:
        from .circuit import load_circuit

        definitions[name] = load_circuit(name)
    defn = definitions[name]
    _need(defn.circuit.text == _str(d["circuit"]), "the circuit changed since the entry was written")
    names = _strs(d["param_names"])
    _need(names == tuple(defn.param_names), "parameter names differ from the circuit's")
    params = _pairs(d["params"])
    _need(tuple(params) == names, "parameters differ from the circuit's")
    corr = d["correlation"]
    _need(isinstance(corr, dict), "expected a correlation matrix")
    shape = tuple(_int(s) for s in corr["shape"])
    values = _vec(corr["values"])
    _need(len(shape) == 2 and values.size == math.prod(shape), "correlation shape mismatch")
    arcs = []
    for a in d["arcs"]:
        _need(isinstance(a, list) and len(a) == 13, "expected an arc")
        arcs.append(
            Arc(
                _str(a[0]),
                _opt(a[1], _str),
                _num(a[2]),
                _num(a[3]),
                _num(a[4]),
                _num(a[5]),
                _num(a[6]),
                _num(a[7]),
                _opt(a[8], bool),
                _num(a[9]),
                _str(a[10]),
                _opt(a[11], _str),
                _str(a[12]),
            )
        )
    derived = {}
    for q in d["derived"]:
        _need(isinstance(q, list) and len(q) == 4, "expected a quantity")
        derived[_str(q[0])] = Quantity(_num(q[1]), _num(q[2]), _str(q[3]))
    meta = {}
    for item in d["meta"]:
        _need(isinstance(item, list) and len(item) == 2, "expected a metadata pair")
        meta[_str(item[0])] = _meta_value(item[1])
    freq, z, z_fit = _vec(d["freq"]), _cvec(d["z"]), _cvec(d["z_fit"])
    _need(freq.size == z.size == z_fit.size, "data arrays of unequal length")
    _need(isinstance(d["success"], bool), "expected a boolean")
    return FitResult(
        params=params,
        stderr=_pairs(d["stderr"]),
        correlation=values.reshape(shape),
        param_names=names,
        chisqr=_num(d["chisqr"]),
        redchi=_num(d["redchi"]),
        aic=_num(d["aic"]),
        bic=_num(d["bic"]),
        aicc=_num(d["aicc"]),
        residuals=_vec(d["residuals"]),
        freq=freq,
        z=z,
        z_fit=z_fit,
        fmin=_num(d["fmin"]),
        fmax=_num(d["fmax"]),
        weighting=_str(d["weighting"]),
        circuit=defn,
        circuit_name=name,
        arcs=tuple(arcs),
        derived=derived,
        flags=_strs(d["flags"]),
        success=d["success"],
        nfev=_int(d["nfev"]),
        message=_str(d["message"]),
        warnings=_strs(d["warnings"]),
        varied=_strs(d["varied"]),
        n_points=_int(d["n_points"]),
        start=_pairs(d["start"]),
        meta=meta,
    )


def decode_outcome(d: Any, definitions: dict[str, Any] | None = None) -> Any:
    """The :class:`~eisna.series.SpectrumOutcome` stored by :func:`encode_outcome`."""
    from .series import SpectrumOutcome

    definitions = {} if definitions is None else definitions
    _need(isinstance(d, dict), "expected an object")
    full = None if d["full"] is None else _decode_fit(d["full"], definitions)
    base = None if d["base"] is None else _decode_fit(d["base"], definitions)
    ref = d["result"]
    if ref == "full":
        _need(full is not None, "result refers to a missing fit")
        result = full
    elif ref == "base":
        _need(base is not None, "result refers to a missing fit")
        result = base
    else:
        result = _decode_fit(ref, definitions)
    inter = d["interlayer"]
    _need(inter is None or isinstance(inter, bool), "expected true, false or null")
    _need(isinstance(d["backfilled"], bool), "expected a boolean")
    return SpectrumOutcome(
        result, inter, _num(d["delta_bic"]), _num(d["min_interlayer_ohm"]), full, base, d["backfilled"]
    )


# --------------------------------------------------------------------------- files


def store(cache_dir: str | os.PathLike[str], key: str, outcome: Any) -> bool:
    """Write one entry atomically; False (nothing written) when the outcome holds a value that
    has no plain-data form."""
    try:
        payload = {"key": key, "outcome": encode_outcome(outcome)}
    except (_Invalid, TypeError, ValueError):
        return False
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "sha256": hashlib.sha256(canonical(payload)).hexdigest(),
        "payload": payload,
    }
    path = entry_path(cache_dir, key)
    root = Path(cache_dir)
    if any(p.is_symlink() for p in (root, root / SUBDIR, path.parent)):
        return False  # a cache folder planted as a link elsewhere: write nothing through it
    write_atomic(path, json.dumps(doc, separators=(",", ":")), fsync=False)
    return True


def load(
    cache_dir: str | os.PathLike[str] | None, key: str, definitions: dict[str, Any] | None = None
) -> Any:
    """The outcome stored under ``key``, or None when there is none or it cannot be trusted (then
    with a :class:`~eisna.errors.CacheWarning` naming the file)."""
    if not cache_dir:
        return None
    path = entry_path(cache_dir, key)
    try:
        if not path.is_file():
            return None
        if path.stat().st_size > MAX_ENTRY_BYTES:
            raise _Invalid("larger than any entry eisna writes")
        doc = json.loads(path.read_bytes())
        _need(isinstance(doc, dict) and doc.get("format") == FORMAT, "not an eisna cache entry")
        version = doc.get("version")
        _need(version == VERSION, f"cache format version {version!r}, expected {VERSION}")
        payload = doc.get("payload")
        digest = hashlib.sha256(canonical(payload)).hexdigest()
        _need(doc.get("sha256") == digest, "its content does not match its digest (edited or damaged)")
        _need(isinstance(payload, dict) and payload.get("key") == key, "written for another key")
        return decode_outcome(payload.get("outcome"), definitions)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError, EisnaError) as err:
        reason = str(err) if isinstance(err, _Invalid) else f"unreadable ({type(err).__name__}: {err})"
        warnings.warn(
            f"{path}: resume-cache entry ignored, the spectrum is refitted: {reason}",
            CacheWarning,
            stacklevel=2,
        )
        return None


def prune(cache_dir: str | os.PathLike[str], keep: Iterable[str]) -> int:
    """Delete every file in ``cache_dir`` that is not an entry for one of the keys in ``keep``:
    entries of other runs, first-format ``.pkl`` files and temporary files. Returns the count."""
    root = Path(cache_dir)
    if not root.is_dir() or root.is_symlink():
        return 0
    wanted = {entry_path(root, k) for k in keep}
    removed = 0
    for folder, dirs, files in os.walk(root, topdown=False, followlinks=False):
        here = Path(folder)
        for name in files:
            f = here / name
            if f in wanted:
                continue
            if name.endswith((".json", ".pkl", TMP_SUFFIX)) or name.startswith(".tmp-"):
                f.unlink(missing_ok=True)
                removed += 1
        for name in dirs:
            with contextlib.suppress(OSError):
                (here / name).rmdir()  # only when empty
    return removed
