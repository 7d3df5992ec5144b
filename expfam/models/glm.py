"""Generalized linear models, fit from arrays: an exponential family and a link.

:class:`GLM` checks the input, puts it in the solver's normal form (per-trial
statistic t = T(y)/n, weights w·n) and hands a frozen
:class:`~expfam.engine.problem.GLMProblem` to a solver.  Inference lives in
:mod:`expfam.inference.results`.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from expfam._typing import FloatArray
from expfam.backend.blocks import default_backend, preferred_block_rows
from expfam.design.arrays import (
    add_constant,
    as_design,
    as_rows,
    check_exog_finite,
    constant_columns,
    default_names,
    drop_incomplete,
    row_index,
)
from expfam.design.formula import FormulaTerms, model_frame
from expfam.design.matrix import StructuredDesign
from expfam.design.response import Classes, binomial_pair, class_response
from expfam.design.sparse_columns import SPARSE_THRESHOLD
from expfam.engine.information import observed_information
from expfam.engine.problem import GLMProblem
from expfam.engine.solvers import get_solver
from expfam.errors import (
    DataWarning,
    InputError,
    NumericalError,
    RankDeficientError,
    describe_rows,
    row_labels,
    user_stacklevel,
)
from expfam.families import (
    Binomial,
    Categorical,
    ExponentialFamily,
    Link,
    NegativeBinomial,
    get_family,
)
from expfam.inference.aliasing import describe_aliasing
from expfam.inference.diagnostics import scale_hint
from expfam.inference.dispersion import check_scale
from expfam.inference.fit_checks import (
    check_magnitudes,
    check_response_scale,
    check_response_varies,
    diagnose,
    raise_if_separated,
)
from expfam.inference.level_separation import report_separated, solve_separating_levels
from expfam.inference.results import GLMResults
from expfam.models.fit_arguments import (
    check_covariance,
    check_method,
    check_penalty,
    solver_options,
    start_values,
)
from expfam.models.negative_binomial import fit_negative_binomial
from expfam.models.one_vs_rest import OneVsRest, one_vs_rest

__all__ = ["GLM", "add_constant", "glm", "logit"]

class GLM:
    """A generalized linear model: an exponential family with its canonical link or
    another one (``link=``).

    Parameters
    ----------
    endog : array-like, shape (n,) or (n, 2)
        The response.  Bernoulli: 0/1 (or bool).  Binomial: successes, with
        ``trials``; or an (n, 2) array of successes and failures.  Poisson: counts.
    exog : array-like, shape (n, p)
        The design matrix, used as given: add an intercept column yourself
        (:func:`add_constant`) or use a formula (which adds one).
    family : str or ExponentialFamily
        ``"bernoulli"`` (logistic regression), ``"binomial"``, ``"poisson"``,
        ``"gaussian"``, ``"gamma"``, ``"inverse_gaussian"``, ``"negative_binomial"``
        (θ estimated, as ``MASS::glm.nb``; ``NegativeBinomial(theta=...)`` for a
        known θ) or ``"categorical"``.
    weights : array-like, shape (n,), optional
        Frequency weights: a weight of 2 is the same as the row appearing twice,
        for estimates, standard errors, likelihood and degrees of freedom.
    offset : array-like, shape (n,), optional
        Added to the linear predictor with coefficient 1 (e.g. log exposure).
    exposure : array-like, shape (n,), optional
        Positive exposures: log(exposure) is added to the offset (statsmodels).
    trials : array-like, shape (n,), optional
        Binomial only: number of trials per row (default 1).
    reference : label, optional
        Categorical family only: the baseline class (default the first).
    missing : {"raise", "drop"}
        Rows with a missing value (NaN, None) in any input: an error naming them
        (default), or dropped before the fit and counted in ``n_dropped`` (as
        the formula functions do by default).
    link : str, optional
        The link g(μ) = η, by R's name: ``"logit"``, ``"probit"``, ``"cloglog"``,
        ``"loglog"``, ``"cauchit"``, ``"log"``, ``"identity"``, ``"inverse"``,
        ``"1/mu^2"``, ``"sqrt"`` — those the family takes.  Default: the
        canonical link (``"log"`` for the negative binomial, as R).  A
        non-canonical link is fitted by Fisher scoring, as R's ``glm``.

    Examples
    --------
    >>> import expfam as ef
    >>> cars = ef.datasets.load("mtcars")
    >>> res = ef.GLM(cars["am"], ef.add_constant(cars[["hp", "wt"]])).fit()
    >>> round(res.params["wt"], 3)
    -8.083
    """

    def __new__(cls, endog: Any = None, exog: Any = None, *args: Any, **kwargs: Any) -> Any:
        # Dask hook (issue 13): Dask inputs build a DaskGLM, whose rows stay in
        # the cluster's partitions.  Checked without importing Dask.
        if cls is GLM and (_is_dask(endog) or _is_dask(exog)):
            return object.__new__(_dask_model())
        return super().__new__(cls)

    def __init__(
        self,
        endog: ArrayLike,
        exog: ArrayLike | StructuredDesign,
        family: str | ExponentialFamily = "bernoulli",
        weights: ArrayLike | None = None,
        offset: ArrayLike | None = None,
        trials: ArrayLike | None = None,
        reference: Any = None,
        missing: str = "raise",
        link: str | Link | None = None,
        exposure: ArrayLike | None = None,
    ) -> None:
        self.family = get_family(family, link)
        if missing not in ("raise", "drop"):
            raise InputError(f"missing must be 'raise' or 'drop', got {missing!r}")
        #: Rows dropped for missing values (``missing="drop"`` or a formula).
        self.n_dropped = 0
        if missing == "drop":
            kept, complete = drop_incomplete({
                "endog": endog, "exog": exog, "weights": weights, "offset": offset,
                "trials": trials, "exposure": exposure})
            endog, exog, weights, offset, trials, exposure = kept.values()
            self.n_dropped = int((~complete).sum())
        if exposure is not None:
            offset = _log_exposure(exposure, offset, np.shape(endog)[0])
        self.row_index = row_index(endog, exog, weights, offset, trials)
        if self.row_index is None and self.n_dropped:
            # Arrays after dropping: rows keep their original positions as labels.
            self.row_index = pd.Index(np.flatnonzero(complete))
        with self._rows_named():
            self._setup(endog, exog, weights, offset, trials, reference)

    def _rows_named(self) -> Any:
        """Errors inside name rows by the data's own index when it is not simply
        0, 1, 2, … (a DataFrame with labels, or rows left after dropping missing
        values), so that the rows named are the user's."""
        return row_labels(self.row_index)

    def _setup(self, endog: ArrayLike, exog: ArrayLike | StructuredDesign,
               weights: ArrayLike | None, offset: ArrayLike | None,
               trials: ArrayLike | None, reference: Any) -> None:
        self.endog_name = _name_of(endog, default="y")
        self.exog, names = as_design(exog)
        n = self.exog.shape[0]
        if n == 0:
            raise InputError("no rows: exog and endog are empty")
        if self.exog.shape[1] == 0:
            raise InputError("exog has no columns; give at least one predictor or a constant")
        self._constant = constant_columns(self.exog)
        self.exog_names = names or default_names(self.exog.shape[1], self._constant)
        self.weights = as_rows(weights, "weights", n, nonnegative=True)
        if self.weights is not None and not np.any(self.weights > 0):
            raise InputError("every weight is zero: there is nothing to fit")
        #: The classes of a categorical response (None for other families).
        self.classes: Classes | None = None
        self.endog, self.trials = self._response(endog, trials, reference, n)
        if self.weights is not None:
            n_coef = self.exog.shape[1] * (1 if self.classes is None
                                           else len(self.classes.labels) - 1)
            _check_frequency_weights(self.weights, n_coef)
        self.offset = self._offset(offset, n)
        #: The formula's terms, for models built with :meth:`from_formula`.
        self.formula: FormulaTerms | None = None
        self.data: pd.DataFrame | None = None

    # ------------------------------------------------------------------
    def _response(self, endog: ArrayLike, trials: ArrayLike | None, reference: Any,
                  n: int) -> tuple[FloatArray, FloatArray | None]:
        """Check the response against the family; split successes/failures; code classes."""
        if self.family.vector_natural:
            if trials is not None:
                raise InputError("trials= does not apply to a categorical response; give a "
                                 "matrix of class counts instead")
            values, self.classes, implied = class_response(endog, reference, n, self.weights)
            self.family = Categorical(n_classes=len(self.classes.labels))
            return values, implied
        if reference is not None:
            raise InputError("reference= applies to a categorical (multinomial) response")
        y: Any = endog
        base = getattr(self.family, "base", self.family)
        if isinstance(base, Binomial) and np.ndim(y) == 2 and np.shape(y)[1] == 2:
            if trials is not None:
                raise InputError("give either a (successes, failures) response or trials=, "
                                 "not both")
            pair = np.asarray(y.to_numpy(dtype=np.float64, na_value=np.nan)
                              if isinstance(y, pd.DataFrame) else y, dtype=np.float64)
            y, trials = binomial_pair(pair, n)
        y_arr = as_rows(y, "endog", n)
        assert y_arr is not None
        if trials is not None and not self.family.has_trials:
            raise InputError(f"trials= applies to the binomial family, not {self.family.name}")
        n_trials = as_rows(trials, "trials", n)
        self.family.check_support(y_arr, n_trials)
        return y_arr, n_trials

    def _offset(self, offset: ArrayLike | None, n: int) -> FloatArray | None:
        """One offset per row; for categorical models one per row and class (a single
        column is added to every non-reference class)."""
        if offset is None or not self.family.vector_natural or np.ndim(offset) < 2:
            off = as_rows(offset, "offset", n)
            if off is None or self.classes is None:
                return off
            return np.repeat(off[:, None], len(self.classes.others), axis=1)
        assert self.classes is not None
        arr = np.asarray(offset, dtype=np.float64)
        expected = (n, len(self.classes.others))
        if arr.shape != expected:
            raise InputError(f"offset has shape {arr.shape}; expected {expected}: one column "
                             "per non-reference class (or a single column for all)")
        if not np.all(np.isfinite(arr)):
            raise InputError("offset is NaN or infinite at "
                             f"{describe_rows(~np.isfinite(arr).all(axis=1))}")
        return arr

    @classmethod
    def from_formula(
        cls,
        formula: str,
        data: pd.DataFrame,
        family: str | ExponentialFamily = "bernoulli",
        weights: ArrayLike | str | None = None,
        offset: ArrayLike | str | None = None,
        trials: ArrayLike | str | None = None,
        missing: str = "drop",
        reference: Any = None,
        link: str | Link | None = None,
        exposure: ArrayLike | str | None = None,
        sparse_threshold: float | None = SPARSE_THRESHOLD,
    ) -> GLM:
        """A GLM from a formula and a DataFrame (formulaic syntax, as R's).

        Parameters
        ----------
        formula : str
            ``"y ~ x1 + C(g) + x1:x2"``.  The intercept is included unless the
            formula removes it (``- 1`` or ``0 +``).  String and categorical
            columns become treatment contrasts against their first level; a
            pandas Categorical's category order decides that level, as factor
            levels do in R, and ``C(g, contr.treatment("b"))`` picks another.
        data : DataFrame
        family : str or ExponentialFamily
        weights, offset, trials : str or array-like, optional
            A column name of ``data`` or one value per row.  The formula may
            hold offsets too, ``offset(np.log(e))``: expressions of columns,
            added up (with ``offset=``) and evaluated again on new rows.
        exposure : str or array-like, optional
            log(exposure) joins the offset (statsmodels' ``exposure``).
        missing : {"drop", "raise"}
            Drop rows with a missing value in any variable of the model (the
            results report how many), or raise an error naming the columns.
        reference : label, optional
            Categorical family only: the baseline class (default the first level).
        link : str, optional
            The link (see :class:`GLM`); default the family's canonical one.
        sparse_threshold : float or None
            Numeric terms whose share of non-zero values is below this (0.1, as
            glum's) are held as one scipy.sparse CSR part of the design when it
            has at least 1,000 rows; 0 or None keeps them dense.  Terms reading
            a pandas sparse column (``pd.SparseDtype``, as from
            ``pd.get_dummies(..., sparse=True)``) are always held sparse, never
            written out densely.  Only the storage changes: every estimate is
            the dense design's (see ``docs/formulas.md``).  In-memory data only.

        Notes
        -----
        A Bernoulli response may be 0/1, boolean, or have two labels (strings
        or categories): its second level, in category or sorted order, is the
        event modelled as 1, as in R.  With ``family="categorical"`` this is
        :func:`~expfam.mnlogit`.
        """
        if _is_dask(data):  # Dask hook (issue 13): see expfam.models.dask_glm
            return _dask_model().from_formula(formula, data, family=family, weights=weights,
                                              offset=offset, trials=trials, missing=missing,
                                              reference=reference, link=link,
                                              exposure=exposure)
        fam = get_family(family)
        if isinstance(fam, Categorical):
            if trials is not None:
                raise InputError("trials= does not apply to a categorical response; give "
                                 "class counts as the response matrix instead")
            frame = model_frame(formula, data, weights=weights, offset=offset,
                                exposure=exposure, missing=missing,
                                labelled_response="classes", structured=True,
                                sparse_threshold=sparse_threshold)
            model = cls(frame.endog, frame.exog, family=family, weights=frame.weights,
                        offset=frame.offset, reference=reference, link=link)
        else:
            if reference is not None:
                raise InputError("reference= applies to the categorical family only")
            labels = "binary" if fam.name in ("bernoulli", "binomial") else "refuse"
            frame = model_frame(formula, data, weights=weights, offset=offset, trials=trials,
                                exposure=exposure, missing=missing,
                                labelled_response=labels, structured=True,
                                sparse_threshold=sparse_threshold)
            model = cls(frame.endog, frame.exog, family=family, weights=frame.weights,
                        offset=frame.offset, trials=frame.trials, link=link)
        model.formula = frame.terms
        model.n_dropped = frame.terms.n_dropped
        #: The fitted rows' formula variables (formula models only).
        model.data = frame.data
        # The formula, not the columns, says whether there is an intercept (R).
        model._constant = [0] if frame.terms.has_intercept else []
        return model

    @property
    def nobs(self) -> float:
        """Number of observations: the sum of the frequency weights."""
        return float(self.exog.shape[0] if self.weights is None else np.sum(self.weights))

    @property
    def k_constant(self) -> int:
        """1 if the design has an intercept column, else 0."""
        return 1 if self._constant else 0

    def fit_one_vs_rest(self, **fit_kwargs: Any) -> OneVsRest:
        """Fit one binary model per class (categorical models): see :func:`one_vs_rest`."""
        return one_vs_rest(self, **fit_kwargs)

    def problem(self) -> GLMProblem:
        """The model in the solvers' normal form: t = y/n, weights w·n."""
        n = self.exog.shape[0]
        w = np.ones(n) if self.weights is None else self.weights
        t = self.family.sufficient_stat(self.endog)
        if self.trials is not None:
            t = (t.T / self.trials).T
            w = w * self.trials
        return GLMProblem(self.exog, t, w, self.offset, self.family)

    def fit(
        self,
        method: str = "auto",
        *,
        start_params: ArrayLike | None = None,
        tol: float | None = None,
        max_iter: int | None = None,
        cov_type: str = "nonrobust",
        groups: ArrayLike | None = None,
        small_sample: str = "regress",
        aliased: str = "nan",
        penalty: str | None = None,
        information: str = "expected",
        scale: str | float | None = None,
        **options: Any,
    ) -> GLMResults:
        """Fit by maximum likelihood.

        Parameters
        ----------
        method : {"auto", "irls", "newton", "gd", "sgd", "lbfgs"}
            ``"auto"`` (default) chooses by the design's shape and sparsity:
            Newton (IRLS) whenever its Hessian is affordable — every dense
            design, and structured ones whose Hessian outside a factor's
            diagonal block (solved by the Schur complement, whatever the number
            of levels) has at most 1,000 columns, and every non-canonical
            link (Fisher scoring keeps the mean in its range); L-BFGS for wider
            sparse designs, where each Newton Hessian (a p × p sparse sandwich and its
            Cholesky factorization) costs more than the whole L-BFGS run.  Every
            solver ends with the exact information at its estimate, so
            standard errors do not depend on the choice (``res.method`` says
            which ran).  ``"irls"`` and ``"newton"`` are the same algorithm:
            Newton's method for a canonical link, Fisher scoring (as R's
            ``glm``) for another.  ``"gd"`` (gradient descent with a line
            search), ``"sgd"`` (mini-batch stochastic gradient) and ``"lbfgs"``
            work on standardized columns internally and map the estimates back.
        start_params : array-like, shape (p,) or (p, K − 1), optional
        tol : float, optional
            The solver's convergence tolerance.  IRLS (default 1e-8): relative
            change in deviance on R's scale, ``|Δdev| / (0.1 + |dev|)``.  gd
            (1e-7) and lbfgs (1e-8): the largest component of the gradient of
            the mean loss in standardized coordinates.  sgd (0.03): the estimated
            distance to the optimum in standard errors (root mean square over
            the coefficients), checked every epoch.  Firth (1e-10): the Newton
            step, in standard errors.
        max_iter : int, optional
            Iterations (IRLS 100, gd 20,000, lbfgs 1,000); sgd takes ``epochs``.
        cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster"}
            The covariance behind every standard error, test and interval: the
            inverse information, or a sandwich as R's ``sandwich::vcovHC`` /
            ``vcovCL`` (HC2 and HC3 with the GLM's hat values).
        groups : array-like, shape (n,), optional
            Cluster labels for ``cov_type="cluster"``, one per row of the model.
        small_sample : {"regress", "ml"}
            The small-sample factor of ``HC1`` and ``"cluster"``: ``"regress"``
            (default) n/(n − k) and G/(G − 1)·(n − 1)/(n − k), as R's ``vcovHC``
            HC1 and ``vcovCL(type="HC1")`` and Stata's ``regress``; ``"ml"``
            n/(n − 1) and G/(G − 1), as R's ``vcovCL`` default and Stata's
            ``glm``, ``logit`` and ``poisson``.  n counts observations (Σ of the
            frequency weights), k coefficients, G clusters.
        aliased : {"nan", "raise"}
            Columns that are linear combinations of earlier ones: fit the rest
            and report theirs as NaN with a warning (as R), or raise
            :class:`RankDeficientError` naming them.
        penalty : {None, "firth"}
            ``"firth"``: Firth's bias-reduced (Jeffreys-penalized) likelihood for
            Bernoulli and binomial models, finite under separation; standard
            errors from the information at the estimate, ``conf_int(method=
            "profile")`` from the penalized likelihood (as R's ``logistf``);
            ``cov_type`` must then be ``"nonrobust"``.
        information : {"expected", "observed"}
            The information matrix behind the standard errors (and the bread of
            a sandwich).  R's ``glm`` reports the expected (Fisher) information;
            under a canonical link the two are the same.  The summary states
            which was used.
        scale : {None, "X2", "dev"} or float
            Quasi-likelihood for overdispersed Bernoulli, binomial, categorical or
            Poisson data (R's quasibinomial, quasipoisson): the same estimates,
            standard errors times √φ with φ = Pearson χ² / df_resid ("X2") or
            deviance / df_resid ("dev"), tested with t on df_resid; or φ given
            (z tests).  The likelihood-based statistics are then NaN.
        **options
            Solver options: gd ``learning_rate``; sgd ``epochs``, ``batch_size``,
            ``learning_rate``, ``averaging``, ``random_state``; lbfgs ``memory``.
            Every solver: ``progress`` (True, ``"bar"``, ``"log"`` or a function
            called per iteration; quiet by default), see
            :mod:`expfam.backend.progress`.

        Returns
        -------
        GLMResults
            Standard errors come from the observed information at the
            estimate, whichever solver ran; ``res.method``, ``res.converged``
            and ``res.history`` say which solver ran and how it went.

        Warns
        -----
        ConvergenceWarning
            If the fit stops before converging; the message says why.
        """
        if method == "auto":
            method = "irls" if penalty is not None else choose_method(self.exog, self.family)
        check_penalty(penalty, information)
        check_scale(self.family, scale)
        base = getattr(self.family, "base", self.family)
        if isinstance(base, NegativeBinomial) and not base.theta_known:
            if scale is not None:
                raise InputError("scale= does not apply to a negative binomial fit that "
                                 "estimates θ: θ already models the overdispersion")
            if penalty is not None:
                raise InputError("penalty= applies to Bernoulli and binomial models")
            return fit_negative_binomial(
                self, dict(method=method, start_params=start_params, tol=tol,
                           max_iter=max_iter, cov_type=cov_type, groups=groups,
                           aliased=aliased, information=information,
                           small_sample=small_sample, **options))
        method = check_method(self, method, penalty, cov_type)
        solver = get_solver(method)
        options = solver_options(method, tol, max_iter, aliased, options)
        check_covariance(self, cov_type, groups)
        with self._rows_named():
            check_magnitudes(self)
            check_response_scale(self)
        problem = self.problem()
        if penalty is None:  # Firth's estimates are finite even then
            check_response_varies(self, problem)
        start = start_values(start_params, problem)
        try:
            with preferred_block_rows(getattr(problem.exog, "preferred_block_rows", None)):
                record, found, levels = solve_separating_levels(
                    solver, problem, start, self.exog_names, aliased, options)
        except NumericalError as err:
            with self._rows_named():
                check_exog_finite(self.exog, self.exog_names)
            if not self.family.canonical:
                raise  # the solver's message says which mean left the range
            raise NumericalError(f"{err}. {scale_hint(self.exog, self.exog_names)}") from None
        except RankDeficientError:
            raise_if_separated(self, problem)
            raise
        if information == "observed" and not self.family.canonical:
            record = dataclasses.replace(record, hessian=observed_information(
                problem, record.eta, default_backend()))
        results = GLMResults(self, problem, record, method=method.lower(), cov_type=cov_type,
                             groups=groups, aliased=found if levels is None else {
                                 **found, **{self.exog_names[j]: [] for j in levels.columns}},
                             information=information, small_sample=small_sample,
                             scale=scale)
        report_separated(results, levels, self.exog_names)
        if found:
            warnings.warn(f"the design is rank deficient: {describe_aliasing(found)}. Their "
                          "coefficients are not estimable and are reported as NaN (as R's "
                          "NA); the others are fitted. Drop those columns, or pass "
                          "aliased='raise'.", DataWarning, stacklevel=user_stacklevel())
        diagnose(self, problem, results)
        return results

    def __repr__(self) -> str:
        return (f"GLM({self.family.name}, link={self.family.link_name!r}, nobs={self.nobs:g}, "
                f"exog={self.exog_names})")


