"""What a batch reuses between spectra and between law tables gives the numbers it gave before
(issue 12 item 2): the same results bit for bit, computed once."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eisna import kinetics, validation_zhit
from eisna.circuit import load_circuit
from eisna.fitting import solver
from eisna.fitting.engine import _prepare
from eisna.fitting.synthetic import FREQ_CELL, noisy_spectrum
from eisna.kinetics import _damped_step, fit_kinetics, screened_kinetics
from eisna.series.tracks import _SCREEN, _outliers
from eisna.spectrum import Spectrum


def _same(a, b) -> bool:
    """Exact equality of floats (NaN equal to NaN), dicts, sequences and the rest."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return a.tobytes() == np.asarray(b).tobytes()
    return a == b


def _same_kinetics(a, b) -> bool:
    fields = ("model", "onset_h", "onset_stderr_h", "t95_h", "R_final")
    if not all(_same(getattr(a, f), getattr(b, f)) for f in fields):
        return False
    return len(a.table) == len(b.table) and all(
        _same(x.__dict__, y.__dict__) for x, y in zip(a.table, b.table, strict=True)
    )


def test_screened_growth_laws_equal_the_two_tables_and_fit_the_screen_once(monkeypatch):
    t = np.arange(0.0, 24.5, 0.5)
    rng = np.random.default_rng(5)
    flat = 50.0 + rng.normal(0.0, 0.2, t.size)
    grown = 180 * (1 - np.exp(-((np.clip(t - 1.0, 0, None) / 6) ** 1.5))) + rng.normal(0.0, 0.5, t.size)
    calls: list[str] = []
    inner = kinetics._fit_law

    def counted(law, *a):
        calls.append(law.name)
        return inner(law, *a)

    # no trend: the screen's own table, nothing more fitted
    expected = fit_kinetics(t, flat, models=_SCREEN)
    monkeypatch.setattr(kinetics, "_fit_law", counted)
    got = screened_kinetics(t, flat, _SCREEN)
    assert expected.model == "none" and _same_kinetics(got, expected)
    assert sorted(calls) == ["constant", "linear", "parabolic"]
    # a trend: the full table, the screen's laws taken over (the screen's winner had its t0 error
    # filled in; in the full table it is not the winner and keeps NaN there)
    monkeypatch.setattr(kinetics, "_fit_law", inner)
    screen = fit_kinetics(t, grown, models=_SCREEN)
    expected = fit_kinetics(t, grown)
    calls.clear()
    monkeypatch.setattr(kinetics, "_fit_law", counted)
    got = screened_kinetics(t, grown, _SCREEN)
    assert screen.model in _SCREEN and expected.model == "jmak"
    assert _same_kinetics(got, expected)
    assert math.isnan(next(f for f in got.table if f.name == screen.model).stderr["t0_h"])
    assert sorted(calls) == sorted(kinetics.MODELS)  # each law once (was constant, linear, parabolic twice)


def test_damped_step_solves_the_damped_system():
    rng = np.random.default_rng(2)
    for _ in range(50):
        m = rng.normal(size=(2, 2))
        A, g, damp = m @ m.T + 0.1 * np.eye(2), rng.normal(size=2), rng.uniform(0, 1, 2)
        step = _damped_step(A.tolist(), g.tolist(), damp.tolist(), [True, True])
        assert step is not None
        assert np.allclose(step, -np.linalg.solve(A + np.diag(damp), g), rtol=1e-12, atol=0.0)
        one = _damped_step(A.tolist(), g.tolist(), damp.tolist(), [False, True])
        assert one is not None and one[0] == 0.0
        assert one[1] == pytest.approx(-g[1] / (A[1, 1] + damp[1]), rel=1e-15)
    assert _damped_step([[1.0, 1.0], [1.0, 1.0]], [1.0, 2.0], [0.0, 0.0], [True, True]) is None
    assert _damped_step([[0.0, 1.0], [1.0, 1.0]], [1.0, 2.0], [0.0, 0.0], [True, False]) is None


def _outliers_one_by_one(values, k=5.0):
    """The former loop: each finite value against the median of its (up to) 5 finite neighbours."""
    v = np.asarray(values, float)
    where = [i for i in range(v.size) if np.isfinite(v[i])]
    flags = np.zeros(v.size, dtype=bool)
    if len(where) < 6:
        return flags
    resid = [v[j] - np.median([v[m] for m in where[max(0, p - 2) : p + 3]]) for p, j in enumerate(where)]
    spread = 1.4826 * float(np.median(np.abs(resid)))
    for j, r in zip(where, resid, strict=True):
        flags[j] = spread > 0 and abs(r) > k * spread
    return flags


