"""``offset(...)`` terms and ``exposure=`` for formulas on Dask DataFrames.

As in memory (:func:`~expfam.design.formula.model_frame`), the ``offset(expr)``
terms are cut out of the formula and evaluated on the rows, and a column given
as ``exposure=`` adds the term ``np.log(column)``; the sum joins a column
offset.  On Dask each partition evaluates them on its own complete rows: a row
whose offset is NaN (a transform undefined there) is missing, dropped with
``missing="drop"`` and refused otherwise; a non-positive exposure is an error
naming the partition.  Prediction re-evaluates the terms on the new rows.
For Dask arrays, ``exposure=`` becomes the lazy offset log(exposure).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from expfam.design.formula import FormulaTerms, _variables
from expfam.design.offsets import parse_offset, split_offsets
from expfam.errors import InputError

__all__ = ["formula_offset_terms", "lazy_log_exposure", "partition_offset"]


def formula_offset_terms(formula: str, meta: pd.DataFrame, exposure: str | None
                         ) -> tuple[str, tuple[str, ...], list[str]]:
    """The formula without its offset terms, the terms' expressions (with
    ``np.log(exposure)`` last), and the columns they read.

    Parameters
    ----------
    formula : str
    meta : DataFrame
        The Dask DataFrame's empty frame of columns.
    exposure : str or None
        A column name.
    """
    stripped, terms = split_offsets(formula)
    if exposure is not None:
        if not isinstance(exposure, str):
            raise InputError(f"exposure= on a Dask DataFrame must be a column name, got "
                             f"{type(exposure).__name__}")
        if exposure not in meta.columns:
            raise InputError(f"exposure={exposure!r} is not a column of the data")
        terms = (*terms, f"np.log(`{exposure}`)")
    columns = [v for expr in terms for v in _variables(parse_offset(expr), meta)]
    return stripped, terms, list(dict.fromkeys(columns))


def partition_offset(terms: FormulaTerms, frame: pd.DataFrame, exposure: str | None,
                     index: int, missing: str) -> tuple[np.ndarray | None, np.ndarray]:
    """The formula's offset on a partition's complete rows, and the rows to keep.

    Returns
    -------
    offset : ndarray, shape (b,), or None
        Σ of the ``offset(...)`` terms (None without any).
    keep : ndarray of bool, shape (b,)
        False where the offset is NaN (with ``missing="drop"``).
    """
    keep = np.ones(len(frame), dtype=bool)
    if exposure is not None:
        values = frame[exposure].to_numpy(dtype=np.float64)
        bad = ~(values > 0)
        if bad.any():
            raise InputError(f"exposure must be positive; it is not at {int(bad.sum())} "
                             f"row(s) of partition {index} (first at row "
                             f"{int(np.argmax(bad))} of the partition)")
    offset: Any = terms.formula_offset(frame)
    if offset is None:
        return None, keep
    undefined = np.isnan(offset)
    if undefined.any():
        if missing == "raise":
            raise InputError(f"an offset() term is NaN at {int(undefined.sum())} row(s) of "
                             f"partition {index} with complete data (a transform undefined "
                             "there); pass missing='drop' to drop them")
        keep = ~undefined
    return np.asarray(offset, dtype=np.float64), keep


def lazy_log_exposure(exposure: Any, offset: Any) -> Any:
    """log(exposure) (+ offset) as a lazy Dask collection partitioned like
    ``exposure``; each block checks that its values are positive (NaN stays
    missing)."""
    root = type(exposure).__module__.split(".")[0]
    if root not in ("dask", "dask_expr"):
        raise InputError("exposure= for Dask data must be a Dask array or Series "
                         "partitioned like exog")
    if hasattr(exposure, "divisions"):
        logged = exposure.map_partitions(_checked_log, meta=(exposure.name, "f8"))
    else:
        logged = exposure.map_blocks(_checked_log, dtype=np.float64)
    return logged if offset is None else logged + offset


def _checked_log(values: Any) -> Any:
    x = np.asarray(values, dtype=np.float64)
    bad = x <= 0
    if bad.any():
        raise InputError(f"exposure must be positive; it is not at {int(bad.sum())} row(s) of "
                         f"a partition (first at row {int(np.argmax(bad))} of it)")
    logged = np.log(x)
    return pd.Series(logged, index=values.index, name=values.name) if isinstance(
        values, pd.Series) else logged
