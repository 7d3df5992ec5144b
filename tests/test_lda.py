"""The shared-covariance Gaussian classifier: references, properties, inference, errors."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import softmax

import expfam as ef
from expfam.comparison.compare import scores
from expfam.inference.lda_coefficients import implied_coefficients, implied_covariance
from validation.lda_cases import CASES, compare

matplotlib.use("Agg")


def simulate(n: int, p: int, k: int, seed: int, shift: float = 0.0):
    rng = np.random.default_rng(seed)
    y = np.r_[np.arange(k), np.arange(k), rng.integers(0, k, n - 2 * k)]
    means = rng.normal(0, 1, (k, p))
    x = rng.standard_normal((n, p)) @ rng.normal(0, 0.5, (p, p)) + means[y] + np.eye(p)[0]
    return y, x + shift


# -- references -------------------------------------------------------------------
@pytest.mark.parametrize("name", list(CASES))
def test_agrees_with_sklearn_and_r(name):
    table = compare(CASES[name])
    assert set(table["reference"]) == {"sklearn (mle)", "R MASS::lda (unbiased)"}
    failed = table[~table["ok"]]
    assert failed.empty, "\n" + failed.to_string()


def test_box_m_agrees_with_statsmodels():
    from statsmodels.stats.multivariate import test_cov_oneway

    iris = ef.datasets.load("iris")
    x = iris.drop(columns="species")
    covs = [x[iris.species == s].cov().to_numpy() for s in iris.species.cat.categories]
    ref = test_cov_oneway(covs, [50, 50, 50])
    box = ef.LDA(iris.species, x).fit().box_m()
    assert box["chi2"] == pytest.approx(ref.statistic_chi2, rel=1e-10)
    assert box["p_value"] == pytest.approx(ref.pvalue_chi2, rel=1e-8)
    assert box["df"] == ref.df_chi2


def test_shrinkage_matches_sklearn():
    from sklearn.covariance import ledoit_wolf_shrinkage
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    iris = ef.datasets.load("iris")
    y, x = iris.species, iris.drop(columns="species")
    fixed = ef.LDA(y, x, shrinkage=0.3).fit()
    sk = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=0.3).fit(x, y)
    np.testing.assert_allclose(fixed.covariance, sk.covariance_, rtol=1e-12)
    np.testing.assert_allclose(fixed.predict_proba(x), sk.predict_proba(x), atol=1e-12)
    # Ledoit–Wolf on the pooled within-class deviations (scikit-learn's "auto"
    # shrinks each class separately instead, so it is not the reference here).
    lw = ef.LDA(y, x, shrinkage="ledoit-wolf").fit()
    centred = x.to_numpy() - lw.means.loc[y].to_numpy()
    assert lw.shrinkage == pytest.approx(
        ledoit_wolf_shrinkage(centred, assume_centered=True), rel=1e-10)


# -- properties ---------------------------------------------------------------------
@given(seed=st.integers(0, 2**31), p=st.integers(1, 4), k=st.integers(2, 4))
def test_implied_logistic_params_reproduce_the_posterior(seed, p, k):
    y, x = simulate(60, p, k, seed)
    res = ef.LDA(y, x).fit()
    params = np.asarray(res.logistic_params()).reshape(p + 1, k - 1)
    eta = np.column_stack([np.zeros(len(x)), params[0] + x @ params[1:]])
    np.testing.assert_allclose(res.predict_proba(x).to_numpy(), softmax(eta, axis=1),
                               atol=1e-12)
    log_odds = res.decision_function(x)
    assert np.shape(log_odds) == ((60,) if k == 2 else (60, k))


@given(seed=st.integers(0, 2**31), p=st.integers(1, 3), k=st.integers(2, 4),
       estimated=st.booleans(), alpha=st.sampled_from([0.0, 0.3, 1.0]))
def test_delta_method_matches_a_numerical_jacobian(seed, p, k, estimated, alpha):
    rng = np.random.default_rng(seed)
    priors = rng.dirichlet(np.full(k, 3.0))
    means = rng.normal(0, 1, (k, p))
    root = rng.normal(0, 0.5, (p, p))
    cov = root @ root.T + np.eye(p)  # eigenvalues >= 1: well conditioned, FD stays exact
    n, counts = 500.0, 500.0 * priors

    def theta(vec: np.ndarray) -> np.ndarray:
        pri = vec[:k]
        mu = vec[k: k + k * p].reshape(k, p)
        s = vec[k + k * p:].reshape(p, p)
        s = (s + s.T) / 2
        shrunk = (1 - alpha) * s + alpha * np.trace(s) / p * np.eye(p)
        return implied_coefficients(pri, mu, np.linalg.inv(shrunk)).reshape(-1, order="F")

    point = np.r_[priors, means.ravel(), cov.ravel()]
    jac = np.empty((theta(point).size, point.size))
    for i in range(point.size):
        h = 1e-6 * max(1.0, abs(point[i]))
        e = np.zeros_like(point)
        e[i] = h
        jac[:, i] = (theta(point + e) - theta(point - e)) / (2 * h)
    # Covariance of the inputs: priors (multinomial), means Σ/n_k, vec Σ (Gaussian).
    var = np.zeros((point.size, point.size))
    if estimated:
        var[:k, :k] = (np.diag(priors) - np.outer(priors, priors)) / n
    for c in range(k):
        var[k + c * p: k + (c + 1) * p, k + c * p: k + (c + 1) * p] = cov / counts[c]
    idx = k + k * p
    for a in range(p):
        for b in range(p):
            for c in range(p):
                for d in range(p):
                    var[idx + a * p + b, idx + c * p + d] = (cov[a, c] * cov[b, d]
                                                             + cov[a, d] * cov[b, c]) / n
    expected = jac @ var @ jac.T
    shrunk = (1 - alpha) * cov + alpha * np.trace(cov) / p * np.eye(p)
    ours = implied_covariance(priors, means, cov, np.linalg.inv(shrunk), counts, n, n,
                              estimated, alpha=alpha)
    # Central differences are good to ~1e-6 here; a wrong term would be off by O(1).
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-8 * np.abs(expected).max())


def test_shrunk_standard_errors_match_the_sampling_spread():
    # Repeated samples from a known shared-covariance model, fit with α = 0.3:
    # the delta-method SEs should match the spread of the estimates.  Monte Carlo
    # error of each spread is about 1/sqrt(2·reps) ≈ 3.5%; ignoring the shrinkage
    # in the variances overstated them by 10-20% here.
    rng = np.random.default_rng(5)
    p, k, n, reps = 3, 3, 400, 400
    means = rng.normal(0, 1, (k, p))
    root = rng.normal(0, 0.6, (p, p))
    chol = np.linalg.cholesky(root @ root.T + 0.3 * np.eye(p))
    estimates, ses = [], []
    for _ in range(reps):
        y = rng.integers(0, k, n)
        fit = ef.LDA(y, means[y] + rng.standard_normal((n, p)) @ chol.T, shrinkage=0.3).fit()
        estimates.append(np.asarray(fit.logistic_params()).ravel())
        ses.append(np.asarray(fit.logistic_bse()).ravel())
    ratio = np.mean(ses, axis=0) / np.std(estimates, axis=0, ddof=1)
    assert abs(ratio.mean() - 1) < 0.05
    assert np.abs(ratio - 1).max() < 0.12


def test_weights_equal_replicated_rows_and_row_order_is_irrelevant(rng):
    y, x = simulate(80, 3, 3, 1)
    w = rng.integers(1, 4, len(y)).astype(float)
    weighted = ef.LDA(y, x, weights=w, covariance="unbiased").fit()
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    replicated = ef.LDA(y[rows], x[rows], covariance="unbiased").fit()
    for attr in ("priors", "means", "covariance"):
        np.testing.assert_allclose(getattr(weighted, attr), getattr(replicated, attr),
                                   rtol=1e-12)
    np.testing.assert_allclose(weighted.logistic_cov_params(),
                               replicated.logistic_cov_params(), rtol=1e-10)
    order = rng.permutation(len(y))
    shuffled = ef.LDA(y[order], x[order]).fit()
    np.testing.assert_allclose(shuffled.covariance, ef.LDA(y, x).fit().covariance, rtol=1e-12)


def test_large_feature_means_do_not_cost_accuracy():
    # Σ w x xᵀ − n m mᵀ would lose every digit here; the merged centred scatter
    # loses only the digits of the shift itself (1e8 · ε ≈ 2e-8).
    y, x = simulate(20_000, 3, 3, 2)
    plain = ef.LDA(y, x).fit()
    shifted = ef.LDA(y, x + 1e8).fit()
    np.testing.assert_allclose(shifted.covariance, plain.covariance, rtol=1e-6)
    np.testing.assert_allclose(shifted.means - 1e8, plain.means, atol=1e-6)


def test_formula_layout_matches_logit_and_mnlogit():
    pima = ef.datasets.load("pima")
    formula = "diabetes ~ glucose + bmi + pedigree"
    gen = ef.lda(formula, pima).fit()
    disc = ef.logit(formula, pima).fit()
    assert isinstance(gen.logistic_params(), pd.Series)
    assert list(gen.logistic_params().index) == list(disc.params.index)
    assert list(gen.logistic_bse().index) == list(disc.bse.index)
    # Both estimate the same function: the coefficients are within a few SEs.
    gap = (gen.logistic_params() - disc.params).abs() / disc.bse
    assert gap.max() < 3
    anes = ef.datasets.load("anes96")
    formula = "party ~ self_lr + age"
    gen3, disc3 = ef.lda(formula, anes).fit(), ef.mnlogit(formula, anes).fit()
    assert gen3.logistic_params().shape == disc3.params.shape
    assert list(gen3.logistic_params().columns) == list(disc3.params.columns)
    assert list(gen3.logistic_cov_params().index) == list(disc3.cov_params().index)
    proba = gen3.predict_proba(anes.head())
    assert list(proba.columns) == list(anes.party.cat.categories)


def test_priors_at_prediction_time_equal_a_refit_with_them():
    iris = ef.datasets.load("iris")
    y, x = iris.species, iris.drop(columns="species")
    priors = {"setosa": 0.2, "versicolor": 0.3, "virginica": 0.5}
    refit = ef.LDA(y, x, priors=priors).fit()
    override = ef.LDA(y, x).fit().predict_proba(x, priors=priors)
    np.testing.assert_allclose(refit.predict_proba(x), override, atol=1e-14)
    assert refit.priors["virginica"] == 0.5


def test_bad_input_says_what_to_do():
    x = np.random.default_rng(0).standard_normal((7, 2))
    with pytest.raises(ef.InputError, match=r"'c'.* fewer than two rows"):
        ef.LDA(["a", "a", "a", "b", "b", "b", "c"], x).fit()
    with pytest.raises(ef.InputError, match="sum to one"):
        ef.LDA([0, 0, 0, 1, 1, 1, 1], x, priors=[0.5, 0.6])
    with pytest.raises(ef.InputError, match="unknown \\['z'\\]"):
        ef.LDA([0, 0, 0, 1, 1, 1, 1], x, priors={0: 0.5, "z": 0.5})
    with pytest.raises(ef.InputError, match="shrinkage"):
        ef.LDA([0, 0, 0, 1, 1, 1, 1], x, shrinkage=2.0)
    twice = np.column_stack([x, 2 * x[:, 0]])
    with pytest.raises(ef.RankDeficientError, match="shrinkage") as err:
        ef.LDA([0, 0, 0, 1, 1, 1, 1], twice).fit()
    assert "'x3' is a linear combination of 'x1'" in str(err.value)
    assert ".." not in str(err.value) and "design matrix" not in str(err.value)
    assert err.value.aliased == {"x3": ["x1"]}
    fitted = ef.LDA([0, 0, 0, 1, 1, 1, 1], twice, shrinkage=0.1).fit()
    assert np.all(np.isfinite(fitted.predict_proba(twice)))


# -- held-out scores (ef.compare is tested in test_compare.py) -------------------------
def test_scores_against_sklearn():
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    rng = np.random.default_rng(3)
    truth = pd.Series(rng.choice(["a", "b"], 200))
    p = rng.uniform(0.01, 0.99, 200)
    proba = pd.DataFrame({"a": 1 - p, "b": p})
    found = scores(proba, truth)
    assert found["log_loss"] == pytest.approx(log_loss(truth, proba.to_numpy()), rel=1e-12)
    assert found["brier"] == pytest.approx(brier_score_loss(truth == "b", p), rel=1e-12)
    assert found["auc"] == pytest.approx(roc_auc_score(truth == "b", p), rel=1e-12)


# -- new rows ------------------------------------------------------------------------
def test_new_columns_are_matched_by_name():
    iris = ef.datasets.load("iris")
    x = iris.drop(columns="species")
    fit = ef.LDA(iris.species, x).fit()
    with pytest.raises(ef.InputError, match="different order"):
        fit.predict_proba(x[x.columns[::-1]])
    with pytest.raises(ef.InputError, match=r"lack \['petal_width'\]"):
        fit.predict_proba(x.drop(columns="petal_width"))
    with pytest.raises(ef.InputError, match=r"lack \['petal_width'\] and have unknown"):
        fit.transform(x.rename(columns={"petal_width": "pw"}))
    reordered = x[x.columns[::-1]]
    np.testing.assert_array_equal(fit.predict_proba(reordered[list(x.columns)]),
                                  fit.predict_proba())
    # Arrays have no names, so they go by position; so do models fit without names.
    np.testing.assert_array_equal(fit.predict_proba(x.to_numpy()), fit.predict_proba())
    unnamed = ef.LDA(iris.species, x.to_numpy()).fit()
    np.testing.assert_array_equal(unnamed.predict_proba(x), fit.predict_proba())


def test_missing_values_in_new_rows_are_not_predicted():
    iris = ef.datasets.load("iris")
    formula = "species ~ sepal_length + petal_length"
    fit = ef.lda(formula, iris).fit()
    new = iris.head(5).copy()
    new.loc[2, "sepal_length"] = np.nan
    complete = fit.predict_proba(iris.head(5))
    proba = fit.predict_proba(new)
    assert proba.loc[2].isna().all()
    np.testing.assert_array_equal(proba.drop(index=2), complete.drop(index=2))
    with pytest.warns(ef.SeparationWarning):  # setosa is separated by petal length
        disc = ef.mnlogit(formula, iris).fit()
    assert (disc.predict(new).isna().any(axis=1) == proba.isna().any(axis=1)).all()
    labels = fit.predict(new)
    assert pd.isna(labels[2]) and not labels.drop(index=2).isna().any()
    assert fit.decision_function(new).loc[2].isna().all()
    assert fit.transform(new).loc[2].isna().all()
    assert not fit.transform(new).drop(index=2).isna().any().any()
    # Features given as an array: a NaN row is not predicted either.
    arrays = ef.LDA(iris.species, iris[["sepal_length", "petal_length"]]).fit()
    assert pd.isna(arrays.predict(new[["sepal_length", "petal_length"]])[2])


def test_unseen_levels_raise_or_give_nan():
    rng = np.random.default_rng(4)
    data = pd.DataFrame({"y": rng.choice(["a", "b"], 60), "x": rng.normal(size=60),
                         "g": rng.choice(["u", "v"], 60)})
    fit = ef.lda("y ~ x + g", data).fit()
    new = data.head(3).copy()
    new.loc[1, "g"] = "w"
    with pytest.raises(ef.InputError, match=r"'w'.*unseen='nan'"):
        fit.predict_proba(new)
    proba = fit.predict_proba(new, unseen="nan")
    assert proba.loc[1].isna().all() and not proba.drop(index=1).isna().any().any()
    assert fit.decision_function(new, unseen="nan").isna().tolist() == [False, True, False]
    assert pd.isna(fit.predict(new, unseen="nan")[1])


# -- Box's M when a class covariance is singular -------------------------------------
def test_box_m_is_unavailable_when_a_class_covariance_is_singular():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(40, 4))
    y = np.r_[[0] * 37, [1] * 3]
    with pytest.warns(ef.DataWarning, match=r"class 1 \(3 rows for 4 features"):
        box = ef.LDA(y, x).fit().box_m()
    assert np.isnan(box[["M", "chi2", "p_value"]]).all() and box["df"] == 10
    collinear = x.copy()
    collinear[:20, 1] = collinear[:20, 0]  # collinear within class 0 only
    with pytest.warns(ef.DataWarning, match="class 0 .*collinear"):
        assert np.isnan(ef.LDA(np.r_[[0] * 20, [1] * 20], collinear).fit().box_m()["M"])
