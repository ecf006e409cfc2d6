"""Weights of the stacked residual ``[w_re (Z'_fit − Z'), w_im (Z''_fit − Z'')]``.

The fit minimises χ² = Σ w_re² (Z'_fit − Z')² + w_im² (Z''_fit − Z'')², i.e. the weights
multiply the residual that is handed to the solver (which squares it once):

* ``"unit"``: w_re = w_im = 1 (Ω⁻¹ scale free; dominated by the largest impedances).
* ``"modulus"`` (default): w_re = w_im = 1/|Z| — every point counts by its relative error,
  so small high-frequency arcs weigh as much as the large low-frequency ones.
* ``"proportional"``: w_re = 1/|Z'|, w_im = 1/|Z''|, each floored at 1 % of |Z| so that points
  where a component crosses zero do not get infinite weight.

All weights use the measured Z (not the model), so they stay fixed during a fit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["WEIGHTINGS", "weights"]

WEIGHTINGS = ("unit", "modulus", "proportional")


def weights(z: np.ndarray, weighting: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (w_re, w_im) for measured impedance ``z`` (Ω)."""
    mod = np.abs(z)
    if weighting == "unit":
        one = np.ones(z.size)
        return one, one
    if weighting == "modulus":
        w = 1.0 / mod
        return w, w
    if weighting == "proportional":
        floor = 0.01 * mod
        return 1.0 / np.maximum(np.abs(z.real), floor), 1.0 / np.maximum(np.abs(z.imag), floor)
    raise ValueError(f"unknown weighting {weighting!r}; expected one of {WEIGHTINGS}")
