"""The null model's linear predictor, as R's ``glm`` defines the null deviance."""

from __future__ import annotations

import numpy as np

from expfam._typing import FloatArray
from expfam.engine.problem import GLMProblem
from expfam.engine.solvers import irls

__all__ = ["null_eta"]


def null_eta(problem: GLMProblem, intercept: bool) -> FloatArray:
    """η of the null model: intercept only (with the offset) if the model has an
    intercept, else the offset alone.

    Parameters
    ----------
    problem : GLMProblem
    intercept : bool
        Whether the model has an intercept.

    Returns
    -------
    ndarray, shape (n,) or (n, K − 1)
    """
    if not intercept:
        return np.zeros(problem.eta_shape) if problem.offset is None else problem.offset
    if problem.offset is None:
        mean = problem.weights @ problem.target / problem.total_weight
        return np.broadcast_to(problem.family.natural_from_mean(mean), problem.eta_shape).copy()
    ones = GLMProblem(np.ones((problem.n_obs, 1)), problem.target, problem.weights,
                      problem.offset, problem.family)
    return irls(ones).eta
