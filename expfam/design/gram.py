"""XᵀWX with one factor's block kept diagonal: the "arrow" form of the information.

For a design with a factor of many levels (store, zip code, patient), the
information matrix is

    H = [[A, B],        A: the other columns (p_s × p_s, dense)
         [Bᵀ, D]]       B: their cross products with the levels (p_s × L)
                        D: the weighted count per level (diagonal, L)

:class:`ArrowGram` holds those three pieces, never the L × L block.  Summaries
of row blocks add piece by piece, so the form survives the block sums.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from expfam._typing import FloatArray

__all__ = ["ArrowGram", "expand_arrow", "is_arrow"]


@dataclass(frozen=True, eq=False)
class ArrowGram:
    """A symmetric matrix with a dense block, a cross block and a diagonal block.

    Attributes
    ----------
    small : ndarray, shape (p_s, p_s)
    cross : ndarray, shape (p_s, L)
    diag : ndarray, shape (L,)
    small_cols, big_cols : ndarray of int
        Positions of the dense-block and diagonal-block coefficients in the
        full coefficient vector (of length p_s + L).
    """

    small: FloatArray
    cross: FloatArray
    diag: FloatArray
    small_cols: np.ndarray
    big_cols: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        k = len(self.small_cols) + len(self.big_cols)
        return (k, k)

    def __add__(self, other: ArrowGram) -> ArrowGram:
        return ArrowGram(self.small + other.small, self.cross + other.cross,
                         self.diag + other.diag, self.small_cols, self.big_cols)

    def __mul__(self, c: float) -> ArrowGram:
        return ArrowGram(self.small * c, self.cross * c, self.diag * c, self.small_cols,
                         self.big_cols)

    __rmul__ = __mul__

    @property
    def finite(self) -> bool:
        return bool(np.all(np.isfinite(self.small)) and np.all(np.isfinite(self.cross))
                    and np.all(np.isfinite(self.diag)))

    def diagonal(self) -> FloatArray:
        out = np.empty(self.shape[0])
        out[self.small_cols] = np.diagonal(self.small)
        out[self.big_cols] = self.diag
        return out

    def matmul(self, v: FloatArray) -> FloatArray:
        """H·v for v of shape (k,) or (k, r)."""
        vs, vb = v[self.small_cols], v[self.big_cols]
        out = np.empty_like(v, dtype=np.float64)
        out[self.small_cols] = self.small @ vs + self.cross @ vb
        out[self.big_cols] = self.cross.T @ vs + (self.diag * vb.T).T
        return out

    def dense(self) -> FloatArray:
        """The whole matrix (only for moderate sizes)."""
        k = self.shape[0]
        out = np.zeros((k, k))
        s, b = self.small_cols, self.big_cols
        out[np.ix_(s, s)] = self.small
        out[np.ix_(s, b)] = self.cross
        out[np.ix_(b, s)] = self.cross.T
        out[b, b] = self.diag
        return out

    def submatrix(self, kept: np.ndarray) -> ArrowGram:
        """The rows and columns ``kept`` (a boolean mask over all coefficients)."""
        new_pos = np.cumsum(kept) - 1
        ks = kept[self.small_cols]
        kb = kept[self.big_cols]
        return ArrowGram(self.small[np.ix_(ks, ks)], self.cross[np.ix_(ks, kb)],
                         self.diag[kb], new_pos[self.small_cols[ks]],
                         new_pos[self.big_cols[kb]])


def expand_arrow(inner: ArrowGram, kept: np.ndarray, size: int) -> ArrowGram:
    """An arrow over ``kept`` coefficients (integer positions) of ``size`` in all,
    the others with zero rows and columns (in the dense block)."""
    dropped = np.setdiff1d(np.arange(size), kept)
    k_s, d = len(inner.small_cols), len(dropped)
    small = np.zeros((k_s + d, k_s + d))
    small[:k_s, :k_s] = inner.small
    cross = np.zeros((k_s + d, len(inner.big_cols)))
    cross[:k_s] = inner.cross
    return ArrowGram(small, cross, inner.diag, np.concatenate([kept[inner.small_cols], dropped]),
                     kept[inner.big_cols])


def is_arrow(matrix: object) -> bool:
    """Whether ``matrix`` is an :class:`ArrowGram`."""
    return isinstance(matrix, ArrowGram)
