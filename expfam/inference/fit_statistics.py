"""The likelihood, deviance, criteria and residuals of a fitted GLM.

Part of :class:`~expfam.inference.results.GLMResults` (its base class): every
statistic here is a function of the model's data and the linear predictor at
the estimate, summed row by row from each row's own log-likelihood or deviance,
so that large counts do not cancel between two big totals.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from expfam._typing import FloatArray
from expfam.engine.null_model import null_eta

if TYPE_CHECKING:
    from expfam.design.layout import Layout
    from expfam.engine.problem import GLMProblem
    from expfam.engine.solvers import SolverResult
    from expfam.models.glm import GLM

__all__ = ["FitStatistics"]


class FitStatistics:
    """Likelihood-based statistics, degrees of freedom, criteria and residuals.

    A base class of :class:`~expfam.inference.results.GLMResults`, which provides
    the fit (``model``, ``solver``, the problem, the layout, η, the dispersion's
    settings and the count of estimated coefficients).
    """

    model: GLM
    solver: SolverResult
    _problem: GLMProblem
    _layout: Layout

    if TYPE_CHECKING:
        @property
        def _eta(self) -> FloatArray: ...

        @property
        def quasi(self) -> bool: ...

        @property
        def use_t(self) -> bool: ...

        @property
        def n_params(self) -> int: ...

    # -- likelihood and deviance -----------------------------------------
    # Summed row by row from each row's own log-likelihood or deviance, so that
    # large counts do not cancel between two big totals.
    def _loglike(self, eta: FloatArray) -> float:
        m = self.model
        return m.family.loglike(m.endog, eta, weights=m.weights, trials=m.trials)

    def _deviance(self, eta: FloatArray) -> float:
        m = self.model
        return m.family.deviance(m.endog, eta, weights=m.weights, trials=m.trials)

    def _profile_loglike(self, eta: FloatArray, deviance: float) -> float:
        """An estimated dispersion: the log-likelihood at φ = deviance / n, as R's
        family ``aic`` (for the Gaussian, the dispersion's maximum)."""
        m = self.model
        return m.family.profile_loglike(m.endog, m.family.mean(eta), m.weights, deviance)

    @cached_property
    def llf(self) -> float:
        """Log-likelihood at the estimate, with the base measure (as R's ``logLik``;
        Gaussian, Gamma, inverse Gaussian: at the dispersion deviance / nobs, as
        R's family ``aic``: the Gaussian's maximum-likelihood dispersion).  NaN for
        a quasi-likelihood fit (``fit(scale=...)``), which has no likelihood."""
        if self.quasi:
            return float("nan")
        if self.use_t:
            return self._profile_loglike(self._eta, self.deviance)
        return self._loglike(self._eta)

    @cached_property
    def deviance(self) -> float:
        """Twice the log-likelihood gap to the saturated model."""
        return self._deviance(self._eta)

    @cached_property
    def _null_eta(self) -> FloatArray:
        return null_eta(self._problem, bool(self.model.k_constant))

    @property
    def penalized_llf(self) -> float:
        """Firth fits: the penalized log-likelihood llf + ½·log|XᵀWX| (logistf's
        ``loglik``); NaN for unpenalized fits."""
        pen = self.solver.penalized_loss
        return float("nan") if pen is None else self.llf - (pen - self.solver.loss)

    @cached_property
    def llnull(self) -> float:
        """Log-likelihood of the null model (Gaussian: maximised over its own
        dispersion, as R's ``logLik`` of the intercept-only fit; statsmodels
        instead keeps the full model's scale).  NaN for a quasi-likelihood fit."""
        if self.quasi:
            return float("nan")
        if self.use_t:
            return self._profile_loglike(self._null_eta, self.null_deviance)
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
    def prsquared(self) -> float:  # NaN for quasi fits, through llf
        """McFadden's pseudo R², 1 − llf / llnull; for the Gaussian, whose
        log-density has no natural zero (McFadden's ratio would depend on the
        units of y), the deviance R² 1 − deviance / null deviance, the usual R²."""
        if self.model.family.estimated_dispersion:  # NaN for a constant response
            return 1.0 - self.deviance / self.null_deviance if self.null_deviance > 0 else (
                float("nan"))
        return 1.0 - self.llf / self.llnull

    @cached_property
    def pearson_chi2(self) -> float:
        """Σ w·n·(t − μ)²/V(μ), summed over classes (all K) for a categorical model."""
        resid = self.resid_pearson.to_numpy()
        per_row = resid**2 if resid.ndim == 1 else np.sum(resid**2, axis=1)
        w = 1.0 if self.model.weights is None else self.model.weights
        return float(np.sum(w * per_row))

    # -- counts and criteria ---------------------------------------------
    @property
    def nobs(self) -> float:
        """Number of observations (sum of frequency weights)."""
        return self.model.nobs

    @property
    def df_model(self) -> int:
        """Number of coefficients, not counting the intercept(s)."""
        per_class = 1 if self.model.classes is None else len(self.model.classes.others)
        return self.n_params - self.model.k_constant * per_class

    @property
    def df_resid(self) -> float:
        """Residual degrees of freedom: nobs − number of coefficients."""
        return self.nobs - self.n_params

    @property
    def _n_estimated(self) -> int:
        """Parameters the criteria count: the coefficients, and the dispersion if
        estimated (as R; statsmodels leaves the Gaussian scale out)."""
        return self.n_params + int(self.model.family.estimated_dispersion)

    @property
    def aic(self) -> float:
        """Akaike information criterion, −2·llf + 2k."""
        return -2.0 * self.llf + 2.0 * self._n_estimated

    @property
    def bic(self) -> float:
        """Bayesian information criterion, −2·llf + k·log(nobs) (R's ``BIC``)."""
        return -2.0 * self.llf + np.log(self.nobs) * self._n_estimated

    # -- residuals -------------------------------------------------------
    def _trials(self) -> FloatArray | float:
        return 1.0 if self.model.trials is None else self.model.trials

    @cached_property
    def _observed_and_fitted(self) -> tuple[FloatArray, FloatArray]:
        """Per-trial observed t and fitted μ; for categorical, (n, K) over every class."""
        if self.model.classes is None:
            return self._problem.target, self.model.family.mean(self._eta)
        # Every class from the data and from η: a reference share or probability
        # recovered as one minus the rest would be off by rounding in the tail.
        return (self._layout.class_shares(self.model.endog),
                self._layout.class_probabilities(self._eta))

    def _rows(self, values: FloatArray, name: str) -> pd.Series | pd.DataFrame:
        labels = None if self.model.classes is None else self.model.classes.labels
        return self._layout.per_row(values, name, labels)

    @cached_property
    def resid_response(self) -> pd.Series | pd.DataFrame:
        """y/n − μ: observed minus fitted, on the per-trial scale (as R); per class
        (all K columns) for a categorical model."""
        t, mu = self._observed_and_fitted
        return self._rows(t - mu, "resid_response")

    @cached_property
    def resid_pearson(self) -> pd.Series | pd.DataFrame:
        """(y/n − μ)·√(n / V(μ)), with V = μ(1 − μ)-type variance per class for a
        categorical model (μ_k alone: the multinomial Pearson statistic); frequency
        weights are not applied."""
        t, mu = self._observed_and_fitted
        if self.model.classes is None:
            var = self.model.family.variance(self._eta)
        else:
            var = mu  # Σ_k (t_k − μ_k)²/μ_k is Pearson's multinomial statistic
        n = np.asarray(self._trials())
        n = n if n.ndim == 0 or np.ndim(t) == 1 else n[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (t - mu) * np.sqrt(n / var)
        # A mean on the boundary that the response matches exactly (μ = 0 = y)
        # contributes nothing, not 0/0.
        return self._rows(np.where(t == mu, 0.0, r), "resid_pearson")

    @cached_property
    def resid_deviance(self) -> pd.Series | pd.DataFrame:
        """√(n·d) with the sign of y/n − μ (no sign for a categorical model), whose
        weighted squares sum to the deviance."""
        unit = self.model.family.unit_deviance(self._problem.target, self._eta)
        r = np.sqrt(self._trials() * unit)
        if self.model.classes is None:
            r = np.sign(np.asarray(self.resid_response)) * r
        return self._layout.per_row(r, "resid_deviance")
