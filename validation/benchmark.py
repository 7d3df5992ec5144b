"""Benchmark: the same logistic or multinomial regression fit by expfam and its peers.

    python -m validation.benchmark                 # logistic, n = 1,000,000, p = 50
    python -m validation.benchmark --n 200000 --design correlated
    python -m validation.benchmark --classes 5     # multinomial, n = 200,000, p = 20
    python -m validation.benchmark --factors       # formulas with factors, sparse designs
                                                   # (see validation/benchmark_factors.py)

Peers, each at its defaults apart from switching penalties off: statsmodels
``Logit`` or ``MNLogit`` (Newton), scikit-learn ``LogisticRegression``
(``newton-cholesky`` and ``lbfgs``; multinomial for more than two classes) and,
for two classes, glum ``GeneralizedLinearRegressor`` (it has no multinomial
family).  expfam's own ``lbfgs`` solver runs alongside (not counted as a peer;
its column "max rel. diff from expfam irls" shows how close it gets).  Every
fit starts from the same arrays already in memory; expfam's time includes
building the model, the fit and the standard errors.  Timings are the best of ``--repeats`` rounds,
the fits interleaved within each round (this is a shared 2-core machine:
ratios, not seconds, are the result).

Designs: ``iid`` (an intercept and standard normal columns: the easiest case for
first-order methods) and ``correlated`` (AR(1) correlation 0.5 between columns
and column scales spread over two orders of magnitude, as real data have).
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import softmax

import expfam as ef


@dataclass
class Data:
    X: np.ndarray  # with a leading column of ones
    X_plain: np.ndarray  # the same without it, for peers that add their own intercept
    y: np.ndarray


def make_data(n: int, p: int, design: str, classes: int = 2, seed: int = 0) -> Data:
    """A problem with ``p`` coefficients (intercept included) per non-reference class.

    ``y`` holds class codes 0, …, ``classes`` − 1 drawn from softmax probabilities
    (for two classes, a logistic model).
    """
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, p - 1))
    if design == "correlated":
        for j in range(1, p - 1):
            Z[:, j] = 0.5 * Z[:, j - 1] + np.sqrt(0.75) * Z[:, j]
        Z *= np.exp(rng.uniform(-2.3, 2.3, p - 1))
    elif design != "iid":
        raise ValueError(f"unknown design {design!r}")
    scale = Z.std(axis=0)
    beta = rng.normal(0, 0.15, (p - 1, classes - 1)) / scale[:, None]
    eta = np.column_stack([np.zeros(n), -0.3 + Z @ beta])
    cumulative = np.cumsum(softmax(eta, axis=1), axis=1)
    y = np.minimum((rng.random(n)[:, None] > cumulative).sum(axis=1), classes - 1)
    y = y.astype(float)
    X = np.empty((n, p))
    X[:, 0] = 1.0
    X[:, 1:] = Z
    return Data(X, np.ascontiguousarray(Z), y)


# Every fit returns its coefficients as an array of shape (p, K − 1) against
# class 0, so that they can be compared entry by entry.
def fit_expfam(d: Data) -> np.ndarray:
    binary = d.y.max() == 1
    res = ef.GLM(d.y, d.X, family="bernoulli" if binary else "categorical").fit()
    _ = res.bse  # standard errors are part of the timed work
    return res.params.to_numpy().reshape(d.X.shape[1], -1)


def fit_expfam_lbfgs(d: Data) -> np.ndarray:
    binary = d.y.max() == 1
    res = ef.GLM(d.y, d.X, family="bernoulli" if binary else "categorical").fit("lbfgs")
    _ = res.bse
    return res.params.to_numpy().reshape(d.X.shape[1], -1)


def fit_statsmodels(d: Data) -> np.ndarray:
    import statsmodels.api as sm

    model = sm.Logit if d.y.max() == 1 else sm.MNLogit
    res = model(d.y, d.X).fit(method="newton", disp=0)
    _ = res.bse
    return np.asarray(res.params).reshape(d.X.shape[1], -1)


def _sklearn(solver: str, **options: float) -> Callable[[Data], np.ndarray]:
    def fit(d: Data) -> np.ndarray:
        from sklearn.linear_model import LogisticRegression

        m = LogisticRegression(C=np.inf, solver=solver, **options).fit(d.X_plain, d.y)
        coef = np.column_stack([m.intercept_, m.coef_]).T  # (p, 1) or (p, K)
        # Unpenalised multinomial coefficients are identified only up to a common
        # shift across classes: express them against class 0.
        return coef if coef.shape[1] == 1 else coef[:, 1:] - coef[:, :1]

    return fit


def fit_glum(d: Data) -> np.ndarray:
    from glum import GeneralizedLinearRegressor

    m = GeneralizedLinearRegressor(family="binomial", alpha=0).fit(d.X_plain, d.y)
    return np.r_[m.intercept_, m.coef_][:, None]


STATSMODELS = "statsmodels (newton)"
PEERS: dict[str, Callable[[Data], np.ndarray]] = {
    STATSMODELS: fit_statsmodels,
    "sklearn newton-cholesky": _sklearn("newton-cholesky"),
    "sklearn lbfgs": _sklearn("lbfgs"),
    "glum": fit_glum,
}
#: For context only (not a default, so not counted as a peer): lbfgs asked to
#: converge, to show what reaching the maximum-likelihood estimate costs it.
CONTEXT: dict[str, Callable[[Data], np.ndarray]] = {
    "(sklearn lbfgs, tol=1e-10)": _sklearn("lbfgs", tol=1e-10, max_iter=10_000),
}


def best_times(fits: dict[str, Callable[[Data], np.ndarray]], d: Data,
               repeats: int) -> dict[str, tuple[float, np.ndarray]]:
    """Best wall time of each fit over ``repeats`` rounds, the fits interleaved
    within each round so that background load hits every fit alike."""
    best: dict[str, tuple[float, np.ndarray]] = {}
    for _ in range(repeats):
        for name, fit in fits.items():
            gc.collect()
            t0 = time.perf_counter()
            coef = fit(d)
            seconds = time.perf_counter() - t0
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, coef)
    return best


def peak_extra_memory(fit: Callable[[Data], np.ndarray], d: Data) -> int:
    """Peak bytes allocated (through Python's allocator, which NumPy uses) during a fit."""
    gc.collect()
    tracemalloc.start()
    fit(d)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def run(d: Data, repeats: int) -> pd.DataFrame:
    warnings.simplefilter("ignore")
    peers = PEERS if d.y.max() == 1 else {k: v for k, v in PEERS.items() if k != "glum"}
    ours = "expfam GLM (irls), with SEs"
    ours_lbfgs = "expfam GLM (lbfgs), with SEs"
    best = best_times({ours: fit_expfam, ours_lbfgs: fit_expfam_lbfgs, **peers}, d, repeats)
    best.update(best_times(CONTEXT, d, 1))
    table = pd.DataFrame({"seconds": {k: v[0] for k, v in best.items()}})
    reference = best[STATSMODELS][1]
    table["max |coef - statsmodels|"] = [float(np.max(np.abs(best[k][1] - reference)))
                                         for k in table.index]
    irls = best[ours][1]
    table["max rel. diff from expfam irls"] = [
        float(np.max(np.abs(best[k][1] - irls) / np.abs(irls))) for k in table.index]
    fastest_peer = table.loc[list(peers), "seconds"].min()
    table["time / fastest peer"] = table["seconds"] / fastest_peer
    table.index.name = "fit"
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=2,
                        help="2: logistic regression; more: multinomial")
    parser.add_argument("--n", type=int, help="default 1,000,000 (logistic), 200,000 (more "
                        "classes)")
    parser.add_argument("--p", type=int, help="default 50 (logistic), 20 (more classes)")
    parser.add_argument("--design", choices=["iid", "correlated"], default="iid")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--factors", action="store_true",
                        help="factor, many-level, interaction and sparse cases against glum, "
                        "statsmodels, scikit-learn and tabmat (validation/benchmark_factors.py)")
    parser.add_argument("--case", help="with --factors: one case only")
    args = parser.parse_args()
    if args.factors:
        from validation.benchmark_factors import main as factors_main

        factors_main(args.case, min(args.repeats, 3), args.n or 1_000_000)
        return
    binary = args.classes == 2
    n = args.n or (1_000_000 if binary else 200_000)
    p = args.p or (50 if binary else 20)
    d = make_data(n, p, args.design, args.classes)
    table = run(d, args.repeats)
    peak = peak_extra_memory(fit_expfam, d)
    kind = "Logistic regression" if binary else f"Multinomial regression, K = {args.classes}"
    with pd.option_context("display.width", 200, "display.float_format", lambda v: f"{v:.3g}"):
        print(f"{kind}, n = {n:,}, p = {p}, design = {args.design}, best of {args.repeats}\n")
        print(table.to_string())
    ratio = table["time / fastest peer"].iloc[0]
    print(f"\nexpfam / fastest peer: {ratio:.2f} (target <= 0.5)")
    print(f"expfam peak extra memory: {peak / 2**20:.0f} MiB = {peak / d.X.nbytes:.2f} x the "
          f"size of X ({d.X.nbytes / 2**20:.0f} MiB; target <= 0.5)")


if __name__ == "__main__":
    main()
