"""Quadratic forms with a fit's covariance, without forming it whole.

Prediction standard errors need xᵢᵀ Cov(β̂) xᵢ for each new row, and the delta
method of marginal effects needs diag(J Cov(β̂) Jᵀ) for a Jacobian J.  Neither
needs the p × p covariance (refused beyond
:data:`~expfam.inference.cov_blocks.MAX_DENSE_COV` coefficients, a factor with
many levels):

* ``nonrobust``: Cov = φ H⁻¹, and xᵀH⁻¹x is one solve with the fit's
  factorization — for an arrow (a factor's diagonal block) by the Schur
  complement, where a row of factor codes needs only its p_s small columns
  written out (:func:`expfam.engine.kernels.quadratic_form`);
* robust and cluster types with an arrow: the sandwich V held by its pieces
  (:class:`~expfam.inference.robust_arrow.ArrowSandwich`), V = 𝒜ᵀ𝒜 + 𝒜ᵀℒRᵀ +
  Rℒᵀ𝒜 + Rℒᵀℒ Rᵀ, so with r = Rᵀx the form is
  x_bᵀ(𝒜ᵀ𝒜)x_b + 2 (x_bᵀ𝒜ᵀℒ)·r + rᵀ(ℒᵀℒ)r — for a row of factor codes with
  value v at level c simply v²(𝒜ᵀ𝒜)_cc + 2v(𝒜ᵀℒ)_c·r + rᵀ(ℒᵀℒ)r;
* otherwise (a dense robust covariance) the covariance itself, as before.

Aliased coefficients count as fixed at 0 (R's ``predict``): only the estimable
columns enter.  Rows are taken in blocks so that no dense block grows past
:data:`BLOCK_VALUES` numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.blocks import BLOCK_ROWS, row_slices
from expfam.design.matrix import StructuredDesign, as_matrix
from expfam.design.parts import FactorColumns
from expfam.engine.kernels import quadratic_form
from expfam.engine.schur import SchurFactor
from expfam.errors import InputError
from expfam.inference.cov_blocks import MAX_DENSE_COV
from expfam.inference.robust_arrow import ArrowSandwich

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["BLOCK_VALUES", "arrow_part", "coefficient_variances", "design_variances"]

#: Largest number of values of a dense block of rows (32 MB of float64).
BLOCK_VALUES = 2**22


def _slices(n_rows: int, width: int) -> list[slice]:
    return row_slices(n_rows, max(1, min(BLOCK_ROWS, BLOCK_VALUES // max(1, width))))


def arrow_part(exog: object, factor: SchurFactor) -> FactorColumns | None:
    """The factor part of ``exog`` if its columns are laid out as ``factor``'s
    arrow (the diagonal part's columns are the levels, the other parts' columns
    in order the small ones), else None."""
    if not isinstance(exog, StructuredDesign) or exog.diagonal_part is None:
        return None
    d = exog.diagonal_part
    part = exog.parts[d]
    others = [exog.columns[i] for i in range(len(exog.parts)) if i != d]
    small = np.concatenate(others) if others else np.zeros(0, dtype=np.int64)
    h = factor.h
    if (isinstance(part, FactorColumns) and part.selection
            and np.array_equal(exog.columns[d], h.big_cols)
            and np.array_equal(small, h.small_cols)):
        return part
    return None


def design_variances(res: GLMResults, exog: FloatArray | StructuredDesign) -> FloatArray:
    """xᵢᵀ Cov(β̂) xᵢ for every row of a design over the model's p columns, shape
    (k,) (a scalar family: one η per row).

    Parameters
    ----------
    res : GLMResults
    exog : ndarray or StructuredDesign, shape (k, p)
    """
    kept = res._kept
    rows: FloatArray | StructuredDesign
    if kept.all():
        rows = exog
    elif isinstance(exog, StructuredDesign):
        rows = exog.select_columns(np.flatnonzero(kept))
    else:
        rows = np.asarray(exog, dtype=np.float64)[:, kept]
    form, width = _row_form(res, rows)
    n = rows.shape[0]
    out = np.empty(n)
    for s in _slices(n, width):
        block = rows.rows(s) if isinstance(rows, StructuredDesign) else rows[s]
        out[s] = form(block)
    return out


def _row_form(res: GLMResults, rows: FloatArray | StructuredDesign
              ) -> tuple[Callable[[FloatArray | StructuredDesign], FloatArray], int]:
    """The function of a block of rows (estimable columns) giving its forms, and
    how many columns a block writes out densely."""
    factor = res._factor
    if isinstance(factor, SchurFactor) and arrow_part(rows, factor) is not None:
        width = len(factor.h.small_cols)
        if res.cov_type == "nonrobust":
            scale = res.scale
            return (lambda block: scale * quadratic_form(block, factor)), width
        sandwich = res._sandwich
        if sandwich is not None:
            return (lambda block: _sandwich_rows(sandwich, block)), width
    dense = _dense_form(res)
    return (lambda block: dense(as_matrix(block))), int(np.count_nonzero(res._kept))


def coefficient_variances(res: GLMResults, jac: FloatArray) -> FloatArray:
    """diag(J Cov(β̂) Jᵀ) for a Jacobian over the flat coefficients, shape (r,).

    Parameters
    ----------
    res : GLMResults
    jac : ndarray, shape (r, P)
        One row per derived quantity; columns the flat (class-major)
        coefficients, aliased ones included (they are ignored).
    """
    kept = res._kept
    inner = np.asarray(jac, dtype=np.float64)[:, kept]
    form = _dense_form(res)
    out = np.empty(inner.shape[0])
    for s in _slices(inner.shape[0], inner.shape[1]):
        out[s] = form(inner[s])
    return out


def _dense_form(res: GLMResults) -> Callable[[FloatArray], FloatArray]:
    """xᵀ Cov x for dense rows x over the estimable coefficients, (b, rank) → (b,)."""
    kept = res._kept
    if res.cov_type == "nonrobust":
        factor, scale = res._factor, res.scale
        return lambda x: scale * np.einsum("ij,ji->i", x, factor.solve(x.T))
    sandwich = res._sandwich
    if sandwich is not None:
        return lambda x: _sandwich_vectors(sandwich, x)
    if len(kept) > MAX_DENSE_COV:
        raise InputError(f"standard errors with cov_type={res.cov_type!r} need the "
                         f"{len(kept)} × {len(kept)} covariance here (more than "
                         f"{MAX_DENSE_COV} coefficients, and its sandwich is not held by "
                         "pieces for this fit); use cov_type='nonrobust', or a model "
                         "with fewer coefficients")
    cov = res._cov[np.ix_(kept, kept)]
    return lambda x: np.einsum("ij,jk,ik->i", x, cov, x)


def _sandwich_rows(sandwich: ArrowSandwich, rows: StructuredDesign) -> FloatArray:
    """xᵀVx for rows of factor codes laid out as the sandwich's arrow, (b,)."""
    part = rows.parts[rows.diagonal_part] if rows.diagonal_part is not None else None
    assert isinstance(part, FactorColumns)
    inside = part.codes < part.width  # the reference level has no column
    v = np.ones(rows.n_rows) if part.values is None else np.asarray(part.values, float)
    v = np.where(inside, v, 0.0)
    level = np.minimum(part.codes, part.width - 1)
    r = rows.dense_small() @ sandwich.s_inv + v[:, None] * sandwich.r_big[level]  # Rᵀx
    cross = v[:, None] * sandwich.al[level]  # x_bᵀ𝒜ᵀℒ
    quad = (v**2 * sandwich.aa[level] + 2.0 * np.einsum("ij,ij->i", cross, r)
            + np.einsum("ij,ij->i", r @ sandwich.ll, r))
    return np.asarray(sandwich.scale * quad)


def _sandwich_vectors(sandwich: ArrowSandwich, x: FloatArray) -> FloatArray:
    """xᵀVx for dense rows over the estimable coefficients, (b, rank) → (b,)."""
    h = sandwich.factor.h
    small, big = x[:, h.small_cols], x[:, h.big_cols]
    r = small @ sandwich.s_inv + big @ sandwich.r_big
    if sandwich.a_matrix is None:  # HC types: 𝒜ᵀ𝒜 is diagonal
        levels = (big * big) @ sandwich.aa
    else:  # clusters: ‖𝒜 x_b‖²
        moved = sandwich.a_matrix @ big.T
        levels = np.einsum("ij,ij->j", moved, moved)
    quad = levels + 2.0 * np.einsum("ij,ij->i", big @ sandwich.al, r) + np.einsum(
        "ij,ij->i", r @ sandwich.ll, r)
    return np.asarray(sandwich.scale * quad)
