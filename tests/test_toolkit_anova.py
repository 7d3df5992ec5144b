"""Analysis-of-deviance tables, string hypotheses, influence measures, diagnostic
plots and LDA leave-one-out: against R (validation/r/inference_reference.R)."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import expfam as ef
from validation.inference_cases import load_r, mass_lda, ucb, warpbreaks

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def cars():
    return ef.datasets.load("mtcars")


@pytest.fixture(scope="module")
def fits(cars):
    breaks = warpbreaks()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the mtcars logit nearly separates
        logit = ef.logit("am ~ hp + wt", cars).fit(tol=1e-12)
    return {
        "pois": ef.glm("breaks ~ wool * tension", breaks, family="poisson").fit(),
        "p0": ef.glm("breaks ~ wool", breaks, family="poisson").fit(),
        "p1": ef.glm("breaks ~ wool + tension", breaks, family="poisson").fit(),
        "q1": ef.glm("breaks ~ wool + tension", breaks, family="poisson").fit(scale="X2"),
        "gauss": ef.glm("mpg ~ wt + hp + C(cyl)", cars, family="gaussian").fit(),
        "g0": ef.glm("mpg ~ wt", cars, family="gaussian").fit(),
        "logit": logit,
    }


def _same(ours: pd.DataFrame, ref: pd.DataFrame, rtol: float = 1e-7) -> None:
    assert len(ours) == len(ref)
    for column in ref.columns:
        np.testing.assert_allclose(ours[column].to_numpy(float), ref[column].to_numpy(float),
                                   rtol=rtol, atol=1e-300, err_msg=column)


TABLES = {
    "anova_poisson_seq": lambda f: ef.anova(f["pois"]),
    "anova_poisson_nested": lambda f: ef.anova(f["p0"], f["p1"], f["pois"]),
    "drop1_poisson_interaction": lambda f: ef.drop1(f["pois"]),
    "drop1_poisson": lambda f: ef.drop1(f["p1"], test="LR"),
    "car_poisson_type2_LR": lambda f: ef.anova(f["pois"], type=2),
    "car_poisson_type2_Wald": lambda f: ef.anova(f["pois"], type=2, test="Wald"),
    "car_poisson_type3_LR": lambda f: ef.anova(f["pois"], type=3, test="LR"),
    "car_poisson_type3_Wald": lambda f: ef.anova(f["pois"], type=3, test="Wald"),
    "anova_gaussian_seq": lambda f: ef.anova(f["gauss"]),
    "drop1_gaussian": lambda f: ef.drop1(f["gauss"]).rename(columns={"F value": "F value"}),
    "anova_gaussian_nested": lambda f: ef.anova(f["g0"], f["gauss"]),
    "car_gaussian_type2_F": lambda f: ef.anova(f["gauss"], type=2).rename(
        columns={"Deviance": "Sum Sq", "F": "F value"}),
    "car_gaussian_type2_Wald": lambda f: ef.anova(f["gauss"], type=2, test="Wald"),
    "quasipoisson_anova": lambda f: ef.anova(f["q1"]),
    "anova_logit_seq": lambda f: ef.anova(f["logit"]),
}


@pytest.mark.parametrize("name", list(TABLES))
def test_tables_agree_with_r(fits, name):
    ref = load_r(name)
    ours = TABLES[name](fits)
    if ref.index.name == "term":
        assert [str(i) for i in ours.index] == [
            i.replace("factor(cyl)", "C(cyl)") for i in ref.index]
    _same(ours, ref, rtol=1e-6 if name.endswith("logit_seq") else 1e-8)


def test_test_follows_the_dispersion_and_bad_comparisons_are_refused(fits, cars):
    assert "Pr(>Chi)" in ef.anova(fits["pois"]) and "F" in ef.anova(fits["gauss"])
    assert "F" in ef.anova(fits["q1"])  # quasi: estimated dispersion, as R's F
    with pytest.raises(ef.InputError, match="not nested"):
        ef.anova(fits["p0"], ef.glm("breaks ~ tension", warpbreaks(), family="poisson").fit())
    with pytest.raises(ef.InputError, match="not on the same rows"):
        ef.anova(fits["g0"], ef.glm("qsec ~ wt + hp", cars, family="gaussian").fit())
    with pytest.raises(ef.InputError, match="different families"):
        ef.anova(fits["p0"], fits["gauss"])
    with pytest.raises(ef.InputError, match="type must be"):
        ef.anova(fits["pois"], type=4)
    with pytest.raises(ef.InputError, match="Wald"):
        ef.anova(fits["pois"], test="Wald")
    firth = ef.logit("am ~ hp + wt", cars).fit(penalty="firth")
    with pytest.raises(ef.InputError, match="Firth"):
        ef.drop1(firth)


def test_string_hypotheses_agree_with_car():
    pima = ef.datasets.load("pima")
    res = ef.logit("diabetes ~ glucose + bmi + age + pedigree", pima).fit(tol=1e-12)
    ref = load_r("linear_hypothesis_logit").iloc[0]
    found = res.wald_test("bmi = age, pedigree = 0")
    assert found.statistic == pytest.approx(ref["statistic"], rel=1e-7)
    assert found.df == ref["df"] and found.pvalue == pytest.approx(ref["p"], rel=1e-6)
    gauss = ef.glm("mpg ~ wt + hp + C(cyl)", ef.datasets.load("mtcars"),
                   family="gaussian").fit()
    for text, name in (("wt = 0, hp = 0", "gaussian"), ("2*wt - hp = 1", "gaussian_q")):
        ref = load_r(f"linear_hypothesis_{name}").iloc[0]
        found = gauss.wald_test(text)
        assert found.distribution == "F"
        assert found.statistic == pytest.approx(ref["statistic"], rel=1e-9)
        assert found.pvalue == pytest.approx(ref["p"], rel=1e-7)
    with pytest.raises(ef.InputError, match="'weight' in the hypothesis"):
        gauss.wald_test("weight = 0")
    with pytest.raises(ef.InputError, match="one '='"):
        gauss.wald_test("wt = hp = 0")


@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(-2, 2))
def test_string_hypothesis_is_the_matrix_hypothesis(a, b, q):
    res = _poisson_fit()
    text = f"{a:.6f}*hp + {b:.6f}*wt = {q:.6f}"
    r = np.array([[0.0, float(f"{a:.6f}"), float(f"{b:.6f}")]])
    if not np.any(r):
        return
    by_text, by_matrix = res.wald_test(text), res.wald_test((r, [float(f"{q:.6f}")]))
    assert by_text.statistic == pytest.approx(by_matrix.statistic, rel=1e-12)


_CACHE: dict[str, ef.GLMResults] = {}


def _poisson_fit() -> ef.GLMResults:
    if "fit" not in _CACHE:
        _CACHE["fit"] = ef.glm("carb ~ hp + wt", ef.datasets.load("mtcars"),
                               family="poisson").fit()
    return _CACHE["fit"]


INFLUENCE = {
    "logit": lambda cars: ef.logit("am ~ hp + wt", cars),
    "poisson": lambda cars: ef.glm("breaks ~ wool + tension", warpbreaks(), family="poisson"),
    "gaussian": lambda cars: ef.glm("mpg ~ wt + hp", cars, family="gaussian"),
    "aliased": lambda cars: ef.glm("mpg ~ wt + hp + I(wt + hp)", cars, family="gaussian"),
    "binomial": lambda cars: ef.glm("admitted ~ gender + dept", ucb(), family="binomial",
                                    trials="applicants"),
}


@pytest.mark.parametrize("name", list(INFLUENCE))
def test_influence_agrees_with_r(cars, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # aliased column; near separation
        res = INFLUENCE[name](cars).fit(tol=1e-12)
    infl = res.get_influence()
    ref = load_r(f"influence_{name}")
    ours = {"hat": infl.hat_matrix_diag, "cook.d": infl.cooks_distance,
            "rstudent": infl.resid_studentized, "rstandard": infl.resid_standardized,
            "rstandard_pearson": infl.resid_standardized_pearson, "dffit": infl.dffits,
            "cov.r": infl.cov_ratio}
    # The logit's tiny leverages (fitted probabilities near 0) carry the fit's own
    # convergence error; everything else agrees to rounding.
    rtol = 1e-6 if name == "logit" else 1e-8
    for column, values in ours.items():
        np.testing.assert_allclose(values, ref[column], rtol=rtol, atol=1e-10, err_msg=column)
    dfb = ref[[c for c in ref.columns if c.startswith("dfb_")]]
    assert infl.dfbetas.shape == dfb.shape  # aliased columns left out, as R
    np.testing.assert_allclose(infl.dfbetas, dfb, rtol=rtol, atol=1e-10)
    frame = infl.summary_frame()
    assert {"cooks_d", "hat_diag", "student_resid", "standard_resid"} <= set(frame.columns)


def test_influence_refuses_categorical_and_plots_four_labelled_panels(cars):
    with pytest.raises(ef.InputError, match="single-response"):
        ef.mnlogit("species ~ sepal_width", ef.datasets.load("iris")).fit().get_influence()
    res = ef.glm("mpg ~ wt + hp", cars.set_index("model"), family="gaussian").fit()
    fig = res.plot_diagnostics(n_label=2)
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == [
        "Residuals vs Fitted", "Normal Q-Q", "Scale-Location", "Residuals vs Leverage"]
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in axes)
    worst = res.get_influence().cooks_distance.idxmax()
    assert worst in [t.get_text() for t in axes[3].texts]
    matplotlib.pyplot.close(fig)


def test_multinomial_tables_compare_with_lr_tests():
    anes = ef.datasets.load("anes96")
    small = ef.mnlogit("party ~ age", anes).fit()
    big = ef.mnlogit("party ~ age + educ", anes).fit()
    table = ef.anova(big)
    lr = ef.lr_test(small, big)
    assert table.loc["educ", "Deviance"] == pytest.approx(lr.statistic, rel=1e-8)
    assert table.loc["educ", "Df"] == lr.df == 6
    assert ef.anova(small, big)["Pr(>Chi)"].iloc[1] == pytest.approx(lr.pvalue, rel=1e-6)


# -- LDA leave-one-out ------------------------------------------------------------
@pytest.mark.parametrize(("name", "response"), [("iris", "species"), ("pima", "diabetes")])
def test_lda_leave_one_out_agrees_with_mass(name, response):
    data = mass_lda(name)
    features = " + ".join(c for c in data.columns if c != response)
    fit = ef.lda(f"{response} ~ {features}", data, covariance="unbiased").fit()
    ref = load_r(f"lda_cv_{name}")
    np.testing.assert_allclose(fit.loo_predict_proba(), ref, rtol=1e-9, atol=1e-14)


@settings(max_examples=10)
@given(st.integers(0, 2**31 - 1))
def test_lda_leave_one_out_is_a_refit_without_the_row(seed):
    rng = np.random.default_rng(seed)
    n = 40
    x = rng.normal(size=(n, 2))
    y = np.where(x[:, 0] + rng.normal(size=n) > 0, "b", "a")
    w = rng.integers(1, 3, size=n).astype(float)
    fit = ef.LDA(y, x, weights=w, covariance="mle").fit()
    loo = fit.loo_predict_proba().to_numpy()
    for i in (0, 7, 19):
        keep = np.arange(n) != i
        refit = ef.LDA(y[keep], x[keep], weights=w[keep], priors=fit.priors.to_numpy(),
                       covariance="mle").fit()
        np.testing.assert_allclose(loo[i], refit.predict_proba(x[[i]]).to_numpy()[0],
                                   rtol=1e-10)
    with pytest.raises(ef.InputError, match="shrinkage"):
        ef.LDA(y, x, shrinkage=0.2).fit().loo_predict_proba()
