"""The GLM fitter: agreement with statsmodels, and the invariances of maximum likelihood.

Tolerances: estimates 1e-6 relative, standard errors 1e-5, likelihood-based
quantities 1e-6 (the issue's standard), unless a test states otherwise.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.special import expit

import expfam as ef

SM_FAMILY = {"bernoulli": sm.families.Binomial, "binomial": sm.families.Binomial,
             "poisson": sm.families.Poisson, "gaussian": sm.families.Gaussian}


def simulate(family, n, p, seed, scale=0.5, trials=None):
    """A random design with an intercept, and a response drawn from the model."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    beta = rng.normal(0, scale, p)
    eta = X @ beta
    if family == "bernoulli":
        y = (rng.random(n) < expit(eta)).astype(float)
    elif family == "binomial":
        y = rng.binomial(np.asarray(trials, dtype=np.int64), expit(eta)).astype(float)
    elif family == "gaussian":
        y = eta + rng.normal(0, 0.7, n)
    else:
        y = rng.poisson(np.exp(eta)).astype(float)
    return X, y


def assert_matches_statsmodels(res, ref, *, llf=True):
    # R's deviance criterion (tol=1e-8) leaves the estimate ~1e-7 standard errors
    # from the exact optimum: relative 1e-6, or 1e-6 standard errors near zero.
    diff = np.abs(np.asarray(res.params) - np.asarray(ref.params))
    scale = np.maximum(np.abs(np.asarray(ref.params)), np.asarray(ref.bse))
    assert np.all(diff <= 1e-6 * scale + 1e-12), diff / scale
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-5)
    if llf:
        np.testing.assert_allclose(res.llf, ref.llf, rtol=1e-6)
        # statsmodels leaves a Gaussian's variance out of its AIC; R (and expfam)
        # count it.
        np.testing.assert_allclose(res.aic, ref.aic + 2 * res.use_t, rtol=1e-6)
    np.testing.assert_allclose(res.deviance, ref.deviance, rtol=1e-6, atol=1e-9)


# -- agreement with statsmodels on random designs (hypothesis) ---------------
@given(seed=st.integers(0, 2**31), n=st.integers(40, 400), p=st.integers(1, 6),
       family=st.sampled_from(["bernoulli", "poisson", "gaussian"]))
def test_irls_agrees_with_statsmodels_on_random_designs(seed, n, p, family):
    X, y = simulate(family, n, p, seed)
    assume(family == "gaussian" or 0 < y.mean() < (1 if family == "bernoulli" else np.inf))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.GLM(y, X, family=SM_FAMILY[family]()).fit(tol=1e-13, maxiter=200)
    assume(ref.converged and np.all(np.abs(ref.params) < 15))  # no separation
    res = ef.GLM(y, X, family=family).fit()
    assert res.converged
    assert_matches_statsmodels(res, ref)


@given(seed=st.integers(0, 2**31), n=st.integers(20, 200))
def test_binomial_with_trials_agrees_with_statsmodels(seed, n):
    trials = np.random.default_rng(seed).integers(1, 20, n).astype(float)
    X, y = simulate("binomial", n, 3, seed, trials=trials)
    assume(0 < y.sum() < trials.sum())
    ref = sm.GLM(np.column_stack([y, trials - y]), X, family=sm.families.Binomial()).fit(
        tol=1e-13)
    assume(ref.converged and np.all(np.abs(ref.params) < 15))
    res = ef.GLM(y, X, family="binomial", trials=trials).fit()
    assert_matches_statsmodels(res, ref)
    np.testing.assert_allclose(res.pearson_chi2, ref.pearson_chi2, rtol=1e-6)


def test_binomial_accepts_successes_and_failures():
    X, y = simulate("binomial", 60, 2, 3, trials=np.full(60, 8))
    a = ef.GLM(y, X, family="binomial", trials=np.full(60, 8.0)).fit()
    b = ef.GLM(np.column_stack([y, 8 - y]), X, family="binomial").fit()
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    assert a.llf == pytest.approx(b.llf, rel=1e-12)


