"""The mean negative log-likelihood in standardized coordinates, for gradient solvers.

First-order methods are at the mercy of the problem's conditioning: with
glucose in the hundreds next to a pedigree score below one, the loss is a
narrow valley and a gradient step that is safe for one coefficient is useless
for another.  Rather than ask users to scale their data, the gradient solvers
work on coefficients γ of the standardized columns

    z_j = (x_j − m_j) / s_j        (weighted mean m_j and standard deviation s_j)

and map back with β = T γ.  With an intercept column the centring is absorbed
by it; without one the columns are only scaled (by their root mean square), so
the model is the same either way.  All columns are further divided by √v̄, v̄
the family's variance at the overall mean, so that the loss has curvature of
order one whatever the family (a Poisson mean of 30 has variance 30): a
gradient tolerance then means the same for every family.  X is never copied:
η = X (T γ).

The loss is measured from the saturated model, (L − L_sat)/Σw (half the mean
deviance), which is of order one, so that the line search can still see a
decrease when L itself is large (a Poisson loss without its base measure).
The history rows report it on IRLS's scale all the same (loss L/Σw, deviance
2(L − L_sat)), so that every solver's history reads alike.

First-order solvers stop where the loss is flat to rounding, which can leave a
coefficient the loss hardly constrains (near zero, on correlated columns)
right to only about 1e-5.  :func:`finish` therefore ends a converged fit with
one Newton step from the solver's estimate, using the Hessian that the
standard errors need there anyway (see :func:`newton_polish`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy import linalg

from expfam._typing import FloatArray
from expfam.backend.blocks import Backend, NewtonSums
from expfam.design.gram import ArrowGram
from expfam.design.matrix import StructuredDesign
from expfam.engine.information import observed_information
from expfam.engine.kernels import newton_block
from expfam.engine.problem import GLMProblem
from expfam.engine.schur import factorize
from expfam.engine.solvers._result import SolverResult, loss_slack
from expfam.errors import RankDeficientError

__all__ = ["Standardized", "finish", "newton_polish", "newton_step"]

#: After the closing Newton step the Hessian from before it is kept when no
#: linear predictor moved by more than this.  The weights V(η) of these families
#: change by a relative amount of order |Δη| (|d log V/dη| ≤ 1 for the Bernoulli,
#: binomial and Poisson), so the standard errors by at most about half of it,
#: below any digit reported (2e-9 measured on a 200,000-row logistic fit); a
#: bigger move pays for a fresh Hessian pass at the new point.
HESSIAN_REUSE = 1e-6


def _moments(problem: GLMProblem, backend: Backend) -> FloatArray:
    """Rows Σw·x, Σw·x², max x and −min x of the design, shape (4, p), by blocks."""

    def block(rows: slice) -> _Moments:
        b = problem.block(rows)
        if isinstance(b.exog, StructuredDesign):
            return _Moments(b.exog.moments(b.weights))
        w = b.weights[:, None]
        return _Moments(np.stack([(w * b.exog).sum(axis=0), (w * b.exog**2).sum(axis=0),
                                  b.exog.max(axis=0), -b.exog.min(axis=0)]))

    if problem.n_obs == 0:
        return np.zeros((4, problem.n_features))
    return backend.map_sum(block, problem.n_obs).value


class _Moments:
    """Sums in the first two rows, maxima in the last two: adds as map_sum needs."""

    def __init__(self, value: FloatArray) -> None:
        self.value = value

    def __add__(self, other: _Moments) -> _Moments:
        return _Moments(np.concatenate([self.value[:2] + other.value[:2],
                                        np.maximum(self.value[2:], other.value[2:])]))


def _overall_mean(family: Any, weighted_target: FloatArray, total_weight: float) -> FloatArray:
    """The weighted mean of t, Σw·t / Σw, nudged inside the parameter space (shape
    () or (m,))."""
    total = np.asarray(max(total_weight, np.finfo(float).tiny))
    return family.start_mean(np.asarray(weighted_target) / total, total)


def _mean_variance(family: Any, mean: FloatArray) -> float:
    """The family's information per unit weight at the overall mean (mean over
    classes): the loss's curvature scale — the variance V for a canonical link,
    μ'²/V for another.  1 when it is not a usable positive number."""
    with np.errstate(all="ignore"):
        eta = family.natural_from_mean(mean)
        var = np.asarray(family.variance(eta) if family.canonical
                         else family.fisher_weight(np.asarray(eta)))
    v = float(np.mean(np.diagonal(var)) if var.ndim == 2 else np.mean(var))
    return v if np.isfinite(v) and v > 0 else 1.0


