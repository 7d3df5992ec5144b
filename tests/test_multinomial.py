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
from scipy import stats
from scipy.special import expit, softmax

import expfam as ef
from expfam.engine.kernels import softmax_gram
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


def four_classes() -> tuple[np.ndarray, np.ndarray]:
    """The review's setup: 400 rows, an intercept and two normal predictors, labels a–d."""
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(400), rng.normal(size=(400, 2))])
    logits = np.column_stack([np.zeros(400), X @ rng.normal(0, 0.6, (3, 3))])
    y = (rng.random(400)[:, None] > np.cumsum(softmax(logits, axis=1), axis=1)).sum(axis=1)
    return X, np.array(["a", "b", "c", "d"])[np.minimum(y, 3)]


@pytest.mark.parametrize("cov_type", ["HC0", "HC1", "cluster"])
def test_changing_the_reference_keeps_a_robust_covariance(cov_type):
    X, labels = four_classes()
    kwargs = {"groups": np.arange(400) % 25} if cov_type == "cluster" else {}
    res = ef.GLM(labels, X, family="categorical").fit(tol=1e-13, cov_type=cov_type, **kwargs)
    refit = ef.GLM(labels, X, family="categorical", reference="c").fit(
        tol=1e-13, cov_type=cov_type, **kwargs)
    moved = res.with_reference("c")
    assert moved.cov_type == cov_type
    np.testing.assert_allclose(moved.cov_params(), refit.cov_params(), rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(moved.bse, refit.bse, rtol=1e-8)
    np.testing.assert_allclose(moved.pvalues, refit.pvalues, rtol=1e-6, atol=1e-14)


def test_changing_the_reference_keeps_aliased_columns_nan():
    X, labels = four_classes()
    aliased = np.column_stack([X, 2 * X[:, 1]])
    with pytest.warns(ef.DataWarning, match="rank deficient"):
        res = ef.GLM(labels, aliased, family="categorical").fit(tol=1e-13)
    with pytest.warns(ef.DataWarning, match="rank deficient"):
        refit = ef.GLM(labels, aliased, family="categorical", reference="c").fit(tol=1e-13)
    moved = res.with_reference("c")
    assert moved.aliased == refit.aliased and moved.n_params == refit.n_params
    assert moved.params.loc["x3"].isna().all() and moved.bse.loc["x3"].isna().all()
    np.testing.assert_allclose(moved.params, refit.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(moved.bse, refit.bse, rtol=1e-8)
    np.testing.assert_allclose(moved.cov_params(), refit.cov_params(), rtol=1e-8, atol=1e-14)
    assert moved.df_model == refit.df_model and moved.aic == pytest.approx(refit.aic)


def test_changing_to_the_current_reference_gives_the_same_fit():
    X, labels = four_classes()
    res = ef.GLM(labels, X, family="categorical").fit(cov_type="HC0")
    same = ef.change_reference(res, "a")
    pd.testing.assert_frame_equal(same.params, res.params)
    pd.testing.assert_frame_equal(same.cov_params(), res.cov_params())
    assert same.cov_type == "HC0"


def test_changing_the_reference_keeps_the_separation_finding():
    X, labels = four_classes()
    labels = np.where(labels == "d", "a", labels)
    labels[X[:, 1] > 1.2] = "d"  # d exactly when x1 > 1.2: separated
    with pytest.warns(ef.SeparationWarning):
        res = ef.GLM(labels, X, family="categorical").fit()
    moved = res.with_reference("d")
    assert moved.separation is not None and moved.separation.separated
    np.testing.assert_array_equal(moved.separation.involved, res.separation.involved)
    # The direction is re-expressed as the coefficients are: still separating.
    d = moved.separation.direction
    eta = np.column_stack([np.zeros(400), X @ d])
    codes = np.array([moved.model.classes.internal.index(c) for c in labels])
    margin = eta[np.arange(400), codes][:, None] - eta
    assert np.all(margin >= -1e-9) and np.any(margin > 1e-6)


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


def fractional_cell() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """200 rows of multinomial counts (5 trials, 4 classes), and the same with 0.5
    added to one cell."""
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(200), rng.normal(size=(200, 2))])
    counts = np.array([rng.multinomial(5, [0.25] * 4) for _ in range(200)], dtype=float)
    soft = counts.copy()
    soft[0, 0] += 0.5
    return X, counts, soft