def test_binomial_counts_equal_expanded_bernoulli_rows():
    # Estimates and standard errors are those of the 0/1 rows; the likelihoods
    # differ by exactly the log binomial coefficients (R's convention for counts).
    X, y = simulate("binomial", 30, 3, 5, trials=np.full(30, 4))
    counts = ef.GLM(y, X, family="binomial", trials=np.full(30, 4.0)).fit()
    rows = np.repeat(np.arange(30), 4)
    y01 = (np.tile(np.arange(4), 30) < np.repeat(y, 4)).astype(float)
    bern = ef.GLM(y01, X[rows], family="bernoulli").fit()
    np.testing.assert_allclose(counts.params, bern.params, rtol=1e-8)
    np.testing.assert_allclose(counts.bse, bern.bse, rtol=1e-8)
    log_choose = np.sum(ef.families.Binomial().log_base_measure(y, np.full(30, 4.0)))
    assert counts.llf == pytest.approx(bern.llf + log_choose, rel=1e-10)


def test_offset_agrees_with_statsmodels(rng):
    X, y = simulate("poisson", 150, 3, 11)
    offset = rng.normal(0, 0.5, 150)
    y = rng.poisson(np.exp(X @ [0.3, 0.2, -0.4] + offset)).astype(float)
    ref = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(tol=1e-13)
    res = ef.GLM(y, X, family="poisson", offset=offset).fit()
    assert_matches_statsmodels(res, ref)
    assert res.llnull == pytest.approx(ref.llnull, rel=1e-6)


def test_newton_and_irls_are_the_same_method():
    X, y = simulate("bernoulli", 200, 4, 2)
    a, b = ef.GLM(y, X).fit(method="irls"), ef.GLM(y, X).fit(method="newton")
    np.testing.assert_array_equal(a.params, b.params)


# -- invariances (hypothesis) --------------------------------------------------
@given(seed=st.integers(0, 2**31),
       family=st.sampled_from(["bernoulli", "poisson", "gaussian"]))
