"""Box's M test that several classes share one covariance matrix.

The check of linear discriminant analysis's assumption (:meth:`LDAResults.box_m`,
and the report of :func:`expfam.compare`), computed from the same mergeable
class summary the LDA fit uses: no second pass over the rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from expfam._typing import FloatArray
from expfam.engine.scatter import ClassScatter
from expfam.errors import DataWarning, user_stacklevel

__all__ = ["box_m_test"]


def box_m_test(summary: ClassScatter, labels: Sequence[Any]) -> pd.Series:
    """Box's M test that the classes share one covariance (χ² approximation).

    M = (n − K) log|S_pooled| − Σ (n_k − 1) log|S_k| with unbiased
    covariances, scaled by Box's correction; small p-values speak against the
    shared covariance (the test is sensitive to non-normality too).

    Parameters
    ----------
    summary : ClassScatter
        Per-class weights (K,), means (K, p) and centred scatter (K, p, p).
    labels : sequence, length K
        Class labels, for messages.

    Returns
    -------
    Series
        ``M``, ``chi2``, ``df``, ``p_value``.  The statistic needs every class
        covariance to be non-singular (each class more rows than features);
        otherwise ``M``, ``chi2`` and ``p_value`` are NaN and a
        :class:`~expfam.errors.DataWarning` names the classes.
    """
    k, p = summary.mean.shape
    df_k = summary.weight - 1.0
    df = float(df_k.sum())
    dof = p * (p + 1) * (k - 1) / 2.0
    class_cov = [summary.scatter[c] / df_k[c] for c in range(k)]
    problems = _singular_classes(class_cov, df_k, labels)
    if problems:
        # log|S_k| = −∞ would make M infinite and p = 0: "covariances differ"
        # when in truth the test cannot be computed.
        warnings.warn(
            f"Box's M is undefined because the covariance of {'; '.join(problems)} is "
            "singular; M, chi2 and p_value are NaN. Merge or drop small classes, or "
            "use fewer features", DataWarning, stacklevel=user_stacklevel())
        return pd.Series({"M": np.nan, "chi2": np.nan, "df": dof, "p_value": np.nan},
                         name="Box's M")
    logdet = [np.linalg.slogdet(cov)[1] for cov in class_cov]
    pooled = np.linalg.slogdet(summary.pooled / df)[1]
    statistic = df * pooled - float(np.dot(df_k, logdet))
    correction = ((2 * p**2 + 3 * p - 1) / (6.0 * (p + 1) * (k - 1))
                  * (float(np.sum(1.0 / df_k)) - 1.0 / df))
    chi2 = (1.0 - correction) * statistic
    return pd.Series({"M": statistic, "chi2": chi2, "df": dof,
                      "p_value": float(stats.chi2.sf(chi2, dof))}, name="Box's M")


def _singular_classes(class_cov: list[FloatArray], df_k: FloatArray,
                      labels: Sequence[Any]) -> list[str]:
    """Why each singular class covariance is singular (empty if none is).

    The pooled covariance is non-singular if every class's is, so the classes
    are all that need checking.
    """
    p = class_cov[0].shape[0]
    problems = []
    for label, cov, dof in zip(labels, class_cov, df_k, strict=True):
        if dof < p:
            problems.append(f"class {label!r} ({dof + 1:g} rows for {p} features: it "
                            f"needs at least {p + 1})")
        elif np.linalg.matrix_rank(cov, hermitian=True) < p:
            problems.append(f"class {label!r} (its features are collinear within the class)")
    return problems
