"""Turning user input (arrays, Series, DataFrames) into checked arrays with names.

Every check here raises :class:`~expfam.errors.InputError` saying which
argument, which column and which rows are at fault, and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike

from expfam._typing import FloatArray
from expfam.backend.blocks import default_backend
from expfam.design.matrix import StructuredDesign
from expfam.design.parts import DenseColumns, SparseColumns
from expfam.errors import InputError, describe_rows

__all__ = [
    "add_constant",
    "as_design",
    "as_rows",
    "check_exog_finite",
    "constant_columns",
    "drop_incomplete",
    "frame_from_columns",
    "row_index",
]



def row_index(*arrays: Any) -> pd.Index | None:
    """The pandas row index shared by the pandas inputs, if any.

    Raises if two pandas inputs carry different indexes: arrays are matched by
    position, and silently pairing mismatched rows would be wrong.
    """
    index: pd.Index | None = None
    for arr in arrays:
        if isinstance(arr, pd.Series | pd.DataFrame):
            if index is None:
                index = arr.index
            elif not index.equals(arr.index):
                raise InputError(
                    "the pandas inputs have different row indexes; align them first "
                    "(e.g. with .loc[common_index]) or pass plain arrays"
                )
    return index


def drop_incomplete(arrays: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    """The arguments restricted to rows with no missing value in any of them.

    Parameters
    ----------
    arrays : dict
        Name → an argument with one row per observation (array, Series,
        DataFrame) or None.

    Returns
    -------
    kept : dict
        The same arguments on the complete rows (pandas objects keep their labels;
        single values, such as a weight for every row, pass through).
    keep : ndarray of bool, shape (n,)
        The complete rows.
    """
    n = None
    gaps: list[np.ndarray] = []
    for name, value in arrays.items():
        if value is None or np.ndim(value) == 0:
            continue
        raw = value if isinstance(value, pd.DataFrame | pd.Series) else np.asarray(
            value, dtype=object)
        cells = np.asarray(pd.isna(raw), dtype=bool)
        missing: np.ndarray = np.asarray(cells.reshape(len(cells), -1).any(axis=1))
        if n is not None and len(missing) != n:
            raise InputError(f"{name} has {len(missing)} rows; the other inputs have {n}")
        n = len(missing)
        gaps.append(missing)
    if not gaps:
        return arrays, np.ones(0, dtype=bool)
    keep = ~np.any(gaps, axis=0)
    if not keep.any():
        raise InputError("every row has a missing value in endog, exog, weights, offset or "
                         "trials: there is nothing left to fit")

    def subset(value: Any) -> Any:
        if value is None or np.ndim(value) == 0:
            return value
        if isinstance(value, pd.DataFrame | pd.Series):
            return value.iloc[keep]
        kept = np.asarray(value)[keep]
        if kept.dtype == object:  # lists holding None: numbers once those rows are gone
            try:
                kept = kept.astype(np.float64)
            except (TypeError, ValueError):
                pass
        return kept

    return {name: subset(v) for name, v in arrays.items()}, keep


def frame_from_columns(data: Any) -> Any:
    """A dict of columns (lists, arrays or single values) as a DataFrame; anything
    else unchanged.  New data for ``predict`` may be given either way."""
    if not isinstance(data, Mapping):
        return data
    if all(np.ndim(v) == 0 for v in data.values()):
        return pd.DataFrame({k: [v] for k, v in data.items()})
    try:
        return pd.DataFrame(dict(data))
    except ValueError as err:
        raise InputError(f"new data given as a dict must hold columns of one length: {err}. "
                         "Pass a DataFrame") from None


def as_design(exog: ArrayLike | StructuredDesign
              ) -> tuple[np.ndarray | StructuredDesign, list[str] | None]:
    """The design matrix as a 2-D real array (not copied if already one), and its column names.

    Returns names only for DataFrame input (or a structured design that has
    them); array columns are named later by :func:`default_names`.  A
    scipy.sparse matrix becomes a :class:`StructuredDesign` of CSR columns,
    checked for NaN and inf (a sparse design is never scanned later).
    """
    exog = frame_from_columns(exog)
    if isinstance(exog, StructuredDesign):
        return exog, None if exog.names is None else list(exog.names)
    if sp.issparse(exog):
        return _sparse_design(exog), None
    if isinstance(exog, pd.Series):
        exog = exog.to_frame()
    if isinstance(exog, pd.DataFrame):
        bad = [str(c) for c, dt in exog.dtypes.items() if not _is_real(dt)]
        if bad:
            raise InputError(
                f"exog has non-numeric columns {', '.join(map(repr, bad))}; use a formula "
                "(ef.glm('y ~ x + g', data) codes them as categories) or encode them as "
                "numbers, e.g. with pd.get_dummies(exog, drop_first=True)"
            )
        names = [str(c) for c in exog.columns]
        return exog.to_numpy(dtype=np.float64), names
    try:
        arr = np.asarray(exog)
    except ValueError as err:  # ragged nested lists
        raise InputError(f"exog is not a rectangular table of numbers ({err})") from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError(f"exog must be 2-dimensional (rows × columns), got shape {arr.shape}")
    if not _is_real(arr.dtype):
        raise InputError(
            f"exog has dtype {arr.dtype}, not numbers; convert it with .astype(float) "
            "or use a formula with a DataFrame"
        )
    return arr, None


def _sparse_design(matrix: Any) -> StructuredDesign:
    """A scipy.sparse design as CSR float64, refusing NaN, inf and non-numbers."""
    if matrix.ndim != 2:
        raise InputError(f"exog must be 2-dimensional (rows × columns), got shape "
                         f"{matrix.shape}")
    if not _is_real(matrix.dtype):
        raise InputError(f"the sparse exog has dtype {matrix.dtype}, not real numbers")
    csr = sp.csr_matrix(matrix, dtype=np.float64)
    bad = ~np.isfinite(csr.data)
    if bad.any():
        rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))[bad]
        cols = np.unique(csr.indices[bad])
        listed = ", ".join(f"x{j + 1}" for j in cols[:10])
        raise InputError(f"the sparse exog is NaN or infinite in column(s) {listed} "
                         f"(0-based {', '.join(map(str, cols[:10]))}) at "
                         f"{describe_rows(np.unique(rows))}; drop those rows or fill the "
                         "values (a sparse matrix stores them explicitly)")
    return StructuredDesign.from_sparse(csr)


def _is_real(dtype: Any) -> bool:
    try:
        return bool(np.dtype(dtype).kind in "biuf")
    except TypeError:  # pandas extension dtypes
        return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)


def _constant_sparse(matrix: sp.csr_matrix) -> list[int]:
    """Columns of a CSR matrix with the same non-zero value stored in every row."""
    n = matrix.shape[0]
    full = np.flatnonzero(np.bincount(matrix.indices, minlength=matrix.shape[1]) == n)
    out = []
    for j in full:
        values = matrix[:, int(j)].data
        if values.size == n and np.all(values == values[0]) and values[0] != 0:
            out.append(int(j))
    return out


def constant_columns(exog: np.ndarray | StructuredDesign) -> list[int]:
    """Columns that hold one non-zero value in every row (intercepts).

    Checks the first rows to find candidates, then only the candidate columns
    in full, so a tall design is not read end to end.  A structured design
    reads its column ranges from one pass of its moments.
    """
    n = exog.shape[0]
    if n == 0:
        return []
    if isinstance(exog, StructuredDesign):
        # A factor's column is constant only if one level holds every row, which
        # formulas refuse; dense and sparse columns can be intercepts.
        found = []
        for part, cols in zip(exog.parts, exog.columns, strict=True):
            if isinstance(part, DenseColumns):
                found += [int(cols[j]) for j in constant_columns(part.values)]
            elif isinstance(part, SparseColumns):
                found += [int(cols[j]) for j in _constant_sparse(part.matrix)]
        return sorted(found)
    head = np.asarray(exog[: min(n, 64)], dtype=np.float64)
    # A NaN or inf in an intercept column is reported later, under the column's
    # own name: look past non-finite values here.
    with np.errstate(invalid="ignore"):
        low = np.nanmin(np.where(np.isfinite(head), head, np.nan), axis=0)
        high = np.nanmax(np.where(np.isfinite(head), head, np.nan), axis=0)
    candidates = np.flatnonzero((low == high) & (low != 0))
    if candidates.size == 0:
        return []
    value = low[candidates]

    def mismatches(rows: slice) -> np.ndarray:
        block = exog[rows][:, candidates]
        return np.sum((block != value) & np.isfinite(block), axis=0)

    counts = default_backend().map_sum(mismatches, n)
    return [int(j) for j, c in zip(candidates, counts, strict=True) if c == 0]


def default_names(n_columns: int, constant: Sequence[int]) -> list[str]:
    """statsmodels' names for array columns: ``const`` for an intercept, else x1, x2, …"""
    names, k = [], 0
    for j in range(n_columns):
        if j in constant and "const" not in names:
            names.append("const")
        else:
            k += 1
            names.append(f"x{k}")
    return names


