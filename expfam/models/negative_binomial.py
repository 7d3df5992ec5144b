"""Negative binomial GLMs with θ estimated, alternating with the coefficients as
``MASS::glm.nb`` does.

1. Fit the Poisson GLM with the same link and design.
2. Estimate θ by maximum likelihood at its fitted means (Newton's method on
   θ's score, :func:`~expfam.families.negative_binomial.theta_ml`).
3. Refit the GLM with the negative binomial family at that θ (from the last
   coefficients), re-estimate θ at the new means, and repeat until θ changes
   by less than 1e-10 relative: then (β, θ) maximise the joint likelihood.
"""

from __future__ import annotations

import copy
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from expfam.errors import ConvergenceWarning, user_stacklevel
from expfam.families import NegativeBinomial, Poisson, with_link
from expfam.families.negative_binomial import theta_ml
from expfam.inference.negative_binomial import NegativeBinomialResults

if TYPE_CHECKING:
    from expfam.models.glm import GLM

__all__ = ["fit_negative_binomial"]

#: Alternations between θ and β before giving up.
MAX_ALTERNATIONS = 100
#: Relative change in θ that ends the alternation.
THETA_TOL = 1e-10


def fit_negative_binomial(model: GLM, options: dict[str, Any]) -> NegativeBinomialResults:
    """Fit ``model`` (a negative binomial family with θ unknown) by alternation.

    Parameters
    ----------
    model : GLM
    options : dict
        The arguments of :meth:`GLM.fit`, applied to every GLM fit.

    Warns
    -----
    ConvergenceWarning
        If θ does not settle (θ → ∞ means no overdispersion: use the Poisson).
    """
    link = model.family.link_name
    y = np.asarray(model.endog, dtype=np.float64)
    w = np.ones(len(y)) if model.weights is None else np.asarray(model.weights)
    poisson_model = copy.copy(model)
    poisson_model.family = with_link(Poisson(), link)
    poisson = poisson_model.fit(**options)
    mu = poisson.fittedvalues.to_numpy()
    theta, _, _ = theta_ml(y, mu, w)
    start = options.pop("start_params", None)
    fitted = copy.copy(model)
    converged = False
    res = poisson
    iteration = 0
    while iteration < MAX_ALTERNATIONS:
        iteration += 1
        fitted = copy.copy(model)
        fitted.family = with_link(NegativeBinomial(theta), link)
        res = fitted.fit(start_params=start, **options)
        start = np.nan_to_num(res.solver.coef)
        new_theta, _, ok = theta_ml(y, res.fittedvalues.to_numpy(), w, start=theta)
        change = abs(new_theta - theta)
        theta = new_theta
        if ok and change <= THETA_TOL * theta:
            converged = True
            break
    if not converged:
        warn_unsettled(theta)
    # The reported fit is the GLM at the final θ, its standard errors at θ fixed.
    if res.model.family != with_link(NegativeBinomial(theta), link):
        fitted.family = with_link(NegativeBinomial(theta), link)
        res = fitted.fit(start_params=start, **options)
    _, info = theta_ml(y, res.fittedvalues.to_numpy(), w, start=theta, max_iter=0)[0:2]
    theta_se = float(1.0 / np.sqrt(info)) if info > 0 else float("nan")
    return NegativeBinomialResults.extend(res, theta, theta_se, poisson.llf, iteration)


def warn_unsettled(theta: float) -> None:
    """Warn that θ's alternation with β ran out of rounds (θ its last value)."""
    warnings.warn(f"θ did not settle in {MAX_ALTERNATIONS} alternations (θ = {theta:.4g}); "
                  "a θ running off to infinity means no overdispersion: fit the Poisson "
                  "family instead", ConvergenceWarning, stacklevel=user_stacklevel())
