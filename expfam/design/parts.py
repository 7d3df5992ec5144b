"""The column blocks of a structured design: dense numbers, factor codes, sparse matrices.

A :class:`~expfam.design.matrix.StructuredDesign` is a set of parts, each
owning some columns of the model:

- :class:`DenseColumns`: an (n, d) array of numeric columns;
- :class:`FactorColumns`: a factor held as one integer code per row, with an
  optional numeric multiplier per row (a factor × numeric interaction) and
  either *selection* coding (treatment, full dummy, factor × factor
  interactions of those: each level has at most one column) or a general
  contrast matrix C (sum contrasts, Helmert, ...);
- :class:`SparseColumns`: a scipy.sparse CSR matrix.

Every part implements the products a solver needs on its own columns — Xβ,
Xᵀr, Xᵀ diag(w) M — without ever writing a factor out as dummy columns: a
factor's Xβ is a gather of per-level values, its Xᵀr a grouped sum
(``np.bincount``), its XᵀWX the weighted count per level.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
import tabmat

from expfam._typing import FloatArray

__all__ = ["DenseColumns", "FactorColumns", "Part", "SparseColumns", "cross"]


def _grouped(codes: np.ndarray, values: FloatArray, size: int) -> FloatArray:
    """Σ of ``values`` rows per code: (size,) for (b,) values, (size, c) for (b, c)."""
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=size).astype(np.float64)
    out = np.empty((size, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(codes, weights=values[:, j], minlength=size)
    return out


@dataclass(frozen=True, eq=False)
class DenseColumns:
    """Numeric columns as an array (any real dtype; cast to float64 per block)."""

    values: np.ndarray  # (n, d)

    @property
    def width(self) -> int:
        return int(self.values.shape[1])

    def rows(self, rows: slice) -> DenseColumns:
        return DenseColumns(np.asarray(self.values[rows], dtype=np.float64))

    def take(self, idx: np.ndarray) -> DenseColumns:
        return DenseColumns(np.take(self.values, idx, axis=0).astype(np.float64, copy=False))

    def select(self, cols: np.ndarray) -> DenseColumns:
        return DenseColumns(np.asarray(self.values)[:, cols])

    def matvec(self, coef: FloatArray) -> FloatArray:
        return np.asarray(self.values @ coef)

    def rmatmat(self, m: FloatArray) -> FloatArray:
        """Xᵀm for m of shape (b,) or (b, c)."""
        return np.asarray(m.T @ self.values).T if m.ndim == 2 else np.asarray(m @ self.values)

    def gram(self, w: FloatArray) -> FloatArray:
        x = self.values
        if np.all(w >= 0):  # one syrk on √w·X
            scaled = x * np.sqrt(w)[:, None]
            return np.asarray(scaled.T @ scaled)
        return np.asarray((x * w[:, None]).T @ x)

    def dense(self) -> FloatArray:
        return np.asarray(self.values, dtype=np.float64)

    def moments(self, w: FloatArray) -> FloatArray:
        x = self.values
        return np.stack([w @ x, w @ (x * x), x.max(axis=0), -x.min(axis=0)])

    def finite_rows(self) -> np.ndarray:
        return np.asarray(np.isfinite(self.values).all(axis=1))


@dataclass(frozen=True, eq=False)
class FactorColumns:
    """A factor (or an interaction of factors, times numeric values) held as codes.

    Attributes
    ----------
    codes : ndarray of int, shape (n,)
        With selection coding (``contrast is None``): the column of each row,
        or ``width`` for a row in no column (the reference level).  Otherwise
        the level of each row, 0 … L − 1.
    width : int
        Number of columns k.
    contrast : ndarray, shape (L, k), or None
        The coding matrix: row l holds the columns' values at level l.
    values : ndarray, shape (n,), or None
        Numeric multiplier per row (factor × numeric interactions).
    levels : tuple of str
        The column labels' level part, one per column (for messages).
    """

    codes: np.ndarray
    width: int
    contrast: FloatArray | None = None
    values: FloatArray | None = None
    levels: tuple[str, ...] = ()

    @property
    def selection(self) -> bool:
        """Each level in at most one column with value 1: XᵀWX is diagonal."""
        return self.contrast is None

    @property
    def n_levels(self) -> int:
        """Size of the code space (k + 1 with selection coding)."""
        return self.width + 1 if self.contrast is None else int(self.contrast.shape[0])

    def rows(self, rows: slice) -> FactorColumns:
        return replace(self, codes=self.codes[rows],
                       values=None if self.values is None else
                       np.asarray(self.values[rows], dtype=np.float64))

    def take(self, idx: np.ndarray) -> FactorColumns:
        return replace(self, codes=self.codes[idx],
                       values=None if self.values is None else self.values[idx])

    def select(self, cols: np.ndarray) -> FactorColumns:
        levels = tuple(self.levels[j] for j in cols) if self.levels else ()
        if self.contrast is not None:
            return replace(self, contrast=self.contrast[:, cols], width=len(cols),
                           levels=levels)
        remap = np.full(self.width + 1, len(cols), dtype=self.codes.dtype)
        remap[cols] = np.arange(len(cols))
        return replace(self, codes=remap[self.codes], width=len(cols), levels=levels)

    def _weights(self, w: FloatArray) -> FloatArray:
        return w if self.values is None else w * self.values

    def to_columns(self, per_level: FloatArray) -> FloatArray:
        """Per-level sums (L,) or (L, c) to per-column sums: Cᵀ·s."""
        if self.contrast is None:
            return per_level[: self.width]
        return np.asarray(self.contrast.T @ per_level)

    def per_level(self, coef: FloatArray) -> FloatArray:
        """C·β: the linear predictor's value at each level, (L,) or (L, m)."""
        if self.contrast is None:
            return np.concatenate([coef, np.zeros((1, *coef.shape[1:]))])
        return np.asarray(self.contrast @ coef)

    def matvec(self, coef: FloatArray) -> FloatArray:
        eta = self.per_level(coef)[self.codes]  # a gather
        if self.values is not None:
            eta = (eta.T * self.values).T
        return eta

    def rmatmat(self, m: FloatArray) -> FloatArray:
        """Xᵀm for m of shape (b,) or (b, c): grouped sums mapped to columns."""
        if self.values is not None:
            m = (m.T * self.values).T
        return self.to_columns(_grouped(self.codes, m, self.n_levels))

    def level_gram(self, w: FloatArray) -> FloatArray:
        """Σ w·v² per level: the diagonal of XᵀWX in level space, shape (L,)."""
        wv = w if self.values is None else w * self.values**2
        return np.bincount(self.codes, weights=wv, minlength=self.n_levels).astype(np.float64)

    def gram(self, w: FloatArray) -> FloatArray:
        diag = self.level_gram(w)
        if self.contrast is None:
            return np.diag(diag[: self.width])
        c = self.contrast
        return np.asarray((c * diag[:, None]).T @ c)

    def gram_diagonal(self, w: FloatArray) -> FloatArray:
        """diag(XᵀWX), shape (k,) (the whole of it with selection coding)."""
        diag = self.level_gram(w)
        if self.contrast is None:
            return diag[: self.width]
        return np.asarray((self.contrast**2 * diag[:, None]).sum(axis=0))

    def indicator(self, w: FloatArray | None = None) -> sp.csr_matrix:
        """The rows' level indicators times v (and w) as a sparse (b, L) matrix."""
        data = np.ones(len(self.codes)) if self.values is None else self.values.copy()
        if w is not None:
            data = data * w
        return sp.csr_matrix((data, (np.arange(len(self.codes)), self.codes)),
                             shape=(len(self.codes), self.n_levels))

    def dense(self) -> FloatArray:
        out = np.zeros((len(self.codes), self.width))
        if self.contrast is None:
            inside = self.codes < self.width
            rows = np.flatnonzero(inside)
            out[rows, self.codes[inside]] = 1.0 if self.values is None else self.values[inside]
        else:
            out[:] = self.contrast[self.codes]
            if self.values is not None:
                out *= self.values[:, None]
        return out

    def moments(self, w: FloatArray) -> FloatArray:
        first = self.rmatmat(w)
        second = self.gram_diagonal(w)
        if self.contrast is not None:
            cols = self.dense()
            return np.stack([first, second, cols.max(axis=0), -cols.min(axis=0)])
        # Selection coding: column j is v (or 1) on its rows and 0 elsewhere.
        inside = self.codes < self.width
        codes = self.codes[inside]
        v = np.ones(len(codes)) if self.values is None else self.values[inside]
        top = np.full(self.width, -np.inf)
        bottom = np.full(self.width, np.inf)
        np.maximum.at(top, codes, v)
        np.minimum.at(bottom, codes, v)
        count = np.bincount(codes, minlength=self.width)
        elsewhere = len(self.codes) > count  # some row outside the column: a 0 there
        top = np.where(elsewhere, np.maximum(top, 0.0), top)
        bottom = np.where(elsewhere, np.minimum(bottom, 0.0), bottom)
        return np.stack([first, second, top, -bottom])

    def finite_rows(self) -> np.ndarray:
        if self.values is None:
            return np.ones(len(self.codes), dtype=bool)
        return np.asarray(np.isfinite(self.values))


