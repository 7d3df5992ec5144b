"""Robust covariances, profile intervals and LR tests against R.

``python -m validation.edge_cases --export`` writes the data for
``validation/r/sandwich_reference.R``; without arguments it prints the
comparison, which ``tests/test_inference.py`` asserts.  R's references:
``sandwich::vcovHC`` (HC0–HC3), ``sandwich::vcovCL`` (cluster), ``confint``
(profile likelihood, MASS) and ``anova(..., test = "Chisq")``.  Largest
relative differences; a covariance matrix's relative to the largest entry of
its row.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import expfam as ef
from validation._differences import relative_difference

DATA_DIR = Path(__file__).parent / "data"
R_RESULTS = Path(__file__).parent / "r" / "results"
#: Relative tolerances.  The R script refits from the estimate so that R's
#: covariances use the weights at the estimate, as expfam's do.  R's confint
#: interpolates a spline through a grid of profile points; expfam solves for
#: the ends exactly.
TOLERANCE = {"estimate": 1e-8, "std_error": 1e-8, "vcov": 1e-8, "confint": 5e-3,
             "lrtest": 1e-8}


@dataclass(frozen=True)
class EdgeCase:
    name: str
    dataset: str
    formula: str
    restricted: str
    family: str
    cluster: str

    def data(self) -> pd.DataFrame:
        data = ef.datasets.load(self.dataset)
        if self.dataset == "warpbreaks":
            # 9 replicates per wool × tension cell, in order: number them as looms,
            # a grouping that is not itself a term of the model.
            data["loom"] = np.tile(np.arange(1, 10), len(data) // 9)
        return data

    def fit(self, formula: str | None = None, **kwargs: object) -> ef.GLMResults:
        make: Callable[..., ef.GLM] = ef.glm
        return make(formula or self.formula, self.data(), family=self.family).fit(**kwargs)


CASES = {c.name: c for c in [
    EdgeCase("mtcars", "mtcars", "am ~ hp + wt", "am ~ hp", "bernoulli", "cyl"),
    EdgeCase("pima", "pima", "diabetes ~ glucose + bmi + pedigree + age",
             "diabetes ~ glucose + bmi", "bernoulli", "pregnancies"),
    EdgeCase("warpbreaks", "warpbreaks", "breaks ~ wool + tension", "breaks ~ wool",
             "poisson", "loom"),
]}


def _stored(case: EdgeCase, what: str) -> pd.DataFrame:
    return pd.read_csv(R_RESULTS / f"sandwich_{case.name}_{what}.csv", index_col=0)


def compare(case: EdgeCase) -> pd.DataFrame:
    """Largest relative differences from R, one row per quantity."""
    rows = []
    base = case.fit()
    coef = _stored(case, "coef")
    rows.append(("estimate", "glm", relative_difference(base.params, coef["estimate"])))
    rows.append(("std_error", "glm", relative_difference(base.bse, coef["std_error"])))
    for cov_type in ("HC0", "HC1", "HC2", "HC3", "cluster"):
        groups = case.data()[case.cluster] if cov_type == "cluster" else None
        res = case.fit(cov_type=cov_type, groups=groups)
        stored = _stored(case, "vcov_CL" if cov_type == "cluster" else f"vcov_{cov_type}")
        rows.append(("vcov", cov_type, relative_difference(res.cov_params(), stored, by_row=True)))
    for level, alpha in (("95", 0.05), ("90", 0.10)):
        stored = _stored(case, f"confint_{level}")
        rows.append(("confint", f"profile {level}%",
                     relative_difference(base.conf_int(alpha, method="profile"), stored)))
    test = ef.lr_test(case.fit(case.restricted), base)
    stored = _stored(case, "lrtest")
    for detail, ours, theirs in (("statistic", test.statistic, stored["deviance"].iloc[0]),
                                 ("p-value", test.pvalue, stored["p_value"].iloc[0])):
        rows.append(("lrtest", detail, relative_difference(ours, theirs)))
    table = pd.DataFrame(rows, columns=["quantity", "detail", "difference"])
    table["ok"] = [d <= TOLERANCE[q] for q, d in zip(table["quantity"], table["difference"],
                                                      strict=True)]
    return table


def export() -> None:
    for case in CASES.values():
        case.data().to_csv(DATA_DIR / f"sandwich_{case.name}.csv", index=False)


def main() -> None:
    if "--export" in sys.argv:
        export()
        return
    full = pd.concat({n: compare(c) for n, c in CASES.items()}, names=["case"]).droplevel(1)
    with pd.option_context("display.width", 160, "display.float_format", "{:.1e}".format):
        print(full.to_string())
    print(f"\n{len(full)} comparisons, {int((~full['ok']).sum())} above tolerance")


if __name__ == "__main__":
    main()
