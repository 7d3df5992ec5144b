"""The response of a GLM: successes and failures, class labels, soft labels.

Turns what users pass as ``endog`` into what the families read — successes
with trials for the binomial, class codes or a count matrix (reference class
first) for the categorical family — and keeps the class labels so that results
can be labelled in the user's terms.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from expfam._typing import FloatArray
from expfam.design.arrays import as_rows
from expfam.errors import DataWarning, DomainError, InputError, describe_rows, user_stacklevel

#: A numeric response with more distinct values than this is warned about as
#: possibly continuous when fitted as classes.
MANY_CLASSES = 20

__all__ = ["Classes", "binomial_pair", "class_response"]

#: How far from 1 a row total of fractional entries may be and still be read as
#: probabilities (rounded, or stored in single precision) rather than counts.
PROBABILITY_TOTAL_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Classes:
    """The classes of a categorical response.

    Attributes
    ----------
    labels : tuple
        Every class, in the user's order: category order for a pandas
        Categorical, sorted order for other labels, column order for a matrix.
    reference : object
        The baseline class, whose natural parameter is fixed at 0.
    """

    labels: tuple[Any, ...]
    reference: Any

    @property
    def others(self) -> tuple[Any, ...]:
        """The non-reference classes, in the user's order: the columns of the params."""
        return tuple(c for c in self.labels if c != self.reference)

    @property
    def internal(self) -> tuple[Any, ...]:
        """The order the family works in: the reference first."""
        return (self.reference, *self.others)

    def positions(self) -> list[int]:
        """Where each class of :attr:`labels` sits in :attr:`internal`."""
        return [self.internal.index(c) for c in self.labels]


def binomial_pair(pair: np.ndarray, n: int) -> tuple[FloatArray, FloatArray]:
    """Successes and trials from an (n, 2) array of successes and failures."""
    successes = as_rows(pair[:, 0], "successes", n)
    failures = as_rows(pair[:, 1], "failures", n, nonnegative=True)
    assert successes is not None and failures is not None
    total = successes + failures
    if np.any(total <= 0):
        raise InputError(f"successes + failures is zero at {describe_rows(total <= 0)}; "
                         "such rows carry no information: drop them")
    return successes, total


def class_response(endog: ArrayLike, reference: Any, n: int,
                   weights: FloatArray | None = None
                   ) -> tuple[FloatArray, Classes, FloatArray | None]:
    """Codes (or a count matrix), the classes, and the trials implied by a matrix.

    Parameters
    ----------
    endog : array-like, shape (n,) or (n, K)
        Class labels (integers, strings, booleans or a pandas Categorical), or a
        matrix of class counts or probabilities with one column per class.
    reference : label, optional
        The baseline class; default the first.
    n : int
        The number of rows of the design.
    weights : ndarray, shape (n,), optional
        Frequency weights: every class needs a row of positive weight.

    Returns
    -------
    values : ndarray, shape (n,) or (n, K)
        Codes into :attr:`Classes.internal`, or the matrix with its columns in
        that order.
    classes : Classes
    trials : ndarray, shape (n,), or None
        Row totals of a matrix (1 for probabilities).
    """
    trials: FloatArray | None = None
    if np.ndim(endog) == 2:
        values, classes, trials = _matrix(endog, reference, n)
    else:
        labels, series = _labels(endog, n)
        classes = _classes(labels, reference)
        values = _codes(series, classes)
    if weights is not None:
        _check_weighted_classes(values, classes, weights)
    return values, classes, trials


def _labels(endog: ArrayLike, n: int) -> tuple[tuple[Any, ...], pd.Series]:
    if isinstance(endog, pd.Series):
        values = endog
    elif isinstance(endog, pd.Categorical):
        values = pd.Series(endog)
    else:
        values = pd.Series(np.asarray(endog))
    if len(values) != n:
        raise InputError(f"endog has {len(values)} rows but exog has {n}; give one value per row")
    if values.isna().any():
        raise InputError(f"endog is missing at {describe_rows(values.isna().to_numpy())}; "
                         "drop those rows")
    if isinstance(values.dtype, pd.CategoricalDtype):
        counts = values.value_counts(sort=False)
        empty = [c for c in values.cat.categories if counts[c] == 0]
        if empty:
            raise InputError(f"class(es) {', '.join(map(repr, empty))} of the response have "
                             "no rows; drop the unused categories (remove_unused_categories)")
        return tuple(values.cat.categories), values.astype(object)
    labels = _sorted_labels(pd.unique(values))
    _check_not_continuous(values, labels)
    if values.dtype.kind == "f" and all(float(v).is_integer() for v in labels):
        # Integral codes stored as floats (as many datasets do) are labelled as ints.
        values = values.astype(np.int64)
        labels = [int(v) for v in labels]
    return tuple(v.item() if isinstance(v, np.generic) else v for v in labels), values


def _check_not_continuous(values: pd.Series, labels: list[Any]) -> None:
    """A numeric response with many distinct values is a measurement, not a set of
    classes: a multinomial model would fit one class per value.  Many values with
    fractions are refused; many whole numbers, or a few fractional codes (0.5,
    1.5), are warned about."""
    if values.dtype.kind not in "fiu":
        return
    k = len(labels)
    name = repr(values.name) if values.name is not None else "endog"
    shown = ", ".join(f"{v:g}" for v in labels[:4]) + (", …" if k > 4 else "")
    fractional = values.dtype.kind == "f" and not all(float(v).is_integer() for v in labels)
    if fractional and k > MANY_CLASSES:
        raise InputError(
            f"the response {name} holds {k} distinct numbers with fractions ({shown}), "
            f"which a multinomial model would treat as {k} classes; it looks continuous. "
            "Fit a Gaussian or other numeric family, bin it (pd.cut) into classes, or pass "
            "the classes as strings or a pandas Categorical")
    if fractional or k > MANY_CLASSES:
        kind = "numbers with fractions" if fractional else "numeric values"
        warnings.warn(
            f"the response {name} has {k} distinct {kind} ({shown}), each fitted as its own "
            "class; if it is a count or a measurement, fit a Poisson or Gaussian model "
            "instead. Pass the labels as strings or a pandas Categorical to silence this",
            DataWarning, stacklevel=user_stacklevel())


