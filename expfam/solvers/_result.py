"""What every solver returns: a plain record, with inference left to the results layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._typing import FloatArray

__all__ = ["SolverResult"]


@dataclass(frozen=True)
class SolverResult:
    """The outcome of a fit, before any inference.

    Attributes
    ----------
    coef : ndarray, shape (p,) or (p, m)
        The estimate.
    eta : ndarray, shape (n,) or (n, m), or None
        Linear predictor at ``coef`` (offset included); None when the solver
        did not need it at the end (large data), to be computed on demand.
    loss : float or None
        Σ w·(A(η) − t·η) at ``coef``, the negative log-likelihood without its
        base measure; None exactly when ``eta`` is None.
    hessian : ndarray, shape (k, k)
        Xᵀ W X at ``coef``: the observed (= expected) information.
    converged : bool
        Whether the solver's own convergence criterion was met.
    n_iter : int
        Iterations over the full data.
    method : str
        Which solver ran.
    message : str
        Why the solver stopped.
    history : list of dict
        One entry per pass over rows: ``stage`` (rows used), ``kind``,
        ``loss`` (mean per unit weight), ``grad_norm``, ``decrement``, ``step``.
    """

    coef: FloatArray
    eta: FloatArray | None
    loss: float | None
    hessian: FloatArray
    converged: bool
    n_iter: int
    method: str
    message: str
    history: list[dict[str, Any]] = field(default_factory=list)
