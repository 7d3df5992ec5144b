"""Held-out scores of class probabilities, and stratified cross-validation folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["METRICS", "folds_of", "scores"]

METRICS = ("log_loss", "brier", "accuracy", "auc")


def scores(proba: pd.DataFrame, truth: pd.Series) -> dict[str, float]:
    """Held-out log-loss, accuracy, Brier score and AUC of class probabilities.

    For two classes the Brier score is the mean of (p − y)² for the second
    class and the AUC the usual one; for more classes the Brier score sums over
    classes and the AUC is the mean of the one-vs-rest AUCs.
    """
    labels = list(proba.columns)
    p = proba.to_numpy()
    onehot = np.equal.outer(truth.to_numpy(), np.asarray(labels, dtype=object)).astype(float)
    picked = np.clip(np.sum(p * onehot, axis=1), 1e-300, 1.0)  # finite even at p = 0
    brier = np.sum((p - onehot) ** 2, axis=1)
    aucs = [_auc(p[:, k], onehot[:, k]) for k in range(len(labels))]
    return {
        "log_loss": float(-np.mean(np.log(picked))),
        "accuracy": float(np.mean(np.argmax(p, axis=1) == np.argmax(onehot, axis=1))),
        "brier": float(np.mean(brier) / (2 if len(labels) == 2 else 1)),
        "auc": aucs[1] if len(labels) == 2 else float(np.nanmean(aucs)),
    }


def _auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve by the Mann–Whitney rank statistic (ties count ½)."""
    n_pos, n_neg = positive.sum(), (1 - positive).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = stats.rankdata(score)
    return float((ranks[positive == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def folds_of(labels: pd.Series, k: int, rng: np.random.Generator) -> np.ndarray:
    """A fold number per row, stratified: each class is dealt round the folds."""
    fold = np.empty(len(labels), dtype=np.int64)
    for value in pd.unique(labels):
        rows = rng.permutation(np.flatnonzero((labels == value).to_numpy()))
        fold[rows] = np.arange(len(rows)) % k
    return fold
