"""Generative against discriminative: LDA and logistic regression on the same data.

Both fits model P(y | x) as a softmax of linear functions of x.  Logistic
(multinomial) regression estimates those coefficients directly by maximum
likelihood of y given x; LDA estimates the Gaussian class-conditional model
and implies them.  :func:`compare` fits both and sets them side by side:
coefficients with standard errors, held-out predictive performance by
cross-validation, and a check of the assumption LDA adds (a shared covariance).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from expfam.errors import DataWarning, InputError
from expfam.inference.results import GLMResults
from expfam.models.glm import logit
from expfam.models.lda import LDAResults, lda
from expfam.models.multinomial import mnlogit

__all__ = ["Comparison", "compare", "plot_learning_curve", "scores"]

GENERATIVE, DISCRIMINATIVE = "generative (LDA)", "discriminative (logistic)"


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


def _holdout(labels: pd.Series, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A stratified random test set: round(fraction·n_k) rows of each class."""
    test = np.zeros(len(labels), dtype=bool)
    for value in pd.unique(labels):
        rows = np.flatnonzero((labels == value).to_numpy())
        test[rng.choice(rows, round(fraction * len(rows)), replace=False)] = True
    return test


def _folds(labels: pd.Series, k: int, rng: np.random.Generator) -> np.ndarray:
    """A fold number per row, stratified: each class is dealt round the folds."""
    fold = np.empty(len(labels), dtype=np.int64)
    for value in pd.unique(labels):
        rows = rng.permutation(np.flatnonzero((labels == value).to_numpy()))
        fold[rows] = np.arange(len(rows)) % k
    return fold


