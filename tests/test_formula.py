"""Formula models on DataFrames: terms, coding, responses, prediction, missing data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import expfam as ef
from validation.formula_cases import CASES, compare


@pytest.fixture
def cars() -> pd.DataFrame:
    return ef.datasets.load("mtcars")


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 300
    df = pd.DataFrame({
        "x1": rng.normal(size=n),
        "x2": rng.normal(2, 1, size=n),
        "g": rng.choice(["a", "b", "c"], size=n),
        "w": rng.integers(1, 4, size=n).astype(float),
    })
    eta = 0.3 + 0.8 * df["x1"] - 0.5 * (df["g"] == "b") + 0.4 * df["x1"] * df["x2"]
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    df["counts"] = rng.poisson(np.exp(0.2 + 0.3 * df["x1"]))
    return df


# -- validation against statsmodels' formula API and R ------------------------------
@pytest.mark.parametrize("name", list(CASES))
def test_formula_case_agrees_with_statsmodels_and_r(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ef.SeparationWarning)  # iris: R warns alike
        table = compare(CASES[name])
    expected = {"statsmodels formula", "R glm"}
    if CASES[name].family == "bernoulli":
        expected.add("statsmodels logit")
    assert set(table["reference"]) == expected
    failed = table[~table["ok"]]
    assert failed.empty, "\n" + failed.to_string()


# -- terms ------------------------------------------------------------------------
def test_names_follow_the_formula_with_interactions_last(frame):
    res = ef.glm("y ~ x1 + C(g) + x1:x2 + I(x1**2)", frame).fit()
    assert list(res.params.index) == ["Intercept", "x1", "C(g)[T.b]", "C(g)[T.c]",
                                      "I(x1 ** 2)", "x1:x2"]
    ref = smf.glm("y ~ x1 + C(g) + x1:x2 + I(x1**2)", frame,
                  family=sm.families.Binomial()).fit(tol=1e-13)
    np.testing.assert_allclose(res.params["x1:x2"], ref.params["x1:x2"], rtol=1e-7)
    assert res.llf == pytest.approx(ref.llf, rel=1e-10)
    assert list(res.bse.index) == list(res.params.index) == list(res.cov_params().index)


def test_removing_the_intercept(frame):
    for formula in ("y ~ x1 + x2 - 1", "y ~ 0 + x1 + x2"):
        res = ef.glm(formula, frame).fit()
        assert list(res.params.index) == ["x1", "x2"]
        assert res.df_model == 2  # no intercept: every coefficient counts
    # Without an intercept the null model is η = 0 (R), even with full dummy coding.
    res = ef.glm("y ~ 0 + C(g)", frame).fit()
    assert res.llnull == pytest.approx(len(frame) * np.log(0.5), rel=1e-12)


def test_reference_level_choices(frame):
    chosen = ef.glm("y ~ C(g, contr.treatment('c'))", frame).fit()
    assert [n.split("[")[-1] for n in chosen.params.index[1:]] == ["T.a]", "T.b]"]
    ordered = frame.assign(g=pd.Categorical(frame["g"], categories=["c", "a", "b"]))
    by_category = ef.glm("y ~ g", ordered).fit()
    assert list(by_category.params.index) == ["Intercept", "g[T.a]", "g[T.b]"]
    np.testing.assert_allclose(by_category.params.to_numpy(), chosen.params.to_numpy(),
                               rtol=1e-10)
    as_string = ef.glm("y ~ g", frame.assign(g=frame["g"].astype("string"))).fit()
    assert list(as_string.params.index) == ["Intercept", "g[T.b]", "g[T.c]"]


def test_polynomials_splines_and_stateful_transforms(frame):
    res = ef.glm("y ~ poly(x1, 2) + bs(x2, df=4) + scale(x1) + center(x2)", frame)
    names = res.exog_names
    assert "poly(x1, 2)[1]" in names and "bs(x2, df=4)[4]" in names
    fit = ef.glm("y ~ center(x2) + x1", frame).fit()
    new = pd.DataFrame({"x1": [0.0], "x2": [frame["x2"].mean() + 1.0]}, index=["one"])
    expected = fit.params["Intercept"] + fit.params["center(x2)"] * 1.0
    assert fit.predict(new, which="linear")["one"] == pytest.approx(expected, rel=1e-12)


def test_weights_offset_and_trials_by_name_or_array(frame):
    by_name = ef.glm("y ~ x1", frame, weights="w").fit()
    by_array = ef.glm("y ~ x1", frame, weights=frame["w"].to_numpy()).fit()
    np.testing.assert_allclose(by_name.params, by_array.params, rtol=1e-12)
    assert by_name.nobs == frame["w"].sum()
    off = np.log(np.full(len(frame), 2.0))
    rate = ef.glm("counts ~ x1", frame, family="poisson", offset=off).fit()
    plain = ef.glm("counts ~ x1", frame, family="poisson").fit()
    assert rate.params["Intercept"] == pytest.approx(plain.params["Intercept"] - np.log(2))
    ucb = ef.datasets.load("ucb_admissions").assign(n=lambda d: d.admitted + d.rejected)
    res = ef.glm("admitted ~ gender + dept", ucb, family="binomial", trials="n").fit()
    assert res.nobs == 12
    with pytest.raises(ef.InputError, match="weights='ww' is not a column"):
        ef.glm("y ~ x1", frame, weights="ww")


# -- the response ----------------------------------------------------------------------
def test_binary_responses_in_every_form(frame):
    base = ef.glm("y ~ x1", frame).fit()
    as_bool = ef.glm("y ~ x1", frame.assign(y=frame["y"] > 0)).fit()
    labels = frame.assign(y=np.where(frame["y"] > 0, "yes", "no"))
    as_str = ef.glm("y ~ x1", labels).fit()  # sorted: "no" < "yes", event "yes"
    as_cat = ef.glm("y ~ x1", labels.assign(
        y=pd.Categorical(labels["y"], categories=["no", "yes"]))).fit()
    for other in (as_bool, as_str, as_cat):
        np.testing.assert_allclose(other.params, base.params, rtol=1e-12)
    assert as_str.model.formula.response.event == "yes"
    assert "(1 = 'yes')" in str(as_str.summary())
    flipped = ef.glm("y ~ x1", labels.assign(
        y=pd.Categorical(labels["y"], categories=["yes", "no"]))).fit()
    np.testing.assert_allclose(flipped.params, -base.params, rtol=1e-10)


def test_response_with_the_wrong_number_of_levels(frame):
    with pytest.raises(ef.InputError, match=r"has 3 levels.*binary model needs exactly two"):
        ef.glm("g ~ x1", frame)
    with pytest.raises(ef.InputError, match="has 1 levels"):
        ef.glm("g ~ x1", frame.assign(g="a"))
    with pytest.raises(ef.DomainError, match="not 0 or 1"):
        ef.glm("counts ~ x1", frame.assign(counts=frame["counts"] + 1))


def test_logit_is_a_bernoulli_glm(frame):
    a = ef.logit("y ~ x1 + g", frame).fit()
    b = ef.GLM.from_formula("y ~ x1 + g", frame, family="bernoulli").fit()
    np.testing.assert_array_equal(a.params, b.params)


# -- prediction on new data -----------------------------------------------------------
def test_predict_rebuilds_the_design_and_keeps_the_index(frame):
    res = ef.glm("y ~ x1 + C(g) + x1:x2", frame).fit()
    new = frame.iloc[[5, 0, 9]].set_index(pd.Index(["p", "q", "r"]))
    pred = res.predict(new)
    assert list(pred.index) == ["p", "q", "r"]
    np.testing.assert_allclose(pred.to_numpy(), res.fittedvalues.iloc[[5, 0, 9]], rtol=1e-12)
    lin = res.predict(new, which="linear")
    np.testing.assert_allclose(lin, np.log(pred / (1 - pred)), rtol=1e-9)


def test_predict_unseen_levels(frame):
    res = ef.glm("y ~ x1 + g", frame).fit()
    new = pd.DataFrame({"x1": [0.1, 0.2, 0.3], "g": ["a", "zz", "c"]}, index=[7, 8, 9])
    with pytest.raises(ef.InputError,
                       match="column 'g' has level\\(s\\) 'zz' at the row labelled 8"):
        res.predict(new)
    pred = res.predict(new, unseen="nan")
    assert np.isnan(pred[8]) and np.isfinite(pred[[7, 9]]).all()
    known = res.predict(new.drop(index=8))
    np.testing.assert_allclose(pred[[7, 9]], known, rtol=1e-12)


def test_predict_missing_column_and_missing_values(frame):
    res = ef.glm("y ~ x1 + g", frame).fit()
    with pytest.raises(ef.InputError, match="lack the column\\(s\\) 'g'"):
        res.predict(pd.DataFrame({"x1": [0.0]}))
    new = pd.DataFrame({"x1": [0.1, np.nan, 0.3], "g": ["a", "b", None]})
    pred = res.predict(new)
    assert np.isfinite(pred[0]) and np.isnan(pred[1]) and np.isnan(pred[2])


def test_predict_unseen_level_of_a_numeric_column_coded_by_c(cars):
    # C(cyl) codes a numeric column: a new value is an unseen level, not the reference.
    res = ef.logit("am ~ C(cyl)", cars).fit()
    new = pd.DataFrame({"cyl": [4, 5, 8]}, index=["a", "b", "c"])
    with pytest.raises(ef.InputError,
                       match=r"column 'cyl'.*level\(s\) 5 at the row labelled 'b'"):
        res.predict(new)
    pred = res.predict(new, unseen="nan")
    assert np.isnan(pred["b"])
    np.testing.assert_allclose(pred[["a", "c"]], res.predict(new.drop(index="b")), rtol=1e-12)


def test_predict_reads_an_offset_column_from_the_new_data(frame):
    frame = frame.assign(exposure=np.log(frame["w"]))
    res = ef.glm("counts ~ x1", frame, family="poisson", offset="exposure").fit()
    new = frame.iloc[:4]
    np.testing.assert_allclose(res.predict(new), res.fittedvalues.iloc[:4], rtol=1e-12)
    np.testing.assert_allclose(res.predict(new, offset=np.zeros(4)),
                               res.predict(new.assign(exposure=0.0)), rtol=1e-12)
    with pytest.raises(ef.InputError, match="offset is the column 'exposure'"):
        res.predict(new.drop(columns="exposure"))


def test_backtick_quoted_column_names(frame):
    spaced = frame.rename(columns={"x1": "my x"})
    res = ef.logit("y ~ `my x` + np.log(x2**2)", spaced).fit()
    plain = ef.logit("y ~ x1 + np.log(x2**2)", frame).fit()
    np.testing.assert_allclose(res.params.to_numpy(), plain.params.to_numpy(), rtol=1e-12)
    assert "my x" in res.params.index


def test_unused_categories_are_dropped_as_r_does(frame):
    # R's drop.unused.levels: a category no row has gives no column of zeros.
    coded = frame.assign(g=pd.Categorical(frame["g"], categories=["a", "b", "c", "never"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = ef.logit("y ~ x1 + g", coded).fit()
    assert list(res.params.index) == ["Intercept", "x1", "g[T.b]", "g[T.c]"]


# -- missing data ---------------------------------------------------------------------
def test_rows_with_missing_values_are_dropped_and_counted(frame):
    holed = frame.copy()
    holed.loc[[3, 10], "x1"] = np.nan
    holed.loc[20, "g"] = None
    holed.loc[30, "y"] = np.nan
    res = ef.glm("y ~ x1 + g", holed).fit()
    assert res.nobs == len(frame) - 4
    assert res.model.formula.n_dropped == 4
    assert "4 dropped" in str(res.summary())
    assert not res.fittedvalues.index.isin([3, 10, 20, 30]).any()
    assert res.resid_deviance.index.equals(res.fittedvalues.index)
    complete = ef.glm("y ~ x1 + g", frame.drop(index=[3, 10, 20, 30])).fit()
    np.testing.assert_allclose(res.params, complete.params, rtol=1e-12)


def test_rows_where_a_transform_is_undefined_are_dropped_like_patsy(frame):
    shifted = frame.assign(z=frame["x2"] - 1.5)  # negative at some rows: log undefined
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's "invalid value in log"
        with pytest.warns(ef.DataWarning, match=r"'np.log\(z\)' is NaN at \d+ row"):
            res = ef.logit("y ~ np.log(z) + center(x1)", shifted).fit()
        ref = smf.logit("y ~ np.log(z) + center(x1)", shifted).fit(disp=0)
        with pytest.raises(ef.InputError, match=r"np.log\(z\)' is NaN"):
            ef.logit("y ~ np.log(z)", shifted, missing="raise")
    assert res.nobs == ref.nobs < len(frame)
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.bse.to_numpy(), ref.bse.to_numpy(), rtol=1e-8)
    assert res.model.formula.n_dropped == len(frame) - ref.nobs


def test_missing_raise_names_the_columns(frame):
    holed = frame.copy()
    holed.loc[[3, 10], "x1"] = np.nan
    holed.loc[4, "w"] = np.nan
    with pytest.raises(ef.InputError, match=r"missing values in 'x1' \(2 rows\), 'weights'"):
        ef.glm("y ~ x1 + g", holed, weights="w", missing="raise")


def test_a_missing_weight_drops_the_row(frame):
    holed = frame.copy()
    holed.loc[4, "w"] = np.nan
    res = ef.glm("y ~ x1", holed, weights="w").fit()
    assert res.model.formula.n_dropped == 1


# -- bad formulas -------------------------------------------------------------------
def test_bad_formulas(frame):
    with pytest.raises(ef.InputError, match="looks like 'y ~ x1 \\+ x2'"):
        ef.glm("x1 + x2", frame)
    with pytest.raises(ef.InputError, match="'nope', which is not a column"):
        ef.glm("y ~ x1 + nope", frame)
    with pytest.raises(ef.InputError, match="needs its data as a pandas DataFrame"):
        ef.glm("y ~ x1", frame.to_numpy())


def test_errors_name_the_users_rows_after_missing_rows_are_dropped(cars):
    # Positions among the kept rows would point at the wrong cars: labels do not.
    holed = cars.astype({"hp": float})
    holed.loc[1, "wt"] = np.nan
    holed.loc[3, "hp"] = np.inf
    with pytest.raises(ef.InputError, match="'hp' at the row labelled 3;"):
        ef.logit("am ~ hp + wt", holed).fit()
    labelled = cars.set_index("model")
    with pytest.raises(ef.DomainError, match="not 0 or 1 at the row labelled 'Datsun 710'"):
        ef.GLM(labelled["am"].mask(labelled.index == "Datsun 710", 2),
               ef.add_constant(labelled[["hp"]]))


def test_a_column_of_mixed_types_is_a_clear_error(frame):
    mixed = frame.copy()
    mixed["g"] = [1 if i % 2 else "a" for i in range(len(frame))]
    with pytest.raises(ef.InputError, match="column 'g' mixes values of types int, str"):
        ef.logit("y ~ x1 + g", mixed)


def test_predict_warns_that_an_array_offset_is_not_in_new_data(frame):
    res = ef.glm("counts ~ x1", frame, family="poisson", offset=np.log(frame["w"])).fit()
    with pytest.warns(ef.DataWarning, match="offset given as an array"):
        res.predict(frame.iloc[:3])
