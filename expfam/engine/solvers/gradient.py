"""Full-batch first-order solvers: gradient descent and L-BFGS.

Both minimise the mean negative log-likelihood f(γ) = L(Tγ)/Σw in the
standardized coordinates of :mod:`._objective`, stop when the largest
component of ∇f(γ) is at most ``tol``, and end with one exact Hessian pass at
the estimate, so that their standard errors are those of IRLS.  A converged
fit is first polished by one Newton step with that Hessian (see
:func:`._objective.newton_polish`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from expfam._typing import FloatArray
from expfam.backend.blocks import Backend, blas_single_threaded, default_backend
from expfam.backend.progress import ProgressOption, reporter
from expfam.engine.problem import GLMProblem
from expfam.engine.solvers._objective import Standardized, finish
from expfam.engine.solvers._result import SolverResult
from expfam.errors import InputError

#: A largest standardized gradient component up to which an L-BFGS stop that
#: SciPy calls a success counts as converged (the closing Newton step polishes it).
ACCEPT = 1e-3

__all__ = ["Run", "descend", "gradient_descent", "lbfgs", "quasi_newton"]

#: Armijo's sufficient-decrease constant c: accept a step t when
#: f(γ − t∇f) ≤ f(γ) − c·t·|∇f|².  Along a direction of curvature λ the loss is
#: f − t|∇f|²(1 − tλ/2) to second order, so the test accepts t ≤ 2(1 − c)/λ.
#: The usual c = 1e-4 (tuned for quasi-Newton steps) thus accepts up to the
#: stability edge 2/λ, where gradient descent zigzags across the valley and
#: barely converges.  c = 1/2 accepts exactly t ≤ 1/λ: never beyond the minimum
#: along the line, and it is the decrease the classical step 1/L guarantees on
#: an L-smooth loss (the descent lemma), so that step always passes.
ARMIJO = 0.5
MAX_HALVINGS = 60


def _start(objective: Standardized, start: FloatArray | None) -> FloatArray:
    return objective.start() if start is None else objective.gamma(start)


def _entry(kind: str, iteration: int, loss: float, grad: FloatArray, step: float,
           objective: Standardized) -> dict[str, Any]:
    """A history row for f = ``loss`` and its gradient ``grad`` (standardized).

    f is measured from the saturated model, (L − L_sat)/Σw; the row reports it
    on IRLS's scale, loss L/Σw and deviance 2(L − L_sat) = 2·Σw·f, so that all
    rows, the "final" one included, compare directly.  The gradient norm is
    β-space, as IRLS's.
    """
    problem = objective.problem
    total = problem.total_weight
    beta_grad = objective.solve_transform(problem.unflat(grad), transpose=True)
    return {"stage": problem.n_obs, "kind": kind, "iteration": iteration,
            "loss": loss + problem.saturated_loss / total, "deviance": 2.0 * total * loss,
            "grad_norm": float(np.linalg.norm(beta_grad)), "decrement": float("nan"),
            "step": step, "max_grad_standardized": float(np.max(np.abs(grad), initial=0.0))}


def gradient_descent(
    problem: GLMProblem,
    *,
    start: FloatArray | None = None,
    tol: float = 1e-7,
    max_iter: int = 20_000,
    learning_rate: float | None = None,
    backend: Backend | None = None,
    names: Sequence[str] | None = None,
    progress: ProgressOption = False,
) -> SolverResult:
    """Full-batch gradient descent with a backtracking (Armijo) line search.

    Parameters
    ----------
    problem : GLMProblem
    start : ndarray, shape (p,) or (p, m), optional
        Starting coefficients; by default the intercept-only fit.
    tol : float
        Stop when every component of the gradient of the mean loss, in
        standardized coordinates, is at most ``tol`` in absolute value.
    max_iter : int
    learning_rate : float, optional
        A fixed step (in standardized coordinates) instead of the line search.
        The step γ ← γ − ``learning_rate``·∇f is then taken as is.
    backend : Backend, optional
    names : sequence of str, optional
        Unused (the Hessian at the end reports aliasing through the results).
    progress : bool, "bar", "log" or callable
        Report every iteration (loss, deviance, gradient norm, step, time): see
        :mod:`expfam.backend.progress`.  Quiet by default.

    Notes
    -----
    With the line search, each iteration tries the previous accepted step
    doubled and halves it until f(γ − t∇f) ≤ f(γ) − ½·t·|∇f|²: on a quadratic,
    a step no longer than the one to the minimum along the gradient.  Each trial
    is one pass over the rows returning the loss and the gradient together.
    If no step lowers the loss measurably the fit has reached the limit of
    floating point and stops, converged.  A converged fit then takes one
    Newton step (recorded as ``"newton polish"`` in the history) for the last
    digits.
    """
    if learning_rate is not None and not learning_rate > 0:
        raise InputError(f"learning_rate must be positive, got {learning_rate}")
    with blas_single_threaded(), reporter(progress, "gd", max_iter + 1) as bar:
        objective = Standardized.build(problem, backend or default_backend())
        run = descend(objective, start, tol, max_iter, learning_rate, bar)
        return finish(objective, run.gamma, method="gd", converged=run.converged,
                      n_iter=run.n_iter, message=run.message, history=run.history,
                      polish=True)


@dataclass(frozen=True)
class Run:
    """Where a first-order solver stopped, in standardized coordinates."""

    gamma: FloatArray
    converged: bool
    n_iter: int
    message: str
    history: list[dict[str, Any]]


def descend(objective: Standardized, start: FloatArray | None, tol: float, max_iter: int,
            learning_rate: float | None, bar: Any) -> Run:
    """The iterations of :func:`gradient_descent` on any objective (its sums in
    memory or over Dask partitions), up to the closing Newton step."""
    if learning_rate is not None and not learning_rate > 0:
        raise InputError(f"learning_rate must be positive, got {learning_rate}")
    gamma = _start(objective, start)
    f, g = objective.value_and_gradient(gamma)
    history: list[dict[str, Any]] = []
    step = 1.0 if learning_rate is None else float(learning_rate)
    converged, message = False, f"iteration limit reached (max_iter={max_iter})"
    iteration = rises = 0
    for iteration in range(max_iter + 1):
        history.append(_entry("gd", iteration, f, g, step, objective))
        bar.update(**history[-1])
        if not (np.isfinite(f) and np.all(np.isfinite(g))):
            message = ("the loss became non-finite; lower the learning rate"
                       if learning_rate is not None else "non-finite loss or gradient")
            break
        if np.max(np.abs(g), initial=0.0) <= tol:
            converged, message = True, (f"converged: largest standardized gradient "
                                        f"component <= tol={tol:g}")
            break
        if iteration == max_iter:
            break
        if learning_rate is not None:
            gamma = gamma - step * g
            f_old, (f, g) = f, objective.value_and_gradient(gamma)
            rises += f > f_old
            continue
        accepted = _armijo(objective, gamma, f, g, 2.0 * step)
        if accepted is None:
            # Along the steepest descent direction the loss no longer falls by
            # a measurable amount: the estimate is as good as the arithmetic.
            converged, message = True, (
                "converged: the loss is flat to rounding along the gradient (largest "
                f"standardized gradient component {np.max(np.abs(g)):.2g})")
            break
        step, gamma, f, g = accepted
    if rises and not converged:
        message += (f"; the loss rose at {rises} of {iteration} steps: the learning rate "
                    f"{learning_rate:g} is too large, lower it (or leave it out for the "
                    "line search)")
    return Run(gamma, converged, iteration, message, history)


def _armijo(objective: Standardized, gamma: FloatArray, f: float, g: FloatArray,
            step: float) -> tuple[float, FloatArray, float, FloatArray] | None:
    """Halve ``step`` until it gives sufficient decrease; the accepted step, point,
    loss and gradient, or None."""
    slope = float(g @ g)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(MAX_HALVINGS):
            trial = gamma - step * g
            f_new, g_new = objective.value_and_gradient(trial)
            # Strictly below f: a decrease lost in rounding is no decrease.
            if np.isfinite(f_new) and f_new < f and f_new <= f - ARMIJO * step * slope:
                return step, trial, f_new, g_new
            step /= 2.0
    return None


def lbfgs(
    problem: GLMProblem,
    *,
    start: FloatArray | None = None,
    tol: float = 1e-8,
    max_iter: int = 1000,
    memory: int = 10,
    backend: Backend | None = None,
    names: Sequence[str] | None = None,
    progress: ProgressOption = False,
) -> SolverResult:
    """Limited-memory BFGS (``scipy.optimize.minimize``, method ``L-BFGS-B``).

    Parameters
    ----------
    problem : GLMProblem
    start : ndarray, shape (p,) or (p, m), optional
    tol : float
        SciPy's ``gtol``: stop when every component of the standardized
        gradient of the mean loss is at most ``tol``.
    max_iter : int
    memory : int
        Correction pairs kept (SciPy's ``maxcor``).
    backend : Backend, optional
    names : sequence of str, optional
        Unused.
    progress : bool, "bar", "log" or callable
        Report every iteration (loss, deviance, gradient norm, step, time): see
        :mod:`expfam.backend.progress`.  Quiet by default.

    Notes
    -----
    One function returns the loss and the gradient together (``jac=True``):
    one pass over the rows per evaluation.  SciPy's relative-reduction test
    (``ftol``) is set near machine precision so that the gradient test decides.
    """
    with blas_single_threaded(), reporter(progress, "lbfgs", max_iter + 1) as bar:
        objective = Standardized.build(problem, backend or default_backend())
        run = quasi_newton(objective, start, tol, max_iter, memory, bar)
        return finish(objective, run.gamma, method="lbfgs", converged=run.converged,
                      n_iter=run.n_iter, message=run.message, history=run.history,
                      polish=True)


def quasi_newton(objective: Standardized, start: FloatArray | None, tol: float,
                 max_iter: int, memory: int, bar: Any) -> Run:
    """The iterations of :func:`lbfgs` on any objective (its sums in memory or over
    Dask partitions), up to the closing Newton step."""
    history: list[dict[str, Any]] = []
    last: dict[str, Any] = {}

    def fun(gamma: FloatArray) -> tuple[float, FloatArray]:
        f, g = objective.value_and_gradient(gamma)
        last.update(gamma=gamma.copy(), f=f, g=g)
        return f, g

    def callback(intermediate_result: optimize.OptimizeResult) -> None:
        # The line search's last evaluation is normally the new iterate.
        x = intermediate_result.x
        g = last["g"] if np.array_equal(last["gamma"], x) else fun(x)[1]
        history.append(_entry("lbfgs", len(history), float(intermediate_result.fun), g,
                              float("nan"), objective))
        bar.update(**history[-1])

    gamma0 = _start(objective, start)
    f0, g0 = fun(gamma0)
    history.append(_entry("lbfgs", 0, f0, g0, float("nan"), objective))
    bar.update(**history[-1])
    with np.errstate(over="ignore", invalid="ignore"):
        out = optimize.minimize(fun, gamma0, jac=True, method="L-BFGS-B",
                                callback=callback,
                                options={"maxiter": max_iter, "gtol": tol, "maxcor": memory,
                                         "ftol": 10 * np.finfo(float).eps,
                                         "maxfun": 20 * max_iter})
    message = out.message if isinstance(out.message, str) else out.message.decode()
    message = f"scipy L-BFGS-B: {message.lower()}"
    x = np.asarray(out.x)
    g = last["g"] if np.array_equal(last["gamma"], x) else fun(x)[1]
    largest = float(np.max(np.abs(g), initial=0.0)) if np.all(np.isfinite(g)) else np.inf
    # SciPy also reports success when its line search stalls (a step that left
    # a link's valid range makes the loss infinite); only a small gradient is
    # convergence.  Up to ACCEPT the closing Newton step supplies the digits.
    converged = bool(out.success) and largest <= max(tol, ACCEPT)
    if out.success and not converged:
        message += (f", but the gradient is still {largest:.2g} there (the line search "
                    "stalled, e.g. at the edge of the link's valid range); fit with "
                    "method='irls'")
    return Run(x, converged, int(out.nit), message, history)