@dataclass
class Comparison:
    """LDA and logistic regression fit to the same data; see :func:`compare`."""

    formula: str
    data: pd.DataFrame
    generative: LDAResults
    discriminative: GLMResults
    cv: pd.DataFrame  # one row per fold and model: the held-out scores
    folds: int
    random_state: int
    lda_options: dict[str, Any] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """Coefficients (implied vs maximum likelihood) with standard errors,
        cross-validated scores (mean and standard error over folds), and Box's M."""
        gen = self.generative
        rows = []
        lda_coef, lda_se = _stack(gen.logistic_params()), _stack(gen.logistic_bse())
        ml_coef, ml_se = _stack(self.discriminative.params), _stack(self.discriminative.bse)
        for key in lda_coef.index:
            rows.append((("coefficient", _key(key)),
                         [lda_coef[key], lda_se[key], ml_coef[key], ml_se[key]]))
        summary = self.cv.groupby("model").agg(["mean", "sem"])
        for metric in ("log_loss", "accuracy", "brier", "auc"):
            values = []
            for model in (GENERATIVE, DISCRIMINATIVE):
                values += [summary.loc[model, (metric, "mean")],
                           summary.loc[model, (metric, "sem")]]
            rows.append((("held-out", metric), values))
        box = gen.box_m()
        rows.append((("shared covariance", "Box's M chi2"), [box["chi2"], np.nan, np.nan,
                                                              np.nan]))
        rows.append((("shared covariance", "Box's M p-value"), [box["p_value"], np.nan,
                                                                 np.nan, np.nan]))
        columns = pd.MultiIndex.from_product([[GENERATIVE, DISCRIMINATIVE],
                                              ["estimate", "std_err"]])
        index = pd.MultiIndex.from_tuples([r[0] for r in rows], names=["section", "item"])
        return pd.DataFrame([r[1] for r in rows], index=index, columns=columns)

    def learning_curve(self, sizes: Sequence[int] | None = None, repeats: int = 20,
                       test_fraction: float = 0.3, random_state: int | None = None
                       ) -> pd.DataFrame:
        """Refit both models on growing training sets; score each on held-out rows.

        Each repeat splits the data at random (stratified) into a test set of
        ``test_fraction`` of the rows and a pool; training sets are the first
        ``size`` rows of the shuffled pool, so they are nested within a repeat.

        Returns
        -------
        DataFrame
            One row per repeat, size and model: ``error`` (1 − accuracy),
            ``log_loss``.  :func:`plot_learning_curve` draws it.
        """
        rng = np.random.default_rng(self.random_state if random_state is None
                                    else random_state)
        labels = self._labels()
        k = len(self.generative.model.classes.labels)
        p = len(self.generative.model.exog_names)
        if not 0 < test_fraction < 1:
            raise InputError(f"test_fraction must be between 0 and 1, got {test_fraction}")
        counts = labels.value_counts()
        pool_size = int((counts - np.round(counts * test_fraction).astype(int)).sum())
        if sizes is None:
            start = max(4 * k, 2 * (p + 1))
            grid = [int(s) for s in np.unique(np.geomspace(start, pool_size, 8).astype(int))]
        else:
            grid = [int(s) for s in sizes]
        if max(grid) > pool_size:
            raise InputError(f"training sizes go up to {max(grid)} but only {pool_size} rows "
                             f"are left after holding out {test_fraction:.0%} for testing")
        records = []
        for repeat in range(repeats):
            test = _holdout(labels, test_fraction, rng)
            pool = rng.permutation(np.flatnonzero(~test))
            for size in grid:
                train = pool[:size]
                if labels.iloc[train].value_counts().reindex(
                        self.generative.model.classes.labels, fill_value=0).min() < 2:
                    continue  # too few of some class to fit either model
                for model, proba in self._fit_both(train, np.flatnonzero(test)):
                    s = scores(proba, labels.iloc[np.flatnonzero(test)])
                    records.append({"repeat": repeat, "size": int(size), "model": model,
                                    "error": 1 - s["accuracy"], "log_loss": s["log_loss"]})
        return pd.DataFrame(records)

    def plot_learning_curve(self, curve: pd.DataFrame | None = None, metric: str = "error",
                            ax: Any = None) -> Any:
        """Draw :meth:`learning_curve` (computed with its defaults if not given)."""
        return plot_learning_curve(self.learning_curve() if curve is None else curve,
                                   metric=metric, ax=ax)

    def _labels(self) -> pd.Series:
        """The class of each row (the data have complete rows, so they line up)."""
        model = self.generative.model
        return pd.Series(np.asarray(model.classes.labels, dtype=object)[model.codes])

    def _fit_both(self, train: np.ndarray, test: np.ndarray
                  ) -> list[tuple[str, pd.DataFrame]]:
        """Both models fit on ``train`` rows, as (name, test-row probabilities)."""
        data = self.data.reset_index(drop=True)
        training, testing = data.iloc[train], data.iloc[test]
        gen = lda(self.formula, training, **self.lda_options).fit()
        with warnings.catch_warnings():
            # Small training sets are often separated; the probabilities are still
            # the fit's, and the held-out scores say how good they are.
            warnings.simplefilter("ignore")
            disc = _discriminative(self.formula, training, gen).fit()
        proba = disc.predict(testing)
        if isinstance(proba, pd.Series):  # binary: the second level's probability
            labels = gen.model.classes.labels
            proba = pd.DataFrame({labels[0]: 1 - proba, labels[1]: proba})
        return [(GENERATIVE, gen.predict_proba(testing)),
                (DISCRIMINATIVE, proba.set_axis(list(gen.model.classes.labels), axis=1))]

    def __str__(self) -> str:
        table = self.table()
        gen = self.generative
        held = self.cv.groupby("model")[["log_loss", "brier"]].mean()
        better = {m: (GENERATIVE if held[m][GENERATIVE] < held[m][DISCRIMINATIVE]
                      else DISCRIMINATIVE) for m in ("log_loss", "brier")}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # table() has already warned
            box = gen.box_m()
        lines = [
            f"Generative vs discriminative fit: {self.formula}",
            f"{gen.nobs:g} observations, classes {list(gen.model.classes.labels)}; "
            f"held-out scores from {self.folds}-fold cross-validation",
            "",
            table.to_string(float_format=lambda v: f"{v:.4g}"),
            "",
            f"Lower held-out log-loss: {better['log_loss']}; lower Brier score: "
            f"{better['brier']}.",
            _box_sentence(box),
        ]
        return "\n".join(lines)