def _check_frequency_weights(weights: FloatArray, n_columns: int) -> None:
    """Weights are frequency weights: a weight of k is the row appearing k times,
    so they add up to the number of observations.  Weights normalized to sum to
    one (probability or analytic weights) do not mean that: refuse them when
    they leave fewer observations than coefficients, and warn when they make
    rows count for less than one observation each."""
    total = float(np.sum(weights))
    meaning = ("weights are frequency weights: a weight of k means the row appears k "
               "times, so the weights add up to the number of observations")
    used = int(np.count_nonzero(weights))
    # The rank is at most min(coefficients, rows used): fewer observations than that
    # would leave negative residual degrees of freedom, which no replication of
    # rows can produce.
    if total < min(n_columns, used):
        raise InputError(
            f"the weights add up to {total:.4g}, fewer observations than the "
            f"{min(n_columns, used)} coefficients they would have to determine; {meaning}. "
            "If they are normalized (summing to 1), scale them to counts, e.g. "
            "weights * n_rows / weights.sum()")
    if total < used:
        warnings.warn(
            f"the weights add up to {total:.4g} over {used} rows with positive weight, so "
            f"rows count for less than one observation each; {meaning}, and standard "
            "errors, tests and degrees of freedom are computed for that many observations",
            DataWarning, stacklevel=user_stacklevel())


