"""One-vs-rest: K binary models in place of one multinomial model."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import pandas as pd

from expfam.design.formula import Response
from expfam.design.matrix import StructuredDesign
from expfam.errors import InputError
from expfam.inference.classify import most_probable

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults
    from expfam.models.glm import GLM

__all__ = ["OneVsRest", "one_vs_rest"]


class OneVsRest:
    """K separate binary models, class k against all others, fit on the same design.

    The alternative to the multinomial logit that the lecture notes teach:
    each model estimates P(y = k | x) on its own, so the K probabilities need
    not sum to one; a row is assigned the class whose model is most confident.

    Attributes
    ----------
    results : dict
        Class label → the fitted binary :class:`GLMResults`.
    """

    def __init__(self, results: dict[Any, GLMResults]) -> None:
        self.results = results

    @property
    def params(self) -> pd.DataFrame:
        """Coefficients: terms as rows, one column per class."""
        return pd.DataFrame({c: r.params for c, r in self.results.items()})

    def predict(self, exog: Any = None, normalize: bool = False, **kwargs: Any) -> pd.DataFrame:
        """Each class's own probability (columns), optionally rescaled to sum to one.

        ``exog`` and the keyword arguments are as for :meth:`GLMResults.predict`.
        """
        probs = pd.DataFrame({c: r.predict(exog, **kwargs) for c, r in self.results.items()})
        probs.columns.name = "class"
        return probs.div(probs.sum(axis=1), axis=0) if normalize else probs

    def predict_proba(self, exog: Any = None, **kwargs: Any) -> pd.DataFrame:
        """Class probabilities that sum to one: each class's own probability
        divided by the row's total (as scikit-learn's ``OneVsRestClassifier``);
        the same as ``predict(exog, normalize=True)``."""
        return self.predict(exog, normalize=True, **kwargs)

    def predict_class(self, exog: Any = None, **kwargs: Any) -> pd.Series:
        """The class whose model gives the highest probability (missing where a row
        cannot be predicted)."""
        return most_probable(self.predict(exog, **kwargs)).rename("class")

    @property
    def llf(self) -> float:
        """Sum of the K binary log-likelihoods (not a multinomial likelihood)."""
        return float(sum(r.llf for r in self.results.values()))

    def __repr__(self) -> str:
        return f"<OneVsRest: {len(self.results)} binary models>"


def one_vs_rest(model: GLM, **fit_kwargs: Any) -> OneVsRest:
    """Fit one binary model per class of a categorical model's response.

    Class labels give Bernoulli models of "class k or not"; a matrix of class
    counts gives binomial models of the k-th count out of the row's total.
    Frequency weights carry over; offsets do not (they belong to the
    multinomial's K − 1 linear predictors).
    """
    classes = model.classes
    if classes is None:
        raise InputError("one_vs_rest needs a categorical model (family='categorical')")
    if model.offset is not None:
        raise InputError("one-vs-rest does not take the multinomial model's offset; refit "
                         "without it")
    exog: Any
    if isinstance(model.exog, StructuredDesign):  # factors stay codes; names travel along
        exog = dataclasses.replace(model.exog, names=tuple(model.exog_names))
    else:
        exog = pd.DataFrame(model.exog, columns=model.exog_names, index=model.row_index)
    fits = {}
    for label in classes.labels:
        k = classes.internal.index(label)
        if model.endog.ndim == 2:
            binary = type(model)(model.endog[:, k], exog, family="binomial", weights=model.weights,
                         trials=model.endog.sum(axis=1))
        else:
            binary = type(model)((model.endog == k).astype(float), exog, family="bernoulli",
                         weights=model.weights)
        binary.endog_name = f"{model.endog_name} == {label!r}"
        binary.row_index = model.row_index
        if model.formula is not None:  # same design, so predict(new_data) works
            binary.formula = dataclasses.replace(
                model.formula, response=Response(binary.endog_name))
        binary._constant = model._constant
        fits[label] = binary.fit(**fit_kwargs)
    return OneVsRest(fits)
