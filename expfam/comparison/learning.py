"""Learning curves: every model refit on growing training sets, scored on held-out rows,
and where the curves of a generative model and its twin cross.

Ng and Jordan (2002) found that a generative classifier approaches its
(higher) asymptotic error with far fewer rows than its discriminative twin,
so the twin's curve starts above and ends below: :func:`crossovers` reports
the training size where that happens, and :func:`plot_learning_curve` marks it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["crossovers", "holdout", "plot_learning_curve"]


def holdout(labels: pd.Series, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A stratified random test set: round(fraction·n_k) rows of each class."""
    test = np.zeros(len(labels), dtype=bool)
    for value in pd.unique(labels):
        rows = np.flatnonzero((labels == value).to_numpy())
        test[rng.choice(rows, round(fraction * len(rows)), replace=False)] = True
    return test


def _crossing(sizes: np.ndarray, gap: np.ndarray) -> tuple[float, str]:
    """Where ``gap`` (twin minus generative) turns negative for good, interpolated on
    log size, and which way the comparison went."""
    finite = np.isfinite(gap)
    sizes, gap = sizes[finite], gap[finite]
    if gap.size == 0:
        return float("nan"), "no common sizes"
    if np.all(gap < 0):
        return float("nan"), "twin better at every size"
    if np.all(gap >= 0):
        return float("nan"), ("level at the largest size" if gap[-1] == 0
                              else "generative better at every size")
    last = int(np.flatnonzero(gap >= 0)[-1])
    if last == gap.size - 1:
        return float("nan"), ("level at the largest size" if gap[-1] == 0
                              else "generative better at the largest size")
    a, b = np.log(sizes[last]), np.log(sizes[last + 1])
    t = gap[last] / (gap[last] - gap[last + 1])
    return float(np.exp(a + t * (b - a))), "twin better from here on"


def crossovers(curve: pd.DataFrame, pairs: list[tuple[str, str]],
               metric: str = "error") -> pd.DataFrame:
    """For each (generative, twin) pair, the training size from which the twin's mean
    ``metric`` stays below the generative model's (NaN when it never, or always, does).

    Returns
    -------
    DataFrame
        One row per pair: ``generative``, ``discriminative``, ``crossover`` (rows,
        interpolated on the log scale), ``verdict``, and both models' mean
        ``metric`` at the smallest and largest size.
    """
    means = curve.groupby(["size", "model"])[metric].mean().unstack("model")
    rows = []
    for gen, twin in pairs:
        if gen not in means or twin not in means:
            continue
        both = means[[gen, twin]].dropna()
        point, verdict = _crossing(both.index.to_numpy(dtype=float),
                                   (both[twin] - both[gen]).to_numpy())
        rows.append({"generative": gen, "discriminative": twin, "crossover": point,
                     "verdict": verdict,
                     "generative_last": both[gen].iloc[-1] if len(both) else np.nan,
                     "twin_last": both[twin].iloc[-1] if len(both) else np.nan})
    frame = pd.DataFrame(rows)
    keep = ["generative", "discriminative", "crossover", "verdict", "generative_last",
            "twin_last"]
    return frame[keep] if len(frame) else pd.DataFrame(columns=keep)


def plot_learning_curve(curve: pd.DataFrame, metric: str = "error", ax: Any = None,
                        pairs: list[tuple[str, str]] | None = None,
                        title: str | None = None) -> Any:
    """Mean ± one standard error of ``metric`` against training size, per model, with a
    dotted vertical line where each (generative, twin) pair's curves cross, and
    ``title`` over the axes if given."""
    from expfam.inference.plotting import _pyplot

    if ax is None:
        _, ax = _pyplot().subplots(figsize=(6, 4))
    summary = curve.groupby(["model", "size"])[metric].agg(["mean", "sem"]).reset_index()
    pairs = pairs or []
    partner = {twin: gen for gen, twin in pairs}
    cycle = iter(_pyplot().rcParams["axes.prop_cycle"].by_key()["color"] * 4)
    colours: dict[str, str] = {}
    models = list(dict.fromkeys(curve["model"]))
    for model in sorted(models, key=lambda m: m in partner):  # generative models first
        # A twin takes its generative model's colour, dashed.
        colours[model] = colours.get(partner.get(model, ""), "") or next(cycle)
    for model in models:
        part = summary[summary["model"] == model]
        twin = model == "logit" or model in partner
        # Twins: dashed with open squares, in their generative model's colour.
        ax.errorbar(part["size"], part["mean"], yerr=part["sem"], marker="s" if twin else "o",
                    markerfacecolor="white" if twin else colours[model], capsize=3,
                    linestyle="--" if twin else "-", color=colours[model], label=model)
    found = crossovers(curve, pairs, metric)
    middle = float(np.sqrt(curve["size"].min() * curve["size"].max()))
    for i, row in enumerate(found.itertuples()):
        if np.isfinite(float(row.crossover)):  # type: ignore[arg-type]
            colour = colours.get(str(row.generative), "grey")
            ax.axvline(row.crossover, color=colour, linestyle=":", linewidth=1.5)
            ax.annotate(f"{row.discriminative} ahead from ≈{row.crossover:.0f}",
                        (row.crossover, 0.97 - 0.07 * i), xycoords=("data", "axes fraction"),
                        fontsize=7, va="top", color=colour,
                        # A white box keeps the label legible over a curve.
                        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85,
                              "pad": 1.0},
                        ha="right" if float(row.crossover) > middle else "left")  # type: ignore[arg-type]
    ax.set_xscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    sizes = np.unique(curve["size"].to_numpy())
    ax.set_xticks(sizes if len(sizes) <= 10 else sizes[:: int(np.ceil(len(sizes) / 10))])
    ax.xaxis.set_major_formatter(ScalarFormatter())  # 100, not 10^2
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("training rows")
    ax.set_ylabel({"error": "held-out error rate", "log_loss": "held-out log-loss",
                   "brier": "held-out Brier score"}.get(metric, metric))
    ax.legend(fontsize=8)
    if title is not None:
        ax.set_title(title)
    return ax
