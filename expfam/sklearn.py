"""scikit-learn estimators over expfam's models: ``GLMClassifier``, ``GLMRegressor``,
``LDAClassifier``.

They let a GLM or an LDA sit in a ``Pipeline``, a ``GridSearchCV`` or
``cross_val_score``, and add nothing statistical of their own: ``fit`` builds
the package's own model (:class:`expfam.GLM`, :class:`expfam.LDA`) from the
arrays, fits it, and keeps the whole result in ``result_`` (summary, standard
errors, tests); the predictions are the result's.  Unlike scikit-learn's
``LogisticRegression`` nothing is penalized by default: the estimates are
maximum likelihood, as R's ``glm``.

Separation inside a cross-validation fold is reported, not hidden: a fit on
separated data re-emits the model's :class:`~expfam.SeparationWarning`, once
per search (see :func:`_report_separation`).

A new generative classifier is one small class: subclass
:class:`_GenerativeClassifier`, list its options in ``__init__`` and build the
model in ``_model``.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from expfam.errors import SeparationWarning
from expfam.families import get_family
from expfam.inference.results import GLMResults
from expfam.models.glm import GLM
from expfam.models.lda import LDA, LDAResults

__all__ = ["GLMClassifier", "GLMRegressor", "LDAClassifier"]

#: The name of the intercept column in ``result_`` (as a formula's).
INTERCEPT = "Intercept"
#: Frames of these modules on the stack mark a search: the outermost is its key.
_SEARCH_MODULE = "sklearn.model_selection"
#: The searches (their outermost frame) that have reported separation already.
#: Only frames still on the stack are kept (pruned at every report), so an entry
#: can never be confused with a later search.
_REPORTED: list[Any] = []


def _search_frame() -> Any:
    """The outermost frame of scikit-learn's model selection on the stack (a
    ``GridSearchCV.fit``, ``cross_val_score``, ...), or None outside one."""
    frame: Any = sys._getframe(1)
    found = None
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).startswith(_SEARCH_MODULE):
            found = frame
        frame = frame.f_back
    return found


def _on_stack(target: Any) -> bool:
    frame: Any = sys._getframe(1)
    while frame is not None:
        if frame is target:
            return True
        frame = frame.f_back
    return False


def _report_separation(warning: warnings.WarningMessage, owner: str) -> None:
    """Re-emit a fit's separation warning: always for a fit of its own, once per
    search inside scikit-learn's model selection.

    Python's own "once" and "default" filters cannot do this: scikit-learn
    resets the warning filters (and with them the registry of warnings shown)
    around every fit of a search.  So the search is found on the stack instead
    and remembered while it runs.  (With ``n_jobs > 1`` the fits run in worker
    processes, which report for themselves.)
    """
    search = _search_frame()
    _REPORTED[:] = [f for f in _REPORTED if _on_stack(f)]
    if search is not None:
        if any(f is search for f in _REPORTED):
            return
        _REPORTED.append(search)
        message = (f"{owner}: {warning.message} (in a cross-validation search; further "
                   "separated fits of this search are not reported: the fitted "
                   "estimator's result_.separation says whether its data were)")
    else:
        message = f"{owner}: {warning.message}"
    warnings.warn(message, SeparationWarning, stacklevel=4)


def _fit_quietly(fit: Any, owner: str) -> Any:
    """Run ``fit()``, passing its warnings on; separation through
    :func:`_report_separation`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit()
    for w in caught:
        if issubclass(w.category, SeparationWarning):
            _report_separation(w, owner)
        else:
            warnings.warn(w.message, w.category, stacklevel=3)
    return result


def _frame(estimator: BaseEstimator, X: NDArray[np.float64], intercept: bool) -> pd.DataFrame:
    """The design as the model sees it: named columns, an intercept first."""
    names = getattr(estimator, "feature_names_in_", None)
    columns = ([str(c) for c in names] if names is not None
               else [f"x{j}" for j in range(X.shape[1])])
    frame = pd.DataFrame(X, columns=columns)
    if intercept:
        frame.insert(0, INTERCEPT if INTERCEPT not in columns else f"_{INTERCEPT}", 1.0)
    return frame


