"""lin-KK test: known answers on synthetic spectra, drift and artefacts, options, errors, real files."""

from __future__ import annotations

import numpy as np
import pytest

from eisna import Spectrum, SpectrumError
from eisna.validation import DEFAULT_FLOOR, KKResult, kk_test

FREQ = np.geomspace(7e6, 0.1, 80)  # the benchmark grid of eis-science §4.2, swept high → low


def zarc(freq, R, f_c, n):
    """ZARC R/(1 + (jωτ)^n) with τ = 1/(2π f_c), Ω."""
    return R / (1.0 + (1j * freq / f_c) ** n)


def cell_impedance(freq, R_ct=40.0):
    """A NAS-like symmetric cell: L, bulk R‖C, gb, interlayer and charge-transfer ZARCs (Ω)."""
    w = 2 * np.pi * freq
    return (
        1j * w * 2e-7
        + 42.4 / (1 + 1j * w * 42.4 * 13.9e-12)
        + zarc(freq, 21.0, 2e6, 0.8)
        + zarc(freq, 100.0, 1e4, 0.85)
        + zarc(freq, R_ct, 300.0, 0.9)
    )


def with_noise(z, rng, sigma=0.002):
    """Gaussian noise on the real and imaginary parts, σ·|Z| each."""
    return z + sigma * np.abs(z) * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size))


def drifting_cell(freq, drift):
    """R_ct grows by the fraction ``drift`` during the sweep (time ∝ cumulative 0.25 s + 3 periods)."""
    t = np.cumsum(0.25 + 3.0 / freq)
    t = t / t[-1]
    R_ct = 40.0 * (1 + drift * t)
    return np.array([cell_impedance(np.array([f]), R_ct=r)[0] for f, r in zip(freq, R_ct, strict=True)])


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_clean_spectrum_passes(seed):
    rng = np.random.default_rng(seed)
    res = kk_test(Spectrum(FREQ, with_noise(cell_impedance(FREQ), rng)))
    assert isinstance(res, KKResult)
    assert res.passed, res.summary()
    assert res.bad_points == ()
    assert res.mu == res.mu_curve[res.M_curve == res.M][0] and np.any(res.mu_curve < 0.85)
    # residuals are at the noise level: RMS close to 0.2 % (the fit absorbs a little)
    rms = np.sqrt(np.mean(np.r_[res.res_re, res.res_im] ** 2))
    assert 0.0012 < rms < 0.0022
    assert res.pseudo_chisqr == pytest.approx(np.sum(res.res_re**2 + res.res_im**2))
    assert np.all(res.threshold >= DEFAULT_FLOOR)


def test_noise_free_voigt_circuit_is_reproduced():
    freq = np.geomspace(1e5, 0.1, 60)
    z = 10 + 100 / (1 + 1j * 2 * np.pi * freq * 1e-3) + 50 / (1 + 1j * 2 * np.pi * freq * 0.05)
    res = kk_test(Spectrum(freq, z), add_inductance=False)
    assert res.passed
    assert res.max_residual < 5e-3
    # the Voigt series reproduces the dc resistance R0 + ΣR_k = 160 Ω and R(∞) = 10 Ω
    assert res.R0 + res.R.sum() == pytest.approx(160.0, rel=2e-3)
    assert np.abs(res.z_fit[0] - z[0]) / np.abs(z[0]) < 2e-3
    assert res.L == 0.0 and np.isinf(res.C)
    # the time constants extend half a decade beyond the measured range on each side
    assert res.tau[0] == pytest.approx(1 / (2 * np.pi * 1e5) / 10**0.5)
    assert res.tau[-1] == pytest.approx(1 / (2 * np.pi * 0.1) * 10**0.5)


def test_drifting_spectrum_fails_at_low_frequency():
    rng = np.random.default_rng(7)
    res = kk_test(Spectrum(FREQ, with_noise(drifting_cell(FREQ, 0.3), rng)))
    assert not res.passed
    assert res.max_residual > 0.01
    assert "low-frequency drift" in res.reason
    # the drift is in the slow, low-frequency part of the sweep
    assert np.all(res.freq[list(res.bad_points)] < 100.0)
    assert "FAIL" in res.summary()


