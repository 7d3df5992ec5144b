"""The Gaussian family as a GLM: least squares with an estimated dispersion.

R's ``glm(family = gaussian)`` is the reference (stored output, checked in
tests/test_validation.py); here, statsmodels' OLS and GLM on the same data, the
t-based inference R reports, and the replicated-rows property.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import expfam as ef


@pytest.fixture(scope="module")
def cars():
    return ef.datasets.load("mtcars")


def test_gaussian_glm_is_least_squares_with_t_inference(cars):
    res = ef.glm("mpg ~ hp + wt + C(cyl)", cars, family="gaussian").fit()
    ols = smf.ols("mpg ~ hp + wt + C(cyl)", cars).fit()
    names = res.params.index
    np.testing.assert_allclose(res.params, ols.params[names], rtol=1e-10)
    np.testing.assert_allclose(res.bse, ols.bse[names], rtol=1e-10)
    np.testing.assert_allclose(res.pvalues, ols.pvalues[names], rtol=1e-9)  # t on df_resid
    np.testing.assert_allclose(res.conf_int().to_numpy(), ols.conf_int().loc[names].to_numpy(),
                               rtol=1e-10)
    assert res.use_t and res.scale == pytest.approx(ols.scale, rel=1e-12)
    assert res.llf == pytest.approx(ols.llf, rel=1e-12)
    # R counts the variance as a parameter in AIC and BIC (statsmodels' OLS does not).
    assert res.aic == pytest.approx(ols.aic + 2, rel=1e-12)
    assert res.bic == pytest.approx(ols.bic + np.log(32), rel=1e-12)
    assert res.prsquared == pytest.approx(ols.rsquared, rel=1e-12)  # not unit-dependent
    text = str(res.summary())
    assert "P>|t|" in text and "Dispersion" in text


def test_gaussian_null_likelihood_is_the_intercept_only_fit(cars):
    res = ef.glm("mpg ~ hp + wt", cars, family="gaussian").fit()
    null = ef.glm("mpg ~ 1", cars, family="gaussian").fit()
    assert res.llnull == pytest.approx(null.llf, rel=1e-12)
    lr = ef.lr_test(null, res)
    assert lr.statistic == pytest.approx(32 * np.log(null.deviance / res.deviance), rel=1e-10)


def test_gaussian_frequency_weights_equal_replicated_rows(cars):
    w = np.arange(32) % 3 + 1.0
    X = ef.add_constant(cars[["hp", "wt"]]).to_numpy()
    weighted = ef.GLM(cars["mpg"], X, family="gaussian", weights=w).fit()
    replicated = ef.GLM(np.repeat(cars["mpg"].to_numpy(), w.astype(int)),
                        np.repeat(X, w.astype(int), axis=0), family="gaussian").fit()
    np.testing.assert_allclose(weighted.params, replicated.params, rtol=1e-10)
    np.testing.assert_allclose(weighted.bse, replicated.bse, rtol=1e-10)
    assert weighted.llf == pytest.approx(replicated.llf, rel=1e-12)
    glm = sm.GLM(cars["mpg"], X, family=sm.families.Gaussian(), freq_weights=w).fit()
    np.testing.assert_allclose(weighted.bse, glm.bse, rtol=1e-10)


@pytest.mark.parametrize("method", ["gd", "lbfgs"])
def test_gradient_solvers_reach_least_squares(cars, method):
    model = ef.glm("mpg ~ hp + wt", cars, family="gaussian")
    exact = model.fit()
    res = model.fit(method)
    np.testing.assert_allclose(res.params, exact.params, rtol=1e-5)
    np.testing.assert_allclose(res.bse, exact.bse, rtol=1e-4)


def test_gaussian_profile_interval_is_the_scaled_deviance_interval(cars):
    # The profile of a quadratic likelihood, scaled by the dispersion, is exactly
    # the normal-quantile Wald interval (what R's confint gives for gaussian glm).
    res = ef.glm("mpg ~ hp + wt", cars, family="gaussian").fit()
    profile = res.conf_int(method="profile")
    z = 1.959963984540054
    np.testing.assert_allclose(profile["lower"], res.params - z * res.bse, rtol=1e-7)
    np.testing.assert_allclose(profile["upper"], res.params + z * res.bse, rtol=1e-7)


def test_gaussian_response_must_be_finite():
    with pytest.raises(ef.InputError, match="row 1"):
        ef.GLM([1.0, np.nan, 2.0], np.ones((3, 1)), family="gaussian")


def test_gaussian_wald_test_is_the_f_test(cars):
    res = ef.glm("mpg ~ hp + wt + C(cyl)", cars, family="gaussian").fit()
    ols = smf.ols("mpg ~ hp + wt + C(cyl)", cars).fit()
    one = res.wald_test("hp")
    assert one.distribution == "F" and one.df_denom == res.df_resid
    assert one.pvalue == pytest.approx(res.pvalues["hp"], rel=1e-9)  # F(1, df) = t²
    term = res.wald_test("C(cyl)")
    ref = ols.wald_test("C(cyl)[T.6] = C(cyl)[T.8] = 0", use_f=True, scalar=True)
    assert term.statistic == pytest.approx(float(ref.statistic), rel=1e-9)
    assert term.pvalue == pytest.approx(float(ref.pvalue), rel=1e-9)
    assert list(res.summary().to_frame().columns[:3]) == ["coef", "std_err", "t"]


def test_gaussian_fits_a_response_with_a_large_mean(cars):
    # η²/2 − yη would cancel every digit of the deviance at y ≈ 1e10.
    shifted = cars.assign(mpg=cars["mpg"] + 1e10)
    plain = ef.glm("mpg ~ hp + wt", cars, family="gaussian").fit()
    res = ef.glm("mpg ~ hp + wt", shifted, family="gaussian").fit()
    assert res.history["deviance"].iloc[-1] == pytest.approx(plain.deviance, rel=1e-6)
    np.testing.assert_allclose(res.params.iloc[1:], plain.params.iloc[1:], rtol=1e-6)
    lbfgs = ef.glm("mpg ~ hp + wt", shifted, family="gaussian").fit("lbfgs")
    assert lbfgs.converged
    np.testing.assert_allclose(lbfgs.params.iloc[1:], plain.params.iloc[1:], rtol=1e-4)


def test_a_perfect_gaussian_fit_warns_and_has_no_r_squared(cars):
    with pytest.warns(ef.DataWarning, match="essentially perfect fit"):
        res = ef.glm("one ~ hp", cars.assign(one=1.0), family="gaussian").fit()
    assert np.isnan(res.prsquared) and res.llf == np.inf
    str(res.summary())  # renders


def test_robust_gaussian_tests_use_one_reference_distribution(cars):
    res = ef.glm("mpg ~ hp + wt", cars, family="gaussian").fit(cov_type="HC1")
    test = res.wald_test("wt")
    assert test.distribution == "F"
    assert test.pvalue == pytest.approx(res.pvalues["wt"], rel=1e-9)
    assert res.zvalues.name == "t"
