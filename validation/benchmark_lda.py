"""Benchmark: LDA by expfam and by scikit-learn's three solvers, in one run.

    python -m validation.benchmark_lda        # n = 1,000,000, p = 50, K = 3

expfam's time includes building the model and the fit (class priors, means,
pooled covariance) and the implied logistic coefficients; scikit-learn's
``LinearDiscriminantAnalysis`` runs with each of ``svd`` (its default),
``lsqr`` and ``eigen``.  Best of ``--repeats`` rounds, interleaved; ratios,
not seconds, are the result on this shared 2-core machine.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

import expfam as ef


def make_data(n: int, p: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian classes with a shared, correlated covariance and means that differ."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    mixing = rng.normal(0, 1, (p, p)) / np.sqrt(p) + np.eye(p)
    x = rng.standard_normal((n, p)) @ mixing + rng.normal(0, 0.1, (k, p))[y] + 10.0
    return x, y


def fit_expfam(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    res = ef.LDA(y, x).fit()
    return res.predict_proba(x[:1000]).to_numpy()


def _sklearn(solver: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

        model = LinearDiscriminantAnalysis(solver=solver).fit(x, y)
        return model.predict_proba(x[:1000])

    return fit


PEERS = {f"sklearn LDA ({s})": _sklearn(s) for s in ("svd", "lsqr", "eigen")}


def run(n: int, p: int, k: int, repeats: int) -> pd.DataFrame:
    x, y = make_data(n, p, k)
    fits = {"expfam LDA": fit_expfam, **PEERS}
    best: dict[str, tuple[float, np.ndarray]] = {}
    for _ in range(repeats):
        for name, fit in fits.items():
            gc.collect()
            t0 = time.perf_counter()
            proba = fit(x, y)
            seconds = time.perf_counter() - t0
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, proba)
    table = pd.DataFrame({"seconds": {k: v[0] for k, v in best.items()}})
    reference = best["sklearn LDA (lsqr)"][1]
    table["max |posterior - sklearn lsqr|"] = [
        float(np.max(np.abs(best[k][1] - reference))) for k in table.index]
    table["time / fastest sklearn"] = table["seconds"] / table.loc[list(PEERS), "seconds"].min()
    table.index.name = "fit"
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--p", type=int, default=50)
    parser.add_argument("--classes", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    table = run(args.n, args.p, args.classes, args.repeats)
    with pd.option_context("display.width", 200, "display.float_format", lambda v: f"{v:.3g}"):
        print(f"LDA, n = {args.n:,}, p = {args.p}, K = {args.classes}, best of "
              f"{args.repeats}\n")
        print(table.to_string())
    print(f"\nexpfam / fastest scikit-learn solver: {table['time / fastest sklearn'].iloc[0]:.2f} "
          "(target <= 0.5)")


if __name__ == "__main__":
    main()
