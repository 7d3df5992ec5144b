"""Sandwich (heteroskedasticity- and cluster-robust) covariances of GLM estimates.

The covariance is B·M·B with the bread B = (XᵀWX)⁻¹, the inverse information,
and a meat M built from the per-row scores s_i = w_i (y_i − μ_i) ⊗ x_i (per
class for the categorical family):

- ``HC0``: M = Σ s_i s_iᵀ;  ``HC1``: HC0 · n/(n − k);
- ``HC2``: Σ s_i s_iᵀ/(1 − h_i);  ``HC3``: Σ s_i s_iᵀ/(1 − h_i)², with the GLM's
  hat values h_i = w_i V_i x_iᵀ B x_i (the diagonal of W^½ X B Xᵀ W^½);
- ``cluster``: M = Σ_g S_g S_gᵀ over the groups' score sums S_g, times
  G/(G − 1)·(n − 1)/(n − k) (as R's ``sandwich::vcovCL`` and Stata).

These are R's ``sandwich::vcovHC`` and ``vcovCL`` for ``glm`` (n counts rows
with positive weight, k coefficients).  statsmodels returns HC0 for every HC
type of a GLM; expfam does not.  Everything is a sum over row blocks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from expfam._typing import FloatArray
from expfam.backend.blocks import Backend
from expfam.design.matrix import StructuredDesign
from expfam.design.parts import FactorColumns, cross
from expfam.engine.kernels import hat_values
from expfam.engine.problem import GLMProblem
from expfam.engine.schur import SchurFactor
from expfam.errors import InputError, describe_rows

__all__ = ["COV_TYPES", "group_codes", "robust_covariance"]

COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster")


def _scores(problem: GLMProblem, eta: FloatArray, rows: slice) -> FloatArray:
    """s_i for the rows, flattened class-major like the coefficients: (b, p·m)."""
    block = problem.block(rows)
    x = np.asarray(block.exog)  # dense designs only: structured ones use their products
    mu = problem.family.mean(eta[rows])
    resid = (block.weights * (block.target - mu).T).T
    if resid.ndim == 1:
        return x * resid[:, None]
    return (resid[:, :, None] * x[:, None, :]).reshape(len(resid), -1)


def _residuals(problem: GLMProblem, eta: FloatArray, rows: slice) -> FloatArray:
    """w·(t − μ) for the rows: (b,) or (b, m)."""
    mu = problem.family.mean(eta[rows])
    return np.asarray((problem.weights[rows] * (problem.target[rows] - mu).T).T)


def _structured_meat(design: StructuredDesign, resid: FloatArray,
                     scale: FloatArray | None) -> FloatArray:
    """Σ s_i s_iᵀ over a block of a structured design, from its Gram products:
    block (j, k) is Xᵀ diag(r_j r_k / scale) X (no per-row score is formed)."""
    r = resid if resid.ndim == 2 else resid[:, None]
    if scale is not None:
        with np.errstate(divide="ignore"):  # a hat value of 1: inf, as the dense path
            r = r / scale[:, None]
    p, m = design.n_cols, r.shape[1]
    out = np.empty((p * m, p * m))
    for j in range(m):
        for k in range(j, m):
            block = np.asarray(design.gram(r[:, j] * r[:, k], dense=True))
            out[j * p:(j + 1) * p, k * p:(k + 1) * p] = block
            out[k * p:(k + 1) * p, j * p:(j + 1) * p] = block.T
    return out


def _structured_group_sums(design: StructuredDesign, codes: np.ndarray, n_groups: int,
                           resid: FloatArray) -> FloatArray:
    """Per group, the sum of the scores over its rows: (G, p·m), by grouped sums."""
    groups = FactorColumns(codes, n_groups, contrast=np.eye(n_groups))
    r = resid if resid.ndim == 2 else resid[:, None]
    p = design.n_cols
    out = np.empty((n_groups, p * r.shape[1]))
    for j in range(r.shape[1]):
        for part, cols in zip(design.parts, design.columns, strict=True):
            out[:, j * p + cols] = cross(groups, part, r[:, j])
    return out


def robust_covariance(problem: GLMProblem, eta: FloatArray, bread: FloatArray,
                      cov_type: str, groups: ArrayLike | None,
                      backend: Backend, rank: int | None = None,
                      factor: SchurFactor | None = None) -> FloatArray:
    """The sandwich covariance B·M·B of type ``cov_type`` (see the module notes).

    Parameters
    ----------
    problem : GLMProblem
    eta : ndarray, shape (n,) or (n, m)
        The linear predictor at the estimate.
    bread : ndarray, shape (k, k)
        The inverse information, class-major.
    cov_type : {"HC0", "HC1", "HC2", "HC3", "cluster"}
    groups : array-like, shape (n,), optional
        Cluster labels, for ``"cluster"``.
    rank : int, optional
        Coefficients estimated (fewer than ``bread``'s size when some are
        aliased, their bread rows zero): the k of the corrections.
    factor : SchurFactor, optional
        The information's factorization when it is an arrow (a factor with many
        levels), used for the hat values without the n × p rows of X.

    A structured design (factors as codes, sparse columns) forms the meat from
    its own products: Xᵀ diag(r²) X for HC types, grouped sums for clusters.
    """
    structured = isinstance(problem.exog, StructuredDesign)
    n = int(np.count_nonzero(problem.weights > 0))
    k = bread.shape[0] if rank is None else rank
    if cov_type == "cluster":
        codes = group_codes(groups, problem.n_obs)
        n_groups = int(codes.max()) + 1
        # Groups whose rows all have zero weight are not observed: not counted in G.
        observed = int(np.count_nonzero(np.bincount(codes, weights=problem.weights,
                                                    minlength=n_groups) > 0))
        if observed < 2:
            raise InputError("cov_type='cluster' needs at least two groups")

        def group_sums(rows: slice) -> FloatArray:
            if structured:
                return _structured_group_sums(problem.block(rows).exog,  # type: ignore[arg-type]
                                              codes[rows], n_groups,
                                              _residuals(problem, eta, rows))
            sums = np.zeros((n_groups, bread.shape[0]))
            np.add.at(sums, codes[rows], _scores(problem, eta, rows))
            return sums

        totals = backend.map_sum(group_sums, problem.n_obs)
        meat = totals.T @ totals
        meat *= observed / (observed - 1) * (n - 1) / (n - k)
    else:
        power = {"HC0": 0.0, "HC1": 0.0, "HC2": 1.0, "HC3": 2.0}[cov_type]
        if power and problem.target.ndim == 2:
            raise InputError(f"cov_type={cov_type!r} needs hat values, which a categorical "
                             "model does not have per row; use 'HC0', 'HC1' or 'cluster'")
        leverage = hat_values(problem, eta, bread if factor is None else factor,
                              backend) if power else None

        def meat_block(rows: slice) -> np.ndarray:
            if structured:
                scale = (None if leverage is None else
                         (1.0 - leverage[rows]) ** (power / 2))
                return _structured_meat(problem.block(rows).exog,  # type: ignore[arg-type]
                                        _residuals(problem, eta, rows), scale)
            s = _scores(problem, eta, rows)
            if leverage is not None:
                with np.errstate(divide="ignore"):
                    s = s / (1.0 - leverage[rows])[:, None] ** (power / 2)
            return np.asarray(s.T @ s, dtype=np.float64)

        meat = backend.map_sum(meat_block, problem.n_obs)
        if cov_type == "HC1":
            meat *= n / (n - k)
    cov = bread @ meat @ bread
    return (cov + cov.T) / 2.0


def group_codes(groups: ArrayLike | None, n: int) -> np.ndarray:
    """Cluster labels as integer codes 0..G−1, one per row, after checking them.

    Any hashable labels work, mixed types included (1 and "1" are different
    clusters); missing labels (None, NaN, ``pd.NA``, NaT) are an error naming
    the rows, since a row must belong to some cluster.
    """
    if groups is None:
        raise InputError("cov_type='cluster' needs groups=: one cluster label per row")
    if isinstance(groups, str):
        raise InputError(f"groups={groups!r}: give the labels themselves (e.g. "
                         f"data[{groups!r}]), one per row of the model")
    labels = np.asarray(groups, dtype=object) if not isinstance(groups, np.ndarray) else groups
    if labels.shape != (n,):
        raise InputError(f"groups has shape {labels.shape}; the model has {n} rows")
    missing = np.asarray(pd.isna(labels), dtype=bool)
    if missing.any():
        raise InputError(f"groups is missing at {describe_rows(missing)}: give every row a "
                         "cluster label, or drop those rows from the data")
    # factorize hashes the labels, so unorderable mixtures (ints and strings) work.
    codes, _ = pd.factorize(labels, sort=False)
    return np.asarray(codes, dtype=np.int64)
