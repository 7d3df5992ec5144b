"""An exponential family with a non-canonical link: η = g(μ) instead of θ(μ).

:class:`LinkedFamily` wraps a family and a :class:`~expfam.families.links.Link`
and presents the same interface with ``eta`` meaning the *linear predictor*:
``mean(eta)`` is g⁻¹(η), ``natural_from_mean`` is g, and the likelihood,
deviance and loss are the family's at the natural parameter θ(g⁻¹(η)).  So
every solver, residual and test that works in η keeps working.

What changes is the chain rule.  With μ' = dμ/dη and V = V(μ), dθ/dη = μ'/V, so
per trial

- the score in η is (t − μ)·μ'/V  (canonical: t − μ, as μ' = V there);
- the expected information is μ'²/V (R's working weight);
- the observed information adds the term that involves the response:
  μ'²/V − (t − μ)·(μ''/V − μ'²·V'/V²), which can be negative far from the fit.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from expfam._typing import FloatArray
from expfam.errors import InputError
from expfam.families.base import ExponentialFamily, as_float
from expfam.families.links import Link, get_link

__all__ = ["LinkedFamily", "with_link"]


class LinkedFamily(ExponentialFamily):
    """``base`` with the link ``link``, in the linear predictor η = g(μ).

    Parameters
    ----------
    base : ExponentialFamily
        A scalar family (not the categorical one).
    link : Link
    """

    canonical = False

    def __init__(self, base: ExponentialFamily, link: Link) -> None:
        self.base = base
        self.link = link
        # Instance values of the family's descriptive class attributes.
        self.name = base.name  # type: ignore[misc]
        self.link_name = link.name  # type: ignore[misc]
        self.has_trials = base.has_trials  # type: ignore[misc]
        self.estimated_dispersion = base.estimated_dispersion  # type: ignore[misc]
        self.links = base.links  # type: ignore[misc]
        # Families whose variance vanishes on the edge of the range (a probability
        # of 0 or 1, a count mean of 0): there a tiny variance marks fitted values
        # on the boundary.  A Gamma mean of 1e-9 is merely small.
        self._boundary = base.name in ("bernoulli", "binomial", "poisson",
                                       "negative_binomial")

    # -- the maps between η, μ and θ ---------------------------------------
    def natural(self, eta: ArrayLike) -> FloatArray:
        """θ(g⁻¹(η)); NaN where η or the mean is outside the valid range."""
        eta_arr = as_float(eta)
        with np.errstate(all="ignore"):
            mu = self.link.inverse(eta_arr)
            theta = self.base.natural_from_mean(mu)
        ok = self.link.valid_eta(eta_arr) & self.base.valid_mean(mu)
        return np.where(ok, theta, np.nan)

    def valid(self, eta: FloatArray) -> np.ndarray:
        """Rows where η gives a mean inside the family's range."""
        with np.errstate(all="ignore"):
            return self.link.valid_eta(eta) & self.base.valid_mean(self.link.inverse(eta))

    # -- the primitives, through θ ------------------------------------------
    def sufficient_stat(self, y: ArrayLike) -> FloatArray:
        return self.base.sufficient_stat(y)

    def log_partition(self, eta: ArrayLike) -> FloatArray:
        return self.base.log_partition(self.natural(eta))

    def mean(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(all="ignore"):
            return self.link.inverse(as_float(eta))

    def variance(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(all="ignore"):
            return self.base.mean_variance(self.mean(eta))

    def cumulants(self, eta: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        mu = self.mean(eta)
        with np.errstate(all="ignore"):
            return self.log_partition(eta), mu, self.base.mean_variance(mu)

    def natural_from_mean(self, mu: ArrayLike) -> FloatArray:
        with np.errstate(all="ignore"):
            return self.link.link(as_float(mu))

    def log_base_measure(self, y: ArrayLike, trials: ArrayLike | None = None) -> FloatArray:
        return self.base.log_base_measure(y, trials)

    def check_support(self, y: ArrayLike, trials: ArrayLike | None = None,
                      warn: bool = True) -> None:
        self.base.check_support(y, trials, warn)

    def start_mean(self, t: FloatArray, weights: FloatArray) -> FloatArray:
        return self.base.start_mean(t, weights)

    def implied_trials(self, y: ArrayLike) -> FloatArray | None:
        return self.base.implied_trials(y)

    def valid_mean(self, mu: FloatArray) -> np.ndarray:
        return self.base.valid_mean(mu)

    def mean_variance(self, mu: ArrayLike) -> FloatArray:
        return self.base.mean_variance(mu)

    def variance_slope(self, mu: ArrayLike) -> FloatArray:
        return self.base.variance_slope(mu)

    def dual_log_partition(self, mu: ArrayLike) -> FloatArray:
        return self.base.dual_log_partition(mu)

    def saturated_row_loss(self, t: FloatArray) -> FloatArray:
        return self.base.saturated_row_loss(t)

    def profile_loglike(self, y: FloatArray, mu: FloatArray, weights: FloatArray | None,
                        deviance: float) -> float:
        return self.base.profile_loglike(y, mu, weights, deviance)

    # -- likelihood, deviance, loss: the family's at θ ----------------------
    def row_loss(self, t: FloatArray, eta: FloatArray, log_partition: FloatArray) -> FloatArray:
        theta = self.natural(eta)
        loss = self.base.row_loss(t, theta, log_partition)
        # An invalid mean is infinitely bad: the solver's step halving backs off.
        return np.where(np.isnan(theta), np.inf, loss)

    def loglike_obs(self, y: ArrayLike, eta: ArrayLike,
                    trials: ArrayLike | None = None) -> FloatArray:
        return self.base.loglike_obs(y, self.natural(eta), trials)

    def unit_deviance(self, t: ArrayLike, eta: ArrayLike) -> FloatArray:
        return self.base.unit_deviance(t, self.natural(eta))

    def score(self, y: ArrayLike, eta: ArrayLike, trials: ArrayLike | None = None) -> FloatArray:
        """d loglik/dη per row: the family's score in θ times dθ/dη = μ'/V."""
        eta_arr = as_float(eta)
        mu = self.mean(eta_arr)
        return (self.base.score(y, self.natural(eta_arr), trials)
                * self.link.mu_eta(eta_arr) / self.base.mean_variance(mu))

    def irls_weights(self, eta: ArrayLike, trials: ArrayLike | None = None) -> FloatArray:
        n = self._trials(trials)
        return n * self.fisher_weight(as_float(eta))

    # -- the chain rule ------------------------------------------------------
    def eta_score(self, t: FloatArray, eta: FloatArray) -> FloatArray:
        with np.errstate(all="ignore"):
            mu = self.link.inverse(eta)
            return (t - mu) * self.link.mu_eta(eta) / self.base.mean_variance(mu)

    def mean_derivative(self, eta: FloatArray) -> FloatArray:
        with np.errstate(all="ignore"):
            return self.link.mu_eta(eta)

    def fisher_weight(self, eta: FloatArray) -> FloatArray:
        with np.errstate(all="ignore"):
            d = self.link.mu_eta(eta)
            return d * d / self.base.mean_variance(self.link.inverse(eta))

    def observed_weight(self, t: FloatArray, eta: FloatArray) -> FloatArray:
        with np.errstate(all="ignore"):
            mu = self.link.inverse(eta)
            d, d2 = self.link.mu_eta(eta), self.link.mu_eta2(eta)
            v, dv = self.base.mean_variance(mu), self.base.variance_slope(mu)
            return d * d / v - (t - mu) * (d2 / v - d * d * dv / (v * v))

    def working(self, t: FloatArray, eta: FloatArray
                ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Per row: the loss A(θ) − t·θ, its derivative in η (μ − t)·μ'/V, the
        expected information μ'²/V and the variance V (1 for families without a
        boundary where it vanishes) — the kernels' inputs."""
        with np.errstate(all="ignore"):
            mu = self.link.inverse(eta)
            theta = self.base.natural_from_mean(mu)
            ok = self.link.valid_eta(eta) & self.base.valid_mean(mu)
            loss = np.where(ok, self.base.row_loss(t, theta, self.base.log_partition(theta)),
                            np.inf)
            d = self.link.mu_eta(eta)
            v = self.base.mean_variance(mu)
            return loss, (mu - t) * d / v, d * d / v, v if self._boundary else np.ones_like(v)

    def __repr__(self) -> str:
        return f"{self.base!r} with link {self.link.name!r}"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, LinkedFamily) and self.base == other.base
                and self.link == other.link)

    def __hash__(self) -> int:
        return hash((self.base, self.link))


def with_link(family: ExponentialFamily, link: str | Link | None) -> ExponentialFamily:
    """``family`` with ``link``: the family itself for its natural link (the fast
    canonical path), else a :class:`LinkedFamily`.

    Raises
    ------
    InputError
        If the family cannot take the link; the message lists those it can.
    """
    if isinstance(family, LinkedFamily):
        if link is None:
            return family
        family = family.base
    if link is None:
        link = family.links[0] if family.links else None
        if link is None:
            return family
    resolved = get_link(link)
    if resolved.name not in family.links:
        raise InputError(f"the {family.name} family cannot take the {resolved.name!r} link; "
                         f"its links are: {', '.join(family.links)}")
    if resolved.name == family.natural_link:
        return family
    if family.vector_natural:  # pragma: no cover - the categorical family has one link
        raise InputError("the categorical family has only the multinomial logit link")
    return LinkedFamily(family, resolved)
