"""Newton's method (IRLS) over Dask partitions, in few passes.

The same algorithm as :mod:`expfam.engine.solvers.irls`, arranged so that each
iteration is *one* pass over the data returning loss, gradient and Hessian
together:

1. **Start** from an IRLS fit of a sample of rows (drawn during the first pass,
   which also counts the rows), or with too few rows from R's start (one pass).
2. **Chord steps** from the sample (as in memory): passes returning the
   gradient, with the sample's Hessian scaled to all rows as the
   curvature, while that contracts the decrement fast; the pass at the first
   point predicted to be within 0.1 standard errors also returns the Hessian.
3. **Newton steps**: a pass at the current coefficients gives the loss, the
   gradient and the Hessian together (its rank-b updates in float32 for
   scalar families while far from the optimum: it only proposes the step); the
   step is halved, with a loss pass per halving, while the deviance rises.
   Stop when the Newton decrement is at most ``tol·(0.1 + deviance)`` (R's
   criterion, one step ahead) and take that step.
4. **At the estimate**: a float64 pass gives the Hessian for the covariance,
   checks the decrement left there (if the step fell short, Newton carries
   on) and, given the null model, also computes the log-likelihood, deviance
   and Pearson sums, so a converged fit needs no further pass.

η is never stored: every pass recomputes it on the workers from X, so no row
ever reaches the client.  If a pass fails on the cluster, the
:class:`~expfam.backend.dask_backend.ClusterError` carries the last
coefficients and the history (``err.partial``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.blocks import NewtonSums
from expfam.backend.dask_backend import ClusterError, DaskBackend
from expfam.engine.dask_problem import (
    FinalSums,
    Statistics,
    final_part,
    gradient_part,
    newton_part,
    start_part,
)
from expfam.engine.linalg import CholeskyFactor
from expfam.engine.problem import GLMProblem
from expfam.engine.schur import SchurFactor, factorize
from expfam.engine.solvers._result import SolverResult, loss_slack
from expfam.engine.solvers.irls import CHORD_CONTRACTION, FISHER_TOL_FACTOR, SAMPLE_TOL, irls
from expfam.errors import InputError, NumericalError, RankDeficientError
from expfam.families import ExponentialFamily

__all__ = ["DaskFit", "dask_newton"]

MAX_HALVINGS = 30
#: Below this decrement (0.1 standard errors from the optimum) passes are float64.
HANDOVER_DECREMENT = 1e-2


@dataclass(frozen=True)
class DaskFit:
    """What the Dask solver hands the results: the record, and where it stopped."""

    solver: SolverResult
    n_passes: int
    statistics: Statistics | None = None  # at the estimate, when the last pass made them


class _Passes:
    """Solver passes through the backend, with the history kept on the client."""

    def __init__(self, backend: DaskBackend, shape: tuple[int, ...], saturated: float,
                 total: float, names: Sequence[str] | None, parts: Any = None) -> None:
        self.backend, self.shape = backend, shape
        self.saturated, self.total = saturated, total
        m = 1 if len(shape) == 1 else shape[1]
        self.names = (None if names is None else list(names) if m == 1 else
                      [f"{n} (class {c + 1})" for c in range(m) for n in names])
        self.history: list[dict[str, Any]] = []
        self.iterations = 0
        self.coef: FloatArray | None = None
        self.parts = parts

    def final(self, coef: FloatArray, null_coef: FloatArray | None
              ) -> tuple[NewtonSums, Statistics | None]:
        """The float64 pass at a candidate estimate, with the statistics if the null
        model's coefficients are known."""
        if null_coef is None:
            return self.newton(coef), None
        sums: FinalSums = self._run(final_part, coef, null_coef,
                                    what="loss, gradient, Hessian and statistics")
        return sums.newton, sums.statistics

    def gradient(self, coef: FloatArray) -> NewtonSums:
        return self._run(gradient_part, coef, what="gradient")

    def newton(self, coef: FloatArray, *, hessian: bool = True,
               single: bool = False) -> NewtonSums:
        what = "loss and gradient" if not hessian else (
            "Newton step (float32 Hessian)" if single else "loss, gradient and Hessian")
        return self._run(newton_part, coef, hessian, single, what=what)

    def _run(self, fn: Callable[..., Any], *args: Any, what: str) -> Any:
        try:
            return self.backend.map_sum(fn, *args, what=what, parts=self.parts)
        except ClusterError as err:
            err.partial = {"coef": self.coef, "history": list(self.history),
                           "n_passes": self.backend.n_passes - 1}
            raise

    def flat(self, coef: FloatArray) -> FloatArray:
        return np.asarray(coef, dtype=np.float64).reshape(-1, order="F")

    def unflat(self, theta: FloatArray) -> FloatArray:
        return np.asarray(theta, dtype=np.float64).reshape(self.shape, order="F")

    def deviance(self, loss: float | None) -> float:
        return float("nan") if loss is None else 2.0 * (loss - self.saturated)

    def factor(self, hessian: Any) -> CholeskyFactor | SchurFactor:
        """Dense by Cholesky; a factor's arrow by the Schur complement."""
        assert hessian is not None
        return factorize(hessian, self.names)

    def record(self, kind: str, sums: NewtonSums, decrement: float, step: float = 1.0) -> None:
        self.history.append({
            "stage": "dask", "kind": kind,
            "loss": float("nan") if sums.loss is None else sums.loss / self.total,
            "deviance": self.deviance(sums.loss),
            "grad_norm": float(np.linalg.norm(sums.gradient)) / self.total,
            "decrement": decrement, "step": step,
        })


