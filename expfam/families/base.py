"""The exponential-family contract from which every GLM quantity is derived.

A family here is a natural exponential family written in its canonical
(natural) parameter η, one observation at a time::

    p(y | η) = h(y) · exp(T(y)·η − n·A(η))

with sufficient statistic T(y), log-partition A(η), log base measure log h(y)
and, for the binomial and multinomial, a known number of trials n per row
(n = 1 otherwise).  Each family states only T, A, ∇A (the mean of T), ∇²A (its
variance), the inverse map from mean to natural parameter, and log h.  The
base class derives, once, the log-likelihood, the score, the deviance and the
IRLS weights.  Because the link is canonical, the score with respect to η is
T(y) − n·∇A(η) and the observed and expected information coincide, which is
why IRLS and Newton's method take identical steps.

Shapes: for a family with one natural parameter per row (Bernoulli, binomial,
Poisson) ``eta`` has shape ``(n,)``; for the categorical family with K classes
it has shape ``(n, K−1)`` and ``variance`` returns ``(n, K−1, K−1)`` blocks.
Every method also accepts a single row (a scalar, or a ``(K−1,)`` vector).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike

from expfam._typing import FloatArray
from expfam.errors import DomainError, InputError, describe_rows

__all__ = ["ExponentialFamily", "as_float"]



def as_float(x: ArrayLike) -> FloatArray:
    """Return ``x`` as a floating array, keeping float32 and float64 as they are."""
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        return arr
    return arr.astype(np.float64)


class ExponentialFamily(ABC):
    """A natural exponential family in its canonical parameter η.

    Subclasses implement the six primitive methods below; everything else is
    derived here and should not need overriding except for speed or accuracy.
    """

    #: Name used in summaries and accepted as a string by :func:`get_family`.
    name: ClassVar[str]
    #: Name of the canonical link, for summaries.
    link_name: ClassVar[str]
    #: Whether rows may carry a number of trials n (binomial, multinomial).
    has_trials: ClassVar[bool] = False
    #: Whether η is a vector per row (the categorical family) rather than a scalar.
    vector_natural: ClassVar[bool] = False
    #: Whether the variance carries an unknown dispersion φ (Gaussian) that the
    #: results estimate; otherwise it is known to be 1.
    estimated_dispersion: ClassVar[bool] = False
    #: The links a GLM of this family may use (R's names), the first the default.
    links: ClassVar[tuple[str, ...]] = ()
    #: The link under which the linear predictor *is* this family's η (the fast,
    #: canonical path, with the score T(y) − ∇A(η)); None when no R link is
    #: exactly the natural parameter (Gamma: θ = −1/μ, while R's link is 1/μ).
    natural_link: ClassVar[str | None] = None
    #: Whether η is the natural parameter (False for a family with another link,
    #: see :mod:`expfam.families.linked`).
    canonical: bool = True

    # ------------------------------------------------------------------
    # The primitives each family states.
    # ------------------------------------------------------------------
    @abstractmethod
    def sufficient_stat(self, y: ArrayLike) -> FloatArray:
        """T(y): the sufficient statistic, shape ``(n,)`` or ``(n, K−1)``."""

    @abstractmethod
    def log_partition(self, eta: ArrayLike) -> FloatArray:
        """A(η) for one trial, shape ``(n,)``."""

    @abstractmethod
    def mean(self, eta: ArrayLike) -> FloatArray:
        """∇A(η) = E[T(y)] for one trial; same shape as ``eta``."""

    @abstractmethod
    def variance(self, eta: ArrayLike) -> FloatArray:
        """∇²A(η) = Var[T(y)] for one trial: ``(n,)``, or ``(n, K−1, K−1)`` blocks."""

    @abstractmethod
    def natural_from_mean(self, mu: ArrayLike) -> FloatArray:
        """The inverse of ∇A: the natural parameter whose mean is ``mu`` (the link)."""

    @abstractmethod
    def log_base_measure(self, y: ArrayLike, trials: ArrayLike | None = None) -> FloatArray:
        """log h(y), shape ``(n,)``; ``y`` as given to :meth:`sufficient_stat`."""

    @abstractmethod
    def check_support(self, y: ArrayLike, trials: ArrayLike | None = None,
                      warn: bool = True) -> None:
        """Raise :class:`~expfam.errors.DomainError` naming rows outside the support.

        With ``warn``, also warn (``DataWarning``) about values that are allowed
        but make the likelihood improper, such as non-integer counts.
        """

    @abstractmethod
    def start_mean(self, t: FloatArray, weights: FloatArray) -> FloatArray:
        """A mean strictly inside the parameter space near the per-trial statistic ``t``.

        IRLS starts from η = natural_from_mean(start_mean(t, weights)), as R's
        ``glm`` does with its ``mustart``; ``weights`` are the rows' total weights
        (frequency weight times trials).
        """

    # ------------------------------------------------------------------
    # Hooks with derived defaults; families override them for accuracy or speed.
    # ------------------------------------------------------------------
    def valid_mean(self, mu: FloatArray) -> np.ndarray:
        """Rows whose mean lies inside the parameter space (R's ``validmu``)."""
        return np.isfinite(mu)

    def mean_variance(self, mu: ArrayLike) -> FloatArray:
        """The variance function V(μ) = ∇²A(θ(μ)), per trial."""
        return self.variance(self.natural_from_mean(mu))

    def variance_slope(self, mu: ArrayLike) -> FloatArray:
        """dV/dμ, for the observed information under a non-canonical link."""
        raise NotImplementedError(f"the {self.name} family states no dV/dμ")

    def eta_score(self, t: FloatArray, eta: FloatArray) -> FloatArray:
        """d loglik/dη per trial: t − μ for the natural parameter (a canonical link)."""
        return t - self.mean(eta)

    def mean_derivative(self, eta: FloatArray) -> FloatArray:
        """dμ/dη per row: V for a canonical link (the delta method's Jacobian)."""
        return self.variance(eta)

    def fisher_weight(self, eta: FloatArray) -> FloatArray:
        """Expected information per trial about η: V for a canonical link."""
        return self.variance(eta)

    def observed_weight(self, t: FloatArray, eta: FloatArray) -> FloatArray:
        """−d² loglik/dη² per trial: equal to :meth:`fisher_weight` for a canonical
        link, since the Hessian does not involve the response."""
        return self.fisher_weight(eta)

    def profile_loglike(self, y: FloatArray, mu: FloatArray, weights: FloatArray | None,
                        deviance: float) -> float:
        """Log-likelihood at the dispersion R's family ``aic`` uses, deviance/Σw,
        for families with :attr:`estimated_dispersion`."""
        raise NotImplementedError(f"the {self.name} family has no dispersion")

    def cumulants(self, eta: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """A(η), ∇A(η) and ∇²A(η) together: the solvers' hot path.

        Families override this to share exponentials between the three.
        """
        return self.log_partition(eta), self.mean(eta), self.variance(eta)

    def log_partition_and_mean(self, eta: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """A(η) and ∇A(η) together, for solvers that never need ∇²A as an array."""
        return self.log_partition(eta), self.mean(eta)

    def row_loss(self, t: FloatArray, eta: FloatArray, log_partition: FloatArray) -> FloatArray:
        """The solvers' per-row loss, A(η) − t·η, given A(η) already computed.

        Solvers use only differences of the loss and its distance from
        :meth:`saturated_row_loss` (the deviance), so a family may shift both by
        the same function of t to avoid cancellation (the Gaussian does).
        """
        return log_partition - self._dot(t, eta)

    def saturated_row_loss(self, t: FloatArray) -> FloatArray:
        """:meth:`row_loss` where the mean equals t: −A*(t)."""
        return -self.dual_log_partition(t)

    def dual_log_partition(self, mu: ArrayLike) -> FloatArray:
        """A*(μ) = sup_η {μ·η − A(η)}, the convex conjugate of A (negative entropy).

        In the interior it equals μ·θ(μ) − A(θ(μ)) with θ = :meth:`natural_from_mean`;
        families override it to return the exact limit on the boundary (μ = 0).
        """
        mu_arr = as_float(mu)
        theta = self.natural_from_mean(mu_arr)
        return self._dot(mu_arr, theta) - self.log_partition(theta)

    # ------------------------------------------------------------------
    # Derived quantities.
    # ------------------------------------------------------------------
    def loglike_obs(
        self, y: ArrayLike, eta: ArrayLike, trials: ArrayLike | None = None
    ) -> FloatArray:
        """Per-row log-likelihood T(y)·η − n·A(η) + log h(y), shape ``(n,)``.

        Raises :class:`~expfam.errors.DomainError` for a response outside the
        support, rather than returning a number that is not a likelihood.
        """
        eta_arr = as_float(eta)
        t = self._checked_stat(y, eta_arr, trials)
        n = self._trials(trials, y)
        return (
            self._dot(t, eta_arr)
            - n * self.log_partition(eta_arr)
            + self.log_base_measure(y, trials)
        )

    def loglike(
        self,
        y: ArrayLike,
        eta: ArrayLike,
        weights: ArrayLike | None = None,
        trials: ArrayLike | None = None,
    ) -> float:
        """Log-likelihood summed over rows with frequency ``weights``."""
        ll = self.loglike_obs(y, eta, trials)
        w = 1.0 if weights is None else np.asarray(weights, dtype=np.float64)
        return float(np.sum(w * ll))

    def score(self, y: ArrayLike, eta: ArrayLike, trials: ArrayLike | None = None) -> FloatArray:
        """Derivative of the per-row log-likelihood in η: T(y) − n·∇A(η)."""
        t = self._checked_stat(y, as_float(eta), trials)
        n = self._per_row(self._trials(trials, y), extra_dims=1)
        return t - n * self.mean(eta)

    def unit_deviance(self, t: ArrayLike, eta: ArrayLike) -> FloatArray:
        """Deviance of one trial with per-trial statistic ``t``, shape ``(n,)``.

        d(t, η) = 2·[A*(t) − t·η + A(η)]: twice the gap to the saturated model,
        which sets η so that ∇A(η) = t.  It is the Bregman divergence of A* and
        never negative; the base measure cancels.
        """
        t_arr = as_float(t)
        eta_arr = as_float(eta)
        d = 2.0 * (self.dual_log_partition(t_arr) - self._dot(t_arr, eta_arr)
                   + self.log_partition(eta_arr))
        # Rounding can leave tiny negative values where the fit is exact.
        return np.maximum(d, 0.0)

    def deviance(
        self,
        y: ArrayLike,
        eta: ArrayLike,
        weights: ArrayLike | None = None,
        trials: ArrayLike | None = None,
    ) -> float:
        """Deviance summed over rows: Σ w·n·d(T(y)/n, η)."""
        t = self._checked_stat(y, as_float(eta), trials)
        n = self._trials(trials, y)
        t_unit = t / self._per_row(n, extra_dims=1)
        w = 1.0 if weights is None else np.asarray(weights, dtype=np.float64)
        return float(np.sum(w * n * self.unit_deviance(t_unit, eta)))

    def irls_weights(self, eta: ArrayLike, trials: ArrayLike | None = None) -> FloatArray:
        """IRLS working weights n·∇²A(η); for a canonical link, W = Var[T(y)]."""
        n = self._per_row(self._trials(trials), extra_dims=2)
        return n * self.variance(eta)

    # ------------------------------------------------------------------
    # Helpers.
    # ------------------------------------------------------------------
    def _checked_stat(self, y: ArrayLike, eta: FloatArray,
                      trials: ArrayLike | None) -> FloatArray:
        """T(y) after checking y's support and that T(y) and η have matching shapes."""
        self.check_support(y, trials, warn=False)
        t = self.sufficient_stat(y)
        if self.vector_natural and t.shape[-1:] != eta.shape[-1:]:
            raise InputError(
                f"the response has {t.shape[-1] + 1} classes but η has {eta.shape[-1]} "
                f"columns; η needs one column per class except the reference (K − 1)"
            )
        return t

    def implied_trials(self, y: ArrayLike) -> FloatArray | None:
        """Trials implied by the response itself (row totals of a count matrix), if any."""
        return None

    def _trials(self, trials: ArrayLike | None, y: ArrayLike | None = None) -> FloatArray:
        if trials is None:
            implied = None if y is None else self.implied_trials(y)
            return np.float64(1.0) if implied is None else implied  # type: ignore[return-value]
        if not self.has_trials:
            raise InputError(
                f"the {self.name} family has no number of trials; drop trials= "
                "or use the binomial (or categorical, for counts) family"
            )
        return np.asarray(trials, dtype=np.float64)

    def _per_row(self, n: FloatArray, extra_dims: int) -> FloatArray:
        """Give per-row trials ``n`` trailing axes to broadcast against vector-η arrays."""
        if not self.vector_natural or np.ndim(n) == 0:
            return n
        return np.reshape(n, np.shape(n) + (1,) * extra_dims)

    def _dot(self, t: FloatArray, eta: FloatArray) -> FloatArray:
        """Row-wise inner product T·η for scalar or vector natural parameters."""
        return np.sum(t * eta, axis=-1) if self.vector_natural else t * eta

    @staticmethod
    def _raise_outside(mask: np.ndarray, what: str, fix: str) -> None:
        if np.any(mask):
            raise DomainError(f"response {what} at {describe_rows(mask)}; {fix}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))
