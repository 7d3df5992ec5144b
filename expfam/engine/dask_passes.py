"""More per-partition sums for Dask fits: links, dispersions, θ, profiles.

Companions of :mod:`expfam.engine.dask_problem` (whose partitions they take)
for what a fit needs beyond the canonical Newton pass:

- :func:`with_family` — a partition under another family (the negative
  binomial's alternation refits at each θ, a profile refit fixes a column);
- :func:`level_part` — the normal equations of R's fallback start for a link
  whose mean can leave the range (as :func:`expfam.engine.solvers.irls.
  _valid_start`);
- :func:`log_y_part` — Σ f·log y, the one data sum the Gamma and inverse
  Gaussian log-likelihoods need beyond the deviance;
- :func:`theta_part` — the negative binomial θ's score and information at
  fixed means (``MASS::theta.ml``'s sums);
- :func:`observed_part` — the observed information under a non-canonical link;
- :func:`batch_newton_part` — Newton sums at several coefficient vectors in
  one pass over X (the profile-likelihood endpoints, solved together).

Like the others, every function returns sums of fixed size, never rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import special

from expfam._typing import FloatArray
from expfam.backend.blocks import NewtonSums
from expfam.design.gram import ArrowGram
from expfam.design.matrix import StructuredDesign
from expfam.engine.dask_problem import (
    _SERIAL,
    Part,
    _zero_sums,
    newton_part,
    part_eta,
)
from expfam.engine.information import observed_information
from expfam.engine.kernels import weighted_gram
from expfam.engine.problem import GLMProblem
from expfam.families import ExponentialFamily, NegativeBinomial

__all__ = [
    "BatchSums",
    "ThetaSums",
    "batch_newton_part",
    "fixed_part",
    "level_part",
    "log_y_part",
    "observed_part",
    "theta_part",
    "with_family",
]


def with_family(part: Part, family: ExponentialFamily) -> Part:
    """The partition with ``family`` in place of its own (the same target and weights:
    the families swapped this way share T(y) = y)."""
    return dataclasses.replace(part, problem=dataclasses.replace(part.problem, family=family))


def fixed_part(part: Part, column: int, value: float) -> Part:
    """The partition with coefficient ``column`` fixed at ``value``: that column moves
    into the offset (a profile-likelihood refit, as in memory)."""
    prob = part.problem
    # A structured design (factor codes) is written out here: this refit is
    # the profile's fallback, for the few coefficients whose endpoints Newton
    # could not reach.
    x = prob.exog.dense() if isinstance(prob.exog, StructuredDesign) else prob.exog
    others = [c for c in range(prob.n_features) if c != column]
    shift = value * np.asarray(x[:, column], dtype=np.float64)
    offset = shift if prob.offset is None else prob.offset + shift
    reduced = GLMProblem(np.asarray(x[:, others]), prob.target, prob.weights, offset,
                         prob.family)
    return dataclasses.replace(part, problem=reduced)


def level_part(part: Part, level: float) -> NewtonSums:
    """XᵀWX and −XᵀW(level − offset) with the row weights W: the least-squares fit
    of η to the intercept-only fit's level, a start inside the family's range."""
    prob = part.problem
    k = prob.n_features
    if prob.n_obs == 0:
        return NewtonSums(0.0, np.zeros(k), np.zeros((k, k)))

    def block(rows: slice) -> NewtonSums:
        b = prob.block(rows)
        r = level - (0.0 if b.offset is None else b.offset)
        x, wr = b.exog, b.weights * r
        xt_wr = x.rmatvec(wr) if isinstance(x, StructuredDesign) else x.T @ wr
        return NewtonSums(0.0, -xt_wr, weighted_gram(x, b.weights))

    return _SERIAL.map_sum(block, prob.n_obs)


def log_y_part(part: Part) -> float:
    """Σ f·log y over the partition (frequency weights f, 1 without them)."""
    y = np.asarray(part.endog, dtype=np.float64)
    f = np.ones(len(y)) if part.frequency is None else part.frequency
    with np.errstate(divide="ignore"):
        return float(np.sum(np.where(f > 0, f * np.log(y), 0.0)))


@dataclass(frozen=True)
class ThetaSums:
    """Σ f, Σ f·(y/μ − 1)² (the moment start), θ's score and information, and the
    saturated loss at θ (the GLM solver's deviance at that θ)."""

    weight: float
    spread: float
    score: float
    info: float
    saturated: float

    def __add__(self, other: ThetaSums) -> ThetaSums:
        return ThetaSums(self.weight + other.weight, self.spread + other.spread,
                         self.score + other.score, self.info + other.info,
                         self.saturated + other.saturated)


def theta_part(part: Part, coef: FloatArray, theta: float) -> ThetaSums:
    """θ's log-likelihood score and observed information at the means of ``coef``
    (the terms of :func:`expfam.families.negative_binomial.theta_score_info`)."""
    prob = part.problem
    if prob.n_obs == 0:
        return ThetaSums(0.0, 0.0, 0.0, 0.0, 0.0)
    y = np.asarray(part.endog, dtype=np.float64)
    w = np.ones(len(y)) if part.frequency is None else part.frequency
    mu = prob.family.mean(part_eta(part, coef))
    t_mu = mu + theta
    score = np.sum(w * (special.digamma(theta + y) - special.digamma(theta)
                        + np.log(theta) + 1.0 - np.log(t_mu) - (y + theta) / t_mu))
    info = np.sum(w * (-special.polygamma(1, theta + y) + special.polygamma(1, theta)
                       - 1.0 / theta + 2.0 / t_mu - (y + theta) / t_mu**2))
    saturated = float(np.dot(prob.weights, NegativeBinomial(theta).saturated_row_loss(
        prob.target)))
    return ThetaSums(float(np.sum(w)), float(np.sum(w * (y / mu - 1.0) ** 2)), float(score),
                     float(info), saturated)


def observed_part(part: Part, coef: FloatArray) -> FloatArray | ArrowGram:
    """Xᵀ diag(w·W_obs) X, the observed information, for one partition (an arrow
    when a factor keeps its diagonal block): :func:`expfam.engine.information.
    observed_information` over the partition's rows."""
    prob = part.problem
    if prob.n_obs == 0:
        return _zero_sums(prob, hessian=True).hessian  # shaped as the others'
    return observed_information(prob, part_eta(part, coef), _SERIAL)


@dataclass(frozen=True)
class BatchSums:
    """Newton sums at each of several coefficient vectors."""

    sums: tuple[NewtonSums, ...]

    def __add__(self, other: BatchSums) -> BatchSums:
        return BatchSums(tuple(a + b for a, b in zip(self.sums, other.sums, strict=True)))


def batch_newton_part(part: Part, coefs: list[FloatArray]) -> BatchSums:
    """Loss, gradient and float64 Hessian at every vector of ``coefs``, in one pass:
    the partition is read once (and, when persisted, not rebuilt) for all of them."""
    return BatchSums(tuple(newton_part(part, c, True) for c in coefs))
