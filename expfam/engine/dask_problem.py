"""A GLM whose rows live in Dask partitions: each partition is a block.

A partition's rows become a :class:`Part` — an ordinary in-memory
:class:`~expfam.engine.problem.GLMProblem` in the solvers' normal form, plus
the raw response and weights the likelihood needs — built on the worker that
holds the partition.  The functions here are what one partition contributes to
a pass; :class:`~expfam.backend.dask_backend.DaskBackend` maps them over the
partitions and adds the results.  Inside a partition the usual block kernels
run over blocks of :data:`~expfam.backend.blocks.BLOCK_ROWS` rows.

No function here returns rows: only sums of fixed size (p × p at most), and
the sample that starts the solver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.blocks import BLOCK_ROWS, NewtonSums, ThreadedBackend
from expfam.design.arrays import as_rows
from expfam.design.dask_frame import RawPart
from expfam.design.matrix import StructuredDesign
from expfam.design.response import Classes
from expfam.engine.kernels import gradient_block, newton_block, start_block
from expfam.engine.problem import GLMProblem
from expfam.errors import InputError
from expfam.families import Categorical, ExponentialFamily

__all__ = [
    "FinalSums",
    "NonFinite",
    "Part",
    "PartStats",
    "Statistics",
    "final_part",
    "gradient_part",
    "newton_part",
    "nonfinite_part",
    "part_eta",
    "start_part",
    "statistics_part",
    "stats_part",
    "to_part",
]

#: Rows per block inside a partition: as in memory, so a block and its
#: temporaries stay in cache.  (Larger blocks once seemed faster on workers:
#: that was each temporary being freshly mapped there, which
#: :func:`~expfam.backend.heap.heap_reuse` now prevents; with it, blocks of
#: 8,192 rows took a quarter to a third less CPU than blocks of 65,536.)
PART_BLOCK_ROWS = BLOCK_ROWS
#: Inside a partition, blocks run one after another (the worker is the unit of
#: parallelism).
_SERIAL = ThreadedBackend(n_threads=1, block_rows=PART_BLOCK_ROWS)


@dataclass(frozen=True)
class Part:
    """One partition: the solver's problem and the raw values the likelihood needs."""

    index: int
    problem: GLMProblem
    endog: np.ndarray  # as the family reads it (numbers, or class codes)
    frequency: FloatArray | None
    trials: FloatArray | None
    groups: np.ndarray | None
    n_dropped: int

    @property
    def n_rows(self) -> int:
        return self.problem.n_obs


def to_part(raw: RawPart, family: ExponentialFamily, classes: Classes | None,
            n_columns: int) -> Part:
    """Check one partition's values and put them in the solvers' normal form.

    Errors name the partition; rows are numbered within it.
    """
    try:
        return _to_part(raw, family, classes, n_columns)
    except InputError as err:
        raise type(err)(f"partition {raw.index}: {err}") from None


def _to_part(raw: RawPart, family: ExponentialFamily, classes: Classes | None,
             n_columns: int) -> Part:
    n = raw.exog.shape[0]
    if raw.exog.ndim != 2 or raw.exog.shape[1] != n_columns:
        raise InputError(f"the design has shape {raw.exog.shape}; the other partitions have "
                         f"{n_columns} columns")
    if not isinstance(raw.exog, StructuredDesign) and raw.exog.dtype.kind not in "fiub":
        raise InputError(f"exog must be numeric, got dtype {raw.exog.dtype}")
    frequency = as_rows(raw.weights, "weights", n, nonnegative=True)
    trials = as_rows(raw.trials, "trials", n)
    offset = as_rows(raw.offset, "offset", n)
    if classes is not None:
        codes = _class_codes(raw.endog, classes)
        endog: np.ndarray = codes
        if offset is not None:
            offset = np.repeat(offset[:, None], len(classes.others), axis=1)
    else:
        y = raw.endog
        if y.ndim == 2 and y.shape[1] == 2:  # binomial (successes, failures)
            y = np.asarray(y, dtype=np.float64)
            trials = y[:, 0] + y[:, 1]
            y = y[:, 0]
        endog_checked = as_rows(y, "endog", n)
        assert endog_checked is not None
        endog = endog_checked
        if n:
            family.check_support(endog, trials, warn=False)
    w = np.ones(n) if frequency is None else frequency
    t = family.sufficient_stat(endog)
    if trials is not None:
        t = (t.T / trials).T
        w = w * trials
    problem = GLMProblem(raw.exog, t, w, offset, family)
    return Part(raw.index, problem, endog, frequency, trials, raw.groups, raw.n_dropped)


