"""Formulas with factors to a :class:`StructuredDesign`: factors stay integer codes.

formulaic decides what a formula means — which terms, in which order, which
factors are coded with full or reduced rank, which contrasts, the column
names — from a small probe of the rows (every level of every factor is known
from its pandas categories, so a probe suffices).  The columns themselves are
then built here for all rows without dummy columns:

- a term of numeric factors is a dense column (their product);
- a term with factors is one :class:`FactorColumns`: the factors' codes
  combined (the first factor varying fastest, as formulaic orders the
  columns), the Kronecker product of their coding matrices, and the product of
  its numeric factors as a per-row multiplier.  Treatment and full-rank coding
  (and interactions of them) are *selections*, stored as one column code per row.

The probe's own model matrix (formulaic's, sparse) is compared with the
structured design on the same rows: any difference — a construct this module
does not understand — sends the formula back to formulaic's dense path, so a
formula never changes meaning.  Stateful transforms (``center(x)``, splines)
take that path too, since the probe would learn their state from a few rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from formulaic import model_matrix
from formulaic.transforms.contrasts import TreatmentContrasts

from expfam.design.matrix import StructuredDesign
from expfam.design.parts import DenseColumns, FactorColumns, Part, SparseColumns
from expfam.design.sparse_columns import (
    SPARSE_MIN_ROWS,
    Vector,
    column_vector,
    csr_from_columns,
    hold_sparse,
    indicator,
    multiply,
    with_categories,
)

__all__ = ["StructurePlan", "plan_structure"]

#: Rows of the probe that formulaic materializes to learn the formula's structure.
PROBE_ROWS = 256
#: A general (non-selection) coding matrix is formed only up to this many levels.
MAX_CONTRAST_LEVELS = 2000
#: ``C(column, …)`` of a plain column.
_C_OF_COLUMN = re.compile(r"^C\(\s*`?([^`,()]+?)`?\s*[,)]")


@dataclass(frozen=True)
class _Categorical:
    expr: str
    column: str
    levels: list[Any]
    #: Column of each level (or None for a general coding matrix), and the matrix.
    selection: np.ndarray | None  # (L,) column index, −1 for no column
    coding: np.ndarray | None  # (L, k)


@dataclass(frozen=True)
class _Term:
    numeric: tuple[str, ...]  # numeric factor expressions (single columns)
    categorical: tuple[_Categorical, ...]
    scale: float
    width: int


@dataclass(frozen=True)
class StructurePlan:
    """How to build the structured design of a formula for any rows."""

    terms: tuple[_Term, ...]
    names: tuple[str, ...]
    #: The terms held as columns of one CSR part (see :mod:`expfam.design.sparse_columns`).
    sparse: tuple[int, ...] = ()

    def undefined_rows(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows at which a numeric factor of a term is not finite (a transform
        undefined there, such as ``np.log`` of a negative value), shape (n,):
        :meth:`design` gives None while any such row is present."""
        bad = np.zeros(len(frame), dtype=bool)
        for expr in dict.fromkeys(e for t in self.terms for e in t.numeric):
            with np.errstate(all="ignore"):
                bad |= ~np.isfinite(_numeric(expr, frame))
        return bad

    def design(self, frame: pd.DataFrame, evaluated: dict[int, Vector] | None = None
               ) -> StructuredDesign | None:
        """The structured design of ``frame`` (prepared as for the fit: categoricals
        with the training levels, boolean sparse columns as they are); None if a
        value is not finite.  ``evaluated`` holds sparse terms' columns already
        computed on these rows."""
        n = len(frame)
        numeric_cache: dict[str, np.ndarray] = {}

        def numeric(expr: str) -> np.ndarray:
            if expr not in numeric_cache:
                numeric_cache[expr] = _numeric(expr, frame)
            return numeric_cache[expr]

        dense_terms = [i for i, t in enumerate(self.terms)
                       if not t.categorical and i not in self.sparse]
        offsets = np.cumsum([0] + [t.width for t in self.terms])
        parts: list[Part] = []
        columns: list[np.ndarray] = []
        if dense_terms:
            width = sum(self.terms[i].width for i in dense_terms)
            block = np.empty((n, width))
            cols, j = [], 0
            for i in dense_terms:
                term = self.terms[i]
                value = np.full(n, term.scale)
                for expr in term.numeric:
                    value = value * numeric(expr)
                block[:, j] = value
                cols.append(offsets[i])
                j += 1
            if not np.all(np.isfinite(block)):
                return None
            parts.append(DenseColumns(block))
            columns.append(np.asarray(cols))
        if self.sparse:
            cached = evaluated or {}
            csr = csr_from_columns([cached[i] if i in cached else _term_vector(
                self.terms[i], frame) for i in self.sparse], n)
            if csr is None:
                return None
            parts.append(SparseColumns(csr))
            columns.append(np.asarray([offsets[i] for i in self.sparse]))
        for i, term in enumerate(self.terms):
            if not term.categorical or i in self.sparse:
                continue
            values = None
            if term.numeric or term.scale != 1.0:
                values = np.full(n, term.scale)
                for expr in term.numeric:
                    values = values * numeric(expr)
                if not np.all(np.isfinite(values)):
                    return None
            parts.append(_factor_part(term, frame, values))
            columns.append(np.arange(offsets[i], offsets[i + 1]))
        return StructuredDesign.build(parts, columns, n, self.names)


