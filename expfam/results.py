"""Inference for a fitted GLM: a set of lazily computed functions of the fit record.

Everything follows from the solver's record (coefficients, η, loss and the
Hessian at the estimate) and the model's data.  Dispersion is known (1) for
every family here, so tests are z tests with no degrees-of-freedom factor, as
in R's ``summary.glm`` and statsmodels.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from ._data import as_design, as_rows
from ._kernels import predict_eta
from ._linalg import CholeskyFactor
from ._problem import GLMProblem
from ._typing import FloatArray
from .errors import InputError
from .solvers import SolverResult, get_solver
from .summary import Summary

if TYPE_CHECKING:
    from .glm import GLM

__all__ = ["GLMResults"]



class GLMResults:
    """The result of :meth:`GLM.fit`.

    Attributes
    ----------
    model : GLM
    params : pd.Series
        Coefficient estimates, indexed by term.
    solver : SolverResult
        The solver's record: convergence, iterations, message, history.
    method : str
        The solver that ran.
    """

    def __init__(self, model: GLM, problem: GLMProblem, solver: SolverResult,
                 method: str) -> None:
        self.model = model
        self._problem = problem
        self.solver = solver
        self.method = method
        self.params = pd.Series(solver.coef, index=model.exog_names, name="coef")

    # -- fit status ----------------------------------------------------
    @property
    def converged(self) -> bool:
        """Whether the solver met its convergence criterion."""
        return self.solver.converged

    @property
    def n_iter(self) -> int:
        """Iterations over the full data."""
        return self.solver.n_iter

    @property
    def history(self) -> pd.DataFrame:
        """One row per pass over the rows: loss, gradient norm, Newton decrement, step."""
        return pd.DataFrame(self.solver.history)

    # -- covariance and Wald inference -----------------------------------
    @cached_property
    def _factor(self) -> CholeskyFactor:
        return CholeskyFactor(self.solver.hessian, self.model.exog_names)

    def cov_params(self) -> pd.DataFrame:
        """Covariance of the estimates: the inverse of the information XᵀWX."""
        names = self.model.exog_names
        return pd.DataFrame(self._factor.inverse(), index=names, columns=names)

    @cached_property
    def bse(self) -> pd.Series:
        """Standard errors."""
        return pd.Series(np.sqrt(self._factor.inverse_diagonal()), index=self.params.index,
                         name="std_err")

    @cached_property
    def zvalues(self) -> pd.Series:
        """Wald z statistics, params / bse."""
        return (self.params / self.bse).rename("z")

    @property
    def tvalues(self) -> pd.Series:
        """Alias of :attr:`zvalues` (statsmodels' name; they are z statistics)."""
        return self.zvalues

    @cached_property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of the z statistics."""
        return pd.Series(2.0 * stats.norm.sf(np.abs(self.zvalues)), index=self.params.index,
                         name="p_value")

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Wald confidence intervals, columns ``lower`` and ``upper``."""
        if not 0 < alpha < 1:
            raise InputError(f"alpha must be between 0 and 1, got {alpha}")
        half = stats.norm.isf(alpha / 2) * self.bse
        return pd.DataFrame({"lower": self.params - half, "upper": self.params + half})

    # -- fitted values ---------------------------------------------------
    @property
    def _eta(self) -> FloatArray:
        return self.solver.eta

    def _series(self, values: FloatArray, name: str) -> pd.Series:
        return pd.Series(values, index=self.model.row_index, name=name)

    @cached_property
    def fittedvalues(self) -> pd.Series:
        """Fitted mean per trial: probabilities (Bernoulli, binomial) or counts (Poisson)."""
        return self._series(self.model.family.mean(self._eta), "fitted")

    @property
    def linear_predictor(self) -> pd.Series:
        """Fitted η = Xβ + offset."""
        return self._series(self._eta, "linear_predictor")

    # -- likelihood and deviance -----------------------------------------
    # Summed row by row from each row's own log-likelihood or deviance, so that
    # large counts do not cancel between two big totals.
    def _loglike(self, eta: FloatArray) -> float:
        m = self.model
        return m.family.loglike(m.endog, eta, weights=m.weights, trials=m.trials)

    def _deviance(self, eta: FloatArray) -> float:
        m = self.model
        return m.family.deviance(m.endog, eta, weights=m.weights, trials=m.trials)

    @cached_property
    def llf(self) -> float:
        """Log-likelihood at the estimate, with the base measure (as R's ``logLik``)."""
        return self._loglike(self._eta)

    @cached_property
    def deviance(self) -> float:
        """Twice the log-likelihood gap to the saturated model."""
        return self._deviance(self._eta)

    @cached_property
    def _null_eta(self) -> FloatArray:
        """η of the null model: intercept only (with the offset) if the model has an
        intercept, else the offset alone, as R's ``glm`` defines the null deviance."""
        problem = self._problem
        offset = self.model.offset
        if not self.model.k_constant:
            return np.zeros(problem.n_obs) if offset is None else offset
        if offset is None:
            mean = np.dot(problem.weights, problem.target) / problem.total_weight
            return np.full(problem.n_obs, float(self.model.family.natural_from_mean(mean)))
        ones = GLMProblem(np.ones((problem.n_obs, 1)), problem.target, problem.weights,
                          offset, problem.family)
        return get_solver("irls")(ones).eta

    @cached_property
    def llnull(self) -> float:
        """Log-likelihood of the null model."""
        return self._loglike(self._null_eta)

    @cached_property
    def null_deviance(self) -> float:
        """Deviance of the null model."""
        return self._deviance(self._null_eta)

    @property
    def llr(self) -> float:
        """Likelihood-ratio statistic against the null model, 2·(llf − llnull)."""
        return 2.0 * (self.llf - self.llnull)

    @property
    def llr_pvalue(self) -> float:
        """p-value of :attr:`llr` on :attr:`df_model` degrees of freedom."""
        return float(stats.chi2.sf(self.llr, self.df_model)) if self.df_model > 0 else np.nan

    @property
    def prsquared(self) -> float:
        """McFadden's pseudo R², 1 − llf / llnull."""
        return 1.0 - self.llf / self.llnull

    @cached_property
    def pearson_chi2(self) -> float:
        """Σ w·n·(t − μ)² / V(μ): the sum of squared Pearson residuals, weighted."""
        problem = self._problem
        mu = self.fittedvalues.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = (problem.target - mu) ** 2 / self.model.family.variance(self._eta)
        return float(np.dot(problem.weights, terms))

    # -- counts and criteria ---------------------------------------------
    @property
    def nobs(self) -> float:
        """Number of observations (sum of frequency weights)."""
        return self.model.nobs

    @property
    def df_model(self) -> int:
        """Number of coefficients, not counting the intercept."""
        return len(self.params) - self.model.k_constant

    @property
    def df_resid(self) -> float:
        """Residual degrees of freedom: nobs − number of coefficients."""
        return self.nobs - len(self.params)

    @property
    def aic(self) -> float:
        """Akaike information criterion, −2·llf + 2k."""
        return -2.0 * self.llf + 2.0 * len(self.params)

    @property
    def bic(self) -> float:
        """Bayesian information criterion, −2·llf + k·log(nobs) (R's ``BIC``)."""
        return -2.0 * self.llf + np.log(self.nobs) * len(self.params)

    # -- residuals -------------------------------------------------------
    def _trials(self) -> FloatArray | float:
        return 1.0 if self.model.trials is None else self.model.trials

    @cached_property
    def resid_response(self) -> pd.Series:
        """y/n − μ: observed minus fitted, on the per-trial scale (as R)."""
        return self._series(self._problem.target - self.fittedvalues.to_numpy(), "resid_response")

    @cached_property
    def resid_pearson(self) -> pd.Series:
        """(y/n − μ)·√(n / V(μ)); frequency weights are not applied."""
        with np.errstate(divide="ignore", invalid="ignore"):
            r = self.resid_response.to_numpy() * np.sqrt(
                self._trials() / self.model.family.variance(self._eta))
        return self._series(r, "resid_pearson")

    @cached_property
    def resid_deviance(self) -> pd.Series:
        """sign(y/n − μ)·√(n·d(y/n, η)), whose weighted squares sum to the deviance."""
        unit = self.model.family.unit_deviance(self._problem.target, self._eta)
        r = np.sign(self.resid_response.to_numpy()) * np.sqrt(self._trials() * unit)
        return self._series(r, "resid_deviance")

    # -- prediction ------------------------------------------------------
    def predict(self, exog: ArrayLike | pd.DataFrame | None = None, which: str = "mean",
                offset: ArrayLike | str | None = None,
                unseen: str = "raise") -> pd.Series | FloatArray:
        """Predicted mean per trial (``which="mean"``) or linear predictor (``"linear"``).

        Parameters
        ----------
        exog : DataFrame or array-like, optional
            New rows; default: the fitted rows.  For a formula model, a DataFrame
            with the columns the formula uses: the design is rebuilt with the
            transforms and levels learnt when fitting.  Otherwise the model's
            columns, in order.
        which : {"mean", "linear"}
        offset : array-like or str, optional
            Offset for the new rows (a column name, for a formula model); default 0.
        unseen : {"raise", "nan"}
            Formula models: a categorical level not seen when fitting raises an
            error naming the column and level, or gives a NaN prediction.  Rows
            with a missing value in a variable always predict NaN.

        Returns
        -------
        Series indexed like the new rows (a DataFrame or the fitted rows), else ndarray.
        """
        if which not in ("mean", "linear"):
            raise InputError(f"which must be 'mean' or 'linear', got {which!r}")
        if exog is None:
            if offset is not None:
                raise InputError("offset= applies to new exog only")
            return self.linear_predictor if which == "linear" else self.fittedvalues
        terms = self.model.formula
        valid = None
        if terms is not None and isinstance(exog, pd.DataFrame):
            if isinstance(offset, str):
                if offset not in exog.columns:
                    raise InputError(f"offset={offset!r} is not a column of the new data")
                offset = exog[offset]
            design, valid = terms.design(exog, unseen=unseen)
            arr = design.to_numpy(dtype=np.float64)
        else:
            arr, names = as_design(exog)
            if arr.shape[1] != len(self.params):
                raise InputError(f"exog has {arr.shape[1]} columns; the model has "
                                 f"{len(self.params)}: {', '.join(self.model.exog_names)}")
            if names is not None and names != self.model.exog_names:
                raise InputError(f"exog columns {names} do not match the model's "
                                 f"{self.model.exog_names}")
        off = as_rows(offset, "offset", arr.shape[0], against="the new rows")
        eta = predict_eta(arr, self.solver.coef, off)
        values = eta if which == "linear" else self.model.family.mean(eta)
        if valid is not None:
            values = np.where(valid, values, np.nan)
        if isinstance(exog, pd.DataFrame):
            return pd.Series(values, index=exog.index, name="predicted")
        return values

    # -- reporting -------------------------------------------------------
    def summary(self, alpha: float = 0.05) -> Summary:
        """A summary table: model information and coefficients (text, HTML, DataFrame)."""
        return Summary.from_results(self, alpha)

    def summary_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """The coefficient table as a DataFrame."""
        return self.summary(alpha).to_frame()

    def __repr__(self) -> str:
        return f"<GLMResults: {self.model.family.name}, {len(self.params)} coefficients>"