def _log_exposure(exposure: ArrayLike, offset: ArrayLike | None, n: int) -> FloatArray:
    """log(exposure) + offset, with the exposure checked to be positive."""
    values = as_rows(exposure, "exposure", n, positive=True)
    assert values is not None
    base = as_rows(offset, "offset", n)
    return np.log(values) if base is None else np.log(values) + base


#: ``method="auto"`` uses Newton while the Hessian outside a factor's diagonal
#: block has at most this many columns.
AUTO_NEWTON_COLUMNS = 1000


def choose_method(exog: Any, family: ExponentialFamily) -> str:
    """The solver ``fit(method="auto")`` runs on this design (see :meth:`GLM.fit`)."""
    if not family.canonical:  # Fisher scoring keeps the mean valid; a line search may not
        return "irls"
    if not isinstance(exog, StructuredDesign) or not exog.has_sparse:
        return "irls"
    return "irls" if exog.dense_hessian_width <= AUTO_NEWTON_COLUMNS else "lbfgs"


#: The model class for Dask inputs, registered by ``expfam.models.dask_glm`` when
#: it is imported (which ``import expfam`` does, without importing Dask).
DASK_MODELS: dict[str, Any] = {}


def _dask_model() -> Any:
    if "glm" not in DASK_MODELS:
        raise InputError("Dask inputs need expfam.models.dask_glm: pip install "
                         "'expfam[dask]'")
    return DASK_MODELS["glm"]


def _is_dask(obj: Any) -> bool:
    """A Dask collection, recognised without importing Dask (issue 13's hook)."""
    return type(obj).__module__.split(".")[0] in ("dask", "dask_expr")


def _name_of(values: Any, default: str) -> str:
    name = getattr(values, "name", None)
    return str(name) if name is not None else default


def glm(formula: str, data: pd.DataFrame, family: str | ExponentialFamily = "bernoulli",
        **kwargs: Any) -> GLM:
    """A GLM from a formula: the same as :meth:`GLM.from_formula`."""
    return GLM.from_formula(formula, data, family=family, **kwargs)


def logit(formula: str, data: pd.DataFrame, **kwargs: Any) -> GLM:
    """Logistic regression from a formula: a Bernoulli :func:`glm`."""
    return GLM.from_formula(formula, data, family="bernoulli", **kwargs)
