"""The generated sample data: deterministic, readable, faithful to the truth and the spec."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

import eisna

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_spectra"
TRUTH = json.loads((SAMPLES / "truth.json").read_text(encoding="utf-8"))


def _generator():
    spec = importlib.util.spec_from_file_location(
        "make_sample_spectra", REPO / "scripts" / "make_sample_spectra.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_is_deterministic_and_committed_files_are_current(tmp_path):
    _generator().main(["--out", str(tmp_path)])
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(fresh) == 2 + 2 * 49 + 5 + 1 + 1 + 3  # looped, per-file, pellet, cycling, truth, realistic
    for rel in fresh:
        assert (SAMPLES / rel).read_bytes() == (tmp_path / rel).read_bytes(), f"{rel} is stale"
    total = sum((SAMPLES / rel).stat().st_size for rel in fresh)
    assert total < 6_000_000  # "a few MB at most"


def test_truth_matches_the_specification_table():
    nas = {round(s["t_start_h"], 2): s for s in TRUTH["NAS"]["spectra"]}
    # eis-science §4.2 table: t → (R_int, Q_int, C_eff, ASR per interface, d)
    assert nas[1.0]["params"]["R_int"] == 0.0
    assert nas[3.0]["params"]["R_int"] == pytest.approx(31.51, abs=0.01)
    assert nas[3.0]["params"]["Q_int"] == pytest.approx(2.65e-6, rel=0.01)
    assert nas[3.0]["derived"]["C_eff_int_F"] == pytest.approx(5.05e-7, rel=0.01)
    assert nas[10.0]["derived"]["ASR_int_per_interface_ohm_cm2"] == pytest.approx(59.43, abs=0.05)
    assert nas[24.0]["derived"]["thickness_int_nm"] == pytest.approx(39.3, abs=0.1)
    assert nas[24.0]["derived"]["R_dc_ohm"] == pytest.approx(295.3, abs=0.1)
    kin = TRUTH["NAS"]["kinetics"]
    assert (kin["model"], kin["t0_h"], kin["tau_g_h"], kin["m"], kin["dR_inf_ohm"]) == (
        "jmak",
        1.0,
        6.0,
        1.5,
        180.0,
    )
    assert kin["t95_h"] == pytest.approx(13.5, abs=0.05)
    assert all(s["params"]["R_int"] == 0.0 for s in TRUTH["NPS"]["spectra"])
    assert TRUTH["NPS"]["kinetics"]["model"] == "none"


def _truth_z(freq, p):
    gen = _generator()
    return gen.cell_impedance(np.asarray(freq), p)


def test_looped_file_reads_as_49_timed_spectra_matching_truth():
    spectra = eisna.read(SAMPLES / "nas_looped.mpt")
    assert len(spectra) == 49
    assert all(len(s) == 80 for s in spectra)
    s0 = spectra[0]
    assert s0.freq[0] == pytest.approx(7e6) and s0.freq[-1] == pytest.approx(0.1)
    assert s0.meta["area_cm2"] == pytest.approx(0.785)
    steps = np.diff([s.timestamp.timestamp() for s in spectra])
    assert np.allclose(steps, 1800.0)
    assert [s.meta["cycle"] for s in spectra[:3]] == [1, 2, 3]
    # the noisy data scatter around the true impedance at the noise level of the model
    sigma = 0.002 * np.sqrt(1 + (s0.freq / 2e6) ** 2) * np.sqrt(1 + 0.5 / s0.freq)
    for k in (0, 20, 48):
        p = TRUTH["NAS"]["spectra"][k]["params"]
        z_true = _truth_z(spectra[k].freq, p)
        eps = (spectra[k].z - z_true) / (sigma * np.abs(z_true))
        assert 0.8 < np.std(np.r_[eps.real, eps.imag]) < 1.2
        assert abs(np.mean(np.r_[eps.real, eps.imag])) < 0.3


def test_per_file_folder_holds_the_same_data_in_natural_order():
    files = sorted((SAMPLES / "nps").glob("*.mpt"))
    assert [f.name for f in files[:2]] == ["nps_t01.mpt", "nps_t02.mpt"] and len(files) == 49
    looped = eisna.read(SAMPLES / "nps_looped.mpt")
    for k in (0, 17, 48):
        (one,) = eisna.read(files[k])
        assert np.allclose(one.z, looped[k].z, rtol=1e-6)
        assert one.timestamp == looped[k].timestamp
        assert one.elapsed_s < 1.0  # each file starts its own clock


def test_pellet_files_carry_their_temperature():
    from eisna.temperature import temperature_from_text

    for s in TRUTH["pellet"]["spectra"]:
        path = SAMPLES / s["file"]
        (spec,) = eisna.read(path)
        assert len(spec) == 70
        assert temperature_from_text(path.stem) == pytest.approx(s["temperature_K"])
        comments = spec.meta["header"].get("Comments", "")
        assert temperature_from_text(str(comments)) == pytest.approx(s["temperature_K"])


def test_cycling_csv_is_a_neware_export_with_ohmic_overpotential():
    df = eisna.read_cycling(SAMPLES / "nas_cycling.csv")
    truth = TRUTH["cycling"]
    assert len(df) > 1000
    chg = df[df["step_type"].str.contains("Chg") & ~df["step_type"].str.contains("DChg")]
    assert chg["current_A"].median() == pytest.approx(truth["current_mA"] * 1e-3, rel=1e-3)
    # η = I·R_dc at the plateau: DC ASR ≈ R_dc·A
    late = chg[chg["step_time_s"] > 600]
    r_dc = (late["voltage_V"] / late["current_A"]).median()
    assert r_dc == pytest.approx(truth["R_dc_ohm_at_start"], rel=0.02)
    assert math.isclose(
        truth["ASR_dc_cell_ohm_cm2_at_start"], truth["R_dc_ohm_at_start"] * 0.7853981634, rel_tol=1e-6
    )
