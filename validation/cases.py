"""The reference models: real datasets, each fit the same way by expfam, statsmodels and R.

Each :class:`Case` holds the data in one form all three can use: a response,
a design with an intercept column named ``const``, and optional trials,
frequency weights and offset.  ``export`` writes them to ``validation/data``
for ``validation/r/glm_reference.R``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import expfam as ef

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Case:
    """One reference model."""

    name: str
    family: str
    description: str
    endog: pd.Series
    exog: pd.DataFrame  # with a "const" column
    trials: pd.Series | None = None
    weights: pd.Series | None = None
    offset: pd.Series | None = None
    link: str | None = None  # None: the family's canonical link

    def fit_expfam(self, **kwargs: object) -> ef.GLMResults:
        model = ef.GLM(self.endog, self.exog, family=self.family, weights=self.weights,
                       offset=self.offset, trials=self.trials, link=self.link)
        return model.fit(**kwargs)

    def to_frame(self) -> pd.DataFrame:
        """The case as one table with reserved column names, for R."""
        frame = self.exog.drop(columns="const").copy()
        frame.insert(0, "resp_y", self.endog.to_numpy())
        for column, values in (("resp_n", self.trials), ("resp_w", self.weights),
                               ("resp_off", self.offset)):
            if values is not None:
                frame[column] = values.to_numpy()
        return frame


def _sm(name: str):
    import statsmodels.api as sm

    return getattr(sm.datasets, name).load_pandas()


def spector() -> Case:
    data = _sm("spector")
    return Case("spector", "bernoulli",
                "Spector & Mazzeo (1980): grade improvement after a teaching method (n=32)",
                data.endog.rename("GRADE"), _const(data.exog))


def fair() -> Case:
    data = _sm("fair")
    exog = data.exog.drop(columns=["affairs"], errors="ignore")
    y = (data.data["affairs"] > 0).astype(float).rename("had_affair")
    return Case("fair", "bernoulli",
                "Fair (1978): any extramarital affair, 8 predictors (n=6366)", y, _const(exog))


def star98() -> Case:
    data = _sm("star98")
    above, below = data.endog["NABOVE"], data.endog["NBELOW"]
    return Case("star98", "binomial",
                "California schools 1998: students above the national maths median out of "
                "those tested, 20 predictors incl. interactions (n=303)",
                above.rename("NABOVE"), _const(data.exog), trials=(above + below).rename("n"))


def cpunish() -> Case:
    data = _sm("cpunish")
    return Case("cpunish", "poisson",
                "US executions by state in 1997, 6 predictors, income in dollars (n=17)",
                data.endog.rename("EXECUTIONS"), _const(data.exog))


def randhie() -> Case:
    data = _sm("randhie")
    return Case("randhie", "poisson",
                "RAND health insurance experiment: outpatient visits, 9 predictors (n=20190)",
                data.endog.rename("mdvis"), _const(data.exog))


def committee() -> Case:
    data = _sm("committee")
    exog = data.exog.drop(columns=["STAFF"])
    return Case("committee", "poisson",
                "US House committees: bills in the 104th Congress with offset log(staff), "
                "4 predictors (n=20)",
                data.endog.rename("BILLS104"), _const(exog),
                offset=np.log(data.exog["STAFF"]).rename("log_staff"))


def ucb() -> Case:
    """Admissions as 0/1 rows with frequency weights (one row per cell)."""
    data = ef.datasets.load("ucb_admissions")
    long = pd.concat([data.assign(admit=1.0, count=data["admitted"]),
                      data.assign(admit=0.0, count=data["rejected"])], ignore_index=True)
    exog = pd.get_dummies(long[["gender", "dept"]], drop_first=True, dtype=float)
    return Case("ucb", "bernoulli",
                "UC Berkeley 1973 admissions as 0/1 rows with frequency weights, gender and "
                "department dummies (24 rows, 4526 applicants)",
                long["admit"].rename("admit"), _const(exog), weights=long["count"].astype(float))


def mtcars() -> Case:
    cars = ef.datasets.load("mtcars")
    return Case("mtcars", "bernoulli", "Motor Trend 1974: manual transmission ~ hp + wt (n=32)",
                cars["am"].astype(float), _const(cars[["hp", "wt"]]))


def mtcars_gaussian() -> Case:
    cars = ef.datasets.load("mtcars")
    return Case("mtcars_gaussian", "gaussian",
                "Motor Trend 1974: fuel consumption (mpg) ~ hp + wt + qsec, Gaussian with an "
                "offset of 0.01·disp (n=32)",
                cars["mpg"].astype(float), _const(cars[["hp", "wt", "qsec"]]),
                offset=(0.01 * cars["disp"]).rename("disp_offset"))


def statecrime() -> Case:
    data = _sm("statecrime")
    return Case("statecrime", "gaussian",
                "US states 2009: murder rate ~ poverty + single-parent share + urban share, "
                "Gaussian (n=51)",
                data.data["murder"].rename("murder"),
                _const(data.data[["poverty", "single", "urban"]]))


def _const(exog: pd.DataFrame) -> pd.DataFrame:
    return ef.add_constant(exog.astype(float))


CASES: dict[str, Callable[[], Case]] = {
    f.__name__: f for f in (spector, fair, mtcars, ucb, star98, cpunish, randhie, committee,
                            mtcars_gaussian, statecrime)
}


def _all_cases() -> dict[str, Callable[[], Case]]:
    from .link_cases import LINK_CASES

    return {**CASES, **LINK_CASES}


def export() -> None:
    """Write every case to ``validation/data/<name>.csv`` for R."""
    DATA_DIR.mkdir(exist_ok=True)
    for name, make in _all_cases().items():
        make().to_frame().to_csv(DATA_DIR / f"{name}.csv", index=False)
    from .link_cases import export_manifest

    export_manifest()


if __name__ == "__main__":
    export()