def dask_newton(backend: DaskBackend, shape: tuple[int, ...], *, saturated: float,
                total: float, sample: GLMProblem | None, tol: float = 1e-8,
                max_iter: int = 100, names: Sequence[str] | None = None,
                start: FloatArray | None = None, parts: Any = None,
                single: bool = True, null_coef: FloatArray | None = None,
                family: ExponentialFamily | None = None,
                level: float | None = None) -> DaskFit:
    """Maximum likelihood over the partitions of ``backend``.

    Parameters
    ----------
    backend : DaskBackend
        Its partitions are :class:`~expfam.engine.dask_problem.Part` objects.
    shape : tuple
        The coefficients' shape, (p,) or (p, m).
    saturated, total : float
        The saturated loss and Σw of all rows (from the first pass).
    sample : GLMProblem, optional
        Rows to fit in memory for the starting point; None starts from R's.
    start : ndarray, optional
        Starting coefficients (instead of the sample).
    parts : list, optional
        Other partitions than the backend's (the null model's).
    single : bool
        Propose steps from float32 Hessians (scalar families).
    null_coef : ndarray, optional
        The null model's coefficients: the last pass then also computes the
        statistics (:class:`~expfam.engine.dask_problem.Statistics`).
    family : ExponentialFamily, optional
        The partitions' family.  Under a non-canonical link the steps are
        Fisher scoring's and the tolerance is tightened as in memory
        (:data:`~expfam.engine.solvers.irls.FISHER_TOL_FACTOR`); a step whose
        means leave the family's range has an infinite loss and is halved.
    level : float, optional
        g(t̄), the intercept-only fit's linear predictor: the fallback start
        when R's start gives invalid means (non-canonical links).
    """
    try:
        return _dask_newton(backend, shape, saturated=saturated, total=total, sample=sample,
                            tol=tol, max_iter=max_iter, names=names, start=start,
                            parts=parts, single=single, null_coef=null_coef, family=family,
                            level=level)
    except RankDeficientError:
        if family is not None and not family.canonical:
            _raise_if_at_edge(backend, parts, family, names)
        raise


