"""Block kernels: what one block of rows contributes to a solver step.

Each kernel is a pure function of one :class:`~expfam._problem.Block` and the
current coefficients, returning a :class:`~expfam._blocks.NewtonSums`.  Kernels
may also write the block's linear predictor into a caller's array (disjoint
slices, so safe from several threads), which lets the solver backtrack along a
step in η-space without touching X again.

The loss is ``Σ w·(A(η) − t·η)``, the negative log-likelihood without its base
measure; its gradient is ``Xᵀ(w·(μ − t))`` and its Hessian ``Xᵀ diag(w·V) X``
(with V the m × m covariance blocks for the categorical family).
"""

from __future__ import annotations

import numpy as np

from ._blocks import Backend, NewtonSums, default_backend
from ._problem import Block, GLMProblem
from ._typing import FloatArray

#: Variances below this mark a fitted mean on the boundary (R: 10·machine ε).
BOUNDARY = 10 * np.finfo(np.float64).eps

__all__ = [
    "gradient_block",
    "linear_predictor",
    "loss_at_eta",
    "newton_block",
    "predict_eta",
    "start_block",
    "weighted_gram",
]



def linear_predictor(block: Block, coef: FloatArray) -> FloatArray:
    """η = X·β (+ offset) for one block; shape (b,) or (b, m)."""
    eta = block.exog @ coef
    if block.offset is not None:
        eta += block.offset
    return eta


def weighted_gram(exog: FloatArray, wv: FloatArray, *, signed: bool = False) -> FloatArray:
    """Xᵀ diag(wv) X, flattened class by class for per-row m × m weights.

    For non-negative scalar weights this is one symmetric rank-b update on
    √wv·X (NumPy sends ``Bᵀ @ B`` to BLAS ``syrk``); ``signed=True`` allows
    weights of either sign at twice the cost.  For categorical weights, block
    (j, k) of the result is Xᵀ diag(wv[:, j, k]) X.
    """
    if wv.ndim == 1:
        if signed:
            return exog.T @ (exog * wv[:, None])
        scaled = exog * np.sqrt(wv)[:, None]
        return scaled.T @ scaled
    p, m = exog.shape[1], wv.shape[1]
    out = np.empty((p * m, p * m))
    for j in range(m):
        if signed:
            out[j * p : (j + 1) * p, j * p : (j + 1) * p] = exog.T @ (exog * wv[:, j, j][:, None])
        else:
            diag = exog * np.sqrt(wv[:, j, j])[:, None]
            out[j * p : (j + 1) * p, j * p : (j + 1) * p] = diag.T @ diag
        for k in range(j + 1, m):
            cross = exog.T @ (exog * wv[:, j, k][:, None])
            out[j * p : (j + 1) * p, k * p : (k + 1) * p] = cross
            out[k * p : (k + 1) * p, j * p : (j + 1) * p] = cross.T
    return out


def _xt(exog: FloatArray, r: FloatArray) -> FloatArray:
    """Xᵀr flattened class by class: shape (p,) or (p·m,)."""
    return (r @ exog) if r.ndim == 1 else (exog.T @ r).reshape(-1, order="F")


def _row_loss(weights: FloatArray, log_partition: FloatArray, target: FloatArray,
              eta: FloatArray) -> float:
    t_eta = target * eta if eta.ndim == 1 else np.einsum("ij,ij->i", target, eta)
    return float(np.dot(weights, log_partition - t_eta))


def newton_block(
    problem: GLMProblem,
    rows: slice,
    coef: FloatArray,
    *,
    hessian: bool,
    eta_out: FloatArray | None = None,
) -> NewtonSums:
    """Loss, gradient and optionally Hessian at ``coef`` over ``rows``.

    Parameters
    ----------
    coef : ndarray, shape (p,) or (p, m)
    hessian : bool
        Also form Xᵀ diag(w·V) X, the one O(b·p²) part, and count the rows
        whose fitted mean is on the boundary.
    eta_out : ndarray, shape (n,) or (n, m), optional
        Receives η for these rows.
    """
    block = problem.block(rows)
    # A trial step may overflow (e.g. a Poisson mean); the solver sees the
    # non-finite sums and backtracks, so the floating-point warnings are noise.
    with np.errstate(over="ignore", invalid="ignore"):
        eta = linear_predictor(block, coef)
        if eta_out is not None:
            eta_out[rows] = eta
        a, mu, var = problem.family.cumulants(eta)
        w = block.weights
        resid = (w * (mu - block.target).T).T  # w·(μ − t), broadcast over classes
        hess, boundary = None, 0
        if hessian:
            hess = weighted_gram(block.exog, (w * var.T).T)
            boundary = _count_boundary(var, w)
        return NewtonSums(_row_loss(w, a, block.target, eta), _xt(block.exog, resid), hess,
                          boundary)


