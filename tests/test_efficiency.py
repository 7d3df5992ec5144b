"""Efron's (1975) efficiency of logistic regression versus the normal discriminant."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from expfam.comparison.efficiency import (
    _scaled_error_hessian,
    asymptotic_covariances,
    efron_efficiency,
    error_rate,
    expected_excess_errors,
)
from validation.efron_simulation import simulate

# Efron (1975), Table 1: equal priors, any p.
EFRON_TABLE = {0.5: 1.000, 1.0: 0.995, 1.5: 0.968, 2.0: 0.899, 2.5: 0.786, 3.0: 0.641,
               3.5: 0.486, 4.0: 0.343}


@pytest.mark.parametrize("prior", [0.5, 0.3, 0.1])
def test_tends_to_one_as_delta_shrinks(prior):
    assert efron_efficiency(1e-3, prior) == pytest.approx(1.0, abs=1e-4)
    assert efron_efficiency(0.05, prior, n_features=3) == pytest.approx(1.0, abs=1e-3)


def test_decreases_with_delta():
    values = [efron_efficiency(d) for d in np.linspace(0.25, 5, 20)]
    assert np.all(np.diff(values) < 0)
    assert 0 < values[-1] < values[0] <= 1


@pytest.mark.parametrize("delta", [2.5, 3.0, 3.5])
def test_efrons_range_for_interesting_distances(delta):
    # "between one half and two thirds as effective" is Efron's rounded summary;
    # his table runs from .786 at delta 2.5 to .486 at 3.5.
    assert 0.45 < efron_efficiency(delta) < 0.8


@pytest.mark.parametrize(("delta", "expected"), EFRON_TABLE.items())
def test_matches_efrons_table(delta, expected):
    assert efron_efficiency(delta) == pytest.approx(expected, abs=6e-4)


@pytest.mark.parametrize("delta", [1.0, 3.0])
def test_equal_priors_does_not_depend_on_dimension(delta):
    one = efron_efficiency(delta)
    assert [efron_efficiency(delta, n_features=p) for p in (2, 5)] == pytest.approx([one, one])


def test_unequal_priors_depend_on_dimension():
    assert efron_efficiency(3.0, 0.2, 1) != pytest.approx(efron_efficiency(3.0, 0.2, 4), abs=1e-3)


def _mixture(delta, prior, p, size, rng):
    y = rng.random(size) < prior
    x = rng.standard_normal((size, p))
    x[:, 0] += delta * (y - 0.5)
    return y, x


def test_logistic_covariance_is_inverse_monte_carlo_information():
    delta, prior, p = 2.0, 0.3, 3
    rng = np.random.default_rng(11)
    _, x = _mixture(delta, prior, p, 400_000, rng)
    prob = special.expit(np.log(prior / (1 - prior)) + delta * x[:, 0])
    xt = np.column_stack([np.ones(len(x)), x])
    info = (xt * (prob * (1 - prob))[:, None]).T @ xt / len(x)
    _, c_logistic = asymptotic_covariances(delta, prior, p)
    # Monte-Carlo error here is ~0.3-0.5%; compare on the scale of the diagonal.
    scale = np.sqrt(np.outer(np.diag(c_logistic), np.diag(c_logistic)))
    assert np.abs(np.linalg.inv(info) - c_logistic).max() / scale.max() < 0.01
    assert np.allclose(np.linalg.inv(c_logistic) @ np.linalg.inv(info), np.eye(p + 1),
                       atol=0.015)


def _lda_theta(phi, p):
    """(b, w) from phi = (pi_1, mu_0, mu_1, vec Sigma), with no simplification."""
    pi1, mu0, mu1 = phi[0], phi[1:1 + p], phi[1 + p:1 + 2 * p]
    sigma = phi[1 + 2 * p:].reshape(p, p)
    w = np.linalg.solve(sigma, mu1 - mu0)
    return np.concatenate([[np.log(pi1 / (1 - pi1)) - 0.5 * (mu1 + mu0) @ w], w])


@pytest.mark.parametrize(("delta", "prior", "p"), [(1.0, 0.5, 1), (2.5, 0.3, 3), (3.0, 0.8, 2)])
def test_lda_covariance_is_numerical_delta_method(delta, prior, p):
    mu1 = np.zeros(p)
    mu1[0] = delta / 2
    phi = np.concatenate([[prior], -mu1, mu1, np.eye(p).ravel()])
    h = 1e-6
    jac = np.column_stack([(_lda_theta(phi + h * e, p) - _lda_theta(phi - h * e, p)) / (2 * h)
                           for e in np.eye(len(phi))])
    # Per-observation covariance of phi_hat: independent blocks.
    eye = np.eye(p)
    vec_sigma = np.einsum("ik,jl->ijkl", eye, eye) + np.einsum("il,jk->ijkl", eye, eye)
    cov_phi = np.zeros((len(phi), len(phi)))
    cov_phi[0, 0] = prior * (1 - prior)
    cov_phi[1:1 + p, 1:1 + p] = eye / (1 - prior)
    cov_phi[1 + p:1 + 2 * p, 1 + p:1 + 2 * p] = eye / prior
    cov_phi[1 + 2 * p:, 1 + 2 * p:] = vec_sigma.reshape(p * p, p * p)
    c_lda, _ = asymptotic_covariances(delta, prior, p)
    np.testing.assert_allclose(c_lda, jac @ cov_phi @ jac.T, atol=1e-6)


@pytest.mark.parametrize(("delta", "prior", "p"), [(1.5, 0.5, 1), (2.5, 0.3, 3)])
def test_error_hessian_matches_finite_differences(delta, prior, p):
    theta = np.zeros(p + 1)
    theta[:2] = np.log(prior / (1 - prior)), delta
    h = 1e-4
    steps = np.eye(p + 1) * h

    def er(t):
        return float(error_rate(t[0], t[1:], delta, prior))

    fd = np.array([[(er(theta + si + sj) - er(theta + si - sj) - er(theta - si + sj)
                     + er(theta - si - sj)) / (4 * h * h) for sj in steps] for si in steps])
    a1 = np.log(prior / (1 - prior)) / delta + delta / 2
    hess = _scaled_error_hessian(delta, prior, p) * prior * np.exp(-a1**2 / 2) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(hess, fd, atol=1e-7)
    # The rule is unchanged by rescaling theta, so H is singular along theta*.
    np.testing.assert_allclose(hess @ theta, 0, atol=1e-12)


def test_error_rate_at_bayes_rule_and_scale_invariance():
    assert error_rate(0.0, [2.0], 2.0) == pytest.approx(special.ndtr(-1.0))
    assert error_rate(0.3, [1.0, 0.5], 2.0, 0.4) == pytest.approx(
        error_rate(3.0, [10.0, 5.0], 2.0, 0.4))
    assert error_rate(0.1, [2.0], 2.0) > error_rate(0.0, [2.0], 2.0)


def test_expected_excess_errors_ratio_is_efficiency():
    lda, logistic = expected_excess_errors(2.5, 1000, 0.3, 2)
    assert 0 < lda < logistic
    assert lda / logistic == pytest.approx(efron_efficiency(2.5, 0.3, 2), rel=1e-12)


@pytest.mark.parametrize("bad", [{"delta": 0.0}, {"delta": np.inf}, {"delta": 1.0, "prior": 1.0},
                                 {"delta": 1.0, "n_features": 0}])
def test_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        efron_efficiency(**bad)


def test_small_simulation_agrees_with_theory():
    result = simulate(2.0, n=400, reps=300, seed=3)
    assert result["used"] + result["separated"] + result["failed"] == 300
    assert result["used"] == 300
    assert abs(result["are"] - result["theory"]) < 4 * result["se"]
    assert result["are"] == pytest.approx(result["theory"], abs=0.1)
    # The mean excess errors themselves are near the first-order theory too.
    assert result["excess_logistic"].mean() == pytest.approx(
        result["theory_excess_logistic"], rel=0.25)


# -- Gaussian naive Bayes (shared variances) against logistic regression ----------------
def test_naive_bayes_with_one_feature_is_efrons_lda():
    from expfam.comparison.efficiency import naive_bayes_efficiency

    for delta in (1.0, 2.5, 3.5):
        for prior in (0.5, 0.3):
            assert naive_bayes_efficiency(delta, prior) == pytest.approx(
                efron_efficiency(delta, prior), rel=1e-12)


def test_naive_bayes_efficiency_depends_on_where_the_signal_is():
    from expfam.comparison.efficiency import naive_bayes_efficiency

    one = naive_bayes_efficiency(2.5, 0.5, 4)
    assert naive_bayes_efficiency(2.5, 0.5, 4, direction=[0, 0, -3, 0]) == pytest.approx(one)
    spread = naive_bayes_efficiency(2.5, 0.5, 4, direction=np.ones(4))
    # Naive Bayes estimates p variances, LDA p(p+1)/2: logistic loses more to it.
    assert one < efron_efficiency(2.5, 0.5, 4)
    assert one != pytest.approx(spread, abs=1e-3)
    with pytest.raises(ValueError, match="direction"):
        naive_bayes_efficiency(2.5, 0.5, 4, direction=[1, 0])


def test_naive_bayes_covariance_is_the_fitted_delta_method():
    # Two derivations: the closed form here, and NaiveBayesResults' complex-step delta
    # method evaluated at a large sample's estimates (close to the truth).
    import expfam as ef
    from expfam.comparison.efficiency import naive_bayes_covariance

    rng = np.random.default_rng(3)
    n, p, delta, prior = 200_000, 3, 2.0, 0.3
    u = np.array([0.6, 0.0, 0.8])
    y = (rng.random(n) < prior).astype(int)
    x = rng.standard_normal((n, p)) + np.outer(y - 0.5, delta * u)
    fit = ef.NaiveBayes(y, x, families="gaussian", variance="shared").fit()
    expected = naive_bayes_covariance(delta, prior, p, u)
    found = n * fit.logistic_cov_params().to_numpy()
    np.testing.assert_allclose(found, expected, atol=0.03 * np.abs(expected).max())


def test_naive_bayes_simulation_agrees_with_theory():
    from validation.efron_pairs import scenarios
    from validation.efron_pairs import simulate as simulate_pair

    found = simulate_pair(scenarios()[0], n=400, reps=80, seed=1)
    assert found["separated"] == 0
    assert abs(found["efficiency"] - found["theory"]) < 3 * found["se"]
