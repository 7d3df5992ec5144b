"""Solving with the Hessian: equilibrated Cholesky, and naming aliased columns.

The Hessian Xᵀ W X inherits the column scales of X, which can differ by many
orders of magnitude.  Scaling it to unit diagonal (equilibration) before the
Cholesky factorization makes the factorization's accuracy depend on the
collinearity of the columns only, not on their units.  When the factorization
fails, a column-by-column factorization finds which columns are linear
combinations of which (the later column of a collinear set is named, as in R).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

import numpy as np
from scipy import linalg

from expfam._typing import FloatArray
from expfam.backend.blocks import blas_single_threaded
from expfam.errors import RankDeficientError

__all__ = ["CholeskyFactor", "aliased_columns"]


#: A pivot of the unit-diagonal Hessian below this (a squared sine of the angle
#: between a column and the span of the others) counts as exact collinearity.
#: Forming XᵀWX squares the condition number, so this is about as fine as double
#: precision can resolve: it flags columns that are within 1e-6 of the others.
RANK_TOL = 1e-12
#: Matrices up to this order are factorised with single-threaded BLAS.
SMALL = 500


class CholeskyFactor:
    """Cholesky factorization of a symmetric positive definite matrix H.

    Parameters
    ----------
    hessian : ndarray, shape (k, k)
    names : sequence of str, optional
        Names of the k coefficients, used to say which are aliased.

    Raises
    ------
    RankDeficientError
        If H is singular to working precision; the error names the aliased
        columns and what they are combinations of.
    """

    def __init__(self, hessian: FloatArray, names: Sequence[str] | None = None) -> None:
        with _blas_for(hessian):
            self._init(hessian, names)

    def _init(self, hessian: FloatArray, names: Sequence[str] | None) -> None:
        if hessian.shape[0] == 0:  # no estimable coefficient: every solve is empty
            self._scale = np.zeros(0)
            self._factor = (np.zeros((0, 0)), True)
            return
        diag = np.diag(hessian).copy()
        if np.any(~(diag > 0)) or not np.all(np.isfinite(hessian)):
            raise _rank_error(hessian, names)
        self._scale = 1.0 / np.sqrt(diag)
        unit = hessian * np.outer(self._scale, self._scale)
        try:
            self._factor = linalg.cho_factor(unit, lower=True, check_finite=False)
        except linalg.LinAlgError:
            raise _rank_error(hessian, names) from None
        pivots = np.diag(self._factor[0]) ** 2
        if pivots.min() < RANK_TOL:
            raise _rank_error(hessian, names)

    def solve(self, b: FloatArray) -> FloatArray:
        """H⁻¹ b for b of shape (k,) or (k, r)."""
        if not len(self._scale):
            return np.array(b, dtype=np.float64)
        s = self._scale if b.ndim == 1 else self._scale[:, None]
        with _blas_for(self._factor[0]):
            return s * linalg.cho_solve(self._factor, s * b, check_finite=False)

    def log_determinant(self) -> float:
        """log|H|, from the factor of the equilibrated matrix and its scaling."""
        return float(2.0 * np.sum(np.log(np.diag(self._factor[0])))
                     - 2.0 * np.sum(np.log(self._scale)))

    def inverse(self) -> FloatArray:
        """H⁻¹, symmetrised."""
        inv = self.solve(np.eye(len(self._scale)))
        return (inv + inv.T) / 2.0

    def columns(self, idx: np.ndarray) -> FloatArray:
        """The rows and columns ``idx`` of H⁻¹, shape (len(idx), len(idx))."""
        unit = np.zeros((len(self._scale), len(idx)))
        unit[idx, np.arange(len(idx))] = 1.0
        sub = self.solve(unit)[idx]
        return (sub + sub.T) / 2.0

    def inverse_diagonal(self) -> FloatArray:
        """diag(H⁻¹): the squared standard errors when H is the information."""
        if not len(self._scale):
            return np.zeros(0)
        with _blas_for(self._factor[0]):
            lower_inv = linalg.solve_triangular(
                self._factor[0], np.eye(len(self._scale)), lower=True, check_finite=False
            )
        return self._scale**2 * np.sum(lower_inv**2, axis=0)


def _blas_for(matrix: FloatArray) -> AbstractContextManager[None]:
    """Single-threaded BLAS for small matrices, where threads only add latency."""
    return blas_single_threaded() if matrix.shape[0] <= SMALL else nullcontext()


def aliased_columns(hessian: FloatArray, names: Sequence[str]) -> dict[str, list[str]]:
    """Map each column that is a linear combination of earlier ones to those columns.

    As R's ``glm`` does, columns are taken in order and a column is aliased
    when it adds (almost) nothing to the span of the columns kept before it:
    its squared residual after projecting on them, in the metric of the
    unit-diagonal Hessian, is below :data:`RANK_TOL`.
    """
    diag = np.diag(hessian).copy()
    out: dict[str, list[str]] = {}
    kept: list[int] = []
    lower = np.zeros((0, 0))
    for j in range(len(diag)):
        if not diag[j] > 0:
            out[names[j]] = []
            continue
        with np.errstate(divide="ignore"):  # a column that vanishes: infinite scale, caught
            scale = 1.0 / np.sqrt(diag[j] * diag[kept]) if kept else np.zeros(0)
        cross = hessian[kept, j] * scale  # unit-diagonal entries (kept, j)
        z = linalg.solve_triangular(lower, cross, lower=True) if kept else cross
        residual = 1.0 - float(z @ z)
        if residual < RANK_TOL:
            coefs = linalg.solve_triangular(lower.T, z, lower=False)
            big = np.abs(coefs) > 1e-6 * max(float(np.abs(coefs).max()), 1e-300)
            out[names[j]] = [names[kept[i]] for i in np.flatnonzero(big)]
            continue
        grown = np.zeros((len(kept) + 1, len(kept) + 1))
        grown[:-1, :-1] = lower
        grown[-1, :-1] = z
        grown[-1, -1] = np.sqrt(residual)
        lower = grown
        kept.append(j)
    return out


def _rank_error(hessian: FloatArray, names: Sequence[str] | None) -> RankDeficientError:
    k = hessian.shape[0]
    labels = list(names) if names is not None else [f"column {i}" for i in range(k)]
    if not np.all(np.isfinite(hessian)):
        return RankDeficientError(
            "the Hessian has non-finite entries, so the design cannot be checked for rank; "
            "look for extreme values in the predictors"
        )
    aliased = aliased_columns(hessian, labels)
    if not aliased:  # singular only in the strict test above; report the weakest column
        aliased = {labels[int(np.argmin(np.diag(hessian)))]: []}
    parts = []
    for col, deps in aliased.items():
        if deps:
            parts.append(f"{col!r} is a linear combination of {', '.join(map(repr, deps))}")
        else:
            parts.append(f"{col!r} is zero wherever the weights are non-zero")
    return RankDeficientError(
        "the design matrix is rank deficient: "
        + "; ".join(parts)
        + ". Drop or combine the aliased columns.",
        aliased=aliased,
    )

