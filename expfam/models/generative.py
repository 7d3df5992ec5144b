"""What every generative classifier here shares: data in, posteriors out, and the
discriminative twin.

A generative classifier models P(x | y = k) and P(y = k) = π_k and classifies
by Bayes' rule.  When every class's features come from one exponential family
with a shared base measure h(x),

    log P(x | k) = η_kᵀ T(x) − A(η_k) + log h(x),

the log posterior odds against the first class are linear in the sufficient
statistics, b_k + (η_k − η_0)ᵀ T(x) with b_k = log π_k/π_0 − A(η_k) + A(η_0):
the posterior is a softmax on T(x).  Logistic (multinomial) regression on the
same T(x) columns — the *discriminative twin* — fits that function set
directly.  :class:`GenerativeResults` gives both views: ``predict_proba``
from the class densities, and ``logistic_params()`` with delta-method
standard errors (:mod:`expfam.inference.generative_delta`) in the layout of
``logit`` / ``mnlogit`` params, plus :meth:`GenerativeResults.fit_twin`.

Subclasses supply the class log densities, the parameter vector φ with its
sampling covariance, and the map φ → coefficients on T(x).
"""

from __future__ import annotations

import warnings
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from expfam._typing import BoolArray, FloatArray
from expfam.design.arrays import as_design, as_rows, check_exog_finite, default_names
from expfam.design.formula import FormulaTerms, model_frame
from expfam.design.response import Classes, class_response
from expfam.errors import InputError
from expfam.families import Categorical
from expfam.inference.classify import most_probable
from expfam.inference.generative_delta import delta_covariance
from expfam.inference.results import GLMResults
from expfam.models.glm import GLM
from expfam.models.lda import _checked_priors, feature_rows

__all__ = ["GenerativeModel", "GenerativeResults"]


class GenerativeModel:
    """Class labels and a feature matrix, from arrays or a formula.

    Parameters
    ----------
    endog : array-like, shape (n,)
        Class labels; the first level is the reference of ``logistic_params``.
    exog : array-like, shape (n, p)
        Features, without a constant column.
    priors : array-like or dict, optional
        Class priors (label order, or ``{label: prior}``); default the class
        proportions.
    weights : array-like, shape (n,), optional
        Frequency weights: a weight of 2 is the row twice.
    """

    kind = "generative classifier"

    def __init__(self, endog: ArrayLike, exog: ArrayLike, priors: Any = None,
                 weights: ArrayLike | None = None) -> None:
        design, names = as_design(exog)
        if not isinstance(design, np.ndarray):
            raise InputError(f"{type(self).__name__} needs dense features: give an array or "
                             "DataFrame, not a sparse matrix")
        self.exog = design
        n, p = self.exog.shape
        if n == 0:
            raise InputError(f"no rows: {self.kind} needs data")
        if p == 0:
            raise InputError(f"{self.kind} needs at least one feature")
        self.exog_names = list(names) if names is not None else default_names(p, [])
        self.names_given = names is not None
        check_exog_finite(self.exog, self.exog_names)
        codes, self.classes, _ = class_response(endog, None, n)
        self.codes = codes.astype(np.int64)
        self.weights = as_rows(weights, "weights", n, nonnegative=True)
        self.priors = None if priors is None else _checked_priors(priors, self.classes)
        self.formula: FormulaTerms | None = None
        self.data: pd.DataFrame | None = None
        self.endog_name = getattr(endog, "name", None) or "y"
        self.row_index = exog.index if isinstance(exog, pd.DataFrame) else None

    @classmethod
    def _from_frame(cls, formula: str, data: pd.DataFrame, weights: ArrayLike | str | None,
                    missing: str, **options: Any) -> Any:
        frame = model_frame(formula, data, weights=weights, missing=missing,
                            labelled_response="classes")
        assert isinstance(frame.exog, pd.DataFrame)  # model_frame's dense design
        features = frame.exog.drop(columns=["Intercept"], errors="ignore")
        model = cls(frame.endog, features, weights=frame.weights, **options)
        model.formula = frame.terms
        model.endog_name = frame.terms.response.name
        model.data = data.loc[features.index]
        return model

    def class_weights(self) -> FloatArray:
        """n_k, the (weighted) rows of each class, shape (K,)."""
        w = np.ones(len(self.codes)) if self.weights is None else self.weights
        return np.bincount(self.codes, weights=w,
                           minlength=len(self.classes.labels)).astype(np.float64)

    def check_class_sizes(self, least: int = 2) -> None:
        counts = self.class_weights()
        small = [label for label, c in zip(self.classes.labels, counts, strict=True)
                 if c < least]
        if small:
            raise InputError(f"class(es) {', '.join(map(repr, small))} have fewer than "
                             f"{least} rows (by weight): a class's parameters need at least "
                             f"{least}; drop or merge those classes")


