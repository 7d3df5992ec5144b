"""The frozen input every solver works on: rows of (x, t, w, offset) and a family.

A :class:`GLMProblem` is already in the solver's normal form: ``target`` is
the per-trial sufficient statistic t = T(y)/n and ``weights`` are frequency
weights times trials, so the negative log-likelihood (without its base measure)
is the row sum ``Σ w·(A(η) − t·η)`` for every family.  Solvers read rows only
through :meth:`GLMProblem.block`, which is what lets a block run anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from expfam._typing import FloatArray
from expfam.design.matrix import StructuredDesign
from expfam.families import ExponentialFamily

__all__ = ["Block", "GLMProblem"]



@dataclass(frozen=True)
class Block:
    """One block of rows, in float64, ready for the kernels."""

    exog: FloatArray | StructuredDesign  # (b, p)
    target: FloatArray  # (b,) or (b, m)
    weights: FloatArray  # (b,)
    offset: FloatArray | None  # (b,) or (b, m)


@dataclass(frozen=True, eq=False)
class GLMProblem:
    """Solver input for a GLM; the family carries the link (a
    :class:`~expfam.families.LinkedFamily` for a non-canonical one).

    Parameters
    ----------
    exog : ndarray or StructuredDesign, shape (n, p)
        Design matrix, any real dtype and memory order; blocks are cast to
        float64 one at a time, so no full copy is made.  A
        :class:`~expfam.design.matrix.StructuredDesign` (factors as codes,
        sparse columns) is read through its own products.
    target : ndarray, shape (n,) or (n, m)
        Per-trial sufficient statistic t = T(y)/n; ``m = K − 1`` for categorical.
    weights : ndarray, shape (n,)
        Frequency weights times trials.
    offset : ndarray, shape (n,) or (n, m), or None
        Added to the linear predictor.
    family : ExponentialFamily
    """

    exog: np.ndarray | StructuredDesign
    target: FloatArray
    weights: FloatArray
    offset: FloatArray | None
    family: ExponentialFamily

    @property
    def n_obs(self) -> int:
        """Number of rows."""
        return int(self.exog.shape[0])

    @property
    def structured(self) -> bool:
        """Whether the design is a :class:`StructuredDesign` (factors, sparse)."""
        return isinstance(self.exog, StructuredDesign)

    @property
    def n_features(self) -> int:
        """Number of columns p of the design."""
        return int(self.exog.shape[1])

    @property
    def n_natural(self) -> int:
        """Natural parameters per row: 1, or K − 1 for the categorical family."""
        return 1 if self.target.ndim == 1 else int(self.target.shape[1])

    @property
    def n_params(self) -> int:
        """Length of the flattened coefficient vector, p·m."""
        return self.n_features * self.n_natural

    @property
    def coef_shape(self) -> tuple[int, ...]:
        """``(p,)`` or ``(p, m)``."""
        p = self.n_features
        return (p,) if self.target.ndim == 1 else (p, self.n_natural)

    @property
    def eta_shape(self) -> tuple[int, ...]:
        """``(n,)`` or ``(n, m)``."""
        return (self.n_obs, *self.coef_shape[1:])

    @cached_property
    def total_weight(self) -> float:
        """Σ w: the number of (trial-weighted) observations."""
        return float(np.sum(self.weights))

    @cached_property
    def saturated_loss(self) -> float:
        """The smallest attainable loss, Σ w·(row loss at ∇A(η) = t) (−Σ w·A*(t) for
        most families): the deviance is 2·(loss − this)."""
        return float(np.dot(self.weights, self.family.saturated_row_loss(self.target)))

    def flat(self, coef: np.ndarray) -> FloatArray:
        """Coefficients as one vector, class-major for categorical (column by column)."""
        return np.asarray(coef, dtype=np.float64).reshape(-1, order="F")

    def unflat(self, theta: np.ndarray) -> FloatArray:
        """Inverse of :meth:`flat`."""
        return np.asarray(theta, dtype=np.float64).reshape(self.coef_shape, order="F")

    def block(self, rows: slice) -> Block:
        """Rows ``rows`` as float64 arrays (views when the input already is float64)."""
        exog = self.exog
        return Block(
            exog=(exog.rows(rows) if isinstance(exog, StructuredDesign)
                  else np.asarray(exog[rows], dtype=np.float64)),
            target=self.target[rows],
            weights=self.weights[rows],
            offset=None if self.offset is None else self.offset[rows],
        )

    def take(self, rows: np.ndarray) -> GLMProblem:
        """The given rows, copied into contiguous float64 arrays."""
        exog = self.exog
        return GLMProblem(
            exog=(exog.take(rows) if isinstance(exog, StructuredDesign)
                  else np.take(exog, rows, axis=0).astype(np.float64, copy=False)),
            target=self.target[rows],
            weights=self.weights[rows],
            offset=None if self.offset is None else self.offset[rows],
            family=self.family,
        )
