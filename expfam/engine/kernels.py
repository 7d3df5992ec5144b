"""Block kernels: what one block of rows contributes to a solver step.

Each kernel is a pure function of one :class:`~expfam.engine.problem.Block` and the
current coefficients, returning a :class:`~expfam.backend.blocks.NewtonSums`.  Kernels
may also write the block's linear predictor into a caller's array (disjoint
slices, so safe from several threads), which lets the solver backtrack along a
step in η-space without touching X again.

The loss is ``Σ w·(A(η) − t·η)``, the negative log-likelihood without its base
measure; its gradient is ``Xᵀ(w·(μ − t))`` and its Hessian ``Xᵀ diag(w·V) X``
(with V the m × m covariance blocks for the categorical family).  Under a
non-canonical link the family supplies the per-row loss, score and weight in η
(:meth:`~expfam.families.LinkedFamily.working`): the gradient is
``Xᵀ(w·(μ − t)·μ'/V)`` and the Hessian Fisher scoring's ``Xᵀ diag(w·μ'²/V) X``;
the canonical path below is untouched.
"""

from __future__ import annotations

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.blocks import Backend, NewtonSums, default_backend
from expfam.design.gram import ArrowGram
from expfam.design.matrix import StructuredDesign
from expfam.engine.problem import Block, GLMProblem
from expfam.engine.schur import SchurFactor
from expfam.families.base import ExponentialFamily

#: A design block: a float64 array, or a structured design's rows.
Exog = FloatArray | StructuredDesign

#: Variances below this mark a fitted mean on the boundary (R: 10·machine ε).
BOUNDARY = 10 * np.finfo(np.float64).eps

__all__ = [
    "gradient_block",
    "hat_values",
    "linear_predictor",
    "loss_at_eta",
    "newton_block",
    "predict_eta",
    "softmax_gram",
    "start_block",
    "weighted_gram",
]



def linear_predictor(block: Block, coef: FloatArray) -> FloatArray:
    """η = X·β (+ offset) for one block; shape (b,) or (b, m)."""
    exog = block.exog
    eta = exog.matvec(coef) if isinstance(exog, StructuredDesign) else exog @ coef
    if block.offset is not None:
        eta += block.offset
    return eta


def weighted_gram(exog: Exog, wv: FloatArray,
                  dtype: type[np.floating] = np.float64) -> FloatArray | ArrowGram:
    """Xᵀ diag(wv) X for non-negative row weights ``wv``, shape (p, p), in float64.

    One symmetric rank-b update on √wv·X (NumPy sends ``Bᵀ @ B`` to BLAS
    ``syrk``), rather than forming diag(wv)·X and a general product.  With
    ``dtype=np.float32`` the update runs in single precision (twice the speed,
    relative error about 1e-6): good enough for a Newton *step*, never for the
    covariance, which the solver always takes from a float64 pass.  A
    structured design forms it from its parts (always float64; see
    :meth:`StructuredDesign.gram`), possibly as an :class:`ArrowGram`.
    """
    if isinstance(exog, StructuredDesign):
        return exog.gram(wv)
    root = np.sqrt(wv)
    if dtype == np.float64:
        scaled = exog * root[:, None]
        return scaled.T @ scaled
    # Cast first, then scale in single precision: NumPy's casting multiply into
    # a float32 output is slower than the float64 product it replaces.
    single = exog.astype(dtype)
    single *= root.astype(dtype)[:, None]
    return (single.T @ single).astype(np.float64)


#: The fast categorical Hessian subtracts Σ w·p_j²·x² from Σ w·p_j·x² on its
#: diagonal; it is used while the first is at most this many times the
#: difference, i.e. while rounding costs at most about 1e-10 relative.
CANCELLATION_LIMIT = 1e6


