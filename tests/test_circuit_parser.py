"""Circuit strings: grammar, names, errors with carets, compiled impedance."""

from __future__ import annotations

import numpy as np
import pytest

from eisna.circuit import parse_circuit
from eisna.errors import CircuitSyntaxError, UnknownElementError

FREQ = np.geomspace(7e6, 0.1, 40)


def test_parameter_names_follow_impedance_py():
    c = parse_circuit("L0-R0-p(R1,CPE1)-Ws0")
    assert c.param_names == ("L0", "R0", "R1", "CPE1_0", "CPE1_1", "Ws0_0", "Ws0_1")
    assert [e.symbol for e in c.elements] == ["L", "R", "R", "CPE", "Ws"]


def test_series_and_parallel_values():
    c = parse_circuit("R0-p(R1,C1)")
    z = c.impedance([1e3], [10.0, 100.0, 1e-6])
    w = 2 * np.pi * 1e3
    expected = 10 + 1 / (1 / 100 + 1j * w * 1e-6)
    assert z[0] == pytest.approx(expected)


@pytest.mark.filterwarnings("ignore:Simulating circuit")
def test_nested_and_three_branch_parallel_match_impedance_py():
    from impedance.models.circuits import CustomCircuit

    text = "R0-p(R1-p(R2,C2),CPE1,C3)-Wo0"
    values = [5.0, 20.0, 50.0, 1e-6, 1e-5, 0.9, 1e-9, 8.0, 0.3]
    ours = parse_circuit(text).impedance(FREQ, values)
    theirs = CustomCircuit(text, initial_guess=values).predict(FREQ, use_initial=True)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_whitespace_and_labels():
    c = parse_circuit(" L_w - R_s - p( R_b , CPE_b ) ")
    assert c.param_names == ("L_w", "R_s", "R_b", "CPE_b_0", "CPE_b_1")


def test_mapping_values_and_missing_names():
    c = parse_circuit("R0-C0")
    z = c.impedance([1.0], {"R0": 1.0, "C0": 1.0})
    assert z[0] == pytest.approx(1 - 1j / (2 * np.pi))
    with pytest.raises(KeyError, match="C0"):
        c.impedance([1.0], {"R0": 1.0})


def test_syntax_error_has_column_and_caret():
    expected = r"column 14: expected '\)' to close 'p\('; found end of string"
    with pytest.raises(CircuitSyntaxError, match=expected) as err:
        parse_circuit("R0-p(R1,C1-R2")
    assert "\n  R0-p(R1,C1-R2\n  " in str(err.value)
    assert str(err.value).rstrip().endswith("^")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty circuit"),
        ("R0-", "column 4: expected an element name"),
        ("R0+R1", "column 3: expected an element name, '-'"),
        ("p(R0)", "at least two branches"),
        ("R0-R0", "used twice"),
        ("R0 R1", "expected '-' or end of string"),
    ],
)
def test_syntax_errors(text, match):
    with pytest.raises(CircuitSyntaxError, match=match):
        parse_circuit(text)


def test_unknown_element_suggests_the_closest():
    with pytest.raises(UnknownElementError, match=r"unknown element type 'CEP'.*Did you mean 'CPE'"):
        parse_circuit("R0-p(R1,CEP1)")


def test_batched_values_broadcast():
    c = parse_circuit("R0-p(R1,CPE1)")
    vals = np.array([[1.0, 2.0], [10.0, 20.0], [1e-6, 1e-6], [0.9, 0.8]])
    s = 2j * np.pi * FREQ[:, None]
    z = c.impedance_s(s, vals)
    assert z.shape == (FREQ.size, 2)
    np.testing.assert_allclose(z[:, 1], c.impedance(FREQ, vals[:, 1]))


# --- property test: random circuit trees agree with impedance.py ------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_VALUES = {"R": [50.0], "C": [1e-6], "CPE": [1e-5, 0.85], "L": [1e-7], "Ws": [10.0, 0.5]}


@st.composite
def _trees(draw, depth=0):
    if depth > 2 or draw(st.booleans()):
        return ("el", draw(st.sampled_from(sorted(_VALUES))))
    kind = draw(st.sampled_from(["s", "p"]))
    children = draw(st.lists(_trees(depth=depth + 1), min_size=2, max_size=3))
    return (kind, children)


def _render(tree, counter):
    if tree[0] == "el":
        counter[0] += 1
        return f"{tree[1]}{counter[0]}", list(_VALUES[tree[1]])
    parts = [_render(child, counter) for child in tree[1]]
    text = "-".join(p[0] for p in parts) if tree[0] == "s" else "p(" + ",".join(p[0] for p in parts) + ")"
    return text, [v for p in parts for v in p[1]]


@settings(max_examples=40, deadline=None)
@given(_trees())
@pytest.mark.filterwarnings("ignore:Simulating circuit")
def test_random_circuits_match_impedance_py(tree):
    from impedance.models.circuits import CustomCircuit

    text, values = _render(tree, [0])
    ours = parse_circuit(text).impedance(FREQ, values)
    theirs = CustomCircuit(text, initial_guess=values).predict(FREQ, use_initial=True)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
