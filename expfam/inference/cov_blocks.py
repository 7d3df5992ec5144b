"""Blocks of a fit's covariance matrix without forming it whole.

Beyond :data:`MAX_DENSE_COV` coefficients (a factor with many levels) the
p × p covariance is never formed; a block of it is one solve with the Schur
complement (``nonrobust``), or a product of the sandwich's pieces (robust and
cluster types; :mod:`expfam.inference.robust_arrow`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from expfam._typing import FloatArray
from expfam.errors import InputError

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["MAX_DENSE_COV", "covariance_block"]

#: Largest number of coefficients whose covariance matrix is formed whole; beyond
#: it (a factor with many levels) ``cov_params(columns=...)`` gives blocks of it.
MAX_DENSE_COV = 5000


def covariance_block(res: GLMResults, idx: np.ndarray) -> FloatArray:
    """The covariance at the coefficients ``idx`` (flat positions), shape
    (len(idx), len(idx)); NaN rows and columns for aliased coefficients.

    Below :data:`MAX_DENSE_COV` coefficients it is read from the whole matrix
    (formed once and cached); beyond, it is computed for ``idx`` alone.
    """
    kept = res._kept
    if len(kept) <= MAX_DENSE_COV:
        return res._cov[np.ix_(idx, idx)]
    if len(idx) > MAX_DENSE_COV:
        raise InputError(f"a covariance block of {len(idx)} coefficients would be a "
                         f"{len(idx)} × {len(idx)} matrix (more than {MAX_DENSE_COV}); ask "
                         "cov_params(columns=[...]) for fewer coefficients at a time")
    ok = kept[idx]
    sub = np.full((len(idx), len(idx)), np.nan)
    if not ok.any():
        return sub
    inner = (np.cumsum(kept) - 1)[idx[ok]]  # positions among the estimable
    if res.cov_type == "nonrobust":
        block = res.scale * res._factor.columns(inner)
    elif res._sandwich is not None:
        block = res._sandwich.block(inner)
    else:
        return res._cov[np.ix_(idx, idx)]  # refused, with a message naming what to do
    sub[np.ix_(ok, ok)] = block
    return sub
