"""Sandwich (heteroskedasticity- and cluster-robust) covariances of GLM estimates.

The covariance is B·M·B with the bread B = (XᵀWX)⁻¹, the inverse information,
and a meat M built from the per-observation scores s_i = n_i (t_i − μ_i) ⊗ x_i
(n_i the trials, per class for the categorical family; n_i (t_i − μ_i)·μ'_i/V_i · x_i
under a non-canonical link, whose bread is the inverse expected information and
whose hat values use the working weights μ'²/V):

- ``HC0``: M = Σ f_i s_i s_iᵀ;  ``HC1``: HC0 times a small-sample factor;
- ``HC2``: Σ f_i s_i s_iᵀ/(1 − h_i);  ``HC3``: Σ f_i s_i s_iᵀ/(1 − h_i)², with the
  GLM's hat values of one observation, h_i = n_i V_i x_iᵀ B x_i;
- ``cluster``: M = Σ_g S_g S_gᵀ over the groups' score sums S_g = Σ_{i∈g} f_i s_i,
  times a small-sample factor.

f_i is the frequency weight: a row of weight f is f identical observations, so
every covariance equals the one of the replicated rows (a probability weight
would instead scale the score, M = Σ f_i² s_i s_iᵀ — R's ``sandwich`` treats prior
weights that way, and Stata's ``pweight``).  n = Σ f_i over rows of positive
weight, and k is the number of coefficients.

The small-sample factors come in two conventions (``small_sample=``):

=============  =====================  ==============================================
convention     HC1                    cluster
=============  =====================  ==============================================
``"regress"``  n/(n − k)              G/(G − 1)·(n − 1)/(n − k): R's ``vcovHC``
                                      HC1 and ``vcovCL(type="HC1")``; Stata's
                                      ``regress``
``"ml"``       n/(n − 1)              G/(G − 1): R's ``vcovCL`` default for a glm;
                                      Stata's ``glm``, ``logit``, ``poisson``
=============  =====================  ==============================================

statsmodels returns HC0 for every HC type of a GLM; expfam does not.  Rows with a
leverage of 1 make HC2 and HC3 undefined: they are NaN, as in ``sandwich``, with
a warning naming the rows.  Everything is a sum over row blocks.
"""

from __future__ import annotations

import warnings

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
from expfam.errors import DataWarning, InputError, describe_rows, user_stacklevel

__all__ = ["COV_TYPES", "SMALL_SAMPLE", "check_clusters", "group_codes", "meat_factor",
           "n_observations", "robust_covariance", "score_scale"]

COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster")
SMALL_SAMPLE = ("regress", "ml")
#: A hat value this close to 1 is 1: the row is fitted exactly.
LEVERAGE_TOL = 1e-10


def _scores(problem: GLMProblem, eta: FloatArray, rows: slice) -> FloatArray:
    """w_i (t_i − μ_i) ⊗ x_i for the rows, flattened class-major like the
    coefficients: (b, p·m).  With w = f·n this is f_i s_i."""
    block = problem.block(rows)
    x = np.asarray(block.exog)  # dense designs only: structured ones use their products
    # d loglik/dη: t − μ for a canonical link, (t − μ)·μ'/V for another.
    resid = (block.weights * problem.family.eta_score(block.target, eta[rows]).T).T
    if resid.ndim == 1:
        return x * resid[:, None]
    return (resid[:, :, None] * x[:, None, :]).reshape(len(resid), -1)


def _residuals(problem: GLMProblem, eta: FloatArray, rows: slice) -> FloatArray:
    """w·(t − μ) for the rows (w·(t − μ)·μ'/V under a non-canonical link): (b,) or (b, m)."""
    score = problem.family.eta_score(problem.target[rows], eta[rows])
    return np.asarray((problem.weights[rows] * score.T).T)


