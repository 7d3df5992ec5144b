"""Which solver a Dask fit runs, and the first-order ones' and Firth's glue.

:meth:`expfam.models.dask_glm.DaskGLM.fit` runs Newton's method
(:mod:`expfam.engine.solvers.dask_newton`) unless asked for gradient descent
or L-BFGS (:mod:`expfam.engine.solvers.dask_gradient`) or Firth's penalty
(:mod:`expfam.engine.solvers.dask_firth`); the checks here refuse, as in
memory, what those cannot do, with what to do instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.dask_backend import DaskBackend
from expfam.engine.dask_problem import PartStats
from expfam.engine.solvers.dask_firth import dask_firth
from expfam.engine.solvers.dask_gradient import RowsFree, dask_gradient
from expfam.engine.solvers.dask_newton import DaskFit
from expfam.errors import InputError
from expfam.families import ExponentialFamily

__all__ = ["FIRST_ORDER", "dask_method", "other_solver"]

#: The first-order solvers a Dask fit runs (SGD's mini-batches would be a pass
#: each: not offered).
FIRST_ORDER = ("gd", "lbfgs")
_OPTIONS = {"gd": ("learning_rate",), "lbfgs": ("memory",), "irls": (), "firth": ()}


def dask_method(method: str, penalty: str | None, options: dict[str, Any],
                family: ExponentialFamily, cov_type: str, estimates_theta: bool) -> str:
    """The solver of a Dask fit: "irls", "gd", "lbfgs" or "firth" (checked)."""
    name = str(method).lower()
    if name in ("auto", "newton"):
        name = "irls"
    if name not in ("irls", *FIRST_ORDER):
        raise InputError(f"method={method!r} is not available on Dask; use 'irls' (Newton's "
                         "method, the fewest passes over the data), 'lbfgs' or 'gd'")
    if penalty not in (None, "firth"):
        raise InputError(f"penalty must be None or 'firth', got {penalty!r}")
    if penalty == "firth":
        if name != "irls":
            raise InputError(f"penalty='firth' is fitted by Newton's method; method="
                             f"{method!r} does not apply")
        if family.name not in ("bernoulli", "binomial"):
            raise InputError(f"penalty='firth' is for the bernoulli and binomial families, "
                             f"not {family.name}")
        if not family.canonical:
            raise InputError(f"penalty='firth' is for the canonical logit link, not "
                             f"{family.link_name!r}")
        if cov_type != "nonrobust":
            raise InputError("robust covariances (cov_type=) are for maximum-likelihood "
                             "fits; a Firth fit's standard errors come from the "
                             "information at the estimate")
        name = "firth"
    if estimates_theta and name != "irls":
        raise InputError(f"method={method!r} with a negative binomial whose θ is estimated "
                         "is not available on Dask (each of the alternation's refits would "
                         "be a first-order fit, hundreds of passes); use method='irls'")
    unknown = sorted(set(options) - set(_OPTIONS[name]))
    if unknown:
        known = ", ".join(_OPTIONS[name]) or "none besides tol and max_iter"
        raise InputError(f"option(s) {', '.join(unknown)} do not apply to a Dask fit with "
                         f"method={name!r}; its options: {known}")
    if name == "gd" and "learning_rate" in options:
        rate = options["learning_rate"]
        if rate is not None and not (isinstance(rate, int | float) and rate > 0):
            raise InputError(f"learning_rate must be positive, got {rate!r}")
    return name


def other_solver(solver: str, backend: DaskBackend, family: ExponentialFamily,
                 shape: tuple[int, ...], stats: PartStats, parts: list[Any], *,
                 begin: FloatArray | None, tol: float | None, max_iter: int | None,
                 null: FloatArray | None, names: list[str],
                 options: dict[str, Any]) -> DaskFit:
    """Fit by ``solver`` ("gd", "lbfgs" or "firth") over ``parts``; ``tol`` and
    ``max_iter`` as given (None: the solver's in-memory defaults)."""
    start = None if begin is None else np.asarray(begin, dtype=np.float64).reshape(shape)
    if solver == "firth":
        return dask_firth(backend, shape[0], parts=parts, start=start, tol=tol,
                          max_iter=max_iter, null_coef=null, names=names)
    problem = RowsFree(family, shape, stats.total_weight, stats.saturated_loss,
                       sum(stats.rows.values()))
    return dask_gradient(backend, solver, problem, stats.weighted_target, parts=parts,
                         start=start, tol=tol, max_iter=max_iter, null_coef=null,
                         names=names, **options)
