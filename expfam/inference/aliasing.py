"""Rank-deficient designs, handled as R's ``glm`` does.

When columns of the design are linear combinations of earlier ones, their
coefficients are not estimable.  R fits the others and reports the aliased
ones as NA; so does expfam (``fit(aliased="nan")``, the default), after
finding them on the design's Gram matrix XᵀX over the rows with positive
weight (columns in order, as R's pivoted QR keeps them).  The fit of the
estimable columns is then expanded back: aliased coefficients are 0 in the
linear predictor (so predictions, likelihoods and residuals are those of the
reduced fit) and NaN wherever they are reported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.blocks import Backend, default_backend
from expfam.design.gram import ArrowGram, expand_arrow
from expfam.design.matrix import StructuredDesign
from expfam.engine.kernels import loss_at_eta, weighted_gram
from expfam.engine.linalg import aliased_columns
from expfam.engine.problem import GLMProblem
from expfam.engine.schur import factorize
from expfam.engine.solvers import SolverResult
from expfam.errors import RankDeficientError

__all__ = ["describe_aliasing", "design_aliasing", "expand_record", "pad_estimable",
           "reduce_problem", "solve_estimable"]


#: Aliased columns are searched for on the dense Gram matrix up to this width.
MAX_ALIASING_COLUMNS = 5000


def solve_estimable(solver: Callable[..., SolverResult], problem: GLMProblem,
                    start: FloatArray | None, names: list[str], aliased: str,
                    options: dict[str, Any]) -> tuple[SolverResult, dict[str, list[str]]]:
    """Run the solver; on a rank-deficient design, refit the estimable columns.

    Returns the record (in the full problem's shape) and the aliased columns.
    With ``aliased="raise"`` a rank-deficient design raises instead.
    """
    record, error = None, None
    try:
        record = solver(problem, start=start, names=names, **options)
        if record.factor is not None and record.factor[0] is record.hessian:
            return record, {}  # factorised by the solver's closing Newton step
        factor = factorize(record.hessian)
        return dataclasses.replace(record, factor=(record.hessian, factor)), {}
    except RankDeficientError as err:
        error = err
    if (isinstance(problem.exog, StructuredDesign)
            and problem.n_features > MAX_ALIASING_COLUMNS):
        raise error  # the Schur factorization's message names what it found
    found = design_aliasing(problem, names, default_backend())
    if not found:
        if record is not None:
            return record, {}  # singular only at the estimate (separation): results say so
        raise error
    if aliased == "raise":
        raise RankDeficientError(f"the design matrix is rank deficient: "
                                 f"{describe_aliasing(found)}. Drop the aliased columns",
                                 found)
    kept = np.array([j for j, n in enumerate(names) if n not in found], dtype=np.intp)
    if kept.size == 0:
        # Nothing is estimable (every column is zero): the fit is the offset
        # alone, as R's glm reports it (every coefficient NA, rank 0).
        return offset_only_record(problem, getattr(solver, "__name__", "none")), found
    reduced = solver(reduce_problem(problem, kept), start=None if start is None else start[kept],
                     names=[names[j] for j in kept], **options)
    return expand_record(reduced, problem, kept), found


def offset_only_record(problem: GLMProblem, method: str) -> SolverResult:
    """The record of a model with no estimable coefficient: η is the offset (or 0)."""
    eta = (np.zeros(problem.eta_shape) if problem.offset is None
           else np.array(problem.offset, dtype=np.float64))
    loss = loss_at_eta(problem, slice(0, problem.n_obs), eta)
    return SolverResult(coef=np.zeros(problem.coef_shape), eta=eta, loss=loss,
                        hessian=np.zeros((problem.n_params, problem.n_params)),
                        converged=True, n_iter=0, method=method,
                        message="no estimable coefficient: the fit is the offset alone")


def describe_aliasing(found: dict[str, list[str]]) -> str:
    """"'c' is a linear combination of 'a', 'b'" for each aliased column."""
    return "; ".join(f"{k!r} is a linear combination of {', '.join(map(repr, v))}" if v
                     else f"{k!r} is zero" for k, v in found.items())


def design_aliasing(problem: GLMProblem, names: Sequence[str],
                    backend: Backend) -> dict[str, list[str]]:
    """Each aliased column of the design, mapped to the columns it combines."""
    def gram(rows: slice) -> np.ndarray:
        block = problem.block(rows)
        unit = (block.weights > 0).astype(np.float64)
        if isinstance(block.exog, StructuredDesign):
            if block.exog.n_cols > MAX_ALIASING_COLUMNS:
                raise RankDeficientError("the design is rank deficient, and with more than "
                                         f"{MAX_ALIASING_COLUMNS} columns the aliased ones are "
                                         "not searched for; drop levels with no rows, or "
                                         "collinear columns")
            return np.asarray(block.exog.gram(unit, dense=True))
        return np.asarray(weighted_gram(block.exog, unit))

    return aliased_columns(backend.map_sum(gram, problem.n_obs), list(names))


def reduce_problem(problem: GLMProblem, kept: np.ndarray) -> GLMProblem:
    """The same problem on the kept columns (a copy of those columns)."""
    exog = problem.exog
    if isinstance(exog, StructuredDesign):
        return dataclasses.replace(problem, exog=exog.select_columns(kept))
    return dataclasses.replace(problem, exog=np.asarray(exog)[:, kept])


def expand_record(record: SolverResult, full: GLMProblem, kept: np.ndarray) -> SolverResult:
    """A reduced fit's record in the full problem's shape: aliased coefficients 0,
    their Hessian rows and columns 0 (the results layer reports them as NaN)."""
    coef = np.zeros(full.coef_shape)
    coef[kept] = record.coef
    flat = kept_flat(full, kept)
    if isinstance(record.hessian, ArrowGram):
        return dataclasses.replace(record, coef=coef, hessian=expand_arrow(
            record.hessian, flat, full.n_params))
    hessian = np.zeros((full.n_params, full.n_params))
    hessian[np.ix_(flat, flat)] = record.hessian
    return dataclasses.replace(record, coef=coef, hessian=hessian)


def pad_estimable(inner: FloatArray, kept: np.ndarray) -> FloatArray:
    """A vector or matrix over the estimable coefficients, NaN-padded to all."""
    if inner.ndim == 1:
        out = np.full(len(kept), np.nan)
        out[kept] = inner
        return out
    full = np.full((len(kept), len(kept)), np.nan)
    full[np.ix_(kept, kept)] = inner
    return full


def kept_flat(problem: GLMProblem, kept: np.ndarray) -> np.ndarray:
    """Positions of the kept columns' coefficients in the class-major flat vector."""
    p = problem.n_features
    return np.concatenate([c * p + kept for c in range(problem.n_natural)])
