"""Sandwich covariances over Dask partitions: the meat as a sum over partitions.

The same covariances as :mod:`expfam.inference.robust` (see its notes for the
definitions and the small-sample conventions); here each partition adds its
score outer products — HC2 and HC3 with hat values computed within the
partition from the bread, which every partition receives — or, for clusters,
its per-cluster score sums.  Cluster sums are keyed by label, so a cluster
spread over several partitions adds up exactly.

A partition holding a structured design (a formula's factors as codes) forms
its meat from the design's own products, Xᵀ diag(r²) X and grouped sums, as
in memory.  When a factor with many levels keeps the information an arrow, the
sandwich is summed by its pieces instead, never as a k × k matrix
(:mod:`expfam.inference.dask_robust_arrow`, which also picks between the two).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from expfam._typing import FloatArray
from expfam.backend.blocks import ThreadedBackend
from expfam.design.gram import ArrowGram
from expfam.design.matrix import StructuredDesign
from expfam.engine.dask_problem import Part
from expfam.engine.kernels import hat_values
from expfam.engine.schur import SchurFactor, factorize
from expfam.errors import DataWarning, InputError, user_stacklevel
from expfam.inference.cov_blocks import MAX_DENSE_COV
from expfam.inference.robust import (
    LEVERAGE_TOL,
    _residuals,
    _scores,
    _structured_group_sums,
    _structured_meat,
)

__all__ = ["ClusterSums", "Meat", "bread_of", "finish_covariance", "meat_function"]

_SERIAL = ThreadedBackend(n_threads=1)


@dataclass(frozen=True)
class Meat:
    """Σ f·s sᵀ (possibly leverage-scaled) and the rows of leverage 1."""

    matrix: FloatArray
    full_leverage: int = 0

    def __add__(self, other: Meat) -> Meat:
        return Meat(self.matrix + other.matrix, self.full_leverage + other.full_leverage)


@dataclass(frozen=True)
class ClusterSums:
    """Score sums per cluster label (rows: labels) and each cluster's weight."""

    sums: pd.DataFrame
    weight: pd.Series

    def __add__(self, other: ClusterSums) -> ClusterSums:
        return ClusterSums(pd.concat([self.sums, other.sums]).groupby(level=0).sum(),
                           pd.concat([self.weight, other.weight]).groupby(level=0).sum())


def bread_of(hessian: FloatArray | ArrowGram) -> FloatArray:
    """The inverse information in full (k × k), for the k × k sandwich (a
    one-response arrow's sandwich is summed by its pieces instead:
    :mod:`expfam.inference.dask_robust_arrow`).  Raises :class:`InputError`
    beyond ``MAX_DENSE_COV`` coefficients, where the k × k meat and bread would
    be too large (in memory too: there the sandwich is by pieces for an arrow
    only, as here)."""
    k = hessian.shape[0]
    if k > MAX_DENSE_COV:
        raise InputError(f"a robust covariance for all {k} coefficients would be a {k} × {k} "
                         f"matrix (more than {MAX_DENSE_COV} coefficients), and this model's "
                         "information is dense: robust covariances are exact by blocks, on "
                         "Dask as in memory, only when one factor with treatment (or full "
                         "dummy) coding holds the many coefficients of a one-response model "
                         "(its information an arrow). Fit with cov_type='nonrobust', whose "
                         "standard errors are exact without it, or code the many-level "
                         "factor as C(name) with treatment contrasts")
    bread = factorize(hessian).inverse()
    return (bread + bread.T) / 2.0


@dataclass(frozen=True)
class _HCMeat:
    bread: FloatArray
    power: float

    def __call__(self, part: Part, eta: FloatArray | None) -> Meat:
        k = self.bread.shape[0]
        if eta is None:
            return Meat(np.zeros((k, k)))
        prob = part.problem
        scale, full = part_scale(part, eta, self.bread, self.power)
        rows = slice(0, prob.n_obs)
        if isinstance(prob.exog, StructuredDesign):
            return Meat(_structured_meat(prob.exog, _residuals(prob, eta, rows), scale), full)
        s = _scores(prob, eta, rows)
        if scale is not None:
            s = s / scale[:, None]
        return Meat(np.asarray(s.T @ s, dtype=np.float64), full)


