"""Firth's penalized likelihood: finite under separation, and equal to R's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import expfam as ef
from validation.firth_cases import CASES, compare


@pytest.mark.parametrize("name", list(CASES))
def test_agrees_with_brglm2_and_logistf_definitions(name):
    table = compare(CASES[name])
    failed = table[~table["ok"]]
    assert failed.empty, "\n" + failed.to_string()


def test_finite_estimates_under_separation_without_a_warning():
    x = np.linspace(-1, 1, 20)
    y = (x > 0.1).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = ef.GLM(y, ef.add_constant(x)).fit(penalty="firth")
    assert res.converged and np.all(np.isfinite(res.params)) and np.all(np.isfinite(res.bse))
    assert res.method == "firth" and "Firth" in str(res.summary())
    with pytest.warns(ef.SeparationWarning):
        ef.GLM(y, ef.add_constant(x)).fit()  # the unpenalized fit does not exist


def test_binomial_counts_equal_expanded_rows():
    ucb = ef.datasets.load("ucb_admissions").assign(n=lambda d: d.admitted + d.rejected)
    counts = ef.glm("admitted ~ gender + dept", ucb, family="binomial",
                    trials="n").fit(penalty="firth")
    rows = ucb.loc[ucb.index.repeat(ucb.n)].reset_index(drop=True)
    rows["admitted"] = np.concatenate([np.r_[np.ones(a), np.zeros(r)]
                                       for a, r in zip(ucb.admitted, ucb.rejected,
                                                       strict=True)])
    expanded = ef.logit("admitted ~ gender + dept", rows).fit(penalty="firth")
    np.testing.assert_allclose(counts.params, expanded.params, rtol=1e-8)
    np.testing.assert_allclose(counts.bse, expanded.bse, rtol=1e-8)


def test_firth_is_for_binary_families_and_newton():
    cars = ef.datasets.load("mtcars")
    with pytest.raises(ef.InputError, match="bernoulli and binomial"):
        ef.glm("carb ~ wt", cars, family="poisson").fit(penalty="firth")
    with pytest.raises(ef.InputError, match="Newton"):
        ef.logit("am ~ wt", cars).fit("lbfgs", penalty="firth")
    with pytest.raises(ef.InputError, match="penalty must be"):
        ef.logit("am ~ wt", cars).fit(penalty="ridge")


def test_firth_is_invariant_to_the_units_of_a_column():
    cars = ef.datasets.load("mtcars")
    plain = ef.logit("am ~ hp + wt", cars).fit(penalty="firth")
    for factor in (1e6, 1e-150):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no ConvergenceWarning whatever the units
            scaled = ef.logit("am ~ hp + wt", cars.assign(hp=cars.hp * factor)).fit(
                penalty="firth")
        assert scaled.params["hp"] * factor == pytest.approx(plain.params["hp"], rel=1e-10)
        assert scaled.bse["hp"] * factor == pytest.approx(plain.bse["hp"], rel=1e-10)


def test_firth_refuses_robust_covariances():
    cars = ef.datasets.load("mtcars")
    with pytest.raises(ef.InputError, match="maximum-likelihood fits"):
        ef.logit("am ~ hp + wt", cars).fit(penalty="firth", cov_type="HC0")
