"""Separated factor levels, found from counts and fitted without them.

A level of a factor whose rows all have the same outcome — no successes, all
successes, or (Poisson) all zero counts — is separated: moving its column's
coefficient towards ±∞ fits those rows perfectly and changes no other row, so
the maximum-likelihood estimate of that coefficient is ±∞, whatever the other
columns.  With many levels (patients, stores) this is common, and the general
linear-programming check would be far too large; here a weighted count per
level decides it directly.

The other coefficients' estimates are the limit of the likelihood along that
direction: the fit of the rows of the other levels.  So the separated levels'
columns and rows are set aside, the rest is fit, and the separated
coefficients are reported as ±∞ with no standard error (as ``brglm2``'s
``detect_separation`` reports them; R's ``glm`` instead stops at a large
finite value, about ±20, with an enormous standard error).  Their rows' linear
predictor is set to ±:data:`BOUNDARY_ETA`, which leaves their fitted means and
log-likelihood contributions within 1e-17 of the limit.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from expfam._typing import FloatArray
from expfam.design.matrix import StructuredDesign
from expfam.design.parts import FactorColumns
from expfam.engine.problem import GLMProblem
from expfam.engine.solvers import SolverResult
from expfam.errors import SeparationWarning, user_stacklevel
from expfam.inference.aliasing import expand_record, solve_estimable

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["BOUNDARY_ETA", "SeparatedLevels", "report_separated", "separated_levels",
           "solve_separating_levels"]

#: Linear predictor given to the rows of a separated level (e^−40 ≈ 4e-18).
BOUNDARY_ETA = 40.0


@dataclass(frozen=True)
class SeparatedLevels:
    """Columns of separated levels and the direction of each estimate.

    Attributes
    ----------
    columns : ndarray of int
        Design columns whose coefficients are ±∞.
    signs : ndarray of float
        +1 (all successes) or −1 (no successes, or all-zero counts) per column.
    rows : ndarray of bool, shape (n,)
        Rows in those levels.
    """

    columns: np.ndarray
    signs: np.ndarray
    rows: np.ndarray

    def reduced(self, problem: GLMProblem) -> tuple[GLMProblem, np.ndarray]:
        """The problem without those columns, their rows given zero weight; and
        the kept columns."""
        assert isinstance(problem.exog, StructuredDesign)
        kept = np.setdiff1d(np.arange(problem.n_features), self.columns)
        weights = np.where(self.rows, 0.0, problem.weights)
        return dataclasses.replace(problem, exog=problem.exog.select_columns(kept),
                                   weights=weights), kept


def separated_levels(problem: GLMProblem) -> SeparatedLevels | None:
    """Levels (indicator columns of selection-coded factors) whose rows of positive
    weight all have the same outcome; None if there are none or the family cannot
    separate (scalar Bernoulli, binomial and Poisson families only)."""
    exog = problem.exog
    family = problem.family.name
    if (not isinstance(exog, StructuredDesign) or problem.target.ndim != 1
            or family not in ("bernoulli", "binomial", "poisson")):
        return None
    w = problem.weights
    t = problem.target
    positive = (w > 0).astype(np.float64)
    columns: list[int] = []
    signs: list[float] = []
    for part, cols in zip(exog.parts, exog.columns, strict=True):
        if not (isinstance(part, FactorColumns) and part.selection and part.values is None):
            continue
        rows = np.bincount(part.codes, weights=positive, minlength=part.n_levels)[:part.width]
        low = np.bincount(part.codes, weights=positive * (t > 0),
                          minlength=part.n_levels)[:part.width]
        present = rows > 0
        none = present & (low == 0)  # no success (Poisson: no count) at that level
        if family == "poisson":
            every = np.zeros_like(none)
        else:
            high = np.bincount(part.codes, weights=positive * (t < 1),
                               minlength=part.n_levels)[:part.width]
            every = present & (high == 0)
        for mask, sign in ((none, -1.0), (every, 1.0)):
            columns.extend(cols[np.flatnonzero(mask)])
            signs.extend([sign] * int(mask.sum()))
    if not columns:
        return None
    order = np.argsort(columns)
    cols_arr = np.asarray(columns, dtype=np.int64)[order]
    # Rows in a separated level: those whose factor column is one of them.
    rows = np.zeros(problem.n_obs, dtype=bool)
    chosen = set(cols_arr.tolist())
    for part, cols in zip(exog.parts, exog.columns, strict=True):
        if isinstance(part, FactorColumns) and part.selection and part.values is None:
            local = np.flatnonzero([c in chosen for c in cols])
            if local.size:
                rows |= np.isin(part.codes, local)
    return SeparatedLevels(cols_arr, np.asarray(signs)[order], rows)


def limit_eta(found: SeparatedLevels, problem: GLMProblem, eta: np.ndarray) -> np.ndarray:
    """η of the reduced fit, with the separated levels' rows at ±:data:`BOUNDARY_ETA`."""
    out = np.array(eta, dtype=np.float64)
    exog = problem.exog
    assert isinstance(exog, StructuredDesign)
    sign_of = dict(zip(found.columns.tolist(), found.signs.tolist(), strict=True))
    for part, cols in zip(exog.parts, exog.columns, strict=True):
        if isinstance(part, FactorColumns) and part.selection and part.values is None:
            per_level = np.zeros(part.width + 1)
            for j, c in enumerate(cols):
                per_level[j] = sign_of.get(int(c), 0.0)
            level_sign = per_level[part.codes]
            hit = level_sign != 0
            out[hit] = level_sign[hit] * BOUNDARY_ETA
    return out


