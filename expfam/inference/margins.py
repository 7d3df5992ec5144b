"""Marginal effects of a fitted GLM, with delta-method standard errors.

For a numeric variable v the effect is dμ/dv; for a factor, the discrete change
μ(level) − μ(reference level) of each other level.  Effects are formula-aware:
the design is rebuilt from the data with v moved (by the formula's stored
transforms), so a change in ``x`` moves ``I(x**2)``, ``np.log(x)`` and every
interaction containing ``x`` together; the derivative of the design in v is a
central difference, exact for polynomial terms up to rounding.

``at="overall"`` averages the effects over the fitted rows (frequency-weighted;
statsmodels' default and the usual "average marginal effect"); ``at="mean"``
evaluates them at one typical row — each numeric variable at its mean, each
factor at its most common level (statsmodels' ``at="mean"`` when the numeric
terms enter linearly); a dict fixes some variables at given values and the
rest as ``"mean"``.  Standard errors come from the delta method with the
fit's covariance (robust if ``cov_type`` is).  A categorical model gets one
effect per class (all K, summing to zero).

Only linear operations touch a design (see :mod:`expfam.inference.margins_linear`):
η = Xβ, and for the Jacobian of an average effect in β the averages Xᵀv —
exact, by the chain rule.  A formula with factors builds each moved copy of the
data as a :class:`~expfam.design.matrix.StructuredDesign` (factor codes), and
the difference of two designs (a level against the reference, x + h against
x − h) is taken of these products, never of the matrices: a factor of many
levels is never written out as dummy columns.  The variances diag(J Cov Jᵀ)
come from the fit's factorization (:mod:`expfam.inference.cov_forms`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from expfam._typing import FloatArray
from expfam.errors import InputError
from expfam.inference.cov_forms import coefficient_variances
from expfam.inference.margins_linear import Design, Linear, Point
from expfam.inference.prediction import fitted_rows

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["marginal_effects"]

#: Relative step of the central differences in the data.
STEP = 1e-6


def _variables(res: GLMResults) -> tuple[pd.DataFrame, dict[str, list[Any]],
                                         Callable[[pd.DataFrame], Design]]:
    """The fitted rows' variables, the factors with their levels, and a function
    from such a frame to its design (factor codes for a formula with factors)."""
    model = res.model
    if model.formula is None or model.data is None:
        names = [n for j, n in enumerate(model.exog_names) if j not in model._constant]
        exog = fitted_rows(res).dense
        frame = pd.DataFrame(exog, columns=model.exog_names)[names]
        constant = list(model._constant)

        def array_design(rows: pd.DataFrame) -> FloatArray:
            out = np.ones((len(rows), len(model.exog_names)))
            for j, name in enumerate(model.exog_names):
                if j not in constant:
                    out[:, j] = rows[name].to_numpy(dtype=np.float64)
            return out

        return frame, {}, array_design
    terms = model.formula
    frame = model.data.reset_index(drop=True)
    factors = dict(terms.levels)
    factors.update(terms._coded_levels())
    for column in frame.columns:
        if pd.api.types.is_bool_dtype(frame[column].dtype) and column not in factors:
            factors[column] = [False, True]

    def formula_design(rows: pd.DataFrame) -> Design:
        if terms.plan is not None:  # factors as codes, as when fitting
            return terms.structured_design(rows)[0]
        design, _ = terms.design(rows)
        return design.to_numpy(dtype=np.float64)

    return frame, factors, formula_design


def _typical(frame: pd.DataFrame, factors: dict[str, list[Any]], weights: FloatArray,
             given: dict[str, Any]) -> pd.DataFrame:
    """One row: numeric variables at their (weighted) means, factors at their most
    common level, and the ``given`` values."""
    unknown = [k for k in given if k not in frame.columns]
    if unknown:
        raise InputError(f"at= names {', '.join(map(repr, unknown))}, which "
                         f"{'is' if len(unknown) == 1 else 'are'} not a variable of the "
                         f"model; variables are: {', '.join(map(str, frame.columns))}")
    row: dict[str, Any] = {}
    for column in frame.columns:
        if column in given:
            row[column] = given[column]
        elif column in factors:
            counts = pd.Series(weights).groupby(frame[column].to_numpy()).sum()
            row[column] = counts.idxmax()
        else:
            values = frame[column].to_numpy(dtype=np.float64)
            row[column] = float(np.average(values, weights=weights))
    out = pd.DataFrame([row])
    for column in factors:
        if column in out and isinstance(frame[column].dtype, pd.CategoricalDtype):
            out[column] = pd.Categorical(out[column], categories=frame[column].cat.categories)
    return out


def _effects(rows: pd.DataFrame, factors: dict[str, list[Any]],
             design: Callable[[pd.DataFrame], Design], wanted: list[str],
             linear: Linear) -> tuple[list[str], list[FloatArray], list[FloatArray]]:
    """Labels, average effects and their Jacobian rows in the flat coefficients.

    Each design is built, used for one product or two, and dropped: a factor's
    reference design once per factor, the evaluation rows' once in all.
    """
    labels: list[str] = []
    values: list[FloatArray] = []
    jacobian: list[FloatArray] = []
    point: Point | None = None
    for name in wanted:
        if name in factors:
            levels = factors[name]
            ref_value, ref_grad = linear.level(design(_moved(rows, name, levels[0])))
            for level in levels[1:]:
                value, grad = linear.level(design(_moved(rows, name, level)))
                labels.append(f"{name}[{level}]")
                values.append(value - ref_value)
                jacobian.append(linear.flat(grad - ref_grad))
            continue
        if point is None:
            point = linear.point(design(rows))
        x = rows[name].to_numpy(dtype=np.float64)
        h = STEP * np.maximum(1.0, np.abs(x))
        value, grad = linear.slope(point, design(_moved(rows, name, x + h)),
                                   design(_moved(rows, name, x - h)), 2.0 * h)
        labels.append(name)
        values.append(value)
        jacobian.append(linear.flat(grad))
    return labels, values, jacobian


def _moved(rows: pd.DataFrame, name: str, value: Any) -> pd.DataFrame:
    """``rows`` with the variable ``name`` set to ``value`` (a level, or numbers)."""
    out = rows.copy()
    out[name] = value if isinstance(value, np.ndarray) else _as_column(rows, name, value)
    return out


def _as_column(rows: pd.DataFrame, name: str, level: Any) -> Any:
    column = rows[name]
    if isinstance(column.dtype, pd.CategoricalDtype):
        # From codes: building it from n copies of a string label costs more than
        # the design itself.
        code = column.cat.categories.get_loc(level)
        return pd.Categorical.from_codes(np.full(len(rows), code), dtype=column.dtype)
    return [level] * len(rows)


def marginal_effects(res: GLMResults, at: Any = "overall", terms: Any = None,
                     alpha: float = 0.05) -> pd.DataFrame:
    """Marginal effects with delta-method standard errors.

    Parameters
    ----------
    res : GLMResults
    at : {"overall", "mean"} or dict
        Average over the fitted rows, at a typical row, or at a row with the
        given variables fixed (``{"hp": 150}``), the rest as ``"mean"``.
    terms : str or list of str, optional
        Variables (data columns of the formula, or the columns of an array
        model) whose effects to report; default all.
    alpha : float
        Level of the intervals.

    Returns
    -------
    DataFrame
        Index: variable (``name[level]`` for a factor's change from its reference
        level), or (class, variable) for a categorical model.  Columns ``dy/dx``,
        ``std_err``, ``z`` (``t`` with an estimated dispersion), ``p_value``,
        ``ci_lower``, ``ci_upper``.
    """
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, got {alpha}")
    frame, factors, design = _variables(res)
    available = list(frame.columns)
    wanted = available if terms is None else [terms] if isinstance(terms, str) else list(terms)
    unknown = [t for t in wanted if t not in available]
    if unknown:
        raise InputError(f"{', '.join(map(repr, unknown))} "
                         f"{'is' if len(unknown) == 1 else 'are'} not a variable of the "
                         f"model; variables are: {', '.join(map(str, available))}")
    n = len(frame)
    w = np.ones(n) if res.model.weights is None else np.asarray(res.model.weights, float)
    offset = res.model.offset
    if isinstance(at, str) and at == "overall":
        rows, weights = frame, w / w.sum()
    elif (isinstance(at, str) and at == "mean") or isinstance(at, dict):
        rows = _typical(frame, factors, w, {} if isinstance(at, str) else at)
        weights = np.ones(1)
        if offset is not None:
            offset = np.average(np.asarray(offset), axis=0, weights=w)[None, ...]
    else:
        raise InputError(f"at must be 'overall', 'mean' or a dict of values; got {at!r}")
    coef = res._problem.unflat(np.where(res._kept, res._problem.flat(res.solver.coef), 0.0))
    linear = Linear(res, coef, offset, weights)
    labels, values, jacobian = _effects(rows, factors, design, wanted, linear)
    estimate = np.concatenate([np.atleast_1d(v) for v in values])
    jac = np.vstack(jacobian)
    se = np.sqrt(np.clip(coefficient_variances(res, jac), 0.0, None))
    return _table(res, labels, estimate, se, alpha)


def _table(res: GLMResults, labels: list[str], estimate: FloatArray, se: FloatArray,
           alpha: float) -> pd.DataFrame:
    reference = res._reference()
    if res.model.classes is None:
        index: pd.Index = pd.Index(labels, name="term")
    else:
        classes = list(res.model.classes.labels)
        # Evaluated effect-major (for each effect, every class); shown class-major.
        k = len(classes)
        order = np.arange(estimate.size).reshape(len(labels), k).T.ravel()
        estimate, se = estimate[order], se[order]
        index = pd.MultiIndex.from_tuples([(c, lab) for c in classes for lab in labels],
                                          names=["class", "term"])
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = estimate / se
    half = reference.isf(alpha / 2.0) * se
    table = pd.DataFrame({"dy/dx": estimate, "std_err": se,
                          "t" if res.use_t else "z": stat,
                          "p_value": 2.0 * reference.sf(np.abs(stat)),
                          "ci_lower": estimate - half, "ci_upper": estimate + half},
                         index=index)
    return table
