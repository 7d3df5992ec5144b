"""Firth's bias-reduced logistic regression against R.

``python -m validation.firth_cases`` prints the comparison; ``tests/test_firth.py``
asserts it.  References, stored by ``validation/r/firth_reference.R``:
``brglm2`` (``glm(..., method = "brglmFit", type = "AS_mean")``) for estimates
and standard errors, and — logistf being unavailable as a Debian package — that
script's own implementation of logistf's definitions for the penalized
log-likelihood and the profile penalized-likelihood intervals (it agrees with
brglm2 to 1e-13 on the estimates).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import expfam as ef
from validation._differences import relative_difference

DATA_DIR = Path(__file__).parent / "data"
R_RESULTS = Path(__file__).parent / "r" / "results"
TOLERANCE = {"estimate": 1e-8, "std_error": 1e-8, "penalized loglik": 1e-8,
             "profile interval": 1e-6}


@dataclass(frozen=True)
class FirthCase:
    name: str
    formula: str

    def fit(self) -> ef.GLMResults:
        data = pd.read_csv(DATA_DIR / f"firth_{self.name}.csv")
        response = self.formula.split("~")[0].strip()
        data[response] = data[response].astype(float)
        return ef.glm(self.formula, data, family="bernoulli").fit(penalty="firth")


CASES = {c.name: c for c in [
    FirthCase("separated", "y ~ x"),
    FirthCase("mtcars", "am ~ hp + wt"),
    FirthCase("pima", "diabetes ~ glucose + bmi + pedigree + age"),
]}


def compare(case: FirthCase) -> pd.DataFrame:
    res = case.fit()

    def stored(what: str) -> pd.DataFrame:
        return pd.read_csv(R_RESULTS / f"firth_{case.name}_{what}.csv")

    brglm2 = stored("brglm2_coef")
    loglik = stored("loglik").set_index("model")["loglik"]
    interval = stored("confint")[["lower", "upper"]]
    rows = [
        ("estimate", "brglm2", relative_difference(res.params, brglm2["estimate"])),
        ("std_error", "brglm2", relative_difference(res.bse, brglm2["std_error"])),
        ("penalized loglik", "logistf definition",
         relative_difference(res.penalized_llf, loglik["full"])),
        ("profile interval", "logistf definition",
         relative_difference(res.conf_int(method="profile"), interval)),
    ]
    table = pd.DataFrame(rows, columns=["quantity", "reference", "difference"])
    table["ok"] = [d <= TOLERANCE[q] for q, d in zip(table["quantity"], table["difference"],
                                                      strict=True)]
    return table


def main() -> None:
    full = pd.concat({n: compare(c) for n, c in CASES.items()}, names=["case"]).droplevel(1)
    with pd.option_context("display.width", 160, "display.float_format", "{:.1e}".format):
        print(full.to_string())
    print(f"\n{len(full)} comparisons, {int((~full['ok']).sum())} above tolerance")


if __name__ == "__main__":
    main()