def solve_separating_levels(solver: Callable[..., SolverResult], problem: GLMProblem,
                            start: FloatArray | None, names: list[str], aliased: str,
                            options: dict[str, Any]
                            ) -> tuple[SolverResult, dict[str, list[str]],
                                       SeparatedLevels | None]:
    """:func:`solve_estimable`, after setting aside separated levels (if any).

    Returns the record in the full problem's shape (the separated coefficients
    ±∞, their Hessian rows zero, their rows' η at the boundary), the aliased
    columns, and what was separated.
    """
    found = separated_levels(problem)
    if found is None:
        record, aliases = solve_estimable(solver, problem, start, names, aliased, options)
        return record, aliases, None
    reduced, kept = found.reduced(problem)
    record, aliases = solve_estimable(solver, reduced, None if start is None else start[kept],
                                      [names[j] for j in kept], aliased, options)
    full = expand_record(record, problem, kept)
    coef = np.array(full.coef, dtype=np.float64)
    coef[found.columns] = found.signs * np.inf
    full = dataclasses.replace(full, coef=coef, eta=limit_eta(found, problem, record.eta),
                               factor=None)
    return full, aliases, found


def report_separated(results: GLMResults, found: SeparatedLevels | None,
                     names: list[str]) -> None:
    """Show the separated coefficients as ±∞ (no standard error) and warn, naming them."""
    if found is None:
        return
    params = results.params.to_numpy().copy()
    params[found.columns] = found.signs * np.inf
    results.params = results._layout.coef(params, "coef")
    listed = [f"{names[j]} ({'+' if s > 0 else '−'}∞)"
              for j, s in zip(found.columns[:10], found.signs[:10], strict=True)]
    more = f" and {len(found.columns) - 10} more" if len(found.columns) > 10 else ""
    warnings.warn(f"{len(found.columns)} factor level(s) have the same outcome in every row "
                  f"({int(found.rows.sum())} rows), which separates them: "
                  f"{', '.join(listed)}{more}. Their estimates are infinite (reported as "
                  "±inf, with no standard error); the other coefficients are the limit of "
                  "the maximum-likelihood fit, estimated from the other rows. Merge rare "
                  "levels, or fit with penalty='firth' for finite estimates.",
                  SeparationWarning, stacklevel=user_stacklevel())