def _structured_meat(design: StructuredDesign, resid: FloatArray,
                     scale: FloatArray | None) -> FloatArray:
    """Σ s_i s_iᵀ over a block of a structured design, from its Gram products:
    block (j, k) is Xᵀ diag(r_j r_k / scale) X (no per-row score is formed)."""
    r = resid if resid.ndim == 2 else resid[:, None]
    if scale is not None:
        r = r / scale[:, None]  # NaN at a hat value of 1, as the dense path
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


def check_clusters(groups: ArrayLike | None, frequency: FloatArray | None,
                   n: int) -> tuple[np.ndarray, int]:
    """Cluster codes (one per row) and the number of observed clusters, G.

    Clusters whose rows all have zero weight are not observed and not counted.
    Raises :class:`InputError` when the labels are unusable or G < 2, so that a
    fit fails at once rather than when a standard error is first read.
    """
    codes = group_codes(groups, n)
    per_group = np.bincount(codes, weights=frequency, minlength=int(codes.max()) + 1)
    observed = int(np.count_nonzero(per_group > 0))
    if observed < 2:
        raise InputError(f"cov_type='cluster' needs at least two clusters; groups= has "
                         f"{observed} with positive weight. A one-cluster sandwich is "
                         "undefined: use cov_type='HC0' or a finer grouping")
    return codes, observed


