"""The cheaper parts of a batch (issue 12 item 2) compute what the slower ones did."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import eisna
from eisna import validation
from eisna.batching import dumps
from eisna.circuit import load_circuit
from eisna.fitting.synthetic import FREQ_CELL, noisy_spectrum
from eisna.kinetics import _LAWS, _Profile, _small_lsq


def _nas_like(seed: int = 3):
    d = load_circuit("symmetric_interlayer")
    q = lambda R, f, n: (1 / (2 * np.pi * f)) ** n / R  # noqa: E731
    truth = {
        "L": 2e-7,
        "R_b": 42.4,
        "C_b": 13.9e-12,
        "R_gb": 21.0,
        "Q_gb": q(21.0, 2e6, 0.8),
        "n_gb": 0.8,
        "R_int": 180.0,
        "Q_int": q(180.0, 1e4, 0.85),
        "n_int": 0.85,
        "R_ct": 40.0,
        "Q_ct": q(40.0, 300, 0.9),
        "n_ct": 0.9,
        "R_W": 12.0,
        "tau_W": 1.0,
    }
    return noisy_spectrum(d, truth, FREQ_CELL, 0.002, np.random.default_rng(seed))


@pytest.mark.filterwarnings("ignore:C_b is not identifiable")
def test_unpolished_fit_is_an_upper_bound_of_the_polished_one():
    # the series' baseline once the interlayer is established: a wrong model, a short solve
    s = _nas_like()
    full = eisna.fit(s, "symmetric_interlayer")
    start = {p: v for p, v in full.params.items() if p in load_circuit("symmetric_cell").param_names}
    kw = {"initial": start, "max_nfev": 30, "n_restarts": 0, "drt_fallback": False}
    polished = eisna.fit(s, "symmetric_cell", **kw)
    quick = eisna.fit(s, "symmetric_cell", polish=False, **kw)
    assert quick.success and polished.success
    assert quick.chisqr >= polished.chisqr * (1 - 1e-9)
    assert quick.bic - full.bic > 100  # still far worse than the right model: the decision holds
    assert quick.nfev < polished.nfev


def test_small_lsq_finds_the_scipy_minimum_of_the_onset_profile():
    from scipy.optimize import least_squares

    t = np.arange(0, 24.5, 0.5)
    y = 180 * (1 - np.exp(-((np.clip(t - 1, 0, None) / 6) ** 1.5))) + np.random.default_rng(1).normal(
        0, 0.5, t.size
    )
    w = np.full(t.size, 2.0)
    for law, t0 in (("first_order", 0.5), ("logarithmic", 1.0), ("jmak", 1.0), ("jmak", 3.0)):
        prof = _Profile(_LAWS[law], t, y, w)
        for x0 in prof.starts:
            x0 = np.clip(x0, prof.lo + 1e-9, prof.hi - 1e-9)
            ref = least_squares(
                prof.residual, x0, args=(t0,), bounds=(prof.lo, prof.hi), xtol=1e-10, ftol=1e-12, max_nfev=200
            )
            _x, r = _small_lsq(lambda v, t0=t0, prof=prof: prof.residual(v, t0), x0, prof.lo, prof.hi)
            chi, chi_ref = float(r @ r), float(ref.fun @ ref.fun)
            assert chi <= chi_ref * (1 + 1e-8), (law, t0, x0, chi, chi_ref)


def test_kk_scan_solve_equals_lstsq_and_the_verdict_is_unchanged(monkeypatch):
    s = _nas_like(5)
    omega = 2 * np.pi * np.asarray(s.freq)
    z = np.asarray(s.z)
    for M in (9, 20, 30):
        tau = validation._tau_grid(omega.min(), omega.max(), M, validation.EXTEND_DECADES)
        coef, z_fit = validation._scan_fit(omega, z, tau, True, False)
        ref, z_ref = validation._fit(omega, z, tau, True, False)
        np.testing.assert_allclose(coef, ref, rtol=1e-6, atol=1e-9 * np.abs(ref).max())
        np.testing.assert_allclose(z_fit, z_ref, rtol=1e-9)
    fast = validation.kk_test(s)
    monkeypatch.setattr(validation, "_scan_fit", lambda *a: validation._fit(*a[:5]))
    slow = validation.kk_test(s)
    assert (fast.M, fast.passed, fast.reason) == (slow.M, slow.passed, slow.reason)
    np.testing.assert_array_equal(fast.res_re, slow.res_re)  # the chosen M is refitted by lstsq


def test_indented_json_keeps_the_document():
    doc = {
        "rows": [{f"c{i}": (math.nan if i == 3 else i + 0.5) for i in range(10)} | {"s": "Ω"}],
        "z": [[1.0, -2.0]] * 12,
        "freq": [float(f) for f in np.logspace(0, 3, 20)],
        "bad": [1.0, math.inf, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        "nested": {"a": [1, 2, 3], "b": None, "text": "\x00eisna-array-x:0"},
    }
    text = dumps(doc)
    back = json.loads(text)
    assert back == json.loads(dumps(doc, compact=True))
    assert back["rows"][0]["c3"] is None and back["bad"][1] is None
    assert back["nested"]["text"] == "\x00eisna-array-x:0"
    assert back["freq"] == pytest.approx(doc["freq"], rel=0, abs=0)
    assert '"freq": [1.0, ' in text  # an array on one line
