"""R's four diagnostic plots of a GLM (``plot.glm``), from :mod:`.influence`.

1. Residuals vs fitted: deviance residuals against the linear predictor.
2. Normal Q–Q: standardized deviance residuals against normal quantiles.
3. Scale–location: √|standardized deviance residual| against the linear predictor.
4. Residuals vs leverage: standardized Pearson residuals against the hat values,
   with Cook's distance contours at 0.5 and 1.

The most extreme rows of each panel (by residual; by Cook's distance in the
fourth) are labelled with their row labels, as R labels them by row name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from expfam.inference.plotting import _pyplot

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["plot_diagnostics"]


def _smooth(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A guide for the eye in place of R's lowess: the mean at each distinct x
    when there are few, else a running mean over the nearest quarter."""
    unique, groups = np.unique(x, return_inverse=True)
    if len(unique) <= max(10, len(x) // 4):  # few distinct fits (factors): group means
        return unique, np.bincount(groups, y) / np.bincount(groups)
    order = np.argsort(x)
    xs, ys = x[order], y[order]
    half = max(2, len(xs) // 8)
    kernel = np.ones(2 * half + 1)
    padded = np.pad(ys, half, mode="edge")
    return xs, np.convolve(padded, kernel / kernel.sum(), mode="valid")


def _label(ax: Any, x: np.ndarray, y: np.ndarray, score: np.ndarray, labels: list[str],
           n: int) -> None:
    finite = np.where(np.isfinite(score), score, -np.inf)
    middle = np.nanmedian(x)
    for i in np.argsort(finite)[::-1][:n]:
        left = x[i] > middle  # write towards the middle, away from the frame
        ax.annotate(labels[i], (x[i], y[i]), xytext=(-4 if left else 4, 2),
                    textcoords="offset points", fontsize=8, ha="right" if left else "left")


def plot_diagnostics(res: GLMResults, fig: Any = None, n_label: int = 3) -> Any:
    """Draw the four panels of R's ``plot.glm`` and return the figure.

    Parameters
    ----------
    res : GLMResults
        A fit of a single-response family.
    fig : matplotlib Figure, optional
        Draw into it (its axes are replaced); default a new 9 × 8 inch figure.
    n_label : int
        How many of the most extreme rows to name in each panel.

    Returns
    -------
    matplotlib Figure
    """
    plt = _pyplot()
    infl = res.get_influence()
    eta = res.linear_predictor.to_numpy()
    dev = res.resid_deviance.to_numpy()
    std_dev = infl.resid_standardized.to_numpy()
    std_pear = infl.resid_standardized_pearson.to_numpy()
    hat = infl.hat_matrix_diag.to_numpy()
    cooks = infl.cooks_distance.to_numpy()
    rows = res._layout.rows
    labels = [str(v) for v in (rows if rows is not None else range(len(eta)))]
    if fig is None:
        fig = plt.figure(figsize=(9, 8))
    fig.clear()
    axes = fig.subplots(2, 2)
    style = {"s": 14, "facecolors": "none", "edgecolors": "0.2", "linewidths": 0.8}

    ax = axes[0, 0]
    ax.scatter(eta, dev, **style)
    ax.axhline(0.0, color="0.6", linestyle=":")
    ax.plot(*_smooth(eta, dev), color="tab:red", linewidth=1)
    _label(ax, eta, dev, np.abs(dev), labels, n_label)
    ax.set(title="Residuals vs Fitted", xlabel="Predicted values (linear predictor)",
           ylabel="Deviance residuals")

    ax = axes[0, 1]
    finite = np.isfinite(std_dev)
    order = np.argsort(std_dev[finite])
    theory = stats.norm.ppf((np.arange(1, finite.sum() + 1) - 0.5) / finite.sum())
    sample = std_dev[finite][order]
    ax.scatter(theory, sample, **style)
    q = np.quantile(sample, [0.25, 0.75])
    z = stats.norm.ppf([0.25, 0.75])
    slope = (q[1] - q[0]) / (z[1] - z[0])
    ax.axline((z[0], q[0]), slope=slope, color="0.5", linestyle=":")
    names = [labels[i] for i in np.flatnonzero(finite)[order]]
    _label(ax, theory, sample, np.abs(sample), names, n_label)
    ax.set(title="Normal Q-Q", xlabel="Theoretical quantiles",
           ylabel="Std. deviance residuals")

    ax = axes[1, 0]
    root = np.sqrt(np.abs(std_dev))
    ax.scatter(eta, root, **style)
    ok = np.isfinite(root)
    ax.plot(*_smooth(eta[ok], root[ok]), color="tab:red", linewidth=1)
    _label(ax, eta, root, root, labels, n_label)
    ax.set(title="Scale-Location", xlabel="Predicted values (linear predictor)",
           ylabel="√|Std. deviance residuals|")

    ax = axes[1, 1]
    ax.scatter(hat, std_pear, **style)
    ax.axhline(0.0, color="0.6", linestyle=":")
    p = res.n_params
    grid = np.linspace(max(np.nanmin(hat[hat > 0], initial=1e-3), 1e-3), np.nanmax(hat), 100)
    for level in (0.5, 1.0):
        bound = np.sqrt(level * p * (1 - grid) / grid)
        for sign in (1.0, -1.0):
            ax.plot(grid, sign * bound, color="tab:red", linestyle="--", linewidth=0.8)
        ax.annotate(f"Cook's {level:g}", (grid[-1], bound[-1]), fontsize=7, color="tab:red",
                    ha="right", va="bottom")
    span = np.nanmax(np.abs(std_pear[np.isfinite(std_pear)])) * 1.15
    ax.set_ylim(-span, span)
    _label(ax, hat, std_pear, cooks, labels, n_label)
    ax.set(title="Residuals vs Leverage", xlabel="Leverage (hat value)",
           ylabel="Std. Pearson residuals")
    fig.tight_layout()
    return fig
