"""Formula fits with sparse parts: time and peak memory, one case per process.

    python -m validation.benchmark_formula_sparse numeric sparse   # 200 mostly-zero columns
    python -m validation.benchmark_formula_sparse numeric dense    # sparse_threshold=None
    python -m validation.benchmark_formula_sparse wide formula     # 2,000 SparseDtype columns
    python -m validation.benchmark_formula_sparse wide csr         # the same CSR, ef.GLM directly

Each run prints the seconds to build the model and to fit it, and the process's
peak resident memory (which includes the data, built before the model).  Run
one case per process so that the peaks do not mix.
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

import expfam as ef


def _peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def binary(n: int, k: int, density: float, seed: int) -> sp.csc_matrix:
    """A random n × k 0/1 CSC matrix (scipy's ``sp.random`` draws from all n·k
    cells: 3 GB of indices at 200,000 × 2,000)."""
    rng = np.random.default_rng(seed)
    cells = np.unique(rng.integers(0, n * k, int(n * k * density), dtype=np.int64))
    return sp.csc_matrix((np.ones(len(cells)), (cells % n, cells // n)), shape=(n, k))


def numeric(mode: str, n: int = 200_000, k: int = 200) -> None:
    """k dense columns with 2% non-zeros and 5 dense ones, by formula."""
    rng = np.random.default_rng(3)
    data = {f"z{j}": np.where(rng.random(n) < 0.02, rng.normal(1, 1, n), 0.0)
            for j in range(k)}
    data.update({f"x{j}": rng.normal(size=n) for j in range(5)})
    df = pd.DataFrame(data)
    eta = df.to_numpy() @ rng.normal(0, 0.2, k + 5) - 0.5
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    formula = "y ~ " + " + ".join(c for c in df.columns if c != "y")
    before = _peak_mb()
    t0 = time.perf_counter()
    model = ef.logit(formula, df, sparse_threshold=None if mode == "dense" else 0.1)
    t1 = time.perf_counter()
    res = model.fit()
    t2 = time.perf_counter()
    print(f"numeric {mode}: build {t1 - t0:.2f} s, fit {t2 - t1:.2f} s ({res.method}), "
          f"peak RSS {_peak_mb()} MB (data alone {before} MB)")


def wide(mode: str, n: int = 200_000, k: int = 2_000) -> None:
    """k binary columns at 1% density: a SparseDtype frame by formula, or the CSR."""
    rng = np.random.default_rng(1)
    x = binary(n, k, 0.01, 1)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x @ rng.normal(0, 0.3, k) - 1)))).astype(float)
    if mode == "csr":
        before = _peak_mb()
        t0 = time.perf_counter()
        model = ef.GLM(y, sp.hstack([np.ones((n, 1)), x]).tocsr())
    else:
        df = pd.DataFrame.sparse.from_spmatrix(x, columns=[f"w{j}" for j in range(k)])
        df["y"] = y
        before = _peak_mb()
        t0 = time.perf_counter()
        model = ef.logit("y ~ " + " + ".join(df.columns[:-1]), df)
    t1 = time.perf_counter()
    res = model.fit()
    t2 = time.perf_counter()
    print(f"wide {mode}: build {t1 - t0:.2f} s, fit {t2 - t1:.2f} s ({res.method}), "
          f"peak RSS {_peak_mb()} MB (data alone {before} MB)")


if __name__ == "__main__":
    {"numeric": numeric, "wide": wide}[sys.argv[1]](sys.argv[2])
