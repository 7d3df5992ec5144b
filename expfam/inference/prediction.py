"""Predictions with standard errors and confidence intervals (``res.get_prediction``).

The linear predictor η = xᵀβ + offset has variance xᵀ Cov(β̂) x.  The mean's
standard error is the delta method's |dμ/dη|·se(η), and the interval is built
on the link scale, η ± q·se(η), and mapped back through the inverse link, so
that it stays inside the mean's range (a probability's in (0, 1)), as R's
``predict(se.fit=TRUE)`` users do by hand and statsmodels' ``get_prediction``
does.  For a categorical model each class probability p_c gets the delta
method's standard error through the softmax Jacobian, and its interval is built
on the logit scale of p_c and mapped back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import expit, logit

from expfam._typing import FloatArray
from expfam.backend.blocks import row_slices
from expfam.design.matrix import StructuredDesign, as_matrix
from expfam.engine.kernels import predict_eta
from expfam.errors import InputError
from expfam.inference.cov_forms import BLOCK_VALUES, design_variances
from expfam.inference.link_scale import mean_derivative, mean_of
from expfam.inference.predict import NewRows, new_rows

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["PredictionResults", "get_prediction", "linear_predictor_cov"]


def fitted_rows(res: GLMResults) -> NewRows:
    """The fitted rows as :class:`NewRows` (the one place that reads the dense
    design of the fit, so that a sparse or coded design has one spot to adapt)."""
    return NewRows(res.model.exog, res.model.offset, None, res.model.row_index)


def linear_predictor_cov(res: GLMResults, x: FloatArray | StructuredDesign) -> FloatArray:
    """Cov(η̂) at rows ``x`` (k, p): (k,) variances for a scalar family, (k, m, m)
    covariances of the m = K − 1 η's of a categorical model.  Aliased
    coefficients (not estimable) count as fixed at 0, as R's ``predict``.

    A scalar family's variances are quadratic forms with the fit's
    factorization (or sandwich), so a factor with many levels is never written
    out as dummy columns (:func:`~expfam.inference.cov_forms.design_variances`).
    """
    if res.model.classes is None:
        return design_variances(res, x)
    kept = res._kept
    cov = np.where(np.outer(kept, kept), res._cov, 0.0)
    p = x.shape[1]
    m = res._problem.n_natural
    blocks = cov.reshape(m, p, m, p)  # class-major flat coefficients
    out = np.empty((x.shape[0], m, m))
    for rows in row_slices(x.shape[0], max(1, BLOCK_VALUES // max(1, p))):
        dense = as_matrix(x, rows)  # a categorical information is dense: p is moderate
        out[rows] = np.einsum("ia,jalb,ib->ijl", dense, blocks, dense)
    return out


@dataclass
class PredictionResults:
    """Predicted means with delta-method standard errors and intervals.

    Attributes
    ----------
    predicted_mean : ndarray, shape (k,) or (k, K)
        The mean (per trial); class probabilities for a categorical model.
    se_mean : ndarray, shape like ``predicted_mean``
    linpred : ndarray, shape (k,) or (k, K − 1)
        The linear predictor η.
    se_linpred : ndarray, shape (k,) (scalar families only; NaN-filled otherwise)
    """

    predicted_mean: FloatArray
    se_mean: FloatArray
    linpred: FloatArray
    se_linpred: FloatArray
    _quantile: Any
    _inverse: Any
    _index: pd.Index | None
    _classes: tuple[Any, ...] | None
    alpha: float = 0.05

    def conf_int(self, alpha: float | None = None) -> FloatArray:
        """(k, 2) intervals for the mean (k, K, 2 for class probabilities), built
        on the link (or class-logit) scale and mapped back."""
        alpha = self.alpha if alpha is None else alpha
        if not 0 < alpha < 1:
            raise InputError(f"alpha must be between 0 and 1, got {alpha}")
        q = self._quantile(alpha)
        if self._classes is None:
            ends = np.stack([self._inverse(self.linpred - q * self.se_linpred),
                             self._inverse(self.linpred + q * self.se_linpred)], axis=-1)
            return np.sort(ends, axis=-1)  # a decreasing inverse link swaps the ends
        p = self.predicted_mean
        with np.errstate(divide="ignore", invalid="ignore"):
            centre, half = logit(p), q * self.se_mean / (p * (1.0 - p))
            ends = np.stack([expit(centre - half), expit(centre + half)], axis=-1)
        # A probability rounded to 0 or 1 has no logit: its interval is [0, 1]
        # unless its standard error is 0 too (then the point itself).
        edge = ~np.isfinite(centre) | ~np.isfinite(half)
        ends[edge] = np.where(self.se_mean[edge] > 0, 0.0, p[edge])[:, None] * [1, 0] + (
            np.where(self.se_mean[edge] > 0, 1.0, p[edge])[:, None] * [0, 1])
        return ends

    def summary_frame(self, alpha: float | None = None) -> pd.DataFrame:
        """Columns ``mean``, ``mean_se``, ``mean_ci_lower``, ``mean_ci_upper``
        (statsmodels' names); for a categorical model one row per (row, class)."""
        ci = self.conf_int(alpha)
        if self._classes is None:
            return pd.DataFrame({"mean": self.predicted_mean, "mean_se": self.se_mean,
                                 "mean_ci_lower": ci[:, 0], "mean_ci_upper": ci[:, 1]},
                                index=self._index)
        k = self.predicted_mean.shape[0]
        rows: pd.Index = self._index if self._index is not None else pd.RangeIndex(k)
        levels: list[Any] = [list(rows), list(self._classes)]
        index: pd.MultiIndex = pd.MultiIndex.from_product(
            levels, names=[str(rows.name or "row"), "class"])
        return pd.DataFrame({"mean": self.predicted_mean.ravel(),
                             "mean_se": self.se_mean.ravel(),
                             "mean_ci_lower": ci[..., 0].ravel(),
                             "mean_ci_upper": ci[..., 1].ravel()}, index=index)


def get_prediction(res: GLMResults, exog: ArrayLike | pd.DataFrame | None = None,
                   alpha: float = 0.05, offset: ArrayLike | str | None = None,
                   unseen: str = "raise") -> PredictionResults:
    """Predictions at new rows (default the fitted ones) with standard errors:
    see :meth:`GLMResults.get_prediction`."""
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, got {alpha}")
    rows = fitted_rows(res) if exog is None else new_rows(res, exog, offset, unseen)
    coef = np.where(np.isnan(res.params.to_numpy()), 0.0, res.params.to_numpy())
    eta = predict_eta(rows.exog, coef, rows.offset)  # factors as codes: a gather
    var_eta = linear_predictor_cov(res, rows.exog)
    mu = mean_of(res, eta)
    deriv = mean_derivative(res, eta)
    if res.model.classes is None:
        se_eta = np.sqrt(var_eta)
        se_mu = np.abs(deriv) * se_eta
    else:
        cov_mu = np.einsum("icj,ijl,idl->icd", deriv, var_eta, deriv)
        se_mu = np.sqrt(np.clip(np.diagonal(cov_mu, axis1=1, axis2=2), 0.0, None))
        se_eta = np.sqrt(np.diagonal(var_eta, axis1=1, axis2=2))
    if rows.valid is not None:  # rows with a missing value or unseen level: NaN
        bad = ~rows.valid
        for arr in (mu, se_mu, eta, se_eta):
            arr[bad] = np.nan
    reference = res._reference()
    classes = None if res.model.classes is None else res.model.classes.labels
    return PredictionResults(mu, se_mu, eta, se_eta,
                             lambda a: reference.isf(a / 2.0),
                             lambda e: mean_of(res, e), rows.index, classes, alpha)
