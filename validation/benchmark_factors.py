"""Benchmark: formulas with factors, many-level factors and sparse designs (``--factors``).

    python -m validation.benchmark --factors            # every case below
    python -m validation.benchmark --factors --case factor300

Cases (logistic regression, 1e6 rows unless said):

- ``factor300`` / ``factor1000``: 5 standard normal columns and a factor with
  300 (1,000) levels, ``y ~ x1 + … + x5 + g``.  expfam (formula fit and its
  standard errors) against glum (``formula=``, then ``covariance_matrix``),
  time and peak memory; estimates against glum fitted to gradient_tol 1e-12 and,
  at 300 levels, statsmodels' ``Logit`` on the first 100,000 rows (its dense
  dummies need 10 GB at 1e6 rows).
- ``factor20000``: one factor with 20,000 levels and 5 numerics: expfam only
  (glum's covariance matrix would be 20,005² doubles, 3.2 GB).
- ``interaction``: 10 numerics, factors of 20 and 10 levels and their
  interaction (``g1 * g2``, 210 columns): the formula fit against the array fit
  of the same design (formulaic's dense model matrix, C-ordered, built before
  the clock starts).
- ``sparse``: a 200,000 × 2,000 binary CSR design (1% non-zeros) plus an
  intercept: expfam (``method="auto"``) against scikit-learn lbfgs at tol 1e-8;
  the log-likelihoods must agree to 1e-8 relative.
- ``kernels``: tabmat's matrices (its formulaic materializer: a SplitMatrix with
  a CategoricalMatrix; ``sandwich``, ``transpose_matvec``, ``matvec``) against
  expfam's structured design on the ``factor300`` data.

Times are the best of ``--repeats`` rounds, fits interleaved; memory is the peak
of Python-allocator memory (tracemalloc, which sees NumPy's and tabmat's
arrays) during one fit.  The machine is shared: read ratios, not seconds.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import expfam as ef

NUMERICS = [f"x{i}" for i in range(1, 6)]


def factor_frame(n: int, levels: int, seed: int = 0, numerics: int = 5) -> pd.DataFrame:
    """``numerics`` standard normal columns, a factor ``g`` and a logistic response."""
    rng = np.random.default_rng(seed)
    cols = [f"x{i}" for i in range(1, numerics + 1)]
    df = pd.DataFrame(rng.standard_normal((n, numerics)), columns=cols)
    codes = rng.integers(0, levels, n)
    df["g"] = pd.Categorical.from_codes(codes, [f"L{i:05d}" for i in range(levels)])
    eta = -0.3 + df[cols].to_numpy() @ np.full(numerics, 0.2) + rng.normal(0, 0.3, levels)[codes]
    df["y"] = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    return df


def timed(fits: dict[str, Callable[[], Any]], repeats: int) -> dict[str, tuple[float, Any]]:
    """Best time of each fit over ``repeats`` interleaved rounds, and its result."""
    best: dict[str, tuple[float, Any]] = {}
    for _ in range(repeats):
        for name, fit in fits.items():
            gc.collect()
            t0 = time.perf_counter()
            out = fit()
            seconds = time.perf_counter() - t0
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, out)
    return best


def peak_memory(fit: Callable[[], Any]) -> float:
    """Peak MiB allocated through Python's allocator during ``fit``."""
    gc.collect()
    tracemalloc.start()
    fit()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def expfam_formula(df: pd.DataFrame, formula: str) -> Callable[[], pd.Series]:
    def fit() -> pd.Series:
        res = ef.glm(formula, df).fit()
        _ = res.bse  # standard errors are part of the timed work
        return res.params

    return fit


def glum_formula(df: pd.DataFrame, formula: str, **options: float) -> Callable[[], pd.Series]:
    def fit() -> pd.Series:
        from glum import GeneralizedLinearRegressor

        m = GeneralizedLinearRegressor(family="binomial", alpha=0, formula=formula,
                                       drop_first=True, **options)
        m.fit(df)
        _ = m.covariance_matrix(df)
        return pd.Series(np.r_[m.intercept_, m.coef_], index=["Intercept",
                                                                *m.feature_names_])

    return fit


def _glum_names(params: pd.Series) -> pd.Series:
    """glum's 'g[L00001]' labels as formulaic's 'g[T.L00001]'."""
    return params.rename(lambda s: s.replace("[", "[T.") if "[" in s else s)