def part_scale(part: Part, eta: FloatArray, bread: FloatArray | SchurFactor,
               power: float) -> tuple[FloatArray | None, int]:
    """What each row's score is divided by in one partition's HC meat, shape (n,)
    or None for 1, and how many rows have leverage 1 (NaN there).

    √f (f copies of one score s: f·s sᵀ = (f s)(f s)ᵀ / f) times (1 − h)^(power/2),
    h the hat value of one of a row's f observations, computed within the
    partition from ``bread`` (the inverse information, or the Schur
    factorization of an arrow).
    """
    prob = part.problem
    f = part.frequency
    scale = None
    if f is not None:
        scale = np.sqrt(np.where(f > 0, f, 1.0))
    full = 0
    if power:
        lev = hat_values(prob, eta, bread, _SERIAL)
        if f is not None:
            lev = np.divide(lev, f, out=np.zeros_like(lev), where=f > 0)
        ones = lev >= 1.0 - LEVERAGE_TOL
        full = int(np.count_nonzero(ones))
        with np.errstate(invalid="ignore"):
            hat = np.where(ones, np.nan, np.abs(1.0 - lev) ** (power / 2))
        scale = hat if scale is None else scale * hat
    return scale, full


def cluster_labels(part: Part) -> np.ndarray:
    """The partition's cluster labels (objects), checked for missing ones."""
    labels = np.asarray(part.groups, dtype=object)
    if np.any(pd.isna(labels)):
        raise InputError(f"partition {part.index}: groups is missing at "
                         f"{int(np.sum(pd.isna(labels)))} row(s); give every row a "
                         "cluster label")
    return labels


def warn_full_leverage(full: int, cov_type: str) -> None:
    """The warning for rows of leverage 1, counted over the partitions."""
    if full:
        warnings.warn(f"{full} row(s) have leverage 1 (the fit passes through them "
                      f"exactly), so {cov_type}, which divides by 1 − h, is undefined: its "
                      "standard errors are NaN, as R's sandwich gives",
                      DataWarning, stacklevel=user_stacklevel())


@dataclass(frozen=True)
class _ClusterMeat:
    k: int

    def __call__(self, part: Part, eta: FloatArray | None) -> ClusterSums:
        if eta is None or part.groups is None:
            return ClusterSums(pd.DataFrame(np.zeros((0, self.k))), pd.Series(dtype=float))
        labels = cluster_labels(part)
        prob = part.problem
        f = np.ones(prob.n_obs) if part.frequency is None else part.frequency
        rows = slice(0, prob.n_obs)
        if isinstance(prob.exog, StructuredDesign):
            # Grouped sums over the design's parts, by the partition's own codes.
            codes, uniques = pd.factorize(labels, sort=False)
            sums = _structured_group_sums(prob.exog, codes, len(uniques),
                                          _residuals(prob, eta, rows))
            index = pd.Index(uniques)
            return ClusterSums(pd.DataFrame(sums, index=index),
                               pd.Series(np.bincount(codes, weights=f, minlength=len(uniques)),
                                         index=index))
        frame = pd.DataFrame(_scores(prob, eta, rows))
        frame.index = pd.Index(labels)
        return ClusterSums(frame.groupby(level=0, sort=False).sum(),
                           pd.Series(f, index=labels).groupby(level=0, sort=False).sum())


def meat_function(cov_type: str, bread: FloatArray, categorical: bool) -> Any:
    """What each partition adds for ``cov_type`` (a picklable callable), given the
    dense bread (an arrow's sandwich is by pieces: :mod:`.dask_robust_arrow`)."""
    if cov_type == "cluster":
        return _ClusterMeat(bread.shape[0])
    power = {"HC0": 0.0, "HC1": 0.0, "HC2": 1.0, "HC3": 2.0}[cov_type]
    if power and categorical:
        raise InputError(f"cov_type={cov_type!r} needs hat values, which a categorical "
                         "model does not have per row; use 'HC0', 'HC1' or 'cluster'")
    return _HCMeat(bread, power)


def finish_covariance(total: Meat | ClusterSums, bread: FloatArray, cov_type: str, n: float,
                      k: int, small_sample: str) -> FloatArray:
    """B·M·B from the summed meat, with the small-sample factor of ``cov_type``.

    ``n`` is Σ f over rows of positive weight and ``k`` the coefficients.
    """
    if isinstance(total, ClusterSums):
        observed = int(np.count_nonzero(total.weight.to_numpy() > 0))
        if observed < 2:
            raise InputError(f"cov_type='cluster' needs at least two clusters; groups= has "
                             f"{observed} with positive weight")
        sums = total.sums.to_numpy()
        meat = sums.T @ sums
        meat *= observed / (observed - 1)
        if small_sample == "regress":
            meat *= (n - 1) / (n - k)
    else:
        meat = total.matrix.copy()
        warn_full_leverage(total.full_leverage, cov_type)
        if cov_type == "HC1":
            meat *= n / (n - k) if small_sample == "regress" else n / (n - 1)
    cov = bread @ meat @ bread
    return (cov + cov.T) / 2.0
