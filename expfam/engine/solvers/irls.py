"""Newton's method, which for a canonical link is exactly IRLS, over row blocks.

The template (every step a sum over row blocks, :mod:`expfam.backend.blocks`):

1. **Start.**  R's IRLS start: one weighted least-squares fit of the working
   response at μ₀ = ``family.start_mean(t, w)``.  With many rows, fit a random
   sample of rows that way instead, and keep its Hessian H_s.
2. **Chord steps** (many rows only).  Reuse H_s, scaled by the ratio of total
   weights, with the exact full-data gradient, β ← β − (c·H_s)⁻¹ g, while that
   contracts the gradient fast.  Such a pass reads X once and costs a fraction
   of a Hessian pass.
3. **Newton steps** with the exact Hessian Xᵀ W X (a symmetric rank-b update
   per block; after chord steps, the first in single precision, since the
   pass at the estimate checks it), halving the step in η-space while the deviance rises (no extra
   passes over X), until the Newton decrement q = gᵀH⁻¹g — the deviance the next
   step would remove — is at most ``tol·(0.1 + deviance)``: R's criterion, one
   step ahead.  Then take that step.
4. **At the estimate.**  One more pass there gives the loss, the gradient and
   the Hessian *at the reported estimate*, so the covariance is the inverse
   information at the estimate (R uses the previous iterate's weights).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.blocks import Backend, NewtonSums, blas_single_threaded, default_backend
from expfam.backend.progress import Progress, ProgressOption, reporter
from expfam.design.matrix import StructuredDesign
from expfam.engine.kernels import (
    gradient_block,
    loss_at_eta,
    newton_block,
    start_block,
    weighted_gram,
)
from expfam.engine.linalg import CholeskyFactor
from expfam.engine.problem import GLMProblem
from expfam.engine.schur import SchurFactor, factorize
from expfam.engine.solvers._result import SolverResult, loss_slack
from expfam.errors import InputError, NumericalError, RankDeficientError, describe_rows

__all__ = ["irls"]

MAX_HALVINGS = 30
#: Rows sampled for the warm start; it is used when the data have at least 20
#: times as many rows, with at least 10,000 in the sample.
SAMPLE_ROWS = 50_000
#: Tolerance the sample is fit to: its Hessian, the chord steps' curvature, is
#: then taken at its own optimum.
SAMPLE_TOL = 1e-5
#: A chord step must shrink the decrement at least this much, else use Newton.
CHORD_CONTRACTION = 0.25
#: The chord phase hands over to Newton at the first point predicted to be
#: within √0.01 = 0.1 standard errors of the optimum, from where one Newton
#: step converges.
HANDOVER_DECREMENT = 1e-2
#: Under a non-canonical link the deviance tolerance is multiplied by this.
FISHER_TOL_FACTOR = 1e-8
#: Diagonal entries of a single-precision Hessian must lie in this range, well
#: inside float32's normal numbers, for its digits to be trusted.
SINGLE_RANGE = (1e-30, 1e30)


def irls(
    problem: GLMProblem,
    *,
    start: FloatArray | None = None,
    tol: float = 1e-8,
    max_iter: int = 100,
    backend: Backend | None = None,
    names: Sequence[str] | None = None,
    progress: ProgressOption = False,
) -> SolverResult:
    """Maximum-likelihood fit by IRLS: Newton's method for the canonical link, Fisher
    scoring (expected information, as R's ``glm``) for any other.

    For a link whose mean can leave the family's range (log-binomial,
    identity-Poisson) a step is halved in η until every mean is valid again
    (an invalid mean makes the loss infinite), as R's ``glm.fit`` does.

    Parameters
    ----------
    problem : GLMProblem
    start : ndarray, shape (p,) or (p, m), optional
        Starting coefficients; by default R's IRLS start (or a sample fit).
    tol : float
        Relative deviance tolerance on R's scale: stop when the next Newton step
        would change the deviance by at most ``tol·(0.1 + deviance)``.
    max_iter : int
        Newton iterations over the full data.
    backend : Backend, optional
    names : sequence of str, optional
        Coefficient names, for errors about aliased columns.
    progress : bool, "bar", "log" or callable
        Report every pass over the rows (deviance, decrement, step, time): see
        :mod:`expfam.backend.progress`.  Quiet by default.

    Raises
    ------
    RankDeficientError
        If the design has aliased columns.
    NumericalError
        If the starting point already gives non-finite values.
    """
    if not problem.family.canonical:
        # Fisher scoring converges linearly, not quadratically: the step that
        # meets the criterion leaves an error of the order of the criterion
        # itself, so it is tightened to give estimates as accurate as Newton's.
        tol *= FISHER_TOL_FACTOR
    # BLAS stays single-threaded throughout: the backend parallelises over row
    # blocks, and BLAS threads woken between passes would spin on its cores.
    with blas_single_threaded(), reporter(progress, "irls") as bar:
        ev = _Evaluator(problem, backend or default_backend(), names)
        ev.progress = bar
        warm = _warm_start(ev) if start is None else None
        try:
            last = _fit(ev, start, warm, tol, max_iter)
        except RankDeficientError:
            _raise_if_at_edge(ev)
            raise
        assert last.sums.hessian is not None and last.sums.loss is not None
        if not last.converged:
            # The last sums may hold a single-precision Hessian: report float64's.
            sums = ev.newton_pass(last.coef, hessian=True, eta_out=last.eta)
            return ev.result(last.coef, last.eta, sums, False, last.message)
        coef = last.coef - last.delta
        final = ev.newton_pass(coef, hessian=True, eta_out=last.eta)
        q = float(final.gradient @ ev.factor(final.hessian).solve(final.gradient))
        ev.record("final", final, q)
        if q > tol * (0.1 + abs(ev.deviance(final.loss))) or not final.finite:
            # The step fell short of the criterion (a single-precision Hessian can
            # make it so): carry on with float64 Newton steps from here.
            last = _newton_steps(ev, coef, final, last.eta, tol, max_iter)
            if not last.converged:
                return ev.result(last.coef, last.eta, last.sums, False, last.message)
            coef = last.coef - last.delta
            final = ev.newton_pass(coef, hessian=True, eta_out=last.eta)
            ev.record("final", final, float(final.gradient @ ev.factor(
                final.hessian).solve(final.gradient)))
        return ev.result(coef, last.eta, final, True, last.message)


def _fit(ev: _Evaluator, start: FloatArray | None, warm: _WarmStart | None, tol: float,
         max_iter: int) -> _LastIterate:
    """Start (or chord steps from a warm start), then Newton steps to convergence."""
    problem = ev.problem
    eta: FloatArray = np.empty(problem.eta_shape)
    chord = None if warm is None else _chord(ev, warm, eta, tol, max_iter)
    if chord is not None:
        coef, sums, eta = chord
    else:
        coef = _irls_start(ev) if start is None else np.array(
            start, dtype=np.float64).reshape(problem.coef_shape)
        sums = ev.newton_pass(coef, hessian=True, eta_out=eta)
        if not sums.finite and not problem.family.canonical:
            coef, sums = _valid_start(ev, coef, eta, given=start is not None)
        if not sums.finite:
            raise NumericalError("non-finite log-likelihood or gradient at the starting point")
    return _newton_steps(ev, coef, sums, eta, tol, max_iter)


# ----------------------------------------------------------------------
# Passes over the rows.
# ----------------------------------------------------------------------
class _Evaluator:
    """Runs block kernels through the backend; counts iterations, keeps history."""

    def __init__(self, problem: GLMProblem, backend: Backend,
                 names: Sequence[str] | None) -> None:
        self.problem = problem
        self.backend = backend
        # Names per coefficient: a categorical model repeats the columns per class.
        m = problem.n_natural
        self.names = (None if names is None else list(names) if m == 1 else
                      [f"{n} (class {c + 1})" for c in range(m) for n in names])
        self.history: list[dict[str, Any]] = []
        self.iterations = 0
        self.progress = Progress("irls")  # quiet unless irls() sets its reporter

    def newton_pass(self, coef: FloatArray, *, hessian: bool,
                    eta_out: FloatArray | None = None) -> NewtonSums:
        problem = self.problem
        return self.backend.map_sum(
            lambda rows: newton_block(problem, rows, coef, hessian=hessian, eta_out=eta_out),
            problem.n_obs,
        )

    def proposal_pass(self, coef: FloatArray, eta_out: FloatArray) -> NewtonSums:
        """Exact loss and gradient with a single-precision Hessian, for a Newton step
        that the exact pass at the estimate then checks (its decrement must meet
        the criterion, else float64 Newton steps carry on).

        The float32 rank-b updates run at twice the speed; their relative error,
        about 1e-6, only slows the step's convergence by as much.  Where float32
        cannot represent the design's scale (non-finite sums) or its Hessian looks
        singular, the pass is redone in float64.  Categorical Hessians are always
        float64.
        """
        problem = self.problem
        if problem.structured:  # factors and sparse columns: float64 products only
            return self.newton_pass(coef, hessian=True, eta_out=eta_out)
        sums = self.backend.map_sum(
            lambda rows: newton_block(problem, rows, coef, hessian=True, eta_out=eta_out,
                                      hessian_dtype=np.float32),
            problem.n_obs,
        )
        diag = np.diagonal(sums.hessian) if sums.hessian is not None else np.zeros(0)
        # Entries near float32's subnormal or overflow range have lost their digits.
        if sums.finite and np.all((diag > SINGLE_RANGE[0]) & (diag < SINGLE_RANGE[1])):
            try:
                self.factor(sums.hessian)
                return sums
            except RankDeficientError:
                pass
        return self.newton_pass(coef, hessian=True, eta_out=eta_out)

    def gradient_pass(self, coef: FloatArray, eta_out: FloatArray) -> NewtonSums:
        problem = self.problem
        return self.backend.map_sum(
            lambda rows: gradient_block(problem, rows, coef, eta_out), problem.n_obs)

    def loss_at(self, eta: FloatArray) -> float:
        problem = self.problem
        return float(self.backend.map_sum(lambda r: loss_at_eta(problem, r, eta), problem.n_obs))

    def deviance(self, loss: float | None) -> float:
        return float("nan") if loss is None else 2.0 * (loss - self.problem.saturated_loss)

    def factor(self, hessian: Any) -> CholeskyFactor | SchurFactor:
        assert hessian is not None
        return factorize(hessian, self.names)

    def record(self, kind: str, sums: NewtonSums, decrement: float, step: float = 1.0) -> None:
        total = self.problem.total_weight
        self.history.append({
            "stage": self.problem.n_obs,
            "kind": kind,
            "loss": float("nan") if sums.loss is None else sums.loss / total,
            "deviance": self.deviance(sums.loss),
            "grad_norm": float(np.linalg.norm(sums.gradient)) / total,
            "decrement": decrement,
            "step": step,
        })
        self.progress.update(**self.history[-1])

    def result(self, coef: FloatArray, eta: FloatArray, sums: NewtonSums, converged: bool,
               message: str) -> SolverResult:
        assert sums.loss is not None and sums.hessian is not None
        return SolverResult(coef=coef, eta=eta, loss=sums.loss, hessian=sums.hessian,
                            converged=converged, n_iter=self.iterations, method="irls",
                            message=message, n_boundary=sums.boundary, history=self.history)


def _decreased(new: NewtonSums, old: NewtonSums) -> bool:
    assert new.loss is not None and old.loss is not None
    return new.finite and new.loss <= old.loss + loss_slack(old.loss)


def _backtrack(ev: _Evaluator, eta: FloatArray, eta_full: FloatArray,
               loss0: float) -> float | None:
    """Halve the step in η-space until the loss is finite and not above ``loss0``.

    η is linear in β, so η at β + s·Δ is η + s·(η_full − η): no pass over X.
    Returns the accepted step length, or None.
    """
    step = 1.0
    trial = np.empty_like(eta)
    with np.errstate(over="ignore", invalid="ignore"):  # for η arithmetic on inf
        for _ in range(MAX_HALVINGS):
            step /= 2.0
            np.multiply(eta_full - eta, step, out=trial)
            trial += eta
            loss = ev.loss_at(trial)
            if np.isfinite(loss) and loss <= loss0 + loss_slack(loss0):
                return step
    return None


# ----------------------------------------------------------------------
# Phases.
# ----------------------------------------------------------------------
def _irls_start(ev: _Evaluator) -> FloatArray:
    problem = ev.problem
    sums = ev.backend.map_sum(lambda rows: start_block(problem, rows), problem.n_obs)
    if not sums.finite:
        raise NumericalError("non-finite values at the IRLS starting point")
    ev.iterations += 1
    return problem.unflat(-ev.factor(sums.hessian).solve(sums.gradient))


def _raise_if_at_edge(ev: _Evaluator) -> None:
    """Under a non-canonical link a singular information matrix on a full-rank
    design means the fit ran to the edge of the valid means (a weight μ'²/V
    growing without bound as μ → 0): say so rather than blame the columns."""
    problem = ev.problem
    if problem.family.canonical:
        return
    gram = ev.backend.map_sum(
        lambda rows: NewtonSums(0.0, np.zeros(problem.n_features), weighted_gram(
            problem.block(rows).exog, (problem.block(rows).weights > 0).astype(float))),
        problem.n_obs)
    try:
        ev.factor(gram.hessian)
    except RankDeficientError:
        return  # the design itself is aliased
    family = problem.family
    raise NumericalError(
        f"the fit ran to the edge of the {family.name} family's range under the "
        f"{family.link_name!r} link: some fitted means approach the boundary, where the "
        "information is infinite, so the maximum-likelihood estimate does not lie inside "
        "the range (R: 'no valid set of coefficients has been found'). Use another link "
        "(the canonical one never leaves the range) or other predictors")


def _valid_start(ev: _Evaluator, coef: FloatArray, eta: FloatArray,
                 given: bool) -> tuple[FloatArray, NewtonSums]:
    """A start whose means are all inside the family's range, for a link that can
    leave it (log-binomial, identity-Poisson): R's IRLS start, else the
    coefficients closest to the intercept-only fit η = g(t̄), from which Fisher
    scoring's step halving keeps every mean valid.

    Raises
    ------
    InputError
        When neither is valid (R: "cannot find valid starting values"), naming
        the rows whose means leave the range.
    """
    problem = ev.problem
    family = problem.family
    if not given:
        tbar = float(problem.weights @ problem.target) / problem.total_weight
        level = float(family.natural_from_mean(np.asarray(tbar)))

        def normal_equations(rows: slice) -> NewtonSums:
            block = problem.block(rows)
            r = level - (0.0 if block.offset is None else block.offset)
            x, wr = block.exog, block.weights * r
            xt_wr = x.rmatvec(wr) if isinstance(x, StructuredDesign) else x.T @ wr
            return NewtonSums(0.0, -xt_wr, weighted_gram(x, block.weights))

        sums = ev.backend.map_sum(normal_equations, problem.n_obs)
        if sums.finite:
            try:
                coef = problem.unflat(-ev.factor(sums.hessian).solve(sums.gradient))
            except RankDeficientError:
                pass
            else:
                sums = ev.newton_pass(coef, hessian=True, eta_out=eta)
                if sums.finite:
                    return coef, sums
    bad = ~family.valid(eta) & (problem.weights > 0)  # type: ignore[attr-defined]
    where = f" at {describe_rows(bad)}" if bad.any() else ""
    source = "start_params give" if given else "no starting point gives"
    raise InputError(
        f"cannot find valid starting values: {source} fitted means inside the range of the "
        f"{family.name} family under the {family.link_name!r} link{where}; please specify "
        "start_params that do (as R's glm asks for start=)")


@dataclass
class _LastIterate:
    """State at the last exact Newton pass, and the step proposed from it."""

    coef: FloatArray
    sums: NewtonSums
    eta: FloatArray
    delta: FloatArray
    converged: bool
    message: str


def _newton_steps(ev: _Evaluator, coef: FloatArray, sums: NewtonSums, eta: FloatArray,
                  tol: float, max_iter: int) -> _LastIterate:
    """Newton steps from exact sums (with loss and Hessian) at ``coef``."""
    problem = ev.problem
    eta_new = np.empty_like(eta)
    message = f"iteration limit reached (max_iter={max_iter})"
    delta = np.zeros_like(coef)
    for _ in range(max_iter):
        delta = problem.unflat(ev.factor(sums.hessian).solve(sums.gradient))
        q = float(sums.gradient @ problem.flat(delta))
        dev = ev.deviance(sums.loss)
        ev.record("newton", sums, q)
        ev.iterations += 1
        if q <= tol * (0.1 + abs(dev)):
            return _LastIterate(coef, sums, eta, delta, True,
                                f"converged: the last Newton step changed the deviance by "
                                f"{q:.2g} (relative {q / (0.1 + abs(dev)):.2g} <= tol={tol:g})")
        new = ev.newton_pass(coef - delta, hessian=True, eta_out=eta_new)
        step = 1.0
        if not _decreased(new, sums):
            assert sums.loss is not None
            found = _backtrack(ev, eta, eta_new, sums.loss)
            if found is None:
                message = ("step-halving failed: the deviance did not decrease along the "
                           f"Newton direction in {MAX_HALVINGS} halvings")
                break
            step = found
            new = ev.newton_pass(coef - step * delta, hessian=True, eta_out=eta_new)
            ev.history[-1]["step"] = step
        coef, sums = coef - step * delta, new
        eta, eta_new = eta_new, eta
    return _LastIterate(coef, sums, eta, delta, False, message)


class _ScaledFactor:
    """Solves with c·H for a factorised H: a sample's Hessian scaled to all rows."""

    def __init__(self, factor: CholeskyFactor | SchurFactor, scale: float) -> None:
        self.factor, self.scale = factor, scale

    def solve(self, b: FloatArray) -> FloatArray:
        return self.factor.solve(b) / self.scale


