"""Predictions with intervals, marginal effects, formula offsets and exposure,
quasi-likelihood fits: against R (validation/r/inference_reference.R) and
statsmodels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.special import expit

import expfam as ef
from validation.inference_cases import insurance, load_r, warpbreaks


@pytest.fixture(scope="module")
def cars():
    return ef.datasets.load("mtcars")


@pytest.fixture(scope="module")
def pima():
    return ef.datasets.load("pima")


# -- predictions ----------------------------------------------------------------
def test_prediction_se_agrees_with_r_and_interval_is_on_the_link_scale(cars):
    ref = load_r("predict_logit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nearly separated: fitted values near 0 and 1
        res = ef.logit("am ~ hp + wt", cars).fit(tol=1e-12)
    pred = res.get_prediction(ref[["hp", "wt"]])
    frame = pred.summary_frame()
    assert list(frame.columns) == ["mean", "mean_se", "mean_ci_lower", "mean_ci_upper"]
    np.testing.assert_allclose(frame["mean"], ref["mean"], rtol=1e-6)
    np.testing.assert_allclose(frame["mean_se"], ref["mean_se"], rtol=1e-6)
    np.testing.assert_allclose(pred.se_linpred, ref["eta_se"], rtol=1e-6)
    z = stats.norm.isf(0.025)
    np.testing.assert_allclose(frame["mean_ci_lower"], expit(ref["eta"] - z * ref["eta_se"]),
                               rtol=1e-6)
    np.testing.assert_allclose(frame["mean_ci_upper"], expit(ref["eta"] + z * ref["eta_se"]),
                               rtol=1e-6)
    sm_res = smf.glm("am ~ hp + wt", cars, family=sm.families.Binomial()).fit(tol=1e-12)
    theirs = sm_res.get_prediction(ref[["hp", "wt"]]).summary_frame()
    np.testing.assert_allclose(frame.to_numpy(), theirs[frame.columns].to_numpy(), rtol=1e-6)


def test_prediction_se_poisson_with_factors_agrees_with_r():
    ref = load_r("predict_poisson")
    res = ef.glm("breaks ~ wool * tension", warpbreaks(), family="poisson").fit()
    frame = res.get_prediction(ref[["wool", "tension"]], alpha=0.1).summary_frame()
    np.testing.assert_allclose(frame["mean"], ref["mean"], rtol=1e-9)
    np.testing.assert_allclose(frame["mean_se"], ref["mean_se"], rtol=1e-8)
    z = stats.norm.isf(0.05)
    np.testing.assert_allclose(np.log(frame["mean_ci_upper"]), ref["eta"] + z * ref["eta_se"],
                               rtol=1e-8)


def test_categorical_prediction_se_is_the_delta_method():
    anes = ef.datasets.load("anes96")
    res = ef.mnlogit("party ~ age + educ", anes).fit(tol=1e-12)
    rows = anes.iloc[[0, 60, 120]]
    frame = res.get_prediction(rows).summary_frame()
    assert frame.index.names == ["row", "class"]
    probs = frame["mean"].unstack("class")[list(res.model.classes.labels)]
    np.testing.assert_allclose(probs, res.predict(rows), rtol=1e-12)
    # Finite-difference Jacobian of the probabilities in the flat coefficients.
    theta = res._problem.flat(res.solver.coef)
    x = res.model.formula.design(rows)[0].to_numpy()

    def prob(t):
        return res._layout.class_probabilities(x @ res._problem.unflat(t)).ravel()

    jac = np.column_stack([(prob(theta + h) - prob(theta - h)) / 2e-6
                           for h in np.eye(theta.size) * 1e-6])
    se = np.sqrt(np.diag(jac @ res._cov @ jac.T))
    np.testing.assert_allclose(frame["mean_se"], se, rtol=1e-5, atol=1e-12)
    inside = (frame["mean_ci_lower"] <= frame["mean"]) & (frame["mean"] <= frame["mean_ci_upper"])
    assert inside.all()


@given(st.integers(0, 2**31 - 1))
def test_prediction_mean_is_predict_and_se_matches_covariance(seed):
    rng = np.random.default_rng(seed)
    n = 60
    data = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b", "c"], n)})
    data["y"] = rng.poisson(np.exp(0.3 + 0.5 * data["x"]))
    res = ef.glm("y ~ x + C(g)", data, family="poisson").fit()
    new = data.iloc[:7]
    pred = res.get_prediction(new)
    np.testing.assert_allclose(pred.predicted_mean, res.predict(new), rtol=1e-12)
    x = res.model.formula.design(new)[0].to_numpy()
    se_eta = np.sqrt(np.einsum("ij,jk,ik->i", x, res.cov_params().to_numpy(), x))
    np.testing.assert_allclose(pred.se_mean, pred.predicted_mean * se_eta, rtol=1e-10)
    lo, hi = pred.conf_int().T
    assert np.all(lo > 0) and np.all(lo <= pred.predicted_mean) and np.all(
        pred.predicted_mean <= hi)


# -- offsets in formulas, exposure -----------------------------------------------
def test_formula_offset_and_exposure_agree_with_r_and_are_reread_by_predict():
    data = insurance()
    ref, ref_pred = load_r("offset_coef"), load_r("offset_predict")
    formula = "Claims ~ C(District) + C(Group) + C(Age)"
    inside = ef.glm(formula + " + offset(np.log(Holders))", data, family="poisson").fit()
    exposure = ef.glm(formula, data, family="poisson", exposure="Holders").fit()
    for res in (inside, exposure):
        np.testing.assert_allclose(res.params, ref["Estimate"], rtol=1e-9)
        np.testing.assert_allclose(res.bse, ref["Std. Error"], rtol=1e-8)
        new = ref_pred[["District", "Group", "Age", "Holders"]]
        frame = res.get_prediction(new).summary_frame()
        np.testing.assert_allclose(frame["mean"], ref_pred["mean"], rtol=1e-9)
        np.testing.assert_allclose(frame["mean_se"], ref_pred["mean_se"], rtol=1e-8)
    arrays = ef.GLM(inside.model.endog, inside.model.exog, family="poisson",
                    exposure=data["Holders"]).fit()
    np.testing.assert_allclose(arrays.params.to_numpy(), inside.params.to_numpy(), rtol=1e-10)
    with pytest.raises(ef.InputError, match="exposure"):
        ef.glm(formula, data.assign(Holders=data["Holders"] - 200), family="poisson",
               exposure="Holders")
    with pytest.raises(ef.InputError, match="Holders"):
        inside.predict(ref_pred[["District", "Group", "Age"]])


def test_offset_terms_add_up_and_leave_an_empty_right_side_an_intercept(cars):
    two = ef.glm("carb ~ hp + offset(np.log(wt)) + offset(0.5 * qsec)", cars,
                 family="poisson").fit()
    one = ef.glm("carb ~ hp", cars, family="poisson",
                 offset=np.log(cars["wt"]) + 0.5 * cars["qsec"]).fit()
    np.testing.assert_allclose(two.params, one.params, rtol=1e-10)
    alone = ef.glm("carb ~ offset(np.log(wt))", cars, family="poisson").fit()
    assert list(alone.params.index) == ["Intercept"]


# -- quasi-likelihood -----------------------------------------------------------
def test_quasipoisson_and_quasibinomial_agree_with_r():
    res = ef.glm("breaks ~ wool + tension", warpbreaks(), family="poisson").fit(scale="X2")
    ref = load_r("quasipoisson_coef")
    np.testing.assert_allclose(res.bse, ref["Std. Error"], rtol=1e-9)
    np.testing.assert_allclose(res.tvalues, ref["t value"], rtol=1e-9)
    np.testing.assert_allclose(res.pvalues, ref["Pr(>|t|)"], rtol=1e-7)
    stats_ = load_r("quasipoisson_stats").set_index("statistic")["value"]
    assert res.scale == pytest.approx(stats_["dispersion_X2"], rel=1e-10)
    dev = ef.glm("breaks ~ wool + tension", warpbreaks(), family="poisson").fit(scale="dev")
    assert dev.scale == pytest.approx(stats_["dispersion_dev"], rel=1e-10)
    np.testing.assert_allclose(dev.bse, load_r("quasipoisson_dev_coef")["Std. Error"],
                               rtol=1e-9)
    for value in (res.llf, res.aic, res.bic, res.llr, res.prsquared):
        assert np.isnan(value)
    assert "Quasi-likelihood" in str(res.summary()) and "P>|t|" in str(res.summary())
    from validation.inference_cases import ucb

    qb = ef.glm("admitted ~ gender + dept", ucb(), family="binomial",
                trials="applicants").fit(scale="X2")
    ref = load_r("quasibinomial_coef")
    np.testing.assert_allclose(qb.params, ref["Estimate"], rtol=1e-8)
    np.testing.assert_allclose(qb.bse, ref["Std. Error"], rtol=1e-8)


def test_fixed_scale_and_bad_scales(cars):
    plain = ef.glm("carb ~ hp", cars, family="poisson").fit()
    fixed = ef.glm("carb ~ hp", cars, family="poisson").fit(scale=2.0)
    np.testing.assert_allclose(fixed.bse, plain.bse * np.sqrt(2.0), rtol=1e-12)
    assert not fixed.use_t  # a given dispersion: z tests, as summary(dispersion=) in R
    with pytest.raises(ef.InputError, match="already estimated"):
        ef.glm("mpg ~ hp", cars, family="gaussian").fit(scale="X2")
    with pytest.raises(ef.InputError, match="scale must be"):
        ef.glm("carb ~ hp", cars, family="poisson").fit(scale="pearson")
    with pytest.raises(ef.InputError, match="scale must be"):
        ef.glm("carb ~ hp", cars, family="poisson").fit(scale=-1.0)
    small = ef.glm("carb ~ 1", cars, family="poisson").fit(scale="X2")
    big = ef.glm("carb ~ hp", cars, family="poisson").fit(scale="X2")
    with pytest.raises(ef.InputError, match="anova"):
        ef.lr_test(small, big)


# -- marginal effects ------------------------------------------------------------
def test_marginal_effects_agree_with_statsmodels(pima):
    res = ef.logit("diabetes ~ glucose + bmi + age", pima).fit(tol=1e-12)
    binary = pima.assign(diabetes=(pima["diabetes"] == "Yes").astype(float))
    ref = smf.logit("diabetes ~ glucose + bmi + age", binary).fit(disp=0, tol=1e-12)
    for at in ("overall", "mean"):
        ours, theirs = res.marginal_effects(at=at), ref.get_margeff(at=at)
        np.testing.assert_allclose(ours["dy/dx"], theirs.margeff, rtol=1e-8)
        # statsmodels' numerical Jacobian is the cruder of the two (see below).
        np.testing.assert_allclose(ours["std_err"], theirs.margeff_se, rtol=1e-5)
    # The exact delta method for the logit's average effects.
    x = res.model.exog
    beta = res.params.to_numpy()
    p = expit(x @ beta)
    d, d2 = p * (1 - p), p * (1 - p) * (1 - 2 * p)
    ame = res.marginal_effects()
    for j, name in enumerate(["glucose", "bmi", "age"], start=1):
        grad = (d2[:, None] * x).mean(axis=0) * beta[j]
        grad[j] += d.mean()
        se = np.sqrt(grad @ res.cov_params().to_numpy() @ grad)
        assert ame.loc[name, "std_err"] == pytest.approx(se, rel=1e-7)


def test_multinomial_marginal_effects_per_class_agree_with_statsmodels():
    anes = ef.datasets.load("anes96")
    res = ef.mnlogit("party ~ age + educ + income", anes).fit(tol=1e-12)
    ref = smf.mnlogit("party ~ age + educ + income",
                      anes.assign(party=anes["party"].cat.codes)).fit(disp=0, tol=1e-12,
                                                                      maxiter=200)
    ours = res.marginal_effects()
    labels = list(res.model.classes.labels)
    effect = ours["dy/dx"].unstack("class")[labels].loc[["age", "educ", "income"]]
    se = ours["std_err"].unstack("class")[labels].loc[["age", "educ", "income"]]
    margeff = ref.get_margeff()
    np.testing.assert_allclose(effect, margeff.margeff, atol=1e-10)
    np.testing.assert_allclose(se, margeff.margeff_se, rtol=1e-4)
    np.testing.assert_allclose(effect.sum(axis=1), 0.0, atol=1e-12)  # probabilities sum to 1


def test_marginal_effects_follow_the_formula(pima, cars):
    res = ef.logit("diabetes ~ glucose + I(glucose**2) + np.log(bmi) + age:bmi", pima).fit()
    ame = res.marginal_effects()
    h = 1e-4
    for name in ("glucose", "bmi", "age"):
        up, down = pima.copy(), pima.copy()
        up[name] = up[name] + h
        down[name] = down[name] - h
        finite = ((res.predict(up) - res.predict(down)) / (2 * h)).mean()
        assert ame.loc[name, "dy/dx"] == pytest.approx(finite, rel=1e-6)
    pois = ef.glm("carb ~ hp + C(cyl)", cars, family="poisson").fit()
    me = pois.marginal_effects()
    change = (pois.predict(cars.assign(cyl=8)) - pois.predict(cars.assign(cyl=4))).mean()
    assert me.loc["cyl[8]", "dy/dx"] == pytest.approx(change, rel=1e-10)
    at = pois.marginal_effects(at={"hp": 150, "cyl": 6}, terms="hp")
    row = pd.DataFrame({"hp": [150.0], "cyl": [6]})
    assert at.loc["hp", "dy/dx"] == pytest.approx(
        float(pois.predict(row).iloc[0]) * pois.params["hp"], rel=1e-8)
    with pytest.raises(ef.InputError, match="'disp' is not a variable"):
        pois.marginal_effects(terms="disp")
    with pytest.raises(ef.InputError, match="at must be"):
        pois.marginal_effects(at="median")


def test_margins_and_predictions_of_array_and_gaussian_models(cars):
    x = ef.add_constant(cars[["hp", "wt"]])
    res = ef.GLM(cars["carb"], x, family="poisson").fit(tol=1e-12)
    ref = sm.Poisson(cars["carb"], x).fit(disp=0, tol=1e-12)
    np.testing.assert_allclose(res.marginal_effects()["dy/dx"], ref.get_margeff().margeff,
                               rtol=1e-8)
    fitted = res.get_prediction().summary_frame()  # the fitted rows by default
    np.testing.assert_allclose(fitted["mean"], res.fittedvalues, rtol=1e-12)
    # Identity link: the effects are the coefficients, with their t tests.
    gauss = ef.glm("mpg ~ hp + wt", cars, family="gaussian").fit()
    me = gauss.marginal_effects()
    np.testing.assert_allclose(me["dy/dx"], gauss.params[["hp", "wt"]], rtol=1e-8)
    np.testing.assert_allclose(me["std_err"], gauss.bse[["hp", "wt"]], rtol=1e-6)
    np.testing.assert_allclose(me["p_value"], gauss.pvalues[["hp", "wt"]], rtol=1e-5)
    pred = gauss.get_prediction(cars.iloc[:3]).summary_frame()
    half = stats.t(gauss.df_resid).isf(0.025) * pred["mean_se"]
    np.testing.assert_allclose(pred["mean_ci_upper"] - pred["mean"], half, rtol=1e-10)
