"""Effective roles (stop 22): an arc the circuit calls bulk or grain boundary but whose C_eff is
electrode-scale is counted as interfacial (its ASR), not in R_SE or σ, and a note says so.

Before, such an arc (a real Na cell: "grain boundary" with C_eff = 34 µF) was summed into R_SE and
σ without a word. The spectra here come from eisna's own synthetic generator with known truth.
"""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import eisna
from eisna import CellGeometry
from eisna.circuit import load_circuit
from eisna.errors import RoleMismatchWarning
from eisna.fitting.physics import (
    ELECTRODE_C_MIN_F,
    INTERFACIAL,
    REASSIGN_C_MIN_F,
    SE_NOT_IDENTIFIED,
    effective_role,
)
from eisna.fitting.synthetic import (
    FREQ_CELL_WIDE,
    KNOWN_ANSWER_PRIORS,
    known_answer_parameters,
    noisy_spectrum,
)

GEOMETRY = CellGeometry(0.1, 0.785)  # 1.0 mm pellet in a 10 mm die: l/A = 0.127 1/cm
C_GB_ELECTRODE = 30e-6  # F: the "grain boundary" arc of the problem file (34 µF there)


def _cpe_q(r_ohm: float, c_f: float, n: float) -> float:
    """Q of an R‖CPE arc with Hsu–Mansfeld C_eff = c_f: τ = R C, Q = τ^n / R."""
    return (r_ohm * c_f) ** n / r_ohm


def _quiet_fit(spectrum, circuit, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eisna.fit(spectrum, circuit, **kw)


# -- the rule ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "c_f", "cell_const", "expected"),
    [
        ("grain_boundary", 30e-6, 0.127, INTERFACIAL),  # electrode-scale: reassigned
        ("bulk", 30e-6, None, INTERFACIAL),
        ("grain_boundary", 1e-9, 0.127, "grain_boundary"),  # a normal gb: kept
        ("bulk", 1e-11, 0.127, "bulk"),
        ("grain_boundary", 5e-6, 0.127, "grain_boundary"),  # 6.4e-7 F/cm in table units: kept
        ("grain_boundary", 5e-6, None, INTERFACIAL),  # no thickness: l/A taken as 1 1/cm
        ("grain_boundary", 5e-7, None, "grain_boundary"),  # where gb, layer and electrode overlap
        ("grain_boundary", math.nan, 0.127, "grain_boundary"),  # no C_eff: kept
        ("charge_transfer", 30e-6, 0.127, "charge_transfer"),  # only SE roles are reassigned
        ("interlayer", 1e-12, 0.127, "interlayer"),
        (None, 30e-6, 0.127, None),
    ],
)
def test_effective_role_rule(role, c_f, cell_const, expected):
    assert effective_role(role, c_f, cell_const) == expected


def test_threshold_is_ten_times_the_documented_electrode_range_edge():
    # eis-science.md §1.2: sample–electrode interface 1e-7 – 1e-5 F (l/A = 1 1/cm); up to 10× that
    # edge the grain-boundary (×10 tolerance), surface-layer and electrode ranges overlap
    assert ELECTRODE_C_MIN_F == 1e-7
    assert pytest.approx(1e-6) == REASSIGN_C_MIN_F
    assert effective_role("grain_boundary", 0.99e-6, None) == "grain_boundary"
    assert effective_role("grain_boundary", 1.01e-6, None) == INTERFACIAL


def test_a_real_series_gb_arc_near_the_edge_keeps_its_role(corpus):
    """vsp_peis_with: the gb arc's C_eff drifts from 1e-8 to ~2e-7 F over 314 h (no thickness):
    it stays a grain boundary in every spectrum, so R_SE does not jump in and out of R_b + R_gb."""
    series = eisna.fit_series(eisna.read(corpus / "biologic-mpt" / "vsp_peis_with.mpt"), progress=False)
    fits = [r for r in series.results if getattr(r, "arcs", None)]
    gb = [a for r in fits for a in r.arcs if a.role == "grain_boundary"]
    assert len(gb) >= 30 and max(a.C_eff for a in gb) > ELECTRODE_C_MIN_F  # it does cross 1e-7
    assert all(a.effective_role == "grain_boundary" for a in gb)
    assert not any((r.meta or {}).get("interfacial_resistances") for r in fits)


