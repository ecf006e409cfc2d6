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


@pytest.mark.parametrize(("symbol", "values", "expected"), CASES, ids=[c[0] for c in CASES])
def test_element_matches_impedance_py(symbol, values, expected):
    from impedance.models.circuits import elements as ipy

    np.testing.assert_allclose(
        parse_circuit(f"{symbol}0").impedance(FREQ, values), getattr(ipy, symbol)(values, FREQ), rtol=1e-9
    )


@pytest.mark.parametrize(("symbol", "values"), [(c[0], c[1]) for c in CASES], ids=[c[0] for c in CASES])
def test_gradient_matches_finite_differences(symbol, values):
    circuit = parse_circuit(f"p({symbol}0,R9)-R8")
    vals = np.array([*values, 33.0, 5.0])
    s = 2j * np.pi * FREQ
    z, grad = circuit.gradient_s(s, vals)
    np.testing.assert_allclose(z, circuit.impedance(FREQ, vals), rtol=1e-12)
    for i, v in enumerate(vals):
        h = 1e-6 * abs(v)
        up, dn = vals.copy(), vals.copy()
        up[i] += h
        dn[i] -= h
        numeric = (circuit.impedance(FREQ, up) - circuit.impedance(FREQ, dn)) / (2 * h)
        np.testing.assert_allclose(grad[i], numeric, rtol=1e-4, atol=1e-9 * np.abs(z).max() / abs(v))
