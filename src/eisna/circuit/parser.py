"""Parse impedance.py circuit strings (``L0-p(R0,C0)-CPE1``) and compile them to numpy.

Grammar (whitespace ignored)::

    circuit  := term ("-" term)*
    term     := "p" "(" circuit ("," circuit)+ ")" | ELEMENT
    ELEMENT  := TYPE LABEL        e.g. R0, CPE1, Ws0, CPE_gb

``TYPE`` is the leading run of letters of the name, ``LABEL`` the rest (digits and
underscores first). No ``eval``: a hand-written tokenizer feeds a recursive-descent
parser, and the tree is turned into nested closures, one per node, that evaluate the whole
circuit in a single vectorised call.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import CircuitSyntaxError, UnknownElementError
from .elements import ELEMENTS, ElementSpec

__all__ = ["Circuit", "ElementInstance", "parse_circuit"]

_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z][A-Za-z0-9_]*)|(?P<op>[-(),]))")
_NAME = re.compile(r"(?P<type>[A-Za-z]+)(?P<label>(?:[0-9_][A-Za-z0-9_]*)?)$")


@dataclass(frozen=True, slots=True)
class ElementInstance:
    """One element of a circuit: its name in the string, its type and its parameter names."""

    name: str
    spec: ElementSpec
    param_names: tuple[str, ...]
    index: tuple[int, ...]  # positions of its parameters in Circuit.param_names

    @property
    def symbol(self) -> str:
        return self.spec.symbol


# --- tree ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Node:
    kind: str  # "series", "parallel" or "element"
    children: tuple[Node, ...] = ()
    element: str = ""  # element name when kind == "element"
    column: int = 0


#: Longest circuit string accepted (characters) and deepest nesting of ``p(...)``: a bound on
#: the parser's recursion, far above any physical circuit (the library's deepest is 2).
MAX_CIRCUIT_LENGTH = 2000
MAX_CIRCUIT_DEPTH = 32


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.depth = 0

    def error(self, column: int, message: str, cls: type[CircuitSyntaxError] = CircuitSyntaxError):
        caret = " " * column + "^"
        return cls(f"circuit {self.text!r}, column {column + 1}: {message}\n  {self.text}\n  {caret}")

    def _tokenize(self, text: str) -> list[tuple[str, str, int]]:
        tokens, i = [], 0
        while i < len(text):
            if text[i:].strip() == "":
                break
            m = _TOKEN.match(text, i)
            if m is None or m.end() == i:
                col = i + len(text[i:]) - len(text[i:].lstrip())
                raise self.error(col, f"expected an element name, '-', 'p(', ',' or ')'; found {text[col]!r}")
            kind = "name" if m.group("name") else "op"
            value = m.group(kind)
            tokens.append((kind, value, m.start(kind)))
            i = m.end()
        tokens.append(("end", "", len(text)))
        return tokens

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.pos]

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expect(self, value: str, context: str) -> None:
        kind, found, col = self.take()
        if found != value:
            shown = "end of string" if kind == "end" else repr(found)
            raise self.error(col, f"expected {value!r} {context}; found {shown}")

    def parse(self) -> Node:
        if self.peek()[0] == "end":
            raise self.error(0, "empty circuit; expected an element such as 'R0'")
        node = self.circuit()
        kind, found, col = self.peek()
        if kind != "end":
            raise self.error(col, f"expected '-' or end of string; found {found!r}")
        return node

    def circuit(self) -> Node:
        terms = [self.term()]
        while self.peek()[1] == "-":
            self.take()
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else Node("series", tuple(terms), column=terms[0].column)

    def term(self) -> Node:
        kind, value, col = self.take()
        if kind == "name" and value == "p" and self.peek()[1] == "(":
            self.take()
            self.depth += 1
            if self.depth > MAX_CIRCUIT_DEPTH:
                raise self.error(col, f"p(...) nested over {MAX_CIRCUIT_DEPTH} deep; expected fewer levels")
            branches = [self.circuit()]
            while self.peek()[1] == ",":
                self.take()
                branches.append(self.circuit())
            self.expect(")", "to close 'p('")
            self.depth -= 1
            if len(branches) < 2:
                raise self.error(col, "p(...) needs at least two branches separated by ','")
            return Node("parallel", tuple(branches), column=col)
        if kind != "name":
            shown = "end of string" if kind == "end" else repr(value)
            raise self.error(col, f"expected an element name (e.g. R0, CPE1) or 'p('; found {shown}")
        m = _NAME.match(value)
        symbol = m.group("type") if m else value
        if m is None or symbol not in ELEMENTS:
            close = difflib.get_close_matches(symbol, list(ELEMENTS), n=1, cutoff=0.4)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise self.error(
                col,
                f"unknown element type {symbol!r} in {value!r}; known types: {', '.join(ELEMENTS)}.{hint}",
                UnknownElementError,
            )
        return Node("element", element=value, column=col)


# --- compilation ---------------------------------------------------------------------------
def _compile(node: Node, elements: Mapping[str, ElementInstance]) -> Callable:
    if node.kind == "element":
        inst = elements[node.element]
        func = inst.spec.impedance
        idx = inst.index
        if len(idx) == 1:
            (i,) = idx
            return lambda s, p: func(s, p[i])
        if len(idx) == 2:
            i, j = idx
            return lambda s, p: func(s, p[i], p[j])
        return lambda s, p: func(s, *[p[k] for k in idx])
    fused = _fused_parallel(node, elements)
    if fused is not None:
        return fused
    parts = [_compile(child, elements) for child in node.children]
    if node.kind == "series":

        def series(s, p):
            z = parts[0](s, p)
            for part in parts[1:]:
                z = z + part(s, p)
            return z

        return series

    def parallel(s, p):
        y = 1.0 / parts[0](s, p)
        for part in parts[1:]:
            y = y + 1.0 / part(s, p)
        return 1.0 / y

    return parallel


# the last read-only s seen (a fit's problem keeps one for its lifetime) and log s: one tuple,
# replaced whole (thread-safe reads)
_LOG_S: tuple[Any, Any] = (None, None)


def _kept_log_s(s) -> np.ndarray | None:
    """log s when ``s`` is the read-only array kept by :func:`_log_s` (or one that it then keeps)."""
    memo = _LOG_S
    if memo[0] is s:
        return memo[1]
    if isinstance(s, np.ndarray) and not s.flags.writeable:
        return _log_s(s)
    return None


def _log_s(s) -> np.ndarray:
    """``np.log(s)``, kept for the last read-only array ``s`` (by identity: its values cannot change
    between calls), so the CPE gradients of a fit do not take the same complex log every time."""
    global _LOG_S
    memo = _LOG_S
    if memo[0] is s:
        return memo[1]
    log_s = np.log(s)
    if isinstance(s, np.ndarray) and not s.flags.writeable:
        log_s.flags.writeable = False
        _LOG_S = (s, log_s)
    return log_s


def _fused_indices(node: Node, elements: Mapping[str, ElementInstance]) -> tuple[int, ...] | None:
    """Parameter indices (R, C) or (R, Q, n) of a two-element R‖C or R‖CPE node, else None."""
    if node.kind != "parallel" or len(node.children) != 2:
        return None
    if not all(c.kind == "element" for c in node.children):
        return None
    a, b = (elements[c.element] for c in node.children)
    if b.symbol == "R":
        a, b = b, a
    if a.symbol != "R" or b.symbol not in ("C", "CPE"):
        return None
    return (*a.index, *b.index)


def _fused_parallel(node: Node, elements: Mapping[str, ElementInstance]) -> Callable | None:
    """R‖C and R‖CPE as one expression, R/(1 + R Y): fewer array operations than 1/(1/R + Y)."""
    idx = _fused_indices(node, elements)
    if idx is None:
        return None
    if len(idx) == 2:
        i, j = idx
        return lambda s, p: p[i] / (1.0 + p[i] * p[j] * s)
    i, j, k = idx
    # the last (s, n, s**n) of the exp path, replaced whole (thread-safe reads): the gradient at
    # the same point reuses it (see series_parts)
    memo: list[Any] = [None]

    def rq(s, p):
        n = p[k]
        log_s = _kept_log_s(s)
        # s**n is exp(n log s) bit for bit (numpy's complex power), but for integer n, which it
        # multiplies out: with log s kept for the fit's s, the complex log is taken once per fit
        if log_s is not None and isinstance(n, float) and n % 1.0:
            sn = np.exp(n * log_s)
            sn.flags.writeable = False
            memo[0] = (s, n, sn)
        else:
            sn = s**n
        return p[i] / (1.0 + p[i] * p[j] * sn)

    rq.memo = memo  # type: ignore[attr-defined]
    return rq


def _rc_grads(i: int, j: int, z, R, s) -> list[tuple[int, Any]]:
    """dZ/dR, dZ/dC of R‖C from its Z = R/D: z²/R² and −z² s."""
    z2 = z * z
    return [(i, z2 / (R * R)), (j, -z2 * s)]


def _rq_grads(i: int, j: int, k: int, z, R, Q, sn, ls) -> list[tuple[int, Any]]:
    """dZ/dR, dZ/dQ, dZ/dn of R‖CPE from its Z, sⁿ and log s: z²/R², −z² sⁿ, −z² sⁿ Q log s."""
    z2 = z * z
    d_q = -z2 * sn
    return [(i, z2 / (R * R)), (j, d_q), (k, d_q * Q * ls)]


def _ws_grads(i: int, j: int, z, R, tau, x) -> list[tuple[int, Any]]:
    """dZ/dR, dZ/dτ of Ws from its Z and x = √(sτ) (tanh x recovered from z, as _g_Ws)."""
    t = z * x / R
    return [(i, z / R), (j, (R * (1.0 - t * t) - z) / (2 * tau))]


def _fused_parallel_grad(node: Node, elements: Mapping[str, ElementInstance]) -> Callable | None:
    """Analytic (Z, gradient) of R‖C and R‖CPE written out: Z = R/D, D = 1 + R Y."""
    idx = _fused_indices(node, elements)
    if idx is None:
        return None
    if len(idx) == 2:
        i, j = idx

        def rc(s, p):
            R, C = p[i], p[j]
            z = R / (1.0 + R * C * s)
            return z, _rc_grads(i, j, z, R, s)

        return rc
    i, j, k = idx

    def rq(s, p):
        R, Q, n = p[i], p[j], p[k]
        ls = _log_s(s)
        sn = np.exp(n * ls)
        z = R / (1.0 + R * Q * sn)
        return z, _rq_grads(i, j, k, z, R, Q, sn, ls)

    return rq


def _ws_grad(i: int, j: int) -> Callable:
    """(Z, gradient) of Ws with √(sτ) taken once: the arithmetic of elements._Ws and _g_Ws."""

    def ws(s, p):
        R, tau = p[i], p[j]
        x = np.sqrt(s * tau)
        z = R * np.tanh(x) / x
        return z, _ws_grads(i, j, z, R, tau, x)

    return ws


def _compile_grad(node: Node, elements: Mapping[str, ElementInstance]) -> Callable:
    """Like _compile, but the function returns (Z, [(param index, dZ/dvalue), ...])."""
    fused = _fused_parallel_grad(node, elements)
    if fused is not None:
        return fused
    if node.kind == "element":
        inst = elements[node.element]
        spec, idx = inst.spec, inst.index
        if inst.symbol == "Ws":
            return _ws_grad(*idx)

        def element(s, p):
            vals = [p[k] for k in idx]
            z = spec.impedance(s, *vals)
            return z, list(zip(idx, spec.gradient(s, z, *vals), strict=True))

        return element
    parts = [_compile_grad(child, elements) for child in node.children]
    if node.kind == "series":

        def series(s, p):
            z, grads = parts[0](s, p)
            for part in parts[1:]:
                zi, gi = part(s, p)
                z = z + zi
                grads = grads + gi
            return z, grads

        return series

    def parallel(s, p):
        outs = [part(s, p) for part in parts]
        y = 1.0 / outs[0][0]
        for zi, _ in outs[1:]:
            y = y + 1.0 / zi
        z = 1.0 / y
        grads: list[tuple[int, Any]] = []
        for zi, gi in outs:
            ratio = z / zi
            factor = ratio * ratio  # dZ/dZ_i for Z = 1/Σ 1/Z_i
            grads.extend((k, factor * g) for k, g in gi)
        return z, grads

    return parallel


@functools.lru_cache(maxsize=64)
def series_parts(circuit: Circuit) -> tuple[tuple[Callable, tuple[int, ...], Callable], ...] | None:
    """The compiled top-level series items of ``circuit``: (impedance, parameter indices it reads,
    gradient from its impedance) each; None unless the circuit is a series of several items.

    Summed in order (``z = z0 + z1 + ...``, the first item's value as it is), the impedances give
    :meth:`Circuit.impedance_s` bit for bit: the same closures and additions as its compiled
    series. ``gradient(s, p, z)`` returns the item's [(index, dZ/dvalue)] as the gradient closure
    of :meth:`Circuit.gradient_s` does, from the item's impedance ``z`` at the same ``p`` instead
    of recomputing it (the same z, so the same derivatives; a fit asks for the Jacobian where it
    has just evaluated the residual). A fit re-evaluates only the items whose parameters changed
    (read-only; cached per circuit).
    """
    tree = circuit.tree
    if tree.kind != "series" or len(tree.children) < 2:
        return None
    elements = {inst.name: inst for inst in circuit.elements}
    out = []
    for child in tree.children:
        z_fn = _compile(child, elements)
        idx = tuple(sorted(k for name, _ in _element_names(child) for k in elements[name].index))
        out.append((z_fn, idx, _gradient_from_z(child, elements, z_fn)))
    return tuple(out)


def _gradient_from_z(node: Node, elements: Mapping[str, ElementInstance], z_fn: Callable) -> Callable:
    """``(s, p, z) -> [(index, dZ/dvalue)]`` of a series item whose impedance ``z`` at ``p`` came
    from ``z_fn``: :func:`_compile_grad`'s arithmetic after its z (which is z_fn's, operation for
    operation); items of other forms, and an R‖CPE whose s**n took the multiplied-out path
    (integer n, where the gradient's exp(n log s) differs in the last bit), use the full closure."""
    full = _compile_grad(node, elements)

    def fallback(s, p, z):
        return full(s, p)[1]

    if node.kind == "element":
        inst = elements[node.element]
        spec, idx = inst.spec, inst.index
        if inst.symbol == "Ws":
            i, j = idx

            def ws(s, p, z):  # (_ws_grad after its z)
                R, tau = p[i], p[j]
                return _ws_grads(i, j, z, R, tau, np.sqrt(s * tau))

            return ws

        def element(s, p, z):  # (_compile_grad's element after its z)
            vals = [p[k] for k in idx]
            return list(zip(idx, spec.gradient(s, z, *vals), strict=True))

        return element
    fused = _fused_indices(node, elements)
    if fused is None:
        return fallback
    if len(fused) == 2:
        i, j = fused

        def rc(s, p, z):  # (_fused_parallel_grad's rc after its z)
            return _rc_grads(i, j, z, p[i], s)

        return rc
    i, j, k = fused
    memo = z_fn.memo  # type: ignore[attr-defined]  # (set on the R‖CPE closure by _fused_parallel)

    def rq(s, p, z):  # (_fused_parallel_grad's rq after its z)
        R, Q, n = p[i], p[j], p[k]
        if _kept_log_s(s) is None or not isinstance(n, float) or not n % 1.0:
            return full(s, p)[1]  # z came from s**n multiplied out: not the gradient's z
        ls = _log_s(s)
        last = memo[0]
        sn = last[2] if last is not None and last[0] is s and last[1] == n else np.exp(n * ls)
        return _rq_grads(i, j, k, z, R, Q, sn, ls)

    return rq


def series_gradient(circuit: Circuit, s: np.ndarray, values: np.ndarray, parts: Sequence[Any]) -> np.ndarray:
    """dZ/dvalues (shape (n_params, n)) of a series circuit from its items' impedances ``parts``
    at ``values`` (as :func:`series_parts` evaluates them): :meth:`Circuit.gradient_s`'s G, bit
    for bit, without recomputing the impedances."""
    items = series_parts(circuit)
    if items is None or len(parts) != len(items):
        raise ValueError("series_gradient: parts do not match the circuit's series items")
    pairs: list[tuple[int, Any]] = []
    for (_, _, grad), z in zip(items, parts, strict=True):
        pairs.extend(grad(s, values, z))
    return _stack_gradient(pairs, len(circuit.param_names), s)


def _stack_gradient(pairs: list[tuple[int, Any]], n: int, s) -> np.ndarray:
    """G[i] = Σ dZ/dvalues[i] of ``pairs``, shape (n, size of s)."""
    shape = np.shape(s)
    g = None
    if len(pairs) == n and all(k == i for i, (k, _) in enumerate(pairs)):
        # one derivative per parameter, in order (every circuit without a shared parameter):
        # stacked in one call instead of n accumulations into zeros
        try:
            g = np.array([dz for _, dz in pairs], dtype=complex)
        except ValueError:  # a scalar derivative among arrays
            g = None
        if g is not None and g.shape != (n, *shape):
            g = None
    if g is None:
        g = np.zeros((n, np.size(s)), dtype=complex)
        for k, dz in pairs:
            g[k] += dz
    return g


def _element_names(node: Node) -> list[tuple[str, int]]:
    if node.kind == "element":
        return [(node.element, node.column)]
    return [item for child in node.children for item in _element_names(child)]


@dataclass(frozen=True, eq=False)
class Circuit:
    """A parsed, compiled circuit.

    Build with :func:`parse_circuit`. ``impedance(freq, values)`` evaluates it.

    Attributes
    ----------
    text : str
        The circuit string as given.
    elements : tuple of ElementInstance
        Elements in string order (high to low frequency by convention).
    param_names : tuple of str
        Names of the parameters, in the order ``values`` must follow.
    tree : Node
        The parse tree.
    """

    text: str
    elements: tuple[ElementInstance, ...]
    param_names: tuple[str, ...]
    tree: Node = field(repr=False)
    _func: Callable = field(repr=False)
    _grad: Callable = field(repr=False)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Circuit({self.text!r}, params={list(self.param_names)})"

    def element(self, name: str) -> ElementInstance:
        """Return the element called ``name`` (as written in the string)."""
        for inst in self.elements:
            if inst.name == name:
                return inst
        raise KeyError(name)

    def impedance_s(self, s: npt.ArrayLike, values: npt.ArrayLike) -> np.ndarray:
        """Impedance in Ω at Laplace variable ``s = 2jπf``; ``values`` may be (n_params, ...)."""
        return self._func(s, values)

    def gradient_s(self, s: np.ndarray, values: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Impedance and its derivatives at ``s``: (Z, G) with G[i] = dZ/dvalues[i], shape (n_params, n)."""
        z, pairs = self._grad(s, values)
        shape = np.shape(s)
        g = _stack_gradient(pairs, len(self.param_names), s)
        return (z if np.shape(z) == shape else np.broadcast_to(z, shape)), g

    def impedance(self, freq: npt.ArrayLike, values: npt.ArrayLike | Mapping[str, float]) -> np.ndarray:
        """Impedance in Ω at frequencies ``freq`` (Hz).

        Parameters
        ----------
        freq : array_like
            Frequencies in Hz.
        values : array_like or mapping
            Parameter values in the order of :attr:`param_names`, or a dict by name.
        """
        if isinstance(values, Mapping):
            missing = [n for n in self.param_names if n not in values]
            if missing:
                raise KeyError(f"values missing for parameters {missing}")
            values = [values[n] for n in self.param_names]
        p = np.asarray(values, dtype=float)
        if p.shape[0] != len(self.param_names):
            raise ValueError(f"expected {len(self.param_names)} values, got {p.shape[0]}")
        s = 2j * np.pi * np.asarray(freq, dtype=float)
        return np.asarray(self._func(s, p) + 0.0 * s, dtype=complex)

    def __reduce__(self) -> tuple[Any, ...]:
        # the compiled function does not pickle; rebuild it from the text and the names
        names = tuple((e.name, tuple(e.param_names)) for e in self.elements)
        return (_rebuild_circuit, (self.text, names))

    def renamed(self, names: Mapping[str, Sequence[str]]) -> Circuit:
        """Return the same circuit with parameters renamed per element (``{"R0": ["R_b"]}``)."""
        return _build(self.text, self.tree, names)


@functools.lru_cache(maxsize=64)
def _rebuild_circuit(text: str, names: tuple[tuple[str, tuple[str, ...]], ...]) -> Circuit:
    # circuits are immutable: compile each once per process, not once per unpickled result
    return parse_circuit(text).renamed(dict(names))


def _build(text: str, tree: Node, names: Mapping[str, Sequence[str]] | None = None) -> Circuit:
    instances: dict[str, ElementInstance] = {}
    param_names: list[str] = []
    for name, column in _element_names(tree):
        if name in instances:
            caret = " " * column + "^"
            raise CircuitSyntaxError(
                f"circuit {text!r}, column {column + 1}: element name {name!r} is used twice; "
                f"give each element its own label (e.g. R0, R1)\n  {text}\n  {caret}"
            )
        match = _NAME.match(name)
        if match is None:  # (the tokenizer only yields element names; kept as a clear error)
            raise CircuitSyntaxError(
                f"circuit {text!r}, column {column + 1}: {name!r} is not an element "
                f"name; expected a symbol and a label such as R0 or CPE1"
            )
        spec = ELEMENTS[match.group("type")]
        if names is not None and name in names:
            pnames = tuple(names[name])
        elif spec.n_params == 1:
            pnames = (name,)
        else:  # impedance.py convention: CPE1_0, CPE1_1
            pnames = tuple(f"{name}_{i}" for i in range(spec.n_params))
        index = tuple(range(len(param_names), len(param_names) + len(pnames)))
        param_names.extend(pnames)
        instances[name] = ElementInstance(name, spec, pnames, index)
    if len(set(param_names)) != len(param_names):
        dup = sorted({n for n in param_names if param_names.count(n) > 1})
        raise CircuitSyntaxError(f"circuit {text!r}: parameter names {dup} occur more than once")
    func = _compile(tree, instances)
    grad = _compile_grad(tree, instances)
    return Circuit(text, tuple(instances.values()), tuple(param_names), tree, func, grad)


def parse_circuit(text: str) -> Circuit:
    """Parse an impedance.py circuit string into a compiled :class:`Circuit`.

    Parameters
    ----------
    text : str
        E.g. ``"L0-R0-p(R1,CPE1)-p(R2,CPE2)-Ws0"``. ``-`` joins in series, ``p(a, b)``
        in parallel. Element types: impedance.py's R, C, L, CPE, W, Wo, Ws, La, G, Gs, K, Zarc,
        TLMQ, T, and HN (Havriliak–Negami, :data:`eisna.circuit.ELEMENTS`).

    Returns
    -------
    Circuit
        Parameters are named like impedance.py's: one-parameter elements by their own name
        (``R0``), others ``<name>_<i>`` (``CPE1_0`` = Q, ``CPE1_1`` = n).

    Raises
    ------
    CircuitSyntaxError
        With the column and a caret under the offending character; also for a string
        longer than :data:`MAX_CIRCUIT_LENGTH` characters or ``p(...)`` nested deeper than
        :data:`MAX_CIRCUIT_DEPTH`.
    UnknownElementError
        For an unregistered element type, with the closest known type.
    """
    if not isinstance(text, str):
        raise CircuitSyntaxError(
            f"a circuit must be a string such as 'R0-p(R1,C1)'; got {type(text).__name__}"
        )
    if len(text) > MAX_CIRCUIT_LENGTH:
        raise CircuitSyntaxError(
            f"circuit string of {len(text)} characters; expected at most {MAX_CIRCUIT_LENGTH} "
            "(write a long circuit as a TOML file, see 'eisna circuits')"
        )
    tree = _Parser(text).parse()
    return _build(text, tree)
