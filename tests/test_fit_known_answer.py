"""Known-answer sweep (issue 3): random identifiable draws of every library circuit, automatic starts.

Draws come from the documented known-answer prior of each circuit
(``eisna.fitting.synthetic.KNOWN_ANSWER_PRIORS``: dispersive arcs ≥ 1.8 decades apart inside
the window, R bands a factor ~3 wide, spike corner / Warburg peak ≥ 1.9 decades below the last
arc, capacitances in the range of their roles; pellets 7 MHz–1 Hz
at 10 points/decade, cells 10 MHz–10 mHz at 20/decade) and are accepted only if the
Cramér–Rao bound of the *truth* allows every R to 1 % and n to 0.01 at 3σ and 0.2 % noise
(:func:`~eisna.fitting.synthetic.identifiable_parameters`) — an acceptance filter on the draw,
never on the fit. For each circuit and noise level the sweep reports:

* ``optimum``: χ² of the fit ≤ χ² at the true parameters (start values, restarts, solver);
* ``criterion``: issue 3's criterion, every R within 1 % and every n within 0.01 of the truth
  (5 % and 0.03 at 1 % noise);
* ``consistent``: every R and n within max(tolerance, 3 × its reported standard error);
* ``identifiable``: share of draws whose Cramér–Rao 3σ bounds at *this* noise level lie within
  the tolerances, and the criterion rate among them;
* ``acceptance``: share of raw prior draws that passed the 0.2 % filter;
* ``role_mismatch``: share of fits flagged ``role_mismatch`` (a capacitance outside the
  Irvine–Sinclair–West range of its role) — a realism check of the prior.

``prior="wide"`` sweeps :func:`~eisna.fitting.synthetic.random_parameters` instead (arcs ~1.5
decades apart, 0.1 Hz / 1 Hz grids, no filter), where most multi-arc draws do not determine every
R to 1 % (BENCHMARKS.md). Full 200-draw report at both noise levels:
``python benchmarks/bench_fit.py --known-answer`` (``--wide`` for the wide prior).
"""

from __future__ import annotations

import numpy as np
import pytest

import eisna
from eisna.circuit import list_circuits, load_circuit
from eisna.errors import EisnaError
from eisna.fitting.synthetic import (
    FREQ_CELL,
    FREQ_PELLET,
    KNOWN_ANSWER_PRIORS,
    cramer_rao_sd,
    identifiable_parameters,
    is_identifiable,
    known_answer_parameters,
    noisy_spectrum,
    random_parameters,
)
from eisna.fitting.weights import weights

DRAWS = {0.002: 200, 0.01: 50}
TOL = {0.002: (0.01, 0.01), 0.01: (0.05, 0.03)}


def sweep(name: str, noise: float, n_draws: int, seed: int = 2024, prior: str = "known") -> dict[str, float]:
    """Fit ``n_draws`` noisy spectra of library circuit ``name`` from automatic starts; return rates.

    ``prior="known"``: the known-answer prior with its Cramér–Rao acceptance filter;
    ``prior="wide"``: :func:`random_parameters` on the 0.1 Hz / 1 Hz grids.
    """
    d = load_circuit(name)
    rng = np.random.default_rng(seed)
    r_tol, n_tol = TOL[noise]
    if prior == "wide":
        freq = FREQ_CELL if name.startswith("symmetric") else FREQ_PELLET
    else:
        freq = KNOWN_ANSWER_PRIORS[name].freq
    optimum = criterion = consistent = n_ident = criterion_ident = tries = mismatch = 0
    for _ in range(n_draws):
        if prior == "wide":
            truth, k = random_parameters(d, rng), 1
        else:
            truth, k = identifiable_parameters(d, rng)
        tries += k
        s = noisy_spectrum(d, truth, freq, noise, rng)
        r = eisna.fit(s, d)
        z = np.asarray(s.z)
        w_re, w_im = weights(z, "modulus")
        z_true = d.circuit.impedance(freq, truth)
        chi2_true = float(np.sum(((z_true - z).real * w_re) ** 2 + ((z_true - z).imag * w_im) ** 2))
        optimum += r.chisqr <= chi2_true * (1 + 1e-6)
        mismatch += "role_mismatch" in r.flags
        ident = is_identifiable(cramer_rao_sd(d, truth, freq, noise), r_tol, n_tol)
        ok = agree = True
        for n in d.param_names:
            if n.startswith("R"):
                err, tol, sd = abs(r.params[n] / truth[n] - 1), r_tol, r.stderr[n] / truth[n]
            elif n.startswith("n_"):
                err, tol, sd = abs(r.params[n] - truth[n]), n_tol, r.stderr[n]
            else:
                continue
            ok &= err <= tol
            agree &= err <= max(tol, 3 * sd) if np.isfinite(sd) else err <= tol
        criterion += ok
        consistent += agree
        n_ident += ident
        criterion_ident += ok and ident
    return {
        "optimum": optimum / n_draws,
        "criterion": criterion / n_draws,
        "consistent": consistent / n_draws,
        "identifiable": n_ident / n_draws,
        "criterion_identifiable": criterion_ident / n_ident if n_ident else float("nan"),
        "acceptance": n_draws / tries,
        "role_mismatch": mismatch / n_draws,
    }


