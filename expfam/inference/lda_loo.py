"""Leave-one-out posteriors of LDA without refitting, as ``MASS::lda(CV=TRUE)``.

Leaving row i (weight w_i, class g with total weight W_g) out moves only its
class's mean and the pooled scatter, each by a rank-one change:

    m_g′ = m_g − w_i u / (W_g − w_i),          u = x_i − m_g,
    S′   = S − c u uᵀ,                          c = w_i W_g / (W_g − w_i),

and the covariance divisor D (n, or n − K for the unbiased estimate) loses w_i.
With A = Σ⁻¹ = D S⁻¹, Sherman–Morrison gives the left-out row's squared
Mahalanobis distance to each class mean, δ_j = x_i − m_j′ (m_j′ = m_j off
class g, and δ_g = u W_g / (W_g − w_i)):

    d_j = (D − w_i)/D · [δ_jᵀAδ_j + (c/D)(δ_jᵀAu)² / (1 − (c/D) uᵀAu)],

so all n leave-one-out posteriors, softmax(log π_j − d_j / 2) with the priors of
the full fit (as MASS), cost one factorisation of Σ and O(n K p) work.
"""

from __future__ import annotations

import numpy as np

from expfam._typing import FloatArray
from expfam.engine.linalg import CholeskyFactor
from expfam.errors import InputError
from expfam.families import Categorical

__all__ = ["loo_posteriors"]


def loo_posteriors(x: FloatArray, codes: np.ndarray, weights: FloatArray | None,
                   means: FloatArray, class_weight: FloatArray, covariance: FloatArray,
                   divisor: float, priors: FloatArray) -> FloatArray:
    """(n, K) leave-one-out posterior probabilities.

    Parameters
    ----------
    x : ndarray, shape (n, p)
    codes : ndarray of int, shape (n,)
        Class of each row, 0..K−1.
    weights : ndarray, shape (n,), optional
        Frequency weights; leaving a row out removes all its weight.
    means : ndarray, shape (K, p)
    class_weight : ndarray, shape (K,)
    covariance : ndarray, shape (p, p)
        The pooled within-class scatter over ``divisor`` (no shrinkage).
    divisor : float
    priors : ndarray, shape (K,)
    """
    n = x.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    rest = class_weight[codes] - w
    if np.any((rest <= 1) & (w > 0)):
        raise InputError("leave-one-out needs at least two other rows in each row's class "
                         "(a class of two rows would lose its spread)")
    factor = CholeskyFactor(covariance)
    u = x - means[codes]  # (n, p)
    a_u = factor.solve(u.T).T  # A u, row by row
    uau = np.einsum("ij,ij->i", u, a_u)
    c_over_d = w * class_weight[codes] / rest / divisor
    k = means.shape[0]
    dist = np.empty((n, k))
    for j in range(k):
        delta = x - means[j]
        own = codes == j
        delta[own] = u[own] * (class_weight[codes[own]] / rest[own])[:, None]
        a_delta = factor.solve(delta.T).T
        q = np.einsum("ij,ij->i", delta, a_delta)
        t = np.einsum("ij,ij->i", delta, a_u)
        dist[:, j] = (divisor - w) / divisor * (q + c_over_d * t**2 / (1 - c_over_d * uau))
    log_post = np.log(priors)[None, :] - 0.5 * dist
    eta = log_post[:, 1:] - log_post[:, :1]  # against the first class, for the softmax
    return Categorical().class_probabilities(eta)
