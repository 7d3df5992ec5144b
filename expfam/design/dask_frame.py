"""Dask inputs as partitions: one in-memory block of rows per Dask partition.

A Dask array (chunked by rows) or DataFrame becomes a list of lazy
:class:`RawPart` objects, one per partition: the design, response and per-row
vectors of that partition as NumPy arrays, built *on the worker* that holds
the partition.  Nothing here computes anything over the whole data except
:func:`formula_levels`, which finds the levels of the formula's factors (the
one pass a formula on a Dask DataFrame needs before fitting).

Formula designs are rebuilt per partition with the formula's stored spec
(:meth:`FormulaTerms.design`), so every partition gets identical columns; the
spec itself is learnt from a small frame in which every level of every factor
appears, so that no level depends on which rows a partition holds.

Dask is imported lazily: the rest of expfam runs without it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from expfam.design.dask_levels import (
    every_level,
    head_rows,
    is_factor,
    ordered_levels,
    partition_levels,
    quiet,
    zero_frame,
)
from expfam.design.dask_offsets import formula_offset_terms, partition_offset
from expfam.design.formula import (
    FormulaTerms,
    _coded_factors,
    _parse,
    _variables,
    model_frame,
)
from expfam.design.matrix import StructuredDesign
from expfam.design.partition_design import partition_design
from expfam.design.response import Classes, _classes, _sorted_labels
from expfam.errors import InputError, label

__all__ = ["RawPart", "array_classes", "array_parts", "formula_levels", "formula_parts", "is_dask"]


def is_dask(obj: Any) -> bool:
    """Whether ``obj`` is a Dask collection (checked without importing Dask)."""
    root = type(obj).__module__.split(".")[0]
    return root in ("dask", "dask_expr")


@dataclass(frozen=True)
class RawPart:
    """The rows of one partition, after dropping incomplete rows.

    ``endog`` holds numbers, or labels (a response of classes, or a labelled
    binary response already coded 0/1); the vectors are None when not given.
    """

    index: int
    exog: np.ndarray | StructuredDesign  # (b, p): the partition's own dtype, or factors as codes
    endog: np.ndarray  # (b,) or (b, 2)
    weights: np.ndarray | None
    offset: np.ndarray | None
    trials: np.ndarray | None
    groups: np.ndarray | None
    n_dropped: int


# ----------------------------------------------------------------------
# Arrays: ef.GLM(dask_y, dask_X)
# ----------------------------------------------------------------------
def _blocks(value: Any, rows: tuple[int, ...] | None, n_parts: int, name: str) -> list[Any]:
    """One lazy block per partition of a Dask array/Series/DataFrame (or None)."""
    if value is None:
        return [None] * n_parts
    if not is_dask(value):
        raise InputError(f"{name} must be a Dask collection like exog (one block per "
                         f"partition of exog), got {type(value).__name__}")
    if hasattr(value, "divisions"):  # a Dask DataFrame or Series
        if value.npartitions != n_parts:
            raise InputError(f"{name} has {value.npartitions} partitions, exog has {n_parts}: "
                             "give them the same partitions")
        return list(value.to_delayed())
    if rows is None:
        raise InputError(f"{name} is a Dask array but exog is a Dask DataFrame; use Dask "
                         "Series with exog's partitions")
    if value.ndim == 2:
        value = value.rechunk({0: rows, 1: -1})
    else:
        value = value.rechunk({0: rows})
    return list(value.to_delayed(optimize_graph=False).ravel())


def array_parts(endog: Any, exog: Any, weights: Any = None, offset: Any = None,
                trials: Any = None, groups: Any = None, missing: str = "raise"
                ) -> tuple[list[Any], list[str] | None, int]:
    """Lazy :class:`RawPart` per partition of Dask array (or DataFrame) inputs.

    Returns
    -------
    parts : list of dask.delayed.Delayed
    names : list of str or None
        Column names, for a Dask DataFrame ``exog``.
    n_columns : int
    """
    from dask import delayed

    if not is_dask(exog):
        raise InputError("exog must be a Dask array or DataFrame when endog is a Dask "
                         "collection")
    if hasattr(exog, "divisions"):
        return _frame_parts(endog, exog, weights, offset, trials, groups, missing)
    else:
        if exog.ndim != 2:
            raise InputError(f"exog has shape {exog.shape}; expected (n, p)")
        names = None
        exog = exog.rechunk({1: -1})  # a partition holds whole rows
        rows = exog.chunks[0]
        if any(np.isnan(rows)):
            raise InputError("exog has unknown chunk sizes; call exog.compute_chunk_sizes() "
                             "first")
        n_parts = len(rows)
        x_blocks = list(exog.to_delayed(optimize_graph=False).ravel())
    columns = int(exog.shape[1])
    vecs = {k: _blocks(v, rows, n_parts, k) for k, v in (
        ("endog", endog), ("weights", weights), ("offset", offset), ("trials", trials),
        ("groups", groups))}
    parts = [delayed(_array_part, pure=True)(
        i, x_blocks[i], *(vecs[k][i] for k in vecs), names=names, missing=missing)
        for i in range(n_parts)]
    return parts, names, columns


def _frame_parts(endog: Any, exog: Any, weights: Any, offset: Any, trials: Any, groups: Any,
                 missing: str) -> tuple[list[Any], list[str] | None, int]:
    """Partitions of a Dask DataFrame ``exog`` with Dask Series beside it.

    The Series are joined to the frame as columns first, so that one frame is
    split into partitions: Dask may fuse the partitions of a narrow column read
    from Parquet, and separately split collections would then not line up.
    """
    from dask import delayed

    names = [str(c) for c in exog.columns]
    extras: dict[str, str] = {}
    frame = exog
    for key, value in (("endog", endog), ("weights", weights), ("offset", offset),
                       ("trials", trials), ("groups", groups)):
        if value is None:
            continue
        if not (is_dask(value) and hasattr(value, "divisions") and value.ndim == 1):
            raise InputError(f"with a Dask DataFrame as exog, {key} must be a Dask Series "
                             "with the same partitions")
        extras[key] = f"__expfam_{key}"
        frame = frame.assign(**{extras[key]: value})
    parts = [delayed(_split_frame, pure=True)(i, block, names, extras, missing)
             for i, block in enumerate(frame.to_delayed())]
    return parts, names, len(names)


def _split_frame(index: int, df: pd.DataFrame, names: list[str], extras: dict[str, str],
                 missing: str) -> RawPart:
    columns = [c for c in map(str, df.columns) if not c.startswith("__expfam_")]
    if columns != names:
        raise InputError(f"partition {index} has columns {columns}; the others have {names}. "
                         "Give every partition the same columns")
    vec = {k: df[extras[k]] if k in extras else None
           for k in ("endog", "weights", "offset", "trials", "groups")}
    return _array_part(index, df[names], vec["endog"], vec["weights"], vec["offset"],
                       vec["trials"], vec["groups"], names=names, missing=missing)


def _values(block: Any) -> np.ndarray | None:
    if block is None:
        return None
    if isinstance(block, pd.Series | pd.DataFrame):
        return block.to_numpy()
    return np.asarray(block)


def _missing_rows(values: np.ndarray) -> np.ndarray:
    """Rows with a missing value (NaN, None): NumPy's own test for floats."""
    if values.dtype.kind == "f":
        # A NaN anywhere makes the sum NaN (so does inf − inf): only then look
        # row by row.  The sum reads the values once, with no n × p temporary.
        with np.errstate(invalid="ignore", over="ignore"):
            total = np.sum(values)
        if not np.isnan(total):
            return np.zeros(values.shape[0], dtype=bool)
        return np.isnan(values).any(axis=1)
    if values.dtype.kind in "iub":
        return np.zeros(values.shape[0], dtype=bool)
    return np.asarray(pd.isna(pd.DataFrame(values)).any(axis=1))


