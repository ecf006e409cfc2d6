"""The output stage of a batch (stop 22, branch batch8): the same outputs, built more cheaply.

* ``write_outputs`` builds and encodes its documents with the cyclic garbage collector paused
  (every object built there is alive until encoded: a collection frees none of them) and
  resumes it afterwards, also after an error, and leaves a collector the caller disabled off;
* the shortcuts used on the way give exactly what they replace: medians by one partition
  (lin-KK's local noise), the onset profile's residuals without the coefficients.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path

import numpy as np
import pytest

import eisna
import eisna.analysis
from eisna.batching import collection_paused, write_outputs
from eisna.kinetics import _LAWS, _solve_linear, _weights
from eisna.validation import _median, _row_medians

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def series():
    spectra = list(eisna.read(REPO / "sample_spectra" / "nas_looped.mpt"))[:12]
    return eisna.fit_series(spectra, "symmetric_interlayer")


def test_documents_are_built_with_the_collector_paused(series, tmp_path, monkeypatch):
    seen = []
    inner = eisna.analysis.analyse_series

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return inner(*args, **kwargs)

    monkeypatch.setattr(eisna.analysis, "analyse_series", spy)
    assert gc.isenabled()
    write_outputs(series, tmp_path, provenance={"command": "test"}, report=False)
    assert seen == [False]  # paused while the documents were built
    assert gc.isenabled()  # and running again afterwards
    doc = json.loads((tmp_path / "analysis.json").read_text())
    assert len(doc["spectra"]) == len(series.results)
    assert (tmp_path / "results.csv").read_text().count("\n") == len(series.results) + 1


def test_no_collection_runs_while_the_documents_are_built(series, tmp_path, monkeypatch):
    collections = []
    building = []

    def count(phase, info):
        if phase == "start" and building:
            collections.append(info["generation"])

    inner = eisna.analysis.analyse_series

    def spy(*args, **kwargs):
        building.append(True)
        try:
            out = inner(*args, **kwargs)
            kept = [[0.0, 1.0] for _ in range(5_000)]  # (~7 young collections' worth, kept alive)
            assert len(kept) == 5_000
            return out
        finally:
            building.clear()

    monkeypatch.setattr(eisna.analysis, "analyse_series", spy)
    gc.callbacks.append(count)
    try:
        write_outputs(series, tmp_path, provenance={}, report=False)
    finally:
        gc.callbacks.remove(count)
    assert collections == []


def test_collection_paused_restores_the_callers_state():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collection_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()  # resumed after an error
    gc.disable()
    try:
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a collector the caller turned off stays off
    finally:
        gc.enable()


@pytest.mark.parametrize("width", [1, 2, 5, 12, 26, 27])
def test_medians_by_one_partition_equal_numpy(width):
    rng = np.random.default_rng(width)
    a = rng.lognormal(size=(40, width)) * rng.choice([1e-6, 1.0, 1e6], size=(40, 1))
    a[3, 0] = np.nan  # a row with NaN: NaN, as np.median
    a[5, :] = 0.25  # ties
    expected = np.median(a, axis=1)
    got = _row_medians(a)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    finite = ~np.isnan(expected)
    assert got[finite].tobytes() == expected[finite].tobytes()  # every bit
    for row in a:
        m = _median(row)
        ref = float(np.median(row))
        assert (np.isnan(m) and np.isnan(ref)) or m.hex() == ref.hex()
    assert np.isnan(_median(np.zeros(0)))


@pytest.mark.parametrize("law", ["linear", "parabolic", "first_order", "jmak"])
def test_residuals_without_coefficients_are_the_same_bits(law):
    rng = np.random.default_rng(7)
    t = np.linspace(0.0, 24.0, 49)
    y = 50.0 + 100.0 * (1 - np.exp(-np.clip(t - 1.0, 0, None) / 6.0)) + rng.normal(0, 0.5, t.size)
    w = 1.0 / rng.uniform(0.2, 2.0, t.size)
    h = np.maximum(t - 1.0, 0.0)
    theta = {"linear": (), "parabolic": (), "first_order": (5.0,), "jmak": (5.0, 1.7)}[law]
    g = _LAWS[law].shape(h, theta)
    coef, full = _solve_linear(g, y, w, _LAWS[law], _weights(y, w))
    none, only = _solve_linear(g, y, w, _LAWS[law], _weights(y, w), coefficients=False)
    assert coef.size == 2 and none.size == 0
    assert only.tobytes() == full.tobytes()
