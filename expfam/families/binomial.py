"""Bernoulli and binomial families: T(y) = y, A(η) = log(1 + e^η), mean σ(η)."""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from expfam.errors import DataWarning, InputError, describe_rows, user_stacklevel
from expfam.families.base import ExponentialFamily, FloatArray, as_float

__all__ = ["Bernoulli", "Binomial"]


class Bernoulli(ExponentialFamily):
    """Binary response y ∈ {0, 1} with success probability σ(η) (logistic regression).

    Numerics: A(η) = log(1 + e^η) is evaluated as ``logaddexp(0, η)`` and the
    mean and variance from e^{−|η|}, so every value is finite and accurate for
    any finite η, in float32 as in float64.
    """

    name = "bernoulli"
    link_name = "logit"
    links = ("logit", "probit", "cloglog", "loglog", "cauchit", "log", "identity")
    natural_link = "logit"

    def valid_mean(self, mu: FloatArray) -> np.ndarray:
        return (mu > 0) & (mu < 1)

    def mean_variance(self, mu: ArrayLike) -> FloatArray:
        mu_arr = as_float(mu)
        return mu_arr * (1.0 - mu_arr)

    def variance_slope(self, mu: ArrayLike) -> FloatArray:
        return 1.0 - 2.0 * as_float(mu)

    def sufficient_stat(self, y: ArrayLike) -> FloatArray:
        return as_float(y)

    def log_partition(self, eta: ArrayLike) -> FloatArray:
        eta_arr = as_float(eta)
        return np.logaddexp(np.zeros((), eta_arr.dtype), eta_arr)

    def mean(self, eta: ArrayLike) -> FloatArray:
        return special.expit(as_float(eta))

    def variance(self, eta: ArrayLike) -> FloatArray:
        eta_arr = as_float(eta)
        # σ(η)·σ(−η) keeps full relative accuracy in both tails, unlike μ(1 − μ).
        return special.expit(eta_arr) * special.expit(-eta_arr)

    def cumulants(self, eta: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        eta_arr = as_float(eta)
        a, mu, var = self._from_exp(eta_arr)
        return np.maximum(eta_arr, 0.0) + np.log1p(a), mu, var

    @staticmethod
    def _from_exp(eta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        # One exponential for everything: with a = e^{−|η|}, σ(η) is 1/(1+a) or
        # a/(1+a), σ(η)σ(−η) = a/(1+a)², and A(η) = max(η, 0) + log1p(a).
        a = np.exp(-np.abs(eta))
        inv = 1.0 / (1.0 + a)
        return a, np.where(eta >= 0, inv, a * inv), a * inv * inv

    def natural_from_mean(self, mu: ArrayLike) -> FloatArray:
        return special.logit(as_float(mu))

    def dual_log_partition(self, mu: ArrayLike) -> FloatArray:
        # μ log μ + (1 − μ) log(1 − μ), which is exactly 0 at μ ∈ {0, 1}: binary
        # responses skip the logarithms altogether.
        mu_arr = as_float(mu)
        out = np.zeros_like(mu_arr)
        inside = (mu_arr > 0) & (mu_arr < 1)
        if inside.any():
            m = mu_arr[inside]
            out[inside] = special.xlogy(m, m) + special.xlogy(1.0 - m, 1.0 - m)
        return out

    # y·η − n·A(η) written as −[y·A(−η) + (n − y)·A(η)] (A(η) − η = A(−η)): each
    # term is a softplus of a sign-matched η, so a log-likelihood or deviance of
    # 1e-14 at |η| = 30 keeps its digits instead of cancelling to 0.
    def loglike_obs(
        self, y: ArrayLike, eta: ArrayLike, trials: ArrayLike | None = None
    ) -> FloatArray:
        eta_arr = as_float(eta)
        t = self._checked_stat(y, eta_arr, trials)
        n = self._trials(trials, y)
        return -(t * self.log_partition(-eta_arr) + (n - t) * self.log_partition(eta_arr)
                 ) + self.log_base_measure(y, trials)

    def unit_deviance(self, t: ArrayLike, eta: ArrayLike) -> FloatArray:
        t_arr, eta_arr = as_float(t), as_float(eta)
        d = 2.0 * (self.dual_log_partition(t_arr) + t_arr * self.log_partition(-eta_arr)
                   + (1.0 - t_arr) * self.log_partition(eta_arr))
        return np.maximum(d, 0.0)

    def log_base_measure(self, y: ArrayLike, trials: ArrayLike | None = None) -> FloatArray:
        return np.zeros(np.shape(y), dtype=np.float64)

    def check_support(self, y: ArrayLike, trials: ArrayLike | None = None,
                      warn: bool = True) -> None:
        y_arr = as_float(y)
        self._raise_outside(
            (y_arr != 0) & (y_arr != 1),
            "is not 0 or 1",
            "a Bernoulli response must be binary; for counts out of n trials use "
            "family='binomial' with trials=",
        )

    def start_mean(self, t: FloatArray, weights: FloatArray) -> FloatArray:
        # R's binomial()$initialize: (w·y + 0.5) / (w + 1).
        return (weights * t + 0.5) / (weights + 1.0)


class Binomial(Bernoulli):
    """Number of successes y out of n trials, success probability σ(η) per trial.

    T(y) = y, the log-partition is n·log(1 + e^η) and h(y) = C(n, y), so the
    log-likelihood includes log C(n, y) as R's ``logLik`` does.  Fitting treats
    the row as the proportion y/n with weight n; ``trials`` defaults to 1.
    """

    name = "binomial"
    has_trials = True

    def log_base_measure(self, y: ArrayLike, trials: ArrayLike | None = None) -> FloatArray:
        y_arr = np.asarray(y, dtype=np.float64)
        n = np.ones_like(y_arr) if trials is None else np.asarray(trials, dtype=np.float64)
        return special.gammaln(n + 1.0) - special.gammaln(y_arr + 1.0) - special.gammaln(
            n - y_arr + 1.0
        )

    def check_support(self, y: ArrayLike, trials: ArrayLike | None = None,
                      warn: bool = True) -> None:
        y_arr = np.asarray(y, dtype=np.float64)
        n = np.ones_like(y_arr) if trials is None else np.asarray(trials, dtype=np.float64)
        bad_n = ~(n > 0) | ~np.isfinite(n)
        if np.any(bad_n):
            raise InputError(
                f"trials must be positive and finite; not so at {describe_rows(bad_n)} "
                "(rows with no trials carry no information: drop them)"
            )
        self._raise_outside(
            (y_arr < 0) | (y_arr > n),
            "is outside 0..trials",
            "give the number of successes (between 0 and the row's trials) as the response",
        )
        fractional = (y_arr != np.round(y_arr)) | (n != np.round(n))
        if warn and np.any(fractional):
            warnings.warn(
                f"non-integer successes or trials at {describe_rows(fractional)}: the "
                "binomial likelihood (llf, AIC) is not a probability there (R warns "
                "likewise)",
                DataWarning,
                stacklevel=user_stacklevel(),
            )
