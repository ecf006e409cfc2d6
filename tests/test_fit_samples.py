"""Sample spectra (sample_spectra/, eis-science.md §4.2 benchmark): fit against the known truth.

Scoring thresholds of the benchmark: R_SE = R_b + R_gb within 2 %, R_int within 5 % from
t ≥ 3 h, R_ct within 5 %, n within 0.03; pellet conductivity from the fitted R.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import eisna

SAMPLES = Path(__file__).resolve().parents[1] / "sample_spectra"
pytestmark = pytest.mark.skipif(not (SAMPLES / "truth.json").is_file(), reason="sample_spectra/ not built")


def _truth() -> dict:
    return json.loads((SAMPLES / "truth.json").read_text(encoding="utf-8"))


def _read(rel: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eisna.read(SAMPLES / rel)[0]


@pytest.mark.parametrize("system", ["NAS", "NPS"])
def test_symmetric_cells_meet_benchmark_scores(system):
    truth = _truth()[system]
    for sp in truth["spectra"]:
        p = sp["params"]
        has_int = p["R_int"] > 0
        r = eisna.fit(_read(sp["file"]), "symmetric_interlayer" if has_int else "symmetric_cell")
        where = sp["file"]
        assert r.success, where
        r_se = r.params["R_b"] + r.params["R_gb"]
        assert r_se == pytest.approx(p["R_b"] + p["R_gb"], rel=0.02), where
        assert r.params["R_ct"] == pytest.approx(p["R_ct"], rel=0.05), where
        if has_int and sp["t_start_h"] >= 3:
            assert r.params["R_int"] == pytest.approx(p["R_int"], rel=0.05), where
            assert r.params["n_int"] == pytest.approx(p["n_int"], abs=0.03), where


def test_pellet_conductivity():
    truth = _truth()["pellet"]
    geometry = eisna.CellGeometry(truth["thickness_cm"], truth["area_cm2"])
    for sp in truth["spectra"]:
        r = eisna.fit(_read(sp["file"]), "pellet_blocking", geometry=geometry)
        sigma = r.derived["sigma_total"]
        assert sigma.value == pytest.approx(sp["sigma_total_S_per_cm"], rel=0.005), sp["file"]
        assert sigma.unit == "S/cm" and 0 < sigma.stderr < 0.01 * sigma.value
