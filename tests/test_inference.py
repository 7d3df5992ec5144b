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
        _ = model.fit(cov_type="cluster").bse
    with pytest.raises(ef.InputError, match=r"data\['cyl'\]"):
        _ = model.fit(cov_type="cluster", groups="cyl").bse
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
