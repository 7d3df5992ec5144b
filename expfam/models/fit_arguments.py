"""The checks of :meth:`GLM.fit`'s arguments, each failing early with a clear
error, before any pass over the data.

Kept apart from :mod:`expfam.models.glm` so that ``fit`` reads as the fit: choose
the solver, run it, build the results.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from expfam._typing import FloatArray
from expfam.design.arrays import check_exog_finite
from expfam.engine.problem import GLMProblem
from expfam.engine.solvers import check_options
from expfam.errors import InputError
from expfam.inference.robust import COV_TYPES, check_clusters

if TYPE_CHECKING:
    from expfam.models.glm import GLM

__all__ = ["check_covariance", "check_method", "check_penalty", "solver_options",
           "start_values"]


def check_penalty(penalty: str | None, information: str) -> None:
    """``penalty`` is None or "firth"; ``information`` "expected" or "observed"."""
    if penalty not in (None, "firth"):
        raise InputError(f"penalty must be None or 'firth', got {penalty!r}")
    if information not in ("expected", "observed"):
        raise InputError(f"information must be 'expected' or 'observed', got "
                         f"{information!r}")


def check_method(model: GLM, method: str, penalty: str | None, cov_type: str) -> str:
    """The solver to run: ``"firth"`` for a Firth fit (Newton's method on the
    penalized likelihood, canonical logit only, no sandwich), else ``method``;
    the design is checked for NaN first unless IRLS runs (which names the bad
    cells itself when its sums come out non-finite)."""
    if penalty == "firth":
        if not model.family.canonical:
            raise InputError(f"penalty='firth' is for the canonical logit link, not "
                             f"{model.family.link_name!r}")
        if method.lower() not in ("irls", "newton"):
            raise InputError(f"penalty='firth' is fitted by Newton's method; method="
                             f"{method!r} does not apply")
        if cov_type != "nonrobust":
            # A sandwich needs the score of the objective that was maximised;
            # the penalized score is not a sum over independent rows.
            raise InputError("robust covariances (cov_type=) are for maximum-likelihood "
                             "fits; a Firth fit's standard errors come from the "
                             "information at the estimate")
        method = "firth"
    if method.lower() not in ("irls", "newton"):
        # The gradient solvers and Firth's would fit through NaN or fail obscurely.
        with model._rows_named():
            check_exog_finite(model.exog, model.exog_names)
    return method


def check_covariance(model: GLM, cov_type: str, groups: ArrayLike | None) -> None:
    """``cov_type`` is known and usable for the model; ``groups`` go with "cluster"
    only, and their labels are checked now rather than when a standard error is
    first read."""
    if cov_type not in COV_TYPES:
        raise InputError(f"cov_type must be one of {', '.join(COV_TYPES)}; got {cov_type!r}")
    if cov_type in ("HC2", "HC3") and model.classes is not None:
        raise InputError(f"cov_type={cov_type!r} needs hat values, which a categorical "
                         "model does not have per row; use 'HC0', 'HC1' or 'cluster'")
    if cov_type == "cluster":
        with model._rows_named():
            check_clusters(groups, model.weights, model.exog.shape[0])
    elif groups is not None:
        raise InputError(f"groups= applies to cov_type='cluster', but cov_type="
                         f"{cov_type!r}; pass cov_type='cluster' to cluster the standard "
                         "errors, or drop groups=")


def solver_options(method: str, tol: float | None, max_iter: int | None, aliased: str,
                   options: dict[str, Any]) -> dict[str, Any]:
    """The solver's keyword arguments: ``options`` (checked against what
    ``method`` takes) with ``tol`` and ``max_iter`` when given."""
    check_options(method, options)
    out = dict(options)
    if tol is not None:
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not (
                np.isfinite(tol) and tol > 0):
            raise InputError(f"tol must be a positive number, got {tol!r}")
        out["tol"] = tol
    if max_iter is not None:
        if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or (
                max_iter < 1):
            raise InputError(f"max_iter must be a positive integer, got {max_iter!r}")
        out["max_iter"] = max_iter
    if aliased not in ("nan", "raise"):
        raise InputError(f"aliased must be 'nan' or 'raise', got {aliased!r}")
    return out


def start_values(start_params: ArrayLike | None, problem: GLMProblem) -> FloatArray | None:
    """``start_params`` in the problem's coefficient shape, or None."""
    if start_params is None:
        return None
    start = np.asarray(start_params, dtype=np.float64)
    if start.size != problem.n_params:
        raise InputError(f"start_params has {start.size} values; the model has "
                         f"{problem.n_params} coefficients")
    return start.reshape(problem.coef_shape)
