"""A fit as JSON: every statistic of the summary, as plain numbers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from expfam._version import __version__
from expfam.inference.results import GLMResults

__all__ = ["as_number", "fit_statistics"]


def as_number(value: Any) -> float | int | None:
    """A JSON number: NaN and ±inf (a separated coefficient, an undefined
    statistic) become null, which JSON can hold."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else None


def _coefficients(res: GLMResults, alpha: float) -> list[dict[str, Any]]:
    """One record per coefficient: term (and class), estimate, standard error,
    Wald statistic, p-value and interval."""
    table = res.summary_frame(alpha=alpha)
    statistic = "t" if res.use_t else "z"
    # conf_int's index names each coefficient: a term, or (class, term).
    keys = list(res.conf_int(alpha).index)
    records = []
    for key, (_, row) in zip(keys, table.iterrows(), strict=True):
        record: dict[str, Any] = {}
        if isinstance(key, tuple):
            record["class"] = _plain(key[0])
            key = key[1]
        record["term"] = str(key)
        record["coef"] = as_number(row["coef"])
        record["std_err"] = as_number(row["std_err"])
        record[statistic] = as_number(row[statistic])
        record["p_value"] = as_number(row["p_value"])
        record["ci_lower"] = as_number(row["ci_lower"])
        record["ci_upper"] = as_number(row["ci_upper"])
        records.append(record)
    return records


def _plain(value: Any) -> Any:
    """A label JSON can hold (numpy scalars as Python ones)."""
    return value.item() if isinstance(value, np.generic) else value


def fit_statistics(res: GLMResults, alpha: float = 0.05) -> dict[str, Any]:
    """Everything ``summary()`` shows, as a JSON-ready dict.

    Keys: the model (``formula``, ``response``, ``family``, ``link``,
    ``method``, ``cov_type``), the fit (``converged``, ``n_iter``,
    ``message``, ``separated``), the counts (``nobs``, ``df_model``,
    ``df_resid``), the likelihood (``llf``, ``llnull``, ``deviance``,
    ``null_deviance``, ``pearson_chi2``, ``scale``, ``aic``, ``bic``,
    ``prsquared``), the LR test against the null model (``lr_test``), and
    ``coefficients`` (estimate, ``std_err``, z or t, ``p_value``, interval).
    Non-finite values are null.
    """
    model = res.model
    family = model.family
    terms = model.formula
    return {
        "expfam_version": __version__,
        "formula": None if terms is None else terms.formula,
        "response": model.endog_name,
        "family": family.name,
        "link": getattr(family, "link_name", None),
        "classes": None if model.classes is None else [_plain(c) for c in
                                                       model.classes.labels],
        "reference": None if model.classes is None else _plain(model.classes.reference),
        "method": res.method,
        "cov_type": res.cov_type,
        "converged": bool(res.converged),
        "n_iter": int(res.n_iter),
        "message": res.solver.message,
        "separated": bool(res.separation is not None and res.separation.separated),
        "nobs": as_number(res.nobs),
        "df_model": int(res.df_model),
        "df_resid": as_number(res.df_resid),
        "llf": as_number(res.llf),
        "llnull": as_number(res.llnull),
        "deviance": as_number(res.deviance),
        "null_deviance": as_number(res.null_deviance),
        "pearson_chi2": as_number(res.pearson_chi2),
        "scale": as_number(res.scale),
        "aic": as_number(res.aic),
        "bic": as_number(res.bic),
        "prsquared": as_number(res.prsquared),
        "lr_test": {"statistic": as_number(res.llr), "df": int(res.df_model),
                    "p_value": as_number(res.llr_pvalue)},
        "alpha": alpha,
        "test": "t" if res.use_t else "z",
        "coefficients": _coefficients(res, alpha),
    }


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of predictions as JSON records (NaN as null)."""
    out = []
    for _, row in frame.iterrows():
        out.append({str(k): (as_number(v) if isinstance(v, int | float | np.number)
                             else _plain(v)) for k, v in row.items()})
    return out
