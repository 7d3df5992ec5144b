"""Multinomial models: formulas, re-expressing a fit against another reference class,
and one-vs-rest fits.

A multinomial logit is the categorical-family GLM: it is fit by the same IRLS
as every other family.  This module holds what is particular to many classes.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ._response import Classes
from .errors import InputError
from .formula import Response, model_frame

if TYPE_CHECKING:
    from .glm import GLM
    from .results import GLMResults
    from .separation import Separation

__all__ = ["OneVsRest", "change_reference", "mnlogit", "one_vs_rest"]


def mnlogit(formula: str, data: pd.DataFrame, reference: Any = None,
            weights: ArrayLike | str | None = None, offset: ArrayLike | str | None = None,
            missing: str = "drop") -> GLM:
    """A multinomial logit from a formula: a categorical-family GLM.

    Parameters
    ----------
    formula : str
        ``"class ~ x1 + x2"``; the response is a column of labels (strings,
        integers or a pandas Categorical, whose category order is kept).
    data : DataFrame
    reference : label, optional
        The baseline class; default the first level.
    weights, offset : str or array-like, optional
    missing : {"drop", "raise"}
    """
    from .glm import GLM

    frame = model_frame(formula, data, weights=weights, offset=offset, missing=missing,
                        labelled_response="classes")
    model = GLM(frame.endog, frame.exog, family="categorical", weights=frame.weights,
                offset=frame.offset, reference=reference)
    model.formula = frame.terms
    model._constant = [0] if frame.terms.has_intercept else []
    return model


def _transform(classes: Classes, new_reference: Any) -> np.ndarray:
    """A: the (K − 1)² map from coefficients against ``classes.reference`` (columns in
    ``classes.internal[1:]`` order) to coefficients against ``new_reference``."""
    m = len(classes.labels) - 1
    old = list(classes.internal)
    new = Classes(classes.labels, new_reference)
    a = np.zeros((m, m))
    pivot = old.index(new_reference) - 1  # column of the new reference among the old
    for row, label in enumerate(new.internal[1:]):
        if label != classes.reference:  # β'_c = β_c − β_new
            a[row, old.index(label) - 1] = 1.0
        a[row, pivot] -= 1.0  # and for the old reference, β' = −β_new
    return a


def _reexpressed_model(model: GLM, reference: Any, a: np.ndarray) -> GLM:
    """The model with its response's columns (or codes) and offset against ``reference``."""
    classes = model.classes
    assert classes is not None
    new_model = copy.copy(model)
    new_model.classes = Classes(classes.labels, reference)
    order = [classes.internal.index(c) for c in new_model.classes.internal]
    new_model.endog = (model.endog[:, order] if model.endog.ndim == 2
                       else np.argsort(order)[model.endog.astype(np.int64)].astype(float))
    if model.offset is not None:
        new_model.offset = model.offset @ a.T  # the offset is part of η, which maps like β
    return new_model


def _reexpressed_separation(separation: Separation | None,
                            a: np.ndarray) -> Separation | None:
    """The separation check's finding with its direction in the new coefficients
    (rows and terms involved do not depend on the reference)."""
    if separation is None or np.ndim(separation.direction) < 2:
        return separation
    return dataclasses.replace(separation, direction=separation.direction @ a.T)


def change_reference(res: GLMResults, reference: Any) -> GLMResults:
    """The same multinomial fit, expressed against another reference class.

    Nothing is refitted: the coefficients of class c become β_c − β_new (the old
    reference's become −β_new), the covariance transforms with the same linear
    map, and the likelihood, fitted probabilities and every test of a whole
    model are unchanged.  The result is what a refit with ``reference=`` gives:
    the same ``cov_type`` (and clusters), the same aliased columns (NaN) and the
    same separation finding.

    Parameters
    ----------
    res : GLMResults
        A fitted categorical-family model.
    reference : label
        The new baseline class.

    Returns
    -------
    GLMResults
        ``res`` itself if ``reference`` is already its reference.
    """
    from .results import GLMResults

    model = res.model
    classes = model.classes
    if classes is None:
        raise InputError("change_reference applies to categorical (multinomial) models")
    if reference not in classes.labels:
        raise InputError(f"reference={reference!r} is not a class; classes are "
                         f"{', '.join(map(repr, classes.labels))}")
    if reference == classes.reference:
        return res
    a = _transform(classes, reference)
    new_model = _reexpressed_model(model, reference, a)
    # θ' = T θ on coefficients flattened class by class; T is invertible (A is), and
    # its Kronecker form keeps an aliased term's zero rows of the Hessian zero.
    t_inv = np.linalg.inv(np.kron(a, np.eye(len(model.exog_names))))
    solver = dataclasses.replace(
        res.solver,
        coef=res.solver.coef @ a.T,
        eta=res.solver.eta @ a.T,
        hessian=t_inv.T @ res.solver.hessian @ t_inv,
    )
    moved = GLMResults(new_model, new_model.problem(), solver, res.method,
                       cov_type=res.cov_type, groups=res._groups, aliased=res.aliased)
    moved.separation = _reexpressed_separation(res.separation, a)
    return moved


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

    def predict_class(self, exog: Any = None, **kwargs: Any) -> pd.Series:
        """The class whose model gives the highest probability."""
        return self.predict(exog, **kwargs).idxmax(axis=1).rename("class")

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
    from .glm import GLM

    classes = model.classes
    if classes is None:
        raise InputError("one_vs_rest needs a categorical model (family='categorical')")
    if model.offset is not None:
        raise InputError("one-vs-rest does not take the multinomial model's offset; refit "
                         "without it")
    exog = pd.DataFrame(model.exog, columns=model.exog_names, index=model.row_index)
    fits = {}
    for label in classes.labels:
        k = classes.internal.index(label)
        if model.endog.ndim == 2:
            binary = GLM(model.endog[:, k], exog, family="binomial", weights=model.weights,
                         trials=model.endog.sum(axis=1))
        else:
            binary = GLM((model.endog == k).astype(float), exog, family="bernoulli",
                         weights=model.weights)
        binary.endog_name = f"{model.endog_name} == {label!r}"
        if model.formula is not None:  # same design, so predict(new_data) works
            binary.formula = dataclasses.replace(
                model.formula, response=Response(binary.endog_name))
        binary._constant = model._constant
        fits[label] = binary.fit(**fit_kwargs)
    return OneVsRest(fits)
