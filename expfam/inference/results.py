"""Inference for a fitted GLM: a set of lazily computed functions of the fit record.

Everything follows from the solver's record (coefficients, η, loss and the
Hessian at the estimate) and the model's data.  Dispersion is known (1) for
the Bernoulli, binomial, categorical and Poisson families, so tests are z tests
with no degrees-of-freedom factor, as in R's ``summary.glm`` and statsmodels.
The Gaussian family's dispersion φ = σ² is estimated by the Pearson statistic
over the residual degrees of freedom; its standard errors are scaled by √φ̂ and
its tests and intervals use Student's t on the residual degrees of freedom,
as R's ``summary.glm`` (statsmodels: ``fit(use_t=True)``).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from expfam._typing import FloatArray
from expfam.backend.blocks import default_backend
from expfam.design.gram import ArrowGram
from expfam.design.layout import Layout, like
from expfam.engine.linalg import CholeskyFactor
from expfam.engine.problem import GLMProblem
from expfam.engine.schur import SchurFactor
from expfam.engine.solvers import SolverResult
from expfam.errors import InputError, describe_levels, row_labels
from expfam.inference import cov_blocks
from expfam.inference.aliasing import pad_estimable
from expfam.inference.diagnostics import information_factor
from expfam.inference.dispersion import check_scale
from expfam.inference.fit_statistics import FitStatistics
from expfam.inference.hypotheses import chosen_terms, profile_conf_int, wald_test
from expfam.inference.plotting import plot_convergence
from expfam.inference.reference import change_reference
from expfam.inference.robust import COV_TYPES, SMALL_SAMPLE, robust_covariance
from expfam.inference.robust_arrow import ArrowSandwich, arrow_sandwich
from expfam.inference.separation import Separation
from expfam.inference.summary import Summary

if TYPE_CHECKING:
    from expfam.models.glm import GLM

__all__ = ["GLMResults"]



class GLMResults(FitStatistics):
    """The result of :meth:`GLM.fit`.

    Attributes
    ----------
    model : GLM
    params : pd.Series or pd.DataFrame
        Coefficient estimates indexed by term; for a categorical model, a
        DataFrame with terms as rows and the non-reference classes as columns.
    solver : SolverResult
        The solver's record: convergence, iterations, message, history.
    method : str
        The solver that ran.
    """

    def __init__(self, model: GLM, problem: GLMProblem, solver: SolverResult,
                 method: str, cov_type: str = "nonrobust", groups: Any = None,
                 aliased: dict[str, list[str]] | None = None,
                 small_sample: str = "regress",
                 information: str = "expected",
                 scale: str | float | None = None) -> None:
        if cov_type not in COV_TYPES:
            raise InputError(f"cov_type must be one of {', '.join(COV_TYPES)}; got "
                             f"{cov_type!r}")
        if small_sample not in SMALL_SAMPLE:
            raise InputError(f"small_sample must be one of {', '.join(SMALL_SAMPLE)}; got "
                             f"{small_sample!r}")
        #: The convention of the HC1 and cluster small-sample factors.
        self.small_sample = small_sample
        self.model = model
        self._problem = problem
        self.solver = solver
        self.method = method
        self.cov_type = cov_type
        #: The information behind the standard errors: "expected" (Fisher, as R's
        #: ``glm``) or "observed"; the same matrix under a canonical link.
        self.information = information
        self._groups = groups
        #: ``fit(scale=...)``: "X2", "dev", a number, or None (the family's).
        self.scale_method = check_scale(model.family, scale)
        #: The separation check's finding, when the fit ended on the boundary.
        self.separation: Separation | None = None
        self._layout = Layout(model.exog_names, model.classes, model.row_index)
        #: Aliased (not estimable) columns, each mapped to the columns it combines.
        self.aliased = aliased or {}
        estimable = np.array([n not in self.aliased for n in model.exog_names])
        self._kept = np.tile(estimable, problem.n_natural)  # over the flat coefficients
        flat = problem.flat(solver.coef)
        self.params = self._layout.coef(np.where(self._kept, flat, np.nan), "coef")

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
        """One row per iteration (per epoch for SGD): loss, gradient norm, step, …"""
        return pd.DataFrame(self.solver.history)

    def plot_convergence(self, ax: Any = None, quantity: str = "grad_norm",
                         label: str | None = None) -> Any:
        """Plot :attr:`history` (needs matplotlib); see :func:`.plotting.plot_convergence`."""
        return plot_convergence(self, ax=ax, quantity=quantity, label=label)

    # -- covariance and Wald inference -----------------------------------
    @cached_property
    def _factor(self) -> CholeskyFactor | SchurFactor:
        """The information of the estimable coefficients, factorised (by the Schur
        complement when a factor with many levels keeps its block diagonal)."""
        kept = self._kept
        names = [str(n) for n, k in zip(self._layout.flat_index, kept, strict=True) if k]
        hessian = self.solver.hessian
        cached = self.solver.factor
        if cached is not None and cached[0] is hessian and kept.all():
            return cached[1]
        if isinstance(hessian, ArrowGram):
            inner = hessian if kept.all() else hessian.submatrix(kept)
        else:
            inner = hessian[np.ix_(kept, kept)]
        return information_factor(inner, names, self.solver.n_boundary > 0)

    def _expand(self, inner: FloatArray) -> FloatArray:
        return pad_estimable(inner, self._kept)

    @property
    def n_params(self) -> int:
        """Number of estimated coefficients (terms × non-reference classes for
        categorical), aliased ones not counted: R's rank."""
        return int(np.count_nonzero(self._kept))

    @property
    def use_t(self) -> bool:
        """Whether tests and intervals use Student's t (estimated dispersion: the
        family's, or ``fit(scale="X2" | "dev")``)."""
        return self.model.family.estimated_dispersion or self.scale_method in ("X2", "dev")

    @property
    def quasi(self) -> bool:
        """Whether the fit is quasi-likelihood (``fit(scale=...)``): then the
        likelihood-based statistics are not defined (NaN, as R's NA)."""
        return self.scale_method is not None

    @cached_property
    def scale(self) -> float:
        """The dispersion φ: 1 where the family fixes it, else the Pearson
        statistic over the residual degrees of freedom (R's ``dispersion``); with
        ``fit(scale=...)`` that statistic, the deviance over ``df_resid``, or the
        number given."""
        if isinstance(self.scale_method, float):
            return self.scale_method
        if not self.use_t:
            return 1.0
        if self.df_resid <= 0:
            return float("nan")
        top = self.deviance if self.scale_method == "dev" else self.pearson_chi2
        return top / self.df_resid

    def _reference(self) -> Any:
        """The distribution of the Wald statistics: normal, or t on ``df_resid``."""
        return stats.t(self.df_resid) if self.use_t else stats.norm

    def _check_dense_cov(self, what: str) -> None:
        k, limit = len(self._kept), cov_blocks.MAX_DENSE_COV
        if k > limit:
            raise InputError(f"{what} for all {k} coefficients would be a {k} × {k} matrix "
                             f"(more than {limit} coefficients, from a factor with "
                             "many levels); ask for the coefficients you need with "
                             "cov_params(columns=[...]); standard errors (bse) are exact "
                             "without it")

    @cached_property
    def _cov(self) -> FloatArray:
        if self.cov_type == "nonrobust":
            self._check_dense_cov("the covariance matrix")
            return self.scale * self._expand(self._factor.inverse())
        self._check_dense_cov(f"a {self.cov_type} covariance")
        if self._sandwich is not None:
            return self._expand(self._sandwich.block(np.arange(self.n_params)))
        bread = np.nan_to_num(self._expand(self._factor.inverse()))  # aliased: no weight
        factor = self._factor if (isinstance(self._factor, SchurFactor)
                                  and self._kept.all()) else None
        with row_labels(self.model.row_index):  # warnings name the user's rows
            cov = robust_covariance(self._problem, self._eta, bread, self.cov_type,
                                    self._groups, default_backend(), rank=self.n_params,
                                    frequency=self.model.weights,
                                    small_sample=self.small_sample, factor=factor)
        cov[~self._kept, :] = cov[:, ~self._kept] = np.nan
        return cov

    @cached_property
    def _sandwich(self) -> ArrowSandwich | None:
        """A robust covariance held by its pieces when the information is an arrow
        (a factor with many levels): exact SEs and blocks, never p × p."""
        if self.cov_type == "nonrobust" or not isinstance(self._factor, SchurFactor):
            return None
        with row_labels(self.model.row_index):  # warnings name the user's rows
            return arrow_sandwich(self._problem, self._eta, self._factor, self._kept,
                                  self.cov_type, self._groups, default_backend(),
                                  frequency=self.model.weights,
                                  small_sample=self.small_sample)

    def cov_params(self, columns: Any = None) -> pd.DataFrame:
        """Covariance of the estimates: the inverse of the information XᵀWX (times
        the dispersion :attr:`scale`, 1 but for the Gaussian), or the sandwich of
        ``cov_type`` (``fit(cov_type=...)``).

        Labelled by term, or by (class, term) for a categorical model.

        Parameters
        ----------
        columns : list of labels, or a string, optional
            Only these coefficients' block: a list of coefficient labels, or a
            string selecting the labels that start with it (a factor term, say
            ``"C(store)"``); a list's block comes in the list's order.  For the
            inverse information of a model with a factor of many levels this is
            one solve with the Schur complement,
            and the full p × p matrix is never formed (it is refused beyond
            5,000 coefficients).
        """
        index = self._layout.flat_index
        if columns is None:
            return pd.DataFrame(self._cov, index=index, columns=index)
        labels = [str(v) for v in index]
        if isinstance(columns, str):
            chosen = [j for j, name in enumerate(labels) if name.startswith(columns)]
            if not chosen:
                raise InputError(f"no coefficient label starts with {columns!r}")
        else:
            # In the order asked for, as DataFrame.loc.
            position = {name: j for j, name in enumerate(labels)}
            wanted = [str(c) for c in columns]
            if not wanted:
                raise InputError("columns= is empty: give coefficient labels, or a prefix "
                                 "such as a factor's name")
            missing = [c for c in wanted if c not in position]
            if missing:
                raise InputError(f"no coefficient(s) {', '.join(map(repr, missing))}; they "
                                 f"are {describe_levels(labels)}")
            chosen = [position[c] for c in wanted]
        idx = np.asarray(chosen)
        sub = cov_blocks.covariance_block(self, idx)
        picked = index[idx]
        return pd.DataFrame(sub, index=picked, columns=picked)

    @cached_property
    def bse(self) -> pd.Series | pd.DataFrame:
        """Standard errors, shaped like :attr:`params`, from :meth:`cov_params`."""
        if self.cov_type == "nonrobust":
            var = self.scale * self._expand(self._factor.inverse_diagonal())
        elif self._sandwich is not None:
            var = self._expand(self._sandwich.diagonal())
        else:
            var = np.diag(self._cov)
        return self._layout.coef(np.sqrt(var), "std_err")

    @cached_property
    def zvalues(self) -> pd.Series | pd.DataFrame:
        """Wald statistics, params / bse (t statistics when :attr:`use_t`)."""
        name = "t" if self.use_t else "z"
        return like(self.params, (self.params / self.bse).to_numpy(), name)

    @property
    def tvalues(self) -> pd.Series | pd.DataFrame:
        """Alias of :attr:`zvalues` (statsmodels' name)."""
        return self.zvalues

    @cached_property
    def pvalues(self) -> pd.Series | pd.DataFrame:
        """Two-sided p-values of the z (or t) statistics."""
        return like(self.params, 2.0 * self._reference().sf(np.abs(self.zvalues.to_numpy())),
                    "p_value")

    def conf_int(self, alpha: float = 0.05, method: str = "wald",
                 terms: Any = None) -> pd.DataFrame:
        """Confidence intervals, columns ``lower`` and ``upper``.

        ``method="wald"`` (default, with the fit's ``cov_type``) or ``"profile"``
        (profile likelihood, as R's ``confint``; see
        :func:`expfam.inference.profile_conf_int`), for the coefficients named in
        ``terms`` (R's ``parm``; default every one: each profile is a sequence
        of refits).  Rows are terms, or (class, term) pairs for a categorical
        model.
        """
        if not 0 < alpha < 1:
            raise InputError(f"alpha must be between 0 and 1, got {alpha}")
        if method == "profile":
            return profile_conf_int(self, alpha, terms)
        if method != "wald":
            raise InputError(f"method must be 'wald' or 'profile', got {method!r}")
        params, bse = self._layout.stack(self.params), self._layout.stack(self.bse)
        half = self._reference().isf(alpha / 2) * bse
        table = pd.DataFrame({"lower": params - half, "upper": params + half})
        if terms is None:
            return table
        labels = [str(v) for v in table.index]
        return table.iloc[[labels.index(t) for t in chosen_terms(labels, terms)]]

    def wald_test(self, restriction: Any) -> Any:
        """Wald χ² test of a term, coefficients or R·β = q: see
        :func:`expfam.inference.wald_test`."""
        return wald_test(self, restriction)

    # -- fitted values ---------------------------------------------------
    @property
    def _eta(self) -> FloatArray:
        return self.solver.eta

    @cached_property
    def fittedvalues(self) -> pd.Series | pd.DataFrame:
        """Fitted mean per trial: probabilities (Bernoulli, binomial), counts (Poisson),
        or an (n, K) DataFrame of class probabilities (categorical)."""
        if self.model.classes is None:
            return self._layout.per_row(self.model.family.mean(self._eta), "fitted")
        return self._layout.per_row(self._layout.class_probabilities(self._eta), "fitted",
                                    self.model.classes.labels)

    @property
    def linear_predictor(self) -> pd.Series | pd.DataFrame:
        """Fitted η = Xβ + offset (one column per non-reference class if categorical)."""
        others = None if self.model.classes is None else self.model.classes.others
        return self._layout.per_row(self._eta, "linear_predictor", others)

    # -- prediction ------------------------------------------------------
    def predict(self, exog: ArrayLike | pd.DataFrame | None = None, which: str = "mean",
                offset: ArrayLike | str | None = None,
                unseen: str = "raise") -> pd.Series | pd.DataFrame | FloatArray:
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
        from expfam.inference.predict import predict

        return predict(self, exog, which, offset, unseen)

    def get_prediction(self, exog: ArrayLike | pd.DataFrame | None = None,
                       alpha: float = 0.05, offset: ArrayLike | str | None = None,
                       unseen: str = "raise") -> Any:
        """Predicted means with delta-method standard errors and intervals built on
        the link scale; ``.summary_frame()`` as statsmodels'.  Arguments as
        :meth:`predict`; see :mod:`expfam.inference.prediction`."""
        from expfam.inference.prediction import get_prediction

        return get_prediction(self, exog, alpha, offset, unseen)

    def marginal_effects(self, at: Any = "overall", terms: Any = None,
                         alpha: float = 0.05) -> pd.DataFrame:
        """Marginal effects dμ/dx (average, at the means or at given values) with
        delta-method standard errors; see :func:`expfam.inference.margins.marginal_effects`."""
        from expfam.inference.margins import marginal_effects

        return marginal_effects(self, at=at, terms=terms, alpha=alpha)

    def get_influence(self) -> Any:
        """Influence measures as R's ``influence.measures``, ``rstudent`` and
        ``rstandard``; see :class:`expfam.inference.influence.GLMInfluence`."""
        from expfam.inference.influence import GLMInfluence

        return GLMInfluence(self)

    def plot_diagnostics(self, fig: Any = None, n_label: int = 3) -> Any:
        """R's four ``plot.glm`` panels (needs matplotlib); see
        :func:`expfam.inference.diagnostic_plots.plot_diagnostics`."""
        from expfam.inference.diagnostic_plots import plot_diagnostics

        return plot_diagnostics(self, fig=fig, n_label=n_label)
    def predict_proba(self, exog: ArrayLike | pd.DataFrame | None = None,
                      offset: ArrayLike | str | None = None,
                      unseen: str = "raise") -> pd.DataFrame:
        """Probabilities of every class, shape (n, K), one column per class
        (Bernoulli and categorical models; arguments as :meth:`predict`).

        A Bernoulli model has two columns, the non-event first: its response's
        levels when a formula read labels, else 0 and 1.  :meth:`predict` stays
        the mean (statsmodels' meaning); see :mod:`expfam.inference.classify`.
        """
        from expfam.inference.classify import predict_proba

        return predict_proba(self, exog, offset, unseen)

    def predict_class(self, exog: ArrayLike | pd.DataFrame | None = None,
                      offset: ArrayLike | str | None = None,
                      unseen: str = "raise") -> pd.Series:
        """The most probable class of each row (missing where a row cannot be
        predicted); arguments as :meth:`predict`."""
        from expfam.inference.classify import most_probable, predict_proba

        return most_probable(predict_proba(self, exog, offset, unseen))

    # -- multinomial ------------------------------------------------------
    def with_reference(self, reference: Any) -> GLMResults:
        """This categorical fit expressed against another reference class, without
        refitting (see :func:`expfam.change_reference`)."""
        return change_reference(self, reference)

    # -- reporting -------------------------------------------------------
    def summary(self, alpha: float = 0.05) -> Summary:
        """A summary table: model information and coefficients (text, HTML, DataFrame)."""
        return Summary.from_results(self, alpha)

    def summary_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """The coefficient table as a DataFrame."""
        return self.summary(alpha).to_frame()

    def __repr__(self) -> str:
        return f"<GLMResults: {self.model.family.name}, {self.n_params} coefficients>"


