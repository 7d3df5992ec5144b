"""Negative binomial family with a known shape θ: an exponential family in
η = log(μ/(μ + θ)) < 0.

    p(y) = Γ(y + θ)/(Γ(θ)·y!) · (μ/(μ + θ))^y · (θ/(μ + θ))^θ

so T(y) = y, A(η) = −θ·log(1 − e^η), ∇A = θe^η/(1 − e^η) = μ,
∇²A = θe^η/(1 − e^η)² = μ + μ²/θ and log h(y) = log Γ(y + θ) − log Γ(θ) − log y!.
No R link is exactly η, so GLMs use ``"log"`` (the default, as
``MASS::glm.nb``), ``"sqrt"`` or ``"identity"`` through the general link path.
With θ unknown (``NegativeBinomial()``), :func:`expfam.glm` estimates it by
maximum likelihood alternating with the GLM fit, as ``glm.nb``.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from expfam.errors import DataWarning, InputError, describe_rows, user_stacklevel
from expfam.families.base import ExponentialFamily, FloatArray, as_float

__all__ = ["NegativeBinomial"]


class NegativeBinomial(ExponentialFamily):
    """Overdispersed counts y ∈ {0, 1, 2, …} with variance μ + μ²/θ.

    Parameters
    ----------
    theta : float, optional
        The shape θ > 0 (``theta`` in R; statsmodels' ``alpha`` is 1/θ).  Omit it
        to estimate θ when fitting.
    """

    name = "negative_binomial"
    link_name = "log"
    links = ("log", "sqrt", "identity")

    def __init__(self, theta: float | None = None) -> None:
        if theta is not None:
            if isinstance(theta, bool) or not isinstance(theta, numbers.Real) or not (
                    np.isfinite(theta) and theta > 0):
                raise InputError(f"theta must be a positive finite number, got {theta!r} "
                                 "(omit it to estimate θ)")
            theta = float(theta)
        self._theta = theta

    @property
    def theta(self) -> float:
        """The known shape θ."""
        if self._theta is None:
            raise InputError("θ is not known: this negative binomial family estimates it "
                             "when fitted (or give NegativeBinomial(theta=...))")
        return self._theta

    @property
    def theta_known(self) -> bool:
        """Whether θ was given (else it is estimated when fitting)."""
        return self._theta is not None

    def sufficient_stat(self, y: ArrayLike) -> FloatArray:
        return as_float(y)

    def log_partition(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return -self.theta * np.log(-np.expm1(as_float(eta)))

    def mean(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return self.theta / np.expm1(-as_float(eta))

    def variance(self, eta: ArrayLike) -> FloatArray:
        mu = self.mean(eta)
        return mu * (1.0 + mu / self.theta)

    def natural_from_mean(self, mu: ArrayLike) -> FloatArray:
        mu_arr = as_float(mu)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(mu_arr / (mu_arr + self.theta))

    def dual_log_partition(self, mu: ArrayLike) -> FloatArray:
        mu_arr = as_float(mu)
        th = self.theta
        with np.errstate(divide="ignore", invalid="ignore"):
            return (special.xlogy(mu_arr, mu_arr / (mu_arr + th))
                    + th * np.log(th / (mu_arr + th)))

    def unit_deviance(self, t: ArrayLike, eta: ArrayLike) -> FloatArray:
        # R's negative.binomial()$dev.resids.
        t_arr, mu = as_float(t), self.mean(eta)
        th = self.theta
        with np.errstate(divide="ignore", invalid="ignore"):
            d = 2.0 * (special.xlogy(t_arr, t_arr / mu)
                       - (t_arr + th) * np.log((t_arr + th) / (mu + th)))
        return np.maximum(d, 0.0)

    def log_base_measure(self, y: ArrayLike, trials: ArrayLike | None = None) -> FloatArray:
        y_arr = np.asarray(y, dtype=np.float64)
        th = self.theta
        return special.gammaln(y_arr + th) - special.gammaln(th) - special.gammaln(y_arr + 1.0)

    def valid_mean(self, mu: FloatArray) -> np.ndarray:
        return np.isfinite(mu) & (mu > 0)

    def mean_variance(self, mu: ArrayLike) -> FloatArray:
        mu_arr = as_float(mu)
        return mu_arr + mu_arr * mu_arr / self.theta

    def variance_slope(self, mu: ArrayLike) -> FloatArray:
        return 1.0 + 2.0 * as_float(mu) / self.theta

    def check_support(self, y: ArrayLike, trials: ArrayLike | None = None,
                      warn: bool = True) -> None:
        y_arr = np.asarray(y, dtype=np.float64)
        self._raise_outside(
            (y_arr < 0) | ~np.isfinite(y_arr), "is negative or not finite",
            "a negative binomial response must be a count (0, 1, 2, ...)")
        fractional = y_arr != np.round(y_arr)
        if warn and np.any(fractional):
            warnings.warn(f"non-integer counts at {describe_rows(fractional)}: the negative "
                          "binomial likelihood (llf, AIC) is not a probability there",
                          DataWarning, stacklevel=user_stacklevel())

    def start_mean(self, t: FloatArray, weights: FloatArray) -> FloatArray:
        # R's negative.binomial()$initialize: y + (y == 0)/6.
        return t + (t == 0) / 6.0

    def __repr__(self) -> str:
        return f"NegativeBinomial(theta={self._theta!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NegativeBinomial) and self._theta == other._theta

    def __hash__(self) -> int:
        return hash((type(self), self._theta))


def theta_score_info(theta: float, y: FloatArray, mu: FloatArray,
                     weights: FloatArray) -> tuple[float, float]:
    """The score of the log-likelihood in θ at fixed means, and its observed
    information (``MASS::theta.ml``'s ``score`` and ``info``)."""
    t_mu = mu + theta
    score = np.sum(weights * (special.digamma(theta + y) - special.digamma(theta)
                              + np.log(theta) + 1.0 - np.log(t_mu) - (y + theta) / t_mu))
    info = np.sum(weights * (-special.polygamma(1, theta + y) + special.polygamma(1, theta)
                             - 1.0 / theta + 2.0 / t_mu - (y + theta) / t_mu**2))
    return float(score), float(info)


def theta_ml(y: FloatArray, mu: FloatArray, weights: FloatArray,
             start: float | None = None, max_iter: int = 100) -> tuple[float, float, bool]:
    """Maximum-likelihood θ at fixed means, by Newton's method (as ``MASS::theta.ml``).

    Starts from the moment estimate Σw / Σw·(y/μ − 1)² (or ``start``) and stops
    when the step is below 1e-12 relative.

    Returns
    -------
    theta : float
    information : float
        The observed information about θ at the returned value (1/SE²).
    converged : bool
        False when θ runs off to infinity (no overdispersion: the Poisson is
        the limit) or the iteration limit is reached.
    """
    if start is None:
        spread = float(np.sum(weights * (y / mu - 1.0) ** 2))
        start = float(np.sum(weights)) / spread if spread > 0 else 1e6
    theta, converged = theta_newton(
        lambda t: theta_score_info(t, y, mu, weights), start, max_iter)
    return theta, theta_score_info(theta, y, mu, weights)[1], converged


def theta_newton(score_info: Callable[[float], tuple[float, float]], start: float,
                 max_iter: int = 100) -> tuple[float, bool]:
    """Newton's method for θ given its log-likelihood score and observed information
    at any θ (``score_info``: sums over rows in memory, a pass on Dask), from
    ``start``; stops when a step is below 1e-12 relative.  Returns θ and whether it
    converged (False when θ runs off to infinity or the information is not
    positive)."""
    theta = start
    for _ in range(max_iter):
        theta = abs(theta)  # R's theta.ml: a step past zero is reflected
        score, info = score_info(theta)
        if not (np.isfinite(score) and np.isfinite(info)) or info <= 0:
            break
        step = score / info
        theta += step
        if abs(step) <= 1e-12 * abs(theta):
            return abs(theta), True
        if theta > 1e12:
            break
    return abs(theta), False
