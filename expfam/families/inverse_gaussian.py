"""Inverse Gaussian family: T(y) = y, A(θ) = −√(−2θ), mean μ, variance μ³; θ < 0.

With unit dispersion (λ = 1) the density is
(2πy³)^{−½}·exp(−(y − μ)²/(2μ²y)) = h(y)·exp(θy − A(θ)) with θ = −1/(2μ²) and
log h(y) = −½·log(2πy³) − 1/(2y).  A dispersion φ = 1/λ scales the
log-likelihood and is estimated afterwards, as for the Gamma.  R's canonical
link ``"1/mu^2"`` is η = 1/μ² = −2θ.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from expfam.families.base import ExponentialFamily, FloatArray, as_float

__all__ = ["InverseGaussian"]


class InverseGaussian(ExponentialFamily):
    """Positive continuous response y > 0 with variance φ·μ³."""

    name = "inverse_gaussian"
    link_name = "1/mu^2"
    estimated_dispersion = True
    links = ("1/mu^2", "inverse", "log", "identity")

    def sufficient_stat(self, y: ArrayLike) -> FloatArray:
        return as_float(y)

    def log_partition(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(invalid="ignore"):
            return -np.sqrt(-2.0 * as_float(eta))

    def mean(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return 1.0 / np.sqrt(-2.0 * as_float(eta))

    def variance(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return (-2.0 * as_float(eta)) ** -1.5

    def natural_from_mean(self, mu: ArrayLike) -> FloatArray:
        mu_arr = as_float(mu)
        with np.errstate(divide="ignore"):
            return -0.5 / (mu_arr * mu_arr)

    def dual_log_partition(self, mu: ArrayLike) -> FloatArray:
        with np.errstate(divide="ignore"):
            return 0.5 / as_float(mu)

    def unit_deviance(self, t: ArrayLike, eta: ArrayLike) -> FloatArray:
        # (t − μ)²/(t·μ²), R's inverse.gaussian()$dev.resids.
        mu = self.mean(eta)
        t_arr = as_float(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (t_arr - mu) ** 2 / (t_arr * mu * mu)

    def log_base_measure(self, y: ArrayLike, trials: ArrayLike | None = None) -> FloatArray:
        y_arr = np.asarray(y, dtype=np.float64)
        return -0.5 * np.log(2.0 * np.pi * y_arr**3) - 0.5 / y_arr

    def valid_mean(self, mu: FloatArray) -> np.ndarray:
        return np.isfinite(mu) & (mu > 0)

    def mean_variance(self, mu: ArrayLike) -> FloatArray:
        return as_float(mu) ** 3

    def variance_slope(self, mu: ArrayLike) -> FloatArray:
        mu_arr = as_float(mu)
        return 3.0 * mu_arr * mu_arr

    def check_support(self, y: ArrayLike, trials: ArrayLike | None = None,
                      warn: bool = True) -> None:
        y_arr = np.asarray(y, dtype=np.float64)
        self._raise_outside(~(y_arr > 0) | ~np.isfinite(y_arr), "is not positive",
                            "an inverse Gaussian response must be positive and finite")

    def start_mean(self, t: FloatArray, weights: FloatArray) -> FloatArray:
        # R's inverse.gaussian()$initialize: y itself.
        return t.copy()

    def profile_loglike(self, y: FloatArray, mu: FloatArray, weights: FloatArray | None,
                        deviance: float) -> float:
        # R's inverse.gaussian()$aic at φ = deviance/Σw, where the weighted squared
        # residuals (y − μ)²/(φμ²y) sum to Σw.
        w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
        n = float(np.sum(w))
        with np.errstate(divide="ignore"):
            return float(-0.5 * (n * (np.log(2.0 * np.pi * deviance / n) + 1.0)
                                 + 3.0 * np.sum(w * np.log(y))))
