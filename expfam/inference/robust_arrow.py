"""Sandwich covariances when the information is an arrow (a factor with many levels).

The sandwich is V = H⁻¹ M H⁻¹ with M = GᵀG, where G holds one row per
observation (its scaled score, ``HC0``–``HC3``) or per cluster (its score sum);
the scalings, frequency weights and small-sample factors are those of
:mod:`expfam.inference.robust`.  With H = [[A, B], [Bᵀ, D]] (D the levels'
diagonal, B of shape (k, L), k the other "small" columns) and the Schur
complement S = A − B D⁻¹ Bᵀ,

    H⁻¹ = P + U S⁻¹ Uᵀ,   P = D⁻¹ on the levels (0 elsewhere),
                          U = [I on the small columns; −D⁻¹Bᵀ on the levels]  (p × k).

So Q = G H⁻¹ = 𝒜 + ℒ Rᵀ with 𝒜 = G P (sparse: one entry per row and level),
ℒ = G U (rows × k) and R = U S⁻¹ (p × k), and V = QᵀQ:

    V = 𝒜ᵀ𝒜 + (𝒜ᵀℒ) Rᵀ + R (ℒᵀ𝒜) + R (ℒᵀℒ) Rᵀ.

A row with small columns s, value v at level c and scaled score u contributes
u·v/D_c to 𝒜 (at level c) and u·(s − v·(BD⁻¹)_c) to ℒ, so only 𝒜ᵀ𝒜 (diagonal
for HC types: each row has one level; sparse per cluster), 𝒜ᵀℒ (L × k) and ℒᵀℒ
(k × k) are kept: time O(n·k + L·k²), no p × p matrix.  For HC types they are
sums over row blocks (memory O(L·k) besides the per-row scalings); for
clusters the rows' pieces are kept (O(n·k)) and summed per cluster after the
pass.  The diagonal (standard errors) and any block of V follow exactly.

The per-row entries (:func:`row_entries`), their HC sums (:func:`hc_pieces`)
and the assembly (:func:`assemble`, :func:`cluster_sandwich`) are separate so
that a Dask partition computes its share with the same code and the client
adds the shares (:mod:`expfam.inference.dask_robust_arrow`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from expfam._typing import FloatArray
from expfam.backend.blocks import Backend
from expfam.design.matrix import StructuredDesign
from expfam.design.parts import FactorColumns
from expfam.engine.problem import GLMProblem
from expfam.engine.schur import SchurFactor
from expfam.inference.aliasing import reduce_problem
from expfam.inference.robust import (
    SMALL_SAMPLE,
    _residuals,
    check_clusters,
    meat_factor,
    n_observations,
    score_scale,
)

__all__ = ["ArrowSandwich", "SandwichPieces", "arrow_layout", "arrow_sandwich", "assemble",
           "cluster_sandwich", "grouped", "hc_pieces", "row_entries"]


@dataclass(frozen=True, repr=False)
class ArrowSandwich:
    """A sandwich covariance held by its pieces (see the module notes).

    Positions are those of the estimable coefficients (the factor's).

    Attributes
    ----------
    factor : SchurFactor
        The information H, factorised.
    s_inv : ndarray, shape (k, k)
        S⁻¹, the inverse Schur complement.
    r_big : ndarray, shape (L, k)
        The levels' rows of R = U S⁻¹, −D⁻¹Bᵀ S⁻¹.
    aa : ndarray, shape (L,)
        diag 𝒜ᵀ𝒜 (for HC types 𝒜ᵀ𝒜 is diagonal: each row has one level).
    a_matrix : sparse matrix, shape (G, L), or None
        𝒜 for clusters, whose 𝒜ᵀ𝒜 is not diagonal; its blocks are formed on
        request only (𝒜ᵀ𝒜 whole could have (levels per cluster)² entries per cluster).
    al : ndarray, shape (L, k)
        𝒜ᵀℒ.
    ll : ndarray, shape (k, k)
        ℒᵀℒ.
    scale : float
        The small-sample factor the meat is multiplied by.
    """

    factor: SchurFactor
    s_inv: FloatArray
    r_big: FloatArray
    aa: FloatArray
    a_matrix: sp.csc_matrix | None
    al: FloatArray
    ll: FloatArray
    scale: float

    @property
    def size(self) -> int:
        return int(self.factor.h.shape[0])

    def diagonal(self) -> FloatArray:
        """diag V, shape (p,): the squared standard errors."""
        h = self.factor.h
        out = np.empty(self.size)
        # Small columns: 𝒜 is zero there, so only R ℒᵀℒ Rᵀ with R = S⁻¹.
        out[h.small_cols] = np.einsum("ij,jk,ik->i", self.s_inv, self.ll, self.s_inv)
        r = self.r_big
        out[h.big_cols] = (self.aa + 2.0 * np.einsum("ij,ij->i", self.al, r)
                           + np.einsum("ij,jk,ik->i", r, self.ll, r))
        return self.scale * out

    def block(self, idx: np.ndarray) -> FloatArray:
        """V at the rows and columns ``idx`` (positions), shape (len(idx), len(idx))."""
        h = self.factor.h
        idx = np.asarray(idx, dtype=np.intp)
        small_pos = np.full(self.size, -1)
        small_pos[h.small_cols] = np.arange(len(h.small_cols))
        big_pos = np.full(self.size, -1)
        big_pos[h.big_cols] = np.arange(len(h.big_cols))
        k = len(h.small_cols)
        is_big = big_pos[idx] >= 0
        levels = big_pos[idx[is_big]]
        r = np.empty((len(idx), k))
        r[~is_big] = self.s_inv[small_pos[idx[~is_big]]]
        r[is_big] = self.r_big[levels]
        al = np.zeros((len(idx), k))
        al[is_big] = self.al[levels]
        cross = al @ r.T
        out = cross + cross.T + r @ self.ll @ r.T
        where = np.flatnonzero(is_big)
        if self.a_matrix is None:
            out[where, where] += self.aa[levels]
        else:
            cols = self.a_matrix[:, levels]
            out[np.ix_(where, where)] += (cols.T @ cols).toarray()
        return self.scale * (out + out.T) / 2.0


def arrow_sandwich(problem: GLMProblem, eta: FloatArray, factor: SchurFactor,
                   kept: np.ndarray, cov_type: str, groups: ArrayLike | None,
                   backend: Backend, frequency: FloatArray | None = None,
                   small_sample: str = "regress") -> ArrowSandwich | None:
    """The sandwich of ``cov_type`` by its pieces, or None when the design's
    columns are not laid out as ``factor``'s arrow (then the dense path applies).

    Parameters
    ----------
    problem : GLMProblem
        The model's problem, on all its columns.
    eta : ndarray, shape (n,)
    factor : SchurFactor
        The information of the estimable coefficients.
    kept : ndarray of bool, shape (p_all,)
        Which coefficients are estimable (not aliased).
    cov_type : {"HC0", "HC1", "HC2", "HC3", "cluster"}
    groups : array-like, shape (n,), optional
        Cluster labels, for ``"cluster"``.
    frequency : ndarray, shape (n,), optional
        The frequency weights.
    small_sample : {"regress", "ml"}
    """
    if small_sample not in SMALL_SAMPLE or problem.target.ndim != 1:
        return None  # categorical Hessians are never arrows; errors come from the dense path
    if not kept.all():
        # The factor is that of the fit on the estimable columns: the same design.
        problem = reduce_problem(problem, np.flatnonzero(kept))
    part = arrow_layout(problem.exog, factor)
    if part is None:
        return None
    n = n_observations(problem, frequency)
    rank = factor.h.shape[0]
    if cov_type == "cluster":
        codes, observed = check_clusters(groups, frequency, problem.n_obs)
        scale = None
        multiplier = meat_factor(cov_type, n, rank, small_sample, observed)
    else:
        codes = None
        scale = score_scale(problem, eta, factor, cov_type, frequency, backend)
        multiplier = meat_factor(cov_type, n, rank, small_sample)
    if scale is not None and np.isnan(scale).any():
        multiplier = np.nan  # a row of leverage 1: the whole sandwich is undefined, as R's
    if codes is None:
        pieces = backend.map_sum(
            lambda rows: hc_pieces(row_entries(problem, eta, factor, part, scale, rows),
                                   part.width),
            problem.n_obs)
        return assemble(factor, pieces, None, multiplier)
    # Clusters: every row's entry of 𝒜 and row of ℒ, summed per cluster after
    # the pass (per-block sums would cost O(G·k) a block with many clusters).
    k = len(factor.h.small_cols)
    a, level = np.empty(problem.n_obs), np.empty(problem.n_obs, dtype=np.intp)
    ell = np.empty((problem.n_obs, k))

    def fill(rows: slice) -> int:
        a[rows], level[rows], ell[rows] = row_entries(problem, eta, factor, part, None, rows)
        return 0

    backend.map_sum(fill, problem.n_obs)
    n_groups = int(codes.max()) + 1
    a_matrix = sp.csc_matrix((a, (codes, level)), shape=(n_groups, part.width))
    cluster_sums = grouped(codes, ell, n_groups)  # ℒ: the clusters' score sums
    return cluster_sandwich(factor, a_matrix, cluster_sums, multiplier)


def assemble(factor: SchurFactor, pieces: SandwichPieces, a_matrix: sp.csc_matrix | None,
             multiplier: float) -> ArrowSandwich:
    """The sandwich from its summed pieces (``a_matrix``: 𝒜 for clusters, else None)."""
    k = len(factor.h.small_cols)
    s_inv = factor.schur_solve(np.eye(k)) if k else np.zeros((0, 0))
    s_inv = (s_inv + s_inv.T) / 2.0
    r_big = -(factor.bd.T @ s_inv)
    return ArrowSandwich(factor, s_inv, r_big, pieces.aa, a_matrix, pieces.al, pieces.ll,
                         multiplier)


def cluster_sandwich(factor: SchurFactor, a_matrix: sp.spmatrix, cluster_sums: FloatArray,
                     multiplier: float) -> ArrowSandwich:
    """The cluster sandwich from 𝒜 (G × L, the rows' entries summed per cluster and
    level) and ℒ (G × k, the clusters' score sums over the small columns)."""
    a_matrix = sp.csc_matrix(a_matrix)
    a_matrix.sum_duplicates()  # one entry per (cluster, level)
    pieces = SandwichPieces(np.asarray(a_matrix.multiply(a_matrix).sum(axis=0)).ravel(),
                            np.asarray(a_matrix.T @ cluster_sums),
                            cluster_sums.T @ cluster_sums)
    return assemble(factor, pieces, a_matrix, multiplier)


def arrow_layout(exog: Any, factor: SchurFactor) -> FactorColumns | None:
    """The factor part of ``exog`` if its columns are the arrow's (levels: the
    diagonal part's columns; small: the others, in order), else None."""
    if not isinstance(exog, StructuredDesign) or exog.diagonal_part is None:
        return None
    d = exog.diagonal_part
    part = exog.parts[d]
    others = [i for i in range(len(exog.parts)) if i != d]
    small = (np.concatenate([exog.columns[i] for i in others]) if others
             else np.zeros(0, dtype=np.int64))
    h = factor.h
    if not (isinstance(part, FactorColumns) and part.selection
            and np.array_equal(exog.columns[d], h.big_cols)
            and np.array_equal(small, h.small_cols)):
        return None
    return part


@dataclass(frozen=True)
class SandwichPieces:
    """Rows' share of the HC sandwich's pieces (they add over blocks and partitions):
    diag 𝒜ᵀ𝒜 (L,), 𝒜ᵀℒ (L, k) and ℒᵀℒ (k, k)."""

    aa: FloatArray
    al: FloatArray
    ll: FloatArray

    @classmethod
    def zero(cls, n_levels: int, k: int) -> SandwichPieces:
        return cls(np.zeros(n_levels), np.zeros((n_levels, k)), np.zeros((k, k)))

    def __add__(self, other: SandwichPieces) -> SandwichPieces:
        return SandwichPieces(self.aa + other.aa, self.al + other.al, self.ll + other.ll)


def row_entries(problem: GLMProblem, eta: FloatArray, factor: SchurFactor,
                part: FactorColumns, scale: FloatArray | None,
                rows: slice) -> tuple[FloatArray, np.ndarray, FloatArray]:
    """The rows' entries of 𝒜, their levels, and their rows of ℒ: shapes (b,), (b,), (b, k).

    A row with scaled score u (its score per unit of x divided by ``scale``,
    shape (n,), or by 1), small columns s and value v at level c has the entry
    a = u·v/D_c of 𝒜 (0 at the reference level, which has no column) and the
    row ℓ = u·(s − v·(D⁻¹Bᵀ)_c) of ℒ.  ``problem`` and ``eta`` may be a whole
    model's or one Dask partition's: the entries are per row.
    """
    n_levels, k = part.width, len(factor.h.small_cols)
    u = _residuals(problem, eta, rows)  # w·(t − μ)·μ'/V: the score per unit of x
    if scale is not None:
        u = u / scale[rows]  # NaN where a hat value is 1, as the dense path
    level = part.codes[rows]
    inside = level < n_levels  # rows at the reference level have no level column
    v = np.ones(len(level)) if part.values is None else np.asarray(part.values[rows])
    v = np.where(inside, v, 0.0)
    col = np.minimum(level, n_levels - 1)
    a = u * v * np.take(factor.inv_d, col)
    ell = np.take(factor.level_rows, col, axis=0)  # ℓ, computed in place
    if k:
        ell *= v[:, None]
        np.subtract(problem.exog.rows(rows).dense_small(), ell,  # type: ignore[union-attr]
                    out=ell)
        ell *= u[:, None]
    return a, col, ell


def hc_pieces(entries: tuple[FloatArray, np.ndarray, FloatArray],
              n_levels: int) -> SandwichPieces:
    """The HC pieces of rows given their :func:`row_entries` (each row its own cluster)."""
    a, col, ell = entries
    return SandwichPieces(np.bincount(col, weights=a * a, minlength=n_levels).astype(np.float64),
                          grouped(col, a[:, None] * ell, n_levels), ell.T @ ell)


def grouped(codes: np.ndarray, values: FloatArray, size: int) -> FloatArray:
    """Σ of ``values`` rows per code, shape (size, c)."""
    out = np.empty((size, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(codes, weights=values[:, j], minlength=size)
    return out