def _classes(estimator: BaseEstimator, y: NDArray[Any], weights: NDArray[np.float64] | None
             ) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """The classes (sorted, as scikit-learn's) and each row's code; at least two
    must have rows of positive weight."""
    classes, codes = np.unique(y, return_inverse=True)
    present = classes if weights is None else np.unique(y[weights > 0])
    if len(present) < 2:
        raise ValueError(f"{type(estimator).__name__} needs at least two classes with rows "
                         f"(of positive weight); y has one class only "
                         f"({', '.join(map(repr, present))})")
    return classes, codes


class _GLMEstimator(BaseEstimator):
    """What the GLM classifier and regressor share: the design, the fit, the
    coefficients."""

    fit_intercept: bool
    method: str
    cov_type: str
    tol: float | None
    max_iter: int | None

    def _fit_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"method": self.method, "cov_type": self.cov_type}
        if self.tol is not None:
            options["tol"] = self.tol
        if self.max_iter is not None:
            options["max_iter"] = self.max_iter
        return options

    def _design(self, X: Any, reset: bool) -> pd.DataFrame:
        X = validate_data(self, X, reset=reset, dtype=np.float64)
        return _frame(self, X, self.fit_intercept)

    def _set_coefficients(self, res: GLMResults, n_classes: int = 1) -> None:
        """``coef_`` (features) and ``intercept_`` from the fit's coefficients;
        aliased (not estimable) ones are NaN, as in ``result_.params``."""
        params = res.params.to_numpy(dtype=np.float64)
        params = params.reshape(len(params), -1)  # terms × non-reference classes
        if n_classes > 2:  # the reference class's coefficients are 0
            params = np.column_stack([np.zeros(len(params)), params])
        start = 1 if self.fit_intercept else 0
        coef, intercept = params[start:].T, (params[0] if self.fit_intercept
                                             else np.zeros(params.shape[-1]))
        self.n_iter_ = res.n_iter
        self.coef_ = coef if n_classes >= 2 else coef[0]
        self.intercept_ = intercept if n_classes >= 2 else float(intercept[0])