def _dask_newton(backend: DaskBackend, shape: tuple[int, ...], *, saturated: float,
                 total: float, sample: GLMProblem | None, tol: float, max_iter: int,
                 names: Sequence[str] | None, start: FloatArray | None, parts: Any,
                 single: bool, null_coef: FloatArray | None,
                 family: ExponentialFamily | None, level: float | None) -> DaskFit:
    canonical = family is None or family.canonical
    if not canonical:
        # Fisher scoring converges linearly: as in memory, the criterion is
        # tightened so the estimate is as accurate as Newton's.
        tol *= FISHER_TOL_FACTOR
    ev = _Passes(backend, shape, saturated, total, names, parts)
    single = single and len(shape) == 1
    warm = _warm_start(ev, sample) if start is None and sample is not None else None
    chord = None if warm is None else _chord(ev, warm, tol, max_iter, single)
    if chord is not None:
        coef, sums = chord
    else:
        coef = _start(ev, None, start)
        sums = ev.newton(coef, single=single)
        if not sums.finite and not canonical:
            coef, sums = _valid_start(ev, level, given=start is not None)
    if not sums.finite:
        raise NumericalError("non-finite log-likelihood or gradient at the starting point")
    statistics: Statistics | None = None
    message = f"iteration limit reached (max_iter={max_iter})"
    converged = False
    for _ in range(max_iter):
        ev.coef = coef
        delta = ev.unflat(ev.factor(sums.hessian).solve(sums.gradient))
        q = float(sums.gradient @ ev.flat(delta))
        dev = ev.deviance(sums.loss)
        ev.record("newton", sums, q)
        ev.iterations += 1
        if q <= tol * (0.1 + abs(dev)):
            # Take the step; check it (and get the covariance) with a float64 pass.
            final, statistics = ev.final(coef - delta, null_coef)
            q_final = float(final.gradient @ ev.factor(final.hessian).solve(final.gradient))
            ev.record("final", final, q_final)
            if final.finite and q_final <= tol * (0.1 + abs(ev.deviance(final.loss))):
                coef, sums, converged = coef - delta, final, True
                message = (f"converged: the last Newton step changed the deviance by {q:.2g} "
                           f"(relative {q / (0.1 + abs(dev)):.2g} <= tol={tol:g})")
                break
            coef, sums, single, statistics = coef - delta, final, False, None
            continue
        # float32 Hessians only while far from the optimum (more than 0.1 standard
        # errors): the steps near it are taken from float64 ones, so the estimate
        # is as exact as the in-memory fit's.
        single = single and q > HANDOVER_DECREMENT
        trial = ev.newton(coef - delta, single=single)
        step = 1.0
        if not _decreased(trial, sums):
            found = _backtrack(ev, coef, delta, sums)
            if found is None:
                message = ("step-halving failed: the deviance did not decrease along the "
                           f"Newton direction in {MAX_HALVINGS} halvings")
                break
            step = found
            trial = ev.newton(coef - step * delta, single=single)
            ev.history[-1]["step"] = step
        coef, sums = coef - step * delta, trial
    if not converged and (sums.hessian is None or single):
        sums = ev.newton(coef)
    assert sums.loss is not None and sums.hessian is not None
    record = SolverResult(coef=coef, eta=np.empty(0), loss=sums.loss, hessian=sums.hessian,
                          converged=converged, n_iter=ev.iterations, method="irls",
                          message=message, n_boundary=sums.boundary, history=ev.history)
    return DaskFit(record, backend.n_passes, statistics if converged else None)


def _decreased(new: NewtonSums, old: NewtonSums) -> bool:
    assert new.loss is not None and old.loss is not None
    return new.finite and new.loss <= old.loss + loss_slack(old.loss)


def _backtrack(ev: _Passes, coef: FloatArray, delta: FloatArray,
               sums: NewtonSums) -> float | None:
    """Halve the step until the loss does not rise: one loss pass per halving."""
    assert sums.loss is not None
    step = 1.0
    for _ in range(MAX_HALVINGS):
        step /= 2.0
        trial = ev.newton(coef - step * delta, hessian=False)
        if trial.finite and trial.loss is not None and (
                trial.loss <= sums.loss + loss_slack(sums.loss)):
            return step
    return None


@dataclass
class _WarmStart:
    coef: FloatArray
    curvature: CholeskyFactor | SchurFactor  # the sample's Hessian …
    scale: float  # … times this is the curvature of all rows
    deviance: float  # the sample's deviance scaled to all rows: a guide

    def solve(self, gradient: FloatArray) -> FloatArray:
        return self.curvature.solve(gradient) / self.scale


def _warm_start(ev: _Passes, sample: GLMProblem) -> _WarmStart | None:
    """Fit the sample in memory; None if that fails (R's start is used then)."""
    try:
        fit = irls(sample, tol=SAMPLE_TOL, max_iter=25)
        if not (fit.converged and np.all(np.isfinite(fit.coef))):
            return None
        factor = factorize(fit.hessian)
    except (RankDeficientError, NumericalError):
        return None  # a column constant in the sample, say
    ev.history.extend(dict(h, stage="sample") for h in fit.history)
    scale = ev.total / sample.total_weight
    return _WarmStart(np.asarray(fit.coef).reshape(ev.shape), factor, scale,
                      scale * 2.0 * (fit.loss - sample.saturated_loss))