def test_note_says_when_c_eff_is_poorly_determined():
    from eisna.fitting.physics import _reassigned_note

    # the measured case: an unidentifiable 3.6 kΩ "grain boundary" at 34 µF is still not SE
    loose = _reassigned_note("R_gb", "grain_boundary", 34e-6, 50e-6, None)
    assert loose.startswith(
        "arc R_gb (role grain_boundary in the circuit) has C_eff 34 µF, poorly determined"
    )
    tight = _reassigned_note("R_gb", "grain_boundary", 34e-6, 1e-7, 0.127)
    assert "poorly determined" not in tight and "(4.32e-06 F·cm⁻¹ with l/A = 0.127 cm⁻¹)" in tight


# -- a fitted cell whose "grain boundary" arc is electrode-scale ---------------------------------
#: The electrode-scale "grain boundary" arc (30 µF) and the charge-transfer arc of these cells.
_ELECTRODE_GB_AND_CT = {
    "R_gb": 40.0,
    "Q_gb": _cpe_q(40.0, C_GB_ELECTRODE, 0.95),
    "n_gb": 0.95,
    "R_ct": 200.0,
    "Q_ct": _cpe_q(200.0, 3e-4, 0.9),
    "n_ct": 0.9,
}


def _cell_with_electrode_gb(seed: int = 1):
    """symmetric_two_arcs (L - R_b - gb arc - ct arc) with the gb arc at 30 µF (apex ~130 Hz)."""
    defn = load_circuit("symmetric_two_arcs")
    truth = {"L": 2e-7, "R_b": 50.0, **_ELECTRODE_GB_AND_CT}
    spectrum = noisy_spectrum(defn, truth, FREQ_CELL_WIDE, 0.002, np.random.default_rng(seed))
    return defn, truth, spectrum


@pytest.fixture(scope="module")
def electrode_gb_fit():
    defn, truth, spectrum = _cell_with_electrode_gb()
    return truth, _quiet_fit(spectrum, defn, geometry=GEOMETRY)


def test_electrode_scale_gb_is_interfacial_and_left_out_of_r_se_and_sigma(electrode_gb_fit):
    truth, res = electrode_gb_fit
    gb = next(a for a in res.arcs if a.role == "grain_boundary")
    assert gb.C_eff == pytest.approx(C_GB_ELECTRODE, rel=0.05)  # the fit found the 30 µF arc
    d = res.derived
    # R_SE is the bulk resistance alone (before: R_b + R_gb = 90 Ω)
    assert d["R_SE"].value == res.params["R_b"]
    assert d["R_SE"].value == pytest.approx(truth["R_b"], rel=0.01)
    L_cm, A = GEOMETRY.thickness_cm, GEOMETRY.area_cm2
    sigma_true = L_cm / (A * truth["R_b"])
    assert d["sigma_total"].value == pytest.approx(sigma_true, rel=0.01)
    assert d["sigma_b"].value == pytest.approx(sigma_true, rel=0.01)
    assert math.isnan(d["sigma_gb"].value)  # no grain-boundary arc left: not a number from the wrong arc
    # counted in the area-specific resistance instead (symmetric cell: per interface R A / 2)
    assert d["ASR_gb"].value == pytest.approx(res.params["R_gb"] * A / 2, rel=1e-12)
    assert d["ASR_gb"].unit == "Ohm cm2"
    assert d["C_gb_per_area"].value == pytest.approx(gb.C_eff * 2 / A, rel=1e-12)
    assert gb.effective_role == INTERFACIAL
    ct = next(a for a in res.arcs if a.role == "charge_transfer")
    assert ct.effective_role == "charge_transfer" and ct.role_note == ""


def test_electrode_scale_gb_note_in_words(electrode_gb_fit):
    _, res = electrode_gb_fit
    gb = next(a for a in res.arcs if a.role == "grain_boundary")
    note = gb.role_note
    assert note.startswith("arc R_gb (role grain_boundary in the circuit) has C_eff 30 µF")
    assert "an electrode-scale capacitance" in note
    assert "counted as interfacial (in the ASR), not in R_SE/σ; check the circuit roles" in note
    assert res.meta["physics_notes"] == (note,)
    assert res.meta["interfacial_resistances"] == ("R_gb",)
    assert f"RoleMismatchWarning: {note}." in res.warnings
    assert res.has_flag("role_mismatch")
    # one warning for the arc: the note replaces the generic "outside the range" text
    assert not any("Irvine–Sinclair–West range of grain_boundary" in w for w in res.warnings)
    # bulk is still there: R_SE is identified, so no "not identified" note
    assert SE_NOT_IDENTIFIED not in res.meta["physics_notes"]