def _numeric(expr: str, frame: pd.DataFrame) -> np.ndarray:
    """A numeric factor's values for every row: a column, or formulaic's evaluation."""
    name = expr.strip("`")
    if name in frame.columns and not isinstance(frame[name].dtype, pd.CategoricalDtype):
        return frame[name].to_numpy(dtype=np.float64)
    evaluated = model_matrix(f"0 + {expr}", frame, na_action="ignore")
    return np.asarray(evaluated, dtype=np.float64)[:, 0]


def _codes(cat: _Categorical, frame: pd.DataFrame) -> np.ndarray:
    values = frame[cat.column]
    if isinstance(values.dtype, pd.CategoricalDtype) and list(
            values.cat.categories) == cat.levels:
        return np.asarray(values.cat.codes.to_numpy(), dtype=np.int64)
    # np.asarray: a boolean sparse column in a term not held sparse is coded densely.
    return np.asarray(pd.Categorical(np.asarray(values), categories=cat.levels).codes,
                      dtype=np.int64)


def _is_indicator(cat: _Categorical) -> bool:
    """A treatment-coded boolean factor: one column, the indicator of True."""
    return (cat.levels == [False, True] and cat.selection is not None
            and cat.selection.tolist() == [-1, 0])


def _term_vector(term: _Term, frame: pd.DataFrame) -> Vector:
    """A term of numeric factors and boolean indicators as one column (sparse
    when a factor is a zero-filled sparse column)."""
    factors: list[Vector] = []
    for expr in term.numeric:
        name = expr.strip("`")
        factors.append(column_vector(frame[name]) if name in frame.columns
                       else _numeric(expr, frame))
    factors += [indicator(frame[cat.column], True) for cat in term.categorical]
    if not factors:
        return np.full(len(frame), term.scale)
    value = factors[0]
    for factor in factors[1:]:
        value = multiply(value, factor)
    # A plain column's scale is 1: no copy of its values.
    return value if term.scale == 1.0 else multiply(term.scale, value)


def _choose_sparse(terms: Sequence[_Term], frame: pd.DataFrame, sparse_levels: Any,
                   threshold: float | None) -> dict[int, Vector]:
    """The terms to hold in the CSR part, with their columns on ``frame``: terms of
    numeric factors (and boolean sparse indicators) that read a zero-filled sparse
    column, or are mostly zero (:func:`~expfam.design.sparse_columns.hold_sparse`)."""
    out: dict[int, Vector] = {}
    for i, term in enumerate(terms):
        if not all(cat.column in sparse_levels and _is_indicator(cat)
                   for cat in term.categorical):
            continue
        reads_sparse = bool(term.categorical) or any(
            isinstance(frame[e.strip("`")].dtype, pd.SparseDtype)
            for e in term.numeric if e.strip("`") in frame.columns)
        if not reads_sparse and (threshold is None or len(frame) < SPARSE_MIN_ROWS):
            continue  # nothing to decide: a dense term stays dense
        vector = _term_vector(term, frame)
        if hold_sparse(vector, threshold):
            out[i] = vector
    return out


def _factor_part(term: _Term, frame: pd.DataFrame, values: np.ndarray | None) -> FactorColumns:
    """Combined codes (first factor fastest) and the Kronecker coding."""
    combined = np.zeros(len(frame), dtype=np.int64)
    radix = 1
    if all(c.selection is not None for c in term.categorical):
        # Column of a row = Σ col_f · (product of earlier widths); no column if any
        # factor puts the row in none.
        none = np.zeros(len(frame), dtype=bool)
        for cat in term.categorical:
            assert cat.selection is not None
            col = cat.selection[_codes(cat, frame)]
            none |= col < 0
            combined += np.maximum(col, 0) * radix
            radix *= int(cat.selection.max(initial=-1)) + 1
        combined[none] = term.width
        return FactorColumns(combined.astype(np.int32 if term.width < 2**31 else np.int64),
                             term.width, values=values)
    coding = np.ones((1, 1))
    for cat in term.categorical:
        matrix = cat.coding if cat.coding is not None else _selection_matrix(cat)
        combined += _codes(cat, frame) * radix
        radix *= len(cat.levels)
        coding = np.kron(matrix, coding)
    return FactorColumns(combined, term.width, contrast=coding, values=values)


