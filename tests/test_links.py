"""Links and non-canonical GLMs: the link's derivatives, the chain rule behind the
score and information, Fisher scoring against R, the observed information, step
control for means that can leave the family's range, and everything downstream
(robust covariances, profile intervals, tests, gradient solvers, predict, CLI)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import expfam as ef
from expfam.families import LINKS, get_family, get_link
from expfam.families.linked import LinkedFamily
from validation.compare import R_RESULTS
from validation.link_cases import LINK_CASES


def central_difference(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


# Where each link is smooth and its inverse valid (positive η for 1/μ², sqrt).
LINK_DOMAIN = {"1/mu^2": (0.1, 5.0), "sqrt": (0.1, 5.0), "inverse": (0.1, 5.0),
               "log": (-5.0, 5.0), "identity": (-5.0, 5.0),
               # Beyond these the probability is within ~1e-9 of 1 and g(g⁻¹(η)) loses digits.
               "cloglog": (-3.0, 2.5), "loglog": (-2.5, 3.0)}


@pytest.mark.parametrize("name", list(LINKS))
@given(u=st.floats(0.0, 1.0))
def test_link_derivatives_by_finite_differences(name, u):
    link = get_link(name)
    lo, hi = LINK_DOMAIN.get(name, (-3.0, 3.0))
    eta = np.array([lo + (hi - lo) * u])
    np.testing.assert_allclose(link.mu_eta(eta), central_difference(link.inverse, eta),
                               rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(link.mu_eta2(eta), central_difference(link.mu_eta, eta),
                               rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(link.link(link.inverse(eta)), eta, rtol=1e-8, atol=1e-8)


FAMILY_LINK_Y = [("bernoulli", "probit", 1.0), ("bernoulli", "cloglog", 0.0),
                 ("bernoulli", "loglog", 1.0), ("bernoulli", "cauchit", 0.0),
                 ("poisson", "identity", 3.0), ("poisson", "sqrt", 0.0),
                 ("gamma", "inverse", 2.0), ("gamma", "log", 0.5),
                 ("inverse_gaussian", "1/mu^2", 1.5), ("inverse_gaussian", "log", 0.4),
                 ("gaussian", "log", -1.0)]


def _eta_for(family: LinkedFamily, u: float) -> np.ndarray:
    """A linear predictor whose mean is well inside the family's range."""
    mu = 0.05 + 0.9 * u if family.name == "bernoulli" else 0.3 + 3 * u
    return family.natural_from_mean(np.array([mu]))


