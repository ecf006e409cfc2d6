"""Every element against its analytic formula, against impedance.py, and its analytic gradient."""

from __future__ import annotations

import numpy as np
import pytest

from eisna.circuit import ELEMENTS, parse_circuit

FREQ = np.geomspace(1e6, 1e-2, 25)
W = 2 * np.pi * FREQ
JW = 1j * W

# (symbol, values, analytic impedance written out independently of eisna)
CASES = [
    ("R", [47.0], 47.0 + 0 * W),
    ("C", [2e-6], 1 / (1j * W * 2e-6)),
    ("L", [3e-7], 1j * W * 3e-7),
    ("W", [12.0], 12.0 * (1 - 1j) / np.sqrt(W)),
    ("Wo", [15.0, 0.5], 15.0 / (np.sqrt(JW * 0.5) * np.tanh(np.sqrt(JW * 0.5)))),
    ("Ws", [12.0, 1.0], 12.0 * np.tanh(np.sqrt(JW * 1.0)) / np.sqrt(JW * 1.0)),
    ("CPE", [1e-5, 0.85], 1 / (1e-5 * JW**0.85)),
    ("La", [2e-7, 0.9], (JW * 2e-7) ** 0.9),
    ("G", [30.0, 1e-3], 30.0 / np.sqrt(1 + JW * 1e-3)),
    ("Gs", [30.0, 1e-3, 2.0], 30.0 / (np.sqrt(1 + JW * 1e-3) * np.tanh(2.0 * np.sqrt(1 + JW * 1e-3)))),
    ("K", [40.0, 1e-4], 40.0 / (1 + JW * 1e-4)),
    ("Zarc", [40.0, 1e-4, 0.8], 40.0 / (1 + (JW * 1e-4) ** 0.8)),
    ("HN", [40.0, 1e-4, 0.8, 0.6], 40.0 / (1 + (JW * 1e-4) ** 0.8) ** 0.6),
    ("TLMQ", [20.0, 1e-4, 0.9], np.sqrt(20.0 / (1e-4 * JW**0.9)) / np.tanh(np.sqrt(20.0 * 1e-4 * JW**0.9))),
    (
        "T",
        [5.0, 3.0, 0.5, 1e-3],
        5.0 / (np.sqrt(0.5 + JW * 1e-3) * np.tanh(np.sqrt(0.5 + JW * 1e-3)))
        + 3.0 / (np.sqrt(0.5 + JW * 1e-3) * np.sinh(np.sqrt(0.5 + JW * 1e-3))),
    ),
]


def test_every_element_is_covered():
    assert {c[0] for c in CASES} == set(ELEMENTS)


@pytest.mark.parametrize(("symbol", "values", "expected"), CASES, ids=[c[0] for c in CASES])
def test_element_matches_analytic_formula(symbol, values, expected):
    circuit = parse_circuit(f"{symbol}0")
    np.testing.assert_allclose(circuit.impedance(FREQ, values), expected, rtol=1e-10)


# elements eisna has beyond impedance.py's (no counterpart to compare with)
NOT_IN_IMPEDANCE_PY = {"HN"}
IPY_CASES = [c for c in CASES if c[0] not in NOT_IN_IMPEDANCE_PY]


def test_every_impedance_py_element_is_known():
    from impedance.models.circuits import elements as ipy

    # 's' and 'p' are impedance.py's series/parallel combinators, not elements; its own eval of
    # circuit strings adds '__builtins__' to the dict once a CustomCircuit has been evaluated
    theirs = {k for k in ipy.circuit_elements if not k.startswith("_")} - {"s", "p"}
    assert theirs == set(ELEMENTS) - NOT_IN_IMPEDANCE_PY


@pytest.mark.parametrize(("symbol", "values", "expected"), IPY_CASES, ids=[c[0] for c in IPY_CASES])
def test_element_matches_impedance_py(symbol, values, expected):
    from impedance.models.circuits import elements as ipy

    np.testing.assert_allclose(
        parse_circuit(f"{symbol}0").impedance(FREQ, values), getattr(ipy, symbol)(values, FREQ), rtol=1e-9
    )


@pytest.mark.parametrize(("symbol", "values"), [(c[0], c[1]) for c in CASES], ids=[c[0] for c in CASES])
def test_gradient_matches_finite_differences(symbol, values):
    _assert_gradient(f"p({symbol}0,R9)-R8", np.array([*values, 33.0, 5.0]), FREQ, rtol=1e-4)


