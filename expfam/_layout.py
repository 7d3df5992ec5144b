"""Labelling solver output: flat coefficient vectors and per-row arrays as pandas objects.

A scalar family's coefficients are a Series indexed by term.  A categorical
model has one column of coefficients per non-reference class: a DataFrame with
terms as rows and class labels as columns, flattened class by class for the
covariance (a (class, term) MultiIndex).  Fitted probabilities cover every
class, in the user's order, the reference's recovered as one minus the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._response import Classes
from ._typing import FloatArray

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

    def all_classes(self, non_reference: FloatArray) -> FloatArray:
        """Per-row values for every class, in the user's order, from the non-reference
        columns: the reference's is one minus their sum (probabilities, proportions)."""
        assert self.classes is not None
        full = np.column_stack([1.0 - non_reference.sum(axis=1), non_reference])
        return full[:, self.classes.positions()]


def like(template: pd.Series | pd.DataFrame, values: np.ndarray,
         name: str | None = None) -> pd.Series | pd.DataFrame:
    """``values`` with the index (and columns) of ``template``."""
    if isinstance(template, pd.DataFrame):
        return pd.DataFrame(values, index=template.index, columns=template.columns)
    return pd.Series(values, index=template.index, name=name)