def _class_codes(labels: np.ndarray, classes: Classes) -> np.ndarray:
    """Labels as codes into ``classes.internal``; an unknown label is an error."""
    import pandas as pd

    codes = pd.Categorical(labels, categories=list(classes.internal)).codes
    if np.any(codes < 0):
        found = sorted({str(v) for v in np.asarray(labels, dtype=object)[codes < 0]})
        raise InputError(f"the response has class(es) {', '.join(found)} not among the "
                         f"classes {list(classes.labels)}")
    return codes.astype(np.int64)


# ----------------------------------------------------------------------
# The first pass: counts, totals, a sample.
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class PartStats:
    """Row counts and totals over partitions, and a sample of rows to start from."""

    rows: dict[int, int]  # partition -> rows kept
    n_dropped: int
    total_weight: float
    frequency: float  # Σ frequency weights (the observations)
    positive_frequency: float  # … over rows of positive weight (robust covariances)
    weighted_target: FloatArray  # Σ w·t, for the null model's mean
    saturated_loss: float
    constant: FloatArray  # per column: its value if constant so far, NaN if not, inf: no rows
    sample: dict[int, GLMProblem] = field(default_factory=dict)  # partition -> rows

    def __add__(self, other: PartStats) -> PartStats:
        return PartStats({**self.rows, **other.rows}, self.n_dropped + other.n_dropped,
                         self.total_weight + other.total_weight,
                         self.frequency + other.frequency,
                         self.positive_frequency + other.positive_frequency,
                         self.weighted_target + other.weighted_target,
                         self.saturated_loss + other.saturated_loss,
                         _same(self.constant, other.constant), {**self.sample, **other.sample})


def _same(a: FloatArray, b: FloatArray) -> FloatArray:
    """Merge per-column constants: inf (no rows) yields to the other side."""
    return np.where(np.isinf(a), b, np.where(np.isinf(b) | (a == b), a, np.nan))


#: Rows whose values nominate the candidate constant columns (as in memory).
_HEAD = 64


def stats_part(part: Part, sample_rows: int) -> PartStats:
    """Counts and totals of one partition, the columns constant in it, and up to
    ``sample_rows`` random rows (seeded by the partition's number, so fits are
    reproducible).  X is not scanned for NaN or inf: as in memory, that is
    looked for only if the solver's sums come out non-finite."""
    prob = part.problem
    n = prob.n_obs
    freq = np.ones(n) if part.frequency is None else part.frequency
    constant = np.full(prob.n_features, np.inf)
    exog = prob.exog
    if n and isinstance(exog, StructuredDesign):
        # A formula's design (the formula says which column is the intercept):
        # the columns' ranges, from the parts' own sums (no dummy columns).
        moments = exog.moments(np.ones(n))
        constant = np.where(moments[2] == -moments[3], moments[2], np.nan)
    elif n and isinstance(exog, np.ndarray):
        head = np.asarray(exog[:_HEAD], dtype=np.float64)
        first = head[0]
        candidates = np.flatnonzero(np.all(head == first, axis=0))
        constant[:] = np.nan
        for j in candidates:  # only these columns are read in full
            if np.all(np.asarray(exog[:, j]) == first[j]):
                constant[j] = first[j]
    sample = {}
    if sample_rows and n:
        # Random rows (in random order, so that any prefix is a random sample).
        rng = np.random.default_rng(part.index)
        sample[part.index] = _take(prob, rng.choice(n, min(n, sample_rows), replace=False))
    return PartStats({part.index: n}, part.n_dropped, float(np.sum(prob.weights)),
                     float(np.sum(freq)), float(np.sum(freq[prob.weights > 0])),
                     prob.weights @ prob.target if n else np.zeros(prob.target.shape[1:]),
                     prob.saturated_loss if n else 0.0, constant, sample)


