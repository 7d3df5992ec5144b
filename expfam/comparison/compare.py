"""Generative against discriminative: any set of generative classifiers and their twins
fit to the same data.

A generative model (LDA, QDA, naive Bayes) and its discriminative twin —
logistic (multinomial) regression on the same sufficient statistics — share a
functional form for P(y | x) and differ in how they estimate it.
:func:`compare` fits them all and sets them side by side: the coefficients of
each pair with standard errors, held-out log-loss, Brier score, accuracy and
AUC by stratified cross-validation (mean and standard error over folds), a
check of LDA's shared covariance, and :meth:`Comparison.learning_curve`.

A fold on which a discriminative fit is separated (its estimates run off to
infinity) can give a held-out log-loss in the hundreds; such folds are
reported, and the verdict says when it rests on a single fold.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from expfam.comparison.candidates import GENERATIVE, Candidate, candidates, fit_all, twin_name
from expfam.comparison.learning import crossovers, holdout, plot_learning_curve
from expfam.comparison.scoring import METRICS, folds_of, scores
from expfam.errors import DataWarning, InputError

__all__ = ["Comparison", "compare", "plot_learning_curve", "scores"]

LOWER_IS_BETTER = {"log_loss": True, "brier": True, "accuracy": False, "auc": False}


class Comparison:
    """Generative models and their discriminative twins fit to the same data; see
    :func:`compare`.

    Attributes
    ----------
    fits : dict
        Each model fit to all rows, by name.
    cv : DataFrame
        One row per fold and model: the held-out scores and ``separated``.
    predictions : dict of DataFrame
        Each model's out-of-fold class probabilities (n × K), for extra plots.
    """

    #: Named plots for :meth:`plot`; more (ROC, calibration) can be registered here.
    PLOTS: ClassVar[dict[str, Callable[..., Any]]] = {}

    def __init__(self, formula: str, data: pd.DataFrame, models: list[Candidate],
                 fits: dict[str, Any], folds: int, random_state: int,
                 reference: Any = None, n_features: int = 1,
                 labels: pd.Series | None = None) -> None:
        self.formula = formula
        self.n_features = n_features
        self.data = data
        self.models = models
        self.fits = fits
        self.folds = folds
        self.random_state = random_state
        self.reference = reference
        self.cv = pd.DataFrame()
        self.predictions: dict[str, pd.DataFrame] = {}
        self.errors: list[tuple[int, str, str]] = []
        self.classes: tuple[Any, ...] = tuple(labels.cat.categories) if labels is not None \
            else ()
        self._row_labels = labels

    # -- the models ------------------------------------------------------------
    @property
    def generative(self) -> Any:
        """The first generative model's fit (None if there is none)."""
        return next((self.fits[c.name] for c in self.models if c.is_generative), None)

    @property
    def discriminative(self) -> Any:
        """The first discriminative model's fit (None if there is none)."""
        return next((self.fits[c.name] for c in self.models if not c.is_generative), None)

    def pairs(self) -> list[tuple[str, str]]:
        """(generative, twin) names of the pairs that share a functional form."""
        names = {c.name for c in self.models}
        return [(c.name, twin_name(c.name)) for c in self.models
                if c.is_generative and twin_name(c.name) in names]

    def _labels(self) -> pd.Series:
        """The class of each row (categories in class order)."""
        if self._row_labels is None:
            raise InputError("this comparison has no class labels")
        return self._row_labels.astype(object)

    # -- cross-validation ------------------------------------------------------
    def _cross_validate(self) -> None:
        labels = self._labels()
        fold = folds_of(labels, self.folds, np.random.default_rng(self.random_state))
        records = []
        held = {c.name: np.full((len(labels), len(self.classes)), np.nan) for c in self.models}
        for f in range(self.folds):
            test = np.flatnonzero(fold == f)
            for out in fit_all(self.formula, self.data, self.models, np.flatnonzero(fold != f),
                               test, self.classes, catch=True):
                name = out.candidate.name
                if out.proba is None:
                    self.errors.append((f, name, out.error or "not fitted"))
                    found = dict.fromkeys(METRICS, np.nan)
                else:
                    found = scores(out.proba, labels.iloc[test])
                    held[name][test] = out.proba.to_numpy()
                records.append({"fold": f, "model": name, **found,
                                "separated": out.separated})
        self.cv = pd.DataFrame(records)
        self.predictions = {name: pd.DataFrame(v, columns=list(self.classes))
                            for name, v in held.items()}

    def verdict(self, metric: str = "log_loss") -> dict[str, Any]:
        """Which model has the best mean held-out ``metric``, and whether an outlying fold
        decides it.

        A fold is outlying for a model when its score there is more than three
        times its median over the other folds (log-loss and Brier score; a
        separated fit can put a log-loss in the hundreds).  Returns ``best``, ``means``,
        ``decisive_folds`` ({fold: the model that would be best without it}, for
        outlying folds only) and ``separated`` ({model: [folds]}).
        """
        table = self.cv.pivot(index="fold", columns="model", values=metric)[
            [c.name for c in self.models]]
        lower = LOWER_IS_BETTER[metric]

        def best(frame: pd.DataFrame) -> str:
            means = frame.mean()
            return str(means.idxmin() if lower else means.idxmax())

        winner = best(table)
        flags = self.cv.pivot(index="fold", columns="model", values="separated")
        decisive = {}
        for f in table.index:
            others = table.drop(index=f)
            outlying = lower and bool((table.loc[f] > 3 * others.median()).any())
            if len(table) > 2 and outlying and best(others) != winner:
                decisive[int(f)] = best(others)
        separated = {str(m): [int(f) for f in flags.index[flags[m].astype(bool)]]
                     for m in flags.columns if flags[m].astype(bool).any()}
        return {"best": winner, "means": table.mean(), "decisive_folds": decisive,
                "separated": separated}

    # -- tables ----------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        """Coefficients of each (generative, twin) pair with standard errors, the
        cross-validated scores of every model (mean and standard error over folds),
        and Box's M for LDA.  Rows (section, item); columns (model, estimate|std_err)."""
        names = [c.name for c in self.models]
        columns = pd.MultiIndex.from_product([names, ["estimate", "std_err"]])
        rows: list[tuple[tuple[str, str], dict[tuple[str, str], Any]]] = []
        for gen, twin in self.pairs():
            g, t = self.fits[gen], self.fits[twin]
            coef, se = _stack(g.logistic_params()), _stack(g.logistic_bse())
            ml, ml_se = _stack(t.params), _stack(t.bse)
            for key in coef.index:
                rows.append(((f"coefficients: {gen} ~ {twin}", _key(key)),
                             {(gen, "estimate"): coef[key], (gen, "std_err"): se[key],
                              (twin, "estimate"): ml.get(key, np.nan),
                              (twin, "std_err"): ml_se.get(key, np.nan)}))
        summary = self.cv.groupby("model")[list(METRICS)].agg(["mean", "sem"])
        for metric in METRICS:
            values = {}
            for name in names:
                values[(name, "estimate")] = summary.loc[name, (metric, "mean")]
                values[(name, "std_err")] = summary.loc[name, (metric, "sem")]
            rows.append((("held-out", metric), values))
        if "lda" in self.fits:
            box = self.fits["lda"].box_m()
            rows.append((("shared covariance", "Box's M chi2"), {("lda", "estimate"):
                                                                 box["chi2"]}))
            rows.append((("shared covariance", "Box's M p-value"), {("lda", "estimate"):
                                                                    box["p_value"]}))
        index = pd.MultiIndex.from_tuples([r[0] for r in rows], names=["section", "item"])
        return pd.DataFrame([r[1] for r in rows], index=index, columns=columns)

    # -- learning curves ---------------------------------------------------------
    def learning_curve(self, sizes: Sequence[int] | None = None, repeats: int = 20,
                       test_fraction: float = 0.3, random_state: int | None = None
                       ) -> pd.DataFrame:
        """Refit every model on growing training sets; score each on held-out rows.

        Each repeat splits the data at random (stratified) into a test set of
        ``test_fraction`` of the rows and a pool; training sets are the first
        ``size`` rows of the shuffled pool, so they are nested within a repeat.
        A model that cannot be fit at some size (QDA with fewer rows than
        features in a class) is left out there.

        Returns
        -------
        DataFrame
            One row per repeat, size and model: ``error`` (1 − accuracy),
            ``log_loss``, ``brier``, ``separated``.  :meth:`plot_learning_curve`
            draws it and :meth:`crossovers` says where the pairs cross.
        """
        rng = np.random.default_rng(self.random_state if random_state is None
                                    else random_state)
        labels = self._labels()
        k = len(self.classes)
        p = self.n_features
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
            test = np.flatnonzero(holdout(labels, test_fraction, rng))
            pool = rng.permutation(np.setdiff1d(np.arange(len(labels)), test))
            for size in grid:
                train = pool[:size]
                if labels.iloc[train].value_counts().reindex(
                        list(self.classes), fill_value=0).min() < 2:
                    continue  # too few of some class to fit the models
                for out in fit_all(self.formula, self.data, self.models, train, test,
                                   self.classes, catch=True):
                    if out.proba is None:
                        continue
                    s = scores(out.proba, labels.iloc[test])
                    records.append({"repeat": repeat, "size": int(size),
                                    "model": out.candidate.name, "error": 1 - s["accuracy"],
                                    "log_loss": s["log_loss"], "brier": s["brier"],
                                    "separated": out.separated})
        return pd.DataFrame(records)

    def crossovers(self, curve: pd.DataFrame, metric: str = "error") -> pd.DataFrame:
        """Where each pair's learning curves cross: see :func:`.learning.crossovers`."""
        return crossovers(curve, self.pairs(), metric)

    def plot_learning_curve(self, curve: pd.DataFrame | None = None, metric: str = "error",
                            ax: Any = None, title: str | None = None) -> Any:
        """Draw :meth:`learning_curve` (computed with its defaults if not given), with
        the crossing point of each pair marked and ``title`` over it."""
        return plot_learning_curve(self.learning_curve() if curve is None else curve,
                                   metric=metric, ax=ax, pairs=self.pairs(), title=title)

    def plot(self, kind: str = "learning_curve", **kwargs: Any) -> Any:
        """A named plot: ``"learning_curve"``, or any registered in :attr:`PLOTS`
        (called with this comparison and ``kwargs``)."""
        if kind == "learning_curve":
            return self.plot_learning_curve(**kwargs)
        if kind not in self.PLOTS:
            raise InputError(f"unknown plot {kind!r}: choose from "
                             f"{['learning_curve', *self.PLOTS]}")
        return self.PLOTS[kind](self, **kwargs)

    # -- reports ---------------------------------------------------------------------
    def __repr__(self) -> str:
        names = ", ".join(c.name for c in self.models)
        return (f"<Comparison: {self.formula}; models {names}; {len(self.data)} rows, "
                f"{self.folds}-fold cross-validation>")

    def __str__(self) -> str:
        table = self.table()
        lines = [
            f"Generative vs discriminative fit: {self.formula}",
            f"{len(self.data)} observations, classes {list(self.classes)}"
            f"{'' if self.reference is None else f' (reference {self.reference!r})'}; "
            f"held-out scores from {self.folds}-fold cross-validation",
            "",
            table.to_string(float_format=lambda v: f"{v:.4g}", na_rep=""),
            "",
        ]
        lines += [self._verdict_sentence(m) for m in ("log_loss", "brier")]
        lines += [s for s in [self._separation_sentence()] if s]
        lines += [f"Fold {f}: {name} could not be fit ({err})" for f, name, err in self.errors]
        if "lda" in self.fits:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataWarning)  # table() has already warned
                lines.append(_box_sentence(self.fits["lda"].box_m()))
        return "\n".join(lines)

    def _verdict_sentence(self, metric: str) -> str:
        v = self.verdict(metric)
        label = {"log_loss": "log-loss", "brier": "Brier score"}[metric]
        text = f"Lowest mean held-out {label}: {v['best']} ({v['means'][v['best']]:.4g})."
        for f, other in v["decisive_folds"].items():
            fold = self.cv[self.cv["fold"] == f].set_index("model")
            typical = self.cv[self.cv["fold"] != f].groupby("model")[metric].median()
            worst = [f"{m}'s {label} is {fold.loc[m, metric]:.4g} (median elsewhere "
                     f"{typical[m]:.4g}{'; separated' if fold.loc[m, 'separated'] else ''})"
                     for m in fold.index if fold.loc[m, metric] > 3 * typical[m]]
            without = self.cv[self.cv["fold"] != f].groupby("model")[metric].mean()
            text += (f" This rests on fold {f} alone, where {', '.join(worst)}: without "
                     f"it {other} would be lowest ({without[other]:.4g} against "
                     f"{without[v['best']]:.4g}).")
        return text

    def _separation_sentence(self) -> str | None:
        separated = self.verdict()["separated"]
        if not separated:
            return None
        parts = [f"{m} in fold{'s' if len(f) > 1 else ''} {', '.join(map(str, f))}"
                 for m, f in separated.items()]
        return ("Separated fits (estimates run off to infinity; held-out log-loss can be "
                f"huge): {'; '.join(parts)} of {self.folds}.")


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


