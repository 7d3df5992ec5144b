"""Plots of fits (matplotlib is optional: ``pip install expfam[plot]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from expfam.engine.solvers import SOLVER_NAMES
from expfam.errors import InputError

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["finish_axes", "new_axes", "plot_convergence"]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install matplotlib") from None
    return plt


def new_axes(figsize: tuple[float, float] = (6.4, 4.0)) -> Any:
    """A new figure's axes, laid out by matplotlib's constrained layout so that
    labels, titles and an outside legend are never clipped."""
    _, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def finish_axes(ax: Any, *, title: str | None = None, legend_title: str | None = None,
                integer_x: bool = False, legend: str = "outside") -> Any:
    """Make a plot ready to publish: a title (unless it has one), whole-number
    ticks on an iteration axis, and a legend that does not cover the data.

    Parameters
    ----------
    ax : matplotlib Axes
    title : str, optional
        Set when the axes have no title yet (a caller's own title wins).
    legend_title : str, optional
        Heads the legend, e.g. what the error bars are.
    integer_x : bool
        Ticks only at whole numbers on the x axis (iterations, epochs).
    legend : {"outside", "best"}
        Beside the axes, right of the plotting area (constrained layout makes
        room for it), or matplotlib's least-covering spot inside.

    Returns
    -------
    matplotlib Axes
    """
    if title and not ax.get_title():
        ax.set_title(title)
    if integer_x:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        if legend == "outside":
            ax.legend(handles, labels, title=legend_title, loc="upper left",
                      bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
        else:
            ax.legend(handles, labels, title=legend_title, loc="best")
    return ax


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
        ax = new_axes()
    ax.semilogy(np.arange(len(values)), values, marker="o", markersize=3,
                label=label or SOLVER_NAMES.get(results.method, results.method))
    ax.set_xlabel("iteration (epoch for SGD)")
    ax.set_ylabel("‖gradient‖ of the mean loss" if quantity == "grad_norm"
                  else "mean loss − its minimum")
    what = "gradient norm" if quantity == "grad_norm" else "loss"
    return finish_axes(ax, title=f"Convergence: {what} per iteration", legend_title="solver",
                       integer_x=True)
