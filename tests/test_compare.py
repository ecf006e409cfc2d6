"""Model comparison: "is there an interlayer arc yet?" on NAS (yes) and NPS (no) spectra."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import eisna

sys.path.insert(0, str(Path(__file__).parent))
from test_fit import NAS, NPS, spectrum

PAIR = ["symmetric_cell", "symmetric_interlayer"]


def test_interlayer_detected_when_present():
    c = eisna.compare(spectrum("symmetric_interlayer", NAS), PAIR)
    assert c.names[0] == "symmetric_interlayer"
    assert c.delta_aicc[1] > 10
    (t,) = c.f_tests
    assert (t.simple, t.complex) == ("symmetric_cell", "symmetric_interlayer")
    assert t.significant and t.p_value < 1e-10
    assert c.preferred("symmetric_cell", "symmetric_interlayer") == "symmetric_interlayer"
    assert sum(c.akaike_weights) == pytest.approx(1.0)


def test_no_interlayer_when_absent():
    c = eisna.compare(spectrum("symmetric_cell", NPS), PAIR)
    assert c.names[0] == "symmetric_cell"
    (t,) = c.f_tests
    assert not t.significant
    assert c.preferred("symmetric_cell", "symmetric_interlayer") == "symmetric_cell"
    d = c.to_dict()
    assert [row["name"] for row in d["ranking"]] == c.names[:2] or d["ranking"][0]["name"] == "symmetric_cell"
    assert np.isfinite(d["f_tests"][0]["F"])


def test_small_early_interlayer_is_found():
    # t = 1.5 h of the NAS benchmark: R_int = 4.28 Ω, about 3 % of |Z|
    truth = {**NAS, "R_int": 4.28, "Q_int": 1.95e-5}
    c = eisna.compare(spectrum("symmetric_interlayer", truth, noise=0.002, seed=5), PAIR)
    assert c.preferred("symmetric_cell", "symmetric_interlayer") == "symmetric_interlayer"
