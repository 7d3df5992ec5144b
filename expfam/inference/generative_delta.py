"""The delta method for coefficients implied by a generative fit, by complex-step Jacobians.

A generative classifier estimates parameters φ (priors, class means, class
covariances, Bernoulli or Poisson rates ...) whose sampling covariance V is
known in closed form, and implies the softmax coefficients θ = g(φ) on its
sufficient statistics.  The delta method gives Cov(θ̂) ≈ J V Jᵀ with J = ∂g/∂φ.

J is computed by the complex step, ∂g/∂φ_i = Im g(φ + i·h·e_i) / h with
h = 1e-30: there is no subtraction, so the derivative is exact to rounding
(unlike a finite difference), provided g is built from analytic operations
(arithmetic, log, matrix inverse, determinant) — no abs, no comparisons on the
perturbed values.  The LDA's closed-form Jacobian (:mod:`.lda_coefficients`)
is matched by this to machine precision in the tests.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from expfam._typing import FloatArray

__all__ = ["complex_step_jacobian", "delta_covariance", "log_det", "wishart_covariance"]

STEP = 1e-30


def complex_step_jacobian(func: Callable[[np.ndarray], np.ndarray],
                          point: FloatArray) -> FloatArray:
    """∂func/∂point at ``point``: shape (len(func(point)), len(point)).

    Parameters
    ----------
    func : callable
        Maps a (complex) vector of shape (m,) to a vector of shape (q,) using
        only analytic operations.
    point : ndarray, shape (m,)
    """
    point = np.asarray(point, dtype=np.float64)
    base = np.asarray(func(point.astype(np.complex128)))
    jac = np.empty((base.size, point.size))
    for i in range(point.size):
        shifted = point.astype(np.complex128)
        shifted[i] += 1j * STEP
        jac[:, i] = np.imag(np.asarray(func(shifted)).ravel()) / STEP
    return jac


def delta_covariance(func: Callable[[np.ndarray], np.ndarray], point: FloatArray,
                     covariance: FloatArray) -> FloatArray:
    """J V Jᵀ, symmetrised: shape (q, q)."""
    jac = complex_step_jacobian(func, point)
    out = jac @ covariance @ jac.T
    return (out + out.T) / 2.0


def log_det(matrix: np.ndarray) -> np.ndarray:
    """log det of a (possibly complex-stepped) positive definite matrix.

    ``slogdet`` splits a complex determinant into a unit phase and log|det|;
    the log of the phase carries the complex step's imaginary part.
    """
    sign, logabs = np.linalg.slogdet(matrix)
    return np.log(sign) + logabs if np.iscomplexobj(matrix) else np.asarray(logabs)


def wishart_covariance(cov: FloatArray, df: float) -> FloatArray:
    """Cov(vec Σ̂) for a Gaussian covariance estimate on ``df`` degrees of freedom:
    Cov(Σ̂_ij, Σ̂_kl) = (Σ_ik Σ_jl + Σ_il Σ_jk)/df, shape (p², p²) (row-major vec)."""
    p = cov.shape[0]
    first = np.einsum("ik,jl->ijkl", cov, cov)
    second = np.einsum("il,jk->ijkl", cov, cov)
    return np.asarray((first + second).reshape(p * p, p * p) / df)