@dataclass(frozen=True, eq=False)
class SparseColumns:
    """Columns held as a scipy.sparse CSR matrix (float64)."""

    matrix: sp.csr_matrix

    @property
    def width(self) -> int:
        return int(self.matrix.shape[1])

    def rows(self, rows: slice) -> SparseColumns:
        """A block of rows sharing the matrix's arrays: scipy's row slicing copies
        every stored value, which cost more than the products over the block."""
        x = self.matrix
        start, stop, step = rows.indices(x.shape[0])
        if step != 1:
            return SparseColumns(sp.csr_matrix(x[rows]))
        stop = max(start, stop)
        if start == 0 and stop == x.shape[0]:
            return self
        lo, hi = x.indptr[start], x.indptr[stop]
        block = sp.csr_matrix((stop - start, x.shape[1]), dtype=x.dtype)
        # Assigned, not passed to the constructor: its format check copies any
        # view smaller than half of the array it views (scipy's _prune_array).
        block.data, block.indices = x.data[lo:hi], x.indices[lo:hi]
        block.indptr = (x.indptr[start:stop + 1] - lo).astype(x.indices.dtype, copy=False)
        # The empty matrix's cached flags would claim sorted, duplicate-free indices:
        # take the whole matrix's (computed once, cached on it) instead.
        block.has_sorted_indices = bool(x.has_sorted_indices)
        block.has_canonical_format = bool(x.has_canonical_format)
        return SparseColumns(block)

    def take(self, idx: np.ndarray) -> SparseColumns:
        return SparseColumns(self.matrix[idx])

    def select(self, cols: np.ndarray) -> SparseColumns:
        return SparseColumns(sp.csr_matrix(self.matrix[:, cols]))

    def matvec(self, coef: FloatArray) -> FloatArray:
        return np.asarray(self.matrix @ coef)

    def rmatmat(self, m: FloatArray) -> FloatArray:
        return np.asarray(self.matrix.T @ m)

    def gram(self, w: FloatArray) -> FloatArray:
        """XᵀWX by tabmat's sparse sandwich product (C++, about twice as fast as
        scipy's sparse-times-sparse product followed by ``toarray``; measured in
        docs/design.md)."""
        csc = sp.csc_matrix(self.matrix)
        return np.asarray(tabmat.SparseMatrix(csc).sandwich(np.asarray(w, dtype=np.float64)))

    def dense(self) -> FloatArray:
        return np.asarray(self.matrix.toarray())

    def moments(self, w: FloatArray) -> FloatArray:
        x = self.matrix
        k = x.shape[1]
        row_w = np.repeat(w, np.diff(x.indptr))  # each stored value's row weight
        first = np.bincount(x.indices, weights=row_w * x.data, minlength=k)
        second = np.bincount(x.indices, weights=row_w * x.data**2, minlength=k)
        top = np.full(k, -np.inf)
        bottom = np.full(k, np.inf)
        np.maximum.at(top, x.indices, x.data)
        np.minimum.at(bottom, x.indices, x.data)
        # A column with fewer stored values than rows holds zeros too.
        implicit = np.bincount(x.indices, minlength=k) < x.shape[0]
        top = np.where(implicit, np.maximum(top, 0.0), top)
        bottom = np.where(implicit, np.minimum(bottom, 0.0), bottom)
        return np.stack([first, second, top, -bottom])

    def finite_rows(self) -> np.ndarray:
        bad = ~np.isfinite(self.matrix.data)
        out = np.ones(self.matrix.shape[0], dtype=bool)
        if bad.any():
            row_of = np.repeat(np.arange(self.matrix.shape[0]), np.diff(self.matrix.indptr))
            out[row_of[bad]] = False
        return out


