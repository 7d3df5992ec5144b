"""Benchmark: expfam on Dask against expfam in memory, dask-glm and Spark; out of core.

    python -m validation.benchmark_dask                 # both parts
    python -m validation.benchmark_dask --part cluster  # 1e6 x 50 logistic only
    python -m validation.benchmark_dask --part oocore   # 2e7 x 20 float32 Parquet only
    python -m validation.benchmark_dask --part factor300  # 1e6 rows, a 300-level factor

**cluster**: a 1e6 × 50 logistic regression (49 N(0, 1) features and an
intercept) as a Dask array persisted on a ``LocalCluster`` with 2 worker
processes of one thread, fitted by

- expfam on Dask (``ef.GLM(dask_y, dask_X).fit()``: estimates, standard errors
  and every statistic), each fit building its own partitions from the
  persisted arrays;
- expfam in memory, on the same numbers as NumPy arrays (target: Dask at most
  1.3× its time);
- dask-glm's unregularized solvers on the same persisted arrays (Newton and
  L-BFGS; no standard errors; the faster counts; target: expfam at least 3×
  faster), skipped with a message if dask-glm is not installed or fails;
- Spark MLlib's ``GeneralizedLinearRegression`` on ``local[2]`` if pyspark and
  Java are present, else skipped with a message.

**oocore**: 2e7 rows × 20 float32 features written to Parquet in a temporary
directory (20 files), fitted on a ``LocalCluster`` of 2 workers limited to
1.5 GB each — less than the data — so every pass re-reads the files.  Prints
the time, the passes, the peak memory of any worker (sampled every 0.2 s), and
whether any worker restarted; then, with ``--check``, loads the data in memory
(after closing the cluster) and compares the standard errors with the
in-memory fit's.

**factor300**: a 1e6-row logistic regression ``y ~ x1 + … + x5 + C(store)``
with a 300-level factor, as a pandas frame split into 8 Dask partitions on a
``LocalCluster`` of 2 worker processes (4 GB each): the time of the fit and
the peak resident memory of any worker, and the largest relative difference
of the standard errors to the in-memory fit of the same formula.  Partitions
hold the factor as integer codes, as in memory (not 300 dummy columns).

The in-memory and Dask fits run ``--repeats`` times (3), interleaved so that
both see the same machine load, after one small warm-up fit on each side;
the medians and the paired ratios are printed, with the load average before
and after.  dask-glm and the other parts run once.  The machine is shared:
compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
import warnings
from typing import Any

import numpy as np

import expfam as ef

N_ROWS, N_COLS = 1_000_000, 50
OOC_ROWS, OOC_COLS, OOC_FILES = 20_000_000, 20, 20


def logistic_data(n: int, p: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.empty((n, p))
    x[:, 0] = 1.0
    x[:, 1:] = rng.standard_normal((n, p - 1))
    beta = np.linspace(-0.5, 0.5, p)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(x @ beta)))).astype(np.float64)
    return x, y


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def cluster_benchmark(repeats: int = 3) -> None:
    import dask
    import dask.array as da
    import distributed

    x, y = logistic_data(N_ROWS, N_COLS)
    print(f"load average before: {_load()}")
    # Warm both sides alike (imports, BLAS), as a running session or cluster would be.
    ef.GLM(y[:20_000], x[:20_000]).fit()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, memory_limit="3GB") as cluster, \
            distributed.Client(cluster):
        rows = N_ROWS // 8
        dx = da.from_array(x, chunks=(rows, N_COLS)).persist()
        dy = da.from_array(y, chunks=rows).persist()
        distributed.wait([dx, dy])
        ef.GLM(da.from_array(y[:20_000], chunks=5000),
               da.from_array(x[:20_000], chunks=(5000, N_COLS))).fit()
        # Interleaved, so that both sides see the same load; each Dask fit builds
        # (and persists) its own partitions from the persisted arrays.
        t_mem, t_stats, t_dask, t_summary, seconds = [], [], [], [], []
        for _ in range(repeats):
            t, mem = timed(lambda: ef.GLM(y, x).fit())
            t_mem.append(t)
            # A Dask fit computes the likelihood, deviance and Pearson sums in its
            # last pass; in memory they are computed when first read.
            t_stats.append(timed(lambda m=mem: str(m.summary()))[0])
            t, res = timed(lambda: ef.GLM(dy, dx).fit())
            t_dask.append(t)
            t_summary.append(timed(lambda r=res: str(r.summary()))[0])
            seconds.append(res.seconds)
            params, bse, llf, passes = res.params, res.bse, res.llf, res.passes
            del res  # its partitions are released; the next fit builds its own
        m_mem, m_dask = _median(t_mem), _median(t_dask)
        print(f"expfam in memory:        {m_mem:7.2f} s  median of {_list(t_mem)} "
              f"({mem.n_iter} iterations; +{_median(t_stats):.2f} s for the summary's "
              "statistics)")
        per_pass = ", ".join(f"{w} {_median([s[i] for s in seconds]):.2f} s"
                             for i, w in enumerate(passes))
        print(f"expfam on Dask:          {m_dask:7.2f} s  median of {_list(t_dask)} "
              f"({len(passes)} passes, medians: {per_pass}; +{_median(t_summary):.2f} s "
              "for the summary)")
        ratios = [d / m for d, m in zip(t_dask, t_mem, strict=True)]
        with_summary = [(d + ds) / (m + ms) for d, ds, m, ms in zip(
            t_dask, t_summary, t_mem, t_stats, strict=True)]
        print(f"  ratio to in memory:    {_median(ratios):7.2f}  median of the paired runs "
              f"{_list(ratios)} (fit only; with the summary {_median(with_summary):.2f}; "
              "target <= 1.3)")
        print(f"  max |Δ params|/|params| {_rel(params, mem.params):.1e}, "
              f"max |Δ SE|/SE {_rel(bse, mem.bse):.1e}, llf rel. {abs(llf / mem.llf - 1):.1e}")
        _dask_glm(dx, dy, m_dask, mem.params.to_numpy())
    # The same fit on Dask's threads scheduler (no cluster): the partitions in
    # this process, so the difference to the line above is the cluster's cost.
    dx = da.from_array(x, chunks=(rows, N_COLS))
    dy = da.from_array(y, chunks=rows)
    t_mem, t_threads = [], []
    for _ in range(repeats):
        t_mem.append(timed(lambda: ef.GLM(y, x).fit())[0])
        with dask.config.set(scheduler="threads"):
            t, res = timed(lambda: ef.GLM(dy, dx).fit())
        t_threads.append(t)
    ratios = [d / m for d, m in zip(t_threads, t_mem, strict=True)]
    print(f"expfam on Dask, threads: {_median(t_threads):7.2f} s  median of "
          f"{_list(t_threads)} ({res.n_passes} passes; paired ratio to in memory "
          f"{_median(ratios):.2f}, runs {_list(ratios)})")
    print(f"load average after: {_load()}")
    _spark()


def _median(values: list[float]) -> float:
    return float(np.median(values))


def _list(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


def _load() -> str:
    return ", ".join(f"{v:.1f}" for v in os.getloadavg()) + " (1, 5, 15 min; 2 cores)"


def _rel(a: Any, b: Any) -> float:
    return float(np.max(np.abs(np.asarray(a) / np.asarray(b) - 1.0)))


def _dask_glm(dx: Any, dy: Any, t_dask: float, reference: np.ndarray) -> None:
    try:
        from dask_glm.algorithms import lbfgs, newton
        from dask_glm.families import Logistic
    except ImportError as err:
        print(f"dask-glm: skipped (not installed: {err}); pip install dask-glm")
        return
    best = np.inf
    for solver in (newton, lbfgs):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t, beta = timed(lambda s=solver: np.asarray(s(dx, dy, family=Logistic)))
        except Exception as err:  # a version mismatch with current Dask, say
            print(f"dask-glm {solver.__name__}: failed ({type(err).__name__}: {err})")
            continue
        gap = float(np.max(np.abs(beta - reference)))
        print(f"dask-glm {solver.__name__:<15} {t:7.2f} s  (no standard errors; "
              f"max |Δβ| to expfam {gap:.1e})")
        best = min(best, t)
    if np.isfinite(best):
        print(f"  expfam faster by       {best / t_dask:7.2f}x  (target >= 3)")


def _spark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        print("Spark GLR: skipped (pyspark is not installed)")
        return
    if shutil.which("java") is None:
        print("Spark GLR: skipped (no Java)")
        return
    from pyspark.ml.linalg import Vectors
    from pyspark.ml.regression import GeneralizedLinearRegression
    from pyspark.sql import SparkSession

    x, y = logistic_data(N_ROWS, N_COLS)
    spark = SparkSession.builder.master("local[2]").getOrCreate()
    t_load, frame = timed(lambda: spark.createDataFrame(
        [(float(v), Vectors.dense(r[1:])) for v, r in zip(y, x, strict=True)],
        ["label", "features"]).cache())
    frame.count()
    glr = GeneralizedLinearRegression(family="binomial", link="logit", maxIter=25)
    t_fit, _ = timed(lambda: glr.fit(frame))
    print(f"Spark GLR local[2]:      {t_fit:7.2f} s  (+{t_load:.1f} s to load)")
    spark.stop()


# ----------------------------------------------------------------------
# Out of core.
# ----------------------------------------------------------------------
def write_parquet(folder: str) -> list[str]:
    import pandas as pd

    names = [f"x{j + 1}" for j in range(OOC_COLS)]
    beta = np.linspace(-0.3, 0.3, OOC_COLS)
    per_file = OOC_ROWS // OOC_FILES
    for i in range(OOC_FILES):
        rng = np.random.default_rng(100 + i)
        x = rng.standard_normal((per_file, OOC_COLS), dtype=np.float32)
        eta = 0.2 + x @ beta.astype(np.float32)
        y = (rng.random(per_file) < 1.0 / (1.0 + np.exp(-eta))).astype(np.float32)
        frame = pd.DataFrame(x, columns=names)
        frame["y"] = y
        frame.to_parquet(os.path.join(folder, f"part-{i:03d}.parquet"), index=False)
    return names


class MemoryWatch:
    """The largest resident memory of any worker, sampled in a thread."""

    def __init__(self, client: Any, every: float = 0.2) -> None:
        self.client, self.every = client, every
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sizes = self.client.run(_rss)
                self.peak = max(self.peak, *sizes.values())
            except Exception:  # a worker busy restarting: sample again
                pass
            self._stop.wait(self.every)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def _rss() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss)


def out_of_core(check: bool) -> None:
    import dask.dataframe as dd
    import distributed

    folder = tempfile.mkdtemp(prefix="expfam-ooc-")
    try:
        t_write, names = timed(lambda: write_parquet(folder))
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        print(f"wrote {OOC_ROWS:.0e} x {OOC_COLS} float32 to Parquet ({size / 2**30:.2f} GiB "
              f"on disk, {OOC_ROWS * (OOC_COLS + 1) * 4 / 2**30:.2f} GiB in memory) in "
              f"{t_write:.0f} s")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None, memory_limit="1.5GB") as cluster, \
                distributed.Client(cluster) as client:
            client.run(lambda: __import__("expfam"))
            pids = client.run(os.getpid)
            data = dd.read_parquet(folder)
            exog = data[names].assign(const=np.float32(1.0))
            with MemoryWatch(client) as watch:
                t_fit, res = timed(lambda: ef.GLM(data["y"], exog).fit())
            restarted = client.run(os.getpid) != pids
            print(f"expfam on Dask, out of core: {t_fit:.1f} s, {res.n_passes} passes "
                  f"({', '.join(res.passes)})")
            print(f"  peak worker memory {watch.peak / 2**30:.2f} GiB (limit 1.5 GB); "
                  f"worker restarts: {'YES' if restarted else 'none'}; converged: "
                  f"{res.converged}")
            bse = res.bse
        if check:
            import pyarrow.parquet as pq

            # Column by column, so that the check holds one copy of the data.
            files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
            x = np.empty((OOC_ROWS, OOC_COLS + 1), dtype=np.float32)
            for j, name in enumerate([*names, "y"]):
                column = np.concatenate([pq.read_table(f, columns=[name]).column(0)
                                         .to_numpy() for f in files])
                if name == "y":
                    y = column.astype(np.float64)
                else:
                    x[:, j] = column
            x[:, OOC_COLS] = 1.0
            t_mem, mem = timed(lambda: ef.GLM(y, x).fit())
            print(f"  in memory (check): {t_mem:.1f} s; max |Δ SE|/SE "
                  f"{_rel(bse.to_numpy(), mem.bse.to_numpy()):.1e}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ----------------------------------------------------------------------
# A factor with 300 levels.
# ----------------------------------------------------------------------
FACTOR_ROWS, FACTOR_LEVELS = 1_000_000, 300


def factor_frame(n: int = FACTOR_ROWS, levels: int = FACTOR_LEVELS, seed: int = 3) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.standard_normal((n, 5)), columns=[f"x{j + 1}" for j in range(5)])
    store = rng.integers(0, levels, n)
    effect = rng.normal(0.0, 0.5, levels)
    eta = 0.2 + frame.to_numpy() @ np.linspace(-0.4, 0.4, 5) + effect[store]
    frame["store"] = pd.Categorical.from_codes(store, [f"s{i:03d}" for i in range(levels)])
    frame["y"] = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(np.float64)
    return frame


def factor_benchmark() -> None:
    import dask.dataframe as dd
    import distributed

    frame = factor_frame()
    formula = "y ~ x1 + x2 + x3 + x4 + x5 + C(store)"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, memory_limit="4GB") as cluster, \
            distributed.Client(cluster) as client:
        client.run(lambda: __import__("expfam"))
        data = dd.from_pandas(frame, npartitions=8)
        with MemoryWatch(client) as watch:
            t_fit, res = timed(lambda: ef.logit(formula, data).fit())
            bse = res.bse
        print(f"expfam on Dask, {FACTOR_LEVELS}-level factor: {t_fit:.1f} s, {res.n_passes} "
              f"passes; peak worker memory {watch.peak / 2**30:.2f} GiB")
        print("  passes: " + ", ".join(f"{w} {s:.2f} s" for w, s in zip(
            res.passes, res.seconds, strict=True)))
    t_mem, mem = timed(lambda: ef.logit(formula, frame).fit())
    print(f"  in memory: {t_mem:.1f} s; max |Δ SE|/SE {_rel(bse, mem.bse):.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("cluster", "oocore", "factor300", "both"),
                        default="both")
    parser.add_argument("--repeats", type=int, default=3,
                        help="interleaved runs of the in-memory and Dask fits (cluster)")
    parser.add_argument("--check", action=argparse.BooleanOptionalAction, default=True,
                        help="compare the out-of-core SEs with an in-memory fit")
    args = parser.parse_args()
    print("(a shared machine: compare ratios)")
    if args.part in ("cluster", "both"):
        cluster_benchmark(args.repeats)
    if args.part in ("oocore", "both"):
        out_of_core(args.check)
    if args.part == "factor300":
        factor_benchmark()


if __name__ == "__main__":
    main()