def test_fit_raises_the_note_as_a_role_mismatch_warning():
    defn, _, spectrum = _cell_with_electrode_gb()
    with pytest.warns(RoleMismatchWarning, match="counted as interfacial"):
        eisna.fit(spectrum, defn, geometry=GEOMETRY)


def test_no_se_arc_left_gives_nan_r_se_and_sigma_with_note(tmp_path):
    # a cell circuit whose only solid-electrolyte element is the (electrode-scale) gb arc
    text = (
        'schema = 1\nname = "gb_ct_only"\nsymmetric = true\ncircuit = "L0-p(R1,CPE1)-p(R3,CPE3)"\n'
        "[elements]\n"
        'L0 = { role = "stray", params = ["L"] }\n'
        'R1 = { role = "grain_boundary", params = ["R_gb"] }\n'
        'CPE1 = { role = "grain_boundary", params = ["Q_gb", "n_gb"] }\n'
        'R3 = { role = "charge_transfer", params = ["R_ct"] }\n'
        'CPE3 = { role = "charge_transfer", params = ["Q_ct", "n_ct"] }\n'
        "[parameters]\n"
        'L = { value = 2e-7, min = 1e-11, max = 1e-4, scale = "log" }\n'
        'R_gb = { value = 20.0, min = 1e-3, max = 1e8, scale = "log" }\n'
        'Q_gb = { value = 1e-8, min = 1e-15, max = 1e-2, scale = "log" }\n'
        'n_gb = { value = 0.8, min = 0.4, max = 1.0, scale = "linear" }\n'
        'R_ct = { value = 40.0, min = 1e-3, max = 1e8, scale = "log" }\n'
        'Q_ct = { value = 3e-5, min = 1e-12, max = 10.0, scale = "log" }\n'
        'n_ct = { value = 0.9, min = 0.4, max = 1.0, scale = "linear" }\n'
    )
    path = tmp_path / "gb_ct_only.toml"
    path.write_text(text, encoding="utf-8")
    defn = load_circuit(str(path))
    truth = {"L": 2e-7, **_ELECTRODE_GB_AND_CT}
    spectrum = noisy_spectrum(defn, truth, FREQ_CELL_WIDE, 0.002, np.random.default_rng(3))
    res = _quiet_fit(spectrum, defn, geometry=GEOMETRY)
    assert res.arcs[0].effective_role == INTERFACIAL
    for key in ("R_SE", "sigma_total", "sigma_gb"):
        assert math.isnan(res.derived[key].value), key
    assert "sigma_b" not in res.derived  # the circuit has no bulk element at all
    assert SE_NOT_IDENTIFIED in res.meta["physics_notes"]
    assert "not identified (no bulk/grain-boundary arc in the window)" in SE_NOT_IDENTIFIED
    assert f"RoleMismatchWarning: {SE_NOT_IDENTIFIED}." in res.warnings
    assert res.derived["ASR_gb"].value == pytest.approx(res.params["R_gb"] * GEOMETRY.area_cm2 / 2, rel=1e-12)


# -- a normal pellet: nothing changes -------------------------------------------------------------
def test_normal_pellet_keeps_roles_and_numbers():
    defn = load_circuit("pellet_blocking")
    truth = known_answer_parameters(defn, np.random.default_rng(7))
    spectrum = noisy_spectrum(
        defn, truth, KNOWN_ANSWER_PRIORS["pellet_blocking"].freq, 0.002, np.random.default_rng(8)
    )
    res = _quiet_fit(spectrum, defn, geometry=GEOMETRY)
    gb = next(a for a in res.arcs if a.role == "grain_boundary")
    assert 1e-10 < gb.C_eff < 1e-8  # a normal grain boundary (~nF)
    for arc in res.arcs:
        assert arc.effective_role == arc.role and arc.role_note == ""
    assert "physics_notes" not in res.meta and "interfacial_resistances" not in res.meta
    assert not any("interfacial" in w for w in res.warnings)
    d = res.derived
    # the derived quantities of before: same keys, R_SE = R_b + R_gb and σ from it, exactly
    assert list(d) == [
        "C_eff_b",
        "f_apex_b",
        "tau_b",
        "C_eff_gb",
        "f_apex_gb",
        "tau_gb",
        "C_eff_el",
        "R_SE",
        "sigma_b",
        "sigma_gb",
        "sigma_total",
        "eps_r_b",
    ]
    p = res.params
    L_cm, A = GEOMETRY.thickness_cm, GEOMETRY.area_cm2
    assert d["R_SE"].value == p["R_b"] + p["R_gb"]
    assert d["sigma_total"].value == L_cm / (A * (p["R_b"] + p["R_gb"]))
    assert d["sigma_b"].value == L_cm / (A * p["R_b"])
    assert d["sigma_gb"].value == L_cm / (A * p["R_gb"])
    assert d["R_SE"].value == pytest.approx(truth["R_b"] + truth["R_gb"], rel=0.01)


