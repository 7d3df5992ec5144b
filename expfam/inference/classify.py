"""One prediction interface for classifiers: class probabilities and labels.

The rule (docs/glm.md, "Classifiers"): ``predict`` of a GLM keeps statsmodels'
meaning, the mean of the response (for a Bernoulli model the probability of
the event, a Series); ``predict_proba`` gives the probability of *every* class
as an (n, K) DataFrame with one column per class, and ``predict_class`` the
most probable class of each row.  A Bernoulli model's two columns are its
response's levels when a formula read labels (``"no"``, ``"yes"``), else 0
and 1; a categorical model's are its class labels.  LDA (and the generative
classifiers) and one-vs-rest fits answer the same two questions, so a
scikit-learn user finds ``predict_proba`` (probabilities) and a label
predictor everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from expfam.errors import InputError

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["binary_levels", "most_probable", "predict_proba"]


def binary_levels(res: GLMResults) -> tuple[Any, Any]:
    """The two outcomes of a Bernoulli model, non-event first: the formula
    response's levels when it had labels, else 0 and 1."""
    terms = res.model.formula
    levels = None if terms is None else terms.response.levels
    if levels is not None and len(levels) == 2:
        return levels[0], levels[1]
    return 0, 1


def predict_proba(res: GLMResults, exog: Any = None, offset: Any = None,
                  unseen: str = "raise") -> pd.DataFrame:
    """Probabilities of every class, (n, K): see :meth:`GLMResults.predict_proba`."""
    family = res.model.family.name
    if res.model.classes is None and family != "bernoulli":
        raise InputError(f"predict_proba is for classifiers (the bernoulli and categorical "
                         f"families); a {family} model predicts a mean: use predict()")
    mean = res.predict(exog, offset=offset, unseen=unseen)
    if res.model.classes is not None:
        frame = mean if isinstance(mean, pd.DataFrame) else pd.DataFrame(
            mean, columns=list(res.model.classes.labels))
        frame.columns = pd.Index(list(res.model.classes.labels), name="class")
        return frame
    p = np.asarray(mean, dtype=np.float64)
    index = mean.index if isinstance(mean, pd.Series) else None
    no, yes = binary_levels(res)
    return pd.DataFrame({no: 1.0 - p, yes: p}, index=index).rename_axis(columns="class")


def most_probable(proba: pd.DataFrame) -> pd.Series:
    """The column label of each row's largest probability; missing where the
    row's probabilities are (a row that could not be predicted)."""
    values = proba.to_numpy(dtype=np.float64)
    best = np.argmax(np.nan_to_num(values, nan=-1.0), axis=1)
    labels = pd.Series(proba.columns.take(best), index=proba.index, name="predicted")
    return labels.where(~np.isnan(values).any(axis=1))
