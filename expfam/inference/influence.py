"""Influence measures of a fitted GLM, as R defines them (``influence.measures``,
``rstudent``, ``rstandard``, ``cooks.distance``).

With W the IRLS weights at the estimate (prior weight × trials × dμ/dη² / V)
and h_i = W_i x_iᵀ(XᵀWX)⁻¹x_i the hat values, R's definitions are, with d_i the
deviance and r_i the Pearson residuals (both with √(prior weight)), φ the
dispersion and p the rank:

* Cook's distance (r_i / (1 − h_i))² h_i / (φ p);
* standardized residuals d_i / √(φ (1 − h_i)) (``rstandard``; Pearson too);
* studentized residuals, Williams' likelihood residual
  sign(d_i) √(d_i² + h_i r_i² / (1 − h_i)), divided by σ_(i) when the
  dispersion is estimated (``rstudent``; statsmodels uses another definition);
* the one-step change in the coefficients when row i is left out,
  (XᵀWX)⁻¹ x_i √W_i d_i / (1 − h_i) (R ≥ 4 uses the deviance residual here), and
  dfbetas, that change over σ_(i) √diag((XᵀWX)⁻¹), with the leave-one-out
  σ_(i)² = (Σ d² − d_i² / (1 − h_i)) / (df_resid − 1) — for every family, as R;
* dffits d_i √h_i / (σ_(i) (1 − h_i)) and the covariance ratio
  (σ_(i) / s)^(2p) / (1 − h_i), s² = Σ d² / df_resid.

Aliased columns are left out, as R's QR drops them.  With frequency weights a
row is left out with all its weight, and σ_(i) uses df_resid − 1 on the weighted
count (R, whose prior weights are not frequency weights, counts rows; the
tests compare unweighted fits and binomial trials, where the two agree).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from expfam._typing import FloatArray
from expfam.backend.blocks import default_backend, row_slices
from expfam.design.gram import ArrowGram
from expfam.design.matrix import StructuredDesign
from expfam.engine.kernels import quadratic_form, weighted_gram
from expfam.engine.linalg import CholeskyFactor
from expfam.engine.schur import SchurFactor, factorize
from expfam.errors import InputError
from expfam.inference.cov_blocks import MAX_DENSE_COV

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

#: Families whose studentized residuals R leaves unscaled (``rstudent.glm``).
UNIT_DISPERSION = ("bernoulli", "binomial", "poisson", "categorical")

__all__ = ["GLMInfluence"]


class GLMInfluence:
    """Influence and outlier measures of each fitted row (``res.get_influence()``).

    Every attribute is a pandas object indexed like the fitted rows.
    """

    def __init__(self, res: GLMResults) -> None:
        if res.model.classes is not None:
            raise InputError("influence measures are for single-response families; a "
                             "categorical model has one residual per class")
        self.results = res
        self._kept = res._kept
        self._names = [n for n, k in zip(res.model.exog_names, self._kept, strict=True) if k]
        self._index = res._layout.rows

    # -- the building blocks -------------------------------------------------
    @cached_property
    def _weights(self) -> FloatArray:
        """IRLS weights W: prior weights × trials × (dμ/dη)² / V(μ) (= V for a
        canonical link)."""
        res = self.results
        ratio = np.nan_to_num(np.asarray(res.model.family.fisher_weight(res._eta),
                                         dtype=np.float64))
        return np.asarray(res._problem.weights, dtype=np.float64) * ratio

    @cached_property
    def _information(self) -> CholeskyFactor | SchurFactor:
        """XᵀWX of the estimable columns with the IRLS (expected) weights, factorised:
        the fit's own information unless it was the observed one (another link),
        else one pass of the design's own products (factor codes stay codes)."""
        res = self.results
        if res.information == "expected" or res.model.family.canonical:
            return res._factor
        problem = res._problem
        weights = self._weights

        def gram(rows: slice) -> FloatArray | ArrowGram:
            return weighted_gram(problem.block(rows).exog, weights[rows])

        hessian = default_backend().map_sum(gram, problem.n_obs)
        kept = self._kept
        if isinstance(hessian, ArrowGram):
            return factorize(hessian if kept.all() else hessian.submatrix(kept))
        return factorize(hessian[np.ix_(kept, kept)])

    @cached_property
    def _xtwx_inv(self) -> FloatArray:
        """(XᵀWX)⁻¹ over the estimable columns, (rank, rank): only dfbeta needs it
        whole."""
        rank = self._rank
        if rank > MAX_DENSE_COV:
            raise InputError(f"dfbeta and dfbetas have one column per coefficient and need "
                             f"the {rank} × {rank} inverse information (more than "
                             f"{MAX_DENSE_COV} coefficients, from a factor with many levels); "
                             "the other influence measures do not")
        return self._information.inverse()

    def _rows_dense(self, rows: slice) -> FloatArray:
        """A block of the fitted design's estimable columns, written out: (b, rank)."""
        exog = self.results._problem.block(rows).exog
        x = exog.dense() if isinstance(exog, StructuredDesign) else np.asarray(exog)
        return x[:, self._kept]

    def _series(self, values: FloatArray, name: str) -> pd.Series:
        return pd.Series(values, index=self._index, name=name)

    @cached_property
    def _prior(self) -> FloatArray:
        w = self.results.model.weights
        if w is None:
            return np.ones(self.results._problem.n_obs)
        return np.asarray(w, dtype=np.float64)

    @cached_property
    def _dev(self) -> FloatArray:
        """Deviance residuals with √(prior weight), as R's."""
        return np.sqrt(self._prior) * self.results.resid_deviance.to_numpy()

    @cached_property
    def _pearson(self) -> FloatArray:
        return np.sqrt(self._prior) * self.results.resid_pearson.to_numpy()

    @cached_property
    def _hat(self) -> FloatArray:
        """h_i = W_i x_iᵀ(XᵀWX)⁻¹x_i, by blocks of rows: with the Schur
        complement for a factor with many levels, so no dummy column is formed."""
        res, factor = self.results, self._information
        problem = res._problem
        if isinstance(factor, SchurFactor) and self._kept.all():
            bread: FloatArray | SchurFactor = factor
        else:
            # Zero rows and columns for aliased coefficients: they leave x_iᵀBx_i alone.
            inverse = np.zeros((len(self._kept), len(self._kept)))
            inverse[np.ix_(self._kept, self._kept)] = factor.inverse()
            bread = inverse
        h = np.empty(problem.n_obs)

        def fill(rows: slice) -> int:
            h[rows] = self._weights[rows] * quadratic_form(problem.block(rows).exog, bread)
            return 0

        default_backend().map_sum(fill, problem.n_obs)
        return np.where(h > 1 - 10 * np.finfo(float).eps, 1.0, h)

    @property
    def _rank(self) -> int:
        return int(np.count_nonzero(self._kept))

    @cached_property
    def _sigma(self) -> FloatArray:
        """Leave-one-out dispersion σ_(i), from the deviance residuals."""
        d, h = self._dev, self._hat
        with np.errstate(divide="ignore", invalid="ignore"):
            rest = np.sum(d**2) - np.where(h < 1, d**2 / (1 - h), 0.0)
        return np.sqrt(np.maximum(rest, 0.0) / (self.results.df_resid - 1))

    # -- the measures ------------------------------------------------------------
    @property
    def hat_matrix_diag(self) -> pd.Series:
        """Leverages h_i, the diagonal of the weighted hat matrix (R's ``hatvalues``)."""
        return self._series(self._hat, "hat_diag")

    @property
    def cooks_distance(self) -> pd.Series:
        """Cook's distance, from the Pearson residuals (R's ``cooks.distance``)."""
        h = self._hat
        with np.errstate(divide="ignore", invalid="ignore"):
            d = (self._pearson / (1 - h)) ** 2 * h / (self.results.scale * self._rank)
        return self._series(np.where(np.isinf(d), np.nan, d), "cooks_d")

    def _standardized(self, resid: FloatArray, name: str) -> pd.Series:
        with np.errstate(divide="ignore", invalid="ignore"):
            r = resid / np.sqrt(self.results.scale * (1 - self._hat))
        return self._series(np.where(np.isinf(r), np.nan, r), name)

    @property
    def resid_standardized(self) -> pd.Series:
        """Standardized deviance residuals (R's ``rstandard``)."""
        return self._standardized(self._dev, "standard_resid")

    @property
    def resid_standardized_pearson(self) -> pd.Series:
        """Standardized Pearson residuals (``rstandard(type="pearson")``)."""
        return self._standardized(self._pearson, "standard_resid_pearson")

    @property
    def resid_studentized(self) -> pd.Series:
        """Williams' likelihood residuals (R's ``rstudent``), over σ_(i) for every
        family but the binomial and Poisson ones (as R: the Gaussian, Gamma,
        inverse Gaussian, negative binomial and quasi fits)."""
        d, r, h = self._dev, self._pearson, self._hat
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.sign(d) * np.sqrt(d**2 + h * r**2 / (1 - h))
        res = self.results
        if res.model.family.name not in UNIT_DISPERSION or res.quasi:
            out = out / self._sigma
        return self._series(np.where(np.isinf(out), np.nan, out), "student_resid")

    @property
    def dfbeta(self) -> pd.DataFrame:
        """One-step change in each coefficient when the row is left out (n × p)."""
        h = self._hat
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(h == 1, 0.0, np.sqrt(self._weights) * self._dev / (1 - h))
        inverse = self._xtwx_inv
        n = len(h)
        change = np.empty((n, self._rank))
        for rows in row_slices(n):
            change[rows] = (self._rows_dense(rows) @ inverse) * scale[rows, None]
        return pd.DataFrame(change, index=self._index, columns=self._names)

    @property
    def dfbetas(self) -> pd.DataFrame:
        """:attr:`dfbeta` over σ_(i)·√diag((XᵀWX)⁻¹) (R's ``dfbetas``)."""
        denom = np.outer(self._sigma, np.sqrt(np.diag(self._xtwx_inv)))
        with np.errstate(divide="ignore", invalid="ignore"):
            values = self.dfbeta.to_numpy() / denom
        return pd.DataFrame(np.where(np.isinf(values), np.nan, values), index=self._index,
                            columns=self._names)

    @property
    def dffits(self) -> pd.Series:
        """d_i √h_i / (σ_(i)(1 − h_i))."""
        h = self._hat
        with np.errstate(divide="ignore", invalid="ignore"):
            values = self._dev * np.sqrt(h) / (self._sigma * (1 - h))
        return self._series(np.where(np.isinf(values), np.nan, values), "dffits")

    @property
    def cov_ratio(self) -> pd.Series:
        """(σ_(i)/s)^(2p) / (1 − h_i), s² = Σ d² / df_resid."""
        s = np.sqrt(np.sum(self._dev**2) / self.results.df_resid)
        with np.errstate(divide="ignore", invalid="ignore"):
            values = (self._sigma / s) ** (2 * self._rank) / (1 - self._hat)
        return self._series(np.where(np.isinf(values), np.nan, values), "cov_ratio")

    def summary_frame(self) -> pd.DataFrame:
        """Every measure, one row per fitted row: ``dfb_<coefficient>``, ``dffits``,
        ``cov_ratio``, ``cooks_d``, ``hat_diag``, ``standard_resid``,
        ``student_resid``."""
        frame = self.dfbetas.add_prefix("dfb_")
        for series in (self.dffits, self.cov_ratio, self.cooks_distance,
                       self.hat_matrix_diag, self.resid_standardized, self.resid_studentized):
            frame[series.name] = series
        return frame

    def __repr__(self) -> str:
        return f"<GLMInfluence: {self.results._problem.n_obs} rows, {self._rank} coefficients>"
