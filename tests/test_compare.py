"""ef.compare: generative models and their twins, cross-validation, learning curves."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

import expfam as ef

matplotlib.use("Agg")


def test_lda_against_logit_table_report_and_learning_curve():
    pima = ef.datasets.load("pima")
    cmp = ef.compare("diabetes ~ glucose + bmi + pedigree + age", pima, folds=3)
    table = cmp.table()
    assert ("coefficients: lda ~ logit", "glucose") in table.index
    assert ("held-out", "auc") in table.index
    assert table.loc[("held-out", "accuracy"), ("lda", "estimate")] > 0.7
    np.testing.assert_allclose(table.loc[("coefficients: lda ~ logit", "glucose"),
                                         ("logit", "estimate")],
                               ef.logit("diabetes ~ glucose + bmi + pedigree + age", pima)
                               .fit().params["glucose"], rtol=1e-12)
    assert "Box's M" in str(cmp)
    curve = cmp.learning_curve(sizes=[20, 100], repeats=2)
    assert set(curve["model"]) == {"lda", "logit"}
    assert set(curve["size"]) == {20, 100}
    ax = cmp.plot_learning_curve(curve)
    assert len(ax.get_lines()) >= 2


def test_every_generative_model_with_its_twin():
    pima = ef.datasets.load("pima")
    formula = "diabetes ~ glucose + bmi"
    cmp = ef.compare(formula, pima, models=["lda", "qda", "naive_bayes", "logit"], folds=3)
    names = [c.name for c in cmp.models]
    assert names == ["lda", "qda", "naive_bayes", "logit", "qda twin", "naive_bayes twin"]
    assert cmp.pairs() == [("lda", "logit"), ("qda", "qda twin"),
                           ("naive_bayes", "naive_bayes twin")]
    table = cmp.table()
    section = "coefficients: qda ~ qda twin"
    direct = ef.logit(formula + " + I(glucose ** 2) + I(bmi ** 2) + glucose:bmi", pima).fit()
    np.testing.assert_allclose(table.loc[section][("qda twin", "estimate")].to_numpy(),
                               direct.params.to_numpy(), rtol=1e-7)
    np.testing.assert_allclose(table.loc[section][("qda", "estimate")].to_numpy(),
                               ef.qda(formula, pima).fit().logistic_params().to_numpy())
    held = table.loc["held-out"]
    assert held.loc["accuracy"].notna().sum() == 12  # a mean and an SE for six models
    # Out-of-fold probabilities are kept for further plots (ROC, calibration).
    assert cmp.predictions["qda"].shape == (len(pima), 2)
    assert not cmp.predictions["qda"].isna().any().any()
    curve = cmp.learning_curve(sizes=[12, 60, 300], repeats=2)
    assert set(curve["model"]) == set(names)
    crossing = cmp.crossovers(curve)
    assert list(crossing["generative"]) == ["lda", "qda", "naive_bayes"]
    ax = cmp.plot_learning_curve(curve)
    assert len(ax.get_legend().get_texts()) == 6
    with pytest.raises(ef.InputError, match="unknown model"):
        ef.compare(formula, pima, models=["svm"])
    with pytest.raises(ef.InputError, match="unknown plot 'violin'"):
        cmp.plot("violin")


def test_crossovers_interpolate_on_the_log_scale():
    from expfam.comparison.learning import crossovers

    curve = pd.DataFrame({"size": [10, 10, 100, 100, 1000, 1000],
                          "model": ["g", "t"] * 3,
                          "error": [0.2, 0.3, 0.15, 0.15, 0.14, 0.10]})
    found = crossovers(curve, [("g", "t")])
    assert found.loc[0, "crossover"] == pytest.approx(100.0)
    assert found.loc[0, "verdict"] == "twin better from here on"
    flipped = curve.assign(error=[0.2, 0.3, 0.15, 0.18, 0.14, 0.10])
    # gap +0.03 at 100, −0.04 at 1000: crosses 3/7 of the way (on log size).
    assert crossovers(flipped, [("g", "t")]).loc[0, "crossover"] == pytest.approx(
        10 ** (2 + 3 / 7))


def test_reference_class():
    iris = ef.datasets.load("iris")
    formula = "species ~ sepal_length + sepal_width"
    with pytest.warns(ef.SeparationWarning):
        cmp = ef.compare(formula, iris, folds=3, reference="virginica")
    assert cmp.classes == ("virginica", "setosa", "versicolor")
    lda = cmp.fits["lda"].logistic_params()
    assert list(lda.columns) == ["setosa", "versicolor"]
    with pytest.warns(ef.SeparationWarning):
        direct = ef.mnlogit(formula, iris, reference="virginica").fit()
    np.testing.assert_allclose(cmp.fits["logit"].params.to_numpy(), direct.params.to_numpy(),
                               rtol=1e-7)
    assert "reference 'virginica'" in str(cmp)
    with pytest.raises(ef.InputError, match="'rose' is not a class of 'species'"):
        ef.compare(formula, iris, reference="rose")


def test_repr_is_short():
    cars = ef.datasets.load("mtcars")
    cmp = ef.compare("am ~ wt + hp", cars)
    text = repr(cmp)
    assert text == ("<Comparison: am ~ wt + hp; models lda, logit; 32 rows, "
                    "5-fold cross-validation>")


def test_a_separated_fold_is_reported_and_does_not_decide_silently():
    # On mtcars one fold's logistic fit is separated and its held-out log-loss is
    # about 99: the mean log-loss favours LDA only because of that fold.
    cars = ef.datasets.load("mtcars")
    cmp = ef.compare("am ~ wt + hp", cars)  # the full-data fit is not separated
    fold = cmp.cv[(cmp.cv["model"] == "logit") & cmp.cv["separated"]]
    assert len(fold) == 1 and fold["log_loss"].iloc[0] > 50
    verdict = cmp.verdict("log_loss")
    assert verdict["best"] == "lda"
    assert verdict["decisive_folds"] == {int(fold["fold"].iloc[0]): "logit"}
    report = str(cmp)
    assert f"This rests on fold {int(fold['fold'].iloc[0])} alone" in report
    assert "logit in fold" in report and "Separated fits" in report


def test_needs_an_intercept_and_holds_out_the_asked_fraction():
    cars = ef.datasets.load("mtcars")
    with pytest.raises(ef.InputError, match="intercept"):
        ef.compare("am ~ wt + hp - 1", cars)
    iris = ef.datasets.load("iris")
    with pytest.warns(ef.SeparationWarning):  # setosa is separated by petal length
        cmp = ef.compare("species ~ petal_length", iris, folds=3)
    curve = cmp.learning_curve(repeats=1, test_fraction=0.4)
    assert curve["size"].max() <= 90  # 150 rows, 60 held out
    with pytest.raises(ef.InputError, match="only 90 rows"):
        cmp.learning_curve(sizes=[100], repeats=1, test_fraction=0.4)


def test_box_m_unavailable_is_reported():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(40, 4))
    y = np.r_[[0] * 37, [1] * 3]
    data = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(y=np.where(y, "s", "r"))
    with pytest.warns(ef.DataWarning, match="'s'"):
        cmp = ef.compare("y ~ a + b + c + d", data, folds=3)
        report = str(cmp)
    assert "Box's M: unavailable" in report and "differ" not in report


def test_ng_jordan_script_runs_on_a_small_dataset():
    from validation.ng_jordan import binarized, curve, datasets

    found = datasets()
    assert {"pima", "iris", "mtcars", "anes96", "breast_cancer", "wine", "digits"} <= set(found)
    cars = found["mtcars"][0]
    binary = binarized(cars)
    assert set(np.unique(binary.drop(columns="y").to_numpy())) == {0, 1}
    result = curve(binary, "binarized", repeats=1, seed=0)
    assert set(result["model"]) == {"naive_bayes", "logit"}
    assert result["error"].between(0, 1).all()