def _selection_matrix(cat: _Categorical) -> np.ndarray:
    assert cat.selection is not None
    k = int(cat.selection.max(initial=-1)) + 1
    out = np.zeros((len(cat.levels), k))
    rows = np.flatnonzero(cat.selection >= 0)
    out[rows, cat.selection[rows]] = 1.0
    return out


def _categorical(expr: str, state: dict[str, Any], reduced: bool,
                 variables: Sequence[str]) -> _Categorical | None:
    """A categorical factor's levels and coding, or None if not a plain column."""
    column = expr.strip("`") if expr.strip("`") in variables else None
    match = _C_OF_COLUMN.match(expr)
    if column is None and match and match.group(1) in variables:
        column = match.group(1)
    if column is None:
        return None
    contrasts = state["contrasts"]
    levels = list(contrasts.levels)
    kind = contrasts.contrasts
    if isinstance(kind, TreatmentContrasts) or not reduced:
        if not reduced:
            selection = np.arange(len(levels))
        else:
            base = kind._find_base_index(levels)  # the level without a column
            selection = np.arange(len(levels)) - (np.arange(len(levels)) > base)
            selection[base] = -1
        return _Categorical(expr, column, levels, selection, None)
    if len(levels) > MAX_CONTRAST_LEVELS:
        return None
    coding = np.asarray(kind.get_coding_matrix(levels, reduced_rank=True), dtype=np.float64)
    return _Categorical(expr, column, levels, None, coding)


def plan_structure(rhs: Any, frame: pd.DataFrame, variables: Sequence[str], *,
                   sparse_levels: dict[str, list[Any]] | None = None,
                   sparse_threshold: float | None = None
                   ) -> tuple[StructurePlan, Any, StructuredDesign | None] | None:
    """The plan for a formula's right-hand side, formulaic's model spec and the
    design of ``frame``, or None when the formula has neither a factor nor a
    sparse term, or uses something only formulaic's dense path handles
    (stateful transforms, computed factors, multi-column terms).

    ``sparse_levels`` names the boolean sparse columns left sparse in ``frame``
    (coded as factors with these levels); ``sparse_threshold`` is the share of
    non-zeros below which a numeric term is held sparse (None: never).
    """
    sparse_levels = sparse_levels or {}
    probe_rows = np.arange(min(len(frame), PROBE_ROWS))
    probe = with_categories(frame.iloc[probe_rows], sparse_levels)
    try:
        matrix = model_matrix(rhs, probe, output="sparse", na_action="ignore")
    except Exception:
        return None
    spec = matrix.model_spec
    if spec.transform_state:
        return None
    terms: list[_Term] = []
    any_factor = False
    for structure in spec.structure:
        start = len(terms)
        for scoped in structure.scoped_terms:
            numeric, cats = [], []
            for scoped_factor in scoped.factors:
                expr = str(scoped_factor.factor.expr)
                kind, state = spec.encoder_state.get(expr, (None, {}))
                if kind is not None and str(kind).endswith("CATEGORICAL"):
                    cat = _categorical(expr, state, scoped_factor.reduced, variables)
                    if cat is None:
                        return None
                    cats.append(cat)
                else:
                    numeric.append(expr)
            width = 1
            for cat in cats:
                if cat.selection is not None:
                    width *= int(cat.selection.max(initial=-1)) + 1
                elif cat.coding is not None:
                    width *= int(cat.coding.shape[1])
            any_factor |= bool(cats)
            terms.append(_Term(tuple(numeric), tuple(cats), float(scoped.scale), width))
        if sum(t.width for t in terms[start:]) != len(structure.columns):
            return None  # a multi-column numeric factor (poly, splines): formulaic's
    chosen = _choose_sparse(terms, frame, sparse_levels, sparse_threshold)
    if not any_factor and not chosen:
        return None
    plan = StructurePlan(tuple(terms), tuple(spec.column_names), tuple(sorted(chosen)))
    try:
        built = plan.design(probe)
    except Exception:
        return None
    expected = matrix.__wrapped__.toarray() if hasattr(matrix, "__wrapped__") else (
        np.asarray(matrix.toarray()))
    if built is None or built.shape != expected.shape:
        return None
    mine = built.dense()
    scale = np.maximum(np.abs(expected), 1.0)
    if not np.all(np.abs(mine - expected) <= 1e-12 * scale):
        return None
    return plan, spec, plan.design(frame, chosen)