class GLMClassifier(ClassifierMixin, _GLMEstimator):
    """Logistic regression by maximum likelihood: Bernoulli for two classes,
    categorical (multinomial, against the first class) for more.

    Parameters
    ----------
    fit_intercept : bool
        Add an intercept column (named ``Intercept`` in ``result_``).
    method : str
        The solver (``"irls"``, ``"lbfgs"``, ``"gd"``, ``"sgd"``): see
        :meth:`expfam.GLM.fit`.
    penalty : {None, "firth"}
        ``"firth"``: Firth's bias-reduced likelihood (two classes), finite under
        separation.
    cov_type : str
        The covariance behind ``result_``'s standard errors: ``"nonrobust"``,
        ``"HC0"`` ... ``"HC3"``.
    tol, max_iter : optional
        The solver's tolerance and iteration limit (default its own).

    Attributes
    ----------
    classes_ : ndarray, shape (K,)
    coef_ : ndarray, shape (1, p) for two classes, (K, p) for more
        For more classes, row k holds class k's coefficients against the first
        class, whose row is 0 (the categorical family's reference coding).
    intercept_ : ndarray, shape (1,) or (K,)
    result_ : GLMResults
        The whole fit: ``result_.summary()``, ``result_.bse``, tests.
    n_features_in_, feature_names_in_
        As in scikit-learn.
    """

    def __init__(self, fit_intercept: bool = True, method: str = "irls",
                 penalty: str | None = None, cov_type: str = "nonrobust",
                 tol: float | None = None, max_iter: int | None = None) -> None:
        self.fit_intercept = fit_intercept
        self.method = method
        self.penalty = penalty
        self.cov_type = cov_type
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> GLMClassifier:
        """Fit to features ``X`` (n, p) and labels ``y`` (n,), with optional
        frequency weights ``sample_weight`` (n,)."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        weights = (None if sample_weight is None
                   else _check_sample_weight(sample_weight, X, dtype=np.float64))
        self.classes_, codes = _classes(self, y, weights)
        frame = _frame(self, X, self.fit_intercept)
        if len(self.classes_) == 2:
            endog = pd.Series(codes == 1, name=f"y == {self.classes_[1]!r}").astype(float)
            model = GLM(endog, frame, family="bernoulli", weights=weights)
        else:
            # Labels as categories in sorted order: the summary shows the user's
            # labels, against the first (the reference).
            labels = pd.Categorical.from_codes(codes, categories=pd.Index(self.classes_))
            model = GLM(pd.Series(labels, name="y"), frame, family="categorical",
                        weights=weights)
        self.result_ = _fit_quietly(
            lambda: model.fit(penalty=self.penalty, **self._fit_options()), type(self).__name__)
        self._set_coefficients(self.result_, len(self.classes_))
        return self

    def decision_function(self, X: Any) -> NDArray[np.float64]:
        """The linear predictor: (n,) for two classes, else (n, K) with 0 for the
        first class."""
        check_is_fitted(self)
        eta = self.result_.predict(self._design(X, reset=False), which="linear")
        values = np.asarray(eta, dtype=np.float64)
        if values.ndim == 2:
            values = np.column_stack([np.zeros(len(values)), values])
        return values

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Class probabilities, (n, K), columns in the order of ``classes_``."""
        check_is_fitted(self)
        return self.result_.predict_proba(self._design(X, reset=False)).to_numpy(np.float64)

    def predict_log_proba(self, X: Any) -> NDArray[np.float64]:
        """The logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> NDArray[Any]:
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class GLMRegressor(RegressorMixin, _GLMEstimator):
    """A GLM for a numeric response: Gaussian (linear regression), Poisson, ...

    Parameters
    ----------
    family : str or ExponentialFamily
        ``"gaussian"`` (default), ``"poisson"``, ``"binomial"`` (proportions) and
        the other families of :class:`expfam.GLM`.
    link : str, optional
        A non-canonical link (``"log"``, ``"identity"``, ...), passed to the
        model when given; default the family's canonical link.
    fit_intercept, method, cov_type, tol, max_iter
        As :class:`GLMClassifier`.

    Attributes
    ----------
    coef_ : ndarray, shape (p,)
    intercept_ : float
    result_ : GLMResults
    """

    def __init__(self, family: Any = "gaussian", link: str | None = None,
                 fit_intercept: bool = True, method: str = "irls",
                 cov_type: str = "nonrobust", tol: float | None = None,
                 max_iter: int | None = None) -> None:
        self.family = family
        self.link = link
        self.fit_intercept = fit_intercept
        self.method = method
        self.cov_type = cov_type
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> GLMRegressor:
        """Fit to features ``X`` (n, p) and response ``y`` (n,), with optional
        frequency weights ``sample_weight`` (n,)."""
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        weights = (None if sample_weight is None
                   else _check_sample_weight(sample_weight, X, dtype=np.float64))
        frame = _frame(self, X, self.fit_intercept)
        # The link goes to the model only when it is not the family's canonical
        # one, so that the canonical fit needs no link argument at all.
        canonical = getattr(get_family(self.family), "link_name", None)
        extra = {} if self.link in (None, canonical) else {"link": self.link}
        model = GLM(pd.Series(y, name="y"), frame, family=self.family, weights=weights,
                    **extra)
        self.result_ = _fit_quietly(lambda: model.fit(**self._fit_options()),
                                    type(self).__name__)
        self._set_coefficients(self.result_)
        return self

    def predict(self, X: Any) -> NDArray[np.float64]:
        """The predicted mean of each row."""
        check_is_fitted(self)
        return np.asarray(self.result_.predict(self._design(X, reset=False)),
                          dtype=np.float64)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        family = self.family if isinstance(self.family, str) else getattr(
            self.family, "name", "")
        tags.target_tags.positive_only = family in ("poisson", "gamma", "inverse_gaussian")
        return tags


class _GenerativeClassifier(ClassifierMixin, BaseEstimator):
    """A generative classifier of expfam's (its results have ``predict_proba``),
    as a scikit-learn classifier.  Subclasses list their options in
    ``__init__`` and build the model in :meth:`_model`; for example::

        class QDAClassifier(_GenerativeClassifier):
            def __init__(self, priors=None):
                self.priors = priors

            def _model(self, y, X, weights):
                return QDA(y, X, priors=self.priors, weights=weights)
    """

    def _model(self, y: pd.Series, X: pd.DataFrame, weights: Any) -> Any:
        raise NotImplementedError

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _GenerativeClassifier:
        """Fit to features ``X`` (n, p) and labels ``y`` (n,), with optional
        frequency weights ``sample_weight`` (n,)."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        weights = (None if sample_weight is None
                   else _check_sample_weight(sample_weight, X, dtype=np.float64))
        self.classes_, codes = _classes(self, y, weights)
        endog = pd.Series(pd.Categorical.from_codes(
            codes, categories=pd.Index(range(len(self.classes_)))), name="y")
        model = self._model(endog, _frame(self, X, intercept=False), weights)
        self.result_ = _fit_quietly(model.fit, type(self).__name__)
        return self

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Posterior class probabilities, (n, K), columns in the order of ``classes_``."""
        check_is_fitted(self)
        design = _frame(self, validate_data(self, X, reset=False, dtype=np.float64), False)
        return self.result_.predict_proba(design).to_numpy(np.float64)

    def predict_log_proba(self, X: Any) -> NDArray[np.float64]:
        """The logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> NDArray[Any]:
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class LDAClassifier(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _GenerativeClassifier):
    """Linear discriminant analysis (:class:`expfam.LDA`) as a scikit-learn
    classifier and transformer.

    Parameters
    ----------
    priors : array-like, optional
        Class priors in the order of ``classes_``; default the class proportions.
    covariance : {"mle", "unbiased"}
        Pooled covariance divided by n (as scikit-learn) or n − K (as ``MASS::lda``).
    shrinkage : float or "ledoit-wolf", optional

    Attributes
    ----------
    classes_ : ndarray, shape (K,)
    coef_ : ndarray, shape (1, p) for two classes, (K, p) for more
        The implied logistic coefficients (against the first class, whose row
        is 0 for more classes), as ``result_.logistic_params()``.
    intercept_ : ndarray, shape (1,) or (K,)
    result_ : LDAResults
        The whole fit: means, covariance, implied coefficients with standard
        errors (``result_.logistic_bse()``), Box's M.
    """

    def __init__(self, priors: Any = None, covariance: str = "mle",
                 shrinkage: float | str | None = None) -> None:
        self.priors = priors
        self.covariance = covariance
        self.shrinkage = shrinkage

    def _model(self, y: pd.Series, X: pd.DataFrame, weights: Any) -> LDA:
        priors = None if self.priors is None else np.asarray(self.priors, dtype=np.float64)
        return LDA(y, X, priors=priors, covariance=self.covariance, shrinkage=self.shrinkage,
                   weights=weights)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LDAClassifier:
        """Fit to features ``X`` (n, p) and labels ``y`` (n,), with optional
        frequency weights ``sample_weight`` (n,)."""
        super().fit(X, y, sample_weight)
        res: LDAResults = self.result_
        theta = np.asarray(res._theta(), dtype=np.float64)  # (p + 1) × (K − 1)
        if len(self.classes_) > 2:
            theta = np.column_stack([np.zeros(len(theta)), theta])
        self.coef_, self.intercept_ = theta[1:].T, theta[0]
        self._n_features_out = self.result_.scalings.shape[1]
        return self

    def decision_function(self, X: Any) -> NDArray[np.float64]:
        """Log posterior odds against the first class: (n,) for two classes,
        else (n, K) with 0 for the first."""
        check_is_fitted(self)
        design = _frame(self, validate_data(self, X, reset=False, dtype=np.float64), False)
        return self.result_.decision_function(design).to_numpy(np.float64)

    def transform(self, X: Any) -> NDArray[np.float64]:
        """Discriminant coordinates, (n, min(K − 1, p)): ``result_.transform``."""
        check_is_fitted(self)
        design = _frame(self, validate_data(self, X, reset=False, dtype=np.float64), False)
        return self.result_.transform(design).to_numpy(np.float64)
