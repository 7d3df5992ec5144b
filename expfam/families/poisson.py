"""Poisson family: T(y) = y, A(η) = e^η, mean = variance = e^η, h(y) = 1/y!."""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from expfam.errors import DataWarning, describe_rows, user_stacklevel
from expfam.families.base import ExponentialFamily, FloatArray, as_float

__all__ = ["Poisson", "bd0", "stirlerr"]


class Poisson(ExponentialFamily):
    """Count response y ∈ {0, 1, 2, …} with mean e^η (log-linear model).

    Numerics: e^η is finite for η below log(max float) — about 709 in float64 and
    88 in float32.  Beyond that the mean itself is not representable; the methods
    return ``inf`` there (no warning) and the fitter treats it as a failed step.
    """

    name = "poisson"
    link_name = "log"
    links = ("log", "identity", "sqrt")
    natural_link = "log"

    def valid_mean(self, mu: FloatArray) -> np.ndarray:
        return np.isfinite(mu) & (mu > 0)

    def mean_variance(self, mu: ArrayLike) -> FloatArray:
        return as_float(mu).copy()

    def variance_slope(self, mu: ArrayLike) -> FloatArray:
        return np.ones_like(as_float(mu))

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

    def natural_from_mean(self, mu: ArrayLike) -> FloatArray:
        with np.errstate(divide="ignore"):
            return np.log(as_float(mu))

    def dual_log_partition(self, mu: ArrayLike) -> FloatArray:
        mu_arr = as_float(mu)
        return special.xlogy(mu_arr, mu_arr) - mu_arr

    # For large counts the generic forms, y·η − e^η − log y! and the Bregman
    # divergence, subtract numbers of order y·log y to leave something of order
    # one.  Loader's (2000) forms keep full accuracy: the deviance is 2·bd0(y, μ)
    # and log p(y) = −stirlerr(y) − bd0(y, μ) − ½·log(2πy).
    def unit_deviance(self, t: ArrayLike, eta: ArrayLike) -> FloatArray:
        with np.errstate(over="ignore"):
            mu = np.exp(as_float(eta))
        t_arr, mu = np.broadcast_arrays(as_float(t), mu)
        # An infinite mean is infinitely far from any count (bd0 would give inf − inf).
        return np.where(np.isfinite(mu), 2.0 * bd0(t_arr, np.where(np.isfinite(mu), mu, 1.0)),
                        np.inf)

    def loglike_obs(
        self, y: ArrayLike, eta: ArrayLike, trials: ArrayLike | None = None
    ) -> FloatArray:
        eta_arr = as_float(eta)
        y_arr = self._checked_stat(y, eta_arr, trials)
        self._trials(trials)  # rejects trials=
        with np.errstate(over="ignore"):
            mu = np.exp(eta_arr)
        y_arr, mu = np.broadcast_arrays(y_arr, mu)
        out = -mu.astype(np.float64)  # log p(0) = −μ
        pos = (y_arr > 0) & np.isfinite(mu)  # an infinite mean leaves −∞
        yp = y_arr[pos]
        out[pos] = -stirlerr(yp) - bd0(yp, mu[pos]) - 0.5 * np.log(2 * np.pi * yp)
        return out

    def log_base_measure(self, y: ArrayLike, trials: ArrayLike | None = None) -> FloatArray:
        return -special.gammaln(np.asarray(y, dtype=np.float64) + 1.0)

    def check_support(self, y: ArrayLike, trials: ArrayLike | None = None,
                      warn: bool = True) -> None:
        y_arr = np.asarray(y, dtype=np.float64)
        self._raise_outside(
            y_arr < 0, "is negative", "a Poisson response must be a count (0, 1, 2, ...)"
        )
        fractional = y_arr != np.round(y_arr)
        if warn and np.any(fractional):
            warnings.warn(
                f"non-integer counts at {describe_rows(fractional)}: the Poisson "
                "likelihood (llf, AIC) is not a probability there",
                DataWarning,
                stacklevel=user_stacklevel(),
            )

    def start_mean(self, t: FloatArray, weights: FloatArray) -> FloatArray:
        # R's poisson()$initialize: y + 0.1.
        return t + 0.1


def bd0(x: FloatArray, m: FloatArray) -> FloatArray:
    """x·log(x/m) + m − x, accurate even when x ≈ m (Loader 2000).

    Near x = m both terms are large and nearly cancel; there the series
    (x − m)·v + 2x·Σ_{j≥1} v^{2j+1}/(2j+1), with v = (x − m)/(x + m) and |v| < 0.1,
    is used instead: log(x/m) = log((1 + v)/(1 − v)) expanded in v.
    """
    x, m = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64))
    out = np.empty(x.shape)
    near = np.abs(x - m) < 0.1 * (x + m)
    far = ~near
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out[far] = special.xlogy(x[far], x[far] / m[far]) + m[far] - x[far]
    xn, mn = x[near], m[near]
    v = (xn - mn) / (xn + mn)
    total = (xn - mn) * v
    term = 2.0 * xn * v
    v2 = v * v
    for j in range(1, 100):
        term = term * v2
        step = term / (2 * j + 1)
        total = total + step
        if np.all(np.abs(step) <= 1e-17 * np.abs(total)):
            break
    out[near] = total
    return out


# Coefficients of the Stirling series: 1/12, 1/360, 1/1260, 1/1680, 1/1188.
_STIRLING = (1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188)


def stirlerr(n: FloatArray) -> FloatArray:
    """log(n!) − log(√(2πn)·(n/e)ⁿ), the error of Stirling's formula, for n > 0.

    Above 15 the asymptotic series (accurate to rounding there) avoids the
    cancellation in the direct formula.
    """
    n = np.asarray(n, dtype=np.float64)
    out = np.empty(n.shape)
    big = n > 15
    nb = n[big]
    inv2 = 1.0 / (nb * nb)
    s0, s1, s2, s3, s4 = _STIRLING
    out[big] = (s0 - (s1 - (s2 - (s3 - s4 * inv2) * inv2) * inv2) * inv2) / nb
    small = ~big
    ns = n[small]
    with np.errstate(divide="ignore", invalid="ignore"):
        out[small] = (special.gammaln(ns + 1.0) - (ns + 0.5) * np.log(ns) + ns
                      - 0.5 * np.log(2 * np.pi))
    return out
