"""Rows of several designs stacked into one: dense arrays, or structured designs.

A Dask fit draws a sample of rows from every partition to start the solver;
the partitions of a formula with factors hold
:class:`~expfam.design.matrix.StructuredDesign` objects built with one spec, so
their parts line up (same kinds, same columns, same codes for the same
levels) and stack part by part — a factor's codes stay codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TypeVar

import numpy as np
import scipy.sparse as sp

from expfam.design.matrix import StructuredDesign
from expfam.design.parts import DenseColumns, FactorColumns, Part, SparseColumns
from expfam.errors import InputError

__all__ = ["stack_rows"]

_P = TypeVar("_P", DenseColumns, FactorColumns, SparseColumns)


def stack_rows(designs: Sequence[np.ndarray | StructuredDesign]
               ) -> np.ndarray | StructuredDesign:
    """The rows of ``designs`` one after another, shape (Σ b_i, p).

    Parameters
    ----------
    designs : sequence of ndarray (b_i, p) or of StructuredDesign
        All of one kind; structured designs built with the same spec.
    """
    if not designs:
        raise InputError("no designs to stack")
    if not isinstance(designs[0], StructuredDesign):
        return np.concatenate([np.asarray(d) for d in designs])
    first = designs[0]
    structured = [d for d in designs if isinstance(d, StructuredDesign)]
    if len(structured) != len(designs) or any(
            len(d.parts) != len(first.parts) or d.n_cols != first.n_cols for d in structured):
        raise InputError("designs to stack must all be structured with the same parts")
    parts = [_stack_part([d.parts[i] for d in structured]) for i in range(len(first.parts))]
    return StructuredDesign(tuple(parts), first.columns, sum(d.n_rows for d in structured),
                            first.diagonal_part, first.names)


def _stack_part(parts: list[Part]) -> Part:
    head = parts[0]
    if isinstance(head, DenseColumns):
        return DenseColumns(np.concatenate([_as(p, DenseColumns).values for p in parts]))
    if isinstance(head, SparseColumns):
        return SparseColumns(sp.csr_matrix(sp.vstack([_as(p, SparseColumns).matrix
                                                      for p in parts])))
    factors = [_as(p, FactorColumns) for p in parts]
    values = None if head.values is None else np.concatenate(
        [np.asarray(f.values) for f in factors])
    codes = np.concatenate([f.codes for f in factors]).astype(head.codes.dtype, copy=False)
    return replace(head, codes=codes, values=values)


def _as(part: Part, kind: type[_P]) -> _P:
    if not isinstance(part, kind):
        raise InputError(f"designs to stack hold different kinds of columns: "
                         f"{type(part).__name__} where {kind.__name__} was expected")
    return part
