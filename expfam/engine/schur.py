"""Solving with an arrow-shaped information matrix by the Schur complement.

For H = [[A, B], [Bᵀ, D]] with D diagonal (a factor's levels; see
:class:`~expfam.design.gram.ArrowGram`), the Schur complement
S = A − B D⁻¹ Bᵀ is only p_s × p_s, so

    x_s = S⁻¹ (b_s − B D⁻¹ b_l),     x_l = D⁻¹ (b_l − Bᵀ x_s)

solves H x = b in O(p_s²·L) time and O(p_s·L) memory: nothing grows with L².
The inverse's diagonal is exact, D⁻¹ + diag(D⁻¹BᵀS⁻¹BD⁻¹) on the levels, and
any set of its columns is one solve.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from expfam._typing import FloatArray
from expfam.design.gram import ArrowGram
from expfam.engine.linalg import RANK_TOL, CholeskyFactor
from expfam.errors import RankDeficientError

__all__ = ["SchurFactor", "factorize"]


class SchurFactor:
    """Factorization of an :class:`ArrowGram` (same interface as CholeskyFactor).

    Raises
    ------
    RankDeficientError
        If a level has no weight (a zero on D) — named — or S is singular.
    """

    def __init__(self, hessian: ArrowGram, names: Sequence[str] | None = None) -> None:
        self.h = hessian
        diag = hessian.diag
        big_names = None if names is None else [names[j] for j in hessian.big_cols]
        scale = np.abs(diag).max(initial=0.0)
        bad = ~(diag > RANK_TOL * max(scale, np.finfo(float).tiny)) | ~np.isfinite(diag)
        if bad.any():
            listed = ([big_names[j] for j in np.flatnonzero(bad)[:10]] if big_names else
                      [f"column {hessian.big_cols[j]}" for j in np.flatnonzero(bad)[:10]])
            more = f" and {int(bad.sum()) - 10} more" if bad.sum() > 10 else ""
            found: dict[str, list[str]] = {name: [] for name in listed}
            raise RankDeficientError(
                f"the design matrix is rank deficient: {', '.join(map(repr, listed))}{more} "
                "are zero wherever the weights are non-zero (levels with no rows of "
                "positive weight). Drop those levels.", aliased=found)
        self.inv_d = 1.0 / diag
        self.bd = hessian.cross * self.inv_d  # B D⁻¹, (p_s, L)
        # D⁻¹Bᵀ with rows contiguous, (L, p_s): per-row passes gather a level's
        # row of it, several times faster than a column of BD⁻¹.
        self.level_rows = np.ascontiguousarray(self.bd.T)
        schur = hessian.small - self.bd @ hessian.cross.T
        small_names = None if names is None else [names[j] for j in hessian.small_cols]
        self._schur = CholeskyFactor((schur + schur.T) / 2.0, small_names) if len(
            schur) else None

    def schur_solve(self, b: FloatArray) -> FloatArray:
        return b if self._schur is None else self._schur.solve(b)

    def solve(self, b: FloatArray) -> FloatArray:
        """H⁻¹ b for b of shape (k,) or (k, r)."""
        h = self.h
        bs, bl = b[h.small_cols], b[h.big_cols]
        xs = self.schur_solve(bs - self.bd @ bl)
        xl = (self.inv_d * (bl - h.cross.T @ xs).T).T
        out = np.empty(b.shape)
        out[h.small_cols] = xs
        out[h.big_cols] = xl
        return out

    def log_determinant(self) -> float:
        """log|H| = log|S| + Σ log D."""
        small = 0.0 if self._schur is None else self._schur.log_determinant()
        return float(small + np.sum(np.log(self.h.diag)))

    def inverse(self) -> FloatArray:
        """H⁻¹ in full (p × p): only for moderate p; see :meth:`columns`."""
        return self.columns(np.arange(self.h.shape[0]))

    def columns(self, idx: np.ndarray) -> FloatArray:
        """The rows and columns ``idx`` of H⁻¹, shape (len(idx), len(idx))."""
        unit = np.zeros((self.h.shape[0], len(idx)))
        unit[idx, np.arange(len(idx))] = 1.0
        sub = self.solve(unit)[idx]
        return (sub + sub.T) / 2.0

    def inverse_diagonal(self) -> FloatArray:
        """diag(H⁻¹), exact, in O(p_s²·L)."""
        h = self.h
        out = np.empty(h.shape[0])
        if self._schur is None:
            out[h.big_cols] = self.inv_d
            return out
        s_inv = self._schur.inverse()
        out[h.small_cols] = np.diagonal(s_inv)
        ut = self.bd.T  # D⁻¹ Bᵀ, (L, p_s)
        out[h.big_cols] = self.inv_d + np.einsum("ij,ij->i", ut @ s_inv, ut)
        return out


def factorize(hessian: FloatArray | ArrowGram,
              names: Sequence[str] | None = None) -> CholeskyFactor | SchurFactor:
    """Factorise a Hessian: dense by Cholesky, an arrow (a factor's diagonal block)
    by its Schur complement (:class:`SchurFactor`, with the same methods)."""
    if isinstance(hessian, ArrowGram):
        return SchurFactor(hessian, names)
    return CholeskyFactor(hessian, names)
