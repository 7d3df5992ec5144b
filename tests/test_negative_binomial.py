"""Negative binomial GLMs: θ estimated as MASS::glm.nb (on MASS::quine, against
the stored output of validation/r/nb_reference.R), θ known as an exponential
family (against statsmodels' GLM at the same θ), and the test against the Poisson."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import expfam as ef
from expfam.families import NegativeBinomial

ROOT = Path(__file__).resolve().parents[1] / "validation"
FORMULA = "Days ~ Eth + Sex + Age + Lrn"


@pytest.fixture(scope="module")
def quine() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data" / "quine.csv")


@pytest.fixture(scope="module")
def fit(quine):
    return ef.glm(FORMULA, quine, family="negative_binomial").fit()


@pytest.fixture(scope="module")
def r_stats() -> pd.Series:
    return pd.read_csv(ROOT / "r" / "results" / "nb_quine_stats.csv").set_index(
        "statistic")["value"]


def test_glm_nb_on_quine_matches_r(fit, r_stats):
    coef = pd.read_csv(ROOT / "r" / "results" / "nb_quine_coef.csv")
    np.testing.assert_allclose(fit.params, coef["estimate"], rtol=1e-6)
    np.testing.assert_allclose(fit.bse, coef["std_error"], rtol=1e-5)  # at θ fixed
    np.testing.assert_allclose(fit.pvalues, coef["p_value"], rtol=1e-5)
    assert fit.theta == pytest.approx(r_stats["theta"], rel=1e-6)
    # theta.ml takes its SE at the last-but-one Newton iterate; at θ̂ itself:
    assert fit.theta_se == pytest.approx(r_stats["theta_se_final"], rel=1e-6)
    assert fit.theta_se == pytest.approx(r_stats["theta_se"], rel=1e-5)
    for ours, theirs in [("llf", "llf"), ("aic", "aic"), ("bic", "bic"),
                         ("deviance", "deviance"), ("null_deviance", "null_deviance"),
                         ("pearson_chi2", "pearson_chi2"), ("df_resid", "df_resid")]:
        assert getattr(fit, ours) == pytest.approx(r_stats[theirs], rel=1e-6), ours
    resid = pd.read_csv(ROOT / "r" / "results" / "nb_quine_resid.csv")
    np.testing.assert_allclose(fit.fittedvalues, resid["fitted"], rtol=1e-6)
    np.testing.assert_allclose(fit.resid_deviance, resid["deviance"], rtol=1e-5, atol=1e-9)


def test_lr_test_against_the_poisson(fit, r_stats):
    test = fit.lr_test_poisson()
    assert fit.poisson_llf == pytest.approx(r_stats["poisson_llf"], rel=1e-9)
    assert test.statistic == pytest.approx(r_stats["lr_vs_poisson"], rel=1e-6)
    assert test.df == 1 and "halved" in test.hypothesis
    assert "Theta" in str(fit.summary())


def test_known_theta_matches_statsmodels(quine, fit):
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    known = ef.glm(FORMULA, quine, family=NegativeBinomial(theta=fit.theta)).fit()
    np.testing.assert_allclose(known.params, fit.params, rtol=1e-7)
    np.testing.assert_allclose(known.bse, fit.bse, rtol=1e-7)
    assert known.aic == pytest.approx(fit.aic - 2, rel=1e-12)  # θ not counted
    sm_fit = smf.glm(FORMULA, quine, family=sm.families.NegativeBinomial(
        alpha=1 / fit.theta)).fit(tol=1e-15)  # at 1e-13 it stops 1.4e-7 short of the MLE
    np.testing.assert_allclose(known.params.to_numpy(), sm_fit.params.to_numpy(), rtol=1e-7)
    np.testing.assert_allclose(known.bse.to_numpy(), sm_fit.bse.to_numpy(), rtol=1e-7)
    assert known.llf == pytest.approx(sm_fit.llf, rel=1e-10)
    assert known.deviance == pytest.approx(sm_fit.deviance, rel=1e-9)


def test_theta_is_estimated_with_other_links_and_robust_se(quine):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ef.glm(FORMULA, quine, family="negative_binomial", link="sqrt").fit(
            cov_type="HC0")
    assert res.model.family.link_name == "sqrt" and res.theta > 0
    assert res.cov_type == "HC0" and np.all(np.isfinite(res.bse))


def test_array_interface_and_bad_theta(quine):
    y = quine["Days"].to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(y)), (quine["Eth"] == "N").to_numpy(float)])
    res = ef.GLM(y, x, family="negative_binomial").fit()
    assert res.theta > 0 and res.converged
    with pytest.raises(ef.InputError, match="theta must be a positive"):
        ef.GLM(y, x, family=NegativeBinomial(theta=0.0))
    with pytest.raises(ef.InputError, match="negative or not finite at row 0"):
        ef.GLM(np.r_[-1.0, y[1:]], x, family="negative_binomial")


def test_lr_test_between_nested_negative_binomial_fits(quine, fit):
    small = ef.glm("Days ~ Eth + Sex + Age", quine, family="negative_binomial").fit()
    test = ef.lr_test(small, fit)
    assert test.df == 1
    assert test.statistic == pytest.approx(2 * (fit.llf - small.llf))
    # R: anova(glm.nb(Days ~ Eth + Sex + Age), glm.nb(Days ~ Eth + Sex + Age + Lrn))
    # gives LR stat. 2.501679, Pr(Chi) 0.113725.
    assert test.statistic == pytest.approx(2.501679, abs=2e-6)
    assert test.pvalue == pytest.approx(0.113725, abs=2e-6)


def test_studentized_residuals_follow_rstudent(fit):
    """R divides Williams' residuals by the leave-one-out sigma for the negative
    binomial (every family but the binomial and Poisson); R's own glm.nb
    estimates agree with ours to about 1e-6, hence the tolerance."""
    ref = pd.read_csv(ROOT / "r" / "results" / "nb_quine_rstudent.csv")
    infl = fit.get_influence()
    np.testing.assert_allclose(infl.hat_matrix_diag.to_numpy(), ref["hat"], rtol=1e-5)
    np.testing.assert_allclose(infl.resid_studentized.to_numpy(), ref["rstudent"], rtol=5e-5)