@pytest.mark.xfail(
    reason="known limitation: the half-decade-extended grid absorbs a 15 % R_ct drift during the sweep "
    "(the 30 % drift still fails); Z-HIT does not catch it either. In a series, the neighbouring spectra "
    "do: results.csv changed_during_sweep (tests/test_sweep_time.py)",
    strict=False,
)
def test_small_drift_is_caught_by_the_trend_test():
    """A 15 % rise of R_ct during the sweep leaves smooth residuals below the point limit."""
    rng = np.random.default_rng(21)
    res = kk_test(Spectrum(FREQ, with_noise(drifting_cell(FREQ, 0.15), rng)))
    assert not res.passed
    assert res.trend_points
    assert set(res.trend_points) <= set(res.bad_points)
    assert "systematic trend" in res.summary()
    # an explicit threshold applies the point test only
    assert (
        kk_test(
            Spectrum(FREQ, with_noise(drifting_cell(FREQ, 0.15), np.random.default_rng(21))), threshold=0.05
        ).trend_limit
        is None
    )


def test_outlier_is_flagged_at_its_index():
    rng = np.random.default_rng(11)
    z = with_noise(cell_impedance(FREQ), rng)
    z[40] += 0.04 * np.abs(z[40]) * np.exp(0.7j)
    res = kk_test(Spectrum(FREQ, z))
    assert not res.passed
    assert 40 in res.bad_points


def test_non_kk_bump_in_real_part_fails():
    rng = np.random.default_rng(12)
    z0 = cell_impedance(FREQ)
    # a Gaussian bump in Z′ only, 3 % of |Z| around 100 Hz: no causal impedance does that
    z = with_noise(z0, rng) + 0.03 * np.abs(z0) * np.exp(-0.5 * ((np.log10(FREQ) - 2.0) / 0.3) ** 2)
    res = kk_test(Spectrum(FREQ, z))
    assert not res.passed
    bad_f = res.freq[list(res.bad_points)]
    assert np.all((bad_f > 5.0) & (bad_f < 2e3))


def test_bad_points_refer_to_acquisition_order():
    rng = np.random.default_rng(13)
    z = with_noise(cell_impedance(FREQ), rng)
    z[40] += 0.04 * np.abs(z[40])
    perm = rng.permutation(FREQ.size)
    res = kk_test(Spectrum(FREQ[perm], z[perm]))
    ref = kk_test(Spectrum(FREQ, z))
    assert [perm[i] for i in res.bad_points] == sorted(perm[i] for i in res.bad_points)
    assert sorted(int(perm[i]) for i in res.bad_points) == list(ref.bad_points)
    np.testing.assert_allclose(res.res_re, ref.res_re[perm], atol=1e-12)


def test_fixed_and_per_point_thresholds():
    rng = np.random.default_rng(3)
    spec = Spectrum(FREQ, with_noise(cell_impedance(FREQ), rng))
    strict = kk_test(spec, threshold=0.001)  # 0.1 %: below the noise, must fail
    assert not strict.passed
    assert np.all(strict.threshold == 0.001)
    assert len(strict.bad_points) > 10
    per_point = np.full(FREQ.size, 0.05)
    assert kk_test(spec, threshold=per_point).passed


@pytest.mark.parametrize("bad", [0.0, -0.01, np.nan, [0.01, 0.02]])
def test_invalid_threshold_raises(bad):
    spec = Spectrum(FREQ, cell_impedance(FREQ))
    with pytest.raises(SpectrumError, match="threshold must be a positive fraction"):
        kk_test(spec, threshold=bad)


