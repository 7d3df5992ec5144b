"""Efron's (1975) efficiency for the new generative–discriminative pairs, by simulation.

    python -m validation.efron_pairs                 # n = 400, 200 replicates per scenario
    python -m validation.efron_pairs --n 1000 --reps 200

For each scenario the data come from the generative model (so it is correctly
specified), and both the generative model and its discriminative twin —
logistic regression on the same sufficient statistics — are fit to ``reps``
training sets of ``n`` rows.  Each rule's error rate is measured on one large
test sample (common to all replicates) and the Bayes rule's on the same rows;
(for the linear pair, the exact error rates instead); the simulated efficiency
of the twin is the ratio of mean excess errors
(generative over twin), with a delta-method standard error for a ratio of
paired means.  Replicates where the twin's fit is separated are skipped and
counted.

Scenarios:

* ``naive Bayes (shared) vs logit``: three independent unit-variance features,
  the class difference Δ = 2.5 along the first.  Closed form:
  :func:`expfam.comparison.efficiency.naive_bayes_efficiency`.
* ``naive Bayes (class variances) vs logit on x, x²``: two independent
  features whose variances differ by class.
* ``QDA vs quadratic logit``: two correlated features whose covariances differ
  by class.

The last two have no closed form here; this simulation is their answer.
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

import expfam as ef
from expfam.comparison.efficiency import naive_bayes_efficiency

TEST_ROWS = 200_000


@dataclass(frozen=True)
class Scenario:
    name: str
    means: tuple[tuple[float, ...], tuple[float, ...]]
    covariances: tuple[np.ndarray, np.ndarray]
    model: str  # "nb_shared", "nb_class", "qda"
    theory: float | None = None

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        y = (rng.random(n) < 0.5).astype(int)
        x = np.empty((n, len(self.means[0])))
        for k in (0, 1):
            rows = y == k
            chol = np.linalg.cholesky(self.covariances[k])
            x[rows] = np.asarray(self.means[k]) + rng.standard_normal((rows.sum(), x.shape[1])) \
                @ chol.T
        return y, x

    def log_odds(self, x: np.ndarray) -> np.ndarray:
        """The Bayes rule: log p(x | 1) − log p(x | 0) (equal priors)."""
        out = np.zeros(len(x))
        for k, sign in ((1, 1.0), (0, -1.0)):
            cov = self.covariances[k]
            centred = x - np.asarray(self.means[k])
            quad = np.einsum("ij,ij->i", centred @ np.linalg.inv(cov), centred)
            out += sign * (-0.5 * quad - 0.5 * np.linalg.slogdet(cov)[1])
        return out

    def fit(self, y: np.ndarray, x: np.ndarray) -> Any:
        if self.model == "qda":
            return ef.QDA(y, x).fit()
        variance = "shared" if self.model == "nb_shared" else "class"
        return ef.NaiveBayes(y, x, families="gaussian", variance=variance).fit()


def scenarios() -> list[Scenario]:
    eye3 = np.eye(3)
    return [
        Scenario("naive Bayes (shared) vs logit", ((-1.25, 0.0, 0.0), (1.25, 0.0, 0.0)),
                 (eye3, eye3), "nb_shared", naive_bayes_efficiency(2.5, 0.5, 3)),
        Scenario("naive Bayes (class variances) vs logit on x, x²", ((0.0, 0.0), (1.5, 0.5)),
                 (np.diag([1.0, 1.0]), np.diag([4.0, 0.5])), "nb_class"),
        Scenario("QDA vs quadratic logit", ((0.0, 0.0), (1.0, 1.0)),
                 (np.array([[1.0, 0.5], [0.5, 1.0]]), np.array([[2.0, -0.3], [-0.3, 0.5]])),
                 "qda"),
    ]


def linear_error(params: np.ndarray, scenario: Scenario) -> float:
    """Exact error rate of the rule b + wᵀx > 0 under the scenario's Gaussians."""
    b, w = params[0], params[1:]
    rate = 0.0
    for k, sign in ((1, -1.0), (0, 1.0)):
        spread = np.sqrt(w @ scenario.covariances[k] @ w)
        rate += 0.5 * float(stats.norm.cdf(sign * (b + w @ np.asarray(scenario.means[k]))
                                           / spread))
    return rate


def simulate(scenario: Scenario, n: int, reps: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    y_test, x_test = scenario.draw(TEST_ROWS, rng)
    linear = scenario.model == "nb_shared"  # exact error rates; else the test sample
    if linear:
        mid = (np.asarray(scenario.means[1]) + np.asarray(scenario.means[0])) / 2
        w_star = np.linalg.solve(scenario.covariances[0],
                                 np.subtract(scenario.means[1], scenario.means[0]))
        bayes = linear_error(np.r_[-mid @ w_star, w_star], scenario)
    else:
        bayes = np.mean((scenario.log_odds(x_test) > 0) != (y_test == 1))
    excess_gen, excess_twin, separated = [], [], 0
    for _ in range(reps):
        y, x = scenario.draw(n, rng)
        gen = scenario.fit(y, x)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            twin = gen.fit_twin()
        if any(issubclass(w.category, ef.SeparationWarning) for w in caught):
            separated += 1
            continue
        design = None if linear else gen.sufficient_statistics(x_test).to_numpy()
        for params, out in ((gen.logistic_params().to_numpy(), excess_gen),
                            (twin.params.to_numpy(), excess_twin)):
            if design is None:
                out.append(linear_error(params, scenario) - bayes)
            else:
                rule = params[0] + design @ params[1:] > 0
                out.append(np.mean(rule != (y_test == 1)) - bayes)
    a, b = np.asarray(excess_gen), np.asarray(excess_twin)
    are = a.mean() / b.mean()
    se = float(np.std(a - are * b, ddof=1) / np.sqrt(len(a)) / b.mean())
    return {"scenario": scenario.name, "n": n, "used": len(a), "separated": separated,
            "bayes_error": float(bayes), "excess_generative": float(a.mean()),
            "excess_twin": float(b.mean()), "efficiency": float(are), "se": se,
            "theory": scenario.theory}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    rows = [simulate(s, args.n, args.reps, args.seed) for s in scenarios()]
    with pd.option_context("display.width", 160):
        print(pd.DataFrame(rows).round(4).to_string(index=False))
    print(f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
