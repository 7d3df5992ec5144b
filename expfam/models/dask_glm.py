"""GLMs on Dask arrays and DataFrames: each partition is a block of rows.

``ef.GLM(y, X)`` with Dask arrays, and ``ef.glm`` / ``ef.logit`` /
``ef.mnlogit`` with a Dask DataFrame, build a :class:`DaskGLM`.  Its fit runs
on whatever scheduler Dask is set to use (a ``distributed`` client, or the
threads scheduler), in few passes over the data:

1. counts, totals, column ranges and a random sample of rows (plus, for a
   formula with factors, one pass for their levels when the model is built);
2. Newton steps from the sample's fit, one pass each (loss, gradient and
   Hessian together), and a float64 pass at the estimate;
3. one pass at the estimate for the log-likelihood, deviance, Pearson
   statistic, the null model's, and a robust covariance's meat.

Data that fit in the cluster's memory are persisted before the first pass
(``persist="auto"``); otherwise every pass re-reads the source (Parquet).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import numbers
import warnings
from typing import Any, cast

import numpy as np

from expfam.backend.dask_backend import DaskBackend, cluster_memory
from expfam.backend.progress import reporter
from expfam.design.arrays import default_names
from expfam.design.dask_frame import (
    array_classes,
    array_parts,
    formula_levels,
    formula_parts,
    is_dask,
    with_dropped,
)
from expfam.design.dask_offsets import lazy_log_exposure
from expfam.design.response import Classes, _classes
from expfam.design.stacking import stack_rows
from expfam.engine.dask_passes import log_y_part, observed_part, with_family
from expfam.engine.dask_problem import (
    NonFinite,
    PartStats,
    nonfinite_part,
    null_part,
    statistics_part,
    stats_part,
    to_part,
)
from expfam.engine.problem import GLMProblem
from expfam.engine.solvers.dask_newton import DaskFit, dask_newton
from expfam.errors import (
    ConvergenceWarning,
    InputError,
    NumericalError,
    SeparationWarning,
    user_stacklevel,
)
from expfam.families import (
    Bernoulli,
    Categorical,
    ExponentialFamily,
    NegativeBinomial,
    Poisson,
    get_family,
    with_link,
)
from expfam.inference.dask_results import DaskGLMResults, DaskNegativeBinomialResults
from expfam.inference.dask_robust_arrow import robust_plan
from expfam.inference.dispersion import check_scale
from expfam.inference.robust import COV_TYPES, SMALL_SAMPLE
from expfam.models.dask_negative_binomial import alternate_theta, theta_se
from expfam.models.dask_solvers import dask_method, other_solver
from expfam.models.glm import DASK_MODELS, GLM

__all__ = ["DaskGLM"]

#: Rows of the starting sample, drawn across the partitions (as in memory).
SAMPLE_ROWS = 50_000
#: From this many rows, steps far from the optimum use float32 Hessians (as in
#: memory, where the same size switches on the warm start).
SINGLE_ROWS = 200_000
#: Persist the data when they take at most this share of the cluster's memory.
PERSIST_SHARE = 0.5


class DaskGLM(GLM):
    """A :class:`~expfam.GLM` whose rows are Dask partitions (see the module notes).

    Built by ``ef.GLM`` when given Dask collections, and by the formula
    functions when given a Dask DataFrame; the parameters are ``GLM``'s.
    """

    def __init__(self, endog: Any, exog: Any, family: str | ExponentialFamily = "bernoulli",
                 weights: Any = None, offset: Any = None, trials: Any = None,
                 reference: Any = None, missing: str = "raise", link: Any = None,
                 exposure: Any = None) -> None:
        self.family = _dask_family(family, link, exposure)
        if missing not in ("raise", "drop"):
            raise InputError(f"missing must be 'raise' or 'drop', got {missing!r}")
        if exposure is not None:  # offset log(exposure), evaluated per partition
            offset = lazy_log_exposure(exposure, offset)
        self._inputs = {"endog": endog, "exog": exog, "weights": weights, "offset": offset,
                        "trials": trials}
        self._missing = missing
        self._reference = reference
        self._formula_args: dict[str, Any] | None = None
        #: Passes made when the model was built (the classes of a labelled response).
        self._built_passes: list[str] = []
        self.endog_name = str(getattr(endog, "name", None) or "y")
        self.formula = None
        self.n_dropped = 0
        self.row_index = None
        self.weights, self.offset, self.trials = weights, offset, trials
        self.classes: Classes | None = None
        self._constant: list[int] = []
        self._nobs = float("nan")
        columns = getattr(exog, "columns", None)
        self._names_given = columns is not None
        self._p = len(columns) if columns is not None else int(exog.shape[1])
        self.exog_names = ([str(c) for c in columns] if columns is not None
                           else default_names(self._p, []))
        if isinstance(self.family, Categorical):
            self.classes = array_classes(endog, reference)
            dtype: Any = getattr(endog, "dtype", None)
            if not (hasattr(dtype, "categories") and "__UNKNOWN_CATEGORIES__" not in list(
                    dtype.categories)):
                self._built_passes = ["classes of the response"]
            self.family = Categorical(n_classes=len(self.classes.labels))

    @classmethod
    def from_formula(cls, formula: str, data: Any,
                     family: str | ExponentialFamily = "bernoulli", weights: Any = None,
                     offset: Any = None, trials: Any = None, missing: str = "drop",
                     reference: Any = None, link: Any = None,
                     exposure: Any = None, sparse_threshold: Any = None) -> DaskGLM:
        """A GLM from a formula and a Dask DataFrame; per-row arguments are column names.

        ``sparse_threshold`` is accepted for the in-memory signature and has no
        effect: each partition's design is built as a dense block."""
        fam = _dask_family(family, link, exposure)
        extras = {"weights": weights, "offset": offset, "trials": trials,
                  "exposure": exposure}  # exposure: an offset() term (see dask_offsets)
        for name, value in extras.items():
            if value is not None and not isinstance(value, str):
                raise InputError(f"{name}= on a Dask DataFrame must be a column name, got "
                                 f"{type(value).__name__}")
        if missing not in ("raise", "drop"):
            raise InputError(f"missing must be 'raise' or 'drop', got {missing!r}")
        labelled = ("classes" if isinstance(fam, Categorical) else
                    "binary" if isinstance(fam, Bernoulli) else "refuse")
        terms, needed, passes = formula_levels(formula, data, extras, labelled)
        # predict() re-reads a column offset from the new rows, as in memory.
        terms = dataclasses.replace(terms, offset_column=offset)
        model = cls.__new__(cls)
        model.family = fam
        model._missing, model._reference = missing, reference
        model._inputs = {}
        model._formula_args = {"data": data, "terms": terms, "needed": needed,
                               "extras": extras, "labelled": labelled}
        model._built_passes = ["levels of the factors"] * passes
        model.formula = terms
        model.endog_name = terms.response.name
        model.n_dropped = 0
        model.row_index = None
        model.weights, model.offset, model.trials = weights, offset, trials
        model.exog_names = [str(c) for c in terms.spec.column_names]
        model._p = len(model.exog_names)
        model._names_given = True
        model._constant = [0] if terms.has_intercept else []
        model._nobs = float("nan")
        model.classes = None
        if isinstance(fam, Categorical):
            levels = terms.response.levels
            assert levels is not None
            model.classes = _classes(tuple(levels), reference)
            model.family = Categorical(n_classes=len(levels))
        return model

    @property
    def nobs(self) -> float:
        """Observations (Σ frequency weights), known after the first pass of a fit."""
        return self._nobs

    def problem(self) -> GLMProblem:
        raise InputError("a Dask model has no in-memory problem: its rows stay on the workers")

    def _raw_parts(self, groups: Any) -> list[Any]:
        if self._formula_args is not None:
            args = self._formula_args
            extras = dict(args["extras"])
            if groups is not None:
                if not isinstance(groups, str):
                    raise InputError("groups= for a formula on a Dask DataFrame must be a "
                                     "column name")
                extras["groups"] = groups
            return formula_parts(args["data"], args["terms"], args["needed"], extras,
                                 self._missing, args["labelled"])
        if groups is not None and not is_dask(groups):
            raise InputError("groups= for Dask data must be a Dask array or Series "
                             "partitioned like exog")
        parts, _, _ = array_parts(groups=groups, missing=self._missing, **self._inputs)
        return parts

    def fit(self, method: str = "irls", *, start_params: Any = None,
            tol: float | None = None, max_iter: int | None = None,
            cov_type: str = "nonrobust", groups: Any = None, small_sample: str = "regress",
            aliased: str = "raise", penalty: str | None = None,
            information: str = "expected", scale: str | float | None = None,
            persist: Any = "auto", **options: Any) -> DaskGLMResults:
        """Fit over the partitions (see the module notes).

        Parameters are :meth:`GLM.fit`'s, with these differences: ``method`` is
        ``"irls"``/``"newton"``/``"auto"`` (Newton's method; Fisher scoring under
        a non-canonical link, as in memory), ``"lbfgs"`` or ``"gd"`` (a pass per
        evaluation: see :mod:`expfam.engine.solvers.dask_gradient`); ``penalty=
        "firth"`` takes two passes per iteration (:mod:`expfam.engine.solvers.
        dask_firth`); ``groups`` is a column name (formula models) or a Dask
        array/Series partitioned like the data; aliased columns raise
        :class:`RankDeficientError` naming them; ``information="observed"``
        costs one more pass at the estimate; and

        persist : {"auto", True, False}
            Keep the built partitions in the workers' memory (``"auto"``: when
            they take at most half of it), or re-read the source every pass.
        progress : bool, str or callable
            One report per pass over the data: what it computed and how long it
            took (see :mod:`expfam.backend.progress`).
        """
        from dask import delayed

        progress = options.pop("progress", False)
        _check_options(cov_type, small_sample, groups, aliased, information)
        estimate_theta = _estimates_theta(self.family)
        solver = dask_method(method, penalty, options, self.family, cov_type, estimate_theta)
        if scale is not None and estimate_theta:
            raise InputError("scale= does not apply to a negative binomial fit that "
                             "estimates θ: θ already models the overdispersion")
        check_scale(self.family, scale)
        given_tol = None if tol is None else _positive(tol, "tol")
        given_iter = None if max_iter is None else _iterations(max_iter)
        tol = 1e-8 if given_tol is None else given_tol
        max_iter = 100 if given_iter is None else given_iter
        shape: tuple[int, ...] = ((self._p,) if self.classes is None
                                  else (self._p, len(self.classes.others)))
        # θ unknown: the partitions carry the Poisson with the same link (the
        # alternation's first fit); each refit swaps in the negative binomial at θ.
        built = (with_link(Poisson(), self.family.link_name) if estimate_theta
                 else self.family)
        parts = [delayed(to_part, pure=True)(raw, built, self.classes, self._p)
                 for raw in self._raw_parts(groups if cov_type == "cluster" else None)]
        backend = DaskBackend(parts)
        backend.progress = reporter(progress, "dask")  # one update per pass
        # Passes made when the model was built (factor levels, response classes).
        backend.passes.extend(self._built_passes)
        backend.seconds.extend([float("nan")] * len(self._built_passes))
        backend.n_passes += len(self._built_passes)
        exog = self._inputs.get("exog")
        # Known up front for a Dask array; for DataFrames, from the first pass's rows.
        nbytes = None if exog is None or hasattr(exog, "divisions") else exog.nbytes
        if persist is True or (persist == "auto" and nbytes is not None
                               and 1.5 * nbytes < PERSIST_SHARE * cluster_memory()):
            backend.persist()
        cap = math.ceil(SAMPLE_ROWS / len(parts))
        stats: PartStats = backend.map_sum(stats_part, cap, what="counts, totals, a sample")
        self._after_first_pass(stats)
        if persist == "auto" and not backend.persisted and nbytes is None and (
                8.0 * sum(stats.rows.values()) * (self._stored_columns() + 4) < (
                    PERSIST_SHARE * cluster_memory())):
            backend.persist()
        if self.classes is not None:
            self.family = Categorical(n_classes=len(self.classes.labels))
        start = None
        if start_params is not None:
            start = np.asarray(start_params, dtype=np.float64)
            if start.size != math.prod(shape):
                raise InputError(f"start_params has {start.size} values; the model has "
                                 f"{math.prod(shape)} coefficients")
        sample = _sample(stats, math.prod(shape))

        def own_parts(family: ExponentialFamily) -> list[Any]:
            """The partitions under ``family`` (a lazy swap of the built ones')."""
            if family is built:
                return backend.parts
            return [delayed(with_family, pure=True)(p, family) for p in backend.parts]

        def solve(family: ExponentialFamily, begin: Any, saturated: float,
                  null: Any = None) -> DaskFit:
            """The GLM at ``family`` over the partitions; given the null model's
            coefficients, its last pass also sums the statistics."""
            own = own_parts(family)
            level = None if self.classes is not None else float(np.ravel(
                family.natural_from_mean(stats.weighted_target / stats.total_weight))[0])
            try:
                if solver != "irls":
                    return other_solver(solver, backend, family, shape, stats, own,
                                        begin=begin, tol=given_tol, max_iter=given_iter,
                                        null=null, names=self.exog_names, options=options)
                return dask_newton(
                    backend, shape, saturated=saturated, total=stats.total_weight,
                    sample=None if sample is None or begin is not None else (
                        dataclasses.replace(sample, family=family)),
                    tol=tol, max_iter=max_iter, names=self.exog_names, start=begin,
                    single=sum(stats.rows.values()) >= SINGLE_ROWS, null_coef=null,
                    parts=None if own is backend.parts else own, family=family,
                    level=level)
            except NumericalError:
                # As in memory, X is scanned only now that the sums came out non-finite.
                self._raise_nonfinite(backend)
                raise

        theta, model = None, self
        if estimate_theta:
            theta = alternate_theta(backend, self.family.link_name, solve,
                                    stats.saturated_loss, start)
            # As in memory, the results' model is the GLM at θ̂ (this one keeps θ unknown).
            model = copy.copy(self)
            model.family = with_link(NegativeBinomial(theta.theta), self.family.link_name)
            start = np.asarray(theta.coef, dtype=np.float64)
        family = model.family
        own = own_parts(family)
        # The null model first (a closed form, or a fit of its own when there is
        # an offset), so that the fit's last pass also computes the statistics.
        null = self._null_coef(backend, stats, shape, tol, family, own)
        fit = solve(family, start,
                    stats.saturated_loss if theta is None else theta.saturated, null)
        record = fit.solver
        if information == "observed" and not family.canonical:
            observed = backend.map_sum(observed_part, record.coef, what="observed information",
                                       parts=own)
            record = dataclasses.replace(record, hessian=observed)  # each part's symmetric
        # A sandwich's meat is summed in the statistics pass: by the pieces of the
        # arrow (a factor with many levels: never p × p), else as a k × k matrix.
        plan = None if cov_type == "nonrobust" else robust_plan(
            record.hessian, cov_type, self.classes is not None, list(self.exog_names),
            record.n_boundary > 0)
        if plan is not None and plan.factor is not None:  # the results reuse it
            record = dataclasses.replace(record, factor=(record.hessian, plan.factor))
        meat = None if plan is None else plan.meat
        statistics = fit.statistics
        if statistics is None or meat is not None:
            statistics = backend.map_sum(statistics_part, record.coef, null, meat,
                                         what="likelihood, deviance and residual sums",
                                         parts=own)
        log_y = None
        if family.estimated_dispersion and family.name != "gaussian":
            log_y = backend.map_sum(log_y_part, what="Σ log y (the likelihood's constant)")
        robust, sandwich = (None, None) if plan is None else plan.finish(
            statistics.extra, stats.positive_frequency, math.prod(shape), small_sample)
        empty = GLMProblem(np.zeros((0, self._p)), np.zeros((0, *shape[1:])), np.zeros(0),
                           None, family)
        rows = [stats.rows[i] for i in range(len(parts))]
        res = DaskGLMResults(model, empty, record, statistics=statistics, parts=own,
                             rows=rows, passes=backend.passes, seconds=backend.seconds,
                             robust=robust, sandwich=sandwich, cov_type=cov_type,
                             small_sample=small_sample,
                             information=information, log_y=log_y, scale=scale)
        if theta is not None:
            se = theta_se(backend, record.coef, theta.theta)
            res = cast(DaskNegativeBinomialResults, DaskNegativeBinomialResults.extend(
                res, theta.theta, se, theta.poisson_llf, theta.iterations))
            res.passes, res.n_passes = list(backend.passes), backend.n_passes
        if record.n_boundary and record.penalized_loss is None:  # Firth's are finite
            warnings.warn(f"{record.n_boundary} row(s) have fitted values numerically on the "
                          "boundary (probabilities of 0 or 1, or means of 0): the outcomes "
                          "may be separated, and estimates and standard errors unreliable",
                          SeparationWarning, stacklevel=user_stacklevel())
        if not record.converged:
            warnings.warn(f"the fit did not converge: {record.message}", ConvergenceWarning,
                          stacklevel=user_stacklevel())
        backend.progress.close()
        return res

    def _after_first_pass(self, stats: PartStats) -> None:
        """Counts, names and checks from the first pass."""
        self.n_dropped = stats.n_dropped
        if self.formula is not None:
            self.formula = with_dropped(self.formula, stats.n_dropped)
        self._nobs = stats.frequency
        if not sum(stats.rows.values()):
            raise InputError("no rows: every partition is empty")
        if stats.total_weight <= 0:
            raise InputError("every weight is zero: there is nothing to fit")
        if self._formula_args is None:
            constant = [int(j) for j in np.flatnonzero(np.isfinite(stats.constant)
                                                       & (stats.constant != 0))]
            self._constant = constant
            if not self._names_given:
                self.exog_names = default_names(self._p, constant)

    def _stored_columns(self) -> int:
        """Numbers a partition stores per row for its design: a formula's factor is
        one code (and a multiplier) per row, not a column per level."""
        plan = None if self.formula is None else self.formula.plan
        if plan is None:
            return self._p
        return sum(t.width if not t.categorical else 1 + bool(t.numeric) for t in plan.terms)

    def _raise_nonfinite(self, backend: DaskBackend) -> None:
        """Name the partitions and columns holding NaN or inf, if any (one pass)."""
        found: NonFinite = backend.map_sum(nonfinite_part, what="NaN or inf in X")
        if found.columns:
            where = "; ".join(
                f"partition {i}: {', '.join(repr(self.exog_names[j]) for j in cols)}"
                for i, cols in sorted(found.columns.items()))
            raise InputError(f"exog is NaN or infinite in column(s) ({where}); drop those "
                             "rows or fill the values")

    def _null_coef(self, backend: DaskBackend, stats: PartStats, shape: tuple[int, ...],
                   tol: float, family: ExponentialFamily, parts: list[Any]) -> np.ndarray:
        """The null model's coefficient: intercept only, or none (R's definition)."""
        m = shape[1:]
        if not self.k_constant:
            return np.zeros(m)
        has_offset = self.offset is not None or bool(
            self.formula is not None and self.formula.offset_terms)
        if not has_offset:
            mean = stats.weighted_target / stats.total_weight
            return np.asarray(family.natural_from_mean(mean), dtype=np.float64)
        from dask import delayed

        ones = [delayed(null_part, pure=True)(p) for p in parts]
        # The saturated loss only scales the stopping rule here: the null model's
        # deviance is summed from its own rows at the estimate.
        level = None if m else float(np.ravel(family.natural_from_mean(
            stats.weighted_target / stats.total_weight))[0])
        fit = dask_newton(backend, (1, *m), saturated=stats.saturated_loss,
                          total=stats.total_weight, sample=None, tol=tol, parts=ones,
                          family=family, level=level)
        return np.asarray(fit.solver.coef, dtype=np.float64).reshape(m)

    def __repr__(self) -> str:
        return f"DaskGLM({self.family.name}, exog={self.exog_names})"