def _sorted_labels(unique: Any) -> list[Any]:
    """The distinct labels in sorted order, which decides the reference and columns."""
    try:
        return sorted(unique)
    except TypeError:
        kinds = sorted({type(v.item() if isinstance(v, np.generic) else v).__name__
                        for v in unique})
        raise InputError(f"endog mixes labels of types {', '.join(kinds)}, which cannot be "
                         "ordered to choose the reference class and the columns; convert "
                         "them to one type (e.g. all strings), or pass a pandas Categorical "
                         "with the order you want") from None


def _check_weighted_classes(values: FloatArray, classes: Classes, weights: FloatArray) -> None:
    """Refuse a class seen only in rows of zero weight.

    To the likelihood such a class is absent: its probability is fitted as 0,
    with coefficients running off to −∞ that a solver reports as converged.
    """
    used = np.asarray(weights) > 0
    if values.ndim == 2:
        present = values[used].sum(axis=0) > 0
    else:
        present = np.isin(np.arange(len(classes.internal)), values[used])
    empty = [c for c, seen in zip(classes.internal, present, strict=True) if not seen]
    if empty:
        empty = [c for c in classes.labels if c in empty]  # in the user's order
        raise InputError(f"class(es) {', '.join(map(repr, empty))} of the response have no "
                         "rows with positive weight, so their probabilities cannot be "
                         "estimated; drop those rows (or that column of a count matrix), "
                         "or give them weight")


def _classes(labels: tuple[Any, ...], reference: Any) -> Classes:
    if len(labels) < 2:
        raise InputError(f"the response has only {len(labels)} class ({labels!r}); a "
                         "categorical model needs at least two")
    if reference is None:
        reference = labels[0]
    elif reference not in labels:
        raise InputError(f"reference={reference!r} is not a class of the response; classes "
                         f"are {', '.join(map(repr, labels))}")
    return Classes(labels, reference)


def _codes(values: pd.Series, classes: Classes) -> FloatArray:
    lookup = {label: i for i, label in enumerate(classes.internal)}
    return values.map(lookup).to_numpy(dtype=np.float64)


def _matrix(endog: ArrayLike, reference: Any,
            n: int) -> tuple[FloatArray, Classes, FloatArray]:
    labels: tuple[Any, ...] | None = (tuple(endog.columns) if isinstance(endog, pd.DataFrame)
                                      else None)
    matrix = (endog.to_numpy(dtype=np.float64, na_value=np.nan) if isinstance(endog, pd.DataFrame)
              else np.asarray(endog, dtype=np.float64))
    if matrix.shape[0] != n:
        raise InputError(f"endog has {matrix.shape[0]} rows but exog has {n}")
    labels = labels or tuple(range(matrix.shape[1]))
    bad = ~np.isfinite(matrix).all(axis=1)
    if bad.any():
        raise InputError(f"endog is NaN or infinite at {describe_rows(bad)}")
    negative = (matrix < 0).any(axis=1)
    if negative.any():
        raise DomainError(f"class counts or probabilities must be non-negative; negative at "
                          f"{describe_rows(negative)}")
    totals = matrix.sum(axis=1)
    if np.any(totals <= 0):
        raise DomainError(f"response rows sum to zero at {describe_rows(totals <= 0)}; each "
                          "row needs a positive total (drop empty rows)")
    empty = [label for label, total in zip(labels, matrix.sum(axis=0), strict=True)
             if total == 0]
    if empty:
        raise InputError(f"class(es) {', '.join(map(repr, empty))} have no observations in "
                         "any row; drop those columns")
    _check_totals(matrix, totals)
    classes = _classes(labels, reference)
    return matrix[:, [labels.index(c) for c in classes.internal]], classes, totals


def _check_totals(matrix: FloatArray, totals: FloatArray) -> None:
    """Warn where a matrix's rows are probably not what they will be read as.

    Each row counts ``total`` trials: integer counts are a multinomial draw,
    probabilities (a total of 1) one trial of soft labels.  Percentages would
    count as 100 trials per row, with standard errors 10× too small; fractional
    counts are allowed, but their likelihood is not a probability (as the
    binomial and Poisson families warn).
    """
    if np.allclose(totals, 100.0, rtol=1e-9, atol=0.0):
        warnings.warn("every row of the response sums to 100: it looks like percentages, "
                      "which are read as 100 trials per row (standard errors 10× too "
                      "small). Divide by 100 if these are probabilities; if every row "
                      "really counts 100 trials, ignore this warning",
                      DataWarning, stacklevel=user_stacklevel())
        return
    fractional = (np.any(matrix != np.round(matrix), axis=1)
                  & ~(np.abs(totals - 1.0) <= PROBABILITY_TOTAL_TOLERANCE))
    if np.any(fractional):
        warnings.warn(f"non-integer class counts that do not sum to 1 at "
                      f"{describe_rows(fractional)}: each such row is read as its total "
                      "number of trials of the target distribution (cross-entropy, no "
                      "multinomial coefficient), so the likelihood (llf, AIC) is not a "
                      "probability there. Divide each row by its total if these are "
                      "probabilities", DataWarning, stacklevel=user_stacklevel())
