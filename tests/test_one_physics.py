"""Issue 10, one physics: one CellGeometry, derived quantities from physics.py, typed flags,
raised warnings and impedance.py interoperability."""

from __future__ import annotations

import csv
import math
import pickle
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import eisna
from eisna import CellGeometry
from eisna.cli import main
from eisna.errors import (
    EisnaError,
    ParameterAtBoundWarning,
    SpectrumError,
    UnidentifiableParameterWarning,
)
from eisna.fitting.result import Flag, FlagKind

REPO = Path(__file__).resolve().parents[1]
NAS = REPO / "sample_spectra" / "nas"


def _nas(i: int):
    return eisna.read(NAS / f"nas_t{i:02d}.mpt")[0]


# -- geometry -----------------------------------------------------------------------------------
def test_area_only_geometry_and_bad_values():
    g = CellGeometry(None, 1.5)
    assert g.thickness_cm is None and g.area_cm2 == 1.5 and g.cell_constant_per_cm is None
    assert CellGeometry(0.1, 0.5).cell_constant_per_cm == pytest.approx(0.2)
    with pytest.raises(SpectrumError, match="thickness_cm must be a positive number"):
        CellGeometry(-1.0, 1.0)
    with pytest.raises(SpectrumError, match="area_cm2 must be a positive number"):
        CellGeometry(0.1, None)