@dataclass
class Standardized:
    """f(γ) = L(Tγ)/Σw and its gradient Tᵀ∇L/Σw, through the block backend.

    Attributes
    ----------
    transform : ndarray, shape (p, p)
        T, with β = T γ (column by column for categorical coefficients).
    """

    problem: GLMProblem
    backend: Backend
    transform: FloatArray
    intercept: int | None  # the constant column, if any
    overall_mean: FloatArray  # Σw·t / Σw, nudged inside the parameter space

    @classmethod
    def build(cls, problem: GLMProblem, backend: Backend) -> Standardized:
        weighted_target = np.tensordot(problem.weights, problem.target, axes=(0, 0))
        return cls.from_moments(problem, backend, _moments(problem, backend),
                                weighted_target)

    @classmethod
    def from_moments(cls, problem: Any, backend: Any, stats: FloatArray,
                     weighted_target: FloatArray, **fields: Any) -> Standardized:
        """T from the design's moments (:func:`_moments`'s rows, shape (4, p)) and
        Σw·t: the sums that a pass over any rows (Dask partitions) provides.

        ``problem`` needs the :class:`GLMProblem` attributes the objective reads
        without rows (family, shapes, totals, flat/unflat); ``fields`` go to a
        subclass's constructor."""
        total = max(problem.total_weight, np.finfo(float).tiny)
        mean, mean_sq = stats[0] / total, stats[1] / total
        top, bottom = stats[2], -stats[3]
        constant = np.flatnonzero((top == bottom) & (top != 0))
        p = problem.n_features
        transform = np.eye(p)
        if constant.size:
            k = int(constant[0])
            centre = mean.copy()
            centre[constant] = 0.0
            scale = np.sqrt(np.maximum(mean_sq - mean**2, 0.0))
        else:
            k, centre = -1, np.zeros(p)
            scale = np.sqrt(mean_sq)
        scale[constant] = np.abs(top[constant])
        scale[scale == 0] = 1.0  # an all-zero column: nothing to scale
        np.fill_diagonal(transform, 1.0 / scale)
        if k >= 0:
            # z_j = (x_j − m_j)/s_j: the intercept absorbs −Σ γ_j m_j/s_j.
            transform[k, :] -= centre / scale / top[k]
            transform[k, k] = 1.0 / top[k]
        overall = _overall_mean(problem.family, weighted_target, problem.total_weight)
        transform /= np.sqrt(_mean_variance(problem.family, overall))
        return cls(problem, backend, transform, None if k < 0 else k, overall, **fields)

    def coef(self, gamma: FloatArray) -> FloatArray:
        """β = T γ in the problem's coefficient shape."""
        return self.apply_transform(self.problem.unflat(gamma), transpose=False)

    def apply_transform(self, b: FloatArray, *, transpose: bool) -> FloatArray:
        """T b (or Tᵀ b) for b of shape (p,) or (p, m), in O(p) per column: T is
        diagonal but for the intercept's row k (a dense p × p product took as
        long as a pass over a wide sparse design)."""
        t = self.transform
        b = np.asarray(b, dtype=np.float64)
        out = (np.diagonal(t) * b.T).T
        k = self.intercept
        if k is None:
            return out
        row = t[k].copy()
        row[k] = 0.0
        if transpose:
            out += np.multiply.outer(row, b[k])
        else:
            out[k] += row @ b
        return out

    def gamma(self, coef: FloatArray) -> FloatArray:
        """γ = T⁻¹ β, flattened."""
        return self.problem.flat(self.solve_transform(coef, transpose=False))

    def solve_transform(self, b: FloatArray, *, transpose: bool) -> FloatArray:
        """T⁻¹b (or T⁻ᵀb) for b of shape (p,) or (p, m), in O(p) per column.

        T is diagonal but for the intercept's row k, so T x = b is b_j/T_jj off k
        and then row k; Tᵀ y = g is y_k = g_k/T_kk first, then the rest.  (A
        dense solve, p³, dominated a wide sparse fit.)
        """
        t = self.transform
        diag = np.diagonal(t).copy()
        b = np.asarray(b, dtype=np.float64)
        k = self.intercept
        if k is None:
            return (b.T / diag).T
        row = t[k].copy()
        row[k] = 0.0
        if transpose:
            yk = b[k] / diag[k]
            out = (b - np.multiply.outer(row, yk)).T / diag
            out = out.T
            out[k] = yk
            return out
        out = (b.T / diag).T
        out[k] = (b[k] - row @ out) / diag[k]
        return out

    def sums(self, coef: FloatArray, *, hessian: bool = False,
             eta_out: FloatArray | None = None) -> NewtonSums:
        """Loss, gradient and optionally Hessian (β-space, totals) at ``coef`` over
        all rows; η into ``eta_out`` if given."""
        problem = self.problem
        return self.backend.map_sum(
            lambda r: newton_block(problem, r, coef, hessian=hessian, eta_out=eta_out),
            problem.n_obs)

    def value_and_gradient(self, gamma: FloatArray) -> tuple[float, FloatArray]:
        """f(γ) = (L − L_sat)/Σw and ∇f(γ), in standardized coordinates."""
        problem = self.problem
        s = self.sums(self.coef(gamma))
        assert s.loss is not None
        return ((s.loss - problem.saturated_loss) / problem.total_weight,
                self.to_gamma(s.gradient))

    def to_gamma(self, gradient: FloatArray) -> FloatArray:
        """Tᵀ g / Σw for a flattened β-space gradient total g."""
        problem = self.problem
        g = self.apply_transform(problem.unflat(gradient), transpose=True)
        return problem.flat(g) / problem.total_weight

    def curvature(self, hessian: Any) -> FloatArray:
        """Tᵀ H T / Σw for a β-space Hessian total H: the Hessian of f."""
        problem = self.problem
        if isinstance(hessian, ArrowGram):
            hessian = hessian.dense()
        # T has at most 2p non-zeros: sparse products keep this O(p²), not O(p³).
        t = sp.csr_matrix(np.kron(np.eye(problem.n_natural), self.transform))
        half = np.asarray(t.T @ hessian)  # TᵀH, so (TᵀH)ᵀ = HT (H is symmetric)
        return np.asarray(t.T @ half.T) / problem.total_weight

    def start(self) -> FloatArray:
        """γ at the intercept-only fit when there is an intercept (the mean of t), else 0.

        Every other coefficient starts at 0, so the first gradient already
        compares each predictor with a sensible baseline.
        """
        problem = self.problem
        gamma = np.zeros(problem.coef_shape)
        column = self.intercept
        if column is not None and problem.total_weight > 0:
            theta = problem.family.natural_from_mean(self.overall_mean)
            if np.all(np.isfinite(theta)):
                # β_k = γ_k·T[k, k] when every other γ is 0.
                gamma[column] = theta / self.transform[column, column]
        return problem.flat(gamma)


