"""The models :func:`expfam.compare` can set side by side, and how each is fit and scored.

Generative models (``"lda"``, ``"qda"``, ``"naive_bayes"``) come from
:mod:`expfam.models`; each has a discriminative twin with the same
functional form: logistic (multinomial) regression on its sufficient
statistics T(x).  LDA's twin is ``"logit"`` (the formula's own columns); the
others' are named ``"<model> twin"`` (QDA's: the linear, square and cross
terms; naive Bayes's: x, plus x² for Gaussian features with class variances).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from expfam.errors import ExpfamError, InputError, SeparationWarning
from expfam.models.glm import logit
from expfam.models.lda import lda
from expfam.models.multinomial import mnlogit
from expfam.models.naive_bayes import naive_bayes
from expfam.models.qda import qda

__all__ = ["GENERATIVE", "Candidate", "FitOutcome", "candidates", "fit_all"]

GENERATIVE: dict[str, Callable[..., Any]] = {"lda": lda, "qda": qda,
                                             "naive_bayes": naive_bayes}
TWIN_SUFFIX = " twin"


@dataclass(frozen=True)
class Candidate:
    """One model of a comparison: ``name``; ``generative`` (its builder's key) or,
    for a discriminative model, ``twin_of`` (the generative model whose T(x) it
    uses; ``None`` for plain ``"logit"`` on the formula's columns)."""

    name: str
    generative: str | None = None
    twin_of: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def is_generative(self) -> bool:
        return self.generative is not None


def twin_name(generative: str) -> str:
    return "logit" if generative == "lda" else generative + TWIN_SUFFIX


def candidates(models: Any, twins: bool, options: dict[str, dict[str, Any]]
               ) -> list[Candidate]:
    """The models asked for (and, with ``twins``, every generative model's twin)."""
    names = [models] if isinstance(models, str) else list(models)
    known = [*GENERATIVE, "logit", *(g + TWIN_SUFFIX for g in GENERATIVE if g != "lda")]
    unknown = [m for m in names if m not in known]
    if unknown or not names:
        raise InputError(f"unknown model(s) {unknown}: choose from {known}" if unknown
                         else "models is empty: name at least one model")
    extra = [o for o in options if o not in GENERATIVE]
    if extra:
        raise InputError(f"options are for the generative models {list(GENERATIVE)} (a twin "
                         f"uses its model's); got options for {extra}")
    if twins:
        for name in list(names):
            if name in GENERATIVE and twin_name(name) not in names:
                names.append(twin_name(name))
    out = []
    for name in dict.fromkeys(names):
        if name in GENERATIVE:
            out.append(Candidate(name, generative=name, options=options.get(name, {})))
        elif name == "logit":
            out.append(Candidate(name, options=options.get("lda", {})))
        else:
            base = name[: -len(TWIN_SUFFIX)]
            out.append(Candidate(name, twin_of=base, options=options.get(base, {})))
    return out


@dataclass
class FitOutcome:
    """A model fit to training rows: its fitted object (or the error that stopped
    it), its held-out class probabilities, and whether it was separated."""

    candidate: Candidate
    fitted: Any = None
    proba: pd.DataFrame | None = None
    separated: bool = False
    error: str | None = None


def _binary_frame(proba: Any, labels: tuple[Any, ...]) -> pd.DataFrame:
    """A GLM's predictions as one column per class (binary: P of the second level)."""
    if isinstance(proba, pd.Series):
        return pd.DataFrame({labels[0]: 1 - proba, labels[1]: proba})
    return proba.set_axis(list(labels), axis=1)


def _fit_discriminative(formula: str, training: pd.DataFrame, n_classes: int,
                        twin_source: Any, quiet: bool) -> tuple[Any, bool]:
    """Fit, noting whether the data were separated (the estimates run off to
    infinity and the held-out log-loss can be huge); ``quiet`` keeps the warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if twin_source is not None:
            fitted = twin_source.fit_twin()
        elif n_classes == 2:
            fitted = logit(formula, training).fit()
        else:
            fitted = mnlogit(formula, training).fit()
    separated = any(issubclass(w.category, SeparationWarning) for w in caught)
    if not quiet:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return fitted, separated


def fit_all(formula: str, data: pd.DataFrame, models: list[Candidate], train: np.ndarray,
            test: np.ndarray | None, labels: tuple[Any, ...],
            catch: bool = False, quiet: bool = True) -> list[FitOutcome]:
    """Every model fit on ``data.iloc[train]``, with probabilities for ``test`` rows.

    A twin reuses its generative model's fit on the same rows (fit here if the
    model itself is not in the comparison).  With ``catch``, a model that cannot
    be fit on these rows (QDA with fewer rows than features in a class, a
    degenerate naive Bayes feature) is reported, not raised; ``quiet`` keeps the
    discriminative fits' warnings (separation on small training sets) to itself.
    """
    training = data.iloc[train]
    testing = None if test is None else data.iloc[test]
    generative: dict[str, Any] = {}
    outcomes = []
    for cand in models:
        outcome = FitOutcome(cand)
        try:
            base = cand.generative or cand.twin_of
            if base is not None and base not in generative:
                generative[base] = GENERATIVE[base](formula, training, **cand.options).fit()
            if cand.is_generative:
                outcome.fitted = generative[base] if base else None
                if testing is not None:
                    outcome.proba = outcome.fitted.predict_proba(testing)
            else:
                source = generative.get(cand.twin_of) if cand.twin_of else None
                outcome.fitted, outcome.separated = _fit_discriminative(
                    formula, training, len(labels), source, quiet)
                if testing is not None:
                    exog: Any = testing
                    if source is not None:
                        exog = source.sufficient_statistics(testing)
                        exog.insert(0, source._intercept_name(), 1.0)
                    outcome.proba = _binary_frame(outcome.fitted.predict(exog), labels)
        except (ExpfamError, np.linalg.LinAlgError) as err:
            if not catch:
                raise
            outcome.error = str(err)
        outcomes.append(outcome)
    return outcomes