def _take(prob: GLMProblem, rows: np.ndarray) -> GLMProblem:
    """``prob.take(rows)``, fast also for a design whose values are not aligned.

    A NumPy array that reached the worker inside a task graph or by
    ``scatter`` (``da.from_array`` of an in-memory array) can start at any byte
    of the message it came in.  NumPy gathers the rows of such an array
    element by element (a 6,250-row sample took 10–40 ms per partition instead
    of 0.3 ms), but whole rows at once from its bytes.  (The block kernels are
    as fast on it as on an aligned copy, so the partition keeps it as it is.)
    """
    exog = prob.exog
    if not (isinstance(exog, np.ndarray) and not exog.flags.aligned
            and exog.flags.c_contiguous and exog.ndim == 2):
        return prob.take(rows)
    taken = exog.view(np.uint8)[rows].view(exog.dtype)
    return GLMProblem(taken.astype(np.float64, copy=False), prob.target[rows],
                      prob.weights[rows], None if prob.offset is None else prob.offset[rows],
                      prob.family)


@dataclass(frozen=True)
class NonFinite:
    """Columns with NaN or inf, per partition (the check made after a failed pass)."""

    columns: dict[int, list[int]]

    def __add__(self, other: NonFinite) -> NonFinite:
        return NonFinite({**self.columns, **other.columns})


def nonfinite_part(part: Part) -> NonFinite:
    """The columns of one partition's design holding NaN or inf."""
    exog = part.problem.exog
    bad = np.zeros(part.problem.n_features, dtype=bool)
    for rows in _slices(part.n_rows):
        if isinstance(exog, StructuredDesign):
            bad |= ~np.all(np.isfinite(exog.rows(rows).moments(np.ones(rows.stop - rows.start))),
                           axis=0)
        else:
            bad |= ~np.all(np.isfinite(np.asarray(exog[rows])), axis=0)
    return NonFinite({part.index: [int(j) for j in np.flatnonzero(bad)]} if bad.any() else {})


# ----------------------------------------------------------------------
# Solver passes.
# ----------------------------------------------------------------------
def _zero_sums(problem: GLMProblem, hessian: bool) -> NewtonSums:
    """The sums of no rows, shaped as the other partitions' (an arrow for a design
    whose factor keeps a diagonal block: never a dense k × k of zeros)."""
    k = problem.n_params
    zero: Any = None
    if hessian:
        exog = problem.exog
        zero = (exog.gram(np.zeros(0)) if isinstance(exog, StructuredDesign)
                and problem.n_natural == 1 else np.zeros((k, k)))
    return NewtonSums(0.0, np.zeros(k), zero)


def newton_part(part: Part, coef: FloatArray, hessian: bool,
                single: bool = False) -> NewtonSums:
    """Loss, gradient and (optionally) Hessian of one partition at ``coef``.

    ``single`` forms the Hessian's rank-b updates in float32 (a step proposal,
    never a covariance: see :func:`~expfam.engine.kernels.weighted_gram`).
    """
    prob = part.problem
    if prob.n_obs == 0:
        return _zero_sums(prob, hessian)
    dtype = np.float32 if single else np.float64
    return _SERIAL.map_sum(lambda rows: newton_block(prob, rows, coef, hessian=hessian,
                                                     hessian_dtype=dtype), prob.n_obs)


def gradient_part(part: Part, coef: FloatArray) -> NewtonSums:
    """The gradient alone (no loss, no Hessian): the cheapest pass, for chord steps."""
    prob = part.problem
    if prob.n_obs == 0:
        return NewtonSums(None, np.zeros(prob.n_params))
    return _SERIAL.map_sum(lambda rows: gradient_block(prob, rows, coef), prob.n_obs)


def start_part(part: Part) -> NewtonSums:
    """The normal equations of R's IRLS start over one partition."""
    prob = part.problem
    if prob.n_obs == 0:
        return _zero_sums(prob, True)
    return _SERIAL.map_sum(lambda rows: start_block(prob, rows), prob.n_obs)


def part_eta(part: Part, coef: FloatArray, ones: bool = False) -> FloatArray:
    """η = Xβ + offset for one partition (``ones``: the intercept-only design)."""
    prob = part.problem
    if ones:
        eta = np.broadcast_to(coef, (prob.n_obs, *np.shape(coef))).astype(np.float64)
    else:
        eta = np.empty(prob.eta_shape)
        exog = prob.exog
        for rows in _slices(prob.n_obs):
            eta[rows] = (exog.rows(rows).matvec(coef) if isinstance(exog, StructuredDesign)
                         else np.asarray(exog[rows], dtype=np.float64) @ coef)
    if prob.offset is not None:
        eta = eta + prob.offset
    return eta


