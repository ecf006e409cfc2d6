"""The normal equations of a joint fit in block-arrow form.

The joint Jacobian has dense columns for the shared (and growth-law) coordinates and one
block of columns per spectrum that touches only that spectrum's rows, so JᵀJ is an arrow:

    [ A   B₁  B₂ … ]      A  = J_gᵀ J_g           (shared × shared)
    [ B₁ᵀ D₁       ]      Bᵢ = J_g,iᵀ J_i          (shared × spectrum i)
    [ B₂ᵀ    D₂    ]      Dᵢ = J_iᵀ J_i            (spectrum i × spectrum i)

A damped Gauss–Newton step is solved through the Schur complement S = A − Σ Bᵢ Dᵢ⁻¹ Bᵢᵀ:
a few small solves per spectrum and one of the size of the shared set, so the cost grows
linearly with the number of spectra (a dense P × P factorisation grows with its cube).

Internal to :mod:`eisna.series.joint`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ArrowNormal"]


def _solve_spd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a⁻¹ b for a symmetric positive (semi)definite a (least squares when singular)."""
    if a.size == 0:
        return np.zeros_like(b)
    try:
        c = np.linalg.cholesky(a)
        y = np.linalg.solve(c, b)
        return np.linalg.solve(c.T, y)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(a, b, rcond=None)[0]


class ArrowNormal:
    """JᵀJ of a joint Jacobian (sparse, CSR) with ``n_global`` leading dense columns and
    per-spectrum column blocks ``blocks[i] = (row0, row1, col0, col1)`` (contiguous, in column
    order after the global ones)."""

    def __init__(self, jac, n_global: int, blocks: Sequence[tuple[int, int, int, int]]):
        jg = np.asarray(jac[:, :n_global].toarray())
        self.n_global = n_global
        self.a = jg.T @ jg
        self.cols: list[tuple[int, int]] = []
        self.b: list[np.ndarray] = []
        self.d: list[np.ndarray] = []
        for r0, r1, c0, c1 in blocks:
            jb = np.asarray(jac[r0:r1, c0:c1].toarray())
            self.cols.append((c0, c1))
            self.b.append(jg[r0:r1].T @ jb)
            self.d.append(jb.T @ jb)
        self.diag = np.concatenate([np.diag(self.a), *(np.diag(d) for d in self.d)])

    def solve(self, rhs: np.ndarray, damp: np.ndarray, free: np.ndarray) -> np.ndarray:
        """s solving (JᵀJ + diag(damp)) s = rhs over the ``free`` coordinates; s = 0 elsewhere."""
        ng = self.n_global
        s = np.zeros(rhs.size)
        fg = free[:ng]
        schur = (self.a + np.diag(damp[:ng]))[np.ix_(fg, fg)]
        rhs_g = rhs[:ng][fg].copy()
        parts = []
        for (c0, c1), b, d in zip(self.cols, self.b, self.d, strict=True):
            fb = free[c0:c1]
            if not fb.any():
                continue
            dd = (d + np.diag(damp[c0:c1]))[np.ix_(fb, fb)]
            bb = b[np.ix_(fg, fb)]
            sol = _solve_spd(dd, np.column_stack([bb.T, rhs[c0:c1][fb]]))
            schur -= bb @ sol[:, :-1]
            rhs_g -= bb @ sol[:, -1]
            parts.append((np.arange(c0, c1)[fb], sol))
        s_g = _solve_spd(schur, rhs_g)
        s[np.flatnonzero(fg)] = s_g
        for idx, sol in parts:
            s[idx] = sol[:, -1] - sol[:, :-1] @ s_g
        return s