def test_batch_area_option_gives_one_asr_column_consistent_with_physics(tmp_path):
    # before: --area-cm2 1.5 wrote ASR_int_per_interface_ohm_cm2 from 1.5 cm² (series.py) and
    # ASR_int_ohm_cm2 from the file's 0.785 cm² (physics.py): two columns, one interface
    folder = tmp_path / "cell"
    folder.mkdir()
    for i in (40, 41):
        shutil.copy(NAS / f"nas_t{i:02d}.mpt", folder)
    out = tmp_path / "out"
    code = main(
        ["batch", str(folder), "--out", str(out), "--area-cm2", "1.5", "--thickness-cm", "0.1", "--no-report"]
    )
    assert code == 0
    with (out / "results.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2
    for r in rows:
        assert "ASR_int_ohm_cm2" not in r and "f0_int_Hz" not in r and "d_int_nm" not in r
        assert r["interlayer"] == "True"
        r_int = float(r["R_int"])
        assert float(r["ASR_int_per_interface_ohm_cm2"]) == pytest.approx(r_int * 1.5 / 2, rel=1e-9)
        assert float(r["f_apex_int_Hz"]) == pytest.approx(1 / (2 * math.pi * float(r["tau_int_s"])), rel=1e-6)
        c_eff = float(r["C_eff_int_F"])
        # d = ε0 εr A / (2 C_eff) with εr = 10 (the one default), in nm
        assert float(r["thickness_int_nm"]) == pytest.approx(
            8.8541878128e-14 * 10 * 1.5 / (2 * c_eff) * 1e7, rel=1e-6
        )
        r_se = float(r["R_b"]) + float(r["R_gb"])
        assert float(r["R_SE_ohm"]) == pytest.approx(r_se, rel=1e-9)
        assert float(r["sigma_total_S_per_cm"]) == pytest.approx(0.1 / (1.5 * r_se), rel=1e-6)


def test_fit_series_deprecated_keywords_build_the_same_geometry():
    spectra = [_nas(40)]
    with pytest.warns(DeprecationWarning, match="geometry=CellGeometry"):
        old = eisna.fit_series(spectra, baseline=None, area_cm2=1.5, progress=False)
    new = eisna.fit_series(spectra, baseline=None, geometry=CellGeometry(None, 1.5), progress=False)
    assert old.area_cm2 == new.area_cm2 == 1.5
    a, b = old.rows()[0], new.rows()[0]
    assert a["ASR_int_per_interface_ohm_cm2"] == b["ASR_int_per_interface_ohm_cm2"]
    assert b["ASR_int_per_interface_ohm_cm2"] == pytest.approx(new.results[0].derived["ASR_int"].value)
    with pytest.raises(EisnaError, match="either geometry= or area_cm2="), pytest.warns(DeprecationWarning):
        eisna.fit_series(spectra, geometry=CellGeometry(None, 1.0), area_cm2=1.5, progress=False)


# -- flags and warnings -------------------------------------------------------------------------
def test_flag_is_typed_and_still_its_string():
    f = Flag.parse("at_bound:R_b")
    assert f.kind is FlagKind.AT_BOUND and f.param == "R_b"
    assert f == "at_bound:R_b" and str(f) == "at_bound:R_b" and f in {"at_bound:R_b"}
    assert Flag(FlagKind.UNIDENTIFIABLE, "C_b") == "unidentifiable:C_b"
    assert Flag("poor_fit").param is None and Flag("poor_fit").kind is FlagKind.POOR_FIT
    odd = Flag.parse("something_new:x")
    assert odd.kind is FlagKind.OTHER and odd == "something_new:x"
    back = pickle.loads(pickle.dumps(f))
    assert back.kind is FlagKind.AT_BOUND and back.param == "R_b"


def test_fit_result_normalises_string_flags_and_raises_warnings():
    with pytest.warns(UnidentifiableParameterWarning, match="C_b is not identifiable"):
        r = eisna.fit(_nas(40), "symmetric_interlayer")
    assert r.flags == ("unidentifiable:C_b",) and r.flagged("unidentifiable") == ("C_b",)
    # strings from engine code (e.g. the new budget/beyond-bound flags) become Flags
    r2 = replace(r, flags=("budget_exhausted", "beyond_bound:C_b", "at_bound:R_b"))
    assert [f.kind for f in r2.flags] == [FlagKind.BUDGET_EXHAUSTED, FlagKind.BEYOND_BOUND, FlagKind.AT_BOUND]
    assert r2.has_flag("at_bound", "R_b") and not r2.has_flag("at_bound", "C_b")
    assert ";".join(r2.flags) == "budget_exhausted;beyond_bound:C_b;at_bound:R_b"


def test_at_bound_warning_class(recwarn):
    spectrum = _nas(40).select(fmin=10.0)
    eisna.fit(spectrum, "L0-R0-p(R1,CPE1)-p(R2,CPE2)")
    classes = {type(w.message) for w in recwarn.list}
    # this circuit lacks the Warburg tail: the exponent of the low-frequency CPE ends on n = 1
    assert ParameterAtBoundWarning in classes


# -- impedance.py -------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::eisna.errors.EisnaWarning")
def test_fit_accepts_custom_circuit_and_returns_one():
    circuits = pytest.importorskip("impedance.models.circuits")
    spectrum = _nas(40)
    ref = eisna.fit(spectrum, "L0-R0-p(R1,C1)-p(R2,CPE2)-p(R3,CPE3)-p(R4,CPE4)-Ws0")
    cc = circuits.CustomCircuit(
        "L0-R0-p(R1,C1)-p(R2,CPE2)-p(R3,CPE3)-p(R4,CPE4)-Ws0",
        initial_guess=[ref.params[n] for n in ref.param_names if n != "L0"],
        constants={"L0": 2e-7},
    )
    r = eisna.fit(spectrum, cc)
    assert r.params["L0"] == 2e-7 and "L0" not in r.varied
    assert r.params["R3"] == pytest.approx(ref.params["R3"], rel=0.05)
    back = r.to_impedance()
    assert isinstance(back, circuits.CustomCircuit) and back.constants == {"L0": 2e-7}
    assert len(back.parameters_) == len(r.varied)
    assert np.allclose(back.predict(r.freq), r.z_fit, rtol=1e-9)
    # a library fit maps its role names onto the circuit string's element names by position
    lib = eisna.fit(spectrum, "symmetric_interlayer")
    assert np.allclose(lib.to_impedance().predict(lib.freq), lib.z_fit, rtol=1e-9)


def test_custom_circuit_with_wrong_guess_count_is_refused():
    circuits = pytest.importorskip("impedance.models.circuits")
    cc = circuits.CustomCircuit("R0-p(R1,C1)", initial_guess=[1.0, 2.0, 3.0])
    cc.initial_guess = [1.0, 2.0]  # edited after construction
    with pytest.raises(EisnaError, match="initial_guess has 2 values for 3 free parameters"):
        eisna.fit(_nas(40), cc)


def test_to_impedance_without_impedance_installed(monkeypatch):
    with pytest.warns(UnidentifiableParameterWarning):
        r = eisna.fit(_nas(40), "symmetric_interlayer")
    monkeypatch.setitem(sys.modules, "impedance.models.circuits", None)
    with pytest.raises(EisnaError, match="pip install impedance"):
        r.to_impedance()


def test_one_unidentifiable_rule_for_every_result():
    from eisna.fitting.result import is_unidentifiable

    assert is_unidentifiable(1e-9, 1.5e-9, "log") and not is_unidentifiable(1e-9, 0.07e-9, "log")
    assert is_unidentifiable(0.8, 0.25, "linear") and not is_unidentifiable(0.8, 0.15, "linear")
    assert is_unidentifiable(1.0, math.inf, "log") and is_unidentifiable(1.0, math.nan, "linear")
    with pytest.warns(UnidentifiableParameterWarning):
        r = eisna.fit(_nas(40), "symmetric_interlayer")
    # a result built without its flags (an old cache entry, other code) gets them from the rule
    bare = replace(r, flags=(), stderr={**r.stderr, "R_gb": 3 * r.params["R_gb"]})
    assert set(bare.flags) == {"unidentifiable:C_b", "unidentifiable:R_gb"}
    # a parameter on its bound is reported as such, not also as unidentifiable
    on_bound = replace(r, flags=("at_bound:C_b",))
    assert on_bound.flags == ("at_bound:C_b",)
