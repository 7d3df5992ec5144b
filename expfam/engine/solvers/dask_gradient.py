"""Gradient descent and L-BFGS over Dask partitions: the in-memory iterations.

The in-memory solvers (:mod:`expfam.engine.solvers.gradient`) run on
:class:`~._objective.Standardized`, which needs of the rows only sums: the
design's moments for the standardizing transform, Σw·t for the start, and the
loss and gradient at each point.  :class:`DaskStandardized` is that objective
with its sums taken over the partitions, so the iterations are *the same
code*:

1. one pass for the moments of the columns (the transform T, as in memory);
2. one pass per evaluation (loss and gradient together): per iteration, the
   line search's trials (gd), or SciPy's function evaluations (L-BFGS);
3. the closing exact-information pass at the estimate and, for a converged
   fit, the Newton polish of :func:`~._objective.finish`: one pass at the
   polished point for its loss, gradient, Hessian and the statistics.  (In
   memory, the Hessian from before the step is kept when η moved by less than
   1e-6, saving a pass; here the pass sums it anyway, so the standard errors
   are always the exact information's at the estimate — those of a Newton
   fit to 1e-12, where the in-memory first-order fits' can differ in the 7th
   digit.)

So a gd or L-BFGS fit costs 3 + (evaluations) passes, against Newton's handful;
its point is a design too wide for a p × p Hessian per iteration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.blocks import NewtonSums, row_slices
from expfam.backend.dask_backend import DaskBackend
from expfam.design.matrix import StructuredDesign
from expfam.engine.dask_passes import observed_part
from expfam.engine.dask_problem import (
    PART_BLOCK_ROWS,
    Part,
    Statistics,
    final_part,
    newton_part,
)
from expfam.engine.problem import GLMProblem
from expfam.engine.schur import factorize
from expfam.engine.solvers._objective import (
    Standardized,
    _Moments,
    _next_iteration,
    newton_step,
    record,
)
from expfam.engine.solvers._result import SolverResult, loss_slack
from expfam.engine.solvers.dask_newton import DaskFit
from expfam.engine.solvers.gradient import Run, descend, quasi_newton
from expfam.errors import NumericalError
from expfam.families import ExponentialFamily

__all__ = ["DaskStandardized", "RowsFree", "dask_gradient"]


@dataclass(frozen=True, eq=False)
class RowsFree:
    """What the standardized objective reads of a problem, without its rows: the
    family, the coefficients' shape and the totals of the first pass."""

    family: ExponentialFamily
    coef_shape: tuple[int, ...]
    total_weight: float
    saturated_loss: float
    n_obs: int

    @property
    def n_features(self) -> int:
        return self.coef_shape[0]

    @property
    def n_natural(self) -> int:
        return 1 if len(self.coef_shape) == 1 else self.coef_shape[1]

    @property
    def n_params(self) -> int:
        return self.n_features * self.n_natural

    def flat(self, coef: np.ndarray) -> FloatArray:
        return np.asarray(coef, dtype=np.float64).reshape(-1, order="F")

    def unflat(self, theta: np.ndarray) -> FloatArray:
        return np.asarray(theta, dtype=np.float64).reshape(self.coef_shape, order="F")


@dataclass
class DaskStandardized(Standardized):
    """:class:`Standardized` whose sums are passes over Dask partitions."""

    parts: Any = None  # the partitions (None: the backend's own)

    def sums(self, coef: FloatArray, *, hessian: bool = False,
             eta_out: FloatArray | None = None) -> NewtonSums:
        if eta_out is not None:  # η stays on the workers
            raise NotImplementedError("η of a Dask objective is not gathered")
        what = "loss, gradient and Hessian" if hessian else "loss and gradient"
        backend = cast(DaskBackend, self.backend)
        return backend.map_sum(newton_part, coef, hessian, what=what, parts=self.parts)


def moments_part(part: Part) -> _Moments:
    """Σw·x, Σw·x², max x and −min x of one partition's columns (a factor's from
    its codes); −inf for the extremes of an empty partition."""
    prob = part.problem
    p = prob.n_features
    out = np.zeros((4, p))
    out[2:] = -np.inf
    total = _Moments(out)
    for rows in row_slices(prob.n_obs, PART_BLOCK_ROWS):
        b = prob.block(rows)
        if isinstance(b.exog, StructuredDesign):
            value = b.exog.moments(b.weights)
        else:
            w = b.weights[:, None]
            value = np.stack([(w * b.exog).sum(axis=0), (w * b.exog**2).sum(axis=0),
                              b.exog.max(axis=0), -b.exog.min(axis=0)])
        total = total + _Moments(value)
    return total


@dataclass(frozen=True)
class Closing:
    """The float64 sums at the estimate (or the polished point): loss, gradient and
    Hessian, the statistics and the observed information."""

    newton: NewtonSums
    statistics: Statistics | None
    observed: Any

    def __add__(self, other: Closing) -> Closing:
        stats = (None if self.statistics is None or other.statistics is None
                 else self.statistics + other.statistics)
        observed = None if self.observed is None else self.observed + other.observed
        return Closing(self.newton + other.newton, stats, observed)


def closing_part(part: Part, coef: FloatArray, null_coef: FloatArray | None,
                 observed: bool) -> Closing:
    """One partition's :class:`Closing` at ``coef``: with the statistics when the
    null model's coefficients are given, and the observed information if asked."""
    if null_coef is None:
        sums, stats = newton_part(part, coef, True), None
    else:
        final = final_part(part, coef, null_coef)
        sums, stats = final.newton, final.statistics
    return Closing(sums, stats, observed_part(part, coef) if observed else None)


