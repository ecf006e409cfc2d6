"""Library circuits: TOML files with a circuit string, element roles and parameter bounds.

Search order for :func:`load_circuit` and :func:`list_circuits`:

1. explicit ``paths`` (directories or files);
2. directories in the ``EISNA_CIRCUIT_PATH`` environment variable (``os.pathsep`` separated);
3. ``importlib.resources.files("eisna") / "_circuits"`` (installed wheel);
4. the ``circuits/`` folder of a source checkout (editable install).

The file format is described in ``circuits/README.md``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from ..errors import CircuitDefinitionError, CircuitSyntaxError
from .parser import Circuit, parse_circuit

__all__ = [
    "ROLES",
    "CircuitDefinition",
    "ParamDefault",
    "definition_from_circuit",
    "list_circuits",
    "load_circuit",
]

ROLES = ("stray", "bulk", "grain_boundary", "interlayer", "charge_transfer", "electrode", "diffusion")
_TOP_KEYS = {
    "schema",
    "name",
    "title",
    "description",
    "references",
    "circuit",
    "symmetric",
    "elements",
    "parameters",
}
_ELEMENT_KEYS = {"role", "params"}
_PARAM_KEYS = {"value", "min", "max", "scale", "vary"}


@dataclass(frozen=True, slots=True)
class ParamDefault:
    """Start value, bounds and scale of one fit parameter."""

    value: float
    min: float
    max: float
    scale: Literal["log", "linear"] = "log"
    vary: bool = True


@dataclass(frozen=True, eq=False)
class CircuitDefinition:
    """A circuit with roles, parameter defaults and documentation.

    Attributes
    ----------
    name : str
        Library name (file stem) or the circuit string for ad-hoc circuits.
    circuit : Circuit
        The compiled circuit; its ``param_names`` are the library names (``R_b``, ``Q_gb``…).
    roles : Mapping[str, str]
        Element name (as in the circuit string) → role; empty for ad-hoc circuits.
    param_roles : Mapping[str, str]
        Parameter name → role of its element.
    defaults : Mapping[str, ParamDefault]
        Per parameter.
    symmetric : bool
        True for symmetric cells (two identical interfaces in series).
    """

    name: str
    circuit: Circuit
    roles: Mapping[str, str]
    param_roles: Mapping[str, str]
    defaults: Mapping[str, ParamDefault]
    title: str = ""
    description: str = ""
    references: tuple[str, ...] = ()
    symmetric: bool = False
    source: str | None = None
    from_library: bool = field(default=False)

    def __reduce__(self) -> tuple[Any, ...]:
        # read-only mappings do not pickle; rebuild from plain dicts (process pools, resume cache)
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for key in ("roles", "param_roles", "defaults"):
            fields[key] = dict(fields[key])
        return (_rebuild_definition, (fields,))

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.circuit.param_names

    def __repr__(self) -> str:
        return f"CircuitDefinition({self.name!r}, {self.circuit.text!r})"


def _rebuild_definition(fields: dict[str, Any]) -> CircuitDefinition:
    for key in ("roles", "param_roles", "defaults"):
        fields[key] = MappingProxyType(fields[key])
    return CircuitDefinition(**fields)


def definition_from_circuit(circuit: Circuit | str) -> CircuitDefinition:
    """Wrap a bare circuit (string or :class:`Circuit`) with the elements' generic defaults."""
    if isinstance(circuit, str):
        circuit = parse_circuit(circuit)
    defaults = {}
    for inst in circuit.elements:
        for pname, spec in zip(inst.param_names, inst.spec.params, strict=True):
            defaults[pname] = ParamDefault(spec.default, spec.bounds[0], spec.bounds[1], spec.scale)
    return CircuitDefinition(
        name=circuit.text,
        circuit=circuit,
        roles=MappingProxyType({}),
        param_roles=MappingProxyType({}),
        defaults=MappingProxyType(defaults),
    )


# --- search path ---------------------------------------------------------------------------
def _search_dirs(paths: Iterable[str | os.PathLike[str]] | None = None) -> list[Path]:
    dirs: list[Path] = [Path(p) for p in (paths or ())]
    env = os.environ.get("EISNA_CIRCUIT_PATH")
    if env:
        dirs.extend(Path(p) for p in env.split(os.pathsep) if p)
    try:
        bundled = resources.files("eisna") / "_circuits"
        if bundled.is_dir():
            dirs.append(Path(str(bundled)))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - exotic loaders
        pass
    checkout = Path(__file__).resolve().parents[3] / "circuits"
    if checkout.is_dir():
        dirs.append(checkout)
    return dirs


