"""Sparse columns in formula designs: pandas sparse columns and mostly-zero terms.

A formula's numeric term becomes a column of the design's CSR part (a
:class:`~expfam.design.parts.SparseColumns`) instead of its dense block when

- it reads a pandas column with a zero fill value (``pd.SparseDtype``, as
  ``pd.get_dummies(..., sparse=True)`` or ``pd.arrays.SparseArray(..., fill_value=0)``
  make): such a term is always held sparse and built from the column's stored
  values, never written out densely; a boolean sparse column, which a formula
  codes as a two-level factor (``d[T.True]``), is held as the sparse indicator
  of ``True``;
- or its values, evaluated for every row, have a share of non-zeros below
  ``sparse_threshold`` (default :data:`SPARSE_THRESHOLD`, glum's 0.1), and the
  design has at least :data:`SPARSE_MIN_ROWS` rows.  Below that many rows a CSR
  part saves neither time nor memory worth the change, and small models keep
  their plain dense design.

The choice is made once, on the fitting rows, and stored in the formula's plan,
so new rows at prediction get the same layout whatever their own zeros.
Columns are held exactly (the values are the same numbers either way); only the
storage differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from expfam.errors import InputError

__all__ = ["SPARSE_MIN_ROWS", "SPARSE_THRESHOLD", "SparseVector", "Vector", "check_threshold",
           "column_gaps", "column_vector", "csr_from_columns", "hold_sparse", "indicator",
           "multiply", "sparse_factor_levels", "with_categories", "zero_filled"]

#: Share of non-zeros below which a numeric term is held sparse (glum/tabmat's default).
SPARSE_THRESHOLD = 0.1
#: Designs with fewer rows keep mostly-zero numeric terms dense.
SPARSE_MIN_ROWS = 1_000


@dataclass(frozen=True)
class SparseVector:
    """One column of ``n`` rows held as its non-zero rows (increasing) and values."""

    rows: np.ndarray  # (nnz,) int64
    values: np.ndarray  # (nnz,) float64
    n: int


#: A column's values: dense (n,) floats, or sparse.
Vector = np.ndarray | SparseVector


def check_threshold(value: Any) -> float | None:
    """The ``sparse_threshold=`` keyword checked: a share in (0, 1], or None when
    0 or None turns the conversion of mostly-zero columns off."""
    if value is None or (isinstance(value, int | float) and value == 0):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise InputError(f"sparse_threshold must be a share of non-zero values in (0, 1], or "
                         f"0 or None to keep every numeric column dense; got {value!r}")
    return float(value)


def zero_filled(values: pd.Series) -> bool:
    """Whether a column is a pandas sparse column whose unstored values are 0 (or False)."""
    dtype = values.dtype
    if not isinstance(dtype, pd.SparseDtype):
        return False
    fill = dtype.fill_value
    return not pd.isna(fill) and fill == 0


def column_gaps(values: pd.Series) -> np.ndarray:
    """Rows with a missing value, shape (n,) bool; a sparse column is read from its
    stored values only (``Series.isna`` would build a sparse mask and then a dense one)."""
    if not isinstance(values.dtype, pd.SparseDtype):
        return np.asarray(values.isna().to_numpy(), dtype=bool)
    array = values.array
    out = np.full(len(array), bool(pd.isna(array.fill_value)))
    out[array.sp_index.indices] = pd.isna(array.sp_values)
    return out


def _from_sparse(values: pd.Series) -> SparseVector:
    """The stored non-zero values of a zero-filled sparse column, as floats."""
    array = values.array
    stored = np.asarray(array.sp_values, dtype=np.float64)
    keep = stored != 0
    return SparseVector(np.asarray(array.sp_index.indices, dtype=np.int64)[keep],
                        stored[keep], len(array))


def column_vector(values: pd.Series) -> Vector:
    """A numeric column's values: sparse for a zero-filled sparse column, else dense."""
    if zero_filled(values):
        return _from_sparse(values)
    return values.to_numpy(dtype=np.float64)


