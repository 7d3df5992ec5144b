"""The design of one Dask partition's rows, built with the formula's stored spec.

A formula with factors is held in memory as a
:class:`~expfam.design.matrix.StructuredDesign` (factors as integer codes);
each Dask partition is built the same way, from the same
:class:`~expfam.design.codes.StructurePlan` (learnt once, with every level of
every factor known), so a partition never holds dummy columns and every
partition's codes mean the same levels.  A formula without a plan (no
factors, or a construct only formulaic's dense path handles) gives the dense
columns, as in memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from expfam.design.formula import FormulaTerms
from expfam.design.matrix import StructuredDesign
from expfam.errors import InputError

__all__ = ["partition_design"]


def partition_design(terms: FormulaTerms, frame: pd.DataFrame, index: int, missing: str
                     ) -> tuple[np.ndarray | StructuredDesign, np.ndarray]:
    """The design of a partition's complete rows.

    Rows where a transform of complete data is undefined (``np.log`` of a
    negative value) are dropped with ``missing="drop"``, as in memory, and
    refused otherwise.

    Parameters
    ----------
    terms : FormulaTerms
        The formula's spec (with its structure plan, if it has one).
    frame : DataFrame, shape (b, ·)
        The partition's complete rows.
    index : int
        The partition's number (for messages).
    missing : {"drop", "raise"}

    Returns
    -------
    exog : ndarray (b', p) float64, or StructuredDesign (b', p)
    kept : ndarray of bool, shape (b,)
        The rows kept (b' of them): False where a transform is undefined.
    """
    if terms.plan is not None:
        undefined = terms.plan.undefined_rows(frame)
        _check_undefined(undefined, index, missing)
        # Unseen levels: an InputError naming the column (levels come from every
        # partition, so only a partition changed since would have one).
        design, _ = terms.structured_design(frame[~undefined] if undefined.any() else frame)
        return design, ~undefined
    dense, _ = terms.design(frame)
    exog = dense.to_numpy(dtype=np.float64)
    undefined = ~np.isfinite(exog).all(axis=1)
    _check_undefined(undefined, index, missing)
    return (exog[~undefined] if undefined.any() else exog), ~undefined


def _check_undefined(undefined: np.ndarray, index: int, missing: str) -> None:
    if undefined.any() and missing == "raise":
        raise InputError(f"the design is NaN at {int(undefined.sum())} row(s) of partition "
                         f"{index} with complete data (a transform undefined there); pass "
                         "missing='drop' to drop them")
