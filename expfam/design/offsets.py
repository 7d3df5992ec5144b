"""``offset(expr)`` terms of a formula: cut out of the text, evaluated as columns.

formulaic has no ``offset()``; R's model frame evaluates each offset
expression on the rows and adds them up.  These helpers do the same, for the
fit and again for new rows at prediction.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix

from expfam.errors import InputError

__all__ = ["evaluate_offsets", "parse_offset", "split_offsets"]

_OFFSET_START = re.compile(r"(^|[+~])\s*offset\(")


def split_offsets(formula: str) -> tuple[str, tuple[str, ...]]:
    """The formula without its ``offset(expr)`` terms, and those expressions.

    formulaic has no ``offset()``: the terms are cut out of the text (up to the
    matching parenthesis) and evaluated separately, as R's model frame does.
    """
    if not isinstance(formula, str):
        return formula, ()
    text, found = formula, []
    while (match := _OFFSET_START.search(text)) is not None:
        start, depth, i = match.end(), 1, match.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        if depth:
            raise InputError(f"unbalanced parentheses in offset(...) of {formula!r}")
        found.append(text[start:i - 1].strip())
        # Keep the '~' before a first term; drop a '+' before a later one.
        keep = match.group(1) if match.group(1) == "~" else ""
        text = text[:match.start()] + keep + text[i:]
    if found:
        lhs, _, rhs = text.partition("~")
        rhs = rhs.strip().lstrip("+").strip()
        text = f"{lhs}~ {rhs or '1'}"
        if any(not expr for expr in found):
            raise InputError(f"offset() needs an expression of columns in {formula!r}")
    return text, tuple(found)


def parse_offset(expr: str) -> Any:
    try:
        return Formula(f"0 + I({expr})")
    except Exception as err:  # formulaic's parser errors have many types
        raise InputError(f"cannot parse offset({expr}): {err}") from None


def evaluate_offsets(exprs: tuple[str, ...], data: pd.DataFrame) -> np.ndarray:
    """Σ of the offset expressions, row by row, evaluated as formula terms."""
    total = np.zeros(len(data))
    for expr in exprs:
        try:
            with np.errstate(all="ignore"):  # log(0): -inf, reported by the model's checks
                values = model_matrix(parse_offset(expr), data, na_action="ignore")
        except Exception as err:  # formulaic wraps a missing column in its own error
            raise InputError(f"cannot evaluate offset({expr}) on these rows: {err}. The data "
                             "need every column the offset uses") from None
        total = total + np.asarray(values, dtype=np.float64)[:, 0]
    return total