def _box_sentence(box: pd.Series) -> str:
    """The report's line on Box's M, which is NaN when a class covariance is singular."""
    if np.isnan(box["p_value"]):
        return ("Box's M: unavailable — some class has a singular covariance (too few rows "
                "for the features, or collinear features), so the shared covariance is "
                "untested.")
    verdict = (" — the classes' covariances differ, so LDA's coefficients and standard "
               "errors rest on a questionable assumption." if box["p_value"] < 0.05 else
               " — no evidence against the shared covariance.")
    return (f"Box's M: chi2 = {box['chi2']:.4g} on {box['df']:g} df, "
            f"p = {box['p_value']:.3g}{verdict}")


def _stack(values: pd.Series | pd.DataFrame) -> pd.Series:
    """Coefficients as one Series: by (class, term) for a multinomial layout."""
    if isinstance(values, pd.DataFrame):
        return pd.Series(values.T.stack())
    return values


def _key(key: Any) -> str:
    return f"{key[0]}: {key[1]}" if isinstance(key, tuple) else str(key)


def _discriminative(formula: str, data: pd.DataFrame, gen: LDAResults) -> Any:
    labels = gen.model.classes.labels
    if len(labels) == 2:
        return logit(formula, data)
    return mnlogit(formula, data)


def compare(formula: str, data: pd.DataFrame, folds: int = 5, random_state: int = 0,
            **lda_options: Any) -> Comparison:
    """Fit LDA and logistic (multinomial) regression to the same data and compare.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + x2"``: a class label response and numeric features.
    data : DataFrame
    folds : int
        Stratified cross-validation folds for the held-out scores.
    random_state : int
        Seeds the folds and the learning curve's splits.
    **lda_options
        Passed to :func:`expfam.lda` (``priors``, ``covariance``, ``shrinkage``).

    Returns
    -------
    Comparison
        ``table()``, ``learning_curve()``, ``str()``.
    """
    if folds < 2:
        raise InputError(f"folds must be at least 2, got {folds}")
    if "weights" in lda_options:
        raise InputError("compare does not take weights: they would reach only one of the "
                         "two fits; expand the rows, or fit ef.lda and ef.logit yourself")
    data = data.reset_index(drop=True)
    gen = lda(formula, data, **lda_options).fit()
    if gen.model.formula is not None and not gen.model.formula.has_intercept:
        raise InputError("compare needs a formula with an intercept: LDA's implied "
                         "coefficients always include one (b_k), so without it the two fits "
                         "are different models")
    if gen.model.formula is not None and gen.model.formula.n_dropped:
        raise InputError("compare needs complete rows: drop the rows with missing values "
                         "first, so that both fits and every fold see the same data")
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        disc = _discriminative(formula, data, gen).fit()
    cmp = Comparison(formula, data, gen, disc, pd.DataFrame(), folds, random_state,
                     lda_options)
    labels = cmp._labels()
    fold = _folds(labels, folds, np.random.default_rng(random_state))
    records = []
    for f in range(folds):
        for model, proba in cmp._fit_both(np.flatnonzero(fold != f), np.flatnonzero(fold == f)):
            records.append({"fold": f, "model": model,
                            **scores(proba, labels.iloc[np.flatnonzero(fold == f)])})
    cmp.cv = pd.DataFrame(records)
    return cmp


def plot_learning_curve(curve: pd.DataFrame, metric: str = "error", ax: Any = None) -> Any:
    """Mean ± one standard error of ``metric`` against training size, per model."""
    from expfam.inference.plotting import _pyplot

    if ax is None:
        _, ax = _pyplot().subplots(figsize=(6, 4))
    summary = curve.groupby(["model", "size"])[metric].agg(["mean", "sem"]).reset_index()
    for model, part in summary.groupby("model"):
        ax.errorbar(part["size"], part["mean"], yerr=part["sem"], marker="o", capsize=3,
                    label=model)
    ax.set_xscale("log")
    ax.set_xlabel("training rows")
    ax.set_ylabel({"error": "held-out error rate", "log_loss": "held-out log-loss"}.get(
        metric, metric))
    ax.legend()
    return ax

