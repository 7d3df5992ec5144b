"""Mini-batch stochastic gradient descent with a decaying step and iterate averaging.

The lecture notes' algorithm, on the same standardized objective as the
full-batch solvers (:mod:`._objective`).  Each step uses the gradient of a
random mini-batch, scaled to estimate the gradient of the mean loss; the step
size decays as 1/(steps taken); and the reported estimate is the average
of the iterates over the last half of the epochs (Polyak–Ruppert averaging of
the tail), which removes most of the noise the last iterate carries.  SGD is
approximate by design: expect estimates within a few percent (a few hundredths
of a standard error) of the maximum-likelihood ones, and use IRLS or L-BFGS
where the digits matter.

**Step sizes follow the curvature along the path.**  A step of 1/λ_max, λ_max
the largest eigenvalue of the loss's curvature C, is safe for gradient descent
on a quadratic; for a Poisson (or any family whose variance grows with its mean)
C grows as the fit approaches the data, often several-fold from the
intercept-only start, and a step sized there diverges later.  So C is
recomputed at the reported iterate after every epoch (one Hessian pass, which
the stopping test needs there anyway) and the next epoch's steps are sized
from it.  An epoch that leaves the loss non-finite or clearly higher is undone
and the step halved; a fit that keeps failing stops and says it diverged.

**Epochs are vectorized.**  Rows are read in shuffled chunks of a few thousand
(one gather and one product with the p × p standardizing transform per chunk),
and each mini-batch step is then a handful of small array operations on a view,
so an epoch over 200,000 rows costs a fraction of a second rather than one
Python-level copy and kernel call per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.blocks import Backend, blas_single_threaded, default_backend
from expfam.backend.progress import Progress, ProgressOption, reporter
from expfam.design.matrix import StructuredDesign
from expfam.engine.problem import GLMProblem
from expfam.engine.solvers._objective import Standardized, finish
from expfam.engine.solvers._result import SolverResult
from expfam.engine.solvers.gradient import _entry, _start
from expfam.errors import InputError

__all__ = ["sgd"]

#: The step decays as 1/(1 + t/τ) over steps t (Robbins–Monro), with τ one
#: epoch's steps but at least this many, so that tiny data sets still get
#: enough large steps.  (A 1/√t decay, tried too, left twice the error.)
DECAY_STEPS = 100
#: The default batch size, on data sets large enough for it...
BATCH_SIZE = 32
#: ... and the fewest steps an epoch takes by default.  With no more rows than
#: one batch an epoch would be a single full-batch gradient step, and 200
#: epochs far too few of them (mtcars' 32 rows stopped 20% off); 10 or 20,
#: tried too, ran out of epochs on mtcars more often.
MIN_BATCHES = 16
#: Rows gathered (and standardized) at once; a multiple of any batch size up to it.
CHUNK_ROWS = 4096
#: ... and at most this many values (64 MB of float64) in a chunk.
CHUNK_VALUES = 8_000_000
#: An epoch whose loss rises by more than this fraction is undone (the step
#: halved): noise near the optimum moves the loss by far less.
RISE_LIMIT = 0.1
#: Halvings of the step after which the fit is declared diverged.
MAX_HALVINGS = 20


def sgd(
    problem: GLMProblem,
    *,
    start: FloatArray | None = None,
    tol: float = 0.03,
    max_iter: int | None = None,
    epochs: int = 200,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    averaging: bool = True,
    random_state: int | np.random.Generator | None = None,
    progress: ProgressOption = False,
    backend: Backend | None = None,
    names: Sequence[str] | None = None,
) -> SolverResult:
    """Fit by mini-batch SGD.

    Parameters
    ----------
    problem : GLMProblem
    start : ndarray, shape (p,) or (p, m), optional
        Starting coefficients; by default the intercept-only fit.
    tol : float
        Stop after an epoch that leaves the reported (averaged) iterate within
        ``tol`` standard errors of the optimum, root-mean-square over the k
        coefficients: √(Σw · gᵀC⁻¹g / k) ≤ ``tol``, with g the full-data
        gradient of the mean loss at the end of the epoch and C its curvature
        there (a Newton-decrement estimate of the distance, in the metric of
        the estimate's own covariance).
    max_iter : None
        Not used: SGD counts ``epochs``.
    epochs : int
        Passes over the shuffled rows, at most.
    batch_size : int, optional
        Rows per step.  By default 32, but fewer on small data sets, so that
        an epoch takes at least 16 steps: n // 16 rows for n < 512 (at least
        one).
    learning_rate : float, optional
        The initial step η₀ in standardized coordinates; step t (counting
        from 0 over all epochs) is η₀/(1 + t/τ), τ the number of steps per
        epoch but at least 100.  By default η₀ = 1/λ_max, the inverse of the
        largest eigenvalue of the curvature C, recomputed after every epoch at
        the current estimate.  Either way an epoch that raises the loss is
        undone and η₀ halved.
    averaging : bool
        Report the average of the iterates over the last half of the epochs
        (default) or the last iterate.
    random_state : int or Generator, optional
        Seeds the shuffling.
    progress : bool, str or callable
        Report the fit as it goes (see :mod:`expfam.backend.progress`): a bar
        advanced within epochs, and each epoch's loss and distance.
    backend : Backend, optional
        Used for the full passes (start, end of each epoch, final Hessian).
    names : sequence of str, optional
        Unused.
    """
    if max_iter is not None:
        raise InputError("sgd counts passes over the data: give epochs= instead of max_iter=")
    if learning_rate is not None and not learning_rate > 0:
        raise InputError(f"learning_rate must be positive, got {learning_rate}")
    n = problem.n_obs
    if batch_size is None:
        batch_size = default_batch_size(n)
    if batch_size < 1 or epochs < 1:
        raise InputError(f"batch_size and epochs must be positive, got {batch_size} and "
                         f"{epochs}")
    rng = np.random.default_rng(random_state)
    steps_per_epoch = -(-n // batch_size)
    with blas_single_threaded(), reporter(progress, "sgd",
                                          total=epochs * steps_per_epoch) as bar:
        objective = Standardized.build(problem, backend or default_backend())
        reported = _start(objective, start)
        f, g = objective.value_and_gradient(reported)
        inverse, largest = _curvature_at(objective, reported)
        shrink = 1.0  # halved after every epoch that had to be undone
        step0 = _step0(learning_rate, largest)
        history: list[dict[str, Any]] = [_entry("sgd", 0, f, g, step0, objective)]
        epoch_means: list[FloatArray] = []  # the mean iterate of each epoch
        converged, message = False, f"epoch limit reached (epochs={epochs})"
        if not np.isfinite(f):
            return finish(objective, reported, method="sgd", converged=False, n_iter=0,
                          message="the loss is not finite at the start", history=history)
        gamma = problem.unflat(reported)
        tau = max(steps_per_epoch, DECAY_STEPS)
        epoch, t, halvings = 0, 0, 0
        for epoch in range(1, epochs + 1):
            step0 = shrink * _step0(learning_rate, largest)
            with np.errstate(over="ignore", invalid="ignore"):  # judged by the loss below
                gamma, mean_iterate, t = _epoch(objective, gamma, rng.permutation(n),
                                                batch_size, step0, t, tau, bar)
            candidate = [*epoch_means, mean_iterate]
            new = problem.flat(_tail_average(candidate)) if averaging else problem.flat(gamma)
            f_new, g_new = objective.value_and_gradient(new)
            if not (np.isfinite(f_new) and f_new <= f + RISE_LIMIT * abs(f) + 1e-12):
                # Diverging: back to the last good estimate, half the step, and the
                # tail average starts again from there.
                halvings += 1
                history.append(_entry("sgd (undone)", epoch, f_new, g_new, step0, objective))
                if halvings > MAX_HALVINGS:
                    message = (f"diverged: the loss rose (to {f_new:.4g} from {f:.4g} per unit "
                               f"weight) after {halvings} halvings of the step; lower "
                               "learning_rate, or fit with method='irls' or 'lbfgs'")
                    break
                shrink /= 2.0
                gamma, epoch_means = problem.unflat(reported), []
                continue
            epoch_means, reported, f, g = candidate, new, f_new, g_new
            inverse, largest = _curvature_at(objective, reported)
            history.append(_entry("sgd", epoch, f, g, step0, objective))
            distance = _distance(problem, inverse, g)
            history[-1]["decrement"] = distance
            bar.update(**history[-1])
            if distance <= tol:
                converged, message = True, (f"converged: estimated {distance:.2g} standard "
                                            f"errors (root mean square) from the optimum "
                                            f"(<= tol={tol:g})")
                break
        if not converged and halvings and "diverged" not in message:
            message += f"; the step was halved {halvings} time(s) after a rising loss"
        return finish(objective, reported, method="sgd", converged=converged, n_iter=epoch,
                      message=message, history=history)


def _step0(learning_rate: float | None, largest: float) -> float:
    """η₀: the user's, or 1/λ_max of the current curvature."""
    return float(learning_rate) if learning_rate is not None else 1.0 / max(largest, 1e-12)


