"""The levels of a Dask DataFrame's factors, and the small frame a formula's spec
is learnt from.

:func:`~expfam.design.dask_frame.formula_levels` unites the values each
partition's complete rows hold in the factor columns (one pass, no shuffle),
orders them as the in-memory fit would, and builds a frame in which every
level of every factor appears, so that no level depends on which rows a
partition holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from expfam.errors import InputError

__all__ = ["every_level", "head_rows", "is_factor", "ordered_levels", "partition_levels",
           "quiet", "zero_frame"]


def head_rows(df: pd.DataFrame, used: list[str]) -> pd.DataFrame:
    """Up to 50 complete rows of the columns ``used`` (the spec frame's values)."""
    # Complete rows only: the spec frame cycles the levels over these rows, and a
    # row dropped there for a missing value would take levels with it.
    return df[used].dropna().head(50)


def partition_levels(df: pd.DataFrame, used: list[str], factors: list[str]
                      ) -> dict[str, set[Any]]:
    """The values of the factor columns in one partition's complete rows."""
    complete = df[used].dropna()
    return {c: set(pd.unique(complete[c])) for c in factors}


def is_factor(dtype: Any) -> bool:
    return (isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype)
            or pd.api.types.is_object_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))


def ordered_levels(dtype: Any, values: pd.Series, column: str) -> list[Any]:
    """The levels the in-memory fit would find: category order, else sorted."""
    if isinstance(dtype, pd.CategoricalDtype) and "__UNKNOWN_CATEGORIES__" not in list(
            dtype.categories):  # Dask's mark of categories it does not know yet
        seen = set(values)
        return [c for c in dtype.categories if c in seen]
    try:
        return sorted(set(values))
    except TypeError:
        raise InputError(f"column {column!r} mixes values of types that cannot be ordered "
                         "into levels; convert it to one type") from None


def zero_frame(meta: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({c: np.ones(1) for c in meta.columns})


def every_level(sample: pd.DataFrame, levels: dict[str, list[Any]]) -> pd.DataFrame:
    """Rows of ``sample`` (repeated) whose factor columns cycle through every level."""
    n = max([len(sample), *[len(v) for v in levels.values()]])
    frame = sample.iloc[np.arange(n) % len(sample)].reset_index(drop=True)
    frame = frame.fillna(1.0) if not levels else frame
    for column, values in levels.items():
        if not values:
            raise InputError(f"column {column!r} has no values in the complete rows")
        cycled = [values[i % len(values)] for i in range(n)]
        if pd.api.types.is_bool_dtype(sample[column].dtype):
            frame[column] = np.asarray(cycled, dtype=bool)
        else:
            frame[column] = pd.Categorical(cycled, categories=values)
    return frame


class quiet:
    """Silence warnings about the synthetic spec frame (they would mislead)."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)
