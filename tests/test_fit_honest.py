"""Issue 13 (fit part): absolute fit quality, honest success, bounds, warm starts, honest errors."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import eisna
from eisna import Spectrum
from eisna.circuit import load_circuit, parse_circuit
from eisna.fitting.quality import estimate_noise, judge_misfit
from eisna.fitting.synthetic import KNOWN_ANSWER_PRIORS, identifiable_parameters, noisy_spectrum

sys.path.insert(0, str(Path(__file__).parent))


def _known(name: str, noise: float, seed: int) -> Spectrum:
    d = load_circuit(name)
    rng = np.random.default_rng(seed)
    truth, _ = identifiable_parameters(d, rng)
    return noisy_spectrum(d, truth, KNOWN_ANSWER_PRIORS[name].freq, noise, rng)


@pytest.mark.parametrize("noise", [0.002, 0.01, 0.03])
def test_noise_estimate_from_scatter(noise):
    for name, seed in (("pellet_blocking", 1), ("symmetric_cell", 2), ("symmetric_interlayer", 3)):
        s = _known(name, noise, seed)
        assert estimate_noise(s.freq, s.z) == pytest.approx(noise, rel=0.35), name


def test_noise_estimate_ignores_a_step_and_outliers():
    s = _known("symmetric_cell", 0.005, 4)
    z = np.array(s.z)
    z[40:] *= 1.03  # a 3 % step part-way through the sweep
    z[[10, 25]] *= 1.5  # two outliers
    assert estimate_noise(s.freq, z) < 0.008


def test_pure_noise_is_never_a_good_fit():
    rng = np.random.default_rng(0)
    f = np.geomspace(1e6, 1, 50)
    s = Spectrum(f, 100 * (rng.standard_normal(50) + 1j * rng.standard_normal(50)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for circuit in ("pellet_blocking", "L0-R0-p(R1,CPE1)-CPE2"):
            r = eisna.fit(s, circuit)
            assert "poor_fit" in r.flags, circuit
            assert any("mostly noise" in w for w in r.warnings)


def test_good_fit_at_one_percent_noise_not_flagged():
    for name, seed in (("symmetric_cell", 5), ("pellet_blocking_cpe", 6), ("symmetric_simple", 7)):
        r = eisna.fit(_known(name, 0.01, seed), name)
        assert 0.006 < r.meta["misfit"] < 0.014, name
        assert "poor_fit" not in r.flags, name
        assert r.meta["noise"] == pytest.approx(0.01, rel=0.35)


def test_missing_element_is_a_poor_fit():
    # two arcs and a spike fitted without the second arc: misfit ≫ the 0.2 % noise
    s = _known("symmetric_cell", 0.002, 8)
    r = eisna.fit(s, "L0-R0-p(R1,CPE1)-CPE2")
    assert "poor_fit" in r.flags
    assert judge_misfit(0.05, 0.002) is not None and judge_misfit(0.009, 0.01) is None


def test_budget_exhausted_is_a_flag_not_a_failure():
    rng = np.random.default_rng(0)
    d = load_circuit("symmetric_interlayer")
    exhausted = []
    for _ in range(3):
        truth, _ = identifiable_parameters(d, rng)
        s = noisy_spectrum(d, truth, KNOWN_ANSWER_PRIORS[d.name].freq, 0.01, rng)
        r = eisna.fit(s, d, max_nfev=2, n_restarts=0, drt_fallback=False)
        assert r.success
        if "budget_exhausted" in r.flags:
            assert "evaluation budget exhausted" in r.message
            exhausted.append(s)
        else:
            assert "exceeded" not in r.message
    assert exhausted  # the second draw of this seed stops on the budget
    full = eisna.fit(exhausted[0], d)
    assert full.success and "budget_exhausted" not in full.flags and "exceeded" not in full.message


def test_compare_penalises_parameters_the_data_cannot_carry():
    rng = np.random.default_rng(0)
    f = np.geomspace(1e6, 0.1, 19)
    c = parse_circuit("R0-p(R1,CPE1)-p(R2,CPE2)-CPE3")
    z = c.impedance(f, [30, 200, (1 / (2 * np.pi * 1e4)) ** 0.85 / 200, 0.85, 300,
                        (1 / (2 * np.pi * 10)) ** 0.9 / 300, 0.9, 1e-3, 0.8])
    z = z + 0.005 * np.abs(z) * (rng.standard_normal(19) + 1j * rng.standard_normal(19))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = eisna.compare(Spectrum(f, z), ["symmetric_interlayer", "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"])
    assert cmp.names[0] == "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"
    i = cmp.names.index("symmetric_interlayer")
    flagged = cmp.to_dict()["ranking"][i]["flagged"]
    assert len(flagged) >= 3
    assert cmp.penalties[i] == 10.0 * len(flagged)
    assert cmp.delta_aicc[i] == pytest.approx(cmp.results[i].aicc + cmp.penalties[i] - cmp.results[0].aicc)
