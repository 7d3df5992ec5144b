"""Labelling solver output: flat coefficient vectors and per-row arrays as pandas objects.

A scalar family's coefficients are a Series indexed by term.  A categorical
model has one column of coefficients per non-reference class: a DataFrame with
terms as rows and class labels as columns, flattened class by class for the
covariance (a (class, term) MultiIndex).  Fitted probabilities cover every
class, in the user's order, all K computed from η by the family's softmax (the
reference's too, not as one minus the rest, which loses it in the tail).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from expfam._typing import FloatArray
from expfam.design.response import Classes
from expfam.families.categorical import Categorical

__all__ = ["Layout", "like"]


@dataclass(frozen=True)
class Layout:
    """The labels of a model's coefficients and rows."""

    terms: list[str]
    classes: Classes | None
    rows: pd.Index | None

    @property
    def flat_index(self) -> pd.Index:
        """Labels of the flattened coefficients: terms, or (class, term) pairs."""
        if self.classes is None:
            return pd.Index(self.terms)
        return pd.MultiIndex.from_product([list(self.classes.others), self.terms],
                                          names=["class", "term"])

    def coef(self, flat: FloatArray, name: str) -> pd.Series | pd.DataFrame:
        """A flat coefficient-shaped vector as a Series, or terms × classes DataFrame."""
        if self.classes is None:
            return pd.Series(flat, index=self.terms, name=name)
        p = len(self.terms)
        return pd.DataFrame(np.reshape(flat, (p, -1), order="F"), index=self.terms,
                            columns=pd.Index(self.classes.others, name="class"))

    def stack(self, table: pd.Series | pd.DataFrame) -> pd.Series:
        """A coefficient table as one Series along :attr:`flat_index`."""
        if isinstance(table, pd.Series):
            return table
        return pd.Series(table.to_numpy().ravel(order="F"), index=self.flat_index)

    def per_row(self, values: FloatArray, name: str,
                columns: list[Any] | tuple[Any, ...] | None = None,
                index: pd.Index | None = None) -> pd.Series | pd.DataFrame:
        """Per-row values as a Series, or a DataFrame with one column per class."""
        index = self.rows if index is None else index
        if np.ndim(values) == 1:
            return pd.Series(values, index=index, name=name)
        labels = pd.Index(list(columns or ()), name="class")
        return pd.DataFrame(values, index=index, columns=labels)

    def in_user_order(self, internal: FloatArray) -> FloatArray:
        """(n, K) per-class values with columns moved from the family's order
        (reference first) to the user's order of the classes."""
        assert self.classes is not None
        return internal[:, self.classes.positions()]

    def class_probabilities(self, eta: FloatArray) -> FloatArray:
        """(n, K) probabilities of every class, in the user's order, from η (n, K − 1).

        All K come from the categorical family's softmax with the reference's
        implicit 0, so the reference's keeps its relative accuracy when it is
        tiny (one minus the others would round it to 0, or to −2e-16).
        """
        return self.in_user_order(Categorical().class_probabilities(eta))

    def class_shares(self, endog: FloatArray) -> FloatArray:
        """(n, K) observed per-trial shares of every class, in the user's order, from
        the model's class codes or count matrix (see :meth:`Categorical.class_shares`)."""
        assert self.classes is not None
        return self.in_user_order(Categorical(len(self.classes.labels)).class_shares(endog))


def like(template: pd.Series | pd.DataFrame, values: np.ndarray,
         name: str | None = None) -> pd.Series | pd.DataFrame:
    """``values`` with the index (and columns) of ``template``."""
    if isinstance(template, pd.DataFrame):
        return pd.DataFrame(values, index=template.index, columns=template.columns)
    return pd.Series(values, index=template.index, name=name)
