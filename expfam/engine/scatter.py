"""Per-class weighted counts, means and centred scatter: a mergeable summary.

The shared-covariance Gaussian classifier needs, for every class k, the total
weight n_k, the mean m_k and the scatter S_k = Σ w (x − m_k)(x − m_k)ᵀ.  Each
block of rows is summarised centred at its *own* class means, and two
summaries merge exactly (Chan, Golub and LeVeque's pairwise update):

    n = n_a + n_b,   m = m_a + (n_b/n)·δ,   S = S_a + S_b + (n_a n_b/n)·δδᵀ,   δ = m_b − m_a.

Nothing is ever computed as Σ w x xᵀ − n m mᵀ, which loses every digit when a
feature's mean is large next to its spread (a timestamp, a price in cents), and
the summary of all rows is the same whether the blocks are summed on threads,
on a Dask cluster or one after another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.blocks import Backend

__all__ = ["ClassScatter", "class_scatter", "fourth_moment", "summarise_block"]


@dataclass(frozen=True)
class ClassScatter:
    """Weighted count (K,), mean (K, p) and centred scatter (K, p, p) of each class."""

    weight: FloatArray
    mean: FloatArray
    scatter: FloatArray

    def __add__(self, other: ClassScatter) -> ClassScatter:
        total = self.weight + other.weight
        share = np.divide(other.weight, total, out=np.zeros_like(total), where=total > 0)
        delta = other.mean - self.mean
        mean = self.mean + share[:, None] * delta
        cross = self.weight * share  # n_a n_b / n
        scatter = (self.scatter + other.scatter
                   + cross[:, None, None] * delta[:, :, None] * delta[:, None, :])
        return ClassScatter(total, mean, scatter)

    @property
    def pooled(self) -> FloatArray:
        """The pooled within-class scatter Σ_k S_k, shape (p, p)."""
        return self.scatter.sum(axis=0)


def summarise_block(exog: FloatArray, codes: np.ndarray, weights: FloatArray | None,
                    n_classes: int) -> ClassScatter:
    """The summary of one block: per class, its rows centred at their own mean."""
    p = exog.shape[1]
    weight = np.zeros(n_classes)
    mean = np.zeros((n_classes, p))
    scatter = np.zeros((n_classes, p, p))
    for k in range(n_classes):
        rows = codes == k
        x = exog[rows]
        if x.shape[0] == 0:
            continue
        w = None if weights is None else weights[rows]
        weight[k] = x.shape[0] if w is None else w.sum()
        if weight[k] <= 0:
            continue
        mean[k] = (x.sum(axis=0) if w is None else w @ x) / weight[k]
        centred = x - mean[k]
        if w is not None:
            centred *= np.sqrt(w)[:, None]
        scatter[k] = centred.T @ centred  # symmetric rank-b update (syrk)
    return ClassScatter(weight, mean, scatter)


def class_scatter(exog: np.ndarray, codes: np.ndarray, weights: FloatArray | None,
                  n_classes: int, backend: Backend) -> ClassScatter:
    """The summary of all rows, block by block through ``backend``.

    Parameters
    ----------
    exog : ndarray, shape (n, p)
        Any real dtype; blocks are cast to float64 one at a time.
    codes : ndarray of int, shape (n,)
        Class of each row, 0 … K−1.
    weights : ndarray, shape (n,), optional
        Frequency weights.
    n_classes : int
    """
    def block(rows: slice) -> ClassScatter:
        return summarise_block(np.asarray(exog[rows], dtype=np.float64), codes[rows],
                               None if weights is None else weights[rows], n_classes)

    if exog.shape[0] == 0:
        p = exog.shape[1]
        return ClassScatter(np.zeros(n_classes), np.zeros((n_classes, p)),
                            np.zeros((n_classes, p, p)))
    return backend.map_sum(block, exog.shape[0])


def fourth_moment(exog: np.ndarray, codes: np.ndarray, weights: FloatArray | None,
                  means: FloatArray, backend: Backend) -> float:
    """Σ w·‖x − m_class‖⁴, the extra sum the Ledoit–Wolf shrinkage needs (a second pass)."""
    def block(rows: slice) -> float:
        centred = np.asarray(exog[rows], dtype=np.float64) - means[codes[rows]]
        sq = np.einsum("ij,ij->i", centred, centred) ** 2
        return float(sq.sum() if weights is None else weights[rows] @ sq)

    return float(backend.map_sum(block, exog.shape[0])) if exog.shape[0] else 0.0