def test_outliers_from_windows_at_once_equal_the_windows_one_by_one():
    rng = np.random.default_rng(7)
    for n in (6, 7, 8, 11, 49):
        for _ in range(20):
            v = 100 + rng.normal(0.0, 1.0, n)
            v[rng.integers(0, n)] += rng.choice([-30.0, 30.0])  # one jump to find
            v[rng.random(n) < 0.1] = np.nan
            assert np.array_equal(_outliers(v), _outliers_one_by_one(v))
    v = 100 + np.sin(np.arange(30.0))
    v[12] = 160.0
    assert np.flatnonzero(_outliers(v)).tolist() == [12]


def _zhit_numbers(res):
    return (res.modulus.tobytes(), res.residual.tobytes(), res.threshold.tobytes(), res.passed, res.offset)


def test_zhit_design_cache_gives_the_same_result_on_each_grid(monkeypatch):
    d = load_circuit("symmetric_cell")
    values = {n: d.defaults[n].value for n in d.param_names}
    s = noisy_spectrum(d, values, FREQ_CELL, 0.003, np.random.default_rng(1))
    coarse = Spectrum(s.freq[::2], s.z[::2])
    monkeypatch.setattr(validation_zhit, "_DESIGN_CACHE", {})
    first = _zhit_numbers(validation_zhit.zhit(s))
    assert len(validation_zhit._DESIGN_CACHE) == 2  # the cubic and the end quadratics of this grid
    again = _zhit_numbers(validation_zhit.zhit(s))  # (from the cache)
    other = _zhit_numbers(validation_zhit.zhit(coarse))  # another grid: its own matrices
    assert len(validation_zhit._DESIGN_CACHE) == 4
    validation_zhit._DESIGN_CACHE.clear()
    assert again == first and _zhit_numbers(validation_zhit.zhit(s)) == first
    validation_zhit._DESIGN_CACHE.clear()
    assert _zhit_numbers(validation_zhit.zhit(coarse)) == other


@pytest.mark.parametrize("hold", [(), (2,)])
def test_sine_map_and_the_padded_jacobian_write_the_same_numbers(hold):
    d = load_circuit("symmetric_cell")
    values = {n: d.defaults[n].value for n in d.param_names}
    s = noisy_spectrum(d, values, FREQ_CELL, 0.003, np.random.default_rng(4))
    problem = _prepare(s, d, "modulus", None, None, None, None).problem
    act = np.ones(problem.lo.size, dtype=bool)
    act[list(hold)] = False
    lo, hi = problem.lo[act], problem.hi[act]
    half = (hi - lo) / 2
    x_full = (problem.lo + problem.hi) / 2
    to_x = solver._sine_map(x_full, act, lo, half)
    rng = np.random.default_rng(0)
    u1, u2 = rng.uniform(-1.5, 1.5, lo.size), rng.uniform(-1.5, 1.5, lo.size)
    held = x_full[~act].copy()
    for u in (u1, u2, u1, u1):  # the kept last point is the right one after a change
        x = to_x(u)
        assert x is x_full
        assert x[act].tobytes() == (lo + half * (1.0 + np.sin(u))).tobytes()
        assert x[~act].tobytes() == held.tobytes()
    jac_t = solver._sine_jac_t(problem, to_x, act, half)
    out = np.full((lo.size, 2 * s.freq.size), np.nan)
    jac_t.into(u2, out)
    assert out.tobytes() == jac_t(u2).tobytes()
    # a whole MINPACK solve: the Jacobian written into its buffer or handed over as an array
    lmder = solver._padded_minpack()
    if lmder is None:
        pytest.skip("scipy's private MINPACK binding is not available")

    def fun(u):
        return problem.residual(to_x(u))

    def plain(u):
        return jac_t(u)

    runs = []
    for jac in (jac_t, plain):
        problem._res_key = problem._jac_key = None
        x, info, code = lmder(fun, jac, u1.copy(), (), True, True, 1e-10, 1e-10, 1e-10, 200, 100.0, None)
        runs.append((x.tobytes(), info["fvec"].tobytes(), int(info["nfev"]), int(code)))
    assert runs[0] == runs[1]
    assert runs[0][2] > 3  # (a real solve, not a start at the minimum)
