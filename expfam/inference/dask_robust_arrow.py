"""Sandwich covariances over Dask partitions when the information is an arrow.

A factor with many levels keeps the information an arrow (an
:class:`~expfam.design.gram.ArrowGram`, solved by its Schur complement), and
the sandwich is then held by the pieces of :mod:`expfam.inference.robust_arrow`
— diag 𝒜ᵀ𝒜, 𝒜ᵀℒ and ℒᵀℒ — never as a p × p matrix.  Those pieces are sums over
rows, so each partition computes its share in the fit's last (statistics)
pass with the same per-row functions as in memory
(:func:`~expfam.inference.robust_arrow.row_entries`), and the shares add:

- ``HC0``–``HC3``: every row is its own cluster, so a partition's pieces are
  its rows' sums; HC2 and HC3 divide the scores by (1 − h)^(1/2 or 1) with the
  hat values computed inside the partition from the Schur factorization,
  which every partition receives (O(L·k) numbers, never L × L);
- ``cluster``: the rows' entries of 𝒜 are summed per (cluster label, level)
  and their rows of ℒ per cluster label, both keyed by label, so a cluster
  spread over several partitions adds up exactly (as
  :class:`~expfam.inference.dask_robust.ClusterSums`).

Below the arrow (a dense information) the meat of
:mod:`expfam.inference.dask_robust` applies; :func:`robust_plan` picks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from expfam._typing import FloatArray
from expfam.backend.blocks import row_slices
from expfam.design.gram import ArrowGram
from expfam.design.parts import FactorColumns
from expfam.engine.dask_problem import Part
from expfam.engine.schur import SchurFactor
from expfam.errors import InputError
from expfam.inference.dask_robust import (
    _SERIAL,
    ClusterSums,
    bread_of,
    cluster_labels,
    finish_covariance,
    meat_function,
    part_scale,
    warn_full_leverage,
)
from expfam.inference.diagnostics import information_factor
from expfam.inference.robust import meat_factor
from expfam.inference.robust_arrow import (
    ArrowSandwich,
    SandwichPieces,
    arrow_layout,
    assemble,
    cluster_sandwich,
    grouped,
    hc_pieces,
    row_entries,
)

__all__ = ["ArrowClusterSums", "ArrowMeat", "RobustPlan", "finish_arrow", "robust_plan"]

_POWER = {"HC0": 0.0, "HC1": 0.0, "HC2": 1.0, "HC3": 2.0}


@dataclass(frozen=True)
class ArrowMeat:
    """The HC pieces of some partitions and their rows of leverage 1."""

    pieces: SandwichPieces
    full_leverage: int = 0

    def __add__(self, other: ArrowMeat) -> ArrowMeat:
        return ArrowMeat(self.pieces + other.pieces, self.full_leverage + other.full_leverage)


@dataclass(frozen=True)
class ArrowClusterSums:
    """ℒ per cluster label (with the clusters' weights), and 𝒜's entries summed per
    (cluster label, level): a Series on a two-level index."""

    clusters: ClusterSums
    entries: pd.Series

    def __add__(self, other: ArrowClusterSums) -> ArrowClusterSums:
        if not len(other.entries):
            entries = self.entries
        elif not len(self.entries):
            entries = other.entries
        else:
            entries = pd.concat([self.entries, other.entries]).groupby(
                level=[0, 1], sort=False).sum()
        return ArrowClusterSums(self.clusters + other.clusters, entries)


def _layout(part: Part, factor: SchurFactor) -> FactorColumns:
    """The partition's factor laid out as the summed arrow (the partitions' designs
    come from one spec, so it always is: a mismatch is a bug, said plainly)."""
    layout = arrow_layout(part.problem.exog, factor)
    if layout is None:
        raise InputError(f"partition {part.index}: its design's columns are not laid out as "
                         "the summed information's factor block; refit with "
                         "cov_type='nonrobust' and report this")
    return layout


@dataclass(frozen=True)
class _ArrowHCMeat:
    """One partition's HC pieces (picklable: the factor travels to every worker)."""

    factor: SchurFactor
    power: float

    def __call__(self, part: Part, eta: FloatArray | None) -> ArrowMeat:
        h = self.factor.h
        n_levels = len(h.big_cols)
        if eta is None:
            return ArrowMeat(SandwichPieces.zero(n_levels, len(h.small_cols)))
        prob = part.problem
        layout = _layout(part, self.factor)
        scale, full = part_scale(part, eta, self.factor, self.power)
        pieces = _SERIAL.map_sum(
            lambda rows: hc_pieces(row_entries(prob, eta, self.factor, layout, scale, rows),
                                   n_levels), prob.n_obs)
        return ArrowMeat(pieces, full)


def _no_entries() -> pd.Series:
    return pd.Series(np.zeros(0), index=pd.MultiIndex.from_arrays([[], []]), dtype=float)


