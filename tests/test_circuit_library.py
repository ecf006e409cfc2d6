"""Library circuit files: every file loads; the strict loader names file and key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eisna.circuit import ROLES, list_circuits, load_circuit
from eisna.errors import CircuitDefinitionError

REQUIRED = {"pellet_blocking", "pellet_merged", "symmetric_cell", "symmetric_interlayer"}


def test_library_lists_required_circuits():
    assert set(list_circuits()) >= REQUIRED


@pytest.mark.parametrize("name", sorted(list_circuits()))
def test_every_library_file_is_complete(name):
    d = load_circuit(name)
    assert d.name == name
    assert set(d.roles) == {e.name for e in d.circuit.elements}
    assert set(d.roles.values()) <= set(ROLES)
    assert set(d.defaults) == set(d.param_names)
    assert d.description and d.references
    z = d.circuit.impedance(np.geomspace(1e6, 1, 10), [d.defaults[p].value for p in d.param_names])
    assert np.all(np.isfinite(z))


def test_symmetric_interlayer_structure():
    d = load_circuit("symmetric_interlayer")
    assert d.circuit.text == "L0-p(R0,C0)-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)-Ws0"
    assert d.param_names == (
        "L",
        "R_b",
        "C_b",
        "R_gb",
        "Q_gb",
        "n_gb",
        "R_int",
        "Q_int",
        "n_int",
        "R_ct",
        "Q_ct",
        "n_ct",
        "R_W",
        "tau_W",
    )
    assert [d.roles[e.name] for e in d.circuit.elements] == [
        "stray",
        "bulk",
        "bulk",
        "grain_boundary",
        "grain_boundary",
        "interlayer",
        "interlayer",
        "charge_transfer",
        "charge_transfer",
        "diffusion",
    ]
    assert d.symmetric
    # Ws = R_W tanh(sqrt(jω τ_W))/sqrt(jω τ_W)
    only_ws = dict.fromkeys(d.param_names, 0.0)
    only_ws.update(
        L=0.0,
        R_b=1e-12,
        C_b=1e-12,
        R_gb=1e-12,
        Q_gb=1.0,
        n_gb=1.0,
        R_int=1e-12,
        Q_int=1.0,
        n_int=1.0,
        R_ct=1e-12,
        Q_ct=1.0,
        n_ct=1.0,
        R_W=12.0,
        tau_W=1.0,
    )
    f = np.array([0.1, 1.0, 10.0])
    x = np.sqrt(2j * np.pi * f)
    np.testing.assert_allclose(d.circuit.impedance(f, only_ws), 12 * np.tanh(x) / x, rtol=1e-9)


def test_symmetric_cell_is_nested_in_symmetric_interlayer():
    cell, inter = load_circuit("symmetric_cell"), load_circuit("symmetric_interlayer")
    assert set(inter.param_names) - set(cell.param_names) == {"R_int", "Q_int", "n_int"}


def test_load_by_path_and_env(tmp_path, monkeypatch):
    src = load_circuit("pellet_merged").source
    target = tmp_path / "my_pellet.toml"
    text = Path(src).read_text(encoding="utf-8")
    target.write_text(text.replace('name = "pellet_merged"', 'name = "my_pellet"'))
    assert load_circuit(str(target)).name == "my_pellet"
    monkeypatch.setenv("EISNA_CIRCUIT_PATH", str(tmp_path))
    assert "my_pellet" in list_circuits()
    assert load_circuit("my_pellet").param_names == ("L", "R_b", "Q_el", "n_el")


def test_a_circuit_file_is_compiled_once_and_read_again_when_edited(tmp_path):
    src = load_circuit("pellet_merged").source
    target = tmp_path / "my_pellet.toml"
    text = Path(src).read_text(encoding="utf-8")
    target.write_text(text.replace('name = "pellet_merged"', 'name = "my_pellet"'))
    first = load_circuit(str(target))
    assert load_circuit(str(target)) is first  # the same content: the same (immutable) definition
    # rewritten at once (the file's mtime may not move): the new content is what loads
    target.write_text(text.replace('name = "pellet_merged"', 'name = "my_other"'))
    assert load_circuit(str(target)).name == "my_other"
    target.write_text(text.replace('name = "pellet_merged"', 'name = "my_pellet"'))
    assert load_circuit(str(target)) is first


GOOD = """
circuit = "L0-R0-CPE2"
description = "x"
[elements]
L0 = { role = "stray", params = ["L"] }
R0 = { role = "bulk", params = ["R_b"] }
CPE2 = { role = "electrode", params = ["Q_el", "n_el"] }
[parameters]
L = { value = 1e-7, min = 1e-11, max = 1e-4 }
R_b = { value = 100.0, min = 1e-3, max = 1e9 }
Q_el = { value = 5e-6, min = 1e-12, max = 10.0 }
n_el = { value = 0.9, min = 0.4, max = 1.0, scale = "linear" }
"""


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        (
            'description = "x"',
            'descripton = "x"',
            "key 'descripton': unknown key.*Did you mean 'description'",
        ),
        ('R0 = { role = "bulk", params = ["R_b"] }\n', "", "key 'elements.R0': missing"),
        ('role = "bulk"', 'role = "bluk"', "key 'elements.R0.role': unknown role 'bluk'"),
        (
            'R0 = { role = "bulk", params = ["R_b"] }',
            'R0 = { params = ["R_b"] }',
            "elements.R0.role': missing role",
        ),
        ('params = ["Q_el", "n_el"]', 'params = ["Q_el"]', "elements.CPE2.params': expected a list of 2"),
        ("R_b = { value = 100.0", "R_x = { value = 100.0", "key 'parameters.R_b': missing"),
        (
            "L = { value = 1e-7, min = 1e-11, max = 1e-4 }",
            "L = { value = 1e-7, min = 1e-11, max = 1e-4 }\nR_q = { value = 1.0, min = 0.5, max = 2.0 }",
            "key 'parameters.R_q': not a parameter of the circuit",
        ),
        ("value = 100.0, min = 1e-3", "value = 100.0, mn = 1e-3", "parameters.R_b.mn': unknown key"),
        ("value = 100.0, min = 1e-3", "value = 1e-4, min = 1e-3", "expected min <= value <= max"),
        ('scale = "linear"', 'scale = "log", min = 0.0', "not valid TOML|'log' scale needs min > 0"),
        ('circuit = "L0-R0-CPE2"', 'circuit = "L0-R0-CPX2"', "key 'circuit': .*unknown element type 'CPX'"),
        ('circuit = "L0-R0-CPE2"', 'circuit = "L0-R0-CPE2-C5"', "key 'elements.C5': missing"),
    ],
)
def test_strict_loader_rejections_name_file_and_key(tmp_path, old, new, match):
    assert old in GOOD
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    with pytest.raises(CircuitDefinitionError, match=match) as err:
        load_circuit(str(path))
    assert str(path) in str(err.value)


def test_good_file_loads(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_circuit(str(path)).param_roles["Q_el"] == "electrode"


def test_unknown_library_name_suggests():
    expected = r"no library circuit named 'symmetric_cel'.*symmetric_cell"
    with pytest.raises(CircuitDefinitionError, match=expected):
        load_circuit("symmetric_cel")
