"""Formula models fit by expfam, statsmodels' formula API and R on the same data.

Each case states one model three times, in each program's syntax: formulaic
for expfam (``C(g, contr.treatment("b"))``), patsy for statsmodels
(``C(g, Treatment("b"))``) and R (``relevel(factor(g), "b")``).  expfam and R
order terms alike (main effects in formula order, then interactions), so R's
estimates are compared position by position; patsy orders them otherwise, so
statsmodels' are matched by name.  ``python -m validation.formula_cases`` writes
the data for ``validation/r/formula_reference.R`` and prints the comparison.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import expfam as ef

DATA_DIR = Path(__file__).parent / "data"
R_RESULTS = Path(__file__).parent / "r" / "results"


@dataclass(frozen=True)
class FormulaCase:
    """One model in three syntaxes."""

    name: str
    family: str
    data: Callable[[], pd.DataFrame]
    expfam: str
    statsmodels: str
    r: str  # for validation/r/formula_reference.R (documentation: the R script holds it)
    kwargs: dict[str, str] = field(default_factory=dict)  # trials / weights column names

    def fit_expfam(self) -> ef.GLMResults:
        return ef.glm(self.expfam, self.data(), family=self.family, **self.kwargs).fit()

    def fit_statsmodels(self):  # type: ignore[no-untyped-def]
        import statsmodels.api as sm
        import statsmodels.formula.api as smf

        data = self.data()
        family = {"bernoulli": sm.families.Binomial, "binomial": sm.families.Binomial,
                  "poisson": sm.families.Poisson}[self.family]()
        formula = self.statsmodels
        if "trials" in self.kwargs:  # patsy: cbind-style response as two columns
            n = self.kwargs["trials"]
            data = data.assign(_failures=data[n] - data[formula.split("~")[0].strip()])
            formula = f"{formula.split('~')[0].strip()} + _failures ~ {formula.split('~')[1]}"
        return smf.glm(formula, data, family=family).fit(tol=1e-13)

    def fit_statsmodels_logit(self):  # type: ignore[no-untyped-def]
        """statsmodels' discrete-choice ``smf.logit`` (Bernoulli cases only), or None."""
        import statsmodels.formula.api as smf

        if self.family != "bernoulli" or self.kwargs:
            return None
        return smf.logit(self.statsmodels, self.data()).fit(method="newton", tol=1e-12,
                                                            disp=0)


def _mtcars() -> pd.DataFrame:
    return ef.datasets.load("mtcars")


def _iris_two() -> pd.DataFrame:
    iris = ef.datasets.load("iris")
    iris = iris[iris["species"] != "setosa"].reset_index(drop=True)
    # expfam models the labelled `species` (event: its second level, virginica);
    # patsy cannot, so statsmodels gets the same event as a 0/1 column.
    return iris.assign(virginica=(iris["species"] == "virginica").astype(float))


def _ucb() -> pd.DataFrame:
    return ef.datasets.load("ucb_admissions").assign(
        applicants=lambda d: d["admitted"] + d["rejected"])


def _fair() -> pd.DataFrame:
    import statsmodels.api as sm

    data = sm.datasets.fair.load_pandas().data
    return data.assign(had_affair=(data["affairs"] > 0).astype(float))


CASES: dict[str, FormulaCase] = {c.name: c for c in [
    FormulaCase("mtcars_cyl", "bernoulli", _mtcars,
                "am ~ hp + wt + C(cyl)", "am ~ hp + wt + C(cyl)",
                "am ~ hp + wt + factor(cyl)"),
    FormulaCase("warpbreaks_interaction", "poisson", lambda: ef.datasets.load("warpbreaks"),
                "breaks ~ wool * tension", "breaks ~ wool * tension",
                "breaks ~ wool * tension"),
    FormulaCase("ucb_binomial", "binomial", _ucb,
                "admitted ~ gender + C(dept, contr.treatment('C'))",
                "admitted ~ gender + C(dept, Treatment('C'))",
                "cbind(admitted, rejected) ~ gender + relevel(dept, 'C')",
                {"trials": "applicants"}),
    FormulaCase("iris_species", "bernoulli", _iris_two,
                "species ~ petal_length + I(petal_width**2) + center(sepal_width)",
                "virginica ~ petal_length + I(petal_width**2) + center(sepal_width)",
                "droplevels(species) ~ petal_length + I(petal_width^2) + "
                "scale(sepal_width, scale = FALSE)"),
    FormulaCase("fair_religious", "bernoulli", _fair,
                "had_affair ~ C(religious) + age + yrs_married:children + rate_marriage",
                "had_affair ~ C(religious) + age + yrs_married:children + rate_marriage",
                "had_affair ~ factor(religious) + age + rate_marriage + yrs_married:children"),
]}


