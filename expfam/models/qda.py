"""Quadratic discriminant analysis, and Friedman's regularized version (RDA) between
LDA and QDA.

Each class k is a Gaussian N(m_k, Σ_k) with its own covariance and prior π_k.
The log posterior odds of class k against the first are quadratic in x:

    −½ xᵀ(P_k − P_0)x + (P_k m_k − P_0 m_0)ᵀx + log π_k/π_0
        − ½ m_kᵀP_k m_k + ½ m_0ᵀP_0 m_0 − ½ log|Σ_k| + ½ log|Σ_0|,   P_k = Σ_k⁻¹,

a softmax on T(x) = (x_i, x_i², x_i x_j for i < j): the discriminative twin is
logistic regression on the linear, square and cross terms.

Friedman (1989, JASA 84, 165–175) regularizes each class covariance twice:

    Σ_k(λ) = ((1 − λ) S_k + λ S) / ((1 − λ) d_k + λ d),
    Σ_k(λ, γ) = (1 − γ) Σ_k(λ) + γ (tr Σ_k(λ) / p) I,

with S_k the class scatter, S = Σ_k S_k the pooled one and d_k, d their
divisors (n_k and n, or n_k − 1 and n − K).  λ = 0 is QDA, λ = 1 is LDA, and
γ shrinks towards a multiple of the identity.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from expfam._typing import BoolArray, FloatArray
from expfam.backend.blocks import Backend, default_backend
from expfam.engine.linalg import CholeskyFactor
from expfam.engine.scatter import ClassScatter, class_scatter
from expfam.errors import InputError, RankDeficientError
from expfam.inference.generative_delta import log_det, wishart_covariance
from expfam.models.generative import GenerativeModel, GenerativeResults

__all__ = ["QDA", "QDAResults", "qda", "rda"]

COVARIANCES = ("mle", "unbiased")


def _unit_interval(value: float, name: str) -> float:
    if isinstance(value, bool) or not 0.0 <= float(value) <= 1.0:
        raise InputError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


class QDA(GenerativeModel):
    """Quadratic discriminant analysis: Gaussian classes, each with its own covariance.

    Parameters
    ----------
    endog : array-like, shape (n,)
        Class labels; the first level is the reference of ``logistic_params``.
    exog : array-like, shape (n, p)
        Features, without a constant column.
    priors : array-like or dict, optional
        Class priors; default the (weighted) class proportions.
    covariance : {"mle", "unbiased"}
        Divide each class scatter by n_k (maximum likelihood, the default) or
        by n_k − 1 (as R's ``MASS::qda`` and scikit-learn).
    pooling : float in [0, 1]
        Friedman's λ: 0 is QDA, 1 is LDA (each class covariance replaced by the
        pooled one).
    shrinkage : float in [0, 1]
        Friedman's γ: shrink each covariance towards (tr Σ_k / p)·I.
    weights : array-like, shape (n,), optional
        Frequency weights.
    """

    kind = "QDA"

    def __init__(self, endog: ArrayLike, exog: ArrayLike, priors: Any = None,
                 covariance: str = "mle", pooling: float = 0.0, shrinkage: float = 0.0,
                 weights: ArrayLike | None = None) -> None:
        if covariance not in COVARIANCES:
            raise InputError(f"covariance must be 'mle' or 'unbiased', got {covariance!r}")
        self.covariance_type = covariance
        self.pooling = _unit_interval(pooling, "pooling (Friedman's lambda)")
        self.shrinkage = _unit_interval(shrinkage, "shrinkage (Friedman's gamma)")
        super().__init__(endog, exog, priors=priors, weights=weights)

    @classmethod
    def from_formula(cls, formula: str, data: pd.DataFrame, priors: Any = None,
                     covariance: str = "mle", pooling: float = 0.0, shrinkage: float = 0.0,
                     weights: ArrayLike | str | None = None, missing: str = "drop") -> QDA:
        """QDA on the columns a formula builds (its intercept is left out of the
        features and reappears in :meth:`QDAResults.logistic_params`)."""
        model: QDA = cls._from_frame(formula, data, weights, missing, priors=priors,
                                     covariance=covariance, pooling=pooling,
                                     shrinkage=shrinkage)
        return model

    def fit(self, backend: Backend | None = None) -> QDAResults:
        """Closed-form maximum likelihood from one pass over the rows."""
        backend = backend or default_backend()
        k = len(self.classes.labels)
        p = self.exog.shape[1]
        self.check_class_sizes(2)
        summary = class_scatter(self.exog, self.codes, self.weights, k, backend)
        if self.pooling == 0.0 and self.shrinkage == 0.0:
            short = [(label, w) for label, w in zip(self.classes.labels, summary.weight,
                                                    strict=True) if w <= p]
            if short:
                which = ", ".join(f"{label!r} ({w:g} rows)" for label, w in short)
                raise InputError(
                    f"QDA needs more rows than features ({p}) in every class, but class(es) "
                    f"{which} have too few: their covariance matrices are singular. Use "
                    "RDA (ef.rda, or pooling > 0 to borrow the pooled covariance), or LDA "
                    "(ef.lda), or fewer features")
        unbiased = self.covariance_type == "unbiased"
        class_df = summary.weight - (1.0 if unbiased else 0.0)
        pooled_df = float(summary.weight.sum()) - (k if unbiased else 0)
        return QDAResults(self, summary, class_df, pooled_df)


def qda(formula: str, data: pd.DataFrame, **kwargs: Any) -> QDA:
    """A :class:`QDA` from a formula: ``ef.qda("y ~ x1 + x2", data=df).fit()``."""
    return QDA.from_formula(formula, data, **kwargs)


def rda(formula: str, data: pd.DataFrame, pooling: float, shrinkage: float = 0.0,
        **kwargs: Any) -> QDA:
    """Friedman's regularized discriminant analysis: a :class:`QDA` with λ = ``pooling``
    and γ = ``shrinkage`` (λ = 0: QDA; λ = 1, γ = 0: LDA)."""
    return QDA.from_formula(formula, data, pooling=pooling, shrinkage=shrinkage, **kwargs)


def _regularized(class_cov: np.ndarray, class_df: FloatArray, pooled_df: float,
                 pooling: float, shrinkage: float) -> np.ndarray:
    """Friedman's Σ_k(λ, γ) from the unregularized class covariances S_k/d_k, shape
    (K, p, p) (analytic in them, for the complex-step delta method)."""
    scatter = class_cov * class_df[:, None, None]
    pooled = scatter.sum(axis=0)
    if pooling:
        divisor = (1 - pooling) * class_df + pooling * pooled_df
        cov = ((1 - pooling) * scatter + pooling * pooled) / divisor[:, None, None]
    else:
        cov = class_cov
    if shrinkage:
        p = cov.shape[1]
        trace = np.einsum("kii->k", cov) / p
        cov = (1 - shrinkage) * cov + shrinkage * trace[:, None, None] * np.eye(p)
    return np.asarray(cov)


class QDAResults(GenerativeResults):
    """A fitted (regularized) quadratic discriminant.

    Attributes
    ----------
    priors : Series
        π_k by class.
    means : DataFrame
        Class × feature means.
    covariances : dict of DataFrame
        The covariance the rule uses for each class (after any regularization).
    """

    model: QDA

    def __init__(self, model: QDA, summary: ClassScatter, class_df: FloatArray,
                 pooled_df: float) -> None:
        self.model = model
        self.summary = summary
        self._class_df = class_df
        self._pooled_df = pooled_df
        self.nobs = float(summary.weight.sum())
        self._priors = (summary.weight / self.nobs if model.priors is None
                        else model.priors)
        self._raw_cov = summary.scatter / class_df[:, None, None]
        cov = _regularized(self._raw_cov, class_df, pooled_df, model.pooling,
                           model.shrinkage)
        labels = list(model.classes.labels)
        names = list(model.exog_names)
        self._factors = []
        for label, c in zip(labels, cov, strict=True):
            try:
                self._factors.append(CholeskyFactor(c, names))
            except RankDeficientError as err:
                parts = [f"{col!r} is a linear combination of {', '.join(map(repr, deps))}"
                         if deps else f"{col!r} is constant within the class"
                         for col, deps in err.aliased.items()]
                detail = "; ".join(parts) or "collinear features"
                raise RankDeficientError(
                    f"the covariance of class {label!r} is singular: {detail}. Drop the "
                    "collinear features, or regularize: ef.rda(..., pooling=0.5) or "
                    "shrinkage > 0", aliased=err.aliased) from None
        self._cov = cov
        index = pd.Index(labels, name="class")
        self.priors = pd.Series(self._priors, index=index, name="prior")
        self.means = pd.DataFrame(summary.mean, index=index, columns=names)
        self.covariances = {label: pd.DataFrame(c, index=names, columns=names)
                            for label, c in zip(labels, cov, strict=True)}

    # -- densities ------------------------------------------------------------
    def _log_density(self, x: FloatArray) -> FloatArray:
        out = np.empty((x.shape[0], len(self._factors)))
        for k, factor in enumerate(self._factors):
            centred = x - self.summary.mean[k]
            quad = np.einsum("ij,ji->i", centred, factor.solve(centred.T))
            out[:, k] = -0.5 * quad - 0.5 * factor.log_determinant()
        return out

    # -- the quadratic logistic twin -----------------------------------------
    @cached_property
    def _binary(self) -> BoolArray:
        """Features whose training values are all 0 or 1 (a factor's dummy columns):
        there x² = x, so the twin has no separate square for them and the implied
        coefficient of x² joins that of x."""
        x = np.asarray(self.model.exog, dtype=np.float64)
        return np.asarray(np.all((x == 0.0) | (x == 1.0), axis=0))

    @cached_property
    def _pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The (i < j) products of the twin: all but those that are zero on every
        training row (two dummy columns of one factor never both 1), whose
        coefficient no data could estimate."""
        x = np.asarray(self.model.exog, dtype=np.float64)
        i, j = np.triu_indices(x.shape[1], 1)
        used = np.array([np.any(x[:, a] * x[:, b] != 0) for a, b in zip(i, j, strict=True)],
                        dtype=bool)
        return i[used], j[used]

    def twin_names(self) -> list[str]:
        names = list(self.model.exog_names)
        i, j = self._pairs
        return (names + [f"I({n} ** 2)" for n, b in zip(names, self._binary, strict=True)
                         if not b]
                + [f"{names[a]}:{names[b]}" for a, b in zip(i, j, strict=True)])

    def _twin_columns(self, x: FloatArray) -> FloatArray:
        i, j = self._pairs
        squares = x[:, ~self._binary] ** 2
        return np.column_stack([x, squares, x[:, i] * x[:, j]])

    def _parameters(self) -> tuple[FloatArray, FloatArray]:
        """φ = (priors, means, vec of the unregularized class covariances) and its
        covariance: multinomial priors, Var(m̂_k) = Σ_k/n_k, Wishart Σ̂_k on d_k."""
        k = len(self._priors)
        n_k = self.summary.weight
        phi = np.concatenate([self._priors, self.summary.mean.ravel(), self._raw_cov.ravel()])
        blocks = [np.zeros((k, k)) if self.model.priors is not None
                  else (np.diag(self._priors) - np.outer(self._priors, self._priors))
                  / self.nobs]
        blocks += [self._raw_cov[c] / n_k[c] for c in range(k)]
        blocks += [wishart_covariance(self._raw_cov[c], self._class_df[c]) for c in range(k)]
        size = sum(b.shape[0] for b in blocks)
        cov = np.zeros((size, size))
        start = 0
        for b in blocks:
            cov[start:start + b.shape[0], start:start + b.shape[0]] = b
            start += b.shape[0]
        return phi, cov

    def _coefficients(self, phi: np.ndarray) -> np.ndarray:
        k, p = self.summary.mean.shape
        priors = phi[:k]
        means = phi[k:k + k * p].reshape(k, p)
        raw = phi[k + k * p:].reshape(k, p, p)
        raw = (raw + np.swapaxes(raw, 1, 2)) / 2
        cov = _regularized(raw, self._class_df, self._pooled_df, self.model.pooling,
                           self.model.shrinkage)
        precision = np.linalg.inv(cov)
        lin = np.einsum("kij,kj->ki", precision, means)  # P_k m_k
        const = (np.log(priors) - 0.5 * np.einsum("ki,ki->k", lin, means)
                 - 0.5 * np.stack([log_det(c) for c in cov]))
        upper = self._pairs
        columns = []
        binary = self._binary
        for c in range(1, k):
            diff = precision[c] - precision[0]
            square = -0.5 * np.diagonal(diff)
            linear = lin[c] - lin[0] + np.where(binary, square, 0.0)  # x² = x there
            columns.append(np.concatenate([
                [const[c] - const[0]], linear, square[~binary], -diff[upper]]))
        return np.stack(columns, axis=1)

    def __repr__(self) -> str:
        m = self.model
        reg = (f", pooling={m.pooling:g}, shrinkage={m.shrinkage:g}"
               if m.pooling or m.shrinkage else "")
        return (f"<QDAResults: {len(self._priors)} classes, {len(m.exog_names)} features, "
                f"nobs={self.nobs:g}{reg}>")