@dataclass
class _WarmStart:
    coef: FloatArray
    curvature: _ScaledFactor
    deviance: float  # the sample's deviance scaled to all rows: a guide, not a result


def _chord(ev: _Evaluator, warm: _WarmStart, eta: FloatArray, tol: float,
           max_iter: int) -> tuple[FloatArray, NewtonSums, FloatArray] | None:
    """Gradient passes with the sample's curvature until exact Newton pays off.

    Returns the coefficients reached, the sums there (exact loss and gradient;
    the Hessian of the hand-over pass in single precision) and η at those
    coefficients.  A step that leaves non-finite values
    or fails to shrink the decrement is undone and Newton — globally convergent
    with its line search — takes over from the last good point; if the very
    first step fails, the sample was a poor guide (say, separated where the full
    data are not) and None sends the fit back to R's start.
    """
    problem = ev.problem
    coef = warm.coef
    sums = ev.gradient_pass(coef, eta)
    if not sums.finite:
        return None
    eta_new = np.empty_like(eta)
    q_prev: float | None = None
    for _ in range(max_iter):
        delta = problem.unflat(warm.curvature.solve(sums.gradient))
        q = float(sums.gradient @ problem.flat(delta))
        ev.record("chord", sums, q)
        # The decrement shrinks by about q/q_prev per pass: evaluate the exact
        # Hessian at the first point predicted to be close enough.
        predicted = q if q_prev is None else q * q / q_prev
        exact = predicted <= min(HANDOVER_DECREMENT, tol * (0.1 + warm.deviance))
        new = (ev.proposal_pass(coef - delta, eta_new) if exact
               else ev.gradient_pass(coef - delta, eta_new))
        ev.iterations += 1
        contracted = new.finite and (exact or float(
            new.gradient @ warm.curvature.solve(new.gradient)) <= CHORD_CONTRACTION * q)
        if not contracted:
            if q_prev is None:
                return None
            break  # undo the step: stay at coef, whose η is still in `eta`
        coef, sums, q_prev = coef - delta, new, q
        eta, eta_new = eta_new, eta
        if exact:
            return coef, sums, eta
    return coef, ev.newton_pass(coef, hessian=True, eta_out=eta), eta


