"""The observed information Xᵀ diag(w·W_obs) X under a non-canonical link.

Fisher scoring fits with the expected information (weights μ'²/V); the
observed information, the negative Hessian of the log-likelihood, adds a term
in the residual t − μ (see :mod:`expfam.families.linked`), so its weights can
be negative and it is formed as (w·W·X)ᵀX rather than as a Gram of √W·X.
For a canonical link the two coincide and the solver's Hessian is returned.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.blocks import Backend
from expfam.design.gram import ArrowGram
from expfam.design.matrix import StructuredDesign
from expfam.engine.problem import GLMProblem

__all__ = ["observed_information"]


def observed_information(problem: GLMProblem, eta: FloatArray,
                         backend: Backend) -> FloatArray | ArrowGram:
    """−∂²loglik/∂β∂βᵀ at the linear predictor ``eta``, shape (p, p) (an arrow
    when a factor of the design keeps its diagonal block).

    Parameters
    ----------
    problem : GLMProblem
        A scalar family (one natural parameter per row).
    eta : ndarray, shape (n,)
        The linear predictor at the estimate.
    backend : Backend
    """
    family = problem.family

    arrow = isinstance(problem.exog, StructuredDesign) and problem.exog.diagonal_part is not None

    def block(rows: slice) -> np.ndarray | ArrowGram:
        b = problem.block(rows)
        weight = b.weights * family.observed_weight(b.target, eta[rows])
        weight = np.where(b.weights > 0, weight, 0.0)
        if arrow:
            # A factor with many levels keeps its diagonal block, as the expected
            # information does (the structured products take weights of any sign).
            return b.exog.gram(weight)  # type: ignore[union-attr]
        # The weights can be negative (far from the fit): no square roots, so a
        # structured block is written out (a block of rows at a time).
        x = b.exog.dense() if isinstance(b.exog, StructuredDesign) else b.exog
        return np.asarray((x * weight[:, None]).T @ x)

    if problem.n_obs == 0:
        return np.zeros((problem.n_features, problem.n_features))
    out = backend.map_sum(block, problem.n_obs)
    if isinstance(out, ArrowGram):
        return dataclasses.replace(out, small=(out.small + out.small.T) / 2.0)
    return (out + out.T) / 2.0
