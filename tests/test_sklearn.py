"""expfam.sklearn: scikit-learn's estimator checks, model selection, and the
numbers against statsmodels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import estimator_checks_generator

import expfam as ef
from expfam.sklearn import GLMClassifier, GLMRegressor, LDAClassifier

P_OVER_N = ("15 rows and 30 features: the design is rank deficient and the classes are "
            "separated, so the maximum-likelihood estimates do not exist and the fits "
            "with weights and with repeated rows end at different points")
SINGULAR = ("the check's features are constant within classes (or outnumber the rows): the "
            "pooled covariance is singular and LDA refuses it, naming the features; "
            "LDAClassifier(shrinkage=...) passes")


def _name(check):
    return getattr(check, "func", check).__name__


def _expected(estimator):
    if isinstance(estimator, GLMClassifier):
        return {"check_sample_weight_equivalence_on_dense_data": P_OVER_N}
    if isinstance(estimator, LDAClassifier) and estimator.shrinkage is None:
        return {name: SINGULAR for name in (
            "check_sample_weights_shape", "check_sample_weights_not_overwritten",
            "check_sample_weight_equivalence_on_dense_data")}
    return {}


ESTIMATORS = [GLMClassifier(), GLMRegressor(), GLMRegressor(family="poisson"), LDAClassifier(),
              LDAClassifier(shrinkage=0.5)]
#: scikit-learn's checks, less the array-API one, which needs SCIPY_ARRAY_API set
#: before scipy is imported (it would only skip).
CHECKS = [pytest.param(est, check, id=f"{est!r}-{_name(check)}",
                       marks=[pytest.mark.xfail(reason=_expected(original)[_name(check)],
                                                strict=True)]
                       if _name(check) in _expected(original) else [])
          for original in ESTIMATORS
          for est, check in estimator_checks_generator(original, mark=None)
          if _name(check) != "check_array_api_input"]


@pytest.mark.parametrize(("estimator", "check"), CHECKS)
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        # The checks' data are often separated or rank deficient: the warnings
        # are right, and tested below.
        warnings.simplefilter("ignore", ef.ExpfamWarning)
        check(estimator)


@pytest.fixture(scope="module")
def cars():
    return ef.datasets.load("mtcars")


def test_classifier_is_the_package_fit_and_agrees_with_statsmodels(cars):
    X, y = cars[["hp", "wt"]], cars["am"]
    clf = GLMClassifier().fit(X, y)
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0)
    np.testing.assert_allclose(clf.coef_[0], ref.params[["hp", "wt"]], rtol=1e-6)
    np.testing.assert_allclose(clf.intercept_, [ref.params["const"]], rtol=1e-6)
    np.testing.assert_allclose(clf.result_.bse.to_numpy(), ref.bse.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], ref.predict(sm.add_constant(X)),
                               rtol=1e-6)
    assert list(clf.result_.params.index) == ["Intercept", "hp", "wt"]
    assert clf.score(X, y) == np.mean(clf.predict(X) == y)
    assert "hp" in str(clf.result_.summary())


def test_multiclass_classifier_is_reference_coded_and_agrees_with_mnlogit():
    anes = ef.datasets.load("anes96")
    X, y = anes[["self_lr", "age"]], anes["party"].astype(str)
    clf = GLMClassifier().fit(X, y)
    assert list(clf.classes_) == sorted(y.unique())
    assert clf.coef_.shape == (7, 2) and np.all(clf.coef_[0] == 0)
    codes = pd.Categorical(y, categories=clf.classes_).codes
    ref = sm.MNLogit(codes, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12)
    np.testing.assert_allclose(clf.coef_[1:], ref.params.to_numpy()[1:].T, rtol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict(sm.add_constant(X)),
                               rtol=1e-6)
    eta = clf.decision_function(X)
    np.testing.assert_allclose(eta, X.to_numpy() @ clf.coef_.T + clf.intercept_, atol=1e-9)


def test_regressor_takes_the_family_and_agrees_with_statsmodels():
    breaks = ef.datasets.load("warpbreaks").assign(b=lambda d: (d["wool"] == "B") * 1.0,
                                                   m=lambda d: (d["tension"] == "M") * 1.0)
    X, y = breaks[["b", "m"]], breaks["breaks"]
    reg = GLMRegressor(family="poisson").fit(X, y)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit()
    np.testing.assert_allclose(reg.coef_, ref.params[["b", "m"]], rtol=1e-6)
    np.testing.assert_allclose(reg.predict(X), ref.fittedvalues, rtol=1e-6)
    np.testing.assert_allclose(reg.result_.llf, ref.llf, rtol=1e-9)
    # The canonical link by name is the default fit (other links pass to ef.GLM).
    same = GLMRegressor(family="poisson", link="log").fit(X, y)
    np.testing.assert_array_equal(same.coef_, reg.coef_)


def test_lda_classifier_is_the_package_lda():
    pima = ef.datasets.load("pima")
    X, y = pima[["glucose", "bmi"]], pima["diabetes"]
    clf = LDAClassifier().fit(X, y)
    gen = ef.lda("diabetes ~ glucose + bmi", pima).fit()
    np.testing.assert_allclose(clf.predict_proba(X), gen.predict_proba(pima), rtol=1e-12)
    np.testing.assert_allclose(clf.coef_[0], gen.logistic_params()[["glucose", "bmi"]],
                               rtol=1e-12)
    assert list(clf.predict(X)) == list(gen.predict(pima))
    assert clf.transform(X).shape == (len(X), 1)


def test_pipeline_grid_search_cross_validation_and_pandas_output(cars):
    X, y = cars[["hp", "wt"]], cars["am"]
    pipe = make_pipeline(StandardScaler().set_output(transform="pandas"), GLMClassifier())
    pipe.fit(X, y)
    # Names pass through the pandas output into the fit's own summary.
    assert list(pipe[-1].result_.params.index) == ["Intercept", "hp", "wt"]
    assert list(pipe[-1].feature_names_in_) == ["hp", "wt"]
    iris = ef.datasets.load("iris")
    lda = make_pipeline(StandardScaler(), LDAClassifier()).set_output(transform="pandas")
    coords = lda[:-1].fit_transform(iris.iloc[:, :4])
    assert isinstance(coords, pd.DataFrame)
    out = LDAClassifier().set_output(transform="pandas").fit(
        iris.iloc[:, :4], iris["species"]).transform(iris.iloc[:, :4])
    assert list(out.columns) == ["ldaclassifier0", "ldaclassifier1"]
    scores = cross_val_score(LDAClassifier(), iris.iloc[:, :4], iris["species"], cv=5)
    assert scores.mean() > 0.9
    search = GridSearchCV(LDAClassifier(), {"covariance": ["mle", "unbiased"]}, cv=3)
    search.fit(iris.iloc[:, :4], iris["species"])
    assert search.best_estimator_.result_.nobs == 150
    twin = clone(GLMClassifier(method="lbfgs", cov_type="HC0"))
    assert twin.get_params()["cov_type"] == "HC0" and not hasattr(twin, "result_")


def _separable(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    return x, (x[:, 0] > 0).astype(int)


def test_separation_is_reported_once_per_search():
    X, y = _separable()
    search = GridSearchCV(GLMClassifier(), {"fit_intercept": [True, False]}, cv=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    separation = [w for w in caught if issubclass(w.category, ef.SeparationWarning)]
    assert len(separation) == 1  # 7 separated fits (6 folds and the refit), one warning
    assert "cross-validation search" in str(separation[0].message)
    # The next search reports again, and so does a fit of its own, every time.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cross_val_score(GLMClassifier(), X, y, cv=3)
        GLMClassifier().fit(X, y)
        GLMClassifier().fit(X, y)
    separation = [w for w in caught if issubclass(w.category, ef.SeparationWarning)]
    assert len(separation) == 3
    assert search.best_estimator_.result_.separation.separated


def test_unfitted_and_one_class_errors(cars):
    with pytest.raises(ValueError, match="two classes"):
        GLMClassifier().fit(cars[["hp"]], np.ones(len(cars)))
    with pytest.raises(ef.InputError, match="cov_type"):
        GLMClassifier(cov_type="bad").fit(cars[["hp"]], cars["am"])
