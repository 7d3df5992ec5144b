"""Results: every quantity in the API against statsmodels, prediction, and summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import expfam as ef


@pytest.fixture(scope="module")
def spector():
    data = sm.datasets.spector.load_pandas()
    exog = sm.add_constant(data.exog, prepend=True)
    return data.endog, exog


@pytest.fixture(scope="module")
def fits(spector):
    y, X = spector
    return ef.GLM(y, X).fit(), sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-12)


def test_every_statistic_matches_statsmodels(fits):
    res, ref = fits
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-6)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-5)
    np.testing.assert_allclose(res.zvalues, ref.tvalues, rtol=1e-5)
    np.testing.assert_allclose(res.tvalues, ref.tvalues, rtol=1e-5)
    np.testing.assert_allclose(res.pvalues, ref.pvalues, rtol=1e-5)
    np.testing.assert_allclose(res.conf_int(0.1), ref.conf_int(0.1), rtol=1e-5)
    np.testing.assert_allclose(res.cov_params(), ref.cov_params(), rtol=1e-5)
    for ours, theirs in [("llf", "llf"), ("llnull", "llnull"), ("deviance", "deviance"),
                         ("null_deviance", "null_deviance"), ("pearson_chi2", "pearson_chi2"),
                         ("aic", "aic"), ("bic", "bic_llf"), ("nobs", "nobs"),
                         ("df_model", "df_model"), ("df_resid", "df_resid")]:
        assert getattr(res, ours) == pytest.approx(getattr(ref, theirs), rel=1e-6), ours
    assert res.llr == pytest.approx(2 * (ref.llf - ref.llnull), rel=1e-6)
    assert res.prsquared == pytest.approx(ref.pseudo_rsquared("mcf"), rel=1e-6)
    logit = sm.Logit(res.model.endog, res.model.exog).fit(disp=0)
    assert res.llr_pvalue == pytest.approx(logit.llr_pvalue, rel=1e-5)
    for name in ("fittedvalues", "resid_response", "resid_pearson", "resid_deviance"):
        np.testing.assert_allclose(getattr(res, name), getattr(ref, name), rtol=1e-6,
                                   atol=1e-10, err_msg=name)


def test_poisson_statistics_match_statsmodels():
    data = sm.datasets.cpunish.load_pandas()
    X = sm.add_constant(data.exog.assign(INCOME=data.exog["INCOME"] / 1e4))
    ref = sm.GLM(data.endog, X, family=sm.families.Poisson()).fit(tol=1e-12)
    res = ef.GLM(data.endog, X, family="poisson").fit()
    for name in ("params", "bse", "fittedvalues", "resid_pearson", "resid_deviance"):
        np.testing.assert_allclose(getattr(res, name), getattr(ref, name), rtol=1e-5, err_msg=name)
    for name in ("llf", "llnull", "deviance", "null_deviance", "pearson_chi2", "aic"):
        assert getattr(res, name) == pytest.approx(getattr(ref, name), rel=1e-6), name


def test_null_model_without_intercept_is_the_offset_alone():
    # R: with no intercept, the null model has η = offset.
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 2))
    y = rng.poisson(2.0, 50).astype(float)
    offset = np.log(rng.uniform(1, 3, 50))
    res = ef.GLM(y, x, family="poisson", offset=offset).fit()
    expected = np.sum(y * offset - np.exp(offset)) - np.sum(np.log(
        [np.prod(np.arange(1, k + 1)) for k in y.astype(int)]))
    assert res.llnull == pytest.approx(expected, rel=1e-10)
    assert res.df_model == 2


def test_predict_on_new_data(fits, spector):
    res, ref = fits
    _, X = spector
    new = X.iloc[:5]
    np.testing.assert_allclose(res.predict(new), ref.predict(new), rtol=1e-7)
    assert res.predict(new).index.equals(new.index)
    lin = res.predict(new.to_numpy(), which="linear")
    assert isinstance(lin, np.ndarray)
    np.testing.assert_allclose(lin, new.to_numpy() @ res.params.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(res.predict(new.to_numpy(), offset=np.ones(5), which="linear"),
                               lin + 1, rtol=1e-12)
    assert res.predict().equals(res.fittedvalues)


def test_predict_checks_columns(fits, spector):
    res, _ = fits
    _, X = spector
    with pytest.raises(ef.InputError, match="has 2 columns; the model has 4"):
        res.predict(X.iloc[:, :2].to_numpy())
    with pytest.raises(ef.InputError, match="do not match"):
        res.predict(X[["GPA", "const", "TUCE", "PSI"]])
    with pytest.raises(ef.InputError, match="'mean' or 'linear'"):
        res.predict(X, which="probability")


def test_summary_text_html_and_frame(fits):
    res, _ = fits
    summary = res.summary()
    text = str(summary)
    for needle in ("Generalized linear model", "Bernoulli", "logit", "GPA", "TUCE", "PSI",
                   "Log-likelihood", "-12.8896", "AIC", "P>|z|", "[0.025", "0.975]"):
        assert needle in text, needle
    assert "<table" in summary._repr_html_() and "GPA" in summary._repr_html_()
    frame = summary.to_frame()
    assert list(frame.columns) == ["coef", "std_err", "z", "p_value", "ci_lower", "ci_upper"]
    np.testing.assert_allclose(frame["coef"], res.params)
    assert res.summary(alpha=0.1).to_frame()["ci_lower"].iloc[0] > frame["ci_lower"].iloc[0]
    assert res.summary_frame().equals(frame)


def test_weighted_summary_says_what_the_weights_are():
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    y = np.array([0.0, 0.0, 1.0, 0.0, 1.0, 1.0])
    res = ef.GLM(y, ef.add_constant(x), weights=[1, 2, 1, 1, 2, 1]).fit()
    assert "frequency weights" in str(res.summary())
    assert res.nobs == 8


def test_cov_params_is_a_labelled_symmetric_frame(fits):
    res, _ = fits
    cov = res.cov_params()
    assert isinstance(cov, pd.DataFrame)
    assert list(cov.index) == list(res.params.index) == list(cov.columns)
    np.testing.assert_array_equal(cov.to_numpy(), cov.to_numpy().T)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), res.bse, rtol=1e-12)


def test_conf_int_for_chosen_terms_as_r_parm():
    from expfam.errors import InputError

    res = ef.logit("am ~ hp + wt", ef.datasets.load("mtcars")).fit()
    for method in ("wald", "profile"):
        whole = res.conf_int(method=method)
        some = res.conf_int(method=method, terms=["wt", "hp"])
        pd.testing.assert_frame_equal(some, whole.loc[["wt", "hp"]])
    with pytest.raises(InputError, match="'zz' is not a coefficient"):
        res.conf_int(terms=["zz"])


def test_cov_params_block_in_the_order_asked_and_clear_errors():
    from expfam.errors import InputError

    res = ef.logit("am ~ hp + wt", ef.datasets.load("mtcars")).fit()
    block = res.cov_params(columns=["wt", "hp"])
    assert list(block.index) == list(block.columns) == ["wt", "hp"]
    pd.testing.assert_frame_equal(block, res.cov_params().loc[["wt", "hp"], ["wt", "hp"]])
    with pytest.raises(InputError, match="columns= is empty"):
        res.cov_params(columns=[])
    with pytest.raises(InputError, match=r"no coefficient.*'zz'; they are 'Intercept'"):
        res.cov_params(columns=["zz"])
