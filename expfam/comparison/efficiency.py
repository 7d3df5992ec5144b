"""Efron's (1975) asymptotic relative efficiency of logistic regression.

Two classes share a covariance: ``x | y=k ~ N(mu_k, Sigma)``, ``P(y=1) = pi_1``.
The normal discriminant (LDA, plug-in maximum likelihood) and logistic
regression both estimate the same linear rule ``eta(x) = b + w·x``.  Efron
(1975, JASA 70, 892-898) compares them by their expected excess error rates,

    ARE = lim E[ER(LDA) − ER*] / E[ER(logistic) − ER*],

which to first order is ``tr(H C_lda) / tr(H C_logistic)`` with ``H`` the Hessian
of the true error rate at the Bayes rule and ``C`` the per-observation
asymptotic covariance of ``theta = (b, w)``.  By affine invariance we take
``Sigma = I`` and ``mu_1 = −mu_0 = (delta/2) e_1``, so the Bayes rule is
``b* = log(pi_1/pi_0)``, ``w* = delta·e_1``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate, special

from expfam._typing import FloatArray

__all__ = ["asymptotic_covariances", "efron_efficiency", "error_rate", "expected_excess_errors",
           "naive_bayes_covariance", "naive_bayes_efficiency"]


def _check(delta: float, prior: float, n_features: int) -> None:
    if not (np.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be a positive finite number, got {delta!r}")
    if not 0 < prior < 1:
        raise ValueError(f"prior must be strictly between 0 and 1, got {prior!r}")
    if int(n_features) != n_features or n_features < 1:
        raise ValueError(f"n_features must be a positive integer, got {n_features!r}")


def error_rate(intercept: ArrayLike, coef: ArrayLike, delta: float,
               prior: float = 0.5) -> FloatArray:
    """True error rate of the rule ``b + w·x > 0`` under the canonical model.

    Parameters
    ----------
    intercept : array-like, shape (...)
        The intercepts ``b``.
    coef : array-like, shape (..., p)
        The slopes ``w`` (first coordinate along ``mu_1 − mu_0``).
    delta : float
        Mahalanobis distance between the class means.
    prior : float
        ``pi_1 = P(y=1)``.

    Returns
    -------
    ndarray, shape (...)
        ``pi_1 Φ(−(b + w·mu_1)/|w|) + pi_0 Φ((b + w·mu_0)/|w|)``.
    """
    b = np.asarray(intercept, dtype=np.float64)
    w = np.asarray(coef, dtype=np.float64)
    norm = np.linalg.norm(w, axis=-1)
    # w·mu_k = ±(delta/2) w_1 because both means lie on the first axis.
    shift = 0.5 * delta * w[..., 0]
    return np.asarray(prior * special.ndtr(-(b + shift) / norm)
                      + (1 - prior) * special.ndtr((b - shift) / norm))


def asymptotic_covariances(delta: float, prior: float = 0.5,
                           n_features: int = 1) -> tuple[FloatArray, FloatArray]:
    """Per-observation asymptotic covariances of ``theta = (b, w)`` for LDA and logistic.

    ``n · Cov(theta_hat) → C`` as the sample size ``n → ∞``.

    Parameters
    ----------
    delta : float
        Mahalanobis distance between the class means (> 0).
    prior : float
        ``pi_1 = P(y=1)``, strictly between 0 and 1.
    n_features : int
        Dimension ``p`` of ``x``.

    Returns
    -------
    c_lda : ndarray, shape (p + 1, p + 1)
        Delta-method covariance of the plug-in normal discriminant.
    c_logistic : ndarray, shape (p + 1, p + 1)
        Inverse Fisher information of logistic regression (intercept first).
    """
    _check(delta, prior, n_features)
    p, pi1, pi0 = int(n_features), prior, 1.0 - prior
    lam = np.log(pi1 / pi0)

    # Logistic: I = E[p(1−p) x̃ x̃ᵀ].  Only x_1 carries class information; the other
    # coordinates are N(0, 1) independent of (y, x_1), so I is block diagonal with
    # E[p(1−p)] on the remaining diagonal and three 1-D integrals for (1, x_1).
    def moment(k: int) -> float:
        def f(t: float) -> float:
            pr = special.expit(lam + delta * t)
            # Plain exp, not stats.norm.pdf: quad calls this hundreds of times.
            dens = (pi1 * np.exp(-0.5 * (t - delta / 2) ** 2)
                    + pi0 * np.exp(-0.5 * (t + delta / 2) ** 2)) / np.sqrt(2 * np.pi)
            return float(pr * (1 - pr) * t**k * dens)
        # p(1−p) and the density both decay fast; ±(delta + 12) covers all mass.
        lim = delta + 12.0
        return float(integrate.quad(f, -lim, lim, epsabs=1e-13, epsrel=1e-11, limit=200)[0])

    m0, m1, m2 = moment(0), moment(1), moment(2)
    info = m0 * np.eye(p + 1)
    info[:2, :2] = [[m0, m1], [m1, m2]]
    c_logistic = np.linalg.inv(info)

    # LDA: b = log(pi_1/pi_0) − ½(mu_1ᵀ S⁻¹ mu_1 − mu_0ᵀ S⁻¹ mu_0), w = S⁻¹(mu_1 − mu_0).
    # Analytic Jacobian at S = I (mu_0 = −mu_1, w = delta·e_1):
    #   db = dpi_1/(pi_1 pi_0) − mu_1ᵀ dmu_1 + mu_0ᵀ dmu_0 + ½(mu_1ᵀ dS mu_1 − mu_0ᵀ dS mu_0),
    #   dw = dmu_1 − dmu_0 − dS w.
    # The dS term in db vanishes here since mu_0 = −mu_1.  With Cov(dmu_k) = I/pi_k,
    # Var(dpi_1) = pi_1 pi_0 and Cov(dS w) = (wᵀw) I + w wᵀ (from Cov(dS_ij, dS_kl) =
    # δ_ik δ_jl + δ_il δ_jk), all independent, the blocks are:
    mu1 = np.zeros(p)
    mu1[0] = delta / 2
    w = 2 * mu1
    c_lda = np.empty((p + 1, p + 1))
    c_lda[0, 0] = 1 / (pi1 * pi0) + mu1 @ mu1 * (1 / pi1 + 1 / pi0)
    c_lda[0, 1:] = c_lda[1:, 0] = -mu1 / pi1 + mu1 / pi0  # Cov(−mu_1ᵀdmu_1 − mu_1ᵀdmu_0, dw)
    c_lda[1:, 1:] = (1 / pi1 + 1 / pi0 + w @ w) * np.eye(p) + np.outer(w, w)
    return c_lda, c_logistic


def _scaled_error_hessian(delta: float, prior: float, p: int) -> FloatArray:
    """Hessian of ``error_rate`` in ``(b, w)`` at the Bayes rule over ``pi_1 φ(a_1)``.

    With ``a_k = (b + w·mu_k)/|w|``, ER = pi_1 Φ(−a_1) + pi_0 Φ(a_0) and φ' = −aφ, so
    H = Σ_k s_k c_k (−∇²a_k + a_k ∇a_k ∇a_kᵀ) with c_k = pi_k φ(a_k), s_1 = 1, s_0 = −1.
    At the Bayes rule c_1 = c_0 (the densities cross there), so we return H / c_1,
    shape (p + 1, p + 1): the common factor cancels in the ARE and, for unequal priors
    and small delta, would underflow to 0.
    """
    lam, s = np.log(prior / (1 - prior)), delta  # |w*| = delta
    u = np.zeros(p)
    u[0] = 1.0
    hess = np.zeros((p + 1, p + 1))
    for sign, mu in ((1.0, delta / 2 * u), (-1.0, -delta / 2 * u)):
        a = lam / delta + mu[0]  # (b* + w*·mu)/|w*|
        grad = np.concatenate([[1 / s], (mu - a * u) / s])
        second = np.zeros((p + 1, p + 1))
        second[0, 1:] = second[1:, 0] = -u / s**2  # ∂²a/∂b∂w = −w/|w|³
        # ∂²a/∂w² = a(3uuᵀ − I)/|w|² − (mu uᵀ + u muᵀ)/|w|²
        second[1:, 1:] = (a * (3 * np.outer(u, u) - np.eye(p))
                          - np.outer(mu, u) - np.outer(u, mu)) / s**2
        hess += sign * (-second + a * np.outer(grad, grad))
    return hess


def efron_efficiency(delta: float, prior: float = 0.5, n_features: int = 1) -> float:
    """Efron's asymptotic relative efficiency of logistic regression versus LDA.

    Parameters
    ----------
    delta : float
        Mahalanobis distance between the class means (> 0).
    prior : float
        ``pi_1 = P(y=1)``, strictly between 0 and 1.
    n_features : int
        Dimension ``p`` of ``x``.

    Returns
    -------
    float
        ``lim E[ER(LDA) − ER*] / E[ER(logistic) − ER*] = tr(H C_lda) / tr(H C_logistic)``;
        1 means logistic regression loses nothing, 0.5 that it needs twice the data.

    Examples
    --------
    Efron's (1975) Table 1 (equal priors) gives .995, .899, .641 at delta = 1, 2, 3:

    >>> [round(efron_efficiency(d), 3) for d in (1.0, 2.0, 3.0)]
    [0.995, 0.899, 0.641]
    """
    c_lda, c_logistic = asymptotic_covariances(delta, prior, n_features)
    hess = _scaled_error_hessian(delta, prior, int(n_features))
    return float(np.trace(hess @ c_lda) / np.trace(hess @ c_logistic))


def expected_excess_errors(delta: float, n: int, prior: float = 0.5,
                           n_features: int = 1) -> tuple[float, float]:
    """First-order expected excess error rates ``E[ER − ER*] ≈ tr(H C) / (2n)``.

    Parameters
    ----------
    delta, prior, n_features
        As in :func:`efron_efficiency`.
    n : int
        Training sample size.

    Returns
    -------
    (lda, logistic) : tuple of float
        The leading ``O(1/n)`` terms; their ratio is :func:`efron_efficiency`.
    """
    c_lda, c_logistic = asymptotic_covariances(delta, prior, n_features)
    # Undo the scaling of _scaled_error_hessian: c_1 = pi_1 φ(a_1).
    a1 = np.log(prior / (1 - prior)) / delta + delta / 2
    scale = prior * np.exp(-0.5 * a1**2) / np.sqrt(2 * np.pi) / (2 * n)
    hess = _scaled_error_hessian(delta, prior, int(n_features))
    return (float(scale * np.trace(hess @ c_lda)), float(scale * np.trace(hess @ c_logistic)))


# -- Gaussian naive Bayes (shared variances) against logistic regression ----------------
#
# When the features are independent given the class, x | y=k ~ N(mu_k, D) with D
# diagonal, naive Bayes with a variance per feature shared by the classes is the
# correct generative model, and its posterior is linear: it is the generative
# twin of logistic regression, like LDA, but estimates p variances instead of a
# full covariance.  It is invariant to shifting and scaling each feature, not to
# rotations, so the canonical form is D = I, mu_1 = −mu_0 = (delta/2) u with a
# unit vector u (where the class difference lies among the features).  The error
# rate and logistic regression are rotation-equivariant, so both are computed
# along e_1 and naive Bayes's covariance is rotated into that frame.


def _unit_direction(direction: ArrayLike | None, p: int) -> FloatArray:
    u = np.zeros(p) if direction is None else np.asarray(direction, dtype=np.float64)
    if direction is None:
        u[0] = 1.0
    if u.shape != (p,) or not np.all(np.isfinite(u)) or not np.linalg.norm(u) > 0:
        raise ValueError(f"direction must be a non-zero vector of length {p}, got {direction!r}")
    return np.asarray(u / np.linalg.norm(u))


def naive_bayes_covariance(delta: float, prior: float = 0.5, n_features: int = 1,
                           direction: ArrayLike | None = None) -> FloatArray:
    """Per-observation asymptotic covariance of naive Bayes's implied ``(b, w)``.

    With b = log(pi_1/pi_0) − ½(mu_1ᵀD⁻¹mu_1 − mu_0ᵀD⁻¹mu_0) and w = D⁻¹(mu_1 − mu_0),
    at D = I: dw = dmu_1 − dmu_0 − dD w with dD diagonal, Var(dD_ii) = 2 and the
    diagonal entries independent (the features are), so Cov(dD w) = 2 diag(w²)
    where LDA's full dS gives (wᵀw) I + w wᵀ; the intercept's terms are LDA's
    (the dD term cancels since mu_0 = −mu_1).

    Parameters
    ----------
    delta, prior, n_features
        As in :func:`efron_efficiency`.
    direction : array-like, shape (p,), optional
        u, the direction of mu_1 − mu_0 among the standardized features (default e_1:
        one informative feature).

    Returns
    -------
    ndarray, shape (p + 1, p + 1)
        In the features' own coordinates (intercept first).
    """
    _check(delta, prior, n_features)
    p, pi1, pi0 = int(n_features), prior, 1.0 - prior
    u = _unit_direction(direction, p)
    mu1 = 0.5 * delta * u
    w = 2 * mu1
    cov = np.empty((p + 1, p + 1))
    cov[0, 0] = 1 / (pi1 * pi0) + mu1 @ mu1 * (1 / pi1 + 1 / pi0)
    cov[0, 1:] = cov[1:, 0] = -mu1 / pi1 + mu1 / pi0
    cov[1:, 1:] = (1 / pi1 + 1 / pi0) * np.eye(p) + 2 * np.diag(w**2)
    return cov


def naive_bayes_efficiency(delta: float, prior: float = 0.5, n_features: int = 1,
                           direction: ArrayLike | None = None) -> float:
    """Efron's asymptotic relative efficiency of logistic regression versus Gaussian naive
    Bayes (variances shared by the classes) when the features are independent Gaussians.

    Parameters
    ----------
    delta : float
        Mahalanobis distance between the class means.
    prior : float
        ``pi_1 = P(y=1)``.
    n_features : int
    direction : array-like, shape (p,), optional
        Where the class difference lies among the standardized features; default
        e_1.  ``np.ones(p)`` spreads it evenly.

    Returns
    -------
    float
        ``lim E[ER(NB) − ER*] / E[ER(logistic) − ER*]``.

    Examples
    --------
    With one feature naive Bayes is LDA, so the efficiency is Efron's:

    >>> round(naive_bayes_efficiency(2.0), 3)
    0.899
    """
    p = int(n_features)
    u = _unit_direction(direction, p)
    # A Householder reflection Q with Q e_1 = u takes the e_1 frame to u's.
    v = np.eye(p)[0] - u
    q = np.eye(p) if np.linalg.norm(v) < 1e-15 else np.eye(p) - 2 * np.outer(v, v) / (v @ v)
    rot = np.eye(p + 1)
    rot[1:, 1:] = q
    c_nb = rot.T @ naive_bayes_covariance(delta, prior, p, u) @ rot
    _, c_logistic = asymptotic_covariances(delta, prior, p)
    hess = _scaled_error_hessian(delta, prior, p)
    return float(np.trace(hess @ c_nb) / np.trace(hess @ c_logistic))
