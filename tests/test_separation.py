"""Separation found by linear programming, named by term, for every family it affects."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import expfam as ef
from expfam.separation import boundary_message, detect_separation


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
