"""Firth's penalized logistic regression over Dask partitions.

The algorithm of :mod:`expfam.engine.solvers.firth` (Newton's method on the
penalized score with the Fisher information, halving the step while the
penalized loss ½·log|XᵀWX| − l rises), arranged in passes:

- an *evaluation* pass at a trial point returns the loss, gradient and
  information XᵀWX there, from which the client gets the penalized loss
  (log|XᵀWX| from its Cholesky factor) and H⁻¹;
- a *score* pass at the accepted point, given a square root C of H⁻¹
  (H⁻¹ = C·Cᵀ), sums each partition's Xᵀ[h·(½ − μ)] with the hat values
  h_i = w_i·V_i·|Cᵀx_i|² — for a formula's factor through its codes
  (:meth:`StructuredDesign.matvec` of C), never dummy columns — and, given
  the null model, the statistics at that point, so the pass that finds the
  fit converged is also the results' statistics pass.

A fit takes 1 + 2 passes per iteration (more when a step is halved).  As in
memory, a coefficient can be held fixed: the profile penalized-likelihood
intervals refit so (:mod:`expfam.inference.dask_firth_profile`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.blocks import NewtonSums, row_slices
from expfam.backend.dask_backend import DaskBackend
from expfam.design.gram import ArrowGram
from expfam.design.matrix import StructuredDesign
from expfam.engine.dask_problem import (
    PART_BLOCK_ROWS,
    Part,
    Statistics,
    newton_part,
    statistics_part,
)
from expfam.engine.linalg import CholeskyFactor
from expfam.engine.solvers._result import SolverResult
from expfam.engine.solvers.dask_newton import DaskFit
from expfam.engine.solvers.firth import MAX_HALVINGS
from expfam.errors import NumericalError, RankDeficientError

__all__ = ["FirthSums", "dask_firth", "firth_part", "inverse_root"]


@dataclass(frozen=True)
class FirthSums:
    """Σ Xᵀ[h·(½ − μ)] over some rows, and the statistics there if asked for."""

    correction: FloatArray
    statistics: Statistics | None

    def __add__(self, other: FirthSums) -> FirthSums:
        stats = (None if self.statistics is None or other.statistics is None
                 else self.statistics + other.statistics)
        return FirthSums(self.correction + other.correction, stats)


def firth_part(part: Part, coef: FloatArray, root: FloatArray,
               null_coef: FloatArray | None) -> FirthSums:
    """One partition's Firth correction at ``coef`` given C with H⁻¹ = C·Cᵀ (and the
    statistics when the null model's coefficients are given)."""
    prob = part.problem
    family = prob.family
    correction = np.zeros(prob.n_features)
    eta = np.empty(prob.n_obs)
    for rows in row_slices(prob.n_obs, PART_BLOCK_ROWS):
        b = prob.block(rows)
        x = b.exog
        e = _product(x, coef)
        if b.offset is not None:
            e = e + b.offset
        eta[rows] = e
        # x_iᵀH⁻¹x_i = |Cᵀx_i|²: the rows of X·C, by the design's own products.
        xc = _product(x, root)
        hat = b.weights * family.fisher_weight(e) * np.einsum("ij,ij->i", xc, xc)
        r = hat * (0.5 - family.mean(e))
        correction += x.rmatvec(r) if isinstance(x, StructuredDesign) else r @ x
    stats = None if null_coef is None else statistics_part(part, coef, null_coef, eta=eta)
    return FirthSums(correction, stats)


def _product(x: FloatArray | StructuredDesign, b: FloatArray) -> FloatArray:
    """X·b for a block's dense columns or structured design (a factor by its codes)."""
    return x.matvec(b) if isinstance(x, StructuredDesign) else np.asarray(x @ b)


def inverse_root(factor: CholeskyFactor) -> FloatArray:
    """C with C·Cᵀ = H⁻¹, from H⁻¹ equilibrated (as the information's factor is):
    D·H⁻¹·D = L·Lᵀ with D = diag(H⁻¹)^(−½), so C = D⁻¹·L."""
    inverse = factor.inverse()
    d = np.sqrt(np.diagonal(inverse))
    lower = np.linalg.cholesky(inverse / np.outer(d, d))
    return d[:, None] * lower


@dataclass(frozen=True)
class _Point:
    coef: FloatArray
    sums: NewtonSums
    factor: CholeskyFactor
    penalized: float