def _with_reference(formula: str, data: pd.DataFrame, reference: Any) -> pd.DataFrame:
    """The data with the response's levels reordered so that ``reference`` comes first
    (every model takes its first level as the reference class)."""
    response = formula.split("~", 1)[0].strip().strip("`")
    if response not in data.columns:
        raise InputError(f"reference= needs the response to be a column of the data; "
                         f"{response!r} is not (make it one first)")
    values = data[response]
    levels = (list(values.cat.categories) if isinstance(values.dtype, pd.CategoricalDtype)
              else sorted(pd.unique(values.dropna())))
    if reference not in levels:
        raise InputError(f"reference={reference!r} is not a class of {response!r}; the "
                         f"classes are {levels}")
    order = [reference] + [lvl for lvl in levels if lvl != reference]
    return data.assign(**{response: pd.Categorical(values, categories=order)})


def compare(formula: str, data: pd.DataFrame, models: Sequence[str] | str = ("lda", "logit"),
            folds: int = 5, random_state: int = 0, reference: Any = None,
            twins: bool = True, options: dict[str, dict[str, Any]] | None = None,
            **lda_options: Any) -> Comparison:
    """Fit generative classifiers and their discriminative twins to the same data, and
    compare them.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + x2"``: a class label response and numeric features.
    data : DataFrame
    models : sequence of str
        Any of ``"lda"``, ``"qda"``, ``"naive_bayes"`` (generative), ``"logit"``
        (LDA's twin: logistic or multinomial regression on the formula's
        columns), ``"qda twin"``, ``"naive_bayes twin"``.
    folds : int
        Stratified cross-validation folds for the held-out scores.
    random_state : int
        Seeds the folds and the learning curve's splits.
    reference : label, optional
        The reference class of every model's coefficients (default the first level).
    twins : bool
        Add each listed generative model's twin if it is not listed.
    options : dict, optional
        Keyword arguments by generative model, e.g. ``{"naive_bayes": {"alpha": 1}}``;
        a twin is built from its model's fit with them.
    **lda_options
        Passed to :func:`expfam.lda` (``priors``, ``covariance``, ``shrinkage``).

    Returns
    -------
    Comparison
        ``table()``, ``verdict()``, ``learning_curve()``, ``crossovers()``, ``str()``.
    """
    if folds < 2:
        raise InputError(f"folds must be at least 2, got {folds}")
    options = {k: dict(v) for k, v in (options or {}).items()}
    if lda_options:
        options["lda"] = {**options.get("lda", {}), **lda_options}
    if any("weights" in o for o in options.values()):
        raise InputError("compare does not take weights: they would reach only some of the "
                         "fits; expand the rows, or fit the models yourself")
    data = data.reset_index(drop=True)
    if reference is not None:
        data = _with_reference(formula, data, reference)
    chosen = candidates(models, twins, options)
    # A generative fit on all rows checks the formula first (an intercept, complete rows).
    probe = GENERATIVE["lda"](formula, data)
    if probe.formula is not None and not probe.formula.has_intercept:
        raise InputError("compare needs a formula with an intercept: the generative models' "
                         "implied coefficients always include one (b_k), so without it the "
                         "fits are different models")
    if probe.formula is not None and probe.formula.n_dropped:
        raise InputError("compare needs complete rows: drop the rows with missing values "
                         "first, so that every fit and every fold see the same data")
    everything = np.arange(len(data))
    outcomes = fit_all(formula, data, chosen, everything, None, tuple(probe.classes.labels),
                       quiet=False)
    fits = {o.candidate.name: o.fitted for o in outcomes}
    classes = list(probe.classes.labels)
    labels = pd.Series(pd.Categorical.from_codes(probe.codes, categories=pd.Index(classes)))
    cmp = Comparison(formula, data, chosen, fits, folds, random_state, reference,
                     n_features=len(probe.exog_names), labels=labels)
    cmp._cross_validate()
    return cmp
