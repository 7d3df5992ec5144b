"""Plots of fits (matplotlib is optional: ``pip install expfam[plot]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from expfam.engine.solvers import SOLVER_NAMES
from expfam.errors import InputError

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["plot_convergence"]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install matplotlib") from None
    return plt


def plot_convergence(results: GLMResults, ax: Any = None, quantity: str = "grad_norm",
                     label: str | None = None) -> Any:
    """Draw a fit's convergence: one point per iteration over the full data.

    Parameters
    ----------
    results : GLMResults
    ax : matplotlib Axes, optional
        Draw here (e.g. to put two solvers on one plot); default a new figure.
    quantity : {"grad_norm", "loss"}
        The norm of the gradient of the mean loss, or the mean loss's distance
        above its value at the estimate; both on a log scale.
    label : str, optional
        Legend entry; default the solver's name.

    Returns
    -------
    matplotlib Axes
    """
    if quantity not in ("grad_norm", "loss"):
        raise InputError(f"quantity must be 'grad_norm' or 'loss', got {quantity!r}")
    history = results.history
    # IRLS on many rows starts on a sample: plot the passes over all rows.  Its
    # "final" pass is at the point its last step reached; the gradient solvers'
    # repeats their last iterate.
    full = history[history["stage"] == results.solver.history[-1]["stage"]]
    if results.method not in ("irls", "newton"):
        full = full[full["kind"] != "final"]
    values = full[quantity].to_numpy(dtype=float)
    if quantity == "loss":
        values = values - float(history["loss"].iloc[-1])
        values = np.where(values > 0, values, np.nan)  # at the optimum: off a log scale
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(6, 4))
    ax.semilogy(np.arange(len(values)), values, marker="o", markersize=3,
                label=label or SOLVER_NAMES.get(results.method, results.method))
    ax.set_xlabel("iteration (epoch for SGD)")
    ax.set_ylabel("‖gradient‖ of the mean loss" if quantity == "grad_norm"
                  else "mean loss − its minimum")
    ax.legend()
    return ax