class GenerativeResults:
    """A fitted generative classifier (the shared behaviour; see the module docstring).

    Subclasses set ``model``, ``_priors`` (K,) and implement
    :meth:`_log_density`, :meth:`_parameters`, :meth:`_coefficients`,
    :meth:`twin_names` and :meth:`_twin_columns`.
    """

    model: GenerativeModel
    _priors: FloatArray
    nobs: float

    # -- what a subclass provides ------------------------------------------
    def _log_density(self, x: FloatArray) -> FloatArray:
        """log P(x | k) up to a term shared by all classes: shape (n, K)."""
        raise NotImplementedError

    def _parameters(self) -> tuple[FloatArray, FloatArray]:
        """φ, the estimated parameters, and their asymptotic covariance."""
        raise NotImplementedError

    def _coefficients(self, phi: np.ndarray) -> np.ndarray:
        """The softmax coefficients on [1, T(x)] implied by φ, shape (q + 1, K − 1)
        (analytic in φ: it is differentiated by the complex step)."""
        raise NotImplementedError

    def twin_names(self) -> list[str]:
        """Names of the sufficient-statistic columns T(x), without the intercept."""
        raise NotImplementedError

    def _twin_columns(self, x: FloatArray) -> FloatArray:
        """T(x) for feature rows x: shape (n, q)."""
        raise NotImplementedError

    # -- posteriors ---------------------------------------------------------
    def _design(self, exog: Any, unseen: str = "raise"
                ) -> tuple[FloatArray, pd.Index | None, BoolArray]:
        """Read as :meth:`LDAResults.predict_proba` reads new rows: :func:`feature_rows`."""
        return feature_rows(self.model, exog, unseen)

    def _log_odds(self, exog: Any, priors: Any, unseen: str
                  ) -> tuple[FloatArray, pd.Index | None, BoolArray]:
        x, index, valid = self._design(exog, unseen)
        pri = self._priors if priors is None else _checked_priors(priors, self.model.classes)
        # Placeholder rows are evaluated at a valid row's values and masked after.
        safe = np.where(valid[:, None], x, x[valid][0] if valid.any() else 0.0)
        joint = self._log_density(safe) + np.log(pri)
        return joint[:, 1:] - joint[:, :1], index, valid

    def decision_function(self, exog: Any = None, priors: Any = None,
                          unseen: str = "raise") -> pd.Series | pd.DataFrame:
        """Log posterior odds against the first class: (n,) for two classes, else
        (n, K) with 0 in the first class's column.  Arguments as :meth:`predict_proba`."""
        eta, index, valid = self._log_odds(exog, priors, unseen)
        eta = np.where(valid[:, None], eta, np.nan)
        if eta.shape[1] == 1:
            return pd.Series(eta[:, 0], index=index, name="log_odds")
        full = np.column_stack([np.where(valid, 0.0, np.nan), eta])
        return pd.DataFrame(full, index=index,
                            columns=pd.Index(self.model.classes.labels, name="class"))

    def predict_proba(self, exog: Any = None, priors: Any = None,
                      unseen: str = "raise") -> pd.DataFrame:
        """Posterior class probabilities, shape (n, K), columns the class labels.

        Parameters
        ----------
        exog : DataFrame or array-like, optional
            New rows (default the training rows): for a formula model a DataFrame
            with the formula's columns; otherwise the features, matched by name
            when the model's features were named.  Rows with a missing value get NaN.
        priors : array-like or dict, optional
            Priors to use instead of the fitted ones.
        unseen : {"raise", "nan"}
            For a formula model, a categorical level not seen in fitting raises,
            or with ``"nan"`` gives NaN for that row.
        """
        eta, index, valid = self._log_odds(exog, priors, unseen)
        prob = Categorical().class_probabilities(np.where(valid[:, None], eta, 0.0))
        prob = np.where(valid[:, None], prob, np.nan)
        return pd.DataFrame(prob, index=index,
                            columns=pd.Index(self.model.classes.labels, name="class"))

    def predict(self, exog: Any = None, priors: Any = None,
                unseen: str = "raise") -> pd.Series:
        """The most probable class of each row (missing where the row cannot be
        predicted).  Arguments as :meth:`predict_proba`."""
        return most_probable(self.predict_proba(exog, priors, unseen))

    # -- the discriminative twin -------------------------------------------
    def _intercept_name(self) -> str:
        return "Intercept" if self.model.formula is not None else "const"

    def sufficient_statistics(self, exog: Any = None, unseen: str = "raise") -> pd.DataFrame:
        """T(x), the columns the posterior is a softmax of (no intercept), shape (n, q)."""
        x, index, valid = self._design(exog, unseen)
        values = np.where(valid[:, None], self._twin_columns(x), np.nan)
        return pd.DataFrame(values, index=index, columns=self.twin_names())

    def logistic_params(self) -> pd.Series | pd.DataFrame:
        """The implied logistic (K = 2) or reference-class softmax coefficients on
        [1, T(x)], in the layout of ``logit`` / ``mnlogit`` params of the twin."""
        phi, _ = self._parameters()
        return self._as_layout(np.real(self._coefficients(phi)), "coef")

    @cached_property
    def _coefficient_covariance(self) -> FloatArray:
        phi, cov = self._parameters()
        return delta_covariance(lambda v: self._coefficients(v).reshape(-1, order="F"),
                                phi, cov)

    def logistic_cov_params(self) -> pd.DataFrame:
        """Asymptotic covariance of :meth:`logistic_params` (delta method), labelled
        like ``cov_params()`` of the twin (class-major for more than two classes)."""
        index = self._flat_index()
        return pd.DataFrame(self._coefficient_covariance, index=index, columns=index)

    def logistic_bse(self) -> pd.Series | pd.DataFrame:
        """Standard errors of :meth:`logistic_params`, in the same layout."""
        se = np.sqrt(np.diag(self._coefficient_covariance))
        terms = len(self.twin_names()) + 1
        return self._as_layout(se.reshape(terms, -1, order="F"), "std_err")

    def _flat_index(self) -> pd.Index:
        terms = [self._intercept_name(), *self.twin_names()]
        classes = self.model.classes
        if len(classes.labels) == 2:
            return pd.Index(terms, name="term")
        return pd.MultiIndex.from_product([list(classes.others), terms],
                                          names=["class", "term"])

    def _as_layout(self, values: FloatArray, name: str) -> pd.Series | pd.DataFrame:
        terms = pd.Index([self._intercept_name(), *self.twin_names()])
        classes: Classes = self.model.classes
        if len(classes.labels) == 2:
            return pd.Series(values[:, 0], index=terms, name=name)
        return pd.DataFrame(values, index=terms,
                            columns=pd.Index(list(classes.others), name="class"))

    def twin_model(self) -> GLM:
        """The discriminative twin, unfitted: logistic (K = 2) or multinomial
        regression of the class on an intercept and T(x), with the same weights."""
        model = self.model
        design = self.sufficient_statistics()
        design.insert(0, self._intercept_name(), 1.0)
        labels = model.classes.labels
        if len(labels) == 2:
            endog: Any = pd.Series((model.codes == 1).astype(np.float64), index=design.index,
                                   name=model.endog_name)
            return GLM(endog, design, family="bernoulli", weights=model.weights)
        classes = pd.Categorical.from_codes(model.codes, categories=pd.Index(list(labels)))
        endog = pd.Series(classes, index=design.index, name=model.endog_name)
        return GLM(endog, design, family="categorical", weights=model.weights)

    def fit_twin(self, quiet: bool = False, **fit_kwargs: Any) -> GLMResults:
        """Fit :meth:`twin_model` by maximum likelihood (``quiet`` silences its warnings,
        e.g. separation on a small training set)."""
        with warnings.catch_warnings():
            if quiet:
                warnings.simplefilter("ignore")
            return self.twin_model().fit(**fit_kwargs)
