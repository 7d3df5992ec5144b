"""The terms of a fitted model and refits of it on a subset of its columns.

The analysis-of-deviance tables (:mod:`expfam.inference.anova`) compare a fit
with fits that leave terms out.  A term is a group of design columns (a factor's
dummies, an interaction's products); for a model built from arrays every
column is a term.  Refits keep the response, weights, trials, offset, family
and dispersion setting, and drop columns the way R's ``glm.fit`` on a reduced
model matrix does (car::Anova and drop1 work like that too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from expfam._typing import FloatArray
from expfam.engine.solvers import irls
from expfam.inference.aliasing import reduce_problem, solve_estimable

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["Fit", "Term", "model_terms", "refit"]

#: IRLS tolerance for refits: R's reference tables come from tight fits.
REFIT_TOL = 1e-12


@dataclass(frozen=True)
class Term:
    """A model term: its name, design columns and the factors it is made of."""

    name: str
    columns: tuple[int, ...]
    factors: frozenset[str]

    def contained_in(self, other: Term) -> bool:
        """Whether ``other`` holds every factor of this term (a higher-order
        relative, as car's ``relatives``: wool is in wool:tension)."""
        return other.name != self.name and self.factors <= other.factors


@dataclass(frozen=True)
class Fit:
    """What the tables need of a (re)fit."""

    deviance: float
    df_resid: float
    n_params: int
    loglike: float  # NaN for quasi-likelihood fits


def model_terms(res: GLMResults) -> list[Term]:
    """The model's terms in formula order, intercept left out."""
    terms = res.model.formula
    if terms is None:
        return [Term(name, (j,), frozenset([name]))
                for j, name in enumerate(res.model.exog_names)
                if j not in res.model._constant]
    return [Term(str(t), tuple(cols), frozenset(str(f) for f in t.factors))
            for t, cols in terms.spec.term_indices.items() if str(t) != "1"]


def intercept_columns(res: GLMResults) -> list[int]:
    """Design columns of the intercept (none if the model has none)."""
    terms = res.model.formula
    if terms is None:
        return list(res.model._constant)
    return [c for t, cols in terms.spec.term_indices.items() if str(t) == "1" for c in cols]


def refit(res: GLMResults, columns: list[int]) -> Fit:
    """The model refitted on the design ``columns`` (sorted), aliased ones dropped.

    The design's columns are selected as the design holds them (a coded or
    sparse design stays so).
    """
    problem = res._problem
    columns = sorted(columns)
    names = [res.model.exog_names[j] for j in columns]
    if not columns:
        eta = (np.zeros(problem.eta_shape) if problem.offset is None
               else np.asarray(problem.offset, dtype=np.float64))
        return _summarise(res, eta, 0)
    reduced = reduce_problem(problem, np.asarray(columns, dtype=np.intp))
    record, aliased = solve_estimable(irls, reduced, None, names, "nan", {"tol": REFIT_TOL})
    return _summarise(res, record.eta, len(columns) - len(aliased))


def full_fit(res: GLMResults) -> Fit:
    """The fitted model itself, in the same terms."""
    return _summarise(res, res._eta, res.n_params // res._problem.n_natural)


def _summarise(res: GLMResults, eta: FloatArray, n_coef: int) -> Fit:
    # n_coef counts design columns; a categorical model has one per class.
    k = n_coef if res.model.classes is None else n_coef * res._problem.n_natural
    deviance = res._deviance(eta)
    df_resid = res.nobs - k
    if res.quasi:
        loglike = float("nan")
    elif res.model.family.estimated_dispersion:
        loglike = res._profile_loglike(eta, deviance)
    else:
        loglike = res._loglike(eta)
    return Fit(deviance, df_resid, k, loglike)
