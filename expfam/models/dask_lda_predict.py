"""LDA predictions for new rows on Dask: lazily, partition by partition.

A fitted LDA's rule is p + 1 numbers per class (:meth:`LDAResults._theta`),
so predicting Dask rows ships those to the workers with what reads a row —
the formula's stored terms, or the feature names — and maps the in-memory
reading (:func:`~expfam.models.lda.feature_rows`) and softmax over the
partitions.  Nothing is computed until asked for; a Dask DataFrame gives a
Dask DataFrame (probabilities, log odds) or Series (labels) with its index,
a Dask array a Dask array.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from expfam._typing import FloatArray
from expfam.design.dask_frame import is_dask
from expfam.errors import InputError
from expfam.families import Categorical
from expfam.inference.classify import most_probable
from expfam.models.lda import LDAResults, _checked_priors, _masked, feature_rows

__all__ = ["DaskLDAResults"]


@dataclass(frozen=True)
class _Reader:
    """What :func:`feature_rows` reads from a model: shipped to the workers."""

    formula: Any
    exog_names: list[str]
    names_given: bool
    exog: Any = None


@dataclass(frozen=True)
class _Rule:
    """The fitted rule applied to one partition of new rows (picklable)."""

    reader: _Reader
    theta: FloatArray  # (p + 1, K − 1)
    labels: tuple[Any, ...]
    kind: str  # "proba", "decision" or "predict"
    unseen: str

    def __call__(self, rows: Any) -> Any:
        x, index, valid = feature_rows(self.reader, rows, self.unseen)
        eta = np.where(valid[:, None], self.theta[0] + x @ self.theta[1:], 0.0)
        columns = pd.Index(self.labels, name="class")
        if self.kind == "decision":
            values = _masked(eta, valid)
            if values.shape[1] == 1:
                out = values[:, 0]
                return out if index is None else pd.Series(out, index=index, name="log_odds")
            full = np.column_stack([np.where(valid, 0.0, np.nan), values])
            return full if index is None else pd.DataFrame(full, index=index, columns=columns)
        prob = _masked(Categorical().class_probabilities(eta), valid)
        frame = pd.DataFrame(prob, index=index, columns=columns)
        if self.kind == "proba":
            return prob if index is None else frame
        labels = most_probable(frame)
        return labels.to_numpy(dtype=object) if index is None else labels


class DaskLDAResults(LDAResults):
    """:class:`LDAResults` whose predictions also take Dask rows, lazily."""

    @classmethod
    def from_results(cls, res: LDAResults) -> DaskLDAResults:
        out: Any = cls.__new__(cls)
        out.__dict__.update(res.__dict__)
        return out

    def decision_function(self, exog: Any = None, priors: Any = None,
                          unseen: str = "raise") -> Any:
        if is_dask(exog):
            return self._lazy(exog, priors, unseen, "decision")
        return super().decision_function(exog, priors, unseen)

    def predict_proba(self, exog: Any = None, priors: Any = None,
                      unseen: str = "raise") -> Any:
        if is_dask(exog):
            return self._lazy(exog, priors, unseen, "proba")
        return super().predict_proba(exog, priors, unseen)

    def predict(self, exog: Any = None, priors: Any = None, unseen: str = "raise") -> Any:
        if is_dask(exog):
            return self._lazy(exog, priors, unseen, "predict")
        if exog is None and self.model.exog is None:
            raise InputError("a Dask LDA keeps its rows on the workers: pass them "
                             "(predict(ddf)) to predict them")
        return super().predict(exog, priors, unseen)

    def _lazy(self, exog: Any, priors: Any, unseen: str, kind: str) -> Any:
        model = self.model
        theta = self._theta(None if priors is None else _checked_priors(priors, model.classes))
        labels = tuple(model.classes.labels)
        reader = _Reader(model.formula, list(model.exog_names), bool(model.names_given))
        rule = _Rule(reader, theta, labels, kind, unseen)
        if hasattr(exog, "divisions"):  # a Dask DataFrame
            if kind == "predict":
                meta: Any = pd.Series(dtype=object, name="predicted")
            elif kind == "decision" and len(labels) == 2:
                meta = pd.Series(dtype=np.float64, name="log_odds")
            else:
                meta = pd.DataFrame({c: pd.Series(dtype=np.float64) for c in labels})
                meta.columns = pd.Index(labels, name="class")
            return exog.map_partitions(rule, meta=meta)
        if model.formula is not None:
            raise InputError("a formula LDA predicts from a Dask DataFrame with the "
                             "formula's columns, not a Dask array")
        if exog.ndim != 2 or exog.shape[1] != len(model.exog_names):
            raise InputError(f"exog has shape {exog.shape}; the model has "
                             f"{len(model.exog_names)} features: "
                             f"{', '.join(model.exog_names)}")
        exog = exog.rechunk({1: -1})
        if kind == "predict" or (kind == "decision" and len(labels) == 2):
            return exog.map_blocks(rule, dtype=object if kind == "predict" else np.float64,
                                   drop_axis=1)
        return exog.map_blocks(rule, dtype=np.float64,
                               chunks=(exog.chunks[0], (len(labels),)))