@pytest.mark.parametrize("family,link,y", FAMILY_LINK_Y)
@given(u=st.floats(0.0, 1.0))
def test_chain_rule_score_and_information(family, link, y, u):
    fam = get_family(family, link)
    assert isinstance(fam, LinkedFamily) and not fam.canonical
    eta, yy = _eta_for(fam, u), np.array([y])
    loglike = lambda e: fam.loglike_obs(yy, e)  # noqa: E731
    score = fam.score(yy, eta)
    np.testing.assert_allclose(score, central_difference(loglike, eta), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(fam.eta_score(yy, eta), score, rtol=1e-10, atol=1e-13)
    # The observed information is minus the score's derivative; the expected is
    # its value at t = μ.
    np.testing.assert_allclose(fam.observed_weight(yy, eta),
                               -central_difference(lambda e: fam.score(yy, e), eta),
                               rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(fam.observed_weight(fam.mean(eta), eta),
                               fam.fisher_weight(eta), rtol=1e-10)
    loss, grad, fisher, _ = fam.working(yy, eta)
    np.testing.assert_allclose(grad, -score, rtol=1e-10, atol=1e-13)
    # The loss is measured from the saturated model's like the deviance (a family
    # may shift both by a function of t, as the Gaussian does).
    np.testing.assert_allclose(loss - fam.saturated_row_loss(yy), fam.unit_deviance(yy, eta) / 2,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fisher, fam.fisher_weight(eta), rtol=1e-10)


def test_natural_link_is_the_fast_canonical_path():
    for family, link in [("bernoulli", "logit"), ("poisson", "log"), ("gaussian", "identity"),
                         ("binomial", None)]:
        fam = get_family(family, link)
        assert fam.canonical and not isinstance(fam, LinkedFamily)
    assert get_family("gamma").link_name == "inverse"
    assert get_family("inverse_gaussian").link_name == "1/mu^2"
    assert get_family("negative_binomial").link_name == "log"


# -- against R's glm -----------------------------------------------------------
def _r_vcov(case: str, kind: str) -> pd.DataFrame:
    frame = pd.read_csv(R_RESULTS / f"{case}_vcov_{kind}.csv", index_col=0)
    frame.index = frame.columns = ["const" if c == "(Intercept)" else c.strip("`")
                                   for c in frame.columns]
    return frame


@pytest.mark.parametrize("case,kinds", [("spector_probit", ["HC0", "HC3"]),
                                        ("scotland_gamma_log", ["HC0", "HC3"]),
                                        ("warpbreaks_identity", ["HC0", "HC3"]),
                                        ("ucb_log", ["HC0", "HC3"])])
def test_robust_covariances_match_sandwich(case, kinds):
    c = LINK_CASES[case]()
    for kind in kinds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = c.fit_expfam(cov_type=kind).cov_params()
        theirs = _r_vcov(case, kind).loc[ours.index, ours.columns]
        # Entries compared on the matrix's scale (a near-zero covariance has no
        # relative digits to spare).
        np.testing.assert_allclose(ours, theirs, rtol=1e-5,
                                   atol=1e-6 * np.abs(theirs).to_numpy().max())


def test_cluster_by_row_is_hc1_under_a_link():
    c = LINK_CASES["spector_probit"]()
    n = len(c.endog)
    hc1 = c.fit_expfam(cov_type="HC1").cov_params()
    cl = c.fit_expfam(cov_type="cluster", groups=np.arange(n)).cov_params()
    np.testing.assert_allclose(cl, hc1, rtol=1e-10)


@pytest.mark.parametrize("case", ["spector_probit", "scotland_gamma_log",
                                  "warpbreaks_identity"])
def test_profile_intervals_match_r(case):
    res = LINK_CASES[case]().fit_expfam()
    ours = res.conf_int(method="profile")
    theirs = pd.read_csv(R_RESULTS / f"{case}_confint.csv").set_index("term")
    # R interpolates a spline through profile points: agreement to a few 1e-4.
    np.testing.assert_allclose(ours.loc[theirs.index], theirs, rtol=1e-3)
    # Ours are exact: with the coefficient fixed at an end (its column moved to
    # the offset), the scaled deviance rises by exactly χ²₁(0.95).
    from scipy import stats

    c = LINK_CASES[case]()
    name = c.exog.columns[1]
    for end in ours.loc[name]:
        sub = ef.GLM(c.endog, c.exog.drop(columns=name), family=c.family, link=c.link,
                     offset=end * c.exog[name], weights=c.weights).fit()
        gain = (sub.deviance - res.deviance) / res.scale
        assert gain == pytest.approx(stats.chi2.isf(0.05, 1), rel=1e-7)


def test_dispersion_and_t_tests_match_r():
    for case in ("scotland_gamma", "scotland_gamma_log", "mtcars_inverse_gaussian"):
        res = LINK_CASES[case]().fit_expfam()
        stats = pd.read_csv(R_RESULTS / f"{case}_stats.csv").set_index("statistic")["value"]
        coef = pd.read_csv(R_RESULTS / f"{case}_coef.csv").set_index("term")
        assert res.scale == pytest.approx(stats["dispersion"], rel=1e-9)
        assert res.use_t
        np.testing.assert_allclose(res.pvalues.loc[coef.index], coef["p_value"], rtol=1e-6)


# -- observed information --------------------------------------------------------
def test_observed_information_matches_statsmodels_probit():
    import statsmodels.api as sm

    c = LINK_CASES["spector_probit"]()
    res = c.fit_expfam(information="observed")
    probit = sm.Probit(c.endog, c.exog).fit(method="newton", disp=0, tol=1e-12)
    np.testing.assert_allclose(res.params, probit.params, rtol=1e-6)
    np.testing.assert_allclose(res.bse, probit.bse, rtol=1e-6)
    expected = c.fit_expfam()
    assert not np.allclose(res.bse, expected.bse, rtol=1e-4)
    assert "Information" in str(res.summary()) and "observed" in str(res.summary())
    assert "expected" in str(expected.summary())


def test_observed_information_is_the_hessian_of_the_loglikelihood():
    c = LINK_CASES["scotland_gamma_log"]()
    res = c.fit_expfam(information="observed")
    fam = res.model.family
    x = c.exog.to_numpy()
    beta = res.params.to_numpy()

    def score(b):
        return x.T @ fam.score(c.endog.to_numpy(), x @ b)

    steps = 1e-5 * res.bse.to_numpy()  # each coefficient on its own scale
    hess = np.array([(score(beta + h * e) - score(beta - h * e)) / (2 * h)
                     for h, e in zip(steps, np.eye(len(beta)), strict=True)])
    hess = (hess + hess.T) / 2
    cov = np.linalg.inv(-hess) * res.scale
    np.testing.assert_allclose(res.cov_params(), cov, rtol=1e-5)


def test_information_option_is_checked():
    with pytest.raises(ef.InputError, match="information must be"):
        LINK_CASES["spector_probit"]().fit_expfam(information="hessian")


# -- step control and starting values -------------------------------------------
def test_log_binomial_keeps_means_valid_and_reports_risk_ratios():
    res = LINK_CASES["ucb_log"]().fit_expfam()
    assert res.converged
    assert np.all(res.fittedvalues < 1) and np.all(res.fittedvalues > 0)


def test_identity_poisson_needs_valid_start():
    x = np.column_stack([np.ones(6), [-3.0, -2, -1, 1, 2, 3]])
    y = np.array([1.0, 1, 2, 4, 5, 7])
    model = ef.GLM(y, x, family="poisson", link="identity")
    res = model.fit()
    assert res.converged and np.all(res.fittedvalues > 0)
    with pytest.raises(ef.InputError, match=r"cannot find valid starting values: start_params "
                                            r"give .* at rows? .*specify start_params"):
        model.fit(start_params=[0.0, 1.0])
    again = model.fit(start_params=res.params.to_numpy() * 1.01)
    np.testing.assert_allclose(again.params, res.params, rtol=1e-8)


def test_estimate_beyond_the_valid_range_is_a_clear_error():
    # A count of 0 pulls the identity-link mean to 0 at x = −3: R stops with "no
    # valid set of coefficients"; expfam says the fit ran to the range's edge.
    x = np.column_stack([np.ones(6), [-3.0, -2, -1, 1, 2, 3]])
    with pytest.raises(ef.NumericalError, match="edge of the poisson family's range"):
        ef.GLM([0.0, 1, 2, 4, 5, 7], x, family="poisson", link="identity").fit()


def test_no_valid_start_is_a_clear_error():
    # No intercept and a design whose every fit puts some mean below 0.
    x = np.array([[1.0], [-1.0], [2.0]])
    with pytest.raises(ef.InputError, match="cannot find valid starting values"):
        ef.GLM([1.0, 2.0, 3.0], x, family="poisson", link="identity").fit()


# -- downstream: solvers, tests, predict, formulas, CLI ---------------------------
@pytest.mark.parametrize("case", ["spector_probit", "scotland_gamma_log"])
def test_gradient_solvers_reach_the_fisher_scoring_estimate(case):
    c = LINK_CASES[case]()
    ref = c.fit_expfam()
    for method in ("lbfgs", "gd"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = c.fit_expfam(method=method, max_iter=50_000)
        np.testing.assert_allclose(res.params, ref.params, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-5)


def test_formula_predict_wald_and_lr_tests_with_a_link():
    cars = ef.datasets.load("mtcars")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = ef.glm("am ~ hp + wt", cars, link="probit").fit()
        small = ef.logit("am ~ wt", cars, link="probit").fit()
    assert full.model.family.link_name == "probit"
    eta = full.predict(cars.head(3), which="linear")
    from scipy import stats

    np.testing.assert_allclose(full.predict(cars.head(3)), stats.norm.cdf(eta), rtol=1e-12)
    lr = ef.lr_test(small, full)
    assert lr.statistic == pytest.approx(2 * (full.llf - small.llf))
    wald = full.wald_test("hp")
    assert wald.statistic == pytest.approx(float(full.zvalues["hp"]) ** 2)
    with pytest.raises(ef.InputError, match="different families"):
        ef.lr_test(ef.logit("am ~ wt", cars).fit(), full)


def test_firth_needs_the_canonical_link():
    c = LINK_CASES["spector_probit"]()
    with pytest.raises(ef.InputError, match="canonical logit link"):
        c.fit_expfam(penalty="firth")
    with pytest.raises(ef.InputError, match="canonical logit link"):
        c.fit_expfam(method="firth")


def test_cli_takes_a_link(capsys):
    from expfam.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["fit", "am ~ hp + wt", "--data", "mtcars", "--link", "probit"]) == 0
    out = capsys.readouterr().out
    assert "probit" in out and "Fisher scoring" in out
    with pytest.raises(SystemExit):
        main(["fit", "am ~ hp", "--data", "mtcars", "--information", "both"])
    assert main(["fit", "breaks ~ wool + tension", "--data", "warpbreaks", "--family",
                 "negative_binomial", "--format", "text"]) == 0
    assert "Theta" in capsys.readouterr().out


def test_small_gamma_means_are_not_on_a_boundary():
    c = LINK_CASES["scotland_gamma_log"]()
    ref = c.fit_expfam()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ef.SeparationWarning)
        res = ef.GLM(c.endog * 1e-9, c.exog, family="gamma", link="log").fit()
    shift = np.log(1e-9) * (c.exog.columns == "const")
    np.testing.assert_allclose(res.params, ref.params + shift, rtol=1e-7)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-6)


def test_observed_equals_expected_for_a_link_linear_in_the_natural_parameter():
    # R's "inverse" Gamma link is η = −θ: the Hessian does not involve y.
    c = LINK_CASES["scotland_gamma"]()
    np.testing.assert_allclose(c.fit_expfam(information="observed").bse,
                               c.fit_expfam().bse, rtol=1e-9)