def test_the_base_measure_is_decided_row_by_row():
    X, counts, soft = fractional_cell()
    fam = Categorical()
    whole, mixed = fam.log_base_measure(counts), fam.log_base_measure(soft)
    assert mixed[0] == 0.0  # the fractional row: cross-entropy
    np.testing.assert_array_equal(mixed[1:], whole[1:])  # the others keep their coefficient
    with pytest.warns(ef.DataWarning, match="non-integer class counts .* at row 0"):
        res = ef.GLM(soft, X, family="categorical").fit()
    # The llf from first principles: multinomial pmfs of the integer rows at the
    # fitted probabilities, and the fractional row's total × −cross-entropy.
    p = res.fittedvalues.to_numpy()
    expected = (sum(stats.multinomial.logpmf(soft[i], soft[i].sum(), p[i])
                    for i in range(1, 200))
                + np.sum(soft[0] * np.log(p[0])))
    assert res.llf == pytest.approx(expected, rel=1e-12)


def test_soft_label_warnings_name_what_was_read():
    X, counts, _ = fractional_cell()
    probs = counts / counts.sum(axis=1, keepdims=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ef.GLM(probs, X, family="categorical")  # probabilities: no warning
        ef.GLM(counts, X, family="categorical")  # integer counts: none either
    with pytest.warns(ef.DataWarning, match="looks like percentages") as record:
        ef.GLM(100 * probs, X, family="categorical")
    assert len(record) == 1 and record[0].filename == __file__  # points at the caller


def test_probability_of_the_reference_is_accurate_in_the_tail():
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    y = (rng.random(300) < expit(3 * x)).astype(int)
    res = ef.GLM(y, np.column_stack([np.ones(300), x]), family="categorical").fit()
    new = np.column_stack([np.ones(2001), np.linspace(10, 20, 2001)])
    probs = res.predict(new)
    eta = res.predict(new, which="linear")[:, 0]
    assert np.all(probs >= 0) and np.all(np.isfinite(np.log(probs)))
    np.testing.assert_allclose(probs[:, 0], expit(-eta), rtol=1e-13)  # e^{-η}/(1 + e^{-η})
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-15)


def test_fitted_probabilities_and_residuals_in_a_near_separated_fit():
    # Class 1 all but certain for large x: the reference's fitted probability
    # reaches 1e-18, which one minus the others would round to 0 (or below).
    rng = np.random.default_rng(1)
    x = rng.normal(size=400)
    X = np.column_stack([np.ones(400), x])
    probs = softmax(np.column_stack([np.zeros(400), 12 * x, 1 + 0.5 * x]), axis=1)
    y = (rng.random(400)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    with pytest.warns(ef.SeparationWarning, match="not separated"):
        res = ef.GLM(np.minimum(y, 2), X, family="categorical").fit()
    exact = softmax(np.column_stack([np.zeros(400), res.linear_predictor.to_numpy()]), axis=1)
    assert exact[:, 0].min() < 1e-15
    fitted = res.fittedvalues.to_numpy()
    np.testing.assert_allclose(fitted, exact, rtol=1e-12)
    onehot = np.eye(3)[np.minimum(y, 2)]
    np.testing.assert_allclose(res.resid_pearson.to_numpy(), (onehot - exact) / np.sqrt(exact),
                               rtol=1e-10)
    assert res.pearson_chi2 == pytest.approx(np.sum((onehot - exact) ** 2 / exact), rel=1e-10)


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


def test_a_class_whose_rows_all_have_zero_weight():
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(90), rng.normal(size=90)])
    weights = np.r_[np.ones(60), np.zeros(30)]
    match = r"class\(es\) 'c' of the response have no rows with positive weight"
    with pytest.raises(ef.InputError, match=match):
        ef.GLM(np.repeat(list("abc"), 30), X, family="categorical", weights=weights)
    counts = np.zeros((90, 3))
    counts[np.arange(90), np.repeat([0, 1, 2], 30)] = 1.0
    with pytest.raises(ef.InputError, match="'c' of the response have no rows with positive"):
        ef.GLM(pd.DataFrame(counts, columns=list("abc")), X, family="categorical",
               weights=weights)


def test_labels_of_mixed_types():
    labels = np.array(["a", 1, "b"] * 30, dtype=object)
    with pytest.raises(ef.InputError, match=r"mixes labels of types int, str.*pandas Categorical"):
        ef.GLM(labels, np.ones((90, 1)), family="categorical")
    # A Categorical gives the order, so mixed types are fine there.
    ordered = pd.Categorical(labels, categories=["b", 1, "a"])
    res = ef.GLM(ordered, np.ones((90, 1)), family="categorical").fit()
    assert res.model.classes.reference == "b" and list(res.params.columns) == [1, "a"]


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

