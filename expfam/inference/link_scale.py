"""The one place where the mean meets the linear predictor, for the delta method.

Every post-fit tool that maps η to the mean — standard errors of predictions,
marginal effects, intervals built on the link scale — goes through
:func:`mean_of` and :func:`mean_derivative`.  With a canonical link the mean is
the family's ∇A(η) and its derivative the variance function V = ∇²A(η); a
non-canonical link will route these two functions through the link's inverse
and its derivative, and nothing else has to change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from expfam._typing import FloatArray
from expfam.families.linked import LinkedFamily

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["mean_derivative", "mean_of", "mean_second_derivative"]


def mean_of(res: GLMResults, eta: FloatArray) -> FloatArray:
    """μ = g⁻¹(η): (k,) for a scalar family; (k, K) class probabilities in the
    user's class order for a categorical model (η is (k, K − 1))."""
    if res.model.classes is None:
        return np.asarray(res.model.family.mean(eta), dtype=np.float64)
    return res._layout.class_probabilities(eta)


def mean_derivative(res: GLMResults, eta: FloatArray) -> FloatArray:
    """dμ/dη at η: (k,) for a scalar family (g⁻¹'(η); the variance function for a
    canonical link); for a categorical model the Jacobian of the K class
    probabilities (user's order) in the K − 1 non-reference η's, (k, K, K − 1):
    ∂p_c/∂η_j = p_c·(δ_cj − p_j)."""
    if res.model.classes is None:
        return np.asarray(res.model.family.mean_derivative(eta), dtype=np.float64)
    prob = mean_of(res, eta)  # (k, K), user's order
    labels = list(res.model.classes.labels)
    cols = [labels.index(c) for c in res.model.classes.others]  # η_j's class position
    jac = -prob[:, :, None] * prob[:, None, cols]
    for j, c in enumerate(cols):
        jac[:, c, j] += prob[:, c]
    return jac


def mean_second_derivative(res: GLMResults, eta: FloatArray) -> FloatArray:
    """d²μ/dη² at η for a scalar family, shape (k,): the link's ``mu_eta2`` for
    a non-canonical link; dV/dμ · V for a canonical one (μ' = V(η))."""
    family = res.model.family
    with np.errstate(all="ignore"):
        if isinstance(family, LinkedFamily):
            return np.asarray(family.link.mu_eta2(eta), dtype=np.float64)
        return np.asarray(family.variance_slope(family.mean(eta)) * family.variance(eta),
                          dtype=np.float64)
