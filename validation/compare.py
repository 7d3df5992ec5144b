"""Compare expfam's GLM fits with statsmodels and with stored R output, case by case.

Run ``python -m validation.compare`` to print the table; ``tests/test_validation.py``
runs the same comparisons and fails on any difference above its tolerance.

Tolerances (relative): estimates 1e-6, standard errors 1e-5, log-likelihood,
deviance and information criteria 1e-6, residuals and fitted values 1e-5.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .cases import CASES, Case
from .link_cases import LINK_CASES

#: Every reference model: canonical links, then other links and the Gamma and
#: inverse Gaussian families.
ALL_CASES = {**CASES, **LINK_CASES}

R_RESULTS = Path(__file__).parent / "r" / "results"

TOLERANCE = {
    "params": 1e-6, "bse": 1e-5, "llf": 1e-6, "llnull": 1e-6, "deviance": 1e-6,
    "null_deviance": 1e-6, "aic": 1e-6, "bic": 1e-6, "pearson_chi2": 1e-6, "df_resid": 1e-12,
    "fitted": 1e-5, "resid_response": 1e-5, "resid_pearson": 1e-5, "resid_deviance": 1e-5,
}


def rel_diff(ours: object, theirs: object) -> float:
    """Largest relative difference, measured against |reference| floored at 1e-8."""
    a = np.asarray(ours, dtype=float)
    b = np.asarray(theirs, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-8)))


def statsmodels_reference(case: Case) -> dict[str, object]:
    """The same model in statsmodels' GLM (frequency weights, offset, 2-column binomial)."""
    import statsmodels.api as sm

    links = sm.families.links
    link = None if case.link is None else {
        "probit": links.Probit, "cloglog": links.CLogLog, "log": links.Log,
        "identity": links.Identity, "inverse": links.InversePower,
        "1/mu^2": links.InverseSquared, "sqrt": links.Sqrt}[case.link]()
    family = {"bernoulli": sm.families.Binomial, "binomial": sm.families.Binomial,
              "poisson": sm.families.Poisson, "gaussian": sm.families.Gaussian,
              "gamma": sm.families.Gamma,
              "inverse_gaussian": sm.families.InverseGaussian}[case.family](link=link)
    endog: object = case.endog
    if case.trials is not None:
        endog = np.column_stack([case.endog, case.trials - case.endog])
    fit = sm.GLM(endog, case.exog, family=family,
                 freq_weights=None if case.weights is None else case.weights,
                 offset=case.offset).fit(tol=1e-13, maxiter=200)
    ref: dict[str, object] = {
        "params": fit.params, "bse": fit.bse, "llf": fit.llf, "llnull": fit.llnull,
        "deviance": fit.deviance, "null_deviance": fit.null_deviance, "aic": fit.aic,
        "bic": fit.bic_llf, "pearson_chi2": fit.pearson_chi2, "df_resid": fit.df_resid,
        "fitted": fit.fittedvalues, "resid_pearson": fit.resid_pearson,
        "resid_deviance": fit.resid_deviance,
    }
    if case.trials is None:  # statsmodels scales binomial response residuals by trials
        ref["resid_response"] = fit.resid_response
    if case.family == "gaussian":
        # statsmodels leaves the Gaussian variance out of its AIC and BIC and
        # evaluates llnull at the full model's scale; R counts the variance and the
        # null likelihood is the intercept-only fit's own (R's logLik of it).
        del ref["aic"], ref["bic"]
        null = sm.GLM(case.endog, np.ones((len(case.endog), 1)), family=family,
                      freq_weights=case.weights, offset=case.offset).fit(tol=1e-13)
        ref["llnull"] = null.llf
    if case.family in ("gamma", "inverse_gaussian"):
        # statsmodels evaluates the likelihood at the Pearson dispersion and leaves
        # it out of the AIC; R (and expfam) take the dispersion deviance/n and
        # count it.  The estimates, SEs (Pearson dispersion) and deviances agree.
        for key in ("llf", "llnull", "aic", "bic"):
            del ref[key]
    return ref


def discrete_reference(case: Case) -> dict[str, object] | None:
    """statsmodels' discrete-choice MLE (Logit, Poisson), where it applies."""
    import statsmodels.api as sm

    if case.weights is not None or case.trials is not None or case.link is not None:
        return None  # (statsmodels' Probit reports the observed information: see tests)
    if case.family == "gaussian":  # least squares: OLS on the response less the offset
        y = case.endog if case.offset is None else case.endog - case.offset
        ols = sm.OLS(y, case.exog).fit()
        return {"params": ols.params, "bse": ols.bse, "llf": ols.llf}
    if case.family == "bernoulli":
        fit = sm.Logit(case.endog, case.exog).fit(method="newton", disp=0, tol=1e-12)
    else:
        fit = sm.Poisson(case.endog, case.exog, offset=case.offset).fit(
            method="newton", disp=0, tol=1e-12, maxiter=100)
    return {"params": fit.params, "bse": fit.bse, "llf": fit.llf, "llnull": fit.llnull,
            "aic": fit.aic, "bic": fit.bic}


