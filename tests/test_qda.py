"""QDA and RDA: references (R, scikit-learn), the quadratic twin, delta method, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import softmax

import expfam as ef
from expfam.inference.generative_delta import delta_covariance
from expfam.inference.lda_coefficients import implied_coefficients, implied_covariance
from validation.lda_cases import CASES
from validation.qda_cases import compare


def simulate(n: int, p: int, k: int, seed: int):
    rng = np.random.default_rng(seed)
    y = np.r_[np.repeat(np.arange(k), p + 2), rng.integers(0, k, n - k * (p + 2))]
    means = rng.normal(0, 1, (k, p))
    scales = rng.uniform(0.5, 2.0, (k, p))
    return y, means[y] + rng.standard_normal((n, p)) * scales[y]


@pytest.mark.parametrize("name", list(CASES))
def test_agrees_with_mass_qda_and_sklearn(name):
    table = compare(CASES[name])
    assert set(table["reference"]) == {"R MASS::qda", "sklearn (mle)"}
    failed = table[~table["ok"]]
    assert failed.empty, "\n" + failed.to_string()


@given(seed=st.integers(0, 2**31), p=st.integers(1, 3), k=st.integers(2, 3),
       pooling=st.sampled_from([0.0, 0.4]), shrinkage=st.sampled_from([0.0, 0.3]))
def test_quadratic_logistic_params_reproduce_the_posterior(seed, p, k, pooling, shrinkage):
    y, x = simulate(60, p, k, seed)
    res = ef.QDA(y, x, pooling=pooling, shrinkage=shrinkage).fit()
    q = p + p + p * (p - 1) // 2
    assert res.twin_names()[:p] == list(res.model.exog_names)
    params = np.asarray(res.logistic_params()).reshape(q + 1, k - 1)
    t = res.sufficient_statistics(x).to_numpy()
    eta = np.column_stack([np.zeros(len(x)), params[0] + t @ params[1:]])
    np.testing.assert_allclose(res.predict_proba(x).to_numpy(), softmax(eta, axis=1),
                               atol=1e-10)


def test_rda_runs_from_qda_to_lda():
    iris = ef.datasets.load("iris")
    formula = "species ~ sepal_length + sepal_width + petal_length + petal_width"
    for covariance in ("mle", "unbiased"):
        lda = ef.lda(formula, iris, covariance=covariance).fit()
        as_lda = ef.rda(formula, iris, pooling=1.0, covariance=covariance).fit()
        np.testing.assert_allclose(as_lda.predict_proba(iris), lda.predict_proba(iris),
                                   atol=1e-12)
        for cov in as_lda.covariances.values():
            np.testing.assert_allclose(cov, lda.covariance, rtol=1e-12)
        # The quadratic terms vanish, and the linear ones are LDA's.
        params = as_lda.logistic_params()
        np.testing.assert_allclose(params.loc[lda.logistic_params().index],
                                   lda.logistic_params(), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(params.drop(index=lda.logistic_params().index), 0,
                                   atol=1e-9)
    qda = ef.qda(formula, iris).fit()
    np.testing.assert_allclose(ef.rda(formula, iris, pooling=0.0).fit().predict_proba(iris),
                               qda.predict_proba(iris), atol=1e-14)
    half = ef.rda(formula, iris, pooling=0.5, shrinkage=0.2).fit()
    s_k = qda.covariances["setosa"].to_numpy() * 50
    pooled = sum(c.to_numpy() * 50 for c in qda.covariances.values())
    blend = (0.5 * s_k + 0.5 * pooled) / (0.5 * 50 + 0.5 * 150)
    expected = 0.8 * blend + 0.2 * np.trace(blend) / 4 * np.eye(4)
    np.testing.assert_allclose(half.covariances["setosa"], expected, rtol=1e-12)


def test_complex_step_delta_method_matches_lda_closed_form():
    # The generic machinery (complex-step Jacobian) against LDA's analytic one.
    rng = np.random.default_rng(2)
    k, p, n = 3, 3, 300.0
    priors = np.array([0.2, 0.3, 0.5])
    means = rng.normal(0, 1, (k, p))
    root = rng.normal(0, 0.5, (p, p))
    cov = root @ root.T + np.eye(p)
    counts = n * priors

    def theta(v):
        s = v[k + k * p:].reshape(p, p)
        return implied_coefficients(v[:k], v[k:k + k * p].reshape(k, p),
                                    np.linalg.inv((s + s.T) / 2)).reshape(-1, order="F")

    point = np.r_[priors, means.ravel(), cov.ravel()]
    var = np.zeros((point.size, point.size))
    var[:k, :k] = (np.diag(priors) - np.outer(priors, priors)) / n
    for c in range(k):
        var[k + c * p: k + (c + 1) * p, k + c * p: k + (c + 1) * p] = cov / counts[c]
    var[k + k * p:, k + k * p:] = ef.inference.generative_delta.wishart_covariance(cov, n)
    ours = delta_covariance(theta, point, var)
    closed = implied_covariance(priors, means, cov, np.linalg.inv(cov), counts, n, n, True)
    np.testing.assert_allclose(ours, closed, rtol=1e-10, atol=1e-14)


def test_standard_errors_match_the_sampling_spread():
    # Monte Carlo error of each spread ≈ 1/sqrt(2·reps) ≈ 4%.
    rng = np.random.default_rng(7)
    p, n, reps = 2, 600, 300
    means = np.array([[0.0, 0.0], [1.0, 0.5]])
    scales = np.array([[1.0, 1.0], [1.5, 0.7]])
    estimates, ses = [], []
    for rep in range(reps):
        y = rng.integers(0, 2, n)
        fit = ef.QDA(y, means[y] + rng.standard_normal((n, p)) * scales[y]).fit()
        estimates.append(fit.logistic_params().to_numpy())
        if rep < 40:  # the SEs vary little between samples; their mean needs few
            ses.append(fit.logistic_bse().to_numpy())
    ratio = np.mean(ses, axis=0) / np.std(estimates, axis=0, ddof=1)
    assert abs(ratio.mean() - 1) < 0.06
    assert np.abs(ratio - 1).max() < 0.15


def test_twin_is_logistic_regression_on_the_quadratic_terms():
    pima = ef.datasets.load("pima")
    res = ef.qda("diabetes ~ glucose + bmi", pima).fit()
    twin = res.fit_twin()
    direct = ef.logit("diabetes ~ glucose + bmi + I(glucose ** 2) + I(bmi ** 2) + glucose:bmi",
                      pima).fit()
    np.testing.assert_allclose(twin.params.to_numpy(), direct.params.to_numpy(), rtol=1e-7)
    assert list(twin.params.index) == list(res.logistic_params().index)
    assert list(res.logistic_bse().index) == list(twin.bse.index)


def test_prediction_conventions_match_lda():
    iris = ef.datasets.load("iris")
    fit = ef.qda("species ~ sepal_length + petal_length", iris).fit()
    new = iris.head(4).copy()
    new.loc[1, "petal_length"] = np.nan
    proba = fit.predict_proba(new)
    assert list(proba.columns) == list(iris.species.cat.categories)
    assert proba.loc[1].isna().all() and not proba.drop(index=1).isna().any().any()
    labels = fit.predict(new)
    assert pd.isna(labels[1]) and (labels.drop(index=1) == "setosa").all()
    assert fit.decision_function(new).shape == (4, 3)
    priors = {"setosa": 0.2, "versicolor": 0.3, "virginica": 0.5}
    np.testing.assert_allclose(fit.predict_proba(iris, priors=priors),
                               ef.qda("species ~ sepal_length + petal_length", iris,
                                      priors=priors).fit().predict_proba(iris), atol=1e-14)
    assert "QDAResults: 3 classes, 2 features" in repr(fit)


def test_weights_equal_replicated_rows(rng):
    y, x = simulate(50, 2, 2, 3)
    w = rng.integers(1, 4, len(y)).astype(float)
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    weighted = ef.QDA(y, x, weights=w).fit()
    replicated = ef.QDA(y[rows], x[rows]).fit()
    np.testing.assert_allclose(weighted.predict_proba(x), replicated.predict_proba(x),
                               atol=1e-12)
    np.testing.assert_allclose(weighted.logistic_cov_params(),
                               replicated.logistic_cov_params(), rtol=1e-9)


def test_too_few_rows_in_a_class_suggests_rda_or_lda():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 4))
    y = np.r_[[0] * 16, [1] * 4]
    with pytest.raises(ef.InputError, match=r"class\(es\) 1 \(4 rows\).*RDA.*LDA"):
        ef.QDA(y, x).fit()
    assert np.isfinite(ef.QDA(y, x, pooling=0.5).fit().predict_proba(x).to_numpy()).all()
    with pytest.raises(ef.InputError, match="lambda"):
        ef.QDA(y, x, pooling=1.5)
    collinear = np.column_stack([x[:, :2], x[:, 0] + x[:, 1]])
    with pytest.raises(ef.RankDeficientError,
                       match=r"class 0 is singular: .x3. is a linear combination.*rda"):
        ef.QDA(y, collinear).fit()


def test_factor_features_give_a_twin_without_degenerate_columns():
    """A factor's dummies d have d² = d and pairwise products 0: the twin drops those
    columns (folding the implied x² coefficient into x), so it is of full rank, and
    the implied coefficients still reproduce QDA's posterior exactly."""
    import warnings

    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b", "c"], n)})
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-(df.x + (df.g == "b"))))).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no rank-deficiency warning from the twin
        res = ef.qda("y ~ x + g", df).fit()
        twin = res.fit_twin()
    assert res.twin_names() == ["x", "g[T.b]", "g[T.c]", "I(x ** 2)", "x:g[T.b]",
                                "x:g[T.c]"]
    assert not twin.aliased
    implied = res.logistic_params()
    eta = implied.iloc[0] + res.sufficient_statistics(df).to_numpy() @ implied.iloc[1:]
    np.testing.assert_allclose(1 / (1 + np.exp(-eta)), res.predict_proba(df).iloc[:, 1],
                               rtol=1e-12)
