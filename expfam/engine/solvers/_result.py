"""What every solver returns: a plain record, with inference left to the results layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from expfam._typing import FloatArray

__all__ = ["SolverResult", "loss_slack"]


def loss_slack(loss: float) -> float:
    """Rounding allowance when comparing two losses: a step that raises the loss
    by less than this has not really raised it."""
    return 1e-12 * (1.0 + abs(loss))


@dataclass(frozen=True)
class SolverResult:
    """The outcome of a fit, before any inference.

    Attributes
    ----------
    coef : ndarray, shape (p,) or (p, m)
        The estimate.
    eta : ndarray, shape (n,) or (n, m)
        Linear predictor at ``coef`` (offset included).
    loss : float
        Σ w·(A(η) − t·η) at ``coef`` (up to a constant in t that a family may drop
        against cancellation, as the Gaussian does): the negative log-likelihood
        without its base measure.
    hessian : ndarray, shape (k, k), or ArrowGram
        Xᵀ W X at ``coef``: the observed (= expected) information (an arrow with
        a factor's diagonal block for a structured design).
    converged : bool
        Whether the solver's own convergence criterion was met.
    n_iter : int
        Iterations over the full data.
    method : str
        Which solver ran.
    message : str
        Why the solver stopped.
    n_boundary : int
        Rows whose fitted mean is numerically on the boundary (a probability of
        0 or 1, a mean of 0) at ``coef``: the mark of separated data.
    history : list of dict
        One entry per pass over rows: ``stage`` (rows used), ``kind``,
        ``loss`` (mean per unit weight), ``grad_norm``, ``decrement``, ``step``.
    penalized_loss : float, optional
        For a penalized fit (Firth): the loss minus the penalty's log-likelihood
        term, at ``coef``.
    """

    coef: FloatArray
    eta: FloatArray
    loss: float
    hessian: Any
    converged: bool
    n_iter: int
    method: str
    message: str
    n_boundary: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    penalized_loss: float | None = None
    #: ``(hessian, its factorization)`` once someone made it, so that the results
    #: do not factorise a wide Hessian a second time; only used while ``hessian``
    #: is that same object (a record rebuilt with another Hessian ignores it).
    factor: Any = None