def _sample(stats: PartStats, k: int) -> GLMProblem | None:
    """Rows for the starting fit: about ``SAMPLE_ROWS`` (at most 1/20 of the rows),
    from each partition in proportion to its rows; None when too few."""
    n = sum(stats.rows.values())
    size = min(SAMPLE_ROWS, n // 20)
    if size < max(1000, 50 * k) or not stats.sample:
        return None
    pieces = []
    for index, piece in sorted(stats.sample.items()):
        share = max(1, round(size * stats.rows[index] / n))
        pieces.append(piece.take(np.arange(min(share, piece.n_obs))))
    offset = None if pieces[0].offset is None else np.concatenate([p.offset for p in pieces])
    return GLMProblem(stack_rows([p.exog for p in pieces]),
                      np.concatenate([p.target for p in pieces]),
                      np.concatenate([p.weights for p in pieces]), offset, pieces[0].family)


def _iterations(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"max_iter must be a positive integer, got {value!r}")
    return int(value)


def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            math.isfinite(float(value)) and float(value) > 0):
        raise InputError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _check_options(cov_type: str, small_sample: str, groups: Any, aliased: str,
                   information: str) -> None:
    """What a Dask fit supports (the solver and its options: see
    :func:`~expfam.models.dask_solvers.dask_method`)."""
    if cov_type not in COV_TYPES:
        raise InputError(f"cov_type must be one of {', '.join(COV_TYPES)}; got {cov_type!r}")
    if small_sample not in SMALL_SAMPLE:
        raise InputError(f"small_sample must be one of {', '.join(SMALL_SAMPLE)}; got "
                         f"{small_sample!r}")
    if cov_type == "cluster" and groups is None:
        raise InputError("cov_type='cluster' needs groups=")
    if cov_type != "cluster" and groups is not None:
        raise InputError(f"groups= applies to cov_type='cluster', not {cov_type!r}")
    if aliased not in ("nan", "raise"):
        raise InputError(f"aliased must be 'nan' or 'raise', got {aliased!r}")
    if information not in ("expected", "observed"):
        raise InputError(f"information must be 'expected' or 'observed', got {information!r}")


DASK_MODELS["glm"] = DaskGLM


def _dask_family(family: str | ExponentialFamily, link: Any, exposure: Any) -> ExponentialFamily:
    """The family for a Dask fit: every family and link of the in-memory GLM (the
    kernels take a non-canonical link's score and Fisher weights from the family)."""
    fam = get_family(family, link)
    return fam


def _estimates_theta(family: ExponentialFamily) -> bool:
    """Whether the family is the negative binomial with θ to be estimated."""
    base = getattr(family, "base", family)
    return isinstance(base, NegativeBinomial) and not base.theta_known
