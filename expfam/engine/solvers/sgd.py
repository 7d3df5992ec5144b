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
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.blocks import Backend, blas_single_threaded, default_backend
from expfam.engine.kernels import newton_block
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
    progress: bool = False,
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
        (a Newton-decrement estimate of the distance, in the metric of the
        estimate's own covariance).  C is computed at the start, and again at
        the reported iterate whenever the test passes: only a pass with C at
        the iterate itself stops the fit.
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
        largest eigenvalue of the curvature C at the start (see ``tol``).
    averaging : bool
        Report the average of the iterates over the last half of the epochs
        (default) or the last iterate.
    random_state : int or Generator, optional
        Seeds the shuffling.
    progress : bool
        Redraw a progress bar on standard error after every epoch.
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
    with blas_single_threaded():
        objective = Standardized.build(problem, backend or default_backend())
        gamma = _start(objective, start)
        curvature = _curvature(objective, gamma)
        step0 = (1.0 / max(float(np.linalg.eigvalsh(curvature)[-1]), 1e-12)
                 if learning_rate is None else float(learning_rate))
        inverse = _pinv(curvature)
        history: list[dict[str, Any]] = []
        f, g = objective.value_and_gradient(gamma)
        history.append(_entry("sgd", 0, f, g, step0, objective))
        epoch_means: list[FloatArray] = []  # the mean iterate of each epoch
        converged, message = False, f"epoch limit reached (epochs={epochs})"
        epoch, t = 0, 0
        steps_per_epoch = -(-n // batch_size)
        tau = max(steps_per_epoch, DECAY_STEPS)
        for epoch in range(1, epochs + 1):
            order = rng.permutation(n)
            running, count = np.zeros_like(gamma), 0
            for begin in range(0, n, batch_size):
                rows = order[begin : begin + batch_size]
                batch = problem.take(np.sort(rows))  # sorted: contiguous-ish reads
                sums = newton_block(batch, slice(None), objective.coef(gamma), hessian=False)
                # An unbiased estimate of ∇f: the batch's share of rows scaled to all.
                grad = objective.to_gamma(sums.gradient) * (n / rows.size)
                step = step0 / (1.0 + t / tau)
                t += 1
                gamma = gamma - step * grad
                running += gamma
                count += 1
            epoch_means.append(running / count)
            reported = _tail_average(epoch_means) if averaging else gamma
            f_new, g = objective.value_and_gradient(reported)
            history.append(_entry("sgd", epoch, f_new, g, step, objective))
            if progress:
                _show_progress(epoch, epochs, f_new)
            if not np.isfinite(f_new):
                message = "the loss became non-finite; lower the learning rate"
                break
            distance = _distance(problem, inverse, g)
            if distance <= tol:
                # C was computed elsewhere, and the curvature may have changed
                # since (on mtcars it fell 7-fold from the start, so that the
                # distance looked 8 times too small): confirm with C at the
                # estimate.  The step keeps its scale: rescaled to the new C, the
                # larger steps' noise cost more than they gained.
                inverse = _pinv(_curvature(objective, reported))
                distance = _distance(problem, inverse, g)
            history[-1]["decrement"] = distance
            if distance <= tol:
                converged, message = True, (f"converged: estimated {distance:.2g} standard "
                                            f"errors (root mean square) from the optimum "
                                            f"(<= tol={tol:g})")
                break
        if progress:
            print(file=sys.stderr)
        return finish(objective, reported, method="sgd", converged=converged, n_iter=epoch,
                      message=message, history=history)


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


def _show_progress(epoch: int, epochs: int, loss: float, width: int = 30) -> None:
    """Redraw a one-line progress bar on standard error."""
    done = width * epoch // epochs
    bar = "#" * done + "." * (width - done)
    print(f"\rsgd [{bar}] epoch {epoch}/{epochs}, mean loss {loss:.8g}", end="",
          file=sys.stderr, flush=True)


def _tail_average(epoch_means: list[FloatArray]) -> FloatArray:
    """The mean iterate over the last half of the epochs so far (tail averaging):
    early iterates, far from the optimum, would bias a running average of all."""
    tail = epoch_means[len(epoch_means) // 2 :]
    return np.mean(tail, axis=0)


def _curvature(objective: Standardized, gamma: FloatArray) -> FloatArray:
    """The Hessian of the mean loss at γ, in standardized coordinates (one pass)."""
    sums = objective.sums(objective.coef(gamma), hessian=True)
    assert sums.hessian is not None
    return objective.curvature(sums.hessian)