def softmax_gram(exog: Exog, weights: FloatArray, prob: FloatArray) -> FloatArray:
    """Σ_i w_i (diag(p_i) − p_i p_iᵀ) ⊗ x_i x_iᵀ, the categorical Hessian, class-major.

    Parameters
    ----------
    exog : ndarray, shape (b, p)
    weights : ndarray, shape (b,)
    prob : ndarray, shape (b, m)
        Probabilities of the m = K−1 non-reference classes.

    Returns
    -------
    ndarray, shape (p·m, p·m)
        Block (j, k) is Xᵀ diag(w·(δ_jk p_j − p_j p_k)) X.

    Notes
    -----
    The −p pᵀ part of every block at once is −UᵀU with U = [√w p_1 X, …,
    √w p_m X] (b × p·m): one ``syrk`` of width p·m, instead of m(m+1)/2 weighted
    products each needing its own scaled copy of X.  The diagonal blocks then
    add Xᵀ diag(w p_j) X, all m of them as one product (√w X)ᵀU.  That
    difference loses accuracy where p_j → 1 for most of the weight (a
    near-separated fit); then the diagonal blocks are recomputed directly from
    p_j(1 − p_j).  (The test compares diagonals: off-diagonal entries are
    bounded by them, by Cauchy–Schwarz.)  A structured design forms each block
    with its own Gram product (dense: categorical Hessians are not arrows).
    """
    if isinstance(exog, StructuredDesign):
        return _structured_softmax_gram(exog, weights, prob)
    b, p = exog.shape
    m = prob.shape[1]
    root_w = np.sqrt(weights)
    u = np.empty((b, m, p))
    np.multiply((root_w[:, None] * prob)[:, :, None], exog[:, None, :], out=u)
    flat = u.reshape(b, m * p)
    out = flat.T @ flat
    out *= -1.0
    # Xᵀ diag(w p_j) X for every class j in one product: (√w X)ᵀ U.
    gross = (exog * root_w[:, None]).T @ flat
    for j in range(m):
        block = gross[:, j * p : (j + 1) * p]
        out[j * p : (j + 1) * p, j * p : (j + 1) * p] += 0.5 * (block + block.T)
    gross_diag = np.diagonal(gross.reshape(p, m, p), axis1=0, axis2=2)  # (m, p)
    net_diag = np.diagonal(out).reshape(m, p)
    if np.all(gross_diag <= CANCELLATION_LIMIT * net_diag):
        return out
    for j in range(m):  # the off-diagonal blocks never cancel; redo the diagonal ones
        out[j * p : (j + 1) * p, j * p : (j + 1) * p] = np.asarray(weighted_gram(
            exog, weights * prob[:, j] * (1.0 - prob[:, j])))
    return out


def _structured_softmax_gram(exog: StructuredDesign, weights: FloatArray,
                             prob: FloatArray) -> FloatArray:
    """Block (j, k) = Xᵀ diag(w·(δ_jk p_j − p_j p_k)) X, each from the design's parts."""
    p, m = exog.n_cols, prob.shape[1]
    out = np.empty((p * m, p * m))
    for j in range(m):
        for k in range(j, m):
            wjk = weights * prob[:, j] * ((j == k) - prob[:, k])
            block = np.asarray(exog.gram(wjk, dense=True))
            out[j * p:(j + 1) * p, k * p:(k + 1) * p] = block
            if k != j:
                out[k * p:(k + 1) * p, j * p:(j + 1) * p] = block.T
    return out


def _hessian(exog: Exog, weights: FloatArray, mu: FloatArray,
             var: FloatArray | None, dtype: type[np.floating]
             ) -> tuple[FloatArray | ArrowGram, int]:
    """The block's Hessian and its count of boundary rows (see :func:`_count_boundary`)."""
    if var is None:  # categorical: V = diag(p) − p pᵀ is implied by p
        return softmax_gram(exog, weights, mu), _count_boundary(mu * (1.0 - mu), weights)
    return weighted_gram(exog, weights * var, dtype), _count_boundary(var, weights)


def _xt(exog: Exog, r: FloatArray) -> FloatArray:
    """Xᵀr flattened class by class: shape (p,) or (p·m,)."""
    if isinstance(exog, StructuredDesign):
        return exog.rmatvec(r).reshape(-1, order="F")
    return (r @ exog) if r.ndim == 1 else (exog.T @ r).reshape(-1, order="F")


def _row_loss(family: ExponentialFamily, weights: FloatArray, log_partition: FloatArray,
              target: FloatArray, eta: FloatArray) -> float:
    return float(np.dot(weights, family.row_loss(target, eta, log_partition)))


