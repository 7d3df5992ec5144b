"""The shared-covariance Gaussian generative classifier (linear discriminant analysis).

Each class k is a Gaussian N(m_k, Σ) with a covariance shared by all classes,
and prior π_k.  The fit is closed-form maximum likelihood: class proportions,
class means and the pooled within-class covariance, all from one pass over
the rows (:mod:`expfam.engine.scatter`).  Because the Gaussians share Σ the quadratic terms
cancel in the log posterior odds, which are linear in x: the posterior is the
categorical family's softmax of η_k(x) = b_k + w_kᵀx — the same function set
as logistic (K = 2) or multinomial regression, estimated generatively.  The
posteriors here are computed by that family (one stable code path).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import linalg

from expfam._typing import FloatArray
from expfam.backend.blocks import Backend, default_backend
from expfam.design.arrays import as_design, as_rows, check_exog_finite, default_names
from expfam.design.dask_frame import is_dask
from expfam.design.formula import FormulaTerms, model_frame
from expfam.design.response import Classes, class_response
from expfam.engine.linalg import CholeskyFactor
from expfam.engine.scatter import ClassScatter, class_scatter, fourth_moment
from expfam.errors import InputError, RankDeficientError, row_labels
from expfam.families import Categorical
from expfam.inference.box_m import box_m_test
from expfam.inference.classify import most_probable
from expfam.inference.lda_coefficients import implied_coefficients, implied_covariance
from expfam.inference.lda_loo import loo_posteriors

__all__ = ["LDA", "LDAResults", "lda"]

COVARIANCES = ("mle", "unbiased")

BoolArray = NDArray[np.bool_]


class LDA:
    """Linear discriminant analysis: Gaussian classes with a shared covariance.

    Parameters
    ----------
    endog : array-like, shape (n,)
        Class labels (strings, integers, a pandas Categorical).  The first
        level is the reference of :meth:`LDAResults.logistic_params`.
    exog : array-like, shape (n, p)
        Features, without a constant column (a constant has no within-class
        variance).
    priors : array-like or dict, optional
        Class priors in label order (or ``{label: prior}``), positive and
        summing to one; default the (weighted) class proportions.
    covariance : {"mle", "unbiased"}
        Divide the pooled within-class scatter by n (maximum likelihood, as
        scikit-learn) or by n − K (as R's ``MASS::lda``).
    shrinkage : float or "ledoit-wolf", optional
        Shrink the covariance towards a multiple of the identity,
        (1 − α)Σ + α·(tr Σ/p)·I, with a given α in [0, 1] or the Ledoit–Wolf α.
    weights : array-like, shape (n,), optional
        Frequency weights: a weight of 2 is the row twice.
    """

    def __new__(cls, endog: Any = None, exog: Any = None, *args: Any, **kwargs: Any) -> Any:
        # Dask hook (issue 13): Dask inputs build the registered Dask LDA.
        if cls is LDA and any(type(v).__module__.split(".")[0] in ("dask", "dask_expr")
                              for v in (endog, exog)):
            return object.__new__(DASK_MODELS["lda"])
        return super().__new__(cls)

    def __init__(self, endog: ArrayLike, exog: ArrayLike, priors: Any = None,
                 covariance: str = "mle", shrinkage: float | str | None = None,
                 weights: ArrayLike | None = None) -> None:
        if covariance not in COVARIANCES:
            raise InputError(f"covariance must be 'mle' or 'unbiased', got {covariance!r}")
        design, names = as_design(exog)
        if not isinstance(design, np.ndarray):
            raise InputError("LDA needs dense features: give an array or DataFrame, not a "
                             "sparse matrix")
        self.exog = design
        n, p = self.exog.shape
        if n == 0:
            raise InputError("no rows: LDA needs data")
        self.exog_names = list(names) if names is not None else default_names(p, [])
        # Named features let new data be matched by name (see LDAResults._design).
        self.names_given = names is not None
        check_exog_finite(self.exog, self.exog_names)
        codes, self.classes, _ = class_response(endog, None, n)
        self.codes = codes.astype(np.int64)
        self.weights = as_rows(weights, "weights", n, nonnegative=True)
        self.priors = None if priors is None else _checked_priors(priors, self.classes)
        self.covariance_type = covariance
        self.shrinkage = _checked_shrinkage(shrinkage)
        self.formula: FormulaTerms | None = None
        self.endog_name = getattr(endog, "name", None) or "y"
        self.row_index = exog.index if isinstance(exog, pd.DataFrame) else None

    @classmethod
    def from_formula(cls, formula: str, data: pd.DataFrame, priors: Any = None,
                     covariance: str = "mle", shrinkage: float | str | None = None,
                     weights: ArrayLike | str | None = None, missing: str = "drop") -> LDA:
        """LDA on the columns a formula builds (its intercept, if any, is left out
        of the features and reappears in :meth:`LDAResults.logistic_params`)."""
        frame = model_frame(formula, data, weights=weights, missing=missing,
                            labelled_response="classes")
        assert isinstance(frame.exog, pd.DataFrame)  # LDA reads dense features
        features = frame.exog.drop(columns=["Intercept"], errors="ignore")
        model = cls(frame.endog, features, priors=priors, covariance=covariance,
                    shrinkage=shrinkage, weights=frame.weights)
        model.formula = frame.terms
        model.endog_name = frame.terms.response.name
        return model

    def fit(self, backend: Backend | None = None) -> LDAResults:
        """Closed-form maximum likelihood, from one pass over the rows (two with
        Ledoit–Wolf shrinkage)."""
        backend = backend or default_backend()
        k = len(self.classes.labels)
        summary = self._class_scatter(backend)
        small = [label for label, w in zip(self.classes.labels, summary.weight, strict=True)
                 if w < 2]
        if small:
            raise InputError(f"class(es) {', '.join(map(repr, small))} have fewer than two "
                             "rows (by weight): a class mean and its spread need at least "
                             "two; drop or merge those classes")
        total = float(summary.weight.sum())
        divisor = total if self.covariance_type == "mle" else total - k
        if divisor <= 0:
            raise InputError(f"covariance='unbiased' needs more rows ({total:g}) than "
                             f"classes ({k})")
        covariance = summary.pooled / divisor
        alpha = self._alpha(summary, covariance, total, backend)
        if alpha:
            target = np.trace(covariance) / covariance.shape[0]
            covariance = (1.0 - alpha) * covariance + alpha * target * np.eye(len(covariance))
        priors = summary.weight / total if self.priors is None else self.priors
        return LDAResults(self, summary, covariance, priors, alpha, divisor)

    # The data passes, overridden by the Dask model (issue 13: expfam.models.dask_lda).
    def _class_scatter(self, backend: Backend) -> ClassScatter:
        return class_scatter(self.exog, self.codes, self.weights, len(self.classes.labels),
                             backend)

    def _fourth_moment(self, means: FloatArray, backend: Backend) -> float:
        return fourth_moment(self.exog, self.codes, self.weights, means, backend)

    def _alpha(self, summary: ClassScatter, covariance: FloatArray, total: float,
               backend: Backend) -> float:
        """The shrinkage amount: given, or Ledoit and Wolf's (2004) estimate."""
        if self.shrinkage != "ledoit-wolf":
            return float(self.shrinkage or 0.0)
        empirical = summary.pooled / total
        p = empirical.shape[0]
        mu = np.trace(empirical) / p
        delta = float(np.sum((empirical - mu * np.eye(p)) ** 2))
        quartic = self._fourth_moment(summary.mean, backend)
        beta = (quartic / total - float(np.sum(empirical**2))) / total
        return 0.0 if delta == 0 else float(min(max(beta, 0.0), delta) / delta)


#: The LDA for Dask DataFrames, registered by ``expfam.models.dask_lda`` (issue 13).
DASK_MODELS: dict[str, Any] = {}


def lda(formula: str, data: pd.DataFrame, **kwargs: Any) -> LDA:
    """An :class:`LDA` from a formula: ``ef.lda("y ~ x1 + x2", data=df).fit()``; a Dask
    DataFrame gives a fit over its partitions."""
    if type(data).__module__.split(".")[0] in ("dask", "dask_expr"):  # Dask hook
        return DASK_MODELS["lda"].from_formula(formula, data, **kwargs)
    return LDA.from_formula(formula, data, **kwargs)


def _checked_priors(priors: Any, classes: Classes) -> FloatArray:
    if isinstance(priors, dict):
        unknown = [c for c in priors if c not in classes.labels]
        missing = [c for c in classes.labels if c not in priors]
        if unknown or missing:
            raise InputError(f"priors must name every class exactly: unknown {unknown}, "
                             f"missing {missing}; classes are {list(classes.labels)}")
        priors = [priors[c] for c in classes.labels]
    values = np.asarray(priors, dtype=np.float64).ravel()
    if values.size != len(classes.labels):
        raise InputError(f"priors has {values.size} values for {len(classes.labels)} classes "
                         f"({', '.join(map(repr, classes.labels))})")
    if np.any(~(values > 0)) or not np.isclose(values.sum(), 1.0, rtol=0, atol=1e-8):
        raise InputError(f"priors must be positive and sum to one; got {values.tolist()} "
                         f"(sum {values.sum():.6g}); divide them by their sum")
    return values


def _singular_covariance(err: RankDeficientError) -> RankDeficientError:
    """The factorisation's error restated for a covariance: which features are
    collinear within the classes (its own wording speaks of a design matrix)."""
    parts = [f"{col!r} is a linear combination of {', '.join(map(repr, deps))}" if deps
             else f"{col!r} is constant within every class (or nearly collinear with "
             "the other features)"
             for col, deps in err.aliased.items()]
    detail = "; ".join(parts) or str(err).rstrip(".")
    drop = ", ".join(map(repr, err.aliased)) or "the collinear features"
    return RankDeficientError(
        f"the pooled within-class covariance is singular: {detail}. Drop {drop}, or fit "
        "with shrinkage (e.g. shrinkage='ledoit-wolf')", aliased=err.aliased)


def _masked(values: FloatArray, valid: BoolArray) -> FloatArray:
    """``values`` (rows × columns) with the rows that are not ``valid`` set to NaN."""
    return np.where(valid[:, None], values, np.nan)


def _checked_shrinkage(shrinkage: float | str | None) -> float | str | None:
    if shrinkage is None or shrinkage == "ledoit-wolf":
        return shrinkage
    if isinstance(shrinkage, str) or not 0.0 <= float(shrinkage) <= 1.0:
        raise InputError(f"shrinkage must be a number in [0, 1] or 'ledoit-wolf', got "
                         f"{shrinkage!r}")
    return float(shrinkage)


def feature_rows(model: Any, exog: Any, unseen: str = "raise"
                 ) -> tuple[FloatArray, pd.Index | None, BoolArray]:
    """The feature matrix of ``exog`` for a generative model (default its training
    rows), its row index, and which rows can be predicted (no missing value, no
    unseen level).  New columns must be the model's: by name when both sides have
    names (as :meth:`GLMResults.predict`), else by count."""
    if is_dask(exog):  # else read as an array of objects: "exog has dtype object"
        raise InputError("these are Dask rows, but the model was fitted in memory: predict "
                         "from rows.compute(), or fit the model on the Dask data to "
                         "predict lazily")
    if exog is None:
        x = np.asarray(model.exog, dtype=np.float64)
        return x, model.row_index, np.ones(len(x), dtype=bool)
    if model.formula is not None and isinstance(exog, pd.DataFrame):
        # The formula fills missing values with placeholders; ``valid`` marks them.
        with row_labels(exog.index):  # errors name the rows' own labels
            design, valid = model.formula.design(exog, unseen=unseen)
        design = design.drop(columns=["Intercept"], errors="ignore")
        return design.to_numpy(dtype=np.float64), exog.index, np.asarray(valid, bool)
    arr, names = as_design(exog)
    if not isinstance(arr, np.ndarray):
        raise InputError(f"{type(model).__name__} predicts from dense features, not a "
                         "sparse matrix")
    expected = list(model.exog_names)
    if names is not None and model.names_given and names != expected:
        missing = [c for c in expected if c not in names]
        extra = [c for c in names if c not in expected]
        problems = ([f"lack {missing}"] if missing else []) + (
            [f"have unknown {extra}"] if extra else [])
        raise InputError(
            f"exog columns {names} do not match the model's {expected}: they "
            f"{' and '.join(problems) or 'are in a different order'}; pass "
            f"exog[{expected}]")
    if arr.shape[1] != len(expected):
        raise InputError(f"exog has {arr.shape[1]} columns; the model has "
                         f"{len(expected)}: {', '.join(expected)}")
    x = np.asarray(arr, dtype=np.float64)
    index = exog.index if isinstance(exog, pd.DataFrame) else None
    return x, index, np.asarray(np.isfinite(x).all(axis=1), dtype=np.bool_)


class LDAResults:
    """A fitted shared-covariance Gaussian classifier.

    Attributes
    ----------
    priors : Series
        π_k by class.
    means : DataFrame
        Class × feature means.
    covariance : DataFrame
        The pooled within-class covariance (after any shrinkage).
    shrinkage : float
        The α used (0 without shrinkage).
    """

    def __init__(self, model: LDA, summary: ClassScatter, covariance: FloatArray,
                 priors: FloatArray, alpha: float, divisor: float) -> None:
        self.model = model
        self.summary = summary
        self._covariance = covariance
        self._priors = priors
        self._divisor = divisor
        self.shrinkage = alpha
        labels = pd.Index(model.classes.labels, name="class")
        names = list(model.exog_names)
        self.priors = pd.Series(priors, index=labels, name="prior")
        self.means = pd.DataFrame(summary.mean, index=labels, columns=names)
        self.covariance = pd.DataFrame(covariance, index=names, columns=names)
        self.nobs = float(summary.weight.sum())
        try:
            self._factor = CholeskyFactor(covariance, names)
        except RankDeficientError as err:
            raise _singular_covariance(err) from None

    # -- the linear rule ---------------------------------------------------
    @cached_property
    def _precision(self) -> FloatArray:
        return self._factor.inverse()

    def _theta(self, priors: FloatArray | None = None) -> FloatArray:
        """(b_k, w_k) against the first class: shape (p + 1, K − 1)."""
        pri = self._priors if priors is None else priors
        return implied_coefficients(pri, self.summary.mean, self._precision)

    def _design(self, exog: Any, unseen: str = "raise"
                ) -> tuple[FloatArray, pd.Index | None, BoolArray]:
        """See :func:`feature_rows`."""
        return feature_rows(self.model, exog, unseen)

    def decision_function(self, exog: Any = None, priors: Any = None,
                          unseen: str = "raise") -> pd.Series | pd.DataFrame:
        """Log posterior odds against the first class: (n,) for two classes, else
        (n, K) with 0 in the first class's column.

        Parameters
        ----------
        exog : DataFrame or array-like, optional
            New rows (default the training rows): for a formula model a DataFrame
            with the formula's columns; otherwise the features, matched by name
            when the model's features were named.  Rows with a missing value
            give NaN.
        priors : array-like or dict, optional
            Priors to use instead of the fitted ones.
        unseen : {"raise", "nan"}
            For a formula model, a categorical level not seen in fitting raises,
            or with ``"nan"`` gives NaN for that row.
        """
        x, index, valid = self._design(exog, unseen)
        theta = self._theta(None if priors is None else
                            _checked_priors(priors, self.model.classes))
        eta = _masked(theta[0] + x @ theta[1:], valid)
        if eta.shape[1] == 1:
            return pd.Series(eta[:, 0], index=index, name="log_odds")
        full = np.column_stack([np.where(valid, 0.0, np.nan), eta])
        return pd.DataFrame(full, index=index,
                            columns=pd.Index(self.model.classes.labels, name="class"))

    def predict_proba(self, exog: Any = None, priors: Any = None,
                      unseen: str = "raise") -> pd.DataFrame:
        """Posterior class probabilities, (n, K), by the categorical family's softmax;
        NaN for rows that cannot be predicted.  Arguments as :meth:`decision_function`."""
        x, index, valid = self._design(exog, unseen)
        theta = self._theta(None if priors is None else
                            _checked_priors(priors, self.model.classes))
        # Placeholder rows go through the softmax at η = 0 and are masked after.
        eta = np.where(valid[:, None], theta[0] + x @ theta[1:], 0.0)
        prob = _masked(Categorical().class_probabilities(eta), valid)
        return pd.DataFrame(prob, index=index,
                            columns=pd.Index(self.model.classes.labels, name="class"))

    def predict(self, exog: Any = None, priors: Any = None,
                unseen: str = "raise") -> pd.Series:
        """The most probable class of each row (missing where the row cannot be
        predicted).  Arguments as :meth:`decision_function`."""
        return most_probable(self.predict_proba(exog, priors, unseen))

    def loo_predict_proba(self) -> pd.DataFrame:
        """Leave-one-out posterior probabilities of the training rows, as
        ``MASS::lda(CV=TRUE)``: each row classified by the fit without it (priors
        kept at the full fit's), from rank-one downdates rather than n refits
        (see :mod:`expfam.inference.lda_loo`)."""
        if self.shrinkage:
            raise InputError("leave-one-out posteriors are for fits without shrinkage (the "
                             "shrinkage would have to be re-estimated for each row)")
        s = self.summary
        prob = loo_posteriors(np.asarray(self.model.exog, dtype=np.float64), self.model.codes,
                              self.model.weights, s.mean, s.weight, self._covariance,
                              self._divisor, self._priors)
        return pd.DataFrame(prob, index=self.model.row_index,
                            columns=pd.Index(self.model.classes.labels, name="class"))

    # -- discriminant coordinates -----------------------------------------
    @cached_property
    def scalings(self) -> pd.DataFrame:
        """Feature × discriminant directions, as ``MASS::lda``'s ``scaling``: the
        scores have within-class covariance I and between-class variance in
        decreasing order."""
        centre = self._priors @ self.summary.mean
        spread = (self.summary.mean - centre) * np.sqrt(self._priors)[:, None]
        between = spread.T @ spread
        values, vectors = linalg.eigh(between, self._covariance)
        order = np.argsort(values)[::-1][: min(len(self._priors) - 1, len(values))]
        vectors = vectors[:, order]
        # A sign convention (the largest loading positive), as eigenvectors have none.
        vectors *= np.sign(vectors[np.argmax(np.abs(vectors), axis=0), range(len(order))])
        return pd.DataFrame(vectors, index=self.model.exog_names,
                            columns=[f"LD{j + 1}" for j in range(len(order))])

    def transform(self, exog: Any = None, unseen: str = "raise") -> pd.DataFrame:
        """Discriminant coordinates: (x − Σ π_k m_k) · scalings; NaN for rows that
        cannot be predicted.  Arguments as :meth:`decision_function`."""
        x, index, valid = self._design(exog, unseen)
        centre = self._priors @ self.summary.mean
        scores = _masked((x - centre) @ self.scalings.to_numpy(), valid)
        return pd.DataFrame(scores, index=index, columns=self.scalings.columns)

    # -- the implied logistic model ----------------------------------------
    def _layout(self) -> tuple[list[str], Classes]:
        intercept = "Intercept" if self.model.formula is not None else "const"
        return [intercept, *self.model.exog_names], self.model.classes

    def logistic_params(self) -> pd.Series | pd.DataFrame:
        """The implied logistic (K = 2) or reference-class softmax coefficients, in
        the layout of ``logit`` / ``mnlogit`` params for the same formula."""
        return self._as_layout(self._theta(), "coef")

    def logistic_cov_params(self) -> pd.DataFrame:
        """Their asymptotic covariance (delta method), labelled like ``cov_params()``.

        With shrinkage it is the covariance of the shrunk estimates, α taken as
        fixed (a Ledoit–Wolf α's own variability is left out).  The shrunk
        coefficients are biased towards a rule that ignores the correlations,
        and the covariance measures their spread, not that bias.
        """
        s = self.summary
        cov = implied_covariance(
            self._priors, s.mean, s.pooled / self._divisor, self._precision, s.weight,
            self.nobs, self._divisor, self.model.priors is None, alpha=self.shrinkage)
        index = self._flat_index()
        return pd.DataFrame(cov, index=index, columns=index)

    def logistic_bse(self) -> pd.Series | pd.DataFrame:
        """Standard errors of :meth:`logistic_params`, in the same layout."""
        se = np.sqrt(np.diag(self.logistic_cov_params().to_numpy()))
        terms = len(self._layout()[0])
        return self._as_layout(se.reshape(terms, -1, order="F"), "std_err")

    def _flat_index(self) -> pd.Index:
        terms, classes = self._layout()
        if len(classes.labels) == 2:
            return pd.Index(terms, name="term")
        return pd.MultiIndex.from_product([list(classes.others), terms],
                                          names=["class", "term"])

    def _as_layout(self, values: FloatArray, name: str) -> pd.Series | pd.DataFrame:
        terms, classes = self._layout()
        if len(classes.labels) == 2:
            return pd.Series(values[:, 0], index=pd.Index(terms), name=name)
        return pd.DataFrame(values, index=pd.Index(terms),
                            columns=pd.Index(list(classes.others), name="class"))

    # -- the shared-covariance assumption -----------------------------------
    def box_m(self) -> pd.Series:
        """Box's M test that the classes share one covariance: see
        :func:`expfam.inference.box_m.box_m_test`."""
        return box_m_test(self.summary, self.model.classes.labels)

    def __repr__(self) -> str:
        return (f"<LDAResults: {len(self._priors)} classes, {len(self.model.exog_names)} "
                f"features, nobs={self.nobs:g}, shrinkage={self.shrinkage:.3g}>")