def export() -> None:
    """Write each case's data to ``validation/data/formula_<name>.csv`` for R."""
    DATA_DIR.mkdir(exist_ok=True)
    for case in CASES.values():
        case.data().to_csv(DATA_DIR / f"formula_{case.name}.csv", index=False)


def compare(case: FormulaCase) -> pd.DataFrame:
    """Relative differences of expfam from statsmodels (``smf.glm``, and ``smf.logit``
for Bernoulli cases) and R (position by position)."""
    ours = case.fit_expfam()
    rows = []
    ref = case.fit_statsmodels()
    # patsy orders terms differently (categorical first, not by degree): match by
    # name, after spelling patsy's names formulaic's way.
    order = [_patsy_name(n) for n in ref.params.index]
    if sorted(order) != sorted(map(_patsy_name, ours.params.index)):
        raise AssertionError(f"terms differ: {order} vs {list(ours.params.index)}")
    position = [order.index(_patsy_name(n)) for n in ours.params.index]
    references = {"statsmodels formula": {
        "params": np.asarray(ref.params)[position], "bse": np.asarray(ref.bse)[position],
        "llf": ref.llf, "deviance": ref.deviance, "aic": ref.aic}}
    logit = case.fit_statsmodels_logit()
    if logit is not None:  # the same terms as smf.glm, in the same (patsy) order
        references["statsmodels logit"] = {
            "params": np.asarray(logit.params)[position], "bse": np.asarray(logit.bse)[position],
            "llf": logit.llf, "aic": logit.aic}
    r_file = R_RESULTS / f"formula_{case.name}_coef.csv"
    if r_file.exists():
        coef = pd.read_csv(r_file)
        stats = pd.read_csv(R_RESULTS / f"formula_{case.name}_stats.csv").set_index(
            "statistic")["value"]
        references["R glm"] = {"params": coef["estimate"].to_numpy(),
                               "bse": coef["std_error"].to_numpy(), "llf": stats["llf"],
                               "deviance": stats["deviance"], "aic": stats["aic"]}
    mine = {"params": ours.params.to_numpy(), "bse": ours.bse.to_numpy(), "llf": ours.llf,
            "deviance": ours.deviance, "aic": ours.aic}
    tolerance = {"params": 1e-6, "bse": 1e-5, "llf": 1e-6, "deviance": 1e-6, "aic": 1e-6}
    for source, ref_values in references.items():
        for quantity, theirs in ref_values.items():
            a, b = np.asarray(mine[quantity], float), np.asarray(theirs, float)
            diff = float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-8)))
            rows.append({"case": case.name, "reference": source, "quantity": quantity,
                         "rel_diff": diff, "ok": diff <= tolerance[quantity]})
    return pd.DataFrame(rows)


def _patsy_name(name: str) -> str:
    return name.replace(" ", "").replace("Treatment(", "contr.treatment(")


def main() -> None:
    import sys

    if "--export" in sys.argv:
        export()
        return
    table = pd.concat([compare(c) for c in CASES.values()], ignore_index=True)
    wide = table.pivot_table(index=["case", "reference"], columns="quantity",
                             values="rel_diff", aggfunc="max")
    with pd.option_context("display.width", 200, "display.float_format", lambda v: f"{v:.1e}"):
        print(wide[["params", "bse", "llf", "deviance", "aic"]].to_string())
    print(f"\n{len(table)} comparisons, {int((~table['ok']).sum())} above tolerance")


if __name__ == "__main__":
    main()