@pytest.mark.slow
@pytest.mark.parametrize("noise", sorted(DRAWS))
@pytest.mark.parametrize("name", sorted(list_circuits()))
def test_known_answer_sweep(name, noise, capsys):
    rates = sweep(name, noise, DRAWS[noise])
    with capsys.disabled():
        print(
            f"\n{name} noise {100 * noise:.1f} %, {DRAWS[noise]} draws (prior acceptance "
            f"{100 * rates['acceptance']:.0f} %): global optimum {100 * rates['optimum']:.1f} %, "
            f"R/n criterion {100 * rates['criterion']:.1f} % (identifiable at this noise "
            f"{100 * rates['identifiable']:.0f} %, criterion among them "
            f"{100 * rates['criterion_identifiable']:.1f} %), within 3σ {100 * rates['consistent']:.1f} %, "
            f"role_mismatch {100 * rates['role_mismatch']:.0f} %"
        )
    assert rates["optimum"] >= (0.99 if noise < 0.005 else 0.95)
    assert rates["consistent"] >= (0.95 if noise < 0.005 else 0.9)
    if noise < 0.005:  # the drawn capacitances fit their roles (ISW ranges, ×10)
        assert rates["role_mismatch"] <= 0.01
    if noise < 0.005:
        assert rates["criterion"] >= 0.99  # issue 3: R within 1 %, n within 0.01 in ≥ 99 % of 200 draws
    if rates["identifiable"] >= 0.1:  # where the data permit the tolerance, the fit delivers it
        assert rates["criterion_identifiable"] >= (0.99 if DRAWS[noise] >= 100 else 0.9)


def test_identifiable_draws_pass_their_filter():
    # the acceptance filter is a property of the truth: accepted draws meet the bound, while a
    # wide-prior draw of the 4-arc cell does not (R_int, R_ct, R_W determined to only ~2-7 %)
    d = load_circuit("symmetric_interlayer")
    rng = np.random.default_rng(1)
    values, tries = identifiable_parameters(d, rng)
    sd = cramer_rao_sd(d, values, KNOWN_ANSWER_PRIORS[d.name].freq, 0.002)
    assert tries >= 1 and all(3 * s <= 0.01 for n, s in sd.items() if n.startswith(("R", "n_")))
    sd_wide = cramer_rao_sd(d, random_parameters(d, rng), FREQ_CELL, 0.002)
    assert 3 * max(sd_wide["R_int"], sd_wide["R_ct"], sd_wide["R_W"]) > 0.01
    raw = [known_answer_parameters(d, rng) for _ in range(200)]
    passed = sum(
        is_identifiable(cramer_rao_sd(d, v, KNOWN_ANSWER_PRIORS[d.name].freq, 0.002), 0.01, 0.01) for v in raw
    )
    assert 0.5 < passed / 200 < 0.85  # documented acceptance of the raw prior: ~61-66 %
    with pytest.raises(EisnaError, match=r"passed the Cramér–Rao filter .* in 3 tries"):
        identifiable_parameters(d, rng, noise=0.05, max_tries=3)


def test_interchangeable_arcs_take_their_role_order():
    # R_b‖CPE_b and R_gb‖CPE_gb in series give the same Z with their parameters exchanged; the
    # engine hands the shorter τ to the bulk role whatever labelling the solver reached
    from eisna.fitting.engine import _order_arcs_by_role, _Problem

    d = load_circuit("pellet_blocking_cpe")
    truth = {
        "L": 5.75e-8,
        "R_b": 8.51e3,
        "Q_b": 6.05e-11,
        "n_b": 0.907,
        "R_gb": 4.09e3,
        "Q_gb": 6.44e-9,
        "n_gb": 0.966,
        "Q_el": 6.04e-7,
        "n_el": 0.917,
    }
    swapped = dict(
        truth,
        R_b=truth["R_gb"],
        Q_b=truth["Q_gb"],
        n_b=truth["n_gb"],
        R_gb=truth["R_b"],
        Q_gb=truth["Q_b"],
        n_gb=truth["n_b"],
    )
    freq = KNOWN_ANSWER_PRIORS[d.name].freq
    z = d.circuit.impedance(freq, truth)
    np.testing.assert_allclose(d.circuit.impedance(freq, swapped), z, rtol=1e-12)
    prob = _Problem(d, freq, z, *weights(z, "modulus"), {})
    x = _order_arcs_by_role(prob, prob.to_x(np.array([swapped[n] for n in d.param_names])))
    got = dict(zip(d.param_names, prob.to_values(x), strict=True))
    for n in ("R_b", "Q_b", "n_b", "R_gb", "Q_gb", "n_gb"):
        assert got[n] == pytest.approx(truth[n], rel=1e-9)
    # and a full fit of that spectrum (0.2 % noise) ends with the roles right
    s = noisy_spectrum(d, truth, freq, 0.002, np.random.default_rng(2))  # a seed the solver mislabels
    r = eisna.fit(s, d)
    assert r.params["R_b"] == pytest.approx(truth["R_b"], rel=0.01)
    assert r.params["R_gb"] == pytest.approx(truth["R_gb"], rel=0.01)
    assert "role_mismatch" not in r.flags