def _array_part(index: int, x: Any, y: Any, w: Any, off: Any, trials: Any, groups: Any,
                *, names: list[str] | None, missing: str) -> RawPart:
    """One partition's rows as NumPy arrays, incomplete rows dropped (or refused)."""
    if names is not None and [str(c) for c in x.columns] != names:
        raise InputError(f"partition {index} has columns {list(map(str, x.columns))}; the "
                         f"others have {names}. Give every partition the same columns")
    exog = _values(x)
    assert exog is not None
    if names is not None and exog.dtype == object:
        exog = exog.astype(np.float64)
    vecs = {"endog": _values(y), "weights": _values(w), "offset": _values(off),
            "trials": _values(trials), "groups": _values(groups)}
    n = exog.shape[0]
    for name, v in vecs.items():
        if v is not None and v.shape[0] != n:
            raise InputError(f"partition {index}: {name} has {v.shape[0]} rows, exog {n}")
    incomplete = np.zeros(n, dtype=bool)
    for name, v in {"exog": exog, **vecs}.items():
        if v is None:
            continue
        gap = _missing_rows(v.reshape(n, -1))
        if gap.any() and missing == "raise":
            raise InputError(f"{name} is missing at {int(gap.sum())} row(s) of partition "
                             f"{index} (first at row {int(np.argmax(gap))} of the partition);"
                             " pass missing='drop' to fit the complete rows")
        incomplete |= gap
    keep = ~incomplete
    if incomplete.any():
        exog = exog[keep]
        vecs = {k: None if v is None else v[keep] for k, v in vecs.items()}
    endog = vecs["endog"]
    assert endog is not None
    return RawPart(index, exog, endog, vecs["weights"], vecs["offset"], vecs["trials"],
                   vecs["groups"], int(incomplete.sum()))