def _count_boundary(var: FloatArray, weights: FloatArray) -> int:
    """Rows of positive weight whose variance (any class's, for categorical) underflows.

    R's threshold: a probability within 10·ε of 0 or 1, or a mean below 10·ε,
    makes the variance smaller than about 10·ε.
    """
    diag = var if var.ndim == 1 else np.einsum("ijj->ij", var).min(axis=1)
    return int(np.count_nonzero((diag < BOUNDARY) & (weights > 0)))


def gradient_block(problem: GLMProblem, rows: slice, coef: FloatArray,
                   eta_out: FloatArray | None = None) -> NewtonSums:
    """Gradient only (no loss, no Hessian): the cheapest pass, needing just the mean."""
    block = problem.block(rows)
    with np.errstate(over="ignore", invalid="ignore"):
        eta = linear_predictor(block, coef)
        if eta_out is not None:
            eta_out[rows] = eta
        mu = problem.family.mean(eta)
        resid = (block.weights * (mu - block.target).T).T
        return NewtonSums(None, _xt(block.exog, resid))


def start_block(problem: GLMProblem, rows: slice) -> NewtonSums:
    """The first IRLS step's normal equations at R's starting mean.

    IRLS starts from μ₀ = ``family.start_mean(t, w)`` and η₀ = θ(μ₀), not from a
    coefficient vector.  Its first step is the weighted least-squares fit of the
    working response z = (η₀ − offset) + V₀⁻¹(t − μ₀) with weights w·V₀, i.e.
    β₁ = (XᵀWX)⁻¹ Xᵀ(w·[V₀(η₀ − offset) + t − μ₀]).  Returned as a NewtonSums
    whose ``gradient`` holds the negated right-hand side, so β₁ = −H⁻¹g.
    """
    block = problem.block(rows)
    family = problem.family
    w = block.weights
    with np.errstate(over="ignore", invalid="ignore"):  # extreme X: caller sees inf
        mu0 = family.start_mean(block.target, w)
        eta0 = family.natural_from_mean(mu0)
        _, _, var0 = family.cumulants(eta0)
        centred = eta0 if block.offset is None else eta0 - block.offset
        v_eta = var0 * centred if var0.ndim == 1 else np.einsum("ijk,ik->ij", var0, centred)
        rhs = _xt(block.exog, (w * (v_eta + block.target - mu0).T).T)
        return NewtonSums(0.0, -rhs, weighted_gram(block.exog, (w * var0.T).T))


def loss_at_eta(problem: GLMProblem, rows: slice, eta: FloatArray) -> float:
    """Σ w·(A(η) − t·η) over ``rows`` for a given η (no X needed)."""
    eta_rows = eta[rows]
    with np.errstate(over="ignore", invalid="ignore"):
        a = problem.family.log_partition(eta_rows)
        return _row_loss(problem.weights[rows], a, problem.target[rows], eta_rows)


def predict_eta(exog: np.ndarray, coef: FloatArray, offset: FloatArray | None = None,
                backend: Backend | None = None) -> FloatArray:
    """η = X·β (+ offset) for every row of ``exog``, computed block by block.

    Blocks are cast to float64 one at a time, so a float32 or integer design is
    never copied whole.  Shape ``(n,)`` or ``(n, m)``.
    """
    out = np.empty((exog.shape[0], *np.shape(coef)[1:]))

    def fill(rows: slice) -> int:
        out[rows] = np.asarray(exog[rows], dtype=np.float64) @ coef
        if offset is not None:
            out[rows] += offset[rows]
        return 0

    if exog.shape[0]:
        (backend or default_backend()).map_sum(fill, exog.shape[0])
    return out
