"""Poisson family: T(y) = y, A(η) = e^η, mean = variance = e^η, h(y) = 1/y!."""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from ..errors import DataWarning, describe_rows
from .base import ExponentialFamily, FloatArray, as_float

__all__ = ["Poisson"]


class Poisson(ExponentialFamily):
    """Count response y ∈ {0, 1, 2, …} with mean e^η (log-linear model).

    Numerics: e^η is finite for η below log(max float) — about 709 in float64 and
    88 in float32.  Beyond that the mean itself is not representable; the methods
    return ``inf`` there (no warning) and the fitter treats it as a failed step.
    """

    name = "poisson"
    link_name = "log"

    def sufficient_stat(self, y: ArrayLike) -> FloatArray:
        return as_float(y)

    def log_partition(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(over="ignore"):
            return np.exp(as_float(eta))

    def mean(self, eta: ArrayLike) -> FloatArray:
        return self.log_partition(eta)

    def variance(self, eta: ArrayLike) -> FloatArray:
        return self.log_partition(eta)

    def cumulants(self, eta: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        mu = self.log_partition(eta)
        return mu, mu, mu

    def moments(self, eta: ArrayLike) -> tuple[FloatArray, FloatArray]:
        mu = self.log_partition(eta)
        return mu, mu

    def natural_from_mean(self, mu: ArrayLike) -> FloatArray:
        with np.errstate(divide="ignore"):
            return np.log(as_float(mu))

    def dual_log_partition(self, mu: ArrayLike) -> FloatArray:
        mu_arr = as_float(mu)
        return special.xlogy(mu_arr, mu_arr) - mu_arr

    def log_base_measure(self, y: ArrayLike, trials: ArrayLike | None = None) -> FloatArray:
        return -special.gammaln(np.asarray(y, dtype=np.float64) + 1.0)

    def check_support(self, y: ArrayLike, trials: ArrayLike | None = None) -> None:
        y_arr = np.asarray(y, dtype=np.float64)
        self._raise_outside(
            y_arr < 0, "is negative", "a Poisson response must be a count (0, 1, 2, ...)"
        )
        fractional = y_arr != np.round(y_arr)
        if np.any(fractional):
            warnings.warn(
                f"non-integer counts at {describe_rows(fractional)}: the Poisson "
                "likelihood (llf, AIC) is not a probability there",
                DataWarning,
                stacklevel=4,
            )

    def start_mean(self, t: FloatArray, weights: FloatArray) -> FloatArray:
        # R's poisson()$initialize: y + 0.1.
        return t + 0.1