def r_reference(case: Case) -> dict[str, object] | None:
    """Stored output of ``validation/r/glm_reference.R``."""
    coef_file = R_RESULTS / f"{case.name}_coef.csv"
    if not coef_file.exists():
        return None
    coef = pd.read_csv(coef_file).set_index("term")
    stats = pd.read_csv(R_RESULTS / f"{case.name}_stats.csv").set_index("statistic")["value"]
    resid = pd.read_csv(R_RESULTS / f"{case.name}_resid.csv")
    ref: dict[str, object] = {
        "params": coef["estimate"], "bse": coef["std_error"],
        "llf": stats["llf"], "deviance": stats["deviance"],
        "null_deviance": stats["null_deviance"], "aic": stats["aic"],
        "pearson_chi2": stats["pearson_chi2"],
        "fitted": resid["fitted"], "resid_response": resid["response"],
        "resid_pearson": resid["pearson"], "resid_deviance": resid["deviance"],
    }
    if case.weights is None:  # R counts rows, not frequency-weighted observations
        ref["bic"], ref["df_resid"] = stats["bic"], stats["df_resid"]
    return ref


def compare_case(case: Case) -> pd.DataFrame:
    """One row per (reference, quantity): the largest relative difference and its tolerance."""
    res = case.fit_expfam()
    ours = {
        "params": res.params, "bse": res.bse, "llf": res.llf, "llnull": res.llnull,
        "deviance": res.deviance, "null_deviance": res.null_deviance, "aic": res.aic,
        "bic": res.bic, "pearson_chi2": res.pearson_chi2, "df_resid": res.df_resid,
        "fitted": res.fittedvalues, "resid_response": res.resid_response,
        "resid_pearson": res.resid_pearson, "resid_deviance": res.resid_deviance,
    }
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        references = {"statsmodels GLM": statsmodels_reference(case),
                      "statsmodels Logit/Poisson/OLS": discrete_reference(case),
                      "R glm": r_reference(case)}
    for source, ref in references.items():
        if ref is None:
            continue
        for quantity, theirs in ref.items():
            mine = ours[quantity]
            if isinstance(theirs, pd.Series) and isinstance(mine, pd.Series) and (
                    quantity in ("params", "bse")):
                theirs = theirs.reindex(mine.index)
            diff = rel_diff(mine, theirs)
            rows.append({"case": case.name, "reference": source, "quantity": quantity,
                         "rel_diff": diff, "tolerance": TOLERANCE[quantity],
                         "ok": diff <= TOLERANCE[quantity]})
    return pd.DataFrame(rows)


def compare_all() -> pd.DataFrame:
    """:func:`compare_case` for every case."""
    return pd.concat([compare_case(make()) for make in ALL_CASES.values()],
                     ignore_index=True)


def markdown_summary(table: pd.DataFrame) -> str:
    """The largest difference per case and quantity, as the table in docs/validation.md."""
    wide = table.pivot_table(index="case", columns="quantity", values="rel_diff",
                             aggfunc="max")
    cols = ["params", "bse", "llf", "deviance", "aic", "bic", "pearson_chi2", "fitted",
            "resid_deviance"]
    lines = ["| case | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for case, row in wide[cols].iterrows():
        lines.append(f"| {case} | " + " | ".join(f"{v:.0e}" for v in row) + " |")
    return "\n".join(lines)


def main() -> None:
    import sys

    table = compare_all()
    if "--markdown" in sys.argv:
        print(markdown_summary(table))
        return
    wide = table.pivot_table(index=["case", "reference"], columns="quantity",
                             values="rel_diff", aggfunc="max")
    order = [q for q in TOLERANCE if q in wide.columns]
    with pd.option_context("display.width", 250, "display.max_columns", 30,
                           "display.float_format", lambda v: f"{v:.1e}"):
        print("Largest relative difference, expfam vs reference (blank: not reported)\n")
        print(wide[order].to_string(na_rep=""))
    failed = table[~table["ok"]]
    print(f"\n{len(table)} comparisons, {len(failed)} above tolerance")
    if len(failed):
        print(failed.to_string())


if __name__ == "__main__":
    main()