@dataclass(frozen=True)
class _ArrowClusterMeat:
    """One partition's per-cluster pieces, keyed by the clusters' labels."""

    factor: SchurFactor

    def __call__(self, part: Part, eta: FloatArray | None) -> ArrowClusterSums:
        k = len(self.factor.h.small_cols)
        if eta is None or part.groups is None:
            return ArrowClusterSums(ClusterSums(pd.DataFrame(np.zeros((0, k))),
                                                pd.Series(dtype=float)), _no_entries())
        labels = cluster_labels(part)
        prob = part.problem
        layout = _layout(part, self.factor)
        codes, uniques = pd.factorize(labels, sort=False)
        n_local = len(uniques)
        # Per block: the rows' entries of 𝒜 and rows of ℒ, summed per local cluster
        # (𝒜's per (cluster, level) too) before they leave the partition.
        values, levels = [], []
        ell_sums = np.zeros((n_local, k))
        for rows in row_slices(prob.n_obs):
            a, level, ell = row_entries(prob, eta, self.factor, layout, None, rows)
            values.append(a)
            levels.append(level)
            ell_sums += grouped(codes[rows], ell, n_local)
        coo = sp.coo_matrix((np.concatenate(values), (codes, np.concatenate(levels))),
                            shape=(n_local, layout.width))
        coo.sum_duplicates()
        keep = coo.data != 0.0  # the reference level's rows have no column
        index = pd.Index(uniques)
        entries = pd.Series(coo.data[keep], index=pd.MultiIndex.from_arrays(
            [index[coo.row[keep]], coo.col[keep]]))
        f = np.ones(prob.n_obs) if part.frequency is None else part.frequency
        weight = pd.Series(np.bincount(codes, weights=f, minlength=n_local), index=index)
        return ArrowClusterSums(ClusterSums(pd.DataFrame(ell_sums, index=index), weight),
                                entries)


def finish_arrow(total: ArrowMeat | ArrowClusterSums, factor: SchurFactor, cov_type: str,
                 n: float, small_sample: str) -> ArrowSandwich:
    """The sandwich from the partitions' summed pieces, with the small-sample factor of
    ``cov_type`` (``n``: Σ f over rows of positive weight; k: the arrow's size)."""
    rank = factor.h.shape[0]
    if isinstance(total, ArrowClusterSums):
        weight = total.clusters.weight
        observed = int(np.count_nonzero(weight.to_numpy() > 0))
        if observed < 2:
            raise InputError(f"cov_type='cluster' needs at least two clusters; groups= has "
                             f"{observed} with positive weight")
        sums = total.clusters.sums
        index = sums.index
        entries = total.entries
        rows = index.get_indexer(entries.index.get_level_values(0))
        levels = np.asarray(entries.index.get_level_values(1), dtype=np.intp)
        a_matrix = sp.csc_matrix((entries.to_numpy(dtype=np.float64), (rows, levels)),
                                 shape=(len(index), len(factor.h.big_cols)))
        k = len(factor.h.small_cols)
        ell = sums.to_numpy(dtype=np.float64).reshape(len(index), k)
        return cluster_sandwich(factor, a_matrix, ell,
                                meat_factor(cov_type, n, rank, small_sample, observed))
    warn_full_leverage(total.full_leverage, cov_type)
    multiplier = meat_factor(cov_type, n, rank, small_sample)
    if total.full_leverage:
        multiplier = np.nan  # a row of leverage 1: the sandwich is undefined (as in memory)
    return assemble(factor, total.pieces, None, multiplier)


@dataclass(frozen=True)
class RobustPlan:
    """What a Dask fit's statistics pass adds for a robust covariance, and how the
    sum becomes the covariance.

    Attributes
    ----------
    meat : callable
        ``meat(part, eta)``: one partition's share (see
        :func:`~expfam.engine.dask_problem.statistics_part`).
    finish : callable
        ``finish(total, n, k, small_sample)`` → ``(dense covariance or None,
        ArrowSandwich or None)``.
    factor : SchurFactor or None
        The arrow's factorization (the results reuse it), None for a dense one.
    """

    meat: Any
    finish: Callable[[Any, float, int, str], tuple[FloatArray | None, ArrowSandwich | None]]
    factor: SchurFactor | None = None


def robust_plan(hessian: FloatArray | ArrowGram, cov_type: str, categorical: bool,
                names: list[str], on_boundary: bool = False) -> RobustPlan:
    """The robust covariance's plan: by the sandwich's pieces for an arrow
    information (any number of levels), else the k × k meat of
    :mod:`expfam.inference.dask_robust` (refused beyond 5,000 coefficients)."""
    if isinstance(hessian, ArrowGram) and not categorical:
        factor = information_factor(hessian, names, on_boundary)
        assert isinstance(factor, SchurFactor)
        meat: Any = (_ArrowClusterMeat(factor) if cov_type == "cluster"
                     else _ArrowHCMeat(factor, _POWER[cov_type]))

        def finish_pieces(total: Any, n: float, k: int, small_sample: str
                          ) -> tuple[FloatArray | None, ArrowSandwich | None]:
            return None, finish_arrow(total, factor, cov_type, n, small_sample)

        return RobustPlan(meat, finish_pieces, factor)
    bread = bread_of(hessian)
    dense_meat = meat_function(cov_type, bread, categorical)

    def finish_dense(total: Any, n: float, k: int, small_sample: str
                     ) -> tuple[FloatArray | None, ArrowSandwich | None]:
        return finish_covariance(total, bread, cov_type, n, k, small_sample), None

    return RobustPlan(dense_meat, finish_dense)