#: What to do with a response of labels given as an array.
_LABELS_HINT = (" (labels: code them as numbers, or fit from a formula — ef.logit, ef.glm — "
                "which codes a labelled response as R does)")


def as_rows(
    values: ArrayLike | None,
    name: str,
    n_rows: int,
    *,
    nonnegative: bool = False,
    positive: bool = False,
    against: str = "exog",
) -> FloatArray | None:
    """A per-row float vector of length ``n_rows``, checked to be finite.

    Parameters
    ----------
    values : array-like or None
        A scalar is broadcast to every row; a single column is squeezed.
        Missing values (pandas NA) become NaN and are reported as such.
    name : str
        The argument's name, for messages.
    nonnegative, positive : bool
        Also require values ≥ 0 (or > 0).
    against : str
        The argument whose row count ``n_rows`` is, for messages.
    """
    if values is None:
        return None
    if isinstance(values, pd.DataFrame | pd.Series):
        dtypes = list(values.dtypes) if isinstance(values, pd.DataFrame) else [values.dtype]
        if not all(_is_real(dt) for dt in dtypes):
            raise InputError(f"{name} must be numeric, got dtype {dtypes[0]}"
                             f"{_LABELS_HINT if name == 'endog' else ''}")
        values = values.to_numpy(dtype=np.float64, na_value=np.nan)
    arr = np.asarray(values)
    if not _is_real(arr.dtype):
        raise InputError(f"{name} must be numeric, got dtype {arr.dtype}"
                         f"{_LABELS_HINT if name == 'endog' else ''}")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 0:
        arr = np.full(n_rows, float(arr))
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InputError(f"{name} has shape {arr.shape}; expected one value per row, "
                         f"shape ({n_rows},)")
    if arr.shape[0] != n_rows:
        raise InputError(f"{name} has {arr.shape[0]} rows but {against} has {n_rows}; "
                         "give one value per row")
    _raise_at_rows(~np.isfinite(arr), f"{name} is NaN or infinite at {{rows}}; "
                   "drop those rows or fill them")
    if positive:
        _raise_at_rows(arr <= 0, f"{name} must be positive; not so at {{rows}}")
    if nonnegative:
        _raise_at_rows(arr < 0, f"{name} must be non-negative; negative at {{rows}}")
    return arr


