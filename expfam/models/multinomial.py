"""Multinomial logit from a formula; the categorical-family GLM.

A multinomial logit is fit by the same IRLS as every other family.  What is
particular to many classes lives beside it: re-expressing a fit against another
reference class (:mod:`expfam.inference.reference`) and one-vs-rest fits
(:mod:`expfam.models.one_vs_rest`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from numpy.typing import ArrayLike

from expfam.design.sparse_columns import SPARSE_THRESHOLD
from expfam.inference.reference import change_reference
from expfam.models.glm import GLM
from expfam.models.one_vs_rest import OneVsRest, one_vs_rest

__all__ = ["OneVsRest", "change_reference", "mnlogit", "one_vs_rest"]


def mnlogit(formula: str, data: pd.DataFrame, reference: Any = None,
            weights: ArrayLike | str | None = None, offset: ArrayLike | str | None = None,
            missing: str = "drop", sparse_threshold: float | None = SPARSE_THRESHOLD) -> GLM:
    """A multinomial logit from a formula: a categorical-family GLM.

    Parameters
    ----------
    formula : str
        ``"class ~ x1 + x2"``; the response is a column of labels (strings,
        integers or a pandas Categorical, whose category order is kept).
    data : DataFrame
    reference : label, optional
        The baseline class; default the first level.
    weights, offset : str or array-like, optional
    missing : {"drop", "raise"}
    sparse_threshold : float or None
        Mostly-zero numeric terms held sparse (see :meth:`GLM.from_formula`).
    """
    return GLM.from_formula(formula, data, family="categorical", reference=reference,
                            weights=weights, offset=offset, missing=missing,
                            sparse_threshold=sparse_threshold)
