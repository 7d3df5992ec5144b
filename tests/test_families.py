"""Property tests of the exponential-family contract, for every family.

∇A is the mean and ∇²A the variance (finite differences), the likelihood sums
to one where it can be enumerated, the inverse link inverts the mean, the
deviance is twice the gap to the saturated model, and values stay finite and
accurate at |η| = 800 in float32 and float64.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special

import expfam as ef
from expfam.families import (
    Bernoulli,
    Binomial,
    Categorical,
    Gamma,
    Gaussian,
    InverseGaussian,
    NegativeBinomial,
    Poisson,
    get_family,
)

SCALAR_FAMILIES = [Bernoulli(), Binomial(), Poisson(), Gaussian()]
etas = st.floats(-15, 15)


def central_difference(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


# -- derivatives of the log-partition ----------------------------------------
@pytest.mark.parametrize("family", SCALAR_FAMILIES, ids=lambda f: f.name)
@given(eta=etas)
def test_gradient_of_log_partition_is_the_mean(family, eta):
    fd = central_difference(family.log_partition, np.array([eta]))
    np.testing.assert_allclose(family.mean(np.array([eta])), fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("family", SCALAR_FAMILIES, ids=lambda f: f.name)
@given(eta=etas)
def test_hessian_of_log_partition_is_the_variance(family, eta):
    fd = central_difference(family.mean, np.array([eta]))
    np.testing.assert_allclose(family.variance(np.array([eta])), fd, rtol=1e-6, atol=1e-9)


categorical_etas = st.integers(2, 6).flatmap(
    lambda k: st.lists(st.floats(-10, 10), min_size=k - 1, max_size=k - 1)
).map(np.array)


@given(eta=categorical_etas)
def test_categorical_gradient_and_hessian(eta):
    fam = Categorical()
    m = eta.size
    grad = np.array([central_difference(lambda x, e=e: fam.log_partition(eta + x * e), 0.0)
                     for e in np.eye(m)])
    np.testing.assert_allclose(fam.mean(eta), grad, rtol=1e-6, atol=1e-9)
    hess = np.array([central_difference(lambda x, e=e: fam.mean(eta + x * e), 0.0)
                     for e in np.eye(m)])
    np.testing.assert_allclose(fam.variance(eta), hess, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("family", [*SCALAR_FAMILIES, Categorical()], ids=lambda f: f.name)
def test_cumulants_agree_with_separate_methods(family, rng):
    shape = (200, 3) if family.vector_natural else (200,)
    eta = rng.normal(0, 5, shape)
    a, mu, var = family.cumulants(eta)
    np.testing.assert_allclose(a, family.log_partition(eta), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(mu, family.mean(eta), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(var, family.variance(eta), rtol=1e-12, atol=1e-300)
    a2, mu2 = family.log_partition_and_mean(eta)
    np.testing.assert_allclose(a2, a, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(mu2, mu, rtol=1e-13, atol=1e-300)


# -- the link: natural parameter from mean ------------------------------------
@pytest.mark.parametrize("family", SCALAR_FAMILIES, ids=lambda f: f.name)
@given(eta=etas)
def test_natural_from_mean_inverts_the_mean(family, eta):
    back = family.natural_from_mean(family.mean(np.array([eta])))
    np.testing.assert_allclose(back, [eta], rtol=1e-9, atol=1e-9)


@given(eta=categorical_etas)
def test_categorical_natural_from_mean_inverts_the_mean(eta):
    fam = Categorical()
    np.testing.assert_allclose(fam.natural_from_mean(fam.mean(eta)), eta, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("family", SCALAR_FAMILIES, ids=lambda f: f.name)
@given(eta=st.floats(-8, 8))
def test_dual_log_partition_is_the_convex_conjugate(family, eta):
    mu = family.mean(np.array([eta]))
    expected = mu * eta - family.log_partition(np.array([eta]))
    np.testing.assert_allclose(family.dual_log_partition(mu), expected, rtol=1e-9, atol=1e-12)


# -- the likelihood is a distribution -----------------------------------------
@given(eta=etas)
def test_bernoulli_probabilities_sum_to_one(eta):
    ll = Bernoulli().loglike_obs(np.array([0.0, 1.0]), np.array([eta, eta]))
    assert np.exp(ll).sum() == pytest.approx(1.0, rel=1e-12)


@given(eta=st.floats(-6, 6), n=st.integers(1, 25))
def test_binomial_probabilities_sum_to_one(eta, n):
    y = np.arange(n + 1.0)
    ll = Binomial().loglike_obs(y, np.full(n + 1, eta), trials=np.full(n + 1, n))
    assert np.exp(ll).sum() == pytest.approx(1.0, rel=1e-10)
    np.testing.assert_allclose(np.exp(ll), _binom_pmf(y, n, special.expit(eta)), rtol=1e-10)


def _binom_pmf(y, n, p):
    from scipy import stats

    return stats.binom.pmf(y, n, p)


@given(eta=st.floats(-5, 5))
def test_poisson_probabilities_sum_to_one(eta):
    mu = np.exp(eta)
    y = np.arange(0.0, np.ceil(mu + 30 * np.sqrt(mu) + 50))
    ll = Poisson().loglike_obs(y, np.full(y.size, eta))
    assert np.exp(ll).sum() == pytest.approx(1.0, rel=1e-10)


@given(eta=st.floats(-50, 50))
def test_gaussian_density_integrates_to_one_and_is_the_normal(eta):
    from scipy import integrate, stats

    fam = Gaussian()
    total, _ = integrate.quad(lambda y: np.exp(fam.loglike_obs(np.array([y]),
                                                               np.array([eta])))[0],
                              eta - 40, eta + 40, points=[eta])
    assert total == pytest.approx(1.0, rel=1e-10)
    y = np.array([eta - 1.5, eta, eta + 3.0])
    np.testing.assert_allclose(fam.loglike_obs(y, np.full(3, eta)),
                               stats.norm.logpdf(y, loc=eta), rtol=1e-12)


@given(eta=categorical_etas)
def test_categorical_probabilities_sum_to_one(eta):
    k = eta.size + 1
    fam = Categorical(n_classes=k)
    ll = fam.loglike_obs(np.arange(k), np.tile(eta, (k, 1)))
    assert np.exp(ll).sum() == pytest.approx(1.0, rel=1e-12)


@given(eta=st.lists(st.floats(-4, 4), min_size=2, max_size=3).map(np.array),
       total=st.integers(1, 4))
def test_multinomial_counts_sum_to_one(eta, total):
    k = eta.size + 1
    counts = np.array([c for c in itertools.product(range(total + 1), repeat=k)
                       if sum(c) == total], dtype=float)
    ll = Categorical().loglike_obs(counts, np.tile(eta, (len(counts), 1)))
    assert np.exp(ll).sum() == pytest.approx(1.0, rel=1e-10)


# -- score and deviance -------------------------------------------------------
@pytest.mark.parametrize("family,y,trials", [
    (Bernoulli(), 1.0, None), (Bernoulli(), 0.0, None), (Binomial(), 3.0, 7.0),
    (Poisson(), 4.0, None), (Gaussian(), -2.5, None),
])
@given(eta=st.floats(-6, 6))
def test_score_is_the_derivative_of_the_loglikelihood(family, y, trials, eta):
    tr = None if trials is None else np.array([trials])
    fd = central_difference(lambda e: family.loglike_obs(np.array([y]), e, tr), np.array([eta]))
    np.testing.assert_allclose(family.score(np.array([y]), np.array([eta]), tr), fd,
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("family,y,trials", [
    (Bernoulli(), 1.0, None), (Binomial(), 3.0, 7.0), (Binomial(), 0.0, 5.0),
    (Poisson(), 4.0, None), (Poisson(), 0.0, None), (Gaussian(), 3.5, None),
])
@given(eta=st.floats(-6, 6))
def test_deviance_is_twice_the_gap_to_the_saturated_model(family, y, trials, eta):
    tr = None if trials is None else np.array([trials])
    yy = np.array([y])
    t = y / (1.0 if trials is None else trials)
    # Saturated log-likelihood: A*(t) per trial, plus the base measure.
    n = 1.0 if trials is None else trials
    ll_sat = n * family.dual_log_partition(np.array([t])) + family.log_base_measure(yy, tr)
    dev = family.deviance(yy, np.array([eta]), trials=tr)
    expected = 2 * (ll_sat - family.loglike_obs(yy, np.array([eta]), tr))
    np.testing.assert_allclose(dev, expected, rtol=1e-9, atol=1e-9)
    assert dev >= 0


@given(eta=categorical_etas)
def test_categorical_deviance_vanishes_at_the_saturated_fit(eta):
    fam = Categorical()
    probs = fam.mean(eta)
    assert fam.unit_deviance(probs, eta) == pytest.approx(0.0, abs=1e-9)


# -- softmax shift invariance -------------------------------------------------
@given(logits=st.lists(st.floats(-20, 20), min_size=2, max_size=6).map(np.array),
       shift=st.floats(-500, 500))
def test_softmax_is_invariant_to_a_common_shift(logits, shift):
    fam = Categorical()
    expected = special.softmax(logits)[1:]
    for z in (logits, logits + shift):
        np.testing.assert_allclose(fam.mean(z[1:] - z[0]), expected, rtol=1e-9, atol=1e-300)


# -- numerics at the extremes -------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("family", [Bernoulli(), Binomial()], ids=lambda f: f.name)
def test_bernoulli_family_is_finite_and_accurate_at_800(family, dtype):
    eta = np.array([-800.0, -40.0, 0.0, 40.0, 800.0], dtype=dtype)
    a, mu, var = family.log_partition(eta), family.mean(eta), family.variance(eta)
    for arr in (a, mu, var):
        assert arr.dtype == dtype
        assert np.all(np.isfinite(arr))
    np.testing.assert_allclose(a, [0.0, np.exp(-40.0), np.log(2.0), 40.0, 800.0], rtol=1e-6)
    np.testing.assert_allclose(mu, [0.0, np.exp(-40.0), 0.5, 1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(var[1:4], [np.exp(-40.0), 0.25, np.exp(-40.0)], rtol=1e-5)
    y = np.array([1.0, 1.0, 0.0, 0.0, 0.0])
    ll = family.loglike_obs(y, eta)
    np.testing.assert_allclose(ll, [-800.0, -40.0, -np.log(2.0), -40.0, -800.0], rtol=1e-6)
    assert np.isfinite(family.deviance(y, eta))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_categorical_never_overflows(dtype):
    fam = Categorical()
    eta = np.array([[800.0, -800.0], [800.0, 800.0], [-800.0, -800.0], [0.0, 0.0]], dtype=dtype)
    a, mu, var = fam.log_partition(eta), fam.mean(eta), fam.variance(eta)
    assert all(np.all(np.isfinite(x)) for x in (a, mu, var))
    np.testing.assert_allclose(a, [800.0, 800.0 + np.log(2.0), 0.0, np.log(3.0)], rtol=1e-6)
    np.testing.assert_allclose(mu[1], [0.5, 0.5], rtol=1e-6)
    np.testing.assert_allclose(mu[2], [0.0, 0.0], atol=1e-30)
    ll = fam.loglike_obs(np.array([0, 1, 0, 2]), eta)
    # T·η − A(η) cancels to within one unit in the last place of |η| = 800.
    ulp = 800 * np.finfo(dtype).eps
    np.testing.assert_allclose(ll, [-800.0, -np.log(2.0), 0.0, -np.log(3.0)], rtol=1e-6,
                               atol=ulp)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_poisson_is_finite_wherever_the_mean_is_representable(dtype):
    fam = Poisson()
    top = 700.0 if dtype == np.float64 else 88.0
    eta = np.array([-800.0, 0.0, top], dtype=dtype)
    assert np.all(np.isfinite(fam.log_partition(eta)))
    assert fam.mean(eta).dtype == dtype
    # Beyond that, e^η itself is not representable: inf, without a warning.
    with np.errstate(over="raise"):
        assert np.isinf(fam.mean(np.array([800.0], dtype=dtype)))[0]


# -- names and support ---------------------------------------------------------
def test_families_by_name():
    assert isinstance(get_family("bernoulli"), Bernoulli)
    assert isinstance(get_family("Poisson"), Poisson)
    assert isinstance(get_family("gaussian"), Gaussian)
    assert isinstance(get_family(Binomial), Binomial)
    assert isinstance(ef.families.Categorical(), ef.families.ExponentialFamily)
    with pytest.raises(ef.InputError, match=r"unknown family 'weibull'.*bernoulli"):
        get_family("weibull")


@pytest.mark.parametrize("family,y,match", [
    (Bernoulli(), [0, 1, 2], "not 0 or 1 at row 2"),
    (Poisson(), [1, -1, 3], "negative at row 1"),
    (Binomial(), [1, 5], "outside 0..trials at row 1"),
])
def test_support_violations_name_the_rows(family, y, match):
    trials = np.array([4.0, 4.0]) if isinstance(family, Binomial) else None
    with pytest.raises(ef.DomainError, match=match):
        family.check_support(np.array(y, dtype=float), trials)


def test_trials_only_for_families_with_trials():
    with pytest.raises(ef.InputError, match="poisson family has no number of trials"):
        Poisson().loglike(np.array([1.0]), np.array([0.0]), trials=np.array([2.0]))


# -- accuracy for large counts --------------------------------------------------
@given(y=st.integers(0, 300), eta=st.floats(-3, 6))
def test_poisson_accurate_forms_equal_the_generic_ones(y, eta):
    fam = Poisson()
    yy, ee = np.array([float(y)]), np.array([eta])
    generic = y * eta - np.exp(eta) + fam.log_base_measure(yy)
    np.testing.assert_allclose(fam.loglike_obs(yy, ee), generic, rtol=1e-10, atol=1e-10)
    bregman = 2 * (fam.dual_log_partition(yy) - yy * eta + np.exp(eta))
    np.testing.assert_allclose(fam.unit_deviance(yy, ee), bregman, rtol=1e-8, atol=1e-10)


def test_poisson_likelihood_and_deviance_for_huge_counts():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    y = np.array([7.2e10, 7.2e10 + 3.1e5, 1e12 + 17.0, 25.0])
    eta = np.log(np.array([7.2e10 + 2.0e5, 7.2e10, 1e12, 20.0]))
    fam = Poisson()
    exact_ll = [float(mpmath.mpf(a) * mpmath.log(mpmath.mpf(m)) - m - mpmath.loggamma(a + 1))
                for a, m in zip(y, np.exp(eta), strict=True)]
    exact_dev = [float(2 * (mpmath.mpf(a) * mpmath.log(mpmath.mpf(a) / mpmath.mpf(m)) - a + m))
                 for a, m in zip(y, np.exp(eta), strict=True)]
    np.testing.assert_allclose(fam.loglike_obs(y, eta), exact_ll, rtol=1e-12)
    np.testing.assert_allclose(fam.unit_deviance(y, eta), exact_dev, rtol=1e-9)


# -- bad input to family methods ------------------------------------------------
def test_family_likelihoods_check_the_response():
    with pytest.raises(ef.DomainError, match="not 0 or 1"):
        Bernoulli().loglike(np.array([2.0]), np.array([0.0]))
    with pytest.raises(ef.DomainError, match="negative"):
        Poisson().deviance(np.array([-1.0]), np.array([0.0]))


def test_categorical_shapes_and_codes_are_checked():
    with pytest.raises(ef.InputError, match="3 classes but η has 1 columns"):
        Categorical().loglike(np.array([0, 1, 2]), np.zeros((3, 1)))
    with pytest.raises(ef.DomainError, match=r"not a class code in 0\.\.1 at row 2"):
        Categorical(n_classes=2).sufficient_stat(np.array([0, 1, 2]))


def test_categorical_deviance_survives_rounding_of_the_reference_share():
    # 1 − Σ t can round to −2e-16 here; the deviance must stay finite.
    dev = Categorical().deviance(np.array([[0.0, 9.0, 18.0, 1.0]]), np.zeros((1, 3)))
    assert np.isfinite(dev)


@given(eta=st.floats(-700, 700), y=st.sampled_from([0.0, 1.0]))
def test_bernoulli_loglikelihood_and_deviance_keep_relative_accuracy(eta, y):
    # log σ(η) at η = 40 is −4e-18: the generic y·η − A(η) would cancel it to 0.
    import mpmath

    exact = -float(mpmath.log1p(mpmath.exp(-eta if y == 1 else eta)))
    ll = Bernoulli().loglike_obs(np.array([y]), np.array([eta]))[0]
    assert ll == pytest.approx(exact, rel=1e-12, abs=1e-300)
    dev = Bernoulli().unit_deviance(np.array([y]), np.array([eta]))[0]
    assert dev == pytest.approx(-2 * exact, rel=1e-12, abs=1e-300)


def test_poisson_with_an_infinite_mean_has_no_likelihood():
    fam = Poisson()
    assert fam.loglike(np.array([3.0]), np.array([800.0])) == -np.inf
    assert fam.deviance(np.array([3.0]), np.array([800.0])) == np.inf


# -- Gamma, inverse Gaussian, negative binomial: natural parameter θ < 0 ------
NEGATIVE_THETA_FAMILIES = [Gamma(), InverseGaussian(), NegativeBinomial(theta=2.5)]
negative_thetas = st.floats(-6, -0.05)


@pytest.mark.parametrize("family", NEGATIVE_THETA_FAMILIES, ids=lambda f: f.name)
@given(theta=negative_thetas)
def test_new_families_gradient_and_hessian_of_log_partition(family, theta):
    x = np.array([theta])
    h = 1e-6 * max(1.0, abs(theta))
    np.testing.assert_allclose(family.mean(x), central_difference(family.log_partition, x, h),
                               rtol=1e-6)
    np.testing.assert_allclose(family.variance(x), central_difference(family.mean, x, h),
                               rtol=1e-5)
    np.testing.assert_allclose(family.natural_from_mean(family.mean(x)), x, rtol=1e-10)
    mu = family.mean(x)
    np.testing.assert_allclose(family.mean_variance(mu), family.variance(x), rtol=1e-10)
    np.testing.assert_allclose(family.dual_log_partition(mu),
                               mu * x - family.log_partition(x), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("family", [*SCALAR_FAMILIES, *NEGATIVE_THETA_FAMILIES],
                         ids=lambda f: f.name)
@given(u=st.floats(0.05, 0.95))
def test_variance_slope_is_the_derivative_of_the_variance_function(family, u):
    mu = np.array([u if family.name in ("bernoulli", "binomial") else 20 * u])
    fd = central_difference(family.mean_variance, mu, 1e-6)
    np.testing.assert_allclose(family.variance_slope(mu), fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("family,y", [(Gamma(), 2.5), (InverseGaussian(), 0.7),
                                      (NegativeBinomial(theta=2.5), 3.0),
                                      (NegativeBinomial(theta=0.4), 0.0)])
@given(theta=negative_thetas)
def test_new_families_score_and_deviance(family, y, theta):
    yy, x = np.array([y]), np.array([theta])
    fd = central_difference(lambda e: family.loglike_obs(yy, e), x, 1e-6)
    np.testing.assert_allclose(family.score(yy, x), fd, rtol=1e-5, atol=1e-8)
    ll_sat = family.dual_log_partition(yy) + family.log_base_measure(yy)
    np.testing.assert_allclose(family.deviance(yy, x), 2 * (ll_sat - family.loglike_obs(yy, x)),
                               rtol=1e-8, atol=1e-9)


@given(theta=st.floats(-4, -0.2))
def test_new_families_are_distributions(theta):
    from scipy import integrate, stats

    x = np.array([theta])
    gamma, ig = Gamma(), InverseGaussian()
    # Unit dispersion: the Gamma is the exponential distribution with mean −1/θ.
    y = np.array([0.3, 1.0, 4.0])
    np.testing.assert_allclose(gamma.loglike_obs(y, np.full(3, theta)),
                               stats.expon.logpdf(y, scale=-1 / theta), rtol=1e-12)
    mu = ig.mean(x)[0]
    np.testing.assert_allclose(ig.loglike_obs(y, np.full(3, theta)),
                               stats.invgauss.logpdf(y, mu), rtol=1e-10)
    f = lambda v: np.exp(ig.loglike_obs(np.array([v]), x))[0]  # noqa: E731
    total = integrate.quad(f, 0, mu, limit=200)[0] + integrate.quad(f, mu, np.inf, limit=200)[0]
    assert total == pytest.approx(1.0, rel=1e-7)
    nb = NegativeBinomial(theta=1.7)
    counts = np.arange(0.0, 2000.0)
    ll = nb.loglike_obs(counts, np.full(counts.size, theta))
    assert np.exp(ll).sum() == pytest.approx(1.0, rel=1e-9)
    m = nb.mean(x)[0]
    pmf = stats.nbinom.pmf(counts[:20], 1.7, 1.7 / (1.7 + m))
    np.testing.assert_allclose(np.exp(ll[:20]), pmf, rtol=1e-10)


def test_new_family_errors_name_rows_and_theta():
    with pytest.raises(ef.InputError, match=r"not positive at rows? 1"):
        ef.GLM([1.0, 0.0, 2.0], np.ones((3, 1)), family="gamma")
    with pytest.raises(ef.InputError, match=r"not positive at row 2"):
        ef.GLM([1.0, 3.0, -2.0], np.ones((3, 1)), family="inverse_gaussian")
    for bad in (0.0, -1.0, np.inf):
        with pytest.raises(ef.InputError, match="theta must be a positive"):
            NegativeBinomial(theta=bad)
    with pytest.raises(ef.InputError, match="cannot take the 'logit' link; its links are: "
                                            "log, identity, sqrt"):
        get_family("poisson", link="logit")
