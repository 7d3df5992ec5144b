"""The implied logistic coefficients of a shared-covariance Gaussian fit, and their
asymptotic covariance by the delta method.

With priors π, class means m_k and covariance Σ (P = Σ⁻¹), the log posterior
odds of class k against the reference 0 are linear in x:

    w_k = P (m_k − m_0),     b_k = log(π_k/π_0) − ½ (m_k + m_0)ᵀ w_k.

Under the Gaussian model the estimates of the priors, the means and Σ are
asymptotically independent, with Var(m̂_k) = Σ/n_k, Var(π̂) = (diag π − ππᵀ)/n
and Cov(Σ̂_ij, Σ̂_kl) = (Σ_ik Σ_jl + Σ_il Σ_jk)/n.  Each contributes J V Jᵀ to the
covariance of θ_k = (b_k, w_k).  For the Σ part we use that for any matrices
A, B and vectors u, v

    Cov(A dΣ u, B dΣ v) = (1/n)·[A Σ v uᵀ Σ Bᵀ + (uᵀ Σ v)·A Σ Bᵀ],

since dθ_k = A_k dΣ w_k with A_k = [½ (m_k + m_0)ᵀ P; −P].

With shrinkage the rule uses Σ_α = (1 − α)S + α (tr S/p) I, a linear function
of the estimate S, so dΣ_α = (1 − α) dS + (α/p) tr(dS) I: P, w and A_k are
Σ_α's, while the sampling variances (of S and of the means) are S's.  The
extra terms need Cov(A dS u, tr dS) = 2 A S² u/n and Var(tr dS) = 2 tr(S²)/n.
α is treated as fixed; an estimated (Ledoit–Wolf) α varies by O(1/n) too,
which this leaves out.
"""

from __future__ import annotations

import numpy as np

from expfam._typing import FloatArray

__all__ = ["implied_coefficients", "implied_covariance"]


def implied_coefficients(priors: FloatArray, means: FloatArray,
                         precision: FloatArray) -> FloatArray:
    """θ_k = (b_k, w_k) for each non-reference class: shape (p + 1, K − 1)."""
    slopes = precision @ (means[1:] - means[0]).T  # (p, K−1)
    centre = (means[1:] + means[0]).T  # (p, K−1)
    intercepts = np.log(priors[1:] / priors[0]) - 0.5 * np.einsum("pk,pk->k", centre, slopes)
    return np.vstack([intercepts, slopes])


def implied_covariance(priors: FloatArray, means: FloatArray, covariance: FloatArray,
                       precision: FloatArray, class_weight: FloatArray, total: float,
                       covariance_df: float, priors_estimated: bool,
                       alpha: float = 0.0) -> FloatArray:
    """Asymptotic covariance of the implied coefficients, class-major.

    Parameters
    ----------
    priors : ndarray, shape (K,)
    means : ndarray, shape (K, p)
    covariance : ndarray, shape (p, p)
        The unshrunk estimate S of Σ, which gives the sampling variances.
    precision : ndarray, shape (p, p)
        The inverse of the covariance the rule uses: S⁻¹, or Σ_α⁻¹ with shrinkage.
    class_weight : ndarray, shape (K,)
        n_k, the (weighted) rows per class: Var(m̂_k) = Σ/n_k.
    total : float
        n, for the priors' multinomial variance.
    covariance_df : float
        The divisor of the pooled scatter (n or n − K): Var(Σ̂) scales as its inverse.
    priors_estimated : bool
        Whether the priors were estimated (else they carry no variance).
    alpha : float
        The shrinkage amount, taken as fixed (0: none).

    Returns
    -------
    ndarray, shape ((p+1)(K−1), (p+1)(K−1))
        Ordered class by class, intercept first within each class, as the
        layout of the multinomial logit's coefficients.
    """
    k, p = means.shape
    m = k - 1
    theta = implied_coefficients(priors, means, precision)
    slopes = theta[1:]
    out = np.zeros((m * (p + 1), m * (p + 1)))

    def block(j: int, q: int) -> tuple[slice, slice]:
        return slice(j * (p + 1), (j + 1) * (p + 1)), slice(q * (p + 1), (q + 1) * (p + 1))

    # Σ_α: dθ_k = A_k dΣ_α w_k, with dΣ_α = (1 − α) dS + (α/p) tr(dS) I.
    a = [np.vstack([0.5 * (means[c + 1] + means[0]) @ precision, -precision]) for c in range(m)]
    squared = covariance @ covariance
    keep, spread = 1.0 - alpha, alpha / p
    for j in range(m):
        for q in range(m):
            u, v = slopes[:, j], slopes[:, q]
            au, bv = a[j] @ u, a[q] @ v
            wishart = (a[j] @ covariance @ np.outer(v, u) @ covariance @ a[q].T
                       + (u @ covariance @ v) * (a[j] @ covariance @ a[q].T))
            cross = 2.0 * (np.outer(a[j] @ squared @ u, bv) + np.outer(au, a[q] @ squared @ v))
            trace = 2.0 * np.trace(squared) * np.outer(au, bv)
            out[block(j, q)] += (keep**2 * wishart + keep * spread * cross
                                 + spread**2 * trace) / covariance_df

    # Means: θ_k depends on m_k and on the reference's m_0.
    def d_mean(c: int, own: bool) -> FloatArray:
        """∂θ_c/∂m_c (own) or ∂θ_c/∂m_0, shape (p + 1, p)."""
        sign = 1.0 if own else -1.0
        w = slopes[:, c]
        centre_term = precision @ (means[c + 1] + means[0])
        return np.vstack([-0.5 * (w + sign * centre_term), sign * precision])

    for j in range(m):
        for q in range(m):
            cov = d_mean(j, False) @ covariance @ d_mean(q, False).T / class_weight[0]
            if j == q:
                cov += d_mean(j, True) @ covariance @ d_mean(j, True).T / class_weight[j + 1]
            out[block(j, q)] += cov

    # Priors: db_k = dπ_k/π_k − dπ_0/π_0, with multinomial covariance.
    if priors_estimated:
        for j in range(m):
            for q in range(m):
                out[j * (p + 1), q * (p + 1)] += (
                    (1.0 / priors[j + 1] if j == q else 0.0) + 1.0 / priors[0]) / total
    return (out + out.T) / 2.0
