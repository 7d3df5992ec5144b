"""The negative binomial with θ estimated, over Dask partitions (``MASS::glm.nb``).

The same alternation as in memory (:mod:`expfam.models.negative_binomial`):
the Poisson fit with the same link; θ by Newton's method at its fitted means;
the GLM refitted at that θ from the last coefficients; θ again; … until θ
changes by less than 1e-10 relative, and the reported fit is the GLM at the
final θ.  On Dask every Newton step on θ is one pass returning θ's score and
information (and the saturated loss at that θ, which the GLM solver's
deviance needs), summed over the partitions; the GLM refits are the usual
Newton passes over partitions that carry the negative binomial at the
current θ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.dask_backend import DaskBackend
from expfam.engine.dask_passes import ThetaSums, theta_part
from expfam.engine.solvers.dask_newton import DaskFit
from expfam.families import ExponentialFamily, NegativeBinomial, Poisson, with_link
from expfam.families.negative_binomial import theta_newton
from expfam.models.negative_binomial import MAX_ALTERNATIONS, THETA_TOL, warn_unsettled

__all__ = ["ThetaFit", "alternate_theta", "theta_se"]

#: Newton steps on θ at fixed means (``MASS::theta.ml``'s limit).
THETA_MAX_ITER = 100


@dataclass(frozen=True)
class ThetaFit:
    """Where the alternation ended: θ, its standard error, the coefficients."""

    theta: float
    theta_se: float
    coef: FloatArray
    saturated: float  # the saturated loss at θ
    iterations: int
    poisson_llf: float


#: solve(family, start, saturated, null) -> the fit of the GLM at that family.
Solve = Callable[[ExponentialFamily, FloatArray | None, float, FloatArray | None], DaskFit]


def alternate_theta(backend: DaskBackend, link: str, solve: Solve, poisson_saturated: float,
                    start: FloatArray | None) -> ThetaFit:
    """Alternate θ and the coefficients until θ settles (see the module notes).

    Warns
    -----
    ConvergenceWarning
        If θ does not settle (θ → ∞: no overdispersion, fit the Poisson).
    """
    # Any null coefficients make the Poisson fit's last pass sum its likelihood.
    poisson = solve(with_link(Poisson(), link), start, poisson_saturated, np.zeros(()))
    poisson_coef = poisson.solver.coef
    poisson_llf = (float("nan") if poisson.statistics is None
                   else poisson.statistics.llf)
    theta, saturated, _ = _theta_ml(backend, poisson_coef, None)
    coef: FloatArray | None = start
    converged = False
    iteration = 0
    while iteration < MAX_ALTERNATIONS:
        iteration += 1
        coef = np.nan_to_num(solve(with_link(NegativeBinomial(theta), link), coef, saturated,
                                   None).solver.coef)
        new_theta, saturated, ok = _theta_ml(backend, coef, theta)
        change = abs(new_theta - theta)
        theta = new_theta
        if ok and change <= THETA_TOL * theta:
            converged = True
            break
    if not converged:
        warn_unsettled(theta)
    assert coef is not None
    return ThetaFit(theta, float("nan"), coef, saturated, iteration, poisson_llf)


def theta_se(backend: DaskBackend, coef: FloatArray, theta: float) -> float:
    """θ's standard error from its observed information at the fit's means (a pass)."""
    sums: ThetaSums = backend.map_sum(theta_part, coef, theta,
                                      what="θ's information at the estimate")
    return float(1.0 / np.sqrt(sums.info)) if sums.info > 0 else float("nan")


def _theta_ml(backend: DaskBackend, coef: FloatArray, start: float | None
              ) -> tuple[float, float, bool]:
    """θ at the means of ``coef`` by Newton's method, one pass per step (as
    :func:`expfam.families.negative_binomial.theta_ml`); also the saturated loss at
    the last θ evaluated (within 1e-12 relative of the θ returned when converged)."""
    if start is None:  # the moment estimate Σf / Σf·(y/μ − 1)²
        first: ThetaSums = backend.map_sum(theta_part, coef, 1.0, what="θ's moment start")
        start = first.weight / first.spread if first.spread > 0 else 1e6
    saturated = [float("nan")]  # at the last θ evaluated

    def score_info(theta: float) -> tuple[float, float]:
        sums: ThetaSums = backend.map_sum(theta_part, coef, theta,
                                          what="θ's score and information")
        saturated[0] = sums.saturated
        return sums.score, sums.info

    theta, converged = theta_newton(score_info, start, THETA_MAX_ITER)
    return theta, saturated[0], converged