def _assert_gradient(text: str, vals: np.ndarray, freq: np.ndarray, rtol: float) -> None:
    """The circuit's analytic (Z, gradient) against its impedance and central differences."""
    circuit = parse_circuit(text)
    z, grad = circuit.gradient_s(2j * np.pi * freq, vals)
    np.testing.assert_allclose(z, circuit.impedance(freq, vals), rtol=1e-12)
    for i, v in enumerate(vals):
        h = 1e-6 * abs(v)
        up, dn = vals.copy(), vals.copy()
        up[i] += h
        dn[i] -= h
        numeric = (circuit.impedance(freq, up) - circuit.impedance(freq, dn)) / (2 * h)
        np.testing.assert_allclose(grad[i], numeric, rtol=rtol, atol=1e-9 * np.abs(z).max() / abs(v))


# a grid of parameter values per element (within its bounds; T's β kept where impedance.py's
# sinh cut-off at Re β = 100 does not apply)
GRID_FREQ = np.geomspace(1e7, 1e-3, 61)
GRID = {
    "Gs": [[30.0, 1e-3, 2.0], [5e3, 1e-6, 0.05], [2.0, 10.0, 30.0], [1e6, 1e-9, 1.0]],
    "TLMQ": [[20.0, 1e-4, 0.9], [1e4, 1e-9, 0.6], [0.5, 1e-2, 1.0], [1e6, 1e-12, 0.8]],
    "T": [[5.0, 3.0, 0.5, 1e-4], [1e3, 10.0, 1e-4, 1e-7], [2.0, 2.0, 20.0, 1e-9], [0.1, 50.0, 3.0, 1e-5]],
    "G": [[30.0, 1e-3], [1e5, 1e-8], [0.3, 100.0]],
    "Zarc": [[40.0, 1e-4, 0.8], [1e5, 1e-9, 0.5], [3.0, 10.0, 1.0]],
}


@pytest.mark.parametrize(("symbol", "values"), [(k, v) for k, vs in GRID.items() for v in vs])
def test_element_matches_impedance_py_on_a_grid(symbol, values):
    from impedance.models.circuits import elements as ipy

    ours = parse_circuit(f"{symbol}0").impedance(GRID_FREQ, values)
    np.testing.assert_allclose(ours, getattr(ipy, symbol)(values, GRID_FREQ), rtol=1e-12)


def _hn(freq, R, tau, alpha, beta):
    """Havriliak–Negami written out from its definition: R (1 + (jωτ)^α)^-β."""
    return R * (1 + (2j * np.pi * freq * tau) ** alpha) ** -beta


@pytest.mark.parametrize(
    "values",
    [[40.0, 1e-4, 0.8, 0.6], [1e5, 1e-9, 0.3, 0.2], [2.0, 10.0, 1.0, 1.0], [7.0, 1e-2, 0.55, 0.95]],
)
def test_hn_matches_its_definition_on_a_grid(values):
    ours = parse_circuit("HN0").impedance(GRID_FREQ, values)
    np.testing.assert_allclose(ours, _hn(GRID_FREQ, *values), rtol=1e-12)


def test_hn_reduces_to_zarc_and_rc():
    f = GRID_FREQ
    hn = parse_circuit("HN0")
    zarc = parse_circuit("Zarc0").impedance(f, [40.0, 1e-4, 0.8])
    np.testing.assert_allclose(hn.impedance(f, [40.0, 1e-4, 0.8, 1.0]), zarc, rtol=1e-13)
    rc = parse_circuit("p(R0,C0)").impedance(f, [40.0, 2.5e-6])
    np.testing.assert_allclose(hn.impedance(f, [40.0, 1e-4, 1.0, 1.0]), rc, rtol=1e-13)


@pytest.mark.parametrize("values", [[40.0, 1e-4, 0.8, 0.6], [1e5, 1e-9, 0.3, 0.25], [7.0, 1e-2, 1.0, 0.4]])
def test_hn_gradient_matches_finite_differences_on_a_grid(values):
    _assert_gradient_matches_central_differences("HN", values)


def _assert_gradient_matches_central_differences(symbol: str, values) -> None:
    """R0-<symbol>0's analytic gradient against central differences on GRID_FREQ."""
    _assert_gradient(f"R0-{symbol}0", np.array([5.0, *values]), GRID_FREQ, rtol=1e-5)


def test_every_element_has_an_analytic_gradient():
    assert [s for s, spec in ELEMENTS.items() if spec.grad is None] == []


@pytest.mark.parametrize(("symbol", "values"), [(k, v) for k, vs in GRID.items() for v in vs])
def test_gradient_matches_finite_differences_on_a_grid(symbol, values):
    _assert_gradient_matches_central_differences(symbol, values)