def newton_block(
    problem: GLMProblem,
    rows: slice,
    coef: FloatArray,
    *,
    hessian: bool,
    eta_out: FloatArray | None = None,
    hessian_dtype: type[np.floating] = np.float64,
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
    hessian_dtype : {np.float64, np.float32}
        Precision of the Hessian's rank-b update (scalar families; see
        :func:`weighted_gram`).  Loss and gradient are always float64.
    """
    block = problem.block(rows)
    # A trial step may overflow (e.g. a Poisson mean); the solver sees the
    # non-finite sums and backtracks, so the floating-point warnings are noise.
    with np.errstate(over="ignore", invalid="ignore"):
        eta = linear_predictor(block, coef)
        if eta_out is not None:
            eta_out[rows] = eta
        w = block.weights
        if not problem.family.canonical:
            return _linked_sums(problem.family, block, eta, hessian, hessian_dtype)
        a, mu, var = _cumulants(problem.family, eta)
        resid = (w * (mu - block.target).T).T  # w·(μ − t), broadcast over classes
        hess, boundary = (_hessian(block.exog, w, mu, var, hessian_dtype) if hessian
                          else (None, 0))
        return NewtonSums(_row_loss(problem.family, w, a, block.target, eta),
                          _xt(block.exog, resid), hess,
                          boundary)


def _linked_sums(family: ExponentialFamily, block: Block, eta: FloatArray, hessian: bool,
                 hessian_dtype: type[np.floating]) -> NewtonSums:
    """The same sums under a non-canonical link: the per-row loss, score and expected
    information in η come from the family (:meth:`LinkedFamily.working`), so the
    Hessian is Fisher scoring's Xᵀ diag(w·μ'²/V) X, as R's ``glm``."""
    loss, score, fisher, var = family.working(block.target, eta)  # type: ignore[attr-defined]
    w = block.weights
    # Rows of zero weight add nothing, even where their mean is invalid (inf·0).
    loss = float(np.dot(w, np.where(w > 0, loss, 0.0)))
    hess, boundary = (None, 0)
    if hessian:
        hess = weighted_gram(block.exog, np.where(w > 0, w * fisher, 0.0), hessian_dtype)
        boundary = _count_boundary(var, w)
    return NewtonSums(loss, _xt(block.exog, w * score), hess, boundary)


def _cumulants(family: ExponentialFamily, eta: FloatArray
               ) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """A(η), the mean and the variance; for the categorical family no m × m
    variance, which :func:`softmax_gram` never needs."""
    if family.vector_natural:
        return (*family.log_partition_and_mean(eta), None)
    return family.cumulants(eta)


def _count_boundary(var: FloatArray, weights: FloatArray) -> int:
    """Rows of positive weight whose variance (any class's, for categorical) underflows.

    R's threshold: a probability within 10·ε of 0 or 1, or a mean below 10·ε,
    makes the variance smaller than about 10·ε.  ``var`` is (b,) or, for the
    categorical family, the (b, m) per-class variances p(1 − p).
    """
    diag = var if var.ndim == 1 else var.min(axis=1)
    return int(np.count_nonzero((diag < BOUNDARY) & (weights > 0)))


def gradient_block(problem: GLMProblem, rows: slice, coef: FloatArray,
                   eta_out: FloatArray | None = None) -> NewtonSums:
    """Gradient only (no loss, no Hessian): the cheapest pass, needing just the mean."""
    block = problem.block(rows)
    with np.errstate(over="ignore", invalid="ignore"):
        eta = linear_predictor(block, coef)
        if eta_out is not None:
            eta_out[rows] = eta
        if not problem.family.canonical:
            return NewtonSums(None, _xt(block.exog, -block.weights * problem.family.eta_score(
                block.target, eta)))
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
        centred = eta0 if block.offset is None else eta0 - block.offset
        if family.vector_natural:  # V₀(η₀ − offset) with V₀ = diag(μ₀) − μ₀μ₀ᵀ
            v_eta = mu0 * (centred - np.einsum("ij,ij->i", mu0, centred)[:, None])
            hess: FloatArray | ArrowGram = softmax_gram(block.exog, w, mu0)
        elif not family.canonical:
            # R's first step: z = η₀ + (t − μ₀)/μ'₀ with weights μ'₀²/V₀, whose
            # right-hand side W₀z is W₀(η₀ − offset) + (t − μ₀)·μ'₀/V₀.
            fisher = family.fisher_weight(eta0)
            hess = weighted_gram(block.exog, w * fisher)
            rhs = _xt(block.exog, w * (fisher * centred + family.eta_score(block.target,
                                                                           eta0)))
            return NewtonSums(0.0, -rhs, hess)
        else:
            var0 = family.variance(eta0)
            v_eta = var0 * centred
            hess = weighted_gram(block.exog, w * var0)
        rhs = _xt(block.exog, (w * (v_eta + block.target - mu0).T).T)
        return NewtonSums(0.0, -rhs, hess)


