"""Known-answer sweep: random identifiable draws of every library circuit, automatic start values.

For each circuit and noise level this reports three rates over the draws:

* ``optimum``: the fit reached the global optimum, i.e. its χ² is no larger than χ² at the
  true parameters (the engine's own job: start values, restarts, solver);
* ``criterion``: issue 3's criterion, every R within 1 % and every n within 0.01 of the truth
  (5 % and 0.03 at 1 % noise);
* ``consistent``: every R and n within max(tolerance, 3 × its reported standard error), i.e.
  the truth lies inside the stated uncertainty.

The criterion also depends on how well the data determine the parameters: for the 4-arc
symmetric cells the Cramér–Rao bound of R_int, R_ct or R_W at 0.2 % noise usually exceeds
0.33 %, so no fitter can meet it on those draws. The sweep therefore also reports the share of
draws whose Cramér–Rao 3σ bounds lie within the tolerances ("identifiable") and the criterion
rate among them, which is asserted (≥ 99 %) wherever such draws are at least 10 %.
Full 200-draw report at both noise levels: ``python benchmarks/bench_fit.py --known-answer``.
"""

from __future__ import annotations

import numpy as np
import pytest

import eisna
from eisna.circuit import list_circuits, load_circuit
from eisna.fitting.engine import _Problem
from eisna.fitting.synthetic import FREQ_CELL, FREQ_PELLET, noisy_spectrum, random_parameters
from eisna.fitting.weights import weights

DRAWS = {0.002: 200, 0.01: 20}
TOL = {0.002: (0.01, 0.01), 0.01: (0.05, 0.03)}
CRITERION_ASSERTED = {"pellet_merged"}  # circuits whose draws are identifiable to 1 % at 0.2 % noise


def sweep(name: str, noise: float, n_draws: int, seed: int = 2024) -> dict[str, float]:
    d = load_circuit(name)
    freq = FREQ_CELL if name.startswith("symmetric") else FREQ_PELLET
    rng = np.random.default_rng(seed)
    r_tol, n_tol = TOL[noise]
    optimum = criterion = consistent = n_ident = criterion_ident = 0
    for _ in range(n_draws):
        truth = random_parameters(d, rng)
        s = noisy_spectrum(d, truth, freq, noise, rng)
        r = eisna.fit(s, d)
        z = np.asarray(s.z)
        prob = _Problem(d, np.asarray(s.freq), z, *weights(z, "modulus"), {})
        x_true = prob.to_x(np.array([truth[n] for n in d.param_names]))
        res_true = prob.residual(x_true)
        optimum += r.chisqr <= float(res_true @ res_true) * (1 + 1e-6)
        # Cramér–Rao bound at the truth: can these data give every R to r_tol and n to n_tol (3σ)?
        jac = prob.jacobian(x_true)
        sd = np.sqrt(np.abs(np.diag(np.linalg.pinv(jac.T @ jac)))) * noise
        ident = all(
            3 * (sd[j] * np.log(10) if prob.is_log[j] else sd[j]) <= (r_tol if n.startswith("R") else n_tol)
            for j, n in enumerate(d.param_names[i] for i in prob.free_idx) if n.startswith(("R", "n_"))
        )
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
    return {"optimum": optimum / n_draws, "criterion": criterion / n_draws,
            "consistent": consistent / n_draws, "identifiable": n_ident / n_draws,
            "criterion_identifiable": criterion_ident / n_ident if n_ident else float("nan")}


@pytest.mark.slow
@pytest.mark.parametrize("noise", sorted(DRAWS))
@pytest.mark.parametrize("name", sorted(list_circuits()))
def test_known_answer_sweep(name, noise, capsys):
    rates = sweep(name, noise, DRAWS[noise])
    with capsys.disabled():
        print(f"\n{name} noise {100 * noise:.1f} %, {DRAWS[noise]} draws: global optimum "
              f"{100 * rates['optimum']:.1f} %, R/n criterion {100 * rates['criterion']:.1f} % "
              f"(identifiable draws {100 * rates['identifiable']:.0f} %, criterion among them "
              f"{100 * rates['criterion_identifiable']:.1f} %), within 3σ {100 * rates['consistent']:.1f} %")
    assert rates["optimum"] >= (0.99 if noise < 0.005 else 0.95)
    assert rates["consistent"] >= (0.95 if noise < 0.005 else 0.9)
    if name in CRITERION_ASSERTED:
        assert rates["criterion"] >= 0.99
    if rates["identifiable"] >= 0.1:  # where the data permit 1 %, the fit delivers it
        assert rates["criterion_identifiable"] >= 0.99
