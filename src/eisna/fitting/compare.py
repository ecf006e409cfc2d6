"""Model comparison: rank circuits fitted to one spectrum by AICc and BIC, F-test nested pairs.

Parameters a fit flags as unidentifiable or at a bound cost :data:`FLAG_PENALTY` AICc units
each, so a circuit the data cannot carry does not win on a lower χ² alone.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..circuit.library import CircuitDefinition
from ..circuit.parser import Circuit
from ..spectrum import Spectrum
from .result import FitResult

__all__ = ["FLAG_PENALTY", "ComparisonResult", "FTest", "compare", "flagged_parameters"]

# AICc units charged per parameter the data do not carry (ΔAICc > 10: "essentially no support",
# Burnham & Anderson 2002)
FLAG_PENALTY = 10.0


def flagged_parameters(result: FitResult) -> set[str]:
    """Names of the parameters a fit flags ``unidentifiable:`` or ``at_bound:``."""
    out = set()
    for flag in result.flags:
        kind, _, name = flag.partition(":")
        if kind in ("unidentifiable", "at_bound") and name:
            out.add(name)
    return out


@dataclass(frozen=True, slots=True)
class FTest:
    """F-test of a simpler circuit against a more complex one that contains all its parameters.

    F = ((χ²_simple − χ²_complex)/(k_complex − k_simple)) / (χ²_complex/(N − k_complex));
    a small ``p_value`` (< ``alpha``) means the extra elements are justified.
    """

    simple: str
    complex: str
    F: float
    p_value: float
    significant: bool


@dataclass(frozen=True, eq=False)
class ComparisonResult:
    """Fits of several circuits to one spectrum, ranked by AICc (best first).

    Attributes
    ----------
    results : tuple of FitResult
        In ranking order.
    names : tuple of str
        Circuit names in ranking order.
    delta_aicc, delta_bic : tuple of float
        Differences to the best model.
    akaike_weights : tuple of float
        exp(−ΔAICc/2), normalised.
    f_tests : tuple of FTest
        For every nested pair (parameter names of one a subset of the other's).
    penalties : tuple of float
        AICc penalty of each fit for the parameters the data do not carry: ``FLAG_PENALTY``
        per parameter flagged ``unidentifiable:`` or ``at_bound:`` (ranking order). The ranking,
        ``delta_aicc`` and the weights use AICc + penalty, so a circuit the data cannot carry
        never ranks first on a lower χ² alone.
    """

    results: tuple[FitResult, ...]
    names: tuple[str, ...]
    delta_aicc: tuple[float, ...]
    delta_bic: tuple[float, ...]
    akaike_weights: tuple[float, ...]
    f_tests: tuple[FTest, ...]
    penalties: tuple[float, ...] = ()

    @property
    def best(self) -> FitResult:
        return self.results[0]

    def preferred(self, simple: str, complex: str) -> str:
        """Name of the preferred of two nested circuits: the complex one only if the F-test and
        AICc both favour it."""
        for t in self.f_tests:
            if t.simple == simple and t.complex == complex:
                i_s, i_c = self.names.index(simple), self.names.index(complex)
                return complex if t.significant and i_c < i_s else simple
        raise KeyError(f"no F-test between {simple!r} and {complex!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "ranking": [
                {
                    "name": n,
                    "aicc": r.aicc,
                    "bic": r.bic,
                    "chisqr": r.chisqr,
                    "nvarys": r.nvarys,
                    "delta_aicc": d,
                    "delta_bic": b,
                    "weight": w,
                    "penalty": p,
                    "flagged": sorted(flagged_parameters(r)),
                }
                for n, r, d, b, w, p in zip(
                    self.names,
                    self.results,
                    self.delta_aicc,
                    self.delta_bic,
                    self.akaike_weights,
                    self.penalties or (0.0,) * len(self.names),
                    strict=True,
                )
            ],
            "f_tests": [
                {
                    "simple": t.simple,
                    "complex": t.complex,
                    "F": t.F,
                    "p_value": t.p_value,
                    "significant": t.significant,
                }
                for t in self.f_tests
            ],
        }


def compare(
    spectrum: Spectrum,
    circuits: Sequence[str | os.PathLike[str] | Circuit | CircuitDefinition],
    *,
    alpha: float = 0.01,
    **options: Any,
) -> ComparisonResult:
    """Fit each circuit and rank them by AICc (BIC reported too), with F-tests for nested ones.

    Parameters
    ----------
    spectrum : Spectrum
    circuits : sequence
        Library names, circuit strings or definitions, e.g.
        ``["symmetric_cell", "symmetric_interlayer"]`` to ask "is there an interlayer arc yet?".
    alpha : float
        Significance level of the F-tests.
    **options
        Passed to :func:`eisna.fit` (weighting, fmin, fmax, geometry, ...).
    """
    from scipy.stats import f as f_dist

    from .engine import fit

    fits = [fit(spectrum, c, **options) for c in circuits]
    names = [r.circuit_name for r in fits]
    penalty = [FLAG_PENALTY * len(flagged_parameters(r)) for r in fits]
    score = [r.aicc + p for r, p in zip(fits, penalty, strict=True)]
    order = sorted(range(len(fits)), key=lambda i: score[i])
    best_aicc = score[order[0]]
    best_bic = min(r.bic for r in fits)
    raw_w = [math.exp(-(score[i] - best_aicc) / 2) for i in order]
    total = sum(raw_w)
    tests = []
    for a in fits:
        for b in fits:
            if a is b or a.nvarys >= b.nvarys or not set(a.varied) <= set(b.varied):
                continue
            n = 2 * b.n_points
            dk = b.nvarys - a.nvarys
            denom = b.chisqr / (n - b.nvarys)
            F = ((a.chisqr - b.chisqr) / dk) / denom if denom > 0 else math.inf
            p = float(f_dist.sf(F, dk, n - b.nvarys)) if math.isfinite(F) else 0.0
            tests.append(FTest(a.circuit_name, b.circuit_name, float(F), p, p < alpha))
    return ComparisonResult(
        results=tuple(fits[i] for i in order),
        names=tuple(names[i] for i in order),
        delta_aicc=tuple(score[i] - best_aicc for i in order),
        delta_bic=tuple(fits[i].bic - best_bic for i in order),
        akaike_weights=tuple(w / total for w in raw_w),
        f_tests=tuple(tests),
        penalties=tuple(penalty[i] for i in order),
    )