# ----------------------------------------------------------------------
# Formulas: ef.glm("y ~ x + C(g)", dask_frame)
# ----------------------------------------------------------------------
def formula_levels(formula: str, data: Any, extras: dict[str, str | None], labelled: str,
                   structured: bool = True) -> tuple[FormulaTerms, list[str], int]:
    """The formula's spec, learnt with every level of every factor: one pass over
    the factor columns of the complete rows.  With ``structured`` (GLMs, as in
    memory) the spec holds the plan that builds each partition's design with
    factors as integer codes (:mod:`expfam.design.partition_design`).

    Returns
    -------
    terms : FormulaTerms
    needed : list of str
        The columns the model reads (response first, then the right-hand side).
    passes : int
        Passes over the data this took (1, or 0 without factors).
    """
    import dask

    meta = data._meta
    # offset(...) terms (and exposure=) are evaluated per partition, as in memory.
    stripped, offset_terms, offset_vars = formula_offset_terms(formula, meta,
                                                               extras.get("exposure"))
    parsed = _parse(stripped)
    lhs = str(parsed.lhs)
    if lhs not in meta.columns:
        raise InputError(f"on a Dask DataFrame the response must be a column; {lhs!r} is "
                         "not one (compute it as a column first)")
    rhs_vars = _variables(parsed.rhs, meta)
    needed = list(dict.fromkeys([lhs, *rhs_vars, *offset_vars]))
    for name, column in extras.items():
        if column is not None and column not in meta.columns:
            raise InputError(f"{name}={column!r} is not a column of the data")
    used = needed + [c for c in extras.values() if c is not None and c not in needed]
    # Numeric columns coded by C(column) are factors too: their levels are every
    # value of the complete rows, as in memory (not those of the first rows).
    coded = _coded_factors(stripped, meta, rhs_vars)
    factors = [c for c in needed if is_factor(meta[c].dtype) or c in coded]
    blocks = data.to_delayed()
    head = dask.delayed(head_rows, pure=True)(blocks[0], used)
    # Per-partition sets of values, united here: no shuffle, any scheduler.
    seen = [dask.delayed(partition_levels, pure=True)(block, used, factors)
            for block in blocks] if factors else []
    sample, *found = dask.compute(head, *seen)
    levels = {c: ordered_levels(meta[c].dtype, pd.Series(
        list(set().union(*(f[c] for f in found)))), c) for c in factors}
    frame = every_level(sample if len(sample) else zero_frame(meta[used]), levels)
    with quiet():
        spec_frame = model_frame(stripped, frame, missing="drop", labelled_response=labelled,
                                 structured=structured)
    terms = dataclasses.replace(spec_frame.terms, formula=formula.strip(),
                                offset_terms=offset_terms)
    if getattr(terms.spec, "transform_state", None):
        raise InputError("the formula uses a transform that learns from the data (such as "
                         "center() or scale()), which would learn from one partition only "
                         "on Dask; compute the column first")
    return terms, needed, 1 if factors else 0