def finish(objective: Standardized, gamma: FloatArray, *, method: str, converged: bool,
           n_iter: int, message: str, history: list[dict[str, Any]],
           polish: bool = False) -> SolverResult:
    """The exact loss, gradient and Hessian at the estimate: inference from the
    observed information, as after IRLS.

    With ``polish``, a converged fit first takes one guarded Newton step
    (:func:`newton_polish`), recorded in the history as ``"newton polish"``; a
    fit that did not converge is reported where the solver left it.
    """
    problem = objective.problem
    coef = objective.coef(gamma)
    eta: FloatArray = np.empty(problem.eta_shape)
    final = objective.sums(coef, hessian=True, eta_out=eta)
    factor = None
    if polish and converged:
        polished = newton_polish(objective, gamma, final, eta)
        if polished is None:
            message += ("; the closing Newton step was not taken (a singular Hessian, or "
                        "a step that was not finite or raised the loss)")
        else:
            coef, eta, final, factor = polished
            history.append(record(problem, "newton polish", final, step=1.0,
                                  iteration=_next_iteration(history)))
    assert final.loss is not None and final.hessian is not None
    history.append(record(problem, "final", final))
    return SolverResult(coef=coef, eta=eta, loss=final.loss, hessian=final.hessian,
                        converged=converged, n_iter=n_iter, method=method, message=message,
                        n_boundary=final.boundary, history=history,
                        factor=None if factor is None else (final.hessian, factor))