def _evaluate(backend: DaskBackend, coef: FloatArray, parts: Any,
              names: Sequence[str] | None = None) -> _Point:
    """The evaluation pass: loss, gradient, information and the penalized loss
    (a singular information names the aliased columns when ``names`` are given)."""
    sums: NewtonSums = backend.map_sum(newton_part, coef, True,
                                       what="Firth: loss and information", parts=parts)
    if isinstance(sums.hessian, ArrowGram):  # the penalty needs H⁻¹ whole (as in memory)
        sums = NewtonSums(sums.loss, sums.gradient, sums.hessian.dense(), sums.boundary)
    if not sums.finite:
        raise NumericalError("non-finite log-likelihood or information in Firth's fit")
    factor = CholeskyFactor(sums.hessian, None if names is None else list(names))
    assert sums.loss is not None
    return _Point(coef, sums, factor, sums.loss - 0.5 * factor.log_determinant())


def dask_firth(backend: DaskBackend, n_features: int, *, parts: Any = None,
               start: FloatArray | None = None, tol: float | None = None,
               max_iter: int | None = None, fixed: Sequence[int] = (),
               null_coef: FloatArray | None = None,
               names: Sequence[str] | None = None) -> DaskFit:
    """Maximise Firth's penalized likelihood over the partitions (see the module).

    Parameters
    ----------
    backend : DaskBackend
        Its partitions (or ``parts``) hold a Bernoulli or binomial problem with
        the logit link.
    n_features : int
        p, the coefficients.
    start : ndarray, shape (p,), optional
        Default zeros (logistf's start, as in memory).
    tol : float, optional
        Stop when the Newton step is at most ``tol`` standard errors (1e-10).
    max_iter : int, optional
        200 by default.
    fixed : sequence of int
        Coefficients held at their ``start`` values (profile intervals).
    null_coef : ndarray, optional
        The null model's coefficients: the last score pass also sums the statistics.
    names : sequence of str, optional
        Coefficient names, for errors about aliased columns.
    """
    tol = 1e-10 if tol is None else tol
    max_iter = 200 if max_iter is None else max_iter
    p = n_features
    free = np.setdiff1d(np.arange(p), np.asarray(fixed, dtype=np.int64))
    coef = np.zeros(p) if start is None else np.array(start, dtype=np.float64)
    point = _evaluate(backend, coef, parts, names)  # aliased columns: named
    history: list[dict[str, Any]] = []
    converged, message = False, f"iteration limit reached (max_iter={max_iter})"
    statistics: Statistics | None = None
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 (reported below)
        found: FirthSums = backend.map_sum(firth_part, point.coef, inverse_root(point.factor),
                                           None if fixed else null_coef,
                                           what="Firth: hat values and penalized score",
                                           parts=parts)
        score = -point.sums.gradient + found.correction
        info = point.sums.hessian[np.ix_(free, free)]
        step = np.zeros(p)
        step[free] = CholeskyFactor(info, None).solve(score[free])
        decrement = float(score[free] @ step[free])
        history.append({"stage": "dask", "kind": "firth", "loss": point.penalized,
                        "grad_norm": float(np.linalg.norm(score[free])), "step": 1.0,
                        "decrement": decrement})
        # The decrement UᵀI⁻¹U: the squared step in standard errors (as in memory).
        if decrement <= tol * tol:
            converged, message = True, "converged: the Newton step is below tol standard errors"
            statistics = found.statistics
            break
        new = None
        for _ in range(MAX_HALVINGS):
            try:
                new = _evaluate(backend, point.coef + step, parts)
            except (RankDeficientError, NumericalError):  # the information underflowed
                new = None
            if new is not None and new.penalized <= point.penalized + 1e-12 * (
                    1 + abs(point.penalized)):
                break
            new = None
            step = step / 2.0
        if new is None:
            message = "step-halving failed to lower the penalized loss"
            break
        point = new
    sums = point.sums
    assert sums.loss is not None and sums.hessian is not None
    record = SolverResult(coef=point.coef, eta=np.empty(0), loss=sums.loss,
                          hessian=sums.hessian, converged=converged, n_iter=iterations,
                          method="firth", message=message, n_boundary=sums.boundary,
                          history=history, penalized_loss=point.penalized)
    return DaskFit(record, backend.n_passes, statistics)