Part = DenseColumns | FactorColumns | SparseColumns


def cross(a: Part, b: Part, w: FloatArray) -> FloatArray:
    """Aᵀ diag(w) B for two parts over the same rows, shape (k_a, k_b)."""
    if isinstance(b, DenseColumns):
        out = a.rmatmat(b.dense() * w[:, None])
        return out if out.ndim == 2 else out[:, None]
    if isinstance(a, DenseColumns):
        return cross(b, a, w).T
    if isinstance(a, FactorColumns) and isinstance(b, FactorColumns):
        # Weighted counts of each pair of levels: one bincount on combined codes.
        wv = w
        if a.values is not None:
            wv = wv * a.values
        if b.values is not None:
            wv = wv * b.values
        pair = np.bincount(a.codes.astype(np.int64) * b.n_levels + b.codes, weights=wv,
                           minlength=a.n_levels * b.n_levels).reshape(
                               a.n_levels, b.n_levels).astype(np.float64)
        left = a.to_columns(pair)
        return np.asarray(b.to_columns(left.T).T)
    left_m = _as_sparse(a, w)
    right_m = _as_sparse(b, None)
    out = (left_m.T @ right_m).toarray()
    return np.asarray(_map_levels(b, _map_levels_left(a, out)))


def _as_sparse(part: Any, w: FloatArray | None) -> sp.csr_matrix:
    if isinstance(part, FactorColumns):
        return part.indicator(w)
    return part.matrix if w is None else sp.csr_matrix(part.matrix.multiply(w[:, None]))


def _map_levels_left(part: Any, out: FloatArray) -> FloatArray:
    return part.to_columns(out) if isinstance(part, FactorColumns) else out


def _map_levels(part: Any, out: FloatArray) -> FloatArray:
    return part.to_columns(out.T).T if isinstance(part, FactorColumns) else out
