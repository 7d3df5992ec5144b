"""Publishable plots: convergence, ROC and calibration curves."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from sklearn.calibration import calibration_curve as sk_calibration
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc

import expfam as ef
from expfam.comparison.curves import (
    auc,
    calibration_curve,
    held_out_probabilities,
    plot_calibration,
    plot_roc,
    roc_curve,
)
from expfam.comparison.scoring import _auc

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def pima_comparison():
    return ef.compare("diabetes ~ glucose + bmi + age", ef.datasets.load("pima"))


def test_roc_curve_agrees_with_scikit_learn_with_ties(rng):
    y = rng.integers(0, 2, 300)
    p = np.round(rng.uniform(size=300), 1)  # many ties
    curve = roc_curve(y, p)
    fpr, tpr, _ = sk_roc(y, p, drop_intermediate=False)
    np.testing.assert_allclose(curve["fpr"], fpr, rtol=1e-15)
    np.testing.assert_allclose(curve["tpr"], tpr, rtol=1e-15)
    assert auc(curve) == pytest.approx(roc_auc_score(y, p), rel=1e-12)
    assert auc(curve) == pytest.approx(_auc(p, y.astype(float)), rel=1e-12)


def test_calibration_curve_agrees_with_scikit_learn(rng):
    p = rng.uniform(size=500)
    y = (rng.uniform(size=500) < p).astype(int)
    table = calibration_curve(y, p, bins=8)
    observed, predicted = sk_calibration(y, p, n_bins=8)
    np.testing.assert_allclose(table["observed"], observed, rtol=1e-12)
    np.testing.assert_allclose(table["predicted"], predicted, rtol=1e-12)
    assert table["count"].sum() == 500
    assert np.all(table["lower"] <= table["observed"]) and np.all(
        table["observed"] <= table["upper"])
    quantile = calibration_curve(y, p, bins=5, strategy="quantile")
    assert np.all(quantile["count"] == 100)


def test_held_out_probabilities_are_the_comparisons_folds(pima_comparison):
    held = held_out_probabilities(pima_comparison)
    n = pima_comparison.generative.nobs
    assert len(held) == 2 * n and held.groupby("model")["row"].nunique().eq(n).all()
    # Fold by fold, the AUC of these probabilities is the comparison's own score.
    for (fold, model), part in held.groupby(["fold", "model"]):
        cv = pima_comparison.cv
        expected = cv[(cv["fold"] == fold) & (cv["model"] == model)]["auc"].item()
        got = auc(roc_curve(part["truth"], part["probability"]))
        assert got == pytest.approx(expected, rel=1e-12)


def test_plots_have_titles_labels_and_legends_outside(pima_comparison):
    ax = plot_roc(pima_comparison)
    assert "held out" in ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("AUC" in text for text in labels) and len(labels) == 3
    ax = plot_calibration(pima_comparison)
    assert ax.get_legend().get_title().get_text() == "bars: 95% Wilson interval"
    fit = ef.logit("diabetes ~ glucose + bmi", ef.datasets.load("pima")).fit()
    assert "in-sample" in plot_roc(fit).get_title()
    gen = ef.lda("diabetes ~ glucose + bmi", ef.datasets.load("pima")).fit()
    assert "in-sample" in plot_calibration(gen).get_title()
    figure = ax.figure
    figure.canvas.draw()
    # Nothing sticks out of the figure: labels and the legend are not clipped.
    box = figure.bbox
    for artist in (ax.xaxis.label, ax.yaxis.label, ax.title, ax.get_legend()):
        extent = artist.get_window_extent()
        assert extent.x0 >= box.x0 - 1 and extent.x1 <= box.x1 + 1
        assert extent.y0 >= box.y0 - 1 and extent.y1 <= box.y1 + 1


def test_convergence_plot_has_integer_ticks_and_a_title():
    cars = ef.datasets.load("mtcars")
    ax = ef.logit("am ~ hp + wt", cars).fit().plot_convergence()
    ef.logit("am ~ hp + wt", cars).fit("lbfgs").plot_convergence(ax=ax)
    ax.figure.canvas.draw()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert all(float(t).is_integer() for t in ticks)
    assert ax.get_title().startswith("Convergence")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["IRLS (Newton)", "L-BFGS"]


def test_curves_refuse_more_classes_and_bad_input():
    with pytest.raises(ef.InputError, match="two classes"):
        plot_roc(ef.compare("species ~ sepal_length", ef.datasets.load("iris"), folds=2))
    with pytest.raises(ef.InputError, match="0/1"):
        roc_curve([0, 2], [0.1, 0.2])
    with pytest.raises(ef.InputError, match="both classes"):
        roc_curve([1, 1], [0.1, 0.2])
