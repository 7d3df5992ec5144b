"""Reference models with non-canonical links and the Gamma and inverse Gaussian
families, fit by expfam, statsmodels and R (``validation/r/link_reference.R``).

Each case is a :class:`~validation.cases.Case` with its ``link``; the R script
reads the family and link of each from ``validation/data/link_cases.csv``,
written with the data by ``python -m validation.cases``.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

import expfam as ef

from .cases import DATA_DIR, Case, _const, _sm, fair, spector, ucb


def spector_probit() -> Case:
    base = spector()
    return Case("spector_probit", "bernoulli", "Spector & Mazzeo (1980) with a probit link "
                "(n=32)", base.endog, base.exog, link="probit")


def fair_cloglog() -> Case:
    base = fair()
    return Case("fair_cloglog", "bernoulli", "Fair (1978): any affair, complementary log-log "
                "link (n=6366)", base.endog, base.exog, link="cloglog")


def ucb_log() -> Case:
    base = ucb()
    return Case("ucb_log", "bernoulli", "UC Berkeley admissions, log link (risk ratios), "
                "frequency weights", base.endog, base.exog, weights=base.weights, link="log")


def warpbreaks_identity() -> Case:
    data = ef.datasets.load("warpbreaks")
    exog = pd.get_dummies(data[["wool", "tension"]], drop_first=True, dtype=float)
    return Case("warpbreaks_identity", "poisson", "Warp breaks ~ wool + tension, Poisson "
                "with an identity link (n=54)", data["breaks"].astype(float).rename("breaks"),
                _const(exog), link="identity")


def scotland_gamma() -> Case:
    data = _sm("scotland")
    return Case("scotland_gamma", "gamma", "Scottish parliament vote 1997: share voting yes, "
                "Gamma with the canonical inverse link, 7 predictors (n=32)",
                data.endog.rename("YES"), _const(data.exog), link="inverse")


def scotland_gamma_log() -> Case:
    base = scotland_gamma()
    return Case("scotland_gamma_log", "gamma", "The same, Gamma with a log link",
                base.endog, base.exog, link="log")


def mtcars_inverse_gaussian() -> Case:
    cars = ef.datasets.load("mtcars")
    return Case("mtcars_inverse_gaussian", "inverse_gaussian", "Motor Trend 1974: mpg ~ hp + "
                "wt, inverse Gaussian with the canonical 1/mu^2 link (n=32)",
                cars["mpg"].astype(float), _const(cars[["hp", "wt"]]), link="1/mu^2")


def mtcars_inverse_gaussian_log() -> Case:
    base = mtcars_inverse_gaussian()
    return Case("mtcars_inverse_gaussian_log", "inverse_gaussian", "The same with a log link",
                base.endog, base.exog, link="log")


LINK_CASES: dict[str, Callable[[], Case]] = {
    f.__name__: f for f in (spector_probit, fair_cloglog, ucb_log, warpbreaks_identity,
                            scotland_gamma, scotland_gamma_log, mtcars_inverse_gaussian,
                            mtcars_inverse_gaussian_log)
}

#: R's family function for each expfam family name.
R_FAMILY = {"bernoulli": "binomial", "binomial": "binomial", "poisson": "poisson",
            "gaussian": "gaussian", "gamma": "Gamma", "inverse_gaussian": "inverse.gaussian"}


def export_manifest() -> None:
    """``validation/data/link_cases.csv``: each case's R family and link."""
    rows = [{"case": name, "family": R_FAMILY[case.family], "link": case.link}
            for name, case in ((n, make()) for n, make in LINK_CASES.items())]
    pd.DataFrame(rows).to_csv(DATA_DIR / "link_cases.csv", index=False)
