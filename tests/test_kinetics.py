"""Growth-law fitting with onset: known-answer recovery, model ranking, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eisna.kinetics import MODELS, KineticsError, fit_kinetics

T = np.arange(0.0, 24.5, 0.5)


def jmak(t, t0=1.0, tau=6.0, m=1.5, dR=180.0):
    h = np.clip(t - t0, 0.0, None)
    return dR * (1.0 - np.exp(-((h / tau) ** m)))


def test_jmak_truth_recovered_with_noise():
    rng = np.random.default_rng(7)
    R = jmak(T) + rng.normal(0.0, 1.0, T.size) * (T > 1.0)
    res = fit_kinetics(T, R, np.full(T.size, 1.0))
    assert res.model == "jmak"
    p = res.best.params
    assert abs(res.onset_h - 1.0) < 0.25
    assert p["dR"] == pytest.approx(180.0, rel=0.01)
    assert p["tau_h"] == pytest.approx(6.0, rel=0.05)
    assert p["m"] == pytest.approx(1.5, abs=0.1)
    # 95 % of ΔR∞ at t0 + τ (ln 20)^(1/m) = 13.51 h for the truth
    assert res.t95_h == pytest.approx(1.0 + 6.0 * math.log(20.0) ** (1 / 1.5), abs=0.3)
    assert res.onset_stderr_h > 0
    assert all(np.isfinite(v) for v in res.best.stderr.values())
    # every law is in the table, ranked by AICc, with the null model last here
    names = [m.name for m in res.table]
    assert set(names) == set(MODELS)
    aicc = [m.aicc for m in res.table]
    assert aicc == sorted(aicc)
    assert res.table[0].delta_aicc == 0.0
    assert names[-1] == "constant"


def test_parabolic_data_select_parabolic_law():
    rng = np.random.default_rng(3)
    R = 20.0 + 60.0 * np.sqrt(np.clip(T - 2.0, 0.0, None)) + rng.normal(0.0, 0.5, T.size)
    res = fit_kinetics(T, R, np.full(T.size, 0.5))
    assert res.model == "parabolic"
    assert res.best.params["k"] == pytest.approx(60.0, rel=0.02)
    assert res.best.params["R0"] == pytest.approx(20.0, abs=1.0)
    assert res.onset_h == pytest.approx(2.0, abs=0.2)


def test_linear_growth_unweighted():
    R = 5.0 + 8.0 * np.clip(T - 3.0, 0.0, None)
    res = fit_kinetics(T, R + np.random.default_rng(1).normal(0, 0.2, T.size))
    assert res.model == "linear"
    assert not res.weighted
    assert res.best.params["k"] == pytest.approx(8.0, rel=0.01)
    assert res.onset_h == pytest.approx(3.0, abs=0.1)


def test_no_growth_gives_none():
    rng = np.random.default_rng(11)
    res = fit_kinetics(T, rng.normal(0.0, 0.3, T.size), np.full(T.size, 0.5))
    assert res.model == "none"
    assert res.onset_h is None and res.t95_h is None
    assert res.to_dict()["model"] == "none"


def test_predict_and_to_dict_round_trip():
    res = fit_kinetics(T, jmak(T), np.full(T.size, 0.5))
    assert res.predict([0.0, 24.0]) == pytest.approx([0.0, jmak(np.array([24.0]))[0]], abs=0.5)
    d = res.to_dict()
    assert d["model"] == "jmak" and len(d["models"]) == len(MODELS)
    assert d["params"]["t0_h"] == pytest.approx(1.0, abs=0.1)


def test_bad_stderr_entries_are_filled():
    s = np.full(T.size, 1.0)
    s[:5] = 0.0
    s[7] = np.nan
    res = fit_kinetics(T, jmak(T), s)
    assert res.model == "jmak"
    assert np.all(res.stderr > 0)


def test_errors_name_the_problem():
    with pytest.raises(KineticsError, match="differ in length"):
        fit_kinetics([0, 1, 2], [1, 2])
    with pytest.raises(KineticsError, match="at least 6"):
        fit_kinetics([0, 1, 2], [1, 2, 3])
    with pytest.raises(KineticsError, match="unknown model"):
        fit_kinetics(T, jmak(T), models=["cubic"])
    with pytest.raises(KineticsError, match="stderr has 3 values"):
        fit_kinetics(T, jmak(T), [1, 2, 3])