def _warm_start(ev: _Evaluator) -> _WarmStart | None:
    """Fit a random sample of rows by IRLS, or None when there are too few rows or
    the sample fit fails (a column constant in the sample, no convergence): the
    full data then start from scratch."""
    problem = ev.problem
    size = min(SAMPLE_ROWS, problem.n_obs // 20)
    if size < max(10_000, 100 * problem.n_params):
        return None
    # One row drawn at random from each of `size` equal strata: random, yet
    # spread over the whole data even when the rows are ordered.  Seeded by the
    # data's size, so a fit is reproducible.
    stride = problem.n_obs // size
    rng = np.random.default_rng(problem.n_obs)
    sample = problem.take(np.arange(size) * stride + rng.integers(0, stride, size))
    sub = _Evaluator(sample, ev.backend, None)
    try:
        last = _fit(sub, None, None, tol=SAMPLE_TOL, max_iter=25)
        factor = factorize(last.sums.hessian)
    except (RankDeficientError, NumericalError, InputError):  # InputError: no valid start
        return None
    finally:
        ev.history.extend(sub.history)
    if not last.converged or last.sums.loss is None:
        return None
    scale = problem.total_weight / sample.total_weight
    return _WarmStart(last.coef - last.delta, _ScaledFactor(factor, scale),
                      scale * sub.deviance(last.sums.loss))
