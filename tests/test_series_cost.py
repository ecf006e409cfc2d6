"""The cheaper parts of a batch (issue 12 item 2) compute what the slower ones did."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import eisna
from eisna import validation
from eisna.batching import dumps
from eisna.circuit import load_circuit
from eisna.errors import EisnaError
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


@pytest.mark.filterwarnings("ignore:C_b is not identifiable")
@pytest.mark.parametrize("circuit", ["symmetric_cell", "symmetric_interlayer"])
def test_fit_without_statistics_keeps_what_the_comparison_and_the_next_seed_read(circuit):
    # the series' baseline once the interlayer is established: only its χ²/BIC (the decision),
    # its standard errors and flags (the next spectrum's guarded seed) are read
    s = _nas_like(4)
    names = load_circuit(circuit).param_names
    start = {p: v for p, v in eisna.fit(s, "symmetric_interlayer").params.items() if p in names}
    start["R_b"] *= 1.3
    kw = {"initial": start, "max_nfev": 30, "n_restarts": 0, "drt_fallback": False, "polish": False}
    full = eisna.fit(s, circuit, **kw)
    light = eisna.fit(s, circuit, statistics=False, **kw)
    assert light.params == full.params and light.stderr == full.stderr
    assert (light.chisqr, light.bic, light.aic) == (full.chisqr, full.bic, full.aic)
    assert light.nfev <= full.nfev  # (the bound probe's evaluations are not made)
    skipped = ("beyond_bound:", "role_mismatch")
    assert light.flags == tuple(f for f in full.flags if not f.startswith(skipped))
    assert full.arcs and full.derived and not light.arcs and not light.derived
    assert light.meta["statistics"] is False and "statistics" not in full.meta
    assert light.meta["bound_probe"] == {}
    np.testing.assert_array_equal(light.residuals, full.residuals)


def test_series_refits_a_light_baseline_that_becomes_the_result(monkeypatch):
    # an arc that vanishes after it was established: the baseline then is the row of results.csv,
    # so it must carry its arc physics (the light solve is repeated with its statistics)
    from dataclasses import replace

    from eisna.series.fitter import _Fitter, _light
    from eisna.series.outcome import SeriesOptions

    fitter = _Fitter(SeriesOptions(circuit="symmetric_interlayer", baseline="symmetric_cell"))
    s = _nas_like(6)
    prev = fitter.fit_one(s, None)
    assert prev.interlayer
    prev = replace(prev, delta_bic=-1e6)  # established: the light budget path
    calls = []
    real_fit = _Fitter._fit

    def spy(self, spectrum, name, initial, max_nfev=None, statistics=True, pending=False):
        calls.append((name, max_nfev, statistics))
        if name == "symmetric_cell" and max_nfev is None:  # the re-check's baseline fails:
            raise EisnaError("no baseline")  # the light one stays the best
        return real_fit(self, spectrum, name, initial, max_nfev, statistics, pending)

    monkeypatch.setattr(_Fitter, "_fit", spy)
    monkeypatch.setattr(_Fitter, "decide", _absent_when_light(_Fitter.decide))
    out = fitter.fit_one(s, prev)
    assert calls[1] == ("symmetric_cell", 30, False) and calls[-1] == ("symmetric_cell", 30, True)
    assert out.interlayer is False and out.result is out.base and not _light(out.result)
    assert out.result.arcs and out.result.derived


def _absent_when_light(decide):
    # the decision of a spectrum without the arc, whatever the data say
    from dataclasses import replace

    def wrapped(self, spectrum, full, base, **kw):
        out = decide(self, spectrum, full, base, **kw)
        return replace(out, result=base, interlayer=False)

    return wrapped


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
    specs = [_nas_like(seed) for seed in (5, 6, 7)]
    omega = 2 * np.pi * np.asarray(specs[0].freq)
    zs = [np.asarray(s.z) for s in specs]
    rows = [validation._weighted_rows(z) for z in zs]
    w2, rhs = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    for M in (9, 20, 30):
        tau = validation._tau_grid(omega.min(), omega.max(), M, validation.EXTEND_DECADES)
        got = validation._scan_fits(omega, zs, [0, 1, 2], w2, rhs, tau, True, False)
        for z, (mu, chi) in zip(zs, got, strict=True):
            ref, z_ref = validation._fit(omega, z, tau, True, False)
            assert mu == pytest.approx(validation._mu(ref[1 : 1 + M]), rel=1e-6, abs=1e-9)
            assert chi == pytest.approx(validation._pseudo_chisqr(z, z_ref), rel=1e-6)
    fast = validation.kk_test(specs[0])
    monkeypatch.setattr(validation, "_GRAM_MAX_WORK", 0)  # every scan fit by lstsq
    slow = validation.kk_test(specs[0])
    assert (fast.M, fast.passed, fast.reason) == (slow.M, slow.passed, slow.reason)
    np.testing.assert_array_equal(fast.res_re, slow.res_re)  # the chosen M is refitted alike


def test_kk_tests_of_a_series_equal_the_tests_one_by_one():
    from eisna.spectrum import Spectrum

    specs = [_nas_like(seed) for seed in (5, 6, 7)]
    odd = Spectrum(np.asarray(specs[0].freq)[::2], np.asarray(specs[0].z)[::2])  # other frequencies
    bad = Spectrum(np.asarray(specs[0].freq)[:2], np.asarray(specs[0].z)[:2])  # too few points
    together = validation.kk_tests([specs[0], odd, bad, specs[1], specs[2]])
    assert isinstance(together[2], validation.SpectrumError)
    with pytest.raises(validation.SpectrumError):
        validation.kk_test(bad)
    for s, got in zip([specs[0], odd, specs[1], specs[2]], [together[i] for i in (0, 1, 3, 4)], strict=True):
        alone = validation.kk_test(s)
        assert (got.M, got.passed, got.reason) == (alone.M, alone.passed, alone.reason)
        assert got.bad_points == alone.bad_points
        assert got.mu == alone.mu
        np.testing.assert_array_equal(got.mu_curve, alone.mu_curve)
        np.testing.assert_array_equal(got.chisqr_curve, alone.chisqr_curve)
        np.testing.assert_array_equal(got.res_im, alone.res_im)
        np.testing.assert_array_equal(got.noise, alone.noise)


def test_json_writes_nan_as_null_but_leaves_strings_alone():
    from datetime import UTC, datetime

    class Seconds(float):  # a float subclass is still a number
        pass

    doc = {
        "sub": [Seconds(1.5), Seconds(math.nan)],
        "x": [math.nan, 1.0, -math.inf, math.inf],
        "note": "NaN, -Infinity and Infinity stay in text",
        "row": {f"c{i}": (math.nan if i == 2 else float(i)) for i in range(9)} | {"s": ':NaN,"'},
        np.float64(2.0): np.float64(math.nan),
        3: np.float32(math.inf),
        None: np.int64(7),
        "arr": np.array([1.0, math.nan]),
        "f32": np.float32(0.1),  # its float64 value, not re-rounded to "0.1"
        "big": 2**70,
        "when": datetime(2025, 3, 17, 9, 12, 5, 125000, tzinfo=UTC),
        "path": Path("a") / "b.mpt",
    }
    want = {
        "sub": [1.5, None],
        "x": [None, 1.0, None, None],
        "note": "NaN, -Infinity and Infinity stay in text",
        "row": {f"c{i}": (None if i == 2 else float(i)) for i in range(9)} | {"s": ':NaN,"'},
        "2.0": None,
        "3": None,
        "null": 7,
        "arr": [1.0, None],
        "f32": float(np.float32(0.1)),
        "big": 2**70,
        "when": "2025-03-17T09:12:05.125000+00:00",
        "path": str(Path("a") / "b.mpt"),
    }
    for compact in (True, False):
        text = dumps(doc, compact=compact)
        back = json.loads(text)
        assert back == want, (compact, text)
        assert back["f32"] == 0.10000000149011612 and type(back["big"]) is int
        outside = text.replace(want["note"], "").replace(':NaN,\\"', "")  # (the strings' own text)
        assert text.endswith("}\n") and "NaN" not in outside and "Infinity" not in outside


def test_json_floats_read_back_to_the_same_value():
    # shortest round-trip text ("0.00001", "1e+16"): every finite float64, subnormals and
    # extremes included, reads back bit for bit; integers stay integers, floats floats
    rng = np.random.default_rng(12)
    bits = np.frombuffer(rng.bytes(8 * 20000), dtype=np.float64)
    values = [float(v) for v in bits[np.isfinite(bits)]]
    values += [1e-05, 1e16, -0.0, 5e-324, 1.7976931348623157e308, 0.1, 1.0, 180.1820065869528]
    for compact in (True, False):
        back = json.loads(dumps({"v": values, "n": [1, 2], "one": 1.0}, compact=compact))
        assert [v.hex() for v in back["v"]] == [v.hex() for v in values]
        assert type(back["one"]) is float and back["n"] == [1, 2] and type(back["n"][0]) is int


def test_indented_json_keeps_the_document():
    doc = {
        "rows": [{f"c{i}": (math.nan if i == 3 else i + 0.5) for i in range(10)} | {"s": "Ω"}],
        "z": [[1.0, -2.0]] * 12,
        "freq": [float(f) for f in np.logspace(0, 3, 20)],
        "bad": [1.0, math.inf, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        "nested": {"a": [1, 2, 3], "b": None, "text": "\x00eisna-array-x:0"},
        "grid": np.linspace(0.0, 1.0, 3),
    }
    text = dumps(doc)
    back = json.loads(text)
    assert back == json.loads(dumps(doc, compact=True))
    assert back["rows"][0]["c3"] is None and back["bad"][1] is None
    assert back["nested"]["text"] == "\x00eisna-array-x:0" and back["rows"][0]["s"] == "Ω"
    assert back["freq"] == pytest.approx(doc["freq"], rel=0, abs=0)
    lines = text.splitlines()
    # numeric arrays (and lists of [re, im] pairs) on one line each, the rest indented
    assert sum(line.startswith('  "freq": [1.0,1.438449888287') for line in lines) == 1
    assert sum(line.startswith('  "z": [[1.0,-2.0],[1.0,-2.0],') for line in lines) == 1
    assert '  "grid": [0.0,0.5,1.0]' in lines
    assert '  "bad": [1.0,null,2.0,3.0,4.0,5.0,6.0,7.0,8.0],' in lines
    assert lines[:4] == ["{", '  "rows": [', "    {", '      "c0": 0.5,']


def test_warm_release_from_the_plateau(monkeypatch):
    """A warm start whose held bulk capacitance (apex above the window) the data want smaller is
    released from the resistive plateau: the same χ² (or lower), in fewer evaluations than the
    walk down the flat log-C valley; cold fits do not take this path at all."""
    import warnings
    from pathlib import Path

    from eisna.fitting import engine

    sample = Path(__file__).resolve().parents[1] / "sample_spectra" / "nas_looped.mpt"
    spectra = eisna.read(sample)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prev = eisna.fit(spectra[37], "symmetric_interlayer")
        # the series' warm start: the previous fit, its drifted C_b back at an automatic value
        start = {**prev.params, "C_b": 5e-11}
        new = eisna.fit(spectra[38], "symmetric_interlayer", initial=start, n_restarts=0)
        cold_new = eisna.fit(spectra[38], "symmetric_interlayer")
        monkeypatch.setattr(engine, "_PLATEAU_MIN_NFEV", 10**9)  # the release as before
        old = eisna.fit(spectra[38], "symmetric_interlayer", initial=start, n_restarts=0)
        cold_old = eisna.fit(spectra[38], "symmetric_interlayer")
    assert old.params["C_b"] < 1e-12  # the walk this is about happened
    assert new.params["C_b"] < 1e-12
    assert new.chisqr <= old.chisqr * (1 + 1e-6)
    assert new.nfev < 0.75 * old.nfev
    assert cold_new.chisqr == cold_old.chisqr and cold_new.nfev == cold_old.nfev


def test_warm_polish_parks_a_released_capacitance_deep_on_the_plateau(monkeypatch):
    """A warm solve that released the bulk capacitance onto the resistive plateau is polished
    with it parked deep there (apex 10⁵× above the window) and held: the same χ² or lower, the
    same resistances, fewer evaluations than the tight polish and refinement walking along the
    flat valley; cold fits do not take this path."""
    import warnings
    from pathlib import Path

    from eisna.fitting import engine

    spectra = eisna.read(Path(__file__).resolve().parents[1] / "sample_spectra" / "nas_looped.mpt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prev = eisna.fit(spectra[37], "symmetric_interlayer")
        start = {**prev.params, "C_b": 5e-11}  # the series' warm start (as above)
        new = eisna.fit(spectra[38], "symmetric_interlayer", initial=start, n_restarts=0)
        cold_new = eisna.fit(spectra[38], "symmetric_interlayer")
        monkeypatch.setattr(engine, "_PLATEAU_APEX", math.inf)  # the polish as before
        old = eisna.fit(spectra[38], "symmetric_interlayer", initial=start, n_restarts=0)
        cold_old = eisna.fit(spectra[38], "symmetric_interlayer")
    f_max = float(np.max(spectra[38].freq))
    apex = 1 / (2 * math.pi * new.params["R_b"] * new.params["C_b"])
    assert old.params["C_b"] < 1e-12  # the release onto the plateau this is about happened
    assert apex > 0.9e5 * f_max  # parked deep on the plateau
    assert new.chisqr <= old.chisqr * (1 + 1e-9)
    for p in ("R_b", "R_gb", "R_int", "R_ct", "R_W"):
        assert new.params[p] == pytest.approx(old.params[p], rel=1e-5)
    assert "unidentifiable:C_b" in new.flags and "unidentifiable:C_b" in old.flags
    assert new.nfev < 0.8 * old.nfev
    assert cold_new.chisqr == cold_old.chisqr and cold_new.nfev == cold_old.nfev


def _same_fit(a, b):
    assert a.params == b.params and a.chisqr == b.chisqr and a.nfev == b.nfev
    assert a.stderr.keys() == b.stderr.keys()
    for p in a.stderr:  # (NaN where a parameter is not determined)
        assert a.stderr[p] == b.stderr[p] or (math.isnan(a.stderr[p]) and math.isnan(b.stderr[p]))
    assert a.flags == b.flags and a.bic == b.bic and a.message == b.message
    np.testing.assert_array_equal(
        np.nan_to_num(a.correlation, nan=9.0), np.nan_to_num(b.correlation, nan=9.0)
    )
    assert [(k, v.value, v.stderr) for k, v in a.derived.items() if hasattr(v, "value")] == [
        (k, v.value, v.stderr) for k, v in b.derived.items() if hasattr(v, "value")
    ]


@pytest.mark.filterwarnings("ignore:C_b is not identifiable")
@pytest.mark.parametrize("warm", [False, True])
def test_a_pending_fit_ranks_on_the_chisqr_and_finishes_into_the_same_result(warm):
    from eisna.fitting.engine import fit, fit_pending

    s = _nas_like(5)
    kw = {"initial": fit(s, "symmetric_interlayer").params, "n_restarts": 0} if warm else {}
    done = fit(s, "symmetric_interlayer", **kw)
    pending = fit_pending(s, "symmetric_interlayer", **kw)
    assert pending.chisqr == done.chisqr and pending.params == done.params and pending.success
    assert pending.param_names == done.param_names
    result = pending.finish()
    assert pending.finish() is result  # computed once
    _same_fit(result, done)
    np.testing.assert_array_equal(result.residuals, done.residuals)
    np.testing.assert_array_equal(result.z_fit, done.z_fit)


def test_fit_and_fit_pending_take_the_same_options():
    """fit() is fit_pending().finish(): the public signature and the pending one spell the same
    keyword options with the same defaults, so one cannot drift from the other."""
    import inspect

    from eisna.fitting.engine import fit, fit_pending

    assert inspect.signature(fit).parameters == inspect.signature(fit_pending).parameters


@pytest.mark.filterwarnings("ignore:C_b is not identifiable")
def test_the_chain_start_computes_statistics_only_for_the_fits_it_keeps(monkeypatch):
    # the chain start fits each model from more than one start: only the two kept (one per
    # model) pay for the covariance, the bound probe and the physics, and they are the fits an
    # unconditional fit() from the same start gives
    from eisna.fitting import engine
    from eisna.series.fitter import _finished, _Fitter
    from eisna.series.outcome import SeriesOptions

    fitter = _Fitter(SeriesOptions(circuit="symmetric_interlayer", baseline="symmetric_cell"))
    fits, stats = [], []
    real_pending, real_unc = engine.fit_pending, engine._uncertainties

    def pending(spectrum, circuit, **kw):
        out = real_pending(spectrum, circuit, **kw)
        fits.append((circuit, kw, out))
        return out

    def unc(*args, **kw):
        stats.append(args[0].defn.name)
        return real_unc(*args, **kw)

    monkeypatch.setattr(engine, "fit_pending", pending)
    monkeypatch.setattr(engine, "_uncertainties", unc)
    out = fitter.fit_one(_nas_like(6), None)
    assert len(fits) >= 5 and sorted(stats) == ["symmetric_cell", "symmetric_interlayer"]
    for model in (out.full, out.base):  # the lowest χ² of its model's candidates
        assert model.chisqr == min(p.chisqr for c, _, p in fits if c.name == model.circuit_name)
    monkeypatch.setattr(engine, "_uncertainties", real_unc)
    monkeypatch.setattr(engine, "fit_pending", real_pending)
    kept = [(c, kw, r) for c, kw, p in fits for r in (out.full, out.base) if p.finish() is r]
    assert len(kept) == 2
    for circuit, kw, result in kept:  # the same fits as fit() from their starts, bit for bit
        _same_fit(result, engine.fit(_nas_like(6), circuit, **kw))
    assert _finished(out.full) is out.full


def test_a_kept_candidate_whose_statistics_fail_gives_way_to_the_one_it_beat():
    # as if it had failed before the comparison (the old order): the runner-up is finished
    from eisna.fitting.engine import fit_pending
    from eisna.series.fitter import _better, _finished

    s = _nas_like(7)
    a = fit_pending(s, "symmetric_cell")
    b = fit_pending(s, "symmetric_interlayer")  # (lower χ²: the arc is in the data)
    kept = _better(a, b)
    assert kept is b and b.runners_up == [a]

    def broken():
        raise np.linalg.LinAlgError("SVD did not converge (injected)")

    b.finish = broken
    out = _finished(kept)
    assert out is a.finish() and out.circuit_name == "symmetric_cell"


@pytest.mark.filterwarnings("ignore:C_b is not identifiable")
def test_a_warm_fit_without_restarts_builds_the_sketch_only_for_a_verdict_that_needs_it(monkeypatch):
    # a series' warm fit (no restarts) asks the DRT sketch only whether a refinement it would
    # run is worth it; where the polish converged and nothing is stuck there is none to ask
    from eisna.fitting import engine, start

    s = _nas_like(8)
    cold = engine.fit(s, "symmetric_interlayer")
    built = []
    real_sketch = start._sketch

    def counted(*args, **kw):
        built.append(args)
        return real_sketch(*args, **kw)

    monkeypatch.setattr(start, "_sketch", counted)
    start._SKETCHES.clear()
    warm = engine.fit(s, "symmetric_interlayer", initial=cold.params, n_restarts=0)
    assert built == [] and warm.success and "poor_fit" not in warm.flags
    assert warm.chisqr <= cold.chisqr * (1 + 1e-9)  # (from the optimum: it stays there)
    # a warm fit that compares restarts still builds it first
    start._SKETCHES.clear()
    built.clear()
    engine.fit(s, "symmetric_interlayer", initial=cold.params, n_restarts=1)
    assert len(built) == 1


def test_candidates_of_equal_chisqr_whose_statistics_both_fail_end_as_a_failed_row():
    # (each became the other's runner-up: the fallback must not go round in circles)
    from eisna.fitting.engine import fit_pending
    from eisna.series.fitter import _better, _finished
    from eisna.series.outcome import FitFailure

    s = _nas_like(7)
    a = fit_pending(s, "symmetric_cell")
    b = fit_pending(s, "symmetric_cell")
    assert a.chisqr == b.chisqr
    assert _better(a, b) is a and _better(b, a) is b

    def broken():
        raise np.linalg.LinAlgError("SVD did not converge (injected)")

    a.finish = b.finish = broken
    out = _finished(a)
    assert isinstance(out, FitFailure) and "SVD did not converge" in out.reason
    assert out.reason.startswith("symmetric_cell: LinAlgError")