def loss_at_eta(problem: GLMProblem, rows: slice, eta: FloatArray) -> float:
    """Σ w·(A(η) − t·η) over ``rows`` for a given η (no X needed)."""
    eta_rows = eta[rows]
    if not problem.family.canonical:
        w = problem.weights[rows]
        loss = problem.family.working(  # type: ignore[attr-defined]
            problem.target[rows], eta_rows)[0]
        return float(np.dot(w, np.where(w > 0, loss, 0.0)))
    with np.errstate(over="ignore", invalid="ignore"):
        a = problem.family.log_partition(eta_rows)
        return _row_loss(problem.family, problem.weights[rows], a, problem.target[rows],
                         eta_rows)


def predict_eta(exog: np.ndarray | StructuredDesign, coef: FloatArray,
                offset: FloatArray | None = None,
                backend: Backend | None = None) -> FloatArray:
    """η = X·β (+ offset) for every row of ``exog``, computed block by block.

    Blocks are cast to float64 one at a time, so a float32 or integer design is
    never copied whole.  Shape ``(n,)`` or ``(n, m)``.
    """
    out = np.empty((exog.shape[0], *np.shape(coef)[1:]))

    def fill(rows: slice) -> int:
        if isinstance(exog, StructuredDesign):
            out[rows] = exog.rows(rows).matvec(coef)
        else:
            out[rows] = np.asarray(exog[rows], dtype=np.float64) @ coef
        if offset is not None:
            out[rows] += offset[rows]
        return 0

    if exog.shape[0]:
        (backend or default_backend()).map_sum(fill, exog.shape[0])
    return out


def hat_values(problem: GLMProblem, eta: FloatArray, bread: FloatArray | SchurFactor,
               backend: Backend) -> FloatArray:
    """Diagonal of the GLM hat matrix, h_i = w_i W_i x_iᵀ B x_i (scalar families), with
    the working weight W = μ'²/V (V for a canonical link).

    ``bread`` is B = H⁻¹ as an array, or the Schur factorization of an arrow H
    (a factor with many levels), whose inverse is never formed.
    """
    out = np.empty(problem.n_obs)

    def fill(rows: slice) -> int:
        block = problem.block(rows)
        var = problem.family.fisher_weight(eta[rows])  # V for a canonical link
        out[rows] = block.weights * var * quadratic_form(block.exog, bread)
        return 0

    backend.map_sum(fill, problem.n_obs)
    return out


def quadratic_form(exog: Exog, bread: FloatArray | SchurFactor) -> FloatArray:
    """x_iᵀ B x_i for every row of a block, shape (b,).

    For a Schur factorization of H = [[A, B], [Bᵀ, D]] and a row with small
    columns s and value v at level c, xᵀH⁻¹x = zᵀS⁻¹z + v²/D_c with
    z = s − v·(BD⁻¹)_c: only the p_s small columns are written out.
    """
    if isinstance(bread, SchurFactor):
        assert isinstance(exog, StructuredDesign)
        return _arrow_quadratic_form(exog, bread)
    x = exog.dense() if isinstance(exog, StructuredDesign) else exog
    return np.einsum("ij,jk,ik->i", x, bread, x)


def _arrow_quadratic_form(exog: StructuredDesign, factor: SchurFactor) -> FloatArray:
    from expfam.design.parts import FactorColumns

    big = exog.diagonal_part
    assert big is not None
    part = exog.parts[big]
    assert isinstance(part, FactorColumns)
    small = exog.dense_small()
    inside = part.codes < part.width
    v = np.ones(exog.n_rows) if part.values is None else part.values
    v = np.where(inside, v, 0.0)
    col = np.minimum(part.codes, part.width - 1)
    # Level c of the factor is coefficient big_cols[c]; BD⁻¹ and D are in that order.
    z = np.take(factor.level_rows, col, axis=0)
    z *= -v[:, None]
    z += small
    quad = np.einsum("ij,ij->i", factor.schur_solve(z.T).T, z) if small.shape[1] else 0.0
    return np.asarray(quad + v**2 * factor.inv_d[col])
