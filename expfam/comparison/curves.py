"""ROC and calibration curves for binary classifiers.

A curve is drawn from each classifier's probability of the event (the second
class) against the true classes.  Where they come from:

- a :class:`~expfam.Comparison` (``ef.compare``): the held-out probabilities
  of both models, from the same stratified folds as its cross-validated
  scores — an honest picture of each model on data it did not see;
- a fitted Bernoulli :class:`~expfam.GLMResults` or a two-class
  :class:`~expfam.LDAResults`: the probabilities on the rows it was fitted to
  (in-sample, and labelled so);
- a mapping ``{name: (truth, probability)}`` of your own.

The curves themselves are tables (:func:`roc_curve`,
:func:`calibration_curve`); the plots draw them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from expfam.comparison.compare import Comparison
from expfam.comparison.scoring import folds_of
from expfam.errors import InputError
from expfam.inference.plotting import finish_axes, new_axes
from expfam.inference.results import GLMResults

__all__ = ["calibration_curve", "held_out_probabilities", "plot_calibration", "plot_roc",
           "roc_curve"]

Curves = dict[str, tuple[np.ndarray, np.ndarray]]


def _binary(truth: ArrayLike, prob: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(truth)
    p = np.asarray(prob, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise InputError(f"truth and probability need one value per row each; got shapes "
                         f"{y.shape} and {p.shape}")
    if not np.all(np.isin(y, [0, 1])):
        raise InputError("truth must be 0/1 (or boolean): whether each row is the event")
    keep = np.isfinite(p)
    return y[keep].astype(np.float64), p[keep]


def roc_curve(truth: ArrayLike, prob: ArrayLike) -> pd.DataFrame:
    """The ROC curve: at each threshold (every distinct probability, from the
    highest), the false- and true-positive rates of "event if p ≥ threshold".

    Returns
    -------
    DataFrame, columns ``threshold``, ``fpr``, ``tpr``
        Starting at (0, 0) with threshold +inf and ending at (1, 1).  Its area
        (trapezoids) is the AUC, the Mann–Whitney probability that an event
        row scores above a non-event row, ties counting ½.
    """
    y, p = _binary(truth, prob)
    positives, negatives = y.sum(), (1 - y).sum()
    if positives == 0 or negatives == 0:
        raise InputError("an ROC curve needs rows of both classes")
    order = np.argsort(-p, kind="mergesort")
    p, y = p[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(p)), len(p) - 1]  # the end of each tie block
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    return pd.DataFrame({"threshold": np.r_[np.inf, p[last]],
                         "fpr": np.r_[0.0, fp / negatives],
                         "tpr": np.r_[0.0, tp / positives]})


def auc(curve: pd.DataFrame) -> float:
    """The area under an ROC curve from :func:`roc_curve`."""
    return float(np.trapezoid(curve["tpr"], curve["fpr"]))


def calibration_curve(truth: ArrayLike, prob: ArrayLike, bins: int = 10,
                      strategy: str = "uniform", alpha: float = 0.05) -> pd.DataFrame:
    """Observed event rate against predicted probability, by bins of the prediction.

    Parameters
    ----------
    truth, prob : array-like, shape (n,)
    bins : int
    strategy : {"uniform", "quantile"}
        Equal-width bins on [0, 1] (as scikit-learn's default), or bins with
        equal numbers of rows.
    alpha : float
        For the observed rate's Wilson interval, 1 − confidence level.

    Returns
    -------
    DataFrame, one row per non-empty bin
        ``predicted`` (mean probability in the bin), ``observed`` (event rate),
        ``count``, ``lower`` and ``upper`` (Wilson interval of the rate).
    """
    y, p = _binary(truth, prob)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, bins + 1)
    elif strategy == "quantile":
        edges = np.quantile(p, np.linspace(0.0, 1.0, bins + 1))
    else:
        raise InputError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
    which = np.clip(np.searchsorted(edges[1:-1], p, side="right"), 0, bins - 1)
    count = np.bincount(which, minlength=bins).astype(np.float64)
    used = count > 0
    predicted = np.bincount(which, p, bins)[used] / count[used]
    events = np.bincount(which, y, bins)[used]
    n = count[used]
    observed = events / n
    # Wilson's interval: sensible at rates of 0 and 1, where the Wald one collapses.
    z = stats.norm.isf(alpha / 2)
    centre = (observed + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(observed * (1 - observed) / n + z**2 / (4 * n**2))
    return pd.DataFrame({"predicted": predicted, "observed": observed, "count": n,
                         "lower": centre - half, "upper": centre + half})


def held_out_probabilities(cmp: Comparison) -> pd.DataFrame:
    """Every row's held-out probability of the event under each model of an
    ``ef.compare`` result: the out-of-fold predictions behind its cross-validated
    scores (:attr:`Comparison.predictions`).

    Returns
    -------
    DataFrame, one row per data row and model
        ``row``, ``fold``, ``model``, ``truth`` (1 for the event, the second
        class) and ``probability``.
    """
    labels = cmp._labels()
    classes = list(cmp.classes)
    if len(classes) != 2:
        raise InputError(f"ROC and calibration curves are for two classes; this comparison "
                         f"has {len(classes)}")
    fold = folds_of(labels, cmp.folds, np.random.default_rng(cmp.random_state))
    truth = (labels == classes[1]).to_numpy(dtype=np.float64)
    parts = []
    for model, proba in cmp.predictions.items():
        prob = proba.iloc[:, 1].to_numpy()
        kept = np.isfinite(prob)  # a fold whose fit failed has no predictions
        parts.append(pd.DataFrame({"row": np.flatnonzero(kept), "fold": fold[kept],
                                   "model": model, "truth": truth[kept],
                                   "probability": prob[kept]}))
    return pd.concat(parts, ignore_index=True)


def _curves(source: Any) -> tuple[Curves, str]:
    """(name → (truth, probability)) and what the probabilities are."""
    if isinstance(source, Comparison):
        held = held_out_probabilities(source)
        curves = {str(m): (g["truth"].to_numpy(), g["probability"].to_numpy())
                  for m, g in held.groupby("model", sort=False)}
        return curves, f"held out, {source.folds}-fold cross-validation"
    if isinstance(source, GLMResults):
        if source.model.family.name != "bernoulli":
            raise InputError("ROC and calibration curves need a Bernoulli (two-class) model; "
                             f"this is {source.model.family.name}")
        return {"fit": (source.model.endog, np.asarray(source.fittedvalues))}, "in-sample"
    if hasattr(source, "predict_proba") and hasattr(source, "model"):  # LDA and kin
        classes = source.model.classes.labels
        if len(classes) != 2:
            raise InputError(f"ROC and calibration curves are for two classes; the model "
                             f"has {len(classes)}")
        prob = source.predict_proba().iloc[:, 1].to_numpy()
        return {"fit": ((source.model.codes == 1).astype(float), prob)}, "in-sample"
    if isinstance(source, Mapping):
        return {str(k): (np.asarray(v[0]), np.asarray(v[1])) for k, v in source.items()}, ""
    raise InputError("give a Comparison (ef.compare), a fitted two-class model, or a "
                     "mapping {name: (truth, probability)}")


def plot_roc(source: Any, ax: Any = None, title: str | None = None) -> Any:
    """ROC curves, one per model, with the AUC in the legend (needs matplotlib).

    ``source`` as in the module's documentation; ``ax`` to draw into.
    """
    curves, where = _curves(source)
    ax = new_axes((7.5, 4.5)) if ax is None else ax
    for name, (truth, prob) in curves.items():
        curve = roc_curve(truth, prob)
        ax.plot(curve["fpr"], curve["tpr"], drawstyle="steps-post",
                label=f"{name} (AUC {auc(curve):.3f})")
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false-positive rate (1 − specificity)",
           ylabel="true-positive rate (sensitivity)")
    return finish_axes(ax, title=title or f"ROC curve{f' ({where})' if where else ''}")


def plot_calibration(source: Any, ax: Any = None, bins: int = 10,
                     strategy: str = "uniform", title: str | None = None) -> Any:
    """Calibration curves: observed event rate against mean predicted
    probability per bin, with 95% Wilson intervals (needs matplotlib)."""
    curves, where = _curves(source)
    ax = new_axes((7.5, 4.5)) if ax is None else ax
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
    for name, (truth, prob) in curves.items():
        table = calibration_curve(truth, prob, bins, strategy)
        err = np.vstack([table["observed"] - table["lower"], table["upper"] - table["observed"]])
        ax.errorbar(table["predicted"], table["observed"], yerr=err, marker="o", capsize=3,
                    label=name)
    ax.set(xlim=(0, 1), ylim=(-0.02, 1.02), xlabel="mean predicted probability (per bin)",
           ylabel="observed event rate")
    return finish_axes(ax, title=title or f"Calibration{f' ({where})' if where else ''}",
                       legend_title="bars: 95% Wilson interval")


# ``cmp.plot("roc")`` and ``cmp.plot("calibration")`` on an ``ef.compare`` result.
Comparison.PLOTS.update(roc=plot_roc, calibration=plot_calibration)