def test_series_capacitance_for_blocking_electrode():
    freq = np.geomspace(1e6, 0.1, 70)
    z = 50 + zarc(freq, 200.0, 1e4, 0.95) + 1 / (1j * 2 * np.pi * freq * 2e-6)
    spec = Spectrum(freq, z)
    with_c = kk_test(spec, add_capacitance=True)
    assert with_c.passed, with_c.summary()
    assert abs(with_c.C / 2e-6 - 1) < 0.02
    auto = kk_test(spec)  # the capacitive tail is recognised: the series C is added by itself
    assert auto.passed
    assert abs(auto.C / with_c.C - 1) < 1e-9
    # a cell that ends on the real axis (finite diffusion) gets no series C
    cell = kk_test(Spectrum(FREQ, cell_impedance(FREQ)))
    assert cell.passed
    assert np.isinf(cell.C)


def test_series_inductance_is_recovered():
    freq = np.geomspace(1e6, 1.0, 60)
    z = 5 + 1j * 2 * np.pi * freq * 1e-6 + 100 / (1 + 1j * 2 * np.pi * freq * 1e-4)
    res = kk_test(Spectrum(freq, z))
    assert res.passed
    assert abs(res.L / 1e-6 - 1) < 0.05


def test_mu_limit_controls_M():
    rng = np.random.default_rng(5)
    spec = Spectrum(FREQ, with_noise(cell_impedance(FREQ), rng))
    loose = kk_test(spec, c=0.85)
    capped = kk_test(spec, max_M=10)
    assert capped.M <= 10 and capped.M_curve.max() == 10
    assert loose.M > 10
    with pytest.raises(SpectrumError, match=r"c must be in \(0, 1\]"):
        kk_test(spec, c=1.5)
    with pytest.raises(SpectrumError, match="max_M must be a positive integer"):
        kk_test(spec, max_M=0)


def test_too_few_points_and_zero_impedance():
    with pytest.raises(SpectrumError, match="at least 3 points"):
        kk_test(Spectrum([1e3, 1e2], [10 - 1j, 11 - 2j]))
    with pytest.raises(SpectrumError, match=r"\|Z\| = 0 at indices \[1\]"):
        kk_test(Spectrum([1e3, 1e2, 10.0], [10 - 1j, 0j, 11 - 2j]))


def test_result_is_frozen_and_summarised():
    res = kk_test(Spectrum(FREQ, cell_impedance(FREQ)))
    with pytest.raises(AttributeError):
        res.passed = False  # type: ignore[misc]
    text = res.summary()
    assert text.startswith("lin-KK PASS: M = ")
    assert f"M = {res.M}" in text


def test_real_corpus_spectra_get_a_verdict(corpus):
    from eisna import read
    from eisna.errors import EisnaError

    files = sorted((corpus / "biologic-mpt").glob("*.mpt"))
    assert files
    verdicts = {}
    for path in files:
        try:
            spectra = read(path)
        except EisnaError:
            continue  # GCPL/MB files without impedance, or a reader not written yet
        for i, spec in enumerate(spectra[:5]):
            if len(spec) < 3:
                with pytest.raises(SpectrumError):
                    kk_test(spec)
                continue
            res = kk_test(spec)
            assert np.all(np.isfinite(res.res_re)) and np.all(np.isfinite(res.res_im))
            verdicts[(path.name, i)] = res
    if not verdicts:
        pytest.skip("no corpus spectrum could be read (the .mpt reader is not available yet)")
    # a clean PEIS file and a visibly broken one (Z″ jumps sign from point to point)
    if ("peis.issue_149.mpt", 0) in verdicts:
        assert verdicts[("peis.issue_149.mpt", 0)].max_residual < 0.015
    if ("peis.mpt", 0) in verdicts:
        assert not verdicts[("peis.mpt", 0)].passed
        assert verdicts[("peis.mpt", 0)].max_residual > 0.2


def test_extended_grid_residual_on_clean_corpus_spectra(corpus):
    """peis/mb.issue_149: clean spectra, largest residual 0.82–1.00 % before the grid was extended."""
    from eisna import read

    for name in ("peis.issue_149.mpt", "mb.issue_149.mpt"):
        for spec in read(corpus / "biologic-mpt" / name):
            res = kk_test(spec)
            assert res.passed, (name, res.summary())
            assert res.max_residual < 0.005, (name, res.summary())
            assert res.M in res.M_curve and res.mu_curve.size == res.chisqr_curve.size == res.M_curve.size