def robust_covariance(problem: GLMProblem, eta: FloatArray, bread: FloatArray,
                      cov_type: str, groups: ArrayLike | None,
                      backend: Backend, rank: int | None = None,
                      frequency: FloatArray | None = None,
                      small_sample: str = "regress",
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
    frequency : ndarray, shape (n,), optional
        The frequency weights f (None: every row is one observation).
    small_sample : {"regress", "ml"}
        The convention of the HC1 and cluster factors (module notes).
    factor : SchurFactor, optional
        The information's factorization when it is an arrow (a factor with many
        levels), used for the hat values without the n × p rows of X.

    A structured design (factors as codes, sparse columns) forms the meat from
    its own products: Xᵀ diag(r²) X for HC types, grouped sums for clusters.
    """
    if small_sample not in SMALL_SAMPLE:
        raise InputError(f"small_sample must be one of {SMALL_SAMPLE}, got {small_sample!r}")
    structured = isinstance(problem.exog, StructuredDesign)
    n = n_observations(problem, frequency)
    k = bread.shape[0] if rank is None else rank
    if cov_type == "cluster":
        codes, observed = check_clusters(groups, frequency, problem.n_obs)
        n_groups = int(codes.max()) + 1

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
        meat *= meat_factor(cov_type, n, k, small_sample, observed)
    else:
        scale = score_scale(problem, eta, bread if factor is None else factor, cov_type,
                            frequency, backend)

        def meat_block(rows: slice) -> np.ndarray:
            part = None if scale is None else scale[rows]
            if structured:
                return _structured_meat(problem.block(rows).exog,  # type: ignore[arg-type]
                                        _residuals(problem, eta, rows), part)
            s = _scores(problem, eta, rows)
            if part is not None:
                s = s / part[:, None]
            return np.asarray(s.T @ s, dtype=np.float64)

        meat = backend.map_sum(meat_block, problem.n_obs)
        meat *= meat_factor(cov_type, n, k, small_sample)
    cov = bread @ meat @ bread
    return (cov + cov.T) / 2.0


def n_observations(problem: GLMProblem, frequency: FloatArray | None) -> float:
    """n of the small-sample factors: Σ f over the rows of positive weight."""
    positive = problem.weights > 0
    return float(np.sum(frequency[positive])) if frequency is not None else float(
        np.count_nonzero(positive))


def meat_factor(cov_type: str, n: float, k: int, small_sample: str,
                n_clusters: int | None = None) -> float:
    """The small-sample factor the meat of ``cov_type`` is multiplied by (module
    notes): 1 for HC0, HC2 and HC3; ``n_clusters`` is G, for ``"cluster"``."""
    if cov_type == "cluster":
        assert n_clusters is not None
        factor = n_clusters / (n_clusters - 1)
        return factor * (n - 1) / (n - k) if small_sample == "regress" else factor
    if cov_type == "HC1":
        return n / (n - k) if small_sample == "regress" else n / (n - 1)
    return 1.0


def score_scale(problem: GLMProblem, eta: FloatArray, bread: FloatArray | SchurFactor,
                cov_type: str, frequency: FloatArray | None,
                backend: Backend) -> FloatArray | None:
    """What each row's score is divided by in an HC meat, shape (n,), or None for 1.

    √f (f copies of one score s: f·s sᵀ = (f s)(f s)ᵀ / f) times (1 − h)^(power/2)
    for HC2 (power 1) and HC3 (power 2); NaN at h = 1, where HC2 and HC3 are
    undefined (0/0, as sandwich gives), with a warning naming the rows.
    ``bread`` is the inverse information, or its Schur factorization.
    """
    power = {"HC0": 0.0, "HC1": 0.0, "HC2": 1.0, "HC3": 2.0}[cov_type]
    if power and problem.target.ndim == 2:
        raise InputError(f"cov_type={cov_type!r} needs hat values, which a categorical "
                         "model does not have per row; use 'HC0', 'HC1' or 'cluster'")
    scale = None
    if frequency is not None:
        scale = np.sqrt(np.where(frequency > 0, frequency, 1.0))
    if power:
        # The hat value of one of a row's f identical observations.
        leverage = hat_values(problem, eta, bread, backend)
        if frequency is not None:
            leverage = np.divide(leverage, frequency, out=np.zeros_like(leverage),
                                 where=frequency > 0)
        _warn_full_leverage(leverage, cov_type, frequency)
        with np.errstate(invalid="ignore"):
            hat = np.where(leverage >= 1.0 - LEVERAGE_TOL, np.nan,
                           np.abs(1.0 - leverage) ** (power / 2))
        scale = hat if scale is None else scale * hat
    return scale


def _warn_full_leverage(leverage: FloatArray, cov_type: str,
                        frequency: FloatArray | None) -> None:
    full = leverage >= 1.0 - LEVERAGE_TOL
    if frequency is not None and np.any(full & (frequency < 1)):
        # h/f > 1 only because a row counts for less than one observation.
        rows = full & (frequency < 1)
        warnings.warn(
            f"{describe_rows(rows)}: a frequency weight below 1 makes one observation's "
            f"leverage (h / weight) reach 1 or more, so {cov_type}, which divides by 1 − h, "
            "is undefined there: its standard errors are NaN. Frequency weights count "
            "observations; use 'HC0' or 'HC1' with fractional weights",
            DataWarning, stacklevel=user_stacklevel())
        return
    if full.any():
        warnings.warn(
            f"{describe_rows(full)} {'has' if full.sum() == 1 else 'have'} leverage 1 (the "
            f"fit passes through {'it' if full.sum() == 1 else 'them'} exactly), so "
            f"{cov_type}, which divides by 1 − h, is undefined: its standard errors are NaN, "
            "as R's sandwich gives. Use 'HC0' or 'HC1', or drop the rows' indicator columns",
            DataWarning, stacklevel=user_stacklevel())


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
    if isinstance(groups, np.ndarray):
        labels = groups
    elif isinstance(groups, (pd.Series, pd.Index)):
        labels = groups.to_numpy()  # its own dtype: mixed labels are already objects
    else:
        # Objects, so that a list mixing 1 and "1" is not cast to two "1" strings.
        labels = np.asarray(groups, dtype=object)
    if labels.shape != (n,):
        raise InputError(f"groups has shape {labels.shape}; the model has {n} rows")
    missing = np.asarray(pd.isna(labels), dtype=bool)
    if missing.any():
        raise InputError(f"groups is missing at {describe_rows(missing)}: give every row a "
                         "cluster label, or drop those rows from the data")
    # factorize hashes the labels, so unorderable mixtures (ints and strings) work.
    codes, _ = pd.factorize(labels, sort=False)
    return np.asarray(codes, dtype=np.int64)
