"""A design matrix held as what its columns are: dense blocks, factor codes, sparse.

:class:`StructuredDesign` is what a formula with factors, or a scipy.sparse
matrix, becomes.  Solvers read it block by block of rows (``design.rows(s)``
is a cheap view) and only through four products, each a sum over rows:

- ``matvec(β)``: Xβ (a gather for a factor);
- ``rmatvec(r)``: Xᵀr (a grouped sum for a factor);
- ``gram(w)``: XᵀWX — a factor's own block is the weighted count per level,
  its cross product with dense columns a grouped sum.  With a factor of many
  levels the result is an :class:`~expfam.design.gram.ArrowGram` whose level
  block stays diagonal, so memory and time never grow with L²;
- ``moments(w)``: column sums, sums of squares and ranges.

A factor is never expanded into dummy columns, except in ``dense()``, which
materializes a block of rows for the few uses that need a row's whole x
(tests, small fallbacks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from expfam._typing import FloatArray
from expfam.design.gram import ArrowGram
from expfam.design.parts import DenseColumns, FactorColumns, Part, SparseColumns, cross

__all__ = ["ARROW_LEVELS", "StructuredDesign", "is_structured"]

#: A factor with selection coding and at least this many columns keeps its block
#: of XᵀWX diagonal (an ArrowGram, solved by the Schur complement); smaller ones
#: are folded into a dense Hessian, where a Cholesky factorization is cheaper
#: than the bookkeeping.
ARROW_LEVELS = 64
#: A sparse part with more columns than this asks for tall row blocks.
SPARSE_WIDE = 256


def _threads() -> int:
    from expfam.backend.blocks import default_backend

    return default_backend().n_threads


@dataclass(frozen=True, eq=False)
class StructuredDesign:
    """Columns of a model held as parts (see :mod:`expfam.design.parts`).

    Parameters
    ----------
    parts : sequence of parts
    columns : sequence of int arrays
        The design's column positions that each part fills, in the part's order.
    n_rows : int
    diagonal_part : int or None
        The part whose XᵀWX block is kept diagonal (chosen by :meth:`build`).
    """

    parts: tuple[Part, ...]
    columns: tuple[np.ndarray, ...]
    n_rows: int
    diagonal_part: int | None = None
    #: Column names, if known (a formula's terms).
    names: tuple[str, ...] | None = None

    ndim = 2

    @classmethod
    def build(cls, parts: Sequence[Part], columns: Sequence[np.ndarray],
              n_rows: int, names: Sequence[str] | None = None) -> StructuredDesign:
        """A design from its parts; the widest selection-coded factor of at least
        :data:`ARROW_LEVELS` columns keeps a diagonal block."""
        best, width = None, ARROW_LEVELS - 1
        for i, part in enumerate(parts):
            if isinstance(part, FactorColumns) and part.selection and part.width > width:
                best, width = i, part.width
        return cls(tuple(parts), tuple(np.asarray(c, dtype=np.int64) for c in columns),
                   n_rows, best, None if names is None else tuple(names))

    @classmethod
    def from_sparse(cls, matrix: sp.spmatrix) -> StructuredDesign:
        """A design of one scipy.sparse matrix (kept as CSR float64)."""
        csr = sp.csr_matrix(matrix, dtype=np.float64)
        csr.sum_duplicates()
        return cls((SparseColumns(csr),), (np.arange(csr.shape[1]),), int(csr.shape[0]))

    # -- shape ---------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_rows, self.n_cols)

    @property
    def n_cols(self) -> int:
        return int(sum(len(c) for c in self.columns))

    @property
    def size(self) -> int:
        """Stored numbers (for size limits of checks that read the whole design)."""
        total = 0
        for part in self.parts:
            if isinstance(part, DenseColumns):
                total += part.values.size
            elif isinstance(part, SparseColumns):
                total += part.matrix.nnz
            else:
                total += len(part.codes)
        return total

    @property
    def preferred_block_rows(self) -> int | None:
        """Rows per block for passes over this design: a wide sparse part's XᵀWX
        costs about as much from 8,192 rows as from all, so it asks for one
        block per thread; None keeps the backend's blocks."""
        wide = any(isinstance(p, SparseColumns) and p.width > SPARSE_WIDE for p in self.parts)
        return -(-self.n_rows // max(1, _threads())) if wide else None

    @property
    def has_sparse(self) -> bool:
        """Whether a part is a scipy.sparse matrix."""
        return any(isinstance(p, SparseColumns) for p in self.parts)

    @property
    def dense_hessian_width(self) -> int:
        """Columns of XᵀWX held densely: all but the diagonal part's."""
        big = 0 if self.diagonal_part is None else len(self.columns[self.diagonal_part])
        return self.n_cols - big

    # -- rows and columns -----------------------------------------------------
    def rows(self, rows: slice) -> StructuredDesign:
        """A block of rows (views of the parts' arrays where possible)."""
        n = len(range(*rows.indices(self.n_rows)))
        return StructuredDesign(tuple(p.rows(rows) for p in self.parts), self.columns, n,
                                self.diagonal_part, self.names)

    def take(self, idx: np.ndarray) -> StructuredDesign:
        """The given rows, copied."""
        return StructuredDesign(tuple(p.take(idx) for p in self.parts), self.columns,
                                len(idx), self.diagonal_part, self.names)

    def select_columns(self, kept: np.ndarray) -> StructuredDesign:
        """The design on the columns ``kept`` (integer positions, increasing)."""
        new_pos = np.full(self.n_cols, -1)
        new_pos[kept] = np.arange(len(kept))
        parts, columns = [], []
        for part, cols in zip(self.parts, self.columns, strict=True):
            inside = np.flatnonzero(new_pos[cols] >= 0)
            if inside.size == 0:
                continue
            parts.append(part.select(inside) if inside.size < len(cols) else part)
            columns.append(new_pos[cols[inside]])
        names = None if self.names is None else [self.names[j] for j in kept]
        return StructuredDesign.build(parts, columns, self.n_rows, names)

    # -- products ---------------------------------------------------------------
    def matvec(self, coef: FloatArray) -> FloatArray:
        """Xβ for β of shape (p,) or (p, m): shape (b,) or (b, m)."""
        out = np.zeros((self.n_rows, *coef.shape[1:]))
        for part, cols in zip(self.parts, self.columns, strict=True):
            out += part.matvec(coef[cols])
        return out

    def rmatvec(self, r: FloatArray) -> FloatArray:
        """Xᵀr for r of shape (b,) or (b, m): shape (p,) or (p, m)."""
        out = np.empty((self.n_cols, *r.shape[1:]))
        for part, cols in zip(self.parts, self.columns, strict=True):
            out[cols] = part.rmatmat(r)
        return out

    def gram(self, w: FloatArray, *, dense: bool = False) -> FloatArray | ArrowGram:
        """XᵀWX for row weights ``w`` (any sign): an (p, p) array, or an
        :class:`ArrowGram` when a factor keeps a diagonal block (unless ``dense``)."""
        big = None if dense else self.diagonal_part
        if big is None:
            return self._dense_gram(w, range(len(self.parts)), self.n_cols)
        others = [i for i in range(len(self.parts)) if i != big]
        small_cols = (np.concatenate([self.columns[i] for i in others]) if others
                      else np.zeros(0, dtype=np.int64))
        small = self._dense_gram(w, others, len(small_cols))
        big_part = self.parts[big]
        assert isinstance(big_part, FactorColumns)
        rows, start = [], 0
        for i in others:
            rows.append(cross(self.parts[i], big_part, w))
            start += len(self.columns[i])
        cross_block = (np.vstack(rows) if rows else np.zeros((0, big_part.width)))
        return ArrowGram(small, cross_block, big_part.gram_diagonal(w), small_cols,
                         self.columns[big])

    def _dense_gram(self, w: FloatArray, which: Sequence[int], size: int) -> FloatArray:
        """The Gram matrix of the parts ``which``, in their order (concatenated columns)."""
        out = np.empty((size, size))
        offsets = np.cumsum([0] + [len(self.columns[i]) for i in which])
        for a, i in enumerate(which):
            sa = slice(offsets[a], offsets[a + 1])
            out[sa, sa] = self.parts[i].gram(w)
            for b in range(a + 1, len(which)):
                sb = slice(offsets[b], offsets[b + 1])
                block = cross(self.parts[i], self.parts[which[b]], w)
                out[sa, sb] = block
                out[sb, sa] = block.T
        if list(which) == list(range(len(self.parts))):
            # Back to the design's column order.
            order = np.concatenate([self.columns[i] for i in which])
            inverse = np.empty_like(order)
            inverse[order] = np.arange(len(order))
            return out[np.ix_(inverse, inverse)]
        return out

    def moments(self, w: FloatArray) -> FloatArray:
        """Rows Σw·x, Σw·x², max x and −min x per column, shape (4, p)."""
        out = np.empty((4, self.n_cols))
        for part, cols in zip(self.parts, self.columns, strict=True):
            out[:, cols] = part.moments(w)
        return out

    def dense(self) -> FloatArray:
        """These rows with every column written out, shape (b, p).  Only for
        small blocks: a factor becomes its dummy columns here."""
        out = np.empty((self.n_rows, self.n_cols))
        for part, cols in zip(self.parts, self.columns, strict=True):
            out[:, cols] = part.dense()
        return out

    def dense_small(self) -> FloatArray:
        """The columns outside the diagonal part written out, in the order of
        :attr:`ArrowGram.small_cols`, shape (b, p_s)."""
        others = [i for i in range(len(self.parts)) if i != self.diagonal_part]
        if not others:
            return np.zeros((self.n_rows, 0))
        return np.column_stack([self.parts[i].dense() for i in others])

    def finite_rows(self) -> np.ndarray:
        """Rows whose every value is finite."""
        ok = np.ones(self.n_rows, dtype=bool)
        for part in self.parts:
            ok &= part.finite_rows()
        return ok

    def column_parts(self) -> np.ndarray:
        """The part index of each column, shape (p,)."""
        out = np.empty(self.n_cols, dtype=np.int64)
        for i, cols in enumerate(self.columns):
            out[cols] = i
        return out


def is_structured(exog: object) -> bool:
    """Whether ``exog`` is a :class:`StructuredDesign` (else an ndarray)."""
    return isinstance(exog, StructuredDesign)


def as_matrix(exog: np.ndarray | StructuredDesign, rows: slice | None = None) -> FloatArray:
    """Rows of a design (all by default) as a dense float64 array."""
    if isinstance(exog, StructuredDesign):
        return exog.rows(rows or slice(None)).dense()
    return np.asarray(exog[rows or slice(None)], dtype=np.float64)


__all__ += ["DenseColumns", "FactorColumns", "SparseColumns", "as_matrix"]