def _raise_at_rows(mask: np.ndarray, message: str) -> None:
    """Raise ``message`` (with ``{rows}`` filled in) if ``mask`` flags any row."""
    if mask.any():
        raise InputError(message.format(rows=describe_rows(mask)))


def check_exog_finite(exog: np.ndarray | StructuredDesign, names: Sequence[str],
                      block_rows: int = 65536) -> None:
    """Raise naming the columns and rows where ``exog`` is NaN or infinite.

    Reads the design in blocks (no full-size temporary); the fitter calls it
    only after a pass has produced non-finite sums, so clean data never pay.
    """
    if isinstance(exog, StructuredDesign):
        bad = ~exog.finite_rows()
        if bad.any():
            raise InputError(f"exog is NaN or infinite at {describe_rows(bad)}; drop those "
                             "rows or fill the values")
        return
    bad_cols = np.zeros(exog.shape[1], dtype=bool)
    bad_rows: list[np.ndarray] = []
    for start in range(0, exog.shape[0], block_rows):
        block = ~np.isfinite(np.asarray(exog[start : start + block_rows], dtype=np.float64))
        if block.any():
            bad_cols |= block.any(axis=0)
            bad_rows.append(start + np.flatnonzero(block.any(axis=1)))
    if bad_rows:
        rows = np.concatenate(bad_rows)
        cols = ", ".join(repr(names[int(j)]) for j in np.flatnonzero(bad_cols))
        raise InputError(f"exog is NaN or infinite in column(s) {cols} at "
                         f"{describe_rows(rows)}; drop those rows or fill the values")


def add_constant(exog: ArrayLike, prepend: bool = True, has_constant: str = "skip") -> Any:
    """Add a column of ones named ``const``.

    Parameters
    ----------
    exog : array-like or DataFrame, shape (n, p)
    prepend : bool
        Put the constant first (default) or last.
    has_constant : {"skip", "add", "raise"}
        What to do when a column is already constant: return ``exog`` unchanged
        (as statsmodels does), add the constant anyway — use this for new data
        in which a predictor happens to take a single value — or raise.

    Returns
    -------
    ndarray or DataFrame, shape (n, p + 1)
    """
    if has_constant not in ("skip", "add", "raise"):
        raise InputError(f"has_constant must be 'skip', 'add' or 'raise', got {has_constant!r}")
    if isinstance(exog, pd.Series):
        exog = exog.to_frame()
    frame = exog if isinstance(exog, pd.DataFrame) else None
    arr = (frame.select_dtypes(include=["number", "bool"]).to_numpy(dtype=np.float64)
           if frame is not None else np.asarray(exog, dtype=np.float64))
    if arr.ndim == 1:
        arr = arr[:, None]
    if has_constant != "add" and constant_columns(arr):
        if has_constant == "raise":
            raise InputError("exog already has a constant column")
        return exog
    if frame is not None:
        out = frame.copy()
        out.insert(0 if prepend else out.shape[1], "const", 1.0)
        return out
    ones = np.ones((arr.shape[0], 1))
    return np.hstack([ones, arr] if prepend else [arr, ones])