def test_step_at_10_hz_fails_with_a_reason(corpus):
    """peis.issue_225.ewe_ece: a real 3 % step near 10 Hz must not lift its own noise limit (it used
    to raise the limit to 4.6 % and pass)."""
    from eisna import read

    res = kk_test(read(corpus / "biologic-mpt" / "peis.issue_225.ewe_ece.mpt")[0])
    assert not res.passed
    bad_f = res.freq[list(res.bad_points)]
    assert np.any((bad_f > 5.0) & (bad_f < 20.0))
    assert "mid-frequency deviation" in res.reason
    assert any(3.0 <= float(w.split(" at ")[1].split("–")[0]) <= 15.0 for w in res.systematic)
    # the local noise is capped at 3× its median: the limit is at most 5 × 3 σ̂, far below the 5 % cap
    assert res.threshold.max() <= max(0.01, 15.0 * res.noise_level) + 1e-12
    assert res.threshold.max() < 0.03


def test_zhit_reproduces_an_rc_modulus():
    from eisna.validation import zhit

    freq = np.geomspace(1e6, 0.01, 80)
    z = 10 + 100 / (1 + 1j * 2 * np.pi * freq * 1e-3)
    res = zhit(Spectrum(freq, z))
    assert res.passed
    assert res.max_residual < 0.01
    np.testing.assert_allclose(res.modulus, np.abs(z), rtol=0.01)
    assert kk_test(Spectrum(freq, z)).zhit is not None


def test_zhit_sees_drift():
    rng = np.random.default_rng(7)
    res = kk_test(Spectrum(FREQ, with_noise(drifting_cell(FREQ, 0.3), rng)))
    assert res.zhit is not None and not res.zhit.passed
    assert np.all(res.freq[list(res.zhit.bad_points)] < 1.0)


def test_estimate_noise_matches_the_added_noise():
    from eisna.validation import estimate_noise

    rng = np.random.default_rng(3)
    sigma = estimate_noise(Spectrum(FREQ, with_noise(cell_impedance(FREQ), rng, sigma=0.004)))
    assert 0.0025 < sigma < 0.0055


def _sample_script():
    """scripts/make_sample_spectra.py as a module (its generator functions, not its files)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "make_sample_spectra.py"
    if not path.exists():
        pytest.skip(f"{path} not found")
    spec = importlib.util.spec_from_file_location("_eisna_make_sample_spectra", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_no_kk_failure_on_sample_script_spectra_with_any_seed():
    """Tier A cells at 6 times and Tier B (temperature drift within the sweep) at 2, for 20 seeds:
    KK-consistent by construction, so none may fail (one used to fail at 1.11 %)."""
    m = _sample_script()
    freq = m.FREQ_CELL_HZ
    offsets_h = m.sweep_times_s(freq) / 3600.0
    failures, worst = [], 0.0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        for system in m.CELLS:
            for t_h in (0.0, 1.0, 3.0, 8.0, 16.0, 24.0):
                truth = m.cell_truth(m.CELLS[system], t_h)["params"]
                res = kk_test(Spectrum(freq, m.add_noise(m.cell_impedance(freq, truth), freq, rng)))
                worst = max(worst, res.max_residual)
                if not res.passed:
                    failures.append((seed, system, t_h, res.reason))
                if t_h in (3.0, 16.0):
                    params = [m.tier_b_params(system, float(t_h + dt)) for dt in offsets_h]
                    zb = np.array([m.cell_impedance(freq[k : k + 1], p)[0] for k, p in enumerate(params)])
                    res = kk_test(Spectrum(freq, m.add_noise(zb, freq, rng)))
                    if not res.passed:
                        failures.append((seed, system, "tier B", t_h, res.reason))
    assert failures == []
    assert worst < 0.025
