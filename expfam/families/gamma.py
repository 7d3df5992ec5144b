"""Gamma family: T(y) = y, A(θ) = −log(−θ), mean −1/θ, variance 1/θ²; θ < 0.

With unit dispersion the gamma distribution is the exponential distribution,
p(y | θ) = −θ·e^{θy}, a natural exponential family with h(y) = 1.  A shape
ν ≠ 1 is a *dispersion* φ = 1/ν that scales the log-likelihood, as the
Gaussian's σ² does: the estimates do not depend on it, and the results
estimate it as R's ``summary.glm`` does (Pearson χ² over the residual degrees
of freedom).  R's canonical ``"inverse"`` link is η = 1/μ = −θ: the same model
up to the sign of the coefficients, fitted through the general link path.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from expfam.families.base import ExponentialFamily, FloatArray, as_float

__all__ = ["Gamma"]


class Gamma(ExponentialFamily):
    """Positive continuous response y > 0 (costs, durations) with variance φ·μ²."""

    name = "gamma"
    link_name = "inverse"
    estimated_dispersion = True
    links = ("inverse", "log", "identity")

    def sufficient_stat(self, y: ArrayLike) -> FloatArray:
        return as_float(y)

    def log_partition(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return -np.log(-as_float(eta))

    def mean(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(divide="ignore"):
            return -1.0 / as_float(eta)

    def variance(self, eta: ArrayLike) -> FloatArray:
        eta_arr = as_float(eta)
        with np.errstate(divide="ignore"):
            return 1.0 / (eta_arr * eta_arr)

    def natural_from_mean(self, mu: ArrayLike) -> FloatArray:
        with np.errstate(divide="ignore"):
            return -1.0 / as_float(mu)

    def dual_log_partition(self, mu: ArrayLike) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return -1.0 - np.log(as_float(mu))

    def unit_deviance(self, t: ArrayLike, eta: ArrayLike) -> FloatArray:
        # 2·[(t − μ)/μ − log(t/μ)], R's Gamma()$dev.resids, with the ratio formed
        # once so that t ≈ μ keeps its digits.
        mu = self.mean(eta)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = as_float(t) / mu
            return np.maximum(2.0 * ((r - 1.0) - np.log(r)), 0.0)

    def log_base_measure(self, y: ArrayLike, trials: ArrayLike | None = None) -> FloatArray:
        return np.zeros(np.shape(y), dtype=np.float64)

    def valid_mean(self, mu: FloatArray) -> np.ndarray:
        return np.isfinite(mu) & (mu > 0)

    def mean_variance(self, mu: ArrayLike) -> FloatArray:
        mu_arr = as_float(mu)
        return mu_arr * mu_arr

    def variance_slope(self, mu: ArrayLike) -> FloatArray:
        return 2.0 * as_float(mu)

    def check_support(self, y: ArrayLike, trials: ArrayLike | None = None,
                      warn: bool = True) -> None:
        y_arr = np.asarray(y, dtype=np.float64)
        self._raise_outside(~(y_arr > 0) | ~np.isfinite(y_arr), "is not positive",
                            "a Gamma response must be positive and finite (drop zero rows, "
                            "or model them separately)")

    def start_mean(self, t: FloatArray, weights: FloatArray) -> FloatArray:
        # R's Gamma()$initialize: y itself.
        return t.copy()

    def profile_loglike(self, y: FloatArray, mu: FloatArray, weights: FloatArray | None,
                        deviance: float) -> float:
        # R's Gamma()$aic: the gamma density with shape 1/φ at φ = deviance/Σw.
        w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
        phi = deviance / float(np.sum(w))
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = stats.gamma.logpdf(y, a=1.0 / phi, scale=mu * phi)
        return float(np.sum(w * ll))
