"""Checks around a GLM fit: inputs a solver cannot judge, and what a fit says
about its data.

Before the fit: offsets, weights or trials too large for any likelihood, and a
response with one outcome.  After it: whether the outcomes are separated (a
linear program decides when the fit shows a sign of it), a Gaussian fit with
nothing left to explain, and why a fit did not converge — each a warning that
names the terms or rows and the remedy.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from expfam.backend.blocks import default_backend
from expfam.design.matrix import as_matrix
from expfam.engine.kernels import weighted_gram
from expfam.engine.problem import GLMProblem
from expfam.engine.schur import factorize
from expfam.engine.solvers import SolverResult
from expfam.errors import (
    ConvergenceWarning,
    DataWarning,
    InputError,
    NumericalError,
    RankDeficientError,
    SeparationWarning,
    describe_rows,
    user_stacklevel,
)
from expfam.inference.diagnostics import why_not_converged
from expfam.inference.separation import boundary_message, detect_separation

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults
    from expfam.models.glm import GLM

__all__ = ["check_magnitudes", "check_response_scale", "check_response_varies", "diagnose",
           "raise_if_separated"]

#: Designs up to this many entries get the linear-programming separation check.
SEPARATION_CHECK_SIZE = 5_000_000
#: A linear predictor beyond this (a probability within about 5e-5 of 0 or 1) at
#: some row makes a binary or categorical fit suspect of separation.
SEPARATION_ETA = 10.0
#: ... but only for designs up to this many entries: a strong predictor alone
#: gives |η| > 10 somewhere in large data, and the LP would then cost seconds.
SEPARATION_ETA_CHECK_SIZE = 200_000
#: Largest offset, weight or trial count accepted: beyond it the likelihood's
#: sums overflow or lose every digit of the data's own contribution.
MAX_MAGNITUDE = 1e15
#: Largest Gaussian response whose square the deviance's sums can hold (and the
#: smallest largest one whose square does not underflow is its inverse).
SQUARE_LIMIT = 1e150
#: Largest Poisson count whose score sums cannot overflow.
COUNT_LIMIT = 1e150
#: The families whose estimates separated outcomes can send to infinity.
SEPARABLE_FAMILIES = ("bernoulli", "binomial", "categorical")


def _warn_if_perfect(problem: GLMProblem, results: GLMResults) -> None:
    """A Gaussian fit with no residual left: its dispersion is 0, so standard
    errors are 0 and the log-likelihood +∞ — say so (R's ``summary.lm`` warns
    "essentially perfect fit")."""
    size = float(np.dot(problem.weights, problem.target ** 2))
    if results.deviance <= 1e-24 * max(size, np.finfo(np.float64).tiny):
        warnings.warn("essentially perfect fit: the residual deviance is zero to rounding, "
                      "so the dispersion, standard errors and log-likelihood (+inf) mean "
                      "nothing; check that the response is not among the predictors",
                      DataWarning, stacklevel=user_stacklevel())

def check_magnitudes(model: GLM) -> None:
    """Refuse offsets, weights or trials so large that the likelihood overflows.

    A solver would only see non-finite sums or a Hessian of zeros, and blame
    the predictors; the value itself is the clearer message.  (A Gaussian
    offset is on the response's own scale, so it is left alone.)
    """
    vectors = [("weights", model.weights), ("trials", model.trials)]
    if not model.family.estimated_dispersion:
        vectors.append(("offset", model.offset))
    for name, values in vectors:
        if values is None:
            continue
        size = np.abs(np.asarray(values, dtype=np.float64)).reshape(len(values), -1)
        row = int(np.argmax(size.max(axis=1)))
        if size[row].max() > MAX_MAGNITUDE:
            note = " (an offset is usually a log exposure)" if name == "offset" else ""
            raise InputError(f"{name} reaches {size[row].max():.3g} (at "
                             f"{describe_rows([row])}): "
                             f"beyond {MAX_MAGNITUDE:.0e} the likelihood overflows. Check "
                             f"its units{note}")

def check_response_scale(model: GLM) -> None:
    """Refuse a response whose magnitude the likelihood's sums cannot hold.

    A Gaussian deviance squares the response, so |y| beyond 1e150 overflows and
    nonzero values all below 1e-150 underflow to a "perfect fit"; Poisson counts
    beyond 1e250 overflow the score's sums.  The solver would blame the
    predictors; the response's units are what to change.
    """
    y = np.abs(np.asarray(model.endog, dtype=np.float64))
    if not y.size or not np.all(np.isfinite(y)):
        return
    largest = float(y.max())
    limit = {"gaussian": SQUARE_LIMIT, "poisson": COUNT_LIMIT}.get(model.family.name)
    if limit is None:
        return
    name = f"the response {model.endog_name!r}"
    if largest > limit:
        row = int(np.argmax(y.reshape(len(y), -1).max(axis=1)))
        raise InputError(f"{name} reaches {largest:.3g} (at {describe_rows([row])}); beyond "
                         f"{limit:.0e} the {model.family.name} likelihood's sums overflow. "
                         "Rescale it (e.g. divide by a power of ten) and scale the "
                         "coefficients back")
    if model.family.name == "gaussian" and 0 < largest < 1.0 / SQUARE_LIMIT:
        raise InputError(f"{name} is at most {largest:.3g} in magnitude; below "
                         f"{1.0 / SQUARE_LIMIT:.0e} its squares underflow and the deviance "
                         "is lost. Rescale it (e.g. multiply by a power of ten) and scale "
                         "the coefficients back")


def check_response_varies(model: GLM, problem: GLMProblem) -> None:
    """Refuse a binary response with one outcome, or counts that are all zero.

    With every response 0 (or every one 1) the likelihood keeps rising as the
    intercept runs off to ±∞: the estimates do not exist, and a solver would
    stop somewhere arbitrary (an intercept of about −25) without a warning.
    """
    # Without an intercept the estimates can be finite (x = ±1 with y ≡ 0
    # gives β̂ = 0), so only a model with one is refused.
    if model.family.name not in ("bernoulli", "binomial", "poisson") or not model.k_constant:
        return
    t = np.asarray(problem.target)[np.asarray(problem.weights) > 0]
    if model.family.name == "poisson":
        if np.all(t == 0):
            raise InputError(f"{model.endog_name} is 0 at every row: the maximum-likelihood "
                             "intercept is −∞ (a mean of 0), so there is nothing to fit. "
                             "Check the response and the rows selected")
        return
    for value, what in ((0.0, "0 (no successes)"), (1.0, "1 (all successes)")):
        if np.all(t == value):
            raise InputError(f"{model.endog_name} is {what} at every row: with one outcome "
                             "there is nothing to model and the maximum-likelihood "
                             "estimates do not exist (the intercept runs off to "
                             f"{'−' if value == 0 else '+'}∞). Check the response and "
                             "the rows selected")

def raise_if_separated(model: GLM, problem: GLMProblem) -> None:
    """Explain a singular information matrix on a full-rank design as separation.

    A solver that diverges along a separating direction can end with an
    information matrix singular in the rounding, which it reports as aliasing
    although the design itself has full column rank; the LP tells them apart.
    """
    if (model.family.name not in SEPARABLE_FAMILIES
            or problem.n_obs * problem.n_features > SEPARATION_CHECK_SIZE):
        return
    # The same test of aliasing as the solver's, on XᵀX (weights of positive
    # rows set to 1): if the design itself is (nearly) collinear, the solver's
    # message is right; only a Gram that is fine unweighted but singular
    # weighted points to weights collapsing on a separating direction.
    unit = (np.asarray(problem.weights) > 0).astype(np.float64)
    gram = default_backend().map_sum(
        lambda rows: weighted_gram(problem.block(rows).exog, unit[rows]), problem.n_obs)
    try:
        factorize(gram, model.exog_names)
    except RankDeficientError:
        return
    separation = detect_separation(as_matrix(problem.exog), problem.target, problem.weights)
    if separation.separated:
        raise NumericalError(
            "the fit broke down because the information matrix became singular, though "
            "the design has full column rank: "
            + boundary_message(0, model.family.name, model.exog_names, separation)) from None

def _suspect_separation(model: GLM, problem: GLMProblem, record: SolverResult) -> bool:
    """Whether a fit shows a sign of separation worth the LP check.

    Separated estimates drift towards infinity, but IRLS often stops (its
    deviance no longer changing) long before any probability is exactly 0
    or 1; so a large linear predictor or a fit that did not converge also
    triggers the check, not only fitted values on the boundary.
    """
    if (model.family.name not in SEPARABLE_FAMILIES
            or problem.n_obs * problem.n_features > SEPARATION_CHECK_SIZE):
        return False
    if record.penalized_loss is not None:  # Firth's estimates are finite regardless
        return False  # (even when fitted values are numerically 0 or 1)
    if record.n_boundary:
        return True
    if not record.converged:
        return True
    if problem.n_obs * problem.n_features > SEPARATION_ETA_CHECK_SIZE:
        return False  # beyond this the LP costs more than most fits: boundary only
    eta = np.asarray(record.eta, dtype=np.float64)
    positive = np.asarray(problem.weights) > 0
    with np.errstate(invalid="ignore"):
        largest = np.nanmax(np.abs(eta[positive]), initial=0.0)
    return bool(largest > SEPARATION_ETA)


def diagnose(model: GLM, problem: GLMProblem, results: GLMResults) -> None:
    """After a fit: check for separation where the fit suggests it (recording the
    finding in ``results.separation``), and warn about separated outcomes, fitted
    values on the boundary, a perfect Gaussian fit and non-convergence."""
    record = results.solver
    if _suspect_separation(model, problem, record):
        # Find out whether the data are separated (one LP, affordable up to a few
        # million entries); a false alarm costs only the LP, which decides.
        results.separation = detect_separation(as_matrix(problem.exog), problem.target,
                                               problem.weights)
    separated = results.separation is not None and results.separation.separated
    if record.n_boundary or separated:
        warnings.warn(boundary_message(record.n_boundary, model.family.name,
                                       model.exog_names, results.separation),
                      SeparationWarning, stacklevel=user_stacklevel())
    if model.family.estimated_dispersion:
        _warn_if_perfect(problem, results)
    if not record.converged:
        warnings.warn(why_not_converged(model.family.name, record, results.separation,
                                        model.exog, model.exog_names),
                      ConvergenceWarning, stacklevel=user_stacklevel())
