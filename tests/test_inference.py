"""Robust covariances, Wald and likelihood-ratio tests, profile intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import expfam as ef
from validation.edge_cases import CASES, compare


@pytest.mark.parametrize("name", list(CASES))
def test_agrees_with_r_sandwich_confint_and_anova(name):
    table = compare(CASES[name])
    failed = table[~table["ok"]]
    assert failed.empty, "\n" + failed.to_string()


def test_hc0_and_cluster_agree_with_statsmodels():
    cars = ef.datasets.load("mtcars")
    ours = ef.logit("am ~ hp + wt", cars).fit(cov_type="HC0")
    ref = smf.glm("am ~ hp + wt", cars, family=sm.families.Binomial()).fit(cov_type="HC0")
    np.testing.assert_allclose(ours.cov_params(), ref.cov_params(), rtol=1e-7)
    # Every downstream quantity uses the chosen covariance.
    np.testing.assert_allclose(ours.pvalues, ref.pvalues, rtol=1e-6)
    np.testing.assert_allclose(ours.conf_int(), ref.conf_int(), rtol=1e-7)
    assert "HC0" in str(ours.summary())


def test_wald_tests_agree_with_statsmodels():
    breaks = ef.datasets.load("warpbreaks")
    ours = ef.glm("breaks ~ wool + tension", breaks, family="poisson").fit()
    ref = smf.glm("breaks ~ wool + tension", breaks, family=sm.families.Poisson()).fit()
    terms = ref.wald_test_terms(scalar=True).table
    found = ours.wald_test("tension")
    # Two fits, each converged to ~1e-8: their statistics agree to ~1e-7.
    assert found.statistic == pytest.approx(terms.loc["tension", "statistic"], rel=1e-6)
    assert found.df == 2
    r = np.zeros((1, 4))
    r[0, 2], r[0, 3] = 1.0, -1.0  # tension M = tension H
    assert ours.wald_test((r, [0.0])).statistic == pytest.approx(
        float(ref.wald_test(r, scalar=True).statistic), rel=1e-6)
    robust = ef.glm("breaks ~ wool + tension", breaks, family="poisson").fit(cov_type="HC0")
    assert robust.wald_test("tension").statistic != pytest.approx(found.statistic)


def test_wald_test_of_a_multinomial_term_covers_every_class():
    anes = ef.datasets.load("anes96")
    # No respondent with educ 1 is a weak Republican: quasi-separation, rightly flagged
    # (the Wald test still computes; its counting of degrees of freedom is the point).
    with pytest.warns(ef.SeparationWarning, match=r"C\(educ\)\[T\.2\]"):
        res = ef.mnlogit("party ~ self_lr + age + C(educ)", anes).fit()
    test = res.wald_test("C(educ)")
    assert test.df == 6 * 6  # 6 education dummies for each of 6 non-reference classes
    assert 0 <= test.pvalue <= 1


def test_lr_test_checks_nesting_and_rows():
    cars = ef.datasets.load("mtcars")
    full = ef.logit("am ~ hp + wt", cars).fit()
    small = ef.logit("am ~ hp", cars).fit()
    test = ef.lr_test(small, full)
    assert test.statistic == pytest.approx(2 * (full.llf - small.llf))
    assert test.df == 1
    with pytest.raises(ef.InputError, match="not nested"):
        ef.lr_test(ef.logit("am ~ qsec", cars).fit(), full)
    with pytest.raises(ef.InputError, match="same rows"):
        ef.lr_test(ef.logit("am ~ hp", cars.iloc[:30]).fit(), full)
    with pytest.raises(ef.InputError, match="restricted, full"):
        ef.lr_test(full, small)


def test_bad_cov_type_and_groups():
    cars = ef.datasets.load("mtcars")
    model = ef.logit("am ~ hp + wt", cars)
    with pytest.raises(ef.InputError, match="cov_type must be one of"):
        model.fit(cov_type="HC9")
    with pytest.raises(ef.InputError, match="groups="):
        model.fit(cov_type="cluster")  # in fit, not at the first standard error
    with pytest.raises(ef.InputError, match=r"data\['cyl'\]"):
        model.fit(cov_type="cluster", groups="cyl")
    with pytest.raises(ef.InputError, match="groups= applies to cov_type='cluster'"):
        model.fit(cov_type="HC1", groups=cars["cyl"])
    anes = ef.datasets.load("anes96")
    with pytest.raises(ef.InputError, match="hat values"):
        _ = ef.mnlogit("party ~ age", anes).fit(cov_type="HC3").bse


def test_profile_interval_contains_the_estimate_and_is_asymmetric():
    cars = ef.datasets.load("mtcars")
    res = ef.logit("am ~ hp + wt", cars).fit()
    profile, wald = res.conf_int(method="profile"), res.conf_int()
    assert isinstance(profile, pd.DataFrame)
    assert np.all(profile["lower"] < res.params) and np.all(res.params < profile["upper"])
    # The likelihood is skewed here: the profile interval is not the Wald one.
    assert not np.allclose(profile, wald, rtol=1e-2)



@pytest.mark.parametrize("factor", [1e8, 1e-8])
def test_rescaling_a_column_rescales_its_profile_interval(factor):
    # The root finding's tolerances follow the standard error: a coefficient of
    # 1e-10 gets as accurate an interval as one of 1.
    cars = ef.datasets.load("mtcars")
    base = ef.logit("am ~ hp + wt", cars).fit().conf_int(method="profile")
    scaled = ef.logit("am ~ hp + wt", cars.assign(hp=cars.hp * factor)).fit().conf_int(
        method="profile")
    np.testing.assert_allclose(scaled.loc["hp"], base.loc["hp"] / factor, rtol=1e-6)
    np.testing.assert_allclose(scaled.loc["wt"], base.loc["wt"], rtol=1e-6)



def test_missing_cluster_labels_name_the_rows():
    cars = ef.datasets.load("mtcars")
    labels = pd.array(cars["cyl"].tolist(), dtype="Int64")
    labels[[2, 5]] = pd.NA
    with pytest.raises(ef.InputError, match="groups is missing at rows 2, 5"):
        ef.logit("am ~ hp + wt", cars).fit(cov_type="cluster", groups=labels)


def test_cluster_labels_of_mixed_types_are_just_labels():
    cars = ef.datasets.load("mtcars")
    model = ef.logit("am ~ hp + wt", cars)
    mixed = [c if c != 8 else "eight" for c in cars["cyl"]]
    clustered = model.fit(cov_type="cluster", groups=mixed).bse
    np.testing.assert_allclose(clustered,
                               model.fit(cov_type="cluster", groups=cars["cyl"]).bse)


# -- regressions found in review ------------------------------------------------------
def test_aliased_columns_with_tests_and_profiles():
    cars = ef.datasets.load("mtcars").assign(wt2=lambda d: 2 * d.wt)
    with pytest.warns(ef.DataWarning):
        res = ef.logit("am ~ hp + wt + wt2", cars).fit()
    ref = ef.logit("am ~ hp + wt", cars).fit()
    assert res.wald_test("hp").statistic == pytest.approx(ref.wald_test("hp").statistic)
    with pytest.raises(ef.InputError, match="aliased"):
        res.wald_test("wt2")
    profile = res.conf_int(method="profile")
    np.testing.assert_allclose(profile.drop("wt2"), ref.conf_int(method="profile"),
                               rtol=1e-8)
    assert profile.loc["wt2"].isna().all()
    with pytest.warns(ef.DataWarning, match="'I\\(2 \\* wt\\)' is a linear combination"):
        multi = ef.mnlogit("gear ~ wt + I(2*wt)", cars).fit()
    assert multi.params.loc["I(2 * wt)"].isna().all()


def test_lr_test_refuses_different_offsets_and_penalized_fits():
    breaks = ef.datasets.load("warpbreaks").assign(lt=0.1)
    small = ef.glm("breaks ~ wool", breaks, family="poisson").fit()
    shifted = ef.glm("breaks ~ wool + tension", breaks, family="poisson", offset="lt").fit()
    with pytest.raises(ef.InputError, match="different offsets"):
        ef.lr_test(small, shifted)
    cars = ef.datasets.load("mtcars")
    with pytest.raises(ef.InputError, match="penalized"):
        ef.lr_test(ef.logit("am ~ hp", cars).fit(penalty="firth"),
                   ef.logit("am ~ hp + wt", cars).fit(penalty="firth"))


def test_cluster_groups_of_zero_weight_rows_are_not_counted():
    cars = ef.datasets.load("mtcars")
    weights = np.where(cars.cyl == 8, 0.0, 1.0)
    with_zero = ef.logit("am ~ wt", cars, weights=weights).fit(
        cov_type="cluster", groups=cars.carb)
    kept = cars[cars.cyl != 8]
    dropped = ef.logit("am ~ wt", kept).fit(cov_type="cluster", groups=kept.carb)
    np.testing.assert_allclose(with_zero.bse, dropped.bse, rtol=1e-6)


def test_profile_of_a_separated_fit():
    sep = pd.DataFrame({"x": [1, 2, 3, 4, 5, 6, 7, 8.0], "y": [0, 0, 0, 0, 1, 1, 1, 1.0]})
    firth = ef.logit("y ~ x", sep).fit(penalty="firth").conf_int(method="profile")
    assert np.all(np.isfinite(firth.to_numpy()))
    with pytest.warns(ef.SeparationWarning):
        plain = ef.logit("y ~ x", sep).fit()
    with pytest.raises(ef.InputError, match=r"separated.*firth"):
        plain.conf_int(method="profile")
