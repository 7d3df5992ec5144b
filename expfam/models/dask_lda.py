"""Linear discriminant analysis over Dask partitions.

The LDA's one data pass — per class, the weighted count, mean and centred
scatter (:mod:`expfam.engine.scatter`), which merge exactly — runs once per
partition and the summaries are tree-summed; everything after it is the
in-memory p × p algebra of :class:`~expfam.models.lda.LDA`, so the fit is the
in-memory fit.  Ledoit–Wolf shrinkage takes a second pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from expfam._typing import FloatArray
from expfam.backend.blocks import Backend, row_slices
from expfam.backend.dask_backend import DaskBackend, cluster_memory
from expfam.design.arrays import as_rows, default_names
from expfam.design.dask_frame import (
    RawPart,
    array_classes,
    array_parts,
    formula_levels,
    formula_parts,
    with_dropped,
)
from expfam.design.response import Classes, _classes
from expfam.engine.dask_problem import _class_codes
from expfam.engine.scatter import ClassScatter, summarise_block
from expfam.errors import InputError
from expfam.models.dask_lda_predict import DaskLDAResults
from expfam.models.lda import COVARIANCES, DASK_MODELS, LDA, _checked_priors, _checked_shrinkage

__all__ = ["DaskLDA"]

PERSIST_SHARE = 0.5


@dataclass(frozen=True)
class _LDAPart:
    exog: FloatArray  # (b, p) features
    codes: np.ndarray  # (b,) class codes, in label order
    weights: FloatArray | None
    n_dropped: int


def _lda_part(raw: RawPart, classes: Classes, features: list[int] | None) -> _LDAPart:
    try:
        # A Dask LDA's formula spec has no structure plan: its designs are dense.
        assert isinstance(raw.exog, np.ndarray)
        x = np.asarray(raw.exog if features is None else raw.exog[:, features],
                       dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise InputError("exog is NaN or infinite; drop those rows or fill the values")
        # Codes in the user's label order (the LDA's order), not the GLM's internal one.
        codes = _class_codes(raw.endog, Classes(classes.labels, classes.labels[0]))
        weights = as_rows(raw.weights, "weights", x.shape[0], nonnegative=True)
    except InputError as err:
        raise InputError(f"partition {raw.index}: {err}") from None
    return _LDAPart(x, codes, weights, raw.n_dropped)


@dataclass(frozen=True)
class _Scatter:
    scatter: ClassScatter
    n_dropped: int

    def __add__(self, other: _Scatter) -> _Scatter:
        return _Scatter(self.scatter + other.scatter, self.n_dropped + other.n_dropped)


def _scatter_part(part: _LDAPart, n_classes: int) -> _Scatter:
    p = part.exog.shape[1]
    total = ClassScatter(np.zeros(n_classes), np.zeros((n_classes, p)),
                         np.zeros((n_classes, p, p)))
    for rows in row_slices(part.exog.shape[0]):
        total = total + summarise_block(part.exog[rows], part.codes[rows],
                                        None if part.weights is None else part.weights[rows],
                                        n_classes)
    return _Scatter(total, part.n_dropped)


def _fourth_part(part: _LDAPart, means: FloatArray) -> float:
    centred = part.exog - means[part.codes]
    sq = np.einsum("ij,ij->i", centred, centred) ** 2
    return float(sq.sum() if part.weights is None else part.weights @ sq)


class DaskLDA(LDA):
    """An :class:`~expfam.LDA` whose rows are Dask partitions (see the module notes).

    Built by ``ef.LDA`` with Dask inputs and by ``ef.lda`` with a Dask
    DataFrame.  The fitted model's predictions take in-memory or Dask rows (lazily).
    """

    def __init__(self, endog: Any, exog: Any, priors: Any = None, covariance: str = "mle",
                 shrinkage: float | str | None = None, weights: Any = None) -> None:
        parts, names, p = array_parts(endog, exog, weights=weights, missing="raise")
        classes = array_classes(endog, None)
        self._setup(parts, names or default_names(p, []), names is not None, classes,
                    None, priors, covariance, shrinkage, str(getattr(endog, "name", None)
                                                             or "y"))
        self._nbytes: float | None = getattr(exog, "nbytes", None)

    def _setup(self, raw: list[Any], names: list[str], names_given: bool, classes: Classes,
               features: list[int] | None, priors: Any, covariance: str,
               shrinkage: float | str | None, endog_name: str) -> None:
        from dask import delayed

        if covariance not in COVARIANCES:
            raise InputError(f"covariance must be 'mle' or 'unbiased', got {covariance!r}")
        self.exog = None  # type: ignore[assignment]  # the rows stay in the partitions
        self.exog_names = names
        self.names_given = names_given
        self.classes = classes
        self.codes = None  # type: ignore[assignment]
        self.weights = None
        self.priors = None if priors is None else _checked_priors(priors, classes)
        self.covariance_type = covariance
        self.shrinkage = _checked_shrinkage(shrinkage)
        self.formula = None
        self.endog_name = endog_name
        self.row_index = None
        self.n_dropped = 0
        self._nbytes = None
        self._passes_before = 0
        self._backend = DaskBackend([delayed(_lda_part, pure=True)(r, classes, features)
                                     for r in raw])

    @classmethod
    def from_formula(cls, formula: str, data: Any, priors: Any = None,
                     covariance: str = "mle", shrinkage: float | str | None = None,
                     weights: Any = None, missing: str = "drop") -> DaskLDA:
        if weights is not None and not isinstance(weights, str):
            raise InputError("weights= on a Dask DataFrame must be a column name")
        extras = {"weights": weights, "offset": None, "trials": None}
        # Dense features, as the in-memory LDA: its class means and pooled scatter
        # are over every column (a factor's dummies included).
        terms, needed, passes = formula_levels(formula, data, extras, "classes",
                                               structured=False)
        raw = formula_parts(data, terms, needed, extras, missing, "classes")
        columns = [str(c) for c in terms.spec.column_names]
        features = [j for j, c in enumerate(columns) if c != "Intercept"]
        levels = terms.response.levels
        assert levels is not None
        model = cls.__new__(cls)
        model._setup(raw, [columns[j] for j in features], True, _classes(tuple(levels), None),
                     features, priors, covariance, shrinkage, terms.response.name)
        model.formula = terms
        model._passes_before = passes
        return model

    def fit(self, backend: Backend | None = None) -> Any:
        """The in-memory fit, from one pass over the partitions (two with Ledoit–Wolf);
        its predictions take Dask rows lazily (:mod:`expfam.models.dask_lda_predict`)."""
        if backend is not None:
            raise InputError("a Dask LDA runs on Dask's scheduler; backend= does not apply")
        ours = self._backend
        ours.n_passes, ours.passes = self._passes_before, ["levels"] * self._passes_before
        if self.shrinkage == "ledoit-wolf" and self._nbytes is not None and (
                2 * self._nbytes < PERSIST_SHARE * cluster_memory()):
            ours.persist()
        res = DaskLDAResults.from_results(super().fit(None))
        res.n_passes = ours.n_passes  # type: ignore[attr-defined]
        return res

    def _class_scatter(self, backend: Backend) -> ClassScatter:
        total: _Scatter = self._backend.map_sum(_scatter_part, len(self.classes.labels),
                                                what="class counts, means and scatter")
        self.n_dropped = total.n_dropped
        if self.formula is not None:
            self.formula = with_dropped(self.formula, total.n_dropped)
        return total.scatter

    def _fourth_moment(self, means: FloatArray, backend: Backend) -> float:
        return float(self._backend.map_sum(_fourth_part, means,
                                           what="fourth moments (Ledoit-Wolf)"))

    def __repr__(self) -> str:
        return f"DaskLDA(classes={list(self.classes.labels)}, features={self.exog_names})"


DASK_MODELS["lda"] = DaskLDA