def test_frequency_weights_equal_replicated_rows(seed, family):
    X, y = simulate(family, 60, 3, seed)
    w = np.random.default_rng(seed + 1).integers(0, 4, 60).astype(float)
    assume(w.sum() > 10)
    assume(family == "gaussian" or (
        0 < np.dot(w, y) and (family != "bernoulli" or np.dot(w, 1 - y) > 0)))
    rows = np.repeat(np.arange(60), w.astype(int))
    # A tight tolerance, so that the comparison tests the likelihoods, not the
    # two different paths the solver takes to the same optimum.
    try:
        rep = ef.GLM(y[rows], X[rows], family=family).fit(tol=1e-13)
    except ef.RankDeficientError:
        assume(False)
    assume(rep.converged and np.all(np.abs(rep.params) < 15))
    wtd = ef.GLM(y, X, family=family, weights=w).fit(tol=1e-13)
    np.testing.assert_allclose(wtd.params, rep.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(wtd.bse, rep.bse, rtol=1e-8)
    for attr in ("llf", "llnull", "deviance", "null_deviance", "pearson_chi2", "aic", "bic",
                 "nobs", "df_resid", "df_model"):
        assert getattr(wtd, attr) == pytest.approx(getattr(rep, attr), rel=1e-8, abs=1e-9)


@given(seed=st.integers(0, 2**31))
def test_row_order_does_not_matter(seed):
    X, y = simulate("bernoulli", 80, 3, seed)
    assume(0 < y.sum() < 80)
    perm = np.random.default_rng(seed).permutation(80)
    a, b = ef.GLM(y, X).fit(tol=1e-13), ef.GLM(y[perm], X[perm]).fit(tol=1e-13)
    assume(a.converged and np.all(np.abs(a.params) < 15))
    np.testing.assert_allclose(a.params, b.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-9)
    assert a.llf == pytest.approx(b.llf, rel=1e-12)


@given(seed=st.integers(0, 2**31), column=st.integers(1, 2),
       factor=st.sampled_from([1e-3, 0.5, 7.0, 1e4]))
def test_rescaling_a_column_rescales_its_coefficient(seed, column, factor):
    X, y = simulate("poisson", 100, 3, seed)
    a = ef.GLM(y, X, family="poisson").fit(tol=1e-13)
    assume(a.converged)
    Xs = X.copy()
    Xs[:, column] *= factor
    b = ef.GLM(y, Xs, family="poisson").fit(tol=1e-13)
    expected = a.params.to_numpy().copy()
    expected[column] /= factor
    np.testing.assert_allclose(b.params, expected, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(b.bse.iloc[column], a.bse.iloc[column] / factor, rtol=1e-7)
    assert b.llf == pytest.approx(a.llf, rel=1e-10)


# -- the large-data path: sample warm start, chord steps, corrected covariance --
def test_large_data_path_matches_statsmodels():
    X, y = simulate("bernoulli", 230_000, 4, 7, scale=0.3)
    res = ef.GLM(y, X).fit()
    kinds = set(res.history["kind"])
    assert "chord" in kinds, "the warm start should have been used"
    ref = sm.Logit(y, X).fit(method="newton", disp=0, tol=1e-12)
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-6)
    assert res.llf == pytest.approx(ref.llf, rel=1e-10)


def test_single_precision_newton_step_is_checked_and_falls_back():
    # The Newton step after the chord phase uses a float32 Hessian; the covariance
    # comes from the float64 pass at the estimate, so standard errors are those of
    # a cold float64 fit.  A column beyond float32's range (its squares overflow)
    # sends that pass back to float64 and changes nothing but the units.
    X, y = simulate("bernoulli", 230_000, 4, 11, scale=0.3)
    res = ef.GLM(y, X).fit()
    cold = ef.GLM(y, X).fit(start_params=np.zeros(4))
    assert "chord" in set(res.history["kind"]) and "chord" not in set(cold.history["kind"])
    # Both stop at R's deviance criterion (tol=1e-8), from different starts.
    np.testing.assert_allclose(res.params, cold.params, rtol=1e-7)
    np.testing.assert_allclose(res.bse, cold.bse, rtol=1e-8)
    huge = X.copy()
    huge[:, 1] *= 1e25
    big = ef.GLM(y, huge).fit()
    np.testing.assert_allclose(big.params.iloc[1] * 1e25, res.params.iloc[1], rtol=1e-9)
    np.testing.assert_allclose(big.bse.iloc[1] * 1e25, res.bse.iloc[1], rtol=1e-9)


def test_weighted_gram_in_single_precision_is_close_to_double():
    from expfam.engine.kernels import weighted_gram

    rng = np.random.default_rng(3)
    X = rng.normal(size=(5000, 6)) * np.array([1, 1e-3, 1e3, 1, 10, 0.1])
    w = rng.random(5000)
    exact = weighted_gram(X, w)
    single = weighted_gram(X, w, np.float32)
    scale = np.sqrt(np.outer(np.diag(exact), np.diag(exact)))
    assert single.dtype == np.float64
    assert np.max(np.abs(single - exact) / scale) < 1e-5


def test_float32_and_integer_designs_are_not_copied_but_fit_alike():
    X, y = simulate("poisson", 300, 3, 4)
    X32 = X.astype(np.float32)
    a = ef.GLM(y, X32.astype(np.float64), family="poisson").fit()
    model = ef.GLM(y, X32, family="poisson")
    assert model.exog is X32
    np.testing.assert_allclose(model.fit().params, a.params, rtol=1e-10)
    Xi = np.column_stack([np.ones(300), np.arange(300) % 3]).astype(np.int64)
    b = ef.GLM(y, Xi, family="poisson").fit()
    c = ef.GLM(y, Xi.astype(float), family="poisson").fit()
    np.testing.assert_allclose(b.params, c.params, rtol=1e-12)


# -- convergence control ----------------------------------------------------------
def test_iteration_limit_warns_and_says_why():
    X, y = simulate("bernoulli", 200, 4, 2)
    with pytest.warns(ef.ConvergenceWarning, match="iteration limit.*max_iter=1"):
        res = ef.GLM(y, X).fit(max_iter=1)
    assert not res.converged


def test_separation_warns_even_when_the_deviance_criterion_is_met():
    # R's criterion is met as the deviance goes to 0; R and statsmodels still
    # warn, and so must we.
    x = np.linspace(-1, 1, 40)
    y = (x > 0).astype(float)
    with pytest.warns(ef.SeparationWarning, match="completely separate the outcomes.*const, "
                                                  "x1 do not exist"):
        res = ef.GLM(y, ef.add_constant(x)).fit()
    assert res.solver.n_boundary > 0
    assert res.separation is not None and res.separation.complete


def test_separation_is_named_when_the_iteration_limit_stops_the_fit():
    x = np.linspace(-1, 1, 40)
    y = (x > 0).astype(float)
    with pytest.warns(ef.SeparationWarning), pytest.warns(
            ef.ConvergenceWarning, match="separated.*more iterations will not help.*firth"):
        ef.GLM(y, ef.add_constant(x)).fit(max_iter=8)


def test_non_convergence_names_scaling_and_collinearity():
    from expfam.engine.solvers import SolverResult
    from expfam.inference.diagnostics import why_not_converged

    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 2))
    exog = np.column_stack([np.ones(50), x[:, 0] * 1e7, x[:, 1] * 1e-2])
    hessian = exog.T @ exog
    record = SolverResult(coef=np.zeros(3), eta=np.zeros(50), loss=0.0, hessian=hessian,
                          converged=False, n_iter=3, method="irls",
                          message="iteration limit reached (max_iter=3)")
    text = why_not_converged("bernoulli", record, None, exog, ["const", "big", "small"])
    assert "differ in scale by" in text and "'big' against 'small'" in text
    near = np.column_stack([np.ones(50), x[:, 0], x[:, 0] + 1e-5 * x[:, 1]])
    record = SolverResult(coef=np.zeros(3), eta=np.zeros(50), loss=0.0,
                          hessian=near.T @ near, converged=False, n_iter=3, method="irls",
                          message="iteration limit reached (max_iter=3)")
    text = why_not_converged("bernoulli", record, None, near, ["const", "a", "b"])
    assert "nearly collinear" in text


