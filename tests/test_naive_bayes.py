"""Naive Bayes: scikit-learn references, the exponential-family twin, delta method, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import softmax

import expfam as ef


def mixed(n: int, k: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """A Gaussian, a binary, a Poisson and two multinomial count columns."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.arange(k), np.arange(k), rng.integers(0, k, n - 2 * k)]
    x = pd.DataFrame({
        "g": rng.normal(y * 0.5, 1.0 + 0.3 * y),
        "b": (rng.uniform(size=n) < 0.3 + 0.2 * y / k).astype(int),
        "c": rng.poisson(1.0 + y),
        "m1": rng.poisson(2.0 + y, n),
        "m2": rng.poisson(3.0, n),
    })
    return y, x


FAMILIES = {"c": "poisson", "m1": "multinomial", "m2": "multinomial"}


def test_gaussian_matches_sklearn():
    from sklearn.naive_bayes import GaussianNB

    iris = ef.datasets.load("iris")
    y, x = iris.species, iris.drop(columns="species")
    for smoothing in (0.0, 1e-9, 0.1):
        ours = ef.NaiveBayes(y, x, var_smoothing=smoothing).fit()
        sk = GaussianNB(var_smoothing=smoothing).fit(x, y)
        np.testing.assert_allclose(ours.predict_proba(x), sk.predict_proba(x), atol=1e-12)
        np.testing.assert_allclose(ours.variances, sk.var_, rtol=1e-12)
        np.testing.assert_allclose(ours.means, sk.theta_, rtol=1e-12)
        assert (ours.predict(x).to_numpy() == sk.predict(x)).all()


def test_bernoulli_and_multinomial_match_sklearn():
    from sklearn.naive_bayes import BernoulliNB, MultinomialNB

    y, x = mixed(200, 3, 1)
    binary = pd.DataFrame({"a": x.b, "b": (x.c > 1).astype(int), "c": (x.g > 0).astype(int)})
    ours = ef.NaiveBayes(y, binary, alpha=1.0).fit()
    assert set(ours.families) == {"bernoulli"}
    sk = BernoulliNB(alpha=1.0).fit(binary, y)
    np.testing.assert_allclose(ours.predict_proba(binary), sk.predict_proba(binary),
                               atol=1e-12)
    counts = x[["c", "m1", "m2"]]
    ours = ef.NaiveBayes(y, counts, families="multinomial", alpha=0.5).fit()
    sk = MultinomialNB(alpha=0.5).fit(counts, y)
    np.testing.assert_allclose(ours.predict_proba(counts), sk.predict_proba(counts),
                               atol=1e-12)


def test_poisson_posterior_by_hand():
    y, x = mixed(150, 2, 2)
    fit = ef.NaiveBayes(y, x[["c"]], families="poisson").fit()
    lam = np.array([x.c[y == k].mean() for k in (0, 1)])
    prior = np.array([np.mean(y == k) for k in (0, 1)])
    log_joint = np.log(prior) + x.c.to_numpy()[:, None] * np.log(lam) - lam
    np.testing.assert_allclose(fit.predict_proba(x[["c"]]), softmax(log_joint, axis=1),
                               atol=1e-12)


@given(seed=st.integers(0, 2**31), k=st.integers(2, 4),
       variance=st.sampled_from(["class", "shared"]))
def test_logistic_params_reproduce_the_posterior(seed, k, variance):
    y, x = mixed(80, k, seed)
    res = ef.NaiveBayes(y, x, families=FAMILIES, variance=variance, alpha=1.0).fit()
    assert list(res.families) == ["gaussian", "bernoulli", "poisson", "multinomial",
                                  "multinomial"]
    t = res.sufficient_statistics(x)
    assert list(t.columns) == (["g", "b", "c", "m1", "m2"]
                               + (["I(g ** 2)"] if variance == "class" else []))
    params = np.asarray(res.logistic_params()).reshape(t.shape[1] + 1, k - 1)
    eta = np.column_stack([np.zeros(len(x)), params[0] + t.to_numpy() @ params[1:]])
    np.testing.assert_allclose(res.predict_proba(x).to_numpy(), softmax(eta, axis=1),
                               atol=1e-10)


