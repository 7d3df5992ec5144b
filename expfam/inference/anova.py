"""Analysis-of-deviance tables: R's ``anova.glm`` and ``drop1``, and ``car::Anova``.

* ``anova(res)``: terms added one at a time in formula order (sequential, R's
  type I), each row the drop in deviance from adding that term.
* ``anova(m0, m1, ...)``: nested fits of the same data, smallest first.
* ``anova(res, type=2 | 3, test="LR" | "Wald" | "F")``: as ``car::Anova``.
  Type 2 tests each term after every other term that does not contain it
  (marginality respected); type 3 tests each term after all the others.
* ``drop1(res)``: each term that no other term contains, dropped in turn.

The test follows the dispersion, as R ≥ 4.4 chooses: a χ² test of the
deviance (divided by a fixed dispersion) when the dispersion is known, an F
test — deviance per degree of freedom over the estimated dispersion, on the
largest model's residual degrees of freedom — when it is estimated (Gaussian,
or ``fit(scale="X2" | "dev")``).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from expfam.errors import InputError
from expfam.inference.submodels import Fit, Term, full_fit, intercept_columns, model_terms, refit

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["anova", "drop1"]

TESTS = ("Chisq", "LR", "F", "Wald")


def _check_likelihood(res: GLMResults) -> None:
    """Deviance tables compare maximum-likelihood refits: not for Firth fits."""
    if res.solver.penalized_loss is not None:
        raise InputError("analysis-of-deviance tables compare maximum-likelihood fits; a Firth "
                         "fit's likelihood is penalized (test its terms with wald_test or "
                         "profile intervals instead)")


def _default_test(res: GLMResults, test: str | None) -> str:
    """The test R would choose for this fit, or the one asked for."""
    if test is None:
        return "F" if res.use_t else "Chisq"
    aliases = {"chisq": "Chisq", "lr": "LR", "lrt": "LR", "f": "F", "wald": "Wald"}
    if not isinstance(test, str) or test.lower() not in aliases:
        raise InputError(f"test must be one of 'LR' (or 'Chisq'), 'F' or 'Wald'; got {test!r}")
    return aliases[test.lower()]


def anova(*results: GLMResults, type: int | None = None, test: str | None = None
          ) -> pd.DataFrame:
    """An analysis-of-deviance table.

    Parameters
    ----------
    *results : GLMResults
        One fit (sequential table, or type 2/3 with ``type=``), or several nested
        fits of the same rows, smallest first.
    type : {None, 1, 2, 3}
        None or 1: sequential (R's ``anova``); 2 or 3: as ``car::Anova``.
    test : {None, "LR", "Chisq", "F", "Wald"}
        None picks χ² ("Chisq") for a known dispersion and F for an estimated
        one.  ``"Wald"`` applies to type 2 and 3 only.

    Returns
    -------
    DataFrame
        One row per term (or model), with R's column names: ``Df``,
        ``Deviance``, ``Resid. Df``, ``Resid. Dev`` and ``Pr(>Chi)``, or ``F``
        and ``Pr(>F)``; car's ``LR Chisq`` / ``Chisq`` / ``F``, ``Df`` and
        ``Pr(>Chisq)`` / ``Pr(>F)`` for types 2 and 3.
    """
    if not results:
        raise InputError("anova needs at least one fitted model")
    for res in results:
        _check_likelihood(res)
    if len(results) > 1:
        if type not in (None, 1):
            raise InputError("type= applies to one model; several models are compared "
                             "sequentially")
        return _nested(list(results), test)
    res = results[0]
    if type in (None, 1):
        return _sequential(res, _default_test(res, test))
    if type not in (2, 3):
        raise InputError(f"type must be 1, 2 or 3; got {type!r}")
    chosen = _default_test(res, test if test is not None else (
        "F" if res.use_t else "LR"))
    if chosen == "Wald":
        return _wald_table(res, type)
    return _lr_table(res, type, chosen)


def _test_columns(table: pd.DataFrame, dev: np.ndarray, df: np.ndarray, dispersion: float,
                  df_scale: float, test: str) -> pd.DataFrame:
    """Add R's ``stat.anova`` columns for deviance changes ``dev`` on ``df``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if test == "F":
            f = dev / df / dispersion
            table["F"] = f
            table["Pr(>F)"] = stats.f.sf(f, df, df_scale)
        else:
            table["Pr(>Chi)"] = stats.chi2.sf(dev / dispersion, df)
    return table


def _sequential(res: GLMResults, test: str) -> pd.DataFrame:
    if test == "Wald":
        raise InputError("a sequential table compares deviances; use type=2 or 3 for Wald")
    columns = intercept_columns(res)
    fits = [refit(res, columns)]
    names = ["NULL"]
    for term in model_terms(res):
        columns = columns + list(term.columns)
        names.append(term.name)
        fits.append(refit(res, columns) if len(columns) < len(res.model.exog_names)
                    else full_fit(res))
    resid_df = np.array([f.df_resid for f in fits])
    resid_dev = np.array([f.deviance for f in fits])
    df = np.r_[np.nan, -np.diff(resid_df)]
    dev = np.r_[np.nan, -np.diff(resid_dev)]
    table = pd.DataFrame({"Df": df, "Deviance": dev, "Resid. Df": resid_df,
                          "Resid. Dev": resid_dev}, index=pd.Index(names, name="term"))
    return _test_columns(table, dev, df, res.scale, res.df_resid,
                         "F" if test == "F" else "Chisq")


def _check_nested(small: GLMResults, big: GLMResults, i: int) -> None:
    """Same family and rows, and the smaller design inside the span of the bigger."""
    from expfam.inference.hypotheses import lr_test

    if small.quasi != big.quasi or small.scale_method != big.scale_method:
        raise InputError(f"models {i} and {i + 1} differ in scale=; compare fits of one kind")
    if small.quasi:  # lr_test refuses quasi fits: check the design on ML twins
        return
    try:
        lr_test(small, big)
    except InputError as err:
        raise InputError(f"models {i} and {i + 1} cannot be compared: {err}. Give nested "
                         "models of the same data, smallest first") from None


def _nested(results: list[GLMResults], test: str | None) -> pd.DataFrame:
    for i, (a, b) in enumerate(itertools.pairwise(results), start=1):
        _check_nested(a, b, i)
    big = min(results, key=lambda r: r.df_resid)
    chosen = _default_test(big, test)
    if chosen == "Wald":
        raise InputError("nested models are compared by deviance; test='Wald' does not apply")
    resid_df = np.array([r.df_resid for r in results])
    resid_dev = np.array([r.deviance for r in results])
    df = np.r_[np.nan, -np.diff(resid_df)]
    dev = np.r_[np.nan, -np.diff(resid_dev)]
    labels = [r.model.formula.formula if r.model.formula is not None else f"model {i + 1}"
              for i, r in enumerate(results)]
    table = pd.DataFrame({"Resid. Df": resid_df, "Resid. Dev": resid_dev, "Df": df,
                          "Deviance": dev}, index=pd.Index(labels, name="model"))
    return _test_columns(table, dev, df, big.scale, big.df_resid,
                         "F" if chosen == "F" else "Chisq")


def _all_but(res: GLMResults, drop: list[Term]) -> list[int]:
    gone = {c for t in drop for c in t.columns}
    return [j for j in range(len(res.model.exog_names)) if j not in gone]


def _lr_table(res: GLMResults, type: int, test: str) -> pd.DataFrame:
    """car's ``Anova.II.LR.glm`` / ``Anova.III.LR.glm`` (and their F versions)."""
    terms = model_terms(res)
    full = full_fit(res)
    rows = []
    for term in terms:
        rels = [t for t in terms if term.contained_in(t)] if type == 2 else []
        without = refit(res, _all_but(res, [term, *rels]))
        with_term = refit(res, _all_but(res, rels)) if rels else full
        rows.append((term.name, without.deviance - with_term.deviance,
                     without.df_resid - with_term.df_resid))
    names, dev, df = (list(x) for x in zip(*rows, strict=True)) if rows else ([], [], [])
    dev_arr, df_arr = np.asarray(dev, float), np.asarray(df, float)
    index = pd.Index(names, name="term")
    if test == "F":
        # car: the error sum of squares from the Pearson residuals of the full fit.
        # A last row "Residuals" holds it and its degrees of freedom, as car's.
        error = res.pearson_chi2 / res.df_resid
        f = dev_arr / df_arr / error
        return pd.DataFrame({"Deviance": np.r_[dev_arr, res.pearson_chi2],
                             "Df": np.r_[df_arr, res.df_resid], "F": np.r_[f, np.nan],
                             "Pr(>F)": np.r_[stats.f.sf(f, df_arr, res.df_resid), np.nan]},
                            index=pd.Index([*names, "Residuals"], name="term"))
    lr = dev_arr / res.scale
    return pd.DataFrame({"LR Chisq": lr, "Df": df_arr, "Pr(>Chisq)": stats.chi2.sf(lr, df_arr)},
                        index=index)


def _flat_positions(res: GLMResults, columns: list[int]) -> list[int]:
    p = len(res.model.exog_names)
    return [c + k * p for k in range(res._problem.n_natural) for c in columns]


def _conjugate_complement(x: np.ndarray, z: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Columns spanning the part of span(z) V-orthogonal to span(x) (car's ConjComp)."""
    m = z.T @ v @ x
    rank = np.linalg.matrix_rank(m)
    if rank == 0:
        return z
    q, _ = np.linalg.qr(m, mode="complete")
    return z @ q[:, rank:]


def _wald_table(res: GLMResults, type: int) -> pd.DataFrame:
    """car's Wald tables: type 3 tests each term's coefficients (and the
    intercept's); type 2 the part of a term's hypothesis not shared with the
    terms that contain it (car's ``Anova.II.default``)."""
    kept = res._kept
    beta = res._problem.flat(res.solver.coef)[kept]
    cov = res._cov[np.ix_(kept, kept)]
    eye = np.eye(len(kept))[:, kept]
    terms = model_terms(res)
    entries: list[tuple[str, list[int], list[int]]] = []
    if type == 3 and intercept_columns(res):
        entries.append(("(Intercept)", intercept_columns(res), []))
    for term in terms:
        rels = [c for t in terms if term.contained_in(t) for c in t.columns] if type == 2 else []
        entries.append((term.name, list(term.columns), rels))
    rows = []
    for name, cols, rels in entries:
        h2 = eye[_flat_positions(res, rels + cols)]
        h2 = h2[np.any(h2 != 0, axis=1)]  # aliased coefficients: not estimable
        if rels:
            h1 = eye[_flat_positions(res, rels)]
            h = _conjugate_complement(h1.T, h2.T, cov).T
        else:
            h = h2
        h = h[~np.all(np.abs(h) < 1e-12, axis=1)]
        if len(h) == 0:
            rows.append((name, 0.0, np.nan))
            continue
        d = h @ beta
        stat = float(d @ np.linalg.solve(h @ cov @ h.T, d))
        rows.append((name, float(len(h)), stat))
    index = pd.Index([r[0] for r in rows], name="term")
    df = np.array([r[1] for r in rows])
    chisq = np.array([r[2] for r in rows])
    return pd.DataFrame({"Df": df, "Chisq": chisq, "Pr(>Chisq)": stats.chi2.sf(chisq, df)},
                        index=index)


def drop1(res: GLMResults, test: str | None = None) -> pd.DataFrame:
    """Each term that no other term contains, dropped from the fit in turn (R's ``drop1``).

    Parameters
    ----------
    res : GLMResults
    test : {None, "LR", "Chisq", "F"}
        None: χ² for a known dispersion, F for an estimated one.

    Returns
    -------
    DataFrame
        Rows ``<none>`` and the droppable terms; columns ``Df``, ``Deviance``,
        ``AIC`` (NaN for quasi fits), and ``LRT`` and ``Pr(>Chi)`` (the deviance
        change over the dispersion) or ``F value`` and ``Pr(>F)`` (over the
        deviance per residual degree of freedom, as R).
    """
    _check_likelihood(res)
    chosen = _default_test(res, test)
    if chosen == "Wald":
        raise InputError("drop1 compares deviances; use anova(res, type=3, test='Wald')")
    terms = model_terms(res)
    scope = [t for t in terms if not any(t.contained_in(o) for o in terms)]
    fits: list[Fit] = [full_fit(res)] + [refit(res, _all_but(res, [t])) for t in scope]
    extra = int(res.model.family.estimated_dispersion)
    dev = np.array([f.deviance for f in fits])
    df = np.r_[np.nan, [fits[0].df_resid - f.df_resid for f in fits[1:]]] * -1.0
    aic = np.array([-2.0 * f.loglike + 2.0 * (f.n_params + extra) for f in fits])
    table = pd.DataFrame({"Df": df, "Deviance": dev, "AIC": aic},
                         index=pd.Index(["<none>", *(t.name for t in scope)], name="term"))
    change = dev - dev[0]
    change[0] = np.nan
    if chosen == "F":
        rms = dev[0] / res.df_resid
        with np.errstate(invalid="ignore"):
            f = change / df / rms
        table["F value"] = f
        table["Pr(>F)"] = stats.f.sf(f, df, res.df_resid)
    else:
        lrt = np.maximum(change / res.scale, 0.0)
        lrt[0] = np.nan
        table["LRT"] = lrt
        table["Pr(>Chi)"] = stats.chi2.sf(lrt, df)
    return table


