"""Separation found by linear programming, named by term, for every family it affects."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import expfam as ef
from expfam.inference.separation import boundary_message, detect_separation


def test_complete_quasi_and_none():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    X = np.column_stack([np.ones(60), x])
    y = (x[:, 0] > 0).astype(float)
    complete = detect_separation(X, y)
    assert complete.separated and complete.complete
    # Quasi-complete: two identical rows on the boundary, one of each outcome.
    Xq, yq = np.vstack([X, [[1, 0, 0.5], [1, 0, 0.5]]]), np.r_[y, 0.0, 1.0]
    quasi = detect_separation(Xq, yq)
    assert quasi.separated and not quasi.complete
    assert quasi.involved[1]  # x1 determines the outcome; the LP direction uses it
    assert not detect_separation(X, rng.integers(0, 2, 60).astype(float)).separated


def test_binomial_counts_with_both_outcomes_are_not_separated():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    X = np.column_stack([np.ones(4), x])
    assert not detect_separation(X, np.array([0.0, 0.3, 0.6, 1.0])).separated
    assert detect_separation(X, np.array([0.0, 0.0, 1.0, 1.0])).separated


def test_multinomial_separation_names_the_terms():
    iris = ef.datasets.load("iris")
    with pytest.warns(ef.SeparationWarning, match="quasi-completely separate.*petal_length"):
        res = ef.mnlogit("species ~ petal_length + sepal_width", iris).fit()
    assert res.separation.separated
    assert "the values shown are where the fit stopped" in str(res.summary())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not separated: no warning at all
        ef.mnlogit("party ~ self_lr + age", ef.datasets.load("anes96")).fit()


def test_the_warning_says_what_the_check_found():
    X = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])
    none = detect_separation(X, np.array([0.0, 1.0, 0.0, 1.0]))
    text = boundary_message(3, "bernoulli", ["const", "x1"], none)
    assert "not separated" in text and "extreme values" in text
    found = detect_separation(X, np.array([0.0, 0.0, 1.0, 1.0]))
    text = boundary_message(4, "bernoulli", ["const", "x1"], found)
    assert "completely separate" in text and "fit with a penalty" in text


def _fit_warnings(model, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit(**kwargs)
    return res, [w for w in caught if issubclass(w.category, ef.SeparationWarning)]


def test_complete_separation_short_of_the_boundary_is_found():
    # IRLS stops with probabilities ~1e-11 from 0/1, not on the boundary: the large
    # linear predictor alone must trigger the check.
    data = pd.DataFrame({"x": [0, 0, 0, 1, 1, 1.0], "y": [0, 0, 0, 1, 1, 1.0]})
    res, found = _fit_warnings(ef.logit("y ~ x", data))
    assert res.solver.n_boundary == 0
    assert res.separation.separated and res.separation.complete
    assert len(found) == 1 and "completely separate" in str(found[0].message)
    assert "x" in str(found[0].message)


def test_quasi_separation_short_of_the_boundary_is_found():
    data = pd.DataFrame({"g": [0, 0, 0, 0, 0, 0, 1, 1], "y": [0, 1, 0, 1, 1, 0, 1, 1.0]})
    res, found = _fit_warnings(ef.logit("y ~ g", data))
    assert res.separation.separated and not res.separation.complete
    assert len(found) == 1 and "quasi-completely separate" in str(found[0].message)
    assert "g do not exist" in str(found[0].message)


def test_multinomial_separation_short_of_the_boundary_is_found():
    mtcars = ef.datasets.load("mtcars")
    res, found = _fit_warnings(ef.mnlogit("gear ~ mpg + C(am)", mtcars))
    assert res.separation.separated
    assert len(found) == 1 and "C(am)[T.1]" in str(found[0].message)


def test_an_unseparated_fit_does_not_warn():
    # Some fitted probabilities are close to 0 or 1, so the check may run; the LP
    # finds no separation and nothing is said.
    res, found = _fit_warnings(ef.logit("am ~ hp + wt", ef.datasets.load("mtcars")))
    assert res.separation is None or not res.separation.separated
    assert not found


def test_separation_behind_a_singular_information_is_not_called_aliasing():
    # The design (Intercept, mpg) has full rank; the class-expanded information
    # becomes singular only because the fit diverges.
    with pytest.raises(ef.NumericalError, match=r"full column rank.*separate.*mpg"):
        ef.mnlogit("cyl ~ mpg", ef.datasets.load("mtcars")).fit()


def test_the_iteration_limit_message_names_separation():
    x = np.linspace(-1, 1, 20)
    data = pd.DataFrame({"x": x, "y": (x > 0.1).astype(float)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = ef.logit("y ~ x", data).fit(max_iter=3)
    assert not res.converged and res.separation.separated
    convergence = [str(w.message) for w in caught
                   if issubclass(w.category, ef.ConvergenceWarning)]
    assert len(convergence) == 1 and "outcomes are separated" in convergence[0]


def test_summary_does_not_show_a_separated_term_as_an_estimate():
    d = pd.DataFrame({"g": [0, 0, 0, 0, 0, 0, 1, 1], "x": [1, 2, 3, 4, 5, 6, 7, 8.0],
                      "y": [0, 1, 0, 1, 1, 0, 1, 1.0]})
    with pytest.warns(ef.SeparationWarning):
        res = ef.logit("y ~ g + x", d).fit()
    frame = res.summary().to_frame()
    assert frame.loc["g", "coef"] == np.inf and np.isnan(frame.loc["g", "std_err"])
    assert np.isfinite(frame.loc["x"]).all()
    assert np.isfinite(res.params["g"])  # where the fit stopped, for predictions
    assert "separated" in str(res.summary())


def test_a_strong_predictor_in_large_data_skips_the_linear_program(monkeypatch):
    # |η| > 10 somewhere is common in large data; the LP would cost seconds there.
    import importlib

    glm_module = importlib.import_module("expfam.inference.fit_checks")

    def refuse(*args, **kwargs):
        raise AssertionError("the LP should not run")

    monkeypatch.setattr(glm_module, "detect_separation", refuse)
    rng = np.random.default_rng(0)
    x = rng.normal(size=150_000)
    y = (rng.random(150_000) < 1 / (1 + np.exp(-4 * x))).astype(float)
    res = ef.GLM(y, ef.add_constant(x)).fit()
    assert res.converged and res.separation is None
