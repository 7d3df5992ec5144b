"""Solvers: plain functions from a :class:`~expfam._problem.GLMProblem` to a
:class:`SolverResult`, registered by name."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import InputError
from ._result import SolverResult
from .irls import irls

__all__ = ["SOLVERS", "SolverResult", "get_solver", "irls"]

Solver = Callable[..., SolverResult]

#: Newton's method and IRLS take identical steps for canonical links, so both
#: names run the same solver.
SOLVERS: dict[str, Solver] = {"irls": irls, "newton": irls}


def get_solver(method: str) -> Solver:
    """The solver registered under ``method``."""
    try:
        return SOLVERS[method.lower()]
    except (KeyError, AttributeError):
        known = ", ".join(repr(k) for k in SOLVERS)
        raise InputError(f"unknown method {method!r}; use one of {known}") from None

