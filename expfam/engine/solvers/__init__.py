"""Solvers: plain functions from a :class:`~expfam.engine.problem.GLMProblem` to a
:class:`SolverResult`, registered by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from expfam.engine.solvers._result import SolverResult
from expfam.engine.solvers.firth import firth
from expfam.engine.solvers.gradient import gradient_descent, lbfgs
from expfam.engine.solvers.irls import irls
from expfam.engine.solvers.sgd import sgd
from expfam.errors import InputError

__all__ = [
    "SOLVERS",
    "SOLVER_NAMES",
    "SolverResult",
    "check_options",
    "firth",
    "get_solver",
    "gradient_descent",
    "irls",
    "lbfgs",
    "sgd",
]

Solver = Callable[..., SolverResult]

#: Newton's method and IRLS take identical steps for canonical links, so both
#: names run the same solver.
SOLVERS: dict[str, Solver] = {"irls": irls, "newton": irls, "gd": gradient_descent,
                              "sgd": sgd, "lbfgs": lbfgs, "firth": firth}
#: How summaries and plots name them.
SOLVER_NAMES = {"irls": "IRLS (Newton)", "newton": "IRLS (Newton)", "gd": "gradient descent",
                "sgd": "SGD", "lbfgs": "L-BFGS", "firth": "Firth penalized likelihood"}


def check_options(method: str, options: dict[str, Any]) -> None:
    """Unknown solver options are an error that lists the known ones."""
    solver = get_solver(method)
    known = [name for name in inspect.signature(solver).parameters
             if name not in ("problem", "start", "tol", "max_iter", "backend", "names",
                             "fixed")]
    unknown = sorted(set(options) - set(known))
    if unknown:
        listed = ", ".join(known) if known else "none besides tol and max_iter"
        raise InputError(f"method={method!r} has no option {', '.join(unknown)}; its "
                         f"options: {listed}")


def get_solver(method: str) -> Solver:
    """The solver registered under ``method``."""
    try:
        return SOLVERS[method.lower()]
    except (KeyError, AttributeError):
        known = ", ".join(repr(k) for k in SOLVERS)
        raise InputError(f"unknown method {method!r}; use one of {known}") from None