def factor_case(levels: int, n: int, repeats: int) -> None:
    df = factor_frame(n, levels)
    formula = "y ~ " + " + ".join(NUMERICS) + " + g"
    fits = {"expfam (formula, fit + SEs)": expfam_formula(df, formula),
            "glum (formula, fit + covariance_matrix)": glum_formula(df, formula)}
    best = timed(fits, repeats)
    memory = {k: peak_memory(f) for k, f in fits.items()}
    ours = best["expfam (formula, fit + SEs)"][1]
    reference = _glum_names(glum_formula(df, formula, gradient_tol=1e-12)())
    table = pd.DataFrame({"seconds": {k: v[0] for k, v in best.items()},
                          "peak MiB": memory})
    table["time / glum"] = table["seconds"] / table["seconds"].iloc[1]
    table["memory / glum"] = table["peak MiB"] / table["peak MiB"].iloc[1]
    diff = (ours - reference[ours.index]).abs()
    print(f"\n== {levels} levels, n = {n:,}, best of {repeats} ==")
    print(table.to_string(float_format=lambda v: f"{v:.3g}"))
    print(f"max |expfam - glum (gradient_tol 1e-12)| = {diff.max():.2g} "
          f"(max relative {float((diff / ours.abs()).max()):.2g})")
    if levels <= 300:
        import statsmodels.formula.api as smf

        small = df.iloc[:100_000]
        sm_res = smf.logit(formula, small).fit(method="newton", disp=0, tol=1e-12, maxiter=50)
        mine = ef.glm(formula, small).fit()
        d = (mine.params - sm_res.params[mine.params.index]).abs()
        dse = (mine.bse / sm_res.bse[mine.params.index] - 1).abs()
        print(f"statsmodels on the first 100,000 rows: max |coef diff| {d.max():.2g} (max "
              f"relative {float((d / mine.params.abs()).max()):.2g}), max SE relative "
              f"{dse.max():.2g}")


def many_levels_case(n: int, repeats: int) -> None:
    df = factor_frame(n, 20_000)
    formula = "y ~ " + " + ".join(NUMERICS) + " + g"
    fit = expfam_formula(df, formula)
    best = timed({"expfam": fit}, repeats)["expfam"][0]
    memory = peak_memory(fit)
    res = ef.glm(formula, df).fit()
    print(f"\n== 20,000 levels, n = {n:,} ==\nexpfam fit + SEs: {best:.2f} s (target < 10 s), "
          f"peak extra memory {memory:.0f} MiB (target < 2048); Hessian held as "
          f"{type(res.solver.hessian).__name__}; {res.n_iter} iterations")


def interaction_case(n: int, repeats: int) -> None:
    from formulaic import model_matrix

    rng = np.random.default_rng(1)
    cols = [f"x{i}" for i in range(1, 11)]
    df = pd.DataFrame(rng.standard_normal((n, 10)), columns=cols)
    df["g1"] = pd.Categorical.from_codes(rng.integers(0, 20, n), [f"a{i}" for i in range(20)])
    df["g2"] = pd.Categorical.from_codes(rng.integers(0, 10, n), [f"b{i}" for i in range(10)])
    eta = df[cols].to_numpy() @ np.full(10, 0.1) + 0.2 * df.g1.cat.codes.to_numpy() / 20
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    formula = "y ~ " + " + ".join(cols) + " + g1 * g2"
    X = np.ascontiguousarray(model_matrix(formula.split("~")[1], df).to_numpy(np.float64))
    y = df.y.to_numpy()

    def array_fit() -> pd.Series:
        res = ef.GLM(y, X).fit()
        _ = res.bse
        return res.params

    best = timed({"formula": expfam_formula(df, formula), "array": array_fit}, repeats)
    ratio = best["formula"][0] / best["array"][0]
    diff = float(np.max(np.abs(best["formula"][1].to_numpy() - best["array"][1].to_numpy())))
    print(f"\n== 10 numerics + g1 (20) * g2 (10), {X.shape[1]} columns, n = {n:,} ==\n"
          f"formula fit (model frame included) {best['formula'][0]:.2f} s, array fit "
          f"{best['array'][0]:.2f} s: ratio {ratio:.2f} (target <= 1.5); max coef diff "
          f"{diff:.2g}")