# -- stored and rendered, not recomputed ----------------------------------------------------------
def test_analysis_and_report_carry_the_stored_effective_role(electrode_gb_fit, tmp_path):
    from eisna.analysis import analyse_series
    from eisna.report.data import ReportData
    from eisna.report.render import render_data

    _, res = electrode_gb_fit
    series = SimpleNamespace(results=[res], time_h=np.array([0.0]), interlayer=[None])
    stored = analyse_series(series, kinetics={}, kk=[None])
    rec = stored["spectra"][0]
    gb = next(a for a in rec["arcs"] if a["role"] == "grain_boundary")
    assert gb["effective_role"] == INTERFACIAL
    assert gb["role_note"] == res.arcs[0].role_note
    assert rec["notes"] == [res.arcs[0].role_note]
    assert rec["derived"]["R_SE"]["value"] == res.params["R_b"]
    # the report renders what is stored: change the stored note and the page follows
    gb["role_note"] = "stored note, not recomputed"
    rec["notes"] = ["stored fit note, not recomputed"]
    page = render_data(ReportData.from_analysis(stored))
    assert "(counted as interfacial)" in page
    assert "stored note, not recomputed" in page
    assert "stored fit note, not recomputed" in page
    assert "check the circuit roles" not in page


def test_results_json_form_carries_effective_role(electrode_gb_fit):
    _, res = electrode_gb_fit
    arcs = res.to_dict()["arcs"]
    assert [a["effective_role"] for a in arcs] == [INTERFACIAL, "charge_transfer"]
    assert "check the circuit roles" in arcs[0]["role_note"]


def test_cache_round_trip_keeps_effective_role(electrode_gb_fit):
    from eisna._fitcache import _decode_fit, _encode_fit

    _, res = electrode_gb_fit
    back = _decode_fit(_encode_fit(res), {res.circuit_name: res.circuit})
    assert back.arcs == res.arcs
    assert back.meta["physics_notes"] == res.meta["physics_notes"]
    assert back.derived["R_SE"].value == res.derived["R_SE"].value


def test_series_rows_and_tracks_follow_the_effective_roles():
    defn = load_circuit("symmetric_two_arcs")
    spectra = [_cell_with_electrode_gb(seed)[2] for seed in (11, 12, 13)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = eisna.fit_series(spectra, defn.name, baseline=None, geometry=GEOMETRY, fallback=False)
    rows = series.rows()
    assert len(rows) == 3
    for row, res in zip(rows, series.results, strict=True):
        assert row["R_SE_ohm"] == row["R_b"] == res.params["R_b"]  # copied from physics, not R_b + R_gb
        assert row["sigma_total_S_per_cm"] == pytest.approx(0.1 / (0.785 * 50.0), rel=0.01)
        assert math.isnan(row["sigma_gb_S_per_cm"])
        assert row["ASR_gb_per_interface_ohm_cm2"] == pytest.approx(row["R_gb"] * 0.785 / 2, rel=1e-12)
        assert "role_mismatch" in row["flags"]
    r_se = next(t for t in series.tracks if t.quantity == "R_SE_ohm")
    np.testing.assert_array_equal(r_se.values, [r["R_b"] for r in rows])


def test_eisna_fit_table_marks_the_arc_and_prints_the_note(electrode_gb_fit):
    from eisna.cli.fit import physics_table

    _, res = electrode_gb_fit
    lines = physics_table(res, "synthetic")
    gb_line = next(line for line in lines if line.strip().startswith("grain_boundary"))
    assert "! counted as interfacial (C_eff electrode-scale), not in R_SE/σ" in gb_line
    assert f"    note: {res.arcs[0].role_note}" in lines