def test_step_halving_recovers_from_a_bad_start():
    X, y = simulate("poisson", 200, 3, 9)
    res = ef.GLM(y, X, family="poisson").fit(start_params=[-12.0, 0.0, 0.0])
    ref = ef.GLM(y, X, family="poisson").fit()
    assert res.converged
    assert (res.history["step"] < 1).any(), "a step should have been halved"
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-8)


def test_history_records_each_pass():
    X, y = simulate("bernoulli", 100, 3, 1)
    hist = ef.GLM(y, X).fit().history
    assert list(hist.columns) == ["stage", "kind", "loss", "deviance", "grad_norm",
                                  "decrement", "step"]
    newton = hist[hist["kind"] == "newton"]
    assert np.all(np.diff(newton["deviance"]) <= 1e-9)
    assert hist["grad_norm"].iloc[-1] < 1e-8


# -- pandas in, pandas out ------------------------------------------------------------
def test_pandas_names_and_index():
    cars = ef.datasets.load("mtcars").set_index("model")
    res = ef.GLM(cars["am"], ef.add_constant(cars[["hp", "wt"]])).fit()
    assert list(res.params.index) == ["const", "hp", "wt"]
    assert res.model.endog_name == "am"
    assert res.fittedvalues.index.equals(cars.index)
    assert res.resid_pearson.index.equals(cars.index)


def test_array_columns_get_statsmodels_names():
    X, y = simulate("bernoulli", 50, 3, 0)
    assert ef.GLM(y, X).exog_names == ["const", "x1", "x2"]
    assert ef.GLM(y, X[:, 1:]).exog_names == ["x1", "x2"]