def newton_polish(objective: Standardized, gamma: FloatArray, sums: NewtonSums,
                  eta: FloatArray
                  ) -> tuple[FloatArray, FloatArray, NewtonSums, Any] | None:
    """One Newton step from γ, using the Hessian in ``sums`` (computed at γ).

    Parameters
    ----------
    objective : Standardized
    gamma : ndarray
        The first-order solver's estimate.
    sums : NewtonSums
        Loss, gradient and Hessian at γ.
    eta : ndarray
        η at γ.

    Returns
    -------
    (coef, eta, sums, factor) or None
        The new coefficients, η at them and their loss, gradient and Hessian
        (the one at γ when η moved by at most :data:`HESSIAN_REUSE`, else a
        fresh one), and that Hessian's factorization when the step already made
        it (else None); None, keeping γ, when the Hessian is singular or the
        step is not finite or raises the loss beyond rounding.

    Notes
    -----
    Near the optimum Newton's method converges quadratically, so from a
    point right to 1e-5 one step gives all the digits the arithmetic allows;
    it costs one pass for the loss and gradient at the new point, as the
    Hessian is needed for the standard errors anyway.  The step is solved with
    the factorization the standard errors use (equilibrated Cholesky, or the
    Schur complement for a factor with many levels), so that a wide Hessian is
    factorised once, not twice.
    """
    assert sums.loss is not None and sums.hessian is not None
    problem = objective.problem
    # Under another link the step uses the observed information (the true
    # Hessian: quadratic convergence) where it is positive definite.
    observed = (None if problem.family.canonical
                else observed_information(problem, eta, objective.backend))
    step = newton_step(problem, sums, observed)
    if step is None:
        return None
    delta, factor = step
    coef = objective.coef(gamma) - delta
    new_eta = np.empty_like(eta)
    new = objective.sums(coef, eta_out=new_eta)
    if not (new.finite and new.loss is not None
            and new.loss <= sums.loss + loss_slack(sums.loss)):
        return None
    with np.errstate(invalid="ignore"):
        moved = float(np.max(np.abs(new_eta - eta), initial=0.0))
    # (Under another link the weights μ'²/V can change much faster with η, e.g.
    # 1/η² for the Gamma's inverse link: always a fresh pass.)
    if moved <= HESSIAN_REUSE and problem.family.canonical:
        return coef, new_eta, replace(new, hessian=sums.hessian, boundary=sums.boundary), factor
    return coef, new_eta, objective.sums(coef, hessian=True), None


def newton_step(problem: GLMProblem, sums: NewtonSums, observed: Any = None
                ) -> tuple[FloatArray, Any] | None:
    """The Newton step δ = H⁻¹g (coefficient-shaped) and the factorization of H.

    H is ``observed`` (the observed information, under another link) when its
    Cholesky factorization (or Schur complement's) finds it positive definite,
    else the Hessian in ``sums``.  None when H is singular or δ not finite.
    """
    factor = None
    if observed is not None:
        try:
            factor = factorize(observed)
        except (RankDeficientError, linalg.LinAlgError, ValueError):
            factor = None
    try:
        if factor is None:
            factor = factorize(sums.hessian)
        with np.errstate(over="ignore", invalid="ignore"):
            delta = problem.unflat(factor.solve(sums.gradient))
    except (RankDeficientError, linalg.LinAlgError, ValueError):  # singular: no step
        return None
    if not np.all(np.isfinite(delta)):
        return None
    return delta, factor


def _next_iteration(history: list[dict[str, Any]]) -> int:
    """The iteration number after the history's last row (0 for none)."""
    return int(history[-1].get("iteration", -1)) + 1 if history else 0


def record(problem: GLMProblem, kind: str, sums: NewtonSums, step: float = float("nan"),
           iteration: int | None = None) -> dict[str, Any]:
    """One history row, with the same columns as IRLS's."""
    total = problem.total_weight
    loss = float("nan") if sums.loss is None else sums.loss / total
    return {
        "stage": problem.n_obs,
        "kind": kind,
        "loss": loss,
        "deviance": float("nan") if sums.loss is None
        else 2.0 * (sums.loss - problem.saturated_loss),
        "grad_norm": float(np.linalg.norm(sums.gradient)) / total,
        "decrement": float("nan"),
        "step": step,
        **({} if iteration is None else {"iteration": iteration}),
    }