def formula_parts(data: Any, terms: FormulaTerms, needed: list[str],
                  extras: dict[str, str | None], missing: str, labelled: str) -> list[Any]:
    """One lazy :class:`RawPart` per partition of a Dask DataFrame, built with the
    formula's stored spec."""
    from dask import delayed

    columns = [str(c) for c in data._meta.columns]
    # One node for the spec, not walked: Dask would otherwise look for collections
    # in every level of every factor (seconds for 20,000 levels), once per partition.
    spec = delayed(terms, pure=True, traverse=False)
    return [delayed(_formula_part, pure=True)(
        i, block, spec, needed, extras, columns, missing, labelled)
        for i, block in enumerate(data.to_delayed())]


def _formula_part(index: int, df: pd.DataFrame, terms: FormulaTerms, needed: list[str],
                  extras: dict[str, str | None], columns: list[str], missing: str,
                  labelled: str) -> RawPart:
    if [str(c) for c in df.columns] != columns:
        raise InputError(f"partition {index} has columns {list(map(str, df.columns))}; the "
                         f"others have {columns}. Give every partition the same columns")
    used = needed + [c for c in extras.values() if c is not None and c not in needed]
    gaps = df[used].isna()
    incomplete = np.array(gaps.any(axis=1).to_numpy(), dtype=bool)  # writable: offsets add
    if incomplete.any() and missing == "raise":
        bad = [str(c) for c in gaps.columns[gaps.any(axis=0).to_numpy()]]
        labels = [label(v) for v in df.index[incomplete][:5]]
        more = f" and {int(incomplete.sum()) - 5} more" if incomplete.sum() > 5 else ""
        raise InputError(f"missing values in {', '.join(map(repr, bad))} in partition "
                         f"{index} (rows labelled {', '.join(labels)}{more}); drop or fill "
                         "them, or pass missing='drop'")
    frame = df[~incomplete]
    formula_offset, defined = partition_offset(terms, frame, extras.get("exposure"), index,
                                               missing)
    if not defined.all():  # an offset() NaN: a missing value, as in memory
        incomplete[np.flatnonzero(~incomplete)[~defined]] = True
        frame = frame[defined]
        formula_offset = None if formula_offset is None else formula_offset[defined]
    # Factors as codes when the formula has a structure plan (as in memory).
    exog, kept = partition_design(terms, frame, index, missing)
    if not kept.all():
        frame = frame[kept]
        formula_offset = None if formula_offset is None else formula_offset[kept]
    raw = frame[terms.response.name]
    if labelled == "binary" and terms.response.levels is not None:
        endog = (raw == terms.response.event).to_numpy(dtype=np.float64)
    elif labelled == "classes":
        endog = raw.to_numpy()
    else:
        endog = raw.to_numpy(dtype=np.float64)

    def column(name: str) -> np.ndarray | None:
        col = extras.get(name)
        return None if col is None else frame[col].to_numpy()

    offset = column("offset")
    if formula_offset is not None:
        offset = formula_offset if offset is None else (
            np.asarray(offset, dtype=np.float64) + formula_offset)
    return RawPart(index, exog, endog, column("weights"), offset, column("trials"),
                   column("groups"), int(incomplete.sum() + (~kept).sum()))


def with_dropped(terms: FormulaTerms, n_dropped: int) -> FormulaTerms:
    """The terms with the count of rows dropped over every partition."""
    return dataclasses.replace(terms, n_dropped=n_dropped)


def array_classes(endog: Any, reference: Any) -> Classes:
    """The classes of a Dask response of labels: one pass over the response."""
    import dask
    import dask.array as dsa

    if getattr(endog, "ndim", 1) != 1:
        raise InputError("a categorical Dask response must be a vector of labels")
    dtype = getattr(endog, "dtype", None)
    if dtype is not None and hasattr(dtype, "categories") and (
            "__UNKNOWN_CATEGORIES__" not in list(dtype.categories)):
        labels = tuple(dtype.categories)
    else:
        unique = endog.unique() if hasattr(endog, "divisions") else dsa.unique(endog)
        (values,) = dask.compute(unique)
        labels = tuple(v.item() if isinstance(v, np.generic) else v
                       for v in _sorted_labels(list(values)))
    return _classes(labels, reference)
