"""Results of a fit over Dask partitions: the same statistics, rows kept on the workers.

:class:`DaskGLMResults` is a :class:`~expfam.inference.results.GLMResults`
whose row sums (log-likelihood, deviance, Pearson statistic, the null model's,
a robust covariance's meat) were computed on the workers in one pass at the
estimate, and whose per-row values (fitted values, residuals, predictions) are
lazy Dask arrays: nothing of size n is computed until asked for, and then on
the workers.  Everything else — standard errors, tests, intervals, AIC, BIC,
the summary — is the in-memory code, working from the same p × p information.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from expfam._typing import FloatArray
from expfam.design.dask_frame import is_dask
from expfam.design.matrix import StructuredDesign
from expfam.engine.dask_problem import Part, Statistics, part_eta
from expfam.engine.problem import GLMProblem
from expfam.engine.solvers import SolverResult
from expfam.errors import InputError, row_labels
from expfam.families import Categorical
from expfam.inference.negative_binomial import NegativeBinomialResults
from expfam.inference.results import GLMResults
from expfam.inference.robust_arrow import ArrowSandwich

if TYPE_CHECKING:
    from expfam.models.glm import GLM

__all__ = ["DaskGLMResults", "DaskNegativeBinomialResults", "dispersion_loglike"]


class DaskGLMResults(GLMResults):
    """A fitted GLM over Dask partitions (see the module notes).

    Attributes
    ----------
    n_passes : int
        Passes over the data the fit took (the first, the solver's, and the
        statistics pass at the estimate).
    passes : list of str
        What each pass computed.
    seconds : list of float
        How long each pass took.
    """

    def __init__(self, model: GLM, problem: GLMProblem, solver: SolverResult, *,
                 statistics: Statistics, parts: list[Any], rows: list[int],
                 passes: list[str], seconds: list[float] | None = None,
                 robust: FloatArray | None = None,
                 sandwich: ArrowSandwich | None = None,
                 cov_type: str = "nonrobust", small_sample: str = "regress",
                 information: str = "expected", log_y: float | None = None,
                 scale: str | float | None = None) -> None:
        super().__init__(model, problem, solver, method=solver.method, cov_type=cov_type,
                         small_sample=small_sample, information=information, scale=scale)
        #: Σ f·log y: with the deviance, all the Gamma and inverse Gaussian
        #: log-likelihoods need (at the dispersion deviance / nobs, as R's ``aic``).
        self._log_y = log_y
        self._statistics = statistics
        self._parts = parts
        self._row_counts = rows
        self._robust = robust
        #: A robust covariance by its pieces, when the information is an arrow.
        self._arrow_sandwich = sandwich
        self.passes = list(passes)
        self.n_passes = len(passes)
        #: Wall-clock seconds of each pass (NaN for a formula's levels pass, made
        #: when the model was built).
        self.seconds = list(seconds or [])

    # -- row sums from the statistics pass ---------------------------------
    @cached_property
    def llf(self) -> float:
        if self.quasi:  # quasi-likelihood: no likelihood (as in memory, and R's NA)
            return float("nan")
        if self.use_t:
            return self._dispersion_loglike(self.deviance)
        return self._statistics.llf

    def _dispersion_loglike(self, deviance: float) -> float:
        name = self.model.family.name
        if name == "gaussian":
            return _gaussian_profile_loglike(deviance, self.nobs)
        assert self._log_y is not None
        return dispersion_loglike(name, deviance, self.nobs, self._log_y)

    @cached_property
    def deviance(self) -> float:
        return self._statistics.deviance

    @cached_property
    def llnull(self) -> float:
        if self.quasi:
            return float("nan")
        if self.use_t:
            return self._dispersion_loglike(self.null_deviance)
        return self._statistics.null_llf

    @cached_property
    def null_deviance(self) -> float:
        return self._statistics.null_deviance

    @cached_property
    def pearson_chi2(self) -> float:
        return self._statistics.pearson

    @cached_property
    def _cov(self) -> FloatArray:
        if self.cov_type == "nonrobust":
            self._check_dense_cov("the covariance matrix")
            return self.scale * self._expand(self._factor.inverse())
        if self._arrow_sandwich is not None:  # by pieces: refused whole beyond 5,000
            self._check_dense_cov(f"a {self.cov_type} covariance")
            return self._expand(self._arrow_sandwich.block(np.arange(self.n_params)))
        assert self._robust is not None
        return self._robust

    @property
    def _sandwich(self) -> ArrowSandwich | None:
        """The robust covariance by its pieces (an arrow information), summed on the
        workers in the statistics pass; None when its meat was summed whole."""
        return self._arrow_sandwich

    def conf_int(self, alpha: float = 0.05, method: str = "wald",
                 terms: Any = None) -> pd.DataFrame:
        """Wald intervals, or ``method="profile"``: profile-likelihood intervals
        for ``terms`` (default every coefficient), all endpoints solved together
        by Newton's method in a few passes over the data (added to
        :attr:`passes` and :attr:`n_passes`; see
        :mod:`expfam.inference.dask_profile`; a Firth fit's, of the penalized
        likelihood, by refits: :mod:`expfam.inference.dask_firth_profile`)."""
        if method == "profile" and self.solver.penalized_loss is not None:
            from expfam.inference.dask_firth_profile import dask_firth_profile_conf_int

            return dask_firth_profile_conf_int(self, alpha, terms)  # Firth's: refits
        if method == "profile":
            from expfam.inference.dask_profile import dask_profile_conf_int

            return dask_profile_conf_int(self, alpha, terms)
        return super().conf_int(alpha, method, terms)

    # -- per-row values: lazy Dask arrays ---------------------------------
    def _lazy(self, fn: Callable[[Part, FloatArray], FloatArray], width: int | None) -> Any:
        import dask.array as da
        from dask import delayed

        coef = self.solver.coef
        blocks = [da.from_delayed(delayed(fn, pure=True)(part, coef),
                                  shape=(n,) if width is None else (n, width),
                                  dtype=np.float64)
                  for part, n in zip(self._parts, self._row_counts, strict=True)]
        return da.concatenate(blocks, axis=0)

    def _width(self, every_class: bool) -> int | None:
        if self.model.classes is None:
            return None
        k = len(self.model.classes.labels)
        return k if every_class else k - 1

    @property
    def _eta(self) -> Any:
        return self._lazy(part_eta, self._width(False))

    @cached_property
    def fittedvalues(self) -> Any:
        """Fitted means (class probabilities, user's order), a lazy Dask array."""
        return self._lazy(_RowValues("fitted", self._positions()), self._width(True))

    @property
    def linear_predictor(self) -> Any:
        """η, a lazy Dask array."""
        return self._eta

    @cached_property
    def resid_response(self) -> Any:
        return self._lazy(_RowValues("response", self._positions()), self._width(True))

    @cached_property
    def resid_pearson(self) -> Any:
        return self._lazy(_RowValues("pearson", self._positions()), self._width(True))

    @cached_property
    def resid_deviance(self) -> Any:
        return self._lazy(_RowValues("deviance", self._positions()), None)

    def _positions(self) -> list[int] | None:
        classes = self.model.classes
        return None if classes is None else classes.positions()

    def predict(self, exog: Any = None, which: str = "mean", offset: Any = None,
                unseen: str = "raise") -> Any:
        """Predictions for new rows given as a Dask array or DataFrame, lazily (a
        Dask array, or a Dask Series/DataFrame for a DataFrame); in-memory rows
        get in-memory predictions."""
        if which not in ("mean", "linear"):
            raise InputError(f"which must be 'mean' or 'linear', got {which!r}")
        if exog is None:
            if offset is not None:
                raise InputError("offset= applies to new exog only")
            return self.linear_predictor if which == "linear" else self.fittedvalues
        if not is_dask(exog):
            return super().predict(exog, which, offset, unseen)
        return _predict_lazy(self, exog, which, offset, unseen)


class _RowValues:
    """Per-row fitted values or residuals of one partition (picklable)."""

    def __init__(self, kind: str, positions: list[int] | None) -> None:
        self.kind, self.positions = kind, positions

    def __call__(self, part: Part, coef: FloatArray) -> FloatArray:
        prob = part.problem
        family = prob.family
        eta = part_eta(part, coef)
        if isinstance(family, Categorical):
            mu = Categorical().class_probabilities(eta)
            t = Categorical(family.n_classes).class_shares(part.endog)
            var = mu
        else:
            mu, t, var = family.mean(eta), prob.target, family.variance(eta)
        if self.kind == "deviance":
            unit = family.unit_deviance(prob.target, eta)
            r = np.sqrt((1.0 if part.trials is None else part.trials) * unit)
            return r if isinstance(family, Categorical) else np.sign(t - mu) * r
        if self.kind == "fitted":
            out = mu
        elif self.kind == "response":
            out = t - mu
        else:
            n = np.asarray(1.0 if part.trials is None else part.trials)
            n = n if n.ndim == 0 or np.ndim(t) == 1 else n[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                out = np.where(t == mu, 0.0, (t - mu) * np.sqrt(n / var))
        return out if self.positions is None else out[:, self.positions]


def _predict_lazy(res: DaskGLMResults, exog: Any, which: str, offset: Any,
                  unseen: str) -> Any:
    """Predictions mapped over the partitions of new Dask rows."""
    classes = res.model.classes
    width = None if classes is None else (
        len(classes.others) if which == "linear" else len(classes.labels))
    terms = res.model.formula
    if hasattr(exog, "divisions"):  # a Dask DataFrame
        if terms is None:
            raise InputError("predicting from a Dask DataFrame needs a formula model; pass "
                             "a Dask array with the model's columns")
        if offset is None and terms.offset_column is not None:
            offset = terms.offset_column
        if offset is not None and not isinstance(offset, str):
            raise InputError("offset= for Dask rows must be a column name of the new data")
        meta: Any = pd.Series(dtype=np.float64, name="predicted")
        if classes is not None:
            meta = pd.DataFrame({c: pd.Series(dtype=np.float64) for c in (
                classes.others if which == "linear" else classes.labels)})
        return exog.map_partitions(_FramePredict(res, which, offset, unseen), meta=meta)
    if offset is not None:
        raise InputError("offset= with Dask array rows: add the offset to the linear "
                         "predictor yourself (which='linear')")
    p = len(res.model.exog_names)
    if exog.ndim != 2 or exog.shape[1] != p:
        raise InputError(f"exog has shape {exog.shape}; the model has {p} columns: "
                         f"{', '.join(res.model.exog_names)}")
    exog = exog.rechunk({1: -1})
    chunks = (exog.chunks[0],) if width is None else (exog.chunks[0], (width,))
    return exog.map_blocks(_ArrayPredict(res, which), dtype=np.float64, chunks=chunks,
                           drop_axis=1 if width is None else None)


class _ArrayPredict:
    def __init__(self, res: DaskGLMResults, which: str) -> None:
        self.coef = res.solver.coef
        self.family = res.model.family
        classes = res.model.classes
        self.positions = None if classes is None else classes.positions()
        self.which = which

    def values(self, x: np.ndarray | StructuredDesign,
               offset: np.ndarray | None = None) -> FloatArray:
        eta = (x.matvec(self.coef) if isinstance(x, StructuredDesign)
               else np.asarray(x, dtype=np.float64) @ self.coef)
        if offset is not None:
            eta = eta + (offset if eta.ndim == 1 else offset[:, None])
        if self.which == "linear":
            return eta
        if self.positions is None:
            return self.family.mean(eta)
        return Categorical().class_probabilities(eta)[:, self.positions]

    def __call__(self, x: np.ndarray) -> FloatArray:
        return self.values(x)


class _FramePredict(_ArrayPredict):
    def __init__(self, res: DaskGLMResults, which: str, offset: str | None,
                 unseen: str) -> None:
        super().__init__(res, which)
        self.terms = res.model.formula
        self.offset, self.unseen = offset, unseen
        classes = res.model.classes
        self.columns = None if classes is None else (
            classes.others if which == "linear" else classes.labels)

    def __call__(self, df: Any) -> Any:
        assert self.terms is not None
        x: np.ndarray | StructuredDesign
        with row_labels(df.index):  # errors name the rows' own labels, not partition positions
            if self.terms.plan is not None:  # factors as codes, as when fitting
                x, valid = self.terms.structured_design(df, unseen=self.unseen)
            else:
                design, valid = self.terms.design(df, unseen=self.unseen)
                x = design.to_numpy(dtype=np.float64)
        off = None if self.offset is None else df[self.offset].to_numpy(dtype=np.float64)
        in_formula = self.terms.formula_offset(df)  # offset(...) terms, re-evaluated
        if in_formula is not None:
            valid = valid & np.isfinite(in_formula)
            in_formula = np.nan_to_num(in_formula)
            off = in_formula if off is None else off + in_formula
        values = self.values(x, off)
        if values.ndim == 1:
            return pd.Series(np.where(valid, values, np.nan), index=df.index, name="predicted")
        return pd.DataFrame(np.where(valid[:, None], values, np.nan), index=df.index,
                            columns=list(self.columns or ()))


class DaskNegativeBinomialResults(NegativeBinomialResults, DaskGLMResults):
    """A negative binomial fit over Dask partitions whose θ was estimated: the
    :class:`NegativeBinomialResults` attributes over a :class:`DaskGLMResults`."""


def dispersion_loglike(name: str, deviance: float, nobs: float, log_y: float) -> float:
    """The Gamma or inverse Gaussian log-likelihood at φ = deviance / Σf (R's family
    ``aic``) from the deviance D, W = Σf and Σf·log y alone.

    Gamma: Σ f·log p(y; shape 1/φ, scale μφ) = −W·lgamma(a) − a·W·log φ
    − a·Σf(log μ + y/μ − log y) − Σf·log y with a = 1/φ, and the middle sum
    is D/2 + W (the unit deviance is 2(y/μ − log(y/μ) − 1)).
    Inverse Gaussian: −½(W(log(2πD/W) + 1) + 3Σf·log y).
    """
    from scipy import special

    w = nobs
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "inverse_gaussian":
            return float(-0.5 * (w * (np.log(2.0 * np.pi * deviance / w) + 1.0) + 3.0 * log_y))
        phi = deviance / w
        a = 1.0 / phi
        return float(-w * special.gammaln(a) - a * w * np.log(phi) - a * (deviance / 2.0 + w)
                     - log_y)


def _gaussian_profile_loglike(deviance: float, nobs: float) -> float:
    """The Gaussian log-likelihood at the dispersion's maximum, φ = deviance / n."""
    with np.errstate(divide="ignore"):  # a perfect fit: +inf
        return float(-0.5 * nobs * (np.log(2.0 * np.pi * deviance / nobs) + 1.0))