def sparse_case(repeats: int) -> None:
    """The issue's target is the time to *reach the MLE* (llf to 1e-8 relative) against
    scikit-learn's lbfgs at tol 1e-8.  expfam's ``fit()`` goes on to the exact
    information at the estimate (one p × p sparse sandwich and its Cholesky
    factorization: the rank check and the standard errors), which scikit-learn never
    computes; so three expfam times are printed: until L-BFGS has reached the MLE
    (wall clock from the ``fit()`` call, read from the progress callback), the whole
    ``fit()``, and ``fit()`` plus reading every standard error."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    n, p = 200_000, 2_000
    X = sp.random(n, p, density=0.01, format="csr", random_state=2, data_rvs=np.ones)
    eta = X @ rng.normal(0, 0.3, p) - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    with_const = sp.hstack([np.ones((n, 1)), X]).tocsr()
    reached: dict[str, float] = {}

    def ours() -> tuple[float, float, float, float]:
        """(seconds to the MLE, llf there, seconds of fit(), llf after fit())."""
        marks: list[tuple[float, float]] = []
        start = time.perf_counter()

        def mark(values: dict[str, Any]) -> None:
            if values["solver"] == "lbfgs":  # mean loss per row; Bernoulli: llf = −n·loss
                marks.append((time.perf_counter() - start, -n * values["loss"]))

        res = ef.GLM(y, with_const).fit(progress=mark)
        fitted = time.perf_counter() - start
        _ = res.bse
        reached["bse"] = time.perf_counter() - start
        return marks[-1][0], marks[-1][1], fitted, float(res.llf)

    def sklearn(tol: float) -> Callable[[], float]:
        def fit() -> float:
            m = LogisticRegression(C=np.inf, solver="lbfgs", tol=tol, max_iter=100_000).fit(X, y)
            e = m.intercept_[0] + X @ m.coef_[0]
            return float(np.sum(y * e - np.logaddexp(0.0, e)))
        return fit

    runs: dict[str, list[Any]] = {"expfam": [], "tight": [], "default": []}
    for _ in range(repeats):  # interleaved: the machine's load hits all alike
        for name, fit in (("expfam", ours), ("tight", sklearn(1e-8)),
                          ("default", sklearn(1e-4))):
            gc.collect()
            t0 = time.perf_counter()
            out = fit()
            runs[name].append((time.perf_counter() - t0, out, reached.get("bse")))
    to_mle, llf_mle, fit_s, llf = min(r[1] for r in runs["expfam"])
    with_se = min(r[2] for r in runs["expfam"])
    tight_s, ref = min(runs["tight"], key=lambda r: r[0])[:2]
    default_s, default_llf = min(runs["default"], key=lambda r: r[0])[:2]
    method = ef.GLM(y, with_const).fit().method
    print(f"\n== sparse 200,000 x 2,000 binary CSR (expfam method={method}) ==\n"
          f"expfam reaches the MLE in {to_mle:.2f} s (llf {llf_mle:.12g}, relative to "
          f"sklearn's {(llf_mle - ref) / abs(ref):.1g}); whole fit() {fit_s:.2f} s; with "
          f"every SE read {with_se:.2f} s\n"
          f"sklearn lbfgs tol=1e-8 {tight_s:.2f} s (llf {ref:.12g}); default tol=1e-4 "
          f"{default_s:.2f} s (llf relative {(default_llf - ref) / abs(ref):.1g})\n"
          f"ratios to sklearn tol=1e-8: to the MLE {to_mle / tight_s:.2f} (target <= 1); "
          f"fit() {fit_s / tight_s:.2f}; fit() + SEs {with_se / tight_s:.2f}. "
          f"llf after fit() {llf:.12g}")


def kernels_case(n: int, repeats: int) -> None:
    import tabmat

    from expfam.backend.blocks import default_backend

    df = factor_frame(n, 300)
    formula = " + ".join(NUMERICS) + " + g"
    w = np.random.default_rng(3).uniform(0.1, 0.25, n)
    r = np.random.default_rng(4).normal(size=n)

    def tabmat_build() -> Any:
        return tabmat.from_formula(formula, df, ensure_full_rank=True, include_intercept=True)

    def ours_build() -> Any:
        return ef.glm("y ~ " + formula, df).exog

    built = timed({"tabmat": tabmat_build, "expfam": ours_build}, repeats)
    tm, design = built["tabmat"][1], built["expfam"][1]
    backend = default_backend()
    beta = np.random.default_rng(5).normal(size=design.n_cols)
    eta = np.empty(n)

    def gather(s: slice) -> int:
        eta[s] = design.rows(s).matvec(beta)  # η written in place, as the solvers do
        return 0
    ops = {
        "tabmat sandwich": lambda: tm.sandwich(w),
        "expfam gram, dense (blocks)": lambda: backend.map_sum(
            lambda s: design.rows(s).gram(w[s], dense=True), n),
        "expfam gram, arrow (blocks)": lambda: backend.map_sum(
            lambda s: design.rows(s).gram(w[s]), n),
        "tabmat transpose_matvec": lambda: tm.transpose_matvec(r),
        "expfam rmatvec (blocks)": lambda: backend.map_sum(
            lambda s: design.rows(s).rmatvec(r[s]), n),
        "tabmat matvec": lambda: tm.matvec(beta),
        "expfam matvec (blocks)": lambda: backend.map_sum(gather, n),
    }
    best = timed(ops, repeats)
    print(f"\n== kernels: 5 numerics + 300-level factor, n = {n:,} (ms) ==")
    print(f"build design: tabmat.from_formula {1e3 * built['tabmat'][0]:.0f}, expfam model "
          f"frame {1e3 * built['expfam'][0]:.0f}")
    for name, (seconds, _) in best.items():
        print(f"{name:28s} {1e3 * seconds:8.1f}")
    gram = best["expfam gram, dense (blocks)"][1]
    print("max |tabmat sandwich - expfam gram| =",
          f"{float(np.max(np.abs(np.asarray(best['tabmat sandwich'][1]) - gram))):.2g}")


CASES = ("kernels", "factor300", "factor1000", "factor20000", "interaction", "sparse")


def main(case: str | None, repeats: int, n: int) -> None:
    warnings.simplefilter("ignore")
    for name in CASES if case is None else (case,):
        if name == "kernels":
            kernels_case(n, repeats)
        elif name == "factor300":
            factor_case(300, n, repeats)
        elif name == "factor1000":
            factor_case(1000, n, repeats)
        elif name == "factor20000":
            many_levels_case(n, repeats)
        elif name == "interaction":
            interaction_case(n, repeats)
        elif name == "sparse":
            sparse_case(repeats)
        else:
            raise ValueError(f"unknown case {name!r}; one of {CASES}")
