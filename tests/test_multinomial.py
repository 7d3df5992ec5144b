"""Multinomial (categorical-family) GLMs: agreement with statsmodels and R, the
reference-class parameterisation, soft labels, one-vs-rest, and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.special import softmax

import expfam as ef
from expfam._kernels import softmax_gram
from expfam.families import Categorical
from validation.multinomial_cases import CASES, compare


def simulate(n: int, p: int, k: int, seed: int, scale: float = 0.6):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    logits = np.column_stack([np.zeros(n), X @ rng.normal(0, scale, (p, k - 1))])
    probs = softmax(logits, axis=1)
    y = (rng.random(n)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    return X, np.minimum(y, k - 1), probs


# -- validation against statsmodels' MNLogit and R's VGAM / nnet ----------------------
@pytest.mark.parametrize("name", list(CASES))
def test_case_agrees_with_statsmodels_and_r(name):
    table = compare(CASES[name])
    assert {"R VGAM::vglm", "R nnet::multinom"} <= set(table["reference"])
    failed = table[~table["ok"]]
    assert failed.empty, "\n" + failed.to_string()


def test_anes96_every_statistic_matches_mnlogit():
    data = sm.datasets.anes96.load_pandas()
    X = sm.add_constant(data.exog[["logpopul", "selfLR", "age", "educ", "income"]])
    res = ef.GLM(data.endog, X, family="categorical").fit()
    ref = sm.MNLogit(data.endog, X).fit(method="newton", disp=0, tol=1e-12)
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-6)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-5)
    np.testing.assert_allclose(res.pvalues, ref.pvalues, rtol=1e-5)
    np.testing.assert_allclose(res.cov_params(), ref.cov_params(), rtol=1e-5, atol=1e-12)
    for ours, theirs in [("llf", "llf"), ("llnull", "llnull"), ("aic", "aic"), ("bic", "bic"),
                         ("df_model", "df_model"), ("df_resid", "df_resid"),
                         ("prsquared", "prsquared"), ("llr_pvalue", "llr_pvalue")]:
        assert getattr(res, ours) == pytest.approx(getattr(ref, theirs), rel=1e-6), ours
    np.testing.assert_allclose(res.fittedvalues, ref.predict(), rtol=1e-6, atol=1e-12)
    assert list(res.params.columns) == [1, 2, 3, 4, 5, 6]  # integral floats: int labels


@given(seed=st.integers(0, 2**31), n=st.integers(150, 500), p=st.integers(1, 4),
       k=st.integers(3, 5))
def test_random_designs_agree_with_mnlogit(seed, n, p, k):
    X, y, _ = simulate(n, p, k, seed)
    assume(len(np.unique(y)) == k and np.bincount(y).min() >= 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.MNLogit(y, X).fit(method="newton", disp=0, tol=1e-12, maxiter=100)
    assume(ref.mle_retvals["converged"] and np.all(np.abs(ref.params) < 20))
    res = ef.GLM(y, X, family="categorical").fit()
    # R's deviance criterion (tol=1e-8) leaves the estimate ~1e-7 standard errors
    # from the exact optimum: relative 1e-6, or 1e-6 standard errors near zero.
    diff = np.abs(res.params.to_numpy() - ref.params)
    assert np.all(diff <= 1e-6 * np.maximum(np.abs(ref.params), ref.bse)), diff
    np.testing.assert_allclose(res.bse.to_numpy(), ref.bse, rtol=1e-5)
    assert res.llf == pytest.approx(ref.llf, rel=1e-9)


# -- properties ----------------------------------------------------------------------
@given(seed=st.integers(0, 2**31))
def test_two_classes_reproduce_the_bernoulli_fit(seed):
    X, y, _ = simulate(200, 3, 2, seed)
    assume(0 < y.sum() < 200)
    cat = ef.GLM(y, X, family="categorical").fit(tol=1e-13)
    bern = ef.GLM(y.astype(float), X, family="bernoulli").fit(tol=1e-13)
    assume(bern.converged and np.all(np.abs(bern.params) < 15))
    np.testing.assert_allclose(cat.params[1].to_numpy(), bern.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(cat.bse[1].to_numpy(), bern.bse, rtol=1e-9)
    assert cat.llf == pytest.approx(bern.llf, rel=1e-12)
    np.testing.assert_allclose(cat.fittedvalues[1], bern.fittedvalues, rtol=1e-9, atol=1e-13)


@given(seed=st.integers(0, 2**31))
def test_frequency_weights_equal_replicated_rows(seed):
    X, y, _ = simulate(90, 3, 3, seed)
    w = np.random.default_rng(seed).integers(0, 4, 90)
    rows = np.repeat(np.arange(90), w)
    assume(len(np.unique(y[rows])) == 3 and np.bincount(y[rows]).min() >= 3)
    try:
        rep = ef.GLM(y[rows], X[rows], family="categorical").fit(tol=1e-13)
    except ef.RankDeficientError:
        assume(False)
    assume(rep.converged and np.all(np.abs(rep.params.to_numpy()) < 15))
    wtd = ef.GLM(y, X, family="categorical", weights=w.astype(float)).fit(tol=1e-13)
    np.testing.assert_allclose(wtd.params, rep.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(wtd.bse, rep.bse, rtol=1e-8)
    for attr in ("llf", "llnull", "deviance", "aic", "bic", "nobs", "df_resid"):
        assert getattr(wtd, attr) == pytest.approx(getattr(rep, attr), rel=1e-8), attr


def test_changing_the_reference_re_expresses_the_same_fit():
    X, y, _ = simulate(400, 3, 4, 11)
    labels = np.array(["a", "b", "c", "d"])[y]
    res = ef.GLM(labels, X, family="categorical").fit(tol=1e-13)
    refit = ef.GLM(labels, X, family="categorical", reference="c").fit(tol=1e-13)
    moved = res.with_reference("c")
    assert moved.model.classes.reference == "c" and list(moved.params.columns) == ["a", "b", "d"]
    np.testing.assert_allclose(moved.params, refit.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(moved.cov_params(), refit.cov_params(), rtol=1e-8, atol=1e-14)
    assert moved.llf == pytest.approx(res.llf, rel=1e-14)
    np.testing.assert_allclose(moved.fittedvalues, res.fittedvalues, atol=1e-14)
    # Against c, class a's coefficients are β_a − β_c, and the old reference's −β_c.
    np.testing.assert_allclose(moved.params["a"], -res.params["c"], rtol=1e-12)
    np.testing.assert_allclose(moved.params["b"], res.params["b"] - res.params["c"], rtol=1e-12)
    assert ef.change_reference(res, "c").llf == moved.llf
    with pytest.raises(ef.InputError, match="reference='z' is not a class"):
        res.with_reference("z")


def test_offsets_per_class_or_shared():
    X, y, _ = simulate(300, 2, 3, 5)
    off = np.random.default_rng(1).normal(0, 0.3, 300)
    shared = ef.GLM(y, X, family="categorical", offset=off).fit()
    both = ef.GLM(y, X, family="categorical", offset=np.column_stack([off, off])).fit()
    np.testing.assert_allclose(shared.params, both.params, rtol=1e-12)
    with pytest.raises(ef.InputError, match=r"offset has shape \(300, 3\)"):
        ef.GLM(y, X, family="categorical", offset=np.zeros((300, 3)))


# -- soft labels -----------------------------------------------------------------------
def test_counts_equal_the_expanded_rows():
    X, _, _ = simulate(60, 2, 3, 2)
    counts = np.zeros((60, 3))
    rng = np.random.default_rng(0)
    for i in range(60):
        counts[i] = rng.multinomial(4, [0.3, 0.3, 0.4])
    rows = np.repeat(np.arange(60), 4)
    labels = np.concatenate([np.repeat(np.arange(3), c.astype(int)) for c in counts])
    grouped = ef.GLM(counts, X, family="categorical").fit()
    expanded = ef.GLM(labels, X[rows], family="categorical").fit()
    np.testing.assert_allclose(grouped.params, expanded.params, rtol=1e-8)
    np.testing.assert_allclose(grouped.bse, expanded.bse, rtol=1e-8)
    coef = ef.families.Categorical().log_base_measure(counts)
    assert grouped.llf == pytest.approx(expanded.llf + coef.sum(), rel=1e-10)
    assert grouped.nobs == 60


def test_probabilities_as_targets_recover_the_model():
    # Cross-entropy against the model's own probabilities is minimised at its
    # coefficients: the lecture notes' soft labels.
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(200), rng.normal(size=(200, 2))])
    beta = np.array([[0.5, -1.0], [1.0, 0.3], [-0.7, 0.8]])
    probs = softmax(np.column_stack([np.zeros(200), X @ beta]), axis=1)
    soft = ef.GLM(pd.DataFrame(probs, columns=["x", "y", "z"]), X, family="categorical").fit()
    np.testing.assert_allclose(soft.params.to_numpy(), beta, rtol=1e-7, atol=1e-9)
    assert list(soft.params.columns) == ["y", "z"]
    cross_entropy = -np.sum(probs * np.log(soft.fittedvalues.to_numpy()))
    assert soft.llf == pytest.approx(-cross_entropy, rel=1e-10)


@pytest.mark.parametrize("bad,match", [
    (np.array([[1.0, -1.0, 0.5]]), "non-negative"),
    (np.array([[0.0, 0.0, 0.0]]), "sum to zero"),
])
def test_bad_soft_labels(bad, match):
    counts = np.vstack([np.ones((9, 3)), bad])
    with pytest.raises(ef.DomainError, match=match):
        ef.GLM(counts, np.ones((10, 1)), family="categorical")


# -- prediction ------------------------------------------------------------------------
PARTIES = ["strong dem", "weak dem", "lean dem", "independent", "lean rep", "weak rep",
           "strong rep"]


@pytest.fixture(scope="module")
def anes() -> pd.DataFrame:
    data = sm.datasets.anes96.load_pandas().data
    party = pd.Categorical.from_codes(data["PID"].astype(int), categories=PARTIES)
    return data.assign(party=party)


def test_predict_probabilities_and_linear_predictors(anes):
    res = ef.mnlogit("party ~ selfLR + age + educ", anes.iloc[::2]).fit()
    new = anes.iloc[[1, 3, 5]].set_index(pd.Index(["p", "q", "r"]))
    probs = res.predict(new)
    assert list(probs.columns) == PARTIES and list(probs.index) == ["p", "q", "r"]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    lin = res.predict(new, which="linear")
    assert list(lin.columns) == PARTIES[1:]
    np.testing.assert_allclose(np.log(probs["weak rep"] / probs["strong dem"]), lin["weak rep"],
                               rtol=1e-12)


def test_summary_has_one_block_per_class(anes):
    res = ef.mnlogit("party ~ selfLR + age", anes, reference="independent").fit()
    text = str(res.summary())
    assert "Reference:    'independent'" in text
    assert "party = 'strong dem'" in text and "party = 'strong rep'" in text
    frame = res.summary().to_frame()
    assert frame.index.nlevels == 2 and len(frame) == 6 * 3


# -- one-vs-rest -----------------------------------------------------------------------
def test_one_vs_rest_fits_one_bernoulli_model_per_class():
    data = sm.datasets.anes96.load_pandas().data
    model = ef.mnlogit("PID ~ selfLR + age", data)
    ovr = model.fit_one_vs_rest()
    assert list(ovr.results) == [0, 1, 2, 3, 4, 5, 6]
    alone = ef.logit("I(PID == 3) ~ selfLR + age", data.assign(PID=data.PID)).fit()
    np.testing.assert_allclose(ovr.results[3].params.to_numpy(), alone.params.to_numpy(),
                               rtol=1e-9)
    probs = ovr.predict(data.head())
    assert probs.shape == (5, 7)
    np.testing.assert_allclose(ovr.predict(data.head(), normalize=True).sum(axis=1), 1.0)
    assert ovr.predict_class(data.head()).isin(range(7)).all()


# -- bad input -------------------------------------------------------------------------
def test_a_class_with_no_rows():
    y = pd.Categorical(["a", "b", "a", "b"], categories=["a", "b", "c"])
    with pytest.raises(ef.InputError, match="class\\(es\\) 'c' of the response have no rows"):
        ef.GLM(y, np.ones((4, 1)), family="categorical")


def test_an_unknown_reference_and_a_single_class():
    with pytest.raises(ef.InputError, match=r"reference='z' is not a class.*'a', 'b'"):
        ef.GLM(["a", "b", "a"], np.ones((3, 1)), family="categorical", reference="z")
    with pytest.raises(ef.InputError, match="only 1 class"):
        ef.GLM(["a", "a", "a"], np.ones((3, 1)), family="categorical")
    with pytest.raises(ef.InputError, match="reference= applies to a categorical"):
        ef.GLM([0.0, 1.0], np.ones((2, 1)), reference=1)


@pytest.mark.parametrize("shift", [0.0, 30.0], ids=["fast", "near-separated"])
def test_softmax_gram_is_the_kronecker_sum(rng, shift):
    # Block (j, k) of the categorical Hessian is Xᵀ diag(w·V_jk) X.  With class 1
    # all but certain (p_1 ≈ 1 − 1e-13) the fast route's subtraction would lose
    # every digit of the first diagonal block; the kernel must notice.
    n, p, k = 300, 3, 4
    exog = rng.standard_normal((n, p))
    weights = rng.uniform(0.5, 2.0, n)
    eta = rng.standard_normal((n, k - 1))
    eta[:, 0] += shift
    prob = Categorical().mean(eta)
    expected = sum(weights[i] * np.kron(np.diag(prob[i]) - np.outer(prob[i], prob[i]),
                                        np.outer(exog[i], exog[i])) for i in range(n))
    np.testing.assert_allclose(softmax_gram(exog, weights, prob), expected, rtol=1e-9,
                               atol=1e-12 * np.abs(expected).max())


def test_glm_with_the_categorical_family_is_mnlogit():
    anes = ef.datasets.load("anes96")
    via_glm = ef.glm("party ~ self_lr + age", anes, family="categorical",
                     reference="independent").fit()
    direct = ef.mnlogit("party ~ self_lr + age", anes, reference="independent").fit()
    pd.testing.assert_frame_equal(via_glm.params, direct.params)
    assert via_glm.model.classes.reference == "independent"
    with pytest.raises(ef.InputError, match="trials= does not apply"):
        ef.glm("party ~ age", anes, family="categorical", trials="age")
    with pytest.raises(ef.InputError, match="categorical family only"):
        ef.glm("vote ~ age", anes, family="bernoulli", reference=1)