def test_twin_is_logit_on_the_same_columns():
    pima = ef.datasets.load("pima")
    res = ef.naive_bayes("diabetes ~ glucose + bmi + age", pima).fit()
    twin = res.fit_twin()
    direct = ef.logit("diabetes ~ glucose + bmi + age + I(glucose ** 2) + I(bmi ** 2)"
                      " + I(age ** 2)", pima).fit()
    np.testing.assert_allclose(twin.params.to_numpy(), direct.params.to_numpy(), rtol=1e-7)
    assert list(res.logistic_params().index) == list(twin.params.index)
    shared = ef.naive_bayes("diabetes ~ glucose + bmi + age", pima, variance="shared").fit()
    linear = ef.logit("diabetes ~ glucose + bmi + age", pima).fit()
    assert list(shared.logistic_params().index) == list(linear.params.index)
    np.testing.assert_allclose(shared.fit_twin().params.to_numpy(), linear.params.to_numpy(),
                               rtol=1e-7)


def test_standard_errors_match_the_sampling_spread():
    # Monte Carlo error of each spread ≈ 1/sqrt(2·reps) ≈ 3.5%.
    rng = np.random.default_rng(11)
    n, reps = 500, 400
    estimates, ses = [], []
    for rep in range(reps):
        y = rng.integers(0, 2, n)
        x = pd.DataFrame({"g": rng.normal(y, 1.0 + 0.5 * y),
                          "b": (rng.uniform(size=n) < 0.3 + 0.3 * y).astype(int),
                          "c": rng.poisson(2.0 + y),
                          "m1": rng.poisson(2.0 + y), "m2": rng.poisson(3.0, n)})
        fit = ef.NaiveBayes(y, x, families=FAMILIES).fit()
        estimates.append(fit.logistic_params().to_numpy())
        if rep < 40:  # the SEs vary little between samples; their mean needs few
            ses.append(fit.logistic_bse().to_numpy())
    ratio = np.mean(ses, axis=0) / np.std(estimates, axis=0, ddof=1)
    assert abs(ratio.mean() - 1) < 0.05
    assert np.abs(ratio - 1).max() < 0.12


def test_weights_equal_replicated_rows(rng):
    y, x = mixed(60, 3, 4)
    w = rng.integers(1, 4, len(y)).astype(float)
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    weighted = ef.NaiveBayes(y, x, families=FAMILIES, weights=w, alpha=1.0).fit()
    replicated = ef.NaiveBayes(y[rows], x.iloc[rows], families=FAMILIES, alpha=1.0).fit()
    np.testing.assert_allclose(weighted.predict_proba(x), replicated.predict_proba(x),
                               atol=1e-12)
    np.testing.assert_allclose(weighted.logistic_cov_params(),
                               replicated.logistic_cov_params(), rtol=1e-9)


def test_defaults_from_the_columns():
    cars = ef.datasets.load("mtcars")
    fit = ef.naive_bayes("am ~ wt + vs + C(cyl)", cars, alpha=1.0).fit()
    assert fit.families.to_dict() == {"C(cyl)[T.6]": "bernoulli", "C(cyl)[T.8]": "bernoulli",
                                      "wt": "gaussian", "vs": "bernoulli"}
    assert "4 gaussian" not in repr(fit) and "1 gaussian" in repr(fit)


def test_bad_input_names_the_feature_and_what_to_do():
    y = np.array([0, 0, 0, 1, 1, 1])
    x = pd.DataFrame({"a": [1.0, 2.0, 3.0, 5.0, 5.0, 5.0], "b": [0, 1, 0, 1, 1, 0]})
    with pytest.raises(ef.InputError, match=r"'a' has zero variance within class 1.*"
                                            r"var_smoothing"):
        ef.NaiveBayes(y, x).fit()
    assert np.isfinite(ef.NaiveBayes(y, x, var_smoothing=1e-9).fit().predict_proba(x)
                       .to_numpy()).all()
    with pytest.raises(ef.InputError, match=r"'a' is Bernoulli but has values other than 0 "
                                            r"and 1 .e.g. 2, 3, 5"):
        ef.NaiveBayes(y, x, families={"a": "bernoulli"})
    negative = x.assign(a=[1, -2, 3, 4, 5, 6])
    for family in ("poisson", "multinomial"):
        with pytest.raises(ef.InputError, match=rf"'a' is {family} \(counts\) but has "
                                                r"negative values at 1 row\(s\), e.g. row 1"):
            ef.NaiveBayes(y, negative, families=family)
    with pytest.raises(ef.InputError, match=r"'b' is all 0 or all 1 in class 1.*alpha=1"):
        ef.NaiveBayes(y, x.assign(b=[0, 1, 0, 1, 1, 1]), var_smoothing=1e-9).fit()
    with pytest.raises(ef.InputError, match="unknown feature"):
        ef.NaiveBayes(y, x, families={"z": "poisson"})
