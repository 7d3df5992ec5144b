"""Firth's bias-reduced logistic regression (penalized likelihood).

Firth (1993) adds half the log-determinant of the information to the
log-likelihood, l*(β) = l(β) + ½·log|XᵀWX|: Jeffreys' prior as a penalty.  Its
score is the ordinary one with each row's response nudged towards ½ by its
hat value h_i,

    U*(β) = Xᵀ[w·(t − μ) + h·(½ − μ)],

and the estimates are finite even when the data are separated.  The fit is
Newton's method with the Fisher information XᵀWX for the step (as R's
``logistf``), halving the step while l* falls; the covariance is the inverse
information at the estimate, as ``logistf`` and ``brglm2`` report.  A
coefficient can be held fixed, which is what profile penalized-likelihood
intervals need.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.blocks import Backend, NewtonSums, blas_single_threaded, default_backend
from expfam.backend.progress import ProgressOption, reporter
from expfam.design.gram import ArrowGram
from expfam.design.matrix import StructuredDesign
from expfam.engine.kernels import hat_values, newton_block
from expfam.engine.linalg import CholeskyFactor
from expfam.engine.problem import GLMProblem
from expfam.engine.solvers._result import SolverResult
from expfam.errors import InputError, RankDeficientError

__all__ = ["firth"]

MAX_HALVINGS = 30


def _evaluate(problem: GLMProblem, coef: FloatArray, backend: Backend
              ) -> tuple[NewtonSums, CholeskyFactor, float, FloatArray]:
    """Sums, the information's factor, the penalized loss and η at ``coef``."""
    eta = np.empty(problem.eta_shape)
    sums = backend.map_sum(
        lambda rows: newton_block(problem, rows, coef, hessian=True, eta_out=eta),
        problem.n_obs)
    if isinstance(sums.hessian, ArrowGram):  # the penalty needs H⁻¹ whole anyway
        sums = NewtonSums(sums.loss, sums.gradient, sums.hessian.dense(), sums.boundary)
    factor = CholeskyFactor(sums.hessian)
    assert sums.loss is not None
    # The penalized loss: −l* without the base measure, loss − ½ log|XᵀWX|.
    return sums, factor, sums.loss - 0.5 * factor.log_determinant(), eta


def firth(
    problem: GLMProblem,
    *,
    start: FloatArray | None = None,
    tol: float = 1e-10,
    max_iter: int = 200,
    fixed: Sequence[int] = (),
    backend: Backend | None = None,
    names: Sequence[str] | None = None,
    progress: ProgressOption = False,
) -> SolverResult:
    """Maximise Firth's penalized likelihood (Bernoulli and binomial families).

    Parameters
    ----------
    problem : GLMProblem
    start : ndarray, shape (p,), optional
        Default zeros (logistf's start).
    tol : float
        Stop when the Newton step is at most ``tol`` standard errors (its
        decrement UᵀI⁻¹U at most tol²), whatever the columns' units.
    max_iter : int
    fixed : sequence of int
        Coefficients held at their ``start`` values (for profile intervals).
    backend : Backend, optional
    names : sequence of str, optional
        Coefficient names, for errors about aliased columns.
    progress : bool, "bar", "log" or callable
        Report every Newton step (penalized loss, decrement, time): see
        :mod:`expfam.backend.progress`.  Quiet by default.
    """
    if problem.family.name not in ("bernoulli", "binomial"):
        raise InputError(f"penalty='firth' is for the bernoulli and binomial families, not "
                         f"{problem.family.name}")
    if not problem.family.canonical:
        raise InputError(f"penalty='firth' is for the canonical logit link, not "
                         f"{problem.family.link_name!r}")
    backend = backend or default_backend()
    p = problem.n_features
    free = np.setdiff1d(np.arange(p), np.asarray(fixed, dtype=np.int64))
    coef = np.zeros(p) if start is None else np.array(start, dtype=np.float64)
    history: list[dict[str, float | int | str]] = []
    with blas_single_threaded(), reporter(progress, "firth") as bar:
        sums, factor, loss, eta = _evaluate(problem, coef, backend)
        converged, message = False, f"iteration limit reached (max_iter={max_iter})"
        iterations = 0
        for iterations in range(1, max_iter + 1):  # noqa: B007 (reported below)
            score = _penalized_score(problem, sums, factor, eta, backend)
            info = sums.hessian[np.ix_(free, free)]
            step = np.zeros(p)
            step[free] = CholeskyFactor(info, None).solve(score[free])
            history.append({"stage": problem.n_obs, "kind": "firth", "loss": loss,
                            "grad_norm": float(np.linalg.norm(score[free])),
                            "step": 1.0, "decrement": float(score[free] @ step[free])})
            bar.update(**history[-1])
            # The decrement Uᵀ I⁻¹ U is the squared step in standard errors: unlike
            # the step or the score themselves, it does not depend on the columns'
            # units (logistf's absolute criteria fail for a column in 1e6 units).
            decrement = float(score[free] @ step[free])
            if decrement <= tol * tol:
                converged, message = True, ("converged: the Newton step is below tol "
                                            "standard errors")
                break
            for _ in range(MAX_HALVINGS):
                trial = coef + step
                try:
                    new = _evaluate(problem, trial, backend)
                except RankDeficientError:  # the information underflowed: halve
                    new = None
                if new is not None and new[2] <= loss + 1e-12 * (1 + abs(loss)):
                    break
                step = step / 2.0
            else:
                message = "step-halving failed to lower the penalized loss"
                break
            assert new is not None
            coef = trial
            sums, factor, loss, eta = new
    assert sums.loss is not None and sums.hessian is not None
    return SolverResult(coef=coef, eta=eta, loss=sums.loss, hessian=sums.hessian,
                        converged=converged, n_iter=iterations, method="firth",
                        message=message, n_boundary=sums.boundary,
                        history=history, penalized_loss=loss)


def _penalized_score(problem: GLMProblem, sums: NewtonSums, factor: CholeskyFactor,
                     eta: FloatArray, backend: Backend) -> FloatArray:
    """U*(β) = −∇loss + Xᵀ[h·(½ − μ)]."""
    leverage = hat_values(problem, eta, factor.inverse(), backend)
    mu = problem.family.mean(eta)

    def correction(rows: slice) -> FloatArray:
        r = leverage[rows] * (0.5 - mu[rows])
        exog = problem.exog
        if isinstance(exog, StructuredDesign):
            return exog.rows(rows).rmatvec(r)
        return np.asarray(r @ np.asarray(exog[rows], dtype=np.float64))

    return -sums.gradient + backend.map_sum(correction, problem.n_obs)