def _library_files(paths=None) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in _search_dirs(paths):
        if d.is_file() and d.suffix == ".toml":
            found.setdefault(d.stem, d)
        elif d.is_dir():
            for f in sorted(d.glob("*.toml")):
                found.setdefault(f.stem, f)
    return found


def list_circuits(paths: Iterable[str | os.PathLike[str]] | None = None) -> list[str]:
    """Names of the library circuits found on the search path, sorted."""
    return sorted(_library_files(paths))


def load_circuit(
    name_or_path: str | os.PathLike[str], paths: Iterable[str | os.PathLike[str]] | None = None
) -> CircuitDefinition:
    """Load a library circuit by name (``"symmetric_interlayer"``) or from a TOML path.

    Raises
    ------
    CircuitDefinitionError
        If the name is not found or the file is invalid (the message names file and key).
    """
    text = str(name_or_path)
    path = Path(text)
    if not (text.endswith(".toml") or path.is_file()):
        files = _library_files(paths)
        if text not in files:
            close = difflib.get_close_matches(text, list(files), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise CircuitDefinitionError(
                f"no library circuit named {text!r}; available: {', '.join(sorted(files)) or 'none'}.{hint}"
            )
        path = files[text]
    return _load_file(path)


def _fail(path: Path, key: str, message: str) -> CircuitDefinitionError:
    return CircuitDefinitionError(f"{path}: key {key!r}: {message}")


def _check_keys(path: Path, where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise _fail(path, f"{where}{key}", f"unknown key; expected one of {sorted(allowed)}.{hint}")


def _read_toml(path: Path) -> dict[str, Any]:
    """The parsed TOML file, or an error naming the file."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as err:
        raise CircuitDefinitionError(f"{path}: file not found") from err
    except tomllib.TOMLDecodeError as err:
        raise CircuitDefinitionError(f"{path}: not valid TOML ({err})") from err


def _check_top(path: Path, data: Mapping[str, Any]) -> Circuit:
    """Top-level keys, schema and the circuit string; the circuit with its default names."""
    _check_keys(path, "", data, _TOP_KEYS)
    for key in ("circuit", "elements", "parameters"):
        if key not in data:
            raise _fail(path, key, "missing; every circuit file needs 'circuit', [elements] and [parameters]")
    if data.get("schema", 1) != 1:
        raise _fail(path, "schema", f"unknown schema {data['schema']!r}; expected 1")
    try:
        return parse_circuit(data["circuit"])
    except CircuitSyntaxError as err:
        raise _fail(path, "circuit", str(err)) from err


def _check_elements(
    path: Path, elements: Mapping[str, Any], bare: Circuit
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The [elements] table: parameter names and role of every element of the circuit."""
    names: dict[str, list[str]] = {}
    roles: dict[str, str] = {}
    for inst in bare.elements:
        if inst.name not in elements:
            raise _fail(
                path,
                f"elements.{inst.name}",
                f"missing; element {inst.name!r} of the circuit needs a role and parameter names",
            )
    for ename, entry in elements.items():
        key = f"elements.{ename}"
        try:
            inst = bare.element(ename)
        except KeyError:
            raise _fail(path, key, f"no element {ename!r} in circuit {bare.text!r}") from None
        if not isinstance(entry, Mapping):
            raise _fail(path, key, 'expected a table such as { role = "bulk", params = ["R_b"] }')
        _check_keys(path, f"{key}.", entry, _ELEMENT_KEYS)
        role = entry.get("role")
        if role is None:
            raise _fail(path, f"{key}.role", f"missing role; expected one of {list(ROLES)}")
        if role not in ROLES:
            raise _fail(path, f"{key}.role", f"unknown role {role!r}; expected one of {list(ROLES)}")
        params = entry.get("params")
        if not isinstance(params, list) or len(params) != inst.spec.n_params:
            symbols = [p.symbol for p in inst.spec.params]
            raise _fail(
                path,
                f"{key}.params",
                f"expected a list of {inst.spec.n_params} names for "
                f"{inst.spec.symbol} parameters {symbols}; found {params!r}",
            )
        roles[ename] = role
        names[ename] = [str(p) for p in params]
    return names, roles


def _check_parameter(path: Path, key: str, entry: Any) -> ParamDefault:
    """One entry of the [parameters] table: value within min..max, and its scale."""
    if not isinstance(entry, Mapping):
        raise _fail(path, key, "expected a table such as { value = 100.0, min = 1e-3, max = 1e6 }")
    _check_keys(path, f"{key}.", entry, _PARAM_KEYS)
    try:
        value, lo, hi = (float(entry[k]) for k in ("value", "min", "max"))
    except KeyError as err:
        raise _fail(path, f"{key}.{err.args[0]}", "missing; value, min and max are required") from None
    except (TypeError, ValueError):
        raise _fail(path, key, "value, min and max must be numbers") from None
    if not lo <= value <= hi:
        raise _fail(path, key, f"expected min <= value <= max; found {lo} <= {value} <= {hi}")
    scale = entry.get("scale", "log" if lo > 0 else "linear")
    if scale not in ("log", "linear"):
        raise _fail(path, f"{key}.scale", f"expected 'log' or 'linear'; found {scale!r}")
    if scale == "log" and lo <= 0:
        raise _fail(path, f"{key}.scale", f"'log' scale needs min > 0; found min = {lo}")
    return ParamDefault(value, lo, hi, scale, bool(entry.get("vary", True)))


def _check_parameters(path: Path, table: Mapping[str, Any], circuit: Circuit) -> dict[str, ParamDefault]:
    """The [parameters] table: one entry for every parameter of the circuit, and no other."""
    for pname in circuit.param_names:
        if pname not in table:
            raise _fail(path, f"parameters.{pname}", "missing; every circuit parameter needs value, min, max")
    defaults: dict[str, ParamDefault] = {}
    for pname, entry in table.items():
        key = f"parameters.{pname}"
        if pname not in circuit.param_names:
            close = difflib.get_close_matches(pname, circuit.param_names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise _fail(
                path,
                key,
                f"not a parameter of the circuit; parameters are {list(circuit.param_names)}.{hint}",
            )
        defaults[pname] = _check_parameter(path, key, entry)
    return defaults


def _load_file(path: Path) -> CircuitDefinition:
    # a definition is immutable: each file content is checked and compiled once per process
    # (≈ 0.9 ms, a fifth of a cold fit, when eisna.fit(spectrum, "name") is called in a loop);
    # keyed by the bytes, not the mtime, which a quick rewrite of the file may leave unchanged
    try:
        raw = path.read_bytes()
    except OSError:
        return _read_definition(path)  # _read_toml names the file in its error
    return _loaded(str(path), hashlib.blake2b(raw, digest_size=16).digest())


@functools.lru_cache(maxsize=64)
def _loaded(path: str, digest: bytes) -> CircuitDefinition:
    """The definition in file ``path`` whose content has ``digest`` (see :func:`_load_file`)."""
    return _read_definition(Path(path))


def _read_definition(path: Path) -> CircuitDefinition:
    data = _read_toml(path)
    bare = _check_top(path, data)
    names, roles = _check_elements(path, data["elements"], bare)
    try:
        circuit = bare.renamed(names)
    except CircuitSyntaxError as err:
        raise _fail(path, "elements", str(err)) from err
    param_roles = {p: roles[inst.name] for inst in circuit.elements for p in inst.param_names}
    defaults = _check_parameters(path, data["parameters"], circuit)

    refs = data.get("references", [])
    if not isinstance(refs, list):
        raise _fail(path, "references", "expected a list of strings")
    return CircuitDefinition(
        name=str(data.get("name", path.stem)),
        circuit=circuit,
        roles=MappingProxyType(roles),
        param_roles=MappingProxyType(param_roles),
        defaults=MappingProxyType({p: defaults[p] for p in circuit.param_names}),
        title=str(data.get("title", "")),
        description=str(data.get("description", "")).strip(),
        references=tuple(str(r) for r in refs),
        symmetric=bool(data.get("symmetric", False)),
        source=str(path),
        from_library=True,
    )
