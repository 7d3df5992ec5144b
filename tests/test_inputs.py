"""Bad input gets a clear error that says what is wrong and where."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import expfam as ef


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(30), rng.normal(size=(30, 2))])
    y = (rng.random(30) < 0.5).astype(float)
    return y, X


def test_nan_in_exog_names_column_and_rows(data):
    y, X = data
    X = X.copy()
    X[[4, 9], 2] = np.nan
    with pytest.raises(ef.InputError, match=r"column\(s\) 'x2' at rows 4, 9"):
        ef.GLM(y, X).fit()


def test_inf_in_a_dataframe_column_is_named(data):
    y, X = data
    frame = pd.DataFrame(X, columns=["const", "age", "dose"])
    frame.loc[7, "age"] = np.inf
    with pytest.raises(ef.InputError, match=r"'age' at row 7"):
        ef.GLM(y, frame).fit()


def test_nan_in_endog(data):
    y, X = data
    y = y.copy()
    y[3] = np.nan
    with pytest.raises(ef.InputError, match="endog is NaN or infinite at row 3"):
        ef.GLM(y, X)


@pytest.mark.parametrize("family,y,match", [
    ("bernoulli", 2.0, "not 0 or 1 at row 0"),
    ("poisson", -1.0, "negative at row 0"),
])
def test_response_outside_the_support(data, family, y, match):
    yy, X = data
    yy = yy.copy()
    yy[0] = y
    with pytest.raises(ef.DomainError, match=match):
        ef.GLM(yy, X, family=family)


def test_binomial_successes_above_trials(data):
    y, X = data
    with pytest.raises(ef.DomainError, match=r"outside 0..trials at row 0"):
        ef.GLM(np.r_[5.0, y[1:]], X, family="binomial", trials=np.full(30, 4.0))


def test_nonpositive_trials(data):
    y, X = data
    trials = np.ones(30)
    trials[5] = 0
    with pytest.raises(ef.InputError, match=r"trials must be positive.*row 5"):
        ef.GLM(y, X, family="binomial", trials=trials)


def test_trials_for_a_family_without_trials(data):
    y, X = data
    with pytest.raises(ef.InputError, match="trials= applies to the binomial family"):
        ef.GLM(y, X, family="poisson", trials=np.ones(30))


def test_non_integer_counts_warn(data):
    _, X = data
    with pytest.warns(ef.DataWarning, match="non-integer counts at row 0"):
        ef.GLM(np.r_[1.5, np.ones(29)], X, family="poisson")


def test_negative_weights(data):
    y, X = data
    w = np.ones(30)
    w[[2, 8]] = -1
    with pytest.raises(ef.InputError, match="weights must be non-negative; negative at rows 2, 8"):
        ef.GLM(y, X, weights=w)


def test_all_zero_weights(data):
    y, X = data
    with pytest.raises(ef.InputError, match="every weight is zero"):
        ef.GLM(y, X, weights=np.zeros(30))


def test_nan_weights(data):
    y, X = data
    with pytest.raises(ef.InputError, match="weights is NaN or infinite at row 1"):
        ef.GLM(y, X, weights=np.r_[1.0, np.nan, np.ones(28)])


@pytest.mark.parametrize("arg", ["weights", "offset", "trials"])
def test_mismatched_lengths(data, arg):
    y, X = data
    kwargs = {arg: np.ones(29)}
    family = "binomial" if arg == "trials" else "bernoulli"
    with pytest.raises(ef.InputError, match=f"{arg} has 29 rows but exog has 30"):
        ef.GLM(y, X, family=family, **kwargs)


def test_endog_and_exog_of_different_lengths(data):
    y, X = data
    with pytest.raises(ef.InputError, match="endog has 29 rows but exog has 30"):
        ef.GLM(y[:29], X)


def test_offset_of_the_wrong_shape(data):
    y, X = data
    with pytest.raises(ef.InputError, match=r"offset has shape \(30, 2\); expected one value"):
        ef.GLM(y, X, offset=np.zeros((30, 2)))


def test_different_pandas_indexes(data):
    y, X = data
    with pytest.raises(ef.InputError, match="different row indexes"):
        ef.GLM(pd.Series(y, index=np.arange(30) + 1), pd.DataFrame(X))


def test_unknown_family_and_method(data):
    y, X = data
    with pytest.raises(ef.InputError, match="unknown family 'logistic'"):
        ef.GLM(y, X, family="logistic")
    with pytest.raises(ef.InputError, match=r"unknown method 'bfgs'.*'irls'"):
        ef.GLM(y, X).fit(method="bfgs")


def test_no_rows_and_no_columns():
    with pytest.raises(ef.InputError, match="no rows"):
        ef.GLM(np.array([]), np.empty((0, 2)))
    with pytest.raises(ef.InputError, match="no columns"):
        ef.GLM(np.zeros(3), np.empty((3, 0)))


def test_non_numeric_exog_columns(data):
    y, X = data
    frame = pd.DataFrame({"const": 1.0, "x": X[:, 1], "group": list("ab") * 15})
    with pytest.raises(ef.InputError, match="non-numeric columns 'group'"):
        ef.GLM(y, frame)
    with pytest.raises(ef.InputError, match="dtype <U1, not numbers"):
        ef.GLM(y, np.array([["a"]] * 30))


def test_aliased_columns_are_named(data):
    y, X = data
    frame = pd.DataFrame(X, columns=["const", "a", "b"]).assign(c=lambda d: 2 * d["a"] - d["b"])
    with pytest.raises(ef.RankDeficientError, match="'c' is a linear combination of") as err:
        ef.GLM(y, frame).fit(aliased="raise")
    assert set(err.value.aliased["c"]) == {"a", "b"}


def test_a_column_of_zeros_is_named(data):
    y, X = data
    frame = pd.DataFrame(X, columns=["const", "a", "b"]).assign(z=0.0)
    with pytest.raises(ef.RankDeficientError, match="'z' is zero"):
        ef.GLM(y, frame).fit(aliased="raise")


@pytest.mark.parametrize("method", ["irls", "lbfgs"])
def test_aliased_coefficients_are_nan_and_the_rest_is_fitted(data, method):
    # R's default: fit the estimable columns, report the aliased ones as NA.
    y, X = data
    frame = pd.DataFrame(X, columns=["const", "a", "b"])
    with pytest.warns(ef.DataWarning, match="'c' is a linear combination of 'a', 'b'"):
        res = ef.GLM(y, frame.assign(c=lambda d: 2 * d["a"] - d["b"])).fit(method)
    ref = ef.GLM(y, frame).fit(method)
    assert np.isnan(res.params["c"]) and np.isnan(res.bse["c"]) and np.isnan(res.pvalues["c"])
    np.testing.assert_allclose(res.params.drop("c"), ref.params, rtol=1e-6)
    np.testing.assert_allclose(res.bse.drop("c"), ref.bse, rtol=1e-6)
    assert res.llf == pytest.approx(ref.llf) and res.aic == pytest.approx(ref.aic)
    assert res.df_model == ref.df_model and res.df_resid == ref.df_resid
    assert res.aliased == {"c": ["a", "b"]}
    assert np.isnan(res.cov_params().loc["c"]).all()
    with pytest.warns(ef.DataWarning):
        robust = ef.GLM(y, frame.assign(c=lambda d: 2 * d["a"] - d["b"])).fit(cov_type="HC1")
    np.testing.assert_allclose(robust.bse.drop("c"), ef.GLM(y, frame).fit(
        cov_type="HC1").bse, rtol=1e-6)
    assert "not defined because of singularities" in str(res.summary())
    np.testing.assert_allclose(res.predict(), ref.predict(), rtol=1e-8)
    with pytest.raises(ef.InputError, match="aliased must be"):
        ef.GLM(y, frame).fit(aliased="drop")


def test_start_params_of_the_wrong_length(data):
    y, X = data
    with pytest.raises(ef.InputError, match="start_params has 2 values; the model has 3"):
        ef.GLM(y, X).fit(start_params=[0.0, 0.0])


def test_ragged_exog():
    with pytest.raises(ef.InputError, match="not a rectangular table"):
        ef.GLM([0.0, 1.0], [[1.0, 2.0], [1.0]])


def test_missing_values_in_a_nullable_column_are_reported_as_missing(data):
    y, X = data
    endog = pd.Series(y.astype(bool)).astype("boolean")
    endog[4] = pd.NA
    with pytest.raises(ef.InputError, match="endog is NaN or infinite at row 4"):
        ef.GLM(endog, X)


def test_single_column_arrays_are_accepted(data):
    y, X = data
    a = ef.GLM(y[:, None], X, weights=np.ones((30, 1))).fit()
    b = ef.GLM(y, X).fit()
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)


def test_successes_and_failures_with_no_trials(data):
    _, X = data
    pairs = np.column_stack([np.ones(30), np.ones(30)])
    pairs[6] = 0
    with pytest.raises(ef.InputError, match="successes \\+ failures is zero at row 6"):
        ef.GLM(pairs, X, family="binomial")


def test_non_integer_trials_warn(data):
    y, X = data
    with pytest.warns(ef.DataWarning, match="non-integer successes or trials at row 0"):
        ef.GLM(y, X, family="binomial", trials=np.r_[1.5, np.ones(29)])


def test_nan_in_the_intercept_column_is_named_as_such(data):
    y, X = data
    X = X.copy()
    X[3, 0] = np.nan
    with pytest.raises(ef.InputError, match=r"column\(s\) 'const' at row 3"):
        ef.GLM(y, X).fit()


def test_add_constant_to_new_data_with_a_constant_predictor():
    new = pd.DataFrame({"hp": [100.0, 100.0]})
    assert "const" not in ef.add_constant(new)  # statsmodels' default: a constant is there
    assert list(ef.add_constant(new, has_constant="add").columns) == ["const", "hp"]
    with pytest.raises(ef.InputError, match="already has a constant"):
        ef.add_constant(new, has_constant="raise")


def test_extreme_magnitudes_name_the_column(data):
    y, X = data
    X = X.copy()
    X[:, 2] *= 1e160
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no stray RuntimeWarnings on the way
        with pytest.raises(ef.NumericalError, match=r"'x2' \(up to .*e\+160\).*rescale"):
            ef.GLM(y, X).fit()


@pytest.mark.parametrize("family, value, match", [
    ("bernoulli", 0.0, r"is 0 \(no successes\) at every row.*−∞"),
    ("bernoulli", 1.0, r"is 1 \(all successes\) at every row.*\+∞"),
    ("binomial", 0.0, r"is 0 \(no successes\) at every row"),
    ("poisson", 0.0, r"is 0 at every row.*−∞"),
])
def test_a_response_with_one_value_is_refused(data, family, value, match):
    _, X = data
    with pytest.raises(ef.InputError, match=match):
        ef.GLM(np.full(len(X), value), X, family=family).fit()


def test_a_formula_response_with_one_class_is_refused():
    cars = ef.datasets.load("mtcars")
    with pytest.raises(ef.InputError, match=r"am is 0 \(no successes\) at every row"):
        ef.logit("am ~ hp", cars.assign(am=0)).fit()


def test_one_value_among_the_weighted_rows_is_refused(data):
    # The only rows with the other outcome carry no weight: nothing is left to model.
    y, X = data
    weights = np.where(y == 1, 1.0, 0.0)
    with pytest.raises(ef.InputError, match="at every row"):
        ef.GLM(y, X, weights=weights).fit()


@pytest.mark.parametrize("method, penalty, bad", [
    ("lbfgs", None, np.nan), ("gd", None, np.nan), ("sgd", None, np.nan),
    ("irls", "firth", np.inf), ("irls", "firth", np.nan),
])
def test_non_finite_exog_is_named_for_every_solver(data, method, penalty, bad):
    y, X = data
    frame = pd.DataFrame(X, columns=["const", "age", "dose"])
    frame.loc[3, "age"] = bad
    with pytest.raises(ef.InputError, match=r"column\(s\) 'age' at row 3"):
        ef.GLM(y, frame).fit(method=method, penalty=penalty)


@pytest.mark.parametrize("arg, family", [("offset", "bernoulli"), ("weights", "bernoulli"),
                                          ("trials", "binomial")])
def test_extreme_offsets_weights_and_trials_are_named(data, arg, family):
    y, X = data
    with pytest.raises(ef.InputError, match=f"{arg} reaches 1e\\+150 \\(at row 0\\)"):
        ef.GLM(y, X, family=family, **{arg: np.full(len(y), 1e150)}).fit()


def test_a_class_with_no_rows_in_a_formula_response_warns():
    cars = ef.datasets.load("mtcars")
    labels = pd.Categorical(["a"] * 16 + ["b"] * 16, categories=["a", "b", "c"])
    with pytest.warns(ef.DataWarning, match="class\\(es\\) 'c' of the response 'g' have no rows"):
        res = ef.mnlogit("g ~ hp", cars.assign(g=labels)).fit()
    assert list(res.params.columns) == ["b"]


def test_labels_as_an_array_response_point_to_formulas(data):
    _, X = data
    with pytest.raises(ef.InputError, match=r"must be numeric.*fit from a formula"):
        ef.GLM(np.array(["a", "b"] * (len(X) // 2)), X).fit()


@pytest.mark.parametrize("kwargs, match", [({"tol": -1e-8}, "tol must be a positive"),
                                           ({"tol": 0.0}, "tol must be a positive"),
                                           ({"max_iter": 0}, "max_iter must be a positive"),
                                           ({"max_iter": 2.5}, "max_iter must be a positive")])
def test_tolerance_and_iteration_limit_are_checked(data, kwargs, match):
    y, X = data
    with pytest.raises(ef.InputError, match=match):
        ef.GLM(y, X).fit(**kwargs)


def test_one_outcome_is_allowed_for_firth_and_without_an_intercept():
    rng = np.random.default_rng(0)
    x = rng.normal(size=20)
    firth = ef.GLM(np.zeros(20), ef.add_constant(x), family="bernoulli").fit(penalty="firth")
    assert np.all(np.isfinite(firth.params))
    # x = ±1 with y ≡ 0: the likelihood peaks at β = 0, a finite estimate.
    plain = ef.GLM(np.zeros(6), np.array([[-1.0], [1], [-2], [2], [-1], [1]])).fit()
    assert plain.converged and abs(plain.params.iloc[0]) < 1e-8


def test_nearly_collinear_columns_stay_a_rank_deficiency_error():
    # Within 1e-6 of collinear: aliasing (quickly), not a separation check.
    rng = np.random.default_rng(0)
    n = 50_000
    z, z2 = rng.normal(size=n), rng.normal(size=n)
    X = np.column_stack([np.ones(n), 1e4 + z, 1e4 + z + 1e-2 * z2])
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 * z + 0.05 * z2)))).astype(float)
    with pytest.raises(ef.RankDeficientError, match="'x2' is a linear combination"):
        ef.GLM(y, X).fit(aliased="raise")