def _slices(n: int) -> list[slice]:
    from expfam.backend.blocks import row_slices

    return row_slices(n, PART_BLOCK_ROWS)


def null_part(part: Part) -> Part:
    """The partition with the intercept-only design (for the null model's fit)."""
    prob = part.problem
    ones = GLMProblem(np.ones((prob.n_obs, 1)), prob.target, prob.weights, prob.offset,
                      prob.family)
    return Part(part.index, ones, part.endog, part.frequency, part.trials, part.groups,
                part.n_dropped)


# ----------------------------------------------------------------------
# The statistics pass at the estimate.
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class Statistics:
    """Likelihood, deviance and Pearson sums at the estimate and the null model."""

    llf: float
    deviance: float
    pearson: float
    null_llf: float
    null_deviance: float
    extra: Any = None  # robust covariance meat, if asked for

    def __add__(self, other: Statistics) -> Statistics:
        extra = None if self.extra is None else self.extra + other.extra
        return Statistics(self.llf + other.llf, self.deviance + other.deviance,
                          self.pearson + other.pearson, self.null_llf + other.null_llf,
                          self.null_deviance + other.null_deviance, extra)


def statistics_part(part: Part, coef: FloatArray, null_coef: FloatArray,
                    meat: Any = None, eta: FloatArray | None = None) -> Statistics:
    """The row sums behind ``llf``, ``deviance``, ``pearson_chi2`` and the null
    model's, for one partition; ``meat(part, eta)`` adds a robust covariance's."""
    prob = part.problem
    family = prob.family
    if prob.n_obs == 0:
        return Statistics(0.0, 0.0, 0.0, 0.0, 0.0, None if meat is None else meat(part, None))
    eta = part_eta(part, coef) if eta is None else eta
    null = _null_eta(part, null_coef)
    kw = {"weights": part.frequency, "trials": part.trials}
    return Statistics(family.loglike(part.endog, eta, **kw),
                      family.deviance(part.endog, eta, **kw), _pearson(part, eta),
                      family.loglike(part.endog, null, **kw),
                      family.deviance(part.endog, null, **kw),
                      None if meat is None else meat(part, eta))


def _null_eta(part: Part, null_coef: FloatArray) -> FloatArray:
    """η of the intercept-only model.  Without an offset it is the same for every
    row: returned as one value (shape () or (m,)) that the family's row sums
    broadcast, so A(η₀) and the like are computed once, not once per row."""
    if part.problem.offset is None:
        return np.asarray(null_coef, dtype=np.float64)
    return part_eta(part, null_coef, ones=True)


def _pearson(part: Part, eta: FloatArray) -> float:
    """Σ f·n·(t − μ)²/V, over every class for a categorical model (as the results)."""
    family = part.problem.family
    if isinstance(family, Categorical):
        k = family.n_classes
        t = Categorical(k).class_shares(part.endog)
        mu = Categorical().class_probabilities(eta)
        var = mu
    else:
        t, mu = part.problem.target, family.mean(eta)
        var = family.variance(eta)
    n = np.asarray(1.0 if part.trials is None else part.trials)
    n = n if n.ndim == 0 or np.ndim(t) == 1 else n[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(t == mu, 0.0, (t - mu) * np.sqrt(n / var))
    per_row = r**2 if r.ndim == 1 else np.sum(r**2, axis=1)
    f = 1.0 if part.frequency is None else part.frequency
    return float(np.sum(f * per_row))


@dataclass(frozen=True)
class FinalSums:
    """The float64 Newton sums at a candidate estimate and the statistics there:
    the last pass of a fit computes both."""

    newton: NewtonSums
    statistics: Statistics

    def __add__(self, other: FinalSums) -> FinalSums:
        return FinalSums(self.newton + other.newton, self.statistics + other.statistics)


def final_part(part: Part, coef: FloatArray, null_coef: FloatArray) -> FinalSums:
    """:func:`newton_part` (float64) and :func:`statistics_part` in one pass, X read
    once: the Newton kernels leave η behind for the statistics."""
    prob = part.problem
    if prob.n_obs == 0:
        return FinalSums(_zero_sums(prob, True), statistics_part(part, coef, null_coef))
    eta = np.empty(prob.eta_shape)
    sums = _SERIAL.map_sum(lambda rows: newton_block(prob, rows, coef, hessian=True,
                                                     eta_out=eta), prob.n_obs)
    return FinalSums(sums, statistics_part(part, coef, null_coef, eta=eta))