def _epoch(objective: Standardized, gamma: FloatArray, order: np.ndarray, batch_size: int,
           step0: float, t: int, tau: float,
           bar: Progress) -> tuple[FloatArray, FloatArray, int]:
    """One pass over the rows in ``order``, a mini-batch step at a time.

    Returns the last iterate, the mean iterate over the epoch's steps (both in
    the coefficients' shape) and the updated step counter.
    """
    problem = objective.problem
    family = problem.family
    n = order.size
    # The batch gradient Σ_b w(μ − t)·z, scaled by n/b to estimate the full one,
    # and by 1/Σw to be the gradient of the mean loss.
    scale = n / problem.total_weight
    running = np.zeros_like(gamma)
    count = 0
    # A chunk is written out dense (a factor's or sparse columns too): at most
    # CHUNK_ROWS rows, and fewer for wide designs, so it stays within ~64 MB.
    rows_cap = min(CHUNK_ROWS, max(1, CHUNK_VALUES // max(problem.n_features, 1)))
    chunk_rows = max(batch_size, rows_cap // batch_size * batch_size)
    for begin in range(0, n, chunk_rows):
        chunk = problem.take(order[begin : begin + chunk_rows])
        x = chunk.exog.dense() if isinstance(chunk.exog, StructuredDesign) else chunk.exog
        z = np.asarray(x, dtype=np.float64) @ objective.transform  # standardized
        offset = chunk.offset
        for lo in range(0, z.shape[0], batch_size):
            rows = slice(lo, lo + batch_size)
            zb = z[rows]
            eta = zb @ gamma
            if offset is not None:
                eta += offset[rows]
            resid = family.mean(eta) - chunk.target[rows]
            resid = (chunk.weights[rows] * resid.T).T
            step = step0 / (1.0 + t / tau)
            t += 1
            gamma = gamma - (step * scale / zb.shape[0]) * (zb.T @ resid)
            running += gamma
            count += 1
        bar.tick(-(-z.shape[0] // batch_size))  # within the epoch, a chunk at a time
    return gamma, running / count, t


def default_batch_size(n_obs: int) -> int:
    """:data:`BATCH_SIZE` rows, but few enough for :data:`MIN_BATCHES` steps an epoch."""
    return max(1, min(BATCH_SIZE, n_obs // MIN_BATCHES))


def _pinv(curvature: FloatArray) -> FloatArray:
    """C⁻¹ for the distance: a pseudo-inverse, as a rank-deficient design must
    not stop SGD (the final Hessian reports aliasing)."""
    return np.linalg.pinv(curvature, hermitian=True)


def _distance(problem: GLMProblem, inverse: FloatArray, g: FloatArray) -> float:
    """√(Σw · gᵀC⁻¹g / k): standard errors from the optimum, root mean square."""
    decrement = max(float(problem.total_weight * (g @ inverse @ g)), 0.0)
    return float(np.sqrt(decrement / g.size))


def _tail_average(epoch_means: list[FloatArray]) -> FloatArray:
    """The mean iterate over the last half of the epochs so far (tail averaging):
    early iterates, far from the optimum, would bias a running average of all."""
    tail = epoch_means[len(epoch_means) // 2 :]
    return np.mean(tail, axis=0)


def _curvature_at(objective: Standardized, gamma: FloatArray) -> tuple[FloatArray, float]:
    """C⁻¹ (for the distance) and λ_max (for the step) of the curvature of the
    mean loss at γ, in standardized coordinates: one Hessian pass."""
    sums = objective.sums(objective.coef(gamma), hessian=True)
    assert sums.hessian is not None
    curvature = objective.curvature(sums.hessian)
    if not np.all(np.isfinite(curvature)):
        return np.zeros_like(curvature), np.inf
    return _pinv(curvature), float(np.linalg.eigvalsh(curvature)[-1])
