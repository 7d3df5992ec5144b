"""Why a fit failed: the messages of ConvergenceWarning and NumericalError.

A fit that stops early says which of the usual causes it was — separated
outcomes, near-collinear columns, predictors on wildly different scales, or
simply the iteration limit — because the remedy differs for each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from expfam.engine.linalg import CholeskyFactor
from expfam.engine.schur import SchurFactor, factorize
from expfam.engine.solvers import SolverResult
from expfam.errors import RankDeficientError
from expfam.inference.separation import Separation

__all__ = ["information_factor", "scale_hint", "why_not_converged"]

#: Column scales (root mean squares) further apart than this slow Newton down.
SCALE_SPREAD = 1e6
#: A variance inflation above this (1e4 in standard-error terms) marks near-collinearity.
CONDITION = 1e8


def why_not_converged(family: str, record: SolverResult, separation: Separation | None,
                      exog: Any, names: Sequence[str]) -> str:
    """The ConvergenceWarning's text: what stopped the fit and what to do."""
    message = f"the {family} GLM did not converge: {record.message}."
    if separation is not None and separation.separated:
        return message + (" The outcomes are separated (see the SeparationWarning): the "
                          "estimates do not exist and more iterations will not help; drop "
                          "the terms named there or fit with penalty='firth'.")
    if record.n_boundary:
        return message + (" Fitted values are on the boundary at some rows (see the "
                          "SeparationWarning): more iterations will not help.")
    if record.message.startswith("diverged"):
        return message  # the solver's own message says what to do
    if record.method in ("gd", "sgd", "lbfgs"):
        more = "epochs" if record.method == "sgd" else "max_iter"
        return message + (f" Raise {more}, or fit with method='irls' (Newton), which "
                          "converges in a few iterations.")
    causes = []
    try:
        inverse_diag = factorize(record.hessian).inverse_diagonal()
        condition = float(np.max(record.hessian.diagonal() * inverse_diag))
        if condition > CONDITION:
            causes.append("some columns are nearly collinear (variance inflation up to "
                          f"{condition:.2g}); drop or combine them")
    except RankDeficientError:
        causes.append("the information matrix is singular at the last iterate")
    with np.errstate(all="ignore"):
        if isinstance(exog, np.ndarray):
            rms = np.sqrt(np.nanmean(np.asarray(exog, dtype=np.float64) ** 2, axis=0))
        else:  # a structured design: from its column moments
            rms = np.sqrt(exog.moments(np.ones(exog.shape[0]))[1] / exog.shape[0])
    used = rms[rms > 0]
    if used.size and used.max() / used.min() > SCALE_SPREAD:
        big, small = names[int(np.argmax(rms))], names[int(np.argmin(np.where(rms > 0, rms,
                                                                                np.inf)))]
        causes.append(f"predictors differ in scale by {used.max() / used.min():.2g} "
                      f"({big!r} against {small!r}); rescale them")
    if "iteration limit" in record.message:
        causes.append("the iteration limit was reached first; raise max_iter" if not causes
                      else "and the iteration limit was reached: raise max_iter too")
    text = "; ".join(causes or ["the data may be too ill-conditioned for a stable fit"])
    return f"{message} {text[0].upper()}{text[1:]}."


def information_factor(hessian: Any, names: Sequence[str],
                       on_boundary: bool) -> CholeskyFactor | SchurFactor:
    """The factorised information (dense, or an arrow by its Schur complement);
    singular on the boundary means separation, not collinearity, and the error
    says so."""
    try:
        return factorize(hessian, names)
    except RankDeficientError:
        if not on_boundary:
            raise
        raise RankDeficientError(
            "the information matrix is singular at the estimate because fitted values are on "
            "the boundary (see the SeparationWarning): the standard errors do not exist. "
            "Drop the separating terms or refit with penalty='firth'") from None


def scale_hint(exog: Any, names: list[str]) -> str:
    """Name the columns whose magnitudes make a fit overflow, if any."""
    if not isinstance(exog, np.ndarray):
        return "Check the predictors for extreme values or near-collinearity"
    with np.errstate(invalid="ignore"):
        big = np.nanmax(np.abs(np.asarray(exog, dtype=np.float64)), axis=0)
    culprits = [f"{names[j]!r} (up to {big[j]:.3g})" for j in np.flatnonzero(big > 1e100)]
    if culprits:
        return (f"Predictor values are too large to compute with: {', '.join(culprits)}; "
                "rescale them (e.g. to standard units)")
    return "Check the predictors for extreme values or near-collinearity"
