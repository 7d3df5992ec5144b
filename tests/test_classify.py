"""One prediction interface for classifiers: predict_proba and labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import expfam as ef


@pytest.fixture(scope="module")
def pima():
    return ef.datasets.load("pima")


def test_bernoulli_probabilities_of_both_levels_and_labels(pima):
    res = ef.logit("diabetes ~ glucose + bmi", pima).fit()
    mean = res.predict(pima)
    proba = res.predict_proba(pima)
    assert list(proba.columns) == ["No", "Yes"]
    np.testing.assert_array_equal(proba["Yes"], mean)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-15)
    labels = res.predict_class(pima)
    expected = np.where(mean > 0.5, "Yes", "No")
    assert list(labels) == list(expected)
    # statsmodels' Logit gives the same event probability.
    ref = sm.Logit((pima["diabetes"] == "Yes").astype(float),
                   sm.add_constant(pima[["glucose", "bmi"]])).fit(disp=0)
    np.testing.assert_allclose(proba["Yes"], ref.predict(), rtol=1e-6)


def test_unlabelled_bernoulli_columns_are_0_and_1():
    cars = ef.datasets.load("mtcars")
    res = ef.logit("am ~ hp + wt", cars).fit()
    assert list(res.predict_proba().columns) == [0, 1]
    assert set(res.predict_class()) <= {0, 1}


def test_multinomial_probabilities_are_the_mean_and_labels_the_argmax():
    anes = ef.datasets.load("anes96")
    res = ef.mnlogit("party ~ self_lr + age", anes).fit()
    proba = res.predict_proba(anes.head(20))
    pd.testing.assert_frame_equal(proba, res.predict(anes.head(20)), check_names=False)
    assert list(res.predict_class(anes.head(20))) == list(proba.idxmax(axis=1))


def test_one_vs_rest_probabilities_sum_to_one():
    anes = ef.datasets.load("anes96")
    ovr = ef.mnlogit("party ~ self_lr + age", anes).fit_one_vs_rest()
    proba = ovr.predict_proba(anes.head(10))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-14)
    assert list(ovr.predict_class(anes.head(10))) == list(proba.idxmax(axis=1))


def test_rows_that_cannot_be_predicted_stay_missing(pima):
    res = ef.logit("diabetes ~ glucose + bmi", pima).fit()
    new = pima.head(3).copy()
    new.loc[new.index[1], "bmi"] = np.nan
    labels = res.predict_class(new)
    assert labels.isna().tolist() == [False, True, False]


def test_counts_have_no_class_probabilities():
    breaks = ef.glm("breaks ~ wool", ef.datasets.load("warpbreaks"), family="poisson").fit()
    with pytest.raises(ef.InputError, match="classifiers"):
        breaks.predict_proba()