class _Quiet:
    """The iterations' progress goes to the backend's per-pass reports."""

    def update(self, **_: Any) -> None:
        pass


def dask_gradient(backend: DaskBackend, method: str, problem: RowsFree,
                  weighted_target: FloatArray, *, parts: Any = None,
                  start: FloatArray | None = None, tol: float | None = None,
                  max_iter: int | None = None, null_coef: FloatArray | None = None,
                  names: list[str] | None = None, **options: Any) -> DaskFit:
    """Minimise over the partitions by ``method`` ("gd" or "lbfgs"); see the module.

    Parameters
    ----------
    backend : DaskBackend
    method : {"gd", "lbfgs"}
    problem : RowsFree
        The family, the coefficients' shape (p,) or (p, m) and the first pass's totals.
    weighted_target : ndarray, shape () or (m,)
        Σw·t over all rows (the intercept-only start).
    parts : list, optional
        Partitions other than the backend's (another family's).
    start : ndarray, optional
        Starting coefficients, shape ``problem.coef_shape``.
    tol, max_iter : optional
        As in memory (gd 1e-7 and 20,000; L-BFGS 1e-8 and 1,000).
    null_coef : ndarray, optional
        The null model's coefficients: the closing passes also sum the statistics.
    names : list of str, optional
        Coefficient names, for errors about aliased columns.
    **options
        gd ``learning_rate``; L-BFGS ``memory``.
    """
    moments: _Moments = backend.map_sum(moments_part, what="column moments (standardizing)",
                                        parts=parts)
    objective = cast(DaskStandardized, DaskStandardized.from_moments(
        problem, backend, moments.value, np.asarray(weighted_target, dtype=np.float64),
        parts=parts))
    bar = _Quiet()
    if method == "gd":
        run = descend(objective, start, 1e-7 if tol is None else tol,
                      20_000 if max_iter is None else max_iter,
                      options.get("learning_rate"), bar)
    else:
        run = quasi_newton(objective, start, 1e-8 if tol is None else tol,
                           1000 if max_iter is None else max_iter,
                           int(options.get("memory", 10)), bar)
    first = run.history[0]
    if not np.isfinite(first["loss"]):
        raise NumericalError("non-finite log-likelihood or gradient at the starting point")
    return _finish(objective, run, method, null_coef, names)


def _finish(objective: DaskStandardized, run: Run, method: str,
            null_coef: FloatArray | None, names: list[str] | None) -> DaskFit:
    """:func:`~._objective.finish` over the partitions (see the module notes)."""
    problem = cast(RowsFree, objective.problem)
    totals = cast(GLMProblem, problem)  # what history rows read: n_obs and the totals
    backend = cast(DaskBackend, objective.backend)
    family = problem.family
    coef = objective.coef(run.gamma)
    message, history = run.message, run.history
    closing: Closing = backend.map_sum(closing_part, coef, null_coef,
                                       run.converged and not family.canonical,
                                       what="exact information at the estimate",
                                       parts=objective.parts)
    final, statistics = closing.newton, closing.statistics
    if run.converged:
        polished = _polish(objective, coef, closing, null_coef)
        if polished is None:
            message += ("; the closing Newton step was not taken (a singular Hessian, or "
                        "a step that was not finite or raised the loss)")
        else:
            coef, final, statistics = polished
            history.append(record(totals, "newton polish", final, step=1.0,
                                  iteration=_next_iteration(history)))
    assert final.loss is not None and final.hessian is not None
    history.append(record(totals, "final", final))
    factorize(final.hessian, _flat_names(names, problem))  # aliased columns: say which
    result = SolverResult(coef=coef, eta=np.empty(0), loss=final.loss, hessian=final.hessian,
                          converged=run.converged, n_iter=run.n_iter, method=method,
                          message=message, n_boundary=final.boundary, history=history)
    return DaskFit(result, backend.n_passes, statistics)


def _polish(objective: DaskStandardized, coef: FloatArray, closing: Closing,
            null_coef: FloatArray | None
            ) -> tuple[FloatArray, NewtonSums, Statistics | None] | None:
    """:func:`~._objective.newton_polish`: one Newton step from ``coef`` and one pass
    there; None when the step is not taken."""
    problem = objective.problem
    sums = closing.newton
    assert sums.loss is not None and sums.hessian is not None
    # Another link: the true Hessian, if definite.
    step = newton_step(problem, sums, closing.observed)
    if step is None:
        return None
    delta, _ = step
    new_coef = coef - delta
    backend = cast(DaskBackend, objective.backend)
    new: Closing = backend.map_sum(closing_part, new_coef, null_coef, False,
                                   what="Newton polish: loss, gradient, Hessian, statistics",
                                   parts=objective.parts)
    if not (new.newton.finite and new.newton.loss is not None
            and new.newton.loss <= sums.loss + loss_slack(sums.loss)):
        return None
    # In memory the Hessian from before the step is kept when η moved by at most
    # HESSIAN_REUSE (saving a pass; the standard errors then carry a relative
    # error of about that size).  Here the polish pass has summed the Hessian at
    # the new point anyway: it is the exact information at the estimate.
    return new_coef, new.newton, new.statistics


def _flat_names(names: list[str] | None, problem: RowsFree) -> list[str] | None:
    m = problem.n_natural
    if names is None or m == 1:
        return names
    return [f"{n} (class {c + 1})" for c in range(m) for n in names]

