"""Gaussian family: T(y) = y, A(η) = η²/2, mean η, unit variance; identity link.

Written with unit variance, N(η, 1) is a natural exponential family with
h(y) = exp(−y²/2)/√(2π).  A variance σ² ≠ 1 is a *dispersion* φ = σ² that
scales the log-likelihood (a GLM's estimates do not depend on it): the results
estimate it, as R's ``glm`` does, by the Pearson statistic over the residual
degrees of freedom, and scale standard errors and tests by it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from expfam.families.base import ExponentialFamily, FloatArray, as_float

__all__ = ["Gaussian"]


class Gaussian(ExponentialFamily):
    """Real response y with mean η (linear regression, fit by least squares).

    The family's own likelihood (:meth:`loglike`) is that of unit variance;
    :class:`~expfam.inference.results.GLMResults` reports the likelihood with the
    dispersion at its maximum-likelihood value, as R's ``logLik`` does.
    """

    name = "gaussian"
    link_name = "identity"
    estimated_dispersion = True
    links = ("identity", "log", "inverse")
    natural_link = "identity"

    def mean_variance(self, mu: ArrayLike) -> FloatArray:
        return np.ones_like(as_float(mu))

    def variance_slope(self, mu: ArrayLike) -> FloatArray:
        return np.zeros_like(as_float(mu))

    def profile_loglike(self, y: FloatArray, mu: FloatArray, weights: FloatArray | None,
                        deviance: float) -> float:
        # R's gaussian()$aic: at φ = deviance/n the squared residuals sum to n·φ.
        n = float(len(y) if weights is None else np.sum(weights))
        with np.errstate(divide="ignore"):  # a perfect fit: +inf, warned about by fit()
            return float(-0.5 * n * (np.log(2.0 * np.pi * deviance / n) + 1.0))

    def sufficient_stat(self, y: ArrayLike) -> FloatArray:
        return as_float(y)

    def log_partition(self, eta: ArrayLike) -> FloatArray:
        eta_arr = as_float(eta)
        return 0.5 * eta_arr * eta_arr

    def mean(self, eta: ArrayLike) -> FloatArray:
        return as_float(eta).copy()

    def variance(self, eta: ArrayLike) -> FloatArray:
        return np.ones_like(as_float(eta))

    def cumulants(self, eta: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        eta_arr = as_float(eta)
        return 0.5 * eta_arr * eta_arr, eta_arr, np.ones_like(eta_arr)

    def natural_from_mean(self, mu: ArrayLike) -> FloatArray:
        return as_float(mu).copy()

    def dual_log_partition(self, mu: ArrayLike) -> FloatArray:
        mu_arr = as_float(mu)
        return 0.5 * mu_arr * mu_arr

    # The solvers' loss shifted by t²/2, i.e. (η − t)²/2, and its saturated value
    # 0: the generic η²/2 − t·η cancels to nothing when the response is large
    # (y ≈ 1e10 leaves no digits of a deviance of order 100).
    def row_loss(self, t: FloatArray, eta: FloatArray, log_partition: FloatArray) -> FloatArray:
        r = eta - t
        return 0.5 * r * r

    def saturated_row_loss(self, t: FloatArray) -> FloatArray:
        return np.zeros(np.shape(t))

    # (y − η)²/2 directly: the generic y·η − η²/2 − y²/2 cancels for large y.
    def unit_deviance(self, t: ArrayLike, eta: ArrayLike) -> FloatArray:
        r = as_float(t) - as_float(eta)
        return r * r

    def loglike_obs(
        self, y: ArrayLike, eta: ArrayLike, trials: ArrayLike | None = None
    ) -> FloatArray:
        eta_arr = as_float(eta)
        y_arr = self._checked_stat(y, eta_arr, trials)
        self._trials(trials)  # rejects trials=
        r = y_arr - eta_arr
        return -0.5 * r * r - 0.5 * np.log(2.0 * np.pi)

    def log_base_measure(self, y: ArrayLike, trials: ArrayLike | None = None) -> FloatArray:
        y_arr = np.asarray(y, dtype=np.float64)
        return -0.5 * y_arr * y_arr - 0.5 * np.log(2.0 * np.pi)

    def check_support(self, y: ArrayLike, trials: ArrayLike | None = None,
                      warn: bool = True) -> None:
        y_arr = np.asarray(y, dtype=np.float64)
        self._raise_outside(~np.isfinite(y_arr), "is NaN or infinite",
                            "a Gaussian response must be a finite number")

    def start_mean(self, t: FloatArray, weights: FloatArray) -> FloatArray:
        # R's gaussian()$initialize: y itself (the first IRLS step is least squares).
        return t.copy()
