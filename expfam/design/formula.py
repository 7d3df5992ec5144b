"""Formulas on pandas DataFrames: the design matrix from formulaic, and again for new data.

:func:`model_frame` turns ``"y ~ x1 + C(g)"`` and a DataFrame into a response,
a design matrix with term names, and the per-row arguments (weights, offset,
trials), after dropping rows with missing values.  It returns a
:class:`FormulaTerms` that remembers everything learnt from the data — the
column transforms' state (``center(x)`` keeps the training mean), the levels of
every categorical factor, the coding of a labelled response — so that
:meth:`FormulaTerms.design` rebuilds identical columns for new rows.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix
from formulaic.errors import DataMismatchWarning
from formulaic.parser.types import Factor
from formulaic.transforms import TRANSFORMS
from formulaic.utils.variables import get_required_variables
from numpy.typing import ArrayLike

from expfam.design.codes import StructurePlan, plan_structure
from expfam.design.matrix import StructuredDesign
from expfam.design.offsets import evaluate_offsets, parse_offset, split_offsets
from expfam.design.sparse_columns import (
    check_threshold,
    column_gaps,
    sparse_factor_levels,
    with_categories,
    zero_filled,
)
from expfam.errors import (
    DataWarning,
    InputError,
    describe_levels,
    describe_rows,
    label,
    user_stacklevel,
)

__all__ = ["FormulaTerms", "ModelFrame", "Response", "model_frame"]

MISSING = ("drop", "raise")
UNSEEN = ("raise", "nan")
EvalMethod = Factor.EvalMethod
#: Names a formula may call that are not data: formulaic's transforms, and the
#: modules its expressions can reach.
_KNOWN_FUNCTIONS = set(TRANSFORMS) | {"I", "np", "numpy", "pd", "pandas", "math"}
#: ``C(column, …)``: a column (maybe `quoted`) coded as categorical as it stands.
_C_OF_COLUMN = re.compile(r"^C\(\s*`?([^`,()]+?)`?\s*[,)]")


@dataclass(frozen=True)
class Response:
    """How the response column became numbers.

    Attributes
    ----------
    name : str
        The left-hand side of the formula.
    levels : tuple or None
        For a labelled response (strings, categories, booleans), its levels in
        order; the first is the reference, and for a Bernoulli model the second
        is the event, modelled as 1 (R's convention).
    """

    name: str
    levels: tuple[Any, ...] | None = None

    @property
    def event(self) -> Any:
        """The level modelled as 1 by a Bernoulli model, if the response is labelled."""
        return None if self.levels is None else self.levels[-1]


@dataclass(frozen=True)
class FormulaTerms:
    """What a formula learnt from the fitting data, to rebuild the design for new rows."""

    formula: str
    response: Response
    spec: Any  # formulaic.ModelSpec of the right-hand side
    variables: tuple[str, ...]  # data columns the right-hand side reads
    levels: dict[str, list[Any]] = field(default_factory=dict)  # column -> categories
    n_dropped: int = 0
    #: The column the offset came from, if it was given by name: prediction on
    #: new data reads it there (as R's ``predict.glm`` re-evaluates the offset).
    offset_column: str | None = None
    #: The expressions of ``offset(...)`` terms (and of ``exposure=``, as
    #: ``np.log(column)``): evaluated again on new rows, summed, as R does.
    offset_terms: tuple[str, ...] = ()

    def formula_offset(self, data: pd.DataFrame) -> np.ndarray | None:
        """The sum of the formula's ``offset(...)`` expressions on ``data`` (k,), or
        None if the formula has none; NaN where a variable is missing."""
        if not self.offset_terms:
            return None
        return evaluate_offsets(self.offset_terms, data)
    #: For a formula with factors: how to build its structured design (factors
    #: as codes) for any rows; None when the design is formulaic's dense one.
    plan: StructurePlan | None = None

    @property
    def has_intercept(self) -> bool:
        """Whether the formula keeps the intercept."""
        return "Intercept" in self.spec.column_names

    def design(self, data: pd.DataFrame, unseen: str = "raise") -> tuple[pd.DataFrame, np.ndarray]:
        """The design matrix for new rows, and which rows can be predicted.

        Parameters
        ----------
        data : DataFrame
            New rows with (at least) the columns the formula uses.
        unseen : {"raise", "nan"}
            A categorical level not seen when fitting raises an error naming the
            column and level, or with ``"nan"`` marks that row as unpredictable.

        Returns
        -------
        design : DataFrame, shape (k, p), indexed like ``data``
        valid : ndarray of bool, shape (k,)
            False for rows with a missing value (or, with ``unseen="nan"``, an
            unseen level); their design row is a placeholder.
        """
        frame, valid = self._prepared(data, unseen)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # The spec of a structured fit was learnt from a sparse probe: new rows
            # asked for as a table are built dense.
            design = self.spec.get_model_matrix(frame, na_action="ignore", output="pandas")
        # Any level formulaic still finds unseen comes from a computed categorical
        # (say C(np.round(x))), whose rows cannot be traced here: refuse to guess.
        mismatch = [w for w in caught if issubclass(w.category, DataMismatchWarning)]
        if mismatch:
            raise InputError(f"the new data give a categorical term a level not seen when "
                             f"fitting: {mismatch[0].message}")
        return pd.DataFrame(design, index=data.index), valid

    def structured_design(self, data: pd.DataFrame, unseen: str = "raise"
                          ) -> tuple[StructuredDesign, np.ndarray]:
        """As :meth:`design`, but factors as codes (formula models with a plan)."""
        assert self.plan is not None
        frame, valid = self._prepared(data, unseen, keep_sparse=True)
        built = self.plan.design(frame)
        if built is None:
            raise InputError("the new data give a non-finite value to a term of the formula "
                             "(a transform undefined there); drop or fix those rows")
        return built, valid

    def _prepared(self, data: pd.DataFrame, unseen: str, keep_sparse: bool = False
                  ) -> tuple[pd.DataFrame, np.ndarray]:
        """The columns the formula reads, with training levels (boolean sparse columns
        left sparse with ``keep_sparse``, for the plan); which rows are valid."""
        if unseen not in UNSEEN:
            raise InputError(f"unseen must be one of {UNSEEN}, got {unseen!r}")
        if not isinstance(data, pd.DataFrame):
            raise InputError("new data for a formula model must be a DataFrame with the "
                             f"columns {', '.join(map(repr, self.variables))}")
        absent = [v for v in self.variables if v not in data.columns]
        if absent:
            raise InputError(f"new data lack the column(s) {', '.join(map(repr, absent))} "
                             "that the formula uses")
        frame = data[list(self.variables)].copy()
        valid = np.ones(len(frame), dtype=bool)
        for column in frame.columns:  # one column at a time: sparse ones stay sparse
            valid &= ~column_gaps(frame[column])
        for column, levels in self.levels.items():
            valid &= _known_levels(frame, column, levels, unseen, "")
            if keep_sparse and zero_filled(frame[column]):
                continue
            # Placeholders for rows that will be masked; training levels for the rest.
            filled = frame[column].where(frame[column].isin(levels), levels[0])
            frame[column] = pd.Categorical(filled, categories=levels)
        for column, levels in self._coded_levels().items():  # C(x) of a numeric column
            valid &= _known_levels(frame, column, levels, unseen,
                                   " (coded as categorical by the formula)")
        for column in frame.columns:
            if column not in self.levels and frame[column].isna().any():
                frame[column] = frame[column].fillna(0)
        return frame, valid

    def _coded_levels(self) -> dict[str, list[Any]]:
        """Numeric columns that the formula codes as categorical with ``C(column, …)``,
        and the levels seen when fitting."""
        out: dict[str, list[Any]] = {}
        for factor, state in getattr(self.spec, "factor_contrasts", {}).items():
            match = _C_OF_COLUMN.match(str(factor.expr))
            if match and match.group(1) in self.variables and match.group(1) not in self.levels:
                out[match.group(1)] = list(state.levels)
        return out


def _known_levels(frame: pd.DataFrame, column: str, levels: list[Any], unseen: str,
                  coding: str) -> np.ndarray:
    """Which rows of ``frame[column]`` hold a level seen when fitting (missing values
    count as known: they are masked elsewhere); with ``unseen="raise"`` a new level
    is an error naming the column, the levels and the rows.  Unseen values are
    replaced in ``frame`` by the first level, a placeholder for masked rows."""
    values = frame[column]
    new = (values.notna() & ~values.isin(levels)).to_numpy()
    if new.any():
        if unseen == "raise":
            found = sorted(pd.unique(values[new]), key=str)
            raise InputError(
                f"column {column!r}{coding} has level(s) {', '.join(map(label, found))} at "
                f"{describe_rows(new)} that were not seen when fitting (known: "
                f"{describe_levels(levels)}); pass unseen='nan' to predict NaN for those rows")
        frame[column] = values.where(~new, levels[0])
    return ~new


@dataclass(frozen=True)
class ModelFrame:
    """A formula applied to data: the pieces a model is built from."""

    endog: pd.Series | pd.DataFrame
    exog: pd.DataFrame | StructuredDesign
    weights: np.ndarray | None
    offset: np.ndarray | None
    trials: np.ndarray | None
    terms: FormulaTerms
    #: The fitted rows' right-hand-side variables, as given (for marginal
    #: effects, which rebuild the design from perturbed data).
    data: pd.DataFrame | None = None


def model_frame(
    formula: str,
    data: pd.DataFrame,
    *,
    weights: ArrayLike | str | None = None,
    offset: ArrayLike | str | None = None,
    trials: ArrayLike | str | None = None,
    exposure: ArrayLike | str | None = None,
    missing: str = "drop",
    labelled_response: str = "binary",
    structured: bool = False,
    sparse_threshold: float | None = None,
) -> ModelFrame:
    """Build the response, design and per-row arguments of a formula model.

    Parameters
    ----------
    formula : str
        ``"response ~ terms"`` in formulaic's (R-like) syntax.
    data : DataFrame
    weights, offset, trials : str or array-like, optional
        A column of ``data``, or one value per row of ``data``.
    exposure : str or array-like, optional
        Adds log(exposure) to the offset (statsmodels' ``exposure``); a column
        name is re-read from new rows at prediction, as an ``offset()`` term.
    missing : {"drop", "raise"}
        Rows with a missing value in any variable the model uses are dropped
        (and counted), or an error names the columns that have them.
    labelled_response : {"binary", "classes", "refuse"}
        How to code a response of labels: as 0/1 (its second level is the
        event), kept as labels (multinomial models), or refused (families of
        numbers, such as the Gaussian and Poisson, as R refuses a factor).
    structured : bool
        Build a :class:`StructuredDesign` (factors as integer codes, never dummy
        columns) when the formula has factors; see :mod:`expfam.design.codes`.

    sparse_threshold : float or None
        With ``structured``: numeric terms with a share of non-zeros below this
        (on at least 1,000 rows), and every term reading a pandas sparse column,
        are held as one CSR part; see :mod:`expfam.design.sparse_columns`.

    Returns
    -------
    ModelFrame
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError("a formula needs its data as a pandas DataFrame")
    if len(data) == 0:
        raise InputError("no rows: the data frame is empty")
    if missing not in MISSING:
        raise InputError(f"missing must be one of {MISSING}, got {missing!r}")
    stripped, offset_terms = split_offsets(formula)
    if exposure is not None:
        if isinstance(exposure, str):  # re-read from new rows, as an offset() term
            if exposure not in data.columns:
                raise InputError(f"exposure={exposure!r} is not a column of the data")
            _log_exposure(_per_row(exposure, "exposure", data), None, data)  # checks > 0
            offset_terms = (*offset_terms, f"np.log(`{exposure}`)")
        else:
            offset = _log_exposure(_per_row(exposure, "exposure", data), offset, data)
    parsed = _parse(stripped)
    lhs = str(parsed.lhs)
    rhs_vars = _variables(parsed.rhs, data)
    offset_vars = [v for expr in offset_terms for v in _variables(parse_offset(expr), data)]
    needed = list(dict.fromkeys(_variables(parsed.lhs, data) + rhs_vars + offset_vars))
    extras = {name: _per_row(value, name, data) for name, value in
              (("weights", weights), ("offset", offset), ("trials", trials))}
    if offset_terms:
        in_formula = evaluate_offsets(offset_terms, data)
        extras["offset"] = in_formula if extras["offset"] is None else (
            extras["offset"] + in_formula)
    keep = _complete_rows(data, needed, extras, missing)
    if labelled_response == "classes" and lhs in data.columns:
        _warn_empty_classes(data.loc[keep, lhs])
    threshold = check_threshold(sparse_threshold)
    rows = data[needed] if keep.all() else data.loc[keep, needed]
    coded = _coded_factors(stripped, data, rhs_vars)
    held = sparse_factor_levels(rows, coded) if structured else {}  # left sparse
    frame = _categorise(rows, [c for c in coded if c not in held])
    _check_levels(frame, rhs_vars)
    _warn_ordered_factors(formula, frame, rhs_vars)
    endog, response = _response(lhs, parsed, frame, labelled_response)
    plan = plan_structure(parsed.rhs, frame, rhs_vars, sparse_levels=held,
                          sparse_threshold=threshold) if structured else None
    built = None if plan is None else plan[2]
    design: pd.DataFrame | StructuredDesign
    if plan is not None and built is not None:
        spec, design = plan[1], built
        undefined = _undefined_rows(pd.DataFrame(index=frame.index), endog, missing)
    else:
        plan, frame = None, with_categories(frame, held)
        rhs = model_matrix(parsed.rhs, frame, na_action="ignore")
        spec = rhs.model_spec
        design = pd.DataFrame(rhs)
        undefined = _undefined_rows(design, endog, missing)
    if undefined.any():
        # A transform undefined at some rows (np.log of a negative value) makes
        # them missing, as R's model frame and patsy do: the rows are dropped
        # after the transforms were evaluated, so a center(x) keeps the mean of
        # every complete row (as both of them).
        keep[np.flatnonzero(keep)[undefined]] = False
        design = (design.take(np.flatnonzero(~undefined))
                  if isinstance(design, StructuredDesign) else design[~undefined])
        endog = endog[~undefined]
    terms = FormulaTerms(
        formula=formula.strip(), response=response, spec=spec, variables=tuple(rhs_vars),
        levels={**held, **{c: list(frame[c].cat.categories) for c in rhs_vars
                           if isinstance(frame[c].dtype, pd.CategoricalDtype)}},
        n_dropped=int((~keep).sum()),
        offset_column=offset if isinstance(offset, str) else None,
        offset_terms=offset_terms,
        plan=None if plan is None else plan[0],
    )
    picked = {k: None if v is None else v[keep] for k, v in extras.items()}
    return ModelFrame(endog, design, picked["weights"], picked["offset"], picked["trials"],
                      terms, data.loc[keep, rhs_vars])


def _undefined_rows(values: pd.DataFrame, endog: pd.Series | pd.DataFrame,
                    missing: str) -> np.ndarray:
    """Rows where a transform of complete data gave NaN, warned about (or, with
    ``missing="raise"``, an error naming the terms)."""
    nan = values.isna()
    response_nan = np.asarray(pd.DataFrame(endog).isna().any(axis=1))
    rows = nan.any(axis=1).to_numpy() | response_nan
    if not rows.any():
        return rows
    terms = [str(c) for c in values.columns[nan.any(axis=0).to_numpy()]]
    if response_nan.any():
        terms.insert(0, str(getattr(endog, "name", "the response")))
    what = (f"{', '.join(map(repr, terms))} {'is' if len(terms) == 1 else 'are'} NaN at "
            f"{int(rows.sum())} row(s) with complete data (a transform undefined there)")
    if missing == "raise":
        raise InputError(f"{what}; fix the data or the formula, or pass missing='drop' to "
                         "drop those rows")
    warnings.warn(f"{what}: those rows are dropped, like rows with missing values",
                  DataWarning, stacklevel=user_stacklevel())
    return rows


def _log_exposure(exposure: np.ndarray | None, offset: ArrayLike | str | None,
                  data: pd.DataFrame) -> np.ndarray:
    """log(exposure), plus the offset if there is one too."""
    assert exposure is not None
    if np.any(exposure[~np.isnan(exposure)] <= 0):
        raise InputError(f"exposure must be positive; it is not at "
                         f"{describe_rows(~(exposure > 0) & ~np.isnan(exposure))}")
    log = np.log(exposure)
    base = _per_row(offset, "offset", data)
    return log if base is None else log + base


def _parse(formula: str) -> Any:
    if not isinstance(formula, str) or "~" not in formula:
        raise InputError(f"a formula looks like 'y ~ x1 + x2'; got {formula!r}")
    try:
        parsed = Formula(formula)
    except Exception as err:  # formulaic's parser errors have many types
        raise InputError(f"cannot parse the formula {formula!r}: {err}") from None
    if not hasattr(parsed, "lhs"):
        raise InputError(f"the formula {formula!r} has no response (left of '~')")
    return parsed


def _variables(part: Any, data: pd.DataFrame) -> list[str]:
    """The data columns a side of a formula reads, in the order of the data.

    Names in the formula's expressions that are not columns — functions such as
    ``C`` or ``np.log`` — are left out; a name that is neither raises.
    """
    names: set[str] = set()
    for term in part:
        for factor in term.factors:
            if factor.eval_method is EvalMethod.LOOKUP:  # a bare (maybe `quoted`) name
                names.add(str(factor.expr))
            elif factor.eval_method is not EvalMethod.LITERAL:
                names |= {str(v) for v in get_required_variables(factor.expr, {})}
    columns = [c for c in data.columns if str(c) in names]
    unknown = sorted(n for n in names - {str(c) for c in columns}
                     if n.split(".")[0] not in _KNOWN_FUNCTIONS)
    if unknown:
        raise InputError(f"the formula uses {', '.join(map(repr, unknown))}, which "
                         f"{'is' if len(unknown) == 1 else 'are'} not a column of the data; "
                         f"columns are: {', '.join(map(str, data.columns))}")
    return columns


def _per_row(value: ArrayLike | str | None, name: str, data: pd.DataFrame) -> np.ndarray | None:
    """A weights/offset/trials argument as one float per row of ``data`` (an offset
    may also be an (n, K − 1) array, one column per linear predictor of a
    multinomial model)."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in data.columns:
            raise InputError(f"{name}={value!r} is not a column of the data")
        value = data[value]
    if isinstance(value, pd.Series) and not value.index.equals(data.index):
        raise InputError(f"{name} is a Series whose index differs from the data's; pass "
                         "a column name, or align it first")
    arr = (value.to_numpy(dtype=np.float64, na_value=np.nan)
           if isinstance(value, pd.Series | pd.DataFrame) else np.asarray(value, dtype=np.float64))
    dims = (1, 2) if name == "offset" else (1,)
    if arr.ndim not in dims or arr.shape[0] != len(data):
        raise InputError(f"{name} has shape {arr.shape}; expected one value per row of the "
                         f"data ({len(data)})")
    return arr


def _complete_rows(data: pd.DataFrame, columns: Sequence[str],
                   extras: dict[str, np.ndarray | None], missing: str) -> np.ndarray:
    """Rows with no missing value in the model's variables; or raise naming them."""
    gaps = {c: g for c in columns if (g := column_gaps(data[c])).any()}
    gaps.update({name: np.isnan(v).reshape(len(v), -1).any(axis=1)
                 for name, v in extras.items() if v is not None})
    counts = {c: int(g.sum()) for c, g in gaps.items() if g.any()}
    if counts and missing == "raise":
        listed = ", ".join(f"{c!r} ({k} row{'s' if k > 1 else ''})" for c, k in counts.items())
        raise InputError(f"missing values in {listed}; drop or fill them, or pass "
                         "missing='drop' to fit the complete rows")
    keep = ~np.any(list(gaps.values()), axis=0) if gaps else np.ones(len(data), dtype=bool)
    if not keep.any():
        raise InputError("no rows are complete: every row has a missing value in some "
                         "variable of the model")
    return keep


def _warn_empty_classes(response: pd.Series) -> None:
    """Warn about categories of a class response that no (kept) row has, which are
    dropped: R's ``multinom`` warns "group … is empty" likewise."""
    if not isinstance(response.dtype, pd.CategoricalDtype):
        return
    empty = [c for c in response.cat.categories if not (response == c).any()]
    if empty:
        warnings.warn(f"class(es) {', '.join(map(repr, empty))} of the response "
                      f"{response.name!r} have no rows and are dropped from the model",
                      DataWarning, stacklevel=user_stacklevel())


def _warn_ordered_factors(formula: str, frame: pd.DataFrame, variables: Sequence[str]) -> None:
    """R codes an ordered factor with polynomial contrasts; formulaic (and so
    expfam) with treatment contrasts.  Say so when a formula leaves the choice to
    the default, and how to get either coding explicitly."""
    for column in variables:
        dtype = frame[column].dtype
        if (isinstance(dtype, pd.CategoricalDtype) and dtype.ordered
                and not re.search(r"C\(\s*`?" + re.escape(column) + r"\b", formula)):
            warnings.warn(
                f"column {column!r} is an ordered Categorical: it is coded with treatment "
                "contrasts against its first level, where R would use polynomial contrasts "
                f"(contr.poly). Write C({column}, contr.poly) for R's coding, or "
                f"C({column}, contr.treatment) to keep this one without the warning",
                DataWarning, stacklevel=user_stacklevel())
def _check_levels(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """A factor with a single level (among the rows used) has nothing to contrast:
    an error naming it (R: "contrasts can be applied only to factors with 2 or
    more levels")."""
    for column in columns:
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype) and len(values.cat.categories) == 1:
            raise InputError(f"column {column!r} has a single level "
                             f"({label(values.cat.categories[0])}) in the rows used: a "
                             "factor needs at least two levels; drop it from the formula, "
                             "or check the rows selected (missing values drop rows)")


def _coded_factors(formula: str, data: pd.DataFrame, variables: Sequence[str]) -> list[str]:
    """Predictors the formula codes as factors although they hold numbers or
    booleans: boolean columns, and numeric columns wrapped in ``C(column …)``."""
    out = []
    for column in variables:
        dtype = data[column].dtype
        if isinstance(dtype, pd.CategoricalDtype) or not (
                pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)):
            continue
        if pd.api.types.is_bool_dtype(dtype) or ("C(" in formula and re.search(
                r"C\(\s*`?" + re.escape(column) + r"`?\s*[,)]", formula)):
            out.append(column)
    return out


def _categorise(frame: pd.DataFrame, coded: Sequence[str] = ()) -> pd.DataFrame:
    """String columns as categoricals with sorted levels (as R makes factors), and
    categoricals without the levels no kept row has (R's ``drop.unused.levels``),
    which would otherwise give columns of zeros.  ``coded`` columns (numbers or
    booleans the formula codes as factors) become categoricals too, with every
    level of the rows kept, so that no level depends on which rows are read
    first."""
    out = frame.copy()
    for column in coded:
        values = out[column]
        out[column] = pd.Categorical(values, categories=sorted(pd.unique(values.dropna())))
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            # A count per code finds unused levels in one pass (pandas'
            # remove_unused_categories sorts every code: 0.7 s at 1e6 rows).
            codes = values.cat.codes.to_numpy()
            used = np.bincount(codes[codes >= 0], minlength=len(values.cat.categories)) > 0
            if not used.all():
                out[column] = values.cat.remove_categories(
                    list(values.cat.categories[~used]))
        elif pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
            levels = pd.unique(values.dropna())
            try:
                ordered = sorted(levels)
            except TypeError:  # e.g. 1 and "a": no order, as R would need factor levels
                kinds = sorted({type(v).__name__ for v in levels})
                raise InputError(f"column {column!r} mixes values of types "
                                 f"{', '.join(kinds)}, which cannot be ordered into levels; "
                                 "convert it to one type, or make it a pandas Categorical "
                                 "with the order you want") from None
            out[column] = pd.Categorical(values, categories=ordered)
    return out


def _response(lhs: str, parsed: Any, frame: pd.DataFrame,
              labelled: str) -> tuple[pd.Series, Response]:
    """The response as numbers (or labels, for multinomial models), and its coding."""
    if lhs in frame.columns:
        raw = frame[lhs]
    else:
        evaluated = model_matrix(parsed.lhs, frame, na_action="ignore")
        if evaluated.shape[1] != 1:
            raise InputError(f"the response {lhs!r} must be one column; it expands to "
                             f"{evaluated.shape[1]}")
        raw = pd.Series(np.asarray(evaluated)[:, 0], index=frame.index)
    raw = raw.rename(lhs)
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype(np.float64), Response(lhs, (False, True))
    if not isinstance(raw.dtype, pd.CategoricalDtype):
        return raw, Response(lhs)
    raw = raw.cat.remove_unused_categories()
    levels = tuple(raw.cat.categories)
    if labelled == "refuse":
        raise InputError(
            f"the response {lhs!r} holds labels ({', '.join(map(label, levels[:5]))}"
            f"{', …' if len(levels) > 5 else ''}), not numbers; this family models a numeric "
            "response — convert the column to numbers, or fit a binary (family='bernoulli') "
            "or multinomial (ef.mnlogit) model")
    if labelled == "classes":
        return raw, Response(lhs, levels)
    if len(levels) != 2:
        raise InputError(
            f"the response {lhs!r} has {len(levels)} levels ({', '.join(map(repr, levels))}); "
            "a binary model needs exactly two — recode it, or fit a multinomial model")
    return (raw == levels[1]).astype(np.float64), Response(lhs, levels)
