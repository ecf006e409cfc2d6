"""Re-seeding a suspicious minimum: escapes from the side valleys of a fit (issue 13, item 6).

A local solve from a warm start (or from the best automatic candidate) often ends in a side
valley with a recognisable shape: the diffusion element switched off (R_W on its lower bound)
or degenerate (τ_W so far outside the window that only R_W/√τ_W or only R_W acts), an arc
collapsed onto a bound (Q or C on a bound, the others taking over its share), or L and C_b
trading against each other at the high-frequency end. Every such valley has a misfit above what
the spectrum's noise explains. This module re-seeds the element that shows the symptom and
keeps whatever lowers χ²:

* :func:`symptoms` tells which series items of the circuit are suspect at a solution. Above
  the noise (misfit > 1.5 σ + 0.1 %): every diffusion element, every arc with a log parameter
  on a bound and, when L is on a bound, every arc above the window. At any misfit: a diffusion
  element switched off (a log parameter on a bound) or degenerate (apex τ > 10× outside the
  window).
* :func:`reseed_starts` builds start vectors from the solution: for every suspect item, its apex
  τ is moved to each peak of the DRT sketch and over a log grid from τ_min/10 to 10 τ_max (an
  arc also 100× above f_max), the other items keep their τ, and every linear coefficient (R, L,
  1/Q) is solved again by NNLS (:func:`eisna.fitting.start._linear_start`), so the re-seeded
  element gets the share of the data it can carry and the others give it up.
* :func:`escape` screens those starts with short Levenberg–Marquardt runs (as the automatic
  candidates of a cold start are screened), drops those whose element went back to where it
  was, continues the rest within 1.2× the current χ² to convergence and returns the lowest-χ²
  solve, or ``None`` when nothing beat the solution; a better minimum is re-seeded again
  (at most three rounds). When the symptom persists after those rounds, the suspect element
  is moved to each DRT peak together with each other free arc (that arc's τ × 0.1 and × 10,
  every linear coefficient solved again): some side valleys need two elements to move at once
  (the Warburg from the high-frequency end to the millisecond arc while another arc's τ
  shifts a decade). Only the three best of those joint moves are continued; a better minimum
  goes through the one-element rounds again.

A fit at the noise floor shows no symptom and pays nothing; the engine calls :func:`escape`
only when ``n_restarts > 0``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .solver import _above_window, _Problem, _solve
from .start import _items, _linear_start

__all__ = ["escape", "reseed_starts", "symptoms"]

# a minimum is suspect when its misfit exceeds _SUSPECT × the noise + _SUSPECT_FLOOR (relative)
_SUSPECT = 1.5
_SUSPECT_FLOOR = 1e-3
# τ grid of a re-seeded element: _GRID points from τ_min/_BEYOND to _BEYOND × τ_max (log-spaced)
_GRID = 7
# an arc is also re-seeded with its apex _ABOVE × above the highest frequency
_ABOVE = 100.0
# a diffusion element whose apex τ lies more than _OUTSIDE × outside the window is degenerate
_OUTSIDE = 10.0
_BEYOND = 10.0
# diffusion elements whose τ is π²/4 × the apex τ of their DRT peak (finite-length Warburgs, and
# TLMQ, an anomalous open Warburg: (R/y) coth y, y = (jωτ)^(n/2))
_FINITE = ("Ws", "Wo", "TLMQ")
# screening budget per re-seeded start; starts whose screened cost is within _PURSUE of the best
# cost are continued with the full budget (at most _N_PURSUE of them)
_SCREEN_NFEV = 25
_PURSUE = 1.2
_N_PURSUE = 8
# a screened start whose re-seeded element returned within a factor _SAME of its τ at the
# minimum is heading back to that minimum (not pursued)
_SAME = 2.0
# a better minimum is re-seeded again, at most _ROUNDS times in all
_ROUNDS = 3
# when one-element re-seeds leave the symptom: every other arc's τ × these factors as well
_PAIR_FACTORS = (0.1, 10.0)
# of those joint moves, the _N_PURSUE_PAIR best screened starts are continued
_N_PURSUE_PAIR = 3


def _item_tau(item: Any, values: np.ndarray) -> float:
    """τ (s) of a series item at ``values`` (1.0 for items without one)."""
    p = item.params
    if "tau" in p:
        return float(values[p["tau"]])
    if item.kind == "arc" and "C" in p:
        return float(values[p["R"]] * values[p["C"]])
    if (item.kind == "arc" or p.get("sym") == "TLMQ") and "Q" in p:  # TLMQ: τ = (R_ion Q)^(1/n)
        return float((values[p["R"]] * values[p["Q"]]) ** (1.0 / values[p["n"]]))
    return 1.0


def symptoms(problem: _Problem, x: np.ndarray, noise: float) -> list[int]:
    """Indices (into the circuit's series items) of the items to re-seed at ``x``.

    Above the noise (misfit > 1.5 σ + 0.1 %): every diffusion element, every arc with a log
    parameter on a bound and, when L is on a bound, every arc above the window. At any misfit:
    a diffusion element that is off (a log parameter on a bound) or degenerate (apex τ more
    than :data:`_OUTSIDE` × outside the window).
    """
    sigma = noise if math.isfinite(noise) else 0.0
    above_noise = problem.misfit(x) > _SUSPECT * sigma + _SUSPECT_FLOOR
    values = problem.to_values(x)
    free = {int(i) for i in problem.free_idx}
    at = {int(problem.free_idx[j]) for j in problem.at_bound(x) if problem.is_log[j]}
    tau_min = 1.0 / float(np.abs(problem.s).max())
    tau_max = 1.0 / float(np.abs(problem.s).min())
    items = _items(problem.defn)
    # the lead inductance on a bound: it trades against the arcs above the window
    l_stuck = any(it.kind == "L" and at & set(it.params.values()) for it in items)
    out = []
    for k, it in enumerate(items):
        idx = {int(i) for key, i in it.params.items() if key != "sym"}
        if not idx or not idx <= free:
            continue  # an item with a fixed parameter is the user's choice
        if it.kind == "diffusion":
            apex = _item_tau(it, values) * (4 / np.pi**2 if it.params["sym"] in _FINITE else 1.0)
            outside = not tau_min / _OUTSIDE < apex < _OUTSIDE * tau_max
            if above_noise or outside or at & idx:
                out.append(k)
        elif it.kind == "arc" and above_noise and (at & idx or (l_stuck and _item_tau(it, values) < tau_min)):
            out.append(k)
    return out


def _seed_taus(problem: _Problem, peak_taus: Sequence[float]) -> np.ndarray:
    """Apex τ values (s) to try: the peaks of the DRT sketch, and a log grid from τ_min/10 to
    10 τ_max wherever no peak lies within a factor 3."""
    tau_min = 1.0 / float(np.abs(problem.s).max())
    tau_max = 1.0 / float(np.abs(problem.s).min())
    grid = np.geomspace(tau_min / _BEYOND, _BEYOND * tau_max, _GRID)
    peaks = np.array(sorted(float(t) for t in peak_taus if t > 0))
    if peaks.size:
        near = np.min(np.abs(np.log(grid[:, None] / peaks[None, :])), axis=1) < np.log(3.0)
        grid = grid[~near]
    return np.sort(np.concatenate([peaks, grid]))


def reseed_starts(
    problem: _Problem,
    x: np.ndarray,
    items_to_move: Sequence[int],
    fixed_v: Mapping[str, float],
    peak_taus: Sequence[float] = (),
    partner_factors: Sequence[float] = (),
) -> list[tuple[int, np.ndarray]]:
    """(item index, start vector in internal coordinates) pairs: each suspect item's apex τ
    moved over :func:`_seed_taus`, every linear coefficient solved again (see the module
    docstring). With ``partner_factors`` (joint moves of two elements), the suspect item goes
    to the DRT peaks only (the grid too when there are none) and every other free arc's τ is
    in addition multiplied by each factor instead of kept."""
    items = _items(problem.defn)
    values = problem.to_values(x)
    s = problem.s
    z = problem.z
    w = 1.0 / np.abs(z)
    floor = 1e-4 * float(np.abs(z).max())
    seeds = _seed_taus(problem, peak_taus)
    if partner_factors and len(peak_taus):  # joint moves: the suspect only to the DRT peaks
        seeds = np.sort(np.array([float(t) for t in peak_taus if t > 0]))
    taus0 = [_item_tau(it, values) for it in items]
    names = problem.names
    cache: dict = {}
    out = []
    tau_above = 1.0 / (_ABOVE * float(np.abs(s).max()))
    moves: list[tuple[int, int | None, float]] = [(k, None, 1.0) for k in items_to_move]
    if partner_factors:
        free = {int(i) for i in problem.free_idx}
        partners = [j for j, it in enumerate(items) if it.kind == "arc" and set(it.params.values()) <= free]
        moves = [(k, j, f) for k in items_to_move for j in partners if j != k for f in partner_factors]
    for k, j, factor in moves:
        finite_w = items[k].kind == "diffusion" and items[k].params.get("sym") in _FINITE
        # an arc may also belong far above the window (an NAS bulk arc: then a resistance whose
        # capacitance trades against L)
        for tau in seeds if items[k].kind != "arc" else [tau_above, *seeds]:
            taus = list(taus0)
            if j is not None:
                taus[j] = taus0[j] * factor
            taus[k] = float(tau * (np.pi**2 / 4 if finite_w else 1.0))
            v, _ = _linear_start(items, taus, s, z, w, values, floor, cache)
            if v is None:
                continue
            for name, val in fixed_v.items():
                v[names.index(name)] = val
            out.append((k, problem.to_x(v)))
    return out


def escape(
    problem: _Problem,
    best: Any,
    noise: float,
    fixed_v: Mapping[str, float],
    max_nfev: int,
    peak_taus: Sequence[float] = (),
) -> Any | None:
    """A solve of lower χ² than ``best`` from re-seeded starts, or ``None``.

    ``best`` is a solve result (``x`` internal coordinates, ``cost`` = ½χ²). Each start is
    screened with :data:`_SCREEN_NFEV` evaluations; the :data:`_N_PURSUE` best screened starts
    within :data:`_PURSUE` × the best cost are continued with ``max_nfev``. A better minimum is
    itself re-seeded (up to :data:`_ROUNDS` rounds), so starts in different valleys end alike.
    If a symptom is left, one round of joint moves follows (the suspect element with each other
    free arc's τ × :data:`_PAIR_FACTORS`; the :data:`_N_PURSUE_PAIR` best continued), and a
    better minimum from it goes through the one-element rounds again.
    """
    if not symptoms(problem, best.x, noise):
        # a clean minimum (most fits): nothing to re-seed, alone or in pairs (the rounds and
        # the pair round would each find the same empty list at the same point)
        return None
    winner = _rounds(problem, best, noise, fixed_v, max_nfev, peak_taus)
    # the symptom persists: move the suspect element together with each other arc
    current = best if winner is None else winner
    paired = _escape_once(problem, current, noise, fixed_v, max_nfev, peak_taus, _PAIR_FACTORS)
    if paired is None:
        return winner
    return _rounds(problem, paired, noise, fixed_v, max_nfev, peak_taus) or paired


def _rounds(
    problem: _Problem,
    best: Any,
    noise: float,
    fixed_v: Mapping[str, float],
    max_nfev: int,
    peak_taus: Sequence[float],
) -> Any | None:
    """Re-seed one suspect element at a time, again from every better minimum (≤ _ROUNDS)."""
    winner = None
    for _ in range(_ROUNDS):
        current = best if winner is None else winner
        better = _escape_once(problem, current, noise, fixed_v, max_nfev, peak_taus)
        if better is None:
            break
        winner = better
    return winner


def _escape_once(
    problem: _Problem,
    best: Any,
    noise: float,
    fixed_v: Mapping[str, float],
    max_nfev: int,
    peak_taus: Sequence[float],
    partner_factors: Sequence[float] = (),
) -> Any | None:
    suspects = symptoms(problem, best.x, noise)
    if not suspects:
        return None
    starts = reseed_starts(problem, best.x, suspects, fixed_v, peak_taus, partner_factors)
    n_pursue = _N_PURSUE_PAIR if partner_factors else _N_PURSUE
    items = _items(problem.defn)
    values = problem.to_values(best.x)
    screened = []
    for k, x0 in starts:
        hold, x0 = _above_window(problem, x0)
        try:
            res = _solve(problem, x0, _SCREEN_NFEV, hold)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            continue
        if not np.isfinite(res.cost):
            continue
        # a start whose element went back to where it was heads for the same minimum
        back = abs(math.log(_item_tau(items[k], problem.to_values(res.x)) / _item_tau(items[k], values)))
        if res.cost < best.cost or back > math.log(_SAME):
            screened.append((float(res.cost), res, hold))
    screened.sort(key=lambda t: t[0])
    winner = None
    for cost, res, hold in screened[:n_pursue]:
        if cost > _PURSUE * best.cost:
            break
        for _ in range(2):  # budget ran out: continue towards convergence
            if res.status != 0:
                break
            res = _solve(problem, res.x, max_nfev, hold)
        if res.cost < best.cost * (1 - 1e-6) and (winner is None or res.cost < winner.cost):
            winner = res
    return winner