def test_add_constant():
    X = np.arange(6.0).reshape(3, 2)
    assert ef.add_constant(X).shape == (3, 3)
    assert ef.add_constant(ef.add_constant(X)).shape == (3, 3)
    frame = ef.add_constant(pd.DataFrame(X, columns=["a", "b"]), prepend=False)
    assert list(frame.columns) == ["a", "b", "const"]


def test_fits_in_a_forked_child_process():
    # The worker pool is per process: a child forked after a fit must not hang.
    import multiprocessing as mp

    X, y = simulate("bernoulli", 30_000, 3, 0, scale=0.3)
    parent = ef.GLM(y, X).fit().params.to_numpy()
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        child = pool.apply_async(_fit_params, (y, X)).get(timeout=60)
    np.testing.assert_allclose(child, parent, rtol=1e-12)


def _fit_params(y, X):
    return ef.GLM(y, X).fit().params.to_numpy()


def test_large_data_path_is_exact_with_a_heavy_tailed_predictor():
    # A Cauchy column: a few rows dominate the information.  The covariance must
    # still be the inverse information at the estimate.
    rng = np.random.default_rng(6)
    n = 220_000
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 2)), rng.standard_cauchy(n)])
    y = (rng.random(n) < expit(X @ [-1.0, 0.5, -0.5, 0.001])).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ef.SeparationWarning)  # extreme x: μ of 0 or 1
        res = ef.GLM(y, X).fit()
    ref = sm.Logit(y, X).fit(method="newton", disp=0, tol=1e-12)
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-7)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-7)


def test_large_data_path_recovers_when_the_sample_misleads():
    # A rare indicator that predicts the outcome perfectly within half its rows:
    # the sample may see it as separated, the full data do not.
    rng = np.random.default_rng(0)
    n = 240_000
    x = rng.normal(size=n)
    y = (rng.random(n) < expit(x)).astype(float)
    rare = np.zeros(n)
    rows = rng.choice(n, 400, replace=False)
    rare[rows] = 1.0
    y[rows[:200]], y[rows[200:]] = 1.0, 0.0
    X = np.column_stack([np.ones(n), x, rare])
    warm = ef.GLM(y, X).fit()
    cold = ef.GLM(y, X).fit(start_params=np.zeros(3))
    assert warm.converged
    np.testing.assert_allclose(warm.params, cold.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(warm.bse, cold.bse, rtol=1e-7)


def test_concurrent_fits_leave_blas_threads_as_they_were():
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    X, y = simulate("poisson", 50_000, 4, 3)
    with ThreadPoolExecutor(4) as pool:
        fits = list(pool.map(lambda _: ef.GLM(y, X, family="poisson").fit(), range(8)))
    after = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert after == before
    for fit in fits[1:]:
        np.testing.assert_allclose(fit.params, fits[0].params, rtol=1e-12)


def test_the_solver_fits_categorical_problems_like_statsmodels_mnlogit():
    # The categorical pieces of the kernels (m × m weight blocks, the IRLS start)
    # through the solver directly.
    from expfam.engine.problem import GLMProblem
    from expfam.engine.solvers import irls

    rng = np.random.default_rng(4)
    n, p, k = 600, 3, 4
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    logits = np.column_stack([np.zeros(n), X @ rng.normal(0, 0.7, (p, k - 1))])
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in probs])
    fam = ef.families.Categorical(n_classes=k)
    fit = irls(GLMProblem(X, fam.sufficient_stat(y), np.ones(n), None, fam))
    ref = sm.MNLogit(y, X).fit(method="newton", disp=0, tol=1e-12)
    np.testing.assert_allclose(fit.coef, ref.params, rtol=1e-7, atol=1e-10)
    cov = np.linalg.inv(fit.hessian)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), np.asarray(ref.bse).ravel(order="F"),
                               rtol=1e-6)
    assert -fit.loss == pytest.approx(ref.llf, rel=1e-9)