def _chord(ev: _Passes, warm: _WarmStart, tol: float, max_iter: int,
           single: bool) -> tuple[FloatArray, NewtonSums] | None:
    """Loss-and-gradient passes with the sample's curvature until Newton pays off
    (as :func:`expfam.engine.solvers.irls._chord`).  Returns the coefficients
    and the sums there (with a Hessian), or None when the very first step fails
    (the sample was a poor guide)."""
    coef = warm.coef
    ev.coef = coef
    sums = ev.gradient(coef)
    if not sums.finite:
        return None
    q_prev: float | None = None
    for _ in range(max_iter):
        delta = ev.unflat(warm.solve(sums.gradient))
        q = float(sums.gradient @ ev.flat(delta))
        ev.record("chord", sums, q)
        # The decrement shrinks by about q/q_prev per pass: take the Hessian at
        # the first point predicted to be close enough for Newton to finish.
        predicted = q if q_prev is None else q * q / q_prev
        exact = predicted <= min(HANDOVER_DECREMENT, tol * (0.1 + warm.deviance))
        new = (ev.newton(coef - delta, single=single) if exact
               else ev.gradient(coef - delta))
        ev.iterations += 1
        contracted = new.finite and (exact or float(
            new.gradient @ warm.solve(new.gradient)) <= CHORD_CONTRACTION * q)
        if not contracted:
            if q_prev is None:
                return None
            break  # undo the step: Newton takes over from coef
        coef, sums, q_prev = coef - delta, new, q
        ev.coef = coef
        if exact:
            return coef, sums
    return coef, ev.newton(coef, single=single)


def _start(ev: _Passes, sample: GLMProblem | None, start: FloatArray | None) -> FloatArray:
    """Coefficients to start Newton from: given, a sample's fit, or R's start."""
    if start is not None:
        return np.asarray(start, dtype=np.float64).reshape(ev.shape)
    if sample is not None:
        try:
            fit = irls(sample, tol=1e-5, max_iter=25)
            if fit.converged and np.all(np.isfinite(fit.coef)):
                ev.history.extend(dict(h, stage="sample") for h in fit.history)
                return np.asarray(fit.coef).reshape(ev.shape)
        except (RankDeficientError, NumericalError):
            pass  # a column constant in the sample, say: start as R does
    sums = ev._run(start_part, what="R's IRLS start")
    if not sums.finite:
        raise NumericalError("non-finite values at the IRLS starting point")
    ev.iterations += 1
    return ev.unflat(-ev.factor(sums.hessian).solve(sums.gradient))


def _valid_start(ev: _Passes, level: float | None,
                 given: bool) -> tuple[FloatArray, NewtonSums]:
    """A start whose means are inside the family's range (as in memory's
    ``_valid_start``): the coefficients closest to the intercept-only fit's
    η = g(t̄), from which step halving keeps every mean valid.  One pass for
    the normal equations, one at the start."""
    from expfam.engine.dask_passes import level_part

    if not given and level is not None and np.isfinite(level):
        sums = ev._run(level_part, level, what="a start inside the range")
        if sums.finite:
            try:
                coef = ev.unflat(-ev.factor(sums.hessian).solve(sums.gradient))
            except RankDeficientError:
                pass
            else:
                new = ev.newton(coef)
                if new.finite:
                    return coef, new
    source = "start_params give" if given else "no starting point gives"
    raise InputError(f"cannot find valid starting values: {source} fitted means inside the "
                     "family's range under this link; please specify start_params that do "
                     "(as R's glm asks for start=)")


def _raise_if_at_edge(backend: DaskBackend, parts: Any, family: ExponentialFamily,
                      names: Sequence[str] | None) -> None:
    """As in memory: a singular information on a full-rank design (one pass for
    XᵀWX) means the fit ran to the edge of the valid means; say so."""
    from expfam.engine.dask_passes import level_part

    gram = backend.map_sum(level_part, 0.0, what="rank of the design", parts=parts)
    try:
        CholeskyFactor(gram.hessian, names)
    except RankDeficientError:
        return  # the design itself is aliased
    raise NumericalError(
        f"the fit ran to the edge of the {family.name} family's range under the "
        f"{family.link_name!r} link: some fitted means approach the boundary, where the "
        "information is infinite, so the maximum-likelihood estimate does not lie inside "
        "the range (R: 'no valid set of coefficients has been found'). Use another link "
        "(the canonical one never leaves the range) or other predictors")
