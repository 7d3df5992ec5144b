"""Prediction on new rows for a fitted GLM (see :meth:`GLMResults.predict`)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from expfam._typing import FloatArray
from expfam.design.arrays import as_design, as_rows, frame_from_columns
from expfam.design.dask_frame import is_dask
from expfam.design.matrix import StructuredDesign
from expfam.engine.kernels import predict_eta
from expfam.errors import DataWarning, InputError, row_labels, user_stacklevel

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["NewRows", "new_rows", "predict"]


@dataclass(frozen=True)
class NewRows:
    """New rows in the model's coordinates: the design, offset and which rows
    can be predicted (no missing value, no unseen level)."""

    exog: FloatArray | StructuredDesign  # (k, p)
    offset: FloatArray | None  # (k,) or (k, m)
    valid: np.ndarray | None  # (k,) bool, or None when every row is valid
    index: pd.Index | None  # the new data's row labels, if it had any

    @property
    def dense(self) -> FloatArray:
        """The design as a dense (k, p) array (factors written out: for the few
        rows a delta method or a margin needs, not for the fit)."""
        x = self.exog
        return np.asarray(x.dense() if isinstance(x, StructuredDesign) else x, np.float64)


def new_rows(res: GLMResults, exog: ArrayLike | pd.DataFrame,
             offset: ArrayLike | str | None, unseen: str = "raise") -> NewRows:
    """The design matrix and offset of new rows: rebuilt through the formula (with
    the offset it names re-read from the new data), or the model's columns."""
    if is_dask(exog):  # else read as an array of objects: "exog has dtype object"
        raise InputError("these are Dask rows, but the model was fitted in memory: predict "
                         "from rows.compute(), or fit the model on the Dask data to "
                         "predict lazily")
    exog = frame_from_columns(exog)
    terms = res.model.formula
    valid = None
    if terms is not None and isinstance(exog, pd.DataFrame):
        has_own = terms.offset_column is not None or bool(terms.offset_terms)
        if offset is None and not has_own and res.model.offset is not None:
            warnings.warn("the model was fitted with an offset given as an array, which new "
                          "data cannot supply: these predictions use an offset of 0; pass "
                          "offset= (or fit with the offset as a column name)", DataWarning,
                          stacklevel=user_stacklevel())
        if offset is None and terms.offset_column is not None:
            # The model's offset came from a column: the new rows carry their own.
            if terms.offset_column not in exog.columns:
                raise InputError(f"the model's offset is the column {terms.offset_column!r}, "
                                 "which the new data lack; add it, or pass offset=")
            offset = terms.offset_column
        if isinstance(offset, str):
            if offset not in exog.columns:
                raise InputError(f"offset={offset!r} is not a column of the new data")
            offset = exog[offset]
        arr: Any
        with row_labels(exog.index):  # errors name the new data's own rows
            if terms.plan is not None:  # factors as codes, as when fitting
                arr, valid = terms.structured_design(exog, unseen=unseen)
            else:
                design, valid = terms.design(exog, unseen=unseen)
                arr = design.to_numpy(dtype=np.float64)
            in_formula = terms.formula_offset(exog)  # offset(...) terms, re-evaluated
        off = _new_offset(res, offset, arr.shape[0])
        if in_formula is not None:
            valid = valid & np.isfinite(in_formula)
            in_formula = np.nan_to_num(in_formula)
            off = _new_offset(res, in_formula if off is None else
                              (off.T + in_formula).T, arr.shape[0])
        return NewRows(arr, off, valid, exog.index)
    arr, names = as_design(exog)
    p = len(res.model.exog_names)
    if arr.shape[1] != p:
        raise InputError(f"exog has {arr.shape[1]} columns; the model has {p}: "
                         f"{', '.join(res.model.exog_names)}")
    if names is not None and names != res.model.exog_names:
        raise InputError(f"exog columns {names} do not match the model's "
                         f"{res.model.exog_names}")
    index = exog.index if isinstance(exog, pd.DataFrame) else None
    return NewRows(arr if isinstance(arr, StructuredDesign) else np.asarray(arr, np.float64),
                   _new_offset(res, offset, arr.shape[0]), None, index)


def predict(res: GLMResults, exog: ArrayLike | pd.DataFrame | None, which: str,
            offset: ArrayLike | str | None,
            unseen: str) -> pd.Series | pd.DataFrame | FloatArray:
    """The mean or linear predictor at new rows (or the fitted ones)."""
    if which not in ("mean", "linear"):
        raise InputError(f"which must be 'mean' or 'linear', got {which!r}")
    if exog is None:
        if offset is not None:
            raise InputError("offset= applies to new exog only")
        return res.linear_predictor if which == "linear" else res.fittedvalues
    exog = frame_from_columns(exog)
    rows = new_rows(res, exog, offset, unseen)
    eta = predict_eta(rows.exog, res.solver.coef, rows.offset)
    classes = res.model.classes
    if which == "linear":
        values, columns = eta, None if classes is None else classes.others
    else:
        values = (res.model.family.mean(eta) if classes is None
                  else res._layout.class_probabilities(eta))
        columns = None if classes is None else classes.labels
    valid = rows.valid
    if valid is not None:
        values = (np.where(valid, values, np.nan) if values.ndim == 1
                  else np.where(valid[:, None], values, np.nan))
    if isinstance(exog, pd.DataFrame):
        return res._layout.per_row(values, "predicted", columns, index=exog.index)
    return values


def _new_offset(res: GLMResults, offset: ArrayLike | None, n: int) -> FloatArray | None:
    if offset is None or res.model.classes is None:
        return as_rows(offset, "offset", n, against="the new rows")
    arr = np.asarray(offset, dtype=np.float64)
    m = len(res.model.classes.others)
    if arr.ndim == 1:
        arr = np.repeat(arr[:, None], m, axis=1)
    if arr.shape != (n, m):
        raise InputError(f"offset has shape {arr.shape}; expected ({n},) or ({n}, {m})")
    return arr