def indicator(values: pd.Series, level: Any) -> SparseVector:
    """The rows where a (boolean) column equals ``level``, as a 0/1 sparse column."""
    if zero_filled(values) and level is True:
        array = values.array
        rows = np.asarray(array.sp_index.indices, dtype=np.int64)[
            np.asarray(array.sp_values, dtype=bool)]
    else:
        rows = np.flatnonzero(np.asarray(values == level, dtype=bool))
    return SparseVector(rows, np.ones(len(rows)), len(values))


def multiply(a: Vector | float, b: Vector) -> Vector:
    """The row-wise product of two columns (or a number and a column); sparse when
    either is."""
    if isinstance(a, float | int):
        if isinstance(b, SparseVector):
            return SparseVector(b.rows, b.values * a, b.n)
        return b * a
    if isinstance(a, SparseVector) and isinstance(b, SparseVector):
        rows, ia, ib = np.intersect1d(a.rows, b.rows, assume_unique=True,
                                      return_indices=True)
        return SparseVector(rows, a.values[ia] * b.values[ib], a.n)
    if isinstance(b, SparseVector):
        a, b = b, a
    if isinstance(a, SparseVector):
        assert isinstance(b, np.ndarray)
        return SparseVector(a.rows, a.values * b[a.rows], a.n)
    return a * b


def hold_sparse(vector: Vector, threshold: float | None) -> bool:
    """Whether a term's column goes to the design's CSR part (see the module notes)."""
    if isinstance(vector, SparseVector):
        return True
    n = len(vector)
    if threshold is None or n < SPARSE_MIN_ROWS:
        return False
    return bool(np.count_nonzero(vector) < threshold * n)


def as_sparse(vector: Vector) -> SparseVector:
    """A column as a :class:`SparseVector` (explicit zeros left out)."""
    if isinstance(vector, SparseVector):
        return vector
    rows = np.flatnonzero(vector)
    return SparseVector(rows, np.asarray(vector[rows], dtype=np.float64), len(vector))


def csr_from_columns(columns: Sequence[Vector], n: int) -> sp.csr_matrix | None:
    """The columns side by side as an (n, k) CSR matrix; None if a value is not finite.

    Built in CSC form straight from the columns' rows and values (no dense
    intermediate), then converted once."""
    parts = [as_sparse(c) for c in columns]
    if any(not np.all(np.isfinite(p.values)) for p in parts):
        return None
    indptr = np.concatenate([[0], np.cumsum([len(p.rows) for p in parts])])
    indices = (np.concatenate([p.rows for p in parts]) if parts
               else np.zeros(0, dtype=np.int64))
    data = np.concatenate([p.values for p in parts]) if parts else np.zeros(0)
    csc = sp.csc_matrix((data, indices, indptr), shape=(n, len(parts)))
    return sp.csr_matrix(csc)


def sparse_factor_levels(frame: pd.DataFrame, coded: Sequence[str]) -> dict[str, list[Any]]:
    """Boolean zero-filled sparse columns among ``coded`` (columns a formula codes as
    factors) that hold both False and True: their levels.  They stay sparse in the
    model frame and are coded from their stored values; a column with one level
    is left to the ordinary path, which reports it."""
    out: dict[str, list[Any]] = {}
    for column in coded:
        values = frame[column]
        dtype = values.dtype
        if not (isinstance(dtype, pd.SparseDtype) and zero_filled(values)
                and pd.api.types.is_bool_dtype(dtype.subtype)):
            continue
        array = values.array
        stored = np.asarray(array.sp_values, dtype=bool)
        has_false = len(stored) < len(array) or not stored.all()
        if has_false and stored.any():
            out[column] = [False, True]
    return out


def with_categories(frame: pd.DataFrame, levels: dict[str, list[Any]]) -> pd.DataFrame:
    """``frame`` with the given (sparse boolean) columns as pandas Categoricals, for
    formulaic, which codes a factor only from a categorical column."""
    if not levels:
        return frame
    out = frame.copy()
    for column, lv in levels.items():
        out[column] = pd.Categorical(np.asarray(out[column]), categories=lv)
    return out
