"""Naive Bayes: features independent within each class, each from an exponential family.

Each feature j of class k has its own one-parameter (or Gaussian two-parameter)
exponential family, so the class log density is a sum of η_kjᵀ T_j(x_j) −
A_j(η_kj) plus base measures that do not depend on the class.  The posterior is
a softmax on the stacked T_j(x):

=================  ====================  ==========================  ==================
family             T(x)                  natural parameter η         A(η) (class part)
=================  ====================  ==========================  ==================
gaussian (class)   x, x²                 μ/σ², −1/(2σ²)              μ²/(2σ²) + ½ log σ²
gaussian (shared)  x                     μ/σ²                        μ²/(2σ²)
bernoulli          x ∈ {0, 1}            log θ/(1 − θ)               −log(1 − θ)
poisson            x ∈ {0, 1, …}         log λ                       λ
multinomial        counts x_1 … x_m      log θ_j                     0 (given the total)
=================  ====================  ==========================  ==================

With a variance shared by the classes a Gaussian feature's x² term cancels,
so it enters linearly (as in LDA with a diagonal covariance).  All
multinomial columns form one multinomial (a bag of words: the counts of m
categories).  The parameters are class proportions and per-class moments
(closed-form maximum likelihood); ``alpha`` adds pseudo-counts (Laplace
smoothing) and ``var_smoothing`` adds ε = var_smoothing · max_j Var(x_j) to
every Gaussian variance, as scikit-learn does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from expfam._typing import FloatArray
from expfam.errors import InputError
from expfam.models.generative import GenerativeModel, GenerativeResults

__all__ = ["FAMILIES", "NaiveBayes", "NaiveBayesResults", "naive_bayes"]

FAMILIES = ("gaussian", "bernoulli", "poisson", "multinomial")
VARIANCES = ("class", "shared")


def default_family(values: np.ndarray) -> str:
    """Bernoulli for a column of 0/1 values (booleans, dummies), else Gaussian.

    Integer columns are often measurements (glucose, age), not counts, so a
    count family is used only when asked for (``families={"x": "poisson"}``).
    """
    finite = values[np.isfinite(values)]
    return "bernoulli" if finite.size and np.all((finite == 0) | (finite == 1)) else "gaussian"


class NaiveBayes(GenerativeModel):
    """Naive Bayes with a per-feature exponential family.

    Parameters
    ----------
    endog : array-like, shape (n,)
        Class labels; the first level is the reference of ``logistic_params``.
    exog : array-like, shape (n, p)
        Features, without a constant column.
    families : str or dict, optional
        One of ``"gaussian"``, ``"bernoulli"``, ``"poisson"``, ``"multinomial"``
        for every feature, or ``{feature: family}`` for some (the rest take the
        default: Bernoulli for 0/1 columns, Gaussian otherwise).
    variance : {"class", "shared"}
        Gaussian features: a variance per class (quadratic in x, as
        scikit-learn's ``GaussianNB``) or one shared by the classes (linear).
    var_smoothing : float
        ε = var_smoothing · max_j Var(x_j) added to every Gaussian variance.
    alpha : float
        Pseudo-counts: Bernoulli θ = (Σx + α)/(n_k + 2α), multinomial
        θ_j = (Σx_j + α)/(N_k + mα) (as scikit-learn), Poisson λ = (Σx + α)/n_k.
    priors : array-like or dict, optional
    weights : array-like, shape (n,), optional
        Frequency weights.
    """

    kind = "naive Bayes"

    def __init__(self, endog: ArrayLike, exog: ArrayLike,
                 families: str | Mapping[str, str] | None = None, variance: str = "class",
                 var_smoothing: float = 0.0, alpha: float = 0.0, priors: Any = None,
                 weights: ArrayLike | None = None) -> None:
        super().__init__(endog, exog, priors=priors, weights=weights)
        if variance not in VARIANCES:
            raise InputError(f"variance must be 'class' or 'shared', got {variance!r}")
        for name, value in (("var_smoothing", var_smoothing), ("alpha", alpha)):
            if isinstance(value, bool) or not float(value) >= 0:
                raise InputError(f"{name} must be a non-negative number, got {value!r}")
        self.variance = variance
        self.var_smoothing = float(var_smoothing)
        self.alpha = float(alpha)
        self.families = self._families(families)
        self._check_values()

    @classmethod
    def from_formula(cls, formula: str, data: pd.DataFrame,
                     families: str | Mapping[str, str] | None = None,
                     variance: str = "class", var_smoothing: float = 0.0,
                     alpha: float = 0.0, priors: Any = None,
                     weights: ArrayLike | str | None = None,
                     missing: str = "drop") -> NaiveBayes:
        """Naive Bayes on the columns a formula builds (its intercept is left out)."""
        model: NaiveBayes = cls._from_frame(
            formula, data, weights, missing, families=families, variance=variance,
            var_smoothing=var_smoothing, alpha=alpha, priors=priors)
        return model

    def _families(self, families: str | Mapping[str, str] | None) -> list[str]:
        names = self.exog_names
        x = np.asarray(self.exog, dtype=np.float64)
        if isinstance(families, str):
            given = dict.fromkeys(names, families)
        else:
            given = dict(families or {})
            unknown = [f for f in given if f not in names]
            if unknown:
                raise InputError(f"families names unknown feature(s) {unknown}; the "
                                 f"features are {names}")
        out = [given.get(name) or default_family(x[:, j]) for j, name in enumerate(names)]
        bad = sorted({f for f in out if f not in FAMILIES})
        if bad:
            raise InputError(f"unknown family {bad[0]!r}: use one of {FAMILIES}")
        if out.count("multinomial") == 1:
            raise InputError("a multinomial needs at least two count columns (its "
                             "categories); for one count column use 'poisson'")
        return out

    def _check_values(self) -> None:
        x = np.asarray(self.exog, dtype=np.float64)
        for j, (name, family) in enumerate(zip(self.exog_names, self.families, strict=True)):
            column = x[:, j]
            if family == "bernoulli" and not np.all((column == 0) | (column == 1)):
                odd = np.unique(column[(column != 0) & (column != 1)])[:3]
                raise InputError(f"feature {name!r} is Bernoulli but has values other than "
                                 f"0 and 1 (e.g. {', '.join(f'{v:g}' for v in odd)}); recode "
                                 "it as 0/1, or give it another family")
            if family in ("poisson", "multinomial"):
                if np.any(column < 0):
                    rows = np.flatnonzero(column < 0)
                    raise InputError(
                        f"feature {name!r} is {family} (counts) but has negative values at "
                        f"{len(rows)} row(s), e.g. row {rows[0]} ({column[rows[0]]:g}); "
                        "counts are non-negative: use 'gaussian' for this feature")
                if np.any(column != np.round(column)):
                    raise InputError(f"feature {name!r} is {family} (counts) but has "
                                     "non-integer values; use 'gaussian' for it")

    def fit(self) -> NaiveBayesResults:
        """Closed-form maximum likelihood: class proportions and per-class moments."""
        self.check_class_sizes(1)
        return NaiveBayesResults(self)


def naive_bayes(formula: str, data: pd.DataFrame, **kwargs: Any) -> NaiveBayes:
    """A :class:`NaiveBayes` from a formula: ``ef.naive_bayes("y ~ x1 + x2", df).fit()``."""
    return NaiveBayes.from_formula(formula, data, **kwargs)


class NaiveBayesResults(GenerativeResults):
    """A fitted naive Bayes classifier.

    Attributes
    ----------
    priors : Series
        π_k by class.
    families : Series
        The family of each feature.
    means : DataFrame
        Class × feature means (θ for Bernoulli, λ for Poisson, θ_j for multinomial
        columns: the smoothed estimates the rule uses).
    variances : DataFrame
        Class × Gaussian-feature variances (after smoothing; equal rows when shared).
    """

    model: NaiveBayes

    def __init__(self, model: NaiveBayes) -> None:
        self.model = model
        x = np.asarray(model.exog, dtype=np.float64)
        k = len(model.classes.labels)
        w = np.ones(len(x)) if model.weights is None else model.weights
        onehot = np.zeros((len(x), k))
        onehot[np.arange(len(x)), model.codes] = w
        self._n_k = onehot.sum(axis=0)
        self.nobs = float(self._n_k.sum())
        self._priors = self._n_k / self.nobs if model.priors is None else model.priors
        sums = onehot.T @ x
        raw_means = sums / self._n_k[:, None]
        fam = np.asarray(model.families)
        self._idx = {f: np.flatnonzero(fam == f) for f in FAMILIES}
        labels = list(model.classes.labels)
        names = list(model.exog_names)
        self._gauss_var = self._variances(x, onehot, raw_means)
        means = raw_means.copy()
        a = model.alpha
        b = self._idx["bernoulli"]
        means[:, b] = (sums[:, b] + a) / (self._n_k[:, None] + 2 * a)
        c = self._idx["poisson"]
        means[:, c] = (sums[:, c] + a) / self._n_k[:, None]
        m = self._idx["multinomial"]
        self._totals = sums[:, m].sum(axis=1)
        if m.size:
            means[:, m] = (sums[:, m] + a) / (self._totals[:, None] + m.size * a)
        self._means = means
        self._check_degenerate(labels, names)
        index = pd.Index(labels, name="class")
        self.priors = pd.Series(self._priors, index=index, name="prior")
        self.families = pd.Series(model.families, index=names, name="family")
        self.means = pd.DataFrame(means, index=index, columns=names)
        g = self._idx["gaussian"]
        self.variances = pd.DataFrame(self._gauss_var, index=index,
                                      columns=[names[j] for j in g])

    def _variances(self, x: FloatArray, onehot: FloatArray, means: FloatArray) -> FloatArray:
        """Gaussian variances (K, G): per class or pooled, plus scikit-learn's ε."""
        g = self._idx["gaussian"]
        model = self.model
        if not g.size:
            return np.zeros((len(self._n_k), 0))
        centred = x[:, g] - means[model.codes][:, g]
        scatter = onehot.T @ centred**2  # (K, G), centred at each class's own mean
        w = onehot.sum(axis=1)
        overall = x[:, g] - (w @ x[:, g]) / w.sum()
        eps = model.var_smoothing * float(np.max((w @ overall**2) / w.sum()))
        if model.variance == "shared":
            pooled = scatter.sum(axis=0) / self.nobs
            return np.tile(pooled + eps, (len(self._n_k), 1))
        return scatter / self._n_k[:, None] + eps

    def _check_degenerate(self, labels: list[Any], names: list[str]) -> None:
        """Parameters on the boundary make the log density infinite: say which, and
        how to smooth."""
        g = self._idx["gaussian"]
        zero = np.argwhere(self._gauss_var <= 0)
        if zero.size:
            k, j = zero[0]
            where = ("within every class" if self.model.variance == "shared"
                     else f"within class {labels[k]!r}")
            raise InputError(
                f"Gaussian feature {names[g[j]]!r} has zero variance {where}: its density "
                "is a point mass. Smooth the variances (var_smoothing=1e-9, as "
                "scikit-learn's default), use variance='shared', or drop the feature")
        for family, bad, fix in (("bernoulli", lambda t: (t <= 0) | (t >= 1), "all 0 or all 1"),
                                 ("poisson", lambda t: t <= 0, "all 0"),
                                 ("multinomial", lambda t: t <= 0, "all 0")):
            cols = self._idx[family]
            hit = np.argwhere(bad(self._means[:, cols]))
            if hit.size:
                k, j = hit[0]
                raise InputError(
                    f"{family} feature {names[cols[j]]!r} is {fix} in class {labels[k]!r}: "
                    "its estimated probability of other values is 0, so one row could rule "
                    "the class out. Smooth with alpha=1 (Laplace), or drop the feature")

    # -- T(x) and the natural parameters -------------------------------------------
    def _quadratic(self) -> np.ndarray:
        """Gaussian features with class variances: their x² enters T(x)."""
        if self.model.variance == "shared":
            return np.zeros(0, dtype=np.int64)
        return self._idx["gaussian"]

    def twin_names(self) -> list[str]:
        names = list(self.model.exog_names)
        return names + [f"I({names[j]} ** 2)" for j in self._quadratic()]

    def _twin_columns(self, x: FloatArray) -> FloatArray:
        return np.column_stack([x, x[:, self._quadratic()] ** 2])

    def _point(self) -> FloatArray:
        """φ: priors, means (K, p) and the Gaussian variances (K, G) or (1, G), flat."""
        var = self._gauss_var[:1] if self.model.variance == "shared" else self._gauss_var
        return np.concatenate([self._priors, self._means.ravel(), var.ravel()])

    def _log_density(self, x: FloatArray) -> FloatArray:
        eta, part, _ = self._natural(self._point())
        return np.real(self._twin_columns(x) @ eta.T - part)

    def _parameters(self) -> tuple[FloatArray, FloatArray]:
        """φ = (priors, means (K, p), Gaussian variances) with their covariance:
        multinomial priors; means σ²/n_k, θ(1 − θ)/n_k, λ/n_k, (diag θ − θθᵀ)/N_k;
        variances 2σ⁴/n_k (per class) or 2σ⁴/n (shared); independent otherwise."""
        k, p = self._means.shape
        g = self._idx["gaussian"]
        shared = self.model.variance == "shared"
        var = self._gauss_var[:1] if shared else self._gauss_var
        phi = self._point()
        cov = np.zeros((phi.size, phi.size))
        if self.model.priors is None:
            cov[:k, :k] = (np.diag(self._priors) - np.outer(self._priors, self._priors)) \
                / self.nobs
        mean_var = np.zeros((k, p))
        mean_var[:, g] = self._gauss_var / self._n_k[:, None]
        t = self._means
        b, c, m = self._idx["bernoulli"], self._idx["poisson"], self._idx["multinomial"]
        mean_var[:, b] = t[:, b] * (1 - t[:, b]) / self._n_k[:, None]
        mean_var[:, c] = t[:, c] / self._n_k[:, None]
        at = k + np.arange(k * p).reshape(k, p)
        cov[at.ravel(), at.ravel()] = mean_var.ravel()
        for cls in range(k):  # a multinomial's proportions are correlated within a class
            if m.size:
                theta = t[cls, m]
                block = (np.diag(theta) - np.outer(theta, theta)) / self._totals[cls]
                cov[np.ix_(at[cls, m], at[cls, m])] = block
        start = k + k * p
        count = self.nobs if shared else self._n_k[:, None]
        var_var = np.broadcast_to(2 * var**2 / count, var.shape)
        cov[start:, start:] = np.diag(var_var.ravel())
        return phi, cov

    def _natural(self, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """η on T(x) (K, q), the class part of A (K,), and log priors (K,), from φ
        (analytic in φ for the complex-step delta method)."""
        k, p = self._means.shape
        g = self._idx["gaussian"]
        priors = phi[:k]
        means = phi[k:k + k * p].reshape(k, p)
        var = np.broadcast_to(phi[k + k * p:].reshape(-1, g.size) if g.size
                              else np.zeros((k, 0), dtype=phi.dtype), (k, g.size))
        eta = np.zeros((k, p), dtype=phi.dtype)
        part = np.zeros(k, dtype=phi.dtype)
        mu = means[:, g]
        eta[:, g] = mu / var
        part += np.sum(mu**2 / (2 * var), axis=1)
        squares = np.zeros((k, 0), dtype=phi.dtype)
        if self.model.variance == "class":
            squares = -1 / (2 * var)
            part += 0.5 * np.sum(np.log(var), axis=1)
        b, c, m = self._idx["bernoulli"], self._idx["poisson"], self._idx["multinomial"]
        theta = means[:, b]
        eta[:, b] = np.log(theta) - np.log(1 - theta)
        part -= np.sum(np.log(1 - theta), axis=1)
        eta[:, c] = np.log(means[:, c])
        part += np.sum(means[:, c], axis=1)
        eta[:, m] = np.log(means[:, m])
        return np.column_stack([eta, squares]), part, np.log(priors)

    def _coefficients(self, phi: np.ndarray) -> np.ndarray:
        eta, part, log_prior = self._natural(phi)
        intercept = (log_prior[1:] - part[1:]) - (log_prior[0] - part[0])
        return np.vstack([intercept, (eta[1:] - eta[0]).T])

    def __repr__(self) -> str:
        counts = pd.Series(self.model.families).value_counts()
        fams = ", ".join(f"{v} {f}" for f, v in counts.items())
        return (f"<NaiveBayesResults: {len(self._priors)} classes, features: {fams}; "
                f"variance={self.model.variance!r}, nobs={self.nobs:g}>")
