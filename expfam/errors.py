"""Errors and warnings raised by expfam.

Every message says what is wrong, where (which argument, column, level or rows)
and what to do about it.  The classes subclass the built-in exception a user
would already catch (``ValueError`` for bad input, ``ArithmeticError`` for
numerical failure), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = [
    "ConvergenceWarning",
    "DataWarning",
    "DomainError",
    "ExpfamError",
    "ExpfamWarning",
    "InputError",
    "NumericalError",
    "RankDeficientError",
    "SeparationWarning",
    "describe_levels",
    "describe_rows",
    "label",
    "row_labels",
    "user_stacklevel",
]


class ExpfamError(Exception):
    """Base class of every error raised by expfam."""


class InputError(ExpfamError, ValueError):
    """Input that cannot be used as given: wrong shape, type, length or value."""


class DomainError(InputError):
    """A response value outside the support of the chosen family."""


class RankDeficientError(ExpfamError, np.linalg.LinAlgError):
    """The design matrix does not have full column rank.

    Attributes
    ----------
    aliased : dict[str, list[str]]
        Each aliased column, mapped to the columns it is a linear combination of.
    """

    def __init__(self, message: str, aliased: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.aliased = aliased or {}


class NumericalError(ExpfamError, ArithmeticError):
    """A computation produced non-finite values that cannot be recovered from."""


class ExpfamWarning(UserWarning):
    """Base class of every warning issued by expfam."""


class ConvergenceWarning(ExpfamWarning):
    """A fit stopped before its convergence criterion was met; the message says why."""


class SeparationWarning(ExpfamWarning):
    """Fitted values on the boundary (probabilities of 0 or 1): the data look separated."""


class DataWarning(ExpfamWarning):
    """Input that can be used but deserves attention (e.g. non-integer counts)."""


#: Frames of these files are skipped when a warning looks for the user's call: the
#: package itself and the standard wrappers its lazy properties run inside.
_OWN_FILES = (os.path.dirname(os.path.abspath(__file__)) + os.sep,
              functools.__file__, contextlib.__file__)


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes ``warnings.warn`` point at the user's line.

    Counts the frames from the caller of ``warnings.warn`` up to the first one
    outside expfam (and outside ``functools``' cached properties), so a warning
    names the user's call however deep inside the package it was raised, and
    Python's once-per-location filter works per user call.
    """
    frame = sys._getframe(1)  # the function that is calling warnings.warn
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_OWN_FILES):
        frame = frame.f_back
        level += 1
    return level


def label(value: object) -> str:
    """A class or level for display: strings quoted, numbers plain."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value) if isinstance(value, str) else str(value)


def describe_levels(levels: Sequence[object], limit: int = 10) -> str:
    """The first ``limit`` levels for a message and how many more: a factor of
    20,000 levels must not make a message of 20,000 names."""
    shown = ", ".join(label(v) for v in levels[:limit])
    return shown + (f" and {len(levels) - limit} more" if len(levels) > limit else "")


def describe_rows(mask_or_index: ArrayLike, limit: int = 5) -> str:
    """Describe offending rows for an error message: ``"rows 3, 17 and 40 more"``.

    Parameters
    ----------
    mask_or_index : ndarray of bool, shape (n,), or sequence of int
        Either a boolean mask over rows or the positions of the offending rows.
    limit : int
        How many row positions to list before summarising the rest as a count.
    """
    arr = np.asarray(mask_or_index)
    rows = np.flatnonzero(arr) if arr.dtype == bool else arr.astype(np.int64).ravel()
    more = len(rows) - limit
    labels = _ROW_LABELS.get()
    if labels is not None and (len(rows) == 0 or rows.max() < len(labels)):
        # The user's own row labels (say, rows of a DataFrame some of which were
        # dropped as missing), not positions they would have to translate.
        shown = ", ".join(repr(lab) if isinstance(lab, str) else str(lab)
                          for lab in (labels[int(r)] for r in rows[:limit]))
        noun = "the row labelled" if len(rows) == 1 else "rows labelled"
    else:
        shown = ", ".join(str(int(r)) for r in rows[:limit])
        noun = "row" if len(rows) == 1 else "rows"
    return f"{noun} {shown}" + (f" and {more} more" if more > 0 else "")


_ROW_LABELS: ContextVar[Any] = ContextVar("expfam_row_labels", default=None)


@contextmanager
def row_labels(labels: Sequence[Any] | pd.Index | None) -> Iterator[None]:
    """Within the block, :func:`describe_rows` names rows by ``labels`` (the index
    of the user's data) rather than by position; ``None``, or an index that is
    just 0, 1, 2, …, keeps positions (they are the same)."""
    if isinstance(labels, pd.RangeIndex) and labels.start == 0 and labels.step == 1:
        labels = None
    token = _ROW_LABELS.set(labels)
    try:
        yield
    finally:
        _ROW_LABELS.reset(token)
